"""Imports at scale: the preview paged and filtered with counts that add up, confirm chunk by chunk
(exactly the rows, whatever the number of chunks; a stopped run continued without duplicates; one
run at a time), SQL statements that grow with chunks not rows, keys computed as the enterprise
service computes them, and another user's save going through while a confirm runs."""

import re
import threading
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import event, func, select

from crm.audit.models import AuditLog
from crm.core.actor import acting_as
from crm.core.transaction import commit
from crm.enterprises.credit_code import check_character
from crm.enterprises.models import Enterprise
from crm.enterprises.service import create_enterprise, refresh_keys
from crm.extensions import db
from crm.imports import service
from crm.imports.models import ImportBatch
from crm.imports.service import ImportProblem, Progress, begin_import, import_chunk, run_import
from crm.industry.models import CatalogueEntry
from crm.leads.models import Lead
from tests.helpers import batch_of, upload

HEADER = "企业名称,统一社会信用代码,所属省份,主要产品,企业类别,所在区县,目录条目代码,曾用名"


def code(serial: int) -> str:
    first17 = f"91440300MA{serial:07d}"
    return first17 + check_character(first17)


def firm_line(i: int, catalogue: str = "", local: bool = False, **overrides) -> str:
    values = {
        "name": f"规模测试{i}号新材料有限公司",
        "code": code(i),
        "province": "广东省",
        "products": f"碳纤维、第{i}代复合材料",
        "kind": "本地培育库" if local else "招商目标",
        "district": "长寿区" if local else "",
        "catalogue": catalogue,
        "former": "",
        **overrides,
    }
    return ",".join(values.values())


def csv_file(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def varied_lines(count: int, codes: list[str]) -> list[str]:
    """Rows that reach every lookup: districts, catalogue codes, former names."""
    lines = []
    for i in range(count):
        lines.append(
            firm_line(
                i + 1,
                catalogue=codes[i % len(codes)] if i % 3 else "",
                local=i % 4 == 0,
                former=f"旧名规模{i}号有限公司" if i % 5 == 0 else "",
            )
        )
    return lines


@pytest.fixture
def entry_codes():
    return list(db.session.scalars(select(CatalogueEntry.code).order_by(CatalogueEntry.id).limit(40)))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _version(batch_id: int) -> int:
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id).version


def _status(batch_id: int) -> str:
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id).status


def _confirm(client, batch_id: int):
    return client.post(
        f"/imports/{batch_id}/confirm", data={"version": _version(batch_id)}, follow_redirects=True
    )


@pytest.fixture
def small_chunks(monkeypatch):
    def set_size(rows: int) -> None:
        monkeypatch.setattr(service, "CHUNK_ROWS", rows)

    return set_size


def _listed(page: str) -> list[int]:
    table = page.split('data-testid="preview"')[1].split("</table>")[0]
    return [int(n) for n in re.findall(r"<tr[^>]*>\s*<td>(\d+)</td>", table)]


def test_the_preview_is_paged_and_filtered_and_its_counts_add_up(client, login_as, make_enterprise):
    login_as("officer")
    on_file = make_enterprise(name="规模测试3号新材料有限公司", credit_code=code(3))
    make_enterprise(name="广东规模测试7号新材料股份有限公司")  # a name on file: row 9 is a duplicate
    lines = [firm_line(i) for i in range(1, 251)]
    lines[6] = firm_line(7, code="")
    lines[9] = firm_line(10, code=code(10)[:-1] + ("0" if code(10)[-1] != "0" else "1"))
    lines[19] = firm_line(20, products="x" * 4001)
    batch = batch_of(upload(client, csv_file(lines), "规模.csv"))

    page = client.get(f"/imports/{batch.id}").text
    assert "共 250 行：新建 246，更新 1，无变化 0，疑似重复 1，" in page and "有错误 2" in page
    assert _listed(page) == list(range(2, 102))  # the file's own row numbers, 100 a page
    assert "第 1 / 3 页" in page
    assert _listed(client.get(f"/imports/{batch.id}?page=3").text) == list(range(202, 252))
    assert _listed(client.get(f"/imports/{batch.id}?page=9").text) == []  # beyond the end: empty
    assert _listed(client.get(f"/imports/{batch.id}?page=abc").text) == list(range(2, 102))

    errors = client.get(f"/imports/{batch.id}?show=error").text
    assert _listed(errors) == [11, 21]
    assert "第 11 行 · 统一社会信用代码（B 列）：统一社会信用代码校验位不符" in errors
    assert "第 21 行 · 主要产品（D 列）：主要产品不能超过 4000 个字符" in errors
    updates = client.get(f"/imports/{batch.id}?show=update").text
    assert _listed(updates) == [4] and f"/enterprises/{on_file.id}" in updates
    assert _listed(client.get(f"/imports/{batch.id}?show=duplicate").text) == [8]
    # Every filter's pages list exactly the rows its count says, and together every row once.
    seen = []
    for action, expected in (
        ("create", 246),
        ("update", 1),
        ("unchanged", 0),
        ("duplicate", 1),
        ("error", 2),
    ):
        listed = []
        for number in range(1, 5):
            listed += _listed(client.get(f"/imports/{batch.id}?show={action}&page={number}").text)
        assert len(listed) == expected, action
        seen += listed
    assert sorted(seen) == list(range(2, 252))
    assert _count(Enterprise) == 2  # the preview wrote nothing


