"""Permission-aware hybrid retrieval, a simulated answerer, and a response cache
replayed over a day of questions in which access lists change.

Batched over questions: every function takes one row per question. Rankings are
arrays of chunk ids, best first, padded with -1. The fusion is reciprocal rank
fusion computed for a whole batch at once; ``snippets.common.fusion`` holds the
one-query reference it must agree with.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from snippets.common.bm25 import BM25
from snippets.problems import enterprise_rag_world as ew

RRF_K = 60  # Cormack et al. (2009)
DEPTH = 160  # candidates each retriever returns


def _check_scores(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 2:
        raise ValueError(f"scores must be (questions, chunks), got shape {s.shape}")
    if np.isnan(s).any():
        raise ValueError("scores must not hold NaN")
    return s


def _check_mask(mask: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"{name} must be a boolean array, got {m.dtype}")
    if m.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {m.shape}")
    return m


def top_ranked(
    scores: np.ndarray, depth: int, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Each row's ``depth`` best chunk ids by score, -1 past the end.

    Equal scores are listed by id; at the cut, which of several tied chunks
    makes the top ``depth`` is left to the partition.

    With ``allowed``, chunks outside it are never candidates: the filter runs
    inside the search, before the top ``depth`` is cut.
    """
    s = _check_scores(scores)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    cost = -s  # a copy: ascending cost is descending score
    if allowed is not None:
        cost[~_check_mask(allowed, s.shape, "allowed")] = np.inf
    depth = min(depth, s.shape[1])
    top = np.sort(np.argpartition(cost, depth - 1, axis=1)[:, :depth], axis=1)
    values = np.take_along_axis(cost, top, axis=1)
    order = np.argsort(values, axis=1, kind="stable")  # ties keep the lower id first
    ranked = np.take_along_axis(top, order, axis=1)
    return np.where(np.take_along_axis(values, order, axis=1) < np.inf, ranked, -1)


def rrf_scores(rankings: Sequence[np.ndarray], n_chunks: int, k: int = RRF_K):
    """Reciprocal rank fusion of several batches of rankings: (questions, chunks)."""
    if not rankings:
        raise ValueError("need at least one batch of rankings to fuse")
    fused = np.zeros((len(rankings[0]), n_chunks))
    for ranked in rankings:
        ranked = np.asarray(ranked)
        if ranked.shape[0] != fused.shape[0]:
            raise ValueError("every batch of rankings needs one row per question")
        rows, ranks = np.nonzero(ranked >= 0)
        # An id appears once per ranked row, so plain fancy-index += adds them all.
        fused[rows, ranked[rows, ranks]] += 1.0 / (k + ranks + 1)
    return fused


def fused_top(
    rankings: Sequence[np.ndarray], n_chunks: int, depth: int, k: int = RRF_K
) -> np.ndarray:
    """Chunk ids by fused score, ties by the lower id; -1 past the last candidate."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    fused = rrf_scores(rankings, n_chunks, k)
    ids = np.sort(np.concatenate(rankings, axis=1), axis=1)
    ids[:, 1:][ids[:, 1:] == ids[:, :-1]] = -1  # a chunk both lists hold, once
    score = np.take_along_axis(fused, np.maximum(ids, 0), axis=1)
    cost = np.where(ids >= 0, -score, np.inf)
    order = np.argsort(cost, axis=1, kind="stable")[:, :depth]  # ids were ascending
    ranked = np.take_along_axis(ids, order, axis=1)
    return np.where(np.take_along_axis(cost, order, axis=1) < np.inf, ranked, -1)


def _check_cuts(k: int, cuts: Sequence[int]) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not cuts or any(isinstance(c, bool) or not isinstance(c, int) for c in cuts):
        raise TypeError(f"cuts must be a non-empty sequence of integers, got {cuts!r}")
    if min(cuts) < k or max(cuts) > DEPTH:
        raise ValueError(f"every cut must be in [k, {DEPTH}], got {cuts}")


# --8<-- [start:filters]
def pre_filter(scores, permitted, k):
    """Filter inside each retriever (BM25, dense), then fuse: k permitted chunks."""
    lists = [top_ranked(s, DEPTH, allowed=permitted) for s in scores]
    return fused_top(lists, permitted.shape[1], k)


def post_filter(scores, permitted, k, cuts):
    """Retrieve from everything and fuse; for each cut k' of the fused list, drop
    what the user may not read and keep the first k permitted chunks left."""
    _check_cuts(k, cuts)
    lists = [top_ranked(s, DEPTH) for s in scores]
    fused = fused_top(lists, permitted.shape[1], max(cuts))
    return {cut: first_permitted(fused[:, :cut], permitted, k) for cut in cuts}


def first_permitted(ranked, permitted, k):
    """The first k permitted ids of each ranked row, -1 where fewer remain."""
    keep = in_context(ranked, permitted)
    keep &= np.cumsum(keep, axis=1) <= k
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # kept ones first
    kept = np.take_along_axis(keep, order, axis=1)
    return np.where(kept, np.take_along_axis(ranked, order, axis=1), -1)
    # --8<-- [end:filters]


def _check_context(context: np.ndarray, mask: np.ndarray, name: str) -> None:
    if np.asarray(context).ndim != 2 or np.asarray(mask).ndim != 2:
        raise ValueError(f"context and {name} must be 2-D, one row per question")
    if len(context) != len(mask):
        raise ValueError(f"context and {name} need the same number of questions")
    if np.asarray(mask).dtype != bool:
        raise TypeError(f"{name} must be a boolean array")


def in_context(context: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(questions, slots) bool: which filled context slots hold a chunk in mask."""
    return np.take_along_axis(mask, np.maximum(context, 0), axis=1) & (context >= 0)


