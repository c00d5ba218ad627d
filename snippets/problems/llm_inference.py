"""LLM inference service in miniature: batching, caches and capacity on one GPU.

Llama 3 8B in BF16 on one H100 SXM serves a chat product's requests: Poisson
arrivals, a 1,000-token system prompt shared by every request, lognormal user
prompts and answers. Every forward pass costs its roofline time; the KV cache left
beside the weights bounds the batch. Static batching, continuous batching
(prefill-first), chunked prefill and prefix caching are compared on the same
requests, five seeds: TTFT and TPOT percentiles as load rises, and the largest load
whose p99s meet the objectives. Ablations test each claimed cause: a compute-bound
device (is batching's gain the memory-bound decode?), answers of equal length (is
static batching's loss the padding?), KV reserved for the maximum length or the
prefix copied per request (is prefix caching's gain the shared memory?). Then the
fleet, in GPUs and dollars per million tokens, for a stated traffic.

Run it: ``python -m snippets.problems.llm_inference``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.generative_ai import (
    H100_SXM,
    LLAMA_3_8B,
    LLAMA_3_70B,
    Accelerator,
    ModelConfig,
    expected_tokens_per_pass,
    forward_time,
    kv_cache_bytes,
)
from snippets.framework.cost import H100_DOLLARS_PER_HOUR
from snippets.problems.llm_inference_sim import Policy, drain, max_load, run
from snippets.problems.llm_inference_world import (
    StepModel,
    fluid_capacity,
    fluid_step,
    kv_capacity_tokens,
    make_workload,
    step_model,
    tensor_parallel,
)

SEEDS = range(5)
CHUNK = 2_048  # prefill tokens a step: one chunk keeps a step under the TPOT target
POLICIES = {
    "static": Policy("static batching", continuous=False, paged=False),
    "continuous": Policy("continuous, prefill-first"),
    "chunked": Policy("+ chunked prefill", chunk_tokens=CHUNK),
    "prefix": Policy("+ prefix caching", chunk_tokens=CHUNK, prefix_cache=True),
}
ABLATIONS = {
    "reserved": replace(
        POLICIES["prefix"], name="  KV reserved for 1,024", paged=False
    ),
    "copied": replace(
        POLICIES["prefix"], name="  prefix KV copied per request", share_prefix_kv=False
    ),
}
BRACKETS = {  # requests/s: the low end meets the SLO for every seed, the high end not
    "continuous": (17, 28),
    "chunked": (24, 38),
    "prefix": (40, 62),
    "reserved": (32, 50),
    "copied": (30, 48),
}
SEARCH_STEPS = 4  # bisections on a log scale: about 3% of the rate
LOADS = (5.0, 20.0, 40.0)  # requests/s for the sweep
DOLLARS_PER_GPU_HOUR = H100_DOLLARS_PER_HOUR  # p5.48xlarge (8 H100) / 8
GPUS_A_NODE = 8  # GPUs are rented a p5.48xlarge at a time
DOLLARS_PER_VCPU_HOUR = 0.05  # assumed: general-purpose CPU instances on demand
# Not in the shared constants: Llama 3.2 1B's config.json (tied embeddings, so the
# parameter count below counts the head twice; the shape is what the roofline needs).
# The shape of the speculative draft, of the safety guard and of the router here.
LLAMA_3_2_1B = ModelConfig("Llama 3.2 1B", 16, 2048, 32, 8, 8192, 128256)


# --8<-- [start:estimate]
def estimate_capacity() -> dict:
    """Traffic, memory, the latency budget and a steady-state bound per deployment."""
    requests_a_day, peak_factor = 20e6, 3.0  # assumed: internal products, office hours
    peak = peak_qps(2e6, 10, peak_to_average=peak_factor)  # 2M users x 10 requests
    sample = make_workload(100_000, 1.0, seed=99)  # the stated length distributions
    prompt, output = float(sample.prompt.mean()), float(sample.output.mean())
    small_share = 0.8  # assumed: the router sends 80% of requests to the 8B model
    ttft_ms, tpot_s = 1_000.0, 0.050  # user-facing p99 objectives, assumed
    stages = {"gateway, auth, rate limit": 20, "input safety check": 50, "router": 10}
    engine_ttft_ms = remaining_budget_ms(ttft_ms, stages, headroom=0.2)
    # The stages in front, sized too. Assumed: a 1B-shaped guard (Llama Guard 3 1B)
    # reads the user's text and, sentence by sentence with its cache kept, the answer;
    # a 1B-shaped router reads the user's text; roofline H100 time, as the engines.
    user = round(prompt - 1_000)
    front_gpu_s = 2 * forward_time(LLAMA_3_2_1B, H100_SXM, user, 0).seconds
    front_gpu_s += forward_time(LLAMA_3_2_1B, H100_SXM, round(output), user).seconds
    gateway_cpu_s = 0.005  # assumed: TLS, auth, tokenising, ~270 streamed events
    deployments = {"Llama 3 8B, 1 GPU": (LLAMA_3_8B, 1)}
    deployments |= {f"Llama 3 70B, TP {g}": (LLAMA_3_70B, g) for g in (2, 4, 8)}
    bounds = {}
    for name, (config, gpus) in deployments.items():
        model = step_model(config, tensor_parallel(H100_SXM, gpus))
        kv = kv_capacity_tokens(config, H100_SXM, gpus)
        rate, batch, step = fluid_capacity(
            model, kv, prompt, output, 1_000, tpot_s, CHUNK
        )
        memory, compute, prefill = fluid_step(model, batch, prompt, output, 1_000)
        bounds[name] = {
            "read_gb": memory * gpus * H100_SXM.bandwidth / 1e9,  # bytes a step
            "memory_s": memory,  # the step's time to read them, and to compute
            "compute_s": compute,
            "gpus": gpus,
            "kv": kv,
            "rate": rate,
            "batch": batch,
            "step": step,
            "prefill": prefill,  # prompt tokens a step, beside `batch` decodes
            "bound": "memory" if memory >= compute else "compute",
        }
    # Logs: request metadata (~500 B); the user's text and the answer at ~4 bytes a
    # token (the system prompt is logged once, by hash), kept 30 days, 3 replicas.
    text_bytes = 4 * (prompt - 1_000 + output)
    return {
        "requests_a_day": requests_a_day,
        "peak_factor": peak_factor,
        "peak_rps": peak,
        "prompt": prompt,
        "output": output,
        "peak_prompt_tokens_s": peak * prompt,
        "peak_output_tokens_s": peak * output,
        "small_share": small_share,
        "ttft_ms": ttft_ms,
        "tpot_s": tpot_s,
        "stages": stages,
        "engine_ttft_s": engine_ttft_ms / 1e3,
        "front_gpu_s": front_gpu_s,  # H100 seconds a request: guard x 2, router
        "gateway_cpu_s": gateway_cpu_s,
        "bounds": bounds,
        "metadata_log": human_bytes(storage_bytes(requests_a_day, 500)),
        "text_log_30d": human_bytes(
            storage_bytes(requests_a_day * 30, text_bytes, replicas=3)
        ),
        "text_per_request": text_bytes,
    }
    # --8<-- [end:estimate]


def lora_bytes(config: ModelConfig, rank: int) -> float:
    """BF16 bytes of a LoRA adapter on every projection of every layer."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    kv_width = config.kv_heads * config.head_dim
    shapes = [(config.hidden, config.hidden)] * 2  # q, o
    shapes += [(config.hidden, kv_width)] * 2  # k, v
    shapes += [(config.hidden, config.intermediate)] * 3  # gate, up, down
    return 2 * config.layers * rank * sum(a + b for a, b in shapes)


