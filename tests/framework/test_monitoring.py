"""PSI and KS match their definitions and SciPy; they catch shift, not noise."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, page_text
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snippets.concepts.monitoring import psi_under_no_drift
from snippets.framework import monitoring as mon

PAGE = "framework/monitoring.md"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("sizes", [(300, 500), (2000, 700), (50, 50)])
def test_ks_matches_scipy_statistic_and_p_value(seed, sizes):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=sizes[0])
    b = rng.normal(0.2 * seed, 1, size=sizes[1])
    expected = stats.ks_2samp(a, b, method="asymp")
    d, p = mon.ks_test(a, b)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
)
def test_ks_statistic_matches_scipy_with_ties(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):  # scipy's p-value, tiny n
        expected = stats.ks_2samp(a, b, method="asymp").statistic
    assert mon.ks_statistic(a, b) == pytest.approx(expected)


def test_psi_equals_its_definition_on_hand_made_bins():
    reference = np.arange(1, 101, dtype=float)  # quartile edges at 25.75, 50.5, 75.25
    current = np.r_[
        np.full(10, 10.0), np.full(20, 40.0), np.full(30, 60.0), np.full(40, 90.0)
    ]
    p = np.array([0.25, 0.25, 0.25, 0.25])
    q = np.array([0.1, 0.2, 0.3, 0.4])
    expected = np.sum((q - p) * np.log(q / p))
    assert mon.psi(reference, current, n_bins=4) == pytest.approx(expected)


def test_psi_is_zero_for_identical_samples_and_finite_with_empty_bins():
    x = np.random.default_rng(0).normal(size=1000)
    assert mon.psi(x, x) == pytest.approx(0.0, abs=1e-12)
    far_away = x + 100  # every current value lands in the top bin
    value = mon.psi(x, far_away)
    assert np.isfinite(value) and value > 1.0
    # A smaller epsilon means a larger penalty for empty bins: it is a real knob.
    assert mon.psi(x, far_away, epsilon=1e-6) > value


def test_detectors_fire_on_covariate_shift_but_not_on_noise():
    results = mon.covariate_shift_demo(n=5000)
    same_psi, _, same_p = results["same distribution"]
    shift_psi, _, shift_p = results["30% new demographic"]
    assert same_psi < 0.02 and same_p > 0.01
    assert shift_psi > 10 * same_psi and shift_p < 1e-6
    rate, worst = mon.false_alarm_rates(n_checks=100, n=2000)
    assert rate <= 0.05  # nominal 1%: a binomial(100, 0.01) rarely exceeds 5
    assert worst < 0.05


def test_ks_on_huge_samples_flags_a_shift_psi_calls_negligible():
    name = next(k for k in mon.covariate_shift_demo() if k.startswith("0.03 sd"))
    tiny_psi, _, tiny_p = mon.covariate_shift_demo()[name]
    assert tiny_p < 0.01 and tiny_psi < 0.01


def test_concept_drift_is_invisible_to_input_monitors():
    r = mon.concept_drift_demo(n=5000)
    assert r["max_feature_psi"] < 0.02 and r["min_feature_ks_p"] > 0.01
    assert r["score_psi"] < 0.02
    assert r["accuracy_before"] - r["accuracy_after"] > 0.2


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="empty"):
        mon.psi([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        mon.ks_statistic([1.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        mon.ks_test([[1.0]], [1.0])
    with pytest.raises(TypeError, match="numeric"):
        mon.psi(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="n_bins"):
        mon.psi([1.0, 2.0], [1.0], n_bins=1)
    with pytest.raises(ValueError, match="epsilon"):
        mon.psi([1.0, 2.0], [1.0], epsilon=0)


def test_page_quotes_the_numbers_the_code_prints():
    results = mon.covariate_shift_demo()
    rate, worst = mon.false_alarm_rates()
    r = mon.concept_drift_demo()
    assert "<1e-16" in module_output("snippets.framework.monitoring")
    same, influx, tiny = results.values()
    assert_page_quotes(
        PAGE,
        f"{same[0]:.3f}",
        f"{same[2]:.2g}",
        f"{influx[0]:.3f}",
        f"{tiny[2]:.2g}",
        f"{rate:.1%}",
        f"{worst:.4f}",
        f"{r['accuracy_before']:.3f}",
        f"{r['accuracy_after']:.3f}",
        f"{r['flagged_before']:.3f} before, {r['flagged_after']:.3f} after",
        f"from {r['flagged_before']:.3f} to {r['flagged_after']:.3f}",
    )
    assert r["max_feature_psi"] < 0.001
    # The concept page cites the same covariate-shift runs.
    assert_page_quotes(
        "concepts/monitoring.md",
        f"scores {same[0]:.3f}",
        f"demographic {influx[0]:.3f}",
        f"PSI {tiny[0]:.3f}",
        f"p = {tiny[2]:.2g}",
    )


def test_concept_drift_leaves_the_share_flagged_unchanged():
    # Flags depend on x alone, so a change in P(y | x) alone cannot move their share:
    # the before/after difference is within sampling noise of two 20,000-row windows.
    r = mon.concept_drift_demo()
    se = np.sqrt(2 * 0.25 / 20_000)
    assert abs(r["flagged_after"] - r["flagged_before"]) < 3 * se
    assert r["accuracy_after"] < r["accuracy_before"] - 0.2


def test_psi_noise_level_matches_the_chi_square_approximation():
    # Under no drift, n*m/(n+m) * PSI is roughly chi-square with bins - 1 dof, so
    # E[PSI] ~ (bins - 1)(1/n + 1/m): small windows are noisy (the page says so).
    rng = np.random.default_rng(7)
    n, m, bins = 2000, 200, 10
    values = [mon.psi(rng.normal(size=n), rng.normal(size=m)) for _ in range(400)]
    assert np.mean(values) == pytest.approx((bins - 1) * (1 / n + 1 / m), rel=0.15)
    false_alarms = np.mean(np.array(values) > 0.1)  # noise alone crosses 0.1
    assert 0.02 <= false_alarms < 0.06, false_alarms
    assert_page_quotes(PAGE, "\\((b - 1)(1/n + 1/m)\\)", "about 0.05")


def test_printed_psi_noise_agrees_with_an_independent_simulator():
    mean, crossed = mon.psi_noise()
    # The concept page's vectorised simulator draws bin counts, not rows.
    other = psi_under_no_drift(2_000, 200, np.random.default_rng(11), n_windows=4_000)
    assert mean == pytest.approx(other.mean(), rel=0.05)
    # Two binomial shares of ~4%: 2,000 and 4,000 windows, within 4 joint SEs.
    joint_se = np.sqrt(0.04 * 0.96 * (1 / 2_000 + 1 / 4_000))
    assert abs(crossed - np.mean(other > 0.1)) < 4 * joint_se
    output = module_output("snippets.framework.monitoring")
    printed = output.split("200-row window:\n")[1].splitlines()[0].split()
    assert printed[1] == f"{mean:.4f}" and printed[-3] == f"{crossed:.1%}"
    assert_page_quotes(
        PAGE,
        f"{mean:.4f} over the 2,000",
        f"{crossed:.1%} of those no-drift windows cross 0.1",
    )
    with pytest.raises(ValueError, match="positive"):
        mon.psi_noise(n_pairs=0)


def test_page_states_the_effective_sample_size_the_code_prints():
    output = module_output("snippets.framework.monitoring")
    n, m = mon.REFERENCE_ROWS, 20 * mon.REFERENCE_ROWS
    effective = f"{n * m / (n + m):,.0f}"
    assert f"nm/(n+m): {effective}" in output
    assert_page_quotes(PAGE, f"\\(nm/(n+m)\\) of {effective}")


def test_page_gives_monitoring_the_minutes_the_45_minute_plan_does():
    plan = page_text("framework/45-minute-plan.md")
    minutes = re.search(r"^\| (\d+)–(\d+): [^|]*\[monitoring\]", plan, re.M)
    assert minutes, "the 45-minute plan has no monitoring row"
    length = int(minutes[2]) - int(minutes[1])
    words = {3: "three", 4: "four", 5: "five", 6: "six"}
    assert_page_quotes(
        PAGE, f"{words[length]} minutes", f"minutes {minutes[1]}–{minutes[2]}"
    )
