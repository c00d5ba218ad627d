"""The ETA miniature's world, models, conformal step and metrics, against references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_pinball_loss

from snippets.problems import eta_prediction_model as em


def trips(n: int = 3_000, seed: int = 0, calm: bool = False) -> em.Trips:
    return em.simulate_trips(n, np.random.default_rng(seed), calm=calm)


def test_noise_quantile_is_a_standardised_lognormal():
    """Against SciPy's log-normal: shifted to mean 0 and scaled to variance 1."""
    dist = stats.lognorm(s=em.SKEW)
    q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    expected = (dist.ppf(q) - dist.mean()) / dist.std()
    assert np.allclose(em.noise_quantile(q), expected)


@pytest.mark.parametrize("calm", [False, True])
def test_true_quantiles_hold_their_share_of_simulated_trips(calm):
    """Counted on 60,000 draws: about q of each segment falls below its q-quantile."""
    world = trips(60_000, seed=3, calm=calm)
    for q in (0.1, 0.5, 0.9):
        below = world.minutes <= world.true_quantile(q)
        for s in range(3):
            rows = world.segment == s
            share = below[rows].mean()
            tolerance = 4 * math.sqrt(q * (1 - q) / rows.sum())
            assert abs(share - q) < tolerance, (q, s, share)


def test_segments_follow_the_hour_and_road_rules():
    world = trips(20_000, seed=1)
    route, hour, highway = world.features.T
    expected = np.where(highway == 1, 2, np.where(np.isin(hour, em.PEAK_HOURS), 1, 0))
    assert np.array_equal(world.segment, expected)
    shares = np.bincount(world.segment, minlength=3) / world.segment.size
    # 20% highway; city peak = 8 of 21 weighted city hours, of the other 80%.
    assert shares == pytest.approx([0.8 * 13 / 21, 0.8 * 8 / 21, 0.2], abs=0.015)
    assert route[highway == 1].min() >= 10 and route[highway == 0].max() <= 30


def test_the_spread_differs_by_segment_and_the_calm_world_keeps_the_draws():
    loud, calm = trips(20_000, seed=2), trips(20_000, seed=2, calm=True)
    assert np.array_equal(loud.features, calm.features)
    # Same standardised noise draws, only the spread changes.
    z_loud = (loud.minutes - loud.centre) / loud.spread
    z_calm = (calm.minutes - calm.centre) / calm.spread
    assert np.allclose(z_loud, z_calm)
    widths = [
        np.mean(loud.true_quantile(0.9)[loud.segment == s] - loud.true_quantile(0.1)[
            loud.segment == s])
        for s in range(3)
    ]  # fmt: skip
    assert widths[1] > 3 * max(widths[0], widths[2])
    assert np.ptp(calm.spread) == 0


def test_the_calm_spread_is_one_constant_for_every_batch():
    """Not each batch's own RMS: train, calibration and test share one spread, and it
    equals the heteroscedastic spread's RMS over many draws (Monte Carlo)."""
    rng = np.random.default_rng(12)
    batches = [em.simulate_trips(n, rng, calm=True) for n in (50, 2_000, 8_000)]
    assert {float(b.spread[0]) for b in batches} == {em.CALM_SPREAD}
    loud = trips(400_000, seed=13)
    rms = np.sqrt(np.mean(loud.spread**2))
    assert abs(em.CALM_SPREAD / rms - 1) < 0.005
    shares = np.bincount(loud.segment, minlength=3) / loud.segment.size
    assert em.expected_shares() == pytest.approx(shares, abs=0.003)


def test_grade_matches_scikit_learn_and_an_independent_count():
    world = trips(5_000, seed=4)
    rng = np.random.default_rng(9)
    upper = world.true_quantile(0.9) + rng.normal(0, 1, world.minutes.size)
    lower = upper - rng.uniform(1, 6, world.minutes.size)
    graded = em.grade(world, upper, lower)
    for cut, rows in em.cut_masks(world).items():
        y, hi, lo = world.minutes[rows], upper[rows], lower[rows]
        assert graded["pinball", cut] == pytest.approx(
            mean_pinball_loss(y, hi, alpha=0.9)
        )
        late = sum(1 for a, b in zip(y, hi, strict=True) if a > b)
        inside = sum(1 for a, b, c in zip(y, lo, hi, strict=True) if b <= a <= c)
        assert graded["late", cut] == late / len(y)
        assert graded["coverage", cut] == inside / len(y)
        truth = world.true_quantile(0.9)[rows]
        assert graded["excess", cut] == pytest.approx(np.mean(hi - truth))
    assert ("coverage", "all") not in em.grade(world, upper)


def test_cuts_partition_the_trips():
    world = trips(2_000, seed=5)
    masks = em.cut_masks(world)
    segments = masks["off-peak"].astype(int) + masks["peak"] + masks["highway"]
    assert np.all(segments == 1) and np.all(masks["short"] ^ masks["long"])
    assert masks["all"].all()
    assert np.array_equal(masks["short"], world.route_eta < 15)


def reference_margin(scores, level):
    """Independent: the smallest s with #{score <= s} >= (n + 1) * level."""
    ordered = sorted(scores)
    for s in ordered:
        if sum(x <= s for x in ordered) >= (len(ordered) + 1) * level:
            return s
    return math.inf


