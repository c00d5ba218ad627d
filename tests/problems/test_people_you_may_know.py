"""PYMK: the estimate, the miniature's claims from its printed output, the page."""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
from guide import (
    ROOT,
    assert_page_quotes,
    assert_page_says,
    module_output,
    typographic_minus,
)

from snippets.common import estimation
from snippets.problems import people_you_may_know as pymk
from snippets.problems import people_you_may_know_eval as pe
from snippets.problems import people_you_may_know_graph as pg

PAGE = "problems/people-you-may-know.md"
MODULE = "snippets.problems.people_you_may_know"
NUMBER = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


INTERVAL = rf"({NUMBER}) \[({NUMBER}), ({NUMBER})\]( tie)?"


def as_interval(match: re.Match, first: int) -> tuple[float, float, float, bool]:
    """(mean, low, high, printed as a tie) from an INTERVAL match's groups."""
    values = (float(match[first + i]) for i in range(3))
    return (*values, bool(match[first + 3]))


def printed_differences() -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    """(block heading, label) -> (mean, low, high, printed as a tie)."""
    found, block = {}, None
    lines = output().split("Paired differences")[1].splitlines()[1:]
    for line in lines:
        match = re.match(rf"^  (\S.*?)\s+{INTERVAL}$", line)
        if match:
            found[block, match[1]] = as_interval(match, 2)
        elif re.match(r"^[\w ,.]+ world(, by friends)?:$", line):
            block = line.rstrip(":")
        elif line.startswith("Freshness"):
            block = "freshness"
    assert len(found) == len(pymk.COMPARISONS) + 2, "every difference parsed"
    return found


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return printed_differences()[block, label]


def feedback_sweep() -> dict[float, dict[str, object]]:
    """accept -> induced share and the AA - CN and PPR - CN intervals on logged."""
    rows = {}
    for match in re.finditer(
        rf"^ +(\d+)% +(\d+\.\d)%  {INTERVAL} +{INTERVAL}$", output(), re.M
    ):
        rows[int(match[1]) / 100] = {
            "induced": match[2],
            "AA - CN": as_interval(match, 3),
            "PPR - CN": as_interval(match, 7),
        }
    assert sorted(rows) == list(pe.ACCEPT_SWEEP), "a row per acceptance rate"
    return rows


def printed_table(start: str, rows: int) -> dict[str, list[str]]:
    """A table that follows the line starting with start: first field -> cells."""
    lines = output().split("\n" + start, 1)[1].splitlines()[1 : rows + 1]
    table = {}
    for line in lines:
        name, cells = re.match(r"^(\D+?)\s+([\d.\s/,-]+)$", line).groups()
        table[name.strip()] = cells.replace("/", " ").replace(",", " ").split()
    return table


def main_table() -> dict[str, dict[str, float]]:
    """scorer -> recall (all and per segment) and precision per segment."""
    keys = (
        "recall",
        *pe.SEGMENTS,
        *(f"precision, {s}" for s in pe.SEGMENTS),
    )
    table = printed_table("scorer ", len(pe.SCORERS))
    return {k: dict(zip(keys, map(float, v), strict=True)) for k, v in table.items()}


def segment_rows() -> dict[str, list[str]]:
    """The per-segment lines: label -> one value per segment, as printed."""
    block = output().split("Users by friends at the snapshot")[1].split("\n\n")[0]
    return {
        label.strip(): values.split(" / ")
        for label, values in re.findall(r"\n  (\S[^\n]*?) {3,}(\S[^\n]*)", block)
    }


