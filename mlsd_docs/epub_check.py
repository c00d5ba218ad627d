"""A structural validator for EPUB 3 files: what epubcheck would catch, without Java.

``validate(path)`` returns a list of problems (empty when none are found):

- the zip: ``mimetype`` first, stored, no extra field; every member readable;
- the container points at the package; the package (version 3.0, identifier, title,
  language, one ``dcterms:modified``), its manifest against the zip both ways, a
  spine of manifest XHTML, exactly one nav document that lists every spine chapter;
- every XML file well-formed; XHTML roots, unique ids, svg/mathml/scripted properties
  as declared, SVG labels in XHTML's namespace;
- every local reference present (fragments too), every XHTML a hyperlink reaches in
  the spine; no resource (``src``, ``srcset``, ``poster``, ``data``, ``href`` of a
  style sheet or image, CSS ``url()`` and ``@import``) loaded from the web or through
  any scheme but ``data:``.

Content models (which element may hold which) are epubcheck's schema work and not
checked here. ``mlsd_docs/epub.py`` builds the book and runs this on it.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

XHTML_NS = "http://www.w3.org/1999/xhtml"
SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XLINK_NS = "http://www.w3.org/1999/xlink"
OPF_NS = "http://www.idpf.org/2007/opf"
EPUB_NS = "http://www.idpf.org/2007/ops"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
MEDIA_TYPES = {
    ".xhtml": "application/xhtml+xml",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
XHTML = MEDIA_TYPES[".xhtml"]
# The attributes through which an element loads a resource (<a href> only links).
RESOURCE_ATTRIBUTES = {
    "img": {"src", "srcset"},
    "image": {"href"},
    "link": {"href"},
    "script": {"src"},
    "source": {"src", "srcset"},
    "audio": {"src"},
    "video": {"src", "poster"},
    "track": {"src"},
    "input": {"src"},
    "object": {"data"},
    "iframe": {"src"},
    "embed": {"src"},
    "use": {"href"},
}
_REFERENCE_ATTRIBUTES = {"href", "src", "data", "poster", "srcset"}
_CSS_REFERENCE = re.compile(
    r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)['"]""", re.IGNORECASE
)
_MODIFIED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _parse(data: bytes, name: str, problems: list[str]) -> ElementTree.Element | None:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        problems.append(f"{name}: not well-formed XML ({error})")
        return None


def _resolve(base_file: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_file), path))


def references(root: ElementTree.Element) -> list[tuple[str, str, str, bool]]:
    """(element, attribute, value, is a resource load) of every reference in a
    document; a ``srcset`` gives one entry per candidate URL."""
    found = []
    for element in root.iter():
        local = _local(element.tag)
        for name, value in element.attrib.items():
            attribute = _local(name)
            if attribute not in _REFERENCE_ATTRIBUTES:
                continue
            resource = attribute in RESOURCE_ATTRIBUTES.get(local, ())
            values = [value]
            if attribute == "srcset":
                values = [c.split()[0] for c in value.split(",") if c.split()]
            found += [(local, attribute, v, resource) for v in values]
    return found


def css_references(css: str) -> list[str]:
    """The URLs a style sheet loads: ``url(...)`` and ``@import "..."``."""
    return [url or imported for url, imported in _CSS_REFERENCE.findall(css)]


def _check_css(name: str, css: str, names: set[str]) -> list[str]:
    problems = []
    for url in css_references(css):
        parts = urlsplit(url)
        if url.startswith("#") or parts.scheme == "data":
            continue
        if parts.scheme or parts.netloc:
            problems.append(f"{name}: a style loads {url} from outside the book")
        elif _resolve(name, unquote(parts.path)) not in names:
            problems.append(f"{name}: a style loads {url}, which is not in the book")
    return problems


def _read_all(book: zipfile.ZipFile, problems: list[str]) -> dict[str, bytes]:
    """Every member's bytes; an unreadable (corrupt) member is a problem."""
    data = {}
    for info in book.infolist():
        try:
            data[info.filename] = book.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
            problems.append(f"{info.filename}: cannot be read ({error})")
    return data


