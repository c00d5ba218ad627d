"""Content moderation heads, thresholds and the review queue, against references."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from snippets.problems import content_moderation as cm
from snippets.problems import content_moderation_queue as cq


@functools.cache
def seed_day(seed: int = 0):
    """One seed's pipeline, rebuilt from the public functions as run_seed does."""
    world, rng = cq.make_world(seed), np.random.default_rng([seed, 1])
    train, calib, day = (
        cq.sample_uploads(world, n, rng) for n in (cm.TRAIN, cm.CALIBRATION, cm.DAY)
    )
    heads = cq.train_heads(train, calib)
    thresholds = np.array(
        [
            cq.auto_threshold(calib.labels[:, k], p, cm.TARGET_PRECISION)
            for k, p in enumerate(heads.calibrated(calib.features).T)
        ]
    )
    return world, calib, day, heads, thresholds


def test_the_world_is_seeded_and_its_rates_are_the_taxonomys():
    a = cq.sample_uploads(cq.make_world(3), 500, np.random.default_rng(1))
    b = cq.sample_uploads(cq.make_world(3), 500, np.random.default_rng(1))
    np.testing.assert_array_equal(a.labels, b.labels)
    big = cq.sample_uploads(cq.make_world(3), 60_000, np.random.default_rng(2))
    rates = big.labels.mean(axis=0)
    expected = np.array([p.base_rate for p in cq.POLICIES])
    np.testing.assert_allclose(rates, expected, rtol=0.25)
    # Views are independent of violations by construction (no engagement bait).
    violating = big.labels.any(axis=1)
    ratio = np.median(big.views[violating]) / np.median(big.views[~violating])
    assert ratio == pytest.approx(1.0, abs=0.1)


def test_with_views_redraws_the_spread_and_the_noise_from_the_same_draws():
    day = cq.sample_uploads(cq.make_world(1), 40_000, np.random.default_rng(4))
    same = cq.with_views(day, cq.VIEWS_SIGMA, cq.VIEWS_NOISE)
    np.testing.assert_allclose(same.views, day.views, rtol=1e-9)
    np.testing.assert_allclose(same.predicted_views, day.predicted_views, rtol=1e-9)
    for sigma, noise in ((0.5, 1.6), (1.0, 0.4), (2.5, 0.0)):
        other = cq.with_views(day, sigma, noise)
        log_views, log_forecast = np.log(other.views), np.log(other.predicted_views)
        assert np.median(other.views) == pytest.approx(cq.VIEWS_MEDIAN, rel=0.05)
        assert log_views.std() == pytest.approx(sigma, rel=0.03)
        assert (log_forecast - log_views).std() == pytest.approx(noise, abs=0.02)
        corr = np.corrcoef(log_views, log_forecast)[0, 1]
        assert corr == pytest.approx(sigma / np.hypot(sigma, noise), abs=0.01)
        # Only views change: the same items, the same labels.
        assert other.labels is day.labels and other.features is day.features
        # The ranks of the true views are those of the original day.
        np.testing.assert_array_equal(np.argsort(other.views), np.argsort(day.views))


def test_expected_views_is_the_mean_of_views_given_the_forecast():
    """Independent of the formula: bin a large simulated world by its forecast."""
    rng = np.random.default_rng(12)
    sigma, noise = 1.0, 1.2
    log_views = np.log(cq.VIEWS_MEDIAN) + rng.normal(0, sigma, 2_000_000)
    forecast = np.exp(log_views + rng.normal(0, noise, log_views.size))
    edges = np.quantile(forecast, [0.1, 0.12, 0.5, 0.52, 0.9, 0.92])
    for low, high in edges.reshape(-1, 2):
        inside = (forecast >= low) & (forecast < high)
        predicted = cq.expected_views(forecast[inside], sigma, noise).mean()
        assert predicted == pytest.approx(np.exp(log_views[inside]).mean(), rel=0.03)
    # Without noise the forecast is the truth; the shrinkage grows with the noise.
    np.testing.assert_allclose(
        cq.expected_views(forecast[:5], sigma, 0.0), forecast[:5]
    )
    spread = [np.log(cq.expected_views(forecast, sigma, t)).std() for t in (0.5, 2.0)]
    assert spread[0] > spread[1]


def test_balanced_heads_overstate_rare_policies_and_platt_repairs_the_scale():
    _, _, day, heads, _ = seed_day()
    raw, calibrated = heads.raw(day.features), heads.calibrated(day.features)
    rate = day.labels.mean(axis=0)
    inflation = raw.mean(axis=0) / rate
    assert (inflation > 3).all()
    assert inflation[0] > inflation[-1]  # the rarest policy is inflated most
    ratio = calibrated.mean(axis=0) / rate
    np.testing.assert_allclose(ratio[1:], 1.0, atol=0.2)
    # The rarest head is calibrated on ~16 positives: right in scale, noisy.
    assert 0.5 < ratio[0] < 2
    # Platt is monotone per head: the order within each head is unchanged.
    for k in range(len(cq.POLICIES)):
        order = np.argsort(raw[:, k], kind="stable")
        assert (np.diff(calibrated[order, k]) >= -1e-12).all()


def test_precision_and_recall_at_the_chosen_thresholds_match_scikit_learn():
    _, _, day, heads, thresholds = seed_day()
    calibrated = heads.calibrated(day.features)
    for k in range(len(cq.POLICIES)):
        flagged = (calibrated[:, k] >= thresholds[k]).astype(int)
        got = cq.precision_recall(day.labels[:, k], flagged)
        expected = (
            precision_score(day.labels[:, k], flagged, zero_division=0),
            recall_score(day.labels[:, k], flagged, zero_division=0),
        )
        assert got == pytest.approx(expected)


