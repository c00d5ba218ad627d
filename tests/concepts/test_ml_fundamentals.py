"""The first fundamentals program (bias and variance, regularisation, the loss)
agrees with scikit-learn, with closed forms and with independent implementations
written here, and shows what the page claims."""

from __future__ import annotations

import re
from math import comb

import numpy as np
import pytest
from guide import (
    assert_page_says,
    line_starting,
    module_output,
    output_rows,
    typographic_minus,
)
from scipy import stats
from sklearn.datasets import make_friedman1
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold

from snippets.concepts import classification_metrics as cm
from snippets.concepts import ml_fundamentals as mf

PAGE = "concepts/ml-fundamentals.md"


def output_lines() -> list[str]:
    return module_output("snippets.concepts.ml_fundamentals").splitlines()


def block(title_start: str) -> list[str]:
    """The lines of one numbered part of the output, e.g. block("[3]")."""
    lines = output_lines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


# --- the synthetic world -----------------------------------------------------


def test_friedman_mean_is_scikit_learns_friedman1():
    x, y = make_friedman1(n_samples=300, n_features=6, noise=0.0, random_state=3)
    assert np.allclose(mf.friedman1_mean(x), y)


def test_cubic_features_are_every_product_of_up_to_three_inputs():
    x = np.random.default_rng(0).uniform(size=(4, 6))
    features = mf.cubic(x)
    # Monomials of degree <= 3 in 6 inputs: C(6 + 3, 3), less the constant.
    assert features.shape == (4, comb(9, 3) - 1) == (4, 83)
    columns = {tuple(np.round(col, 12)) for col in features.T}
    for a, b, c in [(0, 1, 2), (5, 5, 5), (2, 2, 4)]:
        assert tuple(np.round(x[:, a] * x[:, b] * x[:, c], 12)) in columns


def test_scaled_models_standardise_with_the_training_rows_only():
    rng = np.random.default_rng(1)
    scales = np.array([1, 10, 100, 0.1, 3])
    x, x_new = rng.uniform(size=(40, 5)) * scales, rng.uniform(size=(9, 5)) * scales
    y = rng.normal(size=40)
    ours = mf.scaled(Ridge(alpha=2.0)).fit(x, y).predict(x_new)
    mean, sd = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / sd
    w = np.linalg.solve(z.T @ z + 2.0 * np.eye(5), z.T @ (y - y.mean()))
    assert np.allclose(ours, (x_new - mean) / sd @ w + y.mean())


# --- bias and variance ---------------------------------------------------------


def test_learning_curve_matches_a_hand_written_one():
    # learning_curve trains on the first n rows of each fold's training indices.
    seed, sizes = 4, (50, 400)
    ours = mf.learning_curves(seed, sizes)["linear"]
    x, y = mf.friedman1(1_000, np.random.default_rng(seed))
    train_mse, val_mse = np.zeros(len(sizes)), np.zeros(len(sizes))
    for train, val in KFold(5, shuffle=True, random_state=seed).split(x):
        for i, n in enumerate(sizes):
            design = np.c_[np.ones(n), x[train[:n]]]
            w, *_ = np.linalg.lstsq(design, y[train[:n]], rcond=None)
            train_mse[i] += np.mean((design @ w - y[train[:n]]) ** 2) / 5
            val_mse[i] += (
                np.mean((np.c_[np.ones(len(val)), x[val]] @ w - y[val]) ** 2) / 5
            )
    assert np.allclose(ours[0], train_mse) and np.allclose(ours[1], val_mse)


def test_learning_curves_show_each_diagnosis():
    curves = mf.learning_curves(1)
    linear_train, linear_val = curves["linear"]
    cubic_train, cubic_val = curves["cubic"]
    ridge_val = curves["cubic+ridge"][1]
    # High bias: small gap, both far above the noise floor, flat as n grows.
    assert linear_val[-1] - linear_train[-1] < 0.5 < 5 < linear_train[-1]
    assert linear_val[2] - linear_val[-1] < 0.5
    # High variance: training error under the floor, a wide gap, falling with n.
    assert cubic_train[1] < mf.NOISE_SD**2 and cubic_val[1] - cubic_train[1] > 5
    assert cubic_val[-1] < 1.5 < 5 < cubic_val[1]
    # The fixes: capacity for the linear model, shrinkage for the cubic one.
    assert cubic_val[-1] < linear_val[-1] / 3
    assert ridge_val[1] < cubic_val[1] / 2


