"""Event recommendation in miniature: every item is new, so ids cannot carry it.

First the back-of-envelope arithmetic of an Eventbrite- or Meetup-like product.
Then a seeded city (``event_recommendation_world``): users with homes, tastes,
travel tolerances and free time; hosts with a hidden quality; ten weeks of events
that vanish once they happen; registrations drawn from a hidden utility. Trained on
the past, every method (``event_recommendation_models``) ranks the same candidates:
events created after the cut-off, within reach of the user, that no model has seen
a registration for. Popularity (by topic, by host), an item-id collaborative
filter, and a logistic regression over content, context and host features, with
an ablation for each feature family; recall@10 and NDCG@10 over five seeds, paired
95% intervals.

Run it: ``python -m snippets.problems.event_recommendation``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.experimentation import duration_days, sample_size_per_arm
from snippets.problems.event_recommendation_models import (
    content_scores,
    feature_matrix,
    fit_content_model,
    grade,
    item_cf_scores,
    popularity_scores,
    relevant_sets,
    top_k_lists,
    training_rows,
)
from snippets.problems.event_recommendation_world import (
    FEATURE_GROUPS,
    FEATURES,
    RADIUS_KM,
    TEST_CUT,
    TRAIN_CUT,
    WEEKS,
    World,
    point_in_time_features,
    simulate_city,
)

SEEDS = (1, 2, 3, 4, 5)
TOP_K = 10
MAIN = "content + context + host"


# Assumed unit prices; use your provider's. Logs are kept LOG_DAYS for training
# windows of recent weeks and for backfills.
DOLLARS_PER_CORE_HOUR, DOLLARS_PER_GB_RAM_HOUR = 0.05, 0.005
DOLLARS_PER_GB_MONTH_STORED, HOURS_PER_MONTH, LOG_DAYS = 0.02, 730, 90


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Requests, index and stores, logs, cores and dollars per stage, the budget."""
    dau, requests_per_user = 10e6, 3.0  # assumed: home, event page, digest link
    peak = 3.0  # evening peaks; assumed the same for publications and registrations
    qps = peak_qps(dau, requests_per_user, peak_to_average=peak)
    candidates, returned, seen = 1_000, 50, 20  # per request, assumed
    # Assumed catalogue: 200,000 events created a day, listed 30 days on average
    # before they start; an event leaves the index when it starts.
    created_per_day, listed_days, hosts = 200e3, 30, 1e6
    live_events = created_per_day * listed_days
    inserts_per_s = created_per_day / 86_400 * peak
    # Index entry: 64-d float16 content vector (128 B), HNSW layer-0 links
    # (2 x M ids of 4 B, M = 16: 128 B), geo cell, start time, category, price
    # and host id (32 B), event id (8 B). Per-metro graphs hold the same entries.
    index_entry = 64 * 2 + 2 * 16 * 4 + 32 + 8
    # Geo-time index: each live event's id (8 B) in one (cell, day) bucket, and a
    # 16 B header per bucket for an assumed 200,000 populated cells x 30 days.
    geo_time = live_events * 8 + 200e3 * listed_days * 16
    # Started events stay as tombstones until the nightly rebuild: one day of
    # starts (in steady state as many as are created).
    tombstones = created_per_day * index_entry
    index_replica = live_events * index_entry + geo_time + tombstones
    # Friends going, fan-out on write: each registration is pushed to the
    # registrant's friends who opted in (assumed 50 on average), kept while the
    # event is live: 16 B an entry (event id, friend id) plus an assumed 48 B of
    # hash-table overhead (slot, pointers, allocator), 3 replicas.
    registrations_per_day, friends_notified = 2e6, 50
    friends_entries = registrations_per_day * listed_days * friends_notified
    friends_store = storage_bytes(friends_entries, 16 + 48, 3)
    fanout_per_s = registrations_per_day * friends_notified / 86_400 * peak
    # Every log stream: (records a day, bytes a record), assumed.
    digest_users = 50e6  # assumed weekly digest subscribers
    per_day = dau * requests_per_user
    logs = {
        "impressions (20 seen a request)": (per_day * seen, 200),
        "clicks and saves": (per_day, 100),  # one a request on average
        "features as served (50 events)": (per_day * returned, 1_000),
        "candidate sources (1,000 a request)": (per_day * candidates, 12),
        "registrations": (registrations_per_day, 200),
        "cancellations and refunds": (0.1 * registrations_per_day, 200),
        "check-ins": (registrations_per_day, 100),  # at most one a registration
        "follows": (1e6, 100),
        "sales and capacity updates": (registrations_per_day, 100),
        "new events": (created_per_day, 2_000),  # with their text
        "digest sends, opens, clicks": (digest_users / 7 * 3, 500),
    }
    log_bytes = {name: storage_bytes(n, size) for name, (n, size) in logs.items()}

    # CPU per unit of work, assumed: a geo-time lookup and a filtered ANN search
    # 2.5 ms a request; 20 us a key-value read or write; embedding and inserting
    # a new event 55 ms; the GBDT ranker 10 us an event. Cores at most 50% busy.
    def cores(core_seconds_per_second: float) -> int:
        return servers_needed(core_seconds_per_second, 1.0, utilisation=0.5)

    ranker_cores = cores(qps * candidates * 10e-6)
    ranker_hosts = servers_needed(ranker_cores, 16)  # assumed 16 cores a host
    local_features = live_events * 300 + hosts * 200  # event 300 B, host 200 B
    digest_core_hours = digest_users * candidates * 10e-6 / 3_600  # a week
    stored_logs = sum(log_bytes.values()) * LOG_DAYS
    stages = {  # (cores, bytes of RAM), the peak fleet kept all month
        "candidate sources": (cores(qps * 2.5e-3), 3 * index_replica),
        "friends-going store": (cores((qps + fanout_per_s) * 20e-6), friends_store),
        "streaming inserts": (cores(inserts_per_s * 55e-3), 0.0),
        "ranker": (ranker_cores, ranker_hosts * local_features),
    }
    dollars = {
        name: HOURS_PER_MONTH
        * (n * DOLLARS_PER_CORE_HOUR + ram / 1e9 * DOLLARS_PER_GB_RAM_HOUR)
        for name, (n, ram) in stages.items()
    }
    dollars["weekly digest (batch)"] = (
        digest_core_hours * HOURS_PER_MONTH / (7 * 24) * DOLLARS_PER_CORE_HOUR
    )
    dollars[f"logs, {LOG_DAYS} days stored"] = (
        stored_logs / 1e9 * DOLLARS_PER_GB_MONTH_STORED
    )
    # The online test: users per arm to see an assumed 1% relative lift in the
    # share of users who register within the test (assumed 20%); new hosts per
    # arm to see a 5% lift in first events reaching 10 registrations (assumed
    # 30%), at an assumed 3,000 new hosts a day.
    users_per_arm = sample_size_per_arm(0.20, 0.01)
    hosts_per_arm = sample_size_per_arm(0.30, 0.05)
    stages_ms = {  # allocations of the server-side p99; headroom absorbs the tails
        "request, auth, assembly": 15,
        "candidate sources (in parallel)": 40,
        "feature fetch (user row, friends going)": 20,
        "ranker (1,000 events)": 40,
        "re-ranking (host exposure, diversity)": 15,
    }
    budget_ms, sources = 200.0, 4  # geo-time (also trending), ANN, social, follows
    return {
        "peak_qps": qps,
        "scores_per_s": qps * candidates,
        "ranker_cores": ranker_cores,
        "live_events": live_events,
        "index_entry_bytes": index_entry,
        "index_vectors": human_bytes(live_events * index_entry),
        "geo_time_index": human_bytes(geo_time),
        "tombstones": human_bytes(tombstones),
        "index_replicated": human_bytes(3 * index_replica),
        "inserts_per_s_peak": inserts_per_s,
        "fanout_per_s_peak": fanout_per_s,
        "inserts_vs_fanout": fanout_per_s / inserts_per_s,
        "friends_going_raw": human_bytes(storage_bytes(friends_entries, 16, 3)),
        "friends_going_store": human_bytes(friends_store),
        "local_features": human_bytes(local_features),
        **{f"log:{name}": human_bytes(b) for name, b in log_bytes.items()},
        "logs_per_day": human_bytes(sum(log_bytes.values())),
        "logs_stored": human_bytes(stored_logs),
        "digest_core_hours": digest_core_hours,
        **{f"cores:{name}": n for name, (n, _) in stages.items()},
        **{f"ram:{name}": human_bytes(ram) for name, (_, ram) in stages.items()},
        **{f"dollars:{name}": d for name, d in dollars.items()},
        "dollars_total": sum(dollars.values()),
        "ab_users_per_arm": users_per_arm,
        "ab_days": duration_days(users_per_arm, 2, int(dau), 1.0),
        "ab_hosts_per_arm": hosts_per_arm,
        "ab_host_days": duration_days(hosts_per_arm, 2, 3_000, 1.0),
        "budget_ms": budget_ms,
        "headroom_ms": remaining_budget_ms(budget_ms, stages_ms),
        "source_percentile": 100 * 0.99 ** (1 / sources),
        "sources": sources,
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


# --8<-- [start:experiment]
ABLATIONS = {  # row -> the features it removes: each family, then the ratio alone
    **{f"  without {group}": names for group, names in FEATURE_GROUPS.items()},
    "  without relative distance": ("distance over usual",),
}
USER_PROFILES = ("distance over usual", "topic share", "slot share", "user activity")
LEAKS = {  # row -> the features taken from the leaky copy (built from weeks 0-7)
    "  trained on leaky features": FEATURES,
    "    leaky host features only": FEATURE_GROUPS["host history"],
    "    leaky user profiles only": USER_PROFILES,
}
CONTENT_ALONE = "content alone (topic share)"


def run_seed(seed: int) -> dict:
    """One city: train on the past, rank the new events, grade every method."""
    world = simulate_city(seed)
    # --8<-- [start:split]
    week = world.event_week
    label_events = np.flatnonzero((week >= TRAIN_CUT) & (week < TEST_CUT))
    new_events = np.flatnonzero(week >= TEST_CUT)  # no model sees their labels
    # Training rows: labels from weeks 6-7, features from weeks 0-5 only.
    features = point_in_time_features(world, label_events, history_end=TRAIN_CUT)
    train_x, train_y = training_rows(world, features, label_events, seed)
    # The leaky copy builds the same rows' history features from weeks 0-7,
    # which contain the rows' own labels.
    leaky = point_in_time_features(world, label_events, history_end=TEST_CUT)
    models = {
        CONTENT_ALONE: fit_content_model(
            train_x, train_y, [f for f in FEATURES if f != "topic share"]
        ),
        MAIN: fit_content_model(train_x, train_y),
    }
    for name, dropped in ABLATIONS.items():  # remove a family, refit
        models[name] = fit_content_model(train_x, train_y, dropped)
    for name, leaked in LEAKS.items():  # same rows, some features leaky
        mixed = {f: (leaky if f in leaked else features)[f] for f in FEATURES}
        leaky_x, _ = training_rows(world, mixed, label_events, seed)
        models[name] = fit_content_model(leaky_x, train_y)
    # Serving: the new events' features from everything before week 8.
    test_features = point_in_time_features(world, new_events, history_end=TEST_CUT)
    test_x = feature_matrix(test_features)
    # --8<-- [end:split]
    past = np.flatnonzero(week < TEST_CUT)
    cf = item_cf_scores(world.registered[:, past], past, new_events)
    rng = np.random.default_rng(seed)
    shape = (world.n_users, new_events.size)
    scores = {
        "random": np.zeros(shape),  # every tie goes to the random tiebreak
        "popularity by topic": popularity_scores(world, new_events, TEST_CUT, "topic"),
        "popularity by host": popularity_scores(world, new_events, TEST_CUT, "host"),
        "item-id CF": cf,  # no new event has a column: every score is 0
        **{name: content_scores(m, test_x) for name, m in models.items()},
    }
    candidate = world.distance[:, new_events] <= RADIUS_KM
    relevant = world.registered[:, new_events] & candidate
    tiebreak = rng.random(shape)
    new_host = test_features["new host"][0] == 1  # per event
    is_new = new_host.tolist()  # plain lists: ten lookups a user, no array overhead
    judged = relevant_sets(relevant)
    judged_new = relevant_sets(relevant & new_host)
    judged_old = relevant_sets(relevant & ~new_host)
    graded = {}
    for name, score in scores.items():
        top = top_k_lists(score, candidate, tiebreak, TOP_K)
        graded[name] = {
            **grade(top, judged, TOP_K),
            "new-host recall": grade(top, judged_new, TOP_K, False)["recall"],
            "new-host share": float(
                np.mean([sum(is_new[j] for j in top[u]) / len(top[u]) for u in judged])
            ),
            "old-host recall": grade(top, judged_old, TOP_K, False)["recall"],
        }
    return {
        "graded": graded,
        "warm": warm_protocol(world, past, seed),
        "users": len(judged),
        "users_new_host": len(judged_new),
        "new_events": new_events.size,
        "events": world.event_week.size,
        "city": (world.n_users, world.host_first_week.size),
        "candidates": float(candidate.sum(axis=1).mean()),
        "registrations": int(relevant.sum()),
        "new_host_events": int(new_host.sum()),
        "new_host_registrations": float(relevant[:, new_host].sum() / relevant.sum()),
        "train_rows": train_y.size,
        "train_positives": int(train_y.sum()),
    }


def warm_protocol(world: World, past: np.ndarray, seed: int) -> dict:
    """A random split of past registrations: the protocol that flatters ids."""
    rng = np.random.default_rng(seed + 10_000)
    registered = world.registered[:, past]
    held_out = registered & (rng.random(registered.shape) < 0.2)
    seen = registered & ~held_out
    candidate = (world.distance[:, past] <= RADIUS_KM) & ~seen
    judged = relevant_sets(held_out & candidate)
    tiebreak = rng.random(registered.shape)
    scores = {
        "random": np.zeros(registered.shape),
        "popularity by event id": np.broadcast_to(
            seen.sum(axis=0).astype(float), registered.shape
        ),
        "item-id CF": item_cf_scores(seen, past, past),
    }
    return {
        name: grade(top_k_lists(s, candidate, tiebreak, TOP_K), judged, TOP_K)
        for name, s in scores.items()
    }


def run_experiment(seeds: Sequence[int] = SEEDS) -> dict:
    """Every seed's grades; the comparisons pair them by seed."""
    if len(seeds) < 2:
        raise ValueError("need at least two seeds for an interval")
    with threadpool_limits(limits=1):  # small matrices: threads cost more than they buy
        runs = [run_seed(seed) for seed in seeds]
    return {"seeds": len(seeds), "runs": runs}


def compare(out: dict, a: str, b: str, metric: str, protocol: str = "graded"):
    """Method a minus method b, paired by seed: (mean, low, high) of a 95% interval."""
    return paired_interval(
        [run[protocol][a][metric] - run[protocol][b][metric] for run in out["runs"]]
    )
    # --8<-- [end:experiment]


# --8<-- [start:demo]
COMPARISONS = (  # (a, b, protocol, metrics): a minus b, paired by seed
    (MAIN, "popularity by host", "graded",
     ("recall", "ndcg", "new-host recall", "new-host share")),
    (MAIN, "random", "graded", ("recall", "ndcg")),  # item-id CF ranks as random
    (MAIN, CONTENT_ALONE, "graded", ("recall", "ndcg")),
    *((MAIN, name, "graded", ("recall", "ndcg", "new-host recall", "old-host recall"))
      for name in ABLATIONS),
    *((MAIN, name, "graded", ("recall",)) for name in LEAKS),
    ("item-id CF", "random", "warm", ("recall",)),
    ("item-id CF", "popularity by event id", "warm", ("recall",)),
)  # fmt: skip
METRIC_NAMES = {
    "recall": "recall@10",
    "ndcg": "NDCG@10",
    "new-host recall": "recall@10, new hosts",
    "new-host share": "new hosts' share of top 10",
    "old-host recall": "recall@10, other hosts",
}


def print_estimate() -> None:
    est = estimate_capacity()
    rows = {
        "peak requests per second": f"{est['peak_qps']:,.0f}",
        "events scored per second": f"{est['scores_per_s']:,.0f}",
        "ranker cores, 10 us a score, 50% busy": f"{est['ranker_cores']:,}",
        "live events (200,000 a day, 30 days)": f"{est['live_events']:,.0f}",
        "index entry (vector, HNSW links, attrs)": f"{est['index_entry_bytes']} B",
        "HNSW entries, one replica": est["index_vectors"],
        "  geo-time index (postings, buckets)": est["geo_time_index"],
        "  a day of tombstones until the rebuild": est["tombstones"],
        "event indexes, 3 replicas": est["index_replicated"],
        "event and host features per ranker": est["local_features"],
        "new events per second, peak": f"{est['inserts_per_s_peak']:.1f}",
        "friends-going writes per second, peak": f"{est['fanout_per_s_peak']:,.0f}",
        "  writes per new event": f"{est['inserts_vs_fanout']:,.0f}",
        "friends-going entries, 3 replicas": est["friends_going_raw"],
        "  with 48 B overhead an entry": est["friends_going_store"],
        "weekly digest, 50M users x 1,000": f"{est['digest_core_hours']:,.0f} core-h",
    }
    print("Back-of-envelope (assumptions in estimate_capacity):")
    for label, value in rows.items():
        print(f"  {label:<40} {value:>13}")
    print(f"  logs per day ({est['logs_per_day']}, {LOG_DAYS} days: "
          f"{est['logs_stored']}):")  # fmt: skip
    for key, value in est.items():
        if key.startswith("log:"):
            print(f"    {key[4:]:<38} {value:>13}")
    print(f"  a month at ${DOLLARS_PER_CORE_HOUR} a core-hour, "
          f"${DOLLARS_PER_GB_RAM_HOUR} a GB-hour of RAM,")  # fmt: skip
    print(f"  ${DOLLARS_PER_GB_MONTH_STORED} a GB-month stored (all assumed):")
    print(f"    {'stage':<26} {'cores':>6} {'RAM':>10} {'$ a month':>11}")
    for key, dollars in est.items():
        if key.startswith("dollars:"):
            name = key[8:]
            n_cores = est.get(f"cores:{name}", "-")
            ram = est.get(f"ram:{name}", "-")
            ram = "-" if ram == "0.0 B" else ram
            print(f"    {name:<26} {n_cores:>6} {ram:>10} {dollars:>11,.0f}")
    print(f"    {'total':<26} {'':>6} {'':>10} {est['dollars_total']:>11,.0f}")
    print("  online test, two-sided 5% test at 80% power:")
    print(f"    users per arm, 1% lift on 20% registering {est['ab_users_per_arm']:>9,}"
          f"  ({est['ab_days']} days)")  # fmt: skip
    print(f"    new hosts per arm, 5% lift on 30%         {est['ab_hosts_per_arm']:>9,}"
          f"  ({est['ab_host_days']} days)")  # fmt: skip
    print(f"  latency budget {est['budget_ms']:.0f} ms (server-side p99), allocated:")
    for key, value in est.items():
        if key.startswith("stage:"):
            print(f"    {key[6:]:<41} {value:>6.0f} ms")
    print(f"    {'headroom for tail latency':<41} {est['headroom_ms']:>6.0f} ms")
    print(
        f"  each of {est['sources']} parallel sources must meet its 40 ms at "
        f"p{est['source_percentile']:.2f}"
    )


def span(values: Sequence[float], fmt: str = ",.0f") -> str:
    low, high = min(values), max(values)
    return f"{low:{fmt}}" if low == high else f"{low:{fmt}}-{high:{fmt}}"


def print_experiment(out: dict) -> None:
    runs = out["runs"]

    def mean(protocol: str, name: str, metric: str) -> float:
        return float(np.mean([r[protocol][name][metric] for r in runs]))

    def stat(key: str) -> list:
        return [r[key] for r in runs]

    users, hosts = runs[0]["city"]
    print(f"\n{out['seeds']} seeds; each city has {users:,} users, {hosts} hosts and "
          f"{runs[0]['events']} events over {WEEKS} weeks.")  # fmt: skip
    print(f"Training rows: labels from weeks {TRAIN_CUT}-{TEST_CUT - 1}, features "
          f"from weeks 0-{TRAIN_CUT - 1}:")  # fmt: skip
    print(f"  {span(stat('train_rows'))} rows, {span(stat('train_positives'))} "
          "of them registrations.")  # fmt: skip
    print(f"Test: the {runs[0]['new_events']} events of weeks {TEST_CUT}-{WEEKS - 1}, "
          "created after training;")  # fmt: skip
    print(
        f"  {np.mean(stat('candidates')):.1f} candidates a user within "
        f"{RADIUS_KM:.0f} km; {span(stat('users'))} users with a registration."
    )
    new_share = 100 * np.mean(stat("new_host_registrations"))
    print(f"New hosts (no event before week {TEST_CUT}): "
          f"{span(stat('new_host_events'))} events a city,")  # fmt: skip
    print(f"  {new_share:.1f}% of the registrations.")
    print(f"\nNew events, mean of {out['seeds']} seeds       all events  "
          "new hosts' events   other hosts")  # fmt: skip
    print(f"{'':<29} recall@10 NDCG@10  recall@10 top-10 share  recall@10")
    for name in runs[0]["graded"]:
        values = [mean("graded", name, m) for m in METRIC_NAMES]
        print(f"{name:<29} {values[0]:>9.3f} {values[1]:>7.3f} "
              f"{values[2]:>10.3f} {values[3]:>12.3f} {values[4]:>10.3f}")  # fmt: skip
    print("\nPast events, their registrations split 80/20 at random:")
    print(f"{'':<29} recall@10 NDCG@10")
    for name in runs[0]["warm"]:
        print(f"{name:<29} {mean('warm', name, 'recall'):>9.3f} "
              f"{mean('warm', name, 'ndcg'):>7.3f}")  # fmt: skip
    print(f"\nPaired differences over the {out['seeds']} seeds: mean [95% interval]")
    for a, b, protocol, metrics in COMPARISONS:
        where = "new events" if protocol == "graded" else "past events, random split"
        print(f"{a.strip()} minus {b.strip()}, {where}:")
        for metric in metrics:
            mid, low, high = compare(out, a, b, metric, protocol)
            tie = "  tie" if is_tie(low, high) else ""
            print(f"  {METRIC_NAMES[metric]:<27} {mid:+.3f} [{low:+.3f}, {high:+.3f}]"
                  f"{tie}")  # fmt: skip


def main() -> None:
    print_estimate()
    print_experiment(run_experiment())


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
