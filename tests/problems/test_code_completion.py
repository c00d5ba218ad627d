"""Code completion: capacity arithmetic, the miniature's claims, the page's numbers."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import (
    assert_page_quotes,
    assert_page_says,
    module_output,
    paired_differences,
)

from snippets.concepts.generative_ai import (
    H100_SXM,
    LLAMA_2_7B,
    LLAMA_3_70B,
    Accelerator,
    forward_time,
    kv_cache_bytes,
)
from snippets.problems import code_completion as cc
from snippets.problems import code_completion_passk as pk

PAGE = "problems/code-completion.md"
MODULE = "snippets.problems.code_completion"
NUMBER = r"[+-]?\d[\d,]*\.?\d*"


def output() -> str:
    return module_output(MODULE)


def value(label: str) -> str:
    """The value printed after a label, e.g. value('peak inline requests')."""
    match = re.search(rf"^\s*{re.escape(label)}.*?\s(\S+(?: \S+)?)$", output(), re.M)
    assert match, label
    return match[1]


def sweep() -> dict[float, dict[str, float]]:
    """The temperature table: T -> pass@1, pass@10, pass@100, distinct."""
    rows = {}
    table = output().split("distinct of 200\n")[1].split("best T")[0]
    for line in table.strip().splitlines():
        t, *cells = line.split()
        rows[float(t)] = dict(
            zip(("p1", "p10", "p100", "distinct"), map(float, cells), strict=True)
        )
    return rows


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def budget_rows() -> dict[str, float]:
    part = output().split("keystroke to ghost text, p95:\n")[1].split("inline model")[0]
    found = {}
    for line in part.strip().splitlines():
        label, ms = re.match(r"^\s*(.+?)\s+(\d+) ms$", line).groups()
        found[label] = float(ms)
    return found


def simulate_typing(debounce, wait, n=400_000, pause=0.15, mean=200.0, seed=0):
    """Monte Carlo of the typing model, written independently of the module."""
    rng = np.random.default_rng(seed)
    is_pause = rng.random(n) < pause
    gaps = np.where(is_pause, 1e6, rng.exponential(mean, n))  # pauses outlast all
    fired = gaps > debounce
    stale = fired & (gaps < debounce + wait)
    return fired.mean(), stale.sum() / fired.sum(), (fired & ~stale).mean()


@pytest.mark.parametrize("debounce", [0, 50, 100, 300])
def test_keystroke_requests_match_a_simulation_of_typing(debounce):
    fired, stale, shown = cc.keystroke_requests(debounce, 240.0)
    sim = simulate_typing(debounce, 240.0)
    assert fired == pytest.approx(sim[0], abs=0.005)
    assert stale == pytest.approx(sim[1], abs=0.005)
    assert shown == pytest.approx(sim[2], abs=0.005)


def test_keystroke_requests_reject_bad_input():
    with pytest.raises(ValueError):
        cc.keystroke_requests(-1, 240)
    with pytest.raises(ValueError):
        cc.keystroke_requests(100, 240, pause_share=1.5)
    with pytest.raises(ValueError):
        cc.keystroke_requests(100, 0)
    with pytest.raises(TypeError):
        cc.keystroke_requests(100, "240")


def latency_with_stalls(batch, own, mean, output=16, context=2_064):
    """Own prefill, the other in-flight requests' prefills, then the decode steps."""
    step = forward_time(LLAMA_2_7B, H100_SXM, 1, context, batch=batch).seconds
    return own + (batch - 1) * mean + output * step


def test_largest_batch_is_the_edge_of_the_constraint():
    room = 80e9 - LLAMA_2_7B.parameters * 2
    fits = room // kv_cache_bytes(LLAMA_2_7B, 2_064)
    for own, mean, limit in ((0.028, 0.028, 0.14), (0.028, 0.009, 0.14), (0, 0, 1.0)):
        batch, _, latency = cc.largest_batch(
            LLAMA_2_7B, H100_SXM, 2_064, 16, own, limit, room, mean
        )
        assert latency == pytest.approx(latency_with_stalls(batch, own, mean))
        assert latency <= limit
        assert batch == fits or latency_with_stalls(batch + 1, own, mean) > limit
    # Without prefills, only the decode steps and memory bind: a bigger batch.
    assert cc.largest_batch(LLAMA_2_7B, H100_SXM, 2_064, 16, 0, 0.14, room)[0] > 2
    none = cc.largest_batch(LLAMA_2_7B, H100_SXM, 2_064, 16, 0.2, 0.14, room)
    assert none == (0, math.inf, math.inf)
    with pytest.raises(ValueError):
        cc.largest_batch(LLAMA_2_7B, H100_SXM, 2_064, 16, 0.03, 0.0, room)
    with pytest.raises(ValueError):
        cc.largest_batch(LLAMA_2_7B, H100_SXM, 2_064, 16, -0.03, 0.14, room)


