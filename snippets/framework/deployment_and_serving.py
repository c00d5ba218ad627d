"""Serving numbers for a recommender: latency budgets, cost per stage, index, release.

Every figure on the deployment and serving page comes from here: from the stated
assumptions below, and from the machines and the retrieval scan of the
architecture page (``high_level_architecture``). Run it:
``python -m snippets.framework.deployment_and_serving``.
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
from snippets.framework.high_level_architecture import (
    ACCELERATOR,
    CORPUS,
    CPU_SERVER,
    DIM,
    FETCH_ROWS_PER_NODE,
    HEAVY_CANDIDATES,
    HEAVY_FEATURES,
    LIGHT_CANDIDATES,
    LIGHT_FEATURES,
    PROBED,
    RAM_PER_SERVER,
    RANKER_FLOPS,
    REPLICAS,
)


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
    stage: ServingStage, n: int, rng: np.random.Generator, sigma: float = 0.3
) -> np.ndarray:
    """Latency of one stage for n requests: the slowest of its parallel calls."""
    calls = rng.lognormal(np.log(stage.median_ms), sigma, size=(n, stage.calls))
    return calls.max(axis=1)  # a fan-out waits for every shard


def with_stalls(
    traced_ms: np.ndarray,
    rng: np.random.Generator,
    stall_share: float,
    stall_factor: float = 8.0,
    *,
    together: bool = False,
) -> np.ndarray:
    """Each stage of each request, with probability stall_share, stalls as a whole.

    A stall (GC pause, a retry, a cold cache) slows the stage on that request by
    stall_factor; it strikes the stage once, not each of its shard calls. With
    together=True a stall strikes a request's every stage at once (one overloaded
    host, a load spike): stall_share is then a share of requests.
    """
    _share("stall_share", stall_share, allow_zero=True)
    shape = (traced_ms.shape[0], 1) if together else traced_ms.shape
    stalled = rng.random(shape) < stall_share
    return np.where(stalled, stall_factor * traced_ms, traced_ms)


def trace_requests(stages: Sequence[ServingStage], n: int, seed: int) -> np.ndarray:
    """Per-request, per-stage latencies (n x stages): what a tracing system records."""
    if len(stages) == 0:
        raise ValueError("stages is empty: a request passes at least one stage")
    rng = np.random.default_rng(seed)
    return np.column_stack([simulate_stage_ms(s, n, rng) for s in stages])


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


# --8<-- [start:cost]
@dataclass(frozen=True)
class StageFleet:
    """One stage's bottleneck resource: demand at peak and what one machine does."""

    name: str
    resource: str  # what runs out first: FLOPs, memory bandwidth, row reads
    demand: float  # per second at peak
    per_machine: float  # the same unit, sustained by one machine
    dollars_per_hour: float  # for one machine

    def machines(self, utilisation: float = 1.0, zones: int = 1) -> int:
        """Machines at a target load, spread so that any zones - 1 carry the peak."""
        return servers_needed(self.demand, self.per_machine, utilisation, zones)

    def dollars_per_day(self, utilisation: float = 1.0, zones: int = 1) -> float:
        return self.machines(utilisation, zones) * self.dollars_per_hour * 24


def feature_reads(qps: float) -> dict[str, tuple[float, float]]:
    """Feature rows and bytes read per second at qps, for each model's candidates."""
    reads = {}
    for model, rows in FEATURE_ROWS.items():
        candidates = MODELS[model][0]
        reads[model] = (
            qps * candidates * len(rows),
            qps * candidates * sum(rows.values()),
        )
    return reads


