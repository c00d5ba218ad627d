"""Text-to-image generation: the serving estimate, and a diffusion model in miniature.

The estimate turns a stated traffic into images a second, counts the FLOPs of
one 1,024 px image layer by layer (``text_to_image_serving``), and prices three
sampling recipes on three GPUs. The miniature (``text_to_image_diffusion``) trains
a tiny denoiser on 2-D "images" whose distribution is known, then measures what
the page argues: quality against the number of sampling steps for DDPM and DDIM,
the learned denoiser against the exact one (model error against sampler error),
the guidance scale trading diversity for prompt adherence, a one-call distilled
student, and the sample-size bias of the Fréchet distance. Five seeds; paired
differences with a 95% interval.

Run it: ``python -m snippets.problems.text_to_image``.
"""

from __future__ import annotations

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
from snippets.common.stats import paired_interval
from snippets.concepts.generative_ai import A100_40GB, H100_SXM, L4
from snippets.framework.cost import CPU as C7I_8XLARGE
from snippets.framework.cost import GPU as G6_XLARGE
from snippets.framework.cost import H100_DOLLARS_PER_HOUR, HOURS_PER_MONTH
from snippets.framework.cost import TRAINER as P4D_24XLARGE
from snippets.problems import text_to_image_diffusion as dm
from snippets.problems.text_to_image_serving import (
    DIT_XL_2,
    PIXART_ALPHA,
    T5_XXL,
    image_tflop,
    layer_cost,
    tiered_cost,
    vae_decoder_layers,
    wait_quantile,
)

PIXELS = 1_024
IMAGES_PER_REQUEST = 4
RECIPES = {  # sampling recipe -> (network evaluations per image, guided)
    "50 steps, guided": (50, True),
    "20 steps, guided": (20, True),
    "4 steps, distilled": (4, False),  # guidance distilled into the student
}
# Hourly prices: AWS on demand, us-east-1, from AWS's price list of 2026-01-19 (as
# generated in github.com/aws/karpenter-provider-aws, zz_generated.pricing_aws.go):
# g6.xlarge, one L4, $0.8048, and p4d.24xlarge, eight A100 40GB, $21.957642, as
# snippets/framework/cost.py states them; p5.48xlarge, eight H100 SXM, $55.04.
# The p4d's A100 is the 40GB part (A100_40GB).
GPUS = {
    "L4": (L4, G6_XLARGE.dollars_per_hour),
    "A100": (A100_40GB, P4D_24XLARGE.dollars_per_hour / 8),
    "H100": (H100_SXM, H100_DOLLARS_PER_HOUR),
}
# Storage and delivery, us-east-1 list prices (assumptions to check before quoting):
# S3 Standard per GB-month, https://aws.amazon.com/s3/pricing/ (first 50 TB, next
# 450 TB, beyond); CloudFront to the United States per GB a month,
# https://aws.amazon.com/cloudfront/pricing/ (10 TB, 40 TB, 100 TB, 350 TB, 524 TB,
# 4 PB, beyond). S3 already keeps copies in three zones: one stored copy is billed.
S3_TIERS = ((50e3, 0.023), (450e3, 0.022), (math.inf, 0.021))
CDN_TIERS = (
    (10e3, 0.085), (40e3, 0.080), (100e3, 0.060), (350e3, 0.040),
    (524e3, 0.030), (4e6, 0.025), (math.inf, 0.020),
)  # fmt: skip
CORES_PER_CPU_HOST = 16  # c7i.8xlarge: 16 cores (32 vCPUs)


