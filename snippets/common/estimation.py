"""Back-of-envelope arithmetic that every design page uses: traffic, storage, budgets.

Run it: ``python -m snippets.common.estimation``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

SECONDS_PER_DAY = 86_400


def positive(name: str, value: float) -> float:
    """value as a float; TypeError if not a number, ValueError unless finite and > 0.

    The input check every estimate shares (name says which argument was wrong).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


# --8<-- [start:traffic]
def average_qps(daily_active_users: float, requests_per_user_per_day: float) -> float:
    """Mean requests per second over a day."""
    dau = positive("daily_active_users", daily_active_users)
    per_user = positive("requests_per_user_per_day", requests_per_user_per_day)
    return dau * per_user / SECONDS_PER_DAY


def peak_qps(
    daily_active_users: float,
    requests_per_user_per_day: float,
    peak_to_average: float = 2.0,
) -> float:
    """Requests per second at the daily peak; size serving for this, not the mean."""
    ratio = positive("peak_to_average", peak_to_average)
    if ratio < 1:
        raise ValueError(f"peak_to_average must be >= 1, got {ratio}")
    return average_qps(daily_active_users, requests_per_user_per_day) * ratio


def storage_bytes(count: float, bytes_per_item: float, replicas: int = 1) -> float:
    """Bytes to store count items of bytes_per_item each, times replicas."""
    positive("count", count)
    positive("bytes_per_item", bytes_per_item)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
    return float(count) * float(bytes_per_item) * replicas


def servers_needed(
    demand: float,
    capacity_per_server: float,
    utilisation: float = 1.0,
    zones: int = 1,
) -> int:
    """Servers (or accelerators) to carry demand, each run at most at utilisation.

    demand and capacity_per_server share a unit: FLOP/s, inferences/s, bytes.
    Below 1, utilisation leaves room for bursts and keeps queues short. With
    zones >= 2 the fleet is split evenly so that any zones - 1 carry the demand.
    """
    load = positive("demand", demand) / positive(
        "capacity_per_server", capacity_per_server
    )
    if not 0 < positive("utilisation", utilisation) <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation}")
    if not math.isfinite(load):
        raise ValueError("demand and capacity_per_server must be finite")
    if isinstance(zones, bool) or not isinstance(zones, int) or zones < 1:
        raise ValueError(f"zones must be a positive integer, got {zones!r}")
    if zones == 1:
        return math.ceil(load / utilisation)
    per_zone = math.ceil(load / utilisation / (zones - 1))  # one zone may be lost
    return per_zone * zones
    # --8<-- [end:traffic]


# --8<-- [start:budget]
def remaining_budget_ms(
    total_ms: float, stages_ms: Mapping[str, float], *, headroom: float = 0.0
) -> float:
    """Latency left once the named stages are paid for and headroom is held back.

    headroom is the share of total_ms that no stage may spend: stage p99s do not
    add up to the end-to-end p99, and retries, pauses and growth need room.
    """
    total = positive("total_ms", total_ms)
    if isinstance(headroom, bool) or not isinstance(headroom, int | float):
        raise TypeError(f"headroom must be a number, got {type(headroom).__name__}")
    if not 0 <= headroom < 1:
        raise ValueError(f"headroom must be in [0, 1), got {headroom}")
    for stage, ms in stages_ms.items():
        positive(f"stages_ms[{stage!r}]", ms)
    return total * (1 - headroom) - sum(stages_ms.values())


def human_bytes(n_bytes: float) -> str:
    """Format a byte count with a decimal unit (kB, MB, GB, TB, PB)."""
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int | float):
        raise TypeError(f"n_bytes must be a number, got {type(n_bytes).__name__}")
    if not n_bytes >= 0 or n_bytes == float("inf"):
        raise ValueError(f"n_bytes must be finite and non-negative, got {n_bytes}")
    for unit in ("B", "kB", "MB", "GB", "TB"):
        # Compare the rounded value, so 999.96 kB prints as 1.0 MB, not 1000.0 kB.
        if round(n_bytes, 1) < 1000:
            return f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} PB"
    # --8<-- [end:budget]


# --8<-- [start:demo]
def main() -> None:
    qps = peak_qps(daily_active_users=100e6, requests_per_user_per_day=10)
    print(f"100M DAU x 10 requests/day: {qps:,.0f} peak QPS (2x the mean)")
    embeddings = storage_bytes(1e9, bytes_per_item=256 * 4)  # 256 float32 per item
    print(f"1B item embeddings of 256 float32: {human_bytes(embeddings)}")
    # Stage p99s do not add up to the end-to-end p99: hold a quarter back.
    spent = {"network": 40, "features": 20, "retrieval": 30}
    left = remaining_budget_ms(200, spent, headroom=0.25)
    print(f"Left for ranking in a 200 ms p99 budget, 25% held back: {left:.0f} ms")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
