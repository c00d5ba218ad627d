"""Visual search (search by photo) in miniature: what InfoNCE's knobs do to recall.

The program of the visual search page: the back-of-envelope estimate, then linear
image encoders trained with InfoNCE on synthetic photos (five seeded worlds), swept
over the temperature and the number of negatives, ablated on the augmentation and on
hard negatives, and compared with raw features and PCA on the same queries and
gallery, with paired intervals. The world and the training live in
:mod:`snippets.problems.visual_search_model`.
Run it: ``python -m snippets.problems.visual_search``.
"""

from __future__ import annotations

import dataclasses
import math

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
from snippets.concepts.experimentation_advanced import design_effect
from snippets.concepts.generative_ai import A100_80GB
from snippets.problems import visual_search_model as vs

# --8<-- [start:estimate]
# Stated assumptions (the interviewer can change any of them).
DAU, SEARCHES_PER_USER, PEAK_TO_MEAN = 50e6, 3, 3  # a search: one photo or one crop
IMAGES = 5e9  # distinct images after near-duplicate collapse
REGIONS_PER_IMAGE = 1  # detected objects indexed beside the whole image, on average
NEW_IMAGES_PER_DAY = 100e6
DIM, PQ_BYTES, ID_BYTES = 256, 64, 8  # embedding width; 64 sub-quantizers x 8 bits
CELLS, NPROBE = 2**20, 64  # IVF cells (about 10 sqrt(N)) and cells scanned a query
HNSW_M = 32  # for the HNSW alternative: 2M int32 links a vector on layer 0
SHORTLIST = 1_000  # PQ hits re-scored with float16 vectors read from NVMe
RANKED = 200  # survivors of the re-score that the light ranker scores
HASH_BYTES = 32  # a 256-bit perceptual hash (PDQ) per image
# GPU work per image, assumed: a detector at ~640 px, a safety classifier, and an
# encoder the size of a ViT-B/16 at 224 px (~17.6 GFLOP; call it 20).
DETECTOR_FLOP, SAFETY_FLOP, ENCODER_FLOP = 50e9, 5e9, 20e9
EMBEDS_PER_SEARCH = 2  # the chosen region and the whole photo
GPU_UTILISATION, DOLLARS_PER_GPU_HOUR = 0.3, 2.0  # assumed; use your provider's
# Index hosts, assumed: 256 GB of RAM with half for the index (the rest: OS, page
# cache, query buffers), 32 cores, two NVMe drives of 2 TB at 500,000 random reads
# a second each, PQ scanning at 15 ns a code a core (64 table lookups and adds);
# $1.50 an hour.
HOST_RAM, RAM_FOR_INDEX, HOST_CORES = 256e9, 0.5, 32
NVME_BYTES, NVME_IOPS, DRIVES_PER_HOST, NS_PER_CODE = 2e12, 500e3, 2, 15.0
DOLLARS_PER_HOST_HOUR, HOURS_PER_MONTH, ZONES = 1.50, 730, 3
BACKFILL_DAYS = 7  # to re-embed the corpus when the encoder changes
LOG_BYTES = {  # per event, assumed; every stream is counted
    "search log (ids, boxes, embedding)": (DAU * SEARCHES_PER_USER, 2_000),
    "impressions (20 seen a search)": (DAU * SEARCHES_PER_USER * 20, 50),
    "actions (clicks, saves, buys)": (DAU * SEARCHES_PER_USER * 3, 100),
    "ingestion (hash, boxes, scores)": (NEW_IMAGES_PER_DAY, 1_000),
    "consented query photos (0.1%)": (DAU * SEARCHES_PER_USER * 1e-3, 200_000),
    "ranker features as served (200 a search)": (DAU * SEARCHES_PER_USER * RANKED, 200),
}
BUDGET_MS = 300  # server-side p99, from the uploaded photo in to results out
STAGE_MS = {  # allocations, not p99s that add up: what is left is headroom
    "receive, decode, resize": 20,
    "safety check and detector (one GPU batch)": 50,
    "encode region and whole photo": 25,
    "ANN: coarse quantizer + shards in parallel": 40,
    "re-score the shortlist from NVMe": 25,
    "collapse near-duplicates, filter, rank": 25,
    "hydrate results and respond": 15,
}
# The A/B test: randomise users, read the search success rate (a click or a save).
SUCCESS_RATE, RELATIVE_MDE, TEST_SHARE = 0.40, 0.01, 0.10
INTRA_USER_CORRELATION, TEST_WEEKS = 0.05, 1  # one user's searches are alike
WEEKLY_USERS = 100e6  # more than the daily users: most do not search every day


