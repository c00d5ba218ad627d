"""Samplers, focal loss and the split-leakage demos behave as the page claims."""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm

from snippets.concepts import classification_metrics as cm
from snippets.concepts import data_and_labels as dl

PAGE = "concepts/data-and-labels.md"


def test_reservoir_is_uniform_and_a_biased_sampler_is_caught():
    rng = np.random.default_rng(1)
    fair = dl.inclusion_counts(dl.reservoir_sample, n=15, k=3, trials=3_000, rng=rng)
    biased = dl.inclusion_counts(
        dl.recency_biased_sample, n=15, k=3, trials=3_000, rng=rng
    )
    assert fair.sum() == biased.sum() == 3 * 3_000
    assert dl.inclusion_p_value(fair, k=3) > 0.001
    # The test has power: the same check rejects a sampler that favours late items.
    assert dl.inclusion_p_value(biased, k=3) < 1e-6
    assert biased[-1] > 2 * biased[0]


def test_the_joint_test_catches_what_the_per_item_test_cannot():
    # A systematic sample (every third item from a random start) includes each
    # item with probability k/n exactly, but only 3 of the 84 subsets ever occur.
    rng = np.random.default_rng(2)
    items = dl.inclusion_counts(dl.systematic_sample, n=9, k=3, trials=3_000, rng=rng)
    assert dl.inclusion_p_value(items, k=3) > 0.001
    subsets = dl.subset_counts(dl.systematic_sample, n=9, k=3, trials=3_000, rng=rng)
    assert np.count_nonzero(subsets) == 3 and subsets.sum() == 3_000
    assert dl.subset_p_value(subsets) < 1e-6
    fair = dl.subset_counts(dl.reservoir_sample, n=9, k=3, trials=3_000, rng=rng)
    assert np.count_nonzero(fair) == 84 and dl.subset_p_value(fair) > 0.001
    # Independent tally of the same draws: every subset once per run, in order.
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    ours = dl.subset_counts(dl.reservoir_sample, n=6, k=2, trials=500, rng=rng_a)
    tally = dict.fromkeys(combinations(range(6), 2), 0)
    for _ in range(500):
        tally[tuple(sorted(dl.reservoir_sample(range(6), 2, rng_b)))] += 1
    assert ours.tolist() == list(tally.values())


def test_inclusion_p_value_is_uniform_under_a_uniform_sampler():
    # Exact uniform k-subsets from numpy: p-values must be uniform on [0, 1]. The
    # textbook chi-square without the (n - 1) / (n - k) rescaling is conservative:
    # it rejects about 1% at the 5% level here, and this check catches that.
    rng = np.random.default_rng(4)
    n, k, trials = 20, 4, 1_000
    p_values = []
    for _ in range(400):
        draws = np.argsort(rng.random((trials, n)), axis=1)[:, :k]
        p_values.append(
            dl.inclusion_p_value(np.bincount(draws.ravel(), minlength=n), k)
        )
    assert stats.kstest(p_values, "uniform").pvalue > 0.001
    assert 0.025 < np.mean(np.array(p_values) < 0.05) < 0.085


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_reservoir_returns_k_distinct_items_of_the_stream(n, k, seed):
    rng = np.random.default_rng(seed)
    if k > n:
        with pytest.raises(ValueError, match="fewer than k"):
            dl.reservoir_sample(range(n), k, rng)
        return
    sample = dl.reservoir_sample(iter(range(n)), k, rng)  # a one-pass iterator
    assert len(sample) == len(set(sample)) == k
    assert set(sample) <= set(range(n))


def test_reservoir_rejects_bad_k():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 1"):
        dl.reservoir_sample(range(5), 0, rng)
    with pytest.raises(TypeError, match="int"):
        dl.reservoir_sample(range(5), 2.0, rng)


@pytest.mark.parametrize("seed", range(3))
def test_focal_loss_with_gamma_zero_is_log_loss(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.2).astype(int)
    p = cm.sigmoid(rng.normal(size=300) + y)
    assert dl.focal_loss(y, p, gamma=0) == pytest.approx(skm.log_loss(y, p))
    assert dl.focal_loss(y, p, gamma=0) == pytest.approx(cm.log_loss(y, p))
    # alpha re-weights the classes exactly as sklearn's sample weights would.
    weights = np.where(y == 1, 0.25, 0.75)
    assert dl.focal_loss(y, p, gamma=0, alpha=0.25) == pytest.approx(
        skm.log_loss(y, p, sample_weight=weights) * weights.mean()
    )


