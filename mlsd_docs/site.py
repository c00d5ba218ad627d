"""Build, serve and open the site: the one copy that tests, bench and the PDF share.

- ``build(site_dir, pdf=False)``: the strict build (the print page too when ``pdf``),
  returning its log and failing loudly on any warning.
- ``serve(site_dir, prefix, gzip)``: a static server on 127.0.0.1, optionally under
  the ``site_url`` path (the print page needs it) and gzip-encoded (as Pages serves).
- ``chromium()`` and ``new_page(browser, scheme)``: Debian's headless Chromium through
  Playwright, and a tab that records console errors and blocks every other host.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip as gzip_module
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", None}
_COMPRESSIBLE = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt"}


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


# ── Build ────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Build:
    """A finished strict build: where it is and what MkDocs said."""

    site_dir: Path
    log: str

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith("WARNING")]


def build_command(
    site_dir: Path, config: Path | None = None, strict: bool = True
) -> list[str]:
    """The ``mkdocs build`` command line every caller uses."""
    command = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site_dir)]
    if strict:
        command.append("--strict")
    if config is not None:
        command += ["--config-file", str(config)]
    return command


def build_env(pdf: bool = False) -> dict[str, str]:
    """The environment of a build: no MkDocs 2 banner; the print page only if pdf."""
    return {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "MLSD_PDF": "true" if pdf else "false",
    }


def build(site_dir: Path, pdf: bool = False) -> Build:
    """Strict build into site_dir; raise with the log's tail on failure or warning."""
    from mlsd_docs import fonts  # the diagrams' font must exist before MkDocs copies

    fonts.ensure()
    result = subprocess.run(
        build_command(site_dir),
        cwd=ROOT,
        env=build_env(pdf),
        capture_output=True,
        text=True,
        check=False,
    )
    done = Build(Path(site_dir), result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"strict build failed:\n{done.log[-5000:]}")
    if done.warnings:
        raise RuntimeError("build warnings:\n" + "\n".join(done.warnings))
    return done


# ── Serve ────────────────────────────────────────────────────────────────────
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files under a URL prefix, gzip-encoded on request when enabled."""

    prefix = "/"
    gzip = False

    def log_message(self, *args) -> None:
        pass

    def translate_path(self, path: str) -> str:
        if path.startswith(self.prefix):
            path = "/" + path[len(self.prefix) :]
        return super().translate_path(path)

    def send_head(self):
        if not self.gzip or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().send_head()
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not (path.is_file() and path.suffix in _COMPRESSIBLE):
            return super().send_head()
        body = gzip_module.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.end_headers()
        return io.BytesIO(body)


class _QuietServer(http.server.ThreadingHTTPServer):
    """A browser that navigates away mid-response closes the socket: not an error."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(site_dir: Path, prefix: str = "/", gzip: bool = False) -> Iterator[str]:
    """Serve site_dir from 127.0.0.1 on a free port; yield the base URL."""
    if not prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError(f"prefix must start and end with '/', got {prefix!r}")
    handler_class = type("Handler", (_Handler,), {"prefix": prefix, "gzip": gzip})
    handler = functools.partial(handler_class, directory=str(site_dir))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


# ── Browser ──────────────────────────────────────────────────────────────────
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


def new_page(
    browser, color_scheme: str = "light", search: bool = True, **context_options
):
    """A tab in its own context that records errors and blocks other hosts.

    ``page.errors`` collects uncaught exceptions and console errors; ``page.foreign``
    the URLs of requests to any host but 127.0.0.1, which are aborted.

    ``search=False`` serves the site's search index without its documents, for pages
    that never search: after each load Material parses the whole index (1.8 MB) and
    builds its search structures on another core. Measured on the per-page browser
    test (62 pages): 111 CPU-s instead of 142. The search box works, finding nothing.
    """
    if color_scheme not in {"light", "dark"}:
        raise ValueError(
            f"color_scheme must be 'light' or 'dark', not {color_scheme!r}"
        )
    if not isinstance(search, bool):
        raise TypeError(f"search must be True or False, not {search!r}")
    context = browser.new_context(color_scheme=color_scheme, **context_options)
    page = context.new_page()
    page.errors, page.foreign = [], []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: page.errors.append(msg.text) if msg.type == "error" else None,
    )

    def guard(route) -> None:
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            page.foreign.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    if not search:  # routes added later are asked first

        def without_documents(route) -> None:
            from playwright.sync_api import Error as PlaywrightError

            try:
                body = _emptied_index(route.request.url)
            except (OSError, ValueError):  # unreadable: let the real request decide
                route.fallback()
                return
            try:
                route.fulfill(body=body, content_type="application/json")
            except PlaywrightError:
                if not page.is_closed():  # a test may close the tab before it comes
                    raise

        page.route(SEARCH_INDEX, without_documents)
    return page


