"""gunicorn's settings for `make run` and production: `gunicorn -c gunicorn.conf.py app:app`.

Every value can be changed from the environment without editing this file."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:5000")
# Sync workers: each request holds one process; 2 × cores + 1 keeps the cores busy while others wait on
# the database. Capped so a large machine does not open more database connections than it needs.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
# A brief PDF or an import may take several seconds; a request stuck beyond this is ended.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
# Each worker is replaced after this many requests, so memory a large export took is given back.
max_requests = 1000
max_requests_jitter = 100
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
# The Server header says "gunicorn" only, never a version: a scanner learns nothing to look up.
