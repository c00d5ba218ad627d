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


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(1, 8),
    st.floats(1e-3, 1e3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_int8_error_is_at_most_half_a_step(rows, cols, spread, seed, per_row):
    rng = np.random.default_rng(seed)
    w = (rng.normal(size=(rows, cols)) * spread).astype(np.float32)
    q, scale = sv.quantize_int8(w, per_row=per_row)
    assert q.dtype == np.int8 and q.nbytes * 4 == w.nbytes
    error = np.abs(w - sv.dequantize(q, scale))
    bound = (scale.reshape(-1, 1) if per_row else scale) / 2
    assert np.all(error <= bound * (1 + 1e-5) + 1e-12)
    assert np.abs(q).max() == 127  # the largest weight uses the full range


def test_per_row_scales_help_rows_of_different_ranges():
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(4, 256)) * np.array([[0.01], [0.1], [1.0], [10.0]])).astype(
        np.float32
    )
    errors = {}
    for per_row in (False, True):
        q, scale = sv.quantize_int8(w, per_row=per_row)
        errors[per_row] = np.abs(w - sv.dequantize(q, scale))[0].mean()
    assert errors[True] < errors[False] / 10  # the small row keeps its precision


def test_compression_keeps_the_digits_model_accurate():
    model, x_test, y_test = sv.digits_model(seed=1)
    base = sv.predict_with(model.coef_, model.intercept_, x_test)
    assert np.array_equal(base, model.predict(x_test))  # our scoring = sklearn's
    q, scale = sv.quantize_int8(model.coef_.astype(np.float32))
    int8 = sv.predict_with(sv.dequantize(q, scale), model.intercept_, x_test)
    assert np.mean(int8 == base) > 0.98
    accuracies = [
        np.mean(
            sv.predict_with(
                sv.magnitude_prune(model.coef_, s), model.intercept_, x_test
            )
            == y_test
        )
        for s in (0.0, 0.5, 0.9, 0.98)
    ]
    assert accuracies[1] > accuracies[0] - 0.02  # half the weights are nearly free
    assert accuracies[-1] < accuracies[0] - 0.1  # but not all of them


def test_two_of_four_keeps_the_two_largest_in_every_group():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(6, 16))
    pruned = sv.prune_2_of_4(w)
    assert pruned.shape == w.shape
    for row, kept in zip(w, pruned, strict=True):
        for start in range(0, 16, 4):
            group, out = row[start : start + 4], kept[start : start + 4]
            largest = sorted(np.abs(group))[2:]
            assert np.count_nonzero(out) == 2
            assert sorted(np.abs(out[out != 0])) == pytest.approx(largest)
            assert np.array_equal(out[out != 0], group[out != 0])  # values kept as is
    with pytest.raises(ValueError, match="divisible by 4"):
        sv.prune_2_of_4(np.ones((2, 6)))


def test_replicas_survive_a_zone_loss_at_the_target_utilisation():
    for peak, per_replica, util, zones in [(23_148, 500, 0.6, 3), (999, 7, 0.5, 4)]:
        n = sv.replicas_needed(peak, per_replica, util, zones)
        assert n % zones == 0
        per_zone = n // zones
        # Brute force: the smallest per-zone count whose zones - 1 zones carry the peak.
        smallest = next(
            k for k in range(1, 10_000) if (zones - 1) * k * per_replica * util >= peak
        )
        assert per_zone == smallest
    assert sv.queueing_slowdown(0.9) == pytest.approx(10.0)
    assert sv.batch_latency_ms(32, fixed_ms=4, per_item_ms=0.25) == pytest.approx(12.0)
    with pytest.raises(ValueError, match="zones"):
        sv.replicas_needed(100, 10, 0.5, zones=1)
    with pytest.raises(ValueError, match="utilisation"):
        sv.queueing_slowdown(1.0)


