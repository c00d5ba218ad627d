"""Serving arithmetic: FLOPs from published architectures, and the pooled queue."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from snippets.problems import text_to_image_serving as sv


def test_dit_multiply_adds_match_the_papers_gflops():
    # Peebles and Xie (2023) report DiT-XL/2 at 118.6 "Gflops" (256 px) and 524.6
    # (512 px), counting a multiply-add once; patch embedding and the final layer,
    # left out here, account for the last tenth of a GMAC.
    assert sv.DIT_XL_2.macs(256) / 1e9 == pytest.approx(118.6, abs=0.1)
    assert sv.DIT_XL_2.macs(512) / 1e9 == pytest.approx(524.6, abs=0.2)


def test_dit_cost_grows_with_tokens_and_their_square():
    n256, n512 = sv.DIT_XL_2.tokens(256), sv.DIT_XL_2.tokens(512)
    assert (n256, n512) == (256, 1024)
    d, blocks = 1152, 28
    # Linear layers scale with tokens (they cancel in 4x the smaller cost), attention
    # scores with tokens squared, and the per-block modulation not at all.
    extra = sv.DIT_XL_2.macs(512) - 4 * sv.DIT_XL_2.macs(256)
    attention = blocks * 2 * d * (n512**2 - 4 * n256**2)
    modulation = blocks * 6 * d * d * (1 - 4)
    assert extra == pytest.approx(attention + modulation)


def test_pixart_alpha_has_about_the_published_size():
    # PixArt-alpha is reported at 0.6B parameters (Chen et al., 2024); the blocks
    # hold nearly all of them.
    assert 0.55e9 < sv.PIXART_ALPHA.block_weights() < 0.62e9
    assert sv.PIXART_ALPHA.tokens(1024) == 4096


def test_vae_decoder_has_the_stable_diffusion_checkpoints_weight_count():
    # The SD VAE decoder (post-quant conv included) has 49,490,199 parameters.
    _, weights = sv.layer_cost(sv.vae_decoder_layers(64))
    assert weights == 49_490_199


def test_vae_decoder_cost_is_convolutions_plus_one_attention():
    small, _ = sv.layer_cost(sv.vae_decoder_layers(64))
    large, _ = sv.layer_cost(sv.vae_decoder_layers(128))
    # Doubling the side multiplies every conv by 4 and the mid-block attention's
    # scores by 16: the difference is exactly the attention's extra.
    c = 512
    attention_scores = 2 * c * (128**4 - 4 * 64**4)
    assert large - 4 * small == pytest.approx(attention_scores)


def test_text_encoder_is_two_flops_per_weight_per_token_plus_attention():
    macs = sv.text_encoder_macs(sv.T5_XXL, 120)
    assert macs == pytest.approx(sv.T5_XXL.layer_parameters * 120, rel=0.01)
    assert 4.5e9 < sv.T5_XXL.layer_parameters < 4.7e9


def test_image_tflop_doubles_the_denoiser_under_guidance():
    guided = sv.image_tflop(sv.PIXART_ALPHA, 1024, 20, True)
    plain = sv.image_tflop(sv.PIXART_ALPHA, 1024, 20, False)
    assert guided["denoiser"] == pytest.approx(2 * plain["denoiser"])
    assert guided["vae decoder"] == plain["vae decoder"]
    assert guided["total"] == pytest.approx(
        sum(v for k, v in guided.items() if k != "total")
    )
    assert plain["denoiser"] == pytest.approx(
        20 * 2 * sv.PIXART_ALPHA.macs(1024) / 1e12
    )


def erlang_c_from_erlang_b(c: int, a: float) -> float:
    """Independent route: Erlang B by its recursion, then C = B / (1 - rho (1 - B))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho * (1 - b))


@pytest.mark.parametrize(
    ("c", "a"), [(1, 0.7), (2, 1.0), (8, 5.6), (33, 23.1), (64, 60.0)]
)
def test_erlang_c_matches_the_erlang_b_route(c, a):
    assert sv.erlang_c(c, a) == pytest.approx(erlang_c_from_erlang_b(c, a), rel=1e-10)


def test_erlang_c_known_values():
    assert sv.erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: wait with probability rho
    assert sv.erlang_c(2, 1.0) == pytest.approx(1 / 3)


def simulated_wait_quantile(c, utilisation, service, q, n, seed):
    """FCFS M/M/c by simulation: each arrival takes the earliest free server."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(service / (c * utilisation), n))
    services = rng.exponential(service, n)
    free = [0.0] * c
    waits = np.empty(n)
    for i, (t, s) in enumerate(zip(arrivals, services, strict=True)):
        start = max(t, heapq.heappop(free))
        waits[i] = start - t
        heapq.heappush(free, start + s)
    return float(np.quantile(waits[n // 10 :], q))


@pytest.mark.parametrize("c", [1, 8])
def test_wait_quantile_matches_a_simulated_queue(c):
    formula = sv.wait_quantile(c, 0.7, 3.0, q=0.99)
    simulated = simulated_wait_quantile(c, 0.7, 3.0, 0.99, 200_000, seed=c)
    assert simulated == pytest.approx(formula, rel=0.1)


def test_a_large_pool_rarely_waits():
    assert sv.wait_quantile(64, 0.7, 3.0) == 0.0
    assert sv.erlang_c(64, 0.7 * 64) < 0.01
    assert sv.wait_quantile(8, 0.7, 3.0) < sv.wait_quantile(1, 0.7, 3.0)
    # M/M/1: P(W > w) = rho exp(-(1 - rho) w / s): w99 = s ln(rho / 0.01) / (1 - rho).
    assert sv.wait_quantile(1, 0.7, 3.0) == pytest.approx(3.0 * math.log(70) / 0.3)


@pytest.mark.parametrize("quantity", [1.0, 50e3, 50e3 + 1, 123_456.7, 600e3, 2e6])
def test_tiered_cost_matches_a_marginal_rate_integral(quantity):
    tiers = ((50e3, 0.023), (450e3, 0.022), (math.inf, 0.021))
    # Independent: integrate the marginal price over a fine grid of units.
    grid = np.linspace(0, quantity, 200_001)
    mid = (grid[:-1] + grid[1:]) / 2
    rate = np.where(mid < 50e3, 0.023, np.where(mid < 500e3, 0.022, 0.021))
    assert sv.tiered_cost(quantity, tiers) == pytest.approx(
        float((rate * np.diff(grid)).sum()), rel=1e-4
    )


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: sv.PIXART_ALPHA.tokens(1000), ValueError),
        (lambda: sv.PIXART_ALPHA.tokens(0), ValueError),
        (lambda: sv.erlang_c(4, 4.0), ValueError),
        (lambda: sv.erlang_c(0, 0.5), ValueError),
        (lambda: sv.wait_quantile(4, 1.0, 3.0), ValueError),
        (lambda: sv.wait_quantile(4, 0.5, -1.0), ValueError),
        (lambda: sv.text_encoder_macs(sv.T5_XXL, 0), ValueError),
        (lambda: sv.image_tflop(sv.PIXART_ALPHA, 1024, 0, True), ValueError),
        (lambda: sv.vae_decoder_layers(True), ValueError),
        (lambda: sv.tiered_cost(10.0, ((5.0, 1.0),)), ValueError),
        (lambda: sv.tiered_cost(-1.0, ((math.inf, 1.0),)), ValueError),
        (lambda: sv.tiered_cost(1.0, ((0.0, 1.0), (math.inf, 1.0))), ValueError),
    ],
)
def test_bad_input_raises_a_clear_error(call, error):
    with pytest.raises(error):
        call()
