"""Serving numbers: budgets, tails, fleet, index memory, canary power, batch cost."""

from __future__ import annotations

import math
import re

import faiss
import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower

from snippets.concepts.ann_index import bytes_per_vector
from snippets.framework import deployment_and_serving as ds

PAGE = "framework/deployment-and-serving.md"


def test_a_stage_without_stalls_has_the_lognormal_p99():
    stage = ds.ServingStage("ranker", budget_ms=30, median_ms=10)
    ms = ds.simulate_stage_ms(stage, 400_000, np.random.default_rng(0), 0.0)
    expected = 10 * math.exp(0.3 * norm.ppf(0.99))  # lognormal quantile
    assert np.quantile(ms, 0.99) == pytest.approx(expected, rel=0.02)


def test_a_fan_out_stage_is_set_by_each_shards_higher_quantile():
    stage = ds.ServingStage("index", budget_ms=30, median_ms=5, calls=20)
    ms = ds.simulate_stage_ms(stage, 200_000, np.random.default_rng(1), 0.0)
    # P(max of 20 <= x) = F(x)^20: the stage p99 is each shard's p99.95.
    shard_q = 0.99 ** (1 / 20)
    expected = 5 * math.exp(0.3 * norm.ppf(shard_q))
    assert np.quantile(ms, 0.99) == pytest.approx(expected, rel=0.02)
    assert np.quantile(ms, 0.99) > 5 * math.exp(0.3 * norm.ppf(0.99)) * 1.1


def test_stalls_slow_the_given_share_by_the_factor():
    stage = ds.ServingStage("s", budget_ms=10, median_ms=1)
    rng = np.random.default_rng(2)
    calm = ds.simulate_stage_ms(stage, 100_000, np.random.default_rng(2), 0.0)
    stalled = ds.simulate_stage_ms(stage, 100_000, rng, 0.05, stall_factor=8.0)
    ratio = stalled / calm  # same draws for the calls, then the stall coin
    assert set(np.round(np.unique(ratio), 6)) == {1.0, 8.0}
    assert np.mean(ratio == 8.0) == pytest.approx(0.05, abs=0.003)


def test_p99s_do_not_add_in_either_direction():
    for seed in (3, 4, 5):
        calm = ds.trace_requests(ds.STAGES, 100_000, seed, stall_share=0.0)
        stalled = ds.trace_requests(
            ds.STAGES, 100_000, seed, ds.STALL_SHARE, ds.STALL_FACTOR
        )
        for traced in (calm, stalled):
            stage_p99 = np.quantile(traced, 0.99, axis=0)
            budgets = [s.budget_ms for s in ds.STAGES]
            assert (stage_p99 <= budgets).all()  # every stage meets its budget
        assert (
            np.quantile(calm.sum(axis=1), 0.99) < np.quantile(calm, 0.99, axis=0).sum()
        )
        sum_p99 = np.quantile(stalled, 0.99, axis=0).sum()
        assert np.quantile(stalled.sum(axis=1), 0.99) > sum_p99 + 10


def test_timeouts_cap_each_stage_and_count_degraded_requests():
    traced = np.array([[1.0, 2.0], [5.0, 1.0], [1.0, 9.0], [6.0, 9.0]])
    total, degraded = ds.with_timeouts(traced, [4.0, 3.0])
    np.testing.assert_allclose(total, [3.0, 5.0, 4.0, 7.0])
    assert degraded == 0.75
    with pytest.raises(ValueError, match="one column per timeout"):
        ds.with_timeouts(traced, [4.0])


@pytest.mark.parametrize(
    ("rate", "n_t", "n_c"),
    [(0.001, 416_667, 41_250_000), (0.02, 1e6, 99e6), (0.1, 5e3, 5e3)],
)
def test_detectable_change_matches_statsmodels(rate, n_t, n_c):
    sd = math.sqrt(rate * (1 - rate))
    effect = NormalIndPower().solve_power(
        effect_size=None, nobs1=n_t, alpha=0.05, power=0.8, ratio=n_c / n_t
    )
    assert ds.detectable_change(rate, n_t, n_c) == pytest.approx(
        effect * sd / rate, rel=1e-3
    )