def estimate() -> dict[str, float | str]:
    """Back-of-envelope numbers for the page, from the stated assumptions."""
    qps = peak_qps(DAU, SEARCHES_PER_USER, PEAK_TO_MEAN)
    vectors = IMAGES * (1 + REGIONS_PER_IMAGE)
    pq_copy = storage_bytes(vectors, PQ_BYTES + ID_BYTES)  # codes and ids
    quantizer = storage_bytes(CELLS, DIM * 4 + 2 * HNSW_M * 4)  # HNSW over centroids
    shards = servers_needed(pq_copy, HOST_RAM * RAM_FOR_INDEX - quantizer)
    codes_per_query = vectors * NPROBE / CELLS  # all shards together
    scan_cores = servers_needed(qps * codes_per_query * NS_PER_CODE * 1e-9, 1.0)
    rescore_reads = qps * SHORTLIST  # one random read per re-scored vector
    per_shard_copy = storage_bytes(vectors, DIM * 2) / shards  # float16 vectors
    # Replicas a shard, spread over the zones so that any two zones carry the peak
    # at half the drives' reads and half the cores (at least one copy a zone).
    replicas = max(
        servers_needed(
            rescore_reads / shards, NVME_IOPS * DRIVES_PER_HOST, 0.5, zones=ZONES
        ),
        servers_needed(scan_cores / shards, HOST_CORES, 0.5, zones=ZONES),
    )
    one_drive = servers_needed(rescore_reads / shards, NVME_IOPS, 0.5, zones=ZONES)
    surviving = replicas - replicas // ZONES  # replicas left when a zone is lost
    zone_lost_use = rescore_reads / shards / (surviving * DRIVES_PER_HOST * NVME_IOPS)
    hosts = shards * replicas
    gpu_flop = A100_80GB.peak_flops * GPU_UTILISATION
    per_image = DETECTOR_FLOP + SAFETY_FLOP + EMBEDS_PER_SEARCH * ENCODER_FLOP
    query_gpus = servers_needed(qps * per_image, gpu_flop, zones=ZONES)
    ingest_gpus = servers_needed(NEW_IMAGES_PER_DAY * per_image / 86_400, gpu_flop)
    backfill_gpu_hours = vectors * ENCODER_FLOP / gpu_flop / 3_600
    month = HOURS_PER_MONTH
    searches_independent = sample_size_per_arm(SUCCESS_RATE, RELATIVE_MDE)
    searches_per_user = DAU * SEARCHES_PER_USER * 7 * TEST_WEEKS / WEEKLY_USERS
    effect = design_effect(searches_per_user, INTRA_USER_CORRELATION)
    users_per_arm = math.ceil(searches_independent * effect / searches_per_user)
    logs = {name: storage_bytes(n, b) for name, (n, b) in LOG_BYTES.items()}
    return {
        "peak_qps": qps,
        "searches_per_day": DAU * SEARCHES_PER_USER,
        "vectors": vectors,
        "flat_copy": human_bytes(storage_bytes(vectors, DIM * 4)),
        "hnsw_copy": human_bytes(storage_bytes(vectors, DIM * 4 + 2 * HNSW_M * 4)),
        "pq_copy": human_bytes(pq_copy),
        "quantizer": human_bytes(quantizer),
        "shards": shards,
        "shard_bytes": human_bytes(pq_copy / shards),
        "replicas": replicas,
        "index_hosts": hosts,
        "index_ram": human_bytes(pq_copy * replicas),
        "codes_per_query": codes_per_query,
        "scan_bytes_per_query": human_bytes(codes_per_query * (PQ_BYTES + ID_BYTES)),
        # What the scan reads a second on each host, and on one scanning core.
        "scan_bytes_per_host": human_bytes(
            qps * codes_per_query * (PQ_BYTES + ID_BYTES) / hosts
        ),
        "scan_cores": scan_cores,
        "scan_bytes_per_core": human_bytes((PQ_BYTES + ID_BYTES) / NS_PER_CODE * 1e9),
        "host_cores": hosts * HOST_CORES,
        "rescore_reads": rescore_reads,
        "rescore_per_host": rescore_reads / hosts,
        "replicas_one_drive": one_drive,
        "drive_use_zone_lost": zone_lost_use,
        "rescore_copy": human_bytes(storage_bytes(vectors, DIM * 2)),
        "rescore_per_shard": human_bytes(per_shard_copy),
        "hashes": human_bytes(storage_bytes(IMAGES, HASH_BYTES)),
        "gflop_per_search": per_image / 1e9,
        "query_gpus": query_gpus,
        "ingest_gpus": ingest_gpus,
        "backfill_gpu_hours": backfill_gpu_hours,
        "backfill_gpus": servers_needed(backfill_gpu_hours, 24 * BACKFILL_DAYS),
        "backfill_dollars": backfill_gpu_hours * DOLLARS_PER_GPU_HOUR,
        "dollars_index": hosts * DOLLARS_PER_HOST_HOUR * month,
        "dollars_query_gpus": query_gpus * DOLLARS_PER_GPU_HOUR * month,
        "dollars_ingest_gpus": ingest_gpus * DOLLARS_PER_GPU_HOUR * month,
        # A new encoder version: a second index beside the old one until the switch.
        "dollars_second_index": hosts * DOLLARS_PER_HOST_HOUR * month,
        "logs": {name: human_bytes(b) for name, b in logs.items()},
        "logs_total": human_bytes(sum(logs.values())),
        "shard_percentile": 100 * 0.99 ** (1 / shards),
        "headroom_ms": remaining_budget_ms(BUDGET_MS, STAGE_MS),
        "searches_independent": searches_independent,
        "searches_per_user": searches_per_user,
        "design_effect": effect,
        "users_per_arm": users_per_arm,
        "test_days": duration_days(users_per_arm, 2, int(DAU), TEST_SHARE),
    }
    # --8<-- [end:estimate]


