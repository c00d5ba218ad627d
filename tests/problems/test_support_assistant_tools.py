"""The tool gateway: the policy in code, confirmation, idempotency, the replay."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.problems import support_assistant_tools as t
from snippets.problems import support_assistant_world as w

ORDERS = {
    "A1": t.Order("A1", "alice", refundable=40.0, cancellable=True),
    "A2": t.Order("A2", "alice", refundable=25.0, cancellable=False),
    "B1": t.Order("B1", "bob", refundable=90.0, cancellable=True),
}


def session(customer="alice", *confirmed: t.ToolCall) -> t.Session:
    return t.Session(customer, {call.digest() for call in confirmed})


@pytest.mark.parametrize(
    ("call", "confirmed", "expected"),
    [
        (t.ToolCall("order_status", "A1"), False, "allow"),
        (t.ToolCall("order_status", "B1"), False, "deny: not this customer's order"),
        (t.ToolCall("order_status", "Z9"), False, "deny: no such order"),
        (t.ToolCall("delete_account", "A1"), False, "deny: unknown tool"),
        (t.ToolCall("refund", "A1", 40.0, "k"), False, "ask: confirm"),
        (t.ToolCall("refund", "A1", 40.0, "k"), True, "allow"),
        (t.ToolCall("refund", "A1", 40.01, "k"), True, "deny: outside the policy"),
        (t.ToolCall("refund", "A1", 0.0, "k"), True, "deny: outside the policy"),
        (
            t.ToolCall("refund", "B1", 10.0, "k"),
            True,
            "deny: not this customer's order",
        ),
        (t.ToolCall("cancel_order", "A2", 0.0, "k"), True, "deny: outside the policy"),
        (t.ToolCall("cancel_order", "A1", 0.0, "k"), True, "allow"),
    ],
)
def test_authorise_decides_from_facts_the_conversation_cannot_change(
    call, confirmed, expected
):
    s = session("alice", call) if confirmed else session("alice")
    assert t.authorise(call, s, ORDERS) == expected


def test_a_confirmation_binds_the_exact_arguments():
    shown = t.ToolCall("refund", "A1", 20.0, "k1")
    sent = t.ToolCall("refund", "A1", 38.0, "k1")  # the model changed the amount
    assert t.authorise(sent, session("alice", shown), ORDERS) == "ask: confirm"
    # The key is not part of what the customer confirms.
    rekeyed = t.ToolCall("refund", "A1", 20.0, "k2")
    assert t.authorise(rekeyed, session("alice", shown), ORDERS) == "allow"


def test_switching_checks_off_lets_the_bad_calls_through():
    theirs = t.ToolCall("refund", "B1", 500.0, "k")
    assert t.authorise(theirs, session("alice", theirs), ORDERS, frozenset()) == "allow"
    only_confirm = frozenset({"confirmation"})
    assert t.authorise(theirs, session("alice"), ORDERS, only_confirm) == "ask: confirm"


def test_a_retry_with_the_same_key_runs_once():
    gate = t.Gateway(ORDERS)
    call = t.ToolCall("refund", "A1", 30.0, "key-1")
    s = session("alice", call)
    first = gate.run(call, s)
    assert first.startswith("done") and gate.run(call, s) == first
    assert len(gate.executed) == 1
    other = t.ToolCall("refund", "A1", 10.0, "key-1")  # same key, other action
    assert gate.run(other, session("alice", other)) == (
        "deny: key reused for another action"
    )
    keyless = t.ToolCall("refund", "A1", 30.0)
    assert gate.run(keyless, session("alice", keyless)).startswith("deny: a write")
    loose = t.Gateway(ORDERS, idempotency=False)
    loose.run(call, s)
    loose.run(call, s)
    assert len(loose.executed) == 2  # the duplicate refund
    with pytest.raises(ValueError, match="unknown checks"):
        t.Gateway(ORDERS, frozenset({"vibes"}))


def test_ask_then_run_shows_the_action_and_respects_the_answer():
    gate = t.Gateway(ORDERS)
    call = t.ToolCall("refund", "A1", 30.0, "k")
    assert t.ask_then_run(gate, call, session(), accepts=False) == (
        "rejected by the customer"
    )
    assert not gate.executed
    assert t.ask_then_run(gate, call, session(), accepts=True).startswith("done")


def replay(confirm_check: bool, rules: bool, seed: int = 3):
    conv = w.simulate(3_000, seed=seed)
    kept = conv.confidence > 0.7
    orders, proposed = t.attempts(conv, kept, seed, injected_share=0.0)
    checks = frozenset({"confirmation"} if confirm_check else set()) | (
        frozenset({"owner", "policy"}) if rules else frozenset()
    )
    gate = t.Gateway(orders, checks)
    ran_harmful = 0
    for attempt in proposed:
        ran = t.ask_then_run(
            gate, attempt.call, t.Session(attempt.session_customer), attempt.accepts
        )
        ran_harmful += ran.startswith("done") and attempt.harmful
    return conv, kept, ran_harmful


@pytest.mark.parametrize("confirm", [True, False])
@pytest.mark.parametrize("rules", [True, False])
def test_the_gateway_replay_agrees_with_the_vectorised_grade(confirm, rules):
    """Two implementations of one mechanism: objects through the gateway, and
    the boolean arithmetic the threshold experiment grades with."""
    conv, kept, ran_harmful = replay(confirm, rules)
    graded = w.grade(conv, kept, confirm, rules)
    assert ran_harmful == round(graded.wrong_writes * conv.size)


def test_write_actions_layers_and_idempotency():
    conv = w.simulate(4_000, seed=8)
    kept = conv.confidence > 0.7
    orders, proposed = t.attempts(conv, kept, seed=8, injected_share=0.05)
    found = t.write_actions(orders, proposed)
    harmful = {s: sum(a.harmful for a in proposed if a.source == s) for s in t.SOURCES}
    none, both = found["no checks"], found["rules + confirmation"]
    assert all(none[s] == harmful[s] for s in t.SOURCES)  # nothing stops anything
    # The customer typing the injection confirms it: only rules stop it.
    assert found["confirmation only"]["direct injection"] == harmful["direct injection"]
    assert found["rules only"]["direct injection"] == 0 == both["direct injection"]
    # Rules cannot see a cancel of the customer's own order; the customer can.
    assert 0 < both["indirect injection"] < found["rules only"]["indirect injection"]
    # Retries duplicate writes only without idempotency keys.
    assert both["duplicates"] == 0 < found["all, no idempotency keys"]["duplicates"]
    retried = sum(a.retried for a in proposed)
    assert found["all, no idempotency keys"]["duplicates"] <= retried
    # Only the confirmation step loses right actions (customers who say no).
    assert none["right actions lost"] == found["rules only"]["right actions lost"] == 0
    right = sum(not a.harmful and a.source == "request" for a in proposed)
    declined = sum(not a.harmful and not a.accepts for a in proposed)
    assert both["right actions lost"] == declined <= right


def test_attempts_rejects_bad_input():
    conv = w.simulate(10, seed=1)
    with pytest.raises(ValueError, match="injected_share"):
        t.attempts(conv, np.ones(10, bool), 1, injected_share=2.0)
    with pytest.raises(ValueError, match="one entry per conversation"):
        t.attempts(conv, np.ones(4, bool), 1)