def test_a_small_canary_sees_coarser_changes_than_an_even_split():
    n = 1e8
    canary = ds.detectable_change(0.02, 0.01 * n, 0.99 * n)
    even = ds.detectable_change(0.02, 0.5 * n, 0.5 * n)
    # sqrt((1/0.01 + 1/0.99) / (1/0.5 + 1/0.5)): about 5x coarser.
    assert canary / even == pytest.approx(math.sqrt((100 + 1 / 0.99) / 4))


def test_shadow_cost_scales_with_the_share():
    assert ds.shadow_cost(1.0, 72, 2e7) == (72, 2e7)
    assert ds.shadow_cost(0.1, 72, 2e7) == (8, pytest.approx(2e6))
    with pytest.raises(ValueError, match="share"):
        ds.shadow_cost(0.0, 72, 2e7)


@pytest.mark.parametrize(("dim", "m"), [(32, 16), (256, 32)])  # 256, 32: the page's
def test_hnsw_memory_formula_matches_faiss(dim, m):
    vectors = np.random.default_rng(0).standard_normal((5_000, dim)).astype("float32")
    index = faiss.IndexHNSWFlat(dim, m)
    index.add(vectors)
    measured = bytes_per_vector(index)  # serialised size / vectors
    # FAISS keeps no external ids here; the formula's upper-layer slack is small.
    formula = ds.hnsw_bytes_per_item(dim, m, id_bytes=0)
    assert formula <= measured <= 1.2 * formula


def test_ivf_pq_memory_is_code_id_and_optional_copy():
    assert ds.ivf_pq_bytes_per_item(64) == 72
    assert ds.ivf_pq_bytes_per_item(64, rescore_dim=256) == 72 + 1024


def test_batch_and_online_cost_the_same_at_the_break_even_share():
    args = dict(
        accounts=1e8,
        requests_per_active=10,
        flop_per_scoring=1e10,
        accelerator_flops=1e13,
        peak_ratio=2.0,
        utilisation=0.6,
    )
    probe = ds.batch_vs_online(active_share=0.5, **args)
    even = ds.batch_vs_online(active_share=probe.break_even_active_share, **args)
    assert even.online_provisioned_hours == pytest.approx(even.batch_hours)
    below = ds.batch_vs_online(active_share=0.02, **args)
    assert below.online_provisioned_hours < below.batch_hours
    # 1e8 accounts x 1e10 FLOP at 1e13 FLOP/s: 1e5 s of one accelerator.
    assert probe.batch_hours == pytest.approx(1e5 / 3600)


def test_bad_input_raises_a_clear_error():
    with pytest.raises(ValueError, match="median_ms < budget_ms"):
        ds.ServingStage("x", budget_ms=5, median_ms=6)
    with pytest.raises(TypeError, match="calls must be an int"):
        ds.ServingStage("x", budget_ms=5, median_ms=1, calls=2.0)
    with pytest.raises(ValueError, match="at least 1"):
        ds.ServingStage("x", budget_ms=5, median_ms=1, calls=0)
    with pytest.raises(ValueError, match="stages is empty"):
        ds.trace_requests([], 10, 0, 0.0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="stall_share"):
        ds.simulate_stage_ms(ds.STAGES[0], 10, rng, stall_share=1.0)
    with pytest.raises(ValueError, match="baseline_rate"):
        ds.detectable_change(0.0, 100, 100)
    with pytest.raises(ValueError, match="at least 1"):
        ds.detectable_change(0.1, 0, 100)
    with pytest.raises(TypeError, match="must be a number"):
        ds.detectable_change("0.1", 100, 100)
    with pytest.raises(ValueError, match="dim and m"):
        ds.hnsw_bytes_per_item(0, 16)
    with pytest.raises(ValueError, match="code_bytes"):
        ds.ivf_pq_bytes_per_item(0)
    with pytest.raises(ValueError, match="utilisation"):
        ds.batch_vs_online(1e6, 0.3, 10, 1e9, 1e13, 2.0, utilisation=1.5)
    with pytest.raises(ValueError, match="active_share"):
        ds.batch_vs_online(1e6, 1.3, 10, 1e9, 1e13, 2.0, 0.6)


