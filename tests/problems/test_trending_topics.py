"""Trending topics: the estimate, the miniature's claims from its output, the page."""

from __future__ import annotations

import math
import re

import pytest
from guide import ROOT, assert_page_quotes, module_output, paired_differences
from scipy import stats

from snippets.common import estimation
from snippets.problems import trending_topics as tt
from snippets.problems import trending_topics_sketch as ts

PAGE = "problems/trending-topics.md"
MODULE = "snippets.problems.trending_topics"


def output() -> str:
    return module_output(MODULE)


def section(start: str, end: str) -> str:
    return output().split(start, 1)[1].split(end, 1)[0]


def sketch_rows() -> list[dict]:
    keys = ("epsilon", "delta", "width", "depth", "eps_n", "share", "share_max")
    keys += ("doubled", "largest", "cm_mean", "cu_mean", "under")
    pattern = (
        r"^(\S+)\s+(\S+)\s+([\d,]+)\s+(\d+)\s+(\d+)\s+(\d\.\d+) \((\d\.\d+)\)"
        r"\s+(\d\.\d+)\s+([\d,]+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+)$"
    )
    rows = []
    for line in section("CU mean under\n", "Heavy hitters").splitlines():
        match = re.match(pattern, line)
        assert match, f"unparsed sketch row {line!r}"
        values = [float(v.replace(",", "")) for v in match.groups()]
        rows.append(dict(zip(keys, values, strict=True)))
    return rows


def heavy() -> dict[str, int]:
    text = section("Heavy hitters", "\n\n")
    pairs = re.findall(r"(true|reported|missed|false) (\d+)[,;]", text)
    found = {k: int(v) for k, v in pairs}
    found["lowest"] = int(re.search(r"lowest true count reported (\d+)", text)[1])
    found["phi_n"] = int(re.search(r"phi N = (\d+)", text)[1])
    found["guarantee"] = int(re.search(r"\(phi - eps\) N = (\d+)", text)[1])
    return found


def burst_rows() -> dict[str, dict[str, float]]:
    keys = ("real", "broad", "fan", "fake", "false_per_day")
    rows = {}
    body = section("false/day  delay\n", "Real bursts found")
    for line in body.splitlines():
        match = re.match(
            r"^(.+?)\s+((?:\d+\.\d%\s*){4})\s+(\d+\.\d+)\s+(\d+ m|-)$", line
        )
        assert match, f"unparsed burst row {line!r}"
        values = [float(v) for v in re.findall(r"\d+\.\d", match[2])]
        row = dict(zip(keys, [*values, float(match[3])], strict=True))
        row["delay"] = float(match[4].split()[0]) if match[4] != "-" else math.nan
        rows[match[1]] = row
    return rows


def lost() -> tuple[int, int, int]:
    match = re.search(
        r"missed on distinct established: (\d+) of (\d+) \((\d+) fan\)", output()
    )
    return int(match[1]), int(match[2]), int(match[3])


def pooled_fakes() -> dict[str, tuple[int, int, float, float, float]]:
    text = section("Fakes flagged, pooled", "Trailing detectors")
    pattern = r"^  (.+?)\s+(\d+) of (\d+)\s+(\S+)% \[(\S+)%, (\S+)%\]$"
    rows = {}
    for line in text.splitlines()[1:]:
        m = re.match(pattern, line)
        assert m, f"unparsed fakes row {line!r}"
        rows[m[1]] = (int(m[2]), int(m[3]), *(float(m[i]) for i in (4, 5, 6)))
    return rows


def interpolated() -> dict[str, tuple[float, ...]]:
    text = section("Trailing detectors at", "Red team")
    target = float(re.match(r" (\S+) false alarms", text)[1])
    pattern = (
        r"mean of the (.+?)\s+lift \S+: (\S+)/day (\S+)%; lift \S+: (\S+)/day"
        r" (\S+)%; at (\S+): (\S+)%"
    )
    rows = {}
    for m in re.finditer(pattern, text):
        rows[m[1]] = tuple(float(m[i]) for i in range(2, 8))
        assert rows[m[1]][4] == target
    assert len(rows) == len(tt.TRAILING)
    return rows


def red_team() -> list[tuple[float, int, int]]:
    text = section("Red team", "Poisson tail")
    found = re.findall(r"new accounts (\d+)% of members:\s+(\d+) of (\d+)", text)
    return [(int(a) / 100, int(k), int(n)) for a, k, n in found]


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def test_every_table_parses():
    assert len(sketch_rows()) == len(tt.SKETCHES)
    assert set(burst_rows()) >= set(tt.DETECTORS)
    assert len(burst_rows()) == len(tt.DETECTORS)
    n_blocks = 1 + len(tt.COMPARISONS)
    assert len({block for block, _ in paired_differences(output())}) == n_blocks


