"""Text-to-image: the estimate, the miniature's claims, and the page's numbers."""

from __future__ import annotations

import math
import re

import pytest
from guide import assert_page_quotes, module_output, paired_differences

from snippets.concepts.generative_ai import A100_80GB, H100_SXM, L4
from snippets.framework.cost import CPU, GPU, TRAINER
from snippets.problems import text_to_image as t2i
from snippets.problems.text_to_image_serving import PIXART_ALPHA, image_tflop

PAGE = "problems/text-to-image.md"
MODULE = "snippets.problems.text_to_image"
NUMBER = r"[+-]?\d[\d,]*\.?\d*"


def output() -> str:
    return module_output(MODULE)


def after(label: str) -> str:
    """The first number printed after `label` on its line."""
    match = re.search(re.escape(label) + rf"\D*?({NUMBER})", output())
    assert match, label
    return match[1]


def table(header: str, rows: int) -> list[list[str]]:
    lines = output().split(header, 1)[1].splitlines()[1 : rows + 1]
    return [line.split() for line in lines]


def steps_table() -> dict[int, list[float]]:
    rows = table("steps        DDPM", len(t2i.STEP_COUNTS))
    return {int(r[0]): [float(v) for v in r[1:]] for r in rows}


def guidance_table() -> dict[float, list[float]]:
    rows = table("scale  adhere", len(t2i.SCALES))
    return {float(r[0]): [float(v) for v in r[1:]] for r in rows}


def distillation_table() -> dict[str, list[str]]:
    rows = table("method            calls", 4)
    return {" ".join(r[:-3]): r[-3:] for r in rows}  # "method calls": FD, prec, cov


def bias_row() -> list[str]:
    return output().split("FD x1000          ", 1)[1].splitlines()[0].split()


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def signed(value: float, digits: int) -> str:
    """A paired difference as the page writes it: no sign, the magnitude only."""
    return f"{abs(value):.{digits}f}"


def test_every_table_parses():
    assert set(steps_table()) == set(t2i.STEP_COUNTS)
    assert set(guidance_table()) == set(t2i.SCALES)
    assert len(distillation_table()) == 4
    assert len(bias_row()) == len(t2i.BIAS_SIZES)
    assert len(paired_differences(output())) == sum(len(c[3]) for c in t2i.COMPARISONS)


# --- the estimate ------------------------------------------------------------------


def test_traffic_is_users_times_prompts_with_the_peak():
    assert after("requests a day") == "10,000,000"
    assert after("images a day, 4 a request") == "40,000,000"
    peak = 2e6 * 5 / 86_400 * 3
    assert after("peak requests per second, 3x mean") == f"{peak:,.0f}"
    assert after("peak images per second") == f"{4 * peak:,.0f}"


def test_gpu_seconds_and_prices_follow_from_flops_and_the_price_list():
    est = t2i.estimate()
    prices = {  # $ an hour per GPU, AWS on demand, us-east-1, 2026-01-19
        "L4": GPU.dollars_per_hour,
        "A100": TRAINER.dollars_per_hour / 8,
        "H100": 55.04 / 8,  # p5.48xlarge
    }
    peaks = {"L4": L4.peak_flops, "A100": 312e12, "H100": H100_SXM.peak_flops}
    assert set(est["table"]) == {(r, g) for r in t2i.RECIPES for g in prices}
    for (recipe, gpu), row in est["table"].items():
        steps, guided = t2i.RECIPES[recipe]
        tflop = image_tflop(PIXART_ALPHA, 1024, steps, guided)["total"]
        seconds = tflop * 1e12 / (peaks[gpu] * 0.4)
        assert row["s_per_image"] == pytest.approx(seconds)
        assert row["dollars_per_1k"] == pytest.approx(seconds * prices[gpu] / 3.6)
    chosen = est["table"]["4 steps, distilled", "L4"]
    assert est["gpus_at_peak"] == math.ceil(
        est["peak_images"] * chosen["s_per_image"] / 0.7
    )


