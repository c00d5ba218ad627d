"""Calibration: reliability bins, ECE, Brier score, Platt scaling, isotonic
regression, and undoing negative downsampling. Checked against scikit-learn.

Run it: ``python -m snippets.concepts.calibration``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from snippets.common.figures import (
    ACCENT,
    GREYS,
    SECOND,
    new_figure,
    plain_log_ticks,
    printed,
    styled,
)
from snippets.common.stats import paired_interval
from snippets.concepts.classification_metrics import (
    check_binary_inputs,
    log_loss,
    roc_auc,
    sigmoid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --8<-- [start:reliability]
@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: predictions in [lower, upper]."""

    lower: float
    upper: float
    count: int
    mean_predicted: float
    fraction_positive: float


def reliability_bins(
    y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10, strategy: str = "uniform"
) -> list[ReliabilityBin]:
    """Equal-width ("uniform") or equal-count ("quantile") bins, empty ones left out."""
    labels, probs = check_binary_inputs(y_true, y_prob, name="y_prob")
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":  # rare events: equal-width bins would sit empty
        edges = np.percentile(probs, np.linspace(0, 100, n_bins + 1))
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    # Same rule as sklearn.calibration.calibration_curve: a value on an inner
    # edge belongs to the bin below it.
    bin_ids = np.searchsorted(edges[1:-1], probs)
    bins = []
    for b in range(n_bins):
        in_bin = bin_ids == b
        if in_bin.any():
            bins.append(
                ReliabilityBin(
                    lower=float(edges[b]),
                    upper=float(edges[b + 1]),
                    count=int(in_bin.sum()),
                    mean_predicted=float(probs[in_bin].mean()),
                    fraction_positive=float(labels[in_bin].mean()),
                )
            )
    return bins


def expected_calibration_error(
    y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10
) -> float:
    """Count-weighted mean gap |observed rate - mean prediction| over the bins."""
    bins = reliability_bins(y_true, y_prob, n_bins)
    total = sum(b.count for b in bins)
    return float(
        sum(b.count * abs(b.fraction_positive - b.mean_predicted) for b in bins) / total
    )


