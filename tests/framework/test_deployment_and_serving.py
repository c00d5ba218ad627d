"""Serving numbers: budgets, tails, cost per stage, index memory, release, batch."""

from __future__ import annotations

import math
import re

import faiss
import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower

from snippets.common.estimation import peak_qps
from snippets.concepts.ann_index import bytes_per_vector
from snippets.framework import deployment_and_serving as ds
from snippets.framework import high_level_architecture as hla

PAGE = "framework/deployment-and-serving.md"
QPS = peak_qps(ds.DAU, ds.REQUESTS_PER_USER, ds.PEAK_RATIO)


def test_a_single_call_stage_has_the_lognormal_p99():
    stage = ds.ServingStage("ranker", budget_ms=30, median_ms=10)
    ms = ds.simulate_stage_ms(stage, 400_000, np.random.default_rng(0))
    expected = 10 * math.exp(0.3 * norm.ppf(0.99))  # lognormal quantile
    assert np.quantile(ms, 0.99) == pytest.approx(expected, rel=0.02)


def test_a_fan_out_stage_is_set_by_each_shards_higher_quantile():
    stage = ds.ServingStage("index", budget_ms=30, median_ms=5, calls=20)
    ms = ds.simulate_stage_ms(stage, 200_000, np.random.default_rng(1))
    # P(max of 20 <= x) = F(x)^20: the stage p99 is each shard's p99.95.
    shard_q = 0.99 ** (1 / 20)
    expected = 5 * math.exp(0.3 * norm.ppf(shard_q))
    assert np.quantile(ms, 0.99) == pytest.approx(expected, rel=0.02)
    assert np.quantile(ms, 0.99) > 5 * math.exp(0.3 * norm.ppf(0.99)) * 1.1


def test_a_stall_slows_a_whole_stage_on_the_given_share_of_requests():
    calm = np.full((200_000, 3), 2.0)
    stalled = ds.with_stalls(calm, np.random.default_rng(2), 0.05, stall_factor=8.0)
    assert set(np.unique(stalled)) == {2.0, 16.0}
    hit = stalled == 16.0
    # Each (request, stage) cell stalls on its own with probability 0.05 ...
    assert hit.mean() == pytest.approx(0.05, abs=0.002)
    # ... so a request of three stages meets at least one stall 1 - 0.95^3 of the time.
    assert hit.any(axis=1).mean() == pytest.approx(1 - 0.95**3, abs=0.003)


def test_p99s_do_not_add_in_either_direction():
    budgets = [s.budget_ms for s in ds.STAGES]
    for seed in (3, 4, 5):
        calm = ds.trace_requests(ds.STAGES, 100_000, seed)
        stalled = ds.with_stalls(
            calm, np.random.default_rng(seed), ds.STALL_SHARE, ds.STALL_FACTOR
        )
        for traced in (calm, stalled):
            assert (np.quantile(traced, 0.99, axis=0) <= budgets).all()
        assert (
            np.quantile(calm.sum(axis=1), 0.99) < np.quantile(calm, 0.99, axis=0).sum()
        )
        sum_p99 = np.quantile(stalled, 0.99, axis=0).sum()
        assert np.quantile(stalled.sum(axis=1), 0.99) > sum_p99 + 5


def test_stalls_together_strike_every_stage_of_the_same_requests():
    calm = np.full((200_000, 4), 2.0)
    slow = ds.with_stalls(calm, np.random.default_rng(7), 0.05, 8.0, together=True)
    hit = slow == 16.0
    # One draw per request: a request's stages stall all together or not at all.
    assert (hit.all(axis=1) == hit.any(axis=1)).all()
    assert hit.any(axis=1).mean() == pytest.approx(0.05, abs=0.002)


def test_stalls_together_move_the_request_p99_only_above_one_percent():
    budgets = np.array([s.budget_ms for s in ds.STAGES])
    calm = ds.trace_requests(ds.STAGES, 100_000, 3)
    rng = np.random.default_rng(3)
    rare = ds.with_stalls(calm, rng, 0.004, ds.STALL_FACTOR, together=True)
    # Under 1% of requests: neither the request's p99 nor any stage's moves much.
    assert np.quantile(rare.sum(axis=1), 0.99) < 1.1 * np.quantile(
        calm.sum(axis=1), 0.99
    )
    assert (np.quantile(rare, 0.99, axis=0) <= budgets).all()
    common = ds.with_stalls(calm, rng, 0.02, ds.STALL_FACTOR, together=True)
    stage_p99 = np.quantile(common, 0.99, axis=0)
    # Over 1%: the request's p99 is set by stalls, and every stage's p99 shows them.
    assert (stage_p99 > budgets).all()
    assert np.quantile(common.sum(axis=1), 0.99) > 2 * ds.SLO_P99_MS