def test_focal_loss_down_weights_easy_examples_more_than_hard_ones():
    p_true = np.array([0.95, 0.9, 0.6, 0.3, 0.1])
    ones = np.ones_like(p_true, dtype=int)
    ratio = dl.focal_terms(ones, p_true, 2.0, None) / dl.focal_terms(
        ones, p_true, 0.0, None
    )
    np.testing.assert_allclose(ratio, (1 - p_true) ** 2)
    assert np.all(np.diff(ratio) > 0)  # the easier the example, the larger the cut
    assert dl.focal_loss([1, 0], [0.9, 0.1], 2) < dl.focal_loss([1, 0], [0.9, 0.1], 0)


def test_focal_gradient_is_the_derivative_of_the_focal_loss():
    # Central differences of focal_terms with respect to the logit z, p = sigmoid(z).
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=200)
    labels = (rng.random(200) < 0.5).astype(int)
    h = 1e-6
    for gamma in (0.0, 0.5, 2.0, 5.0):
        up = dl.focal_terms(labels, cm.sigmoid(z + h), gamma, None)
        down = dl.focal_terms(labels, cm.sigmoid(z - h), gamma, None)
        numeric = (up - down) / (2 * h)
        np.testing.assert_allclose(
            dl.focal_gradient(labels, cm.sigmoid(z), gamma),
            numeric,
            rtol=1e-5,
            atol=1e-9,
        )
    # gamma = 0 is log loss, whose gradient with respect to the logit is p - y.
    p = cm.sigmoid(z)
    np.testing.assert_allclose(
        dl.focal_gradient(labels, p, 0.0), p - labels, atol=1e-12
    )


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("rate", [0.01, 0.1, 0.3, 0.5, 0.8])
def test_focal_optimum_matches_a_grid_and_leans_to_one_half(gamma, rate):
    best = dl.focal_optimal_prediction(rate, gamma)
    grid = np.linspace(1e-4, 1 - 1e-4, 20_001)
    expected = -rate * (1 - grid) ** gamma * np.log(grid) - (1 - rate) * grid**gamma * (
        np.log1p(-grid)
    )
    assert best == pytest.approx(grid[np.argmin(expected)], abs=1e-4)
    if gamma == 0:
        assert best == pytest.approx(rate, abs=1e-6)  # log loss is proper
    else:
        assert min(rate, 0.5) - 1e-6 <= best <= max(rate, 0.5) + 1e-6
        assert abs(best - 0.5) < abs(rate - 0.5) or rate == 0.5


def test_focal_loss_rejects_bad_parameters():
    with pytest.raises(ValueError, match="gamma"):
        dl.focal_loss([0, 1], [0.2, 0.8], gamma=-1)
    with pytest.raises(ValueError, match="alpha"):
        dl.focal_loss([0, 1], [0.2, 0.8], alpha=1.5)
    with pytest.raises(ValueError, match="same length"):
        dl.focal_loss([0, 1], [0.2])
    with pytest.raises(ValueError, match="positive_rate"):
        dl.focal_optimal_prediction(1.0, 2.0)
    with pytest.raises(ValueError, match="gamma"):
        dl.focal_optimal_prediction(0.1, -1.0)
    with pytest.raises(ValueError, match="multiple of k"):
        dl.systematic_sample(range(10), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="1 <= k < n"):
        dl.inclusion_p_value(np.array([3, 3, 3]), k=3)


def test_downsampling_correction_inverts_the_sampling():
    p_true = np.linspace(0.001, 0.5, 50)
    w = 0.1
    # Keeping a share w of negatives multiplies the odds by 1 / w.
    inflated = (p_true / (1 - p_true) / w) / (1 + p_true / (1 - p_true) / w)
    np.testing.assert_allclose(
        dl.correct_for_negative_downsampling(inflated, w), p_true
    )
    np.testing.assert_allclose(
        dl.correct_for_negative_downsampling(p_true, 1.0), p_true
    )
    with pytest.raises(ValueError, match="negative_keep_rate"):
        dl.correct_for_negative_downsampling(p_true, 0)
    with pytest.raises(ValueError, match="probabilities"):
        dl.correct_for_negative_downsampling([1.5], 0.5)


