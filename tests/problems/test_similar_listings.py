"""Similar-listings miniature: its claims, its helpers, the page's numbers."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, paired_differences

from snippets.common import estimation
from snippets.concepts.ranking_metrics import hit_rate_at_k
from snippets.problems import similar_listings as sl
from snippets.problems.similar_listings_model import skipgram_pairs
from snippets.problems.similar_listings_world import Sessions, split_world

PAGE = "problems/similar-listings.md"
MODULE = "snippets.problems.similar_listings"
NUMBER = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def printed_table() -> dict[str, tuple[float, float]]:
    """Method -> (next click, booking) hit rate@10, as printed."""
    block = output().split("Hit rate@10 on held-out")[1].split("Paired differences")[0]
    rows = {}
    for line in block.splitlines()[2:]:
        if match := re.match(rf"^(.+?)\s+({NUMBER})\s+({NUMBER})$", line):
            rows[match[1]] = (float(match[2]), float(match[3]))
    return rows


def printed_differences() -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    """(comparison, label) -> (mean, low, high, printed as a tie)."""
    return paired_differences(output(), label=r"next click|booking")


def diff(better: str, worse: str, label: str) -> tuple[float, float, float, bool]:
    return printed_differences()[f"{better.strip()} minus {worse.strip()}", label]


FULL, CONTENT = "skip-gram, full", "content cosine"
POPULAR = "most clicked in training"
NO_BOOKED, NO_MARKET = "  no booked global context", "  no same-market negatives"
RANDOM_CLICK = "  context: random earlier click"
LAST_CLICK = "  context: last click, every session"


def test_tables_parse_completely():
    assert set(printed_table()) == set(sl.ROWS)
    assert len(printed_differences()) == 2 * len(sl.COMPARISONS)


def test_sessions_beat_content_and_popularity_on_both_labels():
    for label in sl.LABELS:
        _, low, _, tie = diff(FULL, CONTENT, label)
        assert low > 0 and not tie, label
    assert diff(FULL, POPULAR, "next click")[1] > 0
    assert diff(FULL, POPULAR, "booking")[0] > 0
    table = printed_table()
    for method in (POPULAR, CONTENT, FULL):  # everything beats a random order
        assert min(table[method]) > max(table["random (expected)"])


def test_each_training_trick_helps_and_market_negatives_most():
    for label in sl.LABELS:
        market = diff(FULL, NO_MARKET, label)
        booked = diff(FULL, NO_BOOKED, label)
        assert market[1] > 0, label  # the interval excludes zero
        assert booked[1] > 0, label  # small, but the page says the interval excludes 0
        assert market[0] > booked[0], label


def test_the_random_click_control_explains_part_of_the_booked_context():
    """The page: the full model leads the control by less than it leads no context
    (on the next click narrowly beyond zero, a tie on the booking); a context for
    every session beats the full model on the next click and ties on the booking."""
    for label in sl.LABELS:
        assert 0 < diff(FULL, RANDOM_CLICK, label)[0] < diff(FULL, NO_BOOKED, label)[0]
    assert diff(FULL, RANDOM_CLICK, "next click")[1] > 0
    assert diff(FULL, RANDOM_CLICK, "booking")[3]
    assert diff(LAST_CLICK, FULL, "next click")[1] > 0
    assert diff(LAST_CLICK, FULL, "booking")[3]


def small_booked_sessions() -> Sessions:
    clicks = np.array([[0, 3, 5, -1], [12, 11, -1, -1], [4, -1, -1, -1], [7, 8, 9, 6]])
    return Sessions(
        market=np.array([0, 1, 0, 0]),
        party=np.ones(4, dtype=int),
        eligible=np.ones((4, 13), dtype=bool),
        clicks=clicks,
        booked=np.array([5, -1, 4, 6]),  # session 2 booked its only click
        rejected=np.zeros(clicks.shape, dtype=bool),
    )


def test_global_contexts_and_their_controls():
    sessions = small_booked_sessions()
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(
        sl.global_contexts(sessions, "booked", rng), sessions.booked
    )
    np.testing.assert_array_equal(
        sl.global_contexts(sessions, "last click", rng), [5, 11, 4, 6]
    )
    drawn = {0: set(), 3: set()}
    for _ in range(200):
        random = sl.global_contexts(sessions, "random click", rng)
        assert random[1] == -1 and random[2] == -1  # unbooked; nothing before booking
        drawn[0].add(int(random[0]))
        drawn[3].add(int(random[3]))
    assert drawn == {0: {0, 3}, 3: {7, 8, 9}}  # every earlier click, never the booked


def test_the_random_click_control_adds_as_many_pairs_as_the_booking():
    """Per booked session: an earlier click, never the booking; same pair count."""
    _, train, _ = split_world(0, n_train=400, n_test=10)
    random = sl.global_contexts(train, "random click", np.random.default_rng(1))
    for s, (row, booked) in enumerate(zip(train.clicks, train.booked, strict=True)):
        earlier = row[: max(train.lengths[s] - 1, 0)]
        if booked >= 0 and earlier.size:
            assert random[s] in earlier and random[s] != booked
        else:
            assert random[s] == -1
    booked_pairs = skipgram_pairs(train.clicks, train.booked)
    random_pairs = skipgram_pairs(train.clicks, random)
    assert random_pairs[0].size == booked_pairs[0].size


def test_ties_are_printed_exactly_when_the_interval_spans_zero():
    for (_, _), (_, low, high, tie) in printed_differences().items():
        assert tie == (low <= 0 <= high)


def test_real_time_ties_and_the_what_if_narrows_the_gap():
    for label in sl.LABELS:
        assert diff(sl.PERSONALISED, FULL, label)[3], label  # a tie on the carousel
    table = printed_table()
    for i, label in enumerate(sl.LABELS):
        # Attributes showing every taste factor close most of content's gap.
        assert table[sl.WHAT_IF][i] - table[CONTENT][i] > 0.05, label
        assert diff(sl.WHAT_IF, FULL, label)[0] < 0, label


def test_bookings_are_sparser_than_clicks_and_hosts_reject_some():
    match = re.search(r"\((\d+\.\d) clicks per booking\)", output())
    assert float(match[1]) > 5
    rejected = float(re.search(r"hosts reject (\d+\.\d)%", output())[1])
    assert 20 < rejected < 35  # the world's acceptance is Beta(4, 1.5): mean 0.73


def test_hit_rate_matches_a_rank_count_and_the_shared_metric():
    """Independent check: the target is a hit iff fewer than K allowed candidates
    outscore it (scores are continuous, so no ties)."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(300, 40))
    allowed = rng.random((300, 40)) < 0.6
    target = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
    target_score = scores[np.arange(300), target]
    beaten = ((scores > target_score[:, None]) & allowed).sum(axis=1)
    assert sl.hit_rate(scores, allowed, target) == pytest.approx(np.mean(beaten < sl.K))
    # and the same as calling the shared metric on full rankings
    per_query = [
        hit_rate_at_k(
            [c for c in np.argsort(-scores[q]) if allowed[q, c]], {target[q]}, sl.K
        )
        for q in range(300)
    ]
    assert sl.hit_rate(scores, allowed, target) == pytest.approx(np.mean(per_query))