def validate(epub_path: Path) -> list[str]:
    """Structural problems of an EPUB 3 file (an empty list when none are found)."""
    problems: list[str] = []
    try:
        book = zipfile.ZipFile(epub_path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"not a zip file: {error}"]
    with book:
        infos = book.infolist()
        data = _read_all(book, problems)
    names = [info.filename for info in infos]
    if not infos or infos[0].filename != "mimetype":
        problems.append("mimetype is not the first entry")
    elif (
        infos[0].compress_type != zipfile.ZIP_STORED
        or infos[0].extra
        or data.get("mimetype") != b"application/epub+zip"
    ):
        problems.append("mimetype must be stored uncompressed as application/epub+zip")
    if len(set(names)) != len(names):
        problems.append("duplicate entries in the zip")
    if "META-INF/container.xml" not in data:
        return [*problems, "META-INF/container.xml is missing"]
    container = _parse(data["META-INF/container.xml"], "container", problems)
    rootfile = None
    if container is not None:
        rootfile = container.find(f".//{{{CONTAINER_NS}}}rootfile")
    opf_path = rootfile.get("full-path") if rootfile is not None else None
    if opf_path not in data:
        return [*problems, f"the container points at a missing package: {opf_path}"]
    opf = _parse(data[opf_path], opf_path, problems)
    if opf is None:
        return problems
    problems += _check_metadata(opf)
    manifest, manifest_problems = _manifest(opf, opf_path, set(names))
    problems += manifest_problems
    listed = {full for full, _, _ in manifest.values()}
    for name in names:
        if name in ("mimetype", opf_path) or name.startswith("META-INF/"):
            continue
        if name not in listed and not name.endswith("/"):
            problems.append(f"{name} is in the zip but not in the manifest")
    navs = [i for i, (_, _, p) in manifest.items() if "nav" in p]
    if len(navs) != 1:
        problems.append(f"need exactly one nav document, found {len(navs)}")
    spine = [
        ref.get("idref")
        for ref in opf.iterfind(f"{{{OPF_NS}}}spine/{{{OPF_NS}}}itemref")
    ]
    if not spine:
        problems.append("the spine is empty")
    for idref in spine:
        if idref not in manifest:
            problems.append(f"spine item {idref} is not in the manifest")
        elif manifest[idref][1] != XHTML:
            problems.append(f"spine item {idref} is not XHTML")
    trees = {}
    for name, content in data.items():
        if name.endswith((".xhtml", ".svg", ".opf", ".xml", ".ncx")):
            tree = _parse(content, name, problems)
            if tree is not None:
                trees[name] = tree
    in_spine = {manifest[i][0] for i in spine if i in manifest}
    problems += _check_documents(trees, manifest, set(names), in_spine)
    for name, content in data.items():
        if name.endswith(".css"):
            problems += _check_css(name, content.decode("utf-8", "replace"), names)
    if len(navs) == 1 and manifest[navs[0]][0] in trees:
        problems += _check_nav(trees, manifest, navs[0], spine)
    return list(dict.fromkeys(problems))  # each problem once


def _manifest(opf, opf_path: str, names: set[str]):
    """{id: (path in the zip, media type, properties)} and the manifest's problems."""
    problems = []
    manifest: dict[str, tuple[str, str, set[str]]] = {}
    for item in opf.iterfind(f"{{{OPF_NS}}}manifest/{{{OPF_NS}}}item"):
        item_id, href = item.get("id"), item.get("href") or ""
        full = _resolve(opf_path, unquote(href))
        if item_id in manifest:
            problems.append(f"manifest id {item_id} used twice")
        props = set((item.get("properties") or "").split())
        manifest[item_id] = (full, item.get("media-type") or "", props)
        if full not in names:
            problems.append(f"manifest item {href} is not in the zip")
        expected = MEDIA_TYPES.get(posixpath.splitext(full)[1].lower())
        if expected and expected != item.get("media-type"):
            problems.append(f"{href}: media type {item.get('media-type')}")
    return manifest, problems


