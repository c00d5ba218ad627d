"""The search miniature: BM25 is the textbook formula; each claim has its number."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy import sparse, stats
from sklearn.feature_extraction.text import CountVectorizer

from snippets.common import estimation
from snippets.problems import search_engine as se
from snippets.problems import search_engine_ranking as ranking
from snippets.problems import search_engine_retrieval as retrieval

PAGE = "problems/search-engine.md"
MODULE = "snippets.problems.search_engine"
NUMBER = r"[+-]\d\.\d{3}"
COMPARISON = re.compile(
    r"^(?P<pair>.+?)\s+(?P<metric>NDCG 3/2/1|NDCG ESCI|MRR)\s+"
    rf"(?P<segment>all|descriptive|look-up)\s+(?P<mean>{NUMBER}) "
    rf"\[(?P<low>{NUMBER}), (?P<high>{NUMBER})\] "
    rf"\[(?P<world_low>{NUMBER}), (?P<world_high>{NUMBER})\] "
    r"(?P<wins>\d)/(?P<worlds>\d)(?P<tie>  tie(?: across worlds)?)?$"
)


def printed_rows(stages, n_cells: int) -> dict[str, list[float]]:
    """Stage -> the n_cells numbers printed after its name, for rows of that width."""
    rows = {}
    for line in module_output(MODULE).splitlines():
        for stage in stages:
            cells = line[len(stage) :].split()
            if line.startswith(stage + " ") and len(cells) == n_cells:
                rows[stage] = [float(x) for x in cells]
    assert set(rows) == set(stages)
    return rows


def stage_table() -> dict[str, list[float]]:
    """Stage -> NDCG@10 (3/2/1: all, descr., look-up; ESCI: same), MRR, as printed."""
    return printed_rows(se.STAGES, 7)


def recall_table() -> dict[str, list[float]]:
    """Retriever -> recall of Exact (all, descr., look-up), then Exact or Substitute."""
    return printed_rows(se.RETRIEVERS, 6)


def comparisons() -> dict[tuple[str, str, str], dict]:
    """(pair, metric, segment) -> mean, both intervals, worlds won, tie: as printed."""
    found = {}
    for line in module_output(MODULE).splitlines():
        if m := COMPARISON.match(line):
            keys = ("mean", "low", "high", "world_low", "world_high")
            values = {k: float(m[k]) for k in keys}
            found[m["pair"], m["metric"], m["segment"]] = values | {
                "wins": int(m["wins"]),
                "worlds": int(m["worlds"]),
                "tie": m["tie"] == "  tie",
                "world_tie": m["tie"] == "  tie across worlds",
            }
    assert len(found) == len(se.COMPARISONS)
    return found


def lookup_shares() -> tuple[str, str]:
    line = next(
        x for x in module_output(MODULE).splitlines() if x.startswith("Share of")
    )
    return tuple(re.findall(r"(\d+%)", line))


def signed(x: float) -> str:
    """A signed number as the prose writes it: a typographic minus."""
    return f"{x:+.3f}".replace("-", "−")


# --- BM25 and retrieval -------------------------------------------------------------


def bm25_by_hand(docs, query, k1=1.2, b=0.75):
    """BM25 straight from Robertson & Zaragoza's formula, one document at a time."""
    n, avg_len = len(docs), sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        total = 0.0
        for term in query:
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            if tf == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avg_len))
        scores.append(total)
    return np.array(scores)


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (2.0, 0.0), (0.5, 1.0)])
def test_bm25_matches_the_formula(k1, b):
    rng = np.random.default_rng(7)
    docs = [list(rng.choice(list("abcdefgh"), rng.integers(3, 12))) for _ in range(40)]
    vectorizer = CountVectorizer(analyzer=list)
    bm25 = retrieval.BM25(vectorizer.fit_transform(docs), k1=k1, b=b)
    for query in (["a"], ["b", "c"], ["h", "h", "d"]):
        ours = bm25.scores(vectorizer.transform([query]))[0]
        assert ours == pytest.approx(bm25_by_hand(docs, query, k1, b))


def test_bm25_on_the_catalogue_matches_the_formula_for_a_few_products():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    query = retrieval.Query([*catalogue.texts[5][3:5], "colour2"], {5: 3}, "concept")
    ours = index.lexical([query])[0]
    by_hand = bm25_by_hand(catalogue.texts, query.tokens)
    assert ours == pytest.approx(by_hand)
    assert int(np.argmax(ours)) == int(np.argmax(by_hand))


def test_top_lists_the_best_ids_first_and_only_eligible_ones():
    scores = np.array([[0.3, 2.0, 0.1, 5.0], [1.0, 1.0, 0.0, 2.0]])
    assert retrieval.top(scores, n=3) == [[3, 1, 0], [3, 0, 1]]  # ties: lower id first
    eligible = np.array([[True, False, True, True], [False, False, True, False]])
    assert retrieval.top(scores, eligible=eligible) == [[3, 0, 2], [2]]


@pytest.mark.parametrize("n", [1, 5, 40, 200])
def test_top_agrees_with_a_full_stable_sort_even_with_ties_at_the_cut(n):
    rng = np.random.default_rng(n)
    scores = rng.integers(0, 6, (30, 120)).astype(float)  # many ties everywhere
    eligible = rng.random(scores.shape) < 0.7
    masked = np.where(eligible, scores, -np.inf)
    order = np.argsort(-masked, axis=1, kind="stable")[:, :n]
    expected = [
        [int(d) for d in row if s[d] > -np.inf]
        for row, s in zip(order, masked, strict=True)
    ]
    assert retrieval.top(scores, n=n, eligible=eligible) == expected


