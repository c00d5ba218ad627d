"""Calibration tools equal scikit-learn's and fix the miscalibration they claim to."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, fences, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from snippets.concepts import calibration as cal
from snippets.concepts.classification_metrics import log_loss, roc_auc, sigmoid

PAGE = "concepts/classification-metrics.md"


def random_case(seed: int, n: int = 2_000, ties: bool = False):
    rng = np.random.default_rng(seed)
    z = rng.normal(-0.5, 1.5, size=n)
    y = (rng.random(n) < sigmoid(z)).astype(int)
    p = sigmoid(1.8 * z + 0.4)
    if ties:
        p = np.round(p, 1)  # many values exactly on bin edges
    return y, z, p


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_reliability_bins_and_brier_match_sklearn(seed, ties, n_bins):
    y, _, p = random_case(seed, ties=ties)
    bins = cal.reliability_bins(y, p, n_bins)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    np.testing.assert_allclose([b.fraction_positive for b in bins], prob_true)
    np.testing.assert_allclose([b.mean_predicted for b in bins], prob_pred)
    assert sum(b.count for b in bins) == len(y)
    assert cal.brier_score(y, p) == pytest.approx(brier_score_loss(y, p))


def test_ece_is_the_bias_of_a_constant_and_small_when_calibrated():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, size=50_000)
    y = (rng.random(p.size) < p).astype(int)
    assert cal.expected_calibration_error(y, p) < 0.01  # calibrated by construction
    constant = np.full(y.size, 0.3)  # one bin: ECE is |base rate - 0.3|
    assert cal.expected_calibration_error(y, constant) == pytest.approx(
        abs(y.mean() - 0.3)
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("quantile_bins", [5, 10])
def test_quantile_bins_match_sklearn(seed, quantile_bins):
    y, _, p = random_case(seed)
    bins = cal.reliability_bins(y, p, quantile_bins, strategy="quantile")
    prob_true, prob_pred = calibration_curve(
        y, p, n_bins=quantile_bins, strategy="quantile"
    )
    np.testing.assert_allclose([b.fraction_positive for b in bins], prob_true)
    np.testing.assert_allclose([b.mean_predicted for b in bins], prob_pred)
    counts = [b.count for b in bins]
    assert max(counts) - min(counts) <= 1  # equal-count bins


@pytest.mark.parametrize("seed", range(3))
def test_platt_without_smoothing_matches_unpenalised_logistic_regression(seed):
    y, z, _ = random_case(seed)
    slope, intercept = cal.fit_platt(z, y, smooth_targets=False)
    reference = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    reference.fit(z[:, None], y)
    assert slope == pytest.approx(reference.coef_[0, 0], rel=1e-4)
    assert intercept == pytest.approx(reference.intercept_[0], rel=1e-4, abs=1e-5)


def platt_reference(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt's smoothed targets as sample weights: each row once as a positive with
    weight t and once as a negative with weight 1 - t, fitted by scikit-learn."""
    n_pos, n_neg = y.sum(), y.size - y.sum()
    targets = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    x = np.r_[scores, scores][:, None]
    labels = np.r_[np.ones(y.size), np.zeros(y.size)]
    reference = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    reference.fit(x, labels, sample_weight=np.r_[targets, 1 - targets])
    return reference.coef_[0, 0], reference.intercept_[0]


@pytest.mark.parametrize(
    ("scores", "y"),
    [
        (random_case(0, n=60)[1], random_case(0, n=60)[0]),  # a small set
        (np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0]), np.array([0, 0, 0, 1, 1, 1])),
        (np.array([0.1, 0.2, 0.2, 0.9]), np.array([0, 0, 1, 1])),  # quasi-separated
    ],
)
def test_platt_smoothed_targets_match_a_weighted_logistic_regression(scores, y):
    slope, intercept = cal.fit_platt(scores, y)  # smoothing is the default
    ref_slope, ref_intercept = platt_reference(scores, y)
    assert slope == pytest.approx(ref_slope, rel=1e-4)
    assert intercept == pytest.approx(ref_intercept, rel=1e-4, abs=1e-6)


