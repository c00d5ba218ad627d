"""Approximate nearest-neighbour indexes (faiss IVF, HNSW, IVF-PQ) against exact search.

Every setting is scored by recall@10 against exact search, by the distances it computes
per query (faiss's own counters: deterministic, unlike wall-clock time) and by the bytes
it stores per vector. Run it: ``python -m snippets.concepts.ann_index``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import faiss
import numpy as np

from snippets.common.estimation import human_bytes, storage_bytes
from snippets.common.figures import (
    ACCENT,
    SECOND,
    THIRD,
    new_figure,
    plain_log_ticks,
    printed,
    styled,
)
from snippets.concepts.ranking_metrics import recall_at_k

if TYPE_CHECKING:
    from matplotlib.figure import Figure

faiss.omp_set_num_threads(1)  # one thread: the same graph and the same counts every run


# --8<-- [start:data]
def clustered_vectors(
    n_base: int,
    n_queries: int,
    dim: int = 32,
    n_clusters: int = 1000,
    noise: float = 0.7,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm float32 embeddings from a Gaussian mixture: (base, queries)."""
    for name, value in (("n_base", n_base), ("n_queries", n_queries), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_clusters < 1 or noise <= 0:
        raise ValueError("n_clusters must be >= 1 and noise > 0")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))

    def draw(n: int) -> np.ndarray:
        points = centres[rng.integers(0, n_clusters, n)] + noise * rng.normal(
            size=(n, dim)
        )
        # Unit norm, as two-tower embeddings usually are: then L2 and cosine rank alike.
        points /= np.linalg.norm(points, axis=1, keepdims=True)
        return points.astype(np.float32)

    return draw(n_base), draw(n_queries)
    # --8<-- [end:data]


def _check_vectors(vectors: np.ndarray, name: str, dim: int | None = None) -> None:
    if not isinstance(vectors, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(vectors).__name__}")
    if vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D float32 array (n, dim)")
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(f"{name} has dim {vectors.shape[1]}, the index has {dim}")
    if not np.isfinite(vectors).all():
        raise ValueError(f"{name} contains NaN or infinite values")


# --8<-- [start:build]
def build_exact(base: np.ndarray) -> faiss.Index:
    """Brute-force index: the ground truth every approximate index is scored against."""
    _check_vectors(base, "base")
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    return index


def build_ivf_flat(
    base: np.ndarray, nlist: int = 256, train_size: int = 10_000, seed: int = 0
) -> faiss.IndexIVFFlat:
    """IVF: k-means into nlist cells; a query scans only the nprobe nearest cells."""
    _check_vectors(base, "base")
    if not 1 <= nlist <= min(train_size, len(base)):
        raise ValueError("need 1 <= nlist <= training vectors")
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(base.shape[1]), base.shape[1], nlist)
    index.cp.seed = seed
    index.train(_training_sample(base, train_size, seed))  # a sample is enough
    index.add(base)
    return index


def build_hnsw(
    base: np.ndarray, neighbours: int = 16, ef_construction: int = 20
) -> faiss.IndexHNSWFlat:
    """HNSW: a layered proximity graph with about 2 x neighbours links per vector."""
    _check_vectors(base, "base")
    if neighbours < 2 or ef_construction < 1:
        raise ValueError("need neighbours >= 2 and ef_construction >= 1")
    index = faiss.IndexHNSWFlat(base.shape[1], neighbours)
    index.hnsw.efConstruction = ef_construction
    index.add(base)
    return index


def build_ivf_pq(
    base: np.ndarray,
    nlist: int = 256,
    n_subvectors: int = 8,
    bits: int = 8,
    train_size: int = 10_000,
    seed: int = 0,
) -> faiss.IndexIVFPQ:
    """IVF-PQ: IVF cells, each vector stored as n_subvectors codes of `bits` bits."""
    _check_vectors(base, "base")
    if base.shape[1] % n_subvectors:
        raise ValueError(f"dim {base.shape[1]} is not divisible by {n_subvectors}")
    if not 1 <= nlist <= min(train_size, len(base)) or not 1 <= bits <= 16:
        raise ValueError("need 1 <= nlist <= training vectors and 1 <= bits <= 16")
    dim = base.shape[1]
    index = faiss.IndexIVFPQ(faiss.IndexFlatL2(dim), dim, nlist, n_subvectors, bits)
    index.cp.seed = seed
    index.pq.cp.seed = seed
    index.pq.cp.niter = 5  # few k-means rounds: recall@10 did not move with more
    index.train(_training_sample(base, train_size, seed))
    index.add(base)
    return index


