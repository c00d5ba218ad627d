"""Content moderation: the estimate, the miniature's claims, the page's numbers."""

from __future__ import annotations

import math
import re
from statistics import NormalDist

import pytest
from guide import ROOT, assert_page_quotes, module_output, paired_differences

from snippets.common import estimation
from snippets.framework.cost import GPU
from snippets.problems import content_moderation as cm
from snippets.problems import content_moderation_queue as cq

PAGE = "problems/content-moderation.md"
MODULE = "snippets.problems.content_moderation"
NUMBER = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def section(start: str, end: str) -> str:
    return output().split(start, 1)[1].split(end, 1)[0]


def printed_policies() -> dict[str, dict[str, float | None]]:
    """Per-policy table: name -> rate, pr_auc, raw, cal, auto, prec, recall, caught."""
    rows = {}
    for line in section("recall caught\n", "auto-action precision").splitlines():
        m = re.match(
            r"^(.+?)\s+(\d+)\s+(\d+\.\d+)%\s+(\d\.\d+)\s+(\d+\.\d)\s+(\d\.\d+)\s+"
            r"(\d)/\d\s+(\d\.\d+|-)\s+(\d\.\d+)\s+(\d\.\d+)$",
            line,
        )
        assert m, f"unparsed line {line!r}"
        rows[m[1]] = {
            "severity": float(m[2]),
            "rate": float(m[3]) / 100,
            "pr_auc": float(m[4]),
            "raw": float(m[5]),
            "cal": float(m[6]),
            "auto": int(m[7]),
            "prec": None if m[8] == "-" else float(m[8]),
            "recall": float(m[9]),
            "caught": float(m[10]),
        }
    return rows


def printed_auto_precision() -> dict[str, tuple[float, float]]:
    """Auto-action precision per seed: policy -> (lowest, highest)."""
    rows = {}
    for line in section("(pooled in the table above):\n", "\n\n").splitlines():
        m = re.match(r"^  (.+?)\s+(\d\.\d+) to (\d\.\d+)$", line)
        assert m, f"unparsed line {line!r}"
        rows[m[1]] = (float(m[2]), float(m[3]))
    return rows


def printed_sweep() -> dict[str, dict[tuple[float, float], dict]]:
    """Forecast ("as it is", "shrunk") -> (sigma, noise) -> p90/p10, corr and
    (mean, low, high) of expected harm minus each other order."""
    tables, n = {}, NUMBER
    interval = rf"({n}) \[({n}), ({n})\]"
    text = section("with the forecast as it is:\n", "\n\n")
    as_is, shrunk = text.split("with the forecast shrunk to E[views | it]:\n")
    for forecast, lines in (("as it is", as_is), ("shrunk", shrunk)):
        rows = tables[forecast] = {}
        for line in lines.splitlines()[1:]:  # below the column names
            m = re.match(
                rf"^\s+(\d\.\d)\s+(\d+\.\d)\s+(\d\.\d)\s+(\d\.\d\d)"
                rf"\s+{interval}\s+{interval}$",
                line,
            )
            assert m, f"unparsed line {line!r}"
            rows[float(m[1]), float(m[3])] = {
                "p90/p10": float(m[2]),
                "corr": float(m[4]),
                "raw max score": tuple(float(m[i]) for i in (5, 6, 7)),
                "without the views term": tuple(float(m[i]) for i in (8, 9, 10)),
            }
    return tables


def printed_queue() -> dict[str, dict[str, float]]:
    """Queue table: order -> harm, violating views, severe harm, hit rate (%)."""
    rows = {}
    for line in section("hit rate\n", "\n\n").splitlines():
        m = re.match(rf"^\s*(.+?)\s+((?:{NUMBER}\s*){{4}})$", line)
        assert m, f"unparsed line {line!r}"
        values = map(float, m[2].split())
        rows[m[1]] = dict(zip(cm.QUEUE_METRICS, values, strict=True))
    return rows


