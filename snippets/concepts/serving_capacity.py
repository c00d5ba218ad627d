"""Replicas for a peak, what utilisation does to latency, and dynamic batching.

Run it: ``python -m snippets.concepts.serving_capacity``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from snippets.common.estimation import peak_qps, servers_needed
from snippets.common.figures import ACCENT, SECOND, new_figure, printed, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _utilisation(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"utilisation must be a number, got {type(value).__name__}")
    if not 0 <= value < 1:
        raise ValueError(f"utilisation must be in [0, 1), got {value}")
    return float(value)


# --8<-- [start:capacity]
def time_in_system(utilisation: float, quantile: float | None = None) -> float:
    """M/M/1 time in the system (waiting plus service), in mean service times.

    With Poisson arrivals and exponential service at utilisation rho, the time in
    the system is exponential with mean 1 / (1 - rho) service times, so every
    quantile q is -ln(1 - q) / (1 - rho): the whole distribution scales together.
    quantile=None gives the mean.
    """
    stretch = 1 / (1 - _utilisation(utilisation))
    if quantile is None:
        return stretch
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be strictly between 0 and 1, got {quantile}")
    return -math.log(1 - quantile) * stretch


def batch_latency_ms(batch_size: int, fixed_ms: float, per_item_ms: float) -> float:
    """Time to run one batch on an accelerator: a fixed cost plus a cost per item."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return fixed_ms + per_item_ms * batch_size
    # --8<-- [end:capacity]


LOADS = (0.5, 0.6, 0.7, 0.9)  # the utilisations the table prints


def queueing_rows(loads: tuple[float, ...]) -> list[tuple[float, float, float]]:
    """(utilisation, mean, p99) time in system, in service times, for each load."""
    return [(rho, time_in_system(rho), time_in_system(rho, 0.99)) for rho in loads]


@styled
def latency_figure(rows: list[tuple[float, float, float]] | None = None) -> Figure:
    """Mean and p99 time in system against utilisation (the formula on a fine grid),
    with the table's rows as dots, as printed (one decimal); ``rows`` defaults to
    ``queueing_rows(LOADS)``."""
    from matplotlib.ticker import PercentFormatter

    if rows is None:
        rows = [(r, printed(m, 1), printed(p, 1)) for r, m, p in queueing_rows(LOADS)]
    fig, (ax,) = new_figure()
    curve = queueing_rows(tuple(i / 100 for i in range(0, 96)))
    for column, label, colour in ((2, "p99", ACCENT), (1, "mean", SECOND)):
        ax.plot(
            [r[0] for r in curve], [r[column] for r in curve], color=colour, label=label
        )
        ax.plot([r[0] for r in rows], [r[column] for r in rows], "o", color=colour)
    ax.set_xlabel("utilisation \u03c1 (share of time the server is busy)")
    ax.set_ylabel("time in system (service times)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(loc="upper left")
    return fig


# --8<-- [start:demo]
def main() -> None:
    qps = peak_qps(daily_active_users=100e6, requests_per_user_per_day=10)
    saturation = (
        500  # QPS one replica serves flat out (assumed; a load test measures it)
    )
    print(f"Capacity: 100M DAU x 10 requests/day -> {qps:,.0f} peak QPS (2x mean)")
    candidates = 500  # scored per request (assumed); each needs its item features
    work = qps * candidates / 1e6
    print(f"  x {candidates} candidates per request -> {work:.1f}M inferences/s and")
    print(f"  {work:.1f}M item-feature reads/s at peak (one read per candidate)")
    print(f"  {saturation} QPS per replica at saturation (100% busy), assumed")
    bare = servers_needed(qps, saturation)
    print(f"  no headroom: {bare:,} replicas")
    planned = servers_needed(qps, saturation, utilisation=0.6, zones=3)
    print(f"  60% target utilisation, 3 zones (lose 1): {planned:,} replicas")

    print("\nM/M/1 time in system, in service times (every quantile x 1/(1 - rho)):")
    print(f"{'utilisation':>13} {'mean':>6} {'p99':>6} {'p99/mean':>9}")
    for rho, mean, p99 in queueing_rows(LOADS):
        print(f"{rho:>13.0%} {mean:>5.1f}x {p99:>5.1f}x {p99 / mean:>9.2f}")

    print("\nDynamic batching, assumed cost 4 ms + 0.25 ms per item:")
    for size in (1, 8, 32, 128):
        ms = batch_latency_ms(size, fixed_ms=4, per_item_ms=0.25)
        print(
            f"  batch {size:>3}: {ms:5.2f} ms per batch, "
            f"{size / ms * 1000:>6,.0f} items/s"
        )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
