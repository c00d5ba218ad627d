"""Fraud miniature: point-in-time features, the design claims, the page's numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output

from snippets.common import estimation
from snippets.framework.features import online_window_counts
from snippets.problems import fraud_detection as fd
from snippets.problems import fraud_detection_labels as fl

PAGE = "problems/fraud-detection.md"
MODULE = "snippets.problems.fraud_detection"


def small_log(seed: int = 1) -> fl.Payments:
    return fl.simulate_payments(n_cards=40, days=20, seed=seed)


def features_of(log: fl.Payments) -> dict[str, np.ndarray]:
    return fd.velocity_features(
        log.card, log.time, log.amount, log.merchant, log.x_km, log.y_km
    )


def brute_force_features(log: fl.Payments) -> dict[str, np.ndarray]:
    """One payment at a time, looking only at the card's strictly earlier payments."""
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
            }
        )
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


@pytest.mark.parametrize("seed", [1, 2])
def test_vectorised_features_match_a_brute_force_replay(seed):
    log = small_log(seed)
    assert 300 < log.time.size < 2_000  # small enough for the O(n^2) replay
    fast, slow = features_of(log), brute_force_features(log)
    assert fast.keys() == slow.keys()
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, err_msg=name)


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
    xy = np.zeros(4)
    f = fd.velocity_features(card, time, amount, merchant, xy, xy)
    assert f["payments_5min"].tolist() == [0, 0, 2, 0]
    assert f["amount_1h"].tolist() == [0, 0, 14, 0]
    assert f["new_merchant"].tolist() == [1, 1, 0, 1]
    shuffle = np.array([3, 2, 0, 1])
    g = fd.velocity_features(
        card[shuffle], time[shuffle], amount[shuffle], merchant[shuffle], xy, xy
    )
    for name in f:
        np.testing.assert_allclose(g[name], f[name][shuffle], err_msg=name)


def test_features_are_point_in_time_the_future_changes_nothing():
    log = small_log(4)
    cutoff = np.median(log.time)
    past = log.time <= cutoff
    full = features_of(log)
    truncated = fd.velocity_features(
        *(col[past] for col in (log.card, log.time, log.amount, log.merchant)),
        log.x_km[past],
        log.y_km[past],
    )
    for name in full:
        np.testing.assert_allclose(truncated[name], full[name][past], err_msg=name)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"card": np.array([1.5, 2.0])}, TypeError, "card must hold integers"),
        ({"time": np.array([1.0, 2.0])}, TypeError, "time must hold integers"),
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
        "x_km": np.zeros(2),
        "y_km": np.zeros(2),
    } | change
    with pytest.raises(error, match=message):
        fd.velocity_features(**columns)


def test_other_bad_inputs():
    empty = np.array([], dtype=int)
    with pytest.raises(ValueError, match="empty"):
        fd.velocity_features(empty, empty, empty, empty, empty, empty)
    with pytest.raises(ValueError, match="at least 10"):
        fl.simulate_payments(n_cards=3)
    with pytest.raises(ValueError, match="ages_days"):
        fl.reported_within(small_log(), [-1])
    with pytest.raises(ValueError, match="capacity"):
        fd.review_band(np.array([0.5]), np.array([False]), capacity=-1)
    with pytest.raises(ValueError, match="both declined and reviewed"):
        fd.decision_outcome([1], [10.0], [True], [True])
    with pytest.raises(ValueError, match="align"):
        fd.decision_outcome([1, 0], [10.0], [True, False])
    with pytest.raises(ValueError, match="one value per payment"):
        fd.model_inputs(np.ones(3), {"payments_5min": np.ones(2)})


def test_labels_arrive_late_and_only_ever_grow():
    log = small_log()
    shares = [log.labels_known_at(day).sum() for day in (5, 20, 60, 1e9)]
    assert shares == sorted(shares) and shares[0] < shares[-1]
    np.testing.assert_array_equal(log.labels_known_at(np.inf), log.is_fraud)
    # Fraud reported after a payment can never be known before the payment.
    assert log.labels_known_at(0).sum() == 0
    curve = fl.reported_within(log, [0, 7, 30, 1e9])
    for values in curve.values():
        assert values == sorted(values) and values[-1] == 1.0


def test_decision_outcome_adds_up_the_money():
    is_fraud = np.array([1, 1, 0, 0, 1])
    amount = np.array([100.0, 50.0, 20.0, 30.0, 10.0])
    declined = np.array([True, False, True, False, False])
    scores = np.array([0.9, 0.6, 0.8, 0.1, 0.2])
    review = fd.review_band(scores, declined, capacity=1)
    assert review.tolist() == [False, True, False, False, False]
    out = fd.decision_outcome(is_fraud, amount, declined, review, 10.0, 4.0)
    # Missed: only the $10 fraud; one false decline ($10); one review ($4).
    assert out.cost == pytest.approx(10 + 10 + 4)
    assert out.loss_bps == pytest.approx(10 / amount.sum() * 1e4)
    assert (out.precision, out.recall) == (0.5, pytest.approx(2 / 3))


