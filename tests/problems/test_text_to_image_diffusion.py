"""The tiny diffusion model: world, exact and learned denoisers, samplers, grades."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg, stats
from sklearn.linear_model import Ridge

from snippets.problems import text_to_image_diffusion as dm

WORLD = dm.ring_world()
FLOOR = dm.density_floor(WORLD, np.random.default_rng(7))


def exact(x, t, p):
    return dm.exact_eps(WORLD, x, t, p)


def noisy_log_density(world, x, t, weights):
    """log p_t(x) of the noised mixture, from SciPy's Gaussian densities."""
    a, s2 = np.sqrt(dm.ALPHA_BAR[t]), 1 - dm.ALPHA_BAR[t]
    cov = (a**2 * world.sd**2 + s2) * np.eye(2)
    parts = [
        np.log(w) + stats.multivariate_normal(a * m, cov).logpdf(x)
        for w, m in zip(weights, world.means, strict=True)
        if w > 0
    ]
    return np.logaddexp.reduce(np.array(parts), axis=0)


@pytest.mark.parametrize("t", [0, 50, 300, 999])
def test_exact_noise_is_minus_s_times_the_score_of_the_noised_mixture(t):
    rng = np.random.default_rng(t)
    x = rng.normal(0, 1.2, (6, 2))
    prompts = np.array([0, 1, 2, 3, 0, 1])
    eps_prompt, eps_empty = exact(x, t, prompts)
    h, s = 1e-5, np.sqrt(1 - dm.ALPHA_BAR[t])
    for row, p in enumerate(prompts):
        for eps, weights in (
            (eps_prompt, WORLD.weights[p]),
            (eps_empty, WORLD.weights[-1]),
        ):
            grad = [
                (
                    noisy_log_density(WORLD, x[row] + h * e, t, weights)
                    - noisy_log_density(WORLD, x[row] - h * e, t, weights)
                )
                / (2 * h)
                for e in np.eye(2)
            ]
            assert eps[row] == pytest.approx(-s * np.array(grad), rel=1e-4, abs=1e-6)


def test_world_samples_follow_the_weights_and_the_exact_moments():
    rng = np.random.default_rng(0)
    x = WORLD.sample(np.full(40_000, 1), rng)
    mode = (WORLD.mode_likelihoods(x)).argmax(axis=1)
    shares = np.bincount(mode, minlength=8) / len(x)
    assert shares == pytest.approx(WORLD.weights[1], abs=0.01)
    mean, cov = WORLD.moments(1)
    assert x.mean(0) == pytest.approx(mean, abs=0.01)
    assert np.cov(x.T) == pytest.approx(cov, abs=0.01)
    assert WORLD.weights[-1] == pytest.approx(np.full(8, 1 / 8))


