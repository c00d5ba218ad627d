"""The synthetic lodging marketplace of the similar-listings miniature.

Listings live in markets and carry a latent "taste" vector (style, vibe, the kind of
trip they suit) that their content attributes show only in part and with noise.
Guests search one market for some dates and a party size (hard filters), browse
listings by taste, by similarity to the listing they are on and by photo appeal, ask
to book some of them, and the host accepts or rejects each request. The sessions are
the ground truth: the methods compared never see the taste vectors.

Run the whole miniature: ``python -m snippets.problems.similar_listings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snippets.concepts.classification_metrics import sigmoid

TASTE_DIM = 8  # latent taste factors per listing
VISIBLE_TASTE = 3  # how many of them the content attributes show (with noise)
CAPACITIES = np.array([2, 4, 6, 8])
PARTY_SIZES = np.array([1, 2, 3, 4, 5, 6])


@dataclass(frozen=True)
class Listings:
    """Every listing: its market, what the content shows, and what it hides."""

    market: np.ndarray  # market id; listings of a market are contiguous
    capacity: np.ndarray  # guests it sleeps (a hard filter)
    content: np.ndarray  # observed attributes: noisy taste view, log price, capacity
    content_all_taste: np.ndarray  # what-if: attributes that show all 8 factors
    taste: np.ndarray  # hidden (n, TASTE_DIM)
    appeal: np.ndarray  # hidden photo appeal: draws clicks, not bookings
    value: np.ndarray  # hidden value for money: draws booking requests
    acceptance: np.ndarray  # hidden host acceptance probability

    @property
    def n_markets(self) -> int:
        return int(self.market.max()) + 1

    @property
    def per_market(self) -> int:
        return self.market.size // self.n_markets


@dataclass(frozen=True)
class Sessions:
    """Search sessions: one market, the listings that pass its filters, the clicks."""

    market: np.ndarray  # (s,)
    party: np.ndarray  # (s,) guests: a listing must sleep them all
    eligible: np.ndarray  # (s, per_market) bool: available for the dates, fits party
    clicks: np.ndarray  # (s, max_len) listing ids in click order, -1 after the end
    booked: np.ndarray  # (s,) listing id booked (host accepted), -1 if none
    rejected: (
        np.ndarray
    )  # (s, max_len) True where the host rejected that click's request

    @property
    def lengths(self) -> np.ndarray:
        return (self.clicks >= 0).sum(axis=1)


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


# --8<-- [start:world]
def make_listings(
    n_markets: int, per_market: int, rng: np.random.Generator
) -> Listings:
    """Listings whose content attributes are a noisy, partial view of their taste."""
    _positive_int("n_markets", n_markets)
    _positive_int("per_market", per_market)
    n = n_markets * per_market
    taste = rng.normal(size=(n, TASTE_DIM))
    capacity = rng.choice(CAPACITIES, n, p=[0.4, 0.3, 0.2, 0.1])
    log_price = 0.3 * taste[:, 0] + 0.3 * np.log(capacity) + rng.normal(0, 0.3, n)
    # Attributes (type, amenities, photos' tags) show 3 of the 8 taste factors, noisily.
    noisy_taste = taste + rng.normal(0, 0.8, taste.shape)
    content = np.column_stack(
        [noisy_taste[:, :VISIBLE_TASTE], log_price, np.log(capacity)]
    )
    return Listings(
        market=np.repeat(np.arange(n_markets), per_market),
        capacity=capacity,
        content=content,
        content_all_taste=np.column_stack([noisy_taste, log_price, np.log(capacity)]),
        taste=taste,
        appeal=rng.normal(0, 1.0, n),
        value=rng.normal(0, 1.0, n),
        acceptance=rng.beta(4.0, 1.5, n),  # mean 0.73; some hosts reject often
    )


def simulate_sessions(
    listings: Listings,
    n_sessions: int,
    rng: np.random.Generator,
    max_clicks: int = 15,
) -> Sessions:
    """Guests browse one market by taste; some ask to book; hosts accept or reject."""
    _positive_int("n_sessions", n_sessions)
    _positive_int("max_clicks", max_clicks)
    per = listings.per_market
    market = rng.integers(listings.n_markets, size=n_sessions)
    party = rng.choice(PARTY_SIZES, n_sessions, p=[0.2, 0.45, 0.1, 0.15, 0.05, 0.05])
    user = rng.normal(size=(n_sessions, TASTE_DIM))
    user *= 2.5 / np.linalg.norm(user, axis=1, keepdims=True)  # taste strength 2.5
    clicks = np.full((n_sessions, max_clicks), -1)
    booked = np.full(n_sessions, -1)
    rejected = np.zeros(clicks.shape, dtype=bool)
    eligible = np.zeros((n_sessions, per), dtype=bool)
    for m in range(listings.n_markets):
        rows, ids = np.flatnonzero(market == m), np.arange(m * per, (m + 1) * per)
        # Hard filters: free on the dates (70% of listings) and sleeps the party.
        ok = rng.random((rows.size, per)) < 0.7
        ok &= listings.capacity[ids] >= party[rows, None]
        eligible[rows] = ok
        fit = user[rows] @ listings.taste[ids].T  # the guest's taste for each listing
        weight = np.where(ok, np.exp(fit + listings.appeal[ids]), 0.0).astype(
            np.float32
        )
        # Guests move to listings like the one they are on (carousels, the map).
        taste = listings.taste[ids]
        follow = np.exp(taste @ taste.T / np.sqrt(TASTE_DIM)).astype(np.float32)
        live, current = np.arange(rows.size), np.zeros(rows.size, dtype=int)
        for step in range(max_clicks):
            odds = weight[live] * follow[current[live]] if step else weight[live]
            cumulative = np.cumsum(odds, axis=1)  # sample one click per live session
            left = cumulative[:, -1] > 0  # nothing left to click: the session ends
            if not left.all():
                live, cumulative = live[left], cumulative[left]
                if live.size == 0:
                    break
            draw = (1.0 - rng.random(live.size)) * cumulative[:, -1]
            pick = (cumulative < draw[:, None]).sum(axis=1)
            clicks[rows[live], step] = ids[pick]
            weight[live, pick] = 0.0  # no second click on a listing
            current[live] = pick
            ask = rng.random(live.size) < sigmoid(
                -7.5 + fit[live, pick] + listings.value[ids[pick]]
            )
            accepted = rng.random(live.size) < listings.acceptance[ids[pick]]
            booked[rows[live[ask & accepted]]] = ids[pick[ask & accepted]]
            rejected[rows[live[ask & ~accepted]], step] = True  # the guest browses on
            leaves = rng.random(live.size) < 0.1
            live = live[~(ask & accepted) & ~leaves]
            if live.size == 0:
                break
    return Sessions(market, party, eligible, clicks, booked, rejected)
    # --8<-- [end:world]


def split_world(
    seed: int,
    n_markets: int = 8,
    per_market: int = 250,
    n_train: int = 8_000,
    n_test: int = 3_000,
) -> tuple[Listings, Sessions, Sessions]:
    """One seeded world: its listings, training sessions and later, held-out ones."""
    rng = np.random.default_rng(seed)
    listings = make_listings(n_markets, per_market, rng)
    return (
        listings,
        simulate_sessions(listings, n_train, rng),
        simulate_sessions(listings, n_test, rng),
    )
