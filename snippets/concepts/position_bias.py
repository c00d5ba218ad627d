"""Clicks are biased by position; inverse propensity weighting removes the bias.

A simulation in the spirit of Joachims et al. (2017): users examine rank k with
probability 1/k and click an examined result with its true relevance. A ranker trained
on raw clicks learns whatever the old ranker put on top; weighting by 1/propensity
recovers relevance. Run it: ``python -m snippets.concepts.position_bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from snippets.common.stats import paired_interval
from snippets.concepts.ranking_metrics import ndcg_at_k

TRUE_WEIGHTS = np.array([2.5, 0.0, 0.0])  # relevance, old ranker's favourite, noise
TRUE_INTERCEPT = -1.5


# --8<-- [start:simulate]
@dataclass(frozen=True)
class ClickLog:
    """Impressions of a logged ranking: features, position shown, clicked or not."""

    features: np.ndarray  # (impressions, 3)
    position: np.ndarray  # 1-based rank at which the document was shown
    clicked: np.ndarray  # 0/1
    randomised: np.ndarray  # True if the session's order was shuffled

    def subset(self, keep: np.ndarray) -> ClickLog:
        """The impressions where `keep` is True."""
        return ClickLog(*(part[keep] for part in vars(self).values()))


def examination(position: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Probability that a user looks at rank k: 1 / k^power (position-based model)."""
    position = np.asarray(position, dtype=float)
    if (position < 1).any():
        raise ValueError("positions are 1-based ranks")
    return position**-power


def true_relevance(features: np.ndarray) -> np.ndarray:
    """P(click | examined): a logistic model that uses the first feature only."""
    return expit(features @ TRUE_WEIGHTS + TRUE_INTERCEPT)


def make_queries(n_queries: int, docs_per_query: int = 10, seed: int = 0) -> np.ndarray:
    """Features (queries, docs, 3); feature 1 is what the old ranker over-weights."""
    if n_queries < 1 or docs_per_query < 2:
        raise ValueError("need n_queries >= 1 and docs_per_query >= 2")
    return np.random.default_rng(seed).normal(size=(n_queries, docs_per_query, 3))


def log_clicks(
    queries: np.ndarray,
    sessions: int = 20,
    randomised_share: float = 0.1,
    seed: int = 1,
) -> ClickLog:
    """Show each query's list `sessions` times in the old order (some shuffled)."""
    if queries.ndim != 3 or sessions < 1 or not 0 <= randomised_share <= 1:
        raise ValueError("queries must be (queries, docs, features); sessions >= 1")
    rng = np.random.default_rng(seed)
    n_queries, n_docs, _ = queries.shape
    # The old ranker mostly sorts by feature 1, which has nothing to do with relevance.
    old_score = queries[..., 1] + 0.5 * queries[..., 0]
    logged_order = np.argsort(-old_score, axis=1)
    rows = []
    for _ in range(sessions):
        shuffle = rng.random(n_queries) < randomised_share
        order = np.where(
            shuffle[:, None], rng.permuted(logged_order, axis=1), logged_order
        )
        position = np.empty_like(order)
        np.put_along_axis(position, order, np.arange(1, n_docs + 1)[None, :], axis=1)
        seen = rng.random(position.shape) < examination(position)
        click = seen & (rng.random(position.shape) < true_relevance(queries))
        rows.append((position, click, np.repeat(shuffle[:, None], n_docs, axis=1)))
    position, click, shuffled = (
        np.concatenate(parts) for parts in zip(*rows, strict=True)
    )
    features = np.tile(queries, (sessions, 1, 1)).reshape(-1, queries.shape[2])
    return ClickLog(
        features, position.ravel(), click.ravel().astype(int), shuffled.ravel()
    )
    # --8<-- [end:simulate]


# --8<-- [start:propensity]
def estimate_examination(log: ClickLog) -> np.ndarray:
    """Examination by rank, relative to rank 1, from the randomised sessions' CTRs."""
    shuffled = log.randomised
    if not shuffled.any():
        raise ValueError("no randomised sessions: cannot separate position from item")
    n_positions = int(log.position.max())
    clicks = np.bincount(log.position[shuffled], log.clicked[shuffled], n_positions + 1)
    shown = np.bincount(log.position[shuffled], minlength=n_positions + 1)
    # In shuffled sessions every rank sees the same mix of items, so CTR ~ examination.
    ctr = clicks[1:] / np.maximum(shown[1:], 1)
    return ctr / ctr[0]
    # --8<-- [end:propensity]


