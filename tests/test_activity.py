"""招商活跃指数, tested against its definitions file (crm/rankings/data/activity.yaml), not against
the code that computes it: a small world over three ISO weeks, the counts of every unit and
sub-index from independent SQL written from the file's header, the scores and ranks worked out
here from the file's rules — then the ranking, its page, its API and the records behind each figure
must all say the same. Also: the other normalisation and its cap through a custom file, change and
trend, the file's checks, who sees what, and garbage in the URL."""

import copy
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from sqlalchemy import Date, bindparam, text

from crm import create_app
from crm.events.models import Event
from crm.events.service import create_event
from crm.extensions import db
from crm.leads.service import add_follow_up, sign_lead
from crm.projects.service import add_update
from crm.rankings import activity
from crm.rankings.activity import ActivityError, board, parse
from tests.conftest import PASSWORD, IsolatedClient

SPEC_FILE = Path(__file__).resolve().parents[1] / "crm" / "rankings" / "data" / "activity.yaml"
TODAY = date(2026, 12, 3)  # every record of the world is dated before this
W46, W47, W48 = "2026-W46", "2026-W47", "2026-W48"  # Mondays 11-09, 11-16, 11-23
EMPTY_WEEK = "2026-W30"  # nothing at all happened that week
FL, CS, JLP, LJ = "涪陵区", "长寿区", "九龙坡区", "两江新区"
D0, D1, D2 = "综合协调处", "产业招商一处", "产业招商二处"
KEYS = ("signing", "start", "visit_out", "visit_in", "events", "publicity")


def day(text_: str) -> date:
    return date.fromisoformat(text_)


def monday_sunday(week: str) -> tuple[date, date]:
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return monday, monday + timedelta(days=6)


def spec() -> dict:
    """The shipped definitions file, as its reviewers read it."""
    return yaml.safe_load(SPEC_FILE.read_text("utf-8"))


# ---------------------------------------------------------------- the expected figures, from the header

# What each `counts` means, as the header words it, one query per (counts, by). :first/:last bound
# the period; :kinds are the follow-up or event kinds the sub-index lists.
COUNT_SQL = {
    # 签约日期在本周的招商项目（不论后来是否终止）; 按区县：落地区县; 按处室：线索负责人所在的处室.
    ("projects_signed", "district"): """
        SELECT p.district_id AS unit, COUNT(*) AS n FROM projects p
        WHERE p.signed_on BETWEEN :first AND :last AND p.district_id IS NOT NULL
        GROUP BY p.district_id""",
    ("projects_signed", "division"): """
        SELECT u.division_id AS unit, COUNT(*) AS n FROM projects p
        JOIN leads l ON l.id = p.lead_id JOIN users u ON u.id = l.owner_id
        WHERE p.signed_on BETWEEN :first AND :last AND u.division_id IS NOT NULL
        GROUP BY u.division_id""",
    # “开工”节点的实际日期在本周的招商项目.
    ("projects_started", "district"): """
        SELECT p.district_id AS unit, COUNT(DISTINCT p.id) AS n FROM project_milestones m
        JOIN projects p ON p.id = m.project_id
        WHERE m.stage = '开工' AND m.actual_on BETWEEN :first AND :last AND p.district_id IS NOT NULL
        GROUP BY p.district_id""",
    ("projects_started", "division"): """
        SELECT u.division_id AS unit, COUNT(DISTINCT p.id) AS n FROM project_milestones m
        JOIN projects p ON p.id = m.project_id
        JOIN leads l ON l.id = p.lead_id JOIN users u ON u.id = l.owner_id
        WHERE m.stage = '开工' AND m.actual_on BETWEEN :first AND :last AND u.division_id IS NOT NULL
        GROUP BY u.division_id""",
    # 本周发生的、方式为所列之一的跟进记录; 按区县：线索的意向区县; 按处室：线索负责人所在的处室.
    ("follow_ups", "district"): """
        SELECT l.intended_district_id AS unit, COUNT(*) AS n FROM follow_ups f
        JOIN leads l ON l.id = f.lead_id
        WHERE f.kind IN :kinds AND f.occurred_on BETWEEN :first AND :last
          AND l.intended_district_id IS NOT NULL
        GROUP BY l.intended_district_id""",
    ("follow_ups", "division"): """
        SELECT u.division_id AS unit, COUNT(*) AS n FROM follow_ups f
        JOIN leads l ON l.id = f.lead_id JOIN users u ON u.id = l.owner_id
        WHERE f.kind IN :kinds AND f.occurred_on BETWEEN :first AND :last AND u.division_id IS NOT NULL
        GROUP BY u.division_id""",
    # 开始日期在本周的、类型为所列之一的招商活动; 主办区县 / 主办处室.
    ("events", "district"): """
        SELECT e.district_id AS unit, COUNT(*) AS n FROM events e
        WHERE e.kind IN :kinds AND e.held_on BETWEEN :first AND :last AND e.district_id IS NOT NULL
        GROUP BY e.district_id""",
    ("events", "division"): """
        SELECT e.division_id AS unit, COUNT(*) AS n FROM events e
        WHERE e.kind IN :kinds AND e.held_on BETWEEN :first AND :last AND e.division_id IS NOT NULL
        GROUP BY e.division_id""",
}


def sql_counts(index: dict, by: str, first: date, last: date) -> dict[int, int]:
    """unit id → records of one sub-index (as the file defines it) in [first, last]."""
    sql = COUNT_SQL[(index["counts"], by)]
    kinds = index.get("follow_up_kinds") or index.get("event_kinds") or [""]
    params = [bindparam("first", type_=Date), bindparam("last", type_=Date)]
    if ":kinds" in sql:
        params.append(bindparam("kinds", expanding=True))
    stmt = text(sql).bindparams(*params)
    values = {"first": first, "last": last}
    if ":kinds" in sql:
        values["kinds"] = list(kinds)
    return {unit: n for unit, n in db.session.execute(stmt, values)}


def unit_ids(by: str) -> dict[int, str]:
    table = "districts" if by == "district" else "divisions"
    return dict(db.session.execute(text(f"SELECT id, name FROM {table} ORDER BY id")).all())


@dataclass
class Expected:
    """One unit's week as the file's rules make it."""

    name: str
    counts: dict[str, int]
    scores: dict[str, Fraction]
    score: Fraction
    rank: int | None = None


