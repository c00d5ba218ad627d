"""Street blurring miniature: its claims, its estimates, and the page's numbers."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from guide import (
    ROOT,
    assert_page_quotes,
    assert_page_says,
    module_output,
    paired_differences,
)
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from snippets.common import estimation
from snippets.problems import street_blurring as sb
from snippets.problems import street_blurring_world as sbw

PAGE = "problems/street-view-blurring.md"
MODULE = "snippets.problems.street_blurring"
NUMBER = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def section(start: str, end: str) -> str:
    return output().split(start, 1)[1].split(end, 1)[0]


def printed_sweep() -> dict[float, dict[str, float]]:
    """Threshold -> faces, small, occluded, plates, false px (%), false blurs."""
    keys = ("faces", "small", "occluded", "plates", "false_px", "false_blurs")
    rows = {}
    for line in section("  thresh", "Faces the detector never").splitlines()[1:]:
        values = re.findall(r"\d+\.\d+", line)
        rows[float(values[0])] = dict(zip(keys, map(float, values[1:]), strict=True))
    return rows


def printed_costs() -> dict[int, tuple[list[float], list[str]]]:
    """Cost ratio -> (chosen thresholds, the printed 'mean [min, max]' cells)."""
    rows = {}
    for line in section("  a miss costs", "\nNMS on crowd").splitlines()[1:]:
        match = re.match(r"^\s+([\d,]+) false blurs\s+([\d., ]+?)\s{2,}(.+)$", line)
        picks = [float(p) for p in match[2].split(",")]
        cells = re.findall(r"\S+ \[.+?\]", match[3])
        rows[int(match[1].replace(",", ""))] = (picks, cells)
    return rows


def printed_crowds() -> dict[str, dict[str, float]]:
    keys = ("recall", "missed", "boxes", "ap", "spread_recall")
    rows = {}
    for line in section("  method", "Paired differences").splitlines()[1:]:
        match = re.match(r"^  (no NMS|NMS 0\.\d|soft-NMS)\s+(.+)$", line)
        if match:
            values = map(float, re.findall(r"\d+\.\d+", match[2]))
            rows[match[1]] = dict(zip(keys, values, strict=True))
    return rows


def printed_ap() -> dict[str, list[str]]:
    """Class -> its three 'mean [min, max]' cells: AP, AP@0.5, AP small."""
    rows = {}
    for line in section("COCO protocol", "\nScore threshold").splitlines():
        fields = line.split()
        if fields and fields[0] in sbw.CLASSES:
            rows[fields[0]] = re.findall(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", line)
    return rows


def printed_floor() -> float:
    """The printed share of faces the detector never proposed, in %."""
    return float(re.search(r"never proposed \(the floor\): (\d+\.\d)%", output())[1])


def printed_neighbour_iou() -> dict[str, float]:
    line = section("true neighbour", "\nPaired").splitlines()[1]
    match = re.search(
        r"median (\d\.\d\d), above 0\.3: (\d+\.\d)%, above 0\.5: (\d+\.\d)%, "
        r"max (\d\.\d\d)",
        line,
    )
    keys = ("median", "above 0.3", "above 0.5", "max")
    return dict(zip(keys, map(float, match.groups()), strict=True))


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def estimate_value(label: str) -> str:
    """The value printed after an estimate line's label."""
    for line in output().splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label) :].strip()
    raise LookupError(label)


def test_tables_parse_completely():
    assert sorted(printed_sweep()) == sb.THRESHOLDS.tolist()
    assert sorted(printed_costs()) == list(sb.COST_RATIOS)
    assert len(printed_crowds()) == len(sb.NMS_METHODS)
    assert sorted(printed_ap()) == sorted(sbw.CLASSES)
    assert all(len(cells) == 3 for cells in printed_ap().values())
    assert len(paired_differences(output())) == 16


def test_a_lower_threshold_trades_false_blurs_for_fewer_misses():
    sweep = printed_sweep()
    rows = [sweep[t] for t in sorted(sweep)]
    for low, high in itertools.pairwise(rows):
        for kind in ("faces", "small", "occluded", "plates"):
            assert low[kind] <= high[kind], kind
        assert low["false_px"] > high["false_px"]
        assert low["false_blurs"] > high["false_blurs"]
    for row in rows:
        assert row["small"] > row["faces"] and row["occluded"] > row["faces"]
    # A floor no threshold removes: faces never proposed, or misplaced.
    floor = printed_floor()
    assert 2 < floor <= rows[0]["faces"]
    assert sweep[0.1]["faces"] - sweep[0.02]["faces"] < 0.5


