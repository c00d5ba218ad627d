"""Chat assistant training pipeline: the budget, and the preference-learning core.

The back-of-envelope: pre-training compute by 6 N D for a Llama 3 8B-shaped model at
the compute-optimal token count and at the count Llama 3 8B was trained on, in
H100-hours and dollars at a stated utilisation (beside the hours the Llama 3 model
card reports), the compute-optimal model of the same Chinchilla loss; training
memory; post-training compute; the data pipeline's CPU and index memory; the log
streams; the labelling time and cost that bound an iteration; evaluation sizes;
and a release cycle in days.

The miniature (seeded, synthetic): a Bradley-Terry reward model fitted to noisy
pairwise preferences from a known true reward (chat_training_reward), reward hacking
against a reward model from biased raters, and DPO on tabular policies for several
betas against the closed-form optimum pi_ref exp(r / beta) (chat_training_dpo).
Intervals are over seeds; a difference whose interval holds zero is a tie.

Run it: ``python -m snippets.problems.chat_training``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from snippets.common.estimation import human_bytes, remaining_budget_ms, storage_bytes
from snippets.common.stats import clopper_pearson_interval, paired_interval
from snippets.concepts.generative_ai import (
    H100_SXM,
    LLAMA_3_8B,
    LLAMA_3_70B,
    forward_time,
)
from snippets.framework.cost import H100_DOLLARS_PER_HOUR
from snippets.framework.generative_ai import paired_sample_size
from snippets.problems import chat_training_dpo as dpo
from snippets.problems import chat_training_reward as rm

HOUR = 3_600.0


# --8<-- [start:estimate]
def estimate_budget() -> dict[str, float]:
    """Compute, memory, dollars, labelling and evaluation for one assistant."""
    n = LLAMA_3_8B.parameters  # 8.03B, from the shapes in its config.json
    tokens = {"compute-optimal": 20 * n, "Llama 3 8B": 15e12}  # 20/param: Chinchilla
    # Assumed: 40% of peak (Llama 3 405B ran at 38-43% MFU on H100s) and 1,024 H100s
    # at AWS's p5.48xlarge on-demand rate ($55.04/h for 8 H100, us-east-1).
    utilisation, cluster, h100_dollars = 0.40, 1_024, H100_DOLLARS_PER_HOUR
    flops = {k: 6 * n * d for k, d in tokens.items()}
    sustained = H100_SXM.peak_flops * utilisation * HOUR  # FLOPs per GPU-hour
    h100_hours = {k: f / sustained for k, f in flops.items()}
    # The Llama 3 model card reports 1.3M (8B) and 6.4M (70B) H100-hours on 15T
    # tokens: the share of peak they imply by the same 6 N D count.
    reported = {"8B": 1.3e6, "70B": 6.4e6}
    implied = {
        k: 6 * cfg.parameters * 15e12 / (reported[k] * HOUR * H100_SXM.peak_flops)
        for k, cfg in (("8B", LLAMA_3_8B), ("70B", LLAMA_3_70B))
    }
    # 6 N D leaves out attention: about 6 L T d FLOPs a token (causal, T = 8,192).
    attention = LLAMA_3_8B.layers * 8_192 * LLAMA_3_8B.hidden / n
    # The compute-optimal model (D = 20 N) with the same loss in Chinchilla's fit.
    equal_n = brentq(lambda m: chinchilla_loss(m, 20 * m) - chinchilla_loss(n, 15e12),
                     n, 1e13)  # fmt: skip
    equal_flops = 6 * equal_n * 20 * equal_n
    # Training state: bf16 weights and gradients, fp32 master weights and two Adam
    # moments, 2 + 2 + 12 bytes a parameter (Rajbhandari et al., ZeRO).
    state = {"8B": 16 * n, "70B": 16 * LLAMA_3_70B.parameters}
    ppo_bytes = (16 + 16 + 2 + 2) * n  # policy, value trained; reference, RM frozen
    dpo_bytes = (16 + 2) * n  # policy trained; reference frozen
    # Post-training, assumed: 100k SFT examples and 100k comparisons of two
    # responses, 1,000 tokens each (prompt included); 3 SFT epochs, 1 otherwise.
    sft_flops = 6 * n * 100_000 * 1_000 * 3
    rm_flops = 6 * n * 100_000 * 2 * 1_000  # an 8B reward model
    dpo_flops = (6 + 2) * n * 100_000 * 2 * 1_000  # policy step + reference pass
    # One PPO iteration, one epoch: 512 prompts of 512 tokens, 512 new tokens each.
    # Updates: policy and value forward + backward, reference and RM forward.
    ppo_update_flops = (6 + 6 + 2 + 2) * n * 512 * 1_024
    batch = 64  # sequences decoded together on one GPU
    decode_s = sum(
        forward_time(LLAMA_3_8B, H100_SXM, 1, 512 + t, batch).seconds
        for t in range(512)
    )
    prefill_s = forward_time(LLAMA_3_8B, H100_SXM, 512, 0, batch).seconds
    # The same 40% on both sides: of peak bandwidth decoding, of peak FLOP/s updating.
    generate_gpu_s = (prefill_s + decode_s) * 512 / batch / utilisation
    update_gpu_s = ppo_update_flops / (H100_SXM.peak_flops * utilisation)
    post = {
        "SFT": sft_flops / sustained,
        "reward model": rm_flops / sustained,
        "DPO": dpo_flops / sustained,
        "PPO (500 iterations)": 500 * (generate_gpu_s + update_gpu_s) / HOUR,
    }
    # Labelling: 100k comparisons at 3 minutes each, 10% labelled twice to measure
    # agreement; 50 raters at 30 hours a week, $40 an hour (all assumed).
    rater_hours, rater_dollars = 100_000 * 1.1 * 3 / 60, 40.0
    rater_hours_a_day = 50 * 30 / 7
    # Win rate against the last release: preferred on 40%, last release on 35%,
    # ties 25% (assumed): pairs to detect it at 5% two-sided with power 0.8.
    win_rate_prompts = paired_sample_size(0.40, 0.35)
    # Must-refuse prompts with zero harmful answers that bound the rate at 1%,
    # one-sided 95% (the upper end of a two-sided 90% Clopper-Pearson interval).
    sizes = np.arange(1, 1_000)
    upper = clopper_pearson_interval(np.zeros_like(sizes), sizes, 0.90)[1]
    safety_prompts = int(sizes[np.argmax(upper <= 0.01)])
    # A six-week release cycle; 20% of it kept as headroom on top of the stages.
    stages = {
        "sample responses to label": 2.0,
        "preference labelling": rater_hours / rater_hours_a_day,
        "reward model, PPO or DPO, auto evals": 3.0,
        "human win-rate eval": win_rate_prompts * 3 / 60 / rater_hours_a_day,
        "red-teaming and safety review": 5.0,
    }
    spare_days = remaining_budget_ms(42.0, stages, headroom=0.2)  # unit-free: days
    return {
        "parameters": n, "tokens": tokens, "flops": flops, "implied": implied,
        "reported": reported, "attention": attention, "utilisation": utilisation,
        "cluster": cluster, "h100_hours": h100_hours, "h100_dollars": h100_dollars,
        "cluster_days": h100_hours["Llama 3 8B"] / cluster / 24,
        "reported_days": reported["8B"] / cluster / 24,
        "overtrained": tokens["Llama 3 8B"] / tokens["compute-optimal"],
        "equal_n": equal_n, "equal_flops": equal_flops,
        "break_even_tokens": (flops["Llama 3 8B"] - equal_flops) / (2 * (equal_n - n)),
        "state": state, "state_gpus": {
            k: math.ceil(v / H100_SXM.memory_bytes) for k, v in state.items()
        },
        "ppo_bytes": ppo_bytes, "dpo_bytes": dpo_bytes,
        # Tokens as uint32 (the vocabulary, 128,256, does not fit 16 bits).
        "corpus_bytes": storage_bytes(tokens["Llama 3 8B"], 4, replicas=3),
        "checkpoints_bytes": storage_bytes(100, state["8B"]),  # 100 kept
        "post_hours": post, "generate_gpu_s": generate_gpu_s,
        "update_gpu_s": update_gpu_s,
        "post_share": sum(post.values()) / h100_hours["Llama 3 8B"],
        "rater_hours": rater_hours, "label_weeks": rater_hours / (50 * 30),
        "label_dollars": rater_hours * rater_dollars,
        "post_dollars": sum(post.values()) * h100_dollars,
        "win_rate_prompts": win_rate_prompts, "safety_prompts": safety_prompts,
        "stages": stages, "spare_days": spare_days,
    }  # fmt: skip


def estimate_pipeline() -> dict[str, float]:
    """The data pipeline's CPU and index memory, and the log streams of one cycle."""
    raw_tokens = 15e12 * 10  # assumed: filters and dedup keep 1 raw token in 10
    text_bytes = 4  # assumed: bytes of extracted text a token
    documents = raw_tokens / 1_000  # assumed: 1,000 tokens a document
    # Assumed 5 MB/s a core for rules, a quality classifier, shingles and MinHash.
    filter_core_hours = raw_tokens * text_bytes / 5e6 / HOUR
    # MinHash: 128 x 4-byte values a document; LSH: 16 bands, each an 8-byte key
    # and an 8-byte id in a hash table kept at most half full.
    signatures = storage_bytes(documents, 128 * 4)
    lsh_index = storage_bytes(documents, 16 * (8 + 8) * 2)
    # Decontamination: 8-byte hashes of every 13-gram of 20M evaluation tokens in a
    # half-full hash set; one lookup a corpus token at an assumed 20M a second a core.
    ngram_index = storage_bytes(20e6, 8 * 2)
    ngram_core_hours = 15e12 / 20e6 / HOUR
    # Log streams of one 42-day cycle, 3 replicas (volumes assumed).
    logs = {
        # consenting production conversations kept for training: 1M a day, 2k tokens
        "feedback conversations": storage_bytes(1e6 * 42 * 2_000, text_bytes, 3),
        # 500 PPO iterations x 512 x 1,024 tokens: id, 2 log-probs, value (4 B each)
        "PPO rollouts": storage_bytes(500 * 512 * 1_024, 16, 3),
        # 20 checkpoints x (50k suite prompts + 2,353 x 2 win-rate answers), 512 tokens
        "evaluation generations": storage_bytes(20 * 54_706 * 512, text_bytes, 3),
        # 110k judgements: prompt and two answers (1,500 tokens) and 200 B of metadata
        "rater records": storage_bytes(110_000, 1_500 * text_bytes + 200, 3),
    }
    return {
        "raw_bytes": raw_tokens * text_bytes, "documents": documents,
        "filter_core_hours": filter_core_hours, "signatures": signatures,
        "lsh_index": lsh_index, "ngram_index": ngram_index,
        "ngram_core_hours": ngram_core_hours, "logs": logs,
    }  # fmt: skip
    # --8<-- [end:estimate]


