"""What the tests know about the guide: its pages, their code blocks, the snippets.

Pages show Python in two ways only: an include of a named snippet section
(``--8<-- "concepts/x.py:name"``), or an inline block that ``test_pages.py`` runs.
Printed output is a ``text`` fence titled with the command that produces it:

    ```text title="python -m snippets.concepts.classification_metrics"
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import io
import os
import platform
import re
import runpy
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from mlsd_docs import site

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
SNIPPET_BASES = (SNIPPETS, ROOT / "includes", ROOT / "bench")

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})(?P<info>.*)$")
_INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<target>[^"]+)"\s*$')
_SECTION = re.compile(r"#\s*--8<--\s*\[(?P<kind>start|end):(?P<name>[\w-]+)\]")
OUTPUT_TITLE = re.compile(r'title="python -m (?P<module>snippets(?:\.\w+)+)"')


@dataclass(frozen=True)
class Fence:
    """One fenced code block of a page."""

    page: str
    line: int  # 1-based line of the opening fence
    info: str
    body: str
    end: int = 0  # 1-based line of the closing fence

    @property
    def language(self) -> str:
        info = self.info.strip()
        if info.startswith("{"):  # attribute form: {.python .notest}
            classes = re.findall(r"\.([\w-]+)", info)
            return classes[0] if classes else ""
        return info.split(maxsplit=1)[0] if info else ""

    @property
    def includes(self) -> list[str]:
        return [
            m["target"]
            for line in self.body.splitlines()
            if (m := _INCLUDE.match(line))
        ]

    @property
    def is_include_only(self) -> bool:
        lines = [line for line in self.body.splitlines() if line.strip()]
        return bool(lines) and all(_INCLUDE.match(line) for line in lines)

    @property
    def output_of(self) -> str | None:
        match = OUTPUT_TITLE.search(self.info)
        return match["module"] if self.language == "text" and match else None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """Every Markdown page of the site, sorted."""
    return sorted(DOCS.rglob("*.md"))


def page_name(path: Path) -> str:
    return path.relative_to(DOCS).as_posix()


@functools.cache
def page_text(name: str) -> str:
    """The raw Markdown of a page, e.g. ``page_text("concepts/features.md")``."""
    return (DOCS / name).read_text(encoding="utf-8")


def fences(name: str) -> list[Fence]:
    """The fenced blocks of a page, de-indented (content tabs, admonitions)."""
    found, lines = [], page_text(name).splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        indent, ticks = match["indent"], match["ticks"]
        body, j = [], i + 1
        closing = re.compile(
            rf"^{re.escape(indent)}{re.escape(ticks[0])}{{{len(ticks)},}}\s*$"
        )
        while j < len(lines) and not closing.match(lines[j]):
            line = lines[j]
            body.append(
                line[len(indent) :] if line.startswith(indent) else line.lstrip()
            )
            j += 1
        found.append(Fence(name, i + 1, match["info"], "\n".join(body), j + 1))
        i = j + 1
    return found


def all_fences() -> list[Fence]:
    return [fence for path in pages() for fence in fences(page_name(path))]


def resolve_include(target: str) -> tuple[Path | None, str | None]:
    """Split ``file.py:section`` and find the file in the snippet base paths."""
    file_part, _, section = target.partition(":")
    for base in SNIPPET_BASES:
        candidate = base / file_part
        if candidate.is_file():
            return candidate, section or None
    return None, section or None


def sections(path: Path) -> dict[str, str]:
    """Named sections of a snippet file: name -> the code between its markers."""
    found: dict[str, list[str]] = {}
    open_sections: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        marker = _SECTION.search(line)
        if marker and marker["kind"] == "start":
            open_sections.append(marker["name"])
            found.setdefault(marker["name"], [])
        elif marker and marker["kind"] == "end":
            if marker["name"] in open_sections:
                open_sections.remove(marker["name"])
        else:
            for name in open_sections:
                found[name].append(line)
    return {name: "\n".join(body) for name, body in found.items()}


def snippet_modules() -> list[str]:
    """Dotted names of every snippet module that runs as a program."""
    names = []
    for path in sorted(SNIPPETS.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"):
            names.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


# ── The import graph of snippets/ (the layer rules and the output cache read it) ──
def module_name(path: Path) -> str:
    """snippets/problems/search_engine.py -> snippets.problems.search_engine."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def snippet_sources() -> dict[str, tuple[str, bool]]:
    """Every module of the package: name -> (source, whether it is a package)."""
    return {
        module_name(path): (
            path.read_text(encoding="utf-8"),
            path.name == "__init__.py",
        )
        for path in sorted(SNIPPETS.rglob("*.py"))
    }


def imported_modules(
    name: str, source: str, is_package: bool, known: Iterable[str]
) -> set[str]:
    """The snippets modules that a module's source imports, wherever the import is."""
    known = set(known)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..common import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # from snippets.problems import search_engine names a module;
                # from snippets.common.fusion import reciprocal_rank_fusion does not.
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return {m for m in found if m == "snippets" or m.startswith("snippets.")}


