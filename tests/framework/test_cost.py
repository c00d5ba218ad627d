"""The monthly bill: machines for serving and training, against counts done by hand."""

from __future__ import annotations

import math
import re

import pytest
from guide import assert_page_quotes, module_output

from snippets.framework import cost

PAGE = "framework/deployment-and-serving.md"
OUTPUT = "snippets.framework.cost"


def test_gpu_serving_fleet_matches_a_hand_count():
    fleet = cost.serving_fleet(50_000, cost.RANKER, 500, cost.GPU, 0.6, 3)
    # 50,000 requests x 500 candidates x 2 FLOPs x 10M weights = 5e14 FLOP/s.
    # One L4 sustains 121e12 x 0.10 = 1.21e13, so 41.3 flat out; at 60% load,
    # with any 2 of 3 zones carrying the peak: ceil(41.3 / 0.6 / 2) = 35 a zone.
    assert round(5e14 / 1.21e13, 2) == 41.32
    assert fleet.machines == 3 * 35
    assert fleet.per_replica == 1
    assert fleet.dollars_per_month == pytest.approx(105 * 0.8048 * 730)


def test_cpu_serving_fleet_matches_a_hand_count():
    fleet = cost.serving_fleet(50_000, cost.RANKER, 500, cost.CPU, 0.6, 3)
    # 5e14 / (3e12 x 0.3) = 555.6 hosts flat out; ceil(555.6 / 0.6 / 2) = 463 a zone.
    assert fleet.machines == 3 * 463
    assert fleet.dollars_per_month == pytest.approx(1389 * 1.428 * 730)


def test_a_model_larger_than_one_machine_is_served_in_whole_replicas():
    big = cost.Model(dense_params=10e6, embedding_params=32e9)  # 128 GB in fp32
    # 128.04 GB over 24 GB x 0.8 usable = 6.67: seven L4s hold one copy.
    assert cost.machines_per_replica(big, cost.GPU) == 7
    small_load = cost.serving_fleet(1_000, big, 500, cost.GPU, 0.6, 3)
    # Compute needs under one machine a zone; memory needs a whole copy a zone.
    assert small_load.machines == 3 * 7
    heavy = cost.serving_fleet(50_000, big, 500, cost.GPU, 0.6, 3)
    # Each copy of 7 machines sustains 7 x 1.21e13; ceil(5e14 / 8.47e13 / 0.6 / 2)
    # = 5 copies a zone.
    assert heavy.machines == 3 * 5 * 7


def test_training_hours_match_six_flops_per_weight_per_example():
    examples = 64.8e9
    hours = cost.training_hours(cost.RANKER, examples, cost.TRAINER)
    by_hand = 6 * 10e6 * examples / (8 * 312e12 * 0.20) / 3600
    assert hours == pytest.approx(by_hand)
    assert hours == pytest.approx(2.1635, abs=1e-3)


def test_at_the_break_even_efficiency_a_sustained_flop_costs_the_same():
    share = cost.break_even_efficiency(cost.GPU, cost.CPU)
    gpu = cost.Instance("at break-even", 0.8048, 121e12, share, 24e9)
    per_flop = [m.dollars_per_hour / m.sustained_flops for m in (gpu, cost.CPU)]
    assert per_flop[0] == pytest.approx(per_flop[1])
    # By hand: 0.8048 / 121e12 / e = 1.428 / 0.9e12  =>  e = 0.42%.
    assert share == pytest.approx(0.8048 * 0.9e12 / (1.428 * 121e12))


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
        cost.training_hours("ranker", 1e9, cost.TRAINER)
    with pytest.raises(TypeError, match="Instance"):
        cost.serving_fleet(100, cost.RANKER, 500, "g6.xlarge", 0.6, 3)
    with pytest.raises(ValueError, match="efficiency"):
        cost.Instance("x", 1.0, 1e12, 1.5, 1e9)
    with pytest.raises(TypeError, match="dense_params"):
        cost.Model(dense_params="10M")
    with pytest.raises(ValueError, match="examples"):
        cost.training_hours(cost.RANKER, math.inf, cost.TRAINER)


def _dollars(text: str) -> float:
    return float(text.strip("$").replace(",", ""))


def _row(output: str, start: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(start))
    return line[len(start) :].split()


def test_page_quotes_the_numbers_the_program_prints():
    output = module_output(OUTPUT)
    gpu, cpu = _row(output, cost.GPU.name), _row(output, cost.CPU.name)
    ratio = re.search(r"costs (\d+)x the GPU", output)[1]
    even = re.search(r"over ([\d.]+%) of its peak", output)[1]
    hours, run, month = re.search(
        r"([\d.]+) hours, (\$[\d,.]+) a run, (\$[\d,]+) a month", output
    ).groups()
    bill = re.search(r"= (\$[\d,]+); serving is (\d+%)", output).groups()
    per_million = re.search(r"(\$[\d.]+) per million", output)[1]
    mm1 = _row(output, "as above")[-1]
    flops = re.search(r"GFLOP a request, ([\d,]+) TFLOP/s", output)[1]
    levers = {
        name: _row(output, name)
        for name in ("80% load", "score 250", "int8", "follow the mean", "all three")
    }
    assert_page_quotes(
        PAGE,
        f"{gpu[-2]} GPUs",
        gpu[-1],
        f"{cpu[-2]} hosts",
        cpu[-1],
        f"{ratio} times",
        even,
        f"{hours} hours",
        run,
        month,
        *bill,
        per_million,
        f"{levers['80% load'][-3]} GPUs and {levers['80% load'][-2]}",
        f"{mm1} to {levers['80% load'][-1]}",
        f"to {levers['score 250'][-3]} GPUs, {levers['score 250'][-2]}",
        f"together leave {levers['all three'][-3]}",
        # The summary above the code rounds the bill to thousands.
        f"about ${round(_dollars(gpu[-1]) / 1000)}k a month to serve",
        f"under ${math.ceil(_dollars(month) / 1000)}k to train",
        f"{flops} TFLOP/s",
    )
    assert (
        levers["score 250"][-2] == levers["int8"][-2] == levers["follow the mean"][-2]
    )
    # The program's own arithmetic agrees with the hand counts above.
    assert gpu[-2] == "105" and cpu[-2] == "1,389"
