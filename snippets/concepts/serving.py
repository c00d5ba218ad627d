"""Tail latency, caching and model compression, each checked by simulation.

Run it: ``python -m snippets.concepts.serving``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from snippets.common.estimation import human_bytes, storage_bytes


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


def simulated_p_any_slow(
    n_calls: int, trials: int, rng: np.random.Generator, quantile: float = 0.99
) -> float:
    """Monte Carlo estimate of p_any_slow with lognormal per-call latencies."""
    latencies = rng.lognormal(mean=np.log(20), sigma=0.5, size=(trials, n_calls))
    # The exact per-call quantile of this lognormal, so only the fan-out is tested.
    slow = np.exp(np.log(20) + 0.5 * _normal_quantile(quantile))
    return float(np.mean(latencies.max(axis=1) > slow))


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))
    # --8<-- [end:fanout]


# --8<-- [start:hedging]
def call_latencies(n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-call latency in ms: lognormal body, and 2% of calls hit a 10x hiccup."""
    body = rng.lognormal(mean=np.log(10), sigma=0.3, size=n)
    hiccup = rng.random(n) < 0.02  # GC pause, noisy neighbour, queueing
    return np.where(hiccup, body * 10, body)


def hedged_latencies(
    n: int, hedge_after_ms: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Send a backup request if no reply after hedge_after_ms; keep the first reply."""
    if hedge_after_ms <= 0:
        raise ValueError(f"hedge_after_ms must be positive, got {hedge_after_ms}")
    first = call_latencies(n, rng)
    backup = hedge_after_ms + call_latencies(n, rng)
    extra_load = float(np.mean(first > hedge_after_ms))
    return np.minimum(first, backup), extra_load
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


# --8<-- [start:quantize]
def quantize_int8(
    weights: np.ndarray, per_row: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization: q = round(w / scale), scale = max|w| / 127."""
    w = np.asarray(weights)
    if w.ndim != 2 or not np.issubdtype(w.dtype, np.floating):
        raise TypeError("weights must be a 2-D floating-point matrix")
    if not np.isfinite(w).all():
        raise ValueError("weights must be finite")
    # One scale per output row adapts to rows with very different ranges.
    max_abs = np.abs(w).max(axis=1, keepdims=True) if per_row else np.abs(w).max()
    scale = np.where(max_abs > 0, max_abs / 127, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, np.atleast_1d(scale)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Back to float32: w_hat = q * scale; |w - w_hat| <= scale / 2 per weight."""
    return q.astype(np.float32) * scale
    # --8<-- [end:quantize]


# --8<-- [start:prune]
def magnitude_prune(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the given share of weights with the smallest absolute value."""
    w = np.asarray(weights, dtype=float)
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    n_zero = round(sparsity * w.size)
    if n_zero == 0:
        return w.copy()
    smallest = np.argsort(np.abs(w), axis=None, kind="stable")[:n_zero]
    pruned = w.copy().ravel()
    pruned[smallest] = 0.0
    return pruned.reshape(w.shape)
    # --8<-- [end:prune]


# --8<-- [start:compression]
def digits_model(seed: int = 0):
    """A multinomial logistic regression on the 8x8 digits (bundled with sklearn)."""
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_tr)
    model = LogisticRegression(max_iter=2_000).fit(scaler.transform(x_tr), y_tr)
    return model, scaler.transform(x_te), y_te


def predict_with(weights: np.ndarray, bias: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Class with the largest linear score, as LogisticRegression.predict does."""
    return np.argmax(x @ weights.T + bias, axis=1)
    # --8<-- [end:compression]


# --8<-- [start:demo]
def main() -> None:
    rng = np.random.default_rng(0)
    print("Fan-out: P(request waits on a call slower than its p99)")
    print(f"{'calls':>5} {'1-0.99^N':>8} {'simulated':>9} {'leaf quantile needed':>20}")
    for n in (1, 10, 100, 300):
        simulated = simulated_p_any_slow(n, trials=4_000, rng=rng)
        print(
            f"{n:>5} {p_any_slow(n):>8.3f} {simulated:>9.3f} "
            f"{leaf_quantile_needed(n):>20.3%}"
        )

    plain = call_latencies(200_000, rng)
    hedge_at = float(np.quantile(plain, 0.95))
    hedged, extra = hedged_latencies(200_000, hedge_at, rng)
    print(f"\nHedged requests (backup sent after the p95, {hedge_at:.1f} ms):")
    print(
        f"  p50 {np.median(plain):.1f} -> {np.median(hedged):.1f} ms, "
        f"p99 {np.quantile(plain, 0.99):.1f} -> {np.quantile(hedged, 0.99):.1f} ms, "
        f"extra calls {extra:.1%}"
    )

    requests = zipf_requests(100_000, n_items=100_000, exponent=1.0, rng=rng)
    print("\nLRU cache over Zipf(1.0) traffic, 100k items; hit 1 ms, miss 40 ms:")
    print(f"{'cache size':>10} {'hit rate':>8} {'mean ms':>7} {'model QPS of 10k':>16}")
    for share in (0.001, 0.01, 0.1):
        hit_rate = lru_hits(requests.tolist(), int(share * 100_000)) / requests.size
        mean_ms = mean_latency_ms(hit_rate, hit_ms=1, miss_ms=40)
        model_qps = (1 - hit_rate) * 10_000
        print(f"{share:>10.1%} {hit_rate:>8.1%} {mean_ms:>7.1f} {model_qps:>16,.0f}")

    model, x_test, y_test = digits_model()
    w, b = model.coef_, model.intercept_
    base = predict_with(w, b, x_test)
    print(f"\nDigits logistic regression, W is {w.shape[0]}x{w.shape[1]}:")
    print(f"  float32 accuracy {np.mean(base == y_test):.3f}")
    for per_row in (False, True):
        q, scale = quantize_int8(w.astype(np.float32), per_row=per_row)
        w_hat = dequantize(q, scale)
        preds = predict_with(w_hat, b, x_test)
        size = q.nbytes + scale.nbytes
        print(
            f"  int8 {'per-row' if per_row else 'per-tensor':<10} "
            f"{w.astype(np.float32).nbytes / size:.1f}x smaller, "
            f"max error {np.abs(w - w_hat).max():.4f} <= scale/2 {scale.max() / 2:.4f}"
        )
        print(
            f"  {'':<15} accuracy {np.mean(preds == y_test):.3f}, "
            f"same prediction as float32 {np.mean(preds == base):.1%}"
        )
    print("  magnitude pruning, share of weights zeroed -> accuracy:")
    curve = []
    for sparsity in (0.5, 0.7, 0.8, 0.9, 0.95):
        preds = predict_with(magnitude_prune(w, sparsity), b, x_test)
        curve.append(f"{sparsity:.0%} -> {np.mean(preds == y_test):.3f}")
    print("    " + ", ".join(curve))

    batch = storage_bytes(100e6, bytes_per_item=100 * (8 + 4))
    print(f"\nBatch top-100 (id + score) for 100M users: {human_bytes(batch)}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