def test_random_oversample_balances_by_duplicating_minority_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    y = np.r_[np.ones(10, dtype=int), np.zeros(90, dtype=int)]
    x_bal, y_bal = dl.random_oversample(x, y, rng)
    assert np.sum(y_bal == 1) == np.sum(y_bal == 0) == 90
    assert dl.shared_rows(x_bal[y_bal == 1], x[:10]) == 1.0  # only copies, no new rows
    with pytest.raises(ValueError, match="minority"):
        dl.random_oversample(x, 1 - y, rng)
    with pytest.raises(ValueError, match="same number of rows"):
        dl.random_oversample(x[:5], y, rng)


def test_oversampling_before_the_split_inflates_the_score():
    results = dl.compare_oversampling_protocols(seed=3)
    leaky = results["oversample, then split"]
    honest = results["split, then oversample"]
    assert leaky["copied"] > 0.9 and honest["copied"] == 0.0
    # ROC-AUC does not depend on prevalence, so this gap is the leak alone.
    assert leaky["roc_auc"] > honest["roc_auc"] + 0.2


def test_random_split_overestimates_a_drifting_concept_and_drift_is_the_cause():
    seeds = range(20, 26)  # seeds the program does not use
    drifting = [dl.random_vs_time_split(seed=seed) for seed in seeds]
    steady = [dl.random_vs_time_split(seed=seed, drift=False) for seed in seeds]
    for run in drifting:  # the full gap is there in every seed
        assert run["random split"] > run["time split"] + 0.05
    # On average both parts of it are: the later period and training on the past.
    mean = {k: np.mean([r[k] for r in drifting]) for k in drifting[0]}
    assert mean["random split"] > mean["random split, days 80+"] + 0.02
    assert mean["random split, days 80+"] > mean["time split"] + 0.02
    # Without drift, no protocol differs by more than test-set noise.
    for run in steady:
        assert max(run.values()) - min(run.values()) < 0.03


def sampler_rows(lines: list[str]) -> dict[str, list[str]]:
    names = ("Algorithm R", "1/2-replace", "systematic")
    rows = {}
    for line in lines:
        for name in names:
            if line.startswith(name):
                rest = line[len(name) :].replace("< 0.001", "<0.001").split()
                rows[name] = rest  # counts, per-item p, seen, "of", total, joint p
    return rows


def test_page_quotes_the_sampler_checks():
    lines = module_output("snippets.concepts.data_and_labels").splitlines()
    rows = sampler_rows(lines)
    fair, biased, systematic = (
        rows["Algorithm R"],
        rows["1/2-replace"],
        rows["systematic"],
    )
    assert float(fair[1]) > 0.001 and float(fair[-1]) > 0.001
    assert biased[1] == "<0.001" and biased[-1] == "<0.001"
    assert float(systematic[1]) > 0.001 and systematic[-1] == "<0.001"
    for row, joiner in ((fair, " and "), (biased, " to ")):
        low, high = row[0].split("-")
        assert_page_quotes(PAGE, f"{low}{joiner}{high}")
    assert_page_quotes(PAGE, f"(p = {fair[1]})", f"(p = {systematic[1]})")
    assert_page_quotes(PAGE, f"Algorithm R (p = {fair[-1]})", "(p < 0.001)")
    assert_page_quotes(PAGE, f"only {systematic[2]} of the {systematic[4]} possible")


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.data_and_labels")
    lines = out.splitlines()
    focal = {line.split()[0]: line.split() for line in lines if line[:6].strip()}
    assert_page_quotes(PAGE, focal["0.9"][3], focal["0.1"][3])
    shares = [line.split("carry ")[1].split()[0] for line in lines if "carry" in line]
    assert float(shares[1].rstrip("%")) < float(shares[0].rstrip("%")) / 10
    assert_page_quotes(PAGE, *shares)
    optima = [line.split()[-1] for line in lines if "focal gamma=2" in line]
    assert_page_quotes(PAGE, f"{optima[0]}, {optima[1]} and {optima[2]}")
    rate_line = next(line for line in lines if line.startswith("base rate"))
    numbers = [w.rstrip(",") for w in rate_line.split() if w[0].isdigit()]
    assert_page_quotes(PAGE, *numbers)
    leaky = next(line for line in lines if line.startswith("oversample, then"))
    honest = next(line for line in lines if line.startswith("split, then"))
    assert_page_quotes(PAGE, *leaky.split()[-2:], *honest.split()[-2:])
    gradient = [line.split("loss, ")[1].split()[0] for line in lines if "carry" in line]
    assert float(gradient[1].rstrip("%")) < float(gradient[0].rstrip("%")) / 10
    assert_page_quotes(PAGE, f"{shares[0]} of the log loss and {gradient[0]} of its")
    assert_page_quotes(PAGE, f"{shares[1]} of the focal loss and {gradient[1]} of its")
    assert "held-out" in next(line for line in lines if line.startswith("scored on"))


