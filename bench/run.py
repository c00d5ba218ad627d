"""`make bench`: measure the guide on this machine; write bench/results.{md,json}.

Speed and size targets live here, never in timed tests. Sections: build overhead vs a
bare Material build, page weight, search latency, Lighthouse, test-suite stages and
the ANN trade-off at a larger scale than the tests use. Each budget: met or missed.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlsd_docs.pdf import CHROMIUM_ARGS, chromium, chromium_path  # noqa: E402

OUT = ROOT / "bench"
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
BUDGETS = {
    "build_ratio": 1.5,
    "problem_page_gzip_kb": 500,
    "search_index_mb": 2.0,
    "search_ms": 300,
    "lighthouse_performance": 95,
    "lighthouse_accessibility": 100,
    "lighthouse_best-practices": 100,
    "lighthouse_seo": 95,
}
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
BARE_CONFIG = """\
site_name: mlsd-guide (bare)
docs_dir: {docs}
theme:
  name: material
  font: false
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - tables
  - pymdownx.details
  - pymdownx.superfences
  - pymdownx.tabbed:
      alternate_style: true
"""


def timed(command: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env or ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def _variant(transform: Callable[[str], str]) -> Path:
    """A copy of mkdocs.yml beside it (relative paths must still resolve)."""
    variant = ROOT / ".bench-variant.yml"
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    variant.write_text(transform(text), encoding="utf-8")
    return variant


NO_API = ("  - mkdocstrings:", "  - mkdocstrings:\n      enabled: false")
NO_ABBR = ("      auto_append: [abbreviations.md]\n", "")


def bench_build(runs: int = 3) -> dict:
    """Median wall time of our strict build (warm and cold diagram cache) vs bare.

    Two variants split the difference: without the API reference (mkdocstrings), and
    without it and the abbreviations appended to every page and docstring.
    """
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "-q"]

    def median_of(command: list[str], env: dict | None = None) -> float:
        return statistics.median(timed(command, env) for _ in range(runs))

    with tempfile.TemporaryDirectory() as tmp:
        result = {"ours_warm_s": median_of([*mkdocs, "--strict", "-d", f"{tmp}/o"])}
        cold = []
        for i in range(runs):
            env = {**ENV, "MLSD_MERMAID_CACHE": f"{tmp}/cache{i}"}
            cold.append(timed([*mkdocs, "--strict", "-d", f"{tmp}/c"], env))
        result["ours_cold_s"] = statistics.median(cold)
        try:
            no_api = _variant(lambda text: text.replace(*NO_API))
            result["no_api_s"] = median_of(
                [*mkdocs, "-f", str(no_api), "-d", f"{tmp}/v"]
            )
            neither = _variant(lambda text: text.replace(*NO_API).replace(*NO_ABBR))
            result["no_api_no_abbr_s"] = median_of(
                [*mkdocs, "-f", str(neither), "-d", f"{tmp}/v"]
            )
        finally:
            (ROOT / ".bench-variant.yml").unlink(missing_ok=True)
        config = Path(tmp) / "bare.yml"
        config.write_text(BARE_CONFIG.format(docs=ROOT / "docs"), encoding="utf-8")
        result["bare_s"] = median_of([*mkdocs, "-f", str(config), "-d", f"{tmp}/b"])
    result["runs"] = runs
    result["ratio_warm"] = result["ours_warm_s"] / result["bare_s"]
    result["ratio_cold"] = result["ours_cold_s"] / result["bare_s"]
    return result


class _GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files gzip-encoded when asked, as GitHub Pages does."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        wants_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        compressible = path.suffix in {".html", ".css", ".js", ".json", ".svg", ".xml"}
        if not (path.is_file() and wants_gzip and compressible):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.end_headers()
        return io.BytesIO(body)


@contextlib.contextmanager
def serve_gzip(site: Path) -> Iterator[str]:
    handler = functools.partial(_GzipHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def _kind(path: str) -> str:
    suffix = Path(path.split("?")[0]).suffix
    return {
        ".html": "html",
        "": "html",
        ".css": "css",
        ".js": "js",
        ".json": "json",
    }.get(suffix, "image/other")


def bench_page_weight(browser, base: str, site: Path) -> dict:
    """Bytes each page loads, by kind, uncompressed and gzip (search index apart)."""
    result = {}
    for name, path in PAGES.items():
        context = browser.new_context()
        page = context.new_page()
        loaded: list[str] = []
        page.on(
            "requestfinished", lambda request, seen=loaded: seen.append(request.url)
        )
        page.goto(base + path, wait_until="networkidle")
        context.close()
        sizes: dict[str, dict[str, int]] = {}
        for url in set(loaded):
            relative = url.removeprefix(base).split("#")[0].split("?")[0]
            file = site / relative
            if file.is_dir() or not relative:
                file = file / "index.html"
            if not file.is_file() or "search_index.json" in url:
                continue
            raw = file.read_bytes()
            bucket = sizes.setdefault(_kind(relative), {"bytes": 0, "gzip": 0})
            bucket["bytes"] += len(raw)
            bucket["gzip"] += len(gzip.compress(raw, compresslevel=6))
        total = {
            "bytes": sum(b["bytes"] for b in sizes.values()),
            "gzip": sum(b["gzip"] for b in sizes.values()),
        }
        result[name] = {"by_kind": sizes, "total": total}
    index = site / "search" / "search_index.json"
    result["search_index"] = {
        "bytes": index.stat().st_size,
        "gzip": len(gzip.compress(index.read_bytes(), compresslevel=6)),
    }
    return result


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


def bench_search(browser, base: str) -> dict:
    """Milliseconds from a query entering the box to its first result shown."""
    page = browser.new_page()
    page.goto(base, wait_until="networkidle")
    page.locator("input.md-search__input").first.click(force=True)
    page.keyboard.type("warm")  # the worker loads the index once
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    times = {query: page.evaluate(FIRST_RESULT_JS, query) for query in SEARCH_QUERIES}
    page.close()
    return {"per_query_ms": times, "median_ms": statistics.median(times.values())}


def bench_lighthouse(base: str, runs: int = 3) -> dict:
    """Lighthouse 12 category scores (mobile defaults), median of runs, per page."""
    binary = ROOT / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        return {"error": "lighthouse not installed (npm ci)"}
    env = {**ENV, "CHROME_PATH": chromium_path()}
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    scores = {}
    for name, path in PAGES.items():
        samples: list[dict[str, int]] = []
        for _ in range(runs):
            with tempfile.NamedTemporaryFile(suffix=".json") as report:
                subprocess.run(
                    [
                        str(binary),
                        base + path,
                        "--quiet",
                        "--output=json",
                        f"--output-path={report.name}",
                        f"--chrome-flags={flags}",
                        "--only-categories=performance,accessibility,best-practices,seo",
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    timeout=240,
                )
                data = json.loads(Path(report.name).read_text(encoding="utf-8"))
            samples.append(
                {k: round(c["score"] * 100) for k, c in data["categories"].items()}
            )
        scores[name] = {
            key: round(statistics.median(s[key] for s in samples)) for key in samples[0]
        }
        scores[name]["performance_runs"] = [s["performance"] for s in samples]
    return scores


TEST_STAGES = {
    "snippets": ["tests/concepts", "tests/framework", "tests/problems"],
    "pages": ["tests/site/test_pages.py", "tests/site/test_structure.py"],
    "build": ["tests/site/test_build.py", "tests/test_mermaid_fence.py"],
    "browser": ["tests/site/test_browser.py"],
    "pdf": ["tests/site/test_pdf.py"],
}


def bench_tests() -> dict:
    """Wall time of each stage of the test suite (each stage builds what it needs)."""
    result = {}
    for stage, paths in TEST_STAGES.items():
        existing = [p for p in paths if (ROOT / p).exists()]
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        result[stage] = round(timed([*command, *existing]), 1)
    result["total"] = round(sum(result.values()), 1)
    return result


def bench_ann(n_vectors: int = 1_000_000, n_queries: int = 1_000) -> dict:
    """The concept page's ANN trade-off at 1M vectors: recall@10 and ms per query."""
    import faiss

    from snippets.concepts import ann_index as ann

    base, queries = ann.clustered_vectors(n_vectors, n_queries)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build with every core
    settings: list[tuple[str, object, str, list]] = [
        ("Flat (exact)", ann.build_exact(base), "", [None]),
        (
            "IVF-Flat 4096",
            ann.build_ivf_flat(base, 4096, 200_000),
            "nprobe",
            [4, 16, 64],
        ),
        ("HNSW M=16", ann.build_hnsw(base, 16, 40), "efSearch", [16, 64, 128]),
        (
            "IVF-PQ 16x8b",
            ann.build_ivf_pq(base, 4096, 16, 8, 200_000),
            "nprobe",
            [16, 64],
        ),
    ]
    faiss.omp_set_num_threads(1)  # latency of one query on one core
    exact_ids, _ = ann.search(settings[0][1], queries, 10)
    rows = []
    for name, index, knob, values in settings:
        for value in values:
            if knob == "nprobe":
                index.nprobe = value
            elif knob == "efSearch":
                index.hnsw.efSearch = value
            ids, distances = ann.search(index, queries, 10)
            rows.append(
                {
                    "index": name + (f", {knob}={value}" if knob else ""),
                    "recall_at_10": ann.mean_recall_at_k(ids, exact_ids, 10),
                    "distances_per_query": distances,
                    "ms": ann.measure_query_time(index, queries, 10),
                }
            )
    return {"n_vectors": n_vectors, "dim": base.shape[1], "rows": rows}


