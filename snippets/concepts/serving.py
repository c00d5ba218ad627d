"""Tail latency, hedging, caching and version-locked embeddings, by simulation.

Run it: ``python -m snippets.concepts.serving``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from snippets.common.estimation import human_bytes, storage_bytes
from snippets.common.figures import (
    ACCENT,
    SECOND,
    new_figure,
    plain_log_ticks,
    printed,
    styled,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    return float(value)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


# --8<-- [start:fanout]
def p_any_slow(n_calls: int, quantile: float = 0.99) -> float:
    """P(at least one of n parallel calls is slower than its per-call quantile)."""
    return 1 - _probability("quantile", quantile) ** _count("n_calls", n_calls)


def leaf_quantile_needed(n_calls: int, request_quantile: float = 0.99) -> float:
    """Per-call quantile that keeps the fan-out request's quantile on target."""
    # P(max of n <= x) = F(x)^n, so F(x) must be request_quantile^(1/n).
    return _probability("request_quantile", request_quantile) ** (
        1 / _count("n_calls", n_calls)
    )


def request_quantile_ms(
    n_calls: int, shard_p99_ms: float, sigma: float, request_quantile: float = 0.99
) -> float:
    """The request's latency quantile when it waits for n independent lognormal calls.

    Each call's latency is lognormal with shape sigma, scaled so its p99 is
    shard_p99_ms; the request's quantile is the call's quantile q^(1/n).
    """
    if shard_p99_ms <= 0 or sigma <= 0:
        raise ValueError("shard_p99_ms and sigma must be positive")
    log_median = np.log(shard_p99_ms) - sigma * _normal_quantile(0.99)
    leaf = leaf_quantile_needed(n_calls, request_quantile)
    return float(np.exp(log_median + sigma * _normal_quantile(leaf)))


def simulated_p_any_slow(
    n_calls: int, trials: int, rng: np.random.Generator, quantile: float = 0.99
) -> float:
    """Monte Carlo estimate of p_any_slow with lognormal per-call latencies."""
    latencies = rng.lognormal(mean=np.log(20), sigma=0.5, size=(trials, n_calls))
    # The exact per-call quantile of this lognormal, so only the fan-out is tested.
    slow = np.exp(np.log(20) + 0.5 * _normal_quantile(quantile))
    return float(np.mean(latencies.max(axis=1) > slow))


def simulated_request_quantile_ms(
    n_calls: int,
    trials: int,
    rng: np.random.Generator,
    shard_p99_ms: float,
    sigma: float,
    request_quantile: float = 0.99,
) -> float:
    """Monte Carlo request quantile: the slowest of n independent calls per request."""
    log_median = np.log(shard_p99_ms) - sigma * _normal_quantile(0.99)
    calls = rng.lognormal(log_median, sigma, size=(trials, _count("n_calls", n_calls)))
    return float(np.quantile(calls.max(axis=1), request_quantile))


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))
    # --8<-- [end:fanout]


# --8<-- [start:hedging]
def call_latencies(
    n: int, rng: np.random.Generator, slowdown: float = 1.0
) -> np.ndarray:
    """Per-call latency in ms: lognormal body, and 2% of calls hit a 10x hiccup."""
    body = rng.lognormal(mean=np.log(10), sigma=0.3, size=n) * slowdown
    hiccup = rng.random(n) < 0.02  # GC pause, noisy neighbour, queueing
    return np.where(hiccup, body * 10, body)


def hedged_latencies(
    first: np.ndarray, backup: np.ndarray, hedge_after_ms: float
) -> tuple[np.ndarray, float]:
    """Latency when a backup is sent at hedge_after_ms if the first call is still out.

    first and backup are the two replicas' latencies for the same requests; the
    caller keeps whichever reply arrives first. Returns the latencies and the
    share of requests that sent a backup (the extra load).
    """
    if hedge_after_ms <= 0:
        raise ValueError(f"hedge_after_ms must be positive, got {hedge_after_ms}")
    first, backup = np.asarray(first, dtype=float), np.asarray(backup, dtype=float)
    if first.shape != backup.shape:
        raise ValueError("first and backup need one latency per request each")
    sent = first > hedge_after_ms  # only requests still waiting get a backup
    hedged = np.where(sent, np.minimum(first, hedge_after_ms + backup), first)
    return hedged, float(sent.mean())
    # --8<-- [end:hedging]


