"""The synthetic payment stream of the fraud problem, and when its labels arrive.

An issuer learns that a payment was fraud when the cardholder reports it, days or
weeks later: a fraud claim, which the issuer reports to the card network (Visa
TC40, Mastercard SAFE) whether or not it can also charge the payment back. The
claim is the label. A training job that runs today sees the fraud reported by
today: recent fraud still looks legitimate. ``labels_known_at`` reproduces that.

Its tables are printed by ``python -m snippets.problems.fraud_detection``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DAY = 86_400  # seconds
LEGIT, BURST, SINGLE, ATTACK = 0, 1, 2, 3  # fraud_kind codes
FRAUD_KINDS = {"burst": BURST, "single": SINGLE, "attack": ATTACK}
N_MERCHANTS = 3_000
ATTACK_START_DAY = 50  # the account-takeover ring starts here


# --8<-- [start:simulate]
@dataclass(frozen=True)
class Payments:
    """A log of card payments, one array per column, in time order."""

    card: np.ndarray  # card id
    time: np.ndarray  # integer seconds
    amount: np.ndarray  # dollars
    merchant: np.ndarray  # merchant id
    device: np.ndarray  # phone or browser the payment came from
    x_km: np.ndarray  # where the payment happened (or the IP geolocates to)
    y_km: np.ndarray
    fraud_kind: np.ndarray  # LEGIT, BURST, SINGLE or ATTACK
    report_delay_days: np.ndarray  # until the cardholder's fraud claim; inf if legit

    @property
    def is_fraud(self) -> np.ndarray:
        """1 for fraud of any kind, 0 for legitimate payments."""
        return (self.fraud_kind != LEGIT).astype(int)

    def labels_known_at(self, day: float) -> np.ndarray:
        """Labels as a training job sees them on `day`: unreported fraud looks good."""
        reported = self.time / DAY + self.report_delay_days <= day
        return (self.is_fraud.astype(bool) & reported).astype(int)


def simulate_payments(
    n_cards: int = 2_000,
    days: int = 120,
    seed: int = 0,
    attack_start_day: float = ATTACK_START_DAY,
) -> Payments:
    """Legitimate spending plus bursts, single frauds and, later, an attack ring."""
    if n_cards < 10 or days < 10:
        raise ValueError("need at least 10 cards and 10 days")
    if not 0 <= attack_start_day < np.inf:
        raise ValueError("attack_start_day must be >= 0 (past `days`: no attack)")
    rng = np.random.default_rng(seed)
    # A few merchants take most of the volume (one big marketplace, then a long
    # tail), so a fraudster often lands on a merchant the card already used.
    popularity = 1.0 / np.arange(1, N_MERCHANTS + 1) ** 1.1
    popularity /= popularity.sum()
    cards = {
        "home": rng.uniform(0, 3_000, size=(n_cards, 2)),
        "log_basket": rng.normal(3.3, 0.6, n_cards),  # typical basket ~ $27
        "favourites": rng.choice(N_MERCHANTS, size=(n_cards, 8), p=popularity),
        # Households: three cards in ten share a phone or laptop with another card.
        "device": np.where(
            rng.random(n_cards) < 0.3,
            rng.integers(0, n_cards, n_cards),
            np.arange(n_cards),
        ),
    }
    parts = [
        _legitimate(rng, cards, days, popularity),
        _bursts(rng, cards, days, popularity, first_device=n_cards),
        _singles(rng, cards, days, popularity, first_device=2 * n_cards),
        _account_takeover(rng, cards, days, attack_start_day, first_device=3 * n_cards),
    ]
    log = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    log["time"] = np.floor(log["time"]).astype(np.int64)
    log["amount"] = np.round(log["amount"], 2)
    keep = log["time"] < days * DAY
    order = np.lexsort((log["card"][keep], log["time"][keep]))
    return Payments(**{name: column[keep][order] for name, column in log.items()})


def _legitimate(rng, cards, days, popularity) -> dict[str, np.ndarray]:
    """Everyday spending at favourite merchants, shopping sprees and trips."""
    n_cards = cards["home"].shape[0]
    card = np.repeat(
        np.arange(n_cards), rng.poisson(rng.gamma(2.0, 0.2, n_cards) * days)
    )
    time = rng.uniform(0, days * DAY, card.size)
    # Shopping sprees: a few payments minutes apart in one mall.
    spree = rng.random(card.size) < 0.06
    extra = rng.integers(1, 4, spree.sum())
    time = np.r_[
        time, np.repeat(time[spree], extra) + rng.exponential(240, extra.sum())
    ]
    xy = cards["home"][card] + rng.normal(0, 15, (card.size, 2))
    xy = np.r_[xy, np.repeat(xy[spree], extra, axis=0)]
    card = np.r_[card, np.repeat(card[spree], extra)]
    n = card.size
    merchant = np.where(
        rng.random(n) < 0.8,
        cards["favourites"][card, rng.integers(0, 8, n)],
        rng.choice(N_MERCHANTS, n, p=popularity),
    )
    # Trips: a tenth of the cards spend a week far away, at local merchants.
    trip_start = np.where(
        rng.random(n_cards) < 0.1, rng.uniform(0, days * DAY, n_cards), -np.inf
    )
    away = (time > trip_start[card]) & (time < trip_start[card] + 7 * DAY)
    destination = rng.uniform(0, 3_000, (n_cards, 2))
    xy[away] = destination[card[away]] + rng.normal(0, 15, (away.sum(), 2))
    merchant[away] = rng.integers(0, N_MERCHANTS, away.sum())
    return _columns(
        card, time, np.exp(rng.normal(cards["log_basket"][card], 0.8)), merchant,
        cards["device"][card], xy, LEGIT, np.full(n, np.inf),
    )  # fmt: skip


def _bursts(rng, cards, days, popularity, first_device) -> dict[str, np.ndarray]:
    """A stolen card is tested with a tiny payment, then cashed out fast, far away."""
    n_bursts = cards["home"].shape[0] // 20
    size = rng.integers(2, 8, n_bursts)
    gap = rng.choice([90.0, 900.0], n_bursts)  # some fraudsters pace themselves
    burst = np.repeat(np.arange(n_bursts), size)
    first = np.r_[0, np.cumsum(size)[:-1]]
    offsets = rng.exponential(gap[burst])
    offsets[first] = 0.0
    elapsed = np.cumsum(offsets) - np.repeat(np.cumsum(offsets)[first], size)
    amount = np.exp(rng.normal(4.6, 0.7, burst.size))  # ~ $100 each
    amount[first] = rng.uniform(1, 3, n_bursts)  # the card test
    return _columns(
        np.repeat(rng.integers(0, cards["home"].shape[0], n_bursts), size),
        rng.uniform(0, days * DAY, n_bursts)[burst] + elapsed,
        amount,
        _fraud_merchant(rng, burst.size, popularity),
        first_device + burst,  # the fraudster's own device
        rng.uniform(0, 3_000, (n_bursts, 2))[burst],
        BURST,
        rng.lognormal(np.log(7), 0.5, burst.size),  # noticed within days
    )


def _singles(rng, cards, days, popularity, first_device) -> dict[str, np.ndarray]:
    """Single card-not-present frauds: one purchase, often far away, never a burst."""
    n = cards["home"].shape[0] // 8
    card = rng.integers(0, cards["home"].shape[0], n)
    xy = np.where(
        rng.random((n, 1)) < 0.6,
        rng.uniform(0, 3_000, (n, 2)),
        cards["home"][card] + rng.normal(0, 15, (n, 2)),
    )
    return _columns(
        card, rng.uniform(0, days * DAY, n), np.exp(rng.normal(4.2, 0.8, n)),
        _fraud_merchant(rng, n, popularity), first_device + np.arange(n), xy,
        SINGLE, rng.lognormal(np.log(35), 0.4, n),  # waits for the statement
    )  # fmt: skip


def _account_takeover(rng, cards, days, start_day, first_device):
    """From `start_day`, a ring logs into stolen accounts from a few shared devices
    and buys at the card's usual merchants, near home, about twice the card's median
    basket."""
    n_cards = cards["home"].shape[0]
    n = rng.poisson(n_cards * max(days - start_day, 0) / 500)
    card = rng.integers(0, n_cards, n)
    return _columns(
        card,
        rng.uniform(min(start_day, days) * DAY, days * DAY, n),
        np.exp(cards["log_basket"][card] + rng.normal(0.7, 0.5, n)),
        cards["favourites"][card, rng.integers(0, 8, n)],
        first_device + rng.integers(0, 2, n),  # the ring's two devices
        cards["home"][card] + rng.normal(0, 15, (n, 2)),  # a proxy near home
        ATTACK,
        rng.lognormal(np.log(10), 0.5, n),
    )


def _fraud_merchant(rng, n: int, popularity: np.ndarray) -> np.ndarray:
    """Half at popular merchants (where the card may have shopped), half anywhere."""
    return np.where(
        rng.random(n) < 0.5,
        rng.choice(N_MERCHANTS, n, p=popularity),
        rng.integers(0, N_MERCHANTS, n),
    )


def _columns(card, time, amount, merchant, device, xy, kind, delay):
    return {
        "card": card,
        "time": time,
        "amount": amount,
        "merchant": merchant,
        "device": device,
        "x_km": xy[:, 0],
        "y_km": xy[:, 1],
        "fraud_kind": np.full(card.size, kind),
        "report_delay_days": delay,
    }
    # --8<-- [end:simulate]


# --8<-- [start:maturity]
def reported_within(payments: Payments, ages_days: Sequence[float]) -> dict[str, list]:
    """Share of each kind of fraud whose claim has arrived after each age (days)."""
    ages = np.asarray(ages_days, dtype=float)
    if ages.ndim != 1 or ages.size == 0 or (ages < 0).any():
        raise ValueError("ages_days must be a non-empty list of ages >= 0")
    kinds = {name: [kind] for name, kind in FRAUD_KINDS.items()}
    kinds["all fraud"] = list(FRAUD_KINDS.values())
    shares = {}
    for name, codes in kinds.items():
        delays = payments.report_delay_days[np.isin(payments.fraud_kind, codes)]
        if delays.size:
            shares[name] = [float(np.mean(delays <= age)) for age in ages]
    return shares
    # --8<-- [end:maturity]
