"""Assistant with long-term memory in miniature: which memories reach the prompt.

Simulated users talk to an assistant for two years (assistant_memory_world): stable
facts said once long ago, facts whose value changes, and small talk, each turned
into a memory with an embedding, a timestamp and an importance score. For every fact
the user asks about, each method ranks the user's memories and puts its top 5 in the
prompt; the generator's ground truth grades it: is the current value there (recall),
is a superseded value there, and does a superseded value rank first. The methods:
plain recency, plain similarity, and Park et al.'s combined score with its weights
and half-life chosen on a validation world, each term ablated, and the same score
over a store that retires superseded facts at write time. Five test worlds; paired
differences with a 95% interval. The back-of-envelope estimate comes first.

Run it: ``python -m snippets.problems.assistant_memory``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import paired_interval
from snippets.concepts.generative_ai import (
    A100_40GB,
    LLAMA_3_1_70B,
    LLAMA_3_8B,
    forward_time,
    kv_cache_bytes,
    kv_room_bytes,
)
from snippets.framework.cost import TRAINER
from snippets.problems.assistant_memory_retrieval import (
    HALF_LIVES,
    Graded,
    K,
    best,
    grade,
    memory_score,
    search_weights,
    world_terms,
    write_time_supersession,
)
from snippets.problems.assistant_memory_world import (
    DAYS,
    SESSIONS,
    Histories,
    equal_mentions,
    simulate_histories,
)

# Assumed prices: SSD block storage at EBS gp3's us-east-1 list price, $0.08 a
# GB-month (replicas counted in the bytes); session-cache hosts r7i.8xlarge (256 GiB)
# at $2.1168 an hour, on demand in us-east-1 (AWS price list of 2026-01-19).
SSD_DOLLARS_PER_GB_MONTH, HOURS_PER_MONTH = 0.08, 730
RAM_HOST_DOLLARS_PER_HOUR, RAM_HOST_BYTES = 2.1168, 256 * 2**30


# --8<-- [start:estimate]
def estimate() -> dict[str, object]:
    """Turns, memory reads and writes, storage, tokens of memory and what they cost."""
    monthly, dau = 100e6, 30e6  # assumed: users with memory on; daily actives
    sessions_per_day, turns_per_session = 3, 6  # assumed, per daily active user
    turns_qps = peak_qps(dau, sessions_per_day * turns_per_session, 2.0)
    session_qps = peak_qps(dau, sessions_per_day, 2.0)
    turns_per_day = dau * sessions_per_day * turns_per_session
    # A memory row: ~40 tokens of text (200 B), a 768-d float16 embedding, and
    # metadata (ids, timestamps, importance, status, source session and turn, the id
    # it supersedes). Assumed: 1,000 active and 500 retired rows a user.
    row_bytes = 200 + 768 * 2 + 120
    active, retired, session_minutes = 1_000, 500, 10  # assumed
    concurrent_sessions = session_qps * session_minutes * 60
    user_vectors = active * 768 * 2
    # Tokens of memory a turn (assumed): top 5 memories of ~40 tokens and a pinned
    # 150-token profile; the conversation before them averages 2,000 tokens.
    memory_tokens, conversation, all_memories = K * 40 + 150, 2_000, active * 40
    efficiency = 0.5  # assumed share of the roofline bound kernels reach
    a100_hour = TRAINER.dollars_per_hour / 8  # p4d.24xlarge's price, per A100
    model, gpu = LLAMA_3_1_70B, A100_40GB  # the p4d.24xlarge's card
    kv_room = kv_room_bytes(model, gpu, 8, 2)  # fp16 weights on 8 GPUs

    def gpu_s(new: int, context: int, model=model) -> float:
        """GPU-seconds to prefill `new` tokens after `context` cached ones."""
        return forward_time(model, gpu, new, context).compute_s / efficiency

    def turn_s(memory: int) -> float:
        """GPU-seconds of a turn with `memory` tokens in its context: ~400 new tokens
        (the message and the last reply) prefilled, ~300 generated at batch 64, or
        at as many sequences as the KV cache holds beside the weights."""
        context = conversation + memory + 500  # mean context while generating
        batch = min(64, int(kv_room // kv_cache_bytes(model, context)))
        step = forward_time(model, gpu, 1, context, batch=batch).seconds
        return gpu_s(400, conversation + memory) + 300 * step / batch / efficiency

    # Memory costs its own prefill, then attention and KV reads in the turn itself.
    policies = {  # (prefill, the turn's extra) GPU-seconds a turn
        f"{memory_tokens} after the conversation": (
            gpu_s(memory_tokens, conversation),
            turn_s(memory_tokens) - turn_s(0),
        ),
        f"{memory_tokens} before it, re-prefilled": (
            gpu_s(memory_tokens + conversation, 0),
            turn_s(memory_tokens) - turn_s(0),
        ),
        f"all {all_memories:,}, once a session": (
            gpu_s(all_memories, 0) / turns_per_session,
            turn_s(all_memories) - turn_s(0),
        ),
    }
    # Extraction at the end of each session, by an 8B model: read the transcript
    # (6 turns of ~500 tokens and a 300-token instruction), write ~200 tokens of
    # facts with importance and the operation (add, update, retire).
    transcript = turns_per_session * 500 + 300
    decode = forward_time(LLAMA_3_8B, gpu, 1, transcript, batch=64).seconds
    extract_s = gpu_s(transcript, 0, LLAMA_3_8B) + 200 * decode / 64 / efficiency
    extract_gpus = servers_needed(session_qps * extract_s, 1.0)
    # Embedding each message for retrieval: an assumed 110M-parameter encoder, ~50
    # tokens a message, 2 FLOPs per parameter per token, at the same efficiency.
    embed_flops = turns_qps * 2 * 110e6 * 50
    embed_gpus = servers_needed(embed_flops, gpu.peak_flops, efficiency)
    stages_ms = {  # allocations of the time-to-first-token p99, server-side
        "request, auth, input checks": 60,
        "user's memory from the session cache": 10,
        "embed the message": 20,
        "score ~1,000 memories, take the top 5": 5,
        "prompt assembly": 5,
        "queue and prefill, 70B on 8 GPUs": 600,
    }
    store = storage_bytes(monthly * (active + retired), row_bytes, replicas=3)
    digests = storage_bytes(dau * 365, 1_000 + 768 * 2, replicas=3)  # 1 kB text
    cache = concurrent_sessions * active * row_bytes  # the rows, text and vector
    cache_hosts = servers_needed(cache, RAM_HOST_BYTES)
    out = {
        "turns_qps": turns_qps,
        "session_qps": session_qps,
        "turns_per_day": turns_per_day,
        "memory_store": human_bytes(store),
        "summaries": human_bytes(digests),
        "transcripts_per_day": human_bytes(storage_bytes(turns_per_day, 2_000, 3)),
        "retrieval_log_per_day": human_bytes(storage_bytes(turns_per_day, 200, 3)),
        "write_log_per_day": human_bytes(  # ~2 memory operations a session
            storage_bytes(dau * sessions_per_day * 2, 300, 3)
        ),
        "user_vectors": human_bytes(user_vectors),
        "session_cache": human_bytes(cache),
        "session_loads": human_bytes(session_qps * active * row_bytes),
        "scan_cores": servers_needed(turns_qps * user_vectors, 10e9),  # 10 GB/s a core
        "embed_gpus": embed_gpus,
        "flat_vectors": human_bytes(monthly * active * 768 * 2),
        # HNSW, M = 16: 2M links of 8-byte ids a vector (1e11 vectors need 64 bits).
        "hnsw_ram": human_bytes(monthly * active * (768 * 2 + 2 * 16 * 8)),
        "store_dollars": (store + digests)
        / 1e9
        * SSD_DOLLARS_PER_GB_MONTH
        * 24
        / HOURS_PER_MONTH,
        "cache_hosts": cache_hosts,
        "cache_dollars": cache_hosts * 24 * RAM_HOST_DOLLARS_PER_HOUR,
        "memory_tokens": memory_tokens,
        "all_memory_tokens": all_memories,
        "kv_memory": human_bytes(kv_cache_bytes(model, memory_tokens)),
        "kv_all": human_bytes(kv_cache_bytes(model, all_memories)),
        "batch_all": int(
            kv_room // kv_cache_bytes(model, conversation + all_memories + 500)
        ),
        "prefill_tokens": memory_tokens + conversation,
        "prefill_ms": 1e3 * gpu_s(memory_tokens + conversation, 0) / 8,
        "efficiency": efficiency,
        "extract_gpu_s": extract_s,
        "extract_gpus": extract_gpus,
        "extract_dollars": extract_gpus * 24 * a100_hour,
        "a100_hour": a100_hour,
        "budget_ms": 1_000.0,
        "headroom_ms": remaining_budget_ms(1_000.0, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    own_prefill = gpu_s(400, conversation)
    policies["no memory: the turn itself"] = (own_prefill, turn_s(0) - own_prefill)
    for name, (prefill, in_turn) in policies.items():
        seconds = prefill + in_turn
        gpus = servers_needed(turns_qps * seconds, 1.0)  # 1 GPU-second per second
        out[f"policy:{name}"] = (prefill, in_turn, seconds, gpus, gpus * 24 * a100_hour)
    return out
    # --8<-- [end:estimate]


VALIDATION_SEED, VALIDATION_USERS = 1_000, 40
TEST_SEEDS, TEST_USERS = (1, 2, 3, 4, 5), 60
LINK_RECALL, FALSE_LINK = 0.8, 0.02  # the simulated write-time linker, assumed
SUPERSEDE = "combined + supersede at write"
EQUAL = "similarity, equal mentions"  # old mentions thinned to the current's count
PARK_WEIGHTS, PARK_DECAY = (
    "  Park's weights, tuned decay",
    "  tuned weights, Park's decay",
)
# Park et al. (2023): equal weights, recency decaying by 0.995 an hour, untuned here.
PARK_HALF_LIFE_DAYS = math.log(0.5) / math.log(0.995) / 24
METRICS = (
    "recall, all",
    "recall, stable",
    "recall, changed",
    "superseded",
    "stale first",
)


# --8<-- [start:experiment]
def choose_methods(validation: Histories) -> dict[str, tuple]:
    """Each method's (weights, half-life), tuned on the validation world."""
    found = search_weights(validation)
    tuned = best(found, lambda w: True)
    equal = (1 / 3, 1 / 3, 1 / 3)
    return {
        "recency only": ((0.0, 1.0, 0.0), HALF_LIVES[1]),  # any half-life: same order
        "similarity only": ((1.0, 0.0, 0.0), HALF_LIVES[1]),
        EQUAL: ((1.0, 0.0, 0.0), HALF_LIVES[1]),  # on a thinned store
        "Park et al.'s constants": (equal, PARK_HALF_LIFE_DAYS),
        PARK_WEIGHTS: (equal, tuned[1]),  # which of the two constants costs recall
        PARK_DECAY: (tuned[0], PARK_HALF_LIFE_DAYS),
        "combined, tuned": tuned,
        "  without relevance": best(found, lambda w: w[0] == 0),
        "  without recency": best(found, lambda w: w[1] == 0),
        "  without importance": best(found, lambda w: w[2] == 0),
        SUPERSEDE: best(found, lambda w: True),  # the same score, fewer candidates
    }


