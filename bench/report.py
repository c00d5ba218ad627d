"""Render bench/results.md from a results dict: one function per section.

A section that is absent or failed is left out of the body and listed under
"Not measured"; every budget keeps its row in the budgets table (see budgets.py).
"""

from __future__ import annotations

from bench.budgets import (
    BUDGETS,
    CATEGORIES,
    TARGETS,
    lighthouse_pages,
    succeeded,
    verdicts,
    worst_page,
)

SECTIONS = {
    "build": "build",
    "page_weight": "page weight",
    "search": "search",
    "lighthouse": "Lighthouse",
    "ann": "ANN",
}
PROJECTED_PAGES = 60
RUNS = {
    "check": "lint, snippet tests, page contract, strict build; no browser",
    "test": "everything: also the browser, accessibility and PDF tests",
}


TITLES = {**SECTIONS, "tests": "test suite"}
MACHINE = ("cores", "memory_gib", "python", "platform")


def header(results: dict) -> list[str]:
    info = results.get("machine", {})
    if not info:
        return ["Measured by `make bench`."]
    text = (
        f"Measured by `make bench` on {info['date']} at commit `{info['commit']}`: "
        f"{info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}."
    )
    older = []
    for name, when in results.get("provenance", {}).items():
        if name not in results or when.get("commit") == info.get("commit"):
            continue
        line = (
            f"{TITLES.get(name, name)} at `{when.get('commit')}` on {when.get('date')}"
        )
        elsewhere = [k for k in MACHINE if k in when and when[k] != info.get(k)]
        if elsewhere:
            line += (
                " on another machine ("
                + ", ".join(f"{k} {when[k]}" for k in elsewhere)
                + ")"
            )
        older.append(line)
    if older:
        text += (
            " Carried over from an earlier run, because this one did not measure them: "
            + "; ".join(older)
            + "."
        )
    return [text]


def budgets_section(results: dict) -> list[str]:
    out = ["### Budgets", "", "| measure | value | verdict |", "|---|---|---|"]
    names = {True: "met", False: "**missed**", None: "not measured"}
    out += [f"| {v.label} | {v.value} | {names[v.met]} |" for v in verdicts(results)]
    return out


def build_section(results: dict) -> list[str]:
    build = results.get("build", {})
    if "bare_s" not in build:
        return []
    text = (
        f"Median of {build['runs']} runs: ours {build['ours_warm_s']:.2f} s with the "
        f"diagram cache warm, {build['ours_cold_s']:.2f} s cold (every Mermaid diagram "
        f"rendered), stock Material over the same pages with the same code included "
        f"and highlighted (no diagrams, API reference, abbreviations or our other "
        f"extensions) {build['bare_s']:.2f} s "
        f"(ratios {build['ratio_warm']:.2f} and {build['ratio_cold']:.2f})."
    )
    if "no_api_s" in build:
        text += (
            " Where the time goes: without the API reference (mkdocstrings) "
            f"{build['no_api_s']:.2f} s; without it and the abbreviations appended "
            f"to every page {build['no_api_no_abbr_s']:.2f} s."
        )
    return ["### Build", "", text]


def _kb(bucket: dict) -> str:
    return f"{bucket['bytes'] / 1000:.0f} / {bucket['gzip'] / 1000:.0f}"


def _weight_row(name: str, kinds: dict, total: dict) -> str:
    empty = {"bytes": 0, "gzip": 0}
    other = {
        key: sum(v[key] for k, v in kinds.items() if k not in {"html", "css", "js"})
        for key in ("bytes", "gzip")
    }
    cells = [_kb(kinds.get(kind, empty)) for kind in ("html", "css", "js")]
    return f"| {name} | {' | '.join(cells)} | {_kb(other)} | {_kb(total)} |"


