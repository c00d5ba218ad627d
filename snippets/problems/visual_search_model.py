"""Visual search in miniature: a linear image encoder trained with InfoNCE in numpy.

The synthetic world: every image has a latent identity (what the photo is of) and
nuisance coordinates (colour: lighting, white balance; crop: framing, scale,
background). A photo is both, mapped into a higher-dimensional raw feature space, plus
sensor noise. Two photos of one thing share the identity and differ in the nuisance.
An augmentation redraws the nuisance coordinates it touches; the encoder learns to
ignore exactly those. Retrieval is graded by whether a new photo of a held-out image
finds that image in the gallery: a ground truth that no method's weights define.

Used by ``python -m snippets.problems.visual_search``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RAW_DIM, IDENTITY_DIM, COLOUR_DIM, CROP_DIM = 32, 8, 4, 4
NUISANCE_DIM = COLOUR_DIM + CROP_DIM
EMBED_DIM = 8
# Which nuisance coordinates each augmentation redraws (colour first, then crop).
AUGMENTATIONS = {
    "colour and crop": np.ones(NUISANCE_DIM, dtype=bool),
    "colour only": np.arange(NUISANCE_DIM) < COLOUR_DIM,
    "pixel noise only": np.zeros(NUISANCE_DIM, dtype=bool),
}


def _rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    return rng


def _count(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _matrix(name: str, value: object, columns: int | None = None) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    if value.ndim < 2 or value.shape[-2] == 0 or not np.isfinite(value).all():
        raise ValueError(f"{name} must be a finite array of shape (..., n, dim)")
    if columns is not None and value.shape[-1] != columns:
        raise ValueError(f"{name} has {value.shape[-1]} columns, expected {columns}")
    return value


# --8<-- [start:world]
@dataclass(frozen=True)
class World:
    """How identity and nuisance become raw features (hidden from every method)."""

    identity_map: np.ndarray  # (RAW_DIM, IDENTITY_DIM)
    nuisance_map: np.ndarray  # (RAW_DIM, NUISANCE_DIM)
    nuisance_scale: float = 1.0  # photos differ this much in colour and crop
    sensor_noise: float = 0.3  # per raw feature, fresh in every photo


def photograph(world: World, identity, nuisance, rng) -> np.ndarray:
    """Raw features of photos: identity and nuisance mixed in every raw dimension."""
    noise = world.sensor_noise * rng.standard_normal((*identity.shape[:-1], RAW_DIM))
    return identity @ world.identity_map.T + nuisance @ world.nuisance_map.T + noise


def augment(world: World, nuisance, touched, rng) -> np.ndarray:
    """A view of the same image: the nuisance coordinates in `touched` are redrawn.

    What the augmentation touches is what the encoder learns to ignore, so this mask
    is the definition of "similar": a crop-free augmentation keeps crops apart.
    """
    fresh = world.nuisance_scale * rng.standard_normal(nuisance.shape)
    return np.where(touched, fresh, nuisance)
    # --8<-- [end:world]


def make_world(rng: np.random.Generator) -> World:
    """A random world: both maps mix every latent coordinate into every raw one."""
    rng = _rng(rng)
    scale = 1 / np.sqrt(RAW_DIM)
    return World(
        identity_map=scale * rng.standard_normal((RAW_DIM, IDENTITY_DIM)),
        nuisance_map=scale * rng.standard_normal((RAW_DIM, NUISANCE_DIM)),
    )


def draw_images(world: World, n: int, rng: np.random.Generator):
    """n images: identities and the nuisance of the photo that was uploaded."""
    n, rng = _count("n", n), _rng(rng)
    identity = rng.standard_normal((n, IDENTITY_DIM))
    return identity, world.nuisance_scale * rng.standard_normal((n, NUISANCE_DIM))


# --8<-- [start:infonce]
def info_nce(weights, anchors, positives, negatives, temperature, negative_mask=None):
    """InfoNCE loss of a linear encoder and its gradient with respect to the weights;
    leading axes (one per training run) must agree, False in negative_mask drops one."""
    b = anchors.shape[-2]
    x = np.concatenate([anchors, positives, negatives], axis=-2)  # every view
    h = x @ weights.mT
    r = np.sqrt(np.vecdot(h, h))[..., None]  # vecdot: a dot product per row
    e = h / r  # unit embeddings
    a, p, n = e[..., :b, :], e[..., b : 2 * b, :], e[..., 2 * b :, :]
    positive, negative = np.vecdot(a, p)[..., None], a @ n.mT  # cosines
    if negative_mask is not None:  # exp(-inf) = 0: no loss, no gradient
        negative = np.where(negative_mask, negative, -np.inf)
    logits = np.concatenate([positive, negative], axis=-1) / temperature
    top = logits.max(axis=-1, keepdims=True)  # shifted: exp() cannot overflow
    z = np.exp(logits - top)
    total = z.sum(axis=-1, keepdims=True)
    loss = np.mean(top + np.log(total) - logits[..., :1], axis=(-2, -1))  # per run
    g = z / total  # d loss / d logit: the softmax, minus 1 on the positive;
    g[..., 0] -= 1  # over temperature x anchors: d loss / d cosine
    g /= temperature * b
    d_e = np.concatenate(  # d loss / d embedding of every anchor, positive, negative
        [g[..., :1] * p + g[..., 1:] @ n, g[..., :1] * a, g[..., 1:].mT @ a], axis=-2
    )
    d_h = (d_e - e * np.vecdot(d_e, e)[..., None]) / r  # through e = h / |h|
    return loss, d_h.mT @ x
    # --8<-- [end:infonce]


@dataclass(frozen=True)
class Run:
    """One training configuration."""

    temperature: float = 0.1
    negatives: int = 128
    augmentation: str = "colour and crop"
    hardest: bool = False  # keep, of all the negatives drawn, the most similar one
    steps: int | None = None  # its training budget; None: train_encoders' steps


def check_runs(runs: Sequence[Run], max_negatives: int) -> None:
    """Every run is trainable: positive temperature, known augmentation, k negatives."""
    if not runs:
        raise ValueError("need at least one run")
    for run in runs:
        if not isinstance(run, Run):
            raise TypeError(f"runs must hold Run, got {type(run).__name__}")
        if not (np.isfinite(run.temperature) and run.temperature > 0):
            raise ValueError(f"temperature must be positive, got {run.temperature}")
        if run.augmentation not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {run.augmentation!r}")
        _count("negatives", run.negatives)
        if run.hardest and run.negatives != 1:
            raise ValueError("hardest-negative runs keep exactly 1 negative")
        if run.negatives > max_negatives:
            raise ValueError(f"{run.negatives} negatives > max {max_negatives}")
        if run.steps is not None:
            _count("steps", run.steps)


def hardest_negative_mask(weights, anchors, negatives) -> np.ndarray:
    """(..., anchors, negatives) mask keeping, for each anchor, the negative whose
    embedding has the highest cosine with the anchor's under these weights."""
    a = anchors @ weights.mT
    n = negatives @ weights.mT
    n /= np.linalg.norm(n, axis=-1, keepdims=True)  # the anchor's norm ranks nothing
    hardest = (a @ n.mT).argmax(axis=-1)
    return hardest[..., None] == np.arange(negatives.shape[-2])


