"""Session fixtures for site-level tests: one strict build, one server, one browser."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from guide import ROOT

from mlsd_docs.pdf import chromium, chromium_path, serve

CHROMIUM = chromium_path()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """Build the site once per session with --strict; fail on any warning.

    MLSD_SITE_DIR=<dir> reuses a build made by hand, for quick iteration on these tests.
    """
    if os.environ.get("MLSD_SITE_DIR"):
        return Path(os.environ["MLSD_SITE_DIR"])
    site_dir = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"strict build failed:\n{log[-5000:]}"
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert not warnings, "build warnings:\n" + "\n".join(warnings)
    return site_dir


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
