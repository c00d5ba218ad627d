"""Permission-aware retrieval, the answerer and the cache, against references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.common.fusion import reciprocal_rank_fusion
from snippets.concepts.ranking_metrics import recall_at_k
from snippets.problems import enterprise_rag_retrieval as rr


def random_case(seed: int, questions: int = 6, chunks: int = 40, share: float = 0.3):
    rng = np.random.default_rng(seed)
    scores = [rng.normal(size=(questions, chunks)) for _ in range(2)]
    permitted = rng.random((questions, chunks)) < share
    return scores, permitted


def full_order(row: np.ndarray) -> list[int]:
    """Reference: every id by descending score, ties by id (a stable sort)."""
    return [int(i) for i in np.argsort(-row, kind="stable")]


# ---- top_ranked


@pytest.mark.parametrize("seed", range(3))
def test_top_ranked_matches_a_full_sort_with_and_without_a_filter(seed):
    scores, permitted = random_case(seed)
    for s in scores:
        got = rr.top_ranked(s, 10)
        filtered = rr.top_ranked(s, 10, allowed=permitted)
        for q in range(len(s)):
            assert list(got[q]) == full_order(s[q])[:10]
            allowed = [c for c in full_order(s[q]) if permitted[q, c]][:10]
            assert list(filtered[q][filtered[q] >= 0]) == allowed
            assert (filtered[q][len(allowed) :] == -1).all()


def test_top_ranked_lists_equal_scores_by_id():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    assert list(rr.top_ranked(scores, 5)[0]) == [1, 2, 4, 3, 0]


def test_top_ranked_rejects_bad_input():
    scores = np.zeros((2, 4))
    with pytest.raises(ValueError, match="depth"):
        rr.top_ranked(scores, 0)
    with pytest.raises(ValueError, match="shape"):
        rr.top_ranked(np.zeros(4), 2)
    with pytest.raises(ValueError, match="NaN"):
        rr.top_ranked(np.full((1, 3), np.nan), 2)
    with pytest.raises(TypeError, match="boolean"):
        rr.top_ranked(scores, 2, allowed=np.ones((2, 4)))
    with pytest.raises(ValueError, match="shape"):
        rr.top_ranked(scores, 2, allowed=np.ones((2, 3), dtype=bool))


# ---- fusion


@st.composite
def ranked_lists(draw):
    """Two ranked lists per row over 12 chunks, of any lengths, padded with -1."""
    rows = draw(st.integers(1, 4))
    batches = []
    for _ in range(2):
        batch = np.full((rows, 12), -1)
        for r in range(rows):
            ids = draw(st.permutations(range(12)))[: draw(st.integers(0, 12))]
            batch[r, : len(ids)] = ids
        batches.append(batch)
    return batches


@settings(max_examples=60, deadline=None)
@given(ranked_lists(), st.integers(0, 80))
def test_fusion_matches_the_shared_reciprocal_rank_fusion(batches, k):
    scores = rr.rrf_scores(batches, 12, k=k)
    top = rr.fused_top(batches, 12, 12, k=k)
    for r in range(len(batches[0])):
        lists = [[int(i) for i in b[r] if i >= 0] for b in batches]
        reference = reciprocal_rank_fusion(lists, k=k)
        for doc, value in reference.items():
            assert scores[r, doc] == pytest.approx(value, rel=1e-12)
        assert [int(i) for i in top[r] if i >= 0] == list(reference)
        assert (top[r][len(reference) :] == -1).all()


def test_rrf_needs_rankings_of_one_shape():
    with pytest.raises(ValueError, match="at least one"):
        rr.rrf_scores([], 5)
    with pytest.raises(ValueError, match="one row per question"):
        rr.rrf_scores([np.zeros((2, 3), int), np.zeros((3, 3), int)], 5)


# ---- pre-filter and post-filter, against per-question implementations


def reference_pre(scores, permitted, q, k):
    lists = [
        [c for c in full_order(s[q]) if permitted[q, c]][: rr.DEPTH] for s in scores
    ]
    return list(reciprocal_rank_fusion(lists))[:k]


def reference_post(scores, permitted, q, k, cut):
    lists = [full_order(s[q])[: rr.DEPTH] for s in scores]
    fused = list(reciprocal_rank_fusion(lists))[:cut]
    return [c for c in fused if permitted[q, c]][:k]


@pytest.mark.parametrize("seed", range(3))
def test_pre_and_post_filter_match_per_question_references(seed):
    scores, permitted = random_case(seed, questions=8, chunks=200, share=0.15)
    pre = rr.pre_filter(scores, permitted, 5)
    post = rr.post_filter(scores, permitted, 5, (5, 20, 80))
    for q in range(8):
        assert [int(c) for c in pre[q] if c >= 0] == reference_pre(
            scores, permitted, q, 5
        )
        for cut, context in post.items():
            expected = reference_post(scores, permitted, q, 5, cut)
            assert [int(c) for c in context[q] if c >= 0] == expected


def test_no_filter_ever_puts_a_forbidden_chunk_in_the_context():
    scores, permitted = random_case(7, questions=30, chunks=300, share=0.05)
    contexts = [rr.pre_filter(scores, permitted, 5)]
    contexts += rr.post_filter(scores, permitted, 5, (5, 40, 160)).values()
    for context in contexts:
        filled = context >= 0
        assert np.take_along_axis(permitted, np.maximum(context, 0), 1)[filled].all()


def test_with_everything_permitted_post_filter_is_pre_filter():
    scores, _ = random_case(3, chunks=100)
    everything = np.ones((6, 100), dtype=bool)
    pre = rr.pre_filter(scores, everything, 5)
    assert (rr.post_filter(scores, everything, 5, (5,))[5] == pre).all()


def test_post_filter_rejects_bad_cuts():
    scores, permitted = random_case(0)
    with pytest.raises(ValueError, match="cut"):
        rr.post_filter(scores, permitted, 5, (3,))
    with pytest.raises(ValueError, match="cut"):
        rr.post_filter(scores, permitted, 5, (rr.DEPTH + 1,))
    with pytest.raises(TypeError, match="cuts"):
        rr.post_filter(scores, permitted, 5, ())
    with pytest.raises(ValueError, match="k must"):
        rr.post_filter(scores, permitted, 0, (5,))


def test_first_permitted_keeps_order_and_pads():
    ranked = np.array([[4, 2, 7, 1, -1], [3, 0, 1, 2, 4]])
    permitted = np.zeros((2, 8), dtype=bool)
    permitted[0, [2, 1]] = True
    permitted[1, [0, 1, 2, 4]] = True
    got = rr.first_permitted(ranked, permitted, 3)
    assert got.tolist() == [[2, 1, -1], [0, 1, 2]]


# ---- metrics and the answerer


def test_recall_matches_the_ranking_metrics_module():
    rng = np.random.default_rng(1)
    relevant = rng.random((20, 30)) < 0.1
    context = rr.top_ranked(rng.normal(size=(20, 30)), 5)
    got = rr.recall(context, relevant)
    for q in range(20):
        truth = set(np.flatnonzero(relevant[q]))
        if truth:
            assert got[q] == pytest.approx(recall_at_k(list(context[q]), truth, 5))
        else:
            assert np.isnan(got[q])


def test_answerer_cites_what_clears_the_threshold_and_abstains_otherwise():
    context = np.array([[0, 1, 2], [3, -1, -1], [1, 2, -1]])
    support = np.array(
        [
            [0.9, 0.2, 0.8, 0.1],
            [0.1, 0.1, 0.1, 0.6],
            [0.1, 0.95, 0.1, 0.1],
        ]
    )
    gold = np.zeros((3, 4), dtype=bool)
    gold[0, 2] = gold[2, 2] = True
    answers = rr.answer(context, support, gold, 0.7)
    assert answers.cited.tolist() == [
        [True, False, True],
        [False, False, False],
        [True, False, False],
    ]
    assert answers.correct.tolist() == [True, False, False]
    assert answers.abstained.tolist() == [False, True, False]
    assert answers.wrong.tolist() == [False, False, True]
    precision, recall = rr.citation_scores(answers, gold)
    assert precision == pytest.approx(1 / 3)  # 3 citations, one states the fact
    assert recall == pytest.approx(1 / 2)  # 2 readable gold chunks, one cited


# ---- the response cache


def reference_serve(policy, hours, question, groups, context, permitted):
    """An independent replay: a dict keyed as the policy says, checked per request."""
    store, hits, leaks = {}, 0, 0
    for i in range(len(hours)):
        served = context[i]
        if policy.key != "none":
            key = int(question[i])
            if policy.key == "query+permissions":
                key = (key, tuple(bool(g) for g in groups[i]))
            if key in store and hours[i] - store[key][0] < policy.ttl_hours:
                cached = store[key][1]
                readable = all(permitted[i][c] for c in cached if c >= 0)
                if readable or not policy.recheck:
                    hits += 1
                    served = cached
                else:
                    store[key] = (hours[i], context[i])
            else:
                store[key] = (hours[i], context[i])
        leaks += any(not permitted[i][c] for c in served if c >= 0)
    return hits, leaks


@pytest.mark.parametrize("seed", range(4))
def test_serve_matches_an_independent_replay(seed):
    rng = np.random.default_rng(seed)
    n, chunks = 300, 30
    hours = np.sort(rng.uniform(0, 8, n))
    question = rng.integers(5, size=n)
    groups = rng.random((n, 4)) < 0.5
    groups = groups[rng.integers(6, size=n) % len(groups)]  # a few repeated sets
    permitted = rng.random((n, chunks)) < 0.7
    context = rr.top_ranked(rng.normal(size=(n, chunks)), 3, allowed=permitted)
    for policy in (
        rr.CachePolicy("none", "none"),
        rr.CachePolicy("q", "query"),
        rr.CachePolicy("qp", "query+permissions"),
        rr.CachePolicy("qp 1h", "query+permissions", 1.0),
        rr.CachePolicy("qp check", "query+permissions", 1.0, True),
    ):
        got = rr.serve(policy, hours, question, groups, context, permitted)
        assert got == reference_serve(
            policy, hours, question, groups, context, permitted
        )


def test_a_query_keyed_cache_serves_one_users_chunks_to_another():
    hours = np.array([0.0, 1.0])
    question = np.array([7, 7])
    groups = np.array([[True, True], [True, False]])
    permitted = np.array([[True, True, True], [True, False, False]])
    context = np.array([[1, 0], [0, -1]])  # each built from what its user may read
    leaky = rr.serve(
        rr.CachePolicy("q", "query"), hours, question, groups, context, permitted
    )
    safe = rr.serve(
        rr.CachePolicy("qp", "query+permissions"),
        hours,
        question,
        groups,
        context,
        permitted,
    )
    assert leaky == (1, 1) and safe == (0, 0)


def test_cache_rejects_bad_policies_and_streams():
    with pytest.raises(ValueError, match="unknown cache key"):
        rr.CachePolicy("x", "user")
    with pytest.raises(ValueError, match="ttl"):
        rr.CachePolicy("x", "query", 0.0)
    policy = rr.CachePolicy("q", "query")
    ok = np.ones((2, 3), dtype=bool)
    with pytest.raises(ValueError, match="time order"):
        rr.serve(
            policy,
            np.array([2.0, 1.0]),
            np.array([0, 0]),
            ok,
            np.zeros((2, 1), int),
            ok,
        )
    with pytest.raises(ValueError, match="every request"):
        rr.serve(
            policy, np.array([1.0]), np.array([0, 0]), ok, np.zeros((2, 1), int), ok
        )


def test_metrics_and_answerer_reject_mismatched_input():
    context = np.array([[0, 1]])
    gold = np.zeros((1, 3), dtype=bool)
    with pytest.raises(ValueError, match="same number"):
        rr.recall(context, np.zeros((2, 3), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        rr.recall(context, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="2-D"):
        rr.recall(np.array([0, 1]), gold)
    with pytest.raises(ValueError, match="support and gold"):
        rr.answer(context, np.zeros((1, 4)), gold, 0.5)
    with pytest.raises(ValueError, match="threshold"):
        rr.answer(context, np.zeros((1, 3)), gold, float("nan"))
    with pytest.raises(ValueError, match="depth"):
        rr.fused_top([context], 3, 0)