def test_embeddings_are_unit_norm_and_blind_to_model_numbers():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    assert np.linalg.norm(index.doc_vectors, axis=1) == pytest.approx(1.0)
    lookup = retrieval.Query(["mdl00042"], {42: 3}, "model")
    assert not index.dense_knows(lookup)
    assert int(np.argmax(index.lexical([lookup])[0])) == 42  # BM25 finds it at once


def test_the_lookup_path_adds_neighbours_only_to_the_full_hybrid():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    lookup = retrieval.Query(["mdl00042"], {42: 3}, "model")
    (found,) = ranking.retrieve(index, [lookup], catalogue)
    assert found.lexical == [42] and found.dense == []  # the encoder abstains
    assert found.fused_plain == [42]  # fusion alone: BM25's list
    assert found.fused[0] == 42 and len(found.fused) > 1  # query by example
    # The neighbours are the exact product's nearest embeddings, best first.
    cosines = index.doc_vectors @ index.doc_vectors[42]
    assert cosines[found.fused[1]] == pytest.approx(np.sort(cosines)[-2])
    assert found.features.shape == (len(found.fused), len(ranking.FEATURES))
    assert ranking.query_colour(retrieval.Query(["a", "colour4"], {}, "concept")) == 4


def test_a_ranker_without_a_feature_never_sees_it():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    queries = retrieval.make_queries(catalogue, n_queries=12, seed=4)
    found = ranking.retrieve(index, queries, catalogue)
    features = ranking.ABLATIONS["learned, no colour_match"]
    model = ranking.train_ranker(found, queries, features)
    assert model.n_features_in_ == len(ranking.FEATURES) - 1
    scrambled = [
        ranking.Candidates(
            c.lexical, c.dense, c.fused_plain, c.fused, c.features.copy()
        )
        for c in found
    ]
    for c in scrambled:  # changing the dropped column must not change the order
        c.features[:, ranking.FEATURES.index("colour_match")] = 99.0
    assert ranking.rerank(model, scrambled, features) == ranking.rerank(
        model, found, features
    )


# --- Evaluation and the experiment ---------------------------------------------------


def score(rankings, queries):
    """per_query for a single stage."""
    return ranking.per_query({"stage": rankings}, queries)["stage"]


def test_per_query_scores_both_gain_scales_and_mrr_by_hand():
    grades = {4: 3, 7: 2, 9: 2, 5: 1}
    query = retrieval.Query(["x"], grades, "model")
    only_exact = score([[4]], [query])
    discounts = 1 / np.log2(np.arange(2, 6))  # ranks 1..4
    ideal_exp = (2**3 - 1) * discounts[0] + 3 * (discounts[1] + discounts[2])
    ideal_exp += 1 * discounts[3]
    assert only_exact["ndcg"][0] == pytest.approx(7 / ideal_exp)
    ideal_esci = 1 + 0.1 * (discounts[1] + discounts[2]) + 0.01 * discounts[3]
    assert only_exact["esci"][0] == pytest.approx(1 / ideal_esci)
    assert only_exact["rr"][0] == 1.0
    late = score([[7, 9, 1, 4]], [query])
    assert late["rr"][0] == pytest.approx(1 / 4)
    no_exact = retrieval.Query(["x"], {7: 2}, "concept")
    assert np.isnan(score([[7]], [no_exact])["rr"][0])


def test_per_query_recall_counts_the_whole_list_by_grade():
    grades = {4: 3, 8: 3, 7: 2, 9: 2, 5: 1}
    query = retrieval.Query(["x"], grades, "concept")
    long_list = [
        1,
        2,
        3,
        5,
        6,
        10,
        11,
        12,
        13,
        14,
        15,
        7,
        8,
    ]  # hits after rank 10 count
    s = score([long_list, [], [5]], [query] * 3)
    assert s["recall"][0] == pytest.approx(1 / 2)  # 8 of the Exact {4, 8}
    assert s["recall_es"][0] == pytest.approx(2 / 4)  # 7 and 8 of {4, 8, 7, 9}
    assert s["recall"][1] == 0 and s["recall_es"][1] == 0  # an abstaining retriever
    assert s["recall_es"][2] == 0  # a Complement is not a useful product
    assert np.isnan(score([[7]], [retrieval.Query(["x"], {7: 2}, "c")])["recall"][0])
    # Two stages in one call: each is scored against the same judgements.
    both = ranking.per_query({"a": [[4]], "b": [[7]]}, [query])
    assert both["a"]["recall"][0] == 0.5 and both["b"]["recall"][0] == 0


def test_paired_bootstrap_matches_the_normal_interval_on_a_large_sample():
    rng = np.random.default_rng(0)
    diff = rng.normal(0.02, 1.0, 1000)
    strata = np.repeat([0, 1], 500)
    mean, low, high = ranking.paired_bootstrap(diff, strata)
    half = stats.norm.ppf(0.975) * diff.std(ddof=1) / np.sqrt(diff.size)
    assert mean == pytest.approx(diff.mean())
    assert (high - low) / 2 == pytest.approx(half, rel=0.06)  # a 90% one is 16% shorter
    assert (high + low) / 2 == pytest.approx(mean, abs=0.1 * half)


