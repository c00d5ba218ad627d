"""Event recommendation's world, features, methods and grading against references."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ndcg_score

from snippets.problems import event_recommendation_models as em
from snippets.problems import event_recommendation_world as ew


@functools.cache
def city(seed: int = 7) -> ew.World:
    return ew.simulate_city(seed, n_users=200, n_hosts=40, events_per_week=20)


def test_simulation_is_seeded_and_follows_its_rules():
    a, b = city(7), ew.simulate_city(7, n_users=200, n_hosts=40, events_per_week=20)
    assert np.array_equal(a.registered, b.registered)
    assert not np.array_equal(a.registered, city(8).registered)
    # A host that joins after week 0 posts in the week it joins.
    for host, week in enumerate(a.host_first_week):
        hosted = a.event_week[a.event_host == host]
        if week > 0:
            assert hosted.size and hosted.min() == week
        assert (hosted >= week).all()
    assert a.registered[a.distance > 35].mean() < a.registered[a.distance < 5].mean()
    assert not np.any(a.friends == np.arange(a.n_users)[:, None])


@pytest.mark.parametrize(
    "kwargs, error",
    [({"n_users": 5}, ValueError), ({"n_hosts": 12.0}, TypeError),
     ({"events_per_week": True}, TypeError)],
)  # fmt: skip
def test_simulation_rejects_bad_sizes(kwargs, error):
    with pytest.raises(error, match=r"integer|at least 10"):
        ew.simulate_city(0, **kwargs)


def test_features_are_point_in_time():
    """Changing registrations at or after the cut leaves every feature unchanged."""
    world = city()
    events = np.flatnonzero(world.event_week >= 8)
    before = ew.point_in_time_features(world, events, history_end=6)
    later = world.event_week >= 6
    scrambled = world.registered.copy()
    scrambled[:, later] = ~scrambled[:, later]
    after = ew.point_in_time_features(
        dataclasses.replace(world, registered=scrambled), events, history_end=6
    )
    for name in ew.FEATURES:
        assert np.array_equal(before[name], after[name]), name
    # With the cut moved past them, the same changes do reach the profiles.
    moved = ew.point_in_time_features(
        dataclasses.replace(world, registered=scrambled), events, history_end=8
    )
    assert not np.array_equal(before["topic share"], moved["topic share"])


def test_features_reject_bad_input():
    world = city()
    with pytest.raises(TypeError, match="1-D"):
        ew.point_in_time_features(world, np.array([0.5]), history_end=6)
    with pytest.raises(TypeError, match="integer"):
        ew.point_in_time_features(world, np.arange(3), history_end=6.0)
    with pytest.raises(ValueError, match="in \\[1"):
        ew.point_in_time_features(world, np.arange(3), history_end=0)


def test_host_rate_follows_and_friends_match_a_loop():
    world = city()
    events = np.flatnonzero(world.event_week >= 8)
    features = ew.point_in_time_features(world, events, history_end=8)
    past = np.flatnonzero(world.event_week < 8)
    reg = world.registered[:, past]
    user = 3
    for j, event in enumerate(events[:15]):
        host = world.event_host[event]
        by_host = past[world.event_host[past] == host]
        follows = world.registered[user, by_host].any()
        assert features["follows host"][user, j] == float(follows)
        going = sum(world.early[f, event] for f in world.friends[user])
        assert features["friends going"][user, j] == min(going, ew.SOCIAL_CAP)
        assert features["new host"][user, j] == float(by_host.size == 0)
    # Distance over the usual trip: the mean log1p trip of the user's past
    # registrations, shrunk with two pseudo-trips of 8 km, back in km.
    trips = np.log1p(world.distance[user, past[reg[user]]])
    typical = np.expm1((trips.sum() + 2 * np.log1p(8.0)) / (trips.size + 2))
    expected = world.distance[user, events] / typical
    assert np.allclose(features["distance over usual"][user], expected)
    # The host rate: registrations per user within reach, shrunk towards the mean.
    reach_all = (world.distance[:, past] <= ew.RADIUS_KM).sum()
    mean_rate = reg.sum() / reach_all
    host = world.event_host[events[0]]
    mine = past[world.event_host[past] == host]
    regs = world.registered[:, mine].sum()
    reach = (world.distance[:, mine] <= ew.RADIUS_KM).sum()
    rate = (regs + 200 * mean_rate) / (reach + 200)
    assert features["host rate"][0, 0] == pytest.approx(np.log(rate / (1 - rate)))


def test_popularity_borrows_from_host_then_topic():
    world = city()
    events = np.flatnonzero(world.event_week >= 8)
    by_host = em.popularity_scores(world, events, 8, "host")[0]
    by_topic = em.popularity_scores(world, events, 8, "topic")[0]
    past = np.flatnonzero(world.event_week < 8)
    for j, event in enumerate(events):
        same_host = past[world.event_host[past] == world.event_host[event]]
        same_topic = past[world.event_topic[past] == world.event_topic[event]]
        topic_mean = world.registered[:, same_topic].sum(axis=0).mean()
        assert by_topic[j] == pytest.approx(topic_mean)
        expected = (
            world.registered[:, same_host].sum(axis=0).mean()
            if same_host.size
            else topic_mean
        )
        assert by_host[j] == pytest.approx(expected)
    with pytest.raises(ValueError, match="topic"):
        em.popularity_scores(world, events, 8, "venue")


def test_item_cf_is_the_truncated_svd_and_blind_to_new_ids():
    rng = np.random.default_rng(0)
    matrix = (rng.random((30, 12)) < 0.3).astype(float)
    known = np.arange(100, 112)
    scores = em.item_cf_scores(matrix, known, np.array([105, 999, 100]), rank=4)
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    reference = (u[:, :4] * s[:4]) @ vt[:4]
    assert np.allclose(scores[:, 0], reference[:, 5])
    assert np.allclose(scores[:, 2], reference[:, 0])
    assert (scores[:, 1] == 0).all()  # an id with no column scores 0 for everyone
    unseen = em.item_cf_scores(matrix, known, np.array([998, 999]), rank=4)
    assert unseen.shape == (30, 2) and not unseen.any()
    with pytest.raises(ValueError, match="rank"):
        em.item_cf_scores(matrix, known, known, rank=13)
    with pytest.raises(TypeError, match="rank"):
        em.item_cf_scores(matrix, known, known, rank=2.0)
    with pytest.raises(ValueError, match="len"):
        em.item_cf_scores(matrix, known[:5], known)


def test_top_k_lists_sort_by_score_then_tiebreak_and_skip_non_candidates():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 4, (50, 20)).astype(float)  # many ties
    candidate = rng.random((50, 20)) < 0.7
    candidate[0, 3:] = False  # a user with three candidates only
    tiebreak = rng.random((50, 20))
    got = em.top_k_lists(scores, candidate, tiebreak, k=5)
    for user in range(50):
        columns = [j for j in range(20) if candidate[user, j]]
        order = sorted(columns, key=lambda j: (-scores[user, j], tiebreak[user, j]))
        assert got[user] == order[:5]
    assert len(got[0]) == 3


def test_top_k_lists_reject_bad_input():
    ok = np.zeros((2, 3))
    with pytest.raises(ValueError, match="shape"):
        em.top_k_lists(ok, np.ones((2, 4), bool), ok, 2)
    with pytest.raises(ValueError, match="k must"):
        em.top_k_lists(ok, np.ones((2, 3), bool), ok, 0)
    with pytest.raises(ValueError, match="score"):
        em.top_k_lists(np.full((2, 3), np.nan), np.ones((2, 3), bool), ok, 2)


def test_grade_matches_scikit_learn_and_a_direct_recall():
    rng = np.random.default_rng(2)
    n_users, n_items, k = 40, 25, 10
    scores = rng.normal(size=(n_users, n_items))
    relevant = rng.random((n_users, n_items)) < 0.12
    relevant[0] = False  # a user without a relevant item is not judged
    candidate = np.ones_like(relevant)
    top = em.top_k_lists(scores, candidate, np.zeros_like(scores), k)
    judged = em.relevant_sets(relevant)
    assert set(judged) == set(np.flatnonzero(relevant.any(axis=1)))
    got = em.grade(top, judged, k)
    users = sorted(judged)
    recall = np.mean([len(set(top[u]) & judged[u]) / len(judged[u]) for u in users])
    ndcg = ndcg_score(relevant[users].astype(float), scores[users], k=k)
    assert got["recall"] == pytest.approx(recall)
    assert got["ndcg"] == pytest.approx(ndcg)
    nothing = em.grade([[0]] * n_users, {1: {5}}, k)
    assert nothing == {"recall": 0.0, "ndcg": 0.0}
    assert em.grade(top, judged, k, with_ndcg=False) == {"recall": got["recall"]}


def test_content_model_matches_scikit_learn_and_drops_columns():
    world = city()
    label = np.flatnonzero((world.event_week >= 6) & (world.event_week < 8))
    features = ew.point_in_time_features(world, label, history_end=6)
    x, y = em.training_rows(world, features, label, seed=0)
    eligible = world.distance[:, label] <= ew.RADIUS_KM
    assert y.sum() == (world.registered[:, label] & eligible).sum()
    assert (y == 0).sum() == pytest.approx(10 * world.n_users, rel=0.15)
    model = em.fit_content_model(x, y)
    standard = (x - x.mean(axis=0)) / x.std(axis=0)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000)
    theirs = reference.fit(standard, y).decision_function(standard)
    ours = em.content_scores(model, x)
    assert np.allclose(ours, theirs, atol=0.02)  # both minimise the same log loss

    def log_loss(logits: np.ndarray) -> float:
        return float(np.mean(np.logaddexp(0, logits) - y * logits))

    assert log_loss(ours) == pytest.approx(log_loss(theirs), abs=1e-6)
    dropped = em.fit_content_model(x, y, drop=ew.FEATURE_GROUPS["distance"])
    assert len(dropped.columns) == len(ew.FEATURES) - 2
    assert em.content_scores(dropped, x).shape == (x.shape[0],)


def test_content_model_rejects_bad_input():
    x, y = np.zeros((4, len(ew.FEATURES))), np.array([0.0, 1, 0, 1])
    with pytest.raises(ValueError, match="unknown"):
        em.fit_content_model(x, y, drop=("colour",))
    with pytest.raises(TypeError, match="string"):
        em.fit_content_model(x, y, drop="log price")
    with pytest.raises(ValueError, match="rows"):
        em.fit_content_model(x[:, :3], y)
