"""Near-duplicate detection: back-of-envelope numbers and the MinHash + LSH miniature.

The miniature builds synthetic listings in families (an original and its re-posts,
made by controlled word edits), computes the exact Jaccard of every pair that shares a
shingle, and measures what MinHash and LSH banding find: the candidate rate per bin of
true Jaccard against the S-curve, the pairs compared against all pairs, recall and
precision after verification, and clusters against the families. Five seeds.

Run it: ``python -m snippets.problems.near_duplicates``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.figures import (
    ACCENT,
    GREYS,
    SECOND,
    THIRD,
    new_figure,
    printed,
    styled,
)
from snippets.common.stats import is_tie, paired_interval, wilson_interval
from snippets.problems import near_duplicates_minhash as mh
from snippets.problems.near_duplicates_world import (
    Corpus,
    WorldConfig,
    make_corpus,
    shingle_codes,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SEEDS = (0, 1, 2, 3, 4)
NUM_PERM = 128
THRESHOLD = 0.5  # the product's definition: word 3-shingle Jaccard >= 0.5
SETTINGS = ((64, 2), (42, 3), (32, 4), (20, 5), (16, 8))  # (bands, rows)
CURVES = ((64, 2), (32, 4), (16, 8))  # the settings whose S-curve is measured
CHOSEN = (32, 4)
BO = "boilerplate out"
REHASH = (1, 2, 3, 4)  # hash seeds that re-hash seed 0's world beside its own 0
MAX_DF = 20  # boilerplate: shingles in more than 20 of the 1,000 listings (2%)
BINS = np.linspace(0.0, 1.0, 11)
# Assumed prices, as on the guide's other problems: a machine of 32 cores and 128 GB
# at $1.50 an hour, 100 GB of it usable for an index.
MACHINE_HOUR, MACHINE_CORES, MACHINE_GB, HOURS_A_MONTH = 1.50, 32, 100e9, 730
ZONES = 3  # serving fleets span 3 zones; any 2 carry the peak


# --8<-- [start:estimate]
def estimate_capacity() -> dict:
    """Ingest rate, index memory, candidates per ingest, latency, cores and dollars."""
    live = 500e6  # live listings (assumed)
    ingest_per_day, peak = 20e6, 3.0  # new or edited listings a day; peak / mean
    ingest_qps = peak_qps(ingest_per_day, 1, peak)
    bands = CHOSEN[0]
    shingles = 300  # word 3-shingles per listing (assumed)
    # Band index, in RAM: per band a hash table from the band key (a 64-bit hash of
    # the band's minima) to listing ids; key 8 B + id 8 B an entry, doubled by open
    # addressing at half load; 3 replicas.
    band_index = storage_bytes(live * bands, (8 + 8) * 2, replicas=3)
    band_index_42 = storage_bytes(live * 42, (8 + 8) * 2, replicas=3)  # b=42, r=3
    # Main photo: a 256-d embedding in IVF-PQ, 64 B of codes + 8 B id; 3 replicas.
    photo_index = storage_bytes(live, 64 + 8, replicas=3)
    machines = servers_needed(band_index + photo_index, MACHINE_GB)
    # On the index machines' local SSD (assumed in their price), 3 replicas each:
    signatures = storage_bytes(live, NUM_PERM * 4, replicas=3)  # re-banding
    shingle_sets = storage_bytes(live, shingles * 4, replicas=3)  # exact Jaccard
    photo_vectors = storage_bytes(live, 256 * 4, replicas=3)  # float32: exact cosine
    # False candidates grow with the corpus: one template on 1% of listings. Kept,
    # two of its listings share its 58 shingles (60 words) out of 300 each, Jaccard
    # 58 / 542; 0.2 is a longer template (assumed); 0.02 once removed (assumed).
    template_users = 0.01 * live
    template_jaccards = (0.2, 58 / (2 * shingles - 58), 0.02)
    from_template = {
        (b, r): [
            template_users * float(mh.candidate_probability(s, b, r))
            for s in template_jaccards
        ]
        for b, r in ((42, 3), CHOSEN, (20, 5))
    }
    candidates = 10  # verified per ingest, boilerplate removed (assumed)
    # A template user also meets its template's residual candidates: size for it.
    tail = candidates + from_template[CHOSEN][-1]
    # CPU per ingest (assumed unit costs): shingles x 128 hashes at 1 ns, `tail`
    # exact Jaccards over two 300-shingle sets at 2 ns per element, 1 ms of photo ANN.
    cpu_seconds = shingles * NUM_PERM * 1e-9 + tail * 600 * 2e-9 + 1e-3
    # SSD reads at peak: a shingle set per candidate, a vector per photo neighbour.
    ssd_reads = ingest_qps * (tail + 20)
    cores = servers_needed(ingest_qps * cpu_seconds, 1.0, 0.5, zones=ZONES)
    # Photo embeddings: 5 photos a listing at an assumed 4 GFLOP each, on A100s at
    # 30% of their 312 TFLOPS dense FP16 peak.
    gpus = servers_needed(ingest_qps * 5 * 4e9, 312e12 * 0.3, zones=ZONES)
    # Allocations of a 200 ms server-side p99, on the critical path (the photo
    # path); the text path runs beside it.
    text_path_ms = {"shingles, MinHash": 5, f"{bands} band lookups": 20, "verify": 25}
    stages_ms = {
        "request, text normalisation": 10,
        "photo embeddings (GPU)": 60,
        "photo ANN search": 20,
        "decision, cluster update, log": 20,
    }
    logs = {  # bytes a day; record sizes assumed
        "decisions (candidates, scores, verdict)": ingest_per_day * 300,
        "verified duplicate edges": ingest_per_day * 2 * 24,
        "human review labels (20,000 pairs)": 20_000 * 200,
    }
    month = MACHINE_HOUR * HOURS_A_MONTH  # one machine for a month
    return {
        "live": live,
        "ingest_per_day": ingest_per_day,
        "ingest_qps": ingest_qps,
        "band_index": human_bytes(band_index),
        "band_index_42": human_bytes(band_index_42),
        "photo_index": human_bytes(photo_index),
        "in_memory": human_bytes(band_index + photo_index),
        "index_machines": machines,
        "signatures": human_bytes(signatures),
        "shingle_sets": human_bytes(shingle_sets),
        "photo_vectors": human_bytes(photo_vectors),
        "on_ssd": human_bytes(signatures + shingle_sets + photo_vectors),
        "ssd_per_machine": human_bytes(
            (signatures + shingle_sets + photo_vectors) / machines
        ),
        "ssd_reads": ssd_reads,
        "all_pairs": live * (live - 1) / 2,
        "candidate_pairs": live * candidates / 2,
        "template_jaccards": template_jaccards,
        "from_template": from_template,
        "tail_candidates": tail,
        "cpu_us": cpu_seconds * 1e6,
        "cores": cores,
        "gpus": gpus,
        "dollars_month": {  # an A100 costs as much as 50 cores, as on the feed page
            "index machines (RAM)": machines * month,
            "photo GPUs": gpus * 50 / MACHINE_CORES * month,
            "ingest CPU": cores / MACHINE_CORES * month,
        },
        "band_fanout_percentile": 100 * 0.99 ** (1 / bands),
        "text_path_ms": sum(text_path_ms.values()),
        "stages_ms": stages_ms,
        "headroom_ms": remaining_budget_ms(200.0, stages_ms),
        "logs": {name: human_bytes(size) for name, size in logs.items()},
    }
    # --8<-- [end:estimate]


def print_estimate(est: dict) -> None:
    b = CHOSEN[0]
    print("Back-of-envelope (assumptions in estimate_capacity):")
    rows = [
        ("live listings", f"{est['live']:,.0f}"),
        ("new or edited listings a day", f"{est['ingest_per_day']:,.0f}"),
        ("peak ingests a second (3x the mean)", f"{est['ingest_qps']:,.0f}"),
        (f"RAM: band index, {b} bands, 3 replicas", est["band_index"]),
        ("RAM: band index at b=42 r=3 instead", est["band_index_42"]),
        ("RAM: photo index, IVF-PQ 72 B, 3 replicas", est["photo_index"]),
        ("RAM: both indexes", est["in_memory"]),
        ("index machines (100 GB usable each)", f"{est['index_machines']:,}"),
        ("SSD: MinHash signatures, 128 x 4 B, 3 replicas", est["signatures"]),
        ("SSD: shingle sets, 300 x 4 B, 3 replicas", est["shingle_sets"]),
        ("SSD: photo vectors, 256 x 4 B, 3 replicas", est["photo_vectors"]),
        ("SSD: all three", est["on_ssd"]),
        ("SSD per index machine", est["ssd_per_machine"]),
        ("SSD reads a second at peak", f"{est['ssd_reads']:,.0f}"),
        ("all pairs of live listings", f"{est['all_pairs']:.2e}"),
        ("candidate pairs (10 per listing)", f"{est['candidate_pairs']:.2e}"),
        ("candidates verified by a template user", f"{est['tail_candidates']:.1f}"),
        ("CPU per ingest", f"{est['cpu_us']:,.0f} us"),
        ("CPU cores at 50% load, 3 zones", f"{est['cores']:,}"),
        ("A100s for photo embeddings, 3 zones", f"{est['gpus']:,}"),
    ]
    rows += [
        (f"dollars a month: {k}", f"{v:,.0f}") for k, v in est["dollars_month"].items()
    ]
    for name, value in rows:
        print(f"  {name:<48}{value:>14}")
    print("Candidates per ingest from one template on 1% of listings, by the Jaccard")
    print("it gives two of its listings:")
    long, own, removed = est["template_jaccards"]
    print(
        f"  {'setting':<12}{f'kept, J {long}':>16}{f'kept, J {own:.3f}':>16}"
        f"{f'removed, J {removed}':>20}"
    )
    for (bands, rows_), (a, b_, c) in est["from_template"].items():
        print(f"  {f'b={bands} r={rows_}':<12}{a:>16,.0f}{b_:>16,.0f}{c:>20,.1f}")
    print("Latency, 200 ms server-side p99 (allocations, not p99s that add):")
    for name, ms in est["stages_ms"].items():
        print(f"  {name:<48}{ms:>11} ms")
    print(f"  {'text path beside the photo path':<48}{est['text_path_ms']:>11} ms")
    print(f"  {'headroom':<48}{est['headroom_ms']:>11.0f} ms")
    print(
        f"  each of the {b} band lookups must meet its allocation at"
        f" p{est['band_fanout_percentile']:.2f}"
    )
    print("Logs a day:")
    for name, size in est["logs"].items():
        print(f"  {name:<48}{size:>14}")


# --8<-- [start:experiment]
def lsh_run(
    exact: tuple, sig: np.ndarray, bands: int, rows: int, duplicate: np.ndarray
) -> dict:
    """One LSH setting against the exact Jaccard of every pair of the signature's
    shingles, scored against `duplicate`: the definition, one flag per pair."""
    i, j, jac = exact  # every pair sharing a shingle; all others have Jaccard 0
    n = sig.shape[0]
    cand = mh.lsh_candidates(sig, bands, rows)
    is_cand = np.isin(i * n + j, cand[:, 0] * n + cand[:, 1])
    if is_cand.sum() != len(cand):  # MinHash never ties two disjoint sets
        raise AssertionError("a candidate pair shares no shingle")
    verified = is_cand & (jac >= THRESHOLD)  # exact Jaccard of the same shingles
    estimate = mh.estimated_jaccard(sig[i[is_cand]], sig[j[is_cand]])
    by_estimate = estimate >= THRESHOLD  # verify with the signatures only
    true_hits = duplicate[is_cand]
    return {
        "jaccard": jac,
        "is_candidate": is_cand,
        "pairs": cand,
        "candidates": len(cand),
        "%": 100 * len(cand) / (n * (n - 1) / 2),
        "duplicates": int((jac >= THRESHOLD).sum()),
        "candidate precision": float(true_hits.mean()),
        "candidate recall": true_hits.sum() / duplicate.sum(),
        "precision": duplicate[verified].mean(),
        "recall": duplicate[verified].sum() / duplicate.sum(),
        "estimate precision": true_hits[by_estimate].mean(),
        "estimate recall": (true_hits & by_estimate).sum() / duplicate.sum(),
        "edges": np.column_stack((i, j))[verified],
        "edge jaccard": jac[verified],
    }
    # --8<-- [end:experiment]


def _pairs_within(*labels: np.ndarray) -> int:
    """Pairs of items that share every one of the given labels."""
    _, counts = np.unique(np.column_stack(labels), axis=0, return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))


def cluster_scores(labels: np.ndarray, corpus: Corpus, edges: np.ndarray) -> dict:
    """Pair precision and recall against the families, the largest cluster, and what
    the wrongly joined pairs are: two items of one seller, two sellers' listings
    under one template, or a verified edge (joined directly, not by a chain)."""
    family, seller, template = corpus.family, corpus.seller, corpus.template
    precision, recall = mh.pair_precision_recall(labels, family)
    wrong = _pairs_within(labels) - _pairs_within(labels, family)
    same_seller = _pairs_within(labels, seller) - _pairs_within(labels, family)
    t = template >= 0  # families keep one seller and one template
    shared = _pairs_within(labels[t], template[t])
    strangers = shared - _pairs_within(labels[t], template[t], seller[t])
    a, b = edges[:, 0], edges[:, 1]
    direct = np.sum((labels[a] == labels[b]) & (family[a] != family[b]))
    return {
        "precision": precision,
        "recall": recall,
        "largest": int(np.bincount(np.unique(labels, return_inverse=True)[1]).max()),
        "same seller": same_seller / wrong if wrong else 0.0,
        "template": strangers / wrong if wrong else 0.0,
        "direct": direct / wrong if wrong else 0.0,
    }


def originals_first(corpus: Corpus) -> np.ndarray:
    """The arrival order with each family's original moved to its family's first
    slot (the re-posts keep their order): the usual case in a marketplace."""
    arrival = corpus.arrival.copy()
    rank = np.empty(arrival.size, dtype=np.int64)
    rank[arrival] = np.arange(arrival.size)
    for fam in range(int(corpus.family.max()) + 1):
        members = np.flatnonzero(corpus.family == fam)
        by_rank = members[np.argsort(rank[members])]
        original = members[corpus.is_original[members]]
        order = np.concatenate((original, by_rank[by_rank != original[0]]))
        arrival[np.sort(rank[members])] = order
    return arrival


def split_by_canonical(
    corpus: Corpus, components: np.ndarray, canonical: np.ndarray
) -> tuple[float, float]:
    """Family pairs that components join: the share in families whose original did
    not arrive first, among all of them and among those canonical assignment splits."""
    rank = np.empty(corpus.arrival.size, dtype=np.int64)
    rank[corpus.arrival] = np.arange(corpus.arrival.size)
    joined, split = [], []
    for fam in range(int(corpus.family.max()) + 1):
        members = np.flatnonzero(corpus.family == fam)
        late = rank[members[corpus.is_original[members]][0]] != rank[members].min()
        for i, j in itertools.combinations(members, 2):
            if components[i] == components[j]:
                joined.append(late)
                split.append(canonical[i] != canonical[j])
    joined, split = np.array(joined), np.array(split)
    return float(joined.mean()), float(joined[split].mean())


def run_seed(seed: int, rehash: tuple[int, ...] = ()) -> dict:
    """One world: MinHash, every LSH setting, verification, and clusters; with
    `rehash`, the chosen setting's candidates again under those hash seeds."""
    corpus = make_corpus(seed)
    n, codes = len(corpus.words), shingle_codes(corpus)
    rank = np.empty(n, dtype=np.int64)
    rank[corpus.arrival] = np.arange(n)
    out: dict = {"families": int(corpus.family.max()) + 1, "n": n}
    definition = None  # the duplicate pairs: Jaccard >= 0.5 with boilerplate out
    for shingles, max_df in ((BO, MAX_DF), ("all", None)):
        sets = codes if max_df is None else mh.drop_frequent_shingles(codes, max_df)
        sig = mh.minhash_signatures(sets, NUM_PERM, seed=seed)
        i, j, jac = exact = mh.pairwise_jaccard(sets)
        if definition is None:
            definition = (i * n + j)[jac >= THRESHOLD]
        duplicate = np.isin(i * n + j, definition)
        out[shingles, "sharing"] = len(i)
        for bands, rows in SETTINGS:
            out[shingles, bands, rows] = lsh_run(exact, sig, bands, rows, duplicate)
        chosen = out[(shingles, *CHOSEN)]
        if shingles == "all":
            agree = sig[i] == sig[j]  # every pair of the seed shares each hash
            out["minhash error"] = (
                agree.mean(axis=1) - jac,
                jac,
                agree.mean(axis=0) - jac.mean(),  # per hash function
            )
        out[shingles, "rehash"] = [chosen["is_candidate"]]
        for h in rehash:  # the same pairs, other hash functions
            cand = mh.lsh_candidates(mh.minhash_signatures(sets, NUM_PERM, h), *CHOSEN)
            out[shingles, "rehash"].append(
                np.isin(i * n + j, cand[:, 0] * n + cand[:, 1])
            )
        edges, sim = chosen["edges"], chosen["edge jaccard"]
        components = mh.connected_components(n, edges)
        canonical = mh.canonical_clusters(corpus.arrival, edges, sim)
        out[shingles, "components"] = cluster_scores(components, corpus, edges)
        out[shingles, "canonical"] = cluster_scores(canonical, corpus, edges)
        every = np.column_stack((i, j))[jac >= THRESHOLD]
        out[shingles, "exact"] = cluster_scores(
            mh.connected_components(n, every), corpus, every
        )
        if shingles == BO:  # the cause of canonical assignment's lost recall
            first = mh.canonical_clusters(originals_first(corpus), edges, sim)
            out[BO, "originals first"] = cluster_scores(first, corpus, edges)
            out["split"] = split_by_canonical(corpus, components, canonical)
        later = np.maximum(rank[chosen["pairs"][:, 0]], rank[chosen["pairs"][:, 1]])
        out[shingles, "per ingest"] = np.bincount(later, minlength=n)
    return out