def test_hit_rate_counts_a_tie_against_the_target():
    scores = np.zeros((1, 12))
    allowed = np.ones((1, 12), dtype=bool)
    scores[0, :9] = 1.0
    scores[0, 9:] = 0.5  # the target (column 9) ties with columns 10 and 11
    assert sl.hit_rate(scores, allowed, np.array([9])) == 0.0  # 11 at least as high
    scores[0, 10:] = 0.4
    assert sl.hit_rate(scores, allowed, np.array([9])) == 1.0  # 9 above it


def test_hit_rate_with_fewer_candidates_than_slots_counts_every_target():
    scores = np.arange(24.0).reshape(2, 12)
    allowed = np.zeros((2, 12), dtype=bool)
    allowed[:, :3] = True  # three candidates, ten slots: any target is shown
    assert sl.hit_rate(scores, allowed, np.array([0, 2])) == 1.0


def small_sessions() -> Sessions:
    clicks = np.array([[0, 3, 5, -1], [12, 11, -1, -1], [4, -1, -1, -1], [7, 8, 9, 6]])
    eligible = np.ones((4, 10), dtype=bool)
    eligible[0, 9] = False
    return Sessions(
        market=np.array([0, 1, 0, 0]),
        party=np.ones(4, dtype=int),
        eligible=eligible,
        clicks=clicks,
        booked=np.array([5, -1, -1, 6]),
        rejected=np.zeros(clicks.shape, dtype=bool),
    )


