"""Page benchmark (issue 14): every page, as each role, through the whole Flask stack in process.

    .venv/bin/python -m bench.pages [--quick] [--factor F] [--database-url URL] [--reuse] [--json PATH]

Builds a database (an SQLite file in a temporary directory unless `--database-url` names one): the
migrations, the map, the demo accounts and data, and for a factor above 0 `flask demo scale --factor F`;
a database that already has data is measured as it is. Then every page of `pages(app)` is requested
as the role that uses it: a warm-up, then repetitions (20, or 5 with `--quick`) giving p50/p95 of the
server time, the SQL statements per request, the response size, the peak memory of files (exports,
PDFs, the import preview) and the ratio to a trivial route measured in the same run; a brief's PDF
also against WeasyPrint's own render of the same HTML. Prints a table, writes JSON
(bench/results/pages-<dialect>.json). Asserts nothing: a page that does not answer 200 is reported.

`Page`, `prepare(app)` and `pages(app)` need no state of this script: the suite's query-count guard
reuses them.
"""

import argparse
import csv
import io
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from weasyprint import HTML

from crm import create_app
from crm.audit.models import ACCESS_ACTIONS, AuditLog
from crm.auth.models import ADMIN, DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.auth.service import find_user
from crm.briefs.models import Brief
from crm.briefs.service import make_brief
from crm.cli.common import committing
from crm.cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from crm.config import normalise_database_url
from crm.core.timeutil import today_local
from crm.core.weeks import last_week
from crm.enterprises.credit_code import ALPHABET, check_character
from crm.enterprises.models import Enterprise, enterprise_entries
from crm.extensions import db
from crm.imports.models import ImportBatch
from crm.imports.service import start_import
from crm.industry.models import CatalogueEntry, Cluster, Sector, entry_clusters
from crm.industry.targets import reported_targets
from crm.leads.models import FollowUp, Lead, LeadStage
from crm.places.models import District
from crm.projects.models import Project, ProjectUpdate
from crm.rankings.activity import board
from reports.figures import Scope
from reports.render import TEMPLATES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

# The goals (at factor 1, both databases).
GOAL_P95_MS = 150
GOAL_QUERIES = 20
GOAL_BRIEF_RATIO = 1.3  # a brief's PDF against WeasyPrint alone on the same HTML
GOAL_EXPORT_S = 60  # an XLSX export of 100 000 rows …
GOAL_EXPORT_MB = 300  # … within this peak memory
GOAL_IMPORT_S = 60  # an import of 20 000 rows

ROLE_ORDER = (MANAGER, OFFICER, DISTRICT, ADMIN)
BUREAU = (MANAGER, OFFICER)
READERS = (MANAGER, OFFICER, DISTRICT)
# Kinds whose peak memory is measured (one extra request under tracemalloc).
FILE_KINDS = ("export", "pdf", "import", "upload")
UNREPORTED = ("data", "files", "quick", "html_url")  # Page fields left out of the JSON
# Search words of 1, 2 and 3 characters found in the demo and scale data (product words of firm names).
SEARCH_WORDS = ("铝", "锂电", "铝合金")
IMPORT_ROWS = 20_000  # the import: previewed and confirmed within a minute
BENCH_BATCH_PREFIX = "bench-pages-"


@dataclass(frozen=True)
class Page:
    """One request to measure: `role` is a role code (crm.auth.models), `key` a stable English id."""

    key: str
    name: str  # what the table shows (Chinese)
    role: str
    url: str
    method: str = "GET"
    kind: str = "page"  # trivial page list search detail form api export file pdf brief import upload
    data: dict[str, str] | None = None  # the form of a POST
    expect: int = 200  # the status of success (a POST that makes something redirects: 302)
    quick: bool = True  # measured by --quick too (False: the median ids and the rarer filters)
    html_url: str | None = None  # a PDF's HTML (the brief preview), rendered by WeasyPrint alone
    files: dict[str, tuple[str, bytes]] | None = None  # uploads of a POST: field → (filename, content)


def _url(path: str, **params: Any) -> str:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{path}?{query}" if query else path


# --------------------------------------------------------------------------- choosing what to open


def demo_accounts() -> dict[str, str]:
    """The demo account of each role (app context): the district user whose district has the most
    projects and leads, so that their pages show the most."""
    accounts: dict[str, str] = {}
    for name, role, _, _ in DEMO_ACCOUNTS:
        if role != DISTRICT:
            accounts.setdefault(role, name)  # the first of a role: officer, not officer2
    weights = {}
    for name, role, _, _ in DEMO_ACCOUNTS:
        user = find_user(name) if role == DISTRICT else None
        if user is not None:
            projects = db.session.scalar(scoped(select(func.count(Project.id)), Project, user))
            leads = db.session.scalar(scoped(select(func.count(Lead.id)), Lead, user))
            weights[name] = projects * 4 + leads
    if weights:
        accounts[DISTRICT] = max(sorted(weights), key=weights.get)
    return {role: name for role, name in accounts.items() if find_user(name) is not None}


