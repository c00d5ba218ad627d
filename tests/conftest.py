"""Options for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path


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