def test_frechet_distance_matches_the_matrix_square_root_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    c_a, c_b = a @ a.T + np.eye(3), b @ b.T + 0.5 * np.eye(3)
    m_a, m_b = rng.normal(size=3), rng.normal(size=3)
    reference = ((m_a - m_b) ** 2).sum() + np.trace(
        c_a + c_b - 2 * linalg.sqrtm(c_a @ c_b).real
    )
    assert dm.frechet_distance(m_a, c_a, m_b, c_b) == pytest.approx(reference)
    assert dm.frechet_distance(m_a, c_a, m_a, c_a) == pytest.approx(0, abs=1e-9)
    # One dimension: (m1 - m2)^2 + (s1 - s2)^2.
    assert dm.frechet_distance([1.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(2.0)


def test_ridge_fit_matches_scikit_learn():
    rng = np.random.default_rng(2)
    phi, y = rng.normal(size=(300, 12)), rng.normal(size=(300, 2))
    ours = dm.ridge_fit(phi, y, 0.01)
    theirs = Ridge(alpha=0.01 * 300, fit_intercept=False).fit(phi, y).coef_.T
    assert ours == pytest.approx(theirs, rel=1e-8, abs=1e-10)


def test_learned_denoiser_fast_path_equals_its_design_matrix():
    model = dm.RidgeDenoiser(WORLD, np.random.default_rng(3), pairs=4_000, features=40)
    rng = np.random.default_rng(4)
    x, p, t = rng.normal(size=(7, 2)), np.array([0, 1, 2, 3, 4, 0, 2]), 420
    v = (model.features(x, np.full(7, t)) @ model.heads).reshape(7, -1, 2)
    a, s = np.sqrt(dm.ALPHA_BAR[t]), np.sqrt(1 - dm.ALPHA_BAR[t])
    eps_prompt, eps_empty = model(x, t, p)
    assert eps_prompt == pytest.approx(s * x + a * v[np.arange(7), p])
    assert eps_empty == pytest.approx(s * x + a * v[:, -1])


def test_learned_denoiser_is_close_to_the_exact_one_but_not_equal():
    model = dm.RidgeDenoiser(
        WORLD, np.random.default_rng(5), pairs=30_000, features=150
    )
    rng = np.random.default_rng(6)
    prompts = np.repeat(np.arange(4), 250)
    errors = {}
    for t in (20, 100, 500, 900):
        x0, eps = WORLD.sample(prompts, rng), rng.normal(size=(1000, 2))
        xt = np.sqrt(dm.ALPHA_BAR[t]) * x0 + np.sqrt(1 - dm.ALPHA_BAR[t]) * eps
        learned, truth = model(xt, t, prompts)[0], exact(xt, t, prompts)[0]
        errors[t] = ((learned - truth) ** 2).sum(1).mean()
        assert errors[t] < 0.3 * (truth**2).sum(1).mean(), t
    # Hardest where the noise is low and the modes are sharp: the model error the
    # miniature measures lives there.
    assert errors[20] > errors[100] > errors[500] > errors[900]
    assert errors[20] > 0.05


def test_timesteps_are_trailing_and_cover_the_chain():
    assert dm.timesteps(1).tolist() == [999]
    assert dm.timesteps(4).tolist() == [999, 749, 499, 249]
    assert dm.timesteps(1000).tolist() == list(range(999, -1, -1))


def test_one_ddim_step_returns_the_posterior_mean_the_prompt_average():
    noise = np.random.default_rng(8).normal(size=(400, 2))
    x = dm.generate(exact, noise, np.full(400, 2), steps=1)
    mean, _ = WORLD.moments(2)
    assert x.mean(0) == pytest.approx(mean, abs=0.01)
    assert x.std(0).max() < 0.02  # collapsed: every sample is about the same image


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_many_steps_with_the_exact_denoiser_reproduce_the_world(eta):
    rng = np.random.default_rng(9)
    prompts = np.repeat(np.arange(4), 500)
    noise = rng.normal(size=(2000, 2))
    x = dm.generate(exact, noise, prompts, steps=200, eta=eta, rng=rng)
    grades = dm.quality(WORLD, x, prompts, FLOOR)
    many = np.repeat(np.arange(4), 10_000)
    real = dm.quality(WORLD, WORLD.sample(many, rng), many, FLOOR)
    assert grades["fd"] < 0.01
    for metric in ("precision", "coverage", "adherence"):
        assert grades[metric] == pytest.approx(real[metric], abs=0.03), metric


def test_ddim_is_deterministic_and_ddpm_is_not():
    noise = np.random.default_rng(10).normal(size=(50, 2))
    p = np.zeros(50, dtype=int)
    a = dm.generate(exact, noise, p, 8)
    assert a == pytest.approx(dm.generate(exact, noise, p, 8))
    b = dm.generate(exact, noise, p, 8, eta=1.0, rng=np.random.default_rng(1))
    c = dm.generate(exact, noise, p, 8, eta=1.0, rng=np.random.default_rng(2))
    assert np.abs(b - c).max() > 0.01


@pytest.mark.parametrize("t", [1, 50, 400, 999])
def test_an_ancestral_step_adds_ddpm_posterior_variance(t):
    """One eta = 1 step from t to t - 1 adds noise of variance (Ho et al., 2020)
    (1 - abar_{t-1}) / (1 - abar_t) * beta_t, with beta_t from the schedule itself."""
    x = np.zeros((40_000, 2))
    out = dm.ddim_step(x, np.zeros_like(x), t, t - 1, 1.0, np.random.default_rng(t))
    expected = (1 - dm.ALPHA_BAR[t - 1]) / (1 - dm.ALPHA_BAR[t]) * dm.BETAS[t]
    assert out.var(axis=0) == pytest.approx(expected, rel=0.03)
    deterministic = dm.ddim_step(x + 1.0, np.zeros_like(x), t, t - 1)
    ratio = np.sqrt(dm.ALPHA_BAR[t - 1] / dm.ALPHA_BAR[t])
    assert deterministic == pytest.approx(np.full_like(x, ratio))  # DDIM, eps = 0


def test_guidance_scale_zero_is_the_empty_prompt_and_one_the_prompt():
    noise = np.random.default_rng(11).normal(size=(60, 2))
    p = np.full(60, 3)
    empty = np.full(60, WORLD.prompts)
    assert dm.generate(exact, noise, p, 10, scale=0.0) == pytest.approx(
        dm.generate(exact, noise, empty, 10)
    )
    guided = dm.generate(exact, noise, p, 10, scale=1.0)
    assert guided == pytest.approx(dm.generate(exact, noise, p, 10))


def test_quality_grades_match_an_independent_judge():
    rng = np.random.default_rng(12)
    prompts = np.repeat(np.arange(4), 300)
    x = WORLD.sample(prompts, rng)
    grades = dm.quality(WORLD, x, prompts, FLOOR)
    # Adherence from SciPy's mixture densities: argmax over prompts of p(x | prompt).
    cov = WORLD.sd**2 * np.eye(2)
    density = np.column_stack(
        [
            sum(
                w * stats.multivariate_normal(m, cov).pdf(x)
                for w, m in zip(WORLD.weights[c], WORLD.means, strict=True)
            )
            for c in range(4)
        ]
    )
    assert grades["adherence"] == pytest.approx((density.argmax(1) == prompts).mean())
    # Bayes accuracy of the world: 0.8 of a prompt's mass sits on modes it owns.
    assert grades["adherence"] == pytest.approx(0.8, abs=0.04)
    assert grades["precision"] == pytest.approx(0.99, abs=0.015)
    collapsed = np.repeat(WORLD.means[[0, 2, 4, 6]], 300, axis=0)
    low = dm.quality(WORLD, collapsed, prompts, FLOOR)
    assert low["coverage"] == pytest.approx(0.4)  # one mode of weight 0.4 per prompt
    assert low["precision"] == 1.0 and low["fd"] > grades["fd"]


def test_density_floor_leaves_one_percent_of_real_samples_below():
    rng = np.random.default_rng(13)
    x = WORLD.sample(np.full(50_000, WORLD.prompts), rng)
    below = (WORLD.mode_likelihoods(x) @ WORLD.weights[-1] < FLOOR).mean()
    assert below == pytest.approx(0.01, abs=0.003)


def test_student_learns_a_smooth_teacher_map():
    rng = np.random.default_rng(14)
    z = rng.normal(size=(800, 2))
    prompts = np.repeat([0, 1], 400)
    teacher = np.where(prompts[:, None] == 0, z @ [[0.5, 0.1], [0.0, 0.4]], -z)
    student = dm.Student(z, teacher, prompts, rng)
    test = rng.normal(size=(200, 2))
    p = np.repeat([0, 1], 100)
    truth = np.where(p[:, None] == 0, test @ [[0.5, 0.1], [0.0, 0.4]], -test)
    assert np.abs(student(test, p) - truth).max() < 0.05


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: exact(np.zeros((2, 2)), 5, [0.0, 1.0]), TypeError),
        (lambda: exact(np.zeros((2, 2)), 5, [0, 7]), ValueError),
        (lambda: exact(np.zeros((3, 2)), 5, [0, 1]), ValueError),
        (lambda: exact(np.zeros((2, 3)), 5, [0, 1]), ValueError),
        (lambda: exact(np.zeros((2, 2)), 1000, [0, 1]), ValueError),
        (lambda: exact(np.zeros((2, 2)), 2.5, [0, 1]), TypeError),
        (lambda: dm.timesteps(0), ValueError),
        (lambda: dm.generate(exact, np.zeros((2, 2)), [0, 1], 4, eta=2.0), ValueError),
        (lambda: dm.generate(exact, np.zeros((2, 2)), [0, 1], 4, eta=1.0), TypeError),
        (lambda: dm.frechet_distance([0, 0], np.eye(2), [0], np.eye(1)), ValueError),
        (lambda: dm.quality(WORLD, np.zeros((4, 2)), [0, 1, 2, 3], FLOOR), ValueError),
        (lambda: dm.ring_world(prompts=1), ValueError),
        (lambda: dm.ring_world(side=0.3), ValueError),
        (lambda: dm.World(WORLD.means, 0.1, np.ones((2, 8))), ValueError),
        (
            lambda: dm.RidgeDenoiser(WORLD, np.random.default_rng(0), dropout=0),
            ValueError,
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error):
    with pytest.raises(error):
        call()


def test_student_refuses_a_prompt_it_was_not_trained_on():
    rng = np.random.default_rng(15)
    z = rng.normal(size=(20, 2))
    student = dm.Student(z, z, np.zeros(20, dtype=int), rng, features=5)
    with pytest.raises(ValueError, match="no student head"):
        student(z, np.ones(20, dtype=int))
