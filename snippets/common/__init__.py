"""Shared helpers at the bottom of the import graph: estimation and rank fusion."""