def test_paired_bootstrap_drops_missing_values_and_collapses_on_a_constant():
    diff = np.array([0.5, np.nan, 0.5, 0.5, np.nan])
    assert ranking.paired_bootstrap(diff, np.zeros(5)) == (0.5, 0.5, 0.5)


def tiny_experiment() -> ranking.Experiment:
    a = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    b = np.array([0.5, 0.0, 0.0, 0.0, 0.2, 0.0])
    scores = {
        "hybrid (RRF)": {"ndcg": a, "esci": a},
        "BM25": {"ndcg": b, "esci": b},
    }
    return ranking.Experiment(
        scores,
        lookup=np.array([True, False, False, True, False, False]),
        seed=np.array([0, 0, 0, 1, 1, 1]),
    )


def test_compare_pairs_by_query_and_reports_each_seeds_mean():
    ex = tiny_experiment()
    c = ex.compare("hybrid (RRF)", "BM25", "ndcg")
    assert c["mean"] == pytest.approx((0.5 + 1.0 + 0.8) / 6)
    assert c["seed_min"] == pytest.approx(0.8 / 3)
    assert c["seed_max"] == pytest.approx(1.5 / 3)
    assert not c["tie"]
    assert ex.compare("hybrid (RRF)", "BM25", "ndcg", "look-up")["mean"] == 0.25
    assert ex.compare("BM25", "BM25", "ndcg")["tie"]


def test_world_interval_is_scipys_t_interval_over_the_world_means():
    rng = np.random.default_rng(3)
    world = np.repeat(np.arange(5), 40)
    diff = rng.normal(0.01 * world, 0.2)  # worlds differ, as in the miniature
    diff[[3, 77]] = np.nan  # MRR's queries without an exact product
    low, high, by_world = ranking.world_interval(diff, world)
    means = [np.nanmean(diff[world == w]) for w in range(5)]
    assert by_world == pytest.approx(means)
    expected = stats.ttest_1samp(means, 0).confidence_interval(0.95)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    with pytest.raises(ValueError, match="two worlds"):
        ranking.world_interval(diff[:40], world[:40])


def test_compare_reports_both_intervals_and_the_worlds_won():
    ex = tiny_experiment()
    c = ex.compare("hybrid (RRF)", "BM25", "ndcg")
    by_world = [1.5 / 3, 0.8 / 3]
    expected = stats.ttest_1samp(by_world, 0).confidence_interval(0.95)
    assert (c["world_low"], c["world_high"]) == pytest.approx(expected)
    assert c["world_tie"]  # two worlds: a t interval with one degree of freedom
    assert c["worlds_a_wins"] == 2 and c["worlds"] == 2


def test_a_world_interval_clear_of_zero_is_no_tie_on_either_side():
    world = np.repeat([0, 1, 2], 4)
    b = np.zeros(12)
    a = b + np.array([0.10, 0.12, 0.11])[world] + np.tile([0.0, 0.02, -0.02, 0.0], 3)
    scores = {"hybrid (RRF)": {"ndcg": a}, "BM25": {"ndcg": b}}
    ex = ranking.Experiment(scores, lookup=np.zeros(12, dtype=bool), seed=world)
    better, worse = (
        ex.compare("hybrid (RRF)", "BM25", "ndcg"),
        ex.compare("BM25", "hybrid (RRF)", "ndcg"),
    )
    assert better["world_low"] > 0 and not better["world_tie"]
    assert worse["world_high"] < 0 and not worse["world_tie"]
    assert (better["worlds_a_wins"], worse["worlds_a_wins"]) == (3, 0)
    assert ex.compare("BM25", "BM25", "ndcg")["worlds_a_wins"] == 0  # a tie wins none


def test_lookup_share_is_the_lookups_part_of_the_gain():
    assert se.lookup_share(tiny_experiment(), "ndcg") == pytest.approx(0.5 / 2.3)


def test_a_new_world_keeps_the_orderings_the_page_argues_from():
    scores, lookup = ranking.run_stages(seed=11)
    ndcg = {stage: s["ndcg"] for stage, s in scores.items()}
    hybrid, plain = ndcg["hybrid (RRF)"], ndcg["hybrid, no look-up path"]
    assert plain.mean() > max(ndcg["BM25"].mean(), ndcg["dense (LSA)"].mean())
    assert ndcg["dense (LSA)"][lookup].max() == 0  # the encoder abstains
    assert plain[lookup] == pytest.approx(ndcg["BM25"][lookup])
    assert hybrid[lookup].mean() > plain[lookup].mean() + 0.3
    assert hybrid[~lookup] == pytest.approx(plain[~lookup])  # no path for them
    # The learned rankers re-order the hybrid's candidates: the same recall.
    recall = {stage: s["recall_es"] for stage, s in scores.items()}
    assert recall["learned ranker"] == pytest.approx(recall["hybrid (RRF)"])
    # With the colour only in a field, colour_match is what brings it back.
    field, blind = (
        ndcg["colour in a field: learned"],
        ndcg["colour in a field: no colour_match"],
    )
    assert field[~lookup].mean() > blind[~lookup].mean() + 0.03
    assert ndcg["colour in a field: hybrid"][~lookup].mean() < hybrid[~lookup].mean()


