"""Query autocomplete and smart compose in miniature, and their back-of-envelope.

Part 1 ranks completions from a prefix index over a synthetic query log (see
``autocomplete_index``): all-time counts, time-decayed counts, and all-time
counts with the recent rate on bursts, graded by MRR@8 per prefix length and
keystrokes saved on held-out sessions drawn from the world's true popularity,
with and without trends (the ablation). It counts the entries each keystroke
reads with and without the top-k cache. Part 2 trains a trigram compose model
(see ``autocomplete_compose``) and sweeps its confidence threshold. Five seeds,
paired differences with a 95% interval.

Run it: ``python -m snippets.problems.autocomplete``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from snippets.common.estimation import (
    SECONDS_PER_DAY,
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval
from snippets.framework.cost import CPU, GPU, HOURS_PER_MONTH
from snippets.problems import autocomplete_compose as compose
from snippets.problems import autocomplete_index as qac

SEEDS = range(5)
SESSIONS = 3_000
EDGE_PREFIX = 3  # the edge caches every prefix of up to this many characters
ALL_TIME, DECAYED, BURSTS = METHODS = (qac.ALL_TIME, qac.DECAYED, qac.BURSTS)


# --8<-- [start:estimate]
def estimate_capacity(
    short_prefix_shares: Mapping[int, float], keystrokes_per_search: float
) -> dict:
    """Keystroke requests, the index's memory, cores, logs and the latency budget.

    short_prefix_shares: share of requests whose prefix has 1, 2, ... characters,
    for the prefixes the edge caches; keystrokes_per_search: characters typed
    before a pick or submit. Both from the same typing model (the miniature's).
    """
    shares = _check_shares(short_prefix_shares)
    if not isinstance(keystrokes_per_search, int | float) or keystrokes_per_search < 1:
        raise ValueError("keystrokes_per_search must be a number >= 1")
    dau, searches_per_user = 400e6, 5  # assumed
    sent_share = 0.7  # a 100 ms debounce drops 30% of keystrokes, assumed
    keystrokes_per_s = peak_qps(dau, searches_per_user * keystrokes_per_search, 2.0)
    requests_per_s = keystrokes_per_s * sent_share
    edge_hit_rate = sum(shares.values())  # every short prefix is cached
    origin_per_s = requests_per_s * (1 - edge_hit_rate)
    # Origin CPU: RPC, trie walk, filters, re-rank of the node's cached top 20
    # with the user's features: an assumed 0.2 ms of a core, run at 50% busy.
    origin_ms, busy = 0.2, 0.5
    origin_cores = servers_needed(origin_per_s * origin_ms / 1e3, 1.0, busy)
    core_dollars = CPU.dollars_per_hour / 16  # c7i.8xlarge: 16 physical cores
    # The index: 100M queries that pass the filters, 20 characters on average.
    # A radix trie over n strings has at most 2n - 1 nodes; each holds 16 B of
    # structure (label offset and length, first child, next sibling) and the
    # ids (4 B) of its top 20 completions, the list the re-ranker starts from.
    n_indexed, top_cached = 100e6, 20
    nodes = 2 * n_indexed
    index_parts = {
        "strings, 20 B each": storage_bytes(n_indexed, 20),
        "scores, 4 B each": storage_bytes(n_indexed, 4),
        "trie structure, 16 B a node": storage_bytes(nodes, 16),
        f"top-{top_cached} cache, 4 B an id": storage_bytes(nodes, 4 * top_cached),
    }
    # Without the per-node cache a request scans every completion of its prefix:
    # assumed 1/20 of the index for 1 character, 1/20 of that per extra one, at
    # 1 ns an entry (a 4-byte score streamed from memory: bandwidth-bound).
    scan_ms = {n: n_indexed / 20**n * 1e-9 * 1e3 for n in shares}
    # A cold edge (a deploy, a new region) sends every request to the origin.
    cold_cached = servers_needed(requests_per_s * origin_ms / 1e3, 1.0, busy)
    cold_scan = servers_needed(
        requests_per_s * sum(shares[n] * (origin_ms + scan_ms[n]) / 1e3 for n in shares)
        + requests_per_s * (1 - edge_hit_rate) * origin_ms / 1e3,
        1.0,
        busy,
    )
    # Compose: 300M daily writers x 4 messages x 60 words, a request at each
    # word boundary; a 20M-parameter transformer (6 layers, width 512) keeps each
    # draft's attention cache and runs ~8 tokens a request (2 new, 6 generated):
    # 2 FLOPs a weight a token. The cache, not the FLOPs, sets the fleet: drafts
    # stay open an assumed 2 minutes, holding ~60 tokens of K and V in FP16.
    compose_per_s = peak_qps(300e6, 4 * 60, peak_to_average=2.0)
    compose_flops = compose_per_s * 2 * 20e6 * 8
    gpus_flops = servers_needed(compose_flops, GPU.peak_flops * GPU.efficiency)
    open_drafts = peak_qps(300e6, 4, peak_to_average=2.0) * 120
    state_bytes = open_drafts * 2 * 6 * 512 * 60 * 2  # K and V, layers, width
    gpus_memory = servers_needed(state_bytes, GPU.memory_bytes, 0.8)
    # Without the cache each request re-reads its prefix: ~40 tokens + 8.
    gpus_recompute = servers_needed(
        compose_per_s * 2 * 20e6 * 48, GPU.peak_flops * GPU.efficiency
    )
    gpus = min(max(gpus_flops, gpus_memory), gpus_recompute)
    ngram_cores = servers_needed(compose_per_s * 20e-6, 1.0, busy)  # 20 us each
    searches_per_day = dau * searches_per_user
    stages_ms = {  # allocations of the p99, request sent to suggestions drawn
        "client <-> edge round trip": 40,
        "edge cache lookup": 2,
        "edge <-> origin round trip (misses)": 15,
        "trie lookup and filters": 3,
        "personalised re-rank of 20": 5,
        "render": 10,
    }
    month = HOURS_PER_MONTH
    return {
        "searches_per_day": searches_per_day,
        "keystrokes_per_search": keystrokes_per_search,
        "keystrokes_per_s": keystrokes_per_s,
        "requests_per_s": requests_per_s,
        "edge_hit_rate": edge_hit_rate,
        "edge_entries": sum(37**n for n in shares),  # a-z, 0-9, space
        "origin_per_s": origin_per_s,
        "origin_cores": origin_cores,
        "origin_dollars_month": origin_cores * core_dollars * month,
        "core_dollars_hour": core_dollars,
        **{f"index:{k}": human_bytes(v) for k, v in index_parts.items()},
        "index_replica": human_bytes(sum(index_parts.values())),
        "scan_entries_1": n_indexed / 20,
        "scan_ms_1": scan_ms[1],
        "cold_cached_cores": cold_cached,
        "cold_scan_cores": cold_scan,
        "search_log_day": human_bytes(storage_bytes(searches_per_day, 200)),
        "suggest_log_day": human_bytes(
            storage_bytes(requests_per_s / 2 * SECONDS_PER_DAY, 100)
        ),
        "compose_per_s": compose_per_s,
        "compose_gpus_flops": gpus_flops,
        "compose_open_drafts": open_drafts,
        "compose_state": human_bytes(state_bytes),
        "compose_gpus_memory": gpus_memory,
        "compose_gpus_recompute": gpus_recompute,
        "compose_gpus": gpus,
        "compose_gpu_dollars_month": gpus * GPU.dollars_per_hour * month,
        "ngram_cores": ngram_cores,
        "ngram_dollars_month": ngram_cores * core_dollars * month,
        "compose_log_day": human_bytes(storage_bytes(300e6 * 4 * 60 * 0.15, 40)),
        **{f"stage:{k}": v for k, v in stages_ms.items()},
        "budget_ms": 100.0,
        "headroom_ms": remaining_budget_ms(100.0, stages_ms),
    }
    # --8<-- [end:estimate]


def _check_shares(shares: Mapping[int, float]) -> dict[int, float]:
    if not isinstance(shares, Mapping) or not shares:
        raise TypeError("short_prefix_shares must map prefix length -> share")
    if sorted(shares) != list(range(1, len(shares) + 1)):
        raise ValueError("short_prefix_shares must cover lengths 1, 2, ... n")
    if any(not 0 <= v <= 1 for v in shares.values()) or sum(shares.values()) >= 1:
        raise ValueError("shares must be in [0, 1] and sum to less than 1")
    return {n: float(v) for n, v in shares.items()}


def run_autocomplete(seed: int) -> dict:
    """One world: every ranker on the same sessions, with and without trends."""
    log = qac.make_query_log(seed)
    out: dict = {"events": len(log.query), "queries": len(log.queries)}
    for world, world_log in (("trends", log), ("no trends", qac.without_trends(log))):
        eligible = qac.suggestible(world_log)
        sessions = qac.held_out_sessions(world_log, SESSIONS, seed)
        scores = qac.popularity_scores(world_log)
        indexes = {}
        for method in METHODS:
            if world != "trends" and np.array_equal(
                scores[method], scores[ALL_TIME] / qac.HOURS
            ):  # no burst: the all-time order exactly, so the same index and grades
                indexes[method], out[world, method] = (
                    indexes[ALL_TIME],
                    out[world, ALL_TIME],
                )
                continue
            index = qac.build_prefix_index(log.queries, scores[method], eligible)
            indexes[method] = index
            out[world, method] = qac.evaluate(
                world_log, index, sessions, requests=method == BURSTS
            )
        if world == "trends":
            all_time_index, all_time_eligible = indexes[ALL_TIME], eligible
            out["indexed"] = int(eligible.sum())
            out["covered"] = sessions[eligible].sum() / SESSIONS
            out["trending share"] = sessions[log.trending].sum() / SESSIONS
            out["private by count"] = int(
                (qac.suggestible(log, count_only=True) & log.private).sum()
            )
            out["private by users"] = int((eligible & log.private).sum())
            requests, index = out[world, BURSTS]["requests"], indexes[BURSTS]
            out["work"] = qac.keystroke_work(
                requests, index, qac.SortedScan(log.queries, eligible)
            )
            out["shape"] = qac.trie_shape(
                index, [log.queries[q] for q in np.flatnonzero(eligible)]
            )
            for n in range(1, EDGE_PREFIX + 1):
                out["share", n] = qac.request_share(
                    requests, lambda p, n=n: len(p) == n
                )
            passing = qac.suggestible(log, blocklist=False) & log.blocked
            out["blocked"] = int(log.blocked.sum())
            for half_life in qac.HALF_LIVES_H:  # the decayed count's half-life
                if half_life == qac.HALF_LIFE_H:
                    out["half-life", half_life] = out[world, DECAYED]
                    continue
                decayed = qac.popularity_scores(log, half_life)[DECAYED]
                out["half-life", half_life] = qac.evaluate(
                    log,
                    qac.build_prefix_index(log.queries, decayed, eligible),
                    sessions,
                )
            out["blocked exposure"] = qac.blocked_exposure(
                requests, index, log.queries, scores[BURSTS], np.flatnonzero(passing)
            )
    ended = qac.with_ended_trends(log)  # the trends ended 2 days before the end
    sessions = qac.held_out_sessions(ended, SESSIONS, seed)
    # The same searches and users, shifted in time: the same all-time index.
    decayed = qac.popularity_scores(ended)[DECAYED]
    for method, index in (
        (ALL_TIME, all_time_index),
        (DECAYED, qac.build_prefix_index(log.queries, decayed, all_time_eligible)),
    ):
        out["ended", method] = qac.evaluate(ended, index, sessions)
    return out


def run_compose(seed: int) -> dict:
    """One draw of the language: the trigram model's and the oracle's curves."""
    train = compose.make_corpus(1_000 + seed, 1_500)
    test = compose.make_corpus(2_000 + seed, 150)
    model = compose.TrigramModel(train.messages)
    chains, probs = compose.model_chains(model, test.messages)
    oracle, oracle_probs = compose.oracle_chains(test, test.messages)
    return {
        "train words": sum(map(len, train.messages)),
        "test words": sum(map(len, test.messages)),
        "trigram": compose.trigger_curve(chains, probs, test.messages),
        "reference": compose.trigger_curve(oracle, oracle_probs, test.messages),
    }


def _interval(values) -> str:
    mean, low, high = paired_interval(values)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _paired_line(label: str, differences, digits: int = 3) -> str:
    mean, low, high = paired_interval(differences)
    tie = "  tie" if is_tie(low, high) else ""
    f = f"+.{digits}f"
    return f"  {label:<38}{mean:{f}} [{low:{f}}, {high:{f}}]{tie}"


def _span(values, fmt: str = "{:,}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if low == high else f"{fmt.format(low)}-{fmt.format(high)}"


def print_estimate(est: dict) -> None:
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(f"  searches a day                {est['searches_per_day']:>16,.0f}")
    print(f"  keystrokes a search (miniature) {est['keystrokes_per_search']:>14.1f}")
    print(f"  keystrokes/s, peak            {est['keystrokes_per_s']:>16,.0f}")
    print(f"  requests/s after the debounce {est['requests_per_s']:>16,.0f}")
    print(
        f"  edge hit rate (<= {EDGE_PREFIX} characters) {est['edge_hit_rate']:>14.1%}"
    )
    print(f"    edge entries a locale       {est['edge_entries']:>16,}")
    print(f"  origin requests/s             {est['origin_per_s']:>16,.0f}")
    print(f"    cores at 0.2 ms, 50% busy   {est['origin_cores']:>16,}")
    print(
        f"    dollars a month at ${est['core_dollars_hour']:.3f}/core-h "
        f"{est['origin_dollars_month']:>10,.0f}"
    )
    print("  index, 100M queries, radix trie of <= 2n nodes, one replica, at most:")
    for key, value in est.items():
        if key.startswith("index:"):
            print(f"    {key[6:]:<28}{value:>16}")
    print(f"    total                       {est['index_replica']:>16}")
    print(
        f"  no top-k cache: a 1-char prefix scans {est['scan_entries_1']:,.0f} "
        f"entries, {est['scan_ms_1']:.1f} ms"
    )
    print("  cold edge, every request at the origin, cores:")
    print(f"    cached top 20 at every node {est['cold_cached_cores']:>16,}")
    print(f"    scanning completions        {est['cold_scan_cores']:>16,}")
    print(f"  search log a day (200 B)      {est['search_log_day']:>16}")
    print(f"  suggestion log a day (100 B)  {est['suggest_log_day']:>16}")
    print(f"  compose requests/s, peak      {est['compose_per_s']:>16,.0f}")
    print("    L4 GPUs, 20M-param model:")
    print(f"      FLOPs, draft state cached {est['compose_gpus_flops']:>16,}")
    print(
        f"      memory, {est['compose_open_drafts'] / 1e6:.1f}M open drafts "
        f"({est['compose_state']}) {est['compose_gpus_memory']:>6,}"
    )
    print(f"      FLOPs, prefix recomputed  {est['compose_gpus_recompute']:>16,}")
    print(f"      fleet, the cheaper plan   {est['compose_gpus']:>16,}")
    print(f"      dollars a month           {est['compose_gpu_dollars_month']:>16,.0f}")
    print(f"    or trigram cores, 20 us     {est['ngram_cores']:>16,}")
    print(f"      dollars a month           {est['ngram_dollars_month']:>16,.0f}")
    print(f"  compose event log a day       {est['compose_log_day']:>16}")
    print(f"  latency budget {est['budget_ms']:.0f} ms (p99, request sent to drawn):")
    for key, value in est.items():
        if key.startswith("stage:"):
            print(f"    {key[6:]:<36}{value:>5.0f} ms")
    print(f"    headroom for tail latency           {est['headroom_ms']:>5.0f} ms")


def print_autocomplete(runs: list[dict]) -> list[str]:
    """Print part 1's tables; return its paired-difference lines."""
    print(
        f"\nAutocomplete: {len(runs)} seeds; 30-day logs of "
        f"{_span([r['events'] for r in runs])} searches over "
        f"{runs[0]['queries']:,} queries"
    )
    print(
        f"  (20 trending in the last day, 25 private); {SESSIONS:,} held-out "
        "sessions each"
    )
    print(
        f"Suggestible (>= {qac.MIN_USERS} distinct users, not blocked): "
        f"{_span([r['indexed'] for r in runs])} queries,"
    )
    print(
        f"  the targets of {_span([r['covered'] for r in runs], '{:.1%}')} of "
        f"sessions; trending targets: "
        f"{_span([r['trending share'] for r in runs], '{:.1%}')}"
    )
    print(
        f"Private queries (one user each, 8-40 searches): "
        f"{_span([r['private by count'] for r in runs])} pass a count >= "
        f"{qac.MIN_USERS},"
    )
    print(
        f"  {_span([r['private by users'] for r in runs])} pass "
        f"{qac.MIN_USERS} distinct users"
    )
    lengths = "".join(f"{n:>7}" for n in qac.PREFIX_LENGTHS)
    print(
        f"\nMRR@{qac.K_SHOWN} by prefix length, mean of {len(runs)} seeds"
        f"{lengths}   mean"
    )
    for group in ("all", "trending", "stable"):
        print(f"{group} targets:")
        for method in METHODS:
            cells = [
                np.mean([r["trends", method][f"mrr {group} {n}"] for r in runs])
                for n in (*qac.PREFIX_LENGTHS, "mean")
            ]
            print(f"  {method:<38}" + "".join(f"{c:7.3f}" for c in cells))
    print(f"  (mean: the unweighted average of the {len(qac.PREFIX_LENGTHS)} lengths)")
    print(
        "Decayed count by half-life, MRR@8 mean   "
        + "".join(f"{h:>6.0f} h" for h in qac.HALF_LIVES_H)
    )
    for group in ("trending", "stable"):
        cells = [
            np.mean([r["half-life", h][f"mrr {group} mean"] for r in runs])
            for h in qac.HALF_LIVES_H
        ]
        print(f"  {group + ' targets':<38}" + "".join(f"{c:8.3f}" for c in cells))
    print(
        f"Keystrokes saved (the list read at a keystroke with probability "
        f"{qac.LOOK},\n  then rank r seen with probability 1/r):"
    )
    for method in METHODS:
        saved = np.mean([r["trends", method]["saved share"] for r in runs])
        print(f"  {method:<38}{saved:7.1%}")
    sent = np.mean([r["trends", BURSTS]["requests per session"] for r in runs])
    print(f"Keystrokes typed a search, burst-aware count: {sent:.1f}")
    print("\nEntries read per keystroke request    cached top 8   scan all")
    for n in (1, 2, 3, 4):
        cached = np.mean([r["work"][n][0] for r in runs])
        scanned = np.mean([r["work"][n][1] for r in runs])
        label = f"prefix length {n}" if n < 4 else "prefix length 4+"
        print(f"  {label:<38}{cached:7.1f}{scanned:11.1f}")
    trie = np.mean([r["shape"]["trie nodes"] / r["indexed"] for r in runs])
    radix = np.mean([r["shape"]["radix nodes"] / r["indexed"] for r in runs])
    print(f"Trie nodes per indexed query: {trie:.2f}; radix trie: {radix:.2f}")
    shares = [
        round(float(np.mean([r["share", n] for r in runs])), 3)
        for n in range(1, EDGE_PREFIX + 1)
    ]
    print(
        "Requests by prefix length 1, 2, 3: "
        + ", ".join(f"{v:.1%}" for v in shares)
        + f"; together {sum(shares):.1%}"
    )
    print(
        f"Blocked queries: {_span([r['blocked'] for r in runs])}; unfiltered, "
        "they would show in "
        f"{np.mean([r['blocked exposure'] for r in runs]):.1%} of requests"
    )

    def diff(world, method, key):
        return [r[world, method][key] - r[world, ALL_TIME][key] for r in runs]

    lines = []
    for method in (DECAYED, BURSTS):
        lines.append(f"{method} minus all-time count:")
        lines.append(
            _paired_line("MRR@8, all targets", diff("trends", method, "mrr all mean"))
        )
        lines.append(
            _paired_line(
                "MRR@8, trending targets", diff("trends", method, "mrr trending mean")
            )
        )
        lines.append(
            _paired_line(
                "MRR@8, stable targets", diff("trends", method, "mrr stable mean")
            )
        )
        lines.append(
            _paired_line(
                "keystrokes saved, share of characters",
                diff("trends", method, "saved share"),
            )
        )
    lines.append(f"{BURSTS} minus {DECAYED}:")
    lines.append(
        _paired_line(
            "MRR@8, all targets",
            [
                r["trends", BURSTS]["mrr all mean"]
                - r["trends", DECAYED]["mrr all mean"]
                for r in runs
            ],
        )
    )
    for method in (DECAYED, BURSTS):
        lines.append(f"without trends, {method} minus all-time count:")
        lines.append(
            _paired_line(
                "MRR@8, all targets", diff("no trends", method, "mrr all mean")
            )
        )
    lines.append("trends ended 2 days before the sessions, decayed minus all-time:")
    lines.append(
        _paired_line(
            "MRR@8, all targets",
            [
                r["ended", DECAYED]["mrr all mean"]
                - r["ended", ALL_TIME]["mrr all mean"]
                for r in runs
            ],
        )
    )
    return lines


def print_compose(runs: list[dict]) -> list[str]:
    """Print part 2's curve; return its paired-difference lines."""
    print(
        f"\nSmart compose: {len(runs)} seeds; a trigram model trained on "
        f"{_span([r['train words'] for r in runs])} words,"
    )
    print(
        f"  tested on {_span([r['test words'] for r in runs])} new words; "
        "mean [95% interval] over seeds"
    )
    print(
        "threshold  model        suggest rate          acceptance   "
        "confidence  chars saved"
    )
    for t in compose.THRESHOLDS:
        for model in ("trigram", "reference"):
            cell = [r[model][t] for r in runs]
            print(
                f"  {t:.1f}      {model:<10}"
                f"{_interval([c['suggestion rate'] for c in cell]):>22}"
                f"{_interval([c['acceptance'] for c in cell]):>22}"
                f"{np.mean([c['confidence'] for c in cell]):>8.3f}"
                f"{np.mean([c['saved share'] for c in cell]):>11.1%}"
            )
    low, high = compose.THRESHOLDS[0], compose.THRESHOLDS[-1]

    def change(model, key, a, b):
        return [r[model][b][key] - r[model][a][key] for r in runs]

    lines = [f"trigram, threshold {high} minus {low}:"]
    labels = {
        "suggestion rate": "suggestion rate",
        "acceptance": "acceptance",
        "saved share": "characters saved, share",
    }
    for key, label in labels.items():
        lines.append(_paired_line(label, change("trigram", key, low, high)))
    lines.append("reference minus trigram, threshold 0.6:")
    for key, label in labels.items():
        lines.append(
            _paired_line(
                label,
                [r["reference"][0.6][key] - r["trigram"][0.6][key] for r in runs],
                digits=4,
            )
        )
    return lines


# --8<-- [start:demo]
def main() -> None:
    autocomplete_runs = [run_autocomplete(seed) for seed in SEEDS]
    compose_runs = [run_compose(seed) for seed in SEEDS]
    shares = {  # rounded as printed, so the estimate uses the printed shares
        n: round(float(np.mean([r["share", n] for r in autocomplete_runs])), 3)
        for n in range(1, EDGE_PREFIX + 1)
    }
    typed = round(  # keystrokes a search, from the same typing model
        float(
            np.mean(
                [r["trends", BURSTS]["requests per session"] for r in autocomplete_runs]
            )
        ),
        1,
    )
    print_estimate(estimate_capacity(shares, typed))
    lines = print_autocomplete(autocomplete_runs)
    lines += print_compose(compose_runs)
    print(f"\nPaired differences over the {len(SEEDS)} seeds: mean [95% interval]")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