def test_platt_refuses_separable_data_without_smoothing():
    separated = (
        np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0]),
        np.array([0, 0, 0, 1, 1, 1]),
    )
    with pytest.raises(ValueError, match="separate the classes"):
        cal.fit_platt(*separated, smooth_targets=False)
    reversed_labels = separated[0], 1 - separated[1]  # separated the other way
    with pytest.raises(ValueError, match="separate the classes"):
        cal.fit_platt(*reversed_labels, smooth_targets=False)
    with pytest.raises(ValueError, match="not identifiable"):
        cal.fit_platt(np.ones(4), np.array([0, 1, 0, 1]))


def test_platt_keeps_auc_and_isotonic_ties_change_it():
    rng = np.random.default_rng(8)
    y_cal, logit_cal, p_cal = cal.overconfident_model(5_000, rng)
    y_test, logit_test, p_test = cal.overconfident_model(5_000, rng)
    platt = cal.apply_platt(logit_test, *cal.fit_platt(logit_cal, y_cal))
    isotonic = cal.apply_isotonic(p_test, *cal.fit_isotonic(p_cal, y_cal))
    assert roc_auc(y_test, platt) == roc_auc(y_test, p_test)  # strictly increasing
    assert np.unique(isotonic).size < np.unique(p_test).size / 10  # flat steps
    assert roc_auc(y_test, isotonic) != pytest.approx(roc_auc(y_test, p_test), abs=1e-5)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("ties", [False, True])
def test_isotonic_matches_sklearn(seed, ties):
    y, _, p = random_case(seed, n=500, ties=ties)
    xs, fitted = cal.fit_isotonic(p, y)
    assert np.all(np.diff(fitted) >= 0)
    reference = IsotonicRegression(out_of_bounds="clip").fit(p, y)
    grid = np.linspace(-0.1, 1.1, 301)
    np.testing.assert_allclose(
        cal.apply_isotonic(grid, xs, fitted), reference.predict(grid), atol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        # Rounded: sklearn merges scores closer than 1e-15, a detail we don't copy.
        st.tuples(st.integers(0, 1), st.floats(0, 1).map(lambda x: round(x, 6))),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: len({label for label, _ in rows}) == 2)
)
def test_isotonic_matches_sklearn_for_any_input(rows):
    y = np.array([label for label, _ in rows])
    p = np.array([score for _, score in rows])
    xs, fitted = cal.fit_isotonic(p, y)
    reference = IsotonicRegression(out_of_bounds="clip").fit(p, y)
    np.testing.assert_allclose(
        cal.apply_isotonic(p, xs, fitted), reference.predict(p), atol=1e-9
    )


def test_recalibration_fixes_an_overconfident_model():
    rng = np.random.default_rng(42)
    y_cal, logit_cal, p_cal = cal.overconfident_model(10_000, rng)
    y_test, logit_test, p_test = cal.overconfident_model(10_000, rng)
    slope, intercept = cal.fit_platt(logit_cal, y_cal)
    assert slope == pytest.approx(1 / 2.5, abs=0.05)  # undoes the 2.5x stretch
    xs, fitted = cal.fit_isotonic(p_cal, y_cal)
    raw_ece = cal.expected_calibration_error(y_test, p_test)
    for probs in (
        cal.apply_platt(logit_test, slope, intercept),
        cal.apply_isotonic(p_test, xs, fitted),
    ):
        assert cal.expected_calibration_error(y_test, probs) < raw_ece / 4
        assert log_loss(y_test, probs) < log_loss(y_test, p_test)
        assert cal.brier_score(y_test, probs) < cal.brier_score(y_test, p_test)


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 1), st.floats(0.001, 1))
def test_downsampling_correction_is_a_shift_of_the_logit(p, w):
    q = float(cal.correct_downsampled([p], w)[0])
    assert 0 <= q <= p + 1e-12  # never raises a probability
    if 1e-9 < p < 1 - 1e-9:
        logit_q = np.log(q / (1 - q))
        assert logit_q == pytest.approx(np.log(p / (1 - p)) + np.log(w), abs=1e-6)
    assert cal.correct_downsampled([p], 1.0)[0] == pytest.approx(p)


