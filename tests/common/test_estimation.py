"""Back-of-envelope helpers: the arithmetic is right and bad input fails clearly."""

from __future__ import annotations

import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given
from hypothesis import strategies as st

from snippets.common import estimation as est

PAGE = "framework/high-level-architecture.md"


def test_average_qps_spreads_daily_requests_over_86400_seconds():
    assert est.average_qps(86_400, 1) == pytest.approx(1.0)
    assert est.average_qps(100e6, 10) == pytest.approx(1e9 / 86_400)


@given(
    dau=st.floats(1, 1e10),
    per_user=st.floats(0.01, 1e3),
    ratio=st.floats(1, 10),
)
def test_peak_is_average_times_the_peak_ratio(dau, per_user, ratio):
    peak = est.peak_qps(dau, per_user, peak_to_average=ratio)
    assert peak == pytest.approx(est.average_qps(dau, per_user) * ratio)
    assert peak >= est.average_qps(dau, per_user)


def test_storage_multiplies_count_size_and_replicas():
    assert est.storage_bytes(1e9, 1024) == pytest.approx(1.024e12)
    assert est.storage_bytes(10, 4, replicas=3) == 120


def test_remaining_budget_subtracts_every_stage_and_can_go_negative():
    assert est.remaining_budget_ms(100, {"a": 30, "b": 20.5}) == pytest.approx(49.5)
    assert est.remaining_budget_ms(100, {}) == 100
    # Over budget is a finding, not an error: the caller sees a negative number.
    assert est.remaining_budget_ms(50, {"ranking": 80}) == -30


def test_headroom_holds_back_a_share_of_the_total():
    stages = {"retrieval": 15, "ranking": 40}
    # 100 ms with a quarter held back leaves 75 ms for stages: 20 ms unallocated.
    assert est.remaining_budget_ms(100, stages, headroom=0.25) == pytest.approx(20)
    assert est.remaining_budget_ms(100, stages, headroom=0) == pytest.approx(45)
    assert est.remaining_budget_ms(100, stages) == est.remaining_budget_ms(
        100, stages, headroom=0.0
    )


@given(
    demand=st.floats(1e-3, 1e15),
    capacity=st.floats(1e-3, 1e12),
    utilisation=st.floats(0.01, 1.0),
)
def test_servers_needed_is_the_smallest_fleet_under_the_target(
    demand, capacity, utilisation
):
    n = est.servers_needed(demand, capacity, utilisation)
    # n servers keep each at or below the target; one fewer would not.
    assert demand / (n * capacity) <= utilisation * (1 + 1e-9)
    assert n == 1 or demand / ((n - 1) * capacity) > utilisation * (1 - 1e-9)


@given(
    demand=st.floats(1e-3, 1e15),
    capacity=st.floats(1e-3, 1e12),
    utilisation=st.floats(0.01, 1.0),
    zones=st.integers(2, 6),
)
def test_any_zones_minus_one_carry_the_demand(demand, capacity, utilisation, zones):
    n = est.servers_needed(demand, capacity, utilisation, zones=zones)
    assert n % zones == 0  # an even split
    survivors = n // zones * (zones - 1)  # one zone lost
    assert demand / (survivors * capacity) <= utilisation * (1 + 1e-9)
    assert n >= est.servers_needed(demand, capacity, utilisation)


def test_servers_needed_worked_example():
    # 2.8e14 FLOP/s on 1e13 FLOP/s chips: 28 flat out, 47 at 60% utilisation.
    assert est.servers_needed(2.78e14, 1e13) == 28
    assert est.servers_needed(2.78e14, 1e13, utilisation=0.6) == 47
    # Three zones, any two carry it: 24 per zone (46.3 / 2, rounded up), 72 in all.
    assert est.servers_needed(2.78e14, 1e13, utilisation=0.6, zones=3) == 72


