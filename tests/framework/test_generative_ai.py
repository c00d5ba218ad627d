"""Evaluation-set size and cost per task: checked against statsmodels, SciPy,
a published sample size, a simulation and hand computations."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from snippets.concepts.generative_ai import A100_80GB, LLAMA_3_8B, fits_in_memory
from snippets.framework import generative_ai as ga

PAGE = "framework/generative-ai.md"
MODULE = "snippets.framework.generative_ai"


# -- the exact McNemar test --------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(0, 400))
def test_exact_mcnemar_equals_statsmodels_and_scipy(wins, losses):
    ours = ga.mcnemar_exact_p(wins, losses)
    # The concordant cells do not enter the test: any values give the same p.
    table = [[17, wins], [losses, 5]]
    assert ours == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9, abs=1e-15)
    if wins + losses:
        sign_test = stats.binomtest(wins, wins + losses, 0.5).pvalue
        assert ours == pytest.approx(sign_test, rel=1e-9, abs=1e-15)


def test_exact_mcnemar_is_symmetric_and_one_without_disagreement():
    assert ga.mcnemar_exact_p(0, 0) == 1.0
    assert ga.mcnemar_exact_p(14, 8) == ga.mcnemar_exact_p(8, 14)
    # 10 wins and no loss: 2 / 2**10.
    assert ga.mcnemar_exact_p(10, 0) == pytest.approx(2 / 2**10)


# -- Connor's sample size ------------------------------------------------------------


def test_paired_sample_size_matches_a_published_example():
    # Connor (1987), as implemented by the powerandsamplesize.com calculator for the
    # two-sided McNemar z-test: p01 = 0.45, p10 = 0.05, alpha 0.05, power 0.8 -> 23.
    assert ga.paired_sample_size(0.05, 0.45) == 23
    assert ga.paired_sample_size(0.45, 0.05) == 23  # the sign of the gain is irrelevant


def test_paired_sample_size_is_the_formula_written_out():
    p_win, p_loss = 0.05, 0.02
    psi, delta = 0.07, 0.03
    z_a, z_b = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    by_hand = (z_a * math.sqrt(psi) + z_b * math.sqrt(psi - delta**2)) ** 2 / delta**2
    assert ga.paired_sample_size(p_win, p_loss) == math.ceil(by_hand)


@pytest.mark.parametrize(("p_win", "p_loss"), [(0.05, 0.02), (0.15, 0.12)])
def test_the_normal_mcnemar_test_has_the_planned_power_at_connors_size(p_win, p_loss):
    """Connor's formula is for the z-test; a simulation of that test gives ~0.8."""
    n = ga.paired_sample_size(p_win, p_loss)
    rng = np.random.default_rng(11)
    draws = rng.multinomial(n, [p_win, p_loss, 1 - p_win - p_loss], size=20_000)
    wins, losses = draws[:, 0], draws[:, 1]
    z = (wins - losses) / np.sqrt(np.maximum(wins + losses, 1))
    power = np.mean(np.abs(z) > stats.norm.ppf(0.975))
    assert power == pytest.approx(0.8, abs=0.025)


# -- the exact test's power ---------------------------------------------------------


@pytest.mark.parametrize(
    ("p_win", "p_loss", "n"), [(0.05, 0.02, 609), (0.15, 0.12, 500), (0.3, 0.1, 60)]
)
def test_exact_power_agrees_with_a_simulation_scored_by_statsmodels(p_win, p_loss, n):
    rng = np.random.default_rng(5)
    draws = rng.multinomial(n, [p_win, p_loss, 1 - p_win - p_loss], size=20_000)
    pairs, inverse = np.unique(draws[:, :2], axis=0, return_inverse=True)
    p_values = np.array(
        [mcnemar([[0, w], [lo, 0]], exact=True).pvalue for w, lo in pairs]
    )
    simulated = np.mean(p_values[inverse.ravel()] <= 0.05)
    standard_error = math.sqrt(simulated * (1 - simulated) / len(draws))
    assert ga.exact_power(p_win, p_loss, n) == pytest.approx(
        simulated, abs=4 * standard_error + 1e-3
    )


