"""XLSX exports: the workbook writer's layout and cell types, text that looks like a formula, rows
written as they are read, the lists' exports read in chunks with a bounded number of queries,
spooled to disk when large, audited, and readable by openpyxl and by our own import reader."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from crm.audit.models import AuditLog
from crm.core.excel import MAX_CELL_CHARS, write_xlsx, xlsx_bytes
from crm.extensions import db
from crm.imports.reader import read_table
from crm.industry.models import CatalogueEntry

COLUMNS = [
    ("名称", lambda r: r["name"], 30),
    ("金额（万元）", lambda r: r.get("amount"), 14),
    ("日期", lambda r: r.get("day"), 12),
    ("时间", lambda r: r.get("moment"), 18),
    ("比例", lambda r: r.get("rate"), 8),
    ("是否", lambda r: r.get("flag"), 6),
]


def _sheet(data: bytes, index: int = 0):
    return load_workbook(io.BytesIO(data)).worksheets[index]


def _values(data: bytes) -> list[tuple]:
    return list(_sheet(data).iter_rows(values_only=True))


def test_a_workbook_keeps_the_lists_layout_and_the_types_of_its_cells():
    rows = [
        {
            "name": "  两端有空格的名称 ",
            "amount": 123456,
            "day": date(2026, 3, 1),
            "moment": datetime(2026, 3, 1, 1, 30, tzinfo=UTC),  # stored in UTC, shown in Beijing time
            "rate": Decimal("0.25"),
            "flag": True,
        },
        {"name": '第二行 <&> "引号"', "amount": None, "rate": 1.5, "flag": False},
        {"name": "超长数字", "amount": 123456789012345678},  # beyond Excel's 15 digits: kept as text
        {"name": "1900 年以前", "day": date(1851, 1, 3), "moment": datetime(1899, 1, 1, 8, 0)},
    ]
    data = xlsx_bytes("企业库", COLUMNS, rows, extra_sheets=[("说明", [("列名", str, 20)], ["名称"])])
    sheet = _sheet(data)
    assert sheet.title == "企业库" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [header for header, _, _ in COLUMNS]
    assert all(c.font.b for c in sheet[1])
    assert sheet.column_dimensions["A"].width == 30 and sheet.column_dimensions["E"].width == 8
    first = sheet[2]
    assert first[0].value == "  两端有空格的名称 " and first[0].alignment.wrap_text
    assert first[0].alignment.vertical == "top"
    assert (first[1].value, first[1].number_format) == (123456, "#,##0")
    assert (first[2].value, first[2].number_format) == (datetime(2026, 3, 1), "yyyy-mm-dd")
    assert (first[3].value, first[3].number_format) == (datetime(2026, 3, 1, 9, 30), "yyyy-mm-dd hh:mm")
    assert (first[4].value, first[4].number_format) == (0.25, "#,##0.00")
    assert first[5].value is True
    assert _values(data)[2] == ('第二行 <&> "引号"', None, None, None, 1.5, False)
    assert _values(data)[3][:2] == ("超长数字", "123456789012345678")
    assert _values(data)[4][2:4] == ("1851-01-03", "1899-01-01 08:00")  # before Excel's calendar: text
    with zipfile.ZipFile(io.BytesIO(data)) as book:  # what file-type sniffers look for first
        assert book.namelist()[0] == "[Content_Types].xml"
    notes = _sheet(data, 1)
    assert notes.title == "说明" and [c.value for c in notes["A"]] == ["列名", "名称"]


def test_text_excel_cannot_hold_is_cleaned_not_refused():
    rows = [
        {"name": "控制\x00字符\x1b与\ufffe"},
        {"name": "长" * (MAX_CELL_CHARS + 10)},
        {"name": "", "amount": 1},
    ]
    values = _values(xlsx_bytes("表", COLUMNS, rows))
    assert values[1][0] == "控制字符与"
    assert values[2][0] == "长" * MAX_CELL_CHARS
    assert values[3][:2] == (None, 1)  # an empty text is an empty cell


def test_the_same_rows_give_the_same_bytes():
    rows = [{"name": f"企业{n}", "amount": n} for n in range(50)]
    assert xlsx_bytes("表", COLUMNS, rows) == xlsx_bytes("表", COLUMNS, iter(rows))


@pytest.mark.parametrize(
    "text", ["=1+1", '=HYPERLINK("http://example.com","点我")', "+86 123", "-1", "@SUM(A1)"]
)
def test_text_that_looks_like_a_formula_stays_text(text):
    data = xlsx_bytes("表", COLUMNS, [{"name": text}])
    cell = _sheet(data)["A2"]
    assert (cell.value, cell.data_type) == (text, "s")
    assert cell.quotePrefix  # Excel keeps it text even when someone edits the cell
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")


class _Recorder(io.BytesIO):
    """An output that notes how many rows had been produced at each write."""

    def __init__(self, produced: list[int]):
        super().__init__()
        self.produced = produced
        self.seen: list[int] = []

    def write(self, data) -> int:
        self.seen.append(self.produced[0])
        return super().write(data)


def test_rows_are_written_while_they_are_read_not_gathered_first():
    produced = [0]
    total = 20_000

    def rows():
        for number in range(total):
            produced[0] += 1
            # Digits that do not repeat, so the compressor has to give output as it goes.
            yield {"name": f"企业{number * 7919 % 100_003:06d}", "amount": number * 104_729 % 1_000_003}

    out = _Recorder(produced)
    assert write_xlsx(out, [("表", COLUMNS, rows())]) == [total]
    during = [count for count in out.seen if 0 < count < total]
    assert len(during) > 5, out.seen[:20]  # the file grew many times before the last row was read
    assert len(_values(out.getvalue())) == total + 1


def _entries(count: int) -> list[str]:
    return list(db.session.scalars(select(CatalogueEntry.code).order_by(CatalogueEntry.id).limit(count)))


def _enterprises(make_enterprise, first: int, last: int) -> None:
    codes = _entries(2)
    for number in range(first, last):
        make_enterprise(
            name=f"导出测试{number:03d}号有限公司",
            kind="local",
            district="涪陵区" if number % 2 else "长寿区",
            catalogue_codes=codes[: 1 + number % 2],
            revenue_wan=1000 + number,
            established_on="2001-05-20",
        )


def _leads(make_enterprise, make_user, make_lead, first: int, last: int) -> None:
    owner = make_user("officer")
    code = _entries(1)[0]
    for number in range(first, last):
        firm = make_enterprise(name=f"线索企业{number:03d}号有限公司")
        make_lead(
            firm,
            owner,
            title=f"导出线索{number:03d}",
            district="涪陵区",
            catalogue_code=code,
            intended_investment_wan=5000,
        )


def _projects(make_project, first: int, last: int) -> None:
    for number in range(first, last):
        make_project(name=f"导出项目{number:03d}", district="涪陵区" if number % 2 else "长寿区")


EXPORTS = {
    # kind: the export's address, and how many relationships its columns load per chunk
    "enterprises": ("/enterprises/export.xlsx", 2),
    "leads": ("/leads/export.xlsx", 4),
    "projects": ("/projects/export.xlsx", 5),  # its firm, district, entries, milestones, funds
}


def _add(kind: str, request, first: int, last: int) -> None:
    fixture = request.getfixturevalue
    if kind == "enterprises":
        _enterprises(fixture("make_enterprise"), first, last)
    elif kind == "leads":
        _leads(fixture("make_enterprise"), fixture("make_user"), fixture("make_lead"), first, last)
    else:
        _projects(fixture("make_project"), first, last)


def _export(client, url: str) -> tuple[int, list[tuple]]:
    """The number of SQL statements the export ran, and its rows read back."""
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with client.get(url) as response:
            assert response.status_code == 200
            data = response.data
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements), _values(data)


@pytest.mark.parametrize("kind", EXPORTS)
def test_an_export_reads_the_same_number_of_times_however_many_rows(kind, request, client, login_as):
    url, _ = EXPORTS[kind]
    login_as("manager")
    _add(kind, request, 0, 2)
    small, rows = _export(client, url)
    assert len(rows) == 3
    _add(kind, request, 2, 30)
    large, rows = _export(client, url)
    assert len(rows) == 31
    assert large == small, (small, large)


@pytest.mark.parametrize("kind", EXPORTS)
def test_a_long_export_is_read_in_chunks_with_each_chunks_relations_loaded_once(
    kind, request, client, login_as, monkeypatch
):
    url, relationships = EXPORTS[kind]
    login_as("manager")
    _add(kind, request, 0, 2)
    small, _ = _export(client, url)
    _add(kind, request, 2, 25)
    monkeypatch.setattr("crm.web.exports.EXPORT_CHUNK", 10)
    large, rows = _export(client, url)
    # 25 rows are 3 chunks: at most the relationships' queries of 2 more chunks, never one per row.
    assert small <= large <= small + 2 * relationships, (small, large)
    names = [row[0] for row in rows[1:]]
    assert len(names) == len(set(names)) == 25  # no row lost or repeated at a chunk's edge
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id))
    assert [entry.after["行数"] for entry in audit] == [2, 25]


def test_the_enterprise_export_writes_what_the_list_shows_with_dates_and_amounts(
    client, login_as, make_enterprise
):
    login_as("manager")
    code = _entries(1)[0]
    make_enterprise(
        name="重庆导出材料有限公司",
        kind="local",
        district="涪陵区",
        catalogue_codes=[code],
        revenue_wan=1_200_000,
        established_on="2001-05-20",
        products='=HYPERLINK("http://example.com","点我")',
        business_scope="@研发；-销售",
    )
    with client.get("/enterprises/export.xlsx") as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert "filename*=UTF-8''%E4%BC%81%E4%B8%9A%E5%BA%93.xlsx" in response.headers["Content-Disposition"]
        assert response.content_length == len(response.data)
        data = response.data
    sheet = _sheet(data)
    row = {header.value: cell for header, cell in zip(sheet[1], sheet[2], strict=True)}
    assert row["企业名称"].value == "重庆导出材料有限公司" and row["所在区县"].value == "涪陵区"
    assert row["目录条目"].value == code and row["规模"].value == "百亿级"
    assert (row["年营业收入（万元）"].value, row["年营业收入（万元）"].number_format) == (1_200_000, "#,##0")
    assert (row["成立日期"].value, row["成立日期"].number_format) == (datetime(2001, 5, 20), "yyyy-mm-dd")
    assert row["主要产品"].value.startswith("=HYPERLINK") and row["主要产品"].data_type == "s"
    assert row["主要产品"].quotePrefix and row["经营范围"].quotePrefix
    # What an officer may do with an export: import it back (our own reader, in its child process).
    table = read_table("企业库.xlsx", data, "enterprises")
    assert table.headers[0] == "企业名称" and table.rows[0][1] == "重庆导出材料有限公司"
    assert "2001-05-20" in table.rows[0]


def test_a_large_export_goes_through_a_file_on_disk_and_arrives_whole(
    client, login_as, make_enterprise, monkeypatch
):
    login_as("manager")
    _enterprises(make_enterprise, 0, 12)
    monkeypatch.setattr("crm.web.exports.SPOOL_BYTES", 1024)  # every workbook is larger than this
    with client.get("/enterprises/export.xlsx?q=导出测试") as response:
        assert response.status_code == 200 and response.content_length == len(response.data)
        rows = _values(response.data)
    assert sorted(row[0] for row in rows[1:]) == [f"导出测试{n:03d}号有限公司" for n in range(12)]


def test_lead_and_project_exports_carry_real_dates_and_amounts(
    client, login_as, make_enterprise, make_user, make_lead, make_project
):
    login_as("manager")
    _leads(make_enterprise, make_user, make_lead, 0, 1)
    make_project(name="日期项目", agreed_investment_wan=250_000)
    lead = _sheet(client.get("/leads/export.xlsx").data)
    headers = [c.value for c in lead[1]]
    amount = lead.cell(2, headers.index("意向投资（万元）") + 1)
    assert (amount.value, amount.number_format) == (5000, "#,##0")
    project = _sheet(client.get("/projects/export.xlsx").data)
    headers = [c.value for c in project[1]]
    signed = project.cell(2, headers.index("签约日期") + 1)
    assert signed.value == datetime(2026, 1, 5) and signed.number_format == "yyyy-mm-dd"
    assert project.cell(2, headers.index("协议投资额（万元）") + 1).value == 250_000


def test_an_export_longer_than_a_sheet_is_refused_in_chinese_and_not_logged(
    client, login_as, make_enterprise, monkeypatch
):
    login_as("manager")
    _enterprises(make_enterprise, 0, 3)
    monkeypatch.setattr("crm.core.excel.MAX_ROWS", 3)  # a header and two rows
    response = client.get("/enterprises/export.xlsx?q=导出测试")
    assert response.status_code == 400
    assert "超过 Excel 单表上限（2 行），请缩小筛选范围后再导出" in response.text
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "export")) is None
