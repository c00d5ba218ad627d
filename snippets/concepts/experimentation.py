"""Online experiments: sample size, duration, SRM, CUPED, peeking and interleaving.

Checked against statsmodels and SciPy.
Run it: ``python -m snippets.concepts.experimentation``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import chdtrc

STANDARD_NORMAL = NormalDist()


# --8<-- [start:power]
def _check_rate(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")


def sample_size_per_arm(
    baseline_rate: float,
    relative_mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Users per arm for a two-sided two-proportion z-test with equal arms.

    n = 2 * p_bar * (1 - p_bar) * (z_{1-alpha/2} + z_{power})^2 / delta^2,
    where delta = baseline_rate * relative_mde and p_bar is the mean of both rates.
    """
    _check_rate("baseline_rate", baseline_rate)
    _check_rate("alpha", alpha)
    _check_rate("power", power)
    treatment_rate = baseline_rate * (1 + relative_mde)
    if relative_mde == 0 or not 0 < treatment_rate < 1:
        raise ValueError("relative_mde must be non-zero and keep the rate in (0, 1)")
    delta = treatment_rate - baseline_rate
    p_bar = (baseline_rate + treatment_rate) / 2
    z_alpha = STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    z_power = STANDARD_NORMAL.inv_cdf(power)
    n = 2 * p_bar * (1 - p_bar) * (z_alpha + z_power) ** 2 / delta**2
    return math.ceil(n)


def duration_days(
    n_per_arm: int, n_arms: int, daily_users: int, traffic_share: float
) -> int:
    """Days to enrol the sample from new eligible users, rounded up to whole weeks."""
    if min(n_per_arm, n_arms, daily_users) < 1:
        raise ValueError("n_per_arm, n_arms and daily_users must be at least 1")
    if not 0 < traffic_share <= 1:
        raise ValueError(f"traffic_share must be in (0, 1], got {traffic_share!r}")
    days = math.ceil(n_per_arm * n_arms / (daily_users * traffic_share))
    return 7 * math.ceil(days / 7)  # whole weeks: weekday and weekend users differ
    # --8<-- [end:power]


# --8<-- [start:srm]
def srm_test(
    observed_counts: Sequence[int], expected_shares: Sequence[float]
) -> tuple[float, float]:
    """Chi-square goodness of fit of arm sizes to the designed split: (stat, p)."""
    observed = np.asarray(observed_counts, dtype=float)
    shares = np.asarray(expected_shares, dtype=float)
    if observed.ndim != 1 or observed.shape != shares.shape or observed.size < 2:
        raise ValueError("need one count and one expected share per arm, 2+ arms")
    if (observed < 0).any() or observed.sum() == 0:
        raise ValueError("counts must be non-negative and not all zero")
    if (shares <= 0).any() or not math.isclose(shares.sum(), 1.0, abs_tol=1e-9):
        raise ValueError("expected_shares must be positive and sum to 1")
    expected = shares * observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(chdtrc(observed.size - 1, statistic))
    # --8<-- [end:srm]


# --8<-- [start:cuped]
def cuped_adjust(
    metric: ArrayLike, pre_period_metric: ArrayLike
) -> tuple[np.ndarray, float]:
    """CUPED: y - theta * (x - mean(x)), theta = cov(y, x) / var(x); (y', theta)."""
    y = np.asarray(metric, dtype=float)
    x = np.asarray(pre_period_metric, dtype=float)
    if y.ndim != 1 or y.shape != x.shape or y.size < 2:
        raise ValueError("metric and pre_period_metric: same length, at least 2")
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise ValueError("metric and pre_period_metric must be finite")
    if np.var(x) == 0:
        raise ValueError("pre_period_metric is constant: nothing to adjust with")
    theta = float(np.cov(y, x)[0, 1] / np.var(x, ddof=1))
    return y - theta * (x - x.mean()), theta
    # --8<-- [end:cuped]


