"""Joins keyed on availability read what serving read; log-and-wait streams sized."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.framework import features as ft
from snippets.framework import features_served as fs

PAGE = "framework/features.md"
MODULE = "snippets.framework.features_served"
requests = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 50)), min_size=1, max_size=20
)


def as_arrays(rows):
    users = np.array([u for u, _ in rows], dtype=int)
    times = np.array([t for _, t in rows], dtype=float)
    return users, times


def brute_as_of(keys, times, values, q_keys, q_times, inclusive):
    out = []
    for qk, qt in zip(q_keys, q_times, strict=True):
        visible = [
            i
            for i, (k, t) in enumerate(zip(keys, times, strict=True))
            if k == qk and (t <= qt if inclusive else t < qt)
        ]
        # The latest time wins; among equal times, the row written last.
        best = max(visible, key=lambda i: (times[i], i), default=None)
        out.append(np.nan if best is None else values[best])
    return np.array(out, dtype=float)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 9)), max_size=40
    ),
    requests,
)
def test_as_of_join_equals_brute_force_and_the_online_store(rows, queries):
    keys = np.array([k for k, _, _ in rows], dtype=int)
    times = np.array([t for _, t, _ in rows], dtype=float)
    values = np.array([v for _, _, v in rows], dtype=float)
    q_keys, q_times = as_arrays(queries)
    for inclusive in (False, True):
        np.testing.assert_array_equal(
            fs.as_of_join(keys, times, values, q_keys, q_times, inclusive=inclusive),
            brute_as_of(keys, times, values, q_keys, q_times, inclusive),
        )
    # Keyed on availability, the strict join is exactly what serving read.
    np.testing.assert_array_equal(
        fs.as_of_join(keys, times, values, q_keys, q_times),
        fs.online_store_reads(keys, times, values, q_keys, q_times),
    )


def test_hourly_table_counts_each_hour_and_lands_after_the_lag():
    data = ft.simulate_sessions(n_users=50, seed=1)
    log = (data["event_users"], data["event_times"])
    table = fs.hourly_count_table(*log, lag=600.0)
    hours = int(data["event_times"].max() // 3600) + 1
    for user in (0, 7, 49):
        mine = data["event_times"][data["event_users"] == user]
        expected, _ = np.histogram(mine, bins=np.arange(hours + 1) * 3600.0)
        np.testing.assert_array_equal(table["count"][table["user"] == user], expected)
    np.testing.assert_allclose(table["available_at"] - table["describes_until"], 600.0)
    # Keyed on event time, the join reads hours that serving could not yet see.
    keys = (data["label_users"], data["label_times"])
    served = fs.online_store_reads(
        table["user"], table["available_at"], table["count"], *keys
    )
    early = fs.as_of_join(
        table["user"], table["describes_until"], table["count"], *keys
    )
    on_time = fs.as_of_join(table["user"], table["available_at"], table["count"], *keys)
    np.testing.assert_array_equal(on_time, served)
    assert np.mean(~np.isclose(early, served, equal_nan=True)) > 0.05


def test_log_streams_follow_from_the_assumptions():
    # Independent arithmetic: requests x rows x bytes per row (x the sample share).
    requests_per_day, feature_row = 1e9, 250 * 4
    assert fs.log_everything_bytes() == pytest.approx(1e9 * 500 * feature_row)
    shown, others, ids, impressions, distilled = fs.log_plan_bytes().values()
    assert shown == pytest.approx(requests_per_day * 20 * feature_row)
    # The sample logs the 480 unshown candidates: the 20 shown are not counted twice.
    assert others == pytest.approx(requests_per_day * 0.01 * 480 * feature_row)
    assert shown + others == pytest.approx(
        requests_per_day * (20 + 0.01 * (500 - 20)) * feature_row
    )
    assert ids == pytest.approx(requests_per_day * 500 * (8 + 4 + 2))
    assert impressions == pytest.approx(requests_per_day * 20 * 32)
    # The light ranker's other 9,500 candidates, heavy-scored on the 1% sample.
    assert distilled == pytest.approx(requests_per_day * 0.01 * (10_000 - 500) * 14)


def test_distillation_sample_is_scored_online_far_cheaper_than_logged():
    sample = fs.distillation_sample()
    # 1% of requests x 9,500 more candidates, against 500 on every request.
    assert sample["extra heavy-ranker compute"] == pytest.approx(0.01 * 9_500 / 500)
    assert sample["their heavy-ranker features"] == pytest.approx(
        1e9 * 0.01 * 9_500 * 250 * 4
    )
    assert sample["their light-ranker features"] == pytest.approx(
        1e9 * 0.01 * 9_500 * 50 * 4
    )
    scores = list(fs.log_plan_bytes().values())[-1]
    assert scores < sample["their heavy-ranker features"] / 50


@pytest.mark.parametrize("rate", [0, 1.5, True])
def test_bad_sample_rates_fail_clearly(rate):
    with pytest.raises(ValueError, match="request_sample_rate"):
        fs.log_bytes_per_day(1e9, 500, 1000, request_sample_rate=rate)


def test_bad_rows_fail_clearly():
    with pytest.raises(ValueError, match="one value per feature row"):
        fs.as_of_join([1, 2], [0.0, 1.0], [5.0], [1], [2.0])
    with pytest.raises(ValueError, match="lag"):
        fs.hourly_count_table([1], [0.0], lag=-1.0)
    with pytest.raises(TypeError, match="integers"):
        fs.online_store_reads([0.5], [0.0], [1.0], [1], [2.0])


def _number(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match[1]


def _size(text: str) -> str:
    return re.search(r"(\d+\.\d [kMGT]?B) a day", text).group(1)


def test_pages_quote_the_numbers_the_code_prints():
    output = module_output(MODULE)
    lag_rows = re.findall(r"as-of join on [^\n]*?(\S+%)$", output, re.M)
    assert len(lag_rows) == 2 and lag_rows[1] == "0.0%"
    lines = output.splitlines()
    everything = _size(next(x for x in lines if "every candidate of every" in x))
    start = lines.index("  a common plan instead:") + 1
    end = next(i for i, x in enumerate(lines) if x.strip().startswith("total"))
    plan = [_size(x) for x in lines[start : end + 1]]
    assert len(plan) == 6  # five streams and their total
    total = sum(fs.log_plan_bytes().values())
    assert plan[-1] == f"{total / 1e12:.1f} TB"
    extra = _number(r"heavy-ranker compute: (\+\d+%)", output)
    unranked = _number(r"also scores the other ([\d,]+)", output)
    assert unranked == f"{10_000 - 500:,}"
    offline, light = re.findall(r"features, logged .*?(\d+\.\d [kMGT]?B a day)", output)
    assert_page_quotes(
        PAGE, *lag_rows, everything, *plan, extra, offline, light, f"other {unranked}"
    )
    # The architecture page sizes its candidate log and distillation sample from
    # the same program.
    ids = _size(next(x for x in lines if "id, score and rank" in x))
    scores = _size(next(x for x in lines if "heavy scores of" in x))
    assert_page_quotes(
        "framework/high-level-architecture.md",
        f"{ids} a day",
        f"{everything} a day",
        f"scores, {scores} a day",
        f"{extra} of the",
        f"would take {offline}",
        light,
        f"the other {unranked} the light",
    )
