"""Ad click prediction, the model half: a synthetic ad world, hashed one-hot and cross
features, logistic regression, normalised entropy and calibration.

The world's click probability is hidden from the models: they see the ad, its category,
the site, the device, the user's segment and the slot, never the affinity tables or the
per-impression noise that the truth uses. Used by ``ad_click_prediction``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from snippets.concepts.classification_metrics import (
    check_binary_inputs,
    log_loss,
    sigmoid,
)
from snippets.concepts.features import bucket_and_sign

# What a model may see of an impression, and the crosses it may add.
FIELDS = ("ad", "category", "site", "device", "segment", "slot")
CROSSES = (("segment", "category"), ("device", "category"))
N_BUCKETS = 2**14


# --8<-- [start:world]
@dataclass(frozen=True)
class AdWorld:
    """Hidden truth: what makes a user click an ad, and what a click is worth."""

    ad_category: np.ndarray  # (ads,) category of each ad
    ad_quality: np.ndarray  # (ads,) logit effect of the ad's creative
    value_per_click: np.ndarray  # (ads,) the advertiser's true value of a click, $
    site_effect: np.ndarray  # (sites,)
    device_effect: np.ndarray  # (devices,)
    affinity: np.ndarray  # (segments, categories): the interaction that crosses learn
    device_category: np.ndarray  # (devices, categories): a weaker interaction
    position_factor: np.ndarray  # (slots,) P(click in slot k) / P(click in slot 1)
    base_logit: float
    noise_sd: float  # per-impression taste no feature captures


def make_world(
    rng: np.random.Generator,
    n_ads: int = 60,
    n_categories: int = 6,
    n_sites: int = 30,
    n_segments: int = 20,
) -> AdWorld:
    """Draw a world; every effect is an assumption of this miniature."""
    # Segment-category affinity is low rank (interests times topics) plus noise.
    rank = 3
    interests = rng.normal(0, 0.6, (n_segments, rank))
    topics = rng.normal(0, 0.6, (n_categories, rank))
    affinity = interests @ topics.T + rng.normal(0, 0.3, (n_segments, n_categories))
    return AdWorld(
        ad_category=rng.integers(0, n_categories, n_ads),
        ad_quality=rng.normal(0, 0.5, n_ads),
        value_per_click=rng.lognormal(0.0, 0.5, n_ads),
        site_effect=rng.normal(0, 0.3, n_sites),
        device_effect=np.array([0.0, -0.3, 0.2]),
        affinity=affinity,
        device_category=rng.normal(0, 0.3, (3, n_categories)),
        position_factor=np.array([1.0, 0.55, 0.35]),
        base_logit=-3.6,
        noise_sd=0.4,
    )


def true_ctr(world: AdWorld, ad, site, device, segment, noise) -> np.ndarray:
    """P(click) in the top slot; lower slots multiply it by their position factor."""
    category = world.ad_category[ad]
    logit = (
        world.base_logit
        + world.ad_quality[ad]
        + world.site_effect[site]
        + world.device_effect[device]
        + world.affinity[segment, category]
        + world.device_category[device, category]
        + noise
    )
    return sigmoid(logit)
    # --8<-- [end:world]


def sample_contexts(world: AdWorld, n: int, rng: np.random.Generator) -> dict:
    """Requests: a site, a device, a user segment and the user's unobserved taste."""
    return {
        "site": rng.integers(0, world.site_effect.size, n),
        "device": rng.choice(3, n, p=[0.6, 0.3, 0.1]),
        "segment": rng.integers(0, world.affinity.shape[0], n),
        "noise": rng.normal(0, world.noise_sd, n),
    }