def weight_section(results: dict) -> list[str]:
    weight = results.get("page_weight", {})
    if not succeeded(weight) or "search_index" not in weight:
        return []
    out = ["### Page weight (KB, uncompressed / gzip)", ""]
    out += ["| page | HTML | CSS | JS | other | total |", "|---|---|---|---|---|---|"]
    for name, page in weight.items():
        if name != "search_index":
            out.append(_weight_row(name, page["by_kind"], page["total"]))
    index = weight["search_index"]
    out += [
        "",
        f"Search index: {index['bytes'] / 1e6:.2f} MB ({index['gzip'] / 1e6:.2f} MB "
        "gzip), loaded once by the search worker.",
    ]
    return out


def search_section(results: dict) -> list[str]:
    per_query = results.get("search", {}).get("per_query_ms")
    if not per_query:
        return []
    times = ", ".join(f"{query} {ms:.0f}" for query, ms in per_query.items())
    return ["### Search", "", f"Milliseconds to the first result: {times}."]


def _lighthouse_intro(section: dict, cores) -> str:
    if "rerun_below" not in section:  # the older shape: 3 sample pages, 3 runs each
        return "Mobile defaults, served with gzip, median of 3 runs per page."
    return (
        "Mobile defaults, every page of the nav, served gzip-encoded from 127.0.0.1 "
        f"as Pages serves it. To bound the time on {cores or 'this machine’s'} cores, "
        "each page runs once; a page whose first performance score is below "
        f"{section['rerun_below']} runs {section['runs'] - 1} more times and shows the "
        f"median of {section['runs']} (every run in brackets). TBT (total blocking "
        "time, ms) and DOM (element count) explain a slow page."
    )


def _lighthouse_row(name: str, s: dict) -> str:
    page = name.removesuffix(".md")  # short enough for the printed page's width
    if not succeeded(s):
        return f"| {page} | not measured | | | |"
    runs = ", ".join(map(str, s.get("performance_runs", [])))
    tbt = f"{s['tbt_ms']:,.0f}" if "tbt_ms" in s else "–"
    dom = f"{s['dom_size']:,.0f}" if "dom_size" in s else "–"
    return (
        f"| {page} | {s['performance']} ({runs}) | "
        f"{s['accessibility']} / {s['best-practices']} / {s['seo']} | {tbt} | {dom} |"
    )


def _lowest(pages: dict[str, dict]) -> str:
    parts = []
    for category, title in CATEGORIES.items():
        if worst := worst_page(pages, category):
            parts.append(f"{title} {worst[1]} ({worst[0]})")
    return "Lowest per category: " + "; ".join(parts) + "."


def lighthouse_section(results: dict) -> list[str]:
    pages = lighthouse_pages(results)
    if not any(succeeded(s) for s in pages.values()):
        return []
    cores = results.get("machine", {}).get("cores")
    out = ["### Lighthouse 12", "", _lighthouse_intro(results["lighthouse"], cores), ""]
    out += [
        "| page | performance (runs) | accessibility / best practices / SEO "
        "| TBT ms | DOM |",
        "|---|---|---|---|---|",
    ]
    out += [_lighthouse_row(name, s) for name, s in pages.items()]
    return [*out, "", _lowest(pages)]