def expected(definitions: dict, by: str, week: str) -> dict[int, Expected]:
    """Every unit's counts, sub-scores, index and rank for `week`, from the header's rules:
    best — count ÷ the week's highest count × 100 (0 when that is 0); own_average — count ÷ the
    unit's weekly average over the 12 weeks before × 100, at most cap (no history: 100 if any, else
    0); index = Σ score × weight ÷ 100; competition ranks (1, 1, 3); no ranks when all are 0."""
    monday, sunday = monday_sunday(week)
    units = unit_ids(by)
    out = {unit: Expected(name, {}, {}, Fraction(0)) for unit, name in units.items()}
    for index in definitions["indices"]:
        key = index["key"]
        counts = sql_counts(index, by, monday, sunday)
        best = max(counts.values(), default=0)
        history = {}
        if definitions["normalisation"] == "own_average":
            history = sql_counts(index, by, monday - timedelta(weeks=12), monday - timedelta(days=1))
        for unit, row in out.items():
            count = counts.get(unit, 0)
            if definitions["normalisation"] == "best":
                score = Fraction(100 * count, best) if best else Fraction(0)
            else:
                average = Fraction(history.get(unit, 0), 12)
                if average:
                    score = min(Fraction(100 * count) / average, Fraction(definitions["cap"]))
                else:
                    score = Fraction(100 if count else 0)
            row.counts[key], row.scores[key] = count, score
            row.score += score * index["weight"] / 100
    if any(row.score for row in out.values()):
        for row in out.values():
            row.rank = 1 + sum(other.score > row.score for other in out.values())
    return out


def by_name(rows: dict[int, Expected]) -> dict[str, Expected]:
    return {row.name: row for row in rows.values()}


def close(actual, wanted) -> bool:
    """A figure shown with one decimal equals the exact one to within its rounding."""
    return abs(float(actual) - float(wanted)) <= 0.1


# ---------------------------------------------------------------- reading the pages


class Page(HTMLParser):
    """What the ranking and the records pages carry in their data-* attributes: the ranking's rows
    (data-unit, data-unit-id; cells data-rank, data-score, data-change, data-index + data-count
    with the link each figure opens) and the records page's sections (data-index, data-count, and
    the rows its table lists)."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[dict] = []
        self.sections: list[dict] = []
        self._row = self._cell = self._section = None
        self._tbody = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-unit-id" in a:
            self._row = {"unit": a["data-unit"], "id": int(a["data-unit-id"]), "cells": {}, "text": ""}
            self.rows.append(self._row)
        elif self._row is not None:
            if "data-rank" in a:
                self._row["rank"] = int(a["data-rank"]) if a["data-rank"] else None
            if "data-score" in a:
                self._row["score"] = float(a["data-score"])
                self._row["records"] = a.get("href")
            if "data-change" in a:
                self._row["change"] = float(a["data-change"])
            if tag == "td" and "data-index" in a:
                self._cell = {"count": int(a["data-count"]), "href": None}
                self._row["cells"][a["data-index"]] = self._cell
            elif tag == "a" and self._cell is not None and self._cell["href"] is None:
                self._cell["href"] = a.get("href")
        if tag == "section" and "data-index" in a:
            self._section = {"index": a["data-index"], "count": int(a["data-count"]), "rows": 0, "text": ""}
            self.sections.append(self._section)
        elif tag == "tbody" and self._section is not None:
            self._tbody = True
        elif tag == "tr" and self._section is not None and self._tbody:
            self._section["rows"] += 1
        elif tag == "a" and self._section is not None and "href" in a:
            self._section.setdefault("links", []).append(a["href"])

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._row = None
        elif tag == "tbody":
            self._tbody = False
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"] += data
        if self._section is not None:
            self._section["text"] += data


def signed_in(app, user):
    """A test client of its own, logged in as `user` (several users in one test)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    return client


def event_pages_exist(app) -> bool:
    """The events list and detail pages (crm/web/events.py) the records page links to."""
    return {"events.index", "events.detail"} <= set(app.view_functions)


def needs_event_pages(app, why: str) -> None:
    if not event_pages_exist(app):
        pytest.skip(
            "crm/web/events.py（events.index / events.detail）尚未注册：记录页的招商活动部分链接到它，"
            f"无法渲染；{why}"
        )


# ---------------------------------------------------------------- the world


@dataclass
class World:
    users: dict = field(default_factory=dict)
    leads: dict = field(default_factory=dict)
    projects: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    districts: dict = field(default_factory=dict)  # name → id
    divisions: dict = field(default_factory=dict)


