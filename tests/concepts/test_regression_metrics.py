"""Our regression metrics equal scikit-learn's, their minimisers are as claimed."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from sklearn import metrics as skm

from snippets.concepts import regression_metrics as rg

PAGE = "concepts/regression-metrics.md"


def random_case(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    y = rng.lognormal(3, 0.5, size=n)
    return y, y * rng.lognormal(0, 0.3, size=n) + rng.normal(0, 2, size=n)


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_sklearn(seed):
    y, p = random_case(seed)
    assert rg.rmse(y, p) == pytest.approx(skm.root_mean_squared_error(y, p))
    assert rg.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p))
    assert rg.mape(y, p) == pytest.approx(skm.mean_absolute_percentage_error(y, p))
    # WAPE is MAE over the mean absolute target: no sklearn function, same quantity.
    assert rg.wape(y, p) == pytest.approx(
        skm.mean_absolute_error(y, p) / np.mean(np.abs(y))
    )
    for q in (0.1, 0.5, 0.9):
        assert rg.pinball_loss(y, p, q) == pytest.approx(
            skm.mean_pinball_loss(y, p, alpha=q)
        )
    # The 0.5 pinball loss is half the MAE.
    assert rg.pinball_loss(y, p, 0.5) == pytest.approx(rg.mae(y, p) / 2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-1e3, 1e3, allow_nan=False), st.floats(-1e3, 1e3, allow_nan=False)
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(0.01, 0.99),
)
def test_properties_for_any_input(rows, q):
    y = np.array([a for a, _ in rows])
    p = np.array([b for _, b in rows])
    assert rg.pinball_loss(y, p, q) == pytest.approx(
        skm.mean_pinball_loss(y, p, alpha=q), abs=1e-9
    )
    assert rg.mae(y, p) <= rg.rmse(y, p) + 1e-9  # RMSE >= MAE always
    smape = rg.smape(y, p)
    assert 0.0 <= smape <= 2.0 + 1e-12
    assert smape == pytest.approx(rg.smape(p, y))  # symmetric in its arguments


def scipy_best_constant(y: np.ndarray, loss) -> float:
    """An independent optimiser: SciPy's bounded Brent search on the public metric."""
    result = minimize_scalar(
        lambda c: loss(y, np.full_like(y, c)),
        bounds=(y.min(), y.max()),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return float(result.x)


@pytest.mark.parametrize("seed", range(3))
def test_loss_minimising_constants_match_an_independent_optimiser(seed):
    rng = np.random.default_rng(seed)
    y = rng.lognormal(3, 0.6, size=401)  # odd n: the median is a data point
    # A grid that cannot contain the mean (or any data point) by accident.
    grid = np.linspace(y.min(), y.max(), 997) + 1e-7
    losses = {
        "squared": rg.rmse,
        "absolute": rg.mae,
        "percentage": rg.mape,
        **{
            f"pinball {q}": (lambda y, f, q=q: rg.pinball_loss(y, f, q))
            for q in (0.1, 0.75, 0.9)
        },
    }
    for name, loss in losses.items():
        kind, *q = name.split()
        best = rg.best_constant(y, kind, *(float(v) for v in q))
        reference = scipy_best_constant(y, loss)
        # Each of these losses is convex in the constant and, here, has a unique
        # minimiser: both searches must find the same point and the same loss.
        assert best == pytest.approx(reference, rel=1e-6), name
        at_best = loss(y, np.full_like(y, best))
        assert at_best <= loss(y, np.full_like(y, reference)) + 1e-12, name
        assert at_best <= min(loss(y, np.full_like(y, c)) for c in grid), name
    # The closed forms the page states, from numpy, not from our search.
    assert rg.best_constant(y, "squared") == pytest.approx(y.mean())
    assert rg.best_constant(y, "absolute") == np.median(y)
    for q in (0.1, 0.75, 0.9):
        # Any q-quantile minimises the pinball loss; numpy's inverted-CDF one is ours.
        assert rg.best_constant(y, "pinball", q) == np.quantile(
            y, q, method="inverted_cdf"
        )
    # MAPE's best constant is the 1/y-weighted median (numpy's weighted quantile).
    percentage = rg.best_constant(y, "percentage")
    assert percentage == np.quantile(y, 0.5, weights=1 / y, method="inverted_cdf")
    assert percentage < np.median(y)  # so it favours under-forecasting


@pytest.mark.parametrize(
    "sample",
    [
        np.random.default_rng(0).lognormal(3, 0.5, size=301),
        np.random.default_rng(1).exponential(30, size=301),
        10 * (1 + np.random.default_rng(2).pareto(1.5, size=301)),
        np.random.default_rng(3).poisson(3, size=301).astype(float),  # zeros, ties
    ],
)
def test_smape_best_constant_beats_a_dense_grid(sample):
    best = rg.best_constant(sample, "symmetric")
    grid = np.linspace(sample.min(), np.quantile(sample, 0.9), 4_001)
    brute = min(rg.smape(sample, np.full_like(sample, c)) for c in grid)
    assert rg.smape(sample, np.full_like(sample, best)) <= brute + 1e-12


def test_smape_best_constant_leans_either_way():
    # log-normal: at the median; exponential: above it; Pareto: below it, in every
    # one of 10 fresh samples (seeds the program does not use).
    for seed in range(100, 110):
        rng = np.random.default_rng(seed)
        lognormal = rng.lognormal(3, 0.5, size=1_001)
        exponential = rng.exponential(30, size=1_001)
        pareto = 10 * (1 + rng.pareto(1.5, size=1_001))
        median = np.median
        best = rg.best_constant
        assert best(lognormal, "symmetric") == pytest.approx(
            median(lognormal), rel=0.02
        )
        assert best(exponential, "symmetric") > 1.04 * median(exponential)
        assert best(pareto, "symmetric") < 0.99 * median(pareto)


def test_an_outlier_moves_rmse_much_more_than_mae():
    y, p = random_case(0)
    y_out = y.copy()
    y_out[0] = y.max() * 20
    rmse_growth = rg.rmse(y_out, p) / rg.rmse(y, p)
    mae_growth = rg.mae(y_out, p) / rg.mae(y, p)
    assert rmse_growth - 1 > 3 * (mae_growth - 1) > 0


def test_percentage_errors_depend_on_what_is_held_fixed():
    # MAPE: symmetric for a fixed actual, but the same miss costs more on a small one.
    assert rg.mape([100], [50]) == rg.mape([100], [150])
    assert rg.mape([50], [100]) == 2 * rg.mape([100], [50])
    assert rg.mape([100], [0]) == 1.0  # an under-forecast can miss by 100% at most
    assert rg.mape([100], [1000]) == 9.0  # an over-forecast by any amount
    # sMAPE: actual fixed, under costs more; forecast fixed, over costs more.
    assert rg.smape([100], [50]) == pytest.approx(50 / 75)
    assert rg.smape([100], [150]) == pytest.approx(50 / 125)
    assert rg.smape([100], [50]) > rg.smape([100], [150])
    assert rg.smape([50], [100]) > rg.smape([150], [100])


def test_sklearn_mape_is_huge_not_infinite_at_zero():
    eps = np.finfo(float).eps
    value = skm.mean_absolute_percentage_error([0.0], [1.0])
    assert np.isfinite(value) and value == pytest.approx(1 / eps)
    assert_page_quotes(PAGE, f"about {eps:.1e}", f"{1 / eps:.1e}".replace("e+", "e"))
    with pytest.raises(ValueError, match="undefined"):
        rg.mape([0.0], [1.0])


def test_zero_wins_intermittent_demand_under_wape_and_loses_elsewhere():
    # Out of sample: the constants come from one stretch of days and are scored on
    # another, so no constant wins its own loss by construction.
    rng = np.random.default_rng(9)

    def days(n):
        return ((rng.random(n) < 0.3) * (1 + rng.poisson(2.0, size=n))).astype(float)

    past, future = days(5_000), days(5_000)
    assert np.median(past) == 0
    forecasts = {
        "zero": 0.0,
        "mean": past.mean(),
        "q90": np.quantile(past, 0.9, method="inverted_cdf"),
    }

    def score(loss, name):
        return loss(future, np.full_like(future, forecasts[name]))

    assert score(rg.wape, "zero") < min(score(rg.wape, "mean"), score(rg.wape, "q90"))
    assert score(rg.rmse, "mean") < min(score(rg.rmse, "zero"), score(rg.rmse, "q90"))
    pinball = lambda y, f: rg.pinball_loss(y, f, 0.9)  # noqa: E731
    assert score(pinball, "q90") < min(score(pinball, "zero"), score(pinball, "mean"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rg.rmse([1, 2], [1]), "same length"),
        (lambda: rg.mae([], []), "empty"),
        (lambda: rg.mae([[1]], [[1]]), "1-D"),
        (lambda: rg.rmse([1, np.nan], [1, 2]), "finite"),
        (lambda: rg.rmse([1, 2], [1, np.inf]), "finite"),
        (lambda: rg.mape([0, 1], [1, 1]), "undefined when y_true contains 0"),
        (lambda: rg.wape([0, 0], [1, 1]), "every y_true is 0"),
        (lambda: rg.pinball_loss([1], [1], 1.0), r"quantile must be in \(0, 1\)"),
        (lambda: rg.pinball_loss([1], [1], 0), "quantile"),
        (lambda: rg.best_constant([1, 2], "huber"), "loss must be one of"),
        (lambda: rg.best_constant([0, 2], "percentage"), "MAPE is undefined"),
        (lambda: rg.best_constant([1, 2], "pinball", 1.5), "quantile"),
    ],
)
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.regression_metrics")
    lines = out.splitlines()
    summary = lines[0].replace(",", "").split()
    mean, median, p90 = summary[6], summary[8], summary[10]
    best = {line.split()[0]: line.split()[-1] for line in lines if "->" in line}
    assert best["squared"] == mean and best["absolute"] == median
    assert best["pinball"] == p90  # the q = 0.9 constant is the 90th percentile
    assert float(best["percentage"]) < float(median)
    weighted = next(line.split()[-1] for line in lines if "weighted median" in line)
    assert weighted == best["percentage"]
    assert_page_quotes(PAGE, mean, median, p90, best["percentage"])
    late = {
        line.split()[-2].rstrip(":"): line.split()[-1]
        for line in lines
        if line.startswith("Orders later")
    }
    assert float(late["mean"].rstrip("%")) < 50  # right skew: fewer than half
    assert_page_quotes(PAGE, late["mean"], late["p90"])
    rmse_line = next(line.split() for line in lines if line.strip().startswith("RMSE"))
    mae_line = next(line.split() for line in lines if line.strip().startswith("MAE"))
    assert_page_quotes(PAGE, rmse_line[1], rmse_line[3], mae_line[1], mae_line[3])
    smape_lines = [line.split() for line in lines if line.strip().startswith("sMAPE")]
    assert_page_quotes(PAGE, *smape_lines[0][1::2], *smape_lines[1][1::2])
    start = next(i for i, x in enumerate(lines) if x.startswith("Best constant under"))
    ranges = {}
    for line in lines[start + 2 : start + 5]:
        best_c, med, spread = line.split()[-4], line.split()[-2], line.split()[-1]
        assert_page_quotes(PAGE, f"({best_c} vs {med})")
        ranges[line.split()[0]] = spread.split("-")
    low, high = ranges["exponential"]
    assert float(low) > 1 and float(high) > float(low)  # above the median, every time
    assert_page_quotes(PAGE, f"{low} to {high} times the median for the exponential")
    low, high = ranges["Pareto"]
    assert float(high) < 1  # below the median, every time
    assert_page_quotes(PAGE, f"{low} to {high} times for the Pareto")
    assert ranges["log-normal"] == ["1.00", "1.00"]
    assert_page_quotes(PAGE, "a ratio of 1.00")


