"""In-batch negatives over-penalise popular items; subtracting log q fixes it.

A simulation of Yi et al. (2019): items with Zipf popularity, a two-tower-style
embedding model trained with an in-batch softmax, with and without the logQ correction.
Run it: ``python -m snippets.concepts.sampling_bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from snippets.concepts.ranking_metrics import hit_rate_at_k


# --8<-- [start:world]
@dataclass(frozen=True)
class World:
    """A synthetic catalogue: the true preferences, a training log and a test log."""

    true_logits: np.ndarray  # (users, items): log popularity + user-item affinity
    train: np.ndarray  # (events, 2) of (user, item)
    test: np.ndarray


def make_world(
    n_users: int = 300,
    n_items: int = 1000,
    dim: int = 8,
    n_train: int = 50_000,
    n_test: int = 10_000,
    zipf_exponent: float = 1.0,
    affinity: float = 2.0,
    seed: int = 0,
) -> World:
    """Users pick item j with probability proportional to pop_j * exp(u . v_j)."""
    if min(n_users, n_items, dim, n_train, n_test) < 1 or zipf_exponent < 0:
        raise ValueError("sizes must be >= 1 and zipf_exponent >= 0")
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** zipf_exponent
    # Affinity u . v has standard deviation `affinity`, against log popularity.
    users = rng.normal(size=(n_users, dim)) * (affinity / dim**0.5) ** 0.5
    items = rng.normal(size=(n_items, dim)) * (affinity / dim**0.5) ** 0.5
    true_logits = np.log(popularity / popularity.sum()) + users @ items.T
    choice = np.exp(true_logits - true_logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(choice / choice.sum(axis=1, keepdims=True), axis=1)

    def log(n: int) -> np.ndarray:
        who, draw = rng.integers(0, n_users, n), rng.random(n)
        what = np.empty(n, dtype=int)
        for user in range(n_users):  # inverse-CDF sampling, one user's rows at once
            rows = who == user
            what[rows] = np.searchsorted(cumulative[user], draw[rows])
        return np.column_stack([who, np.minimum(what, n_items - 1)])

    return World(true_logits, log(n_train), log(n_test))
    # --8<-- [end:world]


def item_frequencies(events: np.ndarray, n_items: int) -> np.ndarray:
    """Share of events per item: the in-batch sampling probability q_j (never 0)."""
    if events.ndim != 2 or events.shape[1] != 2:
        raise ValueError("events must be an (n, 2) array of (user, item)")
    counts = np.bincount(events[:, 1], minlength=n_items) + 1.0  # add-one: no log(0)
    return counts / counts.sum()


# --8<-- [start:train]
@dataclass
class Tower:
    """User and item embeddings plus an item bias; the score is u . v + b."""

    users: np.ndarray
    items: np.ndarray
    bias: np.ndarray

    def scores(self) -> np.ndarray:
        """Serving scores for every (user, item): no correction at serving time."""
        return self.users @ self.items.T + self.bias


def train_in_batch(
    world: World,
    log_q: np.ndarray | None,
    dim: int = 8,
    batch_size: int = 256,
    epochs: int = 3,
    learning_rate: float = 0.05,
    seed: int = 1,
) -> Tower:
    """Train with in-batch softmax; pass log_q to subtract log q_j from each logit."""
    n_users, n_items = world.true_logits.shape
    if log_q is not None and np.shape(log_q) != (n_items,):
        raise ValueError(f"log_q must have one entry per item ({n_items})")
    if batch_size < 2 or epochs < 1 or learning_rate <= 0:
        raise ValueError("need batch_size >= 2, epochs >= 1 and learning_rate > 0")
    rng = np.random.default_rng(seed)
    model = Tower(
        users=rng.normal(0, 0.1, (n_users, dim)),
        items=rng.normal(0, 0.1, (n_items, dim)),
        bias=np.zeros(n_items),
    )
    adam = _Adam([model.users, model.items, model.bias], learning_rate)
    n_batches = len(world.train) // batch_size
    with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: threads cost
        for _ in range(epochs):
            for rows in np.array_split(rng.permutation(len(world.train)), n_batches):
                user, item = world.train[rows, 0], world.train[rows, 1]
                adam.step(_in_batch_gradients(model, user, item, log_q))
    return model


def _in_batch_gradients(
    model: Tower, user: np.ndarray, item: np.ndarray, log_q: np.ndarray | None
) -> list[np.ndarray]:
    """Softmax over the batch: row i's positive is item i, the other items negatives."""
    logits = model.users[user] @ model.items[item].T + model.bias[item]
    if log_q is not None:
        logits = logits - log_q[item]  # the logQ correction (Yi et al. 2019)
    # A row's own item elsewhere in the batch is not a negative ("accidental hit").
    same_item = (item[:, None] == item[None, :]) & ~np.eye(len(item), dtype=bool)
    logits[same_item] = -np.inf
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    grad_logits = (probs - np.eye(len(item))) / len(item)  # d(cross-entropy)/d(logit)
    grads = [np.zeros_like(p) for p in (model.users, model.items, model.bias)]
    np.add.at(grads[0], user, grad_logits @ model.items[item])
    np.add.at(grads[1], item, grad_logits.T @ model.users[user])
    np.add.at(grads[2], item, grad_logits.sum(axis=0))
    return grads
    # --8<-- [end:train]


