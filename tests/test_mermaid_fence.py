"""The build-time Mermaid fence: two themed SVGs, unique ids, clear errors."""

from __future__ import annotations

import pytest

from mlsd_docs import mermaid_fence
from mlsd_docs.fonts import FAMILY

SOURCE = "flowchart LR\n  A[Request] --> B[Ranker]"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(mermaid_fence, "CACHE_DIR", tmp_path)


def test_fence_emits_a_light_and_a_dark_svg():
    html = mermaid_fence.fence_mermaid(SOURCE, "mermaid", "diagram", {}, None)
    assert html.startswith('<div class="diagram" role="img"')
    width = mermaid_fence.natural_width(mermaid_fence.render_svg(SOURCE, "light"))
    assert f'style="--mlsd-diagram-width: {width:g}px"' in html
    assert 50 < width < 1000
    assert html.count("<svg") == 2
    assert '<div class="diagram__light"><svg' in html
    assert '<div class="diagram__dark"><svg' in html
    assert "Request" in html and "Ranker" in html


def test_ids_are_unique_per_diagram_and_scheme():
    light = mermaid_fence.render_svg(SOURCE, "light")
    dark = mermaid_fence.render_svg(SOURCE, "dark")
    other = mermaid_fence.render_svg(SOURCE + " --> C[Re-ranker]", "light")
    assert "my-svg" not in light
    ids = {svg.split('id="', 1)[1].split('"', 1)[0] for svg in (light, dark, other)}
    assert len(ids) == 3


def test_second_render_comes_from_the_cache(tmp_path, monkeypatch):
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
