"""The world of the LLM inference miniature: step times, requests, memory, a bound.

Every forward pass costs the roofline time of ``forward_time`` in
``snippets/concepts/generative_ai.py`` (the larger of bytes moved over bandwidth and
FLOPs over peak), written as an affine model of a mixed batch (prefill chunks and
decode tokens together), so that a run of decode steps between two events sums in
closed form. Requests arrive as a Poisson process with a shared system prompt and
lognormal user prompts and answers. The KV cache holds what the weights leave of the
GPUs' memory. The "fluid" bound is what a back-of-envelope gives for the same server:
mean lengths, no queueing, no variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snippets.concepts.generative_ai import (
    Accelerator,
    ModelConfig,
    forward_time,
    kv_cache_bytes,
    kv_room_bytes,
)

WARMUP_S = 10.0  # simulated seconds of arrivals not measured
RUNTIME_SHARE = 0.1  # of each GPU's memory: activations, CUDA graphs, runtime


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


# --8<-- [start:step]
@dataclass(frozen=True)
class StepModel:
    """Roofline seconds of one forward pass over a mixed batch (prefill and decode).

    A pass reads every weight once, a row and a K/V write per new token, and the K/V
    of every token its sequences attend to; it does FLOPs per new token, per
    (new token, attended key) pair and per position that gets logits.
    """

    weights: float  # s to read the weights once
    per_new_byte: float  # s of memory traffic per new token
    per_kv_token: float  # s to read (or write) one token's K and V
    per_new_flop: float  # s of compute per new token (2 FLOPs a weight)
    per_attended: float  # s of compute per (query, key) pair
    per_logit: float  # s of compute per position that gets logits

    def seconds(self, new: float, kv: float, attended: float, logits: float) -> float:
        memory = self.weights + self.per_new_byte * new + self.per_kv_token * kv
        compute = (
            self.per_new_flop * new
            + self.per_attended * attended
            + self.per_logit * logits
        )
        return max(memory, compute)


def step_model(config: ModelConfig, accelerator: Accelerator) -> StepModel:
    """The affine model that reproduces forward_time, read off three probes."""
    one = forward_time(config, accelerator, new_tokens=1, context=0)
    more = forward_time(config, accelerator, new_tokens=1025, context=0)
    later = forward_time(config, accelerator, new_tokens=1, context=1024)
    # `later` reads 1,024 more K/V tokens and attends 1,024 more keys than `one`;
    # `more` adds 1,024 new tokens, 1,024 K/V writes and 1024*1026/2 - 1 more pairs.
    per_kv = (later.memory_s - one.memory_s) / 1024
    per_new_byte = (more.memory_s - one.memory_s) / 1024 - per_kv
    per_attended = (later.compute_s - one.compute_s) / 1024
    extra_pairs = 1025 * 1026 / 2 - 1
    per_new_flop = (more.compute_s - one.compute_s - per_attended * extra_pairs) / 1024
    return StepModel(
        weights=one.memory_s - per_new_byte - per_kv,
        per_new_byte=per_new_byte,
        per_kv_token=per_kv,
        per_new_flop=per_new_flop,
        per_attended=per_attended,
        per_logit=one.compute_s - per_new_flop - per_attended,
    )
    # --8<-- [end:step]


def decode_lines(model: StepModel, batch: int, context: float):
    """Step j of a decode run as two lines in j: memory and compute seconds.

    `context` is the batch's total context before the run; each step adds one token
    to every sequence, so both terms grow by `batch` tokens a step.
    """
    kv = context + batch
    memory = model.weights + model.per_new_byte * batch + model.per_kv_token * kv
    compute = (model.per_new_flop + model.per_logit) * batch + model.per_attended * kv
    return (
        memory,
        model.per_kv_token * batch,
        compute,
        model.per_attended * batch,
    )


def run_seconds(a: float, s1: float, c: float, s2: float, steps: int) -> float:
    """Sum over j = 0..steps-1 of max(a + s1 j, c + s2 j): a decode run's duration."""
    if steps <= 0:
        return 0.0

    def series(start: float, slope: float, lo: int, hi: int) -> float:
        return (hi - lo) * start + slope * (lo + hi - 1) * (hi - lo) / 2

    if (a >= c and s1 >= s2) or s1 == s2:
        return series(max(a, c), s1 if a >= c else s2, 0, steps)
    if c >= a and s2 >= s1:
        return series(c, s2, 0, steps)
    # The lines cross once: the higher intercept leads, the steeper one then wins.
    split = min(max(math.ceil((c - a) / (s1 - s2)), 0), steps)
    if a > c:
        return series(a, s1, 0, split) + series(c, s2, split, steps)
    return series(c, s2, 0, split) + series(a, s1, split, steps)


