"""A random split flatters a model on drifting data; a time split tells the truth.

Ninety days of examples whose labelling rule drifts slowly. The offline estimate
from a random holdout is compared with the estimate from a holdout of the latest
days, and both with what the model actually scores on the following weeks. A
control run removes the drift and keeps everything else. Then two checks that come
before an A/B test: whether logged propensities can tell if a new policy would win
(off-policy replay), and whether human raters agree enough to judge one.

Run it: ``python -m snippets.framework.evaluation``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from sklearn.linear_model import LogisticRegression

from snippets.common.stats import is_tie
from snippets.concepts.classification_metrics import roc_auc
from snippets.concepts.experimentation import srm_test
from snippets.concepts.off_policy import snips


# --8<-- [start:splits]
def time_split(
    timestamps: np.ndarray, holdout_share: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the earliest (train) and latest (holdout) examples."""
    times = np.asarray(timestamps, dtype=float)
    if times.ndim != 1 or times.size < 2:
        raise ValueError("timestamps must be a 1-D array with at least two entries")
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    if times.min() == times.max():
        raise ValueError("all timestamps are equal: a time split needs a time range")
    cutoff = np.quantile(times, 1 - holdout_share)
    if cutoff <= times.min():  # ties at the start: cut after the earliest instant
        cutoff = times[times > times.min()].min()
    # Strictly before vs at-or-after: one instant never lands on both sides.
    return np.flatnonzero(times < cutoff), np.flatnonzero(times >= cutoff)


