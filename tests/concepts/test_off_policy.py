"""IPS, SNIPS and doubly robust estimates against independent code and the truth."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output

from snippets.concepts import off_policy as op

PAGE = "concepts/retrieval-and-ranking.md"
SIGNED = r"[+-][\d.]+"


def loop_estimates(reward, logged, target, predicted, predicted_value):
    """The three estimators written out event by event, as the papers define them."""
    n = len(reward)
    ips = sum(r * t / p for r, p, t in zip(reward, logged, target, strict=True)) / n
    weights = [t / p for p, t in zip(logged, target, strict=True)]
    snips = sum(w * r for w, r in zip(weights, reward, strict=True)) / sum(weights)
    dr = (
        sum(
            v + w * (r - m)
            for v, w, r, m in zip(
                predicted_value, weights, reward, predicted, strict=True
            )
        )
        / n
    )
    return ips, snips, dr


@pytest.mark.parametrize("clicks", [False, True])
def test_estimators_match_an_event_by_event_implementation(clicks):
    world = op.make_world(clicks, seed=3)
    logs = op.replay_logs(world, 2_000, np.random.default_rng(0))
    core = (logs["reward"], logs["logged_prob"], logs["target_prob"])
    expected = loop_estimates(*core, logs["predicted"], logs["predicted_value"])
    got = (
        op.ips(*core),
        op.snips(*core),
        op.doubly_robust(*core, logs["predicted"], logs["predicted_value"]),
    )
    assert got == pytest.approx(expected, rel=1e-12)


def test_the_logs_follow_the_logging_policy():
    world = op.make_world(seed=0)
    logs = op.replay_logs(world, 200_000, np.random.default_rng(5))
    # Each logged propensity is one of the policy's probabilities, and a segment's
    # item is shown as often as the policy says (within 4 binomial standard errors).
    assert set(np.round(logs["logged_prob"], 12)) <= set(
        np.round(world.logging.ravel(), 12)
    )
    target_share = logs["target_prob"].mean()
    expected = world.logging[np.arange(5), world.target].mean()
    se = np.sqrt(expected * (1 - expected) / 200_000)
    assert abs(target_share - expected) < 4 * se


@pytest.mark.parametrize("seed", range(3))
def test_ips_and_dr_are_unbiased_and_the_remedies_cut_the_error(seed):
    world = op.make_world(seed=seed)
    errors = op.compare(world, events=5_000, replays=300, seed=seed + 10)
    for name in ("IPS", "DR"):  # unbiased with exact propensities
        err = errors[name]
        assert abs(err.mean()) < 4 * err.std(ddof=1) / np.sqrt(err.size), name
    rmse = {name: op.rmse(err) for name, err in errors.items()}
    assert rmse["SNIPS"] < rmse["IPS"] / 3
    assert rmse["DR"] < rmse["IPS"] / 3


def test_with_click_rewards_the_remedies_gain_little():
    """The ablation: 0/1 rewards near 0 leave little level for SNIPS or DR to remove."""
    errors = op.compare(op.make_world(True, seed=0), events=5_000, replays=300)
    rmse = {name: op.rmse(err) for name, err in errors.items()}
    assert rmse["SNIPS"] > 0.8 * rmse["IPS"] and rmse["DR"] > 0.8 * rmse["IPS"]


def test_dr_with_a_zero_reward_model_is_ips():
    world = op.make_world(seed=1)
    logs = op.replay_logs(world, 3_000, np.random.default_rng(1))
    core = (logs["reward"], logs["logged_prob"], logs["target_prob"])
    zeros = np.zeros_like(logs["reward"])
    assert op.doubly_robust(*core, zeros, zeros) == pytest.approx(op.ips(*core))


def test_replay_is_snips_under_uniform_logging_and_not_ips():
    world = op.make_world(seed=2)
    uniform = op.World(
        world.mean, np.full_like(world.mean, 0.1), world.target, world.model, False
    )
    logs = op.replay_logs(uniform, 4_000, np.random.default_rng(3))
    matched = logs["target_prob"] == 1
    replay = logs["reward"][matched].mean()  # Li et al.'s replay, written out
    core = (logs["reward"], logs["logged_prob"], logs["target_prob"])
    assert op.snips(*core) == pytest.approx(replay, rel=1e-12)
    # IPS divides by the expected number of matches, n/10, not the actual one.
    assert op.ips(*core) == pytest.approx(replay * matched.sum() / (4_000 / 10))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: op.ips([1.0, 0.0], [0.5, 0.0], [1.0, 0.0]), ValueError, r"\(0, 1\]"),
        (lambda: op.ips([1.0], [0.5, 0.5], [1.0, 0.0]), ValueError, "same length"),
        (lambda: op.ips([1.0], [0.5], [1.5]), ValueError, r"\[0, 1\]"),
        (lambda: op.ips([], [], []), ValueError, "non-empty"),
        (lambda: op.ips("abc", [0.5], [1.0]), TypeError, "array of numbers"),
        (lambda: op.snips([1.0], [0.5], [0.0]), ValueError, "never picks"),
        (
            lambda: op.doubly_robust([1.0], [0.5], [1.0], [0.1, 0.2], [0.1]),
            ValueError,
            "same length",
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.off_policy")
    rows = {
        m[1]: m.groups()[1:]
        for m in re.finditer(
            rf"^(IPS|SNIPS|DR)\s+({SIGNED}) \(({SIGNED}) to ({SIGNED})\)\s+([\d.]+)$",
            out,
            re.M,
        )
    }
    assert set(rows) == {"IPS", "SNIPS", "DR"}
    for _, low, high, _ in rows.values():
        assert float(low) <= 0 <= float(high)  # no estimator is biased here
    assert_page_quotes(PAGE, *(f"RMSE {rows[n][3]}" for n in ("IPS", "SNIPS", "DR")))
    minutes = re.search(r"minutes: IPS (\S+), SNIPS (\S+), DR (\S+)$", out, re.M)
    clicks = re.search(
        r"clicks \(ablation\): IPS (\S+), SNIPS (\S+), DR (\S+)$", out, re.M
    )
    for span in (*minutes.groups(), *clicks.groups()):
        low, high = span.split("-")
        assert_page_quotes(PAGE, f"{low} to {high}")
    assert "replay equals SNIPS every time" in out
    value = re.search(r"true value ([\d.]+) min", out)[1]
    shown = re.search(r"probability ([\d.]+) to ([\d.]+)", out)
    assert_page_quotes(PAGE, f"{value} minutes", f"{shown[1]} to {shown[2]}")
