"""Intervals for the headline comparisons of the miniatures.

Every worked problem and several concept demos compare two methods over a few seeds (or
worlds) on the same data: the per-seed differences are paired, and their mean gets a
t-interval. A difference whose interval contains zero is reported as a tie.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
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
