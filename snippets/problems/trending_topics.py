"""Trending topics: back-of-envelope numbers, a count-min sketch, and burst detection.

Three parts, all seeded. The estimate sizes the stream, the window state (a
count-min sketch against an exact hash map), the cores, the logs and the freshness
budget. The sketch part counts a Zipf stream of topic mentions and grades every
estimate against ``collections.Counter``, for a few (epsilon, delta), with
conservative update as an ablation. The burst part scores detectors on a synthetic
platform with a daily cycle, injected real bursts and coordinated fakes: a seasonal
baseline against trailing ones, and an author-diversity and account-age signal
against raw volume, over five seeds with paired intervals.

Run it: ``python -m snippets.problems.trending_topics``.
"""

from __future__ import annotations

import math

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
)
from snippets.common.stats import clopper_pearson_interval, is_tie, paired_interval
from snippets.problems import trending_topics_bursts as tb
from snippets.problems import trending_topics_sketch as ts

SEEDS = (0, 1, 2, 3, 4)
STREAM = {"n_mentions": 20_000, "n_topics": 50_000, "exponent": 1.1}
SKETCHES = ((0.01, 0.1), (0.002, 0.01), (0.0005, 0.001), (0.001, 0.5))
HEAVY = (0.002, 0.01, 0.005)  # epsilon, delta, phi
LIFTS = (2.0, 8.0, 10.0, 12.0, 16.0)  # to bracket the seasonal false alarms
RED_TEAM = (0.9, 0.5, 0.0)  # share of new accounts among a fake's members
RED_TEAM_WORLD = {"topics": 100, "organic_per_day": 2, "fakes_per_day": 12}
CORE_HOUR = 1.50 / 32  # dollars: a 32-core machine at $1.50 an hour, as elsewhere
HOURS_A_MONTH = 730


