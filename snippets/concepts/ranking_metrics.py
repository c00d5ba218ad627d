"""Ranking and retrieval metrics for one query, and their mean over queries.

Every worked problem imports these: one implementation, checked against scikit-learn.
Run it: ``python -m snippets.concepts.ranking_metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence

import numpy as np


def _check_ranking(ranked: Sequence[Hashable], k: int | None) -> int:
    """Validate a ranked list and a cut-off; return the effective k."""
    if isinstance(ranked, str | bytes) or not isinstance(ranked, Sequence | np.ndarray):
        raise TypeError("ranked must be a sequence of item ids, best first")
    if len(set(ranked)) != len(ranked):
        raise ValueError("ranked must not repeat an item id")
    if k is None:
        return len(ranked)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _check_relevant(relevant: Collection[Hashable], metric: str) -> set:
    """Validate the relevant ids of one query; every metric needs at least one."""
    if isinstance(relevant, str | bytes) or not isinstance(relevant, Collection):
        raise TypeError("relevant must be a collection of item ids")
    if not relevant:
        # Every system scores the same on such a query (0, or 0/0): it cannot
        # tell systems apart, so the caller decides (see mean_over_queries).
        raise ValueError(f"{metric} is undefined for a query with no relevant item")
    return set(relevant)


# --8<-- [start:set_metrics]
def precision_at_k(ranked: Sequence, relevant: Collection, k: int) -> float:
    """Share of the top k that is relevant (divides by k even if fewer are shown)."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant, "precision@k")
    return sum(item in relevant for item in ranked[:k]) / k


def recall_at_k(ranked: Sequence, relevant: Collection, k: int) -> float:
    """Share of all relevant items that appear in the top k."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant, "recall@k")
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def hit_rate_at_k(ranked: Sequence, relevant: Collection, k: int) -> float:
    """1.0 if any relevant item is in the top k, else 0.0 (averaged: hit rate)."""
    k = _check_ranking(ranked, k)
    return float(bool(_check_relevant(relevant, "hit@k").intersection(ranked[:k])))


def reciprocal_rank(
    ranked: Sequence, relevant: Collection, k: int | None = None
) -> float:
    """1 / rank of the first relevant item within the top k; 0 if none (mean: MRR)."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant, "reciprocal rank")
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def average_precision_at_k(
    ranked: Sequence,
    relevant: Collection,
    k: int | None = None,
    denominator: str = "relevant",
) -> float:
    """Sum of precision@i at the ranks i <= k of relevant hits, over all relevant."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant, "average precision")
    hits, total = 0, 0.0
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / position
    # TREC's convention: divide by every relevant item (R), found or not. Many
    # recommender libraries divide by min(k, R) instead, so a perfect top k
    # scores 1 even when R > k; the two differ whenever R > k.
    if denominator == "relevant":
        return total / len(relevant)
    if denominator == "min_k_relevant":
        return total / min(k, len(relevant))
    raise ValueError(
        f"denominator must be 'relevant' or 'min_k_relevant', got {denominator!r}"
    )
    # --8<-- [end:set_metrics]


# --8<-- [start:ndcg]
def dcg_at_k(
    gains_in_rank_order: Sequence[float], k: int, gain: str = "linear"
) -> float:
    """Discounted cumulative gain: sum of gain(rel_i) / log2(i + 1) for i <= k."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    rel = np.asarray(gains_in_rank_order, dtype=float)
    if rel.ndim != 1:
        raise ValueError("gains must be a 1-D sequence")
    if np.isnan(rel).any() or (rel < 0).any():  # all of them, not only the top k
        raise ValueError("relevance grades must be non-negative (no NaN)")
    rel = rel[:k]
    if gain == "linear":  # scikit-learn's ndcg_score convention
        numerators = rel
    elif gain == "exponential":  # 2^rel - 1 (Burges et al., 2005): stresses top grades
        numerators = np.exp2(rel) - 1
    else:
        raise ValueError(f"gain must be 'linear' or 'exponential', got {gain!r}")
    # Rank i is discounted by log2(i + 1), the form of Burges et al. (2005).
    discounts = np.log2(np.arange(2, rel.size + 2))
    return float(np.sum(numerators / discounts))


def ndcg_at_k(
    ranked: Sequence, grades: Mapping[Hashable, float], k: int, gain: str = "linear"
) -> float:
    """DCG of the ranking over DCG of the ideal order of *all* graded items."""
    k = _check_ranking(ranked, k)
    if not isinstance(grades, Mapping):
        raise TypeError("grades must map item id -> relevance grade")
    ideal = dcg_at_k(sorted(grades.values(), reverse=True), k, gain)
    if ideal == 0:
        raise ValueError("NDCG is undefined when no item has a positive grade")
    actual = dcg_at_k([grades.get(item, 0.0) for item in ranked], k, gain)
    return actual / ideal
    # --8<-- [end:ndcg]


