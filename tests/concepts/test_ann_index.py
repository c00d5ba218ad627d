"""faiss indexes vs exact search: recall rises with effort, PQ compresses, errors."""

from __future__ import annotations

import itertools
import re

import faiss
import numpy as np
import pytest
from guide import ROOT, assert_page_quotes, module_output

from snippets.common.estimation import human_bytes, storage_bytes
from snippets.concepts import ann_index as ann

PAGE = "concepts/retrieval-and-ranking.md"


@pytest.fixture(scope="module")
def small():
    base, queries = ann.clustered_vectors(20_000, 200, dim=16, n_clusters=200, seed=3)
    exact_ids, _ = ann.search(ann.build_exact(base), queries, 10)
    return base, queries, exact_ids


@pytest.fixture(scope="module")
def table():
    """The printed benchmark, parsed: (index, setting) -> (recall, dist, bytes)."""
    rows = {}
    table = module_output("snippets.concepts.ann_index").split("\n\n")[0]
    for line in table.splitlines()[2:]:
        name, setting = line[:14].strip(), line[15:25].strip()
        recall, dist, size = line[25:].split()
        rows[(name, setting)] = (
            float(recall),
            float(dist.replace(",", "")),
            float(size),
        )
    return rows


def test_data_is_unit_norm_float32_and_seeded():
    first, _ = ann.clustered_vectors(100, 5, seed=1)
    again, _ = ann.clustered_vectors(100, 5, seed=1)
    assert first.dtype == np.float32 and first.shape == (100, 32)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(first, again)


def test_exact_index_agrees_with_numpy_brute_force(small):
    base, queries, exact_ids = small
    q, b = queries.astype(float), base.astype(float)  # |q - b|^2, without a 3-D array
    squared = (q**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * q @ b.T
    numpy_ids = np.argsort(squared, axis=1, kind="stable")[:, :10]
    agree = np.mean(
        [set(a) == set(b) for a, b in zip(numpy_ids, exact_ids, strict=True)]
    )
    assert agree >= 0.99  # float32 vs float64 may swap a near-tie at rank 10
    found = np.take_along_axis(squared, exact_ids, axis=1)
    np.testing.assert_allclose(
        found, np.sort(squared, axis=1)[:, :10], rtol=1e-4, atol=1e-5
    )


def test_ivf_probing_every_cell_is_exact_search(small):
    base, queries, exact_ids = small
    ivf = ann.build_ivf_flat(base, nlist=32, train_size=5_000)
    ivf.nprobe = ivf.nlist
    ids, cost = ann.search(ivf, queries, 10)
    assert ann.mean_recall_at_k(ids, exact_ids, 10) == 1.0
    assert cost == len(base) + ivf.nlist  # every vector plus every centroid


def test_recall_rises_with_nprobe_and_ef_search(small):
    base, queries, exact_ids = small
    ivf = ann.build_ivf_flat(base, nlist=64, train_size=5_000)
    hnsw = ann.build_hnsw(base, neighbours=8, ef_construction=16)
    ivf_recalls, hnsw_recalls, hnsw_costs = [], [], []
    for nprobe in (1, 2, 8, 32):
        ivf.nprobe = nprobe
        ivf_recalls.append(
            ann.mean_recall_at_k(ann.search(ivf, queries)[0], exact_ids, 10)
        )
    for ef in (10, 20, 40, 80):
        hnsw.hnsw.efSearch = ef
        ids, cost = ann.search(hnsw, queries)
        hnsw_recalls.append(ann.mean_recall_at_k(ids, exact_ids, 10))
        hnsw_costs.append(cost)
    assert np.all(np.diff(ivf_recalls) >= 0) and ivf_recalls[-1] > ivf_recalls[0]
    assert np.all(np.diff(hnsw_recalls) >= 0) and hnsw_recalls[-1] > hnsw_recalls[0]
    assert np.all(np.diff(hnsw_costs) > 0) and hnsw_costs[-1] < len(base) / 10


def test_mean_recall_matches_a_vectorised_set_overlap(small):
    base, queries, exact_ids = small
    ivf = ann.build_ivf_flat(base, nlist=64, train_size=5_000)
    ivf.nprobe = 2
    ids, _ = ann.search(ivf, queries)
    overlap = (ids[:, :, None] == exact_ids[:, None, :]).any(axis=2).sum(axis=1)
    assert ann.mean_recall_at_k(ids, exact_ids, 10) == pytest.approx(
        overlap.mean() / 10
    )


@pytest.mark.parametrize("n_subvectors,bits", [(8, 8), (16, 4), (4, 8)])
def test_pq_stores_the_expected_code_size(small, n_subvectors, bits):
    base, _, _ = small
    pq = ann.build_ivf_pq(base, nlist=16, n_subvectors=n_subvectors, bits=bits)
    assert pq.code_size == n_subvectors * bits // 8
    raw = 4 * base.shape[1]
    # codes + an 8-byte id per vector, plus small shared tables
    assert pq.code_size + 8 <= ann.bytes_per_vector(pq) < pq.code_size + 8 + 0.3 * raw


def test_printed_table_shows_the_trade_offs(table):
    flat = table[("Flat (exact)", "-")]
    ivf = [table[("IVF-Flat 256", f"nprobe={p}")] for p in (1, 4, 16, 64)]
    hnsw = [table[("HNSW M=16", f"ef={e}")] for e in (16, 32, 64, 128)]
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(ivf))
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(hnsw))
    # HNSW reaches IVF's recall at nprobe=16 with far fewer distance computations
    assert hnsw[2][0] >= ivf[2][0] and hnsw[2][1] < ivf[2][1] / 10
    # ... and pays for it in memory (the graph's links)
    assert hnsw[0][2] > 1.5 * ivf[0][2] > 1.5 * flat[2]
    pq = table[("IVF-PQ 8x8b", "nprobe=16")]
    assert flat[2] / (pq[2] - 8) == pytest.approx(4 * 32 / 8, rel=0.1)  # 16x smaller
    assert pq[0] < ivf[2][0] - 0.2  # compressed distances lose recall
    reranked = table[("+ re-rank", "top 100")]
    assert reranked[0] == pytest.approx(ivf[2][0], abs=0.01)  # the cells bound it


