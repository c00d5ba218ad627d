"""The synthetic video catalogue of the video-search miniature, and its two retrievers.

A seeded world whose answers are known by construction: videos belong to channels
and have a topic and a facet (one of four sub-topics). What a viewer would call
relevant is set by those identities and the video's language, never by a retriever.
What the retrievers see is noisy: titles are informative, clickbait or bare file
names; a quarter of the channels write and speak another language; transcripts come
from speech recognition with word errors, and some videos have no speech; a
multimodal (CLIP-style) embedding sees the topic and facet through noise, and knows
no channel name. :mod:`snippets.problems.video_search_eval` scores the retrievers;
``python -m snippets.problems.video_search`` runs everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import sparse

from snippets.common.bm25 import BM25

N_TOPICS, N_FACETS, N_CHANNELS = 24, 4, 160
TOPIC_WORDS, FACET_WORDS, SPOKEN_WORDS, VISUAL_WORDS, FILLER_WORDS = 3, 2, 4, 3, 400
CLICKBAIT_WORDS, DIM = 30, 32
ENGLISH, OTHER = 0, 1  # the viewers' query language, and every other language
OTHER_LANGUAGE_SHARE = 0.25  # of channels
TITLE_STYLES = ("informative", "clickbait", "bare")  # "VID_20240512_1733" is bare
TITLE_STYLE_SHARES = (0.55, 0.30, 0.15)
WORD_ERROR_RATE, NAME_ERROR_RATE, SPEECH_SHARE = 0.25, 0.7, 0.85
# Where each field starts in a video's token matrix (-1 pads an empty slot).
FIELDS = {"title": (0, 5), "metadata": (5, 14), "transcript": (14, 54), "ocr": (54, 57)}
KINDS = ("navigational", "descriptive", "spoken", "visual")


class Vocabulary:
    """Integer token ids, one block per kind of word and per language."""

    def __init__(self, n_videos: int):
        self.sizes = {
            "topic": N_TOPICS * TOPIC_WORDS,
            "facet": N_TOPICS * N_FACETS * FACET_WORDS,
            "spoken": N_TOPICS * N_FACETS * SPOKEN_WORDS,
            "visual": N_TOPICS * N_FACETS * VISUAL_WORDS,
            "filler": FILLER_WORDS,
        }
        start, self.offset = 0, {}
        for language in (ENGLISH, OTHER):
            for kind, size in self.sizes.items():
                self.offset[kind, language] = start
                start += size
        # Language-neutral blocks: channel names, clickbait, one file name per video.
        for kind, size in (("name", N_CHANNELS), ("clickbait", CLICKBAIT_WORDS)):
            self.offset[kind, None], start = start, start + size
        self.offset["bare", None], self.size = start, start + n_videos

    def topic(self, topic, language, j):
        return (
            self.offset["topic", ENGLISH]
            + language * self._per_language()
            + (np.asarray(topic) * TOPIC_WORDS + j)
        )

    def facet(self, topic, facet, language, j):
        cell = np.asarray(topic) * N_FACETS + facet
        base = self.offset["facet", ENGLISH] + language * self._per_language()
        return base + cell * FACET_WORDS + j

    def spoken(self, topic, facet, language, j):
        cell = np.asarray(topic) * N_FACETS + facet
        base = self.offset["spoken", ENGLISH] + language * self._per_language()
        return base + cell * SPOKEN_WORDS + j

    def visual(self, topic, facet, language, j):
        cell = np.asarray(topic) * N_FACETS + facet
        base = self.offset["visual", ENGLISH] + language * self._per_language()
        return base + cell * VISUAL_WORDS + j

    def filler(self, language, j):
        return self.offset["filler", ENGLISH] + language * self._per_language() + j

    def name(self, channel):
        return self.offset["name", None] + np.asarray(channel)

    def _per_language(self) -> int:
        return sum(self.sizes.values())


@dataclass(frozen=True)
class World:
    """Videos (tokens per field, hidden identities, embeddings) and judged queries."""

    tokens: np.ndarray  # (n_videos, 56) token ids per field slot, -1 when empty
    channel: np.ndarray
    topic: np.ndarray
    facet: np.ndarray
    language: np.ndarray
    title_style: np.ndarray  # index into TITLE_STYLES
    has_speech: np.ndarray
    video_vectors: np.ndarray  # (n_videos, DIM), unit norm: the multimodal embedding
    query_tokens: np.ndarray  # (n_queries, 2), -1 when a query has one token
    query_kind: np.ndarray  # index into KINDS
    query_target: np.ndarray  # the channel, or the (topic, facet) cell, asked for
    word_vectors: np.ndarray  # (vocabulary, DIM): the text tower's view of each token
    known_words: np.ndarray  # bool per token: did contrastive training see it?
    vocabulary: Vocabulary


def _check_count(name: str, value: int, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value}")
    return int(value)


def _pick(mask, values):
    """values where mask, -1 (an empty slot) elsewhere."""
    return np.where(mask, values, -1)


# --8<-- [start:world]
def make_world(
    n_videos: int = 3000,
    queries_per_kind: int = 60,
    seed: int = 0,
    word_error_rate: float = WORD_ERROR_RATE,
) -> World:
    """A catalogue of videos with noisy text and embeddings, and four kinds of query."""
    n = _check_count("n_videos", n_videos, 4 * N_TOPICS * N_FACETS)
    per_kind = _check_count("queries_per_kind", queries_per_kind, 2)
    if not 0 <= word_error_rate <= 1:
        raise ValueError(f"word_error_rate must be in [0, 1], got {word_error_rate}")
    rng = np.random.default_rng(seed)
    vocab = Vocabulary(n)
    # Channels: sizes follow a power law, each has a home topic and a language.
    weights = 1 / np.arange(1, N_CHANNELS + 1) ** 0.8
    home = rng.integers(0, N_TOPICS, N_CHANNELS)
    channel_language = (rng.random(N_CHANNELS) < OTHER_LANGUAGE_SHARE).astype(int)
    channel = rng.choice(N_CHANNELS, n, p=weights / weights.sum())
    topic = np.where(rng.random(n) < 0.8, home[channel], rng.integers(0, N_TOPICS, n))
    facet, language = rng.integers(0, N_FACETS, n), channel_language[channel]
    style = rng.choice(len(TITLE_STYLES), n, p=TITLE_STYLE_SHARES)
    has_speech = rng.random(n) < SPEECH_SHARE
    videos = {"channel": channel, "topic": topic, "facet": facet, "lang": language}
    extra = {"style": style, "speech": has_speech, "wer": word_error_rate}
    tokens = np.full((n, FIELDS["ocr"][1]), -1)
    for write in (_write_title, _write_metadata, _write_transcript, _write_ocr):
        write(tokens, rng, vocab, videos | extra)
    word_vectors, known, video_vectors = _embeddings(rng, vocab, topic, facet)
    q_tokens, q_kind, q_target = _make_queries(rng, vocab, channel, per_kind)
    return World(
        tokens, channel, topic, facet, language, style, has_speech, video_vectors,
        q_tokens, q_kind, q_target, word_vectors, known, vocab,
    )  # fmt: skip
    # --8<-- [end:world]


def _write_title(tokens, rng, vocab, v):
    n, (start, _) = len(v["channel"]), FIELDS["title"]
    topic, facet, lang, style = v["topic"], v["facet"], v["lang"], v["style"]
    informative, clickbait = style == 0, style == 1
    filler = vocab.filler(lang[:, None], rng.integers(0, FILLER_WORDS, (n, 2)))
    bait = vocab.offset["clickbait", None] + rng.integers(0, CLICKBAIT_WORDS, (n, 3))
    topic_word = vocab.topic(topic, lang, rng.integers(0, TOPIC_WORDS, n))
    facet_word = vocab.facet(topic, facet, lang, rng.integers(0, FACET_WORDS, n))
    bare = vocab.offset["bare", None] + np.arange(n)  # a file name, unique
    tokens[:, start] = np.select(
        [informative, clickbait], [topic_word, bait[:, 0]], bare
    )
    tokens[:, start + 1] = np.select(
        [informative, clickbait], [facet_word, bait[:, 1]], -1
    )
    tokens[:, start + 2] = np.select(
        [informative, clickbait], [filler[:, 0], bait[:, 2]], -1
    )
    tokens[:, start + 3] = _pick(style < 2, filler[:, 1])
    # The channel's own name in 30% of titles; another channel's in 5% (a reaction
    # video, a collaboration, a re-upload): a lexical false positive for its name.
    other = vocab.name(rng.integers(0, N_CHANNELS, n))
    own = _pick(rng.random(n) < 0.3, vocab.name(v["channel"]))
    tokens[:, start + 4] = np.where(rng.random(n) < 0.05, other, own)


def _write_metadata(tokens, rng, vocab, v):
    n, (start, _) = len(v["channel"]), FIELDS["metadata"]
    topic, facet, lang = v["topic"], v["facet"], v["lang"]
    tokens[:, start] = _pick(rng.random(n) < 0.6, vocab.name(v["channel"]))
    topic_word = vocab.topic(topic, lang, rng.integers(0, TOPIC_WORDS, n))
    tokens[:, start + 1] = _pick(rng.random(n) < 0.5, topic_word)
    facet_word = vocab.facet(topic, facet, lang, rng.integers(0, FACET_WORDS, n))
    tokens[:, start + 2] = _pick(rng.random(n) < 0.3, facet_word)
    fill = vocab.filler(lang[:, None], rng.integers(0, FILLER_WORDS, (n, 2)))
    tokens[:, start + 3 : start + 5] = fill
    # Keyword stuffing: 10% of uploads tag English words of three other topics.
    stuffed = rng.random(n) < 0.1
    others = vocab.topic(rng.integers(0, N_TOPICS, (n, 3)), ENGLISH, 0)
    tokens[:, start + 5 : start + 8] = np.where(stuffed[:, None], others, -1)
    # A tag for what is seen, in 15% of uploads ("snow", "drone shot").
    seen = vocab.visual(topic, facet, lang, rng.integers(0, VISUAL_WORDS, n))
    tokens[:, start + 8] = _pick(rng.random(n) < 0.15, seen)


def _write_transcript(tokens, rng, vocab, v):
    n, (start, end) = len(v["channel"]), FIELDS["transcript"]
    width = end - start
    t, f, lang = v["topic"][:, None], v["facet"][:, None], v["lang"][:, None]
    # What is said: topic, facet and spoken-only words among filler; what is
    # seen is rarely said.
    kind = rng.choice(5, (n, width), p=(0.15, 0.10, 0.15, 0.01, 0.59))
    said = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [
            vocab.topic(t, lang, rng.integers(0, TOPIC_WORDS, (n, width))),
            vocab.facet(t, f, lang, rng.integers(0, FACET_WORDS, (n, width))),
            vocab.spoken(t, f, lang, rng.integers(0, SPOKEN_WORDS, (n, width))),
            vocab.visual(t, f, lang, rng.integers(0, VISUAL_WORDS, (n, width))),
        ],
        vocab.filler(lang, rng.integers(0, FILLER_WORDS, (n, width))),
    )
    # The channel's name in the intro of half the videos.
    intro = rng.random(n) < 0.5
    said[:, 0] = np.where(intro, vocab.name(v["channel"]), said[:, 0])
    # Speech recognition: each word is misheard as a filler word with the word
    # error rate; a proper noun such as a channel name far more often.
    draw = rng.random((n, width))
    misheard = draw < v["wer"]
    misheard[:, 0] = np.where(intro, draw[:, 0] < NAME_ERROR_RATE, misheard[:, 0])
    noise = vocab.filler(lang, rng.integers(0, FILLER_WORDS, (n, width)))
    heard = np.where(misheard, noise, said)
    tokens[:, start:end] = np.where(v["speech"][:, None], heard, -1)


def _write_ocr(tokens, rng, vocab, v):
    n, (start, _) = len(v["channel"]), FIELDS["ocr"]
    topic, facet, lang = v["topic"], v["facet"], v["lang"]
    tokens[:, start] = _pick(rng.random(n) < 0.5, vocab.name(v["channel"]))  # logo
    spoken = vocab.spoken(topic, facet, lang, rng.integers(0, SPOKEN_WORDS, n))
    tokens[:, start + 1] = _pick(rng.random(n) < 0.3, spoken)  # on-screen text
    topic_word = vocab.topic(topic, lang, rng.integers(0, TOPIC_WORDS, n))
    tokens[:, start + 2] = _pick(rng.random(n) < 0.2, topic_word)


def _embeddings(rng, vocab, topic, facet):
    """The multimodal space: topic and facet directions, seen through noise.

    A video's vector is its topic direction plus half its facet direction plus
    noise of norm ~1.1 (what frames and audio reveal), in any language. The text
    tower maps an English topic, facet or spoken word near the same directions; it
    never learned channel names or other-language words, and gives each unknown
    token an arbitrary direction, as a sub-word encoder does.
    """
    topics = _unit(rng.normal(size=(N_TOPICS, DIM)))
    facets = _unit(rng.normal(size=(N_TOPICS, N_FACETS, DIM)))
    noise = rng.normal(size=(len(topic), DIM)) / np.sqrt(DIM)
    videos = _unit(topics[topic] + 0.5 * facets[topic, facet] + 1.1 * noise)
    words = _unit(rng.normal(size=(vocab.size, DIM)))  # unknown tokens: arbitrary
    known = np.zeros(vocab.size, dtype=bool)
    t, f = np.meshgrid(np.arange(N_TOPICS), np.arange(N_FACETS), indexing="ij")
    t, f = t.ravel(), f.ravel()
    for j in range(TOPIC_WORDS):
        ids = vocab.topic(np.arange(N_TOPICS), ENGLISH, j)
        words[ids], known[ids] = topics, True
    makers = (
        (vocab.facet, FACET_WORDS),
        (vocab.spoken, SPOKEN_WORDS),
        (vocab.visual, VISUAL_WORDS),
    )
    for maker, count in makers:
        for j in range(count):
            ids = maker(t, f, ENGLISH, j)
            words[ids], known[ids] = topics[t] + 0.5 * facets[t, f], True
    # Each word's own error: contrastive training places no two words exactly.
    words[known] += 0.3 * rng.normal(size=(known.sum(), DIM)) / np.sqrt(DIM)
    return words, known, videos


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _make_queries(rng, vocab, channel, per_kind):
    """Navigational (a channel's name), descriptive, spoken-word and visual queries."""
    sizes = np.bincount(channel, minlength=N_CHANNELS)
    # Viewers ask for big channels more often: proportional to the channel's size.
    eligible = np.flatnonzero(sizes >= 3)
    asked = rng.choice(eligible, per_kind, p=sizes[eligible] / sizes[eligible].sum())
    nav = np.stack([vocab.name(asked), np.full(per_kind, -1)], axis=1)
    cells = rng.integers(0, N_TOPICS * N_FACETS, (3, per_kind))
    t, f = cells // N_FACETS, cells % N_FACETS
    # Descriptive: a topic word and a facet word, as titles use them ("pasta
    # carbonara"); spoken: two words said in the video, never in titles ("guanciale
    # pecorino"); visual: two words for what is seen, rarely written or said.
    desc = np.stack(
        [
            vocab.topic(t[0], ENGLISH, rng.integers(0, TOPIC_WORDS, per_kind)),
            vocab.facet(t[0], f[0], ENGLISH, rng.integers(0, FACET_WORDS, per_kind)),
        ],
        axis=1,
    )
    said = np.argsort(rng.random((per_kind, SPOKEN_WORDS)), axis=1)[:, :2]
    seen = np.argsort(rng.random((per_kind, VISUAL_WORDS)), axis=1)[:, :2]
    spoken = vocab.spoken(t[1][:, None], f[1][:, None], ENGLISH, said)
    visual = vocab.visual(t[2][:, None], f[2][:, None], ENGLISH, seen)
    query_tokens = np.concatenate([nav, desc, spoken, visual])
    kind = np.repeat(np.arange(len(KINDS)), per_kind)
    target = np.concatenate([asked, *cells])
    return query_tokens, kind, target


def grades(world: World, query: int) -> dict[int, int]:
    """Judged relevance of every video to one query (grade 0 omitted).

    Navigational: the channel's videos, grade 2. The other kinds: the
    asked-for topic and facet in the viewer's language 2, in another language 1
    (the images still help); the same topic with another facet 1.
    """
    if not 0 <= query < len(world.query_kind):
        raise ValueError(f"query must be in [0, {len(world.query_kind)}), got {query}")
    target = int(world.query_target[query])
    if KINDS[world.query_kind[query]] == "navigational":
        ids = np.flatnonzero(world.channel == target)
        return dict.fromkeys(ids.tolist(), 2)
    topic, facet = divmod(target, N_FACETS)
    same_topic = world.topic == topic
    exact = same_topic & (world.facet == facet)
    grade = np.where(exact & (world.language == ENGLISH), 2, same_topic.astype(int))
    ids = np.flatnonzero(grade)
    return dict(zip(ids.tolist(), grade[ids].tolist(), strict=True))


def exact_videos(world: World, query: int) -> set[int]:
    """What recall counts: the channel's videos, or the cell's in any language."""
    target = int(world.query_target[query])
    if KINDS[world.query_kind[query]] == "navigational":
        return set(np.flatnonzero(world.channel == target).tolist())
    topic, facet = divmod(target, N_FACETS)
    return set(np.flatnonzero((world.topic == topic) & (world.facet == facet)).tolist())


def counts_matrix(token_rows: np.ndarray, n_terms: int) -> sparse.csr_matrix:
    """Term counts per row from a padded token matrix (-1 is an empty slot)."""
    token_rows = np.asarray(token_rows)
    if token_rows.ndim != 2 or not np.issubdtype(token_rows.dtype, np.integer):
        raise TypeError("token_rows must be a 2-D integer array")
    if token_rows.max(initial=-1) >= n_terms or token_rows.min(initial=-1) < -1:
        raise ValueError("token ids must be in [0, n_terms), or -1 for an empty slot")
    rows, cols = np.nonzero(token_rows >= 0)
    data = np.ones(rows.size)
    return sparse.csr_matrix(
        (data, (rows, token_rows[rows, cols])), shape=(len(token_rows), n_terms)
    )


def transcript_keyphrases(world: World, keep: int) -> np.ndarray:
    """Each transcript's keep distinct words of highest tf-idf, (n_videos, keep).

    What an index that cannot afford full transcripts stores instead; -1 pads a
    transcript with fewer distinct words (or none: no speech).
    """
    keep = _check_count("keep", keep, 1)
    said = np.sort(world.tokens[:, slice(*FIELDS["transcript"])], axis=1)
    first = np.ones_like(said, dtype=bool)  # a word's first slot in its sorted row
    first[:, 1:] = said[:, 1:] != said[:, :-1]
    first &= said >= 0
    df = np.bincount(said[first], minlength=world.vocabulary.size)
    idf = np.log((1 + len(said)) / (1 + df)) + 1
    tf = (said[:, :, None] == said[:, None, :]).sum(axis=2)
    score = np.where(first, tf * idf[np.maximum(said, 0)], -np.inf)
    best = np.argsort(-score, axis=1, kind="stable")[:, :keep]
    kept = np.take_along_axis(said, best, axis=1)
    return np.where(np.take_along_axis(score, best, axis=1) > -np.inf, kept, -1)


def lexical_scores(
    world: World, fields: tuple[str, ...], keyphrases: int | None = None
) -> np.ndarray:
    """BM25 over the chosen text fields, every query against every video.

    With keyphrases=k the transcript field holds only its k best words.
    """
    if not fields or set(fields) - set(FIELDS):
        raise ValueError(f"fields must be a non-empty subset of {list(FIELDS)}")
    kept = [f for f in fields if keyphrases is None or f != "transcript"]
    slots = np.concatenate([np.arange(*FIELDS[f]) for f in kept] + [[]]).astype(int)
    text = world.tokens[:, slots]
    if keyphrases is not None and "transcript" in fields:
        text = np.hstack([text, transcript_keyphrases(world, keyphrases)])
    index = BM25(counts_matrix(text, world.vocabulary.size))
    return index.scores(counts_matrix(world.query_tokens, world.vocabulary.size))


# --8<-- [start:retrievers]
def multimodal_scores(world: World, abstain: bool = False) -> np.ndarray:
    """Cosine of the text tower's query vector and each video's multimodal vector.

    The text tower sums its vectors of the query's tokens. With abstain=True it
    drops tokens it never learned, and a query of unknown tokens gets no results.
    """
    q = np.where(world.query_tokens >= 0, world.query_tokens, 0)
    use = world.query_tokens >= 0
    if abstain:
        use &= world.known_words[q]
    vectors = (world.word_vectors[q] * use[..., None]).sum(axis=1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = (vectors / np.where(norms > 0, norms, 1)) @ world.video_vectors.T
    return np.where(use.any(axis=1)[:, None], scores, -np.inf)  # -inf: not returned
    # --8<-- [end:retrievers]


def top_ids(scores: np.ndarray, depth: int = 100, positive: bool = False) -> list:
    """Per query, the ids of the depth best-scoring videos, best first.

    Ties keep the lower id first; -inf is never returned, nor 0 with positive=True
    (a BM25 score of 0 means no query term matched).
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or np.isnan(scores).any():
        raise ValueError("scores must be a (queries, videos) array without NaN")
    n = scores.shape[1]
    depth = min(_check_count("depth", depth, 1), n)
    floor = 0.0 if positive else -np.inf
    cut = np.partition(scores, n - depth, axis=1)[:, n - depth]  # depth-th best
    found = []
    for row, best_kept in zip(scores, cut, strict=True):
        ids = np.flatnonzero((row >= best_kept) & (row > floor))
        found.append(ids[np.argsort(-row[ids], kind="stable")][:depth].tolist())
    return found
