"""Render ```mermaid fences to inline SVG at build time (no JavaScript, no CDN).

Material's own Mermaid support loads mermaid.min.js from a CDN, which breaks offline
pages (their search stops working too). Instead, this superfences custom fence renders
each diagram with mermaidx (an embedded JS engine bundling Mermaid 11) into two inline
SVGs, one per colour scheme; CSS shows the one that matches the reader's scheme and the
light one in print. Rendered SVGs are cached on disk by content hash, so only changed
diagrams cost time on rebuild.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path

import mermaidx

from mlsd_docs.fonts import FAMILY

CACHE_DIR = Path(os.environ.get("MLSD_MERMAID_CACHE", ".cache/mermaid"))
# Mermaid theme and overrides per colour scheme. The dark theme's edge labels sit on a
# mid-grey (#585858) that fails WCAG contrast with their light text: darken it.
# Labels are drawn in the very font mermaidx measures them with (mlsd_docs.fonts), so
# a label never outgrows its box on a machine whose fallback font is wider.
FONT_FAMILY = f'"{FAMILY}", "DejaVu Sans", sans-serif'
THEMES: dict[str, tuple[str, dict]] = {
    "light": ("default", {"themeVariables": {"fontFamily": FONT_FAMILY}}),
    "dark": (
        "dark",
        {
            "themeVariables": {
                "fontFamily": FONT_FAMILY,
                "edgeLabelBackground": "#2b2b2b",
            }
        },
    ),
}
_MERMAID_ID = "my-svg"  # mermaidx gives every SVG this id; we make ids unique


def render_svg(source: str, scheme: str) -> str:
    """Return the SVG for one diagram in one scheme, from the cache when possible."""
    if scheme not in THEMES:
        raise ValueError(f"scheme must be one of {sorted(THEMES)}, got {scheme!r}")
    theme, config = THEMES[scheme]
    options = json.dumps(config, sort_keys=True)
    key = f"{mermaidx.__version__}\0{theme}\0{options}\0{source}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cached = CACHE_DIR / f"{digest}.svg"
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    svg = mermaidx.render(source, theme=theme, config=config or None).svg()
    if "<svg" not in svg:
        raise ValueError(f"mermaid could not render this diagram:\n{source}")
    svg = svg.replace(_MERMAID_ID, f"mmd-{digest}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(svg, encoding="utf-8")
    partial.replace(cached)  # atomic: parallel builds never read half a file
    return svg


def _label(source: str) -> str:
    """A short accessible name: the first node label of the diagram, or its type."""
    match = re.search(r"\[\"?([^\]\"]+)\"?\]", source)
    kind = source.strip().split(maxsplit=1)[0] if source.strip() else "diagram"
    return f"Diagram ({kind}): {match.group(1)}" if match else f"Diagram ({kind})"


_NATURAL_WIDTH = re.compile(r'<svg[^>]*style="[^"]*max-width:\s*([\d.]+)px')


def natural_width(svg: str) -> float:
    """The width in px mermaid laid the diagram out at (its SVG's max-width)."""
    match = _NATURAL_WIDTH.match(svg)
    if not match:
        raise ValueError("the SVG states no max-width: not a mermaid diagram?")
    return float(match[1])


def fence_mermaid(source, language, css_class, options, md, **kwargs):
    """pymdownx.superfences formatter: two themed inline SVGs in one figure.

    The figure carries the diagram's natural width as ``--mlsd-diagram-width``: on a
    phone, CSS keeps a wide diagram at three quarters of it (labels stay readable) and
    lets it scroll sideways, instead of shrinking it to the screen.
    """
    parts = []
    for scheme in THEMES:
        svg = render_svg(source, scheme)
        parts.append(f'<div class="diagram__{scheme}">{svg}</div>')
    label = html.escape(_label(source), quote=True)
    width = natural_width(render_svg(source, "light"))
    return (
        f'<div class="diagram" role="img" aria-label="{label}" '
        f'style="--mlsd-diagram-width: {width:g}px">' + "".join(parts) + "</div>"
    )
