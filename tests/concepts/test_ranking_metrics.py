"""Our ranking metrics equal scikit-learn's, behave as claimed, and reject bad input."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from snippets.concepts import ranking_metrics as rm

PAGE = "concepts/ranking-metrics.md"


def graded_queries(seed: int, n_queries: int = 60, n_items: int = 25):
    """Random graded relevance (0..3) and tie-free scores for many queries."""
    rng = np.random.default_rng(seed)
    grades = rng.integers(0, 4, size=(n_queries, n_items))
    grades[:, 0] = np.maximum(grades[:, 0], 1)  # every query has a relevant item
    scores = grades + rng.normal(0, 1.5, size=grades.shape)  # continuous: no ties
    return grades, scores


def ranked_ids(scores_row: np.ndarray) -> list[int]:
    return np.argsort(-scores_row).tolist()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 3, 10, 25])
def test_ndcg_matches_sklearn_over_many_queries(seed, k):
    grades, scores = graded_queries(seed)
    ours = [
        rm.ndcg_at_k(ranked_ids(s), dict(enumerate(g.tolist())), k)
        for g, s in zip(grades, scores, strict=True)
    ]
    assert np.mean(ours) == pytest.approx(skm.ndcg_score(grades, scores, k=k))
    # Exponential gain is sklearn's NDCG applied to the gains 2^rel - 1.
    ours_exp = [
        rm.ndcg_at_k(ranked_ids(s), dict(enumerate(g.tolist())), k, "exponential")
        for g, s in zip(grades, scores, strict=True)
    ]
    assert np.mean(ours_exp) == pytest.approx(
        skm.ndcg_score(np.exp2(grades) - 1, scores, k=k)
    )


def test_mean_over_queries_is_sklearns_mean_ndcg():
    grades, scores = graded_queries(9)
    runs = {q: ranked_ids(s) for q, s in enumerate(scores)}
    judged = {q: dict(enumerate(g.tolist())) for q, g in enumerate(grades)}
    ours = rm.mean_over_queries(rm.ndcg_at_k, runs, judged, k=5)
    assert ours == pytest.approx(skm.ndcg_score(grades, scores, k=5))


def test_sklearn_averages_tied_scores_where_a_ranking_cannot():
    # Two items tied at the top, one relevant: sklearn splits the gain over the tie.
    grades, scores = np.array([[1, 0, 0]]), np.array([[0.9, 0.9, 0.1]])
    relevant_first = rm.ndcg_at_k([0, 1, 2], {0: 1, 1: 0, 2: 0}, 3)
    relevant_second = rm.ndcg_at_k([1, 0, 2], {0: 1, 1: 0, 2: 0}, 3)
    tied = skm.ndcg_score(grades, scores)
    assert relevant_second < tied < relevant_first
    assert tied == pytest.approx((relevant_first + relevant_second) / 2)


def test_sklearn_scores_a_query_without_relevant_items_zero_where_we_raise():
    grades = np.array([[0, 0, 0], [1, 0, 0]])
    scores = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])  # second query: perfect
    assert skm.ndcg_score(grades, scores) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="undefined"):
        rm.ndcg_at_k([0, 1, 2], {0: 0, 1: 0, 2: 0}, 3)


@pytest.mark.parametrize("seed", range(6))
def test_average_precision_matches_sklearn_when_everything_is_ranked(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random(80) < 0.25).astype(int)
    labels[0] = 1
    scores = labels + rng.normal(0, 1.0, size=80)
    ranked = ranked_ids(scores)
    relevant = set(np.flatnonzero(labels).tolist())
    assert rm.average_precision_at_k(ranked, relevant) == pytest.approx(
        skm.average_precision_score(labels, scores)
    )


@settings(max_examples=80, deadline=None)
@given(
    grades=st.lists(st.integers(0, 4), min_size=1, max_size=15).filter(any),
    data=st.data(),
)
def test_properties_of_ndcg_and_set_metrics(grades, data):
    items = list(range(len(grades)))
    ranked = data.draw(st.permutations(items))
    k = data.draw(st.integers(1, len(items)))
    judged = dict(enumerate(grades))
    relevant = {i for i, g in judged.items() if g > 0}
    ideal_order = sorted(items, key=lambda i: -grades[i])
    for gain in ("linear", "exponential"):
        value = rm.ndcg_at_k(ranked, judged, k, gain)
        assert 0.0 <= value <= 1.0 + 1e-12
        assert rm.ndcg_at_k(ideal_order, judged, k, gain) == pytest.approx(1.0)
        # Re-sorting only what was retrieved can never score lower than the full ideal.
        assert rm.ndcg_retrieved_only(ranked[:k], judged, k, gain) >= value - 1e-12
    hits = rm.precision_at_k(ranked, relevant, k) * k
    assert hits == pytest.approx(rm.recall_at_k(ranked, relevant, k) * len(relevant))
    assert rm.hit_rate_at_k(ranked, relevant, k) == float(hits > 0)
    first_hit = min(ranked.index(i) for i in relevant) + 1
    assert rm.reciprocal_rank(ranked, relevant) == pytest.approx(1 / first_hit)
    assert 0.0 < rm.average_precision_at_k(ranked, relevant) <= 1.0
    recalls = [rm.recall_at_k(ranked, relevant, j) for j in range(1, len(items) + 1)]
    assert recalls == sorted(recalls) and recalls[-1] == 1.0


def test_mrr_and_ndcg_rank_the_demo_systems_in_opposite_orders():
    out = module_output("snippets.concepts.ranking_metrics")
    rows = {
        line.split()[0]: [float(x) for x in line.split()[1:]]
        for line in out.splitlines()
        if line.split() and line.split()[0] in {"A", "B"}
    }
    mrr_a, map_a, ndcg_a = rows["A"]
    mrr_b, map_b, ndcg_b = rows["B"]
    assert mrr_a > mrr_b and ndcg_b > ndcg_a and map_b > map_a
    assert_page_quotes(PAGE, *(f"{v:.3f}" for v in (*rows["A"], *rows["B"])))


def test_click_labels_favour_the_ranker_that_logged_them():
    old_true, new_true, old_click, new_click = rm.simulate_click_labels(300, 30, 11)
    assert new_true > old_true  # the new ranker is truly better
    assert old_click > new_click  # yet logged clicks say the opposite
    out = module_output("snippets.concepts.ranking_metrics")
    old_line = next(line for line in out.splitlines() if line.startswith("old ranker"))
    new_line = next(line for line in out.splitlines() if line.startswith("new ranker"))
    assert_page_quotes(PAGE, *old_line.split()[-2:], *new_line.split()[-2:])


def test_page_quotes_the_single_query_numbers():
    out = module_output("snippets.concepts.ranking_metrics")
    values = {}
    for line in out.splitlines():
        parts = line.rsplit(maxsplit=1)
        if len(parts) == 2 and parts[1].replace(".", "").isdigit():
            values[parts[0].strip()] = parts[1]
    ranking = ["c", "a", "e", "d", "b"]
    grades = {"a": 3, "b": 2, "c": 0, "d": 1, "e": 0}
    assert values["NDCG@3 lin"] == f"{rm.ndcg_at_k(ranking, grades, 3):.3f}"
    assert float(values["NDCG@3 exp"]) > float(values["NDCG@3 lin"])
    assert_page_quotes(
        PAGE, values["RR"], values["AP"], values["NDCG@3 lin"], values["NDCG@3 exp"]
    )
    missing = next(line for line in out.splitlines() if "not retrieved" in line)
    full, local = missing.split("NDCG@3 ")[1].split()[0], missing.split()[-3]
    assert float(local) == 1.0 > float(full)
    assert_page_quotes(PAGE, full)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: rm.precision_at_k("abc", {"a"}, 1), TypeError, "sequence of item"),
        (lambda: rm.precision_at_k(["a", "a"], {"a"}, 1), ValueError, "repeat"),
        (lambda: rm.precision_at_k(["a"], {"a"}, 0), ValueError, "positive integer"),
        (lambda: rm.precision_at_k(["a"], {"a"}, True), ValueError, "positive int"),
        (lambda: rm.precision_at_k(["a"], {"a"}, 1.5), ValueError, "positive int"),
        (lambda: rm.precision_at_k(["a"], "a", 1), TypeError, "collection"),
        (lambda: rm.recall_at_k(["a"], set(), 1), ValueError, "no relevant"),
        (lambda: rm.average_precision_at_k(["a"], []), ValueError, "no relevant"),
        (lambda: rm.hit_rate_at_k(["a"], 3, 1), TypeError, "collection"),
        (lambda: rm.reciprocal_rank(["a"], {"a"}, -1), ValueError, "positive"),
        (lambda: rm.dcg_at_k([[1, 2]], 2), ValueError, "1-D"),
        (lambda: rm.dcg_at_k([1, -1], 2), ValueError, "non-negative"),
        (lambda: rm.dcg_at_k([1, np.nan], 2), ValueError, "NaN"),
        (lambda: rm.dcg_at_k([1, 2], 0), ValueError, "positive integer"),
        (lambda: rm.dcg_at_k([1, 2], 2, "log"), ValueError, "linear"),
        (lambda: rm.ndcg_at_k(["a"], [("a", 1)], 1), TypeError, "map item"),
        (lambda: rm.ndcg_at_k(["a"], {"a": 0}, 1), ValueError, "undefined"),
        (lambda: rm.ndcg_retrieved_only(["a"], [1], 1), TypeError, "map item"),
        (lambda: rm.mean_over_queries(rm.ndcg_at_k, [], {}), TypeError, "map"),
        (lambda: rm.mean_over_queries(rm.reciprocal_rank, {}, {}), ValueError, "no"),
        (
            lambda: rm.mean_over_queries(rm.reciprocal_rank, {}, {"q": {"a"}}),
            ValueError,
            "judged but not ranked",
        ),
        (lambda: rm.simulate_click_labels(0, 30, 1), ValueError, "at least one"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
