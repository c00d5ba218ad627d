"""Retrieval stage of the search miniature: catalogue, queries, BM25, embeddings.

A seeded synthetic catalogue where the answer is known by construction: product
descriptions use one of three synonyms per concept (so exact word matching misses
relevant products) and carry a unique model number (so embeddings miss exact look-ups).
:mod:`snippets.problems.search_engine_ranking` ranks what this retrieves;
``python -m snippets.problems.search_engine`` runs both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from snippets.common.bm25 import BM25

N_CATEGORIES, TYPES_PER_CATEGORY, N_COLOURS = 12, 5, 6
CONCEPTS_PER_TYPE, SYNONYMS = 6, 3  # one concept, three words: sofa, couch, settee
EXACT, SUBSTITUTE, COMPLEMENT = 3, 2, 1  # graded scale of the ESCI labels


# --8<-- [start:corpus]
@dataclass(frozen=True)
class Catalogue:
    """Products as token lists, with the hidden attributes that define relevance."""

    texts: list[list[str]]
    category: np.ndarray
    product_type: np.ndarray
    colour: np.ndarray
    has_concept: np.ndarray  # (n_products, CONCEPTS_PER_TYPE): "waterproof", ...
    popularity: np.ndarray  # static signal; no relevance in it by construction


@dataclass(frozen=True)
class Query:
    """A query's tokens and the graded relevance of every product (0 omitted)."""

    tokens: list[str]
    grades: dict[int, int]
    kind: str  # "concept" (words, maybe synonyms) or "model" (exact model number)


def make_catalogue(n_products: int = 3000, seed: int = 0) -> Catalogue:
    """Products drawn from category and product-type vocabularies, with synonyms."""
    if isinstance(n_products, bool) or not isinstance(n_products, int):
        raise TypeError("n_products must be an int")
    if n_products < N_CATEGORIES * TYPES_PER_CATEGORY:
        raise ValueError("n_products must cover every product type at least once")
    rng = np.random.default_rng(seed)
    ptype = rng.integers(0, N_CATEGORIES * TYPES_PER_CATEGORY, n_products)
    category, colour = (
        ptype // TYPES_PER_CATEGORY,
        rng.integers(0, N_COLOURS, n_products),
    )
    # Each product mentions 4 of its type's 6 concepts, each by one of 3 synonyms:
    # sellers write "couch", "sofa" or "settee".
    concepts = rng.random((n_products, CONCEPTS_PER_TYPE)).argsort(axis=1)[:, :4]
    synonym = rng.integers(0, SYNONYMS, concepts.shape)
    has = np.zeros((n_products, CONCEPTS_PER_TYPE), dtype=bool)
    np.put_along_axis(has, concepts, True, axis=1)
    category_words = rng.integers(0, 4, (n_products, 3))
    filler = rng.integers(0, 300, (n_products, 6))  # words shared across products
    columns = (category, ptype, concepts, synonym, colour, category_words, filler)
    rows = zip(*(column.tolist() for column in columns), strict=True)
    texts = [
        [f"cat{c}w{w}" for w in words]
        + [f"t{t}c{k}s{s}" for k, s in zip(ks, ss, strict=True)]
        + [f"colour{col}", f"mdl{i:05d}"]  # a unique model number each
        + [f"common{w}" for w in fill]
        for i, (c, t, ks, ss, col, words, fill) in enumerate(rows)
    ]
    popularity = rng.gamma(2.0, 1.0, n_products)
    return Catalogue(texts, category, ptype, colour, has, popularity)


def make_queries(
    catalogue: Catalogue, n_queries: int = 200, seed: int = 1
) -> list[Query]:
    """Concept queries (synonyms, colours) and model-number look-ups, graded 0-3."""
    if n_queries < 2:
        raise ValueError("n_queries must be at least 2")
    rng = np.random.default_rng(seed)
    queries = []
    for q in range(n_queries):
        if q % 4 == 3:  # a quarter are exact look-ups: "mdl01234"
            target = int(rng.integers(len(catalogue.texts)))
            ptype, colour = catalogue.product_type[target], catalogue.colour[target]
            tokens, kind, concepts = [f"mdl{target:05d}"], "model", []
        else:
            ptype, target = int(rng.integers(N_CATEGORIES * TYPES_PER_CATEGORY)), -1
            concepts = rng.choice(CONCEPTS_PER_TYPE, 2, replace=False)
            tokens = [f"t{ptype}c{c}s{rng.integers(SYNONYMS)}" for c in concepts]
            colour = int(rng.integers(N_COLOURS)) if rng.random() < 0.5 else -1
            tokens += [f"colour{colour}"] if colour >= 0 else []
            kind = "concept"
        same_type = catalogue.product_type == ptype
        # Exact means the right type with every asked-for feature and colour.
        same_colour = colour < 0 or kind == "model" or catalogue.colour == colour
        has_all = catalogue.has_concept[:, concepts].all(axis=1)
        grade = np.where(
            catalogue.category == ptype // TYPES_PER_CATEGORY, COMPLEMENT, 0
        )
        grade = np.where(same_type, SUBSTITUTE, grade)
        if kind == "model":
            grade[target] = EXACT
        else:
            grade = np.where(same_type & same_colour & has_all, EXACT, grade)
        graded = np.flatnonzero(grade)
        grades = dict(zip(graded.tolist(), grade[graded].tolist(), strict=True))
        queries.append(Query(tokens, grades, kind))
    return queries
    # --8<-- [end:corpus]


