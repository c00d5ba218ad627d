"""Baseline first: a heuristic, logistic regression and a GBDT on one click data set.

Run it: ``python -m snippets.framework.model_development``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
HEURISTIC = "heuristic: popularity"


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
PLAIN, TRUE_FORM, GUESSED_FORM = (
    "logistic regression",
    "LR, true form",
    "LR, guessed form",
)
# The ladder the page compares, and the ablation from plain LR to the true form.
LADDER = (HEURISTIC, PLAIN, GUESSED_FORM, TRUE_FORM, "GBDT")
ABLATION = {
    "hour linear, no cross": PLAIN,
    "cyclic hour, no cross": "LR, cyclic hour only",
    "hour linear, true cross": "LR, true cross only",
    "cyclic hour, true cross": TRUE_FORM,
}


@dataclass(frozen=True)
class Result:
    """Offline metrics of one model on the held-out split."""

    name: str
    roc_auc: float
    pr_auc: float
    normalised_entropy: float | None  # None: the score is not a probability


def _cyclic_hour(x: np.ndarray) -> list[np.ndarray]:
    angle = 2 * np.pi * x[:, 3] / 24
    return [np.cos(angle), np.sin(angle)]


def _true_cross(x: np.ndarray) -> np.ndarray:
    return x[:, 2] * (x[:, 1] > 1.0)  # topic match, for active users only


def with_true_form(x: np.ndarray) -> np.ndarray:
    """The generating model's own terms: the thresholded cross and a cyclic hour."""
    return np.column_stack([x[:, :3], _true_cross(x), *_cyclic_hour(x)])


def with_guessed_form(x: np.ndarray) -> np.ndarray:
    """A plausible analyst's guess: the right two variables, the wrong shape."""
    cross = x[:, 2] * x[:, 1]  # linear in activity; the truth is a threshold
    return np.column_stack([x[:, :3], cross, *_cyclic_hour(x)])


def with_cyclic_hour_only(x: np.ndarray) -> np.ndarray:
    """Ablation: the hour made cyclic, no cross."""
    return np.column_stack([x[:, :3], *_cyclic_hour(x)])


def with_true_cross_only(x: np.ndarray) -> np.ndarray:
    """Ablation: the true cross, the hour left linear."""
    return np.column_stack([x, _true_cross(x)])


def evaluate(name: str, y: np.ndarray, score: np.ndarray, prior: float) -> Result:
    """ROC-AUC, PR-AUC and log loss relative to always predicting the prior."""
    entropy = None
    if name != HEURISTIC:
        entropy = log_loss(y, score) / log_loss(y, np.full(y.size, prior))
    return Result(name, roc_auc(y, score), average_precision(y, score), entropy)


def score_models(
    x: np.ndarray, y: np.ndarray, train_share: float = 0.7
) -> tuple[np.ndarray, np.ndarray, float, dict[str, np.ndarray]]:
    """Fit each candidate on the first rows; score the rest (x, y, prior, scores)."""
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("x must be 2-D with one row per label")
    if not 0 < train_share < 1:
        raise ValueError(f"train_share must be in (0, 1), got {train_share}")
    # A positional split, the shape of a time split. These synthetic rows are
    # i.i.d., so it tests no drift; on logged data, sort by time first.
    cut = int(train_share * y.size)
    x_train, x_test, y_train, y_test = x[:cut], x[cut:], y[:cut], y[cut:]
    # Heuristic: rank by popularity, squashed to (0, 1); no training at all.
    scores = {HEURISTIC: sigmoid(x_test[:, 0])}
    linear: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        PLAIN: lambda m: m,
        GUESSED_FORM: with_guessed_form,
        TRUE_FORM: with_true_form,
        ABLATION["cyclic hour, no cross"]: with_cyclic_hour_only,
        ABLATION["hour linear, true cross"]: with_true_cross_only,
    }
    for name, features in linear.items():
        scaler = StandardScaler().fit(features(x_train))
        model = LogisticRegression(max_iter=1000)
        model.fit(scaler.transform(features(x_train)), y_train)
        scores[name] = model.predict_proba(scaler.transform(features(x_test)))[:, 1]
    gbdt = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.1, random_state=0
    )
    with threadpool_limits(limits=1):  # one thread: same result, no spinning cores
        scores["GBDT"] = gbdt.fit(x_train, y_train).predict_proba(x_test)[:, 1]
    return x_test, y_test, float(y_train.mean()), scores