# --8<-- [start:workload]
@dataclass(frozen=True)
class Workload:
    """Requests in arrival order: time, prompt and output length in tokens."""

    arrival_s: np.ndarray
    prompt: np.ndarray  # tokens, the shared system prompt included
    output: np.ndarray  # tokens generated, >= 1
    shared_prefix: int  # tokens of system prompt every request starts with
    max_output: int  # the max_tokens cap, what a reserving server sets aside


def make_workload(
    n: int, rate: float, seed: int, constant_output: bool = False
) -> Workload:
    """Poisson arrivals at `rate` a second; lognormal user prompts and outputs.

    The same seed gives the same requests at every rate (only time is rescaled),
    so loads and policies are compared on the same candidates.
    """
    positive_int("n", n)
    if not rate > 0:
        raise ValueError(f"rate must be positive (math.inf: all at once), got {rate}")
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, n)
    # Assumed: a 1,000-token system prompt; user text with a median of 400 tokens,
    # answers with a median of 200, both lognormal (sigma 0.8); max_tokens 1,024.
    shared, max_output = 1_000, 1_024
    user = np.clip(rng.lognormal(np.log(400), 0.8, n), 16, 6_000).astype(int)
    output = np.clip(rng.lognormal(np.log(200), 0.8, n), 1, max_output).astype(int)
    if constant_output:  # the ablation: every answer as long as the mean one
        output = np.full(n, round(output.mean()))
    arrival = np.zeros(n) if math.isinf(rate) else np.cumsum(gaps) / rate
    return Workload(arrival, shared + user, output, shared, max_output)
    # --8<-- [end:workload]


@dataclass(frozen=True)
class Outcome:
    """Per request: admitted, first token, finished (NaN if shed); run totals."""

    admitted_s: np.ndarray
    first_token_s: np.ndarray
    finish_s: np.ndarray
    shed: np.ndarray
    busy_s: float  # time the GPU ran a forward pass
    batch_seconds: float  # integral of running sequences over time
    kv_token_seconds: float  # integral of KV tokens held over time
    kv_capacity: int
    preemptions: int


@dataclass(frozen=True)
class Summary:
    """One run, measured on the requests that arrived after the warm-up."""

    ttft_p50: float  # seconds
    ttft_p99: float
    tpot_p50: float  # seconds per output token after the first
    tpot_p99: float
    good: float  # share of requests meeting both objectives (NaN without them)
    busy: float  # share of time the GPU ran a forward pass
    batch: float  # mean sequences in the running batch
    kv: float  # mean share of the KV cache held
    queue: float  # mean requests waiting for admission
    shed: float  # share of requests rejected at arrival


# --8<-- [start:summary]
def summarise(
    work: Workload,
    out: Outcome,
    slo: tuple[float, float] | None = None,
    warmup_s: float = WARMUP_S,
) -> Summary:
    """TTFT and TPOT percentiles of the served requests, and the run's averages.

    With `slo` (TTFT, TPOT seconds), also the share of the measured requests, shed
    ones included, whose own TTFT and TPOT both meet it: goodput / offered load.
    """
    served = ~out.shed
    kept = served & (work.arrival_s >= warmup_s)
    if not kept.any():
        raise ValueError("no served request arrived after the warm-up")
    ttft = (out.first_token_s - work.arrival_s)[kept]
    streamed = kept & (work.output > 1)  # TPOT needs a second token
    per_token = (out.finish_s - out.first_token_s) / np.maximum(work.output - 1, 1)
    tpot = per_token[streamed]
    span = np.nanmax(out.finish_s) - work.arrival_s[0]
    waited = np.nansum(out.admitted_s - work.arrival_s)  # Little: mean queue
    return Summary(
        ttft_p50=float(np.percentile(ttft, 50)),
        ttft_p99=float(np.percentile(ttft, 99)),
        tpot_p50=float(np.percentile(tpot, 50)),
        tpot_p99=float(np.percentile(tpot, 99)),
        good=_good_share(work, out, per_token, slo, warmup_s),
        busy=out.busy_s / span,
        batch=out.batch_seconds / span,
        kv=out.kv_token_seconds / span / out.kv_capacity,
        queue=float(waited / span),
        shed=float(out.shed.mean()),
    )
    # --8<-- [end:summary]


