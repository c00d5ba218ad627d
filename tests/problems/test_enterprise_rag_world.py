"""The synthetic company: access lists, questions and their truth, built as stated."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from snippets.common.bm25 import BM25
from snippets.problems import enterprise_rag_world as ew

TIERS = (1, 4, None)


@pytest.fixture(scope="module")
def world() -> ew.World:
    return ew.make_world(11)


@pytest.fixture(scope="module")
def questions(world) -> ew.Questions:
    return ew.make_questions(world, 11, TIERS, users_per_tier=8)


def test_corpus_shape_and_access_lists(world):
    config = world.config
    assert world.chunks == config.documents * config.chunks_per_document
    assert world.chunk_counts.shape[0] == world.chunks == len(world.chunk_vectors)
    assert np.allclose(np.linalg.norm(world.chunk_vectors, axis=1), 1)
    per_doc = world.access.sum(axis=1)
    public = world.access[:, ew.PUBLIC]
    assert (per_doc[public] == 1).all()  # "all staff" documents carry no group
    assert set(per_doc[~public]) <= {1, 2}
    # Each document states distinct attributes of one subject.
    for doc in range(5):
        rows = world.chunk_document == doc
        assert len(set(world.chunk_subject[rows])) == 1
        assert len(set(world.chunk_attribute[rows])) == rows.sum()


def test_permitted_is_set_intersection_of_groups_and_access_lists(world):
    rng = np.random.default_rng(0)
    users = ew.user_groups(world, rng, 6, 3)
    got = world.permitted(users)
    for u in range(6):
        mine = set(np.flatnonzero(users[u]))
        for c in range(0, world.chunks, 37):
            acl = set(np.flatnonzero(world.access[world.chunk_document[c]]))
            assert got[u, c] == bool(mine & acl)


def test_users_have_the_groups_of_their_tier(world):
    rng = np.random.default_rng(1)
    for n in (1, 5, world.config.groups):
        users = ew.user_groups(world, rng, 4, n)
        assert (users[:, ew.PUBLIC]).all()
        assert (users[:, 1:].sum(axis=1) == n).all()
    everyone = ew.user_groups(world, rng, 2, None)
    assert everyone.all()
    assert world.permitted(everyone).all()


def test_the_truth_is_fixed_by_the_generator(world, questions):
    gold = ew.gold(world, questions)
    readable = gold & world.permitted(questions.groups)
    kind = questions.kind
    assert (readable[kind == "answerable"].any(axis=1)).all()
    assert not gold[kind == "not in corpus"].any()
    unreadable = kind == "not permitted"
    assert gold[unreadable].any(axis=1).all() and not readable[unreadable].any()
    # A user of every group can read every stated fact: no such question for them.
    assert not ((questions.tier == 2) & unreadable).any()
    for q in range(0, len(questions), 17):
        same = (world.chunk_subject == questions.subject[q]) & (
            world.chunk_attribute == questions.attribute[q]
        )
        assert (gold[q] == same).all()


def test_support_signal_grades_each_relation(world, questions):
    signal = ew.support_signal(world, questions)
    q = 0
    s, a = questions.subject[q], questions.attribute[q]
    dept = world.department(s)
    chunk_dept = world.department(world.chunk_subject)
    same_s, same_a = world.chunk_subject == s, world.chunk_attribute == a
    assert (signal[q, same_s & same_a] == 1.0).all()
    assert (signal[q, same_s & ~same_a] == 0.3).all()
    assert (signal[q, ~same_s & same_a & (chunk_dept == dept)] == 0.5).all()
    assert (signal[q, ~same_s & same_a & (chunk_dept != dept)] == 0.3).all()
    assert (signal[q, ~same_s & ~same_a] == 0.0).all()


def test_queries_name_the_subject_and_an_attribute_word_but_not_the_value(
    world, questions
):
    vocab = ew._vocabulary(world.config)
    counts = sparse.csr_matrix(questions.counts)
    for q in range(0, len(questions), 23):
        words = set(counts[q].indices)
        assert vocab["subject"] + questions.subject[q] in words
        synonyms = vocab["attribute"] + questions.attribute[q] * world.config.synonyms
        assert words & set(range(synonyms, synonyms + world.config.synonyms))
        assert not words & set(range(vocab["value"], vocab["department"]))


def test_bm25_scores_match_the_textbook_formula_on_this_corpus(world, questions):
    """The shared BM25, checked against Robertson's formula written out here."""
    counts = world.chunk_counts.toarray()
    n, lengths = len(counts), counts.sum(axis=1)
    df = (counts > 0).sum(axis=0)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    k1, b = 1.2, 0.75
    q_counts = questions.counts[:3].toarray()
    got = BM25(world.chunk_counts).scores(questions.counts[:3])
    for q in range(3):
        terms = np.flatnonzero(q_counts[q])
        tf = counts[:, terms]
        norm = k1 * (1 - b + b * lengths / lengths.mean())
        expected = (
            q_counts[q, terms] * idf[terms] * tf * (k1 + 1) / (tf + norm[:, None])
        ).sum(axis=1)
        assert np.allclose(got[q], expected)


def test_the_world_is_reproducible_and_seeded(world):
    again = ew.make_world(11)
    assert (again.chunk_counts != world.chunk_counts).nnz == 0
    assert (again.access == world.access).all()
    other = ew.make_world(12)
    assert not (other.access == world.access).all()


def test_bad_input_is_refused(world):
    with pytest.raises(ValueError, match="documents"):
        ew.WorldConfig(documents=0)
    with pytest.raises(ValueError, match="chunks_per_document"):
        ew.WorldConfig(chunks_per_document=9)
    with pytest.raises(ValueError, match="public_share"):
        ew.WorldConfig(public_share=1.0)
    with pytest.raises(TypeError, match="seed"):
        ew.make_world(1.5)
    with pytest.raises(ValueError, match="n_groups"):
        ew.user_groups(world, np.random.default_rng(0), 2, 0)
    with pytest.raises(ValueError, match="columns"):
        world.permitted(np.ones((1, 3), dtype=bool))
    with pytest.raises(ValueError, match="users_per_tier"):
        ew.make_questions(world, 0, (1,), users_per_tier=0)
    with pytest.raises(ValueError, match="tier"):
        ew.make_questions(world, 0, ())
