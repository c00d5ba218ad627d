"""LLM evaluation platform in miniature: a judge measured against people, and gates.

The back-of-envelope sizes the platform: judge calls and tokens per candidate change
and per day, their cost through an API and on self-hosted GPUs, the human labels
that calibrate the judge, the logs, and the wall-clock budget of a release gate.

The miniature (a seeded synthetic world, llm_evaluation_world) then measures:
1. judge-human agreement on a 1-5 scale: exact agreement, Pearson r and linear and
   quadratic weighted kappa, for a calibrated judge, a lenient one (every grade
   moved up: correlation barely notices, kappa does), the lenient one remapped on
   held-out labels, a noisy one, and a second person; per capability too;
2. position bias: a pairwise judge that favours the first slot, asked in one order
   and in both, against the true share of prompts where B is better; ablation
   without the bias; and verbosity bias: A against a padded copy of itself;
3. a paired and an unpaired bootstrap of B minus A on the same prompts, over 250
   evaluation sets with a known true gain;
4. three release gates over five capabilities: pass rates for a change that does
   nothing and for one that regresses one capability by the margin.

Run it: ``python -m snippets.problems.llm_evaluation``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from snippets.common.estimation import (
    SECONDS_PER_DAY,
    human_bytes,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval, wilson_interval
from snippets.concepts.generative_ai import (
    A100_40GB,
    A100_80GB,
    LLAMA_3_70B,
    Accelerator,
)
from snippets.framework.cost import TRAINER as P4D
from snippets.framework.generative_ai import (
    GPU_DOLLARS_PER_HOUR,
    LARGE,
    cost_per_task,
    max_batch,
    self_hosted_task_seconds,
)
from snippets.problems import llm_evaluation_stats as st
from snippets.problems import llm_evaluation_world as world


def _node(gpu: Accelerator, count: int) -> Accelerator:
    """count GPUs run tensor parallel, as one roofline (interconnect ignored)."""
    return Accelerator(
        f"{count} x {gpu.name}",
        *(count * x for x in (gpu.memory_bytes, gpu.bandwidth, gpu.peak_flops)),
    )


# --8<-- [start:estimate]
def estimate() -> dict[str, float]:
    """Judge calls, tokens, dollars, GPUs, human labels, logs and the gate's clock."""
    features, suite = 12, 5 * 500  # assumed: 12 LLM features; 5 capabilities x 500
    judged = 0.6 * suite  # assumed: open-ended prompts; programmatic checks the rest
    changes_per_day, work_hours, peak_factor = 40, 8, 2.0  # assumed; peak hour
    tasks_per_day, online_share = 5e6, 0.02  # assumed: 1% random + 1% targeted
    # Tokens, assumed: a candidate answer is the framework's RAG task (6,100 in,
    # 2,000 of them a shared prefix cached 90% of the time, 300 out). A judge call
    # holds a 1,200-token rubric prefix (cached), 1,700 of question, context and
    # reference, and each answer's 300; it writes 150 tokens (pointwise 100).
    rubric, item, answer = 1_200, 1_700, 300
    pair_in, point_in = rubric + item + 2 * answer, rubric + item + answer
    generate = cost_per_task(LARGE, 6_100, 300, 2_000, 0.9)
    pairwise = cost_per_task(LARGE, pair_in, 150, rubric, 0.9)
    pointwise = cost_per_task(LARGE, point_in, 100, rubric, 0.9)
    pair_calls = 2 * judged  # both orders
    online_calls = tasks_per_day * online_share  # pointwise
    # Nightly A/A sweeps, in the troughs: each feature's baseline answers its
    # suite afresh (cache bypassed) and is judged, both orders, against its
    # stored answers.
    sweep = suite * generate + pair_calls * pairwise
    offline_runs = changes_per_day + features
    api_per_day = offline_runs * pair_calls * pairwise + online_calls * pointwise
    # People who calibrate the judge, assumed: 100 answers per capability and
    # feature, two raters, 3 minutes an answer, $30 an hour; redone each quarter.
    label_hours = features * 5 * 100 * 2 * 3 / 60
    # The gate's wall clock, assumed: 30 minutes from a change to its verdict;
    # an API call takes 10 s to generate an answer and 6 s to judge.
    stages_s = {"setup": 60, "generate": 600, "checks": 60, "judge": 480, "stats": 30}
    spent_ms = {stage: 1_000 * s for stage, s in stages_s.items()}
    headroom_s = remaining_budget_ms(1_800_000, spent_ms) / 1_000
    # Changes arrive in working hours, the peak hour at twice their mean; runs
    # start as a Poisson stream, and capacity is sized for the 95th percentile
    # of the stages running at once.
    runs_per_s = changes_per_day / (work_hours * 3_600) * peak_factor
    at_once = {k: runs_per_s * stages_s[k] for k in ("generate", "judge")}
    sized = {k: int(stats.poisson.ppf(0.95, mean)) for k, mean in at_once.items()}
    tokens_per_min = {
        "generate": suite * (6_100 + 300) / stages_s["generate"] * 60,
        "judge": pair_calls * (pair_in + 150) / stages_s["judge"] * 60,
    }
    # Self-hosted judge: Llama 3 70B on nodes of 4 A100 80GB (tensor parallel),
    # the roofline of the four together (interconnect ignored: a lower bound).
    # Against a dated list price: AWS p4d.24xlarge (8 A100 40GB), on demand,
    # us-east-1, as snippets/framework/cost.py records it; one replica each.
    hosts = {"node": (_node(A100_80GB, 4), 4), "p4d": (_node(A100_40GB, 8), 8)}
    gpu_s, nodes, batch = {}, {}, {}
    for host, (node, gpus) in hosts.items():
        batch[host] = min(64, max_batch(LLAMA_3_70B, node, pair_in + 150))
        for calls, n, out in (("pair", pair_in, 150), ("point", point_in, 100)):
            seconds = self_hosted_task_seconds(
                LLAMA_3_70B, node, n, out, batch[host], rubric, 0.9
            )
            gpu_s[host, calls] = gpus * sum(seconds)
        burst = pair_calls / stages_s["judge"] * gpu_s[host, "pair"] / gpus
        for stages in (1, sized["judge"]):
            nodes[host, stages] = servers_needed(stages * burst, 1, utilisation=0.5)
    peak_nodes = nodes["node", sized["judge"]]
    gpu_s_per_day = offline_runs * pair_calls * gpu_s["node", "pair"]
    gpu_s_per_day += online_calls * gpu_s["node", "point"]
    fleet_per_day = peak_nodes * 4 * 24 * GPU_DOLLARS_PER_HOUR
    return {
        "suite": suite,
        "judged": judged,
        "changes": changes_per_day,
        "online share": online_share,
        "tasks": tasks_per_day,
        "generate": generate,
        "pairwise": pairwise,
        "pointwise": pointwise,
        "pair calls": pair_calls,
        "change generation": suite * generate,
        "change pairwise": pair_calls * pairwise,
        "change pointwise": judged * pointwise,
        "offline judge per day": changes_per_day * pair_calls * pairwise,
        "sweeps per day": features * sweep,
        "sweep judging per day": features * pair_calls * pairwise,
        "generation per day": changes_per_day * suite * generate,
        "online calls": online_calls,
        "online judge per day": online_calls * pointwise,
        "api judge per day": api_per_day,
        "judge per quarter": 91 * api_per_day,
        "label hours": label_hours,
        "people per change hours": judged * 3 / 60,
        "label dollars": label_hours * 30,
        "stages min": sum(stages_s.values()) / 60,
        "headroom min": headroom_s / 60,
        "in flight generate": suite * 10 / stages_s["generate"],
        "in flight judge": pair_calls * 6 / stages_s["judge"],
        "tokens per minute generate": tokens_per_min["generate"],
        "tokens per minute": tokens_per_min["judge"],
        "peak runs per hour": runs_per_s * 3_600,
        "generate stages at once": at_once["generate"],
        "judge stages at once": at_once["judge"],
        "generate stages sized": sized["generate"],
        "judge stages sized": sized["judge"],
        **{
            f"peak tokens per minute {k}": sized[k] * tokens_per_min[k]
            for k in ("generate", "judge")
        },
        "batch": batch["node"],
        "gpu s pair": gpu_s["node", "pair"],
        "gpu s point": gpu_s["node", "point"],
        "nodes": nodes["node", 1],
        "peak nodes": peak_nodes,
        "average gpus": gpu_s_per_day / SECONDS_PER_DAY,
        "fleet per day": fleet_per_day,
        "break-even efficiency": fleet_per_day / api_per_day,
        "p4d batch": batch["p4d"],
        "p4d per hour": P4D.dollars_per_hour,
        "p4d for one burst": nodes["p4d", 1],
        "p4d at peak": nodes["p4d", sized["judge"]],
        "p4d fleet per day": nodes["p4d", sized["judge"]] * 24 * P4D.dollars_per_hour,
        # Logs, assumed sizes: 6 kB per run row (answer, check results, verdicts
        # and rationales), kept 2 years; 30 kB per production trace (prompt,
        # context, answer, versions), kept 30 days; 1 kB of feedback events per
        # task (thumbs, edits, retries, escalations), kept 2 years; 2 kB per online
        # verdict (grade, rationale, judge version), kept 2 years.
        "run rows": storage_bytes(offline_runs * suite * 730, 6e3, 3),
        "traces": storage_bytes(tasks_per_day * 30, 30e3, 3),
        "feedback": storage_bytes(tasks_per_day * 730, 1e3, 3),
        "online verdicts": storage_bytes(online_calls * 730, 2e3, 3),
    }
    # --8<-- [end:estimate]


