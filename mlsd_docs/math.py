"""Formulas as MathML, made at build time: no script, nothing fetched, sharp in print.

``pymdownx.arithmatex`` (generic mode) finds the formulas: ``\\( ... \\)`` inline, and
``$$ ... $$`` or ``\\[ ... \\]`` on lines of their own for display. This extension turns
each one it marked into MathML with ``latex2mathml``. Browsers draw MathML natively
(Chromium since 109, Firefox and Safari long before), in the text colour, so dark mode
and print need nothing more. A formula the converter cannot read fails the build.

In ``mkdocs.yml``, after ``pymdownx.arithmatex``::

    - pymdownx.arithmatex: {generic: true, inline_syntax: [round]}
    - mlsd_docs.math
"""

from __future__ import annotations

import html
import re
from xml.etree import ElementTree

from latex2mathml.converter import convert
from markdown import Extension
from markdown.treeprocessors import Treeprocessor

ARITHMATEX_CLASS = "arithmatex"
DELIMITERS = {"span": ("\\(", "\\)", "inline"), "div": ("\\[", "\\]", "block")}
# MathML elements and how many children each must have (latex2mathml is lenient: it
# turns \frac{a} into a one-child fraction instead of failing).
ARITY = {
    "mfrac": 2,
    "msub": 2,
    "msup": 2,
    "msubsup": 3,
    "munder": 2,
    "mover": 2,
    "munderover": 3,
    "mroot": 2,
}


def _braces_balance(latex: str) -> bool:
    depth = 0
    for i, char in enumerate(latex):
        escaped = i > 0 and latex[i - 1] == "\\"
        if char == "{" and not escaped:
            depth += 1
        elif char == "}" and not escaped:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _check(latex: str, mathml: str) -> None:
    """Refuse what the converter let through: unknown commands, bad arity, braces."""
    if not _braces_balance(latex):
        raise ValueError(f"unbalanced braces in formula {latex!r}")
    for element in ElementTree.fromstring(mathml).iter():
        if (element.text or "").startswith("\\"):
            raise ValueError(f"unknown command {element.text!r} in formula {latex!r}")
        empty = not (element.text or "").strip() and not len(element)
        if element.tag == "mo" and empty and element.get("fence") != "true":  # \left.
            raise ValueError(f"empty operator in formula {latex!r} (\\operatorname*?)")
        if element.tag in ARITY and len(element) != ARITY[element.tag]:
            raise ValueError(f"incomplete {element.tag} in formula {latex!r}")


# What a token's markup becomes when it is flattened to text: letters stay letters,
# and the spaces latex2mathml writes as <mspace> (\, \: \; \quad \qquad) become the
# Unicode space of that width (thin, medium mathematical, four-per-em, em, two ems).
_SPACES = {
    "0.167em": "\u2009",
    "0.222em": "\u205f",
    "0.278em": "\u2005",
    "1em": "\u2003",
    "2em": "\u2003\u2003",
}
_TEXT_ONLY = {"mi", "mn", "mo", "mtext", "mrow", "mspace"}
_MO_WITH_MARKUP = re.compile(r"<mo\b[^>]*(?<!/)>[^<]*<m")


def _text(element: ElementTree.Element, latex: str) -> str:
    """An element's text as one string, an <mspace> as a space, then its tail."""
    if element.tag not in _TEXT_ONLY:
        raise ValueError(
            f"<{element.tag}> inside an operator name in formula {latex!r}"
        )
    if element.tag == "mspace":
        width = element.get("width", "")
        if width not in _SPACES:
            raise ValueError(f"a {width or 'bare'} space in an operator in {latex!r}")
        inner = _SPACES[width]
    else:
        inner = element.text or ""
    inner += "".join(_text(child, latex) for child in element)
    return inner + (element.tail or "")


def _flatten_operators(mathml: str, latex: str = "") -> str:
    r"""An <mo> is a token: text only. latex2mathml puts markup in one for
    ``\mathop{\mathrm{arg\,max}}`` (an mrow of letters and an mspace), which MathML
    Core does not allow (browsers guess; EPUB's schema refuses it). Its letters become
    the operator's text and its spaces Unicode spaces: ``<mo>arg\u2009max</mo>``.
    Anything but letters and spaces there (``\mathop{x^2}``) is refused."""
    if not _MO_WITH_MARKUP.search(mathml):
        return mathml
    root = ElementTree.fromstring(mathml)
    for mo in root.iter("mo"):
        if len(mo) == 0:
            continue
        text = (mo.text or "") + "".join(_text(child, latex) for child in mo)
        for child in list(mo):
            mo.remove(child)
        mo.text = text
    return ElementTree.tostring(root, encoding="unicode", short_empty_elements=True)


def to_mathml(latex: str, display: str = "inline") -> str:
    """MathML for one LaTeX formula; a ValueError naming it if it is malformed."""
    if not isinstance(latex, str):
        raise TypeError(f"latex must be a string, got {type(latex).__name__}")
    if display not in ("inline", "block"):
        raise ValueError(f"display must be 'inline' or 'block', got {display!r}")
    if not latex.strip():
        raise ValueError("empty formula")
    try:
        mathml = convert(latex.strip(), display=display)
    except Exception as error:  # the converter raises its own exception types
        raise ValueError(f"cannot convert formula {latex!r}: {error}") from error
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    _check(latex, mathml)
    mathml = _flatten_operators(mathml, latex)
    return mathml


def _latex(element: ElementTree.Element) -> tuple[str, str]:
    """The formula arithmatex wrapped in this element, and how to display it."""
    opening, closing, display = DELIMITERS[element.tag]
    text = element.text or ""
    if not (text.startswith(opening) and text.endswith(closing)):
        raise ValueError(f"unexpected arithmatex output: {text!r}")
    body = text[len(opening) : -len(closing)]
    # Display formulas arrive HTML-escaped (arithmatex escapes them), inline ones raw.
    return (html.unescape(body) if display == "block" else body), display


class MathMLTreeprocessor(Treeprocessor):
    """Replace each arithmatex element's TeX with its MathML (stashed as raw HTML)."""

    def run(self, root: ElementTree.Element) -> None:
        for element in root.iter():
            if (
                element.get("class") != ARITHMATEX_CLASS
                or element.tag not in DELIMITERS
            ):
                continue
            latex, display = _latex(element)
            element.set("class", f"math math--{display}")
            element.text = self.md.htmlStash.store(to_mathml(latex, display))


class MathMLExtension(Extension):
    """Python-Markdown extension: ``mlsd_docs.math`` in ``mkdocs.yml``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        if "arithmatex-inline" not in md.inlinePatterns:
            raise ValueError(
                "mlsd_docs.math needs pymdownx.arithmatex listed before it"
            )
        # After inline processing (priority 20), which is where arithmatex marks them.
        md.treeprocessors.register(MathMLTreeprocessor(md), "mlsd_mathml", 6)


def makeExtension(**kwargs) -> MathMLExtension:  # noqa: N802 (Markdown's entry point)
    return MathMLExtension(**kwargs)
