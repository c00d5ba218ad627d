"""Why recommenders are funnels: what each stage reads, computes and costs.

Run it: ``python -m snippets.framework.high_level_architecture``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    positive,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)


# --8<-- [start:stage]
@dataclass(frozen=True)
class Machine:
    """One serving machine: sustained arithmetic, memory bandwidth and price."""

    name: str
    flops_per_second: float
    bytes_per_second: float  # sustained memory bandwidth
    dollars_per_hour: float

    def __post_init__(self) -> None:
        for field in ("flops_per_second", "bytes_per_second", "dollars_per_hour"):
            positive(f"{self.name}: {field}", getattr(self, field))


@dataclass(frozen=True)
class Stage:
    """One step of the serving path: what it scores, reads and computes per request."""

    name: str
    items_scored: float
    flops_per_item: float
    bytes_per_item: float  # read from memory per item: a vector, a feature row
    budget_ms: float
    machine: Machine

    def __post_init__(self) -> None:
        for field in ("items_scored", "flops_per_item", "bytes_per_item", "budget_ms"):
            positive(f"{self.name}: {field}", getattr(self, field))
        if not isinstance(self.machine, Machine):
            raise TypeError(f"{self.name}: machine must be a Machine")

    @property
    def flops(self) -> float:
        """Floating-point operations this stage spends on one request."""
        return self.items_scored * self.flops_per_item

    @property
    def bytes_read(self) -> float:
        """Bytes this stage streams from memory for one request."""
        return self.items_scored * self.bytes_per_item


@dataclass(frozen=True)
class StageCost:
    """A stage's time on one of its machines and the fleet that serves the peak."""

    stage: Stage
    compute_ms: float
    memory_ms: float
    machines: int

    @property
    def time_ms(self) -> float:
        """Roofline lower bound: the stage waits for the slower of its two resources."""
        return max(self.compute_ms, self.memory_ms)

    @property
    def bound_by(self) -> str:
        return "memory" if self.memory_ms > self.compute_ms else "compute"

    @property
    def dollars_per_hour(self) -> float:
        return self.machines * self.stage.machine.dollars_per_hour

    @property
    def fits(self) -> bool:
        """True when the lower bound leaves room inside the stage's budget."""
        return self.time_ms <= self.stage.budget_ms

    # --8<-- [end:stage]


# --8<-- [start:cost]
def compute_ms(flops: float, flops_per_second: float) -> float:
    """Milliseconds of pure arithmetic on one machine."""
    return (
        1000 * positive("flops", flops) / positive("flops_per_second", flops_per_second)
    )


def memory_ms(bytes_read: float, bytes_per_second: float) -> float:
    """Milliseconds to stream bytes_read from memory once on one machine."""
    return (
        1000
        * positive("bytes_read", bytes_read)
        / positive("bytes_per_second", bytes_per_second)
    )


def machines_needed(ms_per_request: float, qps: float) -> int:
    """Machines kept busy at full utilisation by qps requests of ms_per_request."""
    return math.ceil(
        positive("ms_per_request", ms_per_request) * positive("qps", qps) / 1000
    )


def stage_cost(stage: Stage, qps: float) -> StageCost:
    """Time per request on the stage's machine, and the machines for qps."""
    m = stage.machine
    flop_ms = compute_ms(stage.flops, m.flops_per_second)
    byte_ms = memory_ms(stage.bytes_read, m.bytes_per_second)
    return StageCost(
        stage, flop_ms, byte_ms, machines_needed(max(flop_ms, byte_ms), qps)
    )


def resident_store_servers(
    bytes_per_copy: float,
    copies: int,
    ram_per_server: float,
    bytes_read_per_second: float,
    machine: Machine,
) -> int:
    """Servers that hold copies of a store in RAM and stream its reads at peak."""
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ValueError(f"copies must be a positive integer, got {copies!r}")
    shards = math.ceil(
        positive("bytes_per_copy", bytes_per_copy)
        / positive("ram_per_server", ram_per_server)
    )
    # Capacity (every copy sharded over RAM) or bandwidth, whichever needs more.
    by_bandwidth = math.ceil(
        positive("bytes_read_per_second", bytes_read_per_second)
        / machine.bytes_per_second
    )
    return max(shards * copies, by_bandwidth)
    # --8<-- [end:cost]


