"""The streaming counter and the point-in-time join agree; the bucket join leaks."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.framework import features as ft

PAGE = "framework/features.md"

# Integer-valued times make ties (event at the label time, at the window edge) common.
stream = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=0, max_size=60
)
requests = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 50)), min_size=1, max_size=20
)


def as_arrays(rows):
    users = np.array([u for u, _ in rows], dtype=int)
    times = np.array([t for _, t in rows], dtype=float)
    return users, times


def brute_force(ev_users, ev_times, q_users, q_times, window):
    return np.array(
        [
            sum(
                1
                for eu, et in zip(ev_users, ev_times, strict=True)
                if eu == qu and qt - window <= et < qt
            )
            for qu, qt in zip(q_users, q_times, strict=True)
        ]
    )


@settings(max_examples=80, deadline=None)
@given(stream, requests, st.sampled_from([1.0, 5.0, 7.5, 30.0]))
def test_online_equals_point_in_time_equals_brute_force(events, queries, window):
    log, keys = as_arrays(events), as_arrays(queries)
    online = ft.online_window_counts(*log, *keys, window=window)
    offline = ft.point_in_time_window_counts(*log, *keys, window=window)
    np.testing.assert_array_equal(online, offline)
    np.testing.assert_array_equal(offline, brute_force(*log, *keys, window))


@settings(max_examples=60, deadline=None)
@given(stream, requests, st.lists(st.integers(1, 20), min_size=1, max_size=10))
def test_point_in_time_ignores_the_future_and_bucket_join_does_not(
    events, queries, delays
):
    window = 10.0
    log, keys = as_arrays(events), as_arrays(queries)
    user, time = int(keys[0][0]), float(keys[1][0])
    future_times = np.array([time + d for d in delays], dtype=float)
    with_future = (
        np.r_[log[0], np.full(len(delays), user)],
        np.r_[log[1], future_times],
    )
    # Events after a label time never change that row's point-in-time value.
    not_later = keys[1] <= time
    np.testing.assert_array_equal(
        ft.point_in_time_window_counts(*log, *keys, window=window)[not_later],
        ft.point_in_time_window_counts(*with_future, *keys, window=window)[not_later],
    )
    # The bucket join counts every future event that lands in the label's bucket.
    same_bucket = np.sum(np.floor(future_times / window) == np.floor(time / window))
    before = ft.bucket_join_window_counts(*log, *keys, window=window)[0]
    after = ft.bucket_join_window_counts(*with_future, *keys, window=window)[0]
    assert after - before == same_bucket


def test_leak_inflates_offline_quality_but_not_online_quality():
    report = ft.leak_report(ft.simulate_sessions(n_users=1500, seed=3))
    assert report["disagreeing_rows"] > 0.1
    assert report["offline_auc_leaky"] > report["online_auc_leaky_model"] + 0.1
    # One feature, a monotone model: online ranking is the honest feature's ranking,
    # so the leaky model's online AUC equals the honest model's...
    assert report["online_auc_leaky_model"] == pytest.approx(
        report["offline_auc_honest"]
    )
    # ...but its probabilities were fitted to the leak, so they are worse.
    assert report["online_logloss_leaky_model"] > report["online_logloss_honest"]
    assert report["mean_count_positive_leaky"] > report["mean_count_positive_honest"]


def test_counter_rejects_out_of_order_events_and_bad_windows():
    counter = ft.StreamingWindowCounter(window=60)
    counter.observe(1, 100.0)
    with pytest.raises(ValueError, match="time order"):
        counter.observe(1, 99.0)
    with pytest.raises(ValueError, match="already saw"):
        counter.count(1, 50.0)
    with pytest.raises(ValueError, match="positive number"):
        ft.StreamingWindowCounter(window=0)
    with pytest.raises(ValueError, match="positive number"):
        ft.point_in_time_window_counts([1], [0.0], [1], [1.0], window=-5)


def test_bad_logs_fail_clearly():
    with pytest.raises(ValueError, match="same length"):
        ft.point_in_time_window_counts([1, 2], [0.0], [1], [1.0])
    with pytest.raises(TypeError, match="integers"):
        ft.online_window_counts(["a"], [0.0], [1], [1.0])
    with pytest.raises(ValueError, match="finite"):
        ft.bucket_join_window_counts([1], [np.nan], [1], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        ft.point_in_time_window_counts([[1]], [[0.0]], [1], [1.0])


def test_page_quotes_the_numbers_the_code_prints():
    report = ft.leak_report(ft.simulate_sessions())
    assert "True" in module_output("snippets.framework.features")
    assert_page_quotes(
        PAGE,
        f"{report['offline_auc_leaky']:.3f}",
        f"{report['online_auc_leaky_model']:.3f}",
        f"{report['online_logloss_leaky_model']:.3f}",
        f"{report['online_logloss_honest']:.3f}",
        f"{report['disagreeing_rows']:.1%}",
        f"{report['mean_count_positive_honest']:.2f}",
        f"{report['mean_count_positive_leaky']:.2f}",
    )
    # The evaluation page cites the same leak in its leakage checklist.
    assert_page_quotes(
        "framework/evaluation.md",
        f"ROC-AUC of {report['online_auc_leaky_model']:.3f}",
        f"false {report['offline_auc_leaky']:.3f}",
    )
