"""One sliding-window feature computed online and offline, and a join that leaks.

The feature is "number of the user's events in the 5 minutes before now". Online, a
streaming job keeps a deque of recent event times per user. Offline, a point-in-time
join recomputes the same number for each labelled example from the event log. The two
must agree exactly, or the model is trained on one feature and served another.

Run it: ``python -m snippets.framework.features``.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression

from snippets.concepts.classification_metrics import log_loss, roc_auc

WINDOW_SECONDS = 300.0  # "behaviour in the last 5 minutes"


def _as_log(users: ArrayLike, times: ArrayLike, what: str) -> tuple[np.ndarray, ...]:
    """Return (user ids, timestamps) as arrays, or raise saying what is wrong."""
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
    ev_users, ev_times = _as_log(event_users, event_times, "events")
    q_users, q_times = _as_log(query_users, query_times, "queries")
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
    ev_users, ev_times = _as_log(event_users, event_times, "events")
    lb_users, lb_times = _as_log(label_users, label_times, "labels")
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
    ev_users, ev_times = _as_log(event_users, event_times, "events")
    lb_users, lb_times = _as_log(label_users, label_times, "labels")
    window = _check_window(window)
    table: dict[tuple[int, int], int] = defaultdict(int)
    for user, bucket in zip(ev_users, np.floor(ev_times / window), strict=True):
        table[int(user), int(bucket)] += 1
    # The bucket holding t also holds events after t: up to a window of the future.
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
    followed by a rapid run of further charges. Before the request, positives are
    only slightly busier than everyone else, so the honest feature is a weak signal.
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
    }


def leak_report(data: dict[str, np.ndarray]) -> dict[str, float]:
    """Train on each version of the feature (earlier half), score the later half."""
    log = (data["event_users"], data["event_times"])
    keys = (data["label_users"], data["label_times"])
    honest = point_in_time_window_counts(*log, *keys)
    leaky = bucket_join_window_counts(*log, *keys)
    labels = data["labels"]
    order = np.argsort(data["label_times"])  # time-based split, never random
    train, test = order[: order.size // 2], order[order.size // 2 :]

    def fit(feature: np.ndarray) -> LogisticRegression:
        return LogisticRegression().fit(np.log1p(feature[train, None]), labels[train])

    def scores(model: LogisticRegression, feature: np.ndarray) -> np.ndarray:
        return model.predict_proba(np.log1p(feature[test, None]))[:, 1]

    leaky_model, honest_model = fit(leaky), fit(honest)
    served = scores(leaky_model, honest)  # production computes the honest value
    return {
        "offline_auc_leaky": roc_auc(labels[test], scores(leaky_model, leaky)),
        "online_auc_leaky_model": roc_auc(labels[test], served),
        "offline_auc_honest": roc_auc(labels[test], scores(honest_model, honest)),
        "online_logloss_leaky_model": log_loss(labels[test], served),
        "online_logloss_honest": log_loss(labels[test], scores(honest_model, honest)),
        "mean_count_positive_leaky": float(leaky[labels == 1].mean()),
        "mean_count_positive_honest": float(honest[labels == 1].mean()),
        "mean_count_negative": float(honest[labels == 0].mean()),
        "disagreeing_rows": float(np.mean(leaky != honest)),
    }
    # --8<-- [end:simulate]


def main() -> None:
    data = simulate_sessions()
    log = (data["event_users"], data["event_times"])
    keys = (data["label_users"], data["label_times"])
    online = online_window_counts(*log, *keys)
    offline = point_in_time_window_counts(*log, *keys)
    print(
        f"{data['event_times'].size:,} events, {data['labels'].size:,} labelled "
        f"requests, {data['labels'].mean():.1%} positive"
    )
    print(
        f"online deque == point-in-time join on every row: {(online == offline).all()}"
    )
    r = leak_report(data)
    print(f"naive bucket join disagrees on {r['disagreeing_rows']:.1%} of rows")
    print(
        "mean 5-min count, positives: "
        f"{r['mean_count_positive_honest']:.2f} point-in-time, "
        f"{r['mean_count_positive_leaky']:.2f} bucket join "
        f"(negatives {r['mean_count_negative']:.2f})"
    )
    print()
    print("model trained on     scored on        ROC-AUC  log loss")
    print(f"bucket join (leaky)  bucket join        {r['offline_auc_leaky']:.3f}")
    print(
        f"bucket join (leaky)  served features    {r['online_auc_leaky_model']:.3f}"
        f"     {r['online_logloss_leaky_model']:.3f}"
    )
    print(
        f"point-in-time        served features    {r['offline_auc_honest']:.3f}"
        f"     {r['online_logloss_honest']:.3f}"
    )


if __name__ == "__main__":
    main()
