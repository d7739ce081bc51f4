"""督办事项: the service's rules (fields and their Chinese messages, who may raise, work, steer and
reply, append-only replies, versions), the lights for a day in Python and in SQL and the counts
built on them, the notifications, the pages and the API, two districts' scope on every route, and
the brief's warnings — each the same number a manager sees on the list."""

import io
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from crm.audit.listeners import AppendOnlyError
from crm.auth.tokens import create_token
from crm.core.timeutil import SHANGHAI, today_local, utcnow
from crm.extensions import db
from crm.inbox.models import ASSIGNED, KINDS, REPLY, Notification
from crm.inbox.service import save_settings
from crm.industry.models import CatalogueEntry
from crm.places.models import Division
from crm.places.service import resolve_district
from crm.projects.service import add_update
from crm.supervision.items import (
    ItemConflict,
    ItemError,
    ItemFilter,
    cancel_item,
    change_item,
    close_item,
    create_item,
    item_light,
    item_query,
    light_counts,
    light_sql,
    may_raise_item,
    open_on,
    reply_to,
    take_on,
    unit_counts,
    unit_key,
    validate,
)
from crm.supervision.models import Item, ItemReply, ItemStatus
from crm.supervision.rules import GREEN, RED, YELLOW, current
from reports.figures import Scope, gather

DAY = date(2026, 3, 2)  # a fixed "today" for the checks that take one
LA_ENTRY = "NF-AL-01"  # 轻合金 (cluster LA)


def form(**changes) -> dict:
    """A valid item as a form or an API body sends it; `changes` replace fields."""
    values = {
        "description": "二期用电负荷 2 万千伏安，需新建 110 千伏变电站",
        "category": "用能",
        "deadline": (today_local() + timedelta(days=10)).isoformat(),
        "responsible": "产业招商一处",
    }
    values.update(changes)
    return values


def division(name: str) -> Division:
    return db.session.scalar(select(Division).where(Division.name == name))


def raise_item(project, by, **changes) -> Item:
    item = create_item(project, form(**changes), by)
    db.session.commit()
    return item


def set_columns(item: Item, **values) -> None:
    """Move an item where the service cannot (a deadline already past, a day it was raised or
    closed), as time would have."""
    row = db.session.get(Item, item.id)
    for key, value in values.items():
        setattr(row, key, value)
    db.session.commit()


def replies_of(item_id: int) -> list[ItemReply]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(ItemReply).where(ItemReply.item_id == item_id).order_by(ItemReply.id))
    )


def fresh(item_id: int) -> Item:
    db.session.expire_all()
    return db.session.get(Item, item_id)


def notified(kind: str, item: Item) -> set[int]:
    """The users told `kind` about `item`."""
    db.session.expire_all()
    stmt = select(Notification.user_id).where(
        Notification.kind == kind, Notification.url == f"/items/{item.id}"
    )
    return set(db.session.scalars(stmt))


@pytest.fixture
def people(make_user, make_project):
    """The units' people and a project in each of two districts."""
    return SimpleNamespace(
        fuling=make_user("district", "涪陵区", display_name="涪陵专员"),
        fuling2=make_user("district", "涪陵区", display_name="涪陵专员二"),
        changshou=make_user("district", "长寿区", display_name="长寿专员"),
        one=make_user("officer", division_name="产业招商一处", display_name="一处专员"),
        one_b=make_user("officer", division_name="产业招商一处", display_name="一处专员二"),
        one_head=make_user("manager", division_name="产业招商一处", display_name="一处处长"),
        two=make_user("officer", division_name="产业招商二处", display_name="二处专员"),
        loose=make_user("officer", display_name="未分处室专员"),
        manager=make_user("manager", division_name="综合协调处", display_name="协调处处长"),
        admin=make_user("admin"),
        p_fuling=make_project(name="涪陵铝材项目", district="涪陵区"),
        p_changshou=make_project(name="长寿化工项目", district="长寿区"),
    )


def bearer(user) -> dict:
    issued = create_token(user, "测试令牌")
    db.session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def list_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'<tr data-item="(\d+)">', html)}


def shown_total(html: str) -> int:
    return int(re.search(r'id="item-count" data-count="(\d+)"', html).group(1))


def shown_lights(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-light-count="(\w+)">(\d+)</a>', html)}


def unit_rows(html: str) -> dict[str, dict]:
    """The per-unit table: name → its link's query, and open/red/yellow/green/closed/cancelled."""
    table = re.search(r'data-testid="unit-counts">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for name, body in re.findall(r'<tr data-unit="([^"]*)">(.*?)</tr>', table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        closed = re.match(r"(\d+)", cells[5]).group(1)
        rows[unescape(name)] = {
            "link": unescape(re.search(r'href="([^"]+)"', body).group(1)),
            "red_link": unescape(m.group(1))
            if (m := re.search(r'class="text-danger fw-bold" href="([^"]+)"', body))
            else None,
            "open": int(cells[1]),
            "red": int(cells[2]),
            "yellow": int(cells[3]),
            "green": int(cells[4]),
            "closed": int(closed),
            "cancelled": int(cells[6]),
        }
    return rows


def messages_beside(html: str, field: str) -> list[str]:
    """The messages printed right after the form control named `field` (the `field` macro)."""
    control = re.search(
        rf'<(textarea|select)[^>]*\bid="{field}"[^>]*>.*?</\1>|<input[^>]*\bid="{field}"[^>]*>', html, re.S
    )
    assert control, f"no control {field}"
    after, found = html[control.end() :], []
    while message := re.match(r'\s*<div class="invalid-feedback d-block">(.*?)</div>', after, re.S):
        found.append(unescape(message.group(1)))
        after = after[message.end() :]
    return found


# ================================================================ 1. the service's rules


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"description": ""}, "description", "请填写事项内容（至少 2 个字）"),
        ({"description": "  "}, "description", "请填写事项内容（至少 2 个字）"),
        ({"description": "电" * 2001}, "description", "事项内容不能超过 2000 个字符（现为 2001 个）"),
        ({"description": "用电\x07负荷"}, "description", "事项内容包含无效的控制字符"),
        ({"description": 42}, "description", "事项内容应为文本"),
        ({"category": "交通"}, "category", "请选择事项类别：用地、用能、审批、融资、人才、其他"),
        ({"category": None}, "category", "请选择事项类别：用地、用能、审批、融资、人才、其他"),
        ({"deadline": ""}, "deadline", "请填写办理时限（如 2026-12-31）"),
        ({"deadline": "2026-13-45"}, "deadline", "办理时限“2026-13-45”不是有效日期（格式：2026-12-01）"),
        ({"deadline": "2026-03-01"}, "deadline", "办理时限不能早于今天"),
        ({"deadline": "2028-03-02"}, "deadline", "办理时限不能超过两年，请检查年份"),
        ({"responsible": ""}, "responsible", "请选择责任单位：一个处室、一个区县，或填写其他部门的名称"),
        (
            {"responsible": "XX区"},
            "responsible",
            "未知的处室或区县：“XX区”。其他部门请写全称（如 市规划自然资源局）",
        ),
        ({"responsible": "产业招商九处"}, "responsible", "未知的处室或区县：“产业招商九处”"),
        ({"responsible": 7}, "responsible", "责任单位应为文本"),
        (
            {"responsible": "产业招商一处", "department": "市规划自然资源局"},
            "responsible",
            "责任单位请选择一个处室或区县，或填写其他部门，二选一",
        ),
    ],
)
def test_each_field_is_refused_in_chinese_beside_itself(people, changes, field, message):
    with pytest.raises(ItemError) as refused:
        validate(form(**changes), today=DAY)
    assert (field, message) in [(f, m[: len(message)]) for f, m in refused.value.problems]
    assert refused.value.problems[0][0] == field


