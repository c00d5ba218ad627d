"""Ad click prediction and ranking in miniature: a hashed-cross CTR model, then a
generalised second-price auction run on its pCTR.

A synthetic ad world (seeded): ads in categories with a true value per click, users in
segments whose taste for a category is an interaction no single feature carries, and
slots with a position effect. Logistic regressions on hashed one-hot and cross features
are trained on a random exploration slice and scored by normalised entropy and
calibration. The same requests and candidate ads are then auctioned with each model's
pCTR, with the true CTR, and with deliberately miscalibrated pCTRs; the true CTR decides
the clicks. Five seeds, paired differences with a 95% interval.

Run it: ``python -m snippets.problems.ad_click_prediction``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)
from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.calibration import (
    correct_downsampled,
    expected_calibration_error,
)
from snippets.concepts.classification_metrics import roc_auc
from snippets.concepts.generative_ai import A100_80GB
from snippets.framework.cost import CPU, HOURS_PER_MONTH, TRAINER
from snippets.problems.ad_click_prediction_auction import MarketOutcome, run_market
from snippets.problems.ad_click_prediction_model import (
    CROSSES,
    FIELDS,
    N_BUCKETS,
    AdWorld,
    assemble,
    calibration_ratio,
    exploration_log,
    fit_ctr_model,
    hash_group,
    make_world,
    normalised_entropy,
    sample_contexts,
    true_ctr,
)

SEEDS = range(5)
N_TRAIN, N_TEST = 80_000, 100_000
N_REQUESTS, N_CANDIDATES = 5_000, 8
RESERVE = 0.02  # $ of expected value per impression (bid x pCTR), an assumption
NEGATIVE_RATE = 0.1  # share of non-clicks kept when downsampling
INFLATED_CATEGORY = 0  # the advertiser segment whose pCTR a bug doubles
BASELINE = "hashed LR, crosses"
SCALED = "corrected, reserve / k"  # k: the raw model's mean inflation
CORES_PER_HOST = 16  # the c7i.8xlarge that snippets.framework.cost prices: 32 vCPUs


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Ad requests, items scored, fleets and their monthly bill, memory, log
    streams and the latency budget."""
    dau, requests_per_user = 500e6, 10.0  # assumed: ad auctions a user triggers a day
    qps = peak_qps(dau, requests_per_user, peak_to_average=2.0)
    auctions = dau * requests_per_user  # a day
    eligible, heavy_ranked, slots = 5_000, 300, 3  # per request, assumed
    targeting_cpu_ms, light_us_per_score = 2.0, 1.0  # one core, assumed
    heavy_flops_per_ad, utilisation = 100e6, 0.3  # share of the A100's peak, assumed
    sparse_ids_per_ad, crosses_per_ad = 50, 10  # embedding rows an ad reads, assumed
    lookups_per_shard_host = 5e6  # row reads a second one shard host serves, assumed
    active_ads, ad_bytes, campaigns = 10e6, 1_000, 1e6  # assumed
    # Ad ANN index: 64 float16 per ad, plus HNSW's layer-0 links (2M ids, M = 16).
    index_bytes = active_ads * (64 * 2 + 2 * 16 * 4)
    embedding_rows, row_bytes, embedding_shards = 1e9, 64 * 2, 4  # float16, assumed
    ctr, cvr, feature_bytes = 0.01, 0.05, 2_000  # assumed
    stages_ms = {  # allocations of a 100 ms server-side p99; not stage p99s
        "request, user features": 10,
        "targeting and retrieval": 15,
        "light ranker (5,000 ads)": 10,
        "heavy pCTR/pCVR model (300 ads)": 25,
        "auction, pacing, policy": 5,
    }
    # Fleets at full load, one zone: a floor. CPU hosts and A100 hosts are priced
    # as the deployment page prices them (AWS on demand: c7i.8xlarge, p4d.24xlarge).
    targeting_cores = servers_needed(qps, 1e3 / targeting_cpu_ms)
    light_cores = servers_needed(qps * eligible, 1e6 / light_us_per_score)
    heavy_per_s = qps * heavy_ranked
    heavy_flops_per_s = heavy_per_s * heavy_flops_per_ad
    accelerators = servers_needed(heavy_flops_per_s, A100_80GB.peak_flops, utilisation)
    a100_per_host = round(TRAINER.peak_flops / A100_80GB.peak_flops)  # 8
    # Every candidate's user x ad crosses are rows of the sharded user-side table.
    cross_lookups = heavy_per_s * crosses_per_ad
    replicas = math.ceil(
        servers_needed(cross_lookups, lookups_per_shard_host) / embedding_shards
    )
    cpu_hour, a100_host_hour = CPU.dollars_per_hour, TRAINER.dollars_per_hour
    hourly = {  # machines x $ an hour
        "targeting + ANN": servers_needed(targeting_cores, CORES_PER_HOST) * cpu_hour,
        "light ranker": servers_needed(light_cores, CORES_PER_HOST) * cpu_hour,
        "heavy model": servers_needed(accelerators, a100_per_host) * a100_host_hour,
        "embedding shards": replicas * embedding_shards * cpu_hour,
    }
    monthly = {stage: dollars * HOURS_PER_MONTH for stage, dollars in hourly.items()}
    cpu_stages = monthly["targeting + ANN"] + monthly["light ranker"]
    a100_month = a100_host_hour / a100_per_host * HOURS_PER_MONTH
    sustained_a100 = A100_80GB.peak_flops * utilisation
    heavy_ms = 1e3 * heavy_ranked * heavy_flops_per_ad / sustained_a100  # a request
    day = 86_400
    requests_a_month = qps / 2 * day * HOURS_PER_MONTH / 24  # at the mean rate
    # Below this many FLOPs an ad, reading its embedding rows from HBM takes longer
    # than the arithmetic: the A100's FLOPs per byte times the bytes an ad reads.
    ridge = A100_80GB.peak_flops / A100_80GB.bandwidth
    impressions = auctions * slots  # every slot filled: an upper bound
    clicks = impressions * ctr
    return {
        "peak_qps": qps,
        "index_bytes": human_bytes(index_bytes),
        "targeting_cores": targeting_cores,
        "light_per_s": qps * eligible,
        "light_cores": light_cores,
        "heavy_per_s": heavy_per_s,
        "accelerators": accelerators,
        "a100_hosts": servers_needed(accelerators, a100_per_host),
        "compute_bound_above": ridge * sparse_ids_per_ad * row_bytes,
        "heavy_ms_per_request": heavy_ms,
        "cross_lookups_per_s": cross_lookups,
        "cross_bytes_per_s": human_bytes(cross_lookups * row_bytes),
        "shard_replicas": replicas,
        "shard_hosts": replicas * embedding_shards,
        **{f"monthly:{stage}": dollars for stage, dollars in monthly.items()},
        "monthly_total": sum(monthly.values()),
        "per_million_requests": sum(monthly.values()) / requests_a_month * 1e6,
        "heavy_over_cpu": monthly["heavy model"] / cpu_stages,
        # FLOPs an ad at which the heavy model's A100s would cost the CPU stages' bill.
        "break_even_flops": cpu_stages / a100_month * sustained_a100 / heavy_per_s,
        # The ad corpus is small: every ranker host keeps all ad features in RAM,
        # so the only feature-store read is the user's row, once per request.
        "ad_features_per_host": human_bytes(storage_bytes(active_ads, ad_bytes)),
        "pacing_state_per_host": human_bytes(storage_bytes(campaigns, 200)),
        "embedding_serving": human_bytes(storage_bytes(embedding_rows, row_bytes)),
        "embedding_training": human_bytes(  # float32 weights + an Adagrad accumulator
            storage_bytes(embedding_rows, row_bytes * 4)
        ),
        "embedding_shards": embedding_shards,
        "shard_percentile": 100 * 0.99 ** (1 / embedding_shards),
        "impressions_per_day": impressions,
        "impression_log": human_bytes(storage_bytes(impressions, 200)),
        "viewability_log": human_bytes(storage_bytes(impressions, 100)),  # a beacon
        "hide_log": human_bytes(storage_bytes(impressions * 0.001, 300)),  # 0.1% hidden
        "feature_log": human_bytes(storage_bytes(impressions, feature_bytes)),
        "candidate_log": human_bytes(  # 1% of auctions, all 300 heavy candidates
            storage_bytes(auctions * 0.01 * heavy_ranked, feature_bytes)
        ),
        "eligible_sample_log": human_bytes(  # and 20 random ads of the 5,000 eligible
            storage_bytes(auctions * 0.01 * 20, feature_bytes)
        ),
        "auction_log": human_bytes(storage_bytes(auctions * 20, 40)),  # top 20
        "clicks_per_day": clicks,
        "click_log": human_bytes(storage_bytes(clicks, 300)),
        "conversions_per_day": clicks * cvr,
        "conversion_log": human_bytes(storage_bytes(clicks * cvr, 300)),
        "spend_ledger": human_bytes(storage_bytes(clicks, 200)),  # an entry a charge
        "pacing_log": human_bytes(storage_bytes(campaigns * day / 10, 100)),  # 10 s
        # Attribution joins a conversion to its click (7 days) or view (1 day).
        "click_store": human_bytes(storage_bytes(clicks * 7, 300, replicas=3)),
        "view_store": human_bytes(storage_bytes(impressions, 100, replicas=3)),
        "charges_per_s": clicks / day * 2.0,  # CPC: a charge per click, at peak
        "budget_ms": 100.0,
        "headroom_ms": remaining_budget_ms(100.0, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


def print_estimate() -> None:
    e = estimate_capacity()
    money = {k.split(":", 1)[1]: v for k, v in e.items() if k.startswith("monthly:")}
    bill = ", ".join(f"{stage} ${dollars:,.0f}" for stage, dollars in money.items())
    allocated = sum(ms for key, ms in e.items() if key.startswith("stage:"))
    lines = [
        f"peak ad requests a second: {e['peak_qps']:,.0f}, each one user-row read;"
        f" ad ANN index {e['index_bytes']}",
        f"targeting: {e['targeting_cores']} cores at 2 ms a request",
        f"light ranker: {e['light_per_s']:,.0f} scores a second, {e['light_cores']}"
        " cores at 1 us each",
        f"heavy model: {e['heavy_per_s']:,.0f} scores a second; at 100 MFLOP each and"
        f" 30% of peak, {e['accelerators']} A100s on {e['a100_hosts']} hosts,"
        f" {e['heavy_ms_per_request']:.2f} ms of one A100 a request; compute-bound"
        f" above {e['compute_bound_above'] / 1e6:.1f} MFLOP an ad",
        f"crosses: {e['cross_lookups_per_s']:,.0f} lookups a second (10 an ad),"
        f" {e['cross_bytes_per_s']} a second, {e['shard_hosts']} shard hosts"
        f" ({e['shard_replicas']} replicas x {e['embedding_shards']} shards)",
        f"a month, on demand, at full load: {bill}; total ${e['monthly_total']:,.0f},"
        f" ${e['per_million_requests']:.2f} a million requests; the heavy model"
        f" {e['heavy_over_cpu']:.1f}x the CPU stages, more than both together"
        f" above {e['break_even_flops'] / 1e6:.0f} MFLOP an ad",
        f"in memory: ad features {e['ad_features_per_host']} in every ranker host,"
        f" pacing state {e['pacing_state_per_host']} in every auction host; user"
        f" embeddings {e['embedding_serving']} in float16, {e['embedding_training']}"
        " in training",
        f"logs a day, before replication: impressions"
        f" ({e['impressions_per_day']:,.0f}) {e['impression_log']}, viewability"
        f" beacons {e['viewability_log']}, hides and reports {e['hide_log']},"
        f" features-as-served {e['feature_log']}, 300 candidates of 1% of auctions"
        f" {e['candidate_log']} and 20 random eligible ads {e['eligible_sample_log']},"
        f" auction records {e['auction_log']}, clicks ({e['clicks_per_day']:,.0f})"
        f" {e['click_log']}, spend ledger {e['spend_ledger']}, pacing decisions"
        f" {e['pacing_log']}, conversions ({e['conversions_per_day']:,.0f})"
        f" {e['conversion_log']}",
        f"attribution stores: clicks, 7 days x 3, {e['click_store']}; impressions,"
        f" 1 day x 3, {e['view_store']}",
        f"charges (clicks) a second at peak: {e['charges_per_s']:,.0f}",
        f"latency: {allocated:.0f} ms allocated to 5 stages, {e['headroom_ms']:.0f} ms"
        f" headroom of {e['budget_ms']:.0f} ms p99; user embeddings on"
        f" {e['embedding_shards']} shards: each must meet its allocation at"
        f" p{e['shard_percentile']:.2f}",
    ]
    print("Back-of-envelope (assumptions in estimate_capacity):")
    for line in lines:
        print(textwrap.fill(line, width=84, subsequent_indent="  "))


def auction_requests(world: AdWorld, rng: np.random.Generator) -> dict:
    """Requests with 8 distinct candidate ads each (as targeting would pass them)."""
    context = sample_contexts(world, N_REQUESTS, rng)
    n_ads = world.ad_category.size
    ads = np.argsort(rng.random((N_REQUESTS, n_ads)), axis=1)[:, :N_CANDIDATES]
    per_ad = {
        k: np.repeat(v[:, None], N_CANDIDATES, axis=1) for k, v in context.items()
    }
    truth = true_ctr(
        world, ads, per_ad["site"], per_ad["device"], per_ad["segment"], per_ad["noise"]
    )
    columns = {
        "ad": ads.ravel(),
        "category": world.ad_category[ads].ravel(),
        **{k: per_ad[k].ravel() for k in ("site", "device", "segment")},
        # Position is a training feature; at serving it is fixed to the top slot,
        # so pCTR is the ad's CTR in slot 1 and the slot's factor is applied after.
        "slot": np.zeros(ads.size, dtype=int),
    }
    return {"ads": ads, "columns": columns, "true_ctr": truth}


# Feature sets: the fields and crosses each model sees.
FEATURE_SETS = {
    "crosses": (FIELDS, CROSSES),
    "no crosses": (FIELDS, ()),
    "no slot": (tuple(f for f in FIELDS if f != "slot"), CROSSES),
}


def feature_matrices(columns: dict[str, np.ndarray]) -> dict[str, sparse.csr_matrix]:
    """Hash every field and cross once, then assemble each feature set from them."""
    groups = {(f,) for f in FIELDS} | set(CROSSES)
    hashed = {g: hash_group(columns, g, N_BUCKETS) for g in groups}
    return {
        name: assemble([hashed[(f,)] for f in fields] + [hashed[c] for c in crosses])
        for name, (fields, crosses) in FEATURE_SETS.items()
    }


# --8<-- [start:experiment]
def run_seed(seed: int) -> dict:
    """Train the models on one world, score them, and auction with each pCTR."""
    rng = np.random.default_rng(seed)
    world = make_world(rng)
    train, clicks = exploration_log(world, N_TRAIN, rng)
    test, test_clicks = exploration_log(world, N_TEST, rng)
    requests = auction_requests(world, rng)
    x_train, x_test, x_serve = (
        feature_matrices(c) for c in (train, test, requests["columns"])
    )
    background = float(clicks.mean())  # He et al.: the training set's CTR
    downsampled = fit_ctr_model(x_train["crosses"], clicks, NEGATIVE_RATE, rng)
    models = {  # name -> (model, feature set, correction of its output)
        BASELINE: (fit_ctr_model(x_train["crosses"], clicks), "crosses", None),
        "  without the crosses": (
            fit_ctr_model(x_train["no crosses"], clicks),
            "no crosses",
            None,
        ),
        "  without the slot feature": (
            fit_ctr_model(x_train["no slot"], clicks),
            "no slot",
            None,
        ),
        "  negatives kept at 10%": (downsampled, "crosses", None),
        "  downsampled, corrected": (
            downsampled,
            "crosses",
            lambda p: correct_downsampled(p, NEGATIVE_RATE),
        ),
    }
    shape = requests["ads"].shape
    scores, pctr = {}, {"true CTR": requests["true_ctr"]}
    top_slot = test["slot"] == 0
    raw: dict[tuple[int, str], tuple] = {}  # one prediction per (model, features)
    for name, (model, features, fix) in models.items():
        if (id(model), features) not in raw:
            p = model.predict(x_test[features])
            # A monotone correction keeps the order: the AUC is the raw model's.
            raw[id(model), features] = (p, model.predict(x_serve[features]),
                                        roc_auc(test_clicks, p))  # fmt: skip
        p, q, auc = raw[id(model), features]
        if fix is not None:
            p, q = fix(p), fix(q)
        top = p >= np.quantile(p, 0.9)
        scores[name] = {
            "NE": normalised_entropy(test_clicks, p, background),
            "ROC-AUC": auc,
            "ECE": expected_calibration_error(test_clicks, p, n_bins=50),
            "all": calibration_ratio(test_clicks, p),
            "slot 1": calibration_ratio(test_clicks[top_slot], p[top_slot]),
            "top 10%": calibration_ratio(test_clicks[top], p[top]),
        }
        pctr[name] = q.reshape(shape)
    base = pctr[BASELINE]
    inflated = world.ad_category[requests["ads"]] == INFLATED_CATEGORY
    pctr["every pCTR x 2"] = np.minimum(2 * base, 1.0)
    pctr["one category's pCTR x 2"] = np.where(
        inflated, np.minimum(2 * base, 1.0), base
    )
    # Ablation: the raw model's mean inflation k applied evenly, i.e. the corrected
    # pCTR against the reserve divided by k (the same ads at the same prices).
    corrected = pctr["  downsampled, corrected"]
    inflation = float(pctr["  negatives kept at 10%"].sum() / corrected.sum())
    reserves = {name: RESERVE for name in pctr} | {SCALED: RESERVE / inflation}
    pctr[SCALED] = corrected
    bids = world.value_per_click[requests["ads"]]  # bids held at value: assumption
    markets = {
        name: run_market(
            bids,
            p,
            requests["true_ctr"],
            bids,
            world.position_factor,
            reserves[name],
            segment=inflated,
        )
        for name, p in pctr.items()
    }
    return {
        "scores": scores,
        "markets": markets,
        "background": background,
        "inflation": inflation,
    }
    # --8<-- [end:experiment]


PER_1000 = 1_000 / N_REQUESTS
MARKET_METRICS: dict[str, Callable[[MarketOutcome], float]] = {
    "clicks": lambda o: o.clicks * PER_1000,
    "revenue, $": lambda o: o.revenue * PER_1000,
    "surplus, $": lambda o: o.surplus * PER_1000,
    "welfare, $": lambda o: o.welfare * PER_1000,
}
SEGMENT_METRICS: dict[str, Callable[[MarketOutcome], float]] = {
    "impressions": lambda o: o.segment_shown * PER_1000,
    "surplus, $": lambda o: o.segment_surplus * PER_1000,
    "the rest, $": lambda o: (o.surplus - o.segment_surplus) * PER_1000,
}


def changed_share(a: MarketOutcome, b: MarketOutcome) -> float:
    """Share of requests whose ads or their order differ between two runs."""
    return float(np.mean((a.allocation != b.allocation).any(axis=1)))


def interval(differences: list[float], decimals: int = 2) -> str:
    """'mean [low, high]' of paired differences, with 'tie' when it spans zero."""
    mean, low, high = paired_interval(differences)
    f = f"{{:+.{decimals}f}}"
    tie = " tie" if is_tie(low, high) else ""
    return f"{f.format(mean)} [{f.format(low)}, {f.format(high)}]{tie}"


def print_models(runs: list[dict]) -> None:
    names = list(runs[0]["scores"])
    columns = ("NE", "ROC-AUC", "ECE", "all", "slot 1", "top 10%")
    print(f"\nCTR models on the test impressions, mean of {len(runs)} seeds")
    print(f"{'':<49}pCTR / observed clicks")
    print(f"{'model':<28}{'NE':>7}{'ROC-AUC':>8}{'ECE':>7}{'all':>6}{'slot 1':>8}"
          f"{'top 10%':>9}")  # fmt: skip
    for name in names:
        v = {c: np.mean([r["scores"][name][c] for r in runs]) for c in columns}
        print(
            f"{name:<28}{v['NE']:>7.4f}{v['ROC-AUC']:>8.4f}{v['ECE']:>7.4f}"
            f"{v['all']:>6.2f}{v['slot 1']:>8.2f}{v['top 10%']:>9.2f}"
        )
    ne = [r["scores"][BASELINE]["NE"] for r in runs]
    print(f"NE of {BASELINE!r} over seeds: {min(ne):.4f}-{max(ne):.4f}")
    top = [r["scores"][BASELINE]["top 10%"] for r in runs]
    excess = interval([t - 1 for t in top], 3)
    print(f"its top 10% over seeds: {min(top):.2f}-{max(top):.2f}, minus 1: {excess}")


def print_markets(runs: list[dict]) -> None:
    print(f"\nAuctions per 1,000 requests, mean of {len(runs)} seeds; the true CTR"
          " decides clicks")  # fmt: skip
    print(f"{'pCTR used':<28}{'clicks':>7}{'revenue':>8}{'surplus':>8}{'welfare':>8}"
          f"{'shown':>6}{'reserve':>8}{'changed':>8}")  # fmt: skip
    for name in runs[0]["markets"]:
        outcomes = [r["markets"][name] for r in runs]
        m = {k: np.mean([f(o) for o in outcomes]) for k, f in MARKET_METRICS.items()}
        shown = np.mean([o.ads_shown for o in outcomes]) * PER_1000
        by_reserve = np.mean([o.reserve_priced / o.ads_shown for o in outcomes])
        changed = np.mean(
            [changed_share(r["markets"][name], r["markets"][BASELINE]) for r in runs]
        )
        print(
            f"{name.strip():<28}{m['clicks']:>7.1f}{m['revenue, $']:>8.2f}"
            f"{m['surplus, $']:>8.2f}{m['welfare, $']:>8.2f}"
            f"{shown:>6.0f}{by_reserve:>8.1%}{changed:>8.1%}"
        )
    k = [r["inflation"] for r in runs]
    print(f"k, the raw model's mean inflation (raw / corrected pCTR, summed): "
          f"{np.mean(k):.2f} ({min(k):.2f}-{max(k):.2f})")  # fmt: skip


def print_differences(runs: list[dict]) -> None:
    def paired(source: str, name: str, metric: Callable, base: str) -> list[float]:
        return [metric(r[source][name]) - metric(r[source][base]) for r in runs]

    def two_per_line(name: str, metrics: dict, base: str = BASELINE) -> None:
        cells = []
        for label, metric in metrics.items():
            decimals = 1 if label == "impressions" else 2
            change = interval(paired("markets", name, metric, base), decimals)
            cells.append(f"{label:<13}{change:<28}")
        for i in range(0, len(cells), 2):
            print("  " + " ".join(cells[i : i + 2]).rstrip())

    print(f"\nPaired differences over the {len(runs)} seeds: mean [95% interval]")
    print(f"normalised entropy, minus {BASELINE}:")
    for name in list(runs[0]["scores"])[1:]:
        ne = interval(paired("scores", name, lambda s: s["NE"], BASELINE), 4)
        print(f"  {name.strip():<28}{ne}")
    for name in runs[0]["markets"]:
        if name not in (BASELINE, SCALED):
            print(f"{name.strip()} minus {BASELINE}, per 1,000 requests:")
            two_per_line(name, MARKET_METRICS)
    print("one category's pCTR x 2: that category, then the rest, per 1,000 requests:")
    two_per_line("one category's pCTR x 2", SEGMENT_METRICS)
    # Uncorrected minus corrected, in two steps: an even k (only the reserve sees
    # it), then the uneven rest of the inflation (order and prices).
    corrected, raw = "  downsampled, corrected", "  negatives kept at 10%"
    for name, base in ((SCALED, corrected), (raw, SCALED)):
        print(f"{name.strip()} minus {base.strip()}, per 1,000 requests:")
        two_per_line(name, MARKET_METRICS, base)


def main() -> None:
    print_estimate()
    with threadpool_limits(1):
        runs = [run_seed(seed) for seed in SEEDS]
    ctr = [r["background"] for r in runs]
    print(
        f"\nMiniature, {len(runs)} seeds. Each world: 60 ads in 6 categories, 30"
        f" sites, 3 devices,\n20 user segments, 3 slots; {N_TRAIN:,} training and"
        f" {N_TEST:,} test impressions (a random\nad in a random slot, CTR"
        f" {min(ctr):.2%}-{max(ctr):.2%}); {N_REQUESTS:,} auctions of"
        f" {N_CANDIDATES} candidate ads,\nreserve ${RESERVE:.3f} of bid x pCTR"
        " per impression; bids equal values per click."
    )
    print_models(runs)
    print_markets(runs)
    print_differences(runs)


if __name__ == "__main__":
    main()
