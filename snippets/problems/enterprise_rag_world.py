"""The enterprise assistant's world: documents, access lists, questions and their truth.

A seeded company. Subjects (projects, systems, policies) belong to departments and
have attributes (owner, deadline, budget, ...). A document is about one subject and
each of its chunks states one (subject, attribute) fact, in words a retriever sees
through noise: BM25 reads the subject's exact name and one of three synonyms for the
attribute; the embedding sees the department and the attribute clearly and the
subject only faintly. Each document carries an access list of groups; each user
belongs to some groups. The truth of a question is fixed here, before any retriever
runs: the chunks that state its fact, and of those the ones its asker may read.

Run ``python -m snippets.problems.enterprise_rag`` for the miniature built on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

PUBLIC = 0  # column 0 of an access list: "all staff", which every user belongs to
# The embedding: department and attribute at full weight, the subject's own
# direction at 0.3, noise of 0.55 per unit direction (chunks and queries alike).
SUBJECT_WEIGHT, NOISE = 0.3, 0.55


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of the synthetic company (all assumptions of the miniature)."""

    departments: int = 8
    subjects_per_department: int = 12
    attributes: int = 8
    synonyms: int = 3  # words for one attribute ("owner", "lead", "maintainer")
    documents: int = 400
    chunks_per_document: int = 4
    groups: int = 24  # access groups besides "all staff"
    public_share: float = 0.03  # documents every employee may read
    department_words: int = 40
    common_words: int = 400
    dim: int = 32

    def __post_init__(self) -> None:
        for name in (
            "departments",
            "subjects_per_department",
            "attributes",
            "synonyms",
            "documents",
            "groups",
            "department_words",
            "common_words",
            "dim",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 1 <= self.chunks_per_document <= self.attributes:
            raise ValueError("chunks_per_document must be in [1, attributes]")
        if not 0 <= self.public_share < 1:
            raise ValueError(f"public_share must be in [0, 1), got {self.public_share}")

    @property
    def subjects(self) -> int:
        return self.departments * self.subjects_per_department


@dataclass
class World:
    """One seeded corpus: chunks with their facts, words, vectors and access lists."""

    config: WorldConfig
    chunk_document: np.ndarray  # (chunks,) document of each chunk
    chunk_subject: np.ndarray  # (chunks,)
    chunk_attribute: np.ndarray  # (chunks,)
    chunk_counts: sparse.csr_matrix  # (chunks, vocabulary) word counts
    chunk_vectors: np.ndarray  # (chunks, dim), unit length
    access: np.ndarray  # (documents, groups + 1) bool: who may read each document
    # Hidden directions the embedding is built from (queries are embedded alike).
    department_vectors: np.ndarray
    subject_vectors: np.ndarray
    attribute_vectors: np.ndarray

    @property
    def chunks(self) -> int:
        return len(self.chunk_document)

    @property
    def chunk_fact(self) -> np.ndarray:
        return self.chunk_subject * self.config.attributes + self.chunk_attribute

    def department(self, subject: np.ndarray) -> np.ndarray:
        return np.asarray(subject) // self.config.subjects_per_department

    def permitted(self, groups: np.ndarray, access: np.ndarray | None = None):
        """Chunks each user may read: (users, chunks) bool from (users, groups + 1).

        A user reads a document when one of their groups is on its access list;
        ``access`` defaults to the current lists (pass another to replay a change).
        """
        acl = self.access if access is None else access
        users = np.atleast_2d(np.asarray(groups, dtype=bool))
        if users.shape[1] != acl.shape[1]:
            raise ValueError(
                f"groups need {acl.shape[1]} columns, got {users.shape[1]}"
            )
        readable = (users.astype(np.int32) @ acl.T.astype(np.int32)) > 0
        return readable[:, self.chunk_document]


# Vocabulary layout: subject names, attribute synonyms, fact values, department
# words, common words. A query names the subject and one attribute synonym, never
# the value it asks for.
def _vocabulary(config: WorldConfig) -> dict[str, int]:
    offsets, start = {}, 0
    for name, size in (
        ("subject", config.subjects),
        ("attribute", config.attributes * config.synonyms),
        ("value", config.subjects * config.attributes),
        ("department", config.departments * config.department_words),
        ("common", config.common_words),
        ("end", 0),
    ):
        offsets[name], start = start, start + size
    return offsets


def _texts(
    config: WorldConfig,
    rng: np.random.Generator,
    subject: np.ndarray,
    attribute: np.ndarray,
    filler: tuple[np.ndarray, np.ndarray],
    with_value: bool,
) -> sparse.csr_matrix:
    """Word counts of texts: the subject's name, one attribute synonym, the fact's
    value (chunks only), then department and common filler words."""
    at = _vocabulary(config)
    n = len(subject)
    department = subject // config.subjects_per_department
    synonym = rng.integers(config.synonyms, size=n)
    heads = [
        at["subject"] + subject,
        at["attribute"] + attribute * config.synonyms + synonym,
    ]
    if with_value:
        heads.append(at["value"] + subject * config.attributes + attribute)
    n_dept, n_common = filler
    dept = np.repeat(at["department"] + department * config.department_words, n_dept)
    dept += rng.integers(config.department_words, size=len(dept))
    common = at["common"] + rng.integers(config.common_words, size=int(n_common.sum()))
    rows = np.concatenate(
        [
            *(np.arange(n) for _ in heads),
            np.repeat(np.arange(n), n_dept),
            np.repeat(np.arange(n), n_common),
        ]
    )
    words = np.concatenate([*heads, dept, common])
    counts = sparse.csr_matrix(
        (np.ones(len(words)), (rows, words)), shape=(n, at["end"])
    )
    counts.sum_duplicates()
    return counts


def _embed(world: World | tuple, subject, attribute, noise) -> np.ndarray:
    """Department and attribute clearly, the subject faintly, plus noise."""
    department_vectors, subject_vectors, attribute_vectors, config = world
    department = np.asarray(subject) // config.subjects_per_department
    v = (
        department_vectors[department]
        + SUBJECT_WEIGHT * subject_vectors[subject]
        + attribute_vectors[attribute]
        + noise
    )
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_world(seed: int, config: WorldConfig | None = None) -> World:
    """Draw a corpus: documents about subjects, chunks stating facts, access lists."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    config = WorldConfig() if config is None else config
    rng = np.random.default_rng(seed)
    d, n = config.dim, config.documents
    scale = 1 / np.sqrt(d)
    departments = rng.normal(scale=scale, size=(config.departments, d))
    subjects = rng.normal(scale=scale, size=(config.subjects, d))
    attributes = rng.normal(scale=scale, size=(config.attributes, d))

    doc_subject = rng.integers(config.subjects, size=n)
    per_doc = config.chunks_per_document
    chunk_attribute = np.concatenate(
        [rng.choice(config.attributes, per_doc, replace=False) for _ in range(n)]
    )
    chunk_document = np.repeat(np.arange(n), per_doc)
    chunk_subject = doc_subject[chunk_document]

    filler = (
        rng.integers(4, 13, size=n * per_doc),
        rng.integers(6, 19, size=n * per_doc),
    )
    counts = _texts(config, rng, chunk_subject, chunk_attribute, filler, True)
    noise = rng.normal(scale=NOISE * scale, size=(len(chunk_document), d))
    vectors = _embed(
        (departments, subjects, attributes, config),
        chunk_subject,
        chunk_attribute,
        noise,
    )

    # Access lists: a few documents are for all staff; the rest are shared with
    # one or two groups, drawn independently of the subject (an assumption).
    access = np.zeros((n, config.groups + 1), dtype=bool)
    public = rng.random(n) < config.public_share
    access[public, PUBLIC] = True
    for doc in np.flatnonzero(~public):
        chosen = rng.choice(config.groups, rng.integers(1, 3), replace=False)
        access[doc, 1 + chosen] = True
    return World(
        config,
        chunk_document,
        chunk_subject,
        chunk_attribute,
        counts,
        vectors,
        access,
        departments,
        subjects,
        attributes,
    )


@dataclass
class Questions:
    """Questions and their truth, fixed by the generator before any retrieval."""

    subject: np.ndarray
    attribute: np.ndarray
    kind: np.ndarray  # "answerable", "not in corpus", "not permitted"
    groups: np.ndarray  # (questions, groups + 1) bool: the asker's groups
    tier: np.ndarray  # index of the asker's tier (groups per user)
    counts: sparse.csr_matrix  # query words
    vectors: np.ndarray  # query embeddings

    def __len__(self) -> int:
        return len(self.subject)


def user_groups(
    world: World, rng: np.random.Generator, n_users: int, n_groups: int | None
) -> np.ndarray:
    """Users with ``n_groups`` random groups each (None: all), plus all staff."""
    total = world.config.groups
    if n_groups is not None and not 1 <= n_groups <= total:
        raise ValueError(f"n_groups must be in [1, {total}] or None, got {n_groups}")
    groups = np.zeros((n_users, total + 1), dtype=bool)
    groups[:, PUBLIC] = True
    for u in range(n_users):
        chosen = (
            np.arange(total)
            if n_groups is None
            else rng.choice(total, n_groups, replace=False)
        )
        groups[u, 1 + np.asarray(chosen)] = True
    return groups


def embed_questions(
    world: World, rng: np.random.Generator, subject: np.ndarray, attribute: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Query words (subject, a random synonym, filler) and query embeddings."""
    config = world.config
    n = len(subject)
    two = np.full(n, 2)
    counts = _texts(config, rng, subject, attribute, (two, two), with_value=False)
    noise = rng.normal(scale=NOISE / np.sqrt(config.dim), size=(n, config.dim))
    hidden = (
        world.department_vectors,
        world.subject_vectors,
        world.attribute_vectors,
        config,
    )
    return counts, _embed(hidden, subject, attribute, noise)


def make_questions(
    world: World,
    seed: int,
    tiers: tuple[int | None, ...],
    users_per_tier: int = 30,
    answerable_per_user: int = 4,
) -> Questions:
    """Each tier's users ask answerable questions, one whose fact no document
    states, and one whose answer exists only where they may not read."""
    for name, value in (
        ("users_per_tier", users_per_tier),
        ("answerable_per_user", answerable_per_user),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not tiers:
        raise ValueError("need at least one tier of users")
    rng = np.random.default_rng([seed, 1])
    facts = world.chunk_fact
    n_facts = world.config.subjects * world.config.attributes
    stated = np.bincount(facts, minlength=n_facts) > 0
    subject, attribute, kind, groups, tier = [], [], [], [], []
    for t, n_groups in enumerate(tiers):
        users = user_groups(world, rng, users_per_tier, n_groups)
        readable = world.permitted(users)
        for u in range(users_per_tier):
            seen = np.bincount(facts[readable[u]], minlength=n_facts) > 0
            pools = {
                "answerable": (np.flatnonzero(seen), answerable_per_user),
                "not in corpus": (np.flatnonzero(~stated), 1),
                "not permitted": (np.flatnonzero(stated & ~seen), 1),
            }
            for name, (pool, count) in pools.items():
                if len(pool) == 0:
                    continue  # an all-groups user can read every stated fact
                for fact in rng.choice(pool, count, replace=False):
                    subject.append(fact // world.config.attributes)
                    attribute.append(fact % world.config.attributes)
                    kind.append(name)
                    groups.append(users[u])
                    tier.append(t)
    subject, attribute = np.array(subject), np.array(attribute)
    counts, vectors = embed_questions(world, rng, subject, attribute)
    return Questions(
        subject,
        attribute,
        np.array(kind),
        np.array(groups),
        np.array(tier),
        counts,
        vectors,
    )


def gold(world: World, questions: Questions) -> np.ndarray:
    """(questions, chunks) bool: the chunks that state each question's fact."""
    fact = questions.subject * world.config.attributes + questions.attribute
    return fact[:, None] == world.chunk_fact[None, :]


def support_signal(world: World, questions: Questions) -> np.ndarray:
    """How much each chunk seems to answer each question, before the reader's noise.

    1 for the fact itself; a near miss reads as partial support: the same
    attribute of another subject in the same department 0.5 (the classic wrong
    answer about the sister project), the same subject's other attribute or the
    same attribute elsewhere 0.3; anything else 0.
    """
    same_subject = questions.subject[:, None] == world.chunk_subject[None, :]
    same_attribute = questions.attribute[:, None] == world.chunk_attribute[None, :]
    q_dept = world.department(questions.subject)[:, None]
    same_department = q_dept == world.department(world.chunk_subject)[None, :]
    signal = np.zeros(same_subject.shape)
    signal[same_attribute] = 0.3
    signal[same_subject & ~same_attribute] = 0.3
    signal[same_attribute & same_department] = 0.5
    signal[same_subject & same_attribute] = 1.0
    return signal
