"""Is ML needed at all? A popularity rule against a learned recommender, world by world.

Synthetic users click items with probabilities that mix item popularity with personal
taste. Each world sets how personal taste is; in each, most users have a history of 20
clicks and some are new, with 2. The rule recommends the most-clicked items; the model
is EASE, an item-to-item linear model (Steck, 2019), its penalty picked on held-out
clicks. Both are scored on the true probability that the user's next new click lands
in their 10-item list, which only the simulation knows, over several seeds.

Run it: ``python -m snippets.framework.problem_clarification_baseline``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snippets.common.stats import is_tie, paired_interval

LIST_SIZE = 10
N_ITEMS = 200
N_ESTABLISHED, N_NEW = 1_200, 300
HISTORY, NEW_HISTORY = 20, 2  # clicks per established and per new user
L2_GRID = (10.0, 100.0, 1_000.0, 10_000.0, 100_000.0)
TASTES = {"weak": 0.5, "medium": 1.0, "strong": 2.0}  # sd of the personal logit
SEEDS = range(5)


def _check_clicked(clicked: np.ndarray) -> np.ndarray:
    clicked = np.asarray(clicked)
    if clicked.ndim != 2 or clicked.dtype != bool:
        raise TypeError("clicked must be a 2-D boolean array (users x items)")
    return clicked


def _check_l2(l2: float) -> float:
    if isinstance(l2, bool) or not isinstance(l2, int | float):
        raise TypeError(f"l2 must be a number, got {type(l2).__name__}")
    if not 0 < l2 < float("inf"):
        raise ValueError(f"l2 must be positive and finite, got {l2}")
    return float(l2)


# --8<-- [start:rule-and-model]
def popularity_scores(clicked: np.ndarray) -> np.ndarray:
    """The rule: score each item by how many users clicked it, the same for all."""
    clicked = _check_clicked(clicked)
    return np.broadcast_to(clicked.sum(axis=0, dtype=float), clicked.shape)


def ease_weights(clicked: np.ndarray, l2: float) -> np.ndarray:
    """The model: EASE item-to-item weights, a ridge fit with a zero diagonal."""
    x = _check_clicked(clicked).astype(float)
    inverse = np.linalg.inv(x.T @ x + _check_l2(l2) * np.eye(x.shape[1]))
    weights = -inverse / np.diag(inverse)  # closed form (Steck, 2019)
    np.fill_diagonal(weights, 0.0)  # an item may not predict itself
    return weights
    # --8<-- [end:rule-and-model]


def top_unseen(
    scores: np.ndarray, clicked: np.ndarray, k: int = LIST_SIZE
) -> np.ndarray:
    """Each user's k best-scored items among those they have not clicked yet."""
    clicked = _check_clicked(clicked)
    if np.shape(scores) != clicked.shape:
        raise ValueError("scores and clicked must have one shape (users x items)")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k < clicked.shape[1]:
        raise ValueError(f"k must be an integer in (0, {clicked.shape[1]}), got {k}")
    masked = np.where(clicked, -np.inf, scores)
    return np.argpartition(-masked, k - 1, axis=1)[:, :k]


def expected_hit_rate(next_click: np.ndarray, lists: np.ndarray) -> np.ndarray:
    """Per user, the true probability that the next new click is in the list."""
    next_click, lists = np.asarray(next_click), np.asarray(lists)
    if next_click.ndim != 2 or lists.ndim != 2 or len(next_click) != len(lists):
        raise ValueError("next_click (users x items) and lists (users x k) must align")
    return np.take_along_axis(next_click, lists, axis=1).sum(axis=1)


# --8<-- [start:world]
@dataclass(frozen=True)
class World:
    """Click logits for every (user, item) and the histories users have so far."""

    logits: np.ndarray  # popularity + taste; known only to the simulation
    order: np.ndarray  # each user's first HISTORY clicks, in the order made
    is_new: np.ndarray  # new users keep only their first NEW_HISTORY clicks

    def clicked(self, drop_last: bool = False) -> np.ndarray:
        """Who clicked what; drop_last hides each established user's last click."""
        length = np.where(self.is_new, NEW_HISTORY, HISTORY - drop_last)
        shown = np.arange(self.order.shape[1]) < length[:, None]
        clicked = np.zeros(self.logits.shape, dtype=bool)
        np.put_along_axis(clicked, self.order, shown, axis=1)
        return clicked

    def next_click(self) -> np.ndarray:
        """True probability of each item being the next new click (a softmax)."""
        seen = self.clicked()
        weights = np.where(seen, 0.0, np.exp(self.logits - self.logits.max()))
        return weights / weights.sum(axis=1, keepdims=True)