def test_every_bad_field_is_named_at_once_and_the_deadline_window_is_inclusive(people):
    with pytest.raises(ItemError) as refused:
        validate({"description": "", "category": "x", "deadline": "", "responsible": ""}, today=DAY)
    assert [f for f, _ in refused.value.problems] == ["description", "category", "deadline", "responsible"]
    assert validate(form(deadline=DAY.isoformat()), today=DAY).deadline == DAY
    assert validate(form(deadline="2028-03-01"), today=DAY).deadline == date(2028, 3, 1)  # 730 days


@pytest.mark.parametrize(
    ("changes", "unit"),
    [
        ({"responsible": "产业招商一处"}, ("division", "产业招商一处")),
        ({"responsible": " 外资招商处 "}, ("division", "外资招商处")),
        ({"responsible": "长寿区"}, ("district", "长寿区")),
        ({"responsible": "秀山县"}, ("district", "秀山土家族苗族自治县")),
        ({"responsible": "重庆高新区"}, ("district", "西部科学城重庆高新区")),
        ({"responsible": "市规划自然资源局"}, ("department", "市规划自然资源局")),
        ({"responsible": "", "department": "国网重庆市电力公司"}, ("department", "国网重庆市电力公司")),
        ({"responsible": "", "department": "两江新区管委会"}, ("department", "两江新区管委会")),
    ],
)
def test_the_responsible_unit_is_a_division_a_district_by_name_or_alias_or_a_department(
    people, changes, unit
):
    data = validate(form(**changes), today=DAY)
    kind, name = unit
    if kind == "division":
        assert (data.division_id, data.district_id, data.department) == (division(name).id, None, None)
    elif kind == "district":
        assert (data.division_id, data.district_id, data.department) == (
            None,
            resolve_district(name).id,
            None,
        )
    else:
        assert (data.division_id, data.district_id, data.department) == (None, None, name)


def test_who_may_raise_an_item(people):
    for user in (people.one, people.manager, people.loose):
        assert raise_item(people.p_changshou, user).created_by_id == user.id
    assert raise_item(people.p_fuling, people.fuling).status == ItemStatus.OPEN
    for user, project in (
        (people.fuling, people.p_changshou),
        (people.changshou, people.p_fuling),
        (people.admin, people.p_fuling),
    ):
        with pytest.raises(ItemError, match="您不能为该项目提出督办事项"):
            create_item(project, form(), user)
        db.session.rollback()
    assert db.session.scalar(select(func.count(Item.id))) == 4


def test_an_item_from_another_projects_update_is_refused(people):
    update = add_update(people.p_changshou, {"issues": "用地指标不足"}, people.changshou)
    db.session.commit()
    with pytest.raises(ItemError, match="该进展不属于本项目"):
        create_item(people.p_fuling, form(), people.one, update)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_a_divisions_people_and_managers_work_its_item_others_do_not(people):
    def item():
        return raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")

    for outsider in (people.two, people.loose, people.fuling, people.changshou):
        target = item()
        with pytest.raises(ItemError, match="只有责任单位（或处室负责人）可以办理该事项"):
            take_on(target, outsider)
        db.session.rollback()
        with pytest.raises(ItemError, match="只有责任单位（或处室负责人）可以办结该事项"):
            close_item(target, "已解决", outsider)
        db.session.rollback()
        assert fresh(target.id).status == ItemStatus.OPEN and replies_of(target.id) == []
    for worker in (people.one, people.one_head, people.manager):
        target = item()
        take_on(target, worker)
        close_item(target, "供电公司已批复接入方案", worker)
        db.session.commit()
        assert fresh(target.id).status == ItemStatus.CLOSED
        assert [r.kind for r in replies_of(target.id)] == ["开始办理", "办结"]


def test_a_districts_staff_work_the_item_given_to_it_not_the_projects_district(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="长寿区")
    for outsider in (people.fuling, people.fuling2, people.one):
        with pytest.raises(ItemError, match="只有责任单位"):
            take_on(target, outsider)
        db.session.rollback()
    take_on(target, people.changshou, body="已协调")
    close_item(target, "长寿区已落实配套用地", people.changshou)
    db.session.commit()
    assert fresh(target.id).result == "长寿区已落实配套用地"


def test_another_departments_item_is_closed_by_whoever_raised_it_or_a_manager(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="市规划自然资源局")
    for outsider in (people.fuling2, people.one, people.changshou):
        with pytest.raises(ItemError, match="只有责任单位"):
            close_item(target, "已办", outsider)
        db.session.rollback()
    close_item(target, "规划局答复：已调整用地性质", people.fuling)
    db.session.commit()
    assert fresh(target.id).status == ItemStatus.CLOSED
    other = raise_item(people.p_fuling, people.fuling, responsible="市规划自然资源局")
    close_item(other, "局长协调会已解决", people.manager)
    db.session.commit()
    assert fresh(other.id).status == ItemStatus.CLOSED


