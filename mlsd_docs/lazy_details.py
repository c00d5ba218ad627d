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
"""

from __future__ import annotations

from xml.etree import ElementTree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

DEFERRED_CLASS = "example"
TEMPLATE_ATTRIBUTE = "data-mlsd-lazy"


def is_deferred(element: ElementTree.Element) -> bool:
    """A closed details block of the "example" kind with a summary."""
    return (
        element.tag == "details"
        and DEFERRED_CLASS in (element.get("class") or "").split()
        and element.get("open") is None
        and len(element) > 1
        and element[0].tag == "summary"
    )


class LazyDetailsTreeprocessor(Treeprocessor):
    """Wrap everything after the summary of each deferred block in a template."""

    def run(self, root: ElementTree.Element) -> None:
        for details in list(root.iter("details")):
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


class LazyDetailsExtension(Extension):
    """Python-Markdown extension: ``mlsd_docs.lazy_details`` in ``mkdocs.yml``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # After inline processing (priority 20), so the body is complete when moved.
        md.treeprocessors.register(LazyDetailsTreeprocessor(md), "mlsd_lazy_details", 5)


def makeExtension(**kwargs) -> LazyDetailsExtension:  # noqa: N802 (Markdown's entry point)
    return LazyDetailsExtension(**kwargs)