def summarise(h: Histories, g: Graded) -> dict[str, float]:
    """Each metric, averaged over the questions it applies to."""
    changed = h.query_changed
    return {
        "recall, all": float(g.recall.mean()),
        "recall, stable": float(g.recall[~changed].mean()),
        "recall, changed": float(g.recall[changed].mean()),
        "superseded": float(g.superseded[changed].mean()),
        "stale first": float(g.stale_first[changed].mean()),
    }


def run_experiment(seeds: Sequence[int] = TEST_SEEDS) -> dict:
    """Every method on every test world, graded; and the worlds' make-up."""
    methods = choose_methods(simulate_histories(VALIDATION_USERS, VALIDATION_SEED))
    worlds, grades = [], []
    for seed in seeds:
        h = simulate_histories(TEST_USERS, seed)
        active = write_time_supersession(h, LINK_RECALL, FALSE_LINK, seed)
        thinned = equal_mentions(h, seed)
        lives = sorted({life for _, life in methods.values()})
        terms = world_terms(h, lives)
        stores = {  # the methods that rank fewer candidates
            SUPERSEDE: world_terms(h, [methods[SUPERSEDE][1]], active),
            EQUAL: world_terms(h, [methods[EQUAL][1]], thinned),
        }
        graded = {}
        for name, (weights, life) in methods.items():
            t = stores.get(name, terms)[life]
            graded[name] = summarise(h, grade(h, memory_score(t, weights)))
        grades.append(graded)
        worlds.append(h)
    return {"methods": methods, "grades": grades, "worlds": worlds}


