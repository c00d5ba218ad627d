"""Event recommendation: the estimate, the miniature's claims, the page's numbers."""

from __future__ import annotations

import math
import re

import pytest
from guide import (
    assert_page_quotes,
    module_output,
    page_text,
    paired_differences,
    typographic_minus,
)
from statsmodels.stats.power import NormalIndPower

from snippets.common import estimation
from snippets.problems import event_recommendation as er

PAGE = "problems/event-recommendation.md"
MODULE = "snippets.problems.event_recommendation"
NUMBER = r"[+-]?\d+\.\d+"
MAIN = er.MAIN


def output() -> str:
    return module_output(MODULE)


def estimate_rows() -> dict[str, str]:
    """Estimate block: label -> printed value (right-aligned after 2+ spaces)."""
    block = output().split("Back-of-envelope", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in block.splitlines()[1:]:
        match = re.match(r"^\s+(.+?)\s{2,}(\S.*)$", line)
        if match:
            rows[match[1]] = match[2].strip()
    return rows


def table(start: str, end: str, width: int) -> dict[str, list[float]]:
    """A table of the output: method name -> its numbers."""
    block = output().split(start, 1)[1].split(end, 1)[0]
    rows = {}
    for line in block.splitlines()[2:]:
        match = re.match(rf"^(\s*\S.*?)\s+((?:{NUMBER}\s*){{{width}}})$", line)
        if match:
            rows[match[1].strip()] = [float(v) for v in match[2].split()]
    return rows


def new_events() -> dict[str, list[float]]:
    """recall@10, NDCG@10, new hosts' recall@10 and top-10 share, others' recall@10."""
    return table("New events, mean of", "\n\n", 5)


def log_rows() -> dict[str, str]:
    """The log streams of the estimate: name -> bytes a day."""
    block = output().split("logs per day", 1)[1].split("  a month at", 1)[0]
    return dict(
        re.match(r"^\s+(.+?)\s{2,}(\S.*)$", line).groups()
        for line in block.splitlines()[1:]
    )


def cost_rows() -> dict[str, tuple[str, str, float]]:
    """The monthly cost table: stage -> (cores, memory, dollars); total: ("", "", $)."""
    block = output().split("$ a month", 1)[1].split("  online test", 1)[0]
    rows = {}
    for line in block.strip("\n").splitlines():
        if line.split()[0] == "total":
            rows["total"] = ("", "", float(line.split()[1].replace(",", "")))
            continue
        match = re.match(r"^\s+(.+?)\s{2,}(\S+)\s+(-|\S+ [kMGT]?B)\s+([\d,]+)$", line)
        assert match, f"unparsed cost line {line!r}"
        rows[match[1]] = (match[2], match[3], float(match[4].replace(",", "")))
    return rows


def past_events() -> dict[str, list[float]]:
    return table("Past events, their registrations", "\n\n", 2)


def differences() -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    """(comparison, metric) -> (mean, low, high, printed as a tie)."""
    return paired_differences(output())


def diff(a: str, b: str, metric: str, where: str = "new events"):
    return differences()[f"{a} minus {b}, {where}", metric]


def interval(a: str, b: str, metric: str, where: str = "new events") -> str:
    """How the page quotes a difference: 0.227 [0.188, 0.265]."""
    mean, low, high, _ = diff(a, b, metric, where)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


FAMILIES = [f"without {group}" for group in er.FEATURE_GROUPS]
ABLATIONS = [name.strip() for name in er.ABLATIONS]
LEAKS = [name.strip() for name in er.LEAKS]
CONTENT_ALONE = er.CONTENT_ALONE


def test_tables_parse_completely():
    assert len(new_events()) == 6 + len(er.ABLATIONS) + len(er.LEAKS)
    assert set(past_events()) == {"random", "popularity by event id", "item-id CF"}
    expected = sum(len(c[3]) for c in er.COMPARISONS)
    assert len(differences()) == expected
    assert len(estimate_rows()) >= 20
    assert len(log_rows()) == 11
    assert set(cost_rows()) == {
        "candidate sources", "friends-going store", "streaming inserts", "ranker",
        "weekly digest (batch)", "logs, 90 days stored", "total",
    }  # fmt: skip


def test_item_id_cf_collapses_on_new_events_but_not_on_a_random_split():
    rows = new_events()
    assert rows["item-id CF"] == rows["random"]  # no new event has a column
    # An equality by construction is not printed as a measured difference.
    assert "item-id CF minus random, new events" not in output()
    warm = diff("item-id CF", "random", "recall@10", "past events, random split")
    assert warm[1] > 0 and not warm[3]
    past = past_events()
    assert past["item-id CF"][0] > 3 * past["random"][0]


def test_attributes_beat_popularity_content_alone_and_ids_on_new_events():
    for baseline in ("popularity by host", "random", CONTENT_ALONE):
        for metric in ("recall@10", "NDCG@10"):
            _, low, _, tie = diff(MAIN, baseline, metric)
            assert low > 0 and not tie, (baseline, metric)
    rows = new_events()
    assert rows[MAIN][0] > rows["popularity by host"][0] > rows["random"][0]
    assert rows[CONTENT_ALONE][0] > rows["popularity by topic"][0]


def test_every_feature_family_carries_part_of_it_and_distance_most():
    highs = {}
    for ablation in ABLATIONS:
        for metric in ("recall@10", "NDCG@10"):
            _, low, _, tie = diff(MAIN, ablation, metric)
            assert low > 0 and not tie, (ablation, metric)
        highs[ablation] = diff(MAIN, ablation, "recall@10")[2]
    distance_low = diff(MAIN, "without distance", "recall@10")[1]
    others = [h for name, h in highs.items() if name != "without distance"]
    assert distance_low > max(others)
    # The ratio is part of the distance family: it carries less than the family.
    ratio = diff(MAIN, "without relative distance", "recall@10")
    assert ratio[0] < diff(MAIN, "without distance", "recall@10")[0] / 2


def test_new_hosts_starve_under_host_popularity_and_host_history_is_unresolved():
    rows = new_events()
    assert rows["popularity by host"][2] == 0.0
    assert rows["popularity by host"][3] < 0.01
    assert rows[MAIN][3] > 0.1 and rows[MAIN][2] > 0.3
    _, low, _, _ = diff(MAIN, "popularity by host", "new hosts' share of top 10")
    assert low > 0
    # Overall the host record helps; per segment the page calls both ties.
    assert diff(MAIN, "without host history", "recall@10")[1] > 0
    for segment in ("recall@10, new hosts", "recall@10, other hosts"):
        *_, tie = diff(MAIN, "without host history", segment)
        assert tie, segment


def test_leaky_features_cost_recall_through_both_channels():
    _, low, _, tie = diff(MAIN, "trained on leaky features", "recall@10")
    assert low > 0.1 and not tie
    assert new_events()["trained on leaky features"][2] < new_events()[MAIN][2] / 2
    host = diff(MAIN, "leaky host features only", "recall@10")
    profiles = diff(MAIN, "leaky user profiles only", "recall@10")
    assert host[1] > 0 and profiles[1] > 0
    assert host[0] > profiles[0]  # the host channel leaks more, as the page shows


def test_ties_are_printed_exactly_when_the_interval_spans_zero():
    for (block, metric), (_, low, high, tie) in differences().items():
        assert tie == (low <= 0 <= high), (block, metric)


def test_estimate_matches_an_independent_calculation():
    rows = estimate_rows()
    qps = 10e6 * 3 / 86_400 * 3
    assert rows["peak requests per second"] == f"{qps:,.0f}"
    assert rows["events scored per second"] == f"{qps * 1_000:,.0f}"
    ranker = math.ceil(qps * 1_000 * 10e-6 / 0.5)
    assert int(rows["ranker cores, 10 us a score, 50% busy"]) == ranker
    entry = 64 * 2 + 2 * 16 * 4 + 32 + 8
    assert rows["index entry (vector, HNSW links, attrs)"] == f"{entry} B"
    replica = 6e6 * entry + (6e6 * 8 + 200e3 * 30 * 16) + 200e3 * entry
    assert rows["event indexes, 3 replicas"] == estimation.human_bytes(3 * replica)
    assert rows["new events per second, peak"] == f"{200e3 / 86_400 * 3:.1f}"
    fanout = 2e6 * 50 / 86_400 * 3
    assert rows["friends-going writes per second, peak"] == f"{fanout:,.0f}"
    entries = 2e6 * 30 * 50
    assert rows["friends-going entries, 3 replicas"] == estimation.human_bytes(
        entries * 16 * 3
    )
    store = entries * (16 + 48) * 3
    assert rows["with 48 B overhead an entry"] == estimation.human_bytes(store)
    assert rows["features as served (50 events)"] == estimation.human_bytes(
        30e6 * 50 * 1_000
    )
    assert rows["weekly digest, 50M users x 1,000"] == (
        f"{50e6 * 1_000 * 10e-6 / 3_600:,.0f} core-h"
    )
    # Dollars a month, recomputed: 730 hours, $0.05 a core-hour, $0.005 a GB-hour.
    costs = cost_rows()
    assert costs["ranker"][0] == str(ranker)
    ranker_ram = math.ceil(ranker / 16) * (6e6 * 300 + 1e6 * 200)
    assert costs["ranker"][2] == round(730 * (ranker * 0.05 + ranker_ram / 1e9 * 0.005))
    assert costs["friends-going store"][2] == round(
        730 * (1 * 0.05 + store / 1e9 * 0.005)
    )
    sources = math.ceil(qps * 2.5e-3 / 0.5)
    assert costs["candidate sources"][0] == str(sources)
    assert costs["candidate sources"][2] == round(
        730 * (sources * 0.05 + 3 * replica / 1e9 * 0.005)
    )
    daily = sum(
        n * size
        for n, size in [
            (30e6 * 20, 200), (30e6, 100), (30e6 * 50, 1_000), (30e6 * 1_000, 12),
            (2e6, 200), (0.2e6, 200), (2e6, 100), (1e6, 100), (2e6, 100),
            (200e3, 2_000), (50e6 / 7 * 3, 500),
        ]
    )  # fmt: skip
    assert costs["logs, 90 days stored"][2] == round(daily * 90 / 1e9 * 0.02)
    est = er.estimate_capacity()
    dollars = [v for k, v in est.items() if k.startswith("dollars:")]
    assert est["dollars_total"] == pytest.approx(sum(dollars))
    most = max((v, k) for k, v in est.items() if k.startswith("dollars:"))[1]
    assert most == "dollars:logs, 90 days stored"  # the page names the logs
    stages = [v for k, v in est.items() if k.startswith("stage:")]
    assert est["headroom_ms"] == est["budget_ms"] - sum(stages) > 0
    assert est["source_percentile"] == pytest.approx(100 * 0.99**0.25)


def test_online_test_sizes_match_statsmodels():
    est = er.estimate_capacity()
    for key, base, lift in (("ab_users_per_arm", 0.2, 0.01),
                            ("ab_hosts_per_arm", 0.3, 0.05)):  # fmt: skip
        treated = base * (1 + lift)
        pooled = (base + treated) / 2
        effect = (treated - base) / math.sqrt(pooled * (1 - pooled))
        reference = NormalIndPower().solve_power(effect, alpha=0.05, power=0.8)
        assert est[key] == pytest.approx(reference, rel=1e-3, abs=1), key
    # Enrolment: 2 arms of new hosts at 3,000 a day, rounded up to whole weeks.
    days = math.ceil(2 * est["ab_hosts_per_arm"] / 3_000)
    assert est["ab_host_days"] == 7 * math.ceil(days / 7)


def test_the_diagram_and_the_table_carry_the_budget():
    text = page_text(PAGE)
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    est = er.estimate_capacity()
    for key, ms in est.items():
        if key.startswith("stage:"):
            assert f"{ms:.0f} ms" in diagram, key
    assert f"{est['headroom_ms']:.0f} ms headroom" in diagram
    allocated = est["budget_ms"] - est["headroom_ms"]
    assert f"{allocated:.0f} ms allocated" in diagram
    assert f"| **{est['headroom_ms']:.0f} ms** |" in text


def test_run_experiment_needs_two_seeds():
    with pytest.raises(ValueError, match="two seeds"):
        er.run_experiment((1,))


def test_page_quotes_the_numbers_the_code_prints():
    rows, est = new_events(), estimate_rows()
    past = past_events()
    full = er.estimate_capacity()
    quoted = [
        est[label]
        for label in (
            "peak requests per second",
            "events scored per second",
            "ranker cores, 10 us a score, 50% busy",
            "live events (200,000 a day, 30 days)",
            "index entry (vector, HNSW links, attrs)",
            "HNSW entries, one replica",
            "geo-time index (postings, buckets)",
            "a day of tombstones until the rebuild",
            "event indexes, 3 replicas",
            "event and host features per ranker",
            "new events per second, peak",
            "friends-going writes per second, peak",
            "writes per new event",
            "friends-going entries, 3 replicas",
            "with 48 B overhead an entry",
        )
    ]
    quoted += list(log_rows().values())
    quoted += [
        est["weekly digest, 50M users x 1,000"].removesuffix(" core-h"),
        full["logs_per_day"],
        full["logs_stored"],
        f"p{full['source_percentile']:.2f}",
        f"{full['headroom_ms']:.0f} ms",
        f"${full['dollars_total']:,.0f} a month",
        f"{full['ab_users_per_arm']:,} users per arm",
        f"within {full['ab_days']} days",
        f"{full['ab_hosts_per_arm']:,} new hosts per arm",
        f"{full['ab_host_days']} days of enrolment",
    ]
    # The cost table: one row per stage, its cores, memory and dollars.
    text = page_text(PAGE)
    for stage, (n_cores, memory, dollars) in cost_rows().items():
        cells = [f"{dollars:,.0f}"]
        cells += [n_cores] if n_cores not in ("-", "") else []
        cells += [memory] if memory not in ("-", "") else []
        label = "**total**" if stage == "total" else stage
        row = next(
            (line for line in text.splitlines() if line.startswith(f"| {label}")), ""
        )
        for cell in cells:
            assert f"| {cell} |" in row or f"| **{cell}** |" in row, (stage, cell)
    for name in ("random", "popularity by topic", "popularity by host", CONTENT_ALONE,
                 MAIN, "trained on leaky features"):  # fmt: skip
        quoted += [f"{value:.3f}" for value in rows[name]]
    quoted += [f"{past[name][0]:.3f}" for name in ("item-id CF", "random")]
    quoted += [
        interval(MAIN, "popularity by host", "recall@10"),
        f"{diff(MAIN, 'popularity by host', 'NDCG@10')[0]:.3f}",
        interval(MAIN, "random", "recall@10"),
        interval(MAIN, CONTENT_ALONE, "recall@10"),
        interval("item-id CF", "random", "recall@10", "past events, random split"),
        interval(MAIN, "without distance", "recall@10"),
        interval(MAIN, "without relative distance", "recall@10"),
        interval(MAIN, "without host history", "recall@10"),
        typographic_minus(
            interval(MAIN, "without host history", "recall@10, other hosts")
        ),
        typographic_minus(
            f"{diff(MAIN, 'without host history', 'recall@10, new hosts')[0]:.3f}"
        ),
        *(interval(MAIN, leak, "recall@10") for leak in LEAKS),
    ]
    quoted += [f"{diff(MAIN, a, 'recall@10')[0]:.3f}" for a in ABLATIONS]
    share = re.search(r"events a city,\n\s+(\d+\.\d)% of the registrations", output())
    quoted.append(f"{share[1]}%")
    candidates = re.search(r"(\d+\.\d) candidates a user", output())[1]
    quoted.append(f"{candidates} candidates a user")
    users, hosts = re.search(r"city has (\d+) users, (\d+) hosts", output()).groups()
    quoted += [f"{users} users", f"{hosts} hosts"]
    assert_page_quotes(PAGE, *quoted)
