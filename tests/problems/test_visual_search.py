"""The visual search program: its arithmetic, its claims, the page's numbers."""

from __future__ import annotations

import math
import re

import pytest
from guide import assert_page_quotes, assert_page_says, module_output
from scipy.stats import norm

from snippets.common.stats import is_tie
from snippets.problems import visual_search as vsp

PAGE = "problems/visual-search.md"
MODULE = "snippets.problems.visual_search"
MAIN = "InfoNCE"  # how the output names the main run in comparisons
ROW = re.compile(
    r"^  (?P<name>.+?)\s+(?P<mean>\d\.\d{3}) \[(?P<low>\d\.\d{3})-(?P<high>\d\.\d{3})\]"
    r"\s+(?P<colour>\d\.\d\d)\s+(?P<crop>\d\.\d\d)\s+(?P<dims>\d+\.\d)$"
)
DIFF = re.compile(
    r"^  (?P<a>.+?) minus (?P<b>.+?)\s+(?P<mean>[+-]\d\.\d{3}) "
    r"\[(?P<low>[+-]\d\.\d{3}), (?P<high>[+-]\d\.\d{3})\](?P<tie>  tie)?$"
)


def output() -> str:
    return module_output(MODULE)


def rows() -> dict[str, dict[str, float]]:
    """Method -> recall mean, low, high, colour and crop sensitivity, dims."""
    found = {}
    for line in output().split("\nmethod")[1].split("Paired")[0].splitlines():
        if m := ROW.match(line):
            name = (
                "InfoNCE, t 0.1, 128 negatives" if "InfoNCE" in m["name"] else m["name"]
            )
            found[name] = {k: float(v) for k, v in m.groupdict().items() if k != "name"}
    return found


def diffs() -> dict[tuple[str, str], dict]:
    """(a, b) -> mean, low, high and whether the line says tie."""
    found = {}
    block = output().split("Paired differences")[1].split("\n\n")[0]
    for line in block.splitlines()[1:]:
        m = DIFF.match(line)
        assert m, f"unparsed line {line!r}"
        found[m["a"], m["b"]] = {
            "mean": float(m["mean"]),
            "low": float(m["low"]),
            "high": float(m["high"]),
            "tie": bool(m["tie"]),
        }
    return found


def recall(name: str) -> float:
    return rows()[name]["mean"]


SCALE = re.compile(
    r"^  x(?P<scale>[\d.]+)\s+(?P<raw>\d\.\d{3}) \[[\d.-]+\]\s+(?P<pca>\d\.\d{3})"
    r" \[[\d.-]+\]\s+(?P<identity>\d\.\d\d)\s+(?P<nuisance>\d\.\d\d)$"
)


def pca_by_scale() -> dict[float, dict[str, float]]:
    """Nuisance scale -> raw and PCA recall, and the variance shares PCA keeps."""
    found = {}
    for line in output().split("PCA keeps the directions")[1].splitlines():
        if m := SCALE.match(line):
            found[float(m["scale"])] = {
                k: float(v) for k, v in m.groupdict().items() if k != "scale"
            }
    return found


def printed(label: str) -> str:
    """The value printed after an estimate label."""
    line = next(x for x in output().splitlines() if x.strip().startswith(label))
    return line.strip()[len(label) :].strip()


def test_tables_parse_completely():
    assert len(rows()) == len(vsp.RUNS) + len(vsp.BASELINES)
    assert len(diffs()) == len(vsp.COMPARISONS)
    assert sorted(pca_by_scale()) == sorted((1.0, *vsp.NUISANCE_SCALES))
    for d in diffs().values():  # a tie is printed exactly when the interval spans 0
        assert d["tie"] == is_tie(d["low"], d["high"])
        assert d["low"] <= d["mean"] <= d["high"]


