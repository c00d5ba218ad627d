"""pass@k for code models: the unbiased estimator, and what temperature does to it.

The estimator of Chen et al. (2021, arXiv:2107.03374): draw n >= k samples for a
problem, count the c that pass its unit tests, and estimate the chance that at
least one of k samples passes as 1 - C(n - c, k) / C(n, k), computed as a product
so that it never overflows. The plug-in 1 - (1 - c / n)^k is biased low.

A simulated code model: each problem has a few plausible programs, some correct
(fixed by the generator, never by the model), with logits that favour correct
ones only loosely, and a long tail of junk programs that are always wrong. A
sample at temperature T is drawn from the softmax of logits / T. Low T repeats
the most likely program; high T spreads the samples, reaching correct programs in
the tail and junk alike.

Run the whole problem: ``python -m snippets.problems.code_completion``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import comb

from snippets.common.stats import paired_interval

PROBLEMS = 164  # as many as HumanEval (Chen et al., 2021)
SAMPLES = 200  # per problem and temperature, as Chen et al. drew
KS = (1, 10, 100)
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)
LOW_T, HIGH_T = 0.2, 0.8
SMALL_N, SMALL_K = 20, 10  # a cheaper evaluation, where the plug-in's bias shows
SEEDS = (0, 1, 2, 3, 4)


def _count(name: str, value: object, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def _check_nck(n: object, c: object, k: object) -> tuple[int, int, int]:
    n, c, k = _count("n", n, 1), _count("c", c), _count("k", k, 1)
    if c > n:
        raise ValueError(f"c ({c}) cannot exceed n ({n})")
    if k > n:
        raise ValueError(f"k ({k}) cannot exceed n ({n}): draw at least k samples")
    return n, c, k


# --8<-- [start:pass_at_k]
def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c pass: 1 - C(n-c, k) / C(n, k).

    The ratio of binomials is the chance that k samples drawn without replacement
    from the n are all wrong. Written as a product of n - (n - c) terms it stays
    between 0 and 1 at every step, so no factorial overflows.
    """
    n, c, k = _check_nck(n, c, k)
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    all_wrong = np.prod(1.0 - k / np.arange(n - c + 1, n + 1))
    return float(1.0 - all_wrong)


def plug_in_pass_at_k(n: int, c: int, k: int) -> float:
    """The biased estimate: the pass rate c/n put into 1 - (1 - p)^k."""
    n, c, k = _check_nck(n, c, k)
    return 1.0 - (1.0 - c / n) ** k
    # --8<-- [end:pass_at_k]


def naive_pass_at_k(n: int, c: int, k: int) -> float:
    """The same formula with floating-point binomials: inf / inf once they overflow."""
    n, c, k = _check_nck(n, c, k)
    with np.errstate(invalid="ignore"):
        return float(1.0 - comb(n - c, k) / comb(n, k))


