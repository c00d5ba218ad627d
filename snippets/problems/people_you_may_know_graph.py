"""People you may know in miniature: a growing social graph and four link scorers.

The world (seeded) grows a friendship graph round by round: people join over time,
belong to communities and differ in how social they are; each new edge closes a
triangle (a friend of a friend), joins two members of one community, or links two
strangers at random. Nothing in it reads a scorer. The scorers see only the graph
as it stood at a snapshot round and rank every person the user is not yet connected
to: common neighbours, Adamic-Adar, personalised PageRank (power iteration) and a
truncated SVD of the adjacency matrix. The evaluation is in
``people_you_may_know_eval``; the program is ``python -m
snippets.problems.people_you_may_know``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    """value as an int; TypeError unless an integer, ValueError below minimum."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _share(name: str, value: object) -> float:
    """value as a float in [0, 1]; TypeError or ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


def checked(graph: object, users: object) -> np.ndarray:
    """users as an int array after checking the graph: square, sparse, symmetric."""
    if not sp.issparse(graph):
        raise TypeError(
            f"graph must be a SciPy sparse matrix, got {type(graph).__name__}"
        )
    n = graph.shape[0]
    if graph.shape != (n, n) or abs(graph - graph.T).sum() > 0:
        raise ValueError("graph must be a square, symmetric adjacency matrix")
    people = np.asarray(users)
    if (
        people.ndim != 1
        or people.size == 0
        or not np.issubdtype(people.dtype, np.integer)
    ):
        raise ValueError("users must be a non-empty 1-D array of integer ids")
    if people.min() < 0 or people.max() >= n:
        raise ValueError(
            f"users must be ids in [0, {n}), got {people.min()}..{people.max()}"
        )
    return people


PROFILE_ACCURACY = 0.8  # assumed: profiles that state the right school or workplace
SOCIABILITY_SPREAD = 1.0  # sd of log sociability: a heavy tail, a few hubs


# --8<-- [start:world]
@dataclass(frozen=True)
class World:
    """A friendship graph grown round by round; edges carry the round they formed."""

    n_people: int
    joined: np.ndarray  # round in which each person joined
    community: np.ndarray  # each person's community (school, workplace, town)
    profile: np.ndarray  # the community their profile states (wrong for some)
    sociability: np.ndarray  # how often a person starts, and attracts, a friendship
    edges: np.ndarray  # (m, 2) pairs, smaller id first
    formed: np.ndarray  # round in which each edge formed


def grow_world(
    n_people: int = 1_500,
    n_communities: int = 15,
    n_rounds: int = 40,
    edges_per_round: int = 200,
    *,
    closure: float = 0.5,
    same_community: float = 0.35,
    closure_via: str = "friend",
    seed: int = 0,
) -> World:
    """Grow a graph: each round, people (picked by sociability) start one friendship.

    With probability ``closure`` it goes to a friend of a friend (triadic closure):
    through a random friend, then a random friend of theirs (``closure_via=
    "friend"``: a hub's friends are each unlikely), or along a random two-step path
    (``"path"``: a stranger's chance grows with the mutual friends). With
    ``same_community`` it goes to a member of the person's community, otherwise to
    anyone; those targets are picked by sociability (log-normal: a few hubs).
    Half the people are there at round 0; the rest join later, with no friends.
    A draw that lands on oneself or on a friend is lost.
    """
    for name, value in (("n_people", n_people), ("edges_per_round", edges_per_round)):
        _positive_int(name, value, minimum=2)
    _positive_int("n_communities", n_communities)
    _positive_int("n_rounds", n_rounds, minimum=2)
    if _share("closure", closure) + _share("same_community", same_community) > 1:
        raise ValueError("closure + same_community must be at most 1")
    if closure_via not in ("friend", "path"):
        raise ValueError(f"closure_via must be 'friend' or 'path', got {closure_via!r}")
    rng = np.random.default_rng(seed)
    community = rng.integers(0, n_communities, n_people)
    sociability = np.exp(SOCIABILITY_SPREAD * rng.standard_normal(n_people))
    joined = np.where(
        rng.random(n_people) < 0.5, 0, rng.integers(1, n_rounds, n_people)
    )
    edges = np.empty((0, 2), dtype=np.int64)
    formed = np.empty(0, dtype=np.int64)
    friends = neighbour_lists(n_people, edges)
    linked = np.zeros((n_people, n_people), dtype=bool)
    for round_ in range(n_rounds):
        here = np.flatnonzero(joined <= round_)
        weight = np.cumsum(sociability[here])
        pick = rng.random(edges_per_round) * weight[-1]
        starters = here[np.searchsorted(weight, pick)]
        draw = rng.random(edges_per_round)
        targets = np.full(edges_per_round, -1)
        closing = (draw < closure) & (np.diff(friends[0])[starters] > 0)
        targets[closing] = friend_of_friend(
            friends, starters[closing], rng, closure_via
        )
        local = ~closing & (draw < closure + same_community)
        targets[local] = community_member(
            here, community, sociability, community[starters[local]], rng
        )
        anyone = targets < 0
        pick = rng.random(anyone.sum()) * weight[-1]
        targets[anyone] = here[np.searchsorted(weight, pick)]
        new = new_pairs(starters, targets, linked)
        edges = np.concatenate([edges, new])
        formed = np.concatenate([formed, np.full(len(new), round_)])
        friends = neighbour_lists(n_people, edges)
    stated = rng.random(n_people) < PROFILE_ACCURACY
    profile = np.where(stated, community, rng.integers(0, n_communities, n_people))
    return World(n_people, joined, community, profile, sociability, edges, formed)
    # --8<-- [end:world]


def new_pairs(
    starters: np.ndarray, targets: np.ndarray, linked: np.ndarray
) -> np.ndarray:
    """The round's distinct new friendships: no self-pairs, no existing friends.

    ``linked`` is the boolean friendship matrix (upper triangle), updated in place.
    """
    low, high = np.minimum(starters, targets), np.maximum(starters, targets)
    fresh = (low != high) & ~linked[low, high]
    codes = low[fresh] * linked.shape[0] + high[fresh]
    _, first = np.unique(codes, return_index=True)
    codes = codes[np.sort(first)]  # the first draw of a pair, in draw order
    pairs = np.column_stack([codes // linked.shape[0], codes % linked.shape[0]])
    linked[pairs[:, 0], pairs[:, 1]] = True
    return pairs


def neighbour_lists(n_people: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, friends): person i's friends are friends[offsets[i]:offsets[i+1]]."""
    source = np.concatenate([edges[:, 0], edges[:, 1]])
    target = np.concatenate([edges[:, 1], edges[:, 0]])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(source, minlength=n_people))])
    return offsets, target[np.argsort(source, kind="stable")]


