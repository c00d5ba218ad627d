"""LLM inference miniature: its output's claims, its arithmetic, the page's numbers."""

from __future__ import annotations

import math
import re

import pytest
from guide import ROOT, assert_page_quotes, module_output, paired_differences

from snippets.common.estimation import peak_qps
from snippets.concepts.generative_ai import (
    H100_SXM,
    LLAMA_3_8B,
    LLAMA_3_70B,
    speculative_speedup,
)
from snippets.problems import llm_inference as li

PAGE = "problems/llm-inference.md"
MODULE = "snippets.problems.llm_inference"


def output() -> str:
    return module_output(MODULE)


def section(start: str, end: str) -> str:
    return output().split(start, 1)[1].split(end, 1)[0]


def sweep() -> dict[tuple[str, float], dict[str, float]]:
    """(policy, load) -> the ten columns of the sweep table."""
    keys = (
        "load",
        "ttft50",
        "ttft99",
        "tpot50",
        "tpot99",
        "good",
        "busy",
        "batch",
        "kv",
        "queue",
    )
    rows = {}
    for line in section("\npolicy ", "\n\n").splitlines()[1:]:
        fields = line.split()
        values = [float(v.rstrip("%").replace(",", "")) for v in fields[-10:]]
        row = dict(zip(keys, values, strict=True))
        for share in ("good", "busy", "kv"):
            row[share] /= 100
        rows[" ".join(fields[:-10]), row["load"]] = row
    return rows


def max_loads() -> dict[str, tuple[float, float, float]]:
    """Policy name -> (mean, min, max) of the largest SLO load."""
    text = section("Largest load meeting the SLO", "steady-state bound")
    return {
        m[1].strip(): (float(m[2]), float(m[3]), float(m[4]))
        for m in re.finditer(
            r"^  (.+?)\s+(\d+\.\d) \[(\d+\.\d), (\d+\.\d)\]$", text, re.M
        )
    }


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def bounds() -> dict[str, list[str]]:
    text = section("deployment ", "TTFT p99")
    return {line[:19].strip(): line[19:].split() for line in text.splitlines()[1:]}


def test_every_table_parses():
    assert len(sweep()) == len(li.POLICIES) * len(li.LOADS)
    assert set(max_loads()) == {li.policy_of(k).name.strip() for k in li.BRACKETS}
    assert len(paired_differences(output())) == 8
    assert len(bounds()) == 4


def test_static_batching_meets_no_load_and_loses_throughput_to_padding():
    rows = sweep()
    ttft_objective = li.estimate_capacity()["engine_ttft_s"]
    for load in li.LOADS:
        assert rows["static batching", load]["ttft99"] > ttft_objective
    assert re.search(r"static batching\s+none: TTFT p99 up to \d+\.\d s at 1", output())
    drawn, equal = re.findall(
        r": (\d\.\d\d)x$", section("answers as drawn", "\n\n"), re.M
    )
    assert float(drawn) < 0.6 and float(equal) == pytest.approx(1.0, abs=0.02)
    mean, low, _, tie = diff(
        "static / continuous reserved, equal answers minus as drawn", "throughput ratio"
    )
    assert mean > 0.3 and low > 0 and not tie


def test_the_continuous_ladder_and_its_ablations_are_each_outside_the_noise():
    for block in (  # each change, and each ablation, raises the SLO load
        "chunked prefill minus continuous, prefill-first",
        "prefix caching minus chunked prefill",
        "prefix caching minus KV reserved for 1,024",
        "prefix caching minus prefix KV copied per request",
        "prefix KV copied per request minus chunked prefill",
    ):
        _, low, _, tie = diff(block, "max load, requests/s")
        assert not tie and low > 0, block
    loads = max_loads()
    ladder = [
        loads[n][0]
        for n in ("continuous, prefill-first", "+ chunked prefill", "+ prefix caching")
    ]
    assert ladder == sorted(ladder)


def test_prefix_caching_saves_the_prefill_of_the_shared_prompt_at_light_load():
    """At 5 requests/s nothing queues: TTFT is the prefill, and the cached prefix
    removes the difference between prefilling 1,549 tokens and 549 after 1,000."""
    from snippets.concepts.generative_ai import forward_time

    mean, _, high, _ = diff(
        "prefix caching minus chunked prefill", "TTFT p50 at 5 requests/s, ms"
    )
    whole = forward_time(LLAMA_3_8B, H100_SXM, 1_549, 0).seconds
    suffix = forward_time(LLAMA_3_8B, H100_SXM, 549, 1_000).seconds
    assert -mean == pytest.approx((whole - suffix) * 1e3, rel=0.1)
    assert high < 0