def test_estimate_matches_independent_arithmetic():
    e = pymk.estimate_capacity()
    qps = estimation.peak_qps(400e6, 3, 2)
    assert e["peak_qps"] == pytest.approx(qps)
    assert e["scores_light_per_s"] == pytest.approx(qps * 1_000)
    # Two-step paths: sum of squared degrees, n E[d^2] = n mean^2 (1 + CV^2).
    assert e["paths_full"] == pytest.approx(1e9 * 200**2 * 2)
    # A new edge adds a path to each friend of the other end, both ways; an
    # endpoint's mean degree is E[d^2] / E[d] (the friendship paradox).
    assert e["endpoint_degree"] == pytest.approx(2 * 200**2 / 200)
    assert e["paths_new"] == pytest.approx(3e8 * 4 * 400)
    assert e["full_over_incremental"] == pytest.approx(1e9 * 200 / (4 * 3e8))
    stages = [v for k, v in e.items() if k.startswith("stage:")]
    assert e["headroom_ms"] == pytest.approx(200 - sum(stages)) and e["headroom_ms"] > 0
    assert e["source_percentile"] == pytest.approx(100 * 0.99**0.25)
    assert e["shard_percentile"] > e["source_percentile"]
    # Serving: a light score every 10 us, a heavy one every 100 us, at peak.
    assert e["light_cores"] == pytest.approx(qps * 1_000 * 10e-6, abs=1)
    assert e["heavy_cores"] == pytest.approx(qps * 200 * 100e-6, abs=1)
    # The batch: 20 B a path over hosts moving 0.5 GB/s for 6 hours; 1 us a path
    # over 32-core hosts; the run is priced on the larger fleet.
    shuffle_hosts = math.ceil(8e13 * 20 / (0.5e9 * 6 * 3_600))
    cpu_hosts = math.ceil(8e13 * 1e-6 / 3_600 / (6 * 32))
    assert e["full_hosts"] == (shuffle_hosts, cpu_hosts)
    assert shuffle_hosts > cpu_hosts, "the shuffle is the bottleneck"
    assert e["full_dollars_run"] == pytest.approx(shuffle_hosts * 32 * 6 * 0.05)
    # Stores on hosts of 256 GB RAM / 4 TB SSD / 1 GB/s, each $0.05 x 32 cores an hour.
    hosts = {
        "graph": math.ceil(1e9 * 200 * 12 * 3 / 256e9),
        "ANN": math.ceil(1e9 * (64 * 2 + 32 * 4) * 3 / 256e9),
        "candidates": math.ceil(1e9 * 500 * 12 * 3 / 4e12),
        "features": math.ceil(qps * 1_000 * 300 / 1e9),
    }
    assert e["store_hosts"] == hosts
    ranking = (e["light_cores"] + e["heavy_cores"] + e["ann_cores"]) * 24 * 0.05
    stores = sum(hosts.values()) * 32 * 24 * 0.05
    assert e["serving_dollars_day"] == pytest.approx(ranking + stores)
    assert e["weekly_batch_dollars_day"] == pytest.approx(
        e["full_dollars_run"] / 7 + e["new_dollars_day"]
    )
    # A live two-hop read: 80,000 ids of 8 B per request; 10 ns of CPU an id.
    assert e["fof_online_gbit"] == pytest.approx(qps * 80_000 * 64 / 1e9)
    assert e["fof_merge_cores"] == math.ceil(qps * 80_000 * 10e-9)
    assert e["fof_ids_at_cap"] == 5_000 * 400
    # Logs: 1.2e9 loads a day; each logs its 1,000 candidates at 12 B.
    loads = 400e6 * 3
    assert e["log_candidates"] == estimation.human_bytes(loads * 1_000 * 12)
    assert e["invites_per_day"] == pytest.approx(loads * 10 * 0.01)
    assert e["pymk_share_max"] == pytest.approx(loads * 10 * 0.01 / 3e8)


def test_the_paths_formula_matches_a_brute_force_count():
    """sum_v d_v^2 counts the two-step walks u - v - w (u = w included)."""
    world = pg.grow_world(n_people=200, n_communities=4, n_rounds=10, seed=2)
    graph = pg.snapshot(world, 9)
    degree = graph.sum(axis=1)
    walks = sum(len(graph[[v]].indices) ** 2 for v in range(graph.shape[0]))
    assert (degree**2).sum() == walks == (graph @ graph).sum()


