"""Scoring, grading, write-time supersession and the weight search, each checked
against an independent implementation written here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.preprocessing import minmax_scale

from snippets.problems import assistant_memory_retrieval as r
from snippets.problems import assistant_memory_world as w

H = w.simulate_histories(6, seed=3)


def test_score_matches_park_et_al_computed_memory_by_memory():
    """Each term min-max scaled over the user's memories (scikit-learn's
    minmax_scale), recency decaying by half every half-life, weights summed."""
    weights, life = (0.5, 0.3, 0.2), 30.0
    terms = r.world_terms(H, [life])[life]
    scores = r.memory_score(terms, weights)
    for u in range(H.users):
        n = H.valid[u].sum()
        recency = [0.5 ** ((w.DAYS - d) / life) for d in H.day[u, :n]]
        importance = H.importance[u, :n]
        for s in range(H.query.shape[1]):
            cosine = [float(H.query[u, s] @ e) for e in H.embedding[u, :n]]
            parts = [minmax_scale(x) for x in (cosine, recency, importance)]
            expected = sum(wt * p for wt, p in zip(weights, parts, strict=True))
            np.testing.assert_allclose(scores[u, s, :n], expected, atol=1e-5)
            assert (scores[u, s, n:] < -100).all()  # padding is never a candidate


def test_recency_only_ranks_by_age_and_half_life_does_not_change_it():
    terms = r.world_terms(H, [7.0, 365.0])
    a = r.memory_score(terms[7.0], (0, 1, 0))
    b = r.memory_score(terms[365.0], (0, 1, 0))
    for u in range(H.users):
        n = H.valid[u].sum()
        order_a = np.argsort(-a[u, 0, :n], kind="stable")
        order_b = np.argsort(-b[u, 0, :n], kind="stable")
        # Same order up to ties (memories of one session share a day).
        np.testing.assert_array_equal(H.day[u, order_a], H.day[u, order_b])
        assert (np.diff(H.day[u, order_a]) <= 0).all()


def brute_force_grade(h, scores, k, candidate):
    """Sort each question's candidates one by one, read the top k."""
    recall, superseded, stale = [], [], []
    for u in range(h.users):
        for s in range(h.query.shape[1]):
            mine = [m for m in range(scores.shape[2]) if candidate[u, m]]
            top = sorted(mine, key=lambda m: -scores[u, s, m])[:k]
            about = [m for m in top if h.slot[u, m] == s]
            recall.append(any(h.current[u, m] for m in about))
            superseded.append(any(h.superseded[u, m] for m in about))
            stale.append(bool(about) and bool(h.superseded[u, about[0]]))
    shape = h.query.shape[:2]
    return [np.reshape(x, shape) for x in (recall, superseded, stale)]


@pytest.mark.parametrize("k", [1, 3, 5, 12])
def test_grade_matches_a_brute_force_sort(k):
    rng = np.random.default_rng(k)
    users, slots, memories = H.query.shape[:2] + H.slot.shape[1:]
    # Distinct scores on a coarse grid, so the tie-breaking jitter cannot reorder.
    ranks = np.tile(np.arange(memories, dtype=float), (users, slots, 1))
    scores = rng.permuted(ranks, axis=2) / memories
    # Bias toward the asked fact so that hits and stale hits both occur.
    scores += 0.5 * (H.slot[:, None, :] == np.arange(slots)[None, :, None])
    scores = np.where(H.valid[:, None, :], scores, r.NOT_A_CANDIDATE)
    got = r.grade(H, scores.astype(np.float32), k)
    expected = brute_force_grade(H, scores, k, H.valid)
    names = ("recall", "superseded", "stale_first")
    for name, want in zip(names, expected, strict=True):
        np.testing.assert_array_equal(getattr(got, name), want, err_msg=name)
    assert got.recall.any() and got.stale_first.any() and not got.recall.all()