def _number(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match[1]


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.deployment_and_serving")
    calm_sum, calm = re.search(r"\nnone +([\d.]+) ms +([\d.]+) ms", out).groups()
    stalled_sum, stalled = re.search(
        r"of requests +([\d.]+) ms +([\d.]+) ms", out
    ).groups()
    assert float(calm) < float(calm_sum) and float(stalled) > float(stalled_sum)
    # The page's "understated it by N ms" is the gap between two printed numbers.
    gap = f"{float(stalled) - float(stalled_sum):.0f} ms"
    quoted = [f"{x} ms" for x in (calm_sum, calm, stalled_sum, stalled)] + [gap]
    quoted += [
        _number(r"\), ([\d.]+%) of requests", out),
        _number(r"stage budgets may use (\d+%)", out),
        _number(r"sum of budgets (\d+ ms)", out),
        _number(r"unallocated (\d+ ms)", out),
        _number(r"timeouts at budget x ([\d.]+)", out),
        _number(r"\(sum (\d+ ms)\)", out),
        _number(r"\): p99 ([\d.]+ ms)", out),
        _number(r"ms, ([\d.]+%) of requests get a fallback", out),
        _number(r"retrieval, 20 shards .* its (p[\d.]+)", out),
        _number(r"feature fetch, 16 shards .* its (p[\d.]+)", out),
        _number(r"Capacity at ([\d,]+) peak QPS", out),
        _number(r"light ranker: ([\d,]+) inferences", out),
        _number(r"heavy ranker: ([\d,]+) inferences", out),
        _number(r"accelerators: (\d+) flat out", out),
        _number(r"flat out, (\d+) at", out),
        _number(r"load, (\d+) across", out),
        _number(r"(\$[\d,]+) a day", out),
        _number(r"(\$[\d.]+) per 1,000 requests", out),
        _number(r"([\d.]+M) row reads/s,", out),
        _number(r"reads/s, ([\d.]+ GB/s)", out),
        _number(r"item rows, (\d+%) of the bytes", out),
        _number(r"100% of traffic: \+(\d+) accelerators", out),
        _number(r"\+([\d.]+M) feature row reads/s\n  10%", out),
        _number(r"10% of traffic: \+(\d+) accelerators", out),
        _number(r"10% of traffic: .*\+([\d.]+M) feature", out),
        _number(r"batch: ([\d.]+) accelerator-hours", out),
        _number(r"online: ([\d.]+) accelerator-hours", out),
        _number(r"a day, ([\d.]+) provisioned", out),
        _number(r"while over (\d+%) are active", out),
        _number(r"stores ([\d.]+ GB) of top-100", out),
    ]
    errors = re.search(
        r"errors, requests, 1 hour +([\d.]+%) +\+([\d.]+%) +\+([\d.]+%)", out
    )
    conversion = re.search(
        r"conversion, users, 1 day +([\d.]+%) +\+([\d.]+%) +\+([\d.]+%)", out
    )
    quoted += [errors[1], errors[2], conversion[2], conversion[3]]
    for name in ("HNSW, float32", "IVF-PQ, 64 B codes", "IVF-PQ \\+ float32 copy"):
        size = r"([\d.]+ [GT]B)"
        row = re.search(rf"{name}.*?([\d,]+) +{size} +(\d+) +{size} +{size}", out)
        assert row, name
        per_item, copy, _, _, doubled = row.groups()
        quoted += [copy]
        if name.startswith("HNSW"):
            quoted += [per_item, doubled]
        if name.startswith("IVF-PQ, 64"):
            quoted += [doubled]
    hnsw_shards = re.search(r"HNSW, float32, M=32 +[\d,]+ +[\d.]+ TB +(\d+)", out)[1]
    quoted += [f"{hnsw_shards} hosts"]
    assert_page_quotes(PAGE, *quoted)
