"""The video recommender's claims hold: retrieval, ranking, ANN, estimates, leakage."""

from __future__ import annotations

import math
import re

import faiss
import numpy as np
import pytest
from guide import assert_page_quotes, module_output, prose
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import NormalIndPower

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    storage_bytes,
)
from snippets.problems import video_recommendation as vr
from snippets.problems import video_recommendation_eval as vre
from snippets.problems import video_recommendation_model as vrm

PAGE = "problems/video-recommendation.md"
MODULE = "snippets.problems.video_recommendation"


@pytest.fixture(scope="module")
def runs() -> tuple[vre.SeedResult, ...]:
    return vre.default_results()


@pytest.fixture(scope="module")
def small_world() -> vrm.World:
    return vrm.make_world(n_users=600, n_videos=1_500, seed=3)


@pytest.fixture(scope="module")
def view(small_world) -> vrm.Snapshot:
    return vrm.snapshot(small_world, 2)


def paired(runs, get_a, get_b) -> tuple[float, float]:
    return vre.paired_interval([get_a(r) for r in runs], [get_b(r) for r in runs])


def recall200(name):
    return lambda r: r.recall[name][200]


def ndcg(name):
    return lambda r: r.ndcg_at_10[name]


# --- design claims on the page's runs (five seeds) ---------------------------------


def test_two_tower_retrieval_beats_popularity_on_every_seed(runs):
    for run in runs:
        for k in (50, 200):
            assert run.recall["two-tower ANN"][k] > run.recall["popularity"][k]
    diff, half = paired(runs, recall200("two-tower ANN"), recall200("popularity"))
    assert diff - half > 0


def test_ranker_beats_the_retrieval_order_on_the_same_candidates(runs):
    diff, half = paired(runs, ndcg("ranker (GBDT)"), ndcg("two-tower score"))
    assert diff - half > 0
    for run in runs:
        assert (
            run.ndcg_at_10["two-tower score"] > run.ndcg_at_10["last-window popularity"]
        )


def test_the_dynamic_features_carry_the_rankers_whole_gain(runs):
    full, ablated = ndcg("ranker (GBDT)"), ndcg("ranker, no dynamic features")
    diff, half = paired(runs, full, ablated)
    assert diff - half > 0
    # Without them the ranker ties the retrieval order: the page says "entirely".
    diff, half = paired(runs, ablated, ndcg("two-tower score"))
    assert abs(diff) <= half


def test_the_fresh_source_adds_recall_and_trending_is_a_tie(runs):
    diff, half = paired(runs, recall200("+ fresh uploads"), recall200("two-tower ANN"))
    assert diff - half > 0
    diff, half = paired(runs, recall200("+ trending"), recall200("+ fresh uploads"))
    assert abs(diff) <= half, "the page calls this a tie"


def test_cold_uploads_lose_under_inner_product_because_their_vectors_are_short(runs):
    for run in runs:
        assert run.new_video_share > 0.1  # the cold-start problem is real here
        assert run.norm_ratio > 2
        assert run.length_popularity > 0.5  # length carries popularity
        found = run.new_found
        assert found["popularity"] == 0.0  # no watches yet: not on the chart
        assert found["two-tower ANN"] < 0.02  # outscored by longer warm vectors
        assert found["+ fresh uploads"] > 0.2
        # Same directions, warm lengths: the main source now finds them.
        assert found["two-tower, cold norms matched"] > 0.5
        assert found["two-tower, cosine"] > 0.5
        # Cosine also strips the warm videos' lengths, which carry popularity.
        recall = run.recall
        assert recall["two-tower, cosine"][50] < recall["two-tower, inner product"][50]
    diff, half = paired(
        runs,
        recall200("two-tower, cold norms matched"),
        recall200("two-tower, inner product"),
    )
    assert diff - half > 0
    # Cosine loses at the top of the list and ties at 200.
    cosine, inner = "two-tower, cosine", "two-tower, inner product"
    diff, half = paired(
        runs, lambda r: r.recall[cosine][50], lambda r: r.recall[inner][50]
    )
    assert diff + half < 0
    diff, half = paired(runs, recall200(cosine), recall200(inner))
    assert abs(diff) <= half


