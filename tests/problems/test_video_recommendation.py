"""The video recommender's claims hold: retrieval, ranking, ANN, estimates, leakage."""

from __future__ import annotations

import re

import faiss
import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    storage_bytes,
)
from snippets.problems import video_recommendation as vr
from snippets.problems import video_recommendation_model as vrm

PAGE = "problems/video-recommendation.md"
MODULE = "snippets.problems.video_recommendation"


@pytest.fixture(scope="module")
def result() -> vrm.MiniatureResult:
    return vrm.default_result()


@pytest.fixture(scope="module")
def small_world() -> vrm.World:
    return vrm.make_world(n_users=600, n_videos=1_500, seed=3)


@pytest.fixture(scope="module")
def view(small_world) -> vrm.Snapshot:
    return vrm.snapshot(small_world, 2)


# --- design claims on the page's run -------------------------------------------


def test_two_tower_retrieval_beats_popularity(result):
    for k in (50, 200):
        assert result.recall["two-tower ANN"][k] > result.recall["popularity"][k]
    # ...by a clear margin, not noise: at least a fifth better at the cut-off we rank.
    assert result.recall["two-tower ANN"][200] > 1.2 * result.recall["popularity"][200]


def test_ranker_beats_popularity_and_the_retrieval_order(result):
    ndcg = result.ndcg_at_10
    assert ndcg["ranker (GBDT)"] > ndcg["two-tower score"] > ndcg["popularity"]
    assert ndcg["ranker (GBDT)"] > 1.1 * ndcg["two-tower score"]


def test_hnsw_finds_almost_all_of_the_exact_top_k(result):
    assert result.ann_recall >= 0.95


def test_only_the_fresh_source_finds_watches_of_new_uploads(result):
    assert result.new_video_share > 0.1  # the cold-start problem is real here
    assert result.new_video_recall["popularity"] == 0.0
    assert result.new_video_recall["two-tower ANN"] == 0.0  # outscored by warm videos
    assert result.new_video_recall["+ fresh uploads"] > 0.05
    recall = result.recall
    assert recall["+ fresh uploads"][200] > recall["two-tower ANN"][200]
    # The trending slots add nothing the embeddings lack in this world.
    assert recall["+ trending"][200] <= recall["+ fresh uploads"][200]


# --- the pieces, against references ------------------------------------------------


def test_exact_retrieval_equals_numpy_top_k_of_unseen(small_world, view):
    users = np.arange(0, 600, 37)
    got = vrm.retrieve(view.retriever, users, view.history, 30, exact=True)
    scores = view.retriever.user_vectors[users] @ view.retriever.video_vectors.T
    scores[view.history[users]] = -np.inf  # seen videos are never candidates
    for row, user_scores in zip(got, scores, strict=True):
        expected = np.sort(user_scores)[::-1][:30]
        np.testing.assert_allclose(np.sort(user_scores[row])[::-1], expected, rtol=1e-4)


def test_hnsw_matches_faiss_exact_search_on_a_small_world(small_world, view):
    users = np.arange(0, 600, 5)
    ann = vrm.retrieve(view.retriever, users, view.history, 50)
    exact = vrm.retrieve(view.retriever, users, view.history, 50, exact=True)
    overlap = np.mean([np.isin(a, e).mean() for a, e in zip(ann, exact, strict=True)])
    assert overlap >= 0.9
    assert not view.history[users[:, None], ann].any(), "a seen video was retrieved"


def test_snapshot_never_reads_the_future(small_world, view):
    """Wiping the label window and later must not change any feature."""
    empty = np.empty((0, 2), dtype=np.int64)
    blind = vrm.World(
        small_world.n_users,
        small_world.n_videos,
        small_world.upload_window,
        small_world.content,
        (*small_world.events[:2], empty, empty),
    )
    blind_view = vrm.snapshot(blind, 2)
    assert (blind_view.history == view.history).all()
    assert (blind_view.last_window == view.last_window).all()
    np.testing.assert_allclose(
        blind_view.retriever.video_vectors, view.retriever.video_vectors, atol=1e-6
    )
    assert not (view.labels & view.history).any(), "labels must be new watches"


def test_cold_videos_get_content_embeddings_and_future_ones_none(small_world, view):
    vectors = np.linalg.norm(view.retriever.video_vectors, axis=1)
    watched = view.history.any(axis=0)
    cold = ~watched & (small_world.upload_window <= 2)
    future = small_world.upload_window > 2
    assert cold.any() and future.any()
    assert (vectors[cold] > 0).all()
    assert (vectors[future] == 0).all()


