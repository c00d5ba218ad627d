"""Regression and forecasting metrics in numpy, checked against scikit-learn.

Run it: ``python -m snippets.concepts.regression_metrics``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


# --8<-- [start:validate]
def check_regression_inputs(
    y_true: ArrayLike, y_pred: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Return targets and predictions as float arrays, or raise ValueError."""
    actual = np.asarray(y_true, dtype=float)
    predicted = np.asarray(y_pred, dtype=float)
    if actual.ndim != 1 or predicted.ndim != 1:
        raise ValueError("y_true and y_pred must be 1-D arrays")
    if actual.size == 0:
        raise ValueError("y_true is empty: a metric needs at least one example")
    if actual.shape != predicted.shape:
        raise ValueError(
            f"y_true has {actual.size} items but y_pred has {predicted.size}: "
            "they must have the same length"
        )
    if not (np.isfinite(actual).all() and np.isfinite(predicted).all()):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf)")
    return actual, predicted
    # --8<-- [end:validate]


# --8<-- [start:metrics]
def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error: minimised by the conditional mean."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error: minimised by the conditional median."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    return float(np.mean(np.abs(actual - predicted)))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error, as a fraction; undefined if any y_true is 0."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    if (actual == 0).any():
        raise ValueError("MAPE is undefined when y_true contains 0 (it divides by y)")
    return float(np.mean(np.abs(actual - predicted) / np.abs(actual)))


def smape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Symmetric MAPE in [0, 2]: |e| / ((|y| + |y_hat|) / 2), 0 where both are 0."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    scale = (np.abs(actual) + np.abs(predicted)) / 2
    ratio = np.divide(
        np.abs(actual - predicted), scale, out=np.zeros_like(scale), where=scale > 0
    )
    return float(np.mean(ratio))


def wape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Weighted absolute percentage error: sum |e| / sum |y| (MAE / mean |y|)."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    total = np.sum(np.abs(actual))
    if total == 0:
        raise ValueError("WAPE is undefined when every y_true is 0")
    return float(np.sum(np.abs(actual - predicted)) / total)
    # --8<-- [end:metrics]


