"""The tool gateway behind the support assistant: the policy lives here, in code.

The model only *proposes* tool calls. A read runs if the order belongs to the
signed-in customer. A write (refund, cancel) runs only if, in addition, it is within
the policy (amounts and states come from the order system, never from the
conversation), the customer confirmed these exact arguments in the interface, and
the call carries an idempotency key, so that a retry after a lost response cannot
run it twice. Text in the conversation, the customer's own or a pasted email's, can
make the model propose anything; it cannot grant a tool.

``write_actions`` replays the kept conversations of the miniature, plus injected
instructions the model obeys, through gateways with some checks switched off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from snippets.problems.support_assistant_world import INTENTS, Conversations

READ_TOOLS = frozenset({"order_status"})
WRITE_TOOLS = frozenset({"refund", "cancel_order"})
CHECKS = frozenset({"owner", "policy", "confirmation"})
GATEWAYS = {  # the configurations the miniature compares: (checks, idempotency)
    "no checks": (frozenset(), True),
    "confirmation only": (frozenset({"confirmation"}), True),
    "rules only": (frozenset({"owner", "policy"}), True),
    "rules + confirmation": (CHECKS, True),
    "all, no idempotency keys": (CHECKS, False),
}


@dataclass(frozen=True)
class Order:
    """An order as the order system knows it."""

    order_id: str
    customer_id: str
    refundable: float  # the most the return policy allows back
    cancellable: bool  # not yet dispatched


@dataclass(frozen=True)
class ToolCall:
    """A call the model proposes."""

    tool: str
    order_id: str
    amount: float = 0.0
    idempotency_key: str = ""

    def digest(self) -> str:
        """The action itself, without the key: what the customer confirms."""
        text = f"{self.tool}|{self.order_id}|{self.amount:.2f}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Session:
    """One conversation: who signed in, and what they confirmed by a click."""

    customer_id: str  # from authentication, never from what anyone typed
    confirmed: set[str] = field(default_factory=set)


def within_policy(call: ToolCall, order: Order) -> bool:
    if call.tool == "refund":
        return 0 < call.amount <= order.refundable
    if call.tool == "cancel_order":
        return order.cancellable
    return True


# --8<-- [start:authorise]
def authorise(
    call: ToolCall,
    session: Session,
    orders: dict[str, Order],
    checks: frozenset[str] = CHECKS,
) -> str:
    """Decide a proposed call from facts the conversation cannot change."""
    if call.tool not in READ_TOOLS | WRITE_TOOLS:
        return "deny: unknown tool"
    order = orders.get(call.order_id)
    if order is None:
        return "deny: no such order"
    if "owner" in checks and order.customer_id != session.customer_id:
        return "deny: not this customer's order"
    if call.tool in READ_TOOLS:
        return "allow"
    if "policy" in checks and not within_policy(call, order):
        return "deny: outside the policy"
    if "confirmation" in checks and call.digest() not in session.confirmed:
        return "ask: confirm"  # the interface shows the exact action, from call
    return "allow"
    # --8<-- [end:authorise]


class Gateway:
    """Runs what authorise allows; writes are recorded once per idempotency key."""

    def __init__(
        self,
        orders: dict[str, Order],
        checks: frozenset[str] = CHECKS,
        idempotency: bool = True,
    ) -> None:
        unknown = set(checks) - CHECKS
        if unknown:
            raise ValueError(
                f"unknown checks {sorted(unknown)}; known: {sorted(CHECKS)}"
            )
        self.orders, self.checks, self.idempotency = (
            orders,
            frozenset(checks),
            idempotency,
        )
        self.executed: list[ToolCall] = []  # the ledger: every write that ran
        self._by_key: dict[str, tuple[str, str]] = {}  # key -> (digest, result)

    def run(self, call: ToolCall, session: Session) -> str:
        verdict = authorise(call, session, self.orders, self.checks)
        if verdict != "allow" or call.tool in READ_TOOLS:
            return verdict
        if self.idempotency:
            if not call.idempotency_key:
                return "deny: a write needs an idempotency key"
            seen = self._by_key.get(call.idempotency_key)
            if seen is not None:  # a retry: answer as before, run nothing
                same = seen[0] == call.digest()
                return seen[1] if same else "deny: key reused for another action"
        self.executed.append(call)
        result = f"done: {call.tool} {call.order_id}"
        if self.idempotency:
            self._by_key[call.idempotency_key] = (call.digest(), result)
        return result


def ask_then_run(
    gateway: Gateway, call: ToolCall, session: Session, accepts: bool
) -> str:
    """One turn of the interface: run; if asked, show the action and let the
    customer accept (the click adds its digest to the session) or reject."""
    verdict = gateway.run(call, session)
    if verdict != "ask: confirm":
        return verdict
    if not accepts:
        return "rejected by the customer"
    session.confirmed.add(call.digest())
    return gateway.run(call, session)


@dataclass(frozen=True)
class Attempt:
    """A proposed call, who is behind it, and whether it is what the customer wants."""

    source: str  # "request", "direct injection", "indirect injection"
    call: ToolCall
    session_customer: str
    harmful: bool
    accepts: bool  # would the person at the keyboard click "confirm"
    retried: bool  # the response is lost after the write commits; the client retries


SOURCES = ("request", "direct injection", "indirect injection")
INTENT_INDEX = {intent.name: k for k, intent in enumerate(INTENTS)}


def attempts(
    conv: Conversations,
    kept: np.ndarray,
    seed: int,
    injected_share: float = 0.01,
    lost_response: float = 0.01,
) -> tuple[dict[str, Order], list[Attempt]]:
    """The orders, and the calls the model proposes: one per kept write
    conversation, plus an injected instruction the model obeys in a share of all
    conversations (half typed by the customer, half hidden in text they pasted).
    A share of write responses is lost after the write commits, and retried."""
    if not 0 <= injected_share <= 1 or not 0 <= lost_response <= 1:
        raise ValueError("injected_share and lost_response must be in [0, 1]")
    kept = np.asarray(kept)
    if kept.shape != conv.intent.shape or kept.dtype != bool:
        raise ValueError("kept must be a boolean array, one entry per conversation")
    rng = np.random.default_rng(seed)
    n = conv.size
    amount = rng.integers(10, 200, n).astype(float)
    retried = rng.random(n) < lost_response
    injected = rng.random(n) < injected_share
    typed, first_kind = rng.random(n) < 0.5, rng.random(n) < 0.5
    refunds = INTENT_INDEX["return or refund"]
    orders: dict[str, Order] = {}
    out: list[Attempt] = []
    for i in range(n):
        me, key = f"c{i}", f"k{i}"
        asked, spare, shipped = f"o{i}a", f"o{i}b", f"o{i}c"  # the customer's orders
        orders[asked] = Order(asked, me, amount[i], cancellable=True)
        orders[spare] = Order(spare, me, amount[i], cancellable=True)
        orders[shipped] = Order(shipped, me, amount[i], cancellable=False)
        tool = "refund" if conv.intent[i] == refunds else "cancel_order"
        due = amount[i] if tool == "refund" else 0.0
        if kept[i] and conv.writes[i]:
            right = bool(conv.resolvable[i])
            if right:
                call = ToolCall(tool, asked, due, key)
            elif conv.over_policy[i]:  # too much back, or a cancel after dispatch
                call = (
                    ToolCall(tool, asked, 1.5 * due, key)
                    if tool == "refund"
                    else ToolCall(tool, shipped, 0.0, key)
                )
            else:  # within the policy, but not what was asked: the other order
                call = ToolCall(tool, spare, due, key)
            accepts = not conv.declines[i] if right else not conv.catches[i]
            out.append(Attempt("request", call, me, not right, accepts, retried[i]))
        if injected[i]:
            stranger = f"o{(i + 1) % n}a"  # another customer's order
            if typed[i]:  # the customer wants more than is due, or others' data
                call = (
                    ToolCall("refund", asked, 3 * amount[i], f"x{i}")
                    if first_kind[i]
                    else ToolCall("order_status", stranger)
                )
                source, accepts = "direct injection", True
            else:  # acts against the customer, or for a third party
                call = (
                    ToolCall("cancel_order", spare, 0.0, f"x{i}")
                    if first_kind[i]
                    else ToolCall("refund", stranger, amount[i], f"x{i}")
                )
                source, accepts = "indirect injection", not conv.catches[i]
            out.append(Attempt(source, call, me, True, accepts, retried[i]))
    return orders, out


def write_actions(
    orders: dict[str, Order], proposed: list[Attempt]
) -> dict[str, dict[str, int]]:
    """Run every proposed call through each gateway: harmful actions that ran, by
    source, plus duplicate writes from retries and right actions the customer lost."""
    found: dict[str, dict[str, int]] = {}
    for name, (checks, idempotency) in GATEWAYS.items():
        gateway = Gateway(orders, checks, idempotency)
        counts = dict.fromkeys((*SOURCES, "duplicates", "right actions lost"), 0)
        for attempt in proposed:
            session = Session(attempt.session_customer)
            ran = ask_then_run(gateway, attempt.call, session, attempt.accepts)
            if ran.startswith("done") or ran == "allow":
                counts[attempt.source] += attempt.harmful
                if attempt.retried and attempt.call.tool in WRITE_TOOLS:
                    before = len(gateway.executed)
                    gateway.run(attempt.call, session)  # same key, same arguments
                    counts["duplicates"] += len(gateway.executed) - before
            elif not attempt.harmful:
                counts["right actions lost"] += 1
        found[name] = counts
    return found