def test_page_quotes_the_split_ablation():
    lines = module_output("snippets.concepts.data_and_labels").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Drifting"))
    table = {}
    for line in lines[start + 2 : start + 8]:
        name, rest = re.match(r"\s*(.*?)\s+(\d\.\d{3} .*)$", line).groups()
        table[name] = rest.split()  # mean, (min-max)[, no-drift mean, (min-max)]
    random_auc, late, time_auc = (
        float(table[name][0])
        for name in ("random split", "random split, days 80+", "time split")
    )
    gap, later, past = (
        float(table[name][0])
        for name in (
            "gap, random - time split",
            "later test period",
            "training on the past",
        )
    )
    assert random_auc > late > time_auc
    assert later > 0.01 and past > 0.01  # both parts of the gap, on average
    lowest_later = table["later test period"][1].strip("()").split("-")
    assert_page_quotes(
        PAGE,
        f"ROC-AUC of {random_auc:.3f} under a random split",
        f"{time_auc:.3f} when trained on the first 80 days",
        f"falls to {late:.3f}",
        f"accounts for {later:.3f} of the {gap:.3f} gap",
        f"for the other {past:.3f}",
        f"({lowest_later[0]} to {lowest_later[1]} for the first part)",
    )
    steady = {name: float(table[name][2]) for name in ("random split", "time split")}
    assert abs(steady["random split"] - steady["time split"]) < 0.01
    assert_page_quotes(
        PAGE,
        f"{steady['random split']:.3f} under the random split",
        f"{steady['time split']:.3f} under the time split",
    )


def test_uncertainty_sampling_finds_more_positives_and_ranks_better():
    random_runs = [dl.active_learning("random", seed=s) for s in (21, 22, 23)]
    active_runs = [dl.active_learning("uncertainty", seed=s) for s in (21, 22, 23)]
    assert np.mean([r["pr_auc"] for r in active_runs]) > np.mean(
        [r["pr_auc"] for r in random_runs]
    )
    for rand, active in zip(random_runs, active_runs, strict=True):
        assert active["chosen_positive_share"] > 3 * rand["chosen_positive_share"]
        # Same seed, same test set: the pairing the bootstrap relies on.
        np.testing.assert_array_equal(active["test_labels"], rand["test_labels"])
        # The share among all 200 labels mixes in the 40 shared random ones.
        assert active["positive_share"] < active["chosen_positive_share"]
    with pytest.raises(ValueError, match="strategy"):
        dl.active_learning("entropy")


def test_page_quotes_the_active_learning_spread():
    lines = module_output("snippets.concepts.data_and_labels").splitlines()
    shares = {}
    for strategy in ("random", "uncertainty"):
        line = next(x for x in lines if "test PR-AUC" in x and strategy in x)
        shares[strategy] = line.split("chosen ")[1].split()[0]
        assert_page_quotes(PAGE, line.split("PR-AUC ")[1].split()[0])
    assert_page_quotes(
        PAGE,
        f"{shares['uncertainty']} of the 160 labels",
        f"{shares['random']} for random sampling",
    )
    gain = next(x for x in lines if "uncertainty - random" in x)
    mean = gain.split("seed: ")[1].split()[0]
    low, high = gain.split("CI ")[1].rstrip(");").split(" to ")
    spread = next(x for x in lines if x.strip().startswith("min-max"))
    lo, hi = spread.split("min-max ")[1].split(" over")[0].split(" to ")
    assert float(low) > 0  # the interval over seeds excludes no gain
    assert_page_quotes(PAGE, f"{mean} on average", f"interval {low} to {high} over")
    assert_page_quotes(PAGE, f"from {lo} to {hi}")
    verdict = next(x for x in lines if "paired bootstrap" in x).split(": ")[1]
    counts = {w.split()[0]: int(w.split()[-1]) for w in verdict.split(", ")}
    assert sum(counts.values()) == 20 and counts["worse"] == 0
    assert_page_quotes(
        PAGE,
        f"favours uncertainty sampling in {counts['better']} of 20 seeds",
        f"a tie, in {counts['tie']}",
        "never favours random labelling",
    )
