"""Enterprise knowledge assistant in miniature: permissions inside retrieval.

The back-of-envelope for a company-wide RAG assistant (traffic, index memory, log
streams, ingestion and GPU cost, the latency budget to the first token, the bound
on how fast a revoked permission takes effect), then a seeded miniature: a corpus
whose chunks carry access lists, users in one to all of 24 groups, and questions
whose answering chunks the generator fixes. Two ways to apply permissions are
compared on the same candidates: filtering inside each retriever before its top
k (pre-filter) and dropping forbidden chunks after fusion (post-filter), with a
deeper post-filter cut as the ablation; a simulated answerer that cites the
chunks it is given; and a response cache keyed on the query alone or on the query
and the asker's permission set, replayed across an access-list change.
Five seeds, paired differences with a 95% interval.

Run it: ``python -m snippets.problems.enterprise_rag``.
"""

from __future__ import annotations

import math

import numpy as np

from snippets.common.bm25 import BM25
from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import clopper_pearson_interval, is_tie, paired_interval
from snippets.concepts.generative_ai import (
    H100_SXM,
    L4,
    LLAMA_3_8B,
    LLAMA_3_70B,
    Accelerator,
    forward_time,
    kv_cache_bytes,
    kv_room_bytes,
)
from snippets.framework.cost import H100_DOLLARS_PER_HOUR
from snippets.problems import enterprise_rag_retrieval as rr
from snippets.problems import enterprise_rag_world as ew

# Hourly on-demand prices, AWS us-east-1, from AWS's price list as of 2026-01-19
# (assumptions: check them before quoting). p5.48xlarge has eight H100 SXM.
L4_DOLLARS_PER_HOUR = 0.8048  # g6.xlarge, one L4
RAM_HOST_DOLLARS_PER_HOUR, RAM_HOST_BYTES = 2.1168, 256 * 2**30  # r7i.8xlarge
CPU_HOST_DOLLARS_PER_HOUR, CPU_HOST_CORES = 1.428, 16  # c7i.8xlarge
HOURS_PER_MONTH = 730
WORKING_DAYS_PER_MONTH = 365 * 5 / 7 / 12  # weekdays; holidays ignored


