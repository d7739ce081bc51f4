"""赛马榜: the quarterly board of the districts by group — every figure equals an independent SQL
count over projects, milestones and funds entries, every link opens exactly what was counted, the
ranks tie as competition ranks, an empty quarter ranks nobody, the file is checked at start, and a
district user sees only their own row on the page, in the workbook and in the PDF."""

import html
import io
import re
import subprocess
from contextlib import contextmanager
from copy import deepcopy
from datetime import date
from urllib.parse import urlsplit

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import Date, bindparam, event, select, text

from crm import create_app
from crm.core.ranks import competition_ranks
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.industry.service import read_districts_file
from crm.places.service import resolve_district
from crm.projects import measures
from crm.projects.funds import add_entry, review_entry
from crm.projects.models import MEASURES_KEY
from crm.projects.service import ProjectFilter, add_update
from crm.rankings import racing
from crm.rankings.racing import (
    DEFAULT_FILE,
    EXTENSION_KEY,
    Quarter,
    QuarterError,
    RacingError,
    parse_quarter,
    racing_board,
)

Q3 = Quarter(2026, 3)  # 2026-07-01 … 2026-09-30: the quarter the data is built around
CITY = "主城都市区"
NORTH_EAST = "渝东北三峡库区城镇群"
SOUTH_EAST = "渝东南武陵山区城镇群"
KEYS = ("big_signed", "gap_signed", "big_started", "big_started_investment", "foreign_funds")


def _code(action: str) -> str:
    """A catalogue entry whose 招商动作 is `action`."""
    return db.session.scalar(
        select(CatalogueEntry.code)
        .where(CatalogueEntry.action == action)
        .order_by(CatalogueEntry.code)
        .limit(1)
    )


def _money(project, user, amount, day, source, **values):
    return add_entry(
        project,
        {"amount_wan": amount, "arrived_on": day, "source_region": source, "kind": "固定资产投资", **values},
        user,
    )


def _start(project, user, day):
    add_update(project, {"stage_reached": "开工", "stage_reached_on": day, "reported_on": day}, user)


@pytest.fixture
def board_data(make_project, make_user):
    """Projects of 主城都市区 (涪陵区, 两江新区, 长寿区) and 渝东北 (万州区) around 2026-Q3, with
    starts and funds on both sides of the quarter's edges; nothing in 渝东南."""
    officer, manager = make_user("officer"), make_user("manager")
    fill, extend, strengthen = _code("补链"), _code("延链"), _code("强链")

    def project(name, district, signed, wan, code):
        return make_project(
            name=name,
            district=district,
            signed_on=date.fromisoformat(signed),
            agreed_investment_wan=wan,
            catalogue_code=code,
        )

    a = project("涪陵甲", "涪陵区", "2026-07-10", 20_000, fill)
    project("涪陵乙", "涪陵区", "2026-09-30", 10_000, strengthen)  # exactly the threshold: 亿元以上
    c = project("涪陵丙", "涪陵区", "2026-06-30", 50_000, extend)  # signed in Q2, started in Q3
    d = project("两江甲", "两江新区", "2026-07-01", 15_000, extend)
    project("两江乙", "两江新区", "2026-08-01", 12_000, strengthen)
    project("长寿甲", "长寿区", "2026-08-15", 9_999, fill)  # a gap filled, not 亿元以上
    g = project("长寿乙", "长寿区", "2026-07-01", 30_000, extend)  # terminated below
    project("长寿丙", "长寿区", "2026-10-01", 20_000, fill)  # Q4
    i = project("万州甲", "万州区", "2026-09-15", 100_000, fill)
    _start(a, officer, "2026-08-01")
    _start(c, officer, "2026-07-01")
    _start(g, officer, "2026-07-20")
    _start(i, officer, "2026-09-20")
    add_update(
        g, {"stage_reached": "终止", "termination_reason": "企业战略调整", "note": "企业撤回"}, officer
    )
    _money(a, officer, 1000, "2026-08-01", "境外")
    _money(a, officer, 500, "2026-09-30", "港澳台")
    _money(a, officer, 700, "2026-08-15", "国内省外")  # not a counted source
    _money(a, officer, 300, "2026-10-01", "境外")  # Q4
    refused = _money(a, officer, 400, "2026-08-20", "境外")
    review_entry(refused, {"review": "不予认定", "review_reason": "借款，不属投资"}, manager, 1)
    first = _money(a, officer, 250, "2026-07-15", "境外")
    _money(a, officer, 200, "2026-07-15", "境外", corrects_id=first.id, note="按银行回单核减")
    _money(a, officer, 900, "2026-07-16", "境外", counts_as_investment=False, note="本地贷款")
    _money(d, officer, 3000, "2026-09-01", "境外")
    _money(g, officer, 800, "2026-07-25", "境外")  # arrived before the termination: still counted
    db.session.commit()
    return {"a": a, "d": d, "g": g, "i": i}


