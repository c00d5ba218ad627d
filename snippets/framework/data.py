"""Delayed labels: recent fraud looks rare only because it has not been reported yet.

Transactions over 120 days, 1% fraud, each fraud reported after a random delay. On the
snapshot day the newest cohorts are mostly unlabelled. Counting them as legitimate
understates their fraud rate and teaches a model that fraud is rarer than it is.

Run it: ``python -m snippets.framework.data``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression

SNAPSHOT_DAY = 120.0


# --8<-- [start:arrival]
def label_arrival_curve(delays_days: ArrayLike, ages_days: ArrayLike) -> np.ndarray:
    """Share of eventual positives reported by each cohort age (an empirical CDF)."""
    delays = np.sort(np.asarray(delays_days, dtype=float))
    ages = np.asarray(ages_days, dtype=float)
    if delays.ndim != 1 or delays.size == 0:
        raise ValueError("delays_days must be a non-empty 1-D array of report delays")
    if not np.isfinite(delays).all() or (delays < 0).any():
        raise ValueError("report delays must be finite and non-negative")
    if (ages < 0).any():
        raise ValueError("cohort ages must be non-negative")
    return np.searchsorted(delays, ages, side="right") / delays.size


def corrected_positive_rate(
    labels: ArrayLike, ages_days: ArrayLike, grid: np.ndarray, arrival: np.ndarray
) -> float:
    """Reported positives over the positives expected to have been reported by now."""
    observed = np.asarray(labels, dtype=float)
    ages = np.asarray(ages_days, dtype=float)
    if observed.shape != ages.shape or observed.size == 0:
        raise ValueError("labels and ages_days must be non-empty and of one length")
    # E[reported] = rate * sum_i P(reported by age_i), so invert that expectation.
    expected_share = np.interp(ages, grid, arrival).sum()
    if expected_share <= 0:
        raise ValueError("no labels can have arrived at these ages: cannot correct")
    return float(observed.sum() / expected_share)
    # --8<-- [end:arrival]


# --8<-- [start:simulate]
def simulate_transactions(n: int = 400_000, seed: int = 0) -> dict[str, np.ndarray]:
    """Transactions with a fraud signal, true labels and report delays (in days)."""
    rng = np.random.default_rng(seed)
    day = rng.uniform(0, SNAPSHOT_DAY, n)
    x = rng.normal(size=(n, 3))
    logit = -5.6 + 1.2 * x[:, 0] + 0.8 * x[:, 1]  # about 1% fraud
    fraud = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    delay = rng.lognormal(np.log(20.0), 0.8, n)  # median 20 days, long right tail
    reported = fraud.astype(bool) & (day + delay <= SNAPSHOT_DAY)
    return {"day": day, "x": x, "fraud": fraud, "delay": delay, "label": reported * 1}


def delayed_label_report(data: dict[str, np.ndarray]) -> dict[str, object]:
    """Observed vs true rate per cohort age, and what each training window teaches."""
    age = SNAPSHOT_DAY - data["day"]
    fraud, label = data["fraud"], data["label"]
    # Learn the arrival curve from cohorts old enough to be (almost) complete.
    mature = age >= 90
    grid = np.arange(0.0, 121.0)
    arrival = label_arrival_curve(data["delay"][mature & (fraud == 1)], grid)
    cohorts = []
    for low, high in ((0, 14), (14, 30), (30, 60), (60, 120)):
        rows = (age >= low) & (age < high)
        cohorts.append(
            {
                "ages": f"{low}-{high} days",
                "true": fraud[rows].mean(),
                "observed": label[rows].mean(),
                "reports": int(label[rows].sum()),
                "corrected": corrected_positive_rate(
                    label[rows], age[rows], grid, arrival
                ),
            }
        )
    # Train on the observed labels: every example, or only matured cohorts.
    windows = {"all 120 days (naive)": age >= 0, "cohorts >= 60 days old": age >= 60}
    calibration = {}
    for name, rows in windows.items():
        model = LogisticRegression().fit(data["x"][rows], label[rows])
        calibration[name] = float(model.predict_proba(data["x"])[:, 1].mean())
    return {
        "cohorts": cohorts,
        "calibration": calibration,
        "true_rate": float(fraud.mean()),
        "median_delay": float(np.median(data["delay"])),
    }
    # --8<-- [end:simulate]


def main() -> None:
    report = delayed_label_report(simulate_transactions())
    print(
        f"Fraud reports arrive after a median {report['median_delay']:.0f} days; "
        f"snapshot on day {SNAPSHOT_DAY:.0f}"
    )
    print(
        f"{'cohort age':<14}{'true':>8}{'observed':>10}{'reports':>9}{'corrected':>11}"
    )
    for c in report["cohorts"]:
        print(
            f"{c['ages']:<14}{c['true']:>8.2%}{c['observed']:>10.2%}"
            f"{c['reports']:>9,}{c['corrected']:>11.2%}"
        )
    print()
    print(f"Mean predicted fraud rate (true rate {report['true_rate']:.2%}):")
    for name, rate in report["calibration"].items():
        print(f"  trained on {name:<24}{rate:.2%}")


if __name__ == "__main__":
    main()
