"""Tail-latency formulas agree with simulation; caches and compression behave."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snippets.concepts import serving as sv

PAGE = "concepts/serving.md"


@pytest.mark.parametrize("n_calls", [1, 5, 50, 200])
def test_fan_out_formula_matches_monte_carlo(n_calls):
    rng = np.random.default_rng(n_calls)
    simulated = sv.simulated_p_any_slow(n_calls, trials=20_000, rng=rng)
    exact = sv.p_any_slow(n_calls)
    # Binomial standard error of the simulated share, five of them.
    assert abs(simulated - exact) < 5 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-9


def test_dean_and_barroso_example_and_the_leaf_quantile():
    # "The Tail at Scale": 1-in-100 slow leaves and a 100-way fan-out -> 63% slow.
    assert sv.p_any_slow(100) == pytest.approx(0.634, abs=0.001)
    for n in (1, 10, 100):
        q = sv.leaf_quantile_needed(n)
        assert q**n == pytest.approx(0.99)  # P(all n calls below the leaf quantile)
    assert sv.leaf_quantile_needed(100) > 0.9998


@pytest.mark.parametrize("n_calls", [1, 10, 100])
@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_request_p99_is_the_shards_quantile_at_099_to_the_one_over_n(n_calls, sigma):
    # SciPy's lognormal with the same p99, read at the per-call quantile 0.99^(1/n).
    median = 10 / np.exp(sigma * stats.norm.ppf(0.99))
    shard = stats.lognorm(s=sigma, scale=median)
    assert shard.ppf(0.99) == pytest.approx(10)
    expected = shard.ppf(0.99 ** (1 / n_calls))
    assert sv.request_quantile_ms(n_calls, 10, sigma) == pytest.approx(expected)
    # The slowest of n independent calls: P(max <= x) = F(x)^n = 0.99 there.
    assert shard.cdf(expected) ** n_calls == pytest.approx(0.99)
    rng = np.random.default_rng(n_calls)
    simulated = sv.simulated_request_quantile_ms(n_calls, 40_000, rng, 10, sigma)
    assert simulated == pytest.approx(expected, rel=0.05)


def loop_hedged(first, backup, delay):
    """Independent reference: one request at a time."""
    out = []
    for f, b in zip(first, backup, strict=True):
        out.append(f if f <= delay else min(f, delay + b))
    return np.array(out)


def test_a_hedged_call_is_never_slower_than_its_first_attempt():
    rng = np.random.default_rng(4)
    first = sv.call_latencies(100_000, rng)
    backup = sv.call_latencies(100_000, rng)
    delay = float(np.quantile(first, 0.95))
    hedged, extra = sv.hedged_latencies(first, backup, delay)
    assert np.all(hedged <= first)  # taking the earlier reply never hurts
    quiet = first <= delay  # no backup was sent: nothing changes
    assert np.array_equal(hedged[quiet], first[quiet])
    assert np.all(hedged[~quiet] >= delay)  # the backup only leaves at the delay
    np.testing.assert_allclose(
        hedged[:5_000], loop_hedged(first, backup, delay)[:5_000]
    )
    assert extra == pytest.approx(np.mean(~quiet)) == pytest.approx(0.05, abs=0.005)
    assert np.quantile(hedged, 0.99) < np.quantile(first, 0.99) / 2
    assert np.median(hedged) == pytest.approx(np.median(first), rel=0.01)


def test_hedging_amplifies_load_when_every_call_slows_down():
    rng = np.random.default_rng(5)
    delay = float(np.quantile(sv.call_latencies(100_000, rng), 0.95))
    slow = sv.call_latencies(100_000, rng, slowdown=2.0)
    _, extra = sv.hedged_latencies(slow, sv.call_latencies(100_000, rng, 2.0), delay)
    assert extra > 0.5  # a fixed delay now duplicates most requests
    with pytest.raises(ValueError, match="positive"):
        sv.hedged_latencies(slow[:10], slow[:10], 0)
    with pytest.raises(ValueError, match="one latency per request"):
        sv.hedged_latencies(slow[:10], slow[:9], 5.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=300), st.integers(1, 20))
def test_lru_hits_equal_functools_lru_cache(requests, capacity):
    @functools.lru_cache(maxsize=capacity)
    def fetch(key):
        return key

    for key in requests:
        fetch(key)
    assert sv.lru_hits(requests, capacity) == fetch.cache_info().hits


def test_static_cache_ceiling_and_warm_top_k():
    rng = np.random.default_rng(3)
    history = sv.zipf_requests(20_000, n_items=5_000, exponent=1.0, rng=rng)
    today = sv.zipf_requests(20_000, n_items=5_000, exponent=1.0, rng=rng).tolist()
    top = np.argsort(-np.bincount(history, minlength=5_000), kind="stable")[:50]
    assert sv.static_cache_hits(today, top.tolist()) == np.isin(today, top).sum()
    # An LRU cache that can hold every item misses exactly the first sights.
    ceiling = sv.cold_cache_ceiling(today)
    assert sv.lru_hits(today, 5_000) / len(today) == pytest.approx(ceiling)
    assert ceiling == pytest.approx(1 - np.unique(today).size / len(today))
    # Popularity is stable here, so yesterday's top 50 beats a 50-key LRU.
    assert sv.static_cache_hits(today, top.tolist()) > sv.lru_hits(today, 50)
    with pytest.raises(ValueError, match="empty"):
        sv.cold_cache_ceiling([])


def test_bigger_caches_hit_more_and_latency_is_the_weighted_mean():
    rng = np.random.default_rng(0)
    requests = sv.zipf_requests(20_000, n_items=10_000, exponent=1.0, rng=rng).tolist()
    rates = [sv.lru_hits(requests, c) / len(requests) for c in (10, 100, 1_000)]
    assert rates == sorted(rates) and rates[0] > 0.1
    assert sv.mean_latency_ms(0.0, 1, 40) == 40 and sv.mean_latency_ms(1.0, 1, 40) == 1
    assert sv.mean_latency_ms(0.5, 1, 40) == pytest.approx(20.5)
    with pytest.raises(ValueError, match="hit_rate"):
        sv.mean_latency_ms(1.5, 1, 40)


def test_an_index_from_another_model_version_is_near_random():
    rng = np.random.default_rng(0)
    rotation = sv.random_rotation(16, 3.0, rng)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(16), atol=1e-10)
    assert np.array_equal(sv.random_rotation(8, 0.0, rng), np.eye(8))
    assert sv.recall_with_version_skew(5_000, 16, 100, 0.0) == 1.0
    assert sv.recall_with_version_skew(5_000, 16, 100, 10.0) < 0.05


def test_any_invertible_map_and_its_inverse_transpose_keep_every_score():
    rng = np.random.default_rng(1)
    queries, items = rng.normal(size=(50, 8)), rng.normal(size=(300, 8))
    a = rng.normal(size=(8, 8))  # invertible with probability 1, not orthogonal
    moved = (queries @ a.T) @ (items @ np.linalg.inv(a)).T
    np.testing.assert_allclose(moved, queries @ items.T, atol=1e-8)


def brute_recall(seed, strength, unit_items, n_items=20_000, dim=32, k=10):
    """Recall@10 under version skew, with full sorts instead of argpartition."""
    rng = np.random.default_rng(seed)
    items = rng.normal(size=(n_items, dim))
    if unit_items:
        items = items / np.linalg.norm(items, axis=1)[:, None]
    queries = rng.normal(size=(200, dim))
    truth = np.argsort(-queries @ items.T, axis=1)[:, :k]
    rotated = queries @ sv.random_rotation(dim, strength, rng)
    found = np.argsort(-rotated @ items.T, axis=1)[:, :k]
    hits = [np.isin(t, f).sum() for t, f in zip(truth, found, strict=True)]
    return np.mean(hits) / k


def test_large_norm_items_lift_a_retrained_towers_recall_above_random():
    lines = module_output("snippets.concepts.serving").splitlines()
    rows = {
        x[:28].strip(): x[28:].split()
        for x in lines
        if x.startswith("  ")
        and (x[2:].startswith(("same", "small", "retrained", "ten")))
    }
    random_recall = float(rows["ten random items"][0])
    assert random_recall == 10 / 20_000
    for label, unit in (("retrained", False), ("retrained, unit-norm items", True)):
        seed0, low, _, high = rows[label]
        runs = [brute_recall(seed, 10.0, unit) for seed in range(5)]
        assert (seed0, low, high) == tuple(
            f"{v:.4f}" for v in (runs[0], min(runs), max(runs))
        )
    assert float(rows["retrained"][1]) > 2 * random_recall  # norms, not signal
    low, high = (float(rows["retrained"][i]) / random_recall for i in (1, 3))
    assert_page_quotes(PAGE, f"does {low:.0f} to\n{high:.0f} times better than random")
    assert float(rows["retrained, unit-norm items"][3]) <= 2 * random_recall
    assert_page_quotes(
        PAGE,
        f"recall@10 is {rows['same version'][0]}",
        f"drops it to\n{rows['small drift'][0]}",
        "to {} ({} to {} over five\nseeds)".format(
            *[rows["retrained"][i] for i in (0, 1, 3)]
        ),
        f"10/20,000 = {rows['ten random items'][0]}",
        "falls to {} to {}".format(
            *[rows["retrained, unit-norm items"][i] for i in (1, 3)]
        ),
    )


def test_bad_input_raises_a_clear_error():
    with pytest.raises(ValueError, match="between 0 and 1"):
        sv.p_any_slow(10, quantile=1.0)
    with pytest.raises(ValueError, match="at least 1"):
        sv.p_any_slow(0)
    with pytest.raises(TypeError, match="int"):
        sv.leaf_quantile_needed(2.5)
    with pytest.raises(ValueError, match="capacity"):
        sv.lru_hits([1, 2], 0)


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.serving")
    lines = out.splitlines()
    fanout = {line.split()[0]: line.split() for line in lines[2:6]}
    assert float(fanout["100"][1]) == pytest.approx(sv.p_any_slow(100), abs=5e-4)
    assert_page_quotes(PAGE, fanout["10"][1], fanout["100"][1], fanout["100"][3])
    assert_page_quotes(PAGE, f"{fanout['100'][2]} simulated", fanout["300"][1])
    request = next(x for x in lines if x.startswith("  100 ") and "ms" in x).split()
    exact_05, sim_05, exact_10, sim_10 = request[1], request[3], request[5], request[7]
    assert float(exact_10) > 1.5 * float(exact_05)  # the tail's shape matters
    assert_page_quotes(PAGE, f"{exact_05} ms for σ = 0.5", f"{exact_10} ms for")
    assert_page_quotes(PAGE, f"({sim_05} ms simulated)", f"({sim_10} ms simulated)")
    hedge_delay = next(x for x in lines if x.startswith("Hedged")).split(", ")[1]
    assert_page_quotes(PAGE, f"p95 ({hedge_delay[:-2]})")
    hedge = next(line for line in lines if line.startswith("  p50"))
    p99_plain, p99_hedged = hedge.split("p99 ")[1].split(" ms")[0].split(" -> ")
    assert float(p99_hedged) < float(p99_plain) / 2
    extra = hedge.split("extra calls ")[1]
    overload = next(x for x in lines if "2x slower" in x).split("extra calls ")[1]
    assert float(overload.rstrip("%")) > 10 * float(extra.rstrip("%"))
    assert_page_quotes(PAGE, p99_plain, p99_hedged, f"{extra} extra", f"{overload} of")
    ceiling = next(x for x in lines if "ceiling" in x).split()[-1]
    assert_page_quotes(PAGE, f"{ceiling} of this trace")
    start = next(i for i, line in enumerate(lines) if line.startswith("cache size"))
    cache_rows = [line.split() for line in lines[start + 1 : start + 4]]
    lru = [float(row[1].rstrip("%")) for row in cache_rows]
    warm = [float(row[2].rstrip("%")) for row in cache_rows]
    assert lru == sorted(lru) and all(w > r for w, r in zip(warm, lru, strict=True))
    for row in cache_rows:
        assert_page_quotes(PAGE, *row)
    assert_page_quotes(PAGE, lines[-1].split(": ")[1])
