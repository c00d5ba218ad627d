"""Samplers, focal loss and the split-leakage demos behave as the page claims."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
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
    assert dl.uniformity_p_value(fair) > 0.001
    # The test has power: the same check rejects a sampler that favours late items.
    assert dl.uniformity_p_value(biased) < 1e-6
    assert biased[-1] > 2 * biased[0]


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


def test_focal_loss_rejects_bad_parameters():
    with pytest.raises(ValueError, match="gamma"):
        dl.focal_loss([0, 1], [0.2, 0.8], gamma=-1)
    with pytest.raises(ValueError, match="alpha"):
        dl.focal_loss([0, 1], [0.2, 0.8], alpha=1.5)
    with pytest.raises(ValueError, match="same length"):
        dl.focal_loss([0, 1], [0.2])


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


def test_random_split_overestimates_a_drifting_concept():
    results = dl.random_vs_time_split(seed=1)
    assert results["random split"] > results["time split"] + 0.03


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.data_and_labels")
    lines = out.splitlines()
    fair = next(line for line in lines if "Algorithm R" in line)
    assert "p = " in fair and float(fair.split("p = ")[1]) > 0.001
    biased = next(line for line in lines if "1/2-replace" in line)
    assert "p < 0.001" in biased
    for line in (fair, biased):
        low, high = line.split("counts ")[1].split(",")[0].split("-")
        assert_page_quotes(
            PAGE, f"{low} and {high}" if line is fair else f"{low} to {high}"
        )
    assert_page_quotes(PAGE, f"p {fair.split('p ')[-1]}", "p < 0.001")
    focal = {line.split()[0]: line.split() for line in lines if line[:6].strip()}
    assert_page_quotes(PAGE, focal["0.9"][3], focal["0.1"][3])
    shares = [line.split("carry ")[1].split()[0] for line in lines if "carry" in line]
    assert float(shares[1].rstrip("%")) < float(shares[0].rstrip("%")) / 10
    assert_page_quotes(PAGE, *shares)
    rate_line = next(line for line in lines if line.startswith("true rate"))
    numbers = [w.rstrip(",") for w in rate_line.split() if w[0].isdigit()]
    assert_page_quotes(PAGE, *numbers)
    leaky = next(line for line in lines if line.startswith("oversample, then"))
    honest = next(line for line in lines if line.startswith("split, then"))
    assert_page_quotes(PAGE, *leaky.split()[-2:], *honest.split()[-2:])
    random_auc = next(line for line in lines if "random split" in line).split()[-1]
    time_auc = next(line for line in lines if "time split" in line).split()[-1]
    assert_page_quotes(PAGE, random_auc, time_auc)


def test_uncertainty_sampling_finds_more_positives_and_ranks_better():
    random_runs = [dl.active_learning("random", seed=s) for s in (1, 2, 3)]
    active_runs = [dl.active_learning("uncertainty", seed=s) for s in (1, 2, 3)]
    assert np.mean([r["pr_auc"] for r in active_runs]) > np.mean(
        [r["pr_auc"] for r in random_runs]
    )
    for rand, active in zip(random_runs, active_runs, strict=True):
        assert active["positive_share"] > 3 * rand["positive_share"]
    with pytest.raises(ValueError, match="strategy"):
        dl.active_learning("entropy")


def test_page_quotes_the_active_learning_result():
    lines = module_output("snippets.concepts.data_and_labels").splitlines()
    for strategy in ("random", "uncertainty"):
        line = next(x for x in lines if "test PR-AUC" in x and strategy in x)
        pr_auc = line.split("PR-AUC ")[1].split(",")[0]
        share = line.split("labels ")[1]
        assert_page_quotes(PAGE, pr_auc, share)