@pytest.mark.parametrize("w", [0.02, 0.1, 0.5])
def test_correction_restores_the_base_rate_and_improves_log_loss(w):
    result = cal.downsampling_experiment(100_000, negative_rate=w, seed=7)
    assert result["mean_raw"] > 1.5 * result["true_ctr"]  # inflated
    assert result["mean_corrected"] == pytest.approx(result["true_ctr"], rel=0.1)
    assert result["log_loss_corrected"] < result["log_loss_raw"]
    assert result["log_loss_corrected"] < result["log_loss_base_rate"]
    shift = result["fitted_intercept"] - result["true_intercept"]
    assert shift == pytest.approx(-np.log(w), abs=0.2)


def decile_chi_square(labels: np.ndarray, probs: np.ndarray) -> float:
    """p-value of a Hosmer-Lemeshow-style test on deciles of a fixed model's output."""
    bins = cal.reliability_bins(labels, probs, strategy="quantile")
    statistic = sum(
        b.count
        * (b.fraction_positive - b.mean_predicted) ** 2
        / (b.mean_predicted * (1 - b.mean_predicted))
        for b in bins
    )
    # The model was fitted on other data, so no degree of freedom is spent here.
    return float(stats.chi2.sf(statistic, df=len(bins)))


@pytest.mark.parametrize("seed", [2, 3])
@pytest.mark.parametrize("w", [0.02, 0.1, 0.5])
def test_correction_is_calibrated_per_decile_not_only_on_average(seed, w):
    result = cal.downsampling_experiment(100_000, negative_rate=w, seed=seed)
    labels = result["test_labels"]
    assert decile_chi_square(labels, result["corrected"]) > 0.001
    assert decile_chi_square(labels, result["raw"]) < 1e-6


def test_a_misspecified_model_is_off_per_decile_with_or_without_downsampling():
    result = cal.downsampling_experiment(200_000, 0.05, seed=4, curvature=0.4)
    labels = result["test_labels"]
    # Corrected after downsampling, it misses even the mean; fitted on all the data
    # it gets the mean right, but that is the intercept's score equation, not
    # calibration: per decile both fail.
    assert result["mean_corrected"] < 0.92 * result["true_ctr"]
    assert decile_chi_square(labels, result["corrected"]) < 1e-6
    assert decile_chi_square(labels, result["full_fit"]) < 1e-6
    # Both increase with x, so their deciles hold the same examples (one "observed"
    # column serves both in the printed table).
    by_corrected = cal.reliability_bins(
        labels, result["corrected"], strategy="quantile"
    )
    by_full_fit = cal.reliability_bins(labels, result["full_fit"], strategy="quantile")
    assert [b.fraction_positive for b in by_corrected] == [
        b.fraction_positive for b in by_full_fit
    ]
    # The same check passes both when the model is right (curvature 0).
    right = cal.downsampling_experiment(200_000, 0.05, seed=4)
    assert decile_chi_square(right["test_labels"], right["corrected"]) > 0.001
    assert decile_chi_square(right["test_labels"], right["full_fit"]) > 0.001


