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
    max_step_s: float,
    kv_room: float,
) -> tuple[int, float]:
    """The largest decode batch whose step meets max_step_s and whose KV cache
    fits in kv_room bytes; returns (batch, step seconds), (0, inf) if none."""
    positive("max_step_s", max_step_s)
    fits = int(kv_room // kv_cache_bytes(model, context)) if kv_room > 0 else 0
    best = (0, math.inf)
    for batch in range(1, fits + 1):
        step = forward_time(model, gpu, 1, context, batch=batch).seconds
        if step > max_step_s:
            break
        best = (batch, step)
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
    # A suggestion arrives this long after the request fires (all but the debounce).
    wait_ms = budget_ms * (1 - headroom) - stages_ms["debounce (a deliberate wait)"]
    fired, stale, shown = keystroke_requests(100, wait_ms)
    requests_per_day = developers * keystrokes_per_day * fired
    inline_qps = peak_qps(developers, keystrokes_per_day * fired, peak_factor)
    # Inline model: Llama 2 7B's shape (Code Llama 7B's), fp16, on one H100.
    # A suggestion is capped at 16 tokens (about a line; assumed), prompts at 2,048.
    inline, gpu, prompt, output = LLAMA_2_7B, H100_SXM, 2_048, 16
    prefill_s = forward_time(inline, gpu, prompt, 0).seconds
    decode_budget_s = model_ms / 1e3 - prefill_s
    room = kv_room_bytes(inline, gpu, 1, 2)  # fp16 weights on one GPU
    batch, step_s = largest_batch(
        inline, gpu, prompt + output, decode_budget_s / output, room
    )
    gpu_s = prefill_s + output * step_s / batch  # one request's share of a GPU
    utilisation = 0.5  # of the roofline rate: bursts, real kernels, queues
    inline_gpus = servers_needed(inline_qps * gpu_s, 1.0, utilisation)
    # Prefix cache: the prompt puts the suffix first and the prefix last (SPM), so
    # the next keystroke only appends; on a hit (assumed 80%: the developer is
    # routed to the replica holding their cache) prefill 32 new tokens.
    hit, new_tokens = 0.8, 32
    hit_s = forward_time(inline, gpu, new_tokens, prompt - new_tokens).seconds
    cached_gpu_s = hit * hit_s + (1 - hit) * prefill_s + output * step_s / batch
    cached_gpus = servers_needed(inline_qps * cached_gpu_s, 1.0, utilisation)
    # Chat: Llama 3 70B on 4 H100s with tensor parallelism (NVLink time ignored).
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
    chat_batch, chat_step_s = largest_batch(
        LLAMA_3_70B, four, chat_in + chat_out, tpot_s, chat_room
    )
    chat_gpu_s = 4 * (chat_prefill_s + chat_out * chat_step_s / chat_batch)
    chat_gpus = 4 * math.ceil(
        servers_needed(chat_qps * chat_gpu_s, 1.0, utilisation) / 4
    )
    dollars = H100_DOLLARS_PER_HOUR * 24
    # Logs, one line per stream. Content (prompts, completions) only for the users
    # who opted in (assumed 5%), kept 30 days; ~4 bytes a token of code.
    acceptance, opted_in, days_kept, bytes_per_token = 0.25, 0.05, 30, 4
    shown_per_day = developers * keystrokes_per_day * shown
    content_per_day = requests_per_day * (prompt + output) * bytes_per_token
    chat_content = developers * chats * (chat_in + chat_out) * bytes_per_token
    # A client-side index of the workspace: 200,000 lines in 20-line windows with
    # a stride of 10; each window as 64 token ids (sparse) or a 768-d fp16 vector.
    windows = 200_000 // 10
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
        "batch": batch,
        "step_ms": step_s * 1e3,
        "inline_ms": (prefill_s + output * step_s) * 1e3,
        "gpu_ms": gpu_s * 1e3,
        "prefill_share": prefill_s / gpu_s,
        "inline_gpus": inline_gpus,
        "hit_ms": hit_s * 1e3,
        "cached_gpu_ms": cached_gpu_s * 1e3,
        "cached_gpus": cached_gpus,
        "l4_step_ms": forward_time(inline, L4, 1, prompt + output).seconds * 1e3,
        "kv_7b_gib": kv_cache_bytes(inline, prompt + output) / 2**30,
        "gqa_batch": largest_batch(
            LLAMA_3_8B, gpu, prompt + output, 1.0, kv_room_bytes(LLAMA_3_8B, gpu, 1, 2)
        )[0],
        "mha_batch": largest_batch(inline, gpu, prompt + output, 1.0, room)[0],
        "chat_qps": chat_qps,
        "chat_prefill_s": chat_prefill_s,
        "chat_batch": chat_batch,
        "chat_step_ms": chat_step_s * 1e3,
        "chat_gpu_s": chat_gpu_s,
        "chat_gpus": chat_gpus,
        "inline_dollars": inline_gpus * dollars,
        "cached_dollars": cached_gpus * dollars,
        "chat_dollars": chat_gpus * dollars,
        "per_dev_cents": (cached_gpus + chat_gpus) * dollars / developers * 100,
        "shown_per_dev": keystrokes_per_day * shown,
        "log_requests": storage_bytes(requests_per_day, 300),
        "log_suggestions": storage_bytes(shown_per_day, 200),
        "log_retention": storage_bytes(shown_per_day * acceptance, 4 * 100),
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
    }
    # --8<-- [end:estimate]