# --8<-- [start:estimate]
def estimate_capacity() -> dict:
    """Stream rate, window state (sketch vs exact map), cores, dollars, logs, budget."""
    posts_per_day = 500e6  # the volume Twitter reported in 2013
    posts_s = peak_qps(posts_per_day, 1, peak_to_average=3.0)  # assumed daily peak
    spike_s = peak_qps(posts_per_day, 1, peak_to_average=25.0)  # a one-second spike
    keys_per_post = 3 + 30  # hashtags and linked entities + 1-3-word phrases
    levels = 3  # every key is counted globally, per country and per city
    keys_s = posts_s * keys_per_post * levels
    # Sketch for one level: a 10-minute window is the sum of ten 1-minute sketches
    # (sketches add), plus the one filling. Tolerate an overestimate of 100 mentions:
    # a global or country trend needs thousands.
    window_mentions = posts_s * keys_per_post * 600
    epsilon, delta = 100 / window_mentions, 1e-3
    width, depth = ts.sketch_shape(epsilon, delta)
    sketch_b = width * depth * ts.COUNTER_BYTES
    # Exact map of one 1-minute sub-window: 40% of its mentions are distinct keys,
    # at 64 B an entry (key fingerprint, count, hash-table slack), both assumed.
    exact_b = window_mentions / 10 * 0.4 * 64
    # The seasonal baseline needs every 10-minute slot of the last 7 days: 1,008
    # closed windows a level, each the sum of its 1-minute sketches (same width);
    # an exact map of a 10-minute window holds 30% of its mentions as keys.
    slots = 7 * 144
    window_exact_b = window_mentions * 0.3 * 64
    dau, views = 250e6, 4  # users who open trends, and opens a day (assumed)
    serve_qps = peak_qps(dau, views, peak_to_average=3.0)
    cpu_s = {  # CPU seconds per unit of work, assumed
        "topic extraction (2 ms a post)": posts_s * 2e-3,
        "counting (100 ns a counter update)": keys_s * depth * 100e-9,
        "detection (300,000 candidates a minute, 20 us each)": 3e5 * 20e-6 / 60,
        "coordination (300,000 author sets a minute, 1 ms)": 3e5 * 1e-3 / 60,
        "safety (1,000 alarms a minute x 100 posts, 5 ms)": 1e3 * 100 * 5e-3 / 60,
        "ranker (1,000 alarms a minute, 1 ms)": 1e3 * 1e-3 / 60,
        "serving trends (1 ms a request)": serve_qps * 1e-3,
    }
    cores = {name: servers_needed(s, 1.0, 0.5) for name, s in cpu_s.items()}
    # The baseline store lives in memory: machines of 256 GB (assumed), 32 cores each.
    baseline_b = sketch_b * slots * levels
    cores["baseline store (256 GB a machine)"] = 32 * math.ceil(baseline_b / 256e9)
    # People: 6,000 new trends a day (200 markets x 30), 20% sent to a reviewer,
    # 3 minutes each, at an assumed $40 an hour; but coverage sets the staff: one
    # reviewer on shift for each of 20 language pools, 24 hours a day.
    review_work_hours = 6_000 * 0.2 * 3 / 60
    review_hours = max(review_work_hours, 20 * 24)
    logs = {  # bytes a day; record sizes assumed
        "mentions (key, post, place, author, age, time; 40 B)": posts_per_day
        * keys_per_post
        * 40,
        "candidates scored every minute (100 B)": 3e5 * 1_440 * 100,
        "trend impressions and clicks (20 shown, 50 B)": dau * views * 20 * 50,
        "re-rank features as served (50 candidates, 100 B)": dau * views * 50 * 100,
        "alarms, safety and review decisions, audit (1 kB)": 1e3 * 1_440 * 1_000,
    }
    freshness_ms = {  # allocations of a 5-minute p99, post to trend in the cache
        "ingest": 5_000,
        "extraction and linking": 15_000,
        "hop and watermark": 90_000,
        "detection": 20_000,
        "safety": 15_000,
        "publish": 10_000,
    }
    request_ms = {  # allocations of a 50 ms server-side p99 for GET /trends
        "cache read": 5,
        "personalise": 10,
        "user filters": 5,
        "hydrate": 10,
    }
    return {
        "posts_per_day": posts_per_day,
        "posts_s": posts_s,
        "spike_s": spike_s,
        "keys_per_post": keys_per_post,
        "keys_s": keys_s,
        "updates_s": keys_s * depth,
        "window_mentions": window_mentions,
        "epsilon": epsilon,
        "width": width,
        "depth": depth,
        "sketch": human_bytes(sketch_b),
        "exact": human_bytes(exact_b),
        "window_sketch": human_bytes(sketch_b * 11 * levels),
        "window_exact": human_bytes(exact_b * 11 * levels),
        "window_ratio": exact_b / sketch_b,
        "baseline_sketch": human_bytes(baseline_b),
        "baseline_exact": human_bytes(window_exact_b * slots * levels),
        "baseline_ratio": window_exact_b / sketch_b,
        "serve_qps": serve_qps,
        "cores": cores,
        "core_dollars": {n: c * CORE_HOUR * HOURS_A_MONTH for n, c in cores.items()},
        "review_work_hours": review_work_hours,
        "review_hours": review_hours,
        "review_dollars": review_hours * 40 * HOURS_A_MONTH / 24,
        "logs": {name: human_bytes(b) for name, b in logs.items()},
        "freshness_ms": freshness_ms,
        "freshness_headroom_s": remaining_budget_ms(300_000, freshness_ms) / 1e3,
        "request_ms": request_ms,
        "request_headroom_ms": remaining_budget_ms(50, request_ms),
    }
    # --8<-- [end:estimate]


