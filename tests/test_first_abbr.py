"""Each abbreviation keeps its tooltip at its first use on a page, and only there."""

from __future__ import annotations

from xml.etree import ElementTree

import markdown
import pytest

from mlsd_docs.first_abbr import keep_first_abbreviations

GLOSSARY = "\n\n*[CTR]: click-through rate\n*[ANN]: approximate nearest neighbours"


def render(text: str) -> str:
    return markdown.markdown(
        text + GLOSSARY, extensions=["abbr", "mlsd_docs.first_abbr", "admonition"]
    )


def test_only_the_first_use_outside_headings_keeps_its_abbr():
    html = render(
        "# CTR models\n\nCTR first, then CTR again.\n\n"
        "- an ANN index\n- ANN and CTR\n\n## ANN at scale\n\nANN here."
    )
    assert html.count("<abbr") == 2
    assert html.count('<abbr title="click-through rate">CTR</abbr>') == 1
    assert "<h1>CTR models</h1>" in html, "headings keep plain text"
    assert "<p><abbr" in html and "then CTR again." in html
    assert "<li>an <abbr" in html and "<li>ANN and CTR</li>" in html
    # Every word survives, in order.
    plain = ElementTree.fromstring(f"<div>{html}</div>")
    words = " ".join("".join(plain.itertext()).split())
    assert words == (
        "CTR models CTR first, then CTR again. an ANN index ANN and CTR "
        "ANN at scale ANN here."
    )


def test_unwrapping_keeps_text_between_neighbours():
    root = ElementTree.fromstring(
        '<div><p>a <abbr title="x">X</abbr> b <abbr title="x">X</abbr> c '
        '<em>d</em> <abbr title="x">X</abbr> e</p></div>'
    )
    assert keep_first_abbreviations(root) == 2
    text = ElementTree.tostring(root, encoding="unicode")
    assert text == '<div><p>a <abbr title="x">X</abbr> b X c <em>d</em> X e</p></div>'


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="Element"):
        keep_first_abbreviations("<p>CTR</p>")
