"""Similar listings in miniature: session embeddings against content similarity.

A seeded lodging marketplace (similar_listings_world): listings with a hidden taste
that their attributes show only in part, guests who browse one market for given dates
and party size, ask to book, and hosts who accept or reject. Listing embeddings are
trained on the training sessions with skip-gram and negative sampling
(similar_listings_model), with and without the booked listing as a global context
and with and without same-market negatives. On later, held-out sessions every method
ranks the same candidates (the session's market, free on its dates, big enough, not
yet clicked) for two labels: the next click and the eventual booking. Two controls
split the booked context's gain: a random earlier click of the same session as the
context, and the last click of every session. Six seeds,
paired differences with a 95% interval; a difference whose interval spans zero is a
tie. The back-of-envelope estimate of the production system comes first.

Run it: ``python -m snippets.problems.similar_listings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.experimentation import duration_days, sample_size_per_arm
from snippets.problems.similar_listings_model import (
    skipgram_pairs,
    train_embeddings,
    unit_rows,
)
from snippets.problems.similar_listings_world import Sessions, split_world

K = 10  # carousel slots scored
LABELS = ("next click", "booking")
SEEDS = (0, 1, 2, 3, 4, 5)
# Assumed prices, as on the guide's other problems: a machine of 32 cores and
# 128 GB at $1.50 an hour, object storage at $0.02 a GB-month; logs kept 90 days.
MACHINE_HOUR, MACHINE_CORES, HOURS_A_MONTH, ZONES = 1.50, 32, 730, 3
DOLLARS_PER_GB_MONTH, LOG_DAYS = 0.02, 90


# --8<-- [start:estimate]
def estimate_capacity() -> dict:
    """Traffic, storage, the market scan, the rankers, logs, fleets, dollars, A/B."""
    listings = 5e6  # active listings (assumed; Grbovic and Cheng trained on 4.5M)
    guests_per_day = 20e6  # people browsing on a day (assumed)
    views_per_guest, searches_per_guest = 10, 6  # listing pages and searches a day
    peak = 3.0  # evening and seasonal peak over the daily mean (assumed)
    dim = 32  # 32 floats per listing, as Airbnb's embeddings
    carousel_qps = peak_qps(guests_per_day, views_per_guest, peak)
    search_qps = peak_qps(guests_per_day, searches_per_guest, peak)
    # Candidates come from one market: scan it exactly. Markets are assumed to hold
    # 20,000 listings on average and 100,000 at most (a big city).
    core_bandwidth = 5e9  # bytes a second one core streams from DRAM (assumed)
    avg_market, big_market = 20_000, 100_000
    eligible_share = 0.25  # free on the dates and big enough for the party (assumed)
    scan_bytes = avg_market * dim * 4  # scan every vector, mask with the filters
    # The ranker: a GBDT at an assumed 10 us of one core per candidate scored, on
    # about 1 kB of features per candidate; every core is run at half its capacity.
    carousel_ranked, search_ranked, score_us, feature_bytes = 300, 2_000, 10.0, 1_000
    busy = 0.5
    scan_cores = servers_needed(carousel_qps * scan_bytes, core_bandwidth, busy)
    carousel_cores = servers_needed(
        carousel_qps * carousel_ranked, 1e6 / score_us, busy
    )
    search_cores = servers_needed(search_qps * search_ranked, 1e6 / score_us, busy)
    # The feature store: one key read per candidate scored, an assumed 5 us of a core.
    lookups = carousel_qps * carousel_ranked + search_qps * search_ranked
    store_cores = servers_needed(lookups * 5e-6, 1.0, busy)
    fleet = {  # machines of 32 cores in 3 zones; any 2 zones carry the peak
        name: servers_needed(cores, MACHINE_CORES, zones=ZONES)
        for name, cores in (
            ("carousel: scan and ranker", scan_cores + carousel_cores),
            ("search ranker", search_cores),
            ("feature store", store_cores),
        )
    }
    views, searches = (
        guests_per_day * views_per_guest,
        guests_per_day * searches_per_guest,
    )
    requests = 1.5e6  # booking requests a day (assumed); each gets a host response
    logs = {  # per day; sizes per event assumed
        "search impressions (18 a search)": searches * 18 * 60,
        "carousel impressions (12 a view)": views * 12 * 60,
        "listing views (the sessions)": views * 150,
        "booking requests, host responses": requests * 2 * 300,
        "features as served (search, 18)": searches * 18 * feature_bytes,
        "features as served (carousel, 12)": views * 12 * feature_bytes,
        "calendar updates (2 a listing)": listings * 2 * 50,
    }
    dollars = {name: n * MACHINE_HOUR * HOURS_A_MONTH for name, n in fleet.items()}
    dollars[f"logs, {LOG_DAYS} days stored"] = (
        sum(logs.values()) * LOG_DAYS / 1e9 * DOLLARS_PER_GB_MONTH
    )
    # The online test: guests per arm to see an assumed 1% relative lift in the
    # share of guests who book within the test (assumed 3%).
    ab_per_arm = sample_size_per_arm(0.03, 0.01)
    stages_ms = {  # allocations of a 100 ms server-side p99, not stage p99s
        "request, auth, session lookup": 10,
        "filters: market, dates, party, price": 10,
        "candidates: exact scan of the market": 15,
        "feature fetch": 15,
        "ranker (300 candidates)": 20,
        "rules, dedup, logging": 5,
    }
    serving_machines = fleet["carousel: scan and ranker"] + fleet["search ranker"]
    return {
        "listings": listings,
        "carousel_qps": carousel_qps,
        "search_qps": search_qps,
        "embeddings_one_copy": human_bytes(storage_bytes(listings, dim * 4)),
        # One copy on every carousel and search machine: no network hop.
        "embedding_copies": serving_machines,
        "embeddings": human_bytes(storage_bytes(listings, dim * 4, serving_machines)),
        # HNSW layer 0 keeps 2M neighbour ids per vector (M = 16), 4 bytes each.
        "hnsw_links": human_bytes(storage_bytes(listings, 2 * 16 * 4)),
        # Offline top-200 neighbours per listing: 4-byte id and 2-byte score.
        "neighbour_lists": human_bytes(storage_bytes(listings, 200 * 6, 3)),
        # One bit per night for the next 365 nights: small enough for every host.
        "calendars": human_bytes(storage_bytes(listings, 365 / 8)),
        # The session store: each guest's last 20 clicks (id, time: 8 bytes) for a day.
        "session_store": human_bytes(storage_bytes(guests_per_day, 20 * 8, 3)),
        "listing_features": human_bytes(storage_bytes(listings, feature_bytes)),
        "market_listings": avg_market,
        "eligible": avg_market * eligible_share,
        "scan_bytes": human_bytes(scan_bytes),
        "scan_bandwidth": human_bytes(carousel_qps * scan_bytes),
        "scan_cores": scan_cores,
        "scan_ms_big_market": 1e3 * big_market * dim * 4 / core_bandwidth,
        "carousel_ranker_cores": carousel_cores,
        "search_ranker_cores": search_cores,
        "carousel_fetch": human_bytes(carousel_qps * carousel_ranked * feature_bytes),
        "search_fetch": human_bytes(search_qps * search_ranked * feature_bytes),
        "search_embedding_reads": human_bytes(search_qps * search_ranked * dim * 4),
        "feature_lookups": lookups,
        "store_cores": store_cores,
        "logs": {name: human_bytes(size) for name, size in logs.items()},
        # Logging every scored candidate, not only the 12 shown, for the carousel.
        "carousel_features_all_scored": human_bytes(
            views * carousel_ranked * feature_bytes
        ),
        "fleet": fleet,
        "dollars": dollars,
        "dollars_total": sum(dollars.values()),
        "ab_per_arm": ab_per_arm,
        "ab_days": duration_days(ab_per_arm, 2, int(guests_per_day), 1.0),
        "budget_ms": 100.0,
        "stages_ms": stages_ms,
        "headroom_ms": remaining_budget_ms(100.0, stages_ms),
    }
    # --8<-- [end:estimate]


def print_estimate(est: dict) -> None:
    """The back-of-envelope numbers, one per line."""
    print("Back-of-envelope (assumptions in estimate_capacity):")
    rows = [
        ("active listings", f"{est['listings']:,.0f}"),
        ("peak listing-page views a second", f"{est['carousel_qps']:,.0f}"),
        ("peak searches a second", f"{est['search_qps']:,.0f}"),
        ("embeddings, 32 float32, one copy", est["embeddings_one_copy"]),
        (f"  on each of {est['embedding_copies']} serving machines", est["embeddings"]),
        ("HNSW links (M = 16), one copy", est["hnsw_links"]),
        ("top-200 neighbour lists, 3 replicas", est["neighbour_lists"]),
        ("calendars, 365 nights, one copy", est["calendars"]),
        ("session store, 20 clicks, 3 replicas", est["session_store"]),
        ("listing features, 1 kB, one copy", est["listing_features"]),
        ("listings in an average market", f"{est['market_listings']:,}"),
        ("  eligible after the filters (25%)", f"{est['eligible']:,.0f}"),
        ("  exact scan of all of them", f"{est['scan_bytes']} a request"),
        ("  at peak", f"{est['scan_bandwidth']}/s"),
        ("  cores at 5 GB/s, half busy", f"{est['scan_cores']}"),
        ("  a 100,000-listing market, one core", f"{est['scan_ms_big_market']:.1f} ms"),
        ("carousel ranker cores, 300 x 10 us", f"{est['carousel_ranker_cores']}"),
        ("  its feature fetch, 1 kB each", f"{est['carousel_fetch']}/s"),
        ("search ranker cores, 2,000 x 10 us", f"{est['search_ranker_cores']}"),
        ("  its feature fetch, 1 kB each", f"{est['search_fetch']}/s"),
        ("search embedding reads at peak", f"{est['search_embedding_reads']}/s"),
        ("feature-store key reads a second", f"{est['feature_lookups'] / 1e6:.1f}M"),
        ("  cores at 5 us a read, half busy", f"{est['store_cores']}"),
    ]
    for name, value in rows:
        print(f"  {name:<38}{value:>14}")
    print("  logs per day:")
    for name, value in est["logs"].items():
        print(f"    {name:<36}{value:>14}")
    print(f"    {'  if all 300 scored were logged':<36}"
          f"{est['carousel_features_all_scored']:>14}")  # fmt: skip
    print(f"  a month at ${MACHINE_HOUR:.2f} a {MACHINE_CORES}-core machine-hour, "
          f"{ZONES} zones,")  # fmt: skip
    print(f"  ${DOLLARS_PER_GB_MONTH} a GB-month stored (all assumed):")
    for name, dollars in est["dollars"].items():
        machines = est["fleet"].get(name)
        count = f"{machines} machines" if machines else ""
        print(f"    {name:<28}{count:>12}  ${dollars:>9,.0f}")
    print(f"    {'total':<40}  ${est['dollars_total']:>9,.0f}")
    print(
        f"  A/B test, 1% lift on 3% of guests booking: {est['ab_per_arm']:,} guests"
        f" an arm, {est['ab_days']} days"
    )
    print(f"  latency budget {est['budget_ms']:.0f} ms (server-side p99), allocated:")
    for stage, ms in est["stages_ms"].items():
        print(f"    {stage:<42}{ms:>4.0f} ms")
    print(f"    {'headroom for tail latency':<42}{est['headroom_ms']:>4.0f} ms")


# --8<-- [start:queries]
@dataclass(frozen=True)
class Queries:
    """One query per held-out session and label: the clicks so far, the target."""

    session: np.ndarray
    position: np.ndarray  # index of the listing being viewed (the last click so far)
    target: np.ndarray  # the next click, or the listing eventually booked


def pick_queries(sessions: Sessions, label: str, rng: np.random.Generator) -> Queries:
    """A random click of each session; the label is what comes after it."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    lengths = sessions.lengths
    has_next = lengths >= 2  # a booking ends its session: the booked is the last click
    rows = np.flatnonzero(
        has_next & (sessions.booked >= 0 if label == "booking" else True)
    )
    position = (rng.random(rows.size) * (lengths[rows] - 1)).astype(int)
    if label == "next click":
        return Queries(rows, position, sessions.clicks[rows, position + 1])
    return Queries(rows, position, sessions.booked[rows])


