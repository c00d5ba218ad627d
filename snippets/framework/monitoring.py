"""Input drift detectors (PSI and the two-sample KS test) and what they cannot see.

A covariate shift moves the inputs and both detectors fire; a fresh sample from the
same distribution does not trip them. A concept drift changes P(y | x) with the
inputs untouched: PSI and KS stay quiet while accuracy falls.

Run it: ``python -m snippets.framework.monitoring``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.linear_model import LogisticRegression

REFERENCE_ROWS = 20_000  # the covariate demo's reference; its tiny shift uses 20x that


# --8<-- [start:validate]
def check_sample(values: ArrayLike, name: str) -> np.ndarray:
    """Return a 1-D float array of finite values, or raise saying what is wrong."""
    sample = np.asarray(values)
    if sample.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {sample.shape}")
    if sample.size == 0:
        raise ValueError(f"{name} is empty: a drift test needs observations")
    if not (np.issubdtype(sample.dtype, np.number) or sample.dtype == bool):
        raise TypeError(f"{name} must be numeric, got {sample.dtype}")
    sample = sample.astype(float)
    if not np.isfinite(sample).all():
        raise ValueError(f"{name} has NaN or inf: count missing values separately")
    return sample
    # --8<-- [end:validate]


# --8<-- [start:psi]
def psi(
    reference: ArrayLike,
    current: ArrayLike,
    n_bins: int = 10,
    epsilon: float = 1e-4,
) -> float:
    """Population stability index over bins cut at the reference's quantiles."""
    ref = check_sample(reference, "reference")
    cur = check_sample(current, "current")
    if not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    if not 0 < epsilon < 1 / n_bins:
        raise ValueError(f"epsilon must be in (0, 1/n_bins), got {epsilon}")
    # Equal-mass bins on the reference; ties in the reference can merge edges.
    inner = np.unique(np.quantile(ref, np.linspace(0, 1, n_bins + 1)[1:-1]))
    ref_share = (
        np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1)
        / ref.size
    )
    cur_share = (
        np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1)
        / cur.size
    )
    # An empty bin would give log(0): floor every share at epsilon, renormalise.
    ref_share = np.maximum(ref_share, epsilon) / np.maximum(ref_share, epsilon).sum()
    cur_share = np.maximum(cur_share, epsilon) / np.maximum(cur_share, epsilon).sum()
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    # --8<-- [end:psi]


# --8<-- [start:ks]
def ks_statistic(reference: ArrayLike, current: ArrayLike) -> float:
    """Largest gap between the two empirical CDFs (two-sample Kolmogorov-Smirnov D)."""
    ref = np.sort(check_sample(reference, "reference"))
    cur = np.sort(check_sample(current, "current"))
    pooled = np.concatenate([ref, cur])
    # Both CDFs only change at observed values, so the sup is attained at one of them.
    cdf_ref = np.searchsorted(ref, pooled, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, pooled, side="right") / cur.size
    return float(np.max(np.abs(cdf_ref - cdf_cur)))


def ks_test(reference: ArrayLike, current: ArrayLike) -> tuple[float, float]:
    """KS statistic and its asymptotic two-sided p-value (Smirnov's distribution)."""
    d = ks_statistic(reference, current)
    n, m = sorted([np.size(reference), np.size(current)], reverse=True)
    effective_n = n * m / (n + m)
    # Same choice as scipy.stats.ks_2samp(method="asymp"): the one-sample
    # Kolmogorov distribution evaluated at the effective sample size.
    p_value = float(np.clip(stats.kstwo.sf(d, np.round(effective_n)), 0.0, 1.0))
    return d, p_value
    # --8<-- [end:ks]


# --8<-- [start:covariate]
def covariate_shift_demo(n: int = REFERENCE_ROWS, seed: int = 0) -> dict[str, tuple]:
    """PSI and KS on: a fresh sample, a new-demographic influx, a tiny shift."""
    rng = np.random.default_rng(seed)
    reference = rng.normal(35, 10, n)  # e.g. user age in the training window
    same = rng.normal(35, 10, n)  # next week, nothing changed
    newcomers = rng.random(n) < 0.3  # a campaign brings 30% younger users
    influx = np.where(newcomers, rng.normal(20, 3, n), rng.normal(35, 10, n))
    big_n = 20 * n
    tiny = rng.normal(35.3, 10, big_n)  # a 0.03-sd nudge, measured on lots of data
    return {
        "same distribution": (psi(reference, same), *ks_test(reference, same)),
        "30% new demographic": (psi(reference, influx), *ks_test(reference, influx)),
        f"0.03 sd shift, n={big_n:,}": (
            psi(reference, tiny),
            *ks_test(reference, tiny),
        ),
    }