def test_the_floor_counts_faces_with_no_box_of_their_own():
    """Recount, from the world, the faces no detection was fired by."""
    never, faces = [], 0
    for seed in sb.SEEDS:
        scenes = sbw.make_scenes(seed, sb.N_STREET, sb.N_CROWD)
        count = 0
        for scene in scenes:
            for g, label in enumerate(scene.gt_labels.tolist()):
                if label == sbw.FACE:
                    faces += 1
                    count += g not in set(scene.source.tolist())
        never.append(count)
    # The program averages the per-seed shares; the pooled share is within rounding.
    assert sum(never) / faces * 100 == pytest.approx(printed_floor(), abs=0.1)


def test_neighbour_iou_is_each_faces_largest_overlap_with_another():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [30, 0, 40, 10.0]])
    np.testing.assert_allclose(sb.neighbour_iou(boxes), [1 / 3, 1 / 3, 0])
    assert sb.neighbour_iou(boxes[:1]).tolist() == [0.0]
    # The printed distribution, recomputed by brute force on the crowd tiles.
    best = []
    for seed in sb.SEEDS:
        for scene in sbw.make_scenes(seed, sb.N_STREET, sb.N_CROWD):
            if scene.crowd:
                b = scene.gt_boxes.tolist()
                for i, (x1, y1, x2, y2) in enumerate(b):
                    top = 0.0
                    for j, (u1, v1, u2, v2) in enumerate(b):
                        w = max(0.0, min(x2, u2) - max(x1, u1))
                        h = max(0.0, min(y2, v2) - max(y1, v1))
                        union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - w * h
                        top = max(top, w * h / union) if i != j else top
                    best.append(top)
    best = np.array(best)
    got = printed_neighbour_iou()
    assert got["median"] == pytest.approx(np.median(best), abs=0.005)
    assert got["above 0.3"] == pytest.approx(np.mean(best > 0.3) * 100, abs=0.05)
    assert got["above 0.5"] == pytest.approx(np.mean(best > 0.5) * 100, abs=0.05)
    # The crowds are spaced so that NMS 0.3 must delete true faces and 0.5 almost never.
    assert got["above 0.3"] > 10 and got["above 0.5"] < 1


def test_recall_first_beats_the_default_on_misses_and_costs_false_blurs():
    block = f"threshold {sb.RECALL_FIRST} minus threshold {sb.DEFAULT}"
    for kind in ("faces", "small faces", "occluded faces", "plates"):
        _, _, high, tie = diff(block, f"{kind} missed, per 1,000")
        assert high < 0 and not tie, kind
    small = diff(block, "small faces missed, per 1,000")[0]
    assert small < diff(block, "faces missed, per 1,000")[0]
    for label in ("false-blur pixels, % of tile", "false blurs, per 100 tiles"):
        assert diff(block, label)[1] > 0, label


def test_the_costlier_a_miss_the_lower_the_threshold():
    costs = printed_costs()
    highest = [max(costs[ratio][0]) for ratio in sb.COST_RATIOS]
    assert highest == sorted(highest, reverse=True)
    assert costs[100][0] == [sb.RECALL_FIRST]  # the operating point the page uses


def test_chosen_threshold_minimises_the_stated_cost(monkeypatch):
    monkeypatch.setattr(sb, "THRESHOLDS", np.array([0.1, 0.3, 0.5]))
    sweeps = [
        {
            "missed objects": np.array([5.0, 6.0, 9.0]),
            "false blurs": np.array([300.0, 100.0, 10.0]),
        }
    ]
    # Costs at ratio 10: 350, 160, 100; at 100: 800, 700, 910.
    assert sb.chosen_threshold(sweeps, 10) == 0.5
    assert sb.chosen_threshold(sweeps, 100) == 0.3


def test_nms_loses_recall_in_crowds_because_faces_overlap():
    crowds = printed_crowds()
    recall = [crowds[m]["recall"] for m in ("no NMS", "NMS 0.7", "NMS 0.5", "NMS 0.3")]
    assert recall == sorted(recall, reverse=True) and recall[2] > recall[3]
    boxes = [crowds[m]["boxes"] for m in ("no NMS", "NMS 0.7", "NMS 0.5", "NMS 0.3")]
    assert boxes == sorted(boxes, reverse=True)
    points = "recall at IoU 0.5, points"
    crowd = diff("NMS 0.3 minus no NMS, crowd tiles", points)
    spread = diff("NMS 0.3 minus no NMS, spread tiles", points)
    assert crowd[2] < spread[1]  # intervals apart
    cause = diff("recall lost to NMS 0.3, crowd minus spread tiles", points)
    assert cause[2] < 0 and not cause[3]
    # The product sees less of it: neighbours' boxes still cover suppressed faces.
    missed = diff("NMS 0.3 minus no NMS, crowd tiles", "faces missed, points")
    assert missed[1] > 0 and missed[0] < abs(crowd[0]) / 2


