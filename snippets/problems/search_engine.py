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
    SECONDS_PER_DAY,
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.concepts.experimentation import duration_days, sample_size_per_arm
from snippets.problems.search_engine_ranking import Experiment, run_experiment

# --8<-- [start:estimate]
# Stated assumptions (the interviewer can change any of them).
DAU, SEARCHES_PER_USER, PEAK_TO_MEAN = 20e6, 5, 3
WEEKLY_ACTIVE_USERS = 70e6  # searchers in a week: most do not search every day
PRODUCTS, LANGUAGES = 100e6, 3
TERMS_PER_PRODUCT, BYTES_PER_POSTING = 150, 4  # distinct terms; compressed postings
DIM, PQ_BYTES, HNSW_M = 256, 64, 16  # embedding width, PQ code size, HNSW links
HNSW_NODE_BYTES = 8 + 4  # faiss, per vector: an int64 offset into the links, a level
# Look-ups: each product's nearest neighbours, computed offline from the ANN
# index and stored in the feature store, read with one key-value lookup.
NEIGHBOURS_STORED = 100  # int32 product ids a product
RATED_PAIRS_PER_WEEK, JUDGED_PER_QUERY = 10_000, 20  # the pooled top 20 is judged
BENCHMARK_QUERIES = 2_000  # per language
RESULTS_SHOWN, LOGGED_FEATURE_ROWS, FEATURES_PER_ROW = 48, 50, 100
CANDIDATES, TREES, TREE_DEPTH = 500, 300, 6  # what the ranker scores, and its size
BUDGET_MS = 200  # server-side p99: from request in to response out, no client network
STAGE_MS = {  # allocations, not stage p99s that add up: what is left is headroom
    "front end: parse, result cache, respond": 15,
    "query understanding and query encoder": 15,
    # Parallel: pay the slower. A look-up reads the lexical hit's stored
    # neighbours after the lexical search returns: 5 ms in series with it.
    "retrieval: lexical 30 (+ 5 look-ups) || dense 20": max(30 + 5, 20),
    "RRF fusion": 2,
    "feature fetch, 500 candidates": 15,
    "GBDT ranker, 500 candidates": 40,
    "re-ranking and business rules": 10,
}
POSTINGS_PER_SEARCH, NS_PER_POSTING = 1e6, 5  # all shards together, a mean query
CPU_MS_PER_SEARCH = {  # assumed per-unit costs: replace each with a profile
    # A distilled encoder: 6 layers of width d = 384 hold 12 d^2 weights each;
    # 2 FLOPs a weight a token, 16 tokens, at 50 GFLOP/s sustained on one core.
    # A linear layer trained with it projects its 384-d output to the index's 256.
    "query encoder": 2 * 6 * 12 * 384**2 * 16 / 50e9 * 1e3,
    "BM25 retrieval": POSTINGS_PER_SEARCH * NS_PER_POSTING / 1e6,
    "ANN search": 500 * 2 * HNSW_M * 50e-6,  # ef = 500, 2M links each, 50 ns each
    "feature fetch": CANDIDATES * 2e-3,  # 2 us of CPU per key, both sides
    "GBDT ranker": CANDIDATES * TREES * TREE_DEPTH * 5e-6,  # 5 ns per node visited
}
CPU_UTILISATION = 0.5  # room for bursts and short queues
# Shards: enough for the index to fit in memory and a heavy query to fit in time.
INDEX_TO_POSTINGS = 2  # positions, stored fields and doc values: as much again
HEAVY_QUERY_POSTINGS = 20e6  # the slowest 1% of queries: 20x the mean's postings
SHARD_TARGET_MS = 15  # one core searches a shard: half the 30 ms allocation
# The fleet: machine shape and price are assumptions; use your provider's.
MACHINE_CORES, MACHINE_RAM, RAM_FOR_DATA = 32, 128e9, 0.5  # rest: OS, caches
DOLLARS_PER_MACHINE_HOUR, HOURS_PER_MONTH = 1.50, 730
ZONES = 3  # a full copy of every stage in each zone; any two carry the peak
NOT_COSTED = (  # stages of the query path left out of the fleet below
    "front end and result cache",
    "query-understanding models",  # spelling, category, attributes
    "RRF fusion",
    "re-ranking",
)
# The A/B test: randomise users, read the search success rate (both assumed).
SUCCESS_RATE, RELATIVE_MDE = 0.30, 0.01  # baseline, smallest lift worth detecting
INTRA_USER_CORRELATION = 0.05  # of one user's search outcomes: inflates variance
TEST_DAYS, TEST_SHARE = 7, 0.10  # one weekly cycle; share of users in the test


