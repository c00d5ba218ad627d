"""Session fixtures for site-level tests: one strict build per run, shared by every
pytest-xdist worker, one server and one browser per worker.

The first worker to need a build makes it under a file lock; the others wait and reuse
it. Builds land in the run's own temporary directory (never a stale one), or in
$MLSD_BUILD_DIR when set, so that CI can publish exactly the site it tested.
"""

from __future__ import annotations

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


def shared_build(
    tmp_path_factory, worker_id: str, run_id: str, name: str, pdf: bool
) -> Path:
    """Build once per run under a lock; a failed build fails every test needing it."""
    run_dir = _run_dir(tmp_path_factory, worker_id)
    site_dir, done = run_dir / name, run_dir / f"{name}.done"
    failed = run_dir / f"{name}.failed"
    with FileLock(str(run_dir / f"{name}.lock")):
        if failed.is_file():
            pytest.fail(failed.read_text(encoding="utf-8"))
        if not done.is_file() or done.read_text() != run_id:
            try:
                build(site_dir, pdf=pdf)
            except RuntimeError as error:
                failed.write_text(str(error), encoding="utf-8")
                pytest.fail(str(error))
            done.write_text(run_id)
    return site_dir


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