def test_only_the_raiser_and_managers_change_or_withdraw(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    for outsider in (people.one, people.two, people.fuling2, people.changshou):
        with pytest.raises(ItemError, match="只有提出人或处室负责人可以撤销该事项"):
            cancel_item(target, "不再需要", outsider)
        db.session.rollback()
        with pytest.raises(ItemError, match="只有提出人或处室负责人可以调整该事项"):
            change_item(target, form(deadline=(today_local() + timedelta(days=20)).isoformat()), outsider)
        db.session.rollback()
    assert fresh(target.id).version == 1 and replies_of(target.id) == []
    change_item(target, form(responsible="产业招商一处", category="审批"), people.manager)
    cancel_item(target, "企业已自行解决", people.fuling)
    db.session.commit()
    assert fresh(target.id).status == ItemStatus.CANCELLED
    assert fresh(target.id).result == "企业已自行解决"


def test_close_needs_a_result_cancel_a_reason_and_done_is_done(people):
    target = raise_item(people.p_fuling, people.one)
    for blank in ("", " ", "好"):
        with pytest.raises(ItemError, match="办结须填写办理结果") as refused:
            close_item(target, blank, people.one)
        assert refused.value.field == "body"
        db.session.rollback()
        with pytest.raises(ItemError, match="撤销须说明理由"):
            cancel_item(target, blank, people.one)
        db.session.rollback()
    assert fresh(target.id).status == ItemStatus.OPEN
    close_item(target, "已协调解决", people.one)
    db.session.commit()
    for verb in (
        lambda: close_item(fresh(target.id), "再办结一次", people.one),
        lambda: cancel_item(fresh(target.id), "再撤销一次", people.one),
        lambda: take_on(fresh(target.id), people.one),
        lambda: change_item(fresh(target.id), form(), people.one),
    ):
        with pytest.raises(ItemError):
            verb()
        db.session.rollback()
    assert fresh(target.id).status == ItemStatus.CLOSED and fresh(target.id).result == "已协调解决"
    assert [r.kind for r in replies_of(target.id)] == ["办结"]


def test_refusing_a_done_item_says_what_it_is(people):
    closed = raise_item(people.p_fuling, people.one)
    close_item(closed, "已协调解决", people.one)
    withdrawn = raise_item(people.p_fuling, people.one)
    cancel_item(withdrawn, "企业放弃二期", people.one)
    db.session.commit()
    refusals = (
        (lambda: close_item(fresh(closed.id), "再办结一次", people.one), "该事项已办结"),
        (lambda: cancel_item(fresh(closed.id), "再撤销一次", people.one), "该事项已办结"),
        (lambda: change_item(fresh(closed.id), form(), people.one), "该事项已办结，不能再调整"),
        (lambda: take_on(fresh(closed.id), people.one), "该事项当前为“已办结”，不能再开始办理"),
        (lambda: close_item(fresh(withdrawn.id), "办结", people.one), "该事项已撤销"),
    )
    for verb, message in refusals:
        with pytest.raises(ItemError) as refused:
            verb()
        db.session.rollback()
        assert str(refused.value) == message
    # A done item can still be discussed.
    reply_to(fresh(closed.id), "补充：供电公司已出具接入批复", people.fuling)
    db.session.commit()
    assert [r.kind for r in replies_of(closed.id)] == ["办结", "回复"]


def test_replies_are_append_only(people):
    target = raise_item(people.p_fuling, people.fuling)
    reply = reply_to(target, "已联系供电公司", people.one)
    db.session.commit()
    reply.body = "改写的回复"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(ItemReply, reply.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    assert [r.body for r in replies_of(target.id)] == ["已联系供电公司"]


def test_a_reply_needs_text_and_admins_cannot_reply(people):
    target = raise_item(people.p_fuling, people.fuling)
    for body, message in (
        ("", "请填写回复内容"),
        ("回" * 4001, "回复内容不能超过 4000 个字符"),
        ("a\x00b", "回复内容包含无效的控制字符"),
        (["列表"], "回复内容应为文本"),
    ):
        with pytest.raises(ItemError, match=re.escape(message)) as refused:
            reply_to(target, body, people.one)
        assert refused.value.field == "body"
        db.session.rollback()
    with pytest.raises(ItemError, match="您不能回复督办事项"):
        reply_to(target, "管理员回复", people.admin)
    db.session.rollback()
    assert replies_of(target.id) == []


@pytest.mark.parametrize("verb", ["take", "close", "cancel", "change"])
def test_a_stale_version_is_a_conflict_and_changes_nothing(people, verb):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    stale = target.version
    # Someone moves the item on (still open) after the page with `stale` was shown.
    if verb == "take":
        change_item(target, form(category="审批"), people.manager, version=stale)
    else:
        take_on(target, people.one, version=stale)
    db.session.commit()
    before = fresh(target.id)
    state = (before.status, before.category, before.version, before.deadline, len(replies_of(target.id)))
    assert before.version == stale + 1
    calls = {
        "take": lambda item: take_on(item, people.one, version=stale),
        "close": lambda item: close_item(item, "已办结", people.one, version=stale),
        "cancel": lambda item: cancel_item(item, "不需要了", people.fuling, version=str(stale)),
        "change": lambda item: change_item(
            item,
            form(deadline=(today_local() + timedelta(days=30)).isoformat()),
            people.fuling,
            version=stale,
        ),
    }
    with pytest.raises(ItemConflict, match="该督办事项在您操作期间已被他人修改"):
        calls[verb](fresh(target.id))
    db.session.rollback()
    after = fresh(target.id)
    assert (after.status, after.category, after.version, after.deadline, len(replies_of(target.id))) == state
    # The current version goes through.
    stale = after.version
    calls[verb](after)
    db.session.commit()
    assert fresh(target.id).version == stale + 1


def test_a_save_over_a_change_made_meanwhile_is_a_conflict(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    loaded = fresh(target.id)
    assert loaded.status == ItemStatus.OPEN
    # Another request takes the item on after this one read it.
    with db.engine.begin() as other:
        other.execute(
            update(Item.__table__)
            .where(Item.__table__.c.id == target.id)
            .values(status=ItemStatus.WORKING, version=Item.__table__.c.version + 1)
        )
    with pytest.raises(ItemConflict):
        close_item(loaded, "已办结", people.one)
    db.session.rollback()
    after = fresh(target.id)
    assert (after.status, after.result, replies_of(target.id)) == (ItemStatus.WORKING, "", [])


def test_change_item_writes_what_changed_and_tells_the_new_unit(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    old_deadline = target.deadline
    new_deadline = today_local() + timedelta(days=25)
    change_item(
        target,
        form(deadline=new_deadline.isoformat(), responsible="长寿区"),
        people.fuling,
        version=target.version,
    )
    db.session.commit()
    item = fresh(target.id)
    assert (item.division_id, item.district_id, item.deadline) == (
        None,
        people.changshou.district_id,
        new_deadline,
    )
    [reply] = replies_of(item.id)
    assert reply.kind == "调整"
    assert f"办理时限 {old_deadline.isoformat()} → {new_deadline.isoformat()}" in reply.body
    assert "责任单位 产业招商一处 → 长寿区" in reply.body
    assert people.changshou.id in notified(ASSIGNED, item)
    # Saving the same values again records nothing.
    change_item(item, form(deadline=new_deadline.isoformat(), responsible="长寿区"), people.fuling)
    db.session.commit()
    assert len(replies_of(item.id)) == 1 and fresh(item.id).version == item.version


def test_an_item_given_back_to_its_first_unit_tells_it_again(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    change_item(target, form(responsible="长寿区"), people.fuling)
    db.session.commit()
    change_item(fresh(target.id), form(responsible="产业招商一处"), people.fuling)
    db.session.commit()
    told = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == people.one.id, Notification.kind == ASSIGNED
        )
    )
    assert told == 2


def test_an_overdue_deadline_may_stay_when_the_rest_changes(people):
    target = raise_item(people.p_fuling, people.fuling)
    past = today_local() - timedelta(days=4)
    set_columns(target, deadline=past)
    change_item(fresh(target.id), form(deadline=past.isoformat(), category="审批"), people.fuling)
    db.session.commit()
    assert (fresh(target.id).category, fresh(target.id).deadline) == ("审批", past)
    with pytest.raises(ItemError, match="办理时限不能早于今天"):
        change_item(fresh(target.id), form(deadline=(past - timedelta(days=1)).isoformat()), people.fuling)
    db.session.rollback()


# ================================================================ 2. lights and counts


def test_lights_for_a_day_follow_the_rules_file(people):
    yellow = current().item_yellow_days
    assert yellow >= 1
    target = raise_item(people.p_fuling, people.one)
    due = target.deadline
    assert item_light(target, due + timedelta(days=1)) == RED
    assert item_light(target, due) == YELLOW
    assert item_light(target, due - timedelta(days=yellow - 1)) == YELLOW
    assert item_light(target, due - timedelta(days=yellow)) == GREEN
    assert item_light(target, due - timedelta(days=yellow + 5)) == GREEN
    close_item(target, "已协调解决", people.one)
    db.session.commit()
    assert item_light(fresh(target.id), due + timedelta(days=1)) is None
    withdrawn = raise_item(people.p_fuling, people.one)
    cancel_item(withdrawn, "企业放弃二期", people.one)
    db.session.commit()
    assert item_light(fresh(withdrawn.id), due) is None


def test_the_sql_light_agrees_with_the_python_light(people):
    today = today_local()
    items = [raise_item(people.p_fuling, people.one, description=f"事项{n}号") for n in range(9)]
    long_ago = datetime.combine(today - timedelta(days=30), time(9), SHANGHAI).astimezone(UTC)
    for n, item in enumerate(items):
        set_columns(item, deadline=today + timedelta(days=n - 4), created_at=long_ago)
    close_item(fresh(items[0].id), "已办结", people.one)
    cancel_item(fresh(items[8].id), "不再需要", people.one)
    db.session.commit()
    rules = current()
    for offset in range(-8, 9):
        on = today + timedelta(days=offset)
        in_sql = dict(db.session.execute(select(Item.id, light_sql(on))).all())
        for item in (fresh(i.id) for i in items):
            if item.is_open:
                assert in_sql[item.id] == item_light(item, on), (item, on)
            else:  # done today: lit the days before, dark from today
                assert in_sql[item.id] == (rules.item_light(item.deadline, on) if on < today else None)
                assert item_light(item, on) is None


def test_open_on_a_past_day_counts_what_was_open_then(people):
    today = today_local()

    def moment(days_ago: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(10), SHANGHAI).astimezone(UTC)

    closed_later = raise_item(people.p_fuling, people.one, description="三天前办结的事项")
    set_columns(
        closed_later, created_at=moment(10), status=ItemStatus.CLOSED, closed_on=today - timedelta(days=3)
    )
    recent = raise_item(people.p_fuling, people.one, description="两天前提出的事项")
    set_columns(recent, created_at=moment(2))

    def open_then(days_ago: int) -> set[int]:
        return set(db.session.scalars(select(Item.id).where(open_on(today - timedelta(days=days_ago)))))

    assert open_then(11) == set()
    assert open_then(10) == open_then(5) == open_then(4) == {closed_later.id}
    assert open_then(3) == set()  # closed that day
    assert open_then(2) == open_then(0) == {recent.id}
    on = today - timedelta(days=5)
    lit = dict(db.session.execute(select(Item.id, light_sql(on))).all())
    assert lit[closed_later.id] == current().item_light(closed_later.deadline, on)
    assert lit[recent.id] is None


@pytest.fixture
def spread(people):
    """Items of every light and status across divisions, districts and a department."""
    today = today_local()
    yellow = current().item_yellow_days
    made = []

    def add(project, by, responsible, deadline_in, end=None, description=None):
        item = raise_item(
            project, by, responsible=responsible, description=description or f"督办{len(made) + 1}号"
        )
        set_columns(item, deadline=today + timedelta(days=deadline_in))
        if end == "closed":
            close_item(fresh(item.id), "已办结", people.manager)
        elif end == "cancelled":
            cancel_item(fresh(item.id), "已撤销", people.manager)
        db.session.commit()
        made.append(fresh(item.id))

    add(people.p_fuling, people.fuling, "产业招商一处", -3)  # red
    add(people.p_fuling, people.fuling, "产业招商一处", -1)  # red
    add(people.p_fuling, people.fuling, "产业招商一处", 0)  # yellow
    add(people.p_fuling, people.fuling, "产业招商一处", yellow + 4)  # green
    add(people.p_fuling, people.fuling, "产业招商一处", -2, "closed")  # closed late
    add(people.p_changshou, people.changshou, "产业招商一处", -5)  # red, 长寿's
    add(people.p_changshou, people.changshou, "产业招商二处", yellow - 1)  # yellow
    add(people.p_changshou, people.changshou, "长寿区", 8, "closed")  # closed in time
    add(people.p_fuling, people.fuling, "长寿区", -1)  # red, given to 长寿 on 涪陵's project
    add(people.p_changshou, people.one, "涪陵区", yellow + 1)  # green, given to 涪陵
    add(people.p_fuling, people.fuling, "市规划自然资源局", 1, "cancelled")
    add(people.p_fuling, people.fuling, "市规划自然资源局", 2)  # yellow
    return made


def visible_to(user, items: list[Item]) -> list[Item]:
    if user.role != "district":
        return items
    return [
        i for i in items if i.project.district_id == user.district_id or i.district_id == user.district_id
    ]


def expected_units(items: list[Item], on: date) -> dict[str, dict]:
    units: dict[str, Counter] = {}
    for item in items:
        counter = units.setdefault(unit_key(item.division_id, item.district_id, item.department), Counter())
        light = item_light(item, on)
        counter["open"] += item.is_open
        counter[light or "none"] += 1
        counter["closed"] += item.status == ItemStatus.CLOSED
        counter["closed_late"] += item.status == ItemStatus.CLOSED and item.closed_on > item.deadline
        counter["cancelled"] += item.status == ItemStatus.CANCELLED
    fields = ("open", RED, YELLOW, GREEN, "closed", "closed_late", "cancelled")
    return {key: {f: c[f] for f in fields} for key, c in units.items()}


@pytest.mark.parametrize("who", ["manager", "fuling", "changshou"])
def test_unit_and_light_counts_equal_the_rows_counted_by_hand(people, spread, who):
    user = getattr(people, who)
    today = today_local()
    mine = visible_to(user, spread)
    stmt = item_query(ItemFilter(), user, today)
    assert {i.id for i in db.session.scalars(stmt)} == {i.id for i in mine}
    counted = {
        u.key: {f: getattr(u, f) for f in ("open", RED, YELLOW, GREEN, "closed", "closed_late", "cancelled")}
        for u in unit_counts(stmt, today)
    }
    assert counted == expected_units(mine, today)
    lights = Counter(item_light(i, today) for i in mine)
    assert light_counts(stmt, today) == {
        "open": sum(i.is_open for i in mine),
        RED: lights[RED],
        YELLOW: lights[YELLOW],
        GREEN: lights[GREEN],
    }
    # The same from plain SQL over the rows: open items by deadline against today.
    yellow_from = today + timedelta(days=current().item_yellow_days)
    ids = [i.id for i in mine]
    open_rows = select(func.count(Item.id)).where(Item.id.in_(ids), Item.status.in_(("待办", "办理中")))
    assert light_counts(stmt, today)[RED] == db.session.scalar(open_rows.where(Item.deadline < today))
    assert light_counts(stmt, today)[GREEN] == db.session.scalar(
        open_rows.where(Item.deadline >= yellow_from)
    )


@pytest.mark.parametrize("who", ["manager", "fuling"])
def test_every_count_on_the_list_opens_a_list_of_that_many(people, spread, client_of, who):
    user = getattr(people, who)
    browser = client_of(user)
    html = browser.get("/items").text
    mine = visible_to(user, spread)
    assert shown_total(html) == len(mine)
    assert list_ids(html) == {i.id for i in mine}
    lights = shown_lights(html)
    assert sum(lights.values()) == sum(i.is_open for i in mine) > 0
    for light, count in lights.items():
        shown = browser.get(f"/items?light={light}").text
        assert shown_total(shown) == count == len(list_ids(shown))
        assert all(item_light(fresh(i), today_local()) == light for i in list_ids(shown))
    units = unit_rows(html)
    names = {unit_key(i.division_id, i.district_id, i.department): i.responsible.name for i in mine}
    fields = ("open", RED, YELLOW, GREEN, "closed", "cancelled")
    assert {name: {f: row[f] for f in fields} for name, row in units.items()} == {
        names[key]: {f: counts[f] for f in fields}
        for key, counts in expected_units(mine, today_local()).items()
    }
    for name, row in units.items():
        shown = browser.get(row["link"]).text
        assert shown_total(shown) == row["open"] + row["closed"] + row["cancelled"] == len(list_ids(shown))
        assert {fresh(i).responsible.name for i in list_ids(shown)} == {name}
        if row["red"]:
            shown = browser.get(row["red_link"]).text
            assert shown_total(shown) == row["red"] == len(list_ids(shown))


# ================================================================ 3. notifications


def test_raising_tells_the_responsible_unit_not_the_raiser(people):
    to_division = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    assert notified(ASSIGNED, to_division) == {people.one.id, people.one_b.id, people.one_head.id}
    to_district = raise_item(people.p_fuling, people.one, responsible="长寿区")
    assert notified(ASSIGNED, to_district) == {people.changshou.id}
    own_unit = raise_item(people.p_fuling, people.one, responsible="产业招商一处")
    assert notified(ASSIGNED, own_unit) == {people.one_b.id, people.one_head.id}
    elsewhere = raise_item(people.p_fuling, people.fuling, responsible="市规划自然资源局")
    assert notified(ASSIGNED, elsewhere) == set()
    [text] = db.session.scalars(
        select(Notification.text).where(
            Notification.user_id == people.changshou.id, Notification.kind == ASSIGNED
        )
    )
    assert "长寿区" in text and "涪陵铝材项目" in text


def test_a_reply_tells_the_raiser_and_the_unit_but_not_its_author(people):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    reply_to(target, "已联系供电公司", people.one)
    db.session.commit()
    assert notified(REPLY, target) == {people.fuling.id, people.one_b.id, people.one_head.id}
    take_on(target, people.one_b)
    db.session.commit()
    told = db.session.execute(
        select(Notification.user_id, func.count())
        .where(Notification.kind == REPLY)
        .group_by(Notification.user_id)
    ).all()
    assert dict(told) == {people.fuling.id: 2, people.one_head.id: 2, people.one_b.id: 1, people.one.id: 1}


def test_muted_kinds_are_respected(people):
    save_settings(
        people.one_b, {"kinds": [k for k in KINDS if k != ASSIGNED], "idle_days": "14", "ahead_days": "7"}
    )
    save_settings(
        people.fuling, {"kinds": [k for k in KINDS if k != REPLY], "idle_days": "14", "ahead_days": "7"}
    )
    db.session.commit()
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    assert notified(ASSIGNED, target) == {people.one.id, people.one_head.id}
    reply_to(target, "已联系供电公司", people.one)
    db.session.commit()
    assert notified(REPLY, target) == {people.one_b.id, people.one_head.id}


# ================================================================ 4. pages


def test_the_list_filters(people, spread, client_of):
    browser = client_of(people.one)
    assert list_ids(browser.get("/items?mine=1").text) == {
        i.id for i in spread if i.division_id == division("产业招商一处").id
    }
    assert list_ids(browser.get("/items?raised=1").text) == {
        i.id for i in spread if i.created_by_id == people.one.id
    }
    assert list_ids(browser.get("/items?status=已办结").text) == {
        i.id for i in spread if i.status == "已办结"
    }
    assert list_ids(browser.get("/items?open=1").text) == {i.id for i in spread if i.is_open}
    assert list_ids(browser.get(f"/items?project={people.p_changshou.id}").text) == {
        i.id for i in spread if i.project_id == people.p_changshou.id
    }
    assert list_ids(browser.get("/items?q=督办3号").text) == {spread[2].id}
    assert list_ids(browser.get("/items?q=长寿化工").text) == {
        i.id for i in spread if i.project_id == people.p_changshou.id
    }
    due = today_local()
    assert list_ids(browser.get(f"/items?due_to={due.isoformat()}").text) == {
        i.id for i in spread if i.deadline <= due
    }
    html = client_of(people.changshou).get("/items?mine=1").text
    assert list_ids(html) == {i.id for i in spread if i.district_id == people.changshou.district_id}


@pytest.mark.parametrize(
    "query",
    [
        "light=purple&status=完成&category=交通",
        "project=abc&due_to=2026-13-45&unit=zzz",
        "unit=v99999999999999&project=99999999999999999999",
        "q=" + "长" * 500,
        "page=-1&per_page=abc",
        "page=99999999999&per_page=100000",
        "unit=o:",
    ],
)
def test_garbage_in_the_lists_query_is_ignored_not_a_500(people, spread, client_of, query):
    browser = client_of(people.manager)
    response = browser.get(f"/items?{query}")
    assert response.status_code == 200
    assert browser.get(f"/items/export.xlsx?{query}").status_code == 200


def test_control_characters_anywhere_are_a_chinese_400_and_save_nothing(people, client_of):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    raiser, worker = client_of(people.fuling), client_of(people.one)
    refused = [
        raiser.get("/items?q=%00%07"),
        raiser.get("/items/export.xlsx?q=a%00"),
        raiser.post(f"/projects/{people.p_fuling.id}/items/new", data={**form(description="用电\x01负荷")}),
        raiser.post(f"/items/{target.id}/edit", data={**form(description="用电\x01"), "version": "1"}),
        raiser.post(f"/items/{target.id}/cancel", data={"body": "理由\x1b", "version": "1"}),
        worker.post(f"/items/{target.id}/reply", data={"body": "a\x1bb", "version": "1"}),
        worker.post(f"/items/{target.id}/take", data={"body": "开始\x00", "version": "1"}),
        worker.post(f"/items/{target.id}/close", data={"body": "结果\x00", "version": "1"}),
    ]
    for response in refused:
        assert response.status_code == 400
        assert "输入中包含无效的控制字符" in response.text
    item = fresh(target.id)
    assert (item.status, item.version, item.description, replies_of(item.id)) == (
        ItemStatus.OPEN,
        1,
        form()["description"],
        [],
    )
    assert db.session.scalar(select(func.count(Item.id))) == 1


def test_the_export_has_the_rows_of_the_list(people, spread, client_of):
    for user in (people.manager, people.fuling):
        response = client_of(user).get("/items/export.xlsx?light=red")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data)).active
        rows = list(sheet.iter_rows(values_only=True))
        header = list(rows[0])
        assert header[:3] == ["编号", "项目", "落地区县"]
        wanted = [i for i in visible_to(user, spread) if item_light(i) == RED]
        assert sorted(r[0] for r in rows[1:]) == sorted(i.id for i in wanted)
        by_id = {r[0]: dict(zip(header, r, strict=False)) for r in rows[1:]}
        for item in wanted:
            assert by_id[item.id]["事项内容"] == item.description
            assert by_id[item.id]["责任单位"] == item.responsible.name
            assert by_id[item.id]["灯"] == "红灯"


def test_a_districts_issue_becomes_an_item_in_one_click(people, client_of):
    update = add_update(
        people.p_fuling,
        {"note": "二期厂房封顶", "issues": "110 千伏变电站扩容需市电力公司支持"},
        people.fuling,
    )
    db.session.commit()
    browser = client_of(people.fuling)
    page = browser.get(f"/projects/{people.p_fuling.id}").text
    assert f"/projects/{people.p_fuling.id}/items/new?update={update.id}" in unescape(page)
    url = f"/projects/{people.p_fuling.id}/items/new?update={update.id}"
    html = browser.get(url).text
    assert "110 千伏变电站扩容需市电力公司支持</textarea>" in html
    response = browser.post(
        url,
        data={
            "description": "110 千伏变电站扩容需市电力公司支持",
            "category": "用能",
            "deadline": (today_local() + timedelta(days=14)).isoformat(),
            "responsible": "产业招商一处",
            "department": "",
        },
    )
    assert response.status_code == 302
    item = db.session.scalar(select(Item))
    assert response.headers["Location"].endswith(f"/items/{item.id}")
    assert (item.update_id, item.project_id, item.created_by_id) == (
        update.id,
        people.p_fuling.id,
        people.fuling.id,
    )
    page = browser.get(f"/projects/{people.p_fuling.id}").text
    assert f'<tr data-item="{item.id}">' in page
    assert f"已转为督办事项 #{item.id}（待办）" in page
    assert 'data-testid="raise-item"' not in page
    # The division hears of it and opens it.
    assert notified(ASSIGNED, item) == {people.one.id, people.one_b.id, people.one_head.id}
    detail = client_of(people.one).get(f"/items/{item.id}").text
    assert "110 千伏变电站扩容需市电力公司支持" in detail and "开始办理" in detail


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"deadline": "2026-13-45"}, "deadline", "办理时限“2026-13-45”不是有效日期"),
        ({"deadline": "明天"}, "deadline", "办理时限“明天”不是有效日期"),
        ({"description": "电" * 20000}, "description", "事项内容不能超过 2000 个字符"),
        ({"category": "<script>"}, "category", "请选择事项类别"),
        ({"responsible": "XX区"}, "responsible", "未知的处室或区县：“XX区”"),
        ({"department": "市规划自然资源局"}, "responsible", "二选一"),
        ({"responsible": ""}, "responsible", "请选择责任单位"),
    ],
)
def test_a_failed_raise_gives_back_what_was_typed_with_the_message_beside_it(
    people, client_of, changes, field, message
):
    browser = client_of(people.fuling)
    typed = {**form(description="二期用地指标需市规划自然资源局协调"), "department": "", **changes}
    response = browser.post(f"/projects/{people.p_fuling.id}/items/new", data=typed)
    assert response.status_code in (200, 400)
    html = response.text
    assert any(m.startswith(message) or message in m for m in messages_beside(html, field)), messages_beside(
        html, field
    )
    assert f"{typed['description']}</textarea>" in html
    if field != "deadline":
        assert f'value="{typed["deadline"]}"' in html
    assert db.session.scalar(select(func.count(Item.id))) == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 0


