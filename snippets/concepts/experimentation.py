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


def _check_interleave_input(
    ranking_a: Sequence[int], ranking_b: Sequence[int], k: int
) -> None:
    for name, ranking in (("ranking_a", ranking_a), ("ranking_b", ranking_b)):
        if isinstance(ranking, str) or not isinstance(ranking, Sequence | np.ndarray):
            raise TypeError(f"{name} must be a sequence of item ids")
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"{name} lists an item more than once")
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")


# --8<-- [start:interleaving]
def team_draft_interleave(
    ranking_a: Sequence[int], ranking_b: Sequence[int], k: int, rng: np.random.Generator
) -> tuple[list[int], list[str]]:
    """Team-draft interleaving: the team with fewer picks (coin flip on ties) adds
    its best item not yet shown. Returns the merged list and each slot's team.

    The rankings may hold different items (two retrieval sources, say): the draft
    stops at k items, or as soon as either ranking has nothing new to add.
    """
    _check_interleave_input(ranking_a, ranking_b, k)
    merged: list[int] = []
    teams: list[str] = []
    picks = {"A": 0, "B": 0}
    rankings = {"A": list(ranking_a), "B": list(ranking_b)}
    while len(merged) < k:
        best = {
            t: next((i for i in r if i not in merged), None)
            for t, r in rankings.items()
        }
        if None in best.values():  # one ranking is used up
            break
        coin = rng.random()  # drawn every turn, used only on a tie
        a_turn = picks["A"] < picks["B"] or (picks["A"] == picks["B"] and coin < 0.5)
        team = "A" if a_turn else "B"
        merged.append(best[team])
        teams.append(team)
        picks[team] += 1
    return merged, teams
    # --8<-- [end:interleaving]