def test_queries_point_at_a_click_with_the_right_target():
    sessions = small_sessions()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        nxt = sl.pick_queries(sessions, "next click", rng)
        assert nxt.session.tolist() == [0, 1, 3]  # session 2 has a single click
        assert (nxt.target == sessions.clicks[nxt.session, nxt.position + 1]).all()
        book = sl.pick_queries(sessions, "booking", rng)
        assert book.session.tolist() == [0, 3]
        assert (book.target == sessions.booked[book.session]).all()
        assert (book.position < sessions.lengths[book.session] - 1).all()


def test_candidates_drop_filtered_and_already_clicked_listings():
    sessions = small_sessions()
    queries = sl.Queries(np.array([0, 3]), np.array([1, 2]), np.array([5, 6]))
    allowed = sl.candidates(sessions, queries, per_market=10)
    expected = np.ones((2, 10), dtype=bool)
    expected[0, [0, 3, 9]] = False  # clicked 0 and 3; 9 not free on the dates
    expected[1, [7, 8, 9]] = False  # clicked 7, 8, 9 so far
    np.testing.assert_array_equal(allowed, expected)


def test_block_scores_and_session_vectors_match_loops():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(20, 3))
    market = np.array([0, 1, 1])
    queries = rng.normal(size=(3, 3))
    scores = sl.block_scores(queries, vectors, market, per=10)
    for q, m in enumerate(market):
        np.testing.assert_allclose(
            scores[q], vectors[m * 10 : (m + 1) * 10] @ queries[q]
        )
    sessions = small_sessions()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = sl.Queries(np.array([3]), np.array([2]), np.array([6]))
    mean = unit[[7, 8, 9]].sum(axis=0)
    np.testing.assert_allclose(
        sl.session_vectors(unit, sessions, queries)[0], mean / np.linalg.norm(mean)
    )


def test_random_expectation_is_what_random_orders_score():
    rng = np.random.default_rng(2)
    allowed = rng.random((400, 60)) < rng.uniform(0.1, 0.9, (400, 1))
    allowed[:, 0] = True
    target = np.zeros(400, dtype=int)
    draws = [sl.hit_rate(rng.random(allowed.shape), allowed, target) for _ in range(30)]
    assert np.mean(draws) == pytest.approx(sl.random_hit_rate(allowed), abs=0.01)
    few = np.zeros((1, 20), dtype=bool)
    few[0, :4] = True  # four candidates, ten slots: always a hit
    assert sl.random_hit_rate(few) == 1.0


