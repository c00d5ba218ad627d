"""Pseudonymisation, group fairness metrics and differential privacy, simulated.

Run it: ``python -m snippets.concepts.responsible_ml``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from snippets.concepts.calibration import expected_calibration_error
from snippets.concepts.classification_metrics import (
    bayes_threshold,
    check_binary_inputs,
    confusion,
    expected_cost,
    precision,
    recall,
)


# --8<-- [start:pseudonymise]
def plain_hash(user_id: str) -> str:
    """SHA-256 of the id: deterministic, and anyone can compute it."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def keyed_pseudonym(user_id: str, key: bytes) -> str:
    """HMAC-SHA256 of the id under a secret key kept apart from the data."""
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("key must be at least 16 random bytes")
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def reidentified(
    pseudonyms: Sequence[str],
    candidate_ids: Sequence[str],
    pseudonymise: Callable[[str], str],
) -> int:
    """Pseudonyms an attacker reverses by pseudonymising every candidate id."""
    lookup = {pseudonymise(candidate): candidate for candidate in candidate_ids}
    return sum(p in lookup for p in pseudonyms)
    # --8<-- [end:pseudonymise]


# --8<-- [start:fairness]
@dataclass(frozen=True)
class GroupRates:
    """What one group experiences from a classifier's hard decisions."""

    size: int
    base_rate: float  # P(y = 1)
    selection_rate: float  # P(decision = 1): demographic parity compares these
    tpr: float  # recall: equal opportunity compares these
    fpr: float  # equalised odds compares TPR and FPR
    ppv: float  # precision: predictive parity compares these


def group_rates(
    y_true: ArrayLike, y_pred: ArrayLike, groups: ArrayLike
) -> dict[str, GroupRates]:
    """Per-group base rate, selection rate, TPR, FPR and PPV of 0/1 decisions."""
    labels, preds = check_binary_inputs(y_true, y_pred, name="y_pred")
    groups = np.asarray(groups)
    if groups.shape != labels.shape:
        raise ValueError("groups must have one entry per example")
    rates = {}
    for g in np.unique(groups):
        mine = groups == g
        y, p = labels[mine], preds[mine]
        if y.min() == y.max():
            raise ValueError(f"group {g!r} needs both outcomes to define TPR and FPR")
        c = confusion(y, p)
        rates[str(g)] = GroupRates(
            size=int(mine.sum()),
            base_rate=float(y.mean()),
            selection_rate=float(p.mean()),
            tpr=recall(y, p),
            fpr=c.fp / (c.fp + c.tn),
            ppv=precision(y, p),
        )
    return rates


def fairness_gaps(rates: dict[str, GroupRates]) -> dict[str, float]:
    """Largest between-group difference of each rate (0 means parity)."""
    if len(rates) < 2:
        raise ValueError("fairness gaps need at least two groups")

    def spread(name: str) -> float:
        values = [getattr(r, name) for r in rates.values()]
        return max(values) - min(values)

    return {
        "demographic parity difference": spread("selection_rate"),
        "equal opportunity (TPR) gap": spread("tpr"),
        "FPR gap": spread("fpr"),
        # Equalised odds needs both gaps at 0; report the worse one (as fairlearn).
        "equalised odds difference": max(spread("tpr"), spread("fpr")),
        "predictive parity (PPV) gap": spread("ppv"),
    }
    # --8<-- [end:fairness]


