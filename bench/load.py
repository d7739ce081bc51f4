"""Load benchmark (issue 14): simulated users in the three roles against gunicorn, mixed reads and
writes in a closed loop, then the trivial route under the same concurrency for comparison.

Run with `.venv/bin/python -m bench.load [--users 50] [--duration 120] [--factor F] [--database-url URL]`.
Without --database-url it re-runs itself under scripts/with-postgres.sh (a throwaway PostgreSQL
server), creates a database there, migrates it and loads the map, the demo data and (--factor > 0)
`demo scale`; with --database-url (e.g. sqlite:////tmp/load.sqlite3) it prepares that database the
same way (every step is idempotent). It then adds the benchmark's accounts with the users CLI, hands
the open leads to the simulated officers, serves the app with gunicorn and gunicorn.conf.py on a
free port, and logs every user in once (CSRF on, as a browser does).

The benchmark WRITES (accounts, lead owners, follow-ups, stage moves, project updates): point
--database-url only at a scratch database. Prints a table and writes bench/results/load-<db>.json
(and the gunicorn log beside it); asserts nothing. Figures depend on the machine: the driver's own
threads share its cores with the server, and its CPU time is reported with the figures.
"""

import argparse
import html
import http.client
import itertools
import json
import math
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from crm import create_app
from crm.auth.models import DISTRICT, MANAGER, OFFICER
from crm.auth.service import find_user
from crm.cli.common import CliError, committing
from crm.cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from crm.extensions import db
from crm.industry.models import CatalogueEntry, Cluster
from crm.leads.models import OPEN, LeadStage
from crm.leads.models import Lead as LeadRow
from crm.leads.service import reassign_lead
from crm.places.models import District
from crm.projects.models import TERMINATED, Project

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# The benchmark's own accounts (load-m02, load-o03, load-d04 …) share one password: ≥ 10 characters,
# not a common one, not containing any of the names.
LOAD_PASSWORD = "bench-load-Ch0ngqing"
ROLE_SHARES = {MANAGER: 0.2, DISTRICT: 0.3}  # officers are the rest: the bureau's daily workers
ROLE_LABELS = {MANAGER: "处室负责人", OFFICER: "招商专员", DISTRICT: "区县专员"}
LEADS_PER_OFFICER = 8  # open leads handed to each simulated officer (they log follow-ups on them)
BUSIEST_DISTRICTS = 12  # district accounts are spread over the districts with the most live projects
DATABASE_NAME = "lianzhao_load"
TIMEOUT = 130  # seconds: beyond gunicorn's 120 s, so a request the server ends is seen as such

# How often each role does what (relative weights). A write is a GET of the page with the form, the
# POST, and the GET of the page it redirects to — what a browser does.
MANAGER_MIX = {
    "dashboard": 4,
    "board": 3,
    "projects": 3,
    "overview": 2,
    "briefs": 1,
    "brief_preview": 1,
    "map": 1,
    "catalogue": 1,
    "catalogue_entry": 1,
    "matrix": 1,
    "gaps": 1,
    "targets": 1,
}
OFFICER_MIX = {
    "home": 1,
    "my_leads": 3,
    "leads_filtered": 1,
    "search": 3,
    "enterprises": 2,
    "enterprise": 3,
    "lead": 2,
    "follow_up": 3,
    "move": 1,
    "todo": 1,
    "board": 1,
}
DISTRICT_MIX = {"home": 2, "mine": 3, "project": 3, "update": 3, "projects": 1}
SEARCH_TERMS = ["铝", "石墨烯", "锂电", "PA66", "钛合金", "重庆", "新材料", "科技", "碳纤维", "硅"]

LEAD_ROW = re.compile(
    r'<a href="/leads/(\d+)">[^<]*</a></td>\s*<td>[^<]*</td>\s*<td><span class="badge[^"]*">([^<]+)</span>'
)
LEAD_STAGE = re.compile(r'<h1 class="h3 me-auto">[^<]*<span class="badge text-bg-primary">([^<]+)</span>')
ENTERPRISE_LINK = re.compile(r'href="/enterprises/(\d+)"')
LIVE_PROJECT = re.compile(r'href="/projects/(\d+)#update"')
INPUT = re.compile(r"<input\b[^>]*>")
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
ALERT = re.compile(r'<div class="alert alert-(?:danger|warning)[^>]*>\s*([^<]+)')


# --- the browser -------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    location: str  # the path a redirect points to ("" otherwise)
    text: str


