"""Real-time card fraud scoring in miniature: velocity features, GBDT, costs, labels.

A synthetic stream of card payments (seeded) with two kinds of fraud: bursts on
compromised cards, and single card-not-present purchases. Velocity features are
computed point-in-time from the raw stream, a logistic regression and a GBDT are
trained on an earlier window and tested on a later one, the decision threshold comes
from the money each error costs, and training on immature chargeback labels is
compared with training on mature ones.

Run it: ``python -m snippets.problems.fraud_detection``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    storage_bytes,
)
from snippets.concepts.classification_metrics import (
    average_precision,
    bayes_threshold,
    cost_minimising_threshold,
    precision,
    recall,
    roc_auc,
)
from snippets.problems.fraud_detection_labels import (
    DAY,
    SINGLE,
    reported_within,
    simulate_payments,
)


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Peak TPS, online feature-store size and the latency budget, from assumptions."""
    cards, payments_per_card_per_day = 50e6, 2.0  # assumed: a large issuer-processor
    tps = peak_qps(cards, payments_per_card_per_day, peak_to_average=3.0)
    # Per card: ~30 window counters and sums, last location, merchant/device sketches.
    card_state = storage_bytes(cards, bytes_per_item=1_000, replicas=3)
    # Training log: every authorisation with its feature vector, kept for a year.
    log_per_year = storage_bytes(cards * payments_per_card_per_day * 365, 2_000)
    stages_ms = {
        "network and parsing": 5,
        "feature fetch (streaming + batch, in parallel)": 10,
        "rules": 2,
        "GBDT scoring": 5,
        "decision and logging": 3,
    }
    budget_ms = 50.0  # assumed: what the processor gives the fraud check
    return {
        "peak_tps": tps,
        "card_state": human_bytes(card_state),
        "log_per_year": human_bytes(log_per_year),
        "budget_ms": budget_ms,
        "headroom_ms": remaining_budget_ms(budget_ms, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


# --8<-- [start:features]
def _check_log(**columns: ArrayLike) -> dict[str, np.ndarray]:
    """Return the columns as 1-D arrays of one length, or raise saying what is wrong."""
    arrays = {name: np.asarray(col) for name, col in columns.items()}
    lengths = {arr.shape for arr in arrays.values()}
    if any(arr.ndim != 1 for arr in arrays.values()) or len(lengths) != 1:
        raise ValueError(f"{', '.join(arrays)} must be 1-D arrays of the same length")
    if next(iter(lengths))[0] == 0:
        raise ValueError("the payment log is empty")
    for name in ("card", "time", "merchant"):
        if not np.issubdtype(arrays[name].dtype, np.integer):
            raise TypeError(f"{name} must hold integers, got {arrays[name].dtype}")
    for name in ("amount", "x_km", "y_km"):
        arrays[name] = arrays[name].astype(float)
        if not np.isfinite(arrays[name]).all():
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    if (arrays["amount"] < 0).any():
        raise ValueError("amount must be non-negative")
    return arrays


def velocity_features(
    card: ArrayLike,
    time: ArrayLike,
    amount: ArrayLike,
    merchant: ArrayLike,
    x_km: ArrayLike,
    y_km: ArrayLike,
) -> dict[str, np.ndarray]:
    """What each card did strictly before each payment: counts, sums, distance."""
    log = _check_log(
        card=card, time=time, amount=amount, merchant=merchant, x_km=x_km, y_km=y_km
    )
    n, hour = log["time"].size, 3_600
    # Sort card-major, then by time; ties keep input order. One int64 key per row
    # (card * span + time) turns "same card, earlier than t" into one searchsorted.
    order = np.lexsort((np.arange(n), log["time"], log["card"]))
    card_id = np.unique(log["card"], return_inverse=True)[1][order].astype(np.int64)
    t = log["time"][order] - log["time"].min()
    span = int(t.max()) + hour + 1  # a window never reaches the previous card
    key = card_id * span + t
    before = np.searchsorted(key, key, side="left")  # rows strictly earlier
    card_start = np.searchsorted(key, card_id * span, side="left")
    n_prior = before - card_start
    cum_amount = np.r_[0.0, np.cumsum(log["amount"][order])]
    since_5min = np.searchsorted(key, key - 300, side="left")
    since_1h = np.searchsorted(key, key - hour, side="left")
    previous = np.maximum(before - 1, 0)  # the card's latest earlier payment
    has_previous = n_prior > 0
    x, y = log["x_km"][order], log["y_km"][order]
    km = np.where(has_previous, np.hypot(x - x[previous], y - y[previous]), 0.0)
    gap_s = np.where(has_previous, t - t[previous], 30 * DAY)  # no history: long ago
    usual = (cum_amount[before] - cum_amount[card_start]) / np.maximum(n_prior, 1)
    amount_sorted = log["amount"][order]
    # New merchant: no earlier payment with the same (card, merchant) pair.
    merchant_id = np.unique(log["merchant"], return_inverse=True)[1][order]
    pair = card_id * (merchant_id.max() + 1) + merchant_id
    pair_key = pair * span + t
    sorted_pairs = np.sort(pair_key)
    seen = np.searchsorted(sorted_pairs, pair_key, side="left") - np.searchsorted(
        sorted_pairs, pair * span, side="left"
    )
    sorted_features = {
        "payments_5min": (before - since_5min).astype(float),
        "payments_1h": (before - since_1h).astype(float),
        "amount_1h": cum_amount[before] - cum_amount[since_1h],
        "hours_since_last": gap_s / hour,
        "km_from_last": km,
        "km_per_hour": km / np.maximum(gap_s, 60) * hour,  # gap floored at 1 min
        "new_merchant": (seen == 0).astype(float),
        "amount_vs_usual": np.where(
            has_previous, amount_sorted / usual.clip(0.01), 1.0
        ),
        "payments_before": n_prior.astype(float),
    }
    features = {}
    for name, values in sorted_features.items():
        features[name] = np.empty(n)
        features[name][order] = values  # back to the caller's row order
    return features
    # --8<-- [end:features]


# --8<-- [start:models]
def model_inputs(amount: np.ndarray, features: dict[str, np.ndarray]) -> np.ndarray:
    """Feature matrix: log-scaled so a linear model can use heavy-tailed columns."""
    amount = np.asarray(amount, dtype=float)
    if any(np.shape(values) != amount.shape for values in features.values()):
        raise ValueError("every feature must have one value per payment in amount")
    columns = [np.log1p(amount)]
    for name, values in features.items():
        columns.append(values if name == "new_merchant" else np.log1p(values))
    return np.column_stack(columns)


def rule_score(features: dict[str, np.ndarray]) -> np.ndarray:
    """Analyst rules for known patterns: a card test, then a big odd purchase."""
    new_merchant = features["new_merchant"] == 1
    # A tiny payment in the last hour, then a new merchant: testing a stolen card.
    card_test = new_merchant & (features["payments_1h"] >= 1)
    card_test &= features["amount_1h"] < 5
    # Far from the last payment, at a new merchant, three times the usual basket.
    odd_purchase = new_merchant & (features["km_from_last"] > 500)
    odd_purchase &= features["amount_vs_usual"] > 3
    return (card_test | odd_purchase).astype(float)


def fit_logistic(X: np.ndarray, y: np.ndarray) -> Pipeline:
    """Baseline: standardised logistic regression on the same features."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000))
    return model.fit(X, y)


def fit_gbdt(X: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    """Production model: a histogram GBDT on the natural class balance."""
    # No reweighting or downsampling, so the log loss keeps probabilities calibrated.
    model = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        early_stopping=False,  # deterministic: no random validation split
        random_state=0,
    )
    return model.fit(X, y)
    # --8<-- [end:models]


# --8<-- [start:decide]
@dataclass(frozen=True)
class Outcome:
    """What a decision policy did to a window of payments, in counts and dollars."""

    declined: int
    reviewed: int
    precision: float  # of the declines, the share that were fraud
    recall: float  # of the fraud, the share stopped (declined or caught in review)
    loss_bps: float  # fraud approved, in basis points of payment volume
    cost: float  # fraud approved + false declines + analyst reviews, in dollars


def review_band(scores: np.ndarray, declined: np.ndarray, capacity: int) -> np.ndarray:
    """The `capacity` riskiest payments that were not declined go to analysts."""
    if capacity < 0:
        raise ValueError(f"review capacity must be >= 0, got {capacity}")
    candidates = np.flatnonzero(~declined)
    riskiest = candidates[np.argsort(-scores[candidates], kind="stable")[:capacity]]
    band = np.zeros(scores.size, dtype=bool)
    band[riskiest] = True
    return band


def decision_outcome(
    is_fraud: ArrayLike,
    amount: ArrayLike,
    declined: ArrayLike,
    reviewed: ArrayLike | None = None,
    cost_false_decline: float = 10.0,
    cost_review: float = 4.0,
) -> Outcome:
    """Score a policy: a missed fraud costs its amount, a false decline a fixed fee."""
    fraud = np.asarray(is_fraud).astype(bool)
    dollars = np.asarray(amount, dtype=float)
    decline = np.asarray(declined, dtype=bool)
    review = np.zeros_like(decline) if reviewed is None else np.asarray(reviewed, bool)
    if not fraud.shape == dollars.shape == decline.shape == review.shape:
        raise ValueError("is_fraud, amount, declined and reviewed must align")
    if (decline & review).any():
        raise ValueError("a payment cannot be both declined and reviewed")
    stopped = decline | review  # an analyst who sees a fraud stops it (assumed)
    missed = dollars[fraud & ~stopped].sum()
    cost = (
        missed
        + cost_false_decline * np.sum(decline & ~fraud)
        + cost_review * review.sum()
    )
    return Outcome(
        declined=int(decline.sum()),
        reviewed=int(review.sum()),
        precision=precision(fraud.astype(int), decline.astype(int)),
        recall=recall(fraud.astype(int), stopped.astype(int)),
        loss_bps=float(missed / dollars.sum() * 1e4),
        cost=float(cost),
    )
    # --8<-- [end:decide]


# --8<-- [start:demo]
def print_estimates() -> None:
    """The back-of-envelope block of the page."""
    est = estimate_capacity()
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(f"  peak authorisations per second  {est['peak_tps']:>9,.0f}")
    print(f"  online card state, 3 replicas   {est['card_state']:>9}")
    print(f"  training log per year           {est['log_per_year']:>9}")
    print(f"  latency budget {est['budget_ms']:.0f} ms, per stage:")
    for name, ms in est.items():
        if name.startswith("stage:"):
            print(f"    {name[6:]:<46} {ms:>3.0f} ms")
    headroom = "headroom for tail latency and retries"
    print(f"    {headroom:<46} {est['headroom_ms']:>3.0f} ms")


def print_ranking(y_test: np.ndarray, scores: dict[str, np.ndarray]) -> None:
    """PR-AUC and ROC-AUC of each scorer on the test window."""
    print(f"\nRanking on the test window ({y_test.size:,} payments):")
    print(f"{'model':<20} {'PR-AUC':>7} {'ROC-AUC':>7}")
    print(f"{'random (prevalence)':<20} {y_test.mean():>7.3f} {0.5:>7.3f}")
    for name, score in scores.items():
        print(
            f"{name:<20} {average_precision(y_test, score):>7.3f} "
            f"{roc_auc(y_test, score):>7.3f}"
        )


def print_decisions(
    y_valid: np.ndarray,
    p_valid: np.ndarray,
    amount_valid: np.ndarray,
    y_test: np.ndarray,
    p_test: np.ndarray,
    amount_test: np.ndarray,
    rules_test: np.ndarray,
) -> None:
    """Money and errors of each decision policy; thresholds tuned on validation."""
    cost_fp, cost_review, review_share = 10.0, 4.0, 0.002  # assumed costs
    cost_fn = amount_valid[y_valid == 1].mean()  # a missed fraud costs its amount
    threshold, _ = cost_minimising_threshold(
        y_valid, p_valid, cost_fp=cost_fp, cost_fn=cost_fn
    )
    declined = p_test >= threshold
    policies = {
        "approve everything": np.zeros(p_test.size, dtype=bool),
        "rules only": rules_test == 1,
        "GBDT, p >= 0.5": p_test >= 0.5,
        f"GBDT, p >= {threshold:.3f}": declined,
        # Expected loss per payment: decline when p * amount > (1 - p) * c_fp.
        "GBDT, p*amount > c_fp": p_test * amount_test > (1 - p_test) * cost_fp,
    }
    print(
        f"\nDecisions on the test window: false decline ${cost_fp:.0f}, missed "
        f"fraud = its amount\n(validation mean ${cost_fn:.0f}; Bayes threshold "
        f"{bayes_threshold(cost_fp, cost_fn):.3f}, swept on validation {threshold:.3f})"
    )
    print(
        f"{'policy':<25} {'declines':>8} {'precision':>9} {'recall':>6} "
        f"{'loss bps':>8} {'cost $':>7} {'saved $':>7}"
    )
    rows = {
        name: decision_outcome(y_test, amount_test, mask, None, cost_fp)
        for name, mask in policies.items()
    }
    review = review_band(p_test, declined, round(review_share * p_test.size))
    rows[f"  + review top {review_share:.1%}"] = decision_outcome(
        y_test, amount_test, declined, review, cost_fp, cost_review
    )
    baseline = rows["approve everything"].cost
    for name, out in rows.items():
        print(
            f"{name:<25} {out.declined:>8,} {out.precision:>9.3f} {out.recall:>6.3f} "
            f"{out.loss_bps:>8.1f} {out.cost:>7,.0f} {baseline - out.cost:>7,.0f}"
        )


def main() -> None:
    print_estimates()
    log = simulate_payments()
    y, day = log.is_fraud, log.time / DAY
    print(
        f"\nSynthetic stream: {y.size:,} payments on {log.card.max() + 1:,} cards "
        f"over {day.max():.0f} days; fraud {y.mean():.2%}"
    )
    ages = [7, 14, 30, 60, 90]
    print(
        f"{'chargeback arrived within (days)':<33}" + "".join(f"{a:>6}" for a in ages)
    )
    for kind, shares in reported_within(log, ages).items():
        print(f"  {kind:<31}" + "".join(f"{share:>6.2f}" for share in shares))

    features = velocity_features(
        log.card, log.time, log.amount, log.merchant, log.x_km, log.y_km
    )
    # Out of time: warm the features up, then train, validate and test in order.
    train = (day >= 30) & (day < 75)
    early = train & (day < 45)  # the part whose labels have matured by day 75
    later = day >= 75  # validation (days 75-89) and test (90-119)
    valid, test = day[later] < 90, day[later] >= 90
    print(
        "\nSplit by time: warm-up days 0-29, train 30-74, validate 75-89, test 90-119"
    )
    header = "Feature means on the test window"
    print(f"{header:<34} {'legit':>7} {'burst':>7} {'single':>7}")
    kind_test = log.fraud_kind[later][test]
    for name, values in features.items():
        by_kind = [values[later][test][kind_test == k].mean() for k in range(3)]
        print(f"  {name:<32} " + " ".join(f"{v:>7.2f}" for v in by_kind))

    X = model_inputs(log.amount, features)
    known_at_75 = log.labels_known_at(75)
    with threadpool_limits(limits=1):  # a busy 2-core box: extra threads only wait
        logistic = fit_logistic(X[train], y[train])
        trained = {
            "mature (all reported)": (y[train], fit_gbdt(X[train], y[train])),
            "as of day 75 (immature)": (
                known_at_75[train],
                fit_gbdt(X[train], known_at_75[train]),
            ),
            "days 30-44 as of day 75": (
                known_at_75[early],
                fit_gbdt(X[early], known_at_75[early]),
            ),
        }
        p_logistic = logistic.predict_proba(X[later])[:, 1]
        p_gbdt = {
            name: m.predict_proba(X[later])[:, 1] for name, (_, m) in trained.items()
        }
    p_mature = p_gbdt["mature (all reported)"]
    rules = rule_score({name: values[later] for name, values in features.items()})
    y_later = y[later]
    y_test = y_later[test]
    print_ranking(
        y_test,
        {
            "rules": rules[test],
            "logistic regression": p_logistic[test],
            "GBDT": p_mature[test],
        },
    )
    amount = log.amount[later]
    print_decisions(
        y_later[valid], p_mature[valid], amount[valid],
        y_test, p_mature[test], amount[test], rules[test],
    )  # fmt: skip

    print("\nDelayed labels: the same GBDT, labels as the training job saw them")
    print(
        f"{'training labels':<24} {'fraud rate':>10} {'PR-AUC':>7} "
        f"{'mean p/rate':>11} {'single in top 1%':>16}"
    )
    top = round(0.01 * y_test.size)
    single = kind_test == SINGLE
    for name, (labels, _) in trained.items():
        p_test = p_gbdt[name][test]
        ranked = np.argsort(-p_test, kind="stable")[:top]
        print(
            f"{name:<24} {labels.mean():>10.2%} "
            f"{average_precision(y_test, p_test):>7.3f} "
            f"{p_test.mean() / y_test.mean():>11.2f} "
            f"{single[ranked].sum() / single.sum():>16.2f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
