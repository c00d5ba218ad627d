"""The GSP auction against a brute-force search for each winner's minimum bid, its
pricing invariants, and the market totals against a loop written here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.problems.ad_click_prediction_auction import gsp_auction, run_market


def allocate(bids, pctr, n_slots, reserve):
    """Independent allocation for one request: sort by score, ties to the lower
    index; only ads whose score reaches the reserve (and is positive) are shown."""
    scores = [b * p for b, p in zip(bids, pctr, strict=True)]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    shown = [i for i in order if scores[i] >= reserve and scores[i] > 0]
    return shown[:n_slots]


def minimum_bid(bids, pctr, n_slots, reserve, ad, slot):
    """Bisection for the least bid that keeps `ad` in `slot` (others fixed)."""
    low, high = 0.0, bids[ad]
    for _ in range(80):
        middle = (low + high) / 2
        trial = list(bids)
        trial[ad] = middle
        winners = allocate(trial, pctr, n_slots, reserve)
        keeps = slot < len(winners) and winners[slot] == ad
        low, high = (low, middle) if keeps else (middle, high)
    return high


def random_auctions(seed, n_requests=40, n_candidates=6):
    rng = np.random.default_rng(seed)
    bids = rng.lognormal(0, 0.6, (n_requests, n_candidates))
    pctr = rng.uniform(0.005, 0.2, (n_requests, n_candidates))
    return bids, pctr


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reserve", [0.0, 0.02, 0.06])
def test_prices_are_the_minimum_bid_that_keeps_the_slot(seed, reserve):
    bids, pctr = random_auctions(seed)
    winners, price = gsp_auction(bids, pctr, 3, reserve)
    for r in range(bids.shape[0]):
        expected = allocate(bids[r], pctr[r], 3, reserve)
        got = [int(w) for w in winners[r] if w >= 0]
        assert got == expected
        for slot, ad in enumerate(expected):
            least = minimum_bid(list(bids[r]), pctr[r], 3, reserve, ad, slot)
            assert price[r, slot] == pytest.approx(least, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n_candidates=st.integers(1, 7),
    n_slots=st.integers(1, 4),
    reserve=st.sampled_from([0.0, 0.01, 0.05]),
    seed=st.integers(0, 10_000),
)
def test_pricing_invariants(n_candidates, n_slots, reserve, seed):
    rng = np.random.default_rng(seed)
    bids = rng.lognormal(0, 0.8, (5, n_candidates))
    pctr = rng.uniform(0.001, 0.3, (5, n_candidates))
    winners, price = gsp_auction(bids, pctr, n_slots, reserve)
    assert winners.shape == price.shape == (5, n_slots)
    for r in range(5):
        shown = winners[r][winners[r] >= 0]
        # Empty slots only after the filled ones, and they cost nothing.
        assert (winners[r][len(shown) :] == -1).all()
        assert (price[r][len(shown) :] == 0).all()
        score = bids[r] * pctr[r]
        won = score[shown]
        assert (np.diff(won) <= 0).all(), "winners ordered by bid x pCTR"
        assert (won >= reserve).all()
        losers = np.setdiff1d(np.arange(n_candidates), shown)
        if losers.size and shown.size == n_slots:
            assert score[losers].max() <= won.min()  # the top n_slots win
        if losers.size and shown.size < n_slots:
            assert (score[losers] < max(reserve, 1e-300)).all()  # left out: reserve
        paid = price[r][: len(shown)]
        assert (paid <= bids[r][shown] * (1 + 1e-12)).all(), "price <= bid"
        assert (paid >= reserve / pctr[r][shown] * (1 - 1e-12)).all()
        assert (np.diff(paid * pctr[r][shown]) <= 1e-12).all()  # expected payments fall


def test_a_global_scale_only_acts_through_the_reserve():
    bids, pctr = random_auctions(7, n_requests=200)
    winners, price = gsp_auction(bids, pctr, 3, 0.0)
    scaled_winners, scaled_price = gsp_auction(bids, 2 * pctr / 2.5, 3, 0.0)
    assert (winners == scaled_winners).all()
    np.testing.assert_allclose(price, scaled_price)
    # With a reserve, over-prediction only adds ads below those already shown.
    base, _ = gsp_auction(bids, pctr, 3, 0.1)
    more, _ = gsp_auction(bids, np.minimum(2 * pctr, 1.0), 3, 0.1)
    filled = base >= 0
    assert (more[filled] == base[filled]).all()
    assert (more >= 0).sum() > filled.sum()


@pytest.mark.parametrize("k", [0.5, 2.0, 6.3])
def test_scaling_every_pctr_by_k_is_dividing_the_reserve_by_k(k):
    """Same ads, same prices, same totals: a global scale is a reserve change."""
    bids, pctr = random_auctions(3, n_requests=200)
    pctr = pctr / k if k > 1 else pctr  # keep k x pCTR <= 1
    truth, factor = pctr * 0.8, np.array([1.0, 0.55, 0.35])
    scaled = run_market(bids, k * pctr, truth, bids, factor, 0.05)
    moved = run_market(bids, pctr, truth, bids, factor, 0.05 / k)
    assert (scaled.allocation == moved.allocation).all()
    assert scaled.revenue == pytest.approx(moved.revenue)
    assert scaled.surplus == pytest.approx(moved.surplus)
    assert scaled.reserve_priced == moved.reserve_priced
    assert 0 < scaled.ads_shown < bids.shape[0] * 3  # the reserve binds somewhere


def test_fewer_candidates_than_slots_leaves_slots_empty():
    winners, price = gsp_auction([[2.0, 1.0]], [[0.1, 0.1]], 3, 0.0)
    assert winners.tolist() == [[0, 1, -1]]
    assert price[0].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_true_ctr_ranking_maximises_welfare_without_a_reserve():
    """Bids at value, separable position effects: sorting by value x CTR is the best
    assignment of ads to slots (checked against every assignment)."""
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 0.5, (30, 5))
    ctr = rng.uniform(0.01, 0.2, (30, 5))
    factor = np.array([1.0, 0.6, 0.3])
    outcome = run_market(values, ctr, ctr, values, factor, 0.0)
    best = 0.0
    for r in range(30):
        best += max(
            sum(values[r, a] * ctr[r, a] * f for a, f in zip(p, factor, strict=True))
            for p in itertools.permutations(range(5), 3)
        )
    assert outcome.welfare == pytest.approx(best)


def test_market_totals_match_a_loop():
    rng = np.random.default_rng(11)
    bids, pctr = random_auctions(11, n_requests=50)
    truth = np.clip(pctr * rng.uniform(0.5, 1.5, pctr.shape), 0, 1)
    values = bids * rng.uniform(1.0, 1.3, bids.shape)
    segment = rng.random(bids.shape) < 0.3
    factor = np.array([1.0, 0.55, 0.35])
    outcome = run_market(bids, pctr, truth, values, factor, 0.02, segment=segment)
    winners, price = gsp_auction(bids, pctr, 3, 0.02)
    totals = dict.fromkeys(("clicks", "revenue", "surplus", "welfare", "seg"), 0.0)
    shown = reserve_priced = seg_shown = 0
    for r in range(50):
        ranked = sorted(bids[r] * pctr[r], reverse=True)
        for slot, ad in enumerate(winners[r]):
            if ad < 0:
                continue
            p_click = truth[r, ad] * factor[slot]
            totals["clicks"] += p_click
            totals["revenue"] += price[r, slot] * p_click
            totals["surplus"] += (values[r, ad] - price[r, slot]) * p_click
            totals["welfare"] += values[r, ad] * p_click
            shown += 1
            next_score = ranked[slot + 1] if slot + 1 < len(ranked) else 0.0
            reserve_priced += next_score <= 0.02
            if segment[r, ad]:
                totals["seg"] += (values[r, ad] - price[r, slot]) * p_click
                seg_shown += 1
    assert outcome.clicks == pytest.approx(totals["clicks"])
    assert outcome.revenue == pytest.approx(totals["revenue"])
    assert outcome.surplus == pytest.approx(totals["surplus"])
    assert outcome.welfare == pytest.approx(totals["welfare"])
    assert outcome.welfare == pytest.approx(outcome.revenue + outcome.surplus)
    assert outcome.segment_surplus == pytest.approx(totals["seg"])
    assert (outcome.ads_shown, outcome.segment_shown) == (shown, seg_shown)
    assert outcome.reserve_priced == reserve_priced


def test_bad_auction_input_raises_clear_errors():
    ok = np.ones((2, 3))
    with pytest.raises(ValueError, match="2-D arrays of one shape"):
        gsp_auction(ok, np.full((2, 2), 0.1), 1)
    with pytest.raises(ValueError, match="bids must be positive"):
        gsp_auction(-ok, ok * 0.1, 1)
    with pytest.raises(ValueError, match=r"pctr must hold probabilities in \(0, 1\]"):
        gsp_auction(ok, ok * 0, 1)
    with pytest.raises(ValueError, match="pctr must hold"):
        gsp_auction(ok, ok * 1.5, 1)
    for slots in (0, True, 1.5):
        with pytest.raises(ValueError, match="n_slots must be a positive integer"):
            gsp_auction(ok, ok * 0.1, slots)
    with pytest.raises(TypeError, match="reserve must be a number"):
        gsp_auction(ok, ok * 0.1, 1, "0.1")
    with pytest.raises(ValueError, match="reserve must be finite"):
        gsp_auction(ok, ok * 0.1, 1, -1.0)
    with pytest.raises(ValueError, match="position_factor"):
        run_market(ok, ok * 0.1, ok * 0.1, ok, [1.0, 1.2], 0.0)
    with pytest.raises(ValueError, match="true_ctr must have the shape"):
        run_market(ok, ok * 0.1, np.ones((3, 2)), ok, [1.0], 0.0)
    with pytest.raises(ValueError, match="true_ctr must hold probabilities"):
        run_market(ok, ok * 0.1, ok * 2, ok, [1.0], 0.0)
    with pytest.raises(ValueError, match="segment must have the shape"):
        run_market(ok, ok * 0.1, ok * 0.1, ok, [1.0], 0.0, segment=[True])