def test_simulated_loads_stay_under_the_steady_state_bound():
    ratios = re.search(r"simulated / bound (\d\.\d\d) and (\d\.\d\d)", output())
    assert 0.6 < float(ratios[1]) <= 1.0
    assert 0.6 < float(ratios[2]) <= 1.0


def test_every_search_ended_inside_its_bracket():
    """A result at the bracket's bottom or top grid point would mean the bracket,
    not the SLO, decided it."""
    loads = max_loads()
    for key, (low, high) in li.BRACKETS.items():
        _, smallest, largest = loads[li.policy_of(key).name.strip()]
        top = low * (high / low) ** (1 - 1 / 2**li.SEARCH_STEPS)
        half = 0.05  # the loads are printed to one decimal
        assert low + half < smallest and largest < top - half, key


def test_batching_gains_only_where_decode_is_memory_bound():
    gains = re.findall(r"continuous\s+[\d,]+: +(\d+\.\d)x", output())
    memory_bound, compute_bound = map(float, gains)
    assert memory_bound > 10
    assert compute_bound == pytest.approx(1.0, abs=0.1)
    _, low, _, _ = diff(
        "batching gain on H100 SXM minus on 1,000x bandwidth", "continuous / batch 1"
    )
    assert low > 10


def test_gpu_busy_says_nothing_while_kv_and_queue_follow_the_load():
    rows = sweep()
    for name in ("continuous, prefill-first", "+ chunked prefill", "+ prefix caching"):
        kv = [rows[name, load]["kv"] for load in li.LOADS]
        assert all(rows[name, load]["busy"] >= 0.98 for load in li.LOADS)
        assert kv == sorted(kv) and kv[-1] > 10 * kv[0]
    assert (
        rows["+ chunked prefill", 20.0]["tpot99"]
        < rows["continuous, prefill-first", 20.0]["tpot99"]
    )


def test_shedding_keeps_the_admitted_within_the_objective():
    lines = section("Overload", "\n\n").splitlines()[1:]
    parsed = [
        tuple(
            map(
                float,
                re.search(
                    r"p99\s+(\S+) s \[.+?\], shed\s+(\S+)%, good\s+(\S+)%", line
                ).groups(),
            )
        )
        for line in lines
    ]
    (ttft_open, shed_open, good_open), (ttft_cap, shed_cap, good_cap) = parsed
    assert shed_open == 0 and shed_cap > 0
    assert ttft_cap <= li.estimate_capacity()["engine_ttft_s"] < ttft_open
    assert good_cap > 2 * good_open


