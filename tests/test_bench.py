"""The bench's judging and reporting half, on small hand-made results: no browser."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import budgets, lighthouse, report, run, suite


def scores(performance=100, accessibility=100, best=100, seo=100, **extra) -> dict:
    return {
        "performance": performance,
        "accessibility": accessibility,
        "best-practices": best,
        "seo": seo,
        "performance_runs": [performance],
        **extra,
    }


@pytest.fixture
def results() -> dict:
    """Every section measured; each budget exactly at its limit (all met)."""
    return {
        "machine": {
            "cores": 2,
            "memory_gib": 8.0,
            "python": "3.11.7",
            "commit": "abc1234",
            "date": "2026-01-01",
        },
        "build": {
            "ours_warm_s": 2.0,
            "ours_cold_s": 9.0,
            "bare_s": 1.0,
            "runs": 3,
            "ratio_warm": 2.0,
            "ratio_cold": 9.0,
        },
        "page_weight": {
            "problem": {
                "by_kind": {"html": {"bytes": 400_000, "gzip": 500_000}},
                "total": {"bytes": 400_000, "gzip": 500_000},
            },
            "search_index": {"bytes": 2_000_000, "gzip": 600_000},
        },
        "search": {"per_query_ms": {"drift": 300.0}, "median_ms": 300.0},
        "lighthouse": {
            "pages": {
                "index.md": scores(98, tbt_ms=10.0, dom_size=800.0),
                "concepts/serving.md": scores(95, seo=95, tbt_ms=420.4, dom_size=3456),
                "problems/fraud-detection.md": scores(96, tbt_ms=300.0, dom_size=5e3),
            },
            "rerun_below": 98,
            "runs": 3,
        },
        "tests": {
            "nav_pages": 30,
            "check": {"wall_s": 60.0, "returncode": 0, "summaries": ["90 passed"]},
            "test": {
                "wall_s": 200.0,
                "returncode": 0,
                "summaries": ["912 passed in 190.1s (0:03:10)"],
                "pytest_wall_s": 190.1,
                "pytest_s": 380.0,  # worker-seconds: 2 xdist workers
                "site_s": 228.0,
                "browser_s": 190.0,
            },
        },
        "ann": {
            "n_vectors": 1000,
            "dim": 8,
            "rows": [
                {
                    "index": "Flat (exact)",
                    "recall_at_10": 1.0,
                    "distances_per_query": 1000.0,
                    "ms": 0.5,
                }
            ],
        },
    }


def met(results: dict) -> dict[str, bool | None]:
    return {v.label: v.met for v in budgets.verdicts(results)}


# ── Verdicts ─────────────────────────────────────────────────────────────────
def test_every_budget_is_met_at_its_limit(results):
    assert set(met(results).values()) == {True}
    assert len(met(results)) == len(budgets.BUDGETS)


def test_check_misses_just_past_the_limit_in_either_direction():
    assert budgets.check("x", 2.01, 2.0).met is False
    assert budgets.check("x", 94, 95, smaller_is_better=False).met is False
    assert budgets.check("x", None, 95).value == "not measured"
    assert budgets.check("x", 1.5, 2.0).value == "1.5 (budget ≤ 2)"


@pytest.mark.parametrize(
    ("section", "key", "value", "label"),
    [
        ("build", "ratio_warm", 2.01, "build ratio (ours, warm cache / bare)"),
        ("search", "median_ms", 301.0, "search, median ms to first result"),
    ],
)
def test_a_measure_over_budget_is_missed(results, section, key, value, label):
    results[section][key] = value
    assert met(results)[label] is False


def test_lighthouse_names_the_worst_page_and_misses_below_budget(results):
    pages = results["lighthouse"]["pages"]
    pages["problems/fraud-detection.md"]["performance"] = 94
    pages["index.md"]["accessibility"] = 99
    found = {v.label: v for v in budgets.verdicts(results)}
    performance = found["Lighthouse performance, worst of 3 pages"]
    assert (performance.met, performance.value) == (
        False,
        "94 on problems/fraud-detection.md (budget ≥ 95)",
    )
    assert found["Lighthouse accessibility, worst of 3 pages"].met is False
    seo = found["Lighthouse SEO, worst of 3 pages"]
    assert (seo.met, seo.value) == (True, "95 on concepts/serving.md (budget ≥ 95)")


def test_worst_page_is_the_first_in_nav_order_or_every_page(results):
    pages = results["lighthouse"]["pages"]
    pages["index.md"]["performance"] = 95  # ties with concepts/serving.md
    assert budgets.worst_page(pages, "performance") == ("index.md", 95)
    assert budgets.worst_page(pages, "best-practices") == ("every page", 100)
    pages["index.md"] = {"error": "lighthouse exited 1: boom"}
    assert budgets.worst_page(pages, "performance") == ("concepts/serving.md", 95)


def test_a_failed_make_target_misses_its_budget(results):
    results["tests"]["check"].update(wall_s=12.0, returncode=2)
    verdict = next(v for v in budgets.verdicts(results) if "make check" in v.label)
    assert verdict.met is False
    assert "failed" in verdict.value
    results["tests"]["test"]["wall_s"] = 241.0
    assert met(results)["`make test` wall time, warm (s)"] is False


# ── Markdown ─────────────────────────────────────────────────────────────────
def test_markdown_has_every_table_and_no_not_measured(results):
    text = report.markdown(results)
    for heading in ("Budgets", "Build", "Page weight", "Search", "Lighthouse 12"):
        assert f"### {heading}" in text
    assert "| page | performance (runs) | accessibility / best practices / SEO" in text
    assert "| concepts/serving | 95 (95) | 100 / 100 / 95 | 420 | 3,456 |" in text
    assert "below 98 runs 2 more times and shows the median of 3" in text
    assert "Lowest per category: performance 95 (concepts/serving.md)" in text
    assert "| `make test` | " in text and "912 passed in 190.1s (0:03:10)" in text
    assert "| Flat (exact) | 1.000 | 1,000 | 0.500 |" in text
    assert "### Not measured" not in text


def test_projection_is_linear_in_the_site_level_part(results):
    # 60 % of pytest's 190.1 s is site-level: 114 s; 200 - 114 = 86 s fixed;
    # 86 + 114 x 60 / 30 = 314 s
    text = report.markdown(results)
    assert "60% of the test time in the site-level tests" in text
    assert "50% in the browser tests alone" in text
    assert "86 + 114 × 60 / 30 ≈ 314 s, over the 240 s budget" in text
    del results["tests"]["test"]["site_s"]
    assert "Projection to 60 pages: not measured" in report.markdown(results)


def test_missing_and_failed_sections_go_to_not_measured(results):
    del results["ann"], results["search"]
    results["tests"]["check"] = {"error": "the Makefile has no target 'check'"}
    results["lighthouse"]["pages"]["index.md"] = {"error": "lighthouse exited 1: x"}
    text = report.markdown(results)
    not_measured = text.split("### Not measured", 1)[1]
    assert "- search: not run" in not_measured
    assert "- ANN: not run" in not_measured
    assert "- `make check`: the Makefile has no target 'check'" in not_measured
    assert "- Lighthouse on index.md: lighthouse exited 1: x" in not_measured
    assert "### ANN" not in text and "| `make check` |" not in text
    assert met(results)["`make check` wall time, warm (s)"] is None


def test_old_results_shape_still_renders(results):
    results["lighthouse"] = {"home": scores(83), "problem": scores(99)}
    results["tests"] = {"snippets": 24.5, "total": 24.5}
    text = report.markdown(results)
    assert "| home | 83 (83) | 100 / 100 / 100 | – | – |" in text
    assert "83 on home (budget ≥ 95)" in text
    assert "- `make test`: not run" in text


# ── Parsing what the tools print ─────────────────────────────────────────────
def test_lighthouse_report_and_median_of_runs():
    def report_json(performance: float, tbt: float) -> dict:
        categories = {c: {"score": 1.0} for c in lighthouse.CATEGORIES}
        categories["performance"] = {"score": performance}
        audits = {
            "total-blocking-time": {"numericValue": tbt},
            "dom-size": {"numericValue": 1200},
        }
        return {"categories": categories, "audits": audits}

    runs = [
        lighthouse.parse_report(report_json(p, t))
        for p, t in [(0.91, 300), (0.87, 500), (0.95, 100)]
    ]
    summary = lighthouse.summarize(runs)
    assert summary["performance"] == 91 and summary["performance_runs"] == [91, 87, 95]
    assert (summary["tbt_ms"], summary["dom_size"], summary["seo"]) == (300, 1200, 100)


def test_a_run_without_a_score_is_retried_once(monkeypatch):
    unscored = {"categories": {"performance": {"score": None}}, "audits": {}}
    with pytest.raises(ValueError, match="no score for \\['performance'\\]"):
        lighthouse.parse_report(unscored)
    calls = []

    def flaky(url):
        calls.append(url)
        if len(calls) == 1:
            raise ValueError("no score")
        return {"performance": 97}

    monkeypatch.setattr(lighthouse, "run_once", flaky)
    assert lighthouse.run_with_retry("http://x/") == {"performance": 97}
    assert len(calls) == 2
    calls.clear()
    monkeypatch.setattr(lighthouse, "run_once", lambda url: calls.append(url) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # only a missing score is retried
        lighthouse.run_with_retry("http://x/")
    assert len(calls) == 1


PYTEST_OUTPUT = """\
============================= slowest durations =============================
30.50s setup    tests/site/test_browser.py::test_axe[index.md]
12.25s call     tests/site/test_browser.py::test_axe[index.md]
4.00s call     tests/site/test_build.py::test_strict
2.00s call     tests/concepts/test_bandits.py::test_regret
\x1b[32m====== 912 passed, 3 skipped in 80.12s (0:01:20) ======\x1b[0m
"""


def test_pytest_summary_and_durations_are_parsed():
    assert suite.pytest_summaries(PYTEST_OUTPUT) == [
        "912 passed, 3 skipped in 80.12s (0:01:20)"
    ]
    per_file = suite.durations_by_file(PYTEST_OUTPUT)
    assert per_file["tests/site/test_browser.py"] == 42.75
    shares = suite.split_durations(per_file, {"tests/site/test_browser.py"})
    assert shares == {"pytest_s": 48.8, "site_s": 46.8, "browser_s": 42.8}


def test_a_missing_make_target_is_an_error_not_a_crash(monkeypatch):
    def fake_make(command, **kwargs):
        target = command[-1]
        if target == "check":
            stderr = f"make: *** No rule to make target '{target}'.  Stop.\n"
            return subprocess.CompletedProcess(command, 2, "", stderr)
        return subprocess.CompletedProcess(command, 0, PYTEST_OUTPUT, "")

    monkeypatch.setattr(suite.subprocess, "run", fake_make)
    monkeypatch.setattr(suite, "OUTPUT_CACHE", Path("/nonexistent/outputs"))
    timed = suite.time_targets(n_pages=34)
    assert timed["check"] == {"error": "the Makefile has no target 'check'"}
    assert timed["test"]["summaries"] == ["912 passed, 3 skipped in 80.12s (0:01:20)"]
    assert timed["test"]["returncode"] == 0
    assert (timed["test"]["pytest_wall_s"], timed["test"]["site_s"]) == (80.1, 46.8)


def test_make_check_runs_first_with_its_output_cache_emptied(monkeypatch, tmp_path):
    cache = tmp_path / "outputs"
    cache.mkdir()
    (cache / "snippets.x.key.txt").write_text("old\n", encoding="utf-8")
    seen = []

    def fake_make(command, **kwargs):
        seen.append((command[-1], cache.exists()))
        return subprocess.CompletedProcess(command, 0, PYTEST_OUTPUT, "")

    monkeypatch.setattr(suite.subprocess, "run", fake_make)
    monkeypatch.setattr(suite, "OUTPUT_CACHE", cache)
    timed = suite.time_targets(n_pages=34, targets=("check",))
    assert seen == [("check", False), ("check", False)]
    assert timed["check_programs_run"]["returncode"] == 0
    assert timed["check"]["summaries"] == timed["check_programs_run"]["summaries"]
    text = "\n".join(report.suite_section({"tests": timed}))
    assert "With that cache emptied" in text, text


def test_a_partial_run_keeps_skipped_sections_with_their_stamp(results):
    previous = {**results, "machine": {**results["machine"], "commit": "old0001"}}
    new_machine = {**results["machine"], "commit": "new0002", "date": "2026-02-02"}
    new = {"machine": new_machine, "lighthouse": {"error": "fresh"}}
    merged = run.merge(previous, new, {"lighthouse"})
    assert merged["lighthouse"] == {"error": "fresh"}  # a failure replaces, honestly
    assert merged["ann"] == previous["ann"]
    assert merged["machine"]["commit"] == "new0002"
    assert merged["provenance"]["lighthouse"] == new_machine
    assert merged["provenance"]["ann"] == previous["machine"]
    header = report.header(merged)[0]
    assert "ANN at `old0001` on 2026-01-01." in header
    assert "another machine" not in header
    assert "Lighthouse at" not in header
    # A second partial run keeps the first stamp of a section it skips again.
    third = {**results["machine"], "commit": "new0003", "date": "2026-03-03"}
    again = run.merge(merged, {"machine": third}, {"ann"})
    assert again["provenance"]["lighthouse"] == new_machine
    assert "ann" not in again and "ann" not in again["provenance"]
    assert "Lighthouse at `new0002` on 2026-02-02" in report.header(again)[0]


def test_a_section_from_another_machine_says_so(results):
    old_machine = {**results["machine"], "commit": "old0001", "cores": 8}
    merged = run.merge(
        {**results, "machine": old_machine},
        {"machine": {**results["machine"], "commit": "new0002"}},
        {"lighthouse"},
    )
    assert (
        "ANN at `old0001` on 2026-01-01 on another machine (cores 8)"
        in (report.header(merged)[0])
    )


def test_an_unreadable_previous_file_is_not_merged(tmp_path, capsys):
    assert run.previous_results(tmp_path / "absent.json") is None
    bad = tmp_path / "results.json"
    bad.write_text("<<<<<<< HEAD\n{}", encoding="utf-8")
    assert run.previous_results(bad) is None
    assert "not merging with" in capsys.readouterr().err
    bad.write_text("[1, 2]", encoding="utf-8")
    assert run.previous_results(bad) is None
    bad.write_text('{"ann": {}}', encoding="utf-8")
    assert run.previous_results(bad) == {"ann": {}}


def test_merge_rejects_unknown_sections_and_non_dicts(results):
    with pytest.raises(ValueError, match="unknown sections"):
        run.merge(results, results, {"lighthose"})
    with pytest.raises(TypeError, match="must be dicts"):
        run.merge([], results, {"ann"})
