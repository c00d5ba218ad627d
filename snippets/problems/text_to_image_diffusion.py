"""A tiny diffusion model in numpy: the world, two denoisers, samplers, metrics.

The "images" are points in 2-D: each prompt is a mixture of Gaussian modes on a
ring, sharing its side modes with the neighbouring prompts. Because the mixture is
known, the exact noise prediction (the exact score) is available in closed form;
it is the reference that separates the sampler's error from the model's. The
learned denoiser is ridge regression on random features, one head per prompt and
one for the empty prompt, trained with condition dropout as classifier-free
guidance needs. The samplers are DDPM's ancestral sampler and deterministic DDIM,
with guidance; a one-step student distils the DDIM teacher.

The experiments that use these pieces are in ``text_to_image.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

# DDPM's linear noise schedule (Ho et al., 2020): 1,000 steps, beta 1e-4 to 0.02.
STEPS = 1_000
BETAS = np.linspace(1e-4, 0.02, STEPS)
ALPHA_BAR = np.cumprod(1.0 - BETAS)  # signal share left after t + 1 steps


def _prompts(prompts: ArrayLike, count: int | None = None) -> np.ndarray:
    p = np.asarray(prompts)
    if p.ndim != 1 or p.size == 0 or not np.issubdtype(p.dtype, np.integer):
        raise TypeError("prompts must be a non-empty 1-D array of integers")
    if p.min() < 0 or (count is not None and p.max() >= count):
        raise ValueError(f"prompt ids must be in [0, {count}), got {p.min()}-{p.max()}")
    return p


def _points(x: ArrayLike, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or a.shape[1] != 2 or not np.isfinite(a).all():
        raise ValueError("points must be a finite array of shape (n, 2)")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"need one point per prompt: {a.shape[0]} points, {n} prompts")
    return a


def _step(t: int) -> int:
    if isinstance(t, bool) or not isinstance(t, int | np.integer):
        raise TypeError(f"t must be an integer step, got {t!r}")
    if not 0 <= t < STEPS:
        raise ValueError(f"t must be in [0, {STEPS}), got {t}")
    return int(t)


@dataclass(frozen=True)
class World:
    """Prompt-conditional mixtures of isotropic Gaussian modes in 2-D."""

    means: np.ndarray  # (modes, 2)
    sd: float  # every mode's standard deviation
    weights: np.ndarray  # (prompts + 1, modes); the last row is the empty prompt

    def __post_init__(self) -> None:
        means, weights = np.asarray(self.means), np.asarray(self.weights)
        if means.ndim != 2 or means.shape[1] != 2 or not self.sd > 0:
            raise ValueError("means must be (modes, 2) and sd positive")
        if weights.ndim != 2 or weights.shape[1] != len(means) or len(weights) < 2:
            raise ValueError("weights must be (prompts + 1, modes), prompts >= 1")
        if (weights < 0).any() or not np.allclose(weights.sum(axis=1), 1.0):
            raise ValueError("each row of weights must be a distribution")

    @property
    def prompts(self) -> int:
        return self.weights.shape[0] - 1

    def sample(self, prompts: ArrayLike, rng: np.random.Generator) -> np.ndarray:
        """One point per prompt id (the id `prompts` is the empty prompt)."""
        p = _prompts(prompts, self.prompts + 1)
        cdf = np.cumsum(self.weights[p], axis=1)
        mode = np.minimum(
            (rng.random(p.size)[:, None] > cdf).sum(1), len(self.means) - 1
        )
        return self.means[mode] + self.sd * rng.standard_normal((p.size, 2))

    def moments(self, prompt: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact mean and covariance of one prompt's distribution."""
        w = self.weights[_prompts([prompt], self.prompts + 1)[0]]
        mean = w @ self.means
        centred = self.means - mean
        cov = (w[:, None] * centred).T @ centred + self.sd**2 * np.eye(2)
        return mean, cov

    def mode_likelihoods(self, x: np.ndarray) -> np.ndarray:
        """Density of each point under each mode, shape (n, modes)."""
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * self.sd**2)) / (2 * np.pi * self.sd**2)


