"""Chat training pipeline: the budget's arithmetic, the miniature's claims, the page."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, paired_differences

from snippets.concepts.generative_ai import H100_SXM
from snippets.problems import chat_training as ct

PAGE = "problems/chat-training.md"
MODULE = "snippets.problems.chat_training"
NUMBER = r"-?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def reward_model_rows() -> dict[int, list[float]]:
    """pairs -> [mean, low, high vs labels; mean, low, high vs truth; noiseless]."""
    text = output().split("labelled pairs")[1].split("best possible")[0]
    rows = {}
    for line in text.splitlines()[1:]:
        pairs, rest = line.split(maxsplit=1)
        rows[int(pairs.replace(",", ""))] = [float(v) for v in re.findall(NUMBER, rest)]
    return rows


def table_rows(start: str, end: str) -> dict[float, list[float]]:
    """beta -> the numbers on its row, in the table between two markers."""
    text = output().split(start)[1].split(end)[0]
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\d+\.\d+)\s+(.*)$", line)
        if match:
            rows[float(match[1])] = [float(v) for v in re.findall(NUMBER, match[2])]
    return rows


def hacking() -> dict[float, list[float]]:
    """beta -> fair (KL, RM gain, true, length), then biased raters' four."""
    return table_rows("Proxy bias", "DPO on")


def dpo_rows() -> dict[float, list[float]]:
    """beta -> KL (opt, 8, 64), gain (opt, 8, 64), KL to optimum (8, 64)."""
    return table_rows("KL to optimum", "population preferences")


def test_tables_parse_completely():
    assert sorted(reward_model_rows()) == list(ct.rm.PAIR_COUNTS)
    assert all(len(row) == 7 for row in reward_model_rows().values())
    assert sorted(hacking()) == sorted(ct.rm.HACK_BETAS)
    assert all(len(row) == 8 for row in hacking().values())
    assert sorted(dpo_rows()) == sorted(ct.dpo.BETAS)
    assert all(len(row) == 8 for row in dpo_rows().values())
    assert len(paired_differences(output())) == 21  # the lines of comparisons()


def test_six_n_d_and_the_gpu_hours_by_hand():
    est = ct.estimate_budget()
    n = est["parameters"]
    assert 8.0e9 < n < 8.1e9  # Llama 3 8B
    assert est["flops"]["Llama 3 8B"] == pytest.approx(6 * n * 15e12)
    hours = 6 * n * 15e12 / (989e12 * 0.40) / 3_600
    assert est["h100_hours"]["Llama 3 8B"] == pytest.approx(hours)
    assert H100_SXM.peak_flops == 989e12  # dense BF16: half the sparse 1,979
    # Llama 3 model card: 1.3M H100-hours for 8B, 6.4M for 70B (70.55B), 15T tokens.
    assert est["implied"]["8B"] == pytest.approx(
        6 * n * 15e12 / (1.3e6 * 3_600 * 989e12)
    )
    assert est["implied"]["70B"] == pytest.approx(
        6 * 70.55e9 * 15e12 / (6.4e6 * 3_600 * 989e12), rel=1e-3
    )
    assert 0.15 < est["implied"]["8B"] < est["implied"]["70B"] < 0.40
    assert est["cluster_days"] == pytest.approx(hours / 1_024 / 24)
    assert est["reported_days"] == pytest.approx(1.3e6 / 1_024 / 24)
    assert est["h100_dollars"] == pytest.approx(55.04 / 8)
    # Causal attention, forward + backward: 6 x layers x context x width a token.
    assert est["attention"] == pytest.approx(6 * 32 * 8_192 * 4_096 / (6 * n))
    assert est["state"]["8B"] == 16 * n and est["ppo_bytes"] == 2 * est["dpo_bytes"]


