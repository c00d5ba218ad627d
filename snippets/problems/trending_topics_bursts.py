"""Bursts over a daily cycle, coordinated fakes, and the detectors that tell them apart.

A synthetic platform (seeded): topics whose mentions follow their own daily cycle
(some peak smoothly, some jump at a scheduled hour every day, like a TV show), with
day-to-day noise. Into it go real bursts (broad ones, from the public, and ones from a
small fan community whose members post several times) and coordinated fake bursts
(a few dozen accounts, mostly days old, posting the same topic again and again).
Each 10-minute bin keeps four signals per topic: posts, distinct authors, posts by
established accounts and distinct established authors. A detector compares one
signal with a baseline (the same bin over the last 7 days, or a trailing mean) and
fires on a minimum volume, a minimum lift and a Poisson tail. The injected bursts
are the ground truth; no detector sees them. Used by
``snippets.problems.trending_topics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammainc, i0

BINS_PER_DAY = 144  # 10-minute bins
HISTORY_DAYS = 7  # days before the scored ones: the seasonal baseline's window
SIGNALS = ("posts", "distinct authors", "established posts", "distinct established")


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of the synthetic platform; every one is an assumption."""

    topics: int = 400
    scored_days: int = 7
    min_rate: float = 2.0  # a topic's mean posts per bin, log-uniform in this range
    max_rate: float = 200.0
    max_peakiness: float = 2.0  # von Mises concentration of the daily cycle
    scheduled_share: float = 0.2  # topics that jump 3-6x at a fixed hour every day
    day_noise_cv: float = 0.1  # day-to-day variation of a topic's interest
    new_share_public: float = 0.05  # posts by accounts under 30 days old
    organic_per_day: int = 8
    fan_share: float = 0.3  # real bursts driven by a small fan community
    new_share_fans: float = 0.3
    fakes_per_day: int = 3
    new_share_fakes: float = 0.9
    fake_min_peak: float = 30.0  # fake posts per bin at the peak, at least


@dataclass(frozen=True)
class Burst:
    """One injected burst: the ground truth the detectors are scored on."""

    kind: str  # "broad", "fan" or "fake"
    topic: int
    start: int  # bin index
    length: int  # bins
    rise: int  # bins from the start to the peak


@dataclass
class World:
    signals: dict[str, np.ndarray]  # name -> (topics, bins) counts
    bursts: list[Burst] = field(default_factory=list)
    days: int = 0


def _daily_shape(cfg: WorldConfig, rng: np.random.Generator) -> np.ndarray:
    """Each topic's expected share of its daily mean in each bin of the day."""
    k = rng.uniform(0, cfg.max_peakiness, cfg.topics)[:, None]
    phase = rng.uniform(0, 1, cfg.topics)[:, None]
    hour = np.arange(BINS_PER_DAY)[None, :] / BINS_PER_DAY
    shape = np.exp(k * np.cos(2 * np.pi * (hour - phase))) / i0(k)
    for topic in np.flatnonzero(rng.random(cfg.topics) < cfg.scheduled_share):
        start, length = rng.integers(BINS_PER_DAY), rng.integers(3, 7)
        shape[topic, np.arange(start, start + length) % BINS_PER_DAY] *= rng.uniform(
            3, 6
        )
        shape[topic] /= shape[topic].mean()
    return shape


def _authors(posts: int, members: int, new_share: float, rng) -> tuple[int, int, int]:
    """Posts by a community of members (the first ones established): established
    posts, distinct authors and distinct established authors."""
    who = rng.integers(members, size=posts)
    established = who < round(members * (1 - new_share))
    return (
        int(established.sum()),
        len(np.unique(who)),
        len(np.unique(who[established])),
    )


