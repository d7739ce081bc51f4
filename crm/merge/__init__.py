"""Merging duplicate enterprises: the kept record takes over the absorbed one's leads, contacts,
projects and history."""
