"""The support assistant's back-of-envelope, recomputed by hand."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm
from statsmodels.stats.proportion import samplesize_confint_proportion

from snippets.concepts.generative_ai import LLAMA_3_70B
from snippets.problems import support_assistant_estimate as e

EST = e.estimate_capacity()
CALLS, PREFIX, NEW, OUT = 9, 3_000, 500, 150
PROMPTS = [PREFIX + k * (NEW + OUT) + NEW for k in range(CALLS)]


def test_traffic_and_tokens():
    assert EST["peak_qps"] == pytest.approx(200_000 * 3 / 86_400)
    assert EST["prompt_mean"] == 6_100 and EST["prompt_last"] == 8_700
    assert EST["tokens_in_per_s"] == pytest.approx(EST["peak_qps"] * sum(PROMPTS))
    assert EST["tokens_out_per_s"] == pytest.approx(EST["peak_qps"] * CALLS * OUT)


def test_bot_cost_per_chat_by_hand():
    """$3.00 in, $0.30 cached in, $15.00 out per million tokens (assumed prices)."""
    full = sum(p * 3.00 + OUT * 15.00 for p in PROMPTS) / 1e6
    # The provider has seen the previous call's prompt (the first call: the static
    # prefix), not the answer generated after it.
    seen = [PREFIX] + [p - NEW - OUT for p in PROMPTS[1:]]
    cached = (
        sum(
            (0.9 * s * 0.30 + (p - 0.9 * s) * 3.00 + OUT * 15.00)
            for p, s in zip(PROMPTS, seen, strict=True)
        )
        / 1e6
    )
    assert EST["bot_no_cache"] == pytest.approx(full)
    assert EST["bot_cached"] == pytest.approx(cached)
    assert EST["bot_cached"] < EST["bot_no_cache"] / 2


def test_agents_by_littles_law():
    for containment in (0.0, 0.3, 0.5):
        agents, dollars = e.agents_at_peak(EST, containment)
        busy = EST["peak_qps"] * (1 - containment) * 8 * 60  # chats in progress
        assert agents == math.ceil(busy / 0.85)  # one chat's attention at a time
        assert dollars == pytest.approx(200_000 * (1 - containment) * 8 * 0.60)
    assert EST["containment_point_usd"] == pytest.approx(2_000 * 8 * 0.60)
    with pytest.raises(ValueError, match="containment"):
        e.agents_at_peak(EST, 1.0)


def test_kv_cache_and_batch_from_the_model_card_shape():
    # Llama 3 70B: 80 layers, 8 KV heads of 128 dims; K and V; 2 bytes each.
    per_token = 2 * 80 * 8 * 128 * 2
    context = 6_100 + OUT
    assert EST["kv_per_chat_gb"] == pytest.approx(per_token * context / 1e9)
    assert EST["kv_open_tb"] == pytest.approx(2_500 * per_token * context / 1e12)
    assert LLAMA_3_70B.parameters == pytest.approx(70.55e9, rel=1e-3)
    room = 4 * 80e9 - 2 * LLAMA_3_70B.parameters
    assert EST["batch"] == int(room // (per_token * context))
    # A decode step reads the weights and the batch's caches: memory-bound.
    bandwidth = 4 * 2.039e12
    bound = (
        2 * LLAMA_3_70B.parameters + EST["batch"] * per_token * context
    ) / bandwidth
    assert EST["tpot_ms"] == pytest.approx(1e3 * bound, rel=0.02)
    assert EST["call_1_ms"] > 40 * EST["tpot_ms"]
    # Call 2 prefills ~300 tokens; its logits give the first token: compute-bound,
    # at least 2 FLOPs a parameter a token at the four GPUs' dense peak.
    floor = 1e3 * 2 * LLAMA_3_70B.parameters * 300 / (4 * 312e12)
    assert floor <= EST["call_2_ms"] < 1.2 * floor
    assert EST["prefill_s"] / EST["replica_s"] > 0.5  # re-prefilling dominates


def test_fleet_and_dollars():
    replicas = math.ceil(EST["peak_qps"] * EST["replica_s"] / 0.6)
    assert EST["replicas"] == replicas and EST["gpus"] == 4 * replicas
    # p4de.24xlarge: eight A100 80GB at $27.44705 an hour (us-east-1, 2026-01-19).
    assert EST["gpu_usd_day"] == pytest.approx(4 * replicas * 24 * 27.44705 / 8)
    decode = EST["replica_s"] - EST["prefill_s"]
    real = math.ceil(EST["peak_qps"] * (EST["prefill_s"] / 0.5 + decode) / 0.6)
    assert EST["replicas_real"] == real > replicas
    # Either fleet costs about 2 to 3% of a hand-off a chat (the page's words).
    for n, share in ((replicas, 2), (real, 3)):
        per_chat = 4 * n * 24 * 27.44705 / 8 / 200_000
        assert round(100 * per_chat / EST["handoff_usd"]) == share


def test_logs_reviews_and_latency():
    per_chat = 8e3 + CALLS * 2e3 + 3e3 + 2e3 + 0.5e3 + 0.3e3 + 6 * 0.3e3
    assert EST["log_per_day"] == pytest.approx(200_000 * per_chat)
    assert EST["log_2y_3x"] == pytest.approx(200_000 * 730 * per_chat * 3)
    logs = [k for k in EST if k.startswith("log:")]
    assert len(logs) == 7
    n = samplesize_confint_proportion(0.02, 0.005, alpha=0.05)
    assert EST["reviews_per_intent"] == math.ceil(n)
    assert EST["review_half_width"] == pytest.approx(0.005, abs=2e-4)
    assert EST["review_hours"] == pytest.approx(5 * EST["reviews_per_intent"] * 3 / 60)
    assert EST["review_usd"] == pytest.approx(EST["review_hours"] * 36)
    assert EST["index_bytes"] == 5_000 * 1_024 * 4
    spent = sum(e.TURN_STAGES_MS.values())
    assert e.TURN_BUDGET_MS - spent == 990
    assert (
        e.TURN_STAGES_MS["LLM call 1: prefill, ~40-token tool call"] > EST["call_1_ms"]
    )


def _per_arm(base: float, rise: float) -> float:
    """Two-proportion z-test, equal arms, pooled variance: written out here."""
    p1, p2 = base, base * (1 + rise)
    p_bar = (p1 + p2) / 2
    z = norm.ppf(0.975) + norm.ppf(0.8)
    return 2 * p_bar * (1 - p_bar) * z**2 / (p2 - p1) ** 2


def test_ab_sample_sizes_and_what_the_reviews_detect():
    assert EST["ab_repeat"] == math.ceil(1.2 * math.ceil(_per_arm(0.10, 0.10)))
    assert EST["ab_bad"] == math.ceil(1.2 * math.ceil(_per_arm(0.02, 0.10)))
    budget, mde = 5 * EST["reviews_per_intent"], EST["ab_reviewed_mde"]
    assert 1.2 * _per_arm(0.02, mde) <= budget < 1.2 * _per_arm(0.02, mde - 0.01)