def candidates(sessions: Sessions, queries: Queries, per_market: int) -> np.ndarray:
    """(queries, per_market) mask: free on the dates, fits the party, not clicked."""
    allowed = sessions.eligible[queries.session].copy()
    for step in range(int(queries.position.max()) + 1):
        seen = queries.position >= step
        clicked = sessions.clicks[queries.session[seen], step] % per_market
        allowed[np.flatnonzero(seen), clicked] = False
    return allowed
    # --8<-- [end:queries]


def _check_query_arrays(
    scores: np.ndarray, allowed: np.ndarray, target_column: np.ndarray
) -> None:
    if scores.ndim != 2 or scores.shape != allowed.shape or allowed.dtype != bool:
        raise ValueError("scores and allowed must be (queries, candidates) arrays")
    if target_column.shape != scores.shape[:1] or scores.shape[1] <= K:
        raise ValueError(f"need one target per query and more than {K} columns")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    rows = np.arange(len(scores))
    if not allowed[rows, target_column].all():
        raise ValueError("every target must be one of its query's candidates")


# --8<-- [start:hits]
def hit_rate(
    scores: np.ndarray, allowed: np.ndarray, target_column: np.ndarray
) -> float:
    """Hit rate@K over queries: is the target among the K best-scored candidates?

    Counted without sorting: a hit when fewer than K other allowed candidates
    score at least as high as the target (a tie goes against the target).
    """
    _check_query_arrays(scores, allowed, target_column)
    rows = np.arange(len(scores))
    target_score = scores[rows, target_column]
    at_least = allowed & (scores >= target_score[:, None])
    at_least[rows, target_column] = False  # the target does not outrank itself
    return float(np.mean(at_least.sum(axis=1) < K))
    # --8<-- [end:hits]


