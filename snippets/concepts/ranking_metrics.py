"""Ranking and retrieval metrics for one query; average them over queries yourself.

Every worked problem imports these: one implementation, checked against scikit-learn.
Run it: ``python -m snippets.concepts.ranking_metrics``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence

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


def _check_relevant(relevant: Collection[Hashable]) -> set:
    if isinstance(relevant, str | bytes) or not isinstance(relevant, Collection):
        raise TypeError("relevant must be a collection of item ids")
    return set(relevant)


# --8<-- [start:set_metrics]
def precision_at_k(ranked: Sequence, relevant: Collection, k: int) -> float:
    """Share of the top k that is relevant (divides by k even if fewer are shown)."""
    k = _check_ranking(ranked, k)
    hits = sum(item in _check_relevant(relevant) for item in ranked[:k])
    return hits / k


def recall_at_k(ranked: Sequence, relevant: Collection, k: int) -> float:
    """Share of all relevant items that appear in the top k."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant)
    if not relevant:
        raise ValueError("recall is undefined for a query with no relevant item")
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def hit_rate_at_k(ranked: Sequence, relevant: Collection, k: int) -> float:
    """1.0 if any relevant item is in the top k, else 0.0 (averaged: hit rate)."""
    k = _check_ranking(ranked, k)
    return float(bool(_check_relevant(relevant).intersection(ranked[:k])))


def reciprocal_rank(
    ranked: Sequence, relevant: Collection, k: int | None = None
) -> float:
    """1 / rank of the first relevant item within the top k; 0 if none (mean: MRR)."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant)
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def average_precision_at_k(
    ranked: Sequence, relevant: Collection, k: int | None = None
) -> float:
    """Sum of precision@i at the ranks i of relevant hits, over all relevant items."""
    k = _check_ranking(ranked, k)
    relevant = _check_relevant(relevant)
    if not relevant:
        raise ValueError("average precision is undefined with no relevant item")
    hits, total = 0, 0.0
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / position
    return total / len(relevant)
    # --8<-- [end:set_metrics]


# --8<-- [start:ndcg]
def dcg_at_k(
    gains_in_rank_order: Sequence[float], k: int, gain: str = "linear"
) -> float:
    """Discounted cumulative gain: sum of gain(rel_i) / log2(i + 1) for i <= k."""
    rel = np.asarray(gains_in_rank_order, dtype=float)[:k]
    if rel.ndim != 1:
        raise ValueError("gains must be a 1-D sequence")
    if (rel < 0).any():
        raise ValueError("relevance grades must be non-negative")
    if gain == "linear":  # scikit-learn's ndcg_score convention
        numerators = rel
    elif gain == "exponential":  # 2^rel - 1: stresses the top grades (Burges et al.)
        numerators = np.exp2(rel) - 1
    else:
        raise ValueError(f"gain must be 'linear' or 'exponential', got {gain!r}")
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


# --8<-- [start:demo]
def main() -> None:
    grades = {"a": 3, "b": 2, "c": 0, "d": 1, "e": 0}  # graded relevance of one query
    ranking = ["c", "a", "e", "d", "b"]
    relevant = {item for item, grade in grades.items() if grade > 0}
    print(f"ranking {ranking}, grades {grades}")
    print(f"precision@3  {precision_at_k(ranking, relevant, 3):.3f}")
    print(f"recall@3     {recall_at_k(ranking, relevant, 3):.3f}")
    print(f"hit@1        {hit_rate_at_k(ranking, relevant, 1):.3f}")
    print(f"RR           {reciprocal_rank(ranking, relevant):.3f}")
    print(f"AP           {average_precision_at_k(ranking, relevant):.3f}")
    print(f"NDCG@3 lin   {ndcg_at_k(ranking, grades, 3):.3f}")
    print(f"NDCG@3 exp   {ndcg_at_k(ranking, grades, 3, gain='exponential'):.3f}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