class Browser:
    """One user's browser: its own cookies (hence its own session), one connection, no redirect
    followed by itself (the user scripts follow them, so each request is timed on its own)."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, fields: dict | None = None, request_id: str = "") -> Reply:
        body = urlencode(fields).encode() if fields is not None else None
        headers = {"Accept-Language": "zh-CN", "Accept": "text/html"}
        if request_id:
            # The app logs the id it is given with its own server time: the two are matched later.
            headers["X-Request-ID"] = request_id
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.connection.sock is not None
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed while idle: a browser retries once on a
                # new one. A fresh connection failing is a real error.
                self.connection.close()
                if not reused or attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            self._keep_cookie(header)
        location = response.headers.get("Location", "")
        if location:
            parts = urlsplit(location)
            location = parts.path + (f"?{parts.query}" if parts.query else "")
        return Reply(response.status, location, text)

    def _keep_cookie(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attributes = attributes.lower()
        # Flask deletes a cookie with an expiry in 1970 and Max-Age=0.
        if "max-age=0" in attributes or "1970" in attributes:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def close(self) -> None:
        self.connection.close()


def form_fields(page: str, action: str) -> dict[str, str] | None:
    """The values a browser would submit from the form posting to `action`: its text and hidden
    inputs as the server filled them (the CSRF token, today's date …); None if there is no such form."""
    start = page.find(f'action="{action}"')
    if start < 0:
        return None
    end = page.find("</form>", start)
    values = {}
    for tag in INPUT.findall(page, start, end if end > 0 else len(page)):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes and attributes.get("type") not in ("checkbox", "radio", "submit"):
            values[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return values


def alert_of(page: str) -> str:
    """The first error message a page shows (a refused form says why), for the error report."""
    found = ALERT.search(page)
    return " ".join(found.group(1).split())[:80] if found else ""


# --- recording ---------------------------------------------------------------------------------


REQUEST_NUMBERS = itertools.count(1)  # next() on it is atomic under the GIL: safe from every thread


class Sample(NamedTuple):
    kind: str  # "<role> <method> <route>", or "<method> <route>" for the trivial route
    seconds: float  # as the client saw it: sending, the server's queue and work, reading the answer
    ok: bool
    finished: float  # time.monotonic()
    request_id: str


class Recorder:
    """Every request's kind, time and outcome; the errors counted by what went wrong."""

    def __init__(self):
        self.samples: list[Sample] = []
        self.errors: Counter = Counter()
        self.lock = threading.Lock()

    @staticmethod
    def next_id() -> str:
        """A request id unique in the run (one counter for every recorder), for the server's log."""
        return f"load-{os.getpid()}-{next(REQUEST_NUMBERS):08d}"

    def add(self, kind: str, seconds: float, ok: bool, what: str = "", request_id: str = "") -> None:
        with self.lock:
            self.samples.append(Sample(kind, seconds, ok, time.monotonic(), request_id))
            if not ok:
                self.errors[(kind, what)] += 1


class Stop(Exception):
    """The run's time is up: the user stops between two requests."""


class Expected(Exception):
    """A request did not answer as a browser expects (already recorded as an error)."""


class User:
    """A simulated user: logged in once, then actions drawn by weight, back to back, or with a pause
    of `think` seconds on average (half to one and a half of it) between actions."""

    mix: dict[str, int] = {}
    think: float = 0.0  # set from --think

    def __init__(self, account: "Account", port: int, reference: dict, recorder: Recorder, seed: int):
        self.account = account
        self.browser = Browser(port)
        self.reference = reference
        self.recorder = recorder
        self.rng = random.Random(seed)
        self.deadline = math.inf

    def request(self, kind: str, method: str, path: str, fields=None, expect: int = 200) -> Reply:
        """One timed request; anything but the expected status is an error (and ends the action)."""
        if time.monotonic() >= self.deadline:
            raise Stop
        label = f"{self.account.role} {method} {kind}"
        request_id = self.recorder.next_id()
        start = time.perf_counter()
        try:
            reply = self.browser.send(method, path, fields, request_id)
        except (OSError, http.client.HTTPException) as error:
            seconds = time.perf_counter() - start
            self.recorder.add(label, seconds, False, f"连接错误 {type(error).__name__}", request_id)
            raise Expected from error
        seconds = time.perf_counter() - start
        if reply.status != expect:
            what = f"HTTP {reply.status}"
            if reply.status in (301, 302, 303):
                what += f" → {reply.location.split('?')[0]}"
            elif reply.status == 200:
                what += f"（表单未通过：{alert_of(reply.text) or '无提示'}）"
            self.recorder.add(label, seconds, False, what, request_id)
            raise Expected
        self.recorder.add(label, seconds, True, "", request_id)
        return reply

    def get(self, kind: str, path: str) -> Reply:
        return self.request(kind, "GET", path)

    def post(self, kind: str, path: str, fields: dict, page_kind: str) -> Reply:
        """POST a form; it must redirect (post/redirect/get), and the page it leads to is fetched."""
        reply = self.request(kind, "POST", path, fields, expect=302)
        return self.get(page_kind, reply.location)

    def log_in(self) -> float:
        """GET the login page, POST the name, password and its CSRF token; the seconds the POST took."""
        page = self.browser.send("GET", "/login")
        token = form_fields(page.text, "/login") or {}
        fields = {
            "csrf_token": token.get("csrf_token", ""),
            "username": self.account.username,
            "password": self.account.password,
        }
        start = time.perf_counter()
        reply = self.browser.send("POST", "/login", fields)
        seconds = time.perf_counter() - start
        if reply.status != 302:
            raise SystemExit(
                f"错误：{self.account.username} 登录失败（HTTP {reply.status}）：{alert_of(reply.text)}"
            )
        return seconds

    def run(self, deadline: float) -> None:
        """Act until the deadline; a failed request is recorded and the next action starts."""
        self.deadline = deadline
        names, weights = list(self.mix), list(self.mix.values())
        while time.monotonic() < deadline:
            action = getattr(self, self.rng.choices(names, weights)[0])
            try:
                action()
            except Expected:
                pass
            except Stop:
                break
            if self.think:
                time.sleep(min(self.think * self.rng.uniform(0.5, 1.5), max(deadline - time.monotonic(), 0)))

    # shared pages
    def home(self) -> None:
        self.get("/", "/")

    def board(self) -> None:
        self.get("/leads/board", "/leads/board")

    def projects(self) -> None:
        self.get("/projects/", "/projects/")


class Manager(User):
    """Reads the city's state: 驾驶舱, kanban, projects, briefs, the map and catalogue pages."""

    mix = MANAGER_MIX

    def dashboard(self) -> None:
        self.home()

    def overview(self) -> None:
        self.get("/projects/overview", "/projects/overview")

    def briefs(self) -> None:
        self.get("/briefs/", "/briefs/")

    def brief_preview(self) -> None:
        cluster = self.rng.choice([*self.reference["clusters"], "CITY"])
        self.get("/briefs/preview", f"/briefs/preview?cluster={cluster}")

    def map(self) -> None:
        self.get("/map", "/map")

    def catalogue(self) -> None:
        self.get("/catalogue", "/catalogue")

    def catalogue_entry(self) -> None:
        self.get("/catalogue/<code>", f"/catalogue/{self.rng.choice(self.reference['entries'])}")

    def matrix(self) -> None:
        self.get("/clusters/matrix", "/clusters/matrix")

    def gaps(self) -> None:
        self.get("/catalogue/gaps", "/catalogue/gaps")

    def targets(self) -> None:
        self.get("/targets", "/targets")


class Officer(User):
    """Works leads: lists, search, enterprise pages; logs follow-ups and moves stages on their own."""

    mix = OFFICER_MIX

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.leads: list[int] = []  # my open leads, as the list last showed them
        self.enterprise_ids: list[int] = []
        self.parked_from: dict[int, str] = {}  # lead → the stage it had before I set it aside

    def my_leads(self) -> None:
        page = self.get("/leads/?mine=1", "/leads/?mine=1")
        self.leads = [int(i) for i, stage in LEAD_ROW.findall(page.text) if stage in OPEN]

    def leads_filtered(self) -> None:
        stage = self.rng.choice(OPEN)
        sort = self.rng.choice(["follow_up", "investment", "newest", "contact"])
        self.get("/leads/?stage=&sort=", f"/leads/?stage={quote(stage)}&sort={sort}")

    def search(self) -> None:
        term = self.rng.choice(self.reference["terms"])
        self.get("/search?q=", f"/search?q={quote(term)}")

    def enterprises(self) -> None:
        page = self.get("/enterprises/", f"/enterprises/?page={self.rng.randint(1, 5)}")
        self.enterprise_ids = [int(i) for i in ENTERPRISE_LINK.findall(page.text)] or self.enterprise_ids

    def enterprise(self) -> None:
        if not self.enterprise_ids:
            return self.enterprises()
        self.get("/enterprises/<id>", f"/enterprises/{self.rng.choice(self.enterprise_ids)}")

    def todo(self) -> None:
        self.get("/leads/todo", "/leads/todo")

    def _lead_page(self) -> tuple[int, Reply] | None:
        if not self.leads:
            self.my_leads()
        if not self.leads:
            return None  # nothing of mine open: the officer reads instead
        lead_id = self.rng.choice(self.leads)
        return lead_id, self.get("/leads/<id>", f"/leads/{lead_id}")

    def lead(self) -> None:
        self._lead_page()

    def follow_up(self) -> None:
        opened = self._lead_page()
        if opened is None:
            return self.search()
        lead_id, page = opened
        action = f"/leads/{lead_id}/follow-ups"
        fields = form_fields(page.text, action)
        if fields is None:
            self.recorder.add(f"{OFFICER} GET /leads/<id>", 0.0, False, "页面缺少“记录跟进”表单")
            raise Expected
        fields.update(
            kind=self.rng.choice(["电话", "拜访", "会议", "来访"]),
            participants=f"{self.account.display_name}、企业联系人",
            notes=f"负荷测试跟进：沟通项目进展与要素需求（{self.rng.randint(1, 10**6)}）。",
        )
        self.post("/leads/<id>/follow-ups", action, fields, "/leads/<id>")

    def move(self) -> None:
        """Set a lead aside (搁置), or take a set-aside one back to where it was (or to 线索)."""
        opened = self._lead_page()
        if opened is None:
            return self.search()
        lead_id, page = opened
        stage = LEAD_STAGE.search(page.text)
        action = f"/leads/{lead_id}/stage"
        fields = form_fields(page.text, action)
        if stage is None or fields is None:
            self.recorder.add(f"{OFFICER} GET /leads/<id>", 0.0, False, "页面缺少阶段或“变更阶段”表单")
            raise Expected
        current = html.unescape(stage.group(1))
        if current == LeadStage.DORMANT:
            target = self.parked_from.pop(lead_id, str(LeadStage.LEAD))
        else:
            target = str(LeadStage.DORMANT)
            self.parked_from[lead_id] = current
        fields.update(stage=target, lost_reason="", note="负荷测试：调整跟进节奏")
        self.post("/leads/<id>/stage", action, fields, "/leads/<id>")


class DistrictStaff(User):
    """Keeps their district's projects current: 本区项目, a project's page, a progress update."""

    mix = DISTRICT_MIX

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.live: list[int] = []

    def mine(self) -> None:
        page = self.get("/projects/mine", "/projects/mine")
        self.live = [int(i) for i in LIVE_PROJECT.findall(page.text)]

    def _project_page(self) -> tuple[int, Reply] | None:
        if not self.live:
            self.mine()
        if not self.live:
            return None
        project_id = self.rng.choice(self.live)
        return project_id, self.get("/projects/<id>", f"/projects/{project_id}")

    def project(self) -> None:
        self._project_page()

    def update(self) -> None:
        opened = self._project_page()
        if opened is None:
            return self.mine()
        project_id, page = opened
        action = f"/projects/{project_id}/updates"
        fields = form_fields(page.text, action)
        if fields is None:
            # Terminated by someone else since the list was read: the list is read again.
            self.live.remove(project_id)
            return self.mine()
        fields.update(
            stage_reached="",
            termination_reason="",
            note=f"负荷测试进展：施工与手续按计划推进（{self.rng.randint(1, 10**6)}）。",
            issues=self.rng.choice(["", "", "用地指标待协调"]),
        )
        self.post("/projects/<id>/updates", action, fields, "/projects/<id>")


USER_CLASSES = {MANAGER: Manager, OFFICER: Officer, DISTRICT: DistrictStaff}


# --- preparing the database and the accounts --------------------------------------------------


@dataclass
class Account:
    username: str
    role: str
    password: str
    display_name: str
    district: str | None = None
    demo: bool = False


def role_counts(users: int) -> dict[str, int]:
    """How many of each role: a fifth managers, three tenths district staff, officers the rest."""
    managers = max(1, round(users * ROLE_SHARES[MANAGER]))
    districts = max(1, round(users * ROLE_SHARES[DISTRICT]))
    return {MANAGER: managers, OFFICER: users - managers - districts, DISTRICT: districts}


def plan_accounts(counts: dict[str, int], busiest: list[str]) -> list[Account]:
    """The demo accounts of each role first, then load-m02, load-o03 … up to each role's count;
    district staff spread over the busiest districts."""
    accounts = []
    for role, count in counts.items():
        demo = [a for a in DEMO_ACCOUNTS if a[1] == role]
        for n in range(count):
            if n < len(demo):
                name, _, district, display = demo[n]
                accounts.append(Account(name, role, DEMO_PASSWORD, display, district, demo=True))
                continue
            prefix = {MANAGER: "m", OFFICER: "o", DISTRICT: "d"}[role]
            district = busiest[(n - len(demo)) % len(busiest)] if role == DISTRICT else None
            display = f"压测{ROLE_LABELS[role]}{n + 1:02d}"
            accounts.append(Account(f"load-{prefix}{n + 1:02d}", role, LOAD_PASSWORD, display, district))
    return accounts


def run_flask(*args: str) -> None:
    """One `flask --app app …` command against the benchmark's database, its output shown as it runs."""
    print(f"==> flask --app app {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"错误：flask {' '.join(args)} 失败（退出码 {done.returncode}）")


def prepare_database(factor: float) -> None:
    """Migrate, load the map and the demo data, and add scale data when asked (all idempotent)."""
    run_flask("db", "upgrade")
    run_flask("map", "load")
    run_flask("demo", "load")
    run_flask("demo", "accounts")
    if factor > 0:
        run_flask("demo", "scale", "--factor", str(factor))


def prepare_accounts(counts: dict[str, int]) -> tuple[list[Account], dict]:
    """Create the benchmark's accounts with the users CLI, give the simulated officers open leads,
    and read what the users will ask for (cluster codes, catalogue codes, search terms)."""
    app = create_app()
    with app.app_context():
        live = func.count(Project.id)
        busiest = db.session.scalars(
            select(District.name)
            .join(Project, Project.district_id == District.id)
            .where(Project.stage != TERMINATED)
            .group_by(District.id, District.name)
            .order_by(live.desc(), District.name)
            .limit(BUSIEST_DISTRICTS)
        ).all()
        accounts = plan_accounts(counts, list(busiest) or ["涪陵区"])
        existing = {a.username for a in accounts if find_user(a.username)}
    runner = app.test_cli_runner()
    for account in accounts:
        if account.username in existing:
            continue
        if account.demo:
            raise SystemExit(
                f"错误：演示账号 {account.username} 不存在（请先运行 flask --app app demo load）"
            )
        args = ["users", "create", account.username, "--role", account.role, "--password", account.password]
        args += ["--display-name", account.display_name]
        args += ["--district", account.district] if account.district else []
        outcome = runner.invoke(args=args)
        if outcome.exit_code != 0:
            raise SystemExit(f"错误：创建用户 {account.username} 失败：{outcome.output.strip()}")
    created = len(accounts) - len(existing)
    print(f"==> 压测账号：新建 {created} 个，已有 {len(existing)} 个", flush=True)
    with app.app_context():
        reference = {
            "clusters": list(db.session.scalars(select(Cluster.code).where(Cluster.retired.is_(False)))),
            "entries": list(
                db.session.scalars(
                    select(CatalogueEntry.code)
                    .where(CatalogueEntry.retired.is_(False))
                    .order_by(CatalogueEntry.id)
                )
            ),
        }
        titles = db.session.scalars(select(CatalogueEntry.title).order_by(CatalogueEntry.id).limit(60)).all()
        reference["terms"] = SEARCH_TERMS + [t[:3] for t in titles[::3]]
        manager = next(a for a in accounts if a.role == MANAGER)
        handed = hand_out_leads([a for a in accounts if a.role == OFFICER], find_user(manager.username))
        print(f"==> 分配给压测招商专员的在办线索：{handed} 条", flush=True)
        db.engine.dispose()
    return accounts, reference


def hand_out_leads(officers: list[Account], by) -> int:
    """Open leads, oldest first, dealt round-robin to the simulated officers (LEADS_PER_OFFICER each)
    by a manager, so every officer has leads of their own to work; a second run deals them the same."""
    owners = [find_user(a.username) for a in officers]
    leads = db.session.scalars(
        select(LeadRow)
        .where(LeadRow.stage.in_(OPEN))
        .order_by(LeadRow.id)
        .limit(len(owners) * LEADS_PER_OFFICER)
    ).all()
    try:
        with committing("命令行：bench.load"):
            for n, lead in enumerate(leads):
                reassign_lead(lead, owners[n % len(owners)].id, by)
    except CliError as error:
        raise SystemExit(f"错误：分配线索失败：{error}") from error
    return len(leads)


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    port: int, log_path: Path, workers: int | None, max_requests: int | None
) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py on 127.0.0.1:port, its log (access log included)
    written to log_path; returns once the login page answers."""
    env = {**os.environ, "BIND": f"127.0.0.1:{port}"}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"]
    if max_requests is not None:
        # gunicorn's command line overrides its config file: for comparing with and without recycling.
        command += ["--max-requests", str(max_requests)]
    log = open(log_path, "w", encoding="utf-8")  # closed by stop_gunicorn
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one, never with ours
    )
    server.log = log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"错误：gunicorn 启动失败，见 {log_path}")
        try:
            if Browser(port).send("GET", "/login").status == 200:
                return server
        except OSError:
            pass  # not listening yet
        time.sleep(0.3)
    stop_gunicorn(server)
    raise SystemExit(f"错误：gunicorn 60 秒内未就绪，见 {log_path}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    """SIGTERM to the master (it stops its workers gracefully); SIGKILL to its group if it hangs."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    server.log.close()


# Lines of a healthy server: access-log lines, gunicorn's own INFO lines, JSON log records.
ROUTINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+ |\[[^\]]+\] \[\d+\] \[INFO\]|\{)")
GUNICORN_TIME = re.compile(r"^\[([^\]]+)\]")
REQUEST_LINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+ |\{)")  # the first request served ends the start-up
ERROR_MARKS = ("[ERROR]", "[CRITICAL]", "ERROR in ", "WORKER TIMEOUT")


def read_server_log(log_path: Path) -> dict:
    """What gunicorn's log says: worker type and count, restarts, every error (with its traceback),
    and the app's own time of each request it logged as JSON (`durations`, by request id)."""
    lines = log_path.read_text("utf-8", "replace").splitlines()
    worker_type = next((ln.split("Using worker:")[1].strip() for ln in lines if "Using worker:" in ln), "?")
    serving = next((n for n, ln in enumerate(lines) if REQUEST_LINE.match(ln)), len(lines))
    errors, current, durations, restarts = [], None, {}, []
    for line in lines:
        if "Autorestarting worker" in line and (stamp := GUNICORN_TIME.match(line)):
            restarts.append(datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S %z").timestamp())
        if line.startswith("{"):
            try:
                record = json.loads(line)
                durations[record["request_id"]] = float(record["duration_ms"])
            except (ValueError, KeyError, TypeError):
                pass
        if any(mark in line for mark in ERROR_MARKS) or (current is None and "Traceback (most" in line):
            current = [line]
            errors.append(current)
        elif current is not None and not ROUTINE.match(line):
            if len(current) < 80:
                current.append(line)
        else:
            current = None
    return {
        "worker_type": worker_type,
        "workers": sum("Booting worker with pid" in ln for ln in lines[:serving]),
        # max_requests in gunicorn.conf.py: each restart is a worker re-importing the app meanwhile.
        "worker_restarts": len(restarts),
        "restart_times": restarts,
        "errors": len(errors),
        "error_excerpts": ["\n".join(e) for e in errors[:5]],
        "durations": durations,
    }


# --- running and reporting ----------------------------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def summarise(samples: list[Sample], started: float, server_ms: dict[str, float]) -> dict:
    """Count, errors, throughput and latency percentiles (ms) of a set of samples, as the client saw
    them and, where the app logged the request, the app's own time (without gunicorn's queue)."""
    times = sorted(s.seconds * 1000 for s in samples)
    finished = max((s.finished for s in samples), default=started)
    summary = {
        "requests": len(samples),
        "errors": sum(not s.ok for s in samples),
        "throughput_rps": round(len(samples) / max(finished - started, 1e-9), 1),
        "p50_ms": round(percentile(times, 0.50), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "p99_ms": round(percentile(times, 0.99), 1),
        "max_ms": round(times[-1], 1) if times else None,
    }
    server = sorted(server_ms[s.request_id] for s in samples if s.request_id in server_ms)
    if server:
        summary["server_p50_ms"] = round(percentile(server, 0.50), 1)
        summary["server_p95_ms"] = round(percentile(server, 0.95), 1)
    return summary


def in_threads(targets: list, deadline: float) -> None:
    threads = [threading.Thread(target=t, args=(deadline,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_mix(users: list[User], duration: float) -> tuple[Recorder, float, float]:
    """Every user acts in its own thread until the time is up; returns the recording, when it
    started, and the driver's own CPU seconds."""
    recorder = users[0].recorder
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    in_threads([u.run for u in users], started + duration)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return recorder, started, (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)


def slowest(samples: list[Sample], server_ms: dict[str, float], count: int = 10) -> list[dict]:
    """The slowest requests with when they ended and the app's own time: a long wait with a short
    app time was spent queued (workers busy, or restarting), not in our code."""
    offset = time.time() - time.monotonic()
    return [
        {
            "request": s.kind,
            "ms": round(s.seconds * 1000, 1),
            "server_ms": server_ms.get(s.request_id),
            "ended": datetime.fromtimestamp(s.finished + offset, SHANGHAI).isoformat(timespec="seconds"),
        }
        for s in sorted(samples, key=lambda s: -s.seconds)[:count]
    ]


def trivial_route(port: int) -> str:
    """/healthz where the app has it, else the login page (both answer anonymous visitors)."""
    try:
        return "/healthz" if Browser(port).send("GET", "/healthz").status == 200 else "/login"
    except OSError:
        return "/login"


def run_trivial(port: int, route: str, users: int, duration: float) -> tuple[Recorder, float]:
    """The trivial route, anonymous, from as many threads as there were users."""
    recorder = Recorder()

    def hammer(deadline: float) -> None:
        browser = Browser(port)
        while time.monotonic() < deadline:
            request_id = recorder.next_id()
            start = time.perf_counter()
            try:
                status = browser.send("GET", route, request_id=request_id).status
            except (OSError, http.client.HTTPException) as error:
                seconds = time.perf_counter() - start
                recorder.add(f"GET {route}", seconds, False, f"连接错误 {type(error).__name__}", request_id)
                continue
            seconds = time.perf_counter() - start
            recorder.add(f"GET {route}", seconds, status == 200, f"HTTP {status}", request_id)

    started = time.monotonic()
    in_threads([hammer] * users, started + duration)
    return recorder, started


def cell(value, width: int, left: bool = False) -> str:
    """`value` padded to `width` terminal columns (a Chinese character takes two)."""
    text = str(value)
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    padding = " " * max(0, width - columns)
    return text + padding if left else padding + text


def print_table(result: dict) -> None:
    """The figures of each request kind, the totals and the throughputs, as a table on stdout."""
    figures = ("requests", "errors", "p50_ms", "p95_ms", "p99_ms", "max_ms", "server_p50_ms", "server_p95_ms")
    print("\n客户端所见时间（含排队）与应用自身记录的时间（服务端，ms）：")
    print(
        cell("角色", 12, True)
        + cell("请求", 34, True)
        + "".join(
            cell(h, 10) for h in ("次数", "错误", "p50", "p95", "p99", "最大", "服务端p50", "服务端p95")
        )
    )
    rows = [(k.split(" ", 1), row) for k, row in result["mix"]["kinds"].items()]
    rows += [
        (("", "混合负载合计"), result["mix"]),
        (("", f"简单路由 {result['trivial']['route']}"), result["trivial"]),
    ]
    for (role, kind), row in rows:
        print(
            cell(ROLE_LABELS.get(role, role), 12, True)
            + cell(kind, 34, True)
            + "".join(cell(row.get(f, "—"), 10) for f in figures)
        )
    mix, trivial = result["mix"], result["trivial"]
    print(
        f"\n吞吐量：混合负载 {mix['throughput_rps']} 次/秒，简单路由 {trivial['throughput_rps']} 次/秒，"
        f"比值 {result['throughput_ratio']}（{result['users']['total']} 个用户，"
        f"混合负载 {mix['seconds']} 秒，简单路由 {trivial['seconds']} 秒）"
    )
    server = result["server"]
    print(
        f"服务器：gunicorn {server['worker_type']} × {server['workers']} 进程，按 max_requests 重启 "
        f"{server['worker_restarts']} 次（混合负载中 {server['restarts_during']['mix']} 次，"
        f"简单路由中 {server['restarts_during']['trivial']} 次），{result['database']}；"
        f"压测程序自身 CPU {result['driver_cpu_share']:.0%}（共 {os.cpu_count()} 核）"
    )
    if result["error_kinds"]:
        print("错误：")
        for item in result["error_kinds"]:
            role, _, request = item["request"].partition(" ")
            who = ROLE_LABELS.get(role, role) if request else ""
            print(f"  {item['count']:>5} × {who} {request or role}：{item['what']}")
    if server["errors"]:
        print(f"gunicorn 日志中有 {server['errors']} 处错误，见 {server['log']}；第一处：")
        print("  " + server["error_excerpts"][0].replace("\n", "\n  "))


def benchmark(args: argparse.Namespace, database_url: str, label: str) -> None:
    """Prepare the database and accounts, serve, log in, run the mix and the trivial route, report."""
    os.environ["DATABASE_URL"] = database_url
    # One key for every worker and command; nothing is written into instance/.
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    prepare_database(args.factor)
    load_before = [round(x, 2) for x in os.getloadavg()]
    counts = role_counts(args.users)
    accounts, reference = prepare_accounts(counts)
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / f"load-{label}-gunicorn.log"
    port = free_port()
    server = start_gunicorn(port, log_path, args.workers, args.max_requests)
    try:
        recorder = Recorder()
        users = [USER_CLASSES[a.role](a, port, reference, recorder, seed=n) for n, a in enumerate(accounts)]
        print(f"==> gunicorn 已在 127.0.0.1:{port} 启动；{len(users)} 个用户逐个登录", flush=True)
        logins = sorted(u.log_in() for u in users)
        trivial_seconds = args.trivial_duration or max(10, min(30, args.duration / 4))
        print(f"==> 混合负载 {args.duration:g} 秒 …", flush=True)
        mix, mix_started, driver_cpu = run_mix(users, args.duration)
        mix_wall = max(s.finished for s in mix.samples) - mix_started if mix.samples else args.duration
        route = trivial_route(port)
        print(f"==> 简单路由 {route}，{len(users)} 个并发，{trivial_seconds:g} 秒 …", flush=True)
        trivial, trivial_started = run_trivial(port, route, len(users), trivial_seconds)
        for user in users:
            user.browser.close()
    finally:
        stop_gunicorn(server)
    server_log = read_server_log(log_path)
    server_ms = server_log.pop("durations")
    # Restarts that fell in a phase: while a worker re-imports the app, its share of requests waits.
    # The log's times are whole seconds, so each restart goes to the last phase begun by then.
    to_epoch = time.time() - time.monotonic()
    during = {"mix": 0, "trivial": 0}
    for moment in server_log.pop("restart_times"):
        if moment >= math.floor(trivial_started + to_epoch):
            during["trivial"] += 1
        elif moment >= math.floor(mix_started + to_epoch):
            during["mix"] += 1
    server_log["restarts_during"] = during
    kinds = {}
    by_kind: dict[str, list] = {}
    for sample in mix.samples:
        by_kind.setdefault(sample.kind, []).append(sample)
    order = list(USER_CLASSES)
    for kind in sorted(by_kind, key=lambda k: (order.index(k.split(" ", 1)[0]), -len(by_kind[k]))):
        kinds[kind] = summarise(by_kind[kind], mix_started, server_ms)
    mix_summary = {
        **summarise(mix.samples, mix_started, server_ms),
        "seconds": round(mix_wall, 1),
        "kinds": kinds,
    }
    trivial_summary = {**summarise(trivial.samples, trivial_started, server_ms), "route": route}
    trivial_summary["seconds"] = round(trivial_seconds, 1)
    result = {
        "benchmark": "load",
        "when": datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench.load", *sys.argv[1:]]).replace(
            " --inside-throwaway", ""
        ),
        "database": label,
        "factor": args.factor,
        "users": {"total": len(users), **{ROLE_LABELS[r]: c for r, c in counts.items()}},
        "login_ms": {"p50": round(percentile(logins, 0.5) * 1000, 1), "max": round(logins[-1] * 1000, 1)},
        "mix": mix_summary,
        "trivial": trivial_summary,
        "throughput_ratio": round(
            mix_summary["throughput_rps"] / max(trivial_summary["throughput_rps"], 1e-9), 3
        ),
        "error_kinds": [
            {"request": k, "what": w, "count": c} for (k, w), c in (mix.errors + trivial.errors).most_common()
        ],
        "slowest": slowest(mix.samples + trivial.samples, server_ms),
        "driver_cpu_seconds": round(driver_cpu, 1),
        "driver_cpu_share": round(driver_cpu / max(mix_wall, 1e-9) / (os.cpu_count() or 1), 3),
        "server": {**server_log, "log": str(log_path.relative_to(ROOT))},
        "cpu_count": os.cpu_count(),
        # The machine is shared: its load before and after says how far to trust the figures.
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
    }
    out = RESULTS / f"load-{label}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(result)
    print(f"\n结果已写入 {out.relative_to(ROOT)}")


def throwaway_database(server_url: str) -> str:
    """A fresh database on the throwaway server that scripts/with-postgres.sh started."""
    url = make_url(server_url)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME}")
        connection.execute(f"CREATE DATABASE {DATABASE_NAME}")
    return url.set(database=DATABASE_NAME).render_as_string(hide_password=False)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description="负荷测试：多名模拟用户（三种角色）对 gunicorn 的混合读写。"
    )
    parser.add_argument("--users", type=int, default=50, help="模拟用户数（默认 50，至少 3）")
    parser.add_argument("--duration", type=float, default=120, help="混合负载持续秒数（默认 120）")
    parser.add_argument(
        "--trivial-duration", type=float, default=None, help="简单路由的秒数（默认 duration/4，10–30）"
    )
    parser.add_argument(
        "--factor", type=float, default=0, help="先运行 demo scale --factor F（默认 0：只用演示数据）"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn 进程数（默认按 gunicorn.conf.py）"
    )
    parser.add_argument(
        "--max-requests", type=int, default=None, help="覆盖 gunicorn 的 max_requests（0 为不重启进程）"
    )
    parser.add_argument(
        "--database-url", default=None, help="使用此数据库（会写入数据！）；默认启动临时 PostgreSQL"
    )
    parser.add_argument(
        "--think", type=float, default=0, help="两次操作之间的平均思考时间（秒，默认 0：连续操作）"
    )
    parser.add_argument("--inside-throwaway", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.users < 3:
        parser.error("--users 至少为 3（每种角色至少一名）")
    if args.duration <= 0:
        parser.error("--duration 必须大于 0")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    User.think = max(args.think, 0.0)
    if args.database_url:
        url = args.database_url
    elif args.inside_throwaway:
        url = throwaway_database(os.environ["TEST_DATABASE_URL"])
    else:
        # Again, under a throwaway PostgreSQL server that the script stops and removes afterwards.
        script = str(ROOT / "scripts" / "with-postgres.sh")
        command = [sys.executable, "-m", "bench.load", *argv, "--inside-throwaway"]
        os.chdir(ROOT)
        os.execv("/bin/bash", ["bash", script, *command])
    label = make_url(url).get_backend_name()
    benchmark(args, url, label)


if __name__ == "__main__":
    main()
