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
COMPARISON = re.compile(
    r"^(?P<pair>.+?)\s+(?P<metric>NDCG 3/2/1|NDCG ESCI|MRR)\s+"
    r"(?P<segment>all|descriptive|look-up)\s+(?P<mean>[+-]\d\.\d{3}) "
    r"\[(?P<low>[+-]\d\.\d{3}), (?P<high>[+-]\d\.\d{3})\] "
    r"(?P<seed_min>[+-]\d\.\d{3})\.\.(?P<seed_max>[+-]\d\.\d{3})(?P<tie>  tie)?$"
)


def stage_table() -> dict[str, list[float]]:
    """Stage -> NDCG@10 (3/2/1: all, descr., look-up; ESCI: same), MRR, as printed."""
    rows = {}
    for line in module_output(MODULE).splitlines():
        for stage in se.STAGES:
            cells = line[len(stage) :].split()
            if line.startswith(stage + " ") and len(cells) == 7:
                rows[stage] = [float(x) for x in cells]
    assert set(rows) == set(se.STAGES)
    return rows


def comparisons() -> dict[tuple[str, str, str], dict]:
    """(pair, metric, segment) -> mean, interval, seed range and tie, as printed."""
    found = {}
    for line in module_output(MODULE).splitlines():
        if m := COMPARISON.match(line):
            values = {k: float(m[k]) for k in ("mean", "low", "high")}
            values |= {k: float(m[k]) for k in ("seed_min", "seed_max")}
            found[m["pair"], m["metric"], m["segment"]] = values | {
                "tie": bool(m["tie"])
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


def test_per_query_scores_both_gain_scales_and_mrr_by_hand():
    grades = {4: 3, 7: 2, 9: 2, 5: 1}
    query = retrieval.Query(["x"], grades, "model")
    only_exact = ranking.per_query([[4]], [query])
    discounts = 1 / np.log2(np.arange(2, 6))  # ranks 1..4
    ideal_exp = (2**3 - 1) * discounts[0] + 3 * (discounts[1] + discounts[2])
    ideal_exp += 1 * discounts[3]
    assert only_exact["ndcg"][0] == pytest.approx(7 / ideal_exp)
    ideal_esci = 1 + 0.1 * (discounts[1] + discounts[2]) + 0.01 * discounts[3]
    assert only_exact["esci"][0] == pytest.approx(1 / ideal_esci)
    assert only_exact["rr"][0] == 1.0
    late = ranking.per_query([[7, 9, 1, 4]], [query])
    assert late["rr"][0] == pytest.approx(1 / 4)
    no_exact = retrieval.Query(["x"], {7: 2}, "concept")
    assert np.isnan(ranking.per_query([[7]], [no_exact])["rr"][0])


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
        lookup=np.array([True, False, True, False, False, False]),
        seed=np.array([0, 0, 0, 1, 1, 1]),
    )


def test_compare_pairs_by_query_and_reports_each_seeds_mean():
    ex = tiny_experiment()
    c = ex.compare("hybrid (RRF)", "BM25", "ndcg")
    assert c["mean"] == pytest.approx((0.5 + 1.0 + 0.8) / 6)
    assert c["seed_min"] == pytest.approx(0.8 / 3)
    assert c["seed_max"] == pytest.approx(1.5 / 3)
    assert not c["tie"]
    assert ex.compare("hybrid (RRF)", "BM25", "ndcg", "look-up")["mean"] == 0.75
    assert ex.compare("BM25", "BM25", "ndcg")["tie"]


def test_lookup_share_is_the_lookups_part_of_the_gain():
    assert se.lookup_share(tiny_experiment(), "ndcg") == pytest.approx(1.5 / 2.3)


def test_a_new_world_keeps_the_orderings_the_page_argues_from():
    scores, lookup = ranking.run_stages(seed=11)
    ndcg = {stage: s["ndcg"] for stage, s in scores.items()}
    hybrid, plain = ndcg["hybrid (RRF)"], ndcg["hybrid, no look-up path"]
    assert plain.mean() > max(ndcg["BM25"].mean(), ndcg["dense (LSA)"].mean())
    assert ndcg["dense (LSA)"][lookup].max() == 0  # the encoder abstains
    assert plain[lookup] == pytest.approx(ndcg["BM25"][lookup])
    assert hybrid[lookup].mean() > plain[lookup].mean() + 0.3
    assert hybrid[~lookup] == pytest.approx(plain[~lookup])  # no path for them


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


def test_ties_and_non_ties_are_as_the_page_reads_them():
    c = comparisons()
    key = ("learned - hybrid", "NDCG 3/2/1", "all")
    assert not c[key]["tie"] and c[key]["low"] > 0
    assert c["learned - hybrid", "NDCG 3/2/1", "look-up"]["high"] < 0
    for metric in ("NDCG 3/2/1", "MRR"):
        assert c["learned - learned w/o colour_match", metric, "all"]["tie"]
    scores_only = "learned - learned, scores and ranks"
    assert c[scores_only, "NDCG 3/2/1", "descriptive"]["tie"]
    assert not c[scores_only, "NDCG 3/2/1", "look-up"]["tie"]
    worlds = c["dense - BM25", "NDCG 3/2/1", "descriptive"]
    assert worlds["low"] > 0 and worlds["seed_min"] < 0 < worlds["seed_max"]