def print_world(runs: list[dict]) -> None:
    n, fams, w = runs[0]["n"], [r["families"] for r in runs], WorldConfig()
    print(
        f"World: {len(runs)} seeds of {n:,} listings, {min(fams)}-{max(fams)} families"
        f" (a listing and its re-posts);\n{w.short_share:.0%} short,"
        f" {w.template_share:.0%} with one of {w.n_templates} boilerplate templates;"
        f" re-posts rewrite 0-{w.max_edit_rate:.0%} of the body;\n"
        f"{w.series_share:.0%} of sellers list 3-5 different items, each an edit"
        " of the last."
    )
    for shingles in ("all", "boilerplate out"):
        share = [r[shingles, "sharing"] for r in runs]
        dup = [r[shingles, *CHOSEN]["duplicates"] for r in runs]
        print(
            f"{shingles + ':':<17}pairs sharing a shingle"
            f" {min(share):,}-{max(share):,}; Jaccard >= {THRESHOLD}:"
            f" {min(dup):,}-{max(dup):,}"
        )
    print(f"All pairs per seed: {n * (n - 1) // 2:,}")
    errors = np.concatenate([r["minhash error"][0] for r in runs])
    jac = np.concatenate([r["minhash error"][1] for r in runs])
    per_hash = np.concatenate([r["minhash error"][2] for r in runs])
    _, low, high = paired_interval(per_hash)
    print(
        f"\nMinHash ({NUM_PERM} hashes) against exact Jaccard, {errors.size:,} pairs"
        " sharing a shingle:"
    )
    print(
        f"  mean error {errors.mean():+.4f} [95% interval {low:+.4f}, {high:+.4f}]"
        f" over the {per_hash.size} hash functions\n  (all pairs of a seed share its"
        f" {NUM_PERM} hash functions: those, not the pairs, are independent)"
    )
    print(
        f"  RMSE {np.sqrt(np.mean(errors**2)):.4f}; binomial theory, the square root"
        f" of J(1-J)/{NUM_PERM} averaged over the pairs,"
        f" {np.sqrt(np.mean(jac * (1 - jac)) / NUM_PERM):.4f}"
    )


