"""Cheaper syntax highlighting: the colours a reader scans for, in the fewest spans.

Pygments gives every name, bracket, comma and space of a listing its own ``<span>``;
on our longest pages those spans were three quarters of the DOM, and styling them was
most of the main-thread time Lighthouse blamed. This filter does two things:

1. **Plain names, punctuation, operators and whitespace become plain text** (a
   deliberate change: Material greys punctuation and operators slightly). Keywords,
   strings, numbers, comments, function and class names, builtins and decorators keep
   their colours.
2. **Token types that Material paints the same colour become one type**, so Pygments'
   HTML formatter merges neighbours into one span. An f-string was one span per piece
   (prefix, text, each brace); it is now one span per run of string text. No character
   changes colour: ``tests/test_highlight.py`` checks every character against
   Material's own stylesheet.

It is a standard Pygments filter, registered under the entry point
``pygments.filters`` as ``plain-names`` and switched on for Python in ``mkdocs.yml``
(``pymdownx.highlight``'s ``extend_pygments_lang`` passes lexer options through).
"""

from __future__ import annotations

from collections.abc import Iterator

from pygments.filter import Filter
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
    _TokenType,
)

# Shown as plain text on purpose (Material greys punctuation and operators).
# Exact types only: Name.Function, Name.Builtin and Operator.Word ("and", "in", "not")
# are subtypes and keep their colours.
PLAIN = frozenset({Name, Punctuation, Operator, Whitespace, Text.Whitespace})

# Token types Material draws in the code's own colour: plain already, so no span.
SAME_AS_TEXT = frozenset({Keyword.Constant, String.Affix, Name.Function.Magic})

# Material's colour groups (main.css, ``.highlight .<class>`` rules): every member is
# painted like its group's first type, so it becomes that type.
SAME_COLOUR: tuple[tuple[_TokenType, ...], ...] = (
    (
        String,
        String.Single,
        String.Double,
        String.Backtick,
        String.Char,
        String.Interpol,
        String.Symbol,
    ),
    (
        Keyword,
        Keyword.Declaration,
        Keyword.Namespace,
        Keyword.Pseudo,
        Keyword.Reserved,
        Keyword.Type,
    ),
    (
        Number,
        Number.Bin,
        Number.Float,
        Number.Hex,
        Number.Integer,
        Number.Oct,
        Number.Integer.Long,
    ),
    (Name.Function, Name.Class, Name.Exception, Name.Namespace),
    (Name.Builtin, Name.Builtin.Pseudo, Name.Constant),
    (
        Comment,
        Comment.Single,
        Comment.Hashbang,
        Comment.Multiline,
        Comment.Special,
        String.Doc,
    ),
)

CANONICAL: dict[_TokenType, _TokenType] = {
    **{t: Text for t in PLAIN | SAME_AS_TEXT},
    **{member: group[0] for group in SAME_COLOUR for member in group},
}


def _is_gap(token_type: _TokenType, value: str) -> bool:
    """Spaces inside one line: their colour never shows, so they may join a span."""
    return token_type is Text and value.strip(" \t") == "" and value != ""


class PlainNamesFilter(Filter):
    """Re-type tokens to as few colour groups as Material draws, merging neighbours.

    A run of spaces between two tokens of the same group takes that group, so
    ``is not`` or ``"a" "b"`` become one span. Line breaks are left alone (the HTML
    formatter ends every span at a line end anyway).
    """

    def filter(
        self, lexer, stream: Iterator[tuple[_TokenType, str]]
    ) -> Iterator[tuple[_TokenType, str]]:
        previous: _TokenType | None = None
        gap: list[str] = []  # spaces seen since the last coloured or plain token
        for token_type, value in stream:
            token_type = CANONICAL.get(token_type, token_type)
            if _is_gap(token_type, value):
                gap.append(value)
                continue
            if gap:
                joined = "".join(gap)
                yield (token_type if token_type is previous else Text), joined
                gap = []
            yield token_type, value
            previous = token_type
        if gap:
            yield Text, "".join(gap)