def random_hit_rate(allowed: np.ndarray) -> float:
    """Expected hit rate@K of a random order: K slots out of each query's candidates."""
    n_candidates = allowed.sum(axis=1)
    if (n_candidates == 0).any():
        raise ValueError("every query needs at least one candidate")
    return float(np.mean(np.minimum(K, n_candidates) / n_candidates))


def block_scores(
    query_vectors: np.ndarray, item_vectors: np.ndarray, market: np.ndarray, per: int
) -> np.ndarray:
    """Each query's dot product with every listing of its market: (queries, per)."""
    blocks = item_vectors.reshape(-1, per, item_vectors.shape[1])
    scores = np.empty((len(query_vectors), per))
    for m in np.unique(market):
        rows = market == m
        scores[rows] = query_vectors[rows] @ blocks[m].T
    return scores


def session_vectors(
    unit: np.ndarray, sessions: Sessions, queries: Queries
) -> np.ndarray:
    """Real-time personalisation: the mean of the unit vectors of the clicks so far."""
    total = np.zeros((queries.session.size, unit.shape[1]))
    for step in range(int(queries.position.max()) + 1):
        seen = queries.position >= step
        total[seen] += unit[sessions.clicks[queries.session[seen], step]]
    return unit_rows(total)


# --8<-- [start:contexts]
def global_contexts(
    sessions: Sessions, kind: str, rng: np.random.Generator
) -> np.ndarray:
    """The listing each session pairs with every one of its clicks (-1: none).

    "booked": the booked listing (booked sessions only), as Grbovic and Cheng.
    "random click": a random click before the booking, same sessions: as many
    long-range pairs, no booking information (the control for "booked").
    "last click": the last click of every session, booked or not.
    """
    lengths, booked = sessions.lengths, sessions.booked
    if kind == "booked":
        return booked
    if kind == "random click":
        earlier = (rng.random(lengths.size) * (lengths - 1)).astype(int)
        pick = sessions.clicks[np.arange(lengths.size), earlier]
        return np.where((booked >= 0) & (lengths >= 2), pick, -1)
    if kind == "last click":
        return sessions.clicks[np.arange(lengths.size), np.maximum(lengths - 1, 0)]
    raise ValueError(f"kind must be booked, random click or last click, got {kind!r}")
    # --8<-- [end:contexts]


