"""Each folded self-check gets one stable id at build time (mlsd_docs/self_checks)."""

from __future__ import annotations

from xml.etree import ElementTree

import markdown
import pytest

from mlsd_docs.self_checks import CHECK_ATTRIBUTE, mark_self_checks, slug

EXTENSIONS = ["admonition", "pymdownx.details", "mlsd_docs.self_checks"]


def render(text: str) -> ElementTree.Element:
    html = markdown.markdown(text, extensions=EXTENSIONS)
    return ElementTree.fromstring(f"<div>{html}</div>")


def ids(root: ElementTree.Element) -> list[str]:
    return [e.get(CHECK_ATTRIBUTE) for e in root.iter() if e.get(CHECK_ATTRIBUTE)]


def test_both_kinds_of_self_check_get_an_id_and_nothing_else_does():
    root = render(
        '??? question "Why is `AUC` 0.98 not good?"\n\n    Because.\n\n'
        '!!! question "What is calibration?"\n\n    ??? success "Answer"\n\n'
        "        Probabilities that match frequencies.\n\n"
        '!!! question "A box with no folded answer"\n\n    Text.\n\n'
        '??? example "Show the code"\n\n    Code.\n\n'
        '??? note "Why is AUC 0.98 not good?"\n\n    Not a question block.\n'
    )
    assert ids(root) == ["q-why-is-auc-0-98-not-good", "q-what-is-calibration"]


def test_repeated_questions_on_a_page_stay_unique_and_ids_are_stable():
    text = '??? question "Same?"\n\n    A.\n\n??? question "Same?"\n\n    B.\n'
    assert ids(render(text)) == ["q-same", "q-same-2"]
    assert ids(render(text)) == ids(render(text))


def test_the_slug_keeps_twelve_words_and_drops_accents_and_punctuation():
    words = " ".join(f"w{i}" for i in range(20))
    assert slug(words) == "q-" + "-".join(f"w{i}" for i in range(12))
    assert slug("Café: p99 — déjà?") == "q-cafe-p99-deja"


def test_bad_input_says_what_was_wrong():
    with pytest.raises(ValueError, match="needs words"):
        slug("?!")
    with pytest.raises(TypeError, match="string"):
        slug(3)
    with pytest.raises(TypeError, match="Element"):
        mark_self_checks("<div/>")
