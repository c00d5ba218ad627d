"""The fraud problem's synthetic stream and its late labels."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.problems import fraud_detection_labels as fl


def small_log(seed: int = 1) -> fl.Payments:
    return fl.simulate_payments(n_cards=40, days=20, seed=seed)


def test_labels_arrive_late_and_only_ever_grow():
    log = small_log()
    shares = [log.labels_known_at(day).sum() for day in (5, 20, 60, 1e9)]
    assert shares == sorted(shares) and shares[0] < shares[-1]
    np.testing.assert_array_equal(log.labels_known_at(np.inf), log.is_fraud)
    # A claim can never arrive before its payment.
    assert log.labels_known_at(0).sum() == 0
    # No ring in a log that ends before the ring's start day.
    assert not (log.fraud_kind == fl.ATTACK).any()


def test_reported_within_counts_claims_by_age():
    log = fl.simulate_payments(n_cards=200, days=60, seed=2)
    ages = [0, 7, 30, 1e9]
    curve = fl.reported_within(log, ages)
    assert set(curve) == {"burst", "single", "attack", "all fraud"}
    for name, codes in [("single", [fl.SINGLE]), ("all fraud", [1, 2, 3])]:
        delays = [
            d
            for d, k in zip(log.report_delay_days, log.fraud_kind, strict=True)
            if k in codes
        ]
        expected = [sum(d <= age for d in delays) / len(delays) for age in ages]
        assert curve[name] == pytest.approx(expected)
    # Bursts are reported faster than single card-not-present frauds.
    assert curve["burst"][1] > curve["single"][1]


def test_the_ring_starts_on_its_day_and_shares_a_few_devices():
    log = fl.simulate_payments(n_cards=600, days=60, seed=3, attack_start_day=40)
    ring = log.fraud_kind == fl.ATTACK
    assert ring.sum() > 20 and (log.time[ring] >= 40 * fl.DAY).all()
    assert np.unique(log.device[ring]).size <= 3
    assert np.unique(log.card[ring]).size > 0.8 * ring.sum()  # many cards
    # Every other payment of the log came from a device the ring never used.
    assert not np.isin(log.device[~ring], log.device[ring]).any()


def test_the_ring_spends_twice_the_median_basket_and_1_66_times_the_mean():
    """The page's reading of amount_vs_usual: log-normal amounts put the mean above the
    median (e^(0.8^2 / 2) = 1.38), so twice the median is 2.0 / 1.38 x e^(0.5^2 / 2)."""
    log = fl.simulate_payments(n_cards=400, days=200, seed=4, attack_start_day=100)
    legit, ring = log.fraud_kind == fl.LEGIT, log.fraud_kind == fl.ATTACK
    cards = np.unique(log.card[ring])
    median = np.array([np.median(log.amount[legit & (log.card == c)]) for c in cards])
    mean = np.array([log.amount[legit & (log.card == c)].mean() for c in cards])
    per_card = {c: i for i, c in enumerate(cards)}
    index = np.array([per_card[c] for c in log.card[ring]])
    assert np.median(mean / median) == pytest.approx(np.exp(0.32), rel=0.08)
    assert np.median(log.amount[ring] / median[index]) == pytest.approx(2.0, rel=0.1)
    assert np.mean(log.amount[ring] / mean[index]) == pytest.approx(1.66, rel=0.1)


def test_same_seed_same_stream_other_seed_other_stream():
    a, b, c = small_log(7), small_log(7), small_log(8)
    np.testing.assert_array_equal(a.amount, b.amount)
    assert a.amount.size != c.amount.size or not np.array_equal(a.amount, c.amount)
    assert (np.diff(a.time) >= 0).all(), "the log is in time order"


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="at least 10"):
        fl.simulate_payments(n_cards=3)
    with pytest.raises(ValueError, match="attack_start_day"):
        fl.simulate_payments(n_cards=20, days=20, attack_start_day=-1)
    with pytest.raises(ValueError, match="ages_days"):
        fl.reported_within(small_log(), [-1])
