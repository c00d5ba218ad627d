"""Fraud back-of-envelope: shared helpers, what sizes the system, the test size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.rates import power_poisson_ratio_2indep

from snippets.common import estimation
from snippets.problems import fraud_detection_estimate as fe


def test_estimates_come_from_the_shared_estimation_functions():
    est = fe.estimate_capacity()
    assert est["peak_tps"] == pytest.approx(estimation.peak_qps(50e6, 2, 3))
    assert est["feature_reads"] == pytest.approx(3 * est["peak_tps"])
    # 2,000 reviews against 50 million cards x 2 payments a day.
    assert est["review_share"] == pytest.approx(2_000 / (50e6 * 2))
    stages = [v for k, v in est.items() if k.startswith("stage:")]
    assert est["headroom_ms"] == pytest.approx(est["budget_ms"] - sum(stages))
    assert est["headroom_ms"] > 0, "the stages must fit in the budget"


def test_memory_and_logs_size_the_system_not_compute():
    est = fe.estimate_capacity()
    # 50M cards x 1 kB x 3 replicas on 64 GB nodes; reads at 100,000/s a node.
    assert est["nodes_for_memory"] == math.ceil(50e6 * 1_000 * 3 / 64e9)
    assert est["nodes_for_reads"] == pytest.approx(est["feature_reads"] / 100_000)
    assert est["nodes_for_reads"] < 1 < est["nodes_for_memory"]
    assert est["scoring_cores"] == pytest.approx(est["peak_tps"] * 10e-6)
    assert est["scoring_cores"] < 1
    # Every stream a year, summed by hand: bytes per payment across the streams.
    per_payment = 2_000 + 1_000 + 0.2 * 3_000 + 500 + 0.002 * 2_000
    assert est["logs_per_year"] == f"{100e6 * 365 * per_payment / 1e12:.1f} TB"
    assert sum(k.startswith("log:") for k in est) == 5


def test_three_parallel_reads_each_need_a_tighter_quantile():
    q = fe.estimate_capacity()["per_read_quantile"]
    # The fetch is late when any read is late: P(all three on time) = q^3.
    rng = np.random.default_rng(0)
    on_time = (rng.random((200_000, 3)) < q).all(axis=1).mean()
    assert on_time == pytest.approx(0.99, abs=0.002)
    assert f"p{100 * q:.2f}" == "p99.67"


@pytest.mark.parametrize(("change", "share"), [(0.05, 0.05), (0.2, 0.5), (0.1, 0.2)])
def test_test_size_gives_the_power_statsmodels_computes(change, share):
    frauds = fe.challenger_frauds_needed(change, share)
    rate = 1e-3  # any rate: the power depends on the expected counts only
    power = power_poisson_ratio_2indep(
        (1 - change) * rate,
        rate,
        nobs1=frauds / ((1 - change) * rate),
        nobs_ratio=(1 - share) / share,
        value=1,
        alternative="two-sided",
        method_var="alt",
        return_results=False,
    )
    assert power == pytest.approx(0.8, abs=1e-3)


def test_weighting_by_amount_multiplies_the_variance_by_one_plus_cv_squared():
    # A compound Poisson sum of log-normal amounts, simulated, against the formula.
    rng = np.random.default_rng(1)
    mean_count, sigma = 400, 1.0
    counts = rng.poisson(mean_count, 20_000)
    totals = np.array([rng.lognormal(0, sigma, c).sum() for c in counts])
    cv2 = np.exp(sigma**2) - 1
    relative_var = totals.var() / totals.mean() ** 2
    assert relative_var == pytest.approx((1 + cv2) / mean_count, rel=0.05)
    plain = fe.challenger_frauds_needed(0.05, 0.05)
    weighted = fe.challenger_frauds_needed(0.05, 0.05, amount_cv=np.sqrt(cv2))
    assert weighted == pytest.approx(plain * (1 + cv2))
    duration = fe.experiment_duration()
    assert duration["days"] == pytest.approx(duration["frauds_needed"] / 2_500)
    assert duration["cv_squared"] == pytest.approx(cv2)


def test_test_size_rejects_bad_input():
    with pytest.raises(ValueError, match="relative_change"):
        fe.challenger_frauds_needed(1.5, 0.05)
    with pytest.raises(ValueError, match="alpha"):
        fe.challenger_frauds_needed(0.05, 0.05, alpha=0)
