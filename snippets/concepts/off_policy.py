"""Off-policy evaluation: IPS, self-normalised IPS and doubly robust, on logged data.

A logging policy with known propensities shows one of ten items to users of five
segments; the value of a new, deterministic policy is estimated from those logs alone
and compared with its true value, which the simulated world knows exactly. Rewards are
minutes watched, or 0/1 clicks for the ablation.
Run it: ``python -m snippets.concepts.off_policy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snippets.common.stats import paired_interval


def _logs(*columns: object) -> list[np.ndarray]:
    """Equal-length 1-D float arrays, or a clear error."""
    arrays = []
    for column in columns:
        if isinstance(column, str) or not hasattr(column, "__len__"):
            raise TypeError(
                f"expected an array of numbers, got {type(column).__name__}"
            )
        arrays.append(np.asarray(column, dtype=float))
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1:
        raise ValueError("every column must be a 1-D array of the same length")
    if arrays[0].size == 0 or not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("the logs must be non-empty and finite")
    logged, target = arrays[1], arrays[2]
    if np.any(logged <= 0) or np.any(logged > 1):
        raise ValueError(
            "logged propensities must be in (0, 1]: zero can't be reweighted"
        )
    if np.any(target < 0) or np.any(target > 1):
        raise ValueError("target probabilities must be in [0, 1]")
    return arrays


# --8<-- [start:estimators]
def ips(reward: np.ndarray, logged_prob: np.ndarray, target_prob: np.ndarray) -> float:
    """Inverse propensity score: mean of r * pi(a|x) / p(a|x) over all n events."""
    r, p, pi = _logs(reward, logged_prob, target_prob)
    return float(np.mean(r * pi / p))


def snips(
    reward: np.ndarray, logged_prob: np.ndarray, target_prob: np.ndarray
) -> float:
    """Self-normalised IPS: divide by the sum of the weights instead of by n."""
    r, p, pi = _logs(reward, logged_prob, target_prob)
    weight = pi / p
    if weight.sum() == 0:
        raise ValueError("the new policy never picks a logged item: no estimate")
    return float(np.sum(weight * r) / weight.sum())


def doubly_robust(
    reward: np.ndarray,
    logged_prob: np.ndarray,
    target_prob: np.ndarray,
    predicted: np.ndarray,
    predicted_value: np.ndarray,
) -> float:
    """A reward model's value of the new policy plus an IPS correction of its error.

    predicted: the model's reward for each logged (context, item);
    predicted_value: the model's expected reward of the new policy in each context.
    """
    r, p, pi, r_hat, v_hat = _logs(
        reward, logged_prob, target_prob, predicted, predicted_value
    )
    return float(np.mean(v_hat + pi / p * (r - r_hat)))
    # --8<-- [end:estimators]


@dataclass(frozen=True)
class World:
    """Mean rewards per (segment, item), an old and a new policy, a reward model."""

    mean: np.ndarray  # (segments, items): expected reward (watch minutes, or CTR)
    logging: np.ndarray  # (segments, items): probabilities, rows sum to 1
    target: np.ndarray  # (segments,): the item the new policy shows
    model: np.ndarray  # (segments, items): an imperfect reward model
    clicks: bool  # rewards are 0/1 clicks with that mean, else minutes with noise

    @property
    def true_value(self) -> float:
        """Expected reward per impression of the new policy; segments equally likely."""
        return float(self.mean[np.arange(len(self.target)), self.target].mean())


def make_world(clicks: bool = False, segments: int = 5, items: int = 10, seed: int = 0):
    """A world whose logging policy seldom shows what the new policy would."""
    rng = np.random.default_rng(seed)
    if clicks:
        mean = rng.beta(2, 30, size=(segments, items))
    else:
        mean = rng.uniform(1, 10, size=(segments, items))  # minutes watched
    spread = mean.std()
    # The old policy favours items by a noisy, stale guess (a softmax over z-scores).
    stale = (mean + rng.normal(0, 0.5 * spread, size=mean.shape)) / spread
    logging = np.exp((stale - stale.max(axis=1, keepdims=True)) / 0.4)
    logging /= logging.sum(axis=1, keepdims=True)
    target = (mean + rng.normal(0, 0.1 * spread, size=mean.shape)).argmax(axis=1)
    model = mean + rng.normal(0, 0.2 * spread, size=mean.shape)  # right on average
    return World(mean, logging, target, model, clicks)


def replay_logs(world: World, events: int, rng: np.random.Generator) -> dict:
    """Log `events` impressions of the old policy: what the estimators get to see."""
    segments, items = world.mean.shape
    x = rng.integers(0, segments, events)
    cumulative = world.logging[x].cumsum(axis=1)
    a = np.minimum((rng.random(events)[:, None] > cumulative).sum(axis=1), items - 1)
    if world.clicks:
        reward = (rng.random(events) < world.mean[x, a]).astype(float)
    else:
        reward = world.mean[x, a] + rng.normal(0, 1.0, events)  # one minute of noise
    return {
        "reward": reward,
        "logged_prob": world.logging[x, a],
        "target_prob": (a == world.target[x]).astype(float),
        "predicted": world.model[x, a],
        "predicted_value": world.model[x, world.target[x]],
    }


def compare(world: World, events: int = 5_000, replays: int = 200, seed: int = 1):
    """Each estimator's error (estimate - true value) over independent log replays."""
    rng = np.random.default_rng(seed)
    errors = {"IPS": [], "SNIPS": [], "DR": []}
    for _ in range(replays):
        logs = replay_logs(world, events, rng)
        core = (logs["reward"], logs["logged_prob"], logs["target_prob"])
        errors["IPS"].append(ips(*core) - world.true_value)
        errors["SNIPS"].append(snips(*core) - world.true_value)
        dr = doubly_robust(*core, logs["predicted"], logs["predicted_value"])
        errors["DR"].append(dr - world.true_value)
    return {name: np.asarray(e) for name, e in errors.items()}


