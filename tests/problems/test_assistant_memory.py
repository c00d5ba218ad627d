"""Assistant memory miniature: its claims from the printed output, the estimate
recomputed by hand, and the page's numbers."""

from __future__ import annotations

import math
import re

import pytest
from guide import (
    assert_page_quotes,
    assert_page_says,
    module_output,
    page_text,
    paired_differences,
)

from snippets.common import estimation
from snippets.problems import assistant_memory as am
from snippets.problems import assistant_memory_world as w

PAGE = "problems/assistant-memory.md"
MODULE = "snippets.problems.assistant_memory"
NUMBER = r"\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def printed_methods() -> dict[str, dict[str, float]]:
    """Results table: method -> the five metrics."""
    table = output().split("method ", 1)[1].split("Paired differences", 1)[0]
    rows = {}
    for line in table.splitlines()[1:]:
        match = re.match(rf"^(.+?)\s+((?:{NUMBER}\s*){{5}})$", line)
        if match:
            values = map(float, match[2].split())
            rows[match[1].strip()] = dict(zip(am.METRICS, values, strict=True))
    return rows


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def printed_world() -> dict[str, float]:
    out = output()
    return {
        "old": float(re.search(r"of superseded values (\S+),", out)[1]),
        "now": float(re.search(r"of the current one (\S+)", out)[1]),
        "age": float(re.search(r"newest mention: (\d+) days", out)[1]),
        "memories": float(re.search(r"memories a user (\d+)", out)[1]),
    }


def printed_weights() -> dict[str, tuple[tuple[float, ...], str]]:
    block = output().split("stale-first rate", 1)[1].split("\n\n", 1)[0]
    found = {}
    for name, weights, life in re.findall(
        r"^  (\S.*?)\s+(\d\.\d\d \d\.\d\d \d\.\d\d)  (\S+)", block, re.M
    ):
        found[name] = (tuple(map(float, weights.split())), life)
    return found


def test_tables_parse_completely():
    assert set(printed_methods()) == {
        "recency only",
        "similarity only",
        am.EQUAL,
        "Park et al.'s constants",
        am.PARK_WEIGHTS.strip(),
        am.PARK_DECAY.strip(),
        "combined, tuned",
        "without relevance",
        "without recency",
        "without importance",
        am.SUPERSEDE,
    }
    assert len(paired_differences(output())) == sum(len(c[2]) for c in am.COMPARISONS)
    assert len(printed_weights()) == 8


def test_plain_recency_fails_old_stable_facts_most():
    rows = printed_methods()["recency only"]
    assert rows["recall, stable"] < 0.05 < rows["recall, changed"] < 0.3
    assert printed_world()["age"] > 180  # stable facts were last said months ago
    block = "combined, tuned minus recency only"
    for label in ("recall@5, stable facts", "recall@5, changed facts"):
        assert diff(block, label)[1] > 0.5, label


def test_plain_similarity_fails_changed_facts():
    rows = printed_methods()["similarity only"]
    assert rows["recall, changed"] < rows["recall, stable"] - 0.1
    # Similarity cannot tell versions apart: the first memory of a changed fact is
    # stale about as often as stale values make up the fact's mentions.
    world = printed_world()
    assert rows["stale first"] == pytest.approx(
        world["old"] / (world["old"] + world["now"]), abs=0.05
    )
    # The ablation: with old and current mentions thinned to equal counts, the stale
    # value ranks first about half the time: the count, not the similarity, decides.
    assert printed_methods()[am.EQUAL]["stale first"] == pytest.approx(0.5, abs=0.05)
    assert diff(f"{am.EQUAL} minus similarity only", "superseded ranked first")[2] < 0
    block = "combined, tuned minus similarity only"
    assert diff(block, "recall@5, changed facts")[1] > 0.2
    assert diff(block, "superseded ranked first")[2] < -0.3
    assert diff(block, "superseded in top 5")[2] < 0
    assert diff(block, "recall@5, stable facts")[1] > 0


