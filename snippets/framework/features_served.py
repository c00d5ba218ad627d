"""The value serving saw, reproduced for training: join on availability, or log it.

A batch table of hourly counts lands some minutes after each hour ends. Joined as of
the hour it describes, the training set reads values serving could not yet see;
joined as of the time each value landed, it reads exactly what serving read. The
other route is to log the served values ("log and wait"); the last part sizes every
stream that route has to store.

Run it: ``python -m snippets.framework.features_served``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from snippets.common.estimation import human_bytes, storage_bytes
from snippets.framework.features import check_event_log, simulate_sessions
from snippets.framework.high_level_architecture import (
    HEAVY_CANDIDATES,
    HEAVY_FEATURES,
    LIGHT_CANDIDATES,
    LIGHT_FEATURES,
    SHOWN,
)


def _as_rows(
    keys: ArrayLike, times: ArrayLike, values: ArrayLike
) -> tuple[np.ndarray, ...]:
    row_keys, row_times = check_event_log(keys, times, "feature rows")
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
    q_keys, q_times = check_event_log(query_keys, query_times, "queries")
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
    users, times = check_event_log(event_users, event_times, "events")
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
    q_keys, q_times = check_event_log(query_keys, query_times, "queries")
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


# --8<-- [start:log-size]
def log_bytes_per_day(
    requests_per_day: float,
    rows_per_request: float,
    bytes_per_row: float,
    request_sample_rate: float = 1.0,
) -> float:
    """Bytes a day to log rows_per_request rows for a sample of the requests."""
    if isinstance(request_sample_rate, bool) or not 0 < request_sample_rate <= 1:
        raise ValueError(
            f"request_sample_rate must be in (0, 1], got {request_sample_rate}"
        )
    rows = requests_per_day * request_sample_rate * rows_per_request
    return storage_bytes(rows, bytes_per_row)


# Assumptions, not measurements: the architecture page's recommender, whose
# heavy ranker scores HEAVY_CANDIDATES with HEAVY_FEATURES float32 features each
# and returns SHOWN items; its light ranker scores LIGHT_CANDIDATES.
REQUESTS_PER_DAY = 1e9  # 100M daily users x 10 ranking requests
CANDIDATE_ROW_BYTES = 8 + 4 + 2  # int64 item id, float32 score, int16 rank
IMPRESSION_ROW_BYTES = 32  # ids, position, time and outcome of one shown item
REQUEST_SAMPLE = 0.01  # share of requests whose unshown candidates are logged
# The light ranker's candidates the heavy ranker never sees, in that sample.
UNRANKED = LIGHT_CANDIDATES - HEAVY_CANDIDATES


def log_everything_bytes() -> float:
    """Bytes a day to log the features of every candidate of every request."""
    feature_row = 4 * HEAVY_FEATURES
    return log_bytes_per_day(REQUESTS_PER_DAY, HEAVY_CANDIDATES, feature_row)


def log_plan_bytes() -> dict[str, float]:
    """Bytes a day of each stream of a plan that logs what training needs."""
    feature_row, unshown = 4 * HEAVY_FEATURES, HEAVY_CANDIDATES - SHOWN
    streams = {  # stream: (rows per request, bytes per row, share of requests)
        f"features of the {SHOWN} items shown": (SHOWN, feature_row, 1.0),
        # The sample's shown items are in the line above: count only the others.
        f"features of the other {unshown} candidates, {REQUEST_SAMPLE:.0%} of "
        "requests": (unshown, feature_row, REQUEST_SAMPLE),
        f"id, score and rank of every candidate ({CANDIDATE_ROW_BYTES} B)": (
            HEAVY_CANDIDATES,
            CANDIDATE_ROW_BYTES,
            1.0,
        ),
        f"impressions and labels of the items shown ({IMPRESSION_ROW_BYTES} B)": (
            SHOWN,
            IMPRESSION_ROW_BYTES,
            1.0,
        ),
        # Same sample: the heavy ranker also scores the light ranker's other
        # candidates, off the request path; only their ids and scores are kept.
        f"heavy scores of {UNRANKED:,} more candidates, {REQUEST_SAMPLE:.0%}": (
            UNRANKED,
            CANDIDATE_ROW_BYTES,
            REQUEST_SAMPLE,
        ),
    }
    return {
        stream: log_bytes_per_day(REQUESTS_PER_DAY, rows, size, share)
        for stream, (rows, size, share) in streams.items()
    }


def distillation_sample() -> dict[str, float]:
    """What scoring the sample's other light-ranker candidates costs, and the
    bytes a day of the features it would otherwise have to log."""
    return {
        "extra heavy-ranker compute": REQUEST_SAMPLE * UNRANKED / HEAVY_CANDIDATES,
        "their heavy-ranker features": log_bytes_per_day(
            REQUESTS_PER_DAY, UNRANKED, 4 * HEAVY_FEATURES, REQUEST_SAMPLE
        ),
        "their light-ranker features": log_bytes_per_day(
            REQUESTS_PER_DAY, UNRANKED, 4 * LIGHT_FEATURES, REQUEST_SAMPLE
        ),
    }
    # --8<-- [end:log-size]


BATCH_LAG_SECONDS = 20 * 60.0  # assumed: the hourly job lands 20 min after the hour


def main() -> None:
    data = simulate_sessions(seed=0)
    log = (data["event_users"], data["event_times"])
    keys = (data["label_users"], data["label_times"])
    table = hourly_count_table(*log, lag=BATCH_LAG_SECONDS)
    served = online_store_reads(
        table["user"], table["available_at"], table["count"], *keys
    )
    lag_minutes = f"{BATCH_LAG_SECONDS / 60:.0f} min"
    print(f"seed 0: {keys[0].size:,} requests scored against an hourly count table")
    print(f"{f'hourly count table, lands {lag_minutes} after the hour':<50}", end="")
    print(f"{'differs from serving':>24}")
    for clock, label in (
        ("describes_until", "as-of join on the hour it describes"),
        ("available_at", "as-of join on when it landed"),
    ):
        joined = as_of_join(table["user"], table[clock], table["count"], *keys)
        differs = np.mean(~np.isclose(joined, served, equal_nan=True))
        print(f"  {label:<48}{differs:>24.1%}")
    print()
    print(
        f"log and wait: {REQUESTS_PER_DAY / 1e9:.0f}B requests/day, "
        f"{HEAVY_CANDIDATES} candidates, {SHOWN} shown, "
        f"{HEAVY_FEATURES} float32 features"
    )
    everything = f"{human_bytes(log_everything_bytes())} a day"
    print(f"  {'features of every candidate of every request':<56}{everything:>16}")
    plan = log_plan_bytes()
    print("  a common plan instead:")
    for stream, size in {**plan, "total": sum(plan.values())}.items():
        print(f"    {stream:<54}{human_bytes(size) + ' a day':>16}")
    sample = distillation_sample()
    print(
        f"\ndistilling, {REQUEST_SAMPLE:.0%} of requests: the heavy ranker also "
        f"scores the other {UNRANKED:,}"
    )
    print(f"  heavy-ranker compute: +{sample['extra heavy-ranker compute']:.0%}")
    for kind, why in (
        ("heavy", "to score them offline"),
        ("light", "rather than rebuilt"),
    ):
        size = f"{human_bytes(sample[f'their {kind}-ranker features'])} a day"
        print(f"  {f'their {kind}-ranker features, logged {why}':<56}{size:>16}")


if __name__ == "__main__":
    main()