def _inject(world: World, burst: Burst, peak: float, cfg, rng) -> None:
    """Add one burst's posts: a linear rise, a plateau, then an exponential decay."""
    posts, distinct, est_posts, est_distinct = (world.signals[s] for s in SIGNALS)
    plateau = burst.length - burst.rise - 6
    if burst.kind != "broad":  # a community: a fan base or a set of fake accounts
        low, high = (30, 301) if burst.kind == "fan" else (40, 151)
        members = int(rng.integers(low, high))
    new_share = {
        "broad": cfg.new_share_public,
        "fan": cfg.new_share_fans,
        "fake": cfg.new_share_fakes,
    }[burst.kind]
    for i in range(burst.length):
        if i < burst.rise:
            profile = (i + 1) / burst.rise
        elif i < burst.rise + plateau:
            profile = 1.0
        else:
            profile = float(np.exp(-(i - burst.rise - plateau + 1) / 3))
        x = int(rng.poisson(peak * profile))
        t, k = burst.start + i, burst.topic
        posts[k, t] += x
        if burst.kind == "broad":  # the public: one post per author in a bin
            e = int(rng.binomial(x, 1 - new_share))
            est_posts[k, t] += e
            distinct[k, t] += x
            est_distinct[k, t] += e
        else:
            e, d, de = _authors(x, members, new_share, rng)
            est_posts[k, t] += e
            distinct[k, t] += d
            est_distinct[k, t] += de