@pytest.mark.parametrize(("share", "n"), [(0.04, 200), (0.1, 500), (0.3, 2000)])
def test_the_exact_test_keeps_its_level_when_there_is_no_difference(share, n):
    assert ga.exact_power(share, share, n) <= 0.05


def test_smallest_detectable_gain_is_where_the_power_crosses_the_target():
    for n, share in ((200, 0.1), (1000, 0.2)):
        gain = ga.smallest_detectable_gain(n, share)
        assert gain is not None and 0 < gain < share

        def power_at(g, n=n, share=share):
            return ga.exact_power((share + g) / 2, (share - g) / 2, n)

        assert power_at(gain) >= 0.8
        assert power_at(gain - 0.002) < 0.8
    # 20 examples with 5% discordant: about one disagreement, nothing is detectable.
    assert ga.smallest_detectable_gain(20, 0.05) is None


def test_simulated_runs_follow_the_cell_probabilities_and_the_seed():
    runs = ga.simulate_runs(0.15, 0.12, 100_000, range(3))
    for wins, losses in runs:
        assert wins / 100_000 == pytest.approx(0.15, abs=0.005)
        assert losses / 100_000 == pytest.approx(0.12, abs=0.005)
    assert ga.simulate_runs(0.05, 0.02, 500, range(4)) == ga.simulate_runs(
        0.05, 0.02, 500, range(4)
    )


# -- cost per task ------------------------------------------------------------------


def test_cost_per_task_equals_a_hand_computation():
    prices = ga.TokenPrices(input=3.0, cached_input=0.3, output=15.0)
    assert ga.cost_per_task(prices, 6100, 300) == pytest.approx(
        (6100 * 3 + 300 * 15) / 1e6
    )
    # 90% of a 2,000-token prefix billed cached: 1,800 cached, 4,300 fresh.
    cached = (4300 * 3 + 1800 * 0.3 + 300 * 15) / 1e6
    assert ga.cost_per_task(prices, 6100, 300, 2000, 0.9) == pytest.approx(cached)
    assert ga.cost_per_task(prices, 6100, 300, 2000, 0.9, calls=5) == pytest.approx(
        5 * cached
    )
    # A cache that always hits a prompt that is all prefix bills only cached input.
    assert ga.cost_per_task(prices, 1000, 0, 1000, 1.0) == pytest.approx(0.0003)


def test_cascade_breaks_even_at_one_minus_the_price_ratio():
    small, large = 0.1, 1.0
    assert ga.cascade_cost(small, large, 0.9) == pytest.approx(large)
    assert ga.cascade_cost(small, large, 0.3) == pytest.approx(0.4)
    assert (
        ga.cascade_cost(small, large, 0.89)
        < large
        < ga.cascade_cost(small, large, 0.91)
    )
    # A check costing 0.05 per task moves the break-even to 1 - 0.15 = 0.85.
    assert (
        ga.cascade_cost(small, large, 0.84, check=0.05)
        < large
        < ga.cascade_cost(small, large, 0.86, check=0.05)
    )


# -- self-hosting ---------------------------------------------------------------------

# Llama 3 8B: 32 layers, 8 KV heads of width 128, fp16: K and V per token in bytes.
KV_BYTES_PER_TOKEN = 2 * 32 * 8 * 128 * 2


def test_max_batch_is_where_the_caches_stop_fitting():
    for context in (512, 4096, 6400, 32_768):
        cap = ga.max_batch(LLAMA_3_8B, A100_80GB, context)
        assert fits_in_memory(LLAMA_3_8B, A100_80GB, context, cap)
        assert not fits_in_memory(LLAMA_3_8B, A100_80GB, context, cap + 1)
    # By hand: 80 GB less 16.06 GB of fp16 weights, over 6,400 x 128 KiB per sequence.
    weights = 8.030e9 * 2
    by_hand = (80e9 - weights) // (6400 * KV_BYTES_PER_TOKEN)
    assert ga.max_batch(LLAMA_3_8B, A100_80GB, 6400) == by_hand == 76


