"""Video search: the estimate's arithmetic, its claims, the page's quotes."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import ROOT, assert_page_quotes, assert_page_says, module_output
from scipy import stats

from snippets.common.estimation import human_bytes
from snippets.problems import video_search as vs
from snippets.problems import video_search_eval as ev
from snippets.problems import video_search_world as vw

PAGE = "problems/video-search.md"
MODULE = "snippets.problems.video_search"
SIGNED = r"[+-]\d\.\d{3}"
COMPARISON = re.compile(
    r"^(?P<system>.+?) minus (?P<baseline>.+?), "
    rf"(?P<kind>{'|'.join(vw.KINDS)})\s+(?P<metric>NDCG@10|recall@50)\s+"
    rf"(?P<mean>{SIGNED}) \[(?P<low>{SIGNED}), (?P<high>{SIGNED})\](?P<tie>  tie)?$"
)


def output() -> str:
    return module_output(MODULE)


def printed_table() -> dict[str, dict[tuple[str, str], float]]:
    """System -> (metric, kind) -> the mean over worlds, as printed."""
    lines = output().split("\nsystem ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    table = {}
    for line in lines:
        name, cells = line[:28].strip(), [float(x) for x in line[28:].split()]
        keys = [(m, k) for m in ev.METRICS for k in vw.KINDS]
        table[name] = dict(zip(keys, cells, strict=True))
    return table


def printed_comparisons() -> dict[tuple[str, str, str, str], dict]:
    """(system, baseline, metric, kind) -> mean, low, high and the tie flag."""
    found = {}
    block = output().split("Paired differences", 1)[1].split("\n\n", 1)[0]
    for line in block.splitlines()[1:]:
        m = COMPARISON.match(line)
        assert m, f"unparsed comparison line: {line!r}"
        metric = "ndcg" if m["metric"] == "NDCG@10" else "recall"
        key = (m["system"], m["baseline"], metric, m["kind"])
        values = {k: float(m[k]) for k in ("mean", "low", "high")}
        found[key] = values | {"tie": m["tie"] is not None}
    assert list(found) == [(s, b, m, k) for s, b, m, k in ev.COMPARISONS]
    return found


def printed_facts() -> dict[str, str]:
    """The world's shares, as printed (strings with their % sign)."""
    out = output()
    facts = dict(re.findall(r"(informative|clickbait|bare) (\d+\.\d%)", out))
    facts["speech"] = re.search(r"speech in (\d+\.\d%)", out)[1]
    facts["misheard"] = re.search(r"misheard (\d+\.\d%)", out)[1]
    held = re.search(r"holds a query word: (.*)$", out, re.M)[1]
    full = {short: kind for kind, short in vs.SHORT.items()}
    facts |= {f"title {full[k]}": v for k, v in re.findall(r"(\w+) (\d+\.\d%)", held)}
    return facts


def printed_probes() -> dict[str, dict[str, float]]:
    """Probe -> BM25, routed RRF, the paired difference and its interval, as printed."""
    block = output().split("\nDescriptive queries, mean of the worlds", 1)[1]
    found = {}
    for line in block.strip().splitlines()[1:]:
        probe = next(p for p in ev.PROBES if line.startswith(p))
        m = re.match(
            rf"(?P<a>\d\.\d{{3}}) +(?P<b>\d\.\d{{3}})  (?P<mean>{SIGNED}) "
            rf"\[(?P<low>{SIGNED}), (?P<high>{SIGNED})\]( +tie)?$",
            line[len(probe) :].strip(),
        )
        assert m, f"unparsed probe line: {line!r}"
        found[probe] = {k: float(v) for k, v in m.groupdict().items()}
    assert list(found) == list(ev.PROBES)
    return found


def signed(x: float) -> str:
    """An interval bound as the prose writes it, with a typographic minus."""
    return f"{x:+.3f}".replace("-", "\N{MINUS SIGN}")


