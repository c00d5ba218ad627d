"""From the costs of errors to a decision threshold: precision or recall, decided.

Run it: ``python -m snippets.framework.problem_clarification``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from snippets.concepts.classification_metrics import (
    bayes_threshold,
    check_binary_inputs,
    cost_minimising_threshold,
    expected_cost,
    precision,
    recall,
    sigmoid,
)


# --8<-- [start:operating-point]
@dataclass(frozen=True)
class OperatingPoint:
    """Where a classifier runs for one pair of error costs, and what it achieves."""

    cost_fp: float
    cost_fn: float
    bayes_threshold: float
    threshold: float
    precision: float
    recall: float
    flagged_share: float
    cost_per_example: float


def operating_point(
    y_true: ArrayLike, y_score: ArrayLike, cost_fp: float, cost_fn: float
) -> OperatingPoint:
    """Pick the cost-minimising threshold on validation data and describe it."""
    for name, cost in (("cost_fp", cost_fp), ("cost_fn", cost_fn)):
        if isinstance(cost, bool) or not isinstance(cost, int | float):
            raise TypeError(f"{name} must be a number, got {type(cost).__name__}")
        if not math.isfinite(cost) or cost <= 0:
            raise ValueError(f"{name} must be positive and finite, got {cost}")
    labels, scores = check_binary_inputs(y_true, y_score)
    threshold, cost = cost_minimising_threshold(labels, scores, cost_fp, cost_fn)
    flagged = (scores >= threshold).astype(int)
    return OperatingPoint(
        cost_fp=float(cost_fp),
        cost_fn=float(cost_fn),
        bayes_threshold=bayes_threshold(cost_fp, cost_fn),
        threshold=threshold,
        precision=precision(labels, flagged),
        recall=recall(labels, flagged),
        flagged_share=float(flagged.mean()),
        cost_per_example=cost,
    )


def sweep_cost_ratios(
    y_true: ArrayLike, y_score: ArrayLike, ratios: Sequence[float]
) -> list[OperatingPoint]:
    """One operating point per cost ratio c_fn / c_fp (with c_fp fixed at 1)."""
    if len(ratios) == 0:
        raise ValueError("ratios is empty: give at least one c_fn / c_fp ratio")
    return [operating_point(y_true, y_score, 1.0, float(r)) for r in ratios]
    # --8<-- [end:operating-point]


# --8<-- [start:scenarios]
@dataclass(frozen=True)
class Scenario:
    """A product whose two errors have known (assumed) costs."""

    name: str
    cost_fp: float
    cost_fn: float


# Assumed costs, in arbitrary units; only their ratio moves the threshold.
SPAM_FILTER = Scenario("spam filter", cost_fp=20, cost_fn=1)  # lost real mail
CANCER_SCREEN = Scenario("cancer screen", cost_fp=1, cost_fn=20)  # missed tumour


def cost_of_default_threshold(
    y_true: ArrayLike, y_score: ArrayLike, scenario: Scenario
) -> tuple[float, float]:
    """Average cost per example at the default 0.5 and at the cost-minimising t."""
    best = operating_point(y_true, y_score, scenario.cost_fp, scenario.cost_fn)
    at_half = expected_cost(y_true, y_score, 0.5, scenario.cost_fp, scenario.cost_fn)
    return at_half, best.cost_per_example
    # --8<-- [end:scenarios]


# --8<-- [start:demo]
def calibrated_validation_set(
    n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Scores that are calibrated probabilities: each label is drawn from its score."""
    probs = sigmoid(rng.normal(-1.5, 2.0, size=n))
    labels = (rng.random(n) < probs).astype(int)
    return labels, probs


def main() -> None:
    y, p = calibrated_validation_set(40_000, np.random.default_rng(2024))
    print(f"Calibrated validation scores: n = {y.size:,}, prevalence {y.mean():.1%}")
    print(
        f"{'c_fn/c_fp':>9} {'Bayes t':>8} {'best t':>7} {'precision':>9} "
        f"{'recall':>6} {'flagged':>7}"
    )
    ratios = [Fraction(1, 20), Fraction(1, 5), Fraction(1), Fraction(5), Fraction(20)]
    for ratio, point in zip(ratios, sweep_cost_ratios(y, p, ratios), strict=True):
        print(
            f"{ratio!s:>9} {point.bayes_threshold:>8.3f} {point.threshold:>7.3f} "
            f"{point.precision:>9.3f} {point.recall:>6.3f} {point.flagged_share:>7.1%}"
        )

    print("\nSame scores, two products (cost per 1,000 examples):")
    print(f"{'scenario':<13} {'c_fp':>4} {'c_fn':>4} {'at t=0.5':>8} {'at best t':>9}")
    for scenario in (SPAM_FILTER, CANCER_SCREEN):
        at_half, at_best = cost_of_default_threshold(y, p, scenario)
        print(
            f"{scenario.name:<13} {scenario.cost_fp:>4} {scenario.cost_fn:>4} "
            f"{1000 * at_half:>8.1f} {1000 * at_best:>9.1f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
