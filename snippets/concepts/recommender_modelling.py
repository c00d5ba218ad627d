"""What rankers train on, diversity by MMR and a DPP, and the cost of sequence models.

Three demonstrations for the recommender-modelling page:

* a light ranker trained on impressions only, then with each remedy for the selection
  bias (unshown candidates as negatives, distillation from the heavy ranker, a little
  exploration with inverse propensity weights), graded on the world's own click
  probabilities, which no model shares;
* maximal marginal relevance and a greedy DPP re-ranking a slate, relevance given up
  against topics gained as each trade-off parameter moves, and the two compared at
  equal relevance over several seeds;
* the bytes fetched and the multiply-adds per request of five ways to turn a user's
  history into features, and the accelerators each needs at an assumed peak.

Run it: ``python -m snippets.concepts.recommender_modelling``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import expit, ndtr
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from snippets.common.estimation import human_bytes, servers_needed, storage_bytes
from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.ranking_metrics import recall_at_k

CANDIDATES, SHOWN, PASSED = 100, 5, 30  # scored, shown, kept by the light ranker
LOGGED_UNSHOWN, RANDOM_LABELLED = 20, 25  # per request
UNSHOWN_WEIGHT = (CANDIDATES - SHOWN) / LOGGED_UNSHOWN  # a logged row stands for 4.75
LIGHT = slice(0, 2)  # the light ranker sees quality and boost, not the cross feature
OLD_RANKER = np.array([0.5, 1.0, 1.0])  # logging ranker: quality, boost, cross
WIDTH, PEAK_QPS = 64, 50_000  # assumed: embedding width, a feed's peak requests/s
L4_MACS = 121e12 / 2 / 10  # assumed: a tenth of the L4's 121 TFLOP/s FP16 peak


# --8<-- [start:world]
def click_probability(features: np.ndarray) -> np.ndarray:
    """The world's truth, P(click | shown): a probit with an interaction, no boost."""
    quality, cross = features[..., 0], features[..., 2]
    return ndtr(-1.6 + 0.5 * quality + 0.8 * cross + 0.25 * quality * cross)


@dataclass(frozen=True)
class Traffic:
    """Logged requests, with what only a simulator knows: every would-be click."""

    features: np.ndarray  # (requests, candidates, 3): quality, boost, cross
    clicks: np.ndarray  # (requests, candidates): would the user click if shown
    order: np.ndarray  # candidates sorted by the old heavy ranker, best first
    explored: np.ndarray  # (requests,): the fifth slot went to a random candidate
    explore_pick: np.ndarray  # (requests,): that random candidate
    unshown_sample: np.ndarray  # (requests, 20): unshown candidates whose rows we log
    random_sample: np.ndarray  # (requests, 25): labelled in the ideal, unaffordable log
    explore_share: float


def log_traffic(
    requests: int, seed: int, explore_share: float = 0.1, old_ranker=OLD_RANKER
) -> Traffic:
    """The old heavy ranker shows its top 5 of 100; some requests explore one slot."""
    if requests < 2 or not 0 < explore_share < 1:
        raise ValueError("need requests >= 2 and explore_share in (0, 1)")
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(requests, CANDIDATES, 3))
    clicks = rng.random((requests, CANDIDATES)) < click_probability(features)
    order = np.argsort(-(features @ np.asarray(old_ranker, float)), axis=1)
    unshown = order[:, SHOWN:]
    pick = unshown[np.arange(requests), rng.integers(0, CANDIDATES - SHOWN, requests)]
    logged = np.argsort(rng.random(unshown.shape), axis=1)[:, :LOGGED_UNSHOWN]
    random = np.argsort(rng.random(clicks.shape), axis=1)[:, :RANDOM_LABELLED]
    return Traffic(
        features,
        clicks,
        order,
        rng.random(requests) < explore_share,
        pick,
        np.take_along_axis(unshown, logged, axis=1),
        random,
        explore_share,
    )
    # --8<-- [end:world]


def _rows(traffic: Traffic, items: np.ndarray) -> np.ndarray:
    """Feature rows of the given candidates, one row per (request, candidate)."""
    picked = np.take_along_axis(traffic.features, items[..., None], axis=1)
    return picked.reshape(-1, 3)


def _clicked(traffic: Traffic, items: np.ndarray) -> np.ndarray:
    return np.take_along_axis(traffic.clicks, items, axis=1).ravel().astype(float)


