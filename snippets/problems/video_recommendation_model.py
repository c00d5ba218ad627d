"""The video recommender in miniature: a synthetic world, retrieval, ranking.

The page ``problems/video-recommendation.md`` walks through it; the program that
prints the results is ``python -m snippets.problems.video_recommendation``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import faiss
import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from snippets.concepts.ranking_metrics import ndcg_at_k, recall_at_k

faiss.omp_set_num_threads(1)  # one thread: HNSW results are reproducible


# --8<-- [start:world]
@dataclass(frozen=True)
class World:
    """A synthetic platform: who watched what, in which time window."""

    n_users: int
    n_videos: int
    upload_window: np.ndarray  # window in which each video appeared
    content: np.ndarray  # per-video content embedding (title, frames), noisy
    events: tuple[np.ndarray, ...]  # per window: (user, video) watch pairs


TASTE_WEIGHT = 20.0  # how much the user-video match drives a watch
WATCH_BIAS = 4.0  # most exposures are skipped: the base watch rate is low
FRESHNESS_DECAY = 0.5  # exposure falls by e^-0.5 per window of video age
TASTE_DRIFT = 0.6  # tastes move each window: recent watches say more than old


def make_world(
    n_users: int = 4_000,
    n_videos: int = 10_000,
    n_windows: int = 4,
    latent_dim: int = 8,
    seed: int = 0,
) -> World:
    """Simulate exposure (popular, fresh videos) and watches (taste) per window."""
    for name, value in {"n_users": n_users, "n_videos": n_videos}.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 100:
            raise ValueError(f"{name} must be an integer >= 100, got {value!r}")
    if not isinstance(n_windows, int) or n_windows < 3:
        raise ValueError(f"n_windows must be an integer >= 3, got {n_windows!r}")
    rng = np.random.default_rng(seed)
    taste = rng.normal(size=(n_users, latent_dim)) / np.sqrt(latent_dim)
    topic = rng.normal(size=(n_videos, latent_dim))
    topic /= np.linalg.norm(topic, axis=1, keepdims=True)
    appeal = rng.normal(0.0, 1.2, n_videos)  # log-normal popularity: a long tail
    # 80% back catalogue, then a steady stream of uploads in every later window.
    upload = np.where(
        rng.random(n_videos) < 0.8, 0, rng.integers(1, n_windows, n_videos)
    )
    content = topic + rng.normal(0.0, 0.5, topic.shape)  # what a cold tower sees
    browsed_per_window = np.clip(rng.lognormal(np.log(120), 0.6, n_users), 20, 600)
    events = []
    for window in range(n_windows):
        age = window - upload
        logit = np.where(age >= 0, appeal - FRESHNESS_DECAY * age, -np.inf)
        exposure = np.exp(logit - logit.max())
        n_shown = browsed_per_window.astype(int)
        users = np.repeat(np.arange(n_users), n_shown)
        videos = rng.choice(n_videos, size=users.size, p=exposure / exposure.sum())
        if window > 0:  # a random walk: interests drift over time
            step = rng.normal(size=taste.shape) / np.sqrt(latent_dim)
            taste = taste + TASTE_DRIFT * step
        match = np.einsum("ij,ij->i", taste[users], topic[videos])
        watched = rng.random(users.size) < 1 / (
            1 + np.exp(WATCH_BIAS - TASTE_WEIGHT * match)
        )
        codes = np.unique(users[watched] * n_videos + videos[watched])
        events.append(np.column_stack([codes // n_videos, codes % n_videos]))
    return World(n_users, n_videos, upload, content, tuple(events))
    # --8<-- [end:world]


def interaction_matrix(world: World, windows: range) -> np.ndarray:
    """Boolean user x video matrix of the watches in the given windows."""
    if not windows or min(windows) < 0 or max(windows) >= len(world.events):
        raise ValueError(f"windows must lie in 0..{len(world.events) - 1}")
    matrix = np.zeros((world.n_users, world.n_videos), dtype=bool)
    for window in windows:
        pairs = world.events[window]
        matrix[pairs[:, 0], pairs[:, 1]] = True
    return matrix


# --8<-- [start:retrieval]
HNSW_LINKS = 16  # graph degree: more links, better recall, more memory


@dataclass(frozen=True)
class Retriever:
    """User and video embeddings plus an HNSW (ANN) index over the videos."""

    user_vectors: np.ndarray
    video_vectors: np.ndarray
    index: faiss.Index


def fit_retriever(
    world: World, history: np.ndarray, now: int, dim: int = 32, seed: int = 0
) -> Retriever:
    """Factorise the history (a linear two-tower) and index every uploaded video."""
    if history.shape != (world.n_users, world.n_videos):
        raise ValueError("history must be a users x videos matrix")
    # Damp the head: divide each column by popularity^0.25 so the factors
    # learn taste, not just "everyone watches the top videos".
    counts = history.sum(axis=0)
    users, videos = np.nonzero(history)
    weighted = sparse.csr_matrix(
        (counts[videos] ** -0.25, (users, videos)), shape=history.shape
    )
    svd = TruncatedSVD(dim, algorithm="randomized", n_iter=2, random_state=seed)
    user_vectors = svd.fit_transform(weighted).astype(np.float32)
    video_vectors = svd.components_.T.astype(np.float32)
    # Cold start: videos nobody watched yet get an embedding from their content
    # (a content "item tower" fitted on the warm videos), if uploaded by now.
    warm = counts > 0
    content_tower = Ridge(alpha=1.0).fit(world.content[warm], video_vectors[warm])
    cold = ~warm & (world.upload_window <= now)
    video_vectors[cold] = content_tower.predict(world.content[cold])
    video_vectors[world.upload_window > now] = 0.0  # not uploaded: never served
    index = faiss.IndexHNSWFlat(dim, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.add(video_vectors)
    return Retriever(user_vectors, video_vectors, index)


def retrieve(
    retriever: Retriever,
    users: np.ndarray,
    seen: np.ndarray,
    k: int,
    exact: bool = False,
) -> np.ndarray:
    """Top-k unseen videos per user by inner product (ANN, or exact for checks)."""
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    if seen.shape != (len(retriever.user_vectors), len(retriever.video_vectors)):
        raise ValueError("seen must be a users x videos matrix")
    if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer):
        raise TypeError("users must be a 1-D array of integer user ids")
    # Over-fetch, then drop what the user already watched (the index can't).
    fetch = k + int(seen[users].sum(axis=1).max())
    queries = np.ascontiguousarray(retriever.user_vectors[users])
    if exact:
        flat = faiss.IndexFlatIP(retriever.video_vectors.shape[1])
        flat.add(retriever.video_vectors)
        _, ids = flat.search(queries, fetch)
    else:
        retriever.index.hnsw.efSearch = fetch  # the beam must hold all k results
        _, ids = retriever.index.search(queries, fetch)
    out = np.empty((len(users), k), dtype=np.int64)
    for row, (user, found) in enumerate(zip(users, ids, strict=True)):
        found = found[found >= 0]
        out[row] = found[seen[user, found] == 0][:k]
    return out
    # --8<-- [end:retrieval]


# --8<-- [start:ranker]
RANKER_FEATURES = (
    "retrieval score",
    "video watches, last window (log)",
    "video watches, all history (log)",
    "recent taste: match with last window's watches",
    "video age in windows",
    "user watches, all history (log)",
)


def ranker_features(
    world: World, view: Snapshot, users: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """One row per (user, candidate): what the ranker knows at the view's time."""
    retriever, history, last_window, now = (
        view.retriever,
        view.history,
        view.last_window,
        view.now,
    )
    flat_users = np.repeat(users, candidates.shape[1])
    flat_videos = candidates.ravel()
    videos = retriever.video_vectors
    score = np.einsum(
        "ij,ij->i", retriever.user_vectors[flat_users], videos[flat_videos]
    )
    # A dynamic feature: the mean embedding of what the user watched lately.
    recent_watches = last_window[users].astype(np.float32)
    recent = recent_watches @ videos / np.maximum(recent_watches.sum(1), 1)[:, None]
    recent_match = np.einsum(
        "ij,ij->i", np.repeat(recent, candidates.shape[1], axis=0), videos[flat_videos]
    )
    return np.column_stack(
        [
            score,
            np.log1p(last_window.sum(axis=0))[flat_videos],
            np.log1p(history.sum(axis=0))[flat_videos],
            recent_match,
            (now - world.upload_window)[flat_videos],
            np.log1p(history.sum(axis=1))[flat_users],
        ]
    )


