"""ML fundamentals, part two: what trivial predictors score, validation, feature
importance and double descent.

Run it: ``python -m snippets.concepts.ml_fundamentals_validation``. Bias and
variance, regularisation and the loss are in ``snippets.concepts.ml_fundamentals``.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats
from sklearn import metrics
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, TimeSeriesSplit, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from snippets.concepts.classification_metrics import roc_auc, sigmoid
from snippets.concepts.ml_fundamentals import check_count


# --8<-- [start:trivial]
def expected_random_ap(n_pos: int, n: int) -> float:
    """E[average precision] of a uniformly random ranking of n items, n_pos positive.

    The item at rank k is positive with probability n_pos / n; given that, the
    expected precision at k is (1 + (k - 1)(n_pos - 1)/(n - 1)) / k.
    """
    check_count("n", n, minimum=2)
    check_count("n_pos", n_pos)
    if n_pos > n:
        raise ValueError(f"n_pos ({n_pos}) cannot exceed n ({n})")
    harmonic = np.sum(1 / np.arange(1, n + 1))
    return (n_pos - 1) / (n - 1) + harmonic * (n - n_pos) / (n * (n - 1))


def trivial_closed_forms(prevalence: float, n: int) -> dict[str, dict[str, float]]:
    """What each trivial predictor scores, from the formulas (accuracy: p > 0.5)."""
    if not 0 < prevalence < 0.5:
        raise ValueError(f"prevalence must be in (0, 0.5), got {prevalence!r}")
    pi = prevalence
    entropy = -pi * np.log(pi) - (1 - pi) * np.log(1 - pi)
    base = {"accuracy": 1 - pi, "roc_auc": 0.5, "pr_auc": pi}
    return {
        "always 0": {**base, "log_loss": np.inf, "brier": pi},
        "constant 0.5": {**base, "log_loss": np.log(2), "brier": 0.25},
        "prior": {**base, "log_loss": entropy, "brier": pi * (1 - pi)},
        "uniform random": {
            "accuracy": 0.5,
            "roc_auc": 0.5,
            "pr_auc": expected_random_ap(round(pi * n), n),
            "log_loss": 1.0,  # E[-log U] = 1 for U ~ Uniform(0, 1)
            "brier": 1 / 3,  # E[U^2] = E[(1 - U)^2] = 1/3
        },
    }
    # --8<-- [end:trivial]


def score_with_sklearn(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The five metrics as scikit-learn computes them."""
    return {
        "accuracy": metrics.accuracy_score(y, (scores > 0.5).astype(int)),
        "roc_auc": metrics.roc_auc_score(y, scores),
        "pr_auc": metrics.average_precision_score(y, scores),
        "log_loss": metrics.log_loss(y, scores, labels=[0, 1]),
        "brier": metrics.brier_score_loss(y, scores),
    }


def trivial_scores(
    prevalence: float, n: int, seeds: range
) -> dict[str, dict[str, np.ndarray]]:
    """Measured metrics of each trivial predictor; the random one once per seed."""
    y = np.zeros(n, dtype=int)
    y[: round(prevalence * n)] = 1
    fixed = {
        "always 0": np.zeros(n),
        "constant 0.5": np.full(n, 0.5),
        "prior": np.full(n, y.mean()),
    }
    runs = {name: [score_with_sklearn(y, s)] for name, s in fixed.items()}
    runs["uniform random"] = [
        score_with_sklearn(y, np.random.default_rng(seed).random(n)) for seed in seeds
    ]
    return {
        name: {key: np.array([r[key] for r in rows]) for key in rows[0]}
        for name, rows in runs.items()
    }


# --8<-- [start:selection]
def winners_curse(
    seed: int, n_candidates: int = 30, n_val: int = 400
) -> tuple[float, float]:
    """Pick the best of n_candidates no-skill models on validation; score it afresh.

    Labels are independent of every feature, so every model's true ROC-AUC is 0.5.
    """
    check_count("n_candidates", n_candidates)
    check_count("n_val", n_val, minimum=20)
    rng = np.random.default_rng(seed)
    width = 5  # each candidate is a linear model on its own 5 noise features
    x = rng.normal(size=(2 * n_val, n_candidates * width))
    y = rng.integers(0, 2, size=2 * n_val)
    train, val = slice(0, n_val), slice(n_val, None)
    val_aucs, models = [], []
    for j in range(n_candidates):
        cols = slice(j * width, (j + 1) * width)
        w, *_ = np.linalg.lstsq(x[train, cols], y[train] - 0.5, rcond=None)
        val_aucs.append(roc_auc(y[val], sigmoid(x[val, cols] @ w)))
        models.append(w)
    best = int(np.argmax(val_aucs))
    # Fresh rows from the same world: new noise features, new independent labels.
    x_fresh, y_fresh = rng.normal(size=(20_000, width)), rng.integers(0, 2, 20_000)
    return val_aucs[best], roc_auc(y_fresh, sigmoid(x_fresh @ models[best]))