def _good_share(work, out, per_token, slo, warmup_s) -> float:
    if slo is None:
        return math.nan
    measured = work.arrival_s >= warmup_s
    ttft = out.first_token_s - work.arrival_s
    with np.errstate(invalid="ignore"):  # shed requests: NaN, never good
        good = (ttft <= slo[0]) & ((per_token <= slo[1]) | (work.output == 1))
    return float(good[measured].mean())


def meets(summary: Summary, ttft_s: float, tpot_s: float) -> bool:
    """Both p99 objectives hold, and nobody was turned away."""
    return (
        summary.ttft_p99 <= ttft_s and summary.tpot_p99 <= tpot_s and summary.shed == 0
    )


def kv_capacity_tokens(config: ModelConfig, accelerator: Accelerator, gpus: int) -> int:
    """Tokens of KV cache that fit beside the BF16 weights, less a runtime share."""
    room = kv_room_bytes(config, accelerator, gpus, bytes_per_weight=2)
    room -= RUNTIME_SHARE * gpus * accelerator.memory_bytes
    if room <= 0:
        raise ValueError(f"{config.name} does not fit on {gpus} x {accelerator.name}")
    return int(room // kv_cache_bytes(config, 1))


def tensor_parallel(accelerator: Accelerator, gpus: int) -> Accelerator:
    """A tensor-parallel group as one device: memory, bandwidth and FLOP/s add up.

    Ideal: the all-reduces between the GPUs (two per layer) are left out.
    """
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise ValueError(f"gpus must be a positive integer, got {gpus!r}")
    return Accelerator(
        f"{gpus} x {accelerator.name}",
        gpus * accelerator.memory_bytes,
        gpus * accelerator.bandwidth,
        gpus * accelerator.peak_flops,
    )


# --8<-- [start:fluid]
def fluid_step(
    model: StepModel, batch: int, prompt: float, output: float, cached: float
) -> tuple[float, float, float]:
    """One steady-state step: (memory s, compute s, prompt tokens prefilled).

    With `batch` sequences decoding, each step emits `batch` tokens and finishes
    batch / output requests, so batch (prompt - cached) / output prompt tokens must
    be prefilled in the same step, by about batch / output sequences.
    """
    uncached = prompt - cached
    prefill = batch * uncached / output
    filling = prefill / uncached  # sequences being prefilled per step
    decode_context = batch * (prompt + output / 2)  # halfway through, on average
    new = batch + prefill
    memory = (
        model.weights
        + model.per_new_byte * new
        + model.per_kv_token * (decode_context + filling * (cached + uncached))
    )
    compute = (
        model.per_new_flop * new
        + model.per_attended * (decode_context + prefill * (cached + uncached / 2))
        + model.per_logit * (batch + filling)
    )
    return memory, compute, prefill


def fluid_capacity(
    model: StepModel,
    kv_tokens: int,
    prompt: float,
    output: float,
    cached: float,
    tpot_s: float,
    chunk_tokens: int,
) -> tuple[float, int, float]:
    """Steady-state requests/s from mean lengths: (rate, batch, step seconds).

    The rate is batch / (output x step time); the best batch whose mean KV cache
    fits, whose step meets the TPOT objective and whose prefill fits the chunk
    budget wins. No queueing, no variance: an upper bound.
    """
    best = (0.0, 0, 0.0)
    for batch in range(1, kv_tokens):
        if batch * (prompt - cached + output / 2) + cached > kv_tokens:
            break
        memory, compute, prefill = fluid_step(model, batch, prompt, output, cached)
        step = max(memory, compute)
        if prefill > chunk_tokens or step > tpot_s:
            break
        rate = batch / (output * step)
        if rate > best[0]:
            best = (rate, batch, step)
    return best
    # --8<-- [end:fluid]
