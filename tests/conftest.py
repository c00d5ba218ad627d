"""Options for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (seeded from each test's name): a
# run on CI fails only where a run here fails. Found by chance once, a boundary case
# belongs in the test as an explicit example.
settings.register_profile("mlsd", derandomize=True, database=None)
settings.load_profile("mlsd")


def pytest_addoption(parser):
    parser.addoption(
        "--update-outputs",
        action="store_true",
        help="rewrite every page's output block that differs from what its program "
        "prints, instead of failing (`make outputs`)",
    )


def pytest_configure(config):
    # pytest-xdist workers of one run share what each snippet program prints
    # (guide.module_output): a directory next to the workers' own temporary ones.
    if hasattr(config, "workerinput") and config.option.basetemp:
        outputs = Path(config.option.basetemp).parent / "snippet-outputs"
        os.environ["MLSD_SHARED_OUTPUTS"] = str(outputs)


# Test modules whose module-scoped fixtures run a miniature or make a font: under
# `--dist loadgroup` each such module stays on one worker, so a fixture is computed
# once per run, not once per worker that happens to get one of its tests.
GROUPED_BY_MODULE = ("common", "concepts", "framework", "problems", "test_fonts.py")


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the marks into node ids
def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).parent
    for item in items:
        relative = Path(item.fspath).relative_to(tests)
        if relative.parts[0] in GROUPED_BY_MODULE and not item.get_closest_marker(
            "xdist_group"
        ):
            item.add_marker(pytest.mark.xdist_group(relative.as_posix()))