def test_latency_budget_adds_up_and_the_pool_is_the_smallest_that_fits():
    est = t2i.estimate()
    assert sum(est["stages_ms"].values()) + est["headroom_ms"] == est["budget_ms"]
    assert est["headroom_ms"] > 0.2 * est["budget_ms"]
    service = est["chosen"]["s_per_request"]
    pool = t2i.smallest_pool(0.7, service, 0.4)
    from snippets.problems.text_to_image_serving import wait_quantile

    assert (
        wait_quantile(pool, 0.7, service) <= 0.4 < wait_quantile(pool - 1, 0.7, service)
    )


def test_the_priced_a100_is_the_40gb_part():
    ridge = t2i.estimate()["ridge"]
    assert ridge["A100"] == pytest.approx(312e12 / 1.555e12)  # datasheet, 40GB SXM
    assert ridge["A100"] > A100_80GB.peak_flops / A100_80GB.bandwidth


def test_the_bill_prices_every_stage_from_list_prices():
    est = t2i.estimate()
    bill, month = est["bill"], 730 / 24

    def cdn(gb):  # CloudFront, United States, written out tier by tier
        edges = [0, 10e3, 50e3, 150e3, 500e3, 1_024e3, 5_024e3, math.inf]
        rates = [0.085, 0.080, 0.060, 0.040, 0.030, 0.025, 0.020]
        return sum(
            max(0.0, min(gb, hi) - lo) * r
            for lo, hi, r in zip(edges[:-1], edges[1:], rates, strict=True)
        )

    def s3(gb):  # S3 Standard: 50 TB, 450 TB, the rest
        return (
            min(gb, 50e3) * 0.023
            + max(0.0, min(gb, 500e3) - 50e3) * 0.022
            + max(0.0, gb - 500e3) * 0.021
        )

    images = 40e6
    delivered = images * 300e3 / 1e9  # GB a day
    assert bill["CDN egress"] == pytest.approx(cdn(delivered * month) / month)
    flagged = 10e6 * 0.03 * 4 * 300e3  # bytes a day of kept images
    assert flagged / 1e9 == pytest.approx(360)  # the review's 360 GB a day
    logs = 10e6 * 500 + images * 200 + 10e6 * 200 + 10e6 * 0.03 * 1_000
    stored = (images * 30 * 300e3 + 90 * (flagged + logs)) / 1e9
    assert bill["S3 storage"] == pytest.approx(s3(stored) / month)
    core_hours = (10e6 * 0.02 + images * 0.1) / 3600 / 0.7
    assert bill["CPU cores"] == pytest.approx(core_hours * CPU.dollars_per_hour / 16)
    gpu = bill["student L4s"]
    assert gpu == pytest.approx(est["dollars_per_day"])
    assert bill["classifier L4s"] == pytest.approx(
        gpu * 0.06 / est["chosen"]["s_per_request"]
    )
    h100 = est["table"]["20 steps, guided", "H100"]["dollars_per_1k"]
    extra = images * 0.1 * (h100 - est["chosen"]["dollars_per_1k"]) / 0.7 / 1e3
    assert est["quality_extra"] == pytest.approx(extra)
    assert gpu / sum(bill.values()) > 0.8  # the GPUs are most of the bill


def test_distillation_shifts_the_cost_to_the_decoder():
    recipes = t2i.estimate()["recipes"]
    share = {n: r["vae decoder"] / r["total"] for n, r in recipes.items()}
    assert share["4 steps, distilled"] > 0.25 > 10 * share["50 steps, guided"]