def test_estimate_adds_up():
    e = cc.estimate_capacity()
    stages = sum(v for k, v in e.items() if k.startswith("stage "))
    assert stages + e["headroom_ms"] + e["model_ms"] == pytest.approx(e["budget_ms"])
    assert e["inline_ms"] <= e["model_ms"]
    # Independent arithmetic: requests, peak, GPU time and fleets.
    requests = 4_000 * cc.keystroke_requests(100, e["wait_ms"])[0]
    assert e["inline_qps"] == pytest.approx(1e6 * requests / 86_400 * 3)
    prefill = 2 * LLAMA_2_7B.layer_parameters * 2_048 / H100_SXM.peak_flops
    assert e["prefill_ms"] == pytest.approx(prefill * 1e3, rel=0.1)  # + attention
    prefill_s = e["prefill_ms"] / 1e3
    gpu_s = prefill_s + 16 * e["step_ms"] / 1e3 / e["batch"]
    assert e["gpu_ms"] == pytest.approx(gpu_s * 1e3)
    assert e["inline_gpus"] == math.ceil(e["inline_qps"] * gpu_s / 0.5)
    # Little's law: b in flight means b prefills in a request's latency.
    assert e["inline_ms"] / 1e3 == pytest.approx(
        latency_with_stalls(e["batch"], prefill_s, prefill_s)
    )
    assert latency_with_stalls(e["batch"] + 1, prefill_s, prefill_s) > 0.14
    assert e["in_flight"] == pytest.approx(
        e["inline_qps"] / e["inline_gpus"] * e["inline_ms"] / 1e3
    )
    hits = e["fleets"]
    gpus = [hits[h]["gpus"] for h in sorted(hits)]
    assert gpus == sorted(gpus, reverse=True)  # more hits, fewer GPUs
    assert e["cached_gpus"] < e["inline_gpus"] / 1.5
    assert e["single_half_ms"] > e["model_ms"]  # fits only near the roofline
    # Residency: 7B caches are 4x the GQA ones, so fewer than the developers fit.
    assert e["mha_caches"] < e["devs_per_gpu"] < e["gqa_caches"]
    # Chat: the batch stops where the other chats' prefills break the TPOT.
    kv_per_chat = kv_cache_bytes(LLAMA_3_70B, 6_400)
    kv_limit = int((4 * 80e9 - LLAMA_3_70B.parameters * 2) // kv_per_chat)
    assert e["chat_batch"] < kv_limit
    stall_s = e["chat_batch"] * e["chat_prefill_s"]  # the others' and its own
    tpot = (stall_s - e["chat_prefill_s"] + 400 * e["chat_step_ms"] / 1e3) / 400
    assert e["chat_tpot_ms"] == pytest.approx(tpot * 1e3)
    four = Accelerator("4", 4 * 80e9, 4 * H100_SXM.bandwidth, 4 * H100_SXM.peak_flops)
    nxt = forward_time(LLAMA_3_70B, four, 1, 6_400, batch=e["chat_batch"] + 1).seconds
    assert e["chat_tpot_ms"] <= 50 < (stall_s + 400 * nxt) / 400 * 1e3
    assert e["chat_gpus"] % 4 == 0
    dollars = (e["cached_gpus"] + e["chat_gpus"]) * cc.H100_DOLLARS_PER_HOUR * 24
    assert e["per_dev_cents"] == pytest.approx(dollars / 1e6 * 100)
    assert e["cached_dollars"] > e["chat_dollars"]  # the small model costs more
    assert e["l4_step_ms"] * 3 > e["model_ms"]
    assert e["kv_7b_gib"] == pytest.approx(4 * e["kv_8b_gib"])


def test_output_budget_matches_the_estimate():
    rows, e = budget_rows(), cc.estimate_capacity()
    assert len(rows) == 8  # six stages, the headroom and the model's share
    assert sum(rows.values()) == pytest.approx(e["budget_ms"])
    assert rows["model: prefill + 16 tokens, what is left"] == e["model_ms"]


def test_estimators_table_equals_enumeration_and_plug_in_is_low():
    lines = output().split("all k-subsets  plug-in\n")[1].splitlines()[:4]
    for line in lines:
        _, unbiased, subsets, plug_in = line.split()
        assert unbiased == subsets
        assert float(plug_in) <= float(unbiased)
    assert "float binomials give nan; the product gives 0.875" in output()


def test_temperature_trades_pass_at_1_for_pass_at_k():
    rows = sweep()
    assert list(rows) == list(pk.TEMPERATURES)
    for row in rows.values():
        assert row["p1"] <= row["p10"] <= row["p100"]
    assert rows[0.0]["p1"] == rows[0.0]["p10"] == rows[0.0]["p100"]
    best = {k: max(rows, key=lambda t: rows[t][k]) for k in ("p1", "p10", "p100")}
    assert best["p1"] <= 0.2 < 0.6 <= best["p10"] <= best["p100"]
    # The argmax is not the claim: neighbours inside the noise are ties.
    assert diff("pass@1, best T 0.0 minus its neighbours", "T 0.2")[3]
    assert diff("pass@10, best T 0.8 minus its neighbours", "T 0.6")[3]
    # At pass@100 the best T beats both neighbours: a small margin, not a tie.
    for label in ("T 0.8", "T 1.2"):
        _, low, _, tie = diff("pass@100, best T 1.0 minus its neighbours", label)
        assert low > 0 and not tie
    distinct = [rows[t]["distinct"] for t in rows]
    assert distinct == sorted(distinct) and distinct[0] == 1.0
    block = "T 0.8 minus T 0.2"
    assert diff(block, "pass@1")[2] < 0
    for label in ("pass@10", "pass@100", "pass@100, greedy answer wrong"):
        assert diff(block, label)[1] > 0, label
    assert diff(block, "pass@1, greedy answer right")[2] < 0
    assert diff(block, "pass@1, greedy answer wrong")[1] > 0


def test_ablations_show_diversity_and_junk_as_the_causes():
    copies = diff("T 0.8, 200 copies of one sample minus T 0.2", "pass@100")
    assert copies[2] < 0 and not copies[3]
    gain = diff("T 0.8 minus T 0.8, 200 copies of one sample", "pass@100")
    assert gain[1] > 0
    block = "T 1.2 minus T 0.8, exact from the generator"
    assert diff(block, "pass@10")[2] < 0
    assert diff(block, "pass@10, no junk tail")[1] > 0


def test_unbiased_estimator_ties_with_the_truth_and_plug_in_does_not():
    block = "20 samples a problem at T 0.8, estimate minus true pass@10"
    unbiased, plug_in = diff(block, "unbiased"), diff(block, "plug-in")
    assert unbiased[3] and unbiased[1] <= 0 <= unbiased[2]
    assert plug_in[2] < 0 and not plug_in[3]


def minus(text: str) -> str:
    return text.replace("-", "\u2212")


def fleet_rows() -> dict[str, list[str]]:
    """The hit-rate table: '80%' -> [batch, latency, GPU time, prefill, H100s, ...]."""
    part = output().split("in flight at load\n")[1].split("    at 80% hits")[0]
    return {
        line.split()[0]: re.findall(r"\S+(?: ms)?", line)[1:]
        for line in part.splitlines()
    }


def test_page_quotes_the_program():
    e = output()
    fleets = fleet_rows()
    none, cached = fleets["0%"], fleets["80%"]
    quoted = [
        value("at 100 ms: requests per developer a day"),
        value("peak inline requests per second"),
        value("suggestions shown per developer a day"),
        value("prefill 2,048 tokens").split()[0] + " ms",
        value("one decode step of the 7B on an L4").split()[0] + " ms",
        value("prefix-cache hit: prefill 32 new tokens").split()[0] + " ms",
        value("batch 1, prefill + 16 tokens, at 50% rate").split()[0] + " ms",
        value("inline, no prefix cache, a day"),
        value("inline, prefix cache at 80%, a day"),
        value("chat, a day"),
        value("per developer a day, cached + chat"),
        value("peak chats per second"),
        value("prefill, a lower bound on TTFT"),
        value("GPU time per chat"),
        value("H100s at 50% of the roofline rate"),
        value("chats in flight a replica at that load"),
        value("request metadata, 300 B"),
        value("suggestion events, 200 B a shown one"),
        value("retention checks, 4 x 100 B an accepted"),
        value("chat events, 5 x 200 B a chat"),
        value("audit log, 30% enterprise, 200 B each"),
        value("prompts + completions, if all kept"),
        value("chat transcripts, if all kept"),
        value("kept: 5% opted in, 30 days, 3 replicas"),
        f"is **{none[0]}** (**{none[1]}**",
        f"**{none[2]} of GPU time, {none[3]} of it prefill**",
        f"**{none[4]} H100s**",
        f"{none[0]} vs {none[5]}; {cached[0]} vs {cached[5]} at 80% hits",
        f"the batch is 4, a request **{cached[2]}**",
        f"**{cached[4]} H100s**",
        f"between {cached[4]} and {none[4]} H100s",
    ]
    assert cached[0] == "4"
    # Every row prices a batch larger than the requests a GPU has in flight at
    # that load, so every fleet size is optimistic (the page says so).
    assert all(float(row[5]) < int(row[0]) for row in fleets.values())
    kv = re.search(r"GQA \(8B\)\s*(\S+); (\S+) GiB", e)
    quoted += [f"{kv[1]} GiB", f"{kv[2]} GiB"]
    devs, mha, gqa = re.search(
        r"(\d+) developers a GPU; caches beside the batch: 7B (\d+), GQA (\d+)", e
    ).groups()
    quoted += [f"serves {devs} developers", f"only {mha} caches", f"holds {gqa}"]
    batch, step, tpot = re.search(r"TPOT\s+(\d+); (\S+), (\S+) ms$", e, re.M).groups()
    quoted += [
        f"caps the batch at **{batch}**",
        f"{step} ms a step",
        f"{tpot} ms a token",
    ]
    fired, stale, shown = re.search(
        r"^\s+100 ms\s+(\S+)\s+(\S+)\s+(\S+)$", e, re.M
    ).groups()
    quoted += [
        fired,
        stale,
        shown,
        re.search(r"^\s+0 ms\s+\S+\s+\S+\s+(\S+)$", e, re.M)[1],
    ]
    quoted += re.search(r"sparse (\S+ MB), dense (\S+ MB)", e).groups()
    quoted += re.search(r"monorepo of 10M lines: (\S+ MB), (\S+ GB)", e).groups()
    assert_page_says(PAGE, *quoted)


def test_page_quotes_the_miniature():
    e, rows = output(), sweep()
    block = "T 0.8 minus T 0.2"
    quoted = [
        f"{rows[0.0]['p1']:.3f}",
        f"{rows[0.8]['distinct']:.1f}",
        f"{rows[0.2]['distinct']:.1f}",
        re.search(r"pass@1 at T 0.2 over the 5 benchmarks: \S+ \(min-max (\S+)\)", e)[
            1
        ].replace("-", "\u2013"),
        re.search(r"^\s+5\s+(\S+)\s+\S+\s+(\S+)$", e, re.M)[1],
        re.search(r"^\s+5\s+(\S+)\s+\S+\s+(\S+)$", e, re.M)[2],
    ]
    for label in (
        "pass@1",
        "pass@10",
        "pass@100",
        "pass@1, greedy answer right",
        "pass@1, greedy answer wrong",
        "pass@100, greedy answer wrong",
    ):
        quoted.append(f"{abs(diff(block, label)[0]):.3f}")
    for b, label in (
        ("T 0.8, 200 copies of one sample minus T 0.2", "pass@100"),
        ("T 0.8 minus T 0.8, 200 copies of one sample", "pass@100"),
        ("T 1.2 minus T 0.8, exact from the generator", "pass@10"),
        ("T 1.2 minus T 0.8, exact from the generator", "pass@10, no junk tail"),
    ):
        quoted.append(f"{abs(diff(b, label)[0]):.3f}")
    tie = diff("pass@1, best T 0.0 minus its neighbours", "T 0.2")
    quoted.append(minus(f"{tie[0]:+.3f} [{tie[1]:+.3f}, {tie[2]:+.3f}]"))
    for label in ("T 0.8", "T 1.2"):
        quoted.append(
            f"{diff('pass@100, best T 1.0 minus its neighbours', label)[0]:.3f}"
        )
    estimate = "20 samples a problem at T 0.8, estimate minus true pass@10"
    for label in ("unbiased", "plug-in"):
        mean, low, high, _ = diff(estimate, label)
        quoted.append(minus(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"))
    assert_page_quotes(PAGE, *quoted)
