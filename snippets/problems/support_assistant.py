"""Support assistant with hand-off, in miniature: when should the bot keep a chat?

Part 1, back-of-envelope (``support_assistant_estimate``): tokens and dollars per
conversation, agents, a self-hosted fleet, logs, reviews, a latency budget.

Part 2, the miniature: conversations whose resolvability is hidden and drawn before
any policy exists (``support_assistant_world``); a hand-off policy on the bot's
confidence, its threshold set on 8,000 reviewed conversations under a cap on bad
resolutions, then graded on 20,000 new ones. Raw vs calibrated confidence, one
threshold vs one per intent, with and without the write confirmation step; the
claimed cause ablated; the writes replayed through the tool gateway
(``support_assistant_tools``). Ten seeds, paired 95% intervals.

Run it: ``python -m snippets.problems.support_assistant``.
"""

from __future__ import annotations

import numpy as np

from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.classification_metrics import bayes_threshold
from snippets.problems.support_assistant_estimate import (
    AGENT_PER_MINUTE,
    CAP,
    HANDLE_MIN,
    REPEAT_MIN,
    estimate_capacity,
    print_estimate,
)
from snippets.problems.support_assistant_tools import SOURCES, attempts, write_actions
from snippets.problems.support_assistant_world import (
    Conversations,
    World,
    bad_if_kept,
    fit_calibrator,
    grade,
    keep_mask,
    simulate,
    threshold_under_cap,
    thresholds_per_group,
    without,
)

REVIEWED, NEW, SEEDS, REPLAYED = 8_000, 20_000, range(10), 5_000


def cost_per_chat(handoff: float, bad: float, bot_usd: float) -> float:
    """Dollars per conversation: the bot for all, an agent for each hand-off, a
    repeat contact for each bad resolution (the customer's own cost not priced)."""
    if not (0 <= handoff <= 1 and 0 <= bad <= 1):
        raise ValueError("handoff and bad are shares of conversations, in [0, 1]")
    if bot_usd < 0:
        raise ValueError(f"bot_usd must be non-negative, got {bot_usd}")
    hand_off_usd, repeat_usd = (
        HANDLE_MIN * AGENT_PER_MINUTE,
        REPEAT_MIN * AGENT_PER_MINUTE,
    )
    return bot_usd + handoff * hand_off_usd + bad * repeat_usd


POLICIES = (
    "raw confidence, one threshold",
    "calibrated, one threshold",
    "  same, cap at the point estimate",
    "per-intent thresholds",
    "calibrated, one + confirmation",
    "confirmation, one threshold re-set",
    "confirmation, per-intent re-set",
    "cost-minimising, no cap",
)
ABLATED = ("no overstatement: raw, one", "no overstatement: calibrated, one")
# A second ablation, in the paired differences only: intents alike in ability too.
ALIKE = ("intents alike: raw, one", "intents alike: calibrated, one")
SWEEP = (0.5, 0.8, 0.9, 0.95, 0.97, 0.99)
# Keep when P(no bad resolution) exceeds 1 - H/R: a bad resolution costs R, a
# hand-off H, so the cost-minimising hand-off threshold on P(bad) is H / R.
COST_MINIMISING = 1 - bayes_threshold(
    HANDLE_MIN * AGENT_PER_MINUTE, (REPEAT_MIN - HANDLE_MIN) * AGENT_PER_MINUTE
)


# --8<-- [start:policies]
def hand_off_policies(
    lab: Conversations, new: Conversations, confirm: bool, cap: float = CAP
) -> dict[str, np.ndarray]:
    """Keep decisions on the new conversations, thresholds set on reviewed ones."""
    _conversations(lab, new)
    bad = bad_if_kept(lab, confirm, server_rules=True)  # the reviewed outcome
    calibrate = fit_calibrator(lab.confidence, ~bad, lab.intent)  # P(no bad | s)
    p_lab = calibrate(lab.confidence, lab.intent)
    p_new = calibrate(new.confidence, new.intent)
    one_raw = threshold_under_cap(lab.confidence, bad, cap)
    one_cal = threshold_under_cap(p_lab, bad, cap)
    per_intent = thresholds_per_group(lab.confidence, bad, lab.intent, cap)
    return {
        "raw": new.confidence >= one_raw,
        "calibrated": p_new >= one_cal,
        "no margin": p_new >= threshold_under_cap(p_lab, bad, cap, margin=False),
        "per intent": keep_mask(new.confidence, new.intent, per_intent),
        "p": p_new,  # kept for the sweep and the cost-minimising rule
    }
    # --8<-- [end:policies]


def _conversations(*samples: object) -> None:
    for sample in samples:
        if not isinstance(sample, Conversations):
            raise TypeError(f"expected Conversations, got {type(sample).__name__}")


