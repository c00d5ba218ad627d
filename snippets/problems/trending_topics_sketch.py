"""A count-min sketch, its error bound, conservative update and heavy hitters.

The trending-topics miniature counts topic mentions in a Zipf stream with a count-min
sketch and compares every estimate with the exact count from ``collections.Counter``:
the share of topics whose overestimate exceeds epsilon * N, against delta; the
largest and mean overestimates; whether any estimate is ever below the truth; and
conservative update as an ablation. Used by ``snippets.problems.trending_topics``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

MERSENNE = (1 << 31) - 1  # the prime of the hash family; topic ids are below it
COUNTER_BYTES = 4  # 32-bit counters


def _probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return float(value)


def _ids(items: ArrayLike) -> np.ndarray:
    """Topic ids as a 1-D int64 array in [0, MERSENNE)."""
    ids = np.asarray(items)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise TypeError("items must be a 1-D array of integer topic ids")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= MERSENNE):
        raise ValueError(f"topic ids must be in [0, {MERSENNE})")
    return ids


# --8<-- [start:shape]
def sketch_shape(epsilon: float, delta: float) -> tuple[int, int]:
    """Width and depth for an overestimate <= epsilon * N with probability >= 1 - delta.

    Each row's error on a topic is the count of the other topics hashed to its
    bucket: N / width on average, so by Markov it exceeds epsilon * N with
    probability <= 1 / (epsilon * width) = 1 / e. The minimum over depth independent
    rows exceeds it only if every row does: probability <= e**-depth <= delta.
    """
    epsilon, delta = _probability("epsilon", epsilon), _probability("delta", delta)
    return math.ceil(math.e / epsilon), math.ceil(math.log(1 / delta))
    # --8<-- [end:shape]


class CountMinSketch:
    """A count-min sketch over integer topic ids (Cormode and Muthukrishnan, 2005)."""

    def __init__(self, epsilon: float, delta: float, seed: int) -> None:
        self.epsilon, self.delta = epsilon, delta
        self.width, self.depth = sketch_shape(epsilon, delta)
        rng = np.random.default_rng(seed)
        # h(x) = ((a x + b) mod p) mod width: a pairwise-independent family per row.
        self.a = rng.integers(1, MERSENNE, self.depth, dtype=np.int64)
        self.b = rng.integers(0, MERSENNE, self.depth, dtype=np.int64)
        self.table = np.zeros((self.depth, self.width), dtype=np.int64)
        self.total = 0

    @property
    def memory_bytes(self) -> int:
        return self.width * self.depth * COUNTER_BYTES

    def buckets(self, items: ArrayLike) -> np.ndarray:
        """The bucket of each item in each row: shape (depth, len(items))."""
        ids = _ids(items)
        return (
            (self.a[:, None] * ids[None, :] + self.b[:, None]) % MERSENNE % self.width
        )

    # --8<-- [start:sketch]
    def add(self, items: ArrayLike) -> None:
        """Count one mention per item: every row adds it to the item's bucket."""
        topics, counts = np.unique(_ids(items), return_counts=True)
        for row, cols in enumerate(self.buckets(topics)):
            np.add.at(self.table[row], cols, counts)
        self.total += int(counts.sum())

    def add_conservative(self, items: ArrayLike) -> None:
        """Conservative update: raise a bucket only as far as the new estimate needs."""
        table = self.table.tolist()  # one mention at a time: plain lists are faster
        mentions = self.buckets(items).T.tolist()
        for cols in mentions:
            counts = list(map(list.__getitem__, table, cols))
            needed = min(counts) + 1
            for row, c, count in zip(table, cols, counts, strict=True):
                if count < needed:
                    row[c] = needed
        self.table = np.array(table, dtype=np.int64)
        self.total += len(mentions)

    def estimate(self, items: ArrayLike) -> np.ndarray:
        """Each item's count, never below the truth: the minimum over the rows."""
        cols = self.buckets(items)
        return self.table[np.arange(self.depth)[:, None], cols].min(axis=0)
        # --8<-- [end:sketch]


def zipf_stream(
    n_mentions: int, n_topics: int, exponent: float, rng: np.random.Generator
) -> np.ndarray:
    """n_mentions topic ids drawn with P(rank r) proportional to r**-exponent.

    Topic ids are distinct random integers below MERSENNE, so that nothing about the
    hash family's behaviour on consecutive integers flatters the sketch.
    """
    for name, value in (("n_mentions", n_mentions), ("n_topics", n_topics)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not exponent > 0:
        raise ValueError(f"exponent must be positive, got {exponent}")
    weights = np.arange(1, n_topics + 1, dtype=float) ** -exponent
    ids = rng.choice(MERSENNE, n_topics, replace=False).astype(np.int64)
    return ids[rng.choice(n_topics, n_mentions, p=weights / weights.sum())]


def exact_counts(stream: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct topics and their exact counts, from collections.Counter."""
    counter = Counter(np.asarray(stream).tolist())
    topics = np.fromiter(counter.keys(), dtype=np.int64, count=len(counter))
    return topics, np.fromiter(counter.values(), dtype=np.int64, count=len(counter))


def bound_check(
    stream: np.ndarray,
    epsilon: float,
    delta: float,
    seed: int,
    exact: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Sketch the stream twice (standard, conservative) and grade both against the
    exact counts (``exact_counts(stream)`` unless given): the share of distinct
    topics overestimated by more than eps * N, and more."""
    topics, truth = exact_counts(stream) if exact is None else exact
    limit = epsilon * len(stream)
    found: dict[str, float] = {"topics": len(topics), "eps_n": limit}
    for name, conservative in (("cm", False), ("cu", True)):
        sketch = CountMinSketch(epsilon, delta, seed)
        if conservative:
            sketch.add_conservative(stream)
        else:
            sketch.add(stream)
        error = sketch.estimate(topics) - truth
        found |= {
            f"{name}_over_share": float(np.mean(error > limit)),
            f"{name}_max_over": float(error.max()),
            f"{name}_mean_over": float(error.mean()),
            f"{name}_under": int(np.sum(error < 0)),
            f"{name}_doubled": float(np.mean(error >= truth)),  # estimate >= 2x truth
        }
    found |= {"width": sketch.width, "depth": sketch.depth}
    return found


def heavy_hitters(
    stream: np.ndarray,
    epsilon: float,
    delta: float,
    phi: float,
    seed: int,
    exact: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Topics whose sketch estimate reaches phi * N, against the true heavy hitters.

    No estimate is below the truth, so every true heavy hitter is reported; a false
    one has a true count of at least (phi - epsilon) * N with probability 1 - delta.
    Production keeps the candidates in a small heap as mentions arrive (the sketch
    cannot list its keys); here every distinct topic is queried.
    """
    phi = _probability("phi", phi)
    if phi <= epsilon:
        raise ValueError(f"phi ({phi}) must exceed epsilon ({epsilon})")
    topics, truth = exact_counts(stream) if exact is None else exact
    sketch = CountMinSketch(epsilon, delta, seed)
    sketch.add(stream)
    n = len(stream)
    reported = sketch.estimate(topics) >= phi * n
    true_heavy = truth >= phi * n
    return {
        "true": int(true_heavy.sum()),
        "reported": int(reported.sum()),
        "missed": int(np.sum(true_heavy & ~reported)),
        "false": int(np.sum(reported & ~true_heavy)),
        "lowest_reported": int(truth[reported].min()),
        "threshold": phi * n,
        "guarantee": (phi - epsilon) * n,
    }
