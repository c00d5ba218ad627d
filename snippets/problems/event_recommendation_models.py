"""The methods of the event recommendation miniature, and how they are graded.

Popularity (borrowed from the topic or the host, since an event id has no past),
an item-id collaborative filter, and a logistic regression over point-in-time
user-event features; top-k lists with a random tiebreak, graded with the shared
ranking metrics. Imported by ``snippets.problems.event_recommendation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from snippets.concepts.position_bias import fit_logistic
from snippets.concepts.ranking_metrics import mean_over_queries, ndcg_at_k, recall_at_k
from snippets.problems.event_recommendation_world import (
    FEATURES,
    RADIUS_KM,
    TOPICS,
    World,
)


# --8<-- [start:baselines]
def popularity_scores(
    world: World, events: np.ndarray, history_end: int, by: str
) -> np.ndarray:
    """Past registrations per event of the same topic, or of the same host.

    An event id has no past, so popularity must borrow it from something the
    event shares with older ones; a host with no past falls back on its topic.
    """
    if by not in ("topic", "host"):
        raise ValueError(f"by must be 'topic' or 'host', got {by!r}")
    past = np.flatnonzero(world.event_week < history_end)
    regs = world.registered[:, past].sum(axis=0)

    def per_event(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        total = np.bincount(key[past], regs, size)
        count = np.bincount(key[past], minlength=size)
        return total / np.maximum(count, 1), count

    topic_mean, _ = per_event(world.event_topic, TOPICS)
    score = topic_mean[world.event_topic[events]]
    if by == "host":
        host_mean, hosted = per_event(world.event_host, world.host_first_week.size)
        known = hosted[world.event_host[events]] > 0
        score = np.where(known, host_mean[world.event_host[events]], score)
    return np.broadcast_to(score, (world.n_users, events.size))


def item_cf_scores(
    interactions: np.ndarray, known: np.ndarray, events: np.ndarray, rank: int = 16
) -> np.ndarray:
    """Low-rank reconstruction of a user x item matrix; unseen item ids score 0.

    interactions is (users, len(known)) for the item ids in known; an item id
    outside known has no column, so no factor, and every user scores it 0.
    """
    interactions, known = np.asarray(interactions), np.asarray(known)
    if known.ndim != 1 or np.asarray(events).ndim != 1:
        raise ValueError("known and events must be 1-D arrays of item ids")
    if interactions.ndim != 2 or interactions.shape[1] != known.size:
        raise ValueError("interactions must be (users, len(known))")
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise TypeError(f"rank must be an integer, got {type(rank).__name__}")
    if not 1 <= rank <= min(interactions.shape):
        raise ValueError(f"rank must be in [1, {min(interactions.shape)}], got {rank}")
    column = {int(e): i for i, e in enumerate(known)}
    out = np.zeros((interactions.shape[0], len(events)))
    wanted = [(j, column[e]) for j, e in enumerate(np.asarray(events).tolist())
              if e in column]  # fmt: skip
    if not wanted:  # no requested id has a column: every score is 0
        return out
    # The top right singular vectors, from the small item x item Gram matrix.
    matrix = interactions.astype(float)
    _, vectors = np.linalg.eigh(matrix.T @ matrix)  # ascending eigenvalues
    top = vectors[:, -rank:]
    fitted = matrix @ top @ top.T  # = U_r S_r V_r^T, the rank-r reconstruction
    for j, i in wanted:
        out[:, j] = fitted[:, i]
    return out
    # --8<-- [end:baselines]


# --8<-- [start:model]
def training_rows(
    world: World, features: Mapping[str, np.ndarray], events: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every registration of the label window, and 10 non-registrations per user."""
    rng = np.random.default_rng(seed)
    y = world.registered[:, events]
    eligible = world.distance[:, events] <= RADIUS_KM  # the same hard filter
    share = 10 / np.maximum(eligible.sum(axis=1), 1)[:, None]
    negatives = eligible & ~y & (rng.random(y.shape) < share)
    rows = np.flatnonzero((y & eligible) | negatives)
    x = feature_matrix(features).reshape(-1, len(FEATURES))[rows]
    return x, y.ravel()[rows].astype(float)


