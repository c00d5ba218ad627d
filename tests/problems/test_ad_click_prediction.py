"""Ad click prediction miniature: printed claims, the estimate, the page's numbers."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, page_text, typographic_minus
from sklearn.metrics import roc_auc_score

from snippets.common import estimation
from snippets.concepts.calibration import correct_downsampled
from snippets.concepts.generative_ai import A100_80GB
from snippets.framework.cost import CPU, TRAINER
from snippets.problems import ad_click_prediction as acp

PAGE = "problems/ad-click-prediction.md"
SPLIT = "one category's pCTR x 2: that category, then the rest"
RAW, CORRECTED = "negatives kept at 10%", "downsampled, corrected"
MODULE = "snippets.problems.ad_click_prediction"
NUMBER = r"[+-]?\d+\.\d+"
CELL = re.compile(
    rf"(clicks|revenue, \$|surplus, \$|welfare, \$|impressions|the rest, \$)\s+"
    rf"({NUMBER}) \[({NUMBER}), ({NUMBER})\]( tie)?"
)


def output() -> str:
    return module_output(MODULE)


def lines_between(start: str, end: str) -> list[str]:
    return output().split(start, 1)[1].split(end, 1)[0].splitlines()


def printed_models() -> dict[str, dict[str, float]]:
    keys = ("NE", "ROC-AUC", "ECE", "all", "slot 1", "top 10%")
    rows = {}
    for line in lines_between("top 10%\n", "NE of"):
        match = re.match(rf"^\s*(.+?)\s+((?:{NUMBER}\s*){{6}})$", line)
        assert match, f"unparsed model row {line!r}"
        rows[match[1]] = dict(zip(keys, map(float, match[2].split()), strict=True))
    return rows


def printed_markets() -> dict[str, dict[str, float]]:
    rows = {}
    for line in lines_between("changed\n", "\nk, "):
        match = re.match(
            rf"^(.+?)\s+((?:{NUMBER}\s+){{4}})(\d+)\s+({NUMBER})%\s+({NUMBER})%$", line
        )
        assert match, f"unparsed market row {line!r}"
        clicks, revenue, surplus, welfare = map(float, match[2].split())
        rows[match[1]] = {
            "clicks": clicks,
            "revenue": revenue,
            "surplus": surplus,
            "welfare": welfare,
            "shown": int(match[3]),
            "reserve": float(match[4]),
            "changed": float(match[5]),
        }
    return rows


def printed_differences() -> dict[tuple, tuple[float, float, float, bool]]:
    """(block, reference, label) -> (mean, low, high, printed as a tie); block 'NE'
    holds the normalised entropy lines, the others are named by the pCTR compared and
    the pCTR it is compared with ('' for the split of one run by advertiser)."""
    found, block = {}, ("", "")
    for line in output().split("Paired differences")[1].splitlines()[1:]:
        if not line.startswith(" "):
            header = line.removesuffix(", per 1,000 requests:")
            name, _, base = header.partition(" minus ")
            nes = name.startswith("normalised entropy")
            block = ("NE", acp.BASELINE) if nes else (name, base)
            continue
        if block[0] == "NE":
            match = re.match(
                rf"^\s+(.+?)\s+({NUMBER}) \[({NUMBER}), ({NUMBER})\]( tie)?$", line
            )
            assert match, f"unparsed line {line!r}"
            cells = [match.groups()]
        else:
            cells = CELL.findall(line)
            assert cells, f"unparsed line {line!r}"
        for label, mean, low, high, tie in cells:
            found[(*block, label)] = (float(mean), float(low), float(high), bool(tie))
    return found


def diff(block: str, label: str, base: str = acp.BASELINE) -> tuple:
    """(mean, low, high, tie) of block minus base; SPLIT blocks have no base."""
    return printed_differences()[block, "" if block == SPLIT else base, label]


def printed_top_decile() -> tuple[float, float, tuple[float, float, float]]:
    line = next(ln for ln in output().splitlines() if ln.startswith("its top 10%"))
    match = re.search(
        rf"(\d\.\d+)-(\d\.\d+), minus 1: ({NUMBER}) \[({NUMBER}), ({NUMBER})\]$", line
    )
    assert match, line
    low, high, *excess = map(float, match.groups())
    return low, high, tuple(excess)


def printed_inflation() -> tuple[float, float, float]:
    line = next(ln for ln in output().splitlines() if ln.startswith("k, "))
    match = re.search(rf"({NUMBER}) \(({NUMBER})-({NUMBER})\)$", line)
    assert match, line
    return tuple(map(float, match.groups()))


def test_tables_parse_completely():
    assert len(printed_models()) == 5
    assert len(printed_markets()) == 9
    differences = printed_differences()
    assert sum(block == "NE" for block, _, _ in differences) == 4
    assert len(differences) == 4 + 7 * 4 + 3 + 2 * 4


def test_ties_are_printed_exactly_when_the_interval_spans_zero():
    for key, (_, low, high, tie) in printed_differences().items():
        assert tie == (low <= 0 <= high), key


def test_crosses_buy_normalised_entropy_and_money():
    models = printed_models()
    assert models["hashed LR, crosses"]["NE"] < models["without the crosses"]["NE"] < 1
    _, low, _, _ = diff("NE", "without the crosses")
    assert low > 0
    clicks, welfare = (
        diff("without the crosses", "clicks"),
        diff("without the crosses", "welfare, $"),
    )
    assert clicks[2] < 0 and welfare[2] < 0
    surplus = diff("without the crosses", "surplus, $")
    assert surplus[2] < 0 and surplus[0] < welfare[0] / 2  # most of it advertisers'


def test_downsampling_breaks_scale_not_order_and_the_correction_restores_it():
    models = printed_models()
    raw, fixed = models["negatives kept at 10%"], models["downsampled, corrected"]
    assert raw["NE"] > 1 > fixed["NE"]
    assert raw["all"] > 5 and 0.95 <= fixed["all"] <= 1.05
    markets = printed_markets()
    assert markets["negatives kept at 10%"]["shown"] == 3_000  # every slot filled
    assert markets["negatives kept at 10%"]["reserve"] == 0.0
    assert diff("negatives kept at 10%", "revenue, $")[1] > 0
    assert diff("negatives kept at 10%", "surplus, $")[2] < 0
    assert diff("downsampled, corrected", "revenue, $")[3]
    assert diff("downsampled, corrected", "surplus, $")[3]


def test_the_auc_is_kept_by_the_downsampling_correction():
    """The program reuses the raw model's AUC for the corrected one: a monotone map."""
    rng = np.random.default_rng(5)
    labels = rng.random(2_000) < 0.1
    raw = np.clip(rng.beta(1, 6, 2_000) + 0.2 * labels, 1e-6, 1 - 1e-6)
    fixed = correct_downsampled(raw, acp.NEGATIVE_RATE)
    assert roc_auc_score(labels, raw) == roc_auc_score(labels, fixed)
    assert acp.roc_auc(labels.astype(int), raw) == pytest.approx(
        roc_auc_score(labels, raw)
    )