@pytest.mark.parametrize("batch", [1, 16, 76])
def test_decode_share_is_the_memory_bound_written_out(batch):
    """Decode at a 6k context is memory-bound: bytes read per step over bandwidth."""
    prompt, output = 6100, 300
    _, decode = ga.self_hosted_task_seconds(
        LLAMA_3_8B, A100_80GB, prompt, output, batch
    )
    hidden, vocab = 4096, 128_256
    blocks_and_head = LLAMA_3_8B.layer_parameters + vocab * hidden
    # Each step reads the blocks and the output head, one embedding row per
    # sequence, and every sequence's cache including the token being added.
    by_hand = sum(
        (
            (blocks_and_head + batch * hidden) * 2
            + batch * (prompt + i + 1) * KV_BYTES_PER_TOKEN
        )
        / A100_80GB.bandwidth
        for i in range(output - 1)
    )
    assert decode == pytest.approx(by_hand / batch, rel=1e-9)


def test_prefill_is_compute_bound_and_the_cache_skips_the_prefix():
    prompt, prefix = 6100, 2000
    full, _ = ga.self_hosted_task_seconds(LLAMA_3_8B, A100_80GB, prompt, 2, 1)
    # About 2 FLOPs per block weight per token, plus attention over the prompt.
    layer_flops = 2 * LLAMA_3_8B.layer_parameters
    attention = 4 * 32 * 4096 * (prompt + 1) / 2
    rough = prompt * (layer_flops + attention) / A100_80GB.peak_flops
    assert full == pytest.approx(rough, rel=0.01)
    hit, _ = ga.self_hosted_task_seconds(
        LLAMA_3_8B, A100_80GB, prompt, 2, 1, prefix, cache_hit_rate=1.0
    )
    assert hit < full * (prompt - prefix) / prompt * 1.1  # about a third less
    half, _ = ga.self_hosted_task_seconds(
        LLAMA_3_8B, A100_80GB, prompt, 2, 1, prefix, cache_hit_rate=0.5
    )
    assert half == pytest.approx((full + hit) / 2)
    # One output token is the prefill's own: no decode step.
    assert ga.self_hosted_task_seconds(LLAMA_3_8B, A100_80GB, prompt, 1, 4)[1] == 0


# -- bad input ----------------------------------------------------------------------


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="wins"):
        ga.mcnemar_exact_p(-1, 3)
    with pytest.raises(TypeError, match="integer"):
        ga.mcnemar_exact_p(2.5, 3)
    with pytest.raises(ValueError, match="no difference"):
        ga.paired_sample_size(0.1, 0.1)
    with pytest.raises(ValueError, match="at most 1"):
        ga.paired_sample_size(0.7, 0.5)
    with pytest.raises(ValueError, match="alpha and power"):
        ga.paired_sample_size(0.1, 0.05, alpha=1.5)
    with pytest.raises(ValueError, match="examples"):
        ga.exact_power(0.1, 0.05, 0)
    prices = ga.TokenPrices(3.0, 0.3, 15.0)
    with pytest.raises(ValueError, match="prefix_tokens"):
        ga.cost_per_task(prices, 100, 10, prefix_tokens=200)
    with pytest.raises(ValueError, match="cache_hit_rate"):
        ga.cost_per_task(prices, 100, 10, 50, cache_hit_rate=1.5)
    with pytest.raises(ValueError, match="non-negative"):
        ga.cost_per_task(ga.TokenPrices(-1.0, 0.3, 15.0), 100, 10)
    with pytest.raises(TypeError, match="TokenPrices"):
        ga.cost_per_task({"input": 3}, 100, 10)
    with pytest.raises(ValueError, match="calls"):
        ga.cost_per_task(prices, 100, 10, calls=0)
    with pytest.raises(ValueError, match="escalated"):
        ga.cascade_cost(0.1, 1.0, 1.2)
    with pytest.raises(ValueError, match="non-negative"):
        ga.cascade_cost(0.1, 1.0, 0.5, check=-0.01)
    with pytest.raises(ValueError, match="prefix_tokens"):
        ga.self_hosted_task_seconds(LLAMA_3_8B, A100_80GB, 100, 10, 1, 100)
    with pytest.raises(ValueError, match="batch"):
        ga.self_hosted_task_seconds(LLAMA_3_8B, A100_80GB, 100, 10, 0)
    with pytest.raises(TypeError, match="context"):
        ga.max_batch(LLAMA_3_8B, A100_80GB, 6400.0)


