"""KV-cache and roofline arithmetic equal hand-computed values; chunking covers text."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snippets.common.fusion import reciprocal_rank_fusion
from snippets.concepts import generative_ai as ga

PAGE = "concepts/generative-ai.md"
MIB = 2**20


def test_kv_cache_per_token_matches_hand_computed_values():
    # 2 (K and V) x layers x kv_heads x head_dim x 2 bytes (fp16)
    assert ga.kv_cache_bytes(ga.LLAMA_2_7B, 1) == 2 * 32 * 32 * 128 * 2 == MIB // 2
    assert ga.kv_cache_bytes(ga.LLAMA_2_70B, 1) == 2 * 80 * 8 * 128 * 2 == 327_680
    assert ga.kv_cache_bytes(ga.LLAMA_3_8B, 1) == 2 * 32 * 8 * 128 * 2 == 131_072
    # Llama 2 7B at its full 4,096-token context: exactly 2 GiB per sequence.
    assert ga.kv_cache_bytes(ga.LLAMA_2_7B, 4096) == 2 * 2**30


def test_grouped_query_attention_shrinks_the_cache_by_the_group_size():
    mha = ga.ModelConfig("mha", 80, 8192, 64, 64, 28672, 32000)
    ratio = ga.kv_cache_bytes(mha, 100) / ga.kv_cache_bytes(ga.LLAMA_2_70B, 100)
    assert ratio == 64 / 8


def hand_count(vocab, hidden, layers, kv_width, intermediate):
    """Embeddings + layers x (q, o, k, v, gated MLP, two norms) + final norm."""
    attention = 2 * hidden**2 + 2 * hidden * kv_width
    per_layer = attention + 3 * hidden * intermediate + 2 * hidden
    return 2 * vocab * hidden + layers * per_layer + hidden


@pytest.mark.parametrize(
    ("config", "published"),
    [
        (ga.LLAMA_2_7B, hand_count(32000, 4096, 32, 4096, 11008)),
        (ga.LLAMA_3_8B, hand_count(128256, 4096, 32, 8 * 128, 14336)),
        (ga.LLAMA_2_70B, hand_count(32000, 8192, 80, 8 * 128, 28672)),
    ],
)
def test_parameter_count_matches_the_model_size(config, published):
    assert config.parameters == published
    # And rounds to the size in the model's name (6.74B is sold as "7B").
    nominal = {"Llama 2 7B": 6.74e9, "Llama 3 8B": 8.03e9, "Llama 2 70B": 68.98e9}
    assert config.parameters == pytest.approx(nominal[config.name], rel=1e-3)


def test_cache_is_linear_in_tokens_batch_and_precision():
    one = ga.kv_cache_bytes(ga.LLAMA_3_8B, 1000, 1)
    assert ga.kv_cache_bytes(ga.LLAMA_3_8B, 3000, 4) == 12 * one
    assert ga.kv_cache_bytes(ga.LLAMA_3_8B, 1000, 1, bytes_per_value=1) == one / 2


def test_decode_is_memory_bound_and_prefill_compute_bound():
    gpu, m = ga.A100_80GB, ga.LLAMA_3_8B
    decode = ga.forward_time(m, gpu, new_tokens=1, context=0)
    # Batch 1 decode reads every block and the output head once, but only one row
    # of the 128,256 x 4,096 input table: 8.03B - 0.525B + 4,096 weights, fp16.
    table = 128_256 * 4_096
    weights_read = m.parameters - table + 4_096
    assert decode.bound == "memory"
    assert decode.memory_s == pytest.approx(weights_read * 2 / gpu.bandwidth, rel=1e-4)
    # 2 FLOPs per weight that multiplies: every weight except the table's.
    assert decode.compute_s == pytest.approx(
        2 * (m.parameters - table) / gpu.peak_flops, rel=1e-3
    )
    assert ga.forward_time(m, gpu, new_tokens=2048, context=0).bound == "compute"


def test_only_the_current_tokens_rows_of_the_table_are_read():
    gpu = ga.A100_80GB
    small = ga.ModelConfig("v", 4, 512, 8, 8, 1024, 1_000)
    large = ga.ModelConfig("v", 4, 512, 8, 8, 1024, 101_000)  # +100k vocab rows
    # A bigger vocabulary adds its output head (read in full) to every step, but
    # only one more table row per token (none here): 100,000 x 512 x 2 bytes.
    extra = (
        ga.forward_time(large, gpu, 1, context=10).memory_s
        - ga.forward_time(small, gpu, 1, context=10).memory_s
    ) * gpu.bandwidth
    assert extra == pytest.approx(100_000 * 512 * 2, rel=1e-9)
    # Eight sequences read eight rows of the table, not the table.
    rows = (
        ga.forward_time(small, gpu, 1, context=10, batch=8).memory_s
        - ga.forward_time(small, gpu, 1, context=10, batch=1).memory_s
    ) * gpu.bandwidth - (ga.kv_cache_bytes(small, 11, 8) - ga.kv_cache_bytes(small, 11))
    assert rows == pytest.approx(7 * 512 * 2, rel=1e-6)


def test_prefill_computes_logits_for_the_last_position_only():
    gpu, m = ga.A100_80GB, ga.LLAMA_3_8B
    one, many = (ga.forward_time(m, gpu, n, context=0) for n in (1, 2))
    # The second prompt token adds its block FLOPs and attention, not a head pass.
    added = (many.compute_s - one.compute_s) * gpu.peak_flops
    blocks = 2 * (m.parameters - 2 * 128_256 * 4_096)
    attention = 4 * 32 * 4_096 * (2 * 1.5 - 1 * 1)  # tokens x mean keys seen
    assert added == pytest.approx(blocks + attention, rel=1e-9)


def test_verification_computes_logits_at_every_checked_position():
    gpu, m = ga.A100_80GB, ga.LLAMA_3_8B
    drafts, batch, context = 4, 256, 512
    head_once, head_all = (
        ga.forward_time(m, gpu, drafts + 1, context, batch, logit_positions=k)
        for k in (1, drafts + 1)
    )
    # The extra positions add only head FLOPs: 2 x vocab x hidden per logit row.
    added = (head_all.compute_s - head_once.compute_s) * gpu.peak_flops
    assert added == pytest.approx(drafts * batch * 2 * 128_256 * 4_096, rel=1e-9)
    assert head_all.memory_s == head_once.memory_s  # the head is read once either way
    # The program's verification row, recomputed from the architecture: blocks and
    # attention for 5 tokens of each of 256 sequences, and the head at all 5.
    table = 128_256 * 4_096
    tokens = batch * (drafts + 1)
    attention = 4 * 32 * 4_096 * (context + (drafts + 2) / 2)
    flops = tokens * (2 * (m.parameters - 2 * table) + attention)
    flops += 2 * table * tokens
    out = module_output("snippets.concepts.generative_ai")
    row = re.search(r"batch 256, context 512: 5 tokens +([\d.]+) ms", out)
    assert float(row[1]) == pytest.approx(flops / gpu.peak_flops * 1e3, abs=0.006)
    with pytest.raises(ValueError, match="logit_positions"):
        ga.forward_time(m, gpu, 2, context, logit_positions=3)
    with pytest.raises(ValueError, match="logit_positions"):
        ga.forward_time(m, gpu, 2, context, logit_positions=0)


def test_batching_amortises_weight_reads_until_compute_bound():
    gpu, m = ga.A100_80GB, ga.LLAMA_3_8B
    rate = [
        b / ga.forward_time(m, gpu, 1, context=512, batch=b).seconds
        for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
    ]
    assert all(later >= 0.999 * earlier for earlier, later in itertools.pairwise(rate))
    # Once compute-bound (batch 512 and 1024 here) the rate stops growing.
    assert rate[-1] == pytest.approx(rate[-2], rel=1e-6)
    assert rate[4] / rate[0] > 14  # batch 16: about 15x the tokens per second
    assert ga.forward_time(m, gpu, 1, context=512, batch=1024).bound == "compute"
    # With long contexts every sequence reads its own cache: still memory-bound.
    assert ga.forward_time(m, gpu, 1, context=4096, batch=64).bound == "memory"
    assert ga.fits_in_memory(m, gpu, 4096, 64)
    assert not ga.fits_in_memory(m, gpu, 4096, 256)


def test_70b_in_fp16_does_not_fit_one_80gb_gpu():
    gpu, big = ga.A100_80GB, ga.LLAMA_2_70B
    assert ga.kv_room_bytes(big, gpu, 1, 2) == pytest.approx(
        80e9 - 2 * 68.98e9, rel=1e-3
    )
    assert ga.kv_room_bytes(big, gpu, 1, 2) < 0  # tensor parallelism or quantisation
    assert ga.kv_room_bytes(big, gpu, 2, 2) == pytest.approx(160e9 - 137.96e9, rel=1e-3)
    assert ga.kv_room_bytes(big, gpu, 1, 1) == pytest.approx(80e9 - 68.98e9, rel=1e-3)
    with pytest.raises(ValueError, match="positive integer"):
        ga.kv_room_bytes(big, gpu, 0, 2)


def test_speculative_sampling_returns_the_target_distribution():
    rng = np.random.default_rng(0)
    target = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    draft = np.array([0.1, 0.4, 0.1, 0.3, 0.1])  # a poor draft model
    draws = [ga.speculative_step(target, draft, rng) for _ in range(40_000)]
    tokens = np.bincount([t for t, _ in draws], minlength=5)
    assert stats.chisquare(tokens, target * len(draws)).pvalue > 0.001
    # Acceptance rate = sum of min(p, q), i.e. 1 - total variation distance.
    kept = np.mean([k for _, k in draws])
    assert kept == pytest.approx(np.minimum(target, draft).sum(), abs=0.01)


def test_tokens_per_pass_and_speedup_match_a_simulation():
    rng = np.random.default_rng(1)
    alpha, gamma, cost = 0.7, 4, 0.05
    # Count draft tokens kept before the first rejection, plus the target's token.
    kept = (rng.random((200_000, gamma)) < alpha).cumprod(axis=1).sum(axis=1)
    tokens = kept + 1
    assert tokens.mean() == pytest.approx(
        ga.expected_tokens_per_pass(alpha, gamma), rel=0.01
    )
    # Each iteration costs gamma draft steps and one target pass.
    speedup = tokens.sum() / (len(tokens) * (gamma * cost + 1))
    assert speedup == pytest.approx(
        ga.speculative_speedup(alpha, gamma, cost), rel=0.01
    )
    assert ga.expected_tokens_per_pass(1.0, gamma) == gamma + 1
    assert ga.expected_tokens_per_pass(0.0, gamma) == 1


def test_speculative_bad_input_raises_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="probability vector"):
        ga.speculative_step(np.array([0.5, 0.6]), np.array([0.5, 0.5]), rng)
    with pytest.raises(ValueError, match="same vocabulary"):
        ga.speculative_step(np.array([1.0]), np.array([0.5, 0.5]), rng)
    with pytest.raises(ValueError, match="acceptance"):
        ga.expected_tokens_per_pass(1.5, 4)
    with pytest.raises(TypeError, match="integer"):
        ga.expected_tokens_per_pass(0.5, 4.0)
    with pytest.raises(ValueError, match="draft_cost"):
        ga.speculative_speedup(0.5, 4, -1)


@settings(max_examples=200, deadline=None)
@given(
    n_words=st.integers(0, 120),
    size=st.integers(1, 30),
    overlap_share=st.floats(0, 0.99),
)
def test_chunks_cover_every_word_and_overlap_exactly(n_words, size, overlap_share):
    words = [f"w{i}" for i in range(n_words)]
    overlap = int(overlap_share * size)
    chunks = ga.chunk_words(words, size, overlap)
    covered = {c.start + i for c in chunks for i in range(len(c.words))}
    assert covered == set(range(n_words))
    for c in chunks:
        assert list(c.words) == words[c.start : c.start + len(c.words)]
        assert 1 <= len(c.words) <= size
    for left, right in itertools.pairwise(chunks):
        assert len(left.words) == size  # only the last chunk may be short
        assert left.start + size - right.start == overlap
    # Rebuilding the text from chunks minus their overlaps gives the document back.
    rebuilt = list(chunks[0].words) if chunks else []
    for c in chunks[1:]:
        rebuilt += c.words[overlap:]
    assert rebuilt == words


def test_chunking_bad_input_raises_a_clear_error():
    with pytest.raises(TypeError, match="not a string"):
        ga.chunk_words("a b c", 2, 0)
    with pytest.raises(TypeError, match="every word"):
        ga.chunk_words(["a", 3], 2, 0)
    with pytest.raises(TypeError, match="integer"):
        ga.chunk_words(["a"], 2.0, 0)
    with pytest.raises(ValueError, match="at least 1"):
        ga.chunk_words(["a"], 0, 0)
    with pytest.raises(ValueError, match=r"overlap must be in \[0, size\)"):
        ga.chunk_words(["a"], 3, 3)
    with pytest.raises(ValueError, match=r"overlap must be in \[0, size\)"):
        ga.chunk_words(["a"], 3, -1)


def test_other_bad_input():
    with pytest.raises(ValueError, match="multiple of kv_heads"):
        ga.ModelConfig("bad", 2, 64, 8, 3, 128, 10)
    with pytest.raises(ValueError, match="positive integer"):
        ga.ModelConfig("bad", 0, 64, 8, 8, 128, 10)
    with pytest.raises(ValueError, match="non-negative integer"):
        ga.kv_cache_bytes(ga.LLAMA_3_8B, -5)
    with pytest.raises(ValueError, match="bytes_per_value"):
        ga.kv_cache_bytes(ga.LLAMA_3_8B, 5, bytes_per_value=0)
    with pytest.raises(ValueError, match="new_tokens"):
        ga.forward_time(ga.LLAMA_3_8B, ga.A100_80GB, new_tokens=0, context=5)


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.generative_ai")
    kv_rows = re.findall(
        r"^(.{13}) +(\S+B) +(\S+) +\d+ +(\d+) +(\S+) +(\S+) +(\S+)$", out, re.M
    )
    assert len(kv_rows) == 4
    for _, params, _weights, kib, short, long, batched in kv_rows:
        assert_page_quotes(PAGE, params, f"{kib} KiB", short, long, batched)
    weights = {name.strip(): w for name, _, w, *_ in kv_rows}
    assert_page_quotes(
        PAGE, f"{weights['Llama 2 7B']} GB", f"{weights['Llama 3 8B']} GB"
    )
    ridge = re.search(r"ridge point (\d+) FLOP/byte", out)[1]
    assert int(ridge) > 100  # far above the ~1 FLOP/byte of batch-1 decode
    assert_page_quotes(PAGE, f"{ridge} FLOP")
    prefill = re.search(r"prefill .*memory +(\S+) ms +compute +(\S+) ms", out)
    assert float(prefill[2]) > 10 * float(prefill[1])
    assert_page_quotes(PAGE, *prefill.groups())
    decode = re.search(r"decode .*compute +(\S+) ms", out)
    assert_page_quotes(PAGE, decode[1])
    table = re.findall(
        r"^ +(\d+) +(\d+) +(\S+) +(\S+) +(\w+) +(\S+) +(\d+)x +(\d+)% +(yes|no)$",
        out,
        re.M,
    )
    assert len(table) == 10
    rate = {
        (int(c), int(b)): (ms, bound, tps, kv, x, linear)
        for c, b, kv, ms, bound, tps, x, linear, _ in table
    }
    for key in [(512, 1), (512, 16), (512, 256), (512, 512), (4096, 64), (4096, 256)]:
        assert_page_quotes(PAGE, rate[key][2])
    assert_page_quotes(PAGE, rate[(512, 1)][0], rate[(512, 512)][0])
    # The speed-up columns follow from tokens/s: x batch 1, and that over the batch.
    for (context, batch), (_, _, tps, _, x, linear) in rate.items():
        ratio = float(tps.replace(",", "")) / float(rate[context, 1][2])
        assert float(x) == pytest.approx(ratio, abs=0.6)
        assert float(linear) == pytest.approx(100 * ratio / batch, abs=0.6)
    weights_gb = re.search(r"weights read per decode step ([\d.]+) GB", out)[1]
    expected = (ga.LLAMA_3_8B.layer_parameters + ga.LLAMA_3_8B.table_parameters) * 2
    assert float(weights_gb) == pytest.approx(expected / 1e9, abs=0.05)
    # Near-linear only while the batch's cache is small beside the weights.
    _, _, _, kv256, x256, linear256 = rate[512, 256]
    assert float(kv256) > float(weights_gb) and int(linear256) < 50
    assert int(rate[512, 16][5]) > 90
    more = float(rate[512, 512][2].replace(",", "")) / float(
        rate[512, 256][2].replace(",", "")
    )
    assert_page_quotes(
        PAGE,
        f"{weights_gb} GB of weights",
        f"{rate[512, 16][5]}% of linear",
        f"cache, {kv256} GB",
        f"{x256}x batch 1's: only {linear256}% of linear",
        f"still {more - 1:.0%} more",
        f"{rate[4096, 64][3]} GB of cache",
        f"{rate[4096, 64][4]}x batch 1's",
        f"{rate[4096, 64][5]}% of linear",
    )
    fused = re.search(r"k = 60: 3 ([\d.]+) \| 4 ([\d.]+)", out)
    assert float(fused[1]) == pytest.approx(2 / 63, abs=5e-5)  # third in both lists
    assert float(fused[2]) == pytest.approx(1 / 61, abs=5e-5)  # first in one list
    assert_page_quotes(PAGE, *fused.groups())
    deepest = re.search(r"for r <= (\d+)", out)[1]
    assert int(deepest) == deepest_shared_rank(60)
    assert_page_quotes(PAGE, f"rank {deepest}")
    deploy = re.findall(r"^(fp16|int8|int4) +(\d) +(\S+) +(\S+) +(\S+)", out, re.M)
    room = {(label, int(gpus)): float(free) for label, gpus, _, free, _ in deploy}
    assert room[("fp16", 1)] < 0 < room[("fp16", 2)]  # 70B fp16 needs 2+ GPUs ...
    assert room[("int8", 1)] > 0  # ... or quantised weights
    big = re.search(r"^fp16 +1 +(\S+)", out, re.M)[1]
    two = re.search(r"^fp16 +2 +\S+ +\S+ +(\d+)", out, re.M)[1]
    fitting = [f"{free} GB" for *_, free, _ in deploy if float(free) > 0]
    assert_page_quotes(PAGE, f"{big} GB", *fitting, f"{two} sequences")
    table = ga.LLAMA_3_8B.table_parameters / 1e9
    assert_page_quotes(PAGE, f"{table:.2f}B-parameter table")
    checks = re.findall(r"(\d+) tokens +([\d.]+) ms, 1 token +([\d.]+) ms", out)
    assert float(checks[0][1]) == pytest.approx(float(checks[0][2]), rel=0.01)
    assert float(checks[1][1]) > 3 * float(checks[1][2])  # compute-bound: not free
    assert_page_quotes(PAGE, f"same {checks[0][1]} ms", checks[1][1], checks[1][2])
    spec = re.findall(r"^ +(0\.\d) +([\d.]+) +([\d.]+)x$", out, re.M)
    assert_page_quotes(PAGE, *(f"{s}x" for _, _, s in spec), spec[1][1])


def deepest_shared_rank(k: int) -> int:
    """By brute force: the deepest rank r at which a chunk that both lists hold
    outscores a chunk that one list ranks first and the other lacks."""
    wins = []
    for r in range(2, 4 * k + 10):
        a = [0, *range(100, 100 + r - 2), 1]  # 0: a lone first place; 1 at rank r
        b = [*range(500, 500 + r - 1), 1]  # 1 at rank r here too
        fused = reciprocal_rank_fusion([a, b], k=k)
        if fused[1] > fused[0]:
            wins.append(r)
    assert wins == list(range(2, max(wins) + 1))  # a contiguous run from the top
    return max(wins)


def test_rrf_rewards_agreement_only_when_k_is_large():
    bm25, dense = [7, 1, 3], [4, 9, 3]
    assert next(iter(reciprocal_rank_fusion([bm25, dense], k=60))) == 3
    assert next(iter(reciprocal_rank_fusion([bm25, dense], k=0))) != 3
    assert deepest_shared_rank(10) == 11