def test_colour_in_field_only_strikes_the_colour_word_and_nothing_else():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    field = retrieval.colour_in_field_only(catalogue)
    for before, after in zip(catalogue.texts, field.texts, strict=True):
        assert after == [w for w in before if not w.startswith("colour")]
        assert len(after) == len(before) - 1
    assert field.colour is catalogue.colour  # the attribute stays, as a field
    index = retrieval.SearchIndex.build(field, dim=16)
    query = retrieval.Query(["colour2"], {}, "concept")
    assert index.lexical([query]).max() == 0  # no text matches the colour any more
    assert not index.dense_knows(query)


def test_the_ranker_seed_is_a_new_training_run():
    catalogue = retrieval.make_catalogue(n_products=300, seed=3)
    index = retrieval.SearchIndex.build(catalogue, dim=16)
    queries = retrieval.make_queries(catalogue, n_queries=12, seed=4)
    found = ranking.retrieve(index, queries, catalogue)
    X = np.vstack([c.features for c in found])
    runs = [ranking.train_ranker(found, queries, seed=s).predict(X) for s in (0, 0, 1)]
    assert runs[0] == pytest.approx(runs[1])  # the same seed, the same model
    assert not np.allclose(runs[0], runs[2])  # a new seed samples other features


# --- The program's output and the page ------------------------------------------------


def test_the_printed_table_supports_the_page():
    rows = stage_table()
    bm25, dense = rows["BM25"], rows["dense (LSA)"]
    plain, hybrid = rows["hybrid, no look-up path"], rows["hybrid (RRF)"]
    assert dense[1] > bm25[1] and dense[2] == 0 < bm25[2]
    assert plain[0] > max(bm25[0], dense[0]) and plain[2] == bm25[2]
    assert hybrid[2] > plain[2] and hybrid[1] == plain[1]
    # The look-up path is worth less under ESCI's gains: BM25 already scores well.
    assert hybrid[2] - plain[2] > hybrid[5] - plain[5] > 0
    assert bm25[5] > bm25[2]
    # Without the colour word in the text, the retrievers lose it (descriptive queries).
    assert rows["colour in a field: hybrid"][1] < hybrid[1]


def test_the_recall_table_supports_the_page():
    recall = recall_table()
    bm25, dense = recall["BM25"], recall["dense (LSA)"]
    plain, hybrid = recall["hybrid, no look-up path"], recall["hybrid (RRF)"]
    assert bm25[2] == 1.0 and dense[2] == 0.0  # look-ups: BM25 finds every exact model
    assert dense[1] > bm25[1]  # descriptive: synonyms defeat exact matching
    assert plain[1] >= max(bm25[1], dense[1])  # fusion keeps what either found
    assert hybrid[5] > plain[5] == bm25[5]  # the look-up path brings substitutes


def test_ties_and_non_ties_are_as_the_page_reads_them():
    c = comparisons()
    dense = c["dense - BM25", "NDCG 3/2/1", "descriptive"]
    assert dense["low"] > 0 and dense["wins"] == 4 and dense["worlds"] == 5
    for segment in ("all", "descriptive"):
        fusion = c["hybrid w/o look-up path - BM25", "NDCG 3/2/1", segment]
        assert fusion["world_low"] > 0 and fusion["wins"] == 5
    learned = c["learned - hybrid", "NDCG 3/2/1", "all"]
    assert learned["low"] > 0 and learned["world_low"] > 0 and learned["wins"] == 5
    assert c["learned - hybrid", "NDCG ESCI", "all"]["tie"]
    mrr = c["learned - hybrid", "MRR", "all"]
    assert mrr["low"] > 0 and mrr["world_low"] < 0 < mrr["world_high"]
    # On look-ups no learned ranker beats the fused order, in any world.
    learned_lookup = c["learned - hybrid", "NDCG 3/2/1", "look-up"]
    assert learned_lookup["mean"] < 0 and learned_lookup["wins"] == 0
    assert learned_lookup["tie"] and learned_lookup["world_high"] < 0
    scores_lookup = c["scores and ranks - hybrid", "NDCG 3/2/1", "look-up"]
    assert scores_lookup["high"] < 0 and scores_lookup["world_high"] < 0
    recovered = c["learned - scores and ranks", "NDCG 3/2/1", "look-up"]
    assert recovered["low"] > 0 and recovered["world_tie"]
    assert c["learned - scores and ranks", "NDCG 3/2/1", "descriptive"]["tie"]
    # ... while on descriptive queries the scores alone already beat the fused order.
    scores_descr = c["scores and ranks - hybrid", "NDCG 3/2/1", "descriptive"]
    assert scores_descr["low"] > 0 and scores_descr["world_low"] > 0
    assert scores_descr["wins"] == 5
    # colour_match: a tie where the text holds the colour, a gain where it does not.
    for metric, segment in (("NDCG 3/2/1", "descriptive"), ("MRR", "all")):
        assert c["learned - no colour_match", metric, segment]["tie"]
        field = c["field: learned - no colour_match", metric, segment]
        assert field["world_low"] > 0 and field["wins"] == 5


