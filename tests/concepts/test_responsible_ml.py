"""Fairness metrics agree with scikit-learn; the Laplace mechanism is epsilon-DP."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy import stats
from sklearn.metrics import confusion_matrix

from snippets.concepts import responsible_ml as rm
from snippets.concepts.calibration import expected_calibration_error
from snippets.concepts.classification_metrics import cost_minimising_threshold

PAGE = "concepts/responsible-ml.md"


def test_keyed_pseudonym_is_rfc_4231_hmac_sha256():
    # RFC 4231, test case 1: key = 20 bytes of 0x0b, data = "Hi There".
    assert rm.keyed_pseudonym("Hi There", b"\x0b" * 20) == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    key = bytes(range(32))
    assert rm.keyed_pseudonym("42", key) == rm.keyed_pseudonym("42", key)  # joinable
    assert rm.keyed_pseudonym("42", key) != rm.keyed_pseudonym("42", key[::-1])
    with pytest.raises(ValueError, match="16 random bytes"):
        rm.keyed_pseudonym("42", b"short")


def test_a_plain_hash_is_reversed_by_enumeration_and_a_keyed_one_is_not():
    ids = [f"{i:04d}" for i in range(10_000)]
    users = ids[::97]
    plain = [rm.plain_hash(u) for u in users]
    assert rm.reidentified(plain, ids, rm.plain_hash) == len(users)
    key, wrong = bytes(range(32)), bytes(range(1, 33))
    keyed = [rm.keyed_pseudonym(u, key) for u in users]
    assert rm.reidentified(keyed, ids, lambda u: rm.keyed_pseudonym(u, wrong)) == 0
    # With the key, the pseudonyms are reversible: the key is what protects them.
    assert rm.reidentified(keyed, ids, lambda u: rm.keyed_pseudonym(u, key)) == len(
        users
    )


def random_decisions(seed: int, n: int = 2_000):
    rng = np.random.default_rng(seed)
    group = rng.choice(["x", "y", "z"], size=n)
    y = (rng.random(n) < np.where(group == "x", 0.4, 0.15)).astype(int)
    pred = (rng.random(n) < 0.2 + 0.5 * y).astype(int)
    return y, pred, group


@pytest.mark.parametrize("seed", range(4))
def test_group_rates_match_sklearn_confusion_matrix(seed):
    y, pred, group = random_decisions(seed)
    rates = rm.group_rates(y, pred, group)
    assert set(rates) == {"x", "y", "z"}
    for g, r in rates.items():
        mine = group == g
        tn, fp, fn, tp = confusion_matrix(y[mine], pred[mine], labels=[0, 1]).ravel()
        assert r.size == mine.sum()
        assert r.selection_rate == pytest.approx((tp + fp) / mine.sum())
        assert r.tpr == pytest.approx(tp / (tp + fn))
        assert r.fpr == pytest.approx(fp / (fp + tn))
        assert r.ppv == pytest.approx(tp / (tp + fp))
    gaps = rm.fairness_gaps(rates)
    tprs = [r.tpr for r in rates.values()]
    fprs = [r.fpr for r in rates.values()]
    assert gaps["equal opportunity (TPR) gap"] == pytest.approx(max(tprs) - min(tprs))
    assert gaps["equalised odds difference"] == pytest.approx(
        max(max(tprs) - min(tprs), max(fprs) - min(fprs))
    )


@pytest.mark.parametrize("seed", range(4))
def test_chouldechova_identity_holds_exactly_on_any_confusion_matrix(seed):
    y, pred, group = random_decisions(seed)
    for r in rm.group_rates(y, pred, group).values():
        assert rm.fpr_from_identity(r.base_rate, r.ppv, 1 - r.tpr) == pytest.approx(
            r.fpr
        )


def test_threshold_for_tpr_is_the_highest_that_reaches_the_target():
    rng = np.random.default_rng(1)
    y = (rng.random(5_000) < 0.2).astype(int)
    score = rng.random(5_000)
    for target in (0.1, 0.5, 0.73, 1.0):
        t = rm.threshold_for_tpr(y, score, target)
        assert np.mean(score[y == 1] >= t) >= target
        higher = score[(y == 1) & (score > t)]
        if higher.size:  # the next positive score up would miss the target
            assert np.mean(score[y == 1] >= higher.min()) < target


def test_calibrated_model_still_has_unequal_error_rates():
    """Kleinberg et al.: calibration + different base rates -> unequal TPR/FPR."""
    y, score, group = rm.simulate_groups(n_per_group=50_000, seed=3)
    for g in ("A", "B"):
        mine = group == g
        assert expected_calibration_error(y[mine], score[mine]) < 0.01
    rates = rm.group_rates(y, (score >= rm.THRESHOLD).astype(int), group)
    assert rates["A"].base_rate > 2 * rates["B"].base_rate
    gaps = rm.fairness_gaps(rates)
    assert gaps["equal opportunity (TPR) gap"] > 0.2
    assert gaps["FPR gap"] > 0.2
    # Balance for the positive class fails too: positives in A get higher scores.
    pos_a = score[(group == "A") & (y == 1)].mean()
    pos_b = score[(group == "B") & (y == 1)].mean()
    assert pos_a - pos_b > 0.1


def test_equalising_tpr_costs_errors_and_leaves_an_fpr_gap():
    y, score, group = rm.simulate_groups(n_per_group=50_000, seed=4)
    in_b = group == "B"
    single = (score >= rm.THRESHOLD).astype(int)
    tpr_a = rm.group_rates(y, single, group)["A"].tpr
    t_b = rm.threshold_for_tpr(y[in_b], score[in_b], tpr_a)
    assert t_b < rm.THRESHOLD
    split = (score >= np.where(in_b, t_b, rm.THRESHOLD)).astype(int)
    gaps = rm.fairness_gaps(rm.group_rates(y, split, group))
    assert gaps["equal opportunity (TPR) gap"] < 0.005
    assert gaps["FPR gap"] > 0.05
    # t = 0.3 is not error-minimising (that is 0.5), but moving B away from it still
    # adds errors, because B's cut moves further from 0.5.
    assert np.sum(split != y) > np.sum(single != y)


@pytest.mark.parametrize(("cost_fp", "best"), [(0.3, 0.3), (0.5, 0.5), (0.7, 0.7)])
def test_on_calibrated_scores_the_cost_optimal_threshold_is_cost_fp_share(
    cost_fp, best
):
    """Brute-force threshold sweep per group lands on c_FP / (c_FP + c_FN)."""
    y, score, group = rm.simulate_groups(n_per_group=100_000, seed=5)
    for g in ("A", "B"):
        mine = group == g
        t, _ = cost_minimising_threshold(y[mine], score[mine], cost_fp, 1 - cost_fp)
        assert t == pytest.approx(best, abs=0.03)


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 5.0])
def test_laplace_noise_matches_scipy_and_its_mean_abs_error_is_the_scale(epsilon):
    rng = np.random.default_rng(11)
    noise = rm.laplace_count(500, epsilon, rng, size=50_000) - 500
    scale = 1 / epsilon
    assert stats.kstest(noise, stats.laplace(scale=scale).cdf).pvalue > 0.001
    # Mean absolute deviation of Laplace(b) is b; SciPy agrees analytically.
    assert stats.laplace(scale=scale).expect(abs) == pytest.approx(scale)
    assert np.mean(np.abs(noise)) == pytest.approx(scale, rel=0.02)


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 2.0])
def test_laplace_mechanism_satisfies_epsilon_dp_and_the_bound_is_tight(epsilon):
    """Density ratio of outputs for neighbouring counts c and c + 1 <= e^epsilon."""
    outputs = np.linspace(-50, 60, 2_001)
    here = stats.laplace(loc=10, scale=1 / epsilon).logpdf(outputs)
    neighbour = stats.laplace(loc=11, scale=1 / epsilon).logpdf(outputs)
    log_ratio = np.abs(here - neighbour)
    assert log_ratio.max() <= epsilon + 1e-9
    assert log_ratio.max() == pytest.approx(epsilon)  # reached outside [10, 11]


def test_advanced_composition_formula_and_where_it_beats_plain_addition():
    k, eps, delta = 100, 0.1, 1e-6
    by_hand = math.sqrt(2 * k * math.log(1 / delta)) * eps + k * eps * (
        math.exp(eps) - 1
    )
    assert rm.advanced_composition_epsilon(eps, k, delta) == pytest.approx(by_hand)
    assert rm.advanced_composition_epsilon(0.1, 10, 1e-6) > 10 * 0.1  # few releases
    assert rm.advanced_composition_epsilon(0.1, 1_000, 1e-6) < 1_000 * 0.1  # many
    # A larger slack buys a smaller epsilon.
    assert rm.advanced_composition_epsilon(0.1, 100, 1e-3) < by_hand
    with pytest.raises(ValueError, match="delta_prime"):
        rm.advanced_composition_epsilon(0.1, 10, 0.0)


def test_bad_input_raises_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="epsilon must be a positive"):
        rm.laplace_count(10, 0.0, rng)
    with pytest.raises(ValueError, match="epsilon must be a positive"):
        rm.laplace_count(10, float("nan"), rng)
    with pytest.raises(ValueError, match="cannot be negative"):
        rm.laplace_count(-1, 1.0, rng)
    with pytest.raises(TypeError, match="integer count"):
        rm.laplace_count(2.5, 1.0, rng)
    with pytest.raises(ValueError, match="one entry per example"):
        rm.group_rates([0, 1, 1], [0, 1, 0], ["a", "b"])
    with pytest.raises(ValueError, match="both outcomes"):
        rm.group_rates([0, 1, 1, 1], [0, 1, 0, 1], ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="at least two groups"):
        rm.fairness_gaps(rm.group_rates([0, 1], [0, 1], ["a", "a"]))
    with pytest.raises(ValueError, match="target TPR"):
        rm.threshold_for_tpr([0, 1], [0.2, 0.8], 0.0)
    with pytest.raises(ValueError, match="no positive"):
        rm.threshold_for_tpr([0, 0], [0.2, 0.8], 0.5)
    with pytest.raises(ValueError, match="prevalence"):
        rm.fpr_from_identity(1.0, 0.5, 0.1)


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.responsible_ml")
    single, split = out.split("Per-group thresholds")
    row = re.compile(r"^\s+([AB]) 0\.30 +(\S+) +(\S+) (\S+) (\S+) (\S+)", re.M)
    one = {m[1]: m.groups()[1:] for m in row.finditer(single)}
    # base rate, selected, TPR, FPR, PPV of each group at the single threshold
    assert_page_quotes(PAGE, *one["A"], *one["B"])
    gap = re.search(r"equal opportunity \(TPR\) gap +(\S+)", single)[1]
    dp = re.search(r"demographic parity difference +(\S+)", single)[1]
    assert_page_quotes(PAGE, gap, dp)
    calib = re.findall(r"^\s+([AB]) (0\.\d{3}) +(\S+) +(\S+)$", out, re.M)
    assert_page_quotes(PAGE, *[v for row in calib for v in row[1:]])
    row_b = re.search(r"^\s+B (0\.\d\d) +\S+ +(\S+) (\S+) (\S+) (\S+)", split, re.M)
    assert_page_quotes(PAGE, *row_b.groups())
    errors = re.search(r"errors (\S+) -> (\S+) \((\S+)\)", split)
    assert_page_quotes(PAGE, *errors.groups())
    ratio = re.search(r"false negative = (\S+) false positives", split)[1]
    cost = re.search(r"^\s+(\S+) -> (\S+) \((\S+)\)$", split, re.M)
    assert float(cost[2].replace(",", "")) > float(cost[1].replace(",", ""))
    assert_page_quotes(PAGE, f"costs {ratio} false positives")
    assert_page_quotes(PAGE, "from {} to {} ({})".format(*cost.groups()))
    plain = re.search(r"plain SHA-256 +re-identified (\S+) of (\S+)", out)
    keyed = re.search(r"HMAC-SHA256, secret key +re-identified (\S+) of (\S+)", out)
    assert plain[1] == plain[2] and keyed[1] == "0"
    assert_page_quotes(PAGE, "{} of {} plain".format(*plain.groups()))
    assert_page_quotes(PAGE, "finds {} of {}".format(*keyed.groups()))
    composition = out.split("advanced\n")[1].strip().splitlines()
    for line in composition:
        k, sequential, advanced = line.split()
        assert_page_quotes(
            PAGE,
            f"{sequential} by plain addition" if k == "10" else sequential,
            advanced,
        )
    table = out.split("KS p\n")[1].split("\n\n")[0].strip().splitlines()
    for line in table:
        _, scale, mae, p95, *_ = line.split()
        assert abs(float(mae) - float(scale)) <= 0.02 * float(scale) + 0.005
        assert_page_quotes(PAGE, mae, p95)


def test_builds_in_box_states_the_simulated_world():
    # The box names the two Beta worlds the snippet draws; each mean is a / (a + b).
    (a_a, b_a), (a_b, b_b) = rm.GROUP_BETAS["A"], rm.GROUP_BETAS["B"]
    mean_a, mean_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
    assert_page_quotes(PAGE, f"Beta({a_a}, {b_a}) in group A (mean {mean_a:.1f})")
    assert_page_quotes(PAGE, f"Beta({a_b}, {b_b}) in group B (mean {mean_b:.1f})")
    assert_page_quotes(PAGE, f"t = {rm.THRESHOLD} is the optimal threshold")
