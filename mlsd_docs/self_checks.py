"""Give every folded self-check a stable id at build time, one rule for every reader.

A self-check is a question the reader answers before unfolding: a ``??? question``
block (``details.question``), or a ``!!! question`` admonition whose answer is a folded
``??? success`` block. Progress in the browser (``assets/javascripts/progress.js``),
the Anki deck and its CSV (``mlsd_docs/cards.py``) all key a self-check by the
``data-mlsd-check`` attribute this extension writes on the block: ``q-`` and a slug of
the question's words, unique within the page (a repeat gets ``-2``, ``-3``...). The id
is computed once, here, so the deck, the CSV and the saved progress always agree; it
changes only when the question's wording does.
"""

from __future__ import annotations

import re
import unicodedata
from xml.etree import ElementTree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

CHECK_ATTRIBUTE = "data-mlsd-check"
MAX_SLUG_WORDS = 12
# Placeholders Python-Markdown leaves for stashed HTML and escapes: \x02 ... \x03.
_STASHED = re.compile("\x02[^\x03]*\x03")


def _classes(element: ElementTree.Element) -> set[str]:
    return set((element.get("class") or "").split())


def is_self_check(element: ElementTree.Element) -> bool:
    """A ``??? question`` fold, or a ``!!! question`` box holding a folded answer."""
    if not isinstance(element, ElementTree.Element):
        raise TypeError(f"element must be an Element, got {type(element).__name__}")
    classes = _classes(element)
    if "question" not in classes:
        return False
    if element.tag == "details":
        return len(element) > 0 and element[0].tag == "summary"
    return (
        element.tag == "div"
        and "admonition" in classes
        and any(
            child.tag == "details" and "success" in _classes(child) for child in element
        )
    )


def question_text(element: ElementTree.Element) -> str:
    """The question as the reader sees it: the summary, or the admonition's title."""
    if not is_self_check(element):
        raise ValueError("not a self-check (a ??? question or !!! question block)")
    if element.tag == "details":
        title = element[0]
    else:
        title = next((c for c in element if "admonition-title" in _classes(c)), element)
    return " ".join(_STASHED.sub("", "".join(title.itertext())).split())


def slug(text: str) -> str:
    """``q-`` and the first MAX_SLUG_WORDS words, lower-case ASCII, hyphenated."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    if not words:
        raise ValueError(f"a self-check needs words in its question, got {text!r}")
    return "q-" + "-".join(words[:MAX_SLUG_WORDS])


def mark_self_checks(root: ElementTree.Element) -> list[str]:
    """Write a unique ``data-mlsd-check`` on each self-check under root; return them."""
    if not isinstance(root, ElementTree.Element):
        raise TypeError(f"root must be an Element, got {type(root).__name__}")
    seen: dict[str, int] = {}
    ids = []
    for element in root.iter():
        if not is_self_check(element):
            continue
        base = slug(question_text(element))
        seen[base] = seen.get(base, 0) + 1
        check_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        element.set(CHECK_ATTRIBUTE, check_id)
        ids.append(check_id)
    return ids


class SelfCheckTreeprocessor(Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        mark_self_checks(root)


class SelfCheckExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 (Markdown's API name)
        # After inline processing (20), so the question's text is final.
        md.treeprocessors.register(SelfCheckTreeprocessor(md), "mlsd_self_checks", 9)


def makeExtension(**kwargs) -> SelfCheckExtension:  # noqa: N802 (Markdown's entry point)
    return SelfCheckExtension(**kwargs)