SEARCH_INDEX = "**/search/search_index.json"


@functools.cache
def _emptied_index(url: str) -> bytes:
    """The search index at url (read outside the browser), with no documents."""
    with urllib.request.urlopen(url, timeout=30) as response:
        index = json.load(response)
    return json.dumps({**index, "docs": []}).encode()


# ── mkdocs.yml: the site's URL and nav ───────────────────────────────────────
class _MkdocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without resolving its !ENV and !!python tags."""


_MkdocsLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
_MkdocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/", lambda loader, suffix, node: None
)


def require_built_site(site: Path | str) -> Path:
    """``site`` as a Path, or ValueError when it is not a built site (no index.html)."""
    if not isinstance(site, (str, os.PathLike)):
        raise TypeError(f"site must be a path, got {type(site).__name__}")
    site = Path(site)
    if not (site / "index.html").is_file():
        raise ValueError(f"{site} is not a built site (no index.html); run make build")
    return site


def site_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--site`` (the built site a command reads, default site/) to an argparse
    parser; read it back with ``parsed_site(parser, args)``."""
    parser.add_argument(
        "--site",
        type=Path,
        default=ROOT / "site",
        help="the built site to read (default: site/)",
    )


def parsed_site(
    parser: argparse.ArgumentParser, args: argparse.Namespace, name: str = "site"
) -> Path:
    """The built-site argument ``name`` (``--site`` by default), checked: a usage
    error (exit status 2) when it is not a built site."""
    try:
        return require_built_site(getattr(args, name))
    except ValueError as error:
        parser.error(str(error))  # exits
        raise AssertionError("unreachable") from error


def mkdocs_config(config: Path = ROOT / "mkdocs.yml") -> dict:
    """mkdocs.yml as data, its !ENV / !!python tags read as None."""
    return yaml.load(config.read_text(encoding="utf-8"), Loader=_MkdocsLoader)


def site_url(config: dict | None = None) -> str:
    """The published site's URL from site_url, ending with a slash."""
    url = (config or mkdocs_config())["site_url"]
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class NavPage:
    """A page of the nav: its Markdown file, nav title (or None) and sections."""

    markdown: str  # "concepts/features.md"
    title: str | None
    sections: tuple[str, ...]  # the nav section titles above it

    @property
    def path(self) -> str:
        """The site-relative URL path: 'concepts/x.md' -> 'concepts/x/'."""
        return page_path(self.markdown)


def page_path(markdown: str) -> str:
    """The site-relative URL of a Markdown page: 'concepts/x.md' -> 'concepts/x/'."""
    if not isinstance(markdown, str) or not markdown.endswith(".md"):
        raise ValueError(
            f"expected a Markdown page path ending in .md, got {markdown!r}"
        )
    stem = markdown.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def nav_pages(config: dict | None = None) -> list[NavPage]:
    """Every page of the nav, in nav order."""
    found: list[NavPage] = []

    def walk(items, sections: tuple) -> None:
        for item in items:
            if isinstance(item, dict):
                title, value = next(iter(item.items()))
            else:
                title, value = None, item
            if isinstance(value, list):
                walk(value, (*sections, title))
            elif isinstance(value, str) and value.endswith(".md"):
                found.append(NavPage(value, title, sections))

    walk((config or mkdocs_config())["nav"], ())
    return found
