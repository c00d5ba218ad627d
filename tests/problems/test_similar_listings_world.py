"""The synthetic marketplace: filters, click order, bookings and host rejections."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.problems import similar_listings_world as slw


@pytest.fixture(scope="module")
def world():
    return slw.split_world(7, n_train=3_000, n_test=500)


def test_every_click_is_in_the_sessions_market_and_passes_its_filters(world):
    listings, train, _ = world
    per = listings.per_market
    rows, steps = np.nonzero(train.clicks >= 0)
    ids = train.clicks[rows, steps]
    assert (listings.market[ids] == train.market[rows]).all()
    assert train.eligible[rows, ids % per].all()


def test_sessions_are_prefixes_without_repeated_clicks(world):
    _, train, _ = world
    for row in train.clicks:
        seen = row[row >= 0]
        assert (row[: seen.size] >= 0).all() and (row[seen.size :] < 0).all()
        assert len(set(seen.tolist())) == seen.size


def test_a_booking_ends_the_session_on_the_booked_listing(world):
    _, train, _ = world
    booked = np.flatnonzero(train.booked >= 0)
    last = train.clicks[booked, train.lengths[booked] - 1]
    assert (last == train.booked[booked]).all()
    # A rejected request never ends a session and never is the booking.
    rows, steps = np.nonzero(train.rejected)
    assert (train.clicks[rows, steps] >= 0).all()
    assert (train.clicks[rows, steps] != train.booked[rows]).all()


def test_hosts_reject_in_line_with_their_acceptance_probability(world):
    listings, train, _ = world
    rows, steps = np.nonzero(train.rejected)
    rejected_ids = train.clicks[rows, steps]
    accepted_ids = train.booked[train.booked >= 0]
    requests = np.concatenate([rejected_ids, accepted_ids])
    observed = accepted_ids.size / requests.size
    expected = listings.acceptance[requests].mean()  # each request's own chance
    se = np.sqrt(expected * (1 - expected) / requests.size)
    assert abs(observed - expected) < 4 * se


def test_dates_and_party_size_are_hard_filters(world):
    listings, train, _ = world
    per = listings.per_market
    ids = train.market[:, None] * per + np.arange(per)  # each session's market
    fits = listings.capacity[ids] >= train.party[:, None]
    assert not (train.eligible & ~fits).any()  # never a listing too small
    free = train.eligible[fits].mean()  # of those that fit, the share free
    assert abs(free - 0.7) < 0.01


def test_content_shows_three_taste_factors_and_not_the_rest(world):
    listings, _, _ = world
    assert listings.content.shape[1] == 3 + 2  # 3 noisy factors, log price, capacity
    corr = np.corrcoef(listings.content.T, listings.taste.T)[:5, 5:]
    assert (np.diag(corr[:3, :3]) > 0.6).all()  # signal 1, noise 0.8: about 0.78
    assert np.abs(corr[:, 3:]).max() < 0.1  # factors 4 to 8 leave no trace
    full = np.corrcoef(listings.content_all_taste[:, :8].T, listings.taste.T)
    assert (np.diag(full[:8, 8:]) > 0.6).all()


def test_photo_appeal_draws_clicks_not_booking_requests(world):
    """Clicks rise with appeal; given a click, the booking chance does not."""
    listings, train, _ = world
    ids = train.clicks[train.clicks >= 0]
    clicks = np.bincount(ids, minlength=listings.market.size)
    assert np.corrcoef(listings.appeal, clicks)[0, 1] > 0.2
    booked = np.bincount(train.booked[train.booked >= 0], minlength=clicks.size)
    clicked = clicks > 0
    rate = booked[clicked] / clicks[clicked]
    assert abs(np.corrcoef(listings.appeal[clicked], rate)[0, 1]) < 0.1
    assert np.corrcoef(listings.value[clicked], rate)[0, 1] > 0.1


def test_the_world_is_seeded(world):
    again = slw.split_world(7, n_train=3_000, n_test=500)
    np.testing.assert_array_equal(again[1].clicks, world[1].clicks)
    np.testing.assert_array_equal(again[2].booked, world[2].booked)


def test_bad_arguments_raise_clear_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_markets"):
        slw.make_listings(0, 10, rng)
    with pytest.raises(TypeError, match="per_market"):
        slw.make_listings(2, 2.5, rng)
    listings = slw.make_listings(2, 20, rng)
    with pytest.raises(ValueError, match="n_sessions"):
        slw.simulate_sessions(listings, 0, rng)
