"""Target and local enterprises, their contacts, and duplicate detection."""
