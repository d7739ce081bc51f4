"""Importing 招商活动: the template, the preview with every problem of a row in Chinese, the firms
met named by name or credit code, probable duplicates, confirm, and district users importing their
own district's events (and nothing else) through their own upload page."""

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.core.timeutil import today_local
from crm.enterprises.credit_code import check_character
from crm.events.models import Event, EventEnterprise
from crm.events.service import create_event
from crm.extensions import db
from crm.imports.checks import met_names
from crm.imports.models import ImportBatch
from crm.places.service import active_divisions
from tests.helpers import batch_of, upload, xlsx

DAY = (today_local() - timedelta(days=7)).isoformat()
HEADER = [
    "活动类型",
    "活动名称",
    "开始日期",
    "结束日期",
    "地点",
    "主办处室",
    "主办区县",
    "参加人员",
    "成效",
    "接洽企业",
]
CODE = "91500000MA5U7G8X1" + check_character("91500000MA5U7G8X1")


def row(**cells) -> list[str]:
    values = {
        "活动类型": "推介会",
        "活动名称": "先进材料产业推介会",
        "开始日期": DAY,
        "主办处室": active_divisions()[0].name,
        **cells,
    }
    return [values.get(header, "") for header in HEADER]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def confirm(client, batch: ImportBatch):
    db.session.refresh(batch)
    return client.post(f"/imports/{batch.id}/confirm", data={"version": batch.version}, follow_redirects=True)


def _events_upload(client, rows, **kwargs):
    return client.post(
        "/imports/events",
        data={"kind": "events", "file": (io.BytesIO(xlsx([HEADER, *rows])), "活动.xlsx")},
        content_type="multipart/form-data",
        **kwargs,
    )


def test_met_names_split_on_the_separators_people_use():
    assert met_names("甲公司、乙公司；丙公司;丁公司\n甲公司\r\n 戊公司 ") == [
        "甲公司",
        "乙公司",
        "丙公司",
        "丁公司",
        "戊公司",
    ]
    assert met_names("") == []


