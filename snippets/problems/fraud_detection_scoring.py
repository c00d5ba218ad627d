"""What runs inside the authorisation: point-in-time features, models, a policy.

Velocity features are computed from the raw payment log with only the payments
strictly before each one; a logistic regression and a GBDT score them; a policy
turns scores into declines, and analyst reviews after authorisation into card
blocks; every policy is scored in dollars.

Used by ``python -m snippets.problems.fraud_detection``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from snippets.concepts.calibration import correct_downsampled
from snippets.concepts.classification_metrics import precision, recall
from snippets.problems.fraud_detection_labels import DAY


# --8<-- [start:features]
def _check_log(**columns: ArrayLike) -> dict[str, np.ndarray]:
    """Return the columns as 1-D arrays of one length, or raise saying what is wrong."""
    arrays = {name: np.asarray(col) for name, col in columns.items()}
    lengths = {arr.shape for arr in arrays.values()}
    if any(arr.ndim != 1 for arr in arrays.values()) or len(lengths) != 1:
        raise ValueError(f"{', '.join(arrays)} must be 1-D arrays of the same length")
    if next(iter(lengths))[0] == 0:
        raise ValueError("the payment log is empty")
    for name in ("card", "time", "merchant", "device"):
        if not np.issubdtype(arrays[name].dtype, np.integer):
            raise TypeError(f"{name} must hold integers, got {arrays[name].dtype}")
    for name in ("amount", "x_km", "y_km"):
        arrays[name] = arrays[name].astype(float)
        if not np.isfinite(arrays[name]).all():
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    if (arrays["amount"] < 0).any():
        raise ValueError("amount must be non-negative")
    return arrays


def _earlier_in_window(
    time: np.ndarray, window_s: int, *keys: np.ndarray
) -> np.ndarray:
    """Per row: rows with the same keys in [t - window, t), in the caller's order."""
    group = np.zeros(time.size, dtype=np.int64)
    for key in keys:
        ids = key.astype(np.int64) - key.min()  # integers from 0, not a sort
        if ids.max() > 2**31:
            ids = np.unique(key, return_inverse=True)[1]
        group = group * (ids.max() + 1) + ids
        if group.max() > 2**31:  # compact, so the combined key never overflows
            group = np.unique(group, return_inverse=True)[1]
    t = time - time.min()
    span = int(t.max()) + window_s + 1  # a window never reaches the previous group
    key = group.astype(np.int64) * span + t
    order = np.argsort(key)  # ties get equal counts, so any order among them works
    ordered = key[order]  # sorted needles make searchsorted cache-friendly
    counts = np.empty(key.size, dtype=np.int64)
    counts[order] = np.searchsorted(ordered, ordered, side="left") - np.searchsorted(
        ordered, ordered - window_s, side="left"
    )
    return counts


def velocity_features(
    card: ArrayLike,
    time: ArrayLike,
    amount: ArrayLike,
    merchant: ArrayLike,
    device: ArrayLike,
    x_km: ArrayLike,
    y_km: ArrayLike,
) -> dict[str, np.ndarray]:
    """What each card (and device) did strictly before each payment."""
    log = _check_log(
        card=card, time=time, amount=amount, merchant=merchant, device=device,
        x_km=x_km, y_km=y_km,
    )  # fmt: skip
    n, hour = log["time"].size, 3_600
    # One int64 key per row, card * span + time, sorted stably (ties keep input
    # order), turns "same card, earlier than t" into one searchsorted.
    card_id = np.unique(log["card"], return_inverse=True)[1].astype(np.int64)
    t = log["time"] - log["time"].min()
    span = int(t.max()) + hour + 1  # a window never reaches the previous card
    key = card_id * span + t
    if (int(key.max()) + 1) * n < 2**62:  # a unique key sorts fast and stays stable
        order = np.argsort(key * n + np.arange(n))
    else:
        order = np.argsort(key, kind="stable")
    card_id, t, key = card_id[order], t[order], key[order]
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
    ever = int(t.max()) + 1
    seen = _earlier_in_window(log["time"], ever, log["card"], log["merchant"])[order]
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
    # Device sharing: payments from *other* cards on this device in the last week.
    week = 7 * DAY
    on_device = _earlier_in_window(log["time"], week, log["device"])
    same_card = _earlier_in_window(log["time"], week, log["device"], log["card"])
    features["device_other_cards_7d"] = (on_device - same_card).astype(float)
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


def fit_gbdt(
    X: np.ndarray, y: np.ndarray, interactions: bool = True
) -> HistGradientBoostingClassifier:
    """Production model: a histogram GBDT, unweighted log loss.

    With ``interactions=False`` each tree splits on one feature only, so the model
    is a sum of per-feature step functions: the ablation of interactions.
    """
    model = HistGradientBoostingClassifier(
        max_iter=40,
        learning_rate=0.2,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        early_stopping=False,  # deterministic: no random validation split
        random_state=0,
        interaction_cst=None if interactions else "no_interactions",
    )
    return model.fit(X, y)


