"""Ranking stage of the search miniature: features, a learned ranker, evaluation.

Builds on :mod:`snippets.problems.search_engine_retrieval` (catalogue, BM25,
embeddings) and fuses its two lists with RRF; the experiment over seeds, with its
ablations and intervals, is :func:`run_experiment`.
``python -m snippets.problems.search_engine`` runs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from snippets.common.fusion import reciprocal_rank_fusion
from snippets.common.stats import paired_interval
from snippets.concepts.ranking_metrics import ndcg_at_k, recall_at_k, reciprocal_rank
from snippets.problems.search_engine_retrieval import (
    COMPLEMENT,
    EXACT,
    SUBSTITUTE,
    Catalogue,
    Query,
    SearchIndex,
    colour_in_field_only,
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
    """One query's retrieved lists, fused lists and ranking features."""

    lexical: list[int]
    dense: list[int]  # empty when the encoder knows no query token
    fused_plain: list[int]  # RRF of the two lists above
    fused: list[int]  # RRF with the look-up path: the lexical hit's neighbours
    features: np.ndarray  # one row per document of `fused`, columns as FEATURES


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
        plain = list(reciprocal_rank_fusion([lex_lists[i], dense_lists[i]]))
        found.append(
            Candidates(lex_lists[i], dense_lists[i], plain, list(fused), features)
        )
    return found


def train_ranker(
    candidates: Sequence[Candidates],
    queries: Sequence[Query],
    features: Sequence[str] = FEATURES,
    seed: int = 0,
) -> HistGradientBoostingRegressor:
    """Pointwise GBDT on graded labels over the named features (LambdaMART stand-in).

    Each split sees a random 80% of the features, drawn from ``seed``: a new seed
    is a new training run, so the spread across worlds includes training noise.
    """
    if len(candidates) != len(queries) or not queries:
        raise ValueError("need one candidate set per query, and at least one query")
    X = np.vstack([c.features[:, columns(features)] for c in candidates])
    y = np.concatenate(
        [
            [q.grades.get(d, 0) for d in c.fused]
            for q, c in zip(queries, candidates, strict=True)
        ]
    )
    model = HistGradientBoostingRegressor(
        # Small trees with large leaves: 100 training queries overfit easily.
        max_iter=40, learning_rate=0.2, max_leaf_nodes=7, min_samples_leaf=50,
        max_features=0.8, early_stopping=False, random_state=seed,
    )  # fmt: skip
    return model.fit(X, y)


def rerank(
    model: HistGradientBoostingRegressor,
    candidates: Sequence[Candidates],
    features: Sequence[str] = FEATURES,
) -> list[list[int]]:
    """Each query's fused candidates re-ordered by the ranker's predicted grade."""
    X = np.vstack([c.features[:, columns(features)] for c in candidates])
    ends = np.cumsum([len(c.fused) for c in candidates])[:-1]
    return [
        [c.fused[i] for i in np.argsort(-scores, kind="stable")]
        for c, scores in zip(candidates, np.split(model.predict(X), ends), strict=True)
    ]
    # --8<-- [end:ranker]


def columns(features: Sequence[str]) -> list[int]:
    """Positions of the named features in FEATURES."""
    unknown = set(features) - set(FEATURES)
    if unknown or not features:
        raise ValueError(f"features must be a non-empty subset of FEATURES: {unknown}")
    return [FEATURES.index(f) for f in features]


# --8<-- [start:evaluate]
# The page's grades are 3/2/1 with gain 2^grade - 1 (our choice). ESCI's own
# KDD Cup 2022 ranking task scores E, S, C, I with gains 1, 0.1, 0.01, 0.
ESCI_GAINS = {EXACT: 1.0, SUBSTITUTE: 0.1, COMPLEMENT: 0.01}
METRICS = ("ndcg", "esci", "rr", "recall", "recall_es")


