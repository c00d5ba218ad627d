"""Designs for effects that change over time or spill between units: the cohort
view, the design effect simulated, budget-split ad experiments and bandits, each
checked against a direct computation or a formula derived here."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, typographic_minus
from scipy import stats

from snippets.concepts import bandits
from snippets.concepts import experimentation_designs as ed
from snippets.concepts.experimentation import sample_size_per_arm
from snippets.concepts.experimentation_advanced import design_effect, rejection_rate

PAGE = "concepts/experimentation-beyond-ab.md"
MODULE = "snippets.concepts.experimentation_designs"


@pytest.fixture(scope="module")
def out() -> str:
    return module_output(MODULE)


minus = typographic_minus  # the page writes a true minus sign


# Novelty -------------------------------------------------------------------------


def test_cohort_effect_matches_a_direct_loop():
    rng = np.random.default_rng(4)
    users, days = 300, 6
    visited = rng.random((users, days)) < 0.5
    visited[:, 0] |= rng.random(users) < 0.3
    treated = rng.random(users) < 0.5
    outcome = np.where(visited, rng.normal(0, 1, (users, days)) + treated[:, None], 0)
    first = np.where(visited.any(1), visited.argmax(1), days)
    ours = ed.cohort_effect_by_day(outcome, visited, treated, first, cohort_day=1)
    for offset, day in enumerate(range(1, days)):
        t = [outcome[u, day] for u in range(users) if first[u] == 1 and visited[u, day]]
        in_arm = [treated[u] for u in range(users) if first[u] == 1 and visited[u, day]]
        t, in_arm = np.array(t), np.array(in_arm)
        assert ours[offset] == pytest.approx(t[in_arm].mean() - t[~in_arm].mean())


def change(view: np.ndarray, early: slice) -> float:
    return float(view[-3:].mean() - view[early].mean())


def test_composition_fakes_trends_that_the_fixed_cohort_does_not_show():
    decay = np.exp(-np.arange(14) / 3)
    built_in = decay[-3:].mean() - decay[1:4].mean()
    for seed in (10, 11, 12):
        mixed = ed.novelty_views(20_000, 14, seed, (1.0, 0.2, 0.0))
        assert change(mixed["cumulative"], slice(0, 3)) < -0.1  # looks like novelty
        assert change(mixed["pooled"], slice(1, 4)) > 0.1  # looks like primacy
        assert abs(change(mixed["cohort"], slice(1, 4))) < 0.08
        equal = ed.novelty_views(20_000, 14, seed, (0.6, 0.6, 0.0))  # the ablation
        for key, early in (("cumulative", slice(0, 3)), ("pooled", slice(1, 4))):
            assert abs(change(equal[key], early)) < 0.08
        fading = ed.novelty_views(20_000, 14, seed, (1.0, 0.2, 1.0))
        assert change(fading["cohort"], slice(1, 4)) == pytest.approx(
            built_in, abs=0.08
        )


# Clusters ------------------------------------------------------------------------


def test_simulated_cluster_variance_brackets_the_formula():
    hits = 0
    for seed in range(4):
        for size in (10, 50):
            ratio, low, high = ed.cluster_randomised_variance(
                800, 2_000, size, 0.05, seed
            )
            assert low < ratio < high
            hits += low <= design_effect(size, 0.05) <= high
    assert hits >= 7  # a 95% interval misses now and then, not often


# Ad budgets ----------------------------------------------------------------------


def test_spend_matches_a_loop_over_impressions():
    rng = np.random.default_rng(5)
    charges = rng.exponential(1.0, (7, 40))
    budgets = rng.uniform(5, 50, 7)
    ours = ed.spend(charges, budgets)
    for row in range(7):
        left = budgets[row]
        for col in range(40):
            paid = min(left, charges[row, col])
            assert ours[row, col] == pytest.approx(paid)
            left -= paid


def test_user_split_overstates_a_lift_only_when_budgets_bind():
    for seed in (20, 21, 22):
        bind = ed.budget_designs(*ed.ad_market(200, 1_000, seed, True), 0.10)
        free = ed.budget_designs(*ed.ad_market(200, 1_000, seed, False), 0.10)
        assert bind["truth"] < 0.08  # capped advertisers cannot spend 10% more
        assert bind["user_split"] - bind["truth"] > 0.025
        assert abs(bind["budget_split"] - bind["truth"]) < 0.012
        assert free["truth"] == pytest.approx(0.10)
        assert free["user_split"] == pytest.approx(free["budget_split"])
        assert abs(free["user_split"] - 0.10) < 0.015
    # With equal charges and no binding budget, both splits are exact.
    charges = np.ones((3, 10))
    treated = np.tile(np.arange(10) < 5, (3, 1))
    exact = ed.budget_designs(charges, np.full(3, 100.0), treated, 0.2)
    assert exact == pytest.approx(
        {"truth": 0.2, "user_split": 0.2, "budget_split": 0.2}
    )


# Bandits -------------------------------------------------------------------------


def test_impressions_per_arm_rebuild_the_regret_exactly():
    run = bandits.simulate("thompson", 3, 500, 40, (2.0, 38.0), seed=6)
    shows = ed.impressions_per_arm(run)
    assert (shows.sum(axis=1) == 500).all()
    best = run.true_ctr.max(axis=1, keepdims=True)
    rebuilt = (shows * (best - run.true_ctr)).sum(axis=1)
    np.testing.assert_allclose(rebuilt, run.regret[:, -1], atol=1e-9)


def test_a_bandit_earns_more_and_learns_less():
    duel = ed.bandit_vs_ab(2_000, 100, (20.0, 380.0), seed=8)
    ab, ts = duel["A/B test"], duel["Thompson"]
    np.testing.assert_array_equal(ab["gap"], ts["gap"])  # the same items
    assert ab["worse_share"].mean() == pytest.approx(0.5, abs=0.01)
    assert ts["worse_share"].mean() < 0.45
    assert (ts["regret"] - ab["regret"]).mean() < 0
    assert np.median(ts["standard_error"]) > np.median(ab["standard_error"])
    for arm in (ab, ts):  # one tail of the two-sided z-test; add the other back
        critical = stats.norm.ppf(0.975)
        other_tail = stats.norm.cdf(-critical - arm["gap"] / arm["standard_error"])
        both = [
            rejection_rate(g, e)
            for g, e in zip(arm["gap"], arm["standard_error"], strict=True)
        ]
        np.testing.assert_allclose(arm["power"] + other_tail, both, atol=1e-6)
    assert ts["power"].mean() < ab["power"].mean()


# Bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ed.novelty_views(100, 5, 0, (1, 1, 0), 0), ValueError, "decay"),
        (lambda: ed.novelty_views(1, 5, 0, (1, 1, 0)), ValueError, "n_users"),
        (
            lambda: ed.cohort_effect_by_day(
                np.ones((3, 4)), np.ones((3, 5), bool), np.ones(3, bool), np.zeros(3)
            ),
            ValueError,
            "users, days",
        ),
        (
            lambda: ed.cluster_randomised_variance(10, 100, 30, 0.1, 0),
            ValueError,
            "even number",
        ),
        (
            lambda: ed.cluster_randomised_variance(10, 100, 5, 1.0, 0),
            ValueError,
            "icc",
        ),
        (
            lambda: ed.budget_designs(
                np.ones((2, 4)), np.ones(3), np.ones((2, 4), bool), 0.1
            ),
            ValueError,
            "advertisers",
        ),
        (lambda: ed.ad_market(1, 10, 0), ValueError, "n_advertisers"),
        (lambda: ed.ad_market(10, 10.5, 0), TypeError, "integer"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# The page ------------------------------------------------------------------------


def test_page_quotes_the_novelty_numbers(out):
    labels = ("to date, by calendar day", "by days since exposure", "cohort exposed")
    rows = [
        re.findall(r"([+-]?[\d.]+ to [+-]?[\d.]+)", line)
        for line in out.splitlines()
        if line.startswith(labels)
    ]
    cumulative, pooled, cohort = rows
    built_in = re.search(r"^built in, every user .* (\S+)$", out, re.M)[1]

    def bounds(cell: str) -> tuple[float, float]:
        low, high = cell.split(" to ")
        return float(low), float(high)

    assert bounds(cumulative[0])[1] < -0.1 and bounds(pooled[0])[0] > 0.1
    assert bounds(cohort[0])[0] < 0 < bounds(cohort[0])[1]  # flat: 0 is inside
    low, high = bounds(cohort[2])
    assert low - 0.05 < float(built_in) < high + 0.05
    widest = max(abs(x) for row in rows for x in bounds(row[1]))  # the ablation
    assert widest < 0.08
    assert_page_quotes(PAGE, *(minus(c) for c in (cumulative[0], pooled[0], cohort[0])))
    assert_page_quotes(PAGE, minus(cohort[2]), f"fades by {built_in.lstrip('-')}")
    assert_page_quotes(PAGE, minus(f"-{widest:.2f} to +{widest:.2f} at most"))


def test_page_quotes_the_cluster_numbers(out):
    rows = {
        int(size): values
        for size, *values in re.findall(
            r"^ +(\d+) +([\d.]+) +([\d.]+) \[([\d.]+), ([\d.]+)\]$", out, re.M
        )
    }
    for size, (formula, ratio, low, high) in rows.items():
        assert float(formula) == pytest.approx(design_effect(size, 0.05))
        assert float(low) < float(ratio) < float(high)
        if size > 1:
            assert float(low) <= float(formula) <= float(high)
            assert_page_quotes(PAGE, f"{ratio} [{low}, {high}]", formula)
    sizes = re.search(r"([\d,]+) users per arm one by one,\n([\d,]+) in clusters", out)
    single, clustered = (int(g.replace(",", "")) for g in sizes.groups())
    assert single == sample_size_per_arm(0.10, 0.05, alpha=0.05, power=0.8)
    assert clustered == math.ceil(single * design_effect(50, 0.05))
    assert_page_quotes(
        PAGE, f"needs {sizes[1]} users per arm", f"{sizes[2]} in clusters"
    )
    assert_page_quotes(PAGE, f"that is {rows[50][0]}")


def test_page_quotes_the_budget_numbers(out):
    truth = re.search(r"^true revenue lift +(\S+ to \S+) ", out, re.M)[1]
    errors = {
        design: re.search(
            rf"^{design} split, error +(\S+ to \S+) pp +(\S+ to \S+) pp$", out, re.M
        ).groups()
        for design in ("user", "budget")
    }
    assert errors["user"][1] == errors["budget"][1]  # budgets never bind: the same
    assert float(errors["user"][0].split(" to ")[0]) > 2  # points, on every seed
    assert_page_quotes(PAGE, f"true lift is {truth}", errors["user"][0])
    assert_page_quotes(PAGE, minus(errors["budget"][0]), minus(errors["budget"][1]))


def test_page_quotes_the_bandit_numbers(out):
    def row(label: str) -> tuple[str, str]:
        return re.search(rf"^{label} +(.+?)  +(.+)$", out, re.M).groups()

    lost = [cell.split(" +/- ") for cell in row("clicks lost")]
    (ab_lost, ab_ci), (ts_lost, ts_ci) = lost
    worse = [cell.split(" +/- ")[0] for cell in row("worse arm, mean")]
    median_worse = row("worse arm, median")
    median_se, mean_se = row("SE of the gap, median"), row("SE of the gap, mean")
    power = [cell.split(" +/- ")[0] for cell in row("power of a z-test")]
    change, change_ci = re.search(
        r"paired by run: (\S+) \+/- (\S+)$", out, re.M
    ).groups()
    assert float(ts_lost) + float(ts_ci) < float(ab_lost) - float(ab_ci)  # CIs apart
    assert float(median_se[1]) > float(median_se[0])
    assert float(change) + float(change_ci) < 0  # the bandit loses power, paired
    assert_page_quotes(PAGE, f"{ts_lost} ± {ts_ci} clicks", f"{ab_lost} ± {ab_ci}")
    assert_page_quotes(PAGE, f"on average only {worse[1]} of traffic")
    assert_page_quotes(PAGE, f"(median {median_worse[1]})")
    assert_page_quotes(PAGE, f"median {median_se[1]} against {median_se[0]}")
    assert_page_quotes(PAGE, f"mean {mean_se[1]} against {mean_se[0]}")
    assert_page_quotes(PAGE, f"from {power[0]} to {power[1]}")
    assert_page_quotes(PAGE, f"by {change.lstrip('-')} ± {change_ci} paired by run")


def test_page_claim_about_bandit_horizons_holds():
    # The page: over 5,000 impressions Thompson sampling loses fewer clicks than
    # greedy or epsilon-greedy; over the first 500, greedy loses fewer.
    shown = module_output("snippets.concepts.bandits")
    for pair, horizon in (
        ("thompson - greedy", "500"),
        ("greedy - thompson", "5k"),
        ("epsilon-greedy - thompson", "5k"),
    ):
        mean, half = re.search(
            rf"{pair}, regret@{horizon} +([+-][\d.]+) \+/- +([\d.]+)", shown
        ).groups()
        assert float(mean) - float(half) > 0
    assert_page_quotes(PAGE, "5,000 impressions, Thompson sampling loses fewer clicks")
    assert_page_quotes(PAGE, "over the first 500 greedy loses fewer")
