"""Tables leave the build wrapped for scrolling, so the theme has none to move."""

from __future__ import annotations

from xml.etree import ElementTree

import markdown
import pytest

from mlsd_docs.tables import INNER_CLASS, SCROLLWRAP_CLASS, TABLE_CLASS, wrap_tables

TABLE = "| a | b |\n|---|---|\n| 1 | 2 |\n"


def render(text: str) -> ElementTree.Element:
    extensions = ["tables", "admonition", "pymdownx.details", "mlsd_docs.tables"]
    html = markdown.markdown(text, extensions=extensions)
    return ElementTree.fromstring(f"<div>{html}</div>")


def test_every_table_is_wrapped_once_in_materials_two_divs():
    folded = '??? note "Folded"\n\n    ' + TABLE.replace("\n", "\n    ")
    root = render(f"Before.\n\n{TABLE}\nBetween.\n\n{TABLE}\n{folded}")
    tables = root.findall(".//table")
    assert len(tables) == 3
    parents = {child: parent for parent in root.iter() for child in parent}
    for table in tables:
        assert table.get("class") == TABLE_CLASS
        inner = parents[table]
        outer = parents[inner]
        assert (inner.tag, inner.get("class")) == ("div", INNER_CLASS)
        assert (outer.tag, outer.get("class")) == ("div", SCROLLWRAP_CLASS)
        assert list(inner) == [table] and list(outer) == [inner]
        assert outer.get("class") not in (parents[outer].get("class") or "")
    text = " ".join("".join(root.itertext()).split())
    assert text.startswith("Before. a b 1 2 Between. a b 1 2 Folded a b 1 2")


def test_text_after_a_table_stays_after_its_wrapper():
    root = ElementTree.fromstring(
        "<div><table><tr><td>x</td></tr></table>tail<p>p</p></div>"
    )
    assert wrap_tables(root) == 1
    html = ElementTree.tostring(root, encoding="unicode")
    assert html == (
        f'<div><div class="{SCROLLWRAP_CLASS}"><div class="{INNER_CLASS}">'
        f'<table class="{TABLE_CLASS}"><tr><td>x</td></tr></table></div></div>tail'
        "<p>p</p></div>"
    )


def test_tables_with_a_class_and_second_runs_are_left_alone():
    root = ElementTree.fromstring('<div><table class="other"/><table/></div>')
    assert wrap_tables(root) == 1
    assert wrap_tables(root) == 0, "a wrapped table has a class: not wrapped twice"
    assert root[0].get("class") == "other"


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="Element"):
        wrap_tables("<table/>")
