"""One sliding-window feature computed online and offline, and two joins that leak.

The feature is "number of the user's events in the 5 minutes before now". Online, a
streaming job keeps a deque of recent event times per user. Offline, a point-in-time
join recomputes the same number for each labelled example from the event log. The two
must agree exactly, or the model is trained on one feature and served another. A batch
table joins correctly only on the time each value became available, not the time it
describes. The last part sizes "log and wait".

Run it: ``python -m snippets.framework.features``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression

from snippets.common.estimation import human_bytes, storage_bytes
from snippets.concepts.classification_metrics import log_loss, roc_auc

WINDOW_SECONDS = 300.0  # "behaviour in the last 5 minutes"
SEEDS = range(10)  # the leak demo's headline is reported over these seeds


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


def _as_rows(
    keys: ArrayLike, times: ArrayLike, values: ArrayLike
) -> tuple[np.ndarray, ...]:
    row_keys, row_times = _as_log(keys, times, "feature rows")
    row_values = np.asarray(values, dtype=float)
    if row_values.shape != row_times.shape:
        raise ValueError("row_values must hold one value per feature row")
    return row_keys, row_times, row_values


# --8<-- [start:as-of]
def as_of_join(
    row_keys: ArrayLike,
    row_times: ArrayLike,
    row_values: ArrayLike,
    query_keys: ArrayLike,
    query_times: ArrayLike,
    inclusive: bool = False,
) -> np.ndarray:
    """Per query, the value of its key's latest row timed before it (NaN if none).

    Pass as row_times the time each value became available to serving (landed in
    the store), not the time it describes. inclusive=True also takes a row timed
    exactly at the query, which is Feast's rule (feature timestamp <= entity's).
    """
    keys, times, values = _as_rows(row_keys, row_times, row_values)
    q_keys, q_times = _as_log(query_keys, query_times, "queries")
    joined = np.full(q_times.size, np.nan)
    for key in np.unique(q_keys):
        mine = np.flatnonzero(keys == key)
        mine = mine[np.argsort(times[mine], kind="stable")]
        rows = np.flatnonzero(q_keys == key)
        side = "right" if inclusive else "left"
        latest = np.searchsorted(times[mine], q_times[rows], side=side) - 1
        found = latest >= 0
        joined[rows[found]] = values[mine[latest[found]]]
    return joined


def hourly_count_table(
    event_users: ArrayLike, event_times: ArrayLike, lag: float, period: float = 3600.0
) -> dict[str, np.ndarray]:
    """A batch table: each user's events per hour, landing `lag` after the hour ends."""
    users, times = _as_log(event_users, event_times, "events")
    if users.size == 0 or users.min() < 0 or times.min() < 0:
        raise ValueError("events must be non-empty, with ids and times >= 0")
    if lag < 0 or not period > 0:
        raise ValueError("lag must be >= 0 and period > 0 seconds")
    n_users, n_periods = int(users.max()) + 1, int(times.max() // period) + 1
    slot = users * n_periods + (times // period).astype(int)
    hour_end = np.tile((np.arange(n_periods) + 1) * period, n_users)
    return {
        "user": np.repeat(np.arange(n_users), n_periods),
        "count": np.bincount(slot, minlength=n_users * n_periods).astype(float),
        "describes_until": hour_end,  # the value's event time
        "available_at": hour_end + lag,  # when the job's output reaches serving
    }
    # --8<-- [end:as-of]


def online_store_reads(
    row_keys: ArrayLike,
    available_at: ArrayLike,
    row_values: ArrayLike,
    query_keys: ArrayLike,
    query_times: ArrayLike,
) -> np.ndarray:
    """Replay writes and reads in time order: what an online store returned."""
    keys, times, values = _as_rows(row_keys, available_at, row_values)
    q_keys, q_times = _as_log(query_keys, query_times, "queries")
    # At equal times the read is served before the write lands, as in the counter.
    timeline = sorted(
        [(t, 1, i) for i, t in enumerate(times)]
        + [(t, 0, i) for i, t in enumerate(q_times)]
    )
    store: dict[int, float] = {}
    reads = np.full(q_times.size, np.nan)
    for _, is_write, i in timeline:
        if is_write:
            store[int(keys[i])] = float(values[i])
        else:
            reads[i] = store.get(int(q_keys[i]), np.nan)
    return reads


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
    models = {}
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
    return {
        "models": models,
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


# --8<-- [start:log-size]
def feature_log_bytes_per_day(
    requests_per_day: float,
    rows_per_request: float,
    features_per_row: int,
    bytes_per_feature: int = 4,  # float32
    request_sample_rate: float = 1.0,
) -> float:
    """Bytes a day to log the feature vectors served to a sample of requests."""
    if not 0 < request_sample_rate <= 1:
        raise ValueError(
            f"request_sample_rate must be in (0, 1], got {request_sample_rate}"
        )
    rows = requests_per_day * request_sample_rate * rows_per_request
    return storage_bytes(rows, features_per_row * bytes_per_feature)


# Assumptions, not measurements: a large feed or video recommender.
REQUESTS_PER_DAY = 1e9  # e.g. 100M daily users x 10 ranking requests
CANDIDATES_RANKED = 500  # scored by the ranker per request
ITEMS_SHOWN = 20  # of which the user is shown
FEATURES_PER_CANDIDATE = 250
REQUEST_SAMPLE = 0.01  # share of requests whose full candidate list is logged


def log_and_wait_sizes() -> dict[str, float]:
    """Feature-log volume a day: log everything, or only what training needs."""
    plans = {  # what is logged: (rows per request, share of requests)
        "every candidate of every request": (CANDIDATES_RANKED, 1.0),
        f"the {ITEMS_SHOWN} items shown per request": (ITEMS_SHOWN, 1.0),
        f"all candidates of {REQUEST_SAMPLE:.0%} of requests": (
            CANDIDATES_RANKED,
            REQUEST_SAMPLE,
        ),
    }
    return {
        plan: feature_log_bytes_per_day(
            REQUESTS_PER_DAY, rows, FEATURES_PER_CANDIDATE, request_sample_rate=share
        )
        for plan, (rows, share) in plans.items()
    }
    # --8<-- [end:log-size]


BATCH_LAG_SECONDS = 20 * 60.0  # assumed: the hourly job lands 20 min after the hour


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
    table = hourly_count_table(*log, lag=BATCH_LAG_SECONDS)
    served = online_store_reads(
        table["user"], table["available_at"], table["count"], *keys
    )
    lag_minutes = f"{BATCH_LAG_SECONDS / 60:.0f} min"
    print(f"{f'hourly count table, lands {lag_minutes} after the hour':<44}", end="")
    print(f"{'differs from serving':>30}")
    for clock, label in (
        ("describes_until", "as-of join on the hour it describes"),
        ("available_at", "as-of join on when it landed"),
    ):
        joined = as_of_join(table["user"], table[clock], table["count"], *keys)
        differs = np.mean(~np.isclose(joined, served, equal_nan=True))
        print(f"  {label:<42}{differs:>30.1%}")
    print()
    print(
        f"log and wait: {REQUESTS_PER_DAY / 1e9:.0f}B requests/day, "
        f"{CANDIDATES_RANKED} candidates, {FEATURES_PER_CANDIDATE} float32 features"
    )
    for what, size in log_and_wait_sizes().items():
        print(f"  {what:<42}{human_bytes(size) + ' a day':>30}")


if __name__ == "__main__":
    main()
