"""The reward model from preferences: Bradley-Terry, its ceiling, the KL optimum."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, softmax
from scipy.stats import entropy
from sklearn.linear_model import LogisticRegression

from snippets.problems import chat_training_reward as rm


@pytest.mark.parametrize("n", [200, 3_000])
@pytest.mark.parametrize("l2", [0.5, 1.0, 10.0])
def test_bradley_terry_equals_logistic_regression_on_differences(n, l2):
    """The reward model is a logistic regression without intercept on x1 - x2."""
    pairs = rm.preference_pairs(np.random.default_rng(n), n)
    ours = rm.fit_bradley_terry(pairs.differences, pairs.labels, l2=l2)
    reference = LogisticRegression(C=1 / l2, fit_intercept=False, tol=1e-12)
    reference.fit(pairs.differences, pairs.labels)
    np.testing.assert_allclose(ours, reference.coef_[0], atol=1e-6)


def test_many_pairs_recover_the_true_reward():
    pairs = rm.preference_pairs(np.random.default_rng(7), 100_000)
    w = rm.fit_bradley_terry(pairs.differences, pairs.labels)
    np.testing.assert_allclose(w, rm.TRUE_REWARD, atol=0.04)


def test_biased_raters_teach_the_bias():
    biased = rm.TRUE_REWARD.copy()
    biased[rm.LENGTH] += rm.RATER_LENGTH_BIAS
    pairs = rm.preference_pairs(np.random.default_rng(3), 50_000, rater_weights=biased)
    w = rm.fit_bradley_terry(pairs.differences, pairs.labels)
    assert w[rm.LENGTH] == pytest.approx(biased[rm.LENGTH], abs=0.05)
    assert w[rm.LENGTH] > 0 > rm.TRUE_REWARD[rm.LENGTH]


def test_noiseless_raters_follow_the_true_order():
    pairs = rm.preference_pairs(np.random.default_rng(1), 500, noiseless=True)
    assert np.array_equal(pairs.labels == 1, pairs.true_margin > 0)


def test_accuracy_counts_pairs_one_by_one():
    rng = np.random.default_rng(5)
    d, y, w = rng.standard_normal((50, 5)), (rng.random(50) < 0.5) * 1.0, rng.random(5)
    by_hand = sum(
        (row @ w > 0) == (label == 1) for row, label in zip(d, y, strict=True)
    )
    assert rm.preference_accuracy(w, d, y) == pytest.approx(by_hand / 50)


def test_label_ceiling_matches_simulated_raters():
    margin = np.random.default_rng(2).normal(0, 1.5, 4_000)
    best, agree = rm.label_ceiling(margin)
    rng = np.random.default_rng(9)
    p = expit(margin)
    first, second = rng.random((2, 400, margin.size)) < p
    assert agree == pytest.approx(np.mean(first == second), abs=0.003)
    assert best == pytest.approx(np.mean(first == (margin > 0)), abs=0.003)
    assert rm.label_ceiling([0.0]) == (0.5, 0.5)
    assert rm.label_ceiling([50.0]) == pytest.approx((1.0, 1.0))


@pytest.mark.parametrize("beta", [0.1, 1.0, 5.0])
def test_the_closed_form_maximises_the_kl_regularised_objective(beta):
    rng = np.random.default_rng(int(beta * 10))
    log_ref = np.log(softmax(rng.standard_normal(6)))
    reward = rng.standard_normal(6)

    def negative_objective(logits):
        log_pi = logits - np.log(np.exp(logits).sum())
        pi = np.exp(log_pi)
        return -(pi @ reward - beta * pi @ (log_pi - log_ref))

    found = minimize(negative_objective, np.zeros(6), method="BFGS", tol=1e-12).x
    log_found = found - np.log(np.exp(found).sum())
    closed = rm.kl_regularised_optimum(log_ref, reward, beta)
    np.testing.assert_allclose(np.exp(closed), np.exp(log_found), atol=1e-5)
    assert negative_objective(closed) <= negative_objective(found) + 1e-12


def test_kl_divergence_matches_scipy():
    rng = np.random.default_rng(4)
    p, q = softmax(rng.standard_normal((2, 3, 7)), axis=-1)
    expected = entropy(p, q, axis=-1)
    assert rm.kl_divergence(np.log(p), np.log(q)) == pytest.approx(expected)


def test_the_scaling_experiment_grades_the_same_test_pairs():
    out = rm.reward_model_scaling(seeds=[0, 1], pair_counts=[50, 500], test_pairs=2_000)
    assert out["labels"].shape == (2, 2)
    assert np.all(out["labels"] <= out["ceiling"][:, None] + 0.03)
    assert np.all(out["truth"] > out["labels"])  # the truth is not noisy


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: rm.fit_bradley_terry(np.ones((3, 2)), [1, 0, 2]), ValueError),
        (lambda: rm.fit_bradley_terry(np.ones((3, 2)), [1, 0]), ValueError),
        (lambda: rm.fit_bradley_terry(np.ones((2, 2)), [1, 0], l2=0), ValueError),
        (lambda: rm.fit_bradley_terry([[np.nan]], [1]), ValueError),
        (lambda: rm.preference_pairs(np.random.default_rng(0), 0), ValueError),
        (lambda: rm.preference_pairs(np.random.default_rng(0), 2.5), TypeError),
        (lambda: rm.preference_pairs(np.random.default_rng(0), 5, [1, 2]), ValueError),
        (lambda: rm.kl_regularised_optimum([0.0], [1.0], 0.0), ValueError),
        (lambda: rm.kl_regularised_optimum([0.0], [1.0], -1.0), ValueError),
        (lambda: rm.kl_divergence(np.zeros(2), np.zeros(3)), ValueError),
        (lambda: rm.reward_model_scaling(seeds=[-1]), ValueError),
        (lambda: rm.reward_hacking(betas=[0.0]), ValueError),
    ],
)
def test_bad_input_raises_a_clear_error(call, error):
    with pytest.raises(error):
        call()