def test_page_quotes_the_estimate():
    est = t2i.estimate()
    shown = [  # the rows of the page's recipe table
        ("50 steps, guided", "L4"),
        ("20 steps, guided", "L4"),
        ("20 steps, guided", "A100"),
        ("20 steps, guided", "H100"),
        ("4 steps, distilled", "L4"),
        ("4 steps, distilled", "A100"),
    ]
    rows = [
        f"{est['table'][key][column]:.2f}"
        for key in shown
        for column in ("s_per_image", "s_per_request")
    ]
    prices = [
        f"{est['table'][key]['dollars_per_1k']:.3f}"
        for key in shown
        if est["table"][key]["dollars_per_1k"] is not None
    ]
    recipes = est["recipes"]
    shares = [
        f"{recipes[name][stage] / recipes[name]['total']:.1%}"
        for name, stage in (
            ("4 steps, distilled", "vae decoder"),
            ("50 steps, guided", "vae decoder"),
            ("4 steps, distilled", "text encoder"),
        )
    ]
    pool = t2i.smallest_pool(est["busy"], est["chosen"]["s_per_request"], 0.4)
    assert_page_quotes(
        PAGE,
        f"{est['requests_per_day']:,.0f}",
        f"{est['images_per_day']:,.0f}",
        f"{est['peak_requests']:,.0f}",
        f"{est['peak_images']:,.0f}",
        f"{est['block_weights'] / 1e9:.2f}B",
        f"{est['tokens']:,}",
        f"{est['pass_tflop']:.2f} TFLOP",
        f"{est['flop_per_weight_byte']:,.0f}",
        *[f"{ridge:.0f}" for ridge in est["ridge"].values()],
        f"{est['dit_256_gmac']:.1f} GMAC",
        f"{est['vae_weights'] / 1e6:.2f}M",
        f"{est['vae_tflop']:.2f} TFLOP",
        f"{est['t5_weights'] / 1e9:.2f}B",
        f"{est['text_tflop']:.2f} TFLOP",
        f"{est['t5_flop_per_byte']:.0f} FLOP",
        f"{sum(est['weights_gb'].values()):.1f} GB",
        *rows,
        *prices,
        *[f"{r['total']:.1f}" for r in recipes.values()],
        *shares,
        f"{est['gpus_at_peak']:,} L4s",
        f"${est['dollars_per_1k_busy']:.3f}",
        f"${est['dollars_per_request']:.5f}",
        f"${est['dollars_per_day']:,.0f}",
        *[f"{w:.2f} s" for w in est["waits"].values()],
        f"{pool} GPUs",
        f"{est['headroom_ms']:,.0f} ms",
        *[f"{ms:,} ms" for ms in est["stages_ms"].values()],
        est["gallery"],
        est["logs_total"],
        est["flagged_images"],
        est["flagged_kept"],
        f"{est['activations_gb']:.1f} GB",
        f"${sum(est['bill'].values()):,.0f}",
        f"{est['bill']['student L4s'] / sum(est['bill'].values()):.1%}",
        *[f"${est['bill'][k]:,.0f}" for k in est["bill"]],
        f"{est['cores_at_peak']:,}",
        f"{est['egress_tb']:.0f} TB",
        f"${est['quality_extra']:,.0f}",
        f"{est['table']['20 steps, guided', 'A100']['s_per_image']:.2f} s",
        f"${est['table']['4 steps, distilled', 'H100']['dollars_per_1k']:.3f}",
    )
    for value in (*rows, *prices, f"${est['dollars_per_day']:,.0f}"):
        assert value in output(), value


# --- the miniature -----------------------------------------------------------------


def test_ddim_beats_ddpm_at_16_steps_for_both_denoisers():
    for model in ("learned", "exact"):
        _, _, high, tie = diff(f"DDIM minus DDPM, {model}, 16 steps", "FD x1000")
        assert high < 0 and not tie, model
    rows = steps_table()
    assert rows[1][0] == rows[1][1] and rows[1][2] == rows[1][3]  # one step: the same
    for column in range(4):  # more steps, lower FD, for every sampler and denoiser
        fds = [rows[s][column] for s in t2i.STEP_COUNTS]
        assert fds == sorted(fds, reverse=True), column


