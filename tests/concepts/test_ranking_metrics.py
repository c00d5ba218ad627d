"""Our ranking metrics equal scikit-learn's, behave as claimed, and reject bad input."""

from __future__ import annotations

from itertools import permutations

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


def orders_within_ties(scores: np.ndarray) -> list[list[int]]:
    """Every ranking consistent with the scores: all orders inside each tie group."""
    groups = [
        np.flatnonzero(scores == v).tolist() for v in sorted(set(scores), reverse=True)
    ]
    rankings = [[]]
    for group in groups:
        rankings = [r + list(p) for r in rankings for p in permutations(group)]
    return rankings


@settings(max_examples=60, deadline=None)
@given(
    grades=st.lists(st.integers(0, 3), min_size=2, max_size=6).filter(any),
    data=st.data(),
)
def test_sklearn_tie_average_is_the_mean_of_our_ndcg_over_tie_orders(grades, data):
    # Scores with few distinct values: many ties, the case where a ranking and
    # scikit-learn's scores differ. By linearity, averaging the gains inside a tie
    # group is the expectation over the group's orders; check it with our function.
    scores = np.array(
        data.draw(
            st.lists(st.integers(0, 2), min_size=len(grades), max_size=len(grades))
        ),
        dtype=float,
    )
    k = data.draw(st.integers(1, len(grades)))
    judged = dict(enumerate(grades))
    ours = np.mean([rm.ndcg_at_k(r, judged, k) for r in orders_within_ties(scores)])
    assert ours == pytest.approx(skm.ndcg_score([grades], [scores], k=k))


def test_queries_without_relevant_items_raise_unless_the_caller_decides():
    grades = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 1]])
    scores = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.5, 0.1, 0.9]])
    runs = {q: ranked_ids(s) for q, s in enumerate(scores)}
    judged = {q: dict(enumerate(g.tolist())) for q, g in enumerate(grades)}
    with pytest.raises(ValueError, match="1 queries have no relevant item"):
        rm.mean_over_queries(rm.ndcg_at_k, runs, judged, k=3)
    # "zero" is scikit-learn's convention: the empty query counts as 0 in the mean.
    zero = rm.mean_over_queries(rm.ndcg_at_k, runs, judged, no_relevant="zero", k=3)
    assert zero == pytest.approx(skm.ndcg_score(grades, scores, k=3))
    skip = rm.mean_over_queries(rm.ndcg_at_k, runs, judged, no_relevant="skip", k=3)
    assert skip == pytest.approx(skm.ndcg_score(grades[1:], scores[1:], k=3))
    relevant = {q: {i for i, g in j.items() if g > 0} for q, j in judged.items()}
    for metric in (rm.reciprocal_rank, rm.average_precision_at_k):
        with pytest.raises(ValueError, match="no relevant item"):
            rm.mean_over_queries(metric, runs, relevant)
    for metric in (rm.precision_at_k, rm.recall_at_k, rm.hit_rate_at_k):
        with pytest.raises(ValueError, match="no relevant item"):
            metric([0, 1, 2], set(), 2)
    with pytest.raises(ValueError, match="no relevant item"):
        rm.reciprocal_rank([0, 1, 2], set())


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


def reference_set_metrics(ranked: list, relevant: set, k: int) -> dict[str, float]:
    """Precision@k, recall@k, hit@k, RR@k and AP@k from a 0/1 hit vector (numpy)."""
    hits = np.array([item in relevant for item in ranked[:k]], dtype=float)
    hits = np.r_[hits, np.zeros(k - hits.size)]  # a short list: missing = miss
    ranks = np.arange(1, k + 1)
    precision_at = np.cumsum(hits) / ranks
    first = np.flatnonzero(hits)
    return {
        "precision": hits.mean(),
        "recall": hits.sum() / len(relevant),
        "hit": float(hits.any()),
        "rr": 1 / (first[0] + 1) if first.size else 0.0,
        "ap": float(np.sum(precision_at * hits) / len(relevant)),
        "ap_min_k": float(np.sum(precision_at * hits) / min(k, len(relevant))),
    }


@settings(max_examples=120, deadline=None)
@given(
    n_items=st.integers(1, 15),
    data=st.data(),
)
def test_set_metrics_match_an_independent_implementation(n_items, data):
    ranked = data.draw(st.permutations(list(range(n_items))))
    ranked = ranked[: data.draw(st.integers(1, n_items))]  # lists may come up short
    relevant = data.draw(st.sets(st.integers(0, n_items + 3), min_size=1))
    k = data.draw(st.integers(1, n_items + 2))
    expected = reference_set_metrics(ranked, relevant, k)
    assert rm.precision_at_k(ranked, relevant, k) == pytest.approx(
        expected["precision"]
    )
    assert rm.recall_at_k(ranked, relevant, k) == pytest.approx(expected["recall"])
    assert rm.hit_rate_at_k(ranked, relevant, k) == expected["hit"]
    assert rm.reciprocal_rank(ranked, relevant, k) == pytest.approx(expected["rr"])
    assert rm.average_precision_at_k(ranked, relevant, k) == pytest.approx(
        expected["ap"]
    )
    assert rm.average_precision_at_k(
        ranked, relevant, k, denominator="min_k_relevant"
    ) == pytest.approx(expected["ap_min_k"])


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