def test_without_the_freshness_effect_both_cold_start_remedies_cost_recall(runs):
    for run in runs:
        assert run.no_freshness["new-upload share"] < run.new_video_share / 2
    no_fresh, inner = [r.no_freshness for r in runs], "two-tower, inner product"
    diff, half = vre.paired_interval(
        [r["+ fresh uploads"] for r in no_fresh], [r[inner] for r in no_fresh]
    )
    with_effect, with_half = paired(
        runs, recall200("+ fresh uploads"), recall200("two-tower ANN")
    )
    assert diff < 0 and diff + half < with_effect - with_half
    diff, half = vre.paired_interval(
        [r["two-tower, cold norms matched"] for r in no_fresh],
        [r[inner] for r in no_fresh],
    )
    assert diff + half < 0


def test_the_ranker_puts_few_new_uploads_on_the_page(runs):
    for run in runs:
        assert run.new_in_page["two-tower score"] == 0.0
        assert run.new_in_page["ranker (GBDT)"] < run.new_in_watched_candidates / 3


def test_hnsw_recall_and_cost_grow_with_the_beam(runs):
    for run in runs:
        recalls = [run.ann_curve[ef][0] for ef in vre.EF_SWEEP]
        scored = [run.ann_curve[ef][1] for ef in vre.EF_SWEEP]
        assert recalls[0] < 0.9 <= 0.99 <= recalls[-1]
        assert np.all(np.diff(scored) > 0)
        assert np.all(np.diff(recalls) >= -0.01)
        assert run.ann_recall_pipeline > 0.95
        # At this corpus size a top-200 query scores most of the corpus.
        assert run.ann_scored_pipeline > 0.5 * run.n_videos


# --- the pieces, against references ------------------------------------------------


def test_world_knobs_change_only_what_they_name():
    base = vrm.make_world(n_users=300, n_videos=900, seed=5)
    explicit = vrm.make_world(
        n_users=300,
        n_videos=900,
        seed=5,
        freshness_decay=vrm.FRESHNESS_DECAY,
        taste_drift=vrm.TASTE_DRIFT,
    )
    flat = vrm.make_world(n_users=300, n_videos=900, seed=5, freshness_decay=0.0)
    still = vrm.make_world(n_users=300, n_videos=900, seed=5, taste_drift=0.0)
    for window in range(4):
        np.testing.assert_array_equal(base.events[window], explicit.events[window])
    # Window 0 has no uploads yet and no drift: every variant agrees there.
    for other in (flat, still):
        np.testing.assert_array_equal(base.events[0], other.events[0])
        assert not np.array_equal(base.events[3], other.events[3])

    def new_share(world):
        videos = world.events[3][:, 1]
        return np.isin(videos, np.flatnonzero(world.upload_window == 3)).mean()

    # With the freshness effect, new uploads draw a larger share of the watches.
    assert new_share(base) > 1.5 * new_share(flat)


def test_a_retriever_without_hnsw_searches_exactly_or_refuses(small_world, view):
    plain = vrm.fit_retriever(small_world, view.history, now=2, hnsw=False)
    assert plain.index is None
    users = np.arange(0, 600, 50)
    np.testing.assert_array_equal(
        vrm.retrieve(plain, users, view.history, 20, exact=True),
        vrm.retrieve(view.retriever, users, view.history, 20, exact=True),
    )
    with pytest.raises(ValueError, match="no HNSW index"):
        vrm.retrieve(plain, users, view.history, 20)


def test_exact_retrieval_equals_faiss_flat_search_of_unseen_released(small_world, view):
    retriever, users = view.retriever, np.arange(0, 600, 37)
    got = vrm.retrieve(retriever, users, view.history, 30, exact=True)
    flat = faiss.IndexFlatIP(retriever.video_vectors.shape[1])
    flat.add(retriever.video_vectors)
    for user, row in zip(users, got, strict=True):
        allowed = ~view.history[user] & (small_world.upload_window <= 2)
        params = faiss.SearchParameters()
        params.sel = faiss.IDSelectorBitmap(np.packbits(allowed, bitorder="little"))
        scores, ids = flat.search(
            retriever.user_vectors[user : user + 1], 30, params=params
        )
        assert allowed[row].all(), "seen or unreleased videos are never candidates"
        mine = retriever.user_vectors[user] @ retriever.video_vectors[row].T
        np.testing.assert_allclose(mine, scores[0], rtol=1e-4)  # same order, scores
        assert len(set(row.tolist()) & set(ids[0].tolist())) >= 29  # ties aside


