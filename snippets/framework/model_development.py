"""Baseline first: a heuristic, logistic regression and a GBDT on one click data set.

Run it: ``python -m snippets.framework.model_development``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from snippets.concepts.classification_metrics import (
    average_precision,
    log_loss,
    roc_auc,
    sigmoid,
)

FEATURES = ("item_popularity", "user_activity", "topic_match", "hour_of_day")


# --8<-- [start:data]
def simulate_clicks(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic (user, item) impressions whose click odds hold an interaction."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 100:
        raise ValueError(f"n must be at least 100 to split and evaluate, got {n}")
    popularity = rng.normal(size=n)  # log views, standardised
    activity = rng.exponential(size=n)  # sessions per day
    topic_match = (rng.random(n) < 0.3).astype(float)
    hour = rng.integers(0, 24, size=n).astype(float)
    # A topic match only matters for active users: an interaction a linear model
    # cannot see unless someone writes the cross feature.
    logit = (
        -3.0
        + 0.6 * popularity
        + 2.0 * topic_match * (activity > 1.0)
        + 0.8 * np.cos(2 * np.pi * (hour - 21) / 24)  # evening peak, non-monotone
    )
    clicks = (rng.random(n) < sigmoid(logit)).astype(int)
    return np.column_stack([popularity, activity, topic_match, hour]), clicks
    # --8<-- [end:data]


# --8<-- [start:models]
@dataclass(frozen=True)
class Result:
    """Offline metrics of one model on the held-out split."""

    name: str
    roc_auc: float
    pr_auc: float
    normalised_entropy: float | None  # None: the score is not a probability


def with_cross_features(x: np.ndarray) -> np.ndarray:
    """Add what a linear model needs spelled out: a cross and a cyclic hour."""
    hour_angle = 2 * np.pi * x[:, 3] / 24
    cross = x[:, 2] * (x[:, 1] > 1.0)
    return np.column_stack([x[:, :3], cross, np.cos(hour_angle), np.sin(hour_angle)])


def evaluate(name: str, y: np.ndarray, score: np.ndarray, prior: float) -> Result:
    """ROC-AUC, PR-AUC and log loss relative to always predicting the prior."""
    is_probability = name != "heuristic: popularity"
    entropy = None
    if is_probability:
        entropy = log_loss(y, score) / log_loss(y, np.full(y.size, prior))
    return Result(name, roc_auc(y, score), average_precision(y, score), entropy)


def compare_models(
    x: np.ndarray, y: np.ndarray, train_share: float = 0.7
) -> list[Result]:
    """Fit each candidate on the first rows and score it on the rest."""
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("x must be 2-D with one row per label")
    if not 0 < train_share < 1:
        raise ValueError(f"train_share must be in (0, 1), got {train_share}")
    cut = int(train_share * y.size)  # rows are in time order: train on the past
    x_train, x_test, y_train, y_test = x[:cut], x[cut:], y[:cut], y[cut:]
    prior = float(y_train.mean())
    # Heuristic: rank by popularity, squashed to (0, 1); no training at all.
    scores = {"heuristic: popularity": sigmoid(x_test[:, 0])}
    for name, features in (
        ("logistic regression", lambda m: m),
        ("LR + cross features", with_cross_features),
    ):
        scaler = StandardScaler().fit(features(x_train))
        model = LogisticRegression(max_iter=1000)
        model.fit(scaler.transform(features(x_train)), y_train)
        scores[name] = model.predict_proba(scaler.transform(features(x_test)))[:, 1]
    gbdt = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.1, random_state=0
    )
    with threadpool_limits(limits=1):  # one thread: same result, no spinning cores
        scores["GBDT"] = gbdt.fit(x_train, y_train).predict_proba(x_test)[:, 1]
    return [evaluate(name, y_test, s, prior) for name, s in scores.items()]
    # --8<-- [end:models]


# --8<-- [start:demo]
def main() -> None:
    x, y = simulate_clicks(30_000, np.random.default_rng(5))
    print(f"{y.size:,} impressions, CTR {y.mean():.1%}; train on the first 70%")
    print(f"{'model':<22} {'ROC-AUC':>7} {'PR-AUC':>6} {'NE':>5}")
    results = {r.name: r for r in compare_models(x, y)}
    for r in results.values():
        entropy = "-" if r.normalised_entropy is None else f"{r.normalised_entropy:.3f}"
        print(f"{r.name:<22} {r.roc_auc:>7.3f} {r.pr_auc:>6.3f} {entropy:>5}")
    print(
        f"GBDT closes {gap_closed(results):.0%} of the PR-AUC gap between plain LR "
        "and LR with the right crosses"
    )


def gap_closed(results: dict[str, Result]) -> float:
    """Share of the PR-AUC gap from plain LR to hand-crossed LR that GBDT recovers."""
    plain = results["logistic regression"].pr_auc
    crossed = results["LR + cross features"].pr_auc
    return (results["GBDT"].pr_auc - plain) / (crossed - plain)


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
