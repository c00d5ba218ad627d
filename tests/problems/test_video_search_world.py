"""The video-search world and its retrievers, checked against independent versions."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from snippets.problems import video_search_eval as ev
from snippets.problems import video_search_world as vw


@pytest.fixture(scope="module")
def world() -> vw.World:
    return vw.make_world(n_videos=600, queries_per_kind=12, seed=5)


def reference_bm25(docs: list[list[int]], query: list[int], k1=1.2, b=0.75):
    """Okapi BM25 written from the formula, one document at a time."""
    n, mean_len = len(docs), np.mean([len(d) for d in docs])
    df = Counter(t for d in docs for t in set(d))
    scores = []
    for doc in docs:
        tf, total = Counter(doc), 0.0
        for term in query:
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            norm = k1 * (1 - b + b * len(doc) / mean_len)
            total += idf * tf[term] * (k1 + 1) / (tf[term] + norm)
        scores.append(total)
    return np.array(scores)


@pytest.mark.parametrize(
    "fields", [tuple(vw.FIELDS), ev.WITHOUT_TRANSCRIPTS, ("title",), ("transcript",)]
)
def test_lexical_scores_are_bm25_over_the_chosen_fields(world, fields):
    got = vw.lexical_scores(world, fields)
    ranges = [range(*vw.FIELDS[f]) for f in fields]
    docs = [
        [int(t) for r in ranges for t in row[list(r)] if t >= 0] for row in world.tokens
    ]
    for q in (0, 13, 30, 45):  # one query of each kind
        query = [int(t) for t in world.query_tokens[q] if t >= 0]
        np.testing.assert_allclose(got[q], reference_bm25(docs, query), atol=1e-9)


def test_keyphrases_are_each_transcripts_highest_tf_idf_words(world):
    start, end = vw.FIELDS["transcript"]
    rows = [[int(t) for t in row if t >= 0] for row in world.tokens[:, start:end]]
    df = Counter(t for row in rows for t in set(row))
    n = len(rows)
    got = vw.transcript_keyphrases(world, 4)
    for row, kept in zip(rows, got, strict=True):
        tf = Counter(row)
        score = {t: tf[t] * (math.log((1 + n) / (1 + df[t])) + 1) for t in tf}
        best = sorted(score, key=lambda t: (-score[t], t))[:4]
        assert [int(t) for t in kept if t >= 0] == best
    assert (got[~world.has_speech] == -1).all()
    with pytest.raises(ValueError, match="keep"):
        vw.transcript_keyphrases(world, 0)


def test_counts_matrix_counts_tokens_like_counter():
    rows = np.array([[3, 3, -1, 0], [-1, -1, -1, -1], [2, 0, 2, 2]])
    counts = vw.counts_matrix(rows, 5).toarray()
    for row, dense in zip(rows, counts, strict=True):
        expected = Counter(int(t) for t in row if t >= 0)
        assert {t: int(c) for t, c in enumerate(dense) if c} == expected
    with pytest.raises(ValueError, match="token ids"):
        vw.counts_matrix(np.array([[5]]), 5)
    with pytest.raises(TypeError, match="2-D integer"):
        vw.counts_matrix(np.array([0.5, 1.0]), 5)


def test_multimodal_scores_are_cosines_of_summed_word_vectors(world):
    got = vw.multimodal_scores(world)
    for q in (1, 14, 26, 40):
        words = [t for t in world.query_tokens[q] if t >= 0]
        vector = np.sum([world.word_vectors[t] for t in words], axis=0)
        for v in (0, 17, 333):
            video = world.video_vectors[v]
            cosine = vector @ video / np.linalg.norm(vector) / np.linalg.norm(video)
            assert got[q, v] == pytest.approx(cosine)


def test_an_abstaining_text_tower_returns_nothing_for_a_channel_name(world):
    scores = vw.multimodal_scores(world, abstain=True)
    navigational = world.query_kind == vw.KINDS.index("navigational")
    assert np.isneginf(scores[navigational]).all()
    assert np.isfinite(scores[~navigational]).all()
    assert vw.top_ids(scores[navigational]) == [[]] * navigational.sum()


def test_the_text_tower_knows_no_channel_name_and_no_other_language_word(world):
    vocab = world.vocabulary
    names = range(vocab.offset["name", None], vocab.offset["clickbait", None])
    assert not world.known_words[list(names)].any()
    other = vocab.topic(np.arange(vw.N_TOPICS), vw.OTHER, 0)
    assert not world.known_words[other].any()
    assert world.known_words[world.query_tokens[world.query_kind > 0]].all()


def reference_top(scores, depth, positive):
    """Sort (-score, id) in Python and keep the first depth above the floor."""
    found = []
    for row in scores:
        kept = [(-s, i) for i, s in enumerate(row) if s > (0 if positive else -np.inf)]
        found.append([i for _, i in sorted(kept)[:depth]])
    return found


@pytest.mark.parametrize("positive", [True, False])
def test_top_ids_match_a_sort_with_ties_to_the_lower_id(positive):
    rng = np.random.default_rng(3)
    scores = rng.integers(-1, 4, (20, 40)).astype(float)  # many ties, zeros
    scores[3, :] = -np.inf
    for depth in (1, 7, 40, 100):
        got = vw.top_ids(scores, depth, positive)
        assert got == reference_top(scores, depth, positive)
    with pytest.raises(ValueError, match="NaN"):
        vw.top_ids(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="depth"):
        vw.top_ids(scores, 0)


def reference_grades(world, q):
    """Graded relevance from the hidden identities, one video at a time."""
    kind, target = vw.KINDS[world.query_kind[q]], int(world.query_target[q])
    found = {}
    for v in range(len(world.channel)):
        if kind == "navigational":
            grade = 2 if world.channel[v] == target else 0
        elif world.topic[v] * vw.N_FACETS + world.facet[v] == target:
            grade = 2 if world.language[v] == vw.ENGLISH else 1
        else:
            grade = 1 if world.topic[v] == target // vw.N_FACETS else 0
        if grade:
            found[v] = grade
    return found


def test_grades_come_from_identities_and_ignore_what_retrievers_see(world):
    scrambled = replace(
        world,
        tokens=np.random.default_rng(0).permutation(world.tokens),
        video_vectors=world.video_vectors[::-1],
    )
    for q in range(len(world.query_kind)):
        expected = reference_grades(world, q)
        assert vw.grades(world, q) == expected
        assert vw.grades(scrambled, q) == expected
        top = {v for v, g in expected.items() if g == 2}
        if vw.KINDS[world.query_kind[q]] == "navigational":
            assert vw.exact_videos(world, q) == top
        else:  # the asked-for cell in any language
            assert top <= vw.exact_videos(world, q) <= set(expected)
    with pytest.raises(ValueError, match="query must be"):
        vw.grades(world, len(world.query_kind))


def test_queries_ask_for_what_the_world_defines():
    world = vw.make_world(queries_per_kind=40, seed=2)
    vocab = world.vocabulary
    for q, (kind, target) in enumerate(
        zip(world.query_kind, world.query_target, strict=True)
    ):
        words = [t for t in world.query_tokens[q] if t >= 0]
        if vw.KINDS[kind] == "navigational":
            assert words == [vocab.name(target)]
            assert (world.channel == target).sum() >= 3
            continue
        topic, facet = divmod(int(target), vw.N_FACETS)
        maker = {"spoken": vocab.spoken, "visual": vocab.visual}
        if vw.KINDS[kind] == "descriptive":
            assert words[0] in vocab.topic(topic, vw.ENGLISH, np.arange(3))
            assert words[1] in vocab.facet(topic, facet, vw.ENGLISH, np.arange(2))
        else:
            allowed = maker[vw.KINDS[kind]](topic, facet, vw.ENGLISH, np.arange(4))
            assert len(set(words)) == 2 and set(words) <= set(allowed.tolist())


def test_spoken_and_visual_words_never_reach_a_title():
    world = vw.make_world(seed=1)
    title = world.tokens[:, slice(*vw.FIELDS["title"])]
    vocab = world.vocabulary
    for kind in ("spoken", "visual"):
        for language in (vw.ENGLISH, vw.OTHER):
            low = vocab.offset[kind, language]
            high = low + vocab.sizes[kind]
            assert not ((title >= low) & (title < high)).any()


def test_speech_recognition_errors_happen_at_the_stated_rate():
    """The error-free world is the same world: only misheard words differ."""
    noisy, clean = vw.make_world(seed=4), vw.make_world(seed=4, word_error_rate=0)
    start, end = vw.FIELDS["transcript"]
    outside = np.r_[0:start, end : noisy.tokens.shape[1]]
    np.testing.assert_array_equal(noisy.tokens[:, outside], clean.tokens[:, outside])
    np.testing.assert_array_equal(noisy.video_vectors, clean.video_vectors)
    np.testing.assert_array_equal(noisy.query_tokens, clean.query_tokens)
    heard, said = noisy.tokens[:, start + 1 : end], clean.tokens[:, start + 1 : end]
    spoken = said >= 0
    errors = int((heard[spoken] != said[spoken]).sum())
    # A misheard word can be replaced by itself (a filler for a filler): rare.
    interval = stats.binomtest(errors, int(spoken.sum())).proportion_ci(0.999)
    assert interval.low <= vw.WORD_ERROR_RATE <= interval.high + 0.01
    assert (noisy.tokens[~noisy.has_speech, start:end] == -1).all()


def test_worlds_are_seeded_and_shares_match_the_stated_ones():
    a, b = vw.make_world(seed=9), vw.make_world(seed=9)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.video_vectors, b.video_vectors)
    shares = np.bincount(a.title_style, minlength=3) / len(a.title_style)
    np.testing.assert_allclose(shares, vw.TITLE_STYLE_SHARES, atol=0.03)
    assert abs(a.has_speech.mean() - vw.SPEECH_SHARE) < 0.03


def reference_rrf(lists, k):
    scores = Counter()
    for ranked in lists:
        for rank, doc in enumerate(ranked, start=1):
            scores[doc] += 1 / (k + rank)
    return [doc for doc, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))]


def test_fusion_is_rrf_except_for_navigational_queries():
    rng = np.random.default_rng(1)
    for k in ev.K_SWEEP:
        lex = rng.permutation(300)[:80].tolist()
        sem = rng.permutation(300)[:60].tolist()
        assert ev.fuse(lex, sem, k) == reference_rrf([lex, sem], k)[: ev.DEPTH]
        assert ev.fuse(lex, sem, k, navigational=True) == lex[: ev.DEPTH]
    names = range(100, 110)
    assert ev.is_navigational([103, -1], names)
    assert not ev.is_navigational([103, 7], names)
    assert not ev.is_navigational([-1, -1], names)


def test_comparisons_are_t_intervals_over_paired_worlds():
    rng = np.random.default_rng(0)
    keys = {(s, m, k) for s, b, m, k in ev.COMPARISONS} | {
        (b, m, k) for s, b, m, k in ev.COMPARISONS
    }
    results = [
        ev.WorldResult({key: float(rng.random()) for key in keys}, {}) for _ in range(5)
    ]
    for row in ev.compare(results):
        system, baseline, metric, kind, mean, low, high, tie = row
        a = [r.means[system, metric, kind] for r in results]
        b = [r.means[baseline, metric, kind] for r in results]
        ci = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert mean == pytest.approx(np.mean(a) - np.mean(b))
        assert (low, high) == pytest.approx((ci.low, ci.high))
        assert tie == (ci.low <= 0 <= ci.high)


def test_bad_arguments_raise_clear_errors(world):
    with pytest.raises(ValueError, match="n_videos must be at least"):
        vw.make_world(n_videos=10)
    with pytest.raises(TypeError, match="n_videos must be an integer"):
        vw.make_world(n_videos=3000.0)
    with pytest.raises(ValueError, match="word_error_rate"):
        vw.make_world(word_error_rate=1.5)
    with pytest.raises(ValueError, match="queries_per_kind"):
        vw.make_world(queries_per_kind=1)
    with pytest.raises(ValueError, match="fields must be"):
        vw.lexical_scores(world, ("thumbnail",))
    with pytest.raises(ValueError, match="fields must be"):
        vw.lexical_scores(world, ())


def test_the_descriptive_probe_counts_each_group_with_sets():
    """Recall per group of asked-for videos and the top 10's neighbours, recounted."""
    world = vw.make_world(n_videos=900, queries_per_kind=15, seed=7)
    clean = vw.make_world(n_videos=900, queries_per_kind=15, seed=7, word_error_rate=0)
    lists = ev.retrieve(world, clean)
    got = ev.probe_descriptive(world, lists)
    title = world.tokens[:, slice(*vw.FIELDS["title"])]
    for system in ev.PROBED:
        hits, asked, shares = Counter(), Counter(), []
        for q in np.flatnonzero(world.query_kind == vw.KINDS.index("descriptive")):
            words = {int(t) for t in world.query_tokens[q] if t >= 0}
            topic, facet = divmod(int(world.query_target[q]), vw.N_FACETS)
            top50, top10 = set(lists[system][q][:50]), lists[system][q][:10]
            for v in vw.exact_videos(world, q):
                if words & {int(t) for t in title[v]}:
                    group = ev.PROBES[0]
                elif world.language[v] == vw.ENGLISH:
                    group = ev.PROBES[1]
                else:
                    group = ev.PROBES[2]
                asked[group] += 1
                hits[group] += v in top50
            near = [world.topic[v] == topic and world.facet[v] != facet for v in top10]
            shares.append(np.mean(near) if top10 else 0.0)
        for group in ev.PROBES[:3]:
            expected = hits[group] / asked[group]
            assert got[system, group, "descriptive"] == pytest.approx(expected)
        assert got[system, ev.PROBES[3], "descriptive"] == pytest.approx(
            np.mean(shares)
        )
    # English query words never reach an other-language title: the groups partition.
    other = world.language == vw.OTHER
    english_words = world.query_tokens[world.query_kind == 1]
    assert not np.isin(title[other], english_words[english_words >= 0]).any()