def test_the_template_downloads_with_our_headers_and_the_divisions(client, login_as):
    login_as("officer")
    response = client.get("/imports/template/events.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))] == HEADER
    notes = {r[0]: r[3] for r in book["填写说明"].iter_rows(min_row=2, values_only=True)}
    assert all(d.name in notes["主办处室"] for d in active_divisions())
    assert "顿号" in notes["接洽企业"]


def test_events_are_previewed_then_imported_with_the_firms_met(client, login_as, make_enterprise):
    login_as("officer")
    by_code = make_enterprise(name="代码接洽企业有限公司", credit_code=CODE)
    by_name = make_enterprise(name="重庆名称接洽新材料股份有限公司")
    rows = [
        row(接洽企业=f"{CODE.lower()}、名称接洽新材料有限公司", 结束日期=DAY, 成效="达成意向"),
        row(活动类型="展会", 活动名称="参加新材料博览会", 主办处室="", 主办区县="大渡口"),
    ]
    batch = batch_of(upload(client, xlsx([HEADER, *rows]), "活动.xlsx", kind="events"))
    assert set(batch.mapping.values()) == {
        "kind",
        "title",
        "held_on",
        "ends_on",
        "place",
        "division",
        "district",
        "participants",
        "outcome",
        "enterprises",
    }
    page = client.get(f"/imports/{batch.id}").text
    assert "新建 2" in page and "有错误 0" in page and "接洽企业 2 家" in page
    assert _count(Event) == 0  # the preview writes nothing
    assert "导入完成：新建 2 条" in confirm(client, batch).text
    fair, promotion = db.session.scalars(select(Event).order_by(Event.kind)).all()
    assert fair.district.name == "大渡口区" and fair.division_id is None and fair.met == []
    assert promotion.division.name == active_divisions()[0].name and promotion.outcome == "达成意向"
    assert [link.enterprise_id for link in promotion.met] == [by_code.id, by_name.id]
    assert promotion.created_by.role == "officer"


def test_every_problem_of_a_row_is_listed_and_nothing_is_imported(client, login_as, make_enterprise):
    login_as("officer")
    make_enterprise(name="华峰铝业科技有限公司")
    make_enterprise(name="华峰铝业科技（重庆）有限公司", confirm_duplicate=True)
    future = (today_local() + timedelta(days=3)).isoformat()
    rows = [
        row(活动名称="正常的一行"),
        row(
            活动类型="聚会",
            开始日期=future,
            主办区县="涪陵区",
            接洽企业="不存在企业有限公司；91500000MA5U7G8X10",
        ),
        row(活动名称="重名企业", 接洽企业="华峰铝业科技有限公司"),
        row(活动名称="x", 开始日期="2026-13-45", 主办处室="不存在的处室"),
    ]
    batch = batch_of(upload(client, xlsx([HEADER, *rows]), "活动.xlsx", kind="events"))
    page = client.get(f"/imports/{batch.id}?show=error").text
    assert "有错误 3" in page
    assert "第 3 行 · 活动类型（A 列）：请选择活动类型" in page
    assert "第 3 行 · 开始日期（C 列）：开始日期不能晚于今天" in page
    assert "第 3 行 · 主办单位（主办处室或主办区县）：请选择主办单位：一个处室，或一个区县（二选一）" in page
    assert "第 3 行 · 接洽企业（J 列）：企业库中没有“不存在企业有限公司”" in page
    assert "企业库中没有统一社会信用代码为 91500000MA5U7G8X10 的企业" in page
    assert "第 4 行 · 接洽企业（J 列）：“华峰铝业科技有限公司”对应多家企业，请填写统一社会信用代码" in page
    assert "第 5 行 · 活动名称（B 列）：请填写活动名称（至少 2 个字）" in page
    assert "第 5 行 · 开始日期（C 列）：开始日期“2026-13-45”不是有效日期" in page
    assert "第 5 行 · 主办处室（F 列）：未知的处室“不存在的处室”" in page
    assert "有 3 行存在问题" in confirm(client, batch).text
    assert _count(Event) == 0


def test_probable_duplicates_are_skipped_unless_asked_and_repeats_in_a_file_are_errors(
    client, login_as, make_user
):
    officer = login_as("officer")
    on_file = create_event(
        {
            "kind": "推介会",
            "title": "先进材料产业推介会",
            "held_on": DAY,
            "division": active_divisions()[0].name,
        },
        officer,
    )
    db.session.commit()
    batch = batch_of(
        upload(client, xlsx([HEADER, row(), row(活动名称="新的活动")]), "活动.xlsx", kind="events")
    )
    page = client.get(f"/imports/{batch.id}").text
    assert "疑似重复 1" in page and f"已有同名、同日、同主办单位的活动（编号 {on_file.id}）" in page
    assert f'href="/events/{on_file.id}"' in page and "将跳过" in page
    done = confirm(client, batch).text
    assert "新建 1 条" in done and "跳过 1 条" in done
    assert _count(Event) == 2
    # Asked to create them anyway.
    again = batch_of(upload(client, xlsx([HEADER, row()]), "活动.xlsx", kind="events"))
    client.post(
        f"/imports/{again.id}/mapping",
        data={
            "version": again.version,
            "create_duplicates": "y",
            **{f"column-{i}": key for i, key in again.mapping.items()},
        },
    )
    assert "新建 1 条" in confirm(client, again).text and _count(Event) == 3
    # The same event twice in one file.
    twice = batch_of(
        upload(client, xlsx([HEADER, row(活动名称="两次"), row(活动名称="两次")]), "a.xlsx", kind="events")
    )
    assert "与第 2 行是同一活动" in client.get(f"/imports/{twice.id}").text
    assert _count(Event) == 3


def test_a_district_user_imports_their_districts_events_only(client, login_as, make_user, make_enterprise):
    user = login_as("district", "涪陵区")
    ours = make_enterprise(name="甲本地接洽企业有限公司", kind="local", district="涪陵区")
    make_enterprise(name="乙外区接洽企业有限公司", kind="local", district="长寿区")
    assert client.get("/imports/").status_code == 403  # the page of every kind is the bureau's
    assert client.get("/imports/events").status_code == 200
    assert client.get("/imports/template/events.xlsx").status_code == 200
    assert client.get("/imports/template/enterprises.xlsx").status_code == 403
    # The form offers events only: a forged kind is refused, nothing kept.
    forged = client.post(
        "/imports/events",
        data={"kind": "enterprises", "file": (io.BytesIO(xlsx([["企业名称"], ["甲有限公司"]])), "e.xlsx")},
        content_type="multipart/form-data",
    )
    assert forged.status_code == 200 and "导入内容" in forged.text
    assert db.session.scalar(select(func.count()).where(ImportBatch.kind == "enterprises")) == 0
    batch = batch_of(
        _events_upload(
            client,
            [
                row(主办处室="", 接洽企业="甲本地接洽企业有限公司"),
                row(活动名称="写了别的区县", 主办处室="", 主办区县="长寿区"),
                row(活动名称="写了处室"),
                row(活动名称="别区的企业", 主办处室="", 接洽企业="乙外区接洽企业有限公司"),
            ],
        )
    )
    page = client.get(f"/imports/{batch.id}?show=error").text
    assert "区县专员只能导入本区县（涪陵区）主办的活动" in page
    assert "区县专员导入的活动由本区县主办，请不要填写主办处室" in page
    assert "企业库中没有“乙外区接洽企业有限公司”" in page
    assert 'href="/imports/events"' in page  # back to their own upload page
    # Without the refused rows, the file imports as the district's events.
    good = batch_of(_events_upload(client, [row(主办处室="", 接洽企业="甲本地接洽企业有限公司")]))
    assert "新建 1 条" in confirm(client, good).text
    event = db.session.scalar(select(Event).where(Event.created_by_id == user.id))
    assert event.district_id == user.district_id and event.division_id is None
    assert [link.enterprise_id for link in event.met] == [ours.id]
    assert _count(EventEnterprise) == 1


def test_batches_stay_private_and_district_users_reach_no_other_kind(client, login_as, make_user):
    login_as("officer")
    enterprise_batch = batch_of(upload(client, xlsx([["企业名称"], ["甲有限公司"]])))
    events_batch = batch_of(upload(client, xlsx([HEADER, row()]), "活动.xlsx", kind="events"))
    client.get("/logout")
    login_as("district", "涪陵区")
    assert client.get(f"/imports/{enterprise_batch.id}").status_code == 403
    assert client.get(f"/imports/{events_batch.id}").status_code == 404
    assert client.post(f"/imports/{events_batch.id}/confirm", data={"version": 1}).status_code == 404
    assert client.post(f"/imports/{events_batch.id}/cancel", data={"version": 1}).status_code == 404
    client.get("/logout")
    login_as("district", "长寿区")
    mine = batch_of(_events_upload(client, [row(主办处室="")]))
    client.get("/logout")
    login_as("district", "涪陵区")
    assert client.get(f"/imports/{mine.id}").status_code == 404
    assert _count(Event) == 0