def _heavy_and_median(stmt, model, user) -> tuple[Any, Any]:
    """The first and the middle row id of `stmt` (id, weight) ranked by weight, within `user`'s scope."""
    rows = db.session.execute(scoped(stmt, model, user).order_by(text("weight DESC"), model.id)).all()
    if not rows:
        return None, None
    return rows[0][0], rows[len(rows) // 2][0]


def _count(model, user, *where) -> int:
    return db.session.scalar(scoped(select(func.count(model.id)).where(*where), model, user)) or 0


def _last_page(total: int, per_page: int) -> int:
    # A page near the end (the last full one): OFFSET grows with the data there.
    return max(1, total // per_page)


@dataclass
class _Ids:
    """Ids picked from the data, as one user sees it."""

    enterprise: Any = None
    enterprise_median: Any = None
    enterprise_name: str = ""
    lead: Any = None
    lead_median: Any = None
    own_lead: Any = None
    project: Any = None
    project_median: Any = None
    merge_pair: tuple[int, int] | None = None
    brief: Any = None
    enterprises: int = 0
    leads: int = 0
    projects: int = 0


def _ids(user: User) -> _Ids:
    ids = _Ids()
    live = Enterprise.merged_into_id.is_(None)
    weight = func.count(Lead.id).label("weight")
    ranked = select(Enterprise.id, weight).outerjoin(Lead, Lead.enterprise_id == Enterprise.id).where(live)
    ids.enterprise, ids.enterprise_median = _heavy_and_median(
        ranked.group_by(Enterprise.id), Enterprise, user
    )
    if ids.enterprise is not None:
        ids.enterprise_name = db.session.get(Enterprise, ids.enterprise).name
    weight = func.count(FollowUp.id).label("weight")
    ranked = select(Lead.id, weight).outerjoin(FollowUp, FollowUp.lead_id == Lead.id).group_by(Lead.id)
    ids.lead, ids.lead_median = _heavy_and_median(ranked, Lead, user)
    if user.role == OFFICER:
        ids.own_lead, _ = _heavy_and_median(ranked.where(Lead.owner_id == user.id), Lead, user)
    elif user.role == MANAGER:
        ids.own_lead = ids.lead
    weight = func.count(ProjectUpdate.id).label("weight")
    ranked = (
        select(Project.id, weight)
        .outerjoin(ProjectUpdate, ProjectUpdate.project_id == Project.id)
        .group_by(Project.id)
    )
    ids.project, ids.project_median = _heavy_and_median(ranked, Project, user)
    # Two different credit codes are never merged: a pair needs a firm without one.
    uncoded = db.session.scalar(
        scoped(select(Enterprise.id).where(live, Enterprise.credit_code.is_(None)), Enterprise, user)
        .order_by(Enterprise.id)
        .limit(1)
    )
    if uncoded is not None and ids.enterprise not in (None, uncoded):
        ids.merge_pair = (ids.enterprise, uncoded)
    ids.brief = db.session.scalar(scoped(select(Brief.id), Brief, user).order_by(Brief.id.desc()).limit(1))
    ids.enterprises = _count(Enterprise, user, live)
    ids.leads = _count(Lead, user)
    ids.projects = _count(Project, user)
    return ids


def _reference() -> dict[str, Any]:
    """What every role shares: catalogue entries, clusters, a sector, a target, the import batch."""
    weight = func.count(enterprise_entries.c.enterprise_id).label("weight")
    ranked = db.session.execute(
        select(CatalogueEntry.code, weight)
        .outerjoin(enterprise_entries, enterprise_entries.c.entry_id == CatalogueEntry.id)
        .where(CatalogueEntry.retired.is_(False))
        .group_by(CatalogueEntry.id)
        .order_by(text("weight DESC"), CatalogueEntry.id)
    ).all()
    clusters = db.session.execute(
        select(Cluster.code, func.count(entry_clusters.c.entry_id).label("weight"))
        .join(entry_clusters, entry_clusters.c.cluster_id == Cluster.id)
        .where(Cluster.retired.is_(False))
        .group_by(Cluster.id)
        .order_by(text("weight DESC"), Cluster.sort_order)
    ).all()
    targets = reported_targets()
    batch = db.session.scalar(
        select(ImportBatch.id)
        .where(ImportBatch.status == "pending", ImportBatch.filename.startswith(BENCH_BATCH_PREFIX))
        .order_by(ImportBatch.id.desc())
        .limit(1)
    )
    audit_entries = db.session.scalar(
        select(func.count(AuditLog.id)).where(AuditLog.action.not_in(ACCESS_ACTIONS))
    )
    return {
        "entry": ranked[0][0] if ranked else None,
        "entry_median": ranked[len(ranked) // 2][0] if ranked else None,
        "cluster": clusters[0][0] if clusters else "LA",
        "cluster_small": clusters[-1][0] if clusters else None,
        "sector": db.session.scalar(select(Sector.code).order_by(Sector.sort_order).limit(1)),
        "target": targets[0].code if targets else None,
        "batch": batch,
        "audit_entries": audit_entries or 0,
        "week": last_week(),
        "today": today_local().isoformat(),
        "year_ago": (today_local() - timedelta(days=365)).isoformat(),
    }


def _trivial_url(app: Flask) -> str:
    """/healthz where it exists, else a small static file: the floor of a request's cost."""
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    return "/healthz" if "/healthz" in rules else "/static/app.css"


def pages(app: Flask, accounts: dict[str, str] | None = None, import_rows: int = 200) -> list[Page]:
    """Every page worth measuring, for each role that uses it, with ids picked from the data.

    `accounts` maps role → username (default: the demo accounts); a role without a user is left out.
    Reads the database only; `prepare(app)` first makes the brief and the import batch some pages need.
    The import upload (a POST, like the brief's PDF) sends a file of `import_rows` rows (few by
    default: a query-count guard needs the page, not the load; the benchmark sends IMPORT_ROWS).
    """
    with app.app_context():
        accounts = accounts or demo_accounts()
        ref = _reference()
        ref["upload"] = _import_csv(import_rows)
        ref["import_rows"] = import_rows
        district_user = find_user(accounts[DISTRICT]) if DISTRICT in accounts else None
        district_name = district_user.district.name if district_user else None
        found: list[Page] = []
        for role in ROLE_ORDER:
            user = find_user(accounts[role]) if role in accounts else None
            if user is not None:
                found += _role_pages(app, role, _ids(user), ref, district_name)
    return found


def _role_pages(app: Flask, role: str, ids: _Ids, ref: dict, district_name: str | None) -> list[Page]:
    per_page = app.config["PER_PAGE"]
    out: list[Page] = []

    def add(key: str, name: str, url: str, roles=READERS, kind: str = "page", **options) -> None:
        if key.endswith(".deep") and url.endswith("page=1"):
            return  # one page only: the list itself
        if role in roles:
            out.append(Page(key, name, role, url, kind=kind, **options))

    week, cluster = ref["week"], ref["cluster"]
    everyone = (*READERS, ADMIN)
    add("trivial", "基准：极简路由", _trivial_url(app), everyone, "trivial")
    add("home", "首页", "/", everyone)
    add("dashboard", "驾驶舱", "/dashboard", BUREAU)

    for size, word in zip((1, 2, 3), SEARCH_WORDS, strict=True):
        add(f"search.q{size}", f"搜索（{size} 个字）", _url("/search", q=word), kind="search")
    if ids.enterprise_name:
        add(
            "search.name",
            "搜索（企业全称）",
            _url("/search", q=ids.enterprise_name),
            kind="search",
            quick=False,
        )
    add("search.miss", "搜索（无结果）", _url("/search", q="氪星合金材料"), kind="search", quick=False)

    last = _last_page(ids.enterprises, per_page)
    add("enterprises.list", "企业列表", "/enterprises/", kind="list")
    add("enterprises.list.q", "企业列表（关键词）", _url("/enterprises/", q=SEARCH_WORDS[2]), kind="list")
    add(
        "enterprises.list.filters",
        "企业列表（类别+所有制）",
        _url("/enterprises/", kind="target", ownership="民营"),
        kind="list",
        quick=False,
    )
    add(
        "enterprises.list.tier",
        "企业列表（百亿级）",
        _url("/enterprises/", tier="百亿级"),
        kind="list",
        quick=False,
    )
    add(
        "enterprises.list.listed",
        "企业列表（上市）",
        _url("/enterprises/", listed="1"),
        kind="list",
        quick=False,
    )
    add("enterprises.list.deep", f"企业列表（第 {last} 页）", _url("/enterprises/", page=last), kind="list")
    if ids.enterprise is not None:
        add("enterprises.detail", "企业详情（线索最多）", f"/enterprises/{ids.enterprise}", kind="detail")
        add("enterprises.edit", "企业编辑表单", f"/enterprises/{ids.enterprise}/edit", BUREAU, "form")
        add("leads.new", "登记线索表单（含系统建议）", f"/leads/new/{ids.enterprise}", BUREAU, "form")
    if ids.enterprise_median is not None:
        add(
            "enterprises.detail.median",
            "企业详情（中位）",
            f"/enterprises/{ids.enterprise_median}",
            kind="detail",
            quick=False,
        )
    add("enterprises.new", "新建企业表单", "/enterprises/new", BUREAU, "form", quick=False)
    if ids.merge_pair:
        keep, other = ids.merge_pair
        add(
            "enterprises.merge",
            "合并确认页",
            _url(f"/enterprises/{keep}/merge", other_id=other),
            BUREAU,
            "form",
        )
    add("enterprises.export", "企业导出（Excel）", "/enterprises/export.xlsx", kind="export")

    last = _last_page(ids.leads, per_page)
    add("leads.list", "线索列表", "/leads/", kind="list")
    add("leads.list.stage", "线索列表（按阶段）", _url("/leads/", stage=LeadStage.NEGOTIATION), kind="list")
    add("leads.list.combined", "线索列表（阶段+集群+按投资）", _leads_combined(cluster), kind="list")
    for sort, label in (("investment", "按意向投资"), ("contact", "按最近联系"), ("newest", "按登记时间")):
        add(
            f"leads.list.sort.{sort}",
            f"线索列表（{label}）",
            _url("/leads/", sort=sort),
            kind="list",
            quick=False,
        )
    add("leads.list.cluster", "线索列表（集群）", _url("/leads/", cluster=cluster), kind="list", quick=False)
    add(
        "leads.list.sector",
        "线索列表（领域）",
        _url("/leads/", sector=ref["sector"]),
        kind="list",
        quick=False,
    )
    if district_name:
        add(
            "leads.list.district",
            "线索列表（区县）",
            _url("/leads/", district=district_name),
            kind="list",
            quick=False,
        )
    add("leads.list.overdue", "线索列表（逾期）", _url("/leads/", overdue="1"), kind="list")
    add("leads.list.mine", "线索列表（只看我的）", _url("/leads/", mine="1"), BUREAU, "list", quick=False)
    add("leads.list.q", "线索列表（关键词）", _url("/leads/", q=SEARCH_WORDS[0]), kind="list", quick=False)
    add(
        "leads.list.period",
        "线索列表（登记日期段）",
        _url("/leads/", since=ref["year_ago"], until=ref["today"]),
        kind="list",
        quick=False,
    )
    add("leads.list.deep", f"线索列表（第 {last} 页）", _url("/leads/", page=last), kind="list")
    add("leads.board", "线索看板", "/leads/board")
    add("leads.board.unfold", "线索看板（展开签约、搁置）", _url("/leads/board", unfold="1"))
    add("leads.board.cluster", "线索看板（集群）", _url("/leads/board", cluster=cluster), quick=False)
    add("leads.board.mine", "线索看板（只看我的）", _url("/leads/board", mine="1"), BUREAU, quick=False)
    add("leads.todo", "我的待办", "/leads/todo", BUREAU)
    if ids.lead is not None:
        add("leads.detail", "线索详情（跟进最多）", f"/leads/{ids.lead}", kind="detail")
    if ids.lead_median is not None:
        add(
            "leads.detail.median", "线索详情（中位）", f"/leads/{ids.lead_median}", kind="detail", quick=False
        )
    if ids.own_lead is not None:
        add("leads.edit", "线索编辑表单", f"/leads/{ids.own_lead}/edit", BUREAU, "form")
    add("leads.export", "线索导出（Excel）", "/leads/export.xlsx", kind="export")
    add(
        "leads.export.stage",
        "线索导出（按阶段）",
        _url("/leads/export.xlsx", stage=LeadStage.NEGOTIATION),
        kind="export",
        quick=False,
    )

    last = _last_page(ids.projects, per_page)
    add("projects.list", "项目列表", "/projects/", kind="list")
    add("projects.list.health", "项目列表（停滞）", _url("/projects/", health="停滞"), kind="list")
    add(
        "projects.list.cluster",
        "项目列表（集群）",
        _url("/projects/", cluster=cluster),
        kind="list",
        quick=False,
    )
    if district_name:
        add(
            "projects.list.district",
            "项目列表（区县）",
            _url("/projects/", district=district_name),
            kind="list",
            quick=False,
        )
    add(
        "projects.list.period",
        "项目列表（签约日期段）",
        _url("/projects/", signed_from=ref["year_ago"], signed_to=ref["today"]),
        kind="list",
        quick=False,
    )
    add(
        "projects.list.q",
        "项目列表（关键词）",
        _url("/projects/", q=SEARCH_WORDS[0]),
        kind="list",
        quick=False,
    )
    add("projects.list.deep", f"项目列表（第 {last} 页）", _url("/projects/", page=last), kind="list")
    add("projects.mine", "本区项目", "/projects/mine", (DISTRICT,))
    add("projects.overview", "项目总览（区县、集群排行）", "/projects/overview")
    if ids.project is not None:
        add("projects.detail", "项目详情（更新最多）", f"/projects/{ids.project}", kind="detail")
        add("projects.edit", "项目编辑表单", f"/projects/{ids.project}/edit", BUREAU, "form")
    if ids.project_median is not None:
        add(
            "projects.detail.median",
            "项目详情（中位）",
            f"/projects/{ids.project_median}",
            kind="detail",
            quick=False,
        )
    add("projects.export", "项目导出（Excel）", "/projects/export.xlsx", kind="export")
    if ids.project is not None:
        add("funds.ledger", "到位资金台账（更新最多的项目）", f"/projects/{ids.project}/funds", kind="detail")
    add("funds.report", "到位资金统计（本年）", "/funds/report")
    add(
        "funds.report.all",
        "到位资金统计（规划期至今）",
        _url("/funds/report", arrived_from="2023-01-01"),
        quick=False,
    )
    add("funds.report.export", "到位资金统计报表（Excel）", "/funds/report.xlsx", kind="export")
    add("events", "招商活动列表", "/events", READERS, "list")
    add("events.export", "招商活动导出（Excel）", "/events/export.xlsx", READERS, "export")
    add("items", "督办事项（含按责任单位统计）", "/items", READERS, "list")
    add("items.red", "督办事项（红灯）", _url("/items", light="red"), READERS, "list")
    add("items.export", "督办事项导出（Excel）", "/items/export.xlsx", READERS, "export")
    add("handovers", "线索交办", "/handovers", READERS, "list")
    add("handovers.red", "线索交办（红灯）", _url("/handovers", light="red"), READERS, "list")
    add("notifications", "通知中心", "/notifications", READERS, "list")
    add("api.items", "API：督办事项", "/api/v1/items", READERS, "api")
    add("api.notifications", "API：我的通知", "/api/v1/notifications", READERS, "api")
    add("racing", "赛马榜（本季度）", "/rankings/racing")
    add("racing.export", "赛马榜导出（Excel）", "/rankings/racing.xlsx", kind="export")
    add("racing.pdf", "赛马榜 PDF", "/rankings/racing.pdf", kind="pdf", quick=role == MANAGER)
    add("rankings.activity", "招商活跃指数（区县）", "/rankings/activity")
    add(
        "rankings.activity.division",
        "招商活跃指数（处室）",
        _url("/rankings/activity", by="division"),
        BUREAU,
    )
    # The records behind every figure of the busiest district the role may open (its own for a
    # district user): all six sub-indices' lists on one page.
    busiest = None
    if role in READERS:
        busiest = next(
            (
                row.unit
                for row in board(week, "district").rows
                if any(row.counts.values()) and (role != DISTRICT or row.unit.name == district_name)
            ),
            None,
        )
    if busiest is not None:
        add(
            "rankings.activity.records",
            "招商活跃指数计入的记录（最活跃的区县）",
            _url("/rankings/activity/records", week=week, by="district", unit=busiest.id),
            kind="detail",
        )
    add("measures", "统计口径", "/measures", BUREAU)

    add("map", "产业地图", "/map")
    add("clusters", "产业集群", "/clusters")
    add("clusters.matrix", "集群 × 区县矩阵", "/clusters/matrix")
    add("clusters.detail", "集群页（条目最多）", f"/clusters/{cluster}", kind="detail")
    if ref["cluster_small"]:
        add(
            "clusters.detail.small",
            "集群页（条目最少）",
            f"/clusters/{ref['cluster_small']}",
            kind="detail",
            quick=False,
        )
    add("catalogue", "招商目录", "/catalogue", kind="list")
    add(
        "catalogue.cluster", "招商目录（集群）", _url("/catalogue", cluster=cluster), kind="list", quick=False
    )
    add(
        "catalogue.sector",
        "招商目录（领域）",
        _url("/catalogue", sector=ref["sector"]),
        kind="list",
        quick=False,
    )
    add(
        "catalogue.filters",
        "招商目录（补链+短板+高）",
        _url("/catalogue", action="补链", gap="短板", priority="高"),
        kind="list",
    )
    add("catalogue.q", "招商目录（同义词检索）", _url("/catalogue", q="尼龙66"), kind="list")
    add("catalogue.deep", "招商目录（第 5 页）", _url("/catalogue", page=5), kind="list", quick=False)
    if ref["entry"]:
        add("catalogue.entry", "目录条目页（企业最多）", f"/catalogue/{ref['entry']}", kind="detail")
        add("catalogue.edit", "目录条目编辑表单", f"/catalogue/{ref['entry']}/edit", (MANAGER,), "form")
    if ref["entry_median"]:
        add(
            "catalogue.entry.median",
            "目录条目页（中位）",
            f"/catalogue/{ref['entry_median']}",
            kind="detail",
            quick=False,
        )
    add("catalogue.gaps", "空白环节（全部集群）", "/catalogue/gaps")
    add(
        "catalogue.gaps.cluster",
        "空白环节（一个集群）",
        _url("/catalogue/gaps", cluster=cluster),
        quick=False,
    )
    add("catalogue.export", "招商目录导出（Excel）", "/catalogue/export.xlsx", kind="export")
    add("targets", "2027 年目标填报", "/targets", (MANAGER,))
    if ref["target"]:
        add("targets.report", "目标填报页", f"/targets/{ref['target']}", (MANAGER,), "form")

    add("briefs", "周报", "/briefs/")
    for scope, label, quick in ((cluster, "集群", True), ("CITY", "全市", False)):
        html_url = _url("/briefs/preview", cluster=scope, week=week)
        add(
            f"briefs.preview.{scope.lower()}",
            f"周报预览（{label}，HTML）",
            html_url,
            kind="brief",
            quick=quick,
        )
    add(
        "briefs.pdf",
        f"周报 PDF（{cluster}）",
        "/briefs/",
        kind="pdf",
        method="POST",
        data={"cluster": cluster, "week": week},
        expect=302,
        html_url=_url("/briefs/preview", cluster=cluster, week=week),
        quick=role == MANAGER,  # about a second each: --quick makes one role's
    )
    add(
        "briefs.pdf.city",
        "周报 PDF（全市）",
        "/briefs/",
        (MANAGER,),
        kind="pdf",
        method="POST",
        data={"cluster": "CITY", "week": week},
        expect=302,
        html_url=_url("/briefs/preview", cluster="CITY", week=week),
        quick=False,
    )
    if ids.brief is not None:
        add("briefs.download", "周报下载（存档 PDF）", f"/briefs/{ids.brief}.pdf", kind="file")

    add("imports", "导入", "/imports/", BUREAU)
    add(
        "imports.template",
        "导入模板（企业）",
        "/imports/template/enterprises.xlsx",
        BUREAU,
        "file",
        quick=False,
    )
    add(
        "imports.upload",
        f"导入上传（{ref['import_rows']} 行，含逐行检查）",
        "/imports/",
        BUREAU,
        "upload",
        method="POST",
        data={"kind": "enterprises"},
        files={"file": (f"bench-upload-{ref['import_rows']}.csv", ref["upload"])},
        expect=302,
    )
    if ref["batch"]:
        add("imports.preview", "导入预览（列对应+逐行检查）", f"/imports/{ref['batch']}", BUREAU, "import")

    add("audit", "审计日志", "/audit/", (MANAGER, ADMIN), "list")
    add("audit.access", "审计日志（登录与导出）", _url("/audit/", kind="access"), (MANAGER, ADMIN), "list")
    if ids.enterprise is not None:
        add(
            "audit.object",
            "审计日志（一家企业）",
            _url("/audit/", table="enterprises", row_id=ids.enterprise),
            (MANAGER,),
            "list",
            quick=False,
        )
    audit_last = _last_page(ref["audit_entries"], per_page)
    add("audit.deep", f"审计日志（第 {audit_last} 页）", _url("/audit/", page=audit_last), (MANAGER,), "list")
    add("tokens", "我的 API 令牌", "/tokens", everyone, quick=False)
    add("admin.users", "用户管理", "/admin/users", (ADMIN,), "list")
    add("admin.users.new", "新建用户表单", "/admin/users/new", (ADMIN,), "form", quick=False)
    add("admin.tokens", "API 令牌管理", "/admin/tokens", (ADMIN,), "list", quick=False)

    add("api.index", "API 目录", "/api/v1/", kind="api", quick=False)
    add("api.me", "API 当前用户", "/api/v1/me", kind="api")
    add("api.openapi", "API 说明（OpenAPI）", "/api/v1/openapi.json", kind="api", quick=False)
    api_last = _last_page(ids.enterprises, per_page)
    add("api.enterprises", "API 企业列表", "/api/v1/enterprises", kind="api")
    add(
        "api.enterprises.q",
        "API 企业列表（关键词）",
        _url("/api/v1/enterprises", q=SEARCH_WORDS[2]),
        kind="api",
    )
    add(
        "api.enterprises.max",
        "API 企业列表（每页 200）",
        _url("/api/v1/enterprises", per_page=200),
        kind="api",
        quick=False,
    )
    add(
        "api.enterprises.deep",
        f"API 企业列表（第 {api_last} 页）",
        _url("/api/v1/enterprises", page=api_last),
        kind="api",
    )
    add("api.leads", "API 线索列表", "/api/v1/leads", kind="api")
    add(
        "api.leads.stage",
        "API 线索列表（按阶段）",
        _url("/api/v1/leads", stage=LeadStage.NEGOTIATION),
        kind="api",
        quick=False,
    )
    add(
        "api.leads.max",
        "API 线索列表（每页 200）",
        _url("/api/v1/leads", per_page=200),
        kind="api",
        quick=False,
    )
    add("api.projects", "API 项目列表", "/api/v1/projects", kind="api")
    add(
        "api.projects.max",
        "API 项目列表（每页 200）",
        _url("/api/v1/projects", per_page=200),
        kind="api",
        quick=False,
    )
    if ids.enterprise is not None:
        add("api.enterprise", "API 企业详情", f"/api/v1/enterprises/{ids.enterprise}", kind="api")
    if ids.lead is not None:
        add("api.lead", "API 线索详情", f"/api/v1/leads/{ids.lead}", kind="api")
        add("api.follow_ups", "API 跟进记录", f"/api/v1/leads/{ids.lead}/follow-ups", kind="api", quick=False)
    if ids.project is not None:
        add("api.project", "API 项目详情", f"/api/v1/projects/{ids.project}", kind="api")
        add("api.funds", "API 到位资金台账", f"/api/v1/projects/{ids.project}/funds", kind="api")
    return out


def _leads_combined(cluster: str) -> str:
    return _url("/leads/", stage=LeadStage.FIRST_CONTACT, cluster=cluster, sort="investment")


# --------------------------------------------------------------------------- what some pages need


def _import_csv(rows: int) -> bytes:
    """An enterprise import of `rows` rows as an officer's file looks: while the firms on file last,
    a third of the rows update one (by credit code) and a third name another with a different company
    form (疑似重复); the rest are new firms, one row in 50 with mistakes (a wrong check character, a
    decimal amount). No firm appears twice, which would make every such row an error."""
    on_file = db.session.execute(
        select(Enterprise.name, Enterprise.credit_code, Enterprise.products)
        .where(Enterprise.credit_code.is_not(None), Enterprise.merged_into_id.is_(None))
        .order_by(Enterprise.id)
        .limit(rows)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["企业名称", "统一社会信用代码", "主要产品", "总部省份", "总部城市", "年营业收入（万元）"]
    )
    for number in range(rows):
        firm_index = number // 3 * 2 + number % 3  # rows 3k and 3k+1 take firms 2k and 2k+1
        firm = on_file[firm_index] if number % 3 < 2 and firm_index < len(on_file) else None
        # The row number in base 31 over the code's alphabet: a different valid code for every row.
        body = "91330200" + "".join(ALPHABET[number // 31**i % 31] for i in reversed(range(9)))
        code = body + check_character(body)
        if firm is not None and number % 3 == 0:
            writer.writerow(
                [firm.name, firm.credit_code, f"{firm.products}、再生铝", "浙江省", "宁波市", "52000"]
            )
        elif firm is not None:
            writer.writerow([firm.name.replace("有限公司", "股份有限公司"), "", firm.products, "", "", ""])
        elif number % 50 == 49:
            writer.writerow([f"导入测试{number}材料有限公司", "913302000000000000", "铝合金", "", "", "1.5"])
        else:
            writer.writerow(
                [f"甬江{number}新材料科技有限公司", code, "高性能铝合金、铝型材", "浙江省", "宁波市", "8000"]
            )
    return out.getvalue().encode("utf-8")


def prepare(app: Flask, import_rows: int = 200, accounts: dict[str, str] | None = None) -> None:
    """Make what some pages open (idempotent): an archived brief for the bureau and one for the
    district account, and a pending enterprise import of `import_rows` rows by the officer."""
    with app.app_context():
        accounts = accounts or demo_accounts()
        users = {role: find_user(name) for role, name in accounts.items()}
        week = last_week()
        with committing("命令行：bench pages"):
            for role in (MANAGER, DISTRICT):
                user = users.get(role)
                if user is None:
                    continue
                if db.session.scalar(scoped(select(Brief.id), Brief, user).limit(1)) is None:
                    district = user.district_id if role == DISTRICT else None
                    make_brief(Scope(None, district), week, user.display_name, user)
            officer = users.get(OFFICER)
            name = f"{BENCH_BATCH_PREFIX}{import_rows}.csv"
            latest = db.session.scalar(
                select(ImportBatch)
                .where(ImportBatch.status == "pending", ImportBatch.filename.startswith(BENCH_BATCH_PREFIX))
                .order_by(ImportBatch.id.desc())
                .limit(1)
            )
            if officer is not None and (latest is None or latest.filename != name):
                start_import("enterprises", name, _import_csv(import_rows), officer)


# --------------------------------------------------------------------------- measuring


class _Statements:
    """SQL statements sent on the engine since the last reset."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def _status_kb(name: str) -> int:
    match = re.search(rf"^{name}:\s+(\d+)", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _reset_peak_rss() -> bool:
    # Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0): the next peak is this request's.
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _send(client, page: Page):
    if page.method == "GET":
        return client.get(page.url)
    data: dict[str, Any] = dict(page.data or {})
    for name, (filename, content) in (page.files or {}).items():
        data[name] = (io.BytesIO(content), filename)  # a fresh stream for every request
    return client.open(page.url, method=page.method, data=data)


def _timed(client, page: Page, statements: _Statements):
    statements.count = 0
    start = time.perf_counter()
    response = _send(client, page)
    body = response.get_data()
    elapsed = time.perf_counter() - start
    response.close()
    return response, body, elapsed, statements.count


def measure(client, page: Page, statements: _Statements, repetitions: int, budget: float) -> dict[str, Any]:
    """One page: a warm-up (its peak RSS kept), then up to `repetitions` timed requests — fewer once
    `budget` seconds are spent (at least 3), one when the warm-up alone took longer than that."""
    rss_before = _status_kb("VmRSS")
    peak_known = _reset_peak_rss()
    response, body, warm, warm_queries = _timed(client, page, statements)
    result: dict[str, Any] = {
        **{key: value for key, value in asdict(page).items() if key not in UNREPORTED},
        "status": response.status_code,
        "warm_up_ms": warm * 1000,
        "queries_first": warm_queries,
        "size": len(body),
        "rss_peak_mb": max(0, _status_kb("VmHWM") - rss_before) / 1024 if peak_known else None,
    }
    if page.expect == 302 and response.status_code == 302:
        # What a POST made (a PDF, an import batch's page): its size, fetched once, untimed.
        result["size"] = len(client.get(response.headers["Location"]).get_data())
    render = _weasyprint(client, page) if page.html_url and response.status_code == page.expect else None
    samples, queries, alone = [], [], []
    if response.status_code == page.expect:
        wanted = repetitions if warm <= budget else 1
        started = time.perf_counter()
        while len(samples) < wanted:
            response, body, elapsed, count = _timed(client, page, statements)
            if response.status_code != page.expect:
                result["status"] = response.status_code
                break
            samples.append(elapsed)
            queries.append(count)
            if render is not None:
                # Interleaved with the page's own requests: a busy moment of the machine slows both.
                alone.append(render())
            if time.perf_counter() - started > budget and len(samples) >= 3:
                break
    result["samples"] = len(samples)
    if samples:
        result["p50_ms"] = statistics.median(samples) * 1000
        result["p95_ms"] = _percentile(samples, 0.95) * 1000
        result["queries"] = max(queries)
    if alone:
        result["weasyprint_p50_ms"] = statistics.median(alone) * 1000
    if page.kind in FILE_KINDS and result["status"] == page.expect:
        tracemalloc.start()
        _send(client, page).close()
        result["python_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result


def _weasyprint(client, page: Page):
    """A timer of WeasyPrint alone on the brief's own HTML (the preview of the same scope and week,
    as the same user), warmed up once."""
    html = client.get(page.html_url).get_data(as_text=True)

    def render() -> float:
        start = time.perf_counter()
        HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
        return time.perf_counter() - start

    render()
    return render


def judge(result: dict[str, Any]) -> list[str]:
    """The goals a measured page misses (Chinese, empty when all are met)."""
    if result["status"] != result["expect"]:
        return [f"状态 {result['status']}"]
    if result["kind"] == "trivial" or not result.get("samples"):
        return []
    missed = []
    # An upload's statements grow with its rows (checked in chunks), an export's with its rows read
    # a thousand at a time (tests/test_exports.py): not with the data on file per row shown.
    if result["queries"] > GOAL_QUERIES and result["kind"] not in ("upload", "export"):
        missed.append(f"查询 {result['queries']} > {GOAL_QUERIES}")
    if result["kind"] == "export":
        if result["p95_ms"] > GOAL_EXPORT_S * 1000:
            missed.append(f"p95 > {GOAL_EXPORT_S} s")
        peak = result.get("python_peak_mb") or 0
        if peak > GOAL_EXPORT_MB:
            missed.append(f"内存 {peak:.0f} MB > {GOAL_EXPORT_MB} MB")
    elif result["kind"] == "upload":
        # An import's cost grows with its rows: the goal is 20 000 rows within a minute.
        if result["p95_ms"] > GOAL_IMPORT_S * 1000:
            missed.append(f"p95 > {GOAL_IMPORT_S} s")
    elif result["kind"] == "pdf":
        if result.get("brief_ratio") is not None and result["brief_ratio"] > GOAL_BRIEF_RATIO:
            missed.append(f"{result['brief_ratio']:.2f} × WeasyPrint > {GOAL_BRIEF_RATIO}")
    elif result["p95_ms"] > GOAL_P95_MS:
        missed.append(f"p95 > {GOAL_P95_MS} ms")
    return missed


def login(app: Flask, username: str):
    """A test client logged in as `username` with the demo password."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(
            f"错误：无法以 {username} 登录（状态 {response.status_code}），演示账号的密码应为 {DEMO_PASSWORD}"
        )
    return client


def run(
    app: Flask, chosen: list[Page], accounts: dict[str, str], repetitions: int, budget: float
) -> list[dict]:
    """Measure `chosen`, role by role; each page's ratio to the same role's trivial route."""
    with app.app_context():
        statements = _Statements(db.engine)
    results = []
    for role in ROLE_ORDER:
        mine = [page for page in chosen if page.role == role]
        if not mine:
            continue
        client = login(app, accounts[role])
        # The first requests of a process compile templates and fill caches: not any page's cost.
        for page in mine[:3]:
            _send(client, page).close()
        trivial = None
        for page in mine:
            result = measure(client, page, statements, repetitions, budget)
            result["account"] = accounts[role]
            result["repetitions"] = repetitions
            if page.kind == "trivial":
                trivial = result.get("p50_ms")
            if trivial and result.get("p50_ms"):
                result["ratio"] = result["p50_ms"] / trivial
            if result.get("weasyprint_p50_ms"):
                result["brief_ratio"] = result["p50_ms"] / result["weasyprint_p50_ms"]
            result["missed"] = judge(result)
            results.append(result)
            _progress(result)
    return results


# --------------------------------------------------------------------------- the table


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _cell(text: str, width: int, right: bool = False) -> str:
    pad = " " * max(0, width - _width(text))
    return pad + text if right else text + pad


def _size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} B"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.1f}"


def _note(result: dict[str, Any]) -> str:
    notes = []
    if result.get("python_peak_mb") is not None:
        notes.append(f"内存峰值 {result['python_peak_mb']:.1f} MB")
    if result.get("brief_ratio") is not None:
        notes.append(f"WeasyPrint {result['weasyprint_p50_ms']:.0f} ms，{result['brief_ratio']:.2f} 倍")
    if result["samples"] and result["samples"] < result.get("repetitions", 0):
        notes.append(f"仅 {result['samples']} 次（时间预算用完）")
    return "；".join(notes)


COLUMNS = (("页面", 34, False), ("账号", 10, False), ("p50 ms", 8, True), ("p95 ms", 8, True))
COLUMNS += (("查询", 5, True), ("大小", 9, True), ("÷基准", 7, True), ("达标", 4, False))


def _row(result: dict[str, Any]) -> str:
    goal = (
        "—" if result["kind"] == "trivial" and not result["missed"] else ("否" if result["missed"] else "是")
    )
    cells = (
        result["name"],
        result["account"],
        _ms(result.get("p50_ms")),
        _ms(result.get("p95_ms")),
        str(result.get("queries", "—")),
        _size(result["size"]),
        f"{result['ratio']:.1f}" if result.get("ratio") else "—",
        goal,
    )
    line = "  ".join(
        _cell(text, width, right) for text, (_, width, right) in zip(cells, COLUMNS, strict=True)
    )
    extra = "；".join(filter(None, ["；".join(result["missed"]), _note(result)]))
    return f"{line}  {extra}".rstrip()


def _progress(result: dict[str, Any]) -> None:
    # On stderr: stdout keeps the table, grouped by page, for the README.
    print(_row(result), file=sys.stderr, flush=True)


def print_table(results: list[dict[str, Any]]) -> None:
    """One row per page × role, grouped by page, then what misses a goal."""
    order = list(dict.fromkeys(result["key"] for result in results))
    print()
    print("  ".join(_cell(title, width, right) for title, width, right in COLUMNS) + "  说明")
    for key in order:
        for result in results:
            if result["key"] == key:
                print(_row(result))
    missed = [result for result in results if result["missed"]]
    failed = [result for result in results if result["status"] != result["expect"]]
    print()
    print(
        f"共 {len(results)} 项（页面 × 角色）：达标 {len(results) - len(missed)} 项，未达标 {len(missed)} 项"
        f"（其中请求失败 {len(failed)} 项）。目标：p95 ≤ {GOAL_P95_MS} ms、每次请求 ≤ {GOAL_QUERIES} 条 SQL；"
        f"周报 PDF ≤ {GOAL_BRIEF_RATIO} × WeasyPrint；导出 ≤ {GOAL_EXPORT_S} s、≤ {GOAL_EXPORT_MB} MB；"
        f"导入上传 ≤ {GOAL_IMPORT_S} s。"
    )
    slowest = sorted((r for r in results if r.get("p95_ms")), key=lambda r: -r["p95_ms"])[:10]
    if slowest:
        print(
            "最慢的 10 项（p95）："
            + "；".join(f"{r['name']}/{r['account']} {_ms(r['p95_ms'])} ms" for r in slowest)
        )


# --------------------------------------------------------------------------- the database


def _has_data(url: str) -> bool:
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("enterprises"):
            return False
        with engine.connect() as conn:
            return bool(conn.scalar(text("SELECT count(*) FROM enterprises")))
    finally:
        engine.dispose()


def _postgres_database(server: str, name: str, reuse: bool) -> str:
    """A database `name` on the server of `server`: kept when `reuse` and it has data, else made anew."""
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if exists and reuse and _has_data(url):
                return url
            if exists:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url


def database_url(args, workdir: str) -> str:
    """The database to measure: --database-url (on PostgreSQL's maintenance database `postgres`, a
    fresh database lz_bench_f<F> beside it), else an SQLite file (kept under instance/ with --reuse)."""
    tag = str(args.factor).replace(".", "_")
    if args.database_url:
        url = normalise_database_url(args.database_url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and parsed.database == "postgres":
            return _postgres_database(url, f"lz_bench_f{tag}", args.reuse)
        return url
    if args.reuse:
        path = ROOT / "instance" / f"bench-pages-f{tag}.sqlite3"
        path.parent.mkdir(exist_ok=True)
    else:
        path = Path(workdir) / "bench-pages.sqlite3"
    return f"sqlite:///{path}"


def _flask(url: str, *arguments: str) -> None:
    command = [sys.executable, "-m", "flask", "--app", "app", *arguments]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "DATABASE_URL": url})
    if done.returncode != 0:
        raise SystemExit(f"错误：flask {' '.join(arguments)} 失败（退出码 {done.returncode}），见上方输出")


def build(url: str, factor: float) -> dict[str, float]:
    """Migrate, load the map, the demo accounts and data, then the scale data; seconds per step."""
    timings = {}
    steps = [
        ("db upgrade", ["db", "upgrade"]),
        ("map load", ["map", "load"]),
        ("demo load", ["demo", "load"]),
    ]
    if factor > 0:
        probe = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "demo", "scale", "--help"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
        )
        if probe.returncode != 0:
            raise SystemExit("错误：还没有 flask demo scale 命令（crm/cli/scale.py），只能以 --factor 0 运行")
        steps.append(("demo scale", ["demo", "scale", "--factor", str(factor)]))
    for label, arguments in steps:
        print(f"==> flask {' '.join(arguments)}", flush=True)
        start = time.perf_counter()
        _flask(url, *arguments)
        timings[label] = round(time.perf_counter() - start, 1)
    return timings


