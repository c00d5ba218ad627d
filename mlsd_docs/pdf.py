"""Print the guide to PDF: the whole book, and the interview edition.

``python -m mlsd_docs.pdf [OUT] [--site DIR] [--edition OUT --web-site DIR]`` (what
``make pdf`` runs).

- **The book** comes from mkdocs-print-site-plugin's print page, enabled only in builds
  with ``MLSD_PDF=true``. It rebases URLs on the path of ``site_url``, so the site is
  served under that path while printing. ``--site`` prints an existing print build.
- **The interview edition** is assembled in the browser from a normal build: the
  45-minute plan, the whiteboard template, each worked problem's prompt, design on one
  page and scoring table, the checklist, and the checklist's answers at the back (so a
  reader can test themselves on paper).

Both get page numbers in their contents. Chromium cannot print a target's page number
(CSS ``target-counter`` is not supported), so the printer measures it: a first pass puts
a marker at each target, finds on which PDF page each marker landed (``pdftotext``), and
a second pass prints the numbers. The markers are absolutely positioned, so the first
pass lays out exactly like the second; and it paints nothing but the markers
(``visibility: hidden`` keeps every box where it is), which halves its time and leaves
pdftotext a few words to read.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

from mlsd_docs.fonts import FAMILY
from mlsd_docs.site import (
    ROOT,
    build,
    chromium,
    parsed_site,
    require_built_site,
    serve,
    site_path_prefix,
)

MARGIN_MM = {"top": 14, "bottom": 14, "left": 12, "right": 12}
BOOK_CONTENTS = "#print-page-toc a[href*='#']"
EDITION_CONTENTS = "#mlsd-edition-toc a[href^='#']"
MARKER = re.compile(r"MLSDPAGEMARK(\d{4})")

# Pass 1: a marker at the start of every target of the contents' links. Returns how
# many links got one.
_PLACE_MARKERS = """
(selector) => {
  let n = 0;
  for (const link of document.querySelectorAll(selector)) {
    const id = decodeURIComponent(new URL(link.href, location.href).hash.slice(1));
    // The print page prefixes ids with the page's path, so a heading of one page
    // (concepts/ + "classification-metrics") can share the id of another page's
    // section: a page section wins.
    const target = id && (document.querySelector(`section[id="${CSS.escape(id)}"]`) ||
                          document.getElementById(id));
    if (!target) continue;
    const marker = document.createElement('span');
    marker.className = 'mlsd-page-marker';
    marker.style.cssText = 'position:absolute;font-size:6px;line-height:1;';
    marker.textContent = 'MLSDPAGEMARK' + String(n).padStart(4, '0');
    target.prepend(marker);
    link.dataset.mlsdMarker = String(n);
    link.dataset.mlsdPage = '000';  // reserves the width the real number will take
    n += 1;
  }
  return n;
}
"""
# Pass 1 paints only the markers: hidden boxes keep their size and place (CSS 2.2,
# 11.2), so the pages break where they will in pass 2, at half the cost (16 s, not 35 s,
# a pass on the book measured here).
_MEASURE_ONLY = (
    "body * { visibility: hidden !important; }"
    " .mlsd-page-marker { visibility: visible !important; }"
)
# Pass 2: the measured numbers in, the markers out.
_WRITE_NUMBERS = """
(pages) => {
  document.querySelectorAll('.mlsd-page-marker').forEach((m) => m.remove());
  for (const link of document.querySelectorAll('[data-mlsd-marker]')) {
    link.dataset.mlsdPage = String(pages[link.dataset.mlsdMarker] ?? '');
  }
}
"""


def build_print_site(out_dir: Path) -> Path:
    """Strict build with the print page enabled; returns the site directory."""
    return build(out_dir, pdf=True).site_dir


def pdf_pages_text(pdf_path: Path) -> list[str]:
    """The text of each page of a PDF (Poppler's pdftotext: fast, and in .ci/run)."""
    if shutil.which("pdftotext") is None:
        raise FileNotFoundError("pdftotext not found: apt-get install poppler-utils")
    command = ["pdftotext", "-layout", str(pdf_path), "-"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def marker_pages(pages_text: list[str]) -> dict[str, int]:
    """Marker number -> the 1-based page it is printed on (its first occurrence)."""
    found: dict[str, int] = {}
    for number, text in enumerate(pages_text, start=1):
        for match in MARKER.finditer(text):
            found.setdefault(str(int(match[1])), number)
    return found


def _print(page, out: Path, final: bool = True) -> Path:
    """Print to out. A measuring pass (final=False) skips the bookmarks and the tags:
    neither moves a line, and together they cost a quarter of a pass on the book."""
    page.pdf(
        path=str(out),
        format="A4",
        print_background=True,
        prefer_css_page_size=True,  # the print page's @page rules: A4, "Page N" footer
        outline=final,  # PDF bookmarks from the headings
        tagged=final,  # an accessible, tagged PDF
        margin={side: f"{mm}mm" for side, mm in MARGIN_MM.items()},
    )
    return out


_LOAD_FONTS = """
async (family) => {
  await Promise.all([`16px "${family}"`, `bold 16px "${family}"`].map(
    (font) => document.fonts.load(font)));
  await document.fonts.ready;
  return true;
}
"""


def print_page(page, out: Path, contents: str | None = None) -> Path:
    """Print an open page to out; number its contents' links if a selector is given."""
    page.evaluate("window.mlsdPrepareForPrint && window.mlsdPrepareForPrint()")
    page.emulate_media(media="print")
    # The print styles switch to the site's own fonts: load both faces and wait, or
    # Chromium lays out the first pages in a fallback font (nothing preloads them, so
    # fonts.ready alone could resolve before they were asked for).
    page.evaluate(_LOAD_FONTS, FAMILY)
    if contents is None:
        return _print(page, out)
    placed = page.evaluate(_PLACE_MARKERS, contents)
    if placed == 0:
        raise ValueError(f"no contents link matches {contents!r}")
    first_pass = out.with_suffix(".pass1.pdf")
    measure_only = page.add_style_tag(content=_MEASURE_ONLY)
    _print(page, first_pass, final=False)
    measure_only.evaluate("(style) => style.remove()")
    pages = marker_pages(pdf_pages_text(first_pass))
    first_pass.unlink()
    missing = placed - len(pages)
    if missing:
        raise ValueError(f"{missing} of {placed} contents targets were not printed")
    page.evaluate(_WRITE_NUMBERS, pages)
    return _print(page, out)


def print_url(browser, url: str, out: Path, contents: str | None = None) -> Path:
    """Print one URL to an A4 PDF in the light scheme, folded blocks opened."""
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    try:
        return print_page(page, out, contents)
    finally:
        context.close()


def _in_browser(browser, work):
    """work(browser): in the given browser, or in one of our own for the call."""
    if browser is not None:
        return work(browser)
    with chromium() as own_browser:
        return work(own_browser)


def require_print_site(print_site: Path) -> Path:
    """print_site, or ValueError when it is not an MLSD_PDF build (no print_page/)."""
    if not (Path(print_site) / "print_page" / "index.html").is_file():
        raise ValueError(
            f"{print_site} has no print_page/: build it with MLSD_PDF=true"
        )
    return Path(print_site)


def build_pdf(print_site: Path, out: Path, browser=None) -> Path:
    """Print the book (the print page of an MLSD_PDF build) to out."""
    print_site = require_print_site(print_site)
    out.parent.mkdir(parents=True, exist_ok=True)
    with serve(print_site, site_path_prefix()) as base:
        url = base + "print_page/"
        return _in_browser(browser, lambda b: print_url(b, url, out, BOOK_CONTENTS))


# ── The interview edition ────────────────────────────────────────────────────
_ASSEMBLE_EDITION = (Path(__file__).parent / "interview_edition.js").read_text(
    encoding="utf-8"
)


def build_interview_edition(site: Path, out: Path, browser=None) -> dict:
    """Assemble the interview edition from a normal build and print it to out.

    Returns what went in: ``{"problems": n, "answers": m}``.
    """
    site = require_built_site(site)
    out.parent.mkdir(parents=True, exist_ok=True)

    def run(own_browser) -> dict:
        context = own_browser.new_context(color_scheme="light")
        page = context.new_page()
        try:
            page.goto(base, wait_until="networkidle")
            made = page.evaluate(_ASSEMBLE_EDITION)
            print_page(page, out, EDITION_CONTENTS)
            return made
        finally:
            context.close()

    with serve(site) as base:
        return _in_browser(browser, run)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", nargs="?", type=Path, default=ROOT / "site" / "mlsd-guide.pdf"
    )
    parser.add_argument("--site", type=Path, help="an existing MLSD_PDF=true build")
    parser.add_argument("--edition", type=Path, help="also print the interview edition")
    parser.add_argument(
        "--web-site", type=Path, default=ROOT / "site", help="the normal build"
    )
    args = parser.parse_args(argv)
    # Refuse a wrong path before minutes of printing, not after.
    try:
        if args.site:
            require_print_site(args.site)
    except ValueError as error:
        parser.error(str(error))
    if args.edition:
        parsed_site(parser, args, "web_site")
    print_site = args.site or build_print_site(ROOT / ".cache" / "print-site")
    build_pdf(print_site, args.out.resolve())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    if args.edition:
        made = build_interview_edition(args.web_site, args.edition.resolve())
        size = args.edition.stat().st_size / 1e6
        print(
            f"wrote {args.edition} ({size:.1f} MB): {made['problems']} problems, "
            f"{made['answers']} answers"
        )


if __name__ == "__main__":
    main()