def serving_fleets(qps: float, retrieval_bytes_per_item: float) -> list[StageFleet]:
    """Every costed stage: the retrieval scan, each model, the feature store."""
    fleets = [
        StageFleet(
            "retrieval, IVF scan",
            "bandwidth",
            qps * PROBED * retrieval_bytes_per_item,  # each probed vector is read
            CPU_SERVER.bytes_per_second,
            CPU_SERVER.dollars_per_hour,
        )
    ]
    for model, (calls, flop_per_call) in MODELS.items():
        fleets.append(
            StageFleet(
                model,
                "FLOPs",
                qps * calls * flop_per_call,
                ACCELERATOR.flops_per_second,
                ACCELERATOR.dollars_per_hour,
            )
        )
    rows = sum(r for r, _ in feature_reads(qps).values())
    fleets.append(
        StageFleet(
            "feature store",
            "row reads",
            rows,
            FETCH_ROWS_PER_NODE,
            CPU_SERVER.dollars_per_hour,
        )
    )
    return fleets
    # --8<-- [end:cost]


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
    share: float,
    flop_per_second: float,
    feature_rows_per_second: float,
    accelerator_flops: float,
    utilisation: float,
) -> tuple[int, float]:
    """Extra accelerators and feature-store reads to shadow a share of traffic.

    The shadow does all the work of serving, then throws the answer away. It is
    best effort: sized at the target load, with no spare zone, since no user
    waits for it and it can be shed when a zone is lost.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    extra = servers_needed(share * flop_per_second, accelerator_flops, utilisation)
    return extra, share * feature_rows_per_second
    # --8<-- [end:release]


# --8<-- [start:memory]
def hnsw_bytes_per_item(dim: int, m: int, id_bytes: int = 8) -> int:
    """float32 vector + layer-0 links (2 * m int32 ids) + the item's external id."""
    if min(dim, m) < 1 or id_bytes < 0:
        raise ValueError("dim and m must be at least 1, id_bytes non-negative")
    return 4 * dim + 2 * m * 4 + id_bytes  # upper layers add about 1/m more links


def ivf_bytes_per_item(
    vector_bytes: int, id_bytes: int = 8, rescore_dim: int = 0
) -> int:
    """Stored vector (float32 or a PQ code) + id in its inverted list (+ a float32
    copy kept to re-score the shortlist)."""
    if vector_bytes < 1 or min(id_bytes, rescore_dim) < 0:
        raise ValueError("vector_bytes must be at least 1, the others non-negative")
    return vector_bytes + id_bytes + 4 * rescore_dim
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
    zones: int = 1,
) -> BatchVsOnline:
    """Batch scores each account once a night, flat out; online scores each request
    of the active accounts, on a fleet sized for the peak at the target load and
    spread over zones so that any zones - 1 carry it."""
    _share("active_share", active_share)
    if not 0 < utilisation <= 1 or peak_ratio < 1:
        raise ValueError("need 0 < utilisation <= 1 and peak_ratio >= 1")
    if isinstance(zones, bool) or not isinstance(zones, int) or zones < 1:
        raise ValueError(f"zones must be a positive integer, got {zones!r}")
    if min(accounts, requests_per_active, flop_per_scoring, accelerator_flops) <= 0:
        raise ValueError("counts, FLOPs and accelerator speed must be positive")
    hours_per_scoring = flop_per_scoring / accelerator_flops / 3600
    spare = zones / (zones - 1) if zones > 1 else 1.0  # a zone's worth held back
    batch = accounts * hours_per_scoring
    work = accounts * active_share * requests_per_active * hours_per_scoring
    provisioned = work * peak_ratio / utilisation * spare
    break_even = utilisation / (requests_per_active * peak_ratio * spare)
    return BatchVsOnline(batch, work, provisioned, break_even)
    # --8<-- [end:batch]


