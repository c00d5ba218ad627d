"""Exploring new items: greedy vs epsilon-greedy vs Thompson sampling, by regret.

Twenty brand-new items with unknown click-through rates share a stream of impressions.
Run it: ``python -m snippets.concepts.bandits``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POLICIES = ("greedy", "epsilon-greedy", "thompson")
EPSILON = 0.1  # epsilon-greedy's share of random impressions


# --8<-- [start:policies]
def choose(
    policy: str,
    clicks: np.ndarray,
    shows: np.ndarray,
    prior: tuple[float, float],
    rng: np.random.Generator,
    epsilon: float = EPSILON,
) -> np.ndarray:
    """Pick one arm per run from click and show counts of shape (runs, arms)."""
    alpha, beta = prior
    posterior_mean = (clicks + alpha) / (shows + alpha + beta)
    runs, arms = clicks.shape
    if policy == "greedy":  # exploit the current estimate, never look elsewhere
        return posterior_mean.argmax(axis=1)
    if policy == "epsilon-greedy":  # a fixed share of uniformly random impressions
        explore = rng.random(runs) < epsilon
        return np.where(
            explore, rng.integers(0, arms, runs), posterior_mean.argmax(axis=1)
        )
    if policy == "thompson":  # show each item with the probability that it is best
        return rng.beta(clicks + alpha, shows - clicks + beta).argmax(axis=1)
    raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    # --8<-- [end:policies]


# --8<-- [start:simulate]
@dataclass(frozen=True)
class BanditRuns:
    """Independent runs of one policy on freshly drawn items."""

    true_ctr: np.ndarray  # (runs, arms): each run's items, drawn from the prior
    regret: np.ndarray  # (runs, impressions): cumulative expected clicks lost


def simulate(
    policy: str,
    n_arms: int = 20,
    impressions: int = 5_000,
    runs: int = 100,
    prior: tuple[float, float] = (2.0, 38.0),
    seed: int = 0,
    epsilon: float = EPSILON,
) -> BanditRuns:
    """Clicks lost to always showing the best item, per run and impression."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if min(n_arms, impressions, runs) < 1 or min(prior) <= 0:
        raise ValueError("n_arms, impressions and runs must be >= 1; prior > 0")
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
    rng = np.random.default_rng(seed)
    true_ctr = rng.beta(*prior, size=(runs, n_arms))  # new items, CTR ~ the prior
    best = true_ctr.max(axis=1)
    clicks, shows = np.zeros((runs, n_arms)), np.zeros((runs, n_arms))
    regret = np.empty((runs, impressions))
    lost = np.zeros(runs)
    every_run = np.arange(runs)
    for step in range(impressions):
        arm = choose(policy, clicks, shows, prior, rng, epsilon)
        ctr = true_ctr[every_run, arm]
        clicks[every_run, arm] += rng.random(runs) < ctr
        shows[every_run, arm] += 1
        lost += best - ctr  # expected regret: no click noise in the score
        regret[:, step] = lost
    return BanditRuns(true_ctr, regret)


def exploration_cost(true_ctr: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Expected clicks epsilon-greedy loses per impression on its random share.

    With probability epsilon it shows a uniformly random item, which loses
    (best CTR - mean CTR) on average; the rest of its regret comes from the
    1 - epsilon share it exploits, whenever its current favourite is wrong.
    """
    return epsilon * (true_ctr.max(axis=1) - true_ctr.mean(axis=1))
    # --8<-- [end:simulate]


# --8<-- [start:demo]
def main() -> None:
    runs = {policy: simulate(policy) for policy in POLICIES}
    n = len(runs["greedy"].regret)
    print(f"20 new items, CTR ~ Beta(2, 38) (mean 5%); {n} runs, mean +/- 95% CI")
    print(f"{'policy':<15} {'regret@500':>12} {'regret@5k':>14} {'per 1k, last':>13}")

    def mean_ci(values: np.ndarray, width: int) -> str:
        half = 1.96 * values.std(ddof=1) / np.sqrt(values.size)
        return f"{values.mean():.1f} +/- {half:.1f}".rjust(width)

    for policy, run in runs.items():
        last_thousand = run.regret[:, -1] - run.regret[:, -1001]
        print(
            f"{policy:<15} {mean_ci(run.regret[:, 499], 12)}"
            f" {mean_ci(run.regret[:, -1], 14)} {mean_ci(last_thousand, 13)}"
        )
    # Every policy saw the same items in run i: compare run by run.
    print("\nPaired by run (same items): difference in regret, mean +/- 95% CI")
    for a, b, step, label in (
        ("thompson", "greedy", 499, "@500"),
        ("greedy", "epsilon-greedy", -1, "@5k"),
        ("greedy", "thompson", -1, "@5k"),
        ("epsilon-greedy", "thompson", -1, "@5k"),
    ):
        gap = runs[a].regret[:, step] - runs[b].regret[:, step]
        half = 1.96 * gap.std(ddof=1) / np.sqrt(gap.size)
        tie = "  tie" if abs(gap.mean()) <= half else ""
        pair = f"{a} - {b}, regret{label}"
        print(f"  {pair:<38} {gap.mean():+6.1f} +/- {half:4.1f}{tie}")

    eps = runs["epsilon-greedy"]
    explore = 1000 * exploration_cost(eps.true_ctr).mean()
    last = (eps.regret[:, -1] - eps.regret[:, -1001]).mean()
    per_item = EPSILON * eps.regret.shape[1] / eps.true_ctr.shape[1]
    print(f"\nepsilon-greedy, last 1k impressions: {last:.1f} clicks lost =")
    print(f"  {explore:.1f} on the random {EPSILON:.0%} (epsilon x (best - mean CTR))")
    exploit = last - explore
    print(f"  {exploit:.1f} on the {1 - EPSILON:.0%} that exploit a wrong favourite")
    print(f"  (by then each item has had only ~{per_item:.0f} random impressions)")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