def test_nms_and_soft_nms_help_ranking_not_the_fixed_cut():
    ap = diff("NMS 0.5 minus no NMS, crowd tiles, ranking", "AP@0.5, points")
    assert ap[1] > 0
    soft = "soft-NMS minus NMS 0.5, crowd tiles"
    assert diff(soft, "AP@0.5, points")[1] > 0
    assert diff(soft, "recall at IoU 0.5, points")[2] < 0


def test_suppression_is_per_class():
    face = np.array([[0.0, 0.0, 20.0, 25.0]])
    scene = sbw.Scene(
        gt_boxes=face,
        gt_labels=np.array([sbw.FACE]),
        occlusion=np.zeros(1),
        crowd=False,
        source=np.array([0, -1]),
        offsets=np.zeros((2, 4)),
        boxes=np.vstack([face, face + 1]),  # a plate box on top of the face
        scores=np.array([0.6, 0.9]),
        labels=np.array([sbw.FACE, sbw.PLATE]),
    )
    for method in (0.3, "soft", "none"):
        kept = sb.suppress(scene, method)
        assert sorted(kept.labels.tolist()) == [sbw.FACE, sbw.PLATE], method


def brute_force_tiles(width, height, tile, overlap) -> int:
    """Tile starts a stride apart until the panorama (and its seam) is covered."""
    stride = tile - overlap
    columns = 1
    while (columns - 1) * stride + tile < width + overlap:  # the seam wraps
        columns += 1
    rows = 1
    while (rows - 1) * stride + tile < height:
        rows += 1
    return columns * rows


def test_estimates_come_from_the_shared_helpers_and_check_by_hand():
    est = sb.estimate_capacity()
    assert est["per_day"] == 500 * 8 * 30_000 / 10
    assert est["peak_per_s"] == pytest.approx(estimation.peak_qps(12e6, 1, 2.0))
    assert est["tiles"] == brute_force_tiles(8_192, 4_096, 1_024, 128) == 50
    per_gpu = 312e12 * 0.4 / 400e9  # a multiply-add is 2 FLOPs on both sides
    assert est["tiles_per_s_per_gpu"] == pytest.approx(per_gpu)
    assert est["gpus_all_day"] == math.ceil(est["peak_per_s"] * 50 / per_gpu)
    # The peak day's tiles, detected inside the 8 h window: count GPUs one by one.
    gpus = 1
    while gpus * per_gpu * 8 * 3_600 < 24e6 * 50:
        gpus += 1
    assert est["gpus_in_window"] == gpus
    assert est["gpu_hours_per_day"] == pytest.approx(12e6 * 50 / per_gpu / 3_600)
    dollars = est["gpu_hours_per_day"] * 2.0
    assert est["detect_per_million"] == pytest.approx(dollars / 12)
    assert est["upscale_per_million"] == pytest.approx(6 * est["detect_per_million"])
    # An object store's price includes its redundancy: logical bytes, no replicas.
    assert est["raw_window"] == estimation.human_bytes(12e6 * 30 * 8e6)
    assert est["raw_per_million_month"] == pytest.approx(1e6 * 8e6 / 1e12 * 20)
    assert est["raw_dollars_month"] == pytest.approx(12e6 * 30 * 8e6 / 1e12 * 20)
    assert est["headroom_h"] == 72 - sum(est["stages_h"].values()) > 0
    assert est["audit_panos"] == math.ceil(est["faces_planned"] / 2)
    assert est["qa_dollars_month"] == pytest.approx(50 * est["audit_panos"] * 90 / 120)
    # The page's claim: the raw store and the audit each cost more than the GPUs.
    assert est["qa_dollars_month"] > est["gpu_dollars_month"]
    assert est["raw_dollars_month"] > est["gpu_dollars_month"]


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (40, 0.0), (40, 1.0), (1_941, 0.005)])
def test_binomial_terms_are_scipys_pmf(n, p):
    terms = np.array(list(sb.binomial_terms(n, p)))
    np.testing.assert_allclose(
        terms, stats.binom.pmf(np.arange(n + 1), n, p), rtol=1e-9, atol=1e-300
    )
    # No underflow where (1 - p)^n alone would underflow a float.
    big = list(itertools.islice(sb.binomial_terms(200_000, 0.01), 2_100))
    assert big[2_000] == pytest.approx(stats.binom.pmf(2_000, 200_000, 0.01), rel=1e-8)


