"""Content moderation in miniature: per-policy heads and a review queue of fixed size.

A synthetic day of uploads (seeded): each item has hidden causes, and six policies
(violent extremism ... spam) are violated with probabilities that depend on them in
ways a linear model cannot fully see. One logistic-regression head per policy is
trained on a random labelled sample with class weights balanced (as rare labels are
often trained), so its scores are not probabilities; Platt scaling on a second
labelled sample calibrates them. Per-policy auto-action thresholds are set on that
sample for a target precision. What is left goes to a human queue of fixed daily
capacity, ordered by expected harm or by the raw max score, and graded by the harm
the reviewed items would have done: true severity times the views still to come.

The program is ``python -m snippets.problems.content_moderation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from snippets.concepts.calibration import apply_platt, fit_platt
from snippets.concepts.classification_metrics import sigmoid


# --8<-- [start:world]
@dataclass(frozen=True)
class Policy:
    """One row of the taxonomy: a name, its severity and its share of uploads."""

    name: str
    severity: float  # harm of one view, relative to spam (a policy team's scale)
    base_rate: float  # share of uploads that violate it, before enforcement
    signal: float  # how strongly the visible causes drive it (context hides some)


POLICIES = (  # severities and rates are assumptions of the miniature
    Policy("violent extremism", 10.0, 0.002, 3.0),
    Policy("hate speech", 5.0, 0.008, 2.5),
    Policy("graphic violence", 4.0, 0.005, 3.5),
    Policy("harassment", 3.0, 0.010, 2.5),
    Policy("adult nudity", 2.0, 0.015, 6.0),
    Policy("spam", 1.0, 0.030, 6.0),
)
SEVERITY = np.array([p.severity for p in POLICIES])
SIGNAL = np.array([p.signal for p in POLICIES])
LATENT_DIM, FEATURE_NOISE = 8, 0.35  # the model sees the causes through noise
VIEWS_MEDIAN, VIEWS_SIGMA, VIEWS_NOISE = 200.0, 1.8, 0.8  # log-normal views


@dataclass(frozen=True)
class Uploads:
    """A batch of items: what the model sees, and the hidden truth."""

    features: np.ndarray  # (n, d): noisy view of the causes
    labels: np.ndarray  # (n, K) 0/1: violates policy k (what a reviewer decides)
    views: np.ndarray  # (n,): true views still to come if the item stays up
    predicted_views: np.ndarray  # (n,): a noisy forecast of them


@dataclass(frozen=True)
class World:
    """How violations arise: fixed for a seed, shared by every sample of it."""

    directions: np.ndarray  # (K, d): the linear cause of each policy
    curvature: np.ndarray  # (K, d): a quadratic cause no linear head can fit
    intercepts: np.ndarray  # (K,): set so that each policy has its base rate


def make_world(seed: int) -> World:
    """Policy directions (hate and harassment, extremism and graphic violence share
    part of theirs) and intercepts solved on a large draw for the base rates."""
    rng = np.random.default_rng([seed, 0])
    k = len(POLICIES)
    directions = rng.normal(size=(k, LATENT_DIM))
    directions[3] += 0.8 * directions[1]  # harassment overlaps hate speech
    directions[2] += 0.8 * directions[0]  # graphic violence overlaps extremism
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    curvature = rng.normal(size=(k, LATENT_DIM))
    curvature /= np.linalg.norm(curvature, axis=1, keepdims=True)
    z = rng.normal(size=(20_000, LATENT_DIM))
    linear, square = SIGNAL * (z @ directions.T), (z @ curvature.T) ** 2 - 1
    intercepts = np.array([
        brentq(lambda a, j=j: sigmoid(a + linear[:, j] + square[:, j]).mean()
               - POLICIES[j].base_rate, -30, 10)
        for j in range(k)
    ])  # fmt: skip
    return World(directions, curvature, intercepts)


def sample_uploads(world: World, n: int, rng: np.random.Generator) -> Uploads:
    """n items of one day: labels drawn from the world, never from a model."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    z = rng.normal(size=(n, LATENT_DIM))
    logits = world.intercepts + SIGNAL * (z @ world.directions.T)
    logits += (z @ world.curvature.T) ** 2 - 1
    labels = (rng.random(logits.shape) < sigmoid(logits)).astype(int)
    features = z + rng.normal(0, FEATURE_NOISE, z.shape)
    log_views = np.log(VIEWS_MEDIAN) + rng.normal(0, VIEWS_SIGMA, n)
    forecast = log_views + rng.normal(0, VIEWS_NOISE, n)
    return Uploads(features, labels, np.exp(log_views), np.exp(forecast))
    # --8<-- [end:world]