@pytest.fixture
def world(make_user, make_enterprise, make_lead, make_project) -> World:
    """Records over 2026-W46..W48 (and one in June) across four districts and three divisions:

    leads   L1 o1(一处) 涪陵 · L2 o2(二处) 长寿 · L3 o3(no division) 九龙坡 · L4 o1 no district ·
            L5 o2 两江 · L6 manager(综合协调处) 九龙坡
    signed  P1 L1 涪陵 W47 Mon · P2 L2 长寿 W47 Sun (sign_lead) · P3 L5 but landing in 九龙坡 W47 ·
            P4 no lead 两江 W47, terminated W48 · P5 L3 涪陵 W46 · P7 no lead 两江 W48 Sun ·
            P6 L6 长寿 June · P8 L4 九龙坡 March · P9 no lead 两江 May
    开工     P1 W47 · P5 W47 · P6 W48 Mon · P9 W46 (reported in W47) · P8 reached 竣工 in W47, no 开工
    follow-ups, events: see below; 电话, 会议, 签约仪式 count nowhere.
    """
    w = World()
    w.users = {
        "o1": make_user("officer", division_name=D1),
        "o2": make_user("officer", division_name=D2),
        "o3": make_user("officer"),
        "manager": make_user("manager", division_name=D0),
        "fuling": make_user("district", FL),
        "changshou": make_user("district", CS),
    }
    u = w.users
    lead_plan = {
        "L1": (u["o1"], FL),
        "L2": (u["o2"], CS),
        "L3": (u["o3"], JLP),
        "L4": (u["o1"], None),
        "L5": (u["o2"], LJ),
        "L6": (u["manager"], JLP),
    }
    for key, (owner, district) in lead_plan.items():
        w.leads[key] = make_lead(
            make_enterprise(name=f"活跃指数{key}企业有限公司"),
            owner,
            title=f"活跃线索{key}",
            catalogue_code="CH-PA-01",
            **({"district": district} if district else {}),
        )
    follow_ups = [
        ("L1", "拜访", "2026-11-16", "o1"),
        ("L1", "拜访", "2026-11-22", "o2"),  # logged by 二处's officer: still 一处's lead
        ("L1", "电话", "2026-11-18", "o1"),
        ("L1", "来访", "2026-11-19", "o1"),
        ("L2", "拜访", "2026-11-15", "o2"),  # Sunday of W46
        ("L2", "实地考察", "2026-11-17", "o2"),
        ("L2", "来访", "2026-11-21", "o2"),
        ("L3", "拜访", "2026-11-18", "o3"),
        ("L4", "拜访", "2026-11-19", "o1"),  # no intended district: 一处 only
        ("L5", "实地考察", "2026-11-20", "o2"),
        ("L5", "会议", "2026-11-20", "o2"),
        ("L5", "签约仪式", "2026-11-21", "o2"),
        ("L6", "来访", "2026-11-23", "manager"),  # Monday of W48
    ]
    for lead, kind, when, by in follow_ups:
        add_follow_up(
            w.leads[lead], {"occurred_on": when, "kind": kind, "notes": f"{kind}记录"}, u[by], today=TODAY
        )
    db.session.commit()

    def project(key, district, signed, lead=None):
        w.projects[key] = make_project(
            name=f"活跃项目{key}",
            enterprise=w.leads[lead].enterprise
            if lead
            else make_enterprise(name=f"活跃指数{key}项目企业有限公司"),
            district=district,
            signed_on=day(signed),
            lead_id=w.leads[lead].id if lead else None,
        )

    project("P1", FL, "2026-11-16", "L1")
    w.projects["P2"] = sign_lead(
        w.leads["L2"], {"signed_on": "2026-11-22", "agreed_investment_wan": "30000"}, u["o2"], today=TODAY
    )
    w.projects["P2"].name = "活跃项目P2"
    project("P3", JLP, "2026-11-18", "L5")  # the lead meant 两江新区; the project landed in 九龙坡区
    project("P4", LJ, "2026-11-19")
    project("P5", FL, "2026-11-10", "L3")
    project("P6", CS, "2026-06-01", "L6")
    project("P7", LJ, "2026-11-29")
    project("P8", JLP, "2026-03-01", "L4")
    project("P9", LJ, "2026-05-01")
    db.session.commit()
    updates = [
        ("P1", {"reported_on": "2026-11-20", "stage_reached": "开工", "stage_reached_on": "2026-11-20"}),
        ("P5", {"reported_on": "2026-11-17", "stage_reached": "开工", "stage_reached_on": "2026-11-17"}),
        ("P6", {"reported_on": "2026-11-23", "stage_reached": "开工", "stage_reached_on": "2026-11-23"}),
        # reported in W47, started in W46: the milestone's actual date is what counts
        ("P9", {"reported_on": "2026-11-17", "stage_reached": "开工", "stage_reached_on": "2026-11-13"}),
        ("P8", {"reported_on": "2026-11-18", "stage_reached": "竣工", "stage_reached_on": "2026-11-18"}),
        (
            "P4",
            {
                "reported_on": "2026-11-25",
                "stage_reached": "终止",
                "termination_reason": "企业战略调整",
                "note": "企业调整战略，项目终止",
            },
        ),
    ]
    for key, raw in updates:
        add_update(w.projects[key], raw, u["o1"], today=TODAY)
    events = [
        ("E1", "推介会", "2026-11-18", {}, "fuling"),  # a district user's: its own district
        ("E2", "新闻宣传", "2026-11-19", {"district": CS}, "o1"),
        ("E3", "展会", "2026-11-16", {"division": D1}, "o1"),
        ("E4", "外出招商", "2026-11-22", {"division": D2}, "o2"),
        ("E5", "新闻宣传", "2026-11-20", {"division": D2}, "o2"),
        ("E6", "论坛峰会", "2026-11-23", {"district": JLP}, "o1"),
        ("E7", "签约仪式", "2026-11-21", {"district": LJ}, "manager"),
        ("E8", "客商来渝考察", "2026-11-14", {"division": D1}, "o1"),
        ("E9", "其他", "2026-11-17", {"district": CS}, "changshou"),
        ("E10", "推介会", "2026-11-20", {"district": JLP}, "o3"),
    ]
    for key, kind, held, organiser, by in events:
        raw = {"kind": kind, "title": f"活跃活动{key}", "held_on": held, "place": "重庆", **organiser}
        w.events[key] = create_event(raw, u[by])
    db.session.commit()
    w.districts = {name: ident for ident, name in unit_ids("district").items()}
    w.divisions = {name: ident for ident, name in unit_ids("division").items()}
    return w


# The world's counts in W47, worked out by hand from the docstring above: the SQL is checked too.
HAND_W47 = {
    "district": {
        FL: {"signing": 1, "start": 2, "visit_out": 2, "visit_in": 1, "events": 1, "publicity": 0},
        CS: {"signing": 1, "start": 0, "visit_out": 0, "visit_in": 2, "events": 1, "publicity": 1},
        JLP: {"signing": 1, "start": 0, "visit_out": 1, "visit_in": 0, "events": 1, "publicity": 0},
        LJ: {"signing": 1, "start": 0, "visit_out": 0, "visit_in": 1, "events": 1, "publicity": 0},
    },
    "division": {
        D1: {"signing": 1, "start": 1, "visit_out": 3, "visit_in": 1, "events": 1, "publicity": 0},
        D2: {"signing": 2, "start": 0, "visit_out": 0, "visit_in": 3, "events": 1, "publicity": 1},
    },
}


def test_the_independent_sql_counts_the_world_as_worked_out_by_hand(world):
    for by, hand in HAND_W47.items():
        rows = by_name(expected(spec(), by, W47))
        assert {name: rows[name].counts for name in hand} == hand
        others = [row for name, row in rows.items() if name not in hand]
        assert others and all(not any(row.counts.values()) for row in others)


# ---------------------------------------------------------------- counts, scores, ranks: four views


WEEKS_AND_KINDS = [(week, by) for week in (W46, W47, W48) for by in ("district", "division")]