def test_the_sketch_stays_inside_its_bound_and_never_underestimates():
    for row in sketch_rows():
        assert (row["width"], row["depth"]) == ts.sketch_shape(
            row["epsilon"], row["delta"]
        )
        assert row["eps_n"] == pytest.approx(row["epsilon"] * tt.STREAM["n_mentions"])
        assert row["share"] <= row["share_max"] <= row["delta"]
        assert row["under"] == 0
        assert row["cu_mean"] <= row["cm_mean"]
    by_depth = {row["depth"]: row for row in sketch_rows()}
    one_row = by_depth[1]
    assert one_row["share"] > 10 * by_depth[3]["share"]  # depth is what protects
    assert one_row["largest"] > 100 * one_row["eps_n"] / 20  # a heavy topic's bucket


def test_the_error_is_additive_so_small_epsilon_stops_doubling_small_counts():
    rows = sorted(
        (r for r in sketch_rows() if r["depth"] > 1), key=lambda r: r["epsilon"]
    )
    doubled = [r["doubled"] for r in rows]
    assert doubled == sorted(doubled)  # smaller epsilon, fewer topics doubled
    assert doubled[-1] > 0.9 and doubled[0] < 0.05


def test_conservative_update_helps_with_rows_and_is_a_tie_with_one():
    block = "count-min minus conservative update"
    for row in sketch_rows():
        label = f"mean overestimate, eps {row['epsilon']:g}, depth {row['depth']:.0f}"
        mean, low, _, tie = diff(block, label)
        if row["depth"] == 1:
            assert tie and mean == 0
        else:
            assert low > 0 and not tie


def test_heavy_hitters_are_all_found_and_false_ones_respect_the_guarantee():
    found = heavy()
    assert found["missed"] == 0
    assert found["reported"] == found["true"] + found["false"]
    eps, _, phi = tt.HEAVY
    n = tt.STREAM["n_mentions"]
    assert found["phi_n"] == round(phi * n) and found["guarantee"] == round(
        (phi - eps) * n
    )
    assert found["lowest"] >= found["guarantee"]


def test_the_seasonal_baseline_beats_trailing_ones():
    rows = burst_rows()
    seasonal = rows[tt.SEASONAL]
    for name in ("posts, mean of the last hour", "posts, mean of the last 24 h"):
        assert rows[name]["false_per_day"] > 50 * seasonal["false_per_day"], name
        _, low, _, tie = diff(f"{tt.SEASONAL} minus {name}", "real bursts found, %")
        assert low > 0 and not tie
        _, _, high, _ = diff(f"{tt.SEASONAL} minus {name}", "false alarms a day")
        assert high < 0
    # At the seasonal detector's false alarms, the trailing ones find almost nothing:
    # the printed recall is the log-linear interpolation between the bracketing lifts.
    for fa_hi, rec_hi, fa_lo, rec_lo, target, recall in interpolated().values():
        assert fa_hi >= target > fa_lo
        assert target == pytest.approx(seasonal["false_per_day"], abs=0.005)
        w = math.log(fa_hi / target) / math.log(fa_hi / max(fa_lo, 1e-9))
        assert recall == pytest.approx(rec_hi + w * (rec_lo - rec_hi), abs=0.06)
        assert recall < seasonal["real"] / 10
    # Same bin yesterday is seasonal too (a fair rival): similar recall, far more
    # false alarms, because one day is a noisy baseline.
    block = f"{tt.SEASONAL} minus posts, same bin yesterday"
    assert diff(block, "false alarms a day")[2] < 0


def test_the_lift_rule_removes_false_alarms_at_a_small_cost():
    block = f"posts, last 7 days, no lift minus {tt.SEASONAL}"
    assert diff(block, "false alarms a day")[1] > 5
    mean, _, high, _ = diff(block, "real bursts found, %")
    assert 0 <= mean < 10 and high < 10


def test_author_signals_reject_fakes_and_cost_fan_bursts():
    rows = burst_rows()
    assert rows[tt.SEASONAL]["fake"] >= 95
    assert rows[tt.WEIGHTED]["fake"] <= 5
    # Each half of the signal alone lets more fakes through than both together.
    for half in ("distinct authors, last 7 days", "established posts, last 7 days"):
        assert rows[half]["fake"] > 2 * rows[tt.WEIGHTED]["fake"], half
    # Pooled shares with exact intervals, checked against SciPy's binomial test.
    pooled = pooled_fakes()
    assert set(pooled) == {
        "posts",
        "distinct authors",
        "established posts",
        "distinct established",
    }
    for k, n, share, low, high in pooled.values():
        assert share == pytest.approx(100 * k / n, abs=0.06)
        ci = stats.binomtest(k, n).proportion_ci(method="exact")
        assert (low, high) == pytest.approx((100 * ci.low, 100 * ci.high), abs=0.06)
        assert 0 <= low <= share <= high <= 100
    assert pooled["distinct established"][4] < 10
    # The red team: the more aged accounts a fake has, the more pass as real.
    sweep = red_team()
    assert [a for a, _, _ in sweep] == list(tt.RED_TEAM)
    shares = [k / n for _, k, n in sweep]
    assert shares == sorted(shares) and shares[-1] > 5 * shares[0]
    block = f"{tt.WEIGHTED} minus {tt.SEASONAL}"
    assert diff(block, "real bursts found, %")[2] < 0  # the cost is real
    assert diff(block, "fan bursts found, %")[2] < 0
    assert diff(block, "broad bursts found, %")[3]  # broad bursts: a tie
    missed, found, fan = lost()
    assert 0 < missed < found and fan > missed / 2


