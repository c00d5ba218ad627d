"""Reading experiments beyond the A/B test: each tool agrees with SciPy, statsmodels
or a formula derived here, and each simulation shows the mechanism it claims."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, typographic_minus
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from snippets.concepts import experimentation_advanced as ea

PAGE = "concepts/experimentation-beyond-ab.md"
MODULE = "snippets.concepts.experimentation_advanced"


@pytest.fixture(scope="module")
def out() -> str:
    return module_output(MODULE)


minus = typographic_minus  # the page writes a true minus sign


# Proxies -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 60), st.integers(0, 2**32 - 1))
def test_effect_correlation_matches_scipy_pearson_and_fisher_interval(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=n)
    r, low, high = ea.effect_correlation(x, y)
    reference = stats.pearsonr(x, y)
    interval = reference.confidence_interval(0.95)
    assert r == pytest.approx(reference.statistic)
    assert (low, high) == pytest.approx((interval.low, interval.high), abs=1e-9)


def expected_effect_correlation(proxy: str, users_per_arm: int) -> float:
    """The model's own numbers: value and clickbait of sd 0.05; each metric is
    engagement (variance 1) plus own noise (variance 1), so an effect estimate has
    sampling variance 4/n and two metrics' estimates share half of it."""
    signal, noise = 0.05**2, 4 / users_per_arm
    shared_noise = noise / 2  # the engagement term is common to all metrics
    weights = {"clicks": (1, 2), "active_days": (1, 0), "long_term": (1, -0.5)}
    (v1, c1), (v2, c2) = weights[proxy], weights["long_term"]
    covariance = signal * (v1 * v2 + c1 * c2) + shared_noise
    variances = [signal * (v**2 + c**2) + noise for v, c in ((v1, c1), (v2, c2))]
    return covariance / math.sqrt(variances[0] * variances[1])


def test_level_correlation_is_the_same_but_only_one_proxy_tracks_effects():
    runs = [ea.past_experiments(40, 10_000, seed) for seed in range(8)]
    for run in runs:
        assert run["level_clicks"] == pytest.approx(0.5, abs=0.03)
        assert run["level_active_days"] == pytest.approx(0.5, abs=0.03)
    active = [np.corrcoef(r["active_days"], r["long_term"])[0, 1] for r in runs]
    clicks = [np.corrcoef(r["clicks"], r["long_term"])[0, 1] for r in runs]
    assert expected_effect_correlation("clicks", 10_000) < 0.05  # true cov is 0
    for proxy, found in (("active_days", active), ("clicks", clicks)):
        expected = expected_effect_correlation(proxy, 10_000)
        assert np.mean(found) == pytest.approx(expected, abs=0.1)
    assert all(a > c for a, c in zip(active, clicks, strict=True))


def test_small_tests_pull_a_useless_proxy_towards_the_user_level_correlation():
    # Noise shared through engagement: with 100 users per arm, clicks' effects
    # correlate about 0.4 with the long-term effects although their true
    # covariance is 0; with 10,000 per arm, about 0.
    small = [ea.past_experiments(40, 100, seed) for seed in range(10)]
    clicks = [np.corrcoef(r["clicks"], r["long_term"])[0, 1] for r in small]
    expected = expected_effect_correlation("clicks", 100)
    assert expected > 0.35
    assert np.mean(clicks) == pytest.approx(expected, abs=0.12)


# A/A tests, balance and carry-over ----------------------------------------------


def test_aa_check_counts_and_runs_the_ks_test_against_the_uniform():
    rng = np.random.default_rng(0)
    p = rng.random(2_000)
    share, ks_p = ea.aa_check(p)
    assert share == pytest.approx(np.mean(p < 0.05))
    # An independent KS statistic: the largest gap between the two CDFs.
    ordered = np.sort(p)
    ranks = np.arange(1, p.size + 1)
    gap = max(np.max(ranks / p.size - ordered), np.max(ordered - (ranks - 1) / p.size))
    assert ks_p == pytest.approx(stats.kstwo.sf(gap, p.size), rel=1e-6)
    # p-values piled towards 0 fail the check.
    assert ea.aa_check(rng.beta(0.6, 1.0, 2_000))[1] < 1e-6


def test_aa_per_user_is_uniform_and_per_view_matches_the_design_effect():
    predicted = ea.false_positive_rate_ignoring_clusters(10, 0.1)
    ks, per_view_rates = [], []
    for seed in range(4):
        per_user, per_view = ea.aa_p_values(1_000, 100, 10, 0.1, seed)
        share, ks_p = ea.aa_check(per_user)
        ks.append(ks_p)
        assert share == pytest.approx(0.05, abs=3 * math.sqrt(0.05 * 0.95 / 1_000))
        per_view_rates.append(np.mean(per_view < 0.05))
        assert ea.aa_check(per_view)[1] < 1e-10
    assert sum(k < 0.01 for k in ks) <= 1  # uniform p-values rarely fail KS
    error = 3 * math.sqrt(predicted * (1 - predicted) / 4_000)
    assert np.mean(per_view_rates) == pytest.approx(predicted, abs=error)


