"""The audit log: every insert, update and delete of a domain row."""