def test_page_quotes_the_numbers_the_miniature_prints():
    rows, recall, c = stage_table(), recall_table(), comparisons()

    def interval(x, prefix=""):
        return f"[{signed(x[prefix + 'low'])}, {signed(x[prefix + 'high'])}]"

    def mean(pair, metric="NDCG 3/2/1", segment="all"):
        return c[pair, metric, segment]["mean"]

    plain, full = "hybrid w/o look-up path", "hybrid - hybrid w/o look-up path"
    dense_bm25 = c["dense - BM25", "NDCG 3/2/1", "descriptive"]
    plain_bm25 = c[f"{plain} - BM25", "NDCG 3/2/1", "all"]
    learned = c["learned - hybrid", "NDCG 3/2/1", "all"]
    learned_esci = c["learned - hybrid", "NDCG ESCI", "all"]
    learned_mrr = c["learned - hybrid", "MRR", "all"]
    learned_lookup = c["learned - hybrid", "NDCG 3/2/1", "look-up"]
    scores_lookup = c["scores and ranks - hybrid", "NDCG 3/2/1", "look-up"]
    recovered = c["learned - scores and ranks", "NDCG 3/2/1", "look-up"]
    scores_descr = c["learned - scores and ranks", "NDCG 3/2/1", "descriptive"]
    scores_rrf = c["scores and ranks - hybrid", "NDCG 3/2/1", "descriptive"]
    colour = c["learned - no colour_match", "NDCG 3/2/1", "descriptive"]
    colour_mrr = c["learned - no colour_match", "MRR", "all"]
    field = c["field: learned - no colour_match", "NDCG 3/2/1", "descriptive"]
    field_mrr = c["field: learned - no colour_match", "MRR", "all"]
    share_ours, share_esci = lookup_shares()
    quoted = [
        f"{rows['BM25'][0]:.3f} and an MRR of {rows['BM25'][6]:.3f}",
        # Read it like an interviewer would.
        f"NDCG@10 {rows['dense (LSA)'][1]:.3f} vs {rows['BM25'][1]:.3f}",
        f"{signed(dense_bm25['mean'])} with interval {interval(dense_bm25)}",
        f"means, {interval(dense_bm25, 'world_')}, only just",
        f"scores\n  {rows['dense (LSA)'][2]:.3f}",
        f"holds {recall['BM25'][1]:.3f} of a descriptive",
        f"top 100 holds {recall['dense (LSA)'][1]:.3f}",
        f"BM25 by {plain_bm25['mean']:.3f} NDCG@10 over all queries",
        f"(interval {interval(plain_bm25)} over queries,",
        f"{interval(plain_bm25, 'world_')} over worlds) and",
        f"by {mean(f'{plain} - BM25', segment='descriptive'):.3f} on",
        f"retrieval by {mean(f'{plain} - dense', segment='descriptive'):.3f} there",
        f"holds\n  {recall['hybrid, no look-up path'][1]:.3f} of a descriptive",
        f"adds {mean(full, segment='look-up'):.3f} NDCG@10",
        f"but {mean(full, 'NDCG ESCI', 'look-up'):.3f} with ESCI's",
        f"BM25's {rows['BM25'][2]:.3f} on look-ups",
        f"scores {rows['BM25'][5]:.3f}",
        f"from {recall['hybrid, no look-up path'][5]:.3f} to"
        f" {recall['hybrid (RRF)'][5]:.3f}",
        f"So {share_ours} of the hybrid's gain over BM25",
        f"with our grades, {share_esci}",
        f"adds {learned['mean']:.3f} NDCG@10 (interval {interval(learned)} over",
        f"{interval(learned, 'world_')} over\n  worlds",
        f"{mean('learned - hybrid', segment='descriptive'):.3f} on descriptive queries",
        f"tie ({signed(learned_esci['mean'])}, interval {interval(learned_esci)})",
        f"its {signed(learned_mrr['mean'])} MRR",
        f"tie over worlds (interval {interval(learned_mrr, 'world_')})",
        f"loses {abs(learned_lookup['mean']):.3f} (interval",
        f"{interval(learned_lookup)} over queries,"
        f" {interval(learned_lookup, 'world_')} over worlds",
        f"loses {abs(scores_lookup['mean']):.3f} NDCG@10 there"
        f" (interval {interval(scores_lookup)})",
        f"{signed(recovered['mean'])} over the scores-only ranker"
        f" (interval {interval(recovered)} over queries",
        f"fused order ({signed(scores_rrf['mean'])},\n"
        f"  interval {interval(scores_rrf)}",
        "over queries and over worlds, in all five)"
        if interval(scores_rrf) == interval(scores_rrf, "world_")
        and scores_rrf["wins"] == 5
        else "the intervals or the wins changed: reword the page",
        f"({signed(scores_descr['mean'])}, interval {interval(scores_descr)})",
        f"{signed(colour['mean'])} NDCG@10 on\n  descriptive queries"
        f" (interval {interval(colour)})",
        f"{signed(colour_mrr['mean'])} MRR (interval {interval(colour_mrr)})",
        f"falls from {rows['hybrid (RRF)'][1]:.3f} to"
        f" {rows['colour in a field: hybrid'][1]:.3f}",
        f"now adds {field['mean']:.3f} NDCG@10",
        f"(interval {interval(field)} over queries,"
        f" {interval(field, 'world_')} over worlds) and {field_mrr['mean']:.3f} MRR",
        # Repeated elsewhere on the page.
        f"adds {field['mean']:.3f} NDCG@10 on descriptive queries when",
        f"its\n    {signed(field['mean'])} NDCG@10 and"
        f" {signed(field_mrr['mean'])} MRR are an upper bound",
        f"by {learned['mean']:.3f} NDCG@10, all of it",
        f"MRR from {rows['hybrid (RRF)'][6]:.3f} to {rows['learned ranker'][6]:.3f}",
        f"from {rows['BM25'][2]:.3f} (BM25 alone) to {rows['hybrid (RRF)'][2]:.3f}",
        f"from {rows['BM25'][5]:.3f} to {rows['hybrid (RRF)'][5]:.3f} with",
        f"MRR {rows['dense (LSA)'][6]:.3f} for dense alone",
        f"{share_ours} of the hybrid's NDCG@10 gain over BM25",
        f"{share_esci} under ESCI's gains",
        f"beats BM25 by {mean(f'{plain} - BM25', segment='descriptive'):.3f} NDCG@10",
        f"retriever by {mean(f'{plain} - dense', segment='descriptive'):.3f}",
        f"is {learned['mean']:.3f} overall",
        f"interval of {signed(learned['low'])} to {signed(learned['high'])} over",
        f"{signed(learned['world_low'])} to\n    {signed(learned['world_high'])} over",
        f"loses {abs(learned_lookup['mean']):.3f} on\n    look-ups",
    ]
    assert_page_quotes(PAGE, *quoted)