def printed_prevalence() -> dict[str, dict]:
    """Population -> truth and, per design, mean estimate, width (pp), coverage
    pooled and its lowest and highest over the seeds."""
    found, name = {}, None
    for line in section("per seed\n", "\n\n").splitlines():
        if m := re.match(r"^(\S.+?)\s+(\d\.\d+)%$", line):
            name = m[1]
            found[name] = {"truth": float(m[2]) / 100}
        elif m := re.match(
            r"^  (simple random sample|stratified by score)\s+(\d\.\d+)%\s+"
            r"(\d+\.\d+)\s+(\d+\.\d)%\s+(\d+\.\d)%-(\d+\.\d)%$",
            line,
        ):
            found[name][m[1]] = {
                "estimate": float(m[2]) / 100,
                "width": float(m[3]),
                "coverage": float(m[4]) / 100,
                "seeds": (float(m[5]) / 100, float(m[6]) / 100),
            }
        elif m := re.match(
            r"^  labels a simple random sample needs .*: ([\d,]+)$", line
        ):
            found[name]["equivalent"] = m[1]
        else:
            raise AssertionError(f"unparsed line {line!r}")
    return found


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def test_tables_parse_completely():
    assert list(printed_policies()) == [p.name for p in cq.POLICIES]
    assert len(printed_queue()) == 6
    assert list(printed_prevalence()) == ["any policy", "violent extremism"]
    assert list(printed_auto_precision()) == ["adult nudity", "spam"]
    for table in printed_sweep().values():
        assert list(table) == [
            (sigma, noise) for sigma in cm.SWEEP_SIGMA for noise in cm.SWEEP_NOISE
        ]
    blocks = {block for block, _ in paired_differences(output())}
    assert len(blocks) == len(cm.COMPARISONS) + 1


def test_the_expected_harm_queue_beats_the_raw_max_score():
    block = "expected harm minus raw max score, percentage points"
    for metric in ("harm", "violating views", "severe harm"):
        _, low, _, tie = diff(block, metric)
        assert low > 0 and not tie, metric
    _, _, high, _ = diff(block, "hit rate")  # it finds violations less often
    assert high < 0
    queue = printed_queue()
    assert queue["oracle (true harm)"]["harm"] > queue["expected harm"]["harm"]
    assert queue["oracle (true harm)"]["hit rate"] == 100.0


def test_the_views_term_causes_most_of_the_gain_and_calibration_the_rest():
    views = diff(
        "expected harm minus without the views term, percentage points", "harm"
    )
    calib = diff("expected harm minus without calibration, percentage points", "harm")
    sev = diff("expected harm minus without severity, percentage points", "harm")
    assert views[1] > 0 and calib[1] > 0
    assert views[0] > calib[0] > sev[0]
    # Severity trades violating views in general for the severe policies' harm.
    block = "expected harm minus without severity, percentage points"
    assert diff(block, "severe harm")[1] > 0
    assert diff(block, "violating views")[0] < 0
    # Without calibration the rare heads' inflated scores flood the queue.
    queue = printed_queue()
    assert queue["without calibration"]["hit rate"] < queue["expected harm"]["hit rate"]


def test_the_sweep_reproduces_the_miniature_and_the_views_term_needs_spread():
    sweep = printed_sweep()["as it is"]
    here = sweep[cq.VIEWS_SIGMA, cq.VIEWS_NOISE]  # the miniature's own views world
    for order in ("raw max score", "without the views term"):
        block = f"expected harm minus {order}, percentage points"
        assert here[order] == diff(block, "harm")[:3], order
    for noise in cm.SWEEP_NOISE:  # more spread in views, more gain from the term
        gains = [sweep[s, noise]["without the views term"][0] for s in cm.SWEEP_SIGMA]
        assert gains == sorted(gains), noise
    for sigma in cm.SWEEP_SIGMA:  # a noisier forecast, less gain
        gains = [sweep[sigma, n]["without the views term"][0] for n in cm.SWEEP_NOISE]
        assert gains == sorted(gains, reverse=True), sigma
    # Little spread and a noisy forecast taken at face value: the views term harms.
    worst = sweep[min(cm.SWEEP_SIGMA), max(cm.SWEEP_NOISE)]
    assert worst["without the views term"][2] < 0 and worst["raw max score"][2] < 0
    z90 = NormalDist().inv_cdf(0.9)
    for (sigma, noise), row in sweep.items():
        assert row["p90/p10"] == pytest.approx(math.exp(2 * z90 * sigma), abs=0.06)
        assert row["corr"] == pytest.approx(sigma / math.hypot(sigma, noise), abs=0.006)


