"""Leads (招商线索), their follow-ups and the pipeline."""
