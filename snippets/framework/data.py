"""Delayed labels: recent fraud looks rare only because it has not been reported yet.

Transactions over 120 days, 1% fraud, each fraud reported after a random delay. On the
snapshot day the newest cohorts are mostly unlabelled. Counting them as legitimate
understates their fraud rate and teaches a model that fraud is rarer than it is.
Two more numbers of the data step: the size of a random review sample that measures
recall, and what negative downsampling does to the rate a model learns.

Run it: ``python -m snippets.framework.data``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.linear_model import LogisticRegression

from snippets.common.stats import is_tie, paired_interval

SNAPSHOT_DAY = 120.0
MATURE_DAYS = 90.0  # cohorts this old supply the arrival curve
SEEDS = range(10)  # the youngest cohort's correction is reported over these seeds


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


def _reports_and_share(
    labels: ArrayLike, ages_days: ArrayLike, grid: np.ndarray, arrival: np.ndarray
) -> tuple[float, float]:
    observed = np.asarray(labels, dtype=float)
    ages = np.asarray(ages_days, dtype=float)
    if observed.shape != ages.shape or observed.size == 0:
        raise ValueError("labels and ages_days must be non-empty and of one length")
    # E[reported] = rate * sum_i P(reported by age_i), so invert that expectation.
    expected_share = float(np.interp(ages, grid, arrival).sum())
    if expected_share <= 0:
        raise ValueError("no labels can have arrived at these ages: cannot correct")
    return float(observed.sum()), expected_share


def corrected_positive_rate(
    labels: ArrayLike, ages_days: ArrayLike, grid: np.ndarray, arrival: np.ndarray
) -> float:
    """Reported positives over the positives expected to have been reported by now."""
    reports, expected_share = _reports_and_share(labels, ages_days, grid, arrival)
    return reports / expected_share


def corrected_rate_interval(
    labels: ArrayLike,
    ages_days: ArrayLike,
    grid: np.ndarray,
    arrival: np.ndarray,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Exact Poisson interval on the report count, scaled like the corrected rate.

    It covers the noise of a few dozen reports, not the error of the curve itself.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    reports, expected_share = _reports_and_share(labels, ages_days, grid, arrival)
    tail = (1 - confidence) / 2
    low = stats.chi2.ppf(tail, 2 * reports) / 2 if reports > 0 else 0.0
    high = stats.chi2.ppf(1 - tail, 2 * reports + 2) / 2
    return float(low / expected_share), float(high / expected_share)
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


def cohort_table(data: dict[str, np.ndarray]) -> list[dict[str, object]]:
    """True, observed and arrival-corrected fraud rate per cohort age."""
    age = SNAPSHOT_DAY - data["day"]
    fraud, label = data["fraud"], data["label"]
    # The curve uses only what the snapshot shows: delays of frauds already reported,
    # in cohorts at least MATURE_DAYS old, cut at MATURE_DAYS so that every cohort
    # used could have shown every delay kept. Later reports are outside it.
    seen = (age >= MATURE_DAYS) & (label == 1) & (data["delay"] <= MATURE_DAYS)
    grid = np.arange(0.0, SNAPSHOT_DAY + 1)
    arrival = label_arrival_curve(data["delay"][seen], grid)
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
                "interval": corrected_rate_interval(
                    label[rows], age[rows], grid, arrival
                ),
            }
        )
    return cohorts


def delayed_label_report(data: dict[str, np.ndarray]) -> dict[str, object]:
    """Observed vs true rate per cohort age, and what each training window teaches."""
    age = SNAPSHOT_DAY - data["day"]
    # Train on the observed labels: every example, or only matured cohorts.
    windows = {"all 120 days (naive)": age >= 0, "cohorts >= 60 days old": age >= 60}
    calibration = {}
    for name, rows in windows.items():
        model = LogisticRegression().fit(data["x"][rows], data["label"][rows])
        calibration[name] = float(model.predict_proba(data["x"])[:, 1].mean())
    return {
        "cohorts": cohort_table(data),
        "calibration": calibration,
        "true_rate": float(data["fraud"].mean()),
        "median_delay": float(np.median(data["delay"])),
        # Known only to the simulation: the share of frauds the curve cannot see.
        "reported_after_mature": float(
            np.mean(data["delay"][data["fraud"] == 1] > MATURE_DAYS)
        ),
    }
    # --8<-- [end:simulate]


def youngest_cohort_over_seeds(seeds: range = SEEDS) -> dict[str, np.ndarray]:
    """The 0-14-day cohort's true, observed and corrected rates, one value per seed."""
    rows = [cohort_table(simulate_transactions(seed=seed))[0] for seed in seeds]
    keys = ("true", "observed", "corrected", "interval")
    return {k: np.array([row[k] for row in rows]) for k in keys}


