"""Statistics of an LLM evaluation platform: agreement, order, intervals, gates.

- weighted Cohen's kappa on an ordered 1-5 scale, and bootstrap intervals for it;
- the win rate of B over A from a pairwise judge asked in both orders;
- paired and unpaired bootstrap intervals for B minus A on the same prompts;
- a length-controlled win rate (a two-feature logistic regression);
- release gates over several capabilities: non-inferiority and its alternatives.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats

WEIGHTS = (None, "linear", "quadratic")


def _labels_and_codes(a, b, labels):
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError("need two non-empty 1-D label arrays of the same length")
    found = np.union1d(a, b)
    labels = found if labels is None else np.asarray(labels)
    if labels.ndim != 1 or labels.size < 2 or np.unique(labels).size != labels.size:
        raise ValueError("labels must list at least two distinct categories")
    if not np.isin(found, labels).all():
        raise ValueError(f"labels {labels.tolist()} miss some observed values")
    index = {value: i for i, value in enumerate(labels.tolist())}
    codes_a = np.array([index[v] for v in a.tolist()])
    codes_b = np.array([index[v] for v in b.tolist()])
    return labels.size, codes_a, codes_b


def _weight_matrix(k: int, weights: str | None) -> np.ndarray:
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    gap = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    if weights is None:
        return (gap > 0).astype(float)
    return gap if weights == "linear" else gap**2


# --8<-- [start:kappa]
def _kappa(confusion: np.ndarray, disagreement: np.ndarray):
    """1 - observed disagreement / chance disagreement, for a stack of tables.

    Chance: the two raters keep their own label shares but label independently,
    so the expected table is the outer product of the two margins.
    """
    observed = confusion / confusion.sum(axis=(-2, -1), keepdims=True)
    rows, cols = observed.sum(axis=-1), observed.sum(axis=-2)
    chance = rows[..., :, None] * cols[..., None, :]
    expected_cost = (chance * disagreement).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - (observed * disagreement).sum(axis=(-2, -1)) / expected_cost


def weighted_kappa(a, b, weights: str | None = "quadratic", labels=None) -> float:
    """Cohen's kappa on ordered categories: a disagreement of d steps costs d
    (linear) or d squared (quadratic), or 1 whatever its size (weights=None)."""
    k, codes_a, codes_b = _labels_and_codes(a, b, labels)
    confusion = np.bincount(codes_a * k + codes_b, minlength=k * k).reshape(k, k)
    value = _kappa(confusion, _weight_matrix(k, weights))
    if not np.isfinite(value):
        raise ValueError("both raters use one label only: kappa is undefined")
    return float(value)
    # --8<-- [end:kappa]


def _check_boot(n_boot: int, level: float) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def _resample_counts(rng, n: int, n_boot: int) -> np.ndarray:
    """How often each of n items is drawn, for n_boot resamples: (n_boot, n)."""
    draws = rng.integers(0, n, (n_boot, n)) + n * np.arange(n_boot)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n)


def agreement_bootstrap(
    human,
    graders: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    n_boot: int = 1000,
    labels=(1, 2, 3, 4, 5),
) -> dict[str, dict[str, np.ndarray]]:
    """Each grader against the same human grades: exact agreement, mean offset
    (grader minus human), Pearson r, linear and quadratic kappa.

    Returns grader -> measure -> n_boot + 1 values: the full sample's first, then
    one per bootstrap resample of the items. Every grader sees the same resamples,
    so the difference of two graders' values is a paired bootstrap.
    """
    _check_boot(n_boot, 0.95)
    if not isinstance(graders, Mapping) or not graders:
        raise TypeError("graders must be a non-empty mapping: name -> grades")
    h = np.asarray(human, dtype=float)
    weights = np.vstack(
        [np.ones(h.size), _resample_counts(rng, h.size, n_boot)]
    )  # (n_boot + 1, n): how often each item is drawn
    return {
        name: _measures(human, grades, weights, labels)
        for name, grades in graders.items()
    }


def _measures(human, grades, w: np.ndarray, labels) -> dict[str, np.ndarray]:
    k, codes_h, codes_j = _labels_and_codes(human, grades, labels)
    h, j = np.asarray(human, float), np.asarray(grades, float)
    m = w.shape[0]
    cells = (codes_h * k + codes_j + k * k * np.arange(m)[:, None]).ravel()
    tables = np.bincount(cells, w.ravel(), m * k * k).reshape(m, k, k)
    n = w.sum(axis=1)
    mean_h, mean_j = w @ h / n, w @ j / n
    var_h, var_j = w @ (h * h) / n - mean_h**2, w @ (j * j) / n - mean_j**2
    with np.errstate(invalid="ignore", divide="ignore"):
        pearson = (w @ (h * j) / n - mean_h * mean_j) / np.sqrt(var_h * var_j)
    return {
        "exact": np.trace(tables, axis1=1, axis2=2) / n,
        "offset": mean_j - mean_h,
        "pearson": pearson,
        "linear": _kappa(tables, _weight_matrix(k, "linear")),
        "quadratic": _kappa(tables, _weight_matrix(k, "quadratic")),
    }


def interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """(full-sample value, low, high) from agreement_bootstrap's values: a
    percentile interval over the resamples."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 101:
        raise ValueError("need the full-sample value and at least 100 resamples")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    low, high = np.nanquantile(v[1:], [(1 - level) / 2, (1 + level) / 2])
    return float(v[0]), float(low), float(high)


