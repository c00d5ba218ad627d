"""Why recommenders are funnels: a back-of-envelope compute and latency calculator.

Run it: ``python -m snippets.framework.high_level_architecture``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from snippets.common.estimation import peak_qps, remaining_budget_ms


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


# --8<-- [start:stage]
@dataclass(frozen=True)
class Stage:
    """One step of the serving path: how many items it scores and at what cost."""

    name: str
    items_scored: float
    flops_per_item: float
    budget_ms: float

    def __post_init__(self) -> None:
        _positive(f"{self.name}: items_scored", self.items_scored)
        _positive(f"{self.name}: flops_per_item", self.flops_per_item)
        _positive(f"{self.name}: budget_ms", self.budget_ms)

    @property
    def flops(self) -> float:
        """Floating-point operations this stage spends on one request."""
        return self.items_scored * self.flops_per_item


def compute_ms(flops: float, flops_per_second: float) -> float:
    """Milliseconds of pure compute on one accelerator: a lower bound on latency."""
    return (
        1000
        * _positive("flops", flops)
        / _positive("flops_per_second", flops_per_second)
    )


def accelerators_needed(
    flops_per_request: float, qps: float, flops_per_second: float
) -> int:
    """Accelerators needed to sustain qps requests per second at full utilisation."""
    demand = _positive("flops_per_request", flops_per_request) * _positive("qps", qps)
    return math.ceil(demand / _positive("flops_per_second", flops_per_second))
    # --8<-- [end:stage]


# --8<-- [start:funnel]
@dataclass(frozen=True)
class StageCost:
    """A stage's compute time next to its share of the latency budget."""

    stage: Stage
    compute_ms: float

    @property
    def fits(self) -> bool:
        """True when pure compute leaves room inside the stage's budget."""
        return self.compute_ms <= self.stage.budget_ms


def funnel_costs(stages: Sequence[Stage], flops_per_second: float) -> list[StageCost]:
    """Cost every stage; each stage must score no more items than the one before."""
    if len(stages) == 0:
        raise ValueError("stages is empty: a serving path has at least one stage")
    for before, after in itertools.pairwise(stages):
        if after.items_scored > before.items_scored:
            raise ValueError(
                f"a funnel must narrow: {after.name} scores {after.items_scored:,.0f} "
                f"items but {before.name} only {before.items_scored:,.0f}"
            )
    return [StageCost(s, compute_ms(s.flops, flops_per_second)) for s in stages]
    # --8<-- [end:funnel]


# --8<-- [start:demo]
# Stated assumptions, not measurements: change them and re-run.
CORPUS = 1e9  # items that could be recommended
RANKER_FLOPS = 2e7  # a ~10M-parameter ranking network: ~2 FLOPs per weight
ACCELERATOR_FLOPS = 1e13  # 10 TFLOP/s sustained at serving batch sizes
BUDGET_MS = 100  # server-side budget for the whole recommendation request
EMBEDDING_DIM = 256

FUNNEL = (
    # ANN search (IVF, 64 of 65,536 lists probed) touches ~1M of the 1B vectors.
    Stage("retrieval (ANN)", CORPUS * 64 / 65_536, 2 * EMBEDDING_DIM, 20),
    Stage("light ranker", 10_000, 2e5, 20),
    Stage("heavy ranker", 500, RANKER_FLOPS, 40),
    # Diversity re-ranking compares each item with those already picked.
    Stage("re-ranking", 50, 50 * 2 * EMBEDDING_DIM, 5),
)


def main() -> None:
    qps = peak_qps(daily_active_users=100e6, requests_per_user_per_day=10)
    print(
        f"Assumptions: {CORPUS:,.0f} items, {qps:,.0f} peak QPS, "
        f"{ACCELERATOR_FLOPS / 1e12:.0f} TFLOP/s per accelerator, "
        f"{BUDGET_MS} ms budget"
    )

    single = Stage("rank everything", CORPUS, RANKER_FLOPS, BUDGET_MS)
    single_ms = compute_ms(single.flops, ACCELERATOR_FLOPS)
    print("\nSingle stage: the heavy ranker scores every item")
    print(
        f"  {single.flops:.1e} FLOP per request = {single_ms:,.0f} ms of compute, "
        f"{single_ms / BUDGET_MS:,.0f}x the budget"
    )
    print(
        f"  accelerators for peak QPS: "
        f"{accelerators_needed(single.flops, qps, ACCELERATOR_FLOPS):,}"
    )

    print("\nFunnel:")
    print(
        f"{'stage':<16} {'items':>9} {'FLOP/item':>9} {'FLOP':>7} "
        f"{'compute ms':>10} {'budget ms':>9}"
    )
    costs = funnel_costs(FUNNEL, ACCELERATOR_FLOPS)
    for cost in costs:
        s = cost.stage
        print(
            f"{s.name:<16} {s.items_scored:>9,.0f} {s.flops_per_item:>9.0e} "
            f"{s.flops:>7.1e} {cost.compute_ms:>10.4f} {s.budget_ms:>9.0f}"
        )
    funnel_flops = sum(s.flops for s in FUNNEL)
    total_ms = sum(c.compute_ms for c in costs)
    print(
        f"{'total':<16} {'':>9} {'':>9} {funnel_flops:>7.1e} {total_ms:>10.4f} "
        f"{sum(s.budget_ms for s in FUNNEL):>9.0f}"
    )
    stage_budgets = {s.name: s.budget_ms for s in FUNNEL}
    print(
        f"  left for network and feature fetches: "
        f"{remaining_budget_ms(BUDGET_MS, stage_budgets):.0f} ms"
    )
    print(
        f"  accelerators for peak QPS: "
        f"{accelerators_needed(funnel_flops, qps, ACCELERATOR_FLOPS):,}"
    )
    print(f"  compute saved vs single stage: {single.flops / funnel_flops:.1e}x")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
