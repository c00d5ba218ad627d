"""Is ML needed at all? A popularity rule against a learned recommender, world by world.

Synthetic users click items with probabilities that mix item popularity with personal
taste. Each world sets how personal taste is; in each, most users have a history of 20
clicks and some are new, with 2. The rule recommends the most-clicked items; the model
is EASE, an item-to-item linear model (Steck, 2019), its penalty tuned per segment on
clicks hidden from the fit. Both are scored on the true probability that the user's
next new click lands in their 10-item list, which only the simulation knows, over
several seeds. An ablation scores new users with the established users' penalty.

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
SEEDS = range(10)
SEGMENTS = ("new", "established")


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

    def clicked(self, hide: int | None = None) -> np.ndarray:
        """Who clicked what; hide drops each established user's click at that place."""
        length = np.where(self.is_new, NEW_HISTORY, HISTORY)
        shown = np.arange(self.order.shape[1]) < length[:, None]
        if hide is not None:
            shown[~self.is_new, hide] = False
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


def _check_segment(segment: str) -> str:
    if segment not in SEGMENTS:
        raise ValueError(f"segment must be one of {SEGMENTS}, got {segment!r}")
    return segment


# --8<-- [start:compare]
def validation_hits(world: World, segment: str, l2: float) -> float:
    """Share of established users whose click hidden from the fit lands in the list.

    Established users stand in for both segments: the hidden click is their last,
    predicted from the 19 before it, or their third, predicted from their first two
    (all that a new user has).
    """
    place = HISTORY - 1 if _check_segment(segment) == "established" else NEW_HISTORY
    old = ~world.is_new
    fit = world.clicked(hide=place)  # the hidden click never reaches the fit
    query = np.zeros((int(old.sum()), N_ITEMS), dtype=bool)
    np.put_along_axis(query, world.order[old, :place], True, axis=1)
    scores = np.where(query, -np.inf, query @ ease_weights(fit, l2))
    target = np.take_along_axis(scores, world.order[old, place][:, None], axis=1)
    # In the list when fewer than LIST_SIZE unseen items score higher.
    return float(((scores > target).sum(axis=1) < LIST_SIZE).mean())


def pick_l2(world: World, segment: str, grid: tuple[float, ...] = L2_GRID) -> float:
    """The penalty from the grid with the most validation hits for the segment."""
    return max(grid, key=lambda l2: validation_hits(world, segment, l2))


def compare(taste: float, seed: int) -> tuple[dict, dict[str, float]]:
    """Mean hit rate per segment of the rule, the model and the best list, and of the
    model with the established users' penalty (the ablation); the penalties tuned."""
    world = make_world(taste, seed)
    clicked, truth = world.clicked(), world.next_click()
    l2 = {segment: pick_l2(world, segment) for segment in SEGMENTS}
    weights = {value: ease_weights(clicked, value) for value in set(l2.values())}
    rates = {}
    for segment in SEGMENTS:
        mask = world.is_new if segment == "new" else ~world.is_new
        seen, true = clicked[mask], truth[mask]
        lists = {
            "rule": top_unseen(popularity_scores(clicked)[mask], seen),
            "model": top_unseen(seen @ weights[l2[segment]], seen),
            "best": top_unseen(true, seen),
            "one penalty": top_unseen(seen @ weights[l2["established"]], seen),
        }
        rates[segment] = {
            name: float(expected_hit_rate(true, items).mean())
            for name, items in lists.items()
        }
    return rates, l2
    # --8<-- [end:compare]


def popularity_share(taste: float) -> float:
    """Popularity's share of the click logits' variance: 1 / (1 + taste^2)."""
    return 1.0 / (1.0 + taste**2)


def _interval(differences: np.ndarray) -> str:
    gain, low, high = paired_interval(differences)
    verdict = "tie" if is_tie(low, high) else ("model" if gain > 0 else "rule")
    return f"{gain:+.3f} ({low:+.3f} to {high:+.3f})     {verdict}"


def _penalties(l2s: list[float]) -> str:
    low, high = f"{min(l2s):,.0f}", f"{max(l2s):,.0f}"
    largest = sum(l2 == max(L2_GRID) for l2 in l2s)
    span = low if low == high else f"{low}-{high}"
    return f"{span} ({largest} of {len(l2s)})"


def main() -> None:
    print(
        f"Hit rate of a {LIST_SIZE}-item list: the chance the next new click is in"
        f" it; mean over seeds {SEEDS[0]}-{SEEDS[-1]}"
    )
    print(
        f"{N_ESTABLISHED:,} users with {HISTORY} clicks, {N_NEW} new users with"
        f" {NEW_HISTORY}; {N_ITEMS} items; popularity sd 1.0"
    )
    shares = ", ".join(f"{n} {popularity_share(t):.0%}" for n, t in TASTES.items())
    print(f"Popularity share of the logit variance, 1/(1+sd^2): {shares}")
    print(
        f"{'taste sd':<11} {'users':<11} {'rule':>5} {'model':>5} {'best':>5} "
        f"{'rule/best':>9}  model - rule, 95% interval  verdict"
    )
    results = {}
    for name, taste in TASTES.items():
        results[name] = [compare(taste, seed) for seed in SEEDS]
        for segment in SEGMENTS:
            rate = {
                key: np.array([run[segment][key] for run, _ in results[name]])
                for key in ("rule", "model", "best")
            }
            print(
                f"{name + f' {taste}':<11} {segment:<11} {rate['rule'].mean():>5.3f} "
                f"{rate['model'].mean():>5.3f} {rate['best'].mean():>5.3f} "
                f"{rate['rule'].mean() / rate['best'].mean():>9.0%}  "
                + _interval(rate["model"] - rate["rule"])
            )
    grid = f"{min(L2_GRID):,.0f}-{max(L2_GRID):,.0f}"
    print(f"Penalty tuned per segment on a click hidden from the fit, grid {grid};")
    print("range over seeds (how often the largest was picked):")
    for name, runs in results.items():
        new, old = ([l2[s] for _, l2 in runs] for s in SEGMENTS)
        print(f"  {name:<6} established {_penalties(old):<22} new {_penalties(new)}")
    print("Ablation: new users get the penalty tuned on established users")
    print(f"{'taste sd':<11} {'users':<11} model - rule, 95% interval  verdict")
    for name, runs in results.items():
        new = np.array(
            [[run["new"][k] for k in ("one penalty", "rule")] for run, _ in runs]
        )
        label = f"{name} {TASTES[name]}"
        print(f"{label:<11} {'new':<11} " + _interval(new[:, 0] - new[:, 1]))


if __name__ == "__main__":
    main()