def chinchilla_loss(parameters: float, tokens: float) -> float:
    """Hoffmann et al. (2022), approach 3: E + A / N^0.34 + B / D^0.28."""
    if parameters <= 0 or tokens <= 0:
        raise ValueError("parameters and tokens must be positive")
    return 1.69 + 406.4 / parameters**0.34 + 410.7 / tokens**0.28


def print_estimate() -> None:
    est, pipe = estimate_budget(), estimate_pipeline()
    n, utilisation, price = est["parameters"], est["utilisation"], est["h100_dollars"]
    print("Back-of-envelope (assumptions in estimate_budget and estimate_pipeline)")
    print(f"Llama 3 8B shape, {n / 1e9:.2f}B parameters; training FLOPs = 6 N D")
    print(f"{'pre-training tokens':<24}{'tokens':>8}{'FLOPs':>10}{'H100-hours':>12}"
          f"{'H100 $M':>10}")  # fmt: skip
    for name, tokens in est["tokens"].items():
        hours = est["h100_hours"][name]
        print(
            f"{name:<24}{tokens / 1e9:>7,.0f}B{est['flops'][name]:>10.2e}"
            f"{hours:>12,.0f}{hours * price / 1e6:>10.2f}"
        )
    print(
        f"  at {utilisation:.0%} of peak and ${price:.2f} an H100-hour; "
        f"{est['cluster_days']:.1f} days on {est['cluster']:,} H100s"
    )
    reported, implied = est["reported"]["8B"], est["implied"]
    print(
        f"  model card: {reported:,.0f} H100-hours, ${reported * price / 1e6:.2f}M, "
        f"{est['reported_days']:.1f} days; implied {implied['8B']:.0%} (8B), "
        f"{implied['70B']:.0%} (70B)"
    )
    print(f"  6 N D leaves out attention: +{est['attention']:.0%} at 8,192 tokens")
    print(
        f"  {est['overtrained']:.0f}x the compute-optimal tokens; compute-optimal at "
        f"the same Chinchilla loss:\n  {est['equal_n'] / 1e9:.0f}B "
        f"({est['equal_n'] / n:.1f}x) on "
        f"{20 * est['equal_n'] / 1e9:,.0f}B tokens, {est['equal_flops']:.2e} FLOPs; "
        f"pays back after {est['break_even_tokens'] / 1e12:.1f}T tokens served"
    )
    state, gpus = est["state"], est["state_gpus"]
    print(
        f"training state, 16 bytes a parameter: 8B {human_bytes(state['8B'])} "
        f"({gpus['8B']} GPUs of 80 GB), 70B {human_bytes(state['70B'])} ({gpus['70B']})"
    )
    print(
        f"  PPO holds 36 bytes a parameter, {human_bytes(est['ppo_bytes'])}; "
        f"DPO 18, {human_bytes(est['dpo_bytes'])}"
    )
    print(
        f"tokens on disk (uint32), 3 replicas: {human_bytes(est['corpus_bytes'])}; "
        f"100 checkpoints: {human_bytes(est['checkpoints_bytes'])}"
    )
    print(f"post-training, H100-hours at {utilisation:.0%}:")
    print("  " + ", ".join(f"{k} {v:,.1f}" for k, v in est["post_hours"].items()))
    print(
        f"  all of it {est['post_share']:.4%} of pre-training, "
        f"${est['post_dollars']:,.0f}; one PPO iteration (one epoch):\n  "
        f"generation {est['generate_gpu_s']:.0f} GPU-s, "
        f"updates {est['update_gpu_s']:.0f} GPU-s, both at {utilisation:.0%}"
    )
    print(
        f"labelling 100,000 comparisons (3 min, 10% twice): {est['rater_hours']:,.0f}"
        f" rater-hours, ${est['label_dollars'] / 1e6:.2f}M,\n  "
        f"{est['label_weeks']:.1f} weeks for 50 raters at 30 hours a week"
    )
    print(
        f"data pipeline: raw crawl {human_bytes(pipe['raw_bytes'])} of text, "
        f"{pipe['documents'] / 1e9:,.0f}B documents\n  filters and MinHash "
        f"{pipe['filter_core_hours']:,.0f} core-hours "
        f"({pipe['filter_core_hours'] / 1_000 / 24:.1f} days on 1,000 cores); "
        f"signatures {human_bytes(pipe['signatures'])}\n  LSH index "
        f"{human_bytes(pipe['lsh_index'])}; 13-gram index "
        f"{human_bytes(pipe['ngram_index'])}, "
        f"{pipe['ngram_core_hours']:,.0f} core-hours"
    )
    logs = [f"{k} {human_bytes(v)}" for k, v in pipe["logs"].items()]
    print(
        f"logs per cycle, 3 replicas: {', '.join(logs[:2])},\n  {', '.join(logs[2:])}"
    )
    print(
        f"win rate against the last release (40% vs 35%, 25% ties): "
        f"{est['win_rate_prompts']:,} prompts"
    )
    print(
        f"safety: 0 harmful answers in {est['safety_prompts']} must-refuse prompts: "
        "rate < 1% (one-sided 95%)"
    )
    days = [f"{k} {v:.1f}" for k, v in est["stages"].items()]
    print("release cycle of 42 days, 20% kept as headroom, in days:")
    print(f"  {', '.join(days[:2])},\n  {', '.join(days[2:4])},")
    print(f"  {days[4]}; left for iteration {est['spare_days']:.1f}")


