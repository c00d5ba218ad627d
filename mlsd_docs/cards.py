"""Flashcards from the built site: an Anki deck and a CSV, one note per self-check.

``python -m mlsd_docs.cards --site site --out-dir site`` (``make cards``) reads the
built HTML of every nav page, takes every block carrying ``data-mlsd-check`` (written at
build time by ``mlsd_docs/self_checks.py``) and writes ``mlsd-cards.apkg`` and
``mlsd-cards.csv``:

- front: the question as the page shows it (a ``??? question`` summary, or a
  ``!!! question`` box's title and whatever it says before its folded answer);
- back: the answer's body as the site renders it (MathML kept, lazy templates expanded,
  code as plain ``<pre>``, links made absolute to ``site_url``) and a "Read on the
  site" link to the nearest ``q-`` anchor, else to the page;
- tags: the family (``framework``, ``concepts``, ``problems``...) and the page
  (``concepts::features``).

A card's id is ``<page path>#<data-mlsd-check>`` (the key progress.js uses too); the
note's guid is ``genanki.guid_for`` of that id, and the deck and model ids are fixed,
so re-importing a newer deck updates the cards instead of duplicating them.

The small HTML tree here (``parse_html``, ``serialize``, ``plain_text``) is the
standard library's parser keeping the case of SVG names (``viewBox``,
``foreignObject``); ``mlsd_docs/epub.py`` uses it too.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import yaml

from mlsd_docs.self_checks import CHECK_ATTRIBUTE
from mlsd_docs.site import ROOT

DECK_NAME = "ML system design interview guide"
# Chosen once (random 31-bit numbers); never change them, or Anki makes a second deck.
DECK_ID = 1_706_449_813
MODEL_ID = 1_291_740_587
APKG_NAME = "mlsd-cards.apkg"
CSV_NAME = "mlsd-cards.csv"
CSV_HEADER = ["id", "page", "family", "question", "answer", "url"]
LAZY_ATTRIBUTE = "data-mlsd-lazy"
_VOID_TAGS = "area base br col embed hr img input link meta param source track wbr"
_BLOCK_TAGS = """address article aside blockquote br dd details div dl dt figcaption
figure footer h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table
tbody td tfoot th thead tr ul"""
VOID = frozenset(_VOID_TAGS.split())
BLOCK = frozenset(_BLOCK_TAGS.split())
# Attributes the built pages carry for the site's scripts and search only.
_SITE_ATTRIBUTES = ("data-search-exclude", LAZY_ATTRIBUTE, "data-mlsd-check")
_ATTRIBUTE_NAME = re.compile(
    r"""\s([^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?"""
)


# ── A small HTML tree ────────────────────────────────────────────────────────
@dataclass
class Node:
    """An element (``tag``; None for a document) with attributes and children."""

    tag: str | None
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self) -> Iterator[Node]:
        """This element and every element under it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str) -> list[Node]:
        return [node for node in self.iter() if node.tag == tag]

    def elements(self) -> list[Node]:
        return [child for child in self.children if isinstance(child, Node)]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node(None)
        self.stack = [self.root]

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> Node:
        raw = self.get_starttag_text() or ""
        name = re.match(r"<([^\s/>]+)", raw)
        names = _ATTRIBUTE_NAME.findall(raw[name.end() :] if name else "")
        # HTMLParser lower-cases names; SVG needs viewBox, foreignObject...
        if len(names) == len(attrs) and all(
            n.lower() == a for n, (a, _) in zip(names, attrs, strict=True)
        ):
            attrs = [(n, v) for n, (_, v) in zip(names, attrs, strict=True)]
        real_tag = name.group(1) if name and name.group(1).lower() == tag else tag
        node = Node(real_tag, dict(attrs))
        self.stack[-1].children.append(node)
        return node

    def handle_starttag(self, tag, attrs):
        node = self._element(tag, attrs)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if (self.stack[depth].tag or "").lower() == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    """The tree of an HTML document or fragment (comments and doctypes dropped)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def serialize(node: Node | str, xml: bool = False) -> str:
    """HTML (or, with xml, well-formed XHTML) of a node and everything under it."""
    if isinstance(node, str):
        return html.escape(node, quote=False)
    inner = "".join(serialize(child, xml) for child in node.children)
    if node.tag is None:
        return inner
    attrs = "".join(
        f' {name}="{html.escape(name if value is None and xml else value or "")}"'
        for name, value in node.attrs.items()
    )
    if node.tag.lower() in VOID and not node.children:
        return f"<{node.tag}{attrs} />" if xml else f"<{node.tag}{attrs}>"
    return f"<{node.tag}{attrs}>{inner}</{node.tag}>"


def plain_text(node: Node | str) -> str:
    """Readable text: blocks on their own lines, code verbatim, spaces collapsed."""
    parts: list[str] = []

    def walk(item: Node | str, in_pre: bool) -> None:
        if isinstance(item, str):
            parts.append(item if in_pre else re.sub(r"\s+", " ", item))
            return
        if item.tag in ("style", "script"):
            return
        block = item.tag in BLOCK
        if block:
            parts.append("\n")
        for child in item.children:
            walk(child, in_pre or item.tag == "pre")
        if block:
            parts.append("\n")

    walk(node, False)
    text = "\n".join(line.rstrip() for line in "".join(parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ── The site ─────────────────────────────────────────────────────────────────
class _MkdocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without resolving its !ENV and !!python tags."""


_MkdocsLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
_MkdocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/", lambda loader, suffix, node: None
)


