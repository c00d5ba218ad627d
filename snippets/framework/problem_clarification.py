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


def threshold_for_recall(y_true: ArrayLike, y_score: ArrayLike, target: float) -> float:
    """The highest threshold t whose flags (score >= t) reach the target recall."""
    if isinstance(target, bool) or not isinstance(target, int | float):
        raise TypeError(f"target must be a number, got {type(target).__name__}")
    if not 0 < target <= 1:
        raise ValueError(f"target recall must be in (0, 1], got {target}")
    labels, scores = check_binary_inputs(y_true, y_score)
    if labels.sum() == 0:
        raise ValueError("y_true has no positives: recall is undefined")
    order = np.argsort(-scores, kind="stable")
    caught = np.cumsum(labels[order]) / labels.sum()
    return float(scores[order][np.argmax(caught >= target - 1e-12)])
    # --8<-- [end:scenarios]


# --8<-- [start:demo]
# Cancers per screening mammogram: 5.1 detected + 0.8 missed per 1,000 screens
# (Lehman et al., 2017); 86.9% of cancers are detected (sensitivity).
SCREEN_PREVALENCE = 0.0059
BENCHMARK_RECALL = 0.869


def calibrated_validation_set(
    n: int, rng: np.random.Generator, logit_mean: float = -1.5, logit_sd: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Scores that are calibrated probabilities: each label is drawn from its score."""
    probs = sigmoid(rng.normal(logit_mean, logit_sd, size=n))
    labels = (rng.random(n) < probs).astype(int)
    return labels, probs


def logit_mean_for_prevalence(prevalence: float, logit_sd: float) -> float:
    """Mean logit whose calibrated scores average to prevalence (bisection)."""
    if not 0 < prevalence < 1:
        raise ValueError(f"prevalence must be in (0, 1), got {prevalence}")
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)  # E over N(0, 1)
    weights = weights / weights.sum()
    low, high = -40.0, 40.0
    for _ in range(100):  # the mean score rises with the mean logit
        mid = (low + high) / 2
        if weights @ sigmoid(mid + logit_sd * nodes) < prevalence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def screening_set(
    n: int, seed: int, logit_sd: float = 2.5
) -> tuple[np.ndarray, np.ndarray]:
    """A screened population at the benchmark prevalence, calibrated scores."""
    mean = logit_mean_for_prevalence(SCREEN_PREVALENCE, logit_sd)
    return calibrated_validation_set(n, np.random.default_rng(seed), mean, logit_sd)


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

    worlds = {
        SPAM_FILTER: lambda seed: calibrated_validation_set(
            40_000, np.random.default_rng(seed)
        ),
        CANCER_SCREEN: lambda seed: screening_set(200_000, seed),
    }
    print(
        "\nTwo products, assumed costs; cost per 1,000 examples at t = 0.5 and best t"
    )
    print(
        f"{'scenario':<13} {'prevalence':>10} {'c_fp':>4} {'c_fn':>4} {'best t':>6} "
        f"{'precision':>9} {'recall':>6} {'flagged':>7} {'t=0.5':>6} {'best':>6}"
    )
    first_seed = {SPAM_FILTER: 2024, CANCER_SCREEN: 0}
    for scenario, draw in worlds.items():
        ys, ps = draw(first_seed[scenario])
        best = operating_point(ys, ps, scenario.cost_fp, scenario.cost_fn)
        at_half, _ = cost_of_default_threshold(ys, ps, scenario)
        print(
            f"{scenario.name:<13} {ys.mean():>10.1%} {scenario.cost_fp:>4} "
            f"{scenario.cost_fn:>4} {best.threshold:>6.3f} {best.precision:>9.3f} "
            f"{best.recall:>6.3f} {best.flagged_share:>7.1%} {1000 * at_half:>6.1f} "
            f"{1000 * best.cost_per_example:>6.1f}"
        )
    print("Over seeds 0-4, t = 0.5 costs this many times the best t:")
    for scenario, draw in worlds.items():
        excess = []
        for seed in range(5):
            at_half, at_best = cost_of_default_threshold(*draw(seed), scenario)
            excess.append(at_half / at_best)
        print(f"  {scenario.name:<13} {min(excess):.2f}-{max(excess):.2f}x")

    # Ablation: the screen changed prevalence and spread at once; change one at a time.
    worlds = {
        "the sweep's world, logit sd 2.0": lambda seed: calibrated_validation_set(
            40_000, np.random.default_rng(seed)
        ),
        "0.59%, logit sd 2.0": lambda seed: screening_set(200_000, seed, logit_sd=2.0),
        "0.59%, logit sd 2.5 (the screen)": lambda seed: screening_set(200_000, seed),
    }
    print("\nc_fn/c_fp = 20, prevalence and spread apart, min-max over seeds 0-4:")
    print(f"  {'prevalence, spread':<33} {'recall':>11} {'precision':>11}")
    for name, draw in worlds.items():
        points = [operating_point(*draw(seed), 1, 20) for seed in range(5)]
        cells = [
            f"{min(v):.3f}-{max(v):.3f}"
            for v in ([p.recall for p in points], [p.precision for p in points])
        ]
        print(f"  {name:<33} {cells[0]:>11} {cells[1]:>11}")

    ys, ps = screening_set(200_000, seed=0)
    t = threshold_for_recall(ys, ps, BENCHMARK_RECALL)
    flagged = (ps >= t).astype(int)
    print(
        f"\nScreen run at recall {BENCHMARK_RECALL} instead: t = {t:.4f}, "
        f"flags {flagged.mean():.1%}, precision {precision(ys, flagged):.3f}"
    )
    print(
        f"  Bayes threshold when one missed cancer costs {(1 - t) / t:.0f} false alarms"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
