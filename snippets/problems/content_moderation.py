"""Harmful content moderation: the capacity estimate and the miniature's experiment.

Two questions the design turns on, each answered on synthetic days whose ground
truth no model sees. Which items should a review queue of fixed daily capacity
take? Ordered by expected harm (calibrated P(violation) x severity x predicted
views) against the raw max score, with one term removed at a time. And how
precisely can a fixed labelling budget measure prevalence, the share of views
that were of violating content? A sample stratified by score band against a
simple random sample of views, with interval widths and coverage.

Run it: ``python -m snippets.problems.content_moderation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from statistics import NormalDist

import numpy as np

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import paired_interval
from snippets.concepts.classification_metrics import average_precision
from snippets.framework.cost import GPU
from snippets.problems import content_moderation_prevalence as prev
from snippets.problems import content_moderation_queue as cq

SEEDS = (0, 1, 2, 3, 4)
TRAIN, CALIBRATION, DAY = 10_000, 8_000, 20_000  # items per sample
CAPACITY = 300  # reviews a day in the miniature: 1.5% of the day's uploads
TARGET_PRECISION = 0.9  # auto-action only above this precision on labelled data
LABEL_BUDGET, REPETITIONS = 1_000, 1_000  # prevalence labels a day; repeats a seed
# The sweep: spread of true log views and noise of the log forecast (the miniature's
# world is sigma 1.8, noise 0.8).
SWEEP_SIGMA, SWEEP_NOISE = (0.5, 1.0, 1.8), (0.4, 0.8, 1.6)


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Uploads, peak QPS and GPU dollars per modality, reviewers, log streams."""
    dau = 1e9  # assumed: a large social platform
    # Uploads a user a day (assumed): posts and comments, photos, videos.
    uploads_per_user = {"text": 3.0, "image": 0.5, "video": 0.05}
    # FLOPs an item: ~2 per weight per token, counting only the transformer
    # layers: the embedding table, most of a multilingual encoder, is a lookup.
    text_flops = 2 * 100e6 * 128  # 100M non-embedding weights, 128 tokens
    image_flops = 2 * 86e6 * 197  # ViT-B/16 at 224 x 224: 197 tokens
    video_seconds, audio_flops_per_s = 60, 2 * 40e6 * 50  # 40M audio encoder
    flops = {
        "text": text_flops,
        "image": image_flops,
        # one frame a second through the image encoder, the audio, the caption
        "video": video_seconds * (image_flops + audio_flops_per_s) + text_flops,
    }
    gpu = replace(GPU, efficiency=0.30)  # batched encoders: assumed, measure it
    # Human review (assumed): reviews a day and seconds each, per stream. Quality
    # labels: a prevalence sample of 50,000 views, a random slice of 1% on top of
    # the queue, a second review of 5% of its decisions. A reviewer is productive
    # 6 hours of a paid 8-hour shift, on 5 days of 7, at $25 a paid hour, loaded.
    reviews, appeals = 1e6, 0.03 * 10e6  # appeals: 3% of an assumed 10M removals
    streams = {
        "queue": (reviews, 40.0),
        "appeals": (appeals, 90.0),
        "quality": (50e3 + 0.01 * reviews + 0.05 * reviews, 40.0),
    }
    productive_hours, paid_hours, days_on, dollars_per_hour = 6.0, 8.0, 5 / 7, 25.0
    per_modality = {}
    for modality, rate in uploads_per_user.items():
        qps = peak_qps(dau, rate, peak_to_average=2.0)
        gpus = servers_needed(qps * flops[modality], gpu.sustained_flops)
        per_modality[modality] = {
            "uploads_per_day": dau * rate,
            "share": rate / sum(uploads_per_user.values()),
            "peak_qps": qps,
            "gflop": flops[modality] / 1e9,
            "gpus": gpus,
            "dollars_per_day": gpus * 24 * gpu.dollars_per_hour,
        }
    reviewers = {
        name: servers_needed(n * s / 3600 / productive_hours / days_on, 1)
        for name, (n, s) in streams.items()
    }
    review_hours = sum(n * s for n, s in streams.values()) / 3600  # productive
    review_dollars = review_hours / productive_hours * paid_hours * dollars_per_hour
    one_review = (
        streams["queue"][1] / 3600 / productive_hours * paid_hours * dollars_per_hour
    )
    # A text classification on the fleet as sized (for the peak, kept all day).
    one_text = per_modality["text"]["dollars_per_day"] / (
        dau * uploads_per_user["text"]
    )
    gpu_dollars = sum(m["dollars_per_day"] for m in per_modality.values())
    uploads = dau * sum(uploads_per_user.values())
    scorings = uploads * (1 + 0.5)  # an assumed 0.5 re-scores an upload
    logs = {  # bytes a day, one copy
        "scores: 6 policies, model version": storage_bytes(scorings, 100),
        "features as served, 1 kB a score": storage_bytes(scorings, 1_000),
        "embeddings: 768 x fp16 an upload": storage_bytes(uploads, 768 * 2),
        "views: 150 a user, 40 B each": storage_bytes(dau * 150, 40),
        "user reports: 20M, 500 B": storage_bytes(20e6, 500),
        "decisions: removals + reviews, 1 kB": storage_bytes(
            10e6 + streams["queue"][0] + streams["quality"][0], 1_000
        ),
        "appeals and outcomes, 2 kB": storage_bytes(appeals, 2_000),
    }
    stages_ms = {  # inline check of a text or image post before it is distributed
        "upload receipt, media write": 60,
        "hash match against banks": 20,
        "text encoder and heads": 30,
        "image encoder and heads (batched)": 80,
        "policy engine, decision write": 10,
    }
    gpus = sum(m["gpus"] for m in per_modality.values())
    return {
        "dau": dau,
        "modalities": per_modality,
        "gpus": gpus,
        "gpu_dollars_per_day": gpu_dollars,
        # One encoder per policy instead of a shared backbone with six heads.
        "gpus_model_per_policy": gpus * len(cq.POLICIES),
        "image_ms_on_one_gpu": 1e3 * image_flops / gpu.sustained_flops,
        "uploads_per_day": uploads,
        "gpu": gpu.name,
        "gpu_dollars_per_hour": gpu.dollars_per_hour,
        "reviews_per_day": reviews,
        "review_share_of_uploads": reviews / uploads,
        "appeals_per_day": appeals,
        "quality_reviews_per_day": streams["quality"][0],
        "reviewers": reviewers,
        "review_dollars_per_day": review_dollars,
        "review_over_gpus": review_dollars / gpu_dollars,
        "review_dollars": one_review,
        "text_dollars": one_text,
        "reviews_per_text_cost": one_review / one_text,
        "logs": {name: human_bytes(size) for name, size in logs.items()},
        "logs_per_day_3_replicas": human_bytes(3 * sum(logs.values())),
        "budget_ms": 250.0,
        "stages_ms": stages_ms,
        "headroom_ms": remaining_budget_ms(250.0, stages_ms),
    }
    # --8<-- [end:estimate]