def test_the_equal_loss_compute_optimal_model_by_bisection():
    """Chinchilla's fit written out, solved by bisection on D = 20 N."""
    est = ct.estimate_budget()
    n = est["parameters"]

    def loss(params: float, tokens: float) -> float:
        return 1.69 + 406.4 / params**0.34 + 410.7 / tokens**0.28

    target, low, high = loss(n, 15e12), n, 1e13
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if loss(mid, 20 * mid) > target else (low, mid)
    assert est["equal_n"] == pytest.approx(low, rel=1e-6)
    assert est["equal_flops"] == pytest.approx(6 * low * 20 * low, rel=1e-6)
    assert est["equal_flops"] < est["flops"]["Llama 3 8B"]  # cheaper to train
    saved_per_token = 2 * (low - n)
    extra = est["flops"]["Llama 3 8B"] - est["equal_flops"]
    assert est["break_even_tokens"] == pytest.approx(extra / saved_per_token, rel=1e-5)
    with pytest.raises(ValueError):
        ct.chinchilla_loss(0, 1e12)


def test_the_pipeline_and_the_logs_by_hand():
    pipe = ct.estimate_pipeline()
    assert pipe["raw_bytes"] == 150e12 * 4 and pipe["documents"] == 150e9
    assert pipe["filter_core_hours"] == pytest.approx(600e12 / 5e6 / 3_600)
    assert pipe["signatures"] == 150e9 * 512
    assert pipe["lsh_index"] == 150e9 * 16 * 16 * 2
    assert pipe["ngram_index"] == 20e6 * 16
    logs = pipe["logs"]
    assert logs["feedback conversations"] == 1e6 * 42 * 2_000 * 4 * 3
    assert logs["feedback conversations"] == max(logs.values())


def test_evaluation_sizes_by_hand():
    est = ct.estimate_budget()
    # Zero failures in n: the one-sided 95% upper bound is 1 - 0.05^(1/n).
    assert est["safety_prompts"] == math.ceil(math.log(0.05) / math.log(0.99))
    # Connor's paired formula, written out.
    disc, gain = 0.75, 0.05
    root = 1.959964 * math.sqrt(disc) + 0.841621 * math.sqrt(disc - gain**2)
    assert est["win_rate_prompts"] == math.ceil(root**2 / gain**2)
    assert est["spare_days"] == pytest.approx(42 * 0.8 - sum(est["stages"].values()))
    per_day = 50 * 30 / 7  # rater-hours a calendar day at 30 hours a week
    assert est["stages"]["human win-rate eval"] == pytest.approx(
        2_353 * 3 / 60 / per_day
    )
    assert est["stages"]["preference labelling"] == pytest.approx(5_500 / per_day)


def test_post_training_is_a_sliver_of_pre_training_and_labelling_is_the_calendar():
    est = ct.estimate_budget()
    assert est["post_share"] < 1e-3
    assert est["stages"]["preference labelling"] == max(est["stages"].values())
    assert est["generate_gpu_s"] > 0 and est["update_gpu_s"] > est["generate_gpu_s"]
    assert est["label_dollars"] == pytest.approx(5_500 * 40)
    assert est["post_dollars"] == pytest.approx(
        sum(est["post_hours"].values()) * 55.04 / 8
    )
    assert est["label_dollars"] > 100 * est["post_dollars"]  # people, not GPUs


def test_reward_model_accuracy_saturates_at_the_noise_ceiling():
    rows = reward_model_rows()
    labels = [rows[n][0] for n in ct.rm.PAIR_COUNTS]
    truth = [rows[n][3] for n in ct.rm.PAIR_COUNTS]
    clean = [rows[n][6] for n in ct.rm.PAIR_COUNTS]
    assert labels == sorted(labels) and truth == sorted(truth)
    assert truth[-1] > 0.99 and clean[-1] > 0.99 > labels[-1]
    _, low, high, tie = diff("10,000 minus 100 labelled pairs", "accuracy vs labels")
    assert low > 0
    _, low, high, tie = diff(
        "best possible minus 10,000 labelled pairs", "accuracy vs labels"
    )
    assert tie and low <= 0 <= high
    _, low, _, _ = diff(
        "10,000 labelled pairs minus a second rater", "agreement with the labels"
    )
    assert low > 0