@pytest.mark.parametrize(("week", "by"), WEEKS_AND_KINDS)
def test_board_counts_scores_and_ranks_follow_the_file(world, week, by):
    want = expected(spec(), by, week)
    ranking = board(week, by)
    assert ranking.week == week and (ranking.monday, ranking.sunday) == monday_sunday(week)
    assert {row.unit.id for row in ranking.rows} == set(want)
    for row in ranking.rows:
        wanted = want[row.unit.id]
        assert row.unit.name == wanted.name
        assert row.counts == wanted.counts, wanted.name
        assert set(row.scores) == set(KEYS)
        for key in KEYS:
            assert close(row.scores[key], wanted.scores[key]), (wanted.name, key)
        assert close(row.score, wanted.score), wanted.name
        assert row.rank == wanted.rank, wanted.name
    # highest first
    ranks = [row.rank for row in ranking.rows]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize(("week", "by"), WEEKS_AND_KINDS)
def test_the_page_shows_the_same_figures(world, app, week, by):
    want = expected(spec(), by, week)
    client = signed_in(app, world.users["manager"])
    response = client.get(f"/rankings/activity?week={week}&by={by}")
    assert response.status_code == 200
    page = Page(response.text)
    assert {row["id"] for row in page.rows} == set(want)
    for row in page.rows:
        wanted = want[row["id"]]
        assert row["unit"] == wanted.name
        assert {key: cell["count"] for key, cell in row["cells"].items()} == wanted.counts, wanted.name
        assert close(row["score"], wanted.score), wanted.name
        assert row["rank"] == wanted.rank, wanted.name
    assert 'data-testid="no-ranking"' not in response.text


@pytest.mark.parametrize(("week", "by"), WEEKS_AND_KINDS)
def test_the_api_gives_the_same_figures(world, app, week, by):
    want = expected(spec(), by, week)
    client = signed_in(app, world.users["o1"])
    response = client.get(f"/api/v1/rankings/activity?week={week}&by={by}")
    assert response.status_code == 200
    items = response.get_json()["items"]
    names = {row.name: row for row in want.values()}
    assert sorted(item["unit"] for item in items) == sorted(names)
    for item in items:
        wanted = names[item["unit"]]
        assert {key: item[key] for key in KEYS} == wanted.counts, wanted.name
        assert set(item["scores"]) == set(KEYS)
        for key in KEYS:
            assert close(item["scores"][key], wanted.scores[key]), (wanted.name, key)
        assert close(item["score"], wanted.score) and item["rank"] == wanted.rank, wanted.name
        assert {"previous_rank", "change", "trend"} <= set(item)


def records_url(week: str, by: str, unit, index: str | None = None) -> str:
    url = f"/rankings/activity/records?week={week}&by={by}&unit={unit}"
    return f"{url}&index={index}" if index else url


def _records(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.text).sections


@pytest.mark.parametrize("by", ["district", "division"])
def test_every_figure_opens_the_records_it_counts(world, app, by):
    """Each non-zero cell of the ranking links to its records: the section's data-count, the rows
    it lists and the figure are one number. Zero cells link nowhere; a zero unit's page lists none."""
    want = expected(spec(), by, W47)
    client = signed_in(app, world.users["manager"])
    page = Page(client.get(f"/rankings/activity?week={W47}&by={by}").text)
    events_ok = event_pages_exist(app)
    opened = 0
    for row in page.rows:
        wanted = want[row["id"]]
        for key, cell in row["cells"].items():
            if not cell["count"]:
                assert cell["href"] is None, (wanted.name, key)
                continue
            if key in ("events", "publicity") and not events_ok:
                continue  # rendered by test_records_of_events_… once the events pages exist
            query = parse_qs(urlsplit(cell["href"]).query)
            assert query == {"week": [W47], "by": [by], "unit": [str(row["id"])], "index": [key]}
            (section,) = _records(client, cell["href"])
            assert section["index"] == key
            assert section["count"] == section["rows"] == cell["count"] == wanted.counts[key], (
                wanted.name,
                key,
            )
            opened += 1
    assert opened >= 8
    nobody = next(row for row in page.rows if not any(c["count"] for c in row["cells"].values()))
    (section,) = _records(client, records_url(W47, by, nobody["id"], "signing"))
    assert section["count"] == section["rows"] == 0


def test_records_list_the_very_records(world, app):
    """Which records, not only how many: a project counts where it landed, a signed project that
    was terminated since still counts, 开工 by the milestone's date, a contact by its lead's owner."""
    client = signed_in(app, world.users["manager"])
    d, v = world.districts, world.divisions

    def listed(by, unit, key, week=W47):
        (section,) = _records(client, records_url(week, by, unit, key))
        return section["text"]

    assert "活跃项目P3" in listed("district", d[JLP], "signing")  # landed in 九龙坡区
    assert "活跃项目P3" not in listed("district", d[LJ], "signing")
    assert "活跃项目P4" in listed("district", d[LJ], "signing")  # terminated later: still signed in W47
    started = listed("district", d[FL], "start")
    assert "活跃项目P1" in started and "活跃项目P5" in started
    assert "活跃项目P9" not in listed("district", d[LJ], "start")  # started in W46, reported in W47
    assert "活跃项目P9" in listed("district", d[LJ], "start", W46)
    assert "活跃项目P8" not in listed("district", d[JLP], "start")  # reached 竣工, never 开工
    visits = listed("division", v[D1], "visit_out")
    assert visits.count("活跃线索L1") == 2 and "活跃线索L4" in visits  # one logged by 二处's officer
    assert "电话" not in listed("division", v[D1], "visit_in")
    both = listed("division", v[D2], "signing")
    assert "活跃项目P2" in both and "活跃项目P3" in both


def test_records_of_events_and_all_six_sections(world, app):
    needs_event_pages(app, "招商活动、新闻宣传两节与不带 index 的记录页待其完成后测试。")
    client = signed_in(app, world.users["manager"])
    for by, unit in (("district", world.districts[CS]), ("division", world.divisions[D2])):
        wanted = by_name(expected(spec(), by, W47))[CS if by == "district" else D2]
        sections = _records(client, records_url(W47, by, unit))
        assert [s["index"] for s in sections] == list(KEYS)
        for section in sections:
            assert section["count"] == section["rows"] == wanted.counts[section["index"]], section["index"]
    events = _records(client, records_url(W47, "division", world.divisions[D2], "events"))
    assert "活跃活动E4" in events[0]["text"] and "活跃活动E5" not in events[0]["text"]
    publicity = _records(
        client,
        records_url(W47, "district", world.districts[CS], "publicity"),
    )
    assert "活跃活动E2" in publicity[0]["text"] and "活跃活动E9" not in publicity[0]["text"]


