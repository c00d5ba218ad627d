"""Near-duplicate miniature: the estimate, the S-curve, the claims, the page numbers."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from guide import (
    assert_page_quotes,
    assert_page_says,
    module_output,
    paired_differences,
    typographic_minus,
)
from scipy import stats

from snippets.problems import near_duplicates as nd
from snippets.problems import near_duplicates_minhash as mh
from snippets.problems import near_duplicates_world as world

PAGE = "problems/near-duplicates.md"
MODULE = "snippets.problems.near_duplicates"
N = r"\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def estimate_rows() -> dict[str, str]:
    """Back-of-envelope rows: label -> printed value."""
    block = output().split("Latency,")[0]
    return {
        m[1].strip(): m[2] for m in re.finditer(r"^  (.+?)\s{2,}(\S.*?)$", block, re.M)
    }


def s_curve() -> list[tuple[float, int, list[tuple[float, float, float, float]]]]:
    """Rows: (bin low, pairs, [(measured, low, high, theory) per setting])."""
    block = output().split("averaged over the bin")[1].split("S-curve inside")[0]
    cell = rf"({N}) \[({N}),({N})\] ({N})"
    rows = []
    for m in re.finditer(rf"^({N})-{N}\s+([\d,]+)((?:\s+{cell}){{3}})$", block, re.M):
        cells = [tuple(map(float, c)) for c in re.findall(cell, m[3])]
        rows.append((float(m[1]), int(m[2].replace(",", "")), cells))
    return rows


def inside_counts() -> dict[str, tuple[int, int, int]]:
    """Cells inside: (of 30, inside among the open cells, open cells) per variant."""
    out = output()
    kept = re.search(
        r"measured rate in (\d+) of 30 cells;\nin (\d+) of the (\d+) cells", out
    )
    raw = re.search(
        r"All shingles kept: inside in (\d+) of 30; in (\d+) of the (\d+)", out
    )
    return {
        "boilerplate out": tuple(map(int, kept.groups())),
        "all": tuple(map(int, raw.groups())),
    }


def s_curve_points() -> dict[str, float]:
    m = re.search(
        rf"is ({N}) at J = 0.5 and ({N}) at 0.55; it is steepest at ({N}),"
        rf"\nreaches 0.5 at ({N}), and is ({N}) at t = ({N}). b=42 r=3 is ({N})",
        output(),
    )
    keys = ("at 0.5", "at 0.55", "steepest", "half", "at t", "t", "42 at 0.5")
    return dict(zip(keys, map(float, m.groups()), strict=True))


def rehash() -> list[tuple[str, float, int, float, float, float, float, float, float]]:
    """Rows: shingles, bin low, pairs, mean, low, high, S-curve, SD, indep., ratio."""
    block = output().split("pairs were independent trials")[1].split("LSH against")[0]
    rows = []
    for m in re.finditer(
        rf"^(all|boilerplate out)\s+({N})-{N}\s+([\d,]+)\s+({N}) \[({N}),({N})\]"
        rf"\s+({N})\s+({N})\s+({N})\s+({N})$",
        block,
        re.M,
    ):
        rows.append(
            (m[1], float(m[2]), int(m[3].replace(",", "")), *map(float, m.groups()[3:]))
        )
    return rows


def rehash_summary() -> tuple[int, int, float, float, float, float]:
    m = re.search(
        rf"inside the interval in (\d+) of (\d+) rows;.*?all shingles ({N})-({N}),"
        rf" boilerplate out ({N})-({N})",
        output(),
        re.S,
    )
    return int(m[1]), int(m[2]), *map(float, m.groups()[2:])


def work_table() -> dict[tuple[int, int], dict[str, float]]:
    keys = ("t", "cand", "share", "dup", "recall", "bo_cand", "bo_share", "bo_dup")
    rows = {}
    pattern = (
        rf"^b=(\d+) r=(\d+)\s+({N})\s+([\d,]+)\s+({N})%\s+({N})\s+({N})"
        rf"\s+([\d,]+)\s+({N})%\s+({N})\s+({N})$"
    )
    for m in re.finditer(pattern, output(), re.M):
        values = [float(v.replace(",", "")) for v in m.groups()[2:]]
        rows[int(m[1]), int(m[2])] = dict(
            zip((*keys, "bo_recall"), values, strict=True)
        )
    return rows


def verification() -> dict[str, tuple[float, float]]:
    found = {}
    for name in ("exact Jaccard", "MinHash estimate"):
        m = re.search(rf"{name}.*precision ({N})\s+recall ({N})", output())
        found[name] = (float(m[1]), float(m[2]))
    return found


def clusters() -> dict[tuple[str, str], tuple[float, ...]]:
    """(shingles, clustering) -> precision, recall, largest, and the shares of the
    wrong pairs: one seller, two sellers under one template, a direct edge."""
    block = output().split("precision and recall of the pairs put together")[1]
    block = block.split("seller: two items")[0]
    rows = {}
    for m in re.finditer(
        rf"^(all|boilerplate out)\s+(.+?)((?:\s+{N}){{6}})$", block, re.M
    ):
        rows[m[1], m[2]] = tuple(float(v) for v in m[3].split())
    return rows


def split_shares() -> tuple[float, float]:
    m = re.search(
        rf"did not arrive first ({N}); of those canonical\s+assignment"
        rf" splits, ({N})",
        output(),
    )
    return float(m[1]), float(m[2])


def diffs() -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    return paired_differences(output())


def minhash_error() -> tuple[float, float, float, float, float, int]:
    """Mean error, its interval, RMSE, theory, and the hash functions counted."""
    m = re.search(
        rf"mean error ([+-]{N}) \[95% interval ([+-]{N}), ([+-]{N})\] over the (\d+)"
        rf" hash functions.*?RMSE ({N});.*?pairs, ({N})",
        output(),
        re.S,
    )
    mean, low, high, rmse, theory = (float(m[i]) for i in (1, 2, 3, 5, 6))
    return mean, low, high, rmse, theory, int(m[4])


def test_every_table_parses_completely():
    assert len(s_curve()) == 10
    assert set(work_table()) == set(nd.SETTINGS)
    assert len(clusters()) == len(nd.CLUSTERINGS)
    assert len(rehash()) == rehash_summary()[1] > 0
    assert len(diffs()) == sum(len(rows) for _, rows in nd.COMPARISONS)


def test_the_estimate_matches_arithmetic_done_here():
    est = nd.estimate_capacity()
    assert est["ingest_qps"] == pytest.approx(20e6 / 86_400 * 3)
    assert est["band_index"] == "1.5 TB"  # 5e8 x 32 bands x 32 B x 3 replicas
    assert est["index_machines"] == int(np.ceil((1.536e12 + 1.08e11) / 1e11))
    long, own, removed = est["from_template"][32, 4]
    assert long == pytest.approx(5e6 * (1 - (1 - 0.2**4) ** 32))
    # a 60-word template: 58 shared 3-shingles, union 300 + 300 - 58
    assert own == pytest.approx(5e6 * (1 - (1 - (58 / 542) ** 4) ** 32))
    assert removed == pytest.approx(5e6 * (1 - (1 - 0.02**4) ** 32))
    assert est["tail_candidates"] == pytest.approx(10 + removed)
    assert est["cpu_us"] == pytest.approx(
        (300 * 128e-9 + (10 + removed) * 600 * 2e-9 + 1e-3) * 1e6
    )
    assert est["band_index_42"] == "2.0 TB"  # 5e8 x 42 x 32 B x 3
    assert est["photo_vectors"] == "1.5 TB"  # 5e8 x 256 x 4 B x 3
    assert est["on_ssd"] == "4.1 TB"  # 0.768 + 1.8 + 1.536 TB
    assert est["ssd_reads"] == pytest.approx(20e6 / 86_400 * 3 * (10 + removed + 20))
    # a lower threshold (more bands, fewer rows) gives more false candidates
    per_setting = [est["from_template"][s][0] for s in ((42, 3), (32, 4), (20, 5))]
    assert per_setting == sorted(per_setting, reverse=True)
    assert est["band_fanout_percentile"] == pytest.approx(100 * 0.99 ** (1 / 32))
    assert est["headroom_ms"] == 200 - sum(est["stages_ms"].values())
    assert est["text_path_ms"] <= (
        est["stages_ms"]["photo embeddings (GPU)"]
        + est["stages_ms"]["photo ANN search"]
    )  # the photo path is the critical one, as the page says
    rows = estimate_rows()
    assert rows["peak ingests a second (3x the mean)"] == f"{est['ingest_qps']:,.0f}"


def test_minhash_is_unbiased_with_the_binomial_spread():
    mean, low, high, rmse, theory, hashes = minhash_error()
    assert hashes == len(nd.SEEDS) * nd.NUM_PERM
    assert low <= mean <= high and low <= 0 <= high  # unbiased: zero in the interval
    assert high - low < 0.01
    assert rmse == pytest.approx(theory, rel=0.1)


def test_the_mean_error_interval_counts_hash_functions_not_pairs():
    # an independent check on one world: re-draw the hash functions many times; the
    # mean error over pairs moves by about the SD of one hash's error / sqrt(128)
    corpus = world.make_corpus(0, world.WorldConfig(n_docs=200))
    sets = world.shingle_codes(corpus)
    i, j, jac = mh.pairwise_jaccard(sets)
    per_seed, per_hash = [], []
    for h in range(12):
        sig = mh.minhash_signatures(sets, nd.NUM_PERM, seed=h)
        agree = sig[i] == sig[j]
        per_seed.append(agree.mean() - jac.mean())
        per_hash.append(agree.mean(axis=0) - jac.mean())
    spread = np.std(per_seed, ddof=1)
    predicted = np.std(np.concatenate(per_hash), ddof=1) / np.sqrt(nd.NUM_PERM)
    assert spread == pytest.approx(predicted, rel=0.6)
    naive = np.std(np.concatenate(per_hash)) / np.sqrt(nd.NUM_PERM * i.size)
    assert spread > 5 * naive  # treating pairs as independent would be far too narrow


def test_measured_candidate_rates_follow_the_s_curve():
    rows = s_curve()
    inside = sum(lo <= t <= hi for _, _, cells in rows for _, lo, hi, t in cells)
    counts = inside_counts()
    kept, kept_open, open_cells = counts["boilerplate out"]
    raw, raw_open, _ = counts["all"]
    assert abs(inside - kept) <= 1  # the parsed values are rounded to 3 decimals
    assert kept >= 26  # about 1.5 of 30 would fall outside by chance
    assert raw < kept and raw_open < kept_open  # correlated pairs with templates
    # the open cells: the measured rate is neither 0 nor 1 (printed 0.000 or 1.000
    # can still be open: a rate of 0.0004 or 0.9996)
    printed_open = sum(0 < m < 1 for _, _, cells in rows for m, *_ in cells)
    assert printed_open <= open_cells <= 30
    assert kept - kept_open == 30 - open_cells  # every saturated cell passes
    for low, _, cells in rows:
        for (bands, r), (measured, _, _, theory) in zip(nd.CURVES, cells, strict=True):
            assert abs(measured - theory) < 0.05
            # the bin's mean prediction lies between the curve at its two ends
            lo_curve = mh.candidate_probability(low, bands, r)
            hi_curve = mh.candidate_probability(low + 0.1, bands, r)
            assert lo_curve - 5e-4 <= theory <= hi_curve + 5e-4


def test_inside_counts_open_cells_apart_from_saturated_ones():
    cells = [  # (measured rate, low, high, prediction)
        (0.0, 0.0, 0.01, 0.001),  # saturated at 0, inside
        (0.5, 0.4, 0.6, 0.5),  # open, inside
        (0.3, 0.25, 0.35, 0.4),  # open, outside
        (1.0, 0.99, 1.0, 1.0),  # saturated at 1, inside
    ]
    assert nd.inside([(0.0, 0.1, 100, cells)]) == (3, 1, 2)


def test_the_printed_s_curve_points_match_the_formula_done_here():
    points = s_curve_points()
    b, r = nd.CHOSEN

    def curve(s, bands=b, rows=r):
        return 1 - (1 - s**rows) ** bands

    assert points["at 0.5"] == pytest.approx(curve(0.5), abs=5e-4)
    assert points["at 0.55"] == pytest.approx(curve(0.55), abs=5e-4)
    assert points["42 at 0.5"] == pytest.approx(curve(0.5, 42, 3), abs=5e-4)
    assert points["t"] == pytest.approx((1 / b) ** (1 / r), abs=5e-4)
    assert points["at t"] == pytest.approx(1 - (1 - 1 / b) ** b, abs=5e-4)
    grid = np.linspace(0.2, 0.6, 400_001)
    assert points["steepest"] == pytest.approx(
        grid[np.argmax(np.gradient(curve(grid), grid))], abs=5e-4
    )
    assert points["half"] == pytest.approx(
        grid[np.argmin(np.abs(curve(grid) - 0.5))], abs=5e-4
    )
    assert points["half"] < points["steepest"] < points["t"]


def test_re_hashing_one_world_shows_the_formula_right_and_the_trials_correlated():
    rows = rehash()
    inside, total, all_low, all_high, bo_low, bo_high = rehash_summary()
    assert inside == sum(lo <= t <= hi for *_, lo, hi, t, _, _, _ in rows)
    assert inside >= total - 1
    for _, _, _, mean, _, _, theory, sd, independent, ratio in rows:
        assert abs(mean - theory) < 0.05
        assert 0.01 < theory < 0.99
        assert ratio == pytest.approx(sd / independent, rel=0.05, abs=0.06)
    ratios = {
        shingles: [row[-1] for row in rows if row[0] == shingles]
        for shingles in ("all", "boilerplate out")
    }
    assert (min(ratios["all"]), max(ratios["all"])) == (all_low, all_high)
    assert (min(ratios["boilerplate out"]), max(ratios["boilerplate out"])) == (
        bo_low,
        bo_high,
    )
    # shared template minima: the spread is well beyond independent trials
    assert all_low > 2 and np.median(ratios["all"]) > np.median(
        ratios["boilerplate out"]
    )


def test_work_falls_and_recall_falls_as_the_threshold_rises():
    table = work_table()
    ordered = [table[s] for s in nd.SETTINGS]  # settings listed by rising threshold
    for key in ("cand", "recall", "bo_cand", "bo_recall"):
        values = [row[key] for row in ordered]
        assert values == sorted(values, reverse=True), key
    for key in ("dup", "bo_dup"):
        values = [row[key] for row in ordered]
        assert values[0] < values[-1], key
    for row in ordered:
        assert row["share"] == pytest.approx(100 * row["cand"] / 499_500, abs=0.01)
        assert row["bo_cand"] < row["cand"]  # boilerplate makes candidates
    chosen = table[nd.CHOSEN]
    assert chosen["t"] < nd.THRESHOLD < table[20, 5]["t"]
    assert chosen["bo_recall"] > 0.95 > table[20, 5]["bo_recall"]
    assert chosen["bo_share"] < 0.5


def test_signature_verification_loses_to_exact_verification():
    exact, estimate = (
        verification()["exact Jaccard"],
        verification()["MinHash estimate"],
    )
    assert exact[0] == 1.0 and estimate[0] < exact[0] and estimate[1] < exact[1]
    # after exact verification, recall is the candidate step's recall
    assert exact[1] == work_table()[nd.CHOSEN]["bo_recall"]
    for label in ("precision", "recall"):
        _, _, high, tie = diffs()[
            "MinHash estimate minus exact Jaccard, verifying", label
        ]
        assert high < 0 and not tie


def test_boilerplate_and_chaining_claims_hold_with_intervals():
    rows = clusters()
    comp = "connected components"
    assert rows["boilerplate out", comp][0] > rows["all", comp][0]
    assert rows["boilerplate out", comp][2] < rows["all", comp][2]
    # the cause of what each fix removes: templates join strangers, series join
    # one seller's items; once templates are out, every wrong pair is a series pair
    assert rows["all", comp][3] < 0.9
    assert rows["all", comp][3] + rows["all", comp][4] == pytest.approx(1, abs=2e-3)
    assert rows["boilerplate out", comp][3] > 0.95
    assert rows["boilerplate out", comp][4] == 0
    # most series errors are chains, which canonical assignment removes; the direct
    # edges it keeps are then most of what it still gets wrong
    canon = rows["boilerplate out", "canonical only"]
    assert rows["boilerplate out", comp][5] < 0.5 < canon[5]
    # the cause of canonical assignment's lost recall: the original arrived late
    joined, split = split_shares()
    assert split > joined
    block = "canonical, originals first minus canonical only, boilerplate out"
    assert diffs()[block, "recall"][1] > 0
    block = "boilerplate out minus all shingles, connected components"
    assert diffs()[block, "precision"][1] > 0
    assert diffs()[block, "recall"][2] < 0
    assert diffs()[block, "largest"][2] < 0
    block = "canonical only minus connected components, boilerplate out"
    assert diffs()[block, "precision"][1] > 0
    assert diffs()[block, "recall"][2] < 0
    b, r = nd.CHOSEN
    block = f"b={b} r={r} minus exact all pairs, boilerplate out, clusters"
    assert diffs()[block, "precision"][3]  # a tie
    assert diffs()[block, "recall"][2] < 0 and diffs()[block, "recall"][0] > -0.05
    block = f"b=42 r=3 minus b={b} r={r}, boilerplate out"
    assert (
        diffs()[block, "recall"][1] > 0
        and diffs()[block, "candidates, % of all pairs"][1] > 0
    )


def test_printed_ties_are_intervals_that_hold_zero():
    for (_, _), (_, low, high, tie) in diffs().items():
        assert tie == (low <= 0 <= high)


def test_lsh_run_agrees_with_set_arithmetic_done_here():
    corpus = world.make_corpus(4, world.WorldConfig(n_docs=250))
    sets = world.shingle_codes(corpus)
    sig = mh.minhash_signatures(sets, nd.NUM_PERM, seed=4)
    exact = mh.pairwise_jaccard(sets)
    run = nd.lsh_run(exact, sig, 32, 4, exact[2] >= nd.THRESHOLD)
    python_sets = [set(s.tolist()) for s in sets]

    def jaccard(a, b):
        return len(python_sets[a] & python_sets[b]) / len(
            python_sets[a] | python_sets[b]
        )

    duplicates = {
        (a, b)
        for a in range(len(sets))
        for b in range(a + 1, len(sets))
        if jaccard(a, b) >= nd.THRESHOLD
    }
    candidates = {tuple(p) for p in run["pairs"].tolist()}
    assert {tuple(e) for e in run["edges"].tolist()} == duplicates & candidates
    assert run["recall"] == pytest.approx(
        len(duplicates & candidates) / len(duplicates)
    )
    assert run["candidate precision"] == pytest.approx(
        len(duplicates & candidates) / len(candidates)
    )
    # scored against another definition, the verified edges stay those of the
    # exact Jaccard, and precision and recall follow the definition
    stricter = {p for p in duplicates if jaccard(*p) >= 0.6}
    other = nd.lsh_run(exact, sig, 32, 4, exact[2] >= 0.6)
    assert {tuple(e) for e in other["edges"].tolist()} == duplicates & candidates
    assert other["recall"] == pytest.approx(len(stricter & candidates) / len(stricter))
    assert other["precision"] == pytest.approx(
        len(stricter & candidates) / len(duplicates & candidates)
    )


@pytest.fixture(scope="module")
def small_world():
    corpus = world.make_corpus(2, world.WorldConfig(n_docs=300))
    sets = world.shingle_codes(corpus)
    exact = mh.pairwise_jaccard(sets)
    run = nd.lsh_run(
        exact, mh.minhash_signatures(sets, 128, 2), 32, 4, exact[2] >= nd.THRESHOLD
    )
    return corpus, run["edges"], run["edge jaccard"]


def test_cluster_scores_match_pairs_counted_here(small_world):
    corpus, edges, sim = small_world
    edge_set = {tuple(e) for e in edges.tolist()}
    for labels in (
        mh.connected_components(corpus.family.size, edges),
        mh.canonical_clusters(corpus.arrival, edges, sim),
    ):
        wrong = seller = template = direct = 0
        for a, b in itertools.combinations(range(labels.size), 2):
            if labels[a] != labels[b] or corpus.family[a] == corpus.family[b]:
                continue
            wrong += 1
            seller += corpus.seller[a] == corpus.seller[b]
            template += (
                corpus.seller[a] != corpus.seller[b]
                and corpus.template[a] == corpus.template[b] >= 0
            )
            direct += (a, b) in edge_set
        scores = nd.cluster_scores(labels, corpus, edges)
        assert wrong > 0
        assert scores["same seller"] == pytest.approx(seller / wrong)
        assert scores["template"] == pytest.approx(template / wrong)
        assert scores["direct"] == pytest.approx(direct / wrong)


def test_originals_first_moves_each_original_to_its_family_s_first_slot(small_world):
    corpus, _, _ = small_world
    order = nd.originals_first(corpus)
    assert sorted(order.tolist()) == list(range(order.size))
    rank, new_rank = np.empty_like(order), np.empty_like(order)
    rank[corpus.arrival], new_rank[order] = np.arange(order.size), np.arange(order.size)
    moved = 0
    for fam in range(corpus.family.max() + 1):
        members = np.flatnonzero(corpus.family == fam)
        assert sorted(rank[members]) == sorted(new_rank[members])  # same slots
        original = members[corpus.is_original[members]][0]
        assert new_rank[original] == new_rank[members].min()
        re_posts = members[~corpus.is_original[members]]
        assert (
            np.argsort(rank[re_posts]).tolist()
            == np.argsort(new_rank[re_posts]).tolist()
        )  # the re-posts keep their order
        moved += rank[original] != rank[members].min()
    assert moved > 0


def test_split_by_canonical_matches_pairs_counted_here(small_world):
    corpus, edges, sim = small_world
    components = mh.connected_components(corpus.family.size, edges)
    canonical = mh.canonical_clusters(corpus.arrival, edges, sim)
    first_arrival = {}
    for item in corpus.arrival.tolist():
        first_arrival.setdefault(int(corpus.family[item]), item)
    joined = split = joined_late = split_late = 0
    for a, b in itertools.combinations(range(corpus.family.size), 2):
        if corpus.family[a] != corpus.family[b] or components[a] != components[b]:
            continue
        late = not corpus.is_original[first_arrival[int(corpus.family[a])]]
        joined, joined_late = joined + 1, joined_late + late
        if canonical[a] != canonical[b]:
            split, split_late = split + 1, split_late + late
    assert nd.split_by_canonical(corpus, components, canonical) == pytest.approx(
        (joined_late / joined, split_late / split)
    )


def test_a_pair_just_below_the_threshold_often_passes_on_its_estimate():
    # the page: at J = 0.48, a 128-hash estimate reaches 0.5 about a third of the time
    p = stats.binom.sf(63, 128, 0.48)
    assert 0.28 < p < 0.40
    assert np.sqrt(0.25 / 128) == pytest.approx(0.044, abs=5e-4)


def test_the_page_quotes_the_program():
    est = nd.estimate_capacity()
    long = {s: f"{v[0]:,.0f}" for s, v in est["from_template"].items()}
    own = {s: f"{v[1]:,.0f}" for s, v in est["from_template"].items()}
    removed = {s: f"{v[2]:,.1f}" for s, v in est["from_template"].items()}
    dollars = {k: f"${v:,.0f}" for k, v in est["dollars_month"].items()}
    assert_page_quotes(
        PAGE,
        f"{est['ingest_qps']:,.0f}",
        est["band_index"],
        est["band_index_42"],
        est["photo_index"],
        est["in_memory"],
        f"{est['index_machines']} machines",
        est["signatures"],
        est["shingle_sets"],
        est["photo_vectors"],
        est["on_ssd"],
        f"{est['ssd_per_machine']} per index machine",
        f"{est['ssd_reads']:,.0f}",
        f"{est['all_pairs']:.2e}",
        f"{est['candidate_pairs']:.2e}",
        f"Jaccard {est['template_jaccards'][1]:.3f}",
        long[nd.CHOSEN],
        long[42, 3],
        *own.values(),
        *removed.values(),
        f"{est['tail_candidates']:.1f}",
        f"{est['cpu_us']:,.0f} µs",
        f"{est['cores']} cores",
        f"{est['gpus']} A100s",
        *dollars.values(),
        f"p{est['band_fanout_percentile']:.2f}",
        f"{est['headroom_ms']:.0f} ms",
        *est["logs"].values(),
    )
    mean, low, high, rmse, theory, hashes = minhash_error()
    counts = inside_counts()
    kept_in, kept_open, open_cells = counts["boilerplate out"]
    points = s_curve_points()
    inside, total, all_low, all_high, bo_low, bo_high = rehash_summary()
    table = work_table()
    chosen = table[nd.CHOSEN]
    exact, estimate = (
        verification()["exact Jaccard"],
        verification()["MinHash estimate"],
    )
    rows = clusters()
    ingest = re.search(
        rf"boilerplate out\): ({N}) earlier candidates, at most (\d+)", output()
    )
    errors = re.search(r"against exact Jaccard, ([\d,]+) pairs", output())[1]

    def four(x: float) -> str:
        return typographic_minus(f"{x:.4f}")

    assert_page_says(
        PAGE,
        f"{errors} pairs",
        f"the mean error is {four(mean)}, with a 95% interval of [{four(low)},"
        f" {four(high)}] over the {hashes} hash functions",
        f"The RMSE is {rmse:.4f}, against {theory:.4f} predicted",
        f"in {kept_in} of 30 cells",
        f"in {kept_open} of the {open_cells} cells whose rate is neither 0 nor 1",
        f"only {counts['all'][1]} of the {counts['all'][2]} such cells"
        f" ({counts['all'][0]} of 30)",
        f"even the {kept_in} of 30",
        f"with {len(nd.REHASH) + 1} hash seeds",
        f"inside its interval in {inside} of {total} rows",
        f"{all_low:.1f}–{all_high:.1f} times",
        f"{bo_low:.1f}–{bo_high:.1f} times with boilerplate out",
        f"{points['at 0.5']:.3f} at exactly 0.5",
        f"{points['at 0.55']:.3f} at 0.55",
        f"reaches {points['42 at 0.5']:.3f} at 0.5",
        f"({points['at t']:.3f} at t = {points['t']:.3f}",
        f"rises fastest at {points['steepest']:.3f} and reaches 0.5 at"
        f" {points['half']:.3f}",
        f"{chosen['bo_cand']:,.0f} pairs per seed",
        f"{chosen['bo_share']:.2f}% of all",
        f"finds {chosen['bo_recall']:.3f} of the pairs",
        f"{chosen['bo_dup']:.3f} of its candidates are duplicates",
        f"a lower threshold ({table[42, 3]['t']:.3f})",
        f"drops to {table[20, 5]['bo_recall']:.3f}",
        f"(threshold {table[20, 5]['t']:.3f}, above the definition)",
        f"({chosen['cand']:,.0f} for b = 32, r = 4)",
        f"duplicate share to {chosen['dup']:.3f}, for {chosen['recall']:.3f} recall",
        f"{ingest[1]} earlier candidates",
        f"at most {ingest[2]}",
        f"precision at {exact[0]:.3f}",
        f"{estimate[0]:.3f} precision and {estimate[1]:.3f} recall",
    )
    comp, canon = "connected components", "canonical only"
    bo_comp, bo_canon = rows["boilerplate out", comp], rows["boilerplate out", canon]
    joined, split = split_shares()
    assert_page_says(
        PAGE,
        f"components reach {rows['all', comp][1]:.3f} recall",
        f"{rows['all', comp][0]:.3f} precision",
        f"a largest cluster of {rows['all', comp][2]:.1f} listings (mean over the"
        " seeds)",
        f"{rows['all', comp][2]:.1f} listings and one of {bo_comp[2]:.1f}",
        f"only {rows['all', comp][3]:.3f} of the wrongly joined pairs are two items of"
        " one seller",
        f"the other {rows['all', comp][4]:.3f} are listings of two sellers under one"
        " template",
        f"every wrongly joined pair ({bo_comp[3]:.3f})",
        f"{bo_comp[5]:.3f} are direct verified edges",
        f"from {bo_comp[0]:.3f} to {bo_canon[0]:.3f}",
        f"from {bo_comp[1]:.3f} to {bo_canon[1]:.3f}",
        f"{bo_canon[5]:.3f} of what it still joins wrongly",
        f"{split:.3f} are in families whose original did not arrive first, against"
        f" {joined:.3f}",
    )
    d = diffs()
    b, r = nd.CHOSEN
    wider = d[f"b=42 r=3 minus b={b} r={r}, boilerplate out", "recall"]
    extra = d[
        f"b=42 r=3 minus b={b} r={r}, boilerplate out", "candidates, % of all pairs"
    ]
    verify = "MinHash estimate minus exact Jaccard, verifying"
    bo = "boilerplate out minus all shingles, connected components"
    canonical = "canonical only minus connected components, boilerplate out"
    first = "canonical, originals first minus canonical only, boilerplate out"
    lsh_vs_exact = d[
        f"b={b} r={r} minus exact all pairs, boilerplate out, clusters", "recall"
    ]
    assert d[first, "precision"][2] < 0  # the page says it gives precision back
    assert_page_says(
        PAGE,
        f"{wider[0]:.3f} of recall [{wider[1]:.3f}, {wider[2]:.3f}]",
        f"{extra[0]:.3f} more percentage points",
        f"{-d[verify, 'precision'][0]:.3f} of precision",
        f"{-d[verify, 'recall'][0]:.3f} of recall",
        f"{d[bo, 'precision'][0]:.3f} of precision [{d[bo, 'precision'][1]:.3f},"
        f" {d[bo, 'precision'][2]:.3f}]",
        f"{-d[bo, 'recall'][0]:.3f} of recall",
        f"shrinks by {-d[bo, 'largest'][0]:.1f}",
        f"by {d[canonical, 'precision'][0]:.3f}",
        f"{-d[canonical, 'recall'][0]:.3f} of recall",
        f"recovers {d[first, 'recall'][0]:.3f} of recall",
        f"gains {d[first, 'recall'][0]:.3f} of recall [{d[first, 'recall'][1]:.3f},"
        f" {d[first, 'recall'][2]:.3f}]",
        f"gives back {-d[first, 'precision'][0]:.3f} of precision"
        f" [{-d[first, 'precision'][2]:.3f}, {-d[first, 'precision'][1]:.3f}]",
        f"{-lsh_vs_exact[0]:.3f} of recall",
    )


def test_run_seed_rejects_a_bad_seed():
    with pytest.raises(TypeError):
        nd.run_seed("zero")
