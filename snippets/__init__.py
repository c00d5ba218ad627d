"""Runnable code of the guide: every module is shown on a page and run by the tests."""
