"""The funnel calculator: roofline arithmetic, fleets, design claims, clear errors."""

from __future__ import annotations

import math
import re

import pytest
from guide import assert_page_quotes, module_output, page_text

from snippets.common.estimation import human_bytes, peak_qps
from snippets.framework import high_level_architecture as hla

PAGE = "framework/high-level-architecture.md"
QPS = peak_qps(daily_active_users=100e6, requests_per_user_per_day=10)
CHEAP = hla.Machine("m", flops_per_second=1e9, bytes_per_second=1e8, dollars_per_hour=3)


def test_compute_and_memory_time_are_work_over_rate():
    assert hla.compute_ms(1e13, 1e13) == pytest.approx(1000)
    assert hla.compute_ms(5e8, 1e13) == pytest.approx(0.05)
    assert hla.memory_ms(1e9, 1e11) == pytest.approx(10)


def test_machines_round_up_busy_time():
    # 10 ms per request at 100 QPS keeps exactly one machine busy; 101 QPS needs two.
    assert hla.machines_needed(10, 100) == 1
    assert hla.machines_needed(10, 101) == 2


def test_stage_time_is_the_slower_resource_and_the_fleet_follows_it():
    # 1,000 items x 10 FLOP = 1e4 FLOP -> 0.01 ms; 1,000 x 1,000 B = 1e6 B -> 10 ms.
    scan = hla.Stage("scan", 1000, 10, 1000, 50, CHEAP)
    cost = hla.stage_cost(scan, qps=250)
    assert cost.compute_ms == pytest.approx(0.01)
    assert cost.memory_ms == pytest.approx(10)
    assert cost.time_ms == pytest.approx(10) and cost.bound_by == "memory"
    assert cost.machines == math.ceil(250 * 10 / 1000) == 3
    assert cost.dollars_per_hour == pytest.approx(9)
    dense = hla.Stage("dense", 1000, 1e6, 10, 50, CHEAP)
    assert hla.stage_cost(dense, qps=1).bound_by == "compute"


def test_sharding_cuts_latency_but_not_the_fleet():
    # Splitting one request over k machines divides its latency by k; the busy
    # machine-time per request, and so the fleet, stays the same.
    whole = hla.stage_cost(hla.Stage("all", 1e6, 1e4, 4, 100, CHEAP), qps=50)
    shards = [hla.Stage(f"shard {i}", 1e5, 1e4, 4, 100, CHEAP) for i in range(10)]
    per_shard = [hla.stage_cost(s, qps=50) for s in shards]
    assert per_shard[0].time_ms == pytest.approx(whole.time_ms / 10)
    assert sum(c.machines for c in per_shard) == whole.machines


def test_the_vector_scan_is_bandwidth_bound_and_the_dearest_stage():
    costs = hla.funnel_costs(hla.FUNNEL, QPS)
    retrieval = costs[0]
    assert retrieval.bound_by == "memory"
    # A float32 dot product: 2 FLOPs per 4 bytes, below any ridge point above 0.5.
    intensity = retrieval.stage.flops / retrieval.stage.bytes_read
    ridge = hla.CPU_SERVER.flops_per_second / hla.CPU_SERVER.bytes_per_second
    assert intensity == pytest.approx(0.5) and intensity < ridge
    assert retrieval.dollars_per_hour == max(c.dollars_per_hour for c in costs)
    # ...while the heavy ranker spends most of the FLOPs.
    heavy = next(c for c in costs if c.stage.name == "heavy ranker")
    assert heavy.stage.flops > 0.5 * sum(c.stage.flops for c in costs)
    # Compressed codes move the cost: PQ retrieval is cheaper than the heavy ranker.
    pq = hla.stage_cost(hla.RETRIEVAL_PQ, QPS)
    assert pq.dollars_per_hour < heavy.dollars_per_hour < retrieval.dollars_per_hour


def test_on_accelerators_the_scan_is_sized_by_memory_and_still_the_dearest():
    out = module_output("snippets.framework.high_level_architecture")
    section = out.split("on accelerators instead")[1].split("\n\n")[0]
    per_copy, fleet, bandwidth, dollars, ratio = re.search(
        r": (\d+) a copy\n +(\d+) accelerators \(bandwidth alone needs (\d+)\), "
        r"\$(\d+) an hour.*\n.*costs over ([\d.]+)x",
        section,
    ).groups()
    # Independent arithmetic: 1e9 vectors of 1,024 B + an 8 B id in 80 GB devices,
    # three copies (one a zone, as the serving page keeps); the bandwidth fleet
    # streams the probed vectors at 1 TB/s each.
    copy = math.ceil(1e9 * 1032 / 80e9)
    streamed = math.ceil(1e9 * 64 / 65_536 * 1024 * QPS / 1e12)
    assert (int(per_copy), int(bandwidth)) == (copy, streamed) == (13, 24)
    assert int(fleet) == max(3 * copy, streamed) == 39
    assert int(dollars) == 2 * 39
    costs = hla.funnel_costs(hla.FUNNEL, QPS)
    heavy = next(c for c in costs if c.stage.name == "heavy ranker")
    assert int(dollars) > heavy.dollars_per_hour
    assert float(ratio) == pytest.approx(costs[0].machines / 39, abs=0.05)
    assert_page_quotes(
        PAGE,
        f"take {per_copy} a copy, {fleet} accelerators and ${dollars} an hour",
        f"bandwidth alone would need {bandwidth}",
        f"{ratio}x a CPU-server-hour",
        f"${dollars} for it on accelerators",
        human_bytes(hla.ACCELERATOR_MEMORY),
    )