def test_a_confirm_in_several_chunks_makes_exactly_the_rows_each_traced_to_the_import(
    client, login_as, small_chunks, entry_codes
):
    user = login_as("officer")
    small_chunks(40)
    batch = batch_of(upload(client, csv_file(varied_lines(130, entry_codes)), "分批.csv"))
    assert "导入完成：新建 130 条，更新 0 条，无变化 0 条，跳过 0 条" in _confirm(client, batch.id).text
    names = set(db.session.scalars(select(Enterprise.name)))
    assert names == {f"规模测试{i}号新材料有限公司" for i in range(1, 131)}
    firm = db.session.scalar(select(Enterprise).where(Enterprise.name == "规模测试1号新材料有限公司"))
    assert (
        firm.kind == "local"
        and firm.district.name == "长寿区"
        and firm.former_names == ["旧名规模0号有限公司"]
    )
    assert len(firm.catalogue_entries) == 0
    second = db.session.scalar(select(Enterprise).where(Enterprise.name == "规模测试2号新材料有限公司"))
    assert [e.code for e in second.catalogue_entries] == [entry_codes[1]]
    # Each firm has its own insert entry by the importer; the batch's entries name every firm, by chunk.
    inserts = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "enterprises", AuditLog.action == "insert")
    ).all()
    assert len(inserts) == 130 and {e.actor_id for e in inserts} == {user.id}
    traces = db.session.scalars(
        select(AuditLog)
        .where(
            AuditLog.table_name == "import_batches",
            AuditLog.row_id == str(batch.id),
            AuditLog.action == "update",
        )
        .order_by(AuditLog.id)
    ).all()
    chunks = [t for t in traces if "imported_rows" in (t.after or {})]
    assert [t.after["imported_rows"] for t in chunks] == [40, 80, 120, 130]
    traced = [firm_id for t in chunks for firm_id in t.after["created_ids"]]
    assert sorted(traced) == sorted(db.session.scalars(select(Enterprise.id)))
    assert _status(batch.id) == "applied"
    assert Progress.of(db.session.get(ImportBatch, batch.id)).done == 130


def test_imported_firms_carry_the_keys_the_enterprise_service_computes(client, login_as, entry_codes):
    login_as("officer")
    line = firm_line(
        1, catalogue=f"{entry_codes[0]}、{entry_codes[1].lower()}", former="旧名（重庆）有限公司"
    )
    batch = batch_of(upload(client, csv_file([line]), "键.csv"))
    _confirm(client, batch.id)
    firm = db.session.scalar(select(Enterprise))
    imported = (firm.name_key, firm.alias_keys, firm.search_text, [e.code for e in firm.catalogue_entries])
    refresh_keys(firm)  # what the service's own _apply makes of the same values
    assert (
        firm.name_key,
        firm.alias_keys,
        firm.search_text,
        [e.code for e in firm.catalogue_entries],
    ) == imported
    assert firm.alias_keys.count("|") == 3  # the name and the former name


