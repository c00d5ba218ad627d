"""Fraud scoring: point-in-time features against a replay, and the policy's dollars."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.framework.features import online_window_counts
from snippets.problems import fraud_detection_labels as fl
from snippets.problems import fraud_detection_scoring as fs

WEEK = 7 * 86_400


def small_log(seed: int = 1) -> fl.Payments:
    # The ring starts on day 5, so shared devices show up in a 20-day log.
    return fl.simulate_payments(n_cards=40, days=20, seed=seed, attack_start_day=5)


def features_of(log: fl.Payments) -> dict[str, np.ndarray]:
    return fs.velocity_features(
        log.card, log.time, log.amount, log.merchant, log.device, log.x_km, log.y_km
    )


def brute_force_features(log: fl.Payments) -> dict[str, np.ndarray]:
    """One payment at a time, looking only at strictly earlier payments."""
    rows = []
    for i in range(log.time.size):
        earlier = [
            j
            for j in range(log.time.size)
            if log.card[j] == log.card[i] and log.time[j] < log.time[i]
        ]
        in_5min = [j for j in earlier if log.time[j] >= log.time[i] - 300]
        in_1h = [j for j in earlier if log.time[j] >= log.time[i] - 3_600]
        # The latest earlier payment; among equal times, the later row (stable sort).
        last = max(earlier, key=lambda j: (log.time[j], j)) if earlier else None
        gap_h = (log.time[i] - log.time[last]) / 3_600 if earlier else 30 * 24
        km = (
            np.hypot(log.x_km[i] - log.x_km[last], log.y_km[i] - log.y_km[last])
            if earlier
            else 0.0
        )
        usual = np.mean([log.amount[j] for j in earlier]) if earlier else None
        other_cards_on_device = sum(
            1
            for j in range(log.time.size)
            if log.device[j] == log.device[i]
            and log.card[j] != log.card[i]
            and log.time[i] - WEEK <= log.time[j] < log.time[i]
        )
        rows.append(
            {
                "payments_5min": len(in_5min),
                "payments_1h": len(in_1h),
                "amount_1h": sum(log.amount[j] for j in in_1h),
                "hours_since_last": gap_h,
                "km_from_last": km,
                "km_per_hour": km / max(gap_h, 1 / 60),
                "new_merchant": float(
                    all(log.merchant[j] != log.merchant[i] for j in earlier)
                ),
                "amount_vs_usual": log.amount[i] / max(usual, 0.01) if earlier else 1.0,
                "payments_before": len(earlier),
                "device_other_cards_7d": other_cards_on_device,
            }
        )
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def random_log(
    rng: np.random.Generator,
    card: np.ndarray,
    time: np.ndarray,
    merchants: int,
    devices: int = 3,
) -> fl.Payments:
    """Legitimate payments at the given cards and times, the rest drawn at random."""
    n = len(card)
    return fl.Payments(
        card=card,
        time=time,
        amount=rng.uniform(1, 50, n).round(2),
        merchant=rng.integers(0, merchants, n),
        device=rng.integers(0, devices, n),
        x_km=rng.uniform(0, 100, n),
        y_km=rng.uniform(0, 100, n),
        fraud_kind=np.zeros(n, dtype=int),
        report_delay_days=np.full(n, np.inf),
    )


def assert_features_match_the_replay(log: fl.Payments) -> None:
    fast, slow = features_of(log), brute_force_features(log)
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("seed", [1, 2])
def test_vectorised_features_match_a_brute_force_replay(seed):
    log = small_log(seed)
    assert 300 < log.time.size < 2_000  # small enough for the O(n^2) replay
    fast, slow = features_of(log), brute_force_features(log)
    assert fast.keys() == slow.keys()
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, err_msg=name)
    # The replay is only a check if the device feature is not all zeros.
    assert slow["device_other_cards_7d"].max() >= 2


def test_window_counts_match_the_streaming_counter_of_the_framework():
    log = small_log(3)
    # The framework's online counter reads [t - 300, t) before the event is seen.
    online = online_window_counts(log.card, log.time, log.card, log.time, 300.0)
    np.testing.assert_array_equal(features_of(log)["payments_5min"], online)


def test_ties_and_row_order_do_not_change_the_features():
    # Two payments on card 7 at the same second: neither is "before" the other.
    card = np.array([7, 7, 7, 3])
    time = np.array([100, 100, 250, 100])
    amount, merchant = np.array([5.0, 9.0, 20.0, 1.0]), np.array([1, 2, 1, 1])
    device = np.array([4, 4, 4, 4])  # one device shared by cards 7 and 3
    xy = np.zeros(4)
    f = fs.velocity_features(card, time, amount, merchant, device, xy, xy)
    assert f["payments_5min"].tolist() == [0, 0, 2, 0]
    assert f["amount_1h"].tolist() == [0, 0, 14, 0]
    assert f["new_merchant"].tolist() == [1, 1, 0, 1]
    assert f["device_other_cards_7d"].tolist() == [0, 0, 1, 0]
    shuffle = np.array([3, 2, 0, 1])
    g = fs.velocity_features(
        card[shuffle], time[shuffle], amount[shuffle], merchant[shuffle],
        device[shuffle], xy, xy,
    )  # fmt: skip
    for name in f:
        np.testing.assert_allclose(g[name], f[name][shuffle], err_msg=name)


def test_features_are_point_in_time_the_future_changes_nothing():
    log = small_log(4)
    past = log.time <= np.median(log.time)
    full = features_of(log)
    columns = (log.card, log.time, log.amount, log.merchant, log.device)
    truncated = fs.velocity_features(
        *(col[past] for col in columns), log.x_km[past], log.y_km[past]
    )
    for name in full:
        np.testing.assert_allclose(truncated[name], full[name][past], err_msg=name)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"card": np.array([1.5, 2.0])}, TypeError, "card must hold integers"),
        ({"time": np.array([1.0, 2.0])}, TypeError, "time must hold integers"),
        ({"device": np.array([1.0, 2.0])}, TypeError, "device must hold integers"),
        ({"amount": np.array([1.0, np.nan])}, ValueError, "finite"),
        ({"amount": np.array([1.0, -2.0])}, ValueError, "non-negative"),
        ({"merchant": np.array([1, 2, 3])}, ValueError, "same length"),
    ],
)
def test_bad_payment_logs_raise_clear_errors(change, error, message):
    columns = {
        "card": np.array([1, 2]),
        "time": np.array([10, 20]),
        "amount": np.array([1.0, 2.0]),
        "merchant": np.array([5, 6]),
        "device": np.array([8, 9]),
        "x_km": np.zeros(2),
        "y_km": np.zeros(2),
    } | change
    with pytest.raises(error, match=message):
        fs.velocity_features(**columns)


def test_other_bad_inputs():
    empty = np.array([], dtype=int)
    with pytest.raises(ValueError, match="empty"):
        fs.velocity_features(*[empty] * 7)
    with pytest.raises(ValueError, match="capacity"):
        fs.review_band(np.array([0.5]), np.array([False]), capacity=-1)
    with pytest.raises(ValueError, match="delay_s"):
        one = np.array([1])
        fs.card_blocks(one, one, one, np.array([True]), delay_s=-1)
    with pytest.raises(ValueError, match="both declined and reviewed"):
        fs.decision_outcome([1], [10.0], [True], [True])
    with pytest.raises(ValueError, match="align"):
        fs.decision_outcome([1, 0], [10.0], [True, False])
    with pytest.raises(ValueError, match="one value per payment"):
        fs.model_inputs(np.ones(3), {"payments_5min": np.ones(2)})


def test_a_review_blocks_only_the_later_fraud_on_its_card():
    card = np.array([1, 1, 1, 1, 2, 2])
    time = np.array([0, 600, 4_000, 9_000, 0, 5_000])
    is_fraud = np.array([1, 1, 1, 0, 1, 1])
    reviewed = np.array([True, False, False, False, False, False])
    blocked = fs.card_blocks(card, time, is_fraud, reviewed, delay_s=3_600)
    # The reviewed payment went through; the one 10 minutes later too (the analyst
    # had not finished); the one after the block is stopped; card 2 is untouched;
    # the cardholder's own later payment is not counted as blocked fraud.
    assert blocked.tolist() == [False, False, True, False, False, False]
    # A reviewed legitimate payment blocks nothing.
    none = fs.card_blocks(card, time, is_fraud, np.roll(reviewed, 3), 3_600)
    assert not none.any()


def test_an_instant_block_never_stops_the_reviewed_payment_itself():
    # Review is after authorisation: with no delay, the confirmed fraud went
    # through, a fraud at the same second too, and only strictly later ones stop.
    card = np.array([1, 1, 1, 2])
    time = np.array([0, 0, 100, 100])
    is_fraud = np.array([1, 1, 1, 1])
    reviewed = np.array([True, False, False, False])
    blocked = fs.card_blocks(card, time, is_fraud, reviewed, delay_s=0)
    assert blocked.tolist() == [False, False, True, False]
    # Two frauds on one card, the first confirmed at once: only the second stops.
    two = fs.card_blocks(
        np.array([1, 1]), np.array([0, 100]), np.ones(2, int), np.array([1, 0]) == 1, 0
    )
    assert two.tolist() == [False, True]


def test_card_blocks_match_a_loop_on_a_simulated_window():
    log = small_log(5)
    rng = np.random.default_rng(0)
    reviewed = rng.random(log.time.size) < 0.5
    delay_s = 60
    fast = fs.card_blocks(log.card, log.time, log.is_fraud, reviewed, delay_s)
    slow = [
        bool(log.is_fraud[i])
        and any(
            reviewed[j]
            and log.is_fraud[j]
            and log.card[j] == log.card[i]
            and log.time[i] > log.time[j] + delay_s
            for j in range(log.time.size)
        )
        for i in range(log.time.size)
    ]
    assert fast.tolist() == slow and any(slow)


def test_the_gbdt_without_interactions_is_a_sum_of_one_feature_functions():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2_000, 3))
    y = ((X[:, 0] > 0) & (X[:, 1] > 0)).astype(int)  # an interaction, on purpose
    flat = fs.fit_gbdt(X, y, interactions=False)
    full = fs.fit_gbdt(X, y)
    # Additive: the mixed difference over any two features is zero.
    a, b = X[:200], X[200:400]
    swap0, swap1 = a.copy(), a.copy()
    swap0[:, 0], swap1[:, 1] = b[:, 0], b[:, 1]
    both = swap0.copy()
    both[:, 1] = b[:, 1]

    def mixed(model):
        f = model.decision_function
        return f(a) - f(swap0) - f(swap1) + f(both)

    assert np.abs(mixed(flat)).max() < 1e-9
    assert np.abs(mixed(full)).max() > 1.0, "the full GBDT does learn the interaction"


def test_decision_outcome_adds_up_the_money():
    is_fraud = np.array([1, 1, 0, 0, 1])
    amount = np.array([100.0, 50.0, 20.0, 30.0, 10.0])
    declined = np.array([True, False, True, False, False])
    scores = np.array([0.9, 0.6, 0.8, 0.1, 0.2])
    review = fs.review_band(scores, declined, capacity=1)
    assert review.tolist() == [False, True, False, False, False]
    blocked = np.array([False, False, False, False, True])  # a later card block
    out = fs.decision_outcome(is_fraud, amount, declined, review, blocked, 10.0, 4.0)
    # Missed: the reviewed $50 fraud (review comes after authorisation); one false
    # decline ($10); one review ($4). The blocked $10 fraud is stopped.
    assert out.cost == pytest.approx(50 + 10 + 4)
    approved = 50.0 + 30.0  # not declined and not blocked
    assert out.loss_bps == pytest.approx(50 / approved * 1e4)
    assert (out.precision, out.recall) == (0.5, pytest.approx(2 / 3))


def test_the_new_merchant_flag_is_a_signal_not_a_label():
    # Stolen cards are used at merchants the card already knew, and good customers
    # try new ones: the flag must overlap, or the miniature hands the model the answer.
    log = fl.simulate_payments(n_cards=600, days=60, seed=6)
    new = features_of(log)["new_merchant"]
    seasoned = log.time > 20 * 86_400  # after the cards have a history
    stolen = np.isin(log.fraud_kind, [fl.BURST, fl.SINGLE])
    legit_rate = new[seasoned & (log.is_fraud == 0)].mean()
    stolen_rate = new[seasoned & stolen].mean()
    assert 0.05 < legit_rate < 0.4
    assert 0.5 < stolen_rate < 0.93


def test_huge_time_spans_take_the_stable_sort_and_agree_with_the_replay():
    # Times this far apart overflow the fast unique key, so the stable sort runs.
    rng = np.random.default_rng(8)
    n = 40
    time = np.sort(rng.integers(0, 10**17, n))
    time[5:8] = time[5]  # ties at one second, on one card
    card = rng.integers(0, 3, n)
    card[5:8] = 1
    assert_features_match_the_replay(random_log(rng, card, time, merchants=4))


class _FixedModel:
    """Stands in for a fitted classifier: returns the scores it was given."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([1 - self.scores[: len(X)], self.scores[: len(X)]])