def compare(out: dict, a: str, b: str, metric: str) -> tuple[float, float, float]:
    """Method a minus method b, paired by world: mean and 95% interval."""
    return paired_interval([g[a][metric] - g[b][metric] for g in out["grades"]])
    # --8<-- [end:experiment]


def describe(worlds: Sequence[Histories]) -> dict[str, float]:
    """What the test worlds hold, from the ground truth."""
    rows = {"memories": [], "facts": [], "old": [], "now": [], "age_stable": []}
    for h in worlds:
        for u in range(h.users):
            fact = h.slot[u] >= 0
            rows["memories"].append(h.valid[u].sum())
            rows["facts"].append(fact.sum())
            changed = h.query_changed[u][np.maximum(h.slot[u], 0)] & fact
            rows["old"].append(
                h.superseded[u][changed].sum() / h.query_changed[u].sum()
            )
            rows["now"].append(h.current[u][changed].sum() / h.query_changed[u].sum())
            stable = fact & ~changed
            for s in np.unique(h.slot[u][stable]):
                newest = h.day[u][h.slot[u] == s].max()
                rows["age_stable"].append(DAYS - newest)
    return {key: float(np.mean(v)) for key, v in rows.items()}


COMPARISONS = (  # (method a, method b, metrics): a minus b
    ("combined, tuned", "recency only", ("recall, stable", "recall, changed")),
    ("combined, tuned", "similarity only",
     ("recall, stable", "recall, changed", "superseded", "stale first")),
    ("  without relevance", "combined, tuned", ("recall, all",)),
    ("  without recency", "combined, tuned",
     ("recall, stable", "recall, changed", "stale first")),
    ("  without importance", "combined, tuned", ("recall, stable", "recall, changed")),
    (EQUAL, "similarity only", ("stale first",)),
    ("Park et al.'s constants", "combined, tuned",
     ("recall, changed", "stale first", "recall, all")),
    (PARK_WEIGHTS, "combined, tuned", ("stale first", "recall, all")),
    (PARK_DECAY, "combined, tuned", ("stale first", "recall, all")),
    (SUPERSEDE, "combined, tuned",
     ("superseded", "stale first", "recall, stable", "recall, all")),
)  # fmt: skip
LABELS = {
    "recall, all": "recall@5, all questions",
    "recall, stable": "recall@5, stable facts",
    "recall, changed": "recall@5, changed facts",
    "superseded": "superseded in top 5",
    "stale first": "superseded ranked first",
}


