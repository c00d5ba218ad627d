"""Our classification metrics equal scikit-learn's, and bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
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


@pytest.mark.parametrize("cost_fn", [1, 7, 10, 100])
def test_sweep_lands_on_the_bayes_threshold_when_labels_match_probabilities(cost_fn):
    # 199 groups of 200 examples with p = j/200 and exactly j positives each: the
    # empirical cost curve is the expected one, so the sweep has no noise to hide in.
    # Flagging group j costs (200 - j), passing it costs cost_fn * j, so the best
    # threshold is the smallest p_j strictly above c_fp / (c_fp + c_fn).
    grid = np.arange(1, 200) / 200
    p = np.repeat(grid, 200)
    y = np.concatenate([np.r_[np.ones(j), np.zeros(200 - j)] for j in range(1, 200)])
    best_t, _ = cm.cost_minimising_threshold(y.astype(int), p, 1, cost_fn)
    bayes = cm.bayes_threshold(1, cost_fn)
    assert best_t == grid[grid > bayes + 1e-12].min()


def test_costlier_misses_lower_the_threshold_and_raise_recall():
    rng = np.random.default_rng(0)
    p = cm.sigmoid(rng.normal(-2, 1.5, size=20_000))
    y = (rng.random(p.size) < p).astype(int)

    def expected_cost(t, cost_fn):  # from the true probabilities, not the labels
        return np.mean(np.where(p >= t, 1 - p, cost_fn * p))

    thresholds, recalls = [], []
    for cost_fn in (1, 10, 100):
        t, _ = cm.cost_minimising_threshold(y, p, cost_fp=1, cost_fn=cost_fn)
        thresholds.append(t)
        recalls.append(cm.recall(y, (p >= t).astype(int)))
        # With sampled labels the cost curve is flat near its minimum, so judge the
        # choice by what it costs: within 5% of the Bayes threshold's expected cost
        # (the worst of 300 seeds was 4.4%; a threshold at twice the Bayes one
        # costs 4% to 17% more, at 0.5 up to 16 times more).
        bayes = cm.bayes_threshold(1, cost_fn)
        assert expected_cost(t, cost_fn) <= 1.05 * expected_cost(bayes, cost_fn)
    assert thresholds == sorted(thresholds, reverse=True)
    assert recalls == sorted(recalls)


def delong_by_pairs(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """DeLong's AUC and standard error from the full pair matrix: O(n^2), no ranks."""
    pos, neg = p[y == 1], p[y == 0]
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    per_pos, per_neg = wins.mean(axis=1), wins.mean(axis=0)
    variance = per_pos.var(ddof=1) / pos.size + per_neg.var(ddof=1) / neg.size
    return wins.mean(), np.sqrt(variance)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_delong_interval_matches_the_pairwise_definition(seed, ties):
    y, p = random_case(seed, n=300, ties=ties)
    auc, low, high = cm.roc_auc_ci(y, p, level=0.9)
    reference_auc, std_error = delong_by_pairs(y, p)
    assert auc == pytest.approx(reference_auc)
    z = stats.norm.ppf(0.95)
    assert low == pytest.approx(max(0.0, auc - z * std_error))
    assert high == pytest.approx(min(1.0, auc + z * std_error))


def test_delong_interval_covers_the_true_auc_at_its_level():
    # Binormal scores: the true ROC-AUC is Phi(separation / sqrt(2)) exactly.
    rng = np.random.default_rng(5)
    true_auc = stats.norm.cdf(1.0 / np.sqrt(2))
    covered = []
    for _ in range(400):
        y = (rng.random(200) < 0.3).astype(int)
        y[:2] = [0, 1]
        p = cm.sigmoid(rng.normal(size=200) + 1.0 * y)
        _, low, high = cm.roc_auc_ci(y, p)
        covered.append(low <= true_auc <= high)
    # 95% nominal; 400 runs give a standard error of 1.1 points on the coverage.
    assert 0.92 <= np.mean(covered) <= 0.98


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("max_fpr", [0.0, 0.01, 0.1, 0.5])
def test_recall_at_fpr_matches_sklearns_roc_curve(seed, ties, max_fpr):
    y, p = random_case(seed, ties=ties)
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    assert cm.recall_at_fpr(y, p, max_fpr) == pytest.approx(tpr[fpr <= max_fpr].max())


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
    with pytest.raises(ValueError, match="two of each class"):
        cm.roc_auc_ci([0, 1, 1], [0.3, 0.7, 0.8])
    with pytest.raises(ValueError, match="level"):
        cm.roc_auc_ci([0, 0, 1, 1], [0.3, 0.4, 0.7, 0.8], level=95)
    with pytest.raises(ValueError, match="max_fpr"):
        cm.recall_at_fpr([0, 1], [0.3, 0.7], max_fpr=1.5)
    with pytest.raises(ValueError, match="both classes"):
        cm.recall_at_fpr([1, 1], [0.3, 0.7], max_fpr=0.1)


def output_rows() -> dict[str, list[str]]:
    out = module_output("snippets.concepts.classification_metrics")
    return {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}


def test_page_quotes_the_numbers_the_code_prints():
    rows = output_rows()
    balanced, rare = rows["50%"], rows["1%"]
    true_auc = rows["true"][2].rstrip(",")
    # ROC-AUC barely moves with prevalence, PR-AUC collapses: the page says so in prose.
    for row in (balanced, rows["10%"], rare):
        low, high = float(row[2].strip("[,")), float(row[3].rstrip("]"))
        assert low <= float(true_auc) <= high  # each interval covers the truth
    assert float(rare[4]) < float(balanced[4]) / 5
    assert_page_quotes(PAGE, true_auc, balanced[1], rare[1], balanced[4], rare[4])
    for row in (balanced, rare):
        assert_page_quotes(PAGE, f"interval {row[2]} {row[3]}")
    width = {
        name: float(row[3].rstrip("]")) - float(row[2].strip("[,"))
        for name, row in (("balanced", balanced), ("rare", rare))
    }
    assert round(width["rare"] / width["balanced"]) == 5
    assert_page_quotes(PAGE, "about five times")
    recalls = [float(rows[r][5]) for r in ("50%", "10%", "1%")]
    true_recall = rows["true"][-1]
    assert_page_quotes(PAGE, f"{min(recalls):.3f} to {max(recalls):.3f}", true_recall)
    hundred = rows["100"]
    assert_page_quotes(PAGE, hundred[2], hundred[3], hundred[4])


def test_interview_tip_threshold_is_the_bayes_threshold_per_amount():
    # "$5 per blocked good payment; a missed fraud costs its amount" -> 5 / (5 + A).
    for amount, quoted in ((100, "0.048"), (1_000, "0.005")):
        threshold = cm.bayes_threshold(cost_fp=5, cost_fn=amount)
        assert f"{threshold:.3f}" == quoted
        assert_page_quotes(PAGE, f"p ≈ {quoted} for a ${amount:,} payment")
