"""The video recommender in miniature: a synthetic world, retrieval, ranking.

The page ``problems/video-recommendation.md`` walks through it; the evaluation over
several seeds is in ``video_recommendation_eval`` and the program that prints the
results is ``python -m snippets.problems.video_recommendation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

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
    n_users: int = 1_000,
    n_videos: int = 3_000,
    n_windows: int = 4,
    latent_dim: int = 8,
    seed: int = 0,
    *,
    freshness_decay: float = FRESHNESS_DECAY,
    taste_drift: float = TASTE_DRIFT,
) -> World:
    """Simulate exposure (popular, fresh videos) and watches (taste) per window."""
    for name, value in {"n_users": n_users, "n_videos": n_videos}.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 100:
            raise ValueError(f"{name} must be an integer >= 100, got {value!r}")
    if not isinstance(n_windows, int) or n_windows < 3:
        raise ValueError(f"n_windows must be an integer >= 3, got {n_windows!r}")
    for name, rate in {
        "freshness_decay": freshness_decay,
        "taste_drift": taste_drift,
    }.items():
        if not 0 <= rate < 10:
            raise ValueError(f"{name} must lie in [0, 10), got {rate!r}")
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
        logit = np.where(age >= 0, appeal - freshness_decay * age, -np.inf)
        exposure = np.exp(logit - logit.max())
        n_shown = browsed_per_window.astype(int)
        users = np.repeat(np.arange(n_users), n_shown)
        videos = rng.choice(n_videos, size=users.size, p=exposure / exposure.sum())
        if window > 0:  # a random walk: interests drift over time
            step = rng.normal(size=taste.shape) / np.sqrt(latent_dim)
            taste = taste + taste_drift * step
        match = (taste @ topic.T)[users, videos]  # every match, then the exposed
        watched = rng.random(users.size) < 1 / (
            1 + np.exp(WATCH_BIAS - TASTE_WEIGHT * match)
        )
        codes = np.sort(users[watched] * n_videos + videos[watched])
        codes = codes[np.diff(codes, prepend=-1) > 0]  # a repeat watch counts once
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
HNSW_LINKS = 16  # M: links per node (2M on the bottom layer); more = recall, memory
EF_CONSTRUCTION = 40  # beam while building the graph (faiss's default)
EF_SEARCH = 256  # beam while searching; must be >= k (the pipeline asks for 200)


@dataclass(frozen=True)
class Retriever:
    """User and video embeddings, and an HNSW index over the videos."""

    user_vectors: np.ndarray
    video_vectors: np.ndarray
    released: np.ndarray  # uploaded by now: the only videos a user may be shown
    index: faiss.IndexHNSWFlat | None  # None: built for exact search only


def fit_retriever(
    world: World,
    history: np.ndarray,
    now: int,
    dim: int = 32,
    seed: int = 0,
    *,
    hnsw: bool = True,
) -> Retriever:
    """Factorise the history (id towers) and give unwatched videos content vectors."""
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
    # (a linear content tower fitted on the warm videos), if uploaded by now.
    # A regression shrinks towards the mean: these vectors come out shorter.
    warm = counts > 0
    content_tower = Ridge(alpha=1.0).fit(world.content[warm], video_vectors[warm])
    released = world.upload_window <= now
    cold = ~warm & released
    video_vectors[cold] = content_tower.predict(world.content[cold])
    video_vectors[~released] = 0.0  # not uploaded yet: no vector, never served
    index = None
    if hnsw:
        index = faiss.IndexHNSWFlat(dim, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.add(video_vectors)
    return Retriever(user_vectors, video_vectors, released, index)


def retrieve(
    retriever: Retriever,
    users: np.ndarray,
    seen: np.ndarray,
    k: int,
    *,
    ef_search: int = EF_SEARCH,
    exact: bool = False,
) -> np.ndarray:
    """Top-k unseen, released videos per user by inner product (HNSW or exact)."""
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    if not exact and ef_search < k:
        raise ValueError(f"ef_search must be >= k, got {ef_search} < {k}")
    if seen.shape != (len(retriever.user_vectors), len(retriever.video_vectors)):
        raise ValueError("seen must be a users x videos matrix")
    if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer):
        raise TypeError("users must be a 1-D array of integer user ids")
    allowed = retriever.released & ~seen[users]  # unseen and released, per user
    if (allowed.sum(axis=1) < k).any():
        raise ValueError(f"fewer than {k} videos left for a user")
    if exact:  # brute force: score every allowed video, keep the k best
        scores = retriever.user_vectors[users] @ retriever.video_vectors.T
        scores[~allowed] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        return np.take_along_axis(top, order, axis=1)
    if retriever.index is None:
        raise ValueError("this retriever has no HNSW index: search with exact=True")
    params = faiss.SearchParametersHNSW()
    params.efSearch = ef_search
    out = np.empty((len(users), k), dtype=np.int64)
    for row, user in enumerate(users):
        # A filtered search: results skip what the user watched and what is not
        # released, so no over-fetch is needed. HNSW still walks through the
        # rejected nodes, so a strict filter costs time (and, at a fixed beam,
        # recall).
        bitmap = np.packbits(allowed[row], bitorder="little")
        params.sel = faiss.IDSelectorBitmap(bitmap)
        query = retriever.user_vectors[user : user + 1]
        _, ids = retriever.index.search(query, k, params=params)
        if (ids < 0).any():  # the beam ran out before finding k allowed videos
            raise ValueError(f"HNSW found fewer than {k} videos for user {user}")
        out[row] = ids[0]
    return out
    # --8<-- [end:retrieval]


def distance_computations(
    retriever: Retriever, users: np.ndarray, seen: np.ndarray, k: int, ef_search: int
) -> tuple[np.ndarray, float]:
    """HNSW results and the mean number of vectors it scored per query."""
    stats = faiss.cvar.hnsw_stats
    stats.reset()
    found = retrieve(retriever, users, seen, k, ef_search=ef_search)
    return found, stats.ndis / len(users)


# --8<-- [start:ranker]
RANKER_FEATURES = (
    "retrieval score",
    "video watches, last window (log)",
    "video watches, all history (log)",
    "recent taste: match with last window's watches",
    "video age in windows",
    "user watches, all history (log)",
)
# The ablation: what the ranker knows that the embeddings average away.
DYNAMIC_FEATURES = (1, 3, 4)  # last-window watches, recent taste, video age


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
        max_iter=30,
        learning_rate=0.2,
        max_leaf_nodes=8,
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
            if len(taken) == k:
                break
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
    """What serving during window `now` can know: the point-in-time view."""

    now: int
    history: np.ndarray  # watches before `now`: no watch of window `now` itself
    last_window: np.ndarray  # watches in window now - 1
    labels: np.ndarray  # new watches in window `now` (never a feature)
    retriever: Retriever  # uploads of window `now` included, by content only


def snapshot(world: World, now: int, seed: int = 0, *, hnsw: bool = True) -> Snapshot:
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
        retriever=fit_retriever(world, history, now=now, seed=seed, hnsw=hnsw),
    )


FRESH_SHARE, TRENDING_SHARE = 0.2, 0.1  # slots for new uploads and the chart


@dataclass(frozen=True)
class Candidates:
    """Each source's list per user, and the merged candidate set the rankers see."""

    personal: np.ndarray  # two-tower ANN
    fresh: np.ndarray  # videos uploaded in the current window
    popular: np.ndarray  # the trending chart
    with_fresh: np.ndarray  # ANN + fresh, no trending (the ablation)
    merged: np.ndarray  # ANN + fresh + trending: what the ranker orders


