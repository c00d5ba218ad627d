"""Drift checks the framework page does not cover, each checked against SciPy.

A chi-square test compares category frequencies (device, country, merchant type)
between a reference window and today. Black Box Shift Estimation (Lipton et al.,
2018) estimates today's class prior from the model's predictions alone, before a
single label arrives. A simulation measures how often PSI crosses the folklore
thresholds when nothing has drifted, and a concept-drift demonstration with rare
positives shows input monitors staying quiet while PR-AUC falls.

Run it: ``python -m snippets.concepts.monitoring``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from snippets.concepts.classification_metrics import (
    average_precision,
    precision,
    recall,
)


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
    """C[i, j] = P(predicted i, true j) on labelled, held-out source data."""
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
    """Target class prior q(y) from unlabelled target predictions (BBSE).

    The source labels and predictions must come from held-out data, not from the
    rows the model was trained on, or the confusion matrix is optimistic.
    """
    joint = confusion_joint(y_true_source, y_pred_source, n_classes)
    source_prior = joint.sum(axis=0)
    if np.linalg.cond(joint) > 1e8:
        raise ValueError(
            "confusion matrix is singular: the predictor carries no signal"
        )
    target_pred = np.asarray(y_pred_target)
    if target_pred.ndim != 1 or target_pred.size == 0:
        raise ValueError("y_pred_target must be a non-empty 1-D array")
    # Under label shift P(pred | y) is fixed, so q(pred) = C @ w with w = q(y) / p(y):
    # BBSE estimates the weights w, and the prevalence follows as q(y) = w * p(y).
    target_pred_share = np.bincount(target_pred, minlength=n_classes) / target_pred.size
    weights = np.linalg.solve(joint, target_pred_share)
    prior = np.clip(weights * source_prior, 0.0, None)  # noise can dip below zero
    return prior / prior.sum()
    # --8<-- [end:bbse]


# --8<-- [start:psi-noise]
def psi_under_no_drift(
    n_reference: int,
    n_current: int,
    rng: np.random.Generator,
    n_windows: int = 2_000,
    n_bins: int = 10,
    epsilon: float = 1e-4,
) -> np.ndarray:
    """PSI of n_windows (reference, current) pairs drawn from one distribution.

    PSI on quantile bins only depends on ranks, so uniform draws stand for any
    continuous feature. Bins, epsilon and formula as in the framework's psi().
    """
    if min(n_reference, n_current, n_windows) < 1 or n_bins < 2:
        raise ValueError("need positive sample sizes and at least two bins")
    reference = np.sort(rng.random((n_windows, n_reference)), axis=1)
    inner = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1], axis=1).T
    # Reference rows per bin, binned as np.searchsorted(inner, ref, side="right").
    below = np.array(
        [
            np.searchsorted(row, edges, side="right")
            for row, edges in zip(reference, inner, strict=True)
        ]
    )
    ref_counts = np.diff(below, prepend=0, append=n_reference, axis=1)
    # A current window from the same distribution: multinomial over the bin masses.
    edges = np.hstack([np.zeros((n_windows, 1)), inner, np.ones((n_windows, 1))])
    cur_counts = rng.multinomial(n_current, np.diff(edges, axis=1))
    ref = np.maximum(ref_counts / n_reference, epsilon)
    cur = np.maximum(cur_counts / n_current, epsilon)
    ref, cur = (
        ref / ref.sum(axis=1, keepdims=True),
        cur / cur.sum(axis=1, keepdims=True),
    )
    return np.sum((cur - ref) * np.log(cur / ref), axis=1)
    # --8<-- [end:psi-noise]


# --8<-- [start:concept-drift]
def concept_drift_rare_positives(
    seed: int = 0, n: int = 40_000, drift: bool = True
) -> dict[str, float]:
    """Same inputs, new labelling rule, ~3% positives: inputs quiet, PR-AUC falls.

    drift=False keeps the old rule: the ablation that shows the drop is the drift's.
    """
    rng = np.random.default_rng(seed)

    def sample(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(n, 3))
        y = (x @ weights + rng.normal(0, 0.5, n) > 4.0).astype(int)  # rare fraud
        return x, y

    before = np.array([1.5, 1.0, 1.0])
    after = np.array([1.5, -1.0, 1.0]) if drift else before  # signal 2 is faked
    x_train, y_train = sample(before)
    with threadpool_limits(limits=1, user_api="blas"):  # 3 features: threads cost
        model = LogisticRegression().fit(x_train, y_train)
    x_old, y_old = sample(before)
    x_new, y_new = sample(after)
    s_old, s_new = model.predict_proba(x_old)[:, 1], model.predict_proba(x_new)[:, 1]
    threshold = np.quantile(s_old, 1 - y_old.mean())  # flag as many as there is fraud
    return {
        "prevalence": float(y_new.mean()),
        "min_input_ks_p": min(
            float(stats.ks_2samp(x_old[:, j], x_new[:, j]).pvalue) for j in range(3)
        ),
        "score_ks_p": float(stats.ks_2samp(s_old, s_new).pvalue),
        "pr_auc_before": average_precision(y_old, s_old),
        "pr_auc_after": average_precision(y_new, s_new),
        "precision_before": precision(y_old, (s_old >= threshold).astype(int)),
        "precision_after": precision(y_new, (s_new >= threshold).astype(int)),
        "recall_before": recall(y_old, (s_old >= threshold).astype(int)),
        "recall_after": recall(y_new, (s_new >= threshold).astype(int)),
    }
    # --8<-- [end:concept-drift]


# --8<-- [start:demo]
# The label-shift world: a score ~ N(SCORE_GAP * y, 1), flagged above FLAG_ABOVE.
SCORE_GAP = 1.5
FLAG_ABOVE = 1.0


def label_shift_demo(seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)

    def sample(n: int, prevalence: float) -> tuple[np.ndarray, np.ndarray]:
        # Label shift: P(x | y) stays fixed, only the share of positives moves.
        y = (rng.random(n) < prevalence).astype(int)
        score = rng.normal(SCORE_GAP * y, 1.0)
        return y, (score > FLAG_ABOVE).astype(int)  # the deployed model's decisions

    y_source, pred_source = sample(20_000, 0.05)
    y_target, pred_target = sample(20_000, 0.20)  # e.g. a wave of a known fraud pattern
    return {
        "source": float(y_source.mean()),
        "true": float(y_target.mean()),
        "flagged_source": float(pred_source.mean()),
        "flagged": float(pred_target.mean()),
        "bbse": float(bbse_class_prior(y_source, pred_source, pred_target)[1]),
    }


def device_drift_demo(seed: int = 0) -> dict[str, tuple[float, int, float]]:
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
    for name, (statistic, dof, p) in device_drift_demo().items():
        print(f"  {name:<15} chi2 = {statistic:8.1f}  dof = {dof}  p = {p:.2g}")
    r = label_shift_demo()
    print()
    print("Label shift, estimated before any label arrives")
    print(f"  positive rate in training data   {r['source']:.3f}")
    print(f"  share the model flagged then     {r['flagged_source']:.3f}")
    print(f"  share the model flags today      {r['flagged']:.3f}")
    print(f"  BBSE estimate of today's rate    {r['bbse']:.3f}")
    print(f"  true rate today (known later)    {r['true']:.3f}")
    runs = [label_shift_demo(seed) for seed in range(10)]
    bbse_err = [abs(x["bbse"] - x["true"]) for x in runs]
    flag_err = [abs(x["flagged"] - x["true"]) for x in runs]
    print(
        f"  over 10 seeds, |BBSE - true|     {min(bbse_err):.3f} to {max(bbse_err):.3f}"
    )
    print(
        f"  over 10 seeds, |flagged - true|  {min(flag_err):.3f} to {max(flag_err):.3f}"
    )

    rng = np.random.default_rng(1)
    print(
        "\nPSI with no drift at all, 10 bins, 2,000-row reference, 2,000 windows each"
    )
    print(
        f"{'window':>8} {'mean PSI':>9} {'(b-1)(1/n+1/m)':>15} "
        f"{'> 0.1':>7} {'> 0.25':>7}"
    )
    for m in (200, 1_000, 5_000):
        values = psi_under_no_drift(2_000, m, rng)
        theory = 9 * (1 / 2_000 + 1 / m)
        print(
            f"{m:>8,} {values.mean():>9.4f} {theory:>15.4f} "
            f"{np.mean(values > 0.1):>7.1%} {np.mean(values > 0.25):>7.1%}"
        )

    c = concept_drift_rare_positives()
    print(f"\nConcept drift with rare positives ({c['prevalence']:.1%} fraud after)")
    print(f"  smallest KS p-value over the 3 inputs  {c['min_input_ks_p']:.2f}")
    print(f"  KS p-value of the model's scores       {c['score_ks_p']:.2f}")
    print(f"  PR-AUC     {c['pr_auc_before']:.3f} -> {c['pr_auc_after']:.3f}")
    print(f"  precision  {c['precision_before']:.3f} -> {c['precision_after']:.3f}")
    print(f"  recall     {c['recall_before']:.3f} -> {c['recall_after']:.3f}")
    runs = [concept_drift_rare_positives(seed) for seed in range(1, 6)]
    drops = [r["pr_auc_before"] - r["pr_auc_after"] for r in runs]
    print(f"  PR-AUC drop over 5 more seeds: {min(drops):.3f} to {max(drops):.3f}")
    # Ablation: the same worlds with the old labelling rule kept.
    s = concept_drift_rare_positives(drift=False)
    print(
        f"  no drift, same seed: PR-AUC {s['pr_auc_before']:.3f} -> "
        f"{s['pr_auc_after']:.3f}"
    )
    runs = [concept_drift_rare_positives(seed, drift=False) for seed in range(1, 6)]
    drops = [r["pr_auc_before"] - r["pr_auc_after"] for r in runs]
    print(f"  no drift, drop over the 5 seeds: {min(drops):.3f} to {max(drops):.3f}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