def print_estimate() -> None:
    e = estimate()
    print("Back-of-envelope (assumptions at the top of visual_search.py):")
    rows = (
        ("peak searches per second", f"{e['peak_qps']:,.0f}"),
        ("vectors indexed (images + regions)", f"{e['vectors']:,.0f}"),
        ("one copy, float32 flat", e["flat_copy"]),
        (f"one copy, HNSW M={HNSW_M} + float32", e["hnsw_copy"]),
        (f"one copy, IVF-PQ {PQ_BYTES} B codes + ids", e["pq_copy"]),
        ("  coarse quantizer, in every shard", e["quantizer"]),
        ("  shards x replicas", f"{e['shards']} x {e['replicas']}"),
        ("  index hosts, RAM for all copies", f"{e['index_hosts']}, {e['index_ram']}"),
        ("codes scanned a query, all shards", f"{e['codes_per_query']:,.0f}"),
        ("  bytes scanned a query", e["scan_bytes_per_query"]),
        ("  bytes scanned a second, per host", e["scan_bytes_per_host"]),
        ("  bytes scanned a second, per core", e["scan_bytes_per_core"]),
        ("  cores to scan at peak", f"{e['scan_cores']} of {e['host_cores']:,}"),
        ("re-score reads per second", f"{e['rescore_reads']:,.0f}"),
        ("  per index host", f"{e['rescore_per_host']:,.0f}"),
        ("  drive use, a zone lost", f"{e['drive_use_zone_lost']:.0%}"),
        ("  replicas with one drive a host", f"{e['replicas_one_drive']}"),
        ("  float16 vectors, a copy (per shard)",
         f"{e['rescore_copy']} ({e['rescore_per_shard']})"),
        ("perceptual hashes (dedup)", e["hashes"]),
        ("GPU work a search", f"{e['gflop_per_search']:.0f} GFLOP"),
        ("A100s for queries (3 zones)", f"{e['query_gpus']}"),
        ("A100s for ingestion", f"{e['ingest_gpus']}"),
        ("re-embedding the corpus", f"{e['backfill_gpu_hours']:,.0f} A100-hours"),
        (f"  A100s to finish in {BACKFILL_DAYS} days", f"{e['backfill_gpus']}"),
        ("  at $2.00 an A100-hour", f"${e['backfill_dollars']:,.0f}"),
    )  # fmt: skip
    for label, value in rows:
        print(f"  {label:<42} {value:>22}")
    print("  a month, at the assumed prices:")
    for label, key in (
        ("index hosts", "dollars_index"),
        ("query A100s", "dollars_query_gpus"),
        ("ingestion A100s", "dollars_ingest_gpus"),
        ("second index, while encoders switch", "dollars_second_index"),
    ):
        print(f"    {label:<40} {'$' + format(e[key], ',.0f'):>22}")
    print("  logs a day:")
    for name, size in e["logs"].items():
        print(f"    {name:<40} {size:>22}")
    print(f"    {'total':<40} {e['logs_total']:>22}")
    print(f"  latency budget {BUDGET_MS} ms server-side p99, allocated:")
    for stage, ms in STAGE_MS.items():
        print(f"    {stage:<44} {ms:>5} ms")
    print(f"    {'headroom for tail latency':<44} {e['headroom_ms']:>5.0f} ms")
    print(f"  each of {e['shards']} shards must meet its allocation at"
          f" p{e['shard_percentile']:.2f}")  # fmt: skip
    print(f"  A/B test, {SUCCESS_RATE:.0%} search success, {RELATIVE_MDE:.0%} relative"
          f" lift:\n    {e['searches_independent']:,} searches an arm if"
          f" independent; design effect {e['design_effect']:.2f}\n"
          f"    ({e['searches_per_user']:.1f} searches a weekly user):"
          f" {e['users_per_arm']:,} users an arm,"
          f" {e['test_days']} days at {TEST_SHARE:.0%} of traffic")  # fmt: skip