def test_decompose_removes_the_variance_of_the_mean_prediction():
    # Five models per point, each the truth + 0.5 + N(0, 1): bias^2 0.25, variance 1.
    # The squared error of their mean alone would be 0.25 + 1/5 = 0.45.
    rng = np.random.default_rng(0)
    truth = rng.normal(size=20_000)
    runs = truth + 0.5 + rng.normal(size=(5, truth.size))
    bias2, variance = mf.decompose(runs, truth)
    assert bias2 == pytest.approx(0.25, abs=0.03)
    assert variance == pytest.approx(1.0, abs=0.03)


def test_bias_variance_decomposition_adds_up_and_bias_is_the_approximation_error():
    result = mf.bias_variance(n_train=150, n_sets=30, seed=5)
    for name, part in result.items():
        total = part["bias2"] + part["variance"] + mf.NOISE_SD**2
        assert total == pytest.approx(part["test_mse"], rel=0.05), name
    # The linear model's bias^2 is the error of the best linear fit on the same test
    # points (the decomposition draws them first from its seed), which a fit on
    # 200,000 other rows estimates independently.
    x, _ = mf.friedman1(200_000, np.random.default_rng(9))
    best_linear = LinearRegression().fit(x, mf.friedman1_mean(x))
    x_test, _ = mf.friedman1(2_000, np.random.default_rng(5))
    approximation = np.mean(
        (best_linear.predict(x_test) - mf.friedman1_mean(x_test)) ** 2
    )
    assert result["linear"]["bias2"] == pytest.approx(approximation, abs=0.1)
    assert result["cubic"]["variance"] > 4 * result["linear"]["variance"]
    assert result["cubic+ridge"]["variance"] < result["cubic"]["variance"]


# --- regularisation -----------------------------------------------------------


def test_validation_curve_matches_hand_written_cross_validation():
    seed = 2
    result = mf.ridge_validation_curve(seed)
    x, y = mf.friedman1(150, np.random.default_rng(seed))
    features = mf.cubic(x)
    for j in (1, 3):
        errors = []
        for tr, va in KFold(5, shuffle=True, random_state=seed).split(features):
            mean, sd = features[tr].mean(axis=0), features[tr].std(axis=0)
            model = Ridge(alpha=mf.ALPHAS[j]).fit((features[tr] - mean) / sd, y[tr])
            predicted = model.predict((features[va] - mean) / sd)
            errors.append(np.mean((predicted - y[va]) ** 2))
        assert result["val"][j] == pytest.approx(np.mean(errors))
    assert result["best_alpha"] == mf.ALPHAS[np.argmin(result["val"])]
    assert result["test_chosen"] < result["test_plain"]


def test_gradient_descent_closed_form_equals_iterating_and_ridge_equals_sklearn():
    rng = np.random.default_rng(0)
    x, y = mf.friedman1(150, rng)
    x_val, y_val = mf.friedman1(5_000, rng)
    p, p_val = mf.cubic(x), mf.cubic(x_val)
    mean, sd = p.mean(axis=0), p.std(axis=0)
    p, p_val = (p - mean) / sd, (p_val - mean) / sd
    n, centred = len(y), y - y.mean()
    eta = n / np.linalg.norm(p, 2) ** 2
    w = np.zeros(p.shape[1])
    for _ in range(300):
        w -= eta * p.T @ (p @ w - centred) / n
    iterated = np.mean((p_val @ w + y.mean() - y_val) ** 2)
    gd, ridge = mf.early_stopping_vs_ridge(0, steps=(300, 10_000))
    assert gd[0] == pytest.approx(iterated, rel=1e-9)
    lam = 1 / (eta * 10_000)
    sk = Ridge(alpha=n * lam).fit(p, y)  # sklearn's alpha multiplies the sum
    assert ridge[1] == pytest.approx(np.mean((sk.predict(p_val) - y_val) ** 2))