def test_estimate_matches_arithmetic_done_by_hand():
    e = vsp.estimate()
    qps = 50e6 * 3 / 86_400 * 3
    assert e["peak_qps"] == pytest.approx(qps)
    vectors = 5e9 * 2
    pq = vectors * (64 + 8)
    quantizer = 2**20 * (256 * 4 + 2 * 32 * 4)
    shards = math.ceil(pq / (256e9 / 2 - quantizer))
    assert (e["pq_copy"], e["shards"]) == ("720.0 GB", shards) == ("720.0 GB", 6)
    codes = vectors * 64 / 2**20
    assert e["codes_per_query"] == pytest.approx(codes)
    assert e["scan_cores"] == math.ceil(qps * codes * 15e-9)
    assert e["scan_bytes_per_core"] == f"{72 / 15:.1f} GB"
    reads_per_shard = qps * 1_000 / shards

    def fewest_replicas(drives: int) -> int:
        """Fewest replicas, spread evenly over 3 zones, whose drives carry the
        reads at half their rate once the zone holding the most is lost."""
        r = 1
        while (r - math.ceil(r / 3)) * drives * 500e3 * 0.5 < reads_per_shard:
            r += 1
        return r

    replicas = fewest_replicas(2)
    assert e["replicas"] == replicas and e["index_hosts"] == shards * replicas
    assert e["replicas_one_drive"] == fewest_replicas(1) > replicas
    left = replicas - math.ceil(replicas / 3)
    assert e["drive_use_zone_lost"] == pytest.approx(reads_per_shard / (left * 1e6))
    scan_per_host = qps * codes * 72 / (shards * replicas)
    assert e["scan_bytes_per_host"] == f"{scan_per_host / 1e9:.1f} GB"
    gpu = 312e12 * 0.3
    flop = 50e9 + 5e9 + 2 * 20e9
    assert e["query_gpus"] == 3 * math.ceil(qps * flop / gpu / 2)  # any 2 zones of 3
    assert e["ingest_gpus"] == math.ceil(100e6 * flop / 86_400 / gpu)
    assert e["backfill_gpu_hours"] == pytest.approx(vectors * 20e9 / gpu / 3_600)
    assert e["dollars_index"] == pytest.approx(shards * replicas * 1.5 * 730)
    assert e["dollars_second_index"] == e["dollars_index"]
    assert e["logs"]["ranker features as served (200 a search)"] == "6.0 TB"
    assert e["shard_percentile"] == pytest.approx(100 * 0.99 ** (1 / shards))
    assert e["headroom_ms"] == 300 - sum(vsp.STAGE_MS.values())
    # Two-proportion z-test, written out: 40% success, a 1% relative lift.
    p1, p2 = 0.40, 0.404
    z = norm.ppf(0.975) + norm.ppf(0.8)
    searches = math.ceil(
        2 * (p1 + p2) / 2 * (1 - (p1 + p2) / 2) * z**2 / (p2 - p1) ** 2
    )
    assert e["searches_independent"] == searches
    per_user = 50e6 * 3 * 7 / 100e6  # searches a weekly user makes in a week
    assert e["searches_per_user"] == pytest.approx(10.5)
    assert e["users_per_arm"] == math.ceil(
        searches * (1 + (per_user - 1) * 0.05) / per_user
    )


def test_estimate_is_printed_as_computed():
    e = vsp.estimate()
    assert printed("peak searches per second") == f"{e['peak_qps']:,.0f}"
    assert printed("shards x replicas") == f"{e['shards']} x {e['replicas']}"
    assert printed("re-embedding the corpus") == (
        f"{e['backfill_gpu_hours']:,.0f} A100-hours"
    )
    assert printed("index hosts  ") == f"${e['dollars_index']:,.0f}"


def test_the_index_not_the_model_is_the_expensive_stage():
    e = vsp.estimate()
    assert e["dollars_index"] > e["dollars_query_gpus"] > e["dollars_ingest_gpus"]
    assert e["scan_cores"] < 0.1 * e["host_cores"]  # RAM and reads, not the scan
    assert e["drive_use_zone_lost"] <= 0.5  # the index survives a zone's loss


def test_learned_invariance_beats_raw_features_and_pca():
    d = diffs()
    for baseline in ("raw features (32 dims)", "PCA (8 dims)"):
        assert d[MAIN, baseline]["low"] > 0.3, baseline
    r = rows()
    assert r["PCA (8 dims)"]["mean"] < r["raw features (32 dims)"]["mean"]
    main = r["InfoNCE, t 0.1, 128 negatives"]
    assert max(main["colour"], main["crop"]) < 0.05
    assert r["PCA (8 dims)"]["colour"] >= r["raw features (32 dims)"]["colour"]


