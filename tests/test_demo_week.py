"""One demo week, end to end: the 招商活跃指数 (page and API), the quarter's 赛马榜 and a cluster's
brief (PDF and Word) each agree with counts of the same records made here in plain SQL, written
from the definitions files' headers and the domain's rules, not through the code that computes
them."""

import io
import re
import subprocess
from datetime import date, timedelta

import pytest
from docx import Document
from sqlalchemy import text

from crm.core.timeutil import format_wan, today_local
from crm.core.weeks import parse_week, week_of
from crm.extensions import db
from tests.test_backup import app_on, cli, clone_database, demo_database

INDICES = {
    "signing": None,
    "start": None,
    "visit_out": ("拜访",),
    "visit_in": ("来访", "实地考察"),
    "events": ("推介会", "展会", "外出招商", "客商来渝考察", "签约仪式", "论坛峰会", "其他"),
    "publicity": ("新闻宣传",),
}


def _in(values) -> str:
    return "(" + ", ".join("'" + v + "'" for v in values) + ")"


# Where each kind of record belongs, by district and by division (activity.yaml's header).
DISTRICT_OF = {
    "project": "JOIN districts u ON u.id = p.district_id",
    "follow_up": "JOIN districts u ON u.id = l.intended_district_id",
    "event": "JOIN districts u ON u.id = e.district_id",
}
OWNER_DIVISION = "JOIN users o ON o.id = l.owner_id JOIN divisions u ON u.id = o.division_id"
DIVISION_OF = {
    "project": "JOIN leads l ON l.id = p.lead_id " + OWNER_DIVISION,
    "follow_up": OWNER_DIVISION,
    "event": "JOIN divisions u ON u.id = e.division_id",
}


def sql_counts(by: str, monday: date, sunday: date) -> dict[str, dict[str, int]]:
    """index key → unit name → records of the week, by the shipped activity.yaml's rules."""
    unit = DISTRICT_OF if by == "district" else DIVISION_OF
    week = "BETWEEN :m AND :s"
    queries = {
        "signing": f"SELECT u.name, count(*) FROM projects p {unit['project']} WHERE p.signed_on {week}",
        "start": (
            "SELECT u.name, count(*) FROM project_milestones m JOIN projects p ON p.id = m.project_id "
            f"{unit['project']} WHERE m.stage = '开工' AND m.actual_on {week}"
        ),
    }
    for key, kinds in INDICES.items():
        if key in ("visit_out", "visit_in"):
            queries[key] = (
                f"SELECT u.name, count(*) FROM follow_ups f JOIN leads l ON l.id = f.lead_id "
                f"{unit['follow_up']} WHERE f.kind IN {_in(kinds)} AND f.occurred_on {week}"
            )
        elif key in ("events", "publicity"):
            queries[key] = (
                f"SELECT u.name, count(*) FROM events e {unit['event']} "
                f"WHERE e.kind IN {_in(kinds)} AND e.held_on {week}"
            )
    return {
        key: dict(db.session.execute(text(sql + " GROUP BY u.name"), {"m": monday, "s": sunday}).all())
        for key, sql in queries.items()
    }


@pytest.fixture
def demo(tmp_path, tmp_path_factory):
    """A copy of the demo database (logins rehash passwords, briefs are archived: the shared one
    stays untouched), and the demo's last complete week."""
    url = clone_database(demo_database(tmp_path_factory), tmp_path, "week")
    with app_on(url, WTF_CSRF_ENABLED=False) as app:
        with app.app_context():
            yield app, week_of(today_local() - timedelta(days=7))


