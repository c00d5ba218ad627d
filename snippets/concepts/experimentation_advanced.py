"""Reading experiments beyond the basic A/B test: proxies validated on past
experiments, A/A tests, pre-period balance and carry-over, many metrics, and
the design effect (novelty, clusters, budget splits and bandits are in
``experimentation_designs``).

Reuses ``experimentation`` (CUPED). Run it:
``python -m snippets.concepts.experimentation_advanced``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from snippets.concepts.experimentation import STANDARD_NORMAL, cuped_adjust


def check_probability(name: str, value: float) -> None:
    """Raise ValueError unless ``value`` is strictly between 0 and 1."""
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")


def check_counts(minimum: int = 2, **counts: int) -> None:
    """Raise TypeError unless each count is an integer, ValueError if below minimum."""
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value!r}")


def min_to_max(values: list[float], fmt: str) -> str:
    """A spread over seeds, as text: "min to max"."""
    return f"{min(values):{fmt}} to {max(values):{fmt}}"


def _check_effects(x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim != 1 or x.shape != y.shape or x.size < 4:
        raise ValueError("one effect per experiment for each metric, 4+ experiments")


def _check_p_values(p: np.ndarray, minimum: int = 1) -> None:
    if p.ndim == 0 or p.shape[-1] < minimum or ((p < 0) | (p > 1)).any():
        raise ValueError(f"need an array of {minimum}+ p-values in [0, 1]")


def _check_aa(p: np.ndarray, alpha: float) -> None:
    if p.ndim != 1:
        raise ValueError("p_values: one p-value per A/A test, as a 1-D array")
    _check_p_values(p, minimum=10)
    check_probability("alpha", alpha)


def _check_design(cluster_size: int, icc: float) -> None:
    if cluster_size < 1:
        raise ValueError(f"cluster_size must be at least 1, got {cluster_size!r}")
    if not 0 <= icc <= 1:
        raise ValueError(f"icc must be in [0, 1], got {icc!r}")


# --8<-- [start:proxy]
def effect_correlation(
    proxy_effects: ArrayLike, long_term_effects: ArrayLike
) -> tuple[float, float, float]:
    """Correlation of two metrics' treatment effects across past experiments,
    with a 95% interval (Fisher's z): (r, low, high)."""
    x = np.asarray(proxy_effects, dtype=float)
    y = np.asarray(long_term_effects, dtype=float)
    _check_effects(x, y)
    r = float(np.corrcoef(x, y)[0, 1])
    half_width = STANDARD_NORMAL.inv_cdf(0.975) / math.sqrt(x.size - 3)
    z = math.atanh(r)
    return r, math.tanh(z - half_width), math.tanh(z + half_width)
    # --8<-- [end:proxy]


# --8<-- [start:past_experiments]
def past_experiments(
    n_experiments: int, users_per_arm: int, seed: int
) -> dict[str, np.ndarray]:
    """Effects of past experiments on two proxies and on the long-term metric,
    plus each proxy's correlation with it across users (levels).

    A user's engagement drives all three metrics equally, so each proxy's level
    correlates 0.5 with the long-term metric, and so do the estimation errors
    of the effects, measured on the same users. A change has a real value
    (moves all three) and a clickbait part (doubles in clicks, costs half as
    much in the long term, leaves active days alone): with equal spreads, the
    true effects on clicks and on the long-term metric have covariance 0.
    """
    check_counts(n_experiments=n_experiments, users_per_arm=users_per_arm)
    rng = np.random.default_rng(seed)
    value, clickbait = rng.normal(0, 0.05, (2, n_experiments))
    lifts = {
        "clicks": value + 2 * clickbait,
        "active_days": value,
        "long_term": value - 0.5 * clickbait,
    }
    treated = np.repeat([False, True], users_per_arm)
    effects = {name: np.empty(n_experiments) for name in lifts}
    for k in range(n_experiments):
        engagement = rng.normal(0, 1, treated.size)
        metrics = {
            name: engagement + rng.normal(0, 1, treated.size) + treated * lift[k]
            for name, lift in lifts.items()
        }
        for name, metric in metrics.items():
            effects[name][k] = metric[treated].mean() - metric[~treated].mean()
    control = metrics["long_term"][~treated]  # levels, in the last experiment
    levels = {
        f"level_{name}": np.corrcoef(metrics[name][~treated], control)[0, 1]
        for name in ("clicks", "active_days")
    }
    return {**effects, **levels}
    # --8<-- [end:past_experiments]


# --8<-- [start:aa]
def aa_check(p_values: ArrayLike, alpha: float = 0.05) -> tuple[float, float]:
    """A/A tests: share significant at alpha, and the Kolmogorov-Smirnov p-value
    of the p-values against the uniform distribution they follow under the null."""
    p = np.asarray(p_values, dtype=float)
    _check_aa(p, alpha)
    return float((p < alpha).mean()), float(stats.kstest(p, "uniform").pvalue)


def false_positive_rate_ignoring_clusters(
    cluster_size: int, icc: float, alpha: float = 0.05
) -> float:
    """Rejection rate of a z-test that treats clustered units as independent:
    its standard error is too small by the square root of the design effect."""
    check_probability("alpha", alpha)
    critical = STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    inflation = math.sqrt(design_effect(cluster_size, icc))
    return 2 * (1 - STANDARD_NORMAL.cdf(critical / inflation))
    # --8<-- [end:aa]


# --8<-- [start:aa_sim]
def aa_p_values(
    n_tests: int, users_per_arm: int, views_per_user: int, icc: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A/A tests randomised by user, analysed per user and (wrongly) per view.

    A user's page views share a user effect: ``icc`` is the share of a view's
    variance that is the user's. Returns the two analyses' p-values.
    """
    check_counts(n_tests=n_tests, users_per_arm=users_per_arm)
    check_counts(minimum=1, views_per_user=views_per_user)
    check_probability("icc", icc)
    rng = np.random.default_rng(seed)
    shape = (n_tests, 2, users_per_arm)
    views = rng.normal(0, math.sqrt(icc), (*shape, 1)) + rng.normal(
        0, math.sqrt(1 - icc), (*shape, views_per_user)
    )
    per_user = views.mean(axis=3)  # one value per randomised unit
    per_view = views.reshape(n_tests, 2, -1)  # every view as if independent
    return (
        stats.ttest_ind(per_user[:, 0], per_user[:, 1], axis=1).pvalue,
        stats.ttest_ind(per_view[:, 0], per_view[:, 1], axis=1).pvalue,
    )


def welch_p_values(values: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Two-sided p-value of the difference in means, one test per row (Welch's
    statistic with the normal approximation, fine at thousands of users)."""
    values, treated = np.asarray(values, dtype=float), np.asarray(treated, bool)
    if values.ndim != 2 or values.shape != treated.shape:
        raise ValueError("values and treated: the same 2-D shape, one test a row")
    moments = []
    for arm in (treated, ~treated):
        n = arm.sum(axis=1)
        if (n < 2).any():
            raise ValueError("each arm needs at least 2 units in every test")
        mean = (values * arm).sum(axis=1) / n
        variance = ((values - mean[:, None]) ** 2 * arm).sum(axis=1) / (n - 1)
        moments.append((n, mean, variance))
    (n1, m1, v1), (n0, m0, v0) = moments
    return 2 * stats.norm.sf(np.abs(m1 - m0) / np.sqrt(v1 / n1 + v0 / n0))


def rejection_rate(gap: float, standard_error: float, alpha: float = 0.05) -> float:
    """Chance that a two-sided z-test at ``alpha`` rejects when the true
    difference is ``gap``: its power, or its false-positive rate at gap 0."""
    check_probability("alpha", alpha)
    if standard_error <= 0:
        raise ValueError(f"standard_error must be positive, got {standard_error!r}")
    critical = STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    shift = gap / standard_error  # the true difference, in standard errors
    above = 1 - STANDARD_NORMAL.cdf(critical - shift)  # z beyond +critical
    below = STANDARD_NORMAL.cdf(-critical - shift)  # z beyond -critical
    return above + below


def carryover(
    n_tests: int, users: int, carried_effect: float, seed: int, reuse_split: bool
) -> dict[str, float]:
    """A/A tests on users an earlier experiment left changed (its treated half
    keeps ``carried_effect``); the new test reuses that split or draws a fresh
    one. Shares with p < 0.05: the pre-period balance check, the test, and the
    test with CUPED on the pre-period metric."""
    check_counts(n_tests=n_tests, users=users)
    rng = np.random.default_rng(seed)
    shape = (n_tests, users)
    engagement = rng.normal(0, 1, shape)  # pre and post correlate 0.5
    earlier = rng.random(shape) < 0.5  # the earlier experiment's treatment
    arm = earlier if reuse_split else rng.random(shape) < 0.5
    pre = engagement + rng.normal(0, 1, shape) + carried_effect * earlier
    post = engagement + rng.normal(0, 1, shape) + carried_effect * earlier
    cuped = np.array([cuped_adjust(y, x)[0] for y, x in zip(post, pre, strict=True)])
    return {
        "pre_period_flagged": float((welch_p_values(pre, arm) < 0.05).mean()),
        "significant": float((welch_p_values(post, arm) < 0.05).mean()),
        "significant_cuped": float((welch_p_values(cuped, arm) < 0.05).mean()),
    }
    # --8<-- [end:aa_sim]


# --8<-- [start:bh]
def bh_adjusted_p_values(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; the last axis holds one family.

    Reject every hypothesis whose adjusted p-value is at most q: the expected
    share of false discoveries among the rejections is then at most q.
    """
    p = np.asarray(p_values, dtype=float)
    _check_p_values(p)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    # Step up: each adjusted value is the smallest scaled one at or above its rank.
    monotone = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, np.minimum(monotone, 1.0), axis=-1)
    return adjusted
    # --8<-- [end:bh]


# --8<-- [start:fdr_sim]
def many_metrics(
    n_experiments: int,
    n_metrics: int,
    n_moved: int,
    shift: float,
    correlation: float,
    seed: int,
    q: float = 0.05,
) -> dict[str, dict[str, float]]:
    """Experiments that read many correlated metrics, the first ``n_moved`` of
    which truly moved (their z shifted by ``shift``). Per correction: the false
    discovery rate, the chance of any false discovery and the share of moved
    metrics found, each with its Monte Carlo standard error (key + "_se")."""
    check_counts(n_experiments=n_experiments, n_metrics=n_metrics)
    if not 0 < n_moved < n_metrics or not 0 <= correlation < 1:
        raise ValueError("need 0 < n_moved < n_metrics and correlation in [0, 1)")
    check_probability("q", q)
    rng = np.random.default_rng(seed)
    shared = math.sqrt(correlation) * rng.normal(0, 1, (n_experiments, 1))
    own = math.sqrt(1 - correlation) * rng.normal(0, 1, (n_experiments, n_metrics))
    moved = np.arange(n_metrics) < n_moved
    p = 2 * stats.norm.sf(np.abs(shared + own + shift * moved))
    rejections = {
        "uncorrected": p < q,
        "Bonferroni": p < q / n_metrics,
        "Benjamini-Hochberg": bh_adjusted_p_values(p) <= q,
    }
    summary = {}
    for name, rejected in rejections.items():
        false = (rejected & ~moved).sum(axis=1)
        per_experiment = {  # one value per experiment; the rates are their means
            "fdr": false / np.maximum(rejected.sum(axis=1), 1),  # 0 if none
            "any_false": false > 0,
            "power": rejected[:, moved].mean(axis=1),
        }
        summary[name] = {}
        for key, values in per_experiment.items():
            summary[name][key] = float(values.mean())
            error = values.std(ddof=1) / math.sqrt(n_experiments)
            summary[name][f"{key}_se"] = float(error)
    return summary
    # --8<-- [end:fdr_sim]


# --8<-- [start:design_effect]
def design_effect(cluster_size: int, icc: float) -> float:
    """Variance of a mean over clusters of equal size, relative to the same
    number of independent units: 1 + (m - 1) * ICC."""
    _check_design(cluster_size, icc)
    return 1 + (cluster_size - 1) * icc
    # --8<-- [end:design_effect]


# --8<-- [start:demo]
def _share_ci(share: float, n: int) -> str:
    """A simulated rate +/- the half-width of its 95% Monte Carlo interval."""
    return f"{share:.3f} +/- {1.96 * math.sqrt(share * (1 - share) / n):.3f}"


def main() -> None:
    seeds = range(5)
    print("Proxies: 40 past experiments, long-term outcome known; 5 seeds")
    row = "{:<20}{:>14}{:>16}{:>22}"
    header = ("proxy, users per arm", "level corr", "effect corr", "seed 0 [95% CI]")
    print(row.format(*header))
    for users in (10_000, 100):
        runs = [past_experiments(40, users, seed) for seed in seeds]
        for proxy in ("clicks", "active_days"):
            found = [effect_correlation(r[proxy], r["long_term"]) for r in runs]
            levels = min_to_max([r[f"level_{proxy}"] for r in runs], ".2f")
            r, low, high = found[0]
            cells = (
                f"{proxy}, {users:,}",
                levels if users > 100 else "",  # from 100 users: too noisy to show
                min_to_max([f[0] for f in found], "+.2f"),
                f"{r:+.2f} [{low:+.2f}, {high:+.2f}]",
            )
            print(row.format(*cells))

    per_user, per_view = aa_p_values(1_000, 100, 10, icc=0.1, seed=1)
    print("\nA/A tests: 1,000, randomised by user, 10 views per user, ICC 0.1")
    for name, p in (("per user", per_user), ("per view", per_view)):
        share, ks_p = aa_check(p)
        print(f"analysed {name}: p < 0.05 in {_share_ci(share, p.size)}, ", end="")
        print(f"KS vs uniform p = {ks_p:.2g}")
    predicted = false_positive_rate_ignoring_clusters(10, 0.1)
    print(f"the design effect {design_effect(10, 0.1):.1f} predicts ", end="")
    print(f"{predicted:.3f} per view")

    print("\nCarry-over of an earlier effect of 0.1 (metric variance 2, pre and post")
    print("correlated 0.5), 2,000 users, 1,000 A/A tests; share with p < 0.05:")
    row = "{:<12}{:>18}{:>17}{:>17}"
    print(row.format("", "pre-period check", "test", "with CUPED"))
    for reuse, label in ((True, "same split"), (False, "fresh split")):
        c = carryover(1_000, 2_000, 0.1, seed=2, reuse_split=reuse)
        cells = (c["pre_period_flagged"], c["significant"], c["significant_cuped"])
        print(row.format(label, *(_share_ci(x, 1_000) for x in cells)))
    error = math.sqrt(2 * 2 / 1_000)  # of a difference in means, 1,000 per arm
    theta = 0.5  # CUPED's slope: pre and post correlate 0.5, equal variances
    test = rejection_rate(0.1, error)
    cuped = rejection_rate(0.1 * (1 - theta), error * math.sqrt(1 - theta**2))
    print(row.format("z-test power", *(f"{x:.3f}" for x in (test, test, cuped))))

    print("\nMany metrics: 2,000 experiments of 50 metrics, 5 truly moved,")
    print("correlation 0.3; mean +/- 95% CI")
    row = "{:<19}{:>16}{:>17}{:>17}"
    print(row.format("correction", "FDR", "P(any false)", "power"))
    for name, rates in many_metrics(2_000, 50, 5, 3.0, 0.3, seed=3).items():
        cells = (
            f"{rates[key]:.3f} +/- {1.96 * rates[key + '_se']:.3f}"
            for key in ("fdr", "any_false", "power")
        )
        print(row.format(name, *cells))


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