# --8<-- [start:funnel]
def funnel_costs(stages: Sequence[Stage], qps: float) -> list[StageCost]:
    """Cost every stage; each stage must score no more items than the one before."""
    if len(stages) == 0:
        raise ValueError("stages is empty: a serving path has at least one stage")
    for before, after in itertools.pairwise(stages):
        if after.items_scored > before.items_scored:
            raise ValueError(
                f"a funnel must narrow: {after.name} scores {after.items_scored:,.0f} "
                f"items but {before.name} only {before.items_scored:,.0f}"
            )
    return [stage_cost(s, qps) for s in stages]
    # --8<-- [end:funnel]


# --8<-- [start:assumptions]
# Stated assumptions, not measurements: change them and re-run.
CORPUS = 1e9  # items that could be recommended
DIM = 256  # embedding dimension; a float32 is 4 bytes
RANKER_FLOPS = 2e7  # a ~10M-parameter ranking network: ~2 FLOPs per weight
BUDGET_MS = 100  # server-side p99 budget for the whole recommendation request
HEADROOM = 0.25  # p99s do not add: stages and hops get 75% of the budget
NETWORK_HOPS_MS = 10  # front end -> retrieval -> rankers -> back, in total
# Sustained rates at serving batch sizes; the prices are assumptions: use yours.
ACCELERATOR = Machine("accelerator", 1e13, 1e12, dollars_per_hour=2.0)
# 100 GB/s is about half the 204.8 GB/s peak of 8 channels of DDR4-3200.
CPU_SERVER = Machine("CPU server", 1e12, 1e11, dollars_per_hour=2.0)
RAM_PER_SERVER = 512e9  # bytes of RAM a CPU server gives to an index
ACCELERATOR_MEMORY = 80e9  # bytes of memory on one accelerator
FETCH_ROWS_PER_NODE = 1e6  # feature rows a second one store node serves ($2/h)
PROBED = CORPUS * 64 / 65_536  # IVF: 64 of 65,536 lists scanned, ~1M vectors
# The running example the features and serving pages share: candidates per
# ranker, float32 features per candidate, items on the page a request returns.
LIGHT_CANDIDATES, LIGHT_FEATURES = 10_000, 50
HEAVY_CANDIDATES, HEAVY_FEATURES = 500, 250  # item, user x item, user + context
SHOWN = 20

# Budgets are per-stage p99 targets and include the stage's own feature fetch.
FUNNEL = (
    # A float32 dot product: 2 FLOPs and 4 bytes read per dimension.
    Stage("retrieval (ANN)", PROBED, 2 * DIM, 4 * DIM, 15, CPU_SERVER),
    Stage("light ranker", LIGHT_CANDIDATES, 2e5, 4 * LIGHT_FEATURES, 15, ACCELERATOR),
    Stage(
        "heavy ranker",
        HEAVY_CANDIDATES,
        RANKER_FLOPS,
        4 * HEAVY_FEATURES,
        30,
        ACCELERATOR,
    ),
    # Diversity re-ranking picks SHOWN of 50, comparing each with those picked.
    Stage("re-ranking", 50, 50 * 2 * DIM, 4 * DIM, 5, CPU_SERVER),
)
# The same scan over 64-byte product-quantisation codes (~64 look-ups and adds);
# its best RESCORED candidates are re-scored with full vectors kept in RAM.
RETRIEVAL_PQ = Stage("retrieval, PQ", PROBED, 2 * 64, 64, 15, CPU_SERVER)
RESCORED = 10_000
REPLICAS = 3  # copies of a vector store in memory: one a zone, so a zone can fail
# --8<-- [end:assumptions]


