"""Baselines in order: heuristic < LR < GBDT; only the true form puts LR on top."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from snippets.framework import model_development as md

PAGE = "framework/model-development.md"


@pytest.fixture(scope="module")
def results():
    x, y = md.simulate_clicks(20_000, np.random.default_rng(11))
    return {r.name: r for r in md.compare_models(x, y)}


@pytest.fixture(scope="module")
def runs():
    return md.ladder_over_seeds([21, 22, 23], n=20_000)


def test_each_step_beats_the_baseline_before_it(results):
    heuristic = results["heuristic: popularity"]
    plain, crossed, gbdt = (
        results["logistic regression"],
        results["LR, true form"],
        results["GBDT"],
    )
    assert heuristic.pr_auc < plain.pr_auc < gbdt.pr_auc
    # GBDT finds the interaction by itself; LR only with the cross written for it.
    assert gbdt.normalised_entropy < plain.normalised_entropy
    assert crossed.pr_auc > plain.pr_auc + 0.03
    assert 0.3 < md.gap_closed(results) <= 1.2


def test_only_the_true_form_puts_lr_above_the_gbdt(runs):
    for run in runs:
        r = run.results
        assert r["LR, true form"].pr_auc > r["GBDT"].pr_auc
        assert r["LR, guessed form"].pr_auc < r["GBDT"].pr_auc
        assert r["LR, guessed form"].pr_auc > r["logistic regression"].pr_auc


def test_the_ablation_needs_both_fixes_to_reach_the_true_form(runs):
    for run in runs:
        pr = {label: run.results[name].pr_auc for label, name in md.ABLATION.items()}
        plain, cyclic, cross, both = pr.values()
        # Each misspecification costs PR-AUC; fixing one leaves a gap to the truth.
        assert plain < cyclic < both
        assert plain < cross < both
        assert cross - plain > cyclic - plain  # the interaction is the larger part


def test_learned_models_beat_predicting_the_prior(results):
    for name in ("logistic regression", "LR, true form", "GBDT"):
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


def test_gap_closed_is_the_share_of_the_pr_auc_gap():
    def result(pr_auc):
        return md.Result("m", 0.5, pr_auc, None)

    ladder = {
        "logistic regression": result(0.20),
        "LR, true form": result(0.30),
        "GBDT": result(0.27),
    }
    assert md.gap_closed(ladder) == pytest.approx(0.7)


def test_feature_sets_hold_the_crosses_and_hours_they_name():
    x, _ = md.simulate_clicks(500, np.random.default_rng(1))
    true, guessed = md.with_true_form(x), md.with_guessed_form(x)
    assert true.shape == guessed.shape == (500, 6)
    cross = x[:, 2] * (x[:, 1] > 1.0)
    np.testing.assert_array_equal(true[:, 3], cross)
    np.testing.assert_array_equal(guessed[:, 3], x[:, 2] * x[:, 1])
    angle = 2 * np.pi * x[:, 3] / 24
    cyclic = np.column_stack([np.cos(angle), np.sin(angle)])
    np.testing.assert_allclose(true[:, 4:], cyclic)
    # Ablations: one fix each, the rest as plain LR sees it.
    np.testing.assert_allclose(
        md.with_cyclic_hour_only(x), np.column_stack([x[:, :3], cyclic])
    )
    np.testing.assert_array_equal(
        md.with_true_cross_only(x), np.column_stack([x, cross])
    )


def test_calibration_check_matches_an_independent_fit(runs):
    # Refit plain LR with a scikit-learn pipeline on the first seed's world.
    x, y = md.simulate_clicks(20_000, np.random.default_rng(21))
    cut = int(0.7 * y.size)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    p = model.fit(x[:cut], y[:cut]).predict_proba(x[cut:])[:, 1]
    x_test, y_test = x[cut:], y[cut:]
    segment = (x_test[:, 2] == 1) & (x_test[:, 1] <= 1.0)
    expected = (p.mean(), y_test.mean(), p[segment].mean(), y_test[segment].mean())
    np.testing.assert_allclose(runs[0].calibration, expected, rtol=1e-6)
    assert runs[0].click_rate == pytest.approx(y.mean())
    for run in runs:
        mean_p, mean_y, seg_p, seg_y = run.calibration
        assert mean_p == pytest.approx(mean_y, abs=0.01)  # right on average ...
        assert seg_p > 1.5 * seg_y  # ... and far off in the segment it cannot model


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
    with pytest.raises(ValueError, match="seeds is empty"):
        md.ladder_over_seeds([])


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.model_development")
    spread = r"([\d.]+) \(([\d.]+)-([\d.]+)\)"
    rows = {}
    for line in out.splitlines()[3:8]:
        match = re.match(rf"(.+?)\s+{spread}\s+(?:-|{spread})\s+{spread}$", line)
        assert match, line
        name, auc, _, _, ne, ne_low, ne_high, mean, low, high = match.groups()
        rows[name] = {"auc": auc, "ne": (ne, ne_low, ne_high), "pr": (mean, low, high)}
    assert list(rows) == list(md.LADDER)
    plain, gbdt = rows["logistic regression"], rows["GBDT"]
    # The page says the GBDT's worst seed beats plain LR's best.
    assert float(gbdt["pr"][1]) > float(plain["pr"][2])
    quoted = [rows[name]["pr"][0] for name in rows]
    quoted += [gbdt["pr"][1], plain["pr"][2], plain["auc"], gbdt["auc"]]
    for row in (plain, gbdt):
        ne, low, high = row["ne"]
        quoted += [f"{ne} ({low}–{high}"]
    ablation = re.findall(rf"\n  (?:hour linear|cyclic hour), [a-z ]+?\s+{spread}", out)
    assert len(ablation) == 4
    quoted += [mean for mean, _, _ in ablation]
    closed = re.search(r"closes (\d+%) .*\((\d+)-(\d+%)\)", out)
    quoted += [closed[1], f"{closed[2]}–{closed[3]}"]
    wins = re.search(r"true form in (\d+) of (\d+) seeds, guessed form in (\d+)", out)
    true_wins, seeds, guess_wins = wins.groups()
    quoted += [f"in {true_wins} of {seeds} seeds", f"in {guess_wins} of {seeds} seeds"]
    quoted += re.findall(r"\d+\.\d%", out.splitlines()[-1])
    # The self-check rounds the ladder's two ends to two decimals.
    plain_pr, gbdt_pr = (float(row["pr"][0]) for row in (plain, gbdt))
    quoted += [f"rose from {plain_pr:.2f} for", f"to {gbdt_pr:.2f} for the GBDT"]
    assert_page_quotes(PAGE, *quoted)