# ---------------------------------------------------------------- the independent count


# What each ranking counts, in plain SQL over the tables (not through the code under test).
COUNTED = {
    "big_signed": """
        FROM projects p
        WHERE p.signed_on BETWEEN :first AND :last AND p.agreed_investment_wan >= :threshold
          AND p.stage <> '终止'""",
    "gap_signed": """
        FROM projects p JOIN catalogue_entries c ON c.id = p.catalogue_entry_id
        WHERE p.signed_on BETWEEN :first AND :last AND c.action IN ('补链', '延链') AND p.stage <> '终止'""",
    "big_started": """
        FROM projects p JOIN project_milestones m ON m.project_id = p.id AND m.stage = '开工'
        WHERE m.actual_on BETWEEN :first AND :last AND p.agreed_investment_wan >= :threshold
          AND p.stage <> '终止'""",
    "foreign_funds": """
        FROM fund_entries f JOIN projects p ON p.id = f.project_id
        WHERE f.arrived_on BETWEEN :first AND :last AND f.source_region IN ('境外', '港澳台')
          AND f.counts_as_investment = TRUE AND f.review <> '不予认定'
          AND f.id NOT IN (SELECT r.corrects_id FROM fund_entries r WHERE r.corrects_id IS NOT NULL)""",
}
COUNTED["big_started_investment"] = COUNTED["big_started"]
MEASURE = {
    "big_signed": "COUNT(*)",
    "gap_signed": "COUNT(*)",
    "big_started": "COUNT(*)",
    "big_started_investment": "SUM(p.agreed_investment_wan)",
    "foreign_funds": "SUM(f.amount_wan)",
}


def _sql(statement: str, quarter: Quarter, threshold: int = 10_000):
    query = text(statement).bindparams(bindparam("first", type_=Date), bindparam("last", type_=Date))
    params = {"first": quarter.first, "last": quarter.last}
    if ":threshold" in statement:
        params["threshold"] = threshold
    return db.session.execute(query, params).all()


def independent(key: str, quarter: Quarter, threshold: int = 10_000) -> dict[str, int]:
    """district name → the figure, counted by plain SQL written here."""
    statement = f"SELECT d.name, {MEASURE[key]} {COUNTED[key]} GROUP BY p.district_id, d.name"
    statement = statement.replace("WHERE", "JOIN districts d ON d.id = p.district_id WHERE", 1)
    return {name: int(value) for name, value in _sql(statement, quarter, threshold)}


def counted_projects(key: str, quarter: Quarter, district: str) -> set[int]:
    """The ids of the projects a project ranking counts for a district, by plain SQL."""
    rows = _sql(f"SELECT p.id, p.district_id {COUNTED[key]}", quarter)
    return {project_id for project_id, district_id in rows if district_id == resolve_district(district).id}


def _figures(board) -> dict[str, dict[str, int]]:
    """ranking key → district → value, for every district of every group on the board."""
    return {
        key: {row.district: row.cells[key].value for group in board.groups for row in group.rows}
        for key in KEYS
    }


def _group(board, name):
    return next(g for g in board.groups if g.name == name)


def _row(board, district):
    return next(row for group in board.groups for row in group.rows if row.district == district)