# The graders of the agreement study. The judge is weak on multi-step reasoning,
# where it cannot check the steps; the lenient one reads every answer 0.8 higher
# on the latent scale (about one grade); the noisy one is weak everywhere.
JUDGE = world.PointwiseJudge("judge", (0.35, 0.35, 0.35, 0.9, 0.35))
LENIENT = replace(JUDGE, name="judge, lenient", offset=0.8)
NOISY = world.PointwiseJudge("judge, noisy", (0.9,) * len(world.CAPABILITIES))
REMAPPED = "  remapped on held-out labels"
PAIRWISE = world.PairwiseJudge()
LABELLED_PER_CAPABILITY = 100
PAIRS_PER_CAPABILITY = 100
B_EFFECT = 0.25  # B's latent gain in the pairwise study
PADDING = 1.6  # the padded copy's answers have 1.6 times the words
SEEDS = range(10)
BOOT_PER_CAPABILITY, BOOT_SETS, BOOT_GAIN, BOOT_RESAMPLES = 60, 250, 0.15, 1000
GATE_RUNS, MARGIN = 400, 0.15


def remap_cross_fitted(judge, human, rng: np.random.Generator) -> np.ndarray:
    """The judge's grades mapped to human grades, each half of the items mapped
    by a table fitted on the other half (so no item grades its own mapping)."""
    judge, human = np.asarray(judge), np.asarray(human)
    if judge.ndim != 1 or judge.shape != human.shape or judge.size < 4:
        raise ValueError("need two 1-D grade arrays of one length, at least 4 items")
    half = rng.permutation(judge.size) < judge.size // 2
    out = judge.copy()
    for fit in (half, ~half):
        table = st.grade_map(judge[fit], human[fit])
        out[~fit] = [table[g] for g in judge[~fit]]
    return out