def test_early_stopping_tracks_ridge_and_has_an_interior_optimum():
    steps = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
    gd, ridge = mf.early_stopping_vs_ridge(1, steps)
    assert 0 < np.argmin(gd) < len(steps) - 1
    assert np.all(np.abs(np.log(gd / ridge)) < 0.2)


def test_early_stopping_and_ridge_share_a_best_t_but_not_a_best_error():
    fine = np.logspace(1, 6, 51).round().astype(int)
    for seed in (3, 4, 5):
        gd, ridge = mf.early_stopping_vs_ridge(seed, tuple(fine))
        assert abs(np.argmin(gd) - np.argmin(ridge)) <= 3, seed  # within 0.3 decades
        assert ridge.min() < gd.min(), seed


def test_lasso_wins_on_sparse_truth_and_does_not_on_dense():
    sparse = [mf.l1_vs_l2(seed, sparse=True) for seed in range(10, 16)]
    dense = [mf.l1_vs_l2(seed, sparse=False) for seed in range(10, 16)]
    assert all(r["lasso"] < r["ridge"] for r in sparse)
    assert np.mean([r["lasso_nonzero"] for r in sparse]) < 30
    differences = [r["lasso"] - r["ridge"] for r in dense]
    assert stats.ttest_1samp(differences, 0).pvalue > 0.01 or np.mean(differences) > 0


# --- log loss vs squared error -----------------------------------------------


@pytest.mark.parametrize("label", [0, 1])
def test_loss_derivatives_match_finite_differences(label):
    z, h = np.linspace(-9, 9, 181), 1e-3

    def log_loss(t):  # -log sigmoid(t) and -log(1 - sigmoid(t)), computed stably
        return np.logaddexp(0, -t) if label == 1 else np.logaddexp(0, t)

    def squared(t):
        return (cm.sigmoid(t) - label) ** 2

    d = mf.loss_derivatives(z, label)
    for loss, grad, curv in (
        (log_loss, "log_grad", "log_curv"),
        (squared, "sq_grad", "sq_curv"),
    ):
        numeric_grad = (loss(z + h) - loss(z - h)) / (2 * h)
        numeric_curv = (loss(z + h) - 2 * loss(z) + loss(z - h)) / h**2
        assert np.allclose(d[grad], numeric_grad, atol=1e-6)
        assert np.allclose(d[curv], numeric_curv, atol=1e-5)


def test_squared_error_is_concave_exactly_beyond_log_two():
    z = np.linspace(-6, 6, 1_201)
    positive = mf.loss_derivatives(z, 1)["sq_curv"]
    negative = mf.loss_derivatives(z, 0)["sq_curv"]
    assert np.all((positive < 0) == (z < -np.log(2)))
    assert np.all((negative < 0) == (z > np.log(2)))
    assert np.all(mf.loss_derivatives(z, 1)["log_curv"] > 0)


def test_hessian_eigenvalue_matches_a_numerical_hessian():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = (rng.random(300) < cm.sigmoid(x @ [2.0, -1.0])).astype(int)
    w0, h = np.array([-4.0, 2.0]), 1e-4

    def risk(w):
        return np.mean((cm.sigmoid(x @ w) - y) ** 2)

    numeric = np.array(
        [
            [
                (
                    risk(w0 + h * (ei + ej))
                    - risk(w0 + h * (ei - ej))
                    - risk(w0 - h * (ei - ej))
                    + risk(w0 - h * (ei + ej))
                )
                / (4 * h**2)
                for ej in np.eye(2)
            ]
            for ei in np.eye(2)
        ]
    )
    assert mf.hessian_min_eigenvalue(x, y, w0, "squared") == pytest.approx(
        np.linalg.eigvalsh(numeric).min(), abs=1e-6
    )
    assert mf.hessian_min_eigenvalue(x, y, w0, "squared") < 0
    for w in rng.normal(scale=5, size=(20, 2)):
        assert mf.hessian_min_eigenvalue(x, y, w, "log") >= 0