# --8<-- [start:experiment]
def run_seed(seed: int) -> dict:
    """One synthetic day: heads, auto-action, every queue order, prevalence."""
    world, rng = cq.make_world(seed), np.random.default_rng([seed, 1])
    train, calib, day = (cq.sample_uploads(world, n, rng)
                         for n in (TRAIN, CALIBRATION, DAY))  # fmt: skip
    heads = cq.train_heads(train, calib)
    raw = heads.raw(day.features)
    calibrated = cq.calibrate(raw, heads.platt)
    thresholds = np.array([
        cq.auto_threshold(calib.labels[:, k], p, TARGET_PRECISION)
        for k, p in enumerate(heads.calibrated(calib.features).T)
    ])  # fmt: skip
    flagged = calibrated >= thresholds  # (n, K): per-policy auto-action decisions
    auto = flagged.any(axis=1)
    harm, violating = cq.true_harm(day), day.labels.any(axis=1)
    violating_views = violating * day.views
    severe = day.labels[:, :3] @ cq.SEVERITY[:3] * day.views  # the 3 most severe
    out = {"auto harm": harm[auto].sum() / harm.sum(), "auto items": auto.sum()}
    for name, priority in cq.orderings(calibrated, raw, day).items():
        reviewed = cq.review_queue(priority, ~auto, CAPACITY)
        out[name] = {
            "harm": 100 * harm[reviewed].sum() / harm.sum(),
            "violating views": 100
            * violating_views[reviewed].sum()
            / violating_views.sum(),
            "severe harm": 100 * severe[reviewed].sum() / severe.sum(),
            "hit rate": 100 * violating[reviewed].mean(),
        }
    # The same labels and scores under other views worlds (common random numbers).
    views_blind = cq.expected_harm(calibrated, cq.SEVERITY, day.views, use_views=False)
    fixed = {  # orders that do not read views: the same queue in every views world
        "raw max score": cq.review_queue(raw.max(axis=1), ~auto, CAPACITY),
        "without the views term": cq.review_queue(views_blind, ~auto, CAPACITY),
    }
    out["sweep"] = {
        (sigma, noise): sweep_cell(
            cq.with_views(day, sigma, noise), sigma, noise, calibrated, fixed, auto
        )
        for sigma in SWEEP_SIGMA
        for noise in SWEEP_NOISE
    }
    # The design's queue: what auto-action and review catch, what stays up.
    reviewed = cq.review_queue(
        cq.expected_harm(calibrated, cq.SEVERITY, day.predicted_views), ~auto, CAPACITY
    )
    caught = auto.copy()
    caught[reviewed] = True
    removed = auto | (caught & violating)  # reviewers remove true violations only
    out["policies"] = [
        {
            "rate": day.labels[:, k].mean(),
            "pr_auc": average_precision(day.labels[:, k], calibrated[:, k]),
            "raw/rate": raw[:, k].mean() / day.labels[:, k].mean(),
            "cal/rate": calibrated[:, k].mean() / day.labels[:, k].mean(),
            "auto": np.isfinite(thresholds[k]),
            "tp": np.sum(flagged[:, k] & (day.labels[:, k] == 1)),
            "flagged": flagged[:, k].sum(),
            "positives": day.labels[:, k].sum(),
            "caught": np.sum(caught & (day.labels[:, k] == 1)),
        }
        for k in range(len(cq.POLICIES))
    ]
    # Prevalence of the views still to come on what enforcement left up.
    kept = ~removed
    any_policy = 1 - np.prod(1 - calibrated, axis=1)  # a guess, for the strata
    out["prevalence"] = {
        name: prev.compare_designs(
            labels[kept], day.views[kept], score[kept], LABEL_BUDGET, REPETITIONS,
            np.random.default_rng([seed, 2]),
        )
        for name, labels, score in (
            ("any policy", violating.astype(int), any_policy),
            ("violent extremism", day.labels[:, 0], calibrated[:, 0]),
        )
    }  # fmt: skip
    return out


