"""Lighthouse 12 on every page of the nav: scores, total blocking time and DOM size.

One run per page; a page whose first performance score is below ``rerun_below`` gets
more runs and keeps the median, so 2 cores finish the whole nav in bounded time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from mlsd_docs.site import CHROMIUM_ARGS, ROOT, build_env, chromium_path

BINARY = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# Audits that explain a slow page: main-thread blocking and DOM size.
AUDITS = {"tbt_ms": "total-blocking-time", "dom_size": "dom-size"}


def parse_report(report: dict) -> dict:
    """Category scores (0-100) and the explaining audits of one Lighthouse JSON.

    A run that could not score a category (Lighthouse leaves its score null, for
    example when the trace missed a paint) raises ValueError, so the run is retried.
    """
    missing = [name for name, c in report["categories"].items() if c["score"] is None]
    if missing:
        error = (report.get("runtimeError") or {}).get("code", "no runtime error")
        raise ValueError(f"Lighthouse gave no score for {missing} ({error})")
    sample = {
        name: round(category["score"] * 100)
        for name, category in report["categories"].items()
    }
    for key, audit in AUDITS.items():
        sample[key] = report["audits"][audit]["numericValue"]
    return sample


def run_once(url: str, timeout_s: int = 240) -> dict:
    """One Lighthouse run (mobile defaults) of url in Debian's headless Chromium."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                str(BINARY),
                url,
                "--quiet",
                "--output=json",
                f"--output-path={out.name}",
                f"--chrome-flags={flags}",
                "--only-categories=" + ",".join(CATEGORIES),
            ],
            env={**build_env(), "CHROME_PATH": chromium_path()},
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )
        return parse_report(json.loads(Path(out.name).read_text(encoding="utf-8")))


def run_with_retry(url: str, attempts: int = 2) -> dict:
    """run_once, once more if Lighthouse could not score the page (a flaky trace)."""
    for attempt in range(attempts):
        try:
            return run_once(url)
        except ValueError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def summarize(samples: list[dict]) -> dict:
    """The median of every measure over runs, plus the performance score of each run."""
    summary = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    summary = {k: round(v) if k in CATEGORIES else v for k, v in summary.items()}
    summary["performance_runs"] = [s["performance"] for s in samples]
    return summary


def describe(error: Exception) -> str:
    """One line about a failed run: Lighthouse's last stderr line when it exited."""
    if isinstance(error, subprocess.CalledProcessError) and error.stderr:
        lines = error.stderr.decode(errors="replace").strip().splitlines()
        return f"lighthouse exited {error.returncode}: {lines[-1] if lines else ''}"
    return f"{type(error).__name__}: {error}"


def audit_pages(
    base: str, pages: dict[str, str], rerun_below: int = 98, runs: int = 3
) -> dict:
    """Lighthouse each page (name -> site-relative URL); rerun the slow ones.

    A page that fails is recorded as ``{"error": ...}`` and the others still run.
    """
    if not BINARY.exists():
        raise FileNotFoundError("lighthouse not installed (npm ci)")
    results: dict[str, dict] = {}
    for name, url in pages.items():
        print(f"[bench]   lighthouse {name}", flush=True)
        try:
            samples = [run_with_retry(base + url)]
            if samples[0]["performance"] < rerun_below:
                samples += [run_with_retry(base + url) for _ in range(runs - 1)]
            results[name] = summarize(samples)
        except (subprocess.SubprocessError, KeyError, TypeError, ValueError) as error:
            results[name] = {"error": describe(error)}
    return {"pages": results, "rerun_below": rerun_below, "runs": runs}