def _share(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return float(value)


# --8<-- [start:review-sample]
def review_sample_size(
    expected_recall: float,
    half_width: float,
    prevalence: float,
    confidence: float = 0.95,
) -> tuple[int, int]:
    """Positives needed to estimate recall to +/- half_width, and the random sample
    (transactions to review) expected to contain them.

    Recall is a proportion over positives: n = z^2 r (1 - r) / h^2 (normal
    approximation). A uniform sample finds positives only at the prevalence.
    """
    recall = _share("expected_recall", expected_recall)
    half = _share("half_width", half_width)
    rate = _share("prevalence", prevalence)
    z = NormalDist().inv_cdf(0.5 + _share("confidence", confidence) / 2)
    positives = math.ceil(z**2 * recall * (1 - recall) / half**2)
    return positives, math.ceil(positives / rate)


def downsampled_rate(rate: float, negative_keep_rate: float) -> float:
    """Positive share after keeping a fraction w of negatives: the odds grow by 1/w."""
    odds = _share("rate", rate) / (1 - rate)
    keep = negative_keep_rate
    if not isinstance(keep, int | float) or isinstance(keep, bool) or not 0 < keep <= 1:
        raise ValueError(f"negative_keep_rate must be in (0, 1], got {keep!r}")
    inflated = odds / keep
    return inflated / (1 + inflated)
    # --8<-- [end:review-sample]


# Assumptions for the printed examples, not measurements.
RECALL, HALF_WIDTH, PREVALENCE = 0.80, 0.05, 0.01
NEGATIVE_KEEP_RATE = 0.1


def main() -> None:
    report = delayed_label_report(simulate_transactions())
    print(
        f"Fraud reports arrive after a median {report['median_delay']:.0f} days; "
        f"snapshot on day {SNAPSHOT_DAY:.0f}"
    )
    print(
        f"{'cohort age':<14}{'true':>8}{'observed':>10}{'reports':>9}{'corrected':>11}"
        f"{'95% Poisson interval':>22}"
    )
    for c in report["cohorts"]:
        low, high = c["interval"]
        print(
            f"{c['ages']:<14}{c['true']:>8.2%}{c['observed']:>10.2%}"
            f"{c['reports']:>9,}{c['corrected']:>11.2%}{f'{low:.2%}–{high:.2%}':>22}"
        )
    print(
        f"Arrival curve: reported delays up to {MATURE_DAYS:.0f} days in cohorts "
        f"at least {MATURE_DAYS:.0f} days old;"
    )
    print(
        f"  frauds reported later ({report['reported_after_mature']:.1%} of all, known "
        "only to the simulation) are outside it"
    )
    print()
    print(f"Mean predicted fraud rate (true rate {report['true_rate']:.2%}):")
    for name, rate in report["calibration"].items():
        print(f"  trained on {name:<24}{rate:.2%}")
    print()
    young = youngest_cohort_over_seeds()
    print(f"0-14-day cohort over {len(SEEDS)} seeds, min–max:")
    for key in ("true", "observed", "corrected"):
        print(f"  {key + ' rate':<17}{young[key].min():.2%}–{young[key].max():.2%}")
    ratio = young["true"] / young["observed"]
    print(f"  {'true / observed':<17}{ratio.min():.1f}–{ratio.max():.1f} times")
    print(
        f"  mean over seeds: true {young['true'].mean():.2%}, "
        f"corrected {young['corrected'].mean():.2%}"
    )
    gap, gap_low, gap_high = paired_interval(100 * (young["corrected"] - young["true"]))
    tie = " (a tie)" if is_tie(gap_low, gap_high) else ""
    print(
        f"  corrected - true: mean {gap:+.2f} points, "
        f"95% interval {gap_low:+.2f} to {gap_high:+.2f}{tie}"
    )
    late = report["reported_after_mature"]
    print(
        f"  built in: late reports outside the curve, about {late:.1%} of the rate "
        f"({-100 * late * young['true'].mean():+.2f} points)"
    )
    low, high = young["interval"].T
    covered = np.sum((low <= young["true"]) & (young["true"] <= high))
    print(f"  Poisson interval holds the true rate: {covered} of {len(SEEDS)} seeds")
    print()
    positives, reviewed = review_sample_size(RECALL, HALF_WIDTH, PREVALENCE)
    print(
        f"Random review sample to measure recall near {RECALL:.0%} to "
        f"±{HALF_WIDTH * 100:.0f} points (95%):"
    )
    print(
        f"  {positives} frauds, found among {reviewed:,} transactions "
        f"at {PREVALENCE:.2%} fraud"
    )
    learned = downsampled_rate(PREVALENCE, NEGATIVE_KEEP_RATE)
    print(
        f"Negatives kept at w = {NEGATIVE_KEEP_RATE}: a true {PREVALENCE:.2%} "
        f"rate is learned as {learned:.2%}"
    )


if __name__ == "__main__":
    main()
