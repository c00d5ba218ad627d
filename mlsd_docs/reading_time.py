""" "About N minutes to read" under each page title, counted from the prose.

Words are counted in the page's text, leaving out code listings, diagrams and formulas
(a reader studies those at their own pace), and divided by 238 words a minute, the
average silent reading rate of adults for English non-fiction in Brysbaert's
meta-analysis of 190 studies (Journal of Memory and Language 109, 2019,
https://doi.org/10.1016/j.jml.2019.104047). Studying takes longer than reading; the
number says how long the page is, not how long it takes to learn.

The line is excluded from search (``data-search-exclude``) and from print.
"""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX

WORDS_PER_MINUTE = 238
SKIPPED_TAGS = frozenset({"pre", "code", "svg", "math", "script", "style", "template"})
PLACEHOLDER = re.compile(f"{STX}[^{ETX}]*{ETX}")  # stashed raw HTML: listings, diagrams
WORD = re.compile(r"[^\W_][\w'’-]*")


def count_words(root: ElementTree.Element) -> int:
    """Words of prose under root: code, diagrams and stashed HTML left out."""
    if not isinstance(root, ElementTree.Element):
        raise TypeError(f"root must be an Element, got {type(root).__name__}")

    def walk(element: ElementTree.Element) -> int:
        words = 0
        if element.tag not in SKIPPED_TAGS:
            words += len(WORD.findall(PLACEHOLDER.sub(" ", element.text or "")))
            for child in element:
                words += walk(child)
        words += len(WORD.findall(PLACEHOLDER.sub(" ", element.tail or "")))
        return words

    return walk(root) - len(WORD.findall(PLACEHOLDER.sub(" ", root.tail or "")))


def reading_minutes(words: int) -> int:
    """Minutes to read this many words at 238 a minute, rounded up, at least 1."""
    if isinstance(words, bool) or not isinstance(words, int):
        raise TypeError(f"words must be an int, got {type(words).__name__}")
    if words < 0:
        raise ValueError(f"words must be >= 0, got {words}")
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


class ReadingTimeTreeprocessor(Treeprocessor):
    """Insert the reading time right after the page's first h1."""

    def run(self, root: ElementTree.Element) -> None:
        title = next(root.iter("h1"), None)
        if title is None or title not in list(root):
            return
        minutes = reading_minutes(count_words(root))
        line = ElementTree.Element(
            "p", {"class": "mlsd-reading-time", "data-search-exclude": ""}
        )
        line.text = f"About {minutes} minute{'s' if minutes > 1 else ''} to read"
        line.tail = title.tail
        title.tail = "\n"
        root.insert(list(root).index(title) + 1, line)


class ReadingTimeExtension(Extension):
    """Python-Markdown extension: ``mlsd_docs.reading_time`` in ``mkdocs.yml``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # Last among tree processors that change text (inline is 20), before folding.
        md.treeprocessors.register(ReadingTimeTreeprocessor(md), "mlsd_reading_time", 7)


def makeExtension(**kwargs) -> ReadingTimeExtension:  # noqa: N802 (Markdown's entry point)
    return ReadingTimeExtension(**kwargs)