# --8<-- [start:assumptions]
# Stated assumptions, not measurements: change them and re-run. The machines
# (ACCELERATOR, CPU_SERVER), the corpus, the IVF scan (PROBED vectors of DIM
# float32 a request), RAM_PER_SERVER for an index, FETCH_ROWS_PER_NODE (row
# reads a second one feature-store node serves), the candidates and features of
# each ranker and the index REPLICAS (one a zone) are the architecture page's.
DAU, REQUESTS_PER_USER, PEAK_RATIO = 100e6, 10, 2.0
SLO_P99_MS = 100  # server-side p99 of the whole recommendation request
HEADROOM = 0.25  # share of the SLO that no stage is given
STAGES = (  # name, p99 budget (ms), median of one call (ms), parallel calls
    ServingStage("front end + network hops", 10, 4.3),
    ServingStage("retrieval, 3 shards", 15, 6.0, calls=3),
    ServingStage("light-ranker features, 16 shards", 8, 2.7, calls=16),
    ServingStage("light ranker", 7, 3.1),
    ServingStage("heavy-ranker features, 16 shards", 12, 4.0, calls=16),
    ServingStage("heavy ranker", 18, 8.0),
    ServingStage("re-ranking", 5, 2.0),
)
STALL_SHARE, STALL_FACTOR = 0.004, 8.0  # a stage stalls on 0.4% of requests, 8x
TOGETHER_SHARES = (0.004, 0.02)  # every stage stalls at once on these shares
TIMEOUT_SCALE = 1 / (1 - HEADROOM)  # timeouts: budgets scaled to fill the SLO
UTILISATION, ZONES = 0.6, 3  # target load; survive losing one zone of three
# Model calls per request and FLOPs per call (the architecture page's funnel).
MODELS = {
    "light ranker": (LIGHT_CANDIDATES, 2e5),
    "heavy ranker": (HEAVY_CANDIDATES, RANKER_FLOPS),
}
# Feature rows each model reads per candidate, and their bytes (float32 values).
# The heavy ranker's other features (user and context) come once per request.
HEAVY_ROWS = {"item": 100, "user x item": 50}  # features in each row
FEATURE_ROWS = {
    "light ranker": {"item, compact": 4 * LIGHT_FEATURES},
    "heavy ranker": {row: 4 * n for row, n in HEAVY_ROWS.items()},
}
USER_ROW_FEATURES = HEAVY_FEATURES - sum(HEAVY_ROWS.values())  # once per request
# ANN index: IVF over float32 vectors is served; the others are alternatives.
HNSW_M, PQ_BYTES, ID_BYTES = 32, 64, 8
# Release: a 1% canary; errors per request and conversion per user.
CANARY_SHARE, ERROR_RATE, CONVERSION_RATE = 0.01, 0.001, 0.02
# Batch: 30% of accounts open the app on a given day; top 100 kept for each.
ACTIVE_SHARE, KEPT_PER_USER = 0.3, 100
ACCOUNTS = DAU / ACTIVE_SHARE  # the 333M accounts behind the 100M daily users
# --8<-- [end:assumptions]

SERVED = "IVF, float32 (served)"
LAYOUTS = {
    SERVED: ivf_bytes_per_item(4 * DIM, ID_BYTES),
    f"HNSW, float32, M={HNSW_M}": hnsw_bytes_per_item(DIM, HNSW_M, ID_BYTES),
    f"IVF-PQ, {PQ_BYTES} B codes": ivf_bytes_per_item(PQ_BYTES, ID_BYTES),
    "IVF-PQ + float32 copy": ivf_bytes_per_item(PQ_BYTES, ID_BYTES, DIM),
}


def index_shards(bytes_per_item: float) -> int:
    """Hosts one copy of the index needs for its memory alone."""
    return math.ceil(storage_bytes(CORPUS, bytes_per_item) / RAM_PER_SERVER)


