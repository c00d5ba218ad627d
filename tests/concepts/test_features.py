"""Our hashing trick equals scikit-learn's FeatureHasher; windows match brute force."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss as sk_log_loss

from snippets.concepts import features as ft

PAGE = "concepts/features.md"

names = st.text(min_size=1, max_size=12)
values = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: v != 0), names
)
rows_strategy = st.lists(st.dictionaries(names, values, max_size=6), max_size=6)


@settings(max_examples=80, deadline=None)
@given(rows_strategy, st.sampled_from([1, 2, 7, 16, 1_000, 2**18]), st.booleans())
def test_hashing_matches_sklearn_feature_hasher_exactly(rows, n_buckets, signed):
    ours = ft.hash_features(rows, n_buckets, alternate_sign=signed).toarray()
    hasher = FeatureHasher(n_features=n_buckets, alternate_sign=signed)
    theirs = hasher.transform(rows).toarray() if rows else np.zeros((0, n_buckets))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-9)


def test_hashing_matches_sklearn_on_many_realistic_keys():
    rows = [{f"user_id={i}": 1.0, "country": f"c{i % 7}"} for i in range(3_000)]
    ours = ft.hash_features(rows, 2**12).toarray()
    theirs = FeatureHasher(n_features=2**12).transform(rows).toarray()
    assert np.array_equal(ours, theirs)


def test_hash_is_stable_and_handles_unseen_values():
    # Same name -> same column in every process (murmurhash, not Python's hash()).
    assert ft.bucket_and_sign("country=FR", 1_000) == ft.bucket_and_sign(
        "country=FR", 1_000
    )
    column, sign = ft.bucket_and_sign("a value never seen in training", 64)
    assert 0 <= column < 64 and sign in (-1, 1)


def simulated_counts(n, m, rng, trials=2_000):
    """Collided and sharing counts of uniform hashing, by direct simulation."""
    collided, sharing = [], []
    for _ in range(trials):
        _, counts = np.unique(rng.integers(0, m, n), return_counts=True)
        collided.append(n - counts.size)
        sharing.append(counts[counts > 1].sum())
    return np.array(collided), np.array(sharing)


@pytest.mark.parametrize("n, m", [(2_000, 4_096), (5_000, 2**10), (3_000, 2**16)])
def test_the_spread_formulas_match_a_simulation_of_uniform_hashing(n, m):
    collided, sharing = simulated_counts(n, m, np.random.default_rng(n + m))
    # A sample sd from 2,000 draws is within about 5% of the truth (1.6% se).
    assert collided.std() == pytest.approx(ft.collisions_sd(n, m), rel=0.07)
    assert sharing.std() == pytest.approx(ft.sharing_sd(n, m), rel=0.07)
    # Exact on a case small enough to enumerate: 4 keys in 3 buckets.
    assign = list(itertools.product(range(3), repeat=4))
    empty = [3 - len(set(a)) for a in assign]
    alone = [sum(1 for b in a if a.count(b) == 1) for a in assign]
    assert ft.collisions_sd(4, 3) == pytest.approx(np.std(empty))
    assert ft.sharing_sd(4, 3) == pytest.approx(np.std(alone))


def test_measured_collisions_track_the_birthday_formula():
    keys = [f"item={i}" for i in range(5_000)]
    for m in (2**10, 2**13, 2**16):
        expected = ft.expected_collisions(len(keys), m)
        # A few standard deviations of the count under uniform hashing (2.7 to 24).
        sd = ft.collisions_sd(len(keys), m)
        assert abs(ft.measured_collisions(keys, m) - expected) < 4 * sd
    # The formula against a direct simulation of uniform hashing.
    rng = np.random.default_rng(0)
    n, m = 2_000, 4_096
    sims = [n - np.unique(rng.integers(0, m, n)).size for _ in range(300)]
    assert np.mean(sims) == pytest.approx(ft.expected_collisions(n, m), rel=0.02)
    assert ft.expected_collisions(1, 10) == pytest.approx(0.0)


def test_keys_sharing_a_bucket_match_a_direct_count_and_the_formula():
    keys = [f"item={i}" for i in range(5_000)]
    for m in (2**10, 2**13, 2**16):
        buckets = [ft.bucket_and_sign(k, m)[0] for k in keys]
        sizes = Counter(buckets)
        direct = sum(1 for b in buckets if sizes[b] > 1)
        assert ft.measured_sharing(keys, m) == direct
        assert direct >= ft.measured_collisions(keys, m)  # the wider count
        sd = ft.sharing_sd(len(keys), m)
        assert abs(direct - ft.expected_sharing(len(keys), m)) < 4 * sd
    # Exact, by enumerating every assignment of 4 keys to 3 buckets.
    shared = [
        sum(1 for b in assign if assign.count(b) > 1)
        for assign in itertools.product(range(3), repeat=4)
    ]
    assert np.mean(shared) == pytest.approx(ft.expected_sharing(4, 3))
    assert ft.expected_sharing(2, 10) == pytest.approx(0.2)  # both, if they meet
    rng = np.random.default_rng(1)
    n, m = 2_000, 4_096
    sims = []
    for _ in range(300):
        _, counts = np.unique(rng.integers(0, m, n), return_counts=True)
        sims.append(counts[counts > 1].sum())
    assert np.mean(sims) == pytest.approx(ft.expected_sharing(n, m), rel=0.02)


def test_embedding_memory_counts_optimizer_state_and_qr_pairs_are_unique():
    plain = ft.embedding_table_bytes(1_000, 16)
    assert plain == 1_000 * 16 * 4
    assert ft.embedding_table_bytes(1_000, 16, optimizer_slots=2) == 3 * plain
    ids = np.arange(123_457)
    q, r = ft.quotient_remainder(ids, 1_000)
    assert len(set(zip(q.tolist(), r.tolist(), strict=True))) == ids.size
    assert q.max() + 1 == -(-ids.size // 1_000) and r.max() == 999
    with pytest.raises(ValueError, match="optimizer_slots"):
        ft.embedding_table_bytes(10, 4, optimizer_slots=-1)
    with pytest.raises(ValueError, match="n_remainder"):
        ft.quotient_remainder(ids, 0)


def per_example_fit(seed, keep):
    """The cross demo's model fitted the plain way, one row per example."""
    rng = np.random.default_rng(seed)
    country, device = rng.integers(0, 30, 12_000), rng.integers(0, 3, 12_000)
    logit = rng.normal(-2.0, 1.0, size=(30, 3))[country, device]
    y = (rng.random(12_000) < 1 / (1 + np.exp(-logit))).astype(int)
    rows = [
        {"country": f"c{c}", "device": f"d{d}", "country_x_device": f"c{c}_d{d}"}
        for c, d in zip(country, device, strict=True)
    ]
    x = FeatureHasher(n_features=2**10).transform(
        [{k: row[k] for k in keep} for row in rows]
    )
    model = LogisticRegression(C=1.0, max_iter=1_000).fit(x[:8_000], y[:8_000])
    return sk_log_loss(y[8_000:], model.predict_proba(x[8_000:])[:, 1])