# --8<-- [start:peeking]
def peeking_false_positive_rate(
    n_experiments: int, n_looks: int, users_per_look: int, alpha: float, seed: int
) -> tuple[float, float]:
    """A/A tests: false-positive rate at the end only vs stopping at any look."""
    _check_rate("alpha", alpha)
    if min(n_experiments, n_looks, users_per_look) < 1:
        raise ValueError("n_experiments, n_looks and users_per_look must be >= 1")
    rng = np.random.default_rng(seed)
    # Per look and arm, the sum of users_per_look unit-variance outcomes.
    increments = rng.normal(
        0, math.sqrt(users_per_look), size=(2, n_experiments, n_looks)
    )
    totals = increments.cumsum(axis=2)
    users = users_per_look * np.arange(1, n_looks + 1)
    # z statistic of the difference in means after each look (known variance 1).
    z = (totals[1] - totals[0]) / users / np.sqrt(2 / users)
    critical = STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    significant = np.abs(z) > critical
    return float(significant[:, -1].mean()), float(significant.any(axis=1).mean())
    # --8<-- [end:peeking]


# --8<-- [start:interleaving]
def team_draft_interleave(
    ranking_a: Sequence[int], ranking_b: Sequence[int], k: int, rng: np.random.Generator
) -> tuple[list[int], list[str]]:
    """Team-draft interleaving: the team with fewer picks (coin flip on ties) adds
    its best item not yet shown. Returns the merged list and each slot's team."""
    if set(ranking_a) != set(ranking_b):
        raise ValueError("both rankings must order the same items")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")
    merged: list[int] = []
    teams: list[str] = []
    picks = {"A": 0, "B": 0}
    rankings = {"A": list(ranking_a), "B": list(ranking_b)}
    shown: set[int] = set()
    while len(merged) < min(k, len(ranking_a)):
        a_turn = picks["A"] < picks["B"] or (
            picks["A"] == picks["B"] and rng.random() < 0.5
        )
        team = "A" if a_turn else "B"
        item = next(i for i in rankings[team] if i not in shown)
        merged.append(item)
        teams.append(team)
        shown.add(item)
        picks[team] += 1
    return merged, teams