# --8<-- [start:demo]
def _row(cost: StageCost) -> str:
    s = cost.stage
    fleet = f"{cost.machines:,} {'acc' if s.machine is ACCELERATOR else 'CPU'}"
    return (
        f"{s.name:<15} {s.items_scored:>7,.0f} {human_bytes(s.bytes_read):>8} "
        f"{cost.compute_ms:>7.2f} {cost.memory_ms:>7.2f} {cost.bound_by:>7} "
        f"{s.budget_ms:>6.0f} {fleet:>8} {cost.dollars_per_hour:>7,.0f}"
    )


def main() -> None:
    qps = peak_qps(daily_active_users=100e6, requests_per_user_per_day=10)
    print(
        f"Assumptions: {CORPUS:,.0f} items, {qps:,.0f} peak QPS, "
        f"{BUDGET_MS} ms server-side budget"
    )
    for m in (ACCELERATOR, CPU_SERVER):
        print(
            f"  {m.name}: {m.flops_per_second / 1e12:.0f} TFLOP/s, "
            f"{m.bytes_per_second / 1e9:,.0f} GB/s "
            f"(ridge {m.flops_per_second / m.bytes_per_second:.0f} FLOP/byte), "
            f"${m.dollars_per_hour:.2f} an hour"
        )
    costs = funnel_costs(FUNNEL, qps)
    # Feature fetch: one row per candidate from a store of FETCH_ROWS_PER_NODE nodes.
    rankers = [c.stage for c in costs if "ranker" in c.stage.name]
    fetch_nodes = {
        s.name: servers_needed(s.items_scored * qps, FETCH_ROWS_PER_NODE)
        for s in rankers
    }
    node_price = CPU_SERVER.dollars_per_hour
    compute_dollars = sum(c.dollars_per_hour for c in costs)
    funnel_dollars = compute_dollars + node_price * sum(fetch_nodes.values())

    single = stage_cost(
        Stage(
            "rank all", CORPUS, RANKER_FLOPS, 4 * HEAVY_FEATURES, BUDGET_MS, ACCELERATOR
        ),
        qps,
    )
    print("\nSingle stage: the heavy ranker scores every item")
    print(
        f"  {single.stage.flops:.1e} FLOP per request = {single.time_ms:,.0f} ms "
        f"on one accelerator, {single.time_ms / BUDGET_MS:,.0f}x the budget"
    )
    print(
        f"  sharded over {math.ceil(single.time_ms / BUDGET_MS):,} accelerators "
        f"a request meets the budget; peak QPS still needs"
    )
    print(
        f"  {single.machines:,} accelerators, ${single.dollars_per_hour:,.0f} an "
        f"hour: {single.dollars_per_hour / funnel_dollars:,.0f}x the funnel"
    )
    faster = Machine("10x accelerator", 1e14, 1e13, ACCELERATOR.dollars_per_hour)
    kind = stage_cost(
        Stage(
            "rank all",
            CORPUS / 10,
            RANKER_FLOPS / 10,
            4 * HEAVY_FEATURES,
            BUDGET_MS,
            faster,
        ),
        qps,
    )
    print(
        f"  items, model cost and chip speed all 10x in its favour: {kind.machines:,}, "
        f"{kind.dollars_per_hour / funnel_dollars:,.0f}x the funnel"
    )

    print("\nFunnel: time on one machine = the slower of FLOP and memory")
    print(
        f"{'stage':<15} {'items':>7} {'bytes':>8} {'FLOP ms':>7} {'mem ms':>7} "
        f"{'bound':>7} {'budget':>6} {'machines':>8} {'$/hour':>7}"
    )
    for cost in costs:
        print(_row(cost))
    stage_budgets = {s.name: s.budget_ms for s in FUNNEL}
    staged = sum(stage_budgets.values())
    print(
        f"  stage times sum to {sum(c.time_ms for c in costs):.2f} ms, "
        f"inside {staged:.0f} ms of stage budgets"
    )
    planned = {**stage_budgets, "network hops": NETWORK_HOPS_MS}
    unplanned = remaining_budget_ms(BUDGET_MS, planned, headroom=HEADROOM)
    print(
        f"  stage budgets {staged:.0f} ms + network hops {NETWORK_HOPS_MS} ms = "
        f"{staged + NETWORK_HOPS_MS:.0f} ms of {BUDGET_MS} ms"
    )
    print(
        f"  held back as headroom ({HEADROOM:.0%}): {HEADROOM * BUDGET_MS:.0f} ms; "
        f"unplanned: {unplanned:.0f} ms"
    )

    print(
        f"\nFeature fetch at peak: one row per candidate, "
        f"{FETCH_ROWS_PER_NODE:,.0f} rows/s per store node"
    )
    print(f"{'stage':<15} {'rows/s':>12} {'nodes':>6} {'$/hour':>7}")
    for s in rankers:
        nodes = fetch_nodes[s.name]
        print(
            f"{s.name:<15} {s.items_scored * qps:>12,.0f} {nodes:>6,} "
            f"{nodes * node_price:>7,.0f}"
        )
    machines = sum(c.machines for c in costs)
    print(
        f"  fleet: {machines:,} compute machines + {sum(fetch_nodes.values()):,} "
        f"store nodes, ${funnel_dollars:,.0f} an hour"
    )

    ids = 8  # an int64 id per vector in the inverted lists
    flat = storage_bytes(CORPUS, 4 * DIM + ids)
    scan = costs[0]
    print("\nThe float32 scan on accelerators instead of CPU servers:")
    per_copy = math.ceil(flat / ACCELERATOR_MEMORY)
    on_acc = resident_store_servers(
        flat, REPLICAS, ACCELERATOR_MEMORY, scan.stage.bytes_read * qps, ACCELERATOR
    )
    by_bandwidth = stage_cost(replace(scan.stage, machine=ACCELERATOR), qps).machines
    print(
        f"  {REPLICAS} copies of the {human_bytes(flat)} index, "
        f"{human_bytes(ACCELERATOR_MEMORY)} an accelerator: {per_copy} a copy"
    )
    acc_dollars = on_acc * ACCELERATOR.dollars_per_hour
    print(
        f"  {on_acc} accelerators (bandwidth alone needs {by_bandwidth}), "
        f"${acc_dollars:,.0f} an hour (CPU servers: {scan.machines}, "
        f"${scan.dollars_per_hour:,.0f})"
    )
    print(
        f"  CPU servers are cheaper only if an accelerator-hour costs over "
        f"{scan.machines / on_acc:.1f}x a CPU-server-hour"
    )

    print("\nRetrieval over PQ codes instead of float32 vectors:")
    pq_cost = stage_cost(RETRIEVAL_PQ, qps)
    print(_row(pq_cost))
    pq = storage_bytes(CORPUS, RETRIEVAL_PQ.bytes_per_item + ids)
    print(f"  index, one copy: {human_bytes(flat)} float32, {human_bytes(pq)} PQ")
    rescore_reads = RESCORED * 4 * DIM * qps  # bytes a second at peak
    store = resident_store_servers(
        storage_bytes(CORPUS, 4 * DIM),
        REPLICAS,
        RAM_PER_SERVER,
        rescore_reads,
        CPU_SERVER,
    )
    print(
        f"  re-scoring {RESCORED:,} candidates with full vectors reads "
        f"{human_bytes(rescore_reads)}/s at peak"
    )
    print(
        f"  full vectors in RAM, {REPLICAS} copies on "
        f"{human_bytes(RAM_PER_SERVER)} servers: {store} CPU servers, "
        f"${store * CPU_SERVER.dollars_per_hour:,.0f} an hour"
    )
    total = pq_cost.machines + store
    print(
        f"  PQ retrieval with re-scoring: {total} servers, "
        f"${total * CPU_SERVER.dollars_per_hour:,.0f} an hour "
        f"(float32 scan: {costs[0].machines}, ${costs[0].dollars_per_hour:,.0f})"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
