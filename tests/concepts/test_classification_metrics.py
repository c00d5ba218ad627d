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


def test_the_sweep_finds_the_bayes_threshold_on_noisy_labels():
    # With sampled labels the cost curve is flat near its minimum: at cost_fn = 100
    # a threshold at half the Bayes one costs under 1% more here, less than the
    # sweep's own noise, so judging the choice by its cost could not fail. Judge
    # where it lands instead: over 20 samples, log(t / Bayes t) centres on 0 (sd
    # about 0.3 at cost_fn = 100), while a sweep aiming at 2x or 0.5x the Bayes
    # threshold would centre on +-0.69.
    for cost_fn in (1, 10, 100):
        bayes = cm.bayes_threshold(1, cost_fn)
        log_ratios = []
        for seed in range(20):
            rng = np.random.default_rng(seed)
            p = cm.sigmoid(rng.normal(-2, 1.5, size=20_000))
            y = (rng.random(p.size) < p).astype(int)
            t, _ = cm.cost_minimising_threshold(y, p, cost_fp=1, cost_fn=cost_fn)
            log_ratios.append(np.log(t / bayes))
        assert abs(np.mean(log_ratios)) < 0.2, cost_fn


def test_costlier_misses_never_raise_the_sweeps_threshold():
    rng = np.random.default_rng(0)
    p = cm.sigmoid(rng.normal(-2, 1.5, size=20_000))
    y = (rng.random(p.size) < p).astype(int)
    thresholds = [
        cm.cost_minimising_threshold(y, p, cost_fp=1, cost_fn=c)[0]
        for c in (1, 3, 10, 30, 100)
    ]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[0] > 4 * thresholds[-1]


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


def bootstrap_by_resampling(y, p, max_fpr, n_boot, rng):
    """Stratified bootstrap the slow way: resample each class, recompute."""
    pos, neg = p[y == 1], p[y == 0]
    labels = np.r_[np.ones(pos.size, dtype=int), np.zeros(neg.size, dtype=int)]
    return np.array(
        [
            cm.recall_at_fpr(
                labels,
                np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)],
                max_fpr,
            )
            for _ in range(n_boot)
        ]
    )


@pytest.mark.parametrize(
    ("max_fpr", "ties"), [(0.01, False), (0.1, False), (0.1, True)]
)
def test_recall_interval_matches_a_bootstrap_by_resampling(max_fpr, ties):
    y, p = random_case(11, n=3_000, prevalence=0.3, ties=ties)
    recall, low, high = cm.recall_at_fpr_ci(y, p, max_fpr, level=0.9, n_boot=20_000)
    assert recall == cm.recall_at_fpr(y, p, max_fpr)
    slow = bootstrap_by_resampling(y, p, max_fpr, 2_000, np.random.default_rng(0))
    reference = np.quantile(slow, [0.05, 0.95])
    # 2,000 resamples pin a 5% quantile down to about 0.004 here.
    assert low == pytest.approx(reference[0], abs=0.01)
    assert high == pytest.approx(reference[1], abs=0.01)


def test_recall_interval_covers_the_true_recall_at_its_level():
    # Binormal scores: at FPR 10% the true recall is 1 - Phi(z_0.9 - separation).
    rng = np.random.default_rng(6)
    true_recall = stats.norm.sf(stats.norm.ppf(0.9) - 1.0)
    covered = []
    for seed in range(400):
        y = (rng.random(2_000) < 0.3).astype(int)
        p = cm.sigmoid(rng.normal(size=2_000) + 1.0 * y)
        _, low, high = cm.recall_at_fpr_ci(y, p, 0.1, n_boot=1_000, seed=seed)
        covered.append(low <= true_recall <= high)
    # 95% nominal; 400 runs give a standard error of 1.1 points on the coverage.
    assert 0.92 <= np.mean(covered) <= 0.98


def paired_differences_by_hand(y, a, b, n_boot, seed):
    """The paired bootstrap the slow way: the same draws, AP of each resample."""
    rng = np.random.default_rng(seed)
    out = []
    for size in np.diff(np.r_[0:n_boot:250, n_boot]):
        for row in rng.integers(0, y.size, size=(size, y.size)):
            out.append(
                cm.average_precision(y[row], a[row])
                - cm.average_precision(y[row], b[row])
            )
    return np.array(out)


@pytest.mark.parametrize("ties", [False, True])
def test_paired_bootstrap_ap_matches_resampling_by_hand(ties):
    y, a = random_case(12, n=300, ties=ties)
    _, b = random_case(13, n=300, ties=ties)
    b = np.where(y == 1, np.minimum(b + 0.05, 1), b)  # a second model on the same rows
    difference, low, high = cm.paired_bootstrap_ap(y, a, b, n_boot=600, seed=4)
    assert difference == pytest.approx(
        cm.average_precision(y, a) - cm.average_precision(y, b)
    )
    by_hand = paired_differences_by_hand(y, a, b, 600, 4)
    assert (low, high) == pytest.approx(tuple(np.quantile(by_hand, [0.025, 0.975])))