def test_a_stopped_confirm_continues_where_it_stopped_without_duplicating(
    client, login_as, small_chunks, monkeypatch
):
    login_as("officer")
    small_chunks(25)
    batch = batch_of(upload(client, csv_file([firm_line(i) for i in range(1, 101)]), "中断.csv"))
    real = service.import_chunk
    calls = {"n": 0}

    def failing_third(*args):
        calls["n"] += 1
        if calls["n"] == 3:  # the third chunk finds a problem that appeared since the preview
            raise ImportProblem("第 52 行 · 企业名称（A 列）：模拟的问题")
        return real(*args)

    monkeypatch.setattr(service, "import_chunk", failing_third)
    stopped = _confirm(client, batch.id).text
    assert "导入在处理完 50 / 100 行后停止：第 52 行 · 企业名称（A 列）：模拟的问题" in stopped
    assert "其余的行尚未导入" in stopped and 'data-testid="progress"' in stopped
    assert "上次停止的原因：第 52 行" in stopped and "继续导入其余 50 行" in stopped
    assert _count(Enterprise) == 50
    # Half imported: the mapping can no longer change (the rest would be read differently).
    refused = client.post(
        f"/imports/{batch.id}/mapping",
        data={"column-0": "", "column-3": "name", "version": _version(batch.id)},
        follow_redirects=True,
    ).text
    assert "该批次已开始导入，不能再修改列对应关系" in refused
    assert db.session.get(ImportBatch, batch.id).mapping["0"] == "name" and _count(Enterprise) == 50

    # 「逐行检查其余未导入的行」 previews the 50 rows left, from row 52 on.
    client.post(f"/imports/{batch.id}/recheck", data={"version": _version(batch.id)})
    rest = client.get(f"/imports/{batch.id}").text
    assert "共 50 行：新建 50" in rest and _listed(rest)[0] == 52

    monkeypatch.setattr(service, "import_chunk", real)
    assert "导入完成：新建 100 条" in _confirm(client, batch.id).text
    assert _count(Enterprise) == 100
    assert _count(Enterprise, Enterprise.name == "规模测试60号新材料有限公司") == 1


def test_a_confirm_out_of_time_goes_on_with_the_next_request(client, login_as, small_chunks, app):
    login_as("officer")
    small_chunks(30)
    batch = batch_of(upload(client, csv_file([firm_line(i) for i in range(1, 91)]), "限时.csv"))
    app.config["IMPORT_CONFIRM_SECONDS"] = 0  # one chunk per request
    try:
        first = _confirm(client, batch.id).text
        assert "已处理 30 / 90 行" in first and "继续导入其余 60 行" in first
        requests = 1
        while _status(batch.id) == "pending":
            _confirm(client, batch.id)
            requests += 1
            assert requests < 10
    finally:
        del app.config["IMPORT_CONFIRM_SECONDS"]
    assert requests == 3 and _count(Enterprise) == 90
    index = client.get("/imports/").text
    assert "新建 90，更新 0，无变化 0，跳过 0" in index


def test_one_run_at_a_time_and_a_dead_run_is_taken_over(client, login_as, small_chunks, monkeypatch):
    user = login_as("officer")
    small_chunks(20)
    batch = batch_of(upload(client, csv_file([firm_line(i) for i in range(1, 61)]), "接管.csv"))
    # A run that imported one chunk and then died (its worker was killed): its token stays.
    outcome = commit(lambda: begin_import(db.session.get(ImportBatch, batch.id), user, _version(batch.id)))
    rows = db.session.scalar(select(ImportBatch.rows).where(ImportBatch.id == batch.id))
    assert commit(lambda: import_chunk(batch.id, user, outcome.value, rows, {})).ok
    refused = _confirm(client, batch.id).text
    assert "该批次正在导入中（已处理 20 / 60 行）" in refused and _count(Enterprise) == 20
    # Once it has been silent for RUN_TIMEOUT, a confirm carries on from row 22.
    monkeypatch.setattr(service, "RUN_TIMEOUT", timedelta(seconds=0))
    assert "导入完成：新建 60 条" in _confirm(client, batch.id).text
    assert _count(Enterprise) == 60
    # The dead run's token no longer holds the batch.
    assert not commit(lambda: import_chunk(batch.id, user, outcome.value, rows, {})).ok


def _statements(action) -> int:
    sent = []

    def count(*_args):
        sent.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(sent)