def print_estimate(est: dict) -> None:
    print("Back-of-envelope (assumptions in estimate_capacity)")
    ratios = f"{est['window_ratio']:.1f}x, {est['baseline_ratio']:.1f}x"
    rows = [
        ("posts a day", f"{est['posts_per_day']:,.0f}"),
        ("peak posts a second (3x the mean)", f"{est['posts_s']:,.0f}"),
        ("one-second spike (25x the mean)", f"{est['spike_s']:,.0f}"),
        ("keys a post: 3 tags and entities + 30 phrases", f"{est['keys_per_post']}"),
        ("key increments a second at peak, 3 levels", f"{est['keys_s']:,.0f}"),
        (
            f"counter updates a second (depth {est['depth']})",
            f"{est['updates_s']:,.0f}",
        ),
        ("mentions in one level's 10-minute window", f"{est['window_mentions']:,.0f}"),
        ("sketch: epsilon for an overestimate <= 100", f"{est['epsilon']:.1e}"),
        ("sketch: width x depth (delta 0.001)", f"{est['width']:,} x {est['depth']}"),
        ("one 1-minute sub-window: sketch", est["sketch"]),
        ("one 1-minute sub-window: exact map", est["exact"]),
        ("window state, 11 x 3 levels: sketch", est["window_sketch"]),
        ("window state, 11 x 3 levels: exact", est["window_exact"]),
        ("7-day baseline, 1,008 windows x 3 levels: sketch", est["baseline_sketch"]),
        ("7-day baseline, 1,008 windows x 3 levels: exact", est["baseline_exact"]),
        ("exact over sketch: window, baseline", ratios),
        ("trend requests a second at peak", f"{est['serve_qps']:,.0f}"),
    ]
    for label, value in rows:
        print(f"  {label:<48}{value:>18}")
    print("Cores at peak (50% utilisation) and dollars a month")
    for name, n in est["cores"].items():
        print(f"  {name:<54}{n:>5}  ${est['core_dollars'][name]:>8,.0f}")
    print(
        f"  human review: {est['review_hours']:.0f} reviewer-hours a day"
        f"{'':>21}${est['review_dollars']:>8,.0f}"
    )
    print(
        f"    (work: {est['review_work_hours']:.0f} h; coverage: 20 language pools"
        " x 24 h)"
    )
    compute = sum(est["core_dollars"].values())
    print(f"  human review over all compute: {est['review_dollars'] / compute:.1f}x")
    print("Logs a day")
    for name, size in est["logs"].items():
        print(f"  {name:<58}{size:>10}")
    fresh = [f"{name} {ms / 1e3:.0f}" for name, ms in est["freshness_ms"].items()]
    print("Freshness, post to trend cache (allocations of a 5-minute p99, seconds):")
    print("  " + ", ".join(fresh[:3]) + ",")
    print("  " + ", ".join(fresh[3:]) + f"; headroom {est['freshness_headroom_s']:.0f}")
    request = ", ".join(f"{name} {ms}" for name, ms in est["request_ms"].items())
    print("GET /trends (allocations of a 50 ms server-side p99, ms):")
    print(f"  {request}; headroom {est['request_headroom_ms']:.0f}")


def sketch_experiment() -> tuple[list[dict], list[dict]]:
    """Per (epsilon, delta), the bound check on every seed; heavy hitters per seed."""
    streams = [ts.zipf_stream(**STREAM, rng=np.random.default_rng(s)) for s in SEEDS]
    exact = [ts.exact_counts(stream) for stream in streams]  # collections.Counter
    rows = [
        {
            "epsilon": epsilon,
            "delta": delta,
            "runs": [
                ts.bound_check(stream, epsilon, delta, 100 + seed, truth)
                for seed, stream, truth in zip(SEEDS, streams, exact, strict=True)
            ],
        }
        for epsilon, delta in SKETCHES
    ]
    heavy = [
        ts.heavy_hitters(stream, *HEAVY, seed=100 + seed, exact=truth)
        for seed, stream, truth in zip(SEEDS, streams, exact, strict=True)
    ]
    return rows, heavy