def test_hnsw_matches_exact_search_and_skips_seen_and_unreleased(small_world, view):
    users = np.arange(0, 600, 5)
    ann = vrm.retrieve(view.retriever, users, view.history, 50, ef_search=100)
    exact = vrm.retrieve(view.retriever, users, view.history, 50, exact=True)
    assert vre.overlap(ann, exact) >= 0.9
    assert not view.history[users[:, None], ann].any(), "a seen video was retrieved"
    assert (small_world.upload_window[ann] <= 2).all(), "an unreleased video"


def test_distance_computations_count_what_faiss_scores(view):
    users = np.arange(0, 600, 60)
    small, few = vrm.distance_computations(view.retriever, users, view.history, 10, 10)
    large, many = vrm.distance_computations(
        view.retriever, users, view.history, 10, 200
    )
    assert 10 <= few < many <= 1_500  # never more than the corpus per query
    exact = vrm.retrieve(view.retriever, users, view.history, 10, exact=True)
    assert vre.overlap(large, exact) >= vre.overlap(small, exact)


def test_hnsw_graph_holds_the_ids_the_estimate_counts():
    """faiss allocates 2M neighbour slots on layer 0 and M per upper layer."""
    rng = np.random.default_rng(0)
    index = faiss.IndexHNSWFlat(2, vr.HNSW_M)
    index.hnsw.efConstruction = 8
    index.add(rng.normal(size=(20_000, 2)).astype(np.float32))
    neighbors = faiss.vector_to_array(index.hnsw.neighbors)
    slots = neighbors.size / index.ntotal
    est = vr.production_estimate()
    assert slots == pytest.approx(est["hnsw_ids_per_vector"], rel=0.01)
    assert est["hnsw_graph_bytes"] == pytest.approx(
        vr.RECOMMENDABLE_VIDEOS * slots * neighbors.itemsize, rel=0.01
    )
    # Per node, faiss also keeps an offset into the neighbour table and a level.
    offsets = faiss.vector_to_array(index.hnsw.offsets)
    levels = faiss.vector_to_array(index.hnsw.levels)
    node_bytes = (offsets.nbytes + levels.nbytes) / index.ntotal
    assert node_bytes == pytest.approx(vr.HNSW_NODE_BYTES, rel=0.01)
    assert est["hnsw_node_bytes"] == pytest.approx(
        vr.RECOMMENDABLE_VIDEOS * node_bytes, rel=0.01
    )


def test_index_shards_leave_memory_headroom():
    est = vr.production_estimate()
    assert est["index_replica_bytes"] == pytest.approx(
        est["index_int8_bytes"] + est["hnsw_graph_bytes"] + est["hnsw_node_bytes"]
    )
    per_shard = est["index_replica_bytes"] / est["index_shards"]
    assert per_shard <= vr.INDEX_MEMORY_FILL * vr.INDEX_MACHINE_BYTES
    # One shard fewer would overfill the machines: the count is the minimum.
    fewer = est["index_replica_bytes"] / (est["index_shards"] - 1)
    assert fewer > vr.INDEX_MEMORY_FILL * vr.INDEX_MACHINE_BYTES


def test_norm_ablations_change_only_vector_lengths(view):
    retriever = view.retriever
    warm = view.history.any(axis=0)
    variants = vre.norm_ablations(retriever, warm)
    before = np.linalg.norm(retriever.video_vectors, axis=1)
    matched = variants["two-tower, cold norms matched"].video_vectors
    after = np.linalg.norm(matched, axis=1)
    cold = ~warm & retriever.released
    assert after[cold].mean() == pytest.approx(before[warm].mean(), rel=1e-4)
    np.testing.assert_array_equal(matched[warm], retriever.video_vectors[warm])
    cosines = np.einsum("ij,ij->i", matched[cold], retriever.video_vectors[cold])
    np.testing.assert_allclose(cosines / (after[cold] * before[cold]), 1, rtol=1e-4)
    unit = variants["two-tower, cosine"].video_vectors[retriever.released]
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, rtol=1e-5)


