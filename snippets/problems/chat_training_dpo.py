"""Chat assistant training in miniature, part 2: DPO on a tabular policy, and beta.

Each prompt has eight candidate responses with a true reward (the same feature
world as the reward model's). The reference policy, standing for the SFT model,
leans a little towards better responses. Preference pairs are two samples from the
reference, labelled by a Bradley-Terry rater. DPO is trained by gradient descent on
a softmax policy per prompt, for several values of beta, and compared with the
closed-form optimum of the KL-regularised objective, pi_ref * exp(r / beta).
Ablations: more comparisons per prompt, the noise-free (population) preferences,
and a longer run.

Run the whole pipeline's miniature: ``python -m snippets.problems.chat_training``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, log_softmax

from snippets.problems.chat_training_reward import (
    TRUE_REWARD,
    _check_beta,
    _check_count,
    _check_seed,
    kl_divergence,
    kl_regularised_optimum,
    sample_responses,
)

PROMPTS, RESPONSES = 40, 8
REF_LEAN = 0.7  # the SFT model's log-odds lean towards better responses, plus noise
BETAS = (0.1, 0.3, 1.0, 3.0)
STEPS, STEP_SIZE = 200, 3.0  # full-batch steps; step on the implicit reward
SEEDS = tuple(range(5))
# Conditions: (name, comparisons per prompt, or None for the population). The last
# row continues the first run for twice as many steps again (3x in all).
CONDITIONS = (
    ("8 comparisons", 8),
    ("64 comparisons", 64),
    ("population", None),
    ("8, 3x the steps", 8),
)


@dataclass(frozen=True)
class TabularWorld:
    """True rewards and the reference policy, (prompts, responses) each."""

    reward: np.ndarray
    log_ref: np.ndarray


def tabular_world(
    rng: np.random.Generator, prompts: int = PROMPTS, responses: int = RESPONSES
) -> TabularWorld:
    """Responses' true rewards, and a reference policy that leans towards them."""
    _check_count("prompts", prompts)
    _check_count("responses", responses, minimum=2)
    reward = sample_responses(rng, (prompts, responses)) @ TRUE_REWARD
    logits = REF_LEAN * reward + rng.standard_normal((prompts, responses))
    return TabularWorld(reward, log_softmax(logits, axis=-1))


def sample_comparisons(
    rng: np.random.Generator, world: TabularWorld, comparisons: int
) -> np.ndarray:
    """wins[p, i, j]: share of prompt p's comparisons in which i beat j.

    Each comparison draws two responses from the reference policy (a draw of the
    same response twice compares nothing and is dropped) and a Bradley-Terry
    rater picks the winner with probability sigmoid(r_i - r_j).
    """
    _check_count("comparisons", comparisons)
    prompts, responses = world.reward.shape
    cdf = np.cumsum(np.exp(world.log_ref), axis=-1)
    draw = [
        np.minimum(
            (rng.random((prompts, comparisons, 1)) > cdf[:, None]).sum(-1),
            responses - 1,
        )
        for _ in range(2)
    ]
    a, b = draw
    margin = np.take_along_axis(world.reward, a, 1) - np.take_along_axis(
        world.reward, b, 1
    )
    first_wins = rng.random((prompts, comparisons)) < expit(margin)
    winner, loser = np.where(first_wins, a, b), np.where(first_wins, b, a)
    kept = a != b
    wins = np.zeros((prompts, responses, responses))
    prompt = np.broadcast_to(np.arange(prompts)[:, None], a.shape)
    np.add.at(wins, (prompt[kept], winner[kept], loser[kept]), 1.0)
    return wins / np.maximum(wins.sum(axis=(1, 2), keepdims=True), 1.0)


def population_wins(world: TabularWorld) -> np.ndarray:
    """The shares sample_comparisons converges to with infinitely many pairs."""
    pi = np.exp(world.log_ref)
    margin = world.reward[..., :, None] - world.reward[..., None, :]
    wins = pi[..., :, None] * pi[..., None, :] * expit(margin)
    responses = world.reward.shape[-1]
    wins[..., np.arange(responses), np.arange(responses)] = 0.0
    return wins / wins.sum(axis=(-2, -1), keepdims=True)