def test_with_the_expected_views_the_order_wins_in_every_views_world():
    """The order is best by construction once its views term is E[views | forecast]:
    it beats the raw max score everywhere and never loses to dropping views."""
    as_is, shrunk = printed_sweep()["as it is"], printed_sweep()["shrunk"]
    for cell, row in shrunk.items():
        assert row["raw max score"][1] > 0, cell
        mean, _, high = row["without the views term"]
        assert mean > 0 and high > 0, cell
        assert mean >= as_is[cell]["without the views term"][0] - 0.01, cell


def test_every_printed_tie_is_an_interval_that_holds_zero():
    for (_, _), (_, low, high, tie) in paired_differences(output()).items():
        assert tie == (low <= 0 <= high)


def test_balanced_heads_are_inflated_and_calibration_repairs_them():
    rows = printed_policies()
    raws = [rows[p.name]["raw"] for p in cq.POLICIES]
    assert min(raws) > 3
    assert raws[0] == max(raws) and raws[-1] == min(raws)  # rarest most inflated
    for name, row in rows.items():
        assert 0.85 <= row["cal"] <= 1.15, name
        assert row["caught"] >= row["recall"], name  # review only adds catches
        assert row["pr_auc"] > row["rate"], name  # every head beats random order


def test_auto_action_only_where_precise_and_it_misses_the_target_on_new_days():
    rows = printed_policies()
    automated = {name for name, row in rows.items() if row["auto"]}
    assert automated == {"adult nudity", "spam"}
    per_seed = printed_auto_precision()
    for name in automated:
        assert 0.7 < rows[name]["prec"] < cm.TARGET_PRECISION
        low, high = per_seed[name]
        assert low <= rows[name]["prec"] <= high  # pooled lies inside the seeds' range
        assert low < cm.TARGET_PRECISION < high  # days on both sides of the target
    for name in set(rows) - automated:
        assert rows[name]["prec"] is None and rows[name]["recall"] == 0


def test_prevalence_designs_are_unbiased_and_cover_near_the_nominal_rate():
    prevalence = printed_prevalence()
    for found in prevalence.values():
        for design in ("simple random sample", "stratified by score"):
            assert found[design]["estimate"] == pytest.approx(found["truth"], rel=0.03)
        assert (
            found["stratified by score"]["width"]
            < found["simple random sample"]["width"]
        )
    # 5,000 intervals per design: coverage is known to within about 0.6 points.
    for found in prevalence.values():
        for design in ("simple random sample", "stratified by score"):
            coverage, (low, high) = found[design]["coverage"], found[design]["seeds"]
            assert coverage == pytest.approx(0.95, abs=0.015)
            assert low <= coverage <= high
    # Labels a simple random sample needs: solved from the binomial. A width that
    # falls as 1/sqrt(n) holds with many violations, overstates it with about one.
    for name, found in prevalence.items():
        srs, strat = found["simple random sample"], found["stratified by score"]
        rule = cm.LABEL_BUDGET * (srs["width"] / strat["width"]) ** 2
        needed = int(found["equivalent"].replace(",", ""))
        if name == "any policy":
            assert needed == pytest.approx(rule, rel=0.05)
        else:
            assert cm.LABEL_BUDGET < needed < 0.8 * rule
    for name in prevalence:
        _, _, high, _ = diff(
            "stratified minus simple random sample, percentage points", f"width, {name}"
        )
        assert high < 0


