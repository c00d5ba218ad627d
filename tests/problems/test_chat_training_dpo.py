"""DPO on tabular policies: its gradient, its fixed points, and the comparisons."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import expit, log_softmax
from sklearn.linear_model import LogisticRegression

from snippets.problems import chat_training_dpo as dpo
from snippets.problems import chat_training_reward as rm


def small_world(seed: int, prompts: int = 3, responses: int = 5) -> dpo.TabularWorld:
    return dpo.tabular_world(np.random.default_rng(seed), prompts, responses)


def dpo_loss(theta, log_ref, wins, beta):
    """The DPO loss written pair by pair from its definition (Rafailov et al.)."""
    log_pi = log_softmax(theta, axis=-1)
    total = 0.0
    prompts, responses = log_ref.shape
    for p, i, j in itertools.product(
        range(prompts), range(responses), range(responses)
    ):
        if wins[p, i, j]:
            margin = beta * (
                log_pi[p, i] - log_ref[p, i] - log_pi[p, j] + log_ref[p, j]
            )
            total -= wins[p, i, j] * np.log(expit(margin))
    return total


@pytest.mark.parametrize("beta", [0.1, 1.0, 3.0])
def test_one_step_follows_the_numerical_gradient_of_the_dpo_loss(beta):
    world = small_world(1)
    wins = dpo.sample_comparisons(np.random.default_rng(2), world, 20)
    rng = np.random.default_rng(3)
    start = world.log_ref + 0.3 * rng.standard_normal(world.log_ref.shape)
    gradient, h = np.zeros_like(start), 1e-6
    for index in np.ndindex(start.shape):
        bump = np.zeros_like(start)
        bump[index] = h
        up = dpo_loss(start + bump, world.log_ref, wins, beta)
        down = dpo_loss(start - bump, world.log_ref, wins, beta)
        gradient[index] = (up - down) / (2 * h)
    size = 0.5
    expected = log_softmax(start - size / beta**2 * gradient, axis=-1)
    got = dpo.train_dpo(world.log_ref, wins, [beta], 1, size, start=start[None])[0]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_with_a_ridge_dpo_converges_to_regularised_logistic_regression():
    """The fixed point's implicit reward is a ridge Bradley-Terry fit on one-hot
    differences, which scikit-learn solves independently."""
    world = small_world(4, prompts=2, responses=4)
    wins = dpo.sample_comparisons(np.random.default_rng(5), world, 12) * 12
    l2, beta = 0.5, 0.7
    got = dpo.train_dpo(world.log_ref, wins, [beta], 4_000, 0.2, l2=l2)[0]
    for p in range(2):
        rows, labels, weights = [], [], []
        for i, j in zip(*np.nonzero(wins[p]), strict=True):
            difference = np.eye(4)[i] - np.eye(4)[j]
            rows += [difference, -difference]
            labels += [1, 0]
            weights += [wins[p, i, j] / 2] * 2
        reference = LogisticRegression(C=1 / l2, fit_intercept=False, tol=1e-12)
        reference.fit(np.array(rows), labels, sample_weight=np.array(weights))
        implicit = reference.coef_[0]
        expected = log_softmax(world.log_ref[p] + implicit / beta)
        np.testing.assert_allclose(got[p], expected, atol=1e-5)


@pytest.mark.parametrize("beta", [0.2, 1.0, 4.0])
def test_on_population_preferences_dpo_reaches_the_closed_form(beta):
    rng = np.random.default_rng(6)  # a reference that samples every response
    reward = rng.standard_normal((4, 6))
    log_ref = log_softmax(0.5 * rng.standard_normal((4, 6)), axis=-1)
    world = dpo.TabularWorld(reward, log_ref)
    wins = dpo.population_wins(world)
    got = dpo.train_dpo(world.log_ref, wins, [beta], 3_000)[0]
    optimum = rm.kl_regularised_optimum(world.log_ref, world.reward, beta)
    assert np.max(rm.kl_divergence(got, optimum)) < 1e-6


def test_every_beta_follows_the_same_implicit_reward():
    world = small_world(8)
    wins = dpo.sample_comparisons(np.random.default_rng(9), world, 10)
    betas = np.array([0.1, 1.0, 3.0])
    log_pi = dpo.train_dpo(world.log_ref, wins, betas, 150)
    implicit = betas[:, None, None] * (log_pi - world.log_ref)
    implicit -= implicit.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(implicit[0], implicit[1], atol=1e-9)
    np.testing.assert_allclose(implicit[2], implicit[1], atol=1e-9)


def test_a_response_that_never_lost_keeps_gaining():
    """Separable preferences have no finite optimum: a longer run moves further."""
    log_ref = np.log(np.full((1, 2), 0.5))
    wins = np.array([[[0.0, 1.0], [0.0, 0.0]]])  # 0 beat 1, every time
    short, long = (dpo.train_dpo(log_ref, wins, [1.0], s) for s in (100, 1_000))
    assert np.exp(long[0, 0, 1]) < np.exp(short[0, 0, 1]) < 0.5


def test_population_wins_enumerate_ordered_pairs():
    world = small_world(10, prompts=2, responses=4)
    pi = np.exp(world.log_ref)
    expected = np.zeros((2, 4, 4))
    for p, a, b in itertools.product(range(2), range(4), range(4)):
        if a != b:  # draw a then b; the winner is a or b
            chance = pi[p, a] * pi[p, b]
            first = expit(world.reward[p, a] - world.reward[p, b])
            expected[p, a, b] += chance * first
            expected[p, b, a] += chance * (1 - first)
    expected /= expected.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(dpo.population_wins(world), expected, atol=1e-12)


def test_sampled_comparisons_converge_to_the_population():
    world = small_world(11, prompts=2, responses=4)
    wins = dpo.sample_comparisons(np.random.default_rng(12), world, 200_000)
    assert np.allclose(wins.sum(axis=(1, 2)), 1.0)
    assert np.all(np.diagonal(wins, axis1=1, axis2=2) == 0)
    np.testing.assert_allclose(wins, dpo.population_wins(world), atol=0.005)


def test_the_experiment_compares_on_the_same_worlds():
    out = dpo.dpo_experiment(seeds=[0, 1], betas=[0.5, 2.0])
    assert out["kl"].shape == (2, len(dpo.CONDITIONS), 2)
    population = out["conditions"].index("population")
    np.testing.assert_allclose(out["kl"][:, population], out["kl_opt"], atol=1e-3)
    assert np.all(np.diff(out["kl_opt"], axis=1) < 0)  # larger beta, closer


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: dpo.tabular_world(np.random.default_rng(0), 0, 4), ValueError),
        (lambda: dpo.tabular_world(np.random.default_rng(0), 3, 1), ValueError),
        (lambda: dpo.sample_comparisons(np.random.default_rng(0), small_world(0), 0),
         ValueError),
        (lambda: dpo.train_dpo(np.log([[0.5, 0.5]]), np.zeros((1, 2)), [1.0]),
         ValueError),
        (lambda: dpo.train_dpo([[0.0, 0.0]], np.zeros((1, 2, 2)), [1.0]), ValueError),
        (lambda: dpo.train_dpo(np.log([[0.5, 0.5]]), -np.ones((1, 2, 2)), [1.0]),
         ValueError),
        (lambda: dpo.train_dpo(np.log([[0.5, 0.5]]), np.zeros((1, 2, 2)), [0.0]),
         ValueError),
        (lambda: dpo.train_dpo(np.log([[0.5, 0.5]]), np.zeros((1, 2, 2)), [1.0], 1.5),
         TypeError),
        (lambda: dpo.train_dpo(np.log([[0.5, 0.5]]), np.zeros((1, 2, 2)), [1.0],
                               step_size=0.0), ValueError),
        (lambda: dpo.train_dpo(np.log([[0.5, 0.5]]), np.zeros((1, 2, 2)), [1.0],
                               start=np.zeros((2, 1, 2))), ValueError),
        (lambda: dpo.dpo_experiment(seeds=[-2]), ValueError),
    ],
)  # fmt: skip
def test_bad_input_raises_a_clear_error(call, error):
    with pytest.raises(error):
        call()