def test_paired_interval_equals_scipys_paired_t_interval():
    a, b = [0.31, 0.29, 0.35, 0.30, 0.33], [0.27, 0.28, 0.30, 0.26, 0.31]
    diff, half = vre.paired_interval(a, b)
    ci = stats.ttest_rel(a, b).confidence_interval()
    assert diff - half == pytest.approx(ci.low)
    assert diff + half == pytest.approx(ci.high)


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
    assert (view.retriever.released == ~future).all()


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
    assert vre.found_share(ranked, labels, np.array([4, 5])) == pytest.approx(0.5)


def test_rank_orders_by_the_models_watch_probability(small_world, view):
    users = np.arange(40)
    candidates = vrm.retrieve(view.retriever, users, view.history, 10)
    features = vrm.ranker_features(small_world, view, users, candidates)
    assert features.shape == (400, len(vrm.RANKER_FEATURES))
    assert np.isfinite(features).all()
    labels = view.labels[np.repeat(users, 10), candidates.ravel()]
    model = vrm.fit_ranker(features, labels)
    ranked = vrm.rank(model, features, candidates)
    p_watch = dict(
        zip(
            zip(
                np.repeat(users, 10).tolist(), candidates.ravel().tolist(), strict=True
            ),
            model.predict_proba(features)[:, 1],
            strict=True,
        )
    )
    for user, row in zip(users, ranked, strict=True):
        assert sorted(row.tolist()) == sorted(candidates[user].tolist())
        probs = [p_watch[user, video] for video in row.tolist()]
        assert probs == sorted(probs, reverse=True)


# --- estimates -----------------------------------------------------------------------


def test_production_estimate_uses_the_shared_estimation_helpers():
    est = vr.production_estimate()
    assert est["peak_qps"] == pytest.approx(
        peak_qps(vr.DAILY_ACTIVE_USERS, vr.HOMEPAGE_LOADS_PER_USER, 2.0)
    )
    assert est["peak_qps"] == pytest.approx(500e6 * 5 / 86_400 * 2)
    assert est["index_float32_bytes"] == storage_bytes(1e9, 128 * 4)
    assert est["headroom_ms"] == remaining_budget_ms(
        vr.TOTAL_BUDGET_MS, vr.STAGE_ALLOCATION_MS
    )


def test_every_log_stream_is_counted():
    est = vr.production_estimate()
    # Impressions: 5 loads x 24 tiles; heartbeats: 60 minutes at one per 10 s;
    # features for 40 rows per load (24 shown, 16 sampled from all candidates),
    # each with both stages' inputs, 200 B + 1 kB; 20 actions.
    per_user = 5 * 24 * 200 + 60 * 6 * 100 + 5 * 40 * 1_200 + 20 * 200
    assert est["log_bytes_per_day"] == pytest.approx(500e6 * per_user)
    assert est["log features as served"] > est["log impressions"]


def test_latency_budget_keeps_headroom_and_fan_out_tightens_each_leaf():
    est = vr.production_estimate()
    assert est["allocated_ms"] + est["headroom_ms"] == vr.TOTAL_BUDGET_MS
    assert est["headroom_ms"] >= 0.15 * vr.TOTAL_BUDGET_MS
    assert "pre-ranker feature fetch" in vr.STAGE_ALLOCATION_MS
    assert "ranker feature fetch" in vr.STAGE_ALLOCATION_MS
    # If each leaf is fast with probability q, all n are with q^n: 0.99 at p99.
    q = est["leaf_percentile"] / 100
    assert q ** est["candidate_leaves"] == pytest.approx(0.99)


def test_the_cascade_is_about_cost_not_latency():
    est = vr.production_estimate()
    ranker_ms = vr.FUNNEL["ranking"] * vr.RANKER_US_PER_ITEM / 1_000
    assert ranker_ms <= vr.STAGE_ALLOCATION_MS["ranking"]  # fits on one core
    # The single big ranker meets the wall clock on a few parallel cores...
    parallel = est["single_stage_core_ms"] / est["single_stage_workers"]
    allocation = (
        vr.STAGE_ALLOCATION_MS["ranking"] + vr.STAGE_ALLOCATION_MS["pre-ranking"]
    )
    assert est["single_stage_workers"] > 1 and parallel <= allocation
    # ...but costs over three times the cores, and dollars in proportion.
    assert est["single_stage_cores"] > 3 * est["cascade_cores"]
    hours = 24 * 365
    assert est["cascade_usd_per_year"] == pytest.approx(
        est["cascade_cores"] * vr.USD_PER_CORE_HOUR * hours
    )
    assert est["single_stage_usd_per_year"] == pytest.approx(
        est["single_stage_cores"] * vr.USD_PER_CORE_HOUR * hours
    )


