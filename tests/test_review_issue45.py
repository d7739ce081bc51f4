"""Review of issues 4 and 5: odd files, forged form values, races and edge dates that each found
a 500, an English message, a silently dropped value or a mismatch before they were fixed."""

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from crm.enterprises.models import Enterprise
from crm.enterprises.service import create_enterprise
from crm.extensions import db
from crm.imports.models import ImportBatch
from crm.imports.reader import FileProblem, read_table
from crm.imports.service import apply as apply_batch
from crm.industry.models import CatalogueEntry
from crm.places.service import resolve_district
from crm.projects.models import Project, ProjectUpdate, health_sql
from crm.projects.service import (
    ProjectError,
    UpdateRace,
    add_update,
    add_update_retrying,
    edit_values,
    open_project,
    update_project,
)

SIGNED = date(2026, 1, 5)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _upload(client, data: bytes, filename: str, kind: str = "enterprises"):
    return client.post(
        "/imports/",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _batch_id(client, data: bytes, filename: str = "企业.csv") -> int:
    response = client.post(
        "/imports/",
        data={"kind": "enterprises", "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    return int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))


# ---------------------------------------------------------------- reading files


def test_blank_rows_in_a_sheet_do_not_push_its_last_rows_out_unnoticed():
    # 4995 firms after 20 blank rows: the sheet has 5016 lines, the data fits the 5000-row limit.
    rows = [
        ["企业名称", "所属省份"],
        *([[]] * 20),
        *([f"空行后企业{i}有限公司", "江苏省"] for i in range(4995)),
    ]
    table = read_table("a.xlsx", _xlsx(rows), "enterprises")
    assert len(table.rows) == 4995
    assert table.rows[-1][1] == "空行后企业4994有限公司"


def test_a_small_xlsx_that_unfolds_into_huge_text_is_refused():
    # One 4000-character text shared by every cell: a ~70 KB file, 12 million characters unfolded.
    long_text = "经" * 4000
    rows = [["企业名称", "所属省份", *(f"列{i}" for i in range(78))]]
    rows += [[f"膨胀企业{i}有限公司", "江苏省", *[long_text] * 78] for i in range(40)]
    with pytest.raises(FileProblem, match="文件内容过多"):
        read_table("a.xlsx", _xlsx(rows), "enterprises")


def test_a_semicolon_csv_whose_cells_hold_commas_is_split_on_semicolons():
    data = "\ufeff企业名称;所属省份;主要产品\n分号企业有限公司;江苏省;尼龙,改性塑料,工程塑料,薄膜,片材,纤维\n"
    table = read_table("a.csv", data.encode(), "enterprises")
    assert table.headers == ["企业名称", "所属省份", "主要产品"]
    assert table.rows == [["2", "分号企业有限公司", "江苏省", "尼龙,改性塑料,工程塑料,薄膜,片材,纤维"]]


def test_a_csv_with_old_mac_line_ends_is_read_not_refused_in_english():
    table = read_table("a.csv", "企业名称,所属省份\r回车企业有限公司,江苏省\r".encode(), "enterprises")
    assert table.rows == [["2", "回车企业有限公司", "江苏省"]]


def test_cells_beyond_the_header_are_kept_as_columns_to_map_not_dropped():
    data = "企业名称,所属省份\n错位企业,有限公司,江苏省\n".encode()
    table = read_table("a.csv", data, "enterprises")
    assert table.headers == ["企业名称", "所属省份", "第3列"]
    assert table.rows == [["2", "错位企业", "有限公司", "江苏省"]]


def test_a_control_character_anywhere_in_the_file_is_refused_by_row(client, login_as):
    login_as("manager")
    # Past the first 4 KB (where the binary check looks), in a column no text check guards.
    filler = "".join(f"企业{i},标题{i},展会\n" for i in range(400))
    data = f"企业名称,线索名称,来源,负责人\n{filler}某企业,某线索,展会,wang\x00li\n".encode()
    response = _upload(client, data, "线索.csv", kind="leads")
    assert response.status_code == 200
    assert "含有无效的控制字符" in response.text
    assert _count(ImportBatch) == 0


# ---------------------------------------------------------------- import pages


def test_a_forged_version_on_confirm_is_named_in_chinese(client, login_as):
    login_as("officer")
    batch_id = _batch_id(client, "企业名称,所属省份\n版本企业有限公司,江苏省\n".encode())
    response = client.post(f"/imports/{batch_id}/confirm", data={"version": "abc"}, follow_redirects=True)
    assert "页面版本：" in response.text and "Version" not in response.text
    assert _count(Enterprise) == 0


def test_cancelling_an_imported_batch_says_it_cannot(client, login_as):
    login_as("officer")
    batch_id = _batch_id(client, "企业名称,所属省份\n取消企业有限公司,江苏省\n".encode())
    version = db.session.get(ImportBatch, batch_id).version
    client.post(f"/imports/{batch_id}/confirm", data={"version": version})
    response = client.post(f"/imports/{batch_id}/cancel", data={}, follow_redirects=True)
    assert "该批次已导入，不能取消" in response.text
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch_id).status == "applied"
    assert _count(Enterprise) == 1


def test_a_confirm_that_loses_the_race_writes_no_row_before_failing(client, login_as):
    user = login_as("officer")
    batch_id = _batch_id(client, "企业名称,所属省份\n竞争企业有限公司,江苏省\n".encode())
    batch = db.session.get(ImportBatch, batch_id)
    seen = batch.version
    # Another request confirmed it meanwhile: the version this session holds is no longer the row's.
    set_committed_value(batch, "version", seen + 1)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with pytest.raises(StaleDataError):
            apply_batch(batch, user, seen + 1)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    db.session.rollback()
    # The batch is claimed before any row is written: the loser never sent an INSERT.
    assert not [s for s in statements if s.startswith("INSERT INTO enterprises")]
    assert _count(Enterprise) == 0


def test_a_racing_confirm_gets_a_chinese_message_not_a_500(client, login_as, monkeypatch):
    login_as("officer")
    batch_id = _batch_id(client, "企业名称,所属省份\n双击企业有限公司,江苏省\n".encode())
    version = db.session.get(ImportBatch, batch_id).version

    def raced(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'import_batches' expected to update 1 row(s)")

    monkeypatch.setattr("crm.web.imports.apply", raced)
    response = client.post(f"/imports/{batch_id}/confirm", data={"version": version}, follow_redirects=True)
    assert response.status_code == 200
    assert "本次操作未生效" in response.text
    assert _count(Enterprise) == 0


# ---------------------------------------------------------------- projects


@pytest.fixture
def project():
    firm = create_enterprise({"name": "评审项目企业有限公司"}, confirm_duplicate=True)
    made = open_project(
        name="评审测试项目",
        enterprise=firm,
        lead_id=None,
        district_id=resolve_district("涪陵区").id,
        catalogue_entry=db.session.scalar(select(CatalogueEntry).order_by(CatalogueEntry.id)),
        agreed_investment_wan=100_000,
        signed_on=SIGNED,
    )
    db.session.commit()
    return made


def test_forged_hidden_fields_are_named_in_chinese(project, client, login_as):
    login_as("district", "涪陵区")
    response = client.post(
        f"/projects/{project.id}/updates",
        data={"note": "进展", "corrects_id": "1" * 13},
        follow_redirects=True,
    )
    assert "更正的更新编号：" in response.text and "Corrects Id" not in response.text
    client.get("/logout")
    login_as("officer")
    response = client.post(f"/projects/{project.id}/edit", data={"version": "abc"})
    assert "页面版本：" in response.text and "Version" not in response.text
    assert _count(ProjectUpdate) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("agreed_investment_wan", "1.5", "协议投资额（万元）应为整数"),
        ("expected_jobs", "10.4", "预计就业（人）应为整数"),
        ("district", "", "请选择落地区县"),
    ],
)
def test_the_bureau_edit_refuses_rather_than_rounds(project, field, value, message):
    values = {**edit_values(project), field: value}
    with pytest.raises(ProjectError, match=re.escape(message)):
        update_project(project, values, project.version)
    db.session.rollback()
    assert project.agreed_investment_wan == 100_000 and project.expected_jobs is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"funds_wan": 0.5}, "应为整数"),
        ({"funds_wan": "NaN"}, "本月到位资金（万元）应为数字"),
        ({"stage_reached": ["注册"]}, "达到阶段应为文本"),
    ],
)
def test_the_update_api_names_the_wrong_value(project, client, login_as, body, message):
    login_as("district", "涪陵区")
    response = client.post(f"/api/v1/projects/{project.id}/updates", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert _count(ProjectUpdate) == 0


def test_an_update_racing_another_save_is_retried_not_a_500(project, make_user):
    reporter = make_user("district", "涪陵区")
    stale = db.session.get(Project, project.id)
    # Another save moved the project on after this request read it.
    set_committed_value(stale, "version", stale.version + 5)
    with pytest.raises(UpdateRace):
        add_update(stale, {"funds_wan": "300"}, reporter, today=date(2026, 2, 1))
    db.session.rollback()
    assert _count(ProjectUpdate) == 0

    reads = []

    def load():
        reads.append(1)
        fresh = db.session.get(Project, project.id)
        if len(reads) == 1:
            set_committed_value(fresh, "version", fresh.version + 5)
        return fresh

    add_update_retrying(load, {"funds_wan": "300"}, reporter)
    db.session.commit()
    assert len(reads) == 2
    assert _count(ProjectUpdate) == 1
    assert db.session.get(Project, project.id).funds_in_place_wan == 300


@pytest.mark.parametrize(
    ("last_update", "planned", "today"),
    [
        (None, None, SIGNED + timedelta(days=13)),
        (None, None, SIGNED + timedelta(days=14)),  # exactly 14 days: stalled in both
        (date(2026, 2, 1), None, date(2026, 2, 15)),
        (date(2026, 2, 1), None, date(2026, 2, 14)),
        (date(2026, 2, 1), date(2026, 2, 10), date(2026, 2, 10)),  # planned today: not yet late
        (date(2026, 2, 1), date(2026, 2, 10), date(2026, 2, 11)),
        (None, date(2026, 1, 6), date(2026, 1, 7)),
    ],
)
def test_sql_health_agrees_with_the_model_on_edge_dates(project, make_user, last_update, planned, today):
    if planned:
        update_project(
            project, {**edit_values(project), "planned_供地": planned.isoformat()}, project.version
        )
    if last_update:
        add_update(
            project, {"reported_on": last_update.isoformat(), "note": "进展"}, make_user(), today=today
        )
    db.session.commit()
    in_sql = db.session.scalar(select(health_sql(today)).where(Project.id == project.id))
    assert in_sql == project.health(today)