def print_sketch(rows: list[dict], heavy: list[dict]) -> None:
    n, v, s = STREAM["n_mentions"], STREAM["n_topics"], STREAM["exponent"]
    print()
    print("Count-min sketch against exact counts (collections.Counter)")
    print(f"Zipf stream, exponent {s}: {n:,} mentions of {v:,} topics; 5 seeds")
    print("> eps*N: share of topics over-counted by more than eps*N, mean of seeds")
    print("(largest); doubled: share estimated at >= 2x their count; largest and")
    print("mean overestimates, in mentions")
    print(
        f"{'epsilon':<8}{'delta':>6}{'width':>7}{'depth':>6}{'eps*N':>6}"
        f"{'> eps*N (max)':>16}{'doubled':>9}{'largest':>8}{'CM mean':>8}"
        f"{'CU mean':>8}{'under':>6}"
    )
    for row in rows:
        runs = row["runs"]
        share = [r["cm_over_share"] for r in runs]
        print(
            f"{row['epsilon']:<8g}{row['delta']:>6g}{runs[0]['width']:>7,}"
            f"{runs[0]['depth']:>6}{runs[0]['eps_n']:>6.0f}"
            f"{np.mean(share):>7.4f} ({max(share):.4f})"
            f"{np.mean([r['cm_doubled'] for r in runs]):>9.3f}"
            f"{max(r['cm_max_over'] for r in runs):>8,.0f}"
            f"{np.mean([r['cm_mean_over'] for r in runs]):>8.2f}"
            f"{np.mean([r['cu_mean_over'] for r in runs]):>8.2f}"
            f"{sum(r['cm_under'] + r['cu_under'] for r in runs):>6}"
        )
    eps, delta, phi = HEAVY
    print(f"Heavy hitters, count >= phi N (phi {phi:g}; eps {eps:g}, delta {delta:g}):")
    print(
        f"  5 seeds: true {sum(h['true'] for h in heavy)},"
        f" reported {sum(h['reported'] for h in heavy)},"
        f" missed {sum(h['missed'] for h in heavy)},"
        f" false {sum(h['false'] for h in heavy)};"
        f" lowest true count reported {min(h['lowest_reported'] for h in heavy)}"
    )
    print(
        f"  phi N = {heavy[0]['threshold']:.0f}; each reported key's count"
        f" >= (phi - eps) N = {heavy[0]['guarantee']:.0f} with prob. 1 - delta"
    )


def _interval_line(label: str, differences: list[float], digits: int = 1) -> str:
    mean, low, high = paired_interval(differences)
    tie = "  tie" if is_tie(low, high) else ""
    d = digits
    return f"  {label:<38}{mean:+9.{d}f} [{low:+.{d}f}, {high:+.{d}f}]{tie}"


TRAILING = {"last 24 h": 144, "last hour": 6}
DETECTORS = {  # name -> (signal, baseline: "seasonal" or trailing bins, min lift)
    "posts, same bin on the last 7 days": ("posts", "seasonal", 2.0),
    "posts, mean of the last 24 h": ("posts", 144, 2.0),
    "posts, mean of the last hour": ("posts", 6, 2.0),
    "posts, same bin yesterday": ("posts", "yesterday", 2.0),
    "posts, last 7 days, no lift": ("posts", "seasonal", 1.0),
    "distinct authors, last 7 days": ("distinct authors", "seasonal", 2.0),
    "established posts, last 7 days": ("established posts", "seasonal", 2.0),
    "distinct established, last 7 days": ("distinct established", "seasonal", 2.0),
}
SEASONAL = "posts, same bin on the last 7 days"
WEIGHTED = "distinct established, last 7 days"


def _baseline(signal: np.ndarray, kind: str | int) -> np.ndarray:
    if kind == "seasonal":
        return tb.seasonal_baseline(signal)
    if kind == "yesterday":
        return tb.seasonal_baseline(signal, days=1)
    return tb.trailing_baseline(signal, kind)