def _interval(values: np.ndarray) -> str:
    mean, low, high = paired_interval(values)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def print_reward_model(scaling: dict) -> None:
    seeds = scaling["labels"].shape[0]
    print(
        f"\nReward model: Bradley-Terry on {len(rm.FEATURES)} features, held-out "
        f"accuracy on {rm.TEST_PAIRS:,} pairs,\nmean of {seeds} seeds [95% interval]"
    )
    print(f"{'labelled pairs':>14}  {'vs labels':<24}{'vs true order':<24}noiseless")
    for j, pairs in enumerate(rm.PAIR_COUNTS):
        print(
            f"{pairs:>14,}  {_interval(scaling['labels'][:, j]):<24}"
            f"{_interval(scaling['truth'][:, j]):<24}"
            f"{scaling['noiseless'][:, j].mean():.3f}"
        )
    print(
        f"best possible vs these labels {scaling['ceiling'].mean():.3f}; "
        f"two raters agree on {scaling['agreement'].mean():.3f}"
    )


def print_hacking(hack: dict) -> None:
    seeds = hack["kl"].shape[0]
    print(
        f"\nProxy bias: KL-regularised optimum over {rm.HACK_SAMPLES} samples "
        f"a prompt, {seeds} seeds;\ngains over the reference, in true-reward units"
    )
    print(f"{'':<6}{'fair raters':<32}raters who favour length")
    head = f"{'KL':>6}{'RM gain':>8}{'true':>7}{'length':>8}   "
    print(f"{'beta':<6}{head}{head}".rstrip())
    for b, beta in enumerate(rm.HACK_BETAS):
        cells = ""
        for k in range(2):
            kl, proxy = hack["kl"][:, k, b].mean(), hack["proxy"][:, k, b].mean()
            true, length = hack["true"][:, k, b].mean(), hack["length"][:, k, b].mean()
            cells += f"{kl:>6.2f}{proxy:>8.2f}{true:>7.2f}{length:>8.2f}   "
        print(f"{beta:<6}{cells.rstrip()}")


