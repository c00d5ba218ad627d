"""The miniature's world: the step model is forward_time, the workload is as stated."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from snippets.concepts.generative_ai import (
    A100_80GB,
    H100_SXM,
    L4,
    LLAMA_2_7B,
    LLAMA_3_8B,
    LLAMA_3_70B,
    forward_time,
)
from snippets.problems import llm_inference_world as world


@pytest.mark.parametrize(
    ("config", "gpu"),
    [(LLAMA_3_8B, H100_SXM), (LLAMA_2_7B, A100_80GB), (LLAMA_3_70B, L4)],
)
def test_step_model_reproduces_forward_time_for_uniform_batches(config, gpu):
    model = world.step_model(config, gpu)
    bounds = set()
    for new, ctx, batch in itertools.product((1, 7, 300), (0, 5, 2_000), (1, 3, 64)):
        want = forward_time(config, gpu, new, ctx, batch)
        got = model.seconds(
            new * batch,
            batch * (ctx + new),
            batch * new * (ctx + (new + 1) / 2),
            batch,
        )
        assert got == pytest.approx(want.seconds, rel=1e-9)
        bounds.add(want.bound)
    assert bounds == {"memory", "compute"}  # both sides of the roofline checked


def test_run_seconds_is_the_sum_of_the_larger_line():
    rng = np.random.default_rng(0)
    for _ in range(300):
        a, c = rng.uniform(0, 10, 2)
        s1, s2 = rng.uniform(0, 1, 2) * rng.choice([0, 1], 2)
        steps = int(rng.integers(0, 60))
        j = np.arange(steps)
        want = np.maximum(a + s1 * j, c + s2 * j).sum()
        assert world.run_seconds(a, s1, c, s2, steps) == pytest.approx(want, abs=1e-9)


def test_decode_lines_are_the_steps_of_a_growing_batch():
    model = world.step_model(LLAMA_3_8B, H100_SXM)
    a, s1, c, s2 = world.decode_lines(model, 5, 5 * 900)
    for j in (0, 3, 40):  # five sequences of 900 + j tokens each
        want = forward_time(LLAMA_3_8B, H100_SXM, 1, 900 + j, 5)
        assert max(a + s1 * j, c + s2 * j) == pytest.approx(want.seconds, rel=1e-9)


def test_workload_is_poisson_and_the_same_requests_at_every_rate():
    slow, fast = world.make_workload(5_000, 2.0, 7), world.make_workload(5_000, 50.0, 7)
    np.testing.assert_array_equal(slow.prompt, fast.prompt)
    np.testing.assert_allclose(slow.arrival_s * 2.0, fast.arrival_s * 50.0)
    gaps = np.diff(slow.arrival_s, prepend=0.0) * 2.0
    assert stats.kstest(gaps, "expon").pvalue > 0.01
    user = slow.prompt - slow.shared_prefix
    assert np.median(user) == pytest.approx(400, rel=0.05)
    assert np.median(slow.output) == pytest.approx(200, rel=0.05)
    assert slow.output.min() >= 1 and slow.output.max() <= slow.max_output
    equal = world.make_workload(100, 1.0, 7, constant_output=True)
    assert len(set(equal.output.tolist())) == 1
    assert (world.make_workload(10, math.inf, 1).arrival_s == 0).all()


def test_kv_capacity_is_the_memory_left_over_a_token_of_kv():
    per_token = 2 * 32 * 8 * 128 * 2  # K and V, layers, KV heads, head dim, BF16
    left = 80e9 - LLAMA_3_8B.parameters * 2 - 0.1 * 80e9
    assert world.kv_capacity_tokens(LLAMA_3_8B, H100_SXM, 1) == int(left // per_token)
    with pytest.raises(ValueError, match="does not fit"):
        world.kv_capacity_tokens(LLAMA_3_70B, H100_SXM, 1)


def test_tensor_parallel_group_adds_up_and_rejects_bad_sizes():
    group = world.tensor_parallel(H100_SXM, 4)
    assert group.bandwidth == 4 * H100_SXM.bandwidth
    assert group.peak_flops == 4 * H100_SXM.peak_flops
    assert group.memory_bytes == 4 * H100_SXM.memory_bytes
    with pytest.raises(ValueError, match="positive integer"):
        world.tensor_parallel(H100_SXM, 0)


def test_fluid_bound_fills_the_cache_when_only_weights_cost_time():
    """A device that only pays for the weight read: more batch is free, so the
    bound takes the largest batch whose mean KV fits."""
    model = world.StepModel(0.01, 0.0, 0.0, 0.0, 0.0, 0.0)
    rate, batch, step = world.fluid_capacity(
        model, 100_000, 1_500, 300, 1_000, 1, 10**6
    )
    assert batch == (100_000 - 1_000) // (500 + 150)
    assert step == pytest.approx(0.01)
    assert rate == pytest.approx(batch / (300 * 0.01))


def test_fluid_bound_respects_its_constraints():
    model = world.step_model(LLAMA_3_8B, H100_SXM)
    kv = world.kv_capacity_tokens(LLAMA_3_8B, H100_SXM, 1)
    rate, batch, step = world.fluid_capacity(model, kv, 1_550, 267, 1_000, 0.05, 2_048)
    assert step <= 0.05 and batch * (550 + 267 / 2) + 1_000 <= kv
    assert rate == pytest.approx(batch / (267 * step))
    tighter, _, _ = world.fluid_capacity(model, kv // 2, 1_550, 267, 1_000, 0.05, 2_048)
    assert tighter < rate  # less KV room, less capacity
    # A tight TPOT objective binds before the cache does.
    fast, small, step = world.fluid_capacity(model, kv, 1_550, 267, 1_000, 0.02, 2_048)
    assert step <= 0.02 and small < batch and fast < rate


def test_summary_percentiles_goodput_and_little():
    arrival = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    work = world.Workload(arrival, np.full(5, 100), np.array([1, 3, 5, 2, 9]), 0, 16)
    first = arrival + np.array([0.1, 0.2, 0.3, 0.4, 2.0])
    finish = first + np.array([0.0, 0.2, 0.4, 0.01, 8.0])
    out = world.Outcome(
        arrival + 0.05, first, finish, np.zeros(5, bool), 6.0, 12.0, 300.0, 100, 0
    )
    s = world.summarise(work, out, slo=(0.5, 0.15), warmup_s=1.0)
    ttft = np.array([0.2, 0.3, 0.4, 2.0])
    assert s.ttft_p50 == pytest.approx(np.percentile(ttft, 50))
    assert s.ttft_p99 == pytest.approx(np.percentile(ttft, 99))
    tpot = np.array([0.1, 0.1, 0.01, 1.0])
    assert s.tpot_p99 == pytest.approx(np.percentile(tpot, 99))
    assert s.good == pytest.approx(3 / 4)  # the last one is too slow on both
    span = finish.max() - 0.0
    assert s.queue == pytest.approx(5 * 0.05 / span)  # Little: total wait / time
    assert s.busy == pytest.approx(6.0 / span)
    assert world.meets(s, 2.0, 1.0) and not world.meets(s, 1.0, 1.0)
    with pytest.raises(ValueError, match="warm-up"):
        world.summarise(work, out, warmup_s=10.0)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="n must be at least 1"):
        world.make_workload(0, 1.0, 0)
    with pytest.raises(TypeError, match="n must be an integer"):
        world.make_workload(2.5, 1.0, 0)
    with pytest.raises(ValueError, match="rate must be positive"):
        world.make_workload(5, 0.0, 0)
