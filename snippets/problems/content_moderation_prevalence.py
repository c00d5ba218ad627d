"""Prevalence of violating views: a stratified sample against a simple random one.

Prevalence is the share of views that were of violating content. Reviewers can
label only a fixed number of sampled views a day. A simple random sample of views
spends almost all of them on clean content; a sample stratified by the
classifier's score band (the band of every view is known from the logs, so the
bands' shares of views are exact) spends them where the violations are, and the
estimate stays unbiased whatever the classifier's quality: the model only decides
where to look, the reviewers' labels decide the answer.

The program is ``python -m snippets.problems.content_moderation``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from snippets.common.stats import clopper_pearson_interval, wilson_interval

VIEW_SHARES = (0.80, 0.15, 0.04, 0.01)  # strata: score bands by share of views
STRATUM_FLOOR = 20  # labels every stratum gets before the optimal allocation


def expected_wilson_width(share: float, n: int, confidence: float = 0.95) -> float:
    """Mean width of the Wilson interval of a simple random sample of n labels,
    exact over the binomial count of violating views."""
    x = np.arange(n + 1)
    low, high = wilson_interval(x, n, confidence)
    return float(np.sum(stats.binom.pmf(x, n, share) * (high - low)))


def srs_labels_for_width(
    shares: Sequence[float], width: float, confidence: float = 0.95
) -> int:
    """Fewest labels a simple random sample needs for a mean Wilson width <= width,
    averaged over populations with the given violating shares of views."""
    if not 0 < width < 1 or not all(0 < p < 1 for p in shares):
        raise ValueError("width and every share must be in (0, 1)")

    def mean_width(n: int) -> float:
        return float(np.mean([expected_wilson_width(p, n, confidence) for p in shares]))

    high = 1
    while mean_width(high) > width:  # doubling, then bisection: the width falls with n
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if mean_width(middle) > width else (low, middle)
    return high


def score_strata(
    score: ArrayLike, views: ArrayLike, view_shares: Sequence[float] = VIEW_SHARES
) -> np.ndarray:
    """Stratum of each item: bands of the score holding the given shares of views,
    from the lowest scores (most views, fewest violations) to the highest."""
    s, v = np.asarray(score, dtype=float), np.asarray(views, dtype=float)
    if s.shape != v.shape or s.ndim != 1 or s.size == 0:
        raise ValueError("score and views must be non-empty 1-D arrays of one length")
    if (v <= 0).any():
        raise ValueError("every item in the population must have views > 0")
    if not np.isclose(sum(view_shares), 1) or min(view_shares) <= 0:
        raise ValueError("view_shares must be positive and sum to 1")
    order = np.argsort(s, kind="stable")
    # Share of views up to the middle of each item, so an item holding more than a
    # band's share lands in one band only.
    cumulative = (np.cumsum(v[order]) - v[order] / 2) / v.sum()
    edges = np.cumsum(view_shares)[:-1]
    strata = np.empty(s.size, dtype=int)
    strata[order] = np.searchsorted(edges, cumulative)
    return strata


def neyman_allocation(
    weights: ArrayLike, guesses: ArrayLike, budget: int, floor: int = STRATUM_FLOOR
) -> np.ndarray:
    """Labels per stratum: a floor each, the rest in proportion to W_h x sd_h.

    sd_h = sqrt(g_h (1 - g_h)) from the classifier's guess g_h of the stratum's
    violation rate (Neyman, 1934); a wrong guess costs width, never bias.
    """
    w, g = np.asarray(weights, dtype=float), np.asarray(guesses, dtype=float)
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer):
        raise TypeError("budget must be an integer")
    if budget < floor * w.size:
        raise ValueError(f"budget {budget} is below the floor of {floor} a stratum")
    if w.shape != g.shape or (g < 0).any() or (g > 1).any() or (w <= 0).any():
        raise ValueError("weights > 0 and guesses in [0, 1], one per stratum")
    spread = w * np.sqrt(np.clip(g * (1 - g), 1e-6, None))
    extra = (budget - floor * w.size) * spread / spread.sum()
    n = floor + np.floor(extra).astype(int)
    # Largest remainders take the labels that rounding left over.
    n[np.argsort(-(extra - np.floor(extra)))[: budget - n.sum()]] += 1
    return n


# --8<-- [start:stratified]
def stratified_prevalence(
    positives: np.ndarray, labelled: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Prevalence and its variance from per-stratum labels (last axis: strata).

    Views are drawn with replacement within each stratum, and each stratum's share
    of all views, W_h, is known exactly from the logs.
    """
    rate = positives / labelled
    estimate = (weights * rate).sum(axis=-1)
    variance = (weights**2 * rate * (1 - rate) / (labelled - 1)).sum(axis=-1)
    return estimate, variance


def stratified_interval(
    estimate: np.ndarray, variance: np.ndarray, budget: int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson interval at the design's effective sample size
    p(1 - p) / variance (Korn and Graubard, 1998): inside [0, 1], not degenerate
    when few violations are seen, and wider upwards when the count is small."""
    with np.errstate(divide="ignore", invalid="ignore"):  # no violation seen: n
        n_eff = np.where(variance > 0, estimate * (1 - estimate) / variance, budget)
    return clopper_pearson_interval(estimate * n_eff, n_eff, confidence)
    # --8<-- [end:stratified]


def compare_designs(
    violating: ArrayLike,
    views: ArrayLike,
    score: ArrayLike,
    budget: int,
    repetitions: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray | float]:
    """Repeat both designs on one population; return the truth and, per design
    and repetition, the estimate, the interval and whether it covers the truth."""
    y, v, s = (np.asarray(a, dtype=float) for a in (violating, views, score))
    if not np.isin(y, (0, 1)).all() or not (y.shape == v.shape == s.shape):
        raise ValueError("violating must be 0/1, one per item, like views and score")
    if isinstance(repetitions, bool) or not isinstance(repetitions, int):
        raise TypeError("repetitions must be an integer")
    if repetitions < 1 or (s < 0).any() or (s > 1).any():
        raise ValueError("repetitions must be >= 1 and score a probability")
    truth = float((y * v).sum() / v.sum())
    # Views drawn with replacement and labelled by reviewers: the violating ones
    # among n draws from a pool are Binomial(n, the pool's violating view share).
    srs = rng.binomial(budget, truth, repetitions)
    srs_low, srs_high = wilson_interval(srs, budget)
    # Renumber the bands that hold items (one viral item can fill a band alone).
    strata = np.unique(score_strata(s, v), return_inverse=True)[1]
    weights = np.bincount(strata, weights=v) / v.sum()
    guesses = np.bincount(strata, weights=v * s)
    labelled = neyman_allocation(weights, guesses / (weights * v.sum()), budget)
    shares = np.bincount(strata, weights=v * y) / np.bincount(strata, weights=v)
    positives = rng.binomial(labelled, shares, (repetitions, weights.size))
    estimate, variance = stratified_prevalence(positives, labelled, weights)
    low, high = stratified_interval(estimate, variance, budget)
    return {
        "truth": truth,
        "labelled": labelled,
        "weights": weights,
        "srs_estimate": srs / budget,
        "srs_width": srs_high - srs_low,
        "srs_covers": (srs_low <= truth) & (truth <= srs_high),
        "stratified_estimate": estimate,
        "stratified_width": high - low,
        "stratified_covers": (low <= truth) & (truth <= high),
    }