def burst_experiment() -> dict:
    """Every detector on every seed's world; trailing baselines at every lift."""
    results: dict[str, list[dict]] = {name: [] for name in DETECTORS}
    by_lift = {(t, lift): [] for t in TRAILING for lift in LIFTS}
    for seed in SEEDS:
        world = tb.simulate_world(seed)
        for name, (signal, kind, lift) in DETECTORS.items():
            raw = world.signals[signal]
            alarm = tb.detect(tb.scored(raw), _baseline(raw, kind), min_lift=lift)
            results[name].append(tb.evaluate(alarm, world))
        posts = world.signals["posts"]
        for trail, bins in TRAILING.items():
            expected = tb.trailing_baseline(posts, bins)
            by_lift[trail, LIFTS[0]].append(results[f"posts, mean of the {trail}"][-1])
            for lift in LIFTS[1:]:
                alarm = tb.detect(tb.scored(posts), expected, min_lift=lift)
                by_lift[trail, lift].append(tb.evaluate(alarm, world))
    # Each trailing detector at the seasonal one's false alarms a day: recall
    # interpolated, in log false alarms, between the two lifts that bracket it.
    target = np.mean([r["false_per_day"] for r in results[SEASONAL]])
    matched = {}
    for trail in TRAILING:
        curve = [
            (
                lift,
                np.mean([r["false_per_day"] for r in by_lift[trail, lift]]),
                np.mean([r["real"] for r in by_lift[trail, lift]]),
            )
            for lift in LIFTS
        ]
        above = [c for c in curve if c[1] >= target][-1]  # false alarms fall with lift
        below = next(c for c in curve if c[1] < target)
        w = np.log(above[1] / target) / np.log(above[1] / max(below[1], 1e-9))
        matched[trail] = (above, below, above[2] + w * (below[2] - above[2]))
    return {"results": results, "matched": matched, "target": target}


def red_team() -> list[dict]:
    """Fakes flagged by the distinct-established detector as the attacker ages its
    accounts: one smaller world per setting, dense in fakes."""
    rows = []
    for share in RED_TEAM:
        cfg = tb.WorldConfig(**RED_TEAM_WORLD, new_share_fakes=share)
        world = tb.simulate_world(100, cfg)
        raw = world.signals[WEIGHTED.split(",")[0]]
        alarm = tb.detect(tb.scored(raw), tb.seasonal_baseline(raw))
        got = tb.evaluate(alarm, world)
        rows.append(
            {
                "share": share,
                "n": got["n_fake"],
                "k": round(got["fake"] * got["n_fake"] / 100),
            }
        )
    return rows


