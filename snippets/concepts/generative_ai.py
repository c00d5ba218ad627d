"""LLM serving arithmetic (KV cache, decode roofline) and RAG chunking.

Every number is computed from published model configurations and a stated
accelerator datasheet, not measured.
Run it: ``python -m snippets.concepts.generative_ai``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from snippets.common.fusion import reciprocal_rank_fusion

GIB = 2**30


# --8<-- [start:kv_cache]
@dataclass(frozen=True)
class ModelConfig:
    """The shape of a decoder-only transformer, as in its config.json."""

    name: str
    layers: int  # num_hidden_layers
    hidden: int  # hidden_size
    attention_heads: int  # num_attention_heads (query heads)
    kv_heads: int  # num_key_value_heads: fewer than query heads means GQA
    intermediate: int  # intermediate_size of the gated MLP
    vocab: int  # vocab_size

    def __post_init__(self) -> None:
        for field in ("layers", "hidden", "attention_heads", "kv_heads"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field} must be a positive integer, got {value!r}")
        if self.hidden % self.attention_heads:
            raise ValueError("hidden must be a multiple of attention_heads")
        if self.attention_heads % self.kv_heads:
            raise ValueError("attention_heads must be a multiple of kv_heads")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden // self.attention_heads

    @property
    def layer_parameters(self) -> int:
        """Weights of the transformer blocks and the final norm."""
        kv_width = self.kv_heads * self.head_dim
        attention = 2 * self.hidden * self.hidden + 2 * self.hidden * kv_width
        mlp = 3 * self.hidden * self.intermediate  # gate, up and down projections
        per_layer = attention + mlp + 2 * self.hidden  # two norms
        return self.layers * per_layer + self.hidden  # final norm

    @property
    def table_parameters(self) -> int:
        """The input embedding table; the untied output head has the same shape."""
        return self.vocab * self.hidden

    @property
    def parameters(self) -> int:
        """Weights of a Llama-style model: untied embeddings, gated MLP, RMSNorm."""
        return self.layer_parameters + 2 * self.table_parameters  # table + head


def kv_cache_bytes(
    config: ModelConfig, tokens: int, batch: int = 1, bytes_per_value: float = 2
) -> float:
    """Bytes of K and V kept for `tokens` tokens of each of `batch` sequences."""
    for name, value in (("tokens", tokens), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if bytes_per_value <= 0:
        raise ValueError(f"bytes_per_value must be positive, got {bytes_per_value}")
    per_token = 2 * config.layers * config.kv_heads * config.head_dim  # 2: K and V
    return per_token * bytes_per_value * tokens * batch


# Sources: the models' config.json on Hugging Face; GQA in Llama 2 70B per the
# Llama 2 paper (Touvron et al., 2023, arXiv:2307.09288).
LLAMA_2_7B = ModelConfig("Llama 2 7B", 32, 4096, 32, 32, 11008, 32000)
LLAMA_2_70B = ModelConfig("Llama 2 70B", 80, 8192, 64, 8, 28672, 32000)
LLAMA_3_8B = ModelConfig("Llama 3 8B", 32, 4096, 32, 8, 14336, 128256)
LLAMA_3_70B = ModelConfig("Llama 3 70B", 80, 8192, 64, 8, 28672, 128256)
# Llama 3.1 70B keeps Llama 3 70B's shapes and has a 128K-token context window.
LLAMA_3_1_70B = ModelConfig("Llama 3.1 70B", 80, 8192, 64, 8, 28672, 128256)
# --8<-- [end:kv_cache]


# --8<-- [start:roofline]
@dataclass(frozen=True)
class Accelerator:
    """Datasheet peak numbers: the best case, never reached in practice."""

    name: str
    memory_bytes: float
    bandwidth: float  # bytes per second from HBM
    peak_flops: float  # dense FP16/BF16 tensor FLOP/s


# NVIDIA A100 80GB SXM datasheet: 80 GB HBM2e, 2,039 GB/s, 312 TFLOPS dense FP16.
A100_80GB = Accelerator("A100 80GB SXM", 80e9, 2.039e12, 312e12)
# The 40GB part (the p4d.24xlarge's card): 40 GB HBM2, 1,555 GB/s, the same peak.
A100_40GB = Accelerator("A100 40GB SXM", 40e9, 1.555e12, 312e12)
# NVIDIA H100 SXM datasheet: 80 GB HBM3, 3.35 TB/s, 1,979 TFLOPS BF16 with
# sparsity, so 989 dense.
H100_SXM = Accelerator("H100 SXM", 80e9, 3.35e12, 989e12)
# NVIDIA L4 datasheet: 24 GB GDDR6, 300 GB/s, 242 TFLOPS FP16 with sparsity, 121 dense.
L4 = Accelerator("L4", 24e9, 300e9, 121e12)


@dataclass(frozen=True)
class StepTime:
    """Lower bounds on one forward pass, from bytes moved and FLOPs done."""

    memory_s: float
    compute_s: float

    @property
    def seconds(self) -> float:
        """The pass takes at least as long as the slower of the two."""
        return max(self.memory_s, self.compute_s)

    @property
    def bound(self) -> str:
        return "memory" if self.memory_s >= self.compute_s else "compute"


def forward_time(
    config: ModelConfig,
    accelerator: Accelerator,
    new_tokens: int,
    context: int,
    batch: int = 1,
    bytes_per_value: float = 2,
    logit_positions: int = 1,
) -> StepTime:
    """Roofline bound for `batch` sequences each adding `new_tokens` after `context`.

    Logits are computed for the last `logit_positions` new tokens of each sequence:
    1 when a server generates; new_tokens when it verifies speculative drafts (the
    target needs a next-token distribution after every draft token).
    """
    if new_tokens < 1 or context < 0 or batch < 1:
        raise ValueError("need new_tokens >= 1, context >= 0 and batch >= 1")
    if not 1 <= logit_positions <= new_tokens:
        raise ValueError("need 1 <= logit_positions <= new_tokens")
    tokens = batch * new_tokens
    # Every block and the output head are read in full, once per pass for the
    # whole batch; of the embedding table only the rows of this pass's tokens.
    rows = min(tokens, config.vocab) * config.hidden
    weights = (
        config.layer_parameters + config.table_parameters + rows
    ) * bytes_per_value
    kv = kv_cache_bytes(config, context + new_tokens, batch, bytes_per_value)
    # 2 FLOPs per block weight per token, attention over the context (QK and AV),
    # and the output head for each position that gets logits. A lookup is not a matmul.
    attended = context + (new_tokens + 1) / 2  # mean keys seen per new token
    attention = 4 * config.layers * config.hidden * attended
    head = 2 * config.table_parameters * batch * logit_positions
    flops = tokens * (2 * config.layer_parameters + attention) + head
    return StepTime(
        memory_s=(weights + kv) / accelerator.bandwidth,
        compute_s=flops / accelerator.peak_flops,
    )


def fits_in_memory(
    config: ModelConfig, accelerator: Accelerator, context: int, batch: int
) -> bool:
    """Do fp16 weights plus the KV cache of the batch fit on one accelerator?"""
    need = config.parameters * 2 + kv_cache_bytes(config, context, batch)
    return need <= accelerator.memory_bytes
    # --8<-- [end:roofline]


# --8<-- [start:deployment]
def kv_room_bytes(
    config: ModelConfig, accelerator: Accelerator, gpus: int, bytes_per_weight: float
) -> float:
    """Memory left for the KV cache when `gpus` accelerators hold the weights.

    Tensor parallelism splits every weight matrix (and the KV heads) across the
    GPUs, so the weights are stored once in total. Activations, the CUDA context,
    quantisation scales and fragmentation are ignored: an upper bound.
    """
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise ValueError(f"gpus must be a positive integer, got {gpus!r}")
    if bytes_per_weight <= 0:
        raise ValueError(f"bytes_per_weight must be positive, got {bytes_per_weight}")
    return gpus * accelerator.memory_bytes - config.parameters * bytes_per_weight
    # --8<-- [end:deployment]


def _check_distribution(name: str, probs: np.ndarray) -> None:
    if probs.ndim != 1 or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
        raise ValueError(f"{name} must be a 1-D probability vector summing to 1")


# --8<-- [start:speculative]
def speculative_step(
    target: np.ndarray, draft: np.ndarray, rng: np.random.Generator
) -> tuple[int, bool]:
    """Check one draft token against the target model; return (token, kept).

    Draw x from the draft q; keep it with probability min(1, p(x) / q(x)); if it
    is rejected, draw from the leftover max(0, p - q), renormalised. The token
    returned is distributed exactly as the target p, whatever the draft.
    """
    p, q = np.asarray(target, dtype=float), np.asarray(draft, dtype=float)
    _check_distribution("target", p)
    _check_distribution("draft", q)
    if p.shape != q.shape:
        raise ValueError("target and draft must cover the same vocabulary")
    x = rng.choice(len(q), p=q)
    if rng.random() * q[x] < p[x]:  # kept with probability min(1, p(x) / q(x))
        return int(x), True
    leftover = np.maximum(p - q, 0.0)
    return int(rng.choice(len(p), p=leftover / leftover.sum())), False


def expected_tokens_per_pass(acceptance: float, draft_tokens: int) -> float:
    """Tokens one target pass yields if each draft token is kept with prob alpha.

    The pass checks gamma draft tokens, keeps them up to the first rejection and
    always adds one of its own: (1 - alpha^(gamma + 1)) / (1 - alpha).
    """
    if not 0 <= acceptance <= 1:
        raise ValueError(f"acceptance must be in [0, 1], got {acceptance!r}")
    if isinstance(draft_tokens, bool) or not isinstance(draft_tokens, int):
        raise TypeError(f"draft_tokens must be an integer, got {draft_tokens!r}")
    if draft_tokens < 1:
        raise ValueError(f"draft_tokens must be at least 1, got {draft_tokens}")
    if acceptance == 1:
        return draft_tokens + 1.0
    return (1 - acceptance ** (draft_tokens + 1)) / (1 - acceptance)


def speculative_speedup(
    acceptance: float, draft_tokens: int, draft_cost: float
) -> float:
    """Expected speed-up over plain decoding (Leviathan et al., 2023).

    One iteration costs gamma draft steps (each `draft_cost` of a target step)
    plus one target pass, assumed to cost one decode step: true while decoding
    is memory-bound, so checking gamma + 1 tokens costs about as much as one.
    """
    if draft_cost < 0:
        raise ValueError(f"draft_cost must be non-negative, got {draft_cost!r}")
    tokens = expected_tokens_per_pass(acceptance, draft_tokens)
    return tokens / (draft_tokens * draft_cost + 1)
    # --8<-- [end:speculative]


# --8<-- [start:chunking]
@dataclass(frozen=True)
class Chunk:
    """A window of words: its position in the document and its text."""

    start: int  # index of the first word in the document
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def chunk_words(words: Sequence[str], size: int, overlap: int) -> list[Chunk]:
    """Fixed-size windows of `size` words; neighbours share `overlap` words."""
    if isinstance(words, str):
        raise TypeError("pass a sequence of words (text.split()), not a string")
    if not all(isinstance(w, str) for w in words):
        raise TypeError("every word must be a string")
    for name, value in (("size", size), ("overlap", overlap)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {value!r}")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size), got {overlap} for {size}")
    stride = size - overlap
    chunks = []
    for start in range(0, len(words), stride):
        chunks.append(Chunk(start, tuple(words[start : start + size])))
        if start + size >= len(words):  # this window reached the end
            break
    return chunks
    # --8<-- [end:chunking]


# --8<-- [start:demo]
def main() -> None:
    models = (LLAMA_2_7B, LLAMA_2_70B, LLAMA_3_8B)
    mha_70b = ModelConfig("70B, no GQA", 80, 8192, 64, 64, 28672, 32000)
    print("fp16 weights in GB (10^9 bytes); KV cache in KiB and GiB (2^10, 2^30)")
    print(
        "model          params  weights GB  KV heads  KiB/token  4k x1  32k x1  4k x32"
    )
    for m in (*models, mha_70b):
        per_token = kv_cache_bytes(m, 1) / 1024
        gib = [
            kv_cache_bytes(m, t, b) / GIB
            for t, b in ((4096, 1), (32768, 1), (4096, 32))
        ]
        print(
            f"{m.name:13} {m.parameters / 1e9:6.2f}B {m.parameters * 2 / 1e9:11.1f}"
            f" {m.kv_heads:9d} {per_token:10.0f}"
            f" {gib[0]:6.2f} {gib[1]:7.2f} {gib[2]:7.1f}"
        )

    gpu, m = A100_80GB, LLAMA_3_8B
    print(f"\n{m.name} on one {gpu.name}, fp16, lower bounds from the datasheet")
    ridge = gpu.peak_flops / gpu.bandwidth  # FLOP per byte where compute takes over
    print(f"ridge point {ridge:.0f} FLOP/byte; batch-1 decode does about 1")
    prefill = forward_time(m, gpu, new_tokens=2048, context=0)
    decode = forward_time(m, gpu, new_tokens=1, context=2048)
    for label, t in (("prefill 2,048 tokens", prefill), ("decode 1 token", decode)):
        print(
            f"{label:21} memory {t.memory_s * 1e3:6.2f} ms  compute"
            f" {t.compute_s * 1e3:6.2f} ms  -> {t.bound}-bound"
        )
    # Read once per step for the whole batch: every block and the output head.
    weights_gb = (m.layer_parameters + m.table_parameters) * 2 / 1e9
    print(f"\nweights read per decode step {weights_gb:.1f} GB, shared by the batch;")
    print("each sequence also reads its own KV cache (the KV GB column)")
    print(
        "context  batch  KV GB  ms/step  bound    tokens/s  x batch 1  of linear"
        "  fits in 80 GB"
    )
    for context in (512, 4096):
        single = 1 / forward_time(m, gpu, new_tokens=1, context=context).seconds
        for batch in (1, 16, 64, 256, 512):
            t = forward_time(m, gpu, new_tokens=1, context=context, batch=batch)
            kv_gb = kv_cache_bytes(m, context, batch) / 1e9
            fits = "yes" if fits_in_memory(m, gpu, context, batch) else "no"
            speedup = batch / t.seconds / single
            print(
                f"{context:7d} {batch:6d} {kv_gb:6.1f} {t.seconds * 1e3:8.2f}"
                f"  {t.bound:7} {batch / t.seconds:9,.0f} {speedup:9.0f}x"
                f" {speedup / batch:9.0%}  {fits}"
            )

    big, sequence_4k = LLAMA_2_70B, kv_cache_bytes(LLAMA_2_70B, 4096)
    print(f"\n{big.name} on {gpu.name}s: {big.parameters / 1e9:.2f}B weights")
    print("weights  GPUs  weights GB  KV room GB  4k sequences (upper bound)")
    for label, bytes_per_weight, gpus in (
        ("fp16", 2, 1),
        ("fp16", 2, 2),
        ("fp16", 2, 4),
        ("int8", 1, 1),
        ("int4", 0.5, 1),
    ):
        room = kv_room_bytes(big, gpu, gpus, bytes_per_weight)
        fit = f"{int(room // sequence_4k):,}" if room > 0 else "weights do not fit"
        print(
            f"{label:7} {gpus:5d} {big.parameters * bytes_per_weight / 1e9:11.1f}"
            f" {room / 1e9:11.1f}  {fit}"
        )

    drafts, draft_cost = 4, 0.05  # assumed: a draft step costs 5% of a target step
    print(f"\nSpeculative decoding: one {m.name} pass checks {drafts} draft tokens")
    for batch in (1, 256):
        one = forward_time(m, gpu, new_tokens=1, context=512, batch=batch).seconds
        check = forward_time(
            m, gpu, drafts + 1, context=512, batch=batch, logit_positions=drafts + 1
        ).seconds
        print(
            f"  batch {batch:3d}, context 512: {drafts + 1} tokens"
            f" {check * 1e3:6.2f} ms, 1 token {one * 1e3:6.2f} ms"
        )
    print(
        f"acceptance  tokens/pass  speed-up (draft step = {draft_cost:.0%} of target)"
    )
    for acceptance in (0.5, 0.7, 0.9):
        tokens = expected_tokens_per_pass(acceptance, drafts)
        speedup = speculative_speedup(acceptance, drafts, draft_cost)
        print(f"{acceptance:10.1f} {tokens:12.2f} {speedup:9.2f}x")

    text = "the refund policy allows returns within thirty days of delivery"
    words = text.split()
    print(f"\nChunking {len(words)} words, size 4, overlap 1:")
    for chunk in chunk_words(words, size=4, overlap=1):
        print(f"  [{chunk.start:2d}] {chunk.text}")
    # Chunk ids as ranked by BM25 and by a dense retriever, fused by rank only:
    # chunk 3 is only third in each list; 7 and 4 are each one list's first.
    bm25, dense = [7, 1, 3], [4, 9, 3]
    print(f"RRF of BM25 {bm25} and dense {dense}, chunk: score")
    for k in (60, 0):
        fused = reciprocal_rank_fusion([bm25, dense], k=k)
        ranked = " | ".join(f"{chunk} {score:.4f}" for chunk, score in fused.items())
        print(f"  k = {k:2d}: {ranked}")
    k = 60
    deepest = max(r for r in range(1, 10 * k) if 2 / (k + r) > 1 / (k + 1))
    print(
        f"  k = {k}: rank r in both lists beats a lone first place for r <= {deepest}"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
