"""The chi-square drift test equals SciPy's; BBSE recovers a shifted class prior."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snippets.concepts import monitoring as cmon
from snippets.framework.monitoring import psi

PAGE = "concepts/monitoring.md"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), min_size=1, max_size=60),
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=60),
)
def test_chi_square_matches_scipy_contingency(reference, current):
    categories, table = cmon.category_counts(reference, current)
    if len(categories) < 2:
        return  # covered by the bad-input test
    statistic, dof, p = cmon.chi_square_drift(reference, current)
    expected = stats.chi2_contingency(table, correction=False)
    assert statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert dof == expected.dof
    assert p == pytest.approx(expected.pvalue, abs=1e-12)


def test_chi_square_flags_a_new_category_not_noise():
    rng = np.random.default_rng(5)
    reference = rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2])
    noise = rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2])
    shifted = rng.choice(["a", "b", "c", "d"], 5000, p=[0.45, 0.3, 0.2, 0.05])
    assert cmon.chi_square_drift(reference, noise)[2] > 0.01
    assert cmon.chi_square_drift(reference, shifted)[2] < 1e-10


def test_bbse_is_exact_with_population_confusion_matrix():
    # Population quantities in, population answer out: P(pred | y) is fixed.
    p_pred_given_y = np.array([[0.9, 0.3], [0.1, 0.7]])  # columns: true class
    source_prior, target_prior = np.array([0.9, 0.1]), np.array([0.6, 0.4])
    n = 10_000
    y_s = np.repeat(
        [0, 0, 1, 1], (p_pred_given_y * source_prior * n).T.ravel().round().astype(int)
    )
    pred_s = np.repeat(
        [0, 1, 0, 1], (p_pred_given_y * source_prior * n).T.ravel().round().astype(int)
    )
    target_pred_counts = (p_pred_given_y @ target_prior * n).round().astype(int)
    pred_t = np.repeat([0, 1], target_pred_counts)
    estimate = cmon.bbse_class_prior(y_s, pred_s, pred_t)
    np.testing.assert_allclose(estimate, target_prior, atol=1e-9)


def test_bbse_beats_the_share_of_flagged_examples():
    rng = np.random.default_rng(11)

    def sample(n, prevalence):
        y = (rng.random(n) < prevalence).astype(int)
        return y, (rng.normal(1.5 * y, 1.0) > 1.0).astype(int)

    y_s, pred_s = sample(20_000, 0.05)
    y_t, pred_t = sample(20_000, 0.3)
    estimate = cmon.bbse_class_prior(y_s, pred_s, pred_t)[1]
    assert abs(estimate - y_t.mean()) < 0.03
    assert abs(estimate - y_t.mean()) < abs(pred_t.mean() - y_t.mean())


def test_bbse_error_is_small_on_every_seed_and_smaller_than_the_flagged_share():
    runs = [cmon.label_shift_demo(seed) for seed in range(10)]
    bbse = [abs(r["bbse"] - r["true"]) for r in runs]
    flagged = [abs(r["flagged"] - r["true"]) for r in runs]
    assert max(bbse) < 0.03
    assert max(bbse) < min(flagged)  # on every seed, not just on average


def test_page_states_the_label_shift_rule_rates_of_the_demo():
    # The demo's rule flags N(SCORE_GAP * y, 1) above FLAG_ABOVE; SciPy gives its rates.
    tpr = stats.norm.sf(cmon.FLAG_ABOVE - cmon.SCORE_GAP)
    fpr = stats.norm.sf(cmon.FLAG_ABOVE)
    r = cmon.label_shift_demo()
    expected_flagged = r["source"] * tpr + (1 - r["source"]) * fpr
    assert abs(r["flagged_source"] - expected_flagged) < 0.01
    assert_page_quotes(
        PAGE,
        f"N({cmon.SCORE_GAP:g}y, 1) and flagged above {cmon.FLAG_ABOVE:.1f}",
        f"true-positive rate of {tpr:.2f}",
        f"false-positive rate of {fpr:.2f}",
        f"TPR − FPR = {tpr - fpr:.2f}",
    )


def test_no_drift_psi_simulation_matches_the_framework_psi_on_raw_samples():
    rng = np.random.default_rng(8)
    ours = cmon.psi_under_no_drift(2_000, 200, rng, n_windows=4_000)
    theirs = np.array(
        [psi(rng.normal(size=2_000), rng.normal(size=200)) for _ in range(1_000)]
    )
    # Same distribution: the means agree within four standard errors...
    se = np.sqrt(ours.var() / ours.size + theirs.var() / theirs.size)
    assert abs(ours.mean() - theirs.mean()) < 4 * se
    # ...and so does the whole distribution, and the false-alarm rate at 0.1.
    assert stats.ks_2samp(ours, theirs).pvalue > 0.001
    rate_se = np.sqrt(0.04 * 0.96 / theirs.size)
    assert abs(np.mean(ours > 0.1) - np.mean(theirs > 0.1)) < 4 * rate_se
    assert ours.mean() == pytest.approx(9 * (1 / 2_000 + 1 / 200), rel=0.1)


def test_psi_noise_shrinks_with_the_window():
    rng = np.random.default_rng(9)
    small, large = (
        cmon.psi_under_no_drift(2_000, m, rng, n_windows=500) for m in (200, 5_000)
    )
    assert np.mean(small > 0.1) > 0.01 and np.mean(large > 0.1) == 0
    with pytest.raises(ValueError, match="two bins"):
        cmon.psi_under_no_drift(100, 100, rng, n_bins=1)


def test_concept_drift_is_invisible_to_input_tests_and_visible_in_pr_auc():
    drifted = cmon.concept_drift_rare_positives(seed=7)
    assert drifted["min_input_ks_p"] > 0.001 and drifted["score_ks_p"] > 0.001
    assert 0.01 < drifted["prevalence"] < 0.06  # rare positives
    assert drifted["pr_auc_before"] - drifted["pr_auc_after"] > 0.3
    assert drifted["precision_after"] < drifted["precision_before"] / 2
    # Ablation: the same world without the drift keeps its PR-AUC.
    stable = cmon.concept_drift_rare_positives(seed=7, drift=False)
    assert abs(stable["pr_auc_before"] - stable["pr_auc_after"]) < 0.05


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="at least one observation"):
        cmon.chi_square_drift([], ["a"])
    with pytest.raises(ValueError, match="two categories"):
        cmon.chi_square_drift(["a", "a"], ["a"])
    with pytest.raises(ValueError, match="singular"):
        cmon.bbse_class_prior([0, 1, 0, 1], [0, 0, 0, 0], [0, 1])
    with pytest.raises(TypeError, match="integer"):
        cmon.bbse_class_prior([0.0, 1.0], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="outside"):
        cmon.bbse_class_prior([0, 2], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="one length"):
        cmon.bbse_class_prior([0, 1, 1], [0, 1], [0, 1])


def test_page_quotes_the_numbers_the_code_prints():
    r = cmon.label_shift_demo()
    same, new_app = cmon.device_drift_demo().values()
    output = module_output("snippets.concepts.monitoring")
    assert f"{r['bbse']:.3f}" in output
    assert_page_quotes(
        PAGE,
        f"{r['source']:.3f}",
        f"{r['flagged_source']:.3f}",
        f"{r['flagged']:.3f}",
        f"{r['bbse']:.3f}",
        f"{r['true']:.3f}",
        f"{same[2]:.2g}",
        f"{new_app[0]:.1f}",
        f"from {r['flagged_source']:.0%} to {r['flagged']:.0%}",
        f"{r['flagged']:.1%} are flagged",
        f"BBSE estimates {r['bbse']:.1%}",
        f"true rate is {r['true']:.1%}",
    )
    lines = output.splitlines()
    bbse_spread = next(x for x in lines if "|BBSE - true|" in x).split()[-3::2]
    flag_spread = next(x for x in lines if "|flagged - true|" in x).split()[-3::2]
    assert float(bbse_spread[1]) < float(flag_spread[0])
    assert_page_quotes(PAGE, "off by {} to {}".format(*bbse_spread))
    assert_page_quotes(PAGE, "flagged share by {} to {}".format(*flag_spread))
    start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("window"))
    psi_rows = {row.split()[0]: row.split() for row in lines[start + 1 : start + 4]}
    mean_200, approx_200, alarm_200 = psi_rows["200"][1:4]
    assert float(alarm_200.rstrip("%")) > 1  # far from negligible
    assert_page_quotes(PAGE, f"200-row windows, {alarm_200} of windows")
    assert_page_quotes(
        PAGE, f"average {mean_200} (the approximation gives {approx_200})"
    )
    assert_page_quotes(PAGE, f"{alarm_200} of them cross 0.1")
    assert_page_quotes(
        PAGE, f"mean is {psi_rows['1,000'][1]} and {psi_rows['1,000'][3]} cross"
    )
    framework = module_output("snippets.framework.monitoring")
    reference = framework.split("reference: ")[1].split()[0]
    tiny = next(x for x in framework.splitlines() if x.startswith("0.03 sd shift"))
    big_n, tiny_psi, tiny_p = (
        tiny.split("n=")[1].split()[0],
        tiny.split()[-3],
        tiny.split()[-1],
    )
    assert int(big_n.replace(",", "")) > 10 * int(reference.replace(",", ""))
    assert_page_quotes(PAGE, f"{reference}-row reference with {big_n} current")
    assert_page_quotes(
        PAGE, f"below {reference}", f"PSI {tiny_psi}", f"KS p = {tiny_p}"
    )
    concept = output.split("Concept drift")[1].splitlines()
    prevalence = concept[0].split("(")[1].split()[0]
    ks_inputs, ks_scores = concept[1].split()[-1], concept[2].split()[-1]
    assert float(ks_inputs) > 0.01 and float(ks_scores) > 0.01
    pr_auc, prec, rec = (line.split()[-3::2] for line in concept[3:6])
    drop = concept[6].split(": ")[1].split(" to ")
    assert float(drop[0]) > 0.3
    assert_page_quotes(PAGE, f"({prevalence} of", f"{ks_inputs} on the inputs")
    assert_page_quotes(PAGE, f"{ks_scores} on the scores")
    assert_page_quotes(PAGE, "PR-AUC falls from {} to {}".format(*pr_auc))
    assert_page_quotes(PAGE, "precision falls from {} to {}".format(*prec))
    assert_page_quotes(PAGE, "recall from {} to {}".format(*rec))
    assert_page_quotes(PAGE, "drops by {} to {}".format(*drop))
    # The ablation: without the drift, PR-AUC holds in the same worlds.
    stable = concept[7].split("PR-AUC ")[1].split(" -> ")
    stable_drop = concept[8].split(": ")[1].split(" to ")
    assert abs(float(stable[0]) - float(stable[1])) < 0.05
    assert max(abs(float(x)) for x in stable_drop) < 0.05 < float(drop[0])
    assert_page_quotes(PAGE, "PR-AUC then goes from {} to {}".format(*stable))
    assert_page_quotes(PAGE, "five others is\n{} to {}".format(*stable_drop))
