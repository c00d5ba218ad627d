"""Ranking stage of the search miniature: features, a learned ranker, evaluation.

Builds on :mod:`snippets.problems.search_engine_retrieval` (catalogue, BM25,
embeddings) and fuses its two lists with RRF;
``python -m snippets.problems.search_engine`` runs both.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from snippets.common.fusion import reciprocal_rank_fusion
from snippets.concepts.ranking_metrics import ndcg_at_k, reciprocal_rank
from snippets.problems.search_engine_retrieval import (
    EXACT,
    Catalogue,
    Query,
    SearchIndex,
    make_catalogue,
    make_queries,
    top,
)

# --8<-- [start:ranker]
FEATURES = (
    "bm25", "bm25_rank", "dense", "dense_rank", "rrf",
    "terms_matched", "colour_match", "is_lookup", "query_terms", "max_idf",
    "popularity",
)  # fmt: skip


def query_colour(query: Query) -> int | None:
    """Query understanding in one line: the colour attribute the query asks for."""
    colours = [int(t[len("colour") :]) for t in query.tokens if t.startswith("colour")]
    return colours[0] if colours else None


@dataclass(frozen=True)
class Candidates:
    """One query's retrieved lists, fused list and ranking features."""

    lexical: list[int]
    dense: list[int]
    fused: list[int]
    features: np.ndarray  # one row per fused document, columns as FEATURES


def retrieve(
    index: SearchIndex,
    queries: Sequence[Query],
    catalogue: Catalogue,
    depth: int = 100,
    min_should_match: float = 0.5,
) -> list[Candidates]:
    """Both retrievers to depth, RRF, and a feature row per fused candidate."""
    lexical, dense = index.lexical(queries), index.dense(queries)
    matched = index.terms_matched(queries)
    # "Minimum should match": a product must hold at least half the query's terms.
    lex_lists = top(lexical, depth, eligible=matched >= min_should_match)
    knows = np.array([index.dense_knows(q) for q in queries])
    # An all-zero query embedding carries no information: the dense side abstains...
    dense_lists = [
        row if k else [] for row, k in zip(top(dense, depth), knows, strict=True)
    ]
    for i in np.flatnonzero(~knows):
        if lex_lists[i]:  # ...unless a lexical hit ("mdl01234") can stand in for it:
            dense[i] = index.doc_vectors @ index.doc_vectors[lex_lists[i][0]]
    neighbour_lists = top(dense, depth)  # its nearest neighbours are substitutes
    vocab = index.vectorizer.vocabulary_
    found = []
    for i, query in enumerate(queries):
        by_meaning = neighbour_lists[i] if knows[i] or lex_lists[i] else []
        fused = reciprocal_rank_fusion([lex_lists[i], by_meaning])
        docs = np.fromiter(fused, dtype=int)
        lex_rank = {d: r for r, d in enumerate(lex_lists[i], start=1)}
        dense_rank = {d: r for r, d in enumerate(by_meaning, start=1)}
        known = [vocab[t] for t in query.tokens if t in vocab]
        # Query-level features let the trees learn *when* to trust which retriever.
        max_idf = index.bm25.idf[known].max() if known else 0.0
        wanted = query_colour(query)  # +1 match, -1 mismatch, 0 when not asked
        colour_match = (
            0 if wanted is None else 2 * (catalogue.colour[docs] == wanted) - 1
        )
        features = np.column_stack([
            lexical[i, docs], np.log([lex_rank.get(d, 2 * depth) for d in docs]),
            dense[i, docs], np.log([dense_rank.get(d, 2 * depth) for d in docs]),
            np.fromiter(fused.values(), dtype=float),
            matched[i, docs],
            np.broadcast_to(colour_match, docs.shape),
            np.full(docs.size, float(not knows[i])),  # intent: a model-number look-up
            np.full(docs.size, len(query.tokens)), np.full(docs.size, max_idf),
            catalogue.popularity[docs],
        ])  # fmt: skip
        found.append(Candidates(lex_lists[i], dense_lists[i], list(fused), features))
    return found