# --8<-- [start:impossibility]
def fpr_from_identity(prevalence: float, ppv: float, fnr: float) -> float:
    """Chouldechova's identity: FPR = p/(1-p) * (1-PPV)/PPV * (1-FNR)."""
    for name, value in (("prevalence", prevalence), ("ppv", ppv)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    if not 0 <= fnr <= 1:
        raise ValueError(f"fnr must be in [0, 1], got {fnr}")
    return prevalence / (1 - prevalence) * (1 - ppv) / ppv * (1 - fnr)


def threshold_for_tpr(y_true: ArrayLike, y_score: ArrayLike, target: float) -> float:
    """Highest threshold whose TPR (score >= threshold) reaches the target."""
    labels, scores = check_binary_inputs(y_true, y_score)
    if not 0 < target <= 1:
        raise ValueError(f"target TPR must be in (0, 1], got {target}")
    positives = np.sort(scores[labels == 1])[::-1]  # best first
    if positives.size == 0:
        raise ValueError("no positive example: TPR is undefined")
    needed = int(np.ceil(target * positives.size))  # positives to flag
    return float(positives[needed - 1])

    # --8<-- [end:impossibility]


# --8<-- [start:laplace]
def laplace_count(
    true_count: int, epsilon: float, rng: np.random.Generator, size: int = 1
) -> np.ndarray:
    """Release a count with epsilon-DP: add Laplace noise of scale 1 / epsilon.

    Teaching code: textbook floating-point Laplace sampling leaks through the
    low-order bits of its output (Mironov, 2012); use a vetted library such as
    OpenDP in production.
    """
    if isinstance(true_count, bool) or not isinstance(true_count, int | np.integer):
        raise TypeError("true_count must be an integer count")
    if true_count < 0:
        raise ValueError(f"a count cannot be negative, got {true_count}")
    if not np.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be a positive number, got {epsilon}")
    sensitivity = 1.0  # adding or removing one person changes a count by at most 1
    return true_count + rng.laplace(0.0, sensitivity / epsilon, size=size)


def laplace_error_table(
    epsilons: tuple[float, ...], releases: int = 100_000, seed: int = 0
) -> list[dict[str, float]]:
    """Empirical error of many noisy releases per epsilon, and a KS test vs SciPy."""
    rng = np.random.default_rng(seed)
    rows = []
    for epsilon in epsilons:
        noise = laplace_count(1_000, epsilon, rng, size=releases) - 1_000
        scale = 1.0 / epsilon
        ks = stats.kstest(noise, stats.laplace(scale=scale).cdf)
        rows.append(
            {
                "epsilon": epsilon,
                "scale": scale,
                "mean_abs_error": float(np.mean(np.abs(noise))),
                "p95_abs_error": float(np.quantile(np.abs(noise), 0.95)),
                "p95_theory": scale * np.log(20),  # P(|noise| > t) = exp(-t / b)
                "ks_statistic": float(ks.statistic),
                "ks_pvalue": float(ks.pvalue),
            }
        )
    return rows


def advanced_composition_epsilon(epsilon: float, k: int, delta_prime: float) -> float:
    """Total epsilon of k epsilon-DP releases, with slack delta_prime (advanced).

    sqrt(2k ln(1/delta')) * eps + k * eps * (e^eps - 1); plain (sequential)
    composition gives k * eps with no slack.
    """
    if epsilon <= 0 or k < 1 or not 0 < delta_prime < 1:
        raise ValueError("need epsilon > 0, k >= 1 and delta_prime in (0, 1)")
    return float(
        np.sqrt(2 * k * np.log(1 / delta_prime)) * epsilon
        + k * epsilon * np.expm1(epsilon)
    )
    # --8<-- [end:laplace]


# --8<-- [start:demo]
GROUP_BETAS = {"A": (1.2, 2.8), "B": (0.4, 3.6)}  # mean risk 0.30 and 0.10
THRESHOLD = 0.3
EPSILONS = (0.1, 0.5, 1.0, 2.0, 5.0)


def simulate_groups(
    n_per_group: int = 100_000, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, calibrated scores and group ids for two groups of different base rate."""
    rng = np.random.default_rng(seed)
    scores, groups = [], []
    for name, (a, b) in GROUP_BETAS.items():
        scores.append(rng.beta(a, b, n_per_group))
        groups.append(np.full(n_per_group, name))
    score, group = np.concatenate(scores), np.concatenate(groups)
    # The score IS the probability of the outcome: calibrated within each group.
    label = (rng.random(score.size) < score).astype(int)
    return label, score, group


def print_rates(rates: dict[str, GroupRates], thresholds: dict[str, float]) -> None:
    print("group    t  base rate selected   TPR   FPR   PPV")
    for g, r in rates.items():
        print(
            f"{g:>5} {thresholds[g]:.2f} {r.base_rate:10.3f} {r.selection_rate:8.3f}"
            f" {r.tpr:5.3f} {r.fpr:5.3f} {r.ppv:5.3f}"
        )


def main() -> None:
    rng = np.random.default_rng(3)
    users = [f"{i:05d}" for i in rng.choice(100_000, size=1_000, replace=False)]
    every_id = [f"{i:05d}" for i in range(100_000)]
    key = rng.bytes(32)  # in production: a secret from a key store, not the data
    plain = reidentified([plain_hash(u) for u in users], every_id, plain_hash)
    guessed_key = rng.bytes(32)  # the attacker does not have the secret key
    keyed = reidentified(
        [keyed_pseudonym(u, key) for u in users],
        every_id,
        lambda u: keyed_pseudonym(u, guessed_key),
    )
    print(
        "Pseudonymised 5-digit user ids; the attacker hashes all 100,000 possible ids"
    )
    print(f"  plain SHA-256            re-identified {plain:,} of {len(users):,}")
    print(f"  HMAC-SHA256, secret key  re-identified {keyed:,} of {len(users):,}")
    print()

    y, score, group = simulate_groups()
    print(f"Two groups, calibrated scores, n = {y.size // 2:,} per group")
    print("group  ECE  mean score | y=1  mean score | y=0")
    for g in GROUP_BETAS:
        mine = group == g
        ece = expected_calibration_error(y[mine], score[mine])
        pos, neg = score[mine & (y == 1)].mean(), score[mine & (y == 0)].mean()
        print(f"{g:>5} {ece:.3f} {pos:17.3f} {neg:17.3f}")

    one_t = dict.fromkeys(GROUP_BETAS, THRESHOLD)
    rates = group_rates(y, (score >= THRESHOLD).astype(int), group)
    print(f"\nOne threshold for everyone (t = {THRESHOLD}):")
    print_rates(rates, one_t)
    for name, gap in fairness_gaps(rates).items():
        print(f"  {name:29} {gap:.3f}")
    b = rates["B"]
    identity = fpr_from_identity(b.base_rate, b.ppv, 1 - b.tpr)
    print(f"Chouldechova identity for B: FPR {identity:.3f} = measured {b.fpr:.3f}")

    # Equal opportunity: lower B's threshold until its TPR matches A's.
    in_b = group == "B"
    t_b = threshold_for_tpr(y[in_b], score[in_b], rates["A"].tpr)
    per_group = {"A": THRESHOLD, "B": t_b}
    decision = (score >= np.where(in_b, t_b, THRESHOLD)).astype(int)
    equalised = group_rates(y, decision, group)
    print("\nPer-group thresholds equalising TPR:")
    print_rates(equalised, per_group)
    gaps = fairness_gaps(equalised)
    print(f"  equal opportunity (TPR) gap   {gaps['equal opportunity (TPR) gap']:.3f}")
    print(f"  FPR gap                       {gaps['FPR gap']:.3f}")
    errors_before = int(np.sum((score >= THRESHOLD) != y))
    errors_after = int(np.sum(decision != y))
    change = errors_after / errors_before - 1
    print(f"  errors {errors_before:,} -> {errors_after:,} ({change:+.1%})")
    # One threshold t on calibrated scores minimises the expected cost when
    # cost_fp / (cost_fp + cost_fn) = t; only t = 0.5 minimises the error count.
    cost_fp, cost_fn = THRESHOLD, 1 - THRESHOLD
    t_bayes = bayes_threshold(cost_fp, cost_fn)
    in_a = ~in_b

    def total_cost(t_a: float, t_of_b: float) -> float:
        return sum(
            expected_cost(y[g], score[g], t, cost_fp, cost_fn) * g.sum()
            for g, t in ((in_a, t_a), (in_b, t_of_b))
        )

    before, after = total_cost(t_bayes, t_bayes), total_cost(t_bayes, t_b)
    print(
        f"  cost when a false negative = {cost_fn / cost_fp:.2f} false positives "
        f"(t = {t_bayes:.2f} optimal)"
    )
    print(f"    {before:,.0f} -> {after:,.0f} ({after / before - 1:+.1%})")

    print("\nLaplace mechanism on a count (sensitivity 1), 100,000 releases each")
    print("epsilon  scale  mean|err|  p95|err|  theory p95  KS stat  KS p")
    for r in laplace_error_table(EPSILONS):
        print(
            f"{r['epsilon']:7.1f} {r['scale']:6.2f} {r['mean_abs_error']:10.2f}"
            f" {r['p95_abs_error']:9.2f} {r['p95_theory']:11.2f}"
            f" {r['ks_statistic']:8.4f} {r['ks_pvalue']:5.2f}"
        )

    print("\nComposition: k releases at epsilon 0.1 each, delta' = 1e-6")
    print("    k  sequential k*eps  advanced")
    for k in (10, 100, 1_000):
        advanced = advanced_composition_epsilon(0.1, k, 1e-6)
        print(f"{k:>5} {0.1 * k:>17.1f} {advanced:>9.2f}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
