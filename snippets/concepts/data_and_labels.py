"""Sampling, class imbalance and split leakage, each checked against a reference.

Run it: ``python -m snippets.concepts.data_and_labels``.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from snippets.common.stats import paired_interval
from snippets.concepts.classification_metrics import (
    average_precision,
    check_binary_inputs,
    paired_bootstrap_ap,
    roc_auc,
)

Item = TypeVar("Item")


# --8<-- [start:reservoir]
def reservoir_sample(
    stream: Iterable[Item], k: int, rng: np.random.Generator
) -> list[Item]:
    """Uniform sample of k items from a stream of unknown length (Algorithm R)."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    reservoir: list[Item] = []
    for seen, item in enumerate(stream):
        if seen < k:
            reservoir.append(item)
            continue
        # Item number seen+1 enters with probability k / (seen + 1) and evicts a
        # uniformly chosen resident, which keeps every item's chance at k / n.
        slot = int(rng.integers(0, seen + 1))
        if slot < k:
            reservoir[slot] = item
    if len(reservoir) < k:
        raise ValueError(f"the stream had {len(reservoir)} items, fewer than k={k}")
    return reservoir
    # --8<-- [end:reservoir]


def inclusion_counts(
    sampler, n: int, k: int, trials: int, rng: np.random.Generator
) -> np.ndarray:
    """How often each of n stream positions ends up in the sample over many runs."""
    counts = np.zeros(n, dtype=int)
    for _ in range(trials):
        for item in sampler(range(n), k, rng):
            counts[item] += 1
    return counts


# --8<-- [start:reservoir-check]
def inclusion_p_value(counts: np.ndarray, k: int) -> float:
    """Chi-square p-value against 'every position equally likely', k per run."""
    n = counts.size
    if not 1 <= k < n or counts.sum() == 0:
        raise ValueError(f"need 1 <= k < n = {n} and at least one run, got k={k}")
    expected = counts.mean()
    # A run holds k distinct positions, so counts vary less than multinomial
    # counts would: rescale Pearson's statistic by (n - 1) / (n - k).
    statistic = np.sum((counts - expected) ** 2 / expected) * (n - 1) / (n - k)
    return float(stats.chi2.sf(statistic, df=n - 1))


def subset_counts(
    sampler, n: int, k: int, trials: int, rng: np.random.Generator
) -> np.ndarray:
    """How often each of the C(n, k) subsets is the sample: the joint distribution."""
    index = {subset: i for i, subset in enumerate(combinations(range(n), k))}
    counts = np.zeros(len(index), dtype=int)
    for _ in range(trials):
        counts[index[tuple(sorted(sampler(range(n), k, rng)))]] += 1
    return counts


def subset_p_value(counts: np.ndarray) -> float:
    """Chi-square p-value against 'every k-subset equally likely' (one per run)."""
    return float(stats.chisquare(counts).pvalue)


# --8<-- [end:reservoir-check]


def format_p(p_value: float) -> str:
    """'0.624' with three decimals, or '< 0.001' when too small to print usefully."""
    return f"{p_value:.3f}" if p_value >= 0.001 else "< 0.001"


# --8<-- [start:wrong-samplers]
def recency_biased_sample(
    stream: Iterable[Item], k: int, rng: np.random.Generator
) -> list[Item]:
    """A plausible-looking but wrong sampler: replaces a slot with probability 1/2."""
    reservoir: list[Item] = []
    for item in stream:
        if len(reservoir) < k:
            reservoir.append(item)
        elif rng.random() < 0.5:
            reservoir[int(rng.integers(0, k))] = item
    return reservoir


def systematic_sample(
    stream: Iterable[Item], k: int, rng: np.random.Generator
) -> list[Item]:
    """Every (n/k)-th item from a random start: fair per item, not per pair."""
    items = list(stream)  # needs n in advance, unlike a reservoir
    if k < 1 or len(items) % k:
        raise ValueError("systematic sampling needs k >= 1 and n a multiple of k")
    step = len(items) // k
    return items[int(rng.integers(0, step)) :: step]
    # --8<-- [end:wrong-samplers]


