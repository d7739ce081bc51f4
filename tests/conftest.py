"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
clients, factories, and a live server with a real Chromium for the browser journeys."""

import contextvars
import os
import re
import threading
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from crm import create_app
from crm.auth.service import create_user
from crm.extensions import db
from crm.industry.loader import load_map

PASSWORD = "correct-horse-42"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def on_postgres() -> bool:
    """Whether this run of the suite is the PostgreSQL one."""
    return bool(os.environ.get("TEST_DATABASE_URL"))


def fresh_database_url(tmp_path: Path, label: str) -> str:
    """An empty database: a new SQLite file, or a new database on the test PostgreSQL server."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        return "sqlite:///" + str(tmp_path / f"{label}.sqlite3")
    name = f"lz_{label}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def build_app(url: str, **overrides):
    """An app on `url`, migrated to head, with the districts loaded."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            # A cheap hash keeps the suite fast; production uses scrypt (see test_password_is_stored_hashed).
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **overrides,
        }
    )
    with app.app_context():
        upgrade()
        load_map()
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = build_app(fresh_database_url(tmp_path_factory.mktemp("db"), "suite"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def app_context(request, app):
    """Every test runs in an app context and leaves the database as it found it."""
    if "live_server" in request.fixturenames:
        yield None
        return
    with app.app_context():
        yield app
        db.session.rollback()
        _reset_database()


REFERENCE_TABLES = {
    "districts",
    "industry_categories",
    "sectors",
    "chains",
    "products",
    "clusters",
    "cluster_districts",
    "targets",
    "catalogue_entries",
    "catalogue_entry_clusters",
}


def _reset_database() -> None:
    # The map (reference data) stays between tests; everything else goes. The audit log says
    # whether a test changed the map: then it is wiped and loaded again from the files.
    audit = db.metadata.tables["audit_log"]
    map_changed = db.session.scalar(
        select(audit.c.id).where(audit.c.table_name.in_(REFERENCE_TABLES)).limit(1)
    )
    for table in reversed(db.metadata.sorted_tables):
        if map_changed or table.name not in REFERENCE_TABLES:
            db.session.execute(delete(table))
    if map_changed:
        load_map()
        db.session.execute(delete(audit))
    db.session.commit()
    db.session.remove()


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, `g` and database session,
    as in production, instead of sharing the test's (which would hide stale-session bugs)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


class IsolatedRunner(FlaskCliRunner):
    """A CLI runner whose commands get their own app context and session, as from a shell:
    a command that forgets to commit fails its test."""

    def invoke(self, *args, **kwargs):
        return contextvars.Context().run(super().invoke, *args, **kwargs)


@pytest.fixture
def runner(app):
    app.test_cli_runner_class = IsolatedRunner
    return app.test_cli_runner()


@pytest.fixture
def csrf_enabled(app):
    """CSRF protection as in production, for the tests that check it."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def make_user():
    """Factory: a committed user; `district` takes a district name or alias."""
    counter = iter(range(1, 10_000))

    def factory(role="officer", district=None, username=None, password=PASSWORD, **kwargs):
        if role == "district" and district is None:
            district = "涪陵区"
        user = create_user(
            username or f"{role}{next(counter)}", password, role, district_name=district, **kwargs
        )
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login_as(client, make_user):
    """Log the test client in as a new user of `role` (and `district`); returns the user."""

    def login(role="officer", district=None, **kwargs):
        user = make_user(role, district, **kwargs)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": user.username, "password": PASSWORD, "csrf_token": token and token.group(1)},
        )
        assert response.status_code == 302, "login failed in the fixture"
        return user

    return login


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app behind the live server, for journeys that need data the UI cannot make (projects)."""
    return build_app(fresh_database_url(tmp_path_factory.mktemp("live"), "live"), WTF_CSRF_ENABLED=True)


@pytest.fixture(scope="session")
def live_server(live_app):
    """The app served on a free loopback port over its own fresh database; yields the base URL."""
    app = live_app
    with app.app_context():
        for role, district in (("officer", None), ("manager", None), ("district", "涪陵区"), ("admin", None)):
            create_user(f"live_{role}", PASSWORD, role, display_name=f"浏览器{role}", district_name=district)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"缺少 {CHROMIUM}：请运行 make setup（需要 root 安装 chromium）"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