def test_the_forms_on_an_items_page(people, client_of):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    worker = client_of(people.one)
    shown_version = target.version
    page = worker.get(f"/items/{target.id}").text
    assert "开始办理" in page and "办结（上面填写办理结果）" in page and "撤销（上面填写理由）" not in page
    response = worker.post(
        f"/items/{target.id}/reply", data={"body": "已与供电公司对接", "version": shown_version}
    )
    assert response.status_code == 302
    response = worker.post(f"/items/{target.id}/take", data={"body": "", "version": shown_version})
    assert response.status_code == 302 and fresh(target.id).status == ItemStatus.WORKING
    # A stale version (the page before taking it on) is a conflict: the text typed stays.
    response = worker.post(
        f"/items/{target.id}/close", data={"body": "已批复接入方案", "version": shown_version}
    )
    assert response.status_code == 409
    assert (
        "该督办事项在您操作期间已被他人修改" in response.text and "已批复接入方案</textarea>" in response.text
    )
    version = fresh(target.id).version
    response = worker.post(f"/items/{target.id}/close", data={"body": "", "version": version})
    assert response.status_code == 400 and "办结须填写办理结果" in messages_beside(response.text, "body")
    response = worker.post(f"/items/{target.id}/cancel", data={"body": "不需要了", "version": version})
    assert response.status_code == 400 and "只有提出人或处室负责人可以撤销该事项" in response.text
    assert fresh(target.id).status == ItemStatus.WORKING
    response = worker.post(
        f"/items/{target.id}/close", data={"body": "供电公司已批复接入方案", "version": version}
    )
    assert response.status_code == 302
    item = fresh(target.id)
    assert (item.status, item.result, item.closed_on) == (
        ItemStatus.CLOSED,
        "供电公司已批复接入方案",
        today_local(),
    )
    assert [r.kind for r in replies_of(item.id)] == ["回复", "开始办理", "办结"]
    page = client_of(people.fuling).get(f"/items/{item.id}").text
    assert "供电公司已批复接入方案" in page and "已办结" in page and "已与供电公司对接" in page


