"""How many evaluation examples tell two LLM systems apart, and what a task costs.

Part 1: two systems answer the same evaluation set, each example scored pass or
fail. Only the examples where they disagree carry information, so the set size a
comparison needs is set by how often they disagree, not by the gain alone. The
exact McNemar test, Connor's (1987) sample size and the test's exact power.

Part 2: the cost of one task from token counts, assumed prices, a prefix-cache
hit rate and the number of calls; a small-to-large model cascade; and the cost
of the same task self-hosted, from the roofline of the concept page (prefill
included, the batch capped by the KV cache that fits), with the utilisation at
which it breaks even against an API.

Run it: ``python -m snippets.framework.generative_ai``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy import stats

from snippets.concepts.experimentation import sample_size_per_arm
from snippets.concepts.generative_ai import (
    A100_80GB,
    LLAMA_3_8B,
    Accelerator,
    ModelConfig,
    forward_time,
    kv_cache_bytes,
    kv_room_bytes,
)

STANDARD_NORMAL = NormalDist()


def _check_share(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def _check_count(name: str, value: int, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_test(alpha: float, power: float) -> None:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha}, {power}")


def _check_pair(p_win: float, p_loss: float) -> None:
    _check_share("p_win", p_win)
    _check_share("p_loss", p_loss)
    if p_win + p_loss > 1:
        raise ValueError("p_win + p_loss is the discordant share: at most 1")


def _check_difference(p_win: float, p_loss: float, alpha: float, power: float) -> None:
    _check_pair(p_win, p_loss)
    _check_test(alpha, power)
    if p_win == p_loss:
        raise ValueError("p_win equals p_loss: there is no difference to detect")


# --8<-- [start:mcnemar]
def mcnemar_exact_p(wins: int, losses: int) -> float:
    """Two-sided exact McNemar p-value from the examples the systems disagree on.

    wins: examples the candidate gets right and the baseline wrong; losses: the
    reverse. With no real difference each of them is a fair coin, so wins is
    Binomial(wins + losses, 1/2): a sign test on the discordant examples.
    """
    _check_count("wins", wins)
    _check_count("losses", losses)
    if wins + losses == 0:
        return 1.0
    tail = stats.binom.cdf(min(wins, losses), wins + losses, 0.5)
    return float(min(1.0, 2 * tail))
    # --8<-- [end:mcnemar]


# --8<-- [start:sample_size]
def paired_sample_size(
    p_win: float, p_loss: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Examples for McNemar's test to detect p_win - p_loss (Connor, 1987)."""
    _check_difference(p_win, p_loss, alpha, power)
    discordant, gain = p_win + p_loss, p_win - p_loss
    z_alpha = STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    z_power = STANDARD_NORMAL.inv_cdf(power)
    root = z_alpha * math.sqrt(discordant) + z_power * math.sqrt(discordant - gain**2)
    return math.ceil(root**2 / gain**2)
    # --8<-- [end:sample_size]


def exact_power(
    p_win: float, p_loss: float, examples: int, alpha: float = 0.05
) -> float:
    """Probability that the exact McNemar test rejects at level alpha.

    Sums over the number m of discordant examples, Binomial(examples, p_win +
    p_loss); given m, the wins are Binomial(m, p_win / (p_win + p_loss)), and the
    test rejects when min(wins, m - wins) is at most the largest k with
    2 * P(Binomial(m, 1/2) <= k) <= alpha.
    """
    _check_pair(p_win, p_loss)
    _check_count("examples", examples, minimum=1)
    _check_test(alpha, 0.5)
    discordant = p_win + p_loss
    if discordant == 0:
        return 0.0
    m = np.arange(examples + 1)
    k = stats.binom.ppf(alpha / 2, m, 0.5)  # smallest k with cdf >= alpha / 2
    k = np.where(stats.binom.cdf(k, m, 0.5) > alpha / 2, k - 1, k)
    share_won = p_win / discordant
    reject = stats.binom.cdf(k, m, share_won) + stats.binom.sf(m - k - 1, m, share_won)
    reject = np.where(k >= 0, reject, 0.0)  # too few discordant examples to reject
    return float(np.sum(stats.binom.pmf(m, examples, discordant) * reject))


