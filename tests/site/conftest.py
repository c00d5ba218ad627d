"""Session fixtures for site-level tests: one strict build per run, shared by every
pytest-xdist worker, one server and one browser per worker.

The first worker to need a build makes it under a file lock; the others wait and reuse
it. Builds land in the run's own temporary directory (never a stale one), or in
$MLSD_BUILD_DIR when set, so that CI can publish exactly the site it tested.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from mlsd_docs.site import build, chromium, chromium_path, serve

CHROMIUM = chromium_path()


def _run_dir(tmp_path_factory, worker_id: str) -> Path:
    """A directory shared by every worker of this run and by no other run."""
    if os.environ.get("MLSD_BUILD_DIR"):
        path = Path(os.environ["MLSD_BUILD_DIR"]).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def once_per_run(tmp_path_factory, worker_id: str, run_id: str, name: str, make):
    """Call make() once per test run, whichever worker asks first, under a file lock.

    make() returns something JSON can hold; every worker gets that same value. A
    failure is recorded and fails every later caller of this run the same way.
    """
    run_dir = _run_dir(tmp_path_factory, worker_id)
    done, failed = run_dir / f"{name}.done", run_dir / f"{name}.failed"
    with FileLock(str(run_dir / f"{name}.lock")):
        if failed.is_file():
            failed_run, _, message = failed.read_text(encoding="utf-8").partition("\n")
            if failed_run == run_id:
                pytest.fail(message)
        if done.is_file():
            record = json.loads(done.read_text(encoding="utf-8"))
            if record["run"] == run_id:
                return record["value"]
        try:
            value = make(run_dir)
        except (RuntimeError, ValueError, OSError) as error:
            failed.write_text(f"{run_id}\n{error}", encoding="utf-8")
            pytest.fail(str(error))
        done.write_text(json.dumps({"run": run_id, "value": value}), encoding="utf-8")
        return value


def shared_build(
    tmp_path_factory, worker_id: str, run_id: str, name: str, pdf: bool
) -> Path:
    """Build once per run under a lock; a failed build fails every test needing it."""

    def make(run_dir: Path) -> str:
        build(run_dir / name, pdf=pdf)
        return str(run_dir / name)

    return Path(once_per_run(tmp_path_factory, worker_id, run_id, name, make))


@pytest.fixture(scope="session")
def run_once(tmp_path_factory, worker_id, testrun_uid):
    """``run_once(name, make)``: once_per_run for this run (make gets the run's dir)."""

    def _run_once(name: str, make):
        return once_per_run(tmp_path_factory, worker_id, testrun_uid, name, make)

    return _run_once


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, worker_id, testrun_uid) -> Path:
    """The strict build of the site (fails on any warning).

    MLSD_SITE_DIR=<dir> reuses a build made by hand, for quick iteration on these tests.
    """
    if os.environ.get("MLSD_SITE_DIR"):
        return Path(os.environ["MLSD_SITE_DIR"])
    return shared_build(tmp_path_factory, worker_id, testrun_uid, "site", pdf=False)


@pytest.fixture(scope="session")
def print_site(tmp_path_factory, worker_id, testrun_uid) -> Path:
    """The strict build with the one-page book (MLSD_PDF=true) that make pdf prints."""
    return shared_build(
        tmp_path_factory, worker_id, testrun_uid, "print-site", pdf=True
    )


@pytest.fixture(scope="session")
def site_url(built_site) -> Iterator[str]:
    """Serve the built site from 127.0.0.1 on a free port."""
    with serve(built_site) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright; skip without it unless CI=true."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must run the browser tests")
        pytest.skip(message)
    with chromium() as instance:
        yield instance