# --8<-- [start:cache]
def lru_hits(requests: Iterable[Hashable], capacity: int) -> int:
    """Count cache hits of a least-recently-used cache holding capacity keys."""
    _count("capacity", capacity)
    cache: OrderedDict[Hashable, None] = OrderedDict()
    hits = 0
    for key in requests:
        if key in cache:
            hits += 1
            cache.move_to_end(key)  # most recently used goes to the back
        else:
            cache[key] = None
            if len(cache) > capacity:
                cache.popitem(last=False)  # evict the least recently used
    return hits


def static_cache_hits(requests: Iterable[Hashable], cached: Iterable[Hashable]) -> int:
    """Hits of a cache preloaded with a fixed set of keys (e.g. yesterday's top k)."""
    keep = set(cached)
    return sum(key in keep for key in requests)


def cold_cache_ceiling(requests: Sequence[Hashable]) -> float:
    """Best hit rate any cache that starts empty can reach: first sights always miss."""
    if len(requests) == 0:
        raise ValueError("requests is empty")
    return 1 - len(set(requests)) / len(requests)


def zipf_requests(
    n_requests: int, n_items: int, exponent: float, rng: np.random.Generator
) -> np.ndarray:
    """Item ids whose popularity falls as 1 / rank^exponent (a few items are hot)."""
    weights = 1 / np.arange(1, n_items + 1) ** exponent
    return rng.choice(n_items, size=n_requests, p=weights / weights.sum())


def mean_latency_ms(hit_rate: float, hit_ms: float, miss_ms: float) -> float:
    """Expected latency when a share hit_rate of requests is served from cache."""
    if not 0 <= hit_rate <= 1:
        raise ValueError(f"hit_rate must be in [0, 1], got {hit_rate}")
    return hit_rate * hit_ms + (1 - hit_rate) * miss_ms
    # --8<-- [end:cache]


# --8<-- [start:versions]
def random_rotation(dim: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """An orthogonal matrix: identity at strength 0, a random rotation as it grows."""
    q, r = np.linalg.qr(np.eye(dim) + strength * rng.normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))  # sign fix: strength 0 gives exactly the identity


def recall_with_version_skew(
    n_items: int,
    dim: int,
    n_queries: int,
    strength: float,
    seed: int = 0,
    k: int = 10,
    unit_items: bool = False,
) -> float:
    """Recall@k of queries encoded by a new tower against an index built by the old one.

    A retrained two-tower model scores as well as the old one up to any invertible
    map A of its space (A on queries, A^-T on items leaves every dot product as it
    was); a rotation is the case A^-T = A, so here the new query tower differs
    from the old one by a rotation. unit_items=True gives every item norm 1.
    """
    rng = np.random.default_rng(seed)
    items = rng.normal(size=(n_items, dim))  # the index, built with version 1
    if unit_items:  # no item is closer to every query just by being long
        items /= np.linalg.norm(items, axis=1, keepdims=True)
    queries = rng.normal(size=(n_queries, dim))  # version-1 query embeddings
    # The k best items per query (in any order: recall only needs the set).
    truth = np.argpartition(-queries @ items.T, k - 1, axis=1)[:, :k]
    rotated = queries @ random_rotation(dim, strength, rng)  # version-2 query tower
    found = np.argpartition(-rotated @ items.T, k - 1, axis=1)[:, :k]
    hits = [len(set(t) & set(f)) for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits) / k)
    # --8<-- [end:versions]


FAN_OUT = (1, 10, 100, 300)  # calls per request in the printed table


def fan_out_rows(
    rng: np.random.Generator, calls: tuple[int, ...] = FAN_OUT
) -> list[tuple[int, float, float, float]]:
    """(calls, 1 - 0.99^N, its simulation, the leaf quantile needed) per fan-out."""
    return [
        (
            n,
            p_any_slow(n),
            simulated_p_any_slow(n, trials=4_000, rng=rng),
            leaf_quantile_needed(n),
        )
        for n in calls
    ]


@styled
def fan_out_figure(simulated: list[tuple[int, float]] | None = None) -> Figure:
    """P(at least one call slower than its p99) against the fan-out: the formula on a
    fine grid, and the simulated (calls, rate) pairs as printed (three decimals)."""
    if simulated is None:
        rows = fan_out_rows(np.random.default_rng(0))  # the seed main() starts from
        simulated = [(r[0], printed(r[2], 3)) for r in rows]
    fig, (ax,) = new_figure()
    calls = np.union1d(np.geomspace(1, 300, 60).round().astype(int), FAN_OUT)
    ax.plot(
        calls,
        [p_any_slow(int(n)) for n in calls],
        color=ACCENT,
        label="1 \u2212 0.99\u1d3a (independent calls)",
    )
    ax.plot(
        [n for n, _ in simulated],
        [rate for _, rate in simulated],
        "o",
        color=SECOND,
        label="simulated, 4,000 requests each",
    )
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("calls a request waits for (fan-out N, log scale)")
    ax.set_ylabel("P(at least one call slower than its p99)")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left")
    return fig


