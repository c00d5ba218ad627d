"""Support assistant miniature: its claims, parsed from the output, and the page."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import ROOT, assert_page_quotes, module_output, paired_differences

from snippets.problems import support_assistant as sa
from snippets.problems import support_assistant_world as w
from snippets.problems.support_assistant_estimate import TURN_STAGES_MS

PAGE = "problems/support-assistant.md"
MODULE = "snippets.problems.support_assistant"
PCT = r"(\d+\.\d+)%"


def output() -> str:
    return module_output(MODULE)


def policies() -> dict[str, dict]:
    """Policy table: name -> kept, bad, worst, worst intent, wrong, cost, over."""
    table = output().split("\npolicy ", 1)[1].split("(worst intent", 1)[0]
    rows = {}
    numbers = rf"{PCT}\s+{PCT}\s+{PCT} (\w+)\s+(\d+\.\d)\s+(\d+\.\d+)\s+(\d+)/10"
    for line in table.splitlines()[1:]:
        m = re.match(rf"^(.+?)\s+{numbers}$", line)
        assert m, f"unparsed policy row {line!r}"
        rows[m[1].strip()] = {
            "kept": float(m[2]),
            "bad": float(m[3]),
            "worst": float(m[4]),
            "intent": m[5],
            "wrong": float(m[6]),
            "cost": float(m[7]),
            "over": int(m[8]),
        }
    return rows


def intents() -> dict[str, list[float]]:
    """Per-intent table: intent -> share, resolvable, then kept and bad per policy."""
    table = output().split("Per intent,", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        name, numbers = line[:19].strip(), re.findall(r"\d+\.\d+", line[19:])
        rows[name] = [float(x) for x in numbers]
    return rows


def sweep() -> list[tuple[float, float, float, float]]:
    table = output().split("keep if P(no bad resolution)", 1)[1].split("\n\n", 1)[0]
    return [
        tuple(float(x) for x in re.findall(r"\d+\.\d+", line))
        for line in table.splitlines()[1:]
    ]


def gateway() -> dict[str, list[float]]:
    table = output().split("gateway  ", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[1:]:
        name = re.match(r"^(.+?)\s{2,}\d", line)[1]
        rows[name] = [float(x) for x in re.findall(r"\d+\.\d+", line[len(name) :])]
    return rows


def differences() -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    return paired_differences(output())


def diff(block_start: str, label: str):
    found = [
        v
        for (b, lab), v in differences().items()
        if b.startswith(block_start) and lab == label
    ]
    assert len(found) == 1, (block_start, label)
    return found[0]


def test_calibrating_per_intent_keeps_more_at_the_same_cap_because_of_overstatement():
    mean, low, _, tie = diff("calibrated, one threshold minus raw", "kept, points")
    assert low > 0 and not tie
    assert diff("calibrated, one threshold minus raw", "$ a chat")[2] < 0
    assert (
        diff("calibrated, one threshold minus raw", "each seed's worst intent, points")[
            2
        ]
        < 0
    )
    # Ablation: without the per-intent overstatement most of the gain is gone.
    ablated = diff("no overstatement", "kept, points")[0]
    assert ablated < mean / 4
    # Second ablation: intents alike in ability too; what was left is gone (a tie).
    alike = diff("intents alike", "kept, points")
    assert alike[3] and alike[0] < ablated
    rows = policies()
    raw, cal = rows["raw confidence, one threshold"], rows["calibrated, one threshold"]
    assert raw["intent"] == "refund"  # where the bot overstates itself
    assert cal == rows["no overstatement: calibrated, one"]  # offsets absorbed
    assert rows["no overstatement: raw, one"]["kept"] > raw["kept"]
    changed = re.search(r"all intents: (\d+);\nby per-intent maps.*?: (\d+)", output())
    assert changed[1] == "0" and changed[2] == "0"  # monotone maps change nothing


def test_per_intent_thresholds_hold_every_intent_at_a_price_in_containment():
    rows = policies()
    cal, per = rows["calibrated, one threshold"], rows["per-intent thresholds"]
    assert cal["worst"] > sa.CAP * 100 >= per["worst"]
    assert diff("per-intent thresholds minus", "kept, points")[2] < 0
    assert (
        diff("per-intent thresholds minus", "each seed's worst intent, points")[2] < 0
    )


def test_the_margin_holds_the_cap_and_the_point_estimate_does_not():
    rows = policies()
    assert rows["same, cap at the point estimate"]["over"] >= 5
    for name in (
        "calibrated, one threshold",
        "per-intent thresholds",
        "confirmation, one threshold re-set",
        "confirmation, per-intent re-set",
    ):
        assert rows[name]["over"] == 0, name
    assert diff("same, cap at the point estimate", "bad rate, points")[1] > 0


def test_confirmation_value_depends_on_how_its_safety_is_spent():
    added = diff("calibrated, one + confirmation", "wrong writes per 10,000")
    assert added[2] < 0
    one = diff("confirmation, one threshold re-set", "wrong writes per 10,000")
    assert one[1] > 0  # the total cap re-spends the safety on irreversible errors
    assert diff("confirmation, one threshold re-set", "kept, points")[1] > 0
    per = diff("confirmation, per-intent re-set", "wrong writes per 10,000")
    assert per[3]  # a tie: per-intent caps keep irreversible errors where they were
    assert diff("confirmation, per-intent re-set", "kept, points")[1] > 0


def test_cost_alone_would_break_the_cap():
    rows = policies()
    cheap, cal = rows["cost-minimising, no cap"], rows["calibrated, one threshold"]
    assert cheap["bad"] > 5 * sa.CAP * 100 and cheap["cost"] < cal["cost"]
    points = sweep()
    thresholds = [p[0] for p in points[:-1]]
    assert thresholds == sorted(thresholds) and points[-1][0] == pytest.approx(
        1 / 3, 0.02
    )
    kept, bad, cost = (np.array([p[i] for p in points[:-1]]) for i in (1, 2, 3))
    assert np.all(np.diff(kept) < 0) and np.all(np.diff(bad) < 0)
    assert np.all(np.diff(cost) > 0)


def test_the_gateway_layers_stop_different_failures():
    rows = gateway()
    proposed = rows["harmful calls proposed"]
    assert rows["no checks"][:3] == proposed
    assert rows["confirmation only"][1] == proposed[1]  # the attacker confirms
    assert rows["rules only"][1] == 0 == rows["rules + confirmation"][1]
    both, rules = rows["rules + confirmation"], rows["rules only"]
    assert both[0] < rules[0] and both[2] < rules[2]
    assert both[3] == 0 < rows["all, no idempotency keys"][3]
    assert diff("rules + confirmation minus rules only", "harmful, request")[2] < 0


def test_costs_and_the_cost_minimising_rule():
    h, r = 8 * 0.60, 12 * 0.60
    assert pytest.approx(1 - h / r) == sa.COST_MINIMISING
    assert sa.cost_per_chat(0.5, 0.02, 0.06) == pytest.approx(0.06 + 0.5 * h + 0.02 * r)
    # At the rule's threshold, keeping and handing off cost the same.
    q = 1 - sa.COST_MINIMISING
    assert q * r == pytest.approx(h)
    with pytest.raises(ValueError, match="shares of conversations"):
        sa.cost_per_chat(1.5, 0.0, 0.06)
    with pytest.raises(ValueError, match="bot_usd"):
        sa.cost_per_chat(0.5, 0.0, -1.0)


def test_hand_off_policies_match_their_pieces_and_reject_bad_input():
    lab, new = w.simulate(4_000, seed=21), w.simulate(3_000, seed=22)
    got = sa.hand_off_policies(lab, new, confirm=False)
    bad = w.bad_if_kept(lab, False, True)
    cuts = w.thresholds_per_group(lab.confidence, bad, lab.intent, sa.CAP)
    np.testing.assert_array_equal(
        got["per intent"], w.keep_mask(new.confidence, new.intent, cuts)
    )
    cut = w.threshold_under_cap(lab.confidence, bad, sa.CAP)
    np.testing.assert_array_equal(got["raw"], new.confidence >= cut)
    assert got["calibrated"].mean() > 0
    with pytest.raises(TypeError, match="expected Conversations"):
        sa.hand_off_policies("reviewed", new, confirm=False)


def test_the_diagram_carries_the_latency_budget():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("```mermaid", 1)[1].split("```", 1)[0]
    stages = list(
        TURN_STAGES_MS.values()
    )  # checks, state, call 1, gateway, call 2, out
    shown = [int(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    assert shown == [stages[0], stages[1], stages[3], stages[5]]
    llm = float(re.search(r"(\d+\.\d+) s;", diagram)[1])
    assert llm == (stages[2] + stages[4]) / 1_000


def test_page_quotes_the_numbers_the_code_prints():
    out, rows, per, gate = output(), policies(), intents(), gateway()
    raw, cal = rows["raw confidence, one threshold"], rows["calibrated, one threshold"]
    loose, pi = rows["same, cap at the point estimate"], rows["per-intent thresholds"]
    cheap = rows["cost-minimising, no cap"]
    quoted = [
        f"{raw['kept']:.1f}%",
        f"{raw['worst']:.2f}%",
        f"{cal['kept']:.1f}%",
        f"{cal['worst']:.2f}%",
        f"{cal['bad']:.2f}%",
        f"${cal['cost']:.2f}",
        f"{loose['over']} of 10",
        f"{loose['bad']:.2f}%",
        f"{pi['worst']:.2f}%",
        f"{cheap['kept']:.1f}%",
        f"{cheap['bad']:.2f}%",
        f"${cheap['cost']:.2f}",
        f"{rows['no overstatement: raw, one']['kept']:.1f}%",
        f"{rows['calibrated, one + confirmation']['wrong']:.1f}",
        f"{cal['wrong']:.1f}",
        f"{rows['confirmation, one threshold re-set']['wrong']:.1f}",
        f"{per['return or refund'][2]:.1f}%",  # raw keeps refunds
        f"{per['order status'][2]:.1f}%",
        f"{per['order status'][4]:.1f}%",
        f"{sweep()[-1][0]:.2f}",
    ]
    for block, label, fmt in (
        ("calibrated, one threshold minus raw", "kept, points", "{:.2f}"),
        (
            "calibrated, one threshold minus raw",
            "each seed's worst intent, points",
            "{:.2f}",
        ),
        ("no overstatement", "kept, points", "{:.2f}"),
        ("per-intent thresholds minus", "kept, points", "{:.2f}"),
        ("per-intent thresholds minus", "each seed's worst intent, points", "{:.2f}"),
        ("calibrated, one + confirmation", "wrong writes per 10,000", "{:.2f}"),
        ("calibrated, one + confirmation", "kept, points", "{:.2f}"),
        ("confirmation, one threshold re-set", "kept, points", "{:.2f}"),
        ("confirmation, one threshold re-set", "wrong writes per 10,000", "{:.2f}"),
        ("confirmation, per-intent re-set", "kept, points", "{:.2f}"),
        ("same, cap at the point estimate", "kept, points", "{:.2f}"),
    ):
        quoted.append(fmt.format(abs(diff(block, label)[0])))
    _, low, high, _ = diff("calibrated, one threshold minus raw", "kept, points")
    quoted += [
        f"{low:.2f} to {high:.2f}",
        f"${abs(diff('calibrated, one threshold minus raw', '$ a chat')[0]):.2f}",
    ]
    _, low, high, _ = diff("no overstatement", "kept, points")
    quoted.append(f"{low:.2f} to {high:.2f}")
    mean, low, high, _ = diff("intents alike", "kept, points")
    alike = f"{mean:.2f} points, {low:.2f} to {high:.2f}"
    quoted.append(alike.replace("-", "\u2212"))
    quoted.append(f"${abs(diff('confirmation, per-intent re-set', '$ a chat')[0]):.2f}")
    quoted += [f"{v:.1f}" for v in gate["harmful calls proposed"]]
    quoted += [
        f"{gate['rules + confirmation'][0]:.1f}",
        f"{gate['rules + confirmation'][2]:.1f}",
        f"{gate['rules only'][2]:.1f}",
        f"{gate['all, no idempotency keys'][3]:.1f}",
        f"{gate['rules + confirmation'][4]:.1f}",
    ]
    # The estimate, parsed from the printed block.
    first = lambda pattern: re.search(pattern, out)[1]  # noqa: E731
    quoted += [
        first(r"3x peak\s+[\d,]+; (\S+)"),
        first(r"prompt tokens, mean / last\s+\d+; ([\d,]+) /"),
        first(r"in / out\s+([\d,]+) /"),
        first(r"in / out\s+[\d,]+ / ([\d,]+)"),
        "$" + first(r"90% cached\s+(\S+) /"),
        "$" + first(r"90% cached\s+\S+ / (\S+)"),
        "$" + first(r"saved by the summary\s+(\S+) /"),
        "$" + first(r"saved by the summary\s+\S+ / (\S+)"),
        "$" + first(r"repeat contact \(12 min\)\s+(\S+)"),
        "$" + first(r"agent \$ a day\s+([\d,]+)\n"),
        first(r"\n\s+0%\s+([\d,]+)"),
        first(r"\n\s+50%\s+([\d,]+)"),
        "$" + first(r"\n\s+0%\s+[\d,]+\s+([\d,]+)"),
        "$" + first(r"\n\s+50%\s+[\d,]+\s+([\d,]+)"),
        "$" + first(r"\n\s+0%\s+[\d,]+\s+[\d,]+\s+([\d,]+)"),
        first(r"TB if all kept\s+(\S+);") + " GB",
        first(r"TB if all kept\s+\S+ ([\d,]+);"),
        first(r"TB if all kept\s+\S+ \S+ (\S+)\n") + " TB",
        first(r"ms a token\s+(\d+);"),
        first(r"ms a token\s+\d+; (\S+)") + " ms",
        first(r"of which prefill\s+(\S+);"),
        first(r"of which prefill\s+\S+ (\S+)\n"),
        "$" + first(r"\$ a day at \$([\d.]+)/h"),
        first(r"/h\s+(\d+);") + " replicas",
        first(r"/h\s+\d+; (\d+);") + " A100s",
        "$" + first(r"/h\s+\d+; \d+; ([\d,]+)") + " a day",
        first(r"of peak \(assumed\)\s+(\d+);") + " replicas",
        "$" + first(r"of peak \(assumed\)\s+\d+; \d+; ([\d,]+)"),
        "$" + first(r"min: [\d,]+ h, \$([\d,]+)"),
        first(r"\(10% base\) ([\d,]+),"),
        first(r"bad \(2%\) ([\d,]+);"),
        first(r"detect (\+\d+%)"),
        first(r"float32: (\S+ MB)"),
        first(r"all (\S+ \wB) a day"),
        first(r"3 replicas (\S+ TB)"),
        first(r"points: ([\d,]+);"),
        first(r"3 min: ([\d,]+) h"),
        first(r"headroom\s+(\d+) ms") + " ms",
        first(r"call 1 ([\d,]+) ms") + " ms",
        first(r"call 2 ([\d,]+) ms") + " ms",
        first(r"first token \(([\d,]+) ms p99"),
    ]
    # The fleet's dollars a chat as a share of a hand-off's, both fleets.
    handoff = float(first(r"saved by the summary\s+(\S+) /"))
    fleets = [
        first(r"/h\s+\d+; \d+; ([\d,]+)"),
        first(r"of peak \(assumed\)\s+\d+; \d+; ([\d,]+)"),
    ]
    per_chat = [float(d.replace(",", "")) / 200_000 for d in fleets]
    low, high = (round(100 * d / handoff) for d in per_chat)
    quoted.append(f"about {low} to {high}% of a hand-off a chat")
    assert_page_quotes(PAGE, *quoted)