def test_downsampling_moves_money_by_reordering_not_through_the_reserve():
    markets = printed_markets()
    k, k_low, k_high = printed_inflation()
    assert 1 < k_low <= k <= k_high < 1 / acp.NEGATIVE_RATE
    even = markets[acp.SCALED]  # the corrected model, the reserve divided by k
    assert even["shown"] == 3_000 and even["reserve"] < markets[CORRECTED]["reserve"]
    reserve_part = diff(acp.SCALED, "revenue, $", CORRECTED)
    rest = diff(RAW, "revenue, $", acp.SCALED)
    assert rest[1] > 0 and rest[0] > 5 * reserve_part[0]
    assert diff(acp.SCALED, "surplus, $", CORRECTED)[0] >= 0  # lower reserve: cheaper
    assert diff(RAW, "surplus, $", acp.SCALED)[2] < 0  # the rest: overcharging
    # The two steps add up to raw minus corrected, read off the baseline blocks.
    for label in acp.MARKET_METRICS:
        steps = diff(acp.SCALED, label, CORRECTED)[0] + diff(RAW, label, acp.SCALED)[0]
        whole = diff(RAW, label)[0] - diff(CORRECTED, label)[0]
        assert steps == pytest.approx(whole, abs=0.021), label


def test_the_slot_feature_is_what_calibrates_the_top_slot():
    models = printed_models()
    no_slot = models["without the slot feature"]
    assert 0.95 <= no_slot["all"] <= 1.05 and no_slot["slot 1"] < 0.8
    assert 0.95 <= models["hashed LR, crosses"]["slot 1"] <= 1.08
    markets = printed_markets()
    assert markets["without the slot feature"]["shown"] < markets[acp.BASELINE]["shown"]
    assert diff("without the slot feature", "revenue, $")[2] < 0
    assert diff("without the slot feature", "welfare, $")[2] < 0