# -- the page quotes the program ----------------------------------------------------


def _line(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(start))


def test_page_quotes_the_evaluation_size_numbers():
    out = module_output(MODULE)
    tweak = _line(out, "prompt tweak").split()
    different = _line(out, "different model").split()
    # First table: ... examples, exact power.
    assert_page_quotes(PAGE, tweak[-2], tweak[-1], different[-2], different[-1])
    unpaired = re.search(r"(\d\.\d+) vs (\d\.\d+)\): ([\d,]+) examples per system", out)
    assert_page_quotes(PAGE, unpaired[3], f"{unpaired[1]} against {unpaired[2]}")
    # Second table: significant runs and exact power at 500 examples.
    runs = [
        line
        for line in out.splitlines()
        if line.startswith(("prompt tweak", "different model"))
    ][2:]
    for line in runs:
        significant = re.search(r"(\d+ of 10)", line)[1]
        assert_page_quotes(PAGE, significant, line.split()[-1])
    golden = re.search(r"gain (\+[\d.]+) points, exact McNemar p = ([\d.]+)", out)
    assert_page_quotes(PAGE, golden[1], f"p = {golden[2]}")
    # The 200-example set at its own discordance, and 1,000 examples at 0.10.
    own = re.search(
        r"discordant share (\d\.\d+), the smallest .* is ([\d.]+) points", out
    )
    assert own[1] == f"{22 / 200:.2f}"
    assert_page_quotes(
        PAGE, f"discordant share of {own[1]}", f"{own[2]} points or more"
    )
    assert_page_quotes(PAGE, f"discordance ({own[1]})", f"about {own[2]} points")
    row_1000 = _line(out, "1,000").split()
    assert_page_quotes(PAGE, f"{row_1000[2]} points")


def test_page_quotes_the_cost_numbers():
    out = module_output(MODULE)
    plain = re.search(r"no cache\s+(\$[\d.]+)\s+\(input (\d+%)", out)
    cached = re.search(
        r"90% hit (\$[\d.]+)\s+\(-(\d+%)\); per million tasks (\$[\d,]+) vs (\$[\d,]+)",
        out,
    )
    agent = re.search(r"agent, 5 such calls\s+(\$[\d.]+)", out)
    assert_page_quotes(PAGE, plain[1], plain[2], cached[1], cached[2])
    assert_page_quotes(PAGE, cached[3], cached[4], agent[1])
    share = {
        escalated: re.search(rf"escalated {escalated}: .*, (\d+%) of the large", out)[1]
        for escalated in ("30%", "90%")
    }
    assert_page_quotes(
        PAGE,
        f"{share['30%']} of the large model alone when 30% escalate",
        f"{share['90%']} when 90% do",
    )
    kv = re.search(r"at ([\d,]+) tokens: ([\d.]+ GB); at most (\d+) fit", out)
    assert_page_quotes(PAGE, f"At {kv[1]} tokens", kv[2], f"at most {kv[3]} fit")
    prefill = re.search(r"prefill ([\d.]+ s) per task", out)[1]
    assert_page_quotes(PAGE, f"takes {prefill}")
    rows = re.findall(r"^ +(\d+) +([\d,]+) +([\d.]+) +([\d.]+) +(\$[\d.]+)$", out, re.M)
    by_batch = {batch: rest for batch, *rest in rows}
    tokens, decode, _, dollars = by_batch[kv[3]]
    assert_page_quotes(
        PAGE, f"batch of {kv[3]}", f"({decode} s,", f"at {tokens} tokens/s"
    )
    assert_page_quotes(PAGE, dollars)
    assert_page_quotes(PAGE, f"{by_batch['1'][3]} at batch 1")
    even = re.search(
        r"API price \((\$[\d.]+) per task\):\n.*bills (\$\d+) a day, the API price of"
        r" ([\d,]+) tasks; it can serve ([\d,]+) a day,\n.*above (\d+%) utilisation",
        out,
    )
    assert_page_quotes(PAGE, f"({even[1]} per task)", f"{even[2]} a day", even[3])
    assert_page_quotes(PAGE, even[4], f"above {even[5]} utilisation")