def test_the_raiser_withdraws_with_a_reason(people, client_of):
    target = raise_item(people.p_fuling, people.fuling)
    browser = client_of(people.fuling)
    response = browser.post(f"/items/{target.id}/cancel", data={"body": "", "version": target.version})
    assert response.status_code == 400 and "撤销须说明理由" in messages_beside(response.text, "body")
    response = browser.post(
        f"/items/{target.id}/cancel", data={"body": "企业已自行解决", "version": target.version}
    )
    assert response.status_code == 302 and fresh(target.id).status == ItemStatus.CANCELLED


@pytest.mark.parametrize(
    ("who", "action", "data", "message"),
    [
        (
            "one",
            "reply",
            {"body": "回" * 5000, "version": "1"},
            "回复内容不能超过 4000 个字符（现为 5000 个）",
        ),
        ("one", "take", {"body": "回" * 5000, "version": "1"}, "说明不能超过 4000 个字符"),
        ("one", "close", {"body": "回" * 5000, "version": "1"}, "办理结果不能超过 4000 个字符"),
        ("fuling", "cancel", {"body": "回" * 5000, "version": "1"}, "撤销理由不能超过 4000 个字符"),
        ("one", "reply", {"version": "1"}, "请填写回复内容"),
        ("one", "take", {"body": "开始", "version": "abc"}, "不是有效的整数"),
        ("one", "close", {"body": "已办结", "version": "1.5"}, "不是有效的整数"),
        (
            "one",
            "close",
            {"body": "已办结", "version": "99999999999999999999"},
            "该督办事项在您操作期间已被他人修改",
        ),
        ("fuling", "cancel", {"body": "撤销", "version": "-1"}, "该督办事项在您操作期间已被他人修改"),
    ],
)
def test_garbage_on_the_action_forms_is_refused_in_chinese(people, client_of, who, action, data, message):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    response = client_of(getattr(people, who)).post(f"/items/{target.id}/{action}", data=data)
    assert response.status_code in (200, 400, 409)
    assert message in unescape(response.text)
    item = fresh(target.id)
    assert (item.status, item.version, replies_of(item.id)) == (ItemStatus.OPEN, 1, [])