# ---------------------------------------------------------------- the figures and the ranks


def test_every_figure_equals_an_independent_sql_count(board_data):
    board = racing_board(Q3)
    figures = _figures(board)
    for key in KEYS:
        expected = independent(key, Q3)
        shown = {district: value for district, value in figures[key].items() if value}
        assert shown == expected, key
    # And the counts are the ones the data was built for: the quarter's edges, a terminated
    # project, a refused, a corrected and a not-counted entry, a source outside the list.
    assert {k: figures[k]["涪陵区"] for k in KEYS} == {
        "big_signed": 2,
        "gap_signed": 1,
        "big_started": 2,
        "big_started_investment": 70_000,
        "foreign_funds": 1700,
    }
    assert {k: figures[k]["长寿区"] for k in KEYS} == {
        "big_signed": 0,
        "gap_signed": 1,
        "big_started": 0,
        "big_started_investment": 0,
        "foreign_funds": 800,
    }
    assert figures["foreign_funds"]["两江新区"] == 3000 and figures["big_started"]["万州区"] == 1


def test_equal_values_share_a_rank_and_zeros_share_the_last(board_data):
    board = racing_board(Q3)
    city = _group(board, CITY)
    assert city.size == 24 and [g.size for g in board.groups] == [24, 11, 6]
    ranks = {row.district: row.cells["big_signed"].rank for row in city.rows}
    assert ranks["涪陵区"] == ranks["两江新区"] == 1  # 2 and 2
    assert ranks["长寿区"] == ranks["渝中区"] == 3  # every 0 of the group: the last rank, shared
    gap = {row.district: row.cells["gap_signed"].rank for row in city.rows}
    assert gap["涪陵区"] == gap["两江新区"] == gap["长寿区"] == 1 and gap["渝中区"] == 4
    # 综合: 25 + 20 + 20 + 20 + 15 × 1700/3000 = 93.5; 25 + 20 + 15 = 60; 20 + 15 × 800/3000 = 24.
    scores = {row.district: (row.score, row.rank) for row in city.rows}
    assert scores["涪陵区"] == (93.5, 1) and scores["两江新区"] == (60.0, 2) and scores["长寿区"] == (24.0, 3)
    assert scores["渝中区"] == (0.0, 4)
    # Rows by rank; equal ranks in the districts' order (渝中区 before 大渡口区 … as districts.yaml).
    assert [row.district for row in city.rows][:5] == ["涪陵区", "两江新区", "长寿区", "渝中区", "大渡口区"]
    assert competition_ranks({"a": 5, "b": 5, "c": 3, "d": 0}) == {"a": 1, "b": 1, "c": 3, "d": 4}
    assert competition_ranks({"a": 0, "b": 0}) == {"a": None, "b": None}


def test_a_ranking_the_whole_group_has_nothing_in_ranks_nobody_and_weighs_nothing(board_data):
    board = racing_board(Q3)
    north_east = _group(board, NORTH_EAST)
    assert north_east.ranked["foreign_funds"] is False and north_east.ranked["big_signed"] is True
    wanzhou = _row(board, "万州区")
    assert wanzhou.cells["foreign_funds"].rank is None
    assert (wanzhou.score, wanzhou.rank) == (85.0, 1)  # 25 + 20 + 20 + 20, nothing for 外资引资
    assert _row(board, "开州区").rank == 2
    south_east = _group(board, SOUTH_EAST)
    assert not south_east.overall_ranked
    assert all(row.rank is None and row.score == 0 for row in south_east.rows)


def test_an_empty_quarter_ranks_nobody_and_says_so(board_data, client, login_as):
    board = racing_board(Quarter(2024, 1))
    assert not board.has_records
    assert all(row.rank is None and row.score == 0.0 for g in board.groups for row in g.rows)
    login_as("manager")
    page = client.get("/rankings/racing?quarter=2024-Q1")
    assert page.status_code == 200
    assert "本季度无记录" in page.text and 'data-testid="no-records"' in page.text
    assert not re.search(r'data-rank="\d', page.text) and not re.search(r'data-overall-rank="\d', page.text)
    book = load_workbook(io.BytesIO(client.get("/rankings/racing.xlsx?quarter=2024-Q1").data))
    assert {row[3] for row in book["综合排名"].iter_rows(min_row=2, values_only=True)} == {"—"}
    assert "本季度无记录" in pdf_text(client.get("/rankings/racing.pdf?quarter=2024-Q1").data)