def random_friend(
    friends: tuple[np.ndarray, np.ndarray], people: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One friend of each person, uniformly at random (each must have a friend)."""
    offsets, lists = friends
    degree = offsets[people + 1] - offsets[people]
    return lists[offsets[people] + (rng.random(people.size) * degree).astype(np.int64)]


def friend_of_friend(
    friends: tuple[np.ndarray, np.ndarray],
    people: np.ndarray,
    rng: np.random.Generator,
    via: str = "friend",
) -> np.ndarray:
    """For each person, the end of a two-step walk over friendships.

    ``via="friend"`` takes a uniform friend, then a uniform friend of theirs;
    ``via="path"`` takes the middle friend in proportion to their friend count, so
    every two-step path is equally likely.
    """
    if via == "friend":
        middle = random_friend(friends, people, rng)
    else:
        offsets, lists = friends
        degree = np.diff(offsets).astype(float)
        weight = np.concatenate([[0.0], np.cumsum(degree[lists])])
        start, end = weight[offsets[people]], weight[offsets[people + 1]]
        slot = np.searchsorted(weight, start + rng.random(people.size) * (end - start))
        middle = lists[np.clip(slot - 1, offsets[people], offsets[people + 1] - 1)]
    return random_friend(friends, middle, rng)


def community_member(
    here: np.ndarray,
    community: np.ndarray,
    sociability: np.ndarray,
    wanted: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each wanted community, a present member picked by sociability."""
    order = here[np.argsort(community[here], kind="stable")]
    weight = np.concatenate([[0.0], np.cumsum(sociability[order])])
    groups = community[order]
    start = weight[np.searchsorted(groups, wanted, "left")]
    end = weight[np.searchsorted(groups, wanted, "right")]
    picks = np.searchsorted(weight, start + rng.random(wanted.size) * (end - start))
    return order[np.clip(picks - 1, 0, order.size - 1)]


def adjacency(n_people: int, edges: np.ndarray) -> sp.csr_array:
    """Symmetric 0/1 adjacency matrix (CSR) of an undirected edge list."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    data = np.ones(rows.size)
    return sp.csr_array((data, (rows, cols)), shape=(n_people, n_people))


def snapshot(world: World, round_: int) -> sp.csr_array:
    """The graph as it stood at the end of a round: what a batch job would see."""
    _positive_int("round_", round_, minimum=0)
    return adjacency(world.n_people, world.edges[world.formed <= round_])


# --8<-- [start:heuristics]
def common_neighbours(graph: sp.csr_array, users: np.ndarray) -> np.ndarray:
    """Mutual friends of each user (row) with every person (column)."""
    users = checked(graph, users)
    return (graph[users] @ graph).toarray()


def adamic_adar(graph: sp.csr_array, users: np.ndarray) -> np.ndarray:
    """Sum over mutual friends z of 1 / log(degree z): a hub is weak evidence."""
    users = checked(graph, users)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    weight = np.zeros(degree.size)
    shared = degree > 1  # a mutual friend has at least two friends
    weight[shared] = 1.0 / np.log(degree[shared])
    return (graph[users] @ sp.diags_array(weight) @ graph).toarray()
    # --8<-- [end:heuristics]


def profile_match(
    graph: sp.csr_array, users: np.ndarray, profile: np.ndarray
) -> np.ndarray:
    """Same stated school or workplace, most-connected first: needs no friends."""
    users = checked(graph, users)
    if np.shape(profile) != (graph.shape[0],):
        raise ValueError("profile needs one stated community per person")
    degree = np.asarray(graph.sum(axis=1)).ravel()
    same = profile[users][:, None] == profile[None, :]
    return same * (1.0 + degree)


MAX_ITERATIONS = 200  # power iteration: damping^200 is far below any tolerance


def checked_damping(damping: float, tol: float) -> float:
    """damping after checking it lies in (0, 1) and tol is positive."""
    if not 0 < damping < 1 or not tol > 0:
        raise ValueError(f"damping must lie in (0, 1), tol be > 0: {damping}, {tol}")
    return float(damping)


# --8<-- [start:ppr]
def personalised_pagerank(
    graph: sp.csr_array, users: np.ndarray, damping: float = 0.7, tol: float = 1e-6
) -> np.ndarray:
    """Visit rates of a walk that restarts at each user (a row each), by power
    iteration; a friendless node's mass returns to the user, as in networkx."""
    users, damping = checked(graph, users), checked_damping(damping, tol)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    walk = (graph @ sp.diags_array(inverse)).astype(np.float32)  # P^T (A symmetric)
    restart = np.zeros((graph.shape[0], len(users)), dtype=np.float32)
    restart[users, np.arange(len(users))] = 1.0
    visits, stuck = restart.copy(), degree == 0
    for _ in range(MAX_ITERATIONS):
        lost = visits[stuck].sum(axis=0)  # mass on friendless nodes
        new = damping * (walk @ visits) + (1 - damping + damping * lost) * restart
        change = np.abs(new - visits).sum(axis=0).max()
        visits = new
        if change < tol:
            return visits.T.astype(float)
    raise RuntimeError(f"PageRank did not converge in {MAX_ITERATIONS} iterations")
    # --8<-- [end:ppr]


# --8<-- [start:embedding]
def svd_scores(
    graph: sp.csr_array, users: np.ndarray, rank: int = 16, seed: int = 0
) -> np.ndarray:
    """Rank-r reconstruction of the adjacency: U_u diag(s) V^T, a graph embedding."""
    users = checked(graph, users)
    _positive_int("rank", rank)
    if rank >= graph.shape[0]:
        raise ValueError(f"rank must be below the number of people, got {rank}")
    left, values, right = svds(graph.astype(float), k=rank, rng=seed)
    return (left[users] * values) @ right
    # --8<-- [end:embedding]


# --8<-- [start:top_k]
def top_k(scores: np.ndarray, tie_break: np.ndarray, k: int) -> np.ndarray:
    """Per row, the k columns with the highest score, best first.

    Equal scores go to the lower ``tie_break`` (one shared random value per cell,
    so no scorer wins a tie by column number). Excluded candidates carry -inf.
    """
    n = check_top_k(scores, tie_break, k)
    kth = np.partition(scores, n - k, axis=1)[:, n - k, None]  # k-th highest
    above, level = scores > kth, scores == kth
    needed = k - above.sum(axis=1)  # >= 1: how many of the tied level to keep
    ranks = np.where(level, tie_break, np.inf)
    lowest = np.sort(np.partition(ranks, needed.max() - 1, axis=1)[:, : needed.max()])
    cut = np.take_along_axis(lowest, needed[:, None] - 1, axis=1)
    rows = np.arange(scores.shape[0])[:, None]
    picked = np.nonzero(above | (level & (tie_break <= cut)))[1].reshape(-1, k)
    by_tie = np.argsort(tie_break[rows, picked], axis=1)
    picked = np.take_along_axis(picked, by_tie, axis=1)
    best = np.argsort(-scores[rows, picked], axis=1, kind="stable")
    return np.take_along_axis(picked, best, axis=1)
    # --8<-- [end:top_k]


def check_top_k(scores: np.ndarray, tie_break: np.ndarray, k: int) -> int:
    """The number of columns, after checking top_k's arguments."""
    _positive_int("k", k)
    if not isinstance(scores, np.ndarray) or scores.ndim != 2:
        raise TypeError("scores must be a 2-D NumPy array (a row per user)")
    if np.shape(tie_break) != scores.shape:
        raise ValueError("tie_break must have the shape of scores")
    if np.isnan(scores).any() or (np.isfinite(scores).sum(axis=1) < k).any():
        raise ValueError(f"every row needs at least k={k} finite scores and no NaN")
    return scores.shape[1]
