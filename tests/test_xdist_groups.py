"""``--dist loadgroup`` keeps each xdist_group on one worker (make check, make test).

xdist's worker tells its scheduler a test's group by appending ``@group`` to the
test's node id. When that silently stops (pytest 9.2 made node ids immutable,
pytest-xdist#1386; a mark added after xdist's own collection hook is missed), every
worker runs part of each group and waits on the others' locks: the PDF tests then held
a second core idle for two minutes, and module fixtures ran once per worker.
"""

from __future__ import annotations

import pytest


def test_every_grouped_test_carries_its_group_to_the_scheduler(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("checks the worker side of --dist loadgroup (make check, test)")
    # Marks from pytestmark and those tests/conftest.py adds to whole modules alike.
    grouped = [
        item for item in request.session.items if item.get_closest_marker("xdist_group")
    ]
    lost = [item.nodeid for item in grouped if "@" not in item.nodeid]
    assert not lost, (
        f"{len(lost)} of {len(grouped)} grouped tests lost their group "
        f"(first: {lost[0]}): pin a pytest that pytest-xdist can group with"
    )