def test_page_quotes_the_numbers_the_code_prints(table):
    ivf16 = table[("IVF-Flat 256", "nprobe=16")]
    hnsw64 = table[("HNSW M=16", "ef=64")]
    pq = table[("IVF-PQ 8x8b", "nprobe=16")]
    reranked = table[("+ re-rank", "top 100")]
    assert_page_quotes(
        PAGE,
        f"{ivf16[0]:.3f}",
        f"{ivf16[1]:,.0f}",
        f"{hnsw64[1]:,.0f}",
        f"{hnsw64[2]:.1f}",
        f"{pq[0]:.3f}",
        f"{pq[2]:.1f}",
        f"{reranked[0]:.3f}",
        f"{table[('IVF-Flat 256', 'nprobe=1')][0]:.3f}",
        f"{table[('IVF-Flat 256', 'nprobe=64')][0]:.3f}",
    )
    text = module_output("snippets.concepts.ann_index")
    names = [("Flat (exact)", "-"), ("HNSW M=16", "ef=64")]
    names += [("IVF-PQ 8x8b", "nprobe=16"), ("+ re-rank", "top 100")]
    at_scale = [human_bytes(storage_bytes(100e6, table[name][2])) for name in names]
    assert_page_quotes(PAGE, *at_scale, f"{reranked[2]:.1f} bytes per vector")
    scale = text.split("At 100M")[1]
    for name, size in zip(names, at_scale, strict=True):
        line = re.search(rf"{re.escape(name[0])} +{re.escape(name[1])} .*", scale)[0]
        assert size in line and f"{table[name][0]:.3f}" in line, line
    ssd = re.search(r"(\d+) random reads a query,\n +([\d,]+) reads/s", scale)
    assert int(ssd[1]) == 100  # k = 10 times the shortlist factor of 10
    assert_page_quotes(PAGE, f"{ssd[1]} vectors", f"{ssd[2]} random reads per second")
    assert not re.search(r"\bms\b|seconds", text), "no wall-clock time in the output"


def bench_row(name: str) -> tuple[str, str, str]:
    """(recall@10, distances, ms) of one row of the committed benchmark results."""
    results = (ROOT / "bench" / "results.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| {re.escape(name)} \| (\S+) \| (\S+) \| (\S+) \|$",
                    results, re.M)  # fmt: skip
    assert row, f"bench/results.md has no row {name!r}"
    return row[1], row[2], row[3]


def test_page_compares_indexes_by_measured_time_at_equal_recall():
    ivf = bench_row("IVF-Flat 4096, nprobe=4")
    hnsw = bench_row("HNSW M=16, efSearch=128")
    # Same recall within 0.01, fewer distances for HNSW, less time for IVF: the
    # page's point that distance counts do not rank indexes by speed.
    assert abs(float(ivf[0]) - float(hnsw[0])) < 0.01
    assert int(hnsw[1].replace(",", "")) < int(ivf[1].replace(",", ""))
    assert float(hnsw[2]) > 2 * float(ivf[2])  # "several times faster"
    assert_page_quotes(
        PAGE,
        f"(recall@10 {ivf[0]})",
        f"({hnsw[0]})",
        f"computes {hnsw[1]}",
        f"IVF's {ivf[1]}",
    )


def test_measure_query_time_is_plausible(small):
    base, queries, _ = small
    ms = ann.measure_query_time(ann.build_exact(base), queries[:20], repeats=1)
    assert 0 < ms < 1_000


def test_bad_input_fails_clearly(small):
    base, queries, _ = small
    exact = ann.build_exact(base)
    with pytest.raises(TypeError, match="numpy array"):
        ann.build_exact(base.tolist())
    with pytest.raises(ValueError, match="float32"):
        ann.build_exact(base.astype(np.float64))
    with pytest.raises(ValueError, match="dim"):
        ann.search(exact, queries[:, :8].copy())
    with pytest.raises(ValueError, match="k must be"):
        ann.search(exact, queries, k=0)
    with pytest.raises(ValueError, match="divisible"):
        ann.build_ivf_pq(base, n_subvectors=5)
    with pytest.raises(ValueError, match="NaN"):
        ann.build_exact(np.full((3, 4), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="positive integer"):
        ann.clustered_vectors(0, 10)
    with pytest.raises(ValueError, match="empty"):
        ann.bytes_per_vector(faiss.IndexFlatL2(4))
    with pytest.raises(ValueError, match="shortlist_factor"):
        ann.with_exact_rerank(exact, base[:10])