def s_curve_rows(runs: list[dict], shingles: str) -> list[tuple]:
    """Per Jaccard bin: pairs, then (hits, Wilson low, high, theory) per setting."""
    rows = []
    for low, high in itertools.pairwise(BINS):
        cells = []
        for bands, rows_ in CURVES:
            res = [r[shingles, bands, rows_] for r in runs]
            in_bin = [(x["jaccard"] > low) & (x["jaccard"] <= high) for x in res]
            pairs = sum(int(m.sum()) for m in in_bin)
            hits = sum(
                int(x["is_candidate"][m].sum())
                for x, m in zip(res, in_bin, strict=True)
            )
            theory = sum(
                mh.candidate_probability(x["jaccard"][m], bands, rows_).sum()
                for x, m in zip(res, in_bin, strict=True)
            )
            cells.append((hits / pairs, *wilson_interval(hits, pairs), theory / pairs))
        rows.append((low, high, pairs, cells))
    return rows


def bin_mean_jaccard(runs: list[dict], shingles: str) -> list[float]:
    """Per Jaccard bin, the mean true Jaccard of its pairs (all seeds pooled): where
    the bin's measured rate belongs on the S-curve's x axis."""
    bands, rows_ = CURVES[0]  # the pairs and their Jaccard are the same per setting
    jac = np.concatenate([r[shingles, bands, rows_]["jaccard"] for r in runs])
    return [
        float(jac[(jac > low) & (jac <= high)].mean())
        for low, high in itertools.pairwise(BINS)
    ]


