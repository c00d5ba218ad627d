"""ML fundamentals, part one: bias and variance, regularisation, and the loss.

Run it: ``python -m snippets.concepts.ml_fundamentals``. What trivial predictors
score, validation, feature importance and double descent are in
``snippets.concepts.ml_fundamentals_validation``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LassoCV, LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import KFold, learning_curve, validation_curve
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

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
from snippets.common.stats import paired_interval
from snippets.concepts.classification_metrics import sigmoid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NOISE_SD = 1.0  # Friedman #1 noise: the best possible MSE is NOISE_SD**2
ALPHAS = np.logspace(-3, 3, 7)  # ridge strengths the validation curve tries


def check_count(name: str, value: int, minimum: int = 1) -> None:
    """Raise TypeError unless value is an int, ValueError if it is below minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_loss(loss: str) -> None:
    if loss not in ("log", "squared"):
        raise ValueError(f"loss must be 'log' or 'squared', got {loss!r}")


# --8<-- [start:world]
def friedman1_mean(x: np.ndarray) -> np.ndarray:
    """Friedman's (1991) test function of inputs in [0, 1]: uses the first five."""
    return (
        10 * np.sin(np.pi * x[:, 0] * x[:, 1])
        + 20 * (x[:, 2] - 0.5) ** 2
        + 10 * x[:, 3]
        + 5 * x[:, 4]
    )