class _Adam:
    """Adam updates in place on a list of numpy parameters."""

    def __init__(self, params: list[np.ndarray], learning_rate: float) -> None:
        self.params, self.learning_rate, self.t = params, learning_rate, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            m_hat, v_hat = m / (1 - 0.9**self.t), v / (1 - 0.999**self.t)
            p -= self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)


# --8<-- [start:evaluate]
@dataclass(frozen=True)
class Report:
    """How a score matrix retrieves: accuracy and its popularity profile."""

    hit_rate: float  # share of test events whose item is in the user's top k
    head_share: float  # share of top-k slots taken by the 10% most popular items
    popularity_slope: float  # slope of an item's mean score on log q_j


def evaluate(
    scores: np.ndarray, world: World, log_q: np.ndarray, k: int = 10
) -> Report:
    """Hit rate@k on the test log, head share of the top k, and popularity slope."""
    if scores.shape != world.true_logits.shape:
        raise ValueError("scores must be a (users, items) matrix")
    top_k = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = [hit_rate_at_k(top_k[user].tolist(), {item}, k) for user, item in world.test]
    head = np.argsort(-log_q)[: len(log_q) // 10]
    head_share = np.isin(top_k, head).mean()
    item_mean = scores.mean(axis=0)
    slope = np.polyfit(log_q, item_mean - item_mean.mean(), 1)[0]
    return Report(float(np.mean(hits)), float(head_share), float(slope))
    # --8<-- [end:evaluate]


# --8<-- [start:demo]
MODELS = (
    "oracle (true logits)",
    "popularity only",
    "in-batch, no logQ",
    "in-batch, logQ",
)


def run_seed(seed: int) -> dict[str, Report]:
    """One world and one initialisation: the four score matrices, evaluated."""
    world = make_world(seed=seed)
    n_users, n_items = world.true_logits.shape
    log_q = np.log(item_frequencies(world.train, n_items))
    scores = {
        "oracle (true logits)": world.true_logits,
        "popularity only": np.tile(log_q, (n_users, 1)),
        "in-batch, no logQ": train_in_batch(world, None, seed=seed + 1).scores(),
        "in-batch, logQ": train_in_batch(world, log_q, seed=seed + 1).scores(),
    }
    return {name: evaluate(s, world, log_q) for name, s in scores.items()}


def main() -> None:
    seeds = range(3)  # each seed trains two models; three keep the run short
    runs = [run_seed(seed) for seed in seeds]
    print("1,000 Zipf items, 50,000 training events, batch 256;")
    print(f"mean over {len(runs)} seeds (a new world and initialisation each)")
    print(
        f"{'scores':<21} {'hit@10':>6} {'min-max':<11} {'head share':>10} {'slope':>6}"
    )
    for name in MODELS:
        hits = np.array([run[name].hit_rate for run in runs])
        head = np.mean([run[name].head_share for run in runs])
        slope = np.mean([run[name].popularity_slope for run in runs])
        print(
            f"{name:<21} {hits.mean():>6.3f} {hits.min():.3f}-{hits.max():.3f}"
            f" {head:>10.2f} {slope:>6.2f}"
        )
    print("hit@10 differences, paired by seed: min to max")
    for a, b in (("in-batch, logQ", "in-batch, no logQ"),
                 ("oracle (true logits)", "in-batch, logQ")):  # fmt: skip
        gap = [run[a].hit_rate - run[b].hit_rate for run in runs]
        print(f"  {a} minus {b}: {min(gap):+.3f} to {max(gap):+.3f}")


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