def graph_of(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Who imports whom among ``sources`` (name -> the snippets modules it imports)."""
    return {
        name: imported_modules(name, source, is_package, sources)
        for name, (source, is_package) in sources.items()
    }


@functools.cache
def _sources_and_graph() -> tuple[dict[str, tuple[str, bool]], dict[str, set[str]]]:
    # Parsed once per process: every module's AST walk costs 0.4 s, and each test
    # module's first output asked for it again. Tests do not edit snippets/ as they run.
    sources = snippet_sources()
    return sources, graph_of(sources)


def import_graph() -> dict[str, set[str]]:
    return {name: set(found) for name, found in _sources_and_graph()[1].items()}


def import_closure(module: str, graph: dict[str, set[str]] | None = None) -> set[str]:
    """The module, every snippets module it imports directly or not, and their
    packages (whose ``__init__`` runs first)."""
    graph = import_graph() if graph is None else graph
    if module not in graph:
        raise ValueError(f"{module} is not a module of snippets/")
    found, todo = set(), [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for cut in range(1, len(parts) + 1):
            part = ".".join(parts[:cut])
            if part in graph and part not in found:
                found.add(part)
                todo.append(part)
        todo.extend(graph.get(name, set()) - found)
    return found


# What a program prints depends on its code, the code it imports, the pinned
# libraries, the interpreter and the numeric environment: nothing else (the programs
# read no files and use fixed seeds; the pages check their output to the digit).
_NUMERIC_ENV = (
    "OPENBLAS_CORETYPE",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def output_key(module: str, sources: dict[str, tuple[str, bool]] | None = None) -> str:
    """A digest of everything ``python -m <module>``'s output depends on."""
    if sources is None:
        sources, graph = _sources_and_graph()
    else:
        graph = graph_of(sources)
    digest = hashlib.sha256()
    for name in sorted(import_closure(module, graph)):
        digest.update(f"{name}\0{sources[name][0]}\0".encode())
    digest.update((ROOT / "requirements.lock").read_bytes())
    digest.update(f"{sys.version}\0{platform.machine()}\0".encode())
    for name in _NUMERIC_ENV:
        digest.update(f"{name}={os.environ.get(name, '')}\0".encode())
    return digest.hexdigest()[:20]


def cached_output(module: str, cache: Path) -> str:
    """The program's output from ``cache`` if its inputs are unchanged, else run it
    and keep the result (older entries for the module are removed)."""
    key = output_key(module)
    saved = cache / f"{module}.{key}.txt"
    if saved.is_file():
        return saved.read_text(encoding="utf-8")
    output = _run_module(module)
    if output_key(module, snippet_sources()) != key:  # edited as it ran: keep nothing
        return output
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{module}.*.txt"):
        stale.unlink()
    partial = saved.with_suffix(".part")
    partial.write_text(output, encoding="utf-8")
    partial.replace(saved)
    return output


def _run_module(module: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
        # The test process imported the module already; -m semantics are unaffected.
        warnings.filterwarnings("ignore", ".*found in sys.modules", RuntimeWarning)
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    return buffer.getvalue()


@functools.cache
def module_output(module: str) -> str:
    """What ``python -m <module>`` prints (in-process with runpy), once per test run.

    Several test files read the same program's output (its own tests, and the page's
    output check), often on different pytest-xdist workers: the first worker to ask
    runs the program under a file lock and leaves the output for the others, in a
    directory private to this run (``MLSD_SHARED_OUTPUTS``, set for each worker by
    tests/conftest.py inside pytest's own temporary directory of the run, which pytest
    cleans up). Without xdist, once per process.

    ``MLSD_OUTPUT_CACHE=<dir>`` (set by ``make check``) also keeps each output between
    runs, keyed by ``output_key``: a program whose code, imports, libraries and numeric
    environment are unchanged is not run again. ``make test`` and CI run every program.
    """
    run = _run_module
    if os.environ.get("MLSD_OUTPUT_CACHE"):  # `make check`: reuse across runs
        cache = Path(os.environ["MLSD_OUTPUT_CACHE"])
        run = functools.partial(cached_output, cache=cache)
    if not os.environ.get("MLSD_SHARED_OUTPUTS"):
        return run(module)
    shared = Path(os.environ["MLSD_SHARED_OUTPUTS"])
    shared.mkdir(parents=True, exist_ok=True)
    saved = shared / f"{module}.txt"
    with FileLock(str(shared / f"{module}.lock")):
        if saved.is_file():
            return saved.read_text(encoding="utf-8")
        output = run(module)
        saved.write_text(output, encoding="utf-8")
        return output


@functools.cache
def prose(name: str) -> str:
    """A page's text outside its fenced blocks: what the page claims in words."""
    lines = page_text(name).splitlines()
    inside = set()
    for fence in fences(name):
        inside.update(range(fence.line - 1, fence.end))  # opening to closing line
    return "\n".join(line for i, line in enumerate(lines) if i not in inside)


def assert_page_quotes(page: str, *numbers: str) -> None:
    """Fail unless every formatted number appears in the page's prose.

    Only the prose counts: an output block beside a stale sentence would otherwise
    satisfy the check with the fresh number.
    """
    text = prose(page)
    missing = [n for n in numbers if n not in text]
    assert not missing, (
        f"{page} does not quote {missing} in its prose (outside code blocks): "
        "update the page or the code"
    )


_NUMBER = re.compile(r"[\u2212+-]?\d[\d,]*(?:\.\d+)?")


def assert_page_says(page: str, *fragments: str) -> None:
    """The page's prose states each fragment (whitespace-insensitive), and each
    number in it, as assert_page_quotes checks them."""
    assert_page_quotes(page, *(n for f in fragments for n in _NUMBER.findall(f)))
    text = " ".join(prose(page).split())
    missing = [f for f in fragments if " ".join(f.split()) not in text]
    assert not missing, f"{page} does not say {missing} in its prose"


def typographic_minus(text: str) -> str:
    """Pages write negative numbers with a typographic minus (U+2212)."""
    return text.replace("-", "\u2212")


def output_rows(lines: list[str]) -> dict[str, list[str]]:
    """Table rows of a program's output, keyed by their first field."""
    return {line.split()[0]: line.split() for line in lines if line.strip()}


def line_starting(lines: list[str], start: str) -> str:
    """The first output line that starts with start."""
    return next(line for line in lines if line.startswith(start))


def replace_fence_body(page: str, fence: Fence, new_body: str) -> None:
    """Rewrite one fence's body on disk, keeping the fence's indentation.

    ``fence`` may be stale (parsed before an earlier rewrite moved the lines): the
    fence is found again on the page as it is now, by its info string and body.
    """
    page_text.cache_clear()
    prose.cache_clear()
    current = [f for f in fences(page) if f.info == fence.info and f.body == fence.body]
    if not current:
        raise LookupError(f"{fence.id} is no longer on the page as parsed")
    fence = min(current, key=lambda f: abs(f.line - fence.line))
    path = DOCS / page
    lines = path.read_text(encoding="utf-8").splitlines()
    start, end = fence.line, fence.end - 1  # 0-based: first body line, closing line
    indent = re.match(r"^[ \t]*", lines[fence.line - 1]).group(0)
    body = [indent + line if line else line for line in new_body.splitlines()]
    lines[start:end] = body
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page_text.cache_clear()
    prose.cache_clear()


@functools.cache
def mkdocs_config() -> dict:
    """mkdocs.yml as data (read once per process; see mlsd_docs.site)."""
    return site.mkdocs_config(ROOT / "mkdocs.yml")


def nav_pages() -> list[str]:
    """Every Markdown file of the nav, in nav order."""
    return [page.markdown for page in site.nav_pages(mkdocs_config())]


page_url = site.page_path  # 'concepts/x.md' -> 'concepts/x/'


# One line of the checklist (docs/concepts/index.md): "12. [Question?](page.md#anchor)",
# where the page is a concept family or, for the round itself, ../framework/<page>.md.
CHECKLIST_ITEM = re.compile(
    r"^(?P<n>\d+)\. \[(?P<question>[^\]]+)\]"
    r"\((?:\.\./(?P<folder>framework|problems)/)?(?P<page>[\w-]+\.md)#(?P<id>[\w-]+)\)$"
)


@dataclass(frozen=True)
class ChecklistItem:
    number: int
    question: str
    page: str  # docs-relative: "concepts/x.md" or "framework/y.md"
    anchor: str


def checklist() -> list[ChecklistItem]:
    """Every numbered question of the checklist, in order."""
    items = []
    for line in page_text("concepts/index.md").splitlines():
        if match := CHECKLIST_ITEM.match(line):
            folder = match["folder"] or "concepts"
            items.append(
                ChecklistItem(
                    int(match["n"]),
                    match["question"],
                    f"{folder}/{match['page']}",
                    match["id"],
                )
            )
    return items


_INTERVAL_NUMBER = r"[+-]?\d+\.\d+"


def paired_differences(
    output: str, label: str = r".+?"
) -> dict[tuple[str, str], tuple[float, float, float, bool]]:
    """A program's "Paired differences" block, parsed.

    Block lines name a comparison (``... minus ...:``); the indented lines under each
    give a label, the mean difference, its interval and, when it holds zero, "tie":
    returns (comparison, label) -> (mean, low, high, printed as a tie). ``label`` is a
    regular expression the labels must match (an unparsed line fails the test).
    """
    found, block = {}, None
    for line in output.split("Paired differences")[1].splitlines()[1:]:
        if not line.startswith(" "):
            block = line.rstrip(":")
            continue
        n = _INTERVAL_NUMBER
        match = re.match(rf"^\s+({label})\s+({n}) \[({n}), ({n})\]( +tie)?$", line)
        assert match, f"unparsed line {line!r}"
        values = (float(match[2]), float(match[3]), float(match[4]))
        found[block, match[1]] = (*values, bool(match[5]))
    return found