def speculative_gain(batch: int, context: int, acceptance: float = 0.7) -> float:
    """Speed-up of 4 draft tokens per target pass at this batch (draft step = 5%).

    Tokens a pass yields over its cost in plain decode steps: checking 5 positions
    costs what the roofline says, not one step, once the batch is compute-bound.
    """
    drafts, draft_cost = 4, 0.05  # assumed, as on the concept page
    one = forward_time(LLAMA_3_8B, H100_SXM, 1, context, batch).seconds
    check = forward_time(
        LLAMA_3_8B, H100_SXM, drafts + 1, context, batch, logit_positions=drafts + 1
    ).seconds
    tokens = expected_tokens_per_pass(acceptance, drafts)
    return tokens / (check / one + drafts * draft_cost)


def speculative_at_bound(
    batch: int, prompt: float, output: float, draft: ModelConfig | None = None
) -> tuple[float, float, float]:
    """Speed-up at the steady-state bound: (gain, check / step, draft / step).

    The step keeps the prompt tokens it prefills beside the decodes; checking 4
    drafts adds 4 positions a sequence to it. The draft's 4 steps cost 5% of a
    target step each or, given a draft model, its own decode step at this batch,
    which reads the draft's weights and its own KV of every sequence.
    """
    drafts, acceptance = 4, 0.7
    model = step_model(LLAMA_3_8B, H100_SXM)
    memory, compute, _ = fluid_step(model, batch, prompt, output, 1_000)
    plain, extra, context = max(memory, compute), drafts * batch, prompt + output / 2
    check = max(
        memory + model.per_new_byte * extra,
        compute
        + (model.per_new_flop + model.per_logit) * extra
        + model.per_attended * extra * context,
    )
    one = 0.05 * plain
    if draft is not None:
        one = forward_time(draft, H100_SXM, 1, round(context), batch).seconds
    tokens = expected_tokens_per_pass(acceptance, drafts)
    return tokens / ((check + drafts * one) / plain), check / plain, one / plain