def train_encoders(
    world: World,
    images: tuple[np.ndarray, np.ndarray],
    runs: Sequence[Run],
    rng: np.random.Generator,
    steps: int = 300,
    batch: int = 32,
    max_negatives: int = 128,
    learning_rate: float = 0.02,
) -> np.ndarray:
    """Train one linear encoder per run with Adam, all runs on the same batches.

    Each step draws `batch` anchor images and `max_negatives` other images, all
    distinct, so no anchor meets its own image (its identity) among the negatives;
    each run sees the same images and the same nuisance draws (common random
    numbers), and uses the first `run.negatives` of them. A run with its own
    `steps` trains that long: a longer run shares the shorter runs' batches first.
    Returns (runs, EMBED_DIM, RAW_DIM).
    """
    rng = _rng(rng)
    steps, batch = _count("steps", steps), _count("batch", batch)
    max_negatives = _count("max_negatives", max_negatives)
    check_runs(runs, max_negatives)
    identity, nuisance = images
    if len(identity) < batch + max_negatives:
        raise ValueError(
            f"{len(identity)} images cannot give {batch} anchors and"
            f" {max_negatives} other images a step"
        )
    policies = sorted({run.augmentation for run in runs})
    touched = np.stack([AUGMENTATIONS[name] for name in policies])[:, None]
    policy = np.array([policies.index(run.augmentation) for run in runs])
    temperature = np.array([run.temperature for run in runs], np.float32)[:, None, None]
    mask = np.arange(max_negatives) < np.array([r.negatives for r in runs])[:, None]
    mask = np.repeat(mask[:, None], batch, axis=1)  # (runs, anchors, negatives)
    mined = np.array([run.hardest for run in runs])
    budget = np.array([steps if run.steps is None else run.steps for run in runs])
    init = rng.standard_normal((EMBED_DIM, RAW_DIM)) / np.sqrt(RAW_DIM)
    weights = np.repeat(init[None], len(runs), axis=0).astype(np.float32)
    moment, second = np.zeros_like(weights), np.zeros_like(weights)
    trained, active = np.empty_like(weights), np.arange(len(runs))
    for step in range(1, budget.max() + 1):
        drawn = rng.choice(len(identity), batch + max_negatives, replace=False)
        rows = np.concatenate([drawn[:batch], drawn])  # anchor, positive, negatives
        views = photograph(
            world, identity[rows], augment(world, nuisance[rows], touched, rng), rng
        ).astype(np.float32)[policy]  # (runs, 2 batch + negatives, RAW_DIM)
        anchors, positives = views[:, :batch], views[:, batch : 2 * batch]
        negatives = views[:, 2 * batch :]
        if mined.any():  # each anchor keeps the negative its encoder finds closest
            mask[mined] = hardest_negative_mask(
                weights[mined], anchors[mined], negatives[mined]
            )
        _, grad = info_nce(weights, anchors, positives, negatives, temperature, mask)
        moment = 0.9 * moment + 0.1 * grad
        second = 0.999 * second + 0.001 * grad * grad
        unbiased = np.sqrt(second / (1 - 0.999**step)) + 1e-8
        update = moment / (1 - 0.9**step) / unbiased
        weights -= learning_rate * update
        done = budget[active] == step
        if done.any():  # set finished runs aside; the others train on
            trained[active[done]] = weights[done]
            keep = ~done
            active, policy, temperature, mask, mined = (
                x[keep] for x in (active, policy, temperature, mask, mined)
            )
            weights, moment, second = weights[keep], moment[keep], second[keep]
            used = np.unique(policy)  # photograph only the augmentations still used
            touched, policy = touched[used], np.searchsorted(used, policy)
    return trained


