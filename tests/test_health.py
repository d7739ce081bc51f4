"""/healthz tells a load balancer whether this server can work (database up, schema at the
migrations' head) without a login; every request gets an id and, when asked, one JSON log line
with its duration and without its query string."""

import json
import logging
import re
import socket

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.config import settings
from crm.core.requestlog import LOGGER_NAME
from crm.extensions import db
from tests.conftest import fresh_database_url, on_postgres

CONTRACT_FIELDS = {"status", "database", "migrations", "message"}


def _scripts(app) -> ScriptDirectory:
    return ScriptDirectory(app.extensions["migrate"].directory)


def _head(app) -> str:
    (head,) = _scripts(app).get_heads()
    return head


def _app_on(url: str, **overrides):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, **overrides})


def _get_health(app):
    response = app.test_client().get("/healthz")
    with app.app_context():
        db.engine.dispose()
    return response


# -- /healthz ------------------------------------------------------------------------------------


def test_healthz_is_ok_on_a_migrated_database_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "migrations": "head", "message": "运行正常"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # no session is started for a probe
    # Nothing names the software or its versions, only our own schema state.
    body = response.text.lower()
    for word in ("sqlite", "postgres", "python", "werkzeug", "flask", "gunicorn", "version"):
        assert word not in body


@pytest.fixture
def recorded_revision(app):
    """Set the database's recorded migration to another revision for one test, then put it back."""
    with db.engine.connect() as connection:
        (original,) = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()

    def set_revision(revision: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})

    yield set_revision
    set_revision(original)


def test_healthz_is_503_when_the_database_is_behind_the_migrations(client, app, recorded_revision):
    head = _head(app)
    behind = _scripts(app).get_revision(head).down_revision
    recorded_revision(behind)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert response.json["database"] == "ok"
    assert response.json["migrations"] == f"{behind} (head {head})"
    assert "flask --app app db upgrade" in response.json["message"]
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_database_is_ahead_of_the_code(client, app, recorded_revision):
    recorded_revision("9999_from_newer_code")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["migrations"] == f"9999_from_newer_code (head {_head(app)})"
    assert "比本程序新" in response.json["message"]


def test_healthz_is_503_on_a_database_never_migrated(tmp_path):
    app = _app_on(fresh_database_url(tmp_path, "bare"))
    response = _get_health(app)
    assert response.status_code == 503
    assert response.json["database"] == "ok"
    assert response.json["migrations"] == f"none (head {_head(app)})"
    assert "尚未迁移" in response.json["message"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, app):
    if on_postgres():  # the test server's address with a port nothing listens on
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(port=_free_port())
        url = url.render_as_string(hide_password=False)
    else:  # a file in a directory that does not exist cannot be opened
        url = "sqlite:///" + str(tmp_path / "missing" / "db.sqlite3")
    response = _get_health(_app_on(url))
    assert response.status_code == 503
    assert set(response.json) == CONTRACT_FIELDS
    assert response.json["status"] == "error"
    assert response.json["database"] == "unreachable"
    assert response.json["migrations"] == "unknown"
    assert "127.0.0.1" not in response.text and "missing" not in response.text  # no address or path


def test_healthz_reads_the_head_once_at_start_up(client, app, monkeypatch):
    # A request must not parse the migration scripts: the head was read when the app was made.
    def fail(*args, **kwargs):
        raise AssertionError("migration scripts read during a request")

    monkeypatch.setattr(ScriptDirectory, "get_heads", fail)
    monkeypatch.setattr(ScriptDirectory, "walk_revisions", fail)
    assert client.get("/healthz").status_code == 200


# -- the request log -----------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def parsed(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def request_log(app):
    """The app's request log turned on, its lines collected instead of written to stderr."""
    logger = logging.getLogger(LOGGER_NAME)
    handler, level, propagate = Lines(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # not also to the handlers a migration's logging set-up left on root
    app.config["REQUEST_LOG"] = True
    yield handler
    app.config["REQUEST_LOG"] = False
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def test_one_json_line_per_request_with_duration_and_no_query_string(client, login_as, request_log):
    user = login_as("officer")
    request_log.lines.clear()
    response = client.get("/enterprises/?q=张三的电话&kind=target")
    assert response.status_code == 200
    (line,) = request_log.parsed()
    assert line["method"] == "GET"
    assert line["path"] == "/enterprises/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 60_000
    assert line["user_id"] == user.id
    assert line["remote_addr"] == "127.0.0.1"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert "张三" not in request_log.lines[0] and "kind" not in request_log.lines[0]


def test_anonymous_requests_errors_and_writes_are_logged(client, make_user, request_log):
    client.get("/no-such-page")
    client.get("/leads/")  # anonymous: sent to the login page
    client.get("/healthz")
    user = make_user("manager")
    client.post("/login", data={"username": user.username, "password": "correct-horse-42"})
    lines = request_log.parsed()
    assert [(line["path"], line["status"], line["user_id"]) for line in lines] == [
        ("/no-such-page", 404, None),
        ("/leads/", 302, None),
        ("/healthz", 200, None),
        ("/login", 302, user.id),  # the user who just logged in, read without another query
    ]
    assert lines[-1]["method"] == "POST"
    assert len({line["request_id"] for line in lines}) == 4


def test_nothing_is_logged_unless_asked(client, app):
    logger = logging.getLogger(LOGGER_NAME)
    handler = Lines()
    logger.addHandler(handler)
    try:
        assert app.config["REQUEST_LOG"] is False  # the tests' default, as `flask` commands have it
        response = client.get("/healthz")
    finally:
        logger.removeHandler(handler)
    assert handler.lines == []
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])  # the header always


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("7d1c6a0e5b2f4c3d9e8f7a6b5c4d3e2f", True),  # nginx's $request_id
        ("req-2026-12-03.0001:a", True),
        ("short", False),
        ("x" * 129, False),
        ('"><script>', False),
        ("a b c d e f g h", False),
    ],
)
def test_request_id_from_the_proxy_is_kept_only_when_sane(client, request_log, sent, kept):
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    returned = response.headers["X-Request-ID"]
    assert (returned == sent) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", returned)
    assert request_log.parsed()[0]["request_id"] == returned


def test_request_log_and_proxies_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("REQUEST_LOG", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert settings(str(tmp_path))["REQUEST_LOG"] is False
    assert settings(str(tmp_path))["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("REQUEST_LOG", "1")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    assert settings(str(tmp_path))["REQUEST_LOG"] is True
    assert settings(str(tmp_path))["TRUSTED_PROXIES"] == 1
    monkeypatch.setenv("TRUSTED_PROXIES", "nginx")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        settings(str(tmp_path))


@pytest.mark.parametrize(("proxies", "seen"), [(0, "127.0.0.1"), (1, "10.1.2.3")])
def test_client_address_from_nginx_only_when_trusted(app, request_log, proxies, seen):
    # Behind nginx every client is 127.0.0.1 unless X-Forwarded-For is trusted; trusted without a
    # proxy, any client could pick the address that login throttling counts.
    served = _app_on(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTED_PROXIES=proxies)
    served.config["REQUEST_LOG"] = True  # after create_app: the lines go to the fixture, not stderr
    served.test_client().get("/healthz", headers={"X-Forwarded-For": "10.1.2.3"})
    with served.app_context():
        db.engine.dispose()
    assert request_log.parsed()[0]["remote_addr"] == seen
