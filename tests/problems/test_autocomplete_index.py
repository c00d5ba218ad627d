"""The autocomplete index: trie lists, k-anonymity, scores and the typing model."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.concepts.ranking_metrics import mean_over_queries, reciprocal_rank
from snippets.problems import autocomplete_index as qac


@pytest.fixture(scope="module")
def log() -> qac.QueryLog:
    return qac.make_query_log(3, n_queries=400, events_per_hour=40.0, n_trending=5)


def brute_force_top(queries, scores, eligible, prefix, k=qac.K_SHOWN) -> list[int]:
    """Every eligible query that starts with prefix, best score first, then text."""
    found = [
        q for q in range(len(queries)) if eligible[q] and queries[q].startswith(prefix)
    ]
    return sorted(found, key=lambda q: (-scores[q], queries[q]))[:k]


def all_prefixes(texts) -> set[str]:
    return {t[:n] for t in texts for n in range(1, len(t) + 1)}


def test_every_node_holds_the_brute_force_top_k(log):
    eligible = qac.suggestible(log)
    for scores in qac.popularity_scores(log).values():
        index = qac.prefix_index(log.queries, scores, eligible)
        indexed = [log.queries[q] for q in np.flatnonzero(eligible)]
        assert set(index) == all_prefixes(indexed)  # a node per prefix, no more
        scan = qac.SortedScan(log.queries, eligible)
        for prefix in index:
            expected = brute_force_top(log.queries, scores, eligible, prefix)
            assert index[prefix] == expected, prefix
            assert scan.top_k(prefix, scores) == expected, prefix


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text("ab ", min_size=1, max_size=6), min_size=1, max_size=30),
    data=st.data(),
)
def test_prefix_lists_match_filtering_on_random_sets_with_ties(texts, data):
    texts = sorted(set(texts))
    scores = np.array(
        data.draw(
            st.lists(
                st.sampled_from([0.0, 1.0, 2.0]),
                min_size=len(texts),
                max_size=len(texts),
            )
        )
    )
    eligible = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts)))
    )
    k = data.draw(st.integers(1, 4))
    index = qac.prefix_index(texts, scores, eligible, k=k)
    for prefix in all_prefixes(texts) | {"b", "ab a", "zz"}:
        expected = brute_force_top(texts, scores, eligible, prefix, k)
        assert index.get(prefix, []) == expected


def test_distinct_users_and_the_k_anonymity_filter():
    base = qac.make_query_log(0, n_queries=120, events_per_hour=5.0, n_trending=0)
    # Query 0: one user 9 times; query 1: five users once; query 2: four users,
    # one of them twice (5 searches, 4 people).
    query = np.array([0] * 9 + [1] * 5 + [2] * 5)
    user = np.array([7] * 9 + [1, 2, 3, 4, 5] + [1, 2, 3, 4, 4])
    log = qac.QueryLog(
        queries=base.queries[:3],
        query=query,
        hour=np.zeros(len(query)),
        user=user,
        from_trend=np.zeros(len(query), bool),
        base_rate=np.ones(3),
        rate_now=np.ones(3),
        trending=np.zeros(3, bool),
        private=np.zeros(3, bool),
        blocked=np.array([False, False, False]),
    )
    expected = [
        len({u for q, u in zip(query, user, strict=True) if q == i}) for i in range(3)
    ]
    assert qac.distinct_users(log).tolist() == expected == [1, 5, 4]
    assert qac.suggestible(log).tolist() == [False, True, False]
    assert qac.suggestible(log, count_only=True).tolist() == [True, True, True]
    assert qac.suggestible(log, min_users=4).tolist() == [False, True, True]
    blocked = qac.QueryLog(**{**log.__dict__, "blocked": np.array([0, 1, 0], bool)})
    assert qac.suggestible(blocked).tolist() == [False, False, False]
    assert qac.suggestible(blocked, blocklist=False).tolist() == [False, True, False]


def test_private_queries_pass_a_count_but_never_distinct_users(log):
    counts = Counter(log.query.tolist())
    private = np.flatnonzero(log.private)
    assert all(counts[q] >= 8 for q in private)
    assert qac.suggestible(log, count_only=True)[private].all()
    assert not qac.suggestible(log)[private].any()


def test_distinct_users_matches_a_set_count(log):
    pairs: dict[int, set[int]] = {}
    for q, u in zip(log.query.tolist(), log.user.tolist(), strict=True):
        pairs.setdefault(q, set()).add(u)
    expected = [len(pairs.get(q, ())) for q in range(len(log.queries))]
    assert qac.distinct_users(log).tolist() == expected


def hand_made_log(hours_by_query: list[np.ndarray]) -> qac.QueryLog:
    """A log with the given search times per query, each by a different user."""
    query = np.concatenate([np.full(len(h), i) for i, h in enumerate(hours_by_query)])
    n = len(hours_by_query)
    return qac.QueryLog(
        queries=tuple(f"q{i}" for i in range(n)),
        query=query.astype(np.int64),
        hour=np.concatenate(hours_by_query),
        user=np.arange(len(query), dtype=np.int64),
        from_trend=np.zeros(len(query), bool),
        base_rate=np.ones(n),
        rate_now=np.ones(n),
        trending=np.zeros(n, bool),
        private=np.zeros(n, bool),
        blocked=np.zeros(n, bool),
    )


def test_scores_are_counts_decayed_counts_and_bursts():
    steady = np.arange(0.5, qac.HOURS, 1.0)  # one search an hour all month
    rising = np.concatenate(
        [
            np.arange(0.5, qac.HOURS, 24.0),  # one a day...
            np.linspace(qac.HOURS - 6, qac.HOURS - 0.1, 40),
        ]
    )
    log = hand_made_log([steady, rising])
    scores = qac.popularity_scores(log, half_life_h=12.0)
    assert scores[qac.ALL_TIME].tolist() == [len(steady), len(rising)]
    for q, hours in enumerate((steady, rising)):
        decayed = sum(2 ** (-(qac.HOURS - t) / 12.0) for t in hours)
        assert scores[qac.DECAYED][q] == pytest.approx(decayed)
    # The steady query keeps its month's rate (one an hour); the rising one, whose
    # last hours hold far more than its rate predicts, gets its recent rate.
    window = 12.0 / math.log(2)
    assert scores[qac.BURSTS][0] == pytest.approx(len(steady) / qac.HOURS)
    assert scores[qac.BURSTS][1] == pytest.approx(scores[qac.DECAYED][1] / window)
    assert scores[qac.BURSTS][1] > scores[qac.BURSTS][0]  # ... and now outranks it
    assert scores[qac.ALL_TIME][1] < scores[qac.ALL_TIME][0]


def test_no_stable_query_bursts_and_trending_ones_rise(log):
    scores = qac.popularity_scores(log)
    month = np.isclose(scores[qac.BURSTS], scores[qac.ALL_TIME] / qac.HOURS)
    assert month[~log.trending].all()  # no false alarm among stable queries
    rank = np.argsort(np.argsort(-scores[qac.DECAYED]))
    rank_all_time = np.argsort(np.argsort(-scores[qac.ALL_TIME]))
    rises = rank[log.trending] < rank_all_time[log.trending]
    assert rises.mean() >= 0.8  # a trend of a few searches may not show


def test_without_trends_removes_exactly_the_trend_searches(log):
    calm = qac.without_trends(log)
    assert len(calm.query) == len(log.query) - log.from_trend.sum()
    assert not calm.trending.any() and not calm.from_trend.any()
    trending = np.flatnonzero(log.trending)
    assert (calm.rate_now[trending] < log.rate_now[trending]).all()
    stable = ~log.trending
    np.testing.assert_array_equal(calm.rate_now[stable], log.rate_now[stable])
    extra = np.bincount(log.query[log.from_trend], minlength=len(log.queries))
    assert (extra[~log.trending] == 0).all() and (extra[trending] > 0).all()


def monte_carlo_saved(text, index, target, runs, rng) -> float:
    """Simulate the typing model: read the list with probability LOOK, see rank r
    with probability 1/r, take it."""
    total = 0.0
    for _ in range(runs):
        for length in range(1, len(text) - 1):
            shown = index.get(text[:length], [])
            if target in shown and rng.random() < qac.LOOK / (shown.index(target) + 1):
                total += len(text) - length - 1
                break
    return total / runs


def test_expected_typing_matches_a_simulation(log):
    eligible = qac.suggestible(log)
    index = qac.prefix_index(
        log.queries, qac.popularity_scores(log)[qac.ALL_TIME], eligible
    )
    rng = np.random.default_rng(0)
    for q in np.flatnonzero(eligible)[:6].tolist():
        text = log.queries[q]
        got = qac.session_outcomes(text, index, q)
        assert got["ranks"] == [
            index[text[:n]].index(q) + 1 if q in index[text[:n]] else 0
            for n in range(1, len(text) + 1)
        ]
        simulated = monte_carlo_saved(text, index, q, 4_000, rng)
        assert got["saved"] == pytest.approx(simulated, abs=0.15)
        assert got["requests"][0] == 1.0


def test_mrr_matches_the_shared_ranking_metrics(log):
    eligible = qac.suggestible(log)
    index = qac.prefix_index(
        log.queries, qac.popularity_scores(log)[qac.DECAYED], eligible
    )
    sessions = qac.held_out_sessions(log, 500, seed=3)
    result = qac.evaluate(log, index, sessions)
    # One ranking per session (a target repeated n times is n sessions).
    targets = np.repeat(np.arange(len(sessions)), sessions)
    for length in qac.PREFIX_LENGTHS:
        rankings = {
            s: index.get(log.queries[q][:length], []) for s, q in enumerate(targets)
        }
        judged = {s: {int(q)} for s, q in enumerate(targets)}
        shared = mean_over_queries(reciprocal_rank, rankings, judged, k=qac.K_SHOWN)
        assert result[f"mrr all {length}"] == pytest.approx(shared)
    trending = [s for s, q in enumerate(targets) if log.trending[q]]
    shared = np.mean(
        [
            reciprocal_rank(
                index.get(log.queries[targets[s]][:2], []), {int(targets[s])}
            )
            for s in trending
        ]
    )
    assert result["mrr trending 2"] == pytest.approx(shared)


def test_keystroke_work_counts_cached_and_scanned_entries(log):
    eligible = qac.suggestible(log)
    index = qac.prefix_index(
        log.queries, qac.popularity_scores(log)[qac.ALL_TIME], eligible
    )
    scan = qac.SortedScan(log.queries, eligible)
    indexed = [log.queries[q] for q in np.flatnonzero(eligible)]
    requests = {"b": 2.0, "ba": 1.0, "zzzz": 1.0, indexed[0][:5]: 3.0}
    work = qac.keystroke_work(requests, index, scan)
    completions = {p: sum(t.startswith(p) for t in indexed) for p in requests}
    for length, (cached, scanned) in work.items():
        here = {p: w for p, w in requests.items() if min(len(p), 4) == length}
        total = sum(here.values())
        assert scanned == pytest.approx(
            sum(w * completions[p] for p, w in here.items()) / total
        )
        assert cached == pytest.approx(
            sum(w * min(qac.K_SHOWN, completions[p]) for p, w in here.items()) / total
        )


def radix_nodes(texts) -> int:
    """Nodes of a compressed trie built explicitly: root, ends and branchings."""
    trie: dict = {}
    for text in texts:
        node = trie
        for char in text:
            node = node.setdefault(char, {})
        node["$"] = {}
    count, stack = 0, [(trie, True)]
    while stack:
        node, is_root = stack.pop()
        children = [c for c in node if c != "$"]
        if is_root or "$" in node or len(children) >= 2:
            count += 1
        stack += [(node[c], False) for c in children]
    return count


def test_trie_shape_matches_an_explicit_trie_and_the_2n_bound(log):
    eligible = qac.suggestible(log)
    index = qac.prefix_index(
        log.queries, qac.popularity_scores(log)[qac.ALL_TIME], eligible
    )
    indexed = [log.queries[q] for q in np.flatnonzero(eligible)]
    shape = qac.trie_shape(index, indexed)
    assert shape["trie nodes"] == len(all_prefixes(indexed)) + 1
    assert shape["radix nodes"] == radix_nodes(indexed) <= 2 * len(indexed)


def test_blocked_exposure_matches_an_unfiltered_index():
    log = qac.make_query_log(2, n_queries=1_500, events_per_hour=150.0)
    scores = qac.popularity_scores(log)[qac.BURSTS]
    eligible = qac.suggestible(log)
    unblocked = qac.suggestible(log, blocklist=False)
    index = qac.prefix_index(log.queries, scores, eligible)
    unfiltered = qac.prefix_index(log.queries, scores, unblocked)
    sessions = qac.held_out_sessions(log, 400, seed=1)
    requests = qac.evaluate(log, index, sessions, requests=True)["requests"]
    blocked = np.flatnonzero(unblocked & log.blocked)
    assert len(blocked) > 0
    got = qac.blocked_exposure(requests, index, log.queries, scores, blocked)
    expected = qac.request_share(
        requests, lambda p: any(log.blocked[unfiltered.get(p, [])])
    )
    assert got == pytest.approx(expected) and got > 0
    assert not any(log.blocked[q] for top in index.values() for q in top)


def test_world_is_seeded_and_sessions_follow_the_true_rates():
    a, b = qac.make_query_log(5, n_queries=300), qac.make_query_log(5, n_queries=300)
    np.testing.assert_array_equal(a.query, b.query)
    assert a.queries == b.queries
    sessions = qac.held_out_sessions(a, 20_000, seed=5)
    share = a.rate_now / a.rate_now.sum()
    top = np.argsort(-share)[:5]
    np.testing.assert_allclose(sessions[top] / 20_000, share[top], rtol=0.15)


def test_bad_input_raises():
    with pytest.raises(TypeError, match="seed"):
        qac.make_query_log("1")
    with pytest.raises(ValueError, match="queries"):
        qac.make_query_log(1, n_queries=10)
    log = qac.make_query_log(1, n_queries=150, events_per_hour=5.0, n_trending=2)
    with pytest.raises(ValueError, match="min_users"):
        qac.suggestible(log, min_users=0)
    with pytest.raises(ValueError, match="k must"):
        qac.prefix_index(["ab"], [1.0], [True], k=0)
    with pytest.raises(ValueError, match="same length"):
        qac.prefix_index(["ab", "ac"], [1.0], [True, True])
