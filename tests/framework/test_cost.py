"""The monthly bill: machines for serving and training, against counts done by hand."""

from __future__ import annotations

import math
import re

import pytest
from guide import assert_page_quotes, module_output

from snippets.framework import cost

PAGE = "framework/deployment-and-serving.md"
OUTPUT = "snippets.framework.cost"


def test_traffic_and_ranker_are_the_deployment_pages():
    # 100M users x 10 requests a day, peak twice the mean: 23,148 requests a second.
    assert round(100e6 * 10 / 86_400 * 2) == 23_148
    assert cost.RANKER.dense_params == 10e6  # 2e7 FLOPs a candidate, 2 per weight
    assert cost.CANDIDATES == 500


def test_gpu_serving_fleet_matches_a_hand_count():
    fleet = cost.serving_fleet(23_148, cost.RANKER, 500, cost.GPU, 0.6, 3)
    # 23,148 requests x 500 candidates x 2 FLOPs x 10M weights = 2.31e14 FLOP/s.
    # One L4 sustains 121e12 x 0.10 = 1.21e13, so 19.1 flat out; at 60% load,
    # with any 2 of 3 zones carrying the peak: ceil(19.13 / 0.6 / 2) = 16 a zone.
    assert round(2.3148e14 / 1.21e13, 2) == 19.13
    assert fleet.machines == 3 * 16
    assert fleet.per_replica == 1
    assert fleet.dollars_per_month == pytest.approx(48 * 0.8048 * 730)


def test_cpu_serving_fleets_match_hand_counts():
    # 16 cores at an assumed 2.0 GHz: 64 FP32 FLOPs a cycle (AVX-512), 1,024 BF16
    # (AMX). FP32 at 30%: 2.048e12 x 0.3 = 6.144e11 sustained, 376.8 hosts flat
    # out, ceil(376.8 / 0.6 / 2) = 314 a zone.
    assert cost.CPU.peak_flops == pytest.approx(16 * 64 * 2.0e9)
    fp32 = cost.serving_fleet(23_148, cost.RANKER, 500, cost.CPU, 0.6, 3)
    assert fp32.machines == 3 * 314
    assert fp32.dollars_per_month == pytest.approx(942 * 1.428 * 730)
    # AMX at 10%: 32.77e12 x 0.1 = 3.277e12, 70.6 flat out, ceil(58.9) = 59 a zone.
    amx = cost.serving_fleet(23_148, cost.RANKER, 500, cost.CPU_AMX, 0.6, 3)
    assert amx.machines == 3 * 59
    # The host's 64 GiB holds the 12.8 GB model with room to spare.
    assert cost.CPU.memory_bytes == 64 * 1024**3


def test_model_size_counts_fp16_dense_and_fp32_embedding_weights():
    # 10M dense weights x 2 B + 3.2B embedding weights x 4 B = 12.82 GB.
    assert cost.RANKER.size_bytes == pytest.approx(10e6 * 2 + 3.2e9 * 4)
    int8 = cost.Model(dense_params=10e6, embedding_params=3.2e9, dense_bytes=1)
    assert cost.RANKER.size_bytes - int8.size_bytes == pytest.approx(10e6)


def test_a_model_larger_than_one_machine_is_served_in_whole_replicas():
    big = cost.Model(dense_params=10e6, embedding_params=32e9)  # 128 GB in fp32
    # 128.02 GB over 24 GB x 0.8 usable = 6.67: seven L4s hold one copy.
    assert cost.machines_per_replica(big, cost.GPU) == 7
    small_load = cost.serving_fleet(1_000, big, 500, cost.GPU, 0.6, 3)
    # Compute needs under one machine a zone; memory needs a whole copy a zone.
    assert small_load.machines == 3 * 7
    heavy = cost.serving_fleet(50_000, big, 500, cost.GPU, 0.6, 3)
    # Each copy of 7 machines sustains 7 x 1.21e13; ceil(5e14 / 8.47e13 / 0.6 / 2)
    # = 5 copies a zone.
    assert heavy.machines == 3 * 5 * 7


