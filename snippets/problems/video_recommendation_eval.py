"""The video recommender's miniature, evaluated on the last window over several seeds.

The world, retrieval and ranking are in ``video_recommendation_model``; the program
that prints the results is ``python -m snippets.problems.video_recommendation``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from snippets.common.stats import paired_interval as common_paired_interval
from snippets.concepts.ranking_metrics import ndcg_at_k, recall_at_k
from snippets.problems import video_recommendation_model as vrm

SEEDS = (0, 1, 2, 3, 4)
EF_SWEEP = (10, 20, 40, 80, 160)  # HNSW beam sizes for the recall/cost curve
SWEEP_K = 10  # the sweep asks for a top-10, so the beam can be small
SWEEP_USERS = 100  # queries per point of the sweep
PAGE_SLOTS = 24  # tiles on the homepage grid


# --8<-- [start:evaluate]
@dataclass(frozen=True)
class SeedResult:
    """What one seed's miniature measures on its held-out last window."""

    n_users: int
    n_videos: int
    n_windows: int
    n_history_watches: int
    n_test_watches: int
    n_eval_users: int
    n_new_videos: int  # videos uploaded in the label window T
    new_video_share: float  # share of test watches on videos uploaded in window T
    recall: dict[str, dict[int, float]]  # candidate source -> k -> recall@k
    new_found: dict[str, float]  # source -> share of new-upload watches it holds
    ndcg_at_10: dict[str, float]  # ordering of the same candidates -> NDCG@10
    new_in_page: dict[str, float]  # ordering -> share of the top 24 that is new
    new_in_watched_candidates: float  # the same share among candidates watched
    norm_ratio: float  # mean vector norm: warm videos / new uploads
    length_popularity: float  # Spearman: warm vector length vs watches in history
    ann_curve: dict[int, tuple[float, float]]  # efSearch -> (recall@10, scored)
    ann_recall_pipeline: float  # HNSW top-200 vs exact top-200, efSearch 256
    ann_scored_pipeline: float  # vectors scored per top-200 query
    no_freshness: dict[str, float]  # the same seed without the freshness effect


def found_share(ranked: np.ndarray, labels: np.ndarray, videos: np.ndarray) -> float:
    """Share of the watches of `videos` that the ranked lists contain (row = user)."""
    if ranked.shape[0] != labels.shape[0]:
        raise ValueError("ranked and labels need one row per user, in the same order")
    is_target = np.zeros(labels.shape[1], dtype=bool)
    is_target[videos] = True
    wanted = labels[:, is_target].sum()
    if wanted == 0:
        raise ValueError("no watch of these videos to find")
    rows = np.arange(len(ranked))[:, None]
    return float((labels[rows, ranked] & is_target[ranked]).sum() / wanted)


def mean_recall(ranked: np.ndarray, relevant: list[set[int]], k: int) -> float:
    """recall@k averaged over users (each user counts once)."""
    pairs = zip(ranked, relevant, strict=True)
    return float(np.mean([recall_at_k(r.tolist(), rel, k) for r, rel in pairs]))


def mean_ndcg(ranked: np.ndarray, relevant: list[set[int]], k: int = 10) -> float:
    """NDCG@k with binary grades (watched = 1), averaged over users."""
    pairs = zip(ranked, relevant, strict=True)
    return float(
        np.mean([ndcg_at_k(r.tolist(), dict.fromkeys(rel, 1.0), k) for r, rel in pairs])
    )


def overlap(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k that the approximate search also returns."""
    return float(
        np.mean([np.isin(e, f).mean() for f, e in zip(found, exact, strict=True)])
    )


def rescored(retriever: vrm.Retriever, video_vectors: np.ndarray) -> vrm.Retriever:
    """The same retriever with other video vectors, for exact search only."""
    return dataclasses.replace(retriever, video_vectors=video_vectors, index=None)


def norm_ablations(
    retriever: vrm.Retriever, warm: np.ndarray
) -> dict[str, vrm.Retriever]:
    """Two ways to take vector length out of the cold videos' handicap."""
    vectors = retriever.video_vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    cold = ~warm & retriever.released
    matched = vectors.copy()  # cold vectors stretched to the warm mean length
    matched[cold] *= norms[warm].mean() / norms[cold].mean()
    unit = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)  # cosine
    return {
        "two-tower, cold norms matched": rescored(retriever, matched),
        "two-tower, cosine": rescored(retriever, unit),
    }