def machines_for_copy(pieces: int, piece_bytes: float, usable: float) -> int:
    """Machines that hold one copy cut into whole pieces, none split across two."""
    if pieces == 0:
        return 0
    per_machine = math.floor(usable / piece_bytes * (1 + 1e-12))  # float slack
    if per_machine < 1:
        raise ValueError(f"a piece of {piece_bytes:.3g} B exceeds {usable:.3g} B")
    return math.ceil(pieces / per_machine)


def estimate() -> dict[str, float]:
    """Back-of-envelope numbers for the page, from the stated assumptions."""
    qps = peak_qps(DAU, SEARCHES_PER_USER, PEAK_TO_MEAN)
    searches_per_day = DAU * SEARCHES_PER_USER
    pq = storage_bytes(PRODUCTS, PQ_BYTES)
    links = storage_bytes(PRODUCTS, 2 * HNSW_M * 4)  # layer 0: 2M int32 ids a vector
    # A node reaches layer l >= 1 with probability M^-l and keeps M links there:
    # M / (M - 1) links a node above layer 0, 1 / (2(M - 1)) of layer 0's 2M.
    upper_links = links / (2 * (HNSW_M - 1))
    nodes = storage_bytes(PRODUCTS, HNSW_NODE_BYTES)
    neighbour_lists = storage_bytes(PRODUCTS, NEIGHBOURS_STORED * 4)
    judged_queries_per_week = RATED_PAIRS_PER_WEEK / JUDGED_PER_QUERY
    cores = {
        stage: servers_needed(qps * ms / 1e3, 1.0, utilisation=CPU_UTILISATION)
        for stage, ms in CPU_MS_PER_SEARCH.items()
    }
    postings = storage_bytes(PRODUCTS * TERMS_PER_PRODUCT, BYTES_PER_POSTING)
    index_bytes = INDEX_TO_POSTINGS * postings
    heavy_ms = HEAVY_QUERY_POSTINGS * NS_PER_POSTING / 1e6  # on one core
    shards = max(
        math.ceil(index_bytes / (MACHINE_RAM * RAM_FOR_DATA)),  # memory
        math.ceil(heavy_ms / SHARD_TARGET_MS),  # latency
    )
    # Machines per stage: enough cores for the peak with a zone down, and enough
    # memory for a full copy in each zone; the larger of the two.
    memory = {  # what one copy of each stage holds in RAM
        "query encoder": 0.0,  # tens of MB of weights
        "BM25 retrieval": index_bytes,
        "ANN search": pq + links + upper_links + nodes,  # float vectors on SSD
        "feature fetch": storage_bytes(PRODUCTS, FEATURES_PER_ROW * 4)
        + neighbour_lists,  # the look-ups' stored neighbours live here too
        "GBDT ranker": 0.0,  # 300 trees
    }
    usable = MACHINE_RAM * RAM_FOR_DATA
    pieces = {  # a copy is cut into pieces no machine can split: the lexical shards
        stage: shards if stage == "BM25 retrieval" else math.ceil(b / usable)
        for stage, b in memory.items()
    }
    per_zone_by_memory = {
        stage: machines_for_copy(n, memory[stage] / max(n, 1), usable)
        for stage, n in pieces.items()
    }
    machines = {
        stage: max(
            servers_needed(qps * ms / 1e3, MACHINE_CORES, CPU_UTILISATION, ZONES),
            ZONES * per_zone_by_memory[stage],
        )
        for stage, ms in CPU_MS_PER_SEARCH.items()
    }
    dollars_per_month = (
        sum(machines.values()) * DOLLARS_PER_MACHINE_HOUR * HOURS_PER_MONTH
    )
    searches_per_month = searches_per_day * HOURS_PER_MONTH * 3600 / SECONDS_PER_DAY
    # A/B: a two-proportion test over searches, inflated by the design effect of
    # correlated searches within a user (the delta method measures it after).
    # m: searches a user makes during the test, averaged over the week's searchers.
    m = DAU * SEARCHES_PER_USER * TEST_DAYS / WEEKLY_ACTIVE_USERS
    design_effect = 1 + (m - 1) * INTRA_USER_CORRELATION
    searches_per_arm = sample_size_per_arm(SUCCESS_RATE, RELATIVE_MDE)
    # n * DE / m = n (1/m + rho (1 - 1/m)) users: m searches each, correlated.
    users_per_arm = math.ceil(searches_per_arm * design_effect / m)
    return {
        "peak_qps": qps,
        "postings_bytes": postings,
        "vector_bytes": storage_bytes(PRODUCTS, DIM * 4),  # float32, for re-scoring
        "vector_pq_bytes": pq,
        "hnsw_link_bytes": links,
        "hnsw_upper_bytes": upper_links,
        "hnsw_node_bytes": nodes,
        "hnsw_pq_bytes": pq + links,  # layer 0 only; the upper layers come on top
        "ivf_pq_bytes": pq + storage_bytes(PRODUCTS, 8),  # codes + an int64 id each
        "neighbour_list_bytes": neighbour_lists,
        "impression_log_bytes": storage_bytes(searches_per_day * RESULTS_SHOWN, 32),
        "feature_log_bytes": storage_bytes(
            searches_per_day * LOGGED_FEATURE_ROWS, FEATURES_PER_ROW * 4
        ),
        "judged_queries_per_week": judged_queries_per_week,
        "benchmark_weeks": BENCHMARK_QUERIES * LANGUAGES / judged_queries_per_week,
        "headroom_ms": remaining_budget_ms(BUDGET_MS, STAGE_MS),
        "index_bytes": index_bytes,
        "heavy_query_ms": heavy_ms,
        "shards": shards,
        "shard_bytes": index_bytes / shards,
        "shards_per_machine": math.floor(usable / (index_bytes / shards)),
        "lexical_machines_per_zone": per_zone_by_memory["BM25 retrieval"],
        # Each of n shards must meet the stage's allocation at quantile q, q^n = 0.99
        # (if the shards' latencies are independent).
        "shard_quantile": 0.99 ** (1 / shards),
        "feature_rows_per_s": qps * CANDIDATES,
        "tree_walks_per_s": qps * CANDIDATES * TREES,
        "comparisons_per_candidate": TREES * TREE_DEPTH,
        **{f"cores: {stage}": n for stage, n in cores.items()},
        **{f"memory_bytes: {stage}": b for stage, b in memory.items()},
        **{f"machines: {stage}": n for stage, n in machines.items()},
        "machines": sum(machines.values()),
        "dollars_per_month": dollars_per_month,
        "dollars_per_million_searches": dollars_per_month / searches_per_month * 1e6,
        # Each stage left out needs at least one machine a zone by the same rule.
        "not_costed_machines_at_least": ZONES * len(NOT_COSTED),
        "not_costed_dollars_at_least": ZONES
        * len(NOT_COSTED)
        * DOLLARS_PER_MACHINE_HOUR
        * HOURS_PER_MONTH,
        "ab_searches_per_arm": searches_per_arm,
        "ab_searches_per_user": m,
        "ab_design_effect": design_effect,
        "ab_users_per_arm": users_per_arm,
        "ab_enrol_days": math.ceil(2 * users_per_arm / (DAU * TEST_SHARE)),
        "ab_days": duration_days(users_per_arm, 2, int(DAU), TEST_SHARE),
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
        ("HNSW over PQ codes, layer 0, per replica", size["hnsw_pq_bytes"]),
        ("HNSW upper layers, 1/(2(M-1)) of layer 0's links", size["hnsw_upper_bytes"]),
        ("HNSW offsets and levels (faiss), 12 B a vector", size["hnsw_node_bytes"]),
        ("HNSW over PQ codes, in all, per replica",
         size["memory_bytes: ANN search"]),
        ("IVF-PQ instead: codes + 8 B ids", size["ivf_pq_bytes"]),
        (f"look-ups: {NEIGHBOURS_STORED} stored neighbours of 4 B a product",
         size["neighbour_list_bytes"]),
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
    upper = e["hnsw_upper_bytes"]
    print(f"  HNSW upper layers: {upper / e['hnsw_link_bytes']:.1%} of the links,"
          f" {upper / e['hnsw_pq_bytes']:.1%} of the layer-0 total")  # fmt: skip
    print(f"  latency budget {BUDGET_MS} ms server-side p99, allocated:")
    for stage, ms in STAGE_MS.items():
        print(f"    {stage:<50} {ms:>6} ms")
    print(f"    {'headroom for tail latency':<50} {e['headroom_ms']:>6.0f} ms")
    usable = MACHINE_RAM * RAM_FOR_DATA
    print(f"  lexical shards: by memory {size['index_bytes']} /"
          f" {human_bytes(usable)} -> {math.ceil(e['index_bytes'] / usable)},"
          f" by latency {e['heavy_query_ms']:.0f} ms / {SHARD_TARGET_MS} ms"
          f" -> {e['shards']}")  # fmt: skip
    print(f"  {e['shards']} shards of {size['shard_bytes']}: {e['shards_per_machine']}"
          f" fit in {human_bytes(usable)}, so"
          f" {e['lexical_machines_per_zone']} machines a zone"
          " hold a copy")  # fmt: skip
    quantile = math.ceil(e["shard_quantile"] * 1e4) / 100  # round up: stricter
    print(f"  each of {e['shards']} shards must meet the retrieval allocation"
          f" at p{quantile:.2f} (independent shards)")  # fmt: skip
    print(f"  ranker: {e['feature_rows_per_s'] / 1e6:.2f}M feature rows/s, "
          f"{e['tree_walks_per_s'] / 1e9:.2f}B tree walks/s, "
          f"{e['comparisons_per_candidate']:,} comparisons a candidate")  # fmt: skip
    print(f"  five stages at the peak ({CPU_UTILISATION:.0%} CPU;"
          f" {MACHINE_CORES} cores,"
          f" {human_bytes(MACHINE_RAM)}, {RAM_FOR_DATA:.0%} for data;"
          f" {ZONES} zones):")  # fmt: skip
    print(f"    {'stage':<18} {'CPU a search':>12} {'cores':>6}"
          f" {'RAM a copy':>11} {'machines':>9}")  # fmt: skip
    for stage, ms in CPU_MS_PER_SEARCH.items():
        print(f"    {stage:<18} {ms:>9.1f} ms {e[f'cores: {stage}']:>6}"
              f" {size[f'memory_bytes: {stage}']:>11}"
              f" {e[f'machines: {stage}']:>9}")  # fmt: skip
    print(f"    {'total, these five stages':<50} {e['machines']:>9}")
    print(f"  at ${DOLLARS_PER_MACHINE_HOUR:.2f} a machine-hour:"
          f" ${e['dollars_per_month']:,.0f} a month,"
          f" ${e['dollars_per_million_searches']:.2f}"
          " per million searches")  # fmt: skip
    print(f"  not costed: {', '.join(NOT_COSTED)};")
    print(f"    at one machine a zone each, at least"
          f" {e['not_costed_machines_at_least']} more machines,"
          f" ${e['not_costed_dollars_at_least']:,.0f} a month")  # fmt: skip
    print(f"  A/B test, {SUCCESS_RATE:.0%} search success rate, {RELATIVE_MDE:.0%}"
          f" relative lift, alpha 0.05, power 0.8:")  # fmt: skip
    print(f"    {e['ab_searches_per_arm']:,} searches an arm if independent;"
          f" design effect {e['ab_design_effect']:.2f}"
          f" ({e['ab_searches_per_user']:.0f} a weekly searcher, rho"
          f" {INTRA_USER_CORRELATION})")  # fmt: skip
    print(f"    {e['ab_users_per_arm']:,} users an arm; with {TEST_SHARE:.0%} of"
          f" users, enrolled in {e['ab_enrol_days']} day(s),"
          f" run {e['ab_days']} days")  # fmt: skip


# --8<-- [start:demo]
STAGES = ("BM25", "dense (LSA)", "hybrid, no look-up path", "hybrid (RRF)",
          "learned ranker", "learned, no colour_match",
          "learned, scores and ranks only", "colour in a field: hybrid",
          "colour in a field: learned",
          "colour in a field: no colour_match")  # fmt: skip
RETRIEVERS = STAGES[:4]  # the candidate lists whose recall bounds the rankers
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
    ("learned, scores and ranks only", "hybrid (RRF)", "ndcg", "descriptive"),
    ("learned, scores and ranks only", "hybrid (RRF)", "ndcg", "look-up"),
    ("learned ranker", "learned, scores and ranks only", "ndcg", "descriptive"),
    ("learned ranker", "learned, scores and ranks only", "ndcg", "look-up"),
    ("learned ranker", "learned, no colour_match", "ndcg", "descriptive"),
    ("learned ranker", "learned, no colour_match", "rr", "all"),
    ("colour in a field: learned", "colour in a field: no colour_match", "ndcg",
     "descriptive"),
    ("colour in a field: learned", "colour in a field: no colour_match", "rr",
     "all"),
]  # fmt: skip
METRIC = {"ndcg": "NDCG 3/2/1", "esci": "NDCG ESCI", "rr": "MRR"}
SHORT = {"dense (LSA)": "dense", "hybrid, no look-up path": "hybrid w/o look-up path",
         "hybrid (RRF)": "hybrid", "learned ranker": "learned",
         "learned, no colour_match": "no colour_match",
         "learned, scores and ranks only": "scores and ranks",
         "colour in a field: learned": "field: learned",
         "colour in a field: no colour_match": "no colour_match"}  # fmt: skip