def test_a_global_scale_acts_through_the_reserve_and_a_segment_scale_moves_money():
    markets = printed_markets()
    doubled, base = markets["every pCTR x 2"], markets[acp.BASELINE]
    assert doubled["reserve"] < base["reserve"] and doubled["shown"] > base["shown"]
    assert doubled["changed"] < markets["one category's pCTR x 2"]["changed"]
    assert diff("every pCTR x 2", "welfare, $")[1] > 0
    assert diff("one category's pCTR x 2", "welfare, $")[2] < 0
    assert diff(SPLIT, "impressions")[1] > 0
    assert diff(SPLIT, "surplus, $")[1] > 0  # the inflated category's own surplus...
    assert diff(SPLIT, "the rest, $")[2] < 0  # ...taken from everyone else


def test_true_ctr_is_the_welfare_ceiling_and_identities_hold():
    assert diff("true CTR", "welfare, $")[1] > 0
    for name, row in printed_markets().items():
        assert row["revenue"] + row["surplus"] == pytest.approx(
            row["welfare"], abs=0.02
        )
        assert row["shown"] <= 3_000, name


def test_calibrated_models_are_calibrated_on_average_but_not_in_the_top_decile():
    models = printed_models()
    for name in (
        "hashed LR, crosses",
        "without the crosses",
        "without the slot feature",
    ):
        assert 0.95 <= models[name]["all"] <= 1.05, name
    assert models["hashed LR, crosses"]["top 10%"] > models["hashed LR, crosses"]["all"]
    low, high, (excess, lower, _) = printed_top_decile()
    top = models[acp.BASELINE]["top 10%"]
    assert low <= top <= high
    assert lower > 0 and excess == pytest.approx(top - 1, abs=0.006)


def test_estimates_come_from_the_shared_estimation_functions():
    e = acp.estimate_capacity()
    qps = estimation.peak_qps(500e6, 10, 2.0)
    assert e["peak_qps"] == pytest.approx(qps)
    assert e["light_per_s"] == pytest.approx(qps * 5_000)
    assert e["light_cores"] == math.ceil(qps * 5_000 / 1e6)
    assert e["targeting_cores"] == math.ceil(qps * 2 / 1e3)
    heavy_flops = qps * 300 * 100e6
    assert e["accelerators"] == math.ceil(heavy_flops / (A100_80GB.peak_flops * 0.3))
    assert e["a100_hosts"] == math.ceil(e["accelerators"] / 8)
    assert e["cross_lookups_per_s"] == pytest.approx(qps * 300 * 10)
    assert e["shard_hosts"] == 4 * math.ceil(math.ceil(qps * 3_000 / 5e6) / 4)
    assert e["compute_bound_above"] == pytest.approx(312e12 / 2.039e12 * 50 * 128)
    # A month of each fleet at the on-demand prices, 730 hours.
    month = {
        "targeting + ANN": math.ceil(e["targeting_cores"] / 16) * CPU.dollars_per_hour,
        "light ranker": math.ceil(e["light_cores"] / 16) * CPU.dollars_per_hour,
        "heavy model": e["a100_hosts"] * TRAINER.dollars_per_hour,
        "embedding shards": e["shard_hosts"] * CPU.dollars_per_hour,
    }
    for stage, hourly in month.items():
        assert e[f"monthly:{stage}"] == pytest.approx(hourly * 730), stage
    total = sum(month.values()) * 730
    assert e["monthly_total"] == pytest.approx(total)
    requests = qps / 2 * 86_400 * 365 / 12
    assert e["per_million_requests"] == pytest.approx(total / requests * 1e6)
    cpu = (month["targeting + ANN"] + month["light ranker"]) * 730
    assert e["heavy_over_cpu"] == pytest.approx(month["heavy model"] * 730 / cpu)
    # At the break-even FLOPs an ad, the A100s (priced an eighth of a host) cost the
    # two CPU stages' bill.
    a100s = qps * 300 * e["break_even_flops"] / (A100_80GB.peak_flops * 0.3)
    assert a100s * TRAINER.dollars_per_hour / 8 * 730 == pytest.approx(cpu)
    assert e["headroom_ms"] == 100 - sum(
        v for k, v in e.items() if k.startswith("stage:")
    )
    assert e["shard_percentile"] == pytest.approx(100 * 0.99**0.25)
    assert e["impression_log"] == estimation.human_bytes(500e6 * 10 * 3 * 200)
    assert e["click_store"] == estimation.human_bytes(500e6 * 10 * 3 * 0.01 * 7 * 900)
    assert e["pacing_log"] == estimation.human_bytes(1e6 * 8_640 * 100)
    assert e["charges_per_s"] == pytest.approx(500e6 * 10 * 3 * 0.01 / 86_400 * 2)
    assert f"{e['peak_qps']:,.0f}" in output()
    assert f"${e['monthly_total']:,.0f}" in output()