def ring_world(
    prompts: int = 4, radius: float = 1.0, sd: float = 0.15, side: float = 0.1
) -> World:
    """Each prompt owns two adjacent modes of a ring and borrows one on each side.

    Prompt c puts (1 - 2 side) / 2 on modes 2c and 2c + 1, and `side` on each
    neighbour's nearest mode, so neighbouring prompts overlap: a point on mode
    2c + 2 is four times likelier to come from prompt c + 1 than from prompt c.
    """
    if isinstance(prompts, bool) or not isinstance(prompts, int) or prompts < 2:
        raise ValueError(f"prompts must be an integer >= 2, got {prompts!r}")
    if not (radius > 0 and sd > 0 and 0 <= side < 0.25):
        raise ValueError("need radius > 0, sd > 0 and side in [0, 0.25)")
    modes = 2 * prompts
    angle = 2 * np.pi * np.arange(modes) / modes
    means = radius * np.column_stack([np.cos(angle), np.sin(angle)])
    weights = np.zeros((prompts + 1, modes))
    for c in range(prompts):
        weights[c, [2 * c, 2 * c + 1]] = (1 - 2 * side) / 2
        weights[c, [(2 * c - 1) % modes, (2 * c + 2) % modes]] = side
    weights[prompts] = weights[:prompts].mean(axis=0)  # the empty prompt
    return World(means, sd, weights)


