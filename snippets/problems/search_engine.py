"""Product search in miniature: BM25, dense retrieval, fusion and a learned ranker.

The program of the search engine page: the back-of-envelope estimate, then every
stage scored on held-out queries. Retrieval lives in
:mod:`snippets.problems.search_engine_retrieval`, ranking in
:mod:`snippets.problems.search_engine_ranking`.
Run it: ``python -m snippets.problems.search_engine``.
"""

from __future__ import annotations

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    storage_bytes,
)
from snippets.problems.search_engine_ranking import run_stages


# --8<-- [start:estimate]
def estimate() -> dict[str, float]:
    """Back-of-envelope numbers for the page, from stated assumptions."""
    qps = peak_qps(
        daily_active_users=20e6, requests_per_user_per_day=5, peak_to_average=3
    )
    products = 100e6
    # Inverted index: ~150 distinct terms per product, ~4 bytes per compressed posting.
    postings = storage_bytes(products * 150, bytes_per_item=4, replicas=1)
    vectors = storage_bytes(products, bytes_per_item=256 * 4)  # 256 float32
    vectors_pq = storage_bytes(products, bytes_per_item=64)  # product quantisation
    budget = {  # p99 ms; lexical and dense retrieval run in parallel: pay the max
        "network and frontend": 40,
        "query understanding": 15,
        "retrieval (max of lexical 30, dense 20)": max(30, 20),
        "fusion and feature fetch": 15,
        "ranking (GBDT on 500)": 40,
        "re-ranking and business rules": 10,
    }
    candidates, trees = 500, 300  # what the ranker scores per query, and its size
    return {
        "peak_qps": qps,
        # The ranker's load: every candidate is a feature fetch and a walk of each tree.
        "feature_rows_per_s": qps * candidates,
        "tree_walks_per_s": qps * candidates * trees,
        "postings_bytes": postings,
        "vector_bytes": vectors,
        "vector_pq_bytes": vectors_pq,
        "slack_ms": remaining_budget_ms(200, budget),
    }
    # --8<-- [end:estimate]


# --8<-- [start:demo]
def main() -> None:
    e = estimate()
    print(f"Peak QPS (20M DAU x 5 searches, peak 3x mean): {e['peak_qps']:,.0f}")
    print(f"Inverted index, 100M products: {human_bytes(e['postings_bytes'])}")
    print(f"Embeddings 256 x float32: {human_bytes(e['vector_bytes'])}, "
          f"PQ 64 B: {human_bytes(e['vector_pq_bytes'])}")  # fmt: skip
    print(f"Slack in a 200 ms p99 budget: {e['slack_ms']:.0f} ms")
    print(f"Ranker at peak (500 candidates, 300 trees): "
          f"{e['feature_rows_per_s'] / 1e6:.2f}M feature rows/s, "
          f"{e['tree_walks_per_s'] / 1e9:.2f}B tree walks/s")  # fmt: skip
    print()
    results = run_stages()
    print("100 held-out queries  NDCG@10    MRR | NDCG@10: concept  model no.")
    for name, r in results.items():
        print(
            f"{name:<16} {r['all']['ndcg@10']:12.3f} {r['all']['mrr']:6.3f} |"
            f" {r['concept']['ndcg@10']:16.3f} {r['model']['ndcg@10']:10.3f}"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