# --8<-- [start:experiment]
def agreement_study(seed: int = 0, n_boot: int = 1000) -> dict:
    """Every grader against one person's grades, on the same answers and the same
    bootstrap resamples (so differences between graders are paired)."""
    rng = np.random.default_rng(seed)
    prompts = world.draw_prompts(rng, LABELLED_PER_CAPABILITY)
    quality = world.answer_quality(rng, prompts)
    human = world.human_grades(rng, quality)
    graders = {"second human rater": world.human_grades(rng, quality)}
    for judge in (JUDGE, LENIENT):
        graders[judge.name] = judge.grade(rng, quality, prompts.capability)
    graders[REMAPPED] = remap_cross_fitted(graders[LENIENT.name], human, rng)
    graders[NOISY.name] = NOISY.grade(rng, quality, prompts.capability)
    boot = st.agreement_bootstrap(human, graders, rng, n_boot)
    slices = {}
    for c, name in enumerate(world.CAPABILITIES):
        mask = prompts.capability == c
        pair = {k: graders[k][mask] for k in ("second human rater", JUDGE.name)}
        slices[name] = st.agreement_bootstrap(human[mask], pair, rng, n_boot)
    return {"boot": boot, "slices": slices, "n": human.size}


def position_study(seeds=SEEDS) -> dict[str, np.ndarray]:
    """B against A, pairwise, on the same prompts: each estimate per seed."""
    rows: dict[str, list[float]] = {}
    for seed in seeds:
        rng = np.random.default_rng(100 + seed)
        prompts = world.draw_prompts(rng, PAIRS_PER_CAPABILITY)
        a = world.answer_quality(rng, prompts)
        b = world.answer_quality(rng, prompts, B_EFFECT)
        len_a, len_b = (world.log_lengths(rng, a.size) for _ in "ab")
        rates = st.win_rate_both_orders(
            *world.judge_both_orders(PAIRWISE, rng, a, b, len_a, len_b)
        )
        unbiased = replace(PAIRWISE, position_bias=0.0)
        ablation = st.win_rate_both_orders(
            *world.judge_both_orders(unbiased, rng, a, b, len_a, len_b)
        )
        # Verbosity: A against a padded copy of A (same quality, more words).
        padded = world.log_lengths(rng, a.size, PADDING)
        verdicts = world.judge_both_orders(PAIRWISE, rng, a, a, len_a, padded)
        terse = replace(PAIRWISE, verbosity=0.0)
        plain = world.judge_both_orders(terse, rng, a, a, len_a, padded)
        found = {
            "truth": float(np.mean(b > a)),
            **rates,
            "no position bias": ablation["b second only"],
            "padded, both orders": st.win_rate_both_orders(*verdicts)["both orders"],
            "padded, no verbosity bias": st.win_rate_both_orders(*plain)["both orders"],
            "padded, length-controlled": st.length_controlled_win_rate(
                *verdicts, len_a, padded
            ),
        }
        for key, value in found.items():
            rows.setdefault(key, []).append(value)
    return {key: np.array(values) for key, values in rows.items()}


