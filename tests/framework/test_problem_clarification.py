"""Costs of errors set the threshold: checked against scikit-learn and brute force."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy import integrate, stats
from sklearn import metrics as skm

from snippets.concepts.classification_metrics import expected_cost
from snippets.framework import problem_clarification as pc

PAGE = "framework/problem-clarification.md"
RATIOS = [1 / 20, 1 / 5, 1, 5, 20]


@pytest.fixture(scope="module")
def validation():
    return pc.calibrated_validation_set(20_000, np.random.default_rng(3))


def test_operating_point_matches_sklearn_and_brute_force(validation):
    y, p = validation
    point = pc.operating_point(y, p, cost_fp=1, cost_fn=7)
    flagged = (p >= point.threshold).astype(int)
    assert point.precision == pytest.approx(skm.precision_score(y, flagged))
    assert point.recall == pytest.approx(skm.recall_score(y, flagged))
    assert point.flagged_share == pytest.approx(flagged.mean())
    # No threshold on a coarse grid does better than the chosen one.
    grid = np.linspace(0, 1, 201)
    assert point.cost_per_example <= min(expected_cost(y, p, t, 1, 7) for t in grid)


def test_costlier_misses_trade_precision_for_recall(validation):
    y, p = validation
    points = pc.sweep_cost_ratios(y, p, RATIOS)
    thresholds = [pt.threshold for pt in points]
    recalls = [pt.recall for pt in points]
    precisions = [pt.precision for pt in points]
    assert thresholds == sorted(thresholds, reverse=True)
    assert recalls == sorted(recalls)
    assert precisions == sorted(precisions, reverse=True)
    # The two ends of the table flip which metric is high.
    assert precisions[0] > 0.9 > recalls[0]
    assert recalls[-1] > 0.9 > precisions[-1]


@pytest.mark.parametrize("ratio", RATIOS)
def test_empirical_threshold_sits_near_bayes_for_calibrated_scores(validation, ratio):
    y, p = validation
    point = pc.operating_point(y, p, cost_fp=1, cost_fn=ratio)
    assert point.bayes_threshold == pytest.approx(1 / (1 + ratio))
    assert point.threshold == pytest.approx(point.bayes_threshold, abs=0.05)


@pytest.mark.parametrize("scenario", [pc.SPAM_FILTER, pc.CANCER_SCREEN])
def test_default_threshold_costs_more_when_errors_are_unequal(validation, scenario):
    y, p = validation
    at_half, at_best = pc.cost_of_default_threshold(y, p, scenario)
    assert at_best < at_half / 2


def test_only_the_ratio_of_costs_moves_the_threshold(validation):
    y, p = validation
    small = pc.operating_point(y, p, cost_fp=1, cost_fn=4)
    large = pc.operating_point(y, p, cost_fp=250, cost_fn=1000)
    assert small.threshold == large.threshold
    assert large.cost_per_example == pytest.approx(250 * small.cost_per_example)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cost_fp": 0, "cost_fn": 1}, ValueError, "cost_fp must be positive"),
        ({"cost_fp": 1, "cost_fn": -2}, ValueError, "cost_fn must be positive"),
        ({"cost_fp": 1, "cost_fn": float("inf")}, ValueError, "finite"),
        ({"cost_fp": "1", "cost_fn": 1}, TypeError, "cost_fp must be a number"),
    ],
)
def test_bad_costs_raise_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        pc.operating_point([0, 1], [0.2, 0.8], **kwargs)


def test_bad_scores_and_ratios_raise_a_clear_error():
    with pytest.raises(ValueError, match="same length"):
        pc.operating_point([0, 1, 1], [0.2, 0.8], 1, 1)
    with pytest.raises(ValueError, match="ratios is empty"):
        pc.sweep_cost_ratios([0, 1], [0.2, 0.8], [])
    with pytest.raises(ValueError, match="cost_fn must be positive"):
        pc.sweep_cost_ratios([0, 1], [0.2, 0.8], [1, 0])


def test_threshold_for_recall_matches_sklearn(validation):
    y, p = validation
    _, recalls, thresholds = skm.precision_recall_curve(y, p)
    for target in (0.1, 0.5, 0.869, 0.99, 1.0):
        expected = thresholds[recalls[:-1] >= target].max()
        t = pc.threshold_for_recall(y, p, target)
        assert t == pytest.approx(expected)
        assert skm.recall_score(y, (p >= t).astype(int)) >= target


def test_logit_mean_hits_the_prevalence_by_independent_integration():
    for prevalence, sd in ((0.0059, 2.5), (0.3, 1.0), (0.9, 3.0)):
        mean = pc.logit_mean_for_prevalence(prevalence, sd)
        integral, _ = integrate.quad(
            lambda z, m=mean, s=sd: stats.norm.pdf(z) / (1 + np.exp(-(m + s * z))),
            -12,
            12,
        )
        assert integral == pytest.approx(prevalence, rel=1e-6)


def test_screening_set_has_the_benchmark_prevalence():
    y, p = pc.screening_set(200_000, seed=7)
    se = np.sqrt(pc.SCREEN_PREVALENCE * (1 - pc.SCREEN_PREVALENCE) / y.size)
    assert abs(y.mean() - pc.SCREEN_PREVALENCE) < 5 * se
    assert abs(p.mean() - pc.SCREEN_PREVALENCE) < 5 * se  # calibrated on average


def test_prevalence_alone_cuts_recall_and_a_wider_spread_restores_some():
    # Ablation: at one cost ratio, change the prevalence with the spread held at 2.0,
    # then the spread. Recomputed here with scikit-learn's recall on the flags.
    recalls = {}
    for name, (prevalence, sd) in {
        "rare, sd 2.0": (pc.SCREEN_PREVALENCE, 2.0),
        "rare, sd 2.5": (pc.SCREEN_PREVALENCE, 2.5),
    }.items():
        y, p = pc.screening_set(200_000, seed=11, logit_sd=sd)
        assert abs(y.mean() - prevalence) < 0.001
        point = pc.operating_point(y, p, 1, 20)
        recalls[name] = skm.recall_score(y, (p >= point.threshold).astype(int))
    y, p = pc.calibrated_validation_set(40_000, np.random.default_rng(11))
    common = pc.operating_point(y, p, 1, 20).recall
    assert recalls["rare, sd 2.0"] < common - 0.3
    assert recalls["rare, sd 2.0"] < recalls["rare, sd 2.5"] < common


def test_the_same_cost_ratio_catches_less_at_low_prevalence(validation):
    y, p = validation
    common = pc.operating_point(y, p, 1, 20)
    ys, ps = pc.screening_set(200_000, seed=1)
    rare = pc.operating_point(ys, ps, 1, 20)
    assert rare.threshold == pytest.approx(common.threshold, abs=0.02)
    assert rare.recall < common.recall - 0.2
    assert rare.precision < common.precision


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: pc.threshold_for_recall([0, 1], [0.2, 0.8], 0), ValueError, "(0, 1]"),
        (lambda: pc.threshold_for_recall([0, 1], [0.2, 0.8], "1"), TypeError, "number"),
        (
            lambda: pc.threshold_for_recall([0, 0], [0.2, 0.8], 0.5),
            ValueError,
            "no pos",
        ),
        (lambda: pc.logit_mean_for_prevalence(1.0, 2.0), ValueError, "prevalence"),
    ],
)
def test_bad_recall_targets_and_prevalences_raise(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def _after(label: str, text: str) -> list[str]:
    line = next(row for row in text.splitlines() if row.lstrip().startswith(label))
    return line.lstrip()[len(label) :].split()


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.problem_clarification")
    sweep = {row.split()[0]: row.split() for row in out.splitlines()[2:7]}
    y, p = pc.calibrated_validation_set(40_000, np.random.default_rng(2024))
    for label, ratio in (("1/20", Fraction(1, 20)), ("20", Fraction(20))):
        point = pc.operating_point(y, p, 1.0, float(ratio))
        shown = [f"{point.threshold:.3f}", f"{point.precision:.3f}"]
        shown += [f"{point.recall:.3f}"]
        assert sweep[label][2:5] == shown
        assert_page_quotes(PAGE, *shown)
    spam = _after("spam filter", out)
    screen = _after("cancer screen", out)
    ys, ps = pc.screening_set(200_000, seed=0)
    best = pc.operating_point(ys, ps, 1, 20)
    assert screen[3:6] == [
        f"{best.threshold:.3f}",
        f"{best.precision:.3f}",
        f"{best.recall:.3f}",
    ]
    seeds = out.split("Over seeds")[1]
    spreads = [_after(name, seeds)[0] for name in ("spam filter", "cancer screen")]
    t = pc.threshold_for_recall(ys, ps, pc.BENCHMARK_RECALL)
    flagged = ps >= t
    recall_line = [
        f"{t:.4f}",
        f"{flagged.mean():.1%}",
        f"{ys[flagged].mean():.3f}",
        f"{(1 - t) / t:.0f} false alarms",
    ]
    assert all(number in out for number in recall_line)
    ablation = out.split("prevalence and spread apart")[1].splitlines()[2:5]
    sweep_recall, rare_recall, screen_recall = (row.split()[-2] for row in ablation)
    low = [float(cell.split("-")[0]) for cell in (sweep_recall, rare_recall)]
    assert low[1] < low[0] - 0.3
    assert_page_quotes(
        PAGE,
        f"from {sweep_recall} to {rare_recall}",
        f"back to {screen_recall}",
        *spam[7:9],
        screen[0],
        *screen[4:9],
        *spreads,
        *recall_line[:3],
        "as " + recall_line[3],
    )
