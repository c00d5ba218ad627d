"""Designs for effects that change over time or spill between units: novelty
read by cohort, cluster randomisation, budget-split ad experiments and bandits.

Reuses ``experimentation_advanced`` (the design effect, argument checks),
``experimentation`` (power) and ``bandits`` (the bandit simulator).
Run it: ``python -m snippets.concepts.experimentation_designs``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from snippets.common.stats import paired_interval
from snippets.concepts.bandits import BanditRuns, simulate
from snippets.concepts.experimentation import sample_size_per_arm
from snippets.concepts.experimentation_advanced import (
    check_counts,
    check_probability,
    design_effect,
    min_to_max,
)


def _check_panel(outcome: np.ndarray, visited: np.ndarray, treated: np.ndarray) -> None:
    if outcome.shape != visited.shape or outcome.shape[:1] != treated.shape:
        raise ValueError("outcome and visited: (users, days); treated: (users,)")


def _check_market(
    charges: np.ndarray, budgets: np.ndarray, is_treated: np.ndarray
) -> None:
    if charges.shape != is_treated.shape or charges.shape[:1] != budgets.shape:
        raise ValueError("charges, is_treated: (advertisers, impressions); budgets")


# --8<-- [start:cohort]
def cohort_effect_by_day(
    outcome: np.ndarray,
    visited: np.ndarray,
    treated: np.ndarray,
    first_day: np.ndarray,
    cohort_day: int = 0,
) -> np.ndarray:
    """Effect per visit on each day of one fixed cohort: the users first exposed
    on ``cohort_day``. The same people are compared every day, so a trend is a
    change in their response, not in who is counted, provided the treatment
    does not change who visits (if it does, average per user over every day,
    a missed visit included)."""
    _check_panel(outcome, visited, treated)
    cohort = first_day == cohort_day
    arm = treated[cohort, None]
    seen = visited[cohort, cohort_day:]  # from the exposure day on
    out = outcome[cohort, cohort_day:]
    totals = [(out * (seen & a)).sum(axis=0) for a in (arm, ~arm)]
    counts = [(seen & a).sum(axis=0) for a in (arm, ~arm)]
    return totals[0] / counts[0] - totals[1] / counts[1]
    # --8<-- [end:cohort]


# --8<-- [start:novelty_sim]
def novelty_views(
    n_users: int,
    days: int,
    seed: int,
    effects: tuple[float, float, float],
    decay_days: float = 3.0,
) -> dict[str, np.ndarray]:
    """The effect over time seen three ways, where heavy users (20%) visit 80%
    of days and light users 15%, so heavy users are exposed first.

    ``effects`` = (heavy users' effect, light users' effect, novelty): a user's
    effect per visit is their type's plus the novelty, which decays with days
    since their first exposure. Returns the effect by calendar day (cumulative,
    per user, as a dashboard shows it), by days since first exposure (pooled over
    users) and for the fixed cohort first exposed on day 1.
    """
    check_counts(n_users=n_users, days=days)
    if decay_days <= 0:
        raise ValueError(f"decay_days must be positive, got {decay_days!r}")
    heavy_effect, light_effect, novelty = effects
    rng = np.random.default_rng(seed)
    heavy = rng.random(n_users) < 0.2
    visited = rng.random((n_users, days)) < np.where(heavy, 0.8, 0.15)[:, None]
    treated = rng.random(n_users) < 0.5
    first_day = np.where(visited.any(axis=1), visited.argmax(axis=1), days)
    since = np.arange(days) - first_day[:, None]  # days since first exposure
    effect = np.where(heavy, heavy_effect, light_effect)[:, None]
    effect = effect + novelty * np.exp(-np.maximum(since, 0) / decay_days)
    base = rng.normal(0, 1, (n_users, 1))  # users differ in their level
    outcome = base + rng.normal(0, 1, (n_users, days)) + treated[:, None] * effect
    outcome = np.where(visited, outcome, 0.0)

    # Dashboard: each exposed user's mean per visit so far, compared by arm.
    visits_so_far = visited.cumsum(axis=1)
    mean_so_far = outcome.cumsum(axis=1) / np.maximum(visits_so_far, 1)
    arm = treated[:, None]
    by_arm = [
        (mean_so_far * (visits_so_far > 0) * a).sum(0)
        / ((visits_so_far > 0) * a).sum(0)
        for a in (arm, ~arm)
    ]
    # Pooled: every visit, grouped by days since that user's first exposure.
    key = (since * 2 + arm)[visited]
    sums = np.bincount(key, outcome[visited], minlength=2 * days)
    counts = np.bincount(key, minlength=2 * days)
    return {
        "cumulative": by_arm[0] - by_arm[1],
        "pooled": sums[1::2] / counts[1::2] - sums[0::2] / counts[0::2],
        "cohort": cohort_effect_by_day(outcome, visited, treated, first_day),
    }
    # --8<-- [end:novelty_sim]


# --8<-- [start:cluster_sim]
def cluster_randomised_variance(
    n_experiments: int, n_users: int, cluster_size: int, icc: float, seed: int
) -> tuple[float, float, float]:
    """Simulated variance of the effect estimate when whole clusters are
    randomised, relative to 4 sigma^2 / n (users randomised one by one), with a
    95% chi-square interval: (ratio, low, high)."""
    check_counts(n_experiments=n_experiments, n_users=n_users)
    check_counts(minimum=1, cluster_size=cluster_size)
    if n_users % (2 * cluster_size):
        raise ValueError("n_users must split into an even number of clusters")
    check_probability("icc", icc)
    rng = np.random.default_rng(seed)
    n_clusters = n_users // cluster_size
    cluster = rng.normal(0, math.sqrt(icc), (n_experiments, n_clusters))
    users = np.repeat(cluster, cluster_size, axis=1)
    users += rng.normal(0, math.sqrt(1 - icc), users.shape)
    # An A/A test: half the clusters, chosen at random, form the treatment arm.
    ranks = np.argsort(rng.random((n_experiments, n_clusters)), axis=1)
    sign = np.repeat(np.where(ranks < n_clusters // 2, 1.0, -1.0), cluster_size, 1)
    estimate = (users * sign).sum(axis=1) / (n_users / 2)  # treated - control
    ratio = estimate.var(ddof=1) / (4 / n_users)
    dof = n_experiments - 1
    low, high = ratio * dof / stats.chi2.ppf([0.975, 0.025], dof)
    return float(ratio), float(low), float(high)
    # --8<-- [end:cluster_sim]


# --8<-- [start:budget]
def spend(charges: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """What each advertiser is charged, impression by impression in arrival
    order, until its budget runs out (rows: advertisers)."""
    before = charges.cumsum(axis=1) - charges  # spent before this impression
    return np.clip(budgets[:, None] - before, 0, charges)


def budget_designs(
    charges: np.ndarray, budgets: np.ndarray, is_treated: np.ndarray, lift: float
) -> dict[str, float]:
    """Revenue lift of a treatment that raises spend per impression by ``lift``:
    the truth (all traffic on one side), a user split sharing each budget, and a
    budget split giving each arm half of every budget."""
    _check_market(charges, budgets, is_treated)
    boosted = charges * np.where(is_treated, 1 + lift, 1.0)
    truth = spend(charges * (1 + lift), budgets).sum() / spend(charges, budgets).sum()
    shared = spend(boosted, budgets)  # both arms draw on one budget
    user_split = shared[is_treated].sum() / shared[~is_treated].sum()
    treated = spend(np.where(is_treated, boosted, 0), budgets / 2).sum()
    control = spend(np.where(is_treated, 0, boosted), budgets / 2).sum()
    return {
        "truth": truth - 1,
        "user_split": user_split - 1,
        "budget_split": treated / control - 1,
    }
    # --8<-- [end:budget]


# --8<-- [start:budget_sim]
def ad_market(
    n_advertisers: int, impressions: int, seed: int, binding: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Advertisers with daily budgets and a day of impressions in random order.

    An impression's charge is its advertiser's price level times a random
    factor (auctions differ); budgets range from 40% to 160% of a day's demand,
    so many bind, and ``binding=False`` lifts every budget out of reach (the
    ablation). Returns (charges, budgets, is_treated).
    """
    check_counts(n_advertisers=n_advertisers, impressions=impressions)
    rng = np.random.default_rng(seed)
    price = rng.lognormal(0, 0.5, (n_advertisers, 1))  # advertisers differ
    charges = price * rng.exponential(1.0, (n_advertisers, impressions))
    demand = charges.sum(axis=1)
    budgets = demand * (rng.uniform(0.4, 1.6, n_advertisers) if binding else 9.0)
    # A 50/50 user split; each advertiser's impressions divide exactly evenly.
    halves = np.arange(impressions) < impressions // 2
    is_treated = rng.permuted(np.tile(halves, (n_advertisers, 1)), axis=1)
    return charges, budgets, is_treated
    # --8<-- [end:budget_sim]


