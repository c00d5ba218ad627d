"""A small HTML tree for reading the built site: parse, clean, serialize, plain text.

The standard library's parser builds the tree, keeping the case of SVG names
(``viewBox``, ``foreignObject``) that it would lower-case. The deck
(``mlsd_docs/cards.py``) and the e-book (``mlsd_docs/epub.py``) both read pages with
it: ``article`` takes a page's content, ``expand_templates`` and ``plain_code`` undo
what the site does for speed and colour, ``serialize`` writes HTML or well-formed
XHTML, and ``plain_text`` gives readable text (for the CSV), math included.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

LAZY_ATTRIBUTE = "data-mlsd-lazy"
_VOID_TAGS = "area base br col embed hr img input link meta param source track wbr"
_BLOCK_TAGS = """address article aside blockquote br dd details div dl dt figcaption
figure footer h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table
tbody td tfoot th thead tr ul"""
VOID = frozenset(_VOID_TAGS.split())
BLOCK = frozenset(_BLOCK_TAGS.split())
RAW_TEXT = frozenset({"style", "script"})
_ONE_UNIT = re.compile(r".|\w+(?:[_^]\w+)*")  # x, 42, c_fp, x^2: no brackets
_ATTRIBUTE_NAME = re.compile(
    r"""\s([^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?"""
)


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
    if not xml and (node.tag or "").lower() in RAW_TEXT:
        # HTML reads <style>/<script> text raw: escaping would break "a > b".
        inner = "".join(
            child if isinstance(child, str) else serialize(child)
            for child in node.children
        )
    else:
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


def _math_text(node: Node | str) -> str:
    """MathML as linear text: subscripts after '_', superscripts after '^',
    fractions as a/b; a script or a fraction part that is more than one name or
    number is bracketed so it stays one unit."""
    if isinstance(node, str):
        return " ".join(node.split())
    parts = [_math_text(child) for child in node.elements()]
    if node.tag in ("annotation", "annotation-xml"):
        return ""
    if node.tag == "semantics":
        return parts[0] if parts else ""

    def unit(text: str) -> str:
        return text if _ONE_UNIT.fullmatch(text) else f"({text})"

    if node.tag == "msub" and len(parts) == 2:
        return f"{parts[0]}_{unit(parts[1])}"
    if node.tag == "msup" and len(parts) == 2:
        return f"{parts[0]}^{unit(parts[1])}"
    if node.tag == "msubsup" and len(parts) == 3:
        return f"{parts[0]}_{unit(parts[1])}^{unit(parts[2])}"
    if node.tag == "mfrac" and len(parts) == 2:
        return f"{unit(parts[0])}/{unit(parts[1])}"
    if node.tag == "msqrt":
        return f"sqrt({''.join(parts)})"
    if not node.elements():
        return " ".join("".join(map(str, node.children)).split())
    return "".join(parts)


def plain_text(node: Node | str) -> str:
    """Readable text: blocks on their own lines, code verbatim, spaces collapsed,
    math and sub/superscripts written linearly (``c_fp/(c_fp+c_fn)``, ``p_t``)."""
    parts: list[str] = []

    def walk(item: Node | str, in_pre: bool) -> None:
        if isinstance(item, str):
            parts.append(item if in_pre else re.sub(r"\s+", " ", item))
            return
        if item.tag in RAW_TEXT:
            return
        if item.tag == "math":
            parts.append(_math_text(item))
            return
        if item.tag in ("sub", "sup") and not in_pre:  # α~t~, x^2^ in prose
            text = " ".join(plain_text(Node(None, {}, item.children)).split())
            script = "_" if item.tag == "sub" else "^"
            parts.append(script + (text if len(text) <= 1 else f"({text})"))
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


def article(page_html: str) -> Node:
    """The page's ``<article>`` (its content, without the site's chrome)."""
    start = page_html.find("<article")
    end = page_html.find("</article>", start)
    if start < 0 or end < 0:
        raise ValueError("no <article> in the page")
    tree = parse_html(page_html[start : end + len("</article>")])
    return tree.find_all("article")[0]


def copy_node(item: Node | str) -> Node | str:
    """A deep copy (cleaning one reader's copy leaves the page's tree as it was)."""
    if isinstance(item, str):
        return item
    return Node(item.tag, dict(item.attrs), [copy_node(c) for c in item.children])


# ── Undoing the site's speed and colour ──────────────────────────────────────
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


def drop(node: Node, unwanted: Callable[[Node], bool]) -> None:
    """Remove every element under node for which unwanted(element) is true."""
    for parent in list(node.iter()):
        parent.children = [
            c for c in parent.children if not (isinstance(c, Node) and unwanted(c))
        ]


def is_headerlink(node: Node) -> bool:
    return node.tag == "a" and "headerlink" in node.classes
