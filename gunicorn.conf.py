"""gunicorn's settings for `make run`, `make serve` and production: `gunicorn -c gunicorn.conf.py app:app`.

Every value can be changed from the environment without editing this file: BIND, WEB_CONCURRENCY
(worker processes), GUNICORN_THREADS (threads per process), GUNICORN_TIMEOUT, ACCESS_LOG (a file,
or "-" for stdout) and REQUEST_LOG (0 turns the app's JSON request lines on stderr off)."""

import os

# Read as the app reads its settings: a bad number stops the start with a Chinese message.
from crm.config import env_int

# The cores this process may run on (taskset, a container's cpuset), not all the machine has.
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

bind = os.environ.get("BIND", "127.0.0.1:5000")
# gthread workers: processes × threads. A request here is mostly Python (templates, the ORM, the
# matcher, WeasyPrint) holding the GIL, so processes are what use the cores: two per core, so that a
# process busy with a brief's PDF or an export for seconds does not leave its core's other requests
# waiting behind it. The threads fill the waits a process has between bursts of Python — the
# database's answer, a slow client's upload or download, a browser keeping its connection open
# (sync workers cannot keep connections alive at all) — at the memory of one process (each holds
# the app: ≈ 90 MB idle, more once it has made a PDF). Capped, so that a large machine does not
# open more database connections than PostgreSQL's default 100 allow two servers: ≤ 8 × 4 = 32 each.
workers = env_int("WEB_CONCURRENCY", min(2 * cores, 8), minimum=1)
threads = env_int("GUNICORN_THREADS", 4, minimum=1)
worker_class = "gthread"
# A gthread worker tells the arbiter it is alive from its own loop, whatever its threads do: this
# ends a process that has frozen (stuck in C code), not a slow request — nginx's proxy_read_timeout
# answers the user for that. A brief PDF or an import takes seconds; a freeze beyond this is ended.
timeout = env_int("GUNICORN_TIMEOUT", 120, minimum=1)
graceful_timeout = 30  # on restart or stop, requests under way get this long to finish
keepalive = 5  # seconds an idle browser (or nginx) connection is kept for its next request
# Each worker is replaced after this many requests, so memory a large export or PDF took is given
# back. The jitter is half the limit: under an even load, workers with a small jitter reached their
# limit within a second of each other and the server answered nobody for 7–21 s while the new ones
# started (bench/load.py); spread over thousands of requests, one worker at a time restarts.
max_requests = 4000
max_requests_jitter = 2000
proc_name = "lianzhao"
# No runtime control socket (gunicornc): workers are changed by a restart with new settings, and two
# servers started by one user would otherwise share the one default path.
control_socket_disable = True

accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
# Address, time, method and path (the query string is left out: searches name people and firms),
# status, bytes, duration in milliseconds, the browser and the request id the app's own log line has.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'
# The app's JSON line per request (crm/core/requestlog.py) is on under gunicorn unless REQUEST_LOG=0;
# the workers inherit this environment.
os.environ.setdefault("REQUEST_LOG", "1")
# The Server header says "gunicorn" only, never a version: a scanner learns nothing to look up.


def on_starting(server):
    """Warn at start-up about settings a production server should not leave to their defaults."""
    if not os.environ.get("SECRET_KEY"):
        server.log.warning(
            "未设置 SECRET_KEY：会话与 CSRF 密钥取自 instance/secret_key。"
            "多台服务器共用一个数据库时，必须在每台服务器上设置相同的 SECRET_KEY，"
            "否则在一台登录的会话会被另一台拒绝。"
        )