def grade_map(judge, human, labels=(1, 2, 3, 4, 5)) -> dict[int, int]:
    """For each judge grade, the median human grade of the items the judge gave it
    (an ordinal scale has a median, not a mean; halves round up), fitted on
    labelled items; a grade never seen maps to itself. It undoes an offset; it
    cannot undo noise, nor split grades the judge merged."""
    j, h = np.asarray(judge), np.asarray(human)
    if j.ndim != 1 or j.shape != h.shape or j.size == 0:
        raise ValueError("need two non-empty 1-D grade arrays of the same length")
    return {
        g: int(np.floor(np.median(h[j == g]) + 0.5)) if (j == g).any() else g
        for g in labels
    }


# --8<-- [start:swap-rate]
def win_rate_both_orders(b_wins_second, b_wins_first) -> dict[str, float]:
    """B's win rate from a pairwise judge asked in both orders on the same pairs.

    A pair whose verdict flips with the order counts as a tie (half a win): the
    judge preferred the slot, not the answer. The first-slot rate is the share of
    all calls won by whichever answer was shown first (0.5 without position bias).
    """
    second, first = _verdicts(b_wins_second, b_wins_first)
    return {
        "b second only": float(second.mean()),
        "b first only": float(first.mean()),
        "both orders": float((second.mean() + first.mean()) / 2),
        "consistent": float(np.mean(second == first)),
        "first slot wins": float((first.mean() + 1 - second.mean()) / 2),
    }
    # --8<-- [end:swap-rate]


def _verdicts(b_wins_second, b_wins_first):
    second, first = np.asarray(b_wins_second), np.asarray(b_wins_first)
    if second.ndim != 1 or second.shape != first.shape or second.size == 0:
        raise ValueError("need two non-empty 1-D verdict arrays of the same length")
    if second.dtype != bool or first.dtype != bool:
        raise TypeError("verdicts must be boolean arrays (True: B won the call)")
    return second, first