def clopper_pearson_upper(k: int, n: int) -> float:
    """One-sided 95% upper bound: the top of a two-sided 90% interval."""
    return proportion_confint(k, n, alpha=0.10, method="beta")[1]


@pytest.mark.parametrize("n", [1, 298, 299, 1_182, 1_200, 1_941, 2_184, 2_185])
def test_misses_allowed_is_where_the_clopper_pearson_bound_clears(n):
    k = sb.misses_allowed(n, 0.01)
    if k >= 0:
        assert clopper_pearson_upper(k, n) <= 0.01
    assert clopper_pearson_upper(k + 1, n) > 0.01


def scipy_pass_probability(n: np.ndarray, bound: float, true: float) -> np.ndarray:
    """Power for every n at once, from scipy's binomial and beta distributions."""
    k = np.arange(0, int(bound * n.max()) + 50)
    upper = stats.beta.ppf(0.95, k[None, :] + 1, n[:, None] - k[None, :])
    allowed = np.where(k[None, :] < n[:, None], upper <= bound, False).sum(axis=1) - 1
    return np.where(allowed >= 0, stats.binom.cdf(allowed, n, true), 0.0)


@pytest.mark.parametrize(
    ("bound", "true", "power"),
    [(0.01, 0.0, 0.8), (0.01, 0.005, 0.8), (0.05, 0.02, 0.9), (0.02, 0.01, 0.5)],
)
def test_audit_size_is_the_smallest_n_with_the_power(bound, true, power):
    n = sb.faces_to_audit(bound, 0.95, true, power)
    sizes = np.arange(1, n + 1)
    reference = scipy_pass_probability(sizes, bound, true)
    assert reference[-1] >= power
    assert (reference[:-1] < power).all()
    assert sb.pass_probability(n, bound, true) == pytest.approx(reference[-1], abs=1e-9)
    if true == 0:  # the rule of three, exactly: (1 - bound)^n <= 0.05
        assert n == math.ceil(math.log(0.05) / math.log(1 - bound))


def test_the_printed_audit_plan_is_what_scipy_computes():
    est = sb.estimate_capacity()
    sizes = np.arange(1, 2 * est["faces_planned"])
    power = scipy_pass_probability(sizes, 0.01, 0.005)
    first = int(sizes[np.argmax(power >= 0.8)])
    assert est["faces_planned"] == first
    assert est["planned_power"] == pytest.approx(power[first - 1], abs=1e-9)
    assert est["last_under_power"] == int(sizes[power < 0.8].max())
    # The naive size passes the gate with exactly 0.5% found, and only then.
    naive = est["faces_naive"]
    allowed = [sb.misses_allowed(n, 0.01) for n in range(1, naive + 1)]
    assert allowed[-1] >= math.ceil(0.005 * naive)
    assert all(a < math.ceil(0.005 * n) for n, a in enumerate(allowed[:-1], start=1))
    assert est["naive_power"] == pytest.approx(power[naive - 1], abs=1e-9)
    assert est["naive_power"] < 0.8 <= est["planned_power"]


def test_audit_size_rejects_bad_input():
    with pytest.raises(ValueError, match="true_miss_rate < max_miss_rate"):
        sb.faces_to_audit(0.01, 0.95, 0.02)
    with pytest.raises(ValueError, match="max_miss_rate"):
        sb.faces_to_audit(1.5)
    with pytest.raises(TypeError, match="confidence"):
        sb.faces_to_audit(0.01, "95%")
    with pytest.raises(ValueError, match="power"):
        sb.faces_to_audit(0.01, 0.95, 0.005, 1.0)
    with pytest.raises(ValueError, match="no audit of up to 500 faces"):
        sb.faces_to_audit(0.01, 0.95, 0.005, 0.8, max_faces=500)
    with pytest.raises(TypeError, match="integer"):
        sb.misses_allowed(10.5, 0.01)
    with pytest.raises(ValueError, match=">= 1"):
        sb.pass_probability(0, 0.01, 0.005)


