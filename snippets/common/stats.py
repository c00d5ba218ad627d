"""Intervals for the headline comparisons of the miniatures, and for proportions.

Every worked problem and several concept demos compare two methods over a few seeds (or
worlds) on the same data: the per-seed differences are paired, and their mean gets a
t-interval. A difference whose interval contains zero is reported as a tie.

Proportions (a measured rate, a prevalence from labels, a miss rate from an audit) get
the Wilson score interval, or the exact Clopper-Pearson one where coverage must hold for
every true rate; both accept an effective sample size that is not a whole number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


def paired_interval(
    differences: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of paired differences and its t-interval: (mean, low, high)."""
    d = np.asarray(differences, dtype=float)
    if d.ndim != 1 or d.size < 2:
        raise ValueError("need at least two paired differences for an interval")
    if not np.all(np.isfinite(d)):
        raise ValueError("differences must be finite numbers")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    half = stats.t.ppf((1 + confidence) / 2, d.size - 1) * d.std(ddof=1)
    half /= np.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def is_tie(low: float, high: float) -> bool:
    """An interval that contains zero: the two methods are not told apart."""
    if low > high:
        raise ValueError(f"low ({low}) must not exceed high ({high})")
    return low <= 0.0 <= high


def _proportion_inputs(successes, n, confidence: float):
    x, size = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(size))):
        raise ValueError("successes and n must be finite numbers")
    if (size <= 0).any() or (x < 0).any() or (x > size).any():
        raise ValueError("need 0 <= successes <= n and n > 0")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return x, size


def _as_given(low: np.ndarray, high: np.ndarray, scalar: bool):
    return (float(low), float(high)) if scalar else (low, high)


def wilson_interval(successes: ArrayLike, n: ArrayLike, confidence: float = 0.95):
    """Wilson score interval of a proportion, element-wise; exactly 0 and 1 at the
    ends (all failures, all successes). Floats for scalar input, else arrays."""
    x, size = _proportion_inputs(successes, n, confidence)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = x / size
    denominator = 1 + z**2 / size
    centre = (p + z**2 / (2 * size)) / denominator
    half = z * np.sqrt(p * (1 - p) / size + z**2 / (4 * size**2)) / denominator
    low = np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(x == size, 1.0, np.clip(centre + half, 0.0, 1.0))
    return _as_given(low, high, x.ndim == 0 and size.ndim == 0)


def clopper_pearson_interval(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
):
    """Clopper-Pearson (exact) interval from beta quantiles, element-wise; n may be
    an effective sample size, as Korn and Graubard (1998) use it for surveys."""
    x, size = _proportion_inputs(successes, n, confidence)
    alpha = 1 - confidence
    with np.errstate(divide="ignore", invalid="ignore"):
        low = stats.beta.ppf(alpha / 2, x, size - x + 1)
        high = stats.beta.ppf(1 - alpha / 2, x + 1, size - x)
    low, high = np.where(x > 0, low, 0.0), np.where(x < size, high, 1.0)
    return _as_given(low, high, x.ndim == 0 and size.ndim == 0)