def bootstrap_study(sets: int = BOOT_SETS, seed: int = 7) -> dict:
    """Paired and unpaired bootstrap intervals of B minus A over many evaluation
    sets drawn from one world whose true gain is BOOT_GAIN grade."""
    effect = world.effect_for_grade_change(BOOT_GAIN)
    truth = world.expected_grade(effect) - world.expected_grade(0.0)
    rng = np.random.default_rng(seed)
    found = {True: [], False: []}
    first = None
    for _ in range(sets):
        prompts = world.draw_prompts(rng, BOOT_PER_CAPABILITY)
        a = world.true_grades(world.answer_quality(rng, prompts))
        b = world.true_grades(world.answer_quality(rng, prompts, effect))
        for paired in (True, False):
            found[paired].append(
                st.bootstrap_difference(a, b, rng, paired, BOOT_RESAMPLES)
            )
        if first is None:
            first = (a, b)
    return {
        "truth": truth,
        "n": first[0].size,
        "first t": paired_interval(first[1] - first[0]),
        "paired": np.array(found[True]),
        "unpaired": np.array(found[False]),
    }


def gate_study(runs: int = GATE_RUNS, seed: int = 11) -> dict:
    """How often each gate passes a change, by suite size and true effect."""
    rng = np.random.default_rng(seed)
    k = len(world.CAPABILITIES)
    regress = np.zeros(k)
    regress[world.CAPABILITIES.index("reasoning")] = world.effect_for_grade_change(
        -MARGIN
    )
    half = regress * world.effect_for_grade_change(-MARGIN / 2) / regress.min()
    scenarios = {
        (100, "no change"): np.zeros(k),
        (100, "reasoning -1 margin"): regress,
        (500, "no change"): np.zeros(k),
        (500, "reasoning -1 margin"): regress,
        (500, "reasoning -1/2 margin"): half,
    }
    found = {}
    for (n, name), effect in scenarios.items():
        difficulty = world.PROMPT_SD * rng.standard_normal((runs, k, n), np.float32)
        noise = world.ANSWER_SD * rng.standard_normal((2, runs, k, n), np.float32)
        a = world.true_grades(-difficulty + noise[0])
        b = world.true_grades(-difficulty + effect[:, None] + noise[1])
        found[n, name] = st.gate_passes(b - a, MARGIN)
    return found
    # --8<-- [end:experiment]


