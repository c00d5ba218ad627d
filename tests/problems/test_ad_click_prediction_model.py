"""Hashed features against scikit-learn's FeatureHasher, normalised entropy against
scikit-learn's log loss, the synthetic world against its own definition, and the CTR
model's downsampling correction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from snippets.concepts.calibration import correct_downsampled
from snippets.problems import ad_click_prediction_model as model


def strings(columns, crosses):
    """The rows as FeatureHasher reads them: 'field=value' and 'a=1&b=2' tokens."""
    n = len(next(iter(columns.values())))
    rows = []
    for i in range(n):
        row = [f"{name}={values[i]}" for name, values in columns.items()]
        row += ["&".join(f"{f}={columns[f][i]}" for f in cross) for cross in crosses]
        rows.append(row)
    return rows


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 60),
    cardinalities=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    n_buckets=st.sampled_from([1, 2, 16, 1024, 2**18]),
    seed=st.integers(0, 10_000),
)
def test_hashed_features_equal_feature_hasher(n_rows, cardinalities, n_buckets, seed):
    rng = np.random.default_rng(seed)
    columns = {f"f{j}": rng.integers(0, c, n_rows) for j, c in enumerate(cardinalities)}
    names = list(columns)
    crosses = [tuple(names[:2])] if len(names) > 1 else []
    ours = model.hashed_features(columns, crosses, n_buckets)
    theirs = FeatureHasher(n_buckets, input_type="string").transform(
        strings(columns, crosses)
    )
    assert ours.shape == theirs.shape
    assert abs(ours - theirs).max() == 0  # few buckets: collisions must add up too


def test_the_miniature_features_equal_feature_hasher():
    rng = np.random.default_rng(0)
    world = model.make_world(rng)
    columns, _ = model.exploration_log(world, 3_000, rng)
    ours = model.hashed_features(columns, model.CROSSES)
    theirs = FeatureHasher(model.N_BUCKETS, input_type="string").transform(
        strings(columns, model.CROSSES)
    )
    assert abs(ours - theirs).max() == 0
    assert (ours.getnnz(axis=1) <= len(model.FIELDS) + len(model.CROSSES)).all()


def test_normalised_entropy_is_sklearn_log_loss_over_the_base_rate_log_loss():
    rng = np.random.default_rng(1)
    y = (rng.random(5_000) < 0.04).astype(int)
    p = np.clip(rng.beta(1, 20, 5_000), 1e-6, 1 - 1e-6)
    background = 0.035
    base_rate_loss = log_loss(y, np.full(y.size, background), labels=[0, 1])
    train_like = (np.arange(10_000) < 350).astype(int)  # a set whose CTR is 0.035
    assert model.entropy(background) == pytest.approx(
        log_loss(train_like, np.full(train_like.size, background))
    )
    assert model.entropy(0.2) == pytest.approx(scipy_entropy([0.2, 0.8]))
    expected = log_loss(y, p) / model.entropy(background)
    assert model.normalised_entropy(y, p, background) == pytest.approx(expected)
    # On data whose CTR is the background, the base-rate predictor scores NE = 1.
    assert model.normalised_entropy(
        train_like, np.full(train_like.size, 0.035), 0.035
    ) == pytest.approx(1.0)
    assert base_rate_loss > 0


def test_calibration_ratio_is_expected_over_observed_clicks():
    y = np.array([0, 1, 0, 0, 1, 0])
    p = np.array([0.1, 0.5, 0.2, 0.1, 0.3, 0.2])
    assert model.calibration_ratio(y, p) == pytest.approx(1.4 / 2)
    with pytest.raises(ValueError, match="no clicks"):
        model.calibration_ratio([0, 0], [0.1, 0.2])


def test_exploration_log_follows_the_world():
    rng = np.random.default_rng(2)
    world = model.make_world(rng)
    columns, clicks = model.exploration_log(world, 200_000, rng)
    assert set(columns) == set(model.FIELDS)
    assert (columns["category"] == world.ad_category[columns["ad"]]).all()
    # Slot 3 over slot 1: the position factor, up to sampling noise.
    rate = [clicks[columns["slot"] == s].mean() for s in range(3)]
    assert rate[2] / rate[0] == pytest.approx(world.position_factor[2], rel=0.12)
    assert rate[1] / rate[0] == pytest.approx(world.position_factor[1], rel=0.12)


def test_ctr_model_keeps_only_trained_buckets_without_changing_predictions():
    rng = np.random.default_rng(4)
    world = model.make_world(rng)
    columns, clicks = model.exploration_log(world, 20_000, rng)
    features = model.hashed_features(columns, model.CROSSES)
    ours = model.fit_ctr_model(features, clicks)
    full = LogisticRegression(C=1.0, max_iter=500).fit(features, clicks)
    assert ours.buckets.size < model.N_BUCKETS / 10
    np.testing.assert_allclose(
        ours.predict(features), full.predict_proba(features)[:, 1], rtol=2e-3
    )


def test_downsampled_model_is_inflated_and_the_correction_restores_the_rate():
    rng = np.random.default_rng(5)
    world = model.make_world(rng)
    columns, clicks = model.exploration_log(world, 60_000, rng)
    features = model.hashed_features(columns, model.CROSSES)
    raw = model.fit_ctr_model(features, clicks, 0.1, np.random.default_rng(0))
    p = raw.predict(features)
    assert model.calibration_ratio(clicks, p) > 4
    fixed = correct_downsampled(p, 0.1)
    assert model.calibration_ratio(clicks, fixed) == pytest.approx(1.0, abs=0.08)


def test_bad_model_input_raises_clear_errors():
    ok = {"a": np.array([0, 1, 2]), "b": np.array([1, 1, 0])}
    with pytest.raises(ValueError, match="non-negative integer codes"):
        model.hashed_features({"a": np.array([0, -1, 2])})
    with pytest.raises(ValueError, match="non-negative integer codes"):
        model.hashed_features({"a": np.array([0.5, 1.0, 2.0])})
    with pytest.raises(ValueError, match="one length"):
        model.hashed_features({"a": np.array([0, 1]), "b": np.array([0, 1, 2])})
    with pytest.raises(ValueError, match="not in columns"):
        model.hashed_features(ok, [("a", "c")])
    with pytest.raises(ValueError, match="n_buckets must be a positive integer"):
        model.hashed_features(ok, (), 0)
    with pytest.raises(ValueError, match="at least one field"):
        model.hashed_features({})
    with pytest.raises(ValueError, match=r"rate must be in \(0, 1\)"):
        model.normalised_entropy([0, 1], [0.2, 0.8], 0.0)
    features = model.hashed_features(ok)
    with pytest.raises(ValueError, match="contain both"):
        model.fit_ctr_model(features, [0, 0, 0])
    with pytest.raises(ValueError, match="one label per row"):
        model.fit_ctr_model(features, [0, 1])
    with pytest.raises(ValueError, match="negative_rate"):
        model.fit_ctr_model(features, [0, 1, 0], negative_rate=0)
    with pytest.raises(ValueError, match="needs an rng"):
        model.fit_ctr_model(features, [0, 1, 0], negative_rate=0.5)
    with pytest.raises(ValueError, match="positive integer"):
        model.exploration_log(model.make_world(np.random.default_rng(0)), 0,
                              np.random.default_rng(0))  # fmt: skip