def mean_pass_at_k(n: int, correct_counts: Sequence[int], k: int) -> float:
    """pass@k of a benchmark: the per-problem estimates, averaged over problems."""
    counts = np.asarray(correct_counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("correct_counts must be a non-empty 1-D sequence")
    return float(np.mean([pass_at_k(n, int(c), k) for c in counts]))


# --8<-- [start:model]
@dataclass(frozen=True)
class Benchmark:
    """Problems, each with plausible programs (some correct) and a junk tail."""

    correct: np.ndarray  # (problems, programs): passes the hidden unit tests
    logits: np.ndarray  # (problems, programs): the model's preference
    junk_programs: int  # wrong programs per problem, each at junk_logit
    junk_logit: float


def make_benchmark(
    problems: int, seed: int, programs: int = 20, junk_programs: int = 1_000
) -> Benchmark:
    """Which programs are correct is drawn first; the model's logits only lean
    towards them (+1 on a noise of standard deviation 1.5), so the most likely
    program is often wrong and a correct one may sit further down."""
    _count("problems", problems, 1)
    _count("programs", programs, 1)
    _count("junk_programs", junk_programs, 0)
    rng = np.random.default_rng(seed)
    share_correct = rng.beta(0.4, 1.2, size=problems)  # easy and hard problems
    correct = rng.random((problems, programs)) < share_correct[:, None]
    logits = 1.0 * correct + 1.5 * rng.standard_normal((problems, programs))
    return Benchmark(correct, logits, junk_programs, junk_logit=-3.0)


def program_probabilities(bench: Benchmark, temperature: float) -> np.ndarray:
    """Softmax of logits / T over the plausible programs, plus the junk tail as
    one last column (its total mass). T = 0 is greedy decoding: the argmax."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise TypeError(f"temperature must be a number, got {temperature!r}")
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be finite and >= 0, got {temperature}")
    rows = len(bench.logits)
    if temperature == 0:
        junk = np.full((rows, 1), bench.junk_logit if bench.junk_programs else -np.inf)
        top = np.concatenate([bench.logits, junk], axis=1).argmax(axis=1)
        return np.eye(bench.logits.shape[1] + 1)[top]
    # The tail's total weight is junk_programs * exp(junk_logit / T).
    tail = -np.inf
    if bench.junk_programs:
        tail = bench.junk_logit / temperature + math.log(bench.junk_programs)
    z = np.concatenate([bench.logits / temperature, np.full((rows, 1), tail)], axis=1)
    weights = np.exp(z - z.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)
    # --8<-- [end:model]


def true_pass_at_k(bench: Benchmark, temperature: float, k: int) -> np.ndarray:
    """Each problem's pass@k from the generator's truth: 1 - (1 - p)^k, where p
    is the probability mass the model puts on correct programs at T."""
    _count("k", k, 1)
    probs = program_probabilities(bench, temperature)[:, :-1]
    p_correct = (probs * bench.correct).sum(axis=1)
    return 1.0 - (1.0 - p_correct) ** k


# --8<-- [start:sampling]
def sample_programs(
    bench: Benchmark, temperature: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """n program ids per problem; ids past the plausible ones are junk programs."""
    _count("n", n, 1)
    probs = program_probabilities(bench, temperature)
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0  # guard against rounding
    draws = rng.random((len(probs), n))
    category = (draws[:, :, None] > cdf[:, None, :]).sum(axis=2)
    programs = bench.logits.shape[1]
    junk = programs + rng.integers(max(bench.junk_programs, 1), size=draws.shape)
    return np.where(category < programs, category, junk)


def correct_counts(bench: Benchmark, samples: np.ndarray) -> np.ndarray:
    """How many of each problem's samples pass (a junk program never does)."""
    programs = bench.logits.shape[1]
    plausible = samples < programs
    rows = np.arange(len(samples))[:, None]
    passed = plausible & bench.correct[rows, np.minimum(samples, programs - 1)]
    return passed.sum(axis=1)


def distinct_programs(samples: np.ndarray) -> np.ndarray:
    """Distinct programs among each problem's samples: the diversity T buys."""
    ordered = np.sort(samples, axis=1)
    return 1 + (np.diff(ordered, axis=1) != 0).sum(axis=1)
    # --8<-- [end:sampling]


# --8<-- [start:experiment]
def run_seed(seed: int) -> dict[str, float]:
    """One benchmark, 200 samples a problem at every temperature, and the ablations."""
    bench = make_benchmark(PROBLEMS, seed)
    rng = np.random.default_rng(10_000 + seed)
    out: dict[str, float] = {}
    greedy = program_probabilities(bench, 0.0)[:, :-1]
    greedy_right = (greedy * bench.correct).sum(axis=1) > 0.5
    out["any correct"] = float(bench.correct.any(axis=1).mean())
    out["greedy right"] = float(greedy_right.mean())
    for t in TEMPERATURES:
        samples = sample_programs(bench, t, SAMPLES, rng)
        counts = correct_counts(bench, samples)
        out[f"distinct {t}"] = float(distinct_programs(samples).mean())
        for k in KS:
            per_problem = np.array([pass_at_k(SAMPLES, int(c), k) for c in counts])
            out[f"pass@{k} {t}"] = float(per_problem.mean())
            out[f"true pass@{k} {t}"] = float(true_pass_at_k(bench, t, k).mean())
            for name, subset in (("right", greedy_right), ("wrong", ~greedy_right)):
                out[f"pass@{k} {t} greedy {name}"] = float(per_problem[subset].mean())
        if t == HIGH_T:
            # Ablation: the same per-sample chance of passing, no diversity. Every
            # one of a problem's 200 samples is a copy of its first draw.
            copies = np.repeat(samples[:, :1], SAMPLES, axis=1)
            copied = correct_counts(bench, copies)
            for k in KS:
                out[f"copies pass@{k}"] = mean_pass_at_k(SAMPLES, copied, k)
            # A cheaper evaluation: 20 samples a problem, pass@10 by both estimators.
            few = correct_counts(bench, samples[:, :SMALL_N])
            truth = float(true_pass_at_k(bench, t, SMALL_K).mean())
            unbiased = mean_pass_at_k(SMALL_N, few, SMALL_K)
            plug_in = np.mean(
                [plug_in_pass_at_k(SMALL_N, int(c), SMALL_K) for c in few]
            )
            out["unbiased error"] = unbiased - truth
            out["plug-in error"] = float(plug_in) - truth
    # Ablation: the same problems without the junk tail, pass@10 computed exactly.
    no_tail = replace(bench, junk_programs=0)
    for t in (HIGH_T, TEMPERATURES[-1]):
        exact = true_pass_at_k(no_tail, t, SMALL_K).mean()
        out[f"no tail true pass@{SMALL_K} {t}"] = float(exact)
    return out


def run_experiment(seeds: Sequence[int] = SEEDS) -> list[dict[str, float]]:
    """The per-seed results; each seed draws a new benchmark and new samples."""
    if len(seeds) < 2:
        raise ValueError("need at least two seeds for an interval")
    return [run_seed(seed) for seed in seeds]


def paired(
    runs: Sequence[dict[str, float]], a: str, b: str | None = None
) -> tuple[float, float, float]:
    """Mean of a - b over the seeds (a alone if b is None) and its 95% t-interval."""
    return paired_interval([r[a] - (r[b] if b else 0.0) for r in runs])
    # --8<-- [end:experiment]