def test_false_positive_rate_formula():
    assert ea.false_positive_rate_ignoring_clusters(1, 0.3) == pytest.approx(0.05)
    # DEFF 1.9: the naive z is sqrt(1.9) times too large.
    expected = 2 * stats.norm.sf(stats.norm.ppf(0.975) / math.sqrt(1.9))
    assert ea.false_positive_rate_ignoring_clusters(10, 0.1) == pytest.approx(expected)


@pytest.mark.parametrize("effect_size", [0.0, 0.05, 0.1, 0.3])
@pytest.mark.parametrize("n", [200, 1_000])
def test_rejection_rate_matches_statsmodels_power(effect_size, n):
    # A difference in means of two arms of n, unit variance: standard error sqrt(2/n).
    ours = ea.rejection_rate(effect_size, math.sqrt(2 / n))
    reference = NormalIndPower().power(effect_size, nobs1=n, alpha=0.05, ratio=1.0)
    assert ours == pytest.approx(reference, rel=1e-9)


def test_welch_p_values_match_scipy_per_row():
    rng = np.random.default_rng(2)
    values = rng.normal(0, 1, (5, 3_000)) + rng.normal(0, 0.05, (5, 1))
    treated = rng.random((5, 3_000)) < 0.4
    values[treated] += 0.06
    ours = ea.welch_p_values(values, treated)
    for row in range(5):
        ref = stats.ttest_ind(
            values[row, treated[row]], values[row, ~treated[row]], equal_var=False
        )
        assert ours[row] == pytest.approx(ref.pvalue, abs=2e-3)  # z vs t at n ~ 1,000s


def test_carryover_a_reused_split_fakes_an_effect_and_a_fresh_one_does_not():
    reused = ea.carryover(1_000, 2_000, 0.1, seed=7, reuse_split=True)
    fresh = ea.carryover(1_000, 2_000, 0.1, seed=7, reuse_split=False)
    mc = 3 * math.sqrt(0.05 * 0.95 / 1_000)
    for rate in fresh.values():
        assert rate == pytest.approx(0.05, abs=mc)

    # Expected rejection rates (z-test, 1,000 per arm, variance 2 per user),
    # computed here with SciPy: the inherited gap of 0.1, and after CUPED the
    # gap 0.1 * (1 - theta) with residual variance 2 * (1 - rho^2), theta = rho = 0.5.
    def expected(gap: float, variance: float) -> float:
        shift = gap / math.sqrt(2 * variance / 1_000)
        return stats.norm.sf(1.96 - shift) + stats.norm.cdf(-1.96 - shift)

    for key, rate in (
        ("pre_period_flagged", expected(0.1, 2)),
        ("significant", expected(0.1, 2)),
        ("significant_cuped", expected(0.05, 1.5)),
    ):
        assert reused[key] == pytest.approx(rate, abs=3 * math.sqrt(rate / 1_000))
    assert reused["significant_cuped"] < reused["significant"] - 0.1


# Many metrics --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
@example([0.0, 0.0, 1.0, 1.0, 1.0, 0.025])  # an adjusted value of alpha, rounded up
def test_bh_matches_statsmodels(p_values):
    adjusted = ea.bh_adjusted_p_values(p_values)
    reject, reference, *_ = multipletests(p_values, alpha=0.05, method="fdr_bh")
    np.testing.assert_allclose(adjusted, reference, atol=1e-12)
    # The same decisions, except where the adjusted value is alpha up to rounding:
    # 0.025 * 6 / 3 is 0.05000000000000001 while statsmodels compares 0.025 <= 0.025.
    clear = ~np.isclose(adjusted, 0.05, rtol=0, atol=1e-12)
    assert np.array_equal((adjusted <= 0.05)[clear], reject[clear])


def test_bh_treats_each_row_as_a_family():
    rng = np.random.default_rng(3)
    p = rng.random((30, 12)) ** 3
    adjusted = ea.bh_adjusted_p_values(p)
    for row, expected in zip(p, adjusted, strict=True):
        np.testing.assert_allclose(multipletests(row, method="fdr_bh")[1], expected)


