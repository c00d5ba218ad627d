"""Formulas become MathML at build time; prose dollars and bad TeX are handled."""

from __future__ import annotations

from xml.etree import ElementTree

import markdown
import pytest

from mlsd_docs.math import to_mathml

CONFIG = {"pymdownx.arithmatex": {"generic": True, "inline_syntax": ["round"]}}


def render(text: str) -> str:
    return markdown.markdown(
        text,
        extensions=["pymdownx.arithmatex", "mlsd_docs.math"],
        extension_configs=CONFIG,
    )


def test_a_fraction_becomes_a_mathml_fraction():
    tree = ElementTree.fromstring(to_mathml(r"\frac{a}{b^2}"))
    assert tree.tag == "math" and tree.get("display") == "inline"
    fraction = tree.find(".//mfrac")
    assert fraction is not None and len(fraction) == 2
    assert fraction[1].find(".//msup") is not None


def test_inline_and_display_formulas_in_a_page():
    html = render("Cost \\(c_{i} < 2\\) here.\n\n$$\n\\sqrt{n}\n$$\n")
    assert '<span class="math math--inline"><math display="inline">' in html
    assert '<div class="math math--block"><math display="block">' in html
    assert "<msqrt>" in html and "<msub>" in html
    assert "\\(" not in html and "$$" not in html


def test_less_than_survives_both_kinds():
    for source in ("\\(a < b\\)", "$$\na < b\n$$"):
        assert "<mo>&#x0003C;</mo>" in render(source), source


def test_dollar_amounts_in_prose_are_not_math():
    html = render("It costs $5 per hour and $3 per GB.")
    assert "<math" not in html
    assert "$5 per hour and $3 per GB" in html


@pytest.mark.parametrize(
    ("latex", "display", "error"),
    [
        ("", "inline", ValueError),
        ("x", "centered", ValueError),
        (3, "inline", TypeError),
        ("a_", "inline", ValueError),
        ("\\frac{a}", "inline", ValueError),
        ("x^{2", "inline", ValueError),
        ("x}", "inline", ValueError),
        ("\\unknowncmd{x}", "block", ValueError),
    ],
)
def test_bad_input_is_refused(latex, display, error):
    with pytest.raises(error):
        to_mathml(latex, display)


def test_escaped_braces_are_not_counted():
    assert "&#x0007B;</mo>" in to_mathml("\\{ x \\}")


def test_the_extension_needs_arithmatex_first():
    with pytest.raises(ValueError, match="arithmatex"):
        markdown.markdown("x", extensions=["mlsd_docs.math"])


@pytest.mark.parametrize("display", ["inline", "block"])
def test_an_operator_name_is_text_only_as_mathml_requires(display):
    # latex2mathml alone puts an mrow of letters and an mspace inside the <mo>.
    mathml = to_mathml(r"\mathop{\mathrm{arg\,max}}_{i \notin Y} x", display)
    operators = list(ElementTree.fromstring(mathml).iter("mo"))
    assert all(len(mo) == 0 for mo in operators), mathml
    assert [mo.text for mo in operators] == ["arg\u2009max", "\u2209"]


def test_formulas_without_such_operators_keep_the_converter_output():
    assert to_mathml(r"\operatorname{Var}(x)") == (
        '<math display="inline"><mrow><mo>Var</mo><mo stretchy="false">&#x00028;</mo>'
        '<mi>x</mi><mo stretchy="false">&#x00029;</mo></mrow></math>'
    )


def test_flattening_keeps_attributes_tails_and_spaces_and_nothing_else():
    from mlsd_docs.math import _flatten_operators

    flat = _flatten_operators(
        '<math><mo stretchy="false"><mrow><mi>a</mi><mspace width="1em" />'
        "<mi>b</mi></mrow>c</mo><mover><mi>x</mi><mo>^</mo></mover></math>"
    )
    assert flat == (
        '<math><mo stretchy="false">a\u2003bc</mo>'
        "<mover><mi>x</mi><mo>^</mo></mover></math>"
    )
    untouched = "<math><mo>(</mo><mi>a</mi><mo /></math>"
    assert _flatten_operators(untouched) is untouched


@pytest.mark.parametrize(
    ("latex", "message"),
    [
        (r"\mathop{x^2}", "<msup> inside an operator name"),
        (r"\operatorname*{arg\,max}", "empty operator"),
    ],
)
def test_an_operator_that_cannot_be_text_fails_the_build(latex, message):
    with pytest.raises(ValueError, match=message):
        to_mathml(latex)


def test_operator_spaces_keep_their_width_and_a_null_fence_is_allowed():
    quad = ElementTree.fromstring(to_mathml(r"\mathop{\mathrm{a\quad b}} x"))
    assert next(quad.iter("mo")).text == "a\u2003b"
    fence = ElementTree.fromstring(to_mathml(r"\left. x \right|"))
    assert [mo.get("fence") for mo in fence.iter("mo")] == ["true", "true"]
