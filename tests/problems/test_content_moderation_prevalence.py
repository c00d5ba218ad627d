"""Prevalence from labelled samples of views: intervals, strata, allocation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom
from statsmodels.stats.proportion import proportion_confint

from snippets.problems import content_moderation_prevalence as pv


def mean_wilson_width(share: float, n: int) -> float:
    """Independent of the program: statsmodels' Wilson limits, weighted by the
    binomial probability of each count."""
    x = np.arange(n + 1)
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    return float(np.sum(binom.pmf(x, n, share) * (high - low)))


@pytest.mark.parametrize(
    ("shares", "width"), [((0.001,), 0.0026), ((0.0011, 0.002, 0.0003), 0.0025),
                          ((0.03,), 0.0177)]
)  # fmt: skip
def test_srs_labels_for_width_is_the_fewest_that_reach_the_width(shares, width):
    n = pv.srs_labels_for_width(shares, width)
    widths = [np.mean([mean_wilson_width(p, m) for p in shares]) for m in (n - 1, n)]
    assert widths[1] <= width < widths[0]
    # A 1/sqrt(n) rule from 1,000 labels is far off when a sample holds ~1 violation.
    if max(shares) < 0.005:
        rule = (
            1_000
            * (np.mean([mean_wilson_width(p, 1_000) for p in shares]) / width) ** 2
        )
        assert n < 0.8 * rule


def test_expected_wilson_width_is_what_simple_random_samples_show():
    rng = np.random.default_rng(11)
    counts = rng.binomial(1_000, 0.0011, 20_000)
    low, high = pv.wilson_interval(counts, 1_000)
    simulated = (high - low).mean()
    assert pv.expected_wilson_width(0.0011, 1_000) == pytest.approx(simulated, rel=0.01)


def population(seed: int, n: int = 4_000) -> tuple[np.ndarray, ...]:
    """Items with heavy-tailed views, a rare violation and a score that knows it;
    violating items get more views, so a share of views is not a share of items."""
    rng = np.random.default_rng(seed)
    score = rng.beta(0.3, 12, n)
    violating = (rng.random(n) < score).astype(int)
    views = np.exp(rng.normal(5, 1.5, n) + violating)
    return violating, views, score


def test_strata_hold_the_asked_shares_of_views_in_score_order():
    _, views, score = population(1)
    strata = pv.score_strata(score, views)
    shares = np.bincount(strata, weights=views) / views.sum()
    np.testing.assert_allclose(shares, pv.VIEW_SHARES, atol=0.02)
    # Bands are contiguous in score: every score of band h is below band h+1's.
    for h in range(len(pv.VIEW_SHARES) - 1):
        assert score[strata == h].max() <= score[strata == h + 1].min()


def test_neyman_allocation_matches_the_closed_form_and_spends_the_budget():
    weights = np.array([0.8, 0.15, 0.04, 0.01])
    guesses = np.array([0.002, 0.02, 0.1, 0.4])
    n = pv.neyman_allocation(weights, guesses, 1_000, floor=0)
    assert n.sum() == 1_000
    sd = np.sqrt(guesses * (1 - guesses))
    np.testing.assert_allclose(n, 1_000 * weights * sd / (weights * sd).sum(), atol=1)
    floored = pv.neyman_allocation(weights, guesses, 1_000, floor=20)
    assert floored.sum() == 1_000 and floored.min() >= 20


def explicit_stratified_draws(
    violating, views, strata, labelled, reps, rng
) -> np.ndarray:
    """Independent of the program: draw each view's item, then read its label."""
    counts = np.zeros((reps, labelled.size))
    for h, n_h in enumerate(labelled):
        members = np.flatnonzero(strata == h)
        p = views[members] / views[members].sum()
        items = rng.choice(members, size=(reps, n_h), p=p)
        counts[:, h] = violating[items].sum(axis=1)
    return counts


