"""Delivery ETA: the back-of-envelope numbers and the quantile miniature's tables.

The estimate sizes an ETA service for a food-delivery platform: every place the
product asks for an ETA (the store list, checkout, dispatch, re-predictions during
the trip), the routing calls, the feature reads, the model's work in tree-node
visits, the logs, and a checkout latency budget. The miniature
(``eta_prediction_model``) compares quantile gradient boosting with a mean model
plus a buffer on synthetic trips whose true quantiles are known.

Run it: ``python -m snippets.problems.eta_prediction``.
"""

from __future__ import annotations

from snippets.common.estimation import (
    SECONDS_PER_DAY,
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie
from snippets.problems import eta_prediction_model as mini


def fan_out_percentile(p99_target: float, calls: int) -> float:
    """Percentile each of `calls` parallel calls must meet for the slowest to meet p."""
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be a positive integer, got {calls!r}")
    if not 0 < p99_target < 1:
        raise ValueError(f"p99_target must be in (0, 1), got {p99_target!r}")
    return p99_target ** (1 / calls)


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str | dict]:
    """ETA rows a second by caller, routing calls, model work, features, logs, cost."""
    orders = 5e6  # a day, assumed
    peak = 3.0  # peak hour / average hour: lunch and dinner, assumed
    # ETA rows per order, by caller (assumptions to state in the room):
    rows_per_order = {
        "store list (browse)": 4 * 3 * 20,  # 4 sessions/order x 3 lists x 20 stores
        "checkout quotes": 2,  # cart and checkout
        "dispatch candidates": 10 * 2,  # 10 couriers x 2 assignment rounds
        "in-trip re-predictions": 35 + 5,  # every minute of ~35, plus 5 events
    }
    live = ("checkout quotes", "dispatch candidates", "in-trip re-predictions")
    shown = ("store list (browse)", "checkout quotes", "in-trip re-predictions")
    # Live rows call the routing engine (a quote routes store->door and the nearest
    # idle courier->store: 2 routes); the store list reads a travel-time table.
    routes_per_order = 2 * 2 + 20 + 40
    route_cpu_ms = 1.0  # one route with live traffic weights, assumed: measure it
    # 3 quantiles x (5 legs + the total) = 18 GBMs of 300 trees of depth 8, every
    # row (an upper bound: the store list needs only the total).
    node_visits = 3 * (5 + 1) * 300 * 8
    ns_per_visit = 5.0  # a node visit, with cache misses, assumed
    keys = {"store list (browse)": 2, "live": 4}  # store, area (+ courier, customer)
    key_bytes, keys_per_node = 256, 1e6  # a feature row; batched multi-gets per node
    core_dollars_per_hour = 0.05  # assumed on-demand price of one core
    peak_rows = {k: peak_qps(orders, v, peak) for k, v in rows_per_order.items()}
    live_rows = sum(peak_rows[k] for k in live)
    routes = peak_qps(orders, routes_per_order, peak)  # a second at peak
    route_cores = servers_needed(routes * route_cpu_ms / 1e3, 1, 0.5)
    # The browse table: every store's one-to-many travel times to its delivery
    # area's cells, refreshed every 5 minutes (500,000 stores, 20 ms CPU each).
    table_cores = servers_needed(500_000 / 300 * 0.020, 1, 0.5)
    all_rows = sum(peak_rows.values())
    model_cores = servers_needed(all_rows * node_visits * ns_per_visit / 1e9, 1, 0.5)
    key_reads = peak_rows["store list (browse)"] * keys["store list (browse)"]
    key_reads += live_rows * keys["live"]
    store_nodes = max(3, servers_needed(key_reads, keys_per_node, 0.5))
    cores = route_cores + table_cores + model_cores + store_nodes * 16
    # Logs a day: features-as-served for every live row (~1 kB) and 1% of browse
    # rows; every ETA a customer is shown (promise, quantiles, model: 100 B); GPS
    # pings every 5 s from every online courier, idle or busy (64 B), at 2 orders
    # per online courier-hour; ~10 order lifecycle events (200 B).
    live_per_day = orders * sum(rows_per_order[k] for k in live)
    courier_hours = orders / 2  # online courier-hours a day, assumed
    logs = {
        "features as served": storage_bytes(
            live_per_day + 0.01 * orders * rows_per_order["store list (browse)"], 1_000
        ),
        "ETAs shown": storage_bytes(
            orders * sum(rows_per_order[k] for k in shown), 100
        ),
        "courier GPS pings": storage_bytes(courier_hours * 3600 / 5, 64),
        "order lifecycle events": storage_bytes(orders * 10, 200),
    }
    keep_days = {"courier GPS pings": 30}  # raw traces aged out (privacy); rest a year
    kept = sum(size * keep_days.get(name, 365) for name, size in logs.items())
    stages_ms = {  # checkout quote, server-side p99 allocations
        "gateway, auth, order context": 15,
        "routing + features, in parallel": 60,
        "quantile models, legs + total": 5,
        "decision layer: promise, buffer": 5,
    }
    return {
        "orders": orders,
        "peak": peak,
        "rows_per_order": sum(rows_per_order.values()),
        "peak_rows": peak_rows,
        "peak_rows_all": all_rows,
        "peak_live_rows": live_rows,
        "peak_routes": routes,
        "route_cores": route_cores,
        "table_cores": table_cores,
        "node_visits": node_visits,
        "row_us": node_visits * ns_per_visit / 1e3,
        "model_cores": model_cores,
        "key_reads": key_reads,
        "fetch_per_s": human_bytes(key_reads * key_bytes),
        "store_nodes": store_nodes,
        "cores": cores,
        "dollars_per_month": cores * core_dollars_per_hour * 24 * 30,
        "dollars_per_1000_orders": cores * core_dollars_per_hour * 24 / orders * 1e3,
        "logs": {name: human_bytes(b) for name, b in logs.items()},
        "logs_per_day": human_bytes(sum(logs.values())),
        "logs_kept_3_replicas": human_bytes(3 * kept),
        "stages_ms": stages_ms,
        "headroom_ms": remaining_budget_ms(150, stages_ms),
        "parallel_percentile": 100 * fan_out_percentile(0.99, 2),
        "dispatch_percentile": 100 * fan_out_percentile(0.99, 10),
        "average_rows": orders * sum(rows_per_order.values()) / SECONDS_PER_DAY,
    }
    # --8<-- [end:estimate]


