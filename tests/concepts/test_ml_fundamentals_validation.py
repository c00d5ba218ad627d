"""The second fundamentals program (trivial predictors, validation, feature
importance, double descent) agrees with scikit-learn, with closed forms and with
independent implementations written here, and shows what the page claims."""

from __future__ import annotations

import re
from itertools import combinations
from math import erfc, sqrt

import numpy as np
import pytest
from guide import (
    assert_page_says,
    line_starting,
    module_output,
    output_rows,
    typographic_minus,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.model_selection import GroupKFold
from sklearn.neighbors import KNeighborsClassifier

from snippets.concepts import classification_metrics as cm
from snippets.concepts import ml_fundamentals_validation as mv

PAGE = "concepts/ml-fundamentals.md"


def block(title_start: str) -> list[str]:
    """The lines of one numbered part of the output, e.g. block("[5]")."""
    lines = module_output("snippets.concepts.ml_fundamentals_validation").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


# --- trivial predictors -------------------------------------------------------


def exact_random_ap(n_pos: int, n: int) -> float:
    """Mean AP over every placement of the positives, from AP = mean of i / r_i."""
    total, count = 0.0, 0
    for ranks in combinations(range(1, n + 1), n_pos):
        total += np.mean(np.arange(1, n_pos + 1) / np.array(ranks))
        count += 1
    return total / count


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_expected_random_ap_matches_exhaustive_enumeration(case):
    n_pos, n = case
    assert mv.expected_random_ap(n_pos, n) == pytest.approx(exact_random_ap(n_pos, n))


@pytest.mark.parametrize("n_pos, n", [(1, 2), (3, 17), (500, 10_000), (9, 10)])
def test_expected_random_ap_is_the_prior_plus_a_harmonic_term(n_pos, n):
    # The page's rewrite: pi + (1 - pi)(h_n - 1)/(n - 1), h_n the n-th harmonic number.
    pi, h_n = n_pos / n, sum(1 / k for k in range(1, n + 1))
    assert mv.expected_random_ap(n_pos, n) == pytest.approx(
        pi + (1 - pi) * (h_n - 1) / (n - 1)
    )


def test_null_auc_sd_matches_simulated_random_rankings():
    # AUC from ranks: (sum of the positives' ranks - P(P + 1)/2) / (P N).
    rng = np.random.default_rng(0)
    n_pos, n_neg = 40, 360
    ranks = rng.random((5_000, n_pos + n_neg)).argsort(axis=1)[:, :n_pos] + 1
    aucs = (ranks.sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert mv.null_auc_sd(n_pos, n_neg) == pytest.approx(aucs.std(), rel=0.04)


def test_trivial_predictors_match_the_closed_forms():
    prevalence, n = 0.05, 10_000
    measured = mv.trivial_scores(prevalence, n, range(30))
    closed = mv.trivial_closed_forms(prevalence, n)
    for name in ("constant 0.5", "prior"):
        for key, value in closed[name].items():
            assert measured[name][key][0] == pytest.approx(value), (name, key)
    zero = measured["always 0"]
    assert zero["log_loss"][0] == pytest.approx(
        -prevalence * np.log(np.finfo(float).eps)
    )
    random = measured["uniform random"]
    for key, value in closed["uniform random"].items():
        runs = random[key]
        assert abs(runs.mean() - value) < 4 * runs.std(ddof=1) / np.sqrt(runs.size)
    # The prior is the best constant on both proper scores.
    for c in np.linspace(0.01, 0.5, 50):
        y = np.r_[np.ones(500), np.zeros(9_500)]
        assert (
            skm.log_loss(y, np.full(y.size, c)) >= closed["prior"]["log_loss"] - 1e-12
        )
        assert skm.brier_score_loss(y, np.full(y.size, c)) >= closed["prior"]["brier"]


def test_the_guides_metrics_agree_with_sklearn_on_trivial_scores():
    y = np.r_[np.ones(50), np.zeros(950)].astype(int)
    for scores in (np.full(1_000, 0.05), np.random.default_rng(0).random(1_000)):
        sk = mv.score_with_sklearn(y, scores)
        assert cm.roc_auc(y, scores) == pytest.approx(sk["roc_auc"])
        assert cm.average_precision(y, scores) == pytest.approx(sk["pr_auc"])
        assert cm.log_loss(y, scores) == pytest.approx(sk["log_loss"])


# --- validation discipline ----------------------------------------------------


def test_expected_maximum_matches_simulated_maxima():
    rng = np.random.default_rng(0)
    sd = np.sqrt(401 / (12 * 200 * 200))  # the null sd, written out
    simulated = 0.5 + sd * rng.normal(size=(20_000, 30)).max(axis=1).mean()
    assert mv.expected_max_null_auc(200, 200, 30) == pytest.approx(simulated, abs=1e-3)
    assert mv.expected_max_null_auc(200, 200, 1) == pytest.approx(0.5)


def test_the_winner_is_optimistic_on_validation_and_no_better_than_chance_afresh():
    runs = np.array([mv.winners_curse(seed) for seed in range(20, 30)])
    assert runs[:, 0].min() > 0.52
    assert abs(runs[:, 1].mean() - 0.5) < 0.01


def test_plain_kfold_is_optimistic_only_when_groups_carry_the_label():
    knn = KNeighborsClassifier(25)
    leaky = np.array([mv.cv_vs_new_groups(knn, s, 1.5) for s in range(10, 14)])
    assert np.all(leaky[:, 0] - leaky[:, 2] > 0.03)
    assert abs(np.mean(leaky[:, 1] - leaky[:, 2])) < 0.03
    clean = np.array([mv.cv_vs_new_groups(knn, s, 0.0) for s in range(10, 14)])
    assert abs(np.mean(clean[:, 0] - clean[:, 2])) < 0.03


def test_groups_never_straddle_a_group_kfold_split():
    _, _, group = mv.grouped_world(30, 5, 1.0, np.random.default_rng(0))
    for train, test in GroupKFold(5).split(group, groups=group):
        assert not set(group[train]) & set(group[test])


# --- feature importance and double descent -----------------------------------


def test_impurity_importance_rewards_a_noise_feature_that_permutation_does_not():
    alone = [mv.importances(seed, correlated_copy=False) for seed in range(5, 10)]
    names = list(alone[0]["names"])
    noise, binary = names.index("noise, unique values"), names.index("binary")
    assert all(r["mdi"][noise] > 3 * r["mdi"][binary] for r in alone)
    permutation = np.array([r["permutation"] for r in alone])
    assert (
        abs(permutation[:, noise].mean()) < 0.015 < 0.03 < permutation[:, binary].mean()
    )
    # A near-copy of the strong feature takes about half its permutation importance.
    copied = [mv.importances(seed, correlated_copy=True) for seed in range(5, 10)]
    signal_alone = permutation[:, 0].mean()
    assert np.mean([r["permutation"][0] for r in copied]) < 0.75 * signal_alone


def test_min_norm_and_leave_one_out_match_direct_computations():
    # Rebuild seed 0's features and check both fits against numpy and refits.
    widths = (20, 200)
    min_norm, ridge = mv.double_descent(0, widths)
    assert np.all(np.isfinite(min_norm)) and np.all(ridge < min_norm * 1.5)
    rng = np.random.default_rng(3)
    feats, y = rng.normal(size=(30, 50)), rng.normal(size=30)
    lam = 0.3
    u, s, _vt = np.linalg.svd(feats, full_matrices=False)
    hat = (u * (s**2 / (s**2 + lam))) @ u.T
    shortcut = (y - hat @ y) / (1 - np.diag(hat))
    refits = []
    for i in range(30):
        keep = np.arange(30) != i
        w = np.linalg.solve(
            feats[keep].T @ feats[keep] + lam * np.eye(50), feats[keep].T @ y[keep]
        )
        refits.append(y[i] - feats[i] @ w)
    assert np.allclose(shortcut, refits)


def test_double_descent_peaks_at_the_interpolation_threshold():
    widths = (20, 100, 1_000)
    runs = np.array([mv.double_descent(seed, widths) for seed in range(10, 15)])
    min_norm = np.median(runs[:, 0], axis=0)
    ridge = np.median(runs[:, 1], axis=0)
    assert min_norm[1] > 10 * max(min_norm[0], min_norm[2])
    assert min_norm[2] < min_norm[0]
    assert ridge.max() < 1.5 * ridge.min()


# --- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: mv.expected_random_ap(5, 3), ValueError),
        (lambda: mv.expected_random_ap(2, 10.0), TypeError),
        (lambda: mv.trivial_closed_forms(0.7, 100), ValueError),
        (lambda: mv.null_auc_sd(0, 10), ValueError),
        (lambda: mv.double_descent(0, (10, 0)), ValueError),
        (lambda: mv.grouped_world(10, 5, -1.0, np.random.default_rng(0)), ValueError),
        (lambda: mv.winners_curse(0, n_candidates=0), ValueError),
    ],
)
def test_bad_input_fails_clearly(call, error):
    with pytest.raises(error):
        call()