def test_the_big_project_threshold_is_the_measures_files(app, tmp_path, board_data):
    data = yaml.safe_load(measures.DEFAULT_FILE.read_text(encoding="utf-8"))
    data["counts"]["big_projects"].update(
        threshold_wan=20_000, definition="亿元以上项目 = 协议投资额不低于 20000 万元且未终止的签约项目个数。"
    )
    path = tmp_path / "measures.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = app.extensions[MEASURES_KEY]
    app.extensions[MEASURES_KEY] = measures.load(path)
    try:
        figures = _figures(racing_board(Q3))
        for key in ("big_signed", "big_started", "big_started_investment"):
            expected = independent(key, Q3, threshold=20_000)
            assert {d: v for d, v in figures[key].items() if v} == expected, key
        assert figures["big_signed"]["涪陵区"] == 1 and figures["big_signed"]["两江新区"] == 0
    finally:
        app.extensions[MEASURES_KEY] = before


def test_the_board_costs_one_query_per_ranking_whatever_the_data(board_data, make_project):
    def statements() -> int:
        sent = []
        listener = lambda *args: sent.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            racing_board(Q3)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(sent)

    db.session.expire_all()
    before = statements()
    for n, district in enumerate(("渝中区", "江北区", "南岸区", "黔江区", "武隆区", "巫山县") * 3):
        make_project(district=district, signed_on=date(2026, 8, 1 + n), agreed_investment_wan=30_000)
    db.session.expire_all()
    assert statements() == before <= len(KEYS) + 1  # + the districts, read once per request


# ---------------------------------------------------------------- the page and its links


def _links(page: str) -> list[dict]:
    found = []
    for match in re.finditer(
        r'<a href="([^"]+)" data-district="([^"]+)" data-ranking="(\w+)" '
        r'data-value="(\d+)" data-rank="(\d*)">',
        page,
    ):
        href, district, key, value, rank = match.groups()
        found.append(
            {
                "href": html.unescape(href),
                "district": district,
                "key": key,
                "value": int(value),
                "rank": int(rank) if rank else None,
            }
        )
    return found


def _listed_ids(page: str) -> set[int]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return {int(n) for n in re.findall(r'href="/projects/(\d+)"', body)}


def _source_rows(page: str) -> dict[str, int]:
    table = re.search(r'data-testid="breakdown-source">(.*?)</table>', page, re.S).group(1)
    return {
        label: int(amount)
        for label, amount in re.findall(
            r'<tr data-row="([^"]+)"><td>[^<]*</td><td class="text-end" data-funds="(\d+)"', table
        )
    }


def test_every_link_opens_exactly_what_was_counted(board_data, client, login_as):
    login_as("manager")
    page = client.get("/rankings/racing?quarter=2026-Q3")
    assert page.status_code == 200
    links = _links(page.text)
    assert len(links) == 41 * len(KEYS)  # every district of every group, every ranking
    followed = 0
    for link in links:
        if link["district"] not in ("涪陵区", "两江新区", "长寿区", "万州区", "开州区"):
            continue
        listing = client.get(link["href"])
        assert listing.status_code == 200, link
        if link["key"] == "foreign_funds":
            assert urlsplit(link["href"]).path == "/funds/report"
            sources = _source_rows(listing.text)
            assert sources["境外"] + sources["港澳台"] == link["value"], link
        else:
            assert urlsplit(link["href"]).path == "/projects/"
            ids = _listed_ids(listing.text)
            assert ids == counted_projects(link["key"], Q3, link["district"]), link
            totals = re.search(r'data-testid="totals" data-count="(\d+)" data-agreed="(\d+)"', listing.text)
            figure = int(totals.group(2)) if link["key"] == "big_started_investment" else int(totals.group(1))
            assert figure == link["value"], link
        followed += 1
    assert followed == 5 * len(KEYS)
    # The list says what the link narrowed it to.
    gap = next(x for x in links if x["district"] == "涪陵区" and x["key"] == "gap_signed")
    assert "仅含主目录条目招商动作为补链、延链的项目" in client.get(gap["href"]).text
    started = next(x for x in links if x["district"] == "涪陵区" and x["key"] == "big_started")
    assert "仅含“开工”实际日期在 2026-07-01 至 2026-09-30 之间的项目" in client.get(started["href"]).text