@styled
def s_curve_figure(
    points: list[tuple[float, list[tuple[float, float, float]]]] | None = None,
) -> Figure:
    """The S-curves 1-(1-J^r)^b, and per Jaccard bin the measured candidate rate with
    its Wilson 95% interval, drawn at the mean true Jaccard of the bin's pairs.
    ``points``: per bin (mean Jaccard, [(rate, low, high) per setting]) as printed
    (three decimals); by default the table ``main()`` prints."""
    if points is None:
        runs = [run_seed(seed) for seed in SEEDS]
        means = bin_mean_jaccard(runs, BO)
        points = [
            (printed(mean, 3), [tuple(printed(v, 3) for v in c[:3]) for c in cells])
            for mean, (*_, cells) in zip(means, s_curve_rows(runs, BO), strict=True)
        ]
    fig, (ax,) = new_figure()
    grid = np.linspace(0, 1, 101)
    where = np.array([mean for mean, _ in points])
    colours = {CHOSEN: ACCENT, (64, 2): THIRD, (16, 8): SECOND}
    for i, (bands, rows_) in enumerate(CURVES):
        colour = colours[bands, rows_]
        rate, low, high = (np.array([c[i][j] for _, c in points]) for j in range(3))
        ax.plot(
            grid,
            mh.candidate_probability(grid, bands, rows_),
            color=colour,
            linewidth=1.5,
            label=f"b={bands} r={rows_}",
        )
        ax.errorbar(
            where,
            rate,
            yerr=(rate - low, high - rate),
            fmt="o",
            color=colour,
            markersize=4,
            capsize=2,
        )
    ax.axvline(THRESHOLD, color=GREYS[2], linestyle=":", linewidth=1)
    ax.set_xlabel("true Jaccard of a pair (dots: a 0.1 bin's pairs, at their mean)")
    ax.set_ylabel("P(pair becomes a candidate)")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower right", title="S-curve 1\u2212(1\u2212J\u02b3)\u1d47")
    return fig