def _money(x: float) -> str:
    return f"${x:,.0f}" if x >= 100 else f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


def print_estimate(e: dict[str, float]) -> None:
    print("Back-of-envelope (assumptions in estimate):")
    day_generation = _money(e["generation per day"])
    online = f"{e['online share']:.0%} of {e['tasks'] / 1e6:.0f}M tasks"

    def pair(a: str, b: str, fmt: str = ",.0f") -> str:
        return f"{e[a]:{fmt}}, {e[b]:{fmt}}"

    rows = [
        ("cost per call: candidate answer", _money(e["generate"])),
        ("  judge, pairwise (two answers)", _money(e["pairwise"])),
        ("  judge, pointwise (one answer)", _money(e["pointwise"])),
        (f"per change ({e['suite']:,} prompts, {e['judged']:,.0f} judged):", ""),
        ("  candidate answers", _money(e["change generation"])),
        ("  judge calls, pairwise in both orders", f"{e['pair calls']:,.0f}"),
        ("  judge, pairwise in both orders", _money(e["change pairwise"])),
        ("  judge, pointwise, baseline cached", _money(e["change pointwise"])),
        ("  people grading it instead: hours", f"{e['people per change hours']:,.0f}"),
        (f"per day, {e['changes']} changes: candidate answers", day_generation),
        ("  offline judge", _money(e["offline judge per day"])),
        ("  nightly A/A sweeps, 12 features, all costs", _money(e["sweeps per day"])),
        ("    of which judging", _money(e["sweep judging per day"])),
        (f"  online judge calls ({online})", f"{e['online calls']:,.0f}"),
        ("  online judge", _money(e["online judge per day"])),
        (
            "  all judging by API (changes, sweeps, online)",
            _money(e["api judge per day"]),
        ),
        ("per quarter: all judging by API", _money(e["judge per quarter"])),
        ("  human labels: hours", f"{e['label hours']:,.0f}"),
        ("  human labels at $30 an hour", _money(e["label dollars"])),
        ("gate run, 30 min budget: stages", f"{e['stages min']:.1f} min"),
        ("  headroom", f"{e['headroom min']:.1f} min"),
        (
            "  API calls in flight: generate, judge",
            pair("in flight generate", "in flight judge"),
        ),
        (
            "  tokens a minute: generate, judge",
            pair("tokens per minute generate", "tokens per minute"),
        ),
        (
            "  peak runs an hour (2x the working-hours mean)",
            f"{e['peak runs per hour']:.1f}",
        ),
        (
            "  stages at once at peak: generate, judge",
            pair("generate stages at once", "judge stages at once", ".2f"),
        ),
        (
            "    95th percentile (Poisson starts)",
            pair("generate stages sized", "judge stages sized"),
        ),
        (
            "  tokens a minute at that peak",
            pair("peak tokens per minute generate", "peak tokens per minute judge"),
        ),
        (f"self-hosted judge, Llama 3 70B, 4 A100 80GB, batch {e['batch']}:", ""),
        (
            "  GPU-seconds a call: pairwise, pointwise",
            pair("gpu s pair", "gpu s point", ".2f"),
        ),
        ("  nodes, 50% busy: one burst, peak overlap", pair("nodes", "peak nodes")),
        ("  GPUs busy on average over a day", f"{e['average gpus']:.1f}"),
        ("  peak fleet always on, per day", _money(e["fleet per day"])),
        ("  break-even share of the roofline", f"{e['break-even efficiency']:.0%}"),
        (
            f"p4d.24xlarge (8 A100 40GB) at ${e['p4d per hour']:.2f}/h,"
            f" batch {e['p4d batch']}:",
            "",
        ),
        (
            "  instances: one burst, peak overlap",
            pair("p4d for one burst", "p4d at peak"),
        ),
        ("  instances always on for the peak, per day", _money(e["p4d fleet per day"])),
        ("logs, 3 replicas: run rows, 2 years", human_bytes(e["run rows"])),
        ("  production traces, 30 days", human_bytes(e["traces"])),
        ("  feedback events, 2 years", human_bytes(e["feedback"])),
        ("  online verdicts, 2 years", human_bytes(e["online verdicts"])),
    ]
    for label, value in rows:
        print(f"  {label:<46}{value:>20}".rstrip())


