"""Reciprocal rank fusion: merge the ranked lists of several retrievers by rank alone.

Used by the search miniature (BM25 + dense) and the retrieval-augmented generation
concept (chunk retrieval); shown on the search engine page.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral


def _check_rankings(rankings: Sequence[Sequence[int]], k: int) -> None:
    if isinstance(rankings, str | bytes) or not isinstance(rankings, Sequence):
        kind = type(rankings).__name__
        raise TypeError(f"rankings must be a sequence of ranked lists, got {kind}")
    if not rankings:
        raise ValueError("need at least one ranked list to fuse")
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    for i, ranking in enumerate(rankings):
        if isinstance(ranking, str | bytes) or not isinstance(ranking, Sequence):
            raise TypeError(
                f"rankings[{i}] must be a sequence of document ids, "
                f"got {type(ranking).__name__}"
            )
        for doc in ranking:
            if isinstance(doc, bool) or not isinstance(doc, Integral):
                raise TypeError(
                    f"rankings[{i}] holds {doc!r}: document ids must be integers"
                )
        # A repeated id would be counted twice and outrank documents it should tie.
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"rankings[{i}] lists a document id more than once")


# --8<-- [start:rrf]
def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = 60
) -> dict[int, float]:
    """RRF: each document scores sum of 1 / (k + rank) over the lists holding it."""
    _check_rankings(rankings, k)
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    # Sorting by (-score, id) makes ties deterministic.
    return dict(sorted(fused.items(), key=lambda item: (-item[1], item[0])))
    # --8<-- [end:rrf]