def test_grade_reads_only_candidates_when_fewer_than_k_remain():
    active = np.zeros_like(H.valid)
    active[:, :3] = True  # three candidates a user, top 5 asked
    terms = r.world_terms(H, [30.0], active)[30.0]
    scores = r.memory_score(terms, (1, 0, 0))
    got = r.grade(H, scores, k=5)
    expected = brute_force_grade(H, scores, 5, active)
    for name, want in zip(("recall", "superseded"), expected, strict=False):
        np.testing.assert_array_equal(getattr(got, name), want, err_msg=name)
    # A question is answered only when one of the three is about its fact.
    asked = np.arange(H.query.shape[1])
    reachable = (H.slot[:, :3, None] == asked).any(axis=1)
    assert not (got.recall & ~reachable).any()


def test_supersession_with_a_perfect_linker_keeps_exactly_the_current_facts():
    active = r.write_time_supersession(H, link_recall=1.0, false_link=0.0, seed=0)
    fact = H.slot >= 0
    np.testing.assert_array_equal(active & fact, H.current)
    np.testing.assert_array_equal(active & ~fact, H.valid & ~fact)  # small talk stays
    none = r.write_time_supersession(H, link_recall=0.0, false_link=0.0, seed=0)
    np.testing.assert_array_equal(none, H.valid)


def test_a_false_link_retires_another_facts_older_memories_only():
    active = r.write_time_supersession(H, link_recall=0.0, false_link=1.0, seed=1)
    assert (active <= H.valid).all()
    retired = H.valid & ~active
    assert retired.any() and not retired[H.slot == w.CHITCHAT].any()
    for u in range(H.users):
        fact = (H.slot[u] >= 0) & H.valid[u]
        for m in np.flatnonzero(retired[u]):
            # Some mention of a different fact, at or after it, did the retiring.
            later_other = fact & (H.day[u] >= H.day[u, m]) & (H.slot[u] != H.slot[u, m])
            assert later_other.any()
    rare = r.write_time_supersession(H, link_recall=0.0, false_link=0.02, seed=1)
    share = (H.valid & ~rare).sum() / (H.slot >= 0).sum()
    assert 0 < share < 0.2


def test_simplex_grid_and_best():
    grid = r.simplex_grid(0.1)
    assert len(grid) == math.comb(10 + 2, 2) == 66
    assert all(math.isclose(sum(g), 1.0) for g in grid)
    assert (1.0, 0.0, 0.0) in grid and (0.0, 1.0, 0.0) in grid
    found = {((0.5, 0.5, 0.0), 7.0): 0.2, ((0.0, 0.5, 0.5), 30.0): 0.9}
    assert r.best(found, lambda wt: True) == ((0.0, 0.5, 0.5), 30.0)
    assert r.best(found, lambda wt: wt[2] == 0) == ((0.5, 0.5, 0.0), 7.0)


def test_the_search_finds_the_grid_point_a_direct_evaluation_ranks_first():
    found = r.search_weights(H)
    assert len(found) == len(r.simplex_grid()) * len(r.HALF_LIVES)
    weights, life = r.best(found, lambda wt: True)
    direct = r.objective(
        r.grade(H, r.memory_score(r.world_terms(H, [life])[life], weights))
    )
    assert direct == pytest.approx(max(found.values()))
    graded = r.grade(H, r.memory_score(r.world_terms(H, [life])[life], weights))
    assert r.objective(graded) == pytest.approx(
        graded.recall.mean() - graded.stale_first.mean()
    )


def test_bad_arguments_raise_clear_errors():
    terms = r.world_terms(H, [30.0])[30.0]
    with pytest.raises(ValueError, match="weights"):
        r.memory_score(terms, (1.0, -0.5, 0.5))
    with pytest.raises(ValueError, match="weights"):
        r.memory_score(terms, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="half_life_days"):
        r.world_terms(H, [0.0])
    with pytest.raises(ValueError, match="half_life_days"):
        r.score_terms(np.ones(3), np.ones(3), np.ones(3), float("inf"))
    with pytest.raises(ValueError, match="k must be"):
        r.grade(H, r.memory_score(terms, (1, 0, 0)), k=0)
    with pytest.raises(ValueError, match="scores must be"):
        r.grade(H, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="link_recall"):
        r.write_time_supersession(H, 1.5, 0.0, seed=0)
    with pytest.raises(ValueError, match="step"):
        r.simplex_grid(0.3)
    with pytest.raises(ValueError, match="no grid point"):
        r.best({((1.0, 0.0, 0.0), 7.0): 1.0}, lambda wt: False)