def test_the_weighted_fit_on_distinct_rows_equals_a_fit_on_every_example():
    results = ft.cross_demo(seed=3)
    for name, keep in (
        ("country + device", ("country", "device")),
        ("+ hashed cross", ("country", "device", "country_x_device")),
    ):
        assert results[name] == pytest.approx(per_example_fit(3, keep), abs=2e-4)


def test_a_feature_cross_learns_an_interaction_and_only_when_there_is_one():
    for seed in range(2):
        results = ft.cross_demo(seed=seed + 10)
        assert results["+ hashed cross"] < results["country + device"] - 0.01
        assert results["+ hashed cross"] >= results["true probabilities"] - 0.01
        # Ablation: with an additive click rate the cross has nothing to add.
        additive = ft.cross_demo(seed=seed + 10, interaction=False)
        gain = additive["country + device"] - additive["+ hashed cross"]
        assert abs(gain) < 0.005


def brute_force_sessions(times, gap):
    cuts = [0, *[i for i in range(1, len(times)) if times[i] - times[i - 1] > gap]]
    return [times[a:b] for a, b in zip(cuts, [*cuts[1:], len(times)], strict=True)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 10_000), max_size=40).map(sorted),
    st.integers(1, 2_000),
    st.integers(0, 12_000),
)
def test_windows_match_their_definitions(times, width, now):
    tumbling = ft.tumbling_counts(times, width)
    assert sum(tumbling.values()) == len(times)
    for window, count in tumbling.items():
        lo, hi = window * width, (window + 1) * width
        assert count == sum(lo <= t < hi for t in times)
    expected_sliding = len([t for t in times if now - width < t <= now])
    assert ft.sliding_count(times, now, width) == expected_sliding
    hop = max(1, width // 3)
    hopping = ft.hopping_counts(times, width, hop)
    # Brute force over every window start k * hop that could hold an event.
    for k in range(-(width // hop) - 2, max(times, default=0) // hop + 2):
        inside = sum(k * hop <= t < k * hop + width for t in times)
        assert hopping.get(k, 0) == inside  # window k covers [k * hop, k * hop + width)
    assert all(count > 0 for count in hopping.values())
    assert ft.sessions(times, width) == (
        brute_force_sessions(times, width) if times else []
    )


def test_bad_input_raises_a_clear_error():
    with pytest.raises(ValueError, match="at least 1"):
        ft.bucket_and_sign("x", 0)
    with pytest.raises(TypeError, match="str"):
        ft.bucket_and_sign(42, 8)
    with pytest.raises(TypeError, match="mapping"):
        ft.hash_features([["a", "b"]], 8)
    with pytest.raises(ValueError, match="positive"):
        ft.tumbling_counts([1, 2], 0)
    with pytest.raises(ValueError, match="sorted"):
        ft.sessions([5, 1], 10)
    with pytest.raises(ValueError, match="n_buckets"):
        ft.expected_collisions(10, 0)
    with pytest.raises(ValueError, match="hop"):
        ft.hopping_counts([1, 2], 10, 20)


def number(text):
    return float(text.replace(",", ""))


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.concepts.features")
    lines = out.splitlines()
    table = {
        line.split()[0]: line.split()
        for line in lines
        if line.strip()[:1].isdigit() and "%" in line
    }
    assert len(table) == 5
    for row in table.values():
        m, _, collided, expected, _, sd, _share, sharing, shared, _, shared_sd = row
        n_buckets = int(number(m))
        assert number(sd) == pytest.approx(ft.collisions_sd(10_000, n_buckets), abs=0.5)
        assert number(shared_sd) == pytest.approx(
            ft.sharing_sd(10_000, n_buckets), abs=0.5
        )
        # Each measured count within four standard deviations of its expectation.
        assert abs(number(collided) - number(expected)) < 4 * number(sd)
        assert abs(number(sharing) - number(shared)) < 4 * number(shared_sd)
        # The page says every count lies within one and a half of them.
        assert abs(number(collided) - number(expected)) < 1.5 * number(sd)
        assert abs(number(sharing) - number(shared)) < 1.5 * number(shared_sd)
        assert number(sharing) >= number(collided)
        assert number(shared) == pytest.approx(
            ft.expected_sharing(10_000, n_buckets), abs=0.5
        )
    for m in ("4,096", "65,536", "1,048,576"):
        _, _, collided, expected, _, sd, share, sharing, shared, _, _ = table[m]
        assert_page_quotes(PAGE, m, collided, expected, share, sharing, shared)
    sds = [table[m][5] for m in ("4,096", "65,536", "1,048,576")]
    assert_page_quotes(
        PAGE, "{} keys at 4,096 buckets, {} at 65,536, {} at".format(*sds)
    )
    low, high = table["65,536"], table["4,096"]
    ratio_low = number(low[7]) / number(low[2])
    ratio_high = number(high[7]) / number(high[2])
    assert 1.8 < ratio_low < 2.1 and ratio_high < 1.5  # "two" holds at low load only

    start = next(i for i, x in enumerate(lines) if x.startswith("Feature cross"))
    cross = {
        line[:23].strip(): line[23:].split() for line in lines[start + 1 : start + 7]
    }
    for name in ("true probabilities", "country + device", "+ hashed cross"):
        assert_page_quotes(PAGE, cross[name][0])
    gain = cross["gain from the cross"]
    assert float(gain[1]) > 0.01  # the cross helps on every seed
    additive = cross["gain, additive world"]
    assert abs(float(additive[0])) < 0.005 and abs(float(additive[2])) < 0.005
    assert_page_quotes(
        PAGE, f"{gain[1]} to {gain[3]}", f"{additive[0]} to {additive[2]}"
    )
    sizes = {
        line.strip().rsplit(maxsplit=2)[0]: " ".join(line.split()[-2:])
        for line in lines
        if line.endswith(("GB", "MB"))
    }
    assert_page_quotes(PAGE, *sizes.values())
    per_bucket = next(x for x in lines if "ids per bucket" in x).split()[-1]
    assert float(per_bucket) == pytest.approx(1e8 / 2**22, abs=0.05)
    assert_page_quotes(
        PAGE, f"{per_bucket} users in every bucket", f"{per_bucket}\nids"
    )
    qr_rows = next(x for x in lines if "quotient-remainder" in x).split()[1]
    assert_page_quotes(PAGE, f"only {qr_rows} rows")