# --8<-- [start:exact]
def exact_eps(
    world: World, x: ArrayLike, t: int, prompts: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The noise an ideal denoiser predicts at step t: (with prompt, empty prompt).

    Noising a mixture of Gaussians gives a mixture of Gaussians: mode k becomes
    N(a mu_k, (a^2 sd^2 + s^2) I) with a^2 = alpha_bar_t and s^2 = 1 - a^2, so the
    score is exact, and eps = -s * score (Tweedie's formula).
    """
    p = _prompts(prompts, world.prompts + 1)
    x, t = _points(x, p.size), _step(t)
    a, s2 = np.sqrt(ALPHA_BAR[t]), 1.0 - ALPHA_BAR[t]
    var = a**2 * world.sd**2 + s2
    # log N(x; a mu_k, var I) up to a term in x alone, which the softmax drops
    log_kernel = (a * x @ world.means.T - a**2 * (world.means**2).sum(1) / 2) / var
    out = []
    for weights in (world.weights[p], world.weights[-1][None]):
        with np.errstate(divide="ignore"):  # a prompt's absent modes: log 0
            log_r = np.log(weights) + log_kernel
        r = np.exp(log_r - log_r.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)  # responsibility of each mode
        score = -(x - a * r @ world.means) / var
        out.append(-np.sqrt(s2) * score)
    return out[0], out[1]
    # --8<-- [end:exact]


def ridge_fit(phi: np.ndarray, target: np.ndarray, ridge: float) -> np.ndarray:
    """Weights minimising |phi w - target|^2 + ridge * rows * |w|^2."""
    gram = phi.T @ phi + ridge * len(phi) * np.eye(phi.shape[1])
    return np.linalg.solve(gram, phi.T @ target)


class RidgeDenoiser:
    """Ridge regression on random ReLU features of (noisy point, step).

    One linear head per prompt and one for the empty prompt, all on the same
    features: a training pair keeps its prompt with probability 1 - dropout and
    is labelled "empty" otherwise, as classifier-free guidance is trained. The
    heads predict v = a eps - s x0 (Salimans and Ho, 2022), which stays well
    scaled at every noise level; eps is recovered as s x + a v.
    """

    def __init__(
        self,
        world: World,
        rng: np.random.Generator,
        pairs: int = 40_000,
        features: int = 200,
        dropout: float = 0.1,
        ridge: float = 1e-4,
    ) -> None:
        if min(pairs, features) < 1 or not 0 < dropout < 1 or ridge <= 0:
            raise ValueError("need pairs, features >= 1, dropout in (0, 1), ridge > 0")
        self.world = world
        _, cov = world.moments(world.prompts)
        self.data_variance = float(np.trace(cov) / 2)  # per coordinate, as EDM scales
        self.projection = rng.standard_normal((3, features))
        self.offset = rng.standard_normal(features)
        prompts = rng.integers(0, world.prompts, pairs)
        x0 = world.sample(prompts, rng)
        labels = np.where(rng.random(pairs) < dropout, world.prompts, prompts)
        t = rng.integers(0, STEPS, pairs)
        eps = rng.standard_normal((pairs, 2))
        a, s = np.sqrt(ALPHA_BAR[t])[:, None], np.sqrt(1 - ALPHA_BAR[t])[:, None]
        phi = self.features(a * x0 + s * eps, t)
        target = a * eps - s * x0  # v
        self.heads = np.zeros((phi.shape[1], 2 * (world.prompts + 1)))
        for head in range(world.prompts + 1):
            mine = labels == head
            self.heads[:, 2 * head : 2 * head + 2] = ridge_fit(
                phi[mine], target[mine], ridge
            )

    def features(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """ReLU(W z + b) for z = (x scaled to unit variance, step in [-1, 1])."""
        scale = np.sqrt(ALPHA_BAR[t] * self.data_variance + 1 - ALPHA_BAR[t])
        z = np.column_stack([x / scale[:, None], 2 * t / STEPS - 1])
        relu = np.maximum(z @ self.projection + self.offset, 0.0)
        return np.column_stack([relu, z, np.ones(len(z))])

    def __call__(
        self, x: ArrayLike, t: int, prompts: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted noise at step t: (with prompt, empty prompt)."""
        p = _prompts(prompts, self.world.prompts + 1)
        x, t = _points(x, p.size), _step(t)
        # The features of one step, without building the design matrix: the step's
        # part of W z + b is the same for every point.
        scale = np.sqrt(ALPHA_BAR[t] * self.data_variance + 1 - ALPHA_BAR[t])
        z_t = 2 * t / STEPS - 1
        relu = np.maximum(
            (x / scale) @ self.projection[:2]
            + (z_t * self.projection[2] + self.offset),
            0.0,
        )
        k = self.projection.shape[1]
        linear = (x / scale) @ self.heads[k : k + 2] + z_t * self.heads[k + 2]
        v = (relu @ self.heads[:k] + linear + self.heads[k + 3]).reshape(len(x), -1, 2)
        a, s = np.sqrt(ALPHA_BAR[t]), np.sqrt(1 - ALPHA_BAR[t])
        return s * x + a * v[np.arange(len(x)), p], s * x + a * v[:, -1]


def timesteps(steps: int) -> np.ndarray:
    """Evenly spaced steps from the noisiest one down ("trailing" spacing)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= STEPS:
        raise ValueError(f"steps must be an integer in [1, {STEPS}], got {steps!r}")
    return (np.round(np.linspace(STEPS, 0, steps + 1))[:-1] - 1).astype(int)


# --8<-- [start:sampler]
def generate(denoiser, noise, prompts, steps, eta=0.0, scale=1.0, rng=None):
    """Denoise `noise` in `steps` network calls: DDIM (eta 0) or DDPM (eta 1).

    Classifier-free guidance mixes the two predictions: eps_empty + scale *
    (eps_prompt - eps_empty); scale 1 is the plain conditional model.
    """
    x = _check_generate(noise, prompts, eta, scale, rng)
    ts = timesteps(steps)
    for i, t in enumerate(ts):
        eps_prompt, eps_empty = denoiser(x, int(t), prompts)
        eps = eps_empty + scale * (eps_prompt - eps_empty)
        x = ddim_step(x, eps, int(t), int(ts[i + 1]) if i + 1 < steps else -1, eta, rng)
    return x


def ddim_step(x, eps, t, t_next, eta=0.0, rng=None):
    """From step t to t_next (-1: the clean sample), given the predicted noise."""
    a_bar = ALPHA_BAR[_step(t)]
    a_next = ALPHA_BAR[_step(t_next)] if t_next >= 0 else 1.0
    x0 = (x - np.sqrt(1 - a_bar) * eps) / np.sqrt(a_bar)  # the denoised guess
    # DDIM's sigma: 0 is deterministic; eta = 1 is DDPM's posterior variance.
    sigma = eta * np.sqrt((1 - a_next) / (1 - a_bar) * (1 - a_bar / a_next))
    x = np.sqrt(a_next) * x0 + np.sqrt(max(1 - a_next - sigma**2, 0)) * eps
    return x + sigma * rng.standard_normal(x.shape) if sigma > 0 else x
    # --8<-- [end:sampler]


def _check_generate(noise, prompts, eta, scale, rng) -> np.ndarray:
    x = _points(noise, _prompts(prompts).size)
    if not 0 <= eta <= 1 or not np.isfinite(scale):
        raise ValueError(f"eta must be in [0, 1] and scale finite, got {eta}, {scale}")
    if eta > 0 and not isinstance(rng, np.random.Generator):
        raise TypeError("a stochastic sampler (eta > 0) needs a numpy Generator")
    return x.copy()


class Student:
    """One network call from noise to sample: ridge regression onto a teacher's
    outputs (distillation of the DDIM map, as Luhman and Luhman, 2021)."""

    def __init__(
        self,
        noise: ArrayLike,
        teacher: ArrayLike,
        prompts: ArrayLike,
        rng: np.random.Generator,
        features: int = 200,
        ridge: float = 1e-4,
    ) -> None:
        p = _prompts(prompts)
        z, y = _points(noise, p.size), _points(teacher, p.size)
        self.projection = rng.standard_normal((2, features))
        self.offset = rng.standard_normal(features)
        self.heads = {}
        for prompt in np.unique(p):
            mine = p == prompt
            self.heads[int(prompt)] = ridge_fit(self.features(z[mine]), y[mine], ridge)

    def features(self, z: np.ndarray) -> np.ndarray:
        relu = np.maximum(z @ self.projection + self.offset, 0.0)
        return np.column_stack([relu, z, np.ones(len(z))])

    def __call__(self, noise: ArrayLike, prompts: ArrayLike) -> np.ndarray:
        p = _prompts(prompts)
        z = _points(noise, p.size)
        if missing := set(np.unique(p).tolist()) - set(self.heads):
            raise ValueError(f"no student head for prompts {sorted(missing)}")
        phi, out = self.features(z), np.empty_like(z)
        for prompt, head in self.heads.items():
            out[p == prompt] = phi[p == prompt] @ head
        return out


def frechet_distance(
    mean_a: ArrayLike, cov_a: ArrayLike, mean_b: ArrayLike, cov_b: ArrayLike
) -> float:
    """Fréchet distance between two Gaussians (what FID computes on features):

    |m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)).
    """
    m_a, m_b = np.asarray(mean_a, float), np.asarray(mean_b, float)
    c_a, c_b = np.asarray(cov_a, float), np.asarray(cov_b, float)
    d = m_a.size
    if m_b.shape != (d,) or c_a.shape != (d, d) or c_b.shape != (d, d):
        raise ValueError("means must be (d,) and covariances (d, d), d shared")
    # tr (C_a C_b)^(1/2) = sum of square roots of the eigenvalues of C_a C_b,
    # which are real and >= 0 for positive semi-definite C_a and C_b.
    eig = np.linalg.eigvals(c_a @ c_b).real
    root_trace = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(((m_a - m_b) ** 2).sum() + np.trace(c_a + c_b) - 2 * root_trace)


# --8<-- [start:quality]
def quality(world: World, x: ArrayLike, prompts: ArrayLike, floor: float) -> dict:
    """Four grades of samples, each averaged over prompts, from the known world.

    fd: Fréchet distance of each prompt's samples to its exact moments.
    precision: share of samples where the data density is above `floor`
    (set to keep 99% of real samples), the "looks like a real image" rate.
    coverage: sum over modes of min(share of samples on it, its true weight).
    adherence: share that the world's Bayes classifier assigns to the prompt.
    """
    p = _prompts(prompts, world.prompts)
    x = _points(x, p.size)
    likelihood = world.mode_likelihoods(x)
    plausible = likelihood @ world.weights[-1] >= floor
    mode = (likelihood * world.weights[-1]).argmax(axis=1)
    judged = (likelihood @ world.weights[:-1].T).argmax(axis=1)
    grades = {"fd": [], "precision": [], "coverage": [], "adherence": []}
    for prompt in range(world.prompts):
        mine = p == prompt
        if mine.sum() < 3:
            raise ValueError(f"need at least 3 samples of prompt {prompt}")
        grades["fd"].append(
            frechet_distance(x[mine].mean(0), np.cov(x[mine].T), *world.moments(prompt))
        )
        grades["precision"].append(plausible[mine].mean())
        on_mode = np.bincount(mode[mine & plausible], minlength=len(world.means))
        shares = on_mode / mine.sum()
        grades["coverage"].append(np.minimum(shares, world.weights[prompt]).sum())
        grades["adherence"].append((judged[mine] == prompt).mean())
    return {name: float(np.mean(values)) for name, values in grades.items()}
    # --8<-- [end:quality]


def density_floor(world: World, rng: np.random.Generator, n: int = 100_000) -> float:
    """Data density below which 1% of real (empty-prompt) samples fall."""
    x = world.sample(np.full(n, world.prompts), rng)
    return float(np.quantile(world.mode_likelihoods(x) @ world.weights[-1], 0.01))