def test_the_diagram_carries_the_budget():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    e = pymk.estimate_capacity()
    stages = [v for k, v in e.items() if k.startswith("stage:")]
    shown = [float(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    assert shown == [*stages, sum(stages)]
    assert f"{e['headroom_ms']:.0f} headroom" in diagram
    assert e["ann_index"].split(".")[0] in diagram and e["graph"] in diagram


def test_the_miniature_claims_hold_in_its_output():
    table = main_table()
    graph_scorers = [pymk.SHORT[name] for name in pe.GRAPH_SCORERS]
    # Nobody's graph says anything about people with no friends: all at chance.
    assert len({table[s]["0 friends"] for s in graph_scorers}) == 1
    chance = float(segment_rows()["recall@10 of a random order"][0])
    assert table["AA"]["0 friends"] < 2 * chance
    assert table["profile"]["0 friends"] > 10 * table["AA"]["0 friends"]
    # Users with 1-2 friends: higher recall than 3+, fewer future friends, and
    # precision far from the friendless.
    future = [float(v) for v in segment_rows()["future friends per user"]]
    assert future[1] < future[2]
    aa = table["AA"]
    assert aa["1-2 friends"] > aa["3+ friends"]
    assert aa["precision, 1-2 friends"] > 10 * aa["precision, 0 friends"]
    # Hubs: AA beats CN when triangles close through a friend, ties along a path.
    assert diff("main world", "AA - CN")[1] > 0
    assert diff("closure along any path world", "AA - CN")[3]
    # The embedding loses with triadic closure and wins without it; more
    # community-driven growth widens the win.
    assert diff("main world", "SVD - AA")[2] < 0
    assert diff("no triadic closure world", "SVD - AA")[1] > 0
    assert diff("no triadic closure world", "SVD - PPR")[1] > 0
    doubled = diff("no closure, community 0.7 world", "SVD - AA")
    assert (
        doubled[1] > 0 and doubled[0] > diff("no triadic closure world", "SVD - AA")[0]
    )
    # Cold users: the profile source wins where the graph is empty, loses elsewhere.
    assert diff("main world, by friends", "profile - AA, 0 friends")[1] > 0
    assert diff("main world, by friends", "profile - AA, 3+ friends")[2] < 0
    # Feedback loop: the verdicts hold at 0% and 2% acceptance, are ties at 5%,
    # and PPR's flips at 10%; the induced share grows with acceptance.
    sweep = feedback_sweep()
    for accept in (0.0, 0.02):
        assert sweep[accept]["AA - CN"][1] > 0 and sweep[accept]["PPR - CN"][1] > 0
    assert sweep[0.05]["AA - CN"][3] and sweep[0.05]["PPR - CN"][3]
    assert sweep[0.1]["AA - CN"][3] and sweep[0.1]["PPR - CN"][2] < 0
    induced = [float(row["induced"]) for row in sweep.values()]
    assert induced[0] == 0 and induced == sorted(induced)
    # At 0% acceptance nothing is induced: logged grading equals organic grading.
    assert sweep[0.0]["AA - CN"] == diff("main world", "AA - CN")
    # Freshness: a stale graph costs most for the people who joined since.
    everyone, newcomers = (
        diff("freshness", "all users"),
        diff("freshness", "users who joined since"),
    )
    assert everyone[2] < 0 and newcomers[2] < 0 and newcomers[0] < everyone[0]
    within = {name: float(cells[0]) for name, cells in by_world().items()}
    assert within["main"] > within["no triadic closure"]
    assert within["no closure, community 0.7"] > within["no triadic closure"]


def by_world() -> dict[str, list[str]]:
    """The recall@10-by-world table: world -> 2-hop share, then one cell a scorer."""
    lines = output().split("\nrecall@10 by world", 1)[1].splitlines()[1:]
    rows = [
        re.match(r"^(\S.*?)\s+(\d\.\d{3}(?:\s+(?:\d\.\d{3}|-))+)$", x) for x in lines
    ]
    return {m[1]: m[2].split() for m in rows[: len(pe.WORLDS)]}


def test_the_printed_table_is_the_mean_over_seeds():
    runs = pe.run_world("main")
    table = main_table()
    for name in pe.SCORERS:
        expected = sum(r.recall[name]["all"] for r in runs) / len(runs)
        assert table[pymk.SHORT[name]]["recall"] == pytest.approx(expected, abs=5e-4)
    worlds = by_world()
    assert list(worlds) == list(pe.WORLDS)
    for world, cells in worlds.items():
        for name, cell in zip(pe.GRAPH_SCORERS, cells[1:], strict=True):
            assert (cell == "-") == (name not in pe.WORLDS[world][1])


def test_chance_recall_is_k_over_the_candidates():
    """Independent: a friendless user's top 10 is a uniformly random draw from
    everyone else present, so it finds each future friend with chance 10 / C."""
    run = pe.run_world("main")[0]
    world = pg.grow_world(seed=0)
    graph = pg.snapshot(world, pe.SNAPSHOT)
    truth = pe.future_friends(world, pe.SNAPSHOT)
    rng = np.random.default_rng(1_000)
    users = np.sort(rng.choice(sorted(truth), pe.USERS_PER_SEED, replace=False))
    degree = np.asarray(graph.sum(axis=1)).ravel()[users]
    present = int((world.joined <= pe.SNAPSHOT).sum())
    friendless = degree == 0
    expected = np.mean(pe.K / (present - 1 - degree[friendless]))
    assert run.chance_recall["0 friends"] == pytest.approx(expected)
    assert run.segment_share["0 friends"] == pytest.approx(friendless.mean())


def test_page_quotes_the_numbers_the_code_prints():
    e = pymk.estimate_capacity()
    hosts = e["store_hosts"]
    quoted = [
        f"{e['peak_qps']:,.0f}",
        f"{e['scores_light_per_s']:,.0f}",
        f"{e['scores_heavy_per_s']:,.0f}",
        f"{e['edges']:.1e}",
        f"**{e['graph']}**",
        f"{e['paths_full']:.1e} paths",
        f"**{e['shuffle_full']}**",
        f"{e['core_hours_full']:,.0f} core-hours",
        f"**{e['full_hosts'][0]} hosts** and the CPU {e['full_hosts'][1]}",
        f"{e['full_hosts'][0]} hosts against {e['full_hosts'][1]}",
        f"= {e['endpoint_degree']:.0f}",
        f"{e['paths_new']:.1e}",
        f"**{e['full_over_incremental']:.0f}x**",
        f"{e['shuffle_new']} shuffled",
        f"{e['core_hours_new']:,.0f} core-hours a day",
        f"(${e['new_dollars_day']:.2f} a day)",
        f"**{e['fof_ids_per_request']:,.0f}",
        f"{e['fof_online_all']}/s",
        f"({e['fof_online_gbit']:,.0f} Gb/s",
        f"{e['fof_merge_cores']} cores to count",
        f"reads {e['fof_ids_at_cap']:,.0f} ids",
        f"**{e['candidate_store']}**",
        f"**{e['ann_index']}**",
        f"{e['feature_fetch']}/s",
        f"{hosts['graph']} hosts for the graph",
        f"{hosts['ANN']} for the\n  ANN index",
        f"{hosts['candidates']} for the candidate store",
        f"{hosts['features']} for the feature reads",
        f"**{e['light_cores']}, {e['heavy_cores']} and {e['ann_cores']} cores**",
        f"${e['ranking_dollars_day']:,.0f} a day, plus",
        f"${e['stores_dollars_day']:,.0f} a day of store hosts",
        f"**${e['serving_dollars_day']:,.0f} a day**",
        f"add ${e['full_dollars_run']:,.0f} a day",
        f"${e['weekly_batch_dollars_day']:,.0f} a day",
        f"sends {e['invites_per_day']:.1e} invites",
        f"at most {e['pymk_share_max']:.0%}",
        f"candidate sets {e['log_candidates']}",
        f"served {e['log_features']}",
        f"impressions {e['log_impressions']}",
        f"propensities {e['log_propensities']}",
        f"invites {e['log_invites']}",
        f"responses {e['log_responses']}",
        f"dismissals {e['log_dismissals']}",
        f"graph changes {e['log_graph_changes']}",
        f"{e['engage_pairs']:.1e} pairs",
        e["engage_counters"],
        f"**{e['headroom_ms']:.0f} ms**",
        f"**p{e['source_percentile']:.2f}**",
        f"**p{e['shard_percentile']:.2f}**",
    ]
    table, out, sweep = main_table(), output(), feedback_sweep()
    segments = segment_rows()
    quoted += [
        f"{diff('main world', 'AA - CN')[0]:.3f} more",
        f"{abs(diff('main world', 'SVD - AA')[0]):.3f} lower",
        f"({table['AA']['0 friends']:.3f}, against "
        f"{segments['recall@10 of a random order'][0]} expected",
        f"expects {segments['recall@10 of a random order'][0]}",
        f"reaches {table['profile']['0 friends']:.3f} there",
        f"{segments['share of users'][0]} of sampled users",
        re.search(r"(\S+%) of the users joined since", out)[1],
        f"({sweep[0.02]['induced']}% induced)",
        f"({sweep[0.05]['induced']}% induced)",
        f"{sweep[pe.ACCEPT_STRANGER]['induced']}% of the logged",
        f"{sweep[0.0]['PPR - CN'][0]:+.3f}",
        typographic_minus(f"{sweep[pe.ACCEPT_STRANGER]['PPR - CN'][0]:+.3f}"),
        f"tie ({sweep[pe.ACCEPT_STRANGER]['AA - CN'][0]:.3f})",
    ]
    within = {name: cells[0] for name, cells in by_world().items()}
    quoted += [
        f"{within['main']} of a user's future friends",
        f"({within['no triadic closure']} without triadic closure, "
        f"{within['no closure, community 0.7']}",
        f"{within['no triadic closure']} when nothing closes",
    ]
    for (block, label), (mean, low, high, _) in printed_differences().items():
        quoted.append(f"{abs(mean):.3f}")
        if (block, label) in (
            ("main world", "AA - CN"),
            ("main world, by friends", "profile - AA, 0 friends"),
        ):
            quoted.append(f"[{low:.3f}, {high:.3f}]")
    # The world's parameters as the page states them.
    quoted += [
        f"{pe.USERS_PER_SEED} users",
        f"graph of round {pe.STALE}",
        f"{1 - pg.PROFILE_ACCURACY:.0%}",
        ", ".join(f"{a:.0%}" for a in pe.ACCEPT_SWEEP[:-1]),
        f"and {pe.ACCEPT_STRANGER:.0%} with the same",
        f"top {pe.SHOWN_BY_INCUMBENT}",
    ]
    assert_page_quotes(PAGE, *quoted)
    logged = re.search(r"\nlogged, \d+% accept +(.+)\n", out)[1].split()
    future = segments["future friends per user"]
    aa = table["AA"]
    assert_page_says(
        PAGE,
        f"({table['CN']['recall']:.3f} to {float(logged[0]):.3f})",
        f"{aa['1-2 friends']:.3f} recall@10 with Adamic-Adar against "
        f"{table['profile']['1-2 friends']:.3f} for the profile match",
        f"({future[1]} against {future[2]} for 3+ friends)",
        f"{aa['precision, 1-2 friends']:.3f} against {aa['precision, 3+ friends']:.3f} "
        f"for 3+ friends and {aa['precision, 0 friends']:.3f} for the friendless",
    )


def test_the_page_states_the_world_the_code_grows():
    defaults = inspect.signature(pg.grow_world).parameters
    value = {name: p.default for name, p in defaults.items()}
    assert_page_says(
        PAGE,
        f"{value['n_people']:,} people in {value['n_communities']} communities",
        f"Each of {value['n_rounds']} rounds, {value['edges_per_round']} people",
        f"with probability {value['closure']} to a friend of a friend",
        f"with {value['same_community']} to a member of their community",
        f"rounds 0–{pe.SNAPSHOT} is the snapshot",
        f"rounds {pe.SNAPSHOT + 1}–{value['n_rounds'] - 1}",
        f"rank-{inspect.signature(pg.svd_scores).parameters['rank'].default} truncated",
    )