VARIANTS = {  # name: (global context or None, same-market negatives of 4)
    "skip-gram, full": ("booked", 2),
    "  no booked global context": (None, 2),
    "  context: random earlier click": ("random click", 2),
    "  context: last click, every session": ("last click", 2),
    "  no same-market negatives": ("booked", 0),
}
PERSONALISED = "  + the session's clicks (real time)"
WHAT_IF = "what-if: content shows all 8 factors"


def standardised_unit(features: np.ndarray) -> np.ndarray:
    """Each column standardised, then each row scaled to unit length (for cosines)."""
    return unit_rows((features - features.mean(0)) / features.std(0))


# --8<-- [start:experiment]
def run_seed(seed: int) -> dict[str, dict[str, float]]:
    """Hit rate@K of every method for both labels, on one seeded world."""
    listings, train, test = split_world(seed)
    rng = np.random.default_rng(1_000 + seed)
    per, market = listings.per_market, listings.market
    vectors = {}
    for name, (context, market_negatives) in VARIANTS.items():
        glob = global_contexts(train, context, rng) if context else train.booked
        centres, contexts = skipgram_pairs(train.clicks, glob, 1, context is not None)
        vectors[name] = unit_rows(
            train_embeddings(
                centres, contexts, market, rng, market_negatives=market_negatives
            )
        )
    vectors["content cosine"] = standardised_unit(listings.content)
    vectors[WHAT_IF] = standardised_unit(listings.content_all_taste)
    clicks = np.bincount(train.clicks[train.clicks >= 0], minlength=market.size)
    full = vectors["skip-gram, full"]
    results: dict[str, dict[str, float]] = {}
    for label in ("next click", "booking"):
        queries = pick_queries(test, label, rng)
        anchor = test.clicks[queries.session, queries.position]  # the page viewed
        q_market = market[anchor]
        allowed = candidates(test, queries, per)  # the same for every method

        def cosine(v: np.ndarray, q=anchor, m=q_market) -> np.ndarray:
            return block_scores(v[q], v, m, per)

        scores = {
            "most clicked in training": clicks.reshape(-1, per)[q_market]
            + rng.random(allowed.shape) / 2,  # ties broken at random
            **{name: cosine(v) for name, v in vectors.items()},
        }
        # Real time: similarity to the page viewed plus to the session's clicks.
        session = session_vectors(full, test, queries)
        scores[PERSONALISED] = scores["skip-gram, full"] + block_scores(
            session, full, q_market, per
        )
        target = queries.target % per
        for name, score in scores.items():
            results.setdefault(name, {})[label] = hit_rate(score, allowed, target)
        results.setdefault("random (expected)", {})[label] = random_hit_rate(allowed)
        n_candidates = allowed.sum(axis=1)
        results.setdefault("_queries", {})[label] = float(queries.session.size)
        results.setdefault("_candidates", {})[label] = float(n_candidates.mean())
    results["_world"] = world_summary(train, market.size)
    return results
    # --8<-- [end:experiment]


