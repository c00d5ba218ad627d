"""What the heavy ranker costs a month: machines for serving and training, priced.

Peak QPS, the model's size and the compute each request needs become machines
(GPU or CPU hosts) and a monthly bill, with every assumption a named parameter in
the assumptions section below. Traffic, the candidate count, the ranker's FLOPs,
the target load and the zones are the deployment page's
(``deployment_and_serving``), whose cost table also prices the whole design.
Replicas for the peak and zone headroom come from ``snippets.common.estimation``;
the queueing price of high utilisation from ``snippets.concepts.serving_capacity``.
Run it: ``python -m snippets.framework.cost``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from snippets.common.estimation import peak_qps, positive, servers_needed
from snippets.concepts.serving_capacity import time_in_system
from snippets.framework.deployment_and_serving import (
    DAU,
    PEAK_RATIO,
    REQUESTS_PER_USER,
    UTILISATION,
    ZONES,
    serving_fleets,
)
from snippets.framework.high_level_architecture import (
    DIM,
    HEAVY_CANDIDATES,
    RANKER_FLOPS,
)

HOURS_PER_MONTH = 365 * 24 / 12  # 730: the month cloud price calculators bill


def _check(model: object, instance: object) -> None:
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an Instance, got {type(instance).__name__}")


@dataclass(frozen=True)
class Instance:
    """A machine you rent by the hour, and what it sustains on your model."""

    name: str
    dollars_per_hour: float  # on demand
    peak_flops: float  # the vendor's peak for the number format you serve in
    efficiency: float  # share of that peak your model sustains: measure it
    memory_bytes: float  # accelerator memory (GPU) or RAM (CPU host)

    def __post_init__(self) -> None:
        for field in ("dollars_per_hour", "peak_flops", "memory_bytes"):
            positive(f"{self.name}: {field}", getattr(self, field))
        if not 0 < positive(f"{self.name}: efficiency", self.efficiency) <= 1:
            raise ValueError(f"{self.name}: efficiency must be in (0, 1]")

    @property
    def sustained_flops(self) -> float:
        return self.peak_flops * self.efficiency


@dataclass(frozen=True)
class Model:
    """A ranking network: dense layers that compute, embedding tables that store."""

    dense_params: float
    embedding_params: float = 0.0
    dense_bytes: float = 2.0  # fp16 dense weights, the format they run in; 1 for int8
    embedding_bytes: float = 4.0  # fp32 embedding rows

    def __post_init__(self) -> None:
        positive("dense_params", self.dense_params)
        positive("dense_bytes", self.dense_bytes)
        positive("embedding_bytes", self.embedding_bytes)
        if self.embedding_params != 0:
            positive("embedding_params", self.embedding_params)

    @property
    def size_bytes(self) -> float:
        dense = self.dense_params * self.dense_bytes
        return dense + self.embedding_params * self.embedding_bytes


@dataclass(frozen=True)
class Fleet:
    """Machines of one instance type, and what they cost."""

    instance: Instance
    machines: int
    per_replica: int  # machines that together hold one copy of the model

    @property
    def dollars_per_month(self) -> float:
        return self.machines * self.instance.dollars_per_hour * HOURS_PER_MONTH


# --8<-- [start:sizes]
def flops_per_request(model: Model, candidates: float) -> float:
    """Forward passes for a request: a multiply and an add per dense weight each."""
    return positive("candidates", candidates) * 2 * model.dense_params


def machines_per_replica(model: Model, instance: Instance) -> int:
    """Machines one copy of the model spans, leaving memory for activations."""
    return math.ceil(model.size_bytes / (instance.memory_bytes * MEMORY_HEADROOM))
    # --8<-- [end:sizes]


# --8<-- [start:bill]
def serving_fleet(
    qps: float,
    model: Model,
    candidates: float,
    instance: Instance,
    utilisation: float,
    zones: int,
) -> Fleet:
    """Whole replicas for the peak at a target load, any zones - 1 carrying it."""
    _check(model, instance)
    demand = positive("qps", qps) * flops_per_request(model, candidates)
    span = machines_per_replica(model, instance)
    replicas = servers_needed(
        demand, span * instance.sustained_flops, utilisation, zones
    )
    return Fleet(instance, replicas * span, span)
    # --8<-- [end:bill]


# --8<-- [start:training]
def training_hours(
    model: Model, examples: float, instance: Instance, loader_rate: float
) -> float:
    """Machine-hours for one pass, set by the slower of two rates: the arithmetic,
    about 6 FLOPs per dense weight per example (2 forward, 4 backward) at the
    instance's sustained rate, and the input pipeline's examples a second."""
    _check(model, instance)
    flops = 6 * model.dense_params * positive("examples", examples)
    arithmetic = flops / instance.sustained_flops
    loading = examples / positive("loader_rate", loader_rate)
    return max(arithmetic, loading) / 3600
    # --8<-- [end:training]


def break_even_efficiency(gpu: Instance, cpu: Instance) -> float:
    """GPU efficiency at which a sustained FLOP costs the same on both machines."""
    cpu_dollars_per_flop = cpu.dollars_per_hour / cpu.sustained_flops
    return gpu.dollars_per_hour / (gpu.peak_flops * cpu_dollars_per_flop)


# --8<-- [start:assumptions]
# Stated assumptions; change them and re-run. Prices: Linux on demand, us-east-1,
# from AWS's price list (generated 2026-01-19); check today's before you quote.
# Peaks: the vendors' figures, dense (no sparsity). Efficiencies, the CPU clock
# and the loader rate are order-of-magnitude guesses: measure them on your model.
# Traffic (100M DAU x 10 requests, peak 2x the mean), the heavy ranker's 500
# candidates and 2e7 FLOPs a candidate, the 60% load and the 3 zones are the
# deployment page's (snippets/framework/deployment_and_serving.py).
GPU = Instance(
    "g6.xlarge, L4 FP16",
    dollars_per_hour=0.8048,
    peak_flops=121e12,  # L4, FP16 tensor cores: 242 TFLOP/s with sparsity, half dense
    efficiency=0.10,  # small ranking MLPs reach a modest share of peak
    memory_bytes=24e9,
)
CPU_CLOCK = 2.0e9  # guess under heavy vector load; AWS quotes 3.2 GHz all-core turbo
CPU = Instance(  # c7i.8xlarge: 32 vCPUs, 16 Sapphire Rapids cores, 64 GiB
    "c7i.8xlarge, FP32",
    dollars_per_hour=1.428,
    peak_flops=16 * 64 * CPU_CLOCK,  # 64 FP32 FLOPs a cycle a core (AVX-512 FMAs)
    efficiency=0.30,
    memory_bytes=64 * 2**30,
)
CPU_AMX = replace(  # the same host in the GPU's 16-bit format
    CPU,
    name="c7i.8xlarge, AMX BF16",
    peak_flops=16 * 1024 * CPU_CLOCK,  # 1,024 BF16 FLOPs a cycle a core (AMX tiles)
    efficiency=GPU.efficiency,  # a matrix unit, as under-filled as tensor cores
)
TRAINER = Instance(
    "p4d.24xlarge (8 A100)",
    dollars_per_hour=21.957642,
    peak_flops=8 * 312e12,  # A100, BF16 tensor cores, dense
    efficiency=0.20,  # share of peak the dense layers reach in training
    memory_bytes=8 * 40e9,
)
# One H100 SXM an hour: p5.48xlarge (8 H100) at $55.04, us-east-1 on demand, from
# the same price list (after AWS's June 2025 cut); the generative-AI problems use it.
H100_DOLLARS_PER_HOUR = 55.04 / 8
LOADER_RATE = 1e6  # examples a second the input pipeline feeds one trainer
CANDIDATES = HEAVY_CANDIDATES  # the heavy ranker scores this many items a request
RANKER = Model(  # 2 FLOPs a dense weight; 100M ids x 32-d embedding rows
    dense_params=RANKER_FLOPS / 2, embedding_params=3.2e9
)
MEMORY_HEADROOM = 0.8  # share of a machine's memory the weights may fill
IMPRESSIONS_PER_REQUEST, KEPT_SHARE = 10, 0.1  # logged; share kept after sampling
WINDOW_DAYS, RUNS_PER_MONTH = 30, 30  # each day, one pass over the last 30 days
# --8<-- [end:assumptions]


# --8<-- [start:demo]
def _money(dollars: float) -> str:
    return f"${dollars:,.0f}"


def serving_report(qps: float) -> dict[str, Fleet]:
    flop = flops_per_request(RANKER, CANDIDATES)
    print(
        f"Heavy ranker at {qps:,.0f} peak QPS ({DAU / 1e6:.0f}M DAU x "
        f"{REQUESTS_PER_USER} requests, peak {PEAK_RATIO:.0f}x the mean)"
    )
    print(
        f"  {CANDIDATES} candidates x {2 * RANKER.dense_params / 1e6:.0f} MFLOP "
        f"({RANKER.dense_params / 1e6:.0f}M dense weights): {flop / 1e9:.1f} GFLOP "
        f"a request, {flop * qps / 1e12:,.0f} TFLOP/s"
    )
    print(
        f"  model {RANKER.size_bytes / 1e9:.1f} GB: {RANKER.dense_params / 1e6:.0f}M "
        f"dense weights in fp16, {RANKER.embedding_params / 1e9:.1f}B embedding "
        f"weights in fp32"
    )
    print(
        f"Serving, on demand, {UTILISATION:.0%} load, {ZONES} zones "
        f"(any {ZONES - 1} carry the peak):"
    )
    print(
        f"{'machine':<22} {'$/hour':>7} {'peak':>6} {'sustained':>9} {'replica':>7} "
        f"{'machines':>8} {'a month':>10}"
    )
    fleets = {}
    for instance in (GPU, CPU, CPU_AMX):
        fleet = serving_fleet(qps, RANKER, CANDIDATES, instance, UTILISATION, ZONES)
        fleets[instance.name] = fleet
        peak, sustained = instance.peak_flops / 1e12, instance.sustained_flops / 1e12
        print(
            f"{instance.name:<22} {instance.dollars_per_hour:>7.4f} "
            f"{peak:>6.1f} {sustained:>9.2f} "
            f"{fleet.per_replica:>7} {fleet.machines:>8,} "
            f"{_money(fleet.dollars_per_month):>10}"
        )
    print("  peak and sustained in TFLOP/s; replica: machines that hold one copy")
    gpu = fleets[GPU.name].dollars_per_month
    ratio = [fleets[cpu.name].dollars_per_month / gpu for cpu in (CPU, CPU_AMX)]
    even = [break_even_efficiency(GPU, cpu) for cpu in (CPU, CPU_AMX)]
    print(f"  CPU fleets: {ratio[0]:.1f}x (FP32) and {ratio[1]:.1f}x (AMX) the GPU's")
    print("  a sustained FLOP costs less on the L4 while it reaches over")
    print(f"  {even[0]:.2%} of its peak (FP32 host), {even[1]:.2%} (AMX host)")
    return fleets


def training_report(qps: float) -> float:
    daily = qps / PEAK_RATIO * 86_400 * IMPRESSIONS_PER_REQUEST * KEPT_SHARE
    examples = daily * WINDOW_DAYS
    flops = 6 * RANKER.dense_params * examples
    arithmetic = flops / TRAINER.sustained_flops
    hours = training_hours(RANKER, examples, TRAINER, LOADER_RATE)
    per_run = hours * TRAINER.dollars_per_hour
    print(f"Training: each day, one pass over {WINDOW_DAYS} days of kept impressions")
    print(f"  ({examples / 1e9:.1f}B examples) on one {TRAINER.name}")
    print(
        f"  arithmetic: {flops:.1e} FLOP at {TRAINER.efficiency:.0%} of peak: "
        f"{arithmetic / 3600:.1f} hours, {examples / arithmetic / 1e6:.1f}M examples/s"
    )
    print(
        f"  input pipeline at an assumed {LOADER_RATE / 1e6:.1f}M examples/s: "
        f"{examples / LOADER_RATE / 3600:.1f} hours"
    )
    print(
        f"  {hours:.1f} hours, ${per_run:,.2f} a run, "
        f"{_money(per_run * RUNS_PER_MONTH)} a month"
    )
    return per_run * RUNS_PER_MONTH


def levers_report(qps: float) -> None:
    print("Levers on the GPU serving bill:")
    print(
        f"{'change':<30} {'machines':>8} {'a month':>8}   "
        f"{'p99, 3 zones':>12} {'1 zone down':>11}"
    )
    int8 = replace(GPU, name="int8", peak_flops=2 * GPU.peak_flops)  # 2x FP16 rate
    small = replace(RANKER, dense_bytes=1.0)  # int8 dense weights
    mean, half, rho = qps / PEAK_RATIO, CANDIDATES / 2, UTILISATION
    rows = (
        ("as above", qps, CANDIDATES, RANKER, GPU, rho),
        ("80% load instead of 60%", qps, CANDIDATES, RANKER, GPU, 0.8),
        ("score 250 candidates, not 500", qps, half, RANKER, GPU, rho),
        ("int8 instead of FP16", qps, CANDIDATES, small, int8, rho),
        ("follow the mean, not the peak", mean, CANDIDATES, RANKER, GPU, rho),
        ("all three halvings", mean, half, small, int8, rho),
    )
    for label, load, candidates, model, instance, rho in rows:
        fleet = serving_fleet(load, model, candidates, instance, rho, ZONES)
        normal = time_in_system(rho * (ZONES - 1) / ZONES, 0.99)  # all zones up
        degraded = time_in_system(rho, 0.99)  # one zone lost: the target load
        print(
            f"{label:<30} {fleet.machines:>8} {_money(fleet.dollars_per_month):>8}   "
            f"{normal:>11.1f}x {degraded:>10.1f}x"
        )
    print("  p99: M/M/1 waiting plus service, in service times, at the target load")
    print(f"  with all {ZONES} zones up and with one lost; a GPU that batches requests")
    print("  is not M/M/1, so read it as a direction, not a number")
    print("  following the mean is a floor: the fleet can average that at best,")
    print("  and still needs the full fleet at the peak")


def design_report(qps: float, requests: float) -> None:
    fleets = serving_fleets(qps, 4 * DIM)  # the deployment page's cost table
    month = HOURS_PER_MONTH / 24
    bill = {f.name: f.dollars_per_day(UTILISATION, ZONES) * month for f in fleets}
    total = sum(bill.values())
    machines = sum(f.machines(UTILISATION, ZONES) for f in fleets)
    (price,) = {f.dollars_per_hour for f in fleets}
    heavy = next(f for f in fleets if f.name == "heavy ranker")
    rest = bill["retrieval, IVF scan"] + bill["feature store"]
    print("The whole design, priced as in the deployment page's cost table:")
    print(f"  {machines:,} machines at ${price:.2f} an hour, {_money(total)} a month")
    print(
        f"  ${total / requests * 1e6:.2f} per million requests; retrieval scan and "
        f"feature store {rest / total:.0%}"
    )
    print(
        f"  its heavy ranker: {heavy.machines(UTILISATION, ZONES)} accelerators, "
        f"{_money(bill['heavy ranker'])} a month ({bill['heavy ranker'] / total:.1%})"
    )


def main() -> None:
    qps = peak_qps(DAU, REQUESTS_PER_USER, PEAK_RATIO)
    fleets = serving_report(qps)
    serving = fleets[GPU.name].dollars_per_month
    training = training_report(qps)
    total = serving + training
    requests = qps / PEAK_RATIO * 86_400 * HOURS_PER_MONTH / 24
    print(
        f"Heavy-ranker bill: serving {_money(serving)} + training {_money(training)} "
        f"= {_money(total)} a month"
    )
    print(
        f"  serving is {serving / total:.0%}; "
        f"${total / requests * 1e6:.2f} per million requests"
    )
    # The loader rate at which a month of training runs costs what serving does.
    examples = qps / PEAK_RATIO * 86_400 * IMPRESSIONS_PER_REQUEST * KEPT_SHARE
    examples *= WINDOW_DAYS * RUNS_PER_MONTH
    even = examples * TRAINER.dollars_per_hour / 3600 / serving
    print(f"  training would cost what serving does at {even / 1e3:,.0f}k examples/s")
    levers_report(qps)
    design_report(qps, requests)


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
