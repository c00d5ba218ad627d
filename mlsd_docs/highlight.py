"""Cheaper syntax highlighting: colour what a reader scans for, not every token.

Pygments gives every name, bracket, comma and space of a listing its own ``<span>``;
on our longest pages those spans were three quarters of the DOM, and styling them was
most of the main-thread time Lighthouse blamed. This filter turns plain names,
punctuation, operators and whitespace into plain text, which Pygments then merges into
the surrounding run without a span. Keywords, strings, numbers, comments, function
and class names, builtins and decorators keep their colours.

It is a standard Pygments filter, registered under the entry point
``pygments.filters`` as ``plain-names`` and switched on for Python in ``mkdocs.yml``
(``pymdownx.highlight``'s ``extend_pygments_lang`` passes lexer options through).
"""

from __future__ import annotations

from collections.abc import Iterator

from pygments.filter import Filter
from pygments.token import Name, Operator, Punctuation, Text, Whitespace, _TokenType

# Token types shown as plain text. Exact types only: Name.Function, Name.Builtin and
# Operator.Word ("and", "in", "not") are subtypes and keep their colours.
PLAIN = frozenset({Name, Punctuation, Operator, Whitespace, Text.Whitespace})


class PlainNamesFilter(Filter):
    """Re-type plain names, punctuation, operators and whitespace as Text."""

    def filter(
        self, lexer, stream: Iterator[tuple[_TokenType, str]]
    ) -> Iterator[tuple[_TokenType, str]]:
        for token_type, value in stream:
            yield (Text if token_type in PLAIN else token_type), value