def spare_prefill(model: StepModel, batch: int, context: int) -> tuple[float, float]:
    """Compute seconds a decode step leaves idle, and the prompt tokens that fill it.

    Prompt tokens come from 1,550-token prompts, attending 775 keys on average.
    """
    memory = model.weights + (model.per_new_byte + model.per_kv_token * context) * batch
    compute = (model.per_new_flop + model.per_logit) * batch
    compute += model.per_attended * context * batch
    per_token = model.per_new_flop + model.per_attended * 775
    per_token -= model.per_new_byte + model.per_kv_token  # its K/V is written too
    return memory - compute, (memory - compute) / per_token


def compute_bound(accelerator: Accelerator, factor: float = 1_000) -> Accelerator:
    """The same chip with `factor` times the bandwidth: decode turns compute-bound."""
    return replace(
        accelerator,
        name=f"{accelerator.name}, {factor:,.0f}x bandwidth",
        bandwidth=accelerator.bandwidth * factor,
    )


def print_estimate(est: dict, kv8: int) -> None:
    print("Back-of-envelope (assumptions in estimate_capacity)")
    print(
        f"traffic {est['requests_a_day'] / 1e6:.0f}M requests a day, peak"
        f" {est['peak_factor']:.0f}x the mean: {est['peak_rps']:,.0f} requests/s"
    )
    print(
        f"mean prompt {est['prompt']:,.0f} tokens (1,000 shared), mean answer"
        f" {est['output']:.0f}; at peak {est['peak_prompt_tokens_s']:,.0f} prompt"
        f" and {est['peak_output_tokens_s']:,.0f} output tokens/s"
    )
    for config in (LLAMA_3_8B, LLAMA_3_70B):
        print(
            f"{config.name:12} BF16 weights {config.parameters * 2 / 1e9:6.1f} GB,"
            f" KV {kv_cache_bytes(config, 1) / 1024:.0f} KiB a token"
        )
    print(f"steady-state bound, TPOT <= {est['tpot_s'] * 1e3:.0f} ms, prefix cached")
    print(
        "deployment           KV tokens batch prefill/step step ms  bound"
        "    req/s  a GPU"
    )
    for name, b in est["bounds"].items():
        print(
            f"{name:19} {b['kv']:10,} {b['batch']:5} {b['prefill']:12.0f}"
            f" {b['step'] * 1e3:7.1f}  {b['bound']:7} {b['rate']:6.1f}"
            f" {b['rate'] / b['gpus']:6.1f}"
        )
    spent = sum(est["stages"].values())
    print(
        f"TTFT p99 {est['ttft_ms']:,.0f} ms: {spent} ms before the engine, 20%"
        f" headroom, {est['engine_ttft_s'] * 1e3:.0f} ms left for queue + prefill"
    )
    print(
        f"logs: metadata {est['metadata_log']} a day; text"
        f" {est['text_per_request']:,.0f} B a request, {est['text_log_30d']} for"
        " 30 days x 3 replicas"
    )
    adapter = lora_bytes(LLAMA_3_8B, rank=16)
    share = 100 * adapter / kv_cache_bytes(LLAMA_3_8B, 1) / kv8
    print(
        f"LoRA rank 16 on Llama 3 8B: {human_bytes(adapter)} an adapter; 100"
        f" resident take {share:.0%} of the KV room"
    )
    eight = est["bounds"]["Llama 3 8B, 1 GPU"]
    weights = LLAMA_3_8B.parameters * 2 / 1e9

    def saved(halved_gb: float) -> float:
        """Share of the step saved by halving these bytes: never below compute."""
        before = max(eight["memory_s"], eight["compute_s"])
        memory = eight["memory_s"] * (1 - halved_gb / 2 / eight["read_gb"])
        return 1 - max(memory, eight["compute_s"]) / before

    print(
        f"8B at batch {eight['batch']}: a step reads {eight['read_gb']:.0f} GB, the"
        f" weights {weights / eight['read_gb']:.0%} of it; FP8 weights save"
        f" {saved(weights):.0%} of the step, an FP8 KV cache"
        f" {saved(eight['read_gb'] - weights):.0%} (the step's compute alone takes"
        f" {1e3 * eight['compute_s']:.1f} ms)"
    )
    batch, context = eight["batch"], round(est["prompt"] + est["output"] / 2)
    print(
        f"speculative decoding (acceptance 0.7, 4 drafts), {context:,}-token"
        f" contexts: batch 1 {speculative_gain(1, context):.2f}x (draft step 5%)"
    )
    gain, check, _ = speculative_at_bound(batch, est["prompt"], est["output"])
    small, _, share = speculative_at_bound(
        batch, est["prompt"], est["output"], LLAMA_3_2_1B
    )
    kv = kv_cache_bytes(LLAMA_3_2_1B, 1) / kv_cache_bytes(LLAMA_3_8B, 1)
    print(
        f"  batch {batch} with its {eight['prefill']:,.0f} prefill tokens: checking"
        f" costs {check:.2f} steps; {gain:.2f}x with a 5% draft, {small:.2f}x with a"
        f" 1B draft ({share:.0%} of a step, KV {kv:.0%} of the 8B's a token)"
    )
    front = est["front_gpu_s"] * est["peak_rps"]
    print(
        f"front: guard and router (1B-shaped) {est['front_gpu_s'] * 1e3:.1f} ms of"
        f" H100 a request, {front:.1f} H100s busy at peak; gateway"
        f" {est['gateway_cpu_s'] * 1e3:.0f} ms of CPU a request,"
        f" {est['gateway_cpu_s'] * est['peak_rps']:.1f} cores busy"
    )


