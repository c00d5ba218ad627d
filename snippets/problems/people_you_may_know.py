"""People you may know: the back-of-envelope estimate and the miniature's results.

The estimate sizes PYMK on a social network of a billion users: requests, the
graph, the friends-of-friends batch (full and incremental), the embedding index,
the logs, the latency budget and the cores behind each stage. The miniature
(``people_you_may_know_graph`` and ``people_you_may_know_eval``) grows synthetic
social graphs and compares four link scorers on the friendships that form after a
snapshot, over five seeds, with ablations.

Run it: ``python -m snippets.problems.people_you_may_know``.
"""

from __future__ import annotations

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval
from snippets.problems import people_you_may_know_eval as pe

DOLLARS_PER_CORE_HOUR = 0.05  # assumed; check against your provider's prices


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """PYMK's traffic, graph, batch and serving cost, logs and latency budget."""
    users, dau = 1e9, 400e6  # monthly and daily active users, assumed
    mean_friends, friends_cv = 200, 1.0  # assumed; spread (CV) of friend counts
    loads_per_user = 3.0  # PYMK modules opened a day (feed, network tab), assumed
    qps = peak_qps(dau, loads_per_user, peak_to_average=2.0)
    from_batch, from_ann, from_rules = 500, 300, 200  # candidates per request
    candidates, heavy = from_batch + from_ann + from_rules, 200  # 20 shown
    seen, unshown_logged, invite_rate = 10, 10, 0.01  # per load; invites/seen
    dismiss_rate = 0.02  # assumed: seen suggestions dismissed ("X", "don't know")
    new_friendships = 3e8  # a day, assumed
    friend_cap = 5_000  # assumed: the most friends one account may have
    # Friends-of-friends: every two-step path u - v - w is one record. Their number
    # is sum_v d_v^2 = n E[d^2]; an edge's endpoints have mean degree E[d^2] / E[d]
    # (the friendship paradox), which sets how many paths a new edge creates.
    second_moment = mean_friends**2 * (1 + friends_cv**2)
    paths_full = users * second_moment
    endpoint_degree = second_moment / mean_friends
    paths_new = new_friendships * 4 * endpoint_degree  # both ends, both directions
    us_per_path, bytes_per_path = 1.0, 20  # join + aggregate CPU, shuffle record
    # The batch runs in a 6-hour window on hosts of 32 cores that each move 0.5 GB/s
    # of shuffle (sent, written and read back); both assumed: measure your cluster.
    window_h, cores_per_host, shuffle_per_host = 6, 32, 0.5e9

    def batch(paths: float) -> tuple[int, int, float]:
        """Hosts for the shuffle, hosts for the CPU, dollars for the bottleneck."""
        shuffle = servers_needed(
            paths * bytes_per_path, shuffle_per_host * window_h * 3_600
        )
        cpu = servers_needed(
            paths * us_per_path / 1e6 / 3_600, window_h * cores_per_host
        )
        hours = max(shuffle, cpu) * cores_per_host * window_h
        return shuffle, cpu, hours * DOLLARS_PER_CORE_HOUR

    light_us, heavy_us, ann_ms = 10.0, 100.0, 2.0  # CPU per score / per request
    merge_ns = 10.0  # CPU to count one id of a live two-hop read, assumed
    # Stores: a host (32 cores, 256 GB of RAM or 4 TB of SSD, moving 1 GB/s of
    # feature reads) is priced like a batch host; all assumed.
    host_ram, host_ssd, host_reads = 256e9, 4e12, 1e9
    host_dollars_day = cores_per_host * 24 * DOLLARS_PER_CORE_HOUR
    stages_ms = {  # allocations of a 200 ms server-side p99
        "request, auth, assembly": 15,
        "candidate sources (in parallel)": 40,
        "filters: blocks, privacy, minors": 10,
        "feature fetch (1,000 candidates)": 30,
        "light ranker (1,000 to 200)": 15,
        "multi-task ranker (200)": 30,
        "re-rank: diversity, invite caps": 10,
    }
    sources, feature_shards = 4, 16
    light = servers_needed(qps * candidates, 1e6 / light_us)
    heavy_cores = servers_needed(qps * heavy, 1e6 / heavy_us)
    ann = servers_needed(qps, 1e3 / ann_ms)
    serving_cores = light + heavy_cores + ann
    loads_per_day = dau * loads_per_user
    graph_bytes = storage_bytes(users * mean_friends, 12, replicas=3)
    candidate_bytes = storage_bytes(users * from_batch, 12, replicas=3)
    ann_bytes = storage_bytes(users, 64 * 2 + 32 * 4, replicas=3)
    feature_rate = qps * candidates * 300  # 300 B a candidate
    store_hosts = {
        "graph": servers_needed(graph_bytes, host_ram),
        "ANN": servers_needed(ann_bytes, host_ram),
        "candidates": servers_needed(candidate_bytes, host_ssd),
        "features": servers_needed(feature_rate, host_reads),
    }
    fof_ids = mean_friends * endpoint_degree  # a live two-hop read, mean user
    invites = loads_per_day * seen * invite_rate
    return {
        "peak_qps": qps,
        "scores_light_per_s": qps * candidates,
        "scores_heavy_per_s": qps * heavy,
        "edges": users * mean_friends / 2,
        # Adjacency lists both ways: an 8 B id and a 4 B timestamp per entry.
        "graph": human_bytes(graph_bytes),
        "paths_full": paths_full,
        "paths_new": paths_new,
        "endpoint_degree": endpoint_degree,
        "full_over_incremental": paths_full / paths_new,
        "shuffle_full": human_bytes(paths_full * bytes_per_path),
        "shuffle_new": human_bytes(paths_new * bytes_per_path),
        "core_hours_full": paths_full * us_per_path / 1e6 / 3_600,
        "core_hours_new": paths_new * us_per_path / 1e6 / 3_600,
        "window_h": window_h,
        "full_hosts": batch(paths_full)[:2],
        "new_hosts": batch(paths_new)[:2],
        "fof_ids_per_request": fof_ids,
        "fof_online_all": human_bytes(qps * fof_ids * 8),
        "fof_online_gbit": qps * fof_ids * 8 * 8 / 1e9,
        "fof_merge_cores": servers_needed(qps * fof_ids, 1e9 / merge_ns),
        "fof_ids_at_cap": friend_cap * endpoint_degree,
        # Precomputed candidates: 500 a user, an 8 B id and a 4 B score each.
        "candidate_store": human_bytes(candidate_bytes),
        # 64 float16 dims, HNSW layer-0 links: 2 M = 32 uint32 ids per user.
        "ann_index": human_bytes(ann_bytes),
        "feature_fetch": human_bytes(feature_rate),
        "log_impressions": human_bytes(loads_per_day * seen * 150),
        # Every request's ~1,000 candidates, an 8 B id and a source code each.
        "log_candidates": human_bytes(loads_per_day * candidates * 12),
        "log_features": human_bytes(loads_per_day * (seen + unshown_logged) * 500),
        "log_propensities": human_bytes(loads_per_day * seen * 4),  # a float each
        "log_invites": human_bytes(invites * 200),
        "log_responses": human_bytes(invites * 100),
        "log_dismissals": human_bytes(loads_per_day * seen * dismiss_rate * 100),
        "log_graph_changes": human_bytes(new_friendships * 50),
        # The engage label: a counter for each pair connected in the last 30 days.
        "engage_pairs": new_friendships * 30,
        "engage_counters": human_bytes(new_friendships * 30 * 16),
        "invites_per_day": invites,
        "pymk_share_max": invites / new_friendships,
        "light_cores": light,
        "heavy_cores": heavy_cores,
        "ann_cores": ann,
        "ranking_dollars_day": serving_cores * 24 * DOLLARS_PER_CORE_HOUR,
        "store_hosts": store_hosts,
        "stores_dollars_day": sum(store_hosts.values()) * host_dollars_day,
        "serving_dollars_day": serving_cores * 24 * DOLLARS_PER_CORE_HOUR
        + sum(store_hosts.values()) * host_dollars_day,
        "full_dollars_run": batch(paths_full)[2],
        "new_dollars_day": batch(paths_new)[2],
        "weekly_batch_dollars_day": batch(paths_full)[2] / 7 + batch(paths_new)[2],
        "budget_ms": 200.0,
        "headroom_ms": remaining_budget_ms(200.0, stages_ms),
        "source_percentile": 100 * 0.99 ** (1 / sources),
        "shard_percentile": 100 * 0.99 ** (1 / feature_shards),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


def print_estimate() -> None:
    """The estimate as the page shows it."""
    e = estimate_capacity()
    hosts = e["store_hosts"].values()
    rows = [
        ("peak PYMK requests per second", f"{e['peak_qps']:,.0f}"),
        ("light-ranker scores per second", f"{e['scores_light_per_s']:,.0f}"),
        ("heavy-ranker scores per second", f"{e['scores_heavy_per_s']:,.0f}"),
        ("friendships (undirected edges)", f"{e['edges']:.1e}"),
        ("adjacency lists, 3 replicas", e["graph"]),
        ("two-step paths, full recompute", f"{e['paths_full']:.1e}"),
        ("  shuffled at 20 B a path", e["shuffle_full"]),
        ("  core-hours at 1 us a path", f"{e['core_hours_full']:,.0f}"),
        ("  hosts in 6 h: shuffle / CPU", "{full_hosts[0]} / {full_hosts[1]}"),
        ("friends of an edge's endpoint, mean", f"{e['endpoint_degree']:,.0f}"),
        ("two-step paths new in a day", f"{e['paths_new']:.1e}"),
        ("  shuffled", e["shuffle_new"]),
        ("  core-hours", f"{e['core_hours_new']:,.0f}"),
        ("  hosts in 6 h: shuffle / CPU", "{new_hosts[0]} / {new_hosts[1]}"),
        ("  full / incremental", f"{e['full_over_incremental']:.0f}x"),
        ("online FoF ids read per request", f"{e['fof_ids_per_request']:,.0f}"),
        ("  for every request, at peak", f"{e['fof_online_all']}/s"),
        ("  the same in Gb/s", f"{e['fof_online_gbit']:,.0f}"),
        ("  cores to count the ids", f"{e['fof_merge_cores']}"),
        ("  ids for a user at the friend cap", f"{e['fof_ids_at_cap']:,.0f}"),
        ("precomputed candidates, 3 replicas", e["candidate_store"]),
        ("embedding ANN index, 3 replicas", e["ann_index"]),
        ("candidate features fetched", f"{e['feature_fetch']}/s"),
        ("cores: light / heavy / ANN", "{light_cores} / {heavy_cores} / {ann_cores}"),
        ("hosts: graph / ANN / cand. / feat.", " / ".join(map(str, hosts))),
        ("ranking cores, $ a day", f"{e['ranking_dollars_day']:,.0f}"),
        ("store hosts, $ a day", f"{e['stores_dollars_day']:,.0f}"),
        ("serving in all, $ a day", f"{e['serving_dollars_day']:,.0f}"),
        ("full FoF recompute, $ a run", f"{e['full_dollars_run']:,.0f}"),
        ("incremental FoF, $ a day", f"{e['new_dollars_day']:,.2f}"),
        ("weekly full + daily incr., $ a day", f"{e['weekly_batch_dollars_day']:,.0f}"),
        ("PYMK invites a day", f"{e['invites_per_day']:.1e}"),
        ("  most of new friendships they make", f"{e['pymk_share_max']:.0%}"),
    ]
    print("Back-of-envelope (assumptions in estimate_capacity):")
    for label, value in rows:
        print(f"  {label:<36}{value.format(**e):>16}")
    print(
        "Logs a day: candidate sets {log_candidates}, features {log_features},\n"
        "  impressions {log_impressions}, propensities {log_propensities}, "
        "invites {log_invites},\n  responses {log_responses}, dismissals "
        "{log_dismissals}, graph changes {log_graph_changes};\n"
        "  engagement counters, {engage_pairs:.1e} pairs of the last 30 days: "
        "{engage_counters}".format(**e)
    )
    print(f"Latency budget, {e['budget_ms']:.0f} ms server-side p99:")
    for key, ms in e.items():
        if key.startswith("stage:"):
            print(f"  {key[6:]:<40}{ms:>5.0f} ms")
    print(f"  {'headroom':<40}{e['headroom_ms']:>5.0f} ms")
    print(f"  each of 4 sources must meet its share at p{e['source_percentile']:.2f},")
    print(f"  each of 16 feature shards at p{e['shard_percentile']:.2f}")


SHORT = {  # scorer -> the column label the tables use
    "common neighbours": "CN",
    "Adamic-Adar": "AA",
    "personalised PageRank": "PPR",
    "SVD embedding, rank 16": "SVD",
    "profile: same community": "profile",
}


def seed_values(runs: tuple[pe.SeedResult, ...], field: str, *keys: str) -> list[float]:
    """One number per seed: getattr(run, field)[keys[0]][keys[1]]..."""
    values = []
    for run in runs:
        value = getattr(run, field)
        for key in keys:
            value = value[key]
        values.append(float(value))
    return values


def mean(runs: tuple[pe.SeedResult, ...], field: str, *keys: str) -> float:
    """Mean over seeds of one result."""
    return float(np.mean(seed_values(runs, field, *keys)))


FULL = {short: name for name, short in SHORT.items()}
COMPARISONS = (  # world, scorer a, scorer b, segment: a - b on recall@10
    ("main", "AA", "CN", "all"),
    ("main", "PPR", "AA", "all"),
    ("main", "SVD", "AA", "all"),
    ("main", "profile", "AA", "0 friends"),
    ("main", "profile", "AA", "3+ friends"),
    ("closure along any path", "AA", "CN", "all"),
    ("no triadic closure", "SVD", "AA", "all"),
    ("no triadic closure", "SVD", "PPR", "all"),
    ("no closure, community 0.7", "SVD", "AA", "all"),
)


def interval(a: list[float], b: list[float]) -> str:
    """A paired comparison over seeds: mean [95% interval], and tie or not."""
    mean_, low, high = paired_interval(np.subtract(a, b))
    verdict = " tie" if is_tie(low, high) else ""
    return f"{mean_:+.3f} [{low:+.3f}, {high:+.3f}]{verdict}"


def print_feedback_sweep(runs: tuple[pe.SeedResult, ...]) -> None:
    """The feedback loop at each acceptance rate: induced share, two verdicts."""
    incumbent, top = SHORT[pe.INCUMBENT], pe.ACCEPT_STRANGER
    print(
        f"\nFeedback loop: the live PYMK ({incumbent}) showed its top "
        f"{pe.SHOWN_BY_INCUMBENT}; each shown stranger\naccepts with an assumed "
        "probability; logged = organic + induced friendships."
    )
    header = "".join(f"{SHORT[name]:>7}" for name in pe.GRAPH_SCORERS)
    print(f"{'recall@10 graded on':<26}{header}")
    for label, field, keys in (
        ("organic friendships", "recall", ("all",)),
        (f"logged, {top:.0%} accept", "logged_recall", (top,)),
    ):
        cells = []
        for name in pe.GRAPH_SCORERS:
            keys_ = (name, *keys) if field == "recall" else (*keys, name)
            cells.append(f"{mean(runs, field, *keys_):>7.3f}")
        print(f"{label:<26}" + "".join(cells))
    columns = [f"{x} - {incumbent} on logged" for x in ("AA", "PPR")]
    print(f"{'accept':>6}  {'induced':>7}  {columns[0]:<28}{columns[1]}")
    for accept in pe.ACCEPT_SWEEP:
        cells = [
            interval(
                seed_values(runs, "logged_recall", accept, challenger),
                seed_values(runs, "logged_recall", accept, pe.INCUMBENT),
            )
            for challenger in ("Adamic-Adar", "personalised PageRank")
        ]
        induced = mean(runs, "induced_share", accept)
        print(f"{accept:>6.0%}  {induced:>7.1%}  {cells[0]:<28}{cells[1]}")


# --8<-- [start:demo]
def main() -> None:
    print_estimate()
    worlds = {name: pe.run_world(name) for name in pe.WORLDS}
    runs, first, n = worlds["main"], worlds["main"][0], len(pe.SEEDS)
    print(
        f"\nMiniature: {n} seeds, {pe.USERS_PER_SEED} users each; seed 0 has "
        f"{first.n_people:,} people at the\nsnapshot (round {pe.SNAPSHOT} of 39), "
        f"{first.n_edges:,} friendships, {first.n_future:,} formed later between them."
    )
    print(
        "Scorers: CN common neighbours, AA Adamic-Adar, PPR personalised PageRank,\n"
        "  SVD rank-16 SVD of the adjacency, profile same stated community by degree"
    )
    segments = " / ".join(pe.SEGMENTS).replace(" friends", "")
    print(f"Users by friends at the snapshot ({segments} friends):")
    for label, field, fmt in (
        ("share of users", "segment_share", "{:.1%}"),
        ("future friends per user", "future_per_user", "{:.1f}"),
        ("recall@10 of a random order", "chance_recall", "{:.4f}"),
    ):
        cells = (fmt.format(mean(runs, field, s)) for s in pe.SEGMENTS)
        print(f"  {label:<30}" + " / ".join(cells))

    print(f"\nMain world, the same candidates for every scorer, mean of {n} seeds")
    print("scorer    recall@10: all, 0 / 1-2 / 3+ friends     prec@10: 0 / 1-2 / 3+")
    for name in pe.SCORERS:
        recall = (f"{mean(runs, 'recall', name, s):.3f}" for s in pe.SEGMENTS)
        precision = (f"{mean(runs, 'precision', name, s):.3f}" for s in pe.SEGMENTS)
        print(
            f"{SHORT[name]:<8}{mean(runs, 'recall', name, 'all'):>7.3f}, "
            + " / ".join(recall)
            + "     "
            + " / ".join(precision)
        )
    header = "".join(f"{SHORT[name]:>7}" for name in pe.GRAPH_SCORERS)
    print(f"{'recall@10 by world':<26} 2-hop{header}")
    for world, world_runs in worlds.items():
        cells = [
            f"{mean(world_runs, 'recall', name, 'all'):>7.3f}"
            if name in pe.WORLDS[world][1]
            else f"{'-':>7}"
            for name in pe.GRAPH_SCORERS
        ]
        within = mean(world_runs, "within_two_hops")
        print(f"{world:<26}{within:>6.3f}" + "".join(cells))
    print("  (2-hop: share of a user's future friends who are friends of friends)")

    print(f"\nPaired differences over {n} seeds, recall@10: mean [95% interval]")
    current = None
    for world, a, b, segment in COMPARISONS:
        heading = world + (" world" if segment == "all" else " world, by friends")
        if heading != current:
            print(f"{heading}:")
            current = heading
        label = f"{a} - {b}" + ("" if segment == "all" else f", {segment}")
        values = (
            seed_values(worlds[world], "recall", FULL[x], segment) for x in (a, b)
        )
        print(f"  {label:<32}{interval(*values)}")

    print_feedback_sweep(runs)

    print(
        f"\nFreshness: Adamic-Adar on the graph of round {pe.STALE}, "
        f"{pe.SNAPSHOT - pe.STALE} rounds stale;\n"
        f"{mean(runs, 'stale_recall', 'joined since'):.1%} of the users joined since. "
        "recall@10, stale - fresh:"
    )
    for label, suffix in (
        ("all users", ""),
        ("users who joined since", ", joined since"),
    ):
        old, fresh = (
            seed_values(runs, "stale_recall", name + suffix)
            for name in ("stale", "fresh")
        )
        print(f"  {label:<32}{interval(old, fresh)}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