# --- The estimate ---------------------------------------------------------------------


def test_estimates_follow_from_the_assumptions():
    e = se.estimate()
    assert e["peak_qps"] == pytest.approx(20e6 * 5 / 86_400 * 3)
    assert e["postings_bytes"] == pytest.approx(100e6 * 150 * 4)
    assert e["hnsw_link_bytes"] == pytest.approx(100e6 * 2 * 16 * 4)  # 2M int32 ids
    assert e["hnsw_pq_bytes"] == pytest.approx(100e6 * (64 + 128))
    assert e["ivf_pq_bytes"] == pytest.approx(100e6 * (64 + 8))
    assert e["hnsw_node_bytes"] == pytest.approx(100e6 * (8 + 4))  # faiss's tables
    # One copy of the HNSW index: codes, both link layers, offsets and levels.
    upper = 100e6 * 2 * 16 * 4 / (2 * 15)
    assert e["memory_bytes: ANN search"] == pytest.approx(
        100e6 * (64 + 128 + 12) + upper
    )
    assert e["feature_log_bytes"] == pytest.approx(100e6 * 50 * 100 * 4)
    assert e["judged_queries_per_week"] * 20 == 10_000
    assert e["benchmark_weeks"] == pytest.approx(2_000 * 3 / 500)
    # Retrieval: a look-up's neighbour read (5) waits for the lexical search (30).
    assert e["headroom_ms"] == pytest.approx(200 - (15 + 15 + 35 + 2 + 15 + 40 + 10))
    assert e["neighbour_list_bytes"] == pytest.approx(100e6 * 100 * 4)
    assert e["memory_bytes: feature fetch"] == pytest.approx(
        100e6 * (100 * 4 + 100 * 4)
    )
    assert e["shard_quantile"] ** e["shards"] == pytest.approx(0.99)
    assert e["comparisons_per_candidate"] == 300 * 6
    for stage, ms in se.CPU_MS_PER_SEARCH.items():
        assert e[f"cores: {stage}"] == math.ceil(e["peak_qps"] * ms / 1e3 / 0.5)


def test_hnsw_upper_layers_match_a_simulation_of_the_level_draw():
    # HNSW draws a node's top level as floor(-ln U * mL), mL = 1 / ln M, and keeps
    # M links on each layer above 0 (2M on layer 0).
    m = se.HNSW_M
    levels = np.floor(-np.log(np.random.default_rng(0).random(2_000_000)) / np.log(m))
    simulated = levels.mean() * m / (2 * m)  # upper links per layer-0 link
    e = se.estimate()
    assert e["hnsw_upper_bytes"] / e["hnsw_link_bytes"] == pytest.approx(
        simulated, rel=0.02
    )


def first_fit(pieces: list[float], capacity: float) -> int:
    """Bins that first-fit packing needs for whole pieces (no piece is split)."""
    bins: list[float] = []
    for piece in sorted(pieces, reverse=True):
        for i, used in enumerate(bins):
            if used + piece <= capacity:
                bins[i] += piece
                break
        else:
            bins.append(piece)
    return len(bins)