def sweep(model, kv8: int, slo) -> None:
    print(
        "policy                    load  TTFT p50   p99 s  TPOT p50  p99 ms"
        "  good  busy  batch   KV  queue"
    )
    for policy in POLICIES.values():
        for load in LOADS:
            runs = [run(policy, load, s, model, kv8, slo) for s in SEEDS]
            m = {f: np.mean([getattr(r, f) for r in runs]) for f in runs[0].__dict__}
            print(
                f"{policy.name:25} {load:4.0f} {m['ttft_p50']:9.2f}"
                f" {m['ttft_p99']:7.2f} {m['tpot_p50'] * 1e3:9.1f}"
                f" {m['tpot_p99'] * 1e3:7.1f} {m['good']:5.0%} {m['busy']:5.0%}"
                f" {m['batch']:6.0f} {m['kv']:4.0%} {m['queue']:6.1f}"
            )


def policy_of(key: str) -> Policy:
    return POLICIES.get(key) or ABLATIONS[key]


def name_of(key: str) -> str:
    return policy_of(key).name


def capacity(model, kv8: int, slo, est: dict) -> tuple[dict, dict]:
    """Largest SLO load per policy and seed, against the steady-state bound."""
    static = [run(POLICIES["static"], 1.0, s, model, kv8).ttft_p99 for s in SEEDS]
    loads = {
        key: [
            max_load(policy_of(key), s, model, kv8, slo, b, SEARCH_STEPS) for s in SEEDS
        ]
        for key, b in BRACKETS.items()
    }
    print("\nLargest load meeting the SLO, requests/s: mean [min, max] of 5 seeds")
    print(f"  {name_of('static'):30} none: TTFT p99 up to {max(static):.1f} s at 1")
    for key, values in loads.items():
        print(
            f"  {name_of(key):30} {np.mean(values):5.1f}"
            f" [{min(values):.1f}, {max(values):.1f}]"
        )
    fluid = {
        key: fluid_capacity(
            model, kv8, est["prompt"], est["output"], cached, slo[1], CHUNK
        )[0]
        for key, cached in (("chunked", 0), ("prefix", 1_000))
    }
    print(
        f"  steady-state bound: chunked {fluid['chunked']:.1f}, prefix"
        f" {fluid['prefix']:.1f}; simulated / bound"
        f" {np.mean(loads['chunked']) / fluid['chunked']:.2f} and"
        f" {np.mean(loads['prefix']) / fluid['prefix']:.2f}"
    )
    return loads, fluid