# --8<-- [start:bandit]
def impressions_per_arm(runs: BanditRuns) -> np.ndarray:
    """Impressions each arm got in each run, read off the regret path: every
    step adds (best CTR - CTR of the arm shown), and the CTRs are distinct."""
    lost = np.diff(runs.regret, axis=1, prepend=0.0)
    shown_ctr = runs.true_ctr.max(axis=1, keepdims=True) - lost
    arm = np.abs(shown_ctr[..., None] - runs.true_ctr[:, None, :]).argmin(axis=2)
    return (arm[..., None] == np.arange(runs.true_ctr.shape[1])).sum(axis=1)


def bandit_vs_ab(
    impressions: int, runs: int, prior: tuple[float, float], seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Two variants, a 50/50 A/B test (epsilon-greedy with epsilon 1 is a uniform
    split) against Thompson sampling, on the same items. Per run: clicks lost,
    share of traffic on the worse variant, the standard error of the estimated
    gap that the allocation leaves, and the power of a z-test against the gap."""
    results = {}
    for name, policy, epsilon in (
        ("A/B test", "epsilon-greedy", 1.0),
        ("Thompson", "thompson", 0.1),
    ):
        run = simulate(policy, 2, impressions, runs, prior, seed, epsilon)
        shows = impressions_per_arm(run)
        ctr = run.true_ctr
        error = np.sqrt((ctr * (1 - ctr) / np.maximum(shows, 1)).sum(axis=1))
        gap = np.abs(ctr[:, 1] - ctr[:, 0])
        results[name] = {
            "regret": run.regret[:, -1],
            "worse_share": shows[np.arange(runs), ctr.argmin(1)] / impressions,
            "gap": gap,
            "standard_error": error,
            "power": stats.norm.cdf(gap / error - stats.norm.ppf(0.975)),
        }
    return results
    # --8<-- [end:bandit]


# --8<-- [start:demo]
def _mean_ci(values: np.ndarray, fmt: str) -> str:
    """Mean +/- the half-width of its 95% normal interval."""
    half = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    return f"{values.mean():{fmt}} +/- {half:{fmt}}"


def main() -> None:
    seeds = range(5)
    print("Novelty: 20,000 users, 14 days, heavy users (20%) arrive first;")
    print("change in the effect, first 3 days -> last 3 (5 seeds, min to max)")
    worlds = {  # heavy users' effect, light users' effect, novelty at exposure
        "heavy 1, light .2": (1.0, 0.2, 0.0),
        "equal (ablation)": (0.6, 0.6, 0.0),
        "+ novelty 1.0": (1.0, 0.2, 1.0),
    }
    views = {
        w: [novelty_views(20_000, 14, s, e) for s in seeds] for w, e in worlds.items()
    }
    print(f"{'view':<24}" + "".join(f"{w:>19}" for w in worlds))
    for key, label, early in (
        ("cumulative", "to date, by calendar day", slice(0, 3)),
        ("pooled", "by days since exposure", slice(1, 4)),
        # The cohort's exposure day is special (all of it visited): start a day on.
        ("cohort", "cohort exposed on day 1", slice(1, 4)),
    ):
        cells = [
            min_to_max(
                [v[key][-3:].mean() - v[key][early].mean() for v in runs], "+.2f"
            )
            for runs in views.values()
        ]
        print(f"{label:<24}" + "".join(f"{cell:>19}" for cell in cells))
    decay = np.exp(-np.arange(14) / 3)  # novelty's own change, days 1-3 to 11-13
    built_in = [
        e[2] * (decay[-3:].mean() - decay[1:4].mean()) + 0.0 for e in worlds.values()
    ]
    print(f"{'built in, every user':<24}" + "".join(f"{b:>19.2f}" for b in built_in))

    print("\nCluster randomisation: 2,000 users, ICC 0.05, 1,000 A/A tests")
    print(f"{'cluster size':>12} {'formula':>8} {'simulated [95% CI]':>21}")
    for size in (1, 10, 50):
        ratio, low, high = cluster_randomised_variance(1_000, 2_000, size, 0.05, seed=4)
        formula = design_effect(size, 0.05)
        print(f"{size:>12} {formula:>8.2f} {ratio:>7.2f} [{low:.2f}, {high:.2f}]")
    n = sample_size_per_arm(0.10, 0.05)  # alpha 0.05, power 0.8 by default
    clustered = math.ceil(n * design_effect(50, 0.05))
    print(f"10% -> 10.5%, alpha 0.05, power 0.8: {n:,} users per arm one by one,")
    print(f"{clustered:,} in clusters of 50")

    print("\nAd budgets: 200 advertisers, treatment +10% spend per impression,")
    print("5 seeds, min to max")
    print(f"{'':<22} {'budgets bind':>16} {'never bind':>16}")
    rows = {"true revenue lift": [], "user split, error": [], "budget split, error": []}
    for binding in (True, False):
        found = [budget_designs(*ad_market(200, 1_000, s, binding), 0.1) for s in seeds]
        rows["true revenue lift"].append(min_to_max([f["truth"] for f in found], ".1%"))
        for key, label in (
            ("user_split", "user split"),
            ("budget_split", "budget split"),
        ):
            errors = [100 * (f[key] - f["truth"]) for f in found]  # percentage points
            rows[f"{label}, error"].append(min_to_max(errors, "+.1f") + " pp")
    for label, (bind, free) in rows.items():
        print(f"{label:<22} {bind:>16} {free:>16}")

    duel = bandit_vs_ab(3_000, 150, (20.0, 380.0), seed=5)
    ab, ts = duel["A/B test"], duel["Thompson"]
    print("\nBandit vs A/B: 2 variants, CTR ~ Beta(20, 380), 3,000 impressions,")
    print("150 runs on the same items; mean +/- 95% CI unless marked")
    print(f"{'':<22} {'A/B test':>14} {'Thompson':>14}")
    for label, cell in (
        ("clicks lost", lambda r: _mean_ci(r["regret"], ".1f")),
        ("worse arm, mean", lambda r: _mean_ci(r["worse_share"], ".0%")),
        ("worse arm, median", lambda r: f"{np.median(r['worse_share']):.0%}"),
        ("SE of the gap, median", lambda r: f"{np.median(r['standard_error']):.4f}"),
        ("SE of the gap, mean", lambda r: f"{r['standard_error'].mean():.4f}"),
        ("power of a z-test", lambda r: _mean_ci(r["power"], ".2f")),
    ):
        print(f"{label:<22} {cell(ab):>14} {cell(ts):>14}")
    change, low, high = paired_interval(ts["power"] - ab["power"])
    print(f"power, Thompson - A/B test, paired by run: {change:+.3f} ", end="")
    print(f"+/- {(high - low) / 2:.3f}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
