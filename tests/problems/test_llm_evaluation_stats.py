"""The statistics of the LLM evaluation miniature, against reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

from snippets.common.stats import paired_interval
from snippets.problems import llm_evaluation_stats as st


def graders(seed: int, n: int = 300, offset: int = 0):
    """Two raters on a 1-5 scale who agree often, the second shifted by offset."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, n)
    noisy = np.clip(truth + rng.integers(-1, 2, n) + offset, 1, 5)
    return truth, noisy


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_weighted_kappa_matches_scikit_learn(seed, weights):
    a, b = graders(seed, offset=seed % 2)
    ours = st.weighted_kappa(a, b, weights)
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)
    labels = [1, 2, 3, 4, 5]
    assert st.weighted_kappa(a, b, weights, labels) == pytest.approx(
        cohen_kappa_score(a, b, weights=weights, labels=labels), abs=1e-12
    )


def test_kappa_with_a_missing_grade_uses_the_scale_given():
    """Grades 1, 2, 4, 5 only: by default 2 -> 4 counts as one step, on the
    1-5 scale as two (as scikit-learn does with the same labels)."""
    a = np.array([1, 2, 4, 5, 2, 4, 1, 5])
    b = np.array([1, 4, 4, 5, 2, 2, 2, 5])
    scale = [1, 2, 3, 4, 5]
    assert st.weighted_kappa(a, b, "linear") != pytest.approx(
        st.weighted_kappa(a, b, "linear", scale)
    )
    assert st.weighted_kappa(a, b, "linear", scale) == pytest.approx(
        cohen_kappa_score(a, b, weights="linear", labels=scale)
    )


@pytest.mark.parametrize("seed", range(4))
def test_quadratic_kappa_is_the_closed_form_the_page_gives(seed):
    """kappa_q = 2 s_hj / (s_h^2 + s_j^2 + (mean_h - mean_j)^2), population moments."""
    h, j = graders(seed, offset=1)
    closed = 2 * np.cov(h, j, ddof=0)[0, 1]
    closed /= h.var() + j.var() + (h.mean() - j.mean()) ** 2
    assert st.weighted_kappa(h, j, "quadratic") == pytest.approx(closed, abs=1e-12)
    assert st.weighted_kappa(h, j, "quadratic") <= stats.pearsonr(h, j)[0]


def test_an_offset_costs_kappa_more_than_correlation():
    h, j = graders(0)
    shifted = np.minimum(j + 1, 5)
    kappa_drop = st.weighted_kappa(h, j) - st.weighted_kappa(h, shifted)
    r_drop = stats.pearsonr(h, j)[0] - stats.pearsonr(h, shifted)[0]
    assert kappa_drop > 2 * r_drop > 0


def test_agreement_bootstrap_full_sample_matches_references():
    h, j = graders(3, offset=1)
    boot = st.agreement_bootstrap(h, {"j": j}, np.random.default_rng(0), 200)["j"]
    assert boot["exact"][0] == pytest.approx(np.mean(h == j))
    assert boot["offset"][0] == pytest.approx(j.mean() - h.mean())
    assert boot["pearson"][0] == pytest.approx(stats.pearsonr(h, j)[0])
    for weights in ("linear", "quadratic"):
        expected = cohen_kappa_score(h, j, weights=weights, labels=[1, 2, 3, 4, 5])
        assert boot[weights][0] == pytest.approx(expected)
    assert all(len(v) == 201 for v in boot.values())


def test_each_resample_equals_the_statistics_on_the_drawn_items():
    """Replicate a resample by repeating items explicitly (an independent route)."""
    h, j = graders(5)
    rng = np.random.default_rng(11)
    boot = st.agreement_bootstrap(h, {"j": j}, rng, 100)["j"]
    counts = st._resample_counts(np.random.default_rng(11), h.size, 100)
    for r in (0, 17, 99):
        hh, jj = np.repeat(h, counts[r]), np.repeat(j, counts[r])
        assert boot["quadratic"][r + 1] == pytest.approx(
            cohen_kappa_score(hh, jj, weights="quadratic", labels=[1, 2, 3, 4, 5])
        )
        assert boot["pearson"][r + 1] == pytest.approx(stats.pearsonr(hh, jj)[0])