def run_section(results: dict, name: str, function: Callable[[], dict]) -> None:
    print(f"[bench] {name} ...", flush=True)
    start = time.perf_counter()
    try:
        results[name] = function()
    except Exception as error:  # a failed section is reported, the others still run
        results[name] = {"error": f"{type(error).__name__}: {error}"}
    print(f"[bench] {name}: {time.perf_counter() - start:.1f} s", flush=True)


def machine() -> dict:
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
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d"),
    }


def verdicts(results: dict) -> list[tuple[str, str, bool | None]]:
    """One line per budget: what was measured, and met (True), missed or unknown."""
    lines = []

    def check(label: str, value, limit, smaller_is_better: bool) -> None:
        if value is None:
            lines.append((label, "not measured", None))
            return
        met = value <= limit if smaller_is_better else value >= limit
        sign = "≤" if smaller_is_better else "≥"
        lines.append((label, f"{value:g} (budget {sign} {limit:g})", met))

    build = results.get("build", {})
    check(
        "build ratio (ours, warm cache / bare)",
        round(build["ratio_warm"], 2) if "ratio_warm" in build else None,
        BUDGETS["build_ratio"],
        True,
    )
    weight = results.get("page_weight", {})
    problem = weight.get("problem", {}).get("total", {}).get("gzip")
    check(
        "worked-problem page, gzip KB (no search index)",
        round(problem / 1000) if problem else None,
        BUDGETS["problem_page_gzip_kb"],
        True,
    )
    index = weight.get("search_index", {}).get("bytes")
    check(
        "search index MB",
        round(index / 1e6, 2) if index else None,
        BUDGETS["search_index_mb"],
        True,
    )
    search = results.get("search", {}).get("median_ms")
    check(
        "search, median ms to first result",
        round(search) if search else None,
        BUDGETS["search_ms"],
        True,
    )
    lighthouse = results.get("lighthouse", {})
    for category in ("performance", "accessibility", "best-practices", "seo"):
        values = [s[category] for s in lighthouse.values() if isinstance(s, dict)]
        check(
            f"Lighthouse {category} (worst of 3 pages)",
            min(values) if values else None,
            BUDGETS[f"lighthouse_{category}"],
            False,
        )
    return lines