def test_the_edit_form(people, client_of):
    target = raise_item(people.p_fuling, people.fuling, responsible="产业招商一处")
    browser = client_of(people.fuling)
    html = browser.get(f"/items/{target.id}/edit").text
    assert f'value="{target.deadline.isoformat()}"' in html
    assert re.search(r'<option (selected value="产业招商一处"|value="产业招商一处" selected)', html)
    new_deadline = today_local() + timedelta(days=40)
    typed = {
        **form(deadline=new_deadline.isoformat(), responsible="长寿区"),
        "department": "",
        "version": str(target.version),
    }
    bad = browser.post(f"/items/{target.id}/edit", data={**typed, "deadline": "2026-02-30"})
    assert bad.status_code in (200, 400) and messages_beside(bad.text, "deadline")
    assert 'value="2026-02-30"' in bad.text and fresh(target.id).version == 1
    response = browser.post(f"/items/{target.id}/edit", data=typed)
    assert response.status_code == 302
    item = fresh(target.id)
    assert (item.deadline, item.district_id) == (new_deadline, people.changshou.district_id)
    assert "责任单位 产业招商一处 → 长寿区" in replies_of(item.id)[-1].body
    # The old version again: refused as a conflict, nothing changed.
    again = browser.post(
        f"/items/{target.id}/edit", data={**typed, "deadline": (new_deadline + timedelta(days=1)).isoformat()}
    )
    assert again.status_code in (200, 409) and "该督办事项在您操作期间已被他人修改" in again.text
    assert fresh(target.id).deadline == new_deadline
    assert client_of(people.one).get(f"/items/{target.id}/edit").status_code == 403
    assert client_of(people.changshou).post(f"/items/{target.id}/edit", data=typed).status_code == 403


@pytest.mark.parametrize(
    "ref",
    [
        "abc",
        "-1",
        "0",
        "１２",
        "2147483647",
        "2147483648",
        "99999999999999999999",
    ],
)
def test_a_garbage_update_reference_is_ignored(people, client_of, ref):
    browser = client_of(people.fuling)
    response = browser.get(f"/projects/{people.p_fuling.id}/items/new?update={ref}")
    assert response.status_code == 200
    assert 'data-testid="source-issues"' not in response.text


def test_another_projects_update_is_not_taken_in(people, client_of):
    browser = client_of(people.fuling)
    other = add_update(people.p_changshou, {"issues": "长寿的需协调事项"}, people.changshou)
    db.session.commit()
    url = f"/projects/{people.p_fuling.id}/items/new?update={other.id}"
    assert "长寿的需协调事项" not in browser.get(url).text
    assert browser.post(url, data={**form(), "department": ""}).status_code == 302
    assert db.session.scalar(select(Item.update_id)) is None


# ================================================================ 5. the API


