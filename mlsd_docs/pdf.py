"""Print the guide to one PDF: build the print page, serve it, print it in Chromium.

``python -m mlsd_docs.pdf [OUT]`` (what ``make pdf`` runs). The print page comes from
mkdocs-print-site-plugin, enabled only in this build (``MLSD_PDF=true``). It rebases
URLs on the path of ``site_url``, so the site is served under that path while printing.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARGIN_MM = {"top": 14, "bottom": 14, "left": 12, "right": 12}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def chromium_path() -> str:
    """The Chromium binary: $CHROMIUM_PATH, else chromium on PATH, else Debian's."""
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    return found or "/usr/bin/chromium"


def site_path_prefix() -> str:
    """The URL path the site is published under, from site_url (e.g. '/mlsd-guide/')."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    # Only site_url is needed: read it without resolving the !ENV / !!python tags.
    line = next(ln for ln in text.splitlines() if ln.startswith("site_url:"))
    path = urlparse(yaml.safe_load(line)["site_url"]).path or "/"
    return path if path.endswith("/") else path + "/"


def build_print_site(out_dir: Path) -> Path:
    """Strict build with the print page enabled; returns the site directory."""
    env = {**os.environ, "MLSD_PDF": "true", "NO_MKDOCS_2_WARNING": "1"}
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "-q",
        "-d",
        str(out_dir),
    ]
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return out_dir


@contextlib.contextmanager
def serve(site_dir: Path, prefix: str = "/") -> Iterator[str]:
    """Serve site_dir from 127.0.0.1 under a URL prefix; yield the base URL."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            if path.startswith(prefix):
                path = "/" + path[len(prefix) :]
            return super().translate_path(path)

        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Handler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()


def print_url(browser, url: str, out: Path) -> Path:
    """Print one URL to an A4 PDF in the light scheme, folded blocks opened."""
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.evaluate("window.mlsdPrepareForPrint && window.mlsdPrepareForPrint()")
    page.emulate_media(media="print")
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


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def build_pdf(print_site: Path, out: Path, browser=None) -> Path:
    """Print the book (the print page of an MLSD_PDF build) to out."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with serve(print_site, site_path_prefix()) as base:
        if browser is not None:
            return print_url(browser, base + "print_page/", out)
        with chromium() as own_browser:
            return print_url(own_browser, base + "print_page/", out)


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else ROOT / "site" / "mlsd-guide.pdf"
    print_site = build_print_site(ROOT / ".cache" / "print-site")
    build_pdf(print_site, out.resolve())
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1:])
