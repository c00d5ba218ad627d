"""Listing embeddings from click sessions: skip-gram with negative sampling, in numpy.

Sessions are sentences and listings are words (Grbovic and Cheng, KDD 2018): a
listing's neighbours in the click sequence are its positive contexts; a booked
session also pairs every clicked listing with the booked one (a global context); the
negatives come from all listings and from the centre listing's own market. Training
is minibatch SGD on batches of pairs, with the sparse row updates summed.

Run the whole miniature: ``python -m snippets.problems.similar_listings``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from snippets.concepts.classification_metrics import sigmoid


def _check_ids(name: str, ids: np.ndarray, n_rows: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.size and (
        ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= n_rows
    ):
        raise ValueError(f"{name} must be integer ids in [0, {n_rows})")
    return ids


def _check_sessions(
    clicks: np.ndarray, booked: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    clicks, booked = np.asarray(clicks), np.asarray(booked)
    if clicks.ndim != 2 or booked.shape != clicks.shape[:1]:
        raise ValueError("clicks must be (sessions, max_len), booked (sessions,)")
    if clicks.dtype.kind not in "iu" or booked.dtype.kind not in "iu":
        raise TypeError("clicks and booked must hold integer listing ids (-1: none)")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    return clicks, booked


# --8<-- [start:pairs]
def skipgram_pairs(
    clicks: np.ndarray,
    booked: np.ndarray,
    window: int = 1,
    booked_as_context: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(centre, context) pairs: click neighbours, plus the booked listing if any."""
    clicks, booked = _check_sessions(clicks, booked, window)  # -1 pads each session
    length = clicks.shape[1]
    centres, contexts = [np.empty(0, int)], [np.empty(0, int)]
    for offset in (o for o in range(-window, window + 1) if 0 < abs(o) < length):
        a = clicks[:, max(0, -offset) : length - max(0, offset)]
        b = clicks[:, max(0, offset) : length - max(0, -offset)]
        both = (a >= 0) & (b >= 0)  # the sliding window, for all sessions at once
        centres.append(a[both])
        contexts.append(b[both])
    if booked_as_context:  # every click of a booked session predicts the booking
        target = np.broadcast_to(booked[:, None], clicks.shape)
        keep = (clicks >= 0) & (target >= 0) & (clicks != target)
        centres.append(clicks[keep])
        contexts.append(target[keep])
    return np.concatenate(centres), np.concatenate(contexts)
    # --8<-- [end:pairs]