@pytest.mark.parametrize(
    ("n_bytes", "expected"),
    [
        (0, "0.0 B"),
        (999, "999.0 B"),
        (1000, "1.0 kB"),
        (1536, "1.5 kB"),
        (999_960, "1.0 MB"),  # rounds up into the next unit, not "1000.0 kB"
        (1.024e12, "1.0 TB"),
        (2.5e15, "2.5 PB"),
    ],
)
def test_human_bytes_uses_decimal_units(n_bytes, expected):
    assert est.human_bytes(n_bytes) == expected


@given(st.floats(0, 1e17))
def test_human_bytes_shows_a_number_below_1000_until_petabytes(n_bytes):
    text = est.human_bytes(n_bytes)
    value, unit = text.split()
    assert unit in {"B", "kB", "MB", "GB", "TB", "PB"}
    assert float(value) < 1000


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: est.average_qps(0, 10), ValueError, "daily_active_users"),
        (lambda: est.average_qps(-5, 10), ValueError, "positive"),
        (lambda: est.average_qps(float("inf"), 10), ValueError, "finite"),
        (lambda: est.average_qps(float("nan"), 10), ValueError, "finite"),
        (lambda: est.positive("x", "3"), TypeError, "x must be a number"),
        (lambda: est.average_qps("1e6", 10), TypeError, "must be a number"),
        (lambda: est.average_qps(True, 10), TypeError, "must be a number"),
        (lambda: est.peak_qps(1e6, 10, peak_to_average=0.5), ValueError, ">= 1"),
        (lambda: est.storage_bytes(10, 4, replicas=0), ValueError, "replicas"),
        (lambda: est.storage_bytes(10, 4, replicas=1.5), ValueError, "replicas"),
        (lambda: est.storage_bytes(10, -4), ValueError, "bytes_per_item"),
        (lambda: est.remaining_budget_ms(0, {}), ValueError, "total_ms"),
        (lambda: est.remaining_budget_ms(100, {"net": -1}), ValueError, "'net'"),
        (lambda: est.remaining_budget_ms(100, {}, headroom=1), ValueError, "headroom"),
        (
            lambda: est.remaining_budget_ms(100, {}, headroom=-0.1),
            ValueError,
            "must be in",
        ),
        (lambda: est.remaining_budget_ms(100, {}, headroom="0.2"), TypeError, "number"),
        (lambda: est.servers_needed(0, 10), ValueError, "demand"),
        (lambda: est.servers_needed(10, 0), ValueError, "capacity_per_server"),
        (lambda: est.servers_needed(10, 1, utilisation=1.5), ValueError, "must be in"),
        (lambda: est.servers_needed(10, 1, utilisation=0), ValueError, "utilisation"),
        (lambda: est.servers_needed(float("inf"), 1), ValueError, "finite"),
        (lambda: est.servers_needed("10", 1), TypeError, "must be a number"),
        (lambda: est.servers_needed(10, 1, zones=0), ValueError, "zones"),
        (lambda: est.servers_needed(10, 1, zones=2.0), ValueError, "zones"),
        (lambda: est.human_bytes(-1), ValueError, "non-negative"),
        (lambda: est.human_bytes(float("nan")), ValueError, "non-negative"),
        (lambda: est.human_bytes("10"), TypeError, "must be a number"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_page_quotes_the_numbers_the_demo_prints():
    out = module_output("snippets.common.estimation")
    qps = f"{est.peak_qps(100e6, 10):,.0f} peak QPS"
    embeddings = est.human_bytes(est.storage_bytes(1e9, 256 * 4))
    # Independent arithmetic: 75% of 200 ms, less 40 + 20 + 30 ms of stages.
    ranking = 200 * (1 - 0.25) - (40 + 20 + 30)
    left = f"{ranking:.0f} ms"
    for number in (qps, embeddings, f"25% held back: {left}"):
        assert number in out
    assert_page_quotes(PAGE, qps, embeddings, f"{left} is left for ranking")
