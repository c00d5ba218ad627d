"""The search miniature: BM25 is the textbook formula; each stage earns its place."""

from __future__ import annotations

import math

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from snippets.common import estimation
from snippets.problems import search_engine as se
from snippets.problems import search_engine_ranking as ranking
from snippets.problems import search_engine_retrieval as retrieval

PAGE = "problems/search-engine.md"
MODULE = "snippets.problems.search_engine"
STAGES = ("BM25", "dense (LSA)", "hybrid (RRF)", "learned ranker")


def printed_table() -> dict[str, list[float]]:
    """Stage -> [NDCG@10, MRR, concept NDCG@10, model-number NDCG@10], as printed."""
    rows = {}
    for line in module_output(MODULE).splitlines():
        for stage in STAGES:
            if line.startswith(stage):
                rows[stage] = [float(x) for x in line[len(stage) :].split() if x != "|"]
    assert set(rows) == set(STAGES)
    return rows


def bm25_by_hand(docs, query, k1=1.2, b=0.75):
    """BM25 straight from Robertson & Zaragoza's formula, one document at a time."""
    n, avg_len = len(docs), sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        total = 0.0
        for term in query:
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            if tf == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avg_len))
        scores.append(total)
    return np.array(scores)


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (2.0, 0.0), (0.5, 1.0)])
def test_bm25_matches_the_formula(k1, b):
    rng = np.random.default_rng(7)
    docs = [list(rng.choice(list("abcdefgh"), rng.integers(3, 12))) for _ in range(40)]
    vectorizer = CountVectorizer(analyzer=list)
    bm25 = retrieval.BM25(vectorizer.fit_transform(docs), k1=k1, b=b)
    for query in (["a"], ["b", "c"], ["h", "h", "d"]):
        ours = bm25.scores(vectorizer.transform([query]))[0]
        assert ours == pytest.approx(bm25_by_hand(docs, query, k1, b))


def test_bm25_on_the_catalogue_matches_the_formula_for_a_few_products():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    query = retrieval.Query([*catalogue.texts[5][3:5], "colour2"], {5: 3}, "concept")
    ours = index.lexical([query])[0]
    by_hand = bm25_by_hand(catalogue.texts, query.tokens)
    assert ours == pytest.approx(by_hand)
    assert int(np.argmax(ours)) == int(np.argmax(by_hand))


def test_top_lists_the_best_ids_first_and_only_eligible_ones():
    scores = np.array([[0.3, 2.0, 0.1, 5.0], [1.0, 1.0, 0.0, 2.0]])
    assert retrieval.top(scores, n=3) == [[3, 1, 0], [3, 0, 1]]  # ties: lower id first
    eligible = np.array([[True, False, True, True], [False, False, True, False]])
    assert retrieval.top(scores, eligible=eligible) == [[3, 0, 2], [2]]


def test_embeddings_are_unit_norm_and_blind_to_model_numbers():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    assert np.linalg.norm(index.doc_vectors, axis=1) == pytest.approx(1.0)
    lookup = retrieval.Query(["mdl00042"], {42: 3}, "model")
    assert not index.dense_knows(lookup)
    assert int(np.argmax(index.lexical([lookup])[0])) == 42  # BM25 finds it at once


def test_lookups_get_the_exact_product_first_then_its_neighbours():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    lookup = retrieval.Query(["mdl00042"], {42: 3}, "model")
    (found,) = ranking.retrieve(index, [lookup], catalogue)
    assert found.lexical == [42] and found.dense == []  # the encoder abstains
    assert found.fused[0] == 42 and len(found.fused) > 1  # query by example
    assert found.features.shape == (len(found.fused), len(ranking.FEATURES))
    assert ranking.query_colour(retrieval.Query(["a", "colour4"], {}, "concept")) == 4


def test_evaluate_uses_the_shared_metrics():
    query = retrieval.Query(["x"], {4: 3, 7: 2, 9: 1}, "concept")
    perfect = ranking.evaluate([[4, 7, 9, 1]], [query])
    assert perfect == {"ndcg@10": pytest.approx(1.0), "mrr": pytest.approx(1.0)}
    worse = ranking.evaluate([[1, 9, 7, 4]], [query])
    assert worse["mrr"] == pytest.approx(1 / 4)
    assert worse["ndcg@10"] < 1


def test_each_stage_earns_its_place():
    rows = printed_table()
    bm25, dense, hybrid, learned = (rows[s] for s in STAGES)
    # Fusion beats each retriever alone on both NDCG@10 and MRR...
    assert hybrid[0] >= max(bm25[0], dense[0]) and hybrid[1] >= max(bm25[1], dense[1])
    # ...and the learned ranker beats the fusion it re-orders.
    assert learned[0] >= hybrid[0] and learned[1] >= hybrid[1]
    # Why fusion helps: dense wins on synonyms, lexical on model numbers.
    assert dense[2] > bm25[2]
    assert dense[3] == 0 < bm25[3] < hybrid[3]


@pytest.mark.parametrize("seed", [2])
def test_the_ordering_is_not_an_accident_of_one_seed(seed):
    results = ranking.run_stages(seed)
    ndcg = {s: results[s]["all"]["ndcg@10"] for s in STAGES}
    assert ndcg["learned ranker"] >= ndcg["hybrid (RRF)"]
    assert ndcg["hybrid (RRF)"] >= max(ndcg["BM25"], ndcg["dense (LSA)"])


def test_estimates_come_from_the_framework_and_the_page_quotes_them():
    e = se.estimate()
    assert e["peak_qps"] == pytest.approx(estimation.peak_qps(20e6, 5, 3))
    assert e["peak_qps"] == pytest.approx(20e6 * 5 / 86_400 * 3)
    assert e["vector_bytes"] == pytest.approx(100e6 * 256 * 4)
    assert e["slack_ms"] == pytest.approx(200 - (40 + 15 + 30 + 15 + 40 + 10))
    assert e["tree_walks_per_s"] == pytest.approx(e["peak_qps"] * 500 * 300)
    assert_page_quotes(
        PAGE,
        f"{e['peak_qps']:,.0f}",
        estimation.human_bytes(e["postings_bytes"]),
        estimation.human_bytes(e["vector_bytes"]),
        estimation.human_bytes(e["vector_pq_bytes"]),
        f"{e['slack_ms']:.0f} ms",
        f"{e['feature_rows_per_s'] / 1e6:.2f}M feature rows/s",
        f"{e['tree_walks_per_s'] / 1e9:.2f}B tree walks/s",
    )


def test_page_quotes_the_numbers_the_code_prints():
    rows = printed_table()
    quoted = [f"{rows[s][i]:.3f}" for s in STAGES for i in range(2)]
    quoted += [f"{rows[s][2]:.3f}" for s in ("BM25", "dense (LSA)")]
    quoted += [f"{rows[s][3]:.3f}" for s in ("BM25", "hybrid (RRF)")]
    assert_page_quotes(PAGE, *quoted)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: retrieval.make_catalogue(n_products=10),
            ValueError,
            "every product type",
        ),
        (lambda: retrieval.make_catalogue(n_products="many"), TypeError, "int"),
        (
            lambda: retrieval.make_queries(retrieval.make_catalogue(), 1),
            ValueError,
            "at least 2",
        ),
        (lambda: retrieval.BM25(np.ones((3, 3))), TypeError, "scipy.sparse"),
        (lambda: retrieval.BM25(sparse.eye(3), b=1.5), ValueError, "0 <= b <= 1"),
        (lambda: ranking.evaluate([[1]], []), ValueError, "one ranking per query"),
        (lambda: ranking.train_ranker([], []), ValueError, "at least one query"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
