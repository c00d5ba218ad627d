"""The PYMK miniature's evaluation: future edges, the same candidates, several seeds.

Each seed grows a world (``people_you_may_know_graph``), freezes the graph at a
snapshot round, and asks every scorer for a top 10 among the same candidates: every
person present at the snapshot who is not the user and not already a friend. The top
10s are graded by the friendships that form in the rounds after the snapshot, with
recall@10 and precision@10, averaged per user. The program that prints the results
is ``python -m snippets.problems.people_you_may_know``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from snippets.concepts.ranking_metrics import precision_at_k, recall_at_k
from snippets.problems import people_you_may_know_graph as pg

SEEDS = (0, 1, 2, 3, 4)
SNAPSHOT = 31  # the batch job's graph: rounds 0..31; rounds 32..39 are the future
STALE = 27  # a batch four rounds older, for the freshness ablation
USERS_PER_SEED = 300  # query users sampled among those who make a future friend
K = 10  # suggestions shown
SHOWN_BY_INCUMBENT = 5  # the feedback loop: suggestions the live PYMK showed
ACCEPT_STRANGER = 0.1  # assumed: share of shown non-organic suggestions accepted
ACCEPT_SWEEP = (0.0, 0.02, 0.05, ACCEPT_STRANGER)  # the same draws at each rate
INCUMBENT = "common neighbours"
SEGMENTS = ("0 friends", "1-2 friends", "3+ friends")
GRAPH_SCORERS = (
    "common neighbours",
    "Adamic-Adar",
    "personalised PageRank",
    "SVD embedding, rank 16",
)
SCORERS = (*GRAPH_SCORERS, "profile: same community")
WORLDS = {  # name -> (grow_world keyword arguments, scorers compared there)
    "main": ({}, SCORERS),
    # One mechanism off: the closure draws go to anyone; community growth stays.
    "no triadic closure": ({"closure": 0.0}, GRAPH_SCORERS[1:]),
    # Closure off and community-driven growth doubled: two settings changed.
    "no closure, community 0.7": (
        {"closure": 0.0, "same_community": 0.7},
        GRAPH_SCORERS[1::2],
    ),
    "closure along any path": ({"closure_via": "path"}, GRAPH_SCORERS[:2]),
}


@dataclass(frozen=True)
class SeedResult:
    """What one seed of one world measures, averaged over its query users."""

    n_people: int  # present at the snapshot
    n_edges: int  # friendships at the snapshot
    n_future: int  # friendships formed after it between people present at it
    segment_share: dict[str, float]  # query users by friends at the snapshot
    future_per_user: dict[str, float]  # segment -> mean future friends per user
    chance_recall: dict[str, float]  # segment -> recall@10 of a random order
    within_two_hops: float  # per user: share of future friends at distance 2
    recall: dict[str, dict[str, float]]  # scorer -> segment or "all" -> recall@10
    precision: dict[str, dict[str, float]]  # scorer -> segment or "all" -> prec@10
    logged_recall: dict[float, dict[str, float]]  # acceptance -> scorer -> recall
    induced_share: dict[float, float]  # acceptance -> share of logged edges induced
    stale_recall: dict[str, float]  # Adamic-Adar, stale and fresh: all, newcomers


def score(
    name: str, graph: sp.csr_array, users: np.ndarray, world: pg.World, seed: int
) -> np.ndarray:
    """One scorer's scores of every candidate for each user (a row per user)."""
    if name == "common neighbours":
        return pg.common_neighbours(graph, users)
    if name == "Adamic-Adar":
        return pg.adamic_adar(graph, users)
    if name == "personalised PageRank":
        return pg.personalised_pagerank(graph, users)
    if name == "SVD embedding, rank 16":
        return pg.svd_scores(graph, users, rank=16, seed=seed)
    if name == "profile: same community":
        return pg.profile_match(graph, users, world.profile)
    raise ValueError(f"unknown scorer {name!r}; choose from {SCORERS}")


# --8<-- [start:evaluate]
def future_friends(world: pg.World, snapshot: int) -> dict[int, set[int]]:
    """Friendships formed after the snapshot between two people present at it."""
    present = world.joined <= snapshot
    later = (world.formed > snapshot) & present[world.edges].all(axis=1)
    friends: dict[int, set[int]] = {}
    for a, b in world.edges[later].tolist():
        friends.setdefault(a, set()).add(b)
        friends.setdefault(b, set()).add(a)
    return friends


def grade(
    top: np.ndarray,
    users: np.ndarray,
    truth: dict[int, set[int]],
    metric: Callable[..., float] = recall_at_k,
) -> np.ndarray:
    """Per user, metric@K of the row's suggestions against their future friends."""
    pairs = zip(top.tolist(), users.tolist(), strict=True)
    return np.array([metric(ranked, truth[user], K) for ranked, user in pairs])
    # --8<-- [end:evaluate]