def backlogs(model, kv8: int) -> dict:
    """Ablations on a backlog of 400 requests: output tokens/s to serve it."""
    one, many = Policy("batch 1", max_batch=1), POLICIES["continuous"]
    reserve = Policy("continuous, KV reserved", paged=False)
    gains = {}
    print("\nServing a backlog of 400 requests: output tokens/s, mean of 5 seeds")
    for device in (H100_SXM, compute_bound(H100_SXM)):
        step = step_model(LLAMA_3_8B, device)
        single = [drain(one, s, step, kv8) for s in SEEDS]
        batched = [drain(many, s, step, kv8) for s in SEEDS]
        gains[device.name] = np.divide(batched, single)
        print(
            f"  {device.name:27} batch 1 {np.mean(single):6,.0f}, continuous"
            f" {np.mean(batched):6,.0f}: {np.mean(gains[device.name]):4.1f}x"
        )
    for equal, label in (
        (False, "answers as drawn"),
        (True, "answers of equal length"),
    ):
        static = [
            drain(POLICIES["static"], s, model, kv8, constant_output=equal)
            for s in SEEDS
        ]
        reserved = [drain(reserve, s, model, kv8, constant_output=equal) for s in SEEDS]
        gains[equal] = np.divide(static, reserved)
        print(
            f"  {label:23} static {np.mean(static):5,.0f}, continuous with KV"
            f" reserved {np.mean(reserved):5,.0f}: {np.mean(gains[equal]):.2f}x"
        )
    return gains


def overload(model, kv8: int, slo, sustained: float) -> None:
    """1.5x the sustained load, with and without shedding at the door."""
    rate = 1.5 * sustained
    # Shed beyond what the server starts within a quarter of its TTFT allowance at
    # its sustained rate: waits at p99 run several times the mean wait.
    cap = round(sustained * slo[0] / 4)
    print(
        f"\nOverload, {rate:.0f} requests/s (1.5x) for 60 s,"
        f" {name_of('prefix').strip('+ ')}: mean [min, max] of 5 seeds"
    )
    for policy in (POLICIES["prefix"], replace(POLICIES["prefix"], max_queue=cap)):
        runs = [run(policy, rate, s, model, kv8, slo) for s in SEEDS]
        label = "no limit" if policy.max_queue is None else f"shed beyond {cap} waiting"
        ttft = [r.ttft_p99 for r in runs]
        print(
            f"  {label:23} TTFT p99 {np.mean(ttft):6.2f} s [{min(ttft):.2f},"
            f" {max(ttft):.2f}], shed {np.mean([r.shed for r in runs]):6.1%}, good"
            f" {np.mean([r.good for r in runs]):4.0%}"
        )