def test_the_page_shows_every_group_with_ranks_and_definitions(board_data, client, login_as):
    login_as("officer")
    page = client.get("/rankings/racing?quarter=2026-Q3").text
    for name in (CITY, NORTH_EAST, SOUTH_EAST):
        assert f'data-group="{name}"' in page
    assert re.search(r'<tr data-row="涪陵区">\s*<td[^>]*data-overall-rank="1"', page)
    assert 'data-district="两江新区" data-ranking="big_signed" data-value="2" data-rank="1"' in page
    assert 'data-district="涪陵区" data-ranking="big_signed" data-value="2" data-rank="1"' in page
    assert "7.00 亿元" in page  # 重大项目投资 of 涪陵区
    for ranking in racing.current().rankings:
        assert ranking.definition in html.unescape(page)
    assert racing.current().overall_definition in html.unescape(page)
    assert "亿元以上项目 = 协议投资额不低于 10000 万元" in page  # the 口径 it rests on
    assert "2026 年第三季度（2026-07-01 至 2026-09-30）" in page and "截至今日" not in page


def test_the_page_defaults_to_this_quarter_as_of_today(client, login_as):
    login_as("manager")
    page = client.get("/rankings/racing").text
    today = today_local()
    assert Quarter.of(today).title in page and "截至今日" in page
    assert ">排名<" in client.get("/").text  # in the navigation bar, the 赛马榜 a tab of 排名
    assert 'href="/rankings/racing">赛马榜' in client.get("/rankings/activity").text


@pytest.mark.parametrize(
    "garbage",
    ["2026-Q5", "2026-Q0", "abc", "1999-Q1", "2100-Q1", "Q4-2026", "2026-Q4" * 30, "２０２６-Ｑ９", "-1"],
)
def test_a_quarter_that_cannot_be_read_is_a_chinese_message_never_a_500(client, login_as, garbage):
    login_as("manager")
    page = client.get("/rankings/racing", query_string={"quarter": garbage})
    assert page.status_code == 200
    assert 'data-testid="quarter-problem"' in page.text and "已显示本季度" in page.text
    for url in ("/rankings/racing.xlsx", "/rankings/racing.pdf"):
        refused = client.get(url, query_string={"quarter": garbage})
        assert refused.status_code == 400
        assert "季度" in refused.text and ("格式不对" in refused.text or "年份应在" in refused.text)


def test_quarters_are_read_as_people_write_them():
    assert parse_quarter(" ２０２６-ｑ４ ") == Quarter(2026, 4) and parse_quarter("2026Q1").code == "2026-Q1"
    assert (Quarter(2026, 1).first, Quarter(2026, 1).last) == (date(2026, 1, 1), date(2026, 3, 31))
    assert Quarter(2024, 1).previous() == Quarter(2023, 4) and Quarter(2026, 4).title == "2026 年第四季度"
    with pytest.raises(QuarterError, match="格式不对"):
        parse_quarter("2026-4")
    with pytest.raises(QuarterError, match="2000–2099"):
        parse_quarter("1999-Q4")