def inside(rows: list[tuple]) -> tuple[int, int]:
    """Cells whose S-curve prediction lies in the interval around the measured rate:
    all of them, then those of the cells whose rate is neither 0 nor 1."""
    cells = [cell for *_, cells in rows for cell in cells]
    hit = [lo <= theory <= hi for _, lo, hi, theory in cells]
    open_ = [0 < rate < 1 for rate, *_ in cells]
    return sum(hit), sum(h for h, o in zip(hit, open_, strict=True) if o), sum(open_)


def print_s_curve(runs: list[dict]) -> None:
    print(
        "\nCandidate rate by true Jaccard, boilerplate out, 5 seeds pooled:\n"
        "measured [95% Wilson interval] and the S-curve 1-(1-J^r)^b, averaged"
        " over the bin"
    )
    header = "".join(
        f"  b={b} r={r} (t={mh.lsh_threshold(b, r):.3f})".ljust(27) for b, r in CURVES
    )
    print(f"{'Jaccard':<8}{'pairs':>8}{header}".rstrip())
    rows = s_curve_rows(runs, "boilerplate out")
    for low, high, pairs, cells in rows:
        text = "".join(
            f"  {m:.3f} [{lo:.3f},{hi:.3f}] {t:.3f}" for m, lo, hi, t in cells
        )
        print(f"{low:.1f}-{high:.1f}{pairs:>9,}{text}")
    cells = len(CURVES) * (len(BINS) - 1)
    hit, hit_open, open_ = inside(rows)
    print(
        f"S-curve inside the interval around the measured rate in {hit} of {cells}"
        f" cells;\nin {hit_open} of the {open_} cells whose rate is neither 0 nor 1"
    )
    hit, hit_open, open_ = inside(s_curve_rows(runs, "all"))
    print(
        f"All shingles kept: inside in {hit} of {cells}; in {hit_open} of the {open_}"
        " cells whose rate is neither 0 nor 1"
    )
    means = " ".join(f"{m:.3f}" for m in bin_mean_jaccard(runs, "boilerplate out"))
    print(f"Mean true Jaccard per bin: {means}")
    b, r = CHOSEN
    at = [float(mh.candidate_probability(s, b, r)) for s in (THRESHOLD, 0.55)]
    print(
        f"b={b} r={r}: the S-curve is {at[0]:.3f} at J = {THRESHOLD} and {at[1]:.3f}"
        f" at 0.55; it is steepest at {mh.steepest_point(b, r):.3f},\nreaches 0.5 at"
        f" {mh.half_point(b, r):.3f}, and is"
        f" {float(mh.candidate_probability(mh.lsh_threshold(b, r), b, r)):.3f} at"
        f" t = {mh.lsh_threshold(b, r):.3f}. b=42 r=3 is"
        f" {float(mh.candidate_probability(THRESHOLD, 42, 3)):.3f} at J = {THRESHOLD}"
    )