def train_ranker(
    candidates: Sequence[Candidates], queries: Sequence[Query]
) -> HistGradientBoostingRegressor:
    """Pointwise GBDT on graded labels: a strong, simple stand-in for LambdaMART."""
    if len(candidates) != len(queries) or not queries:
        raise ValueError("need one candidate set per query, and at least one query")
    X = np.vstack([c.features for c in candidates])
    y = np.concatenate(
        [
            [q.grades.get(d, 0) for d in c.fused]
            for q, c in zip(queries, candidates, strict=True)
        ]
    )
    model = HistGradientBoostingRegressor(
        # Small trees with large leaves: 100 training queries overfit easily.
        max_iter=100, learning_rate=0.1, max_leaf_nodes=7, min_samples_leaf=50,
        early_stopping=False, random_state=0,
    )  # fmt: skip
    return model.fit(X, y)


def rerank(model: HistGradientBoostingRegressor, candidates: Candidates) -> list[int]:
    """The fused candidates re-ordered by the ranker's predicted grade."""
    order = np.argsort(-model.predict(candidates.features), kind="stable")
    return [candidates.fused[i] for i in order]
    # --8<-- [end:ranker]


# --8<-- [start:evaluate]
def evaluate(rankings: Sequence[Sequence[int]], queries: Sequence[Query]) -> dict:
    """Mean NDCG@10 (exponential gain) and MRR (first exact match) over queries."""
    if len(rankings) != len(queries) or not queries:
        raise ValueError("need one ranking per query, and at least one query")
    ndcg = [
        ndcg_at_k(list(r), q.grades, 10, gain="exponential")
        for r, q in zip(rankings, queries, strict=True)
    ]
    exact = [{d for d, g in q.grades.items() if g == EXACT} for q in queries]
    mrr = [
        reciprocal_rank(list(r), e, k=100) for r, e in zip(rankings, exact, strict=True)
    ]
    return {"ndcg@10": float(np.mean(ndcg)), "mrr": float(np.mean(mrr))}


def run_stages(seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """Train on half the queries; score every stage on the held-out half."""
    # One BLAS/OpenMP thread: a fixed summation order, and fast on a busy machine.
    with threadpool_limits(limits=1):
        return _run_stages(seed)


def _run_stages(seed: int) -> dict[str, dict[str, dict[str, float]]]:
    catalogue = make_catalogue(seed=seed)
    queries = make_queries(catalogue, seed=seed + 1)
    # Queries arrive in log order: train on the first half, test on the later half.
    train, test = queries[: len(queries) // 2], queries[len(queries) // 2 :]
    index = SearchIndex.build(catalogue)
    ranker = train_ranker(retrieve(index, train, catalogue), train)
    held_out = retrieve(index, test, catalogue)
    stages = {
        "BM25": [c.lexical for c in held_out],
        "dense (LSA)": [c.dense for c in held_out],
        "hybrid (RRF)": [c.fused for c in held_out],
        "learned ranker": [rerank(ranker, c) for c in held_out],
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, rankings in stages.items():
        results[name] = {"all": evaluate(rankings, test)}
        for kind in ("concept", "model"):
            keep = [i for i, q in enumerate(test) if q.kind == kind]
            results[name][kind] = evaluate(
                [rankings[i] for i in keep], [test[i] for i in keep]
            )
    return results


# --8<-- [end:evaluate]


def measure_stage_latency(repeats: int = 3) -> dict[str, float]:
    """Milliseconds per query of each online stage on this machine (for benchmarks)."""
    catalogue = make_catalogue()
    queries = make_queries(catalogue)
    index = SearchIndex.build(catalogue)
    found = retrieve(index, queries, catalogue)
    ranker = train_ranker(found, queries)
    lists = [[c.lexical, c.dense] for c in found]
    stages = {
        "bm25": lambda: index.lexical(queries),
        "dense": lambda: index.dense(queries),
        "rrf": lambda: [reciprocal_rank_fusion(pair) for pair in lists],
        "ranker": lambda: [rerank(ranker, c) for c in found],
    }
    timings = {}
    for name, stage in stages.items():
        start = time.perf_counter()
        for _ in range(repeats):
            stage()
        timings[name] = 1000 * (time.perf_counter() - start) / repeats / len(queries)
    return timings
