"""Feed ranking miniature: the value model's claims, its helpers, the page's numbers."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
from guide import ROOT, assert_page_quotes, module_output, paired_differences
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower

from snippets.common import estimation
from snippets.problems import feed_ranking as fr

PAGE = "problems/feed-ranking.md"
MODULE = "snippets.problems.feed_ranking"
NUMBER = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def section(start: str, end: str) -> str:
    return output().split(start, 1)[1].split(end, 1)[0]


def printed_heads() -> dict[str, dict[str, float]]:
    """Head table: name -> rate, auc, logloss, base, all, passive, active, top."""
    keys = ("rate", "auc", "logloss", "base", "all", "passive", "active", "top")
    rows = {}
    for line in section("Heads (", "Positives among").splitlines()[2:]:
        match = re.match(rf"^(\w+(?:, \w+)?)\s+((?:{NUMBER}\s*){{8}})$", line)
        if match:
            values = map(float, match[2].split())
            rows[match[1]] = dict(zip(keys, values, strict=True))
    return rows


def printed_rankings() -> dict[str, dict[str, float]]:
    """Ranking table: name -> the seven top-10 columns."""
    keys = ("clicks", "dwells", "comsh", "hides", "bait", "value", "click_heavy")
    rows = {}
    for line in section("\nranking ", "Most posts").splitlines()[1:]:
        match = re.match(rf"^\s*(.+?)\s+((?:{NUMBER}\s*){{7}})$", line)
        if match:
            values = map(float, match[2].split())
            rows[match[1]] = dict(zip(keys, values, strict=True))
    return rows


def printed_differences() -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    """(comparison, line label) -> (mean, low, high, printed as a tie)."""
    return paired_differences(output())


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return printed_differences()[block, label]


def printed_author_counts() -> tuple[float, float]:
    match = re.search(r"top 10: (\S+), (\S+) capped", output())
    return float(match[1]), float(match[2])


def printed_flagged() -> dict[str, tuple[float, float]]:
    line = output().split("clickbait score > 0.5 vs the rest:")[1].splitlines()[1]
    return {
        head: (float(a), float(b))
        for head, a, b in re.findall(r"(\w+) (\d\.\d+) vs (\d\.\d+)", line)
    }


def test_tables_parse_completely():
    assert set(printed_heads()) == {
        *fr.HEADS,
        "comment, downsampled",
        "comment, recalibrated",
    }
    assert len(printed_rankings()) == 10
    assert len(printed_differences()) == sum(len(c[2]) for c in fr.COMPARISONS)


def test_every_head_beats_its_base_rate_and_is_calibrated_on_average():
    heads = printed_heads()
    for head in fr.HEADS:
        row = heads[head]
        assert row["logloss"] < row["base"], head
        assert row["auc"] > 0.7, head
        assert 0.9 <= row["all"] <= 1.1, head
        assert 0.9 <= row["top"] <= 1.1, head


def test_reaction_heads_are_miscalibrated_for_passive_users_only():
    heads = printed_heads()
    for head in ("like", "comment", "share"):
        assert heads[head]["passive"] > 1.3 * heads[head]["all"], head
        assert 0.9 <= heads[head]["active"] <= 1.1, head
    for head in ("click", "dwell", "hide"):  # dense enough or not activity-driven
        assert 0.85 <= heads[head]["passive"] <= 1.15, head


def test_downsampling_breaks_scale_not_order_and_the_correction_restores_it():
    heads = printed_heads()
    full, raw = heads["comment"], heads["comment, downsampled"]
    fixed = heads["comment, recalibrated"]
    assert raw["auc"] == pytest.approx(full["auc"], abs=0.01)
    assert raw["all"] > 5 and raw["logloss"] > raw["base"]
    assert raw["top"] < raw["all"] < raw["passive"]  # not one constant factor
    assert fixed["all"] == pytest.approx(1.0, abs=0.05)
    assert fixed["logloss"] < fixed["base"]
    worse = diff(
        "comment head downsampled minus value, six heads", "value@10, per user"
    )
    assert worse[2] < 0 and not worse[3]
    tie = diff("comment head recalibrated minus value, six heads", "value@10, per user")
    assert tie[1] <= 0 <= tie[2] and tie[3]


def test_value_score_trades_clicks_for_fewer_hides_and_less_bait():
    block = "value, six heads minus click head only"
    for label, sign in (
        ("clicks, per user", -1),
        ("long dwells, per user", +1),
        ("comments+shares, per user", +1),
        ("hides, per user", -1),
        ("clickbait posts, per user", -1),
    ):
        _, low, high, tie = diff(block, label)
        assert not tie and sign * low > 0 and sign * high > 0, label
    rankings = printed_rankings()
    assert rankings["click head only"]["bait"] > 3 * rankings["random"]["bait"]
    assert rankings["value, six heads"]["hides"] < rankings["random"]["hides"] / 2


def test_the_verdict_depends_on_the_grading_weights():
    block = "value, six heads minus click head only"
    assert diff(block, "value@10, per user")[1] > 0
    assert diff(block, "value@10, click-heavy wts, per user")[2] < 0
    block = "value, six heads minus value, click-heavy weights"
    assert diff(block, "value@10, per user")[1] > 0
    assert diff(block, "value@10, click-heavy wts, per user")[2] < 0


def test_the_hide_head_is_what_keeps_clickbait_down():
    block = "without the hide head minus value, six heads"
    for label in ("hides, per user", "clickbait posts, per user"):
        assert diff(block, label)[1] > 0, label


def test_dwell_head_matters_most_for_passive_users_and_per_load_hides_it():
    block = "value, six heads minus without the dwell head"
    passive = diff(block, "value@10, passive users")
    active = diff(block, "value@10, active users")
    assert passive[1] > active[2] > 0  # intervals apart
    assert (
        diff(block, "long dwells, passive users")[1]
        > diff(block, "long dwells, active users")[2]
    )
    per_user, per_load = (
        diff(block, "value@10, per user"),
        diff(block, "value@10, per feed load"),
    )
    assert per_load[0] < per_user[0]


def test_diversity_cap_bounds_authors_and_costs_value():
    before, after = printed_author_counts()
    assert after <= 2 < before
    block = "diversified, cap 2 per author minus value, six heads"
    assert diff(block, "posts by one author, per user")[2] < 0
    cost = diff(block, "value@10, per user")
    assert cost[1] > -3 and cost[2] < 0


def test_baselines_order_and_clickbait_draws_clicks_and_hides():
    rankings = printed_rankings()
    chron, random = rankings["reverse chronological"], rankings["random"]
    assert chron["comsh"] > random["comsh"]
    assert rankings["value, six heads"]["comsh"] > chron["comsh"]
    rates = printed_flagged()
    assert rates["click"][0] > 1.5 * rates["click"][1]
    assert rates["hide"][0] > 5 * rates["hide"][1]
    assert rates["share"][0] < rates["share"][1]


def test_estimates_come_from_the_shared_estimation_functions():
    est = fr.estimate_capacity()
    qps = estimation.peak_qps(500e6, 8, 2)
    assert est["peak_feed_qps"] == pytest.approx(qps)
    assert est["heavy_per_s"] == pytest.approx(qps * 500)
    stages = {k[6:]: v for k, v in est.items() if k.startswith("stage:")}
    assert est["headroom_ms"] == estimation.remaining_budget_ms(250, stages) > 0
    assert est["post_store"] == estimation.human_bytes(300e6 * 7 * 1_000 * 3)
    # Per candidate: post 1 kB + author 300 B + affinity 100 B; plus a 2 kB user row.
    fetched = qps * (2_000 * (1_000 + 300 + 100) + 2_000)
    assert est["feature_fetch_per_s"] == estimation.human_bytes(fetched)
    loads = 500e6 * 8
    # Seen posts are known only when the impressions arrive: logged at ranking time,
    # every returned post (50) plus 10 unshown; behind the buffer, 20 seen + 10.
    assert est["feature_log_returned_per_day"] == estimation.human_bytes(
        loads * 60 * 1_400
    )
    assert est["feature_log_per_day"] == estimation.human_bytes(loads * 30 * 1_400)
    assert est["feature_buffer"] == estimation.human_bytes(qps * 50 * 1_400 * 3_600)
    assert est["user_rows_per_day"] == estimation.human_bytes(loads * 2_000)
    assert est["author_store"] == estimation.human_bytes(1e9 * 300 * 3)
    assert est["affinity_store"] == estimation.human_bytes(1e9 * 100 * 100 * 3)
    # The slowest of 4 parallel sources meets the bound with probability q^4 = 0.99.
    q = est["source_percentile"] / 100
    assert q**4 == pytest.approx(0.99)
    # 2,000 keys over 20 shards: every shard is hit, plus one user shard, so each
    # of the 21 needs q^21 = 0.99.
    assert (1 - 1 / est["shards"]) ** 2_000 < 1e-40
    assert est["fetch_fan_out"] == 21
    assert (est["shard_percentile"] / 100) ** 21 == pytest.approx(0.99)
    assert est["post_shard_bytes"] == estimation.human_bytes(
        (300e6 * 7 * 1_000 + 1e9 * 300) / 20
    )
    # Accelerators: FLOP/s over an A100's 312 TFLOPS at 30%, rounded up.
    flops = qps * 500 * 1e9
    assert est["accelerators"] == math.ceil(flops / (312e12 * 0.3)) == 495
    assert est["accelerators_at_peak"] == pytest.approx(flops / 312e12)
    assert est["heavy_ms_per_load"] == pytest.approx(500 * 1e9 / (312e12 * 0.3) * 1e3)
    # Network: bytes x 8 over 100 Gb/s NICs at 50%.
    assert est["fetch_hosts"] == math.ceil(fetched * 8 / 50e9) == 42
    assert est["feature_fetch_tbit_per_s"] == pytest.approx(fetched * 8 / 1e12)
    # Cheaper stages: 10 us of a core per first-pass score, 5 ms of CPU per load
    # for the two-tower source; an A100 costs as much as 50 cores.
    first, ann = math.ceil(qps * 2_000 * 10e-6), math.ceil(qps * 5e-3)
    assert (est["first_pass_cores"], est["ann_cores"]) == (first, ann) == (1852, 463)
    assert est["heavy_core_equivalents"] == 495 * 50
    assert est["heavy_over_cheap"] == pytest.approx(495 * 50 / (first + ann))
    # At the break-even FLOPs per post the fleet's core-equivalents equal the rest.
    even = est["break_even_flops_per_post"]
    assert qps * 500 * even / (312e12 * 0.3) * 50 == pytest.approx(first + ann)
    assert est["heavy_over_cheap"] > 1 and even < 1e9
    assert est["heavy_only_fetch_per_s"] == estimation.human_bytes(qps * 500 * 1_000)


def brute_force_store_nodes(keys_per_node: float) -> int:
    """The store fleet, replica by replica: add a replica to a table's shards until
    they serve its key reads, never fewer than 3."""
    qps = estimation.peak_qps(500e6, 8, 2)
    nodes = 0
    # (shards, key reads a second): posts + authors on 20 shards; users + affinity
    # (12 TB once) on 256 GB shards, read once per candidate plus the user's row.
    user_shards = 1
    while user_shards * 256e9 < 1e9 * 2_000 + 1e11 * 100:
        user_shards += 1
    for shards, keys in ((20, qps * 4_000), (user_shards, qps * 2_001)):
        replicas = 3
        while shards * replicas * keys_per_node < keys:
            replicas += 1
        nodes += shards * replicas
    return nodes


def test_the_store_is_sized_by_key_reads_and_compared_with_the_heavy_ranker():
    est = fr.estimate_capacity()
    qps = estimation.peak_qps(500e6, 8, 2)
    assert est["store_keys_per_s"] == pytest.approx(qps * (3 * 2_000 + 1))
    assert est["store_nodes"] == brute_force_store_nodes(1e6)
    assert est["store_nodes_point_reads"] == brute_force_store_nodes(1e5)
    # Every shard's data fits a node's memory: posts + authors, users + affinity.
    assert (300e6 * 7 * 1_000 + 1e9 * 300) / 20 <= 256e9
    assert (1e9 * 2_000 + 1e11 * 100) / est["user_shards"] <= 256e9
    heavy = est["heavy_core_equivalents"]
    assert est["store_over_heavy"] == pytest.approx(est["store_nodes"] * 32 / heavy)
    assert est["store_over_heavy"] < 1 < est["store_over_heavy_point_reads"]
    # At the break-even rate a reads-bound store costs what the heavy ranker costs.
    even = est["break_even_keys_per_node"]
    assert est["store_keys_per_s"] / even * 32 == pytest.approx(heavy)
    assert 1e5 < even < 1e6


@pytest.mark.parametrize(("icc", "size"), [(0.01, 1_000), (0.05, 1_000), (0.2, 50)])
def test_cluster_test_size_matches_statsmodels_times_the_design_effect(icc, size):
    got = fr.clusters_per_arm(0.01, 1.0, icc, size)
    # Users per arm for a standardised effect of MDE / CV, from statsmodels.
    users = NormalIndPower().solve_power(
        effect_size=0.01 / 1.0, alpha=0.05, power=0.8, ratio=1.0
    )
    assert got["users_if_independent"] == pytest.approx(users, rel=1e-3)
    assert got["design_effect"] == pytest.approx(1 + (size - 1) * icc)
    # Rounded up to whole clusters (statsmodels' n differs in the 6th digit: it
    # also counts the far tail's tiny share of the power).
    needed = users * (1 + (size - 1) * icc) / size
    low, high = math.ceil(needed * (1 - 1e-5)), math.ceil(needed * (1 + 1e-5))
    assert low <= got["clusters"] <= high


def test_the_design_effect_is_the_variance_inflation_of_a_cluster_mean():
    """Simulated: users share a cluster effect (variance ICC), so the mean of k
    clusters of m users has variance (1 + (m - 1) ICC) / (k m), not 1 / (k m)."""
    rng = np.random.default_rng(6)
    icc, m, k, reps = 0.05, 40, 10, 20_000
    cluster = rng.normal(0, math.sqrt(icc), (reps, k, 1))
    users = cluster + rng.normal(0, math.sqrt(1 - icc), (reps, k, m))
    inflation = users.mean(axis=(1, 2)).var() * k * m
    expected = fr.clusters_per_arm(0.01, 1.0, icc, m)["design_effect"]
    assert inflation == pytest.approx(expected, rel=0.05)


def test_cluster_test_size_rejects_bad_input():
    with pytest.raises(ValueError, match="relative_mde"):
        fr.clusters_per_arm(0.0, 1.0, 0.01, 1_000)
    with pytest.raises(ValueError, match="icc"):
        fr.clusters_per_arm(0.01, 1.0, 1.5, 1_000)
    with pytest.raises(TypeError, match="cluster_size"):
        fr.clusters_per_arm(0.01, 1.0, 0.01, 10.5)


def test_the_diagram_carries_the_budget_table():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    est = fr.estimate_capacity()
    stages = [v for k, v in est.items() if k.startswith("stage:")]
    shown = [float(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    # Every stage's allocation, then the sum, the headroom and the target.
    assert shown == [*stages, sum(stages), est["headroom_ms"], est["budget_ms"]]


def test_simulation_is_seeded_and_heavy_users_are_active():
    a = fr.simulate_feeds(60, 40, seed=3)
    b = fr.simulate_feeds(60, 40, seed=3)
    np.testing.assert_array_equal(a.features, b.features)
    bait = a.clickbait
    for head in ("click", "hide"):
        assert a.true_prob[head][bait].mean() > a.true_prob[head][~bait].mean()
    assert a.true_prob["share"][bait].mean() < a.true_prob["share"][~bait].mean()
    rates = {h: a.true_prob[h].mean() for h in fr.HEADS}
    assert rates["comment"] < rates["like"] < rates["click"]
    # Passive users make fewer feed loads: a per-load average under-weights them.
    big = fr.simulate_feeds(400, 5, seed=4)
    first = np.unique(big.load, return_index=True)[1]
    loads = Counter(big.user[first].tolist())
    passive_users = set(big.user[big.passive].tolist())
    mean_loads = {
        flag: np.mean([n for u, n in loads.items() if (u in passive_users) == flag])
        for flag in (True, False)
    }
    assert mean_loads[True] < mean_loads[False] / 2


def test_grading_uses_the_hidden_truth_unclipped():
    world = fr.simulate_feeds(30, 50, seed=8)
    truth = fr.what_the_top_brings(world)
    expected = fr.value_score(world.true_prob, fr.VALUE_WEIGHTS)
    np.testing.assert_allclose(truth["value"], expected)
    assert (truth["value"] < 0).any()  # harmful posts keep their negative value
    np.testing.assert_allclose(
        truth["comments+shares"],
        world.true_prob["comment"] + world.true_prob["share"],
    )


def test_value_score_is_the_weighted_sum_and_rejects_bad_input():
    probs = {"click": [0.1, 0.5], "hide": [0.2, 0.0]}
    np.testing.assert_allclose(
        fr.value_score(probs, {"click": 1.0, "hide": -10.0}), [-1.9, 0.5]
    )
    with pytest.raises(ValueError, match="no prediction for weighted heads"):
        fr.value_score(probs, {"share": 1.0})
    with pytest.raises(ValueError, match="must be <= 1"):
        fr.value_score({"click": [1.5]}, {"click": 1.0})
    with pytest.raises(ValueError, match="non-negative, no NaN"):
        fr.value_score({"click": [np.nan]}, {"click": 1.0})
    with pytest.raises(ValueError, match="expected 2"):
        fr.value_score({"click": [0.1, 0.2], "like": [0.1]}, {"click": 1, "like": 1})
    with pytest.raises(ValueError, match="weights is empty"):
        fr.value_score(probs, {})


def reference_top_k(load, score, k):
    """Independent: per load, sort (−score, row) in Python and keep k rows."""
    groups = defaultdict(list)
    for row, (group, value) in enumerate(zip(load, score, strict=True)):
        groups[group].append((-value, row))
    return {g: [row for _, row in sorted(items)[:k]] for g, items in groups.items()}


@pytest.mark.parametrize("layout", ["blocks", "shuffled", "unequal"])
def test_top_k_rows_and_totals_match_a_reference(layout):
    rng = np.random.default_rng(5)
    load = np.repeat(np.arange(6), 12)
    if layout == "shuffled":
        load = rng.permutation(load)
    elif layout == "unequal":
        load = np.repeat(np.arange(6), [3, 12, 7, 12, 1, 20])
    score = rng.integers(0, 5, load.size).astype(float)  # many ties
    value = rng.normal(size=load.size)
    expected = reference_top_k(load.tolist(), score.tolist(), 4)
    rows = fr.top_k_rows(load, score, 4)
    got = defaultdict(list)
    for row in rows:
        got[int(load[row])].append(int(row))
    assert dict(got) == expected
    totals = fr.top_k_totals(load, rows, {"value": value})["value"]
    for group in range(6):
        assert totals[group] == pytest.approx(value[expected[group]].sum())


def test_per_user_mean_weights_users_not_loads():
    per_load = np.array([1.0, 1.0, 1.0, 1.0, 5.0])
    users = np.array([7, 7, 7, 7, 9])  # a heavy user with 4 loads, a light one
    assert fr.per_user_mean(per_load, users) == pytest.approx((1.0 + 5.0) / 2)
    assert per_load.mean() == pytest.approx(1.8)
    with pytest.raises(ValueError, match="equal length"):
        fr.per_user_mean(per_load, users[:3])


def test_most_by_one_author_matches_counter():
    rng = np.random.default_rng(2)
    load = np.repeat(np.arange(5), 15)
    author = rng.integers(0, 4, load.size) + 100 * load
    score = rng.random(load.size)
    rows = fr.top_k_rows(load, score, 6)
    most = fr.most_by_one_author(load, rows, author)
    for group in range(5):
        top = [author[r] for r in rows if load[r] == group]
        assert most[group] == max(Counter(top).values())


def test_calibration_ratios_by_segment_and_top_bucket():
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1] * 10)
    p = np.linspace(0.01, 0.6, y.size)
    passive = np.arange(y.size) % 2 == 0
    got = fr.calibration_ratios(y, p, passive)
    assert got["passive"] == pytest.approx(p[passive].mean() / y[passive].mean())
    top = p >= np.quantile(p, 0.95)
    assert got["top 5%"] == pytest.approx(p[top].mean() / y[top].mean())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=30),
    st.integers(1, 3),
    st.integers(1, 12),
)
def test_diversify_keeps_every_item_and_respects_the_cap(authors, cap, k):
    ranked = list(range(len(authors)))
    order = fr.diversify(ranked, authors, max_per_author=cap, k=k)
    assert sorted(order) == ranked
    # Too few authors to fill k under the cap: the rest of the top k is backfilled.
    filled = min(k, sum(min(authors.count(a), cap) for a in set(authors)))
    top = [authors[i] for i in order[:filled]]
    assert max(top.count(a) for a in set(top)) <= cap
    # Without a violation the order is unchanged.
    if all(authors[:k].count(a) <= cap for a in authors[:k]):
        assert order[:k] == ranked[:k]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="at least 1"):
        fr.diversify([0, 1], [0, 0], max_per_author=0, k=2)
    with pytest.raises(ValueError, match="n_users must be a positive integer"):
        fr.simulate_feeds(0, 10, seed=1)
    with pytest.raises(ValueError, match="unknown heads"):
        fr.train_heads(fr.simulate_feeds(5, 10, seed=1), {"retweet": 0.1})
    with pytest.raises(ValueError, match="k must be a positive integer"):
        fr.top_k_rows([0, 0], [0.1, 0.2], k=0)
    with pytest.raises(ValueError, match="NaN"):
        fr.top_k_rows([0, 0], [0.1, np.nan], k=1)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        fr.top_k_rows([], [], k=1)


def test_page_quotes_the_numbers_the_code_prints():
    heads, rankings = printed_heads(), printed_rankings()
    quoted = [f"{heads[h]['rate']:.3f}" for h in fr.HEADS]  # the labels table
    quoted += [f"{heads[h]['auc']:.3f}" for h in ("click", "share", "comment")]
    quoted += [f"{heads[h]['passive']:.2f}" for h in ("like", "comment", "share")]
    every = [heads[h]["all"] for h in fr.HEADS]
    quoted += [f"{min(every):.2f} to {max(every):.2f}"]
    raw, fixed = heads["comment, downsampled"], heads["comment, recalibrated"]
    quoted += [f"{raw['all']:.2f}", f"{raw['top']:.2f}", f"{raw['passive']:.2f}"]
    quoted += [f"{raw['logloss']:.4f}", f"{raw['base']:.4f}"]
    quoted += [f"{fixed['all']:.2f}", f"{fixed['passive']:.2f}"]
    quoted += re.findall(r"comment (\d+)", output().split("Positives among")[1])[:1]
    for name, keys in (
        ("reverse chronological", ("comsh", "hides")),
        ("value, six heads", ("comsh", "hides")),
        ("click head only", ("hides",)),
    ):
        quoted += [f"{rankings[name][key]:.3f}" for key in keys]
    quoted += [
        f"{rankings[n]['bait']:.2f}" for n in ("click head only", "value, six heads")
    ]
    quoted += [f"{v:.2f}" for v in printed_author_counts()]
    flagged = printed_flagged()
    quoted += [
        f"{flagged[h][0]:.3f} against {flagged[h][1]:.3f}" for h in ("click", "hide")
    ]
    quoted += re.findall(r"true value is negative: (\S+);", output())
    lowest = float(re.search(r"the lowest (-\d+\.\d+)", output())[1])
    assert -20 < lowest < 0  # a certain hide and nothing else would be worth -20
    quoted.append(f"worth −{abs(lowest):.2f}")
    for (block, label), (mean, low, high, _) in printed_differences().items():
        if "posts by one author" not in label:
            quoted.append(f"{abs(mean):.3f}")
        if block.startswith(("comment head recalibrated", "diversified")) and (
            "value" in label
        ):
            quoted += [f"{abs(low):.3f}", f"{abs(high):.3f}"]
    est = fr.estimate_capacity()
    quoted += [
        f"{est['peak_feed_qps']:,.0f}",
        f"{est['heavy_per_s'] / 1e6:.1f} million",
        f"{est['first_pass_per_s'] / 1e6:.0f} million",
        est["user_store"],
        est["post_store"],
        est["impression_log_per_day"],
        est["feature_log_per_day"],
        est["feature_fetch_per_s"],
        f"p{est['source_percentile']:.2f}",
        f"p{est['shard_percentile']:.2f}",
        f"{est['headroom_ms']:.0f} ms",
        f"{est['feature_fetch_tbit_per_s']:.2f} Tb/s",
        f"{est['fetch_hosts']} hosts' NICs",
        f"**{est['fetch_hosts']}**",
        f"**{est['first_pass_cores']:,} cores**",
        f"**{est['ann_cores']} cores**",
        f"{est['heavy_core_equivalents']:,} cores' worth",
        f"**{est['heavy_over_cheap']:.1f}x**",
        f"{est['heavy_over_cheap']:.1f}x the first pass",
        f"**{est['break_even_flops_per_post'] / 1e6:.0f} MFLOP**",
        f"below {est['break_even_flops_per_post'] / 1e6:.0f} MFLOP",
        f"{est['first_pass_cores']:,} cores at an assumed",
        est["author_store"],
        est["affinity_store"],
        f"each of the {est['fetch_fan_out']} shards",
        f"{est['heavy_only_fetch_per_s']} per second",
        f"**{est['accelerators_at_peak']:.0f}** A100",
        f"{est['accelerators']} A100s",
        f"{est['heavy_flops_per_s']:.1e} FLOP/s",
        f"take {est['heavy_ms_per_load']:.1f} ms",
        f"({est['post_shard_bytes']} of posts and authors each",
        est["feature_log_returned_per_day"],
        est["feature_buffer"],
        est["user_rows_per_day"],
    ]
    # The store and the online test, parsed from the printed estimate.
    out = output()
    keys = re.search(r"key reads per second, store side\s+([\d,]+)", out)[1]
    nodes = re.search(r"store nodes at [\d,]+ keys/s\s+([\d,]+)", out)[1]
    posts = re.search(r"post\+author shards x replicas\s+(\d+) x (\d+)", out)
    users = re.search(r"user\+affinity shards x replicas\s+(\d+) x (\d+)", out)
    cores = re.search(r"as cores, 32 per node\s+([\d,]+)", out)[1]
    over = re.findall(r"over the heavy ranker\s+(\S+)x", out)
    point = re.search(r"at 100,000 keys/s: nodes\s+([\d,]+)", out)[1]
    even = re.search(r"break-even keys/s a node\s+([\d,]+)", out)[1]
    quoted += [
        f"**{keys} key reads",
        f"**{nodes} nodes**",
        f"{nodes} key-value nodes",
        f"20 post-and-author shards need {posts[2]} replicas each and the",
        f"{users[1]} user shards {users[2]}",
        f"**{cores} cores' worth**",
        f"**{over[0]}x** as much",
        f"{over[0]}x the",
        f"**{over[1]}x** as much",
        f"{point} nodes",
        f"**{even}** keys",
        f"or {even} keys",
    ]
    test = re.search(r"randomised one by one\s+([\d,]+)", out)[1]
    quoted += [f"**{test}** users"]
    for effect, clusters, share in re.findall(
        r"ICC \d\.\d+: design effect (\S+), ([\d,]+) clusters per arm, (\S+) of DAU",
        out,
    ):
        quoted += [effect, f"{clusters} clusters per arm", share]
    assert_page_quotes(PAGE, *quoted)