def test_estimates_come_from_the_shared_estimation_functions():
    est = sl.estimate_capacity()
    assert est["carousel_qps"] == estimation.peak_qps(20e6, 10, 3.0)
    assert est["carousel_qps"] == pytest.approx(20e6 * 10 * 3 / 86_400)
    assert est["embeddings_one_copy"] == estimation.human_bytes(5e6 * 32 * 4)
    scan = est["carousel_qps"] * 20_000 * 32 * 4
    assert est["scan_cores"] == math.ceil(scan / 5e9 / 0.5)
    assert est["carousel_ranker_cores"] == math.ceil(
        est["carousel_qps"] * 300 * 10e-6 / 0.5
    )
    assert est["search_ranker_cores"] > est["carousel_ranker_cores"] > est["scan_cores"]
    assert est["scan_ms_big_market"] == pytest.approx(100_000 * 128 / 5e9 * 1e3)
    assert est["headroom_ms"] == 100 - sum(est["stages_ms"].values()) > 0
    assert est["eligible"] == 5_000


def test_fleets_dollars_and_the_ab_sample_by_hand():
    """Independent arithmetic: machines over 3 zones, dollars, the two-proportion z."""
    est = sl.estimate_capacity()
    carousel, search = est["carousel_qps"], est["search_qps"]
    lookups = carousel * 300 + search * 2_000
    assert est["feature_lookups"] == pytest.approx(lookups)
    store_cores = math.ceil(lookups * 5e-6 / 0.5)
    assert est["store_cores"] == store_cores

    def machines(cores):  # 3 zones, any 2 carry the load, 32 cores a machine
        return 3 * math.ceil(cores / 32 / 2)

    expected = {
        "carousel: scan and ranker": machines(
            est["scan_cores"] + est["carousel_ranker_cores"]
        ),
        "search ranker": machines(est["search_ranker_cores"]),
        "feature store": machines(store_cores),
    }
    assert est["fleet"] == expected
    for name, n in expected.items():
        assert est["dollars"][name] == pytest.approx(n * 1.5 * 730)
    log_bytes = 20e6 * (6 * 18 * 60 + 10 * 12 * 60 + 10 * 150 + 6 * 18 * 1e3)
    log_bytes += 20e6 * 10 * 12 * 1e3 + 1.5e6 * 600 + 5e6 * 100
    assert est["dollars"]["logs, 90 days stored"] == pytest.approx(
        log_bytes * 90 / 1e9 * 0.02
    )
    assert est["dollars_total"] == pytest.approx(sum(est["dollars"].values()))
    # The largest log is the carousel's features as served, and all 300 is 25x it.
    assert max(est["logs"], key=lambda k: _bytes(est["logs"][k])) == (
        "features as served (carousel, 12)"
    )
    assert est["carousel_features_all_scored"] == estimation.human_bytes(200e6 * 300e3)
    # Guests per arm: 2 p(1-p) (z_0.975 + z_0.8)^2 / delta^2 with p the mean rate.
    p0, p1 = 0.03, 0.0303
    z = 1.959963984540054 + 0.8416212335729143
    n = 2 * (p0 + p1) / 2 * (1 - (p0 + p1) / 2) * z**2 / (p1 - p0) ** 2
    assert est["ab_per_arm"] == math.ceil(n)
    assert est["ab_days"] == 7
    # One embedding copy per serving machine.
    serving = expected["carousel: scan and ranker"] + expected["search ranker"]
    assert est["embedding_copies"] == serving
    assert est["embeddings"] == estimation.human_bytes(serving * 5e6 * 128)