# --8<-- [start:demo]
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
        ("largest batch in the budget", f"{e['batch']:.0f}"),
        ("  decode step at that batch", f"{e['step_ms']:.2f} ms"),
        ("  prefill + 16 tokens", f"{e['inline_ms']:.1f} ms"),
        ("GPU time per request", f"{e['gpu_ms']:.1f} ms"),
        ("  of which prefill", f"{e['prefill_share']:.0%}"),
        ("H100s at 50% of the roofline rate", f"{e['inline_gpus']:,}"),
        ("KV cache of one 2,064-token prompt", f"{e['kv_7b_gib']:.2f} GiB"),
        (
            "  prompts that fit: no GQA (7B), GQA (8B)",
            f"{e['mha_batch']}, {e['gqa_batch']}",
        ),
        ("one decode step of the 7B on an L4", f"{e['l4_step_ms']:.1f} ms"),
        ("prefix cache, 80% hits, 32 new tokens", f"{e['hit_ms']:.2f} ms"),
        ("  GPU time per request", f"{e['cached_gpu_ms']:.1f} ms"),
        ("  H100s", f"{e['cached_gpus']:,}"),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print("  chat, Llama 3 70B on 4 H100s (tensor parallel), 6,000 in, 400 out:")
    rows = [
        ("peak chats per second", f"{e['chat_qps']:,.0f}"),
        ("prefill, a lower bound on TTFT", f"{e['chat_prefill_s']:.2f} s"),
        (
            "batch (KV cache full), step",
            f"{e['chat_batch']}, {e['chat_step_ms']:.1f} ms",
        ),
        ("GPU time per chat", f"{e['chat_gpu_s']:.2f} s"),
        ("H100s at 50% of the roofline rate", f"{e['chat_gpus']:,}"),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print(f"  H100 at ${H100_DOLLARS_PER_HOUR:.2f} an hour (p5.4xlarge, on demand):")
    rows = [
        ("inline, no prefix cache, a day", f"${e['inline_dollars']:,.0f}"),
        ("inline, prefix cache, a day", f"${e['cached_dollars']:,.0f}"),
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
        ("chat transcripts, if all kept", human_bytes(e["chat_content"])),
        ("kept: 5% opted in, 30 days, 3 replicas", human_bytes(e["content_kept"])),
    ]
    for label, value in rows:
        print(f"    {label:42}{value:>12}")
    print(
        f"  client-side index, 20,000 windows: sparse {human_bytes(e['index_sparse'])},"
        f" dense {human_bytes(e['index_dense'])}"
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
        return f"{mean(key):.3f} ({min(values):.3f}-{max(values):.3f})"

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
    best = ", ".join(
        f"pass@{k} {max(pk.TEMPERATURES, key=lambda t: mean(f'pass@{k} {t}')):.1f}"
        for k in pk.KS
    )
    print(f"best T: {best}")
    print(
        f"pass@1 at T {pk.LOW_T} over the {len(runs)} benchmarks:"
        f" {spread(f'pass@1 {pk.LOW_T}')}"
    )

    lo, hi, top = pk.LOW_T, pk.HIGH_T, pk.TEMPERATURES[-1]
    print(f"\nPaired differences over the {len(runs)} seeds: mean [95% interval]")
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
# --8<-- [end:demo]