def expected_views(
    predicted_views: np.ndarray, sigma: float, noise: float
) -> np.ndarray:
    """E[views | forecast] in a world of log-normal views (log spread sigma) and a log
    forecast with Gaussian noise: the log forecast shrunk towards the median by
    sigma^2 / (sigma^2 + noise^2), times the log-normal mean of what is left."""
    if not (sigma > 0 and noise >= 0):
        raise ValueError(f"need sigma > 0 and noise >= 0, got {sigma}, {noise}")
    shrink = sigma**2 / (sigma**2 + noise**2)
    centre = np.log(VIEWS_MEDIAN)
    log_mean = centre + shrink * (np.log(predicted_views) - centre)
    return np.exp(log_mean + sigma**2 * (1 - shrink) / 2)


def with_views(day: Uploads, sigma: float, noise: float) -> Uploads:
    """The same day with log views of spread sigma and a forecast of noise `noise`,
    rebuilt from the same normal draws, so a sweep compares like with like."""
    if not (sigma >= 0 and noise >= 0):
        raise ValueError(f"sigma and noise must be >= 0, got {sigma}, {noise}")
    spread = (np.log(day.views) - np.log(VIEWS_MEDIAN)) / VIEWS_SIGMA
    error = (np.log(day.predicted_views) - np.log(day.views)) / VIEWS_NOISE
    log_views = np.log(VIEWS_MEDIAN) + sigma * spread
    return replace(
        day,
        views=np.exp(log_views),
        predicted_views=np.exp(log_views + noise * error),
    )