def same_decisions(lab: Conversations, new: Conversations) -> tuple[int, int]:
    """Decisions that change when the confidence is recalibrated with one map for
    all intents (one threshold), or per intent (per-intent thresholds)."""
    _conversations(lab, new)
    bad = bad_if_kept(lab, False, server_rules=True)
    zeros_lab, zeros_new = np.zeros(lab.size, int), np.zeros(new.size, int)
    one = fit_calibrator(lab.confidence, ~bad, zeros_lab)
    t_one = threshold_under_cap(one(lab.confidence, zeros_lab), bad, CAP)
    raw = new.confidence >= threshold_under_cap(lab.confidence, bad, CAP)
    per = fit_calibrator(lab.confidence, ~bad, lab.intent)
    t_per = thresholds_per_group(per(lab.confidence, lab.intent), bad, lab.intent, CAP)
    kept_per = keep_mask(per(new.confidence, new.intent), new.intent, t_per)
    t_raw_per = thresholds_per_group(lab.confidence, bad, lab.intent, CAP)
    kept_raw_per = keep_mask(new.confidence, new.intent, t_raw_per)
    return (
        int(((one(new.confidence, zeros_new) >= t_one) != raw).sum()),
        int((kept_per != kept_raw_per).sum()),
    )


def run_seed(seed: int, bot_usd: float) -> dict[str, dict]:
    """Every policy on one seed's world, graded with the hidden truth."""
    world = World()
    lab, new = simulate(REVIEWED, 10_000 + seed, world), simulate(NEW, seed, world)
    k = len(world.intents)
    plain, safe = hand_off_policies(lab, new, False), hand_off_policies(lab, new, True)
    kept = {
        POLICIES[0]: (plain["raw"], False),
        POLICIES[1]: (plain["calibrated"], False),
        POLICIES[2]: (plain["no margin"], False),
        POLICIES[3]: (plain["per intent"], False),
        POLICIES[4]: (plain["calibrated"], True),
        POLICIES[5]: (safe["calibrated"], True),
        POLICIES[6]: (safe["per intent"], True),
        POLICIES[7]: (plain["p"] >= COST_MINIMISING, False),
    }
    graded = {
        name: grade(new, mask, confirm, True, k)
        for name, (mask, confirm) in kept.items()
    }
    for cause, names in (("overstatement", ABLATED), ("intents", ALIKE)):
        gone = without(world, cause)
        lab_x = simulate(REVIEWED, 10_000 + seed, gone)
        new_x = simulate(NEW, seed, gone)
        ablated = hand_off_policies(lab_x, new_x, False)
        graded[names[0]] = grade(new_x, ablated["raw"], False, True, k)
        graded[names[1]] = grade(new_x, ablated["calibrated"], False, True, k)
    sweep = [
        grade(new, plain["p"] >= t, False, True, k) for t in (*SWEEP, COST_MINIMISING)
    ]
    rows = {
        name: {
            "contained": o.containment,
            "bad": o.bad,
            "by_intent": o.bad_by_intent,
            "kept_by_intent": o.contained_by_intent,
            "worst": float(np.nanmax(o.bad_by_intent)),
            "wrong_writes": 1e4 * o.wrong_writes,
            "cost": cost_per_chat(o.handoff, o.bad, bot_usd),
        }
        for name, o in graded.items()
    }
    orders, proposed = attempts(
        new.first(REPLAYED), safe["per intent"][:REPLAYED], seed
    )
    writes = write_actions(orders, proposed)
    harmful = {s: sum(a.harmful for a in proposed if a.source == s) for s in SOURCES}
    return {
        "rows": rows,
        "sweep": [
            (o.containment, o.bad, cost_per_chat(o.handoff, o.bad, bot_usd))
            for o in sweep
        ],
        "writes": {
            g: {c: 1e4 * v / REPLAYED for c, v in w.items()} for g, w in writes.items()
        },
        "proposed": {s: 1e4 * v / REPLAYED for s, v in harmful.items()},
        "same": same_decisions(lab, new),
        "resolvable": [float(new.resolvable[new.intent == i].mean()) for i in range(k)],
    }


def experiment(seeds=SEEDS) -> dict:
    """All seeds; the estimate's bot cost per conversation prices the bot."""
    bot_usd = estimate_capacity()["bot_cached"]
    return {"bot_usd": bot_usd, "runs": [run_seed(seed, bot_usd) for seed in seeds]}


def _interval(label: str, values) -> str:
    mean, low, high = paired_interval(values)
    tie = "  tie" if is_tie(low, high) else ""
    return f"  {label:<38}{mean:+8.3f} [{low:+.3f}, {high:+.3f}]{tie}"


def _mean(runs: list[dict], path: tuple) -> float | np.ndarray:
    """Mean over the seeds of one entry of each run's nested result."""
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value[key]
        values.append(value)
    return np.mean(values, axis=0)


SHORT = ("status", "refund", "change", "policy", "other")