def test_downsampling_keeps_every_fraud_and_undoes_the_prior_shift():
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(1_000, 2)), (rng.random(1_000) < 0.05).astype(int)
    draws, seen = rng.random(1_000), {}

    def fit(X_fit: np.ndarray, y_fit: np.ndarray) -> _FixedModel:
        seen["y"] = y_fit
        return _FixedModel(np.linspace(0.01, 0.99, len(X_fit)))

    model = fs.fit_downsampled(fit, X, y, 0.3, draws)
    assert seen["y"].sum() == y.sum(), "every fraud is kept"
    assert (seen["y"] == 0).sum() == ((y == 0) & (draws < 0.3)).sum()
    # Bayes' rule, negatives kept at rate b: odds fall by b, q = b p / (1 - p + b p).
    p = np.linspace(0.01, 0.99, len(seen["y"]))[:50]
    np.testing.assert_allclose(model.predict(X[:50]), 0.3 * p / (1 - p + 0.3 * p))


def test_downsampled_logistic_regression_is_calibrated_after_the_correction():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(60_000, 1))
    y = (rng.random(60_000) < 1 / (1 + np.exp(-(3 * X[:, 0] - 5)))).astype(int)
    model = fs.fit_downsampled(fs.fit_logistic, X, y, 0.2, rng.random(60_000))
    raw = model.model.predict_proba(X)[:, 1]
    assert raw.mean() > 1.5 * y.mean(), "the sample's probabilities are inflated"
    assert model.predict(X).mean() == pytest.approx(y.mean(), rel=0.05)


def test_downsampling_rejects_bad_input():
    X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="negative_rate"):
        fs.fit_downsampled(fs.fit_logistic, X, y, 0.0, np.zeros(4))
    with pytest.raises(ValueError, match="one row per payment"):
        fs.fit_downsampled(fs.fit_logistic, X, y, 0.5, np.zeros(3))


def test_many_ties_keep_the_replay_order():
    # Hundreds of payments on a few seconds: the latest earlier payment among
    # equal times must be the later row, whatever the sort does with ties.
    rng = np.random.default_rng(11)
    n = 400
    card, time = rng.integers(0, 3, n), np.sort(rng.integers(0, 6, n)) * 100
    assert_features_match_the_replay(
        random_log(rng, card, time, merchants=5, devices=4)
    )