def test_log_loss_recovers_from_confident_mistakes_and_squared_error_crawls():
    rng = np.random.default_rng(2)
    w_true = np.array([2.0, -1.0])
    x = rng.normal(size=(500, 2))
    y = (rng.random(500) < cm.sigmoid(x @ w_true)).astype(int)
    fast = mf.steps_to_recover(x, y, w_true, 10, "log")
    slow = mf.steps_to_recover(x, y, w_true, 10, "squared")
    assert fast <= 20 and slow >= 20 * fast


# --- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: mf.friedman1(0, np.random.default_rng(0)), ValueError),
        (lambda: mf.friedman1(2.5, np.random.default_rng(0)), TypeError),
        (lambda: mf.bias_variance(n_train=5, n_sets=10, seed=0), ValueError),
        (lambda: mf.loss_derivatives(np.zeros(3), 2), ValueError),
        (
            lambda: mf.steps_to_recover(np.eye(2), np.ones(2), np.ones(2), 1, "hinge"),
            ValueError,
        ),
        (lambda: mf.l1_vs_l2(0, sparse=True, p=3), ValueError),
        (lambda: mf.check_count("n", True), TypeError),
    ],
)
def test_bad_input_fails_clearly(call, error):
    with pytest.raises(error):
        call()


# --- the page quotes the program -----------------------------------------------


def says(*fragments: str) -> None:
    assert_page_says(PAGE, *fragments)


minus, rows, line_after = typographic_minus, output_rows, line_starting


def test_page_quotes_the_learning_curves_and_the_decomposition():
    part = block("[1]")
    floor = re.search(r"noise variance (\d\.\d\d)", part[0])[1]
    table = rows(part[4:9])
    n800, n400, n200, n100, n50 = (table[n] for n in ("800", "400", "200", "100", "50"))
    # columns: n, linear train, val, cubic train, val, cubic+ridge train, val
    says(floor, f"{n800[1]} in training and {n800[2]} in validation")
    gap = float(n800[2]) - float(n800[1])
    says(f"a gap of about {gap:.2f}", f"({n200[2]})", n800[4])
    assert round(float(n800[2]) / float(floor)) == 7  # "seven times the floor"
    says(f"is\n  {n100[3]}", f"error is {n100[4]}")
    says(f"({float(n400[4]) - float(n400[3]):.2f} at 400 rows)")
    says(f"is {n100[6]} instead of {n100[4]}")
    says(f"({n800[6]} with ridge, {n800[4]} without)")
    assert float(n100[3]) < float(floor) < float(n100[4])
    # Per seed, from 50 to 100 rows: "worse on 2 of 3 seeds; the third falls".
    pairs = re.findall(r"(\d+\.\d) -> (\d+\.\d)", line_after(part, "cubic validation"))
    worse = [f"{a} to {b}" for a, b in pairs if float(b) > float(a)]
    better = [f"from {a} to {b}" for a, b in pairs if float(b) <= float(a)]
    assert len(pairs) == 3 and len(worse) == 2 and len(better) == 1
    says(f"On {len(worse)} of {len(pairs)} seeds", " and\n".join(worse))
    says(f"the third falls {better[0]}")
    threshold = re.search(r"threshold n = (\d+)", line_after(part, "cubic:"))[1]
    assert int(threshold) == comb(9, 3)  # every monomial of degree <= 3, constant too
    says(f"{threshold}\n  parameters", f"near \\(n = {threshold}\\)")
    assert int(n50[0]) < int(threshold) < int(n100[0])  # "between the grid's sizes"
    header = line_after(part, "At n = ")
    sets, n = re.search(r"At n = (\d+), over (\d+) training sets", header).group(2, 1)
    says(f"on\n{sets} independent training sets of {n} rows")
    assert sets == "30"  # "a thirtieth of the variance"
    start = part.index(line_after(part, "model "))
    d = rows(part[start + 1 : start + 4])
    linear, cubic, ridge = d["linear"], d["cubic"], d["cubic+ridge"]
    says(f"bias² {linear[1]}, variance {linear[2]}")
    says(f"bias² {cubic[1]}, variance {cubic[2]}")
    says(f"({ridge[1]} and {ridge[2]})")
    says(f"{ridge[5]} against {cubic[5]}", f"{linear[4]} against {linear[5]}")
    says("all 83 products")