# --8<-- [start:demo]
def _tails(seed: int, n: int) -> dict[str, float]:
    """One seed's traces, with and without stalls, and with timeouts."""
    calm = trace_requests(STAGES, n, seed)
    rng = np.random.default_rng(10_000 + seed)
    stalled = with_stalls(calm, rng, STALL_SHARE, STALL_FACTOR)
    timeouts = [TIMEOUT_SCALE * s.budget_ms for s in STAGES]
    capped, degraded = with_timeouts(stalled, timeouts)
    together = {}
    for share in TOGETHER_SHARES:
        slow = with_stalls(calm, rng, share, STALL_FACTOR, together=True)
        stage_p99 = np.quantile(slow, 0.99, axis=0)
        together[share] = (
            stage_p99.sum(),
            np.quantile(slow.sum(axis=1), 0.99),
            int(np.sum(stage_p99 > [s.budget_ms for s in STAGES])),
        )
    return {
        "together": together,
        "calm sum": np.quantile(calm, 0.99, axis=0).sum(),
        "calm": np.quantile(calm.sum(axis=1), 0.99),
        "stalled sum": np.quantile(stalled, 0.99, axis=0).sum(),
        "stalled": np.quantile(stalled.sum(axis=1), 0.99),
        "capped": np.quantile(capped, 0.99),
        "degraded": degraded,
        "stage p99": np.quantile(stalled, 0.99, axis=0),
    }


def latency_report(seeds: Sequence[int] = range(6), n: int = 100_000) -> None:
    print(
        f"Latency: p99 SLO {SLO_P99_MS} ms server-side; stage budgets may use "
        f"{1 - HEADROOM:.0%} of it"
    )
    runs = [_tails(seed, n) for seed in seeds]
    first = runs[0]
    print(f"{'stage':<33} {'budget':>6} {'p99':>5}  each call must meet, in budget")
    for s, p99 in zip(STAGES, first["stage p99"], strict=True):
        need = leaf_quantile_needed(s.calls)
        print(f"{s.name:<33} {s.budget_ms:>6.0f} {p99:>5.1f}  its p{100 * need:.2f}")
    budgets = {s.name: s.budget_ms for s in STAGES}
    print(
        f"sum of budgets {sum(budgets.values()):.0f} ms, unallocated "
        f"{remaining_budget_ms(SLO_P99_MS, budgets, headroom=HEADROOM):.0f} ms"
    )
    hit = 1 - (1 - STALL_SHARE) ** len(STAGES)  # requests with at least one stall
    print(f"{'seed ' + str(seeds[0]):<42} {'sum of stage p99s':>17} {'traced p99':>10}")
    print(f"{'no stalls':<42} {first['calm sum']:>14.1f} ms {first['calm']:>7.1f} ms")
    label = f"a stage stalls on {STALL_SHARE:.1%} of requests ({STALL_FACTOR:.0f}x)"
    print(f"{label:<42} {first['stalled sum']:>14.1f} ms {first['stalled']:>7.1f} ms")
    timeouts = [TIMEOUT_SCALE * s.budget_ms for s in STAGES]
    print(f"  {hit:.1%} of requests meet a stall somewhere")
    for share, (summed, traced, over) in first["together"].items():
        label = f"every stage stalls at once on {share:.1%}"
        print(f"{label:<42} {summed:>14.1f} ms {traced:>7.1f} ms")
        print(f"  stage p99s over their budget: {over} of {len(STAGES)}")
    print(
        f"timeouts at budget x {TIMEOUT_SCALE:.2f} (sum {sum(timeouts):.0f} ms): "
        f"p99 {first['capped']:.1f} ms, {first['degraded']:.1%} of requests "
        "get a fallback"
    )

    def spread(key: str, fmt: str = ".1f") -> str:
        values = [run[key] for run in runs]
        return f"{min(values):{fmt}}-{max(values):{fmt}}"

    print(f"{len(runs)} seeds ({seeds[0]}-{seeds[-1]}), {n:,} requests each:")
    print(
        f"  stalls: traced p99 {spread('stalled')} ms, "
        f"sum of stage p99s {spread('stalled sum')} ms"
    )
    print(
        f"  no stalls: traced p99 {spread('calm')} ms, "
        f"sum of stage p99s {spread('calm sum')} ms"
    )
    print(
        f"  timeouts: p99 {spread('capped')} ms, fallbacks "
        f"{spread('degraded', '.1%')} of requests"
    )