def rehash_rows(run: dict, shingles: str) -> list[tuple]:
    """Per Jaccard bin of one world: pairs, the candidate rate under each hash seed,
    the S-curve, and the rate's SD if the pairs were independent trials."""
    jac = run[shingles, *CHOSEN]["jaccard"]
    hits = np.array(run[shingles, "rehash"])  # (hash seeds, pairs)
    p = mh.candidate_probability(jac, *CHOSEN)
    rows = []
    for low, high in itertools.pairwise(BINS):
        m = (jac > low) & (jac <= high)
        if 0.01 < p[m].mean() < 0.99:  # elsewhere every seed agrees
            independent = np.sqrt(np.sum(p[m] * (1 - p[m]))) / m.sum()
            rows.append(
                (
                    low,
                    high,
                    int(m.sum()),
                    hits[:, m].mean(axis=1),
                    p[m].mean(),
                    independent,
                )
            )
    return rows


def print_rehash(run: dict) -> None:
    b, r = CHOSEN
    seeds = len(run[BO, "rehash"])
    print(
        f"\nRe-hashing seed 0's world with {seeds} hash seeds, b={b} r={r}: the"
        " candidate rate by true Jaccard,\nmean [95% interval over the hash seeds],"
        " the S-curve, and the rate's SD across hash seeds\nagainst its SD if the"
        " pairs were independent trials"
    )
    print(
        f"{'shingles':<17}{'Jaccard':<9}{'pairs':>6}  {'rate [interval]':<22}"
        f"{'S-curve':>7}{'SD':>8}{'indep.':>8}{'ratio':>7}"
    )
    ratios, inside_ = {}, 0
    for shingles in ("all", BO):
        rows = rehash_rows(run, shingles)
        for low, high, pairs, rates, theory, independent in rows:
            mean, lo, hi = paired_interval(rates)
            sd = rates.std(ddof=1)
            ratios.setdefault(shingles, []).append(sd / independent)
            inside_ += lo <= theory <= hi
            print(
                f"{shingles:<17}{low:.1f}-{high:.1f}  {pairs:>6,}  {mean:.3f}"
                f" [{lo:.3f},{hi:.3f}]    {theory:>7.3f}{sd:>8.4f}{independent:>8.4f}"
                f"{sd / independent:>7.1f}"
            )
    total = sum(len(v) for v in ratios.values())
    print(
        f"S-curve inside the interval in {inside_} of {total} rows; SD across hash"
        f" seeds / SD of independent\ntrials: all shingles"
        f" {min(ratios['all']):.1f}-{max(ratios['all']):.1f}, boilerplate out"
        f" {min(ratios[BO]):.1f}-{max(ratios[BO]):.1f} ({seeds} seeds: each ratio is"
        " rough)"
    )