def per_query(
    stages: Mapping[str, Sequence[Sequence[int]]], queries: Sequence[Query]
) -> dict[str, dict[str, np.ndarray]]:
    """Stage -> metric -> one value per query, for the METRICS.

    NDCG@10 under both gain scales, the reciprocal rank of the first exact match,
    and the recall of the whole list: of the Exact products, and of the Exact or
    Substitute ones. A query with no exact product has no reciprocal rank and no
    exact recall (NaN): means skip it.
    """
    if not queries or any(len(r) != len(queries) for r in stages.values()):
        raise ValueError("need one ranking per query for every stage, and a query")
    scores = {stage: {m: np.empty(len(queries)) for m in METRICS} for stage in stages}
    for i, q in enumerate(queries):
        esci_grades = {d: ESCI_GAINS[g] for d, g in q.grades.items()}
        exact = {d for d, g in q.grades.items() if g == EXACT}
        useful = {d for d, g in q.grades.items() if g >= SUBSTITUTE}
        for stage, rankings in stages.items():
            ranked, s = list(rankings[i]), scores[stage]
            k = max(len(ranked), 1)  # the whole list: what the next stage can use
            top10 = ranked[:10]  # all NDCG@10 reads; its ideal uses every grade
            s["ndcg"][i] = ndcg_at_k(top10, q.grades, 10, gain="exponential")
            s["esci"][i] = ndcg_at_k(top10, esci_grades, 10, gain="linear")
            s["rr"][i] = reciprocal_rank(ranked, exact, k=100) if exact else np.nan
            s["recall"][i] = recall_at_k(ranked, exact, k) if exact else np.nan
            s["recall_es"][i] = recall_at_k(ranked, useful, k)
    return scores


ABLATIONS = {  # the learned ranker with fewer features: where does its gain come from?
    "learned, no colour_match": tuple(f for f in FEATURES if f != "colour_match"),
    "learned, scores and ranks only": FEATURES[:5],
}
FIELD_RANKERS = {  # the same two rankers where the colour is not in the text
    "colour in a field: learned": FEATURES,
    "colour in a field: no colour_match": ABLATIONS["learned, no colour_match"],
}


