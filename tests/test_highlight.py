"""The highlighting filter: fewer spans, the same text, every colour but the greys."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import material
import pytest
from pygments import highlight
from pygments.filters import get_filter_by_name
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from mlsd_docs.highlight import PlainNamesFilter

ROOT = Path(__file__).resolve().parents[1]
CODE = '''
@dataclass
class Budget:
    """Milliseconds left."""

    def remaining(self, stages: list[float], total_ms: float = 200.0) -> float:
        if stages is not None and len(stages) > 0x10:
            raise ValueError(f"at most 16 stages, got {len(stages)!r}: {stages}")
        return total_ms - sum(stages)  # what the ranker may spend
'''
# Drawn in grey by Material, plain on our pages by choice (mlsd_docs/highlight.py).
GREYS_MADE_PLAIN = {"n", "p", "o", "w"}


@functools.cache  # the per-file colour checks and the span count share renders
def render(code: str, filtered: bool) -> str:
    lexer = PythonLexer(filters=["plain-names"] if filtered else [])
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


def material_colours() -> dict[str, str]:
    """CSS class -> colour variable, from Material's ``.highlight .<class>`` rules."""
    stylesheets = Path(material.__file__).parent / "templates/assets/stylesheets"
    css = next(stylesheets.glob("main.*.min.css")).read_text(encoding="utf-8")
    colours = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        colour = re.search(r"(?:^|;)color:(var\(--md-code-hl-[a-z-]+\))", body)
        classes = [
            match[1]
            for selector in selectors.split(",")
            if (match := re.fullmatch(r"\.highlight \.([a-z0-9]+)", selector.strip()))
        ]
        if colour and classes:
            colours.update(dict.fromkeys(classes, colour[1]))
    return colours


def coloured_characters(
    fragment: str, colours: dict[str, str]
) -> list[tuple[str, str]]:
    """(character, colour) for every character; unstyled text is the code's colour."""
    plain = "var(--md-code-hl-name-color)"  # Material: var(--md-code-fg-color)
    out = []
    for match in re.finditer(r'<span class="([^"]+)">([^<]*)</span>|([^<]+)', fragment):
        css_class, text = (match[1], match[2]) if match[1] else ("", match[3])
        colour = colours.get(css_class, plain)
        out += [(char, colour) for char in html.unescape(text)]
    return out


def snippet_sources() -> list[Path]:
    return sorted((ROOT / "snippets").rglob("*.py"))


def test_the_entry_point_finds_the_filter():
    assert isinstance(get_filter_by_name("plain-names"), PlainNamesFilter)


def test_material_still_colours_what_the_filter_assumes():
    colours = material_colours()
    assert colours["s2"] == colours["si"] == colours["s"] != colours["k"]
    assert colours["c1"] == colours["sd"] == colours["c"]
    assert colours["n"] == "var(--md-code-hl-name-color)"
    assert "sa" not in colours and "fm" not in colours


@pytest.mark.parametrize(
    "source", [CODE, *snippet_sources()], ids=lambda s: getattr(s, "name", "sample")
)
def test_no_character_changes_colour_except_the_greys(source):
    code = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    colours = material_colours()
    before = coloured_characters(render(code, False), colours)
    after = coloured_characters(render(code, True), colours)
    assert "".join(c for c, _ in before) == "".join(c for c, _ in after)
    grey_classes = {colours.get(css) for css in GREYS_MADE_PLAIN}
    changed = [
        (i, char, old, new)
        for i, ((char, old), (_, new)) in enumerate(zip(before, after, strict=True))
        if old != new and not char.isspace() and old not in grey_classes
    ]
    assert not changed, changed[:5]


def test_spans_fall_by_more_than_two_thirds_on_the_snippets():
    codes = [p.read_text(encoding="utf-8") for p in snippet_sources()]
    full = sum(render(code, False).count("<span") for code in codes)
    plain = sum(render(code, True).count("<span") for code in codes)
    assert plain < full / 3, (plain, full)


def test_an_f_string_is_one_span_per_run_of_string_text():
    out = render('x = f"{a} of {b:.1%}"\n', True)
    assert out.count('class="s"') == 3, out  # '"{', '} of {', ':.1%}"' around a and b
    assert 'class="sa"' not in out and 'class="si"' not in out


def test_spaces_join_a_span_only_between_two_of_its_kind():
    out = render("if a is not b and c in d:\n    pass\n", True)
    assert '<span class="ow">is not</span>' in out
    assert '<span class="ow">and</span>' in out
    assert "</span> b <span" in out  # between ow and a plain name: no span


def test_what_a_reader_scans_for_keeps_a_span():
    plain = render(CODE, True)
    for css_class, token in [
        ("k", "def"),
        ("nd", "@dataclass"),
        ("nf", "Budget"),
        ("nf", "remaining"),
        ("m", "200.0"),
        ("m", "0x10"),
        ("c", "# what the ranker may spend"),
        ("nb", "sum"),
        ("nb", "self"),
        ("nf", "ValueError"),  # Material colours exceptions like functions
    ]:
        assert f'<span class="{css_class}">{token}' in plain, (css_class, token)
