"""Uploaded files: what a file is (told by its bytes, sniff.py) and where its bytes are kept
(storage.py: the database, a directory under instance/, or an S3-compatible store). No domain:
the projects' attachments are built on it."""