def test_the_ann_fleet_follows_from_vectors_scored_per_shard():
    est = vr.production_estimate()
    qps, shards = est["peak_qps"], est["index_shards"]
    shard_ms = 10_000 * 250e-9 * 1e3  # vectors scored x ns each, on one core
    assert est["ann_core_ms"] == pytest.approx(shards * shard_ms)
    assert est["ann_cores"] == pytest.approx(qps * shards * shard_ms / 1e3)
    # Each scored vector: a 128-byte int8 code and 2M = 32 int32 neighbour ids.
    assert est["ann_read_bytes_per_request"] == shards * 10_000 * (128 + 32 * 4)
    assert est["ann_read_bytes_per_s"] == pytest.approx(qps * shards * 10_000 * 256)
    # A 16-core machine at 50% serves 8 busy cores' worth of shard queries.
    per_replica = 16 * 0.5 / (shard_ms / 1e3)
    assert est["ann_qps_per_replica"] == pytest.approx(per_replica)
    # Any two of three regions carry the peak: each region holds half the load.
    per_region = math.ceil(qps / per_replica / 2)
    assert est["ann_replicas"] == 3 * per_region
    assert est["ann_machines"] == est["ann_replicas"] * shards
    year = vr.USD_PER_CORE_HOUR * 24 * 365
    assert est["ann_usd_per_year"] == pytest.approx(est["ann_machines"] * 16 * year)
    # The ranking stages provisioned the same way, for a like-for-like comparison.
    for stage in ("cascade", "single_stage"):
        busy = est[f"{stage}_cores"]
        cores = 3 * math.ceil(busy / 0.5 / 2)
        assert est[f"{stage}_provisioned_cores"] == cores
        assert est[f"{stage}_provisioned_usd_per_year"] == pytest.approx(cores * year)
    # The page's ranking of the levers: the cascade saves over five ANN fleets.
    saved = (
        est["single_stage_provisioned_usd_per_year"]
        - est["cascade_provisioned_usd_per_year"]
    )
    assert saved > 5 * est["ann_usd_per_year"]
    # "About half the cascade's bill".
    half = est["ann_usd_per_year"] / est["cascade_provisioned_usd_per_year"]
    assert 0.4 < half < 0.6


def test_shard_overflow_is_the_union_bound_of_a_binomial_tail():
    for k_total, shards, k_shard in ((800, 6, 200), (100, 4, 30), (50, 2, 25)):
        tail = stats.binom.sf(k_shard, k_total, 1 / shards)
        assert vr.shard_overflow(k_total, shards, k_shard) == pytest.approx(
            min(1.0, shards * tail), rel=1e-9
        )
    # Asking each shard for everything can never miss; a tiny ask nearly always does.
    assert vr.shard_overflow(800, 6, 800) == 0.0
    assert vr.shard_overflow(800, 6, 10) == 1.0
    est = vr.production_estimate()
    assert est["ann_shard_overflow"] == pytest.approx(
        6 * stats.binom.sf(200, 800, 1 / 6), rel=1e-9
    )
    assert est["ann_mean_per_shard"] == pytest.approx(800 / 6)
    for bad in ({"k_total": 0}, {"shards": 1.5}, {"k_shard": True}):
        args = {"k_total": 800, "shards": 6, "k_shard": 200} | bad
        with pytest.raises(ValueError, match="positive integer"):
            vr.shard_overflow(**args)


