"""A simulated long conversation history, and the ground truth the scorers never see.

Each simulated user talks to the assistant over a few hundred sessions in two years.
An extractor has turned what they said into memories: facts about the user (stable
ones, stated once and rarely repeated, such as an allergy; and ones that change, such
as a city or a job, each new value superseding the last) and chit-chat. Every memory
carries what a real store would hold: an embedding, a timestamp and the extractor's
importance score (1 to 10, noisy). The generator also keeps, apart, what no scorer
may read: which fact slot and which version each memory belongs to, and whether that
version is still current when the user asks.

Embeddings are simulated: a topic vector plus a value vector plus noise, so memories
about one fact (all of its versions) and chit-chat on the same topic look alike to a
query about that fact. Used by ``snippets.problems.assistant_memory``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAYS = 730  # two years of history; every query is asked at the end of it
DIM = 48  # embedding width
TOPICS = 40  # shared topic vectors; each user's fact slots take distinct ones
STABLE_SLOTS, CHANGING_SLOTS = 8, 8  # per user: facts that never change, that do
SESSIONS = (200, 300)  # sessions per user, drawn uniformly
CHITCHAT_PER_SESSION = 2.0  # Poisson mean of small-talk memories a session
ON_TOPIC_CHITCHAT = 0.5  # share of small talk on one of the user's fact topics
STABLE_WINDOW = 0.7  # a stable fact is first said in this early share of sessions
FIRST_VALUE_WINDOW = 0.15  # a changing fact's first value, likewise; changes after
STABLE_REPEAT = 0.005  # chance a later session repeats a stable fact
CURRENT_REPEAT = 0.06  # chance a session repeats the value current at that time
# The extractor's importance (1-10): the mean a class of memory gets, and its noise.
IMPORTANCE = {"stable": 8.0, "changing": 6.0, "chitchat": 2.5}
IMPORTANCE_NOISE = 1.5
# Embedding mix: topic + value + noise (noise has norm ~1 before the weight).
FACT_MIX, CHITCHAT_MIX, QUERY_NOISE = (1.0, 0.6, 0.5), (0.7, 0.6, 0.5), 0.6
CHITCHAT, PADDING = -1, -2  # slot ids of small talk and of padding rows


@dataclass(frozen=True)
class Histories:
    """Memories and queries of many users, padded to one memory count.

    Arrays are (users, memories) unless stated; queries are (users, slots).
    """

    embedding: np.ndarray  # (users, memories, DIM), unit rows; zeros when padded
    day: np.ndarray  # when the memory was written (its session's day)
    importance: np.ndarray  # the extractor's score, 1-10; 0 when padded
    valid: np.ndarray  # False on padding rows
    # Ground truth, for grading only:
    slot: np.ndarray  # fact slot of the memory, CHITCHAT or PADDING
    version: np.ndarray  # 0 for the first value of a slot, 1 for the next, ...
    current: np.ndarray  # the memory states the slot's value at query time
    superseded: np.ndarray  # the memory states a value that has since changed
    query: np.ndarray  # (users, slots, DIM): "what is my <slot>?", unit rows
    query_changed: np.ndarray  # (users, slots): the slot's value changed at least once
    sessions: np.ndarray  # (users,): sessions in the user's history

    @property
    def users(self) -> int:
        return self.embedding.shape[0]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _embed(rng, topic, values, mix) -> np.ndarray:
    """Unit embeddings: mix of a topic vector, value vectors and isotropic noise."""
    noise = rng.normal(0.0, 1.0 / np.sqrt(DIM), values.shape)
    return _unit(mix[0] * topic + mix[1] * values + mix[2] * noise)


def _one_user(rng: np.random.Generator, topics: np.ndarray) -> dict[str, np.ndarray]:
    """One user's memories, in the order they were written."""
    n_sessions = int(rng.integers(SESSIONS[0], SESSIONS[1] + 1))
    day = np.sort(rng.uniform(0.0, DAYS, n_sessions))
    slots = STABLE_SLOTS + CHANGING_SLOTS
    slot_topic = rng.choice(TOPICS, size=slots, replace=False)
    sessions, slot_ids, versions = [], [], []  # one array per (slot, version)
    for s in range(slots):
        stable = s < STABLE_SLOTS
        if stable:  # stated once early in the history, rarely repeated
            starts = rng.integers(0, int(STABLE_WINDOW * n_sessions), size=1)
        else:  # a first value early on, then 1-3 changes at random sessions
            changes = rng.choice(
                np.arange(int(FIRST_VALUE_WINDOW * n_sessions), n_sessions),
                size=int(rng.integers(1, 4)),
                replace=False,
            )
            first = rng.integers(0, int(FIRST_VALUE_WINDOW * n_sessions), size=1)
            starts = np.concatenate((first, np.sort(changes)))
        ends = np.append(starts[1:], n_sessions)
        repeat = STABLE_REPEAT if stable else CURRENT_REPEAT
        for version, (start, end) in enumerate(zip(starts, ends, strict=True)):
            later = np.arange(start + 1, end)  # each later session may repeat it
            said = np.concatenate(([start], later[rng.random(later.size) < repeat]))
            sessions.append(said)
            slot_ids.append(np.full(said.size, s))
            versions.append(np.full(said.size, version))
    pair = np.repeat(np.arange(len(sessions)), [a.size for a in sessions])
    values = _unit(rng.normal(size=(len(sessions), DIM)))  # one per (slot, version)
    fact_session, fact_slot = np.concatenate(sessions), np.concatenate(slot_ids)
    fact_version, fact_value = np.concatenate(versions), values[pair]
    fact_stable = fact_slot < STABLE_SLOTS
    fact_embedding = _embed(rng, topics[slot_topic[fact_slot]], fact_value, FACT_MIX)
    fact_mean = np.where(fact_stable, IMPORTANCE["stable"], IMPORTANCE["changing"])

    n_chat = rng.poisson(CHITCHAT_PER_SESSION, n_sessions)
    chat_session = np.repeat(np.arange(n_sessions), n_chat)
    on_topic = rng.random(chat_session.size) < ON_TOPIC_CHITCHAT
    chat_topic = np.where(
        on_topic,
        rng.choice(slot_topic, size=chat_session.size),
        rng.integers(0, TOPICS, chat_session.size),
    )
    chat_value = _unit(rng.normal(size=(chat_session.size, DIM)))
    chat_embedding = _embed(rng, topics[chat_topic], chat_value, CHITCHAT_MIX)

    session = np.concatenate((fact_session, chat_session))
    mean = np.concatenate(
        (fact_mean, np.full(chat_session.size, IMPORTANCE["chitchat"]))
    )
    noisy = mean + rng.normal(0.0, IMPORTANCE_NOISE, mean.size)
    last_version = np.array([fact_version[fact_slot == s].max() for s in range(slots)])
    slot = np.concatenate((fact_slot, np.full(chat_session.size, CHITCHAT)))
    version = np.concatenate((fact_version, np.zeros(chat_session.size, int)))
    is_fact = slot >= 0
    current = is_fact & (version == last_version[np.maximum(slot, 0)])
    order = np.argsort(session, kind="stable")
    query = _unit(
        topics[slot_topic] + QUERY_NOISE * rng.normal(0, 1 / np.sqrt(DIM), (slots, DIM))
    )
    return {
        "embedding": np.concatenate((fact_embedding, chat_embedding))[order],
        "day": day[session][order],
        "importance": np.clip(np.rint(noisy), 1, 10)[order],
        "slot": slot[order],
        "version": version[order],
        "current": current[order],
        "superseded": (is_fact & ~current)[order],
        "query": query,
        "query_changed": last_version > 0,
        "sessions": n_sessions,
    }


