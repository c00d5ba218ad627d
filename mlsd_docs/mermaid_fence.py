"""Render ```mermaid fences to inline SVG at build time (no JavaScript, no CDN).

Material's own Mermaid support loads mermaid.min.js from a CDN, which breaks offline
pages (their search stops working too). Instead, this superfences custom fence renders
each diagram with mermaidx (an embedded JS engine bundling Mermaid 11) into one inline
SVG. Mermaid is rendered in both themes, but only the light drawing goes in the page:
the dark theme's colours are added to its stylesheet as rules that apply under the
dark scheme, on screen only (print stays light). One copy instead of two halves the
SVG nodes the browser styles on every page load. Rendered SVGs are cached on disk by
content hash, so only changed diagrams cost time on rebuild.
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


_ID = re.compile(r"mmd-[0-9a-f]{16}")
_DARK = '[data-md-color-scheme="slate"] '
_SAME_ID = "\0id\0"  # the two themes' SVGs have different ids: compare them as one


def _rules(css: str) -> list[tuple[str, str]]:
    """Top-level ``selector{declarations}`` pairs of a minified stylesheet.

    At-rules (``@keyframes``) and their nested blocks are skipped: they hold no
    colours that differ between mermaid's themes.
    """
    rules, depth, start, selector = [], 0, 0, ""
    for i, char in enumerate(css):
        if char == "{":
            if depth == 0:
                selector, start = css[start:i].strip(), i + 1
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced braces in the diagram's stylesheet")
            if depth == 0:
                if not selector.startswith("@"):
                    rules.append((selector, css[start:i]))
                start = i + 1
    if depth:
        raise ValueError("unbalanced braces in the diagram's stylesheet")
    return rules


def _declarations(block: str) -> dict[str, str]:
    pairs = (d.split(":", 1) for d in block.split(";") if ":" in d)
    return {name.strip(): value.strip() for name, value in pairs}


def _style(svg: str) -> str:
    match = re.search(r"<style>(.*?)</style>", svg, re.S)
    if not match:
        raise ValueError("the SVG has no stylesheet: not a mermaid diagram?")
    return _ID.sub(_SAME_ID, match[1])


def dark_overrides(light: str, dark: str) -> str:
    """CSS that turns the light drawing into the dark one, under the dark scheme.

    Both SVGs come from the same source, so they share their nodes and differ in their
    stylesheets' values. Each declaration the dark theme sets differently becomes a rule
    prefixed with the dark scheme's attribute (more specific than mermaid's own rule,
    so it wins), inside ``@media screen`` so that print keeps the light colours. Rules
    of mermaid's "neo" look, which paint with a gradient only the dark SVG defines, are
    left out: this site draws the classic look.
    """
    light_id = _ID.search(light)
    if not light_id:
        raise ValueError("the light SVG has no mermaid id")
    light_rules = dict(_rules(_style(light)))
    out = []
    for selector, block in _rules(_style(dark)):
        before = _declarations(light_rules.get(selector, ""))
        changed = {
            name: value
            for name, value in _declarations(block).items()
            if before.get(name) != value and "gradient" not in value
        }
        if changed:
            prefixed = ",".join(_DARK + part.strip() for part in selector.split(","))
            body = ";".join(f"{name}:{value}" for name, value in changed.items())
            out.append(f"{prefixed}{{{body}}}")
    css = "".join(out).replace(_SAME_ID, light_id[0])
    return f"@media screen{{{css}}}" if css else ""


def one_svg(source: str) -> str:
    """The light SVG with the dark scheme's colours in its stylesheet."""
    light = render_svg(source, "light")
    overrides = dark_overrides(light, render_svg(source, "dark"))
    return light.replace("</style>", overrides + "</style>", 1)


def fence_mermaid(source, language, css_class, options, md, **kwargs):
    """pymdownx.superfences formatter: one inline SVG, coloured for either scheme.

    The figure carries the diagram's natural width as ``--mlsd-diagram-width``: on a
    phone, CSS keeps a wide diagram at three quarters of it (labels stay readable) and
    lets it scroll sideways, instead of shrinking it to the screen.
    """
    svg = one_svg(source)
    label = html.escape(_label(source), quote=True)
    return (
        f'<div class="diagram" role="img" aria-label="{label}" '
        f'style="--mlsd-diagram-width: {natural_width(svg):g}px">{svg}</div>'
    )
