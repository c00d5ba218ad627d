"""Video search in miniature: lexical, multimodal and fused retrieval, per query kind.

The program of the video-search page: the back-of-envelope estimate (traffic, the
inverted and ANN indices with and without transcripts, the ingestion GPUs, logs, the
latency budget), then BM25, a CLIP-style multimodal embedding and reciprocal rank
fusion scored on the same queries of five seeded worlds, per query kind, with an
ablation for each claimed cause and paired intervals over the worlds. The world and
the retrievers live in :mod:`snippets.problems.video_search_world`, the scoring in
:mod:`snippets.problems.video_search_eval`.
Run it: ``python -m snippets.problems.video_search``.
"""

from __future__ import annotations

import math

import numpy as np

from snippets.common.estimation import (
    SECONDS_PER_DAY,
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.concepts.experimentation import duration_days, sample_size_per_arm
from snippets.concepts.experimentation_advanced import design_effect
from snippets.concepts.generative_ai import A100_80GB
from snippets.concepts.serving import leaf_quantile_needed
from snippets.problems.video_search_eval import (
    K_SWEEP,
    KEYPHRASES,
    METRICS,
    PROBED,
    PROBES,
    SYSTEMS,
    WorldResult,
    compare,
    score_world,
)
from snippets.problems.video_search_world import FIELDS, KINDS, TITLE_STYLES

SEEDS = (0, 1, 2, 3, 4)
SHORT = {
    "navigational": "nav",
    "descriptive": "desc",
    "spoken": "spoken",
    "visual": "visual",
}

# --8<-- [start:estimate]
# Stated assumptions: each is a number to say out loud and let the interviewer move.
SEARCHERS, SEARCHES_EACH, PEAK_TO_MEAN = 300e6, 4, 2  # daily searchers
VIDEOS, UPLOADS_PER_DAY, MINUTES_PER_VIDEO = 2e9, 3e6, 8  # searchable catalogue
WORDS_SPOKEN_A_MINUTE = 150  # so 8 minutes of speech are 1,200 words
# What each index field holds a video: distinct terms (a posting each) and the
# positions phrase queries need (one per token). Keyphrases are a bag of words.
INDEXED = {
    "metadata and OCR": (80, 80),
    "transcript": (400, WORDS_SPOKEN_A_MINUTE * MINUTES_PER_VIDEO),
    "transcript keyphrases": (50, 0),
}
BYTES_PER_POSTING, BYTES_PER_POSITION = 4, 4  # compressed
SHARD_BYTES = 64e9  # half of a 128 GB machine holds index data
# BM25 scans 5M postings at 5 ns for metadata, OCR and keyphrases; a query term's
# postings grow with the terms each video adds to the index.
POSTINGS_SCANNED, NS_PER_POSTING = 5e6, 5
PQ_BYTES, HNSW_M, HNSW_NODE_BYTES = 64, 16, 12  # per vector; faiss offset + level
FP16_DIM, SEGMENT_SECONDS = 512, 10  # re-scoring vectors; one clip vector per 10 s
CANDIDATES = 500  # re-scored by the ANN, and fetched for the ranker
NVME_IOPS = 500e3  # random 4 KB reads a second, one drive a machine
FEATURE_ROWS_PER_S, FEATURE_ROW_BYTES = 1e6, 100 * 4  # a RAM key-value machine
# Ingestion models, per second of video: an ASR encoder-decoder, an image encoder
# and an OCR model at one frame a second; GPUs run at 30% of the datasheet peak.
GPU_FLOP_PER_VIDEO_S = {"ASR": 70e9, "frame encoder": 5e9, "OCR": 10e9}
UPLOAD_PEAK_TO_MEAN, LIVE_STREAMS_AT_PEAK, GPU_UTILISATION = 2, 50_000, 0.3
# A backfill reads every video's low rendition and decodes it on CPUs.
BACKFILL_MBIT_PER_S, DECODE_SPEED = 1.0, 20  # x real time on one core
MACHINE_HOUR, GPU_HOUR, ZONES, HOURS_A_MONTH = 1.50, 2.00, 3, 730  # assumed prices
CORES_PER_MACHINE = 32  # the 128 GB machines that hold the shards
LOG_DAYS, DOLLARS_PER_TB_MONTH = 90, 20  # raw logs kept; object storage price
BUDGET_MS, CROSS_ZONE_MS = 200, 2  # server-side p99; a hedge to another zone
STAGE_MS = {  # allocations of the p99; what is left is headroom for the tail
    "front end and result cache": 15,
    "query understanding and text tower": 20,
    "retrieval: lexical 40 || ANN 25, in parallel": max(40, 25),
    "fusion (RRF)": 2,
    "feature fetch, 500 candidates": 20,
    "ranker, 500 candidates": 50,
    "re-rank: freshness, diversity, safety": 10,
}
CPU_MS_PER_SEARCH = {  # assumed, summed over shards: replace each with a profile
    "text tower (distilled, 6 layers)": 3.4,
    "ANN search (HNSW)": 2.0,
    "ranker (500 x 300 trees of depth 6 at 5 ns)": 4.5,
}
LOG_BYTES_PER_SEARCH = {  # every stream the loop needs, bytes per search
    "search requests (query, user, context)": 300,
    "impressions (20 shown x 40 B)": 20 * 40,
    "clicks (0.6 a search x 60 B)": 0.6 * 60,
    "watch heartbeats (0.6 clicks x 10 x 50 B)": 0.6 * 10 * 50,
    "features as served (30 rows x 100 x 4 B)": 30 * 100 * 4,
}
# A/B test on search success, randomised by user: one user's searches correlate.
SUCCESS_RATE, RELATIVE_MDE, INTRA_USER_CORRELATION = 0.40, 0.01, 0.05
WEEKLY_SEARCHERS, TEST_DAYS, TEST_SHARE = 600e6, 7, 0.01


def monthly(machines: int, hourly: float = MACHINE_HOUR) -> float:
    return machines * hourly * HOURS_A_MONTH


def lexical_tier(est: dict) -> None:
    """Index bytes and shards per field; machines, fan-out and BM25 CPU per option."""
    for field, (terms, positions) in INDEXED.items():
        per_video = terms * BYTES_PER_POSTING + positions * BYTES_PER_POSITION
        est[f"index {field}"] = storage_bytes(VIDEOS, per_video)
        est[f"shards {field}"] = math.ceil(est[f"index {field}"] / SHARD_BYTES)
    base = INDEXED["metadata and OCR"][0]
    chosen = base + INDEXED["transcript keyphrases"][0]
    for option in ("transcript", "transcript keyphrases"):
        shards = est["shards metadata and OCR"] + est[f"shards {option}"]
        est[f"fan-out {option}"] = shards
        est[f"shard percentile {option}"] = 100 * leaf_quantile_needed(shards)
        # A shard fills one machine's data memory; a full copy in every zone.
        est[f"machines {option}"] = shards * ZONES
        est[f"$ a month {option}"] = monthly(shards * ZONES)
        scanned = POSTINGS_SCANNED * (base + INDEXED[option][0]) / chosen
        est[f"bm25 ms {option}"] = scanned * NS_PER_POSTING / 1e6
        busy = est["peak_qps"] * est[f"bm25 ms {option}"] / 1e3
        est[f"bm25 cores {option}"] = servers_needed(busy, 1, 0.5)
        est[f"cores held {option}"] = shards * ZONES * CORES_PER_MACHINE


def vector_tiers(est: dict) -> None:
    """The ANN index per video and per clip, and the re-scoring reads."""
    per_vector = PQ_BYTES + 2 * HNSW_M * 4 + HNSW_NODE_BYTES  # code, 2M links
    clips = MINUTES_PER_VIDEO * 60 / SEGMENT_SECONDS
    for name, count in (("ann", VIDEOS), ("clips", VIDEOS * clips)):
        est[f"index {name}"] = storage_bytes(count, per_vector)
        est[f"machines {name}"] = math.ceil(est[f"index {name}"] / SHARD_BYTES) * ZONES
        est[f"$ a month {name}"] = monthly(est[f"machines {name}"])
    # Re-scoring reads one float16 vector per candidate: IOPS on NVMe, bytes in RAM.
    est["fp16 vectors"] = storage_bytes(VIDEOS, FP16_DIM * 2)
    est["rescore reads"] = est["peak_qps"] * CANDIDATES
    est["machines rescore nvme"] = servers_needed(
        est["rescore reads"], NVME_IOPS, 0.5, ZONES
    )
    est["machines rescore ram"] = math.ceil(est["fp16 vectors"] / SHARD_BYTES) * ZONES
    for medium in ("nvme", "ram"):
        est[f"$ a month rescore {medium}"] = monthly(est[f"machines rescore {medium}"])
    # The ranker's feature fetch: a row per candidate, from RAM, sized by reads.
    est["feature rows"] = est["peak_qps"] * CANDIDATES
    by_reads = servers_needed(est["feature rows"], FEATURE_ROWS_PER_S, 0.5, ZONES)
    by_bytes = ZONES * math.ceil(VIDEOS * FEATURE_ROW_BYTES / SHARD_BYTES)
    est["machines features"] = max(by_reads, by_bytes)
    est["$ a month features"] = monthly(est["machines features"])


def ingestion(est: dict) -> None:
    """GPUs for uploads at their peak and for live streams; the backfill's cost."""
    upload_s_per_s = UPLOADS_PER_DAY * MINUTES_PER_VIDEO * 60 / SECONDS_PER_DAY
    gpu = A100_80GB.peak_flops * GPU_UTILISATION
    est["video hours a day"] = upload_s_per_s * SECONDS_PER_DAY / 3600
    for model, flop in GPU_FLOP_PER_VIDEO_S.items():
        peak = upload_s_per_s * UPLOAD_PEAK_TO_MEAN * flop
        est[f"gpus uploads {model}"] = servers_needed(peak, gpu)
        est[f"gpus live {model}"] = servers_needed(LIVE_STREAMS_AT_PEAK * flop, gpu)
    est["gpus"] = sum(v for k, v in est.items() if k.startswith("gpus "))
    est["$ a month gpus"] = monthly(est["gpus"], GPU_HOUR)
    # A new encoder re-embeds the whole catalogue: GPU-hours, plus reading and
    # decoding every video, which costs more than the encoder's FLOPs.
    catalogue_s = VIDEOS * MINUTES_PER_VIDEO * 60
    est["catalogue hours"] = catalogue_s / 3600
    for name, model in (("frames", "frame encoder"), ("asr", "ASR")):
        hours = catalogue_s * GPU_FLOP_PER_VIDEO_S[model] / gpu / 3600
        est[f"backfill {name} gpu hours"] = hours
        est[f"$ backfill {name}"] = hours * GPU_HOUR
    est["backfill bytes read"] = catalogue_s * BACKFILL_MBIT_PER_S * 1e6 / 8
    est["decode core hours"] = catalogue_s / DECODE_SPEED / 3600
    est["$ decode"] = est["decode core hours"] * MACHINE_HOUR / CORES_PER_MACHINE
    # The re-transcription in months of a fleet the size of the upload ASR fleet.
    fleet_hours_a_month = est["gpus uploads ASR"] * HOURS_A_MONTH
    est["backfill asr months"] = est["backfill asr gpu hours"] / fleet_hours_a_month


def estimate() -> dict:
    """Traffic, every tier's machines and dollars, ingestion, logs, the budget."""
    est = {"peak_qps": peak_qps(SEARCHERS, SEARCHES_EACH, PEAK_TO_MEAN)}
    lexical_tier(est)
    vector_tiers(est)
    ingestion(est)
    for stage, ms in CPU_MS_PER_SEARCH.items():  # at 50% utilisation for bursts
        busy = est["peak_qps"] * ms / 1e3
        est[f"cores {stage}"] = servers_needed(busy, 1, 0.5)
        machines = servers_needed(busy, CORES_PER_MACHINE, 0.5, ZONES)
        est[f"machines {stage}"] = machines
        est[f"$ a month {stage}"] = monthly(machines)
    est["cores held ann"] = est["machines ann"] * CORES_PER_MACHINE
    searches_per_day = SEARCHERS * SEARCHES_EACH
    for stream, size in LOG_BYTES_PER_SEARCH.items():
        est[f"log {stream}"] = storage_bytes(searches_per_day, size)
    est["logs per day"] = sum(est[f"log {s}"] for s in LOG_BYTES_PER_SEARCH)
    est["logs kept"] = est["logs per day"] * LOG_DAYS
    est["$ a month logs"] = est["logs kept"] / 1e12 * DOLLARS_PER_TB_MONTH
    # The monthly bill of the chosen design (ANN search runs on the ANN machines).
    rescore = min(est["$ a month rescore nvme"], est["$ a month rescore ram"])
    est["bill"] = {
        "lexical index, keyphrases": est["$ a month transcript keyphrases"],
        "ANN index": est["$ a month ann"],
        "re-scoring vectors": rescore,
        "feature store": est["$ a month features"],
        "text tower": est["$ a month text tower (distilled, 6 layers)"],
        "ranker": est["$ a month ranker (500 x 300 trees of depth 6 at 5 ns)"],
        "ingestion GPUs": est["$ a month gpus"],
        "logs kept": est["$ a month logs"],
    }
    est["bill total"] = sum(est["bill"].values())
    est["headroom ms"] = remaining_budget_ms(BUDGET_MS, STAGE_MS)
    # A/B: searches per arm if independent, times the design effect, per user.
    per_user = SEARCHERS * SEARCHES_EACH * TEST_DAYS / WEEKLY_SEARCHERS
    est["ab searches per arm"] = sample_size_per_arm(SUCCESS_RATE, RELATIVE_MDE)
    est["ab searches a user"] = per_user
    est["ab design effect"] = design_effect(per_user, INTRA_USER_CORRELATION)
    est["ab users per arm"] = math.ceil(
        est["ab searches per arm"] * est["ab design effect"] / per_user
    )
    est["ab days"] = duration_days(
        est["ab users per arm"], 2, int(SEARCHERS), TEST_SHARE
    )
    return est
    # --8<-- [end:estimate]


def print_estimate() -> None:
    est = estimate()

    def month(key: str) -> str:
        return f"${est[key]:,.0f} a month"

    def tier(machines: str, dollars: str) -> str:
        return f"{est[machines]:,}, {month(dollars)}"

    rows = [("peak searches per second", f"{est['peak_qps']:,.0f}")]
    rows += [("inverted index, 2 billion videos (4 B a posting, a position):", "")]
    for field, (terms, positions) in INDEXED.items():
        size, shards = human_bytes(est[f"index {field}"]), est[f"shards {field}"]
        held = f"{terms} terms" + (f", {positions:,} positions" if positions else "")
        rows.append((f"  {field}: {held}", f"{size}, {shards} shards"))
    for option in ("transcript", "transcript keyphrases"):
        fan_out = est[f"fan-out {option}"]
        percentile = est[f"shard percentile {option}"]
        needed, held = est[f"bm25 cores {option}"], est[f"cores held {option}"]
        bm25 = f"{est[f'bm25 ms {option}']:.1f}; {needed:,} of {held:,}"
        rows += [
            (f"  with {option}: fan-out", f"{fan_out} shards at p{percentile:.3f}"),
            ("    machines, cost", tier(f"machines {option}", f"$ a month {option}")),
            ("    BM25 CPU ms a search; cores needed, held", bm25),
        ]
    reads = f"{est['rescore reads']:,.0f}"
    nvme = tier("machines rescore nvme", "$ a month rescore nvme")
    ram = tier("machines rescore ram", "$ a month rescore ram")
    rows += [
        ("ANN, one vector a video (PQ + HNSW)", human_bytes(est["index ann"])),
        ("  machines, cost", tier("machines ann", "$ a month ann")),
        ("ANN, one vector per 10 s clip", human_bytes(est["index clips"])),
        ("  machines, cost", tier("machines clips", "$ a month clips")),
        ("float16 vectors for re-scoring", human_bytes(est["fp16 vectors"])),
        (f"  random reads a second, {CANDIDATES} a search", reads),
        ("  on NVMe, sized by reads", nvme),
        ("  in RAM, sized by bytes", ram),
        (f"feature fetch, rows a second, {CANDIDATES} a search", reads),
        ("  machines, cost", tier("machines features", "$ a month features")),
    ]
    bm25 = f"{est['bm25 cores transcript keyphrases']:,}"
    rows += [("CPU cores at peak, 50% utilisation; machines, cost:", "")]
    rows += [("  BM25, on the lexical machines", bm25)]
    for stage in CPU_MS_PER_SEARCH:
        cores = f"{est[f'cores {stage}']:,}"
        if stage.startswith("ANN"):
            cores += f" of the ANN's {est['cores held ann']:,}"
        else:
            cores += f"; {tier(f'machines {stage}', f'$ a month {stage}')}"
        rows.append((f"  {stage}", cores))
    live = f"{LIVE_STREAMS_AT_PEAK:,} live streams"
    rows += [("hours of video uploaded a day", f"{est['video hours a day']:,.0f}")]
    rows += [(f"GPUs for uploads at {UPLOAD_PEAK_TO_MEAN}x the mean, {live}:", "")]
    for model in GPU_FLOP_PER_VIDEO_S:
        uploads, streams = est[f"gpus uploads {model}"], est[f"gpus live {model}"]
        rows.append((f"  {model}: uploads, live", f"{uploads}, {streams}"))
    rows += [("  all, cost", tier("gpus", "$ a month gpus"))]
    rows += [("whole catalogue, hours of video", f"{est['catalogue hours']:,.0f}")]
    for name, label in (("frames", "re-embed frames"), ("asr", "re-transcribe")):
        hours, dollars = est[f"backfill {name} gpu hours"], est[f"$ backfill {name}"]
        rows.append((f"  {label}", f"{hours:,.0f} GPU-h, ${dollars:,.0f}"))
    decode = f"{est['decode core hours']:,.0f} core-h, ${est['$ decode']:,.0f}"
    read = human_bytes(est["backfill bytes read"])
    rows += [
        ("    in months of the upload ASR fleet", f"{est['backfill asr months']:.1f}"),
        (f"  read at {BACKFILL_MBIT_PER_S:.0f} Mbit/s", read),
        (f"  decode at {DECODE_SPEED}x real time", decode),
    ]
    rows += [("logs a day:", "")]
    rows += [(f"  {s}", human_bytes(est[f"log {s}"])) for s in LOG_BYTES_PER_SEARCH]
    rows += [("  total", human_bytes(est["logs per day"]))]
    kept = f"{human_bytes(est['logs kept'])}, {month('$ a month logs')}"
    rows += [(f"  kept {LOG_DAYS} days, cost", kept)]
    rows += [("the chosen design's bill:", "")]
    rows += [(f"  {item}", f"${usd:,.0f} a month") for item, usd in est["bill"].items()]
    rows += [("  total", month("bill total"))]
    rows += [(f"server-side p99 budget, {BUDGET_MS} ms:", "")]
    rows += [(f"  {stage}", f"{ms} ms") for stage, ms in STAGE_MS.items()]
    rows += [("  headroom for the tail", f"{est['headroom ms']:.0f} ms")]
    rows += [("  a shard's request hedged to another zone", f"+{CROSS_ZONE_MS} ms")]
    ab_user = f"{est['ab searches a user']:.0f}, {est['ab design effect']:.2f}"
    ab_days = f"{est['ab users per arm']:,}; {est['ab days']}"
    rows += [
        (f"A/B test, {SUCCESS_RATE:.0%} search success, {RELATIVE_MDE:.0%} lift:", ""),
        ("  searches per arm if independent", f"{est['ab searches per arm']:,}"),
        ("  searches a user in a week, design effect", ab_user),
        (f"  users per arm; days at {TEST_SHARE:.0%} of users", ab_days),
    ]
    print("Back-of-envelope (assumptions in the code)")
    for label, value in rows:
        print(f"{label:<50}{value:>24}".rstrip())


def mean_of(results: list[WorldResult], key: tuple) -> float:
    return float(np.mean([r.means[key] for r in results]))


def print_experiment(results: list[WorldResult]) -> None:
    facts = {k: np.mean([r.facts[k] for r in results]) for k in results[0].facts}
    print(f"\n{len(results)} worlds of 3,000 videos and 240 queries (60 of each kind)")
    styles = ", ".join(f"{s} {facts[f'title {s}']:.1%}" for s in TITLE_STYLES)
    print(f"Titles: {styles}")
    language, speech = facts["other language"], facts["speech"]
    print(f"Other language: {language:.1%} of videos; speech in {speech:.1%},", end="")
    print(f" words misheard {facts['misheard']:.1%}")
    held = ", ".join(
        f"{SHORT[k]} {facts[f'title holds a query word, {k}']:.1%}" for k in KINDS
    )
    print(f"Exact videos whose title holds a query word: {held}")
    words = FIELDS["transcript"][1] - FIELDS["transcript"][0]
    distinct, cell = facts["distinct words a transcript"], facts["videos a cell"]
    kept = f"{KEYPHRASES} kept as keyphrases"
    print(f"Transcripts: {words} words, {distinct:.1f} distinct; {kept}")
    print(f"Exact videos a topic-and-facet query asks for: {cell:.1f}")
    print("\nMean of the worlds               NDCG@10                     recall@50")
    head = " ".join(f"{SHORT[k]:>6}" for k in KINDS)
    print(f"{'system':<28}{head}  {head}")
    for system in (*SYSTEMS, *(f"RRF k={k}" for k in K_SWEEP if k != 60)):
        cells = [mean_of(results, (system, m, k)) for m in METRICS for k in KINDS]
        left = " ".join(f"{x:6.3f}" for x in cells[:4])
        print(f"{system:<28}{left}  {' '.join(f'{x:6.3f}' for x in cells[4:])}")
    print("\nPaired differences over the worlds: mean [95% interval]")
    for system, baseline, metric, kind, mean, low, high, tie in compare(results):
        label = f"{system} minus {baseline}, {kind}"
        name = "NDCG@10" if metric == "ndcg" else "recall@50"
        note = "  tie" if tie else ""
        print(f"{label:<62} {name:<9} {mean:+.3f} [{low:+.3f}, {high:+.3f}]{note}")
    print("\nDescriptive queries, mean of the worlds       BM25 routed RRF  difference")
    probes = [(*PROBED[::-1], probe, "descriptive") for probe in PROBES]
    for _, _, probe, _, mean, low, high, tie in compare(results, probes):
        a, b = (mean_of(results, (s, probe, "descriptive")) for s in PROBED)
        note = "  tie" if tie else ""
        cells = f"{a:.3f} {b:11.3f}  {mean:+.3f} [{low:+.3f}, {high:+.3f}]{note}"
        print(f"{probe:<42}{cells}")


def main() -> None:
    print_estimate()
    print_experiment([score_world(seed) for seed in SEEDS])


if __name__ == "__main__":
    main()