@dataclass(frozen=True)
class ContentModel:
    """Logistic regression over standardised user-event features."""

    columns: tuple[int, ...]  # which of FEATURES it uses
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # intercept first


def fit_content_model(
    x: np.ndarray, y: np.ndarray, drop: Sequence[str] = ()
) -> ContentModel:
    """Fit P(register) on every feature but the dropped ones."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(FEATURES) or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (rows, {len(FEATURES)}) and y (rows,)")
    if isinstance(drop, str):
        raise TypeError("drop must be a sequence of feature names, not one string")
    unknown = set(drop) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}")
    columns = tuple(i for i, name in enumerate(FEATURES) if name not in drop)
    kept = x[:, columns]
    mean, std = kept.mean(axis=0), kept.std(axis=0)
    scale = np.where(std > 0, std, 1.0)  # a constant column stays 0
    weights = fit_logistic((kept - mean) / scale, y)
    return ContentModel(columns, mean, scale, weights)


def content_scores(model: ContentModel, x: np.ndarray) -> np.ndarray:
    """The model's log-odds for rows of all FEATURES (rank by these)."""
    standardised = (x[..., model.columns] - model.mean) / model.scale
    return model.weights[0] + standardised @ model.weights[1:]


def feature_matrix(features: Mapping[str, np.ndarray]) -> np.ndarray:
    """(users, events, len(FEATURES)): the features in FEATURES order."""
    return np.stack([features[name] for name in FEATURES], axis=-1)
    # --8<-- [end:model]


# --8<-- [start:grading]
def top_k_lists(
    scores: np.ndarray, candidate: np.ndarray, tiebreak: np.ndarray, k: int
) -> list[list[int]]:
    """Each user's k best candidate columns; equal scores in tiebreak's order."""
    if scores.shape != candidate.shape or scores.shape != tiebreak.shape:
        raise ValueError("scores, candidate and tiebreak must have one shape")
    if np.isnan(scores[candidate]).any():
        raise ValueError("every candidate needs a score")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    # Equal scores go in tiebreak's (ascending) order: the nudge is far below any
    # real gap between scores.
    nudge = 1e-9 * (1 + np.abs(scores)) * tiebreak
    nudged = np.where(candidate, scores - nudge, -np.inf)
    k = min(k, scores.shape[1])
    best = np.argpartition(-nudged, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(
        best, np.argsort(-np.take_along_axis(nudged, best, 1), axis=1), 1
    )
    shown = np.take_along_axis(candidate, order, 1)
    return [row[keep].tolist() for row, keep in zip(order, shown, strict=True)]
    # --8<-- [end:grading]


def grade(
    top: Sequence[Sequence[int]],
    relevant: Mapping[int, set[int]],
    k: int,
    with_ndcg: bool = True,
) -> dict[str, float]:
    """Recall@k and NDCG@k (binary grades), averaged over the users in relevant.

    A user with no relevant item in the top k scores 0 on both: only the others
    go through the metrics, and the mean still counts every judged user. With
    with_ndcg=False only recall is computed (a segment's recall is all we print).
    """
    hit = {u: rel for u, rel in relevant.items() if rel.intersection(top[u][:k])}
    if not hit:
        return {"recall": 0.0, "ndcg": 0.0} if with_ndcg else {"recall": 0.0}
    share = len(hit) / len(relevant)
    rankings = {u: top[u] for u in hit}
    out = {"recall": share * mean_over_queries(recall_at_k, rankings, hit, k=k)}
    if with_ndcg:
        grades = {u: dict.fromkeys(rel, 1.0) for u, rel in hit.items()}
        out["ndcg"] = share * mean_over_queries(ndcg_at_k, rankings, grades, k=k)
    return out


def relevant_sets(relevant: np.ndarray) -> dict[int, set[int]]:
    """Each user with at least one relevant column: user -> set of columns."""
    users, columns = np.nonzero(relevant)
    out: dict[int, set[int]] = {}
    for user, column in zip(users.tolist(), columns.tolist(), strict=True):
        out.setdefault(user, set()).add(column)
    return out