def test_the_estimate_is_the_stated_arithmetic():
    est = vs.estimate()
    qps = 300e6 * 4 / 86_400 * 2
    assert est["peak_qps"] == pytest.approx(qps)
    # Postings (4 B a distinct term) plus positions (4 B a token); 1,200 words spoken.
    for field, per_video, shards in (
        ("metadata and OCR", 80 * 4 + 80 * 4, 20),
        ("transcript", 400 * 4 + 150 * 8 * 4, 200),
        ("transcript keyphrases", 50 * 4, 7),
    ):
        assert est[f"index {field}"] == pytest.approx(2e9 * per_video)
        assert est[f"shards {field}"] == shards == math.ceil(2e9 * per_video / 64e9)
    assert est["fan-out transcript"] == 220 and est["machines transcript"] == 660
    assert est["$ a month transcript"] == pytest.approx(660 * 1.5 * 730)
    assert est["machines transcript keyphrases"] == 27 * 3
    # p of the slowest of n independent shards: the leaf needs 0.99 ** (1 / n).
    for option, n in (("transcript", 220), ("transcript keyphrases", 27)):
        leaf = est[f"shard percentile {option}"] / 100
        assert leaf**n == pytest.approx(0.99)
    # BM25 CPU scales with the terms a video adds: 25 ms at 80 + 50 terms.
    assert est["bm25 ms transcript keyphrases"] == pytest.approx(25.0)
    assert est["bm25 ms transcript"] == pytest.approx(25.0 * 480 / 130)
    for option in ("transcript", "transcript keyphrases"):
        needed = math.ceil(qps * est[f"bm25 ms {option}"] / 1e3 / 0.5)
        held = est[f"machines {option}"] * 32
        assert est[f"bm25 cores {option}"] == needed
        assert est[f"cores held {option}"] == held
        assert held * 2 / 3 >= needed  # memory sizes the tier, even with a zone lost
    # HNSW over PQ: code, 2M layer-0 links of 4 B, faiss's 12 B; 48 clips a video.
    assert est["index ann"] == pytest.approx(2e9 * (64 + 2 * 16 * 4 + 12))
    assert est["index clips"] / est["index ann"] == pytest.approx(48)
    assert est["machines ann"] == math.ceil(2e9 * 204 / 64e9) * 3
    assert est["machines clips"] == math.ceil(2e9 * 48 * 204 / 64e9) * 3
    # Re-scoring: 500 random reads a search; NVMe by IOPS, RAM by bytes, 2 zones carry.
    reads = qps * 500
    assert est["rescore reads"] == pytest.approx(reads)
    assert est["machines rescore nvme"] == 3 * math.ceil(reads / 500e3 / 0.5 / 2)
    assert est["machines rescore ram"] == 3 * math.ceil(2e9 * 1024 / 64e9)
    assert est["machines features"] == max(
        3 * math.ceil(reads / 1e6 / 0.5 / 2), 3 * math.ceil(2e9 * 400 / 64e9)
    )
    # Ingestion at the upload peak (2x) and for live streams, on A100s at 30%.
    gpu = 312e12 * 0.3
    upload_s = 3e6 * 8 * 60 / 86_400 * 2
    for model, flop in (("ASR", 70e9), ("frame encoder", 5e9), ("OCR", 10e9)):
        assert est[f"gpus uploads {model}"] == math.ceil(upload_s * flop / gpu)
        assert est[f"gpus live {model}"] == math.ceil(50_000 * flop / gpu)
    live = sum(v for k, v in est.items() if k.startswith("gpus live"))
    assert live > est["gpus"] - live  # live streams, not uploads, drive the fleet
    catalogue_s = 2e9 * 8 * 60
    assert est["backfill asr gpu hours"] == pytest.approx(
        catalogue_s * 70e9 / gpu / 3600
    )
    months = est["backfill asr gpu hours"] / (est["gpus uploads ASR"] * 730)
    assert est["backfill asr months"] == pytest.approx(months)
    assert est["backfill bytes read"] == pytest.approx(catalogue_s * 1e6 / 8)
    assert est["$ decode"] == pytest.approx(catalogue_s / 20 / 3600 * 1.5 / 32)
    assert est["$ decode"] > 10 * est["$ backfill frames"]  # video, not GPUs, bounds it
    logs = [v for k, v in est.items() if k.startswith("log ")]
    assert est["logs per day"] == pytest.approx(sum(logs))
    assert est["log features as served (30 rows x 100 x 4 B)"] == max(logs)
    assert est["$ a month logs"] == pytest.approx(sum(logs) * 90 / 1e12 * 20)
    # The bill: every tier's dollars, summed; the three largest as the page names them.
    bill = est["bill"]
    assert est["bill total"] == pytest.approx(sum(bill.values()))
    top = sorted(bill, key=bill.get, reverse=True)[:3]
    assert top == ["ingestion GPUs", "re-scoring vectors", "lexical index, keyphrases"]
    nvme, ram = est["$ a month rescore nvme"], est["$ a month rescore ram"]
    assert bill["re-scoring vectors"] == min(nvme, ram) and 0.8 < nvme / ram < 1.25
    assert est["headroom ms"] == 200 - sum(vs.STAGE_MS.values()) > vs.CROSS_ZONE_MS


