"""Shingles, exact Jaccard, MinHash, LSH banding and clustering for near-duplicates.

The building blocks of the near-duplicate miniature: word k-shingles as integer
codes, exact Jaccard over every pair that shares a shingle (a sparse product, the
ground truth), MinHash signatures, LSH banding with its S-curve, the Wilson interval
for a measured candidate rate, union-find, and pair precision and recall of a
clustering.

Run the whole miniature: ``python -m snippets.problems.near_duplicates``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

MERSENNE_31 = (1 << 31) - 1  # the prime of the universal hash family


def _check_sets(shingle_sets: Sequence[np.ndarray]) -> None:
    if not isinstance(shingle_sets, Sequence) or isinstance(shingle_sets, str):
        raise TypeError("shingle_sets must be a sequence of integer arrays")
    if len(shingle_sets) == 0:
        raise ValueError("shingle_sets is empty")
    for i, ids in enumerate(shingle_sets):
        if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu":  # integers
            raise TypeError(f"shingle_sets[{i}] must be an integer numpy array")
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"shingle_sets[{i}] must be a non-empty 1-d array")
    every = np.concatenate(shingle_sets)
    if every.min() < 0:
        raise ValueError("shingle ids must be non-negative")


def _check_count(name: str, value: int, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def word_shingles(words: np.ndarray, k: int, vocab_size: int) -> np.ndarray:
    """The set of word k-shingles of a document, as sorted unique integer codes."""
    k = _check_count("k", k)
    vocab_size = _check_count("vocab_size", vocab_size, low=2)
    if not isinstance(words, np.ndarray) or not np.issubdtype(words.dtype, np.integer):
        raise TypeError("words must be an integer numpy array of word ids")
    if words.ndim != 1 or words.size < k:
        raise ValueError(f"words must be a 1-d array of at least k={k} word ids")
    if words.min() < 0 or words.max() >= vocab_size:
        raise ValueError(f"word ids must be in [0, {vocab_size})")
    if vocab_size**k >= 2**63:
        raise ValueError("vocab_size**k must fit in 63 bits")
    codes = np.zeros(words.size - k + 1, dtype=np.int64)
    for offset in range(k):  # a base-vocab_size number: one code per k-gram
        codes = codes * vocab_size + words[offset : words.size - k + 1 + offset]
    return np.unique(codes)


def pairwise_jaccard(
    shingle_sets: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Jaccard of every pair i < j sharing a shingle: (i, j, jaccard).

    Pairs missing from the result share nothing (Jaccard 0). The intersection
    sizes come from a sparse product of the document-by-shingle incidence matrix.
    """
    _check_sets(shingle_sets)
    _, dense = np.unique(np.concatenate(shingle_sets), return_inverse=True)
    sizes = np.array([ids.size for ids in shingle_sets])
    rows = np.repeat(np.arange(sizes.size), sizes)
    incidence = sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.int32), (rows, dense)),
        shape=(sizes.size, int(dense.max()) + 1),
    )
    shared = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    i, j = shared.row.astype(np.int64), shared.col.astype(np.int64)
    union = sizes[i] + sizes[j] - shared.data
    order = np.lexsort((j, i))
    return i[order], j[order], (shared.data / union)[order]