def test_feature_fetch_counts_every_candidate_of_every_stage():
    est = vr.production_estimate()
    qps = est["peak_qps"]
    assert est["fetch pre-ranking"] == pytest.approx(qps * 2_000 * 200)
    assert est["fetch ranking"] == pytest.approx(qps * 500 * 1_000)
    assert est["feature_fetch_bytes_per_s"] == pytest.approx(
        est["fetch pre-ranking"] + est["fetch ranking"]
    )
    assert est["feature_lookups_per_s"] == pytest.approx(qps * 2_500)
    # One big ranker fetches its full features for all 2,000: more bytes.
    assert est["single_stage_fetch_bytes_per_s"] == pytest.approx(qps * 2_000 * 1_000)
    assert est["single_stage_fetch_bytes_per_s"] > 2 * est["feature_fetch_bytes_per_s"]


def test_ab_sample_size_matches_statsmodels_power_solver():
    plan = vr.ab_test_plan()
    effect = vr.WATCH_MINUTES_MEAN * vr.MIN_DETECTABLE_LIFT / vr.WATCH_MINUTES_STD
    solved = NormalIndPower().solve_power(effect, alpha=0.05, power=0.8)
    assert plan["users_per_arm"] == pytest.approx(solved, rel=1e-4)
    assert plan["days_to_run"] >= max(plan["days_for_power"], vr.MIN_DAYS)
    # More power costs more users.
    assert vr.ab_test_plan(power=0.9)["users_per_arm"] > plan["users_per_arm"]