def test_each_term_has_its_own_job():
    no_recency = "without recency minus combined, tuned"
    assert diff(no_recency, "recall@5, changed facts")[2] < -0.1
    assert diff(no_recency, "superseded ranked first")[1] > 0.3
    assert diff(no_recency, "recall@5, stable facts")[1] > 0  # recency costs old facts
    no_importance = "without importance minus combined, tuned"
    stable = diff(no_importance, "recall@5, stable facts")
    changed = diff(no_importance, "recall@5, changed facts")
    assert stable[2] < -0.1 and stable[2] < changed[1]
    assert (
        diff("without relevance minus combined, tuned", "recall@5, all questions")[2]
        < -0.5
    )
    weights = printed_weights()
    assert all(x > 0 for x in weights["combined, tuned"][0])


def test_untuned_constants_lose_to_tuned_weights():
    block = "Park et al.'s constants minus combined, tuned"
    assert diff(block, "recall@5, all questions")[2] < 0
    assert diff(block, "recall@5, changed facts")[2] < 0
    assert printed_weights()["Park et al.'s constants"][1] == "5.8"
    # Split: the short half-life raises stale-first; the equal weights cost recall.
    decay = f"{am.PARK_DECAY.strip()} minus combined, tuned"
    weights = f"{am.PARK_WEIGHTS.strip()} minus combined, tuned"
    assert diff(decay, "superseded ranked first")[1] > 0.2
    assert diff(weights, "superseded ranked first")[2] < 0.1
    assert diff(weights, "recall@5, all questions")[2] < -0.1
    assert printed_weights()[am.PARK_WEIGHTS.strip()][1] == "90.0"
    assert pytest.approx(math.log(2) / -math.log(0.995)) == am.PARK_HALF_LIFE_DAYS * 24


def test_scores_rank_but_only_supersession_at_write_keeps_stale_values_out():
    rows = printed_methods()
    assert rows["combined, tuned"]["superseded"] > 0.5  # still in the prompt
    block = "combined + supersede at write minus combined, tuned"
    assert diff(block, "superseded in top 5")[2] < -0.5
    assert diff(block, "superseded ranked first")[2] < 0
    # The price of wrong links: facts retired by mistake.
    assert diff(block, "recall@5, stable facts")[2] < 0
    assert diff(block, "recall@5, all questions")[2] < 0


def test_estimate_recomputed_by_hand():
    est = am.estimate()
    assert est["turns_qps"] == pytest.approx(30e6 * 18 * 2 / 86_400)
    assert est["session_qps"] == pytest.approx(30e6 * 3 * 2 / 86_400)
    row = 200 + 768 * 2 + 120
    assert est["memory_store"] == estimation.human_bytes(100e6 * 1_500 * row * 3)
    # Message embeddings: 110M parameters x 50 tokens x 2 FLOPs at 50% of 312 TFLOPS.
    assert est["embed_gpus"] == math.ceil(12_500 * 2 * 110e6 * 50 / (312e12 * 0.5))
    # 1e11 vectors overflow 32-bit ids: HNSW's 2M = 32 base-layer links of 8 bytes.
    assert 1e11 > 2**32
    assert est["hnsw_ram"] == estimation.human_bytes(1e11 * (1_536 + 2 * 16 * 8))
    concurrent = 30e6 * 3 * 2 / 86_400 * 600
    assert est["session_cache"] == estimation.human_bytes(concurrent * 1_000 * row)
    # Store and digests on SSD at $0.08 a GB-month; cache on 256 GiB hosts.
    stored = 100e6 * 1_500 * row * 3 + 30e6 * 365 * (1_000 + 1_536) * 3
    assert est["store_dollars"] == pytest.approx(stored / 1e9 * 0.08 * 24 / 730)
    assert est["cache_hosts"] == math.ceil(concurrent * 1_000 * row / 2**38)
    assert est["cache_dollars"] == pytest.approx(est["cache_hosts"] * 24 * 2.1168)
    # Llama 3 70B: K and V, 80 layers, 8 KV heads of 128, 2 bytes, per token.
    assert est["kv_memory"] == estimation.human_bytes(350 * 2 * 80 * 8 * 128 * 2)
    assert est["kv_all"] == estimation.human_bytes(40_000 * 2 * 80 * 8 * 128 * 2)
    stages = [v for k, v in est.items() if k.startswith("stage:")]
    assert est["headroom_ms"] == 1_000 - sum(stages) > 0
    assert est["a100_hour"] == pytest.approx(21.957642 / 8)  # p4d.24xlarge / 8