def logged_in(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": "lianzhao-demo"})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("by", ["district", "division"])
def test_the_activity_index_of_a_demo_week_counts_what_sql_counts(demo, by):
    app, week = demo
    monday, sunday = parse_week(week)
    expected = sql_counts(by, monday, sunday)
    assert any(any(per_unit.values()) for per_unit in expected.values()), "a demo week with no activity"
    client = logged_in(app, "manager")
    items = client.get(f"/api/v1/rankings/activity?week={week}&by={by}").get_json()["items"]
    page = client.get(f"/rankings/activity?week={week}&by={by}").text
    for item in items:
        for key in INDICES:
            assert item[key] == expected[key].get(item["unit"], 0), (item["unit"], key)
        row = re.search(rf'<tr data-unit="{re.escape(item["unit"])}"[^>]*>(.*?)</tr>', page, re.S).group(1)
        for key in INDICES:
            assert f'data-index="{key}" data-count="{item[key]}"' in row, (item["unit"], key)
    # The ranks follow the scores, ties sharing a rank.
    scores = [i["score"] for i in items if i["rank"] is not None]
    for item in items:
        if item["rank"] is not None:
            assert item["rank"] == 1 + sum(1 for s in scores if s > item["score"])


def test_a_cluster_brief_of_a_demo_week_says_what_sql_counts_in_pdf_and_word(demo, tmp_path):
    app, week = demo
    monday, sunday = parse_week(week)
    out = tmp_path / "la.pdf"
    result = cli(app, "brief", "--cluster", "轻合金", "--week", week, "--format", "both", "-o", str(out))
    assert result.exit_code == 0, result.output
    members = (
        "SELECT entry_id FROM catalogue_entry_clusters ec JOIN clusters c ON c.id = ec.cluster_id "
        "WHERE c.code = 'LA'"
    )

    def count(sql: str) -> int:
        return db.session.execute(
            text(sql.replace("{members}", members)), {"m": monday, "s": sunday}
        ).scalar()

    figures = {
        "follow_ups": count(
            "SELECT count(*) FROM follow_ups f JOIN leads l ON l.id = f.lead_id "
            "WHERE l.catalogue_entry_id IN ({members}) AND f.occurred_on BETWEEN :m AND :s"
        ),
        "site_visits": count(
            "SELECT count(*) FROM follow_ups f JOIN leads l ON l.id = f.lead_id "
            "WHERE f.kind = '实地考察' AND l.catalogue_entry_id IN ({members}) "
            "AND f.occurred_on BETWEEN :m AND :s"
        ),
        "signings": count(
            "SELECT count(*) FROM projects "
            "WHERE catalogue_entry_id IN ({members}) AND signed_on BETWEEN :m AND :s"
        ),
        "starts": count(
            "SELECT count(*) FROM project_milestones m JOIN projects p ON p.id = m.project_id "
            "WHERE m.stage = '开工' AND p.catalogue_entry_id IN ({members}) AND m.actual_on BETWEEN :m AND :s"
        ),
        # The shipped 统计口径: standing entries counted as 招商引资, not refused.
        "funds": count(
            "SELECT coalesce(sum(amount_wan), 0) FROM fund_entries e JOIN projects p ON p.id = e.project_id "
            "WHERE p.catalogue_entry_id IN ({members}) AND e.arrived_on BETWEEN :m AND :s "
            "AND e.counts_as_investment AND e.review <> '不予认定' "
            "AND e.id NOT IN (SELECT corrects_id FROM fund_entries WHERE corrects_id IS NOT NULL)"
        ),
    }
    pdf = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, check=True)
    pdf = pdf.stdout.decode()
    document = Document(io.BytesIO(out.with_suffix(".docx").read_bytes()))
    word = "\n".join(p.text for p in document.paragraphs)
    issue = re.search(r"\d{4}年第 \d+ 期", pdf).group(0)
    assert issue in word
    # Compared without white space: a line of the PDF may break between a number and its unit.
    for text_ in (re.sub(r"\s", "", pdf), re.sub(r"\s", "", word)):
        summary = text_.split("一、本周摘要")[1].split("二、需要关注")[0]
        if not any(figures.values()):
            assert "无新增线索、跟进、签约、开工、投产或资金到位记录" in summary
            continue
        funds = format_wan(figures["funds"]) if figures["funds"] else "0万元"
        said = (
            f"跟进{figures['follow_ups']}次（其中实地考察{figures['site_visits']}次）",
            f"签约项目{figures['signings']}个",
            f"开工项目{figures['starts']}个",
            f"资金到位{funds.replace(' ', '')}",
        )
        for words in said:
            assert words in summary, words


def test_the_racing_board_of_the_demo_quarter_counts_what_sql_counts(demo):
    """racing.yaml's five rankings for the quarter that holds the demo week, by district: 亿元以上
    = 协议投资额 ≥ 10 000 万元 and not terminated (the shipped 口径); 外资引资 = standing, counted,
    not refused entries from 境外 or 港澳台."""
    app, week = demo
    monday, _sunday = parse_week(week)
    quarter = (monday.month - 1) // 3
    first = date(monday.year, 3 * quarter + 1, 1)
    last = date(monday.year + (quarter == 3), (3 * quarter + 3) % 12 + 1, 1) - timedelta(days=1)
    big = "p.agreed_investment_wan >= 10000 AND p.stage <> '终止'"
    started = (
        "FROM projects p JOIN project_milestones m ON m.project_id = p.id AND m.stage = '开工' "
        f"JOIN districts d ON d.id = p.district_id WHERE {big} AND m.actual_on BETWEEN :f AND :l"
    )
    queries = {
        "big_signed": "SELECT d.name, count(*) FROM projects p JOIN districts d ON d.id = p.district_id "
        f"WHERE {big} AND p.signed_on BETWEEN :f AND :l",
        "gap_signed": "SELECT d.name, count(*) FROM projects p JOIN districts d ON d.id = p.district_id "
        "JOIN catalogue_entries c ON c.id = p.catalogue_entry_id "
        "WHERE p.stage <> '终止' AND c.action IN ('补链', '延链') AND p.signed_on BETWEEN :f AND :l",
        "big_started": f"SELECT d.name, count(*) {started}",
        "big_started_investment": f"SELECT d.name, sum(p.agreed_investment_wan) {started}",
        "foreign_funds": "SELECT d.name, sum(e.amount_wan) FROM fund_entries e "
        "JOIN projects p ON p.id = e.project_id JOIN districts d ON d.id = p.district_id "
        "WHERE e.source_region IN ('境外', '港澳台') AND e.counts_as_investment AND e.review <> '不予认定' "
        "AND e.id NOT IN (SELECT corrects_id FROM fund_entries WHERE corrects_id IS NOT NULL) "
        "AND e.arrived_on BETWEEN :f AND :l",
    }
    expected = {
        key: dict(db.session.execute(text(sql + " GROUP BY d.name"), {"f": first, "l": last}).all())
        for key, sql in queries.items()
    }
    client = logged_in(app, "manager")
    code = f"{monday.year}-Q{quarter + 1}"
    board = client.get(f"/api/v1/rankings/racing?quarter={code}").get_json()
    rows = [row for group in board["groups"] for row in group["items"]]
    assert len(rows) == 41 and board["quarter"] == code
    for row in rows:
        for key, per_district in expected.items():
            assert row["values"][key] == (per_district.get(row["district"]) or 0), (row["district"], key)
    assert any(any(per_district.values()) for per_district in expected.values()), "an empty demo quarter"