def test_poisson_tails_match_scipy_and_exceed_the_normal_at_small_means():
    text = section("Poisson tail at z = 4.75", "\n\n")
    normal = float(re.search(r"normal (\S+)\)", text)[1])
    assert normal == pytest.approx(stats.norm.sf(4.75), rel=0.05)
    tails = [(float(p), int(m)) for p, m in re.findall(r"(\S+) at mean (\d+)", text)]
    assert [m for _, m in tails] == [5, 50, 500]
    for printed, mean in tails:
        count = math.ceil(mean + 4.75 * math.sqrt(mean))
        assert printed == pytest.approx(stats.poisson.sf(count - 1, mean), rel=0.05)
    values = [p for p, _ in tails]
    assert values == sorted(values, reverse=True) and values[-1] > normal


def test_the_estimate_matches_independent_arithmetic():
    est = tt.estimate_capacity()
    posts_s = 500e6 / 86_400 * 3
    assert est["posts_s"] == pytest.approx(posts_s)
    assert est["keys_s"] == pytest.approx(posts_s * 33 * 3)
    window = posts_s * 33 * 600
    assert est["window_mentions"] == pytest.approx(window)
    width, depth = math.ceil(math.e * window / 100), math.ceil(math.log(1e3))
    assert (est["width"], est["depth"]) == (width, depth)
    sketch_b = width * depth * 4
    assert est["window_ratio"] == pytest.approx(window / 10 * 0.4 * 64 / sketch_b)
    assert est["baseline_ratio"] == pytest.approx(window * 0.3 * 64 / sketch_b)
    assert est["baseline_ratio"] > 5 * est["window_ratio"]  # where the sketch wins
    assert est["cores"]["topic extraction (2 ms a post)"] == math.ceil(
        posts_s * 2e-3 / 0.5
    )
    assert est["freshness_headroom_s"] == pytest.approx(
        300 - sum(est["freshness_ms"].values()) / 1e3
    )
    assert est["serve_qps"] == pytest.approx(estimation.peak_qps(250e6, 4, 3.0))
    # Review dominates: coverage (20 pools x 24 h) beats the 60 hours of work.
    compute = sum(est["core_dollars"].values())
    assert est["review_work_hours"] == pytest.approx(60)
    assert est["review_dollars"] == pytest.approx(480 * 40 * 730 / 24)
    assert est["review_dollars"] > 10 * compute