def fit_ranker(
    features: np.ndarray, labels: np.ndarray
) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees on (user, candidate) rows; one thread: reproducible."""
    model = HistGradientBoostingClassifier(
        max_iter=60,
        learning_rate=0.1,
        max_leaf_nodes=15,
        early_stopping=False,
        random_state=0,
    )
    with threadpool_limits(1):
        return model.fit(features, labels)
    # --8<-- [end:ranker]


# --8<-- [start:sources]
def popularity_candidates(
    last_window: np.ndarray, seen: np.ndarray, users: np.ndarray, k: int
) -> np.ndarray:
    """The baseline: the most-watched videos of the last window, minus seen ones."""
    chart = np.argsort(-last_window.sum(axis=0), kind="stable")
    top = chart[: k + int(seen[users].sum(axis=1).max())]
    return np.stack([top[~seen[user, top]][:k] for user in users])


def fresh_candidates(
    world: World, retriever: Retriever, users: np.ndarray, now: int, k: int
) -> np.ndarray:
    """Cold start: the best matches among videos uploaded in window `now`."""
    new = np.flatnonzero(world.upload_window == now)  # no watch yet: content only
    scores = retriever.user_vectors[users] @ retriever.video_vectors[new].T
    return new[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


def merge_sources(sources: list[np.ndarray], quotas: list[int]) -> np.ndarray:
    """Per user, take each source's quota of not-yet-taken videos, in order."""
    if len(sources) != len(quotas) or any(q < 0 for q in quotas):
        raise ValueError("give one non-negative quota per source")
    if len({len(source) for source in sources}) != 1:
        raise ValueError("every source needs one row per user, in the same order")
    k = sum(quotas)
    merged = np.empty((len(sources[0]), k), dtype=np.int64)
    for row in range(len(merged)):
        taken: dict[int, None] = {}  # an ordered set
        for source, quota in zip(sources, quotas, strict=True):
            fresh = [v for v in source[row].tolist() if v not in taken][:quota]
            taken.update(dict.fromkeys(fresh))
        for source in sources:  # a source ran short: top up from the others
            extra = [v for v in source[row].tolist() if v not in taken]
            taken.update(dict.fromkeys(extra[: k - len(taken)]))
        if len(taken) < k:
            raise ValueError(f"the sources hold fewer than {k} distinct videos")
        merged[row] = list(taken)
    return merged
    # --8<-- [end:sources]


