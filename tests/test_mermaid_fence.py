"""The build-time Mermaid fence: one SVG for both schemes, unique ids, clear errors."""

from __future__ import annotations

import re

import pytest

from mlsd_docs import mermaid_fence
from mlsd_docs.fonts import FAMILY

SOURCE = "flowchart LR\n  A[Request] --> B[Ranker]"


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One private cache for the module's renders: each diagram is drawn once."""
    return tmp_path_factory.mktemp("mermaid")


@pytest.fixture(autouse=True)
def private_cache(module_cache, monkeypatch):
    monkeypatch.setattr(mermaid_fence, "CACHE_DIR", module_cache)


def test_fence_emits_one_svg_for_both_schemes():
    html = mermaid_fence.fence_mermaid(SOURCE, "mermaid", "diagram", {}, None)
    assert html.startswith('<div class="diagram" role="img"')
    width = mermaid_fence.natural_width(mermaid_fence.render_svg(SOURCE, "light"))
    assert f'style="--mlsd-diagram-width: {width:g}px"' in html
    assert 50 < width < 1000
    assert html.count("<svg") == 1
    assert "Request" in html and "Ranker" in html
    assert '[data-md-color-scheme="slate"]' in html


def _effective(svg_style: str, scheme: str) -> dict[tuple[str, str], str]:
    """(selector, property) -> value as a browser would resolve it, by specificity.

    Written independently of the fence: the dark rules are found by their prefix and
    applied over the rule they extend, in ``@media screen`` only.
    """
    values = {}
    screen = re.search(r"@media screen\{(.*)\}$", svg_style, re.S)
    base = svg_style[: screen.start()] if screen else svg_style
    for selector, block in re.findall(r"([^{}@]+)\{([^{}]*)\}", base):
        for decl in filter(None, block.split(";")):
            name, value = decl.split(":", 1)
            values[(selector.strip(), name.strip())] = value.strip()
    prefix = '[data-md-color-scheme="slate"] '
    screen_rules = re.findall(r"([^{}]+)\{([^{}]*)\}", screen[1] if screen else "")
    for selector, block in screen_rules:
        parts = [p.strip() for p in selector.split(",")]
        if all(p.startswith(prefix) for p in parts):
            if scheme != "dark":
                continue  # a dark-scheme rule: the light page never matches it
            parts = [p.removeprefix(prefix) for p in parts]
        for decl in block.split(";"):
            name, value = decl.split(":", 1)
            values[(",".join(parts), name.strip())] = value.strip()
    return values


def _stylesheet(svg: str) -> str:
    style = svg.split("<style>")[1].split("</style>")[0]
    return re.sub(r"mmd-[0-9a-f]{16}", "ID", style)


def test_the_one_svg_wears_each_themes_colours():
    source = (
        "flowchart LR\n  A[Request] -->|score| B[Ranker]\n"
        "  subgraph S[Online]\n  B\n  end"
    )
    one = _stylesheet(mermaid_fence.one_svg(source))
    for scheme in ("light", "dark"):
        drawn = _stylesheet(mermaid_fence.render_svg(source, scheme))
        wanted = {
            key: value
            for key, value in _effective(drawn, "light").items()
            if "gradient" not in value and '[data-look="neo"]' not in key[0]
        }
        got = _effective(one, scheme)
        wrong = {k: (got.get(k), v) for k, v in wanted.items() if got.get(k) != v}
        assert not wrong, f"{scheme}: {list(wrong.items())[:5]}"
    assert "#1f2020" in one and "#ECECFF" in one  # the two themes' node fills


def test_print_keeps_the_light_colours():
    svg = mermaid_fence.one_svg(SOURCE)
    style = svg.split("<style>")[1].split("</style>")[0]
    assert style.count("@media screen{") == 1
    outside = style.split("@media screen{")[0]
    assert "slate" not in outside, "a dark rule outside @media screen would print"


def test_unbalanced_stylesheet_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        mermaid_fence._rules("#a{fill:red}}")
    with pytest.raises(ValueError, match="unbalanced"):
        mermaid_fence._rules("#a{fill:red")
    with pytest.raises(ValueError, match="no stylesheet"):
        mermaid_fence.dark_overrides('<svg id="mmd-0123456789abcdef"></svg>', "")


def test_ids_are_unique_per_diagram_and_scheme():
    light = mermaid_fence.render_svg(SOURCE, "light")
    dark = mermaid_fence.render_svg(SOURCE, "dark")
    other = mermaid_fence.render_svg(SOURCE + " --> C[Re-ranker]", "light")
    assert "my-svg" not in light
    ids = {svg.split('id="', 1)[1].split('"', 1)[0] for svg in (light, dark, other)}
    assert len(ids) == 3


def test_second_render_comes_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(mermaid_fence, "CACHE_DIR", tmp_path)  # empty: nothing cached
    first = mermaid_fence.render_svg(SOURCE, "light")
    assert len(list(tmp_path.glob("*.svg"))) == 1

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered again instead of reading the cache")

    monkeypatch.setattr(mermaid_fence.mermaidx, "render", no_rendering)
    assert mermaid_fence.render_svg(SOURCE, "light") == first
    with pytest.raises(AssertionError, match="rendered again"):
        mermaid_fence.render_svg(SOURCE, "dark")  # not cached yet: must render


def test_labels_are_measured_and_drawn_in_the_served_font():
    svg = mermaid_fence.render_svg(SOURCE, "light")
    assert f'font-family:"{FAMILY}"' in svg


def test_unknown_scheme_is_rejected():
    with pytest.raises(ValueError, match="scheme must be one of"):
        mermaid_fence.render_svg(SOURCE, "sepia")


def test_label_names_the_first_node():
    assert mermaid_fence._label(SOURCE) == "Diagram (flowchart): Request"


def test_natural_width_reads_the_svg_max_width_or_refuses():
    assert (
        mermaid_fence.natural_width('<svg id="x" style="max-width: 722.625px;">')
        == 722.625
    )
    with pytest.raises(ValueError, match="max-width"):
        mermaid_fence.natural_width("<svg width='10'>")