def test_the_events_list_link_shows_the_same_events(world, app):
    needs_event_pages(app, "“在列表中查看”链接到的招商活动列表尚不存在。")
    client = signed_in(app, world.users["manager"])
    (section,) = _records(client, records_url(W47, "district", world.districts[CS], "events"))
    link = next(href for href in section.get("links", []) if href.startswith("/events"))
    listing = client.get(link)
    assert listing.status_code == 200
    assert "活跃活动E9" in listing.text  # 长寿区's 其他, in W47
    for absent in ("活跃活动E2", "活跃活动E1", "活跃活动E6", "活跃活动E4"):  # 新闻宣传, other units
        assert absent not in listing.text, absent


def test_the_project_list_link_shows_the_same_signings(world, app):
    client = signed_in(app, world.users["manager"])
    (section,) = _records(client, records_url(W47, "district", world.districts[FL], "signing"))
    link = next(href for href in section.get("links", []) if href.startswith("/projects"))
    listing = client.get(link.replace("&amp;", "&"))
    assert listing.status_code == 200
    assert "活跃项目P1" in listing.text
    assert "活跃项目P5" not in listing.text and "活跃项目P2" not in listing.text


# ---------------------------------------------------------------- ties and empty weeks


def test_ties_share_a_rank_and_the_next_rank_is_skipped(world, app):
    # W47 by district: 九龙坡区 (签约, 拜访, 活动) and 两江新区 (签约, 实地考察, 活动) both 47.5.
    districts = by_name(expected(spec(), "district", W47))
    assert [districts[n].rank for n in (FL, CS, JLP, LJ)] == [1, 2, 3, 3]
    assert districts[JLP].score == districts[LJ].score == Fraction(95, 2)
    assert {row.rank for name, row in districts.items() if name not in (FL, CS, JLP, LJ)} == {5}
    got = {row.unit.name: row.rank for row in board(W47, "district").rows}
    assert [got[n] for n in (FL, CS, JLP, LJ)] == [1, 2, 3, 3] and got["北碚区"] == 5
    # W46 by division: 一处 (an event) and 二处 (a visit) both 15: 1, 1, then 3.
    got = {row.unit.name: row.rank for row in board(W46, "division").rows}
    assert (got[D1], got[D2], got[D0]) == (1, 1, 3)
    items = (
        signed_in(app, world.users["o2"]).get(f"/api/v1/rankings/activity?week={W46}&by=division").get_json()
    )
    assert {i["unit"]: i["rank"] for i in items["items"]}[D2] == 1


def test_ranks_follow_the_index_not_its_rounded_parts(make_user, make_lead, make_enterprise, make_project):
    """2026-W45 by district. 涪陵区 sets every week's best (6 signed, 7 started, 1 拜访, 3 来访,
    3 活动, 1 宣传) → 100. 长寿区: 1 signed, 3 started → 25×1/6 + 20×3/7 = 12.738…; 九龙坡区:
    1 started, 1 来访, 1 活动 → 20×1/7 + 15×1/3 + 15×1/3 = 12.857…: 九龙坡区 2nd, 长寿区 3rd."""
    week, signed, started = "2026-W45", "2026-11-03", "2026-11-05"
    officer = make_user("officer")

    def projects(district, in_week, before):
        for n in range(in_week + before):
            project = make_project(district=district, signed_on=day(signed if n < in_week else "2026-06-01"))
            raw = {"reported_on": started, "stage_reached": "开工", "stage_reached_on": started}
            add_update(project, raw, officer, today=TODAY)

    def contacts(district, kinds):
        lead = make_lead(owner=officer, district=district)
        for kind in kinds:
            add_follow_up(lead, {"occurred_on": started, "kind": kind, "notes": kind}, officer, today=TODAY)

    def events(district, kinds):
        for n, kind in enumerate(kinds):
            raw = {"kind": kind, "title": f"{district}{kind}{n}", "held_on": started, "district": district}
            create_event(raw, officer)

    projects(FL, 6, 1)
    contacts(FL, ["拜访", "来访", "来访", "来访"])
    events(FL, ["推介会", "推介会", "推介会", "新闻宣传"])
    projects(CS, 1, 2)
    projects(JLP, 0, 1)
    contacts(JLP, ["来访"])
    events(JLP, ["推介会"])
    db.session.commit()
    want = by_name(expected(spec(), "district", week))
    assert [want[n].counts for n in (CS, JLP)] == [
        {"signing": 1, "start": 3, "visit_out": 0, "visit_in": 0, "events": 0, "publicity": 0},
        {"signing": 0, "start": 1, "visit_out": 0, "visit_in": 1, "events": 1, "publicity": 0},
    ]
    assert (want[JLP].score, want[CS].score) == (Fraction(90, 7), Fraction(535, 42))  # 12.857, 12.738
    assert [want[n].rank for n in (FL, JLP, CS)] == [1, 2, 3]
    got = {row.unit.name: row.rank for row in board(week, "district").rows}
    assert [got[n] for n in (FL, JLP, CS)] == [1, 2, 3]  # got: [1, 2, 2]


@pytest.mark.parametrize("by", ["district", "division"])
def test_a_week_without_records_is_not_ranked(world, app, by):
    assert all(row.rank is None for row in expected(spec(), by, EMPTY_WEEK).values())
    ranking = board(EMPTY_WEEK, by)
    assert not ranking.ranked and all(row.rank is None and row.score == 0 for row in ranking.rows)
    client = signed_in(app, world.users["manager"])
    data = client.get(f"/api/v1/rankings/activity?week={EMPTY_WEEK}&by={by}").get_json()
    assert data["items"] and all(item["rank"] is None for item in data["items"])
    response = client.get(f"/rankings/activity?week={EMPTY_WEEK}&by={by}")
    assert response.status_code == 200 and "不排名" in response.text
    assert all(row["rank"] is None for row in Page(response.text).rows)


def test_an_empty_database_is_not_ranked():
    ranking = board(W47, "district")
    assert not ranking.ranked and ranking.rows


# ---------------------------------------------------------------- change and trend