def print_estimate() -> None:
    est = estimate_capacity()

    def row(label: str, value: str, indent: int = 2) -> None:
        print(f"{' ' * indent}{label:<{40 - indent}}{value:>13}")

    print("Back-of-envelope (assumptions in estimate_capacity):")
    row("orders a day (assumed)", f"{est['orders']:,.0f}")
    row("ETA rows per order, all callers", f"{est['rows_per_order']:,}")
    row("mean ETA rows per second", f"{est['average_rows']:,.0f}")
    peak = f"peak ETA rows per second, {est['peak']:.0f}x mean"
    row(peak, f"{est['peak_rows_all']:,.0f}")
    for caller, rows in est["peak_rows"].items():
        row(caller, f"{rows:,.0f}", indent=4)
    row("live rows (routing engine) per second", f"{est['peak_live_rows']:,.0f}")
    row("routes per second, 2 per quote", f"{est['peak_routes']:,.0f}", indent=4)
    row("routing cores, 1 ms a route, 50% busy", f"{est['route_cores']:,}")
    row("browse travel-time table cores", f"{est['table_cores']:,}")
    row("model: node visits per row", f"{est['node_visits']:,}")
    row("at 5 ns a visit, per row", f"{est['row_us']:.0f} us", indent=4)
    row("model cores, 50% busy", f"{est['model_cores']:,}", indent=4)
    row("feature key reads per second", f"{est['key_reads']:,.0f}")
    row("bytes fetched per second", est["fetch_per_s"], indent=4)
    row("key-value nodes (3 minimum)", f"{est['store_nodes']:,}", indent=4)
    row("cores in all (a store node = 16)", f"{est['cores']:,}")
    row("dollars a month at $0.05 a core-h", f"{est['dollars_per_month']:,.0f}", 4)
    row("dollars per 1,000 orders", f"{est['dollars_per_1000_orders']:.3f}", 4)
    print("  logs a day:")
    for name, size in est["logs"].items():
        row(name, size, indent=4)
    row("in all", est["logs_per_day"], indent=4)
    row("kept (GPS 30 days), 3 replicas", est["logs_kept_3_replicas"], indent=4)
    print("  checkout quote, 150 ms server-side p99, allocated:")
    for stage, ms in est["stages_ms"].items():
        row(stage, f"{ms} ms", indent=4)
    row("headroom for tail latency", f"{est['headroom_ms']:.0f} ms", indent=4)
    each = f"{est['parallel_percentile']:.2f}", f"{est['dispatch_percentile']:.2f}"
    print(f"  routing and features in parallel: each at p{each[0]}")
    print(f"  dispatch, 10 candidate routes in parallel: each at p{each[1]}")