# --8<-- [start:focal]
def focal_loss(
    y_true: ArrayLike, y_prob: ArrayLike, gamma: float = 2.0, alpha: float | None = None
) -> float:
    """Mean of -a_t (1 - p_t)^gamma log(p_t) (Lin et al., 2017); gamma=0 is log loss."""
    labels, probs = check_binary_inputs(y_true, y_prob, name="y_prob")
    if gamma < 0:
        raise ValueError(f"gamma must be non-negative, got {gamma}")
    if alpha is not None and not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(np.mean(focal_terms(labels, probs, gamma, alpha)))


def focal_terms(
    labels: np.ndarray, probs: np.ndarray, gamma: float, alpha: float | None
) -> np.ndarray:
    """Per-example focal loss; p_t is the probability given to the true class."""
    eps = np.finfo(float).eps
    p_true = np.clip(np.where(labels == 1, probs, 1 - probs), eps, 1 - eps)
    weight = 1.0 if alpha is None else np.where(labels == 1, alpha, 1 - alpha)
    # (1 - p_t)^gamma is ~0 for confident, correct examples: they stop dominating.
    return -weight * (1 - p_true) ** gamma * np.log(p_true)


def focal_gradient(labels: np.ndarray, probs: np.ndarray, gamma: float) -> np.ndarray:
    """Derivative of each example's focal loss with respect to its logit."""
    eps = np.finfo(float).eps
    p_true = np.clip(np.where(labels == 1, probs, 1 - probs), eps, 1 - eps)
    # d/dz of -(1 - p_t)^g log p_t, with dp_t/dz = +-p_t (1 - p_t); g = 0 gives p - y.
    size = (1 - p_true) ** gamma * ((1 - p_true) - gamma * p_true * np.log(p_true))
    return np.where(labels == 1, -size, size)


