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