def simulate_world(seed: int, config: WorldConfig | None = None) -> World:
    """History and scored days of every topic's four signals, with bursts injected."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    cfg = config or WorldConfig()
    rng = np.random.default_rng(seed)
    days = HISTORY_DAYS + cfg.scored_days
    n_bins = days * BINS_PER_DAY
    base = np.exp(rng.uniform(np.log(cfg.min_rate), np.log(cfg.max_rate), cfg.topics))
    shape = np.tile(_daily_shape(cfg, rng), days)
    cv2 = cfg.day_noise_cv**2
    interest = rng.gamma(1 / cv2, cv2, (cfg.topics, days)).repeat(BINS_PER_DAY, 1)
    posts = rng.poisson(base[:, None] * shape * interest)
    established = rng.binomial(posts, 1 - cfg.new_share_public)
    world = World(
        {
            "posts": posts,
            "distinct authors": posts.copy(),
            "established posts": established,
            "distinct established": established.copy(),
        },
        days=days,
    )
    plan = ["organic"] * (cfg.organic_per_day * days) + ["fake"] * (
        cfg.fakes_per_day * days
    )
    for kind in plan:
        topic = int(rng.integers(cfg.topics))
        start = int(rng.integers(BINS_PER_DAY, n_bins - 30))
        rise = int(rng.integers(1, 4 if kind == "fake" else 13))
        length = rise + int(rng.integers(1, 4)) + 6
        if kind == "fake":
            peak = max(base[topic] * np.exp(rng.uniform(np.log(2), np.log(8))), 30.0)
        else:
            kind = "fan" if rng.random() < cfg.fan_share else "broad"
            peak = base[topic] * np.exp(rng.uniform(0, np.log(8)))
        burst = Burst(kind, topic, start, length, rise)
        _inject(world, burst, float(peak), cfg, rng)
        world.bursts.append(burst)
    return world


# --8<-- [start:tail]
def poisson_upper_tail(count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """P(X >= count) for X ~ Poisson(mean): the regularised lower incomplete gamma
    function P(count, mean); 1 where count <= 0."""
    count, mean = np.asarray(count, dtype=float), np.asarray(mean, dtype=float)
    if np.any(~np.isfinite(mean)) or np.any(mean <= 0):
        raise ValueError("mean must be positive and finite")
    if np.any(~np.isfinite(count)):
        raise ValueError("count must be finite")
    return np.where(count <= 0, 1.0, gammainc(np.maximum(count, 1.0), mean))
    # --8<-- [end:tail]


def seasonal_baseline(signal: np.ndarray, days: int = HISTORY_DAYS) -> np.ndarray:
    """Expected count of each scored bin: the mean of the same bin on the last days."""
    start = HISTORY_DAYS * BINS_PER_DAY
    if signal.ndim != 2 or signal.shape[1] <= start:
        raise ValueError(f"signal needs (topics, bins) with more than {start} bins")
    if not 1 <= days <= HISTORY_DAYS:
        raise ValueError(f"days must be in [1, {HISTORY_DAYS}], got {days}")
    end = signal.shape[1]
    lagged = [
        signal[:, start - d * BINS_PER_DAY : end - d * BINS_PER_DAY]
        for d in range(1, days + 1)
    ]
    return np.mean(lagged, axis=0)


def trailing_baseline(signal: np.ndarray, bins: int) -> np.ndarray:
    """Expected count of each scored bin: the mean of the bins just before it."""
    start = HISTORY_DAYS * BINS_PER_DAY
    if signal.ndim != 2 or signal.shape[1] <= start:
        raise ValueError(f"signal needs (topics, bins) with more than {start} bins")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= start:
        raise ValueError(f"bins must be an integer in [1, {start}], got {bins!r}")
    total = np.concatenate(
        [np.zeros((signal.shape[0], 1)), np.cumsum(signal, 1)], axis=1
    )
    t = np.arange(start, signal.shape[1])
    return (total[:, t] - total[:, t - bins]) / bins


# --8<-- [start:detect]
def detect(
    counts: np.ndarray,
    expected: np.ndarray,
    *,
    min_volume: float = 20,
    min_lift: float = 2.0,
    alpha: float = 1e-6,
) -> np.ndarray:
    """Alarm where a bin has enough volume, enough lift over its baseline, and a
    count the baseline would reach with probability <= alpha (Poisson)."""
    expected = np.maximum(expected, 0.5)  # a topic never seen still has a floor
    alarm = (counts >= min_volume) & (counts >= min_lift * expected)
    alarm[alarm] = poisson_upper_tail(counts[alarm], expected[alarm]) <= alpha
    return alarm
    # --8<-- [end:detect]


def scored(signal: np.ndarray) -> np.ndarray:
    """The scored days of a signal (the days after the history)."""
    return signal[:, HISTORY_DAYS * BINS_PER_DAY :]


def evaluate(alarm: np.ndarray, world: World) -> dict[str, float]:
    """Share of each kind of burst alarmed while active, false alarms a day and the
    median minutes from a real burst's start to its first alarm, measured to the end
    of the alarmed bin (an alarm is raised when its bin closes).

    A false alarm is an alarm on a topic outside every injected burst (and the two
    bins after it); alarms on one topic less than an hour apart count once.
    """
    offset = HISTORY_DAYS * BINS_PER_DAY
    n_bins = alarm.shape[1]
    if n_bins != world.days * BINS_PER_DAY - offset:
        raise ValueError("alarm does not cover the world's scored days")
    explained = np.zeros_like(alarm)
    found: dict[str, list[bool]] = {"broad": [], "fan": [], "fake": []}
    delays = []
    for b in world.bursts:
        lo, hi = b.start - offset, b.start + b.length - offset
        explained[b.topic, max(lo, 0) : max(hi + 2, 0)] = True
        if lo < 0:  # started in the history: not scored
            continue
        hits = np.flatnonzero(alarm[b.topic, lo:hi])
        found[b.kind].append(hits.size > 0)
        if hits.size and b.kind != "fake":
            delays.append(10 * (int(hits[0]) + 1))
    false = alarm & ~explained
    recent = np.zeros_like(false)  # a false alarm in the previous hour, same topic
    for lag in range(1, 7):
        recent[:, lag:] |= false[:, :-lag]
    real = found["broad"] + found["fan"]
    return {
        "real": 100 * float(np.mean(real)),
        "broad": 100 * float(np.mean(found["broad"])),
        "fan": 100 * float(np.mean(found["fan"])),
        "fake": 100 * float(np.mean(found["fake"])),
        "false_per_day": float(np.sum(false & ~recent)) / (n_bins / BINS_PER_DAY),
        "delay_min": float(np.median(delays)) if delays else float("nan"),
        "n_real": len(real),
        "n_fake": len(found["fake"]),
        "real_hits": [bool(x) for x in real],
        "fan_flags": [False] * len(found["broad"]) + [True] * len(found["fan"]),
    }