def _environment(app: Flask, url: str) -> dict[str, Any]:
    with app.app_context():
        dialect = db.engine.dialect.name
        version = db.session.scalar(
            text("SELECT sqlite_version()" if dialect == "sqlite" else "SHOW server_version")
        )
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Enterprise, Lead, FollowUp, Project, ProjectUpdate, AuditLog, User, District)
        }
    return {
        "dialect": dialect,
        "database_version": version,
        "database_url": make_url(url).render_as_string(hide_password=True),
        "rows": counts,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} 核",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages", description="页面基准：每个页面、每个角色的服务端耗时与查询数。"
    )
    parser.add_argument(
        "--quick", action="store_true", help="快速模式：每页 5 次、只测最重的编号（factor 0 下 3 分钟内）"
    )
    parser.add_argument(
        "--factor",
        type=float,
        default=0,
        help="规模数据的倍数（flask demo scale --factor；0 为只有演示数据）",
    )
    parser.add_argument(
        "--database-url",
        help="要测的数据库；已有数据则复用（PostgreSQL 的 postgres 库：在同一服务器上新建 lz_bench_f<F>）",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="复用上次建好的数据库（SQLite：instance/bench-pages-f<F>.sqlite3）",
    )
    parser.add_argument(
        "--json", type=Path, help="结果 JSON 的路径（默认 bench/results/pages-<数据库>.json）"
    )
    parser.add_argument("--repetitions", type=int, help="每页计时次数（默认 20，--quick 为 5）")
    parser.add_argument("--budget", type=float, help="每页计时的时间预算（秒；默认 60，--quick 为 5）")
    parser.add_argument(
        "--import-rows", type=int, help=f"导入预览的行数（默认 {IMPORT_ROWS}，--quick 为 300）"
    )
    parser.add_argument("--only", help="只测键以此开头的页面（如 leads.）")
    args = parser.parse_args(argv)
    repetitions = args.repetitions or (5 if args.quick else 20)
    budget = args.budget or (5.0 if args.quick else 60.0)
    import_rows = args.import_rows or (300 if args.quick else IMPORT_ROWS)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lz-bench-") as workdir:
        url = database_url(args, workdir)
        built = {}
        if _has_data(url):
            print(f"复用已有数据库：{make_url(url).render_as_string(hide_password=True)}", flush=True)
        else:
            built = build(url, args.factor)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
        prepare(app, import_rows)
        with app.app_context():
            accounts = demo_accounts()
        chosen = [p for p in pages(app, accounts, import_rows) if (p.quick or not args.quick)]
        if args.only:
            chosen = [p for p in chosen if p.key.startswith(args.only) or p.kind == "trivial"]
        environment = _environment(app, url)
        print(
            f"数据：{environment['dialect']} {environment['database_version']}，"
            + "，".join(f"{table} {count}" for table, count in environment["rows"].items())
            + f"；{len(chosen)} 项，每项 {repetitions} 次（预算 {budget:.0f} s）",
            flush=True,
        )
        measured_at = time.perf_counter()
        results = run(app, chosen, accounts, repetitions, budget)
        print_table(results)
        with app.app_context():
            db.engine.dispose()
    elapsed = time.perf_counter() - started
    print(f"总用时 {elapsed:.0f} s（其中测量 {time.perf_counter() - measured_at:.0f} s）")
    path = args.json or RESULTS / f"pages-{environment['dialect']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.pages", *(argv if argv is not None else sys.argv[1:])]),
        "factor": args.factor,
        "quick": args.quick,
        "repetitions": repetitions,
        "budget_s": budget,
        "import_rows": import_rows,
        "build_s": built,
        "total_s": round(elapsed, 1),
        "goals": {
            "p95_ms": GOAL_P95_MS,
            "queries": GOAL_QUERIES,
            "brief_ratio": GOAL_BRIEF_RATIO,
            "export_s": GOAL_EXPORT_S,
            "export_mb": GOAL_EXPORT_MB,
            "import_s": GOAL_IMPORT_S,
        },
        **environment,
        "results": results,
    }
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"结果已写入 {path}")


if __name__ == "__main__":
    main()
