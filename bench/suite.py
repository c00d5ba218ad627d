"""Wall time of ``make check`` and ``make test``, pytest's summary, where time goes.

Each target runs once, warm (.venv, node_modules and the diagram cache present).
``make test`` runs with ``--durations=0`` so its test time splits into site-level
tests (tests/site/, which grow with the pages) and browser tests (marked ``browser``).
Under pytest-xdist these are worker-seconds: compare them as shares, not with the wall.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from mlsd_docs.site import ROOT

TARGETS = ("check", "test")
SITE_TESTS = "tests/site/"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|skipped|errors?|deselected|xfailed|xpassed)\b"
    r".*? in \d+(?:\.\d+)?s\b.*?)\s*=*\s*$",
    re.MULTILINE,
)
_SECONDS = re.compile(r" in (\d+(?:\.\d+)?)s\b")
_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)s (?:setup|call|teardown)\s+([^\s:]+)::", re.MULTILINE
)


class MissingTargetError(LookupError):
    """The Makefile has no such target (yet)."""


def pytest_summaries(output: str) -> list[str]:
    """pytest's closing lines, e.g. '912 passed, 2 skipped in 80.12s (0:01:20)'."""
    return _SUMMARY.findall(_ANSI.sub("", output))


def pytest_wall_s(summaries: list[str]) -> float:
    """Seconds pytest itself reported, summed over its runs."""
    return round(sum(float(s) for line in summaries for s in _SECONDS.findall(line)), 1)


def durations_by_file(output: str) -> dict[str, float]:
    """Seconds per test file from pytest's ``--durations=0`` table."""
    per_file: dict[str, float] = {}
    for seconds, path in _DURATION.findall(_ANSI.sub("", output)):
        per_file[path] = per_file.get(path, 0.0) + float(seconds)
    return {path: round(s, 2) for path, s in sorted(per_file.items())}


_BROWSER_MARK = re.compile(r"^pytestmark = .*pytest\.mark\.browser\b", re.M)


def browser_test_files(tests_dir: Path = ROOT / "tests") -> set[str]:
    """Test files marked ``browser`` as a whole (``pytestmark = ...browser``)."""
    return {
        path.relative_to(tests_dir.parent).as_posix()
        for path in tests_dir.rglob("test_*.py")
        if _BROWSER_MARK.search(path.read_text(encoding="utf-8"))
    }


def split_durations(per_file: dict[str, float], browser_files: set[str]) -> dict:
    """Test seconds (summed over workers) in all, site-level and in browser tests."""
    return {
        "pytest_s": round(sum(per_file.values()), 1),
        "site_s": round(
            sum(s for f, s in per_file.items() if f.startswith(SITE_TESTS)), 1
        ),
        "browser_s": round(
            sum(s for f, s in per_file.items() if f in browser_files), 1
        ),
    }


def run_target(target: str, durations: bool = False, timeout_s: int = 3600):
    """Run ``make target``; return its record and its (colourless) output."""
    env = dict(os.environ)
    if durations:
        env["PYTEST_ADDOPTS"] = (
            env.get("PYTEST_ADDOPTS", "") + " --durations=0"
        ).strip()
    start = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    wall_s = time.perf_counter() - start
    output = _ANSI.sub("", done.stdout + done.stderr)
    if done.returncode and f"No rule to make target '{target}'" in output:
        raise MissingTargetError(f"the Makefile has no target '{target}'")
    summaries = pytest_summaries(output)
    record = {
        "wall_s": round(wall_s, 1),
        "returncode": done.returncode,
        "summaries": summaries,
        "pytest_wall_s": pytest_wall_s(summaries),
    }
    if done.returncode:
        record["tail"] = output.strip().splitlines()[-15:]  # why it failed
    return record, output


OUTPUT_CACHE = ROOT / ".cache" / "outputs"  # make check's program outputs


def time_targets(n_pages: int, targets: tuple[str, ...] = TARGETS) -> dict:
    """Each target's wall time and pytest summaries; a missing target is an error.

    ``make check`` runs twice: first with its output cache emptied (every program
    runs, as after editing shared code), then warm (the edit loop: only programs whose
    inputs changed run, here none).
    """
    result: dict = {"nav_pages": n_pages}
    for target in targets:
        print(f"[bench]   make {target}", flush=True)
        if target == "check":
            shutil.rmtree(OUTPUT_CACHE, ignore_errors=True)
            try:
                cold, _ = run_target(target)
            except (MissingTargetError, subprocess.TimeoutExpired) as error:
                result[target] = {"error": str(error)}
                continue
            result["check_programs_run"] = cold
        try:
            record, output = run_target(target, durations=target == "test")
        except (MissingTargetError, subprocess.TimeoutExpired) as error:
            result[target] = {"error": str(error)}
            continue
        if target == "test":
            per_file = durations_by_file(output)
            if per_file:
                record.update(split_durations(per_file, browser_test_files()))
        result[target] = record
    return result
