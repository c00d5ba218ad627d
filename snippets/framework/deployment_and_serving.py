"""Serving numbers for a recommender: latency budgets, fleet, index, release, batch.

Every figure on the deployment and serving page comes from here, from the stated
assumptions below. Run it: ``python -m snippets.framework.deployment_and_serving``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from snippets.common.estimation import (
    average_qps,
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.concepts.serving import leaf_quantile_needed


def _share(name: str, value: float, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        bounds = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{name} must be in {bounds}, got {value}")
    return float(value)


# --8<-- [start:stages]
@dataclass(frozen=True)
class ServingStage:
    """One step of the request path, with its p99 budget and latency model."""

    name: str
    budget_ms: float  # its share of the p99 SLO: the stage's own p99 target
    median_ms: float  # median of one call to the stage's backend
    calls: int = 1  # parallel calls it waits for: shards of an index or store

    def __post_init__(self) -> None:
        if not 0 < self.median_ms < self.budget_ms:
            raise ValueError(f"{self.name}: need 0 < median_ms < budget_ms")
        if isinstance(self.calls, bool) or not isinstance(self.calls, int):
            raise TypeError(f"{self.name}: calls must be an int")
        if self.calls < 1:
            raise ValueError(f"{self.name}: calls must be at least 1")


def simulate_stage_ms(
    stage: ServingStage,
    n: int,
    rng: np.random.Generator,
    stall_share: float,
    sigma: float = 0.3,
    stall_factor: float = 8.0,
) -> np.ndarray:
    """Latency of one stage for n requests: its slowest call, now and then stalled."""
    _share("stall_share", stall_share, allow_zero=True)
    calls = rng.lognormal(np.log(stage.median_ms), sigma, size=(n, stage.calls))
    slowest = calls.max(axis=1)  # a fan-out waits for every shard
    # A rare stall slows the whole stage: GC pause, a retry, a cold cache.
    return np.where(rng.random(n) < stall_share, stall_factor * slowest, slowest)


def trace_requests(
    stages: Sequence[ServingStage],
    n: int,
    seed: int,
    stall_share: float,
    stall_factor: float = 8.0,
) -> np.ndarray:
    """Per-request, per-stage latencies (n x stages): what a tracing system records."""
    if len(stages) == 0:
        raise ValueError("stages is empty: a request passes at least one stage")
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            simulate_stage_ms(s, n, rng, stall_share, stall_factor=stall_factor)
            for s in stages
        ]
    )


def with_timeouts(
    traced_ms: np.ndarray, timeouts_ms: Sequence[float]
) -> tuple[np.ndarray, float]:
    """End-to-end ms when each stage is cut at its timeout, and the share degraded."""
    timeouts = np.asarray(timeouts_ms, dtype=float)
    if traced_ms.ndim != 2 or traced_ms.shape[1] != timeouts.size:
        raise ValueError("traced_ms needs one column per timeout")
    # On timeout the stage's fallback (the light ranker's order, cached popular
    # items, the shards that answered) is served at once: it costs its timeout.
    capped = np.minimum(traced_ms, timeouts)
    degraded = float(np.mean((traced_ms > timeouts).any(axis=1)))
    return capped.sum(axis=1), degraded
    # --8<-- [end:stages]


# --8<-- [start:release]
def detectable_change(
    baseline_rate: float,
    n_treatment: float,
    n_control: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest relative change in a rate that a two-sided z-test finds with power.

    delta = (z_{1-alpha/2} + z_power) * sqrt(p (1 - p) (1/n_t + 1/n_c)), over p.
    """
    p = _share("baseline_rate", baseline_rate)
    _share("alpha", alpha)
    _share("power", power)
    if min(n_treatment, n_control) < 1:
        raise ValueError("n_treatment and n_control must be at least 1")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    se = math.sqrt(p * (1 - p) * (1 / n_treatment + 1 / n_control))
    return z * se / p


def shadow_cost(
    share: float, accelerators: int, feature_rows_per_second: float
) -> tuple[int, float]:
    """Extra accelerators and feature-store reads to shadow a share of traffic."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    # The shadow model does all the work of serving, then throws the answer away.
    return math.ceil(share * accelerators), share * feature_rows_per_second
    # --8<-- [end:release]


# --8<-- [start:memory]
def hnsw_bytes_per_item(dim: int, m: int, id_bytes: int = 8) -> int:
    """float32 vector + layer-0 links (2 * m int32 ids) + the item's external id."""
    if min(dim, m) < 1 or id_bytes < 0:
        raise ValueError("dim and m must be at least 1, id_bytes non-negative")
    return 4 * dim + 2 * m * 4 + id_bytes  # upper layers add about 1/m more links


