"""Query autocomplete in miniature: a query log, a prefix index, and how it ranks.

A seeded synthetic search log over 30 days: queries of made-up words whose
popularity follows a Zipf law, a few queries trending in the last day, a few
private queries typed by one user many times, and a few that contain a blocked
word. The index admits a query only if enough distinct users typed it and no
filter blocks it, then caches the top k completions at every node of a trie.
Held-out sessions are drawn from the popularity at the end of the log (the
world's truth, which no ranker sees) and typed one character at a time.
Used by ``python -m snippets.problems.autocomplete``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

K_SHOWN = 8  # completions the box shows
MIN_USERS = 5  # k-anonymity: distinct users a query needs before it is suggested
HOURS = 30 * 24  # the log's span
HALF_LIFE_H = 24.0  # half-life of the time-decayed counts
HALF_LIVES_H = (6.0, 24.0, 168.0)  # the sweep of the decayed count's half-life
LOOK = 0.2  # assumed: chance the user reads the list at a keystroke
PREFIX_LENGTHS = (1, 2, 3, 4, 6)  # the MRR table's columns
ALL_TIME, DECAYED, BURSTS = "all-time count", "decayed count", "burst-aware count"
_CONSONANTS, _VOWELS = "bdfgklmnprstvz", "aeiou"


@dataclass(frozen=True)
class QueryLog:
    """One synthetic search log and the truth behind it."""

    queries: tuple[str, ...]  # query id -> text
    query: np.ndarray  # per event: query id
    hour: np.ndarray  # per event: hours since the log began
    user: np.ndarray  # per event: user id
    from_trend: np.ndarray  # per event: an extra search of a trending query
    base_rate: np.ndarray  # per query: true searches an hour before any trend
    rate_now: np.ndarray  # per query: true searches an hour at the log's end
    trending: np.ndarray  # per query: rising in the last day
    private: np.ndarray  # per query: typed by one user only
    blocked: np.ndarray  # per query: contains a blocklisted word


def _words(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct made-up words of two or three consonant-vowel syllables."""
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    found: dict[str, None] = {}
    while len(found) < n:
        parts = rng.choice(len(syllables), size=rng.integers(2, 4))
        found.setdefault("".join(syllables[i] for i in parts))
    return list(found)