def features_report(qps: float) -> None:
    print("\nFeature fetch at peak, rows per candidate:")
    item_rows = item_bytes = all_rows = all_bytes = 0.0
    for model, (rows, bytes_per_second) in feature_reads(qps).items():
        layout = FEATURE_ROWS[model]
        sizes = " + ".join(f"{b} B" for b in layout.values())
        candidates = MODELS[model][0]
        print(
            f"  {model}: {candidates:,} x {len(layout)} ({sizes}): "
            f"{rows / 1e6:.1f}M row reads/s, {human_bytes(bytes_per_second)}/s"
        )
        per_row = qps * candidates
        item = [b for name, b in layout.items() if name.startswith("item")]
        item_rows += per_row * len(item)
        item_bytes += per_row * sum(item)
        all_rows += rows
        all_bytes += bytes_per_second
    print(
        f"  item rows, the same for every user: {item_rows / all_rows:.0%} of the "
        f"reads, {item_bytes / all_bytes:.0%} of the bytes"
    )
    print(
        f"  the heavy ranker's user row ({USER_ROW_FEATURES} user and context "
        f"features, {4 * USER_ROW_FEATURES} B), once a request:"
    )
    print(f"  {qps:,.0f} reads/s, {qps / all_rows:.2%} of the reads, left out above")


def cost_report(qps: float) -> list[StageFleet]:
    print(
        f"\nCost at {qps:,.0f} peak QPS: ${ACCELERATOR.dollars_per_hour:.2f} an "
        f"accelerator-hour, ${CPU_SERVER.dollars_per_hour:.2f} a CPU-host-hour"
    )
    print(
        f"{'stage':<20} {'resource':<9} {'demand/s':>9} {'flat out':>8} "
        f"{f'{UTILISATION:.0%} load':>8} {f'{ZONES} zones':>7} {'$ a day':>7}"
    )
    fleets = serving_fleets(qps, 4 * DIM)
    shown = {
        "bandwidth": lambda d: f"{human_bytes(d)}",
        "FLOPs": lambda d: f"{d:.1e}",
        "row reads": lambda d: f"{d / 1e6:.1f}M",
    }
    totals = np.zeros(4)
    for f in fleets:
        row = np.array(
            [
                f.machines(),
                f.machines(UTILISATION),
                f.machines(UTILISATION, ZONES),
                f.dollars_per_day(UTILISATION, ZONES),
            ]
        )
        totals += row
        print(
            f"{f.name:<20} {f.resource:<9} {shown[f.resource](f.demand):>9} "
            f"{row[0]:>8,.0f} {row[1]:>8,.0f} {row[2]:>7,.0f} {row[3]:>7,.0f}"
        )
    print(
        f"{'total':<30} {'':>9} {totals[0]:>8,.0f} {totals[1]:>8,.0f} "
        f"{totals[2]:>7,.0f} {totals[3]:>7,.0f}"
    )
    per_request = totals[3] / (DAU * REQUESTS_PER_USER) * 1000
    print(f"  ${per_request:.4f} per 1,000 requests; front end and re-ranking left out")
    pq = serving_fleets(qps, PQ_BYTES)[0]
    print(
        f"  retrieval over {PQ_BYTES} B PQ codes instead: "
        f"{pq.machines(UTILISATION, ZONES):,} hosts, "
        f"${pq.dollars_per_day(UTILISATION, ZONES):,.0f} a day"
    )
    return fleets