def print_bursts(found: dict) -> None:
    cfg = tb.WorldConfig()
    results = found["results"]
    n_real = sum(r["n_real"] for r in results[SEASONAL])
    n_fake = sum(r["n_fake"] for r in results[SEASONAL])
    print()
    print(
        f"Burst detection: {cfg.topics} topics, 10-minute bins, {tb.HISTORY_DAYS} days"
        f" of history, {cfg.scored_days} days scored; 5 seeds"
    )
    print(
        f"  scored: {n_real} real bursts ({cfg.fan_share:.0%} from fan communities),"
        f" {n_fake} coordinated fakes"
    )
    print("  alarm: count >= 20, count >= lift x baseline, Poisson tail <= 1e-06")
    tests = cfg.topics * tb.BINS_PER_DAY
    print(f"  tests a day: {cfg.topics} topics x {tb.BINS_PER_DAY} windows = {tests:,}")
    print("mean of 5 seeds")
    print(
        f"{'signal, baseline':<38}{'real':>7}{'broad':>7}{'fan':>7}{'fakes':>7}"
        f"{'false/day':>11}{'delay':>7}"
    )
    for name, runs in results.items():
        mean = {k: np.mean([r[k] for r in runs]) for k in LABELS | {"delay_min": 0}}
        print(
            f"{name:<38}{mean['real']:>6.1f}%{mean['broad']:>6.1f}%{mean['fan']:>6.1f}%"
            f"{mean['fake']:>6.1f}%{mean['false_per_day']:>11.2f}"
            + (
                f"{mean['delay_min']:>5.0f} m"
                if np.isfinite(mean["delay_min"])
                else "      -"
            )
        )
    volume, weighted = results[SEASONAL], results[WEIGHTED]
    lost = lost_fan = 0
    for v, w in zip(volume, weighted, strict=True):
        for hit_v, hit_w, fan in zip(
            v["real_hits"], w["real_hits"], v["fan_flags"], strict=True
        ):
            lost += hit_v and not hit_w
            lost_fan += hit_v and not hit_w and fan
    found_v = sum(sum(v["real_hits"]) for v in volume)
    print(
        f"Real bursts found on posts, missed on distinct established: {lost} of"
        f" {found_v} ({lost_fan} fan)"
    )
    print("Fakes flagged, pooled over the 5 seeds (Clopper-Pearson 95%):")
    for name in (SEASONAL, *list(DETECTORS)[-3:]):
        n = sum(r["n_fake"] for r in results[name])
        k = sum(round(r["fake"] * r["n_fake"] / 100) for r in results[name])
        low, high = clopper_pearson_interval(k, n)
        print(
            f"  {name.split(',')[0]:<22}{k:>3} of {n}"
            f"{100 * k / n:>7.1f}% [{100 * low:.1f}%, {100 * high:.1f}%]"
        )
    print(
        f"Trailing detectors at {found['target']:.2f} false alarms a day"
        " (recall interpolated in log false alarms):"
    )
    for trail, (above, below, recall) in found["matched"].items():
        print(
            f"  mean of the {trail:<10} lift {above[0]:g}: {above[1]:.2f}/day"
            f" {above[2]:.1f}%; lift {below[0]:g}: {below[1]:.2f}/day {below[2]:.1f}%;"
            f" at {found['target']:.2f}: {recall:.1f}%"
        )
    cfg_r = tb.WorldConfig(**RED_TEAM_WORLD)
    print(
        f"Red team, distinct established: fakes flagged by their accounts' age"
        f" ({cfg_r.topics} topics, {cfg_r.fakes_per_day} fakes a day, seed 100)"
    )
    for row in found["red_team"]:
        low, high = clopper_pearson_interval(row["k"], row["n"])
        print(
            f"  new accounts {row['share']:.0%} of members:{row['k']:>4} of {row['n']}"
            f"{100 * row['k'] / row['n']:>7.1f}% [{100 * low:.1f}%, {100 * high:.1f}%]"
        )
    tails = []
    for mean in (5, 50, 500):
        count = math.ceil(mean + 4.75 * math.sqrt(mean))
        tails.append(f"{tb.poisson_upper_tail(count, mean):.1e} at mean {mean}")
    normal = math.erfc(4.75 / math.sqrt(2)) / 2
    print(f"Poisson tail at z = 4.75 (normal {normal:.1e}):")
    print("  " + ", ".join(tails))


COMPARISONS = (  # (first, second, metrics): each metric, first minus second
    (SEASONAL, "posts, mean of the last hour", ("real", "false_per_day")),
    (SEASONAL, "posts, mean of the last 24 h", ("real", "false_per_day")),
    ("posts, last 7 days, no lift", SEASONAL, ("real", "false_per_day")),
    (SEASONAL, "posts, same bin yesterday", ("real", "false_per_day")),
    (WEIGHTED, SEASONAL, ("real", "broad", "fan", "false_per_day")),
)
LABELS = {
    "real": "real bursts found, %",
    "broad": "broad bursts found, %",
    "fan": "fan bursts found, %",
    "fake": "fakes flagged, %",
    "false_per_day": "false alarms a day",
}


def print_differences(rows: list[dict], found: dict) -> None:
    print()
    print("Paired differences over the 5 seeds: mean [95% interval]")
    print("count-min minus conservative update:")
    for row in rows:
        d = [r["cm_mean_over"] - r["cu_mean_over"] for r in row["runs"]]
        depth = row["runs"][0]["depth"]
        label = f"mean overestimate, eps {row['epsilon']:g}, depth {depth}"
        print(_interval_line(label, d, 2))
    results = found["results"]
    for first, second, metrics in COMPARISONS:
        print(f"{first} minus {second}:")
        for metric in metrics:
            d = [
                a[metric] - b[metric]
                for a, b in zip(results[first], results[second], strict=True)
            ]
            print(_interval_line(LABELS[metric], d))


def main() -> None:
    print_estimate(estimate_capacity())
    rows, heavy = sketch_experiment()
    print_sketch(rows, heavy)
    found = burst_experiment()
    found["red_team"] = red_team()
    print_bursts(found)
    print_differences(rows, found)


if __name__ == "__main__":
    main()