def fit_logistic(
    features: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Weighted log loss, targets in [0, 1] (soft labels allowed); intercept first.

    Newton's method (iteratively reweighted least squares): a few steps on 3 or 4
    weights, with step halving so that the loss never rises.
    """
    features, targets = np.asarray(features, float), np.asarray(targets, float)
    weights = np.ones(len(targets)) if weights is None else np.asarray(weights, float)
    if features.ndim != 2 or not targets.shape == weights.shape == (len(features),):
        raise ValueError("features must be (n, d); targets and weights (n,)")
    if ((targets < 0) | (targets > 1)).any() or (weights < 0).any():
        raise ValueError("targets must lie in [0, 1] and weights be non-negative")
    if (weights * targets).sum() <= 0 or (weights * (1 - targets)).sum() <= 0:
        raise ValueError("need both clicks and non-clicks to fit")
    design = np.column_stack([np.ones(len(features)), features])
    scale = weights / weights.sum()

    def loss(logits: np.ndarray) -> float:
        return float(scale @ (np.logaddexp(0.0, logits) - targets * logits))

    w = np.zeros(design.shape[1])
    logits = design @ w
    current = loss(logits)
    for _ in range(100):
        p = expit(logits)
        gradient = design.T @ (scale * (p - targets))
        hessian = (design * (scale * p * (1 - p))[:, None]).T @ design
        try:
            step, size = np.linalg.solve(hessian, gradient), 1.0
        except np.linalg.LinAlgError:
            break  # separable classes (weights run off) or collinear features
        while True:  # halve the step until the loss does not rise
            logits = design @ (w - size * step)
            new = loss(logits)
            if new <= current + 1e-15 or size < 1e-8:
                break
            size /= 2
        w, current = w - size * step, new
        if np.abs(size * step).max() < 1e-10:
            return w
    raise ValueError(
        "the fit did not converge: separable classes or collinear features?"
    )


def predict(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """P(click) of a fitted logistic model."""
    return expit(weights[0] + features @ weights[1:])


# --8<-- [start:remedies]
def training_sets(t: Traffic) -> dict[str, tuple]:
    """(features, targets, weights) for the light ranker from each kind of log."""
    shown = t.order[:, :SHOWN]
    X, y = _rows(t, shown), _clicked(t, shown)
    ones = np.ones(len(y))
    # Features as served of 20 scored-but-unshown a request: each stands for 95/20.
    X_unshown = _rows(t, t.unshown_sample)
    X_logged = np.vstack([X, X_unshown])
    w_logged = np.r_[ones, np.full(len(X_unshown), UNSHOWN_WEIGHT)]
    heavy = fit_logistic(X, y)  # the heavy ranker sees the cross feature too
    blind = fit_logistic(X[:, LIGHT], y)  # ablation: a teacher without the cross
    # Exploration: in 10% of requests the fifth slot shows a random unshown candidate.
    explored = shown.copy()
    explored[t.explored, -1] = t.explore_pick[t.explored]
    propensity = np.ones(explored.shape)  # P(shown) of each logged impression
    propensity[:, -1] = np.where(
        t.explored, t.explore_share / (CANDIDATES - SHOWN), 1 - t.explore_share
    )
    propensity = propensity.ravel()
    no_clicks = np.zeros(len(X_unshown))
    return {
        "impressions only": (X, y, ones),
        "+ unshown as negatives": (X_logged, np.r_[y, no_clicks], w_logged),
        "distilled from heavy": (X_logged, predict(heavy, X_logged), w_logged),
        "distilled, blind teacher": (
            X_logged,
            predict(blind, X_logged[:, LIGHT]),
            w_logged,
        ),
        "exploration, IPW": (_rows(t, explored), _clicked(t, explored), 1 / propensity),
        "unbiased labels (ideal)": (
            _rows(t, t.random_sample),
            _clicked(t, t.random_sample),
            None,
        ),
    }


def train_light_ranker(X: np.ndarray, y: np.ndarray, w=None) -> np.ndarray:
    """The light ranker: a logistic model that sees quality and boost only."""
    return fit_logistic(X[:, LIGHT], y, w)
    # --8<-- [end:remedies]


# --8<-- [start:evaluate]
def best_kept(scores: np.ndarray, features: np.ndarray, top: int = 10) -> float:
    """Share of each request's truly best `top` that the scores put in the top 30."""
    if scores.shape != features.shape[:2]:
        raise ValueError("scores must be (requests, candidates)")
    truth = click_probability(features)
    recalls = [
        recall_at_k(np.argsort(-s).tolist(), set(np.argsort(-p)[:top]), PASSED)
        for s, p in zip(scores, truth, strict=True)
    ]
    return float(np.mean(recalls))
    # --8<-- [end:evaluate]


def exploration_cost(t: Traffic) -> float:
    """Share of the expected clicks lost by the explored slots, by the true P(click)."""
    p = click_probability(t.features)
    rows = np.arange(len(p))
    exploited = p[rows, t.order[:, SHOWN - 1]]
    lost = np.where(t.explored, exploited - p[rows, t.explore_pick], 0.0).sum()
    return float(lost / np.take_along_axis(p, t.order[:, :SHOWN], axis=1).sum())


# --8<-- [start:mmr]
def mmr(relevance: np.ndarray, similarity: np.ndarray, k: int, lam: float) -> list:
    """Maximal marginal relevance: lam * relevance - (1 - lam) * max sim to picked."""
    relevance, similarity = np.asarray(relevance, float), np.asarray(similarity, float)
    _check_slate(relevance, similarity, k)
    if not 0 <= lam <= 1:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    picked = [int(np.argmax(relevance))]
    closest = similarity[picked[0]].copy()  # max similarity to anything picked
    while len(picked) < k:
        gain = lam * relevance - (1 - lam) * closest
        gain[picked] = -np.inf
        picked.append(int(np.argmax(gain)))
        closest = np.maximum(closest, similarity[picked[-1]])
    return picked
    # --8<-- [end:mmr]


# --8<-- [start:dpp_kernel]
def dpp_kernel(
    relevance: np.ndarray, embeddings: np.ndarray, alpha: float
) -> np.ndarray:
    """L = diag(q) S diag(q), q = exp(alpha * relevance), S the cosine Gram matrix."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    quality = np.exp(alpha * relevance)
    return quality[:, None] * (unit @ unit.T) * quality[None, :]
    # --8<-- [end:dpp_kernel]


# --8<-- [start:dpp]
def dpp_greedy(kernel: np.ndarray, k: int) -> tuple[list, np.ndarray]:
    """Greedy MAP: add the item with the largest gain det(L_{Y+i}) / det(L_Y).

    Incremental Cholesky (Chen et al., 2018): O(n k^2) time for k picks of n.
    Returns fewer than k items once no candidate adds volume: with d-dimensional
    embeddings, after at most d picks (16 here). A longer slate needs a small ridge
    (S + delta I) or greedy over sliding windows.
    """
    kernel = np.asarray(kernel, float)
    _check_kernel(kernel, k)
    rows = np.zeros((k, len(kernel)))  # Cholesky rows of the picked set
    gain = np.diag(kernel).astype(float)  # det gain of adding each candidate
    picked, gains = [], []
    for step in range(k):
        best = int(np.argmax(gain))
        if gain[best] <= 1e-12:
            break  # every candidate left is in the span of the picked ones
        picked.append(best)
        gains.append(gain[best])
        e = (kernel[best] - rows[:step, best] @ rows[:step]) / np.sqrt(gain[best])
        rows[step] = e
        gain = gain - e**2  # Schur complement: what is new in each candidate
        gain[picked] = -np.inf
    return picked, np.array(gains)
    # --8<-- [end:dpp]


def _check_slate(relevance: np.ndarray, similarity: np.ndarray, k: int) -> None:
    """Validate a re-ranking problem: n scores, an (n, n) matrix, 1 <= k <= n."""
    if relevance.ndim != 1:
        raise ValueError("relevance must be a 1-D array of candidate scores")
    n = len(relevance)
    if similarity.shape != (n, n):
        raise ValueError("need n scores and an (n, n) similarity or kernel matrix")
    if not (np.isfinite(relevance).all() and np.isfinite(similarity).all()):
        raise ValueError("scores and similarities must be finite")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in [1, {n}], got {k!r}")


def _check_kernel(kernel: np.ndarray, k: int) -> None:
    """A DPP kernel is square and symmetric (and PSD, which greedy never needs)."""
    if kernel.ndim != 2:
        raise ValueError("kernel must be a square matrix")
    _check_slate(np.diag(kernel), kernel, k)
    if not np.allclose(kernel, kernel.T):
        raise ValueError("kernel must be symmetric")


def brute_force_greedy(kernel: np.ndarray, k: int) -> tuple[list, list]:
    """Greedy MAP recomputing log det of every enlarged set: the slow reference."""
    picked, logdets = [], []
    for _ in range(k):
        best, best_logdet = -1, -np.inf
        for i in sorted(set(range(len(kernel))) - set(picked)):
            subset = [*picked, i]
            sign, logdet = np.linalg.slogdet(kernel[np.ix_(subset, subset)])
            if sign > 0 and logdet > best_logdet:
                best, best_logdet = i, logdet
        picked.append(best)
        logdets.append(best_logdet)
    return picked, logdets


def slate_candidates(rng: np.random.Generator, n: int = 60, topics: int = 8):
    """Ranker scores, topics and 16-d embeddings; two topics dominate the top."""
    share = np.r_[0.3, 0.2, np.full(topics - 2, 0.5 / (topics - 2))]
    topic = rng.choice(topics, size=n, p=share)
    appeal = np.r_[1.0, 0.6, np.zeros(topics - 2)]  # popular topics also score higher
    relevance = expit(appeal[topic] + rng.normal(0, 0.8, n) - 0.5)
    centres = rng.normal(size=(topics, 16))
    embeddings = centres[topic] + 0.6 * rng.normal(size=(n, 16))
    return relevance, topic, embeddings


def slate_summary(picked, relevance, topic, embeddings) -> tuple[float, float, float]:
    """Relevance kept (vs the top k by score), topics covered, mean pairwise cosine."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    k = len(picked)
    cos = unit[picked] @ unit[picked].T
    return (
        relevance[picked].sum() / np.sort(relevance)[-k:].sum(),
        float(len(set(topic[picked]))),
        float((cos.sum() - k) / (k * (k - 1))),
    )


# --8<-- [start:sequence_cost]
def user_model_macs(
    history: int, width: int, layers: int, candidates: int, din=(80, 40)
) -> dict:
    """Multiply-adds per request of five ways to turn a history into features."""
    if min(history, width, layers, candidates, *din) < 1:
        raise ValueError("history, width, layers, candidates and din must be >= 1")

    def encoder(length: int) -> int:  # projections 4Ld^2, FFN 8Ld^2, attention 2L^2d
        return layers * (12 * length * width**2 + 2 * length**2 * width)

    # DIN scores each (history item, candidate) pair with an MLP on [h, c, h-c, h*c].
    din_pair = 4 * width * din[0] + din[0] * din[1] + din[1]
    return {
        "mean of the history": history * width,
        "dot-product target attention": 2 * history * width**2  # keys, values once
        + candidates * (width**2 + 2 * history * width),  # query, scores, sum
        "DIN attention (MLP per pair)": candidates * history * (din_pair + width),
        "encoder, once a request": encoder(history),
        "encoder per candidate": candidates * encoder(history + 1),
    }
    # --8<-- [end:sequence_cost]


def _human(count: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count:.0f}"


def _paired(label: str, differences: np.ndarray) -> str:
    mean, low, high = paired_interval(differences)
    tie = "  tie" if is_tie(low, high) else ""
    return f"  {label}: {mean:+.4f} [{low:+.4f}, {high:+.4f}]{tie}"


# --8<-- [start:demo]
SEEDS = range(8)
DPP_ALPHAS = (8, 4, 2, 1)
DIVERSITY_SEEDS, DIVERSITY_REQUESTS = range(1, 6), 100  # the MMR-DPP comparison
ROWS = (
    "impressions only",
    "+ unshown as negatives",
    "distilled from heavy",
    "distilled, blind teacher",
    "exploration, IPW",
    "unbiased labels (ideal)",
)
REFERENCES = ("sort by quality", "old heavy ranker", "heavy, retrained")


def run_seed(seed: int, old_ranker=OLD_RANKER, names=ROWS) -> dict[str, tuple]:
    """One world: train light rankers on 2,000 requests, grade on 300 new ones."""
    traffic = log_traffic(2_000, seed=seed, old_ranker=old_ranker)
    sets = training_sets(traffic)
    test = log_traffic(300, seed=10_000 + seed).features
    out = {}
    for name in names:
        w = train_light_ranker(*sets[name])
        out[name] = (best_kept(predict(w, test[..., LIGHT]), test), w[1:])
    # The light ranker's ceiling: P(click) averaged over the cross feature it cannot
    # see rises with quality alone (for quality above -5.7), so sort by quality.
    out["sort by quality"] = (best_kept(test[..., 0], test), None)
    out["old heavy ranker"] = (best_kept(test @ OLD_RANKER, test), None)
    teacher = fit_logistic(*sets["impressions only"][:2])  # all three features
    out["heavy, retrained"] = (best_kept(predict(teacher, test), test), teacher[1:3])
    out["cost"] = (exploration_cost(traffic), None)
    return out


def selection_bias_demo() -> None:
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices
        runs = [run_seed(seed) for seed in SEEDS]
        pair = ("impressions only", "unbiased labels (ideal)")
        ablation = [run_seed(seed, [0.5, 1.0, 0.0], pair) for seed in SEEDS]
    print("2,000 requests, 100 candidates each; the old heavy ranker showed 5.")
    print("The light ranker (no cross feature) keeps 30 for the heavy ranker.")
    print(f"{'trained on':<24} {'best 10 kept':>12}   weights (quality, boost)")
    for name in (*ROWS, *REFERENCES):
        kept, w = runs[0][name]
        weights = "" if w is None else f"{w[0]:>5.2f} {w[1]:>5.2f}"
        print(f"{name:<24} {kept:>12.3f}   {weights}".rstrip())
    costs = [run["cost"][0] for run in runs]
    print(f"exploring 10% of requests cost {100 * min(costs):.1f}% to ", end="")
    print(f"{100 * max(costs):.1f}% of the expected clicks")

    kept = {n: np.array([run[n][0] for run in runs]) for n in (*ROWS, *REFERENCES)}
    print(f"\n{len(runs)} seeds, best 10 kept:  {'mean':>5} {'min':>6} {'max':>6}")
    for name in (*ROWS, *REFERENCES):
        v = kept[name]
        print(f"  {name:<24} {v.mean():.3f}  {v.min():.3f}  {v.max():.3f}")
    print("paired by seed, mean [95% t-interval]:")
    for a, b in (
        ("distilled from heavy", "impressions only"),
        ("exploration, IPW", "impressions only"),
        ("+ unshown as negatives", "impressions only"),
        ("unbiased labels (ideal)", "distilled from heavy"),
        ("unbiased labels (ideal)", "exploration, IPW"),
        ("sort by quality", "unbiased labels (ideal)"),
    ):
        print(_paired(f"{a} - {b}", kept[a] - kept[b]))
    only, ideal = (np.array([run[name][0] for run in ablation]) for name in pair)
    print("ablation, the old ranker ignores the cross feature:")
    print(f"  impressions only {only.mean():.3f}, unbiased labels {ideal.mean():.3f}")
    print(_paired("unbiased labels - impressions only", ideal - only))


def trade_off(requests, method: str, value: float | None = None) -> np.ndarray:
    """Mean (relevance kept, topics, mean cosine) of one re-ranker's slates of 10."""
    rows = []
    for relevance, topic, emb in requests:
        if method == "top":
            picked = list(np.argsort(-relevance)[:10])
        elif method == "MMR":
            unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
            picked = mmr(relevance, unit @ unit.T, 10, value)
        elif method == "DPP":
            picked, _ = dpp_greedy(dpp_kernel(relevance, emb, value), 10)
        else:
            raise ValueError(f"method must be top, MMR or DPP, got {method!r}")
        rows.append(slate_summary(picked, relevance, topic, emb))
    return np.mean(rows, axis=0)


def mmr_lead(requests, alphas, lambdas) -> np.ndarray:
    """Topics MMR covers at each DPP's relevance kept, minus the DPP's own topics.

    MMR's (relevance kept, topics) points over the lambda grid are joined by straight
    lines and read at the relevance each DPP keeps: the two compared at equal cost.
    """
    curve = np.array([trade_off(requests, "MMR", lam)[:2] for lam in lambdas])
    curve = curve[np.argsort(curve[:, 0])]
    lead = []
    for alpha in alphas:
        kept, topics, _ = trade_off(requests, "DPP", alpha)
        if not curve[0, 0] <= kept <= curve[-1, 0]:
            raise ValueError("the lambda grid must span the relevance each DPP keeps")
        lead.append(np.interp(kept, curve[:, 0], curve[:, 1]) - topics)
    return np.array(lead)


def diversity_demo() -> None:
    rng = np.random.default_rng(7)
    requests = [slate_candidates(rng) for _ in range(300)]
    print("\nSlate of 10 from 60 scored candidates, 8 topics; mean of 300 requests")
    print(f"{'re-ranker':<16} {'relevance kept':>14} {'topics':>7} {'mean cosine':>12}")
    settings = [("top 10 by score", "top", None)]
    settings += [(f"MMR lambda={lam}", "MMR", lam) for lam in (0.9, 0.7, 0.5, 0.3)]
    settings += [(f"DPP alpha={a}", "DPP", a) for a in DPP_ALPHAS]
    for label, method, value in settings:
        kept, topics, cosine = trade_off(requests, method, value)
        print(f"{label:<16} {kept:>14.3f} {topics:>7.2f} {cosine:>12.3f}")

    lambdas = np.round(np.arange(0.3, 0.96, 0.05), 2)
    leads = np.array(
        [
            mmr_lead(
                [slate_candidates(r) for _ in range(DIVERSITY_REQUESTS)],
                DPP_ALPHAS,
                lambdas,
            )
            for r in (np.random.default_rng(seed) for seed in DIVERSITY_SEEDS)
        ]
    )
    print(
        f"MMR at each DPP's relevance kept (lambda {lambdas[0]} to {lambdas[-1]} "
        f"by 0.05, joined by lines):"
    )
    print(
        f"topics MMR covers minus the DPP's, {len(DIVERSITY_SEEDS)} seeds of "
        f"{DIVERSITY_REQUESTS} requests, mean [95% t-interval]:"
    )
    for alpha, lead in zip(DPP_ALPHAS, leads.T, strict=True):
        print(_paired(f"MMR - DPP alpha={alpha}", lead))

    relevance, _, emb = slate_candidates(np.random.default_rng(3), n=8)
    kernel = dpp_kernel(relevance, emb, 2)
    fast, gains = dpp_greedy(kernel, 4)
    slow, logdets = brute_force_greedy(kernel, 4)
    agree = fast == slow and np.allclose(np.log(np.cumprod(gains)), logdets)
    best = max(
        np.linalg.slogdet(kernel[np.ix_(s, s)])[1] for s in combinations(range(8), 4)
    )
    print(f"\nDPP check, 8 candidates, slate of 4: fast greedy picks {fast}")
    print(f"  same picks and log det as brute force at every step: {agree}")
    print(f"  log det: greedy {logdets[-1]:.3f}, best of all 70 sets {best:.3f}")


def sequence_cost_demo() -> None:
    lengths = (100, 1_000, 54_000)
    costs = [user_model_macs(n, WIDTH, 2, 500) for n in lengths]
    fetched = [storage_bytes(n, WIDTH * 4) for n in lengths]  # float32 embeddings
    print(f"\nUser-model cost per request (width {WIDTH}, 2 layers, 500 candidates)")
    print(f"{'history length':<30}" + "".join(f"{n:>11,}" for n in lengths))
    print(
        f"{'history fetched, float32':<30}"
        + "".join(f"{human_bytes(b):>11}" for b in fetched)
    )
    reads = [human_bytes(b * PEAK_QPS) + "/s" for b in fetched]
    print(
        f"  {f'read at {PEAK_QPS:,} peak QPS':<28}" + "".join(f"{r:>11}" for r in reads)
    )
    print("multiply-adds:")
    for name in costs[0]:
        print(f"  {name:<28}" + "".join(f"{_human(c[name]):>11}" for c in costs))
    print(
        f"L4s at {PEAK_QPS:,} peak QPS, flat out at an assumed "
        f"{L4_MACS / 1e12:.2f} T multiply-adds/s each:"
    )
    for name in costs[0]:
        fleet = [servers_needed(c[name] * PEAK_QPS, L4_MACS) for c in costs]
        print(f"  {name:<28}" + "".join(f"{n:>11,}" for n in fleet))


def main() -> None:
    selection_bias_demo()
    diversity_demo()
    sequence_cost_demo()


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