def projection(suite: dict) -> str:
    """Project `make test` to PROJECTED_PAGES pages, linear in its site-level part.

    Durations are summed over xdist workers, so only their shares are used: the
    site-level share of pytest's own wall time grows with the pages, the rest of the
    target's wall time (lint, snippet tests, start-up) stays fixed.
    """
    n, record = suite.get("nav_pages"), suite.get("test", {})
    if not n or not record.get("site_s") or not record.get("pytest_s"):
        return (
            f"Projection to {PROJECTED_PAGES} pages: not measured (no per-file "
            "durations from `make test`)."
        )
    wall = record["wall_s"]
    site_share = record["site_s"] / record["pytest_s"]
    browser_share = record["browser_s"] / record["pytest_s"]
    pages_part = (record.get("pytest_wall_s") or wall) * site_share
    fixed = max(wall - pages_part, 0.0)
    projected = fixed + pages_part * PROJECTED_PAGES / n
    verdict = "within" if projected <= BUDGETS["make_test_s"] else "over"
    return (
        f"Projection to {PROJECTED_PAGES} pages: the nav has {n} pages now. pytest's "
        f"durations put {site_share:.0%} of the test time in the site-level tests "
        f"(tests/site/: build, page contract, browser, PDF), {browser_share:.0%} in "
        f"the browser tests alone: about {pages_part:.0f} s of `make test`'s "
        f"{wall:.0f} s. Assuming that part grows linearly with the number of pages "
        "and the rest (lint, snippet tests, start-up) stays fixed: "
        f"{fixed:.0f} + {pages_part:.0f} × {PROJECTED_PAGES} / {n} ≈ "
        f"{projected:.0f} s, {verdict} the {BUDGETS['make_test_s']} s budget."
    )


def suite_section(results: dict) -> list[str]:
    suite = results.get("tests", {})
    measured = {t: suite[t] for t in TARGETS if succeeded(suite.get(t))}
    if not succeeded(suite) or not measured:
        return []
    out = [
        "### Test suite",
        "",
        "Each Make target run warm: .venv, node_modules and the diagram cache "
        "already present (`make check` after a first run that fills its output cache).",
        "",
        "| target | what it runs | wall s | exit | pytest said |",
        "|---|---|---|---|---|",
    ]
    for target, record in measured.items():
        said = "; ".join(record.get("summaries", [])) or "–"
        out.append(
            f"| `make {target}` | {RUNS[target]} | {record['wall_s']:.0f} | "
            f"{record['returncode']} | {said} |"
        )
    cold = suite.get("check_programs_run")
    if succeeded(cold) and "check" in measured:
        out += [
            "",
            "`make check` reuses the output of every program whose code, imports, "
            "lock file and numeric environment are unchanged (.cache/outputs). With "
            "that cache emptied, so that every program runs, it took "
            f"{cold['wall_s']:.0f} s (exit {cold['returncode']}); the warm figure "
            "above is the edit loop, where only the programs a change touches run.",
        ]
    return [*out, "", projection(suite)]


def ann_section(results: dict) -> list[str]:
    ann = results.get("ann", {})
    if "rows" not in ann:
        return []
    out = [f"### ANN at {ann['n_vectors']:,} vectors (d = {ann['dim']})", ""]
    out += [
        "| index | recall@10 | distances per query | ms per query (1 core) |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {row['index']} | {row['recall_at_10']:.3f} | "
        f"{row['distances_per_query']:,.0f} | {row['ms']:.3f} |"
        for row in ann["rows"]
    ]
    return out


def not_measured(results: dict) -> list[str]:
    """What this run lacks, and why: skipped, failed, or a missing Make target."""
    missing = []
    for key, title in SECTIONS.items():
        section = results.get(key)
        if section is None:
            missing.append(f"{title}: not run")
        elif not succeeded(section):
            missing.append(f"{title}: {section['error']}")
    for name, scores in lighthouse_pages(results).items():
        if not succeeded(scores):
            missing.append(f"Lighthouse on {name}: {scores['error']}")
    suite = results.get("tests", {})
    for target in TARGETS:
        record = suite.get(target) if succeeded(suite) else suite
        if not succeeded(record):
            reason = record.get("error") if isinstance(record, dict) else None
            missing.append(f"`make {target}`: {reason or 'not run'}")
    return missing


def not_measured_section(results: dict) -> list[str]:
    missing = not_measured(results)
    return (
        ["### Not measured", "", *[f"- {line}" for line in missing]] if missing else []
    )


def markdown(results: dict) -> str:
    """The whole of bench/results.md."""
    sections = [
        header(results),
        budgets_section(results),
        build_section(results),
        weight_section(results),
        search_section(results),
        lighthouse_section(results),
        suite_section(results),
        ann_section(results),
        not_measured_section(results),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"
