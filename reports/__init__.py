"""The PDF side of the weekly brief: figures for a scope and an ISO week (figures.py, queries only) →
HTML with SVG charts (render.py, charts.py: pure) → PDF bytes by WeasyPrint."""