def smallest_detectable_gain(
    examples: int, discordant: float, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest p_win - p_loss the exact test detects with this power, or None.

    The discordant share is held fixed; None when even a candidate that wins
    every discordant example is detected less often than `power`.
    """
    _check_count("examples", examples, minimum=1)
    _check_share("discordant", discordant)
    _check_test(alpha, power)
    if exact_power(discordant, 0.0, examples, alpha) < power:
        return None
    low, high = 0.0, discordant
    for _ in range(20):  # the gain to within 0.3 / 2**20: far below 0.1 point
        mid = (low + high) / 2
        p_win, p_loss = (discordant + mid) / 2, (discordant - mid) / 2
        if exact_power(p_win, p_loss, examples, alpha) >= power:
            high = mid
        else:
            low = mid
    return high


def simulate_runs(
    p_win: float, p_loss: float, examples: int, seeds: range
) -> list[tuple[int, int]]:
    """(wins, losses) of one evaluation run per seed: each example falls in one cell."""
    _check_pair(p_win, p_loss)
    _check_count("examples", examples, minimum=1)
    runs = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        wins, losses, _ = rng.multinomial(examples, [p_win, p_loss, 1 - p_win - p_loss])
        runs.append((int(wins), int(losses)))
    return runs


def _check_task(prices, prompt_tokens, output_tokens, prefix_tokens, hit_rate, calls):
    if not isinstance(prices, TokenPrices):
        raise TypeError(f"prices must be TokenPrices, got {type(prices).__name__}")
    if min(prices.input, prices.cached_input, prices.output) < 0:
        raise ValueError(f"prices must be non-negative, got {prices}")
    _check_count("prompt_tokens", prompt_tokens)
    _check_count("output_tokens", output_tokens)
    _check_count("prefix_tokens", prefix_tokens)
    _check_count("calls", calls, minimum=1)
    _check_share("cache_hit_rate", hit_rate)
    if prefix_tokens > prompt_tokens:
        raise ValueError("prefix_tokens cannot exceed prompt_tokens")


# --8<-- [start:cost]
@dataclass(frozen=True)
class TokenPrices:
    """Dollars per million tokens."""

    input: float
    cached_input: float  # prompt tokens served from the provider's prefix cache
    output: float


def cost_per_task(
    prices: TokenPrices,
    prompt_tokens: int,
    output_tokens: int,
    prefix_tokens: int = 0,
    cache_hit_rate: float = 0.0,
    calls: int = 1,
) -> float:
    """Dollars per task: every call pays for its whole prompt and its output.

    The first `prefix_tokens` of the prompt (system prompt, tool definitions) are
    the same for every task; the share `cache_hit_rate` of them is billed cached.
    """
    _check_task(
        prices, prompt_tokens, output_tokens, prefix_tokens, cache_hit_rate, calls
    )
    cached = prefix_tokens * cache_hit_rate
    fresh = prompt_tokens - cached
    dollars = fresh * prices.input + cached * prices.cached_input
    return calls * (dollars + output_tokens * prices.output) / 1e6
    # --8<-- [end:cost]


def cascade_cost(
    small: float, large: float, escalated: float, check: float = 0.0
) -> float:
    """Every task tries the small model and its check; the share that fails the
    check pays for the large model too. Costs are dollars per task."""
    _check_share("escalated", escalated)
    if min(small, large, check) < 0:
        raise ValueError("costs must be non-negative")
    return small + check + escalated * large


def max_batch(config: ModelConfig, accelerator: Accelerator, context: int) -> int:
    """Sequences whose fp16 KV cache at `context` tokens fits beside fp16 weights.

    Each sequence holds its own cache (no blocks shared between sequences), and
    activations and the runtime are ignored: an upper bound on one accelerator.
    """
    _check_count("context", context, minimum=1)
    room = kv_room_bytes(config, accelerator, 1, 2)
    return max(0, int(room // kv_cache_bytes(config, context)))


def self_hosted_task_seconds(
    config: ModelConfig,
    accelerator: Accelerator,
    prompt_tokens: int,
    output_tokens: int,
    batch: int,
    prefix_tokens: int = 0,
    cache_hit_rate: float = 0.0,
) -> tuple[float, float]:
    """GPU-seconds of one task, (prefill, decode share), from the roofline bound
    of each step, with prefill and decode run as separate steps.

    Prefill runs the prompt once and yields the first output token; with a hit
    in the server's prefix cache only the tokens after the prefix are run. Each
    of the other output_tokens - 1 tokens is one decode step over the growing
    context, shared by the `batch` sequences decoding together.
    """
    _check_count("prompt_tokens", prompt_tokens, minimum=1)
    _check_count("output_tokens", output_tokens, minimum=1)
    _check_count("batch", batch, minimum=1)
    _check_count("prefix_tokens", prefix_tokens)
    _check_share("cache_hit_rate", cache_hit_rate)
    if prefix_tokens >= prompt_tokens:
        raise ValueError("prefix_tokens must be below prompt_tokens")
    full = forward_time(config, accelerator, prompt_tokens, 0).seconds
    rest = forward_time(
        config, accelerator, prompt_tokens - prefix_tokens, prefix_tokens
    ).seconds
    prefill = cache_hit_rate * rest + (1 - cache_hit_rate) * full
    steps = sum(
        forward_time(config, accelerator, 1, prompt_tokens + i, batch).seconds
        for i in range(output_tokens - 1)
    )
    return prefill, steps / batch


# The two worlds of the demonstration: the same gain of 3 points, discordance
# 0.07 (a prompt tweak: B keeps most of A's answers) or 0.27 (another model).
WORLDS = {"prompt tweak": (0.05, 0.02), "different model": (0.15, 0.12)}
BASELINE_ACCURACY = 0.70  # A's pass rate, for the unpaired comparison only
# Assumed prices, not any provider's list: dollars per million tokens.
LARGE = TokenPrices(input=3.00, cached_input=0.30, output=15.00)
SMALL_PRICE_RATIO = 0.1  # assumed: the small model costs a tenth per token
GPU_DOLLARS_PER_HOUR = 2.00  # assumed rental price of one A100 80GB


def _evaluation_size() -> None:
    print("Evaluation-set size to tell B from A (two-sided alpha 0.05, power 0.8)")
    print("world            p_win  p_loss  gain  discordant  examples  exact power")
    for name, (p_win, p_loss) in WORLDS.items():
        n = paired_sample_size(p_win, p_loss)
        print(
            f"{name:16} {p_win:5.2f} {p_loss:7.2f} {p_win - p_loss:5.2f}"
            f" {p_win + p_loss:11.2f} {n:9,} {exact_power(p_win, p_loss, n):12.2f}"
        )
    p_win, p_loss = WORLDS["prompt tweak"]
    gain = p_win - p_loss
    unpaired = sample_size_per_arm(BASELINE_ACCURACY, gain / BASELINE_ACCURACY)
    print(
        f"unpaired (each system on its own set, {BASELINE_ACCURACY:.2f} vs"
        f" {BASELINE_ACCURACY + gain:.2f}): {unpaired:,} examples per system"
    )

    examples, seeds = 500, range(10)
    print(f"\n{examples} examples, seeds 0-9: one evaluation run per seed")
    print("world            gain, points  exact McNemar p  p <= 0.05  exact power")
    for name, (p_win, p_loss) in WORLDS.items():
        runs = simulate_runs(p_win, p_loss, examples, seeds)
        gains = [100 * (w - lo) / examples for w, lo in runs]
        p_values = [mcnemar_exact_p(w, lo) for w, lo in runs]
        significant = sum(p <= 0.05 for p in p_values)  # as exact_power rejects
        print(
            f"{name:16} {min(gains):+4.1f} to {max(gains):+4.1f}"
            f"  {min(p_values):.4f}-{max(p_values):.2f}"
            f"  {significant:2d} of {len(runs)}"
            f" {exact_power(p_win, p_loss, examples):12.2f}"
        )

    golden, wins, losses = 200, 14, 8
    print(
        f"\nA {golden}-example golden set: B alone right on {wins}, A alone on {losses}"
    )
    print(
        f"  gain {100 * (wins - losses) / golden:+.1f} points,"
        f" exact McNemar p = {mcnemar_exact_p(wins, losses):.2f}"
    )
    share = (wins + losses) / golden
    smallest = smallest_detectable_gain(golden, share)
    print(
        f"  at its discordant share {share:.2f}, the smallest gain detected with"
        f" power 0.8 is {100 * smallest:.1f} points"
    )
    shares = (0.05, 0.10, 0.20, 0.30)
    print("Smallest gain (points) detected with power 0.8 at alpha 0.05")
    print("examples  " + "".join(f"  disc {s:.2f}" for s in shares))
    for n in (200, 500, 1000, 2000):
        cells = []
        for share in shares:
            gain = smallest_detectable_gain(n, share)
            cells.append("         -" if gain is None else f"{100 * gain:10.1f}")
        print(f"{n:8,}  " + " ".join(cells))


def _cost() -> None:
    print("\nCost per task, assumed prices per million tokens:")
    print(
        f"  input ${LARGE.input:.2f}, cached input ${LARGE.cached_input:.2f},"
        f" output ${LARGE.output:.2f}"
    )
    prompt, prefix, output = 6_100, 2_000, 300
    print(
        f"RAG answer: prompt {prompt:,} tokens ({prefix:,} a shared prefix),"
        f" output {output}"
    )
    plain = cost_per_task(LARGE, prompt, output)
    input_share = prompt * LARGE.input / (prompt * LARGE.input + output * LARGE.output)
    print(f"  no cache              ${plain:.4f}  (input {input_share:.0%} of it)")
    cached = cost_per_task(LARGE, prompt, output, prefix, cache_hit_rate=0.9)
    print(
        f"  prefix cache, 90% hit ${cached:.4f}  ({cached / plain - 1:+.0%});"
        f" per million tasks ${plain * 1e6:,.0f} vs ${cached * 1e6:,.0f}"
    )
    agent = cost_per_task(LARGE, prompt, output, prefix, 0.9, calls=5)
    print(f"  agent, 5 such calls   ${agent:.4f}")
    print(
        f"Cascade: a small model ({SMALL_PRICE_RATIO:.0%} of the price per token)"
        " tries every task;"
    )
    print("the share that fails its check (taken as free) escalates to the large one")
    print("(prefix cache as above)")
    small = SMALL_PRICE_RATIO * cached
    for escalated in (0.1, 0.3, 0.6, 0.9):
        cost = cascade_cost(small, cached, escalated)
        print(
            f"  escalated {escalated:.0%}: ${cost:.4f} per task,"
            f" {cost / cached:.0%} of the large model alone"
        )
    _self_hosted(prompt, output, prefix, api=small)


def _self_hosted(prompt: int, output: int, prefix: int, api: float) -> None:
    model, gpu, hit = LLAMA_3_8B, A100_80GB, 0.9
    print(
        f"Self-hosted {model.name} on one {gpu.name} at ${GPU_DOLLARS_PER_HOUR:.2f}"
        "/hour (assumed):"
    )
    print("the RAG answer above, prefix cache as above; roofline bound per step,")
    print("prefill and decode run as separate steps")
    context = prompt + output
    cap = max_batch(model, gpu, context)
    print(
        f"KV cache of one sequence at {context:,} tokens:"
        f" {kv_cache_bytes(model, context) / 1e9:.2f} GB; at most {cap} fit"
        " beside the weights"
    )
    rows = []
    for batch in (1, 16, cap):
        prefill, decode = self_hosted_task_seconds(
            model, gpu, prompt, output, batch, prefix, hit
        )
        rows.append((batch, prefill, decode))
    print(f"prefill {prefill:.3f} s per task at any batch; then decoding:")
    print("  batch  decode tokens/s  decode s per task  GPU s per task  $ per task")
    for batch, prefill, decode in rows:
        dollars = (prefill + decode) * GPU_DOLLARS_PER_HOUR / 3600
        print(
            f"  {batch:5d} {(output - 1) / decode:16,.0f} {decode:18.3f}"
            f" {prefill + decode:15.3f}  ${dollars:.5f}"
        )
    day = 24 * GPU_DOLLARS_PER_HOUR
    _, prefill, decode = rows[-1]  # the largest batch that fits
    capacity = 86_400 / (prefill + decode)
    print(
        f"Break-even at batch {cap} against the small model's API price"
        f" (${api:.4f} per task):"
    )
    print(
        f"  the GPU bills ${day:.0f} a day, the API price of {day / api:,.0f} tasks;"
        f" it can serve {capacity:,.0f} a day,"
    )
    print(f"  so self-hosting costs less above {day / api / capacity:.0%} utilisation")


def main() -> None:
    _evaluation_size()
    _cost()


if __name__ == "__main__":
    main()