def test_training_hours_are_set_by_the_slower_of_arithmetic_and_input():
    examples = 30e9
    arithmetic = 6 * 10e6 * examples / (8 * 312e12 * 0.20) / 3600  # 1.0 hours
    fast_loader = cost.training_hours(cost.RANKER, examples, cost.TRAINER, 1e9)
    assert fast_loader == pytest.approx(arithmetic)
    assert arithmetic == pytest.approx(1.0017, abs=1e-3)
    slow_loader = cost.training_hours(cost.RANKER, examples, cost.TRAINER, 1e6)
    assert slow_loader == pytest.approx(examples / 1e6 / 3600)  # 8.3 hours


def test_at_the_break_even_efficiency_a_sustained_flop_costs_the_same():
    for cpu in (cost.CPU, cost.CPU_AMX):
        share = cost.break_even_efficiency(cost.GPU, cpu)
        gpu = cost.Instance("at break-even", 0.8048, 121e12, share, 24e9)
        per_flop = [m.dollars_per_hour / m.sustained_flops for m in (gpu, cpu)]
        assert per_flop[0] == pytest.approx(per_flop[1])
    # By hand: 0.8048 / 121e12 / e = 1.428 / (32.768e12 x 0.1)  =>  e = 1.53%.
    amx = cost.break_even_efficiency(cost.GPU, cost.CPU_AMX)
    assert amx == pytest.approx(0.8048 * 3.2768e12 / (1.428 * 121e12))


@pytest.mark.parametrize("qps", [500, 5_000, 50_000, 500_000])
def test_the_bill_grows_with_traffic_and_scales_with_the_price(qps):
    fleet = cost.serving_fleet(qps, cost.RANKER, 500, cost.GPU, 0.6, 3)
    bigger = cost.serving_fleet(2 * qps, cost.RANKER, 500, cost.GPU, 0.6, 3)
    assert bigger.machines >= fleet.machines
    assert fleet.machines % 3 == 0  # the same count in every zone
    pricier = cost.Instance("2x price", 2 * 0.8048, 121e12, 0.10, 24e9)
    doubled = cost.serving_fleet(qps, cost.RANKER, 500, pricier, 0.6, 3)
    assert doubled.dollars_per_month == pytest.approx(2 * fleet.dollars_per_month)


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="qps"):
        cost.serving_fleet(0, cost.RANKER, 500, cost.GPU, 0.6, 3)
    with pytest.raises(ValueError, match="candidates"):
        cost.serving_fleet(100, cost.RANKER, -1, cost.GPU, 0.6, 3)
    with pytest.raises(ValueError, match="utilisation"):
        cost.serving_fleet(100, cost.RANKER, 500, cost.GPU, 1.5, 3)
    with pytest.raises(ValueError, match="zones"):
        cost.serving_fleet(100, cost.RANKER, 500, cost.GPU, 0.6, 0)
    with pytest.raises(TypeError, match="Model"):
        cost.training_hours("ranker", 1e9, cost.TRAINER, 1e6)
    with pytest.raises(TypeError, match="Instance"):
        cost.serving_fleet(100, cost.RANKER, 500, "g6.xlarge", 0.6, 3)
    with pytest.raises(ValueError, match="efficiency"):
        cost.Instance("x", 1.0, 1e12, 1.5, 1e9)
    with pytest.raises(TypeError, match="dense_params"):
        cost.Model(dense_params="10M")
    with pytest.raises(ValueError, match="examples"):
        cost.training_hours(cost.RANKER, math.inf, cost.TRAINER, 1e6)
    with pytest.raises(ValueError, match="loader_rate"):
        cost.training_hours(cost.RANKER, 1e9, cost.TRAINER, 0)
    with pytest.raises(ValueError, match="dense_bytes"):
        cost.Model(dense_params=10e6, dense_bytes=0)


def _dollars(text: str) -> float:
    return float(text.strip("$").replace(",", ""))


def _row(output: str, start: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(start))
    return line[len(start) :].split()


def _search(pattern: str, output: str) -> tuple[str, ...]:
    match = re.search(pattern, output)
    assert match, f"the output no longer prints {pattern!r}"
    return match.groups()


