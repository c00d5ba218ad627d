"""Memory retrieval: relevance, recency and importance, combined, graded and tuned.

The score is the one Park et al. (2023) give their generative agents: each term scaled
to [0, 1] over the user's memories, then a weighted sum. Here the weights and the
recency half-life are chosen on a validation world, and every ranking is graded
against the generator's ground truth: is the current value of the asked fact in the
top k, is a superseded value there, and which of the two ranks first.
Used by ``snippets.problems.assistant_memory``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from snippets.problems.assistant_memory_world import DAYS, PADDING, Histories

K = 5  # memories put in the prompt per question
HALF_LIVES = (7.0, 30.0, 90.0, 365.0)  # recency half-lives searched, in days
GRID_STEP = 0.1  # weights searched on the simplex in steps of 0.1
Weights = tuple[float, float, float]  # (relevance, recency, importance)
NOT_A_CANDIDATE = -1e3  # each term of a non-candidate: its score is below any real one


def scale(x: np.ndarray) -> np.ndarray:
    """Min-max scaling to [0, 1] along the last axis; NaN (padding) stays NaN."""
    low = np.nanmin(x, axis=-1, keepdims=True)
    span = np.nanmax(x, axis=-1, keepdims=True) - low
    return (x - low) / np.where(span > 0, span, 1.0)


# --8<-- [start:score]
def score_terms(
    relevance: np.ndarray,  # cosine of the query and each memory
    age_days: np.ndarray,  # how long ago each memory was written
    importance: np.ndarray,  # the extractor's 1-10 score
    half_life_days: float,
) -> np.ndarray:
    """The three terms, each scaled to [0, 1] over one user's memories."""
    check_half_life(half_life_days)
    recency = 0.5 ** (age_days / half_life_days)  # exponential decay with age
    terms = [scale(t) for t in (relevance, recency, importance)]
    return np.stack(np.broadcast_arrays(*terms))  # (3, ..., memories)


def memory_score(terms: np.ndarray, weights: Weights) -> np.ndarray:
    """Weighted sum of the scaled terms: Park et al.'s retrieval score."""
    w = np.asarray(check_weights(weights), dtype=terms.dtype)
    return np.tensordot(w, terms, axes=1)
    # --8<-- [end:score]


def check_half_life(half_life_days: float) -> None:
    """A recency half-life must be a positive, finite number of days."""
    if not (isinstance(half_life_days, int | float) and 0 < half_life_days < np.inf):
        raise ValueError(f"half_life_days must be positive, got {half_life_days!r}")


def check_weights(weights: Sequence[float]) -> Weights:
    """Three non-negative finite weights, not all zero."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (3,) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() == 0:
        raise ValueError(
            f"weights must be 3 non-negative numbers, not all 0: {weights}"
        )
    return (float(w[0]), float(w[1]), float(w[2]))


def world_terms(
    h: Histories, half_lives: Sequence[float], active=None
) -> dict[float, np.ndarray]:
    """score_terms for every (user, question, memory) and each half-life, float32; a
    memory that is not a candidate (padding, or retired by active) gets
    NOT_A_CANDIDATE in each term."""
    for life in half_lives:
        check_half_life(life)
    candidate = h.valid if active is None else h.valid & active
    relevance = np.einsum("usd,umd->usm", h.query, h.embedding)
    relevance = np.where(candidate[:, None, :], relevance, np.float32(np.nan))
    age = np.where(candidate, DAYS - h.day, np.nan).astype(np.float32)[:, None, :]
    importance = np.where(candidate, h.importance, np.nan).astype(np.float32)
    out = {}
    for life in half_lives:
        terms = score_terms(relevance, age, importance[:, None, :], life)
        terms[np.isnan(terms)] = NOT_A_CANDIDATE
        out[life] = terms
    return out


@functools.cache
def _jitter(shape: tuple[int, ...]) -> np.ndarray:
    """Exact ties (memories of one session under recency) are broken at random, the
    same way for every method: a fixed jitter far below any real score difference."""
    return np.random.default_rng(0).uniform(0.0, 1e-6, shape).astype(np.float32)


@dataclass(frozen=True)
class Graded:
    """Per question (users, slots): what the top k held about the asked fact."""

    recall: np.ndarray  # the current value is in the top k
    superseded: np.ndarray  # a superseded value is in the top k
    stale_first: np.ndarray  # the best-ranked memory of the fact is superseded


def grade(h: Histories, scores: np.ndarray, k: int = K) -> Graded:
    """Grade each question's top k against the generator's ground truth."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if scores.shape != h.query.shape[:2] + h.slot.shape[1:]:
        raise ValueError(f"scores must be (users, slots, memories), got {scores.shape}")
    s = scores + _jitter(scores.shape)
    picks = []  # the k best, best first: k passes of argmax (k is small)
    for _ in range(min(k, s.shape[-1])):
        best = np.argmax(s, axis=-1)[..., None]
        keep = np.take_along_axis(s, best, -1) >= 0  # a candidate, not padding
        picks.append(np.where(keep, best, -1))  # -1: none left
        np.put_along_axis(s, best, -np.inf, -1)
    top = np.concatenate(picks, axis=-1)

    def flag(per_memory: np.ndarray, fill) -> np.ndarray:
        extra = np.full_like(per_memory[:, :1], fill)  # what index -1 reads
        padded = np.concatenate((per_memory, extra), axis=1)
        return np.take_along_axis(padded[:, None, :], top, -1)

    asked = np.arange(h.query.shape[1])[None, :, None]
    about = flag(h.slot, PADDING) == asked
    current, old = flag(h.current, False) & about, flag(h.superseded, False) & about
    first = np.argmax(about, axis=-1)[..., None]
    return Graded(
        recall=current.any(-1),
        superseded=old.any(-1),
        stale_first=about.any(-1) & np.take_along_axis(old, first, -1)[..., 0],
    )


