"""The Poisson tail, the baselines, the detector and the scoring, against references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from snippets.problems import trending_topics_bursts as tb

DAY, START = tb.BINS_PER_DAY, tb.HISTORY_DAYS * tb.BINS_PER_DAY


@pytest.mark.parametrize("mean", [0.5, 3.0, 20.0, 250.0])
def test_poisson_tail_is_p_of_at_least_count(mean):
    counts = np.arange(0, int(mean * 3 + 30))
    got = tb.poisson_upper_tail(counts, np.full(counts.shape, mean))
    # P(X >= k) = P(X > k - 1): scipy's survival function at k - 1.
    np.testing.assert_allclose(got, stats.poisson.sf(counts - 1, mean), rtol=1e-9)
    assert tb.poisson_upper_tail(0, mean) == 1.0


def test_poisson_tail_rejects_a_non_positive_mean():
    with pytest.raises(ValueError, match="mean"):
        tb.poisson_upper_tail(np.array([3]), np.array([0.0]))
    with pytest.raises(ValueError, match="count"):
        tb.poisson_upper_tail(np.array([np.nan]), np.array([1.0]))


def small_signal(seed: int = 0) -> np.ndarray:
    days = tb.HISTORY_DAYS + 2
    return np.random.default_rng(seed).poisson(5, (3, days * DAY))


def test_seasonal_baseline_is_the_mean_of_the_same_bin_on_past_days():
    signal = small_signal()
    got = tb.seasonal_baseline(signal)
    for k in range(signal.shape[0]):
        for t in (START, START + 17, signal.shape[1] - 1):
            past = [signal[k, t - d * DAY] for d in range(1, tb.HISTORY_DAYS + 1)]
            assert got[k, t - START] == pytest.approx(np.mean(past))
    three = tb.seasonal_baseline(signal, days=3)
    t = START + 40
    assert three[1, 40] == pytest.approx(
        np.mean([signal[1, t - d * DAY] for d in (1, 2, 3)])
    )


@pytest.mark.parametrize("bins", [1, 6, 144])
def test_trailing_baseline_is_the_mean_of_the_bins_before(bins):
    signal = small_signal(1)
    got = tb.trailing_baseline(signal, bins)
    for t in (START, START + 5, signal.shape[1] - 1):
        np.testing.assert_allclose(got[:, t - START], signal[:, t - bins : t].mean(1))


def test_detector_needs_volume_lift_and_a_small_tail():
    counts = np.array([[25, 25, 19, 25, 700]])
    expected = np.array([[5.0, 13.0, 2.0, 12.0, 500.0]])
    alarm = tb.detect(counts, expected, min_volume=20, min_lift=2.0, alpha=1e-6)
    reference = [
        c >= 20 and c >= 2 * e and stats.poisson.sf(c - 1, e) <= 1e-6
        for c, e in zip(counts[0], expected[0], strict=True)
    ]
    assert alarm[0].tolist() == reference == [True, False, False, False, False]
    # 700 against 500 is far past the tail (lift 1.4): only the lift rule stops it;
    # 19 against 2 has lift and a tiny tail: only the volume floor stops it.
    assert stats.poisson.sf(700 - 1, 500) < 1e-12
    assert stats.poisson.sf(19 - 1, 2) < 1e-6
    loose = tb.detect(counts, expected, min_volume=20, min_lift=1.0, alpha=1e-2)
    assert loose[0].tolist() == [True, True, False, True, True]
    no_floor = tb.detect(counts, expected, min_volume=1, min_lift=2.0, alpha=1e-6)
    assert no_floor[0].tolist() == [True, False, True, False, False]


def tiny_world(alarm_at: list[tuple[int, int]], bursts: list[tb.Burst]):
    days = tb.HISTORY_DAYS + 1
    world = tb.World({}, bursts, days=days)
    alarm = np.zeros((4, DAY), dtype=bool)
    for k, t in alarm_at:
        alarm[k, t] = True
    return alarm, world


def test_scoring_counts_detections_delays_and_merged_false_alarms():
    bursts = [
        tb.Burst("broad", 0, START + 10, 8, 2),
        tb.Burst("fan", 1, START + 50, 8, 2),
        tb.Burst("fake", 2, START + 80, 8, 2),
        tb.Burst("broad", 3, START - 20, 8, 2),  # in the history: not scored
    ]
    alarm_at = [
        (0, 13),  # the broad burst, its 4th bin: closes 40 minutes in
        (0, 18),  # its tail (two bins after the end): explained, not false
        (2, 85),  # the fake
        (3, 100),
        (3, 103),  # one false episode (less than an hour apart)
        (3, 120),  # a second one
    ]
    alarm, world = tiny_world(alarm_at, bursts)
    got = tb.evaluate(alarm, world)
    assert got["broad"] == 100 and got["fan"] == 0 and got["fake"] == 100
    assert got["real"] == 50 and got["n_real"] == 2 and got["n_fake"] == 1
    assert got["delay_min"] == 40
    assert got["false_per_day"] == 2


def test_world_is_seeded_and_its_signals_are_consistent():
    a, b = tb.simulate_world(5), tb.simulate_world(5)
    for name in tb.SIGNALS:
        np.testing.assert_array_equal(a.signals[name], b.signals[name])
    s = a.signals
    assert np.all(s["distinct authors"] <= s["posts"])
    assert np.all(s["established posts"] <= s["posts"])
    assert np.all(s["distinct established"] <= s["distinct authors"])
    assert np.all(s["distinct established"] <= s["established posts"])
    kinds = {b.kind for b in a.bursts}
    assert kinds == {"broad", "fan", "fake"}


def test_fakes_come_from_few_new_accounts_and_broad_bursts_do_not():
    world = tb.simulate_world(2)
    s = world.signals

    def extra(name, burst):
        t = slice(burst.start, burst.start + burst.length)
        before = slice(burst.start - DAY, burst.start - DAY + burst.length)
        return s[name][burst.topic, t].sum() - s[name][burst.topic, before].sum()

    ratios = {"broad": [], "fake": []}
    for burst in world.bursts:
        if burst.kind in ratios and extra("posts", burst) > 200:
            share = extra("distinct established", burst) / extra("posts", burst)
            ratios[burst.kind].append(share)
    assert np.median(ratios["fake"]) < 0.2 < 0.8 < np.median(ratios["broad"])


def test_seasonal_baseline_beats_a_flat_one_on_a_quiet_world():
    quiet = tb.WorldConfig(organic_per_day=0, fakes_per_day=0, topics=50)
    world = tb.simulate_world(7, quiet)
    posts = world.signals["posts"]
    actual = tb.scored(posts)
    seasonal = np.abs(actual - tb.seasonal_baseline(posts)).mean()
    flat = np.abs(actual - tb.trailing_baseline(posts, DAY)).mean()
    assert seasonal < 0.6 * flat


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="seed"):
        tb.simulate_world(1.5)
    with pytest.raises(ValueError, match="bins"):
        tb.trailing_baseline(small_signal(), 0)
    with pytest.raises(ValueError, match="days"):
        tb.seasonal_baseline(small_signal(), days=8)
    with pytest.raises(ValueError, match="topics, bins"):
        tb.seasonal_baseline(np.zeros((2, 10)))
    alarm, world = tiny_world([], [])
    with pytest.raises(ValueError, match="scored days"):
        tb.evaluate(alarm[:, :-1], world)
