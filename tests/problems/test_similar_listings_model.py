"""Skip-gram with negative sampling: pairs, gradient, sampling tables and training."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from snippets.problems import similar_listings_model as slm


def naive_pairs(clicks, booked, window, booked_as_context):
    """The pairs, built one session and one click at a time."""
    pairs = []
    for session, book in zip(clicks, booked, strict=True):
        seq = [c for c in session if c >= 0]
        for i, centre in enumerate(seq):
            for j in range(max(0, i - window), min(len(seq), i + window + 1)):
                if j != i:
                    pairs.append((centre, seq[j]))
            if booked_as_context and book >= 0 and centre != book:
                pairs.append((centre, book))
    return Counter(pairs)


@pytest.mark.parametrize("window", [1, 2, 3])
@pytest.mark.parametrize("booked_as_context", [True, False])
def test_pairs_match_a_session_by_session_loop(window, booked_as_context):
    rng = np.random.default_rng(window)
    clicks = np.full((40, 7), -1)
    for s in range(40):
        length = rng.integers(1, 8)
        clicks[s, :length] = rng.choice(30, length, replace=False)
    booked = np.where(rng.random(40) < 0.4, clicks[np.arange(40), 0], -1)
    centres, contexts = slm.skipgram_pairs(clicks, booked, window, booked_as_context)
    got = Counter(zip(centres.tolist(), contexts.tolist(), strict=True))
    assert got == naive_pairs(clicks, booked, window, booked_as_context)


def test_booked_listing_is_a_context_of_every_click_however_far():
    clicks = np.array([[3, 4, 5, 6, 7, 8]])
    centres, contexts = slm.skipgram_pairs(clicks, np.array([8]), window=1)
    with_booking = set(zip(centres.tolist(), contexts.tolist(), strict=True))
    assert {(3, 8), (4, 8), (5, 8), (6, 8)} <= with_booking
    assert (8, 8) not in with_booking
    centres, contexts = slm.skipgram_pairs(clicks, np.array([8]), 1, False)
    assert (3, 8) not in set(zip(centres.tolist(), contexts.tolist(), strict=True))


def loop_loss(V, W, centres, contexts):
    """An independent, pair-by-pair negative-sampling loss."""
    total = 0.0
    for c, row in zip(centres, contexts, strict=True):
        total -= np.log(1 / (1 + np.exp(-V[c] @ W[row[0]])))
        for n in row[1:]:
            total -= np.log(1 / (1 + np.exp(V[c] @ W[n])))
    return total


def test_loss_matches_a_pair_by_pair_loop():
    rng = np.random.default_rng(0)
    V, W = rng.normal(size=(9, 4)), rng.normal(size=(9, 4))
    centres = rng.integers(0, 9, 12)
    contexts = rng.integers(0, 9, (12, 4))
    assert slm.sgns_loss(V, W, centres, contexts) == pytest.approx(
        loop_loss(V, W, centres, contexts), rel=1e-12
    )


def test_gradient_matches_finite_differences_of_the_loss():
    """Repeated ids in a batch must add up: the scatter is where bugs hide."""
    rng = np.random.default_rng(1)
    V, W = rng.normal(0, 0.5, (6, 3)), rng.normal(0, 0.5, (6, 3))
    centres = np.array([0, 1, 1, 2, 0, 5])
    contexts = np.array(
        [[1, 3, 3], [2, 0, 4], [0, 1, 5], [5, 5, 0], [1, 2, 2], [4, 0, 1]]
    )
    grad_v, grad_w = slm.sgns_gradients(V, W, centres, contexts)
    step = 1e-6
    for matrix, grad in ((V, grad_v), (W, grad_w)):
        numeric = np.zeros_like(matrix)
        for index in np.ndindex(matrix.shape):
            saved = matrix[index]
            matrix[index] = saved + step
            up = loop_loss(V, W, centres, contexts)
            matrix[index] = saved - step
            down = loop_loss(V, W, centres, contexts)
            matrix[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_scatter_rows_sums_repeated_ids_like_add_at():
    rng = np.random.default_rng(2)
    rows = rng.integers(0, 7, 50)
    values = rng.normal(size=(50, 3))
    expected = np.zeros((7, 3))
    np.add.at(expected, rows, values)
    np.testing.assert_allclose(slm.scatter_rows(7, rows, values), expected)


def test_weighted_scatter_sums_outer_products_like_add_at():
    """rows (B, k), weights (B, k): row rows[b, j] gets weights[b, j] * values[b]."""
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 6, (40, 3))
    weights = rng.normal(size=(40, 3))
    values = rng.normal(size=(40, 4))
    expected = np.zeros((6, 4))
    for b in range(40):
        for j in range(3):
            expected[rows[b, j]] += weights[b, j] * values[b]
    np.testing.assert_allclose(
        slm.scatter_rows(6, rows, values, weights=weights), expected
    )


def test_unigram_table_samples_in_proportion_to_count_to_the_three_quarters():
    counts = np.array([0, 15, 80, 255])
    table = slm.unigram_table(counts, 100_000)
    share = np.bincount(table, minlength=4) / table.size
    weights = (counts + 1.0) ** 0.75
    np.testing.assert_allclose(share, weights / weights.sum(), atol=1e-4)


def two_cluster_sessions(rng, n_sessions=1_500):
    """20 listings in one market: sessions stay within 0-9 or within 10-19."""
    clicks = np.full((n_sessions, 6), -1)
    for s in range(n_sessions):
        base = 10 * rng.integers(0, 2)
        clicks[s] = base + rng.choice(10, 6, replace=False)
    return clicks


def test_training_puts_co_clicked_listings_together():
    rng = np.random.default_rng(3)
    clicks = two_cluster_sessions(rng)
    centres, contexts = slm.skipgram_pairs(clicks, np.full(len(clicks), -1))
    market = np.zeros(20, dtype=int)
    # 20 listings: a small batch, so that a listing appears a few times per batch
    # (summed updates of one row act like that many SGD steps at once).
    vectors = slm.unit_rows(
        slm.train_embeddings(centres, contexts, market, rng, dim=8, batch=32)
    )
    cosine = vectors @ vectors.T
    same = np.equal.outer(np.arange(20) // 10, np.arange(20) // 10)
    np.fill_diagonal(same, False)
    across = ~np.equal.outer(np.arange(20) // 10, np.arange(20) // 10)
    assert cosine[same].mean() > cosine[across].mean() + 0.5


def test_market_negatives_come_from_the_centres_market():
    """With only same-market negatives, other markets' context vectors never move."""
    rng = np.random.default_rng(4)
    clicks = two_cluster_sessions(rng, 300)  # listings 0-19 in market 0
    centres, contexts = slm.skipgram_pairs(clicks, np.full(len(clicks), -1))
    market = np.repeat([0, 1], 20)  # listings 20-39: a market nobody browses
    captured = {}
    original = slm.sgns_gradients

    def spy(V, W, c, x):
        captured.setdefault("negatives", []).append(x[:, 1:].copy())
        return original(V, W, c, x)

    slm.sgns_gradients = spy
    try:
        slm.train_embeddings(
            centres, contexts, market, rng, negatives=3, market_negatives=3, batch=32
        )
    finally:
        slm.sgns_gradients = original
    negatives = np.concatenate(captured["negatives"])
    assert negatives.max() < 20


def test_unit_rows_gives_unit_norms_and_keeps_zero_rows():
    rows = slm.unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])


def test_bad_arguments_raise_clear_errors():
    clicks = np.array([[0, 1, -1]])
    with pytest.raises(ValueError, match="window"):
        slm.skipgram_pairs(clicks, np.array([-1]), window=0)
    with pytest.raises(ValueError, match="booked"):
        slm.skipgram_pairs(clicks, np.array([-1, -1]))
    market = np.zeros(3, dtype=int)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="integer ids"):
        slm.train_embeddings(np.array([0, 5]), np.array([1, 2]), market, rng)
    with pytest.raises(ValueError, match="same size"):
        slm.train_embeddings(np.array([0, 1]), np.array([1]), market, rng)
    with pytest.raises(ValueError, match="market_negatives"):
        slm.train_embeddings(
            np.array([0]), np.array([1]), market, rng, negatives=2, market_negatives=3
        )
    with pytest.raises(ValueError, match="contiguous"):
        slm.train_embeddings(np.array([0]), np.array([1]), np.array([1, 0, 1]), rng)