def click_world_by_hand(n_queries, n_items, seed, shown, position_bias):
    """The click simulation re-implemented with scikit-learn's NDCG: same draws."""
    rng = np.random.default_rng(seed)
    rows = {"old_true": [], "new_true": [], "old_click": [], "new_click": []}
    for _ in range(n_queries):
        relevance = rng.integers(0, 2, size=n_items)
        old_noisy = relevance + rng.normal(0, 1.0, n_items)
        new_noisy = relevance + rng.normal(0, 0.6, n_items)
        looks = rng.random(n_items)
        old_rank = np.empty(n_items, dtype=int)  # 1 = top of the old ranker's list
        old_rank[np.argsort(-old_noisy)] = np.arange(1, n_items + 1)
        seen = old_rank <= shown
        if position_bias:
            seen &= looks[old_rank - 1] < 1 / old_rank
        clicks = (relevance == 1) & seen
        if not relevance.any():
            continue
        for name, scores in (("old", old_noisy), ("new", new_noisy)):
            rows[f"{name}_true"].append(skm.ndcg_score([relevance], [scores], k=10))
            rows[f"{name}_click"].append(
                skm.ndcg_score([clicks], [scores], k=10) if clicks.any() else np.nan
            )
    return {key: np.array(values) for key, values in rows.items()}


@pytest.mark.parametrize(
    ("shown", "position_bias"), [(10, True), (30, True), (10, False), (30, False)]
)
def test_click_logging_matches_an_independent_implementation(shown, position_bias):
    ours = rm.simulate_click_labels(60, 30, 5, shown=shown, position_bias=position_bias)
    reference = click_world_by_hand(60, 30, 5, shown, position_bias)
    for key in ours:
        np.testing.assert_allclose(ours[key], reference[key])


def paired_interval(runs, kind):
    old, new = runs[f"old_{kind}"], runs[f"new_{kind}"]
    kept = ~np.isnan(old)
    diff = new[kept] - old[kept]
    half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
    return diff.mean() - half, diff.mean() + half


def test_each_logging_bias_alone_flips_the_verdict_and_neither_is_truth():
    # A fresh seed. The truth: the new ranker is better, beyond the noise.
    def runs(shown, bias):
        return rm.simulate_click_labels(300, 30, 11, shown=shown, position_bias=bias)

    low, _ = paired_interval(runs(10, True), "true")
    assert low > 0
    # Each mechanism alone makes the clicks prefer the old ranker, beyond the noise.
    for shown, bias in ((10, True), (30, True), (10, False)):
        _, high = paired_interval(runs(shown, bias), "click")
        assert high < 0, (shown, bias)
    # With both removed, the click labels are the true labels: the same numbers.
    both_off = runs(30, False)
    np.testing.assert_array_equal(both_off["old_click"], both_off["old_true"])
    np.testing.assert_array_equal(both_off["new_click"], both_off["new_true"])


def test_page_names_both_causes_with_the_printed_ablation():
    lines = module_output("snippets.concepts.ranking_metrics").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("labels"))
    rows = {}
    for line in lines[start + 1 : start + 6]:
        name, rest = line[:33].strip(), line[33:].split()
        rows[name] = rest  # queries, old, new, difference, (low, to, high)
    truth = rows["true relevance"]
    assert rows["clicks: all 30 shown, all seen"][1:] == truth[1:]
    for name in (
        "clicks: top 10 shown, 1/rank",
        "clicks: all 30 shown, 1/rank",
        "clicks: top 10 shown, all seen",
    ):
        old, new, high = float(rows[name][1]), float(rows[name][2]), rows[name][-1]
        assert old > new and float(high.rstrip(")")) < 0  # flipped, beyond the noise
        assert_page_quotes(PAGE, f"{rows[name][1]} against {rows[name][2]}")
    assert float(truth[4].lstrip("(")) > 0  # the truth: new better, beyond the noise
    first_click = rows["clicks: top 10 shown, 1/rank"]
    assert_page_quotes(PAGE, f"leaving {first_click[0]} of 400")
    assert_page_quotes(
        PAGE,
        f"{truth[2]} against {truth[1]} for the old one",
        f"{truth[3]} {truth[4]} {truth[5]} {truth[6]}",
    )