def length_ablations(
    view: vrm.Snapshot, users: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Exact top-k by inner product, then with each vector-length ablation."""
    retriever, seen = view.retriever, view.history
    variants = {
        "two-tower, inner product": retriever,
        **norm_ablations(retriever, seen.any(axis=0)),
    }
    return {
        name: vrm.retrieve(variant, users, seen, k, exact=True)
        for name, variant in variants.items()
    }


def relevant_sets(labels: np.ndarray) -> list[set[int]]:
    """Each user's label-window watches, as a set of video ids."""
    return [set(np.flatnonzero(row).tolist()) for row in labels]


def without_freshness(
    seed: int, n_users: int, n_videos: int, n_eval_users: int, n_candidates: int
) -> dict[str, float]:
    """The cold-start comparisons in the same seed's world with no freshness effect.

    New uploads get no extra exposure (``freshness_decay=0``); everything else is
    as in the main world. Search is exact: no HNSW index is built.
    """
    world = vrm.make_world(n_users, n_videos, seed=seed, freshness_decay=0.0)
    with threadpool_limits(1):
        view = vrm.snapshot(world, len(world.events) - 1, seed, hnsw=False)
        users = vrm.active_users(view, n_eval_users, np.random.default_rng(seed + 1))
        lists = length_ablations(view, users, n_candidates)
        fresh = vrm.fresh_candidates(
            world, view.retriever, users, view.now, n_candidates
        )
    n_fresh = round(n_candidates * vrm.FRESH_SHARE)
    lists["+ fresh uploads"] = vrm.merge_sources(
        [lists["two-tower, inner product"], fresh], [n_candidates - n_fresh, n_fresh]
    )
    relevant = relevant_sets(view.labels[users])
    new_videos = world.upload_window == view.now
    return {
        "new-upload share": float(view.labels[:, new_videos].sum() / view.labels.sum()),
        **{name: mean_recall(c, relevant, n_candidates) for name, c in lists.items()},
    }


def by_score(candidates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Order each row of candidates by its scores, highest first."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def run_seed(
    seed: int = 0,
    n_users: int = 1_000,
    n_videos: int = 3_000,
    n_eval_users: int = 200,
    n_candidates: int = 200,
) -> SeedResult:
    """Train up to window T-1, then serve and evaluate on the last window T."""
    if n_candidates < PAGE_SLOTS:
        raise ValueError(f"n_candidates must be >= {PAGE_SLOTS}, got {n_candidates}")
    world = vrm.make_world(n_users=n_users, n_videos=n_videos, seed=seed)
    with threadpool_limits(1):
        ranker, ablated = vrm.train_rankers(world, n_candidates=n_candidates, seed=seed)
        view = vrm.snapshot(world, len(world.events) - 1, seed)
        users = vrm.active_users(view, n_eval_users, np.random.default_rng(seed + 1))
        faiss.cvar.hnsw_stats.reset()  # count the vectors HNSW scores for the ANN
        found = vrm.candidates_for(world, view, users, n_candidates)
        pipeline_scored = faiss.cvar.hnsw_stats.ndis / len(users)
        retriever, seen = view.retriever, view.history
        exact_lists = length_ablations(view, users, n_candidates)
        # Every ordering below reorders the same merged candidates.
        merged = found.merged
        features = vrm.ranker_features(world, view, users, merged)
        static = np.delete(features, vrm.DYNAMIC_FEATURES, axis=1)
        orderings = {
            "last-window popularity": by_score(
                merged, view.last_window.sum(axis=0)[merged]
            ),
            "two-tower score": by_score(merged, features[:, 0].reshape(merged.shape)),
            "ranker (GBDT)": vrm.rank(ranker, features, merged),
            "ranker, no dynamic features": vrm.rank(ablated, static, merged),
        }
        # HNSW's recall against its beam, for a top-10 (the beam can be small).
        probe = users[:SWEEP_USERS]
        top10 = vrm.retrieve(retriever, probe, seen, SWEEP_K, exact=True)
        curve = {}
        for ef in EF_SWEEP:
            ann, scored = vrm.distance_computations(retriever, probe, seen, SWEEP_K, ef)
            curve[ef] = (overlap(ann, top10), scored)
    labels = view.labels[users]
    relevant = relevant_sets(labels)
    new_videos = np.flatnonzero(world.upload_window == view.now)
    is_new = world.upload_window == view.now
    sources = {
        "popularity": found.popular,
        "two-tower ANN": found.personal,
        "+ fresh uploads": found.with_fresh,
        "+ trending": found.merged,
        **exact_lists,  # inner product, then the two vector-length ablations
    }
    norms = np.linalg.norm(retriever.video_vectors, axis=1)
    counts = seen.sum(axis=0)
    warm = counts > 0
    watched_candidates = merged[labels[np.arange(len(users))[:, None], merged]]
    return SeedResult(
        n_users=world.n_users,
        n_videos=world.n_videos,
        n_windows=len(world.events),
        n_history_watches=int(view.history.sum()),
        n_test_watches=int(view.labels.sum()),
        n_eval_users=len(users),
        n_new_videos=len(new_videos),
        new_video_share=float(view.labels[:, new_videos].sum() / view.labels.sum()),
        recall={
            name: {k: mean_recall(c, relevant, k) for k in (50, n_candidates)}
            for name, c in sources.items()
        },
        new_found={
            name: found_share(c, labels, new_videos) for name, c in sources.items()
        },
        ndcg_at_10={name: mean_ndcg(o, relevant) for name, o in orderings.items()},
        new_in_page={
            name: float(is_new[o[:, :PAGE_SLOTS]].mean())
            for name, o in orderings.items()
        },
        new_in_watched_candidates=float(is_new[watched_candidates].mean()),
        norm_ratio=float(norms[warm].mean() / norms[new_videos].mean()),
        length_popularity=float(stats.spearmanr(norms[warm], counts[warm]).statistic),
        ann_curve=curve,
        ann_recall_pipeline=overlap(
            found.personal, exact_lists["two-tower, inner product"]
        ),
        ann_scored_pipeline=pipeline_scored,
        no_freshness=without_freshness(
            seed, n_users, n_videos, n_eval_users, n_candidates
        ),
    )


def paired_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of a - b over seeds and the half-width of its 95% t-interval."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must pair up: shapes {a.shape} and {b.shape}")
    mean, _, high = common_paired_interval(a - b)
    return mean, high - mean


def run_miniature(seeds: Sequence[int] = SEEDS, **sizes: int) -> list[SeedResult]:
    """One independent world per seed: the spread shows what the seed decides."""
    if len(seeds) < 2:
        raise ValueError("give at least two seeds")
    return [run_seed(seed, **sizes) for seed in seeds]


@functools.cache
def default_results() -> tuple[SeedResult, ...]:
    """The runs the page quotes (cached: the program and the tests share them)."""
    return tuple(run_miniature())
    # --8<-- [end:evaluate]