@pytest.mark.parametrize("n", [1, 8, 9, 10, 57])
@pytest.mark.parametrize("level", [0.1, 0.5, 0.9])
def test_conformal_margin_matches_a_reference(n, level):
    scores = np.random.default_rng(n).normal(size=n).tolist()
    assert em.conformal_margin(scores, level) == reference_margin(scores, level)


def test_conformal_margin_covers_new_draws_in_repeated_trials():
    """Marginal validity: with 18 scores at level 0.9 the margin is the 18th smallest,
    so a new exchangeable draw falls below it with probability 18/19."""
    rng = np.random.default_rng(0)
    hits = [
        rng.exponential() <= em.conformal_margin(rng.exponential(size=18), 0.9)
        for _ in range(6_000)
    ]
    standard_error = math.sqrt(18 / 19 * (1 / 19) / len(hits))
    assert abs(np.mean(hits) - 18 / 19) < 4 * standard_error


def test_conformalise_per_segment_sets_each_segments_tail():
    calib = trips(3_000, seed=6)
    # Deliberately wrong bounds: too tight everywhere.
    centre = calib.true_quantile(0.5)
    bounds = (centre - 0.5, centre + 0.5)
    for by_segment in (False, True):
        low, high = em.conformalise(bounds, calib, bounds, calib, by_segment)
        groups = [calib.segment == s for s in range(3)] if by_segment else [
            np.ones_like(calib.segment, dtype=bool)]  # fmt: skip
        for rows in groups:
            n = rows.sum()
            above = np.mean(calib.minutes[rows] > high[rows])
            below = np.mean(calib.minutes[rows] < low[rows])
            for tail in (above, below):
                assert 0.1 - 1 / n - 1e-9 <= tail <= 0.1, (by_segment, tail)


def test_residual_band_uses_held_out_quantiles():
    calib, test = trips(2_000, seed=7), trips(1_000, seed=8)
    mean_c, mean_t = calib.centre, test.centre  # any predictions will do
    residual = calib.minutes - mean_c
    low, high = em.residual_band(mean_c, calib, mean_t, test, by_segment=False)
    assert np.allclose(low, mean_t + np.quantile(residual, 0.1))
    assert np.allclose(high, mean_t + np.quantile(residual, 0.9))
    low, high = em.residual_band(mean_c, calib, mean_t, test, by_segment=True)
    for s in range(3):
        held = np.sort(residual[calib.segment == s])
        rows = test.segment == s
        assert np.allclose(high[rows], mean_t[rows] + np.percentile(held, 90))
        assert np.allclose(low[rows], mean_t[rows] + np.percentile(held, 10))


def test_fit_models_learn_the_residual_and_their_quantiles_cover():
    train, test = trips(4_000, seed=10), trips(4_000, seed=11)
    models = em.fit_models(train, seed=0)
    assert models["q0.9"].loss == "quantile" and models["q0.9"].quantile == 0.9
    assert models["mean"].loss == "squared_error"
    upper = test.route_eta + models["q0.9"].predict(test.features)
    lower = test.route_eta + models["q0.1"].predict(test.features)
    mean = test.route_eta + models["mean"].predict(test.features)
    assert 0.06 < em.late_share(test.minutes, upper) < 0.15
    assert 0.74 < em.coverage(test.minutes, lower, upper) < 0.86
    assert abs(np.mean(mean - test.minutes)) < 0.3  # unbiased on average
    # The fitted quantile tracks the truth far better than the routing ETA does.
    truth = test.true_quantile(0.9)
    assert np.mean(np.abs(upper - truth)) < 0.3 * np.mean(
        np.abs(test.route_eta - truth)
    )


def test_paired_comparison_and_seed_mean():
    runs = [{"a": {("late", "all"): x}, "b": {("late", "all"): 0.1}} for x in (
        0.2, 0.3, 0.4)]  # fmt: skip
    mean, low, high = em.paired(runs, "a", "b", ("late", "all"))
    assert mean == pytest.approx(0.2) and low < 0.2 < high
    # Against the target: 10% late, so the mean difference is 0.3 - 0.1.
    mean, low, high = em.paired(runs, "a", "target", ("late", "all"))
    assert mean == pytest.approx(0.2) and high - low == pytest.approx(
        2 * stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    )
    assert em.seed_mean(runs, "a", ("late", "all")) == pytest.approx(0.3)


def test_bad_arguments_raise_clear_errors():
    world = trips(100)
    with pytest.raises(ValueError, match="positive integer"):
        em.simulate_trips(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-empty"):
        em.conformal_margin([], 0.9)
    with pytest.raises(ValueError, match="level"):
        em.conformal_margin([1.0], 1.5)
    with pytest.raises(ValueError, match="lower bound"):
        em.coverage([1.0, 2.0], [3.0, 0.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="same length"):
        em.late_share([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="expected Trips"):
        em.fit_models(world.features, seed=0)
    with pytest.raises(ValueError, match="unknown models"):
        em.fit_models(world, seed=0, names=("q0.95",))
    with pytest.raises(ValueError, match="columns"):
        em.fit_models(world, seed=0, columns=(3,))
    with pytest.raises(ValueError, match="one per trip"):
        em.residual_band(world.centre[:5], world, world.centre, world, False)
    with pytest.raises(ValueError, match="one per trip"):
        bounds = (world.centre, world.centre + np.nan)
        em.conformalise(bounds, world, bounds, world, True)
    with pytest.raises(ValueError, match="two seeds"):
        em.run_experiment((0,))
