"""IPW-trained rankers beat click-trained ones; our logistic fit equals sklearn's."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from sklearn.linear_model import LogisticRegression

from snippets.concepts import position_bias as pb

PAGE = "concepts/retrieval-and-ranking.md"


@pytest.fixture(scope="module")
def printed():
    """Parsed output: propensity rows and ranker rows (NDCG, weights...)."""
    blocks = module_output("snippets.concepts.position_bias").split("\n\n")
    rows = {}
    for line in "\n".join(blocks[:2]).splitlines()[1:]:
        if line.strip() and not line.startswith(("rank ", "ranker")):
            rows[line[:17].strip()] = [float(x) for x in line[17:].split()]
    return rows


@pytest.fixture(scope="module")
def over_seeds():
    """The seeds block: ranker -> (mean, min, max); (a, b) -> (mean, low, high, tie)."""
    block = module_output("snippets.concepts.position_bias").split("\n\n")[2]
    spread = {
        m[1]: tuple(float(x) for x in m.groups()[1:])
        for m in re.finditer(r"^(\S.*?) +([\d.]+) +([\d.]+) +([\d.]+)$", block, re.M)
    }
    pairs = {
        (m[1], m[2]): (float(m[3]), float(m[4]), float(m[5]), bool(m[6]))
        for m in re.finditer(
            r"^  (.+?) minus (.+?) +(\S+) \[(\S+), (\S+)\]( +tie)?$", block, re.M
        )
    }
    seeds = int(re.match(r"(\d+) seeds", block)[1])
    return seeds, spread, pairs


@pytest.fixture(scope="module")
def small_log():
    queries = pb.make_queries(300, seed=5)
    return queries, pb.log_clicks(queries, sessions=20, seed=6)


def test_fit_logistic_matches_sklearn_on_binary_targets(small_log):
    _, log = small_log
    ours = pb.fit_logistic(log.features, log.clicked)
    theirs = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1_000)
    theirs.fit(log.features, log.clicked)
    np.testing.assert_allclose(ours[0], theirs.intercept_[0], atol=2e-3)
    np.testing.assert_allclose(ours[1:], theirs.coef_[0], atol=2e-3)


def test_ipw_targets_are_unbiased_for_relevance(small_log):
    _, log = small_log
    targets = pb.ipw_targets(log, pb.examination(np.arange(1, 11)))
    relevance = pb.true_relevance(log.features)
    standard_error = targets.std() / np.sqrt(len(targets))
    assert abs(targets.mean() - relevance.mean()) < 3 * standard_error
    assert log.clicked.mean() < relevance.mean() / 2  # raw clicks undercount a lot


def test_randomised_sessions_recover_the_examination_curve(small_log):
    _, log = small_log
    estimated = pb.estimate_examination(log)
    np.testing.assert_allclose(estimated[:5], pb.examination(np.arange(1, 6)), atol=0.1)


def test_naive_clicks_learn_the_old_rankers_bias_and_ipw_does_not(small_log):
    _, log = small_log
    test = pb.make_queries(200, seed=9)
    regular = log.subset(~log.randomised)
    naive = pb.fit_logistic(regular.features, pb.naive_targets(regular))
    ipw = pb.fit_logistic(
        regular.features, pb.ipw_targets(regular, pb.examination(np.arange(1, 11)))
    )
    assert naive[2] > 0.5 and abs(ipw[2]) < 0.25  # weight on the old favourite
    assert pb.mean_ndcg(pb.score(ipw, test), test) > pb.mean_ndcg(
        pb.score(naive, test), test
    )


def test_without_a_position_confound_naive_clicks_rank_fine():
    queries = pb.make_queries(300, seed=3)
    shuffled = pb.log_clicks(queries, sessions=20, randomised_share=1.0, seed=4)
    naive = pb.fit_logistic(shuffled.features, pb.naive_targets(shuffled))
    assert abs(naive[2]) < 0.2  # no spurious weight when positions are random


def test_ndcg_of_true_relevance_is_one_and_of_its_reverse_is_lower():
    queries = pb.make_queries(50, seed=1)
    truth = pb.true_relevance(queries)
    assert pb.mean_ndcg(truth, queries) == pytest.approx(1.0)
    assert pb.mean_ndcg(-truth, queries) < 0.7


def test_printed_table_supports_the_claims(printed):
    assert printed["old ranker"][0] < printed["naive clicks"][0]
    assert printed["naive clicks"][0] < printed["IPW, estimated P"][0]
    assert printed["IPW, true P"][0] == pytest.approx(1.0, abs=0.01)
    assert printed["naive clicks"][2] > 0.5 > abs(printed["IPW, true P"][2])
    np.testing.assert_allclose(
        printed["estimated"], printed["true P(examine)"], atol=0.05
    )


def test_over_seeds_ipw_beats_naive_clicks_and_estimated_p_ties_true_p(over_seeds):
    seeds, spread, pairs = over_seeds
    assert seeds >= 5 and set(spread) == set(pb.RANKERS)
    for name, (mean, low, high) in spread.items():
        assert low <= mean <= high, name
    assert spread["naive clicks"][2] < spread["IPW, estimated P"][1]  # every seed
    gain = pairs["IPW, true P", "naive clicks"]
    assert gain[1] > 0 and not gain[3]
    tie = pairs["IPW, estimated P", "IPW, true P"]
    assert tie[1] <= 0 <= tie[2] and tie[3]
    assert abs(tie[0]) < gain[0] / 50  # tiny next to the gain over naive clicks


def test_page_quotes_the_numbers_the_code_prints(printed, over_seeds):
    assert_page_quotes(
        PAGE,
        f"{printed['old ranker'][0]:.3f}",
        f"{printed['naive clicks'][0]:.3f}",
        f"{printed['IPW, true P'][0]:.3f}",
        f"{printed['IPW, estimated P'][0]:.3f}",
        f"{printed['naive clicks'][2]:.2f}",
        f"{printed['estimated'][-1]:.2f}",
    )
    seeds, spread, pairs = over_seeds
    naive, ipw = spread["naive clicks"], spread["IPW, estimated P"]
    gain = pairs["IPW, estimated P", "naive clicks"]
    tie = pairs["IPW, estimated P", "IPW, true P"]
    quoted = [f"{seeds} seeds", f"{naive[1]:.3f} to {naive[2]:.3f}"]
    quoted += [f"{ipw[1]:.3f} to {ipw[2]:.3f}", f"+{gain[0]:.4f}"]
    quoted += [f"−{abs(tie[0]):.4f} [−{abs(tie[1]):.4f}, +{tie[2]:.4f}]"]
    assert_page_quotes(PAGE, *quoted)


def test_bad_input_fails_clearly(small_log):
    _, log = small_log
    with pytest.raises(ValueError, match="1-based"):
        pb.examination(np.array([0, 1]))
    with pytest.raises(ValueError, match="one entry per rank"):
        pb.ipw_targets(log, np.ones(3))
    with pytest.raises(ValueError, match="clip"):
        pb.ipw_targets(log, np.ones(10), clip=0)
    with pytest.raises(ValueError, match="non-negative"):
        pb.fit_logistic(np.zeros((2, 1)), np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        pb.fit_logistic(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="randomised"):
        pb.estimate_examination(log.subset(~log.randomised))
    with pytest.raises(ValueError, match="docs_per_query"):
        pb.make_queries(5, docs_per_query=1)
    with pytest.raises(ValueError, match=r"\(queries, docs\)"):
        pb.mean_ndcg(np.zeros(3), pb.make_queries(2))