def with_exact_rerank(
    index: faiss.Index, base: np.ndarray, shortlist_factor: int = 10
) -> faiss.IndexRefineFlat:
    """Re-rank the top k x shortlist_factor approximate hits with the raw vectors."""
    _check_vectors(base, "base", index.d)
    if len(base) != index.ntotal or shortlist_factor < 1:
        raise ValueError("base must be the indexed vectors; shortlist_factor >= 1")
    refined = faiss.IndexRefineFlat(index, faiss.swig_ptr(base))
    refined.k_factor = shortlist_factor
    return refined


def _training_sample(base: np.ndarray, size: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).permutation(len(base))[:size]
    return base[np.sort(rows)]
    # --8<-- [end:build]


# --8<-- [start:measure]
def search(
    index: faiss.Index, queries: np.ndarray, k: int = 10
) -> tuple[np.ndarray, float]:
    """Top-k ids per query and the mean distance computations per query."""
    _check_vectors(queries, "queries", index.d)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= index.ntotal:
        raise ValueError(f"k must be an integer in [1, {index.ntotal}], got {k!r}")
    ivf = faiss.try_extract_index_ivf(index)  # also finds IVF inside a re-ranker
    faiss.cvar.indexIVF_stats.reset()
    faiss.cvar.hnsw_stats.reset()
    _, ids = index.search(queries, k)
    if ivf is not None:  # the coarse quantizer compares with every centroid first
        computed = faiss.cvar.indexIVF_stats.ndis + len(queries) * ivf.nlist
        if isinstance(index, faiss.IndexRefine):  # plus the exact re-rank
            computed += len(queries) * k * index.k_factor
    elif isinstance(index, faiss.IndexHNSW):
        computed = faiss.cvar.hnsw_stats.ndis
    else:
        computed = len(queries) * index.ntotal  # brute force
    return ids, computed / len(queries)


def mean_recall_at_k(found_ids: np.ndarray, exact_ids: np.ndarray, k: int) -> float:
    """Average over queries of recall@k of the found ids against the exact top k."""
    if found_ids.shape[0] != exact_ids.shape[0] or found_ids.shape[1] < k:
        raise ValueError("found_ids and exact_ids need one row per query, k columns")
    return float(
        np.mean(
            [
                # faiss pads with -1 when it finds fewer than k: drop the padding
                recall_at_k([int(i) for i in found if i >= 0], exact[:k].tolist(), k)
                for found, exact in zip(found_ids, exact_ids, strict=True)
            ]
        )
    )


def bytes_per_vector(index: faiss.Index) -> float:
    """Size of the serialised index divided by the number of vectors it holds."""
    if index.ntotal == 0:
        raise ValueError("the index is empty")
    return faiss.serialize_index(index).nbytes / index.ntotal
    # --8<-- [end:measure]


def measure_query_time(
    index: faiss.Index, queries: np.ndarray, k: int = 10, repeats: int = 3
) -> float:
    """Best-of-`repeats` wall-clock milliseconds per query (for benchmarks only)."""
    _check_vectors(queries, "queries", index.d)
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        index.search(queries, k)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(queries)


@dataclass(frozen=True)
class Row:
    """One index setting and what it cost."""

    index: str
    setting: str
    recall: float
    distances: float
    bytes_per_vector: float


@styled
def recall_figure(rows: list[Row] | None = None) -> Figure:
    """Recall@10 against distances computed per query, one line per index family;
    ``rows`` as printed (recall to three decimals, whole distances), by default the
    benchmark ``main()`` prints."""
    if rows is None:
        rows = [
            Row(
                r.index,
                r.setting,
                printed(r.recall, 3),
                printed(r.distances, 0),
                printed(r.bytes_per_vector, 1),
            )
            for r in benchmark()
        ]
    fig, (ax,) = new_figure()
    families = (
        ("IVF-Flat 256", SECOND, "s", "nprobe"),
        ("HNSW M=16", ACCENT, "o", "ef"),
    )
    for index, colour, marker, knob in families:
        mine = [row for row in rows if row.index == index]
        ax.plot(
            [r.distances for r in mine],
            [r.recall for r in mine],
            marker=marker,
            color=colour,
            label=f"{index}, {knob} = "
            + ", ".join(r.setting.split("=")[1] for r in mine),
        )
    exact = next(row for row in rows if row.index == "Flat (exact)")
    ax.plot(
        [exact.distances],
        [exact.recall],
        "D",
        color=THIRD,
        label="exact (flat) search",
    )
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("distances computed per query (log scale)")
    ax.set_ylabel("recall@10")
    ax.set_ylim(0.6, 1.02)
    ax.legend(loc="lower right")
    return fig