def test_change_against_last_week_and_the_trend(world, app):
    definitions = spec()
    assert definitions["trend_weeks"] == 12
    weeks = {week: by_name(expected(definitions, "district", week)) for week in (W46, W47, W48)}
    ranking = board(W48, "district")
    assert len(ranking.weeks) == 12 and ranking.weeks[-3:] == [W46, W47, W48]
    for row in ranking.rows:
        name = row.unit.name
        this, last = weeks[W48][name], weeks[W47][name]
        assert len(row.trend) == 12
        assert close(row.trend[-1], row.score) and close(row.score, this.score)
        assert close(row.trend[-2], last.score) and close(row.previous_score, last.score)
        assert close(row.trend[-3], weeks[W46][name].score)
        assert all(value == 0 for value in row.trend[:-3]), name  # nothing before W46 but June and March
        assert close(row.change, this.score - last.score)
        assert row.previous_rank == last.rank
        assert row.rank_change == (last.rank - this.rank if this.rank and last.rank else None)
    rows = {row.unit.name: row for row in ranking.rows}
    assert (rows[JLP].rank, rows[JLP].previous_rank, rows[FL].rank, rows[FL].previous_rank) == (1, 3, 4, 1)

    client = signed_in(app, world.users["manager"])
    page = {row["unit"]: row for row in Page(client.get(f"/rankings/activity?week={W48}").text).rows}
    assert close(page[JLP]["change"], 30 - 47.5) and "升 2 位" in page[JLP]["text"]
    assert close(page[FL]["change"], -82.5) and "降 3 位" in page[FL]["text"]
    items = {i["unit"]: i for i in client.get(f"/api/v1/rankings/activity?week={W48}").get_json()["items"]}
    assert items[JLP]["previous_rank"] == 3 and close(items[JLP]["change"], -17.5)
    assert len(items[FL]["trend"]) == 12 and close(items[FL]["trend"][-1], items[FL]["score"])
    assert close(items[FL]["trend"][-2], 82.5)


def test_weeks_across_the_new_year(app):
    """2026 has 53 ISO weeks (W53: 2026-12-28..2027-01-03); 2027-W01's last week is 2026-W53. The
    services refuse future dates, so these two events are written directly."""
    fuling = db.session.execute(text("SELECT id FROM districts WHERE name = :n"), {"n": FL}).scalar_one()
    db.session.add_all(
        [
            Event(kind="推介会", title="跨年推介会", held_on=date(2027, 1, 3), district_id=fuling),
            Event(kind="新闻宣传", title="新年宣传", held_on=date(2027, 1, 4), district_id=fuling),
        ]
    )
    db.session.commit()
    for week in ("2026-W53", "2027-W01"):
        want = expected(spec(), "district", week)
        got = {row.unit.id: row for row in board(week, "district").rows}
        assert {u: (r.counts, r.rank) for u, r in got.items()} == {
            u: (r.counts, r.rank) for u, r in want.items()
        }
    row = board("2027-W01", "district").row(fuling)
    assert row.counts["publicity"] == 1 and row.counts["events"] == 0 and close(row.score, 10)
    assert board("2027-W01", "district").weeks[-2:] == ["2026-W53", "2027-W01"]
    assert close(row.previous_score, 15) and close(row.trend[-2], 15) and close(row.change, -5)


# ---------------------------------------------------------------- own_average and cap, through a custom file

OWN_AVERAGE = {
    "normalisation": "own_average",
    "cap": 150,
    "trend_weeks": 4,
    "indices": [
        {
            "key": "visits",
            "label": "走访",
            "weight": 60,
            "counts": "follow_ups",
            "follow_up_kinds": ["拜访", "来访"],
            "definition": "本周方式为拜访或来访的跟进记录条数。",
        },
        {
            "key": "promotion",
            "label": "推介",
            "weight": 40,
            "counts": "events",
            "event_kinds": ["推介会", "新闻宣传"],
            "definition": "本周推介会与新闻宣传场次。",
        },
    ],
    "reviewed": [{"date": "2026-12-01", "by": "测试", "note": "相对本单位前 12 周换算的试行口径"}],
}


@pytest.fixture
def history(make_user, make_lead, make_enterprise):
    """W47 against the 12 weeks before it (W35..W46), by district:
    涪陵区  拜访 3 in W40 (average ¼), 1 in W47 → 400 → cap 150; 推介会 none before, 1 in W47 → 100
    长寿区  拜访 6 in W36 and 6 in W44 (average 1), 1 in W47 → 100; 推介会 in W38 and W45, none in W47 → 0
    两江新区 拜访 9 in W41 (average ¾), 1 in W47 → 133⅓
    九龙坡区 拜访 4 in W46 only, none in W47 → 0 (and 100 in W46, where it had no history)"""
    officer = make_user("officer", division_name=D1)
    leads = {
        name: make_lead(make_enterprise(name=f"历史{n}企业有限公司"), officer, district=name)
        for n, name in enumerate((FL, CS, LJ, JLP))
    }
    plan = [
        (FL, "2026-10-01", 3),  # W40
        (FL, "2026-11-18", 1),
        (CS, "2026-09-01", 6),  # W36
        (CS, "2026-10-27", 6),  # W44
        (CS, "2026-11-19", 1),
        (LJ, "2026-10-06", 9),  # W41
        (LJ, "2026-11-20", 1),
        (JLP, "2026-11-10", 4),  # W46
    ]
    for district, when, times in plan:
        for _ in range(times):
            add_follow_up(
                leads[district], {"occurred_on": when, "kind": "拜访", "notes": "拜访"}, officer, today=TODAY
            )
    for district, when in ((FL, "2026-11-17"), (CS, "2026-09-16"), (CS, "2026-11-05")):
        create_event(
            {"kind": "推介会", "title": f"推介{when}", "held_on": when, "district": district}, officer
        )
    db.session.commit()
    return officer


