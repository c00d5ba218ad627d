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
def _mean_loss(
    actual: np.ndarray, predicted: np.ndarray, loss: str, quantile: float = 0.5
) -> np.ndarray:
    """Mean per-example loss over the last axis. ``predicted`` may be a column of
    constants, (m, 1) against (n,): then it scores m constant forecasts at once."""
    error = actual - predicted
    if loss == "squared":
        per_example = error**2
    elif loss == "absolute":
        per_example = np.abs(error)
    elif loss == "percentage":  # the callers rule out y = 0
        per_example = np.abs(error) / np.abs(actual)
    elif loss == "symmetric":  # 0 where both are 0
        scale = (np.abs(actual) + np.abs(predicted)) / 2
        per_example = np.divide(
            np.abs(error), scale, out=np.zeros_like(error), where=scale > 0
        )
    elif loss == "pinball":
        per_example = np.maximum(quantile * error, (quantile - 1) * error)
    else:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    return np.mean(per_example, axis=-1)


LOSSES = ("absolute", "percentage", "pinball", "squared", "symmetric")


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error: minimised by the conditional mean."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    return float(np.sqrt(_mean_loss(actual, predicted, "squared")))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error: minimised by the conditional median."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    return float(_mean_loss(actual, predicted, "absolute"))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error, as a fraction; undefined if any y_true is 0."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    if (actual == 0).any():
        raise ValueError("MAPE is undefined when y_true contains 0 (it divides by y)")
    return float(_mean_loss(actual, predicted, "percentage"))


def smape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Symmetric MAPE in [0, 2]: |e| / ((|y| + |y_hat|) / 2), 0 where both are 0."""
    actual, predicted = check_regression_inputs(y_true, y_pred)
    return float(_mean_loss(actual, predicted, "symmetric"))


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
    return float(_mean_loss(actual, predicted, "pinball", quantile))


def best_constant(y_true: ArrayLike, loss: str, quantile: float = 0.5) -> float:
    """The constant prediction with the lowest loss, found by search over y_true."""
    actual, _ = check_regression_inputs(y_true, y_true)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if loss == "percentage" and (actual == 0).any():
        raise ValueError("MAPE is undefined when y_true contains 0 (it divides by y)")
    if loss == "pinball" and not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    # Absolute, percentage and pinball losses are piecewise linear in c, so an
    # optimum sits at a data point; so does sMAPE's for non-negative data (between
    # two data points its slope can only turn from rising to falling). For squared
    # loss add the mean itself.
    candidates = np.r_[np.unique(actual), actual.mean()]
    # Score every candidate at once, a (candidates x examples) block at a time.
    blocks = np.array_split(candidates, max(1, candidates.size * actual.size // 10**6))
    values = np.concatenate(
        [_mean_loss(actual, block[:, None], loss, quantile) for block in blocks]
    )
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
    print("Best constant under sMAPE vs the median: one sample of 2,001, then")
    print("best / median over 30 more samples of 1,001 (min-max):")
    draw = {
        "log-normal (ETAs)": lambda g, n: g.lognormal(np.log(30), 0.4, size=n),
        "exponential": lambda g, n: g.exponential(30, size=n),
        "Pareto": lambda g, n: 10 * (1 + g.pareto(1.5, size=n)),
    }
    for name, sampler in draw.items():
        sample = eta if name.startswith("log") else sampler(rng, 2_001)
        print(f"  {name:<18} {best_constant(sample, 'symmetric'):>5.1f} vs ", end="")
        ratios = []  # each sample from its own seed: the spread across samples
        for seed in range(30):
            fresh = sampler(np.random.default_rng(seed), 1_001)
            ratios.append(best_constant(fresh, "symmetric") / np.median(fresh))
        print(f"{np.median(sample):>4.1f}   {min(ratios):.2f}-{max(ratios):.2f}")

    # Intermittent demand: mostly zero days, so the median is 0 and MAE and WAPE
    # reward forecasting nothing; MAPE is undefined. Each forecast comes from an
    # item's first 28 days and is scored on its next 28: out of sample.
    items, days = 500, 28
    sold = rng.random((items, 2 * days)) < 0.4
    demand = sold * (1 + rng.poisson(2.0, size=(items, 2 * days))).astype(float)
    history, future = demand[:, :days], demand[:, days:]
    print(f"\nIntermittent demand: {items} items, a sale on 40% of days; each")
    print(f"forecast is fitted on {days} days and scored on the next {days}:")
    try:
        mape(future[0], np.zeros(days))
    except ValueError as error:
        print(f"  MAPE: ValueError: {error}")
    # sMAPE is 0/0 on a day with no sale and a zero forecast. The metric above
    # scores such a day 0 (perfect); the other convention drops it.
    zero_days = np.mean(future == 0)
    print(f"  sMAPE is 0/0 on the {zero_days:.1%} of days with no sale when the")
    print("  forecast is 0: '0/0=0' scores them 0 (perfect), 'dropped' skips them")

    def smape_dropped(y: np.ndarray, f: np.ndarray) -> float:
        defined = (y != 0) | (f != 0)
        return smape(y[defined], f[defined])  # raises if no day is defined

    forecasts = {
        "0 (median)": np.zeros(items),
        "mean": history.mean(axis=1),
        "0.9-quantile": np.quantile(history, 0.9, axis=1, method="inverted_cdf"),
    }
    metrics = {
        "WAPE": wape,
        "sMAPE 0/0=0": smape,
        "sMAPE dropped": smape_dropped,
        "RMSE": rmse,
        "pinball 0.9": lambda y, f: pinball_loss(y, f, 0.9),
    }

    def mean_over_items(metric, constants: np.ndarray) -> float:
        scores = []
        for y, c in zip(future, constants, strict=True):
            try:  # skip an item where the metric is undefined (WAPE with no sale)
                scores.append(metric(y, np.full(days, c)))
            except ValueError:
                continue
        return float(np.mean(scores))

    widths = (5, 7, 7, 5, 7)
    for header in (
        ("WAPE", "sMAPE", "sMAPE", "RMSE", "pinball"),
        ("", "0/0=0", "dropped", "", "0.9"),
    ):
        label = "mean over items" if header[0] else ""
        cells = " ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True))
        print(f"  {label:<15} {cells}")
    for name, value in forecasts.items():
        scores = [mean_over_items(metric, value) for metric in metrics.values()]
        print(
            f"  {name:<15} {scores[0]:>5.3f} {scores[1]:>7.3f} {scores[2]:>7.3f} "
            f"{scores[3]:>5.2f} {scores[4]:>7.3f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
