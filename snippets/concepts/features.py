"""Feature hashing, crosses and streaming windows, checked against references.

Run it: ``python -m snippets.concepts.features``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32
from threadpoolctl import threadpool_limits

from snippets.common.estimation import human_bytes, storage_bytes
from snippets.concepts.classification_metrics import log_loss

INT32_MIN = -(2**31)


# --8<-- [start:hashing]
def bucket_and_sign(feature: str, n_buckets: int) -> tuple[int, int]:
    """Column and sign of a feature name under the signed hashing trick."""
    if not isinstance(feature, str):
        raise TypeError(f"feature names must be str, got {type(feature).__name__}")
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, int):
        raise TypeError(f"n_buckets must be an int, got {type(n_buckets).__name__}")
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    # A stable hash (not Python's hash(), which is salted per process) so that
    # training and serving put the same feature in the same column.
    h = murmurhash3_32(feature.encode("utf-8"), seed=0)
    # |INT32_MIN| does not fit in int32; scikit-learn maps it like this.
    column = (2**31 - n_buckets) % n_buckets if h == INT32_MIN else abs(h) % n_buckets
    # The sign comes from the same hash: colliding features cancel on average
    # instead of adding up, so inner products stay unbiased (Weinberger et al.).
    return column, 1 if h >= 0 else -1


def hash_features(
    rows: Sequence[Mapping[str, float | str]],
    n_buckets: int,
    alternate_sign: bool = True,
) -> sparse.csr_matrix:
    """Sparse matrix of hashed features; a string value v of f becomes 'f=v' with 1."""
    row_ids, columns, values = [], [], []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {i} must be a mapping of feature name to value")
        for name, value in row.items():
            if isinstance(value, str):
                name, value = f"{name}={value}", 1.0
            column, sign = bucket_and_sign(name, n_buckets)
            row_ids.append(i)
            columns.append(column)
            values.append(value * (sign if alternate_sign else 1))
    # Features that collide in one row add up, as in a dense matrix.
    return sparse.csr_matrix((values, (row_ids, columns)), shape=(len(rows), n_buckets))
    # --8<-- [end:hashing]


# --8<-- [start:collisions]
def measured_collisions(keys: Sequence[str], n_buckets: int) -> int:
    """Collided keys: all but the first key in each bucket, n minus buckets used."""
    used = {bucket_and_sign(key, n_buckets)[0] for key in keys}
    return len(set(keys)) - len(used)


def measured_sharing(keys: Sequence[str], n_buckets: int) -> int:
    """Keys whose bucket holds at least one other key (a wider count than collided)."""
    per_bucket = Counter(bucket_and_sign(key, n_buckets)[0] for key in set(keys))
    return sum(count for count in per_bucket.values() if count > 1)


def expected_collisions(n_keys: int, n_buckets: int) -> float:
    """E[n - occupied buckets] = n - m(1 - (1 - 1/m)^n) for uniform hashing."""
    if n_keys < 0 or n_buckets < 1:
        raise ValueError("need n_keys >= 0 and n_buckets >= 1")
    return n_keys - n_buckets * (1 - (1 - 1 / n_buckets) ** n_keys)


def expected_sharing(n_keys: int, n_buckets: int) -> float:
    """E[keys sharing a bucket] = n(1 - (1 - 1/m)^(n - 1)) for uniform hashing."""
    if n_keys < 1 or n_buckets < 1:
        raise ValueError("need n_keys >= 1 and n_buckets >= 1")
    return n_keys * (1 - (1 - 1 / n_buckets) ** (n_keys - 1))
    # --8<-- [end:collisions]


def collisions_sd(n_keys: int, n_buckets: int) -> float:
    """Standard deviation of the collided count under uniform hashing.

    Collided keys are n minus the occupied buckets, so their variance is that of
    the number of empty buckets: m a + m(m - 1) b - (m a)^2, with a = (1 - 1/m)^n
    the chance a bucket is empty and b = (1 - 2/m)^n that two given ones both are.
    """
    if n_keys < 0 or n_buckets < 1:
        raise ValueError("need n_keys >= 0 and n_buckets >= 1")
    m = n_buckets
    a = np.exp(n_keys * np.log1p(-1 / m))
    b = 0.0 if m == 1 else (1 - 2 / m) ** n_keys
    return float(np.sqrt(max(m * a + m * (m - 1) * b - (m * a) ** 2, 0.0)))


def sharing_sd(n_keys: int, n_buckets: int) -> float:
    """Standard deviation of the number of keys sharing a bucket (uniform hashing).

    Sharing keys are n minus the keys alone in their bucket, S; with
    E[S] = n(1 - 1/m)^(n-1) and E[S(S - 1)] = n(n - 1)(1 - 1/m)(1 - 2/m)^(n-2),
    Var(S) = E[S(S - 1)] + E[S] - E[S]^2.
    """
    if n_keys < 1 or n_buckets < 1:
        raise ValueError("need n_keys >= 1 and n_buckets >= 1")
    n, m = n_keys, n_buckets
    alone = n * (1 - 1 / m) ** (n - 1)
    pairs = 0.0 if n < 2 else n * (n - 1) * (1 - 1 / m) * (1 - 2 / m) ** (n - 2)
    return float(np.sqrt(max(pairs + alone - alone**2, 0.0)))


# --8<-- [start:memory]
def embedding_table_bytes(
    rows: float, dim: int, bytes_per_value: int = 4, optimizer_slots: int = 0
) -> float:
    """Bytes of an embedding table, plus per-weight optimizer state while training.

    Adam keeps two extra values per weight (first and second moments), Adagrad one.
    """
    if optimizer_slots < 0:
        raise ValueError("optimizer_slots must be >= 0")
    values = dim * (1 + optimizer_slots)
    return storage_bytes(rows, bytes_per_item=values * bytes_per_value)


def quotient_remainder(ids: np.ndarray, n_remainder: int) -> tuple[np.ndarray, ...]:
    """Rows of two small tables whose pair is unique per id (Shi et al., 2020)."""
    ids = np.asarray(ids)
    if n_remainder < 1 or ids.min(initial=0) < 0:
        raise ValueError("need n_remainder >= 1 and non-negative ids")
    return ids // n_remainder, ids % n_remainder  # embedding = E_q[q] * E_r[r]
    # --8<-- [end:memory]


# --8<-- [start:cross]
def cross_demo(seed: int = 0, interaction: bool = True) -> dict[str, float]:
    """Log loss of logistic regression with and without a country x device cross.

    interaction=False makes the click logit additive (a country effect plus a device
    effect): the ablation in which a cross has nothing to learn.
    """
    rng = np.random.default_rng(seed)
    n, countries, devices = 12_000, 30, 3
    country = rng.integers(0, countries, n)
    device = rng.integers(0, devices, n)
    if interaction:  # the click rate depends on the pair, not on each value alone
        pair_logit = rng.normal(-2.0, 1.0, size=(countries, devices))
    else:
        pair_logit = rng.normal(-2.0, 0.7, size=(countries, 1)) + rng.normal(
            0.0, 0.7, size=(1, devices)
        )
    prob = 1 / (1 + np.exp(-pair_logit[country, device]))
    y = (rng.random(n) < prob).astype(int)
    pair = country * devices + device  # which of the 90 distinct rows an example is
    rows = [
        {"country": f"c{c}", "device": f"d{d}", "country_x_device": f"c{c}_d{d}"}
        for c in range(countries)
        for d in range(devices)
    ]
    train, test = slice(0, 8_000), slice(8_000, n)
    # Examples of one pair share every feature, so fit on the distinct (pair, label)
    # rows weighted by their counts: the same objective as one row per example.
    counts = np.zeros((2, len(rows)))
    np.add.at(counts, (y[train], pair[train]), 1)
    labels = np.repeat([0, 1], len(rows))
    results = {"true probabilities": log_loss(y[test], prob[test])}
    for name, keep in (
        ("country + device", ("country", "device")),
        ("+ hashed cross", ("country", "device", "country_x_device")),
    ):
        x = hash_features([{k: row[k] for k in keep} for row in rows], n_buckets=2**10)
        with threadpool_limits(limits=1, user_api="blas"):  # tiny: threads cost
            model = LogisticRegression(C=1.0, max_iter=1_000).fit(
                sparse.vstack([x, x]), labels, sample_weight=counts.ravel()
            )
        results[name] = log_loss(y[test], model.predict_proba(x)[pair[test], 1])
    return results
    # --8<-- [end:cross]


# --8<-- [start:windows]
def tumbling_counts(timestamps: Sequence[float], width: float) -> dict[int, int]:
    """Events per fixed, non-overlapping window [k*width, (k+1)*width)."""
    _check_window(timestamps, width)
    counts: dict[int, int] = {}
    for t in timestamps:
        window = int(t // width)
        counts[window] = counts.get(window, 0) + 1
    return counts


def sliding_count(timestamps: Sequence[float], now: float, width: float) -> int:
    """Events in the trailing window (now - width, now]: 'clicks in the last 5 min'."""
    _check_window(timestamps, width)
    return sum(now - width < t <= now for t in timestamps)


def hopping_counts(
    timestamps: Sequence[float], width: float, hop: float
) -> dict[int, int]:
    """Events per window [k*hop, k*hop + width): each event counts width/hop times."""
    _check_window(timestamps, width)
    if not 0 < hop <= width:
        raise ValueError(f"hop must be in (0, width], got {hop}")
    counts: dict[int, int] = {}
    for t in timestamps:
        # Windows that contain t start at k*hop with t - width < k*hop <= t.
        for k in range(int((t - width) // hop) + 1, int(t // hop) + 1):
            counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items()))


def sessions(timestamps: Sequence[float], gap: float) -> list[list[float]]:
    """Split sorted events into sessions wherever the silence exceeds gap."""
    _check_window(timestamps, gap)
    found: list[list[float]] = []
    for t in timestamps:
        if found and t - found[-1][-1] <= gap:
            found[-1].append(t)
        else:
            found.append([t])
    return found


def _check_window(timestamps: Sequence[float], width: float) -> None:
    if width <= 0:
        raise ValueError(f"window width must be positive, got {width}")
    if any(b < a for a, b in itertools.pairwise(timestamps)):
        raise ValueError("timestamps must be sorted in time order")
    # --8<-- [end:windows]


# --8<-- [start:demo]
def main() -> None:
    rows = [{"country": "FR", "device": "ios", "price": 12.5}, {"query": "red shoes"}]
    hashed = hash_features(rows, n_buckets=16).toarray()
    print("Row 1 hashed into 16 buckets (column: value):")
    columns = np.flatnonzero(hashed[0])
    print("  " + ", ".join(f"{c}: {hashed[0, c]:+.1f}" for c in columns))

    keys = [f"user_id={i}" for i in range(10_000)]
    print("\n10,000 distinct keys hashed into m buckets (expected ± one sd):")
    print(
        f"{'m':>9} {'keys/m':>6} {'collided':>8} {'expected':>12} {'share':>6} "
        f"{'sharing':>7} {'expected':>12}"
    )
    for power in (12, 14, 16, 18, 20):
        m, n = 2**power, len(keys)
        expected = f"{expected_collisions(n, m):,.0f} ± {collisions_sd(n, m):.0f}"
        shared = f"{expected_sharing(n, m):,.0f} ± {sharing_sd(n, m):.0f}"
        measured = measured_collisions(keys, m)
        print(
            f"{m:>9,} {n / m:>6.2f} {measured:>8,} {expected:>12} "
            f"{measured / n:>6.1%} {measured_sharing(keys, m):>7,} {shared:>12}"
        )

    n_ids, dim = 100_000_000, 64
    print(f"\nEmbedding table for 100M user ids, {dim} values per row:")
    full = embedding_table_bytes(n_ids, dim)
    print(f"  float32, one row per id           {human_bytes(full)}")
    adam = embedding_table_bytes(n_ids, dim, optimizer_slots=2)
    print(f"  + Adam's two moments (training)   {human_bytes(adam)}")
    half = embedding_table_bytes(n_ids, dim, bytes_per_value=2)
    print(f"  float16 rows (serving)            {human_bytes(half)}")
    int8 = storage_bytes(n_ids, bytes_per_item=dim + 8)  # + float32 scale, offset
    print(f"  int8 rows + scale, offset         {human_bytes(int8)}")
    hashed = embedding_table_bytes(2**22, dim)
    print(f"  hashed to 2^22 buckets, float32   {human_bytes(hashed)}")
    print(f"  ids per bucket at 2^22 buckets    {n_ids / 2**22:.1f}")
    rows = -(-n_ids // 10_000) + 10_000  # ceil(n / 10,000) quotients + 10,000
    print(
        f"  quotient-remainder, {rows:,} rows   "
        f"{human_bytes(embedding_table_bytes(rows, dim))}"
    )

    print("\nFeature cross, test log loss (lower is better), seed 0 and seeds 0-7:")
    runs = [cross_demo(seed) for seed in range(8)]
    additive = [cross_demo(seed, interaction=False) for seed in range(8)]
    rows = {name: [run[name] for run in runs] for name in runs[0]}
    rows["gain from the cross"] = [
        run["country + device"] - run["+ hashed cross"] for run in runs
    ]
    for name, values in rows.items():
        print(f"  {name:<20} {values[0]:.4f}  {min(values):.4f} to {max(values):.4f}")
    flat = [run["country + device"] - run["+ hashed cross"] for run in additive]
    print(f"  gain, additive world         {min(flat):.4f} to {max(flat):.4f}")

    clicks = [0, 40, 70, 200, 230, 1_900, 1_950, 4_000]  # seconds
    print("\nWindows over 8 click times (seconds):")
    print(f"  tumbling 10 min counts    {tumbling_counts(clicks, 600)}")
    print(f"  hopping 10 min every 5    {hopping_counts(clicks, 600, 300)}")
    print(f"  trailing 5 min at t=2,000 {sliding_count(clicks, 2_000, 300)}")
    print(f"  sessions (30 min gap)     {[len(s) for s in sessions(clicks, 1_800)]}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