# --8<-- [start:estimate]
def estimate() -> dict[str, float | str]:
    """Traffic, index memory, logs, ingestion, GPUs, latency and freshness."""
    employees, daily_share, questions_per_user = 100_000, 0.4, 6  # assumed
    # A working day's questions arrive in ~9 hours, the busiest hour at 1.5x
    # that mean: 24 / 9 x 1.5 = 4x the 24-hour mean (an assumption).
    qps = peak_qps(employees * daily_share, questions_per_user, peak_to_average=4.0)
    questions_per_day = employees * daily_share * questions_per_user
    documents, chunks_per_doc, tokens_per_chunk = 30e6, 10, 300  # assumed
    chunks = documents * chunks_per_doc
    # Dense index: 768 fp16 dimensions, HNSW with M = 16 (2M = 32 links of 4 B on
    # layer 0), an 8 B id and six 4 B principal ids of the chunk's access list.
    vector, links, acl = 768 * 2, 2 * 16 * 4 + 8, 6 * 4
    # Inverted index: ~180 distinct terms a chunk at ~3 B a posting, plus the six
    # principals as filter terms. Chunk store: text (~4 B a token) and metadata.
    postings = (180 + 6) * 3
    # Prompt: 700 tokens of instructions, 8 chunks, 400 of question and history.
    prompt, output, batch = 700 + 8 * tokens_per_chunk + 400, 300, 64
    # Four H100s in tensor parallel act, at best, as one accelerator with four
    # times the memory, bandwidth and FLOP/s (communication ignored); kernels
    # reach an assumed half of that roofline bound.
    tp = Accelerator(
        "4 x H100 SXM",
        4 * H100_SXM.memory_bytes,
        4 * H100_SXM.bandwidth,
        4 * H100_SXM.peak_flops,
    )
    efficiency = 0.5
    prefill_s = forward_time(LLAMA_3_70B, tp, prompt, 0).seconds / efficiency
    cached_prefill_s = forward_time(LLAMA_3_70B, tp, prompt - 700, 700).seconds
    cached_prefill_s /= efficiency  # the static 700-token prefix served from cache

    def step(batch: int) -> float:  # one decode step of `batch` sequences
        s = forward_time(LLAMA_3_70B, tp, 1, prompt + output // 2, batch).seconds
        return s / efficiency

    step_s = step(batch)
    replica_s = prefill_s + output * step_s / batch  # per question, full batch
    replicas = max(2, servers_needed(qps * replica_s, 1.0, utilisation=0.6))
    # Below saturation a replica decodes fewer than 64 sequences. Each replica
    # gets qps / replicas questions a second; their prefills stall its decode
    # for a share `stall` of every second, and in the rest a batch of b makes
    # b / step(b) tokens a second. The peak's batch is the smallest b whose
    # token rate meets the arrivals' 300 tokens each; Little's law then gives
    # the sequences in flight (arrival rate x time in the system).
    per_replica = qps / replicas
    stall = per_replica * prefill_s
    batch_peak = next(
        b
        for b in range(1, batch + 1)
        if b * (1 - stall) / step(b) >= per_replica * output
    )
    step_peak_s = step(batch_peak)
    token_gap_s = step_peak_s / (1 - stall)  # a step plus its share of stalls
    in_flight = qps * (prefill_s + output * token_gap_s)
    replica_s_peak = prefill_s + output * step_peak_s / batch_peak
    # Query rewrite: Llama 3 8B on one H100, 400 tokens in, 20 out, batch 16.
    rw_prefill = forward_time(LLAMA_3_8B, H100_SXM, 400, 0).seconds / efficiency
    rw_step = forward_time(LLAMA_3_8B, H100_SXM, 1, 410, 16).seconds / efficiency
    rewrite_s = rw_prefill + 20 * rw_step
    rewrite_gpus = max(2, servers_needed(qps * (rw_prefill + 20 * rw_step / 16), 1.0))
    # Encoders on L4s at an assumed 30% of dense FP16 peak: two 110M-parameter
    # input classifiers (injection, personal data) over 400 tokens; a 435M-
    # parameter entailment model checking each answer sentence against its cited
    # chunks, 20 (sentence, chunk) pairs of ~330 tokens over ~12 sentences.
    l4_flops = L4.peak_flops * 0.3
    classify_s = 2 * (2 * 110e6 * 400) / l4_flops
    entail_s = 2 * 435e6 * 20 * 330 / l4_flops
    checkers = max(2, servers_needed(qps * (classify_s + entail_s), 1.0, 0.5))
    # Re-ranker: a 33M-parameter cross-encoder over 50 candidates of ~330 tokens,
    # on L4s at an assumed 30% of their dense FP16 peak.
    rerank_flops = 2 * 33e6 * 50 * 330
    rerank_s = rerank_flops / (L4.peak_flops * 0.3)
    # Ingestion: a 110M-parameter encoder embeds every chunk once, then the 2% of
    # documents edited each day; OCR of an assumed 10% of documents (scans and
    # image PDFs, 8 pages each) at one core-second a page.
    embed_flops_per_token = 2 * 110e6
    embed_gpu_h = chunks * tokens_per_chunk * embed_flops_per_token
    embed_gpu_h /= L4.peak_flops * 0.3 * 3600
    ocr_core_h = documents * 0.1 * 8 / 3600
    stages_ms = {  # allocations of the time to first token, server-side p99
        "auth, group resolution": 40,
        "input checks (injection, personal data)": 40,
        # The rewrite's roofline estimate is ~200 ms: a p99 needs ~25% of slack.
        "query rewrite (small model)": 250,
        "BM25 and dense, filtered, in parallel": 80,
        "fusion and dedup": 10,
        "cross-encoder re-rank of 50": 60,
        "chunk fetch, prompt assembly": 30,
        "queue for a batch slot": 300,
        "prefill of the prompt": 400,
    }
    # A user who may read few chunks gets an exact scan of just those vectors (a
    # pre-filter that cannot miss): at an assumed 10 GB/s of memory bandwidth per
    # core, 8 cores and 20 ms scan this many 1,536-byte vectors.
    scan_chunks = 20e-3 * 8 * 10e9 / vector
    ram = storage_bytes(chunks, vector + links + acl, replicas=2)
    ram += storage_bytes(chunks, postings, replicas=2)
    gpus = 4 * replicas
    llm_month = gpus * H100_DOLLARS_PER_HOUR * HOURS_PER_MONTH
    rerankers = max(2, servers_needed(qps * rerank_s, 1.0, utilisation=0.5))
    ram_hosts = math.ceil(ram / (RAM_HOST_BYTES * 0.7))  # 70% of RAM for indices
    months = {  # dollars a month per stage
        "LLM": llm_month,
        "rewrite": rewrite_gpus * H100_DOLLARS_PER_HOUR * HOURS_PER_MONTH,
        "re-ranker": rerankers * L4_DOLLARS_PER_HOUR * HOURS_PER_MONTH,
        "checks": checkers * L4_DOLLARS_PER_HOUR * HOURS_PER_MONTH,
        "index hosts": ram_hosts * RAM_HOST_DOLLARS_PER_HOUR * HOURS_PER_MONTH,
    }
    gpu_dollars_per_second = 4 * H100_DOLLARS_PER_HOUR / 3600
    return {
        "dau": employees * daily_share,
        "questions_per_day": questions_per_day,
        "peak_qps": qps,
        "chunks": chunks,
        "ann_bytes_per_chunk": vector + links + acl,
        "ann_index": human_bytes(storage_bytes(chunks, vector + links + acl, 2)),
        "bm25_index": human_bytes(storage_bytes(chunks, postings, replicas=2)),
        "chunk_store": human_bytes(storage_bytes(chunks, 1_500, replicas=3)),
        "ram_hosts": ram_hosts,
        "exact_scan_chunks": scan_chunks,
        "exact_scan_share": scan_chunks / chunks,
        # Logs, one line per stream: question and answer (ids and scores of the
        # 200 candidates, the context's ids, the answer, latencies: ~4 kB),
        # feedback (0.3 events a question, 200 B), the connectors' change feed
        # (2% of documents edited a day at 1 kB, 0.5% re-shared at 500 B, 0.1%
        # deleted at 200 B), and judged samples (2% of questions, 10 kB with text).
        "log:questions and answers": storage_bytes(questions_per_day, 4_000),
        "log:feedback events": storage_bytes(questions_per_day * 0.3, 200),
        "log:connector change feed": storage_bytes(documents, 0.02 * 1_000)
        + storage_bytes(documents, 0.005 * 500)
        + storage_bytes(documents, 0.001 * 200),
        "log:judged samples": storage_bytes(questions_per_day * 0.02, 10_000),
        "acl_chunk_updates_per_s": documents * 0.005 * chunks_per_doc / 86_400 * 4,
        "embed_gpu_hours": embed_gpu_h,
        "embed_dollars": embed_gpu_h * L4_DOLLARS_PER_HOUR,
        "embed_daily_gpu_hours": embed_gpu_h * 0.02,
        "ocr_core_hours": ocr_core_h,
        "ocr_dollars": ocr_core_h / CPU_HOST_CORES * CPU_HOST_DOLLARS_PER_HOUR,
        "prompt_tokens": prompt,
        "output_tokens": output,
        "prefill_ms": prefill_s * 1e3,
        "cached_prefill_ms": cached_prefill_s * 1e3,
        "tpot_ms": step_s * 1e3,
        "answer_s": output * step_s,
        "batch": batch,
        "kv_gb_per_sequence": kv_cache_bytes(LLAMA_3_70B, prompt + output) / 1e9,
        "sequences_that_fit": int(
            kv_room_bytes(LLAMA_3_70B, H100_SXM, 4, 2)
            // kv_cache_bytes(LLAMA_3_70B, prompt + output)
        ),
        "replica_s_per_question": replica_s,
        "replicas": replicas,
        "gpus": gpus,
        "in_flight_at_peak": in_flight,
        "batch_at_peak": batch_peak,
        "tpot_at_peak_ms": step_peak_s * 1e3,
        "prefill_stall_share": stall,
        "token_gap_at_peak_ms": token_gap_s * 1e3,
        "replica_s_at_peak": replica_s_peak,
        "rewrite_ms": rewrite_s * 1e3,
        "rewrite_gpus": rewrite_gpus,
        "rerankers": rerankers,
        "rerank_ms": rerank_s * 1e3,
        "classify_ms": classify_s * 1e3,
        "entail_ms": entail_s * 1e3,
        "entail_sentence_ms": entail_s / 12 * 1e3,
        "checkers": checkers,
        **{f"month:{name}": dollars for name, dollars in months.items()},
        # Traffic comes on working days only: 240,000 questions on each of them.
        "dollars_per_question": sum(months.values())
        / (questions_per_day * WORKING_DAYS_PER_MONTH),
        "gpu_dollars_per_busy_question": replica_s * gpu_dollars_per_second,
        "gpu_dollars_at_peak_batch": replica_s_peak * gpu_dollars_per_second,
        "budget_ms": 2_000.0,
        "headroom_ms": remaining_budget_ms(2_000, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
        # Revocations and deletions must take effect within 5 minutes (agreed
        # with security, an assumption): connector webhook or poll 120 s,
        # change queue 30 s, access-list update of both indices (in Lucene-style
        # segments a delete and re-add with the stored vector, no re-embedding)
        # and the tombstone (a deny-list read by every search) 60 s, caches bounded by
        # re-checking cited chunks at serve time; 90 s of headroom.
        # A red-team set: 300 restricted documents x 10 questions each, asked as
        # users who may not read them. Zero leaks bounds the leak rate, no more.
        # One-sided 95% bound = upper end of the two-sided 90% interval. The
        # probes cluster by document, so 300 is the smallest effective n.
        "red_team_probes": 3_000,
        "red_team_upper": clopper_pearson_interval(0, 3_000, 0.90)[1],
        "red_team_upper_documents": clopper_pearson_interval(0, 300, 0.90)[1],
        "freshness_s": 300.0,
        "freshness_headroom_s": remaining_budget_ms(
            300, {"webhook or poll": 120, "queue": 30, "index update, tombstone": 60}
        ),
        # Membership changes take their own path: directory sync (webhook or
        # poll) 120 s, then the request-time membership cache, TTL 60 s.
        "membership_headroom_s": remaining_budget_ms(
            300, {"directory sync": 120, "membership cache TTL": 60}
        ),
    }
    # --8<-- [end:estimate]


TIERS = (1, 2, 4, 8, 16, None)  # groups per user; None: every group
K = 5  # chunks in the context
CUTS = (5, 10, 20, 40, 80, 160)  # post-filter: fused positions kept before dropping
THRESHOLD = 0.7  # support the answerer needs to cite a chunk
SUPPORT_NOISE = 0.2  # spread of the answerer's judgement of a chunk
SEEDS = range(5)


def scores(world: ew.World, questions: ew.Questions, bm25: BM25) -> list[np.ndarray]:
    """BM25 and dense scores of every chunk for every question."""
    return [bm25.scores(questions.counts), questions.vectors @ world.chunk_vectors.T]


def tier_name(n_groups: int | None) -> str:
    return "all" if n_groups is None else str(n_groups)


def groups_label(n_groups: int | None) -> str:
    return "1 group" if n_groups == 1 else f"{tier_name(n_groups)} groups"


def run_seed(seed: int) -> dict:
    """One world: retrieval by tier, answers, and the cache replay."""
    world = ew.make_world(seed)
    questions = ew.make_questions(world, seed, TIERS, users_per_tier=20)
    bm25 = BM25(world.chunk_counts)
    both = scores(world, questions, bm25)
    permitted = world.permitted(questions.groups)
    readable_gold = ew.gold(world, questions) & permitted
    pre = rr.pre_filter(both, permitted, K)
    post = rr.post_filter(both, permitted, K, CUTS)
    rng = np.random.default_rng([seed, 2])
    noise = rng.normal(scale=SUPPORT_NOISE, size=permitted.shape)
    support = ew.support_signal(world, questions) + noise

    answerable = questions.kind == "answerable"
    out: dict = {"tiers": [], "hybrid": {}}
    for t in range(len(TIERS)):
        rows = answerable & (questions.tier == t)
        gold_t = readable_gold[rows]
        out["tiers"].append(
            {
                "visible": permitted[rows].mean(),
                "recall_pre": np.nanmean(rr.recall(pre[rows], gold_t)),
                "filled_pre": (pre[rows] >= 0).sum(axis=1).mean(),
                **{
                    f"recall_post_{c}": np.nanmean(rr.recall(post[c][rows], gold_t))
                    for c in CUTS
                },
                **{
                    f"filled_post_{c}": (post[c][rows] >= 0).sum(1).mean() for c in CUTS
                },
            }
        )
    # Each retriever alone, for users who may read everything (no filter at work).
    everyone = answerable & (questions.tier == len(TIERS) - 1)
    gold_all = readable_gold[everyone]
    for name, s in (("BM25", both[0]), ("dense", both[1])):
        alone = rr.top_ranked(s[everyone], K)
        out["hybrid"][name] = np.nanmean(rr.recall(alone, gold_all))
    out["hybrid"]["fused"] = np.nanmean(rr.recall(pre[everyone], gold_all))

    # Answers: the five restricted tiers pooled, each method on the same questions.
    restricted = questions.tier < len(TIERS) - 1
    size_post = (post[K] >= 0).sum(axis=1)
    cut_pre = np.where(np.arange(K)[None, :] < size_post[:, None], pre, -1)
    contexts = {
        "pre-filter": pre,
        "post-filter": post[K],
        "pre, cut to post's size": cut_pre,
    }
    out["answers"] = {}
    for name, context in contexts.items():
        out["answers"][name] = _answer_metrics(
            context, support, readable_gold, answerable, restricted, THRESHOLD
        )
    for threshold in (0.6, 0.8):
        out["answers"][f"pre-filter, threshold {threshold}"] = _answer_metrics(
            pre, support, readable_gold, answerable, restricted, threshold
        )
    out["cache"] = rr.replay_cache(world, bm25, seed, k=K)
    return out


def _answer_metrics(context, support, gold, answerable, restricted, threshold):
    answers = rr.answer(context, support, gold, threshold)
    on = answerable & restricted
    off = ~answerable & restricted
    sub = rr.Answers(answers.cited[on], answers.cited_gold[on])
    precision, recall = rr.citation_scores(sub, gold[on])
    return {
        "correct": answers.correct[on].mean(),
        "wrong": answers.wrong[on].mean(),
        "abstain": answers.abstained[on].mean(),
        "citation_precision": precision,
        "citation_recall": recall,
        "unanswerable_abstain": answers.abstained[off].mean(),
        "unanswerable_wrong": answers.wrong[off].mean(),
    }


def _print_estimate(est: dict) -> None:
    print("Back-of-envelope (every input an assumption stated in the code)")
    print(
        f"traffic     {est['dau']:,.0f} daily users x 6 questions ="
        f" {est['questions_per_day']:,.0f} a day; peak {est['peak_qps']:.1f} a second"
    )
    print(
        f"indices     {est['chunks'] / 1e6:,.0f} million chunks: dense"
        f" {est['ann_index']} ({est['ann_bytes_per_chunk']:,} B a chunk, 2 copies),"
        f" BM25 {est['bm25_index']}"
    )
    print(
        f"            in RAM on {est['ram_hosts']} hosts of 256 GiB;"
        f" chunk store {est['chunk_store']} on SSD (3 copies)"
    )
    print(
        f"exact scan  users who read <= {est['exact_scan_chunks']:,.0f} chunks"
        f" ({est['exact_scan_share']:.2%} of the corpus): 20 ms on 8 cores"
    )
    logs = [f"{k[4:]} {human_bytes(v)}" for k, v in est.items() if k[:4] == "log:"]
    print("logs a day  " + ", ".join(logs[:2]) + ",")
    print("            " + ", ".join(logs[2:]))
    print(
        f"ingestion   embeddings {est['embed_gpu_hours']:.1f} L4-hours once"
        f" (${est['embed_dollars']:,.0f}), {est['embed_daily_gpu_hours']:.1f} a day"
    )
    print(
        f"            OCR {est['ocr_core_hours']:,.0f} core-hours once"
        f" (${est['ocr_dollars']:,.0f}); {est['acl_chunk_updates_per_s']:.0f} chunk"
        " ACL updates a second at peak"
    )
    print(
        f"generation  Llama 3 70B on 4 H100s: prompt {est['prompt_tokens']:,} tokens,"
        f" prefill {est['prefill_ms']:.0f} ms; {est['output_tokens']} tokens"
    )
    print(
        f"            at {est['tpot_ms']:.1f} ms (batch {est['batch']}) ="
        f" {est['answer_s']:.1f} s; KV {est['kv_gb_per_sequence']:.2f} GB a sequence,"
        f" <= {est['sequences_that_fit']} fit"
    )
    print(
        f"            {est['replica_s_per_question']:.3f} replica-s a question at"
        f" full batch; prefill {est['cached_prefill_ms']:.0f} ms with the prefix cached"
    )
    print(
        f"fleet       {est['replicas']} replicas = {est['gpus']} H100s; at peak,"
        f" prefills {est['prefill_stall_share']:.0%} of the time;"
        f" batch {est['batch_at_peak']}"
        " keeps up:"
    )
    print(
        f"            step {est['tpot_at_peak_ms']:.1f} ms, token gap"
        f" {est['token_gap_at_peak_ms']:.1f} ms, {est['in_flight_at_peak']:.0f} in"
        f" flight; {est['replica_s_at_peak']:.3f} replica-s each ="
        f" {est['peak_qps'] * est['replica_s_at_peak']:.2f} replicas"
    )
    print(
        f"small       rewrite {est['rewrite_ms']:.0f} ms on"
        f" {est['rewrite_gpus']} H100s;"
        f" re-ranker {est['rerank_ms']:.0f} ms on {est['rerankers']} L4s;"
    )
    print(
        f"            input checks {est['classify_ms']:.0f} ms, citation entailment"
        f" {est['entail_sentence_ms']:.0f} ms a sentence on {est['checkers']} L4s"
    )
    months = {k[6:]: v for k, v in est.items() if k.startswith("month:")}
    total = sum(months.values())
    cells = [f"{name} ${dollars:,.0f}" for name, dollars in months.items()]
    print("a month     " + ", ".join(cells[:3]) + ",")
    print("            " + ", ".join(cells[3:]) + f" (LLM {months['LLM'] / total:.0%})")
    print(
        f"            ${est['dollars_per_question']:.4f} a question (working days);"
        f" H100 time of one"
    )
    print(
        f"            question ${est['gpu_dollars_per_busy_question']:.4f} at full"
        f" batch, ${est['gpu_dollars_at_peak_batch']:.4f} at the peak's batch"
    )
    print(
        f"red team    0 leaks in {est['red_team_probes']:,} probes: leak rate below"
        f" {est['red_team_upper']:.2%} (one-sided 95%, Clopper-Pearson);"
    )
    print(
        f"            {est['red_team_upper_documents']:.2%} counting the 300"
        " documents, not the probes"
    )
    print(f"Time to first token, server-side p99 {est['budget_ms']:,.0f} ms")
    for key, ms in est.items():
        if key.startswith("stage:"):
            print(f"  {key[6:]:<42} {ms:5.0f} ms")
    print(f"  {'headroom':<42} {est['headroom_ms']:5.0f} ms")
    print(
        f"Revocations and deletions effective within {est['freshness_s']:.0f} s:"
        " webhook or poll 120, queue 30,"
    )
    print(
        f"  index update and tombstone 60, headroom {est['freshness_headroom_s']:.0f};"
        " membership changes: directory sync 120,"
    )
    print(f"  membership cache TTL 60, headroom {est['membership_headroom_s']:.0f}")


def _mean(values) -> float:
    return float(np.mean(values))


def _diff_line(label: str, a, b) -> str:
    mean, low, high = paired_interval(np.asarray(a) - np.asarray(b))
    tie = "  tie" if is_tie(low, high) else ""
    return f"  {label:<38} {mean:+.3f} [{low:+.3f}, {high:+.3f}]{tie}"


def _smallest_tied_cut(runs: list[dict], t: int) -> str:
    """The first cut whose recall is not below the pre-filter's (interval)."""
    pre = [r["tiers"][t]["recall_pre"] for r in runs]
    for cut in CUTS:
        post = [r["tiers"][t][f"recall_post_{cut}"] for r in runs]
        _, _, high = paired_interval(np.asarray(post) - np.asarray(pre))
        if high >= 0:
            return str(cut)
    return f">{CUTS[-1]}"


def _print_miniature(runs: list[dict]) -> None:
    config = ew.WorldConfig()
    n_chunks = config.documents * config.chunks_per_document
    print(
        f"\n{len(runs)} seeds; each {n_chunks:,} chunks in {config.documents}"
        f" documents, {config.groups} groups; 20 users per tier, k = {K}"
    )
    tiers = [[r["tiers"][t] for r in runs] for t in range(len(TIERS))]
    print("Answerable questions: recall@5 and permitted chunks in the context")
    print("groups  visible  recall pre  post   in context pre  post")
    for t, rows in enumerate(tiers):
        print(
            f"{tier_name(TIERS[t]):>6} {_mean([r['visible'] for r in rows]):8.1%}"
            f" {_mean([r['recall_pre'] for r in rows]):11.3f}"
            f" {_mean([r[f'recall_post_{K}'] for r in rows]):5.3f}"
            f" {_mean([r['filled_pre'] for r in rows]):16.2f}"
            f" {_mean([r[f'filled_post_{K}'] for r in rows]):5.2f}"
        )
    hybrid = {k: [r["hybrid"][k] for r in runs] for k in runs[0]["hybrid"]}
    print(
        "Users who read everything, recall@5: "
        + ", ".join(f"{k} {_mean(v):.3f}" for k, v in hybrid.items())
    )

    head = "".join(f"{'k=' + str(c):>6}" for c in CUTS)
    print("\nPost-filter cut deeper: keep the first 5 permitted of the fused top k'")
    print(f"recall@5 {head}   pre  tied at")
    for t, rows in enumerate(tiers[:-1]):
        cells = "".join(
            f"{_mean([r[f'recall_post_{c}'] for r in rows]):6.3f}" for c in CUTS
        )
        pre = _mean([r["recall_pre"] for r in rows])
        tied = _smallest_tied_cut(runs, t)
        print(f"{tier_name(TIERS[t]):>8} {cells} {pre:5.3f}  k'={tied}")
    print(f"filled   {head}   k / visible")
    for t, rows in enumerate(tiers[:-1]):
        cells = "".join(
            f"{_mean([r[f'filled_post_{c}'] for r in rows]):6.2f}" for c in CUTS
        )
        ratio = K / _mean([r["visible"] for r in rows])
        print(f"{tier_name(TIERS[t]):>8} {cells}   {ratio:5.0f}")

    print(
        f"\nAnswers (cite a chunk if its support > {THRESHOLD}), five restricted tiers:"
    )
    print("                          answerable questions                 unanswerable")
    print(
        "context                   correct  wrong abstain c.prec c.recall"
        "  abstain  wrong"
    )
    answers = {m: [r["answers"][m] for r in runs] for m in runs[0]["answers"]}
    keys = ("correct", "wrong", "abstain", "citation_precision", "citation_recall")
    for name, rows in answers.items():
        cells = "".join(f"{_mean([r[k] for r in rows]):7.3f}" for k in keys)
        unanswerable = "".join(
            f"{_mean([r[k] for r in rows]):7.3f}"
            for k in ("unanswerable_abstain", "unanswerable_wrong")
        )
        print(f"{name:<25} {cells}  {unanswerable}")

    stream = rr.StreamConfig()
    print(
        f"\nResponse cache: {stream.requests} questions from {stream.users} users over"
        f" {stream.hours:.0f} hours; at hour {stream.change_hour:.0f},"
        f" {stream.narrowed:.0%} of documents"
    )
    print(f"move to one group and {stream.deleted:.0%} are deleted")
    print("cache key                          hit rate  leaks per 1,000 (seeds)")
    cache = {p.name: [r["cache"][p.name] for r in runs] for p in rr.CACHE_POLICIES}
    for name, rows in cache.items():
        leaks = [r["leaks_per_1000"] for r in rows]
        print(
            f"{name:<34} {_mean([r['hit_rate'] for r in rows]):8.1%}"
            f"  {_mean(leaks):6.1f}  ({min(leaks):.1f}-{max(leaks):.1f})"
        )

    print("\nPaired differences over the 5 seeds: mean [95% interval]")
    print(f"pre-filter minus post-filter (k' = {K}):")
    for t, rows in enumerate(tiers):
        print(
            _diff_line(
                f"recall@5, {groups_label(TIERS[t])}",
                [r["recall_pre"] for r in rows],
                [r[f"recall_post_{K}"] for r in rows],
            )
        )
    for t in (0, len(TIERS) - 2):
        print(
            _diff_line(
                f"chunks in context, {groups_label(TIERS[t])}",
                [r["filled_pre"] for r in tiers[t]],
                [r[f"filled_post_{K}"] for r in tiers[t]],
            )
        )
    pairs = (
        ("pre-filter", "post-filter"),
        ("pre, cut to post's size", "post-filter"),
    )
    for a, b in pairs:
        if a != "pre-filter":
            print(f"{a} minus {b}:")
        for label, key in (
            ("correct answers", "correct"),
            ("citation recall", "citation_recall"),
            ("citation precision", "citation_precision"),
            ("abstentions, unanswerable", "unanswerable_abstain"),
        ):
            print(
                _diff_line(
                    label,
                    [r[key] for r in answers[a]],
                    [r[key] for r in answers[b]],
                )
            )
    print("fused minus dense alone (users who read everything):")
    print(_diff_line("recall@5", hybrid["fused"], hybrid["dense"]))
    names = [p.name for p in rr.CACHE_POLICIES]
    for a, b in ((names[1], names[2]), (names[2], names[3])):
        print(f"{a.strip()} minus {b.strip()}:")
        print(
            _diff_line(
                "leaks per 1,000 questions",
                [r["leaks_per_1000"] for r in cache[a]],
                [r["leaks_per_1000"] for r in cache[b]],
            )
        )


def main() -> None:
    _print_estimate(estimate())
    _print_miniature([run_seed(seed) for seed in SEEDS])


if __name__ == "__main__":
    main()
