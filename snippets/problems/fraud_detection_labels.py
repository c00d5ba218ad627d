"""The synthetic payment stream of the fraud problem, and when its labels arrive.

Fraud is only known when the cardholder disputes the payment (a chargeback), days
or weeks later. A training job that runs today sees the fraud reported by today:
recent fraud still looks legitimate. ``labels_known_at`` reproduces that.

Its tables are printed by ``python -m snippets.problems.fraud_detection``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DAY = 86_400  # seconds
LEGIT, BURST, SINGLE = 0, 1, 2  # fraud_kind codes


# --8<-- [start:simulate]
@dataclass(frozen=True)
class Payments:
    """A log of card payments, one array per column, in time order."""

    card: np.ndarray  # card id
    time: np.ndarray  # integer seconds
    amount: np.ndarray  # dollars
    merchant: np.ndarray  # merchant id
    x_km: np.ndarray  # where the payment happened (or the IP geolocates to)
    y_km: np.ndarray
    fraud_kind: np.ndarray  # LEGIT, BURST or SINGLE
    report_delay_days: np.ndarray  # chargeback delay; inf for legitimate payments

    @property
    def is_fraud(self) -> np.ndarray:
        """1 for fraud of either kind, 0 for legitimate payments."""
        return (self.fraud_kind != LEGIT).astype(int)

    def labels_known_at(self, day: float) -> np.ndarray:
        """Labels as a training job sees them on `day`: unreported fraud looks good."""
        reported = self.time / DAY + self.report_delay_days <= day
        return (self.is_fraud.astype(bool) & reported).astype(int)


def simulate_payments(n_cards: int = 4_000, days: int = 120, seed: int = 0) -> Payments:
    """Legitimate spending, trips and shopping sprees, plus two kinds of fraud."""
    if n_cards < 10 or days < 10:
        raise ValueError("need at least 10 cards and 10 days")
    rng = np.random.default_rng(seed)
    home = rng.uniform(0, 3_000, size=(n_cards, 2))
    log_amount_mean = rng.normal(3.3, 0.6, n_cards)  # typical basket ~ $27
    favourites = rng.integers(0, 3_000, size=(n_cards, 8))
    # Legitimate payments: a Poisson number per card, spread over the period.
    per_card = rng.poisson(rng.gamma(2.0, 0.2, n_cards) * days)
    card = np.repeat(np.arange(n_cards), per_card)
    time = rng.uniform(0, days * DAY, card.size)
    xy = home[card] + rng.normal(0, 15, (card.size, 2))
    # Shopping sprees: a few payments minutes apart in one mall, also legitimate.
    spree = rng.random(card.size) < 0.06
    extra = rng.integers(1, 4, spree.sum())
    spree_time = np.repeat(time[spree], extra) + rng.exponential(240, extra.sum())
    spree_xy = np.repeat(xy[spree], extra, axis=0) + rng.normal(
        0, 0.3, (extra.sum(), 2)
    )
    card = np.r_[card, np.repeat(card[spree], extra)]
    time, xy = np.r_[time, spree_time], np.r_[xy, spree_xy]
    n_legit = card.size
    merchant = np.where(
        rng.random(n_legit) < 0.8,
        favourites[card, rng.integers(0, 8, n_legit)],
        rng.integers(0, 3_000, n_legit),
    )
    # Trips: a tenth of the cards spend a week far from home (and at new merchants).
    traveller = rng.random(n_cards) < 0.1
    trip_start = rng.uniform(0, days * DAY, n_cards)
    away = (
        traveller[card]
        & (time > trip_start[card])
        & (time < trip_start[card] + 7 * DAY)
    )
    destination = rng.uniform(0, 3_000, (n_cards, 2))
    xy[away] = destination[card[away]] + rng.normal(0, 15, (away.sum(), 2))
    merchant[away] = rng.integers(0, 3_000, away.sum())
    amount = np.exp(rng.normal(log_amount_mean[card], 0.8))
    kind = np.zeros(n_legit, dtype=int)

    # Bursts: a stolen card is tested with a tiny payment, then cashed out fast.
    n_bursts = n_cards // 20
    burst_card = rng.integers(0, n_cards, n_bursts)
    size = rng.integers(2, 8, n_bursts)
    gap = rng.choice([90.0, 900.0], n_bursts)  # some fraudsters pace themselves
    b_card = np.repeat(burst_card, size)
    start = np.repeat(rng.uniform(0, days * DAY, n_bursts), size)
    offsets = rng.exponential(np.repeat(gap, size))
    first = np.r_[0, np.cumsum(size)[:-1]]
    offsets[first] = 0.0
    b_time = start + np.cumsum(offsets) - np.repeat(np.cumsum(offsets)[first], size)
    b_xy = np.repeat(rng.uniform(0, 3_000, (n_bursts, 2)), size, axis=0)
    b_amount = np.exp(rng.normal(4.6, 0.7, b_card.size))  # ~ $100 each
    b_amount[first] = rng.uniform(1, 3, n_bursts)  # the card test
    # Single card-not-present frauds: one purchase, often far away, never a burst.
    n_single = n_cards // 8
    s_card = rng.integers(0, n_cards, n_single)
    s_xy = np.where(
        rng.random((n_single, 1)) < 0.6,
        rng.uniform(0, 3_000, (n_single, 2)),
        home[s_card] + rng.normal(0, 15, (n_single, 2)),
    )
    # Chargebacks: bursts are noticed within days, a single odd purchase weeks later.
    delay = np.r_[
        np.full(n_legit, np.inf),
        rng.lognormal(np.log(7), 0.5, b_card.size),
        rng.lognormal(np.log(35), 0.4, n_single),
    ]
    payments = {
        "card": np.r_[card, b_card, s_card],
        "time": np.r_[time, b_time, rng.uniform(0, days * DAY, n_single)],
        "amount": np.round(
            np.r_[amount, b_amount, np.exp(rng.normal(4.2, 0.8, n_single))], 2
        ),
        "merchant": np.r_[merchant, rng.integers(0, 3_000, b_card.size + n_single)],
        "x_km": np.r_[xy[:, 0], b_xy[:, 0], s_xy[:, 0]],
        "y_km": np.r_[xy[:, 1], b_xy[:, 1], s_xy[:, 1]],
        "fraud_kind": np.r_[
            kind, np.full(b_card.size, BURST), np.full(n_single, SINGLE)
        ],
        "report_delay_days": delay,
    }
    payments["time"] = np.floor(payments["time"]).astype(np.int64)
    keep = payments["time"] < days * DAY
    order = np.lexsort((payments["card"][keep], payments["time"][keep]))
    return Payments(**{name: col[keep][order] for name, col in payments.items()})
    # --8<-- [end:simulate]


# --8<-- [start:maturity]
def reported_within(payments: Payments, ages_days: Sequence[float]) -> dict[str, list]:
    """Share of each kind of fraud whose chargeback has arrived after each age."""
    ages = np.asarray(ages_days, dtype=float)
    if ages.ndim != 1 or ages.size == 0 or (ages < 0).any():
        raise ValueError("ages_days must be a non-empty list of ages >= 0")
    shares = {}
    for name, kinds in (
        ("burst", [BURST]),
        ("single", [SINGLE]),
        ("all fraud", [BURST, SINGLE]),
    ):
        delays = payments.report_delay_days[np.isin(payments.fraud_kind, kinds)]
        shares[name] = [float(np.mean(delays <= age)) for age in ages]
    return shares
    # --8<-- [end:maturity]