def run_experiment(seeds: Sequence[int] = SEEDS) -> list[dict]:
    """Every seed's results, in order."""
    return [run_seed(seed) for seed in seeds]


def compare(runs: list[dict], a: str, b: str, metric: str) -> tuple:
    """Queue order a minus order b on one metric, paired by seed."""
    return paired_interval([r[a][metric] - r[b][metric] for r in runs])
    # --8<-- [end:experiment]


def sweep_cell(
    day: cq.Uploads,
    sigma: float,
    noise: float,
    calibrated: np.ndarray,
    fixed: dict[str, np.ndarray],
    auto: np.ndarray,
) -> dict[str, float]:
    """Harm prevented (% of the day's) by each order on one views world; `fixed`
    holds the queues of the orders that do not read views. The shrunk forecast is
    the expected views given the forecast, as a forecast calibrated on past days."""
    harm = cq.true_harm(day)
    forecasts = {
        "expected harm": day.predicted_views,
        "shrunk forecast": cq.expected_views(day.predicted_views, sigma, noise),
    }
    queues = {
        name: cq.review_queue(
            cq.expected_harm(calibrated, cq.SEVERITY, views), ~auto, CAPACITY
        )
        for name, views in forecasts.items()
    }
    queues.update(fixed)
    return {name: 100 * harm[q].sum() / harm.sum() for name, q in queues.items()}


QUEUE_METRICS = ("harm", "violating views", "severe harm", "hit rate")
COMPARISONS = (  # (a, b, metrics): a minus b, percentage points
    ("expected harm", "raw max score", QUEUE_METRICS),
    ("expected harm", "  without calibration", ("harm", "hit rate")),
    ("expected harm", "  without the views term", ("harm", "hit rate")),
    ("expected harm", "  without severity", QUEUE_METRICS[:3]),
    ("oracle (true harm)", "expected harm", ("harm",)),
)