def test_a_maximum_likelihood_fit_reproduces_its_training_base_rate():
    # Why the fit without downsampling "gets the mean right": the intercept's score
    # equation sets the mean fitted probability on the training rows to their rate.
    rng = np.random.default_rng(3)
    x = rng.normal(size=50_000)
    y = (rng.random(x.size) < sigmoid(x - 3 + 0.4 * x**2)).astype(int)
    fitted = cal.apply_platt(x, *cal.fit_platt(x, y, smooth_targets=False))
    assert fitted.mean() == pytest.approx(y.mean(), rel=1e-8)
    assert decile_chi_square(y, fitted) < 1e-6  # yet it is not calibrated


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cal.reliability_bins([0, 1], [0.2, 0.8], 0), "positive integer"),
        (lambda: cal.reliability_bins([0, 1], [0.2, 0.8], 2.5), "positive integer"),
        (lambda: cal.reliability_bins([0, 1], [0.2, 1.8]), r"in \[0, 1\]"),
        (lambda: cal.reliability_bins([0, 1], [0.2, 0.8], 2, "log"), "strategy"),
        (lambda: cal.brier_score([0, 1, 1], [0.2, 0.8]), "same length"),
        (lambda: cal.expected_calibration_error([0, 2], [0.1, 0.2]), "only 0 and 1"),
        (lambda: cal.fit_platt([0.1, 0.2], [1, 1]), "both positive and negative"),
        (lambda: cal.fit_platt([np.inf, 0.2], [0, 1]), "finite"),
        (lambda: cal.fit_isotonic([[0.1, 0.2]], [0, 1]), "1-D"),
        (lambda: cal.fit_isotonic([0.1, 0.2, 0.3], [0, 1]), "same length"),
        (lambda: cal.correct_downsampled([0.5], 0), r"in \(0, 1\]"),
        (lambda: cal.correct_downsampled([0.5], 1.5), "negative_rate"),
        (lambda: cal.correct_downsampled([1.5], 0.1), "probabilities"),
        (lambda: cal.downsampling_experiment(10, 0.1, 0), "at least 1000"),
    ],
)
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.calibration")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert_page_quotes(
        PAGE, *rows["raw"][1:4], *rows["Platt"][1:4], rows["isotonic"][1]
    )
    assert float(rows["Platt"][1]) < float(rows["raw"][1]) / 4
    # Platt's map is strictly increasing: the same ROC-AUC; isotonic ties change it.
    assert rows["Platt"][4] == rows["raw"][4] != rows["isotonic"][4]
    assert_page_quotes(PAGE, f"({rows['raw'][4]})", f"is {rows['isotonic'][4]}")
    top_bin = rows["0.9-1.0"]
    assert_page_quotes(PAGE, top_bin[2], top_bin[3])
    true_ctr = next(
        line.split()[-1] for line in out.splitlines() if "true CTR " in line
    )
    raw = next(line.split() for line in out.splitlines() if "mean raw" in line)
    fixed = next(line.split() for line in out.splitlines() if "mean corrected " in line)
    base = next(
        line.split() for line in out.splitlines() if line.startswith("base-rate")
    )
    assert abs(float(fixed[2]) - float(true_ctr)) < 0.1 * float(true_ctr)
    assert_page_quotes(PAGE, true_ctr, raw[3], raw[-1], fixed[2], fixed[-1], base[-1])
    shift = next(line.split() for line in out.splitlines() if "intercept shift" in line)
    assert_page_quotes(PAGE, shift[2], shift[-1])


def test_page_quotes_the_decile_table_and_the_ablation():
    lines = module_output("snippets.concepts.calibration").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("decile"))
    deciles = [line.split() for line in lines[start + 1 : start + 11]]
    n = np.array([float(d[1]) for d in deciles])
    raw, fixed, observed = (np.array([float(d[i]) for d in deciles]) for i in (2, 3, 4))
    z = np.abs(observed - fixed) / np.sqrt(fixed * (1 - fixed) / n)
    assert z.max() < 3  # "every gap within three binomial standard errors"
    ratio = raw / observed
    assert_page_quotes(PAGE, f"{ratio.min():.0f} to {ratio.max():.0f} times")
    first, last = deciles[0], deciles[-1]
    assert_page_quotes(
        PAGE, f"{first[3]} against {first[4]}", f"{last[3]} against {last[4]}"
    )
    ablation = next(line for line in lines if line.startswith("true CTR 0"))
    true_ctr, corrected, full = (float(v) for v in re.findall(r"\d\.\d{4}", ablation))
    assert corrected < 0.92 * true_ctr
    assert_page_quotes(
        PAGE, f"{corrected:.4f} against a true CTR of {true_ctr:.4f}", f"({full:.4f})"
    )
    start = lines.index(ablation) + 1
    assert lines[start].split() == [
        "decile",
        "n",
        "observed",
        "corrected",
        "fit",
        "on",
        "all",
    ]
    table = np.array([[float(v) for v in line.split()] for line in lines[start + 1 :]])
    assert table.shape == (10, 5)
    n, observed, predicted = table[:, 1], table[:, 2], table[:, 3:]
    z = (observed[:, None] - predicted) / np.sqrt(
        predicted * (1 - predicted) / n[:, None]
    )
    # Both models are far off in both tails, in the pattern the page describes: too
    # low in decile 1, too high in deciles 7 to 9, too low in decile 10.
    assert (np.abs(z[[0, -1]]) > 5).all()
    assert (z[0] > 0).all() and (z[6:9] < 0).all() and (z[9] > 0).all()
    for row in table[[0, -1]]:
        assert_page_quotes(PAGE, f"{row[3]:.4f} and {row[4]:.4f} against {row[2]:.4f}")


