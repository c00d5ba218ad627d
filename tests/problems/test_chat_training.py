"""Chat training pipeline: the budget's arithmetic, the miniature's claims, the page."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, paired_differences

from snippets.concepts.generative_ai import A100_80GB, H100_SXM
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
    return table_rows("Reward hacking", "DPO on")


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
    assert H100_SXM.peak_flops == 989e12 and A100_80GB.peak_flops == 312e12
    # Llama 2 7B: 6.74B parameters, 2T tokens, 184,320 A100-hours.
    assert est["implied"]["7B"] == pytest.approx(
        6 * 6.74e9 * 2e12 / (184_320 * 3_600 * 312e12), rel=1e-3
    )
    assert est["cluster_days"] == pytest.approx(hours / 1_024 / 24)
    assert est["state"]["8B"] == 16 * n and est["ppo_bytes"] == 2 * est["dpo_bytes"]


def test_evaluation_sizes_by_hand():
    est = ct.estimate_budget()
    # Zero failures in n: the one-sided 95% upper bound is 1 - 0.05^(1/n).
    assert est["safety_prompts"] == math.ceil(math.log(0.05) / math.log(0.99))
    # Connor's paired formula, written out.
    disc, gain = 0.75, 0.05
    root = 1.959964 * math.sqrt(disc) + 0.841621 * math.sqrt(disc - gain**2)
    assert est["win_rate_prompts"] == math.ceil(root**2 / gain**2)
    assert est["spare_days"] == pytest.approx(42 * 0.8 - sum(est["stages"].values()))


def test_post_training_is_a_sliver_of_pre_training_and_labelling_is_the_calendar():
    est = ct.estimate_budget()
    assert est["post_share"] < 1e-3
    assert est["stages"]["preference labelling"] == max(est["stages"].values())
    assert est["generate_gpu_s"] > 0 and est["update_gpu_s"] > est["generate_gpu_s"]


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

    def dollars(name: str) -> float:
        return est["a100_hours"][name] * est["a100_dollars_per_hour"] / 1e6

    quoted = [
        f"{est['parameters'] / 1e9:.2f}B",
        f"{est['tokens']['compute-optimal'] / 1e9:.0f}B tokens",
        f"{est['flops']['compute-optimal']:.2e}",
        f"{est['flops']['Llama 3 8B']:.2e}",
        f"{est['overtrained']:.0f}x",
        f"{est['h100_hours']['Llama 3 8B']:,.0f} H100-hours",
        f"{est['cluster_days']:.1f} days",
        f"{est['a100_hours']['Llama 3 8B']:,.0f} GPU-hours",
        *(
            f"${dollars(name):.2f} million"
            for name in ("Llama 3 8B", "compute-optimal")
        ),
        f"{est['implied']['7B']:.0%} and {est['implied']['70B']:.0%}",
        f"{est['post_share']:.4%}",
        f"{est['generate_gpu_s']:.0f} GPU-s",
        f"{est['update_gpu_s']:.0f} GPU-s",
        f"{est['rater_hours']:,.0f} rater-hours",
        f"{est['label_weeks']:.1f} weeks",
        f"{est['stages']['preference labelling']:.1f}",
        f"over-runs by {-est['spare_days']:.1f} days",
        f"{est['win_rate_prompts']:,} prompts",
        f"{est['safety_prompts']} must-refuse",
    ]
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