def embed(weights: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Unit-norm embeddings of raw features under one linear encoder."""
    weights = _matrix("weights", weights)
    raw = _matrix("raw", raw, weights.shape[-1])
    emb = raw @ weights.T
    return emb / np.linalg.norm(emb, axis=-1, keepdims=True)


def pca_encoder(raw_training: np.ndarray, dim: int = EMBED_DIM) -> np.ndarray:
    """The PCA baseline: the top `dim` principal directions of the training photos.

    Like the learned encoder it is one linear map, trained on the same photos without
    labels: it keeps the directions of largest variance, whatever causes them.
    """
    raw_training = _matrix("raw_training", raw_training)
    dim = _count("dim", dim)
    if dim > min(raw_training.shape):
        raise ValueError(f"dim {dim} exceeds the shape {raw_training.shape}")
    centred = raw_training - raw_training.mean(axis=0)
    return np.linalg.svd(centred, full_matrices=False)[2][:dim]


# --8<-- [start:recall]
def recall_at_k(queries, gallery, targets, k: int = 10) -> float:
    """Share of queries whose target gallery item is among the k most similar.

    Exact search by cosine: one relevant item per query, so this is also the hit
    rate at k. A gallery item tied with the target does not push it down.
    """
    scores = queries @ gallery.T
    target_scores = scores[np.arange(len(queries)), targets]
    rank = (scores > target_scores[:, None]).sum(axis=1)  # items strictly above
    return float(np.mean(rank < k))
    # --8<-- [end:recall]


def check_retrieval(queries, gallery, targets, k) -> None:
    """Input checks for recall_at_k, kept out of the shown function."""
    queries, gallery = _matrix("queries", queries), _matrix("gallery", gallery)
    if queries.ndim != 2 or gallery.shape != (len(gallery), queries.shape[1]):
        raise ValueError("queries and gallery must be 2-D with the same dimension")
    targets = np.asarray(targets)
    if targets.shape != (len(queries),) or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError("targets must hold one integer gallery index per query")
    if targets.min() < 0 or targets.max() >= len(gallery):
        raise ValueError("targets must index the gallery")
    _count("k", k)


def checked_recall_at_k(queries, gallery, targets, k: int = 10) -> float:
    """recall_at_k after checking its inputs."""
    check_retrieval(queries, gallery, targets, k)
    return recall_at_k(queries, gallery, targets, k)


def sensitivity(weights, world: World, images, touched, rng) -> float:
    """How far redrawing the `touched` nuisance moves a photo's embedding, over the
    distance between photos of two different images (0: invariant; 1: as far).

    The sensor noise is kept, so only the nuisance changes between the two photos.
    """
    identity, nuisance = images
    raw = photograph(world, identity, nuisance, _rng(rng))
    changed = augment(world, nuisance, touched, rng)
    photo = embed(weights, raw)
    moved = embed(weights, raw + (changed - nuisance) @ world.nuisance_map.T)
    same = np.mean(np.sum((moved - photo) ** 2, axis=1))
    other = np.mean(np.sum((np.roll(photo, 1, axis=0) - photo) ** 2, axis=1))
    return float(same / other)


def variance_kept(weights: np.ndarray, world: World) -> tuple[float, float]:
    """Shares of the identity's and of the nuisance's variance in the raw features
    that lie in the encoder's row space (what a linear encoder can still see)."""
    weights = _matrix("weights", weights, RAW_DIM)
    basis = np.linalg.qr(weights.T)[0]  # orthonormal basis of the row space
    parts = (world.identity_map, world.nuisance_scale * world.nuisance_map)
    return tuple(float(np.sum((basis.T @ m) ** 2) / np.sum(m**2)) for m in parts)


def dimensions_used(embeddings: np.ndarray) -> float:
    """Participation ratio of the embeddings' covariance: how many dimensions the
    gallery spreads over (1: all on one axis; EMBED_DIM: evenly over all)."""
    embeddings = _matrix("embeddings", embeddings)
    eigen = np.linalg.eigvalsh(np.cov(embeddings, rowvar=False))
    return float(eigen.sum() ** 2 / np.sum(eigen**2))
