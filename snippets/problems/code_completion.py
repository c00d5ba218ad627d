"""Code completion assistant in miniature: capacity, and pass@k against temperature.

Back-of-envelope: keystrokes become requests through a debounce (a typing model
with pauses), requests become GPU time through the roofline of an inline 7B model
and a 70B chat model on H100s, and every log stream is sized. Then the miniature
(snippets/problems/code_completion_passk.py): the unbiased pass@k estimator
checked on one problem, and a temperature sweep of a simulated code model over
five seeded benchmarks, with paired intervals and the ablations for each cause.

Run it: ``python -m snippets.problems.code_completion``.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    positive,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie
from snippets.concepts.generative_ai import (
    H100_SXM,
    L4,
    LLAMA_2_7B,
    LLAMA_3_8B,
    LLAMA_3_70B,
    Accelerator,
    ModelConfig,
    forward_time,
    kv_cache_bytes,
    kv_room_bytes,
)
from snippets.problems import code_completion_passk as pk

# Linux on demand, us-east-1, from AWS's price list generated 2026-01-19 (read
# from the table in AWS's Karpenter project): p5.4xlarge, one H100, $6.88 an hour.
H100_DOLLARS_PER_HOUR = 6.88


# --8<-- [start:debounce]
def keystroke_requests(
    debounce_ms: float,
    wait_ms: float,
    pause_share: float = 0.15,
    mean_gap_ms: float = 200.0,
) -> tuple[float, float, float]:
    """Requests fired per keystroke, the share of them gone stale, and suggestions
    shown per keystroke, for a client that fires after debounce_ms of quiet.

    Typing model (an assumption): a share of gaps between keystrokes are pauses
    longer than any debounce; the rest are exponential with mean mean_gap_ms. A
    fired request goes stale if the next keystroke comes within wait_ms, before
    its suggestion can show: the client cancels it.
    """
    if debounce_ms < 0 or not 0 <= pause_share <= 1:
        raise ValueError("need debounce_ms >= 0 and 0 <= pause_share <= 1")
    wait, gap = positive("wait_ms", wait_ms), positive("mean_gap_ms", mean_gap_ms)
    in_burst = (1 - pause_share) * math.exp(-debounce_ms / gap)  # gap > debounce
    fired = pause_share + in_burst
    stale = in_burst * (1 - math.exp(-wait / gap))  # memoryless: next key < wait
    return fired, stale / fired, fired - stale
    # --8<-- [end:debounce]


def largest_batch(
    model: ModelConfig,
    gpu: Accelerator,
    context: int,
    output: int,
    prefill_s: float,
    max_latency_s: float,
    kv_room: float,
    mean_prefill_s: float | None = None,
) -> tuple[int, float, float]:
    """The most sequences a replica keeps in flight (its batch) while a request's
    latency stays within max_latency_s and their KV caches fit in kv_room bytes.

    The replica prefills each request it admits, one at a time, and decoding
    pauses meanwhile. With batch requests in flight, about batch arrive during a
    request's life (Little's law), so its latency is its own prefill (prefill_s),
    the other batch - 1 prefills (mean_prefill_s each, prefill_s if None) and
    output decode steps of the whole batch. Returns (batch, step seconds,
    latency seconds); (0, inf, inf) if not even one request fits.
    """
    positive("max_latency_s", max_latency_s)
    positive("output", output)
    mean = prefill_s if mean_prefill_s is None else mean_prefill_s
    if prefill_s < 0 or mean < 0:
        raise ValueError("prefill times must be >= 0")
    fits = int(kv_room // kv_cache_bytes(model, context)) if kv_room > 0 else 0
    best = (0, math.inf, math.inf)
    for batch in range(1, fits + 1):
        step = forward_time(model, gpu, 1, context, batch=batch).seconds
        latency = prefill_s + (batch - 1) * mean + output * step
        if latency > max_latency_s:
            break
        best = (batch, step, latency)
    return best


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float]:
    """Requests, GPUs, dollars, log bytes and the latency budget; all assumptions."""
    developers, keystrokes_per_day, peak_factor = 1e6, 4_000, 3.0
    budget_ms, headroom = 400.0, 0.15  # keystroke to ghost text, p95, end to end
    stages_ms = {  # allocations; the model stage gets what is left
        "debounce (a deliberate wait)": 100,
        "client: context, tokenise": 20,
        "network round trip": 50,
        "gateway: auth, sticky route": 15,
        "filters: secrets, recitation": 10,
        "render ghost text": 5,
    }
    model_ms = remaining_budget_ms(budget_ms, stages_ms, headroom=headroom)
    # The suggestion's p95 wait after the request fires: the budget less the
    # headroom and the debounce (applied to every request: stale shares are upper
    # bounds).
    wait_ms = budget_ms * (1 - headroom) - stages_ms["debounce (a deliberate wait)"]
    fired, stale, shown = keystroke_requests(100, wait_ms)
    requests_per_day = developers * keystrokes_per_day * fired
    inline_qps = peak_qps(developers, keystrokes_per_day * fired, peak_factor)
    # Inline model: Llama 2 7B's shape (Code Llama 7B's), fp16, on one H100.
    # A suggestion is capped at 16 tokens (about a line; assumed), prompts at 2,048.
    inline, gpu, prompt, output = LLAMA_2_7B, H100_SXM, 2_048, 16
    prefill_s = forward_time(inline, gpu, prompt, 0).seconds
    room = kv_room_bytes(inline, gpu, 1, 2)  # fp16 weights on one GPU
    utilisation = 0.5  # of the roofline rate: bursts, real kernels, queues
    dollars = H100_DOLLARS_PER_HOUR * 24
    # Prefix cache: the prompt puts the suffix first and the prefix last (SPM), so
    # the next keystroke only appends; on a hit (the developer is routed to the
    # replica holding their cache) prefill 32 new tokens. A p95 request misses.
    new_tokens = 32
    hit_s = forward_time(inline, gpu, new_tokens, prompt - new_tokens).seconds
    fleets = {}
    for hit in (0.0, 0.5, 0.8, 0.95):
        mean_prefill = hit * hit_s + (1 - hit) * prefill_s
        batch, step_s, latency_s = largest_batch(
            inline,
            gpu,
            prompt + output,
            output,
            prefill_s,
            model_ms / 1e3,
            room,
            mean_prefill,
        )
        gpu_s = mean_prefill + output * step_s / batch  # a request's share of a GPU
        gpus = servers_needed(inline_qps * gpu_s, 1.0, utilisation)
        fleets[hit] = {
            "batch": batch,
            "step_ms": step_s * 1e3,
            "latency_ms": latency_s * 1e3,
            "gpu_ms": gpu_s * 1e3,
            "gpus": gpus,
            "in_flight": inline_qps / gpus * latency_s,  # Little's law at this load
            "prefill_share": mean_prefill / gpu_s,
            "dollars": gpus * dollars,
        }
    none, cached = fleets[0.0], fleets[0.8]
    # Residency: the developers routed to one GPU against the caches that fit
    # beside the batch, for this 7B (no GQA) and a GQA shape (Llama 3 8B's).
    context_kv = kv_cache_bytes(inline, prompt + output)
    gqa_kv = kv_cache_bytes(LLAMA_3_8B, prompt + output)
    gqa_room = kv_room_bytes(LLAMA_3_8B, gpu, 1, 2)
    # Chat: Llama 3 70B on 4 H100s with tensor parallelism; the all-reduces
    # between the GPUs are ignored, so every time below is a lower bound.
    chats, chat_in, chat_out, tpot_s = 10, 6_000, 400, 0.050
    four = Accelerator(
        "4 x H100 SXM",
        4 * gpu.memory_bytes,
        4 * gpu.bandwidth,
        4 * gpu.peak_flops,
    )
    chat_qps = peak_qps(developers, chats, peak_factor)
    chat_prefill_s = forward_time(LLAMA_3_70B, four, chat_in, 0).seconds
    chat_room = kv_room_bytes(LLAMA_3_70B, gpu, 4, 2)
    # TPOT counts the decode steps and the other chats' prefills, not the first
    # token: the answer's 400 tokens must take at most 400 x 50 ms after it.
    chat_batch, chat_step_s, chat_latency_s = largest_batch(
        LLAMA_3_70B,
        four,
        chat_in + chat_out,
        chat_out,
        chat_prefill_s,
        chat_prefill_s + chat_out * tpot_s,
        chat_room,
    )
    chat_gpu_s = 4 * (chat_prefill_s + chat_out * chat_step_s / chat_batch)
    chat_gpus = 4 * math.ceil(
        servers_needed(chat_qps * chat_gpu_s, 1.0, utilisation) / 4
    )
    # Logs, one line per stream. Content (prompts, completions) only for the users
    # who opted in (assumed 5%), kept 30 days; ~4 bytes a token of code. Chat
    # events (thumbs, edits applied; assumed 5 a chat) and an audit record per
    # request and chat for the enterprise tier (assumed 30% of developers).
    acceptance, opted_in, days_kept, bytes_per_token = 0.25, 0.05, 30, 4
    chat_events, enterprise = 5, 0.3
    shown_per_day = developers * keystrokes_per_day * shown
    content_per_day = requests_per_day * (prompt + output) * bytes_per_token
    chat_content = developers * chats * (chat_in + chat_out) * bytes_per_token
    # A client-side index of the workspace: 200,000 lines in 20-line windows with
    # a stride of 10; each window as 64 token ids (sparse) or a 768-d fp16 vector.
    # A 10,000,000-line monorepo is sized the same way.
    windows, mono_windows = 200_000 // 10, 10_000_000 // 10
    return {
        "developers": developers,
        "keystrokes": keystrokes_per_day,
        "fired": fired,
        "stale": stale,
        "shown": shown,
        "wait_ms": wait_ms,
        "requests_per_dev": keystrokes_per_day * fired,
        "inline_qps": inline_qps,
        "budget_ms": budget_ms,
        "headroom_ms": budget_ms * headroom,
        "model_ms": model_ms,
        **{f"stage {name}": ms for name, ms in stages_ms.items()},
        "prefill_ms": prefill_s * 1e3,
        "batch": none["batch"],
        "step_ms": none["step_ms"],
        "inline_ms": none["latency_ms"],
        "gpu_ms": none["gpu_ms"],
        "prefill_share": prefill_s / (none["gpu_ms"] / 1e3),
        "inline_gpus": none["gpus"],
        "in_flight": none["in_flight"],
        "single_half_ms": 2
        * (prefill_s + output * forward_time(inline, gpu, 1, prompt + output).seconds)
        * 1e3,
        "hit_ms": hit_s * 1e3,
        "fleets": fleets,
        "cached_gpu_ms": cached["gpu_ms"],
        "cached_gpus": cached["gpus"],
        "devs_per_gpu": developers / cached["gpus"],
        "mha_caches": int((room - cached["batch"] * context_kv) // context_kv),
        "gqa_caches": int((gqa_room - cached["batch"] * gqa_kv) // gqa_kv),
        "l4_step_ms": forward_time(inline, L4, 1, prompt + output).seconds * 1e3,
        "kv_7b_gib": context_kv / 2**30,
        "kv_8b_gib": gqa_kv / 2**30,
        "chat_qps": chat_qps,
        "chat_prefill_s": chat_prefill_s,
        "chat_batch": chat_batch,
        "chat_step_ms": chat_step_s * 1e3,
        "chat_tpot_ms": (chat_latency_s - chat_prefill_s) / chat_out * 1e3,
        "chat_gpu_s": chat_gpu_s,
        "chat_gpus": chat_gpus,
        "chat_in_flight": chat_qps / (chat_gpus / 4) * chat_latency_s,
        "inline_dollars": none["dollars"],
        "cached_dollars": cached["dollars"],
        "chat_dollars": chat_gpus * dollars,
        "per_dev_cents": (cached["gpus"] + chat_gpus) * dollars / developers * 100,
        "shown_per_dev": keystrokes_per_day * shown,
        "log_requests": storage_bytes(requests_per_day, 300),
        "log_suggestions": storage_bytes(shown_per_day, 200),
        "log_retention": storage_bytes(shown_per_day * acceptance, 4 * 100),
        "log_chat_events": storage_bytes(developers * chats * chat_events, 200),
        "log_audit": storage_bytes(
            enterprise * (requests_per_day + developers * chats), 200
        ),
        "content_all": content_per_day,
        "content_kept": storage_bytes(
            content_per_day * opted_in * days_kept
            + chat_content * opted_in * days_kept,
            1,
            replicas=3,
        ),
        "chat_content": chat_content,
        "index_sparse": storage_bytes(windows, 64 * 4),
        "index_dense": storage_bytes(windows, 768 * 2),
        "mono_sparse": storage_bytes(mono_windows, 64 * 4),
        "mono_dense": storage_bytes(mono_windows, 768 * 2),
    }
    # --8<-- [end:estimate]


def print_estimate() -> None:
    e = estimate_capacity()
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(
        f"  {e['developers']:,.0f} developers a day, {e['keystrokes']:,} keystrokes"
        " each, peak 3x the mean"
    )
    print(
        f"  debounce  requests/key  stale  shown/key  (answer in {e['wait_ms']:.0f} ms)"
    )
    for debounce in (0, 50, 100, 200, 300):
        fired, stale, shown = keystroke_requests(debounce, e["wait_ms"])
        print(f"  {debounce:5d} ms {fired:12.3f} {stale:6.3f} {shown:10.3f}")
    rows = [
        ("at 100 ms: requests per developer a day", f"{e['requests_per_dev']:,.0f}"),
        ("  suggestions shown per developer a day", f"{e['shown_per_dev']:,.0f}"),
        ("  peak inline requests per second", f"{e['inline_qps']:,.0f}"),
    ]
    for label, value in rows:
        print(f"  {label:44}{value:>12}")
    print(f"  latency budget {e['budget_ms']:.0f} ms, keystroke to ghost text, p95:")
    for key, ms in e.items():
        if key.startswith("stage "):
            print(f"    {key[6:]:42}{ms:>9.0f} ms")
    print(f"    {'headroom for tail latency':42}{e['headroom_ms']:>9.0f} ms")
    print(
        f"    {'model: prefill + 16 tokens, what is left':42}{e['model_ms']:>9.0f} ms"
    )
    print("  inline model, Llama 2 7B shape, fp16, one H100 SXM (lower bounds):")
    rows = [
        ("prefill 2,048 tokens", f"{e['prefill_ms']:.1f} ms"),
        (
            "KV of a 2,064-token prompt; GQA (8B)",
            f"{e['kv_7b_gib']:.2f}; {e['kv_8b_gib']:.2f} GiB",
        ),
        ("batch 1, prefill + 16 tokens, at 50% rate", f"{e['single_half_ms']:.1f} ms"),
        ("one decode step of the 7B on an L4", f"{e['l4_step_ms']:.1f} ms"),
        ("prefix-cache hit: prefill 32 new tokens", f"{e['hit_ms']:.2f} ms"),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print("  batch = requests in flight; each waits for the others' prefills:")
    print("    hits  batch  latency  GPU/request  prefill   H100s  in flight at load")
    for hit, f in e["fleets"].items():
        print(
            f"    {hit:4.0%} {f['batch']:6d} {f['latency_ms']:6.1f} ms"
            f" {f['gpu_ms']:9.1f} ms {f['prefill_share']:8.0%} {f['gpus']:7,}"
            f" {f['in_flight']:18.1f}"
        )
    print(
        f"    at 80% hits: {e['devs_per_gpu']:.0f} developers a GPU; caches beside"
        f" the batch: 7B {e['mha_caches']}, GQA {e['gqa_caches']}"
    )
    print("  chat, Llama 3 70B on 4 H100s (tensor parallel), 6,000 in, 400 out:")
    rows = [
        ("peak chats per second", f"{e['chat_qps']:,.0f}"),
        ("prefill, a lower bound on TTFT", f"{e['chat_prefill_s']:.2f} s"),
        (
            "batch in a 50 ms TPOT; step, TPOT",
            f"{e['chat_batch']}; {e['chat_step_ms']:.1f}, {e['chat_tpot_ms']:.1f} ms",
        ),
        ("GPU time per chat", f"{e['chat_gpu_s']:.2f} s"),
        ("H100s at 50% of the roofline rate", f"{e['chat_gpus']:,}"),
        ("  chats in flight a replica at that load", f"{e['chat_in_flight']:.1f}"),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print(f"  H100 at ${H100_DOLLARS_PER_HOUR:.2f} an hour (p5.4xlarge, on demand):")
    rows = [
        ("inline, no prefix cache, a day", f"${e['inline_dollars']:,.0f}"),
        ("inline, prefix cache at 80%, a day", f"${e['cached_dollars']:,.0f}"),
        ("chat, a day", f"${e['chat_dollars']:,.0f}"),
        ("per developer a day, cached + chat", f"${e['per_dev_cents'] / 100:.2f}"),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print("  logs a day:")
    rows = [
        ("request metadata, 300 B", human_bytes(e["log_requests"])),
        ("suggestion events, 200 B a shown one", human_bytes(e["log_suggestions"])),
        ("retention checks, 4 x 100 B an accepted", human_bytes(e["log_retention"])),
        ("prompts + completions, if all kept", human_bytes(e["content_all"])),
        ("chat events, 5 x 200 B a chat", human_bytes(e["log_chat_events"])),
        ("audit log, 30% enterprise, 200 B each", human_bytes(e["log_audit"])),
        ("chat transcripts, if all kept", human_bytes(e["chat_content"])),
        ("kept: 5% opted in, 30 days, 3 replicas", human_bytes(e["content_kept"])),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print(
        f"  index, 20,000 windows: sparse {human_bytes(e['index_sparse'])},"
        f" dense {human_bytes(e['index_dense'])}; monorepo of 10M lines:"
        f" {human_bytes(e['mono_sparse'])}, {human_bytes(e['mono_dense'])}"
    )


def all_subsets_pass_at_k(n: int, c: int, k: int) -> float:
    """Enumerate every k-subset of n samples (the first c correct): the share
    holding at least one correct sample, which the estimator must equal."""
    hits = [any(i < c for i in subset) for subset in combinations(range(n), k)]
    return sum(hits) / len(hits)


def print_estimators() -> None:
    n, c = 10, 3
    print(f"\npass@k on one problem: n = {n} samples, c = {c} pass")
    print("   k  unbiased  all k-subsets  plug-in")
    for k in (1, 2, 5, 8):
        print(
            f"  {k:2d} {pk.pass_at_k(n, c, k):9.3f}"
            f" {all_subsets_pass_at_k(n, c, k):14.3f}"
            f" {pk.plug_in_pass_at_k(n, c, k):8.3f}"
        )
    n, c, k = 1_200, 3, 600
    print(
        f"n = {n:,}, c = {c}, k = {k}: float binomials give"
        f" {pk.naive_pass_at_k(n, c, k)}; the product gives {pk.pass_at_k(n, c, k):.3f}"
    )


def print_difference(runs, label: str, a: str, b: str | None = None) -> None:
    mean, low, high = pk.paired(runs, a, b)
    tie = "  tie" if is_tie(low, high) else ""
    print(f"  {label:30}{mean:+8.3f} [{low:+.3f}, {high:+.3f}]{tie}")


def print_miniature() -> None:
    runs = pk.run_experiment()

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in runs]))

    def spread(key: str) -> str:
        values = [r[key] for r in runs]
        return f"{mean(key):.3f} (min-max {min(values):.3f}-{max(values):.3f})"

    print(
        f"\nSimulated model: {pk.PROBLEMS} problems, 20 plausible programs and 1,000"
        f" junk each;\n{pk.SAMPLES} samples a problem at each T; {len(runs)} seeds,"
        " each a new benchmark"
    )
    print(f"problems with a correct program {spread('any correct')}")
    print(f"greedy answer right {spread('greedy right')}")
    print("   T  pass@1  pass@10  pass@100  distinct of 200")
    for t in pk.TEMPERATURES:
        cells = " ".join(f"{mean(f'pass@{k} {t}'):8.3f}" for k in pk.KS)
        print(f" {t:3.1f} {cells} {mean(f'distinct {t}'):15.1f}")
    best = {k: max(pk.TEMPERATURES, key=lambda t: mean(f"pass@{k} {t}")) for k in pk.KS}
    print("best T by mean: " + ", ".join(f"pass@{k} {best[k]:.1f}" for k in pk.KS))
    print(
        f"pass@1 at T {pk.LOW_T} over the {len(runs)} benchmarks:"
        f" {spread(f'pass@1 {pk.LOW_T}')}"
    )

    lo, hi, top = pk.LOW_T, pk.HIGH_T, pk.TEMPERATURES[-1]
    print(f"\nPaired differences over the {len(runs)} seeds: mean [95% interval]")
    for k in pk.KS:
        print(f"pass@{k}, best T {best[k]:.1f} minus its neighbours:")
        i = pk.TEMPERATURES.index(best[k])
        for t in pk.TEMPERATURES[max(i - 1, 0) : i + 2]:
            if t != best[k]:
                print_difference(
                    runs, f"T {t:.1f}", f"pass@{k} {best[k]}", f"pass@{k} {t}"
                )
    print(f"T {hi} minus T {lo}:")
    for k in pk.KS:
        print_difference(runs, f"pass@{k}", f"pass@{k} {hi}", f"pass@{k} {lo}")
    for k, name in ((1, "right"), (1, "wrong"), (100, "wrong")):
        print_difference(
            runs,
            f"pass@{k}, greedy answer {name}",
            f"pass@{k} {hi} greedy {name}",
            f"pass@{k} {lo} greedy {name}",
        )
    print(f"T {hi}, {pk.SAMPLES} copies of one sample minus T {lo}:")
    print_difference(runs, "pass@100", "copies pass@100", f"pass@100 {lo}")
    print(f"T {hi} minus T {hi}, {pk.SAMPLES} copies of one sample:")
    print_difference(runs, "pass@100", f"pass@100 {hi}", "copies pass@100")
    print(f"T {top} minus T {hi}, exact from the generator:")
    k = pk.SMALL_K
    print_difference(runs, f"pass@{k}", f"true pass@{k} {top}", f"true pass@{k} {hi}")
    print_difference(
        runs,
        f"pass@{k}, no junk tail",
        f"no tail true pass@{k} {top}",
        f"no tail true pass@{k} {hi}",
    )
    print(f"{pk.SMALL_N} samples a problem at T {hi}, estimate minus true pass@{k}:")
    print_difference(runs, "unbiased", "unbiased error")
    print_difference(runs, "plug-in", "plug-in error")


def main() -> None:
    print_estimate()
    print_estimators()
    print_miniature()


if __name__ == "__main__":
    main()
