"""The support assistant's world: conversations, a hidden truth, the bot's confidence.

Each conversation has an intent and a latent difficulty. Whether the bot *can* resolve
it is drawn from the difficulty alone, before any policy exists, so no hand-off policy
scored on these conversations shares anything with the truth that grades it. The bot
reports a confidence that sees the difficulty through noise and, per intent, through
an offset (it sounds surer on refunds than it should). Write intents (refunds,
changes) end in a tool call; a user shown the exact action may catch a wrong one.

The rest is the hand-off policy: calibrating the confidence per intent, choosing a
threshold under a cap on bad resolutions, and grading a policy on fresh conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from snippets.common.stats import wilson_interval
from snippets.concepts.calibration import apply_platt, fit_platt
from snippets.concepts.classification_metrics import sigmoid


@dataclass(frozen=True)
class Intent:
    """One kind of request: its share of traffic and how the bot fares on it."""

    name: str
    share: float
    ability: float  # mean log-odds that the bot can resolve one (hidden)
    overstatement: float  # log-odds the bot's self-report adds on this intent
    writes: bool  # ends in a write tool: refund, change, cancel


# Assumed, for an online retailer's chat; measure the shares on your own traffic.
INTENTS = (
    Intent("order status", 0.38, 2.5, -1.0, writes=False),
    Intent("return or refund", 0.22, 1.3, 2.0, writes=True),
    Intent("change or cancel", 0.15, 1.1, 1.5, writes=True),
    Intent("policy question", 0.15, 1.7, 0.0, writes=False),
    Intent("complaint or other", 0.10, -0.7, 2.0, writes=False),
)


@dataclass(frozen=True)
class World:
    """The knobs of the synthetic world; the ablations change one at a time."""

    intents: tuple[Intent, ...] = INTENTS
    spread: float = 2.0  # sd of difficulty within an intent (log-odds)
    noise: float = 0.6  # sd of what the bot's confidence misreads (log-odds)
    sharpness: float = 1.5  # > 1: the self-report is more extreme than the truth
    user_catches: float = 0.7  # P(user rejects a wrong action shown to them)
    user_declines: float = 0.03  # P(user rejects or abandons a right action)
    over_policy: float = 0.3  # share of wrong actions a server-side rule blocks


@dataclass(frozen=True)
class Conversations:
    """A sample of conversations: the truth, the signal, and the users' reactions."""

    intent: np.ndarray  # index into the world's intents
    resolvable: np.ndarray  # hidden truth: the bot can resolve it
    confidence: np.ndarray  # the bot's raw self-reported confidence in (0, 1)
    writes: np.ndarray  # the intent ends in a write tool
    catches: np.ndarray  # shown a wrong action, this user would reject it
    declines: np.ndarray  # shown a right action, this user would reject it
    over_policy: np.ndarray  # the wrong action breaks a rule the server checks

    @property
    def size(self) -> int:
        return int(self.intent.size)

    def first(self, n: int) -> Conversations:
        """The first n conversations of the sample."""
        return Conversations(
            **{name: getattr(self, name)[:n] for name in self.__dataclass_fields__}
        )


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


