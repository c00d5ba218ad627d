"""Product search in miniature: BM25, dense retrieval, fusion and a learned ranker.

The program of the search engine page: the back-of-envelope estimate, then every
stage scored on held-out queries of five seeded worlds, with ablations and paired
intervals. Retrieval lives in :mod:`snippets.problems.search_engine_retrieval`,
ranking and the experiment in :mod:`snippets.problems.search_engine_ranking`.
Run it: ``python -m snippets.problems.search_engine``.
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
from snippets.problems.search_engine_ranking import Experiment, run_experiment

# --8<-- [start:estimate]
# Stated assumptions (the interviewer can change any of them).
DAU, SEARCHES_PER_USER, PEAK_TO_MEAN = 20e6, 5, 3
PRODUCTS, LANGUAGES = 100e6, 3
TERMS_PER_PRODUCT, BYTES_PER_POSTING = 150, 4  # distinct terms; compressed postings
DIM, PQ_BYTES, HNSW_M = 256, 64, 16  # embedding width, PQ code size, HNSW links
RATED_PAIRS_PER_WEEK, JUDGED_PER_QUERY = 10_000, 20  # the pooled top 20 is judged
BENCHMARK_QUERIES = 2_000  # per language
RESULTS_SHOWN, LOGGED_FEATURE_ROWS, FEATURES_PER_ROW = 48, 50, 100
CANDIDATES, TREES, TREE_DEPTH = 500, 300, 6  # what the ranker scores, and its size
BUDGET_MS = 200  # server-side p99: from request in to response out, no client network
STAGE_MS = {  # allocations, not stage p99s that add up: what is left is headroom
    "front end: parse, result cache, respond": 15,
    "query understanding and query encoder": 15,
    "retrieval: lexical 30 || dense 20": max(30, 20),  # parallel: pay the slower
    "RRF fusion": 2,
    "feature fetch, 500 candidates": 15,
    "GBDT ranker, 500 candidates": 40,
    "re-ranking and business rules": 10,
}
INDEX_SHARDS = 20  # the lexical stage waits for the slowest shard
CPU_MS_PER_SEARCH = {  # assumed per-unit costs: replace each with a profile
    # A distilled encoder: 6 layers of width d = 384 hold 12 d^2 weights each;
    # 2 FLOPs a weight a token, 16 tokens, at 50 GFLOP/s sustained on one core.
    "query encoder": 2 * 6 * 12 * 384**2 * 16 / 50e9 * 1e3,
    "BM25 retrieval": 1e6 * 5e-6,  # 1M postings scored over all shards, 5 ns each
    "ANN search": 500 * 2 * HNSW_M * 50e-6,  # ef = 500, 2M links each, 50 ns each
    "feature fetch": CANDIDATES * 2e-3,  # 2 us of CPU per key, both sides
    "GBDT ranker": CANDIDATES * TREES * TREE_DEPTH * 5e-6,  # 5 ns per node visited
}
CPU_UTILISATION = 0.5  # room for bursts and short queues


def estimate() -> dict[str, float]:
    """Back-of-envelope numbers for the page, from the stated assumptions."""
    qps = peak_qps(DAU, SEARCHES_PER_USER, PEAK_TO_MEAN)
    searches_per_day = DAU * SEARCHES_PER_USER
    pq = storage_bytes(PRODUCTS, PQ_BYTES)
    links = storage_bytes(PRODUCTS, 2 * HNSW_M * 4)  # layer 0: 2M int32 ids a vector
    judged_queries_per_week = RATED_PAIRS_PER_WEEK / JUDGED_PER_QUERY
    cores = {
        stage: servers_needed(qps * ms / 1e3, 1.0, utilisation=CPU_UTILISATION)
        for stage, ms in CPU_MS_PER_SEARCH.items()
    }
    return {
        "peak_qps": qps,
        "postings_bytes": storage_bytes(
            PRODUCTS * TERMS_PER_PRODUCT, BYTES_PER_POSTING
        ),
        "vector_bytes": storage_bytes(PRODUCTS, DIM * 4),  # float32, for re-scoring
        "vector_pq_bytes": pq,
        "hnsw_link_bytes": links,
        "hnsw_pq_bytes": pq + links,  # upper layers add ~1 / (2(M - 1)) more: 3%
        "ivf_pq_bytes": pq + storage_bytes(PRODUCTS, 8),  # codes + an int64 id each
        "impression_log_bytes": storage_bytes(searches_per_day * RESULTS_SHOWN, 32),
        "feature_log_bytes": storage_bytes(
            searches_per_day * LOGGED_FEATURE_ROWS, FEATURES_PER_ROW * 4
        ),
        "judged_queries_per_week": judged_queries_per_week,
        "benchmark_weeks": BENCHMARK_QUERIES * LANGUAGES / judged_queries_per_week,
        "headroom_ms": remaining_budget_ms(BUDGET_MS, STAGE_MS),
        # Each of n shards must meet the stage's allocation at quantile q, q^n = 0.99.
        "shard_quantile": 0.99 ** (1 / INDEX_SHARDS),
        "feature_rows_per_s": qps * CANDIDATES,
        "tree_walks_per_s": qps * CANDIDATES * TREES,
        "comparisons_per_candidate": TREES * TREE_DEPTH,
        **{f"cores: {stage}": n for stage, n in cores.items()},
    }
    # --8<-- [end:estimate]


def print_estimate() -> None:
    """Print the estimate as the page shows it."""
    e = estimate()
    size = {key: human_bytes(value) for key, value in e.items() if "bytes" in key}
    rows = [
        ("peak searches per second (20M DAU x 5, 3x peak)", f"{e['peak_qps']:,.0f}"),
        ("inverted index: 100M products x 150 postings", size["postings_bytes"]),
        ("embeddings, 256 x float32 (kept for re-scoring)", size["vector_bytes"]),
        ("PQ codes, 64 B a vector", size["vector_pq_bytes"]),
        ("HNSW layer-0 links, 2M = 32 ids of 4 B", size["hnsw_link_bytes"]),
        ("HNSW over PQ codes, per replica", size["hnsw_pq_bytes"]),
        ("IVF-PQ instead: codes + 8 B ids", size["ivf_pq_bytes"]),
        ("impression log a day (48 results x 32 B)", size["impression_log_bytes"]),
        ("features-as-served log a day (top 50)", size["feature_log_bytes"]),
        ("judged queries a week (10,000 pairs, 20 each)",
         f"{e['judged_queries_per_week']:,.0f}"),
        ("weeks to judge 2,000 queries in each of 3 languages",
         f"{e['benchmark_weeks']:.0f}"),
    ]  # fmt: skip
    print("Back-of-envelope (assumptions at the top of search_engine.py):")
    for label, value in rows:
        print(f"  {label:<52} {value:>9}")
    print(f"  latency budget {BUDGET_MS} ms server-side p99, allocated:")
    for stage, ms in STAGE_MS.items():
        print(f"    {stage:<50} {ms:>6} ms")
    print(f"    {'headroom for tail latency':<50} {e['headroom_ms']:>6.0f} ms")
    quantile = math.ceil(e["shard_quantile"] * 1e4) / 100  # round up: stricter
    print(f"  each of {INDEX_SHARDS} index shards must meet the retrieval"
          f" allocation at p{quantile:.2f}")  # fmt: skip
    print(f"  ranker: {e['feature_rows_per_s'] / 1e6:.2f}M feature rows/s, "
          f"{e['tree_walks_per_s'] / 1e9:.2f}B tree walks/s, "
          f"{e['comparisons_per_candidate']:,} comparisons a candidate")  # fmt: skip
    print(f"  CPU cores at the peak, {CPU_UTILISATION:.0%} utilisation:")
    for stage, ms in CPU_MS_PER_SEARCH.items():
        print(f"    {stage:<28} {ms:4.1f} ms a search {e[f'cores: {stage}']:>6} cores")


# --8<-- [start:demo]
STAGES = ("BM25", "dense (LSA)", "hybrid, no look-up path", "hybrid (RRF)",
          "learned ranker", "learned, no colour_match",
          "learned, scores and ranks only")  # fmt: skip
COMPARISONS = [  # (a, b, metric, segment): a minus b, paired by query
    ("dense (LSA)", "BM25", "ndcg", "descriptive"),
    ("hybrid, no look-up path", "BM25", "ndcg", "all"),
    ("hybrid, no look-up path", "BM25", "ndcg", "descriptive"),
    ("hybrid, no look-up path", "dense (LSA)", "ndcg", "descriptive"),
    ("hybrid (RRF)", "hybrid, no look-up path", "ndcg", "look-up"),
    ("hybrid (RRF)", "hybrid, no look-up path", "esci", "look-up"),
    ("hybrid (RRF)", "BM25", "ndcg", "all"),
    ("hybrid (RRF)", "BM25", "esci", "all"),
    ("learned ranker", "hybrid (RRF)", "ndcg", "all"),
    ("learned ranker", "hybrid (RRF)", "ndcg", "descriptive"),
    ("learned ranker", "hybrid (RRF)", "ndcg", "look-up"),
    ("learned ranker", "hybrid (RRF)", "esci", "all"),
    ("learned ranker", "hybrid (RRF)", "rr", "all"),
    ("learned ranker", "learned, no colour_match", "ndcg", "all"),
    ("learned ranker", "learned, no colour_match", "rr", "all"),
    ("learned ranker", "learned, scores and ranks only", "ndcg", "descriptive"),
    ("learned ranker", "learned, scores and ranks only", "ndcg", "look-up"),
]
METRIC = {"ndcg": "NDCG 3/2/1", "esci": "NDCG ESCI", "rr": "MRR"}
SHORT = {"dense (LSA)": "dense", "hybrid, no look-up path": "hybrid w/o look-up path",
         "hybrid (RRF)": "hybrid", "learned ranker": "learned",
         "learned, no colour_match": "learned w/o colour_match",
         "learned, scores and ranks only": "learned, scores and ranks"}  # fmt: skip


def lookup_share(ex: Experiment, metric: str) -> float:
    """Share of the hybrid's mean gain over BM25 that comes from look-up queries."""
    gain = ex.scores["hybrid (RRF)"][metric] - ex.scores["BM25"][metric]
    return float(gain[ex.lookup].sum() / gain.sum())


