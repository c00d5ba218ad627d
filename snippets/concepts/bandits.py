"""Exploring new items: greedy vs epsilon-greedy vs Thompson sampling, by regret.

Twenty brand-new items with unknown click-through rates share a stream of impressions.
Run it: ``python -m snippets.concepts.bandits``.
"""

from __future__ import annotations

import numpy as np

POLICIES = ("greedy", "epsilon-greedy", "thompson")


# --8<-- [start:policies]
def choose(
    policy: str,
    clicks: np.ndarray,
    shows: np.ndarray,
    prior: tuple[float, float],
    rng: np.random.Generator,
    epsilon: float = 0.1,
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


def simulate(
    policy: str,
    n_arms: int = 20,
    impressions: int = 5_000,
    runs: int = 100,
    prior: tuple[float, float] = (2.0, 38.0),
    seed: int = 0,
) -> np.ndarray:
    """Mean cumulative regret (clicks lost to always showing the best) per step."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if min(n_arms, impressions, runs) < 1 or min(prior) <= 0:
        raise ValueError("n_arms, impressions and runs must be >= 1; prior > 0")
    rng = np.random.default_rng(seed)
    true_ctr = rng.beta(*prior, size=(runs, n_arms))  # new items, CTR ~ the prior
    best = true_ctr.max(axis=1)
    clicks, shows = np.zeros((runs, n_arms)), np.zeros((runs, n_arms))
    regret = np.empty(impressions)
    lost = np.zeros(runs)
    every_run = np.arange(runs)
    for step in range(impressions):
        arm = choose(policy, clicks, shows, prior, rng)
        ctr = true_ctr[every_run, arm]
        clicks[every_run, arm] += rng.random(runs) < ctr
        shows[every_run, arm] += 1
        lost += best - ctr  # expected regret: no click noise in the score
        regret[step] = lost.mean()
    return regret
    # --8<-- [end:policies]


# --8<-- [start:demo]
def main() -> None:
    print("20 new items, CTR ~ Beta(2, 38) (mean 5%), mean of 100 runs")
    print(f"{'policy':<15} {'regret@500':>10} {'regret@5k':>10} {'per 1k, last':>12}")
    for policy in POLICIES:
        regret = simulate(policy)
        last_thousand = regret[-1] - regret[-1001]
        print(
            f"{policy:<15} {regret[499]:>10.1f} {regret[-1]:>10.1f}"
            f" {last_thousand:>12.1f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
