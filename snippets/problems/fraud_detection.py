"""Real-time card fraud scoring in miniature: a backtest over several seeds.

A synthetic stream of card payments (seeded) with three kinds of fraud: bursts on
stolen cards, single card-not-present purchases, and an account-takeover ring that
starts midway. Velocity features are computed point-in-time, a logistic regression
and a GBDT are trained on an earlier window and tested on a later one, decision
policies are scored in dollars, and training on the labels a job could see on its
run day is compared with training on all of them. Every headline is a mean over
seeds with a 95% interval.

Run it: ``python -m snippets.problems.fraud_detection``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from threadpoolctl import threadpool_limits

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    storage_bytes,
)
from snippets.concepts.classification_metrics import (
    average_precision,
    bayes_threshold,
    cost_minimising_threshold,
    precision,
    recall,
    roc_auc,
)
from snippets.problems.fraud_detection_labels import (
    ATTACK,
    DAY,
    FRAUD_KINDS,
    SINGLE,
    Payments,
    reported_within,
    simulate_payments,
)
from snippets.problems.fraud_detection_scoring import (
    card_blocks,
    decision_outcome,
    fit_gbdt,
    fit_logistic,
    model_inputs,
    review_band,
    rule_score,
    velocity_features,
)


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Peak TPS, feature-store size, review capacity and the latency budget."""
    cards, payments_per_card_per_day = 50e6, 2.0  # assumed: a large issuer-processor
    payments_per_day = cards * payments_per_card_per_day
    tps = peak_qps(cards, payments_per_card_per_day, peak_to_average=3.0)
    # Per card: ~30 window counters and sums, last location, merchant/device sketches.
    card_state = storage_bytes(cards, bytes_per_item=1_000, replicas=3)
    # Training log: every authorisation with its feature vector, kept for a year.
    log_per_year = storage_bytes(payments_per_day * 365, 2_000)
    reviews_per_day = 2_000  # assumed: the analyst team's daily capacity
    stages_ms = {  # server-side p99 targets inside the issuer's authorisation
        "network and parsing": 5,
        "feature fetch (streaming + batch, in parallel)": 10,
        "rules": 2,
        "GBDT scoring": 5,
        "decision and logging": 3,
    }
    budget_ms = 50.0  # assumed: what the processor gives the fraud check
    return {
        "peak_tps": tps,
        "feature_reads": 3 * tps,  # card, merchant and device, one read each
        "card_state": human_bytes(card_state),
        "log_per_year": human_bytes(log_per_year),
        "reviews_per_day": reviews_per_day,
        "review_share": reviews_per_day / payments_per_day,
        "budget_ms": budget_ms,
        "headroom_ms": remaining_budget_ms(budget_ms, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


# --8<-- [start:backtest]
SEEDS = range(5)  # every headline is a mean over these worlds, with its interval
COST_FALSE_DECLINE, COST_REVIEW = 10.0, 4.0  # assumed, in dollars
REVIEW_DELAY_S = 3_600  # assumed: an analyst works a case within the hour
JOB_DAY = 75  # the training job runs when the training window closes


def backtest(
    log: Payments, features: dict[str, np.ndarray], review_share: float
) -> dict[str, float]:
    """Train on days 30-74, tune on 75-89, test on 90-119; one number per metric."""
    if not 0 <= review_share <= 0.01:
        raise ValueError(f"review_share must be in [0, 0.01], got {review_share}")
    y, day = log.is_fraud, log.time / DAY
    train, valid, test = (day >= 30) & (day < 75), (day >= 75) & (day < 90), day >= 90
    waited = train & (day < 45)  # old enough that most of its claims are in
    known = log.labels_known_at(JOB_DAY)
    X = model_inputs(log.amount, features)
    keep = [i for i, name in enumerate(["amount", *features]) if name != "new_merchant"]
    with threadpool_limits(limits=1):  # a busy 2-core box: extra threads only wait
        models = {
            "logistic regression": fit_logistic(X[train], y[train]),
            "GBDT": fit_gbdt(X[train], y[train]),
            "fresh": fit_gbdt(X[train], known[train]),
            "waited": fit_gbdt(X[waited], known[waited]),
        }
        no_new_merchant = fit_gbdt(X[train][:, keep], y[train])
        p = {name: m.predict_proba(X[test])[:, 1] for name, m in models.items()}
        p["GBDT without new_merchant"] = no_new_merchant.predict_proba(
            X[test][:, keep]
        )[:, 1]
        p_valid = models["GBDT"].predict_proba(X[valid])[:, 1]
    p["rules"] = rule_score({name: values[test] for name, values in features.items()})
    y_test, kind = y[test], log.fraud_kind[test]
    metrics = {"prevalence": y_test.mean(), "frauds": y_test.sum(), "n": y_test.size}
    for name in ("rules", "logistic regression", "GBDT", "GBDT without new_merchant"):
        metrics[f"PR-AUC {name}"] = average_precision(y_test, p[name])
        metrics[f"ROC-AUC {name}"] = roc_auc(y_test, p[name])

    # Decisions: the threshold is swept on validation; every policy sees the test.
    amount, p_gbdt = log.amount[test], p["GBDT"]
    cost_fn = log.amount[valid][y[valid] == 1].mean()  # missed fraud: its amount
    threshold, _ = cost_minimising_threshold(
        y[valid], p_valid, cost_fp=COST_FALSE_DECLINE, cost_fn=cost_fn
    )
    declined = p_gbdt >= threshold
    metrics |= {
        "threshold": threshold,
        "bayes": bayes_threshold(COST_FALSE_DECLINE, cost_fn),
    }
    policies = {
        "approve everything": (np.zeros(y_test.size, dtype=bool), None),
        "rules only": (p["rules"] == 1, None),
        "GBDT, p >= 0.5": (p_gbdt >= 0.5, None),
        "GBDT, p >= swept t": (declined, None),
        # Expected loss per payment: decline when p * amount > (1 - p) * c_fp.
        "GBDT, p*amount > c_fp": (
            p_gbdt * amount > (1 - p_gbdt) * COST_FALSE_DECLINE,
            None,
        ),
    }
    capacity = round(review_share * y_test.size)
    over_capacity = round(100 * review_share * y_test.size)
    for label, k, delay_s in (
        ("capacity", capacity, REVIEW_DELAY_S),
        ("100x capacity", over_capacity, REVIEW_DELAY_S),
        ("100x, instant", over_capacity, 0),  # the ablation of the delay
    ):
        band = review_band(p_gbdt, declined, k)
        blocked = card_blocks(log.card[test], log.time[test], y_test, band, delay_s)
        policies[f"  + review, {label}"] = (declined, (band, blocked))
    baseline = None
    for name, (decline, review) in policies.items():
        band, blocked = review if review else (None, None)
        out = decision_outcome(
            y_test, amount, decline, band, blocked, COST_FALSE_DECLINE, COST_REVIEW
        )
        baseline = out.cost if baseline is None else baseline
        for field in ("declined", "reviewed", "precision", "recall", "loss_bps"):
            metrics[f"{name}|{field}"] = getattr(out, field)
        metrics[f"{name}|saved"] = baseline - out.cost
    metrics |= {"review capacity": capacity, "review share": review_share}

    # Calibration in the large, and in the bucket around the threshold.
    near = (p_gbdt >= threshold / 2) & (p_gbdt < 2 * threshold)
    metrics |= {
        "calibration in the large": p_gbdt.mean() / y_test.mean(),
        "near: mean p": p_gbdt[near].mean(),
        "near: fraud rate": y_test[near].mean(),
    }
    # The same declines scored with the claims received when the test window closes.
    reported = log.labels_known_at(np.ceil(day.max()))[test]
    metrics |= {
        "precision true": precision(y_test, declined.astype(int)),
        "precision measured": precision(reported, declined.astype(int)),
        "recall true": recall(y_test, declined.astype(int)),
        "recall measured": recall(reported, declined.astype(int)),
    }

    # Delayed labels: what the training job could see on JOB_DAY.
    for name, rows, labels in (
        ("GBDT", train, y),
        ("fresh", train, known),
        ("waited", waited, known),
    ):
        ranked = np.zeros(y_test.size, dtype=bool)
        ranked[np.argsort(-p[name], kind="stable")[: round(0.01 * y_test.size)]] = True
        metrics |= {
            f"{name}|labelled": labels[rows].sum() / y[rows].sum(),
            f"{name}|PR-AUC": average_precision(y_test, p[name]),
            f"{name}|calibration": p[name].mean() / y_test.mean(),
            f"{name}|single": ranked[kind == SINGLE].mean(),
            f"{name}|attack": ranked[kind == ATTACK].mean(),
        }
    return metrics
    # --8<-- [end:backtest]


# --8<-- [start:demo]
def interval(values: ArrayLike) -> tuple[float, float]:
    """Mean over seeds and the half-width of its 95% t-interval."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise ValueError("an interval needs a 1-D array of at least two values")
    spread = values.std(ddof=1) / np.sqrt(values.size)
    return float(values.mean()), float(stats.t.ppf(0.975, values.size - 1) * spread)


def _cell(values: ArrayLike, digits: int = 3, money: bool = False) -> str:
    mean, half = interval(values)
    if money:
        return f"{mean:,.0f}±{half:,.0f}"
    return f"{mean:.{digits}f}±{half:.{digits}f}"


def _difference(label: str, a: ArrayLike, b: ArrayLike, money: bool = False) -> None:
    """A paired difference over seeds; a tie when its interval holds zero."""
    mean, half = interval(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    verdict = "tie" if abs(mean) <= half else ""
    value = f"{mean:+,.0f} ± {half:,.0f}" if money else f"{mean:+.3f} ± {half:.3f}"
    print(f"  {label:<44} {value:>15}  {verdict}".rstrip())


def print_estimates() -> dict[str, float | str]:
    """The back-of-envelope block of the page."""
    est = estimate_capacity()
    print("Back-of-envelope (assumptions in estimate_capacity):")
    print(f"  peak authorisations per second      {est['peak_tps']:>9,.0f}")
    print(f"  feature reads per second (3 keys)   {est['feature_reads']:>9,.0f}")
    print(f"  online card state, 3 replicas       {est['card_state']:>9}")
    print(f"  training log per year               {est['log_per_year']:>9}")
    print(
        f"  analyst reviews a day               {est['reviews_per_day']:>9,} "
        f"= {est['review_share']:.4%} of payments"
    )
    print(f"  latency budget {est['budget_ms']:.0f} ms, server-side, per stage:")
    for name, ms in est.items():
        if name.startswith("stage:"):
            print(f"    {name[6:]:<46} {ms:>3.0f} ms")
    headroom = "headroom for tail latency and retries"
    print(f"    {headroom:<46} {est['headroom_ms']:>3.0f} ms")
    return est


def print_stream(log: Payments, features: dict[str, np.ndarray]) -> None:
    """Seed 0: the stream, when its fraud is reported, and what the features see."""
    day = log.time / DAY
    print(
        f"\nSynthetic stream, seed 0: {log.time.size:,} payments on "
        f"{log.card.max() + 1:,} cards over {day.max():.0f} days; fraud "
        f"{log.is_fraud.mean():.2%};\nthe account-takeover ring starts on day "
        f"{day[log.fraud_kind == ATTACK].min():.0f}"
    )
    ages = [7, 14, 30, 45, 60, 90]
    print(
        f"{'fraud claim received within (days)':<35}" + "".join(f"{a:>6}" for a in ages)
    )
    for kind, shares in reported_within(log, ages).items():
        print(f"  {kind:<33}" + "".join(f"{share:>6.2f}" for share in shares))
    kinds = {"legit": 0, **FRAUD_KINDS}
    test = day >= 90
    print(
        "\nFeature means on the test window (days 90-119), seed 0\n"
        f"{'':<24}" + "".join(f"{name:>9}" for name in kinds)
    )
    for name, values in features.items():
        means = [values[test & (log.fraud_kind == k)].mean() for k in kinds.values()]
        print(f"  {name:<22}" + "".join(f"{m:>9.2f}" for m in means))


def print_ranking(runs: list[dict[str, float]]) -> None:
    """PR-AUC and ROC-AUC of each scorer, mean ± 95% interval over the seeds."""
    col = {key: [run[key] for run in runs] for key in runs[0]}
    print(
        f"\nRanking on the test window, {len(runs)} seeds, mean ± 95% interval\n"
        f"({np.mean(col['n']):,.0f} payments and {np.mean(col['frauds']):.0f} "
        "frauds a seed)"
    )
    print(f"{'model':<27} {'PR-AUC':>12} {'ROC-AUC':>12}")
    print(f"{'random (prevalence)':<27} {_cell(col['prevalence']):>12} {0.5:>12.3f}")
    for name in ("rules", "logistic regression", "GBDT", "GBDT without new_merchant"):
        print(
            f"{name:<27} {_cell(col[f'PR-AUC {name}']):>12} "
            f"{_cell(col[f'ROC-AUC {name}']):>12}"
        )
    print("Paired differences over seeds (a tie when the interval holds zero):")
    gbdt, logistic = col["PR-AUC GBDT"], col["PR-AUC logistic regression"]
    _difference("PR-AUC, GBDT - logistic regression", gbdt, logistic)
    _difference(
        "ROC-AUC, GBDT - logistic regression",
        col["ROC-AUC GBDT"],
        col["ROC-AUC logistic regression"],
    )
    _difference(
        "PR-AUC, GBDT - GBDT without new_merchant",
        gbdt,
        col["PR-AUC GBDT without new_merchant"],
    )


def print_decisions(runs: list[dict[str, float]]) -> None:
    """Money and errors of each policy; thresholds tuned on each seed's validation."""
    col = {key: [run[key] for run in runs] for key in runs[0]}
    print(
        f"\nDecisions on the test window: false decline ${COST_FALSE_DECLINE:.0f}, "
        f"missed fraud = its amount,\nreview ${COST_REVIEW:.0f}, after "
        f"authorisation (a confirmed fraud blocks the card {REVIEW_DELAY_S // 60} "
        f"min later)\nthreshold swept on validation {_cell(col['threshold'])}; "
        f"Bayes threshold {_cell(col['bayes'])}\nreview capacity "
        f"{np.mean(col['review share']):.4%} of payments = "
        f"{np.mean(col['review capacity']):.0f} a seed"
    )
    print(
        f"{'policy (means over seeds)':<28} {'declines':>8} {'precision':>9} "
        f"{'recall':>6} {'loss bps':>8} {'saved $':>13}"
    )
    policies = [key[: -len("|saved")] for key in col if key.endswith("|saved")]
    for name in policies:
        print(
            f"{name:<28} {np.mean(col[f'{name}|declined']):>8,.0f} "
            f"{np.mean(col[f'{name}|precision']):>9.3f} "
            f"{np.mean(col[f'{name}|recall']):>6.3f} "
            f"{np.mean(col[f'{name}|loss_bps']):>8.1f} "
            f"{_cell(col[f'{name}|saved'], money=True):>13}"
        )
    print("Paired differences in dollars saved:")
    saved = {name: col[f"{name}|saved"] for name in policies}
    _difference(
        "swept threshold - threshold 0.5",
        saved["GBDT, p >= swept t"],
        saved["GBDT, p >= 0.5"],
        money=True,
    )
    _difference(
        "p*amount rule - swept threshold",
        saved["GBDT, p*amount > c_fp"],
        saved["GBDT, p >= swept t"],
        money=True,
    )
    for label in ("capacity", "100x capacity", "100x, instant"):
        _difference(
            f"review, {label} - no review",
            saved[f"  + review, {label}"],
            saved["GBDT, p >= swept t"],
            money=True,
        )
    print(
        "Calibration of the GBDT: mean p / fraud rate "
        f"{_cell(col['calibration in the large'], 2)} over the window;\n"
        f"near the threshold (p from t/2 to 2t) mean p {_cell(col['near: mean p'])}"
        f", fraud rate {_cell(col['near: fraud rate'])}"
    )
    print("Swept-threshold declines scored with the claims received by day 120:")
    for metric in ("precision", "recall"):
        measured, true = col[f"{metric} measured"], col[f"{metric} true"]
        print(f"  {metric:<9} measured {_cell(measured)}, true {_cell(true)}")
        _difference(f"{metric}, measured - true", measured, true)


def print_delayed_labels(runs: list[dict[str, float]]) -> None:
    """What waiting for labels buys and costs, with an attack that started on day 50."""
    col = {key: [run[key] for run in runs] for key in runs[0]}
    print(
        f"\nDelayed labels: the same GBDT, trained on labels as the job on day "
        f"{JOB_DAY} saw them\n(mean ± 95% interval; claims in: share of the "
        "training fraud reported;\nsingle, attack: share of each kind in the "
        "top 1% of test scores)"
    )
    print(
        f"{'training rows and labels':<28} {'claims in':>9} {'PR-AUC':>12} "
        f"{'mean p/rate':>11} {'single':>11} {'attack':>11}"
    )
    names = {
        "GBDT": "days 30-74, all fraud",
        "fresh": f"days 30-74, as of day {JOB_DAY}",
        "waited": f"days 30-44, as of day {JOB_DAY}",
    }
    for key, label in names.items():
        print(
            f"{label:<28} {np.mean(col[f'{key}|labelled']):>9.2f} "
            f"{_cell(col[f'{key}|PR-AUC']):>12} "
            f"{_cell(col[f'{key}|calibration'], 2):>11} "
            f"{_cell(col[f'{key}|single'], 2):>11} {_cell(col[f'{key}|attack'], 2):>11}"
        )
    print("Paired differences, fresh - waited:")
    for metric in ("PR-AUC", "single", "attack"):
        _difference(metric, col[f"fresh|{metric}"], col[f"waited|{metric}"])


def main() -> None:
    est = print_estimates()
    runs = []
    for seed in SEEDS:
        log = simulate_payments(seed=seed)
        features = velocity_features(
            log.card, log.time, log.amount, log.merchant, log.device, log.x_km, log.y_km
        )
        if seed == 0:
            print_stream(log, features)
        runs.append(backtest(log, features, est["review_share"]))
    print_ranking(runs)
    print_decisions(runs)
    print_delayed_labels(runs)


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
