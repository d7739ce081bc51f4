"""Importing enterprises and leads from Excel or CSV: upload, map columns, preview, confirm."""
