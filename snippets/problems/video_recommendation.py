"""Video recommendation (a YouTube-like homepage): estimates and the miniature.

Run it: ``python -m snippets.problems.video_recommendation``. The model code (world,
two-tower retrieval, HNSW, ranker) is in ``video_recommendation_model``; the
evaluation over several seeds in ``video_recommendation_eval``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.problems import video_recommendation_eval as vre
from snippets.problems import video_recommendation_model as vrm

# --8<-- [start:assumptions]
# Stated assumptions (the interviewer can change any of them).
DAILY_ACTIVE_USERS = 500e6
HOMEPAGE_LOADS_PER_USER = 5  # app opens and refreshes per day
TILES_PER_LOAD = 24  # videos on one homepage grid
RECOMMENDABLE_VIDEOS = 1e9  # of the billions uploaded: public, not spam, not tiny
EMBEDDING_DIM = 128
HNSW_M = 16  # graph links per vector on each upper layer, 2·M on the bottom one
HNSW_NODE_BYTES = 8 + 4  # faiss, per vector: an int64 offset into the links, a level
INDEX_MACHINE_BYTES = 64e9  # memory of one index-serving machine
INDEX_MEMORY_FILL = 0.75  # the rest: inserts between rebuilds, the process, the OS
INDEX_MACHINE_CORES = 16  # of one index-serving machine
WATCH_MINUTES_MEAN, WATCH_MINUTES_STD = 60.0, 90.0  # per user-day: heavy-tailed
FUNNEL = {  # items entering each stage per request
    "corpus": RECOMMENDABLE_VIDEOS,
    "candidate generation": 2_000,
    "pre-ranking": 2_000,
    "ranking": 500,
    "re-ranking": 100,
    "shown": TILES_PER_LOAD,
}
FEATURE_BYTES = {"pre-ranking": 200, "ranking": 1_000}  # fetched per candidate
# Features as served, per load: the 24 shown, and a uniform sample of all 2,000
# candidates, most of them ones the pre-ranker rejected; the sampled ones are
# scored by the ranker too. Each row holds both stages' features (1.2 kB).
LOGGED_SAMPLE = 16
LOG_STREAMS = {  # name: (records per user per day, bytes per record)
    "impressions": (HOMEPAGE_LOADS_PER_USER * TILES_PER_LOAD, 200),
    "playback heartbeats": (WATCH_MINUTES_MEAN * 60 / 10, 100),  # one per 10 s
    "features as served": (
        HOMEPAGE_LOADS_PER_USER * (TILES_PER_LOAD + LOGGED_SAMPLE),
        sum(FEATURE_BYTES.values()),
    ),
    "actions": (20, 200),  # clicks, likes, dismissals, searches, surveys
}
TOTAL_BUDGET_MS = 200  # server-side p99 for the homepage
STAGE_ALLOCATION_MS = {  # shares of the budget, not stage p99s that add up to it
    "network, auth, page assembly": 40,
    "user and context features": 10,
    "candidate generation (5 sources in parallel)": 30,
    "pre-ranker feature fetch": 10,
    "pre-ranking": 10,
    "ranker feature fetch": 10,
    "ranking": 40,
    "re-ranking and policy": 10,
}
CANDIDATE_SOURCES = 5
# The ANN stage: the two-tower source asks every shard for its whole quota, since
# one shard may hold most of it, so each shard searches with a beam of >= 800.
ANN_QUOTA = 800
ANN_SHARD_K = 200  # the lever: ask each shard for fewer, with a beam to match
ANN_VECTORS_SCORED_PER_SHARD = 10_000  # at that beam; measure on the real index
ANN_NS_PER_VECTOR = 250  # one core: random reads of a code and its links, a dot
ANN_BYTES_PER_VECTOR = EMBEDDING_DIM + 2 * HNSW_M * 4  # int8 code + 32 int32 links
REGIONS = 3  # each holds replicas of the index; any two carry the peak
FLEET_UTILISATION = 0.5  # serving fleets run at half their cores: bursts, queues
PRE_RANKER_US_PER_ITEM = 2.0  # a small two-tower-style scorer, per CPU core
RANKER_US_PER_ITEM = 60.0  # the multi-task ranker, per CPU core
USD_PER_CORE_HOUR = 0.05  # an assumed price of one server core for an hour
MIN_DETECTABLE_LIFT = 0.005  # +0.5% watch time is worth shipping at this scale
TRAFFIC_PER_ARM = 0.01  # 1% of users in each arm
MIN_DAYS = 14  # two weekly cycles, and time for novelty effects to fade
# --8<-- [end:assumptions]


# --8<-- [start:estimate]
def production_estimate() -> dict[str, float]:
    """Traffic, logs, index memory, latency and compute of the production funnel."""
    qps = peak_qps(DAILY_ACTIVE_USERS, HOMEPAGE_LOADS_PER_USER, peak_to_average=2.0)
    logs = {
        name: storage_bytes(DAILY_ACTIVE_USERS * per_user, size)
        for name, (per_user, size) in LOG_STREAMS.items()
    }
    # HNSW keeps 2·M int32 neighbour ids per vector on layer 0, and M on each upper
    # layer, which holds 1/M of the layer below: M/(M-1) more ids on average.
    ids_per_vector = 2 * HNSW_M + HNSW_M / (HNSW_M - 1)
    graph = storage_bytes(RECOMMENDABLE_VIDEOS, ids_per_vector * 4)
    nodes = storage_bytes(RECOMMENDABLE_VIDEOS, HNSW_NODE_BYTES)
    # int8 is the only copy of the vectors served; float32 for re-scoring would
    # add index_float32_bytes to every replica.
    int8_index = storage_bytes(RECOMMENDABLE_VIDEOS, EMBEDDING_DIM * 1)
    replica = int8_index + graph + nodes
    shards = math.ceil(replica / (INDEX_MACHINE_BYTES * INDEX_MEMORY_FILL))
    # The candidate stage waits for its slowest leaf: the other sources and every
    # ANN shard. All must be fast together 99% of the time: with independent leaf
    # latencies, each at the 99% ** (1 / leaves) quantile. Shared slowdowns (a
    # hot key, a busy rack) correlate the leaves and change that requirement.
    leaves = CANDIDATE_SOURCES - 1 + shards
    # Work per request in core-milliseconds: the cascade vs the big ranker alone.
    cascade_ms = (
        FUNNEL["pre-ranking"] * PRE_RANKER_US_PER_ITEM
        + FUNNEL["ranking"] * RANKER_US_PER_ITEM
    ) / 1_000
    single_stage_ms = FUNNEL["pre-ranking"] * RANKER_US_PER_ITEM / 1_000
    ranker_ms = FUNNEL["ranking"] * RANKER_US_PER_ITEM / 1_000
    # A core-ms of work per request at Q requests/s keeps Q/1000 cores busy; a
    # fleet sized for the peak pays for those cores all day.
    cascade_cores = qps * cascade_ms / 1_000
    single_stage_cores = qps * single_stage_ms / 1_000
    usd_per_core_year = USD_PER_CORE_HOUR * 24 * 365
    # The ANN fleet. A request searches every shard once; a replica is one machine
    # per shard, so it serves as many requests a second as one shard machine.
    ann_shard_ms = ANN_VECTORS_SCORED_PER_SHARD * ANN_NS_PER_VECTOR / 1e6
    ann_qps_per_replica = INDEX_MACHINE_CORES * FLEET_UTILISATION * 1e3 / ann_shard_ms
    ann_replicas = servers_needed(qps, ann_qps_per_replica, zones=REGIONS)
    ann_machines = ann_replicas * shards
    ann_read_bytes = shards * ANN_VECTORS_SCORED_PER_SHARD * ANN_BYTES_PER_VECTOR

    def provisioned(busy_cores: float) -> int:
        """Cores bought for a stage: run at FLEET_UTILISATION, a region spare."""
        return servers_needed(busy_cores, 1, FLEET_UTILISATION, zones=REGIONS)

    # Without a pre-ranker, the big ranker gets both stages' wall-clock allocation.
    single_stage_allocation = (
        STAGE_ALLOCATION_MS["pre-ranking"] + STAGE_ALLOCATION_MS["ranking"]
    )
    return {
        "peak_qps": qps,
        **{f"log {name}": size for name, size in logs.items()},
        "log_bytes_per_day": sum(logs.values()),
        "index_float32_bytes": storage_bytes(RECOMMENDABLE_VIDEOS, EMBEDDING_DIM * 4),
        "index_int8_bytes": int8_index,
        "hnsw_ids_per_vector": ids_per_vector,
        "hnsw_graph_bytes": graph,
        "hnsw_node_bytes": nodes,
        "index_replica_bytes": replica,
        "index_shards": shards,
        "index_shard_fill": replica / shards / INDEX_MACHINE_BYTES,
        "allocated_ms": sum(STAGE_ALLOCATION_MS.values()),
        "headroom_ms": remaining_budget_ms(TOTAL_BUDGET_MS, STAGE_ALLOCATION_MS),
        "candidate_leaves": leaves,
        "leaf_percentile": 100 * 0.99 ** (1 / leaves),
        # Feature fetch: one key lookup per candidate and stage, bytes as assumed.
        **{
            f"fetch {stage}": qps * FUNNEL[stage] * size
            for stage, size in FEATURE_BYTES.items()
        },
        "feature_fetch_bytes_per_s": qps
        * sum(FUNNEL[stage] * size for stage, size in FEATURE_BYTES.items()),
        "feature_lookups_per_s": qps * sum(FUNNEL[stage] for stage in FEATURE_BYTES),
        # One big ranker needs its full features for every candidate.
        "single_stage_fetch_bytes_per_s": qps
        * FUNNEL["pre-ranking"]
        * FEATURE_BYTES["ranking"],
        "single_stage_lookups_per_s": qps * FUNNEL["pre-ranking"],
        "cascade_core_ms": cascade_ms,
        "single_stage_core_ms": single_stage_ms,
        "cascade_cores": cascade_cores,
        "single_stage_cores": single_stage_cores,
        "cascade_usd_per_year": cascade_cores * usd_per_core_year,
        "single_stage_usd_per_year": single_stage_cores * usd_per_core_year,
        # The ANN stage, and every stage provisioned the same way.
        "ann_core_ms": shards * ann_shard_ms,
        "ann_cores": qps * shards * ann_shard_ms / 1_000,
        "ann_read_bytes_per_request": ann_read_bytes,
        "ann_read_bytes_per_s": qps * ann_read_bytes,
        "ann_qps_per_replica": ann_qps_per_replica,
        "ann_replicas": ann_replicas,
        "ann_machines": ann_machines,
        "ann_usd_per_year": ann_machines * INDEX_MACHINE_CORES * usd_per_core_year,
        "cascade_provisioned_cores": provisioned(cascade_cores),
        "single_stage_provisioned_cores": provisioned(single_stage_cores),
        "cascade_provisioned_usd_per_year": provisioned(cascade_cores)
        * usd_per_core_year,
        "single_stage_provisioned_usd_per_year": provisioned(single_stage_cores)
        * usd_per_core_year,
        # A shard holds Binomial(800, 1/shards) of the exact top 800, so asking
        # each for its top ANN_SHARD_K rarely loses any: a lever on the beam.
        "ann_mean_per_shard": ANN_QUOTA / shards,
        "ann_shard_overflow": shard_overflow(ANN_QUOTA, shards, ANN_SHARD_K),
        # Latency is met by splitting a stage over cores; cost is not.
        "cascade_ranker_workers": math.ceil(ranker_ms / STAGE_ALLOCATION_MS["ranking"]),
        "single_stage_workers": math.ceil(single_stage_ms / single_stage_allocation),
    }


def shard_overflow(k_total: int, shards: int, k_shard: int) -> float:
    """Bound on P(some shard holds more than k_shard of the exact top k_total).

    Videos are spread over the shards uniformly at random, so one shard holds
    Binomial(k_total, 1 / shards) of the top k_total; the union bound over the
    shards multiplies its upper tail by their number.
    """
    for name, value in (("k_total", k_total), ("shards", shards), ("k_shard", k_shard)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    p = 1 / shards
    tail = sum(
        math.comb(k_total, j) * p**j * (1 - p) ** (k_total - j)
        for j in range(k_shard + 1, k_total + 1)
    )
    return min(1.0, shards * tail)


def ab_test_plan(alpha: float = 0.05, power: float = 0.8) -> dict[str, float]:
    """Users per arm to detect the minimum lift in watch time, and the duration."""
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must lie strictly between 0 and 1")
    # Two-sided two-sample z-test on mean watch time, equal arms:
    # n = 2 (z_{1-alpha/2} + z_power)^2 / d^2, with d the lift in standard deviations.
    effect_size = WATCH_MINUTES_MEAN * MIN_DETECTABLE_LIFT / WATCH_MINUTES_STD
    z = NormalDist().inv_cdf
    users = 2 * (z(1 - alpha / 2) + z(power)) ** 2 / effect_size**2
    days_for_power = math.ceil(users / (DAILY_ACTIVE_USERS * TRAFFIC_PER_ARM))
    return {
        "users_per_arm": math.ceil(users),
        "days_for_power": days_for_power,
        "days_to_run": max(days_for_power, MIN_DAYS),
    }
    # --8<-- [end:estimate]


# --8<-- [start:latency]
def measure_stage_latency(n_queries: int = 200, k: int = 200) -> dict[str, float]:
    """Measured microseconds on this machine: per ANN query, per scored item."""
    if n_queries < 1 or k < 1:
        raise ValueError("n_queries and k must be positive")
    world = vrm.make_world()
    ranker, _ = vrm.train_rankers(world, n_candidates=k)
    view = vrm.snapshot(world, len(world.events) - 1)
    users = vrm.active_users(view, n_queries, np.random.default_rng(0))

    def per_query_us(**search: object) -> float:
        start = time.perf_counter()
        vrm.retrieve(view.retriever, users, view.history, k, **search)
        return (time.perf_counter() - start) / len(users) * 1e6

    timings = {
        f"hnsw_us_per_query_ef{ef}": per_query_us(ef_search=ef)
        for ef in (k, 2 * k, 4 * k)  # the beam: recall bought with time
    }
    timings["exact_us_per_query"] = per_query_us(exact=True)
    candidates = vrm.candidates_for(world, view, users, k).merged
    features = vrm.ranker_features(world, view, users, candidates)
    start = time.perf_counter()
    vrm.rank(ranker, features, candidates)
    timings["ranker_us_per_item"] = (
        (time.perf_counter() - start) / candidates.size * 1e6
    )
    return timings
    # --8<-- [end:latency]


def spread(values: list[float], fmt: str = ".3f") -> str:
    """Mean and [min-max] over seeds, for a table cell."""
    return f"{np.mean(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


# --8<-- [start:demo]
PAIRS = (  # (metric, label, method, compared with): one paired difference each
    ("recall@50", "two-tower ANN vs popularity", "two-tower ANN", "popularity"),
    ("recall@200", "two-tower ANN vs popularity", "two-tower ANN", "popularity"),
    ("recall@200", "+ fresh uploads vs ANN alone", "+ fresh uploads", "two-tower ANN"),
    ("recall@200", "+ trending vs without", "+ trending", "+ fresh uploads"),
    (
        "recall@200",
        "cold norms matched vs inner product",
        "two-tower, cold norms matched",
        "two-tower, inner product",
    ),
    (
        "recall@50",
        "cosine vs inner product",
        "two-tower, cosine",
        "two-tower, inner product",
    ),
    (
        "recall@200",
        "cosine vs inner product",
        "two-tower, cosine",
        "two-tower, inner product",
    ),
    ("NDCG@10", "ranker vs two-tower score", "ranker (GBDT)", "two-tower score"),
    (
        "NDCG@10",
        "ranker vs no dynamic features",
        "ranker (GBDT)",
        "ranker, no dynamic features",
    ),
    (
        "NDCG@10",
        "no dynamic features vs two-tower score",
        "ranker, no dynamic features",
        "two-tower score",
    ),
)
NO_FRESHNESS_PAIRS = (  # the same comparisons in the world without freshness
    (
        "recall@200",
        "+ fresh uploads vs two-tower alone",
        "+ fresh uploads",
        "two-tower, inner product",
    ),
    (
        "recall@200",
        "cold norms matched vs inner product",
        "two-tower, cold norms matched",
        "two-tower, inner product",
    ),
)


def metric_value(run: vre.SeedResult, metric: str, method: str) -> float:
    """One method's value of one metric in one seed's main world."""
    if metric == "NDCG@10":
        return run.ndcg_at_10[method]
    return run.recall[method][int(metric.removeprefix("recall@"))]


def print_pairs(runs, pairs, value: Callable[..., float]) -> None:
    """Paired differences over the seeds, each with its 95% interval."""
    for metric, label, method, baseline in pairs:
        diff, half = vre.paired_interval(
            [value(r, metric, method) for r in runs],
            [value(r, metric, baseline) for r in runs],
        )
        verdict = "tie" if abs(diff) <= half else ""
        print(f"{metric:<11}{label:<39}{diff:+.3f} ± {half:.3f} {verdict}".rstrip())


def main() -> None:
    runs = vre.default_results()
    first, last = runs[0], runs[0].n_windows - 1

    def mean(get: Callable[[vre.SeedResult], float]) -> float:
        return float(np.mean([get(run) for run in runs]))

    print(
        f"Synthetic worlds: {len(runs)} seeds, each {first.n_users:,} users, "
        f"{first.n_videos:,} videos, {first.n_windows} time windows"
    )
    print(
        f"per seed: ~{mean(lambda r: r.n_history_watches):,.0f} watches in windows "
        f"0-{last - 1}, ~{mean(lambda r: r.n_test_watches):,.0f} new in window "
        f"{last}; {first.n_eval_users} users evaluated"
    )
    print("values: mean over the seeds, [min-max] where shown")
    share = spread([100 * r.new_video_share for r in runs], ".1f")
    n_new = mean(lambda r: r.n_new_videos)
    print(
        f"videos uploaded in window {last}: ~{n_new:,.0f} per seed "
        f"({n_new / first.n_videos:.1%} of the corpus)"
    )
    print(f"test watches of videos uploaded in window {last}: {share} %")
    ratio = mean(lambda r: r.norm_ratio)
    print(f"their content-tower vectors are {ratio:.1f}x shorter than warm videos'")
    rho = mean(lambda r: r.length_popularity)
    print(f"warm videos' vector length vs their past watches: Spearman {rho:.2f}")

    print(
        f"\n{'candidate source (200/user)':<30}{'recall@50':>10}"
        f"{'recall@200 [min-max]':>22}{'new found':>11}"
    )
    for name in runs[0].recall:
        if name == "two-tower, inner product":
            print("ablation of vector length (exact search):")
        r50 = mean(lambda r, n=name: r.recall[n][50])
        r200 = spread([r.recall[name][200] for r in runs])
        new = mean(lambda r, n=name: r.new_found[n])
        print(f"{name:<30}{r50:>10.3f}{r200:>22}{new:>11.3f}")
    print("recall: per user, then averaged; new found: pooled over all users' watches")

    print(f"\nHNSW (M={vrm.HNSW_LINKS}) vs exact search, top-{vre.SWEEP_K}:")
    print(f"{'efSearch':>8}{'recall@10':>11}{'videos scored per query':>26}")
    for ef in vre.EF_SWEEP:
        recall = mean(lambda r, e=ef: r.ann_curve[e][0])
        scored = mean(lambda r, e=ef: r.ann_curve[e][1])
        print(f"{ef:>8}{recall:>11.3f}{scored:>15,.0f} ({scored / first.n_videos:.0%})")
    scored = mean(lambda r: r.ann_scored_pipeline)
    print(
        f"pipeline top-200 at efSearch {vrm.EF_SEARCH}: "
        f"{mean(lambda r: r.ann_recall_pipeline):.1%} of the exact top-200, "
        f"{scored:,.0f} videos scored ({scored / first.n_videos:.0%})"
    )

    header = f"{'same candidates, ordered by':<30}{'NDCG@10 [min-max]':>22}"
    print(f"\n{header}{'new in top 24':>15}")
    for name in runs[0].ndcg_at_10:
        ndcg = spread([r.ndcg_at_10[name] for r in runs])
        page = mean(lambda r, n=name: r.new_in_page[n])
        print(f"{name:<30}{ndcg:>22}{page:>15.1%}")
    watched = mean(lambda r: r.new_in_watched_candidates)
    print(f"new uploads among the candidates users watched: {watched:.1%}")
    print("NDCG@10: binary gains, per user; new-upload shares: pooled over users")

    print(f"\npaired differences over {len(runs)} seeds: mean ± 95% interval")
    print_pairs(runs, PAIRS, metric_value)
    print(
        f"\nthe same seeds with no freshness effect (decay 0 instead of "
        f"{vrm.FRESHNESS_DECAY}), exact search:"
    )
    share = spread([100 * r.no_freshness["new-upload share"] for r in runs], ".1f")
    print(f"new uploads' share of the test watches: {share} %")
    print_pairs(runs, NO_FRESHNESS_PAIRS, lambda r, _, name: r.no_freshness[name])

    est = production_estimate()
    print("\nProduction estimate (assumptions in the code):")
    print(f"{'peak homepage QPS':<34}{est['peak_qps']:>10,.0f}")
    for name in LOG_STREAMS:
        print(f"{'log: ' + name:<34}{human_bytes(est[f'log {name}']):>10}/day")
    print(f"{'log: all streams':<34}{human_bytes(est['log_bytes_per_day']):>10}/day")
    rejected = LOGGED_SAMPLE * (1 - FUNNEL["ranking"] / FUNNEL["pre-ranking"])
    print(
        f"features as served: {TILES_PER_LOAD} shown + {LOGGED_SAMPLE} sampled from "
        f"all {FUNNEL['pre-ranking']:,} candidates (~{rejected:.0f} rejected by the "
        f"pre-ranker), {human_bytes(sum(FEATURE_BYTES.values()))} a row"
    )
    print(f"{'ANN vectors, float32':<34}{human_bytes(est['index_float32_bytes']):>10}")
    print(
        f"{'ANN vectors, int8 (served)':<34}{human_bytes(est['index_int8_bytes']):>10}"
    )
    graph = f"HNSW links, {est['hnsw_ids_per_vector']:.1f} ids/vector"
    print(f"{graph:<34}{human_bytes(est['hnsw_graph_bytes']):>10}")
    nodes = f"HNSW offsets and levels, {HNSW_NODE_BYTES} B"
    print(f"{nodes:<34}{human_bytes(est['hnsw_node_bytes']):>10}")
    print(
        f"{'index per replica':<34}{human_bytes(est['index_replica_bytes']):>10}"
        f" in {est['index_shards']} shards, {est['index_shard_fill']:.0%} of each "
        f"{human_bytes(INDEX_MACHINE_BYTES)} machine"
    )
    print(
        f"latency: {est['allocated_ms']:.0f} ms allocated of {TOTAL_BUDGET_MS} ms, "
        f"{est['headroom_ms']:.0f} ms headroom"
    )
    print(
        f"each of {est['candidate_leaves']} candidate leaves (sources, shards) "
        f"must meet its allocation at p{est['leaf_percentile']:.2f}"
        " (if independent)"
    )
    for stage in FEATURE_BYTES:
        fetch = human_bytes(est[f"fetch {stage}"])
        label = f"features fetched for {stage}"
        print(f"{label:<34}{fetch:>10}/s at peak")
    print(
        f"cascade: {human_bytes(est['feature_fetch_bytes_per_s'])}/s and "
        f"{est['feature_lookups_per_s'] / 1e6:,.0f}M key lookups/s at peak; "
        f"{est['cascade_core_ms']:.0f} core-ms/request"
    )
    print(
        f"cascade: {est['cascade_cores']:,.0f} busy cores at peak, "
        f"${est['cascade_usd_per_year'] / 1e6:.2f}M/year; "
        f"its ranker needs {est['cascade_ranker_workers']} core per request"
    )
    print(
        f"big ranker on all {FUNNEL['pre-ranking']:,}: "
        f"{human_bytes(est['single_stage_fetch_bytes_per_s'])}/s and "
        f"{est['single_stage_lookups_per_s'] / 1e6:,.0f}M key lookups/s; "
        f"{est['single_stage_core_ms']:.0f} core-ms/request"
    )
    print(
        f"big ranker: {est['single_stage_cores']:,.0f} busy cores at peak, "
        f"${est['single_stage_usd_per_year'] / 1e6:.2f}M/year; "
        f"{est['single_stage_workers']} cores per request"
    )
    print(f"(cores at ${USD_PER_CORE_HOUR:.2f} per core-hour, sized for the peak)")
    print(
        f"ANN: {est['index_shards']} shards, each searched at a beam >= {ANN_QUOTA}, "
        f"~{ANN_VECTORS_SCORED_PER_SHARD:,} vectors scored at {ANN_NS_PER_VECTOR} ns"
    )
    print(
        f"ANN: {est['ann_core_ms']:.0f} core-ms and "
        f"{human_bytes(est['ann_read_bytes_per_request'])} of random reads a request; "
        f"{est['ann_cores']:,.0f} busy cores, "
        f"{human_bytes(est['ann_read_bytes_per_s'])}/s at peak"
    )
    print(
        f"ANN fleet: {est['ann_qps_per_replica']:,.0f} QPS a replica "
        f"({INDEX_MACHINE_CORES} cores at {FLEET_UTILISATION:.0%}), "
        f"{est['ann_replicas']} replicas in {REGIONS} regions, "
        f"{est['ann_machines']} machines, ${est['ann_usd_per_year'] / 1e6:.2f}M/year"
    )
    print(
        f"provisioned alike: cascade {est['cascade_provisioned_cores']:,} cores "
        f"${est['cascade_provisioned_usd_per_year'] / 1e6:.2f}M/year; big ranker "
        f"{est['single_stage_provisioned_cores']:,} cores "
        f"${est['single_stage_provisioned_usd_per_year'] / 1e6:.2f}M/year"
    )
    print(
        f"ANN lever: a shard holds {est['ann_mean_per_shard']:.0f} of the top "
        f"{ANN_QUOTA} on average; asking each for {ANN_SHARD_K} misses some with "
        f"probability <= {est['ann_shard_overflow']:.1e}"
    )
    plan = ab_test_plan()
    print(
        f"A/B test for +{MIN_DETECTABLE_LIFT:.1%} watch time: "
        f"{plan['users_per_arm']:,} users per arm"
    )
    print(
        f"at {TRAFFIC_PER_ARM:.0%} of traffic per arm: power after "
        f"{plan['days_for_power']} day(s), run {plan['days_to_run']} days"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
