"""Chat assistant training in miniature, part 1: a reward model from preferences.

A response is five features a rater perceives (correctness, helpfulness, clarity,
safety, length). A hidden linear reward of them is the world's truth; a rater
prefers one of two responses with the Bradley-Terry probability of their reward
difference, so the labels are noisy the way human comparisons are. A Bradley-Terry
reward model is fitted to the labels by Newton's method on feature differences and
graded on held-out pairs, against the labels and against the truth, as the number
of labelled pairs grows; noiseless labels are the ablation.

Then raters who favour long answers train a second reward model, and the optimum of
the KL-regularised objective that RLHF maximises, pi_ref * exp(reward / beta), is
computed against each reward model and graded by the true reward: the policy exploits
what the proxy gets wrong (reward hacking), and fair raters are the ablation.

Run the whole pipeline's miniature: ``python -m snippets.problems.chat_training``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, log_softmax

FEATURES = ("correct", "helpful", "clear", "safe", "length")
# The world's truth, in the raters' log-odds: longer is slightly worse.
TRUE_REWARD = np.array([1.0, 0.7, 0.5, 0.6, -0.2])
LENGTH = FEATURES.index("length")
RATER_LENGTH_BIAS = 0.8  # biased raters add this to length's weight
SEEDS = tuple(range(10))
PAIR_COUNTS = (100, 300, 1_000, 3_000, 10_000)
TEST_PAIRS = 20_000
HACK_SEEDS = tuple(range(5))
HACK_BETAS = (1.0, 0.3, 0.1)
HACK_PROMPTS, HACK_SAMPLES, HACK_PAIRS = 400, 16, 10_000


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _check_count(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_beta(beta: ArrayLike) -> np.ndarray:
    values = np.asarray(beta, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"beta must be positive and finite, got {beta!r}")
    return values


@dataclass(frozen=True)
class Pairs:
    """Labelled comparisons: feature differences (first minus second response),
    1.0 where the first was preferred, and the true reward difference."""

    differences: np.ndarray
    labels: np.ndarray
    true_margin: np.ndarray


def sample_responses(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Features of responses sampled from the SFT model: independent N(0, 1)."""
    return rng.standard_normal((*shape, len(FEATURES)))


def preference_pairs(
    rng: np.random.Generator,
    n: int,
    rater_weights: ArrayLike = TRUE_REWARD,
    noiseless: bool = False,
) -> Pairs:
    """n comparisons of two fresh responses, labelled by a Bradley-Terry rater.

    The rater prefers the first response with probability sigmoid(w . (x1 - x2))
    for its own weights w (the truth, or the truth plus a bias); ``noiseless``
    raters always pick the higher-reward response.
    """
    _check_count("n", n)
    weights = np.asarray(rater_weights, dtype=float)
    if weights.shape != (len(FEATURES),):
        raise ValueError(f"rater_weights needs {len(FEATURES)} values")
    first, second = sample_responses(rng, (n,)), sample_responses(rng, (n,))
    differences = first - second
    logit = differences @ weights
    draws = rng.random(n)  # drawn either way, so both raters see the same pairs
    labels = logit > 0 if noiseless else draws < expit(logit)
    return Pairs(differences, labels.astype(float), differences @ TRUE_REWARD)


# --8<-- [start:bradley_terry]
def fit_bradley_terry(
    differences: ArrayLike, labels: ArrayLike, l2: float = 1.0, max_iter: int = 50
) -> np.ndarray:
    """Weights w maximising sum log P(label) with P(first wins) = sigmoid(w . d).

    The reward model is r(x) = w . x; only differences enter, so it has no
    intercept (a reward is defined up to a constant). Newton's method on the
    penalised log-likelihood: logistic regression on feature differences.
    """
    d, y = _check_pairs(differences, labels, l2)
    w = np.zeros(d.shape[1])
    for _ in range(max_iter):
        p = expit(d @ w)
        gradient = d.T @ (p - y) + l2 * w
        hessian = (d * (p * (1 - p))[:, None]).T @ d + l2 * np.eye(d.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w
    # --8<-- [end:bradley_terry]


def _check_pairs(differences, labels, l2) -> tuple[np.ndarray, np.ndarray]:
    d, y = np.asarray(differences, dtype=float), np.asarray(labels, dtype=float)
    if d.ndim != 2 or y.shape != (d.shape[0],) or d.shape[0] == 0:
        raise ValueError("differences must be (n, features) and labels (n,), n >= 1")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("labels must be 0 or 1")
    if not np.all(np.isfinite(d)):
        raise ValueError("differences must be finite")
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not l2 > 0:
        raise ValueError(f"l2 must be a positive number, got {l2!r}")
    return d, y


def preference_accuracy(
    weights: ArrayLike, differences: ArrayLike, labels: ArrayLike
) -> float:
    """Share of pairs where the reward model prefers the labelled winner."""
    d, y = _check_pairs(differences, labels, 1.0)
    return float(np.mean((d @ np.asarray(weights, dtype=float) > 0) == (y == 1)))


def label_ceiling(true_margin: ArrayLike) -> tuple[float, float]:
    """What noise allows on these pairs: (best accuracy, two raters' agreement).

    With P(first wins) = p, the best any model can do against one rater's label is
    max(p, 1 - p); two independent raters agree with probability p^2 + (1 - p)^2.
    """
    p = expit(np.asarray(true_margin, dtype=float))
    return float(np.mean(np.maximum(p, 1 - p))), float(np.mean(p**2 + (1 - p) ** 2))


# --8<-- [start:optimum]
def kl_regularised_optimum(
    log_ref: ArrayLike, reward: ArrayLike, beta: ArrayLike
) -> np.ndarray:
    """log pi* for max E_pi[r] - beta KL(pi || pi_ref), over the last axis.

    The maximiser is pi* = pi_ref exp(r / beta) / Z: the target of RLHF with a KL
    penalty, and the policy DPO's loss is built to reach.
    """
    log_ref, reward = np.asarray(log_ref, dtype=float), np.asarray(reward, dtype=float)
    beta = _check_beta(beta)
    return log_softmax(log_ref + reward / beta, axis=-1)
    # --8<-- [end:optimum]


def kl_divergence(log_p: ArrayLike, log_q: ArrayLike) -> np.ndarray:
    """KL(p || q) in nats over the last axis, from log-probabilities."""
    log_p, log_q = np.asarray(log_p, dtype=float), np.asarray(log_q, dtype=float)
    if log_p.shape[-1] != log_q.shape[-1]:
        raise ValueError("p and q must cover the same responses")
    return np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)