def print_estimate() -> None:
    est = estimate_capacity()
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(f"  daily active users {est['dau']:>30,.0f}")
    print(f"  uploads a day, all modalities {est['uploads_per_day']:>19,.0f}")
    print(f"  GPU: {est['gpu']} at 30% of peak, ${est['gpu_dollars_per_hour']}/h")
    print("  modality   uploads/day  share  peak/s  GFLOP/item  GPUs  $/day")
    for modality, m in est["modalities"].items():
        print(
            f"  {modality:<6}{m['uploads_per_day']:>16,.0f}{m['share']:>7.1%}"
            f"{m['peak_qps']:>8,.0f}{m['gflop']:>12,.1f}{m['gpus']:>6,}"
            f"{m['dollars_per_day']:>7,.0f}"
        )
    print(
        f"  all modalities: {est['gpus']} GPUs, ${est['gpu_dollars_per_day']:,.0f} a "
        f"day; one encoder per policy: {est['gpus_model_per_policy']:,} GPUs"
    )
    print(f"  image encoder, one item on one GPU: {est['image_ms_on_one_gpu']:.1f} ms")
    reviewers = est["reviewers"]
    print(
        f"  review queue {est['reviews_per_day']:,.0f} a day "
        f"({est['review_share_of_uploads']:.3%} of uploads): "
        f"{reviewers['queue']:,} reviewers"
    )
    print(
        f"  quality labels {est['quality_reviews_per_day']:,.0f} a day: "
        f"{reviewers['quality']:,} more (prevalence, random slice, 2nd review)"
    )
    print(
        f"  appeals {est['appeals_per_day']:,.0f} a day: {reviewers['appeals']:,} "
        f"more; {sum(reviewers.values()):,} reviewers in all"
    )
    print(
        f"  human review, paid shifts: ${est['review_dollars_per_day']:,.0f} a day, "
        f"{est['review_over_gpus']:.0f}x the GPUs"
    )
    per_review = float(f"{est['reviews_per_text_cost']:.2g}")  # 2 significant digits
    print(
        f"  one review ${est['review_dollars']:.2f} = about {per_review:,.0f} text "
        f"classifications at ${est['text_dollars']:.1e} each"
    )
    print(f"  log streams a day (one copy), {len(est['logs'])} of them:")
    for name, size in est["logs"].items():
        print(f"    {name:<38}{size:>10}")
    print(f"    all streams, 3 replicas {est['logs_per_day_3_replicas']:>24}")
    print(f"  inline check of a text or image post, {est['budget_ms']:.0f} ms p99:")
    for name, ms in {**est["stages_ms"], "headroom": est["headroom_ms"]}.items():
        print(f"    {name:<38}{ms:>7.0f} ms")


def print_policies(runs: list[dict]) -> None:
    print(
        f"\nPer policy, test days pooled over {len(runs)} seeds; auto-action where "
        f"precision >= {TARGET_PRECISION:.0%}\non the labelled sample "
        "(auto: seeds with a threshold)"
    )
    print("policy             sev   rate PR-AUC raw/rate cal/rate auto  prec  "
          "recall caught")  # fmt: skip
    for k, policy in enumerate(cq.POLICIES):
        rows = [r["policies"][k] for r in runs]
        total = {key: sum(row[key] for row in rows) for key in
                 ("tp", "flagged", "positives", "caught")}  # fmt: skip
        precision = (
            f"{total['tp'] / total['flagged']:>6.3f}" if total["flagged"] else "     -"
        )
        print(
            f"{policy.name:<18}{policy.severity:>4.0f}"
            f"{np.mean([row['rate'] for row in rows]):>7.2%}"
            f"{np.mean([row['pr_auc'] for row in rows]):>7.3f}"
            f"{np.mean([row['raw/rate'] for row in rows]):>9.1f}"
            f"{np.mean([row['cal/rate'] for row in rows]):>9.2f}"
            f"{sum(row['auto'] for row in rows):>4}/{len(rows)}"
            f"{precision}{total['tp'] / total['positives']:>7.3f}"
            f"{total['caught'] / total['positives']:>7.3f}"
        )
    print("auto-action precision on each seed's test day (pooled in the table above):")
    for k, policy in enumerate(cq.POLICIES):
        per_seed = [r["policies"][k]["tp"] / r["policies"][k]["flagged"]
                    for r in runs if r["policies"][k]["flagged"]]  # fmt: skip
        if per_seed:
            print(f"  {policy.name:<16}{min(per_seed):.3f} to {max(per_seed):.3f}")


