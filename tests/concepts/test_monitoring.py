"""The chi-square drift test equals SciPy's; BBSE recovers a shifted class prior."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snippets.concepts import monitoring as cmon

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
    r = cmon._label_shift_demo()
    same, new_app = cmon._device_drift_demo().values()
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