def candidates_for(
    world: World, view: Snapshot, users: np.ndarray, k: int
) -> Candidates:
    """Candidate generation: two-tower ANN, fresh uploads, trending videos."""
    personal = retrieve(view.retriever, users, view.history, k)
    fresh = fresh_candidates(world, view.retriever, users, view.now, k)
    popular = popularity_candidates(view.last_window, view.history, users, k)
    n_fresh, n_trending = round(k * FRESH_SHARE), round(k * TRENDING_SHARE)
    merged = merge_sources(
        [personal, fresh, popular], [k - n_fresh - n_trending, n_fresh, n_trending]
    )
    with_fresh = merge_sources([personal, fresh], [k - n_fresh, n_fresh])
    return Candidates(personal, fresh, popular, with_fresh, merged)


def active_users(view: Snapshot, n: int, rng: np.random.Generator) -> np.ndarray:
    """A sample of users with at least one new watch in the label window."""
    active = np.flatnonzero(view.labels.any(axis=1))
    return np.sort(rng.choice(active, size=min(n, active.size), replace=False))


def train_rankers(
    world: World, n_users: int = 150, n_candidates: int = 200, seed: int = 0
) -> tuple[HistGradientBoostingClassifier, HistGradientBoostingClassifier]:
    """Fit one window back (features as of T-1, labels from T-1): full and ablated."""
    view = snapshot(world, len(world.events) - 2, seed)
    users = active_users(view, n_users, np.random.default_rng(seed))
    candidates = candidates_for(world, view, users, n_candidates).merged
    features = ranker_features(world, view, users, candidates)
    targets = view.labels[np.repeat(users, n_candidates), candidates.ravel()]
    static = np.delete(features, DYNAMIC_FEATURES, axis=1)
    return fit_ranker(features, targets), fit_ranker(static, targets)
    # --8<-- [end:pipeline]


def rank(
    model: HistGradientBoostingClassifier,
    features: np.ndarray,
    candidates: np.ndarray,
) -> np.ndarray:
    """Order each user's candidates by the model's predicted watch probability."""
    with threadpool_limits(1):
        p_watch = model.predict_proba(features)[:, 1].reshape(candidates.shape)
    order = np.argsort(-p_watch, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)
