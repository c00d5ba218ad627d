"""The synthetic listings of the near-duplicate miniature.

Each family is one real listing: an original body of words, then re-posts made from it
by controlled edits (one to three spans rewritten, a few words changed, sometimes the
two halves swapped). Some sellers paste one of a few boilerplate templates under every
listing, some listings are short, so that boilerplate dominates them, and a few
sellers list a series of different items, each written by editing the last. The
family is the ground truth of "same listing"; the exact Jaccard of the shingle sets is
computed from the words, independently of any MinHash.

Run the whole miniature: ``python -m snippets.problems.near_duplicates``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snippets.problems.near_duplicates_minhash import word_shingles

VOCAB = 5_000  # word ids; frequencies follow a Zipf law, so common phrases exist
ZIPF = 1.0
SHINGLE_WORDS = 3


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of the synthetic marketplace."""

    n_docs: int = 1_000
    mean_extra_copies: float = 1.2  # re-posts per listing: Poisson mean
    max_family: int = 9
    short_share: float = 0.3  # listings of 15-35 words, others of 60-160
    template_share: float = 0.4  # families that paste a boilerplate template
    n_templates: int = 8
    template_words: int = 60
    max_edit_rate: float = 0.3  # share of the body rewritten, uniform up to this
    reorder_share: float = 0.3  # re-posts with two halves of the body swapped
    series_share: float = 0.08  # sellers who list 3-5 different items, each made
    series_edit_rate: tuple[float, float] = (0.15, 0.3)  # by editing the last one


@dataclass(frozen=True)
class Corpus:
    """Documents as word ids, with the truth and the arrival order."""

    words: list[np.ndarray]
    family: np.ndarray  # family id per document: the ground truth
    template: np.ndarray  # template id per document, -1 without one
    seller: np.ndarray  # seller id per document: a series shares its seller
    arrival: np.ndarray  # document ids in the order they were posted
    is_original: np.ndarray  # True for the listing its family's re-posts edit


_ZIPF_CDF = np.cumsum(1.0 / np.arange(1, VOCAB + 1) ** ZIPF)
_ZIPF_CDF /= _ZIPF_CDF[-1]


def _zipf_words(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.minimum(np.searchsorted(_ZIPF_CDF, rng.random(size)), VOCAB - 1)


# --8<-- [start:edits]
def edit(body: np.ndarray, rate: float, reorder: bool, rng) -> np.ndarray:
    """A re-post: rewrite a share `rate` of the body in one to three spans (a new
    sentence, a changed price), fix a few words, sometimes swap the two halves."""
    out = body.copy()
    spans = int(rng.integers(1, 4))
    length = round(rate * body.size / spans)
    for _ in range(spans if length else 0):
        start = int(rng.integers(0, out.size - length + 1))
        new = _zipf_words(rng, int(rng.integers(length // 2, 3 * length // 2 + 1)))
        out = np.concatenate((out[:start], new, out[start + length :]))
    typo = rng.random(out.size) < rate / 10  # scattered one-word changes
    out[typo] = _zipf_words(rng, int(typo.sum()))
    if reorder:  # a block move: only the shingles across the cut change
        cut = int(rng.integers(out.size // 4, 3 * out.size // 4 + 1))
        out = np.concatenate((out[cut:], out[:cut]))
    return out
    # --8<-- [end:edits]


def make_corpus(seed: int, config: WorldConfig | None = None) -> Corpus:
    """Families of listings and their re-posts, shuffled into an arrival order."""
    config = config or WorldConfig()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    rng = np.random.default_rng(seed)
    templates = [
        _zipf_words(rng, config.template_words) for _ in range(config.n_templates)
    ]
    words, family, template, seller, is_original = [], [], [], [], []
    sid = -1
    while len(words) < config.n_docs:  # one seller at a time
        sid += 1
        short = rng.random() < config.short_share
        body = _zipf_words(
            rng, int(rng.integers(15, 36) if short else rng.integers(60, 161))
        )
        tid = (
            int(rng.integers(config.n_templates))
            if rng.random() < config.template_share
            else -1
        )
        in_series = rng.random() < config.series_share
        for item in range(int(rng.integers(3, 6)) if in_series else 1):
            if item:  # the seller's next, different item: an edit of the last one
                body = edit(body, rng.uniform(*config.series_edit_rate), False, rng)
            copies = min(rng.poisson(config.mean_extra_copies), config.max_family - 1)
            reposts = [
                edit(
                    body,
                    rng.uniform(0, config.max_edit_rate),
                    rng.random() < config.reorder_share,
                    rng,
                )
                for _ in range(copies)
            ]
            fam = int(family[-1]) + 1 if family else 0
            for k, b in enumerate([body, *reposts][: config.n_docs - len(words)]):
                words.append(np.concatenate((b, templates[tid])) if tid >= 0 else b)
                is_original.append(k == 0)
                family.append(fam)
                template.append(tid)
                seller.append(sid)
    arrival = rng.permutation(config.n_docs)
    return Corpus(
        words,
        np.array(family),
        np.array(template),
        np.array(seller),
        arrival,
        np.array(is_original),
    )


def shingle_codes(corpus: Corpus) -> list[np.ndarray]:
    """Word 3-shingle codes of every document (sorted, unique)."""
    return [word_shingles(w, SHINGLE_WORDS, VOCAB) for w in corpus.words]