def test_estimate_arithmetic():
    est = li.estimate_capacity()
    assert est["peak_rps"] == pytest.approx(20e6 / 86_400 * 3)
    assert est["peak_rps"] == pytest.approx(peak_qps(2e6, 10, 3))
    assert est["engine_ttft_s"] == pytest.approx((1_000 * 0.8 - 80) / 1e3)
    assert est["text_per_request"] == pytest.approx(
        4 * (est["prompt"] - 1_000 + est["output"])
    )
    table = bounds()
    assert table["Llama 3 70B, TP 2"][0] == "8,827"
    # Two GPUs' memory less the weights less the runtime share, over 320 KiB.
    room = 2 * 80e9 - LLAMA_3_70B.parameters * 2 - 0.2 * 80e9
    assert int(room // (2 * 80 * 8 * 128 * 2)) == 8_827
    assert table["Llama 3 8B, 1 GPU"][4] == "memory"
    assert table["Llama 3 70B, TP 4"][4] == "compute"
    per_gpu = {name: float(row[-1]) for name, row in table.items()}
    assert per_gpu["Llama 3 70B, TP 4"] == pytest.approx(
        per_gpu["Llama 3 70B, TP 8"], abs=0.05
    )


def test_lora_bytes_counts_every_projection():
    h, kv, ff = 4096, 8 * 128, 14336
    per_layer = 2 * (h + h) + 2 * (h + kv) + 3 * (h + ff)
    assert li.lora_bytes(LLAMA_3_8B, 16) == 2 * 32 * 16 * per_layer
    with pytest.raises(ValueError, match="rank"):
        li.lora_bytes(LLAMA_3_8B, 0)


def test_speculative_gain_matches_the_closed_form_at_batch_one():
    assert li.speculative_gain(1, 1_682) == pytest.approx(
        speculative_speedup(0.7, 4, 0.05), rel=0.01
    )
    assert li.speculative_gain(1, 1_682) <= speculative_speedup(0.7, 4, 0.05)


def test_speculation_at_the_full_batch_pays_for_its_prefill_and_its_draft():
    from snippets.concepts.generative_ai import forward_time

    est = li.estimate_capacity()
    eight = est["bounds"]["Llama 3 8B, 1 GPU"]
    args = (eight["batch"], est["prompt"], est["output"])
    gain, check, share = li.speculative_at_bound(*args)
    small, check_1b, share_1b = li.speculative_at_bound(*args, li.LLAMA_3_2_1B)
    context = round(est["prompt"] + est["output"] / 2)
    assert share == pytest.approx(0.05) and check_1b == check
    draft = forward_time(li.LLAMA_3_2_1B, H100_SXM, 1, context, eight["batch"])
    assert share_1b == pytest.approx(draft.seconds / eight["step"], rel=0.01)
    tokens = (1 - 0.7**5) / 0.3
    assert gain == pytest.approx(tokens / (check + 0.2), rel=1e-6)
    assert small < gain < li.speculative_gain(eight["batch"], context)
    # The draft reads its KV: a 1B-shaped KV is a quarter of the 8B's per token.
    assert 16 * 8 * 64 * 2 * 2 * 4 == 2 * 32 * 8 * 128 * 2


def test_spare_prefill_fills_the_idle_compute_exactly():
    model = li.step_model(LLAMA_3_8B, H100_SXM)
    spare, room = li.spare_prefill(model, 256, 1_550)
    kv, attended = 256 * 1_550 + room, 256 * 1_550 + room * 775
    memory = model.weights + model.per_new_byte * (256 + room) + model.per_kv_token * kv
    compute = (
        model.per_new_flop * (256 + room)
        + model.per_attended * attended
        + model.per_logit * 256
    )
    assert spare > 0 and memory == pytest.approx(compute, rel=1e-9)


def test_front_stages_are_a_1b_prefill_of_the_user_text_twice_and_the_answer():
    est = li.estimate_capacity()
    p = li.LLAMA_3_2_1B.layer_parameters
    user, answer = round(est["prompt"] - 1_000), round(est["output"])
    flops = 2 * 2 * p * user + 2 * p * answer  # the attention FLOPs left out
    assert est["front_gpu_s"] >= flops / H100_SXM.peak_flops
    assert est["front_gpu_s"] < 1.5 * flops / H100_SXM.peak_flops


def test_fleet_is_the_peak_over_the_measured_load():
    loads = max_loads()
    small = loads["+ prefix caching"][0]
    ratio = loads["+ chunked prefill"][0] / float(
        re.search(r"chunked (\d+\.\d), prefix", output())[1]
    )
    est = li.estimate_capacity()
    line = re.search(
        r"at peak\s+[\d,]+ requests/s: 8B\s+(\d+), 70B\s+(\d+), guard and router"
        r" (\d+): (\d+) nodes, (\d+) GPUs",
        output(),
    )
    assert int(line[1]) == math.ceil(est["peak_rps"] * 0.8 / (small * 0.8))
    large = est["bounds"]["Llama 3 70B, TP 4"]["rate"] * ratio
    assert int(line[2]) == 4 * math.ceil(est["peak_rps"] * 0.2 / (large * 0.8))
    assert int(line[3]) == math.ceil(est["peak_rps"] * est["front_gpu_s"] / 0.8)
    used = int(line[1]) + int(line[2]) + int(line[3])
    assert int(line[4]) == math.ceil(used / 8) and int(line[5]) == 8 * int(line[4])


def test_the_diagram_carries_the_budget():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    est = li.estimate_capacity()
    for ms in (*est["stages"].values(), est["engine_ttft_s"] * 1e3):
        assert f"{ms:.0f} ms" in diagram


def test_page_quotes_the_numbers_the_code_prints():
    out, rows, loads = output(), sweep(), max_loads()
    est = li.estimate_capacity()
    table = bounds()
    eight, tp2, tp4, tp8 = (table[k] for k in table)
    quoted = [
        f"**{est['peak_rps']:,.0f} requests/s**",
        f"{est['prompt']:,.0f} tokens",
        f"{est['output']:.0f} tokens",
        f"{est['peak_prompt_tokens_s']:,.0f} prompt tokens",
        f"{est['peak_output_tokens_s']:,.0f} output tokens",
        f"{LLAMA_3_8B.parameters * 2 / 1e9:.1f} GB",
        f"**{LLAMA_3_70B.parameters * 2 / 1e9:.1f} GB**",
        f"**{eight[0]}**",
        f"**{tp2[0]}**",
        f"{tp2[1]} sequences, {tp2[-2]} requests/s",
        f"**{tp4[0]}**",
        f"eight {tp8[0]}",
        f"**{eight[-2]} requests/s** at a batch of {eight[1]}",
        f"takes {eight[3]} ms",
        f"{int(eight[2]):,} prompt tokens",
        f"**{tp4[-2]}**, that is {tp4[-1]}",
        f"prefills {tp4[2]} prompt tokens beside its {tp4[1]} decodes",
        f"eight, {tp8[-2]}",
        f"**{est['engine_ttft_s'] * 1e3:.0f} ms**",
        f"**{est['metadata_log']} a day**",
        f"{est['text_per_request']:,.0f} B a request",
        f"**{est['text_log_30d']}**",
    ]
    quoted += re.findall(
        r"LoRA rank 16 on Llama 3 8B: (\S+ MB) an adapter; 100"
        r" resident take (\d+%)",
        out,
    )[0]
    spec = re.search(r"(\S+)-token contexts: batch 1 (\S+)x", out)
    quoted += [f"{spec[2]}x at batch 1"]
    loaded = re.search(
        r"batch (\d+) with its (\S+) prefill tokens: checking costs (\S+) steps;"
        r" (\S+)x with a 5% draft, (\S+)x with a 1B draft \((\d+%) of a step, KV"
        r" (\d+%)",
        out,
    )
    quoted += [
        f"full batch of {loaded[1]}",
        f"{loaded[2]} prompt tokens",
        f"costs {loaded[3]} steps",
        f"({loaded[4]}x)",
        f"{loaded[6]} of a target step each: {loaded[5]}x",
        f"KV ({loaded[7]} of the 8B's a token)",
    ]
    fp8 = re.search(
        r"reads (\d+) GB, the weights (\d+%) of it; FP8 weights save"
        r" (\d+%) of the step, an FP8 KV cache (\d+%)",
        out,
    )
    quoted += [
        f"reads {fp8[1]} GB, the weights {fp8[2]}",
        f"{fp8[3]} of the step",
        f"({fp8[4]} of the step",
    ]
    front = re.search(
        r"\(1B-shaped\) (\S+ ms) of H100 a request, (\S+) H100s busy at peak; gateway"
        r" (\d+ ms) of CPU a request, (\S+) cores",
        out,
    )
    quoted += [
        f"{front[1]} of H100",
        f"{front[2]} H100s busy",
        f"{front[3]} of CPU",
        f"{front[4]} cores",
    ]
    spare = re.search(
        r"batch 256: (\S+ ms) of compute idle, room for (\S+) prompt tokens; with a"
        r" 2,048-token chunk the step takes (\S+ ms)",
        out,
    )
    quoted += [f"leaves {spare[1]} of compute idle, about {spare[2]}"]
    quoted += [f"compute-bound at {spare[3]}"]
    fleet = re.findall(
        r"(at peak|at the mean)\s+([\d,]+) requests/s: 8B\s+(\d+), 70B\s+(\d+),"
        r" guard and router (\d+): (\d+) nodes, (\d+) GPUs; gateway (\d+) vCPUs;"
        r" all day \$([\d,]+), \$(\S+) per 1,000 requests",
        out,
    )
    (_, _, p8, p70, pf, pn, pg, pv, pday, preq) = fleet[0]
    (_, mrate, _, _, _, mn, _, _, mday, mreq) = fleet[1]
    quoted += [
        f"{p8} GPUs for the 8B, {p70} for the 70B and {pf}",
        f"**{pn} nodes, {pg} GPUs**",
        f"{pv} vCPUs",
        f"**${pday} a day**",
        f"**${preq} per 1,000 requests**",
        f"{int(p8) + int(p70) + int(pf)} H100s",
        f"({mrate}\n  requests/s) {mn} nodes",
        f"${mday} a day",
        f"${mreq} per 1,000",
    ]
    per_token = re.findall(r"^    (.+?)\s+\$(\d\.\d{3})$", out, re.M)
    quoted += [f"${v}" for _, v in per_token]
    quoted += re.findall(r"\((\d+%) of tokens cached\)", out)
    labels = re.search(r"router labels: \S+ 70B runs a day .+?, (\d+ GPU-hours)", out)
    quoted += [f"{labels[1]} a day"]
    per = re.search(r"8B \$(\S+), 70B \$(\S+) \((\S+)x\)", out)
    quoted += [f"${per[1]} on the 8B", f"${per[2]} on the", f"{per[3]}x"]
    quoted += [f"${li.DOLLARS_PER_GPU_HOUR:.2f} an H100-hour"]
    # The sweep, the ladder and the ablations.
    static5 = rows["static batching", 5.0]
    quoted += [f"TTFT p50 is {static5['ttft50']:.2f} s"]
    quoted += re.findall(r"TTFT p99 up to (\d+\.\d s) at 1", out)
    quoted += [
        f"TPOT p99 is {rows['continuous, prefill-first', 20.0]['tpot99']:.1f} ms",
        f"against {rows['+ chunked prefill', 20.0]['tpot99']:.1f} ms",
    ]
    quoted += re.findall(r"batch 256 (\d+\.\d\d ms)", out)
    for name in ("continuous, prefill-first", "+ chunked prefill", "+ prefix caching"):
        quoted.append(f"{loads[name][0]:.1f}")
    quoted += list(
        re.search(
            r"chunked (\d+\.\d), prefix (\d+\.\d); simulated / bound"
            r" (\S+) and (\S+)",
            out,
        ).groups()
    )
    for (_, label), (mean, low, high, _) in paired_differences(out).items():
        d = 1 if label.startswith("max load") else 2  # printed to a 0.1 grid
        quoted.append(f"{abs(mean):.{d}f}")
        if "TTFT" not in label:
            quoted.append(f"[{low:.{d}f}, {high:.{d}f}]")
    backlog = re.search(r"batch 1\s+(\d+), continuous\s+([\d,]+): +(\S+)x", out)
    quoted += [f"{backlog[3]}x", f"{backlog[2]} against {backlog[1]} tokens/s"]
    quoted += [f"{g}x" for g in re.findall(r": (\d\.\d\d)x$", out, re.M)]
    quoted += re.findall(
        r"1,000x bandwidth\s+batch 1\s+[\d,]+, continuous\s+[\d,]+:"
        r" +(\S+x)",
        out,
    )
    # Autoscaling signals, from the sweep.
    light = [rows[p.name, 5.0]["kv"] for p in li.POLICIES.values() if p.continuous]
    quoted += [f"{min(light):.0%} to {max(light):.0%} full"]
    prefix = [rows["+ prefix caching", load]["kv"] for load in (5.0, 40.0)]
    quoted += [f"from {prefix[0]:.0%} at 5 requests/s to {prefix[1]:.0%} at 40"]
    # Overload.
    rate = re.search(r"Overload, (\d+) requests/s", out)[1]
    shed = re.findall(
        r"p99\s+(\S+) s (\[\S+, \S+\]), shed\s+(\S+)%, good\s+(\d+)%", out
    )
    cap = re.search(r"shed beyond (\d+) waiting", out)[1]
    quoted += [
        f"({rate} requests/s)",
        f"TTFT p99 of {shed[0][0]} s {shed[0][1]}",
        f"only {shed[0][3]}% of requests",
        f"at {cap}",
        f"turns away {shed[1][2]}%",
        f"at {shed[1][0]} s {shed[1][1]}",
        f"{shed[1][3]}% meet both",
    ]
    assert_page_quotes(PAGE, *quoted)


def test_fp8_savings_never_drop_the_step_below_its_compute():
    """Halving bytes read shortens a memory-bound step only down to its compute time."""
    eight = li.estimate_capacity()["bounds"]["Llama 3 8B, 1 GPU"]
    weights_gb = LLAMA_3_8B.parameters * 2 / 1e9
    step = max(eight["memory_s"], eight["compute_s"])
    seconds_per_gb = eight["memory_s"] / eight["read_gb"]
    kv_halved = (
        eight["read_gb"] - (eight["read_gb"] - weights_gb) / 2
    ) * seconds_per_gb
    weights_halved = (eight["read_gb"] - weights_gb / 2) * seconds_per_gb
    kv_saved = 1 - max(kv_halved, eight["compute_s"]) / step
    weights_saved = 1 - max(weights_halved, eight["compute_s"]) / step
    assert kv_halved < eight["compute_s"] < eight["memory_s"], "KV halving hits compute"
    line = next(x for x in output().splitlines() if "FP8 weights save" in x)
    assert f"FP8 weights save {weights_saved:.0%} of the step" in line
    assert f"an FP8 KV cache {kv_saved:.0%}" in line
    assert f"{1e3 * eight['compute_s']:.1f} ms" in line
    assert_page_quotes(
        PAGE, f"({kv_saved:.0%} of the step", f"at {1e3 * eight['compute_s']:.1f} ms"
    )
