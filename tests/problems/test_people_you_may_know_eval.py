"""PYMK miniature, the evaluation side: future edges, grading and the feedback loop."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from snippets.problems import people_you_may_know_eval as pe
from snippets.problems import people_you_may_know_graph as pg


@pytest.fixture(scope="module")
def world() -> pg.World:
    return pg.grow_world(n_people=400, n_communities=6, n_rounds=20, seed=5)


def test_future_friends_are_later_edges_between_people_already_there(world):
    truth = pe.future_friends(world, 12)
    expected: dict[int, set[int]] = {}
    for (a, b), formed in zip(world.edges.tolist(), world.formed.tolist(), strict=True):
        if formed > 12 and world.joined[a] <= 12 and world.joined[b] <= 12:
            expected.setdefault(a, set()).add(b)
            expected.setdefault(b, set()).add(a)
    assert truth == expected
    snapshot = pg.snapshot(world, 12)
    assert all(snapshot[u, w] == 0 for u, ws in truth.items() for w in ws)


def test_grade_is_recall_and_precision_per_user():
    top = np.array([[4, 1, 9], [2, 3, 5]])
    users = np.array([0, 7])
    truth = {0: {1, 4, 6, 8}, 7: {5}}
    k = pe.K
    np.testing.assert_allclose(pe.grade(top, users, truth), [2 / 4, 1 / 1])
    precision = pe.grade(top, users, truth, pe.precision_at_k)
    np.testing.assert_allclose(precision, [2 / k, 1 / k])


def test_excluded_candidates_are_self_friends_and_absent_people(world):
    graph = pg.snapshot(world, 12)
    present = world.joined <= 12
    users = np.array([0, 1, 2])
    mask = pe.excluded(graph, users, present)
    for row, user in enumerate(users):
        expected = (graph[[user]].toarray()[0] > 0) | ~present
        expected[user] = True
        np.testing.assert_array_equal(mask[row], expected)


def test_logged_future_adds_only_shown_strangers_both_ways():
    organic = {0: {1}, 1: {0}, 3: {4}, 4: {3}}
    shown = np.array([[1, 5, 6], [4, 7, 0]])
    users = np.array([0, 3])
    rng = np.random.default_rng(0)
    trials = [pe.logged_future(shown, users, organic, rng) for _ in range(2_000)]
    for logged in trials:
        assert logged[0] >= organic[0] and logged[3] >= organic[3]
        assert logged[0] <= {1, 5, 6, 3} and logged[3] <= {4, 7, 0}
        for user, friends in logged.items():  # friendships are symmetric
            assert all(user in logged[f] for f in friends)
    # Each shown stranger is accepted with the stated probability.
    accepted = np.mean([5 in logged[0] for logged in trials])
    assert accepted == pytest.approx(pe.ACCEPT_STRANGER, abs=0.02)
    assert organic == {0: {1}, 1: {0}, 3: {4}, 4: {3}}, "the organic truth is kept"


def test_logged_future_sweeps_acceptance_with_nested_edge_sets():
    """The same draws at each rate: 0 adds nothing, 1 adds every shown stranger,
    and a higher rate keeps every edge a lower rate induced."""
    organic = {0: {1}, 1: {0}, 3: {4}, 4: {3}}
    shown = np.array([[1, 5, 6, 7, 8], [4, 7, 0, 9, 2]])
    users = np.array([0, 3])
    state = np.random.default_rng(7)
    logged = {
        accept: pe.logged_future(shown, users, organic, copy.deepcopy(state), accept)
        for accept in (0.0, 0.3, 0.6, 1.0)
    }
    assert logged[0.0] == organic
    # Every shown stranger, both ways (3 was shown 0, so 0 gains 3 as well).
    assert logged[1.0][0] == {1, 5, 6, 7, 8, 3} and logged[1.0][3] == {4, 7, 0, 9, 2}
    for low, high in ((0.0, 0.3), (0.3, 0.6), (0.6, 1.0)):
        assert all(logged[low][u] <= logged[high][u] for u in logged[low])
    with pytest.raises(ValueError, match="accept"):
        pe.logged_future(shown, users, organic, state, 1.5)


def test_segments_by_friend_count():
    got = pe.segment_of(np.array([0, 1, 2, 3, 40]))
    assert got.tolist() == [
        "0 friends",
        "1-2 friends",
        "1-2 friends",
        *["3+ friends"] * 2,
    ]


def test_unknown_world_or_scorer_raises():
    with pytest.raises(ValueError, match="unknown world"):
        pe.run_world("flat earth")
    graph = pg.snapshot(pg.grow_world(n_people=50, n_rounds=3, seed=0), 2)
    with pytest.raises(ValueError, match="unknown scorer"):
        pe.score("jaccard", graph, np.array([0]), None, 0)
