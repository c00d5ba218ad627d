"""Delivery ETA miniature: quantile gradient boosting vs a mean model with a buffer.

A synthetic world of drive legs (seeded). Each trip has a routing-engine ETA, an hour
and a road type; the true drive time is the routing ETA times a multiplier that
depends on the segment (city off-peak, city peak, highway), plus right-skewed noise
whose spread depends on the segment and grows with the trip's length. The noise is a
scaled log-normal, so every conditional quantile is known in closed form: the ground
truth that grades the models comes from the generator, not from any model.

Every model learns the residual over the routing engine's ETA. The promise is the
0.9-quantile (late costs nine times what early costs), the interval runs from the
0.1- to the 0.9-quantile. Run it through ``python -m snippets.problems.eta_prediction``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from snippets.common.stats import paired_interval
from snippets.concepts.regression_metrics import (
    check_regression_inputs,
    pinball_loss,
)

SEGMENTS = ("city off-peak", "city peak", "highway")
PEAK_HOURS = (7, 8, 17, 18)
LEVELS = (0.1, 0.9)  # the interval's ends; the upper one is the promised time
SHORT_TRIP_MINUTES = 15.0  # routing ETA below this is a "short" trip
CUTS = ("off-peak", "peak", "highway", "short", "long", "all")
N_TRAIN, N_CALIB, N_TEST, SEEDS = 4_000, 2_000, 8_000, (0, 1, 2, 3, 4)
METHODS_WITH_INTERVALS = (  # graded on the promise and on the 80% interval
    "true quantiles",
    "quantile GBM",
    "quantile GBM, conformal",
    "quantile GBM, conformal/segment",
    "mean + global residual",
    "mean + residual per segment",
)
BIAS_TOLD = "quantile GBM, ETA + true bias"  # knows each segment's bias, not spread
PROMISE_ONLY = ("quantile GBM, ETA only", BIAS_TOLD, "mean, no buffer")
TARGET = {"late": 0.10, "coverage": 0.80}  # 1 - 0.9 late; 0.9 - 0.1 inside
HIGHWAY_SHARE = 0.2
HOURS = np.arange(6, 23)  # delivery hours; peak hours weigh twice
HOUR_WEIGHT = np.where(np.isin(HOURS, PEAK_HOURS), 2.0, 1.0)


# --8<-- [start:world]
MULTIPLIER = np.array([1.05, 1.35, 0.95])  # true time / routing ETA, per segment
SPREAD = np.array([0.30, 1.20, 0.25])  # noise scale per sqrt(minute), per segment
SKEW = 0.5  # log-normal sigma: a long right tail (a blocked street, no parking)


def noise_quantile(q: ArrayLike) -> np.ndarray:
    """Quantile of the standardised noise: log-normal, centred, unit variance."""
    mean, var = np.exp(SKEW**2 / 2), (np.exp(SKEW**2) - 1) * np.exp(SKEW**2)
    return (np.exp(SKEW * norm.ppf(q)) - mean) / np.sqrt(var)


@dataclass(frozen=True)
class Trips:
    """A batch of drive legs with their truth (centre, spread) kept for grading."""

    features: np.ndarray  # routing ETA (min), hour of day, highway flag
    minutes: np.ndarray  # the actual drive time
    segment: np.ndarray  # 0 city off-peak, 1 city peak, 2 highway
    centre: np.ndarray  # routing ETA x the segment's multiplier
    spread: np.ndarray  # minutes per unit of standardised noise

    @property
    def route_eta(self) -> np.ndarray:
        return self.features[:, 0]

    def true_quantile(self, q: float) -> np.ndarray:
        """The conditional q-quantile of the drive time, from the generator."""
        return self.centre + self.spread * noise_quantile(q)


def simulate_trips(n: int, rng: np.random.Generator, *, calm: bool = False) -> Trips:
    """n trips: 20% highway; city trips at peak hours (weighted x2) are 'city peak'.

    calm=True keeps the trips and the noise draws but gives every trip one spread,
    CALM_SPREAD (the ablation).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    highway = rng.random(n) < HIGHWAY_SHARE
    hour = rng.choice(HOURS, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    segment = np.where(highway, 2, np.isin(hour, PEAK_HOURS).astype(int))
    route = np.where(highway, rng.uniform(10, 40, n), rng.uniform(5, 30, n))
    spread = SPREAD[segment] * np.sqrt(route)  # longer trips, wider spread
    if calm:
        spread = np.full(n, CALM_SPREAD)
    noise = noise_quantile(rng.random(n))  # inverse-CDF draw of the noise
    centre = route * MULTIPLIER[segment]
    features = np.column_stack([route, hour, highway])
    return Trips(features, centre + spread * noise, segment, centre, spread)
    # --8<-- [end:world]


def expected_shares() -> np.ndarray:
    """Each segment's expected share of trips, from the generator's rules."""
    peak = HOUR_WEIGHT[np.isin(HOURS, PEAK_HOURS)].sum() / HOUR_WEIGHT.sum()
    city = 1 - HIGHWAY_SHARE
    return np.array([city * (1 - peak), city * peak, HIGHWAY_SHARE])


# The calm world's spread, computed once from the generator (not from any batch), so the
# training, calibration and test draws share them. CALM_SPREAD is the root mean
# square of the heteroscedastic spread: spread^2 = SPREAD^2 x route, and a route's
# mean is its range's middle (17.5 min in the city, 25 on the highway).
MEAN_ROUTE = np.array([17.5, 17.5, 25.0])
CALM_SPREAD = float(np.sqrt(expected_shares() @ (SPREAD**2 * MEAN_ROUTE)))


def check_trips(*batches: object) -> None:
    """TypeError unless every argument is a Trips batch."""
    for trips in batches:
        if not isinstance(trips, Trips):
            raise TypeError(f"expected Trips, got {type(trips).__name__}")


def check_bounds(name: str, trips: Trips, *arrays: np.ndarray) -> None:
    """ValueError unless each array holds one finite number per trip."""
    for array in arrays:
        array = np.asarray(array, dtype=float)
        if array.shape != trips.minutes.shape or not np.isfinite(array).all():
            raise ValueError(
                f"{name} must hold {trips.minutes.size} finite values, one per trip"
            )


# --8<-- [start:models]
BOOSTING = dict(max_iter=30, max_leaf_nodes=8, learning_rate=0.25, early_stopping=False)
MODELS = ("q0.1", "q0.9", "mean")  # quantile GBMs at 0.1 and 0.9, a squared-error GBM


def fit_models(train: Trips, seed: int, columns=(0, 1, 2), names=MODELS) -> dict:
    """Gradient-boosted models of the routing engine's error, one per name."""
    check_fit(train, columns, names)
    x, residual = train.features[:, list(columns)], train.minutes - train.route_eta
    models = {}
    for name in names:
        loss = (
            {"loss": "squared_error"}  # the conditional mean
            if name == "mean"
            else {"loss": "quantile", "quantile": float(name[1:])}  # pinball loss
        )
        model = HistGradientBoostingRegressor(**loss, **BOOSTING, random_state=seed)
        models[name] = model.fit(x, residual)  # ETA = routing ETA + prediction
    return models
    # --8<-- [end:models]


def check_fit(train: Trips, columns, names) -> None:
    check_trips(train)
    if not set(columns) <= {0, 1, 2} or not columns:
        raise ValueError(
            f"columns must be a non-empty subset of (0, 1, 2), got {columns}"
        )
    if unknown := set(names) - set(MODELS):
        raise ValueError(f"unknown models {sorted(unknown)}: choose from {MODELS}")


def check_predictions(calib: Trips, at_calib, test: Trips, at_test) -> None:
    """TypeError or ValueError unless both batches are Trips with one value a trip."""
    check_trips(calib, test)
    check_bounds("predictions on the calibration trips", calib, at_calib)
    check_bounds("predictions on the test trips", test, at_test)


# --8<-- [start:band]
def residual_band(mean_at_calib, calib: Trips, mean_at_test, test: Trips, by_segment):
    """Mean + residual quantiles of a held-out set: one pair, or one per segment."""
    check_predictions(calib, mean_at_calib, test, mean_at_test)
    residual = calib.minutes - mean_at_calib
    lower, upper = np.empty_like(mean_at_test), np.empty_like(mean_at_test)
    for s in range(len(SEGMENTS)) if by_segment else [None]:
        rows = slice(None) if s is None else test.segment == s
        held_out = residual if s is None else residual[calib.segment == s]
        low, high = np.quantile(held_out, LEVELS)  # e.g. -2.1 and +2.9 minutes
        lower[rows], upper[rows] = mean_at_test[rows] + low, mean_at_test[rows] + high
    return lower, upper
    # --8<-- [end:band]


# --8<-- [start:conformal]
def conformal_margin(scores: ArrayLike, level: float) -> float:
    """Split-conformal margin: the ceil((n + 1) * level)-th smallest score."""
    ordered = np.sort(np.asarray(scores, dtype=float))
    if ordered.ndim != 1 or ordered.size == 0 or not np.isfinite(ordered).all():
        raise ValueError("scores must be a non-empty 1-D array of finite numbers")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rank = math.ceil((ordered.size + 1) * level)
    return math.inf if rank > ordered.size else float(ordered[rank - 1])


def conformalise(calib_bounds, calib: Trips, test_bounds, test: Trips, by_segment):
    """Shift each bound so a new trip falls beyond it with probability at most 10%
    (per segment when by_segment), given trips exchangeable with the held-out ones."""
    check_trips(calib, test)
    check_bounds("calib_bounds", calib, *calib_bounds)
    check_bounds("test_bounds", test, *test_bounds)
    (low_c, high_c), (low_t, high_t) = calib_bounds, test_bounds
    lower, upper = low_t.copy(), high_t.copy()
    for s in range(len(SEGMENTS)) if by_segment else [None]:
        held = slice(None) if s is None else calib.segment == s
        rows = slice(None) if s is None else test.segment == s
        y = calib.minutes[held]
        lower[rows] -= conformal_margin(low_c[held] - y, 1 - LEVELS[0])
        upper[rows] += conformal_margin(y - high_c[held], LEVELS[1])
    return lower, upper
    # --8<-- [end:conformal]


def late_share(y_true: ArrayLike, promise: ArrayLike) -> float:
    """Share of trips that arrive after the promised time."""
    actual, promised = check_regression_inputs(y_true, promise)
    return float(np.mean(actual > promised))


def coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actuals inside [lower, upper]."""
    actual, low = check_regression_inputs(y_true, lower)
    _, high = check_regression_inputs(y_true, upper)
    if np.any(low > high):
        raise ValueError("every lower bound must be at most its upper bound")
    return float(np.mean((actual >= low) & (actual <= high)))


def cut_masks(trips: Trips) -> dict[str, np.ndarray]:
    """Rows of each cut the tables report: segments, short and long trips, all."""
    short = trips.route_eta < SHORT_TRIP_MINUTES
    masks = {cut: trips.segment == s for s, cut in enumerate(CUTS[:3])}
    masks |= {"short": short, "long": ~short, "all": np.ones_like(short)}
    return masks


def grade(trips: Trips, upper: np.ndarray, lower: np.ndarray | None = None) -> dict:
    """Per cut: the promise's late share, pinball loss and excess over the true
    0.9-quantile (minutes); the interval's coverage when there is a lower bound."""
    out, truth = {}, trips.true_quantile(LEVELS[1])
    for cut, rows in cut_masks(trips).items():
        y, high = trips.minutes[rows], upper[rows]
        out["late", cut] = late_share(y, high)
        out["pinball", cut] = pinball_loss(y, high, LEVELS[1])
        out["excess", cut] = float(np.mean(high - truth[rows]))
        if lower is not None:
            out["coverage", cut] = coverage(y, lower[rows], high)
    return out


def run_seed(seed: int, n_train: int = N_TRAIN, n_calib: int = N_CALIB) -> dict:
    """One world: train, calibration and test draws; every method on the same test."""
    sizes = (n_train, n_calib, N_TEST)
    rng = np.random.default_rng(seed)
    train, calib, test = (simulate_trips(n, rng) for n in sizes)
    models = fit_models(train, seed)
    eta_only = fit_models(train, seed, columns=(0,), names=("q0.9",))

    def predict(fitted: dict, trips: Trips, name: str, columns=(0, 1, 2)):
        return trips.route_eta + fitted[name].predict(trips.features[:, list(columns)])

    gbm_c, gbm_t = ([predict(models, t, q) for q in MODELS[:2]] for t in (calib, test))
    mean_c, mean_t = predict(models, calib, "mean"), predict(models, test, "mean")
    bands = {  # (lower, upper) on the test trips
        "true quantiles": [test.true_quantile(q) for q in LEVELS],
        "quantile GBM": gbm_t,
        "quantile GBM, conformal": conformalise(gbm_c, calib, gbm_t, test, False),
        "quantile GBM, conformal/segment": conformalise(
            gbm_c, calib, gbm_t, test, True
        ),
        "mean + global residual": residual_band(mean_c, calib, mean_t, test, False),
        "mean + residual per segment": residual_band(mean_c, calib, mean_t, test, True),
    }
    graded = {name: grade(test, high, low) for name, (low, high) in bands.items()}
    graded["training trips"] = {("n", seg): int(np.sum(train.segment == s))
                                for s, seg in enumerate(CUTS[:3])}  # fmt: skip
    graded["quantile GBM, ETA only"] = grade(
        test, predict(eta_only, test, "q0.9", (0,))
    )
    graded["mean, no buffer"] = grade(test, mean_t)
    # Spread alone: told each segment's bias (the true centre), it sees only the ETA,
    # so all it lacks is where the noise is large.
    told = HistGradientBoostingRegressor(
        loss="quantile", quantile=LEVELS[1], **BOOSTING, random_state=seed
    ).fit(train.features[:, :1], train.minutes - train.centre)
    graded[BIAS_TOLD] = grade(test, test.centre + told.predict(test.features[:, :1]))
    # Ablation worlds: the same trips and noise draws. Calm: one spread for all.
    rng = np.random.default_rng(seed)
    train, calib, test = (simulate_trips(n, rng, calm=True) for n in sizes)
    calm = fit_models(train, seed, names=("q0.9", "mean"))
    mean_c, mean_t = predict(calm, calib, "mean"), predict(calm, test, "mean")
    upper_c, upper_t = predict(calm, calib, "q0.9"), predict(calm, test, "q0.9")
    graded["calm: quantile GBM"] = grade(test, upper_t)
    margin = conformal_margin(calib.minutes - upper_c, LEVELS[1])  # uses calib too
    graded["calm: quantile GBM, conformal"] = grade(test, upper_t + margin)
    graded["calm: mean + global residual"] = grade(
        test, residual_band(mean_c, calib, mean_t, test, False)[1]
    )
    return graded


def run_experiment(seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    """run_seed for each seed: per method, a dict of (metric, cut) -> value."""
    if len(seeds) < 2:
        raise ValueError("need at least two seeds for an interval")
    with threadpool_limits(limits=1):  # same trees, no idle threads spinning
        return [run_seed(seed) for seed in seeds]


def paired(runs: list[dict], a: str, b: str, key: tuple[str, str]) -> tuple:
    """Mean difference a - b over the seeds, with its 95% t-interval; b = "target"
    compares a with the metric's target (10% late, 80% coverage)."""
    if b == "target":
        return paired_interval([run[a][key] - TARGET[key[0]] for run in runs])
    return paired_interval([run[a][key] - run[b][key] for run in runs])


def seed_mean(runs: list[dict], method: str, key: tuple[str, str]) -> float:
    """A method's metric on one cut, averaged over the seeds."""
    return float(np.mean([run[method][key] for run in runs]))
