"""Smart compose in miniature: a trigram model that suggests only when confident.

A seeded generator writes messages: formulaic phrases ("let me know if you have
any questions") mixed with free words drawn from a Zipf law over made-up words.
A trigram model with interpolated absolute discounting is trained on one draw
and, on another, proposes at every word boundary the greedy continuation of up
to four words, shown only if its probability clears a threshold. The generator
is known, so its own probabilities (conditioned on the words typed) give a
calibrated reference for the same thresholds: not a ceiling, since after a
rejection the box shows the rest of the same continuation again.
Used by ``python -m snippets.problems.autocomplete``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

PHRASES = (  # no phrase is a prefix of another: a finished phrase is a boundary
    "thank you for your help",
    "thank you for the update",
    "thank you so much",
    "let me know if you have any questions",
    "let me know what you think",
    "let me know when you are free",
    "i hope you are well",
    "i hope this helps",
    "please find attached the report",
    "looking forward to hearing from you",
    "have a great weekend",
    "have a nice day",
    "sorry for the late reply",
    "sorry for the delay",
    "could you please send me the file",
    "would you be available for a call",
    "see you next week",
    "see you tomorrow",
    "happy to help",
    "best regards",
)
PHRASE_SHARE = 0.1  # chance that a segment is a phrase rather than one free word
MAX_WORDS = 4  # longest suggestion
THRESHOLDS = (0.2, 0.4, 0.6, 0.8)
DISCOUNT = 0.75  # absolute discounting (Ney, Essen and Kneser's usual value)
START = "<s>"


@dataclass(frozen=True)
class Corpus:
    """Messages as word lists, and the generator's state before each word."""

    messages: tuple[tuple[str, ...], ...]
    vocabulary: tuple[str, ...]  # free words, most frequent first
    free_p: np.ndarray  # the generator's free-word probabilities
    phrase_p: np.ndarray  # the generator's phrase probabilities