# --8<-- [start:demo]
def rmse(errors: np.ndarray) -> float:
    """Root mean squared error of an estimator over log replays."""
    return float(np.sqrt(np.mean(errors**2)))


def main() -> None:
    replays, events, seeds = 100, 5_000, range(5)
    worlds = [make_world(seed=s) for s in seeds]
    runs = [compare(w, events, replays) for w in worlds]
    world, errors = worlds[0], runs[0]
    logged = world.logging[np.arange(len(world.target)), world.target]
    print(f"Watch minutes: the new policy's true value {world.true_value:.3f} min;")
    print(
        f"the old policy showed its picks with probability {logged.min():.3f}", end=""
    )
    print(f" to {logged.max():.3f}")
    print(f"\n{replays} replays of {events:,} logged events; error = estimate - truth")
    print(f"{'estimator':<10}{'mean error, 95% CI':>28}{'RMSE':>8}")
    for name, err in errors.items():
        mean, low, high = paired_interval(err)
        print(f"{name:<10}{mean:+9.4f} ({low:+.4f} to {high:+.4f}){rmse(err):8.4f}")

    def spread(runs: list[dict]) -> str:  # each estimator's RMSE, min-max over worlds
        cells = []
        for name in ("IPS", "SNIPS", "DR"):
            values = [rmse(run[name]) for run in runs]
            cells.append(f"{name} {min(values):.4f}-{max(values):.4f}")
        return ", ".join(cells)

    clicks = [compare(make_world(True, seed=s), events, replays) for s in seeds]
    print(f"\nRMSE over {len(seeds)} worlds, minutes: {spread(runs)}")
    print(f"same, 0/1 clicks (ablation): {spread(clicks)}")

    # Replay (Li et al., 2011) under uniform logging is SNIPS: the same number.
    uniform = World(
        world.mean, np.full_like(world.mean, 0.1), world.target, world.model, False
    )
    rng, gaps = np.random.default_rng(2), []
    for _ in range(20):
        logs = replay_logs(uniform, events, rng)
        replay = logs["reward"][logs["target_prob"] == 1].mean()
        core = (logs["reward"], logs["logged_prob"], logs["target_prob"])
        gaps.append(abs(replay - snips(*core)))
    verdict = "equals" if max(gaps) < 1e-12 else "differs from"
    print(f"\nUniform logging, 20 replays: replay {verdict} SNIPS every time")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