def test_shards_machines_and_dollars_follow_from_the_assumptions():
    e = se.estimate()
    index = 2 * 100e6 * 150 * 4  # postings, doubled for positions and fields
    usable = 128e9 * 0.5
    by_memory, by_latency = math.ceil(index / usable), math.ceil(20e6 * 5e-6 / 15)
    assert (by_memory, by_latency) == (2, 7)
    assert e["shards"] == max(by_memory, by_latency)
    # 7 whole shards of 17.1 GB: 3 fit in 64 GB, so a copy needs 3 machines, not 2.
    shards = [index / e["shards"]] * e["shards"]
    assert e["shards_per_machine"] == 3
    assert e["lexical_machines_per_zone"] == first_fit(shards, usable) == 3
    for stage, ms in se.CPU_MS_PER_SEARCH.items():
        cores = e["peak_qps"] * ms / 1e3
        # Survive a zone: the two left must carry the peak at 50% utilisation.
        per_zone_cpu = math.ceil(cores / 0.5 / 32 / 2)
        memory = e[f"memory_bytes: {stage}"]
        # Any other copy is cut into the fewest equal pieces a machine can hold.
        n = math.ceil(memory / usable)
        pieces = shards if stage == "BM25 retrieval" else [memory / max(n, 1)] * n
        per_zone_memory = first_fit(pieces, usable)
        assert e[f"machines: {stage}"] == 3 * max(per_zone_cpu, per_zone_memory)
    assert e["machines: BM25 retrieval"] == 9  # the page: memory-bound
    assert e["machines: feature fetch"] == 6  # features + neighbour lists: 80 GB
    total = sum(e[f"machines: {stage}"] for stage in se.CPU_MS_PER_SEARCH)
    assert e["machines"] == total
    assert e["dollars_per_month"] == pytest.approx(total * 1.5 * 730)
    searches_a_month = 100e6 * 730 / 24
    assert e["dollars_per_million_searches"] == pytest.approx(
        e["dollars_per_month"] / searches_a_month * 1e6
    )
    # The stages left out: at least one machine a zone each.
    assert e["not_costed_machines_at_least"] == 3 * 4
    assert e["not_costed_dollars_at_least"] == pytest.approx(12 * 1.5 * 730)


def test_machines_for_copy_counts_whole_pieces():
    assert se.machines_for_copy(7, 120e9 / 7, 64e9) == 3  # not ceil(120 / 64) = 2
    assert se.machines_for_copy(4, 16e9, 64e9) == 1  # exactly full
    assert se.machines_for_copy(0, 1.0, 64e9) == 0
    with pytest.raises(ValueError, match="exceeds"):
        se.machines_for_copy(1, 65e9, 64e9)


def test_the_ab_test_size_matches_statsmodels_with_the_design_effect():
    power = pytest.importorskip("statsmodels.stats.power")
    e = se.estimate()
    p1, p2 = 0.30, 0.30 * 1.01
    p_bar = (p1 + p2) / 2
    effect = (p2 - p1) / math.sqrt(p_bar * (1 - p_bar))
    n = power.NormalIndPower().solve_power(effect, alpha=0.05, power=0.8)
    assert e["ab_searches_per_arm"] == pytest.approx(n, rel=1e-3)
    # m: the week's 700M searches shared by its 70M searchers, not 5 a day x 7.
    m, rho = 20e6 * 5 * 7 / 70e6, 0.05
    assert e["ab_searches_per_user"] == pytest.approx(m) == pytest.approx(10)
    assert e["ab_design_effect"] == pytest.approx(1 + (m - 1) * rho)
    users = e["ab_searches_per_arm"] * (1 / m + rho * (1 - 1 / m))
    assert e["ab_users_per_arm"] == math.ceil(users)
    assert e["ab_enrol_days"] == math.ceil(2 * math.ceil(users) / (20e6 * 0.1))
    assert e["ab_days"] == 7 * math.ceil(e["ab_enrol_days"] / 7)


