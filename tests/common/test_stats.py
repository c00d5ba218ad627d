"""The paired interval agrees with SciPy's one-sample t-test interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from snippets.common.stats import is_tie, paired_interval


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