def test_pca_keeps_whatever_varies_most():
    """The ablation: scale the nuisance, and PCA follows the variance, not identity."""
    s = pca_by_scale()
    assert abs(s[1.0]["identity"] - s[1.0]["nuisance"]) < 0.05  # equal scales
    assert s[0.5]["identity"] > 0.9 > 0.6 > s[0.5]["nuisance"]
    assert s[2.0]["nuisance"] > 0.9 > 0.6 > s[2.0]["identity"]
    assert s[0.5]["pca"] > s[1.0]["pca"] > s[2.0]["pca"]
    assert s[0.5]["pca"] > s[0.5]["raw"] and s[2.0]["pca"] < s[2.0]["raw"]


def test_the_augmentation_decides_what_is_ignored():
    r, d = rows(), diffs()
    colour_only = r["augmentation: colour only"]
    assert colour_only["colour"] < 0.05
    assert colour_only["crop"] > r["raw features (32 dims)"]["crop"]
    noise_only = r["augmentation: pixel noise only"]
    assert min(noise_only["colour"], noise_only["crop"]) > 0.15
    for ablation in ("augmentation: colour only", "augmentation: pixel noise only"):
        assert d[MAIN, ablation]["low"] > 0.3, ablation


def test_temperature_has_a_broad_optimum_and_a_costly_hot_end():
    d, r = diffs(), rows()
    assert d[MAIN, "temperature 3"]["low"] > d[MAIN, "temperature 1"]["high"] > 0
    assert d[MAIN, "temperature 1"]["low"] > 0
    assert d[MAIN, "temperature 0.3"]["tie"] and d[MAIN, "temperature 0.01"]["tie"]
    hot, main = r["temperature 3"], r["InfoNCE, t 0.1, 128 negatives"]
    assert hot["dims"] < main["dims"] - 1  # invariant, but less spread out
    assert max(hot["colour"], hot["crop"]) <= max(main["colour"], main["crop"])
    # The discrepancy the page reports: the cold end spreads less too, yet ties.
    assert r["temperature 0.01"]["dims"] < main["dims"]


def test_negatives_at_a_fixed_budget_and_a_longer_one():
    d = diffs()
    means = [recall(f"{k} negative{'s' * (k > 1)}") for k in (1, 4, 16)]
    assert means == sorted(means) and means[-1] < recall(
        "InfoNCE, t 0.1, 128 negatives"
    )
    assert d[MAIN, "1 negative"]["low"] > 0 and d[MAIN, "4 negatives"]["low"] > 0
    assert d[MAIN, "64 negatives"]["tie"]
    hardest = "1 negative, the hardest of 128"
    assert d[hardest, "1 negative"]["low"] > 0
    assert d[hardest, MAIN]["tie"]
    # Three times the steps: the one-negative gap narrows, the hot one stays.
    long = f"{vsp.LONG} steps: "
    gap = d[long + "128 negatives", long + "1 negative"]
    assert gap["low"] > 0 and gap["mean"] < d[MAIN, "1 negative"]["mean"]
    one_gains = d[long + "1 negative", "1 negative"]["mean"]
    assert one_gains > d[long + "128 negatives", MAIN]["mean"]
    hot = d[long + "128 negatives", long + "temperature 3"]
    assert hot["low"] > gap["mean"]
    assert gap["mean"] < 0.8 * d[MAIN, "1 negative"]["mean"]  # shrinks by a fifth+
    assert hot["mean"] > 0.8 * d[MAIN, "temperature 3"]["mean"]  # does not


def minus(x: float) -> str:
    """A signed difference as the prose writes it: typographic minus."""
    return f"{x:+.3f}".replace("-", "\u2212")


