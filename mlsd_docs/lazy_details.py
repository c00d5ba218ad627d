"""Folded listings cost nothing until opened: their body is an inert ``<template>``.

A closed ``??? example`` block holds a long listing (the rubric folds every listing over
25 lines). Browsers parse such a body into live DOM anyway, and Material's scripts
visit every code block on load and restyle the whole document several times while it
starts (the palette switch, the ``js`` class): on our longest pages the folded code was
half the DOM and most of the main-thread time Lighthouse blamed. Inside ``<template>``
the same markup is parsed but inert: no styles, no layout, invisible to scripts.

``docs/assets/javascripts/lazy-details.js`` moves the body into the page the first time
the block opens (and for every block before printing), adding Material's copy button to
each listing. The HTML still contains every line, so the search index and the page
contract tests see the code as before.

Only collapsed ``example`` blocks are deferred: answers (``??? success``) and summaries
stay in the DOM so that find-in-page reaches them.

Code listings stay out of the search index too (a postprocessor marks every
highlighted block): they were 45% of the index's text, and a reader searching "position
bias" wants the page that explains it, not a variable name.

Folded answers (closed ``question`` and ``success`` blocks) stay in the page but out of
the search index (``data-search-exclude`` on their body, which Material's search plugin
honours): a search for a question finds its page without the preview giving the answer
away. Their summaries, the questions themselves, stay searchable.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

from markdown import Extension
from markdown.postprocessors import Postprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX

DEFERRED_CLASS = "example"
ANSWER_CLASSES = frozenset({"question", "success"})
TEMPLATE_ATTRIBUTE = "data-mlsd-lazy"
SEARCH_EXCLUDE = "data-search-exclude"


def _closed_fold(element: ElementTree.Element, classes: frozenset[str]) -> bool:
    """A closed details block with a summary, of one of these kinds."""
    return (
        element.tag == "details"
        and bool(classes & set((element.get("class") or "").split()))
        and element.get("open") is None
        and len(element) > 1
        and element[0].tag == "summary"
    )


def is_deferred(element: ElementTree.Element) -> bool:
    """A closed details block of the "example" kind: a folded listing."""
    return _closed_fold(element, frozenset({DEFERRED_CLASS}))


def is_folded_answer(element: ElementTree.Element) -> bool:
    """A closed question or answer block: its body must not reach the search index."""
    return _closed_fold(element, ANSWER_CLASSES)


def _holds_only_raw_html(element: ElementTree.Element) -> bool:
    """A paragraph that is one stashed block (a listing): Markdown swaps the whole
    ``<p>placeholder</p>`` for the block only when the tag has no attributes."""
    text = (element.text or "").strip()
    return (
        element.tag == "p"
        and len(element) == 0
        and text.startswith(STX)
        and text.endswith(ETX)
        and text.count(STX) == 1
    )


class LazyDetailsTreeprocessor(Treeprocessor):
    """Wrap everything after the summary of each deferred block in a template."""

    def run(self, root: ElementTree.Element) -> None:
        for details in list(root.iter("details")):
            if is_folded_answer(details):
                for child in list(details)[1:]:
                    if not _holds_only_raw_html(child):
                        child.set(SEARCH_EXCLUDE, "")
            if not is_deferred(details):
                continue
            body = list(details)[1:]
            template = ElementTree.Element("template", {TEMPLATE_ATTRIBUTE: ""})
            template.text = details[0].tail
            details[0].tail = None
            for child in body:
                details.remove(child)
                template.append(child)
            details.append(template)


_HIGHLIGHT_BLOCK = re.compile(r'<div class="(language-[\w-]+ )?highlight">')


class CodeOutOfSearchPostprocessor(Postprocessor):
    """Add data-search-exclude to every highlighted code block of the page."""

    def run(self, text: str) -> str:
        return _HIGHLIGHT_BLOCK.sub(
            lambda m: f'<div class="{m[1] or ""}highlight" {SEARCH_EXCLUDE}>', text
        )


class LazyDetailsExtension(Extension):
    """Python-Markdown extension: ``mlsd_docs.lazy_details`` in ``mkdocs.yml``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # After inline processing (priority 20), so the body is complete when moved.
        md.treeprocessors.register(LazyDetailsTreeprocessor(md), "mlsd_lazy_details", 5)
        # After raw HTML (the stashed listings) is back in place (priority 30).
        md.postprocessors.register(
            CodeOutOfSearchPostprocessor(md), "mlsd_code_out_of_search", 5
        )


def makeExtension(**kwargs) -> LazyDetailsExtension:  # noqa: N802 (Markdown's entry point)
    return LazyDetailsExtension(**kwargs)