def print_experiment(ex: Experiment) -> None:
    """Print every stage's means, then the paired comparisons with their intervals."""
    n_seeds, n = len(set(ex.seed.tolist())), ex.lookup.size
    with_exact = int((~np.isnan(ex.scores["BM25"]["rr"])).sum())
    print(
        f"{n_seeds} seeds x {n // n_seeds} held-out queries: "
        f"{int((~ex.lookup).sum())} descriptive, {int(ex.lookup.sum())} look-ups"
    )
    print(f"MRR over the {with_exact} queries with an exact product")
    print(f"{'':31}  NDCG@10, 3/2/1 grades   NDCG@10, ESCI gains")
    print(f"{'stage':<31}   all descr. look-up    all descr. look-up   MRR")
    for stage in STAGES:
        cells = [
            np.mean(ex.scores[stage][metric][ex.mask(segment)])
            for metric in ("ndcg", "esci")
            for segment in ("all", "descriptive", "look-up")
        ]
        cells.append(np.nanmean(ex.scores[stage]["rr"]))
        print(f"{stage:<31}" + "".join(f"{c:7.3f}" for c in cells))
    print("\nPaired differences, a - b: mean [95% bootstrap interval over queries]")
    print(f"{'a - b':<35} {'metric':<10} {'queries':<11} {'mean':>6}"
          f" {'interval':<17} seed means")  # fmt: skip
    for a, b, metric, segment in COMPARISONS:
        c = ex.compare(a, b, metric, segment)
        pair = f"{SHORT.get(a, a)} - {SHORT.get(b, b)}"
        interval = f"[{c['low']:+.3f}, {c['high']:+.3f}]"
        seeds = f"{c['seed_min']:+.3f}..{c['seed_max']:+.3f}"
        tie = "  tie" if c["tie"] else ""
        print(f"{pair:<35} {METRIC[metric]:<10} {segment:<11} {c['mean']:+.3f}"
              f" {interval} {seeds}{tie}")  # fmt: skip
    print(f"Share of the hybrid's gain over BM25 from look-ups: "
          f"{lookup_share(ex, 'ndcg'):.0%} with 3/2/1 grades, "
          f"{lookup_share(ex, 'esci'):.0%} with ESCI gains")  # fmt: skip


def main() -> None:
    print_estimate()
    print()
    print_experiment(run_experiment(seeds=range(5)))


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
