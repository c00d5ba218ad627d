"""The label-arrival correction recovers recent fraud rates; naive labels do not."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.distributions.empirical_distribution import ECDF
from statsmodels.stats.proportion import samplesize_confint_proportion
from statsmodels.stats.rates import confint_poisson

from snippets.concepts.calibration import correct_downsampled
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
    # Only what the snapshot shows: reported frauds' delays, cut at 90 days.
    seen = (age >= 90) & (data["label"] == 1) & (data["delay"] <= 90)
    arrival = dt.label_arrival_curve(data["delay"][seen], grid)
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


def test_the_curve_uses_only_delays_the_snapshot_shows():
    data = dt.simulate_transactions(n=200_000, seed=5)
    # Unreported frauds carry no observable delay: changing theirs changes nothing.
    hidden = (data["fraud"] == 1) & (data["label"] == 0)
    assert hidden.sum() > 100
    altered = {**data, "delay": np.where(hidden, 0.5, data["delay"])}
    before, after = dt.cohort_table(data), dt.cohort_table(altered)
    for a, b in zip(before, after, strict=True):
        assert a["corrected"] == b["corrected"] and a["interval"] == b["interval"]
    # What the curve cannot see: the frauds reported more than 90 days later.
    report = dt.delayed_label_report(data)
    assert 0 < report["reported_after_mature"] < 0.1


def test_poisson_interval_matches_statsmodels_and_scales_like_the_rate():
    grid = np.arange(0.0, 121.0)
    arrival = dt.label_arrival_curve(np.linspace(1, 60, 50), grid)
    rng = np.random.default_rng(0)
    ages = rng.uniform(0, 14, 5_000)
    for reports in (0, 3, 67):
        labels = np.zeros(ages.size, dtype=int)
        labels[:reports] = 1
        share = np.interp(ages, grid, arrival).sum()
        low, high = dt.corrected_rate_interval(labels, ages, grid, arrival)
        expected = confint_poisson(reports, 1, method="exact-c")
        assert (low * share, high * share) == pytest.approx(expected)
        rate = dt.corrected_positive_rate(labels, ages, grid, arrival)
        assert low <= rate <= high
    with pytest.raises(ValueError, match="confidence"):
        dt.corrected_rate_interval(labels, ages, grid, arrival, confidence=1.0)


def test_unmatured_negatives_make_the_model_underpredict():
    report = dt.delayed_label_report(dt.simulate_transactions(n=200_000, seed=2))
    naive, matured = report["calibration"].values()
    assert naive < 0.9 * report["true_rate"]
    assert matured == pytest.approx(report["true_rate"], rel=0.1)
    youngest = report["cohorts"][0]
    assert youngest["observed"] < 0.3 * youngest["true"]


def test_youngest_cohort_spread_brackets_the_truth():
    young = dt.youngest_cohort_over_seeds(range(6))
    assert (young["observed"] < 0.3 * young["true"]).all()
    # The correction is noisy: it lands on both sides of the truth, and its Poisson
    # interval holds the truth on most seeds.
    errors = young["corrected"] - young["true"]
    assert errors.min() < 0 < errors.max()
    assert abs(errors.mean()) < 0.15 * young["true"].mean()
    low, high = young["interval"].T
    assert np.mean((low <= young["true"]) & (young["true"] <= high)) >= 0.8


def _minus(text: str) -> str:
    return text.replace("-", "−")


def test_the_ten_seed_gap_is_a_tie_and_the_built_in_bias_is_quoted():
    output = module_output("snippets.framework.data")
    gap, low, high = re.search(
        r"corrected - true: mean (\S+) points, 95% interval (\S+) to (\S+) \(a tie\)",
        output,
    ).groups()
    young = dt.youngest_cohort_over_seeds()
    diffs = 100 * (young["corrected"] - young["true"])
    # Independent t-interval on the paired per-seed gaps (percentage points).
    expected = stats.t.interval(
        0.95, diffs.size - 1, loc=diffs.mean(), scale=stats.sem(diffs)
    )
    assert float(gap) == pytest.approx(diffs.mean(), abs=0.005)
    assert (float(low), float(high)) == pytest.approx(expected, abs=0.005)
    assert float(low) < 0 < float(high)
    late, points = re.search(
        r"about (\S+%) of the rate \((\S+) points\)", output
    ).groups()
    # The curve omits the frauds reported after 90 days: it runs low by that share.
    share = dt.delayed_label_report(dt.simulate_transactions())["reported_after_mature"]
    expected_points = -share * young["true"].mean() * 100
    assert float(points) == pytest.approx(expected_points, abs=0.005)
    assert_page_quotes(
        PAGE,
        f"about {late} of the rate low",
        f"({_minus(points)} points)",
        f"mean gap is {_minus(gap)} points",
        f"{_minus(low)} to {high}",
    )


@pytest.mark.parametrize(
    ("recall", "half_width", "prevalence", "confidence"),
    [(0.8, 0.05, 0.01, 0.95), (0.5, 0.02, 0.003, 0.9), (0.95, 0.01, 0.2, 0.99)],
)
def test_review_sample_matches_statsmodels(recall, half_width, prevalence, confidence):
    positives, reviewed = dt.review_sample_size(
        recall, half_width, prevalence, confidence
    )
    expected = samplesize_confint_proportion(recall, half_width, alpha=1 - confidence)
    assert positives == math.ceil(expected)
    # The smallest uniform sample that holds `positives` frauds on average.
    assert (reviewed - 1) * prevalence < positives - 1e-9
    assert reviewed * prevalence > positives - 1e-9


def test_downsampling_multiplies_the_odds_and_recalibration_undoes_it():
    rng = np.random.default_rng(0)
    labels = rng.random(2_000_000) < 0.01
    kept = labels | (rng.random(labels.size) < 0.1)
    empirical = labels[kept].mean()
    learned = dt.downsampled_rate(0.01, 0.1)
    assert learned == pytest.approx(empirical, rel=0.02)
    odds = learned / (1 - learned)
    assert odds == pytest.approx(10 * 0.01 / 0.99)
    assert correct_downsampled(learned, 0.1) == pytest.approx(0.01)


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
    with pytest.raises(ValueError, match="prevalence"):
        dt.review_sample_size(0.8, 0.05, 0.0)
    with pytest.raises(TypeError, match="number"):
        dt.review_sample_size("0.8", 0.05, 0.01)
    with pytest.raises(ValueError, match="negative_keep_rate"):
        dt.downsampled_rate(0.01, 1.5)


def test_page_quotes_the_numbers_the_code_prints():
    report = dt.delayed_label_report(dt.simulate_transactions())
    output = module_output("snippets.framework.data")
    youngest = report["cohorts"][0]
    naive, matured = report["calibration"].values()
    numbers = [
        f"{youngest['true']:.2%}",
        f"{youngest['observed']:.2%}",
        f"{youngest['corrected']:.2%}",
        "{:.2%}–{:.2%}".format(*youngest["interval"]),
        f"{youngest['reports']}",
        f"{report['reported_after_mature']:.1%}",
        f"{report['true_rate']:.2%}",
        f"{naive:.2%}",
        f"{matured:.2%}",
        f"{report['median_delay']:.0f} days",
    ]
    assert all(n in output for n in numbers)
    assert_page_quotes(PAGE, *numbers)
    # "one seventh of the truth" on the page is the ratio seed 0 shows.
    assert round(youngest["true"] / youngest["observed"]) == 7
    assert_page_quotes(PAGE, "one seventh")
    ratio = re.search(r"true / observed\s+(\S+–\S+ times)", output).group(1)
    assert_page_quotes("concepts/monitoring.md", f"{ratio} lower")


def test_page_quotes_the_spreads_and_sizes_the_code_prints():
    output = module_output("snippets.framework.data")
    spans = dict(re.findall(r"^  (\w+(?: / \w+)?)(?: rate)?\s+(\S+–\S+)", output, re.M))
    covered = re.search(r"holds the true rate: (\d+ of \d+) seeds", output).group(1)
    mean_true, mean_corrected = re.search(
        r"mean over seeds: true (\S+%), corrected (\S+%)", output
    ).groups()
    assert set(spans) == {"true", "observed", "corrected", "true / observed"}
    frauds, reviewed = re.search(r"(\d+) frauds, found among ([\d,]+)", output).groups()
    learned = re.search(r"is learned as (\S+%)", output).group(1)
    assert (int(frauds), int(reviewed.replace(",", ""))) == dt.review_sample_size(
        dt.RECALL, dt.HALF_WIDTH, dt.PREVALENCE
    )
    assert_page_quotes(
        PAGE,
        spans["corrected"],
        spans["true"],
        f"{spans['true / observed']} times",
        f"{covered} seeds",
        f"{mean_corrected} corrected against {mean_true} true",
        f"{frauds} frauds",
        f"{reviewed} ",
        learned,
    )
