"""Measure the build, page weight, search latency and ANN: each returns a plain dict.

Lighthouse lives in ``lighthouse.py`` and the test-suite timings in ``suite.py``;
``report.py`` turns all of them into verdicts and Markdown.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from mlsd_docs.site import ROOT, build_command, build_env, new_page

PAGES = {
    "home": "",
    "concept": "concepts/classification-metrics/",
    "problem": "problems/fraud-detection/",
}
SEARCH_QUERIES = [
    "precision",
    "calibration",
    "drift",
    "two-tower",
    "chargeback",
    "NDCG",
]
# Stock Material over the same pages with the same code included and highlighted
# (Pygments' defaults), so the ratio prices what we add: diagrams, the API reference,
# abbreviations, our highlighting filter, the rest of the extensions.
BARE_CONFIG = """\
site_name: mlsd-guide (bare)
docs_dir: {root}/docs
theme:
  name: material
  font: false
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - tables
  - pymdownx.details
  - pymdownx.highlight
  - pymdownx.snippets:
      base_path: [{root}/snippets, {root}/includes, {root}/bench]
  - pymdownx.superfences
  - pymdownx.tabbed:
      alternate_style: true
"""
# Edits of mkdocs.yml for the variant builds: (text in mkdocs.yml, replacement).
NO_API = ("  - mkdocstrings:", "  - mkdocstrings:\n      enabled: false")
NO_ABBR = ("      auto_append: [abbreviations.md]\n", "")


# ── Build ────────────────────────────────────────────────────────────────────
def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of a command run from the repository root; raise if it fails."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def variant_config(path: Path, *edits: tuple[str, str]) -> Path:
    """Write mkdocs.yml with edits applied to path (beside it: relative paths hold)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for old, new in edits:
        if old not in text:  # else the "variant" would silently be our own build
            raise ValueError(f"mkdocs.yml no longer contains {old!r}")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def build_times(runs: int = 3) -> dict:
    """Median wall time of our strict build (warm and cold diagram cache) vs bare.

    Two variants split the difference: without the API reference (mkdocstrings), and
    without it and the abbreviations appended to every page and docstring.
    """
    env = build_env()

    def median_of(site_dir: str, config: Path | None = None, strict=False) -> float:
        command = build_command(Path(site_dir), config, strict=strict)
        return statistics.median(timed(command, env) for _ in range(runs))

    variant = ROOT / ".bench-variant.yml"
    with tempfile.TemporaryDirectory() as tmp:
        result = {"ours_warm_s": median_of(f"{tmp}/o", strict=True)}
        cold = [
            timed(
                build_command(Path(f"{tmp}/c")),
                {**env, "MLSD_MERMAID_CACHE": f"{tmp}/cache{i}"},
            )
            for i in range(runs)
        ]
        result["ours_cold_s"] = statistics.median(cold)
        try:
            variant_config(variant, NO_API)
            result["no_api_s"] = median_of(f"{tmp}/v", variant)
            variant_config(variant, NO_API, NO_ABBR)
            result["no_api_no_abbr_s"] = median_of(f"{tmp}/v", variant)
        finally:
            variant.unlink(missing_ok=True)
        bare = Path(tmp) / "bare.yml"
        bare.write_text(BARE_CONFIG.format(root=ROOT), encoding="utf-8")
        result["bare_s"] = median_of(f"{tmp}/b", bare)
    result["runs"] = runs
    result["ratio_warm"] = result["ours_warm_s"] / result["bare_s"]
    result["ratio_cold"] = result["ours_cold_s"] / result["bare_s"]
    return result


