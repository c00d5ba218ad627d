"""Three checks tell skew, drift and a pipeline bug apart; the page quotes the run."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from snippets.concepts import diagnosis as dg

PAGE = "concepts/monitoring.md"


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # SciPy's p-value
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
)
def test_ks_distance_equals_scipy(reference, current):
    ref, cur = np.array(reference, float), np.array(current, float)
    expected = stats.ks_2samp(ref, cur, method="asymp").statistic
    assert dg.ks_d(ref, cur) == pytest.approx(expected, abs=1e-12)


@pytest.fixture(scope="module")
def weeks():
    return {fault: dg.simulate_week(3, 1, fault) for fault in (None, *dg.FAULTS)}


def test_each_fault_is_the_only_difference_from_the_healthy_week(weeks):
    healthy = weeks[None]
    skew, drift, bug = weeks["skew"], weeks["drift"], weeks["bug"]
    # Skew: the same payments and labels; only the served velocity differs.
    np.testing.assert_array_equal(skew.fraud, healthy.fraud)
    for name in dg.FEATURES:
        np.testing.assert_array_equal(skew.offline[name], healthy.offline[name])
    changed = skew.served["velocity"] != healthy.served["velocity"]
    assert changed.any() and np.all(skew.served["velocity"][changed] == 0)
    # Bug: amounts and velocities untouched; missing ages filled the same on both paths.
    np.testing.assert_array_equal(bug.offline["amount"], healthy.offline["amount"])
    lost = np.isnan(bug.upstream["account_age"])
    assert lost.any() and not np.isnan(healthy.upstream["account_age"]).any()
    assert np.all(bug.offline["account_age"][lost] == dg.MISSING_AGE_DAYS)
    np.testing.assert_array_equal(bug.served["account_age"], bug.offline["account_age"])
    # Drift: only the new market's payments change, and serving matches training.
    new = drift.country == "new"
    assert 0.2 < new.mean() < 0.4
    np.testing.assert_array_equal(
        drift.offline["amount"][~new], healthy.offline["amount"][~new]
    )
    assert np.all(drift.offline["amount"][new] > healthy.offline["amount"][new])
    for name in dg.FEATURES:
        np.testing.assert_array_equal(drift.served[name], drift.offline[name])


def test_checks_agree_with_a_direct_count(weeks):
    reference = dg.simulate_week(3, 0)
    for week in weeks.values():
        c = dg.run_checks(reference, week)
        n = len(week.fraud)
        # Counted element by element, the slow way.
        nulls = sum(1 for v in week.upstream["account_age"] if v != v) / n
        assert c.null_rise == pytest.approx(nulls, abs=1e-12)
        differ = sum(
            1
            for a, b in zip(
                week.served["velocity"], week.offline["velocity"], strict=True
            )
            if abs(a - b) > 1e-9
        )
        assert c.mismatch == pytest.approx(differ / n, abs=1e-12)
        assert c.rows_ratio == week.rows["accounts"] / reference.rows["accounts"]
        served_d = max(
            stats.ks_2samp(reference.served[f], week.served[f]).statistic
            for f in dg.FEATURES
        )
        assert c.served_ks == pytest.approx(served_d, abs=1e-12)


def test_the_model_scores_the_way_scikit_learn_does(weeks):
    model = dg.FraudModel(dg.simulate_week(3, 0))
    week = weeks["skew"]
    ours = dg.roc_auc(week.fraud, model.score(week.served))
    assert ours == pytest.approx(roc_auc_score(week.fraud, model.score(week.served)))


def test_verdict_reads_the_checks_in_order():
    clean = dg.Checks(
        rows_ratio=1.0,
        null_rise=0.0,
        schema_same=True,
        mismatch=0.0,
        offline_ks=0.01,
        country_p=0.5,
        served_ks=0.01,
    )
    assert dg.verdict(clean) == "unchanged"
    drift = replace(clean, offline_ks=0.2, served_ks=0.2)
    assert dg.verdict(drift) == "drift"
    assert dg.verdict(replace(clean, country_p=1e-9)) == "drift"
    skew = replace(drift, mismatch=0.3)
    assert dg.verdict(skew) == "skew"  # skew also moves distributions: skew wins
    assert dg.verdict(replace(skew, rows_ratio=0.6)) == "bug"
    assert dg.verdict(replace(skew, null_rise=0.4)) == "bug"
    assert dg.verdict(replace(clean, schema_same=False)) == "bug"


@pytest.mark.parametrize("seed", [11, 12])
def test_the_procedure_names_each_cause_on_unseen_seeds(seed):
    results = dg.diagnosis_demo(seed)
    assert {name: r["verdict"] for name, r in results.items()} == dg.EXPECTED
    healthy = results["healthy"]["auc"]
    drops = [healthy - results[fault]["auc"] for fault in dg.FAULTS]
    assert min(drops) > 0.02 and max(drops) < 2 * min(
        drops
    )  # one symptom, three causes
    for fault in dg.FAULTS:  # the usual monitor fires every time
        assert results[fault]["checks"].served_ks > 0.05
    assert results["healthy"]["checks"].served_ks < 0.05


def test_bad_input_raises_a_clear_error(weeks):
    with pytest.raises(ValueError, match="fault must be"):
        dg.simulate_week(0, 0, "outage")
    with pytest.raises(TypeError, match="must be a Week"):
        dg.run_checks(weeks[None], {"served": {}})
    short = replace(
        weeks[None], served={k: v[:10] for k, v in weeks[None].served.items()}
    )
    with pytest.raises(ValueError, match="differ in length"):
        dg.run_checks(weeks[None], short)


def output_rows() -> dict[str, list[str]]:
    """Each labelled row of the table: label -> its four columns."""
    rows = {}
    for line in module_output("snippets.concepts.diagnosis").splitlines():
        match = re.match(r"^  (\S.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", line)
        if match:
            rows.setdefault(match[1], list(match.groups()[1:]))
    return rows


def test_page_quotes_the_table():
    rows = output_rows()
    healthy, skew, drift, bug = rows["ROC-AUC, once labelled"]
    assert_page_quotes(
        PAGE, f"from {healthy} to {skew} (skew), {drift} (drift) and {bug}"
    )
    served = rows["served features: largest KS D"][1:]
    assert_page_quotes(PAGE, f"is {served[0]}, {served[1]} and {served[2]}: it fires")
    assert all(float(d) > 0.05 for d in served)
    assert_page_quotes(PAGE, f"has {rows['accounts rows vs reference'][3]} of its rows")
    assert_page_quotes(PAGE, f"up by {rows['largest null-rate rise'][3]}")
    assert_page_quotes(
        PAGE, f"flags only the skew: {rows['largest share that differs'][1]}"
    )
    offline = rows["largest KS D"]
    assert_page_quotes(PAGE, f"(KS {offline[2]} and", f"also the bug ({offline[3]})")
    assert rows["verdict"] == ["unchanged", "skew", "drift", "bug"]


def test_page_quotes_the_seeds():
    text = module_output("snippets.concepts.diagnosis")
    header = re.search(r"of ([\d,]+) payments \(([\d.]+%) fraud\)", text)
    assert_page_quotes(PAGE, f"week of {header[1]}")
    interval = r"(\S+) \[(\S+), (\S+)\]"
    r = {
        m[1]: m.groups()[1:]
        for m in re.finditer(
            rf"^  (\w+)\s+drop {interval}, retraining recovers {interval}$", text, re.M
        )
    }
    assert set(r) == set(dg.FAULTS)

    def fmt(values: tuple[str, ...]) -> str:
        return f"{values[0]} [{values[1]}, {values[2]}]"

    drop = {fault: fmt(r[fault][:3]) for fault in dg.FAULTS}
    gain = {fault: fmt(r[fault][3:]) for fault in dg.FAULTS}
    assert_page_quotes(
        PAGE,
        f"{drop['skew']}, {drop['drift']} and {drop['bug']}: the same symptom",
        f"recovers {gain['drift']} of the drift",
        f"({gain['skew']} for skew, {gain['bug']} for the bug)",
    )
    values = {fault: [float(v) for v in r[fault]] for fault in dg.FAULTS}
    # Every fault costs ROC-AUC beyond the noise (the interval's low end is above 0).
    assert all(values[fault][1] > 0 for fault in dg.FAULTS)
    drift_gain = values["drift"][3:]
    assert drift_gain[1] > 0  # retraining helps under drift, beyond the noise...
    assert max(values["skew"][5], values["bug"][5]) < drift_gain[0]  # ...more than
    assert drift_gain[0] < values["drift"][0] / 2  # ...yet under half of the drop
    assert_page_quotes(PAGE, "a partial repair, less than half of the drop")
    right = re.search(r"on (\d) of 5 seeds", text)[1]
    assert right == "5"
    assert_page_quotes(PAGE, f"for all four weeks on {right} of 5 seeds")


def test_intervals_are_t_intervals_of_the_paired_differences():
    differences = [0.03, 0.05, 0.04, 0.045, 0.035]
    low, high = stats.t.interval(
        0.95, 4, loc=np.mean(differences), scale=stats.sem(differences)
    )
    mean = np.mean(differences)
    assert dg.interval(differences) == f"{mean:.3f} [{low:.3f}, {high:.3f}]"
    assert dg.interval([-1e-5, -2e-5], "+").startswith("+0.000 [")  # no "-0.000"


def test_no_p_value_is_printed_when_no_test_ran():
    assert dg.p_value(float("nan")) == "n/a"
    assert dg.p_value(1e-9) == "<1e-6" and dg.p_value(0.5) == "0.50"
    healthy = dg.run_checks(dg.simulate_week(3, 0), dg.simulate_week(3, 1))
    assert np.isnan(healthy.country_p) and dg.verdict(healthy) == "unchanged"
    assert output_rows()["country mix, chi-square p"] == ["n/a", "n/a", "<1e-6", "n/a"]