# ---------------------------------------------------------------- exports


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_the_workbook_holds_each_ranking_and_the_definitions(board_data, client, login_as):
    login_as("manager")
    response = client.get("/rankings/racing.xlsx?quarter=2026-Q3")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    labels = [r.label for r in racing.current().rankings]
    assert book.sheetnames == ["综合排名", *labels, "定义"]
    overall = {row[1]: row for row in book["综合排名"].iter_rows(min_row=2, values_only=True)}
    assert len(overall) == 41
    assert overall["涪陵区"] == (CITY, "涪陵区", 93.5, 1, 24)
    assert overall["万州区"] == (NORTH_EAST, "万州区", 85, 1, 11)
    assert overall["黔江区"][3] == "—"
    for ranking in racing.current().rankings:
        rows = list(book[ranking.label].iter_rows(min_row=2, values_only=True))
        expected = independent(ranking.key, Q3)
        assert {row[1]: row[2] for row in rows if row[2]} == expected, ranking.key
    funds = list(book["外资引资"].iter_rows(values_only=True))
    assert funds[0] == ("分组", "区县", "外资引资（万元）", "组内名次", "组内区县数")
    assert funds[1][:4] == (CITY, "两江新区", 3000, 1) and funds[2][:4] == (CITY, "涪陵区", 1700, 2)
    signed = list(book["招大引强"].iter_rows(min_row=2, max_row=3, values_only=True))
    assert [row[1] for row in signed] == ["涪陵区", "两江新区"]  # tied: in the districts' order
    definitions = dict(book["定义"].iter_rows(min_row=2, values_only=True))
    assert definitions["招新引优（权重 20%）"] == racing.current().rankings[1].definition
    assert "主城都市区" in "".join(definitions) and definitions["分组：渝东南武陵山区城镇群"].startswith(
        "黔江区"
    )


def test_the_pdf_prints_the_board_and_its_definitions(board_data, client, login_as):
    login_as("officer")
    response = client.get("/rankings/racing.pdf?quarter=2026-Q3")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    words = pdf_text(response.data)
    for expected in (
        "赛马榜 · 2026 年第三季度",
        CITY,
        NORTH_EAST,
        SOUTH_EAST,
        "涪陵区",
        "93.50",
        "7.00 亿元",
        "1,700 万元",
        "招大引强",
        "外资引资",
        "本季度无记录",
        "第 1 页 / 共",
    ):
        assert expected in words, expected
    assert "来源地为境外或港澳台的实际到位资金" in words.replace("\n", "")


# ---------------------------------------------------------------- who sees what


def test_a_district_user_sees_only_their_own_row_everywhere(board_data, client, login_as):
    login_as("district", "涪陵区")
    page = client.get("/rankings/racing?quarter=2026-Q3").text
    assert "组内第 1 / 共 24" in page
    links = _links(page)
    assert {x["district"] for x in links} == {"涪陵区"} and len(links) == len(KEYS)
    assert {x["key"]: x["value"] for x in links}["foreign_funds"] == 1700
    for other in ("两江新区", "长寿区", "万州区", "渝中区", NORTH_EAST, "3,000 万元"):
        assert other not in page, other
    for link in links:  # their own links open their own lists
        assert client.get(link["href"]).status_code == 200
    book = load_workbook(io.BytesIO(client.get("/rankings/racing.xlsx?quarter=2026-Q3").data))
    for sheet in book.worksheets[:-1]:
        assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["涪陵区"], sheet.title
    everything = " ".join(
        str(v) for s in book.worksheets for row in s.iter_rows(values_only=True) for v in row
    )
    assert "两江新区" not in everything and "长寿区" not in everything
    words = pdf_text(client.get("/rankings/racing.pdf?quarter=2026-Q3").data)
    assert "涪陵区" in words and "组内第 1 / 共 24" in words
    assert "两江新区" not in words and "长寿区" not in words and "3,000" not in words


def test_another_district_sees_its_own_rank_in_its_own_group(board_data, client, login_as):
    login_as("district", "长寿区")
    page = client.get("/rankings/racing?quarter=2026-Q3").text
    assert 'data-testid="own-overall" data-rank="3"' in page and "组内第 3 / 共 24" in page
    assert "涪陵区" not in page and "1,700" not in page
    client.get("/logout")
    login_as("district", "秀山县")  # 渝东南: nothing this quarter
    page = client.get("/rankings/racing?quarter=2026-Q3").text
    assert SOUTH_EAST in page and "本季度无记录" in page and CITY not in page
    # A district on no group of the board (a database ahead of the file) is shown nothing at all.
    outside = racing_board(Q3).only(-1)
    assert outside.own and outside.groups == [] and outside.row_count == 0