def focal_optimal_prediction(positive_rate: float, gamma: float) -> float:
    """The prediction with the least expected focal loss when P(y = 1) is given."""
    if not 0 < positive_rate < 1:
        raise ValueError(f"positive_rate must be in (0, 1), got {positive_rate}")
    if gamma < 0:
        raise ValueError(f"gamma must be non-negative, got {gamma}")
    one, zero = np.array([1]), np.array([0])

    def expected_loss(p: float) -> float:
        p_arr = np.array([p])
        return float(
            positive_rate * focal_terms(one, p_arr, gamma, None)[0]
            + (1 - positive_rate) * focal_terms(zero, p_arr, gamma, None)[0]
        )

    # gamma = 0 is log loss, a proper scoring rule: the optimum is the rate itself.
    best = minimize_scalar(
        expected_loss,
        bounds=(1e-9, 1 - 1e-9),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(best.x)
    # --8<-- [end:focal]


# --8<-- [start:downsampling]
def correct_for_negative_downsampling(
    y_prob: ArrayLike, negative_keep_rate: float
) -> np.ndarray:
    """Undo the inflation from keeping a share w of negatives: p / (p + (1 - p) / w)."""
    probs = np.asarray(y_prob, dtype=float)
    if np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("y_prob must hold probabilities in [0, 1] (no NaN)")
    if not 0 < negative_keep_rate <= 1:
        raise ValueError(
            f"negative_keep_rate must be in (0, 1], got {negative_keep_rate}"
        )
    return probs / (probs + (1 - probs) / negative_keep_rate)
    # --8<-- [end:downsampling]


# --8<-- [start:oversampling]
def random_oversample(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Duplicate random minority rows (with replacement) until the classes balance."""
    labels = np.asarray(y)
    if x.shape[0] != labels.shape[0]:
        raise ValueError("x and y must have the same number of rows")
    minority = np.flatnonzero(labels == 1)
    majority_size = int(np.sum(labels == 0))
    if minority.size == 0 or minority.size >= majority_size:
        raise ValueError("class 1 must be the (non-empty) minority class")
    extra = rng.choice(minority, size=majority_size - minority.size, replace=True)
    rows = np.r_[np.arange(labels.size), extra]
    return x[rows], labels[rows]


def shared_rows(test: np.ndarray, train: np.ndarray) -> float:
    """Share of test rows that also appear, byte for byte, in the training set."""
    seen = {row.tobytes() for row in train}
    return float(np.mean([row.tobytes() in seen for row in test]))


def compare_oversampling_protocols(seed: int = 0) -> dict[str, dict[str, float]]:
    """Oversample-then-split (leaky) vs split-then-oversample-train (honest)."""
    rng = np.random.default_rng(seed)
    n, prevalence = 6_000, 0.03
    y = (rng.random(n) < prevalence).astype(int)
    x = rng.normal(size=(n, 8)) + 0.6 * y[:, None] * (np.arange(8) < 2)
    results = {}

    # Wrong: copies of each positive land on both sides of the split.
    x_bal, y_bal = random_oversample(x, y, rng)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x_bal, y_bal, test_size=0.3, random_state=seed
    )
    results["oversample, then split"] = _fit_and_score(x_tr, y_tr, x_te, y_te, seed)

    # Right: hold out untouched data first; only the training fold is resampled.
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y
    )
    x_tr, y_tr = random_oversample(x_tr, y_tr, rng)
    results["split, then oversample"] = _fit_and_score(x_tr, y_tr, x_te, y_te, seed)
    return results


def _fit_and_score(x_tr, y_tr, x_te, y_te, seed: int) -> dict[str, float]:
    # A fully grown tree memorises rows, so a duplicated row is predicted perfectly.
    tree = DecisionTreeClassifier(random_state=seed).fit(x_tr, y_tr)
    scores = tree.predict_proba(x_te)[:, 1]
    positives = x_te[y_te == 1]
    return {
        "prevalence": float(y_te.mean()),
        "copied": shared_rows(positives, x_tr[y_tr == 1]),
        "roc_auc": roc_auc(y_te, scores),
        "pr_auc": average_precision(y_te, scores),
    }
    # --8<-- [end:oversampling]


# --8<-- [start:time-split]
def drifting_events(
    n: int, rng: np.random.Generator, drift: bool = True
) -> tuple[np.ndarray, ...]:
    """Events over 100 days whose label rule rotates slowly: concept drift.

    With ``drift=False`` the rule stays at its halfway angle for all 100 days.
    """
    day = np.sort(rng.uniform(0, 100, size=n))
    x = rng.normal(size=(n, 4))
    # The rule turns from x0 to x1 over the period, or holds still halfway.
    angle = day / 100 * np.pi / 2 if drift else np.full(n, np.pi / 4)
    logit = 3 * (np.cos(angle) * x[:, 0] + np.sin(angle) * x[:, 1]) - 2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return day, x, y


def random_vs_time_split(seed: int = 0, drift: bool = True) -> dict[str, float]:
    """Test ROC-AUC of one model under a random split and a forward-in-time split."""
    rng = np.random.default_rng(seed)
    day, x, y = drifting_events(20_000, rng, drift)
    features = x  # the model sees the event, not its date
    model = LogisticRegression()
    train, test = train_test_split(np.arange(y.size), test_size=0.2, random_state=seed)
    model.fit(features[train], y[train])
    scores = model.predict_proba(features[test])[:, 1]
    late = day[test] >= 80  # the same model, scored on its test rows from days 80-100
    results = {
        "random split": roc_auc(y[test], scores),
        "random split, days 80+": roc_auc(y[test][late], scores[late]),
    }
    past, future = day < 80, day >= 80  # train on days 0-80, test on 80-100
    model.fit(features[past], y[past])
    results["time split"] = roc_auc(
        y[future], model.predict_proba(features[future])[:, 1]
    )
    return results
    # --8<-- [end:time-split]


# --8<-- [start:active]
def rare_positive_pool(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Unlabelled pool with 5% positives, shifted along two of five features."""
    y = (rng.random(n) < 0.05).astype(int)
    x = rng.normal(size=(n, 5))
    x[:, 0] += 2.0 * y
    x[:, 1] += 1.0 * y
    return x, y


ACTIVE = ("random", "uncertainty")


def active_learning(
    strategy: str, budget: int = 200, batch: int = 20, seed: int = 0
) -> dict[str, float]:
    """Spend a label budget randomly or on the least certain examples; score on test."""
    if strategy not in ACTIVE:
        raise ValueError(
            f"strategy must be 'random' or 'uncertainty', got {strategy!r}"
        )
    rng = np.random.default_rng(seed)
    x, y = rare_positive_pool(6_000, rng)
    x_test, y_test = rare_positive_pool(4_000, rng)
    labelled = list(rng.choice(y.size, size=2 * batch, replace=False))  # random seed
    seed_size = len(labelled)
    unlabelled = np.ones(y.size, dtype=bool)
    while len(labelled) < budget:
        unlabelled[labelled] = False
        pool = np.flatnonzero(unlabelled)
        if strategy == "uncertainty" and len(set(y[labelled])) == 2:
            model = LogisticRegression().fit(x[labelled], y[labelled])
            p = model.predict_proba(x[pool])[:, 1]
            chosen = pool[np.argsort(np.abs(p - 0.5))[:batch]]  # nearest the boundary
        else:
            chosen = rng.choice(pool, size=batch, replace=False)
        labelled += chosen.tolist()
    model = LogisticRegression().fit(x[labelled], y[labelled])
    test_scores = model.predict_proba(x_test)[:, 1]
    return {
        "pr_auc": average_precision(y_test, test_scores),
        "positive_share": float(y[labelled].mean()),
        # Among the labels the strategy chose, after the shared random seed set.
        "chosen_positive_share": float(y[labelled[seed_size:]].mean()),
        "test_labels": y_test,
        "test_scores": test_scores,
    }
    # --8<-- [end:active]


# --8<-- [start:demo]
def main() -> None:
    rng = np.random.default_rng(7)
    samplers = {
        "Algorithm R": reservoir_sample,
        "1/2-replace": recency_biased_sample,
        "systematic": systematic_sample,
    }
    print("Samplers, 4,000 runs each; per item: k=4 of n=20; joint: 3 of n=9")
    print(
        f"{'sampler':<12} {'counts':<9} {'per-item p':>10} {'subsets seen':>12} ",
        end="",
    )
    print(f"{'joint p':>7}")
    for name, sampler in samplers.items():
        items = inclusion_counts(sampler, n=20, k=4, trials=4_000, rng=rng)
        subsets = subset_counts(sampler, n=9, k=3, trials=4_000, rng=rng)
        seen = f"{np.count_nonzero(subsets)} of {subsets.size}"
        print(
            f"{name:<12} {f'{items.min()}-{items.max()}':<9} "
            f"{format_p(inclusion_p_value(items, k=4)):>10} {seen:>12} "
            f"{format_p(subset_p_value(subsets)):>7}"
        )

    print("\nFocal loss vs log loss for one positive (gamma = 2):")
    print(f"{'p_true':>6} {'log loss':>8} {'focal':>7} {'ratio':>6}")
    for p in (0.9, 0.6, 0.1):
        ce = focal_loss([1], [p], gamma=0)
        fl = focal_loss([1], [p], gamma=2)
        print(f"{p:>6.1f} {ce:>8.3f} {fl:>7.3f} {fl / ce:>6.3f}")
    labels = (rng.random(50_000) < 0.01).astype(int)
    probs = 1 / (1 + np.exp(-(rng.normal(-5, 1.5, labels.size) + 4 * labels)))
    p_true = np.where(labels == 1, probs, 1 - probs)
    easy = p_true > 0.9
    for gamma in (0, 2):
        terms = focal_terms(labels, probs, gamma, alpha=None)
        push = np.abs(focal_gradient(labels, probs, gamma))  # what training follows
        print(
            f"gamma={gamma}: easy examples ({easy.mean():.0%} of rows) carry "
            f"{terms[easy].sum() / terms.sum():.1%} of the loss, "
            f"{push[easy].sum() / push.sum():.1%} of the gradient"
        )
    print("Prediction that minimises the expected loss, by true P(y = 1):")
    for rate in (0.01, 0.1, 0.3):
        print(
            f"  P(y=1) {rate:.2f}: log loss {focal_optimal_prediction(rate, 0):.3f}, "
            f"focal gamma=2 {focal_optimal_prediction(rate, 2):.3f}"
        )

    print("\nNegative downsampling (keep 10% of negatives), then correction,")
    print("scored on 20,000 held-out rows that were never downsampled:")
    x = rng.normal(size=(40_000, 3))
    y = (rng.random(40_000) < 1 / (1 + np.exp(-(x[:, 0] - 4)))).astype(int)
    train, held_out = np.arange(20_000), np.arange(20_000, 40_000)
    keep = train[(y[train] == 1) | (rng.random(train.size) < 0.1)]
    model = LogisticRegression().fit(x[keep], y[keep])
    raw = model.predict_proba(x[held_out])[:, 1]
    fixed = correct_for_negative_downsampling(raw, negative_keep_rate=0.1)
    print(
        f"base rate {y[held_out].mean():.4f}, mean prediction {raw.mean():.4f} raw, "
        f"{fixed.mean():.4f} corrected"
    )

    print("\nRandom oversampling and the split (fully grown decision tree):")
    print(
        f"{'protocol':<23} {'test prev':>9} {'copied':>6} {'ROC-AUC':>7} {'PR-AUC':>6}"
    )
    for name, r in compare_oversampling_protocols().items():
        print(
            f"{name:<23} {r['prevalence']:>9.1%} {r['copied']:>6.0%} "
            f"{r['roc_auc']:>7.3f} {r['pr_auc']:>6.3f}"
        )

    # The split of the gap into its two parts moves from seed to seed: average.
    seeds, worlds = range(10), {}
    for drift in (True, False):
        runs = [random_vs_time_split(seed, drift) for seed in seeds]
        worlds[drift] = {name: np.array([r[name] for r in runs]) for name in runs[0]}
    print(f"\nDrifting concept, same model, test ROC-AUC over {len(seeds)} seeds:")
    print(f"  {'mean (min-max)':<22} {'drift':<19} {'no drift'}")
    for name in worlds[True]:
        cells = [
            f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})"
            for v in (worlds[True][name], worlds[False][name])
        ]
        print(f"  {name:<22} {cells[0]:<19} {cells[1]}")
    auc = worlds[True]
    parts = {
        "gap, random - time split": auc["random split"] - auc["time split"],
        "  later test period": auc["random split"] - auc["random split, days 80+"],
        "  training on the past": auc["random split, days 80+"] - auc["time split"],
    }
    for name, v in parts.items():
        print(f"  {name:<26} {v.mean():.3f} ({v.min():.3f}-{v.max():.3f})")

    seeds = range(20)
    runs = {s: [active_learning(s, seed=seed) for seed in seeds] for s in ACTIVE}
    print(f"\nActive learning, 200 labels, pool with 5% positives, {len(seeds)} seeds")
    print("(mean and min-max over the seeds; positives among the 160 labels chosen")
    print("after the 40 random ones both strategies share):")
    for strategy, results in runs.items():
        pr_auc = np.array([r["pr_auc"] for r in results])
        share = np.array([r["chosen_positive_share"] for r in results])
        print(
            f"  {strategy:<11} test PR-AUC {pr_auc.mean():.3f} "
            f"({pr_auc.min():.3f}-{pr_auc.max():.3f}), positives chosen "
            f"{share.mean():.0%} ({share.min():.0%}-{share.max():.0%})"
        )
    gain = np.array(
        [
            a["pr_auc"] - r["pr_auc"]
            for a, r in zip(runs["uncertainty"], runs["random"], strict=True)
        ]
    )
    _, low, high = paired_interval(gain)
    print(f"  uncertainty - random, same seed: {gain.mean():+.3f} PR-AUC ", end="")
    print(f"(95% CI {low:+.3f} to {high:+.3f});")
    print(f"  min-max {gain.min():+.3f} to {gain.max():+.3f} over the seeds.")
    # Is one seed's gain beyond the noise of its test set? A paired bootstrap
    # over the 4,000 test examples: both models are scored on the same resamples.
    verdicts = []
    for a, r in zip(runs["uncertainty"], runs["random"], strict=True):
        _, lo, hi = paired_bootstrap_ap(
            a["test_labels"], a["test_scores"], r["test_scores"], n_boot=500
        )
        verdicts.append("better" if lo > 0 else "worse" if hi < 0 else "tie")
    print("  per seed, paired bootstrap 95% CI over the test set: ", end="")
    print(
        f"better in {verdicts.count('better')}, tie in {verdicts.count('tie')}, "
        f"worse in {verdicts.count('worse')}"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
