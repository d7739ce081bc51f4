"""Matching firms to the catalogue: pure Python, no Flask import, testable alone."""