def print_dpo(result: dict) -> None:
    seeds = result["kl_opt"].shape[0]
    print(
        f"\nDPO on {dpo.PROMPTS} prompts x {dpo.RESPONSES} responses, {seeds} seeds; "
        "optimum = pi_ref exp(r / beta)"
    )
    print(f"{'':<6}{'KL from reference':<24}{'true reward gain':<24}KL to optimum")
    cols = f"{'opt.':>6}{'8 cmp':>7}{'64 cmp':>7}    "
    print(f"{'beta':<6}{cols}{cols}{'8 cmp':>6}{'64 cmp':>7}")
    for b, beta in enumerate(dpo.BETAS):
        kl = [result["kl_opt"][:, b]] + [result["kl"][:, c, b] for c in (0, 1)]
        gain = [result["gain_opt"][:, b]] + [result["gain"][:, c, b] for c in (0, 1)]
        to_opt = [result["kl_to_opt"][:, c, b] for c in (0, 1)]
        print(
            f"{beta:<6}"
            + "".join(f"{v.mean():>{w}.3f}" for v, w in zip(kl, (6, 7, 7), strict=True))
            + "    "
            + "".join(
                f"{v.mean():>{w}.3f}" for v, w in zip(gain, (6, 7, 7), strict=True)
            )
            + "    "
            + "".join(
                f"{v.mean():>{w}.3f}" for v, w in zip(to_opt, (6, 7), strict=True)
            )
        )
    population = result["kl_to_opt"][:, 2].mean(0).max()
    print(f"population preferences: largest KL to the optimum {population:.4f}")
    longer = ", ".join(f"{x:.3f}" for x in result["kl"][:, 3].mean(0))
    print(f"KL from reference after 3x the steps on 8 comparisons: {longer}")