def test_admins_see_no_board(client, login_as):
    login_as("admin")
    for url in ("/rankings/racing", "/rankings/racing.xlsx", "/rankings/racing.pdf"):
        assert client.get(url).status_code == 403, url
    assert "排名" not in client.get("/").text  # neither ranking in the navigation bar


# ---------------------------------------------------------------- the file


def _default() -> dict:
    return yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))


def _write(tmp_path, data) -> str:
    path = tmp_path / "racing.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_the_shipped_grouping_places_all_41_districts_once():
    names = {row["name"] for row in read_districts_file()}
    rules = racing.load()
    placed = [name for group in rules.groups for name in group.districts]
    assert len(names) == 41 and sorted(placed) == sorted(names)
    assert [len(g.districts) for g in rules.groups] == [24, 11, 6]
    assert sum(r.weight for r in rules.rankings) == 100 and rules.reviewed[0]["by"]


def _rankings(data):
    return {r["key"]: r for r in data["rankings"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["groups"][0]["districts"].append("火星区"), "区县“火星区”不认识"),
        (
            lambda d: d["groups"][1]["districts"].append("涪陵"),
            "区县“涪陵区”同时分在“主城都市区”和“渝东北三峡库区城镇群”两组",
        ),
        (lambda d: d["groups"][2]["districts"].remove("彭水县"), "下列区县没有分组：彭水苗族土家族自治县"),
        (lambda d: _rankings(d)["big_signed"].update(kind="big_everything"), "kind“big_everything”不认识"),
        (lambda d: _rankings(d)["big_signed"].update(weight=30), "各单项权重之和应为 100（现为 105）"),
        (lambda d: _rankings(d)["gap_signed"].pop("definition"), "缺少“definition”"),
        (lambda d: d["overall"].update(definition=" "), "overall 缺少“definition”"),
        (lambda d: _rankings(d)["gap_signed"].update(actions=["育链"]), "定义须写明“育链”"),
        (lambda d: _rankings(d)["foreign_funds"].update(sources=["外星"]), "sources 应列出一项或多项"),
        (lambda d: _rankings(d)["big_started"].update(definition="开工项目个数。"), "定义须写明“亿元以上”"),
        (lambda d: d.pop("reviewed"), "须有 reviewed 审核记录"),
        (lambda d: d["rankings"].append(dict(_rankings(d)["big_signed"], weight=0)), "单项的key重复"),
    ],
)
def test_a_file_that_cannot_be_used_stops_the_start_in_chinese(tmp_path, change, message):
    data = _default()
    change(data)
    with pytest.raises(RacingError, match=re.escape(message)):
        racing.load(_write(tmp_path, data))
    with pytest.raises(RacingError, match=re.escape(message)):
        create_app({"TESTING": True, "RACING_FILE": _write(tmp_path, data)})


@contextmanager
def grouping(app, path):
    before = app.extensions[EXTENSION_KEY]
    app.extensions[EXTENSION_KEY] = racing.load(path)
    try:
        yield
    finally:
        app.extensions[EXTENSION_KEY] = before


def _bureau_grouping() -> dict:
    """A grouping of the bureau's own: 涪陵 and 万州 (written as aliases) race each other, with
    other weights; everyone else in a second group."""
    data = deepcopy(_default())
    rest = [row["name"] for row in read_districts_file() if row["name"] not in ("涪陵区", "万州区")]
    data["groups"] = [{"name": "甲组", "districts": ["涪陵", "万州"]}, {"name": "乙组", "districts": rest}]
    for ranking, weight in zip(data["rankings"], (40, 10, 10, 10, 30), strict=True):
        ranking["weight"] = weight
    return data