@dataclass(frozen=True)
class Downsampled:
    """A model trained on every fraud and a share of the legitimate payments."""

    model: Pipeline | HistGradientBoostingClassifier
    negative_rate: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """p(fraud) at the natural rate: the downsampling's prior shift undone."""
        scores = self.model.predict_proba(X)[:, 1]
        return correct_downsampled(scores, self.negative_rate)


def fit_downsampled(
    fit: Callable[[np.ndarray, np.ndarray], Pipeline | HistGradientBoostingClassifier],
    X: np.ndarray,
    y: np.ndarray,
    negative_rate: float,
    draws: np.ndarray,
) -> Downsampled:
    """Keep every positive and the negatives whose uniform draw is below the rate.

    Passing the same draws to every model gives them the same training sample.
    """
    if not 0 < negative_rate <= 1:
        raise ValueError(f"negative_rate must be in (0, 1], got {negative_rate}")
    if not len(X) == len(y) == len(draws):
        raise ValueError("X, y and draws must have one row per payment")
    keep = (y == 1) | (draws < negative_rate)
    return Downsampled(fit(X[keep], y[keep]), negative_rate)
    # --8<-- [end:models]


# --8<-- [start:decide]
@dataclass(frozen=True)
class Outcome:
    """What a decision policy did to a window of payments, in counts and dollars."""

    declined: int
    reviewed: int
    precision: float  # of the declines, the share that were fraud
    recall: float  # of the fraud, the share stopped (declined, or card blocked)
    loss_bps: float  # fraud approved, in basis points of the volume approved
    cost: float  # fraud approved + false declines + analyst reviews, in dollars


def decision_outcome(
    is_fraud: ArrayLike,
    amount: ArrayLike,
    declined: ArrayLike,
    reviewed: ArrayLike | None = None,
    blocked: ArrayLike | None = None,
    cost_false_decline: float = 10.0,
    cost_review: float = 4.0,
) -> Outcome:
    """Score a policy: a missed fraud costs its amount (the issuer is liable, assumed),
    a false decline a fixed fee, a review its analyst time."""
    fraud = np.asarray(is_fraud).astype(bool)
    dollars = np.asarray(amount, dtype=float)
    decline = np.asarray(declined, dtype=bool)
    none = np.zeros_like(decline)
    review = none if reviewed is None else np.asarray(reviewed, dtype=bool)
    block = none if blocked is None else np.asarray(blocked, dtype=bool)
    if not fraud.shape == dollars.shape == decline.shape == review.shape == block.shape:
        raise ValueError("is_fraud, amount, declined, reviewed and blocked must align")
    if (decline & review).any():
        raise ValueError("a payment cannot be both declined and reviewed")
    stopped = decline | block
    missed = dollars[fraud & ~stopped].sum()
    cost = (
        missed
        + cost_false_decline * np.sum(decline & ~fraud)
        + cost_review * review.sum()
    )
    approved_volume = dollars[~stopped].sum()
    return Outcome(
        declined=int(decline.sum()),
        reviewed=int(review.sum()),
        precision=precision(fraud.astype(int), decline.astype(int)),
        recall=recall(fraud.astype(int), stopped.astype(int)),
        loss_bps=float(missed / approved_volume * 1e4) if approved_volume else 0.0,
        cost=float(cost),
    )
    # --8<-- [end:decide]


# --8<-- [start:review]
def review_band(scores: np.ndarray, declined: np.ndarray, capacity: int) -> np.ndarray:
    """The `capacity` riskiest approved payments go to analysts, after authorisation."""
    if capacity < 0:
        raise ValueError(f"review capacity must be >= 0, got {capacity}")
    candidates = np.flatnonzero(~declined)
    riskiest = candidates[np.argsort(-scores[candidates], kind="stable")[:capacity]]
    band = np.zeros(scores.size, dtype=bool)
    band[riskiest] = True
    return band


def card_blocks(
    card: np.ndarray,
    time: np.ndarray,
    is_fraud: np.ndarray,
    reviewed: np.ndarray,
    delay_s: float,
) -> np.ndarray:
    """Fraud stopped because an analyst confirmed an earlier fraud on the same card.

    Review happens after authorisation: the reviewed payment itself went through.
    A confirmed fraud blocks the card `delay_s` later, which stops its fraud made
    strictly after that moment (the cardholder's own later payments move to the
    replacement card); with no delay the reviewed payment itself still goes through.
    """
    if delay_s < 0:
        raise ValueError(f"delay_s must be >= 0, got {delay_s}")
    card_id = np.unique(card, return_inverse=True)[1]
    confirmed = reviewed & (is_fraud == 1)
    blocked_from = np.full(card_id.max() + 1, np.inf)
    np.minimum.at(blocked_from, card_id[confirmed], time[confirmed] + delay_s)
    return (is_fraud == 1) & (time > blocked_from[card_id])
    # --8<-- [end:review]