def exploration_log(
    world: AdWorld, n: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Impressions of a random ad in a random slot, with clicks drawn from the truth."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    context = sample_contexts(world, n, rng)
    ad = rng.integers(0, world.ad_category.size, n)
    slot = rng.integers(0, world.position_factor.size, n)
    ctr = true_ctr(
        world,
        ad,
        context["site"],
        context["device"],
        context["segment"],
        context["noise"],
    )
    clicks = (rng.random(n) < ctr * world.position_factor[slot]).astype(int)
    columns = {
        "ad": ad,
        "category": world.ad_category[ad],
        "site": context["site"],
        "device": context["device"],
        "segment": context["segment"],
        "slot": slot,
    }
    return columns, clicks


def token(group: tuple[str, ...], key: Sequence[int]) -> str:
    """'site=7' for a field, 'segment=3&category=1' for a cross of two fields."""
    return "&".join(f"{name}={value}" for name, value in zip(group, key, strict=True))


# --8<-- [start:hashing]
def hash_group(
    columns: Mapping[str, np.ndarray], group: tuple[str, ...], n_buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Column and sign of each row's token for one field ('site=7') or one cross
    ('segment=3&category=1'), hashed as scikit-learn's FeatureHasher hashes strings."""
    columns = _check_columns(columns, [group], n_buckets)
    sizes = [int(columns[name].max()) + 1 for name in group]
    code = np.ravel_multi_index([columns[name] for name in group], sizes)
    present = np.bincount(code, minlength=math.prod(sizes)) > 0
    distinct, row_token = np.flatnonzero(present), np.cumsum(present)[code] - 1
    # Hash each distinct token once, not once per row: same result, far faster.
    keys = zip(*np.unravel_index(distinct, sizes), strict=True)
    hashed = np.array([bucket_and_sign(token(group, key), n_buckets) for key in keys])
    return hashed[row_token, 0], hashed[row_token, 1].astype(float)
    # --8<-- [end:hashing]


def hashed_features(
    columns: Mapping[str, np.ndarray],
    crosses: Sequence[tuple[str, ...]] = (),
    n_buckets: int = N_BUCKETS,
) -> sparse.csr_matrix:
    """One-hot tokens of every field, plus the crosses, in n_buckets signed columns."""
    groups = [(name,) for name in columns] + [tuple(cross) for cross in crosses]
    columns = _check_columns(columns, groups, n_buckets)
    return assemble([hash_group(columns, g, n_buckets) for g in groups], n_buckets)


def assemble(
    hashed: Sequence[tuple[np.ndarray, np.ndarray]], n_buckets: int = N_BUCKETS
) -> sparse.csr_matrix:
    """A sparse row per impression from hash_group outputs; collisions add up."""
    cols = np.column_stack([c for c, _ in hashed])
    signs = np.column_stack([s for _, s in hashed])
    indptr = np.arange(0, cols.size + 1, cols.shape[1])
    # Two tokens of one row in one bucket stay two entries: every product sums them.
    return sparse.csr_matrix(
        (signs.ravel(), cols.ravel(), indptr), shape=(cols.shape[0], n_buckets)
    )


def _check_columns(
    columns: Mapping[str, ArrayLike], groups: list[tuple[str, ...]], n_buckets: int
) -> dict[str, np.ndarray]:
    """The columns as arrays of non-negative integer codes, or a clear error."""
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, int) or n_buckets < 1:
        raise ValueError(f"n_buckets must be a positive integer, got {n_buckets!r}")
    if not columns:
        raise ValueError("columns must name at least one field")
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    shapes = {values.shape for values in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1 or 0 in next(iter(shapes)):
        raise ValueError("every column must be a non-empty 1-D array of one length")
    for name, values in arrays.items():
        if values.dtype.kind not in "iu" or values.min() < 0:
            raise ValueError(f"column {name!r} must hold non-negative integer codes")
    for group in groups:
        missing = [name for name in group if name not in arrays]
        if missing or not group:
            raise ValueError(f"group {group} uses fields not in columns: {missing}")
    return arrays


@dataclass(frozen=True)
class CtrModel:
    """A logistic regression over the hashed buckets that training used; a bucket no
    training row touched would get a zero weight, so it is left out, not stored."""

    buckets: np.ndarray
    model: LogisticRegression

    def predict(self, features: sparse.csr_matrix) -> np.ndarray:
        """P(click) for each row of hashed features."""
        return self.model.predict_proba(features[:, self.buckets])[:, 1]


def fit_ctr_model(
    features: sparse.csr_matrix,
    clicks: ArrayLike,
    negative_rate: float = 1.0,
    rng: np.random.Generator | None = None,
) -> CtrModel:
    """L2 logistic regression; with negative_rate < 1, every click and that share of
    non-clicks are kept (the predictions then need correct_downsampled)."""
    labels = np.asarray(clicks)
    if labels.ndim != 1 or labels.size != features.shape[0]:
        raise ValueError("clicks must be 1-D with one label per row of features")
    if not np.isin(labels, (0, 1)).all() or labels.min() == labels.max():
        raise ValueError("clicks must be 0/1 and contain both")
    if not 0 < negative_rate <= 1:
        raise ValueError(f"negative_rate must be in (0, 1], got {negative_rate!r}")
    keep = np.ones(labels.size, dtype=bool)
    if negative_rate < 1:
        if rng is None:
            raise ValueError("downsampling needs an rng")
        keep = (labels == 1) | (rng.random(labels.size) < negative_rate)
    rows = features[keep]
    buckets = np.flatnonzero(np.bincount(rows.indices, minlength=rows.shape[1]))
    model = LogisticRegression(C=1.0, max_iter=500)
    return CtrModel(buckets, model.fit(rows[:, buckets], labels[keep]))


# --8<-- [start:ne]
def entropy(rate: float) -> float:
    """Log loss of always predicting rate, on data whose click rate is rate."""
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1), got {rate!r}")
    return float(-(rate * np.log(rate) + (1 - rate) * np.log1p(-rate)))


def normalised_entropy(
    y_true: ArrayLike, y_prob: ArrayLike, background: float
) -> float:
    """Log loss divided by the entropy of the background (training) CTR: below 1,
    the model knows more than the base rate (He et al., 2014)."""
    return log_loss(y_true, y_prob) / entropy(background)


def calibration_ratio(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Expected clicks over observed clicks: 1 is calibrated on average."""
    labels, probs = check_binary_inputs(y_true, y_prob, name="y_prob")
    if labels.sum() == 0:
        raise ValueError("no clicks: the ratio is undefined")
    return float(probs.sum() / labels.sum())
    # --8<-- [end:ne]
