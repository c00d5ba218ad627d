"""The label-arrival correction recovers recent fraud rates; naive labels do not."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.distributions.empirical_distribution import ECDF

from snippets.framework import data as dt

PAGE = "framework/data.md"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=50),
    st.lists(st.floats(0, 120, allow_nan=False), min_size=1, max_size=20),
)
def test_arrival_curve_is_the_empirical_cdf(delays, ages):
    expected = ECDF(delays)(np.array(ages))
    np.testing.assert_allclose(dt.label_arrival_curve(delays, ages), expected)


def test_correction_recovers_the_true_rate_of_every_cohort():
    data = dt.simulate_transactions(n=600_000, seed=4)
    age = dt.SNAPSHOT_DAY - data["day"]
    grid = np.arange(0.0, 121.0)
    mature_fraud = (age >= 90) & (data["fraud"] == 1)
    arrival = dt.label_arrival_curve(data["delay"][mature_fraud], grid)
    for low, high in ((14, 30), (30, 60), (60, 120)):
        rows = (age >= low) & (age < high)
        true = data["fraud"][rows].mean()
        observed = data["label"][rows].mean()
        corrected = dt.corrected_positive_rate(
            data["label"][rows], age[rows], grid, arrival
        )
        assert observed < true
        assert corrected == pytest.approx(true, rel=0.1)
        assert abs(corrected - true) < abs(observed - true)


def test_unmatured_negatives_make_the_model_underpredict():
    report = dt.delayed_label_report(dt.simulate_transactions(n=200_000, seed=2))
    naive, matured = report["calibration"].values()
    assert naive < 0.9 * report["true_rate"]
    assert matured == pytest.approx(report["true_rate"], rel=0.1)
    youngest = report["cohorts"][0]
    assert youngest["observed"] < 0.3 * youngest["true"]


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="non-empty"):
        dt.label_arrival_curve([], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        dt.label_arrival_curve([-1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        dt.label_arrival_curve([1.0], [-3.0])
    grid = np.arange(0.0, 10.0)
    arrival = dt.label_arrival_curve([5.0], grid)
    with pytest.raises(ValueError, match="cannot correct"):
        dt.corrected_positive_rate([0, 0], [1.0, 2.0], grid, arrival)
    with pytest.raises(ValueError, match="one length"):
        dt.corrected_positive_rate([0, 1], [1.0], grid, arrival)


def test_page_quotes_the_numbers_the_code_prints():
    report = dt.delayed_label_report(dt.simulate_transactions())
    output = module_output("snippets.framework.data")
    youngest = report["cohorts"][0]
    naive, matured = report["calibration"].values()
    numbers = [
        f"{youngest['true']:.2%}",
        f"{youngest['observed']:.2%}",
        f"{youngest['corrected']:.2%}",
        f"{youngest['reports']}",
        f"{report['true_rate']:.2%}",
        f"{naive:.2%}",
        f"{matured:.2%}",
        f"{report['median_delay']:.0f} days",
    ]
    assert all(n in output for n in numbers)
    assert_page_quotes(PAGE, *numbers)
    # "one seventh of the truth" on the page is the ratio the run shows.
    assert round(youngest["true"] / youngest["observed"]) == 7
    assert_page_quotes(PAGE, "one seventh")
    assert_page_quotes("concepts/monitoring.md", "seven times less")