def colour_in_field_only(catalogue: Catalogue) -> Catalogue:
    """The same products with the colour word struck from their text.

    The colour then lives only in a structured field (``catalogue.colour``): the
    text retrievers cannot match it, and only query understanding can use it.
    """
    texts = [
        [w for w in words if not w.startswith("colour")] for words in catalogue.texts
    ]
    return replace(catalogue, texts=texts)


# --8<-- [start:retrieval]
@dataclass
class SearchIndex:
    """The offline artefacts: BM25 over an inverted index, and product embeddings."""

    vectorizer: CountVectorizer  # every token, model numbers included
    bm25: BM25
    encoder_terms: np.ndarray  # what the encoder knows: term ids in >= 2 products
    tfidf: TfidfTransformer
    svd: TruncatedSVD
    doc_vectors: np.ndarray  # unit-norm, so a dot product is a cosine

    @classmethod
    def build(cls, catalogue: Catalogue, dim: int = 64) -> SearchIndex:
        """Index the catalogue: inverted index (BM25) and LSA embeddings."""
        vectorizer = CountVectorizer(analyzer=list)
        counts = vectorizer.fit_transform(catalogue.texts)
        # Like a real encoder's fixed vocabulary, LSA never sees one-off model numbers.
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        encoder_terms = np.flatnonzero(df >= 2)
        tfidf = TfidfTransformer(sublinear_tf=True)
        weighted = tfidf.fit_transform(counts[:, encoder_terms])
        svd = TruncatedSVD(dim, random_state=0)
        vectors = normalize(svd.fit_transform(weighted))
        return cls(vectorizer, BM25(counts), encoder_terms, tfidf, svd, vectors)

    def lexical(self, queries: Sequence[Query]) -> np.ndarray:
        """BM25 scores, (n_queries, n_docs); 0 means no query term matched."""
        return self.bm25.scores(self.vectorizer.transform([q.tokens for q in queries]))

    def terms_matched(self, queries: Sequence[Query]) -> np.ndarray:
        """Share of distinct query terms each product holds, (n_queries, n_docs)."""
        counts = self.vectorizer.transform([q.tokens for q in queries])
        counts.data[:] = 1  # presence, not frequency
        held = (self.bm25.weights > 0).astype(float)
        distinct = np.array([[len(set(q.tokens))] for q in queries])
        return np.asarray((held @ counts.T).T.todense()) / distinct

    def dense(self, queries: Sequence[Query]) -> np.ndarray:
        """Cosine of query and product embeddings, (n_queries, n_docs)."""
        counts = self.vectorizer.transform([q.tokens for q in queries])
        counts = counts[:, self.encoder_terms]  # unknown tokens are dropped
        q_vectors = normalize(self.svd.transform(self.tfidf.transform(counts)))
        return q_vectors @ self.doc_vectors.T  # exact search; an ANN index at scale

    def dense_knows(self, query: Query) -> bool:
        """False when every query token is out of the encoder's vocabulary."""
        vocabulary = self.vectorizer.vocabulary_
        ids = [vocabulary[t] for t in query.tokens if t in vocabulary]
        return bool(np.isin(ids, self.encoder_terms).any())


def top(scores: np.ndarray, n: int = 100, eligible: np.ndarray | None = None) -> list:
    """The n best document ids per row, best first, among eligible ones if given."""
    if eligible is not None:
        scores = np.where(eligible, scores, -np.inf)
    n = min(n, scores.shape[1])
    nth_best = np.partition(scores, -n, axis=1)[:, -n]  # a partial sort per row
    found = []
    for row, cut in zip(scores, nth_best, strict=True):
        ids = np.flatnonzero(row >= cut)  # ascending ids, so ties go to the lower
        ids = ids[np.argsort(-row[ids], kind="stable")][:n]
        found.append([int(d) for d in ids if row[d] > -np.inf])
    return found
    # --8<-- [end:retrieval]
