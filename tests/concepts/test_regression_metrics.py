"""Our regression metrics equal scikit-learn's, their minimisers are as claimed."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
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


@pytest.mark.parametrize("seed", range(3))
def test_loss_minimising_constants(seed):
    rng = np.random.default_rng(seed)
    y = rng.lognormal(3, 0.6, size=401)  # odd n: the median is a data point
    assert rg.best_constant(y, "squared") == pytest.approx(y.mean())
    assert rg.best_constant(y, "absolute") == pytest.approx(np.median(y))
    for q in (0.1, 0.75, 0.9):
        best = rg.best_constant(y, "pinball", q)
        # Any q-quantile minimises the pinball loss; numpy's inverted-CDF one is ours.
        assert best == pytest.approx(np.quantile(y, q, method="inverted_cdf"))
        grid = np.linspace(y.min(), y.max(), 200)
        assert (
            rg.pinball_loss(y, np.full_like(y, best), q)
            <= min(skm.mean_pinball_loss(y, np.full_like(y, c), alpha=q) for c in grid)
            + 1e-12
        )
    # MAPE's best constant sits below the median: it favours under-forecasting.
    assert rg.best_constant(y, "percentage") < np.median(y)


def test_an_outlier_moves_rmse_much_more_than_mae():
    y, p = random_case(0)
    y_out = y.copy()
    y_out[0] = y.max() * 20
    rmse_growth = rg.rmse(y_out, p) / rg.rmse(y, p)
    mae_growth = rg.mae(y_out, p) / rg.mae(y, p)
    assert rmse_growth - 1 > 3 * (mae_growth - 1) > 0


def test_mape_is_asymmetric_and_smape_too():
    assert rg.mape([50], [100]) == 2 * rg.mape([100], [50])
    assert rg.smape([100], [50]) > rg.smape([100], [150])  # sMAPE punishes under
    assert rg.mape([100], [0]) == 1.0  # under-forecast: at most 100%
    assert rg.mape([100], [1000]) == 9.0  # over-forecast: unbounded


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
    assert_page_quotes(PAGE, mean, median, p90, best["percentage"])
    rmse_line = next(line.split() for line in lines if line.strip().startswith("RMSE"))
    mae_line = next(line.split() for line in lines if line.strip().startswith("MAE"))
    assert_page_quotes(PAGE, rmse_line[1], rmse_line[3], mae_line[1], mae_line[3])
    smape_line = next(
        line.split() for line in lines if "sMAPE" in line and "vs" in line
    )
    assert_page_quotes(PAGE, smape_line[1], smape_line[3])
    wape_line = lines[-1].replace(",", "").split()
    assert_page_quotes(PAGE, wape_line[1], wape_line[3])