def simulate_histories(n_users: int, seed: int) -> Histories:
    """n_users simulated histories (seeded), padded to the longest one."""
    if isinstance(n_users, bool) or not isinstance(n_users, int) or n_users < 1:
        raise ValueError(f"n_users must be a positive integer, got {n_users!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    rng = np.random.default_rng(seed)
    topics = _unit(rng.normal(size=(TOPICS, DIM)))
    users = [_one_user(rng, topics) for _ in range(n_users)]
    width = max(u["day"].size for u in users)

    def pad(key: str, fill, dtype) -> np.ndarray:
        first = users[0][key]
        out = np.full((n_users, width, *first.shape[1:]), fill, dtype=dtype)
        for i, u in enumerate(users):
            out[i, : u[key].shape[0]] = u[key]
        return out

    valid = np.zeros((n_users, width), dtype=bool)
    for i, u in enumerate(users):
        valid[i, : u["slot"].size] = True
    return Histories(
        embedding=pad("embedding", 0.0, np.float32),
        day=pad("day", 0.0, float),
        importance=pad("importance", 0.0, float),
        valid=valid,
        slot=pad("slot", PADDING, int),
        version=pad("version", 0, int),
        current=pad("current", False, bool),
        superseded=pad("superseded", False, bool),
        query=np.stack([u["query"] for u in users]).astype(np.float32),
        query_changed=np.stack([u["query_changed"] for u in users]),
        sessions=np.array([u["sessions"] for u in users]),
    )


def equal_mentions(h: Histories, seed: int) -> np.ndarray:
    """Which memories stay in an ablation where, for each fact that changed, the
    superseded values are mentioned as often as the current one: the larger of the
    two sets of mentions is thinned at random to the size of the smaller. Stable
    facts and small talk are kept. Returns a (users, memories) mask."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    rng = np.random.default_rng(seed)
    keep = h.valid.copy()
    for u in range(h.users):
        for s in np.flatnonzero(h.query_changed[u]):
            old = np.flatnonzero((h.slot[u] == s) & h.superseded[u])
            now = np.flatnonzero((h.slot[u] == s) & h.current[u])
            larger, size = (old, now.size) if old.size > now.size else (now, old.size)
            keep[u, rng.choice(larger, larger.size - size, replace=False)] = False
    return keep
