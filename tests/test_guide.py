"""The page helpers the contract tests rely on: prose extraction and block rewriting."""

from __future__ import annotations

import guide
import pytest

PAGE = """# Title

The model scores 0.91 in prose.

```text title="python -m snippets.a"
auc 0.87
```

    ```text title="python -m snippets.b"
    old
    ```
"""


@pytest.fixture
def docs(tmp_path, monkeypatch):
    monkeypatch.setattr(guide, "DOCS", tmp_path)
    guide.page_text.cache_clear()
    guide.prose.cache_clear()
    (tmp_path / "p.md").write_text(PAGE, encoding="utf-8")
    yield tmp_path
    guide.page_text.cache_clear()
    guide.prose.cache_clear()


def test_prose_leaves_out_every_fence(docs):
    text = guide.prose("p.md")
    assert "0.91" in text
    assert "0.87" not in text and "old" not in text and "```" not in text


def test_quotes_found_only_in_an_output_block_fail(docs):
    guide.assert_page_quotes("p.md", "0.91")
    with pytest.raises(AssertionError, match=r"does not quote \['0.87'\]"):
        guide.assert_page_quotes("p.md", "0.87")


def test_rewriting_blocks_one_after_another_uses_fresh_positions(docs):
    first, second = guide.fences("p.md")
    guide.replace_fence_body("p.md", first, "auc 0.88\nap 0.40\nlog loss 0.12")
    guide.replace_fence_body("p.md", second, "new")  # parsed before the first grew
    text = (docs / "p.md").read_text(encoding="utf-8")
    assert "auc 0.88\nap 0.40\nlog loss 0.12\n```" in text
    assert '    ```text title="python -m snippets.b"\n    new\n    ```' in text
    assert text.count("```") == 4


# ── The output cache of `make check` ─────────────────────────────────────────
SOURCES = {
    "snippets": ("", True),
    "snippets.common": ("", True),
    "snippets.common.a": ("X = 1\n", False),
    "snippets.concepts": ("", True),
    "snippets.concepts.b": ("def f():\n    from snippets.common.a import X\n", False),
    "snippets.concepts.c": ("Y = 2\n", False),
}


def test_the_closure_holds_imports_inside_functions_and_the_packages():
    graph = {
        name: guide.imported_modules(name, source, is_package, SOURCES)
        for name, (source, is_package) in SOURCES.items()
    }
    assert guide.import_closure("snippets.concepts.b", graph) == {
        "snippets",
        "snippets.common",
        "snippets.common.a",
        "snippets.concepts",
        "snippets.concepts.b",
    }
    with pytest.raises(ValueError, match="not a module"):
        guide.import_closure("snippets.nowhere", graph)


def test_the_key_changes_with_what_the_program_runs_and_nothing_else(monkeypatch):
    key = guide.output_key("snippets.concepts.b", SOURCES)
    edited_import = {**SOURCES, "snippets.common.a": ("X = 2\n", False)}
    assert guide.output_key("snippets.concepts.b", edited_import) != key
    edited_package = {**SOURCES, "snippets.concepts": ("import os\n", True)}
    assert guide.output_key("snippets.concepts.b", edited_package) != key
    unrelated = {**SOURCES, "snippets.concepts.c": ("Y = 3\n", False)}
    assert guide.output_key("snippets.concepts.b", unrelated) == key
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    assert guide.output_key("snippets.concepts.b", SOURCES) != key


def test_a_cached_output_is_reused_until_its_key_changes(tmp_path, monkeypatch):
    runs = []

    def fake_run(module):
        runs.append(module)
        return f"run {len(runs)}\n"

    monkeypatch.setattr(guide, "_run_module", fake_run)
    monkeypatch.setattr(guide, "output_key", lambda module, sources=None: "k1")
    assert guide.cached_output("snippets.x", tmp_path) == "run 1\n"
    assert guide.cached_output("snippets.x", tmp_path) == "run 1\n"
    assert runs == ["snippets.x"]
    monkeypatch.setattr(guide, "output_key", lambda module, sources=None: "k2")
    assert guide.cached_output("snippets.x", tmp_path) == "run 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snippets.x.k2.txt"]


def test_an_output_whose_code_changed_while_it_ran_is_not_kept(tmp_path, monkeypatch):
    # The key before the run comes from the sources read at the start of the process;
    # the one after, from the files as they are now.
    monkeypatch.setattr(guide, "_run_module", lambda module: "new code's output\n")
    monkeypatch.setattr(
        guide,
        "output_key",
        lambda module, sources=None: "old" if sources is None else "new",
    )
    assert guide.cached_output("snippets.x", tmp_path) == "new code's output\n"
    assert list(tmp_path.iterdir()) == []
