"""One sliding-window feature computed online and offline, and a join that leaks.

The feature is "number of the user's events in the 5 minutes before now". Online, a
streaming job keeps a deque of recent event times per user. Offline, a point-in-time
join recomputes the same number for each labelled example from the event log. The two
must agree exactly, or the model is trained on one feature and served another. A
bucket join that reads past the label time leaks, and a model trained on it learns
weights that serving's honest values do not support.

Run it: ``python -m snippets.framework.features``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression

from snippets.concepts.classification_metrics import log_loss, roc_auc

WINDOW_SECONDS = 300.0  # "behaviour in the last 5 minutes"
SEEDS = range(10)  # the leak demo's headline is reported over these seeds
COUNTS_SHOWN = np.arange(4)  # served counts at which the models' probabilities print


def check_event_log(
    users: ArrayLike, times: ArrayLike, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return (integer ids, float timestamps) as 1-D arrays, or raise saying why not."""
    user_ids = np.asarray(users)
    timestamps = np.asarray(times, dtype=float)
    if user_ids.ndim != 1 or timestamps.ndim != 1:
        raise ValueError(f"{what}: users and times must be 1-D arrays")
    if user_ids.shape != timestamps.shape:
        raise ValueError(
            f"{what}: {user_ids.size} users but {timestamps.size} times; "
            "they must have the same length"
        )
    if user_ids.size and not np.issubdtype(user_ids.dtype, np.integer):
        raise TypeError(f"{what}: user ids must be integers, got {user_ids.dtype}")
    if not np.isfinite(timestamps).all():
        raise ValueError(f"{what}: times must be finite (no NaN or inf)")
    return user_ids, timestamps


def _check_window(window: float) -> float:
    if not window > 0:
        raise ValueError(f"window must be a positive number of seconds, got {window}")
    return float(window)


# --8<-- [start:online]
class StreamingWindowCounter:
    """Per-user count of events in [now - window, now), fed events in time order."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = _check_window(window)
        self._recent: dict[int, deque[float]] = defaultdict(deque)
        self._clock = -np.inf

    def observe(self, user: int, time: float) -> None:
        """Record one event; times must not go backwards (the stream is ordered)."""
        if time < self._clock:
            raise ValueError(
                f"event at t={time} arrived after t={self._clock}: a streaming "
                "counter needs events in time order (buffer to a watermark first)"
            )
        self._clock = time
        self._recent[user].append(time)

    def count(self, user: int, now: float) -> int:
        """Events of `user` in [now - window, now); evicts the ones that fell out."""
        if now < self._clock:
            raise ValueError(f"cannot read at t={now}: already saw t={self._clock}")
        recent = self._recent[user]
        while recent and recent[0] < now - self.window:
            recent.popleft()  # each event is evicted once: O(1) amortised
        return len(recent)


def online_window_counts(
    event_users: ArrayLike,
    event_times: ArrayLike,
    query_users: ArrayLike,
    query_times: ArrayLike,
    window: float = WINDOW_SECONDS,
) -> np.ndarray:
    """Replay the log as a stream; read the counter when each request arrives."""
    ev_users, ev_times = check_event_log(event_users, event_times, "events")
    q_users, q_times = check_event_log(query_users, query_times, "queries")
    counter = StreamingWindowCounter(window)
    # One timeline; at equal times the request is served before the event is seen,
    # so an event never counts towards a prediction made at its own timestamp.
    timeline = sorted(
        [(t, 1, i) for i, t in enumerate(ev_times)]
        + [(t, 0, i) for i, t in enumerate(q_times)]
    )
    counts = np.zeros(q_times.size, dtype=int)
    for time, is_event, i in timeline:
        if is_event:
            counter.observe(int(ev_users[i]), time)
        else:
            counts[i] = counter.count(int(q_users[i]), time)
    return counts
    # --8<-- [end:online]


# --8<-- [start:offline]
def point_in_time_window_counts(
    event_users: ArrayLike,
    event_times: ArrayLike,
    label_users: ArrayLike,
    label_times: ArrayLike,
    window: float = WINDOW_SECONDS,
) -> np.ndarray:
    """For each labelled example, count the user's events in [t - window, t)."""
    ev_users, ev_times = check_event_log(event_users, event_times, "events")
    lb_users, lb_times = check_event_log(label_users, label_times, "labels")
    window = _check_window(window)
    counts = np.zeros(lb_times.size, dtype=int)
    for user in np.unique(lb_users):
        history = np.sort(ev_times[ev_users == user])
        rows = np.flatnonzero(lb_users == user)
        as_of = lb_times[rows]
        # Only events strictly before the label time exist "as of" that time.
        upto = np.searchsorted(history, as_of, side="left")
        since = np.searchsorted(history, as_of - window, side="left")
        counts[rows] = upto - since
    return counts


