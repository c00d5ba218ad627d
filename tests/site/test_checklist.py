"""The checklist keeps its promise: each link lands on its question, answer folded.

The strict build only proves that an anchor exists. These tests read the Markdown and
check what a reader finds there: the anchor (an explicit heading id, a heading's slug or
an ``<a id>``) is followed at once by a folded question block, the block holds an
answer, and the question asked there is the one the checklist line asks.
"""

from __future__ import annotations

import re

import pytest
from guide import checklist, fences, page_text
from markdown.extensions.toc import slugify

HEADING = re.compile(r"^#{1,6} (?P<title>.*?)\s*(?:\{[^}]*#(?P<id>[\w-]+)[^}]*\})?\s*$")
RAW_ANCHOR = re.compile(r'<a id="(?P<id>[\w-]+)"></a>')
# A folded question (``??? question``), or an open one whose answer is folded inside it
# (``!!! question`` holding a ``??? success``).
QUESTION = re.compile(r'^(?P<kind>\?\?\?\+?|!!!) question "(?P<title>[^"]+)"\s*$')
WORD = re.compile(r"[a-z0-9@.%]+")
MIN_ANSWER_WORDS = 30


def anchors(page: str) -> dict[str, int]:
    """Every anchor of a page outside code fences -> the index of the line holding it.

    Headings without an explicit id get Python-Markdown's slug (MkDocs' default), with
    ``_1``, ``_2`` for repeats, as the ``toc`` extension numbers them.
    """
    lines = page_text(page).splitlines()
    fenced = set()
    for fence in fences(page):
        fenced.update(range(fence.line - 1, fence.end))
    found: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        if i in fenced:
            continue
        if heading := HEADING.match(line):
            anchor = heading["id"]
            if not anchor:
                anchor = slugify(heading["title"], "-")
                if anchor in seen:
                    seen[anchor] += 1
                    anchor = f"{anchor}_{seen[anchor]}"
                else:
                    seen[anchor] = 0
            found[anchor] = i
        for raw in RAW_ANCHOR.finditer(line):
            found[raw["id"]] = i
    return found


def question_after(page: str, line_index: int) -> tuple[re.Match[str], list[str]]:
    """The question block that opens on the first non-blank line after an anchor."""
    lines = page_text(page).splitlines()
    i = line_index + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    opener = QUESTION.match(lines[i]) if i < len(lines) else None
    assert opener, (
        f"{page}: the anchor on line {line_index + 1} is followed by "
        f"{lines[i] if i < len(lines) else 'the end of the page'!r}, "
        "not by a question block"
    )
    body = []
    for line in lines[i + 1 :]:
        if line.strip() and not line.startswith("    "):
            break
        body.append(line)
    return opener, body


def content_words(text: str) -> set[str]:
    words = {w.strip(".") for w in WORD.findall(text.lower())}
    return {w for w in words if len(w) > 3}


ITEMS = checklist()


def test_the_checklist_is_parsed():
    assert len(ITEMS) >= 130


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: f"Q{item.number}")
def test_link_lands_on_its_question_with_the_answer_folded_under_it(item):
    page = item.page
    found = anchors(page)
    assert item.anchor in found, f"{page} has no anchor #{item.anchor}"
    opener, body = question_after(page, found[item.anchor])

    if opener["kind"] == "!!!":
        # The question is open; its answer must be folded inside it.
        folded = [i for i, line in enumerate(body) if line.startswith("    ??? ")]
        assert folded, f"{page}#{item.anchor}: the open question has no folded answer"
        answer = body[folded[0] + 1 :]
    else:
        answer = body
    words = len(" ".join(answer).split())
    assert words >= MIN_ANSWER_WORDS, (
        f"{page}#{item.anchor}: the folded answer has {words} words"
    )

    # The page asks the question the checklist asks (in the same or close words).
    asked = content_words(item.question)
    assert asked, f"Q{item.number} {item.question!r}: no word longer than 3 letters"
    there = content_words(opener["title"])
    shared = len(asked & there) / len(asked)
    assert shared >= 0.5, (
        f"Q{item.number} asks {item.question!r} but #{item.anchor} asks "
        f"{opener['title']!r}"
    )