def _rules_file(tmp_path, data, name="activity.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def test_own_average_and_cap_from_a_custom_file(history, app, tmp_path, monkeypatch):
    path = _rules_file(tmp_path, OWN_AVERAGE)
    rules = activity.load(path)
    want = by_name(expected(OWN_AVERAGE, "district", W47))
    hand = {FL: (150, 100, 130), CS: (100, 0, 60), LJ: (Fraction(400, 3), 0, 80), JLP: (0, 0, 0)}
    assert {n: (want[n].scores["visits"], want[n].scores["promotion"], want[n].score) for n in hand} == hand
    assert [want[n].rank for n in (FL, LJ, CS, JLP)] == [1, 2, 3, 4]

    ranking = board(W47, "district", rules)
    got = {row.unit.name: row for row in ranking.rows}
    assert set(got) == set(want)
    for name, wanted in want.items():
        row = got[name]
        assert row.counts == wanted.counts, name
        assert all(close(row.scores[k], wanted.scores[k]) for k in ("visits", "promotion")), name
        assert close(row.score, wanted.score) and row.rank == wanted.rank, name
    # the trend is trend_weeks long and ends with this week; last week is compared the same way
    before = by_name(expected(OWN_AVERAGE, "district", W46))
    assert before[JLP].score == 60 and before[FL].score == 0
    assert ranking.weeks == ["2026-W44", "2026-W45", W46, W47]
    for name in (FL, CS, LJ, JLP):
        assert len(got[name].trend) == 4 and close(got[name].trend[-1], got[name].score)
        assert close(got[name].previous_score, before[name].score), name
        assert got[name].previous_rank == before[name].rank
    assert close(got[FL].change, 130) and got[FL].rank_change == 1

    # the page and the API read the definitions in force (monkeypatch restores the shipped ones)
    monkeypatch.setitem(app.extensions, activity.EXTENSION_KEY, rules)
    client = signed_in(app, history)
    items = {i["unit"]: i for i in client.get(f"/api/v1/rankings/activity?week={W47}").get_json()["items"]}
    assert (items[FL]["visits"], items[FL]["promotion"], items[FL]["rank"]) == (1, 1, 1)
    assert close(items[FL]["scores"]["visits"], 150) and close(items[LJ]["score"], 80)
    assert "signing" not in items[FL]
    page = client.get(f"/rankings/activity?week={W47}").text
    rows = {row["unit"]: row for row in Page(page).rows}
    assert set(rows[CS]["cells"]) == {"visits", "promotion"} and close(rows[CS]["score"], 60)
    assert "走访" in page and "相对本单位前 12 周的周平均" in page


def test_the_file_named_by_activity_file_is_read_at_start(tmp_path):
    url = "sqlite:///" + str(tmp_path / "unused.sqlite3")
    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "ACTIVITY_FILE": str(_rules_file(tmp_path, OWN_AVERAGE)),
        }
    )
    rules = other.extensions[activity.EXTENSION_KEY]
    assert (rules.normalisation, rules.cap, [i.key for i in rules.indices]) == (
        "own_average",
        150,
        ["visits", "promotion"],
    )
    bad = copy.deepcopy(OWN_AVERAGE)
    bad["indices"][0]["weight"] = 50
    path = _rules_file(tmp_path, bad, "bad.yaml")
    with pytest.raises(ActivityError, match=r"bad\.yaml.*权重之和应为 100（现为 90）"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "ACTIVITY_FILE": str(path)})


# ---------------------------------------------------------------- the file's checks


def _index(data, key):
    return next(i for i in data["indices"] if i["key"] == key)


def _broken(change):
    data = spec()
    change(data)
    return data


BAD_FILES = {
    "unknown normalisation": (lambda d: d.update(normalisation="median"), "normalisation “median”未知"),
    "weights not 100": (lambda d: _index(d, "signing").update(weight=30), "权重之和应为 100（现为 105）"),
    "follow-up kind twice": (
        lambda d: _index(d, "visit_in")["follow_up_kinds"].append("拜访"),
        "“拜访”同时计入分项 visit_out 和 visit_in",
    ),
    "event kind twice": (
        lambda d: _index(d, "events")["event_kinds"].append("新闻宣传"),
        "“新闻宣传”同时计入分项 events 和 publicity",
    ),
    "projects counted twice": (
        lambda d: _index(d, "start").update(counts="projects_signed"),
        "签约项目同时计入分项 signing 和 start",
    ),
    "unknown counts": (lambda d: _index(d, "start").update(counts="phone_calls"), "counts “phone_calls”未知"),
    "unknown follow-up kind": (
        lambda d: _index(d, "visit_out")["follow_up_kinds"].append("飞鸽传书"),
        "未知的类型 飞鸽传书",
    ),
    "unknown event kind": (lambda d: _index(d, "events").update(event_kinds=["路演"]), "未知的类型 路演"),
    "no kinds": (lambda d: _index(d, "visit_in").pop("follow_up_kinds"), "须在 follow_up_kinds 中列出"),
    "missing definition": (
        lambda d: _index(d, "publicity").pop("definition"),
        "分项 publicity：须写明 definition",
    ),
    "missing reviewed": (lambda d: d.pop("reviewed"), "须有 reviewed 审核记录"),
    "empty review": (lambda d: d["reviewed"][0].pop("by"), "须写明 by"),
    "weight not a number": (lambda d: _index(d, "signing").update(weight="25"), "weight 应为正整数"),
    "cap below 100": (lambda d: d.update(cap=50), "cap 应为不小于 100 的整数"),
    "trend too long": (lambda d: d.update(trend_weeks=400), "trend_weeks 应为 2–52"),
    "no indices": (lambda d: d.update(indices=[]), "须在 indices 中列出各分项"),
    "repeated key": (lambda d: _index(d, "publicity").update(key="events"), "key 重复"),
    "not a mapping": (lambda d: d["indices"].append("签约"), "indices 第 7 项应为键值"),
}


def test_the_shipped_file_is_accepted():
    rules = parse(spec())
    assert [(i.key, i.weight) for i in rules.indices] == list(
        zip(KEYS, (25, 20, 15, 15, 15, 10), strict=True)
    )
    assert rules.normalisation == "best" and rules.trend_weeks == 12


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_in_chinese(case):
    change, message = BAD_FILES[case]
    with pytest.raises(ActivityError) as refused:
        parse(_broken(change))
    assert message in str(refused.value)
    assert re.search(r"[\u4e00-\u9fff]", str(refused.value))


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("indices: [unclosed", "utf-8")
    with pytest.raises(ActivityError, match="无法读取招商活跃指数口径文件"):
        activity.load(path)
    path.write_text("- 一个列表", "utf-8")
    with pytest.raises(ActivityError, match="应为 YAML 键值"):
        activity.load(path)


# ---------------------------------------------------------------- who sees what


