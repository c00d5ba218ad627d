"""Skew, drift or a pipeline bug: one symptom, three causes, told apart by three checks.

A fraud model loses the same amount of ROC-AUC in three different weeks. In one
the online feature store served a default where the training pipeline had the real
value (training-serving skew); in one a new market brought payments the model had never
seen (drift); in one a shard of the accounts table failed to load (a pipeline bug). A
drift monitor on the served features fires in all three. Three cheaper comparisons tell
them apart: upstream health (row counts, null rates, schema), the served features
against the offline recomputation for the same requests, and the recomputed features
against the reference window. The drift tools come from ``concepts.monitoring``.

Run it: ``python -m snippets.concepts.diagnosis``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from snippets.common.stats import paired_interval
from snippets.concepts.classification_metrics import roc_auc
from snippets.concepts.monitoring import chi_square_drift

# --8<-- [start:world]
FEATURES = ("amount", "velocity", "account_age")
FAULTS = ("skew", "drift", "bug")
PAYMENTS = 20_000  # requests per week
ACCOUNTS = 40_000  # rows of the accounts table when it loads completely
# How hard each fault hits: sized by us so that the three cost about the same ROC-AUC.
SKEW_TIMEOUTS = 0.40  # share of requests whose velocity lookup timed out online
NEW_MARKET = 0.30  # share of payments from a market absent from training
LOST_SHARD = 0.40  # share of accounts rows missing after a failed export
MISSING_AGE_DAYS = 365.0  # the default both pipelines use for a missing account age


@dataclass(frozen=True)
class Week:
    """One week of payments as the monitoring system sees them."""

    upstream: dict[str, np.ndarray]  # the joined source columns (NaN: missing)
    offline: dict[str, np.ndarray]  # the training pipeline's features, same requests
    served: dict[str, np.ndarray]  # the features serving logged at request time
    country: np.ndarray  # logged with the request; not a model input
    fraud: np.ndarray  # labels, known weeks later
    rows: dict[str, int]  # rows in each upstream table this week
    schema: dict[str, str]  # column -> dtype of the joined feature table


def simulate_week(seed: int, week: int, fault: str | None = None) -> Week:
    """One week of payments; ``fault`` is None, "skew", "drift" or "bug".

    Every random draw is made whatever the fault, so the same (seed, week) with and
    without a fault holds the same payments: the fault is the only difference.
    """
    if fault not in (None, *FAULTS):
        raise ValueError(f"fault must be None or one of {FAULTS}, got {fault!r}")
    rng = np.random.default_rng([seed, week])
    account_age = rng.exponential(400.0, ACCOUNTS)  # days since the account opened
    loaded = rng.random(ACCOUNTS) >= (LOST_SHARD if fault == "bug" else 0.0)
    account = rng.integers(0, ACCOUNTS, PAYMENTS)
    new_market = rng.random(PAYMENTS) < (NEW_MARKET if fault == "drift" else 0.0)
    log_amount = rng.normal(3.5, 1.0, PAYMENTS) + 1.5 * new_market
    velocity = rng.poisson(1.5, PAYMENTS).astype(float)  # card payments in 24 h
    timed_out = rng.random(PAYMENTS) < (SKEW_TIMEOUTS if fault == "skew" else 0.0)
    age = account_age[account]
    # The world's rule: large, fast payments from young accounts are risky, except
    # that large baskets are ordinary in the new market.
    logit = (
        -2.0
        + 1.2 * (log_amount - 3.5) * ~new_market
        + 0.8 * (velocity - 1.5)
        - 1.6 * np.log1p(age / 30)
    )
    fraud = (rng.random(PAYMENTS) < 1 / (1 + np.exp(-logit))).astype(int)
    upstream = {
        "amount": np.exp(log_amount),
        "velocity": velocity,
        "account_age": np.where(loaded[account], age, np.nan),  # a failed join: NaN
    }
    offline = with_defaults(upstream)
    served = {name: values.copy() for name, values in offline.items()}
    served["velocity"][timed_out] = 0.0  # online lookup timed out: serving's default
    return Week(
        upstream=upstream,
        offline=offline,
        served=served,
        country=np.where(new_market, "new", "home"),
        fraud=fraud,
        rows={"payments": PAYMENTS, "accounts": int(loaded.sum())},
        schema={name: str(values.dtype) for name, values in upstream.items()},
    )


def with_defaults(upstream: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The shared feature code: a missing account age becomes a fixed default."""
    features = {name: values.copy() for name, values in upstream.items()}
    missing = np.isnan(features["account_age"])
    features["account_age"][missing] = MISSING_AGE_DAYS
    return features