def scatter_rows(
    n_rows: int, rows: np.ndarray, values: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum the value rows that share an id into an (n_rows, d) array.

    With weights (the shape of rows, (B, k)), values[b] is added to row rows[b, j]
    times weights[b, j]: the sum of the outer products, never built in memory.
    """
    rows = np.asarray(rows)
    per = 1 if rows.ndim == 1 else rows.shape[1]
    if weights is None:
        weights = np.ones(rows.shape, dtype=values.dtype)
    # A sparse (n_rows, B) matrix, column b holding weights[b] at rows[b], in CSC form.
    columns = np.arange(0, rows.size + 1, per)
    summer = sparse.csc_matrix(
        (np.ravel(weights), rows.ravel(), columns), shape=(n_rows, len(values))
    )
    return np.asarray(summer @ values)


# --8<-- [start:sgns]
def sgns_gradients(
    V: np.ndarray, W: np.ndarray, centres: np.ndarray, contexts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of the negative-sampling loss, summed over a batch of pairs.

    contexts[:, 0] is each centre's positive context, the other columns its
    negatives. The loss is -log s(v.w+) - sum over negatives of log s(-v.w-).
    """
    labels = np.zeros(contexts.shape[1], dtype=V.dtype)
    labels[0] = 1.0
    v, w = V.take(centres, axis=0), W.take(contexts, axis=0)  # (B, d), (B, 1 + n, d)
    g = sigmoid(np.einsum("bkd,bd->bk", w, v)) - labels  # d loss / d score
    grad_v = scatter_rows(len(V), centres, np.einsum("bk,bkd->bd", g, w))
    grad_w = scatter_rows(len(W), contexts, v, weights=g)  # g[b, j] v[b] -> row
    return grad_v, grad_w
    # --8<-- [end:sgns]


def sgns_loss(
    V: np.ndarray, W: np.ndarray, centres: np.ndarray, contexts: np.ndarray
) -> float:
    """The negative-sampling loss summed over a batch (what sgns_gradients derives)."""
    scores = np.einsum("bkd,bd->bk", W[contexts], V[centres])
    scores[:, 1:] *= -1  # negatives: log s(-score)
    return float(np.logaddexp(0.0, -scores).sum())  # -log s(x) = log(1 + e^-x)


def unigram_table(counts: np.ndarray, size: int) -> np.ndarray:
    """word2vec's sampling table: ids repeated in proportion to count^0.75."""
    weights = (np.asarray(counts, dtype=float) + 1.0) ** 0.75
    repeats = np.round(weights / weights.sum() * size).astype(int)
    return np.repeat(np.arange(weights.size), repeats)


# --8<-- [start:train]
def train_embeddings(
    centres: np.ndarray,
    contexts: np.ndarray,
    market: np.ndarray,
    rng: np.random.Generator,
    *,
    dim: int = 16,
    negatives: int = 4,
    market_negatives: int = 2,
    epochs: int = 2,
    batch: int = 2048,
    learning_rate: float = 0.25,
) -> np.ndarray:
    """Listing vectors by SGD; market_negatives of the negatives share the centre's
    market, the others are drawn from every listing.

    The updates of a batch are summed, as if its pairs were SGD steps taken at once:
    fine while a listing appears a few times per batch, unstable for a catalogue
    not much larger than the batch (shrink the batch then).
    """
    n, n_markets = market.size, int(market.max()) + 1
    _check_ids("centres", centres, n)
    _check_ids("contexts", contexts, n)
    if centres.shape != contexts.shape or centres.ndim != 1 or centres.size == 0:
        raise ValueError("centres and contexts must be non-empty 1-D arrays, same size")
    if not 0 <= market_negatives <= negatives or negatives < 1:
        raise ValueError("need 1 <= negatives and 0 <= market_negatives <= negatives")
    if not np.array_equal(market, np.sort(market)):
        raise ValueError("listings of a market must be contiguous (sorted market ids)")
    V = rng.normal(0, 0.1, (n, dim)).astype(np.float32)
    W = np.zeros((n, dim), dtype=np.float32)  # the context ("output") vectors
    counts = np.bincount(contexts, minlength=n)
    everywhere = unigram_table(counts, 100_000)
    # One table per market, cut to a common length so that they stack.
    starts = np.searchsorted(market, np.arange(n_markets))
    per_market = [
        unigram_table(counts[market == m], 20_000) + starts[m] for m in range(n_markets)
    ]
    in_market = np.stack([t[: min(map(len, per_market))] for t in per_market])
    global_negatives = negatives - market_negatives
    for epoch in range(epochs):
        order = rng.permutation(centres.size)
        c, x = centres[order], contexts[order]
        sampled = np.column_stack(
            [
                x,
                everywhere[
                    rng.integers(0, everywhere.size, (x.size, global_negatives))
                ],
                in_market[
                    market[c][:, None],
                    rng.integers(0, in_market.shape[1], (x.size, market_negatives)),
                ],
            ]
        )
        for start in range(0, c.size, batch):
            rows = slice(start, start + batch)
            grad_v, grad_w = sgns_gradients(V, W, c[rows], sampled[rows])
            # word2vec's schedule: the rate falls linearly to ~0 over training.
            done = (epoch * c.size + start) / (epochs * c.size)
            rate = learning_rate * max(1.0 - done, 1e-4)
            V -= rate * grad_v
            W -= rate * grad_w
    return V
    # --8<-- [end:train]


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero): dot products become cosines."""
    vectors = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
