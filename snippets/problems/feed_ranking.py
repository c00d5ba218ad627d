"""Feed ranking in miniature: multi-task engagement heads combined into one value.

A synthetic social network (seeded): users with latent interests and an activity
level (some are passive: they read but rarely react), posts from friends and from
unconnected accounts, some of them clickbait. Six engagement types (click, long
dwell, like, comment, share, hide) depend on the features in different ways. One
logistic regression per head is trained on a random exploration slice of earlier
impressions; held-out feeds are ranked by the click head alone, by the weighted value
score, with a miscalibrated head, and with a diversity re-ranker, and every ranking
is scored by NDCG@10 against the true expected value of each post.

Run it: ``python -m snippets.problems.feed_ranking``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    storage_bytes,
)
from snippets.concepts.calibration import correct_downsampled
from snippets.concepts.classification_metrics import log_loss, roc_auc, sigmoid
from snippets.concepts.ranking_metrics import ndcg_at_k


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Feed QPS, items scored per second, storage and the latency budget."""
    dau, feed_loads_per_user = 500e6, 8.0  # assumed: 4 sessions x 2 loads a day
    qps = peak_qps(dau, feed_loads_per_user, peak_to_average=2.0)
    candidates, heavy_ranked, returned = 2_000, 500, 50  # per feed load, assumed
    # Eligible posts: ~300M new posts a day, kept as candidates for 7 days.
    eligible_posts = 300e6 * 7
    stages_ms = {
        "request, auth, feed assembly": 20,
        "candidate sources (in parallel)": 40,
        "feature fetch": 30,
        "first-pass ranker (2,000 posts)": 15,
        "multi-task heavy ranker (500 posts)": 70,
        "value model and re-ranking": 10,
    }
    budget_ms = 250.0  # assumed server-side p99 target for one feed load
    return {
        "peak_feed_qps": qps,
        "first_pass_per_s": qps * candidates,
        "heavy_per_s": qps * heavy_ranked,
        "returned": returned,
        # 256 float16 user embedding plus ~1.5 kB of counters per monthly user.
        "user_store": human_bytes(storage_bytes(1e9, 2_000, replicas=3)),
        # Post embedding, author, counters, integrity scores: ~1 kB a post.
        "post_store": human_bytes(storage_bytes(eligible_posts, 1_000, replicas=3)),
        # ~20 posts seen per load, ~300 B per impression (ids, context, 6 labels).
        "impressions_per_day": dau * feed_loads_per_user * 20,
        "impression_log_per_day": human_bytes(
            storage_bytes(dau * feed_loads_per_user * 20, 300)
        ),
        "budget_ms": budget_ms,
        "headroom_ms": remaining_budget_ms(budget_ms, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


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


@dataclass(frozen=True)
class Impressions:
    """Candidate (user, post) pairs: observed features, true probabilities, outcomes."""

    feed: np.ndarray  # which feed load (user session) the pair belongs to
    author: np.ndarray
    passive: np.ndarray  # the user rarely reacts
    features: np.ndarray  # shape (n, len(FEATURES))
    true_prob: dict[str, np.ndarray]
    outcome: dict[str, np.ndarray]


def simulate_feeds(n_feeds: int, candidates_per_feed: int, seed: int) -> Impressions:
    """Feeds of candidate posts with latent causes and the engagements they drive."""
    for name, value in (("n_feeds", n_feeds), ("candidates", candidates_per_feed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    n = n_feeds * candidates_per_feed
    feed = np.repeat(np.arange(n_feeds), candidates_per_feed)
    # Users: 30% passive readers whose reaction propensity is far lower.
    passive_user = rng.random(n_feeds) < 0.3
    activity = np.where(passive_user, -2.0, 0.0) + rng.normal(0, 0.3, n_feeds)
    interest = rng.normal(size=(n_feeds, 8))
    # Candidates: 60% from friends (few prolific authors), 40% recommended.
    friend = rng.random(n) < 0.6
    author = np.where(friend, rng.zipf(1.6, n) % 25, 25 + rng.integers(0, 10_000, n))
    author = feed * 100_000 + author  # authors are per-user friends in this toy
    true_closeness = np.where(friend, rng.beta(1.5, 3.0, n), 0.0)
    topic = rng.normal(size=(n, 8))
    match = np.einsum("ij,ij->i", interest[feed], topic) / np.sqrt(8)
    quality = rng.normal(size=n)
    clickbait = (rng.random(n) < 0.15).astype(float)
    age = rng.uniform(0, 48, n)
    long_form = (rng.random(n) < 0.25).astype(float)
    act = activity[feed]
    causes = np.column_stack(
        [np.ones(n), match, true_closeness, quality, clickbait, long_form, act, age]
    )
    logits = causes @ TRUE_COEFFICIENTS.T  # one column per head
    true_prob = {head: sigmoid(logits[:, i]) for i, head in enumerate(HEADS)}
    outcome = {h: (rng.random(n) < p).astype(int) for h, p in true_prob.items()}
    # What the ranker can observe: noisy, partial views of the latent causes.
    features = np.column_stack(
        [
            match + rng.normal(0, 0.5, n),
            np.log1p(rng.poisson(20 * true_closeness)),
            friend.astype(float),
            quality + rng.normal(0, 0.7, n),
            sigmoid(4.0 * clickbait - 2.0 + rng.normal(0, 1.0, n)),
            age,
            long_form,
            act + rng.normal(0, 0.3, n),
        ]
    )
    return Impressions(feed, author, passive_user[feed], features, true_prob, outcome)
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


def feed_groups(feed: ArrayLike) -> list[np.ndarray]:
    """Row indices of each feed load, in feed-id order."""
    feed = np.asarray(feed)
    if feed.ndim != 1 or feed.size == 0:
        raise ValueError("feed must be a non-empty 1-D array of feed ids")
    order = np.argsort(feed, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(feed[order])) + 1)


def ndcg_per_feed(
    feed: ArrayLike, score: ArrayLike, true_value: ArrayLike, k: int = 10
) -> dict[int, float]:
    """NDCG@k of each feed, ranking by score, graded by true value clipped at 0."""
    feed, score, true_value = (np.asarray(a) for a in (feed, score, true_value))
    if not feed.shape == score.shape == true_value.shape:
        raise ValueError("feed, score and true_value must have the same length")
    # A post whose expected harm outweighs its value is as bad as an irrelevant one:
    # grade 0 (NDCG needs non-negative grades, and a negative one cannot be "ideal").
    grades = np.clip(true_value.astype(float), 0.0, None)
    results = {}
    for rows in feed_groups(feed):
        if grades[rows].max() > 0:  # NDCG is undefined for a feed of worthless posts
            top_k = rows[np.argsort(-score[rows], kind="stable")[:k]]
            graded = dict(zip(rows.tolist(), grades[rows].tolist(), strict=True))
            # The ideal DCG uses every graded candidate, so only the top k is needed.
            results[int(feed[rows[0]])] = ndcg_at_k(top_k.tolist(), graded, k)
    return results
    # --8<-- [end:value]


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
    for item in ranked:
        if len(top) < k and shown.get(author[item], 0) < max_per_author:
            top.append(item)
            shown[author[item]] = shown.get(author[item], 0) + 1
        else:
            deferred.append(item)
    return top + deferred


def diversified_order(
    feed: np.ndarray, score: np.ndarray, author: np.ndarray, k: int, cap: int
) -> tuple[np.ndarray, float, float]:
    """Scores giving the capped order; mean top-k max posts per author, before/after."""
    new_score = np.empty(score.size, dtype=float)
    before, after = [], []
    for rows in feed_groups(feed):
        ranked = rows[np.argsort(-score[rows], kind="stable")].tolist()
        order = diversify(ranked, author, cap, k)
        new_score[order] = -np.arange(len(order), dtype=float)
        before.append(np.unique(author[ranked[:k]], return_counts=True)[1].max())
        after.append(np.unique(author[order[:k]], return_counts=True)[1].max())
    return new_score, float(np.mean(before)), float(np.mean(after))
    # --8<-- [end:diversity]


# --8<-- [start:experiment]
def run_experiment(seed: int = 7) -> dict[str, float]:
    """Train heads on earlier impressions; score rankings of later feeds."""
    train = simulate_feeds(n_feeds=1_500, candidates_per_feed=100, seed=seed)
    test = simulate_feeds(n_feeds=500, candidates_per_feed=200, seed=seed + 1)
    with threadpool_limits(limits=1):  # deterministic and polite on a shared machine
        heads = train_heads(train)
        # Comments are rare: a tempting place to drop 95% of the negatives.
        downsampled = train_heads(train, {"comment": 0.05}, HEADS[3:4], seed)
    pred = predict_heads(heads, test)
    raw_comment = predict_heads(downsampled, test)["comment"]
    true_value = value_score(test.true_prob, VALUE_WEIGHTS)
    out: dict[str, float] = {"train_rows": train.feed.size, "test_rows": test.feed.size}
    out["negative_value_share"] = float((true_value < 0).mean())
    flagged = test.features[:, FEATURES.index("clickbait_score")] > 0.5
    for head in ("click", "hide", "share"):
        out[f"flagged:{head}"] = float(test.outcome[head][flagged].mean())
        out[f"unflagged:{head}"] = float(test.outcome[head][~flagged].mean())
    for head in HEADS:
        y, p = test.outcome[head], pred[head]
        base_rate = np.full(y.size, train.outcome[head].mean())
        out[f"{head}:rate"] = float(y.mean())
        out[f"{head}:auc"] = roc_auc(y, p)
        out[f"{head}:logloss"] = log_loss(y, p)
        out[f"{head}:base_logloss"] = log_loss(y, base_rate)
        out[f"{head}:calibration"] = float(p.mean() / y.mean())
    out["downsampled:auc"] = roc_auc(test.outcome["comment"], raw_comment)
    out["downsampled:calibration"] = float(
        raw_comment.mean() / test.outcome["comment"].mean()
    )

    no_dwell = {h: w for h, w in VALUE_WEIGHTS.items() if h != "dwell"}
    combined = value_score(pred, VALUE_WEIGHTS)
    diversified, out["max_author:before"], out["max_author:after"] = diversified_order(
        test.feed, combined, test.author, k=10, cap=2
    )
    rankings = {
        "random": np.random.default_rng(seed).random(test.feed.size),
        "reverse chronological": -test.features[:, FEATURES.index("age_hours")],
        "click head only": pred["click"],
        "value, no dwell head": value_score(pred, no_dwell),
        "value, all six heads": combined,
        "  comment head downsampled": value_score(
            {**pred, "comment": raw_comment}, VALUE_WEIGHTS
        ),
        "  comment head recalibrated": value_score(
            {**pred, "comment": correct_downsampled(raw_comment, 0.05)},
            VALUE_WEIGHTS,
        ),
        "  diversified, cap 2 per author": diversified,
    }
    passive_feeds = set(test.feed[test.passive].tolist())
    for name, score in rankings.items():
        per_feed = ndcg_per_feed(test.feed, score, true_value, k=10)
        passive = [v for f, v in per_feed.items() if f in passive_feeds]
        active = [v for f, v in per_feed.items() if f not in passive_feeds]
        out[f"ndcg:{name}:all"] = float(np.mean(list(per_feed.values())))
        out[f"ndcg:{name}:active"] = float(np.mean(active))
        out[f"ndcg:{name}:passive"] = float(np.mean(passive))
    return out
    # --8<-- [end:experiment]


# --8<-- [start:demo]
def main() -> None:
    est = estimate_capacity()
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(f"  peak feed loads per second        {est['peak_feed_qps']:>12,.0f}")
    print(f"  first-pass scores per second      {est['first_pass_per_s']:>12,.0f}")
    print(f"  heavy-ranker scores per second    {est['heavy_per_s']:>12,.0f}")
    print(f"  user features, 3 replicas         {est['user_store']:>12}")
    print(f"  post features, 3 replicas         {est['post_store']:>12}")
    print(f"  impressions logged per day        {est['impressions_per_day']:>12,.0f}")
    print(f"  impression log per day            {est['impression_log_per_day']:>12}")
    print(f"  latency budget {est['budget_ms']:.0f} ms, per stage:")
    stages = {k[6:]: v for k, v in est.items() if k.startswith("stage:")}
    stages["headroom for tail latency"] = est["headroom_ms"]
    for name, ms in stages.items():
        print(f"    {name:<38} {ms:>3.0f} ms")

    r = run_experiment()
    print(
        f"\nTrain: {r['train_rows']:,.0f} impressions (exploration slice); "
        f"test: {r['test_rows']:,.0f} candidates in 500 feeds"
    )
    print("Observed rates, clickbait score > 0.5 vs the rest:")
    print(
        "  "
        + ", ".join(
            f"{h} {r['flagged:' + h]:.3f} vs {r['unflagged:' + h]:.3f}"
            for h in ("click", "hide", "share")
        )
    )
    print(
        f"Candidates whose true value is negative (grade 0): "
        f"{r['negative_value_share']:.1%}\n"
    )
    print("head     weight  rate  ROC-AUC log loss base-rate LL mean p/rate")
    for h in HEADS:
        print(
            f"{h:<8} {VALUE_WEIGHTS[h]:>6.0f} {r[h + ':rate']:.3f}  "
            f"{r[h + ':auc']:.3f}  {r[h + ':logloss']:.4f}   "
            f"{r[h + ':base_logloss']:.4f}      {r[h + ':calibration']:.2f}"
        )
    print(
        f"comment head on 5% of negatives: ROC-AUC {r['downsampled:auc']:.3f}, "
        f"mean p/rate {r['downsampled:calibration']:.2f}"
    )
    print("\nNDCG@10 vs true value (clipped at 0)   all feeds  active passive")
    for key in (k for k in r if k.startswith("ndcg:") and k.endswith(":all")):
        name = key[5:-4]
        print(
            f"{name:<38} {r[key]:>8.3f} {r[f'ndcg:{name}:active']:>7.3f} "
            f"{r[f'ndcg:{name}:passive']:>7.3f}"
        )
    print(
        f"Most posts by one author in a top 10: {r['max_author:before']:.2f}, "
        f"{r['max_author:after']:.2f} with the cap"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
