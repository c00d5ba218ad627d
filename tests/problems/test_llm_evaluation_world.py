"""The synthetic world of the LLM evaluation miniature: what it builds in."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from snippets.problems import llm_evaluation_world as world


def test_true_grades_bin_the_latent_quality():
    q = np.array([-5.0, -1.2, -1.19, -0.4, 0.0, 0.4, 0.41, 1.2, 1.21, 9.0])
    assert world.true_grades(q).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


@pytest.mark.parametrize("effect", [-0.5, 0.0, 0.3])
def test_expected_grade_matches_a_large_draw(effect):
    rng = np.random.default_rng(0)
    prompts = world.draw_prompts(rng, 40_000)
    grades = world.true_grades(world.answer_quality(rng, prompts, effect))
    assert grades.mean() == pytest.approx(world.expected_grade(effect), abs=0.01)


@pytest.mark.parametrize("change", [-0.15, 0.075, 0.15])
def test_effect_for_grade_change_inverts_expected_grade(change):
    effect = world.effect_for_grade_change(change)
    got = world.expected_grade(effect) - world.expected_grade(0.0)
    assert got == pytest.approx(change, abs=1e-9)
    assert np.sign(effect) == np.sign(change)


def test_two_systems_on_the_same_prompts_share_the_difficulty():
    rng = np.random.default_rng(1)
    prompts = world.draw_prompts(rng, 20_000)
    a = world.answer_quality(rng, prompts)
    b = world.answer_quality(rng, prompts, 0.2)
    share = world.PROMPT_SD**2 / (world.PROMPT_SD**2 + world.ANSWER_SD**2)
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(share, abs=0.01)
    assert (b - a).mean() == pytest.approx(0.2, abs=0.02)


def test_effects_per_capability_land_on_their_capability():
    rng = np.random.default_rng(2)
    prompts = world.draw_prompts(rng, 5_000)
    effect = np.zeros(len(world.CAPABILITIES))
    effect[3] = 1.0
    gap = world.answer_quality(rng, prompts, effect) - world.answer_quality(
        rng, prompts
    )
    by_capability = [gap[prompts.capability == c].mean() for c in range(5)]
    assert by_capability[3] == pytest.approx(1.0, abs=0.05)
    assert max(abs(v) for i, v in enumerate(by_capability) if i != 3) < 0.05


def test_a_lenient_judge_grades_higher_and_a_noiseless_one_is_the_truth():
    rng = np.random.default_rng(3)
    prompts = world.draw_prompts(rng, 2_000)
    q = world.answer_quality(rng, prompts)
    exact = world.PointwiseJudge("exact", (0.0,) * 5)
    assert np.array_equal(exact.grade(rng, q, prompts.capability), world.true_grades(q))
    lenient = replace(exact, offset=0.8)
    assert (
        lenient.grade(rng, q, prompts.capability).mean() > world.true_grades(q).mean()
    )


def test_an_unbiased_judge_on_identical_answers_splits_evenly():
    rng = np.random.default_rng(4)
    q = rng.normal(0, 1, 20_000)
    length = np.full(q.size, 5.0)
    fair = world.PairwiseJudge(position_bias=0.0, verbosity=0.0)
    b_second, b_first = world.judge_both_orders(fair, rng, q, q, length, length)
    assert b_second.mean() == pytest.approx(0.5, abs=0.02)
    assert b_first.mean() == pytest.approx(0.5, abs=0.02)


def test_position_bias_favours_the_first_slot_and_is_read_once_per_answer():
    rng = np.random.default_rng(5)
    q = rng.normal(0, 1, 20_000)
    length = np.full(q.size, 5.0)
    biased = world.PairwiseJudge(call_noise=0.0, verbosity=0.0)
    b_second, b_first = world.judge_both_orders(biased, rng, q, q, length, length)
    assert b_first.mean() > 0.6 > 0.4 > b_second.mean()
    # No call noise: a pair's two verdicts differ only through the slot bonus, so a
    # pair never goes to B in the second slot and to A when B is first.
    assert not np.any(b_second & ~b_first)


def test_verbosity_bias_favours_longer_answers():
    rng = np.random.default_rng(6)
    q = rng.normal(0, 1, 20_000)
    short = world.log_lengths(rng, q.size)
    long = world.log_lengths(rng, q.size, padding=1.6)
    judge = world.PairwiseJudge(position_bias=0.0)
    b_second, b_first = world.judge_both_orders(judge, rng, q, q, short, long)
    assert (b_second.mean() + b_first.mean()) / 2 > 0.55
    assert np.exp(np.median(long - short)) == pytest.approx(1.6, rel=0.05)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: world.draw_prompts(np.random.default_rng(), 0), ValueError),
        (lambda: world.draw_prompts(np.random.default_rng(), 2.5), TypeError),
        (
            lambda: world.answer_quality(
                np.random.default_rng(),
                world.draw_prompts(np.random.default_rng(), 2),
                [1.0, 2.0],
            ),
            ValueError,
        ),
        (lambda: world.effect_for_grade_change(5.0), ValueError),
        (lambda: world.log_lengths(np.random.default_rng(), 3, 0.0), ValueError),
        (lambda: world.log_lengths(np.random.default_rng(), 3, "x"), TypeError),
        (lambda: world.PointwiseJudge("j", (0.1, 0.2)), ValueError),
        (lambda: world.PairwiseJudge(answer_noise=-1.0), ValueError),
        (
            lambda: world.judge_both_orders(
                "judge", np.random.default_rng(), *[np.zeros(3)] * 4
            ),
            TypeError,
        ),
        (
            lambda: world.judge_both_orders(
                world.PairwiseJudge(),
                np.random.default_rng(),
                np.zeros(3),
                np.zeros(2),
                np.zeros(3),
                np.zeros(3),
            ),
            ValueError,
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error):
    with pytest.raises(error):
        call()
