"""The paired interval agrees with SciPy's one-sample t-test interval; the proportion
intervals agree with statsmodels' Wilson and Clopper-Pearson (beta) intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from snippets.common.stats import (
    clopper_pearson_interval,
    is_tie,
    paired_interval,
    wilson_interval,
)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_matches_scipy_ttest_interval(confidence):
    d = np.random.default_rng(3).normal(0.02, 0.05, size=7)
    mean, low, high = paired_interval(d, confidence)
    ci = scipy_stats.ttest_1samp(d, 0.0).confidence_interval(confidence)
    assert (mean, low, high) == pytest.approx((d.mean(), ci.low, ci.high))


def test_ties_are_intervals_that_hold_zero():
    assert is_tie(-0.01, 0.02) and not is_tie(0.001, 0.02) and not is_tie(-0.3, -0.1)
    with pytest.raises(ValueError, match="must not exceed"):
        is_tie(0.2, 0.1)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([1.0], "at least two"),
        ([[1.0, 2.0]], "at least two"),
        ([1.0, np.nan], "finite"),
    ],
)
def test_bad_input_is_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        paired_interval(bad)


def test_confidence_must_be_a_probability():
    with pytest.raises(ValueError, match="confidence"):
        paired_interval([0.1, 0.2], confidence=95)


# ── Proportions ──
@pytest.mark.parametrize(("x", "n"), [(0, 1_000), (1, 1_000), (37, 500), (12, 12)])
def test_wilson_interval_matches_statsmodels(x, n):
    low, high = wilson_interval(x, n)
    ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert float(low) == pytest.approx(ref_low, abs=1e-12)
    assert float(high) == pytest.approx(ref_high, abs=1e-12)


@pytest.mark.parametrize(("x", "n"), [(0, 1_000), (1, 1_000), (37, 500), (12, 12)])
def test_clopper_pearson_interval_matches_statsmodels(x, n):
    low, high = clopper_pearson_interval(x, n)
    ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method="beta")
    assert float(low) == pytest.approx(ref_low, abs=1e-12)
    assert float(high) == pytest.approx(ref_high, abs=1e-12)


def test_clopper_pearson_at_a_real_effective_size_lies_between_its_neighbours():
    """n_eff need not be an integer: the limits move monotonically between sizes."""
    low, high = clopper_pearson_interval(0.002 * 1_500.5, 1_500.5)
    for n in (1_500, 1_501):
        ref_low, ref_high = proportion_confint(0.002 * n, n, alpha=0.05, method="beta")
        assert abs(float(low) - ref_low) < 2e-5 and abs(float(high) - ref_high) < 2e-5


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (50, 100), (99, 100), (7, 7)])
def test_wilson_interval_of_one_count_is_two_floats(k, n):
    low, high = wilson_interval(k, n)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)


@pytest.mark.parametrize("n", [7, 214, 502, 729, 42_351])
def test_wilson_interval_is_exact_at_the_ends(n):
    # all successes: the upper end is 1 exactly, so a prediction of 1.0 lies inside
    assert wilson_interval(n, n)[1] == 1.0
    assert wilson_interval(0, n)[0] == 0.0


def test_proportion_intervals_take_arrays_and_refuse_bad_input():
    low, high = wilson_interval(np.array([0, 5, 10]), 10)
    assert low.shape == high.shape == (3,) and low[0] == 0.0 and high[2] == 1.0
    for interval in (wilson_interval, clopper_pearson_interval):
        with pytest.raises(ValueError, match="successes <= n"):
            interval(5, 3)
        with pytest.raises(ValueError, match="confidence"):
            interval(1, 3, confidence=1.5)
        with pytest.raises(ValueError, match="finite"):
            interval(float("nan"), 3)