def print_work(runs: list[dict]) -> None:
    print(
        f"\nLSH against the definition (Jaccard >= {THRESHOLD} with boilerplate out),"
        " mean of 5 seeds: candidate\npairs, their share of all pairs, the share of"
        " candidates that are duplicates (precision before\nverification), recall"
    )
    print(f"{'':<18}{'all shingles':<38}boilerplate out")
    print(
        f"{'setting':<10}{'t':>6}{'cand.':>9}{'share':>8}{'dup.':>7}{'recall':>8}"
        f"{'cand.':>12}{'share':>8}{'dup.':>7}{'recall':>8}"
    )
    for bands, rows in SETTINGS:
        cells = ""
        for shingles in ("all", "boilerplate out"):
            res = [r[shingles, bands, rows] for r in runs]
            cand = np.mean([x["candidates"] for x in res])
            cells += (
                f"{cand:>{9 if shingles == 'all' else 12},.0f}"
                f"{np.mean([x['%'] for x in res]):>7.2f}%"
                f"{np.mean([x['candidate precision'] for x in res]):>7.3f}"
                f"{np.mean([x['candidate recall'] for x in res]):>8.3f}"
            )
        print(
            f"b={bands} r={rows}".ljust(10)
            + f"{mh.lsh_threshold(bands, rows):>6.3f}{cells}"
        )
    ingest = np.concatenate([r["boilerplate out", "per ingest"] for r in runs])
    b, r = CHOSEN
    print(
        f"Per arriving listing (b={b} r={r}, boilerplate out): {ingest.mean():.2f}"
        f" earlier candidates, at most {ingest.max()}"
    )


def print_verification(runs: list[dict]) -> None:
    b, r = CHOSEN
    res = [x["boilerplate out", b, r] for x in runs]
    print(
        f"\nVerifying the b={b} r={r} candidates (boilerplate out) against Jaccard"
        f" >= {THRESHOLD}, mean of 5 seeds"
    )
    print(
        f"  {'exact Jaccard of the shingle sets':<36} precision"
        f" {np.mean([x['precision'] for x in res]):.3f}"
        f"  recall {np.mean([x['recall'] for x in res]):.3f}"
    )
    print(
        f"  {'MinHash estimate of the signatures':<36} precision"
        f" {np.mean([x['estimate precision'] for x in res]):.3f}"
        f"  recall {np.mean([x['estimate recall'] for x in res]):.3f}"
    )


