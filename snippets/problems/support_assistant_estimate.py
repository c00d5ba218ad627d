"""Back-of-envelope for the support assistant: tokens, dollars, agents, GPUs, logs.

Every figure is an assumption stated here or arithmetic on one; model shapes and
GPU datasheet numbers come from ``snippets.concepts.generative_ai``, token prices
and the GPU's hourly price (both assumed) from ``snippets.framework.generative_ai``.
"""

from __future__ import annotations

import math

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import wilson_interval
from snippets.concepts.experimentation import sample_size_per_arm
from snippets.concepts.generative_ai import (
    A100_80GB,
    LLAMA_3_70B,
    Accelerator,
    forward_time,
    kv_cache_bytes,
)
from snippets.framework.generative_ai import (
    LARGE,
    cost_per_task,
    max_batch,
    self_hosted_task_seconds,
)

# Assumed: a fully loaded agent costs $36 an hour; a hand-off with the bot's
# summary takes 8 minutes of an agent's time (11 cold: the agent re-asks); a bad
# resolution comes back as a repeat contact of 12 minutes (an upset customer, an
# action to undo). Agent minutes, not elapsed minutes: an agent juggling two chats
# spends about half of each one's elapsed time on it, so the pool and the dollars
# below both follow from these minutes, one chat's worth of attention at a time.
AGENT_PER_MINUTE, HANDLE_MIN, COLD_HANDLE_MIN, REPEAT_MIN = 0.60, 8.0, 11.0, 12.0
CAP = 0.02  # bad resolutions, as a share of all conversations: the guardrail
OCCUPANCY = 0.85  # assumed share of a paid agent's shift spent on chats
# An A100 80GB's hourly price: AWS's on-demand p4de.24xlarge (eight A100 80GB) was
# $27.44705 an hour in us-east-1 on 2026-01-19 (an assumption to check before
# quoting). Roofline times assume 100% of peak FLOP/s; PREFILL_MFU is an assumed
# realistic share for the prefill-heavy fleet.
A100_80GB_DOLLARS_PER_HOUR = 27.44705 / 8
PREFILL_MFU = 0.5
# Four A100s hold one replica of the 70B model (tensor parallel; communication
# ignored, so every time below is a lower bound).
FOUR_A100 = Accelerator(
    "4 x A100 80GB",
    4 * A100_80GB.memory_bytes,
    4 * A100_80GB.bandwidth,
    4 * A100_80GB.peak_flops,
)
# The latency of one turn that calls a tool, to the first token of the answer,
# server-side p99: allocations (stage p99s do not add, hence the headroom).
TURN_BUDGET_MS = 4_000.0
TURN_STAGES_MS = {
    "input checks: PII redaction, injection screen": 60,
    "state, intent, policy retrieval": 120,
    "LLM call 1: prefill, ~40-token tool call": 2_200,
    "gateway checks, order system": 250,
    "LLM call 2: prefill the result, first token": 300,
    "output checks, stream opens": 80,
}


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Tokens and dollars per conversation, GPUs, logs and reviews."""
    per_day, peak = 200_000, 3.0  # chats a day; sale days and Mondays peak at 3x
    calls, prefix, new, out = 9, 3_000, 500, 150  # 6 turns, 1.5 LLM calls each
    # Every call re-sends the conversation: the static prefix (instructions, tool
    # schemas), ~500 new tokens a call (a message, a tool result, a policy
    # passage) and each answer. Append-only, so all but the new tokens can be a
    # provider cache hit (assumed 90%: customers pause between turns).
    prompts = [prefix + k * (new + out) + new for k in range(calls)]
    no_cache = sum(cost_per_task(LARGE, p, out) for p in prompts)
    # A provider caches prompts it has seen: the previous call's prompt, not the
    # answer it generated (the first call: the static prefix, seen in other chats).
    seen = [prefix, *prompts[:-1]]
    cached = sum(
        cost_per_task(LARGE, p, out, s, 0.9) for p, s in zip(prompts, seen, strict=True)
    )
    qps = peak_qps(per_day, 1, peak)  # conversations a second at the peak
    open_chats = qps * 6 * 60  # Little's law: a chat lasts ~6 minutes (assumed)
    # Self-hosted: the static prefix stays on the GPU, but an idle chat's KV
    # cache does not fit, so each call prefills the rest of its prompt again.
    context = int(np.mean(prompts)) + out
    batch = max_batch(LLAMA_3_70B, FOUR_A100, context)
    split = [
        self_hosted_task_seconds(LLAMA_3_70B, FOUR_A100, p, out, batch, prefix, 0.9)
        for p in prompts
    ]
    prefill_s, decode_s = (sum(part) for part in zip(*split, strict=True))
    replicas = servers_needed(qps * (prefill_s + decode_s), 1.0, utilisation=0.6)
    real = servers_needed(qps * (prefill_s / PREFILL_MFU + decode_s), 1.0, 0.6)
    step = forward_time(LLAMA_3_70B, FOUR_A100, 1, context, batch).seconds
    # A tool turn: prefill the chat again and decode a ~40-token call; then
    # prefill the ~300-token result (its KV still warm) and emit a first token.
    again = forward_time(LLAMA_3_70B, FOUR_A100, context - out - prefix, prefix)
    result = forward_time(LLAMA_3_70B, FOUR_A100, 300, context)
    streams = {  # bytes per conversation, one copy (assumed sizes)
        "transcripts": 8e3,
        "prompt recipes": calls * 2e3,  # template version, passage ids, tool results
        "tool calls": 3 * 1e3,  # with the gateway's verdicts
        "hand-off packets": 2e3,
        "judge scores": 0.5e3,
        "outcomes": 0.3e3,  # the 7-day repeat contact and the survey, joined later
        "hand-off decisions": 6 * 0.3e3,  # per turn: features as served, p, verdict
    }
    # Human review: labels enough to read each intent's bad rate near the cap to
    # +-0.5 points (95%), at an assumed 3 minutes a reviewed conversation.
    reviews = math.ceil(1.959964**2 * CAP * (1 - CAP) / 0.005**2)
    low, high = wilson_interval(CAP * reviews, reviews)
    # The A/B test, randomised by customer: chats an arm to detect a +10% relative
    # change, inflated by an assumed design effect of 1.2 (customers with several
    # chats); repeat contacts at an assumed 10% base rate, bad resolutions at 2%.
    deff, repeat_base = 1.2, 0.10
    ab_repeat = math.ceil(deff * sample_size_per_arm(repeat_base, 0.10))
    ab_bad = math.ceil(deff * sample_size_per_arm(CAP, 0.10))
    # The reviewed sample limits the bad rate: the smallest relative rise that five
    # intents' reviews an arm detect, in steps of 1%.
    ab_reviewed = next(
        r / 100
        for r in range(1, 500)
        if deff * sample_size_per_arm(CAP, r / 100) <= 5 * reviews
    )
    # The policy-passage index: an assumed 5,000 passages, 1,024-dim float32.
    index_bytes = 5_000 * 1_024 * 4
    return {
        "per_day": per_day,
        "peak_qps": qps,
        "calls": calls,
        "prompt_mean": float(np.mean(prompts)),
        "prompt_last": prompts[-1],
        "tokens_in_per_s": qps * sum(prompts),
        "tokens_out_per_s": qps * calls * out,
        "bot_no_cache": no_cache,
        "bot_cached": cached,
        "handoff_usd": HANDLE_MIN * AGENT_PER_MINUTE,
        "repeat_usd": REPEAT_MIN * AGENT_PER_MINUTE,
        "summary_saves_usd": (COLD_HANDLE_MIN - HANDLE_MIN) * AGENT_PER_MINUTE,
        "open_chats": open_chats,
        "kv_per_chat_gb": kv_cache_bytes(LLAMA_3_70B, context) / 1e9,
        "kv_open_tb": open_chats * kv_cache_bytes(LLAMA_3_70B, context) / 1e12,
        "batch": batch,
        "tpot_ms": 1e3 * step,
        "prefill_s": prefill_s,
        "replica_s": prefill_s + decode_s,
        "replicas": replicas,
        "replicas_real": real,
        "gpus": 4 * replicas,
        "gpu_usd_day": 4 * replicas * 24 * A100_80GB_DOLLARS_PER_HOUR,
        "call_1_ms": 1e3 * (again.seconds + 40 * step),
        "call_2_ms": 1e3 * result.seconds,  # the prefill's logits give the token
        **{f"log:{name}": per_day * size for name, size in streams.items()},
        "log_per_day": per_day * sum(streams.values()),
        "log_2y_3x": storage_bytes(per_day * 730, sum(streams.values()), 3),
        "reviews_per_intent": reviews,
        "review_hours": 5 * reviews * 3 / 60,  # five intents
        "review_usd": 5 * reviews * 3 * AGENT_PER_MINUTE,  # at an agent's rate
        "ab_repeat": ab_repeat,
        "ab_bad": ab_bad,
        "ab_reviewed_mde": ab_reviewed,
        "index_bytes": index_bytes,
        "containment_point_usd": per_day / 100 * HANDLE_MIN * AGENT_PER_MINUTE,
        "review_half_width": (high - low) / 2,
    }
    # --8<-- [end:estimate]


def agents_at_peak(est: dict, containment: float) -> tuple[int, float]:
    """Agents on shift at the peak (Little's law: hand-offs a second x agent
    minutes a hand-off, at the assumed occupancy) and the agent dollars of a day
    (handled minutes; paid shifts cost 1 / OCCUPANCY more)."""
    if not 0 <= containment < 1:
        raise ValueError(f"containment must be in [0, 1), got {containment}")
    handoffs = est["peak_qps"] * (1 - containment)
    agents = servers_needed(handoffs * HANDLE_MIN * 60, 1.0, utilisation=OCCUPANCY)
    return agents, est["per_day"] * (1 - containment) * est["handoff_usd"]


def print_estimate(est: dict) -> None:
    logs = [f"{k[4:]} {human_bytes(v)}" for k, v in est.items() if k.startswith("log:")]
    rows = [
        (
            "chats a day; a second at the 3x peak",
            f"{est['per_day']:,}; {est['peak_qps']:.2f}",
        ),
        (
            "LLM calls a chat; prompt tokens, mean / last",
            f"{est['calls']}; {est['prompt_mean']:,.0f} / {est['prompt_last']:,}",
        ),
        (
            "tokens a second at the peak, in / out",
            f"{est['tokens_in_per_s']:,.0f} / {est['tokens_out_per_s']:,.0f}",
        ),
        (
            "bot $ a chat, billed in full / 90% cached",
            f"{est['bot_no_cache']:.4f} / {est['bot_cached']:.4f}",
        ),
        (
            "$ a hand-off (8 min) / saved by the summary",
            f"{est['handoff_usd']:.2f} / {est['summary_saves_usd']:.2f}",
        ),
        ("$ a repeat contact (12 min)", f"{est['repeat_usd']:.2f}"),
        (
            "one point of containment, agent $ a day",
            f"{est['containment_point_usd']:,.0f}",
        ),
    ]
    print("Back-of-envelope (assumptions in estimate_capacity):")
    for label, value in rows:
        print(f"  {label:<46}{value:>18}")
    print("  containment   agents at the peak   agent $ a day   bot $ a day")
    for share in (0.0, 0.3, 0.5):
        agents, dollars = agents_at_peak(est, share)
        bot = est["per_day"] * est["bot_cached"]
        print(f"  {share:11.0%} {agents:20,} {dollars:15,.0f} {bot:13,.0f}")
    rows = [
        (
            "KV GB a chat; chats open; TB if all kept",
            f"{est['kv_per_chat_gb']:.2f}; "
            f"{est['open_chats']:,.0f}; {est['kv_open_tb']:.2f}",
        ),
        (
            "batch beside the weights; ms a token",
            f"{est['batch']}; {est['tpot_ms']:.1f}",
        ),
        (
            "replica-seconds a chat; of which prefill",
            f"{est['replica_s']:.2f}; {est['prefill_s']:.2f}",
        ),
        (
            f"replicas 60% busy; A100s; $ a day at ${A100_80GB_DOLLARS_PER_HOUR:.2f}/h",
            f"{est['replicas']}; {est['gpus']}; {est['gpu_usd_day']:,.0f}",
        ),
        (
            f"same, prefill at {PREFILL_MFU:.0%} of peak (assumed)",
            f"{est['replicas_real']}; {4 * est['replicas_real']}; "
            f"{4 * est['replicas_real'] * 24 * A100_80GB_DOLLARS_PER_HOUR:,.0f}",
        ),
    ]
    print("  self-hosted Llama 3 70B, fp16, 4 x A100 80GB a replica (roofline):")
    for label, value in rows:
        print(f"    {label:<44}{value:>18}")
    print(f"  logs a day, one copy: {', '.join(logs[:2])},")
    print(f"    {', '.join(logs[2:4])},")
    print(f"    {', '.join(logs[4:])}")
    print(
        f"    all {human_bytes(est['log_per_day'])} a day;"
        f" 2 years, 3 replicas {human_bytes(est['log_2y_3x'])}"
    )
    print(
        f"  reviews an intent, 2% +-0.5 points: {est['reviews_per_intent']:,};"
        f" 5 intents at 3 min: {est['review_hours']:,.0f} h,"
        f" ${est['review_usd']:,.0f}"
    )
    print(
        "  A/B by customer (design effect 1.2, 80% power), chats an arm for +10%:"
        " repeats"
    )
    print(
        f"    (10% base) {est['ab_repeat']:,}, bad (2%) {est['ab_bad']:,};"
        f" the reviews of 5 intents detect +{est['ab_reviewed_mde']:.0%}"
    )
    print(
        "  policy-passage index, 5,000 passages x 1,024 float32:"
        f" {human_bytes(est['index_bytes'])}"
    )
    print(
        "  a turn with a tool call, to the first token"
        f" ({TURN_BUDGET_MS:,.0f} ms p99, server-side):"
    )
    for stage, ms in TURN_STAGES_MS.items():
        print(f"    {stage:<48}{ms:>7,} ms")
    headroom = remaining_budget_ms(TURN_BUDGET_MS, TURN_STAGES_MS)
    print(f"    {'headroom':<48}{headroom:>7,.0f} ms")
    print(
        f"    roofline bounds: call 1 {est['call_1_ms']:,.0f} ms,"
        f" call 2 {est['call_2_ms']:,.0f} ms"
    )
