"""Scoring the video-search miniature: each retriever, fusion and ablation, per segment.

Every system answers the same queries over the same catalogue; NDCG@10 and
recall@50 are computed per query with the shared ranking metrics and averaged per
query kind (navigational, descriptive, spoken, visual), for each of several seeded
worlds. Comparisons are paired by world, with a t-interval over the worlds' means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from snippets.common.fusion import reciprocal_rank_fusion
from snippets.common.stats import is_tie, paired_interval
from snippets.concepts.ranking_metrics import ndcg_at_k, recall_at_k
from snippets.problems.video_search_world import (
    ENGLISH,
    FIELDS,
    KINDS,
    N_FACETS,
    TITLE_STYLES,
    World,
    exact_videos,
    grades,
    lexical_scores,
    make_world,
    multimodal_scores,
    top_ids,
)

DEPTH, NDCG_AT, RRF_K = 50, 10, 60
# A transcript holds ~34 distinct words here; the estimate's index keeps 50 of
# ~400 (an eighth): keep 4.
KEYPHRASES = 4
WITHOUT_TRANSCRIPTS = ("title", "metadata", "ocr")
SYSTEMS = (
    "BM25, no transcripts",
    "BM25, transcript keyphrases",
    "BM25",
    "BM25, error-free transcripts",
    "multimodal embedding",
    "RRF",
    "RRF, routed",
    "RRF, routed, no transcripts",
)
# Where routed fusion's recall gain and top-10 loss on descriptive queries come
# from: which of the asked-for videos each list finds, and what fills its top 10.
PROBES = (
    "recall@50, title holds a query word",
    "recall@50, English, title holds none",
    "recall@50, other language",
    "top 10 from the topic's other facets",
)
PROBED = ("BM25", "RRF, routed")
K_SWEEP = (1, 60, 600)  # the RRF constant, on routed fusion
METRICS = ("ndcg", "recall")
COMPARISONS = (  # (system, minus system, metric, query kind)
    ("multimodal embedding", "BM25", "ndcg", "navigational"),
    ("multimodal embedding", "BM25", "ndcg", "descriptive"),
    ("multimodal embedding", "BM25", "ndcg", "spoken"),
    ("multimodal embedding", "BM25", "ndcg", "visual"),
    ("RRF, routed", "BM25", "ndcg", "descriptive"),
    ("RRF, routed", "BM25", "ndcg", "spoken"),
    ("RRF, routed", "BM25", "ndcg", "visual"),
    ("RRF, routed", "BM25", "recall", "descriptive"),
    ("RRF, routed", "BM25", "recall", "visual"),
    ("RRF, routed", "multimodal embedding", "ndcg", "descriptive"),
    ("RRF, routed", "multimodal embedding", "ndcg", "spoken"),
    ("RRF, routed", "multimodal embedding", "ndcg", "visual"),
    ("RRF, routed", "BM25", "ndcg", "navigational"),
    ("RRF", "RRF, routed", "ndcg", "navigational"),
    ("BM25", "BM25, no transcripts", "ndcg", "descriptive"),
    ("BM25", "BM25, no transcripts", "ndcg", "spoken"),
    ("BM25, transcript keyphrases", "BM25, no transcripts", "ndcg", "spoken"),
    ("BM25, transcript keyphrases", "BM25", "ndcg", "spoken"),
    ("RRF, routed", "RRF, routed, no transcripts", "ndcg", "spoken"),
    ("BM25, error-free transcripts", "BM25", "ndcg", "spoken"),
    ("BM25, error-free transcripts", "BM25", "recall", "spoken"),
    ("RRF k=1", "RRF, routed", "ndcg", "descriptive"),
    ("RRF k=600", "RRF, routed", "ndcg", "descriptive"),
)


# --8<-- [start:fuse]
def is_navigational(query_tokens: Sequence[int], channel_names: range) -> bool:
    """Query understanding at its smallest: every word is a known channel name."""
    words = [t for t in query_tokens if t >= 0]
    return bool(words) and all(t in channel_names for t in words)


def fuse(
    lexical: list[int], semantic: list[int], k: int = RRF_K, navigational=False
) -> list[int]:
    """Reciprocal rank fusion of the two lists; a navigational query keeps BM25's.

    The text tower maps a name it never learned to an arbitrary direction, so its
    list for a channel's name is noise that plain fusion would mix in.
    """
    if navigational:
        return list(lexical[:DEPTH])
    return list(reciprocal_rank_fusion([lexical, semantic], k=k))[:DEPTH]
    # --8<-- [end:fuse]


@dataclass(frozen=True)
class WorldResult:
    """One world's means: (system, metric, kind) -> value, and the world's facts."""

    means: dict[tuple[str, str, str], float]
    facts: dict[str, float]


def retrieve(world: World, clean: World) -> dict[str, list[list[int]]]:
    """Every system's ranked list for every query of one world."""
    lists = {
        "BM25": top_ids(lexical_scores(world, tuple(FIELDS)), DEPTH, positive=True),
        "BM25, no transcripts": top_ids(
            lexical_scores(world, WITHOUT_TRANSCRIPTS), DEPTH, positive=True
        ),
        "BM25, transcript keyphrases": top_ids(
            lexical_scores(world, tuple(FIELDS), KEYPHRASES), DEPTH, positive=True
        ),
        "BM25, error-free transcripts": top_ids(
            lexical_scores(clean, tuple(FIELDS)), DEPTH, positive=True
        ),
        "multimodal embedding": top_ids(multimodal_scores(world), DEPTH),
    }
    vocab = world.vocabulary
    names = range(vocab.offset["name", None], vocab.offset["clickbait", None])
    nav = [is_navigational(q, names) for q in world.query_tokens.tolist()]
    pairs = list(zip(lists["BM25"], lists["multimodal embedding"], nav, strict=True))
    lists["RRF"] = [fuse(lex, sem) for lex, sem, _ in pairs]
    for k in K_SWEEP:
        name = "RRF, routed" if k == RRF_K else f"RRF k={k}"
        lists[name] = [fuse(lex, sem, k, is_nav) for lex, sem, is_nav in pairs]
    no_asr = zip(
        lists["BM25, no transcripts"], lists["multimodal embedding"], nav, strict=True
    )
    lists["RRF, routed, no transcripts"] = [
        fuse(lex, sem, RRF_K, n) for lex, sem, n in no_asr
    ]
    return lists