# --8<-- [start:dpo]
def train_dpo(
    log_ref: ArrayLike,
    wins: ArrayLike,
    betas: ArrayLike,
    steps: int = STEPS,
    step_size: float = STEP_SIZE,
    l2: float = 0.0,
    start: ArrayLike | None = None,
) -> np.ndarray:
    """log pi after full-batch gradient descent on the DPO loss, for each beta.

    Loss per prompt: the wins-weighted mean of -log sigmoid(u_i - u_j) over (i beat
    j), u = beta log(pi / pi_ref) the implicit reward; l2 adds (l2 / 2) |u|^2. The
    policy is a softmax over logits theta from pi_ref (or ``start``); each step on
    theta is step_size / beta^2 times the gradient: the same step on u at any beta.
    """
    log_ref, wins, beta, theta = _check_dpo(
        log_ref, wins, betas, steps, start, step_size, l2
    )
    for _ in range(steps):
        u = beta * (theta - log_ref)  # implicit reward, up to a constant per prompt
        s = wins * expit(u[..., None, :] - u[..., :, None])  # wins_ij sigma(u_j - u_i)
        grad_u = s.sum(axis=-2) - s.sum(axis=-1) + l2 * u
        theta -= step_size / beta * grad_u  # dLoss/dtheta = beta dLoss/du
    return log_softmax(theta, axis=-1)
    # --8<-- [end:dpo]


def _check_dpo(log_ref, wins, betas, steps, start, step_size=STEP_SIZE, l2=0.0):
    _check_step(step_size, l2)
    log_ref, wins = np.asarray(log_ref, dtype=float), np.asarray(wins, dtype=float)
    if wins.shape != log_ref.shape + log_ref.shape[-1:]:
        raise ValueError("wins must be log_ref's shape plus one responses axis")
    if not np.allclose(np.exp(log_ref).sum(-1), 1.0):
        raise ValueError("log_ref must hold log-probabilities that sum to 1")
    if np.any(wins < 0) or not np.all(np.isfinite(wins)):
        raise ValueError("wins must be finite and non-negative")
    _check_count("steps", steps, minimum=0)
    beta = _check_beta(betas).reshape(-1, *([1] * log_ref.ndim))
    shape = beta.shape[:1] + log_ref.shape
    if start is None:
        return log_ref, wins, beta, np.broadcast_to(log_ref, shape).copy()
    theta = np.asarray(start, dtype=float)
    if theta.shape != shape:
        raise ValueError(f"start must have shape {shape}, got {theta.shape}")
    return log_ref, wins, beta, theta.copy()


def _check_step(step_size: float, l2: float) -> None:
    for name, value in (("step_size", step_size), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name} must be a number, got {value!r}")
    if not step_size > 0 or not l2 >= 0:
        raise ValueError("need step_size > 0 and l2 >= 0")


def dpo_experiment(
    seeds: Sequence[int] = SEEDS, betas: Sequence[float] = BETAS
) -> dict[str, np.ndarray]:
    """DPO per condition and beta against the closed-form optimum, per seed.

    Returns arrays (seeds, betas) for the optimum ("kl_opt", "gain_opt") and
    (seeds, conditions, betas) for DPO: KL from the reference, true-reward gain
    over the reference, and KL(DPO || optimum). Every condition sees the same
    worlds; the comparisons are drawn afresh per condition.
    """
    betas = _check_beta(betas)
    for seed in seeds:
        _check_seed(seed)
    rngs = [np.random.default_rng(2_000 + seed) for seed in seeds]
    worlds = [(rng, tabular_world(rng)) for rng in rngs]
    reward = np.stack([w.reward for _, w in worlds])
    log_ref = np.stack([w.log_ref for _, w in worlds])
    world = TabularWorld(reward, log_ref)
    log_opt = kl_regularised_optimum(log_ref, reward, betas[:, None, None, None])
    base = (np.exp(log_ref) * reward).sum(-1).mean(-1)  # (seeds,)

    def grade(log_pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gain = (np.exp(log_pi) * reward).sum(-1).mean(-1) - base
        return kl_divergence(log_pi, log_ref).mean(-1).T, gain.T  # (seeds, betas)

    out = {"conditions": [c[0] for c in CONDITIONS]}
    out["kl_opt"], out["gain_opt"] = grade(log_opt)
    shape = (len(seeds), len(CONDITIONS), betas.size)
    out |= {k: np.zeros(shape) for k in ("kl", "gain", "kl_to_opt")}
    drawn = {None: population_wins(world)}
    for comparisons in (8, 64):
        drawn[comparisons] = np.stack(
            [sample_comparisons(rng, w, comparisons) for rng, w in worlds]
        )
    for c, (_, comparisons) in enumerate(CONDITIONS):
        if c < len(CONDITIONS) - 1:
            log_pi = train_dpo(log_ref, drawn[comparisons], betas)
            if c == 0:
                first = log_pi
        else:  # the same data, 2 x STEPS more steps from where the first run ended
            log_pi = train_dpo(log_ref, drawn[8], betas, 2 * STEPS, start=first)
        out["kl"][:, c], out["gain"][:, c] = grade(log_pi)
        out["kl_to_opt"][:, c] = kl_divergence(log_pi, log_opt).mean(-1).T
    return out
