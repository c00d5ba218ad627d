"""Options for the whole suite."""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--update-outputs",
        action="store_true",
        help="rewrite every page's output block that differs from what its program "
        "prints, instead of failing (`make outputs`)",
    )