def bucket_join_window_counts(
    event_users: ArrayLike,
    event_times: ArrayLike,
    label_users: ArrayLike,
    label_times: ArrayLike,
    window: float = WINDOW_SECONDS,
) -> np.ndarray:
    """The naive join: a tumbling-window table joined on the label's own bucket."""
    ev_users, ev_times = check_event_log(event_users, event_times, "events")
    lb_users, lb_times = check_event_log(label_users, label_times, "labels")
    window = _check_window(window)
    table: dict[tuple[int, int], int] = defaultdict(int)
    for user, bucket in zip(ev_users, np.floor(ev_times / window), strict=True):
        table[int(user), int(bucket)] += 1
    # The bucket holding t is wrong at both ends: it runs past t (up to a window of
    # the future) and starts after t - window (it misses the start of the window).
    return np.array(
        [
            table.get((int(user), int(bucket)), 0)
            for user, bucket in zip(lb_users, np.floor(lb_times / window), strict=True)
        ],
        dtype=int,
    )
    # --8<-- [end:offline]


# --8<-- [start:simulate]
def simulate_sessions(
    n_users: int = 2000,
    positive_rate: float = 0.1,
    horizon: float = 6 * 3600.0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Event log plus one labelled request per user; positives burst right after it.

    Think of card testing: a fraudster's first charge (the request we score) is
    followed by a rapid run of further charges. In the 5 minutes before the request
    positives have one extra event on average, about three times the background
    rate: a real but noisy signal. A second honest feature, a static risk score
    known before the request, is one standard deviation higher for positives.
    """
    rng = np.random.default_rng(seed)
    labels = (rng.random(n_users) < positive_rate).astype(int)
    label_times = rng.uniform(WINDOW_SECONDS, horizon - WINDOW_SECONDS, n_users)
    users, times = [], []
    for user in range(n_users):
        background = rng.uniform(0, horizon, rng.poisson(36))  # ~1 event / 10 min
        parts = [background]
        if labels[user]:
            t = label_times[user]
            parts.append(t - rng.uniform(0, WINDOW_SECONDS, rng.poisson(1.0)))
            parts.append(t + rng.exponential(60.0, rng.poisson(6.0)))  # the burst
        stamps = np.concatenate(parts)
        users.append(np.full(stamps.size, user))
        times.append(stamps)
    return {
        "event_users": np.concatenate(users),
        "event_times": np.concatenate(times),
        "label_users": np.arange(n_users),
        "label_times": label_times,
        "labels": labels,
        "risk_score": rng.normal(labels.astype(float), 1.0),  # independent of events
    }


def leak_report(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Train on each version of the count (earlier half), score the later half.

    Two feature sets: the count alone, and the count plus the risk score.
    """
    log = (data["event_users"], data["event_times"])
    keys = (data["label_users"], data["label_times"])
    honest = point_in_time_window_counts(*log, *keys)
    leaky = bucket_join_window_counts(*log, *keys)
    labels = data["labels"]
    order = np.argsort(data["label_times"])  # time-based split, never random
    train, test = order[: order.size // 2], order[order.size // 2 :]
    models, by_count = {}, {}
    for name, extra in (("count only", []), ("count + risk", [data["risk_score"]])):
        leaky_x = np.column_stack([np.log1p(leaky), *extra])
        honest_x = np.column_stack([np.log1p(honest), *extra])
        leaky_model = LogisticRegression().fit(leaky_x[train], labels[train])
        honest_model = LogisticRegression().fit(honest_x[train], labels[train])
        served = leaky_model.predict_proba(honest_x[test])[:, 1]  # serving: honest
        fair = honest_model.predict_proba(honest_x[test])[:, 1]
        models[name] = {
            "offline_auc_leaky": roc_auc(
                labels[test], leaky_model.predict_proba(leaky_x[test])[:, 1]
            ),
            "online_auc_leaky_model": roc_auc(labels[test], served),
            "online_auc_honest": roc_auc(labels[test], fair),
            "online_logloss_leaky_model": log_loss(labels[test], served),
            "online_logloss_honest": log_loss(labels[test], fair),
            "count_weight_leaky": float(leaky_model.coef_[0, 0]),
            "count_weight_honest": float(honest_model.coef_[0, 0]),
            "risk_weight_leaky": float(leaky_model.coef_[0, -1]) if extra else np.nan,
            "risk_weight_honest": float(honest_model.coef_[0, -1]) if extra else np.nan,
        }
        if not extra:  # what each one-feature model says a served count means
            grid = np.log1p(COUNTS_SHOWN)[:, None]
            seen = honest[test]
            by_count = {
                "leaky model": leaky_model.predict_proba(grid)[:, 1],
                "honest model": honest_model.predict_proba(grid)[:, 1],
                "observed rate": np.array(
                    [labels[test][seen == c].mean() for c in COUNTS_SHOWN]
                ),
            }
    return {
        "models": models,
        "probability_by_count": by_count,
        "mean_count_positive_leaky": float(leaky[labels == 1].mean()),
        "mean_count_positive_honest": float(honest[labels == 1].mean()),
        "mean_count_negative": float(honest[labels == 0].mean()),
        "disagreeing_rows": float(np.mean(leaky != honest)),
    }
    # --8<-- [end:simulate]


def over_seeds(reports: list[dict[str, Any]], features: str, metric: str) -> np.ndarray:
    """One model metric across the per-seed leak reports."""
    return np.array([report["models"][features][metric] for report in reports])


def span(values: ArrayLike, fmt: str = ".3f") -> str:
    """min–max of a metric over seeds, as the page quotes it ("-" if undefined)."""
    values = np.asarray(values, dtype=float)
    if np.isnan(values).all():
        return "-"
    return f"{values.min():{fmt}}–{values.max():{fmt}}"


def main() -> None:
    reports = [leak_report(simulate_sessions(seed=seed)) for seed in SEEDS]
    data, first = simulate_sessions(seed=SEEDS[0]), reports[0]
    log = (data["event_users"], data["event_times"])
    keys = (data["label_users"], data["label_times"])
    online = online_window_counts(*log, *keys)
    offline = point_in_time_window_counts(*log, *keys)
    print(
        f"seed 0: {data['event_times'].size:,} events, {data['labels'].size:,} "
        f"labelled requests, {data['labels'].mean():.1%} positive"
    )
    print(
        f"online deque == point-in-time join on every row: {(online == offline).all()}"
    )
    print(f"naive bucket join disagrees on {first['disagreeing_rows']:.1%} of rows")
    print(
        "mean 5-min count: "
        f"positives {first['mean_count_positive_honest']:.2f}, "
        f"negatives {first['mean_count_negative']:.2f}; "
        f"bucket join, positives {first['mean_count_positive_leaky']:.2f}"
    )
    print()
    rows = (
        ("ROC-AUC, leaky model, bucket-join features", "offline_auc_leaky"),
        ("ROC-AUC, leaky model, served features", "online_auc_leaky_model"),
        ("ROC-AUC, honest model, served features", "online_auc_honest"),
        ("log loss, leaky model, served features", "online_logloss_leaky_model"),
        ("log loss, honest model, served features", "online_logloss_honest"),
        ("weight on log(1 + count), leaky model", "count_weight_leaky"),
        ("weight on log(1 + count), honest model", "count_weight_honest"),
        ("weight on the risk score, leaky model", "risk_weight_leaky"),
        ("weight on the risk score, honest model", "risk_weight_honest"),
    )
    families = ("count only", "count + risk")
    header = f"min–max over {len(reports)} seeds"
    print(f"{header:<44}" + "".join(f"{family:>15}" for family in families))
    for label, metric in rows:
        fmt = ".2f" if "weight" in metric else ".3f"
        cells = "".join(
            f"{span(over_seeds(reports, f, metric), fmt):>15}" for f in families
        )
        print(f"{label:<44}{cells}")
    lost = {
        family: over_seeds(reports, family, "online_auc_honest")
        - over_seeds(reports, family, "online_auc_leaky_model")
        for family in families
    }
    cells = "".join(f"{span(lost[f]):>15}" for f in families)
    print(f"{'ROC-AUC the leak costs online':<44}{cells}")
    cells = "".join(
        f"{f'{np.sum(lost[f] > 0)} of {lost[f].size}':>15}" for f in families
    )
    print(f"{'seeds where it costs ROC-AUC':<44}{cells}")
    print()
    seeds = f"min–max over {len(SEEDS)} seeds"
    print(f"P(positive) at a served count, count-only models, {seeds}")
    print(f"{'served count':<16}" + "".join(f"{c:>13}" for c in COUNTS_SHOWN))
    for who in ("leaky model", "honest model", "observed rate"):
        values = np.array([r["probability_by_count"][who] for r in reports])
        print(f"{who:<16}" + "".join(f"{span(v):>13}" for v in values.T))


if __name__ == "__main__":
    main()