def bootstrap_means(x, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Means of n_boot resamples of x, each n draws with replacement.

    A resample's mean depends only on how often each distinct value is drawn, and
    those counts are multinomial: the same distribution as drawing rows, at the
    cost of the number of distinct values (a 1-5 grade difference has nine).
    """
    _check_boot(n_boot, 0.95)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
        raise ValueError("x must be a non-empty 1-D array of finite numbers")
    values, counts = np.unique(x, return_counts=True)
    draws = rng.multinomial(counts.sum(), counts / counts.sum(), size=n_boot)
    return draws @ values / counts.sum()


# --8<-- [start:bootstrap]
def bootstrap_difference(
    scores_a,
    scores_b,
    rng: np.random.Generator,
    paired: bool = True,
    n_boot: int = 2000,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of B minus mean of A on the same prompts, with a percentile bootstrap
    interval: (difference, low, high).

    Paired: resample prompts and keep both systems' scores of each drawn prompt,
    so the prompt's difficulty cancels in the difference. Unpaired: resample each
    system's scores on their own, as if the two had answered different prompts.
    """
    a, b = _scores(scores_a, scores_b)
    _check_boot(n_boot, level)
    if paired:
        boot = bootstrap_means(b - a, rng, n_boot)
    else:
        boot = bootstrap_means(b, rng, n_boot) - bootstrap_means(a, rng, n_boot)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(b.mean() - a.mean()), float(low), float(high)
    # --8<-- [end:bootstrap]


def _scores(scores_a, scores_b):
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or a.size < 2:
        raise ValueError("need two 1-D score arrays of the same length (>= 2)")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite")
    return a, b


def logistic_fit(features, outcome, iterations: int = 50) -> np.ndarray:
    """Maximum-likelihood logistic regression with an intercept, by Newton's method:
    (intercept, coefficients...)."""
    x = np.asarray(features, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.size or y.size < x.shape[1] + 2:
        raise ValueError("features (n, p) and outcome (n,) with n > p + 1")
    if not np.isin(y, (0.0, 1.0)).all() or y.min() == y.max():
        raise ValueError("outcome must hold both 0 and 1, and nothing else")
    design = np.column_stack([np.ones(y.size), x])
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-design @ beta))
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


# --8<-- [start:length-control]
def length_controlled_win_rate(b_wins_second, b_wins_first, log_len_a, log_len_b):
    """B's win rate had its answers been as long as A's (length-controlled).

    Fit P(B wins a call) on B's slot (+1 first, -1 second) and the log length
    ratio, then predict at a ratio of 0, averaged over the two slots. Valid only
    if length carries no quality of its own: otherwise it removes real gains too.
    """
    second, first = _verdicts(b_wins_second, b_wins_first)
    gap = np.asarray(log_len_b, float) - np.asarray(log_len_a, float)
    if gap.shape != second.shape:
        raise ValueError("one log length per pair for each system")
    slot = np.r_[-np.ones(second.size), np.ones(first.size)]
    beta = logistic_fit(np.column_stack([slot, np.r_[gap, gap]]), np.r_[second, first])
    at_equal_length = beta[0] + np.array([-1.0, 1.0]) * beta[1]
    return float(np.mean(1 / (1 + np.exp(-at_equal_length))))
    # --8<-- [end:length-control]


def lower_bounds(differences, alpha: float = 0.05) -> np.ndarray:
    """One-sided (1 - alpha) t lower bounds of the mean of paired differences,
    over the last axis (vectorised over runs and capabilities)."""
    d = np.asarray(differences, dtype=float)
    if d.ndim < 1 or d.shape[-1] < 2:
        raise ValueError("need at least two paired differences per mean")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    n = d.shape[-1]
    half = stats.t.ppf(1 - alpha, n - 1) * d.std(axis=-1, ddof=1) / np.sqrt(n)
    return d.mean(axis=-1) - half


# --8<-- [start:gates]
def gate_passes(differences, margin: float) -> dict[str, np.ndarray]:
    """Three release gates on B minus A, per run: differences (runs, capabilities,
    prompts). True where the release passes.

    - any mean lower: block if any capability's mean difference is below zero;
    - signif. worse: block if any capability is worse at 5% (two-sided paired t
      test), each capability tested on its own;
    - non-inferior: pass only if every capability's one-sided 95% lower bound
      is above -margin.
    """
    d = _differences(differences, margin)
    n, mean = d.shape[-1], d.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (d.std(axis=-1, ddof=1) / np.sqrt(n))
    worse = t < stats.t.ppf(0.025, n - 1)
    return {
        "any mean lower": (mean >= 0).all(axis=-1),
        "signif. worse": ~worse.any(axis=-1),
        "non-inferior": (lower_bounds(d) > -margin).all(axis=-1),
    }
    # --8<-- [end:gates]


def _differences(differences, margin):
    d = np.asarray(differences, dtype=float)
    if d.ndim != 3 or d.shape[-1] < 2:
        raise ValueError("differences must be (runs, capabilities, prompts >= 2)")
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin}")
    return d