def test_funnel_fits_every_stage_budget_with_headroom_held_back():
    costs = hla.funnel_costs(hla.FUNNEL, QPS)
    assert all(cost.fits for cost in costs)
    planned = sum(s.budget_ms for s in hla.FUNNEL) + hla.NETWORK_HOPS_MS
    # Stages and hops get at most 75% of the p99 budget: p99s do not add.
    assert hla.HEADROOM >= 0.25
    assert planned <= (1 - hla.HEADROOM) * hla.BUDGET_MS
    assert sum(c.time_ms for c in costs) < sum(s.budget_ms for s in hla.FUNNEL) / 2


def test_resident_store_is_sized_by_ram_or_by_bandwidth_whichever_needs_more():
    m = hla.Machine("m", 1e12, bytes_per_second=1e11, dollars_per_hour=1)
    # 1.2 TB on 0.5 TB servers: 3 shards; 2 copies -> 6 servers for capacity.
    assert hla.resident_store_servers(1.2e12, 2, 5e11, 1e11, m) == 6
    # The same store read at 1 TB/s needs 10 servers of 100 GB/s.
    assert hla.resident_store_servers(1.2e12, 2, 5e11, 1e12, m) == 10
    with pytest.raises(ValueError, match="copies"):
        hla.resident_store_servers(1e12, 0, 5e11, 1e11, m)
    with pytest.raises(ValueError, match="ram_per_server"):
        hla.resident_store_servers(1e12, 1, 0, 1e11, m)


def test_the_light_rankers_feature_fetch_costs_about_as_much_as_retrieval():
    out = module_output("snippets.framework.high_level_architecture")
    table = out.split("Feature fetch at peak")[1].split("\n\n")[0].splitlines()[2:4]
    printed = {row[:15].strip(): int(row.split()[3].replace(",", "")) for row in table}
    # Independent arithmetic: candidates x peak QPS over 1e6 rows a second per node.
    expected = {
        name: math.ceil(items * QPS / 1e6)
        for name, items in (("light ranker", 10_000), ("heavy ranker", 500))
    }
    assert printed == expected
    retrieval = hla.funnel_costs(hla.FUNNEL, QPS)[0]
    assert expected["light ranker"] == pytest.approx(retrieval.machines, rel=0.05)


def test_single_stage_costs_orders_of_magnitude_more_than_the_funnel():
    funnel = sum(c.dollars_per_hour for c in hla.funnel_costs(hla.FUNNEL, QPS))
    single = hla.Stage(
        "all", hla.CORPUS, hla.RANKER_FLOPS, 1000, hla.BUDGET_MS, hla.ACCELERATOR
    )
    assert hla.stage_cost(single, QPS).dollars_per_hour > 1e4 * funnel