def test_paired_bootstrap_ap_ties_the_same_model_and_separates_a_better_one():
    rng = np.random.default_rng(3)
    y = (rng.random(2_000) < 0.1).astype(int)
    weak = cm.sigmoid(rng.normal(size=y.size) + 0.5 * y)
    strong = cm.sigmoid(rng.normal(size=y.size) + 2.0 * y)
    assert cm.paired_bootstrap_ap(y, weak, weak) == (0.0, 0.0, 0.0)
    _, low, _ = cm.paired_bootstrap_ap(y, strong, weak)
    assert low > 0
    # A negligible change is a tie: the interval straddles zero.
    nudged = np.clip(weak + 1e-3 * rng.normal(size=y.size), 0, 1)
    _, low, high = cm.paired_bootstrap_ap(y, nudged, weak)
    assert low < 0 < high


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
    with pytest.raises(ValueError, match="n_boot"):
        cm.recall_at_fpr_ci([0, 1], [0.3, 0.7], max_fpr=0.1, n_boot=10)
    with pytest.raises(ValueError, match="n_boot"):
        cm.paired_bootstrap_ap([0, 1], [0.3, 0.7], [0.2, 0.6], n_boot=True)
    with pytest.raises(ValueError, match="same length"):
        cm.paired_bootstrap_ap([0, 1], [0.3, 0.7], [0.2])
    with pytest.raises(ValueError, match="level"):
        cm.recall_at_fpr_ci([0, 1], [0.3, 0.7], max_fpr=0.1, level=1.0)


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
    for row in (balanced, rows["10%"], rare):  # each recall interval covers the truth
        assert float(row[6].strip("[,")) <= float(true_recall) <= float(row[7][:-1])
    assert_page_quotes(PAGE, f"{balanced[6]} {balanced[7]}", f"{rare[6]} {rare[7]}")
    hundred = rows["100"]
    assert_page_quotes(PAGE, hundred[2], hundred[3], hundred[4])
    # The cost curve is flat near the optimum at cost_fn = 100: a factor of two in
    # the threshold costs a few percent, far less than at cost_fn = 10.
    extra = {name: float(rows[name][6].strip("+%")) for name in ("10", "100")}
    assert 0 < extra["100"] < extra["10"] / 1.5
    assert_page_quotes(PAGE, *(f"{v.lstrip('+')} more" for v in hundred[6:8]))
    # Flatter below the Bayes threshold than above it, at cost_fn = 100.
    assert float(hundred[7].strip("+%")) < float(hundred[6].strip("+%"))
    assert_page_quotes(PAGE, "flatter below the Bayes threshold than above it")
    # The sweep's own threshold: above Bayes at cost_fn = 100, and cheap in
    # expectation (never below the Bayes cost: the Bayes threshold is optimal).
    assert float(hundred[2]) > float(hundred[1])
    chosen = hundred[5]
    assert chosen.startswith("+") and float(chosen.strip("+%")) < 2
    assert_page_quotes(
        PAGE, f"Bayes threshold ({hundred[1]})", f"{chosen[1:]} more than"
    )


def test_page_explains_why_the_sweep_overshoots_at_cost_100():
    lines = module_output("snippets.concepts.classification_metrics").splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("cost_fn 100:"))
    band = lines[i].split(": ")[1].split()[0]
    expected, drawn = lines[i + 1].split()[0], lines[i + 1].split()[-2]
    n_band, n_drawn, n_expected = (
        int(band.replace(",", "")),
        int(drawn),
        float(expected),
    )
    # Flagging the band costs its negatives, passing it 100 per positive: with the
    # expected positives flagging is cheaper, with the drawn ones passing is.
    assert 100 * n_expected > n_band - n_expected
    assert 100 * n_drawn < n_band - n_drawn
    assert_page_quotes(PAGE, f"lie {band} examples", f"{expected} positives expected")
    assert_page_quotes(PAGE, f"and {drawn} drawn")


def test_interview_tip_threshold_minimises_the_merchants_cost():
    # The page's assumptions per payment of amount A: a missed fraud costs about A;
    # a declined good payment loses the margin on the sale (10%) plus $5 of contact
    # and churn. The policy outcome: on payments whose fraud rate is exactly p (400
    # groups of 400, j frauds in group j), the cheapest decline rule found by the
    # sweep is the page's threshold (the next grid point above it).
    margin, contact = 0.10, 5.0
    grid = np.arange(1, 400) / 400
    p = np.repeat(grid, 400)
    y = np.concatenate([np.r_[np.ones(j), np.zeros(400 - j)] for j in range(1, 400)])
    y = y.astype(int)
    for amount in (100, 1_000):
        cost_fp, cost_fn = contact + margin * amount, amount
        threshold = cm.bayes_threshold(cost_fp, cost_fn)
        best_t, _ = cm.cost_minimising_threshold(y, p, cost_fp, cost_fn)
        assert best_t == grid[grid > threshold + 1e-12].min()
        assert_page_quotes(PAGE, f"p ≈ {threshold:.3f} for a ${amount:,} payment")
    # Both costs grow with A, so the threshold tends to m / (1 + m) for large A.
    limit = cm.bayes_threshold(contact + margin * 1e9, 1e9)
    assert limit == pytest.approx(margin / (1 + margin), abs=1e-6)
    assert_page_quotes(PAGE, f"m / (1 + m) ≈ {margin / (1 + margin):.3f}")