def test_measure_stage_latency_reports_positive_microseconds(monkeypatch):
    small = vrm.make_world(n_users=200, n_videos=500, seed=1)
    monkeypatch.setattr(vrm, "make_world", lambda: small)
    timings = vr.measure_stage_latency(n_queries=10, k=20)
    assert set(timings) == {
        "hnsw_us_per_query_ef20",
        "hnsw_us_per_query_ef40",
        "hnsw_us_per_query_ef80",
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
    with pytest.raises(ValueError, match="freshness_decay must lie"):
        vrm.make_world(freshness_decay=-0.5)
    with pytest.raises(ValueError, match="taste_drift must lie"):
        vrm.make_world(taste_drift=float("nan"))
    with pytest.raises(ValueError, match="windows must lie in"):
        vrm.interaction_matrix(small_world, range(3, 9))
    with pytest.raises(ValueError, match="now must lie in"):
        vrm.snapshot(small_world, 0)
    with pytest.raises(ValueError, match="users x videos"):
        vrm.fit_retriever(small_world, np.zeros((3, 3), dtype=bool), now=1)
    view = vrm.snapshot(small_world, 1)
    with pytest.raises(ValueError, match="k must be positive"):
        vrm.retrieve(view.retriever, np.arange(3), view.history, 0)
    with pytest.raises(ValueError, match="ef_search must be >= k"):
        vrm.retrieve(view.retriever, np.arange(3), view.history, 50, ef_search=20)
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
        vre.found_share(np.array([[0]]), np.zeros((1, 3), bool), np.array([2]))
    with pytest.raises(ValueError, match="n_candidates"):
        vre.run_seed(n_candidates=5)
    with pytest.raises(ValueError, match="at least two seeds"):
        vre.run_miniature(seeds=(0,))
    with pytest.raises(ValueError, match="at least two paired differences"):
        vre.paired_interval([0.1], [0.2])
    with pytest.raises(ValueError, match="must pair up"):
        vre.paired_interval([0.1, 0.2], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="positive"):
        vr.measure_stage_latency(n_queries=0)
    with pytest.raises(ValueError, match="alpha and power"):
        vr.ab_test_plan(alpha=1.5)


# --- the page quotes what the code prints -------------------------------------------


def printed(pattern: str) -> str:
    """One value from the program's output, found by a regular expression."""
    match = re.search(pattern, module_output(MODULE), re.M)
    assert match, f"the output has no line matching {pattern!r}"
    return match.group(1)


def row(name: str) -> list[str]:
    """The numbers of the table row that starts with `name`."""
    rest = printed(rf"^{re.escape(name)}\s{{2,}}(.*)$")
    return re.findall(r"\d[\d,]*(?:\.\d+)?%?", rest)


def test_page_quotes_the_numbers_the_code_prints():
    # Source rows: recall@50, recall@200, its min and max, new-upload watches found.
    recall = {
        name: row(name)
        for name in (
            "popularity",
            "two-tower ANN",
            "+ fresh uploads",
            "two-tower, inner product",
            "two-tower, cold norms matched",
            "two-tower, cosine",
        )
    }
    # Ordering rows: NDCG@10, its min and max, share of new uploads in the top 24.
    ndcg = {
        name: row(name)
        for name in (
            "last-window popularity",
            "two-tower score",
            "ranker (GBDT)",
            "ranker, no dynamic features",
        )
    }
    pairs = [
        printed(rf"^{re.escape(metric)}\s+{re.escape(label)}\s+([+-][\d.]+ ± [\d.]+)")
        for metric, label, _, _ in (*vr.PAIRS, *vr.NO_FRESHNESS_PAIRS)
    ]
    share, share_min, share_max = re.findall(
        r"[\d.]+", printed(r"uploaded in window 3: (.*) %$")
    )
    rejected = printed(r"\(~(\d+) rejected by the pre-ranker")
    est = vr.production_estimate()
    ranker_ms = vr.FUNNEL["ranking"] * vr.RANKER_US_PER_ITEM / 1_000
    two_stages = (
        vr.STAGE_ALLOCATION_MS["pre-ranking"] + vr.STAGE_ALLOCATION_MS["ranking"]
    )
    assert len(vre.SEEDS) == 5 and "five seeds" in prose(PAGE)
    assert len(vr.STAGE_ALLOCATION_MS) == 8 and "eight stages" in prose(PAGE)
    assert_page_quotes(
        PAGE,
        # the world and cold start
        f"{share}%",
        f"{share_min}-{share_max}%",
        printed(r"vectors are ([\d.]+x) shorter"),
        printed(r"past watches: (Spearman [\d.]+)"),
        printed(r"each ([\d,]+ users)"),
        printed(r"users, ([\d,]+ videos)"),
        printed(r"uploaded in window 3: (~[\d,]+) per seed"),
        printed(r"per seed \(([\d.]+%) of the corpus\)"),
        printed(r"share of the test watches: ([\d.]+) \[") + "%",
        f"{round(200 * vrm.FRESH_SHARE)} of 200 slots",
        f"e^-{vrm.FRESHNESS_DECAY}",
        # candidate sources
        f"recall@50 {recall['two-tower ANN'][0]} vs {recall['popularity'][0]}",
        recall["popularity"][1],
        recall["two-tower ANN"][1],
        recall["+ fresh uploads"][1],
        recall["+ fresh uploads"][4],
        recall["two-tower ANN"][4],
        recall["two-tower, cold norms matched"][1],
        recall["two-tower, cold norms matched"][4],
        recall["two-tower, cosine"][0],
        recall["two-tower, cosine"][4],
        recall["two-tower, inner product"][0],
        # HNSW
        printed(r"^\s+10\s+([\d.]+)\s"),
        printed(r"^\s+40\s+([\d.]+)\s"),
        printed(r"^\s+10\s+[\d.]+\s+[\d,]+ \((\d+%)\)"),
        printed(r"^\s+40\s+[\d.]+\s+[\d,]+ \((\d+%)\)"),
        printed(r"efSearch 256: ([\d.]+%) of the exact"),
        printed(r"efSearch 256: .* \((\d+%)\)$"),
        # the rankers on the same candidates
        ndcg["last-window popularity"][0],
        ndcg["two-tower score"][0],
        ndcg["ranker (GBDT)"][0],
        ndcg["ranker, no dynamic features"][0],
        ndcg["ranker (GBDT)"][3],
        printed(r"candidates users watched: ([\d.]+%)"),
        # the paired differences, in both worlds
        *pairs,
        # the estimate
        f"{est['peak_qps']:,.0f}",
        *(human_bytes(est[f"log {name}"]) for name in vr.LOG_STREAMS),
        human_bytes(est["log_bytes_per_day"]),
        human_bytes(est["index_float32_bytes"]),
        human_bytes(est["index_int8_bytes"]),
        human_bytes(est["hnsw_graph_bytes"]),
        human_bytes(est["hnsw_node_bytes"]),
        human_bytes(est["index_replica_bytes"]),
        f"{est['index_shards']} shards",
        f"{est['index_shard_fill']:.0%} full",
        f"{vr.INDEX_MEMORY_FILL:.0%}",
        f"{est['headroom_ms']:.0f} ms of it held back as headroom",
        f"p{est['leaf_percentile']:.2f}**, if the leaves' latencies are independent",
        *(human_bytes(est[f"fetch {stage}"]) for stage in vr.FEATURE_BYTES),
        human_bytes(est["feature_fetch_bytes_per_s"]),
        f"{est['feature_lookups_per_s'] / 1e6:.0f}M key lookups/s",
        human_bytes(est["single_stage_fetch_bytes_per_s"]),
        f"{est['single_stage_lookups_per_s'] / 1e6:.0f}M key lookups/s",
        f"${vr.USD_PER_CORE_HOUR:.2f} per core-hour",
        f"${est['cascade_usd_per_year'] / 1e6:.2f}M",
        f"${est['single_stage_usd_per_year'] / 1e6:.2f}M",
        f"{est['cascade_core_ms']:.0f} core-ms",
        f"{ranker_ms:.0f} core-ms",
        f"split over {est['single_stage_workers']} cores",
        f"{two_stages} ms of the two stages",
        f"{est['single_stage_cores'] / est['cascade_cores']:.1f} times as many",
        f"{est['candidate_leaves']} leaves",
        f"{vr.CANDIDATE_SOURCES - 1} other sources and "
        f"{est['index_shards']} ANN shards",
        # the ANN fleet and the provisioned comparison
        f"**{est['ann_core_ms']:.0f} core-ms** and"
        f" **{human_bytes(est['ann_read_bytes_per_request'])}**",
        f"**{est['ann_cores']:,.0f}** busy cores",
        f"**{human_bytes(est['ann_read_bytes_per_s'])}/s** of reads",
        f"and {est['ann_cores']:,.0f} for the",
        f"serves **{est['ann_qps_per_replica']:,.0f} QPS**",
        f"**{est['ann_replicas']} replicas**, **{est['ann_machines']} machines** and"
        f" **${est['ann_usd_per_year'] / 1e6:.2f}M a year**",
        f"take **{est['cascade_provisioned_cores']:,} cores**,"
        f"\n  **${est['cascade_provisioned_usd_per_year'] / 1e6:.2f}M**",
        f"**{est['single_stage_provisioned_cores']:,} cores**,"
        f" **${est['single_stage_provisioned_usd_per_year'] / 1e6:.2f}M**",
        f"holds {est['ann_mean_per_shard']:.0f} of the",
        f"**{est['ann_shard_overflow']:.1e}**",
        f"take {est['single_stage_provisioned_cores']:,} cores"
        f" (${est['single_stage_provisioned_usd_per_year'] / 1e6:.2f}M a year),"
        f" the cascade {est['cascade_provisioned_cores']:,}"
        f" (${est['cascade_provisioned_usd_per_year'] / 1e6:.2f}M)",
        f"{est['ann_machines']} machines, in the estimate",
        f"{rejected} of which the pre-ranker rejected",
        f"{est['single_stage_core_ms']:.0f} core-ms",
        f"{est['cascade_cores']:,.0f}",
        f"{est['single_stage_cores']:,.0f}",
        f"{vr.ab_test_plan()['users_per_arm']:,}",
        f"~{est['peak_qps'] / 1_000:.0f}k peak QPS",
        f"{vr.DAILY_ACTIVE_USERS * vr.HOMEPAGE_LOADS_PER_USER / 1e9:.1f}B requests",
    )
    # "Retrieval beats popularity at both cut-offs": neither interval reaches zero.
    for cut in (50, 200):
        diff = printed(
            rf"^recall@{cut}\s+two-tower ANN vs popularity\s+([+-][\d.]+ ± [\d.]+)$"
        )
        mean, half = (float(x) for x in diff.split(" ± "))
        assert mean - half > 0, f"recall@{cut}: {diff} is no win"
    # The interval verdicts the page states as ties.
    for label in (
        r"\+ trending vs without",
        r"recall@200 cosine vs inner product",
        r"no dynamic features vs two-tower score",
    ):
        assert printed(rf"{label}\s+[+-][\d.]+ ± [\d.]+ (tie)$") == "tie"


def test_faiss_runs_single_threaded_for_reproducible_output():
    assert faiss.omp_get_max_threads() == 1