def markdown(results: dict) -> str:
    info = results["machine"]
    out = [
        f"Measured by `make bench` on {info['date']} at commit `{info['commit']}`: "
        f"{info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}.",
        "",
        "### Budgets",
        "",
        "| measure | value | verdict |",
        "|---|---|---|",
    ]
    for label, value, met in verdicts(results):
        verdict = {True: "met", False: "**missed**", None: "not measured"}[met]
        out.append(f"| {label} | {value} | {verdict} |")
    build = results.get("build", {})
    if "bare_s" in build:
        out += [
            "",
            "### Build",
            "",
            f"Median of {build['runs']} runs: ours {build['ours_warm_s']:.2f} s with "
            f"the diagram cache warm, {build['ours_cold_s']:.2f} s cold (every "
            "Mermaid diagram rendered), a bare Material build of the same pages "
            f"{build['bare_s']:.2f} s (ratios {build['ratio_warm']:.2f} and "
            f"{build['ratio_cold']:.2f}).",
        ]
        if "no_api_s" in build:
            out[-1] += (
                f" Where the time goes: without the API reference (mkdocstrings) "
                f"{build['no_api_s']:.2f} s; without it and the abbreviations appended "
                f"to every page {build['no_api_no_abbr_s']:.2f} s."
            )
    weight = results.get("page_weight", {})
    if "home" in weight:
        out += ["", "### Page weight (KB, uncompressed / gzip)", ""]
        out += [
            "| page | HTML | CSS | JS | other | total |",
            "|---|---|---|---|---|---|",
        ]
        for name in PAGES:
            kinds = weight[name]["by_kind"]

            def cell(kind: str, kinds=kinds) -> str:
                bucket = kinds.get(kind, {"bytes": 0, "gzip": 0})
                return f"{bucket['bytes'] / 1000:.0f} / {bucket['gzip'] / 1000:.0f}"

            total = weight[name]["total"]
            other = {
                "bytes": sum(
                    v["bytes"]
                    for k, v in kinds.items()
                    if k not in {"html", "css", "js"}
                ),
                "gzip": sum(
                    v["gzip"]
                    for k, v in kinds.items()
                    if k not in {"html", "css", "js"}
                ),
            }
            out.append(
                f"| {name} | {cell('html')} | {cell('css')} | {cell('js')} | "
                f"{other['bytes'] / 1000:.0f} / {other['gzip'] / 1000:.0f} | "
                f"{total['bytes'] / 1000:.0f} / {total['gzip'] / 1000:.0f} |"
            )
        index = weight["search_index"]
        out.append(
            f"\nSearch index: {index['bytes'] / 1e6:.2f} MB "
            f"({index['gzip'] / 1e6:.2f} MB gzip), loaded once by the search worker."
        )
    search = results.get("search", {})
    if "per_query_ms" in search:
        per_query = ", ".join(
            f"{q} {ms:.0f}" for q, ms in search["per_query_ms"].items()
        )
        out += ["", "### Search", "", f"Milliseconds to the first result: {per_query}."]
    lighthouse = results.get("lighthouse", {})
    if lighthouse and "error" not in lighthouse:
        out += [
            "",
            "### Lighthouse 12 (mobile defaults, served with gzip, median of 3 runs)",
            "",
        ]
        out += [
            "| page | performance (runs) | accessibility | best practices | SEO |",
            "|---|---|---|---|---|",
        ]
        for name, s in lighthouse.items():
            runs = ", ".join(map(str, s.get("performance_runs", [])))
            out.append(
                f"| {name} | {s['performance']} ({runs}) | {s['accessibility']} | "
                f"{s['best-practices']} | {s['seo']} |"
            )
    tests = results.get("tests", {})
    if "total" in tests:
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in tests.items() if k != "total")
        out += ["", "### Test suite", "", f"{stages}; {tests['total']:.0f} s in all."]
    ann = results.get("ann", {})
    if "rows" in ann:
        out += ["", f"### ANN at {ann['n_vectors']:,} vectors (d = {ann['dim']})", ""]
        out += [
            "| index | recall@10 | distances per query | ms per query (1 core) |",
            "|---|---|---|---|",
        ]
        for row in ann["rows"]:
            out.append(
                f"| {row['index']} | {row['recall_at_10']:.3f} | "
                f"{row['distances_per_query']:,.0f} | {row['ms']:.3f} |"
            )
    errors = {
        k: v["error"]
        for k, v in results.items()
        if isinstance(v, dict) and "error" in v
    }
    if errors:
        out += ["", "### Not measured", ""]
        out += [f"- {name}: {error}" for name, error in errors.items()]
    return "\n".join(out) + "\n"


def write(results: dict) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "results.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


def main(argv: list[str]) -> None:
    """Measure everything; `render` only rewrites results.md from results.json."""
    if argv == ["render"]:
        write(json.loads((OUT / "results.json").read_text(encoding="utf-8")))
        return
    skip = set(argv)
    results: dict = {"machine": machine()}
    run_section(results, "build", bench_build)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mkdocs",
                "build",
                "-q",
                "--strict",
                "-d",
                str(site),
            ],
            cwd=ROOT,
            env=ENV,
            check=True,
        )
        with serve_gzip(site) as base, chromium() as browser:
            run_section(
                results, "page_weight", lambda: bench_page_weight(browser, base, site)
            )
            run_section(results, "search", lambda: bench_search(browser, base))
        if "lighthouse" not in skip:
            with serve_gzip(site) as base:
                run_section(results, "lighthouse", lambda: bench_lighthouse(base))
    if "tests" not in skip:
        run_section(results, "tests", bench_tests)
    if "ann" not in skip:
        run_section(results, "ann", bench_ann)
    write(results)
    print("[bench] wrote bench/results.md and bench/results.json")


if __name__ == "__main__":
    main(sys.argv[1:])