# --8<-- [start:fit]
def fit_logistic(features: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Weights (intercept first) minimising log loss; targets may exceed 1 (IPW)."""
    features, targets = np.asarray(features, float), np.asarray(targets, float)
    if features.ndim != 2 or targets.shape != (len(features),):
        raise ValueError("features must be (n, d) and targets (n,)")
    if (targets < 0).any() or not np.isfinite(targets).all():
        raise ValueError("targets must be finite and non-negative")
    design = np.column_stack([np.ones(len(features)), features])

    def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = design @ w
        # -y*f + log(1 + e^f) is linear in y: an unbiased label gives an unbiased loss
        loss = np.mean(np.logaddexp(0.0, logits) - targets * logits)
        return loss, design.T @ (expit(logits) - targets) / len(targets)

    w0 = np.zeros(design.shape[1])
    return minimize(loss_and_gradient, w0, jac=True, method="L-BFGS-B").x


def naive_targets(log: ClickLog) -> np.ndarray:
    """The click itself: treats 'not clicked' as 'not relevant', even if never seen."""
    return log.clicked.astype(float)


def ipw_targets(
    log: ClickLog, propensity: np.ndarray, clip: float = 0.05
) -> np.ndarray:
    """click / P(examined at its rank): its expectation is the true relevance."""
    if propensity.ndim != 1 or len(propensity) < log.position.max():
        raise ValueError("propensity needs one entry per rank, rank 1 first")
    if not 0 < clip <= 1:
        raise ValueError("clip must be in (0, 1]")
    # Clipping small propensities caps the weight: a little bias for less variance.
    seen = np.clip(propensity[log.position - 1], clip, 1.0)
    return log.clicked / seen
    # --8<-- [end:fit]


# --8<-- [start:evaluate]
def mean_ndcg(scores: np.ndarray, queries: np.ndarray, k: int = 5) -> float:
    """NDCG@k of ranking each query's documents by score, graded by true relevance."""
    if scores.shape != queries.shape[:2]:
        raise ValueError("scores must be (queries, docs)")
    relevance = true_relevance(queries)
    values = [
        ndcg_at_k(np.argsort(-s, kind="stable").tolist(), dict(enumerate(rel)), k)
        for s, rel in zip(scores, relevance, strict=True)
    ]
    return float(np.mean(values))


def score(weights: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Linear scores of a fitted model for every (query, document)."""
    return weights[0] + queries @ weights[1:]
    # --8<-- [end:evaluate]


# --8<-- [start:demo]
RANKERS = ("old ranker", "naive clicks", "IPW, true P", "IPW, estimated P")


def run_seed(seed: int) -> dict[str, tuple[float, np.ndarray | None]]:
    """One world: fit on its regular sessions, grade on fresh queries.

    Returns ranker -> (NDCG@5, weights without the intercept), plus the log's
    size and clicks and the estimated propensities.
    """
    train = make_queries(500, seed=10 * seed)
    test = make_queries(300, seed=10 * seed + 2)
    log = log_clicks(train, seed=10 * seed + 1)
    regular = log.subset(~log.randomised)  # train on the normal sessions only
    true_prop = examination(np.arange(1, 11))
    estimated = estimate_examination(log)
    models = {
        "naive clicks": fit_logistic(regular.features, naive_targets(regular)),
        "IPW, true P": fit_logistic(regular.features, ipw_targets(regular, true_prop)),
        "IPW, estimated P": fit_logistic(
            regular.features, ipw_targets(regular, estimated)
        ),
    }
    old_ranker = test[..., 1] + 0.5 * test[..., 0]
    out = {"old ranker": (mean_ndcg(old_ranker, test), None)}
    out |= {n: (mean_ndcg(score(w, test), test), w[1:]) for n, w in models.items()}
    out["true relevance"] = (mean_ndcg(true_relevance(test), test), TRUE_WEIGHTS)
    out["log"] = (float(len(log.clicked)), log.clicked)
    out["estimated"] = (0.0, estimated)
    return out


def main() -> None:
    first = run_seed(0)
    n_impressions, clicked = first["log"]
    print(f"{n_impressions:,.0f} impressions, {clicked.sum():,} clicks, 1/k decay")
    print("rank              " + " ".join(f"{k:>5}" for k in (1, 2, 3, 5, 10)))
    for name, values in (
        ("true P(examine)", examination(np.arange(1, 11))),
        ("estimated", first["estimated"][1]),
    ):
        print(
            f"{name:<17} "
            + " ".join(f"{values[k - 1]:>5.2f}" for k in (1, 2, 3, 5, 10))
        )
    print(f"\n{'ranker':<17} {'NDCG@5':>6}   weights (relevance, old favourite, noise)")
    for name in (*RANKERS, "true relevance"):
        ndcg, weights = first[name]
        w = "" if weights is None else " ".join(f"{x:>5.2f}" for x in weights)
        print(f"{name:<17} {ndcg:>6.3f}   {w}".rstrip())

    seeds = range(10)
    runs = [first, *(run_seed(seed) for seed in seeds[1:])]
    ndcg = {name: np.array([run[name][0] for run in runs]) for name in RANKERS}
    print(f"\n{len(runs)} seeds (new queries, clicks and test queries each), NDCG@5:")
    print(f"{'ranker':<17} {'mean':>6} {'min':>6} {'max':>6}")
    for name in RANKERS:
        v = ndcg[name]
        print(f"{name:<17} {v.mean():>6.3f} {v.min():>6.3f} {v.max():>6.3f}")
    print("paired differences, mean [95% t-interval]:")
    for a, b in (
        ("IPW, true P", "naive clicks"),
        ("IPW, estimated P", "naive clicks"),
        ("IPW, estimated P", "IPW, true P"),
    ):
        mean, low, high = paired_interval(ndcg[a] - ndcg[b])
        tie = "  tie" if low <= 0 <= high else ""
        label = f"{a} minus {b}"
        print(f"  {label:<36} {mean:+.4f} [{low:+.4f}, {high:+.4f}]{tie}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
