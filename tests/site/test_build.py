"""The strict build passes and the built HTML never reaches for another host."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from guide import mkdocs_config, page_text

# Links readers follow (<a href>) may point anywhere; what the page *loads* may not.
LOADING = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("object", "data"),
    ("embed", "src"),
    ("image", "href"),
    ("use", "href"),
}
CSS_URL = re.compile(r"""url\(\s*['"]?(?P<url>[^'")\s]+)""")
CSS_IMPORT = re.compile(r"""@import\s+['"](?P<url>[^'"]+)""")


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and attributes.get("rel") in {"canonical", "alternate"}:
            return  # metadata, not loaded
        for name in ("src", "href", "data", "xlink:href"):
            if (tag, name.split(":")[-1]) in LOADING and attributes.get(name):
                self.urls.append(attributes[name])
        if attributes.get("style"):
            self.urls += [m["url"] for m in CSS_URL.finditer(attributes["style"])]


def _is_external(url: str) -> bool:
    parsed = urlparse(url)
    return (
        bool(parsed.netloc)
        or parsed.scheme in {"http", "https"}
        or url.startswith("//")
    )


def test_strict_build_passes(built_site):
    assert (built_site / "index.html").is_file()
    assert (built_site / "concepts" / "classification-metrics" / "index.html").is_file()
    assert (built_site / "search" / "search_index.json").is_file()


def test_built_site_loads_nothing_from_another_host(built_site):
    offenders = []
    for html_file in built_site.rglob("*.html"):
        parser = _Loads()
        text = html_file.read_text(encoding="utf-8")
        parser.feed(text)
        urls = parser.urls + [m["url"] for m in CSS_URL.finditer(text)]
        offenders += [
            f"{html_file.relative_to(built_site)}: {u}" for u in urls if _is_external(u)
        ]
    for css in built_site.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        urls = [m["url"] for m in CSS_URL.finditer(text)]
        urls += [m["url"] for m in CSS_IMPORT.finditer(text)]
        offenders += [
            f"{css.relative_to(built_site)}: {u}" for u in urls if _is_external(u)
        ]
    assert not offenders, "external resources:\n" + "\n".join(
        sorted(set(offenders))[:20]
    )


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str, set[str]]] = []  # (src, its loading attributes)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            loading = {"defer", "async"} & attributes.keys()
            if attributes.get("type") == "module":
                loading.add("module")
            self.scripts.append((attributes["src"], loading))


def test_every_script_is_deferred_materials_bundle_first(built_site):
    # A synchronous script that arrives before the first paint counts as render-
    # blocking in Lighthouse: problem pages lost FCP and TBT to them. Material's bundle
    # (deferred by overrides/main.html) runs first, then ours in mkdocs.yml's order.
    ours = [
        entry["path"].rsplit("/", 1)[-1] for entry in mkdocs_config()["extra_javascript"]
    ]
    assert len(ours) == 5
    for html_file in sorted(built_site.rglob("index.html")):
        parser = _Scripts()
        parser.feed(html_file.read_text(encoding="utf-8"))
        if not parser.scripts:
            continue  # the print-only page, say
        page = html_file.relative_to(built_site)
        names = [src.rsplit("/", 1)[-1] for src, _ in parser.scripts]
        blocking = [name for name, (_, how) in zip(names, parser.scripts) if not how]
        assert blocking == [], f"{page}: blocking scripts {blocking}"
        assert all(how == {"defer"} for _, how in parser.scripts), f"{page}: async?"
        # The template's scripts: the bundle, then ours (a page's own, such as the
        # mock interview's, comes earlier in the document and runs before them).
        theme = [n for n in names if n in ours or n.startswith("bundle.")]
        assert re.fullmatch(r"bundle\.[0-9a-f]+\.min\.js", theme[0]), f"{page}: {names}"
        assert theme[1:] == ours, f"{page}: {names}"


def test_no_cdn_hosts_anywhere_in_the_built_assets(built_site):
    cdn = re.compile(r"fonts\.googleapis|fonts\.gstatic|unpkg\.com|cdn\.jsdelivr|cdnjs")
    hits = [
        str(path.relative_to(built_site))
        for path in built_site.rglob("*")
        if path.suffix in {".html", ".css"}
        and cdn.search(path.read_text(encoding="utf-8"))
    ]
    assert not hits, f"CDN hosts referenced by {hits}"


@pytest.mark.parametrize("page", ["concepts/classification-metrics"])
def test_mermaid_fences_become_inline_svg(built_site, page):
    html = (built_site / page / "index.html").read_text(encoding="utf-8")
    source = page_text(f"{page}.md")
    expected = source.count("```mermaid")
    assert expected >= 1
    assert len(re.findall(r'<div class="diagram"[^>]*><svg', html)) == expected
    assert html.count('<svg id="mmd-') == expected, (
        "one SVG per diagram, not one per scheme"
    )
    assert 'class="mermaid"' not in html, "Material would fetch mermaid.js from a CDN"
    outside_svg = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    assert "language-mermaid" not in html
    assert "--&gt;" not in outside_svg, "raw Mermaid source leaked into the page"


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_search_finds_questions_but_not_their_folded_answers(built_site):
    """The index holds each self-check question; previews never show a folded answer."""
    index = json.loads((built_site / "search" / "search_index.json").read_text())
    indexed = _words(" ".join(d["title"] + " " + d["text"] for d in index["docs"]))
    page = built_site / "concepts" / "classification-metrics" / "index.html"
    html = page.read_text(encoding="utf-8")
    answers = re.findall(r'<p data-search-exclude="">(.*?)</p>', html, re.S)
    questions = re.findall(
        r'<details class="question"[^>]*>\s*<summary>(.*?)</summary>', html, re.S
    )
    assert len(answers) >= 5 and len(questions) >= 3, (len(answers), len(questions))
    for answer in answers:
        opening = " ".join(_words(answer).split()[:8])
        assert opening not in indexed, opening
    for question in questions:
        assert _words(question) in indexed, question
    # Code listings are not indexed either: they were almost half of its text.
    assert not any("<pre>" in d["text"] for d in index["docs"])
