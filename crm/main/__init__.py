"""The home page and the page frame's helpers."""
