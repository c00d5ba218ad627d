"""Time splits hold out the future; replayed logs and raters come before an A/B."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

from snippets.framework import evaluation as ev


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=80).filter(
        lambda ts: len(set(ts)) > 1
    ),
    st.floats(0.05, 0.95),
)
def test_time_split_puts_every_holdout_example_after_every_training_one(ts, share):
    times = np.array(ts)
    train, holdout = ev.time_split(times, share)
    assert train.size and holdout.size
    assert times[train].max() < times[holdout].min()
    assert sorted([*train, *holdout]) == list(range(times.size))


def test_random_split_is_a_partition_that_mixes_time():
    train, holdout = ev.random_split(1000, 0.2, seed=1)
    assert sorted([*train, *holdout]) == list(range(1000))
    assert holdout.size == 200
    assert holdout.min() < 100 and holdout.max() > 900  # early and late days alike


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_split_overestimates_and_time_split_is_closer(seed):
    r = ev.compare_splits(seed=seed)
    assert r["random split estimate"] > r["time split estimate"] > r["after launch"]
    gap_random = r["random split estimate"] - r["after launch"]
    gap_time = r["time split estimate"] - r["after launch"]
    assert gap_time < gap_random / 2


def test_without_drift_the_random_split_is_not_optimistic():
    # Control: the same world and protocol with the drift removed.
    gaps = []
    for seed in (0, 1, 2):
        r = ev.compare_splits(seed=seed, drift=False)
        gaps.append(r["random split estimate"] - r["after launch"])
        drifting = ev.compare_splits(seed=seed)
        assert drifting["random split estimate"] - drifting["after launch"] > 0.05
    assert max(abs(g) for g in gaps) < 0.03


def test_control_world_holds_the_weight_at_its_average_over_the_history():
    # Same draws with and without drift; only the labels' rule differs.
    x, y, day = ev.drifting_data(n=5_000, seed=3)
    x0, y0, day0 = ev.drifting_data(n=5_000, seed=3, drift=False)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(day, day0)
    assert (y != y0).mean() > 0.05
    # Fit the control world's rule: its weight on feature 0 is 1.5 - 3 * 45 / 120.
    big_x, big_y, _ = ev.drifting_data(n=200_000, seed=4, drift=False)
    weight = LogisticRegression(C=1e6).fit(big_x, big_y).coef_[0, 0]
    assert weight == pytest.approx(1.5 - 3.0 * 45 / 120, abs=0.03)


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="time range"):
        ev.time_split(np.zeros(5))
    with pytest.raises(ValueError, match="holdout_share"):
        ev.time_split(np.arange(5.0), 1.5)
    with pytest.raises(ValueError, match="1-D"):
        ev.time_split(np.arange(4.0).reshape(2, 2))
    with pytest.raises(ValueError, match="at least two"):
        ev.random_split(1)


def test_srm_table_matches_scipy_and_flags_only_the_large_arms():
    rows = [row.split() for row in ev.srm_table()[1:]]
    for (control, treatment), row in zip(ev.SRM_EXAMPLES, rows, strict=True):
        expected = stats.chisquare([control, treatment])
        assert float(row[3]) == pytest.approx(expected.statistic, abs=0.005)
        assert float(row[4]) == pytest.approx(expected.pvalue, rel=0.05)
    # Same split, different verdicts: counts decide, not percentages.
    assert rows[0][2] == rows[1][2] == "50.8/49.2"
    assert float(rows[0][4]) > 0.05 > 1e-6 > float(rows[1][4])


def test_page_quotes_the_numbers_the_code_prints():
    r = ev.compare_splits()
    output = module_output("snippets.framework.evaluation")
    numbers = [f"{value:.3f}" for value in r.values()]
    assert all(n in output for n in numbers)
    overstatement = r["random split estimate"] - r["after launch"]
    runs = [ev.compare_splits(seed) for seed in range(5)]
    control = [ev.compare_splits(seed, drift=False) for seed in range(5)]
    spreads = []
    for protocol in ("random split", "time split"):
        for world in (runs, control):
            gaps = [run[f"{protocol} estimate"] - run["after launch"] for run in world]
            spreads.append(f"{min(gaps):.3f} to {max(gaps):.3f}")
    assert all(spread in output for spread in spreads)
    for name in control[0]:
        values = [run[name] for run in control]
        spreads.append(f"{min(values):.3f}-{max(values):.3f}")
        assert f"{name:<22} {spreads[-1]}" in output
    srm = [row.split() for row in ev.srm_table()[1:]]
    assert all(" ".join(row) in " ".join(output.split()) for row in srm)
    assert_page_quotes(
        "framework/evaluation.md",
        *numbers,
        f"by {overstatement:.2f} (",
        *spreads,
        f"{srm[1][0]} vs {srm[1][1]} users",
        f"chi-square {srm[1][3]}, p = {srm[1][4]}",
        f"{srm[0][0]} vs {srm[0][1]} users is chance (p = {srm[0][4]})",
        f"gives {srm[2][3]}, p = {srm[2][4]}",
        # Twenty independent null metrics at alpha = 0.05: P(at least one) = 64%.
        f"{1 - 0.95**20:.0%} of tests",
    )


# Off-policy replay and human raters: the checks before an A/B test.
PAGE = "framework/evaluation.md"


def test_effective_sample_size_counts_what_the_weights_leave():
    assert ev.effective_sample_size(np.ones(250)) == pytest.approx(250)
    assert ev.effective_sample_size(np.array([0.0, 0.0, 7.0])) == pytest.approx(1)
    w = np.random.default_rng(3).exponential(size=1_000)
    assert ev.effective_sample_size(w) == pytest.approx(w.sum() ** 2 / (w @ w))
    with pytest.raises(ValueError, match="every weight is zero"):
        ev.effective_sample_size(np.zeros(4))
    with pytest.raises(ValueError, match="w >= 0"):
        ev.effective_sample_size(np.array([1.0, -1.0]))


def test_snips_lift_is_the_difference_of_two_snips_estimates():
    world = ev.policy_world(0)
    log = ev.epsilon_greedy_log(world, 0.2, 20_000, np.random.default_rng(5))
    lift, _ = ev.snips_lift(**log)
    r, p = log["reward"], log["logged_prob"]
    by_hand = [
        np.sum(q / p * r) / np.sum(q / p) for q in (log["new_prob"], log["old_prob"])
    ]
    assert lift == pytest.approx(by_hand[0] - by_hand[1])


def test_snips_lift_standard_error_matches_a_paired_bootstrap():
    world = ev.policy_world(0)
    log = ev.epsilon_greedy_log(world, 0.1, 20_000, np.random.default_rng(6))
    _, se = ev.snips_lift(**log)
    rng = np.random.default_rng(7)
    r, p, new, old = (log[k] for k in ("reward", "logged_prob", "new_prob", "old_prob"))
    lifts = []
    for _ in range(400):  # resample events: both policies see the same resample
        i = rng.integers(0, r.size, r.size)
        wn, wo = new[i] / p[i], old[i] / p[i]
        lifts.append(np.sum(wn * r[i]) / wn.sum() - np.sum(wo * r[i]) / wo.sum())
    assert se == pytest.approx(np.std(lifts, ddof=1), rel=0.12)


def test_more_exploration_buys_effective_sample_and_decisions():
    runs = [ev.replay_verdicts(eps, logs=20) for eps in (0.2, 0.05, 0.01)]
    assert runs[0]["ess"] > runs[1]["ess"] > runs[2]["ess"]
    assert runs[0]["wins"] > runs[2]["wins"]
    assert all(r["coverage"] >= 0.8 for r in runs)  # nominal 95%, 20 logs
    assert runs[0]["true_lift"] > 0


@pytest.mark.parametrize("seed", range(6))
def test_cohen_kappa_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(["A better", "same", "B better"], size=300, p=[0.2, 0.5, 0.3])
    b = np.where(rng.random(300) < 0.6, a, rng.choice(["A better", "same"], size=300))
    assert ev.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_kappa_is_one_for_identical_raters_and_near_zero_for_independent_ones():
    rng = np.random.default_rng(8)
    a = rng.integers(0, 3, 20_000)
    assert ev.cohen_kappa(a, a) == 1.0
    assert abs(ev.cohen_kappa(a, rng.integers(0, 3, 20_000))) < 0.02
    with pytest.raises(ValueError, match="undefined"):
        ev.cohen_kappa(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="same length"):
        ev.cohen_kappa(np.zeros(5), np.zeros(4))


def test_same_raters_same_agreement_lower_kappa_when_most_pairs_are_ties():
    kappas, agreements = [], []
    for shares in (ev.BALANCED, ev.MOSTLY_SAME):
        a, b = ev.two_raters(shares, 0.7, 20_000, seed=1)
        kappas.append(cohen_kappa_score(a, b))
        agreements.append(np.mean(a == b))
    # Agreement is q^2 + (1 - q^2) / 3 whatever the shares: 0.66 for q = 0.7.
    assert agreements == pytest.approx([0.7**2 + (1 - 0.7**2) / 3] * 2, abs=0.01)
    # With balanced labels kappa is q^2; with 90% ties chance agreement is high.
    assert kappas[0] == pytest.approx(0.49, abs=0.02)
    assert kappas[1] < kappas[0] - 0.2


def test_pairs_needed_gives_the_asked_power():
    n = ev.pairs_needed(0.55)
    z = stats.norm.ppf(0.975)

    def power(size: int) -> float:  # normal approximation, written out
        return stats.norm.cdf((0.05 * np.sqrt(size) - 0.5 * z) / np.sqrt(0.55 * 0.45))

    assert power(n) >= 0.8 > power(n - 1)
    # The exact two-sided binomial test at that size has about the same power.
    k = np.arange(n + 1)
    null = stats.binom.pmf(k, n, 0.5)
    order = np.argsort(null)
    rejected = order[np.cumsum(null[order]) <= 0.05]
    exact = stats.binom.pmf(rejected, n, 0.55).sum()
    assert exact == pytest.approx(0.8, abs=0.03)
    with pytest.raises(ValueError, match="preference"):
        ev.pairs_needed(0.5)


def test_page_quotes_the_replay_and_rater_numbers():
    output = module_output("snippets.framework.evaluation")
    true_lift = re.search(r"true lift in click rate ([+\-.\d]+)", output)[1]
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 6 and cells[0].endswith("%") and cells[2].startswith("±"):
            rows[cells[0]] = cells[1:]  # ESS, interval, covers, wins, winning lift
    raters = re.findall(r"^(?:\d+% / ){2}\d+% +([\d.]+%) +([\d.]+)$", output, re.M)
    cost = re.search(
        r"(\d+%) from 50%.*?: ([\d,]+) non-tied pairs;\n  (\d+%) ties -> ([\d,]+) "
        r"pairs x 3 raters = ([\d,]+) judgments,\n  ([\d,]+) rater-hours, (\$[\d,]+)",
        output,
    ).groups()
    assert set(rows) == {"20%", "5%", "1%"}
    changed, segments = re.search(r"pick in (\d+) of (\d+) segments", output).groups()
    world = ev.policy_world(0)  # the replay's world, counted here by hand
    picks = zip(world["new"], world["old"], strict=True)
    assert int(changed) == sum(new != old for new, old in picks)
    winners = round(40 * float(rows["1%"][3].strip("%")) / 100)
    ess_share = {eps: int(rows[eps][0].replace(",", "")) / 100_000 for eps in rows}
    assert_page_quotes(
        PAGE,
        f"pick in {changed} of {segments} segments",
        f"the {winners} winning logs",
        f"{ess_share['20%']:.1%} of the events at ε = 20%",
        f"{ess_share['1%']:.2%} at ε = 1%",
        f"score {raters[0][1]} on one task and {raters[1][1]} on the other",
        f"do not divide the {cost[1]} by three",
        f"by {true_lift}",
        f"sample size of {rows['20%'][0]} of the 100,000",
        f"the interval is {rows['20%'][1]}",
        f"in {rows['20%'][3]} of the 40",
        f"true lift in {rows['20%'][2]}",
        f"falls to {rows['1%'][0]}",
        f"{rows['1%'][1]}, so",
        f"only {rows['1%'][3]} of the logs",
        f"({rows['1%'][2]} of the logs",
        f"lift of {rows['1%'][4]} on average",
        f"call the win in {rows['5%'][3]}",
        f"{raters[0][0]} of 2,000 pairs",
        f"(kappa {raters[0][1]})",
        f"on {raters[1][0]}",
        f"(kappa {raters[1][1]})",
        f"{cost[0]} preference",
        f"pairs, {cost[1]} for",
        f"{cost[3]} pairs",
        f"{cost[4]} judgments, {cost[5]} rater-hours",
        cost[6],
    )
    # With 20% exploration the winning logs are right on average; with 1% they
    # overstate the lift several times over.
    truth = float(true_lift)
    assert abs(float(rows["20%"][4]) - truth) < 0.003
    assert float(rows["1%"][4]) > 2 * truth
