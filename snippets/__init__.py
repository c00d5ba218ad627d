"""Runnable code of the guide: every module is shown on a page and run by the tests.

The package has four layers, bottom to top::

    common < concepts < framework < problems

- ``common``: helpers that several layers use and that belong to no one page's idea:
  back-of-envelope estimation (traffic, storage, latency budgets) and reciprocal rank
  fusion.
- ``concepts``: one module per concept family; the metric modules
  (``classification_metrics``, ``ranking_metrics``) live here and serve every layer
  above.
- ``framework``: the interview method, step by step.
- ``problems``: the worked designs.

A module imports only from its own layer or from a layer below it, never from a layer
above: a concept never imports a worked problem. Within a layer a module may import a
sibling, and the import graph (imports inside functions included) has no cycle, so no
two modules import each other. ``tests/test_layers.py`` checks both rules.
"""