# --8<-- [start:experiment]
SEEDS = range(5)
N_TRAIN, N_GALLERY, N_QUERIES, K, STEPS = 2_000, 2_000, 500, 10, 300
LONG = 900  # a longer budget for three runs: which gaps are only convergence speed?
MAIN = "InfoNCE (temperature 0.1, 128 negatives)"
RUNS = {
    MAIN: vs.Run(0.1, 128),
    **{f"temperature {t:g}": vs.Run(t, 128) for t in (0.01, 0.03, 0.3, 1.0, 3.0)},
    **{f"{k} negative{'s' * (k > 1)}": vs.Run(0.1, k) for k in (1, 4, 16, 64)},
    "1 negative, the hardest of 128": vs.Run(0.1, 1, hardest=True),
    "augmentation: colour only": vs.Run(0.1, 128, "colour only"),
    "augmentation: pixel noise only": vs.Run(0.1, 128, "pixel noise only"),
    f"{LONG} steps: 128 negatives": vs.Run(0.1, 128, steps=LONG),
    f"{LONG} steps: 1 negative": vs.Run(0.1, 1, steps=LONG),
    f"{LONG} steps: temperature 3": vs.Run(3.0, 128, steps=LONG),
}
BASELINES = ("raw features (32 dims)", "PCA (8 dims)", "random projection (8 dims)")
NUISANCE_SCALES = (0.5, 2.0)  # PCA again, lighting and framing scaled (main: 1)
COMPARISONS = (  # (a, b): a minus b, paired by seed
    (MAIN, "raw features (32 dims)"),
    (MAIN, "PCA (8 dims)"),
    (MAIN, "temperature 3"),
    (MAIN, "temperature 1"),
    (MAIN, "temperature 0.01"),
    (MAIN, "temperature 0.3"),
    (MAIN, "1 negative"),
    (MAIN, "4 negatives"),
    (MAIN, "16 negatives"),
    (MAIN, "64 negatives"),
    ("1 negative, the hardest of 128", "1 negative"),
    ("1 negative, the hardest of 128", MAIN),
    (MAIN, "augmentation: colour only"),
    (MAIN, "augmentation: pixel noise only"),
    (f"{LONG} steps: 128 negatives", MAIN),
    (f"{LONG} steps: 1 negative", "1 negative"),
    (f"{LONG} steps: 128 negatives", f"{LONG} steps: 1 negative"),
    (f"{LONG} steps: 128 negatives", f"{LONG} steps: temperature 3"),
)