def test_page_quotes_the_single_query_numbers():
    out = module_output("snippets.concepts.ranking_metrics")
    values = {}
    for line in out.splitlines():
        parts = line.rsplit(maxsplit=1)
        if len(parts) == 2 and parts[1].replace(".", "").isdigit():
            values[parts[0].strip()] = parts[1]
    # The demo query, by hand: c a e d b with grades 0 3 0 1 2 (a=3, b=2, d=1).
    discount = np.log2(np.arange(2, 7))
    lin = (3 / discount[1]) / (3 + 2 / discount[1] + 1 / discount[2])
    exp = (7 / discount[1]) / (7 + 3 / discount[1] + 1 / discount[2])
    expected = {
        "precision@3": 1 / 3,  # only "a" in the top 3 is relevant
        "recall@3": 1 / 3,  # one of the three relevant items
        "hit@1": 0.0,
        "RR": 1 / 2,  # first relevant item at rank 2
        "AP": (1 / 2 + 2 / 4 + 3 / 5) / 3,  # hits at ranks 2, 4, 5
        "NDCG@3 lin": lin,
        "NDCG@3 exp": exp,
    }
    for name, value in expected.items():
        assert values[name] == f"{value:.3f}", name
    # scikit-learn agrees on both gains (scores = reversed rank, no ties).
    grades_abcde, scores = [[3, 2, 0, 1, 0]], [[4, 1, 5, 2, 3]]
    assert float(values["NDCG@3 lin"]) == pytest.approx(
        skm.ndcg_score(grades_abcde, scores, k=3), abs=5e-4
    )
    assert float(values["NDCG@3 exp"]) == pytest.approx(
        skm.ndcg_score(np.exp2(grades_abcde) - 1, scores, k=3), abs=5e-4
    )
    assert_page_quotes(
        PAGE, values["RR"], values["AP"], values["NDCG@3 lin"], values["NDCG@3 exp"]
    )
    missing = next(line for line in out.splitlines() if "not retrieved" in line)
    full, local = missing.split("NDCG@3 ")[1].split()[0], missing.split()[-3]
    # "b d c" with a=3 missing: DCG 2 + 1/log2(3), ideal 3 + 2/log2(3) + 1/2.
    assert full == f"{(2 + 1 / discount[1]) / (3 + 2 / discount[1] + 0.5):.3f}"
    assert float(local) == 1.0 > float(full)
    assert_page_quotes(PAGE, full)


def test_page_states_both_ap_at_k_denominators():
    line = next(
        x
        for x in module_output("snippets.concepts.ranking_metrics").splitlines()
        if x.startswith("AP@2")
    )
    by_r, by_min = line.split(": ")[1].split()[0], line.split(" vs ")[1].split()[0]
    # Precision 1/1 and 2/2 at the two hits, over R = 4 or over min(2, 4) = 2.
    expected = reference_set_metrics(["a", "b", "x"], {"a", "b", "c", "d"}, 2)
    assert (by_r, by_min) == (f"{expected['ap']:.3f}", f"{expected['ap_min_k']:.3f}")
    assert by_r != by_min
    assert_page_quotes(
        PAGE, f"AP@2 = {by_r} under the first and {by_min} under the second"
    )


def test_retrieved_only_ndcg_is_zero_when_nothing_relevant_was_retrieved():
    grades = {"a": 2, "b": 1}
    assert rm.ndcg_retrieved_only(["x", "y"], grades, 2) == 0.0
    assert rm.ndcg_at_k(["x", "y"], grades, 2) == 0.0  # the full ideal agrees


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
        (lambda: rm.dcg_at_k([1, 2, -1], 2), ValueError, "non-negative"),  # beyond k
        (lambda: rm.dcg_at_k([1, 2, np.nan], 1), ValueError, "NaN"),
        (lambda: rm.dcg_at_k([1, 2], 2, "log"), ValueError, "linear"),
        (lambda: rm.ndcg_at_k(["a"], [("a", 1)], 1), TypeError, "map item"),
        (lambda: rm.ndcg_at_k(["a"], {"a": 0}, 1), ValueError, "undefined"),
        (lambda: rm.ndcg_retrieved_only(["a"], [1], 1), TypeError, "map item"),
        (lambda: rm.ndcg_retrieved_only(["a"], {"a": 0}, 1), ValueError, "undefined"),
        (
            lambda: rm.average_precision_at_k(["a"], {"a"}, denominator="k"),
            ValueError,
            "denominator",
        ),
        (lambda: rm.simulate_click_labels(1, 30, 1, shown=31), ValueError, "shown"),
        (lambda: rm.mean_over_queries(rm.ndcg_at_k, [], {}), TypeError, "map"),
        (lambda: rm.mean_over_queries(rm.reciprocal_rank, {}, {}), ValueError, "no"),
        (
            lambda: rm.mean_over_queries(
                rm.reciprocal_rank, {"q": ["a"]}, {"q": {"a"}}, no_relevant="drop"
            ),
            ValueError,
            "no_relevant",
        ),
        (
            lambda: rm.mean_over_queries(
                rm.reciprocal_rank, {"q": ["a"]}, {"q": set()}, no_relevant="skip"
            ),
            ValueError,
            "every judged query",
        ),
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