def _fmt(value: float, low: float, high: float, digits: int = 3) -> str:
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def print_agreement(study: dict) -> None:
    boot = study["boot"]
    print(
        f"\nGraders against one person's grades: {study['n']} answers,"
        f" {LABELLED_PER_CAPABILITY} per capability"
    )
    print("value [95% bootstrap interval, 1,000 resamples of the answers]")
    print(
        f"{'grader':<30}{'exact':>6}{'offset':>8}{'Pearson':>8}{'linear':>8}"
        "  quadratic kappa"
    )
    for name, m in boot.items():
        print(
            f"{name:<30}{m['exact'][0]:>6.2f}{m['offset'][0]:>+8.2f}"
            f"{m['pearson'][0]:>8.3f}{m['linear'][0]:>8.3f}"
            f"  {_fmt(*st.interval(m['quadratic']))}"
        )
    lenient, judge = boot[LENIENT.name], boot[JUDGE.name]
    print("judge, lenient minus judge (paired bootstrap):")
    for key, label in (
        ("pearson", "Pearson r"),
        ("linear", "linear kappa"),
        ("quadratic", "quadratic kappa"),
    ):
        print(f"  {label:<28}{_fmt(*st.interval(lenient[key] - judge[key]))}")
    print("Quadratic kappa per capability (100 answers each)")
    print(f"{'capability':<14}{'judge':>22}{'second human rater':>26}")
    for name, pair in study["slices"].items():
        j = _fmt(*st.interval(pair[JUDGE.name]["quadratic"]))
        h = _fmt(*st.interval(pair["second human rater"]["quadratic"]))
        print(f"{name:<14}{j:>22}{h:>26}")


LABELS = {
    "truth": "true share of prompts where B is better",
    "b second only": "judge asked once, B in the second slot",
    "b first only": "judge asked once, B in the first slot",
    "both orders": "both orders, a flip counted as a tie",
    "no position bias": "ablation: no position bias, one order",
    "first slot wins": "calls won by the first slot",
    "consistent": "pairs with the same verdict both ways",
    "padded, both orders": "judge, both orders",
    "padded, no verbosity bias": "ablation: no verbosity bias",
    "padded, length-controlled": "length-controlled (logistic fit)",
}


def print_position(rows: dict[str, np.ndarray]) -> None:
    n = PAIRS_PER_CAPABILITY * len(world.CAPABILITIES)
    print(
        f"\nPairwise judge, B better by design: {n} prompts, {len(SEEDS)} seeds"
        " (mean, min-max)"
    )
    for i, (key, label) in enumerate(LABELS.items()):
        if i == 7:
            print(f"A against a padded copy of itself ({PADDING} times the words);")
            print("the copy's win rate:")
        v = rows[key]
        print(f"  {label:<44}{v.mean():.3f}  {v.min():.3f}-{v.max():.3f}")


