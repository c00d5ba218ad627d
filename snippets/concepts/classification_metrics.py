"""Classification metrics from first principles, checked against scikit-learn.

Run it: ``python -m snippets.concepts.classification_metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from snippets.common.figures import (
    ACCENT,
    GREYS,
    SECOND,
    THIRD,
    new_figure,
    plain_log_ticks,
    printed,
    styled,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --8<-- [start:validate]
def check_binary_inputs(
    y_true: ArrayLike, y_score: ArrayLike, *, name: str = "y_score"
) -> tuple[np.ndarray, np.ndarray]:
    """Return labels and scores as arrays, or raise ValueError saying what is wrong."""
    labels = np.asarray(y_true)
    scores = np.asarray(y_score, dtype=float)
    if labels.ndim != 1 or scores.ndim != 1:
        raise ValueError(f"y_true and {name} must be 1-D arrays")
    if labels.size == 0:
        raise ValueError("y_true is empty: a metric needs at least one example")
    if labels.shape != scores.shape:
        raise ValueError(
            f"y_true has {labels.size} items but {name} has {scores.size}: "
            "they must have the same length"
        )
    if not np.isin(labels, (0, 1)).all():
        bad = np.unique(labels[~np.isin(labels, (0, 1))])[:5]
        raise ValueError(f"y_true must contain only 0 and 1, found {bad.tolist()}")
    if np.isnan(scores).any() or (scores < 0).any() or (scores > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1] (no NaN)")
    return labels.astype(int), scores
    # --8<-- [end:validate]


def _midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


# --8<-- [start:confusion]
@dataclass(frozen=True)
class Confusion:
    """Counts of a binary confusion matrix."""

    tp: int
    fp: int
    fn: int
    tn: int


def confusion(y_true: ArrayLike, y_pred: ArrayLike) -> Confusion:
    """Count true/false positives/negatives of hard 0/1 predictions."""
    labels, preds = check_binary_inputs(y_true, y_pred, name="y_pred")
    if not np.isin(preds, (0.0, 1.0)).all():
        raise ValueError("y_pred must be hard 0/1 predictions; threshold scores first")
    preds = preds.astype(int)
    return Confusion(
        tp=int(np.sum((preds == 1) & (labels == 1))),
        fp=int(np.sum((preds == 1) & (labels == 0))),
        fn=int(np.sum((preds == 0) & (labels == 1))),
        tn=int(np.sum((preds == 0) & (labels == 0))),
    )


def precision(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of predicted positives that are positive: TP / (TP + FP); 0 if none."""
    c = confusion(y_true, y_pred)
    return c.tp / (c.tp + c.fp) if c.tp + c.fp else 0.0


def recall(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of actual positives that are found: TP / (TP + FN); 0 if none."""
    c = confusion(y_true, y_pred)
    return c.tp / (c.tp + c.fn) if c.tp + c.fn else 0.0


def f1(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Harmonic mean of precision and recall: 2TP / (2TP + FP + FN)."""
    c = confusion(y_true, y_pred)
    denominator = 2 * c.tp + c.fp + c.fn
    return 2 * c.tp / denominator if denominator else 0.0
    # --8<-- [end:confusion]


# --8<-- [start:auc]
def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """P(score of a random positive > score of a random negative), ties count 1/2."""
    labels, scores = check_binary_inputs(y_true, y_score)
    n_pos, n_neg = labels.sum(), (1 - labels).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs at least one positive and one negative")
    # Mann-Whitney U: average ranks handle ties exactly as the pairwise definition.
    ranks = _midranks(scores)
    u_statistic = ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u_statistic / (n_pos * n_neg))