# --- the page quotes the program -----------------------------------------------


def says(*fragments: str) -> None:
    assert_page_says(PAGE, *fragments)


minus, rows, line_after = typographic_minus, output_rows, line_starting


def test_page_quotes_the_trivial_predictors():
    part = block("[4]")
    prevalence, n = re.search(r"prevalence (\d+)%, n = ([\d,]+)", part[0]).groups()
    pi = int(prevalence) / 100
    says(f"{n} examples with {prevalence}% positives")
    start = part.index(line_after(part, "predictor"))
    table = [line.split() for line in part[start + 1 : start + 9]]
    always_zero, prior, random_formula = table[0], table[4], table[7]
    says(f"shows as {always_zero[-2]}", f"log loss, {prior[-2]}")
    says(f"Here that is {random_formula[3]}")
    assert table[6][5] == random_formula[3]  # "so is the mean of 20 random rankings"
    says(f"{float(always_zero[3]):.2f} at {prevalence}% positives")
    says(f"\\approx {-np.log(np.finfo(float).eps):.0f}")
    low, high, sd, null = re.findall(r"\d\.\d{4}", line_after(part, "random ROC-AUC"))
    says(f"from {low} to {high} (standard\n  deviation {sd})")
    says(f"= {null} here")
    rows_total = int(n.replace(",", ""))
    n_pos = round(pi * rows_total)
    says(f"with\n  {n_pos} positives")
    # The null interval, z and p of a score of 0.53, from the null sd written out.
    null_sd = sqrt((rows_total + 1) / (12 * n_pos * (rows_total - n_pos)))
    assert float(null) == pytest.approx(null_sd, abs=5e-5)
    interval = re.findall(r"\d\.\d{4}", line_after(part, "null 95%"))
    assert interval == [f"{0.5 + k * 1.96 * null_sd:.4f}" for k in (-1, 1)]
    says(f"between {interval[0]} and {interval[1]} 95% of the time")
    z, p = re.search(r"z = (\d\.\d\d), two-sided p = (\d\.\d{3})", part[-2]).groups()
    assert float(interval[1]) < 0.53  # "just outside"
    assert z == f"{0.03 / null_sd:.2f}"
    assert abs(float(p) - erfc(float(z) / sqrt(2))) < 0.002
    says(f"scoring 0.53 is just outside (\\(z\\) = {z}, two-sided \\(p\\) = {p})")
    says(f"random runs, here {high}")
    trapezoid = re.search(r"\d\.\d{4}", part[-1])[0]
    assert float(trapezoid) == pytest.approx((1 + pi) / 2)
    assert float(trapezoid) > 10 * pi  # "more than ten times the prevalence"
    says(f"gives every constant {trapezoid}")