def test_more_steps_do_not_remove_the_learned_models_error():
    rows = steps_table()  # columns: FD x4, then precision learned DDIM, exact DDIM
    assert rows[64][4] <= rows[16][4] < rows[64][5] - 0.02


def test_model_error_is_seen_by_precision_and_adherence_not_by_fd():
    fd = diff("learned minus exact, DDIM 64 steps", "FD x1000")
    assert fd[3]  # a tie
    for metric in ("precision", "adherence"):
        _, _, high, tie = diff("learned minus exact, DDIM 64 steps", metric)
        assert high < 0 and not tie, metric
    sampler = diff("exact DDIM, 16 minus 64 steps", "FD x1000")
    assert sampler[1] > 0


def test_guidance_trades_coverage_for_adherence_even_with_the_exact_model():
    for model in ("learned", "exact"):
        block = f"scale 1.5 minus 1, {model}"
        assert diff(block, "adherence")[1] > 0
        assert diff(block, "coverage")[2] < 0
    assert diff("scale 1.5 minus 1, learned", "precision")[1] > 0
    assert diff("scale 1.5 minus 1, exact", "precision")[3]
    assert diff("scale 3 minus 2, learned", "precision")[2] < 0
    assert diff("scale 3 minus 2, exact", "precision")[3]
    rows = guidance_table()
    for column in (0, 4):  # adherence rises with the scale, learned and exact
        values = [rows[s][column] for s in t2i.SCALES]
        assert values == sorted(values), column


def test_the_student_ties_its_teacher_and_beats_few_step_ddim():
    for metric in ("FD x1000", "precision"):
        assert diff("student minus teacher", metric)[3], metric
    assert diff("student minus DDIM, 4 calls", "FD x1000")[2] < 0


def test_fd_of_real_samples_falls_with_the_sample_size():
    values = [float(v) for v in bias_row()]
    assert values == sorted(values, reverse=True)
    assert values[0] > 10 * values[-1]


def test_page_quotes_the_miniature():
    rows, guidance, distil = steps_table(), guidance_table(), distillation_table()
    learned_precision = [f"{rows[steps][4]:.3f}" for steps in (16, 64)]
    real = re.search(
        r"precision (\S+), coverage (\S+), adherence (\S+)\.", output()
    ).groups()
    quoted = [
        *real,
        f"{rows[1][2]:.1f}",
        f"{rows[16][1]:.1f}",
        f"{rows[64][1]:.1f}",
        *learned_precision,
        bias_row()[0],
        bias_row()[1],
        bias_row()[2],
        bias_row()[3],
        f"{guidance[3.0][0]:.3f}",
        f"{guidance[3.0][1]:.3f}",
        distil["student 1"][1],
        distil[f"teacher (DDIM) {t2i.GUIDED_STEPS}"][1],
    ]
    for block, label, digits in (
        ("DDIM minus DDPM, learned, 16 steps", "FD x1000", 1),
        ("DDIM minus DDPM, exact, 16 steps", "FD x1000", 1),
        ("exact DDIM, 16 minus 64 steps", "FD x1000", 1),
        ("learned minus exact, DDIM 64 steps", "FD x1000", 1),
        ("learned minus exact, DDIM 64 steps", "precision", 3),
        ("learned minus exact, DDIM 64 steps", "adherence", 3),
        ("scale 1.5 minus 1, learned", "adherence", 3),
        ("scale 1.5 minus 1, learned", "coverage", 3),
        ("scale 1.5 minus 1, learned", "precision", 3),
        ("scale 1.5 minus 1, exact", "adherence", 3),
        ("scale 1.5 minus 1, exact", "coverage", 3),
        ("scale 3 minus 2, learned", "precision", 3),
        ("student minus teacher", "FD x1000", 1),
        ("student minus teacher", "precision", 3),
        ("student minus DDIM, 4 calls", "FD x1000", 1),
    ):
        quoted.append(signed(diff(block, label)[0], digits))
    assert_page_quotes(PAGE, *quoted)