def test_page_quotes_the_numbers_the_miniature_prints():
    rows, c = stage_table(), comparisons()

    def interval(x):
        return f"[{signed(x['low'])}, {signed(x['high'])}]"

    def mean(pair, metric="NDCG 3/2/1", segment="all"):
        return c[pair, metric, segment]["mean"]

    plain, full = "hybrid w/o look-up path", "hybrid - hybrid w/o look-up path"
    dense_bm25 = c["dense - BM25", "NDCG 3/2/1", "descriptive"]
    plain_bm25 = c[f"{plain} - BM25", "NDCG 3/2/1", "all"]
    learned = c["learned - hybrid", "NDCG 3/2/1", "all"]
    learned_lookup = c["learned - hybrid", "NDCG 3/2/1", "look-up"]
    colour = c["learned - learned w/o colour_match", "NDCG 3/2/1", "all"]
    colour_mrr = c["learned - learned w/o colour_match", "MRR", "all"]
    scores_only = "learned - learned, scores and ranks"
    share_ours, share_esci = lookup_shares()
    quoted = [
        f"{rows['BM25'][0]:.3f} and an MRR of {rows['BM25'][6]:.3f}",
        f"NDCG@10 {rows['dense (LSA)'][1]:.3f} vs {rows['BM25'][1]:.3f}",
        f"{signed(dense_bm25['mean'])} with interval {interval(dense_bm25)}",
        f"{signed(dense_bm25['seed_min'])} to {signed(dense_bm25['seed_max'])}",
        f"scores {rows['dense (LSA)'][2]:.3f}",
        f"BM25 by {plain_bm25['mean']:.3f} NDCG@10 over all queries",
        f"(interval {interval(plain_bm25)})",
        f"by {mean(f'{plain} - BM25', segment='descriptive'):.3f} on descriptive ones",
        f"{mean(f'{plain} - dense', segment='descriptive'):.3f} there",
        f"retriever by {mean(f'{plain} - dense', segment='descriptive'):.3f}",
        f"beats BM25 by {mean(f'{plain} - BM25', segment='descriptive'):.3f} NDCG@10",
        f"adds {mean(full, segment='look-up'):.3f} NDCG@10",
        f"but {mean(full, 'NDCG ESCI', 'look-up'):.3f} with ESCI's",
        f"BM25's {rows['BM25'][2]:.3f} on look-ups",
        f"scores {rows['BM25'][5]:.3f}",
        f"So {share_ours} of the hybrid's gain over BM25",
        f"with our grades, {share_esci}",
        f"adds {learned['mean']:.3f} NDCG@10 (interval {interval(learned)}",
        f"run from {signed(learned['seed_min'])} to",
        f"{signed(learned['seed_max'])}), {mean('learned - hybrid', 'NDCG ESCI'):.3f}",
        f"and {mean('learned - hybrid', 'MRR'):.3f} MRR",
        f"({signed(mean('learned - hybrid', segment='descriptive'))})",
        f"loses {abs(learned_lookup['mean']):.3f} (interval",
        f"{interval(learned_lookup)})",
        f"scores the same: {signed(colour['mean'])}",
        f"(interval {interval(colour)})",
        f"{signed(colour_mrr['mean'])} MRR (interval {interval(colour_mrr)})",
        f"({signed(mean(scores_only, segment='descriptive'))})",
        f"look-ups ({signed(mean(scores_only, segment='look-up'))})",
        # Repeated in the trade-offs, the follow-ups and the common mistakes.
        f"MRR from {rows['hybrid (RRF)'][6]:.3f} to {rows['learned ranker'][6]:.3f}",
        f"from {rows['BM25'][2]:.3f} (BM25 alone) to {rows['hybrid (RRF)'][2]:.3f}",
        f"from {rows['BM25'][5]:.3f} to {rows['hybrid (RRF)'][5]:.3f} with",
        f"MRR {rows['dense (LSA)'][6]:.3f} for dense alone",
        f"{share_ours} of the hybrid's NDCG@10 gain over BM25",
        f"{share_esci} under ESCI's gains",
        f"by {learned['mean']:.3f} NDCG@10",
        f"is {learned['mean']:.3f} overall",
        f"interval of {signed(learned['low'])} to {signed(learned['high'])}",
        f"{learned['seed_min']:.3f} to {learned['seed_max']:.3f}",
        f"loses {abs(learned_lookup['mean']):.3f} on look-ups",
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
    assert e["feature_log_bytes"] == pytest.approx(100e6 * 50 * 100 * 4)
    assert e["judged_queries_per_week"] * 20 == 10_000
    assert e["benchmark_weeks"] == pytest.approx(2_000 * 3 / 500)
    assert e["headroom_ms"] == pytest.approx(200 - (15 + 15 + 30 + 2 + 15 + 40 + 10))
    assert e["shard_quantile"] ** 20 == pytest.approx(0.99)
    assert e["comparisons_per_candidate"] == 300 * 6
    for stage, ms in se.CPU_MS_PER_SEARCH.items():
        assert e[f"cores: {stage}"] == math.ceil(e["peak_qps"] * ms / 1e3 / 0.5)


def test_the_page_quotes_the_estimate():
    e = se.estimate()
    size = estimation.human_bytes
    cores = {stage: e[f"cores: {stage}"] for stage in se.CPU_MS_PER_SEARCH}
    assert max(cores, key=cores.get) != "GBDT ranker"  # the page's point
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
        f"the p{math.ceil(e['shard_quantile'] * 1e4) / 100:.2f} each of 20 shards",
        f"in memory ({size(e['hnsw_pq_bytes'])} per",
        f"IVF-PQ ({size(e['ivf_pq_bytes'])})",
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
        (lambda: ranking.per_query([[1]], []), ValueError, "one ranking per query"),
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
