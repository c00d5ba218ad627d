"""The funnel calculator: arithmetic, the design claim, and clear errors."""

from __future__ import annotations

import math

import pytest
from guide import assert_page_quotes, module_output

from snippets.common.estimation import peak_qps
from snippets.framework import high_level_architecture as hla

PAGE = "framework/high-level-architecture.md"


def test_compute_ms_is_flops_over_throughput():
    assert hla.compute_ms(1e13, 1e13) == pytest.approx(1000)
    assert hla.compute_ms(5e8, 1e13) == pytest.approx(0.05)


def test_accelerators_round_up():
    assert hla.accelerators_needed(1e9, 10, 1e10) == 1
    assert hla.accelerators_needed(1e9, 11, 1e10) == 2


def test_single_stage_misses_the_budget_by_orders_of_magnitude():
    single_ms = hla.compute_ms(hla.CORPUS * hla.RANKER_FLOPS, hla.ACCELERATOR_FLOPS)
    assert single_ms / hla.BUDGET_MS > 1_000


def test_funnel_fits_every_stage_budget_and_the_total():
    costs = hla.funnel_costs(hla.FUNNEL, hla.ACCELERATOR_FLOPS)
    assert all(cost.fits for cost in costs)
    assert sum(s.budget_ms for s in hla.FUNNEL) <= hla.BUDGET_MS
    # Compute is a small share of each budget: the rest pays for memory and network.
    assert sum(c.compute_ms for c in costs) < hla.BUDGET_MS / 10


def test_funnel_narrows_and_spends_most_compute_on_few_items():
    items = [s.items_scored for s in hla.FUNNEL]
    assert items == sorted(items, reverse=True)
    heavy = next(s for s in hla.FUNNEL if s.name == "heavy ranker")
    assert heavy.items_scored < items[0] / 1000
    assert heavy.flops > 0.5 * sum(s.flops for s in hla.FUNNEL)


def test_funnel_must_narrow():
    wide = [hla.Stage("a", 10, 1, 1), hla.Stage("b", 100, 1, 1)]
    with pytest.raises(ValueError, match="must narrow: b scores 100"):
        hla.funnel_costs(wide, 1e9)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: hla.Stage("x", 0, 1, 1), ValueError, "x: items_scored"),
        (lambda: hla.Stage("x", 10, -1, 1), ValueError, "flops_per_item"),
        (lambda: hla.Stage("x", 10, 1, math.nan), ValueError, "budget_ms"),
        (lambda: hla.Stage("x", "10", 1, 1), TypeError, "must be a number"),
        (lambda: hla.compute_ms(1e9, 0), ValueError, "flops_per_second"),
        (lambda: hla.accelerators_needed(1e9, -3, 1e12), ValueError, "qps"),
        (lambda: hla.funnel_costs([], 1e12), ValueError, "stages is empty"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.high_level_architecture")
    qps = peak_qps(daily_active_users=100e6, requests_per_user_per_day=10)
    single_flops = hla.CORPUS * hla.RANKER_FLOPS
    single_ms = hla.compute_ms(single_flops, hla.ACCELERATOR_FLOPS)
    funnel_flops = sum(s.flops for s in hla.FUNNEL)
    costs = hla.funnel_costs(hla.FUNNEL, hla.ACCELERATOR_FLOPS)
    quoted = [
        f"{qps:,.0f}",
        f"{single_ms:,.0f} ms",
        f"{single_ms / hla.BUDGET_MS:,.0f}x",
        f"{hla.accelerators_needed(single_flops, qps, hla.ACCELERATOR_FLOPS):,}",
        f"{hla.accelerators_needed(funnel_flops, qps, hla.ACCELERATOR_FLOPS):,}",
        f"{single_flops / funnel_flops:.1e}x",
        f"{sum(c.compute_ms for c in costs):.4f}",
        f"{hla.FUNNEL[0].items_scored:,.0f}",
    ]
    for number in quoted:
        assert number in out, number
    assert_page_quotes(PAGE, *quoted)