# --8<-- [start:interleaving_sim]
def team_draft_batch(
    rankings_a: np.ndarray, rankings_b: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`team_draft_interleave` for many sessions at once, one row per session.

    Each row of A and B must order the same items. Returns the merged items and
    a mask of B's slots, both of shape (sessions, k).
    """
    a, b = np.asarray(rankings_a), np.asarray(rankings_b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError("rankings_a and rankings_b: same 2-D shape, one row each")
    if not np.array_equal(np.sort(a, axis=1), np.sort(b, axis=1)):
        raise ValueError("each row of both rankings must order the same items")
    if a.size == 0 or a.min() < 0:
        raise ValueError("item ids must be non-negative integers")
    if not 1 <= k <= a.shape[1]:
        raise ValueError(f"k must be in [1, {a.shape[1]}], got {k!r}")
    sessions, rows = a.shape[0], np.arange(a.shape[0])
    shown = np.zeros((sessions, a.max() + 1), dtype=bool)
    picks_a, picks_b = np.zeros(sessions, int), np.zeros(sessions, int)
    merged, team_is_b = np.empty((sessions, k), int), np.empty((sessions, k), bool)
    for slot in range(k):
        coin = rng.random(sessions)
        a_turn = (picks_a < picks_b) | ((picks_a == picks_b) & (coin < 0.5))
        # Each team's best item not yet shown: the first unshown one in its order.
        best_a = a[rows, np.argmax(~np.take_along_axis(shown, a, axis=1), axis=1)]
        best_b = b[rows, np.argmax(~np.take_along_axis(shown, b, axis=1), axis=1)]
        merged[:, slot] = np.where(a_turn, best_a, best_b)
        team_is_b[:, slot] = ~a_turn
        shown[rows, merged[:, slot]] = True
        picks_a += a_turn
        picks_b += ~a_turn
    return merged, team_is_b


def click_probabilities(
    shown: np.ndarray, relevance: np.ndarray, activity: np.ndarray
) -> np.ndarray:
    """P(click) per slot, one row per session: position bias 1/rank x appeal."""
    examine = 1 / np.arange(1, shown.shape[1] + 1)
    appeal = 0.05 + 0.6 * np.take_along_axis(relevance, shown, axis=1)
    return np.minimum(1.0, activity[:, None] * examine * appeal)


def preference_probabilities(
    click_prob: np.ndarray, team_is_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact P(B's items get more clicks) and P(A's do), one value per session.

    Clicks are independent, so the distribution of (B clicks - A clicks) is built
    slot by slot: each slot adds +1 (B's item) or -1 (A's) with its click chance.
    """
    sessions, slots = click_prob.shape
    diff = np.zeros((sessions, 2 * slots + 1))
    diff[:, slots] = 1.0  # column `slots` holds a difference of 0
    for slot in range(slots):
        up, down = np.zeros_like(diff), np.zeros_like(diff)
        up[:, 1:], down[:, :-1] = diff[:, :-1], diff[:, 1:]
        clicked = np.where(team_is_b[:, slot, None], up, down)
        p = click_prob[:, slot, None]
        diff = (1 - p) * diff + p * clicked
    return diff[:, slots + 1 :].sum(axis=1), diff[:, :slots].sum(axis=1)


def interleaving_vs_ab(
    n_sessions: int, seed: int, k: int = 10, heterogeneous: bool = True
) -> dict[str, float]:
    """Sessions an A/B test and interleaving need to tell ranker B from A.

    Each simulated session (a query and a user) gets exact click expectations for
    A's list, B's list and one interleaved list, so the only noise left is which
    sessions were drawn. `heterogeneous=False` gives every session the same user
    activity and the same share of good results (the ablation).
    """
    if n_sessions < 100:
        raise ValueError("n_sessions must be at least 100")
    rng = np.random.default_rng(seed)
    n, items = n_sessions, 30
    # Queries differ in how many good results exist; users in how much they click.
    good_share = rng.uniform(0.02, 0.4, n) if heterogeneous else np.full(n, 0.21)
    activity = rng.gamma(1.0, 1.0, n) if heterogeneous else np.ones(n)
    relevance = (rng.random((n, items)) < good_share[:, None]).astype(float)
    ranking_a = np.argsort(-(relevance + rng.normal(0, 1.0, (n, items))), axis=1)
    ranking_b = np.argsort(-(relevance + rng.normal(0, 0.85, (n, items))), axis=1)

    clicks, variance = {}, 0.0
    for arm, ranking in (("A", ranking_a), ("B", ranking_b)):
        p = click_probabilities(ranking[:, :k], relevance, activity)
        clicks[arm] = p.sum(axis=1).mean()
        # Var(clicks) = E[Var(clicks | session)] + Var(E[clicks | session])
        variance += (p * (1 - p)).sum(axis=1).mean() + p.sum(axis=1).var()
    merged, team_is_b = team_draft_batch(ranking_a, ranking_b, k, rng)
    b_wins, a_wins = preference_probabilities(
        click_probabilities(merged, relevance, activity), team_is_b
    )
    z = STANDARD_NORMAL.inv_cdf(0.975) + STANDARD_NORMAL.inv_cdf(0.8)
    # A/B: two arms, each needing z^2 (var_A + var_B) / delta^2 sessions.
    ab_total = 2 * z**2 * variance / (clicks["B"] - clicks["A"]) ** 2
    # Interleaving: a one-sample test of the per-session preference (+1, -1, 0).
    preference = b_wins.mean() - a_wins.mean()
    preference_variance = b_wins.mean() + a_wins.mean() - preference**2
    return {
        "clicks_a": float(clicks["A"]),
        "clicks_b": float(clicks["B"]),
        "b_win_share": float(b_wins.mean() / (b_wins.mean() + a_wins.mean())),
        "ab_sessions": float(ab_total),
        "interleaving_sessions": float(z**2 * preference_variance / preference**2),
    }
    # --8<-- [end:interleaving_sim]


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
    per_arm = sample_size_per_arm(0.10, 0.05)
    enrol = 2 * per_arm / (daily_users * share)  # days to fill both arms, unrounded
    print(
        f"10% baseline, 5% MDE: {2 * per_arm:,} users enrolled in {enrol:.1f} days;"
        f" run {duration_days(per_arm, 2, daily_users, share)} (whole weeks)"
    )

    statistic, p_value = srm_test([100_000, 98_500], [0.5, 0.5])
    print(
        f"\nSRM check, 100,000 vs 98,500 users on a 50/50 split: chi2 {statistic:.2f},"
    )
    print(f"p = {p_value:.5f}")
    statistic, p_value = srm_test([504_000, 496_000], [0.5, 0.5])
    print(f"504,000 vs 496,000 (50.4/49.6): chi2 {statistic:.2f}, p = {p_value:.1e}")

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

    simulations = 4_000
    fixed, peeking = peeking_false_positive_rate(simulations, 20, 500, 0.05, seed=4)
    _, corrected = peeking_false_positive_rate(simulations, 20, 500, 0.05 / 20, seed=4)

    def with_error(rate: float) -> str:  # 95% Monte Carlo error of a simulated rate
        return f"{rate:.3f} +/- {1.96 * math.sqrt(rate * (1 - rate) / simulations):.3f}"

    print(f"\nA/A tests ({simulations:,} simulated), 20 daily looks at alpha 0.05:")
    print(f"false positives at the end only        {with_error(fixed)}")
    print(f"stopping at the first significant look {with_error(peeking)}")
    print(f"same, with alpha / 20 at each look     {with_error(corrected)}")

    seeds, sessions = range(5), 10_000
    runs = [interleaving_vs_ab(sessions, seed) for seed in seeds]
    ablation = [interleaving_vs_ab(sessions, s, heterogeneous=False) for s in seeds]
    for run in runs + ablation:
        run["fewer"] = run["ab_sessions"] / run["interleaving_sessions"]

    def spread(rows: list[dict[str, float]], key: str, fmt: str) -> str:
        values = [row[key] for row in rows]  # min-max over the seeds
        return f"{min(values):{fmt}}-{max(values):{fmt}}"

    print(f"\nRanker B vs A, {len(seeds)} seeds x {sessions:,} simulated sessions:")
    print(f"clicks per session A {spread(runs, 'clicks_a', '.3f')},", end="")
    print(f" B {spread(runs, 'clicks_b', '.3f')}")
    print(
        f"B wins {spread(runs, 'b_win_share', '.1%')} of decided interleaved sessions"
    )
    print(f"sessions for 80% power: A/B {spread(runs, 'ab_sessions', ',.0f')},", end="")
    print(f" interleaving {spread(runs, 'interleaving_sessions', ',.0f')}")
    print(f"interleaving needs {spread(runs, 'fewer', '.1f')}x fewer sessions;")
    print(f"every session alike (ablation): {spread(ablation, 'fewer', '.1f')}x fewer")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