def world_summary(train: Sessions, n_listings: int) -> dict[str, float]:
    """What the training log looks like: clicks, bookings, rejections."""
    requests = train.rejected.sum() + (train.booked >= 0).sum()
    return {
        "clicks per session": float(train.lengths.mean()),
        "booked share": float(np.mean(train.booked >= 0)),
        "clicks per booking": float(train.lengths.sum() / (train.booked >= 0).sum()),
        "rejected share": float(train.rejected.sum() / requests),
        "clicks per listing": float(train.lengths.sum() / n_listings),
    }


ROWS = [
    "random (expected)",
    "most clicked in training",
    "content cosine",
    *VARIANTS,
    PERSONALISED,
    WHAT_IF,
]
COMPARISONS = [  # (better, worse): printed as better minus worse, for both labels
    ("skip-gram, full", "content cosine"),
    ("skip-gram, full", "most clicked in training"),
    ("skip-gram, full", "  no booked global context"),
    ("skip-gram, full", "  context: random earlier click"),
    ("  context: last click, every session", "skip-gram, full"),
    ("skip-gram, full", "  no same-market negatives"),
    (PERSONALISED, "skip-gram, full"),
    (WHAT_IF, "skip-gram, full"),
]


def print_miniature(runs: list[dict[str, dict[str, float]]]) -> None:
    """The world, the table of hit rates and the paired differences."""
    world = {
        key: np.mean([r["_world"][key] for r in runs]) for key in runs[0]["_world"]
    }
    queries = {lb: [r["_queries"][lb] for r in runs] for lb in LABELS}
    cands = np.mean([r["_candidates"][lb] for r in runs for lb in LABELS])
    print(f"{len(runs)} seeds; each: 2,000 listings in 8 markets, 8,000 training")
    print("sessions and 3,000 later ones held out. Training log, mean of the seeds")
    print("(rates that follow from the world's chosen parameters, not findings):")
    print(
        f"  {world['clicks per session']:.2f} clicks a session; "
        f"{100 * world['booked share']:.1f}% of sessions end in a booking "
        f"({world['clicks per booking']:.1f} clicks per booking)"
    )
    print(
        f"  hosts reject {100 * world['rejected share']:.1f}% of booking requests; "
        f"{world['clicks per listing']:.1f} training clicks per listing"
    )
    print(
        f"Queries per seed: next click {min(queries['next click']):,.0f}-"
        f"{max(queries['next click']):,.0f}, booking {min(queries['booking']):,.0f}-"
        f"{max(queries['booking']):,.0f}; {cands:.0f} candidates each on average"
    )
    print(f"\nHit rate@{K} on held-out sessions, mean of {len(runs)} seeds:")
    print(f"{'method':<44} {'next click':>10} {'booking':>8}")
    for name in ROWS:
        a, b = (np.mean([r[name][lb] for r in runs]) for lb in LABELS)
        print(f"{name:<44} {a:>10.3f} {b:>8.3f}")
    print(f"\nPaired differences over the {len(runs)} seeds: mean [95% interval]")
    for better, worse in COMPARISONS:
        print(f"{better.strip()} minus {worse.strip()}:")
        for label in LABELS:
            mean, low, high = paired_interval(
                [r[better][label] - r[worse][label] for r in runs]
            )
            tie = "  tie" if is_tie(low, high) else ""
            print(f"  {label:<12} {mean:+.3f} [{low:+.3f}, {high:+.3f}]{tie}")


def main() -> None:
    print_estimate(estimate_capacity())
    print()
    print_miniature([run_seed(seed) for seed in SEEDS])


if __name__ == "__main__":
    main()