def test_a_district_user_sees_only_their_own_row(world, app):
    client = signed_in(app, world.users["fuling"])
    response = client.get(f"/rankings/activity?week={W47}")
    assert response.status_code == 200
    (row,) = Page(response.text).rows
    fl = by_name(expected(spec(), "district", W47))[FL]
    assert (row["unit"], row["rank"]) == (FL, 1)  # its rank among all the districts
    assert close(row["score"], fl.score)
    assert {k: c["count"] for k, c in row["cells"].items()} == fl.counts
    for other in (CS, JLP, LJ):
        assert other not in response.text
    for figure in ('data-score="65.0"', 'data-score="47.5"', f'data-unit-id="{world.districts[CS]}"'):
        assert figure not in response.text
    data = client.get(f"/api/v1/rankings/activity?week={W47}").get_json()
    (item,) = data["items"]
    assert (item["unit"], item["rank"]) == (FL, 1)
    body = client.get(f"/api/v1/rankings/activity?week={W47}").get_data(as_text=True)
    assert all(other not in body for other in (CS, JLP, LJ))
    # W48: 长寿区's user sees its rank 3 and nothing of 九龙坡区 (1) or 两江新区 (2)
    other = signed_in(app, world.users["changshou"])
    (item,) = other.get(f"/api/v1/rankings/activity?week={W48}").get_json()["items"]
    assert (item["unit"], item["rank"], item["start"]) == (CS, 3, 1)


def test_a_district_user_may_not_see_the_divisions(world, app):
    client = signed_in(app, world.users["fuling"])
    assert client.get(f"/rankings/activity?week={W47}&by=division").status_code == 403
    response = client.get(f"/api/v1/rankings/activity?week={W47}&by=division")
    assert response.status_code == 403 and D1 not in response.get_data(as_text=True)
    page = client.get(f"/rankings/activity?week={W47}").text
    assert "by=division" not in page  # no switch to the divisions' ranking


def test_a_district_user_opens_only_their_own_records(world, app):
    d, v = world.districts, world.divisions
    for user, own, foreign in (("fuling", FL, CS), ("changshou", CS, FL)):
        client = signed_in(app, world.users[user])
        base = f"/rankings/activity/records?week={W47}"
        (section,) = _records(client, f"{base}&by=district&unit={d[own]}&index=visit_in")
        assert section["count"] == HAND_W47["district"][own]["visit_in"] > 0
        for url in (
            f"{base}&by=district&unit={d[foreign]}&index=visit_in",
            f"{base}&by=district&unit={d[foreign]}",
            f"{base}&by=division&unit={v[D1]}&index=signing",
            f"{base}&by=division&unit={v[D2]}",
        ):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "活跃线索" not in response.text and "活跃项目" not in response.text


@pytest.mark.parametrize("role", ["officer", "manager"])
def test_officers_and_managers_see_every_unit(world, app, make_user, role):
    client = signed_in(app, make_user(role))
    for by in ("district", "division"):
        page = Page(client.get(f"/rankings/activity?week={W47}&by={by}").text)
        assert len(page.rows) == len(unit_ids(by))
        items = client.get(f"/api/v1/rankings/activity?week={W47}&by={by}").get_json()["items"]
        assert len(items) == len(unit_ids(by))
    (section,) = _records(client, records_url(W47, "division", world.divisions[D2], "visit_in"))
    assert section["count"] == 3


# ---------------------------------------------------------------- garbage in the URL

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("week=2026-W99", "2026 年没有第 99 周"),
        ("week=abc", "格式不对"),
        ("week=" + "9" * 5000, "格式不对"),
        ("week=2026-W47%00", "格式不对"),
        ("by=xyz", "排名对象应为区县或处室"),
        ("week=1999-W10", "年份应在"),
    ],
)
def test_a_garbage_page_url_is_told_in_chinese(world, app, query, message):
    client = signed_in(app, world.users["o1"])
    response = client.get(f"/rankings/activity?{query}")
    assert response.status_code in (200, 400), response.status_code
    assert message in response.text or (response.status_code == 400 and CHINESE.search(response.text))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("week=2026-W99&by=district&unit={FL}", "2026 年没有第 99 周"),
        ("week=abc&by=district&unit={FL}", "格式不对"),
        ("week=2026-W47&by=xyz&unit={FL}", "排名对象应为 district（区县）或 division（处室）"),
        ("week=2026-W47&by=district&unit=abc", "请指定区县或处室"),
        ("week=2026-W47&by=district", "请指定区县或处室"),
        ("week=2026-W47&by=district&unit=999999", "没有编号为 999999 的区县"),
        ("week=2026-W47&by=division&unit=999999", "没有编号为 999999 的处室"),
        ("week=2026-W47&by=district&unit=" + "9" * 40, "请指定区县或处室"),
        ("week=2026-W47&by=district&unit=-1", "请指定区县或处室"),
        ("week=2026-W47&by=district&unit={FL}&index=nope", "没有名为“nope”的分项"),
    ],
)
@pytest.mark.parametrize("user", ["o1", "fuling"])
def test_a_garbage_records_url_is_told_in_chinese(world, app, query, message, user):
    client = signed_in(app, world.users[user])
    response = client.get("/rankings/activity/records?" + query.replace("{FL}", str(world.districts[FL])))
    assert response.status_code == 400
    assert message in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("week=2026-W99", "2026 年没有第 99 周"),
        ("week=abc", "格式不对"),
        ("by=xyz", "排名对象应为 district（区县）或 division（处室）"),
        ("week=2026-W47&by=xyz", "排名对象应为"),
        ("week=" + "x" * 3000, "格式不对"),
        ("week=2027-W53", "2027 年没有第 53 周"),
    ],
)
def test_a_garbage_api_url_is_told_in_chinese(world, app, query, message):
    client = signed_in(app, world.users["o1"])
    response = client.get(f"/api/v1/rankings/activity?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_a_week_written_loosely_is_read(world, app):
    client = signed_in(app, world.users["o1"])
    items = client.get("/api/v1/rankings/activity?week=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-w47").get_json()
    assert items["week"] == W47  # ２０２６-w47, full width
    assert {i["unit"]: i["rank"] for i in items["items"]}[FL] == 1


def test_administrators_keep_the_system_not_the_figures(client, login_as):
    login_as("admin")
    for url in (
        "/rankings/activity",
        "/rankings/activity?by=division",
        "/rankings/activity/records?by=division&unit=1&week=2026-W47",
        "/api/v1/rankings/activity?week=2026-W47",
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("key", ["score", "rank", "unit", "Signing", "签约", "a-b"])
def test_a_sub_index_may_not_take_a_field_name_of_the_api(key):
    definitions = spec()
    definitions["indices"][0]["key"] = key
    with pytest.raises(ActivityError, match="key 须为小写字母开头"):
        parse(definitions)