def print_bootstrap(study: dict) -> None:
    truth, paired, unpaired = study["truth"], study["paired"], study["unpaired"]
    print(
        f"\nB minus A in mean grade, {study['n']} prompts a set, true gain"
        f" {truth:+.3f} (from the generator)"
    )
    d, low, high = paired[0]
    print(f"  one set: observed {d:+.3f}")
    resamples = f"({BOOT_RESAMPLES:,})"
    print(f"    paired bootstrap {resamples:<18}[{low:+.3f}, {high:+.3f}]")
    low, high = unpaired[0][1:]
    print(f"    unpaired bootstrap {resamples:<16}[{low:+.3f}, {high:+.3f}]")
    _, low, high = study["first t"]
    print(f"    paired t-interval                  [{low:+.3f}, {high:+.3f}]")
    print(f"  {len(paired)} sets{'paired':>34}{'unpaired':>22}")
    for label, f in (("mean interval width", lambda r: (r[:, 2] - r[:, 1]).mean()),):
        print(f"    {label:<28}{f(paired):>12.3f}{f(unpaired):>22.3f}")
    for label, hit in (
        ("gain found (low > 0)", lambda r: r[:, 1] > 0),
        (
            "interval covers the truth",
            lambda r: (r[:, 1] <= truth) & (truth <= r[:, 2]),
        ),
    ):
        cells = []
        for r in (paired, unpaired):
            k = int(hit(r).sum())
            cells.append(_fmt(k / len(r), *wilson_interval(k, len(r)), digits=2))
        print(f"    {label:<28}{cells[0]:>18}{cells[1]:>22}")


def print_gates(found: dict) -> None:
    print(
        f"\nRelease gates, {len(world.CAPABILITIES)} capabilities, margin"
        f" {MARGIN} grade, {GATE_RUNS} runs each:\nshare of runs that pass"
        " [95% interval]"
    )
    gates = list(next(iter(found.values())))
    print(f"{'prompts/cap, true change':<25}" + "".join(f"{g:>19}" for g in gates))
    for (n, name), passes in found.items():
        cells = []
        for gate in passes:
            k = int(passes[gate].sum())
            cells.append(_fmt(k / GATE_RUNS, *wilson_interval(k, GATE_RUNS), 2))
        print(f"{n:>3} {name:<21}" + "".join(f"{c:>19}" for c in cells))
    print("'signif. worse' blocks a harmless change with k independent capabilities")
    rates = ", ".join(f"k={k}: {1 - 0.975**k:.2f}" for k in (5, 10, 20))
    print(f"with probability 1 - 0.975^k: {rates}")


def print_differences(rows: dict[str, np.ndarray]) -> None:
    print(f"\nPaired differences over the {len(SEEDS)} seeds: mean [95% interval]")
    blocks = {
        "estimate minus true share where B is better": (
            "truth",
            ("b second only", "b first only", "both orders", "no position bias"),
        ),
        "both orders minus no position bias, one order": (
            "no position bias",
            ("both orders",),
        ),
        "the padded copy's win rate minus 0.5": (
            None,
            (
                "padded, both orders",
                "padded, no verbosity bias",
                "padded, length-controlled",
            ),
        ),
    }
    for title, (reference, keys) in blocks.items():
        print(f"{title}:")
        for key in keys:
            base = rows[reference] if reference else 0.5
            mean, low, high = paired_interval(rows[key] - base)
            tie = "  tie" if is_tie(low, high) else ""
            label = LABELS[key].removeprefix("ablation: ")
            print(f"  {label:<40}{mean:+.3f} [{low:+.3f}, {high:+.3f}]{tie}")


def main() -> None:
    print_estimate(estimate())
    print_agreement(agreement_study())
    rows = position_study()
    print_position(rows)
    print_bootstrap(bootstrap_study())
    print_gates(gate_study())
    print_differences(rows)


if __name__ == "__main__":
    main()
