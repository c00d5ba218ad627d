"""What a design costs a month: machines for serving and training, priced.

Peak QPS, the model's size and the compute each request needs become machines
(GPU or CPU hosts) and a monthly bill, with every assumption a named parameter in
the assumptions section below. Replicas for the peak and zone headroom come from
``snippets.common.estimation``; the queueing price of high utilisation from
``snippets.concepts.serving_capacity``. Run it: ``python -m snippets.framework.cost``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snippets.common.estimation import peak_qps, servers_needed
from snippets.concepts.serving_capacity import time_in_system

HOURS_PER_MONTH = 365 * 24 / 12  # 730: the month cloud price calculators bill


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


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
            _positive(f"{self.name}: {field}", getattr(self, field))
        if not 0 < _positive(f"{self.name}: efficiency", self.efficiency) <= 1:
            raise ValueError(f"{self.name}: efficiency must be in (0, 1]")

    @property
    def sustained_flops(self) -> float:
        return self.peak_flops * self.efficiency


@dataclass(frozen=True)
class Model:
    """A ranking network: dense layers that compute, embedding tables that store."""

    dense_params: float
    embedding_params: float = 0.0
    bytes_per_param: float = 4.0  # float32; 2 for bf16, 1 for int8

    def __post_init__(self) -> None:
        _positive("dense_params", self.dense_params)
        _positive("bytes_per_param", self.bytes_per_param)
        if self.embedding_params != 0:
            _positive("embedding_params", self.embedding_params)

    @property
    def size_bytes(self) -> float:
        return (self.dense_params + self.embedding_params) * self.bytes_per_param


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
    return _positive("candidates", candidates) * 2 * model.dense_params


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
    demand = _positive("qps", qps) * flops_per_request(model, candidates)
    span = machines_per_replica(model, instance)
    replicas = servers_needed(
        demand, span * instance.sustained_flops, utilisation, zones
    )
    return Fleet(instance, replicas * span, span)


def training_hours(model: Model, examples: float, instance: Instance) -> float:
    """Machine-hours for one pass: about 6 FLOPs per dense weight per example
    (2 forward, 4 backward), at the instance's sustained rate."""
    _check(model, instance)
    flops = 6 * model.dense_params * _positive("examples", examples)
    return flops / instance.sustained_flops / 3600
    # --8<-- [end:bill]


def break_even_efficiency(gpu: Instance, cpu: Instance) -> float:
    """GPU efficiency at which a sustained FLOP costs the same on both machines."""
    cpu_dollars_per_flop = cpu.dollars_per_hour / cpu.sustained_flops
    return gpu.dollars_per_hour / (gpu.peak_flops * cpu_dollars_per_flop)


# --8<-- [start:assumptions]
# Stated assumptions; change them and re-run. Prices: Linux on demand, us-east-1,
# from AWS's price list (generated 2026-01-19); check today's before you quote.
# Peaks: NVIDIA's datasheets, dense (no sparsity). Efficiencies are order-of-
# magnitude guesses: a load test on your model replaces them.
GPU = Instance(
    "g6.xlarge (1 L4)",
    dollars_per_hour=0.8048,
    peak_flops=121e12,  # L4, FP16 tensor cores: 242 TFLOP/s with sparsity, half dense
    efficiency=0.10,  # small ranking MLPs reach a modest share of peak
    memory_bytes=24e9,
)
CPU = Instance(
    "c7i.8xlarge (32 vCPU)",
    dollars_per_hour=1.428,
    peak_flops=3e12,  # 16 cores x 64 FP32 FLOPs a cycle (2 AVX-512 FMAs) x ~3 GHz
    efficiency=0.30,
    memory_bytes=64e9,
)
TRAINER = Instance(
    "p4d.24xlarge (8 A100)",
    dollars_per_hour=21.957642,
    peak_flops=8 * 312e12,  # A100, BF16 tensor cores, dense
    efficiency=0.20,  # recommender training waits on embedding lookups and input
    memory_bytes=8 * 40e9,
)
DAU, REQUESTS_PER_USER, PEAK_RATIO = 216e6, 10, 2.0  # -> 50,000 peak QPS
CANDIDATES = 500  # the heavy ranker scores this many items a request
RANKER = Model(dense_params=10e6, embedding_params=3.2e9)  # 100M ids x 32-d, fp32
UTILISATION, ZONES = 0.6, 3  # target load; any two zones of three carry the peak
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
        f"Ranker at {qps:,.0f} peak QPS ({DAU / 1e6:.0f}M DAU x {REQUESTS_PER_USER} "
        f"requests, peak {PEAK_RATIO:.0f}x the mean)"
    )
    print(
        f"  {CANDIDATES} candidates x {2 * RANKER.dense_params / 1e6:.0f} MFLOP "
        f"({RANKER.dense_params / 1e6:.0f}M dense weights): {flop / 1e9:.1f} GFLOP "
        f"a request, {flop * qps / 1e12:,.0f} TFLOP/s"
    )
    print(
        f"  model {RANKER.size_bytes / 1e9:.1f} GB: {RANKER.dense_params / 1e6:.0f}M "
        f"dense + {RANKER.embedding_params / 1e9:.1f}B embedding weights, "
        f"{RANKER.bytes_per_param:.0f} B each"
    )
    print(
        f"Serving, on demand, {UTILISATION:.0%} load, {ZONES} zones "
        f"(any {ZONES - 1} carry the peak):"
    )
    print(
        f"{'machine':<22} {'$/hour':>7} {'sustained':>13} {'replica':>7} "
        f"{'machines':>8} {'a month':>11}"
    )
    fleets = {}
    for kind, instance in (("GPU", GPU), ("CPU", CPU)):
        fleet = serving_fleet(qps, RANKER, CANDIDATES, instance, UTILISATION, ZONES)
        fleets[kind] = fleet
        rate = f"{instance.sustained_flops / 1e12:.1f} TFLOP/s"
        print(
            f"{instance.name:<22} {instance.dollars_per_hour:>7.4f} {rate:>13} "
            f"{fleet.per_replica:>7} {fleet.machines:>8,} "
            f"{_money(fleet.dollars_per_month):>11}"
        )
    ratio = fleets["CPU"].dollars_per_month / fleets["GPU"].dollars_per_month
    print(f"  the CPU fleet costs {ratio:.0f}x the GPU fleet; the GPU stays cheaper")
    print(f"  while it sustains over {break_even_efficiency(GPU, CPU):.2%} of its peak")
    return fleets


