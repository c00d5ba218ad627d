"""pass@k estimators and the simulated code model, against independent references."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from scipy import stats
from scipy.special import softmax

from snippets.problems import code_completion_passk as pk


def subsets_with_a_pass(n: int, c: int, k: int) -> float:
    """Brute force: every k-subset of n samples whose first c are correct."""
    found = [any(i < c for i in s) for s in combinations(range(n), k)]
    return sum(found) / len(found)


def exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """1 - C(n-c, k) / C(n, k) in exact rational arithmetic."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@pytest.mark.parametrize("n", range(1, 9))
def test_estimator_equals_enumerating_every_k_subset(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pk.pass_at_k(n, c, k) == pytest.approx(
                subsets_with_a_pass(n, c, k), abs=1e-12
            ), (n, c, k)


def test_estimator_matches_exact_rationals_where_floats_overflow():
    for n, c, k in ((200, 7, 100), (200, 0, 1), (1_200, 3, 600), (2_000, 40, 10)):
        assert pk.pass_at_k(n, c, k) == pytest.approx(
            float(exact_pass_at_k(n, c, k)), rel=1e-12, abs=1e-15
        )
    assert math.isnan(pk.naive_pass_at_k(1_200, 3, 600))  # inf / inf
    assert pk.naive_pass_at_k(20, 3, 10) == pytest.approx(pk.pass_at_k(20, 3, 10))


@pytest.mark.parametrize("p", [0.02, 0.1, 0.35, 0.8])
@pytest.mark.parametrize("n,k", [(20, 10), (10, 5), (200, 100), (5, 1)])
def test_estimator_is_unbiased_and_the_plug_in_is_biased_low(p, n, k):
    """Expectation over c ~ Binomial(n, p), summed exactly with scipy's pmf."""
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    unbiased = sum(pmf[c] * pk.pass_at_k(n, c, k) for c in range(n + 1))
    plug_in = sum(pmf[c] * pk.plug_in_pass_at_k(n, c, k) for c in range(n + 1))
    truth = 1 - (1 - p) ** k
    assert unbiased == pytest.approx(truth, abs=1e-10)
    if k == 1:
        assert plug_in == pytest.approx(truth, abs=1e-10)
    elif truth < 1 - 1e-9:  # Jensen: (1 - x)^k is convex, its mean is above
        assert plug_in < truth - 1e-9  # its value at the mean
    else:  # both saturate at 1 when every k-sample holds a correct one
        assert plug_in <= truth + 1e-12


def test_plug_in_never_exceeds_the_unbiased_estimate():
    for n in (5, 20, 50):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pk.plug_in_pass_at_k(n, c, k) <= pk.pass_at_k(n, c, k) + 1e-12
                assert pk.plug_in_pass_at_k(n, c, k) == pytest.approx(
                    1 - (1 - c / n) ** k
                )


def test_mean_pass_at_k_averages_problems():
    counts = [0, 3, 20]
    expected = np.mean([float(exact_pass_at_k(20, c, 5)) for c in counts])
    assert pk.mean_pass_at_k(20, counts, 5) == pytest.approx(expected)


@pytest.mark.parametrize(
    "args,error",
    [
        ((10, 11, 1), ValueError),
        ((10, 3, 11), ValueError),
        ((10, 3, 0), ValueError),
        ((0, 0, 1), ValueError),
        ((10, -1, 1), ValueError),
        ((10, 3, 2.0), TypeError),
        ((True, 0, 1), TypeError),
    ],
)
def test_estimators_reject_bad_counts(args, error):
    for estimator in (pk.pass_at_k, pk.plug_in_pass_at_k, pk.naive_pass_at_k):
        with pytest.raises(error):
            estimator(*args)


def test_bad_inputs_to_the_simulation_raise():
    bench = pk.make_benchmark(3, seed=0)
    with pytest.raises(ValueError):
        pk.program_probabilities(bench, -0.1)
    with pytest.raises(ValueError):
        pk.program_probabilities(bench, float("nan"))
    with pytest.raises(TypeError):
        pk.program_probabilities(bench, "0.8")
    with pytest.raises(ValueError):
        pk.make_benchmark(0, seed=0)
    with pytest.raises(ValueError):
        pk.mean_pass_at_k(10, [], 1)
    with pytest.raises(ValueError):
        pk.run_experiment([0])


def materialised(bench: pk.Benchmark, row: int) -> tuple[np.ndarray, np.ndarray]:
    """One problem's logits with every junk program written out, and correctness."""
    logits = np.concatenate(
        [bench.logits[row], np.full(bench.junk_programs, bench.junk_logit)]
    )
    correct = np.concatenate(
        [bench.correct[row], np.zeros(bench.junk_programs, dtype=bool)]
    )
    return logits, correct


@pytest.mark.parametrize("temperature", [0.2, 0.8, 1.2, 3.0])
def test_probabilities_are_a_softmax_over_every_program(temperature):
    bench = pk.make_benchmark(6, seed=3)
    probs = pk.program_probabilities(bench, temperature)
    assert probs.sum(axis=1) == pytest.approx(np.ones(6))
    for row in range(6):
        logits, correct = materialised(bench, row)
        reference = softmax(logits / temperature)
        m = bench.logits.shape[1]
        assert probs[row, :m] == pytest.approx(reference[:m], rel=1e-9, abs=1e-15)
        assert probs[row, -1] == pytest.approx(reference[m:].sum(), rel=1e-9)
        truth = 1 - (1 - reference[correct].sum()) ** 10
        assert pk.true_pass_at_k(bench, temperature, 10)[row] == pytest.approx(truth)


def test_temperature_zero_is_greedy_and_a_bench_without_junk_has_no_tail():
    bench = pk.make_benchmark(50, seed=4)
    greedy = pk.program_probabilities(bench, 0.0)
    assert (greedy.argmax(axis=1) == bench.logits.argmax(axis=1)).all()
    assert set(np.unique(greedy)) == {0.0, 1.0}
    no_tail = pk.Benchmark(bench.correct, bench.logits, 0, bench.junk_logit)
    assert pk.program_probabilities(no_tail, 1.0)[:, -1] == pytest.approx(0.0)


def test_samples_follow_the_probabilities_and_counts_are_right():
    bench = pk.make_benchmark(4, seed=5)
    rng = np.random.default_rng(0)
    samples = pk.sample_programs(bench, 0.9, 40_000, rng)
    probs = pk.program_probabilities(bench, 0.9)
    m = bench.logits.shape[1]
    for row in range(4):
        observed = np.bincount(np.minimum(samples[row], m), minlength=m + 1) / 40_000
        assert observed == pytest.approx(probs[row], abs=0.01)
    assert (samples[samples >= m] < m + bench.junk_programs).all()
    counts = pk.correct_counts(bench, samples[:, :50])
    for row in range(4):
        expected = sum(1 for s in samples[row, :50] if s < m and bench.correct[row, s])
        assert counts[row] == expected
    distinct = pk.distinct_programs(samples[:, :50])
    assert list(distinct) == [len(set(samples[row, :50])) for row in range(4)]


def test_sampled_estimates_track_the_generator_truth():
    bench = pk.make_benchmark(164, seed=11)
    samples = pk.sample_programs(bench, 0.6, 200, np.random.default_rng(1))
    counts = pk.correct_counts(bench, samples)
    for k in (1, 10):
        estimate = pk.mean_pass_at_k(200, counts, k)
        assert estimate == pytest.approx(
            pk.true_pass_at_k(bench, 0.6, k).mean(), abs=0.02
        )


def test_copies_of_one_sample_make_pass_at_k_flat_in_k():
    runs = pk.run_experiment((0, 1))
    for run in runs:
        assert run["copies pass@1"] == run["copies pass@10"] == run["copies pass@100"]
        assert run["pass@100 0.8"] > run["copies pass@100"]