def excluded(graph: sp.csr_array, users: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Candidates no scorer may suggest: oneself, friends, people not yet joined."""
    mask = graph[users].toarray() > 0
    mask[np.arange(users.size), users] = True
    return mask | ~present[None, :]


# --8<-- [start:feedback]
def logged_future(
    shown: np.ndarray,
    users: np.ndarray,
    organic: dict[int, set[int]],
    rng: np.random.Generator,
    accept: float = ACCEPT_STRANGER,
) -> dict[int, set[int]]:
    """Future friends as the logs record them once a live PYMK shows suggestions.

    A shown suggestion that would not have formed on its own is accepted with
    probability ``accept``: an edge that exists because it was suggested.
    """
    if not 0 <= accept <= 1:
        raise ValueError(f"accept must lie in [0, 1], got {accept}")
    logged = {u: set(friends) for u, friends in organic.items()}
    for user, row in zip(users.tolist(), shown.tolist(), strict=True):
        for other in row:
            if other not in organic[user] and rng.random() < accept:
                logged[user].add(other)
                logged.setdefault(other, set()).add(user)
    return logged
    # --8<-- [end:feedback]


def segment_of(degree: np.ndarray) -> np.ndarray:
    """Each user's segment by friends at the snapshot: 0, 1-2, 3 or more."""
    return np.array(SEGMENTS)[np.searchsorted([0.5, 2.5], degree)]


def run_seed(world_name: str, seed: int) -> SeedResult:
    """Grow one world, score the same candidates every way, grade on the future."""
    grow_kwargs, scorers = WORLDS[world_name]
    world = pg.grow_world(seed=seed, **grow_kwargs)
    graph = pg.snapshot(world, SNAPSHOT)
    truth = future_friends(world, SNAPSHOT)
    rng = np.random.default_rng(1_000 + seed)
    users = np.sort(rng.choice(sorted(truth), USERS_PER_SEED, replace=False))
    present = world.joined <= SNAPSHOT
    mask = excluded(graph, users, present)
    tie_break = rng.random(mask.shape)  # one shared random order breaks ties
    segment = segment_of(np.asarray(graph.sum(axis=1)).ravel()[users])
    two_hop = (graph[users] @ graph).toarray() > 0
    within = [np.mean([two_hop[i, f] for f in truth[u]]) for i, u in enumerate(users)]
    tops, recall, precision = {}, {}, {}
    with threadpool_limits(limits=1):  # the same numbers on any machine
        for name in scorers:
            scores = np.where(mask, -np.inf, score(name, graph, users, world, seed))
            tops[name] = pg.top_k(scores, tie_break, K)
    for name, top in tops.items():
        for table, metric in ((recall, recall_at_k), (precision, precision_at_k)):
            r = grade(top, users, truth, metric)
            table[name] = {"all": float(r.mean())}
            table[name] |= {s: float(r[segment == s].mean()) for s in SEGMENTS}
    n_future = np.array([len(truth[u]) for u in users.tolist()])
    # A random order finds each future friend with chance K / candidates.
    chance = K / (~mask).sum(axis=1)
    logged_recall, induced, stale = {}, {}, {}
    if world_name == "main":
        shown = tops[INCUMBENT][:, :SHOWN_BY_INCUMBENT]
        for accept in ACCEPT_SWEEP:  # the same draws each time: nested edge sets
            logged = logged_future(shown, users, truth, copy.deepcopy(rng), accept)
            graded = GRAPH_SCORERS if accept == ACCEPT_STRANGER else GRAPH_SCORERS[:3]
            logged_recall[accept] = {
                name: float(grade(tops[name], users, logged).mean()) for name in graded
            }
            logged_n = sum(len(logged[u]) for u in users.tolist())
            induced[accept] = 1 - n_future.sum() / logged_n
        old = pg.adamic_adar(pg.snapshot(world, STALE), users)
        old_top = pg.top_k(np.where(mask, -np.inf, old), tie_break, K)
        old_r = grade(old_top, users, truth)
        fresh_r = grade(tops["Adamic-Adar"], users, truth)
        new = world.joined[users] > STALE
        stale = {
            "stale": float(old_r.mean()),
            "fresh": float(fresh_r.mean()),
            "stale, joined since": float(old_r[new].mean()),
            "fresh, joined since": float(fresh_r[new].mean()),
            "joined since": float(new.mean()),
        }
    return SeedResult(
        n_people=int(present.sum()),
        n_edges=int(graph.nnz // 2),
        n_future=sum(len(f) for f in truth.values()) // 2,
        segment_share={s: float(np.mean(segment == s)) for s in SEGMENTS},
        future_per_user={s: float(n_future[segment == s].mean()) for s in SEGMENTS},
        chance_recall={s: float(chance[segment == s].mean()) for s in SEGMENTS},
        within_two_hops=float(np.mean(within)),
        recall=recall,
        precision=precision,
        logged_recall=logged_recall,
        induced_share=induced,
        stale_recall=stale,
    )


@functools.cache
def run_world(world_name: str) -> tuple[SeedResult, ...]:
    """Every seed of one world (cached: the program and its tests share it)."""
    if world_name not in WORLDS:
        raise ValueError(f"unknown world {world_name!r}; choose from {sorted(WORLDS)}")
    return tuple(run_seed(world_name, seed) for seed in SEEDS)