def test_a_biased_reward_model_promises_more_and_delivers_less():
    block = "raters who favour length minus fair, beta 0.1"
    assert diff(block, "reward-model gain")[1] > 0
    assert diff(block, "true reward gain")[2] < 0
    assert diff(block, "mean length")[1] > 0
    gap = "reward-model gain minus true gain, beta 0.1"
    assert diff(gap, "fair raters")[3]  # the fair reward model keeps its promise
    assert diff(gap, "raters who favour length")[1] > 0
    for beta, row in hacking().items():
        assert row[5] > row[1] and row[6] < row[2], beta  # biased: more RM, less true


def test_beta_sets_the_distance_and_small_beta_fits_the_noise():
    rows = dpo_rows()
    betas = sorted(rows)
    kl_opt = [rows[b][0] for b in betas]
    assert kl_opt == sorted(kl_opt, reverse=True)  # larger beta, closer
    for beta in betas:
        kl_opt, kl8, to8, to64 = rows[beta][0], rows[beta][1], *rows[beta][6:]
        assert kl8 > kl_opt and to64 < to8, beta
    block = "DPO with 8 comparisons minus the optimum, beta 0.1"
    assert diff(block, "KL from reference")[1] > 0
    assert diff(block, "true reward gain")[2] < 0
    block = "DPO with 8 comparisons, beta 0.1 minus beta 1"
    assert diff(block, "true reward gain")[3]  # more distance, no more true reward
    assert diff(block, "KL from reference")[1] > 0
    assert diff("the optimum, beta 0.1 minus beta 1", "true reward gain")[1] > 0


def test_more_comparisons_close_the_gap_and_the_population_closes_it():
    assert diff("DPO with 64 minus 8 comparisons, beta 0.1", "KL to the optimum")[2] < 0
    assert diff("DPO with 64 minus 8 comparisons, beta 0.1", "true reward gain")[1] > 0
    assert diff("DPO with 64 minus 8 comparisons, beta 3", "KL to the optimum")[2] < 0
    population = float(re.search(r"largest KL to the optimum (\S+)", output())[1])
    assert population < 1e-3


def test_separable_data_keep_drifting():
    block = "DPO on 8 comparisons, 3x minus 1x the steps, beta 3"
    assert diff(block, "KL from reference")[1] > 0
    longer = re.search(r"after 3x the steps on 8 comparisons: (.+)", output())[1]
    before = [row[1] for _, row in sorted(dpo_rows().items())]
    after = [float(v) for v in longer.split(", ")]
    assert np.all(np.array(after) >= np.array(before))