def objective(graded: Graded) -> float:
    """What the weights are tuned for: recall minus the stale-first rate."""
    return float(graded.recall.mean() - graded.stale_first.mean())


def write_time_supersession(
    h: Histories, link_recall: float, false_link: float, seed: int
) -> np.ndarray:
    """Which memories stay active when each new fact is linked to the one it replaces.

    A simulated linker (in production an LLM comparing a new fact with the stored
    facts most like it): each mention of a changed value finds the slot's earlier
    values with probability link_recall and retires them; with probability
    false_link a fact mention instead retires a wrong slot's memories written so far.
    """
    for name, p in (("link_recall", link_recall), ("false_link", false_link)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p}")
    rng = np.random.default_rng(seed)
    active = h.valid.copy()
    fact = h.slot >= 0
    linked = fact & (h.version > 0) & (rng.random(h.slot.shape) < link_recall)
    slots = h.query.shape[1]
    for u in range(h.users):
        # Highest version whose mention got linked, per slot: older ones retire.
        reach = np.full(slots, -1)
        np.maximum.at(reach, h.slot[u, linked[u]], h.version[u, linked[u]])
        active[u] &= ~(fact[u] & (h.version[u] < reach[np.maximum(h.slot[u], 0)]))
        for m in np.flatnonzero(fact[u] & (rng.random(fact.shape[1]) < false_link)):
            wrong = rng.choice(np.delete(np.arange(slots), h.slot[u, m]))
            active[u] &= ~((h.slot[u] == wrong) & (h.day[u] <= h.day[u, m]))
    return active


def simplex_grid(step: float = GRID_STEP) -> list[Weights]:
    """Every (relevance, recency, importance) weight triple on a grid summing to 1."""
    n = round(1 / step)
    if not np.isclose(n * step, 1.0) or n < 1:
        raise ValueError(f"step must divide 1, got {step}")
    return [
        (a / n, b / n, (n - a - b) / n) for a in range(n + 1) for b in range(n + 1 - a)
    ]


def search_weights(h: Histories, active=None) -> dict[tuple[Weights, float], float]:
    """The tuning objective of every grid point and half-life on world h."""
    found = {}
    for half_life, terms in world_terms(h, HALF_LIVES, active).items():
        for weights in simplex_grid():
            found[weights, half_life] = objective(
                grade(h, memory_score(terms, weights))
            )
    return found


def best(
    found: dict[tuple[Weights, float], float], allowed: Callable[[Weights], bool]
) -> tuple[Weights, float]:
    """The allowed grid point with the highest objective (first one on ties)."""
    candidates = [(v, key) for key, v in found.items() if allowed(key[0])]
    if not candidates:
        raise ValueError("no grid point is allowed")
    return max(candidates, key=lambda c: c[0])[1]
