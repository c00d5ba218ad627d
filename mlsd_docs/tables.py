"""Wrap tables for sideways scrolling at build time, not in the reader's browser.

Material makes a wide table scroll inside the text column by wrapping each
``table:not([class])`` in ``div.md-typeset__scrollwrap > div.md-typeset__table`` when
the page loads: it takes the table out of the document and puts it back inside the
wrappers. Every such move invalidates the style of the whole page, and on our longest
pages (a dozen tables) the moves cost 37-46 ms of full restyles inside the long task
Lighthouse blames for blocking time.

This extension writes the same wrappers into the HTML and marks the table with
``TABLE_CLASS``, so Material's selector no longer matches and the browser has nothing
to move. ``docs/assets/stylesheets/extra.css`` gives ``table.mlsd-table`` the rules
Material gives ``table:not([class])``. Tables in folded listings are wrapped as well
(Material never saw those: they are mounted after the page loads).
"""

from __future__ import annotations

from xml.etree import ElementTree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

TABLE_CLASS = "mlsd-table"
SCROLLWRAP_CLASS = "md-typeset__scrollwrap"
INNER_CLASS = "md-typeset__table"


def wrap_tables(root: ElementTree.Element) -> int:
    """Wrap each class-less <table> under root in Material's two divs; count them."""
    if not isinstance(root, ElementTree.Element):
        raise TypeError(f"root must be an Element, got {type(root).__name__}")
    wrapped = 0
    # Collect first: the tree changes under the loop otherwise.
    parents = [
        (parent, child)
        for parent in root.iter()
        for child in parent
        if child.tag == "table" and not child.get("class")
    ]
    for parent, table in parents:
        index = list(parent).index(table)
        outer = ElementTree.Element("div", {"class": SCROLLWRAP_CLASS})
        inner = ElementTree.SubElement(outer, "div", {"class": INNER_CLASS})
        outer.tail, table.tail = table.tail, None
        parent.remove(table)
        table.set("class", TABLE_CLASS)
        inner.append(table)
        parent.insert(index, outer)
        wrapped += 1
    return wrapped


class TableWrapTreeprocessor(Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        wrap_tables(root)


class TableWrapExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 (Markdown's API name)
        # After inline processing (20) and prettify (10), before the folds become
        # inert templates (lazy_details, 5), so tables in folded listings are wrapped.
        md.treeprocessors.register(TableWrapTreeprocessor(md), "mlsd_table_wrap", 8)


def makeExtension(**kwargs) -> TableWrapExtension:  # noqa: N802 (Markdown's entry point)
    return TableWrapExtension(**kwargs)