def test_page_quotes_the_regularisation_demos():
    part = block("[2]")
    alphas = rows(part[2:9])
    grid = list(alphas.values())
    best = min(grid, key=lambda r: float(r[2]))
    says(f"from\n{grid[0][1]} to {grid[-1][1]}")
    says(f"falls to {best[2]} at a strength of {best[0]}")
    chosen = sorted(
        set(line_after(part, "chosen").split(": ")[1].split(", ")), key=float
    )
    says(f"picks {' or '.join(chosen)} depending on the seed")
    test_chosen, test_plain = re.findall(r"\d+\.\d\d", line_after(part, "test MSE"))
    says(f"scores {test_chosen} against {test_plain} unregularised")
    start = part.index(line_after(part, "Early stopping"))
    steps = rows(part[start + 2 : start + 8])
    last = steps["1,000,000"]
    gd, gd_t, ridge, ridge_t, gap = re.search(
        r"GD best (\d\.\d\d) at t = ([\d,]+), ridge best (\d\.\d\d) at t = ([\d,]+), "
        r"largest gap (\d\.\d\d)",
        line_after(part, "GD best"),
    ).groups()
    says(f"lowest at {gd_t} steps ({gd}", f"rises to {last[1]} by 1,000,000")
    says(f"best \\(t\\) ({ridge_t})", f"at its best ({ridge})", f"ends at {last[2]}")
    says(f"differ by up to\n{gap}")
    says(f"{1 - np.exp(-1):.2f}\\) of the direction and ridge exactly half")
    assert float(ridge) < float(gd)  # "lower at its best"
    t_gd, t_ridge = (int(t.replace(",", "")) for t in (gd_t, ridge_t))
    assert abs(np.log10(t_gd / t_ridge)) < 0.2  # "nearly the same best t"
    floor = re.search(r"noise variance (\d+)", line_after(part, "L1 vs L2"))[1]
    sparse = line_after(part, "sparse")
    dense = line_after(part, "dense")
    d, low, high = re.search(
        r"([-+]\d\.\d\d) \(([-+]\d\.\d\d) to ([-+]\d\.\d\d)\)", sparse
    ).groups()
    assert "10 of 10" in sparse
    says(
        f"by {d.lstrip('-')} in test\nMSE",
        f"(95% interval {high.lstrip('-')} to {low.lstrip('-')})",
        f"against a floor of {floor}",
        f"keeps {sparse.split()[-1]}\ninputs",
    )
    interval = re.search(r"[-+]\d\.\d\d \([-+]\d\.\d\d to [-+]\d\.\d\d\)", dense)[0]
    says(minus(interval))


def test_page_quotes_the_log_loss_demos():
    part = block("[3]")
    z8 = rows(part[2:8])["-8"]
    says(f"the model says {z8[1]}", f"is {minus(z8[2])}", minus(z8[4]))
    fits = [line.split() for line in part[10:16]]
    log1, sq1, log10, sq10 = fits[0], fits[1], fits[4], fits[5]
    assert log1[1] == "log" and sq10[1] == "squared"
    says(f"{log1[2]} at \\(c = 1\\), {log10[2]} at \\(c = 10\\)")
    says(f"recovers in {log10[4]} steps", f"from {sq1[2]} to {sq10[2]}")
    says(f"needs {sq10[4]}\nsteps", f"({minus(sq10[3])})")