def test_graders_share_resamples_so_differences_are_paired():
    h, j = graders(1)
    boot = st.agreement_bootstrap(h, {"a": j, "b": j}, np.random.default_rng(2), 150)
    assert np.array_equal(boot["a"]["quadratic"], boot["b"]["quadratic"])
    point, low, high = st.interval(boot["a"]["quadratic"] - boot["b"]["quadratic"])
    assert point == low == high == 0


def test_interval_is_a_percentile_interval_over_the_resamples():
    values = np.r_[0.5, np.linspace(0, 1, 1001)]
    point, low, high = st.interval(values, 0.9)
    assert (point, low, high) == pytest.approx((0.5, 0.05, 0.95))


def test_grade_map_undoes_an_offset_where_grades_are_not_merged():
    h = np.repeat([1, 2, 3, 4, 5], [20, 20, 20, 20, 10])
    table = st.grade_map(np.minimum(h + 1, 5), h)
    assert [table[g] for g in (2, 3, 4)] == [1, 2, 3]
    assert table[5] == 4  # 4s and 5s merged: the median of 20 fours and 10 fives
    assert table[1] == 1  # never given by the judge
    halves = np.repeat([4, 5], 20)  # a median of 4.5 rounds up
    assert st.grade_map(np.full(40, 5), halves)[5] == 5


def test_win_rates_from_both_orders_on_a_hand_built_case():
    # Pair 0: B wins both calls. Pair 1: the first slot wins both calls (a flip,
    # half a win for B). Pairs 2 and 3: A wins both calls. B: 3 wins of 8 calls.
    b_second = np.array([True, False, False, False])
    b_first = np.array([True, True, False, False])
    rates = st.win_rate_both_orders(b_second, b_first)
    assert rates["both orders"] == pytest.approx(3 / 8)
    assert rates["consistent"] == pytest.approx(3 / 4)
    first_slot_wins = (np.sum(~b_second) + np.sum(b_first)) / 8
    assert rates["first slot wins"] == pytest.approx(first_slot_wins) == 5 / 8
    assert rates["b second only"] == 0.25 and rates["b first only"] == 0.5


def test_bootstrap_means_have_the_row_resampling_distribution():
    """Multinomial counts over distinct values against drawing rows explicitly."""
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, 200).astype(float)
    ours = st.bootstrap_means(x, np.random.default_rng(1), 20_000)
    rows = x[np.random.default_rng(2).integers(0, x.size, (20_000, x.size))]
    rows = rows.mean(axis=1)
    assert ours.mean() == pytest.approx(x.mean(), abs=0.005)
    assert ours.std() == pytest.approx(x.std() / np.sqrt(x.size), rel=0.03)
    assert stats.ks_2samp(ours, rows).pvalue > 0.01


def test_paired_bootstrap_matches_the_t_interval_and_unpaired_is_wider():
    rng = np.random.default_rng(4)
    difficulty = rng.normal(0, 1, 400)
    a = difficulty + rng.normal(0, 0.5, 400)
    b = difficulty + 0.1 + rng.normal(0, 0.5, 400)
    diff, low, high = st.bootstrap_difference(a, b, np.random.default_rng(5))
    t_mean, t_low, t_high = paired_interval(b - a)
    assert diff == pytest.approx(t_mean)
    assert (low, high) == pytest.approx((t_low, t_high), abs=0.01)
    _, u_low, u_high = st.bootstrap_difference(
        a, b, np.random.default_rng(6), paired=False
    )
    half = 1.96 * np.sqrt(a.var() / a.size + b.var() / b.size)
    assert (u_high - u_low) / 2 == pytest.approx(half, rel=0.1)
    assert u_high - u_low > 2 * (high - low)