def test_estimates_come_from_the_shared_estimation_functions():
    est = cm.estimate_capacity()
    gpu_rate = GPU.peak_flops * 0.30
    flops = {
        "text": 2 * 100e6 * 128,
        "image": 2 * 86e6 * 197,
        "video": 60 * (2 * 86e6 * 197 + 2 * 40e6 * 50) + 2 * 100e6 * 128,
    }
    total_gpus = 0
    for modality, rate in {"text": 3.0, "image": 0.5, "video": 0.05}.items():
        m = est["modalities"][modality]
        qps = estimation.peak_qps(1e9, rate, 2.0)
        assert m["peak_qps"] == pytest.approx(qps)
        assert m["gpus"] == math.ceil(qps * flops[modality] / gpu_rate)
        assert m["dollars_per_day"] == pytest.approx(m["gpus"] * 24 * 0.8048)
        total_gpus += m["gpus"]
    assert est["gpus"] == total_gpus and est["gpus_model_per_policy"] == 6 * total_gpus
    # Video is a small share of uploads and the largest GPU bill.
    video = est["modalities"]["video"]
    assert video["share"] < 0.02
    assert video["gpus"] == max(m["gpus"] for m in est["modalities"].values())
    # Reviewers: hours of review a day over productive hours per reviewer-day,
    # times 7/5 for a seven-day service staffed five days a week per person.
    streams = {
        "queue": (1e6, 40),
        "appeals": (0.03 * 10e6, 90),
        "quality": (50e3 + 0.01 * 1e6 + 0.05 * 1e6, 40),
    }
    for name, (n, seconds) in streams.items():
        assert est["reviewers"][name] == math.ceil(n * seconds / 3600 / 6 * 7 / 5)
    # Paid for 8-hour shifts of which 6 hours are productive, at $25 an hour.
    hours = sum(n * seconds for n, seconds in streams.values()) / 3600
    assert est["review_dollars_per_day"] == pytest.approx(hours / 6 * 8 * 25)
    # One text classification costs the text fleet's day over the day's text items.
    text = est["modalities"]["text"]
    one_text = text["gpus"] * 24 * 0.8048 / 3e9
    assert est["reviews_per_text_cost"] == pytest.approx(
        (40 / 3600 / 6 * 8 * 25) / one_text
    )
    uploads, scorings = 3.55e9, 3.55e9 * 1.5  # 0.5 re-scores an upload
    assert est["logs"]["embeddings: 768 x fp16 an upload"] == estimation.human_bytes(
        uploads * 1_536
    )
    assert est["logs"]["features as served, 1 kB a score"] == estimation.human_bytes(
        scorings * 1_000
    )
    assert est["logs"]["views: 150 a user, 40 B each"] == estimation.human_bytes(
        1e9 * 150 * 40
    )
    assert len(est["logs"]) == 7
    total = sum(
        (scorings * 100, scorings * 1_000, uploads * 1_536, 1e9 * 150 * 40,
         20e6 * 500, (10e6 + 1e6 + 110e3) * 1_000, 0.03 * 10e6 * 2_000)
    )  # fmt: skip
    assert est["logs_per_day_3_replicas"] == estimation.human_bytes(3 * total)
    assert est["headroom_ms"] == estimation.remaining_budget_ms(250, est["stages_ms"])
    assert est["headroom_ms"] > 0