def ivf_pq_bytes_per_item(
    code_bytes: int, id_bytes: int = 8, rescore_dim: int = 0
) -> int:
    """PQ code + id in its inverted list (+ a float32 copy kept to re-score)."""
    if code_bytes < 1 or min(id_bytes, rescore_dim) < 0:
        raise ValueError("code_bytes must be at least 1, the others non-negative")
    return code_bytes + id_bytes + 4 * rescore_dim
    # --8<-- [end:memory]


# --8<-- [start:batch]
@dataclass(frozen=True)
class BatchVsOnline:
    """Accelerator-hours a day to score every account nightly, or every request."""

    batch_hours: float
    online_work_hours: float
    online_provisioned_hours: float
    break_even_active_share: float  # above it, the nightly batch is cheaper


def batch_vs_online(
    accounts: float,
    active_share: float,
    requests_per_active: float,
    flop_per_scoring: float,
    accelerator_flops: float,
    peak_ratio: float,
    utilisation: float,
) -> BatchVsOnline:
    """Batch scores each account once a night, flat out; online scores each request
    of the active accounts, on a fleet sized for the peak at the target utilisation."""
    _share("active_share", active_share)
    if not 0 < utilisation <= 1 or peak_ratio < 1:
        raise ValueError("need 0 < utilisation <= 1 and peak_ratio >= 1")
    if min(accounts, requests_per_active, flop_per_scoring, accelerator_flops) <= 0:
        raise ValueError("counts, FLOPs and accelerator speed must be positive")
    hours_per_scoring = flop_per_scoring / accelerator_flops / 3600
    batch = accounts * hours_per_scoring
    work = accounts * active_share * requests_per_active * hours_per_scoring
    provisioned = work * peak_ratio / utilisation
    break_even = utilisation / (requests_per_active * peak_ratio)
    return BatchVsOnline(batch, work, provisioned, break_even)
    # --8<-- [end:batch]


# --8<-- [start:assumptions]
# Stated assumptions, not measurements: change them and re-run.
DAU, REQUESTS_PER_USER, PEAK_RATIO = 100e6, 10, 2.0
SLO_P99_MS = 100  # server-side p99 of the whole recommendation request
HEADROOM = 0.25  # share of the SLO that no stage is given
STAGES = (
    ServingStage("front end + network", 8, 3.5),
    ServingStage("retrieval, 20 shards", 15, 5.0, calls=20),
    ServingStage("light ranker", 10, 4.5),
    ServingStage("feature fetch, 16 shards", 15, 5.0, calls=16),
    ServingStage("heavy ranker", 20, 9.0),
    ServingStage("re-ranking", 5, 2.0),
)
STALL_SHARE, STALL_FACTOR = 0.004, 8.0  # per stage per request: rare, and slow
# Timeouts: each budget scaled up so that all of them together fill the SLO.
TIMEOUT_SCALE = 1 / (1 - HEADROOM)
# Model calls per request and FLOPs per call (the architecture page's funnel).
MODELS = {"light ranker": (10_000, 2e5), "heavy ranker": (500, 2e7)}
ACCELERATOR_FLOPS = 1e13  # sustained at serving batch sizes
UTILISATION, ZONES = 0.6, 3  # target load; survive losing one zone of three
DOLLARS_PER_ACCELERATOR_HOUR = 2.0  # an assumption: use your own price
# Feature rows the heavy ranker reads per candidate: the item's, and the pair's.
ROW_BYTES = {"item": 100 * 4, "user x item": 50 * 4}  # float32 values
# ANN index over the corpus; hosts keep 192 GB of RAM for it.
CORPUS, DIM, HNSW_M, PQ_BYTES, ID_BYTES = 1e9, 256, 32, 64, 8
HOST_INDEX_BYTES, INDEX_REPLICAS = 192e9, 3
# Release: a 1% canary; errors per request and conversion per user.
CANARY_SHARE, ERROR_RATE, CONVERSION_RATE = 0.01, 0.001, 0.02
# Batch: 100M accounts, 30% open the app on a given day, top 100 kept per user.
ACCOUNTS, ACTIVE_SHARE, KEPT_PER_USER = 100e6, 0.3, 100
# --8<-- [end:assumptions]