def test_timeouts_cap_each_stage_and_count_degraded_requests():
    traced = np.array([[1.0, 2.0], [5.0, 1.0], [1.0, 9.0], [6.0, 9.0]])
    total, degraded = ds.with_timeouts(traced, [4.0, 3.0])
    np.testing.assert_allclose(total, [3.0, 5.0, 4.0, 7.0])
    assert degraded == 0.75
    with pytest.raises(ValueError, match="one column per timeout"):
        ds.with_timeouts(traced, [4.0])


def test_the_budget_table_holds_every_stage_inside_the_headroom():
    names = [s.name for s in ds.STAGES]
    # A feature fetch before each ranker, not only before the heavy one.
    for ranker in ("light ranker", "heavy ranker"):
        fetch = next(i for i, n in enumerate(names) if n.startswith(f"{ranker[:5]}"))
        assert "features" in names[fetch] and names[fetch + 1] == ranker
    assert sum(s.budget_ms for s in ds.STAGES) <= (1 - ds.HEADROOM) * ds.SLO_P99_MS
    timeouts = ds.TIMEOUT_SCALE * sum(s.budget_ms for s in ds.STAGES)
    assert timeouts <= ds.SLO_P99_MS + 1e-9  # a request cut everywhere still fits


def test_one_shard_count_for_retrieval_latency_and_index_memory():
    retrieval = next(s for s in ds.STAGES if s.name.startswith("retrieval"))
    copy = ds.CORPUS * ds.LAYOUTS[ds.SERVED]
    assert retrieval.calls == math.ceil(copy / ds.RAM_PER_SERVER)
    assert f"{retrieval.calls} shards" in retrieval.name
    assert copy / retrieval.calls <= ds.RAM_PER_SERVER  # a shard fits its host


def test_the_served_fleet_cannot_hold_two_versions_in_three_shards():
    out = module_output("snippets.framework.deployment_and_serving")
    hosts = 579  # the scan's zoned fleet: 23.1 TB/s at 60% load, any 2 of 3 zones
    retrieval = ds.serving_fleets(QPS, 4 * ds.DIM)[0]
    assert retrieval.machines(0.6, 3) == hosts
    # Independent arithmetic: 193 copies of 1e9 x 1,032 B on hosts of 512 GB.
    copies = hosts // math.ceil(1e9 * 1032 / 512e9)
    held, ram = copies * 1e9 * 1032, hosts * 512e9
    assert copies == 193 and held < ram < 2 * held  # the old version does not fit
    assert f"{held / 1e12:.1f} TB of its {ram / 1e12:.1f} TB RAM" in out
    assert f"with the old version, {2 * held / 1e12:.1f} TB" in out
    # Both versions in one copy: 2 x 1,032 GB over 512 GB hosts, 5 shards a copy.
    wide = math.ceil(2 * 1e9 * 1032 / 512e9)
    assert wide == 5 and 2 * 1e9 * 1032 / wide <= 512e9
    assert f"{hosts // wide} copies of {wide} shards" in out
    # P(max of 5 <= x) = F(x)^5 = 0.99: each shard's 0.99 ** (1/5) quantile.
    assert (
        f"its p{100 * 0.99 ** (1 / 5):.2f}, not its p{100 * 0.99 ** (1 / 3):.2f}" in out
    )


def test_feature_reads_count_both_rankers_candidates():
    reads = ds.feature_reads(QPS)
    assert reads["light ranker"] == pytest.approx((QPS * 10_000, QPS * 10_000 * 200))
    assert reads["heavy ranker"] == pytest.approx((QPS * 500 * 2, QPS * 500 * 600))
    # The architecture page counts the same light-ranker rows a second.
    assert reads["light ranker"][0] == pytest.approx(231_481_481, abs=1)


