"""The world of the LLM evaluation miniature: prompts, answers, raters, judges.

Every answer has a hidden quality on a latent scale: minus the prompt's difficulty
(shared by every system that answers it), plus the system's effect on that
capability, plus the answer's own noise. Its true grade (1 to 5) bins that quality.
Human raters and LLM judges never see it: each reads the quality with noise of its
own, and a judge may add an offset, a preference for the first of two answers or
for the longer one. The generator draws the truth, so no grader defines it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CAPABILITIES = ("factual QA", "summaries", "extraction", "reasoning", "drafting")
GRADES = (1, 2, 3, 4, 5)
THRESHOLDS = np.array([-1.2, -0.4, 0.4, 1.2])  # latent quality -> grade 1..5
PROMPT_SD = 1.0  # difficulty: what makes a prompt hard for every system alike
ANSWER_SD = 0.5  # what one system's answer adds on its own
HUMAN_SD = 0.3  # a trained rater's reading error


# --8<-- [start:world]
@dataclass(frozen=True)
class Prompts:
    """An evaluation set: each prompt's capability (an index) and difficulty."""

    capability: np.ndarray
    difficulty: np.ndarray


def draw_prompts(rng: np.random.Generator, per_capability: int) -> Prompts:
    """The same number of prompts for every capability (a stratified set)."""
    _check_count("per_capability", per_capability)
    capability = np.repeat(np.arange(len(CAPABILITIES)), per_capability)
    return Prompts(capability, rng.normal(0.0, PROMPT_SD, capability.size))


def answer_quality(
    rng: np.random.Generator, prompts: Prompts, effect: float | np.ndarray = 0.0
) -> np.ndarray:
    """Latent quality of one system's answers: -difficulty + effect + own noise.

    effect is the system's gain on the latent scale, one number or one per
    capability; two systems that answer the same prompts share the difficulty.
    """
    gain = _effects(effect)
    noise = rng.normal(0.0, ANSWER_SD, prompts.difficulty.size)
    return -prompts.difficulty + gain[prompts.capability] + noise


def true_grades(quality) -> np.ndarray:
    """The grade an answer deserves: its latent quality binned into 1..5."""
    return 1 + (np.asarray(quality)[..., None] > THRESHOLDS).sum(axis=-1)


def expected_grade(effect: float) -> float:
    """Mean true grade over all prompts for a system with this latent effect."""
    spread = math.hypot(PROMPT_SD, ANSWER_SD)
    return float(1 + stats.norm.cdf((effect - THRESHOLDS) / spread).sum())
    # --8<-- [end:world]


def effect_for_grade_change(change: float) -> float:
    """The latent effect whose expected grade differs from effect 0 by `change`."""
    if not isinstance(change, int | float) or not abs(change) < len(GRADES) - 1:
        raise ValueError(f"change must be a number within (-4, 4), got {change!r}")
    base = expected_grade(0.0)
    low, high = -20.0, 20.0
    for _ in range(100):  # bisection: expected_grade rises with the effect
        mid = (low + high) / 2
        low, high = (mid, high) if expected_grade(mid) - base < change else (low, mid)
    return (low + high) / 2


def human_grades(rng: np.random.Generator, quality) -> np.ndarray:
    """One trained rater's grades: the quality read with the rater's own error."""
    q = np.asarray(quality, dtype=float)
    return true_grades(q + rng.normal(0.0, HUMAN_SD, q.shape))


@dataclass(frozen=True)
class PointwiseJudge:
    """Grades one answer 1..5: reads its quality with noise (one level per
    capability) plus an offset that moves every grade one way (lenient > 0)."""

    name: str
    noise: tuple[float, ...]  # one per capability
    offset: float = 0.0

    def __post_init__(self) -> None:
        if len(self.noise) != len(CAPABILITIES) or min(self.noise) < 0:
            raise ValueError(f"noise: one non-negative level per capability, {self}")

    def grade(self, rng, quality, capability) -> np.ndarray:
        """Grades 1..5 of answers of this quality, from these capabilities."""
        sd = np.asarray(self.noise)[capability]
        read = quality + self.offset + rng.normal(0.0, 1.0, sd.shape) * sd
        return true_grades(read)


# --8<-- [start:judges]
@dataclass(frozen=True)
class PairwiseJudge:
    """Says which of two answers is better. It reads each answer's quality once
    (answer_noise); each call adds call_noise, a bonus for the answer in the
    first slot and a bonus per unit of log length ratio."""

    answer_noise: float = 0.35
    call_noise: float = 0.15
    position_bias: float = 0.35  # latent units in favour of the first slot
    verbosity: float = 0.5  # latent units per unit of log(length ratio)

    def first_wins(self, rng, first, second, first_len, second_len) -> np.ndarray:
        """True where the answer shown first wins the call."""
        margin = first - second + self.position_bias
        margin = margin + self.verbosity * (first_len - second_len)
        return margin + rng.normal(0.0, self.call_noise, np.shape(first)) > 0
        # --8<-- [end:judges]

    def __post_init__(self) -> None:
        for name in ("answer_noise", "call_noise"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be non-negative")


# --8<-- [start:swap]
def judge_both_orders(
    judge: PairwiseJudge,
    rng: np.random.Generator,
    quality_a: np.ndarray,
    quality_b: np.ndarray,
    log_len_a: np.ndarray,
    log_len_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """B's wins when B is shown second, and when B is shown first, on the same
    pairs: the judge reads each answer once, then is asked in both orders."""
    _check_pairs(judge, quality_a, quality_b, log_len_a, log_len_b)
    seen_a = quality_a + rng.normal(0.0, judge.answer_noise, np.shape(quality_a))
    seen_b = quality_b + rng.normal(0.0, judge.answer_noise, np.shape(quality_b))
    b_second = ~judge.first_wins(rng, seen_a, seen_b, log_len_a, log_len_b)
    b_first = judge.first_wins(rng, seen_b, seen_a, log_len_b, log_len_a)
    return b_second, b_first
    # --8<-- [end:swap]


def log_lengths(
    rng: np.random.Generator, size: int, padding: float = 1.0
) -> np.ndarray:
    """Log word counts of answers (median 150 words); padding multiplies them.

    Length is drawn independently of quality: in this world a longer answer is
    never a better one.
    """
    _check_count("size", size)
    if isinstance(padding, bool) or not isinstance(padding, int | float):
        raise TypeError(f"padding must be a number, got {type(padding).__name__}")
    if not padding > 0:
        raise ValueError(f"padding must be positive, got {padding}")
    return np.log(150.0 * padding) + rng.normal(0.0, 0.3, size)


def _effects(effect) -> np.ndarray:
    gain = np.asarray(effect, dtype=float)
    if gain.ndim > 1 or (gain.ndim == 1 and gain.size != len(CAPABILITIES)):
        raise ValueError(f"effect: one number or {len(CAPABILITIES)} of them")
    if not np.isfinite(gain).all():
        raise ValueError("effect must be finite")
    return np.broadcast_to(gain, (len(CAPABILITIES),))


def _check_pairs(judge, *arrays) -> None:
    if not isinstance(judge, PairwiseJudge):
        raise TypeError(f"judge must be a PairwiseJudge, got {type(judge).__name__}")
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1 or len(shapes.pop()) != 1:
        raise ValueError("qualities and log lengths: 1-D arrays of one length")


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