def compare_models(
    x: np.ndarray, y: np.ndarray, train_share: float = 0.7
) -> list[Result]:
    """Offline metrics of every candidate on the held-out, later rows."""
    _, y_test, prior, scores = score_models(x, y, train_share)
    return [evaluate(name, y_test, s, prior) for name, s in scores.items()]
    # --8<-- [end:models]


# --8<-- [start:seeds]
@dataclass(frozen=True)
class SeedRun:
    """One synthetic world: its click rate, the ladder, one calibration check."""

    click_rate: float
    results: dict[str, Result]
    # Plain LR's mean prediction and observed click rate, on all test rows and on
    # one segment: topic-matched items shown to inactive users.
    calibration: tuple[float, float, float, float]


def ladder_over_seeds(seeds: Sequence[int], n: int = 30_000) -> list[SeedRun]:
    """Run the whole ladder on one fresh synthetic world per seed."""
    if len(seeds) == 0:
        raise ValueError("seeds is empty: pass at least one seed")
    runs = []
    for seed in seeds:
        x, y = simulate_clicks(n, np.random.default_rng(seed))
        x_test, y_test, prior, scores = score_models(x, y)
        results = {name: evaluate(name, y_test, s, prior) for name, s in scores.items()}
        plain = scores[PLAIN]
        segment = (x_test[:, 2] == 1) & (x_test[:, 1] <= 1.0)
        calibration = (
            float(plain.mean()),
            float(y_test.mean()),
            float(plain[segment].mean()),
            float(y_test[segment].mean()),
        )
        runs.append(SeedRun(float(y.mean()), results, calibration))
    return runs


def gap_closed(results: dict[str, Result]) -> float:
    """Share of the PR-AUC gap from plain LR to the true-form LR that GBDT recovers."""
    plain = results[PLAIN].pr_auc
    true_form = results[TRUE_FORM].pr_auc
    return (results["GBDT"].pr_auc - plain) / (true_form - plain)
    # --8<-- [end:seeds]


# --8<-- [start:demo]
def _spread(values: Sequence[float]) -> str:
    return f"{np.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    runs = ladder_over_seeds(range(10))
    ctr = [run.click_rate for run in runs]
    print(
        f"{len(runs)} seeds x 30,000 impressions, CTR {min(ctr):.1%}-{max(ctr):.1%}; "
        "train on the first 70%"
    )
    print("Each metric: mean (min-max) over the seeds")
    print(f"{'model':<21} {'ROC-AUC':<19} {'NE':<19} PR-AUC")
    for name in LADDER:
        auc = [run.results[name].roc_auc for run in runs]
        pr = [run.results[name].pr_auc for run in runs]
        ne = [run.results[name].normalised_entropy for run in runs]
        ne_text = "-" if ne[0] is None else _spread(ne)
        print(f"{name:<21} {_spread(auc):<19} {ne_text:<19} {_spread(pr)}")
    print("Ablation, plain LR to the true form: PR-AUC mean (min-max)")
    for label, name in ABLATION.items():
        print(f"  {label:<25} {_spread([run.results[name].pr_auc for run in runs])}")
    closed = [gap_closed(run.results) for run in runs]
    print(
        f"GBDT closes {np.mean(closed):.0%} of the PR-AUC gap from plain LR to "
        f"the true form ({100 * min(closed):.0f}-{max(closed):.0%})"
    )
    true_wins = sum(
        r.results[TRUE_FORM].pr_auc > r.results["GBDT"].pr_auc for r in runs
    )
    guess_wins = sum(
        r.results[GUESSED_FORM].pr_auc > r.results["GBDT"].pr_auc for r in runs
    )
    print(
        f"PR-AUC above GBDT: true form in {true_wins} of {len(runs)} seeds, "
        f"guessed form in {guess_wins} of {len(runs)}"
    )
    mean_p, mean_y, seg_p, seg_y = np.mean([run.calibration for run in runs], axis=0)
    print("Plain LR, mean prediction vs observed CTR on the test rows:")
    print(
        f"  all rows {mean_p:.1%} vs {mean_y:.1%}; "
        f"topic match shown to an inactive user {seg_p:.1%} vs {seg_y:.1%}"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