def recall(context: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Per question: share of its relevant chunks in the context (NaN if none)."""
    _check_context(context, relevant, "relevant")
    found = in_context(context, relevant).sum(axis=1)
    total = relevant.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, found / np.maximum(total, 1), np.nan)


@dataclass(frozen=True)
class Answers:
    """What the simulated answerer did with each context."""

    cited: np.ndarray  # (questions, slots) bool
    cited_gold: np.ndarray  # (questions, slots) bool

    @property
    def abstained(self) -> np.ndarray:
        return ~self.cited.any(axis=1)

    @property
    def correct(self) -> np.ndarray:
        """Answered, citing at least one chunk that states the fact."""
        return self.cited_gold.any(axis=1)

    @property
    def wrong(self) -> np.ndarray:
        """Answered from near misses alone."""
        return ~self.abstained & ~self.correct


# --8<-- [start:answerer]
def answer(context, support, gold, threshold):
    """Cite every context chunk whose support clears the threshold; none: abstain.

    ``support`` is the reader's noisy judgement of each chunk against the
    question; the same draws serve every retrieval method, so they are paired.
    """
    _check_answer_inputs(context, support, gold, threshold)
    cited = in_context(context, support > threshold)
    return Answers(cited, cited & in_context(context, gold))
    # --8<-- [end:answerer]


def _check_answer_inputs(context, support, gold, threshold) -> None:
    _check_context(context, gold, "gold")
    if np.shape(support) != np.shape(gold):
        raise ValueError("support and gold must both be (questions, chunks)")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold}")


def citation_scores(answers: Answers, gold: np.ndarray) -> tuple[float, float]:
    """Citation precision (cited chunks that state the fact) and recall (the
    asker's readable chunks that state it, cited), pooled over questions."""
    cited, hits = answers.cited.sum(), answers.cited_gold.sum()
    precision = hits / cited if cited else float("nan")
    return float(precision), float(hits / gold.sum()) if gold.sum() else float("nan")


# ---- A response cache in front of the pipeline


@dataclass(frozen=True)
class CachePolicy:
    """How answers are cached: the key, a time to live, and a check at serve time."""

    name: str
    key: str  # "none", "query", "query+permissions"
    ttl_hours: float = float("inf")
    recheck: bool = False  # re-check the cached chunks against the live ACL

    def __post_init__(self) -> None:
        if self.key not in {"none", "query", "query+permissions"}:
            raise ValueError(f"unknown cache key {self.key!r}")
        if not self.ttl_hours > 0:
            raise ValueError(f"ttl_hours must be positive, got {self.ttl_hours}")


# --8<-- [start:cache_key]
def cache_key(policy: CachePolicy, question: int, groups: np.ndarray) -> Hashable:
    """The query alone, or the query with the asker's whole permission set."""
    if policy.key == "query":
        return question  # one user's answer, served to everyone who asks
    return question, np.flatnonzero(groups).tobytes()
    # --8<-- [end:cache_key]


def serve(
    policy: CachePolicy,
    hours: np.ndarray,
    question: np.ndarray,
    groups: np.ndarray,
    live_context: np.ndarray,
    live_permitted: np.ndarray,
) -> tuple[int, int]:
    """Replay a request stream through a cache: (hits, leaks).

    ``live_context[i]`` is what the pipeline builds for request i when it runs
    (pre-filtered under the access lists in force at that hour), and
    ``live_permitted[i]`` what request i's user may read at that hour. A leak is a
    response served from chunks its reader may not read at the time.
    """
    n = len(hours)
    if not len(question) == len(groups) == len(live_context) == n:
        raise ValueError("every request needs an hour, a question, groups, a context")
    if np.any(np.diff(hours) < 0):
        raise ValueError("requests must be in time order")
    store: dict[Hashable, tuple[float, np.ndarray]] = {}
    hits = leaks = 0
    for i in range(n):
        context = live_context[i]
        if policy.key != "none":
            key = cache_key(policy, int(question[i]), groups[i])
            entry = store.get(key)
            fresh = entry is not None and hours[i] - entry[0] < policy.ttl_hours
            ok = fresh and not (
                policy.recheck and not _readable(entry[1], live_permitted[i])
            )
            if ok:
                hits += 1
                context = entry[1]
            else:
                store[key] = (hours[i], context)
        leaks += not _readable(context, live_permitted[i])
    return hits, leaks


def _readable(context: np.ndarray, permitted: np.ndarray) -> bool:
    filled = context[context >= 0]
    return bool(permitted[filled].all())


CACHE_POLICIES = (
    CachePolicy("no cache", "none"),
    CachePolicy("query alone", "query"),
    CachePolicy("query + permission set, TTL 8 h", "query+permissions"),
    CachePolicy("query + permission set, TTL 1 h", "query+permissions", 1.0),
    CachePolicy("  and re-checked at serve time", "query+permissions", 1.0, True),
)


@dataclass(frozen=True)
class StreamConfig:
    """A day of questions through a response cache, with an access-list change."""

    requests: int = 600
    users: int = 80
    questions: int = 40  # popular questions, Zipf-distributed
    hours: float = 8.0
    change_hour: float = 4.0
    narrowed: float = 0.15  # documents moved to a single group at the change
    deleted: float = 0.03  # documents deleted (tombstoned) at the change

    def __post_init__(self) -> None:
        for name in ("requests", "users", "questions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= self.change_hour <= self.hours:
            raise ValueError("change_hour must fall inside the day's hours")
        for name in ("narrowed", "deleted"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a share in [0, 1]")


def replay_cache(
    world: ew.World,
    bm25: BM25,
    seed: int,
    config: StreamConfig | None = None,
    k: int = 5,
) -> dict:
    """Replay a day of popular questions through each cache policy: hits, leaks."""
    config = StreamConfig() if config is None else config
    rng = np.random.default_rng([seed, 3])
    n_facts = world.config.subjects * world.config.attributes
    stated = np.flatnonzero(np.bincount(world.chunk_fact, minlength=n_facts) > 0)
    popular = rng.choice(stated, config.questions, replace=False)
    counts, vectors = ew.embed_questions(
        world,
        rng,
        popular // world.config.attributes,
        popular % world.config.attributes,
    )
    per_question = [bm25.scores(counts), vectors @ world.chunk_vectors.T]
    sizes = rng.choice([1, 2, 4, 8, 16], config.users)
    users = np.vstack([ew.user_groups(world, rng, 1, int(m)) for m in sizes])
    zipf = 1 / np.arange(1, config.questions + 1)
    question = rng.choice(config.questions, config.requests, p=zipf / zipf.sum())
    user = rng.integers(config.users, size=config.requests)
    hours = np.sort(rng.uniform(0, config.hours, config.requests))

    after = world.access.copy()
    docs = world.config.documents
    moved = rng.random(docs) < config.narrowed
    after[moved] = False
    after[moved, 1 + rng.integers(world.config.groups, size=moved.sum())] = True
    after[rng.random(docs) < config.deleted] = False
    late = hours >= config.change_hour
    live = np.where(
        late[:, None],
        world.permitted(users[user], after),
        world.permitted(users[user]),
    )
    request_scores = [s[question] for s in per_question]
    context = pre_filter(request_scores, live, k)
    result = {}
    for policy in CACHE_POLICIES:
        hits, leaks = serve(policy, hours, question, users[user], context, live)
        result[policy.name] = {
            "hit_rate": hits / config.requests,
            "leaks_per_1000": 1000 * leaks / config.requests,
        }
    return result