# ── Page weight ──────────────────────────────────────────────────────────────
def kind(path: str) -> str:
    """The weight bucket of a site path: html, css, js, json or image/other."""
    suffix = Path(path.split("?")[0]).suffix
    kinds = {".html": "html", "": "html", ".css": "css", ".js": "js", ".json": "json"}
    return kinds.get(suffix, "image/other")


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def page_weight(browser, base: str, site_dir: Path) -> dict:
    """Bytes each sample page loads by kind, raw and gzip (search index apart)."""
    result: dict = {}
    for name, path in PAGES.items():
        page = new_page(browser)
        loaded: list[str] = []
        page.on(
            "requestfinished", lambda request, seen=loaded: seen.append(request.url)
        )
        page.goto(base + path, wait_until="networkidle")
        page.context.close()
        sizes: dict[str, dict[str, int]] = {}
        for url in set(loaded):
            relative = url.removeprefix(base).split("#")[0].split("?")[0]
            file = site_dir / relative
            if file.is_dir() or not relative:
                file = file / "index.html"
            if not file.is_file() or "search_index.json" in url:
                continue
            raw = file.read_bytes()
            bucket = sizes.setdefault(kind(relative), {"bytes": 0, "gzip": 0})
            bucket["bytes"] += len(raw)
            bucket["gzip"] += _gzip_size(raw)
        total = {
            key: sum(bucket[key] for bucket in sizes.values())
            for key in ("bytes", "gzip")
        }
        result[name] = {"by_kind": sizes, "total": total}
    index = (site_dir / "search" / "search_index.json").read_bytes()
    result["search_index"] = {"bytes": len(index), "gzip": _gzip_size(index)}
    return result


# ── Search ───────────────────────────────────────────────────────────────────
FIRST_RESULT_JS = """
(query) => new Promise((resolve) => {
  const input = document.querySelector('input.md-search__input');
  const list = document.querySelector('.md-search-result__list');
  list.innerHTML = '';
  const start = performance.now();
  const done = () => {
    if (list.querySelector('.md-search-result__item')) {
      observer.disconnect();
      resolve(performance.now() - start);
    }
  };
  const observer = new MutationObserver(done);
  observer.observe(list, {childList: true, subtree: true});
  input.value = query;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true}));
})
"""


def search_latency(browser, base: str) -> dict:
    """Milliseconds from a query entering the box to its first result shown."""
    page = new_page(browser)
    page.goto(base, wait_until="networkidle")
    page.locator("input.md-search__input").first.click(force=True)
    page.keyboard.type("warm")  # the worker loads the index once
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    times = {query: page.evaluate(FIRST_RESULT_JS, query) for query in SEARCH_QUERIES}
    page.context.close()
    return {"per_query_ms": times, "median_ms": statistics.median(times.values())}


# ── ANN ──────────────────────────────────────────────────────────────────────
def ann(n_vectors: int = 1_000_000, n_queries: int = 1_000) -> dict:
    """The concept page's ANN trade-off at 1M vectors: recall@10 and ms per query."""
    import faiss

    from snippets.concepts import ann_index

    base, queries = ann_index.clustered_vectors(n_vectors, n_queries)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build with every core
    settings: list[tuple[str, object, str, list]] = [
        ("Flat (exact)", ann_index.build_exact(base), "", [None]),
        (
            "IVF-Flat 4096",
            ann_index.build_ivf_flat(base, 4096, 200_000),
            "nprobe",
            [4, 16, 64],
        ),
        ("HNSW M=16", ann_index.build_hnsw(base, 16, 40), "efSearch", [16, 64, 128]),
        (
            "IVF-PQ 16x8b",
            ann_index.build_ivf_pq(base, 4096, 16, 8, 200_000),
            "nprobe",
            [16, 64],
        ),
    ]
    faiss.omp_set_num_threads(1)  # latency of one query on one core
    exact_ids, _ = ann_index.search(settings[0][1], queries, 10)
    rows = []
    for name, index, knob, values in settings:
        for value in values:
            if knob == "nprobe":
                index.nprobe = value
            elif knob == "efSearch":
                index.hnsw.efSearch = value
            ids, distances = ann_index.search(index, queries, 10)
            rows.append(
                {
                    "index": name + (f", {knob}={value}" if knob else ""),
                    "recall_at_10": ann_index.mean_recall_at_k(ids, exact_ids, 10),
                    "distances_per_query": distances,
                    "ms": ann_index.measure_query_time(index, queries, 10),
                }
            )
    return {"n_vectors": n_vectors, "dim": base.shape[1], "rows": rows}


# ── Machine ──────────────────────────────────────────────────────────────────
def machine() -> dict:
    """Cores, memory, Python, platform, commit and date of this run."""
    memory_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d"),
    }
