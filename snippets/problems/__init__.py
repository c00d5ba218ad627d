"""Worked design problems: a miniature of each design on synthetic data."""