def test_each_stage_is_sized_by_its_bottleneck_like_the_architecture_page():
    fleets = {f.name: f for f in ds.serving_fleets(QPS, 4 * ds.DIM)}
    architecture = {s.name: hla.stage_cost(s, QPS).machines for s in hla.FUNNEL}
    # Flat out, the roofline arithmetic of the architecture page gives the same fleets.
    retrieval = next(v for k, v in architecture.items() if k.startswith("retrieval"))
    assert fleets["retrieval, IVF scan"].machines() == retrieval
    assert fleets["heavy ranker"].machines() == architecture["heavy ranker"]
    assert fleets["light ranker"].machines() == architecture["light ranker"]
    rows = sum(r for r, _ in ds.feature_reads(QPS).values())
    assert fleets["feature store"].machines() == math.ceil(
        rows / ds.FETCH_ROWS_PER_NODE
    )


@pytest.mark.parametrize(
    "name", ["retrieval, IVF scan", "heavy ranker", "feature store"]
)
def test_a_zoned_fleet_carries_the_peak_at_target_load_after_losing_a_zone(name):
    fleet = next(f for f in ds.serving_fleets(QPS, 4 * ds.DIM) if f.name == name)
    machines = fleet.machines(0.6, zones=3)
    assert machines % 3 == 0
    survivors = machines * 2 / 3
    assert survivors * fleet.per_machine * 0.6 >= fleet.demand
    assert (survivors - 2) * fleet.per_machine * 0.6 < fleet.demand  # not oversized
    assert fleet.dollars_per_day(0.6, 3) == machines * fleet.dollars_per_hour * 24


@pytest.mark.parametrize(
    ("rate", "n_t", "n_c"),
    [(0.001, 416_667, 41_250_000), (0.02, 1e6, 99e6), (0.1, 5e3, 5e3)],
)
def test_detectable_change_matches_statsmodels(rate, n_t, n_c):
    sd = math.sqrt(rate * (1 - rate))
    effect = NormalIndPower().solve_power(
        effect_size=None, nobs1=n_t, alpha=0.05, power=0.8, ratio=n_c / n_t
    )
    assert ds.detectable_change(rate, n_t, n_c) == pytest.approx(
        effect * sd / rate, rel=1e-3
    )


def test_a_small_canary_sees_coarser_changes_than_an_even_split():
    n = 1e8
    canary = ds.detectable_change(0.02, 0.01 * n, 0.99 * n)
    even = ds.detectable_change(0.02, 0.5 * n, 0.5 * n)
    # sqrt((1/0.01 + 1/0.99) / (1/0.5 + 1/0.5)): about 5x coarser.
    assert canary / even == pytest.approx(math.sqrt((100 + 1 / 0.99) / 4))


def test_a_best_effort_shadow_is_sized_at_target_load_with_no_spare_zone():
    heavy = QPS * 500 * 2e7
    # 2.31e14 FLOP/s over 1e13 per accelerator at 60% load: 38.6, so 39.
    assert ds.shadow_cost(1.0, heavy, 2e7, 1e13, 0.6) == (39, 2e7)
    assert ds.shadow_cost(0.1, heavy, 2e7, 1e13, 0.6) == (4, pytest.approx(2e6))
    with pytest.raises(ValueError, match="share"):
        ds.shadow_cost(0.0, heavy, 2e7, 1e13, 0.6)


@pytest.mark.parametrize(("dim", "m"), [(32, 16), (256, 32)])  # 256, 32: the page's
def test_hnsw_memory_formula_matches_faiss(dim, m):
    vectors = np.random.default_rng(0).standard_normal((5_000, dim)).astype("float32")
    index = faiss.IndexHNSWFlat(dim, m)
    index.add(vectors)
    measured = bytes_per_vector(index)  # serialised size / vectors
    # FAISS keeps no external ids here; the formula's upper-layer slack is small.
    formula = ds.hnsw_bytes_per_item(dim, m, id_bytes=0)
    assert formula <= measured <= 1.2 * formula


def test_ivf_flat_memory_formula_matches_faiss():
    dim = 64
    vectors = np.random.default_rng(1).standard_normal((20_000, dim)).astype("float32")
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, 16)
    index.train(vectors[:2_000])
    index.add(vectors)
    measured = bytes_per_vector(index)  # vectors, int64 ids, a few centroids
    formula = ds.ivf_bytes_per_item(4 * dim, id_bytes=8)
    assert formula <= measured <= 1.02 * formula