def differences(model, kv8: int, loads: dict, gains: dict) -> None:
    ttft = {
        k: [run(POLICIES[k], 5.0, s, model, kv8).ttft_p50 * 1e3 for s in SEEDS]
        for k in ("chunked", "prefix")
    }
    blocks = {  # (a, b): [(label, a's values, b's values)]
        ("chunked", "continuous"): [
            ("max load, requests/s", loads["chunked"], loads["continuous"])
        ],
        ("prefix", "chunked"): [
            ("max load, requests/s", loads["prefix"], loads["chunked"]),
            ("TTFT p50 at 5 requests/s, ms", ttft["prefix"], ttft["chunked"]),
        ],
        ("prefix", "reserved"): [
            ("max load, requests/s", loads["prefix"], loads["reserved"])
        ],
        ("prefix", "copied"): [
            ("max load, requests/s", loads["prefix"], loads["copied"])
        ],
        ("copied", "chunked"): [
            ("max load, requests/s", loads["copied"], loads["chunked"])
        ],
    }
    print("\nPaired differences over the 5 seeds: mean [95% interval]")
    for (a, b), rows in blocks.items():
        print(f"{name_of(a).strip(' +')} minus {name_of(b).strip(' +')}:")
        for label, x, y in rows:
            digits = 1 if label.startswith("max load") else 2  # a ~3% grid
            print(row(label, np.subtract(x, y), digits))
    bound = compute_bound(H100_SXM).name
    print("batching gain on H100 SXM minus on 1,000x bandwidth:")
    print(row("continuous / batch 1", gains["H100 SXM"] - gains[bound]))
    print("static / continuous reserved, equal answers minus as drawn:")
    print(row("throughput ratio", gains[True] - gains[False]))


def row(label: str, differences, digits: int = 2) -> str:
    mean, low, high = paired_interval(np.asarray(differences, dtype=float))
    tie = "  tie" if is_tie(low, high) else ""
    d = digits
    return f"  {label:32} {mean:+8.{d}f} [{low:+.{d}f}, {high:+.{d}f}]{tie}"