def test_page_quotes_the_numbers_the_program_prints():
    output = module_output(OUTPUT)
    gpu, cpu = _row(output, cost.GPU.name), _row(output, cost.CPU.name)
    amx = _row(output, cost.CPU_AMX.name)
    qps, flops = _search(
        r"at ([\d,]+) peak QPS.*\n.*GFLOP a request, ([\d,]+) TF", output
    )
    ratio = _search(r"CPU fleets: ([\d.]+)x \(FP32\) and ([\d.]+)x \(AMX\)", output)
    even = _search(r"\n  ([\d.]+%) of its peak \(FP32 host\), ([\d.]+%)", output)
    examples, arithmetic, rate = _search(
        r"\(([\d.]+B) examples\).*\n.*: ([\d.]+) hours, ([\d.]+M) examples/s", output
    )
    loader, hours, run, month = _search(
        r"assumed ([\d.]+M) examples/s.*\n  ([\d.]+) hours, (\$[\d,.]+) a run, "
        r"(\$[\d,]+) a month",
        output,
    )
    bill = _search(r"= (\$[\d,]+) a month\n  serving is (\d+%); (\$[\d.]+) per", output)
    even_rate = _search(r"serving does at ([\d,]+k) examples/s", output)[0]
    levers = {
        name: _row(output, name)
        for name in ("as above", "80% load", "score 250", "int8", "follow the mean")
    }
    three = _row(output, "all three")
    design, per_million, share = _search(
        r"(\$[\d,]+) a month\n  (\$[\d.]+) per million requests; retrieval scan "
        r"and feature store (\d+%)",
        output,
    )
    assert_page_quotes(
        PAGE,
        f"{gpu[-2]} GPUs",
        gpu[-1],
        f"{gpu[-4]} TFLOP/s sustained",
        f"{amx[-2]} hosts",
        amx[-1],
        f"{cpu[-2]} hosts",
        cpu[-1],
        f"{ratio[1]} times as much",
        f"{ratio[0]} times",
        f"reaches {even[1]} of its peak",
        f"({even[0]} against the FP32 host)",
        f"{examples} examples",
        f"{arithmetic} hours on one",
        f"{rate} examples a second",
        f"{loader} a second; measure",
        f"takes {hours} hours",
        run,
        month,
        *bill,
        f"fell to {even_rate} examples",
        f"from {levers['as above'][-4]} to {levers['score 250'][-4]} GPUs",
        levers["score 250"][-3],
        f"average {levers['follow the mean'][-4]} at best",
        f"{levers['80% load'][-4]} GPUs and {levers['80% load'][-3]}",
        f"from {levers['as above'][-1]} to {levers['80% load'][-1]} the service time "
        "with one zone down",
        f"the p99 goes from {levers['as above'][-2]} to {levers['80% load'][-2]}",
        f"together leave {three[-4]}",
        f"{qps} peak QPS",
        f"{flops} TFLOP/s",
        per_million,
        f"{share} of it is the retrieval",
        # The summaries round the bills.
        f"about ${_dollars(design) / 1e6:.1f}M a month",
        f"about ${round(_dollars(gpu[-1]) / 1000)}k a month to serve",
        f"under ${math.ceil(_dollars(month) / 1000)}k to train",
        f"adds about ${_dollars(month) / 1000:.1f}k",
    )
    assert (
        levers["score 250"][-3] == levers["int8"][-3] == levers["follow the mean"][-3]
    )
    # M/M/1 p99 = ln(100) / (1 - load): all zones up, 3 zones run at 2/3 of the
    # 60% target (0.4); one zone down, the survivors run at the target.
    assert levers["as above"][-2:] == [
        f"{math.log(100) / (1 - 0.4):.1f}x",
        f"{math.log(100) / (1 - 0.6):.1f}x",
    ]
    # The program's own arithmetic agrees with the hand counts above.
    assert (gpu[-2], cpu[-2], amx[-2]) == ("48", "942", "177")
    assert qps == f"{cost.peak_qps(cost.DAU, cost.REQUESTS_PER_USER, 2.0):,.0f}"