def print_estimate() -> None:
    est = estimate()
    print("Back-of-envelope (assumptions in estimate):")
    rows = {
        "peak turns per second": f"{est['turns_qps']:,.0f}",
        "peak session starts per second": f"{est['session_qps']:,.0f}",
        "memory store, 1,500 rows a user, x3": est["memory_store"],
        "daily digests, a year, x3": est["summaries"],
        "transcripts per day, x3": est["transcripts_per_day"],
        "retrieval log per day": est["retrieval_log_per_day"],
        "memory-write log per day": est["write_log_per_day"],
        "memories loaded at session start /s": est["session_loads"],
        "session cache, rows of live users": est["session_cache"],
        "one user's vectors, scanned a turn": est["user_vectors"],
        "cores to scan them at peak": f"{est['scan_cores']:,}",
        "A100s to embed the messages at peak": f"{est['embed_gpus']:,}",
        "one flat index of every vector": est["flat_vectors"],
        "  as HNSW, M=16, in RAM": est["hnsw_ram"],
        "SSD for the store and digests, $ a day": f"{est['store_dollars']:,.0f}",
        f"{est['cache_hosts']} RAM hosts for the cache, $ a day": (
            f"{est['cache_dollars']:,.0f}"
        ),
    }
    for label, value in rows.items():
        print(f"  {label:<40}{value:>12}")
    print(
        f"Memory in the prompt: {LLAMA_3_1_70B.name} on {A100_40GB.name} at "
        f"{est['efficiency']:.0%} of the roofline,\n  fleets sized for the peak at "
        f"${est['a100_hour']:.2f} an A100-hour, all day:"
    )
    print(
        f"  {est['memory_tokens']} tokens: KV {est['kv_memory']} a sequence; all "
        f"{est['all_memory_tokens']:,}: KV {est['kv_all']}, {est['batch_all']} fit "
        "beside the weights"
    )
    print(
        f"  {'GPU-seconds a turn':<28}{'prefill':>9}{'in turn':>9}{'total':>8}"
        f"{'A100s at peak':>15}{'$ a day':>12}"
    )
    for key, value in est.items():
        if key.startswith("policy:"):
            prefill, in_turn, seconds, gpus, dollars = value
            print(
                f"  {key[7:]:<28}{prefill:>9.3f}{in_turn:>9.3f}{seconds:>8.3f}"
                f"{gpus:>15,}{dollars:>12,.0f}"
            )
    after, before, everything, turn = (
        v[2] for k, v in est.items() if k.startswith("policy:")
    )
    print(
        f"  {est['memory_tokens']} tokens after the conversation add "
        f"{after / turn:.0%} to a turn's GPU time;"
        f"\n  placed before it, {before / after:.1f}x as much; all memories, "
        f"{everything / after:.1f}x"
    )
    print(
        "  extraction by an 8B model after each session: "
        f"{est['extract_gpus']:,} A100s, ${est['extract_dollars']:,.0f} a day"
    )
    stages = [v for k, v in est.items() if k.startswith("stage:")]
    print(
        f"Time to first token, {est['budget_ms']:,.0f} ms p99 server-side: "
        f"{sum(stages):.0f} ms allocated to {len(stages)} stages,\n"
        f"  {est['headroom_ms']:.0f} ms headroom; a cold prefill of "
        f"{est['prefill_tokens']:,} tokens on 8 A100s takes {est['prefill_ms']:.0f} ms"
    )