# --8<-- [start:world]
def simulate(n: int, seed: int, world: World = World()) -> Conversations:
    """Draw n conversations; the truth depends on the difficulty alone."""
    _count("n", n)
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    shares = np.array([i.share for i in world.intents])
    if (shares <= 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError("intent shares must be positive and sum to 1")
    rng = np.random.default_rng(seed)
    intent = rng.choice(len(world.intents), size=n, p=shares)
    ability = np.array([i.ability for i in world.intents])[intent]
    difficulty = rng.normal(0.0, world.spread, n)
    resolvable = rng.random(n) < sigmoid(ability + difficulty)  # the hidden truth
    # The bot's self-report: the same log-odds misread by noise, made more extreme,
    # and shifted by how much it overstates itself on this intent.
    overstated = np.array([i.overstatement for i in world.intents])[intent]
    misread = rng.normal(0.0, world.noise, n)
    confidence = sigmoid(
        world.sharpness * (ability + difficulty + misread) + overstated
    )
    return Conversations(
        intent=intent,
        resolvable=resolvable,
        confidence=confidence,
        writes=np.array([i.writes for i in world.intents])[intent],
        catches=rng.random(n) < world.user_catches,
        declines=rng.random(n) < world.user_declines,
        over_policy=rng.random(n) < world.over_policy,
    )
    # --8<-- [end:world]


def logit(p: ArrayLike) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


@dataclass(frozen=True)
class Calibrator:
    """Platt scaling on the log-odds of the raw confidence, one fit per group."""

    params: dict[int, tuple[float, float]]

    def __call__(self, confidence: ArrayLike, group: ArrayLike) -> np.ndarray:
        conf, grp = np.asarray(confidence, dtype=float), np.asarray(group)
        out = np.empty(conf.size)
        for g in np.unique(grp):
            if int(g) not in self.params:
                raise ValueError(f"no calibration fitted for group {g}")
            slope, intercept = self.params[int(g)]
            mask = grp == g
            out[mask] = apply_platt(logit(conf[mask]), slope, intercept)
        return out


def fit_calibrator(
    confidence: ArrayLike, resolved: ArrayLike, group: ArrayLike
) -> Calibrator:
    """Fit P(resolved | confidence) per group on labelled (reviewed) conversations."""
    conf, grp = np.asarray(confidence, dtype=float), np.asarray(group)
    labels = np.asarray(resolved)
    if not conf.shape == grp.shape == labels.shape or conf.ndim != 1:
        raise ValueError("confidence, resolved and group must be 1-D, equal length")
    return Calibrator(
        {
            int(g): fit_platt(logit(conf[grp == g]), labels[grp == g])
            for g in np.unique(grp)
        }
    )


# --8<-- [start:threshold]
def threshold_under_cap(
    score: ArrayLike, bad_if_kept: ArrayLike, cap: float, margin: bool = True
) -> float:
    """Lowest score to keep (not hand off) such that the bad-resolution rate, over
    all these conversations, stays under cap: at the upper end of its 95% Wilson
    interval when margin is set, else at the point estimate."""
    s, bad = _scored(score, bad_if_kept)
    if not 0 < cap < 1:
        raise ValueError(f"cap must be in (0, 1), got {cap}")
    order = np.argsort(-s, kind="stable")  # keep the most confident first
    bad_kept = np.cumsum(bad[order])  # bad resolutions when the top k are kept
    n = s.size
    rate = wilson_interval(bad_kept, n)[1] if margin else bad_kept / n
    ok = np.flatnonzero(rate <= cap)  # a prefix: both rates grow with k
    if ok.size == 0:
        return float("inf")  # hand every conversation to a person
    return float(s[order[ok[-1]]])  # keep everything at least this confident
    # --8<-- [end:threshold]


def _scored(score: ArrayLike, flags: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(score, dtype=float)
    f = np.asarray(flags)
    if s.ndim != 1 or s.size == 0 or s.shape != f.shape:
        raise ValueError("score and flags must be non-empty 1-D arrays, equal length")
    if not np.isfinite(s).all():
        raise ValueError("score must be finite (no NaN)")
    if f.dtype != bool:
        raise TypeError("flags must be a boolean array")
    return s, f


def thresholds_per_group(
    score: ArrayLike,
    bad_if_kept: ArrayLike,
    group: ArrayLike,
    cap: float,
    margin: bool = True,
) -> dict[int, float]:
    """One threshold per group, each group held to the cap on its own traffic."""
    s, bad = _scored(score, bad_if_kept)
    grp = np.asarray(group)
    return {
        int(g): threshold_under_cap(s[grp == g], bad[grp == g], cap, margin)
        for g in np.unique(grp)
    }


def keep_mask(
    score: ArrayLike, group: ArrayLike, threshold: float | dict[int, float]
) -> np.ndarray:
    """Which conversations the bot keeps: score at or above its (group's) threshold."""
    s, grp = np.asarray(score, dtype=float), np.asarray(group)
    if isinstance(threshold, dict):
        missing = set(np.unique(grp).tolist()) - set(threshold)
        if missing:
            raise ValueError(f"no threshold for groups {sorted(missing)}")
        cut = np.empty(s.size)
        for g, t in threshold.items():
            cut[grp == g] = t
    else:
        cut = np.full(s.size, float(threshold))
    return s >= cut


# --8<-- [start:outcome]
def bad_if_kept(conv: Conversations, confirm: bool, server_rules: bool) -> np.ndarray:
    """Would keeping this conversation end in a bad resolution? A conversation the
    bot cannot resolve ends badly, unless its wrong write is stopped: by the user
    (shown the exact action) or by a server-side rule; then it goes to a person."""
    stopped = np.zeros(conv.size, dtype=bool)
    if confirm:
        stopped |= conv.catches
    if server_rules:
        stopped |= conv.over_policy
    return ~conv.resolvable & ~(conv.writes & stopped)


def handed_back(conv: Conversations, confirm: bool, server_rules: bool) -> np.ndarray:
    """Kept conversations that reach a person after all: a stopped wrong write, or
    a right write the user rejected at the confirmation step."""
    wrong = ~conv.resolvable & conv.writes
    stopped = np.zeros(conv.size, dtype=bool)
    if confirm:
        stopped |= wrong & conv.catches
        stopped |= conv.resolvable & conv.writes & conv.declines
    if server_rules:
        stopped |= wrong & conv.over_policy
    return stopped
    # --8<-- [end:outcome]


@dataclass(frozen=True)
class Outcome:
    """What one policy did to one sample of conversations (shares of all of them)."""

    containment: float  # closed by the bot, no person involved
    bad: float  # closed by the bot and not resolved
    handoff: float  # reached a person, at once or after a stopped write
    wrong_writes: float  # wrong write actions executed
    bad_by_intent: np.ndarray  # bad resolutions per conversation of each intent
    contained_by_intent: np.ndarray


def grade(
    conv: Conversations,
    kept: ArrayLike,
    confirm: bool,
    server_rules: bool,
    n_intents: int | None = None,
) -> Outcome:
    """Grade a policy's keep decisions with the hidden truth."""
    keep = np.asarray(kept)
    if keep.dtype != bool or keep.shape != conv.intent.shape:
        raise ValueError("kept must be a boolean array, one entry per conversation")
    back = keep & handed_back(conv, confirm, server_rules)
    closed = keep & ~back
    bad = keep & bad_if_kept(conv, confirm, server_rules)
    k = int(conv.intent.max()) + 1 if n_intents is None else n_intents
    per_intent = np.bincount(conv.intent, minlength=k).astype(float)
    per_intent[per_intent == 0] = np.nan
    return Outcome(
        containment=float(closed.mean()),
        bad=float(bad.mean()),
        handoff=float(1 - closed.mean()),
        wrong_writes=float((bad & conv.writes).mean()),
        bad_by_intent=np.bincount(conv.intent[bad], minlength=k) / per_intent,
        contained_by_intent=np.bincount(conv.intent[closed], minlength=k) / per_intent,
    )


def without(world: World, cause: str) -> World:
    """The world with one claimed cause removed (for the ablations)."""
    if cause == "overstatement":
        intents = tuple(replace(i, overstatement=0.0) for i in world.intents)
        return replace(world, intents=intents)
    if cause == "intents":  # every intent alike: same ability, no overstatement
        mean = sum(i.share * i.ability for i in world.intents)
        intents = tuple(
            replace(i, ability=mean, overstatement=0.0) for i in world.intents
        )
        return replace(world, intents=intents)
    raise ValueError(f"unknown cause {cause!r}: 'overstatement' or 'intents'")


def intent_names(world: World = World()) -> Sequence[str]:
    return [i.name for i in world.intents]
