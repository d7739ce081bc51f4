"""Fixtures: an app on a migrated database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
clients, factories, the seed document, and a live server with a real Chromium for the browser
journeys."""

import contextvars
import itertools
import os
import re
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from crm import create_app
from crm.auth.service import create_user
from crm.config import CHEAP_PASSWORD_HASHING
from crm.enterprises.service import create_enterprise
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.industry.loader import load_map
from crm.industry.models import CatalogueEntry
from crm.leads.service import create_lead
from crm.places.service import resolve_district
from crm.projects.service import open_project
from crm.readmodels.cache import forget_all

PASSWORD = "correct-horse-42"
SIGNED_ON = date(2026, 1, 5)  # make_project's signing date unless a test gives one
# The city's action plan the map is transcribed from; LIANZHAO_SEED points elsewhere (see seed_text).
DEFAULT_SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_213a8c5b9df94f8a.txt"
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
            **CHEAP_PASSWORD_HASHING,
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
    "divisions",
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
    # SQLite gives the next test's rows the ids this one's had: the same data version, other data.
    forget_all()


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, `g` and database session,
    as in production, instead of sharing the test's (which would hide stale-session bugs)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def client_of(app, client):
    """Factory: a client of its own, logged in as `user` — several people in one test, each with
    their own cookies, as in two browsers."""

    def open_as(user):
        other = app.test_client()  # an IsolatedClient: the `client` fixture set the class
        response = other.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, "login failed"
        return other

    return open_as


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
def make_enterprise():
    """Factory: a committed enterprise made by the service; `overrides` are its form fields
    (name, products, kind, district, credit_code …). Pass confirm_duplicate=True to file a
    probable duplicate on purpose."""
    counter = itertools.count(1)

    def factory(confirm_duplicate=False, **overrides):
        raw = {"name": f"测试企业{next(counter)}号有限公司", **overrides}
        enterprise = create_enterprise(raw, confirm_duplicate=confirm_duplicate)
        db.session.commit()
        return enterprise

    return factory


@pytest.fixture
def make_lead(make_enterprise, make_user):
    """Factory: a committed lead at stage 线索, made by the service, of `enterprise` (default a new
    one) owned by `owner` (default a new officer); `overrides` are its form fields (title, source,
    district, catalogue_code, intended_investment_wan …). Without overrides it has no district and
    no catalogue entry, as a fresh lead has."""
    counter = itertools.count(1)

    def factory(enterprise=None, owner=None, **overrides):
        raw = {"title": f"测试线索{next(counter)}", "source": "展会", **overrides}
        lead = create_lead(enterprise or make_enterprise(), raw, owner or make_user("officer"))
        db.session.commit()
        return lead

    return factory


@pytest.fixture
def make_project(make_enterprise):
    """Factory: a committed project at stage 签约, opened by the service as signing does, with
    its unplanned milestones. Defaults: a new enterprise, 涪陵区, the first catalogue entry,
    10 亿元 agreed, signed on SIGNED_ON."""
    counter = itertools.count(1)

    def factory(
        *,
        name=None,
        enterprise=None,
        district="涪陵区",
        catalogue_code=None,
        agreed_investment_wan=100_000,
        signed_on=SIGNED_ON,
        lead_id=None,
    ):
        number = next(counter)
        if catalogue_code is None:
            entry = db.session.scalar(select(CatalogueEntry).order_by(CatalogueEntry.id))
        else:
            entry = get_entry(catalogue_code)
            assert entry is not None, f"no catalogue entry {catalogue_code}"
        project = open_project(
            name=name or f"测试项目{number}",
            enterprise=enterprise or make_enterprise(),
            lead_id=lead_id,
            district_id=resolve_district(district).id,
            catalogue_entry=entry,
            agreed_investment_wan=agreed_investment_wan,
            signed_on=signed_on,
        )
        db.session.commit()
        return project

    return factory


def seed_path() -> Path:
    """The seed document: $LIANZHAO_SEED, or ../shared/seed/… next to the project."""
    return Path(os.environ.get("LIANZHAO_SEED") or DEFAULT_SEED)


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed document's text, read once; the tests that need it are skipped when it is absent."""
    path = seed_path()
    if not path.is_file():
        pytest.skip(
            f"seed document not found at {path}: set LIANZHAO_SEED to the path of "
            "000_213a8c5b9df94f8a.txt (default ../shared/seed/ beside the project)"
        )
    return path.read_text("utf-8")


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