def index_report(retrieval: StageFleet) -> None:
    print(
        f"\nANN index, {CORPUS / 1e9:.0f}B x {DIM}-d, "
        f"{human_bytes(RAM_PER_SERVER)} per host:"
    )
    print(
        f"{'layout':<21} {'B/item':>6} {'one copy':>9} {'shards':>6} "
        f"{'x' + str(REPLICAS):>9} {'+ old version':>13}"
    )
    for name, per_item in LAYOUTS.items():
        copy = storage_bytes(CORPUS, per_item)
        served = storage_bytes(CORPUS, per_item, replicas=REPLICAS)
        print(
            f"{name:<21} {per_item:>6,} {human_bytes(copy):>9} "
            f"{index_shards(per_item):>6} "
            f"{human_bytes(served):>9} {human_bytes(2 * served):>13}"
        )
    shards = index_shards(LAYOUTS[SERVED])
    shard_bytes = storage_bytes(CORPUS, LAYOUTS[SERVED]) / shards
    hosts = retrieval.machines(UTILISATION, ZONES)
    print(
        f"  served: {shards} shards of {human_bytes(shard_bytes)} a copy; the scan's "
        f"{hosts} hosts"
    )
    copies = hosts // shards
    print(f"  hold about {copies} copies: bandwidth, not memory, sizes them")
    print(f"  x{REPLICAS} above is the floor, one copy a zone; the served fleet holds")
    held = copies * storage_bytes(CORPUS, LAYOUTS[SERVED])
    print(
        f"  {human_bytes(held)} of its {human_bytes(hosts * RAM_PER_SERVER)} RAM; "
        f"with the old version, {human_bytes(2 * held)}"
    )
    wide = index_shards(2 * LAYOUTS[SERVED])
    print(
        f"  old version kept loaded: {human_bytes(2 * shard_bytes)} a shard, over a "
        f"host's {human_bytes(RAM_PER_SERVER)}: {wide} shards a copy"
    )
    print(
        f"  in the rollout: {hosts // wide} copies of {wide} shards on the same hosts,"
    )
    print(
        f"  each shard within the budget at its "
        f"p{100 * leaf_quantile_needed(wide):.2f}, not its "
        f"p{100 * leaf_quantile_needed(shards):.2f}"
    )


def release_report(qps: float) -> None:
    reads = {model: rows for model, (rows, _) in feature_reads(qps).items()}
    flops = {model: qps * c * f for model, (c, f) in MODELS.items()}
    print(
        f"\nShadow, best effort ({UTILISATION:.0%} load, no spare zone): "
        "all traffic / 10%"
    )
    for label, models in (
        ("new heavy ranker", ["heavy ranker"]),
        ("new light + heavy rankers", list(MODELS)),
    ):
        costs = [
            shadow_cost(
                share,
                sum(flops[m] for m in models),
                sum(reads[m] for m in models),
                ACCELERATOR.flops_per_second,
                UTILISATION,
            )
            for share in (1.0, 0.1)
        ]
        (full, full_reads), (tenth, tenth_reads) = costs
        print(
            f"  {label + ':':<26} +{full} / +{tenth} accelerators, "
            f"+{full_reads / 1e6:.1f}M / +{tenth_reads / 1e6:.1f}M row reads/s"
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
        ACCELERATOR.flops_per_second,
        PEAK_RATIO,
        UTILISATION,
        ZONES,
    )
    print(
        f"\nNightly batch vs online: {ACCOUNTS / 1e6:.0f}M accounts, "
        f"{ACTIVE_SHARE:.0%} active a day ({ACCOUNTS * ACTIVE_SHARE / 1e6:.0f}M DAU), "
        f"heavy ranker"
    )
    print(
        f"  batch: {cost.batch_hours:.1f} accelerator-hours a night, "
        f"{1 - ACTIVE_SHARE:.0%} of them for accounts that do not come"
    )
    print(
        f"  online: {cost.online_work_hours:.1f} accelerator-hours of work a day, "
        f"{cost.online_provisioned_hours:,.1f} provisioned"
    )
    print(f"  (peak {PEAK_RATIO:.0f}x, {UTILISATION:.0%} load, {ZONES} zones)")
    kept = storage_bytes(ACCOUNTS, KEPT_PER_USER * (8 + 4))  # id + score
    print(
        "  batch needs less accelerator time while over "
        f"{cost.break_even_active_share:.0%} are active"
    )
    print(f"  and stores {human_bytes(kept)} of top-{KEPT_PER_USER} lists a night")


def main() -> None:
    qps = peak_qps(DAU, REQUESTS_PER_USER, PEAK_RATIO)
    latency_report()
    features_report(qps)
    fleets = cost_report(qps)
    index_report(fleets[0])
    release_report(qps)
    batch_report()


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