def false_alarm_rates(
    n_checks: int = 200, n: int = 5_000, alpha: float = 0.01, seed: int = 1
) -> tuple[float, float]:
    """Share of no-drift checks flagged by KS (p < alpha) and the largest PSI seen.

    Like a production monitor, every window is compared with one fixed reference,
    so the checks share its sampling error and are not independent.
    """
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=n)
    flagged, worst_psi = 0, 0.0
    for _ in range(n_checks):
        current = rng.normal(size=n)  # pure sampling noise
        flagged += ks_test(reference, current)[1] < alpha
        worst_psi = max(worst_psi, psi(reference, current))
    return flagged / n_checks, worst_psi


def psi_noise(
    n_reference: int = 2_000,
    n_current: int = 200,
    n_pairs: int = 2_000,
    threshold: float = 0.1,
    seed: int = 3,
) -> tuple[float, float]:
    """Mean PSI and share above threshold over independent no-drift pairs."""
    if min(n_reference, n_current, n_pairs) < 1:
        raise ValueError("sample sizes and n_pairs must be positive")
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            psi(rng.normal(size=n_reference), rng.normal(size=n_current))
            for _ in range(n_pairs)
        ]
    )
    return float(values.mean()), float(np.mean(values > threshold))
    # --8<-- [end:covariate]


# --8<-- [start:concept]
def concept_drift_demo(n: int = 20_000, seed: int = 2) -> dict[str, float]:
    """Same inputs, new labelling rule: monitors stay quiet, accuracy drops."""
    rng = np.random.default_rng(seed)

    def sample(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(n, 2))
        y = (x @ weights + rng.normal(0, 0.3, n) > 0).astype(int)
        return x, y

    before = np.array([2.0, 1.0])
    after = np.array([2.0, -1.5])  # fraudsters learn to fake signal 2
    x_train, y_train = sample(before)
    model = LogisticRegression().fit(x_train, y_train)
    x_same, y_same = sample(before)
    x_new, y_new = sample(after)
    score_ref = model.predict_proba(x_same)[:, 1]
    score_new = model.predict_proba(x_new)[:, 1]
    return {
        "max_feature_psi": max(psi(x_same[:, j], x_new[:, j]) for j in range(2)),
        "min_feature_ks_p": min(
            ks_test(x_same[:, j], x_new[:, j])[1] for j in range(2)
        ),
        "score_psi": psi(score_ref, score_new),
        "accuracy_before": float(np.mean(model.predict(x_same) == y_same)),
        "accuracy_after": float(np.mean(model.predict(x_new) == y_new)),
        # A flag is a function of x alone: same inputs, same share flagged.
        "flagged_before": float(np.mean(score_ref >= 0.5)),
        "flagged_after": float(np.mean(score_new >= 0.5)),
    }
    # --8<-- [end:concept]


def main() -> None:
    print(f"Covariate shift (reference: {REFERENCE_ROWS:,} users' ages)")
    print(f"{'current window':<28}{'PSI':>7}{'KS D':>8}{'KS p':>10}")
    for name, (index, d, p) in covariate_shift_demo().items():
        shown = f"{p:.2g}" if p > 1e-16 else "<1e-16"  # below that: float noise
        print(f"{name:<28}{index:>7.3f}{d:>8.3f}{shown:>10}")
    n, m = REFERENCE_ROWS, 20 * REFERENCE_ROWS  # the last row's two sample sizes
    print(
        f"  KS effective sample size of the last row, nm/(n+m): {n * m / (n + m):,.0f}"
    )
    rate, worst = false_alarm_rates()
    print("200 no-drift checks, 5,000-row windows against one 5,000-row reference:")
    print(f"  KS p < 0.01 in {rate:.1%}, largest PSI {worst:.4f}")
    mean, crossed = psi_noise()
    print("PSI noise: 2,000 fresh no-drift pairs, 2,000-row reference, 200-row window:")
    print(
        f"  mean {mean:.4f} (9 x (1/2,000 + 1/200) = {9 * (1 / 2000 + 1 / 200):.4f}), "
        f"{crossed:.1%} cross 0.1"
    )
    print()
    r = concept_drift_demo()
    print("Concept drift (inputs unchanged, labelling rule changed)")
    print(
        f"largest feature PSI {r['max_feature_psi']:.4f}, "
        f"smallest feature KS p {r['min_feature_ks_p']:.2f}, "
        f"score PSI {r['score_psi']:.4f}"
    )
    print(f"accuracy {r['accuracy_before']:.3f} -> {r['accuracy_after']:.3f}")
    print(
        f"share flagged (score >= 0.5) {r['flagged_before']:.3f} -> "
        f"{r['flagged_after']:.3f}"
    )


if __name__ == "__main__":
    main()