# --8<-- [start:demo]
def main() -> None:
    rng = np.random.default_rng(0)
    print("Fan-out: P(request waits on a call slower than its p99)")
    print(f"{'calls':>5} {'1-0.99^N':>8} {'simulated':>9} {'leaf quantile needed':>20}")
    for n, exact, simulated, leaf in fan_out_rows(rng):
        print(f"{n:>5} {exact:>8.3f} {simulated:>9.3f} {leaf:>20.3%}")
    print("\nRequest p99 when each shard's p99 is 10 ms (lognormal, independent):")
    print(
        f"{'calls':>5} {'sigma 0.5':>10} {'simulated':>9} "
        f"{'sigma 1.0':>10} {'simulated':>9}"
    )
    for n in (1, 10, 100):
        cells = []
        for sigma in (0.5, 1.0):
            exact = request_quantile_ms(n, shard_p99_ms=10, sigma=sigma)
            sim = simulated_request_quantile_ms(n, 20_000, rng, 10, sigma)
            cells.append(f"{exact:>7.1f} ms {sim:>6.1f} ms")
        print(f"{n:>5} " + " ".join(cells))

    plain = call_latencies(200_000, rng)
    hedge_at = float(np.quantile(plain, 0.95))
    hedged, extra = hedged_latencies(plain, call_latencies(200_000, rng), hedge_at)
    print(f"\nHedged requests (backup sent after the p95, {hedge_at:.1f} ms):")
    print(
        f"  p50 {np.median(plain):.1f} -> {np.median(hedged):.1f} ms, "
        f"p99 {np.quantile(plain, 0.99):.1f} -> {np.quantile(hedged, 0.99):.1f} ms, "
        f"extra calls {extra:.1%}"
    )
    slow = call_latencies(200_000, rng, slowdown=2.0)  # every replica overloaded
    _, extra_slow = hedged_latencies(slow, call_latencies(200_000, rng, 2.0), hedge_at)
    print(f"  every call 2x slower, same delay: extra calls {extra_slow:.1%}")

    yesterday = zipf_requests(100_000, n_items=100_000, exponent=1.0, rng=rng)
    today = zipf_requests(100_000, n_items=100_000, exponent=1.0, rng=rng).tolist()
    by_popularity = np.argsort(
        -np.bincount(yesterday, minlength=100_000), kind="stable"
    )
    print(
        "\nCaches over Zipf(1.0) traffic, 100k items, 100k requests; "
        "hit 1 ms, miss 40 ms:"
    )
    print(
        "  cold-cache ceiling (first sight of each item misses) "
        f"{cold_cache_ceiling(today):.1%}"
    )
    print(
        f"{'cache size':>10} {'LRU hit':>8} {'top-k hit':>9} {'mean ms':>7} "
        f"{'model QPS of 10k':>16}"
    )
    for share in (0.001, 0.01, 0.1):
        size = int(share * 100_000)
        lru = lru_hits(today, size) / len(today)
        warm = static_cache_hits(today, by_popularity[:size].tolist()) / len(today)
        mean_ms = mean_latency_ms(warm, hit_ms=1, miss_ms=40)
        model_qps = (1 - warm) * 10_000
        print(
            f"{share:>10.1%} {lru:>8.1%} {warm:>9.1%} {mean_ms:>7.1f} "
            f"{model_qps:>16,.0f}"
        )

    print("\nTwo-tower index (20,000 items) from version 1, queries from version 2:")
    print(f"{'recall@10':<28} {'seed 0':>10} {'seeds 0-4':>18}")
    for label, strength, unit, seeds in (
        ("same version", 0.0, False, 1),
        ("small drift", 0.05, False, 1),
        ("retrained", 10.0, False, 5),  # near random: the seed matters, show it
        ("retrained, unit-norm items", 10.0, True, 5),
    ):
        runs = [
            recall_with_version_skew(20_000, 32, 200, strength, seed, unit_items=unit)
            for seed in range(seeds)
        ]
        spread = f"{min(runs):>8.4f} to {max(runs):.4f}" if seeds > 1 else ""
        print(f"  {label:<26} {runs[0]:>10.4f} {spread}".rstrip())
    print(f"  {'ten random items':<26} {10 / 20_000:>10.4f}")

    batch = storage_bytes(100e6, bytes_per_item=100 * (8 + 4))
    print(f"\nBatch top-100 (id + score) for 100M users: {human_bytes(batch)}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
