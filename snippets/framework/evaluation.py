"""A random split flatters a model on drifting data; a time split tells the truth.

Ninety days of examples whose labelling rule drifts slowly. The offline estimate
from a random holdout is compared with the estimate from a holdout of the latest
days, and both with what the model actually scores on the following weeks. A
control run removes the drift and keeps everything else.

Run it: ``python -m snippets.framework.evaluation``.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from snippets.concepts.classification_metrics import roc_auc
from snippets.concepts.experimentation import srm_test


# --8<-- [start:splits]
def time_split(
    timestamps: np.ndarray, holdout_share: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the earliest (train) and latest (holdout) examples."""
    times = np.asarray(timestamps, dtype=float)
    if times.ndim != 1 or times.size < 2:
        raise ValueError("timestamps must be a 1-D array with at least two entries")
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    if times.min() == times.max():
        raise ValueError("all timestamps are equal: a time split needs a time range")
    cutoff = np.quantile(times, 1 - holdout_share)
    if cutoff <= times.min():  # ties at the start: cut after the earliest instant
        cutoff = times[times > times.min()].min()
    # Strictly before vs at-or-after: one instant never lands on both sides.
    return np.flatnonzero(times < cutoff), np.flatnonzero(times >= cutoff)


def random_split(
    n: int, holdout_share: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a shuffled split: every day appears on both sides."""
    if n < 2:
        raise ValueError(f"need at least two examples to split, got {n}")
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    order = np.random.default_rng(seed).permutation(n)
    n_holdout = max(1, round(n * holdout_share))
    return order[n_holdout:], order[:n_holdout]
    # --8<-- [end:splits]


# --8<-- [start:drift]
HISTORY_DAYS = 90  # the model launches after this many days of data


def drifting_data(
    n: int = 30_000, days: int = 120, seed: int = 0, drift: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels, day; the weight of feature 0 changes sign over the period.

    With drift=False the weight is held at its average over the history (control).
    """
    rng = np.random.default_rng(seed)
    day = np.sort(rng.uniform(0, days, n))
    x = rng.normal(size=(n, 4))
    progress = day / days if drift else np.full(n, HISTORY_DAYS / 2 / days)
    logit = (1.5 - 3.0 * progress) * x[:, 0] + x[:, 1] - 0.5 * x[:, 2] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y, day


def compare_splits(seed: int = 0, drift: bool = True) -> dict[str, float]:
    """ROC-AUC estimated by each protocol and measured on the weeks after launch."""
    x, y, day = drifting_data(seed=seed, drift=drift)
    history = np.flatnonzero(day < HISTORY_DAYS)  # what we have at launch time
    future = np.flatnonzero(day >= HISTORY_DAYS)  # the weeks the model then serves

    def auc(train: np.ndarray, test: np.ndarray) -> float:
        model = LogisticRegression().fit(x[train], y[train])
        return roc_auc(y[test], model.predict_proba(x[test])[:, 1])

    rand_train, rand_test = random_split(history.size, seed=seed)
    time_train, time_test = time_split(day[history])
    return {
        "random split estimate": auc(history[rand_train], history[rand_test]),
        "time split estimate": auc(history[time_train], history[time_test]),
        "after launch": auc(history, future),
    }
    # --8<-- [end:drift]


# --8<-- [start:srm]
# Arm counts of a test designed as 50/50: the same 50.8/49.2 split at two sizes,
# and the 1.5% shortfall of the self-check.
SRM_EXAMPLES = ((508, 492), (50_800, 49_200), (1_000_000, 985_000))


def srm_table(examples: tuple[tuple[int, int], ...] = SRM_EXAMPLES) -> list[str]:
    """One row per (control, treatment) count: the split, chi-square and p-value."""
    rows = [f"{'control':>9} {'treatment':>9} {'split':>9} {'chi2':>7} {'p':>8}"]
    for control, treatment in examples:
        chi2, p_value = srm_test([control, treatment], [0.5, 0.5])
        share = control / (control + treatment)
        split = f"{share:.1%}/{1 - share:.1%}".replace("%", "")
        rows.append(
            f"{control:>9,} {treatment:>9,} {split:>9} {chi2:>7.2f} {p_value:>8.2g}"
        )
    return rows
    # --8<-- [end:srm]


# --8<-- [start:demo]
def overstatement(runs: list[dict[str, float]], protocol: str) -> str:
    """min-max over runs of a protocol's estimate minus the after-launch AUC."""
    gaps = [r[f"{protocol} estimate"] - r["after launch"] for r in runs]
    return f"{min(gaps):.3f} to {max(gaps):.3f}"


def main() -> None:
    runs = [compare_splits(seed) for seed in range(5)]
    print("ROC-AUC of the same logistic regression, 90 days of history (seed 0)")
    for name, value in runs[0].items():
        print(f"  {name:<22} {value:.3f}")
    print("How much each estimate overstates the after-launch AUC, seeds 0-4:")
    for protocol in ("random split", "time split"):
        print(f"  {protocol:<22} {overstatement(runs, protocol)}")

    control = [compare_splits(seed, drift=False) for seed in range(5)]
    print("\nControl: drift removed (weight of feature 0 fixed), seeds 0-4, min-max")
    for name in control[0]:
        values = [run[name] for run in control]
        print(f"  {name:<22} {min(values):.3f}-{max(values):.3f}")
    print("How much each estimate overstates the after-launch AUC, no drift:")
    for protocol in ("random split", "time split"):
        print(f"  {protocol:<22} {overstatement(control, protocol)}")

    print("\nSample ratio mismatch: chi-square of the arm counts against 50/50")
    for row in srm_table():
        print(row)


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