# --8<-- [start:demo]
def benchmark(n_base: int = 100_000, n_queries: int = 500, k: int = 10) -> list[Row]:
    """Recall@k, distances per query and bytes per vector for several settings."""
    base, queries = clustered_vectors(n_base, n_queries)
    exact = build_exact(base)
    exact_ids, exact_cost = search(exact, queries, k)
    rows = [Row("Flat (exact)", "-", 1.0, exact_cost, bytes_per_vector(exact))]

    ivf = build_ivf_flat(base, nlist=256)
    for nprobe in (1, 4, 16, 64):
        ivf.nprobe = nprobe
        ids, cost = search(ivf, queries, k)
        recall = mean_recall_at_k(ids, exact_ids, k)
        rows.append(
            Row("IVF-Flat 256", f"nprobe={nprobe}", recall, cost, bytes_per_vector(ivf))
        )

    hnsw = build_hnsw(base, neighbours=16, ef_construction=20)
    for ef_search in (16, 32, 64, 128):
        hnsw.hnsw.efSearch = ef_search
        ids, cost = search(hnsw, queries, k)
        recall = mean_recall_at_k(ids, exact_ids, k)
        rows.append(
            Row("HNSW M=16", f"ef={ef_search}", recall, cost, bytes_per_vector(hnsw))
        )

    for n_subvectors, bits in ((8, 8), (16, 4), (32, 4)):
        pq = build_ivf_pq(base, nlist=256, n_subvectors=n_subvectors, bits=bits)
        pq.nprobe = 16
        ids, cost = search(pq, queries, k)
        recall = mean_recall_at_k(ids, exact_ids, k)
        name = f"IVF-PQ {n_subvectors}x{bits}b"
        rows.append(Row(name, "nprobe=16", recall, cost, bytes_per_vector(pq)))
        if (n_subvectors, bits) == (8, 8):
            refined = with_exact_rerank(pq, base, shortlist_factor=10)
            ids, cost = search(refined, queries, k)
            recall = mean_recall_at_k(ids, exact_ids, k)
            memory = bytes_per_vector(refined)
            rows.append(Row("  + re-rank", "top 100", recall, cost, memory))
    return rows


def main() -> None:
    rows = benchmark()
    print("100,000 unit vectors (d=32), 500 queries, recall@10 vs exact search")
    header = ("index", "setting", "recall@10", "dist/query", "B/vec")
    print("{:<14} {:<10} {:>9} {:>10} {:>6}".format(*header))
    for row in rows:
        print(
            f"{row.index:<14} {row.setting:<10} {row.recall:>9.3f} "
            f"{row.distances:>10,.0f} {row.bytes_per_vector:>6.1f}"
        )
    found = {(row.index.strip(), row.setting): row for row in rows}

    def at_100m(index: str, setting: str) -> str:
        return human_bytes(storage_bytes(100e6, found[index, setting].bytes_per_vector))

    print("\nAt 100M such vectors (one copy; replicas multiply it):")
    for index, setting in (
        ("Flat (exact)", "-"),
        ("HNSW M=16", "ef=64"),
        ("IVF-PQ 8x8b", "nprobe=16"),
        ("+ re-rank", "top 100"),
    ):
        recall = found[index, setting].recall
        print(f"  {index:<13} {setting:<10} {at_100m(index, setting):>8} in RAM,"
              f" recall@10 {recall:.3f}")  # fmt: skip
    # Or keep the raw vectors on SSD: RAM holds the PQ index, and each query
    # reads its shortlist's raw vectors at random.
    reads, qps = 10 * 10, 10_000  # k x shortlist factor; the QPS is assumed
    print(
        f"  re-rank from SSD: {at_100m('IVF-PQ 8x8b', 'nprobe=16')} in RAM, "
        f"{at_100m('Flat (exact)', '-')} on SSD, {reads} random reads a query,"
        f"\n  {reads * qps:,} reads/s at an assumed {qps:,} QPS"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
