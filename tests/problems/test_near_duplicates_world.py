"""The synthetic listings: re-posts, templates, series and the arrival order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from snippets.problems import near_duplicates_minhash as mh
from snippets.problems import near_duplicates_world as world


@pytest.fixture(scope="module")
def corpus():
    return world.make_corpus(11)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    x = set(mh.word_shingles(a, 3, world.VOCAB).tolist())
    y = set(mh.word_shingles(b, 3, world.VOCAB).tolist())
    return len(x & y) / len(x | y)


def test_an_edit_of_rate_zero_is_a_copy_and_a_reorder_keeps_the_words():
    rng = np.random.default_rng(0)
    body = world._zipf_words(rng, 100)
    assert np.array_equal(world.edit(body, 0.0, False, rng), body)
    moved = world.edit(body, 0.0, True, rng)
    assert sorted(moved.tolist()) == sorted(body.tolist())
    assert jaccard(body, moved) > 0.9  # a block move changes two shingles


def test_heavier_edits_leave_less_in_common():
    rng = np.random.default_rng(1)
    means = []
    for rate in (0.05, 0.15, 0.3):
        pairs = []
        for _ in range(200):
            body = world._zipf_words(rng, 120)
            pairs.append(jaccard(body, world.edit(body, rate, False, rng)))
        means.append(np.mean(pairs))
    assert means[0] > means[1] > means[2]
    # rewriting a share s of the body keeps about (1 - s) / (1 + s) of the shingles
    for rate, mean in zip((0.05, 0.15, 0.3), means, strict=True):
        assert mean == pytest.approx((1 - rate) / (1 + rate), abs=0.12)


def test_the_corpus_has_its_size_families_and_a_shuffled_arrival(corpus):
    config = world.WorldConfig()
    assert len(corpus.words) == config.n_docs == corpus.family.size
    assert sorted(corpus.arrival.tolist()) == list(range(config.n_docs))
    assert not np.array_equal(corpus.arrival, np.arange(config.n_docs))
    sizes = np.bincount(corpus.family)
    assert sizes.min() >= 1 and sizes.max() <= config.max_family
    assert 0.3 < np.mean(sizes > 1) < 0.9  # many listings are re-posted, not all


def test_a_family_shares_its_template_and_templates_end_the_listing(corpus):
    for fam in range(corpus.family.max() + 1):
        assert len(set(corpus.template[corpus.family == fam].tolist())) == 1
    with_template = np.flatnonzero(corpus.template >= 0)
    share = with_template.size / corpus.template.size
    assert share == pytest.approx(world.WorldConfig().template_share, abs=0.1)
    t = corpus.template[with_template[0]]
    same = [i for i in with_template if corpus.template[i] == t]
    tails = {tuple(corpus.words[i][-60:].tolist()) for i in same}
    assert len(tails) == 1  # the same 60 words under every listing of the template


def test_re_posts_are_more_alike_than_strangers(corpus):
    rng = np.random.default_rng(2)
    fam = corpus.family
    same = [
        jaccard(corpus.words[i], corpus.words[j])
        for i in range(200)
        for j in range(i + 1, 200)
        if fam[i] == fam[j] and corpus.template[i] < 0
    ]
    strangers = [
        jaccard(corpus.words[i], corpus.words[j])
        for i, j in rng.integers(0, len(fam), size=(300, 2))
        if fam[i] != fam[j] and corpus.template[i] < 0
    ]
    assert np.median(same) > 0.4 > 0.05 > np.median(strangers)


def test_the_same_seed_gives_the_same_corpus_and_bad_seeds_raise():
    a, b = world.make_corpus(5), world.make_corpus(5)
    assert all(np.array_equal(x, y) for x, y in zip(a.words, b.words, strict=True))
    assert np.array_equal(a.arrival, b.arrival)
    with pytest.raises(TypeError):
        world.make_corpus(1.5)
    with pytest.raises(TypeError):
        world.make_corpus(True)


def test_each_family_has_one_seller_and_some_sellers_list_a_series(corpus):
    for fam in range(corpus.family.max() + 1):
        assert len(set(corpus.seller[corpus.family == fam].tolist())) == 1
    families_per_seller = [
        len(set(corpus.family[corpus.seller == s].tolist()))
        for s in range(corpus.seller.max() + 1)
    ]
    assert max(families_per_seller) >= 3  # a series: different items, one seller
    share = np.mean(np.array(families_per_seller) > 1)
    assert share == pytest.approx(world.WorldConfig().series_share, abs=0.05)


def test_each_family_has_one_original_that_its_re_posts_edit(corpus):
    originals = np.bincount(corpus.family, weights=corpus.is_original)
    assert np.all(originals == 1)
    to_original, between_re_posts = [], []
    for fam in range(corpus.family.max() + 1):
        members = np.flatnonzero(corpus.family == fam)
        if members.size < 3 or corpus.template[members[0]] >= 0:
            continue
        original = members[corpus.is_original[members]][0]
        re_posts = members[~corpus.is_original[members]]
        to_original += [
            jaccard(corpus.words[original], corpus.words[r]) for r in re_posts
        ]
        between_re_posts += [
            jaccard(corpus.words[a], corpus.words[b])
            for a, b in itertools.combinations(re_posts, 2)
        ]
    # two independent edits of the original are further apart than either from it
    assert np.mean(to_original) > np.mean(between_re_posts) + 0.1
