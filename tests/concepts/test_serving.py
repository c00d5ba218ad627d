"""Tail-latency formulas agree with simulation; caches and compression behave."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_hedging_cuts_the_tail_for_about_five_percent_more_calls():
    rng = np.random.default_rng(4)
    plain = sv.call_latencies(100_000, rng)
    hedge_at = float(np.quantile(plain, 0.95))
    hedged, extra = sv.hedged_latencies(100_000, hedge_at, rng)
    assert np.quantile(hedged, 0.99) < np.quantile(plain, 0.99) / 2
    assert extra == pytest.approx(0.05, abs=0.005)
    assert np.all(hedged <= np.maximum(plain.max(), hedged.max()))
    with pytest.raises(ValueError, match="positive"):
        sv.hedged_latencies(10, 0, rng)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=300), st.integers(1, 20))
def test_lru_hits_equal_functools_lru_cache(requests, capacity):
    @functools.lru_cache(maxsize=capacity)
    def fetch(key):
        return key

    for key in requests:
        fetch(key)
    assert sv.lru_hits(requests, capacity) == fetch.cache_info().hits


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
    hedge_delay = next(x for x in lines if x.startswith("Hedged")).split(", ")[1]
    assert_page_quotes(PAGE, f"p95 ({hedge_delay[:-2]})")
    hedge = next(line for line in lines if line.startswith("  p50"))
    p99_plain, p99_hedged = hedge.split("p99 ")[1].split(" ms")[0].split(" -> ")
    assert float(p99_hedged) < float(p99_plain) / 2
    extra = hedge.split("extra calls ")[1]
    assert_page_quotes(PAGE, p99_plain, p99_hedged, extra)
    start = next(i for i, line in enumerate(lines) if line.startswith("cache size"))
    cache_rows = [line.split() for line in lines[start + 1 : start + 4]]
    hit_rates = [float(row[1].rstrip("%")) for row in cache_rows]
    assert hit_rates == sorted(hit_rates)
    for row in cache_rows:
        assert_page_quotes(PAGE, *row)
    pruning = next(line for line in lines if line.lstrip().startswith("50% ->"))
    assert_page_quotes(PAGE, *[part.split(" -> ")[1] for part in pruning.split(", ")])
    assert_page_quotes(PAGE, "4.0x", lines[-1].split(": ")[1])
    per_tensor = next(line for line in lines if "int8 per-tensor" in line).split()
    max_error, half_scale = float(per_tensor[6]), float(per_tensor[9])
    assert max_error <= half_scale
    assert_page_quotes(PAGE, per_tensor[6], per_tensor[9])
    accuracy = next(line for line in lines if "float32 accuracy" in line).split()[-1]
    same = next(line for line in lines if "same prediction" in line).split()[-1]
    assert_page_quotes(PAGE, accuracy, same)