def print_queue(runs: list[dict]) -> None:
    auto = np.mean([r["auto harm"] for r in runs])
    print(
        f"\nReview queue: {CAPACITY} reviews a day from {DAY:,} uploads; auto-action "
        f"took\n{np.mean([r['auto items'] for r in runs]):.1f} items and "
        f"{auto:.1%} of the day's harm first. Mean of {len(runs)} seeds, % of the day:"
    )
    print("queue order                harm prevented  violating views  "
          "severe harm  hit rate")  # fmt: skip
    for name in runs[0]:
        if isinstance(runs[0][name], dict) and "harm" in runs[0][name]:
            cells = [np.mean([r[name][m] for r in runs]) for m in QUEUE_METRICS]
            print(
                f"{name:<27}{cells[0]:>14.1f}{cells[1]:>17.1f}{cells[2]:>13.1f}"
                f"{cells[3]:>10.1f}"
            )


def print_sweep(runs: list[dict]) -> None:
    print(
        "\nViews world swept (same labels, scores and normal draws): harm prevented,"
        "\nexpected harm minus each order, points, mean [95% interval] over "
        f"{len(runs)} seeds"
    )
    z90 = NormalDist().inv_cdf(0.9)
    titles = {
        "expected harm": "the forecast as it is",
        "shrunk forecast": "the forecast shrunk to E[views | it]",
    }
    for forecast, title in titles.items():
        print(f"with {title}:")
        print("sigma p90/p10 noise  corr      minus raw max score  minus no views term")
        for sigma, noise in runs[0]["sweep"]:
            cells = [r["sweep"][sigma, noise] for r in runs]
            diffs = [
                paired_interval([c[forecast] - c[other] for c in cells])
                for other in ("raw max score", "without the views term")
            ]
            print(
                f"{sigma:>5.1f}{np.exp(2 * z90 * sigma):>8.1f}{noise:>6.1f}"
                f"{sigma / np.hypot(sigma, noise):>6.2f}"
                + "".join(
                    f"{f'{m:+.2f} [{lo:+.2f}, {hi:+.2f}]':>25}" for m, lo, hi in diffs
                )
            )


def print_prevalence(runs: list[dict]) -> list[tuple]:
    print(
        f"\nPrevalence of violating views left up, {LABEL_BUDGET:,} labels, "
        f"{len(runs)} seeds x {REPETITIONS:,} samples"
    )
    print("population / design           truth  mean est.  width (pp)  coverage"
          "  per seed")  # fmt: skip
    lines = []
    for name in runs[0]["prevalence"]:
        results = [r["prevalence"][name] for r in runs]
        truth = np.mean([p["truth"] for p in results])
        print(f"{name:<29}{truth:>6.3%}")
        widths = {}
        for design, label in (("srs", "simple random sample"),
                              ("stratified", "stratified by score")):  # fmt: skip
            est = np.concatenate([p[f"{design}_estimate"] for p in results])
            width = np.concatenate([p[f"{design}_width"] for p in results])
            covers = [p[f"{design}_covers"].mean() for p in results]
            widths[design] = [p[f"{design}_width"].mean() for p in results]
            print(
                f"  {label:<27}{'':>6}{est.mean():>10.3%}{100 * width.mean():>12.2f}"
                f"{np.mean(covers):>10.1%}  {min(covers):.1%}-{max(covers):.1%}"
            )
        # Exact over the binomial, at each seed's truth: width is not 1/sqrt(n)
        # when a sample holds only a few violating views.
        needed = prev.srs_labels_for_width(
            [p["truth"] for p in results], np.mean(widths["stratified"])
        )
        print(f"  labels a simple random sample needs for that width: {needed:,}")
        diff = [100 * (s - r) for s, r in zip(widths["stratified"], widths["srs"],
                                             strict=True)]  # fmt: skip
        lines.append((f"width, {name}", paired_interval(diff)))
    return lines


def main() -> None:
    print_estimate()
    runs = run_experiment()
    print_policies(runs)
    print_queue(runs)
    print_sweep(runs)
    widths = print_prevalence(runs)
    print(f"\nPaired differences over the {len(runs)} seeds: mean [95% interval]")
    for a, b, metrics in COMPARISONS:
        print(f"{a.strip()} minus {b.strip()}, percentage points:")
        for metric in metrics:
            mean, low, high = compare(runs, a, b, metric)
            tie = "  tie" if low <= 0 <= high else ""
            print(f"  {metric:<34}{mean:>+7.2f} [{low:+.2f}, {high:+.2f}]{tie}")
    print("stratified minus simple random sample, percentage points:")
    for label, (mean, low, high) in widths:
        tie = "  tie" if low <= 0 <= high else ""
        print(f"  {label:<34}{mean:>+7.2f} [{low:+.2f}, {high:+.2f}]{tie}")


if __name__ == "__main__":
    main()