def one_world(seed: int) -> dict[str, dict[str, float]]:
    """Every method on one world: recall@K, and how each encoder treats nuisance."""
    rng = np.random.default_rng(seed)
    world = vs.make_world(rng)
    training = vs.draw_images(world, N_TRAIN, rng)
    gallery_images = vs.draw_images(world, N_GALLERY, rng)
    weights = vs.train_encoders(world, training, list(RUNS.values()), rng, STEPS)
    encoders = dict(zip(RUNS, weights, strict=True))
    encoders["raw features (32 dims)"] = np.eye(vs.RAW_DIM)
    encoders["PCA (8 dims)"] = vs.pca_encoder(vs.photograph(world, *training, rng))
    random = rng.standard_normal((vs.EMBED_DIM, vs.RAW_DIM))
    encoders["random projection (8 dims)"] = random
    # The same gallery and queries for every method: a new photo of a held-out
    # image, colour and crop redrawn, must find that image among N_GALLERY.
    gallery = vs.photograph(world, *gallery_images, rng)
    targets = rng.choice(N_GALLERY, N_QUERIES, replace=False)
    identity, nuisance = (part[targets] for part in gallery_images)
    every = vs.AUGMENTATIONS["colour and crop"]
    queries = vs.photograph(
        world, identity, vs.augment(world, nuisance, every, rng), rng
    )
    colour, crop = vs.AUGMENTATIONS["colour only"], ~vs.AUGMENTATIONS["colour only"]
    results = {}
    for name, w in encoders.items():
        g = vs.embed(w, gallery)
        results[name] = {
            "recall": vs.recall_at_k(vs.embed(w, queries), g, targets, K),
            "dims": vs.dimensions_used(g),
            "colour": vs.sensitivity(w, world, (identity, nuisance), colour, rng),
            "crop": vs.sensitivity(w, world, (identity, nuisance), crop, rng),
        }
    kept = vs.variance_kept(encoders["PCA (8 dims)"], world)
    results["PCA (8 dims)"] |= {"identity kept": kept[0], "nuisance kept": kept[1]}
    for scale in NUISANCE_SCALES:
        results |= nuisance_scaled(
            world, (training, gallery_images), targets, scale, rng
        )
    return results


def nuisance_scaled(world, images, targets, scale, rng) -> dict[str, dict[str, float]]:
    """Raw features and PCA on the same images, lighting and framing scaled."""
    world = dataclasses.replace(world, nuisance_scale=scale)
    training, gallery_images = ((ids, scale * nuisance) for ids, nuisance in images)
    pca = vs.pca_encoder(vs.photograph(world, *training, rng))
    gallery = vs.photograph(world, *gallery_images, rng)
    identity, nuisance = (part[targets] for part in gallery_images)
    every = vs.AUGMENTATIONS["colour and crop"]
    queries = vs.photograph(
        world, identity, vs.augment(world, nuisance, every, rng), rng
    )
    found = {}
    for name, w in (("raw features", np.eye(vs.RAW_DIM)), ("PCA", pca)):
        g, q = vs.embed(w, gallery), vs.embed(w, queries)
        found[f"{name}, nuisance x{scale:g}"] = {
            "recall": vs.recall_at_k(q, g, targets, K)
        }
    kept = vs.variance_kept(pca, world)
    found[f"PCA, nuisance x{scale:g}"] |= {
        "identity kept": kept[0],
        "nuisance kept": kept[1],
    }
    return found


def run_experiment() -> dict[str, dict[str, np.ndarray]]:
    """Method -> metric -> one value per seed."""
    with threadpool_limits(limits=1):  # small matrices: threads cost more than they buy
        worlds = [one_world(seed) for seed in SEEDS]
    return {
        name: {m: np.array([w[name][m] for w in worlds]) for m in worlds[0][name]}
        for name in worlds[0]
    }
    # --8<-- [end:experiment]