def training_report(qps: float) -> float:
    daily = qps / PEAK_RATIO * 86_400 * IMPRESSIONS_PER_REQUEST * KEPT_SHARE
    examples = daily * WINDOW_DAYS
    hours = training_hours(RANKER, examples, TRAINER)
    per_run = hours * TRAINER.dollars_per_hour
    print(
        f"Training: each day, one pass over {WINDOW_DAYS} days of kept impressions "
        f"({examples / 1e9:.1f}B examples)"
    )
    print(
        f"  {6 * RANKER.dense_params * examples:.1e} FLOP a run on "
        f"{TRAINER.name} at {TRAINER.efficiency:.0%} of peak:"
    )
    print(
        f"  {hours:.1f} hours, ${per_run:,.2f} a run, "
        f"{_money(per_run * RUNS_PER_MONTH)} a month"
    )
    return per_run * RUNS_PER_MONTH


def levers_report(qps: float) -> None:
    print("Levers on the GPU serving bill:")
    print(f"{'change':<34} {'machines':>8} {'a month':>9} {'M/M/1 p99':>10}")
    cheaper = Instance(
        "int8",
        GPU.dollars_per_hour,
        2 * GPU.peak_flops,  # int8 tensor cores: twice the FP16 rate
        GPU.efficiency,
        GPU.memory_bytes,
    )
    rows = (
        ("as above", qps, CANDIDATES, GPU, UTILISATION),
        ("80% load instead of 60%", qps, CANDIDATES, GPU, 0.8),
        ("score 250 candidates, not 500", qps, CANDIDATES / 2, GPU, UTILISATION),
        ("int8 instead of FP16", qps, CANDIDATES, cheaper, UTILISATION),
        ("follow the mean, not the peak", qps / PEAK_RATIO, CANDIDATES, GPU, 0.6),
        ("all three halvings", qps / PEAK_RATIO, CANDIDATES / 2, cheaper, 0.6),
    )
    for label, load, candidates, instance, rho in rows:
        fleet = serving_fleet(load, RANKER, candidates, instance, rho, ZONES)
        p99 = time_in_system(rho, 0.99)  # in service times, at this load
        print(
            f"{label:<34} {fleet.machines:>8} "
            f"{_money(fleet.dollars_per_month):>9} {p99:>9.1f}x"
        )
    print("  M/M/1 p99: waiting plus service, in service times at that load;")
    print("  following the mean is a floor that autoscaling can only approach")


def main() -> None:
    qps = peak_qps(DAU, REQUESTS_PER_USER, PEAK_RATIO)
    fleets = serving_report(qps)
    serving = fleets["GPU"].dollars_per_month
    training = training_report(qps)
    total = serving + training
    requests = qps / PEAK_RATIO * 86_400 * HOURS_PER_MONTH / 24
    print(
        f"Monthly bill: serving {_money(serving)} + training {_money(training)} = "
        f"{_money(total)}; serving is {serving / total:.0%}"
    )
    print(f"  ${total / requests * 1e6:.2f} per million requests")
    levers_report(qps)


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