# --8<-- [start:demo]
def latency_report() -> None:
    print(
        f"Latency: p99 SLO {SLO_P99_MS} ms server-side; stage budgets may use "
        f"{1 - HEADROOM:.0%} of it"
    )
    traced = trace_requests(STAGES, 200_000, 0, STALL_SHARE, STALL_FACTOR)
    calm = trace_requests(STAGES, 200_000, 1, stall_share=0.0)
    print(f"{'stage':<25} {'budget':>6} {'p99':>5}  each call must meet, in budget")
    for i, s in enumerate(STAGES):
        need = leaf_quantile_needed(s.calls)
        print(
            f"{s.name:<25} {s.budget_ms:>6.0f} {np.quantile(traced[:, i], 0.99):>5.1f}"
            f"  its p{100 * need:.2f}"
        )
    budgets = {s.name: s.budget_ms for s in STAGES}
    print(
        f"sum of budgets {sum(budgets.values()):.0f} ms, unallocated "
        f"{remaining_budget_ms(SLO_P99_MS, budgets, headroom=HEADROOM):.0f} ms"
    )
    stalled = 1 - (1 - STALL_SHARE) ** len(STAGES)  # requests with at least one
    print(f"{'stalls per stage':<28} {'sum of stage p99s':>17} {'traced p99':>10}")
    for label, run in (
        ("none", calm),
        (f"{STALL_SHARE:.1%} ({STALL_FACTOR:.0f}x), {stalled:.1%} of requests", traced),
    ):
        sum_p99 = np.quantile(run, 0.99, axis=0).sum()
        end_to_end = np.quantile(run.sum(axis=1), 0.99)
        print(f"{label:<28} {sum_p99:>14.1f} ms {end_to_end:>7.1f} ms")
    timeouts = [TIMEOUT_SCALE * s.budget_ms for s in STAGES]
    capped, degraded = with_timeouts(traced, timeouts)
    print(
        f"timeouts at budget x {TIMEOUT_SCALE:.2f} (sum {sum(timeouts):.0f} ms): "
        f"p99 {np.quantile(capped, 0.99):.1f} ms, {degraded:.1%} of requests "
        "get a fallback"
    )


def capacity_report() -> float:
    qps = peak_qps(DAU, REQUESTS_PER_USER, PEAK_RATIO)
    print(f"\nCapacity at {qps:,.0f} peak QPS, model calls per second:")
    flops = 0.0
    for name, (calls, flop_per_call) in MODELS.items():
        flops += qps * calls * flop_per_call
        print(
            f"  {name}: {qps * calls:,.0f} inferences/s, "
            f"{qps * calls * flop_per_call:.1e} FLOP/s"
        )
    full = servers_needed(flops, ACCELERATOR_FLOPS)
    target = servers_needed(flops, ACCELERATOR_FLOPS, UTILISATION)
    fleet = servers_needed(flops, ACCELERATOR_FLOPS, UTILISATION, zones=ZONES)
    print(
        f"  accelerators: {full} flat out, {target} at {UTILISATION:.0%} load, "
        f"{fleet} across {ZONES} zones that survive losing one"
    )
    per_day = fleet * DOLLARS_PER_ACCELERATOR_HOUR * 24
    requests_per_day = DAU * REQUESTS_PER_USER
    print(
        f"  at ${DOLLARS_PER_ACCELERATOR_HOUR:.2f} an accelerator-hour: "
        f"${per_day:,.0f} a day, ${per_day / requests_per_day * 1000:.4f} "
        "per 1,000 requests"
    )
    return fleet


def features_report() -> float:
    qps = peak_qps(DAU, REQUESTS_PER_USER, PEAK_RATIO)
    candidates = MODELS["heavy ranker"][0]
    rows = qps * candidates * len(ROW_BYTES)
    bytes_per_second = qps * candidates * sum(ROW_BYTES.values())
    print(
        f"\nFeature fetch for {candidates} candidates x {len(ROW_BYTES)} rows "
        f"({' + '.join(f'{b} B' for b in ROW_BYTES.values())}):"
    )
    print(f"  {rows / 1e6:.1f}M row reads/s, {human_bytes(bytes_per_second)}/s at peak")
    item_share = ROW_BYTES["item"] / sum(ROW_BYTES.values())
    print(f"  item rows, {item_share:.0%} of the bytes, are the same for every user")
    return rows


