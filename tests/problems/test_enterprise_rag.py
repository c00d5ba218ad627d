"""Enterprise RAG miniature: its claims, its estimate, the numbers the page quotes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, paired_differences
from scipy import stats

from snippets.common import estimation
from snippets.concepts.generative_ai import (
    H100_SXM,
    LLAMA_3_70B,
    Accelerator,
    forward_time,
)
from snippets.problems import enterprise_rag as er

PAGE = "problems/enterprise-rag.md"
MODULE = "snippets.problems.enterprise_rag"
NUMBER = r"[+-]?\d[\d,]*\.?\d*"


def output() -> str:
    return module_output(MODULE)


def block(start: str, end: str) -> list[str]:
    return output().split(start, 1)[1].split(end, 1)[0].strip("\n").splitlines()


def tier_table() -> dict[str, dict[str, float]]:
    """groups -> visible, recall pre, recall post, in context pre, post."""
    rows = {}
    for line in block("in context pre  post\n", "Users who read")[0:]:
        name, visible, *values = line.split()
        keys = ("recall_pre", "recall_post", "filled_pre", "filled_post")
        rows[name] = {"visible": float(visible.rstrip("%")) / 100}
        rows[name].update(zip(keys, map(float, values), strict=True))
    return rows


def cut_tables() -> tuple[dict, dict]:
    """recall by cut (with pre and the tied cut), and chunks filled by cut."""
    recall, filled = {}, {}
    lines = block("tied at\n", "\nAnswers")
    split = next(i for i, line in enumerate(lines) if line.startswith("filled"))
    for line in lines[:split]:
        name, *values, pre, tied = line.split()
        recall[name] = {
            "cuts": dict(zip(er.CUTS, map(float, values), strict=True)),
            "pre": float(pre),
            "tied": int(tied.removeprefix("k'=")),
        }
    for line in lines[split + 1 :]:
        name, *values, ratio = line.split()
        filled[name] = {
            "cuts": dict(zip(er.CUTS, map(float, values), strict=True)),
            "ratio": float(ratio),
        }
    return recall, filled


def answer_table() -> dict[str, dict[str, float]]:
    keys = ("correct", "wrong", "abstain", "c_prec", "c_rec", "u_abstain", "u_wrong")
    rows = {}
    for line in block("c.recall  abstain  wrong\n", "\nResponse cache"):
        match = re.match(r"^(.+?)\s+((?:\d\.\d{3}\s*){7})$", line)
        assert match, line
        rows[match[1]] = dict(zip(keys, map(float, match[2].split()), strict=True))
    return rows


def cache_table() -> dict[str, dict[str, float]]:
    rows = {}
    for line in block("(seeds)\n", "\nPaired"):
        match = re.match(r"^(.+?)\s+(\d+\.\d)%\s+(\d+\.\d)\s+\((\S+)-(\S+)\)$", line)
        assert match, line
        rows[match[1].strip()] = {
            "hit": float(match[2]),
            "leaks": float(match[3]),
            "low": float(match[4]),
            "high": float(match[5]),
        }
    return rows


def diff(comparison: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[comparison, label]


PRE_POST = "pre-filter minus post-filter (k' = 5)"
CUT = "pre, cut to post's size minus post-filter"


def test_tables_parse_completely():
    assert list(tier_table()) == ["1", "2", "4", "8", "16", "all"]
    recall, filled = cut_tables()
    assert list(recall) == list(filled) == ["1", "2", "4", "8", "16"]
    assert len(answer_table()) == 5
    assert len(cache_table()) == len(er.rr.CACHE_POLICIES)
    assert len(paired_differences(output())) == 6 + 2 + 4 + 4 + 1 + 2


def test_visibility_falls_with_fewer_groups():
    visible = [row["visible"] for row in tier_table().values()]
    assert visible == sorted(visible) and visible[-1] == 1.0 and visible[0] < 0.15


def test_the_post_filter_starves_the_context_and_loses_recall():
    rows = tier_table()
    gaps = []
    for name, row in rows.items():
        assert row["filled_pre"] == 5.0
        label = "recall@5, 1 group" if name == "1" else f"recall@5, {name} groups"
        mean, low, high, tie = diff(PRE_POST, label)
        gaps.append(mean)
        if name == "all":  # nothing to filter: the two are the same computation
            assert (mean, low, high, tie) == (0.0, 0.0, 0.0, True)
            assert row["filled_post"] == 5.0
        else:
            assert low > 0 and not tie, name
            assert row["filled_post"] < 5.0
    assert gaps[0] > gaps[-2] > 0  # the gap grows as visibility falls
    filled = [row["filled_post"] for row in rows.values()]
    assert filled == sorted(filled)
    assert diff(PRE_POST, "chunks in context, 1 group")[1] > 3


def test_a_deeper_cut_recovers_recall_and_fills_near_k_over_visibility():
    recall, filled = cut_tables()
    for name, row in recall.items():
        values = list(row["cuts"].values())
        assert values == sorted(values), name  # a deeper cut never loses recall
        assert row["cuts"][er.CUTS[-1]] >= row["pre"] - 0.01, name
        assert row["tied"] in er.CUTS and row["cuts"][row["tied"]] >= row["pre"] - 0.01
        cuts = filled[name]["cuts"]
        ratio = filled[name]["ratio"]
        # Where k' reaches about k / visible, the context is (nearly) full; well
        # below it, it is not.
        full = min(c for c in er.CUTS if c >= ratio)
        assert cuts[full] >= 4.5, name
        below = [c for c in er.CUTS if c <= ratio / 2]
        assert all(cuts[c] < 4.5 for c in below), name


def test_hybrid_beats_either_retriever_alone():
    line = next(x for x in output().splitlines() if x.startswith("Users who read"))
    values = dict(re.findall(r"(\w+) (\d\.\d{3})", line))
    assert float(values["fused"]) > float(values["dense"]) > float(values["BM25"])
    assert (
        diff("fused minus dense alone (users who read everything)", "recall@5")[1] > 0
    )


def test_answers_follow_the_context_and_the_cut_ablation_explains_abstention():
    rows = answer_table()
    pre, post = rows["pre-filter"], rows["post-filter"]
    for row in rows.values():
        assert row["correct"] + row["wrong"] + row["abstain"] == pytest.approx(
            1, abs=2e-3
        )
        assert row["u_abstain"] + row["u_wrong"] == pytest.approx(1, abs=2e-3)
    assert diff(PRE_POST, "correct answers")[1] > 0
    assert diff(PRE_POST, "citation recall")[1] > 0
    assert diff(PRE_POST, "citation precision")[2] < 0
    assert diff(PRE_POST, "abstentions, unanswerable")[2] < 0
    assert post["u_abstain"] > pre["u_abstain"]
    cut = "pre, cut to post's size minus post-filter"
    assert diff(cut, "abstentions, unanswerable")[3]  # a tie: context size is the cause
    assert (
        abs(diff(cut, "correct answers")[0]) < diff(PRE_POST, "correct answers")[0] / 4
    )


def test_the_threshold_trades_answers_for_abstentions():
    rows = answer_table()
    low, mid, high = (
        rows["pre-filter, threshold 0.6"],
        rows["pre-filter"],
        rows["pre-filter, threshold 0.8"],
    )
    assert low["correct"] > mid["correct"] > high["correct"]
    assert low["u_abstain"] < mid["u_abstain"] < high["u_abstain"]
    assert low["c_prec"] < mid["c_prec"] < high["c_prec"]


def test_only_a_permission_keyed_rechecked_cache_never_leaks():
    rows = cache_table()
    assert rows["no cache"]["leaks"] == rows["no cache"]["high"] == 0
    assert rows["and re-checked at serve time"]["high"] == 0
    query = rows["query alone"]
    assert query["low"] > 500 and query["hit"] > 90
    ttl8, ttl1 = (
        rows["query + permission set, TTL 8 h"],
        rows["query + permission set, TTL 1 h"],
    )
    assert query["hit"] > ttl8["hit"] > ttl1["hit"]
    assert ttl8["leaks"] > ttl1["leaks"] > 0
    names = [p.name.strip() for p in er.rr.CACHE_POLICIES]
    label = "leaks per 1,000 questions"
    assert diff(f"{names[1]} minus {names[2]}", label)[1] > 0
    assert diff(f"{names[2]} minus {names[3]}", label)[1] > 0


def test_estimate_comes_from_the_shared_helpers_and_the_model_shapes():
    est = er.estimate()
    assert est["peak_qps"] == pytest.approx(estimation.peak_qps(40_000, 6, 4.0))
    assert est["peak_qps"] == pytest.approx(240_000 / 86_400 * 4)
    assert est["ann_bytes_per_chunk"] == 768 * 2 + 32 * 4 + 8 + 6 * 4
    assert est["ann_index"] == estimation.human_bytes(300e6 * 1_696 * 2)
    stages = {k[6:]: v for k, v in est.items() if k.startswith("stage:")}
    assert est["headroom_ms"] == 2_000 - sum(stages.values()) > 0
    # Prefill is compute-bound: 2 FLOPs per weight per token, plus attention,
    # on four H100s at half their dense peak.
    weights = LLAMA_3_70B.layer_parameters
    flops = 3_500 * 2 * weights + 2 * LLAMA_3_70B.table_parameters
    flops += 3_500 * 4 * LLAMA_3_70B.layers * LLAMA_3_70B.hidden * (3_501 / 2)
    assert est["prefill_ms"] == pytest.approx(
        flops / (4 * H100_SXM.peak_flops) / 0.5 * 1e3
    )
    # KV cache: 2 (K, V) x 80 layers x 8 KV heads x 128 dims x 2 bytes a token.
    assert est["kv_gb_per_sequence"] == pytest.approx(
        2 * 80 * 8 * 128 * 2 * 3_800 / 1e9
    )
    assert est["gpus"] == 4 * est["replicas"]
    assert est["replicas"] == max(
        2, int(np.ceil(11.1111 * est["replica_s_per_question"] / 0.6))
    )
    # One-sided 95% upper bound for 0 successes: 1 - 0.05^(1/n).
    assert est["red_team_upper"] == pytest.approx(stats.beta.ppf(0.95, 1, 3_000))
    assert est["red_team_upper"] == pytest.approx(1 - 0.05 ** (1 / 3_000))
    assert est["red_team_upper_documents"] == pytest.approx(1 - 0.05 ** (1 / 300))


def test_peak_batch_cost_per_stage_and_working_days():
    est = er.estimate()
    qps, replicas, prefill_s = est["peak_qps"], est["replicas"], est["prefill_ms"] / 1e3
    # The peak's batch is self-consistent: the fleet's replica-seconds at that
    # batch cover the arrivals, and one sequence fewer would not.
    tp = Accelerator(
        "tp4",
        4 * H100_SXM.memory_bytes,
        4 * H100_SXM.bandwidth,
        4 * H100_SXM.peak_flops,
    )

    def replica_s(b: int) -> float:  # replica time a question costs at batch b
        step = forward_time(LLAMA_3_70B, tp, 1, 3_650, b).seconds / 0.5
        return prefill_s + 300 * step / b

    b = est["batch_at_peak"]
    assert est["replica_s_at_peak"] == pytest.approx(replica_s(b))
    assert qps * replica_s(b) <= replicas < qps * replica_s(b - 1)
    assert b < est["batch"]
    # Each replica: prefills for a share of its time, decode steps in the rest.
    stall = qps / replicas * prefill_s
    assert est["prefill_stall_share"] == pytest.approx(stall)
    gap = est["tpot_at_peak_ms"] / (1 - stall)
    assert est["token_gap_at_peak_ms"] == pytest.approx(gap)
    # Little's law: in flight = arrival rate x time in the system; the decoding
    # ones, shared among the replicas, are the batch.
    in_flight = qps * (prefill_s + 300 * gap / 1e3)
    assert est["in_flight_at_peak"] == pytest.approx(in_flight)
    assert b - 1 < qps * 300 * gap / 1e3 / replicas <= b
    # Memory-bound decode: a smaller batch steps faster but costs more per sequence.
    assert est["tpot_at_peak_ms"] < est["tpot_ms"]
    assert est["replica_s_at_peak"] > est["replica_s_per_question"]
    # Prefix caching skips 700 of 3,500 prompt tokens: about a fifth of prefill.
    assert 0.15 < 1 - est["cached_prefill_ms"] / est["prefill_ms"] < 0.25
    # The rewrite allocation leaves its roofline latency ~20% of slack for a p99.
    assert est["stage:query rewrite (small model)"] >= 1.2 * est["rewrite_ms"]
    months = {k: v for k, v in est.items() if k.startswith("month:")}
    assert set(months) == {
        f"month:{n}" for n in ("LLM", "rewrite", "re-ranker", "checks", "index hosts")
    }
    assert months["month:LLM"] == pytest.approx(est["gpus"] * 55.04 / 8 * 730)
    # Encoders compute-bound on L4s at 30% of 121 TFLOP/s, 50% utilisation.
    entail_s = 2 * 435e6 * 20 * 330 / (121e12 * 0.3)
    classify_s = 2 * 2 * 110e6 * 400 / (121e12 * 0.3)
    assert est["entail_ms"] == pytest.approx(entail_s * 1e3)
    checkers = max(
        2, int(np.ceil(240_000 / 86_400 * 4 * (entail_s + classify_s) / 0.5))
    )
    assert months["month:checks"] == pytest.approx(checkers * 0.8048 * 730)
    # 240,000 questions on each of 365 x 5 / 7 / 12 working days a month.
    per_question = sum(months.values()) / (240_000 * 365 * 5 / 7 / 12)
    assert est["dollars_per_question"] == pytest.approx(per_question)
    assert est["membership_headroom_s"] == 300 - 120 - 60 > 0


def test_the_page_quotes_the_programs_numbers():
    out = output()

    def grab(pattern: str) -> list[str]:
        match = re.search(pattern, out)
        assert match, pattern
        return list(match.groups())

    assert_page_quotes(
        PAGE,
        *grab(r"= ([\d,]+) a day; peak ([\d.]+) a second"),
        *grab(r"dense ([\d.]+ TB) \(([\d,]+ B) a chunk"),
        *grab(r"BM25 ([\d.]+ GB)"),
        *grab(r"chunk store ([\d.]+ TB)"),
        *grab(r"read <= ([\d,]+) chunks \(([\d.]+%)"),
        *grab(r"questions and answers ([\d.]+ MB), feedback events ([\d.]+ MB)"),
        *grab(r"change feed ([\d.]+ MB), judged samples ([\d.]+ MB)"),
        *grab(r"embeddings ([\d.]+) L4-hours once \((\$\d+)\), ([\d.]+) a day"),
        *grab(r"OCR ([\d,]+) core-hours once \((\$\d+)\); (\d+) chunk"),
        *grab(r"prefill (\d+ ms); 300 tokens"),
        *grab(r"at ([\d.]+ ms) \(batch 64\) = ([\d.]+ s); KV ([\d.]+ GB)"),
        *grab(r"(\d+) fit"),
        *grab(r"([\d.]+) replica-s"),
        *grab(r"prefill (\d+ ms) with the prefix cached"),
        *grab(r"(\d+ replicas) = (\d+ H100s)"),
        *grab(r"prefills (\d+%) of the time; batch (\d+) keeps up"),
        *grab(r"step ([\d.]+ ms), token gap ([\d.]+ ms), (\d+) in flight"),
        *grab(r"([\d.]+) replica-s each = ([\d.]+) replicas"),
        *grab(r"rewrite (\d+ ms) on (\d+) H100s"),
        *grab(r"re-ranker (\d+ ms) on (\d+) L4s"),
        *grab(
            r"input checks (\d+ ms), citation entailment (\d+ ms) a sentence on (\d+)"
        ),
        *grab(r"LLM (\$[\d,]+), rewrite (\$[\d,]+), re-ranker (\$[\d,]+),"),
        *grab(r"checks (\$[\d,]+), index hosts (\$[\d,]+) \(LLM (\d+%)\)"),
        *grab(r"(\$[\d.]+) a question \(working days\)"),
        *grab(r"question (\$[\d.]+) at full batch, (\$[\d.]+) at the peak"),
        *grab(r"0 leaks in ([\d,]+) probes: leak rate below ([\d.]+%)"),
        *grab(r"([\d.]+%) counting the 300"),
        *grab(r"headroom\s+(\d+) ms"),
        *grab(r"within (\d+ s)"),
        *grab(r"membership cache TTL 60, headroom (\d+)"),
    )
    tiers = tier_table()
    recall, filled = cut_tables()
    answers = answer_table()
    cache = cache_table()
    ones = tiers["1"]
    assert_page_quotes(
        PAGE,
        f"{ones['visible']:.1%}",
        f"{ones['filled_post']:.2f}",
        f"{ones['recall_post']:.3f}",
        f"{ones['recall_pre']:.3f}",
        f"{tiers['all']['recall_pre']:.3f}",
        f"{recall['4']['cuts'][20]:.3f}",
        f"{recall['4']['pre']:.3f}",
        f"{filled['1']['cuts'][80]:.2f}",
        f"{filled['1']['ratio']:.0f}",
        f"k' = {recall['1']['tied']}",
    )
    pre, post = answers["pre-filter"], answers["post-filter"]
    low, high = (
        answers["pre-filter, threshold 0.6"],
        answers["pre-filter, threshold 0.8"],
    )
    assert_page_quotes(
        PAGE,
        *(f"{v:.3f}" for v in (post["u_abstain"], pre["u_abstain"])),
        *(f"{low[k]:.3f}" for k in ("correct", "u_wrong")),
        *(f"{high[k]:.3f}" for k in ("correct", "u_wrong", "u_abstain")),
    )
    q, t8 = cache["query alone"], cache["query + permission set, TTL 8 h"]
    t1, rc = (
        cache["query + permission set, TTL 1 h"],
        cache["and re-checked at serve time"],
    )
    assert_page_quotes(
        PAGE,
        f"{q['hit']:.1f}%",
        f"{q['leaks']:.1f}",
        f"{t8['hit']:.1f}%",
        f"{t8['leaks']:.1f}",
        f"{t1['leaks']:.1f}",
        f"{t1['low']:.1f} to {t1['high']:.1f}",
        f"{rc['hit']:.1f}%",
    )
    gap = diff(PRE_POST, "recall@5, 1 group")
    assert_page_quotes(
        PAGE,
        f"{gap[0]:.3f} [{gap[1]:.3f}, {gap[2]:.3f}]",
        f"{diff(PRE_POST, 'recall@5, 16 groups')[0]:.3f}",
        f"{diff(PRE_POST, 'correct answers')[0]:.3f}",
        f"[{diff(PRE_POST, 'correct answers')[1]:.3f}",
        f"{diff(PRE_POST, 'citation recall')[0]:.3f}",
        f"{-diff(PRE_POST, 'citation precision')[0]:.3f}",
        f"{diff(CUT, 'abstentions, unanswerable')[0]:+.3f}",
        f"{-diff(CUT, 'correct answers')[0]:.3f}",
    )
    hybrid = diff("fused minus dense alone (users who read everything)", "recall@5")
    assert_page_quotes(PAGE, f"{hybrid[0]:+.3f} [{hybrid[1]:+.3f}, {hybrid[2]:+.3f}]")


def test_replay_cache_runs_every_policy_on_a_small_stream():
    world = er.ew.make_world(0)
    bm25 = er.BM25(world.chunk_counts)
    small = er.rr.StreamConfig(requests=40, users=6, questions=5)
    result = er.rr.replay_cache(world, bm25, 0, small)
    assert set(result) == {p.name for p in er.rr.CACHE_POLICIES}
    assert result["no cache"]["leaks_per_1000"] == 0
    assert result["no cache"]["hit_rate"] == 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="requests"):
        er.rr.StreamConfig(requests=0)
    with pytest.raises(ValueError, match="change_hour"):
        er.rr.StreamConfig(change_hour=9.0)
    with pytest.raises(ValueError, match="narrowed"):
        er.rr.StreamConfig(narrowed=1.5)
    with pytest.raises(TypeError, match="seed"):
        er.run_seed("0")
