"""Baselines in order: heuristic < LR < GBDT, and crosses close the gap for LR."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from sklearn import metrics as skm

from snippets.framework import model_development as md

PAGE = "framework/model-development.md"


@pytest.fixture(scope="module")
def results():
    x, y = md.simulate_clicks(20_000, np.random.default_rng(11))
    return {r.name: r for r in md.compare_models(x, y)}


def test_each_step_beats_the_baseline_before_it(results):
    heuristic = results["heuristic: popularity"]
    plain, crossed, gbdt = (
        results["logistic regression"],
        results["LR + cross features"],
        results["GBDT"],
    )
    assert heuristic.pr_auc < plain.pr_auc < gbdt.pr_auc
    # GBDT finds the interaction by itself; LR only with the cross written for it.
    assert gbdt.normalised_entropy < plain.normalised_entropy
    assert crossed.pr_auc > plain.pr_auc + 0.03
    assert 0.3 < md.gap_closed(results) <= 1.2


def test_learned_models_beat_predicting_the_prior(results):
    for name in ("logistic regression", "LR + cross features", "GBDT"):
        assert results[name].normalised_entropy < 1
    assert results["heuristic: popularity"].normalised_entropy is None


def test_evaluate_matches_sklearn():
    rng = np.random.default_rng(0)
    y = (rng.random(2_000) < 0.2).astype(int)
    p = np.clip(0.2 + 0.3 * y * rng.random(2_000), 0, 1)
    r = md.evaluate("model", y, p, prior=0.2)
    assert r.roc_auc == pytest.approx(skm.roc_auc_score(y, p))
    assert r.pr_auc == pytest.approx(skm.average_precision_score(y, p))
    prior_loss = skm.log_loss(y, np.full(y.size, 0.2))
    assert r.normalised_entropy == pytest.approx(skm.log_loss(y, p) / prior_loss)


def test_cross_features_are_the_hidden_interaction():
    x, _ = md.simulate_clicks(500, np.random.default_rng(1))
    crossed = md.with_cross_features(x)
    assert crossed.shape == (500, 6)
    expected = x[:, 2] * (x[:, 1] > 1.0)
    np.testing.assert_array_equal(crossed[:, 3], expected)


def test_bad_input_raises_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 100"):
        md.simulate_clicks(10, rng)
    with pytest.raises(TypeError, match="must be an int"):
        md.simulate_clicks(1e4, rng)
    x, y = md.simulate_clicks(200, rng)
    with pytest.raises(ValueError, match="one row per label"):
        md.compare_models(x, y[:-1])
    with pytest.raises(ValueError, match="train_share"):
        md.compare_models(x, y, train_share=1.0)


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.model_development")
    rows = {}
    for line in out.splitlines()[2:6]:
        *name, auc, pr_auc, ne = line.split()
        rows[" ".join(name)] = (auc, pr_auc, ne)
    assert float(rows["GBDT"][1]) > float(rows["logistic regression"][1])
    quoted = [rows["heuristic: popularity"][1], rows["logistic regression"][1]]
    quoted += [rows["GBDT"][1], rows["LR + cross features"][1]]
    quoted += [rows["logistic regression"][2], rows["GBDT"][2]]
    closed = out.split("GBDT closes ")[1].split()[0]
    assert_page_quotes(PAGE, *quoted, closed)