# --8<-- [start:pipeline]
@dataclass(frozen=True)
class Snapshot:
    """Everything known at the start of one window: the point-in-time view."""

    now: int
    history: np.ndarray  # watches before `now`
    last_window: np.ndarray  # watches in window now - 1
    labels: np.ndarray  # new watches in window `now` (never a feature)
    retriever: Retriever


def snapshot(world: World, now: int, seed: int = 0) -> Snapshot:
    """Features from windows < now, labels from window now: no leakage by design."""
    if not 1 <= now < len(world.events):
        raise ValueError(f"now must lie in 1..{len(world.events) - 1}, got {now}")
    history = interaction_matrix(world, range(now))
    labels = interaction_matrix(world, range(now, now + 1)) & ~history
    return Snapshot(
        now=now,
        history=history,
        last_window=interaction_matrix(world, range(now - 1, now)),
        labels=labels,
        retriever=fit_retriever(world, history, now=now, seed=seed),
    )


FRESH_SHARE, TRENDING_SHARE = 0.2, 0.1  # slots for new uploads and the chart


def candidates_for(
    world: World, view: Snapshot, users: np.ndarray, k: int
) -> np.ndarray:
    """Candidate generation: two-tower ANN, fresh uploads, trending videos."""
    personal = retrieve(view.retriever, users, view.history, k)
    fresh = fresh_candidates(world, view.retriever, users, view.now, k)
    popular = popularity_candidates(view.last_window, view.history, users, k)
    n_fresh, n_trending = round(k * FRESH_SHARE), round(k * TRENDING_SHARE)
    return merge_sources(
        [personal, fresh, popular], [k - n_fresh - n_trending, n_fresh, n_trending]
    )