def test_stratified_estimate_is_unbiased_and_its_variance_is_right():
    violating, views, score = population(2)
    strata = pv.score_strata(score, views)
    weights = np.bincount(strata, weights=views) / views.sum()
    labelled = pv.neyman_allocation(weights, np.full(4, 0.05), 400)
    rng = np.random.default_rng(3)
    positives = explicit_stratified_draws(
        violating, views, strata, labelled, 4_000, rng
    )
    estimate, variance = pv.stratified_prevalence(positives, labelled, weights)
    truth = (violating * views).sum() / views.sum()
    spread = estimate.std()
    assert estimate.mean() == pytest.approx(truth, abs=3 * spread / np.sqrt(4_000))
    # The variance formula estimates the sampling variance it will see.
    assert variance.mean() == pytest.approx(spread**2, rel=0.1)


def test_both_designs_cover_the_truth_near_the_nominal_rate():
    violating, views, score = population(4)
    out = pv.compare_designs(
        violating, views, score, 800, 3_000, np.random.default_rng(5)
    )
    assert out["truth"] == pytest.approx((violating * views).sum() / views.sum())
    assert out["truth"] > 1.5 * violating.mean()  # views, not items, are sampled
    for design in ("srs", "stratified"):
        assert out[f"{design}_covers"].mean() == pytest.approx(0.95, abs=0.015)
        assert out[f"{design}_estimate"].mean() == pytest.approx(out["truth"], rel=0.03)
    assert out["stratified_width"].mean() < out["srs_width"].mean()


def test_the_programs_binomial_counts_match_explicit_view_draws():
    """compare_designs draws the counts as binomials: the same law as drawing views."""
    violating, views, score = population(6, n=1_500)
    reps, budget = 4_000, 300
    out = pv.compare_designs(
        violating, views, score, budget, reps, np.random.default_rng(7)
    )
    strata = np.unique(pv.score_strata(score, views), return_inverse=True)[1]
    counts = explicit_stratified_draws(
        violating, views, strata, out["labelled"], reps, np.random.default_rng(8)
    )
    explicit, _ = pv.stratified_prevalence(counts, out["labelled"], out["weights"])
    binomial = out["stratified_estimate"]
    assert binomial.mean() == pytest.approx(explicit.mean(), rel=0.03)
    assert binomial.std() == pytest.approx(explicit.std(), rel=0.06)
    srs = violating[
        np.random.default_rng(9).choice(
            views.size, size=(reps, budget), p=views / views.sum()
        )
    ].mean(axis=1)
    assert out["srs_estimate"].std() == pytest.approx(srs.std(), rel=0.06)


def test_an_estimate_of_zero_still_gets_a_non_degenerate_interval():
    """No violating label in any stratum: fall back to the labels actually spent."""
    low, high = pv.stratified_interval(np.array([0.0]), np.array([0.0]), 1_000)
    ref_low, ref_high = proportion_confint(0, 1_000, alpha=0.05, method="beta")
    assert low[0] == pytest.approx(ref_low, abs=1e-12)
    assert high[0] == pytest.approx(ref_high)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="width and every share"):
        pv.srs_labels_for_width([0.0], 0.01)
    with pytest.raises(ValueError, match="views > 0"):
        pv.score_strata([0.1, 0.2], [1.0, 0.0])
    with pytest.raises(ValueError, match="sum to 1"):
        pv.score_strata([0.1, 0.2], [1.0, 2.0], view_shares=(0.5, 0.2))
    with pytest.raises(TypeError, match="budget"):
        pv.neyman_allocation([0.5, 0.5], [0.1, 0.1], 100.0)
    with pytest.raises(ValueError, match="below the floor"):
        pv.neyman_allocation([0.5, 0.5], [0.1, 0.1], 30, floor=20)
    with pytest.raises(ValueError, match="violating must be 0/1"):
        pv.compare_designs([2, 0], [1.0, 1.0], [0.1, 0.1], 10, 5, None)
    with pytest.raises(TypeError, match="repetitions"):
        pv.compare_designs([1, 0], [1.0, 1.0], [0.1, 0.1], 10, 5.0, None)