def test_a_grouping_of_the_bureaus_own_is_read_from_racing_file(app, tmp_path, board_data, client, login_as):
    path = _write(tmp_path, _bureau_grouping())
    other = create_app({"TESTING": True, "RACING_FILE": path})
    assert [g.name for g in other.extensions[EXTENSION_KEY].groups] == ["甲组", "乙组"]
    with grouping(app, path):
        board = racing_board(Q3)
        first = _group(board, "甲组")
        assert first.size == 2 and [row.district for row in first.rows] == ["涪陵区", "万州区"]
        # 涪陵区: 40×2/2 + 10×1/1 + 10×2/2 + 10×70000/100000 + 30×1700/1700 = 97;
        # 万州区: 40×1/2 + 10×1/1 + 10×1/2 + 10×100000/100000 + 0 = 45.
        assert [(row.score, row.rank) for row in first.rows] == [(97.0, 1), (45.0, 2)]
        assert _row(board, "万州区").cells["big_signed"].rank == 2
        login_as("district", "万州区")
        page = client.get("/rankings/racing?quarter=2026-Q3").text
        assert "甲组" in page and "组内第 2 / 共 2" in page and "涪陵" not in page


# ---------------------------------------------------------------- the list's new filters


def test_the_lists_new_filters_round_trip_and_ignore_garbage(client, login_as):
    filters = ProjectFilter(
        district="涪陵区",
        actions=("补链", "延链"),
        milestone="开工",
        milestone_from=date(2026, 7, 1),
        milestone_to=date(2026, 9, 30),
    )
    assert ProjectFilter.from_args(filters.query_args()) == filters
    assert ProjectFilter.from_args({"action": "延链、补链、造链"}).actions == ("补链", "延链")
    login_as("manager")
    for args in (
        {"action": "x" * 500},
        {"milestone": "上天", "milestone_from": "2026-13-45"},
        {"milestone": "开工", "milestone_from": "垃圾", "milestone_to": "9999-99-99"},
    ):
        page = client.get("/projects/", query_string=args)
        assert page.status_code == 200, args
    assert "招商动作" not in client.get("/projects/", query_string={"action": "x"}).text


# ---------------------------------------------------------------- the API


def test_the_api_gives_the_board_with_the_same_figures(board_data, client, login_as):
    login_as("officer")
    body = client.get("/api/v1/rankings/racing?quarter=2026-Q3").get_json()
    assert body["quarter"] == "2026-Q3" and body["district"] is None
    assert [g["name"] for g in body["groups"]] == [CITY, NORTH_EAST, SOUTH_EAST]
    items = {item["district"]: item for g in body["groups"] for item in g["items"]}
    assert len(items) == 41
    for key in KEYS:
        expected = independent(key, Q3)
        assert {d: i["values"][key] for d, i in items.items() if i["values"][key]} == expected, key
    assert (items["涪陵区"]["score"], items["涪陵区"]["rank"]) == (93.5, 1)
    assert items["两江新区"]["ranks"]["big_signed"] == items["涪陵区"]["ranks"]["big_signed"] == 1
    assert items["万州区"]["ranks"]["foreign_funds"] is None
    assert body["groups"][2]["ranked"] is False


def test_the_api_is_scoped_and_refuses_what_it_cannot_read(board_data, client, login_as):
    login_as("district", "两江新区")
    body = client.get("/api/v1/rankings/racing?quarter=2026-Q3").get_json()
    assert body["district"] == "两江新区" and len(body["groups"]) == 1
    assert [i["district"] for i in body["groups"][0]["items"]] == ["两江新区"]
    assert (
        body["groups"][0]["size"] == 24 and body["groups"][0]["items"][0]["values"]["foreign_funds"] == 3000
    )
    assert "涪陵区" not in client.get("/api/v1/rankings/racing?quarter=2026-Q3").text
    refused = client.get("/api/v1/rankings/racing?quarter=2026-Q9")
    assert refused.status_code == 400 and "格式不对" in refused.get_json()["error"]
    client.get("/logout")
    login_as("admin")
    assert client.get("/api/v1/rankings/racing").status_code == 403
