"""Concepts checklist: metrics, statistics, retrieval and serving building blocks."""
