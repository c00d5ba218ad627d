"""Time splits hold out the future; on drifting data a random split is optimistic."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.linear_model import LogisticRegression

from snippets.framework import evaluation as ev


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=80).filter(
        lambda ts: len(set(ts)) > 1
    ),
    st.floats(0.05, 0.95),
)
def test_time_split_puts_every_holdout_example_after_every_training_one(ts, share):
    times = np.array(ts)
    train, holdout = ev.time_split(times, share)
    assert train.size and holdout.size
    assert times[train].max() < times[holdout].min()
    assert sorted([*train, *holdout]) == list(range(times.size))


def test_random_split_is_a_partition_that_mixes_time():
    train, holdout = ev.random_split(1000, 0.2, seed=1)
    assert sorted([*train, *holdout]) == list(range(1000))
    assert holdout.size == 200
    assert holdout.min() < 100 and holdout.max() > 900  # early and late days alike


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_split_overestimates_and_time_split_is_closer(seed):
    r = ev.compare_splits(seed=seed)
    assert r["random split estimate"] > r["time split estimate"] > r["after launch"]
    gap_random = r["random split estimate"] - r["after launch"]
    gap_time = r["time split estimate"] - r["after launch"]
    assert gap_time < gap_random / 2


def test_without_drift_the_random_split_is_not_optimistic():
    # Control: the same world and protocol with the drift removed.
    gaps = []
    for seed in (0, 1, 2):
        r = ev.compare_splits(seed=seed, drift=False)
        gaps.append(r["random split estimate"] - r["after launch"])
        drifting = ev.compare_splits(seed=seed)
        assert drifting["random split estimate"] - drifting["after launch"] > 0.05
    assert max(abs(g) for g in gaps) < 0.03


def test_control_world_holds_the_weight_at_its_average_over_the_history():
    # Same draws with and without drift; only the labels' rule differs.
    x, y, day = ev.drifting_data(n=5_000, seed=3)
    x0, y0, day0 = ev.drifting_data(n=5_000, seed=3, drift=False)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(day, day0)
    assert (y != y0).mean() > 0.05
    # Fit the control world's rule: its weight on feature 0 is 1.5 - 3 * 45 / 120.
    big_x, big_y, _ = ev.drifting_data(n=200_000, seed=4, drift=False)
    weight = LogisticRegression(C=1e6).fit(big_x, big_y).coef_[0, 0]
    assert weight == pytest.approx(1.5 - 3.0 * 45 / 120, abs=0.03)


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="time range"):
        ev.time_split(np.zeros(5))
    with pytest.raises(ValueError, match="holdout_share"):
        ev.time_split(np.arange(5.0), 1.5)
    with pytest.raises(ValueError, match="1-D"):
        ev.time_split(np.arange(4.0).reshape(2, 2))
    with pytest.raises(ValueError, match="at least two"):
        ev.random_split(1)


def test_srm_table_matches_scipy_and_flags_only_the_large_arms():
    rows = [row.split() for row in ev.srm_table()[1:]]
    for (control, treatment), row in zip(ev.SRM_EXAMPLES, rows, strict=True):
        expected = stats.chisquare([control, treatment])
        assert float(row[3]) == pytest.approx(expected.statistic, abs=0.005)
        assert float(row[4]) == pytest.approx(expected.pvalue, rel=0.05)
    # Same split, different verdicts: counts decide, not percentages.
    assert rows[0][2] == rows[1][2] == "50.8/49.2"
    assert float(rows[0][4]) > 0.05 > 1e-6 > float(rows[1][4])


def test_page_quotes_the_numbers_the_code_prints():
    r = ev.compare_splits()
    output = module_output("snippets.framework.evaluation")
    numbers = [f"{value:.3f}" for value in r.values()]
    assert all(n in output for n in numbers)
    overstatement = r["random split estimate"] - r["after launch"]
    runs = [ev.compare_splits(seed) for seed in range(5)]
    control = [ev.compare_splits(seed, drift=False) for seed in range(5)]
    spreads = []
    for protocol in ("random split", "time split"):
        for world in (runs, control):
            gaps = [run[f"{protocol} estimate"] - run["after launch"] for run in world]
            spreads.append(f"{min(gaps):.3f} to {max(gaps):.3f}")
    assert all(spread in output for spread in spreads)
    for name in control[0]:
        values = [run[name] for run in control]
        spreads.append(f"{min(values):.3f}-{max(values):.3f}")
        assert f"{name:<22} {spreads[-1]}" in output
    srm = [row.split() for row in ev.srm_table()[1:]]
    assert all(" ".join(row) in " ".join(output.split()) for row in srm)
    assert_page_quotes(
        "framework/evaluation.md",
        *numbers,
        f"by {overstatement:.2f} (",
        *spreads,
        f"{srm[1][0]} vs {srm[1][1]} users",
        f"chi-square {srm[1][3]}, p = {srm[1][4]}",
        f"{srm[0][0]} vs {srm[0][1]} users is chance (p = {srm[0][4]})",
        f"gives {srm[2][3]}, p = {srm[2][4]}",
        # Twenty independent null metrics at alpha = 0.05: P(at least one) = 64%.
        f"{1 - 0.95**20:.0%} of tests",
    )