def test_smape_scores_the_zero_forecast_by_its_zero_zero_convention():
    # A zero forecast costs 2 on each sale day and 0/0 on each day without one.
    # Scoring 0/0 as 0 gives 2 * (share of sale days); dropping those days gives 2.
    y = np.array([0.0, 3.0, 0.0, 0.0, 1.0])
    assert rg.smape(y, np.zeros_like(y)) == pytest.approx(2 * 2 / 5)
    assert rg.smape(y[y != 0], np.zeros(2)) == pytest.approx(2.0)


def test_page_quotes_the_intermittent_demand_table():
    lines = module_output("snippets.concepts.regression_metrics").splitlines()
    header = next(line for line in lines if line.startswith("Intermittent"))
    items = header.split(": ")[1].split()[0]
    assert_page_quotes(PAGE, f"{items} items that sell on 40% of days")
    zero_zero = next(line for line in lines if "sMAPE is 0/0" in line)
    share = zero_zero.split("on the ")[1].split()[0]
    assert 50 < float(share.rstrip("%")) < 70  # about 60% of days have no sale
    assert_page_quotes(PAGE, f"every day without a sale ({share} of them)")
    start = next(i for i, line in enumerate(lines) if "mean over items" in line)
    rows = {}  # WAPE, sMAPE (0/0 = 0), sMAPE (0/0 dropped), RMSE, pinball
    for line in lines[start + 2 : start + 5]:
        rows[line[:17].strip()] = line[17:].split()
    zero, mean, q90 = rows["0 (median)"], rows["mean"], rows["0.9-quantile"]
    assert zero[0] == "1.000"  # zero's errors sum to the demand: WAPE 1 exactly
    assert float(zero[0]) < min(float(mean[0]), float(q90[0]))  # WAPE picks zero
    # sMAPE picks zero only when 0/0 counts as perfect; without those days it is
    # 2 on every remaining day, the worst possible. Positive forecasts have no 0/0.
    assert float(zero[1]) < min(float(mean[1]), float(q90[1]))
    assert zero[2] == "2.000" and mean[2] == mean[1] and q90[2] == q90[1]
    assert float(zero[1]) == pytest.approx(2 * (1 - float(share[:-1]) / 100), abs=0.01)
    assert float(mean[3]) < float(zero[3])  # RMSE picks the mean
    assert float(q90[4]) < min(float(zero[4]), float(mean[4]))  # pinball: quantile
    assert_page_quotes(PAGE, f"WAPE {zero[0]}", f"({mean[0]})", f"({q90[0]})")
    assert_page_quotes(PAGE, f"({zero[1]}), but only under", f"scores {zero[2]}, the")
    assert_page_quotes(PAGE, f"RMSE {mean[3]} for the mean")
    assert_page_quotes(PAGE, f"against {zero[3]} for zero", f"{q90[4]} for the 0.9")
    assert_page_quotes(PAGE, f"against {zero[4]} for zero")