def world_facts(world: World, clean: World) -> dict[str, float]:
    """What the retrievers are up against in this world, as shares of videos."""
    facts = {
        f"title {style}": float(np.mean(world.title_style == i))
        for i, style in enumerate(TITLE_STYLES)
    }
    facts["other language"] = float(np.mean(world.language == 1))
    facts["speech"] = float(np.mean(world.has_speech))
    start, end = FIELDS["transcript"]
    heard, said = world.tokens[:, start:end], clean.tokens[:, start:end]
    facts["misheard"] = float(np.mean(heard[said >= 0] != said[said >= 0]))
    said_sorted = np.sort(heard[world.has_speech], axis=1)  # a word's run, adjacent
    new_word = np.diff(said_sorted, axis=1) != 0
    distinct = new_word.sum(axis=1) + 1  # every slot of a spoken transcript is filled
    facts["distinct words a transcript"] = float(np.mean(distinct))
    cells = [q for q in range(len(world.query_kind)) if world.query_kind[q] > 0]
    facts["videos a cell"] = float(
        np.mean([len(exact_videos(world, q)) for q in cells])
    )
    title = world.tokens[:, slice(*FIELDS["title"])]
    for i, kind in enumerate(KINDS):
        shares = []
        for q in np.flatnonzero(world.query_kind == i):
            ids = sorted(exact_videos(world, q))
            asked = world.query_tokens[q][world.query_tokens[q] >= 0]
            shares.append(np.isin(title[ids], asked).any(axis=1).mean())
        facts[f"title holds a query word, {kind}"] = float(np.mean(shares))
    return facts


def score_world(seed: int, queries_per_kind: int = 60) -> WorldResult:
    """NDCG@10 and recall@50 of every system, averaged per query kind."""
    world = make_world(queries_per_kind=queries_per_kind, seed=seed)
    clean = make_world(queries_per_kind=queries_per_kind, seed=seed, word_error_rate=0)
    lists = retrieve(world, clean)
    judged = [grades(world, q) for q in range(len(world.query_kind))]
    exact = [exact_videos(world, q) for q in range(len(world.query_kind))]
    means = {}
    for system, ranked in lists.items():
        ndcg = [ndcg_at_k(r, g, NDCG_AT) for r, g in zip(ranked, judged, strict=True)]
        recall = [recall_at_k(r, e, DEPTH) for r, e in zip(ranked, exact, strict=True)]
        for i, kind in enumerate(KINDS):
            rows = world.query_kind == i
            means[system, "ndcg", kind] = float(np.mean(np.array(ndcg)[rows]))
            means[system, "recall", kind] = float(np.mean(np.array(recall)[rows]))
    means |= probe_descriptive(world, lists)
    return WorldResult(means, world_facts(world, clean))


def probe_descriptive(world: World, lists: dict) -> dict[tuple[str, str, str], float]:
    """Descriptive queries: recall@50 of three groups of asked-for videos (pooled
    over queries), and the share of the top 10 held by the topic's other facets."""
    title = world.tokens[:, slice(*FIELDS["title"])]
    found = {(s, p): [0, 0] for s in PROBED for p in PROBES[:3]}  # hits, asked
    neighbours = {system: [] for system in PROBED}
    for q in np.flatnonzero(world.query_kind == KINDS.index("descriptive")):
        asked = world.query_tokens[q][world.query_tokens[q] >= 0]
        exact = np.array(sorted(exact_videos(world, q)))
        titled = np.isin(title[exact], asked).any(axis=1)
        other = world.language[exact] != ENGLISH
        groups = (exact[titled], exact[~titled & ~other], exact[other])
        topic, facet = divmod(int(world.query_target[q]), N_FACETS)
        for system in PROBED:
            ranked = lists[system][q]
            for probe, group in zip(PROBES[:3], groups, strict=True):
                found[system, probe][0] += int(np.isin(group, ranked[:DEPTH]).sum())
                found[system, probe][1] += group.size
            top = np.array(ranked[:NDCG_AT], dtype=int)
            other_facet = (world.topic[top] == topic) & (world.facet[top] != facet)
            neighbours[system].append(other_facet.mean() if top.size else 0.0)
    probed = {(s, p, "descriptive"): h / n for (s, p), (h, n) in found.items()}
    for system, shares in neighbours.items():
        probed[system, PROBES[3], "descriptive"] = float(np.mean(shares))
    return probed


def compare(
    results: Sequence[WorldResult], comparisons: Sequence[tuple] = COMPARISONS
) -> list[tuple]:
    """Each comparison's paired mean difference over worlds, interval and tie flag."""
    rows = []
    for system, baseline, metric, kind in comparisons:
        diffs = [
            r.means[system, metric, kind] - r.means[baseline, metric, kind]
            for r in results
        ]
        mean, low, high = paired_interval(diffs)
        rows.append(
            (system, baseline, metric, kind, mean, low, high, is_tie(low, high))
        )
    return rows