def friedman1(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n rows of 6 uniform inputs (the 5 f uses, 1 it ignores), y = f(x) + N(0, 1)."""
    check_count("n", n)
    x = rng.uniform(size=(n, 6))
    return x, friedman1_mean(x) + NOISE_SD * rng.normal(size=n)


def cubic(x: np.ndarray) -> np.ndarray:
    """All products of up to three inputs: 83 columns from 6. Learns nothing from
    the data, so expanding before cross-validation leaks nothing."""
    return PolynomialFeatures(3, include_bias=False).fit_transform(x)


def scaled(model: object) -> Pipeline:
    """Standardise, then fit: the scaler is refitted inside every training fold, and
    a penalty then treats every feature on the same scale."""
    return make_pipeline(StandardScaler(), model)
    # --8<-- [end:world]


def _models() -> dict[str, tuple[object, bool]]:
    """Name -> (estimator, uses cubic features)."""
    return {
        "linear": (LinearRegression(), False),
        "cubic": (scaled(LinearRegression()), True),  # minimum-norm fit when p > n
        "cubic+ridge": (scaled(RidgeCV(alphas=ALPHAS)), True),
    }


# --8<-- [start:learning-curves]
def learning_curves(
    seed: int, sizes: tuple[int, ...] = (50, 100, 200, 400, 800)
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train and validation MSE at each training size, 5-fold CV on 1,000 rows."""
    x, y = friedman1(1_000, np.random.default_rng(seed))
    x_cubic = cubic(x)
    curves = {}
    for name, (model, uses_cubic) in _models().items():
        _, train, val = learning_curve(
            model,
            x_cubic if uses_cubic else x,
            y,
            train_sizes=list(sizes),
            cv=KFold(5, shuffle=True, random_state=seed),
            scoring="neg_mean_squared_error",
        )
        curves[name] = (-train.mean(axis=1), -val.mean(axis=1))
    return curves
    # --8<-- [end:learning-curves]


# --8<-- [start:decomposition]
def decompose(runs: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Bias^2 and variance, averaged over points, from the predictions of S models
    (shape S x points). The squared error of the mean prediction also holds
    variance / S, which is subtracted so that bias^2 is estimated without bias."""
    variance = runs.var(axis=0, ddof=1)
    bias2 = (runs.mean(axis=0) - truth) ** 2 - variance / len(runs)
    return float(bias2.mean()), float(variance.mean())


def bias_variance(n_train: int, n_sets: int, seed: int) -> dict[str, dict[str, float]]:
    """Bias^2 and variance of each model, from n_sets independent training sets."""
    check_count("n_train", n_train, minimum=20)
    check_count("n_sets", n_sets, minimum=2)
    rng = np.random.default_rng(seed)
    x_test, y_test = friedman1(2_000, rng)
    truth = friedman1_mean(x_test)  # known here; unknowable in real data
    test_cubic = cubic(x_test)
    predictions: dict[str, list[np.ndarray]] = {name: [] for name in _models()}
    for _ in range(n_sets):
        x, y = friedman1(n_train, rng)
        x_cubic = cubic(x)
        for name, (model, uses_cubic) in _models().items():
            model.fit(x_cubic if uses_cubic else x, y)
            test = test_cubic if uses_cubic else x_test
            predictions[name].append(model.predict(test))
    result = {}
    for name, runs in predictions.items():
        runs = np.array(runs)  # (n_sets, n_test)
        bias2, variance = decompose(runs, truth)
        result[name] = {
            "bias2": bias2,
            "variance": variance,
            "test_mse": float(np.mean((runs - y_test) ** 2)),
        }
    return result
    # --8<-- [end:decomposition]


# --8<-- [start:validation-curve]
def ridge_validation_curve(seed: int, n: int = 150) -> dict[str, np.ndarray | float]:
    """Ridge strength on cubic features: CV curve, then the pick on fresh data."""
    rng = np.random.default_rng(seed)
    x, y = friedman1(n, rng)
    x_new, y_new = friedman1(5_000, rng)
    train, val = validation_curve(
        scaled(Ridge()),
        cubic(x),
        y,
        param_name="ridge__alpha",
        param_range=ALPHAS,
        cv=KFold(5, shuffle=True, random_state=seed),
        scoring="neg_mean_squared_error",
    )
    val_mse = -val.mean(axis=1)
    best = float(ALPHAS[np.argmin(val_mse)])
    chosen = scaled(Ridge(alpha=best)).fit(cubic(x), y)
    plain = LinearRegression().fit(cubic(x), y)
    return {
        "train": -train.mean(axis=1),
        "val": val_mse,
        "best_alpha": best,
        "test_chosen": float(np.mean((chosen.predict(cubic(x_new)) - y_new) ** 2)),
        "test_plain": float(np.mean((plain.predict(cubic(x_new)) - y_new) ** 2)),
    }
    # --8<-- [end:validation-curve]


SEEDS = range(3)
SIZES = (50, 100, 200, 400, 800)  # training rows on the learning curves


def seed_means(curves: list[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train and validation MSE per model, averaged over the seeds' learning curves."""
    return {
        name: tuple(np.mean([c[name][k] for c in curves], axis=0) for k in (0, 1))
        for name in ("linear", "cubic", "cubic+ridge")
    }


def ridge_means(runs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation MSE per ridge strength, averaged over the seeds."""
    return tuple(np.mean([r[k] for r in runs], axis=0) for k in ("train", "val"))


_COLOURS = {"linear": THIRD, "cubic": SECOND, "cubic+ridge": ACCENT}


@styled
def learning_curve_figure(
    means: dict[str, tuple[list[float], list[float]]] | None = None,
) -> Figure:
    """Train (dashed) and validation (solid) MSE against training rows, per model:
    ``means`` maps a model to its seed-mean (train, validation) curves as printed
    (two decimals); by default the learning curves ``main()`` prints."""
    if means is None:
        curves = [learning_curves(s, SIZES) for s in SEEDS]
        means = {
            name: tuple([printed(v, 2) for v in part] for part in parts)
            for name, parts in seed_means(curves).items()
        }
    fig, (ax,) = new_figure()
    for name, (train, val) in means.items():
        ax.plot(SIZES, val, "-o", color=_COLOURS[name], label=f"{name}, validation")
        ax.plot(
            SIZES,
            train,
            "--",
            marker="o",
            markerfacecolor="none",
            color=_COLOURS[name],
            label=f"{name}, train",
        )
    ax.axhline(NOISE_SD**2, color=GREYS[2], linestyle=":", linewidth=1)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xticks(SIZES)
    ax.set_xlabel("training rows (log scale; dotted line: the noise floor)")
    ax.set_ylabel("mean squared error")
    ax.set_ylim(0, 24)  # room above the curves for the legend
    ax.set_yticks(range(0, 20, 5))
    ax.legend(loc="upper right", ncols=2, fontsize=10)
    return fig


@styled
def ridge_figure(
    means: tuple[list[float], list[float]] | None = None,
) -> Figure:
    """Train and validation MSE against the ridge strength (a validation curve):
    ``means`` are the seed-mean (train, validation) errors per ``ALPHAS`` as printed
    (two decimals); by default the curve ``main()`` prints."""
    if means is None:
        runs = [ridge_validation_curve(seed) for seed in SEEDS]
        means = tuple([printed(v, 2) for v in part] for part in ridge_means(runs))
    train, val = means
    fig, (ax,) = new_figure()
    ax.plot(ALPHAS, val, "-o", color=ACCENT, label="validation (5-fold CV)")
    ax.plot(ALPHAS, train, "--o", color=SECOND, markerfacecolor="none", label="train")
    ax.axhline(NOISE_SD**2, color=GREYS[2], linestyle=":", linewidth=1)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("ridge strength \u03b1 (log scale; dotted line: the noise floor)")
    ax.set_ylabel("mean squared error")
    ax.set_ylim(0, 12)
    ax.legend(loc="upper left")
    return fig


# --8<-- [start:l1-vs-l2]
def l1_vs_l2(seed: int, sparse: bool, n: int = 100, p: int = 50) -> dict[str, float]:
    """Test MSE of CV-tuned lasso and ridge when 5 of 50, or all 50, inputs matter."""
    check_count("p", p, minimum=6)
    check_count("n", n, minimum=10)
    rng = np.random.default_rng(seed)
    if sparse:
        beta = np.r_[np.full(5, 2.0), np.zeros(p - 5)]
    else:  # the same signal variance, 20, spread over every input
        beta = rng.normal(0, np.sqrt(20 / p), size=p)
    x, x_new = rng.normal(size=(n, p)), rng.normal(size=(5_000, p))
    y = x @ beta + 2 * rng.normal(size=n)
    y_new = x_new @ beta + 2 * rng.normal(size=5_000)
    lasso = LassoCV(alphas=15, cv=KFold(5, shuffle=True, random_state=seed))
    lasso.fit(x, y)
    ridge = RidgeCV(alphas=np.logspace(-2, 3, 30)).fit(x, y)  # leave-one-out CV
    return {
        "lasso": float(np.mean((lasso.predict(x_new) - y_new) ** 2)),
        "ridge": float(np.mean((ridge.predict(x_new) - y_new) ** 2)),
        "lasso_nonzero": int(np.sum(lasso.coef_ != 0)),
    }
    # --8<-- [end:l1-vs-l2]


# --8<-- [start:early-stopping]
def early_stopping_vs_ridge(
    seed: int, steps: tuple[int, ...], n: int = 150
) -> tuple[np.ndarray, np.ndarray]:
    """Validation MSE of t steps of gradient descent and of ridge, lambda = 1/(eta t).

    Gradient descent on (1/2n)||y - Pw||^2 from w = 0 has a closed form in the SVD
    P = U S V^T: after t steps, w = V diag((1 - (1 - eta s^2/n)^t) / s) U^T y.
    Ridge with penalty (lambda/2)||w||^2 has w = V diag(s / (s^2 + n lambda)) U^T y.
    """
    rng = np.random.default_rng(seed)
    x, y = friedman1(n, rng)
    x_val, y_val = friedman1(5_000, rng)
    p, p_val = cubic(x), cubic(x_val)
    mean, sd = p.mean(axis=0), p.std(axis=0)
    p, p_val = (p - mean) / sd, (p_val - mean) / sd
    u, s, vt = np.linalg.svd(p, full_matrices=False)
    projected = u.T @ (y - y.mean())
    eta = n / s.max() ** 2  # step 1/L, L the largest curvature of the loss

    def val_mse(filter_factors: np.ndarray) -> float:
        w = vt.T @ (filter_factors / s * projected)
        return float(np.mean((p_val @ w + y.mean() - y_val) ** 2))

    gd = [val_mse(1 - (1 - eta * s**2 / n) ** t) for t in steps]
    ridge = [val_mse(s**2 / (s**2 + n / (eta * t))) for t in steps]
    return np.array(gd), np.array(ridge)
    # --8<-- [end:early-stopping]


# --8<-- [start:losses]
def loss_derivatives(z: np.ndarray, y: int) -> dict[str, np.ndarray]:
    """Gradient and curvature, in the logit z, of log loss and of squared error."""
    if y not in (0, 1):
        raise ValueError(f"y must be 0 or 1, got {y!r}")
    p = sigmoid(np.asarray(z, dtype=float))
    # Log loss -log p (y=1) or -log(1-p) (y=0): gradient p - y, curvature p(1-p).
    # Squared error (p - y)^2: gradient 2(p - y) p(1-p), which vanishes as p -> 1 - y.
    squared_curvature = (
        -2 * p * (1 - p) ** 2 * (1 - 3 * p)
        if y == 1
        else 2 * p**2 * (1 - p) * (2 - 3 * p)
    )
    return {
        "log_grad": p - y,
        "log_curv": p * (1 - p),
        "sq_grad": 2 * (p - y) * p * (1 - p),
        "sq_curv": squared_curvature,
    }


def hessian_min_eigenvalue(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, loss: str
) -> float:
    """Smallest eigenvalue of the empirical risk's Hessian at w: < 0, not convex."""
    _check_loss(loss)
    z = x @ w
    key = "log_curv" if loss == "log" else "sq_curv"
    curv = np.where(y == 1, loss_derivatives(z, 1)[key], loss_derivatives(z, 0)[key])
    return float(np.linalg.eigvalsh(x.T @ (x * curv[:, None]) / len(y)).min())


def steps_to_recover(
    x: np.ndarray, y: np.ndarray, w_true: np.ndarray, scale: float, loss: str
) -> int | None:
    """Gradient descent from w = -scale * w_true, each loss with its own safe step
    1/L: steps until cos(w, w_true) > 0.9 (None: not within 20,000 steps)."""
    _check_loss(loss)
    z = np.linspace(-30, 30, 60_001)
    key = "log_curv" if loss == "log" else "sq_curv"
    curvature_bound = np.abs(loss_derivatives(z, 1)[key]).max()  # same for y = 0
    eta = 1 / (curvature_bound * np.linalg.eigvalsh(x.T @ x / len(y)).max())
    w = -scale * w_true
    for step in range(1, 20_001):
        p = sigmoid(x @ w)
        per_row = p - y if loss == "log" else 2 * (p - y) * p * (1 - p)
        w = w - eta * x.T @ per_row / len(y)
        if w @ w_true > 0.9 * np.linalg.norm(w) * np.linalg.norm(w_true):
            return step
    return None
    # --8<-- [end:losses]


def main() -> None:
    seeds, sizes = SEEDS, SIZES
    print("[1] Bias and variance: Friedman #1, noise variance 1.00 (the floor)")
    print("Learning curves, MSE, 5-fold CV on 1,000 rows, mean of 3 seeds:")
    print(f"{'n':>5}  {'linear':>13}  {'cubic':>13}  {'cubic+ridge':>13}")
    print(f"{'':>5}" + "  train    val" * 3)
    curves = [learning_curves(seed, sizes) for seed in seeds]
    means = seed_means(curves)
    for i, n in enumerate(sizes):
        cells = [
            f"{means[name][0][i]:>6.2f} {means[name][1][i]:>6.2f}" for name in means
        ]
        print(f"{n:>5}  " + "  ".join(cells))
    cubic_val = [c["cubic"][1] for c in curves]
    per_seed = ", ".join(f"{v[0]:.1f} -> {v[1]:.1f}" for v in cubic_val)
    print(f"cubic validation MSE per seed, n = {sizes[0]} -> {sizes[1]}: {per_seed}")
    p = cubic(np.zeros((1, 6))).shape[1]
    print(f"cubic: {p} features + intercept = {p + 1} parameters, ", end="")
    print(f"interpolation threshold n = {p + 1}")
    decomposition = bias_variance(n_train=150, n_sets=30, seed=0)
    print("At n = 150, over 30 training sets, on 2,000 test points")
    print("(bias^2 without the variance / 30 that the mean prediction carries):")
    print(
        f"{'model':<12} {'bias^2':>6} {'variance':>8} {'noise':>5} {'sum':>6} ", end=""
    )
    print(f"{'test MSE':>8}")
    for name, d in decomposition.items():
        total = d["bias2"] + d["variance"] + NOISE_SD**2
        print(
            f"{name:<12} {d['bias2']:>6.2f} {d['variance']:>8.2f} {NOISE_SD**2:>5.2f} "
            f"{total:>6.2f} {d['test_mse']:>8.2f}"
        )

    print("\n[2] Regularisation: ridge on the cubic features, n = 150, 3 seeds")
    runs = [ridge_validation_curve(seed) for seed in seeds]
    print(f"{'alpha':>7} {'train':>6} {'val':>6}")
    train_mse, val_mse = ridge_means(runs)
    for alpha, train, val in zip(ALPHAS, train_mse, val_mse, strict=True):
        print(f"{alpha:>7g} {train:>6.2f} {val:>6.2f}")
    chosen = ", ".join(f"{r['best_alpha']:g}" for r in runs)
    print(f"chosen alpha per seed: {chosen}")
    print("test MSE on 5,000 new rows: chosen alpha ", end="")
    print(f"{np.mean([r['test_chosen'] for r in runs]):.2f}, unregularised ", end="")
    print(f"{np.mean([r['test_plain'] for r in runs]):.2f}")
    steps = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
    paths = [early_stopping_vs_ridge(seed, steps) for seed in seeds]
    gd = np.mean([p[0] for p in paths], axis=0)
    ridge = np.mean([p[1] for p in paths], axis=0)
    print("Early stopping: gradient descent after t steps vs ridge, lambda = 1/(eta t)")
    print(f"{'t':>9} {'GD val':>6} {'ridge val':>9}")
    for t, g, r in zip(steps, gd, ridge, strict=True):
        print(f"{t:>9,} {g:>6.2f} {r:>9.2f}")
    fine = tuple(round(t) for t in np.logspace(1, 6, 51))  # 10 per decade
    paths = [early_stopping_vs_ridge(seed, fine) for seed in seeds]
    gd = np.mean([p[0] for p in paths], axis=0)
    ridge = np.mean([p[1] for p in paths], axis=0)
    print("on 51 values of t from 10 to 1,000,000 (10 per decade):")
    print(f"GD best {gd.min():.2f} at t = {fine[np.argmin(gd)]:,}, ", end="")
    print(f"ridge best {ridge.min():.2f} at t = {fine[np.argmin(ridge)]:,}, ", end="")
    print(f"largest gap {np.abs(gd - ridge).max():.2f}")
    print("L1 vs L2, n = 100, p = 50, noise variance 4, test MSE, 10 seeds:")
    print(
        f"{'truth':<22} {'lasso':>6} {'ridge':>6} {'lasso - ridge (95% CI)':>24}",
        end="",
    )
    print(f" {'lasso wins':>10} {'nonzero':>7}")
    for sparse, label in (
        (True, "sparse (5 of 50 used)"),
        (False, "dense (all 50 used)"),
    ):
        runs_l = [l1_vs_l2(seed, sparse) for seed in range(10)]
        lasso = np.array([r["lasso"] for r in runs_l])
        ridge_mse = np.array([r["ridge"] for r in runs_l])
        d, low, high = paired_interval(lasso - ridge_mse)
        nonzero = np.mean([r["lasso_nonzero"] for r in runs_l])
        print(
            f"{label:<22} {lasso.mean():>6.2f} {ridge_mse.mean():>6.2f} "
            f"{f'{d:+.2f} ({low:+.2f} to {high:+.2f})':>24} "
            f"{f'{np.sum(lasso < ridge_mse)} of 10':>10} {nonzero:>7.1f}"
        )

    print("\n[3] Log loss vs squared error, in the logit z, for a positive (y = 1)")
    z = np.array([-8.0, -4.0, -2.0, -1.0, 0.0, 2.0])
    d = loss_derivatives(z, 1)
    print(
        f"{'z':>5} {'p':>7} {'log: grad':>9} {'curv':>7} {'squared: grad':>13} ", end=""
    )
    print(f"{'curv':>7}")
    for i, zi in enumerate(z):
        print(
            f"{zi:>5.0f} {sigmoid(zi):>7.4f} {d['log_grad'][i]:>9.4f} "
            f"{d['log_curv'][i]:>7.4f} {d['sq_grad'][i]:>13.4f} {d['sq_curv'][i]:>7.4f}"
        )
    print("Logistic model fitted by gradient descent from w = -c * w_true, 3 seeds:")
    print(f"{'c':>3} {'loss':<8} {'|gradient|':>10} {'min Hessian eig':>15} ", end="")
    print(f"{'steps to recover':>16}")
    for scale in (1, 3, 10):
        for loss in ("log", "squared"):
            grads, eigs, steps_needed = [], [], []
            for seed in seeds:
                rng = np.random.default_rng(seed)
                x, w_true = rng.normal(size=(500, 2)), np.array([2.0, -1.0])
                y = (rng.random(500) < sigmoid(x @ w_true)).astype(int)
                w0 = -scale * w_true
                key = "log_grad" if loss == "log" else "sq_grad"
                per_row = np.where(
                    y == 1,
                    loss_derivatives(x @ w0, 1)[key],
                    loss_derivatives(x @ w0, 0)[key],
                )
                grads.append(np.linalg.norm(x.T @ per_row / len(y)))
                eigs.append(hessian_min_eigenvalue(x, y, w0, loss))
                steps_needed.append(steps_to_recover(x, y, w_true, scale, loss))
            if None in steps_needed:
                shown = "> 20,000"
            elif min(steps_needed) == max(steps_needed):
                shown = f"{min(steps_needed):,}"
            else:
                shown = f"{min(steps_needed):,}-{max(steps_needed):,}"
            print(
                f"{scale:>3} {loss:<8} {np.mean(grads):>10.4f} "
                f"{np.mean(eigs):>15.5f} {shown:>16}"
            )


if __name__ == "__main__":
    main()