def test_the_diagram_carries_the_freshness_allocations():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    shown = [int(s) for s in re.findall(r"(\d+) s\b", diagram)]
    est = tt.estimate_capacity()
    assert shown == [ms // 1000 for ms in est["freshness_ms"].values()]


def test_page_quotes_the_numbers_the_code_prints():
    est = tt.estimate_capacity()
    quoted = [
        f"{est['posts_per_day']:,.0f}",
        f"{est['posts_s']:,.0f} posts a",
        f"{est['spike_s']:,.0f} posts a",
        f"{est['keys_s']:,.0f} key increments",
        f"{est['updates_s']:,.0f} counter updates",
        f"{est['window_mentions']:,.0f}",
        f"{est['epsilon']:.1e}",
        f"{est['width']:,} × {est['depth']}",
        est["sketch"],
        est["exact"],
        est["window_sketch"],
        est["window_exact"],
        est["baseline_sketch"],
        est["baseline_exact"],
        f"{est['window_ratio']:.1f}x",
        f"{est['baseline_ratio']:.1f}x",
        f"{est['serve_qps']:,.0f} trend",
        f"{est['review_hours']:.0f}\n  reviewer-hours",
        f"{est['review_work_hours']:.0f} hours a day",
        f"${est['review_dollars']:,.0f} a month",
        f"{est['review_dollars'] / sum(est['core_dollars'].values()):.1f}x",
        f"{est['freshness_headroom_s']:.0f} s of headroom",
        f"{est['request_headroom_ms']:.0f} ms of headroom",
        *est["logs"].values(),
    ]
    quoted += [f"**{n} cores**" for n in list(est["cores"].values())[:2]]
    quoted += [f"${d:,.0f}" for d in est["core_dollars"].values()]
    rows = sketch_rows()
    by_depth = {int(r["depth"]): r for r in rows}
    quoted += [
        f"{by_depth[3]['share']:.4f} of topics",
        f"{max(r['share_max'] for r in rows if r['depth'] > 1):.4f}",
        f"{by_depth[1]['share']:.4f}",
        f"{by_depth[1]['largest']:,.0f} mentions",
        f"{by_depth[3]['doubled']:.3f} of topics",
        f"{by_depth[7]['doubled']:.3f}",
        f"{by_depth[3]['cm_mean']:.2f} to {by_depth[3]['cu_mean']:.2f}",
        f"{by_depth[3]['eps_n']:.0f};",
    ]
    found = heavy()
    quoted += [
        f"of {found['true']} topics",
        f"the {found['false']} false ones",
        f"at least {found['lowest']}",
        f"the {found['guarantee']} that each",
        f"{found['phi_n']} mentions none",
    ]
    rows = burst_rows()
    seasonal = rows[tt.SEASONAL]
    hour, day = (
        rows["posts, mean of the last hour"],
        rows["posts, mean of the last 24 h"],
    )
    quoted += [
        f"{hour['real']:.1f}% of real bursts",
        f"{hour['false_per_day']:.2f} false alarms",
        f"{seasonal['real']:.1f}% and {seasonal['false_per_day']:.2f}",
        f"{seasonal['false_per_day']:.2f} false alarms",
        f"{day['false_per_day']:.2f} false alarms a",
        f"{hour['delay']:.0f} minutes against the",
        f"seasonal one's {seasonal['delay']:.0f}",
        f"{rows[tt.SEASONAL]['fake']:.1f}% of the coordinated fakes",
        f"{rows[tt.WEIGHTED]['fake']:.1f}%",
        f"{rows['posts, same bin yesterday']['false_per_day']:.2f} false",
        f"from {seasonal['false_per_day']:.2f} to"
        f" {rows[tt.WEIGHTED]['false_per_day']:.2f} a day",
    ]
    pooled = pooled_fakes()
    k, n, _, low, high = pooled["distinct established"]
    quoted += [f"{k} of {n} ", f"[{low:.1f}%, {high:.1f}%]"]
    quoted += [f"{pooled['distinct authors'][2]:.1f}% of fakes"]
    quoted += [f"{pooled['established posts'][2]:.1f}%"]
    curves = interpolated()
    day, hour_i = curves["last 24 h"][5], curves["last hour"][5]
    quoted += [f"find {day:.1f}% and {hour_i:.1f}%", f"about {hour_i:.1f}%"]
    sweep = red_team()
    quoted += [
        f"from {100 * sweep[0][1] / sweep[0][2]:.1f}% to"
        f" {100 * sweep[1][1] / sweep[1][2]:.1f}% to"
        f" {100 * sweep[2][1] / sweep[2][2]:.1f}%"
    ]
    n_real = re.search(r"scored: (\d+) real bursts", output())[1]
    missed, found_v, fan = lost()
    quoted += [f"{found_v} of the {n_real} real bursts ({seasonal['real']:.1f}%"]
    quoted += [f"{missed} of the {found_v} real bursts", f"{fan} of them from fan"]
    tails = re.findall(r"(\S+) at mean (\d+)", output())
    quoted += [f"{tails[0][0]} at a mean of 5", f"{tails[1][0]} at a mean of 50"]
    quoted += [re.search(r"windows = ([\d,]+)", output())[1] + " tests a day"]
    for (block, label), (mean, low, high, _) in paired_differences(output()).items():
        if "depth 7" in label or "depth 1" in label:
            continue
        if block.endswith("yesterday") and label.startswith("real"):
            continue  # a tie, quoted as such
        if label == "false alarms a day" and block.startswith("distinct"):
            continue  # quoted as the two rates
        digits = 2 if block.startswith("count-min") else 1
        quoted.append(f"{abs(mean):.{digits}f}")
        with_interval = label == "real bursts found, %" or "depth 3" in label
        if with_interval and not block.startswith("posts, last 7"):
            lo, hi = sorted((abs(low), abs(high)))
            quoted.append(f"[{lo:.{digits}f}, {hi:.{digits}f}]")
    assert_page_quotes(PAGE, *quoted)


def test_the_miniature_fits_its_cpu_budget_in_work_units():
    """Deterministic proxy for speed: the conservative-update loops touch at most
    this many counters (5 seeds x 4 settings x mentions x depth)."""
    touched = sum(
        len(tt.SEEDS) * tt.STREAM["n_mentions"] * ts.sketch_shape(e, d)[1]
        for e, d in tt.SKETCHES
    )
    assert touched <= 2_000_000
