"""Feed ranking in miniature: multi-task engagement heads combined into one value.

A synthetic social network (seeded): users with latent interests and an activity
level (some are passive: they read but rarely react, and open the feed less often),
posts from friends and from unconnected accounts, some of them clickbait. Six
engagement types (click, long dwell, like, comment, share, hide) depend on hidden
causes in different ways. One logistic regression per head is trained on a random
exploration slice; the feed loads of new users are ranked by the click head alone,
by weighted value scores, with a head left out, with a miscalibrated head, and with
a diversity re-ranker. Every ranking is graded by what its top 10 would bring,
computed from the true event probabilities: clicks, long dwells, comments and
shares, hides and clickbait in natural units, and the value under two weightings.
Five seeds, paired differences with a 95% interval.

Run it: ``python -m snippets.problems.feed_ranking``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import paired_interval
from snippets.concepts.calibration import correct_downsampled
from snippets.concepts.classification_metrics import log_loss, roc_auc, sigmoid
from snippets.concepts.generative_ai import A100_80GB


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Feed QPS, items scored, bytes fetched and logged, and the latency budget."""
    dau, feed_loads_per_user = 500e6, 8.0  # assumed: 4 sessions x 2 loads a day
    qps = peak_qps(dau, feed_loads_per_user, peak_to_average=2.0)
    candidates, heavy_ranked, returned = 2_000, 500, 50  # per feed load, assumed
    seen_per_load, unshown_logged_per_load = 20, 10  # assumed
    # The server cannot know at ranking time which of the 50 returned posts will be
    # seen: it buffers their vectors until the client's impressions arrive (assumed
    # to within an hour; later ones are dropped and counted).
    impression_wait_s = 3_600
    sources = 4  # friends, pages and creators, groups, recommended: in parallel
    post_feature_shards = 20  # assumed; each shard is replicated 3 times
    loads_per_day = dau * feed_loads_per_user
    # Eligible posts: ~300M new posts a day, kept as candidates for 7 days.
    eligible_posts = 300e6 * 7
    # Assumed heavy-ranker size: 1 GFLOP per post scored, at 30% of the
    # accelerator's datasheet peak (small batches, embedding lookups, padding).
    heavy_flops_per_post, accelerator_utilisation = 1e9, 0.3
    nic_bits_per_s, nic_utilisation = 100e9, 0.5  # assumed ranker-host network
    # Assumed costs of the cheaper stages, to set against the heavy ranker:
    # a GBDT first pass (a few hundred trees) takes 10 us of one core per score;
    # the two-tower source takes 5 ms of CPU per feed load (user tower, then an
    # ANN search over the post index's shards); an A100 costs as much to run as
    # 50 CPU cores (check against your provider's prices).
    first_pass_us_per_score, ann_cpu_ms_per_load, cores_per_a100 = 10.0, 5.0, 50
    # Bytes per candidate: the post vector (~1 kB), its author's features (~300 B:
    # embedding and counters) and the user-author affinity (~100 B), counting one
    # author per candidate (an upper bound); plus the user's own 2 kB row per load.
    post_bytes, author_bytes, affinity_bytes, user_bytes = 1_000, 300, 100, 2_000
    candidate_bytes = post_bytes + author_bytes + affinity_bytes
    # The store behind the fetch, assumed: a node serves 1 million keys a second in
    # batched multi-gets (10x the 100,000 point reads the fraud page assumes: a
    # batch pays the network and parsing once for many keys; measure it), holds
    # 256 GB of usable RAM and costs as much to run as 32 CPU cores.
    keys_per_node, point_reads_per_node = 1e6, 1e5
    ram_per_node, cores_per_store_node = 256e9, 32
    stages_ms = {  # allocations of the p99, server-side; headroom absorbs the tails
        "request, auth, feed assembly": 20,
        "candidate sources (in parallel)": 40,
        "feature fetch": 30,
        "first-pass ranker (2,000 posts)": 15,
        "multi-task heavy ranker (500 posts)": 70,
        "value model and re-ranking": 10,
    }
    budget_ms = 250.0  # assumed server-side p99 target for one feed load
    # One fetch per load, all reads in parallel (the sources return each post's
    # author id): every candidate's post, author and affinity features, kept in
    # the ranker's memory for the request, so both rankers read the same copy.
    fetch_bytes_per_s = qps * (candidates * candidate_bytes + user_bytes)
    heavy_flops_per_s = qps * heavy_ranked * heavy_flops_per_post
    accelerators = servers_needed(
        heavy_flops_per_s, A100_80GB.peak_flops, accelerator_utilisation
    )
    first_pass_cores = servers_needed(qps * candidates, 1e6 / first_pass_us_per_score)
    ann_cores = servers_needed(qps, 1e3 / ann_cpu_ms_per_load)
    cheap_cores = first_pass_cores + ann_cores
    # Key reads: a post, an author and an affinity key per candidate, and the user's
    # row. Posts and authors share 20 shards, each load touching all of them; users
    # and affinity are sharded by user. Reads add replicas, not shards, so the
    # fan-out stays 21; a table's fleet is its shards x max(3, replicas for reads).
    post_author_keys, user_keys = qps * 2 * candidates, qps * (candidates + 1)
    post_author_bytes = eligible_posts * post_bytes + 1e9 * author_bytes
    user_affinity_bytes = 1e9 * user_bytes + 1e9 * 100 * affinity_bytes  # one copy
    user_shards = math.ceil(user_affinity_bytes / ram_per_node)

    def store_nodes(keys_per_s_per_node: float) -> tuple[int, int, int]:
        per_post_replica = post_feature_shards * keys_per_s_per_node
        post_replicas = max(3, servers_needed(post_author_keys, per_post_replica))
        per_user_replica = user_shards * keys_per_s_per_node
        user_replicas = max(3, servers_needed(user_keys, per_user_replica))
        nodes = post_feature_shards * post_replicas + user_shards * user_replicas
        return nodes, post_replicas, user_replicas

    nodes, post_replicas, user_replicas = store_nodes(keys_per_node)
    heavy_cores = accelerators * cores_per_a100
    return {
        "peak_feed_qps": qps,
        "first_pass_per_s": qps * candidates,
        "heavy_per_s": qps * heavy_ranked,
        "returned": returned,
        "candidate_bytes": candidate_bytes,
        "feature_fetch_per_s": human_bytes(fetch_bytes_per_s),
        "feature_fetch_tbit_per_s": fetch_bytes_per_s * 8 / 1e12,
        # The alternative: a second, sequential fetch of full vectors for the
        # survivors only, with its own slot in the latency budget.
        "heavy_only_fetch_per_s": human_bytes(qps * heavy_ranked * post_bytes),
        "fetch_hosts": servers_needed(
            fetch_bytes_per_s * 8, nic_bits_per_s, nic_utilisation
        ),
        "store_keys_per_s": post_author_keys + user_keys,
        "store_keys_per_node": keys_per_node,
        "post_shard_bytes": human_bytes(post_author_bytes / post_feature_shards),
        "post_replicas": post_replicas,
        "user_shards": user_shards,
        "user_replicas": user_replicas,
        "store_nodes": nodes,
        "cores_per_store_node": cores_per_store_node,
        "store_core_equivalents": nodes * cores_per_store_node,
        "store_over_heavy": nodes * cores_per_store_node / heavy_cores,
        "point_reads_per_node": point_reads_per_node,
        "store_nodes_point_reads": store_nodes(point_reads_per_node)[0],
        "store_over_heavy_point_reads": store_nodes(point_reads_per_node)[0]
        * cores_per_store_node
        / heavy_cores,
        # Keys a second a node at which the store, bound by reads, costs what the
        # heavy ranker costs (continuous: no rounding of replicas).
        "break_even_keys_per_node": (post_author_keys + user_keys)
        * cores_per_store_node
        / heavy_cores,
        "heavy_flops_per_post": heavy_flops_per_post,
        "accelerator_utilisation": accelerator_utilisation,
        "heavy_flops_per_s": heavy_flops_per_s,
        "accelerators_at_peak": heavy_flops_per_s / A100_80GB.peak_flops,
        # One load's heavy pass on one accelerator at that utilisation.
        "heavy_ms_per_load": 1e3
        * heavy_ranked
        * heavy_flops_per_post
        / (A100_80GB.peak_flops * accelerator_utilisation),
        "accelerators": accelerators,
        # The cheaper stages, in cores, and the heavy ranker in the same unit.
        "first_pass_cores": first_pass_cores,
        "ann_cores": ann_cores,
        "cores_per_a100": cores_per_a100,
        "heavy_core_equivalents": heavy_cores,
        "heavy_over_cheap": heavy_cores / cheap_cores,
        # FLOPs per post at which the heavy ranker would cost what the first
        # pass and the two-tower source cost together.
        "break_even_flops_per_post": cheap_cores
        / cores_per_a100
        * A100_80GB.peak_flops
        * accelerator_utilisation
        / (qps * heavy_ranked),
        # 256 float16 user embedding plus ~1.5 kB of counters per monthly user.
        "user_store": human_bytes(storage_bytes(1e9, 2_000, replicas=3)),
        # Post embedding, author, counters, integrity scores: ~1 kB a post.
        "post_store": human_bytes(storage_bytes(eligible_posts, 1_000, replicas=3)),
        # Authors: every monthly user can post. Affinity: assumed 100 authors with
        # interaction history per monthly user; an unknown pair reads as zero.
        "author_store": human_bytes(storage_bytes(1e9, author_bytes, replicas=3)),
        "affinity_store": human_bytes(
            storage_bytes(1e9 * 100, affinity_bytes, replicas=3)
        ),
        # Impression log: ids, position, context, 6 labels and the request id that
        # joins it to the features-as-served log, ~300 B per post seen.
        "impressions_per_day": loads_per_day * seen_per_load,
        "impression_log_per_day": human_bytes(
            storage_bytes(loads_per_day * seen_per_load, 300)
        ),
        # Features-as-served, the ~1.4 kB candidate vector (post, author, affinity).
        # Either log, at ranking time, all 50 returned posts plus 10 scored but not
        # returned: nothing waits, but 30 of the 50 are never seen. Or write the 50
        # to a buffer, join them to the impressions, and keep the 20 seen plus the
        # 10 unshown. Either way, the user's 2 kB row once per load.
        "feature_log_returned_per_day": human_bytes(
            storage_bytes(
                loads_per_day * (returned + unshown_logged_per_load), candidate_bytes
            )
        ),
        "feature_log_per_day": human_bytes(
            storage_bytes(
                loads_per_day * (seen_per_load + unshown_logged_per_load),
                candidate_bytes,
            )
        ),
        "feature_buffer": human_bytes(
            qps * returned * candidate_bytes * impression_wait_s
        ),
        "impression_wait_s": impression_wait_s,
        "user_rows_per_day": human_bytes(storage_bytes(loads_per_day, user_bytes)),
        # The sources stage waits for the slowest source: for the stage to meet its
        # p99, each of the parallel sources must meet it at a higher percentile.
        "source_percentile": 100 * 0.99 ** (1 / sources),
        "sources": sources,
        # Post and author tables share the 20 shards (one batched request per
        # shard); 2,000 keys hashed over them touch every shard (a shard is missed
        # with probability (19/20)^2000 ~ 0). The user row and the affinity table
        # are sharded by user: one more shard. The fetch waits for the slowest.
        "shard_percentile": 100 * 0.99 ** (1 / (post_feature_shards + 1)),
        "shards": post_feature_shards,
        "fetch_fan_out": post_feature_shards + 1,
        "budget_ms": budget_ms,
        "headroom_ms": remaining_budget_ms(budget_ms, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


# --8<-- [start:abtest]
def clusters_per_arm(
    relative_mde: float,
    cv: float,
    icc: float,
    cluster_size: int,
    alpha: float = 0.05,
    power: float = 0.8,
) -> dict[str, float]:
    """Clusters per arm to detect a relative change in a per-user mean (two-sided).

    Randomised one by one, each arm needs 2 (z_alpha/2 + z_beta)^2 (CV / MDE)^2
    users. Randomising clusters of m users multiplies that by the design effect
    1 + (m - 1) ICC (equal-sized clusters; unequal sizes raise it).
    """
    if not 0 < relative_mde < 1 or cv <= 0:
        raise ValueError("relative_mde must be in (0, 1) and cv positive")
    if not 0 <= icc <= 1:
        raise ValueError(f"icc must be in [0, 1], got {icc}")
    if isinstance(cluster_size, bool) or not isinstance(cluster_size, int):
        raise TypeError("cluster_size must be an integer")
    if cluster_size < 1 or not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("cluster_size must be >= 1; alpha and power in (0, 1)")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    independent = 2 * (z * cv / relative_mde) ** 2
    design_effect = 1 + (cluster_size - 1) * icc
    clusters = math.ceil(independent * design_effect / cluster_size)
    return {
        "users_if_independent": independent,
        "design_effect": design_effect,
        "clusters": clusters,
        "users": clusters * cluster_size,
    }


def online_test_size() -> dict:
    """A ranker change, cluster-randomised, read on sessions per user."""
    dau = 500e6  # from the clarifying questions
    # Assumed: detect a 1% change in sessions per user over a 14-day window (two
    # weekly cycles, past the novelty effect), whose coefficient of variation
    # across users is 1.0, with graph clusters of 1,000 users. Measure the CV and
    # the intra-cluster correlation on a past window; two ICCs bracket it here.
    mde, cv, days, cluster_size, iccs = 0.01, 1.0, 14, 1_000, (0.01, 0.05)
    sizes = {icc: clusters_per_arm(mde, cv, icc, cluster_size) for icc in iccs}
    return {
        "mde": mde,
        "cv": cv,
        "days": days,
        "cluster_size": cluster_size,
        "users_if_independent": sizes[iccs[0]]["users_if_independent"],
        "by_icc": sizes,
        # Both arms, as a share of the users active on a day.
        "dau_share": {icc: 2 * size["users"] / dau for icc, size in sizes.items()},
    }
    # --8<-- [end:abtest]


# --8<-- [start:world]
HEADS = ("click", "dwell", "like", "comment", "share", "hide")
# Business assumption: value of one event in "clicks". A comment or a share starts a
# conversation between friends; a hide is a strong negative signal (and a report,
# not simulated here, would be worse still).
VALUE_WEIGHTS = {
    "click": 1.0,
    "dwell": 2.0,
    "like": 4.0,
    "comment": 12.0,
    "share": 16.0,
    "hide": -20.0,
}
# A second, equally arbitrary product view, to test how much the verdict depends on
# the weights: clicks first, hides cost little.
CLICK_HEAVY_WEIGHTS = {
    "click": 10.0,
    "dwell": 1.0,
    "like": 1.0,
    "comment": 2.0,
    "share": 2.0,
    "hide": -5.0,
}
# How each latent cause moves each event's log-odds (the world, hidden from the model).
# fmt: off
TRUE_COEFFICIENTS = np.array([
    # bias  match close quality bait  long  activity age (h)
    [-2.6,  0.7,  1.5,  0.2,    1.2,  0.0,  0.0,  -0.02],  # click: bait works
    [-2.0,  0.8,  0.5,  0.8,   -1.2,  1.5,  0.0,  -0.02],  # dwell: long reads
    [-3.0,  0.9,  1.8,  0.6,   -0.6,  0.0,  1.0,  -0.02],  # like
    [-5.0,  0.5,  3.0,  0.4,    0.0,  0.0,  1.3,  -0.03],  # comment: friends
    [-5.2,  0.8,  0.0,  1.2,   -0.5,  0.0,  0.8,  -0.03],  # share: quality
    [-5.0, -0.6, -1.0,  0.0,    2.5,  0.0,  0.0,   0.00],  # hide: bait
])
# fmt: on
FEATURES = (
    "interest_match",  # two-tower style user-post similarity, noisy
    "closeness",  # log of past interactions with the author (0 if unconnected)
    "is_friend",
    "early_engagement",  # engagement velocity of the post in its first minutes
    "clickbait_score",  # integrity classifier output in (0, 1)
    "age_hours",
    "long_form",  # long text or video: read, rarely reacted to
    "user_activity",  # the user's historical reaction rate, log scale
)
FRIENDS_PER_USER = 25


@dataclass(frozen=True)
class Impressions:
    """Candidate (user, post) pairs: observed features, true probabilities, outcomes."""

    load: np.ndarray  # which feed load the candidate belongs to (0, 1, ...)
    user: np.ndarray  # whose feed load it is
    author: np.ndarray
    passive: np.ndarray  # the user rarely reacts
    clickbait: np.ndarray  # the hidden truth; the model sees a noisy score
    features: np.ndarray  # shape (n, len(FEATURES))
    true_prob: dict[str, np.ndarray]
    outcome: dict[str, np.ndarray]


def simulate_feeds(n_users: int, candidates_per_load: int, seed: int) -> Impressions:
    """Feed loads of candidate posts, their hidden causes and the engagements."""
    for name, value in (("n_users", n_users), ("candidates", candidates_per_load)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    # Users: 30% passive readers, with a far lower reaction propensity, who also
    # open the feed less often (an assumption): active users make most feed loads.
    passive_user = rng.random(n_users) < 0.3
    activity = np.where(passive_user, -2.0, 0.0) + rng.normal(0, 0.3, n_users)
    loads_per_user = 1 + rng.poisson(np.where(passive_user, 1.0, 5.0))
    interest = rng.normal(size=(n_users, 8))
    closeness = rng.beta(1.5, 3.0, (n_users, FRIENDS_PER_USER))
    past_interactions = rng.poisson(20 * closeness)
    user_of_load = np.repeat(np.arange(n_users), loads_per_user)
    load = np.repeat(np.arange(user_of_load.size), candidates_per_load)
    user, n = user_of_load[load], load.size
    # Candidates: 60% from friends (a few prolific ones), 40% recommended.
    friend = rng.random(n) < 0.6
    slot = np.where(friend, rng.zipf(1.6, n) % FRIENDS_PER_USER, 0)
    author = user * 100_000 + np.where(friend, slot, 25 + rng.integers(0, 10_000, n))
    true_closeness = np.where(friend, closeness[user, slot], 0.0)
    topic = rng.normal(size=(n, 8))
    match = np.einsum("ij,ij->i", interest[user], topic) / np.sqrt(8)
    quality = rng.normal(size=n)
    clickbait = rng.random(n) < 0.15
    age = rng.uniform(0, 48, n)
    long_form = (rng.random(n) < 0.25).astype(float)
    causes = np.column_stack(
        [np.ones(n), match, true_closeness, quality, clickbait, long_form,
         activity[user], age]
    )  # fmt: skip
    logits = causes @ TRUE_COEFFICIENTS.T  # one column per head
    true_prob = {head: sigmoid(logits[:, i]) for i, head in enumerate(HEADS)}
    outcome = {h: (rng.random(n) < p).astype(int) for h, p in true_prob.items()}
    # What the ranker can observe: noisy, partial views of the latent causes.
    features = np.column_stack(
        [
            match + rng.normal(0, 0.5, n),
            np.where(friend, np.log1p(past_interactions[user, slot]), 0.0),
            friend.astype(float),
            quality + rng.normal(0, 0.7, n),
            sigmoid(4.0 * clickbait - 2.0 + rng.normal(0, 1.0, n)),
            age,
            long_form,
            (activity + rng.normal(0, 0.3, n_users))[user],
        ]
    )
    return Impressions(
        load, user, author, passive_user[user], clickbait, features, true_prob, outcome
    )
    # --8<-- [end:world]


# --8<-- [start:value]
def value_score(
    head_probs: Mapping[str, ArrayLike], weights: Mapping[str, float]
) -> np.ndarray:
    """Expected value of showing each post: sum over heads of weight x probability."""
    missing = set(weights) - set(head_probs)
    if missing:
        raise ValueError(f"no prediction for weighted heads {sorted(missing)}")
    total = None
    for head, weight in weights.items():
        probs = np.asarray(head_probs[head], dtype=float)
        if probs.ndim != 1 or np.isnan(probs).any() or (probs < 0).any():
            raise ValueError(f"{head}: probabilities must be 1-D, non-negative, no NaN")
        if (probs > 1).any():
            raise ValueError(f"{head}: probabilities must be <= 1")
        if total is not None and probs.shape != total.shape:
            raise ValueError(f"{head}: {probs.size} predictions, expected {total.size}")
        total = weight * probs if total is None else total + weight * probs
    if total is None:
        raise ValueError("weights is empty: the value score needs at least one head")
    return total
    # --8<-- [end:value]


# --8<-- [start:grading]
def top_k_rows(load: ArrayLike, score: ArrayLike, k: int) -> np.ndarray:
    """Rows of the k best-scored candidates of every feed load (ties: first row)."""
    load, score = np.asarray(load), np.asarray(score, dtype=float)
    if load.ndim != 1 or load.shape != score.shape or load.size == 0:
        raise ValueError("load and score must be non-empty 1-D arrays of equal length")
    if np.isnan(score).any():
        raise ValueError("score has NaN: every candidate needs a score")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    starts = np.flatnonzero(np.r_[True, load[1:] != load[:-1]])
    sizes = np.diff(np.r_[starts, load.size])
    if (sizes == sizes[0]).all() and np.unique(load[starts]).size == starts.size:
        # Fast path: every load is one block of equal size (how logs are grouped).
        best = np.argsort(-score.reshape(starts.size, -1), axis=1, kind="stable")
        return (best[:, :k] + starts[:, None]).ravel()
    order = np.lexsort((-score, load))  # by load, then best score first (stable)
    starts = np.flatnonzero(np.r_[True, np.diff(load[order]) != 0])
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    return order[rank < k]


def top_k_totals(
    load: ArrayLike, rows: np.ndarray, quantities: Mapping[str, ArrayLike]
) -> dict[str, np.ndarray]:
    """Each quantity summed over the given rows of every load: one value per load."""
    load = np.asarray(load)
    ids, where = np.unique(load, return_inverse=True)
    totals = {}
    for name, values in quantities.items():
        values = np.asarray(values, dtype=float)
        if values.shape != load.shape:
            raise ValueError(f"{name}: {values.size} values for {load.size} candidates")
        totals[name] = np.bincount(where[rows], values[rows], minlength=ids.size)
    return totals


def per_user_mean(per_load: ArrayLike, user_of_load: ArrayLike) -> float:
    """Mean over users of each user's mean over their loads: heavy users count once."""
    per_load, users = np.asarray(per_load, dtype=float), np.asarray(user_of_load)
    if per_load.shape != users.shape or per_load.size == 0:
        raise ValueError("per_load and user_of_load must be non-empty, equal length")
    _, where = np.unique(users, return_inverse=True)
    return float(np.mean(np.bincount(where, per_load) / np.bincount(where)))
    # --8<-- [end:grading]


# --8<-- [start:heads]
def train_heads(
    data: Impressions,
    negative_rate: Mapping[str, float] | None = None,
    heads: Sequence[str] = HEADS,
    seed: int = 0,
) -> dict[str, Pipeline]:
    """One logistic regression per engagement head; optionally downsample negatives."""
    negative_rate = dict(negative_rate or {})
    unknown = (set(negative_rate) | set(heads)) - set(HEADS)
    if unknown:
        raise ValueError(f"unknown heads {sorted(unknown)}; heads are {HEADS}")
    rng = np.random.default_rng(seed)
    models = {}
    for head in heads:
        y = data.outcome[head]
        rate = negative_rate.get(head, 1.0)
        # Keep every positive and a share `rate` of negatives (cheaper training).
        keep = (y == 1) | (rng.random(y.size) < rate)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        models[head] = model.fit(data.features[keep], y[keep])
    return models


def predict_heads(
    models: Mapping[str, Pipeline], data: Impressions
) -> dict[str, np.ndarray]:
    """Predicted probability of every head for every candidate."""
    return {h: m.predict_proba(data.features)[:, 1] for h, m in models.items()}
    # --8<-- [end:heads]


# --8<-- [start:diversity]
def diversify(
    ranked: Sequence[int], author: Sequence[int], max_per_author: int, k: int
) -> list[int]:
    """Greedy re-rank: at most max_per_author posts of one author in the top k.

    Posts pushed out move below the top k in their original order; when too few
    authors exist to fill the top k under the cap, those posts backfill it.
    """
    if max_per_author < 1 or k < 1:
        raise ValueError("max_per_author and k must be at least 1")
    shown: dict[int, int] = {}
    top, deferred = [], []
    for position, item in enumerate(ranked):
        if len(top) == k:  # the rest keeps its order below the top k
            return top + deferred + list(ranked[position:])
        if shown.get(author[item], 0) < max_per_author:
            top.append(item)
            shown[author[item]] = shown.get(author[item], 0) + 1
        else:
            deferred.append(item)
    return top + deferred


def diversified_score(
    load: np.ndarray, score: np.ndarray, author: np.ndarray, k: int, cap: int
) -> np.ndarray:
    """Scores that sort every load in its diversified order."""
    new_score = np.empty(score.size, dtype=float)
    best_first = np.lexsort((-score, load))  # one sort: by load, best score first
    ends = np.flatnonzero(np.diff(load[best_first])) + 1
    authors = author.tolist()  # plain ints: fast lookups in the greedy loop
    for ranked in np.split(best_first, ends):
        order = diversify(ranked.tolist(), authors, cap, k)
        new_score[order] = -np.arange(len(order), dtype=float)
    return new_score


def most_by_one_author(
    load: np.ndarray, rows: np.ndarray, author: np.ndarray
) -> np.ndarray:
    """Per load: how many of the given rows come from its most frequent author."""
    ids, where = np.unique(load, return_inverse=True)
    pair = where[rows].astype(np.int64) * (int(author.max()) + 1) + author[rows]
    pairs, counts = np.unique(pair, return_counts=True)
    most = np.zeros(ids.size)
    np.maximum.at(most, pairs // (int(author.max()) + 1), counts)
    return most
    # --8<-- [end:diversity]


# --8<-- [start:experiment]
SEEDS = (1, 2, 3, 4, 5)
TOP_K = 10


def what_the_top_brings(test: Impressions) -> dict[str, np.ndarray]:
    """Per candidate, from the hidden truth: expected events, bait, value."""
    p = test.true_prob
    return {
        "clicks": p["click"],
        "long dwells": p["dwell"],
        "comments+shares": p["comment"] + p["share"],
        "hides": p["hide"],
        "clickbait posts": test.clickbait.astype(float),
        "value": value_score(p, VALUE_WEIGHTS),  # not clipped: harm counts
        "value, click-heavy": value_score(p, CLICK_HEAVY_WEIGHTS),
    }


def run_seed(seed: int) -> dict:
    """Train the heads on one world's exploration slice; grade rankings of another."""
    train = simulate_feeds(n_users=200, candidates_per_load=100, seed=seed)
    test = simulate_feeds(n_users=300, candidates_per_load=100, seed=seed + 1_000)
    with threadpool_limits(limits=1):  # deterministic and polite on a shared machine
        heads = train_heads(train)
        # Comments are rare: a tempting place to drop 95% of the negatives.
        downsampled = train_heads(train, {"comment": 0.05}, ("comment",), seed)
    pred = predict_heads(heads, test)
    raw = predict_heads(downsampled, test)["comment"]
    fixed = correct_downsampled(raw, 0.05)

    def without(head: str) -> dict[str, float]:
        return {h: w for h, w in VALUE_WEIGHTS.items() if h != head}

    six_heads = value_score(pred, VALUE_WEIGHTS)
    scores = {  # every ranking orders the same candidates
        "random": np.random.default_rng(seed).random(test.load.size),
        "reverse chronological": -test.features[:, FEATURES.index("age_hours")],
        "click head only": pred["click"],
        "value, click-heavy weights": value_score(pred, CLICK_HEAVY_WEIGHTS),
        "value, six heads": six_heads,
        "  without the hide head": value_score(pred, without("hide")),
        "  without the dwell head": value_score(pred, without("dwell")),
        "  comment head downsampled": value_score(
            {**pred, "comment": raw}, VALUE_WEIGHTS
        ),
        "  comment head recalibrated": value_score(
            {**pred, "comment": fixed}, VALUE_WEIGHTS
        ),
        "  diversified, cap 2 per author": diversified_score(
            test.load, six_heads, test.author, TOP_K, cap=2
        ),
    }
    first_row = np.unique(test.load, return_index=True)[1]
    user, passive = test.user[first_row], test.passive[first_row]
    segments = {"all": slice(None), "passive": passive, "active": ~passive}
    truth = what_the_top_brings(test)
    graded: dict[tuple[str, str, str], float] = {}
    for name, score in scores.items():
        rows = top_k_rows(test.load, score, TOP_K)
        per_load = top_k_totals(test.load, rows, truth)
        per_load["posts by one author"] = most_by_one_author(
            test.load, rows, test.author
        )
        for quantity, values in per_load.items():
            for segment, mask in segments.items():
                graded[name, quantity, segment] = per_user_mean(
                    values[mask], user[mask]
                )
            graded[name, quantity, "per load"] = float(values.mean())

    heads_out = {}
    variants = {"comment, downsampled": raw, "comment, recalibrated": fixed}
    for head, p in {**pred, **variants}.items():
        event = head.split(",")[0]
        y, base = test.outcome[event], train.outcome[event].mean()
        heads_out[head] = {
            "y": y,
            "p": p,
            "passive": test.passive,
            "auc": roc_auc(y, p),
            "logloss": log_loss(y, p),
            "base_logloss": log_loss(y, np.full(y.size, base)),
        }
    bait_flag = test.features[:, FEATURES.index("clickbait_score")] > 0.5
    return {
        "graded": graded,
        "heads": heads_out,
        "bait_flag": bait_flag,
        "outcome": test.outcome,
        "true_value": value_score(test.true_prob, VALUE_WEIGHTS),
        "train_rows": train.load.size,
        "test_loads": first_row.size,
        "test_users": np.unique(test.user).size,
    }


def calibration_ratios(y: np.ndarray, p: np.ndarray, passive: np.ndarray) -> dict:
    """Mean prediction / observed rate: overall, per segment, in the top 5% bucket."""
    top = p >= np.quantile(p, 0.95)  # the bucket that decides the top of the feed
    buckets = {"all": np.ones(y.size, bool), "passive": passive,
               "active": ~passive, "top 5%": top}  # fmt: skip
    return {name: float(p[b].mean() / y[b].mean()) for name, b in buckets.items()}


def run_experiment(seeds: Sequence[int] = SEEDS) -> dict:
    """Every seed's grades, with the heads' statistics pooled over the seeds."""
    runs = [run_seed(seed) for seed in seeds]
    pooled = {  # concatenate over seeds for calibration buckets and segment rates
        head: {
            key: np.concatenate([r["heads"][head][key] for r in runs])
            for key in ("y", "p", "passive")
        }
        for head in runs[0]["heads"]
    }
    flag = np.concatenate([r["bait_flag"] for r in runs])
    out = {
        "seeds": len(runs),
        "train_rows": [r["train_rows"] for r in runs],
        "test_loads": [r["test_loads"] for r in runs],
        "test_users": runs[0]["test_users"],
        "grades": [r["graded"] for r in runs],
        "negative_value_share": float(
            (np.concatenate([r["true_value"] for r in runs]) < 0).mean()
        ),
        "lowest_value": float(min(r["true_value"].min() for r in runs)),
        "calibration": {h: calibration_ratios(**v) for h, v in pooled.items()},
    }
    for head in ("click", "hide", "share"):
        y = np.concatenate([r["outcome"][head] for r in runs])
        out[f"flagged:{head}"] = (float(y[flag].mean()), float(y[~flag].mean()))
    for head, data in pooled.items():
        out[f"{head}:rate"] = float(data["y"].mean())
        out[f"{head}:passive_positives"] = int(data["y"][data["passive"]].sum())
        for key in ("auc", "logloss", "base_logloss"):
            out[f"{head}:{key}"] = float(np.mean([r["heads"][head][key] for r in runs]))
    return out


def compare(out: dict, a: str, b: str, quantity: str, segment: str = "all") -> tuple:
    """Ranking a minus ranking b, paired by seed: mean and 95% interval."""
    return paired_interval(
        [g[a, quantity, segment] - g[b, quantity, segment] for g in out["grades"]]
    )
    # --8<-- [end:experiment]


# --8<-- [start:demo]
COMPARISONS = (  # (ranking a, ranking b, [(quantity, segment), ...]): a minus b
    ("value, six heads", "click head only", [
        ("clicks", "all"), ("long dwells", "all"), ("comments+shares", "all"),
        ("hides", "all"), ("clickbait posts", "all"), ("value", "all"),
        ("value, click-heavy", "all")]),
    ("value, six heads", "value, click-heavy weights", [
        ("value", "all"), ("value, click-heavy", "all")]),
    ("  without the hide head", "value, six heads", [
        ("hides", "all"), ("clickbait posts", "all"), ("clicks", "all")]),
    ("value, six heads", "  without the dwell head", [
        ("long dwells", "passive"), ("long dwells", "active"),
        ("value", "passive"), ("value", "active"), ("value", "all"),
        ("value", "per load")]),
    ("  comment head downsampled", "value, six heads", [("value", "all")]),
    ("  comment head recalibrated", "value, six heads", [("value", "all")]),
    ("  diversified, cap 2 per author", "value, six heads", [
        ("posts by one author", "all"), ("value", "all")]),
)  # fmt: skip
LABELS = {"value": "value@10", "value, click-heavy": "value@10, click-heavy wts"}
SEGMENT_NAMES = {
    "all": "per user",
    "passive": "passive users",
    "active": "active users",
    "per load": "per feed load",
}


def print_estimate() -> None:
    est = estimate_capacity()
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(f"  peak feed loads per second        {est['peak_feed_qps']:>14,.0f}")
    print(f"  first-pass scores per second      {est['first_pass_per_s']:>14,.0f}")
    print(f"  heavy-ranker scores per second    {est['heavy_per_s']:>14,.0f}")
    print(f"  first-pass cores, 10 us a score   {est['first_pass_cores']:>14,}")
    print(f"  two-tower source cores, 5 ms/load {est['ann_cores']:>14,}")
    print(f"  candidate features fetched per s  {est['feature_fetch_per_s']:>14}")
    rows = {
        "  as network traffic": f"{est['feature_fetch_tbit_per_s']:.2f} Tb/s",
        "  hosts' 100 Gb/s NICs at 50%": f"{est['fetch_hosts']:,}",
        "key reads per second, store side": f"{est['store_keys_per_s']:,.0f}",
        f"  store nodes at {est['store_keys_per_node']:,.0f} keys/s": (
            f"{est['store_nodes']:,}"
        ),
        "  post+author shards x replicas": (
            f"{est['shards']} x {est['post_replicas']}"
        ),
        "  user+affinity shards x replicas": (
            f"{est['user_shards']} x {est['user_replicas']}"
        ),
        f"  as cores, {est['cores_per_store_node']} per node": (
            f"{est['store_core_equivalents']:,}"
        ),
        "  over the heavy ranker": f"{est['store_over_heavy']:.2f}x",
        f"  at {est['point_reads_per_node']:,.0f} keys/s: nodes": (
            f"{est['store_nodes_point_reads']:,}"
        ),
        "    over the heavy ranker": f"{est['store_over_heavy_point_reads']:.1f}x",
        "  break-even keys/s a node": (
            f"{round(est['break_even_keys_per_node'], -3):,.0f}"
        ),
        "alt.: full vectors, 500 posts only": est["heavy_only_fetch_per_s"],
        f"heavy ranker, {est['heavy_flops_per_post'] / 1e9:.0f} GFLOP a post": (
            f"{est['heavy_flops_per_s']:.1e} FLOP/s"
        ),
        "  A100s at datasheet peak": f"{est['accelerators_at_peak']:.0f}",
        f"  A100s at {est['accelerator_utilisation']:.0%} of peak": (
            f"{est['accelerators']:,}"
        ),
        f"  one load, one A100 at {est['accelerator_utilisation']:.0%}": (
            f"{est['heavy_ms_per_load']:.1f} ms"
        ),
        f"  as cores, {est['cores_per_a100']} per A100": (
            f"{est['heavy_core_equivalents']:,}"
        ),
        "  over first pass + two-tower": f"{est['heavy_over_cheap']:.1f}x",
        "  break-even FLOPs a post": (
            f"{est['break_even_flops_per_post'] / 1e6:.0f} MFLOP"
        ),
    }
    for label, value in rows.items():
        print(f"  {label:<34}{value:>14}")
    print(f"  user features, 3 replicas         {est['user_store']:>14}")
    print(f"  post features, 3 replicas         {est['post_store']:>14}")
    print(f"  author features, 3 replicas       {est['author_store']:>14}")
    print(f"  user-author affinity, 3 replicas  {est['affinity_store']:>14}")
    print(f"  impressions logged per day        {est['impressions_per_day']:>14,.0f}")
    print(f"  impression log per day            {est['impression_log_per_day']:>14}")
    print("  features-as-served log per day:")
    returned = est["feature_log_returned_per_day"]
    print(f"    all 50 returned + 10 unshown    {returned:>14}")
    print(f"    or buffered: 20 seen + 10       {est['feature_log_per_day']:>14}")
    wait = f"{est['impression_wait_s'] / 3600:.0f} h"
    print(f"    buffer, 50 a load, {wait} at peak   {est['feature_buffer']:>14}")
    print(f"    user rows, 2 kB a load          {est['user_rows_per_day']:>14}")
    print(f"  latency budget {est['budget_ms']:.0f} ms (server-side p99), allocated:")
    stages = {k[6:]: v for k, v in est.items() if k.startswith("stage:")}
    stages["headroom for tail latency"] = est["headroom_ms"]
    for name, ms in stages.items():
        print(f"    {name:<38} {ms:>3.0f} ms")
    print(
        f"  each of {est['sources']} parallel sources must meet its 40 ms "
        f"at p{est['source_percentile']:.2f}"
    )
    print(
        f"  feature fetch: {est['shards']} post and author shards ("
        f"{est['post_shard_bytes']} each)\n  and 1 user shard; each of the "
        f"{est['fetch_fan_out']} must meet its 30 ms at p{est['shard_percentile']:.2f}"
    )
    test = online_test_size()
    print(
        f"Cluster-randomised A/B test: a {test['mde']:.0%} change in sessions per "
        f"user over {test['days']} days\n  (CV {test['cv']:.1f} across users, "
        f"clusters of {test['cluster_size']:,} users, 5% two-sided, 80% power)"
    )
    independent = f"{test['users_if_independent']:,.0f}"
    print(f"  users per arm if randomised one by one {independent:>11}")
    for icc, size in test["by_icc"].items():
        print(
            f"  ICC {icc:.2f}: design effect {size['design_effect']:.2f}, "
            f"{size['clusters']:,} clusters per arm, "
            f"{test['dau_share'][icc]:.2%} of DAU"
        )


def main() -> None:
    print_estimate()
    r = run_experiment()
    n, loads, train = r["seeds"], r["test_loads"], r["train_rows"]
    print(
        f"\n{n} seeds; each trains on {min(train):,}-{max(train):,} impressions (an "
        f"exploration slice)\nand grades {min(loads):,}-{max(loads):,} feed loads of "
        f"{r['test_users']} new users, 100 candidates each."
    )
    print("Observed rates, clickbait score > 0.5 vs the rest:")
    print("  " + ", ".join(
        f"{h} {r['flagged:' + h][0]:.3f} vs {r['flagged:' + h][1]:.3f}"
        for h in ("click", "hide", "share")))  # fmt: skip
    print(
        f"Candidates whose true value is negative: {r['negative_value_share']:.1%};"
        f" the lowest {r['lowest_value']:.2f}"
    )

    print(f"\nHeads (ROC-AUC, log loss: mean of {n} seeds)   mean prediction / rate")
    print(
        "head                  rate ROC-AUC logloss base LL  all passive active top5%"
    )
    for head, ratio in r["calibration"].items():
        print(
            f"{head:<21} {r[head + ':rate']:.3f}  {r[head + ':auc']:.3f}  "
            f"{r[head + ':logloss']:.4f}  {r[head + ':base_logloss']:.4f}"
            f"{ratio['all']:>6.2f} {ratio['passive']:>6.2f} {ratio['active']:>6.2f}"
            f" {ratio['top 5%']:>5.2f}"
        )
    positives = (f"{h} {r[h + ':passive_positives']:,}" for h in HEADS[2:5])
    print("Positives among passive users, all seeds: " + ", ".join(positives))

    grades = r["grades"]
    quantities = ("clicks", "long dwells", "comments+shares", "hides",
                  "clickbait posts", "value", "value, click-heavy")  # fmt: skip
    print(f"\nTop {TOP_K} of each feed load, expected from the true probabilities;")
    print(f"averaged per user, mean of {n} seeds          value@10 by weights")
    print("ranking                         clicks dwells com+sh hides  bait"
          "  business click-heavy")  # fmt: skip
    for name in dict.fromkeys(key[0] for key in grades[0]):
        cells = [np.mean([g[name, q, "all"] for g in grades]) for q in quantities]
        print(
            f"{name:<31}"
            + "".join(f"{c:>7.3f}" for c in cells[:4])
            + f"{cells[4]:>6.2f}{cells[5]:>10.2f}{cells[6]:>12.2f}"
        )
    most = [
        np.mean([g[name, "posts by one author", "all"] for g in grades])
        for name in ("value, six heads", "  diversified, cap 2 per author")
    ]
    print(f"Most posts by one author in a top 10: {most[0]:.2f}, {most[1]:.2f} capped")

    print(f"\nPaired differences over the {n} seeds: mean [95% interval]")
    for a, b, lines in COMPARISONS:
        print(f"{a.strip()} minus {b.strip()}:")
        for quantity, segment in lines:
            mean, low, high = compare(r, a, b, quantity, segment)
            label = LABELS.get(quantity, quantity)
            verdict = "  tie" if low <= 0 <= high else ""
            print(
                f"  {label + ', ' + SEGMENT_NAMES[segment]:<36}"
                f"{mean:>+8.3f} [{low:+.3f}, {high:+.3f}]{verdict}"
            )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