def _bytes(text: str) -> float:
    value, unit = text.split()
    return float(value) * {"MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]


def test_the_diagram_carries_the_budget():
    est = sl.estimate_capacity()
    diagram = re.search(r"```mermaid\n(.*?)```", open_page(), re.S)[1]
    for stage_ms in (10, 15, 20, 5):
        assert f": {stage_ms} ms" in diagram
    assert f"{est['headroom_ms']:.0f} ms headroom" in diagram
    assert f"{est['eligible']:,.0f} eligible" in diagram


def open_page() -> str:
    from guide import page_text

    return page_text(PAGE)


def test_bad_arguments_raise_clear_errors():
    sessions = small_sessions()
    with pytest.raises(ValueError, match="label"):
        sl.pick_queries(sessions, "purchase", np.random.default_rng(0))
    scores, allowed = np.zeros((2, 12)), np.ones((2, 12), dtype=bool)
    with pytest.raises(ValueError, match="queries, candidates"):
        sl.hit_rate(scores, allowed[:1], np.array([0, 1]))
    with pytest.raises(ValueError, match="one target per query"):
        sl.hit_rate(scores, allowed, np.array([0]))
    allowed[1, 3] = False
    with pytest.raises(ValueError, match="candidates"):
        sl.hit_rate(scores, allowed, np.array([0, 3]))
    with pytest.raises(ValueError, match="NaN"):
        sl.hit_rate(np.full((2, 12), np.nan), np.ones((2, 12), bool), np.array([0, 1]))
    with pytest.raises(ValueError, match="kind"):
        sl.global_contexts(sessions, "wishlist", np.random.default_rng(0))


def test_page_quotes_the_numbers_the_code_prints():
    table, est, out = printed_table(), sl.estimate_capacity(), output()
    quoted = [f"{v:.3f}" for v in (*table[FULL], *table[CONTENT], *table[POPULAR])]
    for better, worse in sl.COMPARISONS:
        for label in sl.LABELS:
            mean = diff(better, worse, label)[0]
            quoted.append(f"{abs(mean):.3f}")
    quoted += [
        re.search(r"  (\d+\.\d+) clicks a session", out)[1],
        re.search(r"(\d+\.\d)% of sessions end", out)[1] + "%",
        re.search(r"\((\d+\.\d) clicks per booking", out)[1],
        re.search(r"hosts reject (\d+\.\d)%", out)[1] + "%",
        *re.search(
            r"next click ([\d,]+)-([\d,]+), booking ([\d,]+)-([\d,]+)", out
        ).groups(),
        re.search(r"; (\d+) candidates each", out)[1] + " on average",
    ]
    quoted += [
        f"{est['carousel_qps']:,.0f} carousel",
        f"{est['search_qps']:,.0f} searches",
        est["embeddings_one_copy"],
        est["embeddings"],
        est["hnsw_links"],
        est["neighbour_lists"],
        est["calendars"],
        est["session_store"],
        f"**{est['scan_bytes']}**",
        f"**{est['scan_bandwidth']}/s**",
        f"**{est['scan_cores']} cores**",
        f"{est['scan_ms_big_market']:.1f} ms",
        f"**{est['carousel_ranker_cores']} cores**",
        f"**{est['search_ranker_cores']} cores**",
        f"{est['carousel_fetch']}/s",
        f"{est['search_fetch']}/s",
        f"{est['search_embedding_reads']}/s",
        f"**{est['headroom_ms']:.0f} ms**",
        f"{est['eligible']:,.0f}",
        *est["logs"].values(),
        est["carousel_features_all_scored"],
        est["listing_features"],
        f"{est['feature_lookups'] / 1e6:.1f} million",
        f"**{est['store_cores']} cores**",
        f"{est['embedding_copies']} serving machines",
        f"**${est['dollars_total']:,.0f} a month**",
        f"{est['ab_per_arm']:,} guests an arm",
        f"{est['ab_days']} days",
    ]
    for name, machines in est["fleet"].items():
        quoted.append(f"{machines} machines, ${est['dollars'][name]:,.0f}")
    quoted.append(f"${est['dollars']['logs, 90 days stored']:,.0f} a month")
    _, low, high, _ = diff(FULL, NO_BOOKED, "booking")
    quoted.append(f"[{low:+.3f}, {high:+.3f}]")
    assert_page_quotes(PAGE, *quoted)
    # Signed values where the page gives the sign (ties of the real-time row).
    signed = [diff(sl.PERSONALISED, FULL, lb)[0] for lb in sl.LABELS]
    assert_page_quotes(PAGE, *(f"{v:+.3f}".replace("-", "\u2212") for v in signed))