def index_report() -> None:
    layouts = {
        f"HNSW, float32, M={HNSW_M}": hnsw_bytes_per_item(DIM, HNSW_M, ID_BYTES),
        f"IVF-PQ, {PQ_BYTES} B codes": ivf_pq_bytes_per_item(PQ_BYTES, ID_BYTES),
        "IVF-PQ + float32 copy": ivf_pq_bytes_per_item(PQ_BYTES, ID_BYTES, DIM),
    }
    print(
        f"\nANN index, {CORPUS / 1e9:.0f}B x {DIM}-d, "
        f"{human_bytes(HOST_INDEX_BYTES)} per host:"
    )
    print(
        f"{'layout':<21} {'B/item':>6} {'one copy':>9} {'shards':>6} "
        f"{'x' + str(INDEX_REPLICAS):>9} {'+ old version':>13}"
    )
    for name, per_item in layouts.items():
        copy = storage_bytes(CORPUS, per_item)
        shards = math.ceil(copy / HOST_INDEX_BYTES)
        served = storage_bytes(CORPUS, per_item, replicas=INDEX_REPLICAS)
        print(
            f"{name:<21} {per_item:>6,} {human_bytes(copy):>9} {shards:>6} "
            f"{human_bytes(served):>9} {human_bytes(2 * served):>13}"
        )


def release_report(fleet: int, rows: float) -> None:
    print("\nShadow of the new ranker (it does all the work, then discards it):")
    for share in (1.0, 0.1):
        extra, reads = shadow_cost(share, fleet, rows)
        print(
            f"  {share:.0%} of traffic: +{extra} accelerators, "
            f"+{reads / 1e6:.1f}M feature row reads/s"
        )
    hour = average_qps(DAU, REQUESTS_PER_USER) * 3600
    print(
        f"\nSmallest change detected (alpha 0.05 two-sided, power 0.8), "
        f"{CANARY_SHARE:.0%} canary vs 50/50 A/B:"
    )
    print(f"{'metric, unit, window':<32} {'baseline':>8} {'canary':>7} {'A/B':>6}")
    for label, rate, units in (
        ("errors, requests, 1 hour", ERROR_RATE, hour),
        ("conversion, users, 1 day", CONVERSION_RATE, DAU),
    ):
        canary = detectable_change(
            rate, CANARY_SHARE * units, (1 - CANARY_SHARE) * units
        )
        ab = detectable_change(rate, units / 2, units / 2)
        print(f"{label:<32} {rate:>8.2%} {canary:>+7.1%} {ab:>+6.2%}")


def batch_report() -> None:
    candidates, flop_per_call = MODELS["heavy ranker"]
    cost = batch_vs_online(
        ACCOUNTS,
        ACTIVE_SHARE,
        REQUESTS_PER_USER,
        candidates * flop_per_call,
        ACCELERATOR_FLOPS,
        PEAK_RATIO,
        UTILISATION,
    )
    print(
        f"\nNightly batch vs online: {ACCOUNTS / 1e6:.0f}M accounts, "
        f"{ACTIVE_SHARE:.0%} active a day, {candidates} candidates each"
    )
    print(
        f"  batch: {cost.batch_hours:.1f} accelerator-hours a night, "
        f"{1 - ACTIVE_SHARE:.0%} of them for users who do not come"
    )
    print(
        f"  online: {cost.online_work_hours:.1f} accelerator-hours of work a day, "
        f"{cost.online_provisioned_hours:.1f} provisioned "
        f"(peak {PEAK_RATIO:.0f}x, {UTILISATION:.0%} load)"
    )
    kept = storage_bytes(ACCOUNTS, KEPT_PER_USER * (8 + 4))  # id + score
    print(
        "  batch needs less accelerator time while over "
        f"{cost.break_even_active_share:.0%} are active"
    )
    print(f"  and stores {human_bytes(kept)} of top-{KEPT_PER_USER} lists a night")


def main() -> None:
    latency_report()
    fleet = capacity_report()
    rows = features_report()
    index_report()
    release_report(fleet, rows)
    batch_report()


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