# --8<-- [start:local_ideal]
def ndcg_retrieved_only(
    ranked: Sequence, grades: Mapping[Hashable, float], k: int, gain: str = "linear"
) -> float:
    """NDCG whose ideal re-sorts only the retrieved items: blind to missed items.

    Raises on a query with no relevant item, like ``ndcg_at_k``; a list that
    retrieved none of the query's relevant items scores 0 (its own ideal is 0/0).
    """
    k = _check_ranking(ranked, k)
    if not isinstance(grades, Mapping):
        raise TypeError("grades must map item id -> relevance grade")
    if dcg_at_k(sorted(grades.values(), reverse=True), k, gain) == 0:
        raise ValueError("NDCG is undefined when no item has a positive grade")
    shown = [grades.get(item, 0.0) for item in ranked]
    ideal = dcg_at_k(sorted(shown, reverse=True), k, gain)
    return dcg_at_k(shown, k, gain) / ideal if ideal > 0 else 0.0
    # --8<-- [end:local_ideal]


def _has_relevant(judgement: Collection | Mapping) -> bool:
    """True if a query's judgement holds a relevant id or a positive grade."""
    if isinstance(judgement, Mapping):
        return any(grade > 0 for grade in judgement.values())
    return len(judgement) > 0


def _queries_without_relevant(
    rankings: Mapping, judgements: Mapping, no_relevant: str
) -> set:
    """Validate the arguments of mean_over_queries; return the empty queries."""
    if not isinstance(rankings, Mapping) or not isinstance(judgements, Mapping):
        raise TypeError("rankings and judgements must map query id -> value")
    if no_relevant not in ("raise", "zero", "skip"):
        raise ValueError(f"no_relevant must be raise, zero or skip: {no_relevant!r}")
    if not judgements:
        raise ValueError("no judged query: the mean is undefined")
    unranked = set(judgements) - set(rankings)
    if unranked:
        raise ValueError(f"queries judged but not ranked: {sorted(unranked)[:5]}")
    empty = [q for q in judgements if not _has_relevant(judgements[q])]
    if empty and no_relevant == "raise":
        raise ValueError(
            f"{len(empty)} queries have no relevant item ({empty[:5]}): pass "
            "no_relevant='zero' or 'skip', and report how many there were"
        )
    if len(empty) == len(judgements) and no_relevant == "skip":
        raise ValueError("every judged query has no relevant item")
    return set(empty)


# --8<-- [start:mean]
def mean_over_queries(
    metric: Callable[..., float],
    rankings: Mapping[Hashable, Sequence],
    judgements: Mapping[Hashable, Collection | Mapping],
    *,
    no_relevant: str = "raise",
    **metric_kwargs: object,
) -> float:
    """Macro-average of a per-query metric (MAP, MRR, mean NDCG) over judged queries.

    A query with no relevant item raises by default; ``no_relevant="zero"`` scores
    it 0 (as scikit-learn's ``ndcg_score`` does), ``"skip"`` leaves it out.
    """
    empty = _queries_without_relevant(rankings, judgements, no_relevant)
    # Every judged query counts, including those the system answered badly.
    scores = [
        0.0 if q in empty else metric(rankings[q], judgements[q], **metric_kwargs)
        for q in judgements
        if not (q in empty and no_relevant == "skip")
    ]
    return float(np.mean(scores))
    # --8<-- [end:mean]


# --8<-- [start:click_bias]
def simulate_click_labels(
    n_queries: int,
    n_items: int,
    seed: int,
    *,
    shown: int = 10,
    position_bias: bool = True,
) -> dict[str, np.ndarray]:
    """Per-query NDCG@10 of a logging and a better ranker, true labels vs clicks.

    Only the old ranker's top ``shown`` items were displayed; with ``position_bias``
    a user examines rank i with probability 1/i, otherwise every displayed item.
    Click NDCG is NaN for a query without a click: such queries drop out.
    """
    if n_queries < 1 or n_items < 10:
        raise ValueError("need at least one query and ten items per query")
    if not 1 <= shown <= n_items:
        raise ValueError(f"shown must be in [1, n_items], got {shown!r}")
    rng = np.random.default_rng(seed)
    rank = np.arange(1, shown + 1)
    examine = 1.0 / rank if position_bias else np.ones(shown)  # P(user looks at i)
    results = {"old_true": [], "new_true": [], "old_click": [], "new_click": []}
    for _ in range(n_queries):
        relevance = rng.integers(0, 2, size=n_items)  # true binary relevance
        old_order = np.argsort(-(relevance + rng.normal(0, 1.0, n_items)))
        new_order = np.argsort(-(relevance + rng.normal(0, 0.6, n_items)))
        # One draw per item whatever `shown` is: every setting sees the same queries.
        looks = rng.random(n_items)[:shown]
        displayed = old_order[:shown]
        clicked = displayed[looks < examine * relevance[displayed]]
        if not relevance.any():
            continue  # no system can score on it
        true_grades = {i: float(r) for i, r in enumerate(relevance)}
        click_grades = {int(i): 1.0 for i in clicked}
        for name, order in (("old", old_order), ("new", new_order)):
            ranked = order.tolist()
            results[f"{name}_true"].append(ndcg_at_k(ranked, true_grades, 10))
            results[f"{name}_click"].append(  # a query without a click drops out
                ndcg_at_k(ranked, click_grades, 10) if clicked.size else np.nan
            )
    return {key: np.array(values) for key, values in results.items()}
    # --8<-- [end:click_bias]