def make_world(taste: float, seed: int, dims: int = 4) -> World:
    """Popularity with sd 1 plus a personal dot product with sd ``taste``."""
    if not taste >= 0:
        raise ValueError(f"taste must be non-negative, got {taste}")
    rng = np.random.default_rng(seed)
    n_users = N_ESTABLISHED + N_NEW
    popularity = rng.normal(0.0, 1.0, N_ITEMS)
    users, items = rng.normal(size=(n_users, dims)), rng.normal(size=(N_ITEMS, dims))
    logits = popularity + taste * (users @ items.T) / np.sqrt(dims)
    # Clicks without repeats, each a softmax draw over the items not clicked yet:
    # sorting logits plus Gumbel noise samples exactly that order (Plackett-Luce).
    noisy = logits + rng.gumbel(size=logits.shape)
    order = np.argsort(-noisy, axis=1)[:, :HISTORY]
    return World(logits, order, is_new=np.arange(n_users) < N_NEW)
    # --8<-- [end:world]


# --8<-- [start:compare]
def pick_l2(world: World, grid: tuple[float, ...] = L2_GRID) -> float:
    """The penalty whose model best predicts established users' held-out last click."""
    train = world.clicked(drop_last=True)
    old = ~world.is_new
    held_out = world.order[old, HISTORY - 1][:, None]

    def hits(l2: float) -> float:
        scores = train[old] @ ease_weights(train, l2)
        return float((top_unseen(scores, train[old]) == held_out).any(axis=1).mean())

    return max(grid, key=hits)


def compare(taste: float, seed: int) -> tuple[dict[str, dict[str, float]], float]:
    """Mean hit rate of the rule, the model and the best list per group; the l2 used."""
    world = make_world(taste, seed)
    clicked, truth = world.clicked(), world.next_click()
    l2 = pick_l2(world)
    weights = ease_weights(clicked, l2)
    hit = {
        "rule": expected_hit_rate(
            truth, top_unseen(popularity_scores(clicked), clicked)
        ),
        "model": expected_hit_rate(truth, top_unseen(clicked @ weights, clicked)),
        "best": expected_hit_rate(truth, top_unseen(truth, clicked)),
    }
    groups = {"new": world.is_new, "established": ~world.is_new}
    rates = {
        group: {name: float(rate[mask].mean()) for name, rate in hit.items()}
        for group, mask in groups.items()
    }
    return rates, l2
    # --8<-- [end:compare]


def main() -> None:
    print(
        f"Hit rate of a {LIST_SIZE}-item list: the chance the next new click is in"
        f" it; mean over seeds {SEEDS[0]}-{SEEDS[-1]}"
    )
    print(
        f"{N_ESTABLISHED:,} users with {HISTORY} clicks, {N_NEW} new users with"
        f" {NEW_HISTORY}; {N_ITEMS} items; popularity sd 1.0"
    )
    print(
        f"{'taste sd':<11} {'users':<11} {'rule':>5} {'model':>5} {'best':>5} "
        f"{'rule/best':>9}  model - rule, 95% interval  verdict"
    )
    picked = {}
    for name, taste in TASTES.items():
        runs, picked[name] = zip(*(compare(taste, seed) for seed in SEEDS), strict=True)
        for group in ("new", "established"):
            rate = {
                key: np.array([run[group][key] for run in runs])
                for key in ("rule", "model", "best")
            }
            gain, low, high = paired_interval(rate["model"] - rate["rule"])
            verdict = "tie" if is_tie(low, high) else ("model" if gain > 0 else "rule")
            print(
                f"{name + f' {taste}':<11} {group:<11} {rate['rule'].mean():>5.3f} "
                f"{rate['model'].mean():>5.3f} {rate['best'].mean():>5.3f} "
                f"{rate['rule'].mean() / rate['best'].mean():>9.0%}  "
                f"{gain:+.3f} ({low:+.3f} to {high:+.3f})     {verdict}"
            )
    grid = f"{min(L2_GRID):,.0f}-{max(L2_GRID):,.0f}"
    print(f"Penalty picked on held-out clicks from a grid of {grid}, over seeds:")
    for name, l2s in picked.items():
        low, high = f"{min(l2s):,.0f}", f"{max(l2s):,.0f}"
        largest = sum(l2 == max(L2_GRID) for l2 in l2s)
        print(
            f"  {name:<6} {low if low == high else f'{low}-{high}'}, "
            f"the largest on {largest} of {len(l2s)}"
        )


if __name__ == "__main__":
    main()