def test_the_ab_test_size_is_a_two_proportion_power_analysis():
    """From the formula with SciPy's normal quantiles, then the design effect."""
    est = vs.estimate()
    p1, p2 = 0.40, 0.40 * 1.01
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    p_bar = (p1 + p2) / 2
    searches = math.ceil(2 * p_bar * (1 - p_bar) * z**2 / (p2 - p1) ** 2)
    assert est["ab searches per arm"] == searches
    m = 300e6 * 4 * 7 / 600e6
    assert est["ab searches a user"] == pytest.approx(m)
    assert est["ab design effect"] == pytest.approx(1 + (m - 1) * 0.05)
    assert est["ab users per arm"] == math.ceil(searches * (1 + (m - 1) * 0.05) / m)
    assert est["ab days"] == 7
    assert 2 * est["ab users per arm"] / (300e6 * 0.01) < 1  # enrolled within a day


def test_the_diagram_carries_the_latency_allocations():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    shown = [int(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    stages = list(vs.STAGE_MS.values())
    # The lexical stage shows its 40 and the ANN its 25, in parallel.
    expected = [stages[0], stages[1], 40, 25, *stages[3:]]
    assert shown == [*expected, round(vs.estimate()["headroom ms"]), vs.BUDGET_MS]
    assert vs.STAGE_MS["retrieval: lexical 40 || ANN 25, in parallel"] == 40


def test_printed_table_agrees_with_the_printed_differences():
    table, rows = printed_table(), printed_comparisons()
    for (system, baseline, metric, kind), row in rows.items():
        a = table[system][metric, kind]
        b = table[baseline][metric, kind]
        assert row["mean"] == pytest.approx(a - b, abs=0.0015)
        assert row["low"] <= row["mean"] <= row["high"]
        assert row["tie"] == (row["low"] <= 0 <= row["high"])
    for row in printed_probes().values():  # routed RRF minus BM25
        assert row["mean"] == pytest.approx(row["b"] - row["a"], abs=0.0015)
        assert row["low"] <= row["mean"] <= row["high"]


def test_each_retriever_wins_the_segment_built_for_it_and_fusion_needs_routing():
    rows = printed_comparisons()

    def row(system, baseline, kind, metric="ndcg"):
        return rows[system, baseline, metric, kind]

    # The embedding cannot answer a channel's name; it wins what only pictures show.
    assert row("multimodal embedding", "BM25", "navigational")["high"] < -0.5
    assert row("multimodal embedding", "BM25", "visual")["low"] > 0
    for kind in ("descriptive", "spoken"):
        assert row("multimodal embedding", "BM25", kind)["high"] < 0
    # Routed fusion beats both on spoken and visual queries ...
    for kind in ("spoken", "visual"):
        assert row("RRF, routed", "BM25", kind)["low"] > 0
        assert row("RRF, routed", "multimodal embedding", kind)["low"] > 0
    # ... trades the top 10 for recall on descriptive ones ...
    assert row("RRF, routed", "BM25", "descriptive")["high"] < 0
    assert row("RRF, routed", "BM25", "descriptive", "recall")["low"] > 0.05
    # ... and equals BM25 on navigational queries, where plain fusion loses.
    tie = row("RRF, routed", "BM25", "navigational")
    assert tie["tie"] and tie["mean"] == tie["low"] == tie["high"] == 0
    assert row("RRF", "RRF, routed", "navigational")["high"] < -0.2


def test_fusions_descriptive_recall_comes_from_other_language_videos():
    """What the page says of the probe: where the gain and the top-10 loss come from."""
    probes = printed_probes()
    titled, english, other, neighbours = (probes[p] for p in ev.PROBES)
    assert other["a"] == 0 and other["low"] > 0.2  # BM25 cannot match them at all
    assert english["a"] > 0.5 and english["high"] < other["low"]  # BM25 finds most
    assert titled["high"] < 0  # fusion pushes a few titled videos below 50
    assert neighbours["low"] > 0 and neighbours["b"] > 2 * neighbours["a"]


def test_transcripts_carry_the_spoken_segment_and_asr_errors_cost_little():
    rows = printed_comparisons()
    full = rows["BM25", "BM25, no transcripts", "ndcg", "spoken"]
    kept = rows["BM25, transcript keyphrases", "BM25, no transcripts", "ndcg", "spoken"]
    lost = rows["BM25, transcript keyphrases", "BM25", "ndcg", "spoken"]
    assert full["low"] > 0.3 and kept["low"] > 0.3 and lost["high"] < 0
    assert kept["mean"] - lost["mean"] == pytest.approx(full["mean"], abs=0.0015)
    assert (
        rows["RRF, routed", "RRF, routed, no transcripts", "ndcg", "spoken"]["low"] > 0
    )
    clean = rows["BM25, error-free transcripts", "BM25", "ndcg", "spoken"]
    assert clean["low"] > 0 and clean["high"] < 0.05
    # NDCG@10 saturates; recall@50 shows the larger gap.
    clean_recall = rows["BM25, error-free transcripts", "BM25", "recall", "spoken"]
    assert clean_recall["low"] > clean["high"]
    # The error-free world is the same world: navigational queries do not move.
    table = printed_table()
    assert table["BM25, error-free transcripts"]["ndcg", "navigational"] == (
        pytest.approx(table["BM25"]["ndcg", "navigational"], abs=0.002)
    )


def test_the_printed_world_is_the_worlds_recounted():
    """The shares the program prints, recounted from the five worlds directly."""
    facts, out = printed_facts(), output()
    counts = {"informative": [], "clickbait": [], "bare": [], "speech": []}
    misheard, distinct, cell_sizes = 0.0, [], []
    start, end = vw.FIELDS["transcript"]
    for seed in vs.SEEDS:
        world = vw.make_world(seed=seed)
        clean = vw.make_world(seed=seed, word_error_rate=0)
        for i, style in enumerate(vw.TITLE_STYLES):
            counts[style].append(np.mean(world.title_style == i))
        counts["speech"].append(world.has_speech.mean())
        heard, said = world.tokens[:, start:end], clean.tokens[:, start:end]
        spoken = said >= 0
        misheard += np.mean(heard[spoken] != said[spoken]) / len(vs.SEEDS)
        distinct.append(np.mean([len(set(r)) for r in heard[world.has_speech]]))
        for q in np.flatnonzero(world.query_kind > 0):
            t, f = divmod(int(world.query_target[q]), vw.N_FACETS)
            cell_sizes.append(np.sum((world.topic == t) & (world.facet == f)))
    for name, shares in counts.items():
        assert facts[name] == f"{np.mean(shares):.1%}"
    assert facts["misheard"] == f"{misheard:.1%}"
    assert abs(misheard - vw.WORD_ERROR_RATE) < 0.01
    assert facts["title spoken"] == facts["title visual"] == "0.0%"
    assert f"{np.mean(distinct):.1f} distinct" in out
    assert f"asks for: {np.mean(cell_sizes):.1f}" in out
    # The share of titles holding a query word is an input of the world: informative
    # titles, in English, using one of 3 topic words or 2 facet words (2/3).
    expected = 0.55 * (1 - vw.OTHER_LANGUAGE_SHARE) * (1 - (2 / 3) * (1 / 2))
    assert abs(float(facts["title descriptive"].rstrip("%")) / 100 - expected) < 0.02


def test_page_quotes_the_numbers_the_code_prints():
    est, table, rows = vs.estimate(), printed_table(), printed_comparisons()
    facts, out, probes = printed_facts(), output(), printed_probes()

    def cell(system, kind, metric="ndcg"):
        return f"{table[system][metric, kind]:.3f}"

    quoted = [re.search(r"and (\d+) queries", out)[1] + " queries"]
    quoted += [facts["title descriptive"], cell("BM25", "spoken")]
    quoted += [cell("BM25, no transcripts", "spoken")]
    quoted += [
        cell("multimodal embedding", "navigational"),
        cell("BM25", "navigational"),
    ]
    quoted += [cell("BM25, transcript keyphrases", "spoken")]
    quoted += [cell("BM25", "spoken", "recall")]
    quoted += [cell("BM25, error-free transcripts", "spoken", "recall")]
    quoted += [f"{v}" for k, v in facts.items() if not k.startswith("title ")]
    quoted += [f"{vw.N_CHANNELS} channels", f"{vw.N_TOPICS} topics"]
    quoted += [f"{vw.N_FACETS} facets", f"{ev.KEYPHRASES} keyphrases"]
    quoted += re.findall(r"(\d[\d,]* videos) and", out) + re.findall(
        r"\((\d+ of each)", out
    )
    distinct = re.search(r"(\d+\.\d) distinct", out)[1]
    cell_size = re.search(r"asks for: (\d+\.\d)", out)[1]
    quoted += [f"{distinct} distinct words", f"{cell_size} exact videos"]
    for row in probes.values():
        quoted += [f"{row['a']:.3f}", f"{row['b']:.3f}"]
    # Every comparison's mean is quoted; the intervals of the headline ones too.
    quoted += [f"{abs(row['mean']):.3f}" for row in rows.values()]
    for key in (
        ("multimodal embedding", "BM25", "ndcg", "visual"),
        ("RRF, routed", "BM25", "ndcg", "descriptive"),
        ("RRF, routed", "BM25", "recall", "descriptive"),
        ("RRF", "RRF, routed", "ndcg", "navigational"),
        ("BM25, error-free transcripts", "BM25", "ndcg", "spoken"),
        ("RRF k=600", "RRF, routed", "ndcg", "descriptive"),
    ):
        quoted.append(f"[{signed(rows[key]['low'])}, {signed(rows[key]['high'])}]")
    assert rows["RRF, routed", "BM25", "ndcg", "navigational"]["tie"]

    # The estimate, formatted as printed.
    def usd(key):
        return f"${est[key]:,.0f} a month"

    rescore = ("machines rescore nvme", "machines rescore ram", "machines features")
    quoted += [
        f"{est['peak_qps']:,.0f}",
        *(human_bytes(est[f"index {f}"]) for f in vs.INDEXED),
        f"{vs.INDEXED['transcript'][1]:,} positions",
        f"**{est['machines transcript']}**",
        f"**{est['machines transcript keyphrases']}**",
        usd("$ a month transcript"),
        usd("$ a month transcript keyphrases"),
        f"{est['fan-out transcript']} shards",
        f"{est['fan-out transcript keyphrases']} shards",
        f"p{est['shard percentile transcript']:.3f}",
        f"p{est['shard percentile transcript keyphrases']:.3f}",
        f"**+{vs.CROSS_ZONE_MS} ms**",
        f"{est['bm25 ms transcript keyphrases']:.1f} ms",
        f"{est['bm25 ms transcript']:.1f} ms",
        f"{est['bm25 cores transcript']:,} cores",
        f"{est['cores held transcript']:,} held",
        f"{est['bm25 cores transcript keyphrases']:,} of its "
        f"{est['cores held transcript keyphrases']:,}",
        f"{est['machines ann']} machines",
        usd("$ a month ann"),
        f"{est['index clips'] / est['index ann']:.0f} times",
        f"{est['machines clips']} machines",
        usd("$ a month clips"),
        f"**{est['rescore reads']:,.0f}**",
        *(f"**{est[k]}** machines" for k in rescore),
        usd("$ a month rescore nvme"),
        usd("$ a month rescore ram"),
        usd("$ a month features"),
        f"{est['video hours a day']:,.0f}",
        f"**{est['gpus uploads ASR']}** GPUs for uploads and "
        f"**{est['gpus live ASR']}** for live",
        f"frame encoder {est['gpus uploads frame encoder']} and "
        f"{est['gpus live frame encoder']}",
        f"OCR {est['gpus uploads OCR']} and {est['gpus live OCR']}",
        f"**{est['gpus']}** GPUs in all",
        usd("$ a month gpus"),
        f"**{est['catalogue hours']:,.0f}**",
        f"**{est['backfill frames gpu hours']:,.0f}**",
        f"${est['$ backfill frames']:,.0f}",
        human_bytes(est["backfill bytes read"]),
        f"**{est['decode core hours']:,.0f}**",
        f"{est['decode core hours']:,.0f} core-hours",
        f"${est['$ decode']:,.0f}",
        f"**{est['backfill asr gpu hours']:,.0f}**",
        f"{est['backfill asr gpu hours']:,.0f} GPU-hours to re-transcribe",
        f"${est['$ backfill asr']:,.0f}",
        f"**{est['backfill asr months']:.1f}**",
        human_bytes(est["logs kept"]),
        usd("$ a month logs"),
        usd("bill total"),
        f"{est['headroom ms']:.0f} ms",
        f"{est['machines transcript'] / est['machines transcript keyphrases']:.1f}"
        " times",
        f"**{est['ab searches per arm']:,} searches**",
        f"**{est['ab design effect']:.2f}**",
        f"**{est['ab users per arm']:,} users**",
        f"**{est['ab days']} days**",
    ]
    quoted += [f"(${v:,.0f})" for k, v in est["bill"].items() if "GPUs" in k]
    for stage in vs.CPU_MS_PER_SEARCH:
        quoted.append(f"**{est[f'cores {stage}']:,}**")
        if not stage.startswith("ANN"):
            quoted.append(
                f"{est[f'machines {stage}']} machines, {usd(f'$ a month {stage}')}"
            )
    quoted.append(f"which hold {est['cores held ann']}")
    for name in ("index ann", "fp16 vectors", "logs per day"):
        quoted.append(human_bytes(est[name]))
    quoted += [human_bytes(v) for k, v in est.items() if k.startswith("log ")]
    stages = list(vs.STAGE_MS.values())
    quoted.append(
        f"front end {stages[0]}, query\n  understanding and the text tower {stages[1]}"
    )
    # The stated assumptions, as the code holds them.
    quoted += [
        f"{vs.WORDS_SPOKEN_A_MINUTE} words a minute",
        f"{vs.POSTINGS_SCANNED / 1e6:.0f}M postings",
        f"{vs.NS_PER_POSTING} ns a posting",
        f"{vs.NVME_IOPS:,.0f} reads a second a drive",
        f"{vs.LIVE_STREAMS_AT_PEAK:,} live streams",
        f"{vs.GPU_FLOP_PER_VIDEO_S['ASR'] / 1e9:.0f} GFLOP per second of audio",
        f"{vs.BACKFILL_MBIT_PER_S:.0f} Mbit/s",
        f"{vs.DECODE_SPEED}× real time",
        f"{vs.LOG_DAYS} days",
        f"${vs.DOLLARS_PER_TB_MONTH} a TB-month",
        f"{vs.SUCCESS_RATE:.0%} search success",
        f"{vs.WEEKLY_SEARCHERS / 1e6:.0f} million weekly searchers",
    ]
    assert_page_quotes(PAGE, *quoted)
    m = est["ab searches a user"]
    assert_page_says(
        PAGE,
        f"\\(m = {m:.0f}\\)",
        f"Transcripts are {vw.FIELDS['transcript'][1] - vw.FIELDS['transcript'][0]}"
        f" words, not the {vs.INDEXED['transcript'][1]:,} of 8 spoken minutes",
    )