def test_popularity_baseline_skips_seen_videos_and_follows_the_chart(small_world, view):
    users = np.arange(10)
    top = vrm.popularity_candidates(view.last_window, view.history, users, 20)
    counts = view.last_window.sum(axis=0)
    for user, row in zip(users, top, strict=True):
        assert not view.history[user, row].any()
        assert (np.diff(counts[row]) <= 0).all(), "most watched first"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=1, max_size=3), st.integers(0, 1_000))
def test_merge_fills_quotas_in_order_without_duplicates(quotas, seed):
    rng = np.random.default_rng(seed)
    k = sum(quotas)
    sources = [
        np.stack([rng.permutation(40)[: max(k, 1)] for _ in range(3)]) for _ in quotas
    ]
    merged = vrm.merge_sources(sources, quotas)
    assert merged.shape == (3, k)
    for row in range(3):
        assert len(set(merged[row].tolist())) == k
        # The first source's quota is its own head, untouched.
        assert (merged[row, : quotas[0]] == sources[0][row, : quotas[0]]).all()
        offered = set().union(*(set(source[row].tolist()) for source in sources))
        assert set(merged[row].tolist()) <= offered


def test_merge_tops_up_from_other_sources_when_one_runs_short():
    short = np.array([[1, 2]])
    long = np.array([[2, 3, 4, 5]])
    assert vrm.merge_sources([short, long], [3, 1]).tolist() == [[1, 2, 3, 4]]


def test_found_share_counts_only_the_target_videos():
    labels = np.zeros((2, 6), dtype=bool)
    labels[0, [1, 4]] = labels[1, 5] = True
    ranked = np.array([[4, 0], [2, 3]])
    assert vrm.found_share(ranked, labels, np.array([4, 5])) == pytest.approx(0.5)


def test_ranker_features_have_one_column_per_named_feature(small_world, view):
    users = np.arange(5)
    candidates = vrm.retrieve(view.retriever, users, view.history, 10)
    features = vrm.ranker_features(small_world, view, users, candidates)
    assert features.shape == (50, len(vrm.RANKER_FEATURES))
    assert np.isfinite(features).all()


# --- estimates -----------------------------------------------------------------------


def test_production_estimate_uses_the_shared_estimation_helpers():
    est = vr.production_estimate()
    assert est["peak_qps"] == pytest.approx(
        peak_qps(vr.DAILY_ACTIVE_USERS, vr.HOMEPAGE_LOADS_PER_USER, 2.0)
    )
    assert est["peak_qps"] == pytest.approx(500e6 * 5 / 86_400 * 2)
    assert est["index_float32_bytes"] == storage_bytes(1e9, 128 * 4)
    assert est["ranking_budget_ms"] == remaining_budget_ms(
        vr.TOTAL_BUDGET_MS, vr.STAGE_BUDGET_MS
    )


def test_the_cascade_fits_the_budget_and_the_single_big_ranker_does_not():
    est = vr.production_estimate()
    heavy_ms = vr.FUNNEL["ranking"] * vr.RANKER_US_PER_ITEM / 1_000
    assert heavy_ms <= est["ranking_budget_ms"] < est["single_stage_core_ms"]
    assert est["single_stage_cores"] > 3 * est["cascade_cores"]


def test_ab_sample_size_matches_the_closed_form_z_test():
    plan = vr.ab_test_plan()
    delta = vr.WATCH_MINUTES_MEAN * vr.MIN_DETECTABLE_LIFT
    z_alpha, z_power = norm.ppf(0.975), norm.ppf(0.8)
    closed_form = 2 * (z_alpha + z_power) ** 2 * vr.WATCH_MINUTES_STD**2 / delta**2
    assert plan["users_per_arm"] == pytest.approx(closed_form, rel=1e-3)
    assert plan["days_to_run"] >= max(plan["days_for_power"], vr.MIN_DAYS)
    # More power costs more users.
    assert vr.ab_test_plan(power=0.9)["users_per_arm"] > plan["users_per_arm"]


def test_measure_stage_latency_reports_positive_microseconds(monkeypatch):
    small = vrm.make_world(n_users=200, n_videos=500, seed=1)
    monkeypatch.setattr(vrm, "make_world", lambda: small)
    timings = vr.measure_stage_latency(n_queries=10, k=20)
    assert set(timings) == {
        "ann_us_per_query",
        "exact_us_per_query",
        "ranker_us_per_item",
    }
    assert all(value > 0 for value in timings.values())


# --- bad input -----------------------------------------------------------------------


