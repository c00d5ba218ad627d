"""Autocomplete and compose miniature: its claims, estimate and the page's numbers."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from guide import ROOT, assert_page_quotes, module_output, paired_differences

from snippets.common import estimation
from snippets.framework.cost import CPU, GPU, HOURS_PER_MONTH
from snippets.problems import autocomplete as ac
from snippets.problems import autocomplete_compose as compose
from snippets.problems import autocomplete_index as qac

PAGE = "problems/autocomplete.md"
MODULE = "snippets.problems.autocomplete"
NUMBER = r"[+-]?\d+\.\d+"


def output() -> str:
    return module_output(MODULE)


def lines_between(start: str, end: str) -> list[str]:
    return output().split(start, 1)[1].split(end, 1)[0].splitlines()


def printed_mrr() -> dict[tuple[str, str], list[float]]:
    """(group, method) -> MRR@8 at lengths 1, 2, 3, 4, 6 and their mean."""
    rows, group = {}, None
    for line in lines_between("MRR@8 by prefix length", "Keystrokes saved"):
        if line.endswith("targets:"):
            group = line.split()[0]
            continue
        if match := re.match(rf"^\s+(.+?)\s+((?:{NUMBER}\s*){{6}})$", line):
            rows[group, match[1]] = [float(v) for v in match[2].split()]
    return rows


def printed_work() -> dict[str, tuple[float, float]]:
    rows = {}
    for line in lines_between("Entries read per keystroke", "Trie nodes"):
        if match := re.match(
            rf"^\s+(prefix length \S+)\s+({NUMBER})\s+({NUMBER})$", line
        ):
            rows[match[1]] = (float(match[2]), float(match[3]))
    return rows


def printed_curve() -> dict[tuple[float, str], dict[str, float]]:
    """(threshold, model) -> suggestion rate, acceptance (means), confidence, saved."""
    rows = {}
    for line in lines_between("threshold  model", "Paired differences"):
        n = NUMBER
        pattern = (
            rf"^\s+({n})\s+(\w+)\s+({n}) \[{n}, {n}\]\s+({n}) \[{n}, {n}\]"
            rf"\s+({n})\s+({n})%$"
        )
        if match := re.match(pattern, line):
            rows[float(match[1]), match[2]] = {
                "suggestion rate": float(match[3]),
                "acceptance": float(match[4]),
                "confidence": float(match[5]),
                "saved": float(match[6]) / 100,
            }
    return rows


def diff(block: str, label: str) -> tuple[float, float, float, bool]:
    return paired_differences(output())[block, label]


def estimate_value(label: str) -> str:
    line = next(x for x in output().splitlines() if x.strip().startswith(label))
    return line.split()[-1]


def test_tables_parse_completely():
    assert len(printed_mrr()) == 9
    assert len(printed_work()) == 4
    assert len(printed_curve()) == 2 * len(compose.THRESHOLDS)
    assert len(paired_differences(output())) == 18
    assert len(printed_half_lives()) == 2


def test_freshness_wins_on_trending_targets_and_overall():
    for method in (qac.DECAYED, qac.BURSTS):
        block = f"{method} minus all-time count"
        for label in (
            "MRR@8, all targets",
            "MRR@8, trending targets",
            "keystrokes saved, share of characters",
        ):
            _, low, _, tie = diff(block, label)
            assert low > 0 and not tie, (method, label)
        assert diff(block, "MRR@8, trending targets")[1] > 0.1
    mrr = printed_mrr()
    # At one character the all-time count almost never shows a trending query.
    assert mrr["trending", qac.ALL_TIME][0] < 0.05 < mrr["trending", qac.DECAYED][0]


def test_decay_costs_stable_queries_and_the_ablation_shows_why():
    _, _, high, _ = diff(f"{qac.DECAYED} minus all-time count", "MRR@8, stable targets")
    assert high < 0
    # Without trends, decay only discards evidence: a loss. The burst rule keeps
    # the month's rate unless the evidence is clear: a tie.
    calm = diff(
        f"without trends, {qac.DECAYED} minus all-time count", "MRR@8, all targets"
    )
    assert calm[2] < 0 and not calm[3]
    burst = diff(
        f"without trends, {qac.BURSTS} minus all-time count", "MRR@8, all targets"
    )
    assert burst[3] and abs(burst[0]) < 0.002
    better = diff(f"{qac.BURSTS} minus {qac.DECAYED}", "MRR@8, all targets")
    assert better[1] > 0


def printed_half_lives() -> dict[str, list[float]]:
    rows = {}
    for line in lines_between("Decayed count by half-life", "Keystrokes saved"):
        if match := re.match(rf"^\s+(\w+) targets\s+((?:{NUMBER}\s*){{3}})$", line):
            rows[match[1]] = [float(v) for v in match[2].split()]
    return rows


def test_the_half_life_trades_trends_for_stable_queries():
    rows = printed_half_lives()
    assert rows["trending"] == sorted(rows["trending"], reverse=True)
    assert rows["stable"] == sorted(rows["stable"])
    # A trend that ended before the sessions: decay now costs.
    block = "trends ended 2 days before the sessions, decayed minus all-time"
    assert diff(block, "MRR@8, all targets")[2] < 0


def test_mrr_rises_with_the_prefix_length():
    for row in printed_mrr().values():
        cells = row[:5]
        assert all(a <= b + 1e-9 for a, b in itertools.pairwise(cells)), row


def test_the_cache_reads_at_most_k_and_the_scan_reads_the_subtree():
    work = printed_work()
    for cached, scanned in work.values():
        assert cached <= qac.K_SHOWN + 1e-9 and scanned >= cached
    assert work["prefix length 1"][1] > 20 * work["prefix length 1"][0]
    assert work["prefix length 1"][1] > work["prefix length 2"][1]
    nodes = re.search(r"query: (\S+); radix trie: (\S+)", output())
    assert float(nodes[2]) <= 2 < float(nodes[1])


def test_filters_stop_private_and_blocked_queries():
    text = output()
    private = re.search(r"(\d+) pass a count >= 5,\n\s+(\d+) pass 5 distinct", text)
    assert int(private[1]) == 25 and int(private[2]) == 0
    exposure = re.search(r"would show in (\S+)% of requests", text)
    assert float(exposure[1]) > 1


def test_the_threshold_trades_suggestions_for_acceptance():
    curve = printed_curve()
    for model in ("trigram", "reference"):
        rates = [curve[t, model]["suggestion rate"] for t in compose.THRESHOLDS]
        accepted = [curve[t, model]["acceptance"] for t in compose.THRESHOLDS]
        assert rates == sorted(rates, reverse=True)
        assert accepted == sorted(accepted)
    block = "trigram, threshold 0.8 minus 0.2"
    assert diff(block, "suggestion rate")[2] < 0
    assert diff(block, "acceptance")[1] > 0
    # The trigram is overconfident at the lowest threshold; both models accept
    # below their confidence (rejected guesses come back at the next word).
    low = compose.THRESHOLDS[0]
    trigram, oracle = curve[low, "trigram"], curve[low, "reference"]
    assert trigram["confidence"] - trigram["acceptance"] > 0.1
    assert oracle["acceptance"] < oracle["confidence"]
    ceiling = "reference minus trigram, threshold 0.6"
    assert diff(ceiling, "acceptance")[1] > 0


def test_estimates_come_from_the_shared_estimation_functions():
    shares = {1: 0.3, 2: 0.2, 3: 0.1}
    est = ac.estimate_capacity(shares, 10)
    keystrokes = estimation.peak_qps(400e6, 5 * 10, 2.0)
    assert est["keystrokes_per_s"] == pytest.approx(keystrokes)
    requests = keystrokes * 0.7
    assert est["requests_per_s"] == pytest.approx(requests)
    assert est["edge_hit_rate"] == pytest.approx(0.6)
    origin = requests * 0.4
    assert est["origin_cores"] == math.ceil(origin * 0.2e-3 / 0.5)
    assert est["origin_dollars_month"] == pytest.approx(
        est["origin_cores"] * CPU.dollars_per_hour / 16 * HOURS_PER_MONTH
    )
    # 100M strings (20 B), scores (4 B), 2n radix nodes of 16 B + 20 ids of 4 B.
    total = 100e6 * 20 + 100e6 * 4 + 2e8 * 16 + 2e8 * 80
    assert est["index_replica"] == estimation.human_bytes(total)
    # Scans: 1/20 of the index per extra character, 1 ns an entry.
    assert est["scan_ms_1"] == pytest.approx(100e6 / 20 * 1e-9 * 1e3)
    scan_core_s = (
        sum(
            requests * share * (0.2e-3 + 100e6 / 20**n * 1e-9)
            for n, share in shares.items()
        )
        + requests * 0.4 * 0.2e-3
    )
    assert est["cold_scan_cores"] == math.ceil(scan_core_s / 0.5)
    assert est["cold_cached_cores"] == math.ceil(requests * 0.2e-3 / 0.5)
    compose_rps = estimation.peak_qps(300e6, 240, 2.0)
    flops_gpus = math.ceil(
        compose_rps * 2 * 20e6 * 8 / (GPU.peak_flops * GPU.efficiency)
    )
    assert est["compose_gpus_flops"] == flops_gpus
    # K and V of 6 layers x 512 wide, 60 FP16 tokens, per draft open 120 s.
    drafts = 300e6 * 4 / 86_400 * 2 * 120
    memory_gpus = math.ceil(drafts * 2 * 6 * 512 * 60 * 2 / (24e9 * 0.8))
    assert est["compose_gpus_memory"] == memory_gpus > flops_gpus
    recompute = math.ceil(
        compose_rps * 2 * 20e6 * 48 / (GPU.peak_flops * GPU.efficiency)
    )
    assert est["compose_gpus"] == min(memory_gpus, recompute)
    stages = {k[6:]: v for k, v in est.items() if k.startswith("stage:")}
    assert est["headroom_ms"] == estimation.remaining_budget_ms(100, stages) > 0
    assert est["edge_entries"] == 37 + 37**2 + 37**3


def test_the_estimate_uses_the_miniatures_printed_shares():
    line = next(x for x in output().splitlines() if x.startswith("Requests by prefix"))
    shares = [float(v) / 100 for v in re.findall(r"(\d+\.\d)%", line)]
    assert estimate_value("edge hit rate") == f"{sum(shares[:3]):.1%}"
    assert shares[3] == pytest.approx(sum(shares[:3]), abs=1e-9)


def test_the_estimate_uses_the_miniatures_keystrokes_a_search():
    typed = re.search(r"Keystrokes typed a search, \S+ count: (\S+)", output())[1]
    assert estimate_value("keystrokes a search") == typed
    keystrokes = estimation.peak_qps(400e6, 5 * float(typed), 2.0)
    assert estimate_value("keystrokes/s") == f"{keystrokes:,.0f}"


def test_estimate_rejects_bad_shares():
    with pytest.raises(TypeError, match="short_prefix_shares"):
        ac.estimate_capacity(0.5, 10)
    with pytest.raises(ValueError, match="lengths"):
        ac.estimate_capacity({2: 0.1}, 10)
    with pytest.raises(ValueError, match="keystrokes_per_search"):
        ac.estimate_capacity({1: 0.3}, 0.5)
    with pytest.raises(ValueError, match="sum"):
        ac.estimate_capacity({1: 0.7, 2: 0.4}, 10)


def test_the_diagram_carries_the_budget():
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    diagram = page.split("## Architecture", 1)[1].split("```mermaid", 1)[1]
    diagram = diagram.split("```", 1)[0]
    est = ac.estimate_capacity({1: 0.3, 2: 0.2, 3: 0.1}, 10)
    shown = [int(ms) for ms in re.findall(r"(\d+) ms", diagram)]
    stages = [int(v) for k, v in est.items() if k.startswith("stage:")]
    assert sorted(shown) == sorted(stages)


def test_the_page_quotes_the_output():
    mrr, curve = printed_mrr(), printed_curve()
    decayed = f"{qac.DECAYED} minus all-time count"
    bursts = f"{qac.BURSTS} minus all-time count"

    def mean(block, label):
        return f"{abs(diff(block, label)[0]):.3f}"

    calm = f"without trends, {qac.DECAYED} minus all-time count"
    assert_page_quotes(
        PAGE,
        *(
            estimate_value(x)
            for x in (
                "keystrokes/s",
                "requests/s after",
                "origin requests/s",
                "total",
                "edge hit rate",
            )
        ),
        estimate_value("cores at 0.2 ms"),
        estimate_value("cached top 20"),
        estimate_value("scanning completions"),
        estimate_value("search log a day"),
        estimate_value("suggestion log a day"),
        estimate_value("compose event log a day"),
        estimate_value("compose requests/s"),
        f"{mrr['trending', qac.ALL_TIME][5]:.3f}",
        f"{mrr['trending', qac.DECAYED][5]:.3f}",
        f"{mrr['trending', qac.ALL_TIME][0]:.3f}",
        f"{mrr['trending', qac.DECAYED][0]:.3f}",
        mean(decayed, "MRR@8, trending targets"),
        mean(decayed, "MRR@8, all targets"),
        mean(bursts, "MRR@8, trending targets"),
        mean(bursts, "MRR@8, all targets"),
        mean(decayed, "MRR@8, stable targets"),
        mean(bursts, "MRR@8, stable targets"),
        mean(calm, "MRR@8, all targets"),
        mean(f"{qac.BURSTS} minus {qac.DECAYED}", "MRR@8, all targets"),
        mean(bursts, "keystrokes saved, share of characters"),
        mean("trigram, threshold 0.8 minus 0.2", "suggestion rate"),
        mean("trigram, threshold 0.8 minus 0.2", "acceptance"),
        mean("trigram, threshold 0.8 minus 0.2", "characters saved, share"),
        f"{diff('reference minus trigram, threshold 0.6', 'acceptance')[0]:.4f}",
        f"{-diff('reference minus trigram, threshold 0.6', 'suggestion rate')[0]:.4f}",
        mean(
            "trends ended 2 days before the sessions, decayed minus all-time",
            "MRR@8, all targets",
        ),
        *(f"{v:.3f}" for v in printed_half_lives()["trending"]),
        *(f"{v:.3f}" for v in printed_half_lives()["stable"]),
        re.search(r"Keystrokes typed a search, \S+ count: (\S+)", output())[1],
        estimate_value("FLOPs, draft state cached"),
        estimate_value("FLOPs, prefix recomputed"),
        estimate_value("fleet, the cheaper plan"),
        f"{curve[0.2, 'trigram']['suggestion rate']:.3f}",
        f"{curve[0.2, 'trigram']['acceptance']:.3f}",
        f"{curve[0.2, 'trigram']['confidence']:.3f}",
        f"{curve[0.2, 'reference']['acceptance']:.3f}",
        f"{curve[0.2, 'reference']['confidence']:.3f}",
        f"{curve[0.2, 'trigram']['saved']:.1%}",
        f"{curve[0.8, 'trigram']['saved']:.1%}",
    )
    work = printed_work()
    assert_page_quotes(
        PAGE, f"{work['prefix length 1'][1]:.1f}", f"{work['prefix length 2'][1]:.1f}"
    )
    nodes = re.search(r"query: (\S+); radix trie: (\S+)", output())
    exposure = re.search(r"would show in (\S+%) of requests", output())
    covered = re.search(r"the targets of (\S+) of\s", output())
    shares = re.search(r"1, 2, 3: (\S+), (\S+), (\S+);", output())
    assert_page_quotes(
        PAGE,
        nodes[1],
        nodes[2],
        exposure[1],
        covered[1],
        shares[1].rstrip(","),
        shares[2].rstrip(","),
        shares[3],
    )