def lookup_share(ex: Experiment, metric: str) -> float:
    """Share of the hybrid's mean gain over BM25 that comes from look-up queries."""
    gain = ex.scores["hybrid (RRF)"][metric] - ex.scores["BM25"][metric]
    return float(gain[ex.lookup].sum() / gain.sum())


def segment_means(ex: Experiment, stage: str, metrics: tuple[str, ...]) -> list:
    """Mean of each metric over all, descriptive and look-up queries (NaNs skipped)."""
    return [
        np.nanmean(ex.scores[stage][metric][ex.mask(segment)])
        for metric in metrics
        for segment in ("all", "descriptive", "look-up")
    ]


def print_experiment(ex: Experiment) -> None:
    """Print every stage's means, then the paired comparisons with their intervals."""
    n_seeds, n = len(set(ex.seed.tolist())), ex.lookup.size
    with_exact = int((~np.isnan(ex.scores["BM25"]["rr"])).sum())
    print(
        f"{n_seeds} seeds x {n // n_seeds} held-out queries: "
        f"{int((~ex.lookup).sum())} descriptive, {int(ex.lookup.sum())} look-ups"
    )
    print(f"MRR and exact recall over the {with_exact} queries with an exact product")
    print(f"{'':35}  NDCG@10, 3/2/1 grades   NDCG@10, ESCI gains")
    print(f"{'stage':<35}   all descr. look-up    all descr. look-up   MRR")
    for stage in STAGES:
        cells = segment_means(ex, stage, ("ndcg", "esci"))
        cells.append(np.nanmean(ex.scores[stage]["rr"]))
        print(f"{stage:<35}" + "".join(f"{c:7.3f}" for c in cells))
    print("\nRecall of each candidate list (retrievers' top 100, fused up to 200)")
    print(f"{'':35}  Exact products          Exact or Substitute")
    print(f"{'list':<35}   all descr. look-up    all descr. look-up")
    for stage in RETRIEVERS:
        cells = segment_means(ex, stage, ("recall", "recall_es"))
        print(f"{stage:<35}" + "".join(f"{c:7.3f}" for c in cells))
    print(
        "\nPaired differences a - b, by query: mean; 95% intervals, bootstrap over"
        " queries\nwithin these worlds and t over the world means; worlds a > b"
    )
    print(f"{'a - b':<34} {'metric':<10} {'queries':<11} {'mean':>6}"
          f" {'within worlds':<16} {'across worlds':<16} a>b")  # fmt: skip
    for a, b, metric, segment in COMPARISONS:
        c = ex.compare(a, b, metric, segment)
        pair = f"{SHORT.get(a, a)} - {SHORT.get(b, b)}"
        within = f"[{c['low']:+.3f}, {c['high']:+.3f}]"
        across = f"[{c['world_low']:+.3f}, {c['world_high']:+.3f}]"
        wins = f"{c['worlds_a_wins']}/{c['worlds']}"
        tie = "  tie" if c["tie"] else "  tie across worlds" if c["world_tie"] else ""
        print(f"{pair:<34} {METRIC[metric]:<10} {segment:<11} {c['mean']:+.3f}"
              f" {within} {across} {wins}{tie}")  # fmt: skip
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