def _print_policies(runs: list[dict]) -> None:
    n = len(runs)
    print(f"\n{n} seeds; thresholds set on {REVIEWED:,} reviewed conversations,")
    print(f"graded on {NEW:,} new ones; cap: bad resolutions <= {CAP:.1%} of all.")
    print(
        "policy                               kept    bad  worst intent wrong", end=""
    )
    print("  $/chat over")
    for name in (*POLICIES, *ABLATED):
        by_intent = _mean(runs, ("rows", name, "by_intent"))
        worst = int(np.nanargmax(by_intent))
        over = sum(r["rows"][name]["bad"] > CAP for r in runs)
        kept, bad = (_mean(runs, ("rows", name, k)) for k in ("contained", "bad"))
        wrong, cost = (_mean(runs, ("rows", name, k)) for k in ("wrong_writes", "cost"))
        print(
            f"{name:<36}{kept:6.1%}{bad:7.2%}{by_intent[worst]:7.2%}"
            f" {SHORT[worst]:<6}{wrong:6.1f}{cost:8.2f}{over:3}/{n}"
        )
    print("(worst intent: highest mean bad rate over the seeds, per chat of that")
    print(" intent; wrong: wrong writes per 10,000 chats; over: seeds above the cap)")
    one, per = zip(*(r["same"] for r in runs), strict=True)
    print(f"Decisions changed by one calibration map for all intents: {sum(one)};")
    print(f"by per-intent maps, under per-intent thresholds: {sum(per)}")


def _print_intents(runs: list[dict]) -> None:
    print("\nPer intent, no confirmation step: kept and bad, mean of the seeds")
    print(
        "intent              share  resolvable   raw, one      calibrated, one"
        "  per-intent"
    )
    for i, intent in enumerate(World().intents):
        cells = "".join(
            f"{_mean(runs, ('rows', p, 'kept_by_intent'))[i]:8.1%}"
            f"{_mean(runs, ('rows', p, 'by_intent'))[i]:6.2%}"
            for p in (POLICIES[0], POLICIES[1], POLICIES[3])
        )
        resolvable = _mean(runs, ("resolvable",))[i]
        print(f"{intent.name:<19}{intent.share:6.2f}{resolvable:12.2f}{cells}")


def _print_sweep(runs: list[dict]) -> None:
    print("\nOne threshold on the calibrated confidence, no confirmation step")
    print("keep if P(no bad resolution) >=      kept      bad   $/chat")
    sweep = _mean(runs, ("sweep",))
    for t, (kept, bad, cost) in zip((*SWEEP, COST_MINIMISING), sweep, strict=True):
        note = "  cost-minimising" if t == COST_MINIMISING else ""
        print(f"  {t:30.2f}{kept:10.1%}{bad:9.2%}{cost:9.2f}{note}")


def _print_gateway(runs: list[dict]) -> None:
    print(
        f"\nTool gateway, {REPLAYED:,} chats a seed (per-intent, confirmation, re-set);"
    )
    print("1% injected, 1% of write responses lost; per 10,000 chats:")
    print("gateway                    request  direct indirect  duplicates  right lost")
    proposed = [_mean(runs, ("proposed", s)) for s in SOURCES]
    print(f"{'harmful calls proposed':<25}" + "".join(f"{v:9.1f}" for v in proposed))
    for gateway in runs[0]["writes"]:
        keys = (*SOURCES, "duplicates", "right actions lost")
        v = [_mean(runs, ("writes", gateway, key)) for key in keys]
        print(f"{gateway:<25}{v[0]:9.1f}{v[1]:9.1f}{v[2]:9.1f}{v[3]:12.1f}{v[4]:12.1f}")


PAIRS = (  # (minuend, subtrahend, metrics) for the paired differences
    (POLICIES[1], POLICIES[0], ("contained", "cost", "worst")),
    (ABLATED[1], ABLATED[0], ("contained",)),
    (ALIKE[1], ALIKE[0], ("contained",)),
    (POLICIES[3], POLICIES[1], ("contained", "worst", "wrong_writes")),
    (POLICIES[4], POLICIES[1], ("wrong_writes", "contained")),
    (POLICIES[5], POLICIES[1], ("contained", "wrong_writes")),
    (POLICIES[6], POLICIES[3], ("contained", "wrong_writes", "cost")),
    (POLICIES[2], POLICIES[1], ("bad", "contained")),
)
LABELS = {  # metric -> (label, scale)
    "contained": ("kept, points", 100),
    "cost": ("$ a chat", 1),
    "worst": ("each seed's worst intent, points", 100),
    "wrong_writes": ("wrong writes per 10,000", 1),
    "bad": ("bad rate, points", 100),
}


def _print_differences(runs: list[dict]) -> None:
    print("\nPaired differences over the seeds: mean [95% interval]")
    for a, b, keys in PAIRS:
        print(f"{a.strip()} minus {b.strip()}:")
        for key in keys:
            label, scale = LABELS[key]
            diff = [scale * (r["rows"][a][key] - r["rows"][b][key]) for r in runs]
            print(_interval(label, diff))
    print("rules + confirmation minus rules only, gateway:")
    for source in ("request", "indirect injection"):
        diff = [
            r["writes"]["rules + confirmation"][source]
            - r["writes"]["rules only"][source]
            for r in runs
        ]
        print(_interval(f"harmful, {source}", diff))


def main() -> None:
    print_estimate(estimate_capacity())
    runs = experiment()["runs"]
    _print_policies(runs)
    _print_intents(runs)
    _print_sweep(runs)
    _print_gateway(runs)
    _print_differences(runs)


if __name__ == "__main__":
    main()
