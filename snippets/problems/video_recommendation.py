"""Video recommendation (a YouTube-like homepage): estimates and the miniature.

Run it: ``python -m snippets.problems.video_recommendation``. The model code (world,
two-tower retrieval, HNSW, ranker) is in ``video_recommendation_model``.
"""

from __future__ import annotations

import math
import time

import numpy as np
from statsmodels.stats.power import NormalIndPower

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    storage_bytes,
)
from snippets.problems import video_recommendation_model as vrm

# --8<-- [start:assumptions]
# Stated assumptions (the interviewer can change any of them).
DAILY_ACTIVE_USERS = 500e6
HOMEPAGE_LOADS_PER_USER = 5  # app opens and refreshes per day
RECOMMENDABLE_VIDEOS = 1e9  # of the billions uploaded: public, not spam, not tiny
EMBEDDING_DIM = 128
WATCH_EVENTS_PER_USER = 40  # impressions, clicks, watches, likes per day
BYTES_PER_EVENT = 200  # ids, timestamp, context, watch time, position
TOTAL_BUDGET_MS = 200  # server-side p99 for the homepage
STAGE_BUDGET_MS = {  # everything except the ranker
    "network, auth, page assembly": 60,
    "user and context features": 15,
    "candidate generation (parallel)": 30,
    "pre-ranking": 15,
    "re-ranking and policy": 10,
}
FUNNEL = {  # items entering each stage per request
    "corpus": RECOMMENDABLE_VIDEOS,
    "candidate generation": 2_000,
    "pre-ranking": 2_000,
    "ranking": 500,
    "re-ranking": 100,
    "shown": 24,
}
PRE_RANKER_US_PER_ITEM = 2.0  # a small two-tower-style scorer, per CPU core
RANKER_US_PER_ITEM = 60.0  # the multi-task ranker, per CPU core
WATCH_MINUTES_MEAN, WATCH_MINUTES_STD = 60.0, 90.0  # per user-day: heavy-tailed
MIN_DETECTABLE_LIFT = 0.005  # +0.5% watch time is worth shipping at this scale
TRAFFIC_PER_ARM = 0.01  # 1% of users in each arm
MIN_DAYS = 14  # two weekly cycles, and time for novelty effects to fade
# --8<-- [end:assumptions]


# --8<-- [start:estimate]
def production_estimate() -> dict[str, float]:
    """Traffic, storage, latency and compute of the production funnel."""
    qps = peak_qps(DAILY_ACTIVE_USERS, HOMEPAGE_LOADS_PER_USER, peak_to_average=2.0)
    float32_index = storage_bytes(RECOMMENDABLE_VIDEOS, EMBEDDING_DIM * 4)
    int8_index = storage_bytes(RECOMMENDABLE_VIDEOS, EMBEDDING_DIM * 1)
    log_per_day = storage_bytes(
        DAILY_ACTIVE_USERS * WATCH_EVENTS_PER_USER, BYTES_PER_EVENT
    )
    ranking_ms = remaining_budget_ms(TOTAL_BUDGET_MS, STAGE_BUDGET_MS)
    # Core-milliseconds per request: the cascade vs the big ranker on everything.
    cascade_ms = (
        FUNNEL["pre-ranking"] * PRE_RANKER_US_PER_ITEM
        + FUNNEL["ranking"] * RANKER_US_PER_ITEM
    ) / 1_000
    single_stage_ms = FUNNEL["pre-ranking"] * RANKER_US_PER_ITEM / 1_000
    return {
        "peak_qps": qps,
        "index_float32_bytes": float32_index,
        "index_int8_bytes": int8_index,
        "log_bytes_per_day": log_per_day,
        "ranking_budget_ms": ranking_ms,
        "cascade_core_ms": cascade_ms,
        "single_stage_core_ms": single_stage_ms,
        # A core-ms of work per request at Q requests/s keeps Q/1000 cores busy.
        "cascade_cores": qps * cascade_ms / 1_000,
        "single_stage_cores": qps * single_stage_ms / 1_000,
    }


def ab_test_plan(alpha: float = 0.05, power: float = 0.8) -> dict[str, float]:
    """Users per arm to detect the minimum lift in watch time, and the duration."""
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must lie strictly between 0 and 1")
    effect_size = WATCH_MINUTES_MEAN * MIN_DETECTABLE_LIFT / WATCH_MINUTES_STD
    users = NormalIndPower().solve_power(effect_size, alpha=alpha, power=power)
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
    ranker = vrm.train_ranker(world, n_candidates=k)
    view = vrm.snapshot(world, len(world.events) - 1)
    users = vrm.active_users(view, n_queries, np.random.default_rng(0))
    start = time.perf_counter()
    personal = vrm.retrieve(view.retriever, users, view.history, k)
    ann_s = time.perf_counter() - start
    start = time.perf_counter()
    vrm.retrieve(view.retriever, users, view.history, k, exact=True)
    exact_s = time.perf_counter() - start
    start = time.perf_counter()
    vrm.rank(world, view, ranker, users, personal)
    rank_s = time.perf_counter() - start
    return {
        "ann_us_per_query": ann_s / len(users) * 1e6,
        "exact_us_per_query": exact_s / len(users) * 1e6,
        "ranker_us_per_item": rank_s / personal.size * 1e6,
    }
    # --8<-- [end:latency]


# --8<-- [start:demo]
def main() -> None:
    result = vrm.default_result()
    last = result.n_windows - 1
    print(
        f"Synthetic world: {result.n_users:,} users, {result.n_videos:,} videos, "
        f"{result.n_windows} time windows"
    )
    print(
        f"history (windows 0-{last - 1}): {result.n_history_watches:,} watches; "
        f"test (window {last}): {result.n_test_watches:,} new watches"
    )
    print(f"evaluated on {result.n_eval_users} users with a new watch in window {last}")
    print(
        f"{result.new_video_share:.1%} of test watches are of videos uploaded in "
        f"window {last} (no watch history yet)"
    )
    print(f"\n{'candidate source':<18} {'recall@50':>9} {'recall@200':>10} {'new':>6}")
    for name, by_k in result.recall.items():
        new = result.new_video_recall[name]
        print(f"{name:<18} {by_k[50]:>9.3f} {by_k[200]:>10.3f} {new:>6.3f}")
    print(f"HNSW vs exact search: {result.ann_recall:.1%} of the exact top-200")
    print(f"\n{'final top 10 by':<18} {'NDCG@10':>9}")
    for name, value in result.ndcg_at_10.items():
        print(f"{name:<18} {value:>9.3f}")

    est = production_estimate()
    print("\nProduction estimate (assumptions in the code):")
    print(f"peak homepage QPS          {est['peak_qps']:>12,.0f}")
    print(f"ANN index, float32         {human_bytes(est['index_float32_bytes']):>12}")
    print(f"ANN index, int8            {human_bytes(est['index_int8_bytes']):>12}")
    print(f"event log per day          {human_bytes(est['log_bytes_per_day']):>12}")
    print(f"left for the ranker        {est['ranking_budget_ms']:>9.0f} ms")
    print(
        f"cascade: {est['cascade_core_ms']:.0f} core-ms/request, "
        f"{est['cascade_cores']:,.0f} cores at peak"
    )
    print(
        f"big ranker on all {FUNNEL['pre-ranking']:,}: "
        f"{est['single_stage_core_ms']:.0f} core-ms/request, "
        f"{est['single_stage_cores']:,.0f} cores at peak"
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
