"""The count-min sketch against exact counts, an independent sketch and its bound."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snippets.problems import trending_topics_sketch as ts


def reference_sketch(sketch: ts.CountMinSketch, stream, conservative: bool):
    """Written independently: Python ints, one dict of counters per row."""
    p, w = (1 << 31) - 1, sketch.width
    rows = [{} for _ in range(sketch.depth)]

    def cell(r, x):
        return (int(sketch.a[r]) * int(x) + int(sketch.b[r])) % p % w

    for x in stream:
        cells = [cell(r, x) for r in range(sketch.depth)]
        if conservative:
            new = 1 + min(rows[r].get(c, 0) for r, c in enumerate(cells))
            for r, c in enumerate(cells):
                rows[r][c] = max(rows[r].get(c, 0), new)
        else:
            for r, c in enumerate(cells):
                rows[r][c] = rows[r].get(c, 0) + 1

    def estimate(x):
        return min(rows[r].get(cell(r, x), 0) for r in range(sketch.depth))

    return estimate


@pytest.mark.parametrize(
    ("epsilon", "delta", "width", "depth"),
    [(0.01, 0.1, 272, 3), (0.002, 0.01, 1_360, 5), (0.001, 0.5, 2_719, 1)],
)
def test_shape_is_e_over_epsilon_by_log_one_over_delta(epsilon, delta, width, depth):
    assert ts.sketch_shape(epsilon, delta) == (width, depth)
    assert width == math.ceil(math.e / epsilon)
    assert depth == math.ceil(math.log(1 / delta))


@pytest.mark.parametrize("conservative", [False, True])
def test_sketch_matches_an_independent_implementation(conservative):
    rng = np.random.default_rng(3)
    stream = ts.zipf_stream(3_000, 2_000, 1.1, rng)
    sketch = ts.CountMinSketch(0.02, 0.05, seed=9)  # 136 x 3: many collisions
    if conservative:
        sketch.add_conservative(stream)
    else:
        sketch.add(stream)
    reference = reference_sketch(sketch, stream.tolist(), conservative)
    topics = np.unique(stream)
    expected = [reference(x) for x in topics.tolist()]
    np.testing.assert_array_equal(sketch.estimate(topics), expected)
    assert sketch.total == len(stream)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=300),
    st.integers(0, 10_000),
)
def test_never_an_underestimate_and_conservative_is_never_worse(stream, seed):
    stream = np.array(stream, dtype=np.int64)
    plain, cautious = (ts.CountMinSketch(0.3, 0.2, seed) for _ in range(2))
    plain.add(stream)
    cautious.add_conservative(stream)
    truth = Counter(stream.tolist())
    topics = np.array(sorted(truth))
    exact = np.array([truth[t] for t in topics.tolist()])
    assert np.all(cautious.estimate(topics) >= exact)
    assert np.all(plain.estimate(topics) >= cautious.estimate(topics))
    assert np.all(plain.estimate(topics) <= len(stream))


def test_the_bound_holds_on_a_stream_built_to_stress_it():
    """Heavy topics each just above eps * N: a light topic sharing a bucket with any
    of them is over-counted by more than eps * N. One row does so about 28% of the
    time (Markov allows 1/e); five independent rows bring it under delta = 0.01."""
    epsilon, delta = 0.01, 0.01
    heavy = [(1_000 + i, 110) for i in range(90)]  # 9,900 mentions
    light = np.arange(5_000, 5_100)  # 100 topics seen once: N = 10,000
    stream = np.concatenate(
        [np.repeat([t for t, _ in heavy], [c for _, c in heavy]), light]
    )
    limit = epsilon * len(stream)
    shares = {1: [], 5: []}
    for seed in range(200):
        for depth, d in ((1, 0.5), (5, delta)):
            sketch = ts.CountMinSketch(epsilon, d, seed)
            assert sketch.depth == depth
            sketch.add(stream)
            shares[depth].append(np.mean(sketch.estimate(light) - 1 > limit))
    one_row, five_rows = np.mean(shares[1]), np.mean(shares[5])
    assert 0.2 < one_row <= 1 / math.e  # the stream bites; Markov holds per row
    assert five_rows <= delta  # the guarantee
    assert five_rows < one_row**3  # rows are independent, not copies


def test_exact_counts_are_counters():
    stream = np.array([5, 7, 5, 9, 5, 7])
    topics, counts = ts.exact_counts(stream)
    assert dict(zip(topics.tolist(), counts.tolist(), strict=True)) == {
        5: 3,
        7: 2,
        9: 1,
    }


def test_zipf_stream_follows_scipy_zipfian():
    rng = np.random.default_rng(11)
    n_topics, s = 2_000, 1.1
    stream = ts.zipf_stream(100_000, n_topics, s, rng)
    _, counts = np.unique(stream, return_counts=True)
    top = np.sort(counts)[::-1][:3] / stream.size
    expected = stats.zipfian.pmf([1, 2, 3], s, n_topics)
    np.testing.assert_allclose(top, expected, rtol=0.05)


def test_heavy_hitters_miss_none_and_false_ones_respect_the_guarantee():
    rng = np.random.default_rng(4)
    stream = ts.zipf_stream(20_000, 50_000, 1.1, rng)
    found = ts.heavy_hitters(stream, 0.002, 0.01, 0.005, seed=1)
    truth = Counter(stream.tolist())
    assert found["true"] == sum(c >= 100 for c in truth.values())
    assert found["missed"] == 0
    assert found["reported"] == found["true"] + found["false"]
    assert found["lowest_reported"] >= found["guarantee"] == pytest.approx(60)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="epsilon"):
        ts.sketch_shape(0.0, 0.1)
    with pytest.raises(ValueError, match="delta"):
        ts.sketch_shape(0.1, 1.0)
    with pytest.raises(TypeError, match="epsilon"):
        ts.sketch_shape(True, 0.1)
    sketch = ts.CountMinSketch(0.1, 0.1, seed=0)
    with pytest.raises(TypeError, match="integer topic ids"):
        sketch.add(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="topic ids"):
        sketch.add(np.array([-1]))
    with pytest.raises(ValueError, match="n_mentions"):
        ts.zipf_stream(0, 10, 1.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="phi"):
        ts.heavy_hitters(np.arange(10), 0.01, 0.1, 0.005, seed=0)