def test_the_diagram_carries_the_time_budget_and_the_volumes():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    est = sb.estimate_capacity()
    stages = list(est["stages_h"].values())
    shown = [int(h) for h in re.findall(r"(\d+) h\b", diagram)]
    assert shown == [*stages, sum(stages), est["headroom_h"], 72]
    assert f"{est['per_day'] / 1e6:.0f}M panoramas" in diagram
    assert f"{est['per_day'] * est['tiles'] / 1e6:.0f}M tiles" in diagram
    assert f"{est['tiles']} per panorama" in diagram
    assert f"{est['gpus_in_window']} A100s" in diagram


ESTIMATES_QUOTED = (
    "panoramas a day (500 cars x 24,000)",
    "panoramas a second, peak day (2x)",
    "tiles a day",
    "tiles a second on one A100 at 40%",
    "A100s to detect a peak day in 8 h",
    "or spread over 24 h",
    "GPU-hours an average day",
    "GPU dollars a day at $2 an hour",
    "detection, per million panoramas",
    "with a flip (2 passes)",
    "with flip + 2x upscale (6 passes)",
    "CPU decode/blur/encode, per million",
    "re-detecting a 1-billion archive",
    "raw originals a day (8 MB each)",
    "30-day raw window",
    "raw storage, per million a month",
    "raw storage a month, 30-day window",
    "blurred copies a day",
    "detection log a day",
    "QA verdicts a month",
    "user reports a day",
    "faces to check if none is missed",
    "if 0.5% are missed: size at which 0.5% passes",
    "faces for an 80% chance of passing",
    "larger sizes still under 80%, up to",
    "panoramas (2 faces each) per region",
    "annotator hours a month, 50 regions",
    "annotator dollars a month (at $30/h)",
    "GPU dollars a month, for comparison",
)


def test_page_says_what_the_audit_plan_allows():
    est = sb.estimate_capacity()
    assert_page_says(
        PAGE,
        f"allows {est['naive_allowed']} misses and passes only "
        f"{est['naive_power']:.0%} of the time",
        f"({est['planned_allowed']} misses allowed, {est['planned_power']:.0%})",
    )


def test_page_quotes_the_numbers_the_code_prints():
    quoted = [estimate_value(label) for label in ESTIMATES_QUOTED]
    tiles = estimate_value("tiles a panorama (1,024 px, 128 overlap)")
    quoted.append(f"**{tiles} tiles**")
    quoted.append(f"**{sb.estimate_capacity()['headroom_h']:.0f} h**")
    for cells in printed_ap().values():
        quoted += [cell.split()[0] for cell in cells]
    sweep = printed_sweep()
    for t in (0.1, 0.5):
        quoted += [f"{sweep[t][k]:.1f}%" for k in ("faces", "small", "occluded")]
        quoted += [f"{sweep[t]['false_px']:.3f}%", f"{sweep[t]['false_blurs']:.1f}"]
    quoted += [f"{sweep[0.02]['faces']:.1f}%", f"{sweep[0.02]['small']:.1f}%"]
    quoted.append(f"{printed_floor():.1f}%")
    iou = printed_neighbour_iou()
    quoted += [f"median of {iou['median']:.2f}", f"{iou['above 0.3']:.1f}% of faces"]
    quoted.append(f"only {iou['above 0.5']:.1f}% by more than 0.5")
    missed, false = printed_costs()[100][1]
    quoted += [missed.split()[0], false.split()[0]]
    crowds = printed_crowds()
    for name, keys in (
        ("no NMS", ("recall", "boxes", "ap", "spread_recall")),
        ("NMS 0.3", ("recall", "spread_recall")),
        ("NMS 0.5", ("boxes", "ap")),
        ("NMS 0.7", ("boxes",)),
        ("soft-NMS", ("ap",)),
    ):
        quoted += [
            f"{crowds[name][k]:{'.2f' if k == 'boxes' else '.3f'}}" for k in keys
        ]
    out = output()
    for block, label in paired_differences(out):
        if block.endswith("spread tiles") and not block.startswith("recall lost"):
            continue  # the control's own losses are quoted below
        line = re.search(
            rf"{re.escape(label)}\s+({NUMBER}) \[({NUMBER}), ({NUMBER})\]",
            out.split(block + ":")[1],
        )
        quoted.append(line[1].lstrip("+-"))
        if block.startswith(("threshold", "recall lost")) and label.startswith(
            ("faces missed", "recall at")
        ):  # quoted as magnitudes, smaller first
            quoted.append(f"{line[3].lstrip('+-')}, {line[2].lstrip('+-')}")
    control = diff("NMS 0.3 minus no NMS, spread tiles", "recall at IoU 0.5, points")
    quoted.append(f"{abs(control[0]):.2f}")
    assert_page_quotes(PAGE, *quoted)