def test_bh_controls_the_fdr_where_uncorrected_testing_does_not():
    result = ea.many_metrics(3_000, 50, 5, 3.0, 0.3, seed=11)
    bh, bonferroni, raw = (
        result["Benjamini-Hochberg"],
        result["Bonferroni"],
        result["uncorrected"],
    )
    bound = 0.05 * 45 / 50  # q m0 / m
    assert bh["fdr"] <= bound + 3 * bh["fdr_se"]
    assert raw["fdr"] > 0.2 and raw["any_false"] > 0.5
    assert bonferroni["any_false"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 3_000)
    assert bonferroni["power"] < bh["power"] < raw["power"]
    # Monte Carlo errors: a rate's is the binomial sqrt(p (1 - p) / n), up to ddof.
    for row in result.values():
        p = row["any_false"]
        assert row["any_false_se"] == pytest.approx(math.sqrt(p * (1 - p) / 2_999))
        assert 0 < row["power_se"] < 0.02 and 0 < row["fdr_se"] < 0.02


# Clusters ------------------------------------------------------------------------


@pytest.mark.parametrize(("clusters", "size", "icc"), [(6, 5, 0.2), (4, 1, 0.5)])
def test_design_effect_is_the_exact_variance_of_a_cluster_randomised_estimate(
    clusters, size, icc
):
    # Build the covariance of all users (ICC within a cluster, 0 across) and the
    # weights of treated mean minus control mean for one cluster assignment.
    n = clusters * size
    same_cluster = np.kron(np.eye(clusters), np.ones((size, size)))
    covariance = icc * same_cluster + (1 - icc) * np.eye(n)
    signs = np.repeat(np.where(np.arange(clusters) % 2 == 0, 1.0, -1.0), size)
    weights = signs / (n / 2)
    exact = weights @ covariance @ weights
    assert exact / (4 / n) == pytest.approx(ea.design_effect(size, icc))


# Bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ea.effect_correlation([1, 2, 3], [1, 2, 3]), ValueError, "4\\+"),
        (lambda: ea.effect_correlation([1, 2, 3, 4], [1, 2]), ValueError, "one effect"),
        (lambda: ea.past_experiments(1, 100, 0), ValueError, "at least 2"),
        (lambda: ea.past_experiments(10, 100.0, 0), TypeError, "integer"),
        (lambda: ea.aa_check([0.5] * 5), ValueError, "10\\+"),
        (lambda: ea.aa_check([[0.5] * 20]), ValueError, "1-D"),
        (lambda: ea.aa_check([1.5] * 20), ValueError, "\\[0, 1\\]"),
        (lambda: ea.aa_check([0.5] * 20, alpha=0), ValueError, "alpha"),
        (lambda: ea.aa_p_values(10, 10, 0, 0.1, 0), ValueError, "views_per_user"),
        (lambda: ea.aa_p_values(10, 10, 2, 1.0, 0), ValueError, "icc"),
        (lambda: ea.rejection_rate(0.1, 0.0), ValueError, "standard_error"),
        (lambda: ea.rejection_rate(0.1, 0.1, alpha=1.0), ValueError, "alpha"),
        (
            lambda: ea.welch_p_values(np.ones((2, 4)), np.ones((2, 3), bool)),
            ValueError,
            "same 2-D shape",
        ),
        (
            lambda: ea.welch_p_values(np.ones((1, 4)), np.array([[1, 0, 0, 0]], bool)),
            ValueError,
            "at least 2",
        ),
        (lambda: ea.bh_adjusted_p_values([]), ValueError, "1\\+ p-values"),
        (lambda: ea.bh_adjusted_p_values([0.2, -0.1]), ValueError, "\\[0, 1\\]"),
        (lambda: ea.many_metrics(10, 5, 5, 1.0, 0.0, 0), ValueError, "n_moved"),
        (lambda: ea.many_metrics(10, 5, 1, 1.0, 1.0, 0), ValueError, "correlation"),
        (lambda: ea.design_effect(0, 0.1), ValueError, "cluster_size"),
        (lambda: ea.design_effect(5, 1.5), ValueError, "icc"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# The page ------------------------------------------------------------------------


def test_page_quotes_the_proxy_numbers(out):
    rows = {
        (name, users): cells
        for name, users, *cells in re.findall(
            r"^(clicks|active_days), ([\d,]+) +(\S+ to \S+)? +(\S+ to \S+) +"
            r"(\S+) \[(\S+), (\S+)\]$",
            out,
            re.M,
        )
    }
    clicks, active = rows["clicks", "10,000"], rows["active_days", "10,000"]
    small_clicks, small_active = rows["clicks", "100"], rows["active_days", "100"]
    assert clicks[0] == active[0]  # the same level correlation for both proxies

    def bounds(cell: str) -> tuple[float, float]:
        low, high = cell.split(" to ")
        return float(low), float(high)

    assert bounds(clicks[1])[0] < 0 < bounds(clicks[1])[1]  # zero, give or take noise
    assert float(clicks[3]) < 0 < float(clicks[4])  # one corpus: no evidence
    assert bounds(active[1])[0] > 0.5
    assert bounds(small_clicks[1])[0] > bounds(clicks[1])[1]  # shared noise inflates
    assert_page_quotes(
        PAGE, f"correlate {clicks[0]}", minus(f"[{clicks[3]}, {clicks[4]}]")
    )
    assert_page_quotes(PAGE, minus(f"correlate {clicks[1]}") + " with the long-term")
    assert_page_quotes(PAGE, f"correlate {active[1]}.")
    assert_page_quotes(PAGE, f"correlate {small_clicks[1]}", f"days {small_active[1]}")


def test_page_quotes_the_aa_numbers(out):
    aa = re.findall(r"per (user|view): p < 0.05 in (\S+) \+/- (\S+), .* p = (\S+)", out)
    (_, user, user_error, user_ks), (_, view, view_error, view_ks) = aa
    deff, predicted = re.search(r"design effect (\S+) predicts ([\d.]+)", out).groups()
    assert float(deff) == pytest.approx(ea.design_effect(10, 0.1))
    assert float(user_ks) > 0.01 and float(view_ks) < 1e-10
    assert abs(float(view) - float(predicted)) <= float(view_error)
    assert_page_quotes(PAGE, f"{user} ± {user_error}", f"{view} ± {view_error}")
    assert_page_quotes(PAGE, f"KS p-value of {user_ks}", f"KS p-value of {view_ks}")
    assert_page_quotes(PAGE, f"{predicted} that the design effect predicts")
    assert_page_quotes(PAGE, f"which is {predicted} for 10 views")
    assert_page_quotes(PAGE, f"design effect is {deff}", f"rejects {predicted} of A/A")


def test_page_quotes_the_carry_over_numbers(out):
    cells = r"(\S+) \+/- (\S+) +(\S+) \+/- (\S+) +(\S+) \+/- (\S+)$"
    rows = {
        label: values
        for label, *values in re.findall(
            rf"^(same split|fresh split) +{cells}", out, re.M
        )
    }
    power = re.search(r"^z-test power +(\S+) +(\S+) +(\S+)$", out, re.M).groups()
    same, fresh = rows["same split"], rows["fresh split"]
    # The simulated rates agree with the z-test's power, within their intervals.
    for (rate, error), expected in zip(
        ((same[0], same[1]), (same[2], same[3]), (same[4], same[5])), power, strict=True
    ):
        assert abs(float(rate) - float(expected)) <= float(error)
    assert float(fresh[2]) < float(same[4]) < float(same[2])
    assert_page_quotes(PAGE, f"probability {power[1]}, about one split in three")
    assert_page_quotes(PAGE, f"probability {power[1]} instead of 0.05")
    assert_page_quotes(PAGE, f"lowers that to {power[2]}")
    assert_page_quotes(PAGE, f"z-test's {power[1]} and {power[2]}")
    assert_page_quotes(PAGE, f"flagged {same[0]} ± {same[1]}")
    assert_page_quotes(PAGE, f"significant in {same[2]} ± {same[3]}")
    assert_page_quotes(PAGE, f"with CUPED, in {same[4]} ± {same[5]}")
    fresh_rates = ", ".join(f"{fresh[i]} ± {fresh[i + 1]}" for i in (0, 2))
    assert_page_quotes(PAGE, f"{fresh_rates} and {fresh[4]} ± {fresh[5]}")


def test_page_quotes_the_fdr_numbers(out):
    rows = {
        name: values
        for name, *values in re.findall(
            r"^(uncorrected|Bonferroni|Benjamini-Hochberg) +(\S+) \+/- (\S+)"
            r" +(\S+) \+/- \S+ +(\S+) \+/- \S+$",
            out,
            re.M,
        )
    }
    bh, bonferroni, raw = (
        rows["Benjamini-Hochberg"],
        rows["Bonferroni"],
        rows["uncorrected"],
    )
    bound = 0.05 * 45 / 50  # q m0 / m
    assert float(bh[0]) - float(bh[1]) <= bound  # consistent with the bound
    assert_page_quotes(
        PAGE, f"{bh[0]} ± {bh[1]}", f"consistent with the bound of {bound:.3f}"
    )
    assert_page_quotes(PAGE, f"rate of {raw[0]}", f"in {raw[2]} of experiments")
    assert_page_quotes(PAGE, f"gives {bh[0]}", f"finds {bh[3]}")
    assert_page_quotes(PAGE, f"Bonferroni {bonferroni[3]}")
