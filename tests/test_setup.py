"""The README's commands: set-up is idempotent, and `make run`'s steps serve a Chinese login page."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import fresh_database_url

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(ROOT / ".venv/bin/flask"), "--app", "app"]


def test_setup_is_a_quiet_no_op_when_done():
    result = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    if os.geteuid() != 0 and "缺少系统软件包" in result.stdout:
        pytest.skip("非 root 且缺少系统软件包：setup 按设计只提示安装命令")
    assert result.stdout == "", result.stdout  # nothing installed, nothing to say


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci/run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    # run and serve set up through migrate, which both need.
    for target in ("setup:", "migrate: setup", "run: migrate", "serve: migrate", "test: setup"):
        assert target in makefile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_steps_serve_a_chinese_login_page(tmp_path):
    env = {**os.environ, "DATABASE_URL": fresh_database_url(tmp_path, "run"), "SECRET_KEY": "run-test"}
    for step in (["db", "upgrade"], ["map", "load"], ["demo", "load", "--if-empty"], ["demo", "accounts"]):
        result = subprocess.run([*FLASK, *step], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0, (step, result.stderr)
    assert "manager" in result.stdout and "lianzhao-demo" in result.stdout
    port = _free_port()
    server = subprocess.Popen(
        [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        html = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    html = response.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.1)
        assert '<html lang="zh-CN">' in html and "登录" in html
    finally:
        server.terminate()
        server.wait(timeout=10)
