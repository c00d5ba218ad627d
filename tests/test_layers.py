"""The import rules of ``snippets/``: no import goes up a layer, and no cycle.

Layers, bottom to top, as ``snippets/__init__.py`` states them:
common < concepts < framework < problems. Imports are read with ``ast``, so an
import inside a function counts as much as one at the top of a file.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from guide import import_graph, imported_modules

LAYERS = ("common", "concepts", "framework", "problems")  # bottom first


def layer_of(module: str) -> int:
    """Position of a module's layer, bottom first; the bare package sits below all."""
    parts = module.split(".")
    if len(parts) == 1:
        return -1
    if parts[1] not in LAYERS:
        raise AssertionError(
            f"{module} is in no layer: add snippets/{parts[1]} to the order in "
            "snippets/__init__.py and LAYERS in tests/test_layers.py"
        )
    return LAYERS.index(parts[1])


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import from a lower layer into a higher one, as 'a imports b' lines."""
    return [
        f"{module} ({LAYERS[layer_of(module)]}) imports {target} "
        f"({LAYERS[layer_of(target)]}), a layer above it"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_every_layer_and_the_imports_inside_functions():
    graph = import_graph()
    assert {m.split(".")[1] for m in graph if "." in m} == set(LAYERS)
    # An import of a module, and an import of a name from a module, both count.
    assert (
        "snippets.common.estimation"
        in graph["snippets.framework.high_level_architecture"]
    )
    assert (
        "snippets.problems.video_recommendation_model"
        in graph["snippets.problems.video_recommendation"]
    )


def test_no_import_goes_up_a_layer():
    bad = upward_imports(import_graph())
    assert not bad, (
        "imports against the layer order "
        + " < ".join(LAYERS)
        + ":\n"
        + ("\n".join(bad))
    )


def test_the_import_graph_has_no_cycle():
    found = cycles(import_graph())
    assert not found, "modules that import each other (directly or in a loop):\n" + (
        "\n".join(" <-> ".join(component) for component in found)
    )


# The checks themselves: each catches what it is there to catch.


def test_imports_inside_functions_and_relative_imports_are_found():
    source = (
        "import numpy\n"
        "from . import sibling\n"
        "from ..common.fusion import reciprocal_rank_fusion\n"
        "def main():\n"
        "    from snippets.problems import search_engine\n"
    )
    known = {
        "snippets.concepts.sibling",
        "snippets.common.fusion",
        "snippets.problems.search_engine",
    }
    assert imported_modules("snippets.concepts.x", source, False, known) == known


def test_an_upward_import_is_reported_by_name():
    graph = {
        "snippets.concepts.generative_ai": {"snippets.problems.search_engine"},
        "snippets.problems.search_engine": {"snippets.common.fusion"},
    }
    (message,) = upward_imports(graph)
    assert "snippets.concepts.generative_ai (concepts) imports" in message
    assert "snippets.problems.search_engine (problems)" in message


def test_a_cycle_is_reported_with_every_module_in_it():
    a, b, c = "snippets.problems.a", "snippets.problems.b", "snippets.problems.c"
    assert cycles({a: {b}, b: {a}, c: {a}}) == [[a, b]]
    assert cycles({a: {b}, b: {c}, c: {a}}) == [[a, b, c]]
    assert cycles({a: {a}}) == [[a]]
    assert cycles({a: {b}, b: set(), c: {a, b}}) == []


def test_a_module_outside_every_layer_fails_clearly():
    with pytest.raises(AssertionError, match="snippets/extras"):
        layer_of("snippets.extras.helpers")