def test_ivf_memory_is_vector_id_and_optional_copy():
    assert ds.ivf_bytes_per_item(64) == 72
    assert ds.ivf_bytes_per_item(64, rescore_dim=256) == 72 + 1024
    assert ds.LAYOUTS[ds.SERVED] == 4 * 256 + 8


def test_batch_and_online_cost_the_same_at_the_break_even_share():
    args = dict(
        accounts=1e8,
        requests_per_active=10,
        flop_per_scoring=1e10,
        accelerator_flops=1e13,
        peak_ratio=2.0,
        utilisation=0.6,
        zones=3,
    )
    probe = ds.batch_vs_online(active_share=0.5, **args)
    even = ds.batch_vs_online(active_share=probe.break_even_active_share, **args)
    assert even.online_provisioned_hours == pytest.approx(even.batch_hours)
    below = ds.batch_vs_online(active_share=0.01, **args)
    assert below.online_provisioned_hours < below.batch_hours
    # 1e8 accounts x 1e10 FLOP at 1e13 FLOP/s: 1e5 s of one accelerator.
    assert probe.batch_hours == pytest.approx(1e5 / 3600)
    # Online work x peak 2 / load 0.6 x 3/2 for the spare zone.
    assert probe.online_provisioned_hours == pytest.approx(
        probe.online_work_hours * 2 / 0.6 * 1.5
    )


def test_the_batch_scenario_is_the_pages_daily_users_and_heavy_fleet():
    assert pytest.approx(ds.DAU) == ds.ACCOUNTS * ds.ACTIVE_SHARE
    candidates, flop = ds.MODELS["heavy ranker"]
    cost = ds.batch_vs_online(
        ds.ACCOUNTS,
        ds.ACTIVE_SHARE,
        ds.REQUESTS_PER_USER,
        candidates * flop,
        ds.ACCELERATOR.flops_per_second,
        ds.PEAK_RATIO,
        ds.UTILISATION,
        ds.ZONES,
    )
    heavy = next(f for f in ds.serving_fleets(QPS, 4) if f.name == "heavy ranker")
    # Provisioned hours a day are the zoned heavy-ranker fleet, before rounding up.
    fleet = heavy.machines(ds.UTILISATION, ds.ZONES)
    assert fleet - ds.ZONES < cost.online_provisioned_hours / 24 <= fleet


def test_bad_input_raises_a_clear_error():
    with pytest.raises(ValueError, match="median_ms < budget_ms"):
        ds.ServingStage("x", budget_ms=5, median_ms=6)
    with pytest.raises(TypeError, match="calls must be an int"):
        ds.ServingStage("x", budget_ms=5, median_ms=1, calls=2.0)
    with pytest.raises(ValueError, match="at least 1"):
        ds.ServingStage("x", budget_ms=5, median_ms=1, calls=0)
    with pytest.raises(ValueError, match="stages is empty"):
        ds.trace_requests([], 10, 0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="stall_share"):
        ds.with_stalls(np.ones((2, 2)), rng, stall_share=1.0)
    with pytest.raises(ValueError, match="baseline_rate"):
        ds.detectable_change(0.0, 100, 100)
    with pytest.raises(ValueError, match="at least 1"):
        ds.detectable_change(0.1, 0, 100)
    with pytest.raises(TypeError, match="must be a number"):
        ds.detectable_change("0.1", 100, 100)
    with pytest.raises(ValueError, match="dim and m"):
        ds.hnsw_bytes_per_item(0, 16)
    with pytest.raises(ValueError, match="vector_bytes"):
        ds.ivf_bytes_per_item(0)
    with pytest.raises(ValueError, match="utilisation"):
        ds.batch_vs_online(1e6, 0.3, 10, 1e9, 1e13, 2.0, utilisation=1.5)
    with pytest.raises(ValueError, match="active_share"):
        ds.batch_vs_online(1e6, 1.3, 10, 1e9, 1e13, 2.0, 0.6)
    with pytest.raises(ValueError, match="zones"):
        ds.batch_vs_online(1e6, 0.3, 10, 1e9, 1e13, 2.0, 0.6, zones=0)
    with pytest.raises(ValueError, match="demand"):
        ds.StageFleet("x", "FLOPs", 0.0, 1e13, 2.0).machines()