def rank(
    world: World,
    view: Snapshot,
    ranker: HistGradientBoostingClassifier,
    users: np.ndarray,
    candidates: np.ndarray,
) -> np.ndarray:
    """Order each user's candidates by the ranker's predicted watch probability."""
    features = ranker_features(world, view, users, candidates)
    with threadpool_limits(1):
        p_watch = ranker.predict_proba(features)[:, 1].reshape(candidates.shape)
    order = np.argsort(-p_watch, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def active_users(view: Snapshot, n: int, rng: np.random.Generator) -> np.ndarray:
    """A sample of users with at least one new watch in the label window."""
    active = np.flatnonzero(view.labels.any(axis=1))
    return np.sort(rng.choice(active, size=min(n, active.size), replace=False))


def train_ranker(
    world: World, n_users: int = 800, n_candidates: int = 200, seed: int = 0
) -> HistGradientBoostingClassifier:
    """Fit the ranker one window back: features as of T-1, labels from T-1."""
    view = snapshot(world, len(world.events) - 2, seed)
    users = active_users(view, n_users, np.random.default_rng(seed))
    candidates = candidates_for(world, view, users, n_candidates)
    features = ranker_features(world, view, users, candidates)
    targets = view.labels[np.repeat(users, n_candidates), candidates.ravel()]
    return fit_ranker(features, targets)
    # --8<-- [end:pipeline]


# --8<-- [start:evaluate]
@dataclass(frozen=True)
class MiniatureResult:
    """What the miniature measures on the held-out last window."""

    n_users: int
    n_videos: int
    n_windows: int
    n_history_watches: int
    n_test_watches: int
    n_eval_users: int
    recall: dict[str, dict[int, float]]  # candidate source -> k -> recall@k
    ndcg_at_10: dict[str, float]  # final ordering -> NDCG@10
    ann_recall: float  # share of the exact top-k that HNSW also returns
    new_video_share: float  # share of test watches on videos uploaded in window T
    new_video_recall: dict[str, float]  # source -> share of those it retrieves


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
    """recall@k averaged over users."""
    return float(
        np.mean(
            [
                recall_at_k(r.tolist(), rel, k)
                for r, rel in zip(ranked, relevant, strict=True)
            ]
        )
    )


def mean_ndcg(ranked: np.ndarray, relevant: list[set[int]], k: int = 10) -> float:
    """NDCG@k with binary grades (watched = 1), averaged over users."""
    return float(
        np.mean(
            [
                ndcg_at_k(r.tolist(), dict.fromkeys(rel, 1.0), k)
                for r, rel in zip(ranked, relevant, strict=True)
            ]
        )
    )


def run_miniature(
    world: World | None = None,
    n_eval_users: int = 600,
    n_candidates: int = 200,
    seed: int = 0,
) -> MiniatureResult:
    """Train up to window T-1, serve and evaluate on the last window T."""
    if n_candidates < 10:
        raise ValueError(f"n_candidates must be >= 10, got {n_candidates}")
    world = make_world(seed=seed) if world is None else world
    with threadpool_limits(1):
        ranker = train_ranker(world, n_candidates=n_candidates, seed=seed)
        view = snapshot(world, len(world.events) - 1, seed)
        users = active_users(view, n_eval_users, np.random.default_rng(seed + 1))
        personal = retrieve(view.retriever, users, view.history, n_candidates)
        exact = retrieve(view.retriever, users, view.history, n_candidates, exact=True)
        fresh = fresh_candidates(world, view.retriever, users, view.now, n_candidates)
        popular = popularity_candidates(
            view.last_window, view.history, users, n_candidates
        )
        n_fresh = round(n_candidates * FRESH_SHARE)
        with_fresh = merge_sources([personal, fresh], [n_candidates - n_fresh, n_fresh])
        merged = candidates_for(world, view, users, n_candidates)
        ranked = rank(world, view, ranker, users, merged)
    relevant = [set(np.flatnonzero(row).tolist()) for row in view.labels[users]]
    # Cold start: videos uploaded during the test window have no watch in history.
    new_videos = np.flatnonzero(world.upload_window == view.now)
    test_labels = view.labels[users]
    sources = {
        "popularity": popular,
        "two-tower ANN": personal,
        "+ fresh uploads": with_fresh,
        "+ trending": merged,
    }
    return MiniatureResult(
        n_users=world.n_users,
        n_videos=world.n_videos,
        n_windows=len(world.events),
        n_history_watches=int(view.history.sum()),
        n_test_watches=int(view.labels.sum()),
        n_eval_users=len(users),
        recall={
            name: {k: mean_recall(c, relevant, k) for k in (50, n_candidates)}
            for name, c in sources.items()
        },
        ndcg_at_10={
            "popularity": mean_ndcg(popular, relevant),
            "two-tower score": mean_ndcg(personal, relevant),
            "ranker (GBDT)": mean_ndcg(ranked, relevant),
        },
        ann_recall=float(
            np.mean(
                [np.isin(a, b).mean() for a, b in zip(personal, exact, strict=True)]
            )
        ),
        new_video_share=float(view.labels[:, new_videos].sum() / view.labels.sum()),
        new_video_recall={
            name: found_share(c, test_labels, new_videos) for name, c in sources.items()
        },
    )


@functools.cache
def default_result() -> MiniatureResult:
    """The run the page quotes (cached: the program and the tests share it)."""
    return run_miniature()
    # --8<-- [end:evaluate]