# --8<-- [start:demo]
def main() -> None:
    grades = {"a": 3, "b": 2, "c": 0, "d": 1, "e": 0}  # graded relevance of one query
    ranking = ["c", "a", "e", "d", "b"]
    relevant = {item for item, grade in grades.items() if grade > 0}
    print(f"One query: ranking {ranking}, grades {grades}")
    print(f"precision@3  {precision_at_k(ranking, relevant, 3):.3f}")
    print(f"recall@3     {recall_at_k(ranking, relevant, 3):.3f}")
    print(f"hit@1        {hit_rate_at_k(ranking, relevant, 1):.3f}")
    print(f"RR           {reciprocal_rank(ranking, relevant):.3f}")
    print(f"AP           {average_precision_at_k(ranking, relevant):.3f}")
    print(f"NDCG@3 lin   {ndcg_at_k(ranking, grades, 3):.3f}")
    print(f"NDCG@3 exp   {ndcg_at_k(ranking, grades, 3, gain='exponential'):.3f}")

    # Two systems on the same three queries: MRR and NDCG disagree.
    judged = {
        "q1": {"x1": 1, "x2": 1, "x3": 1, "x4": 1},
        "q2": {"y1": 1, "y2": 1, "y3": 1},
        "q3": {"z1": 1, "z2": 1},
    }
    filler = [f"n{i}" for i in range(12)]  # non-relevant items
    system_a = {  # one relevant item on top, the rest below the cut-off
        "q1": ["x1", *filler[:10], "x2", "x3", "x4"],
        "q2": ["y1", *filler[:10], "y2", "y3"],
        "q3": ["z1", *filler[:10], "z2"],
    }
    system_b = {  # first relevant item at rank 2, then all the others
        "q1": ["n0", "x1", "x2", "x3", "x4", *filler[1:10]],
        "q2": ["n0", "y1", "y2", "y3", *filler[1:10]],
        "q3": ["n0", "z1", "z2", *filler[1:10]],
    }
    print("\nSystem  MRR    MAP    NDCG@10")
    for name, runs in (("A", system_a), ("B", system_b)):
        mrr = mean_over_queries(reciprocal_rank, runs, judged)
        map_ = mean_over_queries(average_precision_at_k, runs, judged)
        ndcg = mean_over_queries(ndcg_at_k, runs, judged, k=10)
        print(f"{name:<7} {mrr:.3f}  {map_:.3f}  {ndcg:.3f}")

    # Ideal over all judged items vs only over what the retriever returned.
    grades_missing = {"a": 3, "b": 2, "d": 1}  # "a" was never retrieved
    retrieved = ["b", "d", "c"]
    full = ndcg_at_k(retrieved, grades_missing, 3)
    local = ndcg_retrieved_only(retrieved, grades_missing, 3)
    print(f"\nBest item not retrieved: NDCG@3 {full:.3f} (all judged) vs ", end="")
    print(f"{local:.3f} (retrieved only)")

    ap_r = average_precision_at_k(["a", "b", "x"], {"a", "b", "c", "d"}, k=2)
    ap_min = average_precision_at_k(
        ["a", "b", "x"], {"a", "b", "c", "d"}, k=2, denominator="min_k_relevant"
    )
    print(f"AP@2, top 2 of 4 relevant found: {ap_r:.3f} (/ R) vs ", end="")
    print(f"{ap_min:.3f} (/ min(k, R))")

    print("\nMean NDCG@10 of two rankers over 400 queries of 30 items; the new one")
    print("is truly better. Paired 95% CI over queries; clicks logged with:")
    print(f"{'labels':<33} {'queries':>7} {'old':>5} {'new':>5}  new - old")
    settings = {
        "true relevance": None,
        "clicks: top 10 shown, 1/rank": (10, True),
        "clicks: all 30 shown, 1/rank": (30, True),
        "clicks: top 10 shown, all seen": (10, False),
        "clicks: all 30 shown, all seen": (30, False),
    }
    for name, setting in settings.items():
        shown, bias = setting or (10, True)
        runs = simulate_click_labels(400, 30, seed=3, shown=shown, position_bias=bias)
        kind = "true" if setting is None else "click"
        old, new = runs[f"old_{kind}"], runs[f"new_{kind}"]
        kept = ~np.isnan(old)
        diff = new[kept] - old[kept]
        half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
        print(
            f"{name:<33} {kept.sum():>7} {old[kept].mean():>5.3f} "
            f"{new[kept].mean():>5.3f}  {diff.mean():+.3f} "
            f"({diff.mean() - half:+.3f} to {diff.mean() + half:+.3f})"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