def test_the_api_raises_reads_and_replies(people, client):
    headers = bearer(people.fuling)
    body = {
        "description": "厂区道路需与市政道路连通",
        "category": "审批",
        "deadline": (today_local() + timedelta(days=20)).isoformat(),
        "responsible": "秀山县",
    }
    response = client.post(f"/api/v1/projects/{people.p_fuling.id}/items", json=body, headers=headers)
    assert response.status_code == 201, response.text
    data = response.get_json()
    item = db.session.get(Item, data["id"])
    assert item.district_id == resolve_district("秀山土家族苗族自治县").id
    assert (item.description, item.category, item.deadline.isoformat()) == (
        body["description"],
        "审批",
        body["deadline"],
    )
    assert (data["responsible"], data["status"], data["light"]) == ("秀山土家族苗族自治县", "待办", GREEN)
    response = client.post(
        f"/api/v1/items/{item.id}/replies", json={"body": "已发函"}, headers=bearer(people.one)
    )
    assert response.status_code == 201 and response.get_json()["body"] == "已发函"
    detail = client.get(f"/api/v1/items/{item.id}", headers=headers).get_json()
    assert [(r["kind"], r["body"]) for r in detail["replies"]] == [("回复", "已发函")]
    listed = client.get("/api/v1/items", headers=headers).get_json()
    assert [i["id"] for i in listed["items"]] == [item.id] and listed["total"] == 1
    assert client.get("/api/v1/items?light=red", headers=headers).get_json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("不是 JSON", 400, "请求体应为 JSON 对象（Content-Type: application/json）"),
        ([1, 2], 400, "请求体应为 JSON 对象"),
        ({}, 400, "请填写事项内容（至少 2 个字）"),
        ({"description": 5}, 400, "事项内容应为文本"),
        ({"category": ["用地"]}, 400, "请选择事项类别"),
        ({"deadline": "2026-13-45"}, 400, "办理时限“2026-13-45”不是有效日期"),
        ({"deadline": 20261231}, 400, "办理时限"),
        ({"deadline": None}, 400, "请填写办理时限"),
        ({"responsible": None}, 400, "请选择责任单位"),
        ({"responsible": {"name": "产业招商一处"}}, 400, "责任单位应为文本"),
        ({"responsible": "XX区"}, 400, "未知的处室或区县：“XX区”"),
        ({"department": "市规划自然资源局"}, 400, "二选一"),
        ({"description": "电" * 100_000}, 400, "事项内容不能超过 2000 个字符"),
    ],
)
def test_bad_api_bodies_are_chinese_400s(people, client, body, status, message):
    headers = bearer(people.one)
    url = f"/api/v1/projects/{people.p_fuling.id}/items"
    if isinstance(body, str):
        response = client.post(url, data=body, headers=headers, content_type="application/json")
    elif isinstance(body, list):
        response = client.post(url, json=body, headers=headers)
    else:
        full = {**form(), **body} if body else {}
        response = client.post(url, json=full, headers=headers)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_bad_api_replies_are_chinese_400s(people, client):
    target = raise_item(people.p_fuling, people.fuling)
    headers = bearer(people.one)
    for body, message in (
        ({}, "请填写回复内容"),
        ({"body": 3}, "回复内容应为文本"),
        ({"body": "a\x00"}, "控制字符"),
    ):
        response = client.post(f"/api/v1/items/{target.id}/replies", json=body, headers=headers)
        assert response.status_code == 400 and message in response.get_json()["error"]
    response = client.post(
        f"/api/v1/items/{target.id}/replies", data="x", headers=headers, content_type="text/plain"
    )
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert replies_of(target.id) == []


# ================================================================ 6. two districts' scope


@pytest.fixture
def scoped_items(people):
    """涪陵's and 长寿's own items, and one given across in each direction."""
    return SimpleNamespace(
        fuling_own=raise_item(
            people.p_fuling, people.fuling, responsible="产业招商一处", description="涪陵自己的事项"
        ),
        changshou_own=raise_item(
            people.p_changshou, people.changshou, responsible="产业招商一处", description="长寿自己的事项"
        ),
        to_changshou=raise_item(
            people.p_fuling, people.fuling, responsible="长寿区", description="涪陵交长寿的事项"
        ),
        to_fuling=raise_item(
            people.p_changshou, people.one, responsible="涪陵区", description="市局交涪陵的事项"
        ),
    )


@pytest.mark.parametrize(
    ("who", "own", "foreign", "other_project"),
    [
        ("fuling", "fuling_own", "changshou_own", "p_changshou"),
        ("changshou", "changshou_own", "fuling_own", "p_fuling"),
    ],
)
def test_a_district_reaches_another_districts_item_by_no_route(
    people, scoped_items, client_of, client, who, own, foreign, other_project
):
    user = getattr(people, who)
    hidden = getattr(scoped_items, foreign)
    shared = {scoped_items.to_changshou.id, scoped_items.to_fuling.id}
    expected = {getattr(scoped_items, own).id} | shared
    browser = client_of(user)
    # The list, the export and the API list: their own, and what was given across — never the other's.
    assert list_ids(browser.get("/items").text) == expected
    assert list_ids(browser.get(f"/items?q={hidden.description}").text) == set()
    across = {
        i.id for i in (scoped_items.to_changshou, scoped_items.to_fuling) if i.project_id == hidden.project_id
    }
    assert list_ids(browser.get(f"/items?project={hidden.project_id}").text) == across
    sheet = load_workbook(io.BytesIO(browser.get("/items/export.xlsx").data)).active
    assert {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)} == expected
    headers = bearer(user)
    assert {
        i["id"] for i in client.get("/api/v1/items?per_page=100", headers=headers).get_json()["items"]
    } == expected
    # Each route of the other district's item: 404.
    assert browser.get(f"/items/{hidden.id}").status_code == 404
    assert browser.get(f"/items/{hidden.id}/edit").status_code == 404
    assert browser.post(f"/items/{hidden.id}/edit", data={**form(), "version": "1"}).status_code == 404
    for action in ("reply", "take", "close", "cancel"):
        assert (
            browser.post(
                f"/items/{hidden.id}/{action}", data={"body": "越权操作", "version": "1"}
            ).status_code
            == 404
        )
    assert browser.get(f"/projects/{getattr(people, other_project).id}/items/new").status_code == 404
    assert (
        browser.post(f"/projects/{getattr(people, other_project).id}/items/new", data=form()).status_code
        == 404
    )
    assert client.get(f"/api/v1/items/{hidden.id}", headers=headers).status_code == 404
    response = client.post(f"/api/v1/items/{hidden.id}/replies", json={"body": "越权回复"}, headers=headers)
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/projects/{getattr(people, other_project).id}/items", json=form(), headers=headers
    )
    assert response.status_code == 404
    after = fresh(hidden.id)
    assert (after.status, after.version, replies_of(hidden.id)) == (ItemStatus.OPEN, 1, [])
    assert db.session.scalar(select(func.count(Item.id))) == 4
    # What was given across is theirs to read and to answer.
    for item in (scoped_items.to_changshou, scoped_items.to_fuling):
        assert browser.get(f"/items/{item.id}").status_code == 200
        assert client.get(f"/api/v1/items/{item.id}", headers=headers).status_code == 200
    given = scoped_items.to_changshou if who == "changshou" else scoped_items.to_fuling
    response = browser.post(f"/items/{given.id}/take", data={"body": "已接手", "version": "1"})
    assert response.status_code == 302 and fresh(given.id).status == ItemStatus.WORKING


def test_the_other_project_of_an_item_given_across_is_not_linked(people, scoped_items, client_of):
    html = client_of(people.changshou).get(f"/items/{scoped_items.to_changshou.id}").text
    assert "涪陵铝材项目" in html and f'href="/projects/{people.p_fuling.id}"' not in html
    assert client_of(people.changshou).get(f"/projects/{people.p_fuling.id}").status_code == 404