def spread(values: np.ndarray) -> str:
    return f"{values.mean():.3f} [{values.min():.3f}-{values.max():.3f}]"


def print_experiment(results: dict[str, dict[str, np.ndarray]]) -> None:
    print(
        f"\n{len(SEEDS)} seeds; each world: {N_TRAIN:,} training images, a gallery"
        f" of {N_GALLERY:,} held-out\nimages, {N_QUERIES} queries (a new photo of a"
        f" gallery image, colour and crop redrawn).\nLinear encoders {vs.RAW_DIM} ->"
        f" {vs.EMBED_DIM} dims, {STEPS} Adam steps of 32 anchors ({LONG} for three"
        f" runs),\n128 other images a step as negatives (never an anchor's own image),"
        " exact cosine\nsearch."
    )
    print("Sensitivity to a colour or a crop redraw: the squared distance it moves a")
    print("photo's embedding over that between two images (0: invariant). Dims: how")
    print("many dimensions the gallery's embeddings spread over (participation ratio).")
    print(f"\n{'method':<42} {'recall@' + str(K):>10} {'[min-max]':>13}"
          f" {'colour':>6} {'crop':>5} {'dims':>5}")  # fmt: skip
    groups = (
        ("Baselines", BASELINES),
        ("InfoNCE, augmented", [MAIN]),
        ("Temperature (128 negatives)",
         [f"temperature {t:g}" for t in (0.01, 0.03)] + [MAIN]
         + [f"temperature {t:g}" for t in (0.3, 1.0, 3.0)]),
        ("Negatives (temperature 0.1)",
         [f"{k} negative{'s' * (k > 1)}" for k in (1, 4, 16, 64)]
         + [MAIN, "1 negative, the hardest of 128"]),
        ("Augmentation ablation", [MAIN] + [n for n in RUNS if "augmentation" in n]),
        (f"Training budget: 300 steps, then {LONG}",
         [MAIN, f"{LONG} steps: 128 negatives",
          "1 negative", f"{LONG} steps: 1 negative",
          "temperature 3", f"{LONG} steps: temperature 3"]),
    )  # fmt: skip
    for title, names in groups:
        print(title)
        for name in names:
            r = results[name]
            label = "  " + (name if name != MAIN else "InfoNCE, t 0.1, 128 negatives")
            print(f"{label:<42} {spread(r['recall']):>24} {r['colour'].mean():6.2f}"
                  f" {r['crop'].mean():5.2f} {r['dims'].mean():5.1f}")  # fmt: skip
    print(f"\nPaired differences in recall@{K} over {len(SEEDS)} seeds:"
          " mean [95% interval]")  # fmt: skip
    for a, b in COMPARISONS:
        mean, low, high = paired_interval(results[a]["recall"] - results[b]["recall"])
        tie = "  tie" if is_tie(low, high) else ""
        a_label = "InfoNCE" if a == MAIN else a
        b_label = "InfoNCE" if b == MAIN else b
        print(f"  {a_label + ' minus ' + b_label:<56}"
              f" {mean:+.3f} [{low:+.3f}, {high:+.3f}]{tie}")  # fmt: skip
    print("\nPCA keeps the directions of largest variance. The same images with the")
    print("nuisance (colour and crop) scaled; the share of the identity's and of the")
    print("nuisance's variance that PCA's 8 dimensions keep:")
    print(f"{'nuisance scale':<16} {'raw features':>20} {'PCA (8 dims)':>20}"
          f" {'identity':>9} {'nuisance':>9}")  # fmt: skip
    for scale in sorted((1.0, *NUISANCE_SCALES)):
        suffix = "" if scale == 1 else f", nuisance x{scale:g}"
        raw = results[
            ("raw features (32 dims)" if scale == 1 else "raw features") + suffix
        ]
        pca = results[("PCA (8 dims)" if scale == 1 else "PCA") + suffix]
        print(f"  x{scale:<13g} {spread(raw['recall']):>20} {spread(pca['recall']):>20}"
              f" {pca['identity kept'].mean():9.2f}"
              f" {pca['nuisance kept'].mean():9.2f}")  # fmt: skip


def main() -> None:
    print_estimate()
    print_experiment(run_experiment())


if __name__ == "__main__":
    main()
