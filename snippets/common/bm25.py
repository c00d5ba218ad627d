"""Okapi BM25, the lexical retriever every search miniature starts from.

Shared by the search-engine and video-search problems (a problem never imports another).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


# --8<-- [start:bm25]
class BM25:
    """Okapi BM25 over a sparse term-document matrix (Robertson & Zaragoza, 2009)."""

    def __init__(self, counts: sparse.spmatrix, k1: float = 1.2, b: float = 0.75):
        if not sparse.issparse(counts):
            raise TypeError("counts must be a scipy.sparse document-term matrix")
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        tf = sparse.csr_matrix(counts, dtype=float)
        n_docs = tf.shape[0]
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        # Lucene's idf: log(1 + (N - df + 0.5) / (df + 0.5)), never negative.
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        # Precompute every (doc, term) weight once: a query is then one sparse matvec.
        norm = k1 * (1 - b + b * doc_len / doc_len.mean())
        rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        tf.data = self.idf[tf.indices] * tf.data * (k1 + 1) / (tf.data + norm[rows])
        self.weights = tf.tocsc()

    def scores(self, query_counts: sparse.spmatrix) -> np.ndarray:
        """BM25 of every document for each query row: shape (n_queries, n_docs)."""
        return np.asarray((self.weights @ query_counts.T).T.todense())
        # --8<-- [end:bm25]