def test_statements_grow_with_chunks_not_rows(client, login_as, make_enterprise, small_chunks, entry_codes):
    user = login_as("officer")
    small_chunks(100)
    counts = {}
    for rows in (200, 1000):
        lines = varied_lines(rows, entry_codes)
        for i in range(0, rows, 50):  # every 50th row updates a firm on file by its credit code
            make_enterprise(name=f"规模测试{i + 1}号新材料有限公司", credit_code=code(i + 1))
        batch = batch_of(upload(client, csv_file(lines), f"{rows}.csv"))
        assert _count(Enterprise) == rows // 50
        page = _statements(partial(client.get, f"/imports/{batch.id}?page=2"))
        version = _version(batch.id)
        confirm = _statements(partial(run_import, batch.id, user, version))
        assert _status(batch.id) == "applied"
        assert _count(Enterprise) == rows
        counts[rows] = (page, confirm)
        db.session.execute(AuditLog.__table__.delete())
        for firm in db.session.scalars(select(Enterprise)):
            firm.catalogue_entries = []
        db.session.flush()
        db.session.execute(Enterprise.__table__.delete())
        db.session.commit()
    (page_small, small), (page_large, large) = counts[200], counts[1000]
    assert page_large == page_small <= 10  # a page of the preview reads the same, whatever the rows
    # 8 more chunks for 800 more rows: at most 20 statements each, not one or more per row — but
    # for the 16 more rows that change a firm on file, one versioned UPDATE each (SQLAlchemy never
    # batches those: each must prove the version it read is still the row's).
    assert large - small - (1000 - 200) // 50 <= 8 * 20, counts


def test_another_users_save_goes_through_while_a_confirm_runs(
    app, client, login_as, small_chunks, monkeypatch
):
    login_as("officer")
    small_chunks(20)
    batch = batch_of(upload(client, csv_file([firm_line(i) for i in range(1, 201)]), "并发.csv"))
    real = service.import_chunk
    chunks = {"n": 0}
    started = threading.Event()
    saved = {}

    def other_user() -> None:
        with app.app_context(), acting_as("另一位招商专员"):
            started.set()
            outcome = commit(
                lambda: create_enterprise({"name": "并发保存的企业有限公司", "products": "碳纤维"})
            )
            saved["ok"] = outcome.ok and outcome.value.id
            saved["error"] = outcome.error
            db.session.remove()

    other = threading.Thread(target=other_user)

    def slow_chunk(*args):
        chunks["n"] += 1
        progress = real(*args)  # the chunk's rows are written; its transaction holds its locks
        if chunks["n"] == 2:
            other.start()  # another user saves now: on SQLite it must wait for this chunk
            started.wait(5)
        threading.Event().wait(0.2)  # chunks that hold their locks a while, back to back
        return progress

    monkeypatch.setattr(service, "import_chunk", slow_chunk)
    assert "导入完成：新建 200 条" in _confirm(client, batch.id).text
    other.join(15)
    assert saved.get("error") is None and saved.get("ok"), saved
    # It got in between two chunks (after the one it waited for), not after the whole import.
    last_chunk = db.session.scalars(select(Enterprise.id).order_by(Enterprise.id.desc()).limit(20)).all()
    assert saved["ok"] < min(last_chunk)
    assert chunks["n"] == 10 and _count(Enterprise) == 201


def test_leads_are_imported_in_chunks_too_and_a_second_import_of_them_is_skipped(
    client, login_as, make_enterprise, small_chunks
):
    officer = login_as("officer")
    small_chunks(50)
    firms = [make_enterprise(name=f"线索企业{i}有限公司", credit_code=code(900 + i)) for i in range(3)]
    lines = ["统一社会信用代码,企业名称,线索名称,来源,意向区县"]
    for i in range(120):
        firm = firms[i % 3]
        by_code = i % 2 == 0
        lines.append(
            f"{firm.credit_code if by_code else ''},{'' if by_code else firm.name},第{i}号线索,展会,长寿区"
        )
    data = ("\n".join(lines) + "\n").encode()
    batch = batch_of(upload(client, data, "线索.csv", kind="leads"))
    assert "共 120 行：新建 120" in client.get(f"/imports/{batch.id}").text
    assert "导入完成：新建 120 条" in _confirm(client, batch.id).text
    leads = db.session.scalars(select(Lead)).all()
    assert len(leads) == 120 and {lead.owner_id for lead in leads} == {officer.id}
    assert all(lead.intended_district.name == "长寿区" and len(lead.stage_changes) == 1 for lead in leads)
    again = batch_of(upload(client, data, "线索.csv", kind="leads"))
    assert "疑似重复 120" in client.get(f"/imports/{again.id}").text
    assert "跳过 120 条" in _confirm(client, again.id).text and _count(Lead) == 120
