"""PYMK miniature, the graph side: the world and the four scorers against references."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from snippets.problems import people_you_may_know_graph as pg


@pytest.fixture(scope="module")
def world() -> pg.World:
    return pg.grow_world(n_people=300, n_communities=5, n_rounds=20, seed=3)


@pytest.fixture(scope="module")
def graph(world) -> sp.csr_array:
    return pg.snapshot(world, 15)


def as_networkx(graph: sp.csr_array) -> nx.Graph:
    """The same graph in networkx, isolated people included."""
    g = nx.Graph()
    g.add_nodes_from(range(graph.shape[0]))
    rows, cols = graph.nonzero()
    g.add_edges_from((int(a), int(b)) for a, b in zip(rows, cols, strict=True))
    return g


def test_the_world_is_seeded_and_grows_a_simple_graph(world):
    again = pg.grow_world(n_people=300, n_communities=5, n_rounds=20, seed=3)
    np.testing.assert_array_equal(world.edges, again.edges)
    low, high = world.edges[:, 0], world.edges[:, 1]
    assert (low < high).all(), "pairs are stored smaller id first, no self-loops"
    assert len({tuple(e) for e in world.edges.tolist()}) == len(world.edges)
    assert (np.diff(world.formed) >= 0).all()
    # Nobody befriends anyone before joining; newcomers join with no friends.
    joined = np.maximum(world.joined[low], world.joined[high])
    assert (world.formed >= joined).all()
    assert 0.3 < (world.joined == 0).mean() < 0.7
    # Profiles state the true community for most people, not all.
    assert 0.6 < (world.profile == world.community).mean() < 0.95


def share_closing_a_triangle(world: pg.World) -> float:
    """Share of edges whose ends already had a mutual friend when they formed."""
    closing = []
    for round_ in range(1, int(world.formed.max()) + 1):
        before = pg.snapshot(world, round_ - 1)
        two_hop = before @ before
        new = world.edges[world.formed == round_]
        closing += [two_hop[a, b] > 0 for a, b in new.tolist()]
    return float(np.mean(closing))


def test_triadic_closure_in_the_world_closes_triangles():
    kwargs = {"n_rounds": 20, "seed": 1}  # 1,500 people: sparse enough to tell
    with_closure = share_closing_a_triangle(pg.grow_world(**kwargs))
    without = share_closing_a_triangle(
        pg.grow_world(closure=0.0, same_community=0.7, **kwargs)
    )
    assert with_closure > without + 0.1


def test_closure_along_a_path_picks_middles_by_their_friend_count():
    """A person with friends of degree 1 and 3: the middle friend is the
    high-degree one 3/4 of the time along a path, 1/2 through a random friend."""
    edges = np.array([[0, 1], [0, 2], [2, 3], [2, 4]])
    friends = pg.neighbour_lists(5, edges)
    rng = np.random.default_rng(0)
    people = np.zeros(20_000, dtype=np.int64)
    for via, expected in (("path", 0.75), ("friend", 0.5)):
        ends = pg.friend_of_friend(friends, people, rng, via)
        # Through friend 1 the walk returns to 0; through friend 2 it ends at 0,
        # 3 or 4 with equal chance, so P(end != 0) = P(middle = 2) * 2/3.
        assert (ends != 0).mean() == pytest.approx(expected * 2 / 3, abs=0.015)


@pytest.mark.parametrize("damping", [0.7, 0.85])
def test_personalised_pagerank_matches_networkx(graph, damping):
    g = as_networkx(graph)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    isolated = int(np.flatnonzero(degree == 0)[0])
    users = np.array([0, 7, int(degree.argmax()), isolated])
    ours = pg.personalised_pagerank(graph, users, damping=damping)
    for row, user in zip(ours, users, strict=True):
        ref = nx.pagerank(
            g, alpha=damping, personalization={int(user): 1}, tol=1e-12, max_iter=2_000
        )
        np.testing.assert_allclose(row, [ref[i] for i in range(len(row))], atol=1e-5)
    # A friendless user's walk never leaves home.
    assert ours[-1, isolated] == pytest.approx(1.0)


def test_personalised_pagerank_is_reversible_and_favours_high_degree(graph):
    """On an undirected graph d_u pi_u(w) = d_w pi_w(u): a candidate's score grows
    with their own degree. The two-step term through z carries 1 / (d_u d_z)."""
    degree = np.asarray(graph.sum(axis=1)).ravel()
    people = np.flatnonzero(degree > 0)[:40]
    ppr = pg.personalised_pagerank(graph, people)
    scores = ppr[:, people]  # scores[i, j] = pi_{people i}(people j)
    left = degree[people][:, None] * scores
    np.testing.assert_allclose(left, left.T, rtol=1e-5)
    # Without the degree weights the scores are far from symmetric.
    assert np.abs(scores - scores.T).max() > 100 * np.abs(left - left.T).max()


def test_mutual_friends_and_adamic_adar_match_networkx(graph):
    g = as_networkx(graph)
    users = np.array([3, 11, 40, 123])
    cn = pg.common_neighbours(graph, users)
    aa = pg.adamic_adar(graph, users)
    others = range(0, graph.shape[0], 7)
    pairs = [(int(u), w) for u, w in itertools.product(users, others) if u != w]
    for u, w, ref_aa in nx.adamic_adar_index(g, pairs):
        row = int(np.flatnonzero(users == u)[0])
        assert aa[row, w] == pytest.approx(ref_aa)
        assert cn[row, w] == len(list(nx.common_neighbors(g, u, w)))
    assert aa.max() > 0 and (aa <= cn / math.log(2) + 1e-12).all()


def test_svd_scores_are_the_rank_r_reconstruction(graph):
    rank = 6
    dense = graph.toarray()
    left, values, right = np.linalg.svd(dense)
    assert values[rank - 1] - values[rank] > 1e-3, "a gap: the subspace is unique"
    expected = (left[:, :rank] * values[:rank]) @ right[:rank]
    users = np.array([0, 5, 9])
    got = pg.svd_scores(graph, users, rank=rank, seed=0)
    np.testing.assert_allclose(got, expected[users], atol=1e-8)


def reference_top_k(scores, tie_break, k):
    """Independent: sort each row's finite (-score, tie) pairs in Python."""
    out = []
    for row, ties in zip(scores.tolist(), tie_break.tolist(), strict=True):
        keyed = sorted(
            (-s, t, c) for c, (s, t) in enumerate(zip(row, ties, strict=True))
        )
        out.append([c for _, _, c in keyed[:k]])
    return np.array(out)