def fleet(est: dict, loads: dict, fluid: dict) -> None:
    """GPUs, nodes and dollars for the stated traffic, from the measured loads."""
    small = float(np.mean(loads["prefix"]))  # requests/s an 8B GPU serves in SLO
    ratio = float(np.mean(loads["chunked"]) / fluid["chunked"])  # compute-bound
    tp4 = est["bounds"]["Llama 3 70B, TP 4"]
    large = tp4["rate"] * ratio  # the 70B's bound, discounted as the 8B's was
    share, day = est["small_share"], est["requests_a_day"]
    print(
        f"\nFleet, 80% utilisation, ${DOLLARS_PER_GPU_HOUR:.2f} an H100-hour, rented"
        f" {GPUS_A_NODE} a node; 70B at {large:.1f} requests/s a TP 4 replica"
        f" ({tp4['rate']:.1f} x {ratio:.2f})"
    )
    for label, rate in (
        ("at peak", est["peak_rps"]),
        ("at the mean", est["peak_rps"] / est["peak_factor"]),
    ):
        gpus8 = servers_needed(rate * share, small, utilisation=0.8)
        gpus70 = 4 * servers_needed(rate * (1 - share), large, utilisation=0.8)
        front = servers_needed(rate * est["front_gpu_s"], 1.0, utilisation=0.8)
        nodes = -(-(gpus8 + gpus70 + front) // GPUS_A_NODE)
        vcpus = 2 * servers_needed(rate * est["gateway_cpu_s"], 1.0, utilisation=0.5)
        dollars = 24 * (
            nodes * GPUS_A_NODE * DOLLARS_PER_GPU_HOUR + vcpus * DOLLARS_PER_VCPU_HOUR
        )
        print(
            f"  {label:11} {rate:4,.0f} requests/s: 8B {gpus8:2}, 70B {gpus70:2},"
            f" guard and router {front}: {nodes} nodes, {nodes * GPUS_A_NODE}"
            f" GPUs; gateway {vcpus} vCPUs; all day ${dollars:,.0f},"
            f" ${dollars / day * 1e3:.2f} per 1,000 requests"
        )
        if label == "at peak":
            peak_dollars = dollars
    tokens = {
        "all tokens, the cached prefix included": est["prompt"] + est["output"],
        "uncached input and output": est["prompt"] - 1_000 + est["output"],
        "output, if it carried the whole cost": est["output"],
    }
    cached = 1_000 / (est["prompt"] + est["output"])
    print(f"  per million tokens at peak all day ({cached:.0%} of tokens cached):")
    for label, n in tokens.items():
        print(f"    {label:40} ${peak_dollars / (day * n) * 1e6:.3f}")
    per8 = DOLLARS_PER_GPU_HOUR / 3600 / small * 1e3
    per70 = 4 * DOLLARS_PER_GPU_HOUR / 3600 / large * 1e3
    print(
        f"  GPU dollars per 1,000 requests: 8B ${per8:.3f}, 70B ${per70:.3f}"
        f" ({per70 / per8:.1f}x)"
    )
    # Router labels, assumed: 1% of a day's requests also answered by the 70B, and
    # the pair judged by the 70B, offline on capacity idle below the peak.
    runs = 2 * 0.01 * day
    hours = runs / large * 4 / 3600
    print(
        f"  router labels: {runs:,.0f} 70B runs a day (1% answered and judged),"
        f" {hours:.0f} GPU-hours, ${hours * DOLLARS_PER_GPU_HOUR:,.0f} a day if not"
        " on idle GPUs"
    )


def main() -> None:
    est = estimate_capacity()
    kv8 = kv_capacity_tokens(LLAMA_3_8B, H100_SXM, 1)
    print_estimate(est, kv8)
    model = step_model(LLAMA_3_8B, H100_SXM)
    slo = (est["engine_ttft_s"], est["tpot_s"])
    print(
        f"\nMiniature: {LLAMA_3_8B.name}, BF16, one {H100_SXM.name}; KV room"
        f" {kv8:,} tokens"
    )
    decode = [forward_time(LLAMA_3_8B, H100_SXM, 1, 1_550, b) for b in (1, 256)]
    prefill = forward_time(LLAMA_3_8B, H100_SXM, 1_550, 0)
    print(
        f"a pass, roofline: decode at batch 1 {decode[0].seconds * 1e3:.2f} ms"
        f" ({decode[0].bound}), batch 256 {decode[1].seconds * 1e3:.2f} ms"
        f" ({decode[1].bound}), 1,550-token contexts; prefill of 1,550 tokens"
        f" {prefill.seconds * 1e3:.1f} ms ({prefill.bound})"
    )
    spare, room = spare_prefill(model, 256, 1_550)
    chunk = model.seconds(
        256 + CHUNK, 256 * 1_550 + CHUNK, 256 * 1_550 + CHUNK * 775, 256
    )
    print(
        f"batch 256: {spare * 1e3:.1f} ms of compute idle, room for {room:,.0f} prompt"
        f" tokens; with a {CHUNK:,}-token chunk the step takes {chunk * 1e3:.1f} ms"
    )
    print(
        f"SLO: TTFT p99 <= {slo[0] * 1e3:.0f} ms, TPOT p99 <= {slo[1] * 1e3:.0f} ms;"
        " 60 s of arrivals, the first 10 s not measured; mean of 5 seeds"
    )
    sweep(model, kv8, slo)
    loads, fluid = capacity(model, kv8, slo, est)
    gains = backlogs(model, kv8)
    overload(model, kv8, slo, float(np.mean(loads["prefix"])))
    fleet(est, loads, fluid)
    differences(model, kv8, loads, gains)


if __name__ == "__main__":
    main()
