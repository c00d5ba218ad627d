"""Explain each abbreviation once a page: keep its first <abbr>, unwrap the others.

The glossary (includes/abbreviations.md) is appended to every page, and the ``abbr``
extension wraps every occurrence of every term: 185 <abbr> on the search-engine page,
22 distinct. Each one is a dotted underline to read past and, with Material's
``content.tooltips``, a tooltip component mounted at page load. Print and style guides
expand a term at its first use; so does this: the first occurrence outside a heading
keeps its tooltip, later ones (and those in headings, which also feed the table of
contents) become plain text.
"""

from __future__ import annotations

from xml.etree import ElementTree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _unwrap(parent: ElementTree.Element, index: int) -> None:
    """Replace parent[index] (an <abbr>) by its text, keeping the text around it."""
    abbr = parent[index]
    if len(abbr):
        raise ValueError("an <abbr> with child elements cannot be unwrapped as text")
    text = (abbr.text or "") + (abbr.tail or "")
    if index == 0:
        parent.text = (parent.text or "") + text
    else:
        previous = parent[index - 1]
        previous.tail = (previous.tail or "") + text
    del parent[index]


def keep_first_abbreviations(root: ElementTree.Element) -> int:
    """Unwrap all <abbr> but each term's first outside headings; return the count."""
    if not isinstance(root, ElementTree.Element):
        raise TypeError(f"root must be an Element, got {type(root).__name__}")
    seen: set[str] = set()
    removed = 0

    def walk(element: ElementTree.Element, in_heading: bool) -> None:
        nonlocal removed
        in_heading = in_heading or element.tag in HEADINGS
        index = 0
        while index < len(element):
            child = element[index]
            if child.tag == "abbr":
                term = (child.text or "").strip()
                if in_heading or term in seen:
                    _unwrap(element, index)
                    removed += 1
                    continue  # the next child has moved into this index
                seen.add(term)
            else:
                walk(child, in_heading)
            index += 1

    walk(root, False)
    return removed


class FirstAbbreviationTreeprocessor(Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        keep_first_abbreviations(root)


class FirstAbbreviationExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Markdown's API name)
        # After the abbr extension's treeprocessor (priority 7) has wrapped the terms.
        md.treeprocessors.register(
            FirstAbbreviationTreeprocessor(md), "mlsd_first_abbr", 6.5
        )


def makeExtension(**kwargs):  # noqa: N802 (Markdown's API name)
    return FirstAbbreviationExtension(**kwargs)
