"""Smart compose: the trigram model, the oracle and the trigger curve."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest

from snippets.problems import autocomplete_compose as ac


@pytest.fixture(scope="module")
def train() -> ac.Corpus:
    return ac.make_corpus(11, 300)


@pytest.fixture(scope="module")
def model(train) -> ac.TrigramModel:
    return ac.TrigramModel(train.messages)


class Reference:
    """Interpolated absolute discounting from Counters, one word at a time."""

    def __init__(self, messages, d=ac.DISCOUNT):
        self.d = d
        self.after2: dict[tuple, Counter] = defaultdict(Counter)  # (u, v) -> w
        self.after1: dict[str, Counter] = defaultdict(Counter)  # v -> w
        self.uni = Counter()
        for m in messages:
            words = [ac.START, ac.START, *m]
            for u, v, w in zip(words, words[1:], words[2:], strict=False):
                self.after2[u, v][w] += 1
                self.after1[v][w] += 1
                self.uni[w] += 1
        self.vocab = sorted(set(self.uni) | {ac.START})
        self.total = sum(self.uni.values())

    def p1(self, w):
        return (self.uni[w] + 1) / (self.total + len(self.vocab))

    def p2(self, w, v):
        seen = self.after1.get(v, Counter())
        n = sum(seen.values())
        if n == 0:
            return self.p1(w)
        return max(seen[w] - self.d, 0) / n + self.d * len(seen) / n * self.p1(w)

    def p3(self, w, u, v):
        seen = self.after2.get((u, v), Counter())
        n = sum(seen.values())
        if n == 0:
            return self.p2(w, v)
        return max(seen[w] - self.d, 0) / n + self.d * len(seen) / n * self.p2(w, v)


def test_next_word_is_the_argmax_of_an_independent_model(model, train):
    ref = Reference(train.messages)
    contexts = [
        (ac.START, ac.START),
        ("let", "me"),
        ("thank", "you"),
        ("me", "know"),
        ("you", "for"),
        (ac.START, "i"),
    ]
    words = train.messages[0] + train.messages[1]
    contexts += list(itertools.pairwise(words[:11]))
    contexts.append(("best", "thank"))  # an unseen trigram context: backs off
    for u, v in contexts:
        dist = {w: ref.p3(w, u, v) for w in ref.vocab}
        assert sum(dist.values()) == pytest.approx(1.0)
        word, p = model.next_word(model.id[u], model.id[v])
        assert p == pytest.approx(max(dist.values()))
        assert dist[model.words[word]] == pytest.approx(p)


def test_the_model_learns_the_phrases(model):
    def continue_(words):
        ids = [model.id[w] for w in words]
        return model.words[model.next_word(ids[-2], ids[-1])[0]]

    assert continue_(["let", "me"]) == "know"
    assert continue_(["looking", "forward"]) == "to"
    assert continue_(["hearing", "from"]) == "you"


def test_the_oracle_is_calibrated():
    corpus = ac.make_corpus(12, 400)
    chains, probs = ac.oracle_chains(corpus, corpus.messages)
    truth = [m[i:] for m in corpus.messages for i in range(len(m))]
    for j in range(ac.MAX_WORDS):
        right = np.array(
            [
                tuple(r[: j + 1]) == c[: j + 1]
                for c, r in zip(chains, truth, strict=True)
            ]
        )
        for low, high in ((0.0, 0.3), (0.3, 0.7), (0.7, 1.01)):
            keep = (probs[:, j] >= low) & (probs[:, j] < high)
            if keep.sum() > 200:
                assert right[keep].mean() == pytest.approx(
                    probs[keep, j].mean(), abs=0.04
                )


def test_running_probabilities_never_rise(model, train):
    chains, probs = ac.model_chains(model, train.messages[:20])
    assert len(chains) == sum(map(len, train.messages[:20]))
    assert (np.diff(probs, axis=1) <= 1e-12).all() and (probs > 0).all()


def test_trigger_curve_on_a_hand_made_case():
    messages = [("a", "b", "c", "d")]
    # The suggestion made before word i (the truth from there is message[i:]).
    chains = [
        ("b", "c", "x", "x"),
        ("b", "x", "x", "x"),
        ("c", "d", "x", "x"),
        ("x", "x", "x", "x"),
    ]
    probs = np.array(
        [
            [0.9, 0.7, 0.2, 0.1],
            [0.5, 0.4, 0.3, 0.2],
            [0.96, 0.9, 0.1, 0.1],
            [0.3, 0.1, 0.1, 0.1],
        ]
    )
    curve = ac.trigger_curve(chains, probs, messages, thresholds=(0.6, 0.95))
    # t = 0.6. Before "a": "b c" shown (2 words clear 0.6), wrong, "a" typed.
    # Before "b": nothing. Before "c": "c d" shown, right, taken with one tab
    # (saves 3 - 1 characters) and the message is done: 3 boundaries reached.
    assert curve[0.6]["suggestion rate"] == pytest.approx(2 / 3)
    assert curve[0.6]["acceptance"] == pytest.approx(1 / 2)
    assert curve[0.6]["saved share"] == pytest.approx(2 / len("a b c d"))
    assert curve[0.6]["confidence"] == pytest.approx((0.7 + 0.9) / 2)
    # t = 0.95. Only "c" before "c" clears it: shown, right, taken (saves 1 - 1);
    # then "d" is reached with nothing shown: 4 boundaries, 1 suggestion.
    assert curve[0.95]["suggestion rate"] == pytest.approx(1 / 4)
    assert curve[0.95]["acceptance"] == 1.0
    assert curve[0.95]["saved share"] == 0.0


def test_phrases_are_not_prefixes_of_each_other():
    phrases = [p.split() for p in ac.PHRASES]
    for a in phrases:
        for b in phrases:
            assert a == b or a != b[: len(a)]


def test_corpus_is_seeded_and_bad_input_raises():
    assert ac.make_corpus(3, 5).messages == ac.make_corpus(3, 5).messages
    assert ac.make_corpus(3, 5).messages != ac.make_corpus(4, 5).messages
    with pytest.raises(TypeError, match="seed"):
        ac.make_corpus(1.5, 5)
    with pytest.raises(ValueError, match="message"):
        ac.make_corpus(1, 0)