CLUSTERINGS = (
    ("all", "components", "connected components"),
    ("all", "canonical", "canonical only"),
    ("boilerplate out", "components", "connected components"),
    ("boilerplate out", "canonical", "canonical only"),
    ("boilerplate out", "originals first", "canonical, originals first"),
    ("boilerplate out", "exact", "components, exact all pairs"),
)


def print_clusters(runs: list[dict]) -> None:
    b, r = CHOSEN
    print(
        f"\nClusters against the families (same listing), verified b={b} r={r}"
        " edges, mean of 5 seeds;\nprecision and recall of the pairs put together"
    )
    print(
        f"{'':<72}wrong pairs: share\n{'shingles':<16}{'clustering':<28}"
        f"{'precision':>10}{'recall':>7}{'largest':>8}{'seller':>8}{'template':>9}"
        f"{'direct':>7}"
    )
    for shingles, key, label in CLUSTERINGS:
        res = [x[shingles, key] for x in runs]
        print(
            f"{shingles:<16}{label:<28}"
            f"{np.mean([x['precision'] for x in res]):>10.3f}"
            f"{np.mean([x['recall'] for x in res]):>7.3f}"
            f"{np.mean([x['largest'] for x in res]):>8.1f}"
            f"{np.mean([x['same seller'] for x in res]):>8.3f}"
            f"{np.mean([x['template'] for x in res]):>9.3f}"
            f"{np.mean([x['direct'] for x in res]):>7.3f}"
        )
    print(
        "seller: two items of one seller; template: two sellers under one template;"
        " direct: a verified\nedge, not a chain. Family pairs that components join"
        " (boilerplate out): in families whose\noriginal did not arrive first"
        f" {np.mean([x['split'][0] for x in runs]):.3f}; of those canonical"
        f" assignment splits, {np.mean([x['split'][1] for x in runs]):.3f}"
    )


COMPARISONS = (  # title, then (label, (run key, metric) minus (run key, metric))
    (
        f"b=42 r=3 minus b={CHOSEN[0]} r={CHOSEN[1]}, boilerplate out",
        [
            (
                "recall",
                ((BO, 42, 3), "candidate recall"),
                ((BO, *CHOSEN), "candidate recall"),
            ),
            ("candidates, % of all pairs", ((BO, 42, 3), "%"), ((BO, *CHOSEN), "%")),
        ],
    ),
    (
        "MinHash estimate minus exact Jaccard, verifying",
        [
            (m, ((BO, *CHOSEN), f"estimate {m}"), ((BO, *CHOSEN), m))
            for m in ("precision", "recall")
        ],
    ),
    (
        "boilerplate out minus all shingles, connected components",
        [
            (m, ((BO, "components"), m), (("all", "components"), m))
            for m in ("precision", "recall", "largest")
        ],
    ),
    (
        "canonical only minus connected components, boilerplate out",
        [
            (m, ((BO, "canonical"), m), ((BO, "components"), m))
            for m in ("precision", "recall")
        ],
    ),
    (
        "canonical, originals first minus canonical only, boilerplate out",
        [
            (m, ((BO, "originals first"), m), ((BO, "canonical"), m))
            for m in ("precision", "recall")
        ],
    ),
    (
        f"b={CHOSEN[0]} r={CHOSEN[1]} minus exact all pairs, boilerplate out, clusters",
        [
            (m, ((BO, "components"), m), ((BO, "exact"), m))
            for m in ("precision", "recall")
        ],
    ),
)


def print_differences(runs: list[dict]) -> None:
    print("\nPaired differences over the 5 seeds: mean [95% interval]")
    for title, rows in COMPARISONS:
        print(f"{title}:")
        for label, (key_a, m_a), (key_b, m_b) in rows:
            mean, low, high = paired_interval(
                [x[key_a][m_a] - x[key_b][m_b] for x in runs]
            )
            tie = "  tie" if is_tie(low, high) else ""
            print(f"  {label:<28}{mean:+9.3f} [{low:+.3f}, {high:+.3f}]{tie}")


def main() -> None:
    print_estimate(estimate_capacity())
    print()
    runs = [run_seed(seed, REHASH if seed == SEEDS[0] else ()) for seed in SEEDS]
    print_world(runs)
    print_s_curve(runs)
    print_rehash(runs[0])
    print_work(runs)
    print_verification(runs)
    print_clusters(runs)
    print_differences(runs)


if __name__ == "__main__":
    main()