def test_an_index_from_another_model_version_is_near_random():
    rng = np.random.default_rng(0)
    rotation = sv.random_rotation(16, 3.0, rng)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(16), atol=1e-10)
    assert np.array_equal(sv.random_rotation(8, 0.0, rng), np.eye(8))
    assert sv.recall_with_version_skew(5_000, 16, 100, 0.0) == 1.0
    assert sv.recall_with_version_skew(5_000, 16, 100, 10.0) < 0.05


def test_magnitude_prune_zeroes_the_smallest_weights():
    w = np.array([[0.5, -0.1, 2.0], [-3.0, 0.05, 0.2]])
    pruned = sv.magnitude_prune(w, 0.5)
    assert np.count_nonzero(pruned) == 3
    assert set(pruned[pruned != 0]) == {0.5, 2.0, -3.0}
    assert np.array_equal(sv.magnitude_prune(w, 0.0), w)


def test_bad_input_raises_a_clear_error():
    with pytest.raises(ValueError, match="between 0 and 1"):
        sv.p_any_slow(10, quantile=1.0)
    with pytest.raises(ValueError, match="at least 1"):
        sv.p_any_slow(0)
    with pytest.raises(TypeError, match="int"):
        sv.leaf_quantile_needed(2.5)
    with pytest.raises(TypeError, match="2-D floating"):
        sv.quantize_int8(np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        sv.quantize_int8(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError, match="sparsity"):
        sv.magnitude_prune(np.ones((2, 2)), 1.0)
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
    pruning = next(line for line in lines if line.lstrip().startswith("50% ->"))
    assert_page_quotes(PAGE, *[part.split(" -> ")[1] for part in pruning.split(", ")])
    two_four = next(x for x in lines if x.lstrip().startswith("2:4")).split()[-1]
    assert_page_quotes(PAGE, f"reaches {two_four} against")
    assert_page_quotes(PAGE, lines[-1].split(": ")[1])
    per_tensor = next(line for line in lines if "int8 per-tensor" in line).split()
    assert_page_quotes(PAGE, f"{per_tensor[2]} smaller than float32")
    assert_page_quotes(PAGE, f"{per_tensor[6]} smaller than\nbfloat16")
    error_line = lines[
        lines.index(next(x for x in lines if "int8 per-tensor" in x)) + 1
    ]
    max_error, half_scale = error_line.split()[2], error_line.split()[-1]
    assert float(max_error) <= float(half_scale)
    assert_page_quotes(PAGE, f"({max_error})", f"({half_scale})")
    accuracy = next(line for line in lines if "float32 accuracy" in line).split()[-1]
    same = next(line for line in lines if "same prediction" in line).split()[-1]
    assert_page_quotes(PAGE, accuracy, same)
    qps = next(x for x in lines if x.startswith("Capacity")).split("-> ")[1].split()[0]
    bare = next(x for x in lines if "no headroom" in x).split()[-2]
    replicas = next(x for x in lines if "lose 1" in x).split()[-2]
    assert int(replicas) > 2 * int(bare)
    assert_page_quotes(PAGE, f"{qps} QPS", f"{replicas} replicas", f"gives {bare}")
    queueing = next(x for x in lines if "M/M/1" in x).split(": ")[1]
    for part in queueing.split(", "):
        assert_page_quotes(PAGE, part.split(" -> ")[1])
    batches = [x.split() for x in lines if x.lstrip().startswith("batch ")]
    throughput = [int(row[-2].replace(",", "")) for row in batches]
    assert throughput == sorted(throughput)
    assert_page_quotes(PAGE, f"{batches[0][-2]} items per second")
    assert_page_quotes(PAGE, f"{batches[2][-2]} items per second at {batches[2][2]} ms")
    assert_page_quotes(PAGE, f"{batches[3][-2]} items per second", batches[3][2])
    recalls = [x.split()[-1] for x in lines if "recall@10" in x]
    assert float(recalls[0]) == 1.0 and float(recalls[2]) < 0.05
    assert_page_quotes(PAGE, *recalls)