def test_the_page_quotes_the_output():
    est = ct.estimate_budget()
    out = output()

    price, pipe = est["h100_dollars"], ct.estimate_pipeline()
    quoted = [
        f"{est['parameters'] / 1e9:.2f}B",
        f"{est['tokens']['compute-optimal'] / 1e9:.0f}B tokens",
        f"{est['flops']['compute-optimal']:.2e}",
        f"{est['flops']['Llama 3 8B']:.2e}",
        f"{est['overtrained']:.0f}x",
        f"{est['h100_hours']['Llama 3 8B']:,.0f}",
        f"{est['cluster_days']:.1f} days",
        f"{est['reported_days']:.1f} days",
        f"${price:.2f} an H100-hour",
        f"${est['h100_hours']['Llama 3 8B'] * price / 1e6:.2f} million",
        f"${est['reported']['8B'] * price / 1e6:.2f} million",
        f"{est['reported']['8B']:,.0f} H100-hours",
        f"{est['implied']['8B']:.0%} of the peak",
        f"{est['implied']['70B']:.0%} for 70B",
        f"about {est['attention']:.0%} more",
        f"{est['equal_n'] / 1e9:.0f}B on {20 * est['equal_n'] / 1e9:,.0f}B tokens",
        f"{est['equal_flops']:.2e}",
        f"{est['equal_n'] / est['parameters']:.1f}x the compute",
        f"{est['break_even_tokens'] / 1e12:.1f}T tokens served",
        f"{est['post_share']:.4%}",
        f"${est['post_dollars']:,.0f}",
        f"{est['generate_gpu_s']:.0f} GPU-s",
        f"{est['update_gpu_s']:.0f} GPU-s",
        f"{est['rater_hours']:,.0f} rater-hours",
        f"${est['label_dollars'] / 1e6:.2f}M",
        f"{est['label_weeks']:.1f} weeks",
        f"{est['stages']['preference labelling']:.1f}",
        f"over-runs by {-est['spare_days']:.1f}",
        f"{est['win_rate_prompts']:,} prompts",
        f"{est['safety_prompts']} must-refuse",
        f"{pipe['documents'] / 1e9:,.0f}B documents",
        f"{pipe['filter_core_hours']:,.0f} core-hours",
        f"{pipe['ngram_core_hours']:,.0f} core-hours",
    ]
    quoted += re.findall(r"raw crawl ([\d.]+ TB)", out)
    quoted += re.findall(r"signatures ([\d.]+ TB)", out)
    quoted += re.findall(r"LSH index ([\d.]+ TB)", out)
    quoted += re.findall(r"13-gram index ([\d.]+ MB)", out)
    quoted += re.findall(
        r"(?:conversations|rollouts|generations|records) ([\d.]+ [GT]B)", out
    )
    quoted += re.findall(r"\$([\d.]+)M", out)[:1]
    quoted += re.findall(r"8B ([\d.]+ GB) \(", out)
    quoted += re.findall(r"PPO holds 36 bytes a parameter, ([\d.]+ GB)", out)
    quoted += re.findall(r"DPO 18, ([\d.]+ GB)", out)
    quoted += re.findall(r"3 replicas: ([\d.]+ TB)", out)
    quoted += re.findall(r"100 checkpoints: ([\d.]+ TB)", out)
    quoted += [f"{v:,.1f}" for v in est["post_hours"].values()]
    rows = reward_model_rows()
    quoted += [f"{rows[100][0]:.3f}", f"{rows[10_000][0]:.3f}"]
    quoted += [
        f"{rows[100][3]:.3f}",
        f"{rows[10_000][3]:.3f}",
        f"{rows[10_000][6]:.3f}",
    ]
    quoted += re.findall(r"two raters agree on (\S+)", out)
    quoted += re.findall(r"best possible vs these labels (\S+);", out)
    fair, biased = hacking()[0.1][:4], hacking()[0.1][4:]
    quoted += [f"{fair[1]:.2f} and {fair[2]:.2f}"]
    quoted += [", ".join(f"{hacking()[b][6]:.2f}" for b in (1.0, 0.3, 0.1))]
    dpo = dpo_rows()
    quoted += [f"{dpo[0.1][0]:.3f}", f"{dpo[3.0][0]:.3f}", f"{dpo[0.1][3]:.3f}"]
    quoted += [f"{dpo[3.0][3]:.3f}", f"{dpo[0.1][6]:.3f}", f"{dpo[3.0][1]:.3f}"]
    quoted += [f"{dpo[0.1][7]:.3f}", f"{dpo[3.0][7]:.3f}"]
    quoted += re.findall(r"largest KL to the optimum (\S+)", out)
    quoted.append(re.search(r"3x the steps on 8 comparisons: .*, (\S+)$", out, re.M)[1])
    for (block, label), (mean, *_rest) in paired_differences(out).items():
        if "best possible" not in block and label != "fair raters":
            quoted.append(f"{abs(mean):.3f}")
    assert_page_quotes(PAGE, *quoted)
    assert biased[2] < fair[2]
