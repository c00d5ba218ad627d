"""Drift tests the framework page does not cover: categories and label shift.

A chi-square test compares category frequencies (device, country, merchant type)
between a reference window and today. Black Box Shift Estimation (Lipton et al.,
2018) estimates today's class prior from the model's predictions alone, before a
single label arrives.

Run it: ``python -m snippets.concepts.monitoring``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


# --8<-- [start:chi-square]
def category_counts(reference: Sequence, current: Sequence) -> tuple[list, np.ndarray]:
    """Categories seen in either window and a 2 x K table of their counts."""
    if len(reference) == 0 or len(current) == 0:
        raise ValueError("both windows need at least one observation")
    ref, cur = np.asarray(reference), np.asarray(current)
    if ref.ndim != 1 or cur.ndim != 1:
        raise ValueError("reference and current must be 1-D sequences of categories")
    # The union, so a category that is new today (a new app version) is counted.
    categories = sorted(set(ref.tolist()) | set(cur.tolist()), key=str)
    table = np.array(
        [[np.sum(window == c) for c in categories] for window in (ref, cur)]
    )
    return categories, table


def chi_square_drift(
    reference: Sequence, current: Sequence
) -> tuple[float, int, float]:
    """Pearson chi-square test of homogeneity: statistic, degrees of freedom, p."""
    categories, table = category_counts(reference, current)
    if len(categories) < 2:
        raise ValueError("a chi-square test needs at least two categories")
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = len(categories) - 1  # (2 rows - 1) x (K columns - 1)
    return statistic, dof, float(stats.chi2.sf(statistic, dof))
    # --8<-- [end:chi-square]


# --8<-- [start:bbse]
def confusion_joint(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> np.ndarray:
    """C[i, j] = P(predicted i, true j) on labelled source data."""
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    if truth.ndim != 1 or truth.shape != pred.shape or truth.size == 0:
        raise ValueError("y_true and y_pred must be non-empty 1-D arrays of one length")
    for name, arr in (("y_true", truth), ("y_pred", pred)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer class ids, got {arr.dtype}")
        if arr.min() < 0 or arr.max() >= n_classes:
            raise ValueError(f"{name} has class ids outside 0..{n_classes - 1}")
    joint = np.zeros((n_classes, n_classes))
    np.add.at(joint, (pred, truth), 1.0)
    return joint / truth.size


def bbse_class_prior(
    y_true_source: ArrayLike,
    y_pred_source: ArrayLike,
    y_pred_target: ArrayLike,
    n_classes: int = 2,
) -> np.ndarray:
    """Target class prior q(y) from unlabelled target predictions (BBSE)."""
    joint = confusion_joint(y_true_source, y_pred_source, n_classes)
    source_prior = joint.sum(axis=0)
    if np.linalg.cond(joint) > 1e8:
        raise ValueError(
            "confusion matrix is singular: the predictor carries no signal"
        )
    target_pred = np.asarray(y_pred_target)
    if target_pred.ndim != 1 or target_pred.size == 0:
        raise ValueError("y_pred_target must be a non-empty 1-D array")
    # Under label shift P(pred | y) is fixed, so q(pred) = C @ w with w = q(y) / p(y).
    target_pred_share = np.bincount(target_pred, minlength=n_classes) / target_pred.size
    weights = np.linalg.solve(joint, target_pred_share)
    prior = np.clip(weights * source_prior, 0.0, None)  # noise can dip below zero
    return prior / prior.sum()
    # --8<-- [end:bbse]


# --8<-- [start:demo]
def _label_shift_demo(seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)

    def sample(n: int, prevalence: float) -> tuple[np.ndarray, np.ndarray]:
        # Label shift: P(x | y) stays fixed, only the share of positives moves.
        y = (rng.random(n) < prevalence).astype(int)
        score = rng.normal(1.5 * y, 1.0)
        return y, (score > 1.0).astype(int)  # the deployed model's decisions

    y_source, pred_source = sample(20_000, 0.05)
    y_target, pred_target = sample(20_000, 0.20)  # e.g. a fraud ring goes live
    return {
        "source": float(y_source.mean()),
        "true": float(y_target.mean()),
        "flagged_source": float(pred_source.mean()),
        "flagged": float(pred_target.mean()),
        "bbse": float(bbse_class_prior(y_source, pred_source, pred_target)[1]),
    }


def _device_drift_demo(seed: int = 0) -> dict[str, tuple[float, int, float]]:
    rng = np.random.default_rng(seed)
    devices = ["android", "ios", "web"]
    reference = rng.choice(devices, 10_000, p=[0.5, 0.3, 0.2])
    noise = rng.choice(devices, 10_000, p=[0.5, 0.3, 0.2])
    new_app = rng.choice([*devices, "tv"], 10_000, p=[0.45, 0.3, 0.2, 0.05])
    return {
        "same mix": chi_square_drift(reference, noise),
        "new TV app, 5%": chi_square_drift(reference, new_app),
    }


def main() -> None:
    print("Chi-square drift test on device type (10,000 requests per window)")
    for name, (statistic, dof, p) in _device_drift_demo().items():
        print(f"  {name:<15} chi2 = {statistic:8.1f}  dof = {dof}  p = {p:.2g}")
    r = _label_shift_demo()
    print()
    print("Label shift, estimated before any label arrives")
    print(f"  positive rate in training data   {r['source']:.3f}")
    print(f"  share the model flagged then     {r['flagged_source']:.3f}")
    print(f"  share the model flags today      {r['flagged']:.3f}")
    print(f"  BBSE estimate of today's rate    {r['bbse']:.3f}")
    print(f"  true rate today (known later)    {r['true']:.3f}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