class FraudModel:
    """Logistic regression on log amount, velocity and log account age."""

    def __init__(self, week: Week) -> None:
        # Trained on the offline recomputation, as a training pipeline is.
        with threadpool_limits(limits=1, user_api="blas"):  # 3 features: threads cost
            self.model = LogisticRegression().fit(self.inputs(week.offline), week.fraud)

    def inputs(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.column_stack(
            [
                np.log(features["amount"]),
                features["velocity"],
                np.log1p(features["account_age"]),
            ]
        )

    def score(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return self.model.predict_proba(self.inputs(features))[:, 1]
        # --8<-- [end:world]


def check_weeks(reference: Week, current: Week) -> None:
    """Raise unless both are Weeks whose served and offline logs cover the requests."""
    for name, week in (("reference", reference), ("current", current)):
        if not isinstance(week, Week):
            raise TypeError(f"{name} must be a Week, got {type(week).__name__}")
        lengths = {len(v) for log in (week.served, week.offline) for v in log.values()}
        if set(week.served) != set(FEATURES) or set(week.offline) != set(FEATURES):
            raise ValueError(f"{name} must log exactly the features {FEATURES}")
        if len(lengths) != 1:
            raise ValueError(f"{name}: served and offline logs differ in length")


# --8<-- [start:checks]
@dataclass(frozen=True)
class Checks:
    """The comparisons that separate the causes, cheapest first."""

    rows_ratio: float  # smallest upstream table, rows this week / reference
    null_rise: float  # largest rise in a source column's null rate
    schema_same: bool  # same columns and types as the reference
    mismatch: float  # largest share of requests where served != offline
    offline_ks: float  # largest KS D, offline values this week vs reference
    country_p: float  # chi-square p, country mix vs reference; NaN: no test ran
    served_ks: float  # largest KS D, served values vs reference: the usual monitor


def ks_d(reference: np.ndarray, current: np.ndarray) -> float:
    """Two-sample KS statistic D, the largest gap between the two empirical CDFs."""
    ref, cur = np.sort(reference), np.sort(current)
    pooled = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, pooled, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, pooled, side="right") / cur.size
    return float(np.max(np.abs(cdf_ref - cdf_cur)))  # an effect size, not a p-value


def run_checks(reference: Week, current: Week) -> Checks:
    """Upstream health, served vs offline for the same requests, then drift."""
    check_weeks(reference, current)
    ref, cur = reference, current
    return Checks(
        rows_ratio=min(cur.rows[table] / ref.rows[table] for table in ref.rows),
        null_rise=max(
            np.isnan(cur.upstream[f]).mean() - np.isnan(ref.upstream[f]).mean()
            for f in FEATURES
        ),
        schema_same=cur.schema == ref.schema,
        # The same requests, two code paths: any difference is skew by definition.
        mismatch=max(
            np.mean(~np.isclose(cur.served[f], cur.offline[f])) for f in FEATURES
        ),
        offline_ks=max(ks_d(ref.offline[f], cur.offline[f]) for f in FEATURES),
        country_p=chi_square_drift(ref.country, cur.country)[2]
        if np.union1d(ref.country, cur.country).size > 1
        else float("nan"),  # one country in both weeks: nothing to test
        served_ks=max(ks_d(ref.served[f], cur.served[f]) for f in FEATURES),
    )
    # --8<-- [end:checks]


# --8<-- [start:verdict]
def verdict(c: Checks) -> str:
    """Read the checks in order; the thresholds are ours, far above noise here."""
    if c.rows_ratio < 0.95 or c.null_rise > 0.01 or not c.schema_same:
        return "bug"  # the data is broken: fix it and backfill, do not retrain
    if c.mismatch > 0.01:
        return "skew"  # serving gave the model other values than training did
    if c.offline_ks > 0.05 or c.country_p < 1e-6:  # NaN (no test) never fires
        return "drift"  # the world moved: retrain, and show the model the new segment
    return "unchanged"  # no input moved: if quality fell, suspect concept drift
    # --8<-- [end:verdict]


# --8<-- [start:demo]
def diagnosis_demo(seed: int = 0) -> dict[str, dict]:
    """Train on week 0; diagnose week 1, healthy and with each fault in turn."""
    reference = simulate_week(seed, 0)
    model = FraudModel(reference)
    results = {}
    for fault in (None, *FAULTS):
        week = simulate_week(seed, 1, fault)
        # The usual reflex: retrain on the next week's data, the fault still there.
        retrained = FraudModel(simulate_week(seed, 2, fault))
        checks = run_checks(reference, week)
        results[fault or "healthy"] = {
            "auc": roc_auc(week.fraud, model.score(week.served)),
            "retrained_auc": roc_auc(week.fraud, retrained.score(week.served)),
            "fraud_rate": float(week.fraud.mean()),
            "checks": checks,
            "verdict": verdict(checks),
        }
    return results


EXPECTED = {
    "healthy": "unchanged",
    "skew": "skew",
    "drift": "drift",
    "bug": "bug",
}


def p_value(p: float) -> str:
    """A chi-square p-value as printed: n/a when no test ran."""
    return "n/a" if np.isnan(p) else "<1e-6" if p < 1e-6 else f"{p:.2f}"


def interval(differences: list[float], sign: str = "") -> str:
    """Mean and 95% t-interval of paired differences, to three decimals."""
    # + 0.0 after rounding so that -0.0001 prints as 0.000, not -0.000
    mean, low, high = (round(v, 3) + 0.0 for v in paired_interval(differences))
    return f"{mean:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"


def main() -> None:
    r = diagnosis_demo()
    c = {name: res["checks"] for name, res in r.items()}

    def row(label: str, values) -> None:
        print(f"  {label:<30}" + "".join(f"{v:>10}" for v in values))

    print(
        f"One fraud model, one week of {PAYMENTS:,} payments "
        f"({r['healthy']['fraud_rate']:.1%} fraud), four versions of it"
    )
    row("", r)
    row("ROC-AUC, once labelled", [f"{x['auc']:.3f}" for x in r.values()])
    row("retrained on next week", [f"{x['retrained_auc']:.3f}" for x in r.values()])
    row("served features: largest KS D", [f"{x.served_ks:.3f}" for x in c.values()])
    print("1. Upstream health")
    row("accounts rows vs reference", [f"{x.rows_ratio:.0%}" for x in c.values()])
    row("largest null-rate rise", [f"{x.null_rise:+.1%}" for x in c.values()])
    row("schema unchanged", ["yes" if x.schema_same else "no" for x in c.values()])
    print("2. Served vs offline, same requests")
    row("largest share that differs", [f"{x.mismatch:.1%}" for x in c.values()])
    print("3. Offline values vs reference")
    row("largest KS D", [f"{x.offline_ks:.3f}" for x in c.values()])
    row("country mix, chi-square p", [p_value(x.country_p) for x in c.values()])
    row("verdict", [x["verdict"] for x in r.values()])

    runs = [diagnosis_demo(seed) for seed in range(1, 6)]
    print("Over 5 more seeds, ROC-AUC differences paired on the same payments,")
    print("mean [95% interval]:")
    for fault in FAULTS:
        drops = [x["healthy"]["auc"] - x[fault]["auc"] for x in runs]
        gains = [x[fault]["retrained_auc"] - x[fault]["auc"] for x in runs]
        print(
            f"  {fault:<6} drop {interval(drops)}, "
            f"retraining recovers {interval(gains, '+')}"
        )
    right = sum(
        all(x[name]["verdict"] == want for name, want in EXPECTED.items()) for x in runs
    )
    print(f"  verdict right for all four weeks on {right} of 5 seeds")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