def run_stages(seed: int = 0) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """Train on the first half of one seed's query log; score every stage on the rest.

    Returns stage -> metric -> one score per held-out query, and which queries are
    look-ups. Every stage is scored on the same queries; the learned rankers
    re-order the hybrid's candidates. The last three stages repeat the hybrid and
    two rankers in a variant of the same world whose product text has no colour.
    """
    # One BLAS/OpenMP thread: a fixed summation order, and fast on a busy machine.
    with threadpool_limits(limits=1):
        catalogue = make_catalogue(seed=seed)
        queries = make_queries(catalogue, seed=seed + 1)
        # Queries arrive in log order: train on the first half, test on the rest.
        train, test = queries[: len(queries) // 2], queries[len(queries) // 2 :]
        index = SearchIndex.build(catalogue)
        seen = retrieve(index, train, catalogue)
        held_out = retrieve(index, test, catalogue)
        stages = {
            "BM25": [c.lexical for c in held_out],
            "dense (LSA)": [c.dense for c in held_out],
            "hybrid, no look-up path": [c.fused_plain for c in held_out],
            "hybrid (RRF)": [c.fused for c in held_out],
        }
        for name, features in {"learned ranker": FEATURES, **ABLATIONS}.items():
            ranker = train_ranker(seen, train, features, seed)
            stages[name] = rerank(ranker, held_out, features)
        # The colour ablation: strike the colour word from every product's text.
        field = colour_in_field_only(catalogue)
        index = SearchIndex.build(field)
        seen, held_out = retrieve(index, train, field), retrieve(index, test, field)
        stages["colour in a field: hybrid"] = [c.fused for c in held_out]
        for name, features in FIELD_RANKERS.items():
            ranker = train_ranker(seen, train, features, seed)
            stages[name] = rerank(ranker, held_out, features)
    return per_query(stages, test), np.array([q.kind == "model" for q in test])
    # --8<-- [end:evaluate]


# --8<-- [start:experiment]
def paired_bootstrap(
    diff: np.ndarray, strata: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of per-query paired differences and its 95% percentile interval.

    Queries are resampled with replacement within each stratum (a seed's world),
    one draw for both systems since the difference is taken per query first.
    """
    diff, strata = np.asarray(diff, dtype=float), np.asarray(strata)
    if diff.ndim != 1 or diff.shape != strata.shape or diff.size < 2:
        raise ValueError("need two 1-D arrays of equal length, at least two values")
    keep = ~np.isnan(diff)  # MRR: a query with no exact product drops out
    diff, strata = diff[keep], strata[keep]
    rng = np.random.default_rng(seed)
    total = np.zeros(n_boot)
    for stratum in np.unique(strata):
        d = diff[strata == stratum]
        total += d[rng.integers(0, d.size, (n_boot, d.size))].sum(axis=1)
    low, high = np.percentile(total / diff.size, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def world_interval(
    diff: np.ndarray, world: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """95% t interval for the mean of the worlds' mean differences, and those means.

    For a claim meant to hold in a world not drawn: with five worlds it is wide,
    because it carries the worlds' (and training runs') differences too.
    """
    diff, world = np.asarray(diff, dtype=float), np.asarray(world)
    by_world = np.array([np.nanmean(diff[world == w]) for w in np.unique(world)])
    if by_world.size < 2:
        raise ValueError("need at least two worlds for an interval over worlds")
    _, low, high = paired_interval(by_world)
    return low, high, by_world


@dataclass(frozen=True)
class Experiment:
    """Per-query scores of every stage, pooled over several seeds' worlds."""

    scores: dict[str, dict[str, np.ndarray]]  # stage -> metric -> value per query
    lookup: np.ndarray  # True for a model-number look-up
    seed: np.ndarray  # the world each query comes from

    def mask(self, segment: str) -> np.ndarray:
        """Queries of a segment: 'all', 'descriptive' or 'look-up'."""
        masks = {"all": np.ones_like(self.lookup), "look-up": self.lookup,
                 "descriptive": ~self.lookup}  # fmt: skip
        if segment not in masks:
            raise ValueError(f"segment must be one of {sorted(masks)}, got {segment!r}")
        return masks[segment]

    def compare(
        self, a: str, b: str, metric: str, segment: str = "all"
    ) -> dict[str, float]:
        """Stage a minus stage b, paired by query: mean and two 95% intervals.

        The bootstrap interval resamples queries within the worlds drawn; the
        world interval treats each world's mean difference as one draw of a new
        world (catalogue, queries and training run), a t interval over them.
        """
        m = self.mask(segment)
        diff = (self.scores[a][metric] - self.scores[b][metric])[m]
        mean, low, high = paired_bootstrap(diff, self.seed[m])
        world_low, world_high, by_seed = world_interval(diff, self.seed[m])
        return {"mean": mean, "low": low, "high": high, "tie": low <= 0 <= high,
                "world_low": world_low, "world_high": world_high,
                "world_tie": world_low <= 0 <= world_high,
                "worlds_a_wins": int((by_seed > 0).sum()), "worlds": by_seed.size,
                "seed_min": by_seed.min(), "seed_max": by_seed.max()}  # fmt: skip


def run_experiment(seeds: Sequence[int] = range(5)) -> Experiment:
    """Every stage on every seed's world, per-query scores pooled."""
    runs = [run_stages(seed) for seed in seeds]
    scores = {
        stage: {
            metric: np.concatenate([run[0][stage][metric] for run in runs])
            for metric in runs[0][0][stage]
        }
        for stage in runs[0][0]
    }
    lookup = np.concatenate([run[1] for run in runs])
    seed = np.repeat(list(seeds), [run[1].size for run in runs])
    return Experiment(scores, lookup, seed)
    # --8<-- [end:experiment]