def main() -> None:
    print_estimate()
    out = run_experiment()
    world = describe(out["worlds"])
    n = len(out["grades"])
    print(
        f"\n{n} test worlds of {TEST_USERS} users, {SESSIONS[0]}-{SESSIONS[1]} sessions"
        f" each over {DAYS} days;\n16 questions a user (8 stable facts, 8 changed"
        f" 1-3 times); top {K} memories each."
    )
    print(
        f"  memories a user {world['memories']:.0f}, of them facts "
        f"{world['facts']:.1f}\n  mentions per changed fact: of superseded values "
        f"{world['old']:.1f}, of the current one {world['now']:.1f}\n"
        f"  a stable fact's newest mention: {world['age_stable']:.0f} days old"
    )
    print(
        f"Weights (relevance, recency, importance) and half-life tuned on a "
        f"validation world\nof {VALIDATION_USERS} users for recall@5 minus the "
        "stale-first rate (Park et al.'s as published):"
    )
    for name, (weights, half_life) in out["methods"].items():
        if name.strip().startswith(("combined", "without", "Park", "tuned")):
            w = " ".join(f"{x:.2f}" for x in weights)
            life = f"{half_life:.1f} days" if weights[1] > 0 else "-"
            print(f"  {name.strip():<30} {w}  {life}")

    print(f"\nTop {K} memories per question, mean of {n} worlds")
    print(f"{'':<31}{'recall@' + str(K):^23}{'changed facts':>20}")
    print(
        f"{'method':<31}{'all':>7}{'stable':>8}{'changed':>8}"
        f"{'superseded':>12}{'first':>8}"
    )
    for name in out["methods"]:
        cells = [np.mean([g[name][m] for g in out["grades"]]) for m in METRICS]
        print(
            f"{name:<31}{cells[0]:>7.3f}{cells[1]:>8.3f}{cells[2]:>8.3f}"
            f"{cells[3]:>12.3f}{cells[4]:>8.3f}"
        )

    print(f"\nPaired differences over the {n} worlds: mean [95% interval]")
    for a, b, metrics in COMPARISONS:
        print(f"{a.strip()} minus {b.strip()}:")
        for metric in metrics:
            mean, low, high = compare(out, a, b, metric)
            verdict = "  tie" if low <= 0 <= high else ""
            interval = f"[{low:+.3f}, {high:+.3f}]"
            print(f"  {LABELS[metric]:<30}{mean:>+8.3f} {interval}{verdict}")


if __name__ == "__main__":
    main()
