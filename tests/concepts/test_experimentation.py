"""Experiment design tools agree with statsmodels and SciPy, and do what they claim."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import proportion_effectsize

from snippets.concepts import experimentation as ex

PAGE = "concepts/experimentation.md"
CASES = [(0.02, 0.05), (0.1, 0.01), (0.3, -0.1), (0.05, 0.2)]


@pytest.mark.parametrize(("baseline", "mde"), CASES)
@pytest.mark.parametrize(("alpha", "power"), [(0.05, 0.8), (0.01, 0.9)])
def test_sample_size_matches_statsmodels(baseline, mde, alpha, power):
    ours = ex.sample_size_per_arm(baseline, mde, alpha, power)
    treatment = baseline * (1 + mde)
    p_bar = (baseline + treatment) / 2
    # Like with like: the standardised difference with the pooled variance p(1-p).
    effect = (treatment - baseline) / math.sqrt(p_bar * (1 - p_bar))
    reference = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0
    )
    # statsmodels also counts the (tiny) rejection mass of the far tail.
    assert ours == pytest.approx(reference, rel=1e-3, abs=1)
    assert ours == pytest.approx(
        zt_ind_solve_power(effect_size=effect, alpha=alpha, power=power),
        rel=1e-3,
        abs=1,
    )
    # Cohen's h (arcsine transform) is a different approximation; close, not equal.
    cohen = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(treatment, baseline), alpha=alpha, power=power
    )
    assert ours == pytest.approx(cohen, rel=0.03)


@pytest.mark.parametrize(("baseline", "mde"), [(0.1, 0.05), (0.3, 0.03)])
def test_the_sample_size_delivers_the_promised_power(baseline, mde):
    n = ex.sample_size_per_arm(baseline, mde)
    rng = np.random.default_rng(0)
    trials = 4_000
    control = rng.binomial(n, baseline, trials) / n
    treatment = rng.binomial(n, baseline * (1 + mde), trials) / n
    pooled = (control + treatment) / 2
    z = (treatment - control) / np.sqrt(2 * pooled * (1 - pooled) / n)
    achieved = np.mean(np.abs(z) > stats.norm.ppf(0.975))
    assert achieved == pytest.approx(0.8, abs=0.025)  # MC error is about 0.006


def test_smaller_effects_need_quadratically_more_users():
    big = ex.sample_size_per_arm(0.1, 0.10)
    small = ex.sample_size_per_arm(0.1, 0.05)
    assert 3.7 < small / big < 4.3  # halve the effect, about 4x the users


def test_kohavis_rule_of_thumb_is_this_formula():
    # n per arm ~ 16 sigma^2 / delta^2 at alpha 0.05 and power 0.8.
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert round(2 * z**2) == 16
    assert_page_quotes(PAGE, "16 σ² / Δ²")


def test_duration_is_whole_weeks_and_grows_with_the_sample():
    assert ex.duration_days(10, 2, 1_000, 1.0) == 7  # even one day rounds to a week
    assert ex.duration_days(4_000, 2, 1_000, 1.0) == 14  # 8 days -> 2 weeks
    days = [ex.duration_days(n, 2, 10_000, 0.5) for n in (10_000, 100_000, 1_000_000)]
    assert days == sorted(days) and all(d % 7 == 0 for d in days)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=5).filter(lambda c: sum(c)),
    st.data(),
)
def test_srm_matches_scipy_chisquare(counts, data):
    weights = data.draw(
        st.lists(st.integers(1, 9), min_size=len(counts), max_size=len(counts))
    )
    shares = np.array(weights) / sum(weights)
    statistic, p_value = ex.srm_test(counts, shares)
    reference = stats.chisquare(counts, f_exp=shares * sum(counts))
    assert statistic == pytest.approx(reference.statistic)
    assert p_value == pytest.approx(reference.pvalue, abs=1e-12)


def test_srm_flags_a_small_imbalance_at_scale_but_not_noise():
    _, p_imbalanced = ex.srm_test([100_000, 98_500], [0.5, 0.5])
    _, p_balanced = ex.srm_test([100_000, 99_800], [0.5, 0.5])
    assert p_imbalanced < 0.001 < p_balanced
    # The self-check: 50.4 / 49.6 on a million users.
    assert ex.srm_test([504_000, 496_000], [0.5, 0.5])[1] < 0.001


def test_cuped_theta_is_the_regression_slope_and_cuts_variance():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 5.0, 5_000)
    y = 0.6 * x + rng.normal(0, 4.0, x.size)
    adjusted, theta = ex.cuped_adjust(y, x)
    assert theta == pytest.approx(stats.linregress(x, y).slope)
    rho = np.corrcoef(x, y)[0, 1]
    # In sample this is an identity; its value is what the experiment gains.
    assert adjusted.var() / y.var() == pytest.approx(1 - rho**2)
    assert adjusted.mean() == pytest.approx(y.mean())  # the level is unchanged


def test_cuped_keeps_the_estimate_unbiased_and_shrinks_its_spread():
    rng = np.random.default_rng(5)
    plain, cuped = [], []
    for _ in range(300):
        pre = rng.gamma(2.0, 5.0, 2_000)
        treated = rng.random(pre.size) < 0.5
        post = 0.8 * pre + rng.normal(0, 5.0, pre.size) + 0.5 * treated
        adjusted, _ = ex.cuped_adjust(post, pre)
        plain.append(post[treated].mean() - post[~treated].mean())
        cuped.append(adjusted[treated].mean() - adjusted[~treated].mean())
    assert np.mean(cuped) == pytest.approx(0.5, abs=0.03)
    rho = 0.8 * math.sqrt(2 * 25) / math.sqrt(0.64 * 2 * 25 + 25)  # from the model
    assert np.std(cuped) / np.std(plain) == pytest.approx(
        math.sqrt(1 - rho**2), abs=0.08
    )


def test_peeking_inflates_false_positives_and_a_correction_fixes_it():
    fixed, peeking = ex.peeking_false_positive_rate(3_000, 10, 200, 0.05, seed=9)
    _, corrected = ex.peeking_false_positive_rate(3_000, 10, 200, 0.005, seed=9)
    assert fixed == pytest.approx(0.05, abs=0.015)
    assert peeking > 2.5 * fixed
    assert corrected <= 0.05


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=12, unique=True),
    st.lists(st.integers(0, 20), min_size=1, max_size=12, unique=True),
    st.integers(1, 12),
    st.integers(0, 2**32 - 1),
)
def test_team_draft_interleaving_properties(ranking_a, ranking_b, k, seed):
    # The two rankings may hold different items (Radlinski et al., 2008).
    merged, teams = ex.team_draft_interleave(
        ranking_a, ranking_b, k, np.random.default_rng(seed)
    )
    assert len(merged) == len(set(merged)) == len(teams) <= k
    assert abs(teams.count("A") - teams.count("B")) <= 1
    for position, (item, team) in enumerate(zip(merged, teams, strict=True)):
        ranking = ranking_a if team == "A" else ranking_b
        # Each pick is the team's best item not already shown.
        already = set(merged[:position])
        assert item == next(i for i in ranking if i not in already)
    # It stops only at k items or when one ranking has nothing new to offer.
    exhausted = set(ranking_a) <= set(merged) or set(ranking_b) <= set(merged)
    assert len(merged) == k or exhausted


def test_interleaving_rankings_with_different_items():
    merged, teams = ex.team_draft_interleave(
        [1, 2, 3, 4], [9, 8, 1, 7], 4, np.random.default_rng(0)
    )
    assert {9, 1} <= set(merged)  # each ranker's top item gets in
    assert any(item not in {1, 2, 3, 4} for item in merged)
    assert sorted(teams) == ["A", "A", "B", "B"]


def test_identical_rankers_interleave_to_the_same_list():
    rng = np.random.default_rng(3)
    merged, _ = ex.team_draft_interleave([4, 2, 0, 1, 3], [4, 2, 0, 1, 3], 5, rng)
    assert merged == [4, 2, 0, 1, 3]


def test_the_batch_draft_is_the_single_session_draft():
    rng = np.random.default_rng(11)
    for seed in range(200):
        a, b = rng.permutation(15), rng.permutation(15)
        k = int(rng.integers(1, 16))
        one, teams = ex.team_draft_interleave(a, b, k, np.random.default_rng(seed))
        batch, is_b = ex.team_draft_batch(
            a[None], b[None], k, np.random.default_rng(seed)
        )
        assert batch[0].tolist() == [int(i) for i in one]
        assert is_b[0].tolist() == [t == "B" for t in teams]
    # Many sessions at once: every row is a valid draft of its own rankings.
    a = np.argsort(rng.random((300, 12)), axis=1)
    b = np.argsort(rng.random((300, 12)), axis=1)
    merged, is_b = ex.team_draft_batch(a, b, 8, rng)
    for row in range(300):
        assert len(set(merged[row])) == 8
        assert abs(int(is_b[row].sum()) - 4) <= 1
        for slot in range(8):
            ranking = b[row] if is_b[row, slot] else a[row]
            already = set(merged[row, :slot].tolist())
            assert merged[row, slot] == next(i for i in ranking if i not in already)


def test_preference_probabilities_match_enumerating_every_click_pattern():
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 0.9, (6, 6))
    team_is_b = rng.random((6, 6)) < 0.5
    b_wins, a_wins = ex.preference_probabilities(p, team_is_b)
    for s in range(6):
        expected_b = expected_a = 0.0
        for pattern in itertools.product([0, 1], repeat=6):
            clicked = np.array(pattern, dtype=bool)
            chance = np.prod(np.where(clicked, p[s], 1 - p[s]))
            margin = (clicked & team_is_b[s]).sum() - (clicked & ~team_is_b[s]).sum()
            expected_b += chance * (margin > 0)
            expected_a += chance * (margin < 0)
        assert b_wins[s] == pytest.approx(expected_b, abs=1e-12)
        assert a_wins[s] == pytest.approx(expected_a, abs=1e-12)


def test_interleaving_needs_fewer_sessions_and_heterogeneity_is_why():
    for seed in (21, 22):
        sim = ex.interleaving_vs_ab(8_000, seed=seed)
        flat = ex.interleaving_vs_ab(8_000, seed=seed, heterogeneous=False)
        assert sim["clicks_b"] > sim["clicks_a"]
        assert sim["b_win_share"] > 0.5
        fewer = sim["ab_sessions"] / sim["interleaving_sessions"]
        assert fewer > 2
        # The ablation: without user and query differences the advantage shrinks.
        assert flat["ab_sessions"] / flat["interleaving_sessions"] < fewer


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ex.sample_size_per_arm(0, 0.1), "baseline_rate"),
        (lambda: ex.sample_size_per_arm(0.1, 0), "non-zero"),
        (lambda: ex.sample_size_per_arm(0.6, 1.0), "non-zero"),
        (lambda: ex.sample_size_per_arm(0.1, 0.1, alpha=1.5), "alpha"),
        (lambda: ex.sample_size_per_arm(0.1, 0.1, power=1), "power"),
        (lambda: ex.duration_days(0, 2, 100, 0.5), "at least 1"),
        (lambda: ex.duration_days(10, 2, 100, 0), "traffic_share"),
        (lambda: ex.srm_test([10], [1.0]), "2\\+ arms"),
        (lambda: ex.srm_test([10, 10], [0.5]), "one count"),
        (lambda: ex.srm_test([10, -1], [0.5, 0.5]), "non-negative"),
        (lambda: ex.srm_test([10, 10], [0.6, 0.6]), "sum to 1"),
        (lambda: ex.cuped_adjust([1, 2], [1, 2, 3]), "same length"),
        (lambda: ex.cuped_adjust([1, 2], [3, 3]), "constant"),
        (lambda: ex.cuped_adjust([1, np.nan], [1, 2]), "finite"),
        (lambda: ex.peeking_false_positive_rate(0, 5, 5, 0.05, 0), ">= 1"),
        (lambda: ex.peeking_false_positive_rate(10, 5, 5, 0, 0), "alpha"),
        (
            lambda: ex.team_draft_interleave(
                [1, 2, 1], [1, 3], 2, np.random.default_rng()
            ),
            "more than once",
        ),
        (
            lambda: ex.team_draft_batch(
                np.array([[0, 1]]), np.array([[0, 2]]), 2, np.random.default_rng()
            ),
            "same items",
        ),
        (
            lambda: ex.team_draft_batch(
                np.array([[0, 1]]), np.array([[1, 0]]), 3, np.random.default_rng()
            ),
            "k must be in",
        ),
        (
            lambda: ex.team_draft_interleave(
                [1, 2], [2, 1], 0, np.random.default_rng()
            ),
            "at least 1",
        ),
        (lambda: ex.interleaving_vs_ab(10, 0), "at least 100"),
    ],
)
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.experimentation")
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+%\s", line)]
    for baseline, mde, n, days in rows:
        expected = ex.sample_size_per_arm(
            float(baseline[:-1]) / 100, float(mde[:-1]) / 100
        )
        assert n == f"{expected:,}"
        assert int(days) % 7 == 0
    assert_page_quotes(PAGE, rows[0][2], f"{rows[0][3]} days", rows[3][2])
    assert_page_quotes(PAGE, rows[2][2], f"{rows[2][3]} days")
    # The 10%/5% sample fills in about a day; the whole-week rule sets the duration.
    fill = re.search(r"([\d,]+) users enrolled in ([\d.]+) days; run (\d+)", out)
    users, enrolled_days, run_days = int(fill[1].replace(",", "")), fill[2], fill[3]
    assert users == 2 * int(rows[3][2].replace(",", ""))
    assert float(enrolled_days) == pytest.approx(users / (200_000 * 0.5), abs=0.05)
    assert int(run_days) == 7 * math.ceil(math.ceil(float(enrolled_days)) / 7)
    assert_page_quotes(PAGE, f"{users:,}", f"{enrolled_days} days", "whole week")
    srm = re.search(r"chi2 ([\d.]+),\np = ([\d.]+)", out)
    assert float(srm[2]) < 0.001
    assert_page_quotes(PAGE, srm[1], srm[2])
    million = re.search(r"\(50.4/49.6\): chi2 ([\d.]+), p = (\S+)", out)
    assert float(million[2]) < 1e-6  # a real SRM at scale: far below any threshold
    assert_page_quotes(PAGE, f"chi2 {million[1]} and p = {million[2]}")
    cuped = re.search(r"rho ([\d.]+), theta ([\d.]+)", out)
    ratio = re.search(r"variance ratio ([\d.]+) .* as precise as ([\d.]+)x", out)
    ci = re.findall(r"([\d.]+) \+/- ([\d.]+)", out)
    assert float(ci[1][1]) < float(ci[0][1])  # CUPED's interval is narrower
    assert_page_quotes(PAGE, cuped[1], ratio[1], ratio[2], ci[0][1], ci[1][1])
    looks = re.findall(r"(?:only|look)\s+([\d.]+) \+/- ([\d.]+)$", out, re.M)
    simulations = int(
        re.search(r"A/A tests \(([\d,]+) simulated\)", out)[1].replace(",", "")
    )
    for rate, error in looks:  # the binomial 95% Monte Carlo error of each rate
        expected = stats.norm.ppf(0.975) * math.sqrt(
            float(rate) * (1 - float(rate)) / simulations
        )
        assert float(error) == pytest.approx(expected, abs=0.0006)
    assert round(float(looks[1][0]) / float(looks[0][0])) == 5
    # The end-only rate is alpha within its Monte Carlo error.
    assert abs(float(looks[0][0]) - 0.05) <= float(looks[0][1])
    assert_page_quotes(
        PAGE, "five times the promised rate", f"{simulations:,} simulated"
    )
    assert_page_quotes(PAGE, *(f"{rate} ± {error}" for rate, error in looks))
    sim = re.search(r"A/B ([\d,]+)-([\d,]+), interleaving ([\d,]+)-([\d,]+)", out)
    fewer = re.search(r"needs ([\d.]+)-([\d.]+)x fewer", out)
    ablation = re.search(r"\(ablation\): ([\d.]+)-([\d.]+)x fewer", out)
    win = re.search(r"B wins ([\d.]+)%-([\d.]+)%", out)
    assert float(fewer[1]) > 2  # fewer sessions on every seed ...
    assert float(ablation[2]) < float(fewer[1])  # ... and the ablation shrinks it
    assert_page_quotes(PAGE, *sim.groups(), *win.groups())
    assert_page_quotes(PAGE, f"{fewer[1]}–{fewer[2]}x", f"{ablation[1]}–{ablation[2]}x")


def test_interleaving_rejects_what_is_not_a_ranking():
    with pytest.raises(TypeError, match="sequence of item ids"):
        ex.team_draft_interleave("abc", [1, 2], 2, np.random.default_rng())
    with pytest.raises(TypeError, match="k must be an integer"):
        ex.team_draft_interleave([1, 2], [2, 1], 2.0, np.random.default_rng())
