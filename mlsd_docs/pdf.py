"""Print the guide to one PDF: build the print page, serve it, print it in Chromium.

``python -m mlsd_docs.pdf [OUT] [--site DIR]`` (what ``make pdf`` runs). The print page
comes from mkdocs-print-site-plugin, enabled only in builds with ``MLSD_PDF=true``. It
rebases URLs on the path of ``site_url``, so the site is served under that path while
printing. ``--site`` prints an existing print build instead of building one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlsd_docs.site import ROOT, build, chromium, serve, site_path_prefix

MARGIN_MM = {"top": 14, "bottom": 14, "left": 12, "right": 12}


def build_print_site(out_dir: Path) -> Path:
    """Strict build with the print page enabled; returns the site directory."""
    return build(out_dir, pdf=True).site_dir


def print_url(browser, url: str, out: Path) -> Path:
    """Print one URL to an A4 PDF in the light scheme, folded blocks opened."""
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.evaluate("window.mlsdPrepareForPrint && window.mlsdPrepareForPrint()")
    page.emulate_media(media="print")
    # The print styles switch to the site's own fonts: wait until they are loaded,
    # or Chromium lays out the first pages in a fallback font.
    page.evaluate("document.fonts.ready.then(() => true)")
    page.pdf(
        path=str(out),
        format="A4",
        print_background=True,
        prefer_css_page_size=True,  # the print page's @page rules: A4, "Page N" footer
        outline=True,  # PDF bookmarks from the headings
        tagged=True,  # an accessible, tagged PDF
        margin={side: f"{mm}mm" for side, mm in MARGIN_MM.items()},
    )
    context.close()
    return out


def build_pdf(print_site: Path, out: Path, browser=None) -> Path:
    """Print the book (the print page of an MLSD_PDF build) to out."""
    if not (print_site / "print_page" / "index.html").is_file():
        raise FileNotFoundError(
            f"{print_site} has no print_page/: build it with MLSD_PDF=true"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with serve(print_site, site_path_prefix()) as base:
        if browser is not None:
            return print_url(browser, base + "print_page/", out)
        with chromium() as own_browser:
            return print_url(own_browser, base + "print_page/", out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", nargs="?", type=Path, default=ROOT / "site" / "mlsd-guide.pdf"
    )
    parser.add_argument("--site", type=Path, help="an existing MLSD_PDF=true build")
    args = parser.parse_args(argv)
    print_site = args.site or build_print_site(ROOT / ".cache" / "print-site")
    build_pdf(print_site, args.out.resolve())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