COMPARISONS = (  # (a, b, [(metric, cut)]): printed as a minus b
    ("quantile GBM", "mean + global residual",
     [("late", "off-peak"), ("late", "peak"), ("late", "highway"),
      ("pinball", "peak"), ("pinball", "all")]),
    ("mean + residual per segment", "quantile GBM",
     [("late", "peak"), ("late", "short"), ("late", "long"), ("pinball", "all")]),
    ("quantile GBM, ETA only", "quantile GBM", [("late", "peak"), ("pinball", "all")]),
    (mini.BIAS_TOLD, "quantile GBM", [("late", "peak"), ("pinball", "all")]),
    ("quantile GBM", "target", [("late", "peak"), ("coverage", "all")]),
    ("quantile GBM, conformal", "quantile GBM",
     [("coverage", "all"), ("late", "peak")]),
    ("quantile GBM, conformal/segment", "quantile GBM", [("late", "peak")]),
    ("quantile GBM, conformal/segment", "target", [("late", "peak")]),
    ("calm: quantile GBM", "calm: mean + global residual",
     [("pinball", "all"), ("late", "peak")]),
    ("calm: quantile GBM, conformal", "calm: mean + global residual",
     [("pinball", "all")]),
)  # fmt: skip
LABELS = {
    "late": "late share (pp)",
    "pinball": "pinball 0.9",
    "coverage": "coverage (pp)",
}
CUT_NAMES = {
    "off-peak": "city off-peak",
    "peak": "city peak",
    "highway": "highway",
    "short": "short trips",
    "long": "long trips",
    "all": "all trips",
}


FORMATS = {"late": "{:>8.1%} ", "coverage": "{:>8.1%} ", "pinball": "{:>9.3f}",
           "excess": "{:>+9.3f}"}  # fmt: skip


def print_table(runs: list[dict], title: str, metric: str) -> None:
    """One row per method that reports the metric, one column per cut."""
    print(f"\n{title}")
    print(f"{'method':<32}" + "".join(f"{cut:>9}" for cut in mini.CUTS))
    for method in runs[0]:
        if (metric, "all") not in runs[0][method] or method.startswith("calm"):
            continue
        cells = [mini.seed_mean(runs, method, (metric, cut)) for cut in mini.CUTS]
        line = "".join(FORMATS[metric].format(c) for c in cells)
        print(f"{method:<32}{line.rstrip()}")


def main() -> None:
    print_estimate()
    runs = mini.run_experiment()
    n = len(runs)
    print(
        f"\n{n} seeds; each trains on {mini.N_TRAIN:,} trips, calibrates on"
        f" {mini.N_CALIB:,} and tests on {mini.N_TEST:,}."
    )
    segments = list(enumerate(mini.SEGMENTS))
    ratios = (f"{name} {mini.MULTIPLIER[s]:.2f}" for s, name in segments)
    print("True drive time / routing ETA: " + ", ".join(ratios))
    counts = (
        f"{name} {mini.seed_mean(runs, 'training trips', ('n', mini.CUTS[s])):,.0f}"
        for s, name in segments
    )
    print("Training trips a seed, mean: " + ", ".join(counts))
    for metric, title in (
        ("late", "Late share: arrives after the promise (target 10%)"),
        ("coverage", "Coverage of the 80% interval (target 80%)"),
        ("pinball", "Pinball loss of the promise at 0.9, minutes"),
        ("excess", "Promise minus the true 0.9-quantile, minutes"),
    ):
        print_table(runs, title, metric)
    calm = [
        mini.seed_mean(runs, f"calm: {m}", ("pinball", "all"))
        for m in ("quantile GBM", "quantile GBM, conformal", "mean + global residual")
    ]
    print(
        f"\nCalm world (one spread, {mini.CALM_SPREAD:.2f} min, for every trip),"
        " pinball 0.9, all trips:"
    )
    print(
        f"  quantile GBM {calm[0]:.3f}, conformal {calm[1]:.3f},"
        f" mean + global residual {calm[2]:.3f}"
    )

    print(f"\nPaired differences over the {n} seeds: mean [95% interval]")
    for a, b, lines in COMPARISONS:
        print(f"{a} minus {b}:")
        for metric, cut in lines:
            mean, low, high = mini.paired(runs, a, b, (metric, cut))
            scale, digits = (100, 2) if metric != "pinball" else (1, 3)
            verdict = "  tie" if is_tie(low, high) else ""
            label = f"{LABELS[metric]}, {CUT_NAMES[cut]}"
            print(
                f"  {label:<34}{scale * mean:+.{digits}f} "
                f"[{scale * low:+.{digits}f}, {scale * high:+.{digits}f}]{verdict}"
            )


if __name__ == "__main__":
    main()