@pytest.mark.parametrize("levels", [2, 5, 1_000])
def test_top_k_matches_a_reference_sort_with_ties_and_exclusions(levels):
    rng = np.random.default_rng(levels)
    scores = rng.integers(0, levels, (40, 60)).astype(float)  # many ties if few levels
    scores[rng.random(scores.shape) < 0.2] = -np.inf  # excluded candidates
    tie_break = rng.random(scores.shape)
    np.testing.assert_array_equal(
        pg.top_k(scores, tie_break, 8), reference_top_k(scores, tie_break, 8)
    )


def test_profile_match_needs_no_friends(graph, world):
    scores = pg.profile_match(graph, np.array([1, 2]), world.profile)
    same = world.profile[[1, 2]][:, None] == world.profile[None, :]
    assert ((scores > 0) == same).all()


def test_bad_input_raises_clear_errors(graph, world):
    users = np.array([0, 1])
    with pytest.raises(TypeError, match="sparse"):
        pg.common_neighbours(graph.toarray(), users)
    with pytest.raises(ValueError, match="symmetric"):
        pg.adamic_adar(sp.csr_array(np.triu(graph.toarray())), users)
    with pytest.raises(ValueError, match="ids in"):
        pg.common_neighbours(graph, np.array([0, graph.shape[0]]))
    with pytest.raises(ValueError, match="integer ids"):
        pg.common_neighbours(graph, np.array([0.5]))
    with pytest.raises(ValueError, match="damping"):
        pg.personalised_pagerank(graph, users, damping=1.0)
    with pytest.raises(ValueError, match="rank"):
        pg.svd_scores(graph, users, rank=graph.shape[0])
    with pytest.raises(ValueError, match="profile"):
        pg.profile_match(graph, users, world.profile[:5])
    with pytest.raises(ValueError, match="at most 1"):
        pg.grow_world(closure=0.7, same_community=0.5)
    with pytest.raises(ValueError, match="closure_via"):
        pg.grow_world(closure_via="stranger")
    with pytest.raises(TypeError, match="n_people"):
        pg.grow_world(n_people=True)
    with pytest.raises(ValueError, match="finite scores"):
        pg.top_k(np.full((2, 3), -np.inf), np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="shape"):
        pg.top_k(np.zeros((2, 3)), np.zeros((3, 2)), 2)
