"""The server `make run` and `make serve` start (gunicorn with gunicorn.conf.py) answers pages
without naming its version, on a database migrated like production, and logs each request."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from crm import create_app
from crm.auth.models import User
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry
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
    env.pop("REQUEST_LOG", None)  # on by default under gunicorn
    gunicorn = Path(sys.executable).with_name("gunicorn")
    access_log, error_log = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with access_log.open("wb") as stdout, error_log.open("wb") as stderr:  # the server keeps its copies
        server = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert json.load(response)["migrations"] == "head"
    finally:
        server.terminate()
        server.wait(20)
    # The app's JSON line and gunicorn's access line for the same request, tied by its id.
    request_id = headers["X-Request-ID"]
    lines = [json.loads(line) for line in error_log.read_text().splitlines() if line.startswith("{")]
    (logged,) = [line for line in lines if line["request_id"] == request_id]
    assert (logged["method"], logged["path"], logged["status"]) == ("GET", "/login", 200)
    assert logged["duration_ms"] > 0 and logged["user_id"] is None
    (access,) = [line for line in access_log.read_text().splitlines() if line.endswith(request_id)]
    assert re.search(r'"GET /login" 200 \d+ \d+ms ', access), access


def test_make_serve_migrates_loads_the_map_and_serves_without_demo_data(tmp_path):
    url = fresh_database_url(tmp_path, "make_serve")  # empty: `make serve` migrates it
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "SECRET_KEY": "make-serve-test-key",
    }
    output = tmp_path / "make.log"
    with output.open("wb") as log:
        # Its own process group: make, the shell and gunicorn's master and worker are stopped together.
        server = subprocess.Popen(
            ["make", "--no-print-directory", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120  # set-up check, migrations and the map come first
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    health, server_header = json.load(response), response.headers["Server"]
                break
            except OSError:
                assert server.poll() is None, output.read_text()
                assert time.monotonic() < deadline, "make serve did not start serving"
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    assert health["migrations"] == "head" and health["database"] == "ok"
    assert server_header == "gunicorn"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CatalogueEntry)) > 200  # the map
        assert db.session.scalar(select(func.count()).select_from(User)) == 0  # no demo accounts
        assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 0  # no demo data
        db.session.remove()  # its connection back to the pool before the pool is closed
        db.engine.dispose()
