"""The app keeps no state in a server: two gunicorn servers on one PostgreSQL database, behind a
round-robin balancer, serve one user whose every request goes to the other server — sessions,
CSRF tokens, saved forms, the brief archive and logout all hold whichever server answers."""

import html
import itertools
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest

from crm.auth.service import create_user
from crm.config import CHEAP_PASSWORD_HASHING
from crm.extensions import db
from tests.conftest import PASSWORD, build_app, fresh_database_url, on_postgres

pytestmark = pytest.mark.skipif(
    not on_postgres(),
    reason="two servers share one database only on PostgreSQL (SQLite is a file of one machine)",
)

ROOT = Path(__file__).resolve().parent.parent
# The servers hash passwords as cheaply as the suite does (the users below are made that way).
CHEAP_ARGON2 = {name: str(value) for name, value in CHEAP_PASSWORD_HASHING.items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to look at, and following it is another request


@dataclass
class Answer:
    server: str
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def csrf_token(self) -> str:
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.text)
        assert found, f"no CSRF token on the page from {self.server}"
        return found.group(1)


class RoundRobin:
    """The load balancer: each request goes to the next server in turn; one browser's cookie jar."""

    def __init__(self, servers: list[str]):
        self._next = itertools.cycle(servers)
        self.jar = CookieJar()
        self.sent: list[tuple[str, str, str, int]] = []  # (server, method, path, status)

    def request(self, method: str, path: str, data: dict | None = None) -> Answer:
        server = next(self._next)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        body = urlencode(data).encode() if data is not None else None
        sent = urllib.request.Request(server + path, data=body, method=method)
        try:
            with opener.open(sent, timeout=60) as response:
                answer = Answer(server, response.status, dict(response.headers), response.read())
        except HTTPError as error:  # 3xx, 4xx and 5xx: urllib raises, the balancer passes them on
            with error:
                answer = Answer(server, error.code, dict(error.headers), error.read())
        self.sent.append((server, method, path, answer.status))
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, data: dict) -> Answer:
        return self.request("POST", path, data)


def _start(env: dict, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                assert response.status == 200
                return
        except OSError:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{base} did not start"
            time.sleep(0.3)


@pytest.fixture
def two_servers(tmp_path):
    """Two gunicorn servers (one worker each) on one fresh PostgreSQL database and one SECRET_KEY
    given through the environment; yields their base URLs and the manager who uses them."""
    url = fresh_database_url(tmp_path, "stateless")
    app = build_app(url)
    with app.app_context():
        manager = create_user("lb_manager", PASSWORD, "manager", display_name="轮询经理")
        db.session.commit()
        username = manager.username
        db.session.remove()
        db.engine.dispose()  # the servers open their own connections
    shared = {
        **os.environ,
        **CHEAP_ARGON2,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    servers, bases = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = tmp_path / f"server-{name}.log"
            servers.append((_start({**shared, "BIND": f"127.0.0.1:{port}"}, log), log))
            bases.append(f"http://127.0.0.1:{port}")
        for base, (server, log) in zip(bases, servers, strict=True):
            _wait_until_serving(base, server, log)
        yield bases, username
    finally:
        for server, _ in servers:
            server.terminate()
        for server, _ in servers:
            server.wait(30)


def test_one_user_served_alternately_by_two_servers(two_servers):
    (a, b), username = two_servers
    lb = RoundRobin([a, b])

    # Log in: the form and its CSRF token from A, the password posted to B.
    login_page = lb.get("/login")
    logged_in = lb.post(
        "/login", {"username": username, "password": PASSWORD, "csrf_token": login_page.csrf_token()}
    )
    assert (login_page.server, logged_in.server) == (a, b)
    assert logged_in.status == 302 and logged_in.headers["Location"] == "/", logged_in.text

    # A form opened on A is saved on B with A's CSRF token; a post without the token is refused.
    form = lb.get("/enterprises/new")
    assert form.status == 200, form.text
    refused = lb.post("/enterprises/new", {"name": "无令牌材料有限公司", "kind": "target"})
    assert refused.status != 302 and "安全令牌" in html.unescape(refused.text)  # CSRF is on
    filled = {"name": "轮询新材料科技有限公司", "kind": "target", "csrf_token": form.csrf_token()}
    lb.get("/healthz")  # keeps the turn: the form came from A, so the save goes to B
    saved = lb.post("/enterprises/new", filled)
    assert (form.server, saved.server) == (a, b)
    assert saved.status == 302, saved.text
    enterprise_page = saved.headers["Location"]
    assert re.fullmatch(r"/enterprises/\d+", enterprise_page)

    # What B saved, A shows.
    shown = lb.get(enterprise_page)
    assert shown.server == a and shown.status == 200
    assert "轮询新材料科技有限公司" in shown.text

    # A brief made on one server is downloaded from the other, byte for byte from the archive.
    briefs = lb.get("/briefs/")
    week = re.search(r"<option selected>(\d{4}-W\d\d)</option>", briefs.text).group(1)
    made = lb.post("/briefs/", {"cluster": "CITY", "week": week, "csrf_token": briefs.csrf_token()})
    assert made.status == 302, made.text
    pdf_url = made.headers["Location"]
    assert re.fullmatch(r"/briefs/\d+\.pdf", pdf_url)
    downloaded = lb.get(pdf_url)
    assert downloaded.server != made.server
    assert downloaded.status == 200
    assert downloaded.headers["Content-Type"] == "application/pdf"
    assert downloaded.body.startswith(b"%PDF")
    archive = lb.get("/briefs/")
    assert archive.server == made.server and pdf_url in archive.text

    # Logging out on one server ends the session on the other, even for a copy of the old cookie.
    copied = list(lb.jar)
    logged_out = lb.post("/logout", {})
    assert logged_out.status == 302 and logged_out.headers["Location"].startswith("/login")
    for cookie in copied:
        lb.jar.set_cookie(cookie)  # the cookie as it was before logging out
    replayed = lb.get("/enterprises/")
    assert replayed.server != logged_out.server
    assert replayed.status == 302 and replayed.headers["Location"].startswith("/login")

    # Every request went to the other server than the one before it.
    servers = [server for server, *_ in lb.sent]
    assert all(first != second for first, second in itertools.pairwise(servers))
    assert servers.count(a) >= 6 and servers.count(b) >= 6