def test_estimates_come_from_the_shared_estimation_functions():
    est = fd.estimate_capacity()
    assert est["peak_tps"] == pytest.approx(estimation.peak_qps(50e6, 2, 3))
    stages = [v for k, v in est.items() if k.startswith("stage:")]
    assert est["headroom_ms"] == pytest.approx(est["budget_ms"] - sum(stages))
    assert est["headroom_ms"] > 0, "the stages must fit in the budget"


def numbers_after(out: str, label: str, section: str = "") -> list[str]:
    """Numeric fields of the first line starting with `label` after `section`."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if section in line)
    for line in lines[start:]:
        if line.strip().startswith(label):
            fields = line.strip()[len(label) :].split()
            return [f for f in fields if re.fullmatch(r"[\d,.]+%?", f)]
    raise AssertionError(f"no line starting with {label!r}")


RANKING = "Ranking on the test window"


def value(field: str) -> float:
    return float(field.replace(",", "").rstrip("%"))


@pytest.fixture(scope="module")
def out() -> str:
    return module_output(MODULE)


def test_design_claims_hold_in_the_miniature(out):
    prevalence, _ = numbers_after(out, "random (prevalence)", RANKING)
    rules = numbers_after(out, "rules ", RANKING)
    logistic = numbers_after(out, "logistic regression", RANKING)
    gbdt = numbers_after(out, "GBDT ", RANKING)
    # GBDT >= logistic >= rules > random on PR-AUC, the metric that matters here.
    assert value(gbdt[0]) >= value(logistic[0]) > value(rules[0]) > value(prevalence)
    # ROC-AUC flatters: both models look near-perfect while PR-AUC tells them apart.
    assert min(value(logistic[1]), value(gbdt[1])) > 0.95
    assert value(gbdt[0]) - value(logistic[0]) > value(gbdt[1]) - value(logistic[1])

    threshold = re.search(r"swept on validation (\d\.\d+)", out)[1]
    tuned = numbers_after(out, f"GBDT, p >= {threshold}")
    at_half = numbers_after(out, "GBDT, p >= 0.5")
    nothing = numbers_after(out, "approve everything")
    with_review = numbers_after(out, re.search(r"\+ review top \S+", out)[0])
    cost = {"tuned": value(tuned[4]), "0.5": value(at_half[4])}
    assert cost["tuned"] < cost["0.5"] < value(nothing[4])
    assert value(tuned[2]) > value(at_half[2]), "a lower threshold buys recall"
    assert value(with_review[4]) < cost["tuned"], "the review band pays for itself"

    mature = numbers_after(out, "mature (all reported)")
    immature = numbers_after(out, "as of day 75 (immature)")
    matured_window = numbers_after(out, "days 30-44 as of day 75")
    # Immature labels: fewer positives, lower PR-AUC, underestimated probabilities,
    # and the slow-to-report kind of fraud is the one the model forgets.
    assert value(immature[0]) < value(mature[0])
    assert value(immature[1]) < value(matured_window[1]) <= value(mature[1])
    assert value(immature[2]) < 0.6 * value(mature[2])
    assert value(immature[3]) < value(mature[3])


def test_page_quotes_the_numbers_the_code_prints(out):
    assert_page_quotes(PAGE, *numbers_after(out, "peak authorisations per second"))
    assert_page_quotes(PAGE, *numbers_after(out, "online card state, 3 replicas"))
    assert_page_quotes(PAGE, *numbers_after(out, "training log per year"))
    assert_page_quotes(PAGE, *numbers_after(out, "all fraud"))
    assert_page_quotes(PAGE, *numbers_after(out, "single   "))
    for label in ("random (prevalence)", "rules ", "logistic regression", "GBDT "):
        assert_page_quotes(PAGE, *numbers_after(out, label, RANKING))
    threshold = re.search(r"swept on validation (\d\.\d+)", out)[1]
    bayes = re.search(r"Bayes threshold (\d\.\d+)", out)[1]
    assert_page_quotes(PAGE, threshold, bayes)
    for label in (
        "approve everything",
        "rules only",
        "GBDT, p >= 0.5",
        f"GBDT, p >= {threshold}",
        "GBDT, p*amount > c_fp",
        re.search(r"\+ review top \S+", out)[0],
    ):
        assert_page_quotes(PAGE, *numbers_after(out, label))
    for label in ("mature (all reported)", "as of day 75", "days 30-44 as of day 75"):
        assert_page_quotes(PAGE, *numbers_after(out, label))