def test_the_page_quotes_the_estimate():
    e = se.estimate()
    size = estimation.human_bytes
    cores = {stage: e[f"cores: {stage}"] for stage in se.CPU_MS_PER_SEARCH}
    assert max(cores, key=cores.get) != "GBDT ranker"  # the page's point
    upper_share_links = f"{e['hnsw_upper_bytes'] / e['hnsw_link_bytes']:.1%}"
    upper_share_total = f"{e['hnsw_upper_bytes'] / e['hnsw_pq_bytes']:.1%}"
    retrieval_ms = next(
        ms for stage, ms in se.STAGE_MS.items() if stage.startswith("retrieval")
    )
    assert_page_quotes(
        PAGE,
        f"**{e['peak_qps']:,.0f} searches per second**",
        f"**{size(e['postings_bytes'])}**",
        f"**{size(e['vector_bytes'])}**",
        f"**{size(e['vector_pq_bytes'])}**",
        f"**{size(e['hnsw_link_bytes'])}**",
        f"**{size(e['hnsw_pq_bytes'])}**",
        f"**{size(e['ivf_pq_bytes'])}**",
        f"**{size(e['impression_log_bytes'])} a day**",
        f"**{size(e['feature_log_bytes'])} a day**",
        f"**{e['judged_queries_per_week']:,.0f} queries a week**",
        f"**{e['benchmark_weeks']:.0f} weeks**",
        f"**{e['headroom_ms']:.0f} ms**",
        f"**p{math.ceil(e['shard_quantile'] * 1e4) / 100:.2f}**",
        f"(0.99^1/{e['shards']}^)",
        f"to a **{size(e['index_bytes'])}** index",
        f"needs **{math.ceil(e['index_bytes'] / 64e9)} shards**",
        f"take **{e['heavy_query_ms']:.0f} ms** of CPU",
        f"takes **{e['shards']} shards**",
        f"slowest of its {e['shards']} index shards",
        f"**{size(e['hnsw_upper_bytes'])}**, **{upper_share_links}** of the links",
        f"**{upper_share_total}** of the 19.2 GB",
        f"4-byte level for every vector, **{size(e['hnsw_node_bytes'])}**",
        f"one copy of the index is **{size(e['memory_bytes: ANN search'])}**",
        f"7 shards of\n  **{size(e['shard_bytes'])}** each",
        f"64.0 GB holds **{e['shards_per_machine']}** of them",
        f"takes **{e['lexical_machines_per_zone']} machines** in each zone",
        f"costed here take **{e['machines']} machines**:"
        f" **{e['machines: BM25 retrieval']}** for",
        f"({e['lexical_machines_per_zone']} machines a zone for the"
        f" {e['shards']} shards",
        f"**${e['dollars_per_month']:,.0f} a month**",
        f"at least **{e['not_costed_machines_at_least']} machines**",
        f"(**${e['not_costed_dollars_at_least']:,.0f} a month**)",
        f"**${e['dollars_per_million_searches']:.2f} per million searches**",
        f"**{e['ab_searches_per_arm']:,} searches**",
        f"**{e['ab_design_effect']:.2f}**",
        f"*m* = **{e['ab_searches_per_user']:.0f}**",
        f"take **{size(e['neighbour_list_bytes'])}**",
        f"**{e['machines: feature fetch']}** for the feature store",
        f"make {size(e['memory_bytes: feature fetch'])} a copy",
        f"retrieval {retrieval_ms}, RRF",
        f"keep headroom ({e['headroom_ms']:.0f} ms here)",
        f"**{e['ab_users_per_arm']:,} users**",
        f"**{e['ab_enrol_days']} day**",
        f"**{e['ab_days']} days**",
        f"**{e['feature_rows_per_s'] / 1e6:.2f}M feature rows/s**",
        f"**{e['tree_walks_per_s'] / 1e9:.2f}B tree walks/s**",
        f"**{e['comparisons_per_candidate']:,} comparisons**",
        f"query encoder needs **{cores['query encoder']} cores**",
        f"BM25 retrieval **{cores['BM25 retrieval']}**",
        f"GBDT\n  ranker **{cores['GBDT ranker']}**",
        f"feature fetch **{cores['feature fetch']}**",
        f"ANN search **{cores['ANN search']}**",
        f"query encoder ({cores['query encoder']} cores)",
        f"lexical retrieval ({cores['BM25 retrieval']})",
        f"the ranker ({cores['GBDT ranker']})",
        # Repeated in the evaluation, the trade-offs and the scoring table.
        f"costs {e['benchmark_weeks']:.0f} weeks",
        f"({e['judged_queries_per_week']:,.0f} queries a week here)",
        f"About {e['judged_queries_per_week']:,.0f} queries a week (10k pairs",
        f"QPS ({e['peak_qps']:,.0f} at peak)",
        f"({size(e['postings_bytes'])} postings, {size(e['vector_pq_bytes'])} PQ",
        f"({e['feature_rows_per_s'] / 1e6:.2f}M feature rows/s)",
        f"HNSW links ({size(e['hnsw_link_bytes'])})",
        f"rater budget ({e['judged_queries_per_week']:,.0f} queries a week)",
        f"heaviest queries ({e['shards']} here) and the"
        f" p{math.ceil(e['shard_quantile'] * 1e4) / 100:.2f} each must meet",
        f"({e['machines']} machines for the five costed stages)",
        f"({e['ab_users_per_arm']:,} users an arm, {e['ab_days']} days)",
        f"allocated 30 + 5 = {retrieval_ms} ms",
        f"in memory ({size(e['hnsw_pq_bytes'])} per",
        f"plus {size(e['hnsw_upper_bytes'])} above it and"
        f" {size(e['hnsw_node_bytes'])} of\n  faiss's per-vector offsets and levels:"
        f" {size(e['memory_bytes: ANN search'])})",
        f"({e['machines: BM25 retrieval']} of the\n  {e['machines']}, for memory:"
        f" {e['shards']} whole shards need {e['lexical_machines_per_zone']} machines",
        f"come to ${e['dollars_per_month']:,.0f} a month",
        f"(at least {e['not_costed_machines_at_least']} more machines)",
        f"): {e['shards']} shards, set by",
        f"IVF-PQ\n  ({size(e['ivf_pq_bytes'])})",
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: retrieval.make_catalogue(n_products=10),
            ValueError,
            "every product type",
        ),
        (lambda: retrieval.make_catalogue(n_products="many"), TypeError, "int"),
        (
            lambda: retrieval.make_queries(retrieval.make_catalogue(), 1),
            ValueError,
            "at least 2",
        ),
        (lambda: retrieval.BM25(np.ones((3, 3))), TypeError, "scipy.sparse"),
        (lambda: retrieval.BM25(sparse.eye(3), b=1.5), ValueError, "0 <= b <= 1"),
        (
            lambda: ranking.per_query({"a": [[1]]}, []),
            ValueError,
            "one ranking per query",
        ),
        (lambda: ranking.train_ranker([], []), ValueError, "at least one query"),
        (lambda: ranking.columns(["price"]), ValueError, "subset of FEATURES"),
        (lambda: ranking.columns([]), ValueError, "non-empty"),
        (
            lambda: ranking.paired_bootstrap(np.ones(3), np.ones(4)),
            ValueError,
            "equal length",
        ),
        (lambda: tiny_experiment().mask("head"), ValueError, "segment must be"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
