"""The server `make run` starts (gunicorn with gunicorn.conf.py) answers pages without naming its
version, on a database migrated like production."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from crm.extensions import db
from tests.conftest import build_app, fresh_database_url

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_without_telling_versions(tmp_path):
    url = fresh_database_url(tmp_path, "serve")
    app = build_app(url)  # migrated, the map loaded
    with app.app_context():
        db.engine.dispose()  # the server opens its own connections
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "app:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
                    headers, body = response.headers, response.read().decode()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        assert "登录" in body
        assert headers["Server"] == "gunicorn"  # no version, no Python
        assert headers["Cache-Control"] == "no-store"
    finally:
        server.terminate()
        server.wait(20)