def _number(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match[1]


def _money(text: str) -> float:
    return float(text.replace(",", ""))


def test_page_quotes_the_numbers_the_code_prints():
    out = module_output("snippets.framework.deployment_and_serving")
    calm_sum, calm = re.search(r"\nno stalls +([\d.]+) ms +([\d.]+) ms", out).groups()
    stalled_sum, stalled = re.search(
        r"of requests \(8x\) +([\d.]+) ms +([\d.]+) ms", out
    ).groups()
    assert float(calm) < float(calm_sum) and float(stalled) > float(stalled_sum)
    # The page's "understated it by N ms" is the gap between two printed numbers.
    gap = f"{float(stalled) - float(stalled_sum):.0f} ms"
    quoted = [f"{x} ms" for x in (calm_sum, calm, stalled_sum, stalled)] + [gap]
    # The self-check: the stalled p99 against the budgets and the headroom.
    budgets = float(_number(r"sum of budgets (\d+) ms", out))
    quoted += [f"{budgets:.0f} ms of", f"{float(stalled) - budgets:.1f} ms of the"]
    together = re.findall(
        r"every stage stalls at once on ([\d.]+%) +([\d.]+) ms +([\d.]+) ms\n"
        r"  stage p99s over their budget: (\d+ of \d+)",
        out,
    )
    (rare, _, rare_traced, rare_over), (common, summed, traced, over) = together
    assert rare_over.startswith("0 ") and float(rare_traced) < float(stalled_sum)
    assert float(traced) > float(summed) * 0.9
    quoted += [f"On {rare}", f"{rare_traced} ms", f"on {common}", f"{traced} ms"]
    quoted += [f"{over} now over budget", f"{summed} ms"]
    quoted += [
        _number(r"([\d.]+%) of requests meet a stall", out),
        _number(r"stage budgets may use (\d+%)", out),
        _number(r"sum of budgets (\d+ ms)", out),
        _number(r"unallocated (\d+ ms)", out),
        _number(r"timeouts at budget x ([\d.]+)", out),
        _number(r"\(sum (\d+ ms)\)", out),
        _number(r"\): p99 ([\d.]+ ms)", out),
        _number(r"ms, ([\d.]+%) of requests get a fallback", out),
        _number(r"retrieval, 3 shards .* its (p[\d.]+)", out),
        _number(r"heavy-ranker features, 16 shards .* its (p[\d.]+)", out),
    ]
    # The spread over seeds, as "low–high" with an en dash in the prose.
    for pattern in (
        r"stalls: traced p99 ([\d.]+-[\d.]+) ms",
        r"stalls: traced p99 .*sum of stage p99s ([\d.]+-[\d.]+) ms",
        r"no stalls: traced p99 ([\d.]+-[\d.]+) ms",
        r"no stalls: .*sum of stage p99s ([\d.]+-[\d.]+) ms",
        r"timeouts: p99 ([\d.]+-[\d.]+) ms",
        r"fallbacks ([\d.]+%-[\d.]+%)",
    ):
        quoted.append(_number(pattern, out).replace("-", "–"))
    light = re.search(
        r"light ranker: [\d,]+ x 1 \((\d+ B)\): ([\d.]+M) .*, ([\d.]+ GB/s)", out
    )
    heavy = re.search(r"heavy ranker: .*: ([\d.]+M) row reads/s, ([\d.]+ GB/s)", out)
    quoted += [*light.groups(), *heavy.groups()]
    quoted += [_number(r"for every user: (\d+%) of the reads", out)]
    quoted += [_number(r"Cost at ([\d,]+) peak QPS", out)]
    rows = {}
    for name in (
        "retrieval, IVF scan",
        "light ranker",
        "heavy ranker",
        "feature store",
    ):
        cells = re.search(
            rf"\n{name} +(?:bandwidth|FLOPs|row reads) +([\d.e+]+(?: TB|M)?)"
            r" +([\d,]+) +([\d,]+) +([\d,]+) +([\d,]+)",
            out,
        )
        assert cells, name
        rows[name] = cells.groups()
    demand, flat, load, zoned, dollars = rows["retrieval, IVF scan"]
    quoted += [f"{demand}/s", f"{flat} hosts", f"{zoned} hosts", f"${dollars}"]
    demand, flat, load, zoned, dollars = rows["heavy ranker"]
    quoted += [f"needs {flat} flat out", f"needs {load} accelerators", f", {zoned}."]
    quoted += [f"light ranker {rows['light ranker'][1]}"]
    demand, flat, load, zoned, dollars = rows["feature store"]
    quoted += [f"{demand} a second", f"{flat} hosts flat out", f"(${dollars})"]
    rankers = _money(rows["light ranker"][4]) + _money(rows["heavy ranker"][4])
    quoted += [f"${rankers:,.0f}"]
    total = re.search(r"\ntotal +[\d,]+ +[\d,]+ +([\d,]+) +([\d,]+)", out)
    quoted += [f"{total[1]} machines", f"${total[2]} a day"]
    quoted += [_number(r"(\$[\d.]+) per 1,000 requests", out)]
    pq = re.search(r"PQ codes instead: (\d+) hosts, (\$[\d,]+) a day", out)
    quoted += [f"{pq[1]} hosts, {pq[2]} a day"]
    for name in (
        "IVF, float32",
        "HNSW, float32",
        "IVF-PQ, 64 B codes",
        "IVF-PQ \\+ float32",
    ):
        size = r"([\d.]+ [GT]B)"
        row = re.search(rf"{name}.*?([\d,]+) +{size} +(\d+) +{size} +{size}", out)
        assert row, name
        per_item, copy, shards, _, doubled = row.groups()
        quoted += [copy]
        if not name.startswith("IVF-PQ \\+"):
            quoted += [f"{per_item} bytes", doubled]
        if "float32" in name:
            quoted += [f"{shards} hosts"]
    served = re.search(r"served: (\d+) shards of ([\d.]+ GB) .*'s (\d+) hosts", out)
    quoted += [f"{served[1]} shards of {served[2]}", f"{served[3]} hosts"]
    quoted += [_number(r"hold about (\d+ copies)", out)]
    old = re.search(
        r"kept loaded: ([\d.]+ GB) a shard.*host's ([\d.]+ GB): (\d+) shards", out
    )
    quoted += [old[1], old[2], f"{old[3]} shards"]
    held = re.search(
        r"holds\n +([\d.]+ TB) of its ([\d.]+ TB) RAM; "
        r"with the old version, ([\d.]+ TB)",
        out,
    )
    rollout = re.search(
        r"rollout: (\d+ copies) .*\n.*its (p[\d.]+), not its (p[\d.]+)", out
    )
    assert held and rollout
    quoted += [*held.groups(), *rollout.groups()]
    user = re.search(
        r"once a request:\n +([\d,]+ reads/s), ([\d.]+%) of the reads", out
    )
    quoted += [*user.groups()]
    shadow_heavy = re.search(
        r"new heavy ranker: +\+(\d+) / \+(\d+) accelerators, \+([\d.]+M) / \+([\d.]+M)",
        out,
    )
    shadow_both = re.search(
        r"new light \+ heavy rankers: +\+(\d+) / \+(\d+) accelerators, "
        r"\+([\d.]+M) / \+([\d.]+M)",
        out,
    )
    quoted += [
        f"needs {shadow_heavy[1]} accelerators",
        f"{shadow_heavy[3]} feature row reads/s",
        f"+{shadow_heavy[2]} accelerators and +{shadow_heavy[4]} reads/s",
        f"needs {shadow_both[1]} and {shadow_both[3]} reads/s",
        f"+{shadow_both[2]} and +{shadow_both[4]}",
    ]
    errors = re.search(
        r"errors, requests, 1 hour +([\d.]+%) +\+([\d.]+%) +\+([\d.]+%)", out
    )
    conversion = re.search(
        r"conversion, users, 1 day +([\d.]+%) +\+([\d.]+%) +\+([\d.]+%)", out
    )
    quoted += [errors[1], errors[2], conversion[2], conversion[3]]
    quoted += [
        _number(r"batch vs online: (\d+M) accounts", out),
        _number(r"batch: ([\d.]+) accelerator-hours", out),
        _number(r"online: ([\d.]+) accelerator-hours", out),
        _number(r"a day, ([\d,.]+) provisioned", out),
        _number(r"while over (\d+%) are active", out),
        _number(r"stores ([\d.]+ GB) of top-100", out),
    ]
    assert_page_quotes(PAGE, *quoted)