def test_the_diagram_carries_the_latency_budget():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    est = cm.estimate_capacity()
    shown = [float(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    stages = list(est["stages_ms"].values())
    assert shown == [*stages, est["budget_ms"], est["headroom_ms"]]
    for modality in ("text", "image", "video"):
        assert f"{est['modalities'][modality]['peak_qps']:,.0f}/s" in diagram
    reviewers = est["reviewers"]
    assert f"{reviewers['queue']:,} queue, {reviewers['quality']:,} quality" in diagram
    assert f"{reviewers['appeals']:,} reviewers" in diagram


def test_page_quotes_the_numbers_the_code_prints():
    est = cm.estimate_capacity()
    quoted = [f"{m['peak_qps']:,.0f}" for m in est["modalities"].values()]
    quoted += [f"{m['gflop']:,.1f} GFLOP" for m in est["modalities"].values()]
    quoted += [
        f"{m['gpus']} GPUs (${m['dollars_per_day']:,.0f} a day)"
        if name == "text"
        else f"{m['gpus']} (${m['dollars_per_day']:,.0f})"
        for name, m in est["modalities"].items()
    ]
    quoted += [
        f"{est['uploads_per_day']:,.0f}",
        f"{est['modalities']['video']['share']:.1%} of uploads",
        f"{est['gpus']} GPUs, ${est['gpu_dollars_per_day']:,.0f} a day",
        f"{est['gpus_model_per_policy']} GPUs",
        f"{est['reviews_per_day']:,.0f} reviews a day is "
        f"{est['review_share_of_uploads']:.3%}",
        *(f"**{n:,}" for n in est["reviewers"].values()),
        f"**{sum(est['reviewers'].values()):,} reviewers**",
        f"{est['quality_reviews_per_day']:,.0f} a day",
        f"${est['review_dollars_per_day']:,.0f} a day",
        f"{est['review_over_gpus']:.0f}x the GPUs",
        f"(${est['review_dollars']:.2f})",
        f"about {float(format(est['reviews_per_text_cost'], '.2g')):,.0f} text",
        f"**{est['logs_per_day_3_replicas']} a day**",
        f"{est['headroom_ms']:.0f} ms of",
        f"{est['image_ms_on_one_gpu']:.1f} ms of GPU time",
        f"{len(est['logs'])} of them",
        *est["logs"].values(),
    ]
    policies = printed_policies()
    first, last = cq.POLICIES[0].name, cq.POLICIES[-1].name
    quoted += [
        f"{policies[first]['pr_auc']:.3f}",
        f"{policies[last]['pr_auc']:.3f}",
        f"{policies[first]['raw']:.1f} times",
        f"{policies[last]['raw']:.1f} times",
    ]
    # PR-AUC against a random ranking's, the base rate (from the printed values).
    quoted += [
        f"about {policies[name]['pr_auc'] / policies[name]['rate']:.0f} times"
        for name in (first, last)
    ]
    not_auto = [row["caught"] for row in policies.values() if not row["auto"]]
    quoted += [f"{min(not_auto):.3f} to {max(not_auto):.3f}"]
    seeds = printed_auto_precision().values()
    quoted += [f"{low:.3f} to {high:.3f}" for low, high in seeds]
    cals = [row["cal"] for row in policies.values()]
    quoted += [f"{min(cals):.2f} to {max(cals):.2f}"]
    quoted += [
        f"{policies[n]['prec']:.3f}" for n in ("adult nudity", "spam")
    ]  # the auto-action precisions
    # About 16 positives of the rarest policy in the calibration sample.
    quoted += [f"about {cm.CALIBRATION * cq.POLICIES[0].base_rate:.0f} positives"]
    quoted += [f"{policies[first]['rate']:.2%} of uploads"]
    queue = printed_queue()
    quoted += [
        f"{queue['expected harm']['harm']:.1f}%",
        f"{queue['raw max score']['harm']:.1f}%",
        f"{queue['without the views term']['harm']:.1f}%",
        f"{queue['oracle (true harm)']['harm']:.1f}%",
        f"{queue['expected harm']['hit rate']:.1f}%",
        f"{queue['raw max score']['hit rate']:.1f}%",
        f"{queue['without calibration']['hit rate']:.1f}%",
    ]
    for (block, label), (mean, low, high, _) in paired_differences(output()).items():
        if block.startswith("stratified"):
            quoted.append(f"{abs(mean):.2f}" if "any policy" in label else "")
            continue
        quoted.append(f"{abs(mean):.2f}")
        if block.startswith("expected harm minus raw") and label == "harm":
            quoted += [f"+{mean:.2f}", f"+{low:.2f}", f"+{high:.2f}"]
        if block.startswith("expected harm minus without severity") and label == "harm":
            quoted += [f"{low:.2f} to {high:.2f}"]
    for found in printed_prevalence().values():
        srs, strat = found["simple random sample"], found["stratified by score"]
        quoted += [
            f"{srs['width']:.2f} to {strat['width']:.2f}",
            found["equivalent"],
            f"{strat['coverage']:.1%}",
        ]
    rare = printed_prevalence()["violent extremism"]["stratified by score"]["seeds"]
    quoted += [f"{rare[0]:.1%} to {rare[1]:.1%}"]
    sweep = printed_sweep()["as it is"]
    here = sweep[cq.VIEWS_SIGMA, cq.VIEWS_NOISE]
    worst = sweep[min(cm.SWEEP_SIGMA), max(cm.SWEEP_NOISE)]
    middle = sweep[1.0, cq.VIEWS_NOISE]
    quoted += [
        f"{here['p90/p10']:.1f} times",
        f"{middle['p90/p10']:.1f} times",
        f"({worst['p90/p10']:.1f} times)",
        f"(correlation {worst['corr']:.2f})",
        f"(correlation {here['corr']:.2f})",
        f"correlates {here['corr']:.2f}",
        f"{middle['without the views term'][0]:.2f}",
        f"{abs(worst['without the views term'][0]):.2f}",
        f"{abs(worst['raw max score'][0]):.2f}",
    ]
    any_policy = printed_prevalence()["any policy"]
    quoted += [
        f"{any_policy['simple random sample']['coverage']:.1%} and "
        f"{any_policy['stratified by score']['coverage']:.1%}"
    ]
    quoted += [f"{cm.LABEL_BUDGET:,} labels", f"{cm.REPETITIONS:,} times"]
    quoted += [f"{cm.TRAIN:,} random", f"{cm.CALIBRATION:,} more", f"{cm.DAY:,} new"]
    assert_page_quotes(PAGE, *[q for q in quoted if q])
