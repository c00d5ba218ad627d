"""LLM evaluation platform miniature: its claims, its estimate, the page's numbers."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, paired_differences

from snippets.common import estimation
from snippets.concepts.generative_ai import A100_80GB, LLAMA_3_70B
from snippets.framework.generative_ai import kv_cache_bytes
from snippets.problems import llm_evaluation as le

PAGE = "problems/llm-evaluation.md"
MODULE = "snippets.problems.llm_evaluation"
N = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def section(start: str, end: str) -> str:
    return output().split(start, 1)[1].split(end, 1)[0]


def estimate_rows() -> dict[str, str]:
    """Back-of-envelope lines: label -> value as printed."""
    rows = {}
    for line in section("Back-of-envelope", "\n\n").splitlines()[1:]:
        match = re.match(r"^\s+(.+?)\s{2,}(\S.*)$", line)
        if match:
            rows[match[1]] = match[2]
    return rows


def graders() -> dict[str, dict[str, float]]:
    keys = ("exact", "offset", "pearson", "linear", "quadratic", "low", "high")
    rows = {}
    for line in section("grader ", "judge, lenient minus").splitlines()[1:]:
        match = re.match(rf"^(.+?)\s+((?:{N}\s+){{5}})\[({N}), ({N})\]$", line)
        assert match, line
        values = [*map(float, match[2].split()), float(match[3]), float(match[4])]
        rows[match[1].strip()] = dict(zip(keys, values, strict=True))
    return rows


def interval_lines(text: str) -> dict[str, tuple[float, float, float]]:
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^\s*(.+?)\s+({N}) \[({N}), ({N})\]", line)
        if match:
            found[match[1]] = tuple(map(float, match.group(2, 3, 4)))
    return found


def lenient_minus_judge() -> dict[str, tuple[float, float, float]]:
    return interval_lines(section("lenient minus judge", "Quadratic kappa per"))


def per_capability() -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    rows = {}
    for line in section("\ncapability ", "\n\n").splitlines()[1:]:
        values = [float(x) for x in re.findall(N, line)]
        assert len(values) == 6, line
        rows[line[:14].strip()] = (tuple(values[:3]), tuple(values[3:]))
    return rows


def pairwise() -> dict[str, tuple[float, float, float]]:
    rows = {}
    for line in section("Pairwise judge", "\n\n").splitlines()[1:]:
        match = re.match(rf"^\s+(.+?)\s+({N})\s+({N})-({N})$", line)
        if match:
            rows[match[1]] = tuple(map(float, match.group(2, 3, 4)))
    return rows


def bootstrap_block() -> str:
    return section("B minus A in mean grade", "\n\n")


def bootstrap_rows() -> dict[str, list[tuple[float, float, float]]]:
    rows = {}
    for label in ("gain found (low > 0)", "interval covers the truth"):
        line = next(ln for ln in bootstrap_block().splitlines() if label in ln)
        values = [float(x) for x in re.findall(r"\d+\.\d+", line)]
        rows[label] = [tuple(values[:3]), tuple(values[3:])]
    line = next(ln for ln in bootstrap_block().splitlines() if "mean interval" in ln)
    rows["width"] = [tuple(float(x) for x in re.findall(r"\d+\.\d+", line))]
    return rows


def gates() -> dict[tuple[int, str], list[tuple[float, float, float]]]:
    rows = {}
    for line in section("prompts/cap", "'signif. worse' blocks").splitlines()[1:]:
        match = re.match(r"^\s*(\d+) (.+?)\s{2,}(.*)$", line)
        values = [float(x) for x in re.findall(r"\d+\.\d+", match[3])]
        cells = [tuple(values[i : i + 3]) for i in range(0, 9, 3)]
        rows[int(match[1]), match[2].strip()] = cells
    return rows


def diffs():
    return paired_differences(output())


def test_everything_parses():
    assert set(graders()) == {
        "second human rater",
        "judge",
        "judge, lenient",
        "remapped on held-out labels",
        "judge, noisy",
    }
    assert set(per_capability()) == set(le.world.CAPABILITIES)
    assert len(pairwise()) == 10
    assert len(gates()) == 5
    assert len(diffs()) == 8
    assert len(estimate_rows()) > 28


def test_judge_is_near_the_human_ceiling_and_every_interval_holds_its_value():
    rows = graders()
    for row in rows.values():
        assert row["low"] <= row["quadratic"] <= row["high"]
        assert row["quadratic"] <= row["pearson"] + 1e-9  # kappa_q <= r, always
    assert rows["judge"]["high"] > rows["second human rater"]["low"]


def test_an_offset_costs_kappa_far_more_than_correlation():
    rows, delta = graders(), lenient_minus_judge()
    assert rows["judge, lenient"]["offset"] > 0.5
    r, quad = delta["Pearson r"], delta["quadratic kappa"]
    assert quad[2] < 0 and r[2] < 0  # both fall, intervals below zero
    assert quad[2] < r[1]  # kappa's whole interval below correlation's
    assert rows["judge, lenient"]["exact"] < rows["judge"]["exact"] * 0.7


def test_a_remap_repairs_an_offset_and_nothing_repairs_noise():
    rows = graders()
    remapped, lenient = rows["remapped on held-out labels"], rows["judge, lenient"]
    assert remapped["low"] > lenient["high"]  # better, beyond the noise
    assert remapped["high"] < rows["judge"]["low"]  # not all of it: merged grades
    noisy = rows["judge, noisy"]
    assert noisy["pearson"] < lenient["pearson"] - 0.05  # correlation sees noise
    assert abs(noisy["offset"]) < 0.1


def test_the_judge_falls_short_on_reasoning_only():
    for name, (judge, human) in per_capability().items():
        if name == "reasoning":
            assert judge[2] < human[1]  # intervals apart
        else:
            assert judge[2] > human[1] and human[2] > judge[1], name  # overlap


def test_position_bias_is_found_by_the_swap_and_averaged_out():
    rows = pairwise()
    truth = rows["true share of prompts where B is better"][0]
    assert truth > 0.55
    assert rows["calls won by the first slot"][1] > 0.55
    assert rows["judge asked once, B in the second slot"][2] < 0.5 < truth
    assert rows["judge asked once, B in the first slot"][0] > truth
    assert rows["both orders, a flip counted as a tie"][1] > 0.5
    d = diffs()
    block = "estimate minus true share where B is better"
    second = d[block, "judge asked once, B in the second slot"]
    both = d[block, "both orders, a flip counted as a tie"]
    assert second[2] < both[1] < both[2] < 0  # both orders far closer, still low
    assert abs(both[0]) < abs(second[0]) / 3


def test_verbosity_ablation_and_length_control():
    d = diffs()
    block = "the padded copy's win rate minus 0.5"
    assert d[block, "judge, both orders"][1] > 0.05
    assert d[block, "no verbosity bias"][3]  # a tie
    assert d[block, "length-controlled (logistic fit)"][3]


def test_paired_bootstrap_is_narrower_finds_the_gain_and_keeps_coverage():
    rows = bootstrap_rows()
    paired_width, unpaired_width = rows["width"][0]
    assert unpaired_width > 1.7 * paired_width
    found = rows["gain found (low > 0)"]
    assert found[0][1] > found[1][2]  # paired finds it more often, beyond noise
    cover = rows["interval covers the truth"]
    assert cover[0][1] <= 0.95 <= cover[0][2]  # paired: nominal coverage
    assert cover[1][0] >= 0.98  # unpaired: over-covers, wasting width
    truth = float(re.search(r"true gain (\+\d\.\d+)", bootstrap_block())[1])
    effect = le.world.effect_for_grade_change(le.BOOT_GAIN)
    assert truth == pytest.approx(
        le.world.expected_grade(effect) - le.world.expected_grade(0.0), abs=5e-4
    )


def test_gates_fail_open_or_closed_as_the_page_says():
    g = gates()  # columns: any mean lower, signif. worse, non-inferior
    for n in (100, 500):
        assert g[n, "no change"][0][0] < 0.1  # point estimates block nearly all
        assert g[n, "no change"][1][0] > 0.8
    assert g[100, "reasoning -1 margin"][1][1] > 0.3  # signif. worse fails open
    assert g[100, "no change"][2][0] < 0.1  # non-inferiority fails closed
    assert g[500, "no change"][2][1] > 0.85
    low, high = g[500, "reasoning -1 margin"][2][1:]
    assert low <= 0.05 <= high  # passes a regression at the margin 5% of the time
    half = g[500, "reasoning -1/2 margin"][2][0]
    assert g[500, "reasoning -1 margin"][2][0] < half < g[500, "no change"][2][0]
    rates = re.findall(r"k=(\d+): (\d\.\d+)", output())
    for k, rate in rates:
        assert float(rate) == pytest.approx(1 - 0.975 ** int(k), abs=0.005)
    blocked = 1 - g[500, "no change"][1][0]
    assert blocked == pytest.approx(1 - 0.975**5, abs=0.06)


def test_the_estimate_recomputed_by_hand():
    e = le.estimate()
    # $3 / $0.30 / $15 per million: 3,500 in (1,200 cached 90%), 150 out.
    cached = 1_200 * 0.9
    pairwise = ((3_500 - cached) * 3.0 + cached * 0.3 + 150 * 15.0) / 1e6
    assert e["pairwise"] == pytest.approx(pairwise)
    assert e["change pairwise"] == pytest.approx(3_000 * pairwise)
    assert e["label hours"] == 12 * 5 * 100 * 2 * 3 / 60
    assert e["headroom min"] == pytest.approx((1_800 - 1_230) / 60)
    # A dozen nightly A/A sweeps: a suite of answers and its pairwise judging each.
    sweep = 2_500 * e["generate"] + 3_000 * pairwise
    assert e["sweeps per day"] == pytest.approx(12 * sweep)
    assert e["sweep judging per day"] == pytest.approx(12 * 3_000 * pairwise)
    online = 100_000 * e["pointwise"]
    assert e["api judge per day"] == pytest.approx(
        (40 + 12) * 3_000 * pairwise + online
    )
    # Both token streams of one run: 2,500 x 6,400 in 10 min; 3,000 x 3,650 in 8.
    assert e["tokens per minute generate"] == pytest.approx(2_500 * 6_400 / 10)
    assert e["tokens per minute"] == pytest.approx(3_000 * 3_650 / 8)
    # 40 changes in 8 working hours, the peak hour twice that mean; stages in
    # progress at once are Poisson (M/G/inf): size for the 95th percentile.
    assert e["peak runs per hour"] == pytest.approx(40 / 8 * 2)
    for stage, minutes in (("generate", 10), ("judge", 8)):
        mean = 10 * minutes / 60
        assert e[f"{stage} stages at once"] == pytest.approx(mean)
        cdf, k = math.exp(-mean), 0
        while cdf < 0.95:
            k += 1
            cdf += math.exp(-mean) * mean**k / math.factorial(k)
        assert e[f"{stage} stages sized"] == k
    assert e["judge stages sized"] > 1  # at the peak, runs overlap
    assert e["peak tokens per minute judge"] == pytest.approx(
        e["judge stages sized"] * e["tokens per minute"]
    )
    # Prefill of one pairwise call dominates: at least 2 FLOPs per weight per
    # uncached prompt token, on 4 GPUs' peak.
    fresh = 3_500 - cached
    floor = 2 * LLAMA_3_70B.parameters * fresh / A100_80GB.peak_flops
    assert floor < e["gpu s pair"] < 1.5 * floor
    burst = 3_000 / 480 * e["gpu s pair"] / 4
    assert e["nodes"] == math.ceil(burst / 0.5)
    assert e["peak nodes"] == math.ceil(e["judge stages sized"] * burst / 0.5)
    assert e["fleet per day"] == pytest.approx(e["peak nodes"] * 4 * 24 * 2.00)
    assert e["break-even efficiency"] == pytest.approx(
        e["fleet per day"] / e["api judge per day"]
    )
    assert e["traces"] == estimation.storage_bytes(5e6 * 30, 30e3, 3)
    assert e["run rows"] == estimation.storage_bytes(52 * 2_500 * 730, 6e3, 3)
    # The p4d's eight A100 40GB: four of them could not batch 64 sequences of
    # 3,650 tokens beside 70B FP16 weights (141 GB of 160); eight can.
    weights, kv = 2 * LLAMA_3_70B.parameters, kv_cache_bytes(LLAMA_3_70B, 3_650)
    assert 4 * 40e9 - weights < 64 * kv < 8 * 40e9 - weights
    assert e["p4d batch"] == 64
    assert e["p4d per hour"] == pytest.approx(21.957642)
    assert e["p4d fleet per day"] == pytest.approx(e["p4d at peak"] * 24 * 21.957642)
    # Instance-seconds a call on eight GPUs, floored by prefill at peak FLOP/s.
    floor_p4d = 2 * LLAMA_3_70B.parameters * fresh / (8 * A100_80GB.peak_flops)
    low = math.ceil(3_000 / 480 * floor_p4d / 0.5)
    assert low <= e["p4d for one burst"] <= math.ceil(1.5 * low)


def test_bad_input_raises_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        le.remap_cross_fitted([1, 2, 3], [1, 2], rng)


def test_page_quotes_the_numbers_the_code_prints():
    rows = estimate_rows()
    quoted = [
        rows[k]
        for k in (
            "cost per call: candidate answer",
            "judge, pairwise (two answers)",
            "judge, pointwise (one answer)",
            "candidate answers",
            "judge calls, pairwise in both orders",
            "judge, pairwise in both orders",
            "judge, pointwise, baseline cached",
            "people grading it instead: hours",
            "per day, 40 changes: candidate answers",
            "offline judge",
            "nightly A/A sweeps, 12 features, all costs",
            "of which judging",
            "online judge calls (2% of 5M tasks)",
            "online judge",
            "all judging by API (changes, sweeps, online)",
            "per quarter: all judging by API",
            "human labels: hours",
            "human labels at $30 an hour",
            "peak runs an hour (2x the working-hours mean)",
            "GPUs busy on average over a day",
            "peak fleet always on, per day",
            "break-even share of the roofline",
            "instances always on for the peak, per day",
            "logs, 3 replicas: run rows, 2 years",
            "production traces, 30 days",
            "feedback events, 2 years",
            "online verdicts, 2 years",
        )
    ]
    for k in (
        "API calls in flight: generate, judge",
        "tokens a minute: generate, judge",
        "stages at once at peak: generate, judge",
        "tokens a minute at that peak",
        "GPU-seconds a call: pairwise, pointwise",
    ):
        quoted += rows[k].split(", ")
    burst, peak = rows["nodes, 50% busy: one burst, peak overlap"].split(", ")
    quoted += [f"**{burst} nodes**", f"need **{peak}**"]
    quoted += [rows["gate run, 30 min budget: stages"].replace(" min", " minutes")]
    quoted += [rows["headroom"].replace(" min", " minutes")]
    assert len(quoted) == 41
    quoted += [re.search(r"p4d\.24xlarge .* at (\$\d+\.\d\d)/h", output())[1]]
    assert re.findall(r"batch (\d+):", output()) == ["64", "64"]  # "a batch of 64"
    g = graders()
    for name in g:
        quoted += [f"{g[name]['quadratic']:.3f}"]
    quoted += [f"{g['judge, lenient'][k]:.2f}" for k in ("exact",)]
    quoted += [f"{g['judge'][k]:.2f}" for k in ("exact",)]
    quoted += [f"+{g['judge, lenient']['offset']:.2f}"]
    quoted += [f"−{abs(g['remapped on held-out labels']['offset']):.2f}"]
    quoted += [f"{g[n]['pearson']:.3f}" for n in ("judge, lenient", "judge, noisy")]
    for label, (mean, low, high) in lenient_minus_judge().items():
        if label != "linear kappa":
            quoted += [f"{abs(mean):.3f} [{abs(high):.3f}, {abs(low):.3f}]"]
    caps = per_capability()
    quoted += [f"{caps['reasoning'][0][0]:.3f} [{caps['reasoning'][0][1]:.3f}"]
    quoted += [f"{caps['reasoning'][1][0]:.3f} [{caps['reasoning'][1][1]:.3f}"]
    quoted += [f"{caps['factual QA'][0][0]:.3f} against {caps['factual QA'][1][0]:.3f}"]
    judge, people = caps["drafting"][0][0], caps["drafting"][1][0]
    assert judge > people  # the human-human level is a reference, not a bound
    quoted += [f"judge's {judge:.3f} beats the people's {people:.3f}"]
    p = pairwise()
    quoted += [f"{p[k][0]:.3f}" for k in p]
    for (block, label), (mean, low, high, _) in diffs().items():
        quoted += [f"{abs(mean):.3f}"]
        if "second slot" in label or ("padded" in block and "judge" in label):
            near, far = sorted((abs(low), abs(high)))
            quoted += [f"[{near:.3f}, {far:.3f}]"]
    b, block = bootstrap_rows(), bootstrap_block()
    quoted += [f"{v:.3f}" for v in b["width"][0]]
    quoted += [f"{b['gain found (low > 0)'][i][0]:.2f}" for i in (0, 1)]
    quoted += [f"{b['interval covers the truth'][i][0]:.2f}" for i in (0, 1)]
    quoted += re.findall(r"observed (\+\d\.\d+)", block)
    quoted += [re.search(r"true gain \+(\d\.\d+)", block)[1]]
    paired = re.search(rf"paired bootstrap \S+\s+(\[{N}, {N}\])", block)[1]
    unpaired = re.search(rf"unpaired bootstrap \S+\s+(\[{N}, {N}\])", block)[1]
    quoted += [paired, unpaired.replace("-", "−")]
    g2 = gates()
    quoted += [f"{g2[100, 'no change'][2][0]:.2f}", f"{g2[500, 'no change'][2][0]:.2f}"]
    quoted += [f"{g2[100, 'reasoning -1 margin'][1][0]:.2f}"]
    quoted += [f"{g2[n, 'no change'][1][0]:.2f}" for n in (100, 500)]
    quoted += [f"{g2[n, 'no change'][0][0]:.2f}" for n in (100, 500)]
    cell = g2[500, "reasoning -1 margin"][2]
    quoted += [f"{cell[0]:.2f} [{cell[1]:.2f}, {cell[2]:.2f}]"]
    quoted += [f"{g2[500, 'reasoning -1/2 margin'][2][0]:.2f}"]
    quoted += re.findall(r"k=(?:5|20): (\d\.\d+)", output())
    assert_page_quotes(PAGE, *quoted)