def reward_model_scaling(
    seeds: Sequence[int] = SEEDS,
    pair_counts: Sequence[int] = PAIR_COUNTS,
    test_pairs: int = TEST_PAIRS,
) -> dict[str, np.ndarray]:
    """Held-out accuracy per seed and training-set size, noisy and noiseless raters.

    Returns arrays (seeds, sizes) for accuracy against the labels, against the
    true order and against noiseless labels, and per seed the label ceiling and
    the measured agreement of two independent raters on the test pairs.
    """
    shape = (len(seeds), len(pair_counts))
    out = {k: np.zeros(shape) for k in ("labels", "truth", "noiseless")}
    out |= {k: np.zeros(len(seeds)) for k in ("ceiling", "agreement", "expected")}
    for i, seed in enumerate(seeds):
        _check_seed(seed)
        rng = np.random.default_rng(seed)
        test = preference_pairs(rng, test_pairs)
        second_rater = rng.random(test_pairs) < expit(test.true_margin)
        out["agreement"][i] = np.mean(second_rater == (test.labels == 1))
        out["ceiling"][i], out["expected"][i] = label_ceiling(test.true_margin)
        truth = (test.true_margin > 0).astype(float)
        for j, n in enumerate(pair_counts):
            w = fit_bradley_terry(*_train(rng, n, noiseless=False))
            out["labels"][i, j] = preference_accuracy(w, test.differences, test.labels)
            out["truth"][i, j] = preference_accuracy(w, test.differences, truth)
            w = fit_bradley_terry(*_train(rng, n, noiseless=True))
            out["noiseless"][i, j] = preference_accuracy(w, test.differences, truth)
    return out


def _train(rng, n, noiseless):
    pairs = preference_pairs(rng, n, noiseless=noiseless)
    return pairs.differences, pairs.labels


def reward_hacking(
    seeds: Sequence[int] = HACK_SEEDS, betas: Sequence[float] = HACK_BETAS
) -> dict[str, np.ndarray]:
    """Optimise against a reward model from fair raters and one from raters who
    favour length; grade the optimum by the true reward.

    For each prompt the reference policy is uniform over 16 responses sampled from
    the SFT model. Returns arrays (seeds, raters, betas) of the KL from the
    reference, the gain in reward-model score, the gain in true reward and the
    mean length, raters in the order (fair, length-biased).
    """
    betas = _check_beta(betas)
    biased = TRUE_REWARD + RATER_LENGTH_BIAS * np.eye(len(FEATURES))[LENGTH]
    shape = (len(seeds), 2, betas.size)
    out = {k: np.zeros(shape) for k in ("kl", "proxy", "true", "length")}
    for i, seed in enumerate(seeds):
        _check_seed(seed)
        rng = np.random.default_rng(1_000 + seed)
        candidates = sample_responses(rng, (HACK_PROMPTS, HACK_SAMPLES))
        state = rng.bit_generator.state  # the same pairs and draws for both raters
        log_ref = np.full((HACK_PROMPTS, HACK_SAMPLES), -np.log(HACK_SAMPLES))
        true = candidates @ TRUE_REWARD
        for k, rater in enumerate((TRUE_REWARD, biased)):
            rng.bit_generator.state = state
            pairs = preference_pairs(rng, HACK_PAIRS, rater_weights=rater)
            proxy = candidates @ fit_bradley_terry(pairs.differences, pairs.labels)
            log_pi = kl_regularised_optimum(log_ref, proxy, betas[:, None, None])
            pi = np.exp(log_pi)
            out["kl"][i, k] = kl_divergence(log_pi, log_ref).mean(-1)
            out["proxy"][i, k] = (pi * proxy).sum(-1).mean(-1) - proxy.mean()
            out["true"][i, k] = (pi * true).sum(-1).mean(-1) - true.mean()
            out["length"][i, k] = (pi * candidates[..., LENGTH]).sum(-1).mean(-1)
    return out
