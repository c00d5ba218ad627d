"""The support assistant's world: the truth, calibration, thresholds under a cap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from statsmodels.stats.proportion import proportion_confint

from snippets.problems import support_assistant_world as w


def test_simulation_is_seeded_and_the_truth_ignores_the_confidence_offsets():
    a, b = w.simulate(3_000, seed=4), w.simulate(3_000, seed=4)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    # Removing the bot's overstatement changes what it reports, never the truth.
    honest = w.simulate(3_000, seed=4, world=w.without(w.World(), "overstatement"))
    np.testing.assert_array_equal(a.resolvable, honest.resolvable)
    np.testing.assert_array_equal(a.intent, honest.intent)
    assert not np.allclose(a.confidence, honest.confidence)
    # The overstated intents report more confidence than their resolution rate.
    big = w.simulate(60_000, seed=5)
    for k, intent in enumerate(w.INTENTS):
        here = big.intent == k
        gap = big.confidence[here].mean() - big.resolvable[here].mean()
        if intent.overstatement >= 1.5:
            assert gap > 0.05, intent.name
    shares = np.bincount(big.intent) / big.size
    np.testing.assert_allclose(shares, [i.share for i in w.INTENTS], atol=0.01)
    assert big.writes.mean() == pytest.approx(0.37, abs=0.01)


def test_first_slices_every_field():
    conv = w.simulate(100, seed=1).first(10)
    assert conv.size == 10 and conv.catches.shape == (10,)


def test_per_group_calibration_matches_scikit_learn_logistic_regression():
    conv = w.simulate(20_000, seed=3)
    cal = w.fit_calibrator(conv.confidence, conv.resolvable, conv.intent)
    got = cal(conv.confidence, conv.intent)
    for k in range(len(w.INTENTS)):
        here = conv.intent == k
        x = w.logit(conv.confidence[here]).reshape(-1, 1)
        ref = LogisticRegression(C=1e6).fit(x, conv.resolvable[here])
        # Platt's smoothed targets differ from 0/1 by O(1/n): a small gap.
        np.testing.assert_allclose(got[here], ref.predict_proba(x)[:, 1], atol=2e-3)
        # Calibrated: the mean prediction matches the rate in each group.
        assert got[here].mean() == pytest.approx(conv.resolvable[here].mean(), abs=2e-3)


def test_calibration_is_monotone_within_a_group():
    conv = w.simulate(5_000, seed=2)
    cal = w.fit_calibrator(conv.confidence, conv.resolvable, conv.intent)
    p = cal(conv.confidence, conv.intent)
    for k in range(len(w.INTENTS)):
        here = conv.intent == k
        order = np.argsort(conv.confidence[here])
        assert np.all(np.diff(p[here][order]) >= 0)
    with pytest.raises(ValueError, match="no calibration fitted for group 9"):
        cal(conv.confidence[:3], np.array([9, 9, 9]))


def reference_threshold(score, bad, cap, margin=True):
    """Brute force: every candidate cut, its kept set, its Wilson upper bound."""
    best = float("inf")
    n = len(score)
    for cut in sorted(set(score)):
        kept_bad = int(sum(b for s, b in zip(score, bad, strict=True) if s >= cut))
        if margin:
            rate = proportion_confint(kept_bad, n, alpha=0.05, method="wilson")[1]
        else:
            rate = kept_bad / n
        if rate <= cap + 1e-12:
            best = min(best, cut)
    return best


@pytest.mark.parametrize("margin", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_under_cap_matches_a_brute_force_reference(seed, margin):
    rng = np.random.default_rng(seed)
    score = rng.random(300)
    bad = rng.random(300) < 0.3 * (1 - score)
    got = w.threshold_under_cap(score, bad, 0.05, margin=margin)
    assert got == reference_threshold(score.tolist(), bad.tolist(), 0.05, margin)
    kept = score >= got
    upper = proportion_confint(int(bad[kept].sum()), 300, method="wilson")[1]
    assert (upper if margin else bad[kept].mean() * kept.mean()) <= 0.05 + 1e-12


def test_threshold_hands_everything_off_when_nothing_meets_the_cap():
    assert w.threshold_under_cap([0.9, 0.8], np.array([True, True]), 0.01) == np.inf


def test_per_group_thresholds_hold_each_group_to_the_cap():
    conv = w.simulate(20_000, seed=7)
    bad = w.bad_if_kept(conv, confirm=False, server_rules=True)
    cuts = w.thresholds_per_group(conv.confidence, bad, conv.intent, 0.02)
    kept = w.keep_mask(conv.confidence, conv.intent, cuts)
    for k in range(len(w.INTENTS)):
        here = conv.intent == k
        assert (bad & kept)[here].mean() <= 0.02  # the margin keeps it below
        assert cuts[k] == w.threshold_under_cap(conv.confidence[here], bad[here], 0.02)
    with pytest.raises(ValueError, match="no threshold for groups"):
        w.keep_mask(conv.confidence, conv.intent, {0: 0.5})


def reference_grade(conv, kept, confirm, rules):
    """One conversation at a time, in plain Python."""
    closed = bad = wrong = 0
    for i in range(conv.size):
        if not kept[i]:
            continue
        right = bool(conv.resolvable[i])
        stopped = False
        if conv.writes[i]:
            if right:
                stopped = confirm and bool(conv.declines[i])
            else:
                stopped = (confirm and bool(conv.catches[i])) or (
                    rules and bool(conv.over_policy[i])
                )
        if not stopped:
            closed += 1
            if not right:
                bad += 1
                wrong += bool(conv.writes[i])
    n = conv.size
    return closed / n, bad / n, wrong / n


@pytest.mark.parametrize("confirm", [True, False])
@pytest.mark.parametrize("rules", [True, False])
def test_grade_matches_a_conversation_by_conversation_reference(confirm, rules):
    conv = w.simulate(4_000, seed=11)
    kept = conv.confidence > 0.6
    got = w.grade(conv, kept, confirm, rules)
    closed, bad, wrong = reference_grade(conv, kept, confirm, rules)
    assert got.containment == pytest.approx(closed)
    assert got.bad == pytest.approx(bad)
    assert got.wrong_writes == pytest.approx(wrong)
    assert got.handoff == pytest.approx(1 - closed)
    weights = np.bincount(conv.intent) / conv.size
    assert np.nansum(got.bad_by_intent * weights) == pytest.approx(bad)


def test_confirmation_and_rules_only_ever_remove_bad_resolutions():
    conv = w.simulate(5_000, seed=12)
    plain = w.bad_if_kept(conv, False, False)
    for confirm, rules in ((True, False), (False, True), (True, True)):
        safer = w.bad_if_kept(conv, confirm, rules)
        assert not (safer & ~plain).any()
        # Only wrong writes are stopped; a wrong answer to a read intent stays bad.
        np.testing.assert_array_equal(safer[~conv.writes], plain[~conv.writes])


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        w.simulate(0, seed=1)
    with pytest.raises(TypeError, match="n must be an integer"):
        w.simulate(2.5, seed=1)
    with pytest.raises(TypeError, match="world must be a World"):
        w.simulate(10, seed=1, world="retail")
    skewed = replace(w.World(), intents=(replace(w.INTENTS[0], share=0.5),))
    with pytest.raises(ValueError, match="sum to 1"):
        w.simulate(10, seed=1, world=skewed)
    with pytest.raises(ValueError, match="cap must be in"):
        w.threshold_under_cap([0.5], np.array([False]), 1.5)
    with pytest.raises(TypeError, match="boolean"):
        w.threshold_under_cap([0.5], np.array([0]), 0.1)
    with pytest.raises(ValueError, match="finite"):
        w.threshold_under_cap([np.nan], np.array([False]), 0.1)
    with pytest.raises(ValueError, match="equal length"):
        w.fit_calibrator([0.5, 0.6], [True], [0, 0])
    with pytest.raises(ValueError, match="one entry per conversation"):
        w.grade(w.simulate(10, seed=1), np.ones(3, bool), True, True)
    with pytest.raises(ValueError, match="unknown cause"):
        w.without(w.World(), "weather")
