"""`make bench`: measure the guide on this machine; write bench/results.{md,json}.

    python bench/run.py                    measure every section (20+ minutes)
    python bench/run.py lighthouse ann     measure all but the named sections
    python bench/run.py only lighthouse    measure only the named sections
    python bench/run.py render             rewrite results.md from results.json

A run that skips sections keeps their previous results from results.json, each marked
with the commit and date it was measured at (the report names them), so a long section
such as ann need not be re-run when nothing it measures changed.

Sections: build, page_weight, search, lighthouse, tests, ann. Speed and size targets
live here, never in timed tests. Measuring is in measure.py, lighthouse.py and
suite.py; budgets, verdicts and the Markdown in report.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "tests", ROOT):  # guide (the nav) and the bench package
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from guide import nav_pages, page_url  # noqa: E402

from bench import lighthouse, measure, report, suite  # noqa: E402
from mlsd_docs.site import build, chromium, serve, site_path_prefix  # noqa: E402

OUT = ROOT / "bench"
SECTIONS = ("build", "page_weight", "search", "lighthouse", "tests", "ann")
SITE_SECTIONS = {"page_weight", "search", "lighthouse"}


def nav_urls() -> dict[str, str]:
    """Every page of the nav -> its site-relative URL, in nav order."""
    return {name: page_url(name) for name in nav_pages()}


def run_section(results: dict, name: str, function: Callable[[], dict]) -> None:
    """Run one measurement; a failure is recorded and the others still run."""
    print(f"[bench] {name} ...", flush=True)
    start = time.perf_counter()
    try:
        results[name] = function()
    except Exception as error:
        results[name] = {"error": f"{type(error).__name__}: {error}"}
    print(f"[bench] {name}: {time.perf_counter() - start:.1f} s", flush=True)


def measure_site(results: dict, sections: set[str]) -> None:
    """Page weight, search and Lighthouse on one fresh build, served with gzip."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            site_dir = build(Path(tmp) / "site").site_dir
        except RuntimeError as error:
            for name in sections:
                results[name] = {"error": f"site build failed: {str(error)[:300]}"}
            return
        with serve(site_dir, site_path_prefix(), gzip=True) as base:
            if sections & {"page_weight", "search"}:
                with chromium() as browser:
                    if "page_weight" in sections:
                        run_section(
                            results,
                            "page_weight",
                            lambda: measure.page_weight(browser, base, site_dir),
                        )
                    if "search" in sections:
                        run_section(
                            results,
                            "search",
                            lambda: measure.search_latency(browser, base),
                        )
            if "lighthouse" in sections:
                run_section(
                    results,
                    "lighthouse",
                    lambda: lighthouse.audit_pages(base, nav_urls()),
                )


def measure_all(sections: set[str]) -> dict:
    """Measure the named sections (all of SECTIONS by default); write nothing."""
    results: dict = {"machine": measure.machine()}
    if "build" in sections:
        run_section(results, "build", measure.build_times)
    if sections & SITE_SECTIONS:
        measure_site(results, sections & SITE_SECTIONS)
    if "tests" in sections:
        run_section(results, "tests", lambda: suite.time_targets(len(nav_pages())))
    if "ann" in sections:
        run_section(results, "ann", measure.ann)
    return results


def sections_from(argv: list[str]) -> set[str]:
    """The sections to measure: all but those named, or with `only`, just those."""
    only = argv[:1] == ["only"]
    named = set(argv[1:] if only else argv)
    unknown = named - set(SECTIONS)
    if unknown or (only and not named):
        raise SystemExit(f"unknown sections {sorted(unknown)}; known: {SECTIONS}")
    return named if only else set(SECTIONS) - named


def previous_results(path: Path) -> dict | None:
    """The last run's results to merge with, or None (with a warning) if unreadable."""
    if not path.exists():
        return None
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"[bench] not merging with {path}: {error}", file=sys.stderr)
        return None
    if not isinstance(previous, dict):
        print(f"[bench] not merging with {path}: not a JSON object", file=sys.stderr)
        return None
    return previous


def merge(previous: dict, new: dict, measured: set[str]) -> dict:
    """New results for the measured sections, previous ones for the rest.

    ``provenance`` maps each section to the machine record (commit, date, cores,
    memory, Python, platform) it was measured with; a section carried over keeps the
    record it had (or the previous run's machine). A measured section replaces the
    previous one even when it failed: the report then says it failed this time.
    """
    if not isinstance(previous, dict) or not isinstance(new, dict):
        raise TypeError("previous and new results must be dicts")
    unknown = set(measured) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; known: {SECTIONS}")
    stamp = dict(new.get("machine", {}))
    old_stamp = dict(previous.get("machine", {}))
    old_provenance = previous.get("provenance", {})
    merged: dict = {"machine": new.get("machine", {})}
    provenance: dict = {}
    for name in SECTIONS:
        if name in measured:
            if name in new:
                merged[name] = new[name]
                provenance[name] = stamp
        elif name in previous:
            merged[name] = previous[name]
            provenance[name] = old_provenance.get(name, old_stamp)
    merged["provenance"] = provenance
    return merged


def write(results: dict) -> None:
    """Write results.json and results.md (the page includes the latter)."""
    text = report.markdown(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "results.md").write_text(text, encoding="utf-8")
    print(text)


def main(argv: list[str]) -> None:
    """Measure and write; `render` only rewrites results.md from results.json."""
    if argv == ["render"]:
        results = json.loads((OUT / "results.json").read_text(encoding="utf-8"))
        (OUT / "results.md").write_text(report.markdown(results), encoding="utf-8")
        print(report.markdown(results))
        return
    sections = sections_from(argv)
    previous = previous_results(OUT / "results.json")  # read first: a bad file costs
    results = measure_all(sections)  # a warning now, not the measurements later
    if previous is not None:
        results = merge(previous, results, sections)
    write(results)
    print("[bench] wrote bench/results.md and bench/results.json")


if __name__ == "__main__":
    main(sys.argv[1:])