@dataclass(frozen=True)
class Heads:
    """One logistic regression per policy, and a Platt map per head."""

    models: tuple[LogisticRegression, ...]
    platt: tuple[tuple[float, float], ...]  # (slope, intercept) on the logit

    def raw(self, features: np.ndarray) -> np.ndarray:
        """(n, K) scores of the class-balanced heads: not probabilities."""
        return np.column_stack([m.predict_proba(features)[:, 1] for m in self.models])

    def calibrated(self, features: np.ndarray) -> np.ndarray:
        """(n, K) calibrated P(violation of policy k)."""
        return calibrate(self.raw(features), self.platt)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def calibrate(raw: np.ndarray, platt: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Apply each head's Platt map to the logit of its raw score."""
    return np.column_stack(
        [apply_platt(logit(raw[:, k]), *ab) for k, ab in enumerate(platt)]
    )


def train_heads(train: Uploads, calibration: Uploads) -> Heads:
    """Class-balanced heads on one labelled sample, Platt maps on another."""
    if train.labels.shape[1] != len(POLICIES):
        raise ValueError(f"labels must have {len(POLICIES)} columns, one per policy")
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices
        models = tuple(
            LogisticRegression(class_weight="balanced", max_iter=500).fit(
                train.features, train.labels[:, k]
            )
            for k in range(len(POLICIES))
        )
    heads = Heads(models, ())
    raw = heads.raw(calibration.features)
    platt = tuple(
        fit_platt(logit(raw[:, k]), calibration.labels[:, k])
        for k in range(len(POLICIES))
    )
    return Heads(models, platt)


def auto_threshold(
    y_true: ArrayLike, y_prob: ArrayLike, target_precision: float, min_flagged: int = 5
) -> float:
    """Lowest score whose items above it reach the target precision, or inf.

    Chosen on a labelled sample; at least min_flagged items must be flagged, so
    that one lucky item cannot set a threshold.
    """
    labels, probs = np.asarray(y_true), np.asarray(y_prob, dtype=float)
    if labels.shape != probs.shape or labels.ndim != 1:
        raise ValueError("y_true and y_prob must be 1-D arrays of equal length")
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    order = np.argsort(-probs, kind="stable")
    hits = np.cumsum(labels[order])
    flagged = np.arange(1, labels.size + 1)
    ok = (hits / flagged >= target_precision) & (flagged >= min_flagged)
    # A threshold must not split tied scores: keep only the last of each tie.
    last_of_tie = np.append(probs[order][1:] != probs[order][:-1], True)
    ok &= last_of_tie
    return float(probs[order][np.flatnonzero(ok)[-1]]) if ok.any() else np.inf


def precision_recall(y_true: ArrayLike, flagged: ArrayLike) -> tuple[float, float]:
    """Precision and recall of a 0/1 decision; 0 when undefined (as scikit-learn)."""
    labels, flags = np.asarray(y_true).astype(bool), np.asarray(flagged).astype(bool)
    if labels.shape != flags.shape:
        raise ValueError("y_true and flagged must have the same shape")
    tp = np.sum(labels & flags)
    precision = tp / flags.sum() if flags.any() else 0.0
    recall = tp / labels.sum() if labels.any() else 0.0
    return float(precision), float(recall)


# --8<-- [start:priority]
def expected_harm(
    probs: np.ndarray,
    severity: np.ndarray,
    predicted_views: np.ndarray,
    *,
    use_severity: bool = True,
    use_views: bool = True,
) -> np.ndarray:
    """Sum over policies of P(violation) x severity x predicted views; use_* ablate."""
    check_priority_inputs(probs, severity, predicted_views)
    per_view = probs @ (severity if use_severity else np.ones_like(severity))
    return per_view * predicted_views if use_views else per_view


def review_queue(
    priority: np.ndarray, eligible: np.ndarray, capacity: int
) -> np.ndarray:
    """Indices of the capacity items with the highest priority among the eligible."""
    check_queue_inputs(priority, eligible, capacity)
    candidates = np.flatnonzero(eligible)
    if 0 < capacity < candidates.size:  # drop what cannot make the cut, in O(n)
        cut = np.partition(priority[candidates], -capacity)[-capacity]
        candidates = candidates[priority[candidates] >= cut]  # ties stay in
    order = np.argsort(-priority[candidates], kind="stable")
    return candidates[order[:capacity]]
    # --8<-- [end:priority]


def true_harm(day: Uploads) -> np.ndarray:
    """What each item would do if left up: true severity x the views to come."""
    return (day.labels @ SEVERITY) * day.views


def check_priority_inputs(
    probs: np.ndarray, severity: np.ndarray, views: np.ndarray
) -> None:
    """Shapes and values expected_harm needs; ValueError otherwise."""
    if not all(isinstance(a, np.ndarray) for a in (probs, severity, views)):
        raise TypeError("probs, severity and predicted_views must be numpy arrays")
    if probs.ndim != 2 or probs.shape[1] != severity.size:
        raise ValueError("probs must be (n, K) with one severity per policy")
    if views.shape != (probs.shape[0],):
        raise ValueError("predicted_views must hold one value per item")
    if (probs < 0).any() or (probs > 1).any() or np.isnan(probs).any():
        raise ValueError("probs must be probabilities in [0, 1]")
    if (severity < 0).any() or (views < 0).any():
        raise ValueError("severity and predicted_views must be non-negative")


def check_queue_inputs(
    priority: np.ndarray, eligible: np.ndarray, capacity: int
) -> None:
    """What review_queue needs; TypeError or ValueError otherwise."""
    if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer):
        raise TypeError(f"capacity must be an integer, got {capacity!r}")
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
    priority, eligible = np.asarray(priority), np.asarray(eligible)
    if priority.ndim != 1 or priority.shape != eligible.shape:
        raise ValueError("priority and eligible must be 1-D, one value per item")
    if eligible.dtype != bool:
        raise ValueError("eligible must be a boolean mask")
    if np.isnan(priority).any():
        raise ValueError("priority must not contain NaN")


def orderings(
    calibrated: np.ndarray, raw: np.ndarray, day: Uploads
) -> Mapping[str, np.ndarray]:
    """Every queue order the miniature compares, on the same candidates."""
    views = day.predicted_views
    return {
        "raw max score": raw.max(axis=1),
        "expected harm": expected_harm(calibrated, SEVERITY, views),
        "  without calibration": expected_harm(raw, SEVERITY, views),
        "  without the views term": expected_harm(
            calibrated, SEVERITY, views, use_views=False
        ),
        "  without severity": expected_harm(
            calibrated, SEVERITY, views, use_severity=False
        ),
        "oracle (true harm)": true_harm(day),
    }