def test_platt_and_isotonic_compared_over_seeds():
    lines = module_output("snippets.concepts.calibration").splitlines()
    start = next(i for i, line in enumerate(lines) if "Platt vs isotonic" in line)
    n_seeds = int(lines[start].split()[1])
    rows = {}
    for line in lines[start + 2 : start + 5]:
        name, rest = line[:8].strip(), line[8:].split()
        rows[name] = rest  # Platt, isotonic, wins, "of", n, difference, (low, to, high)
    # The printed means and counts are what platt_vs_isotonic gives, seed by seed.
    runs = [cal.platt_vs_isotonic(seed) for seed in range(n_seeds)]
    platt = np.array([r["Platt"] for r in runs])
    isotonic = np.array([r["isotonic"] for r in runs])
    for j, name in enumerate(("ECE", "Brier", "log loss")):
        assert rows[name][0] == f"{platt[:, j].mean():.4f}"
        assert rows[name][1] == f"{isotonic[:, j].mean():.4f}"
        assert int(rows[name][2]) == np.sum(platt[:, j] < isotonic[:, j])
    # The headline run is seed 5 of these: its table matches the Platt row printed.
    table = {line.split()[0]: line.split() for line in lines if line.strip()}
    assert f"{platt[5, 0]:.3f}" == table["Platt"][1]
    wins = {name: rows[name][2] for name in rows}
    assert_page_quotes(
        PAGE,
        f"log loss in {wins['log loss']} of {n_seeds}",
        f"ECE in {wins['ECE']} of {n_seeds}",
        f"mean ECE {rows['ECE'][0]} against {rows['ECE'][1]}",
        f"by {rows['Brier'][5].lstrip('-+')} on average",
        f"about {abs(float(rows['Brier'][5])) / float(rows['Brier'][0]):.1%} of the",
    )
    for name in ("ECE", "log loss"):  # "the paired interval excludes zero"
        high = float(rows[name][-1].rstrip(")"))
        assert high < 0
    # Brier: a consistent sign but a negligible size, under 0.5% of the score.
    assert abs(float(rows["Brier"][5])) < 0.005 * float(rows["Brier"][0])


def test_the_reliability_chart_plots_the_printed_bins():
    out = module_output("snippets.concepts.calibration")
    bins = [line.split() for line in out.splitlines() if re.match(r"0\.\d-", line)]
    chart = next(f.body for f in fences(PAGE) if "xychart-beta" in f.body)
    lines = [
        [float(v) for v in m.split(",")]
        for m in re.findall(r"line \[([^\]]+)\]", chart)
    ]
    predicted = [float(b[2]) for b in bins]
    observed = [float(b[3]) for b in bins]
    assert lines == [predicted, observed]


def test_brier_baseline_and_platt_fit_the_page_quotes():
    # 1% positives, everyone predicted at the base rate: Brier = p(1 - p).
    y = np.r_[1, np.zeros(99, dtype=int)]
    baseline = cal.brier_score(y, np.full(100, 0.01))
    assert baseline == pytest.approx(0.01 * 0.99)
    assert_page_quotes(PAGE, f"{baseline:.4f}")
    out = module_output("snippets.concepts.calibration")
    platt = next(line for line in out.splitlines() if line.startswith("Platt fit"))
    slope = platt.split("slope ")[1].split(",")[0]
    assert float(slope) == pytest.approx(1 / 2.5, abs=0.05)
    assert_page_quotes(PAGE, f"slope of {slope}")