# --8<-- [start:estimate]
def estimate() -> dict:
    """Traffic, FLOPs per image, GPU time and cost, queueing, storage, logs."""
    dau, prompts_per_user, peak_factor = 2e6, 5, 3.0  # assumed; evening peaks
    mfu = 0.40  # assumed share of dense peak FLOP/s a 4,096-token DiT sustains
    busy = 0.70  # target GPU utilisation: leaves room for bursts and queues
    requests_per_day = dau * prompts_per_user
    peak_requests = peak_qps(dau, prompts_per_user, peak_factor)
    recipes = {
        name: image_tflop(PIXART_ALPHA, PIXELS, steps, guided)
        for name, (steps, guided) in RECIPES.items()
    }
    table = {}
    for recipe, tflop in recipes.items():
        for gpu_name, (gpu, dollars_per_hour) in GPUS.items():
            seconds = tflop["total"] * 1e12 / (gpu.peak_flops * mfu)
            table[recipe, gpu_name] = {
                "s_per_image": seconds,
                "s_per_request": seconds * IMAGES_PER_REQUEST,  # one GPU, batched
                "dollars_per_1k": (
                    None
                    if dollars_per_hour is None
                    else seconds * dollars_per_hour / 3600 * 1_000
                ),
            }
    chosen = table["4 steps, distilled", "L4"]  # the default tier, costed below
    peak_images = peak_requests * IMAGES_PER_REQUEST
    weight_bytes = 2 * PIXART_ALPHA.block_weights()  # fp16
    per_request = {  # TFLOP of one request (4 images) on the chosen recipe, by stage
        stage: tflop * IMAGES_PER_REQUEST
        for stage, tflop in recipes["4 steps, distilled"].items()
    }

    def l4_ms(tflop: float) -> int:
        return round(1e3 * tflop * 1e12 / (L4.peak_flops * mfu))

    # The text encoder at batch 1 reads 9 GB of weights for 120 tokens: bound by
    # memory bandwidth, not FLOPs, so its stage is the slower of the two.
    t5_bytes = 2 * T5_XXL.layer_parameters  # fp16
    t5_ms = max(
        l4_ms(per_request["text encoder"]), round(1e3 * t5_bytes / L4.bandwidth)
    )

    stages_ms = {  # server-side p99 allocations; the GPU stages are computed
        "front end, auth, prompt checks": 100,
        "queue wait for a GPU": 400,
        "text encoder, one prompt": t5_ms,
        "4 steps x 4 images, denoiser": l4_ms(per_request["denoiser"]),
        "VAE decoder, 4 images": l4_ms(per_request["vae decoder"]),
        "image safety classifiers": 60,
        "watermark, encode, store": 150,
    }
    image_bytes, gallery_days = 300e3, 30  # assumed: 1,024 px WebP; free-tier days
    flagged_share, flagged_days, log_days = 0.03, 90, 90  # assumed retention
    images_per_day = requests_per_day * IMAGES_PER_REQUEST
    logs = {  # bytes a day per stream (assumed record sizes)
        "requests": requests_per_day * 500,  # prompt, settings, seed, model version
        "images": images_per_day * 200,  # id, seed, safety scores, storage key
        "feedback": requests_per_day * 2 * 100,  # downloads, re-rolls, reports
        "flagged for review": requests_per_day * flagged_share * 1_000,  # decisions
    }
    # Reviewers and legal reports need the blocked or flagged images themselves.
    flagged_images = requests_per_day * flagged_share * IMAGES_PER_REQUEST * image_bytes
    stored_gb = (  # steady state, one billed copy (the store replicates itself)
        storage_bytes(images_per_day * gallery_days, image_bytes)
        + flagged_images * flagged_days
        + sum(logs.values()) * log_days
    ) / 1e9
    month_days = HOURS_PER_MONTH / 24
    egress_gb = images_per_day * image_bytes / 1e9  # each image delivered once
    cpu_core_s = requests_per_day * 0.02 + images_per_day * 0.10  # assumed: 20 ms
    # of CPU a request (front end, prompt checks), 100 ms an image (encode, mark)
    core_dollars_per_hour = C7I_8XLARGE.dollars_per_hour / CORES_PER_CPU_HOST
    gpu_day = images_per_day * chosen["dollars_per_1k"] / 1_000 / busy
    quality_share = 0.10  # assumed share of requests on the paid quality tier
    quality = table["20 steps, guided", "H100"]["dollars_per_1k"] / busy
    bill = {  # dollars a day, fleets autoscaled to the load at `busy`
        "student L4s": gpu_day,
        "classifier L4s": gpu_day
        * stages_ms["image safety classifiers"]
        / 1e3
        / chosen["s_per_request"],
        "CPU cores": cpu_core_s / 3600 / busy * core_dollars_per_hour,
        "S3 storage": tiered_cost(stored_gb, S3_TIERS) / month_days,
        "CDN egress": tiered_cost(egress_gb * month_days, CDN_TIERS) / month_days,
    }
    return {
        "requests_per_day": requests_per_day,
        "images_per_day": images_per_day,
        "peak_requests": peak_requests,
        "peak_images": peak_images,
        "tokens": PIXART_ALPHA.tokens(PIXELS),
        "block_weights": PIXART_ALPHA.block_weights(),
        "dit_256_gmac": DIT_XL_2.macs(256) / 1e9,
        "pass_tflop": 2 * PIXART_ALPHA.macs(PIXELS) / 1e12,
        "flop_per_weight_byte": 2 * PIXART_ALPHA.macs(PIXELS) / weight_bytes,
        "ridge": {name: g.peak_flops / g.bandwidth for name, (g, _) in GPUS.items()},
        "vae_tflop": recipes["4 steps, distilled"]["vae decoder"],
        "vae_weights": layer_cost(vae_decoder_layers(PIXELS // 8))[1],
        "text_tflop": per_request["text encoder"],
        "t5_weights": T5_XXL.layer_parameters,
        "t5_flop_per_byte": per_request["text encoder"] * 1e12 / t5_bytes,
        # The decoder's largest activation, one 128-channel map at full size in
        # 16 bits; assume three live at once an image (a resnet's input, hidden,
        # output), for a request's 4 images.
        "activations_gb": 3 * 128 * PIXELS**2 * 2 * IMAGES_PER_REQUEST / 1e9,
        "weights_gb": {  # bf16, what one L4 must hold
            "T5-XXL encoder": t5_bytes / 1e9,
            "denoiser": weight_bytes / 1e9,
            "VAE decoder": 2 * layer_cost(vae_decoder_layers(PIXELS // 8))[1] / 1e9,
        },
        "recipes": recipes,
        "table": table,
        "mfu": mfu,
        "busy": busy,
        "chosen": chosen,
        "gpus_at_peak": servers_needed(peak_images, 1 / chosen["s_per_image"], busy),
        "cores_at_peak": math.ceil((peak_requests * 0.02 + peak_images * 0.10) / busy),
        "bill": bill,
        "quality_share": quality_share,
        "quality_extra": images_per_day
        * quality_share
        * (quality - chosen["dollars_per_1k"] / busy)
        / 1_000,
        "egress_tb": egress_gb / 1e3,
        "dollars_per_1k_busy": chosen["dollars_per_1k"] / busy,
        "dollars_per_request": chosen["dollars_per_1k"]
        / busy
        * IMAGES_PER_REQUEST
        / 1e3,
        "dollars_per_day": images_per_day * chosen["dollars_per_1k"] / 1_000 / busy,
        "waits": {
            c: wait_quantile(c, busy, chosen["s_per_request"]) for c in (1, 8, 64)
        },
        "budget_ms": 5_000.0,
        "stages_ms": stages_ms,
        "headroom_ms": remaining_budget_ms(5_000.0, stages_ms),
        "gallery": human_bytes(
            storage_bytes(images_per_day * gallery_days, image_bytes)
        ),
        "gallery_days": gallery_days,
        "flagged_images": human_bytes(flagged_images),
        "flagged_kept": human_bytes(flagged_images * flagged_days),
        "flagged_days": flagged_days,
        "logs": {name: human_bytes(b) for name, b in logs.items()},
        "logs_total": human_bytes(sum(logs.values())),
    }
    # --8<-- [end:estimate]


def smallest_pool(utilisation: float, service_s: float, wait_s: float) -> int:
    """Fewest GPUs sharing one queue whose p99 wait fits in wait_s."""
    for servers in range(1, 1_025):
        if wait_quantile(servers, utilisation, service_s) <= wait_s:
            return servers
    raise ValueError("no pool of up to 1,024 GPUs meets that wait")


SEEDS = range(5)
# The denoiser: noised training pairs, random features, share of pairs whose
# prompt is dropped (so the empty-prompt head learns, for guidance).
PAIRS, FEATURES, DROPOUT = 30_000, 150, 0.1
PER_PROMPT = 200  # samples per prompt per method, from the same noise
STEP_COUNTS = (1, 4, 16, 64)
SCALES = (1.0, 1.5, 2.0, 3.0)  # guidance scale; 1 is the conditional model
BIAS_SIZES = (50, 200, 800, 3_200)  # real samples a prompt, for the FD's bias
GUIDED_STEPS = 32  # DDIM steps for the guidance sweep and the distillation teacher
WORLD = dm.ring_world()
FLOOR = dm.density_floor(WORLD, np.random.default_rng(2_024))


def run_seed(seed: int) -> dict:
    """One seed: train the denoiser, then grade every sampler on shared noise."""
    rng = np.random.default_rng(seed)
    learned = dm.RidgeDenoiser(WORLD, rng, PAIRS, FEATURES, DROPOUT)
    models = {"learned": learned, "exact": lambda x, t, p: dm.exact_eps(WORLD, x, t, p)}
    prompts = np.repeat(np.arange(WORLD.prompts), PER_PROMPT)
    grade = {}

    def draw(key, model, steps, noise, eta=0.0, scale=1.0):
        x = dm.generate(model, noise, prompts, steps, eta=eta, scale=scale, rng=rng)
        grade[key] = dm.quality(WORLD, x, prompts, FLOOR)

    for steps in STEP_COUNTS:
        noise = rng.standard_normal((prompts.size, 2))
        for name, model in models.items():
            for sampler, eta in (("DDPM", 1.0), ("DDIM", 0.0)):
                draw((name, sampler, steps), model, steps, noise, eta=eta)
    noise = rng.standard_normal((prompts.size, 2))
    for scale in SCALES:
        for name, model in models.items():
            draw((name, "scale", scale), model, GUIDED_STEPS, noise, scale=scale)
    # Distillation: a one-call student fitted to the teacher's outputs on fresh
    # noise, then graded beside DDIM at 1 and 4 calls on the same test noise.
    train_prompts = np.repeat(np.arange(WORLD.prompts), 3 * PER_PROMPT)
    z = rng.standard_normal((train_prompts.size, 2))
    teacher = dm.generate(learned, z, train_prompts, GUIDED_STEPS)
    student = dm.Student(z, teacher, train_prompts, rng)
    noise = rng.standard_normal((prompts.size, 2))
    grade["student", 1] = dm.quality(WORLD, student(noise, prompts), prompts, FLOOR)
    for steps in (1, 4, GUIDED_STEPS):
        draw(("DDIM", steps), learned, steps, noise)
    grade["real"] = dm.quality(WORLD, WORLD.sample(prompts, rng), prompts, FLOOR)
    for n in BIAS_SIZES:  # FD of real samples: the estimator's own bias at size n
        fds = []
        for _ in range(BIAS_SIZES[-1] // n):  # the same 3,200 draws a prompt per size
            for prompt in range(WORLD.prompts):
                x = WORLD.sample(np.full(n, prompt), rng)
                fds.append(
                    dm.frechet_distance(x.mean(0), np.cov(x.T), *WORLD.moments(prompt))
                )
        grade["real", n] = {"fd": float(np.mean(fds))}
    return grade


def run_experiment() -> list[dict]:
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: no threads
        return [run_seed(seed) for seed in SEEDS]


COMPARISONS = (  # (label, a, b, metrics): a minus b, paired by seed
    ("DDIM minus DDPM, learned, 16 steps", ("learned", "DDIM", 16),
     ("learned", "DDPM", 16), ("fd",)),
    ("DDIM minus DDPM, exact, 16 steps", ("exact", "DDIM", 16),
     ("exact", "DDPM", 16), ("fd",)),
    ("exact DDIM, 16 minus 64 steps", ("exact", "DDIM", 16),
     ("exact", "DDIM", 64), ("fd",)),
    ("learned minus exact, DDIM 64 steps", ("learned", "DDIM", 64),
     ("exact", "DDIM", 64), ("fd", "precision", "adherence")),
    ("scale 1.5 minus 1, learned", ("learned", "scale", 1.5),
     ("learned", "scale", 1.0), ("adherence", "coverage", "precision")),
    ("scale 1.5 minus 1, exact", ("exact", "scale", 1.5),
     ("exact", "scale", 1.0), ("adherence", "coverage", "precision")),
    ("scale 3 minus 2, learned", ("learned", "scale", 3.0),
     ("learned", "scale", 2.0), ("precision",)),
    ("scale 3 minus 2, exact", ("exact", "scale", 3.0),
     ("exact", "scale", 2.0), ("precision",)),
    ("student minus teacher", ("student", 1), ("DDIM", GUIDED_STEPS),
     ("fd", "precision")),
    ("student minus DDIM, 4 calls", ("student", 1), ("DDIM", 4), ("fd",)),
)  # fmt: skip
METRIC_LABELS = {
    "fd": "FD x1000",
    "precision": "precision",
    "coverage": "coverage",
    "adherence": "adherence",
}


def mean(grades: list[dict], key, metric: str) -> float:
    values = [g[key][metric] for g in grades]
    return float(np.mean(values)) * (1_000 if metric == "fd" else 1)


def difference(grades: list[dict], a, b, metric: str) -> tuple[float, float, float]:
    scale = 1_000 if metric == "fd" else 1
    return paired_interval([scale * (g[a][metric] - g[b][metric]) for g in grades])


def print_estimate() -> None:
    est = estimate()
    print("Back-of-envelope (assumptions in estimate):")
    print(f"  requests a day                     {est['requests_per_day']:>12,.0f}")
    print(f"  images a day, 4 a request          {est['images_per_day']:>12,.0f}")
    print(f"  peak requests per second, 3x mean  {est['peak_requests']:>12,.0f}")
    print(f"  peak images per second             {est['peak_images']:>12,.0f}")
    print(
        f"Denoiser: {PIXART_ALPHA.name}, {est['block_weights'] / 1e9:.2f}B block "
        f"weights;\n  {PIXELS} px = {PIXELS // 8}x{PIXELS // 8}x4 latent = "
        f"{est['tokens']:,} tokens, "
        f"plus {PIXART_ALPHA.text_tokens} text tokens"
    )
    print(
        f"  one pass, one image {est['pass_tflop']:.2f} TFLOP; "
        f"{est['flop_per_weight_byte']:,.0f} FLOP per weight byte"
    )
    ridge = ", ".join(f"{name} {r:.0f}" for name, r in est["ridge"].items())
    print(f"  (ridge points: {ridge}): compute-bound at batch 1")
    print(f"  check: DiT-XL/2 at 256 px {est['dit_256_gmac']:.1f} GMAC (paper: 118.6)")
    print(
        f"VAE decoder, {est['vae_weights'] / 1e6:.2f}M weights: "
        f"{est['vae_tflop']:.2f} TFLOP an image"
    )
    print(
        f"T5-XXL encoder, {est['t5_weights'] / 1e9:.2f}B weights: "
        f"{est['text_tflop']:.2f} TFLOP a prompt,\n  "
        f"{est['t5_flop_per_byte']:.0f} FLOP per weight byte: memory-bound at batch 1"
    )
    weights = est["weights_gb"]
    print(
        "bf16 weights on one GPU: "
        + " + ".join(f"{name} {gb:.1f}" for name, gb in weights.items())
        + f"\n  = {sum(weights.values()):.1f} GB, + decoder activations at batch 4 "
        f"{est['activations_gb']:.1f} GB, of the L4's {L4.memory_bytes / 1e9:.0f} GB"
    )
    print("recipe                 TFLOP/image  denoiser  decoder  text")
    for name, t in est["recipes"].items():
        shares = [
            t[k] / t["total"] for k in ("denoiser", "vae decoder", "text encoder")
        ]
        print(
            f"  {name:<20} {t['total']:>10.1f}" + "".join(f"{s:>9.1%}" for s in shares)
        )
    print(f"GPU at {est['mfu']:.0%} of dense peak   s/image  s/request  $/1k images")
    for (recipe, gpu), row in est["table"].items():
        price = row["dollars_per_1k"]
        cost = "   no price" if price is None else f"{price:>11.3f}"
        print(
            f"  {recipe:<19} {gpu:<5} {row['s_per_image']:>7.2f} "
            f"{row['s_per_request']:>10.2f} {cost}"
        )
    chosen = est["chosen"]
    print(
        f"Default tier (4 steps, distilled, L4) at {est['busy']:.0%} busy: "
        f"{est['gpus_at_peak']:,} L4s at peak;\n  "
        f"${est['dollars_per_1k_busy']:.3f} per 1,000 images, "
        f"${est['dollars_per_request']:.5f} a request, "
        f"${est['dollars_per_day']:,.0f} a day, autoscaled"
    )
    waits = ", ".join(f"pool of {c}: {w:.2f} s" for c, w in est["waits"].items())
    print(
        f"  p99 wait for a free GPU at {est['busy']:.0%} busy, "
        f"{chosen['s_per_request']:.2f} s a request:\n    {waits}"
    )
    pool = smallest_pool(
        est["busy"],
        chosen["s_per_request"],
        est["stages_ms"]["queue wait for a GPU"] / 1e3,
    )
    wait_ms = est["stages_ms"]["queue wait for a GPU"]
    print(f"    smallest pool that keeps it under {wait_ms} ms: {pool} GPUs")
    print(f"  latency budget {est['budget_ms']:,.0f} ms (server-side p99), allocated:")
    stages = dict(est["stages_ms"], **{"headroom": est["headroom_ms"]})
    for name, ms in stages.items():
        print(f"    {name:<34} {ms:>6,.0f} ms")
    days = est["gallery_days"]
    print(f"Gallery, {days} days of images, one billed copy: {est['gallery']}")
    print(
        f"Flagged images kept for review: {est['flagged_images']} a day, "
        f"{est['flagged_kept']} over {est['flagged_days']} days"
    )
    logs = [f"{name} {size}" for name, size in est["logs"].items()]
    print(
        f"Logs a day, {len(logs)} streams, {est['logs_total']}: {', '.join(logs[:2])},"
    )
    print(f"  {', '.join(logs[2:])}")
    bill = est["bill"]
    total = sum(bill.values())
    items = [f"{name} ${d:,.0f} ({d / total:.1%})" for name, d in bill.items()]
    print(f"Bill a day, ${total:,.0f}: " + ", ".join(items[:2]) + ",")
    print("  " + ", ".join(items[2:]))
    print(
        f"  ({est['cores_at_peak']:,} CPU cores at peak, {est['egress_tb']:.0f} TB "
        f"delivered a day); {est['quality_share']:.0%} of requests on the H100\n"
        f"  quality tier instead: +${est['quality_extra']:,.0f} a day"
    )


def main() -> None:
    print_estimate()
    grades = run_experiment()
    n = len(grades)
    print(
        f"\nMiniature: {WORLD.prompts} prompts over {len(WORLD.means)} modes in 2-D, "
        f"{n} seeds. Denoiser: ridge regression on\n{FEATURES} random ReLU features, "
        f"{PAIRS:,} noised pairs, the prompt dropped from {DROPOUT:.0%}.\n"
        f"Each method draws {PER_PROMPT} samples a prompt from shared noise; FD in "
        "thousandths.\nReal samples score precision "
        f"{mean(grades, 'real', 'precision'):.3f}, coverage "
        f"{mean(grades, 'real', 'coverage'):.3f}, adherence "
        f"{mean(grades, 'real', 'adherence'):.3f}."
    )
    print(f"\nSteps vs quality, no guidance (mean of {n} seeds)")
    print("           FD x1000: learned     FD x1000: exact    precision, DDIM")
    print("steps        DDPM     DDIM        DDPM     DDIM     learned  exact")
    for steps in STEP_COUNTS:
        fds = [
            mean(grades, (name, sampler, steps), "fd")
            for name in ("learned", "exact")
            for sampler in ("DDPM", "DDIM")
        ]
        precision = [
            mean(grades, (name, "DDIM", steps), "precision")
            for name in ("learned", "exact")
        ]
        print(
            f"{steps:>5}   {fds[0]:>9.1f}{fds[1]:>9.1f}   {fds[2]:>9.1f}{fds[3]:>9.1f}"
            f"   {precision[0]:>9.3f}{precision[1]:>7.3f}"
        )
    print(f"\nGuidance scale, DDIM {GUIDED_STEPS} steps (mean of {n} seeds)")
    print("        learned denoiser               exact denoiser")
    print("scale  adhere  cover   prec   FD     adhere  cover   prec   FD")
    for scale in SCALES:
        cells = [
            mean(grades, (name, "scale", scale), metric)
            for name in ("learned", "exact")
            for metric in ("adherence", "coverage", "precision", "fd")
        ]
        print(
            f"{scale:>5.1f}"
            + "".join(f"{c:>7.3f}" for c in cells[:3])
            + f"{cells[3]:>7.1f}  "
            + "".join(f"{c:>7.3f}" for c in cells[4:7])
            + f"{cells[7]:>7.1f}"
        )
    print(f"\nDistillation: one call vs DDIM (learned denoiser, mean of {n} seeds)")
    print("method            calls  FD x1000  precision  coverage")
    for label, key, calls in (
        ("DDIM", ("DDIM", 1), 1),
        ("DDIM", ("DDIM", 4), 4),
        ("student", ("student", 1), 1),
        ("teacher (DDIM)", ("DDIM", GUIDED_STEPS), GUIDED_STEPS),
    ):
        print(
            f"{label:<16} {calls:>6} {mean(grades, key, 'fd'):>9.1f}"
            f" {mean(grades, key, 'precision'):>10.3f}"
            f" {mean(grades, key, 'coverage'):>9.3f}"
        )
    sizes = BIAS_SIZES
    print("\nFD x1000 of real samples against the exact moments: the estimator's bias")
    print("samples per prompt" + "".join(f"{s:>8,}" for s in sizes))
    print(
        "FD x1000          "
        + "".join(f"{mean(grades, ('real', s), 'fd'):>8.2f}" for s in sizes)
    )
    print(f"\nPaired differences over the {n} seeds: mean [95% interval]")
    for label, a, b, metrics in COMPARISONS:
        print(f"{label}:")
        for metric in metrics:
            mid, low, high = difference(grades, a, b, metric)
            digits = 1 if metric == "fd" else 3
            verdict = "  tie" if low <= 0 <= high else ""
            print(
                f"  {METRIC_LABELS[metric]:<12}{mid:>+9.{digits}f} "
                f"[{low:+.{digits}f}, {high:+.{digits}f}]{verdict}"
            )


if __name__ == "__main__":
    main()