def prefill_flops(new: int, context: int) -> float:
    """Llama 3 70B: 2 FLOPs per weight per token (blocks only), attention over the
    keys each new token sees, and the output head for the last position."""
    layers, hidden, kv, inter, vocab = 80, 8192, 1024, 28672, 128256
    per_layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * inter + 2 * hidden
    blocks = layers * per_layer + hidden
    attended = context + (new + 1) / 2
    return new * (2 * blocks + 4 * layers * hidden * attended) + 2 * vocab * hidden


def turn_seconds(memory: int) -> float:
    """One turn on 8 A100 40GB with `memory` tokens in context: 400 tokens
    prefilled, 300 decoded at batch 64 or as many sequences as fit; 50% efficiency."""
    layers, hidden, kv, inter, vocab = 80, 8192, 1024, 28672, 128256
    per_layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * inter + 2 * hidden
    blocks = layers * per_layer + hidden
    kv_token = 2 * layers * kv * 2  # K and V, fp16
    context = 2_000 + memory + 500
    room = 8 * 40e9 - 2 * (blocks + 2 * vocab * hidden)
    batch = min(64, int(room // (kv_token * context)))
    read = (
        2 * (blocks + vocab * hidden + batch * hidden)
        + kv_token * (context + 1) * batch
    )
    flops = (
        batch * (2 * blocks + 4 * layers * hidden * (context + 1))
        + batch * 2 * vocab * hidden
    )
    step = max(read / 1.555e12, flops / 312e12)
    prefill = prefill_flops(400, 2_000 + memory) / (312e12 * 0.5)
    return prefill + 300 * step / batch / 0.5


@pytest.mark.parametrize(
    ("label", "new", "context", "per_turn"),
    [
        ("350 after the conversation", 350, 2_000, 1),
        ("350 before it, re-prefilled", 2_350, 0, 1),
        ("all 40,000, once a session", 40_000, 0, 6),
    ],
)
def test_memory_token_cost_from_flops(label, new, context, per_turn):
    prefill, in_turn, seconds, gpus, dollars = am.estimate()[f"policy:{label}"]
    expected = prefill_flops(new, context) / (312e12 * 0.5) / per_turn
    assert prefill == pytest.approx(expected, rel=1e-9)
    memory = 350 if new <= 2_350 else 40_000
    assert in_turn == pytest.approx(turn_seconds(memory) - turn_seconds(0), rel=1e-9)
    # At least the memory's KV, read at each of 300 decoding steps.
    assert in_turn > 300 * memory * 327_680 / 1.555e12 / 0.5
    assert seconds == pytest.approx(prefill + in_turn)
    # 2 FLOPs per parameter per token, the usual shortcut: close for short
    # prompts; at 40,000 tokens attention over the long context adds a third.
    shortcut = 2 * 70.55e9 * new / (312e12 * 0.5) / per_turn
    if new <= 2_350:
        assert shortcut == pytest.approx(prefill, rel=0.1)
    else:
        assert prefill > 1.3 * shortcut
    qps = 30e6 * 18 * 2 / 86_400
    assert gpus == math.ceil(qps * seconds)
    assert dollars == pytest.approx(gpus * 24 * 21.957642 / 8)


def test_page_quotes_the_numbers_the_code_prints():
    out, rows, world = output(), printed_methods(), printed_world()
    quoted = [
        f"{rows['recency only']['recall, stable']:.3f}",
        f"{rows['recency only']['recall, changed']:.3f}",
        f"{rows['similarity only']['recall, stable']:.3f}",
        f"{rows['similarity only']['recall, changed']:.3f}",
        f"{rows['similarity only']['stale first']:.3f}",
        f"{rows['combined, tuned']['recall, all']:.3f}",
        f"{rows['combined, tuned']['superseded']:.3f}",
        f"{rows['combined, tuned']['stale first']:.3f}",
        f"{rows[am.SUPERSEDE]['stale first']:.3f}",
        f"{world['old']:.1f} against {world['now']:.1f}",
        f"{world['age']:.0f} days old",
    ]
    quoted += [f"{abs(mean):.3f}" for mean, *_ in paired_differences(out).values()]
    headline = diff("combined, tuned minus similarity only", "recall@5, changed facts")
    quoted.append(f"{headline[1]:+.3f} to {headline[2]:+.3f}")
    assert not any(tie for *_, tie in paired_differences(out).values())  # "no tie"
    weights, life = printed_weights()["combined, tuned"]
    park_life = printed_weights()["Park et al.'s constants"][1]
    # Phrases (whitespace-insensitive): the tuned weights, and the world's and the
    # linker's assumptions as the page states them.
    phrases = [
        "weights of {:.2f}, {:.2f} and {:.2f}".format(*weights),
        f"half-life of {life} days",
        f"a {park_life}-day half-life",
        f"{w.SESSIONS[0]} to {w.SESSIONS[1]} sessions",
        f"probability {am.LINK_RECALL} per mention",
        f"probability {am.FALSE_LINK} per fact mention",
        f"{am.FALSE_LINK:.0%} false links",
        "({:g} and {:g} against {:g}".format(*w.IMPORTANCE.values()),
        f"first {w.STABLE_WINDOW:.0%} of the history",
    ]
    assert_page_says(PAGE, *phrases)
    quoted += []
    est = am.estimate()
    policy = {k[7:]: v for k, v in est.items() if k.startswith("policy:")}
    after, before, everything, turn = policy.values()
    quoted += [
        f"{est['turns_qps']:,.0f} turns per",
        f"{est['session_qps']:,.0f} session starts",
        est["memory_store"],
        est["summaries"],
        est["transcripts_per_day"],
        est["retrieval_log_per_day"],
        est["write_log_per_day"],
        est["session_loads"],
        est["session_cache"],
        est["flat_vectors"],
        est["hnsw_ram"],
        est["user_vectors"],
        f"{est['scan_cores']} cores",
        f"encoder, {est['embed_gpus']} A100",
        est["kv_memory"],
        est["kv_all"],
        f"{after[0]:.3f}",  # (prefill, in the turn, total, A100s, $ a day)
        f"{after[2]:.3f}",
        f"{after[3]:,} A100s",
        f"${after[4]:,.0f}",
        f"{turn[2]:.3f}",
        f"{before[2]:.3f}",
        f"{before[3]:,}",
        f"{everything[0]:.3f}",
        f"{everything[1]:.3f}",
        f"{everything[2]:.3f}",
        f"{after[2] / turn[2]:.0%}",
        f"{before[2] / after[2]:.1f}x",
        f"{everything[2] / after[2]:.1f}x",
        f"at most {est['batch_all']} conversations",
        f"${est['store_dollars']:,.0f} a day",
        f"{est['cache_hosts']} RAM hosts",
        f"${est['cache_dollars']:,.0f} a day",
        f"{rows[am.EQUAL]['stale first']:.3f}",
        f"{est['extract_gpus']:,}",
        f"${est['extract_dollars']:,.0f}",
        f"{est['headroom_ms']:.0f} ms",
        f"{est['prefill_ms']:.0f} ms",
        f"{est['prefill_tokens']:,} tokens",
        f"${est['a100_hour']:.2f}",
    ]
    assert_page_quotes(PAGE, *quoted)


def test_the_diagram_and_table_carry_the_budget():
    page = page_text(PAGE)
    est = am.estimate()
    stages = {k[6:]: v for k, v in est.items() if k.startswith("stage:")}
    table = page.split("| stage | allocation |", 1)[1].split("\n\n", 1)[0]
    shown = [float(ms) for ms in re.findall(r"(\d+) ms", table)]
    assert shown == [*stages.values(), est["headroom_ms"]]
    diagram = page.split("```mermaid", 1)[1].split("```", 1)[0]
    drawn = [float(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    assert len(drawn) >= 4 and set(drawn) <= set(stages.values())
