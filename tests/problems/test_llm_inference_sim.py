"""The LLM serving simulator against a step-by-step reference and queueing theory."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np
import pytest

from snippets.concepts.generative_ai import H100_SXM, L4, LLAMA_3_8B, forward_time
from snippets.problems import llm_inference_sim as sim
from snippets.problems.llm_inference_world import (
    Workload,
    make_workload,
    meets,
    step_model,
)

MODEL = step_model(LLAMA_3_8B, H100_SXM)


def reference(work: Workload, policy: sim.Policy, model, kv_tokens: int):
    """Independent: one forward pass at a time, per-request state in dicts."""
    n = len(work.arrival_s)
    cached = work.shared_prefix if policy.prefix_cache else 0
    pinned = cached if policy.share_prefix_kv else 0
    capacity = kv_tokens - pinned
    extra = 0 if policy.paged else work.max_output
    limit = policy.max_batch or n
    req = [
        {
            "sent": 0,
            "ctx": 0,
            "held": 0,
            "did": 0,
            "first": math.nan,
            "finish": math.nan,
            "admitted": math.nan,
            "shed": False,
        }
        for _ in range(n)
    ]
    queue, prefilling, decoding = deque(), [], []
    t, nxt, finished, used = 0.0, 0, 0, 0

    def todo(i):  # prompt tokens to (re)compute
        return int(work.prompt[i]) + req[i]["sent"]

    def fits(i):
        return used + todo(i) - pinned + extra + len(decoding) <= capacity

    def admit(i):
        nonlocal used
        queue.popleft()
        req[i]["held"] = todo(i) - pinned + extra
        used += req[i]["held"]
        if math.isnan(req[i]["admitted"]):
            req[i]["admitted"] = t

    def prefilled(i):  # the pass that ends a prefill streams one token
        nonlocal used, finished
        r = req[i]
        r["ctx"] = todo(i)
        r["sent"] += 1
        if math.isnan(r["first"]):
            r["first"] = t
        if r["sent"] >= work.output[i]:
            r["finish"] = t
            used -= r["held"]
            finished += 1
        else:
            decoding.append(i)

    def decode_tokens():
        nonlocal used, finished
        for i in list(decoding):
            r = req[i]
            r["ctx"] += 1
            r["sent"] += 1
            if policy.paged:
                r["held"] += 1
                used += 1
            if r["sent"] >= work.output[i]:
                decoding.remove(i)
                r["finish"] = t
                used -= r["held"]
                finished += 1

    def preempt():
        nonlocal used
        while policy.paged and decoding and used + len(decoding) > capacity:
            i = decoding.pop()
            used -= req[i]["held"]
            queue.appendleft(i)

    while finished < n:
        while nxt < n and work.arrival_s[nxt] <= t:
            if policy.max_queue is not None and len(queue) >= policy.max_queue:
                req[nxt]["shed"] = True
                finished += 1
            else:
                queue.append(nxt)
            nxt += 1
        decode_kv = sum(req[i]["ctx"] + 1 for i in decoding)
        if policy.chunk_tokens is not None:
            preempt()
            decode_kv = sum(req[i]["ctx"] + 1 for i in decoding)
            left, pieces = policy.chunk_tokens, []
            for i in prefilling:
                if left == 0:
                    break
                take = min(todo(i) - cached - req[i]["did"], left)
                pieces.append((i, take, cached + req[i]["did"]))
                left -= take
            while left and queue and len(prefilling) + len(decoding) < limit:
                i = queue[0]
                if not fits(i):
                    break
                admit(i)
                req[i]["did"] = 0
                prefilling.append(i)
                take = min(todo(i) - cached, left)
                pieces.append((i, take, cached))
                left -= take
            if pieces:
                b = len(decoding)
                new = b + sum(m for _, m, _ in pieces)
                kv = decode_kv + sum(c + m for _, m, c in pieces)
                pairs = decode_kv + sum(m * (c + (m + 1) / 2) for _, m, c in pieces)
                t += model.seconds(new, kv, pairs, b + len(pieces))
                decode_tokens()
                for i, m, _ in pieces:
                    req[i]["did"] += m
                    if req[i]["did"] + cached >= todo(i):
                        prefilling.remove(i)
                        prefilled(i)
                continue
        else:
            pieces, tokens = [], 0
            while queue and len(decoding) + len(pieces) < limit:
                i = queue[0]
                new = todo(i) - cached
                if not fits(i) or (pieces and tokens + new > policy.prefill_budget):
                    break
                admit(i)
                tokens += new
                pieces.append(i)
            if pieces:
                news = [todo(i) - cached for i in pieces]
                t += model.seconds(
                    sum(news),
                    sum(cached + m for m in news),
                    sum(m * (cached + (m + 1) / 2) for m in news),
                    len(pieces),
                )
                for i in pieces:
                    prefilled(i)
                continue
            preempt()
            decode_kv = sum(req[i]["ctx"] + 1 for i in decoding)
        if decoding:
            b = len(decoding)
            t += model.seconds(b, decode_kv, decode_kv, b)
            decode_tokens()
        elif nxt < n:
            t = max(t, work.arrival_s[nxt])
    return {k: np.array([r[k] for r in req]) for k in ("first", "finish", "shed")}


def small_work(seed: int, n: int = 60, rate: float = 40.0) -> Workload:
    return make_workload(n, rate, seed)


POLICIES = [
    sim.Policy("prefill-first"),
    sim.Policy("chunked", chunk_tokens=512),
    sim.Policy("chunked, prefix", chunk_tokens=700, prefix_cache=True),
    sim.Policy(
        "prefix, copied", chunk_tokens=700, prefix_cache=True, share_prefix_kv=False
    ),
    sim.Policy("reserved", paged=False),
    sim.Policy("batch of 3", max_batch=3, chunk_tokens=2048),
    sim.Policy("small budget", prefill_budget=1_500),
    sim.Policy("shedding", max_queue=2),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
@pytest.mark.parametrize("kv_tokens", [400_000, 12_000])  # roomy, then preempting
def test_continuous_engine_matches_the_step_by_step_reference(policy, kv_tokens):
    work = small_work(seed=3)
    got = sim.simulate(work, policy, MODEL, kv_tokens)
    ref = reference(work, policy, MODEL, kv_tokens)
    np.testing.assert_array_equal(got.shed, ref["shed"])
    np.testing.assert_allclose(got.first_token_s, ref["first"], rtol=1e-9)
    np.testing.assert_allclose(got.finish_s, ref["finish"], rtol=1e-9)


def test_a_small_cache_preempts_and_every_request_still_finishes():
    work = small_work(seed=5, n=80, rate=100.0)
    out = sim.simulate(work, sim.Policy("paged"), MODEL, 9_000)
    assert out.preemptions > 0
    assert np.isfinite(out.finish_s).all()
    assert (out.first_token_s >= out.admitted_s).all()
    assert (out.admitted_s >= work.arrival_s).all()
    assert (out.finish_s >= out.first_token_s).all()
    # A reserving server never preempts: it admits only what its worst case fits.
    reserved = sim.simulate(work, sim.Policy("reserved", paged=False), MODEL, 9_000)
    assert reserved.preemptions == 0


def test_static_batches_run_to_the_longest_answer():
    """Reference: the batch is everyone waiting when the GPU frees; step by step."""
    work = make_workload(40, 20.0, seed=2)
    out = sim.simulate(
        work, sim.Policy("static", continuous=False, paged=False), MODEL, 400_000
    )
    t, i, n = 0.0, 0, 40
    while i < n:
        t = max(t, work.arrival_s[i])
        batch = [j for j in range(i, n) if work.arrival_s[j] <= t]
        i = batch[-1] + 1
        p = work.prompt[batch]
        t += MODEL.seconds(p.sum(), p.sum(), (p * (p + 1) / 2).sum(), len(batch))
        np.testing.assert_allclose(out.first_token_s[batch], t, rtol=1e-12)
        ctx = int(p.sum())
        finish = {}
        for step in range(1, int(work.output[batch].max())):
            t += MODEL.seconds(
                len(batch), ctx + len(batch), ctx + len(batch), len(batch)
            )
            ctx += len(batch)
            for j in batch:
                if work.output[j] == step + 1:
                    finish[j] = t
        for j in batch:
            want = finish.get(j, out.first_token_s[j])
            assert out.finish_s[j] == pytest.approx(want, rel=1e-9)


def test_batch_of_one_waits_as_an_m_g_1_queue():
    """Pollaczek-Khinchine: mean wait = lambda E[S^2] / (2 (1 - rho))."""
    rate, n = 0.4, 20_000
    work = make_workload(n, rate, seed=11)
    out = sim.simulate(work, sim.Policy("one", max_batch=1), MODEL, 400_000)
    # Each request's service time from forward_time directly: its prefill, then
    # one pass per further token over a growing context. At batch 1 every pass is
    # memory-bound, so its time is affine in the context: the trapezoid is exact.
    service = np.empty(n)
    for i, (p, o) in enumerate(zip(work.prompt, work.output, strict=True)):
        p, o = int(p), int(o)
        prefill = forward_time(LLAMA_3_8B, H100_SXM, p, 0).seconds
        first = forward_time(LLAMA_3_8B, H100_SXM, 1, p)
        last = forward_time(LLAMA_3_8B, H100_SXM, 1, p + max(o - 2, 0))
        assert first.bound == last.bound == "memory"
        service[i] = prefill + (o - 1) * (first.seconds + last.seconds) / 2
    rho = rate * service.mean()
    assert 0.3 < rho < 0.7
    theory = rate * (service**2).mean() / (2 * (1 - rho))
    waited = (out.admitted_s - work.arrival_s).mean()
    assert waited == pytest.approx(theory, rel=0.06)


def test_max_load_returns_a_rate_that_meets_the_objectives():
    policy = sim.Policy("chunked, prefix", chunk_tokens=2048, prefix_cache=True)
    slo = (0.72, 0.05)
    kv = 426_784
    found = sim.max_load(policy, 0, MODEL, kv, slo, (20.0, 80.0), steps=3)
    assert 20.0 < found < 80.0
    assert meets(sim.run(policy, found, 0, MODEL, kv), *slo)
    step = (80.0 / 20.0) ** (1 / 2**3)  # the search's resolution
    assert not meets(sim.run(policy, found * step * 1.001, 0, MODEL, kv), *slo)


def test_a_longer_window_lowers_the_max_load_by_less_than_a_tenth():
    """The 60 s window flatters loads near saturation, a little."""
    policy = sim.Policy("chunked, prefix", chunk_tokens=2048, prefix_cache=True)
    slo, kv = (0.72, 0.05), 426_784
    short = sim.max_load(policy, 1, MODEL, kv, slo, (40.0, 62.0), steps=4)
    longer = replace_window(policy, 1, kv, slo, 240.0)
    assert 0.9 * short <= longer <= short * 1.03


def replace_window(policy, seed, kv, slo, window):
    low, high = 40.0, 62.0
    for _ in range(4):
        mid = math.sqrt(low * high)
        ok = meets(sim.run(policy, mid, seed, MODEL, kv, window_s=window), *slo)
        low, high = (mid, high) if ok else (low, mid)
    return low


def test_drain_is_output_over_makespan_and_batching_helps_only_memory_bound():
    many = sim.drain(sim.Policy("c"), 0, MODEL, 426_784, n=100)
    one = sim.drain(sim.Policy("1", max_batch=1), 0, MODEL, 426_784, n=100)
    assert many > 10 * one
    # On the L4 the same model is memory-bound too; the gain is there as well.
    l4 = step_model(LLAMA_3_8B, L4)
    assert sim.drain(sim.Policy("c"), 0, l4, 40_000, n=60) > 5 * sim.drain(
        sim.Policy("1", max_batch=1), 0, l4, 40_000, n=60
    )


def test_shedding_caps_the_queue():
    work = make_workload(300, 200.0, seed=4)
    out = sim.simulate(work, sim.Policy("cap", max_queue=5), MODEL, 400_000)
    assert out.shed.any()
    assert np.isnan(out.first_token_s[out.shed]).all()
    assert np.isfinite(out.first_token_s[~out.shed]).all()


def test_bad_input_raises_clear_errors():
    work = small_work(1)
    with pytest.raises(ValueError, match="chunked prefill and prefix caching"):
        sim.Policy("x", continuous=False, paged=False, prefix_cache=True)
    with pytest.raises(ValueError, match="paged=False"):
        sim.Policy("x", continuous=False)
    with pytest.raises(ValueError, match="chunk_tokens must be at least 1"):
        sim.Policy("x", chunk_tokens=0)
    with pytest.raises(TypeError, match="max_batch must be an integer"):
        sim.Policy("x", max_batch=2.5)
    with pytest.raises(TypeError, match="policy must be a Policy"):
        sim.simulate(work, "continuous", MODEL, 100_000)
    with pytest.raises(ValueError, match="KV tokens"):
        sim.simulate(work, sim.Policy("x"), MODEL, 1_000)
    with pytest.raises(ValueError, match="need 0 < low < high"):
        sim.max_load(sim.Policy("x"), 0, MODEL, 100_000, (1, 1), (5.0, 2.0))
    assert replace(sim.Policy("x"), max_queue=0).max_queue == 0