# --8<-- [start:pinball]
def pinball_loss(y_true: ArrayLike, y_pred: ArrayLike, quantile: float) -> float:
    """Quantile loss: under-prediction costs q per unit, over-prediction 1 - q."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    error = actual - predicted
    return float(np.mean(np.maximum(quantile * error, (quantile - 1) * error)))


def best_constant(y_true: ArrayLike, loss: str, quantile: float = 0.5) -> float:
    """The constant prediction with the lowest loss, found by search over y_true."""
    actual, _ = check_regression_inputs(y_true, y_true)
    losses = {
        "squared": lambda c: rmse(actual, np.full_like(actual, c)),
        "absolute": lambda c: mae(actual, np.full_like(actual, c)),
        "percentage": lambda c: mape(actual, np.full_like(actual, c)),
        "symmetric": lambda c: smape(actual, np.full_like(actual, c)),
        "pinball": lambda c: pinball_loss(actual, np.full_like(actual, c), quantile),
    }
    if loss not in losses:
        raise ValueError(f"loss must be one of {sorted(losses)}, got {loss!r}")
    # Absolute, percentage and pinball losses are piecewise linear in c, so an
    # optimum sits at a data point; so does sMAPE's for non-negative data (between
    # two data points its slope can only turn from rising to falling). For squared
    # loss add the mean itself.
    candidates = np.r_[np.unique(actual), actual.mean()]
    values = [losses[loss](c) for c in candidates]
    return float(candidates[int(np.argmin(values))])
    # --8<-- [end:pinball]


# --8<-- [start:demo]
def main() -> None:
    rng = np.random.default_rng(11)
    # Delivery times in minutes: right-skewed, like most durations and demand.
    eta = rng.lognormal(mean=np.log(30), sigma=0.4, size=2_001)
    print(f"Delivery times (n = {eta.size}): mean {eta.mean():.1f}, ", end="")
    print(f"median {np.median(eta):.1f}, p90 {np.quantile(eta, 0.9):.1f} min")
    print("Best constant forecast under each loss:")
    for loss in ("squared", "absolute", "percentage", "symmetric"):
        print(f"  {loss:<10} -> {best_constant(eta, loss):.1f}")
    print(f"  pinball q=0.9 -> {best_constant(eta, 'pinball', 0.9):.1f}")
    # MAPE weighs each order by 1/y: its optimum is the 1/y-weighted median.
    order = np.argsort(eta)
    weight_share = np.cumsum(1 / eta[order]) / np.sum(1 / eta)
    weighted_median = eta[order][np.searchsorted(weight_share, 0.5)]
    print(f"1/y-weighted median {weighted_median:.1f}")
    for name, value in (("mean", eta.mean()), ("p90", np.quantile(eta, 0.9))):
        print(f"Orders later than the {name}: {np.mean(eta > value):.1%}")

    # One gross outlier (a 600-minute order: a data error or a lost courier).
    forecast = np.full(eta.size, np.median(eta))
    with_outlier = eta.copy()
    with_outlier[0] = 600.0
    print("\nOne outlier of 600 min among 2,001 orders:")
    print(f"  RMSE {rmse(eta, forecast):.2f} -> {rmse(with_outlier, forecast):.2f}")
    print(f"  MAE  {mae(eta, forecast):.2f} -> {mae(with_outlier, forecast):.2f}")

    # Percentage errors: which value is held fixed decides the asymmetry.
    print("\nActual 100, forecast 50 vs actual 50, forecast 100:")
    print(f"  MAPE  {mape([100], [50]):.2f} vs {mape([50], [100]):.2f}")
    print("Actual 100, forecast 50 vs forecast 150:")
    print(f"  MAPE  {mape([100], [50]):.2f} vs {mape([100], [150]):.2f}")
    print(f"  sMAPE {smape([100], [50]):.2f} vs {smape([100], [150]):.2f}")
    print("Forecast 100, actual 150 vs actual 50:")
    print(f"  sMAPE {smape([150], [100]):.2f} vs {smape([50], [100]):.2f}")
    print("Best constant under sMAPE vs the median:")
    skewed = {
        "log-normal (ETAs)": eta,
        "exponential": rng.exponential(30, size=2_001),
        "Pareto": 10 * (1 + rng.pareto(1.5, size=2_001)),
    }
    for name, sample in skewed.items():
        print(f"  {name:<18} {best_constant(sample, 'symmetric'):>5.1f} vs ", end="")
        print(f"{np.median(sample):.1f}")

    # Intermittent demand: mostly zero days. The median is 0, so MAE and WAPE
    # reward forecasting nothing; MAPE is undefined.
    demand = (rng.random(28) < 0.4) * (1 + rng.poisson(2.0, size=28)).astype(float)
    print(
        f"\nIntermittent demand, {int((demand == 0).sum())} zero days of 28, ", end=""
    )
    print(f"mean {demand.mean():.2f}:")
    try:
        mape(demand, np.zeros(28))
    except ValueError as error:
        print(f"  MAPE: ValueError: {error}")
    print(
        f"  {'forecast':<14} {'WAPE':>5} {'sMAPE':>5} {'RMSE':>5} {'pinball 0.9':>11}"
    )
    forecasts = {
        "0 (median)": 0.0,
        "mean": demand.mean(),
        "0.9-quantile": np.quantile(demand, 0.9, method="inverted_cdf"),
    }
    for name, value in forecasts.items():
        f = np.full(28, value)
        print(
            f"  {name:<14} {wape(demand, f):>5.3f} {smape(demand, f):>5.3f} "
            f"{rmse(demand, f):>5.2f} {pinball_loss(demand, f, 0.9):>11.3f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
