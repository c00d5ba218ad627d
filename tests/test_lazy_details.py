"""Closed example blocks ship their body as an inert template; nothing else changes."""

from __future__ import annotations

import re

import markdown
import pytest

from mlsd_docs.lazy_details import TEMPLATE_ATTRIBUTE

EXTENSIONS = ["admonition", "pymdownx.details", "pymdownx.superfences"]
LISTING = "```python\ndef score(x):\n    return 2 * x\n```"


def render(text: str, lazy: bool = True) -> str:
    extensions = EXTENSIONS + (["mlsd_docs.lazy_details"] if lazy else [])
    return markdown.markdown(text, extensions=extensions)


def block(kind: str, marker: str = "???") -> str:
    body = "\n".join("    " + line for line in f"Read it.\n\n{LISTING}".splitlines())
    return f'{marker} {kind} "Show the code"\n\n{body}\n'


def test_a_closed_example_keeps_its_summary_outside_and_its_body_inside():
    html = render(block("example"))
    summary, rest = html.split("</summary>", 1)
    assert "Show the code" in summary
    assert rest.lstrip().startswith(f"<template {TEMPLATE_ATTRIBUTE}")
    template = re.search(r"<template[^>]*>(.*)</template>", rest, re.S)[1]
    assert "<p>Read it.</p>" in template and "<pre" in template


def test_without_the_template_the_markup_is_the_same():
    lazy, eager = render(block("example")), render(block("example"), lazy=False)
    unwrapped = re.sub(r"</?template[^>]*>| data-search-exclude", "", lazy)
    assert re.sub(r"\s+", "", unwrapped) == re.sub(r"\s+", "", eager)


@pytest.mark.parametrize(
    ("kind", "marker"),
    [("example", "???+"), ("success", "???"), ("question", "???"), ("note", "!!!")],
)
def test_open_blocks_and_answers_stay_in_the_page(kind, marker):
    assert "<template" not in render(block(kind, marker))


def test_nested_blocks_are_deferred_with_their_parent_once():
    outer = '??? example "Outer"\n\n' + "\n".join(
        "    " + line for line in block("example").splitlines()
    )
    html = render(outer)
    assert html.count("<template") == 2  # the inner one sits inside the outer one
    assert html.index("Outer") < html.index("<template") < html.index("Show the code")


def test_folded_answers_stay_out_of_the_search_index_but_their_question_does_not():
    html = render(
        '??? question "Why log loss?"\n\n    Because it is proper.\n\n'
        + "\n".join("    " + line for line in LISTING.splitlines())
        + "\n"
    )
    assert "<summary>Why log loss?</summary>" in html  # the question stays searchable
    assert '<p data-search-exclude="">Because it is proper.</p>' in html
    # A listing inside an answer stays a bare block (no <p> with attributes around it).
    assert '<p data-search-exclude=""><div' not in html and "<pre" in html


def test_open_answers_and_other_blocks_are_indexed():
    for source in ('???+ question "Q"\n\n    A.\n', '!!! note "N"\n\n    A.\n'):
        assert "data-search-exclude" not in render(source), source


def test_code_listings_stay_out_of_the_search_index():
    html = render("Prose.\n\n" + LISTING + "\n")
    assert '<div class="highlight" data-search-exclude><pre>' in html
    assert "<p>Prose.</p>" in html  # prose is indexed as before