def random_split(
    n: int, holdout_share: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a shuffled split: every day appears on both sides."""
    if n < 2:
        raise ValueError(f"need at least two examples to split, got {n}")
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    order = np.random.default_rng(seed).permutation(n)
    n_holdout = max(1, round(n * holdout_share))
    return order[n_holdout:], order[:n_holdout]
    # --8<-- [end:splits]


# --8<-- [start:drift]
HISTORY_DAYS = 90  # the model launches after this many days of data


def drifting_data(
    n: int = 30_000, days: int = 120, seed: int = 0, drift: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels, day; the weight of feature 0 changes sign over the period.

    With drift=False the weight is held at its average over the history (control).
    """
    rng = np.random.default_rng(seed)
    day = np.sort(rng.uniform(0, days, n))
    x = rng.normal(size=(n, 4))
    progress = day / days if drift else np.full(n, HISTORY_DAYS / 2 / days)
    logit = (1.5 - 3.0 * progress) * x[:, 0] + x[:, 1] - 0.5 * x[:, 2] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y, day


def compare_splits(seed: int = 0, drift: bool = True) -> dict[str, float]:
    """ROC-AUC estimated by each protocol and measured on the weeks after launch."""
    x, y, day = drifting_data(seed=seed, drift=drift)
    history = np.flatnonzero(day < HISTORY_DAYS)  # what we have at launch time
    future = np.flatnonzero(day >= HISTORY_DAYS)  # the weeks the model then serves

    def auc(train: np.ndarray, test: np.ndarray) -> float:
        model = LogisticRegression().fit(x[train], y[train])
        return roc_auc(y[test], model.predict_proba(x[test])[:, 1])

    rand_train, rand_test = random_split(history.size, seed=seed)
    time_train, time_test = time_split(day[history])
    return {
        "random split estimate": auc(history[rand_train], history[rand_test]),
        "time split estimate": auc(history[time_train], history[time_test]),
        "after launch": auc(history, future),
    }
    # --8<-- [end:drift]


# --8<-- [start:srm]
# Arm counts of a test designed as 50/50: the same 50.8/49.2 split at two sizes,
# and the 1.5% shortfall of the self-check.
SRM_EXAMPLES = ((508, 492), (50_800, 49_200), (1_000_000, 985_000))


def srm_table(examples: tuple[tuple[int, int], ...] = SRM_EXAMPLES) -> list[str]:
    """One row per (control, treatment) count: the split, chi-square and p-value."""
    rows = [f"{'control':>9} {'treatment':>9} {'split':>9} {'chi2':>7} {'p':>8}"]
    for control, treatment in examples:
        chi2, p_value = srm_test([control, treatment], [0.5, 0.5])
        share = control / (control + treatment)
        split = f"{share:.1%}/{1 - share:.1%}".replace("%", "")
        rows.append(
            f"{control:>9,} {treatment:>9,} {split:>9} {chi2:>7.2f} {p_value:>8.2g}"
        )
    return rows
    # --8<-- [end:srm]


def _weights(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be a non-empty 1-D array of finite w >= 0")
    if w.sum() == 0:
        raise ValueError("every weight is zero: the policy matches no logged event")
    return w


# --8<-- [start:ope]
def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights: (sum w)^2 / sum w^2."""
    w = _weights(weights)
    return float(w.sum() ** 2 / np.sum(w**2))


def snips_lift(
    reward: np.ndarray,
    logged_prob: np.ndarray,
    new_prob: np.ndarray,
    old_prob: np.ndarray,
) -> tuple[float, float]:
    """New policy's value minus the old one's from the same log, and its standard
    error. Both SNIPS estimates reweight the same events, so the error is paired:
    the delta method on the difference of their influence functions."""
    lift = snips(reward, logged_prob, new_prob) - snips(reward, logged_prob, old_prob)
    influence = []
    for prob in (new_prob, old_prob):
        w = np.asarray(prob, dtype=float) / np.asarray(logged_prob, dtype=float)
        value = np.sum(w * reward) / w.sum()
        influence.append(w * (np.asarray(reward) - value) / w.mean())
    paired = influence[0] - influence[1]
    return lift, float(paired.std(ddof=1) / math.sqrt(paired.size))
    # --8<-- [end:ope]


def policy_world(seed: int = 0, segments: int = 10, items: int = 10) -> dict:
    """Click rates per (segment, item); production picks by a stale guess of them,
    the new policy by a better one. The truth is known here, never to the estimators."""
    rng = np.random.default_rng(seed)
    ctr = rng.beta(2, 38, size=(segments, items))  # about 5% on average
    old = (ctr + rng.normal(0, 0.03, ctr.shape)).argmax(axis=1)
    new = (ctr + rng.normal(0, 0.005, ctr.shape)).argmax(axis=1)
    rows = np.arange(segments)
    lift = float(ctr[rows, new].mean() - ctr[rows, old].mean())
    return {"ctr": ctr, "old": old, "new": new, "true_lift": lift}


def epsilon_greedy_log(
    world: dict, epsilon: float, events: int, rng: np.random.Generator
) -> dict:
    """Production's picks, with a random item on a share epsilon of requests, and
    the probability with which each logged item was chosen."""
    if not 0 < epsilon <= 1:
        raise ValueError(f"epsilon must be in (0, 1], got {epsilon}")
    ctr, old, new = world["ctr"], world["old"], world["new"]
    segments, items = ctr.shape
    x = rng.integers(0, segments, events)
    explore = rng.random(events) < epsilon
    a = np.where(explore, rng.integers(0, items, events), old[x])
    logged = np.where(a == old[x], 1 - epsilon, 0.0) + epsilon / items
    return {
        "reward": (rng.random(events) < ctr[x, a]).astype(float),
        "logged_prob": logged,
        "new_prob": (a == new[x]).astype(float),
        "old_prob": (a == old[x]).astype(float),
    }


def replay_verdicts(
    epsilon: float, logs: int = 40, events: int = 100_000, seed: int = 0
) -> dict[str, float]:
    """Over independent logs of one exploration share: the new policy's effective
    sample size, the 95% interval's half-width, how often it covers the true lift,
    how often it calls the (real) win, and the mean lift the winning logs report."""
    world = policy_world(seed)
    rng = np.random.default_rng(1_000 + seed)
    z = NormalDist().inv_cdf(0.975)
    covered, ess, half, winners = 0, [], [], []
    for _ in range(logs):
        log = epsilon_greedy_log(world, epsilon, events, rng)
        lift, se = snips_lift(**log)
        low, high = lift - z * se, lift + z * se
        covered += low <= world["true_lift"] <= high
        if not is_tie(low, high) and lift > 0:
            winners.append(lift)
        ess.append(effective_sample_size(log["new_prob"] / log["logged_prob"]))
        half.append(z * se)
    return {
        "ess": float(np.median(ess)),
        "half_width": float(np.median(half)),
        "coverage": covered / logs,
        "wins": len(winners) / logs,
        "winning_lift": float(np.mean(winners)) if winners else float("nan"),
        "true_lift": world["true_lift"],
    }


# --8<-- [start:raters]
def cohen_kappa(rater_a: np.ndarray, rater_b: np.ndarray) -> float:
    """Agreement beyond chance, (p_o - p_e) / (1 - p_e), where p_e is the
    agreement the two would reach by luck, each keeping its own label shares."""
    a, b = np.asarray(rater_a), np.asarray(rater_b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError("two non-empty 1-D label arrays of the same length")
    observed = float(np.mean(a == b))
    labels = np.union1d(a, b)
    chance = sum(np.mean(a == lab) * np.mean(b == lab) for lab in labels)
    if chance == 1:
        raise ValueError("both raters use one label only: kappa is undefined")
    return float((observed - chance) / (1 - chance))


def pairs_needed(preference: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Side-by-side judgments (ties left out) to tell a preference share from 50/50."""
    if not 0.5 < preference < 1:
        raise ValueError(f"preference must be in (0.5, 1), got {preference}")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must be in (0, 1)")
    z_alpha = NormalDist().inv_cdf(1 - alpha / 2)
    z_power = NormalDist().inv_cdf(power)
    spread = z_alpha * 0.5 + z_power * math.sqrt(preference * (1 - preference))
    return math.ceil((spread / (preference - 0.5)) ** 2)
    # --8<-- [end:raters]


LABELS = np.array(["A better", "same", "B better"])


def two_raters(
    shares: tuple[float, float, float], accuracy: float, pairs: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two raters judge the same side-by-side pairs: each reports the true label
    with probability accuracy, otherwise a label drawn uniformly (a guess)."""
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=pairs, p=shares)

    def rate() -> np.ndarray:
        lapse = rng.random(pairs) >= accuracy
        return LABELS[np.where(lapse, rng.integers(0, 3, pairs), truth)]

    return rate(), rate()


# Side-by-side rating, stated assumptions: the raters' accuracy, the shares of
# pairs that are really better, equal or worse, and the raters' time and pay.
RATER_ACCURACY, RATED_PAIRS = 0.7, 2_000
BALANCED, MOSTLY_SAME = (1 / 3, 1 / 3, 1 / 3), (0.05, 0.90, 0.05)
PREFERENCE, TIE_SHARE, RATERS_PER_PAIR = 0.55, 0.4, 3
SECONDS_PER_JUDGMENT, DOLLARS_PER_RATER_HOUR = 60, 30  # order of magnitude
EPSILONS = (0.2, 0.05, 0.01)


# --8<-- [start:demo]
def overstatement(runs: list[dict[str, float]], protocol: str) -> str:
    """min-max over runs of a protocol's estimate minus the after-launch AUC."""
    gaps = [r[f"{protocol} estimate"] - r["after launch"] for r in runs]
    return f"{min(gaps):.3f} to {max(gaps):.3f}"


def main() -> None:
    runs = [compare_splits(seed) for seed in range(5)]
    print("ROC-AUC of the same logistic regression, 90 days of history (seed 0)")
    for name, value in runs[0].items():
        print(f"  {name:<22} {value:.3f}")
    print("How much each estimate overstates the after-launch AUC, seeds 0-4:")
    for protocol in ("random split", "time split"):
        print(f"  {protocol:<22} {overstatement(runs, protocol)}")

    control = [compare_splits(seed, drift=False) for seed in range(5)]
    print("\nControl: drift removed (weight of feature 0 fixed), seeds 0-4, min-max")
    for name in control[0]:
        values = [run[name] for run in control]
        print(f"  {name:<22} {min(values):.3f}-{max(values):.3f}")
    print("How much each estimate overstates the after-launch AUC, no drift:")
    for protocol in ("random split", "time split"):
        print(f"  {protocol:<22} {overstatement(control, protocol)}")

    print("\nSample ratio mismatch: chi-square of the arm counts against 50/50")
    for row in srm_table():
        print(row)

    print("\nWould the new policy beat production? SNIPS lift from epsilon-greedy logs")
    runs = {eps: replay_verdicts(eps) for eps in EPSILONS}
    world = policy_world(0)
    changed = int(np.sum(world["new"] != world["old"]))
    print(
        f"true lift in click rate {world['true_lift']:+.4f}; the new policy changes "
        f"the pick in {changed} of {world['old'].size} segments"
    )
    print("40 logs of 100,000 events each; 95% interval, delta method")
    print("(ESS, interval: medians)")
    print(
        f"{'epsilon':>7} {'ESS':>6} {'interval':>9} {'covers':>6} {'wins':>5} "
        f"{'lift when it wins':>17}"
    )
    for eps, r in runs.items():
        print(
            f"{eps:>7.0%} {r['ess']:>6,.0f} {'±' + format(r['half_width'], '.4f'):>9} "
            f"{r['coverage']:>6.0%} {r['wins']:>5.0%} {r['winning_lift']:>+17.4f}"
        )
    print("  covers: the interval holds the true lift; wins: it is all above zero")

    print(
        f"\nTwo raters, {RATED_PAIRS:,} side-by-side pairs; each judges "
        f"{RATER_ACCURACY:.0%} of them and guesses the rest"
    )
    print(f"{'truly A better / same / B better':<33} {'agreement':>9} {'kappa':>6}")
    for shares in (BALANCED, MOSTLY_SAME):
        a, b = two_raters(shares, RATER_ACCURACY, RATED_PAIRS, seed=0)
        label = " / ".join(f"{share:.0%}" for share in shares)
        print(f"{label:<33} {np.mean(a == b):>9.1%} {cohen_kappa(a, b):>6.2f}")
    n = pairs_needed(PREFERENCE)
    sent = math.ceil(n / (1 - TIE_SHARE))
    judgments = sent * RATERS_PER_PAIR
    hours = judgments * SECONDS_PER_JUDGMENT / 3600
    print(
        f"To tell {PREFERENCE:.0%} from 50% (alpha 0.05, power 0.8): {n:,} non-tied "
        f"pairs;"
    )
    print(
        f"  {TIE_SHARE:.0%} ties -> {sent:,} pairs x {RATERS_PER_PAIR} raters = "
        f"{judgments:,} judgments,"
    )
    print(
        f"  {hours:,.0f} rater-hours, ${hours * DOLLARS_PER_RATER_HOUR:,.0f} at "
        f"${DOLLARS_PER_RATER_HOUR} an hour"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
