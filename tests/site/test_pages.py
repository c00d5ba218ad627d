"""The docs-as-code contract: every piece of code a page shows is real and tested."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap

import pytest
from guide import (
    ROOT,
    all_fences,
    fences,
    module_output,
    page_name,
    page_text,
    pages,
    replace_fence_body,
    resolve_include,
    sections,
    snippet_modules,
)

FENCES = all_fences()
OUTPUT_BLOCKS = [f for f in FENCES if f.output_of]
INLINE_PYTHON = [
    f
    for f in FENCES
    if f.language in {"python", "py", "pycon"} and not f.is_include_only
]
INCLUDES = [(f, target) for f in FENCES for target in f.includes]


def test_the_guide_has_pages_and_snippets():
    assert len(pages()) >= 5
    assert snippet_modules(), "no runnable snippet module found"
    assert OUTPUT_BLOCKS, "no page shows the output of a snippet"


@pytest.mark.parametrize("fence", OUTPUT_BLOCKS, ids=lambda f: f.id)
def test_output_shown_is_output_produced(fence, request):
    produced = module_output(fence.output_of).rstrip("\n")
    shown = fence.body.rstrip("\n")
    if shown != produced and request.config.getoption("--update-outputs"):
        replace_fence_body(fence.page, fence, produced)
        pytest.skip(f"{fence.id}: output block rewritten from the program")
    assert shown == produced, (
        f"{fence.id} shows output that `python -m {fence.output_of}` does not print.\n"
        f"--- page\n{shown}\n--- code\n{produced}"
    )


@pytest.mark.parametrize("module", snippet_modules())
def test_every_program_has_its_output_on_a_page(module):
    shown = {f.output_of for f in OUTPUT_BLOCKS}
    assert module in shown, (
        f"no page shows what `python -m {module}` prints: add a "
        f'```text title="python -m {module}"``` block'
    )


@pytest.mark.parametrize("module", snippet_modules())
def test_every_snippet_module_has_a_test_file(module):
    parts = module.split(".")[1:]
    test_file = ROOT / "tests" / "/".join(parts[:-1]) / f"test_{parts[-1]}.py"
    assert test_file.is_file(), (
        f"{module} has no tests at {test_file.relative_to(ROOT)}"
    )


@pytest.mark.parametrize("fence", INLINE_PYTHON, ids=lambda f: f.id)
def test_inline_python_runs(fence):
    """Short inline blocks are allowed because this test runs each of them."""
    code = textwrap.dedent(fence.body)
    assert "--8<--" not in code, f"{fence.id} mixes an include with inline code"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, fence.id, "exec"), {"__name__": "__page__"})
    assert printed.getvalue().strip(), f"{fence.id} shows the reader no result"


def test_the_api_page_example_prints_what_scikit_learn_computes():
    """The one inline example (reference/api.md) computes average precision."""
    from sklearn.metrics import average_precision_score

    (fence,) = [f for f in INLINE_PYTHON if f.id.startswith("reference/api.md")]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(textwrap.dedent(fence.body), fence.id, "exec"), {})
    assert "average_precision([0, 1, 1], [0.1, 0.8, 0.4])" in fence.body
    expected = average_precision_score([0, 1, 1], [0.1, 0.8, 0.4])
    assert float(printed.getvalue()) == pytest.approx(expected)


@pytest.mark.parametrize("fence,target", INCLUDES, ids=lambda x: getattr(x, "id", x))
def test_include_resolves_to_a_named_section(fence, target):
    path, section = resolve_include(target)
    assert path is not None, f"{fence.id} includes {target!r}, which does not exist"
    if section is not None:
        assert section in sections(path), (
            f"{fence.id} includes section {section!r}, which {path.name} does not mark"
        )
        assert sections(path)[section].strip(), f"section {section!r} is empty"


def test_no_orphan_code():
    """Every named section of every snippet is shown by some page."""
    shown: set[tuple[str, str | None]] = set()
    for _, target in INCLUDES:
        path, section = resolve_include(target)
        if path is not None:
            shown.add((path.as_posix(), section))
    orphans = []
    for path in sorted((ROOT / "snippets").rglob("*.py")):
        if (path.as_posix(), None) in shown:
            continue  # the whole file is shown
        orphans += [
            f"{path.relative_to(ROOT)}:{name}"
            for name in sections(path)
            if (path.as_posix(), name) not in shown
        ]
    assert not orphans, f"sections no page shows: {orphans}"


def test_python_fences_use_a_form_superfences_renders():
    """```python notest renders as a paragraph, silently: allow known forms only."""
    bad = [
        f.id
        for f in FENCES
        if f.language in {"python", "py"}
        and f.info.strip() not in {"python", "py"}
        and not f.info.strip().startswith(("python title=", "py title=", "{"))
    ]
    assert not bad, f"python fences with an info string superfences ignores: {bad}"


LONGEST_SHOWN_LISTING = 25  # lines; longer listings are folded (STYLE.md)
_FOLDED_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\?\?\? ")


def shown_lines(fence) -> int:
    """How many lines of code an include-only fence shows on the page."""
    total = 0
    for target in fence.includes:
        path, section = resolve_include(target)
        if path is not None:
            body = sections(path).get(section, "") if section else path.read_text()
            total += len(body.strip("\n").splitlines())
    return total


def is_folded(fence) -> bool:
    """Inside a collapsed ``??? ...`` block: an opener above it at lower indentation."""
    lines = page_text(fence.page).splitlines()
    indent = len(lines[fence.line - 1]) - len(lines[fence.line - 1].lstrip())
    for line in reversed(lines[: fence.line - 1]):
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth < indent:
            return bool(_FOLDED_BLOCK.match(line))
    return False


@pytest.mark.parametrize("path", pages(), ids=page_name)
def test_long_listings_are_folded(path):
    """A listing over 25 lines sits behind "Show the code"; its output stays visible."""
    long_open = [
        f"{f.id} ({shown_lines(f)} lines)"
        for f in fences(page_name(path))
        if f.language in {"python", "py"}
        and f.is_include_only
        and shown_lines(f) > LONGEST_SHOWN_LISTING
        and not is_folded(f)
    ]
    assert not long_open, f"fold these into ??? example blocks: {long_open}"


UNFINISHED = re.compile(
    r"\b(todo|tbd|fixme|lorem ipsum|coming soon|placeholder)\b", re.I
)


@pytest.mark.parametrize("path", pages(), ids=page_name)
def test_pages_have_no_unfinished_text(path):
    match = UNFINISHED.search(path.read_text(encoding="utf-8"))
    assert match is None, f"{page_name(path)} contains {match[0]!r}"