def mkdocs_config(config: Path = ROOT / "mkdocs.yml") -> dict:
    return yaml.load(config.read_text(encoding="utf-8"), Loader=_MkdocsLoader)


def site_url(config: dict | None = None) -> str:
    """The published site's URL, ending with a slash."""
    url = (config or mkdocs_config())["site_url"]
    return url if url.endswith("/") else url + "/"


def nav_entries(config: dict | None = None) -> list[tuple[str, str | None, tuple]]:
    """(Markdown file, its nav title or None, its section titles) in nav order."""
    found: list[tuple[str, str | None, tuple]] = []

    def walk(items, sections: tuple) -> None:
        for item in items:
            title, value = (
                next(iter(item.items()))
                if isinstance(item, dict)
                else (
                    None,
                    item,
                )
            )
            if isinstance(value, list):
                walk(value, (*sections, title))
            elif isinstance(value, str) and value.endswith(".md"):
                found.append((value, title, sections))

    walk((config or mkdocs_config())["nav"], ())
    return found


def page_path(markdown: str) -> str:
    """The site-relative URL path of a page: 'concepts/x.md' -> 'concepts/x/'."""
    stem = markdown.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def built_page(site: Path, path: str) -> Path:
    return Path(site) / path / "index.html"


def article(page_html: str) -> Node:
    """The page's ``<article>`` (its content, without the site's chrome)."""
    start = page_html.find("<article")
    end = page_html.find("</article>", start)
    if start < 0 or end < 0:
        raise ValueError("no <article> in the page")
    tree = parse_html(page_html[start : end + len("</article>")])
    return tree.find_all("article")[0]


# ── Cleaning a block for reading off the site ───────────────────────────────
def expand_templates(node: Node) -> None:
    """Put each lazy ``<template>``'s content in its place (what the page's JS does)."""
    for parent in list(node.iter()):
        if any(
            isinstance(c, Node) and c.tag == "template" and LAZY_ATTRIBUTE in c.attrs
            for c in parent.children
        ):
            expanded: list[Node | str] = []
            for child in parent.children:
                lazy = isinstance(child, Node) and child.tag == "template"
                if lazy and LAZY_ATTRIBUTE in child.attrs:
                    expanded.extend(child.children)
                else:
                    expanded.append(child)
            parent.children = expanded