def test_bad_input_fails_with_a_clear_message(small_world):
    with pytest.raises(ValueError, match="n_users must be an integer >= 100"):
        vrm.make_world(n_users=10)
    with pytest.raises(ValueError, match="n_videos must be an integer >= 100"):
        vrm.make_world(n_videos=True)
    with pytest.raises(ValueError, match="n_windows"):
        vrm.make_world(n_windows=2)
    with pytest.raises(ValueError, match="windows must lie in"):
        vrm.interaction_matrix(small_world, range(3, 9))
    with pytest.raises(ValueError, match="now must lie in"):
        vrm.snapshot(small_world, 0)
    with pytest.raises(ValueError, match="users x videos"):
        vrm.fit_retriever(small_world, np.zeros((3, 3), dtype=bool), now=1)
    view = vrm.snapshot(small_world, 1)
    with pytest.raises(ValueError, match="k must be positive"):
        vrm.retrieve(view.retriever, np.arange(3), view.history, 0)
    with pytest.raises(ValueError, match="seen must be"):
        vrm.retrieve(view.retriever, np.arange(3), view.history[:5], 10)
    with pytest.raises(TypeError, match="integer user ids"):
        vrm.retrieve(view.retriever, np.array([0.5, 1.5]), view.history, 10)
    with pytest.raises(ValueError, match="one row per user"):
        vrm.merge_sources([np.zeros((2, 5), int), np.zeros((3, 5), int)], [1, 1])
    with pytest.raises(ValueError, match="one non-negative quota"):
        vrm.merge_sources([np.zeros((2, 5), int)], [1, 2])
    with pytest.raises(ValueError, match="fewer than"):
        vrm.merge_sources([np.array([[1, 2]])], [3])
    with pytest.raises(ValueError, match="no watch"):
        vrm.found_share(np.array([[0]]), np.zeros((1, 3), bool), np.array([2]))
    with pytest.raises(ValueError, match="n_candidates"):
        vrm.run_miniature(small_world, n_candidates=5)
    with pytest.raises(ValueError, match="positive"):
        vr.measure_stage_latency(n_queries=0)
    with pytest.raises(ValueError, match="alpha and power"):
        vr.ab_test_plan(alpha=1.5)


# --- the page quotes what the code prints -------------------------------------------


def test_page_quotes_the_numbers_the_code_prints(result):
    out = module_output(MODULE)
    est = vr.production_estimate()
    recall = result.recall
    ndcg = result.ndcg_at_10
    assert f"{recall['two-tower ANN'][200]:.3f}" in out
    assert f"{result.ann_recall:.1%}" in out
    assert_page_quotes(
        PAGE,
        f"{recall['popularity'][200]:.3f}",
        f"{recall['two-tower ANN'][200]:.3f}",
        f"{recall['two-tower ANN'][50]:.3f}",
        f"{recall['+ fresh uploads'][200]:.3f}",
        f"{recall['+ trending'][200]:.3f}",
        f"{result.new_video_share:.1%}",
        f"{result.new_video_recall['+ fresh uploads']:.3f}",
        f"{result.ann_recall:.1%}",
        f"{ndcg['popularity']:.3f}",
        f"{ndcg['two-tower score']:.3f}",
        f"{ndcg['ranker (GBDT)']:.3f}",
        f"{est['peak_qps']:,.0f}",
        human_bytes(est["index_float32_bytes"]),
        human_bytes(est["index_int8_bytes"]),
        human_bytes(est["log_bytes_per_day"]),
        f"{est['ranking_budget_ms']:.0f} ms",
        f"{est['cascade_cores']:,.0f}",
        f"{est['single_stage_cores']:,.0f}",
        f"{vr.ab_test_plan()['users_per_arm']:,}",
        f"{est['cascade_core_ms']:.0f} core-ms",
        f"{est['single_stage_core_ms']:.0f} core-ms",
        f"~{est['peak_qps'] / 1_000:.0f}k peak QPS",
        f"{vr.DAILY_ACTIVE_USERS * vr.HOMEPAGE_LOADS_PER_USER / 1e9:.1f}B requests",
        f"take {sum(vr.STAGE_BUDGET_MS.values())} ms",
    )
    # Relative gains quoted in the prose, recomputed from the printed numbers.
    printed = dict(
        re.findall(r"^(ranker \(GBDT\)|two-tower score)\s+([\d.]+)$", out, re.M)
    )
    gain = float(printed["ranker (GBDT)"]) / float(printed["two-tower score"]) - 1
    assert_page_quotes(PAGE, f"{gain:.0%}")


def test_faiss_runs_single_threaded_for_reproducible_output():
    assert faiss.omp_get_max_threads() == 1
