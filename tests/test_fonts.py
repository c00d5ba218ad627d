"""The site's font: subsets of the files mermaidx measures with, for every label."""

from __future__ import annotations

import re

import mermaidx
import pytest
from fontTools.ttLib import TTFont
from guide import all_fences

from mlsd_docs import fonts


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("fonts")
    paths = dict(zip(fonts.FACES, fonts.ensure(out), strict=True))
    return {face: (path, TTFont(path)) for face, path in paths.items()}


def test_subsets_are_small_woff2(made):
    for face, (_, font) in made.items():
        assert font.flavor == "woff2", face
    sizes = [path.stat().st_size for path, _ in made.values()]
    assert all(size < 64 * 1024 for size in sizes), sizes


def test_every_character_of_every_diagram_is_in_the_subset(made):
    cmap = made["regular"][1].getBestCmap()
    used = {
        char
        for fence in all_fences()
        if fence.language == "mermaid"
        for char in fence.body
        if not char.isspace()
    }
    assert used, "no diagram found"
    missing = sorted(c for c in used if ord(c) not in cmap)
    assert not missing, f"characters drawn in a fallback font: {missing}"


def test_subset_keeps_the_advance_widths_mermaidx_measures(made):
    """Same glyphs, same widths: a label laid out at build time fits when drawn."""
    source = TTFont(fonts.SOURCE_DIR / fonts.FACES["regular"])
    ours = made["regular"][1]
    source_cmap, our_cmap = source.getBestCmap(), ours.getBestCmap()
    text = "Worked problems: full designs, run end to end → ≤ 200 ms"
    for char in text:
        ours_width = ours["hmtx"][our_cmap[ord(char)]][0]
        assert ours_width == source["hmtx"][source_cmap[ord(char)]][0], char
    assert ours["head"].unitsPerEm == source["head"].unitsPerEm


def test_the_source_is_the_font_mermaidx_lays_out_with():
    text = (fonts.SOURCE_DIR.parent.parent / "font_metrics.py").read_text()
    assert re.search(r'_FAMILY\s*=\s*"DejaVu Sans"', text), mermaidx.__version__
    assert '"DejaVuSans.ttf"' in text


def test_unknown_face_is_rejected():
    with pytest.raises(ValueError, match="face must be one of"):
        fonts.font_path("italic")
