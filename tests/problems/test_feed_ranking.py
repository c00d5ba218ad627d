"""Feed ranking miniature: the value model's claims, its helpers, the page's numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from snippets.common import estimation
from snippets.problems import feed_ranking as fr

PAGE = "problems/feed-ranking.md"
MODULE = "snippets.problems.feed_ranking"


def printed_heads() -> dict[str, dict[str, float]]:
    """The per-head table: head -> weight, rate, auc, logloss, base, calibration."""
    rows = {}
    for line in module_output(MODULE).splitlines():
        parts = line.split()
        if parts and parts[0] in fr.HEADS and len(parts) == 7:
            keys = ("weight", "rate", "auc", "logloss", "base", "calibration")
            rows[parts[0]] = dict(zip(keys, map(float, parts[1:]), strict=True))
    return rows


def printed_ndcg() -> dict[str, tuple[float, float, float]]:
    """The NDCG table: ranking name -> (all feeds, active, passive)."""
    text = module_output(MODULE).split("NDCG@10 vs true value")[1]
    found = {}
    for line in text.splitlines()[1:]:
        match = re.match(r"^\s*(.+?)\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d\.\d{3})$", line)
        if match:
            found[match[1]] = tuple(float(match[i]) for i in (2, 3, 4))
    return found


def test_tables_parse_completely():
    assert set(printed_heads()) == set(fr.HEADS)
    assert len(printed_ndcg()) == 8


def test_every_head_beats_its_base_rate_and_is_calibrated():
    for head, row in printed_heads().items():
        assert row["logloss"] < row["base"], head
        assert row["auc"] > 0.7, head
        assert 0.9 <= row["calibration"] <= 1.1, head


def test_value_score_beats_click_only_and_the_baselines():
    ndcg = printed_ndcg()
    value = ndcg["value, all six heads"][0]
    assert value > ndcg["click head only"][0] + 0.2
    assert ndcg["click head only"][0] > ndcg["reverse chronological"][0]
    assert ndcg["reverse chronological"][0] > ndcg["random"][0]


def test_dwell_head_matters_most_for_passive_users():
    ndcg = printed_ndcg()
    gain = [
        a - b
        for a, b in zip(
            ndcg["value, all six heads"], ndcg["value, no dwell head"], strict=True
        )
    ]
    _, active_gain, passive_gain = gain
    assert passive_gain > 2 * active_gain > 0


def test_miscalibrated_head_hurts_and_recalibration_restores():
    ndcg = printed_ndcg()
    good = ndcg["value, all six heads"][0]
    assert ndcg["comment head downsampled"][0] < good - 0.03
    assert ndcg["comment head recalibrated"][0] == pytest.approx(good, abs=0.005)
    # The downsampled head ranks as well as the full one; only its scale is wrong.
    out = module_output(MODULE)
    auc, ratio = map(
        float, re.search(r"ROC-AUC (\S+), mean p/rate (\S+)", out).groups()
    )
    assert auc == pytest.approx(printed_heads()["comment"]["auc"], abs=0.01)
    assert ratio > 5


def test_diversity_cap_costs_a_little_ndcg_and_bounds_authors():
    ndcg = printed_ndcg()
    value = ndcg["value, all six heads"][0]
    assert value - 0.05 < ndcg["diversified, cap 2 per author"][0] < value
    before, after = map(
        float, re.search(r"top 10: (\S+), (\S+) with", module_output(MODULE)).groups()
    )
    assert after <= 2 < before


def test_clickbait_draws_clicks_and_far_more_hides():
    line = module_output(MODULE).split("clickbait score > 0.5 vs the rest:")[1]
    line = line.splitlines()[1]
    rates = dict(
        (head, (float(a), float(b)))
        for head, a, b in re.findall(r"(\w+) (\d\.\d+) vs (\d\.\d+)", line)
    )
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


def test_simulation_is_seeded_and_clickbait_draws_clicks_and_hides():
    a = fr.simulate_feeds(50, 40, seed=3)
    b = fr.simulate_feeds(50, 40, seed=3)
    np.testing.assert_array_equal(a.features, b.features)
    bait = a.features[:, fr.FEATURES.index("clickbait_score")] > 0.8
    clean = a.features[:, fr.FEATURES.index("clickbait_score")] < 0.2
    for head in ("click", "hide"):
        assert a.true_prob[head][bait].mean() > a.true_prob[head][clean].mean()
    assert a.true_prob["share"][bait].mean() < a.true_prob["share"][clean].mean()
    rates = {h: a.true_prob[h].mean() for h in fr.HEADS}
    assert rates["comment"] < rates["like"] < rates["click"]


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


@pytest.mark.parametrize("seed", range(3))
def test_ndcg_per_feed_matches_sklearn_on_clipped_values(seed):
    rng = np.random.default_rng(seed)
    feed = np.repeat([4, 9, 2], 30)
    score, value = rng.normal(size=90), rng.normal(0.5, 1, size=90)
    ours = fr.ndcg_per_feed(feed, score, value, k=10)
    for f in (2, 4, 9):
        rows = feed == f
        expected = ndcg_score([np.clip(value[rows], 0, None)], [score[rows]], k=10)
        assert ours[f] == pytest.approx(expected)


def test_ndcg_per_feed_skips_worthless_feeds_and_rejects_mismatch():
    feed, score = np.array([0, 0, 1, 1]), np.array([0.2, 0.1, 0.3, 0.4])
    assert set(fr.ndcg_per_feed(feed, score, [-1.0, -2.0, 1.0, 0.0])) == {1}
    with pytest.raises(ValueError, match="same length"):
        fr.ndcg_per_feed(feed, score[:3], [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        fr.feed_groups([])


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
    with pytest.raises(ValueError, match="n_feeds must be a positive integer"):
        fr.simulate_feeds(0, 10, seed=1)
    with pytest.raises(ValueError, match="unknown heads"):
        fr.train_heads(fr.simulate_feeds(5, 10, seed=1), {"retweet": 0.1})


def test_page_quotes_the_numbers_the_code_prints():
    heads, ndcg = printed_heads(), printed_ndcg()
    quoted = [f"{heads[h]['auc']:.3f}" for h in fr.HEADS]
    quoted += [f"{v:.3f}" for row in ndcg.values() for v in row]
    out = module_output(MODULE)
    quoted += re.search(r"ROC-AUC (\S+), mean p/rate (\S+)", out).groups()
    quoted += re.search(r"top 10: (\S+), (\S+) with", out).groups()
    quoted += re.findall(r"\d\.\d{3} vs \d\.\d{3}", out)
    quoted += re.findall(r"negative \(grade 0\): (\S+)", out)
    est = fr.estimate_capacity()
    quoted += [
        f"{est['peak_feed_qps']:,.0f}",
        f"{est['heavy_per_s'] / 1e6:.1f} million",
        f"{est['first_pass_per_s'] / 1e6:.0f} million",
        est["user_store"],
        est["post_store"],
        est["impression_log_per_day"],
        f"{est['headroom_ms']:.0f} ms",
    ]
    assert_page_quotes(PAGE, *quoted)