def test_logistic_fit_matches_unpenalised_scikit_learn():
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, (500, 2))
    y = rng.random(500) < 1 / (1 + np.exp(-(0.3 + x @ [1.0, -0.5])))
    ours = st.logistic_fit(x, y)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(x, y)
    assert ours == pytest.approx(np.r_[ref.intercept_, ref.coef_[0]], abs=1e-5)


def test_length_control_removes_a_pure_length_effect():
    """Equal quality, B longer, a judge that likes length: raw win rate > 0.5,
    length-controlled back near 0.5."""
    rng = np.random.default_rng(9)
    n = 4000
    len_a = rng.normal(5.0, 0.3, n)
    len_b = len_a + 0.5 + rng.normal(0, 0.3, n)
    gap = len_b - len_a

    def calls(sign):
        p = 1 / (1 + np.exp(-(sign * 0.4 + 1.5 * gap)))
        return rng.random(n) < p

    b_first, b_second = calls(+1), calls(-1)
    raw = st.win_rate_both_orders(b_second, b_first)["both orders"]
    controlled = st.length_controlled_win_rate(b_second, b_first, len_a, len_b)
    assert raw > 0.6
    assert controlled == pytest.approx(0.5, abs=0.04)


def test_lower_bounds_match_paired_interval_at_90_percent():
    rng = np.random.default_rng(12)
    d = rng.normal(0.1, 1, (3, 4, 50))
    bounds = st.lower_bounds(d)
    for i in range(3):
        for k in range(4):
            assert bounds[i, k] == pytest.approx(paired_interval(d[i, k], 0.90)[1])


def test_gates_on_hand_built_differences_against_scipy():
    rng = np.random.default_rng(13)
    d = rng.normal(0.0, 1.0, (200, 3, 60))
    d[:, 0] -= 0.4  # capability 0 clearly worse in every run
    passes = st.gate_passes(d, margin=0.15)
    worse = stats.ttest_1samp(d, 0.0, axis=-1)
    expected = ~((worse.pvalue < 0.05) & (worse.statistic < 0)).any(axis=-1)
    assert np.array_equal(passes["signif. worse"], expected)
    assert not passes["non-inferior"].any()
    assert np.array_equal(passes["any mean lower"], (d.mean(-1) >= 0).all(-1))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: st.weighted_kappa([1, 2], [1]), ValueError),
        (lambda: st.weighted_kappa([1, 2], [1, 2], "cubic"), ValueError),
        (lambda: st.weighted_kappa([1, 1], [1, 1]), ValueError),
        (lambda: st.weighted_kappa([1, 6], [1, 2], labels=[1, 2, 3]), ValueError),
        (
            lambda: st.bootstrap_difference([1.0], [2.0], np.random.default_rng()),
            ValueError,
        ),
        (
            lambda: st.bootstrap_difference(
                [1, 2], [1, 2], np.random.default_rng(), n_boot=5
            ),
            ValueError,
        ),
        (
            lambda: st.bootstrap_means([np.nan, 1], np.random.default_rng(), 200),
            ValueError,
        ),
        (lambda: st.win_rate_both_orders([1, 0], [1, 0]), TypeError),
        (
            lambda: st.win_rate_both_orders(np.array([True]), np.array([True, False])),
            ValueError,
        ),
        (
            lambda: st.logistic_fit(np.ones((5, 1)), np.array([0, 1, 2, 0, 1])),
            ValueError,
        ),
        (lambda: st.lower_bounds(np.ones((3, 1))), ValueError),
        (lambda: st.gate_passes(np.ones((2, 3)), 0.1), ValueError),
        (lambda: st.gate_passes(np.ones((2, 3, 4)), 0.0), ValueError),
        (lambda: st.interval(np.ones(10)), ValueError),
        (lambda: st.grade_map([1, 2], [1]), ValueError),
        (
            lambda: st.agreement_bootstrap([1, 2], {}, np.random.default_rng()),
            TypeError,
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error):
    with pytest.raises(error):
        call()