def comparisons(scaling: dict, hack: dict, result: dict) -> list[tuple[str, list]]:
    """The headline differences: (block title, [(label, per-seed differences)])."""
    last, first = len(rm.PAIR_COUNTS) - 1, 0
    b_small, b_mid, b_large = (dpo.BETAS.index(b) for b in (0.1, 1.0, 3.0))
    h = rm.HACK_BETAS.index(0.1)
    kl, gain, to_opt = result["kl"], result["gain"], result["kl_to_opt"]
    labels, truth = scaling["labels"], scaling["truth"]
    opt_gain, proxy, true = result["gain_opt"], hack["proxy"], hack["true"]
    return [
        ("10,000 minus 100 labelled pairs", [
            ("accuracy vs labels", labels[:, last] - labels[:, first]),
            ("accuracy vs true order", truth[:, last] - truth[:, first]),
        ]),
        ("best possible minus 10,000 labelled pairs", [
            ("accuracy vs labels", scaling["ceiling"] - labels[:, last]),
        ]),
        ("10,000 labelled pairs minus a second rater", [
            ("agreement with the labels", labels[:, last] - scaling["agreement"]),
        ]),
        ("raters who favour length minus fair, beta 0.1", [
            ("reward-model gain", hack["proxy"][:, 1, h] - hack["proxy"][:, 0, h]),
            ("true reward gain", hack["true"][:, 1, h] - hack["true"][:, 0, h]),
            ("mean length", hack["length"][:, 1, h] - hack["length"][:, 0, h]),
        ]),
        ("reward-model gain minus true gain, beta 0.1", [
            ("fair raters", proxy[:, 0, h] - true[:, 0, h]),
            ("raters who favour length", proxy[:, 1, h] - true[:, 1, h]),
        ]),
        ("DPO with 8 comparisons, beta 0.1 minus beta 1", [
            ("KL from reference", kl[:, 0, b_small] - kl[:, 0, b_mid]),
            ("true reward gain", gain[:, 0, b_small] - gain[:, 0, b_mid]),
        ]),
        ("the optimum, beta 0.1 minus beta 1", [
            ("true reward gain", opt_gain[:, b_small] - opt_gain[:, b_mid]),
        ]),
        ("DPO with 8 comparisons minus the optimum, beta 0.1", [
            ("KL from reference", kl[:, 0, b_small] - result["kl_opt"][:, b_small]),
            ("true reward gain", gain[:, 0, b_small] - result["gain_opt"][:, b_small]),
        ]),
        ("DPO with 8 comparisons minus the optimum, beta 3", [
            ("KL from reference", kl[:, 0, b_large] - result["kl_opt"][:, b_large]),
            ("true reward gain", gain[:, 0, b_large] - result["gain_opt"][:, b_large]),
        ]),
        ("DPO with 64 minus 8 comparisons, beta 0.1", [
            ("KL to the optimum", to_opt[:, 1, b_small] - to_opt[:, 0, b_small]),
            ("true reward gain", gain[:, 1, b_small] - gain[:, 0, b_small]),
        ]),
        ("DPO with 64 minus 8 comparisons, beta 3", [
            ("KL to the optimum", to_opt[:, 1, b_large] - to_opt[:, 0, b_large]),
        ]),
        ("DPO on 8 comparisons, 3x minus 1x the steps, beta 3", [
            ("KL from reference", kl[:, 3, b_large] - kl[:, 0, b_large]),
            ("true reward gain", gain[:, 3, b_large] - gain[:, 0, b_large]),
        ]),
    ]  # fmt: skip


def main() -> None:
    print_estimate()
    scaling = rm.reward_model_scaling()
    hack = rm.reward_hacking()
    result = dpo.dpo_experiment()
    print_reward_model(scaling)
    print_hacking(hack)
    print_dpo(result)
    print("\nPaired differences over seeds: mean [95% interval]")
    for title, lines in comparisons(scaling, hack, result):
        print(f"{title}:")
        for label, values in lines:
            mean, low, high = paired_interval(values)
            verdict = "  tie" if low <= 0 <= high else ""
            print(f"  {label:<28}{mean:>+8.3f} [{low:+.3f}, {high:+.3f}]{verdict}")


if __name__ == "__main__":
    main()