def test_administrators_get_403_on_every_route(people, scoped_items, client_of, client):
    browser = client_of(people.admin)
    item = scoped_items.fuling_own
    for url in (
        "/items",
        "/items/export.xlsx",
        f"/items/{item.id}",
        f"/items/{item.id}/edit",
        f"/projects/{people.p_fuling.id}/items/new",
    ):
        assert browser.get(url).status_code == 403, url
    for action in ("reply", "take", "close", "cancel", "edit"):
        assert (
            browser.post(f"/items/{item.id}/{action}", data={"body": "管理员", "version": "1"}).status_code
            == 403
        )
    headers = bearer(people.admin)
    assert client.get("/api/v1/items", headers=headers).status_code == 403
    assert client.get(f"/api/v1/items/{item.id}", headers=headers).status_code == 403
    assert (
        client.post(f"/api/v1/items/{item.id}/replies", json={"body": "x"}, headers=headers).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/projects/{people.p_fuling.id}/items", json=form(), headers=headers).status_code
        == 403
    )
    assert replies_of(item.id) == [] and db.session.scalar(select(func.count(Item.id))) == 4


# ================================================================ 7. the brief


def test_the_briefs_item_warnings_are_the_lists_counts(people, spread, client_of, make_project):
    today = today_local()
    year, week, _ = today.isocalendar()
    this_week = f"{year}-W{week:02d}"
    in_la = set(db.session.scalars(CatalogueEntry.ids_in_cluster("LA")))
    assert people.p_fuling.catalogue_entry_id in in_la and people.p_changshou.catalogue_entry_id in in_la
    # Move some items onto projects of an entry outside 轻合金: the cluster's brief leaves them out.
    elsewhere = db.session.scalar(
        select(CatalogueEntry.code).where(CatalogueEntry.id.not_in(in_la)).order_by(CatalogueEntry.id)
    )
    other_fuling = make_project(name="涪陵其他项目", district="涪陵区", catalogue_code=elsewhere)
    other_changshou = make_project(name="长寿其他项目", district="长寿区", catalogue_code=elsewhere)
    for item in (spread[0], spread[2], spread[3], spread[8]):
        set_columns(item, project_id=other_fuling.id)
    set_columns(spread[5], project_id=other_changshou.id)
    items = [fresh(i.id) for i in spread]

    def counts_of(rows) -> dict:
        lit = Counter(item_light(i, today) for i in rows)
        return {RED: lit[RED], YELLOW: lit[YELLOW], GREEN: lit[GREEN]}

    def brief(scope: Scope) -> dict:
        return gather(scope, this_week, utcnow(), today)["warnings"]["items"]["counts"]

    fuling_id = people.fuling.district_id
    # The city's and a district's brief: the numbers on that reader's list.
    for user, district_id in ((people.manager, None), (people.fuling, fuling_id)):
        shown = shown_lights(client_of(user).get("/items").text)
        assert brief(Scope(None, district_id)) == shown == counts_of(visible_to(user, items))
    # A cluster's: the sum of the lists of the cluster's projects.
    browser = client_of(people.manager)
    listed = Counter()
    for project in (people.p_fuling, people.p_changshou):
        listed.update(shown_lights(browser.get(f"/items?project={project.id}").text))
    la = [i for i in items if i.project.catalogue_entry_id in in_la]
    assert brief(Scope("LA")) == dict(listed) == counts_of(la) != counts_of(items)
    fuling_la = visible_to(people.fuling, la)
    assert brief(Scope("LA", fuling_id)) == counts_of(fuling_la)
    # 涪陵's own light-alloy items and the one given to it on 长寿's light-alloy project.
    assert {i.id for i in fuling_la} == {spread[n].id for n in (1, 4, 9, 10, 11)}


def test_a_past_weeks_brief_lights_what_was_open_on_its_sunday(people):
    today = today_local()
    sunday = today - timedelta(days=today.isoweekday())  # last week's
    year, week, _ = sunday.isocalendar()
    closed_since = raise_item(people.p_fuling, people.one, description="上周日仍未办结的事项")
    set_columns(
        closed_since,
        created_at=datetime.combine(sunday - timedelta(days=10), time(10), SHANGHAI).astimezone(UTC),
        deadline=sunday - timedelta(days=2),
    )
    close_item(fresh(closed_since.id), "本周已办结", people.one)
    db.session.commit()
    raise_item(people.p_fuling, people.one, description="本周才提出的事项")
    past = gather(Scope(), f"{year}-W{week:02d}", utcnow(), today)
    assert past["as_of"] == sunday
    assert past["warnings"]["items"]["counts"] == {RED: 1, YELLOW: 0, GREEN: 0}
    assert [row["description"] for row in past["warnings"]["items"]["warned"]] == ["上周日仍未办结的事项"]
    year, week, _ = today.isocalendar()
    now = gather(Scope(), f"{year}-W{week:02d}", utcnow(), today)
    assert now["warnings"]["items"]["counts"] == {RED: 0, YELLOW: 0, GREEN: 1}


def test_a_terminated_project_takes_no_new_item(people, client_of):
    add_update(
        people.p_fuling,
        {"stage_reached": "终止", "termination_reason": "企业战略调整", "note": "项目终止"},
        people.fuling,
    )
    db.session.commit()
    assert not may_raise_item(people.manager, people.p_fuling)
    with pytest.raises(ItemError, match="该项目已终止，不能再提出督办事项"):
        create_item(people.p_fuling, form(), people.manager)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Item.id))) == 0
    browser = client_of(people.fuling)
    assert browser.get(f"/projects/{people.p_fuling.id}/items/new").status_code == 403
    assert "提出督办事项" not in browser.get(f"/projects/{people.p_fuling.id}").text


def test_the_light_card_counts_each_light_as_its_link_opens_whatever_light_is_chosen(people, client_of):
    today = today_local()
    red = raise_item(people.p_fuling, people.fuling)
    set_columns(red, deadline=today - timedelta(days=2))
    raise_item(people.p_fuling, people.fuling, deadline=today.isoformat())  # yellow
    raise_item(people.p_fuling, people.fuling)  # green
    browser = client_of(people.manager)
    page = browser.get("/items?light=red").text
    for light in ("red", "yellow", "green"):
        shown = int(re.search(rf'data-light-count="{light}">(\d+)<', page).group(1))
        listed = browser.get(f"/items?light={light}").text
        assert shown == len(re.findall(r'<tr data-item="\d+">', listed)) == 1, light


def test_an_update_turned_into_an_item_is_not_turned_again(people):
    update = add_update(people.p_fuling, {"issues": "需协调用地指标"}, people.fuling)
    db.session.commit()
    first = create_item(people.p_fuling, form(description="需协调用地指标"), people.fuling, update)
    db.session.commit()
    with pytest.raises(ItemError, match=f"已转为督办事项 #{first.id}"):
        create_item(people.p_fuling, form(description="需协调用地指标"), people.fuling, update)
    db.session.rollback()
    cancel_item(first, "重复提出", people.fuling, first.version)
    db.session.commit()
    again = create_item(people.p_fuling, form(description="需协调用地指标"), people.fuling, update)
    db.session.commit()
    assert again.update_id == update.id  # a withdrawn one does not stand in the way


def test_a_departments_own_division_is_a_department(people):
    item = raise_item(people.p_fuling, people.fuling, responsible="市规划自然资源局用地处")
    assert item.department == "市规划自然资源局用地处" and item.division_id is None
    with pytest.raises(ItemError, match="未知的处室或区县"):
        create_item(people.p_fuling, form(responsible="产业招商九处"), people.fuling)
    db.session.rollback()