def test_funnel_must_narrow():
    wide = [hla.Stage("a", 10, 1, 1, 1, CHEAP), hla.Stage("b", 100, 1, 1, 1, CHEAP)]
    with pytest.raises(ValueError, match="must narrow: b scores 100"):
        hla.funnel_costs(wide, 1e3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: hla.Stage("x", 0, 1, 1, 1, CHEAP), ValueError, "x: items_scored"),
        (lambda: hla.Stage("x", 10, -1, 1, 1, CHEAP), ValueError, "flops_per_item"),
        (lambda: hla.Stage("x", 10, 1, 0, 1, CHEAP), ValueError, "bytes_per_item"),
        (lambda: hla.Stage("x", 10, 1, 1, math.nan, CHEAP), ValueError, "budget_ms"),
        (lambda: hla.Stage("x", "10", 1, 1, 1, CHEAP), TypeError, "must be a number"),
        (lambda: hla.Stage("x", 10, 1, 1, 1, "gpu"), TypeError, "must be a Machine"),
        (lambda: hla.Machine("m", 1e9, 0, 1), ValueError, "m: bytes_per_second"),
        (lambda: hla.compute_ms(1e9, 0), ValueError, "flops_per_second"),
        (lambda: hla.memory_ms(-1, 1e9), ValueError, "bytes_read"),
        (lambda: hla.machines_needed(1.0, -3), ValueError, "qps"),
        (lambda: hla.funnel_costs([], 1e3), ValueError, "stages is empty"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _number(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(1)


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.high_level_architecture")
    # The compute tables only, not the feature-fetch table between them.
    compute_rows = out.split("Feature fetch")[0] + out.split("Retrieval over PQ")[1]
    rows = {
        line[:15].strip(): line[15:].split()
        for line in compute_rows.splitlines()
        if line[:15].strip() in {"retrieval (ANN)", "heavy ranker", "retrieval, PQ"}
    }
    retrieval, heavy, pq = (
        rows["retrieval (ANN)"],
        rows["heavy ranker"],
        rows["retrieval, PQ"],
    )
    # Independent arithmetic for the headline numbers, then the printed text.
    probed = 1e9 * 64 / 65_536
    assert retrieval[1:3] == human_bytes(probed * 1024).split()
    assert float(retrieval[4]) == pytest.approx(probed * 1024 / 1e11 * 1000, abs=0.005)
    single_ms = 1e9 * 2e7 / 1e13 * 1000
    single_fleet = math.ceil(single_ms * QPS / 1000)
    assert f"{single_fleet:,} accelerators" in out
    ratio = float(retrieval[4]) / float(retrieval[3])
    quoted = [
        f"{QPS:,.0f}",
        f"{single_ms:,.0f} ms",
        _number(r"(\S+x) the budget", out),
        _number(r"sharded over (\S+) accelerators", out),
        f"{single_fleet:,}",
        _number(r"(\$[\d,]+) an hour:", out),
        _number(r"hour: (\S+x) the funnel", out),
        _number(r"favour: \S+ (\S+x) the funnel", out),
        retrieval[0],
        " ".join(retrieval[1:3]),
        f"{retrieval[4]} ms",
        f"{retrieval[3]} ms",
        f"{ratio:.0f} times",
        f"{retrieval[7]} CPU servers",
        f"${retrieval[9]} an hour",
        f"{heavy[7]} accelerators",
        f"${heavy[9]} an hour",
        " ".join(pq[1:3]),
        f"{pq[7]} servers",
        f"${pq[9]} an hour",
        _number(r"index, one copy: (\S+ \S+) float32", out),
        _number(r"float32, (\S+ \S+) PQ", out),
        _number(r"sum to (\S+ ms)", out),
        _number(r"inside (\S+ ms)", out),
        _number(r"network hops (\S+ ms)", out),
        _number(r"= (\S+ ms) of", out),
        _number(r"headroom \(\S+\): (\S+ ms)", out),
        _number(r"(?m)^light ranker +([\d,]+) +\d+ +\d+$", out),
        _number(r"(?m)^light ranker +[\d,]+ +(\d+) +\d+$", out) + " nodes",
        _number(r"(?m)^heavy ranker +[\d,]+ +(\d+) +\d+$", out) + " nodes",
        _number(r"store nodes, (\$[\d,]+ an hour)", out),
        _number(r"reads (\S+ \S+/s) at peak", out),
        _number(r"copies on (\S+ \S+) servers", out),
        _number(r"servers: (\d+ CPU servers)", out),
        _number(r"CPU servers, (\$\d+ an hour)", out),
        _number(r"re-scoring: (\d+ servers)", out),
        _number(r"re-scoring: \d+ servers, (\$\d+ an hour)", out),
    ]
    # The feature rows are one per candidate at the peak.
    assert f"{10_000 * QPS:,.0f}" in quoted
    assert_page_quotes(PAGE, *quoted)


def test_the_running_example_is_the_one_the_features_and_serving_pages_use():
    out = module_output("snippets.framework.high_level_architecture")
    heavy = next(x for x in out.splitlines() if x.startswith("heavy ranker "))
    # 500 candidates x 250 float32 features: 500 kB read per request.
    assert heavy.split()[3:5] == human_bytes(500 * 250 * 4).split()
    log = module_output("snippets.framework.features_served")
    assert "500 candidates, 20 shown, 250 float32 features" in log
    serving = module_output("snippets.framework.deployment_and_serving")
    # The serving page fetches 100 + 50 features per candidate, the rest per request.
    assert "500 x 2 (400 B + 200 B)" in serving
    assert "user row (100 user and context features" in serving
    assert "x3 above is the floor" in serving  # the same three copies of an index
    # The diagram's page size and the assumptions box say the same.
    assert "50 → 20, 5 ms" in page_text(PAGE)
    assert_page_quotes(
        PAGE,
        "50 features per light-ranker candidate and 250 per",
        "20 items a page",
        "three copies of an index (one a zone)",
    )