def _clicks(
    items: Sequence[int],
    relevance: np.ndarray,
    activity: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Clicks on a shown list: position bias 1/rank times attractiveness."""
    examine = 1 / np.arange(1, len(items) + 1)
    attractiveness = 0.05 + 0.6 * relevance[list(items)]
    return rng.random(len(items)) < np.minimum(1.0, activity * examine * attractiveness)


def interleaving_vs_ab(n_sessions: int, seed: int, k: int = 10) -> dict[str, float]:
    """Simulated sessions: sample sizes an A/B test and interleaving need."""
    if n_sessions < 100:
        raise ValueError("n_sessions must be at least 100")
    rng = np.random.default_rng(seed)
    ab_clicks = {"A": [], "B": []}
    preferences = []  # +1 B wins, -1 A wins, 0 tie
    for session in range(n_sessions):
        # Queries differ a lot in how many good results exist: session noise.
        relevance = (rng.random(30) < rng.uniform(0.02, 0.4)).astype(float)
        # ... and users differ in how much they click at all.
        activity = rng.gamma(1.0, 1.0)
        score_a = relevance + rng.normal(0, 1.0, 30)  # the current ranker
        score_b = relevance + rng.normal(0, 0.85, 30)  # slightly better
        ranking_a, ranking_b = np.argsort(-score_a), np.argsort(-score_b)

        arm = "A" if session % 2 == 0 else "B"  # A/B: each session sees one ranker
        shown = ranking_a[:k] if arm == "A" else ranking_b[:k]
        ab_clicks[arm].append(_clicks(shown, relevance, activity, rng).sum())
        merged, teams = team_draft_interleave(ranking_a, ranking_b, k, rng)
        credited = np.asarray(teams)[_clicks(merged, relevance, activity, rng)]
        wins_b, wins_a = (credited == "B").sum(), (credited == "A").sum()
        preferences.append(np.sign(wins_b - wins_a))
    a, b = np.asarray(ab_clicks["A"]), np.asarray(ab_clicks["B"])
    prefs = np.asarray(preferences, dtype=float)
    z = STANDARD_NORMAL.inv_cdf(0.975) + STANDARD_NORMAL.inv_cdf(0.8)
    # Two-sample test on clicks per session vs one-sample test on preferences.
    ab_total = 2 * (z**2 * (a.var() + b.var()) / (b.mean() - a.mean()) ** 2)
    interleaving_total = z**2 * prefs.var() / prefs.mean() ** 2
    return {
        "clicks_a": float(a.mean()),
        "clicks_b": float(b.mean()),
        "b_win_share": float((prefs > 0).sum() / max((prefs != 0).sum(), 1)),
        "ab_sessions": float(ab_total),
        "interleaving_sessions": float(interleaving_total),
    }
    # --8<-- [end:interleaving]


# --8<-- [start:demo]
def main() -> None:
    daily_users, share = 200_000, 0.5
    print("Conversion test, alpha 0.05 two-sided, power 0.8, two equal arms;")
    print(f"{daily_users:,} new eligible users a day, {share:.0%} of them enrolled:")
    print(f"{'baseline':>8} {'MDE':>5} {'n per arm':>10} {'days':>5}")
    for baseline in (0.02, 0.10):
        for mde in (0.01, 0.05):
            n = sample_size_per_arm(baseline, mde)
            days = duration_days(n, 2, daily_users, share)
            print(f"{baseline:>8.0%} {mde:>5.0%} {n:>10,} {days:>5}")

    statistic, p_value = srm_test([100_000, 98_500], [0.5, 0.5])
    print(
        f"\nSRM check, 100,000 vs 98,500 users on a 50/50 split: chi2 {statistic:.2f},"
    )
    print(f"p = {p_value:.5f}")

    rng = np.random.default_rng(3)
    n = 20_000
    pre = rng.gamma(2.0, 5.0, size=n)  # e.g. sessions in the 4 weeks before
    treated = rng.random(n) < 0.5
    post = 0.8 * pre + rng.normal(0, 5.0, n) + 0.5 * treated  # true lift 0.5
    adjusted, theta = cuped_adjust(post, pre)
    rho = np.corrcoef(post, pre)[0, 1]

    def effect_and_se(values: np.ndarray) -> tuple[float, float]:
        t, c = values[treated], values[~treated]
        se = math.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size)
        return t.mean() - c.mean(), se

    raw_effect, raw_se = effect_and_se(post)
    cuped_effect, cuped_se = effect_and_se(adjusted)
    print(f"\nCUPED on {n:,} users: rho {rho:.3f}, theta {theta:.3f}")
    ratio = adjusted.var() / post.var()
    print(f"variance ratio {ratio:.3f} vs 1 - rho^2 {1 - rho**2:.3f}: ", end="")
    print(f"as precise as {1 / ratio:.2f}x the users")
    print(f"effect {raw_effect:.3f} +/- {1.96 * raw_se:.3f} (plain), ", end="")
    print(f"{cuped_effect:.3f} +/- {1.96 * cuped_se:.3f} (CUPED)")

    fixed, peeking = peeking_false_positive_rate(4_000, 20, 500, 0.05, seed=4)
    _, corrected = peeking_false_positive_rate(4_000, 20, 500, 0.05 / 20, seed=4)
    print("\nA/A tests, 20 daily looks at alpha 0.05:")
    print(f"false positives at the end only       {fixed:.3f}")
    print(f"stopping at the first significant look {peeking:.3f}")
    print(f"same, with alpha / 20 at each look     {corrected:.3f}")

    sim = interleaving_vs_ab(6_000, seed=8)
    print("\nRanker B vs A (same user model, 6,000 simulated sessions):")
    print(
        f"clicks per session A {sim['clicks_a']:.3f}, B {sim['clicks_b']:.3f};", end=""
    )
    print(f" B wins {sim['b_win_share']:.1%} of decided interleaved sessions")
    ratio = sim["ab_sessions"] / sim["interleaving_sessions"]
    print(f"sessions for 80% power: A/B {sim['ab_sessions']:,.0f}, ", end="")
    print(f"interleaving {sim['interleaving_sessions']:,.0f} ({ratio:.0f}x fewer)")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