def null_auc_sd(n_pos: int, n_neg: int) -> float:
    """Standard deviation of the ROC-AUC of a random ranking (Mann-Whitney, no ties)."""
    check_count("n_pos", n_pos)
    check_count("n_neg", n_neg)
    return float(np.sqrt((n_pos + n_neg + 1) / (12 * n_pos * n_neg)))


def expected_max_null_auc(n_pos: int, n_neg: int, k: int) -> float:
    """0.5 + sd * E[max of k standard normals]; sd: the null sd of the Mann-Whitney
    AUC. An approximation: it treats the k AUCs as independent normals."""
    sd = null_auc_sd(n_pos, n_neg)

    def max_density(t: float) -> float:  # t times the density of the maximum
        return t * k * stats.norm.pdf(t) * stats.norm.cdf(t) ** (k - 1)

    return float(0.5 + sd * integrate.quad(max_density, -10, 10)[0])
    # --8<-- [end:selection]


# --8<-- [start:grouped-world]
def grouped_world(
    n_groups: int, per_group: int, group_sd: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows in groups (users, patients): one feature carries signal for everyone,
    three only say which group a row is from; each group has its own base rate."""
    check_count("n_groups", n_groups)
    check_count("per_group", per_group)
    if group_sd < 0:
        raise ValueError(f"group_sd must be non-negative, got {group_sd!r}")
    group = np.repeat(np.arange(n_groups), per_group)
    fingerprint = rng.normal(size=(n_groups, 3))  # unrelated to the label
    effect = rng.normal(0, group_sd, size=n_groups)  # the group's own propensity
    signal = rng.normal(size=group.size)
    x = np.c_[signal, fingerprint[group] + 0.1 * rng.normal(size=(group.size, 3))]
    y = (rng.random(group.size) < sigmoid(signal + effect[group])).astype(int)
    return x, y, group
    # --8<-- [end:grouped-world]


# --8<-- [start:grouped]
def cv_vs_new_groups(
    model: ClassifierMixin, seed: int, group_sd: float
) -> tuple[float, float, float]:
    """ROC-AUC by K-fold, by group K-fold, and on 100 groups never seen (the truth)."""
    rng = np.random.default_rng(seed)
    x, y, group = grouped_world(100, 20, group_sd, rng)
    x_new, y_new, _ = grouped_world(100, 20, group_sd, rng)
    kfold = KFold(5, shuffle=True, random_state=seed)
    plain = cross_val_score(model, x, y, cv=kfold, scoring="roc_auc").mean()
    by_group = cross_val_score(
        model, x, y, cv=GroupKFold(5), groups=group, scoring="roc_auc"
    ).mean()
    truth = roc_auc(y_new, model.fit(x, y).predict_proba(x_new)[:, 1])
    return float(plain), float(by_group), truth
    # --8<-- [end:grouped]


# --8<-- [start:importance]
def importances(seed: int, correlated_copy: bool) -> dict[str, np.ndarray]:
    """Impurity (MDI, training data) vs permutation importance (ROC-AUC drop, held
    out) of a random forest. The label depends on 'signal' and 'binary' only."""
    rng = np.random.default_rng(seed)
    n = 2_000
    signal, binary = rng.normal(size=n), rng.integers(0, 2, size=n)
    y = (rng.random(n) < sigmoid(signal + binary - 0.5)).astype(int)
    columns = {"signal": signal, "binary": binary}
    if correlated_copy:  # a second, slightly noisy copy of the strong feature
        columns["signal copy"] = signal + 0.1 * rng.normal(size=n)
    columns["noise, unique values"] = rng.random(n)  # like an ID or a timestamp
    columns["noise, binary"] = rng.integers(0, 2, size=n)
    x = np.column_stack(list(columns.values()))
    forest = RandomForestClassifier(n_estimators=20, random_state=seed)
    forest.fit(x[:1_000], y[:1_000])
    permuted = permutation_importance(
        forest, x[1_000:], y[1_000:], scoring="roc_auc", n_repeats=2, random_state=seed
    )
    return {
        "names": np.array(list(columns)),
        "mdi": forest.feature_importances_,
        "permutation": permuted.importances_mean,
    }
    # --8<-- [end:importance]


# --8<-- [start:double-descent]
def double_descent(
    seed: int, widths: tuple[int, ...], n: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Test MSE of random ReLU-feature regression, min-norm vs ridge, by width p.

    Min-norm least squares interpolates once p >= n; ridge picks its strength by
    exact leave-one-out error, from the same SVD.
    """
    check_count("n", n, minimum=10)
    if not widths or any(isinstance(p, bool) or int(p) != p or p < 1 for p in widths):
        raise ValueError(f"widths must be positive integers, got {widths!r}")
    rng = np.random.default_rng(seed)
    d = 5

    def sample(size: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(-2, 2, size=(size, d))
        return x, np.sin(1.5 * x).sum(axis=1) / np.sqrt(d) + 0.2 * rng.normal(size=size)

    (x, y), (x_test, y_test) = sample(n), sample(500)
    weights = rng.normal(size=(d, max(widths)))
    offsets = rng.uniform(-2, 2, size=max(widths))
    min_norm, ridge = [], []
    for p in widths:
        feats = np.maximum(x @ weights[:, :p] + offsets[:p], 0) / np.sqrt(p)
        test = np.maximum(x_test @ weights[:, :p] + offsets[:p], 0) / np.sqrt(p)
        u, s, vt = np.linalg.svd(feats, full_matrices=False)
        keep = s > 1e-10 * s[0]
        u, s, vt = u[:, keep], s[keep], vt[keep]
        uy = u.T @ y
        min_norm.append(np.mean((test @ (vt.T @ (uy / s)) - y_test) ** 2))
        # Ridge's hat matrix is U diag(s^2 / (s^2 + lam)) U^T: its diagonal and
        # fitted values give every leave-one-out residual without refitting.
        lams = np.logspace(-6, 1, 15)
        shrink = s**2 / (s**2 + lams[:, None])  # (lambdas, rank)
        fitted = (shrink * uy) @ u.T
        leverage = shrink @ (u**2).T
        loo = np.mean(((y - fitted) / (1 - leverage)) ** 2, axis=1)
        lam = lams[np.argmin(loo)]
        w = vt.T @ (s / (s**2 + lam) * uy)
        ridge.append(np.mean((test @ w - y_test) ** 2))
    return np.array(min_norm), np.array(ridge)
    # --8<-- [end:double-descent]


def _range(values: np.ndarray, fmt: str = "+.3f") -> str:
    return f"[{format(np.min(values), fmt)}, {format(np.max(values), fmt)}]"


def main() -> None:
    prevalence, n = 0.05, 10_000
    print(f"[4] Trivial predictors, prevalence {prevalence:.0%}, n = {n:,}")
    print("(uniform random: mean of 20 seeds; accuracy predicts 1 when p > 0.5)")
    measured = trivial_scores(prevalence, n, range(20))
    closed = trivial_closed_forms(prevalence, n)
    keys = ("accuracy", "roc_auc", "pr_auc", "log_loss", "brier")
    print("(PR-AUC is average precision, the step-wise area)")
    print(
        f"{'predictor':<15} {'':<8} {'accuracy':>8} {'ROC-AUC':>7} {'PR-AUC':>7} ",
        end="",
    )
    print(f"{'log loss':>8} {'Brier':>7}")
    for name in closed:
        for label, values in (
            ("sklearn", {k: measured[name][k].mean() for k in keys}),
            ("formula", closed[name]),
        ):
            cells = " ".join(
                f"{values[k]:>{w}.4f}"
                for k, w in zip(keys, (8, 7, 7, 8, 7), strict=True)
            )
            print(f"{name if label == 'sklearn' else '':<15} {label:<8} {cells}")
    random_auc = measured["uniform random"]["roc_auc"]
    n_pos = round(prevalence * n)
    null_sd = null_auc_sd(n_pos, n - n_pos)
    print(
        f"random ROC-AUC over 20 seeds: {random_auc.min():.4f} to "
        f"{random_auc.max():.4f}, sd {random_auc.std(ddof=1):.4f} "
        f"(null sd {null_sd:.4f})"
    )
    low, high = 0.5 - 1.96 * null_sd, 0.5 + 1.96 * null_sd
    z = (0.53 - 0.5) / null_sd
    p_value = 2 * stats.norm.sf(z)
    print(f"null 95% interval {low:.4f} to {high:.4f}")
    print(f"a model scoring 0.53: z = {z:.2f}, two-sided p = {p_value:.3f}")
    y = np.r_[np.ones(n_pos), np.zeros(n - n_pos)]
    precision, recall, _ = metrics.precision_recall_curve(y, np.full(n, 0.3))
    print("any constant score, trapezoidal PR-AUC, auc(recall, precision): ", end="")
    print(f"{metrics.auc(recall, precision):.4f}")

    print("\n[5] Validation discipline")
    curse = np.array([winners_curse(seed) for seed in range(20)])
    expected = expected_max_null_auc(200, 200, 30)
    print("Best of 30 no-skill models (true ROC-AUC 0.5), 20 seeds:")
    print(
        f"validation ROC-AUC of the winner {curse[:, 0].mean():.3f} "
        f"{_range(curse[:, 0], '.3f')}, approximation {expected:.3f}"
    )
    print(
        f"the same model on 20,000 fresh rows {curse[:, 1].mean():.3f} "
        f"{_range(curse[:, 1], '.3f')}"
    )
    seeds = range(4)  # 4 seeds already agree on every sign; the k-NN fits are slow
    print(f"Grouped rows (100 groups x 20), ROC-AUC, mean of {len(seeds)} seeds;")
    print("[min, max] over seeds of the estimate minus the truth:")
    print(f"{'model':<9} {'group sd':>8} {'K-fold':<20} {'GroupKFold':<20} ", end="")
    print("new groups")
    grouped = {}
    for label, model, group_sd in (
        ("k-NN", KNeighborsClassifier(25), 1.5),
        ("k-NN", KNeighborsClassifier(25), 0.0),
        ("logistic", LogisticRegression(), 1.5),
    ):
        r = np.array([cv_vs_new_groups(model, seed, group_sd) for seed in seeds])
        grouped[label, group_sd] = r
        print(
            f"{label:<9} {group_sd:>8.1f} "
            f"{r[:, 0].mean():.3f} {_range(r[:, 0] - r[:, 2], '+.2f')} "
            f"{r[:, 1].mean():.3f} {_range(r[:, 1] - r[:, 2], '+.2f')} "
            f"{r[:, 2].mean():.3f}"
        )
    knn_wins = grouped["k-NN", 1.5] > grouped["logistic", 1.5]
    print(f"seeds (of {len(seeds)}) where k-NN scores above logistic: ", end="")
    print(f"K-fold {knn_wins[:, 0].sum()}, GroupKFold {knn_wins[:, 1].sum()}, ", end="")
    print(f"new groups {knn_wins[:, 2].sum()}")
    print("TimeSeriesSplit(n_splits=4, gap=7) on 100 days:")
    for fold, (train, test) in enumerate(
        TimeSeriesSplit(n_splits=4, gap=7).split(np.zeros(100)), start=1
    ):
        print(
            f"fold {fold}: train days {train.min()}-{train.max()}, "
            f"test days {test.min()}-{test.max()}"
        )

    print("\n[6] Feature importance of a random forest, mean of 3 seeds")
    for copy in (False, True):
        runs_i = [importances(seed, copy) for seed in range(3)]
        names = runs_i[0]["names"]
        print(f"{'feature':<21} {'impurity (MDI)':>14} {'permutation':>11}")
        for j, name in enumerate(names):
            mdi = np.mean([r["mdi"][j] for r in runs_i])
            perm = np.mean([r["permutation"][j] for r in runs_i])
            print(f"{name:<21} {mdi:>14.3f} {perm:>11.3f}")

    widths = (10, 20, 50, 90, 100, 110, 200, 1_000)
    print("\n[7] Double descent: random ReLU features, n = 100, median of 10 seeds")
    curves_dd = [double_descent(seed, widths) for seed in range(10)]
    min_norm = np.median([c[0] for c in curves_dd], axis=0)
    ridge_dd = np.median([c[1] for c in curves_dd], axis=0)
    print(f"{'p':>6} {'min-norm':>9} {'ridge (LOO)':>11}")
    for p, a, b in zip(widths, min_norm, ridge_dd, strict=True):
        print(f"{p:>6,} {a:>9.3f} {b:>11.3f}")


if __name__ == "__main__":
    main()