def _zipf(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def make_corpus(seed: int, n_messages: int, words_per_message: int = 40) -> Corpus:
    """Messages of phrases and free words; the same vocabulary for every seed."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if n_messages < 1 or words_per_message < 1:
        raise ValueError("need at least one message of at least one word")
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    vocab_rng = np.random.default_rng(2024)  # the language is fixed across seeds
    free: dict[str, None] = {}
    while len(free) < 300:
        parts = vocab_rng.choice(len(syllables), size=vocab_rng.integers(2, 4))
        free.setdefault("".join(syllables[i] for i in parts))
    vocabulary, free_p = tuple(free), _zipf(300, 1.1)
    phrase_p = _zipf(len(PHRASES), 1.0)
    phrases = [p.split() for p in PHRASES]
    rng = np.random.default_rng(seed)
    segments = n_messages * words_per_message  # enough: a segment is >= 1 word
    is_phrase = (rng.random(segments) < PHRASE_SHARE).tolist()
    phrase_id = rng.choice(len(phrases), size=segments, p=phrase_p).tolist()
    free_id = rng.choice(300, size=segments, p=free_p).tolist()
    messages, k = [], 0
    for _ in range(n_messages):
        words: list[str] = []
        while len(words) < words_per_message:
            if is_phrase[k]:
                words += phrases[phrase_id[k]]
            else:
                words.append(vocabulary[free_id[k]])
            k += 1
        messages.append(tuple(words))
    return Corpus(tuple(messages), vocabulary, free_p, phrase_p)


class TrigramModel:
    """Interpolated absolute discounting, trigram -> bigram -> add-one unigram."""

    def __init__(self, messages: Sequence[Sequence[str]]) -> None:
        words = sorted({w for m in messages for w in m} | {START})
        self.words, self.id = words, {w: i for i, w in enumerate(words)}
        size = len(words)
        streams = [[self.id[START]] * 2 + [self.id[w] for w in m] for m in messages]
        u = np.concatenate([s[:-2] for s in streams])
        v = np.concatenate([s[1:-1] for s in streams])
        w = np.concatenate([s[2:] for s in streams])
        unigram = np.bincount(w, minlength=size) + 1.0
        self.p1 = unigram / unigram.sum()
        pairs = np.bincount(v * size + w, minlength=size * size).reshape(size, size)
        seen, distinct = pairs.sum(1, keepdims=True), (pairs > 0).sum(1, keepdims=True)
        back = np.divide(
            DISCOUNT * distinct, seen, out=np.ones_like(seen, float), where=seen > 0
        )
        first = np.divide(
            np.maximum(pairs - DISCOUNT, 0),
            seen,
            out=np.zeros(pairs.shape),
            where=seen > 0,
        )
        self.p2 = first + back * self.p1  # each row a distribution over words
        self.best2 = self.p2.argmax(1)
        # Trigram counts, sorted by context (u, v): a context's next words and
        # their counts sit in one slice, found by binary search.
        keys = np.sort((u * size + v) * size + w)
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        starts = np.flatnonzero(first)
        self.next_ids = keys[starts] % size
        self.counts = np.diff(np.append(starts, len(keys)))
        self.context_of = (keys[starts] // size).tolist()  # sorted
        self.size = size

    # --8<-- [start:next_word]
    def next_word(self, u: int, v: int) -> tuple[int, float]:
        """The most likely next word after (u, v) and its probability."""
        context, best = u * self.size + v, int(self.best2[v])
        lo = bisect.bisect_left(self.context_of, context)
        hi = bisect.bisect_right(self.context_of, context, lo)
        if lo == hi:  # unseen context: back off to the bigram
            return best, float(self.p2[v, best])
        nexts, counts = self.next_ids[lo:hi], self.counts[lo:hi]
        total = counts.sum()
        weight = DISCOUNT * len(counts) / total  # mass left for the bigram
        # Only words seen after (u, v) get more than weight * p2; the best other
        # word is the bigram's best.
        scores = np.maximum(counts - DISCOUNT, 0) / total + weight * self.p2[v, nexts]
        top = int(scores.argmax())
        if scores[top] >= weight * self.p2[v, best]:
            return int(nexts[top]), float(scores[top])
        return best, float(weight * self.p2[v, best])
        # --8<-- [end:next_word]


def model_chains(model: TrigramModel, messages) -> tuple[list, np.ndarray]:
    """At every word boundary: the greedy continuation and its running probability."""
    step = cache(model.next_word)
    unknown = model.size  # a word never seen in training
    chains, probs = [], []
    for message in messages:
        ids = [model.id[START]] * 2 + [model.id.get(w, unknown) for w in message]
        for i in range(2, len(ids)):
            u, v, words, p = ids[i - 2], ids[i - 1], [], 1.0
            for _ in range(MAX_WORDS):
                if v == unknown:
                    w, q = int(model.p1.argmax()), float(model.p1.max())
                else:
                    w, q = step(u, v)
                p *= q
                words.append(model.words[w])
                probs.append(p)
                u, v = v, w
            chains.append(tuple(words))
    return chains, np.array(probs).reshape(-1, MAX_WORDS)


def oracle_chains(corpus: Corpus, messages) -> tuple[list, np.ndarray]:
    """The same from the generator's probabilities given the words typed so far."""
    phrases = [p.split() for p in PHRASES]
    boundary: dict[str, float] = {}
    for word, p in zip(corpus.vocabulary, corpus.free_p, strict=True):
        boundary[word] = boundary.get(word, 0.0) + (1 - PHRASE_SHARE) * p
    for phrase, p in zip(phrases, corpus.phrase_p, strict=True):
        boundary[phrase[0]] = boundary.get(phrase[0], 0.0) + PHRASE_SHARE * p

    @cache
    def step(inside: tuple[int, ...], depth: int) -> tuple[str, float, tuple, int]:
        """Best next word, its probability, and the state after it."""
        if not inside:  # between segments: a phrase's first word or a free word
            word = max(boundary, key=boundary.get)
            inside = tuple(i for i, p in enumerate(phrases) if p[0] == word)
            depth, prob = 0, boundary[word]
        else:  # inside a phrase: the phrases that agree with the words so far
            weights: dict[str, float] = {}
            for i in inside:
                next_word = phrases[i][depth + 1]
                weights[next_word] = weights.get(next_word, 0) + corpus.phrase_p[i]
            word = max(weights, key=weights.get)
            prob = weights[word] / sum(weights.values())
            inside = tuple(i for i in inside if phrases[i][depth + 1] == word)
            depth += 1
        if inside and len(phrases[inside[0]]) == depth + 1:
            inside = ()  # the phrase is finished
        return word, prob, inside, depth

    chains, probs = [], []
    for message in messages:
        inside, depth = (), 0
        for word in message:
            state, d, words, p = inside, depth, [], 1.0
            for _ in range(MAX_WORDS):
                w, q, state, d = step(state, d)
                p *= q
                words.append(w)
                probs.append(p)
            chains.append(tuple(words))
            inside, depth = _advance(phrases, inside, depth, word)
    return chains, np.array(probs).reshape(-1, MAX_WORDS)


def _advance(phrases, inside: tuple, depth: int, word: str) -> tuple[tuple, int]:
    """The generator's state after the word actually typed."""
    if not inside:
        inside, depth = tuple(i for i, p in enumerate(phrases) if p[0] == word), 0
    else:
        inside = tuple(i for i in inside if phrases[i][depth + 1] == word)
        depth += 1
    if inside and len(phrases[inside[0]]) == depth + 1:
        inside = ()
    return inside, depth


# --8<-- [start:trigger]
def trigger_curve(chains, probs, messages, thresholds=THRESHOLDS) -> dict:
    """Suggestion rate, acceptance and characters saved at each threshold.

    At a threshold t the box shows the longest greedy continuation whose
    probability is at least t (none if the first word's is below t). The writer
    accepts it with one tab only if it is exactly what they were about to type,
    and then continues after it; otherwise they type the next word.
    """
    truth = [m[i:] for m in messages for i in range(len(m))]
    matched = [_common_words(c, r) for c, r in zip(chains, truth, strict=True)]
    typed = sum(len(" ".join(m)) for m in messages)
    out = {}
    for t in thresholds:
        above = (np.asarray(probs) >= t).sum(axis=1).tolist()  # probs only fall
        reached = shown = accepted = saved = 0
        confidence, start = 0.0, 0
        for message in messages:
            i = 0
            while i < len(message):
                reached, at = reached + 1, start + i
                n = above[at]
                if n and matched[at] >= n:  # shown, and exactly right: taken
                    accepted += 1
                    saved += len(" ".join(chains[at][:n])) - 1  # minus the tab
                shown += n > 0
                confidence += probs[at][n - 1] if n else 0.0
                i += n if n and matched[at] >= n else 1
            start += len(message)
        out[t] = {
            "suggestion rate": shown / reached,
            "acceptance": accepted / max(shown, 1),
            "confidence": float(confidence) / max(shown, 1),
            "saved share": saved / typed,
        }
    return out
    # --8<-- [end:trigger]


def _common_words(chain: Sequence[str], rest: Sequence[str]) -> int:
    """How many leading words of the suggestion match the words that follow."""
    n = 0
    while n < len(chain) and n < len(rest) and chain[n] == rest[n]:
        n += 1
    return n