def test_page_quotes_the_numbers_the_code_prints():
    models, markets = printed_models(), printed_markets()
    crosses, without = models[acp.BASELINE], models["without the crosses"]
    raw, fixed = models["negatives kept at 10%"], models["downsampled, corrected"]
    no_slot = models["without the slot feature"]
    quoted = [f"NE {crosses['NE']:.4f}", f"{without['NE']:.4f} without"]
    quoted += [f"ROC-AUC {crosses['ROC-AUC']:.4f}", f"{without['ROC-AUC']:.4f}"]
    quoted += [f"ROC-AUC {raw['ROC-AUC']:.4f}", f"{raw['NE']:.4f} before"]
    quoted += [f"{fixed['NE']:.4f} after", f"{raw['all']:.2f} times"]
    quoted += [f"ratio to {fixed['all']:.2f}"]
    quoted += [f"({no_slot['all']:.2f})", f"predicts {no_slot['slot 1']:.2f}"]
    full = [models[n]["all"] for n in (acp.BASELINE, "without the crosses")]
    full.append(no_slot["all"])
    quoted += [f"{min(full):.2f} to {max(full):.2f}"]
    top = crosses["top 10%"]
    quoted += [f"({top:.2f};", f"by {round((top - 1) * 100)}%"]
    low, high, excess = printed_top_decile()
    quoted += [f"{low:.2f} to {high:.2f} over the seeds"]
    quoted += ["{:+.3f} [{:+.3f}, {:+.3f}]".format(*excess)]
    quoted += [f"\\(k = {printed_inflation()[0]:.2f}\\)"]
    for key in ((acp.SCALED, "revenue, $", CORRECTED), (RAW, "revenue, $", acp.SCALED)):
        mean, low, high, _ = diff(*key)
        quoted.append(f"{mean:.2f} [{low:.2f}, {high:.2f}]")
    quoted.append(f"takes {abs(diff(RAW, 'surplus, $', acp.SCALED)[0]):.2f}")
    for label in ("without the crosses", "downsampled, corrected"):
        mean, low, high, _ = diff("NE", label)
        quoted.append(f"{mean:.4f} [{low:.4f}, {high:.4f}]")
    base, doubled = markets[acp.BASELINE], markets["every pCTR x 2"]
    quoted += [f"{markets['without the slot feature']['shown']:,} shown"]
    quoted += [f"against {base['shown']:,}"]
    quoted += [f"from {base['reserve']:.1f}% to {doubled['reserve']:.1f}%"]
    quoted += [f"changes {doubled['changed']:.1f}%"]
    magnitudes = [
        ("without the crosses", "clicks"),
        ("without the crosses", "welfare, $"),
        ("without the crosses", "surplus, $"),
        ("true CTR", "welfare, $"),
        ("without the slot feature", "revenue, $"),
        ("without the slot feature", "welfare, $"),
        ("negatives kept at 10%", "surplus, $"),
        ("negatives kept at 10%", "clicks"),
        ("downsampled, corrected", "clicks"),
        ("downsampled, corrected", "welfare, $"),
        ("every pCTR x 2", "revenue, $"),
        ("every pCTR x 2", "welfare, $"),
        ("one category's pCTR x 2", "welfare, $"),
        (SPLIT, "surplus, $"),
        (SPLIT, "the rest, $"),
    ]
    quoted += [f"{abs(diff(*key)[0]):.2f}" for key in magnitudes]
    quoted.append(f"{diff(SPLIT, 'impressions')[0]:.1f} more impressions")
    for key in (
        ("without the crosses", "revenue, $"),
        ("one category's pCTR x 2", "revenue, $"),
    ):
        mean, low, high, tie = diff(*key)
        assert tie
        quoted.append(typographic_minus(f"{mean:+.2f} [{low:+.2f}, ") + f"{high:+.2f}]")
    mean, low, high, _ = diff("negatives kept at 10%", "revenue, $")
    quoted.append(f"{mean:.2f} [{low:.2f}, {high:.2f}]")
    e = acp.estimate_capacity()
    quoted += [
        f"**{e['peak_qps']:,.0f} requests per second**",
        f"**{e['light_per_s'] / 1e6:.0f} million scores per second**",
        f"**{e['heavy_per_s'] / 1e6:.1f} million per second**",
        f"**{e['targeting_cores']} cores**",
        f"**{e['light_cores']} cores**",
        f"**{e['accelerators']} A100s**",
        f"**{e['a100_hosts']} hosts**",
        *(f"**${e[key]:,.0f}**" for key in e if key.startswith("monthly:")),
        f"**${e['monthly_total']:,.0f}**",
        f"**${e['per_million_requests']:.2f}**",
        f"**{e['heavy_over_cpu']:.1f}x**",
        f"**{e['break_even_flops'] / 1e6:.0f} MFLOP**",
        f"**{e['compute_bound_above'] / 1e6:.1f} MFLOP**",
        f"**{e['cross_lookups_per_s'] / 1e6:.0f} million lookups",
        f"**{e['cross_bytes_per_s']}**",
        f"**{e['shard_hosts']} hosts**",
        f"{e['shard_replicas']} replicas of",
        f"**{e['viewability_log']}**",
        f"**{e['hide_log']}**",
        f"**{e['eligible_sample_log']}**",
        f"**{e['spend_ledger']}**",
        f"**{e['pacing_log']}**",
        f"**{e['heavy_ms_per_request']:.2f} ms**",
        f"**{e['ad_features_per_host']}**",
        f"**{e['index_bytes']}**",
        f"**{e['pacing_state_per_host']}**",
        f"**{e['peak_qps']:,.0f} reads per second**",
        f"**{e['embedding_serving']}**",
        f"**{e['embedding_training']}**",
        f"**{e['impression_log']}**",
        f"**{e['feature_log']}**",
        f"**{e['candidate_log']}**",
        f"**{e['auction_log']}**",
        f"**{e['click_log']}**",
        f"**{e['conversion_log']}**",
        f"**{e['click_store']}**",
        f"**{e['view_store']}**",
        f"**{e['charges_per_s']:,.0f} charges per second**",
        f"**{e['headroom_ms']:.0f} ms**",
        f"**p{e['shard_percentile']:.2f}**",
        f"{e['accelerators']} A100s at an",
    ]
    assert_page_quotes(PAGE, *quoted)


def test_the_latency_table_and_diagram_carry_the_budget():
    e = acp.estimate_capacity()
    page = page_text(PAGE)
    for key, ms in e.items():
        if key.startswith("stage:"):
            assert f"{ms:.0f} ms |" in page, key
    assert f"{100 - e['headroom_ms']:.0f} ms allocated" in page
    assert f"{e['headroom_ms']:.0f} ms headroom" in page


def test_a_global_scale_only_adds_ads_below_the_same_winners():
    """One seed of the miniature itself: doubling every pCTR, or dividing the reserve
    by k, keeps the order; the lower effective reserve lets more ads in."""
    markets = acp.run_seed(0)["markets"]
    pairs = (("every pCTR x 2", acp.BASELINE), (acp.SCALED, "  " + CORRECTED))
    for scaled, base in pairs:
        before, after = markets[base], markets[scaled]
        filled = before.allocation >= 0
        assert (after.allocation[filled] == before.allocation[filled]).all(), scaled
        assert after.ads_shown > before.ads_shown
        # Bids equal values and prices can only fall: no advertiser loses surplus.
        assert after.surplus >= before.surplus - 1e-9
        assert after.welfare >= before.welfare - 1e-9  # no user cost: built in
