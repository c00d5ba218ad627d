"""The highlighting filter: fewer spans, the same text, the colours that matter kept."""

from __future__ import annotations

import re

from pygments import highlight
from pygments.filters import get_filter_by_name
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from mlsd_docs.highlight import PlainNamesFilter

CODE = '''
@dataclass
class Budget:
    """Milliseconds left."""

    def remaining(self, stages: list[float], total_ms: float = 200.0) -> float:
        return total_ms - sum(stages)  # what the ranker may spend
'''


def render(filtered: bool) -> str:
    lexer = PythonLexer(filters=["plain-names"] if filtered else [])
    return highlight(CODE, lexer, HtmlFormatter(nowrap=True))


def test_the_entry_point_finds_the_filter():
    assert isinstance(get_filter_by_name("plain-names"), PlainNamesFilter)


def test_the_text_is_unchanged():
    def text(html: str) -> str:
        return re.sub(r"<[^>]+>", "", html)

    assert text(render(True)) == text(render(False))


def test_plain_names_and_punctuation_lose_their_spans():
    plain, full = render(True), render(False)
    assert plain.count("<span") < full.count("<span") / 2
    for css_class in ("n", "p", "o", "w"):
        assert f'class="{css_class}"' in full
        assert f'class="{css_class}"' not in plain


def test_what_a_reader_scans_for_keeps_its_colour():
    plain = render(True)
    for css_class, token in [
        ("k", "def"),
        ("nd", "@dataclass"),
        ("nc", "Budget"),
        ("nf", "remaining"),
        ("mf", "200.0"),
        ("c1", "# what the ranker may spend"),
        ("nb", "sum"),
        ("bp", "self"),
    ]:
        assert f'<span class="{css_class}">{token}' in plain, (css_class, token)
