"""Shingles, Jaccard, MinHash, LSH and clustering against independent references.

References: datasketch's MinHash (a different hash family: the estimates agree within
sampling error, never bit for bit), the S-curve computed exactly, statsmodels' Wilson
interval, networkx's connected components, scikit-learn's pair confusion matrix, and
brute-force Python set arithmetic written here.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter

import networkx as nx
import numpy as np
import pytest
from datasketch import MinHash
from scipy import optimize
from sklearn.metrics.cluster import pair_confusion_matrix

from snippets.problems import near_duplicates_minhash as mh


def pair_with_jaccard(
    shared: int, only_each: int, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two id sets with exactly `shared` common ids and `only_each` private ones."""
    common = np.arange(offset, offset + shared)
    a = np.arange(offset + shared, offset + shared + only_each)
    b = np.arange(offset + shared + only_each, offset + shared + 2 * only_each)
    return np.concatenate((common, a)), np.concatenate((common, b))


def random_sets(seed: int, n: int = 60, universe: int = 80) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        np.unique(rng.integers(0, universe, size=rng.integers(5, 30))) for _ in range(n)
    ]


def test_word_shingles_match_python_tuples():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 50, size=40)
    codes = mh.word_shingles(words, 3, 50)
    tuples = {tuple(words[i : i + 3].tolist()) for i in range(len(words) - 2)}
    assert codes.size == len(tuples)
    decoded = {(c // 2500, c // 50 % 50, c % 50) for c in codes.tolist()}
    assert decoded == tuples


def test_pairwise_jaccard_matches_python_sets():
    sets = random_sets(1)
    i, j, jac = mh.pairwise_jaccard(sets)
    found = {(a, b): s for a, b, s in zip(i.tolist(), j.tolist(), jac, strict=True)}
    for a, b in itertools.combinations(range(len(sets)), 2):
        x, y = set(sets[a].tolist()), set(sets[b].tolist())
        expected = len(x & y) / len(x | y)
        assert found.get((a, b), 0.0) == pytest.approx(expected)


def datasketch_estimate(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    sketches = []
    for ids in (a, b):
        m = MinHash(num_perm=128, seed=seed)
        for x in ids.tolist():
            m.update(str(x).encode())
        sketches.append(m)
    return sketches[0].jaccard(sketches[1])


@pytest.mark.parametrize("shared,only_each", [(10, 45), (50, 25), (90, 5)])
def test_minhash_agrees_with_datasketch_within_sampling_error(shared, only_each):
    """Both are unbiased estimates of the same Jaccard; they differ by noise only."""
    truth = shared / (shared + 2 * only_each)
    ours, theirs = [], []
    for seed in range(40):
        a, b = pair_with_jaccard(shared, only_each, offset=1000 * seed)
        sig = mh.minhash_signatures([a, b], num_perm=128, seed=seed)
        ours.append(mh.estimated_jaccard(sig[0], sig[1]))
        theirs.append(datasketch_estimate(a, b, seed))
    ours, theirs = np.array(ours), np.array(theirs)
    sd_one = np.sqrt(truth * (1 - truth) / 128)  # binomial, one estimate
    assert np.all(np.abs(ours - theirs) < 5 * np.sqrt(2) * sd_one)
    for est in (ours, theirs):  # unbiased: the mean of 40 is near the truth
        assert abs(est.mean() - truth) < 4 * sd_one / np.sqrt(40)
        assert est.std() == pytest.approx(sd_one, rel=0.35)
    assert abs(ours.mean() - theirs.mean()) < 4 * np.sqrt(2) * sd_one / np.sqrt(40)
    assert not np.array_equal(ours, theirs)  # two hash families, not one


def test_without_the_scramble_consecutive_ids_bias_the_estimate(monkeypatch):
    """Why the ids are mixed first: a linear hash of runs of consecutive ids is far
    from min-wise independent (low similarities come out high, high ones low)."""

    def mean_estimate(shared: int, only_each: int) -> float:
        estimates = []
        for seed in range(150):
            a, b = pair_with_jaccard(shared, only_each, offset=1000 * seed)
            sig = mh.minhash_signatures([a, b], num_perm=128, seed=seed)
            estimates.append(mh.estimated_jaccard(sig[0], sig[1]))
        return float(np.mean(estimates))

    sd = np.sqrt(0.1 * 0.9 / 128 / 150)  # of the mean of 150 estimates
    assert abs(mean_estimate(10, 45) - 0.1) < 4 * sd
    assert abs(mean_estimate(90, 5) - 0.9) < 4 * sd
    monkeypatch.setattr(mh, "scramble", lambda ids: ids.astype(np.int64))
    assert mean_estimate(10, 45) > 0.1 + 4 * sd
    assert mean_estimate(90, 5) < 0.9 - 4 * sd


def test_minhash_identical_sets_agree_everywhere_and_disjoint_never():
    a, b = pair_with_jaccard(0, 30, offset=0)
    sig = mh.minhash_signatures([a, a.copy(), b], num_perm=64, seed=3)
    assert mh.estimated_jaccard(sig[0], sig[1]) == 1.0
    assert mh.estimated_jaccard(sig[0], sig[2]) == 0.0


@pytest.mark.parametrize("bands,rows", [(20, 5), (64, 2), (7, 1)])
def test_lsh_candidates_are_exactly_the_pairs_equal_on_a_band(bands, rows):
    sets = random_sets(2)
    sig = mh.minhash_signatures(sets, num_perm=128, seed=5)
    found = {tuple(p) for p in mh.lsh_candidates(sig, bands, rows).tolist()}
    brute = {
        (a, b)
        for a, b in itertools.combinations(range(len(sets)), 2)
        for band in range(bands)
        if np.array_equal(
            sig[a, band * rows : (band + 1) * rows],
            sig[b, band * rows : (band + 1) * rows],
        )
    }
    assert found == brute


@pytest.mark.parametrize(
    "bands,rows,shared,only_each",
    [(20, 5, 50, 25), (20, 5, 30, 35), (32, 4, 40, 30), (16, 8, 80, 10)],
)
def test_lsh_candidate_rate_follows_the_s_curve(bands, rows, shared, only_each):
    """Independent pairs (disjoint ids) of one exact Jaccard, many hash seeds."""
    truth = shared / (shared + 2 * only_each)
    expected = float(mh.candidate_probability(truth, bands, rows))
    hits = trials = 0
    for seed in range(6):
        sets = []
        for k in range(100):
            sets += pair_with_jaccard(shared, only_each, offset=200 * k)
        sig = mh.minhash_signatures(sets, num_perm=128, seed=seed)
        pairs = {tuple(p) for p in mh.lsh_candidates(sig, bands, rows).tolist()}
        hits += sum((2 * k, 2 * k + 1) in pairs for k in range(100))
        trials += 100
    sd = np.sqrt(expected * (1 - expected) / trials)
    assert abs(hits / trials - expected) < 4 * sd + 1e-9


def test_s_curve_shape_and_threshold():
    j = np.linspace(0, 1, 101)
    for bands, rows in [(20, 5), (32, 4), (64, 2), (16, 8)]:
        p = mh.candidate_probability(j, bands, rows)
        assert p[0] == 0.0 and p[-1] == 1.0 and np.all(np.diff(p) >= 0)
        t = mh.lsh_threshold(bands, rows)
        assert t == pytest.approx((1 / bands) ** (1 / rows))
        # at the threshold one band agrees with probability 1/b: 1 - (1 - 1/b)^b
        at = float(mh.candidate_probability(t, bands, rows))
        assert at == pytest.approx(1 - (1 - 1 / bands) ** bands)
        steepest = j[np.argmax(np.gradient(p, j))]
        assert abs(steepest - t) < 0.1


@pytest.mark.parametrize("bands,rows", [(20, 5), (32, 4), (42, 3), (64, 2), (16, 8)])
def test_steepest_and_half_points_match_a_numerical_search(bands, rows):
    curve = functools.partial(mh.candidate_probability, bands=bands, rows=rows)
    slope = optimize.minimize_scalar(
        lambda s: -(curve(s + 1e-7) - curve(s - 1e-7)) / 2e-7,
        bounds=(0.01, 0.99),
        method="bounded",
        options={"xatol": 1e-9},
    )
    assert mh.steepest_point(bands, rows) == pytest.approx(slope.x, abs=1e-5)
    half = optimize.brentq(lambda s: curve(s) - 0.5, 1e-6, 1 - 1e-6)
    assert mh.half_point(bands, rows) == pytest.approx(half, abs=1e-9)
    # the usual threshold sits past both: the curve is ~0.63 there, not 0.5
    t = mh.lsh_threshold(bands, rows)
    assert mh.half_point(bands, rows) < t and mh.steepest_point(bands, rows) < t


def partition(labels) -> set[frozenset[int]]:
    groups: dict = {}
    for item, label in enumerate(np.asarray(labels).tolist()):
        groups.setdefault(label, set()).add(item)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", range(5))
def test_union_find_matches_networkx_components(seed):
    rng = np.random.default_rng(seed)
    n = 200
    edges = rng.integers(0, n, size=(rng.integers(50, 250), 2))
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())
    expected = {frozenset(c) for c in nx.connected_components(graph)}
    assert partition(mh.connected_components(n, edges)) == expected


def test_union_find_on_the_miniature_edges_matches_networkx():
    from snippets.problems import near_duplicates as nd
    from snippets.problems import near_duplicates_world as world

    corpus = world.make_corpus(3, world.WorldConfig(n_docs=300))
    sets = world.shingle_codes(corpus)
    exact = mh.pairwise_jaccard(sets)
    run = nd.lsh_run(exact, mh.minhash_signatures(sets), 32, 4, exact[2] >= 0.5)
    assert len(run["edges"]) > 50
    graph = nx.Graph()
    graph.add_nodes_from(range(len(sets)))
    graph.add_edges_from(run["edges"].tolist())
    expected = {frozenset(c) for c in nx.connected_components(graph)}
    assert partition(mh.connected_components(len(sets), run["edges"])) == expected


def test_canonical_clusters_do_not_chain():
    # a - b - c in a path, arriving a, b, c: components chain all three.
    edges, sim = np.array([[0, 1], [1, 2]]), np.array([0.6, 0.6])
    assert len(partition(mh.connected_components(3, edges))) == 1
    canon = mh.canonical_clusters(np.array([0, 1, 2]), edges, sim)
    assert canon.tolist() == [0, 0, 2]  # c's only match is b, not a canonical
    # arriving b first, b is the canonical of both
    assert mh.canonical_clusters(np.array([1, 0, 2]), edges, sim).tolist() == [1, 1, 1]


def test_canonical_clusters_pick_the_most_similar_earlier_canonical():
    rng = np.random.default_rng(4)
    n = 80
    edges = np.array(list(itertools.combinations(range(n), 2)))
    edges = edges[rng.random(len(edges)) < 0.05]
    sim = rng.random(len(edges))
    arrival = rng.permutation(n)
    canon = mh.canonical_clusters(arrival, edges, sim)
    rank = np.argsort(arrival)
    weight = {frozenset(e): s for e, s in zip(edges.tolist(), sim, strict=True)}
    for item in range(n):
        heads = [
            (weight[frozenset((item, other))], other)
            for other in range(n)
            if frozenset((item, other)) in weight
            and rank[other] < rank[item]
            and canon[other] == other
        ]
        assert canon[item] == (max(heads)[1] if heads else item)


@pytest.mark.parametrize("seed", range(4))
def test_pair_precision_recall_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 15, size=120)
    predicted = np.where(rng.random(120) < 0.7, truth, rng.integers(0, 15, size=120))
    (_, fp), (fn, tp) = pair_confusion_matrix(truth, predicted) / 2
    precision, recall = mh.pair_precision_recall(predicted, truth)
    assert precision == pytest.approx(tp / (tp + fp))
    assert recall == pytest.approx(tp / (tp + fn))


def test_drop_frequent_shingles_matches_a_counter():
    codes = [np.array([5, 10**10, 7]), np.array([5, 9]), np.array([5, 9, 11])]
    codes = [np.unique(c) for c in codes]
    frequency = Counter(x for c in codes for x in c.tolist())
    for max_df in (1, 2, 3):
        if max_df == 1:
            with pytest.raises(ValueError, match="without shingles"):
                mh.drop_frequent_shingles(codes, max_df)
            continue
        kept = mh.drop_frequent_shingles(codes, max_df)
        for raw, ids in zip(codes, kept, strict=True):
            expected = [c for c in raw.tolist() if frequency[c] <= max_df]
            assert ids.tolist() == expected


def test_scramble_is_deterministic_and_nearly_injective():
    ids = np.arange(200_000)
    mixed = mh.scramble(ids)
    assert np.array_equal(mixed, mh.scramble(ids.copy()))
    assert mixed.min() >= 0 and mixed.max() < 2**31
    # distinct ids rarely collide once cut to 31 bits (birthday: about 9 expected)
    assert ids.size - np.unique(mixed).size < 30


def test_bad_inputs_raise_clear_errors():
    good = [np.array([1, 2]), np.array([2, 3])]
    with pytest.raises(TypeError):
        mh.minhash_signatures([[1, 2]], 8)
    with pytest.raises(ValueError, match="non-empty"):
        mh.minhash_signatures([np.array([], dtype=int)], 8)
    with pytest.raises(ValueError):
        mh.minhash_signatures([np.array([-1])], 8)
    with pytest.raises(ValueError):
        mh.minhash_signatures(good, 0)
    with pytest.raises(TypeError):
        mh.minhash_signatures(good, 2.5)
    sig = mh.minhash_signatures(good, 8)
    with pytest.raises(ValueError, match="exceeds"):
        mh.lsh_candidates(sig, 3, 3)
    with pytest.raises(TypeError):
        mh.lsh_candidates(sig.ravel(), 2, 2)
    with pytest.raises(ValueError):
        mh.word_shingles(np.array([1, 2]), 3, 10)
    with pytest.raises(ValueError):
        mh.word_shingles(np.array([1, 2, 30]), 3, 10)
    with pytest.raises(ValueError):
        mh.connected_components(3, np.array([[0, 3]]))
    with pytest.raises(ValueError, match="permutation"):
        mh.canonical_clusters(np.array([0, 0]), np.empty((0, 2), int), np.array([]))
    with pytest.raises(ValueError):
        mh.pair_precision_recall(np.array([0, 1]), np.array([0, 1, 2]))