def _check_metadata(opf: ElementTree.Element) -> list[str]:
    problems = []
    if opf.get("version") != "3.0":
        problems.append(f"package version {opf.get('version')}, not 3.0")
    metadata = opf.find(f"{{{OPF_NS}}}metadata")
    if metadata is None:
        return [*problems, "the package has no metadata"]
    identifiers = {e.get("id"): e.text for e in metadata.iter(f"{{{DC_NS}}}identifier")}
    if not identifiers.get(opf.get("unique-identifier")):
        problems.append("no dc:identifier matching unique-identifier")
    for term in ("title", "language"):
        if not (metadata.findtext(f"{{{DC_NS}}}{term}") or "").strip():
            problems.append(f"dc:{term} is missing")
    modified = [
        e.text or ""
        for e in metadata.iter(f"{{{OPF_NS}}}meta")
        if e.get("property") == "dcterms:modified"
    ]
    if len(modified) != 1 or not _MODIFIED.fullmatch(modified[0]):
        problems.append("need one dcterms:modified as CCYY-MM-DDThh:mm:ssZ")
    return problems


def _check_xhtml(name: str, tree, props: set[str]) -> list[str]:
    problems = []
    if tree.tag != f"{{{XHTML_NS}}}html":
        problems.append(f"{name}: the root is not XHTML's html")
    all_ids = [e.get("id") for e in tree.iter() if e.get("id")]
    if len(set(all_ids)) != len(all_ids):
        problems.append(f"{name}: an id is used twice")
    for feature, namespace, tag in (
        ("svg", SVG_NS, "svg"),
        ("mathml", MATHML_NS, "math"),
        ("scripted", XHTML_NS, "script"),
    ):
        has = tree.find(f".//{{{namespace}}}{tag}") is not None
        if has != (feature in props):
            state = "holds" if has else "does not hold"
            problems.append(f"{name} {state} {tag} but properties say {props}")
    return problems


def _check_documents(trees, manifest, names: set[str], in_spine: set[str]):
    """References resolve, nothing loads from outside, linked XHTML is in the spine,
    properties are declared."""
    problems = []
    ids = {name: {e.get("id") for e in tree.iter()} for name, tree in trees.items()}
    by_path = {full: (media, props) for full, media, props in manifest.values()}
    for name, tree in trees.items():
        media, props = by_path.get(name, ("", set()))
        if media == XHTML:
            problems += _check_xhtml(name, tree, props)
        if media not in (XHTML, MEDIA_TYPES[".svg"]):
            continue
        for label in tree.iter(f"{{{SVG_NS}}}foreignObject"):
            if any(child.tag.partition("}")[0] != "{" + XHTML_NS for child in label):
                problems.append(f"{name}: an SVG label is not in XHTML's namespace")
                break
        for element in tree.iter():
            css = (element.text or "") if _local(element.tag) == "style" else ""
            css += element.get("style") or ""
            if css:
                problems += _check_css(name, css, names)
        for element, attribute, value, resource in references(tree):
            parts = urlsplit(value)
            where = f"{name}: {element} {attribute}={value}"
            if resource and (parts.scheme in ("http", "https") or parts.netloc):
                problems.append(f"{name}: loads a remote resource {value}")
                continue
            if resource and parts.scheme not in ("", "data"):
                problems.append(f"{where} loads through {parts.scheme}:")
                continue
            if parts.scheme == "file":
                problems.append(f"{where} links to a local file")
                continue
            if parts.scheme or parts.netloc:  # web links, mailto:, data: resources
                continue
            target = name
            if parts.path:
                target = _resolve(name, unquote(parts.path))
                if target not in names:
                    problems.append(f"{where} is not in the book")
                    continue
            linked = by_path.get(target, ("", set()))[0] == XHTML and not resource
            if linked and parts.path and target not in in_spine:
                problems.append(f"{where}: {target} is not in the spine")
            if parts.fragment and target in ids and parts.fragment not in ids[target]:
                problems.append(f"{where} names no id there")
    return problems


def _check_nav(trees, manifest, nav_id, spine) -> list[str]:
    nav_path = manifest[nav_id][0]
    tree = trees[nav_path]
    tocs = [
        e
        for e in tree.iter(f"{{{XHTML_NS}}}nav")
        if "toc" in (e.get(f"{{{EPUB_NS}}}type") or "").split()
    ]
    if not tocs:
        return [f"{nav_path} has no nav epub:type=toc"]
    linked = {
        _resolve(nav_path, unquote(urlsplit(a.get("href")).path))
        for a in tocs[0].iter(f"{{{XHTML_NS}}}a")
        if a.get("href")
    }
    return [
        f"the nav does not list spine item {idref}"
        for idref in spine
        if idref in manifest and idref != nav_id and manifest[idref][0] not in linked
    ]