def plain_code(node: Node) -> None:
    """Highlighted listings become ``<pre><code>text</code></pre>``; the file name, if
    any, a caption above; permalink anchors and empty spans go."""
    for parent in list(node.iter()):
        children: list[Node | str] = []
        for child in parent.children:
            if isinstance(child, Node) and _is_listing(child):
                title = [c for c in child.elements() if "filename" in c.classes]
                if title:
                    caption = Node("p", {"class": "code-title"}, [plain_text(title[0])])
                    children.append(caption)
                for pre in child.find_all("pre"):
                    code = Node("code", {}, [_pre_text(pre)])
                    children.append(Node("pre", {}, [code]))
            else:
                children.append(child)
        parent.children = children


def _is_listing(node: Node) -> bool:
    return (
        node.tag == "div" and "highlight" in node.classes and bool(node.find_all("pre"))
    )


def _pre_text(pre: Node) -> str:
    parts: list[str] = []

    def walk(item: Node | str) -> None:
        if isinstance(item, str):
            parts.append(item)
        elif not (item.tag == "a" and not item.children):  # line-number anchors
            for child in item.children:
                walk(child)

    walk(pre)
    return "".join(parts).strip("\n") + "\n"


def drop(node: Node, unwanted) -> None:
    """Remove every element under node for which unwanted(element) is true."""
    for parent in list(node.iter()):
        parent.children = [
            c for c in parent.children if not (isinstance(c, Node) and unwanted(c))
        ]


def is_headerlink(node: Node) -> bool:
    return node.tag == "a" and "headerlink" in node.classes


def strip_site_attributes(node: Node) -> None:
    for element in node.iter():
        for name in _SITE_ATTRIBUTES:
            element.attrs.pop(name, None)


def absolute_links(node: Node, base: str) -> None:
    """Relative href/src made absolute against the page's URL on the site."""
    for element in node.iter():
        for name in ("href", "src"):
            value = element.attrs.get(name)
            if value is not None:
                element.attrs[name] = urljoin(base, value)


def clean(nodes: list[Node | str], base: str) -> Node:
    """A fragment holding copies of nodes, made readable off the site."""
    fragment = Node(None, {}, [_copy(n) for n in nodes])
    expand_templates(fragment)
    plain_code(fragment)
    drop(fragment, lambda n: is_headerlink(n) or n.tag in ("script", "input"))
    strip_site_attributes(fragment)
    absolute_links(fragment, base)
    return fragment


def _copy(item: Node | str) -> Node | str:
    if isinstance(item, str):
        return item
    return Node(item.tag, dict(item.attrs), [_copy(c) for c in item.children])


# ── Cards ────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Card:
    id: str  # "<page path>#<data-mlsd-check>"
    page: str  # "concepts/features/"
    family: str
    question_html: str
    question: str
    answer_html: str
    answer: str
    url: str
    tags: tuple[str, ...]


def family_of(path: str) -> str:
    return path.split("/")[0] or "home"


