"""The simulated histories: seeded, and their ground truth consistent with itself."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.problems import assistant_memory_world as w

H = w.simulate_histories(12, seed=7)


def test_the_generator_is_seeded():
    again = w.simulate_histories(12, seed=7)
    np.testing.assert_array_equal(H.embedding, again.embedding)
    np.testing.assert_array_equal(H.slot, again.slot)
    other = w.simulate_histories(12, seed=8)
    assert not np.array_equal(H.day, other.day)


def test_shapes_padding_and_unit_embeddings():
    users, memories = H.valid.shape
    assert H.embedding.shape == (users, memories, w.DIM)
    assert H.query.shape == (users, w.STABLE_SLOTS + w.CHANGING_SLOTS, w.DIM)
    norms = np.linalg.norm(H.embedding, axis=-1)
    np.testing.assert_allclose(norms[H.valid], 1.0, atol=1e-5)
    assert (norms[~H.valid] == 0).all() and (H.slot[~H.valid] == w.PADDING).all()
    np.testing.assert_allclose(np.linalg.norm(H.query, axis=-1), 1.0, atol=1e-5)
    assert ((H.sessions >= w.SESSIONS[0]) & (H.sessions <= w.SESSIONS[1])).all()


def test_memories_are_in_time_order_within_the_history():
    for u in range(H.users):
        days = H.day[u][H.valid[u]]
        assert (np.diff(days) >= 0).all()
        assert days.min() >= 0 and days.max() <= w.DAYS


def test_each_slot_has_one_current_value_and_the_rest_is_superseded():
    slots = H.query.shape[1]
    for u in range(H.users):
        for s in range(slots):
            mine = H.slot[u] == s
            versions = H.version[u][mine]
            current = H.current[u][mine]
            # The current value is the last one, and it was said after every older one.
            assert set(versions[current]) == {versions.max()}
            assert (H.superseded[u][mine] == ~current).all()
            first_current = H.day[u][mine][current].min()
            assert (H.day[u][mine][~current] <= first_current).all()
            changed = versions.max() > 0
            assert H.query_changed[u, s] == changed
            assert changed == (s >= w.STABLE_SLOTS)
    chat = H.slot == w.CHITCHAT
    assert not (H.current | H.superseded)[chat].any()


def test_importance_separates_facts_from_small_talk_only_on_average():
    imp = H.importance
    stable = (H.slot >= 0) & (H.slot < w.STABLE_SLOTS)
    changing = H.slot >= w.STABLE_SLOTS
    chat = H.slot == w.CHITCHAT
    assert imp[stable].mean() > imp[changing].mean() > imp[chat].mean()
    assert imp[H.valid].min() >= 1 and imp[H.valid].max() <= 10
    # Noisy: some small talk scores above some facts.
    assert imp[chat].max() > imp[changing].min()


def test_a_question_is_closest_to_its_own_fact_on_average():
    cos = np.einsum("usd,umd->usm", H.query, H.embedding)
    own, other = [], []
    for s in range(H.query.shape[1]):
        mine = H.slot == s
        facts_elsewhere = (H.slot >= 0) & ~mine
        own.append(cos[:, s][mine].mean())
        other.append(cos[:, s][facts_elsewhere].mean())
    assert min(own) > 0.5 > 0.1 > max(other)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="positive integer"):
        w.simulate_histories(0, seed=1)
    with pytest.raises(TypeError, match="seed"):
        w.simulate_histories(3, seed=1.5)


def test_equal_mentions_thins_only_changed_facts_to_equal_counts():
    keep = w.equal_mentions(H, seed=3)
    assert not (keep & ~H.valid).any()
    for u in range(H.users):
        changed = np.flatnonzero(H.query_changed[u])
        other = H.valid[u] & ~np.isin(H.slot[u], changed)
        np.testing.assert_array_equal(keep[u][other], H.valid[u][other])
        for s in changed:
            of_slot = keep[u] & (H.slot[u] == s)
            old = (of_slot & H.superseded[u]).sum()
            now = (of_slot & H.current[u]).sum()
            full_old = ((H.slot[u] == s) & H.superseded[u]).sum()
            full_now = ((H.slot[u] == s) & H.current[u]).sum()
            assert old == now == min(full_old, full_now) >= 1
    with pytest.raises(TypeError):
        w.equal_mentions(H, seed=1.5)