def test_run_seed_counts_what_scikit_learn_counts():
    _, _, day, heads, thresholds = seed_day()
    flagged = heads.calibrated(day.features) >= thresholds
    out = cm.run_seed(0)
    for k, row in enumerate(out["policies"]):
        assert row["flagged"] == flagged[:, k].sum()
        assert row["positives"] == day.labels[:, k].sum()
        if row["flagged"]:
            assert row["tp"] / row["flagged"] == pytest.approx(
                precision_score(day.labels[:, k], flagged[:, k])
            )
        assert row["tp"] / row["positives"] == pytest.approx(
            recall_score(day.labels[:, k], flagged[:, k])
        )


def brute_force_threshold(labels, probs, target, min_flagged):
    """Try every distinct score; keep the lowest whose flagged set is precise."""
    best = np.inf
    for t in np.unique(probs):
        flags = probs >= t
        if flags.sum() >= min_flagged and labels[flags].mean() >= target:
            best = min(best, t)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_auto_threshold_matches_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    probs = np.round(rng.random(300), 2)  # ties on purpose
    labels = (rng.random(300) < probs**3).astype(int)
    for target in (0.6, 0.8, 0.95):
        assert cq.auto_threshold(labels, probs, target) == brute_force_threshold(
            labels, probs, target, 5
        )


def test_expected_harm_is_the_sum_over_policies_and_the_ablations_drop_terms():
    rng = np.random.default_rng(0)
    probs, views = rng.random((50, 6)), rng.lognormal(3, 1, 50)
    severity = cq.SEVERITY
    loop = [
        sum(probs[i, k] * severity[k] for k in range(6)) * views[i] for i in range(50)
    ]
    np.testing.assert_allclose(cq.expected_harm(probs, severity, views), loop)
    np.testing.assert_allclose(
        cq.expected_harm(probs, severity, views, use_views=False),
        probs @ severity,
    )
    np.testing.assert_allclose(
        cq.expected_harm(probs, severity, views, use_severity=False),
        probs.sum(axis=1) * views,
    )


def test_review_queue_takes_the_top_eligible_items():
    rng = np.random.default_rng(1)
    priority = rng.random(40)
    eligible = rng.random(40) < 0.6
    picked = cq.review_queue(priority, eligible, 7)
    ranked = sorted(np.flatnonzero(eligible), key=lambda i: -priority[i])[:7]
    assert list(picked) == ranked
    assert len(cq.review_queue(priority, eligible, 1_000)) == eligible.sum()


@pytest.mark.parametrize("capacity", [0, 1, 5, 9, 12, 30])
def test_review_queue_keeps_ties_in_index_order_at_the_cut(capacity):
    """The O(n) cut must give what a full stable sort gives, ties included."""
    rng = np.random.default_rng(capacity)
    priority = rng.integers(0, 6, 40).astype(float)  # many ties
    eligible = rng.random(40) < 0.7
    ranked = sorted(np.flatnonzero(eligible), key=lambda i: (-priority[i], i))
    assert list(cq.review_queue(priority, eligible, capacity)) == ranked[:capacity]


def test_true_harm_grades_with_labels_and_views_only():
    _, _, day, _, _ = seed_day()
    harm = cq.true_harm(day)
    i = int(np.argmax(day.labels.sum(axis=1)))
    assert harm[i] == pytest.approx(
        sum(p.severity * day.labels[i, k] for k, p in enumerate(cq.POLICIES))
        * day.views[i]
    )
    assert (harm[~day.labels.any(axis=1)] == 0).all()


def test_bad_input_raises_clear_errors():
    probs, views = np.full((3, 6), 0.1), np.ones(3)
    with pytest.raises(ValueError, match="one severity per policy"):
        cq.expected_harm(probs, np.ones(5), views)
    with pytest.raises(ValueError, match="probabilities"):
        cq.expected_harm(probs + 1, cq.SEVERITY, views)
    with pytest.raises(ValueError, match="one value per item"):
        cq.expected_harm(probs, cq.SEVERITY, np.ones(4))
    with pytest.raises(TypeError, match="numpy arrays"):
        cq.expected_harm(probs.tolist(), cq.SEVERITY, views)
    with pytest.raises(TypeError, match="capacity"):
        cq.review_queue(np.ones(3), np.ones(3, bool), 2.5)
    with pytest.raises(ValueError, match="boolean mask"):
        cq.review_queue(np.ones(3), np.ones(3), 2)
    with pytest.raises(ValueError, match="NaN"):
        cq.review_queue(np.array([1.0, np.nan]), np.ones(2, bool), 1)
    with pytest.raises(ValueError, match="sigma > 0"):
        cq.expected_views(np.ones(3), 0.0, 1.0)
    with pytest.raises(ValueError, match="sigma and noise"):
        cq.with_views(cq.sample_uploads(cq.make_world(0), 5, np.random.default_rng(0)),
                      -1.0, 0.5)  # fmt: skip
    with pytest.raises(ValueError, match="positive integer"):
        cq.sample_uploads(cq.make_world(0), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="target_precision"):
        cq.auto_threshold([0, 1], [0.1, 0.9], 1.5)
    with pytest.raises(ValueError, match="same shape"):
        cq.precision_recall([0, 1], [1])
