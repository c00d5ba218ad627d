"""Our classification metrics equal scikit-learn's, and bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from snippets.concepts import classification_metrics as cm

PAGE = "concepts/classification-metrics.md"


def random_case(seed: int, n: int = 500, prevalence: float = 0.2, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    y[:2] = [0, 1]  # both classes present
    p = cm.sigmoid(rng.normal(size=n) + 1.2 * y)
    if ties:
        p = np.round(p, 1)  # many tied scores: the hard case for AUC and AP
    return y, p


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_metrics_match_sklearn_on_random_data(seed, ties):
    y, p = random_case(seed, ties=ties)
    pred = (p >= 0.5).astype(int)
    assert cm.precision(y, pred) == pytest.approx(skm.precision_score(y, pred))
    assert cm.recall(y, pred) == pytest.approx(skm.recall_score(y, pred))
    assert cm.f1(y, pred) == pytest.approx(skm.f1_score(y, pred))
    assert cm.roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p))
    assert cm.average_precision(y, p) == pytest.approx(
        skm.average_precision_score(y, p)
    )
    assert cm.log_loss(y, p) == pytest.approx(skm.log_loss(y, p))
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert cm.confusion(y, pred) == cm.Confusion(tp=tp, fp=fp, fn=fn, tn=tn)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: len({label for label, _ in rows}) == 2)
)
def test_auc_and_ap_match_sklearn_for_any_input(rows):
    y = np.array([label for label, _ in rows])
    p = np.array([score for _, score in rows])
    assert cm.roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p))
    assert cm.average_precision(y, p) == pytest.approx(
        skm.average_precision_score(y, p)
    )


def test_edge_cases_match_sklearn_zero_division():
    y = np.array([0, 0, 1, 1])
    nothing_flagged = np.zeros(4, dtype=int)
    assert cm.precision(y, nothing_flagged) == skm.precision_score(
        y, nothing_flagged, zero_division=0
    )
    assert cm.f1(y, nothing_flagged) == 0.0
    assert cm.log_loss([1, 0], [1.0, 0.0]) == pytest.approx(
        skm.log_loss([1, 0], [1.0, 0.0])
    )


def test_cost_sweep_agrees_with_brute_force():
    y, p = random_case(3, n=300, ties=True)
    best_t, best_cost = cm.cost_minimising_threshold(y, p, cost_fp=1, cost_fn=7)
    brute = min(cm.expected_cost(y, p, t, 1, 7) for t in [*np.unique(p), np.inf])
    assert best_cost == pytest.approx(brute)
    assert cm.expected_cost(y, p, best_t, 1, 7) == pytest.approx(best_cost)


def test_costlier_misses_lower_the_threshold_and_raise_recall():
    rng = np.random.default_rng(0)
    p = cm.sigmoid(rng.normal(-2, 1.5, size=20_000))
    y = (rng.random(p.size) < p).astype(int)
    thresholds, recalls = [], []
    for cost_fn in (1, 10, 100):
        t, _ = cm.cost_minimising_threshold(y, p, cost_fp=1, cost_fn=cost_fn)
        thresholds.append(t)
        recalls.append(cm.recall(y, (p >= t).astype(int)))
        # Calibrated scores: the empirical optimum sits near the Bayes threshold.
        assert t == pytest.approx(cm.bayes_threshold(1, cost_fn), abs=0.06)
    assert thresholds == sorted(thresholds, reverse=True)
    assert recalls == sorted(recalls)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1, 1], [0.2, 0.4], "same length"),
        ([], [], "empty"),
        ([0, 2], [0.1, 0.2], "only 0 and 1"),
        ([0, 1], [0.1, 1.2], r"in \[0, 1\]"),
        ([0, 1], [-0.1, 0.5], r"in \[0, 1\]"),
        ([0, 1], [np.nan, 0.5], "NaN"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_bad_input_raises_a_clear_error(y, p, message):
    with pytest.raises(ValueError, match=message):
        cm.roc_auc(y, p)


def test_other_invalid_calls():
    with pytest.raises(ValueError, match="hard 0/1"):
        cm.precision([0, 1], [0.3, 0.7])
    with pytest.raises(ValueError, match="one positive and one negative"):
        cm.roc_auc([1, 1], [0.3, 0.7])
    with pytest.raises(ValueError, match="at least one positive"):
        cm.average_precision([0, 0], [0.3, 0.7])
    with pytest.raises(ValueError, match="non-negative"):
        cm.cost_minimising_threshold([0, 1], [0.3, 0.7], cost_fp=-1, cost_fn=1)
    with pytest.raises(ValueError, match="positive"):
        cm.bayes_threshold(0, 1)


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.classification_metrics")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    balanced, rare = rows["50%"], rows["1%"]
    # ROC-AUC barely moves with prevalence, PR-AUC collapses: the page says so in prose.
    assert abs(float(balanced[1]) - float(rare[1])) < 0.01
    assert float(rare[2]) < float(balanced[2]) / 5
    assert_page_quotes(PAGE, balanced[1], balanced[2], rare[1], rare[2])
    hundred = rows["100"]
    assert_page_quotes(PAGE, hundred[2], hundred[3], hundred[4])


def test_interview_tip_threshold_is_the_bayes_threshold():
    # "$5 per blocked good payment, $100 per missed fraud" -> block above p = 0.048
    assert f"{cm.bayes_threshold(cost_fp=5, cost_fn=100):.3f}" == "0.048"
    assert_page_quotes(PAGE, "p ≈ 0.048", "c~fn~ / c~fp~ ≈ 20")