def test_page_quotes_the_estimate():
    e = vsp.estimate()
    assert_page_quotes(
        PAGE,
        f"{e['peak_qps']:,.0f}",
        e["flat_copy"],
        e["hnsw_copy"],
        e["pq_copy"],
        e["shard_bytes"],
        e["quantizer"],
        f"{e['codes_per_query']:,.0f}",
        e["scan_bytes_per_query"],
        e["scan_bytes_per_host"],
        e["scan_bytes_per_core"],
        f"{e['host_cores']:,}",
        e["rescore_copy"],
        e["rescore_per_shard"],
        f"{e['rescore_reads']:,.0f}",
        f"{e['rescore_reads'] / 1e6:.1f} million",
        f"{e['drive_use_zone_lost']:.0%}",
        e["index_ram"],
        f"{e['gflop_per_search']:.0f} GFLOP",
        f"{e['backfill_gpu_hours']:,.0f} A100-hours",
        f"${e['backfill_dollars']:,.0f}",
        f"${e['dollars_index']:,.0f}",
        f"${e['dollars_query_gpus']:,.0f}",
        f"${e['dollars_ingest_gpus']:,.0f}",
        f"${e['dollars_second_index']:,.0f}",
        e["hashes"],
        e["logs_total"],
        *e["logs"].values(),
        f"p{e['shard_percentile']:.2f}",
        f"{e['searches_independent']:,}",
        f"{e['searches_per_user']:.1f}",
        f"{e['design_effect']:.2f}",
        f"{e['users_per_arm']:,}",
    )
    assert_page_says(
        PAGE,
        f"{e['shards']} shards",
        f"{e['replicas']} replicas",
        f"{e['replicas_one_drive']} replicas",
        f"{e['index_hosts']} index hosts",
        f"another {e['index_hosts']} hosts",
        f"{e['scan_cores']} cores",
        f"{e['query_gpus']} A100s",
        f"{e['backfill_gpus']} GPUs for a week",
        f"{e['headroom_ms']:.0f} ms",
        f"{e['test_days']} days",
        "six streams",
    )
    assert len(e["logs"]) == 6  # the page counts them in words


def test_page_quotes_the_miniature():
    r, d, s = rows(), diffs(), pca_by_scale()
    main = r["InfoNCE, t 0.1, 128 negatives"]
    numbers = [f"{main['mean']:.3f}", f"{main['dims']:.1f}", f"{main['colour']:.2f}"]
    for name in (
        "raw features (32 dims)",
        "PCA (8 dims)",
        "augmentation: colour only",
        "augmentation: pixel noise only",
        "temperature 0.01",
        "temperature 0.3",
        "1 negative",
        "4 negatives",
        "16 negatives",
        "1 negative, the hardest of 128",
    ):
        numbers.append(f"{r[name]['mean']:.3f}")
    for name in (
        "raw features (32 dims)",
        "PCA (8 dims)",
        "augmentation: pixel noise only",
    ):
        numbers += [f"{r[name]['colour']:.2f}", f"{r[name]['crop']:.2f}"]
    numbers += [f"{r['augmentation: colour only']['crop']:.2f}"]
    numbers += [
        f"{r['temperature 3']['dims']:.1f}",
        f"{r['temperature 0.01']['dims']:.1f}",
    ]
    long = f"{vsp.LONG} steps: "
    for pair in (
        (MAIN, "raw features (32 dims)"),
        (MAIN, "PCA (8 dims)"),
        (MAIN, "augmentation: colour only"),
        (MAIN, "augmentation: pixel noise only"),
        (MAIN, "temperature 1"),
        (MAIN, "temperature 3"),
        (MAIN, "1 negative"),
        ("1 negative, the hardest of 128", "1 negative"),
        (long + "128 negatives", MAIN),
        (long + "1 negative", "1 negative"),
    ):
        numbers.append(f"{abs(d[pair]['mean']):.3f}")
    for pair in (
        (long + "128 negatives", long + "1 negative"),
        (long + "128 negatives", long + "temperature 3"),
    ):
        g = d[pair]
        numbers.append(f"{g['mean']:.3f} [{g['low']:.3f}, {g['high']:.3f}]")
    tie = d["1 negative, the hardest of 128", MAIN]
    numbers += [minus(tie["mean"]), minus(tie["low"]), minus(tie["high"])]
    for scale in (0.5, 1.0, 2.0):
        numbers += [f"{s[scale][k]:.2f}" for k in ("identity", "nuisance")]
    numbers += [f"{s[scale][k]:.3f}" for scale in (0.5, 2.0) for k in ("raw", "pca")]
    assert_page_quotes(PAGE, *numbers)