def page_tag(path: str) -> str:
    """'concepts/features/' -> 'concepts::features'; a family's index ends '::index'."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) == 1:
        parts.append("index")
    return "::".join(parts) or "home"


def question_and_answer(block: Node) -> tuple[list, list]:
    """(the nodes that ask, the nodes that answer) of a self-check block."""
    if block.tag == "details":
        summary = block.elements()[0]
        start = block.children.index(summary)
        return summary.children, block.children[start + 1 :]
    answer = next(c for c in block.elements() if c.tag == "details")
    title = next(c for c in block.elements() if "admonition-title" in c.classes)
    asked = block.children[
        block.children.index(title) + 1 : block.children.index(answer)
    ]
    ask = [*title.children]
    if any(isinstance(c, Node) or c.strip() for c in asked):
        ask = [Node("p", {}, list(title.children)), *asked]
    summary = answer.elements()[0]
    return ask, answer.children[answer.children.index(summary) + 1 :]


def anchors_before(tree: Node) -> dict[int, str]:
    """For each self-check (by id()), the q- anchor placed just before it, if any."""
    found: dict[int, str] = {}
    pending: str | None = None
    for element in tree.iter():
        if CHECK_ATTRIBUTE in element.attrs:
            if pending:
                found[id(element)] = pending
            pending = None
        elif (element.attrs.get("id") or "").startswith("q-"):
            pending = element.attrs["id"]
        elif element.tag in BLOCK and element.tag != "p":
            pending = None  # an anchor names the block right after it only
    return found


def page_cards(site: Path, path: str, url: str) -> list[Card]:
    """The cards of one built page."""
    tree = article(built_page(site, path).read_text(encoding="utf-8"))
    base = url + path
    anchors = anchors_before(tree)
    cards = []
    for block in tree.iter():
        check = block.attrs.get(CHECK_ATTRIBUTE)
        if check is None:
            continue
        ask, answer = question_and_answer(block)
        question, body = clean(ask, base), clean(answer, base)
        anchor = block.attrs.get("id") or anchors.get(id(block))
        link = base + (f"#{anchor}" if anchor else "")
        family = family_of(path)
        cards.append(
            Card(
                id=f"{path}#{check}",
                page=path,
                family=family,
                question_html=serialize(question).strip(),
                question=" ".join(plain_text(question).split()),
                answer_html=serialize(body).strip(),
                answer=plain_text(body),
                url=link,
                tags=(family, page_tag(path)),
            )
        )
    return cards


def collect_cards(site: Path, config: dict | None = None) -> list[Card]:
    """Every self-check of every nav page, in nav order."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise ValueError(f"{site} is not a built site (no index.html)")
    config = config or mkdocs_config()
    url = site_url(config)
    cards = [
        card
        for markdown, _, _ in nav_entries(config)
        for card in page_cards(site, page_path(markdown), url)
    ]
    ids = [card.id for card in cards]
    if len(set(ids)) != len(ids):
        raise ValueError("two self-checks share an id")
    return cards


def csv_text(cards: list[Card]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for c in cards:
        writer.writerow([c.id, c.page, c.family, c.question, c.answer, c.url])
    return out.getvalue()


CARD_CSS = """\
.card { font-family: system-ui, sans-serif; font-size: 18px; line-height: 1.45;
  text-align: left; max-width: 42em; margin: 0 auto; color: black; background: white; }
.nightMode .card, .night_mode .card { color: #e6e6e6; background: #1e1e1e; }
pre { white-space: pre-wrap; font-size: 0.8em; background: rgba(127,127,127,.12);
  padding: .5em; border-radius: 4px; }
table { border-collapse: collapse; }
td, th { border: 1px solid #999; padding: 2px 6px; }
.code-title { font-family: monospace; font-size: .8em; margin-bottom: 0; }
.source { font-size: .85em; margin-top: 1.5em; }
"""


def model():
    import genanki

    return genanki.Model(
        MODEL_ID,
        "mlsd-guide self-check",
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Link"}],
        templates=[
            {
                "name": "Self-check",
                "qfmt": "{{Question}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}'
                '<p class="source">{{Link}}</p>',
            }
        ],
        css=CARD_CSS,
    )


def note_fields(card: Card) -> list[str]:
    link = f'<a href="{html.escape(card.url)}">Read on the site</a>'
    return [card.question_html, card.answer_html, link]


def write_apkg(cards: list[Card], out: Path) -> Path:
    import genanki

    deck = genanki.Deck(DECK_ID, DECK_NAME)
    note_model = model()
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=note_model,
                fields=note_fields(card),
                guid=genanki.guid_for(card.id),
                tags=list(card.tags),
            )
        )
    genanki.Package(deck).write_to_file(str(out))
    return Path(out)


def build(site: Path, out_dir: Path) -> tuple[Path, Path, int]:
    """Write the deck and the CSV into out_dir; return their paths and the count."""
    cards = collect_cards(site)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / CSV_NAME
    csv_path.write_text(csv_text(cards), encoding="utf-8", newline="")
    return write_apkg(cards, out_dir / APKG_NAME), csv_path, len(cards)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    apkg, csv_path, count = build(args.site, args.out_dir or args.site)
    print(f"{count} cards: {apkg} and {csv_path}")


if __name__ == "__main__":
    main()