def test_page_quotes_the_validation_demos():
    part = block("[5]")
    winner, _, high, approx = re.findall(r"\d\.\d{3}", part[2])
    fresh = re.findall(r"\d\.\d{3}", part[3])[0]
    says(f"scores {winner} on average over 20 seeds, and as much as {high}")
    says(f"scores {fresh}.", f"gives {approx}.")
    start = part.index(line_after(part, "model "))
    knn, clean, logistic = (line.split() for line in part[start + 1 : start + 4])

    def spread(row, i):
        return f"{minus(row[i].strip('[,'))} to {minus(row[i + 1].strip(']'))}"

    says(f"{knn[2]} against {knn[8]}", f"by {spread(knn, 3)} on every seed")
    assert float(knn[3].strip("[,")) > 0  # optimistic on every seed
    says(f"estimates {knn[5]}, within\n  {spread(knn, 6)}")
    says(f"K-fold's {clean[2]} is right ({clean[8]}")
    says(f"({logistic[2]}, truth {logistic[8]})")
    seeds = re.search(r"seeds \(of (\d+)\)", line_after(part, "seeds (of"))[1]
    ranks = line_after(part, "seeds (of")
    assert ranks.endswith(f"K-fold {seeds}, GroupKFold 0, new groups 0")
    says(f"first on\n  all {seeds} seeds", f"first on all {seeds}")
    split = line_after(part, "TimeSeriesSplit")
    gap = re.search(r"gap=(\d+)", split)[1]
    first = re.search(
        r"train days (\d+-\d+), test days (\d+-\d+)", line_after(part, "fold 1")
    ).groups()
    says(f"days {first[0]} and validates on days {first[1]}")
    assert gap == "7"
    says("the seven days between", "labels that mature within a week")


def test_page_quotes_importance_and_double_descent():
    part = block("[6]")
    alone = {line.rsplit(None, 2)[0]: line.split()[-2:] for line in part[2:6]}
    copied = {line.rsplit(None, 2)[0]: line.split()[-2:] for line in part[7:12]}
    noise, binary = alone["noise, unique values"], alone["binary"]
    says(f"values {noise[0]}, seven times the\nreal binary feature's {binary[0]}")
    assert round(float(noise[0]) / float(binary[0])) == 7
    says(f"gives it {noise[1]} against\n{binary[1]}")
    signal_alone, signal_copied = alone["signal"][1], copied["signal"][1]
    says(
        f"from\n{signal_alone} to {signal_copied}",
        f"gets {copied['signal copy'][1]}",
    )
    dd = rows(block("[7]")[2:])
    min_norm = {p: float(r[1]) for p, r in dd.items()}
    ridge = [r[2] for r in dd.values()]
    small = min(("10", "20", "50"), key=min_norm.get)
    says(f"at {small} features ({dd[small][1]})")
    assert max(min_norm, key=min_norm.get) == "100"
    says(f"peaks at {dd['100'][1]} with 100 features")
    widest = list(dd)[-1]
    assert min_norm[widest] < min_norm[small]
    says(f"to {dd[widest][1]} with {widest} features")
    says(f"between {min(ridge, key=float)} and {max(ridge, key=float)}")