def scramble(ids: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mixer (splitmix64's finaliser), cut to 31 bits.

    Linear hashes of structured ids (consecutive integers) are far from min-wise
    independent and bias the estimate; mixing first removes the structure, as
    hashing the shingle text does in production.
    """
    z = ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return ((z ^ (z >> np.uint64(31))) >> np.uint64(33)).astype(np.int64)


# --8<-- [start:minhash]
def minhash_signatures(
    shingle_sets: Sequence[np.ndarray], num_perm: int = 128, seed: int = 0
) -> np.ndarray:
    """MinHash signatures (documents, num_perm): per hash k, the minimum over the
    set of h_k(x) = (a_k x + b_k) mod p; two sets share it with probability ~J."""
    _check_sets(shingle_sets)
    num_perm = _check_count("num_perm", num_perm)
    rng = np.random.default_rng(seed)
    a = rng.integers(1, MERSENNE_31, size=num_perm, dtype=np.int64)
    b = rng.integers(0, MERSENNE_31, size=num_perm, dtype=np.int64)
    ids, where = np.unique(scramble(np.concatenate(shingle_sets)), return_inverse=True)
    starts = np.cumsum([0] + [s.size for s in shingle_sets[:-1]])
    signatures = np.empty((len(shingle_sets), num_perm), dtype=np.uint32)
    for k in range(num_perm):  # a_k x < 2^62: no overflow in int64
        hashed = (a[k] * ids + b[k]) % MERSENNE_31  # each distinct shingle once
        signatures[:, k] = np.minimum.reduceat(hashed[where], starts)
    return signatures


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """The MinHash estimate: the share of hashes on which two signatures agree."""
    return np.mean(np.asarray(sig_a) == np.asarray(sig_b), axis=-1)
    # --8<-- [end:minhash]


def _check_bands(signatures: np.ndarray, bands: int, rows: int) -> None:
    if not isinstance(signatures, np.ndarray) or signatures.ndim != 2:
        raise TypeError("signatures must be a 2-d numpy array (documents, hashes)")
    _check_count("bands", bands)
    _check_count("rows", rows)
    if bands * rows > signatures.shape[1]:
        raise ValueError(
            f"bands x rows = {bands * rows} exceeds the {signatures.shape[1]} hashes"
        )


# --8<-- [start:lsh]
def lsh_candidates(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Candidate pairs (i < j), shape (pairs, 2): equal on all rows of some band."""
    _check_bands(signatures, bands, rows)
    n = signatures.shape[0]
    found = []
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.itemsize * rows))).ravel()
        order = np.argsort(keys, kind="stable")  # a bucket: a run of equal keys
        new_run = np.r_[True, keys[order][1:] != keys[order][:-1]]
        run_end = np.r_[np.flatnonzero(new_run)[1:], n]
        later = run_end[np.cumsum(new_run) - 1] - np.arange(n) - 1
        left = np.repeat(np.arange(n), later)  # each member with every later one
        step = np.arange(left.size) - np.repeat(np.cumsum(later) - later, later)
        a, b = order[left], order[left + 1 + step]
        found.append(np.minimum(a, b) * n + np.maximum(a, b))
    codes = np.unique(np.concatenate(found))
    return np.column_stack((codes // n, codes % n))
    # --8<-- [end:lsh]


# --8<-- [start:s_curve]
def candidate_probability(jaccard: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The S-curve: P(candidate) = 1 - (1 - s^r)^b for a pair of Jaccard s."""
    s = np.asarray(jaccard, dtype=float)
    return 1.0 - (1.0 - s**rows) ** bands


def lsh_threshold(bands: int, rows: int) -> float:
    """The usual threshold (1/b)^(1/r), where one band agrees with probability 1/b;
    the curve there is 1 - (1 - 1/b)^b ~ 0.63, a little past its steepest point."""
    return (1.0 / bands) ** (1.0 / rows)
    # --8<-- [end:s_curve]


def steepest_point(bands: int, rows: int) -> float:
    """The Jaccard where the S-curve rises fastest: s^r = (r - 1) / (br - 1)."""
    bands, rows = _check_count("bands", bands), _check_count("rows", rows)
    return ((rows - 1) / (bands * rows - 1)) ** (1.0 / rows)


def half_point(bands: int, rows: int) -> float:
    """The Jaccard at which a pair becomes a candidate with probability 1/2."""
    bands, rows = _check_count("bands", bands), _check_count("rows", rows)
    return (1.0 - 0.5 ** (1.0 / bands)) ** (1.0 / rows)


def _check_edges(n_items: int, edges: np.ndarray) -> np.ndarray:
    n_items = _check_count("n_items", n_items)
    edges = np.asarray(edges)
    if edges.size == 0:
        return edges.reshape(0, 2).astype(np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError("edges must have shape (m, 2)")
    if not np.issubdtype(edges.dtype, np.integer):
        raise TypeError("edges must hold integer item ids")
    if edges.min() < 0 or edges.max() >= n_items:
        raise ValueError(f"edge ends must be item ids in [0, {n_items})")
    return edges


# --8<-- [start:union_find]
def connected_components(n_items: int, edges: np.ndarray) -> np.ndarray:
    """Cluster label per item: union-find over the verified duplicate edges."""
    edges = _check_edges(n_items, edges)
    parent = list(range(n_items))
    size = [1] * n_items

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps the trees flat
            x = parent[x]
        return x

    for a, b in edges.tolist():
        root_a, root_b = find(a), find(b)
        if root_a != root_b:  # union by size: the smaller tree goes under
            if size[root_a] < size[root_b]:
                root_a, root_b = root_b, root_a
            parent[root_b] = root_a
            size[root_a] += size[root_b]
    return np.array([find(x) for x in range(n_items)])
    # --8<-- [end:union_find]


def canonical_clusters(
    arrival: np.ndarray, edges: np.ndarray, similarity: np.ndarray
) -> np.ndarray:
    """Streaming assignment without chaining: join an earlier canonical, or be one.

    Items arrive in the order given; an item joins the cluster of its most similar
    earlier canonical among its verified edges, and becomes a canonical itself if
    it has none. Returns the canonical's id per item.
    """
    arrival = np.asarray(arrival)
    n = arrival.size
    if sorted(arrival.tolist()) != list(range(n)):
        raise ValueError("arrival must be a permutation of the item ids")
    edges = _check_edges(n, edges)
    similarity = np.asarray(similarity, dtype=float)
    if similarity.shape != (edges.shape[0],):
        raise ValueError("similarity needs one value per edge")
    rank = np.empty(n, dtype=np.int64)
    rank[arrival] = np.arange(n)
    earlier: list[list[tuple[float, int]]] = [[] for _ in range(n)]
    for (a, b), s in zip(edges.tolist(), similarity.tolist(), strict=True):
        late, early = (a, b) if rank[a] > rank[b] else (b, a)
        earlier[late].append((s, early))
    canonical = np.full(n, -1, dtype=np.int64)
    for item in arrival.tolist():
        heads = [(s, e) for s, e in earlier[item] if canonical[e] == e]
        canonical[item] = max(heads)[1] if heads else item
    return canonical


def pair_precision_recall(
    predicted: np.ndarray, truth: np.ndarray
) -> tuple[float, float]:
    """Precision and recall of the pairs a clustering puts together."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape or predicted.ndim != 1 or predicted.size < 2:
        raise ValueError("predicted and truth must be equal-length 1-d label arrays")
    _, pred = np.unique(predicted, return_inverse=True)
    _, true = np.unique(truth, return_inverse=True)
    joint = sparse.coo_matrix((np.ones(pred.size), (pred, true))).tocsr()
    both = np.sum(joint.data * (joint.data - 1)) / 2
    pred_pairs = np.sum((c := np.bincount(pred)) * (c - 1)) / 2
    true_pairs = np.sum((c := np.bincount(true)) * (c - 1)) / 2
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    return float(precision), float(recall)


def drop_frequent_shingles(
    code_sets: Sequence[np.ndarray], max_df: int
) -> list[np.ndarray]:
    """Each set without the shingles found in more than max_df documents.

    The most frequent shingles are boilerplate (templates, signatures, legal
    footers) and stock phrases: they make unrelated documents look alike.
    """
    _check_sets(code_sets)
    max_df = _check_count("max_df", max_df)
    every = np.concatenate(code_sets)
    _, inverse, counts = np.unique(every, return_inverse=True, return_counts=True)
    keep = counts[inverse] <= max_df  # a set holds a shingle once: documents
    sizes = np.add.reduceat(keep, np.cumsum([0] + [c.size for c in code_sets[:-1]]))
    if np.any(sizes == 0):
        raise ValueError(f"max_df={max_df} leaves a document without shingles")
    return np.split(every[keep], np.cumsum(sizes)[:-1])