def average_precision(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision: precision at each threshold times the recall gained."""
    labels, scores = check_binary_inputs(y_true, y_score)
    if labels.sum() == 0:
        raise ValueError("average precision needs at least one positive")
    order = np.argsort(-scores, kind="mergesort")
    labels, scores = labels[order], scores[order]
    # One operating point per distinct score: the last index of each tie group.
    last_of_group = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_pos = np.cumsum(labels)[last_of_group]
    predicted_pos = last_of_group + 1
    precision_at = true_pos / predicted_pos
    recall_at = true_pos / labels.sum()
    recall_gain = np.diff(np.r_[0.0, recall_at])
    return float(np.sum(recall_gain * precision_at))


def log_loss(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean negative log-likelihood of the labels; probabilities clipped off 0 and 1."""
    labels, probs = check_binary_inputs(y_true, y_prob, name="y_prob")
    eps = np.finfo(float).eps
    probs = np.clip(probs, eps, 1 - eps)
    return float(-np.mean(labels * np.log(probs) + (1 - labels) * np.log1p(-probs)))
    # --8<-- [end:auc]


# --8<-- [start:auc-interval]
def roc_auc_ci(
    y_true: ArrayLike, y_score: ArrayLike, level: float = 0.95
) -> tuple[float, float, float]:
    """ROC-AUC and its normal confidence interval, DeLong's variance (1988)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    labels, scores = check_binary_inputs(y_true, y_score)
    auc = roc_auc(labels, scores)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if pos.size < 2 or neg.size < 2:
        raise ValueError("a DeLong interval needs at least two of each class")
    # Each positive's share of negatives it beats, and each negative's share of
    # positives that beat it, from mid-ranks: O(n log n) instead of all pairs.
    all_ranks = _midranks(np.r_[pos, neg])
    beats = (all_ranks[: pos.size] - _midranks(pos)) / neg.size
    beaten = 1 - (all_ranks[pos.size :] - _midranks(neg)) / pos.size
    std_error = np.sqrt(beats.var(ddof=1) / pos.size + beaten.var(ddof=1) / neg.size)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return auc, max(0.0, auc - z * std_error), min(1.0, auc + z * std_error)


def recall_at_fpr(y_true: ArrayLike, y_score: ArrayLike, max_fpr: float) -> float:
    """Highest recall (TPR) of any threshold whose false-positive rate <= max_fpr."""
    labels, scores = check_binary_inputs(y_true, y_score)
    if not 0 <= max_fpr <= 1:
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr!r}")
    n_pos, n_neg = labels.sum(), (1 - labels).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("recall at a false-positive rate needs both classes")
    order = np.argsort(-scores, kind="mergesort")
    labels, scores = labels[order], scores[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tpr = np.r_[0.0, np.cumsum(labels)[last_of_group] / n_pos]
    fpr = np.r_[0.0, np.cumsum(1 - labels)[last_of_group] / n_neg]
    return float(tpr[fpr <= max_fpr].max())


def recall_at_fpr_ci(
    y_true: ArrayLike,
    y_score: ArrayLike,
    max_fpr: float,
    level: float = 0.95,
    n_boot: int = 4_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Recall at a false-positive rate and a stratified bootstrap interval."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    recall_hat = recall_at_fpr(y_true, y_score, max_fpr)
    labels, scores = check_binary_inputs(y_true, y_score)
    pos, neg = np.sort(scores[labels == 1]), np.sort(scores[labels == 0])
    allowed = int(np.floor(max_fpr * neg.size + 1e-9))  # negatives we may flag
    if allowed >= neg.size:
        return recall_hat, 1.0, 1.0
    # Resample each class with replacement, without building the samples: the
    # cut-off is the (allowed + 1)-th largest resampled negative, whose index in
    # the sorted negatives is floor(n * U) with U ~ Beta(r, n - r + 1), an order
    # statistic of uniforms; the positives above it are then a binomial draw.
    rng = np.random.default_rng(seed)
    rank = neg.size - allowed
    cut = neg[(rng.beta(rank, neg.size - rank + 1, n_boot) * neg.size).astype(int)]
    share_above = 1 - np.searchsorted(pos, cut, side="right") / pos.size
    recalls = rng.binomial(pos.size, share_above) / pos.size
    low, high = np.quantile(recalls, [(1 - level) / 2, (1 + level) / 2])
    return recall_hat, float(low), float(high)
    # --8<-- [end:auc-interval]


# --8<-- [start:paired-bootstrap]
def paired_bootstrap_ap(
    y_true: ArrayLike,
    score_a: ArrayLike,
    score_b: ArrayLike,
    level: float = 0.95,
    n_boot: int = 1_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """AP(a) - AP(b) on the same examples, and a paired bootstrap interval."""
    labels, a = check_binary_inputs(y_true, score_a, name="score_a")
    _, b = check_binary_inputs(labels, score_b, name="score_b")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    difference = average_precision(labels, a) - average_precision(labels, b)
    rng = np.random.default_rng(seed)
    n, resampled = labels.size, []
    for size in np.diff(np.r_[0:n_boot:250, n_boot]):  # 250 resamples at a time
        # A resample is how often each example is drawn. Both models get the
        # same counts, so the noise they share cancels in the difference.
        draws = rng.integers(0, n, size=(size, n)) + n * np.arange(size)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        counts = counts.astype(np.uint16)
        resampled.append(
            _weighted_ap(labels, a, counts) - _weighted_ap(labels, b, counts)
        )
    low, high = np.nanquantile(
        np.concatenate(resampled), [(1 - level) / 2, (1 + level) / 2]
    )
    return difference, float(low), float(high)


def _weighted_ap(
    labels: np.ndarray, scores: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """AP of the data with example i repeated counts[r, i] times, for each row r."""
    order = np.argsort(-scores, kind="mergesort")
    labels, scores, counts = labels[order], scores[order], counts[:, order]
    # Tie groups as in average_precision; only groups holding a positive add to AP.
    group_end = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    group = np.repeat(np.arange(group_end.size), np.diff(np.r_[-1, group_end]))
    ends = group_end[np.bincount(group, weights=labels, minlength=group_end.size) > 0]
    starts = np.r_[0, ends[:-1] + 1]  # segment k runs to the end of positive group k
    counts, labels = counts[:, : ends[-1] + 1], labels[: ends[-1] + 1]
    flagged = np.cumsum(np.add.reduceat(counts, starts, axis=1, dtype=np.int64), axis=1)
    gain = np.add.reduceat(
        counts * labels.astype(counts.dtype), starts, axis=1, dtype=np.int64
    )
    true_pos = np.cumsum(gain, axis=1)
    precision_at = true_pos / np.maximum(flagged, 1)
    total = true_pos[:, -1].astype(float)
    ap = np.sum(gain * precision_at, axis=1)
    return np.divide(ap, total, out=np.full_like(ap, np.nan), where=total > 0)
    # --8<-- [end:paired-bootstrap]


# --8<-- [start:threshold]
def expected_cost(
    y_true: ArrayLike,
    y_score: ArrayLike,
    threshold: float,
    cost_fp: float,
    cost_fn: float,
) -> float:
    """Average cost per example when we predict positive for score >= threshold."""
    labels, scores = check_binary_inputs(y_true, y_score)
    if cost_fp < 0 or cost_fn < 0:
        raise ValueError("costs must be non-negative")
    preds = scores >= threshold
    false_pos = np.sum(preds & (labels == 0))
    false_neg = np.sum(~preds & (labels == 1))
    return float((cost_fp * false_pos + cost_fn * false_neg) / len(labels))


def cost_minimising_threshold(
    y_true: ArrayLike, y_score: ArrayLike, cost_fp: float, cost_fn: float
) -> tuple[float, float]:
    """Threshold of least average cost: an observed score, or inf (flag nothing)."""
    labels, scores = check_binary_inputs(y_true, y_score)
    if cost_fp < 0 or cost_fn < 0:
        raise ValueError("costs must be non-negative")
    # Sweep thresholds from high to low; each step flags one more tie group.
    order = np.argsort(-scores, kind="mergesort")
    labels, scores = labels[order], scores[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    false_pos = np.r_[0, np.cumsum(1 - labels)[last_of_group]]
    false_neg = labels.sum() - np.r_[0, np.cumsum(labels)[last_of_group]]
    costs = (cost_fp * false_pos + cost_fn * false_neg) / len(labels)
    thresholds = np.r_[np.inf, scores[last_of_group]]
    best = int(np.argmin(costs))
    return float(thresholds[best]), float(costs[best])


def bayes_threshold(cost_fp: float, cost_fn: float) -> float:
    """For calibrated probabilities, flag when p * cost_fn > (1 - p) * cost_fp."""
    if cost_fp <= 0 or cost_fn <= 0:
        raise ValueError("costs must be positive")
    return cost_fp / (cost_fp + cost_fn)
    # --8<-- [end:threshold]


RECALLS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def operating_points(
    y_true: ArrayLike, y_score: ArrayLike, recalls: tuple[float, ...] = RECALLS
) -> list[tuple[float, float, float]]:
    """(recall, FPR, precision) at the highest threshold that reaches each recall."""
    labels, scores = check_binary_inputs(y_true, y_score)
    if labels.min() == labels.max():
        raise ValueError("operating_points needs both positives and negatives")
    order = np.argsort(-scores, kind="stable")
    true_pos = np.cumsum(labels[order])
    false_pos = np.cumsum(1 - labels[order])
    points = []
    for target in recalls:
        if not 0 < target <= 1:
            raise ValueError(f"recalls must be in (0, 1], got {target}")
        k = int(np.searchsorted(true_pos, target * true_pos[-1]))  # first to reach it
        points.append(
            (
                float(true_pos[k] / true_pos[-1]),
                float(false_pos[k] / false_pos[-1]),
                float(true_pos[k] / (k + 1)),
            )
        )
    return points


def prevalence_samples(
    rng: np.random.Generator, separation: float = 1.5
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """200,000 scored examples at each prevalence, the same model every time."""
    return {
        prevalence: simulate_scores(200_000, prevalence, separation, rng=rng)
        for prevalence in (0.5, 0.1, 0.01)
    }


def _print_operating_points(samples: dict) -> None:
    """FPR and precision at fixed recalls, per prevalence (the figure's points)."""
    points = {rate: operating_points(*sample) for rate, sample in samples.items()}
    print("\nAt a fixed recall: the FPR stays, the precision falls with prevalence")
    rates = " ".join(f"{rate:>6.0%}" for rate in points)
    print(f"{'recall':>6}  FPR at {rates}  precision at {rates}")
    for i, target in enumerate(RECALLS):
        fpr = " ".join(f"{points[rate][i][1]:>6.3f}" for rate in points)
        prec = " ".join(f"{points[rate][i][2]:>6.3f}" for rate in points)
        print(f"{target:>6.2f}         {fpr}               {prec}")


@styled
def pr_roc_figure(
    points: dict[float, list[tuple[float, float, float]]] | None = None,
) -> Figure:
    """ROC (log FPR) and precision-recall points of one model at three prevalences:
    ``points`` maps a prevalence to its (recall, FPR, precision) rows as printed
    (two, three and three decimals); by default ``main()``'s first draws."""
    if points is None:
        samples = prevalence_samples(np.random.default_rng(7))  # main()'s first draws
        points = {
            rate: [
                (printed(r, 2), printed(f, 3), printed(p, 3))
                for r, f, p in operating_points(*sample)
            ]
            for rate, sample in samples.items()
        }
    fig, (roc, pr) = new_figure(ncols=2)
    styles = {
        0.5: (SECOND, "-", "s"),
        0.1: (THIRD, "--", "^"),
        0.01: (ACCENT, "-", "o"),
    }
    for rate, rows in points.items():
        colour, line, marker = styles[rate]
        recall, fpr, prec = zip(*rows, strict=True)
        roc.plot(
            fpr, recall, line, marker=marker, color=colour, label=f"{rate:.0%} positive"
        )
        pr.plot(recall, prec, line, marker=marker, color=colour)
    chance = np.geomspace(1e-3, 1, 31)
    roc.plot(chance, chance, ":", color=GREYS[2], linewidth=1)
    roc.set_xscale("log")
    roc.set_xlim(1e-3, 1)
    plain_log_ticks(roc.xaxis)
    roc.set_xlabel("false-positive rate (log scale)")
    roc.set_ylabel("recall (true-positive rate)")
    pr.set_xlabel("recall")
    pr.set_ylabel("precision")
    pr.set_xlim(0, 1)
    for ax in (roc, pr):
        ax.set_ylim(0, 1.02)
    roc.legend(loc="upper left", handlelength=2.2)
    return fig


# --8<-- [start:demo]
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Map real scores to (0, 1); strictly increasing, so rankings are unchanged."""
    return 1.0 / (1.0 + np.exp(-x))


def simulate_scores(
    n: int, prevalence: float, separation: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positives score N(separation, 1), negatives N(0, 1), squashed to (0, 1)."""
    labels = (rng.random(n) < prevalence).astype(int)
    raw = rng.normal(size=n) + separation * labels
    return labels, sigmoid(raw)


def main() -> None:
    rng = np.random.default_rng(7)
    separation = 1.5
    true_auc = NormalDist().cdf(separation / np.sqrt(2))  # binormal, unit variances
    true_recall = 1 - NormalDist().cdf(NormalDist().inv_cdf(0.99) - separation)
    print("Same score distributions, different class balance (n = 200,000):")
    print(f"true ROC-AUC {true_auc:.3f}, true recall at 1% FPR {true_recall:.3f}")
    print(
        "prevalence ROC-AUC  95% CI (DeLong)  PR-AUC  recall@1%FPR  95% CI (bootstrap)"
    )
    samples = prevalence_samples(rng)
    for prevalence, (y, p) in samples.items():
        auc, low, high = roc_auc_ci(y, p)
        recall_1, r_low, r_high = recall_at_fpr_ci(y, p, 0.01)
        print(
            f"{prevalence:>10.0%} {auc:>7.3f}  [{low:.3f}, {high:.3f}]  "
            f"{average_precision(y, p):>6.3f}  {recall_1:>12.3f}  "
            f"[{r_low:.3f}, {r_high:.3f}]"
        )

    _print_operating_points(samples)

    # Calibrated probabilities: labels drawn from the probabilities themselves.
    logits = rng.normal(-3.0, 1.5, size=100_000)
    probs = sigmoid(logits)
    y = (rng.random(probs.size) < probs).astype(int)
    base_rate = np.full(y.size, y.mean())
    print(f"\nCalibrated model, prevalence {y.mean():.1%}:")
    print(
        f"log loss {log_loss(y, probs):.3f} vs {log_loss(y, base_rate):.3f} (base rate)"
    )
    print("\nCost-based thresholds (cost_fp = 1); expected cost, from the true")
    print("probabilities, of the sweep's threshold and of 2x and 0.5x the Bayes one,")
    print("above the Bayes threshold's:")
    print(
        f"{'cost_fn':>7} {'Bayes t':>8} {'best t':>7} {'precision':>9} {'recall':>6} "
        f"{'best':>6} {'2x t':>6} {'0.5x t':>6}"
    )
    for cost_fn in (1, 10, 100):
        best_t, _ = cost_minimising_threshold(y, probs, cost_fp=1, cost_fn=cost_fn)
        flagged = (probs >= best_t).astype(int)
        bayes = bayes_threshold(1, cost_fn)
        # Expected cost per example: flagging costs 1 - p, passing costs cost_fn * p.
        # The first threshold is the Bayes one, the baseline for the others.
        cost = [
            np.mean(np.where(probs >= t, 1 - probs, cost_fn * probs))
            for t in (bayes, best_t, 2 * bayes, bayes / 2)
        ]
        extra = [c / cost[0] - 1 for c in cost[1:]]
        print(
            f"{cost_fn:>7} {bayes:>8.3f} {best_t:>7.3f} "
            f"{precision(y, flagged):>9.3f} {recall(y, flagged):>6.3f} "
            + " ".join(f"{e:>+6.1%}" for e in extra)
        )
    # Why the sweep misses the Bayes threshold at cost_fn = 100: between the two,
    # the empirical cost turns on a few positives, each weighing 100 false alarms.
    low, high = sorted((bayes, best_t))
    between = (probs >= low) & (probs < high)
    print(f"cost_fn {cost_fn}: {between.sum():,} examples between the two thresholds,")
    print(f"{probs[between].sum():.0f} positives expected, {y[between].sum()} drawn")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