def _zipf(n: int, exponent: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def make_query_log(
    seed: int,
    *,
    n_queries: int = 3_000,
    events_per_hour: float = 250.0,
    n_trending: int = 20,
    n_private: int = 25,
) -> QueryLog:
    """A 30-day log of searches (see ``without_trends`` for its ablation)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if n_queries < 100 or events_per_hour <= 0:
        raise ValueError("need at least 100 queries and a positive rate of searches")
    if not 0 <= n_trending <= n_queries // 2:
        raise ValueError("n_trending must be between 0 and half the queries")
    rng = np.random.default_rng(seed)
    words = _words(rng, 600)
    word_p = _zipf(len(words), 0.9)
    blocklist = set(rng.choice(words[40:200], size=3, replace=False).tolist())
    texts: dict[str, None] = {}
    while len(texts) < n_queries:  # queries of 1-3 words, common words first
        sizes = rng.choice([1, 2, 3], size=n_queries, p=[0.3, 0.45, 0.25])
        picked = rng.choice(len(words), size=int(sizes.sum()), p=word_p).tolist()
        for end, size in zip(np.cumsum(sizes).tolist(), sizes.tolist(), strict=True):
            text = " ".join(words[i] for i in picked[end - size : end])
            if len(text) >= 6 and len(texts) < n_queries:
                texts.setdefault(text)
    private_texts = [
        f"{words[rng.integers(len(words))]} {rng.integers(1000, 10000)}"
        for _ in range(n_private)
    ]
    queries = (*texts, *private_texts)
    n = len(queries)
    popularity = np.zeros(n)
    popularity[:n_queries] = _zipf(n_queries)[rng.permutation(n_queries)]
    base_rate = events_per_hour * popularity  # searches an hour, all month
    # The stable part of the log: every event equally likely at any hour.
    n_events = rng.poisson(events_per_hour * HOURS)
    query = np.searchsorted(np.cumsum(popularity), rng.random(n_events) * 0.999999)
    hour = rng.uniform(0, HOURS, n_events)
    user = rng.integers(0, 10**7, n_events)
    rate_now = base_rate.copy()
    # Trends: tail queries that, 6-24 hours ago, started to be searched as often
    # as one of the top 5-60 queries, and still are.
    tail = np.argsort(-popularity[:n_queries])[n_queries // 10 :]  # not the head
    trending = np.zeros(n, dtype=bool)
    chosen = rng.choice(tail, size=n_trending, replace=False)
    ages = rng.uniform(6, 24, n_trending)
    ranks = rng.integers(5, 61, n_trending)
    extra: tuple[list, list, list] = [], [], []
    for q, age, rank in zip(chosen, ages, ranks, strict=True):
        rate = events_per_hour * _zipf(n_queries)[rank - 1]
        count = rng.poisson(rate * age)
        trending[q] = True
        rate_now[q] += rate
        extra[0].append(np.full(count, q))
        extra[1].append(rng.uniform(HOURS - age, HOURS, count))
        extra[2].append(rng.integers(0, 10**7, count))
    n_trend_events = sum(len(e) for e in extra[0])
    # Private queries: one user each, typed 8 to 40 times over the month.
    for q in range(n_queries, n):
        count = int(rng.integers(8, 41))
        rate_now[q] = count / HOURS
        extra[0].append(np.full(count, q))
        extra[1].append(rng.uniform(0, HOURS, count))
        extra[2].append(np.full(count, rng.integers(0, 10**7)))
    blocked = np.array([bool(blocklist & set(t.split())) for t in queries])
    from_trend = np.zeros(len(query) + sum(len(e) for e in extra[0]), dtype=bool)
    from_trend[len(query) : len(query) + n_trend_events] = True
    return QueryLog(
        queries=queries,
        query=np.concatenate([query, *extra[0]]).astype(np.int64),
        hour=np.concatenate([hour, *extra[1]]),
        user=np.concatenate([user, *extra[2]]).astype(np.int64),
        from_trend=from_trend,
        base_rate=np.where(np.arange(n) < n_queries, base_rate, rate_now),
        rate_now=rate_now,
        trending=trending,
        private=np.arange(n) >= n_queries,
        blocked=blocked,
    )


def without_trends(log: QueryLog) -> QueryLog:
    """The same world and log with the trends' extra searches removed (ablation)."""
    keep = ~log.from_trend
    return replace(
        log,
        query=log.query[keep],
        hour=log.hour[keep],
        user=log.user[keep],
        from_trend=log.from_trend[keep],
        rate_now=log.base_rate,
        trending=np.zeros_like(log.trending),
    )


def with_ended_trends(log: QueryLog, ended_h: float = 48.0) -> QueryLog:
    """The same log with every trend shifted back to end ended_h hours ago.

    The trending queries are back to their base rate when the sessions are drawn:
    the case where a decayed count keeps ranking yesterday's news.
    """
    hour = np.where(log.from_trend, log.hour - ended_h, log.hour)
    return replace(
        log, hour=hour, rate_now=log.base_rate, trending=np.zeros_like(log.trending)
    )


def distinct_users(log: QueryLog) -> np.ndarray:
    """Per query, how many different users searched it (not how many times)."""
    pairs = np.sort(log.query * 10**7 + log.user)  # (query, user), grouped
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]  # each pair once
    return np.bincount(pairs[first] // 10**7, minlength=len(log.queries))


# --8<-- [start:scores]
def popularity_scores(log: QueryLog, half_life_h: float = HALF_LIFE_H) -> dict:
    """Three ways to rank completions, each a per-query score: higher is better."""
    n = len(log.queries)
    all_time = np.bincount(log.query, minlength=n).astype(float)
    age = HOURS - log.hour
    decayed = np.bincount(log.query, weights=0.5 ** (age / half_life_h), minlength=n)
    # A burst: more recent searches than the month's rate explains by 3 sqrt(E).
    # Under Poisson arrivals a decayed count's variance is E / 2 (weights squared
    # halve the half-life), so the test is conservative: about 4.2 SDs.
    window_h = half_life_h / math.log(2)  # the span a decayed count covers
    expected = all_time / HOURS * window_h
    burst = decayed > expected + 3 * np.sqrt(expected) + 1
    return {
        ALL_TIME: all_time,
        DECAYED: decayed,
        BURSTS: np.where(burst, decayed / window_h, all_time / HOURS),
    }
    # --8<-- [end:scores]


def suggestible(
    log: QueryLog,
    min_users: int = MIN_USERS,
    *,
    count_only: bool = False,
    blocklist: bool = True,
) -> np.ndarray:
    """Queries the index may hold: k distinct users (or k searches) and not blocked."""
    if isinstance(min_users, bool) or not isinstance(min_users, int) or min_users < 1:
        raise ValueError(f"min_users must be a positive integer, got {min_users!r}")
    if count_only:  # the wrong rule: one person typing it k times passes
        support = np.bincount(log.query, minlength=len(log.queries))
    else:
        support = distinct_users(log)
    return (support >= min_users) & ~(log.blocked & blocklist)


# --8<-- [start:index]
def build_prefix_index(
    queries: Sequence[str], scores: np.ndarray, eligible: np.ndarray, k: int = K_SHOWN
) -> dict[str, list[int]]:
    """A trie whose every node caches its top k completions, best first.

    A node is a prefix of an eligible query (a hash map keyed by the prefix stands
    in for child pointers). Visiting queries from the best score down and adding
    each to its prefixes' lists until they hold k leaves every node its top k.
    """
    ids = np.flatnonzero(eligible)
    alphabetical = np.argsort(np.argsort(np.array(queries, dtype=object)[ids]))
    nodes: dict[str, list[int]] = {}
    for q in ids[np.lexsort((alphabetical, -scores[ids]))].tolist():
        text = queries[q]
        for end in range(len(text), 0, -1):  # longest prefix first
            top = nodes.get(text[:end])
            if top is None:
                nodes[text[:end]] = [q]
            elif len(top) < k:
                top.append(q)
            else:  # a full node's ancestors are full too: stop
                break
    return nodes
    # --8<-- [end:index]


def _check_index_inputs(queries, scores, eligible, k) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if len(scores) != len(queries) or len(eligible) != len(queries):
        raise ValueError("queries, scores and eligible must have the same length")


def prefix_index(
    queries: Sequence[str], scores: np.ndarray, eligible: np.ndarray, k: int = K_SHOWN
) -> dict[str, list[int]]:
    """``build_prefix_index`` with its inputs checked."""
    scores, eligible = np.asarray(scores, dtype=float), np.asarray(eligible, bool)
    _check_index_inputs(queries, scores, eligible, k)
    return build_prefix_index(queries, scores, eligible, k)


class SortedScan:
    """The index without the cache: sorted queries, binary search, then a scan."""

    def __init__(self, queries: Sequence[str], eligible: np.ndarray) -> None:
        ids = sorted(np.flatnonzero(eligible).tolist(), key=lambda q: queries[q])
        self.queries, self.ids = queries, ids
        self.texts = [queries[q] for q in ids]

    def completions(self, prefix: str) -> range:
        """Positions of every indexed query that starts with prefix."""
        lo = bisect.bisect_left(self.texts, prefix)
        hi = bisect.bisect_left(self.texts, prefix + "\uffff")
        return range(lo, hi)

    def top_k(self, prefix: str, scores: np.ndarray, k: int = K_SHOWN) -> list[int]:
        """Examine every completion's score; keep the k best (ties: alphabetical)."""
        found = [self.ids[i] for i in self.completions(prefix)]
        return sorted(found, key=lambda q: (-scores[q], self.queries[q]))[:k]


# --8<-- [start:typing]
def session_outcomes(
    text: str, index: Mapping[str, list[int]], target: int, look: float = LOOK
) -> dict:
    """Rank of the target at each prefix length, and the expected typing.

    At each keystroke the user reads the list with probability look, notices
    rank r with probability 1 / r, and takes the completion when noticed; it
    saves the characters not typed, minus one tap to select it.
    """
    ranks, requests, saved, still_typing = [], [], 0.0, 1.0
    for length in range(1, len(text) + 1):
        shown = index.get(text[:length], [])
        rank = shown.index(target) + 1 if target in shown else 0
        ranks.append(rank)
        requests.append(still_typing)  # every keystroke typed sends a request
        if rank and length <= len(text) - 2:  # taking it must save a keystroke
            saved += still_typing * look / rank * (len(text) - length - 1)
            still_typing *= 1 - look / rank
    return {"ranks": ranks, "requests": requests, "saved": saved}
    # --8<-- [end:typing]


def mean_reciprocal_rank(ranks_at_length: np.ndarray, weights: np.ndarray) -> float:
    """MRR over sessions from first-relevant ranks (0: not in the top k)."""
    ranks = np.asarray(ranks_at_length, dtype=float)
    rr = np.divide(1.0, ranks, out=np.zeros_like(ranks), where=ranks > 0)
    return float(np.average(rr, weights=weights))


def held_out_sessions(log: QueryLog, n_sessions: int, seed: int) -> np.ndarray:
    """Targets of new sessions, drawn from the true popularity at the log's end."""
    rng = np.random.default_rng([seed, 1])
    p = log.rate_now / log.rate_now.sum()
    return np.bincount(rng.choice(len(p), size=n_sessions, p=p), minlength=len(p))


def evaluate(
    log: QueryLog,
    index: Mapping[str, list[int]],
    sessions: np.ndarray,
    *,
    requests: bool = False,
) -> dict:
    """MRR@k per prefix length (all, trending, stable), keystrokes and requests."""
    targets = np.flatnonzero(sessions)
    weights = sessions[targets].astype(float)
    out = [session_outcomes(log.queries[q], index, int(q)) for q in targets]
    ranks = np.array([[o["ranks"][n - 1] for n in PREFIX_LENGTHS] for o in out])
    result: dict[str, float | np.ndarray] = {}
    for name, keep in (
        ("all", np.ones(len(targets), bool)),
        ("trending", log.trending[targets]),
        ("stable", ~log.trending[targets]),
    ):
        if not keep.any():  # a world without trends has no trending sessions
            continue
        for column, length in enumerate(PREFIX_LENGTHS):
            result[f"mrr {name} {length}"] = mean_reciprocal_rank(
                ranks[keep, column], weights[keep]
            )
        result[f"mrr {name} mean"] = float(
            np.mean([result[f"mrr {name} {n}"] for n in PREFIX_LENGTHS])
        )
    typed = np.array([len(log.queries[q]) for q in targets], float)
    saved = np.array([o["saved"] for o in out])
    result["saved share"] = float(weights @ saved / (weights @ typed))
    sent = np.array([sum(o["requests"]) for o in out])
    result["requests per session"] = float(weights @ sent / weights.sum())
    if requests:  # expected keystroke requests per prefix
        per_prefix: dict[str, float] = {}
        for q, w, o in zip(targets.tolist(), weights.tolist(), out, strict=True):
            text = log.queries[q]
            for length, share in enumerate(o["requests"], start=1):
                per_prefix[text[:length]] = per_prefix.get(text[:length], 0) + w * share
        result["requests"] = per_prefix
    return result


def trie_shape(index: Mapping[str, list[int]], indexed: Sequence[str]) -> dict:
    """Nodes of the plain trie, and of a radix trie (one-child chains merged)."""
    children: dict[str, int] = {}
    for prefix in index:
        children[prefix[:-1]] = children.get(prefix[:-1], 0) + 1
    ends = set(indexed)
    radix = 1 + sum(1 for p in index if p in ends or children.get(p, 0) >= 2)
    return {"trie nodes": len(index) + 1, "radix nodes": radix}


def keystroke_work(
    requests: Mapping[str, float], index: Mapping[str, list[int]], scan: SortedScan
) -> dict[int, tuple[float, float]]:
    """Entries read per request by prefix length: cached top k vs a full scan."""
    totals: dict[int, list[float]] = {}
    for prefix, weight in requests.items():
        bucket = totals.setdefault(min(len(prefix), 4), [0.0, 0.0, 0.0])
        bucket[0] += weight
        bucket[1] += weight * len(index.get(prefix, ()))
        bucket[2] += weight * len(scan.completions(prefix))
    return {n: (c / w, s / w) for n, (w, c, s) in sorted(totals.items())}


def blocked_exposure(
    requests: Mapping[str, float],
    index: Mapping[str, list[int]],
    queries: Sequence[str],
    scores: np.ndarray,
    blocked: Sequence[int],
) -> float:
    """Share of requests whose top k would show a blocked query without the filter.

    A blocked query enters a prefix's list if the list has room or it outranks the
    list's last entry (the index's order: higher score, then alphabetical).
    """
    exposed = set()
    for q in blocked:
        text = queries[q]
        for end in range(1, len(text) + 1):
            top = index.get(text[:end], [])
            last = top[-1] if top else None
            if len(top) < K_SHOWN or (-scores[q], text) < (
                -scores[last],
                queries[last],
            ):
                exposed.add(text[:end])
    return request_share(requests, exposed.__contains__)


def request_share(requests: Mapping[str, float], keep) -> float:
    """Share of keystroke requests whose prefix satisfies keep(prefix)."""
    total = sum(requests.values())
    return sum(w for p, w in requests.items() if keep(p)) / total