def brier_score(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean squared error of the probabilities against the 0/1 outcomes."""
    labels, probs = check_binary_inputs(y_true, y_prob, name="y_prob")
    return float(np.mean((probs - labels) ** 2))
    # --8<-- [end:reliability]


def _check_scores(
    scores: ArrayLike, y_true: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    raw = np.asarray(scores, dtype=float)
    if raw.ndim != 1 or not np.isfinite(raw).all():
        raise ValueError("scores must be a 1-D array of finite numbers")
    labels, _ = check_binary_inputs(y_true, np.zeros(raw.size))
    if labels.min() == labels.max():
        raise ValueError("calibration needs both positive and negative examples")
    return raw, labels


# --8<-- [start:recalibrate]
def fit_platt(
    scores: ArrayLike,
    y_true: ArrayLike,
    max_iter: int = 100,
    *,
    smooth_targets: bool = True,
) -> tuple[float, float]:
    """Fit P(y=1) = sigmoid(slope * score + intercept) by Newton's method."""
    raw, labels = _check_scores(scores, y_true)
    if np.ptp(raw) == 0:
        raise ValueError("all scores are equal: the Platt slope is not identifiable")
    n_pos, n_neg = labels.sum(), labels.size - labels.sum()
    if smooth_targets:
        # Platt (1999): targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2), not 1 and 0,
        # so a small or separable calibration set cannot drive the slope to infinity.
        targets = np.where(labels == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    elif (
        raw[labels == 1].min() >= raw[labels == 0].max()
        or raw[labels == 1].max() <= raw[labels == 0].min()
    ):
        raise ValueError(
            "the scores separate the classes, so the maximum-likelihood slope is "
            "infinite: use smooth_targets=True or a larger calibration set"
        )
    else:
        targets = labels.astype(float)
    design = np.column_stack([raw, np.ones(raw.size)])

    def loss(params: np.ndarray) -> float:
        z = design @ params
        return float(
            np.sum(targets * np.logaddexp(0, -z) + (1 - targets) * np.logaddexp(0, z))
        )

    # Start from the base rate, so the first step is already sensible.
    params = np.array([0.0, np.log(n_pos / n_neg)])
    for _ in range(max_iter):
        probs = sigmoid(design @ params)
        gradient = design.T @ (probs - targets)
        hessian = design.T @ (design * (probs * (1 - probs))[:, None])
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError as error:
            raise ValueError(f"Platt fit failed: singular Hessian ({error})") from None
        # Halve the step until the loss falls: plain Newton can overshoot.
        current = loss(params)
        while loss(params - step) > current and np.max(np.abs(step)) > 1e-12:
            step /= 2
        params -= step
        if np.max(np.abs(step)) < 1e-10:
            return float(params[0]), float(params[1])
    raise ValueError(f"Platt fit did not converge in {max_iter} Newton steps")


def apply_platt(scores: ArrayLike, slope: float, intercept: float) -> np.ndarray:
    """Calibrated probabilities from raw scores and fitted Platt parameters."""
    return sigmoid(slope * np.asarray(scores, dtype=float) + intercept)


def fit_isotonic(y_prob: ArrayLike, y_true: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: the best non-decreasing step map score -> rate."""
    raw, labels = _check_scores(y_prob, y_true)
    # Merge tied scores first: one block per distinct score, weighted by count.
    xs, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=labels)
    blocks: list[list[float]] = []  # [sum of labels, weight, number of xs]
    for total, weight in zip(sums, counts, strict=True):
        blocks.append([total, float(weight), 1])
        # Merge while the last block's mean is below the previous one's.
        while len(blocks) > 1 and (
            blocks[-1][0] / blocks[-1][1] <= blocks[-2][0] / blocks[-2][1]
        ):
            total_b, weight_b, n_b = blocks.pop()
            blocks[-1][0] += total_b
            blocks[-1][1] += weight_b
            blocks[-1][2] += n_b
    fitted = np.repeat([t / w for t, w, _ in blocks], [n for _, _, n in blocks])
    return xs, fitted


def apply_isotonic(y_prob: ArrayLike, xs: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Interpolate the fitted step map; clip outside the fitted range."""
    return np.interp(np.asarray(y_prob, dtype=float), xs, fitted)
    # --8<-- [end:recalibrate]


# --8<-- [start:downsampling]
def correct_downsampled(y_prob: ArrayLike, negative_rate: float) -> np.ndarray:
    """Undo negative downsampling at rate w: q = p / (p + (1 - p) / w)."""
    if not 0 < negative_rate <= 1:
        raise ValueError(f"negative_rate must be in (0, 1], got {negative_rate!r}")
    probs = np.asarray(y_prob, dtype=float)
    if np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("y_prob must hold probabilities in [0, 1] (no NaN)")
    return probs / (probs + (1 - probs) / negative_rate)
    # --8<-- [end:downsampling]


# --8<-- [start:downsampling-experiment]
def downsampling_experiment(
    n: int, negative_rate: float, seed: int, curvature: float = 0.0
) -> dict[str, float | np.ndarray]:
    """Train on downsampled negatives, then compare raw and corrected predictions.

    The model is a one-feature logistic regression. With ``curvature`` 0 it is
    well specified; otherwise the true logit has a ``curvature * x**2`` term the
    model lacks, and a model fitted without downsampling is returned alongside.
    """
    if n < 1000:
        raise ValueError("n must be at least 1000 for a stable estimate")
    rng = np.random.default_rng(seed)
    true_slope, true_intercept = 1.0, -4.5

    def population(size: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=size)
        logit = true_slope * x + true_intercept + curvature * x**2
        return x, (rng.random(size) < sigmoid(logit)).astype(int)

    train_x, train_y = population(n)
    # Keep every click, and each non-click with probability w.
    keep = (train_y == 1) | (rng.random(n) < negative_rate)
    # A model fit, not a recalibration: plain maximum likelihood, no smoothing.
    slope, intercept = fit_platt(train_x[keep], train_y[keep], smooth_targets=False)
    test_x, test_y = population(n)
    raw = apply_platt(test_x, slope, intercept)
    corrected = correct_downsampled(raw, negative_rate)
    # No downsampling: a maximum-likelihood fit with an intercept reproduces its
    # training base rate by construction, so only a check per bucket can judge it.
    full_fit = apply_platt(test_x, *fit_platt(train_x, train_y, smooth_targets=False))
    return {
        "true_intercept": true_intercept,
        "fitted_intercept": intercept,
        "true_ctr": float(test_y.mean()),
        "mean_raw": float(raw.mean()),
        "mean_corrected": float(corrected.mean()),
        "mean_full_fit": float(full_fit.mean()),
        "log_loss_raw": log_loss(test_y, raw),
        "log_loss_corrected": log_loss(test_y, corrected),
        "log_loss_base_rate": log_loss(test_y, np.full(n, test_y.mean())),
        "test_labels": test_y,
        "raw": raw,
        "corrected": corrected,
        "full_fit": full_fit,
    }
    # --8<-- [end:downsampling-experiment]


# --8<-- [start:demo]
def overconfident_model(
    n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels from sigmoid(z); the model reports sigmoid(2.5 z + 1): overconfident."""
    z = rng.normal(-1.0, 1.2, size=n)
    labels = (rng.random(n) < sigmoid(z)).astype(int)
    model_logit = 2.5 * z + 1.0
    return labels, model_logit, sigmoid(model_logit)


def platt_vs_isotonic(seed: int, n: int = 20_000) -> dict[str, np.ndarray]:
    """ECE, Brier and log loss on a test split, each map fitted on another split."""
    rng = np.random.default_rng(seed)
    y_cal, logit_cal, p_cal = overconfident_model(n, rng)
    y_test, logit_test, p_test = overconfident_model(n, rng)
    fitted = {
        "Platt": apply_platt(logit_test, *fit_platt(logit_cal, y_cal)),
        "isotonic": apply_isotonic(p_test, *fit_isotonic(p_cal, y_cal)),
    }
    return {
        name: np.array(
            [
                expected_calibration_error(y_test, probs),
                brier_score(y_test, probs),
                log_loss(y_test, probs),
            ]
        )
        for name, probs in fitted.items()
    }


def downsampled_deciles(result: dict) -> list[tuple[int, float, float, float]]:
    """Per decile of the prediction: count, mean raw, mean corrected, observed rate."""
    y_fresh = result["test_labels"]
    raw_bins = reliability_bins(y_fresh, result["raw"], strategy="quantile")
    fixed_bins = reliability_bins(y_fresh, result["corrected"], strategy="quantile")
    return [
        (c.count, r.mean_predicted, c.mean_predicted, c.fraction_positive)
        for r, c in zip(raw_bins, fixed_bins, strict=True)
    ]


@styled
def downsampling_figure(
    deciles: list[tuple[int, float, float, float]] | None = None,
) -> Figure:
    """Reliability per decile before and after undoing negative downsampling, with
    three binomial standard errors around each observed rate. ``deciles`` are the
    table's rows as printed (count, mean raw, mean corrected, observed; four
    decimals); by default the experiment ``main()`` prints."""
    if deciles is None:
        result = downsampling_experiment(200_000, negative_rate=0.05, seed=1)
        deciles = [
            (n, *(printed(v, 4) for v in values))
            for n, *values in downsampled_deciles(result)
        ]
    observed = np.array([d[3] for d in deciles])
    spread = 3 * np.sqrt(observed * (1 - observed) / np.array([d[0] for d in deciles]))
    fig, (ax,) = new_figure()
    ax.plot(
        (1e-3, 1),
        (1e-3, 1),
        ":",
        color=GREYS[1],
        linewidth=1,
        label="perfect calibration",
    )
    ax.plot(
        [d[1] for d in deciles],
        observed,
        "-s",
        color=SECOND,
        label="raw (trained on 5% of negatives)",
    )
    ax.plot(
        [d[2] for d in deciles],
        observed,
        "-o",
        color=ACCENT,
        label="corrected for the downsampling",
    )
    ax.errorbar(
        [d[2] for d in deciles],
        observed,
        yerr=spread,
        fmt="none",
        ecolor=ACCENT,
        elinewidth=1,
        capsize=2,
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-3, 1)
    ax.set_ylim(1e-4 * 5, 1)
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("mean predicted CTR in the decile (log scale)")
    ax.set_ylabel("observed CTR (log; bars \u00b13 SE)")
    ax.legend(loc="upper left")
    return fig


def main() -> None:
    rng = np.random.default_rng(5)  # the run below is seed 5 of platt_vs_isotonic
    y_cal, logit_cal, p_cal = overconfident_model(20_000, rng)  # held-out split
    y_test, logit_test, p_test = overconfident_model(20_000, rng)

    print("Reliability of the raw model on the test split:")
    print(f"{'bin':<7} {'n':>6} {'predicted':>9} {'observed':>8}")
    for b in reliability_bins(y_test, p_test):
        print(
            f"{b.lower:.1f}-{b.upper:.1f} {b.count:>6} "
            f"{b.mean_predicted:>9.3f} {b.fraction_positive:>8.3f}"
        )

    slope, intercept = fit_platt(logit_cal, y_cal)
    xs, fitted = fit_isotonic(p_cal, y_cal)
    candidates = {
        "raw": p_test,
        "Platt": apply_platt(logit_test, slope, intercept),
        "isotonic": apply_isotonic(p_test, xs, fitted),
    }
    print(f"\nPlatt fit on the calibration split: slope {slope:.2f}, ", end="")
    print(f"intercept {intercept:.2f}")
    print(f"{'model':<9} {'ECE':>6} {'Brier':>6} {'log loss':>8} {'ROC-AUC':>8}")
    for name, probs in candidates.items():
        print(
            f"{name:<9} {expected_calibration_error(y_test, probs):>6.3f} "
            f"{brier_score(y_test, probs):>6.3f} {log_loss(y_test, probs):>8.3f} "
            f"{roc_auc(y_test, probs):>8.4f}"
        )

    # One run can flatter either map: repeat with fresh splits, pair by seed.
    seeds = range(20)
    runs = [platt_vs_isotonic(seed) for seed in seeds]
    platt = np.array([r["Platt"] for r in runs])
    isotonic = np.array([r["isotonic"] for r in runs])
    difference = platt - isotonic
    print(f"\nOver {len(seeds)} seeds (both splits redrawn), Platt vs isotonic:")
    print("metric     Platt isotonic Platt lower  Platt - isotonic (95% CI)")
    for j, name in enumerate(("ECE", "Brier", "log loss")):
        d, low, high = paired_interval(difference[:, j])
        print(
            f"{name:<8} {platt[:, j].mean():>7.4f} {isotonic[:, j].mean():>8.4f} "
            f"{np.sum(difference[:, j] < 0):>5} of {len(seeds)}  "
            f"{d:+.4f} ({low:+.4f} to {high:+.4f})"
        )

    w = 0.05
    result = downsampling_experiment(200_000, negative_rate=w, seed=1)
    print(f"\nCTR model trained with negatives downsampled at w = {w}:")
    print(f"true CTR            {result['true_ctr']:.4f}")
    print(f"mean raw prediction {result['mean_raw']:.4f}", end="")
    print(f"  log loss {result['log_loss_raw']:.4f}")
    print(f"mean corrected      {result['mean_corrected']:.4f}", end="")
    print(f"  log loss {result['log_loss_corrected']:.4f}")
    print(
        f"base-rate predictor               log loss {result['log_loss_base_rate']:.4f}"
    )
    shift = result["fitted_intercept"] - result["true_intercept"]
    print(f"intercept shift {shift:.2f} vs -log(w) = {-np.log(w):.2f}")

    # Per bucket, not only the mean: deciles of the prediction on fresh data.
    print("\nReliability on fresh data, deciles of the prediction:")
    print(f"{'decile':<6} {'n':>6} {'raw':>7} {'corrected':>9} {'observed':>8}")
    for i, (n, raw, fixed, seen) in enumerate(downsampled_deciles(result), start=1):
        print(f"{i:<6} {n:>6} {raw:>7.4f} {fixed:>9.4f} {seen:>8.4f}")

    curved = downsampling_experiment(200_000, negative_rate=w, seed=1, curvature=0.4)
    print("\nMisspecified: the true logit has a 0.4 x^2 term the model lacks")
    print(f"true CTR {curved['true_ctr']:.4f}, mean corrected ", end="")
    print(f"{curved['mean_corrected']:.4f}, same model fit without ", end="")
    print(f"downsampling {curved['mean_full_fit']:.4f}")
    # Both models increase with x, so their deciles hold the same examples.
    y_curved = curved["test_labels"]
    corrected_bins = reliability_bins(
        y_curved, curved["corrected"], strategy="quantile"
    )
    full_bins = reliability_bins(y_curved, curved["full_fit"], strategy="quantile")
    print(f"{'decile':<6} {'n':>6} {'observed':>8} {'corrected':>9} {'fit on all':>10}")
    pairs = zip(corrected_bins, full_bins, strict=True)
    for i, (c, f) in enumerate(pairs, start=1):
        print(
            f"{i:<6} {c.count:>6} {c.fraction_positive:>8.4f} "
            f"{c.mean_predicted:>9.4f} {f.mean_predicted:>10.4f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
