"""线索交办: the deadlines file and its working days, handing a lead on (下交, 上报, 转交), the
answers (accept, return, withdraw, ask a manager to decide), the duplicate check, the receiving
unit's records, the steps' lights in Python and in SQL, the overdue reminder, the pages, and the
scope of two districts on every route."""

import re
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta

import pytest
import yaml
from sqlalchemy import select

from crm import create_app
from crm.audit.listeners import AppendOnlyError
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.inbox.models import ASSIGNED, OVERDUE, REPLY, Notification
from crm.industry.models import CatalogueEntry
from crm.leads.models import Lead, LeadStage
from crm.places.models import District, Division
from crm.supervision import rules as deadlines
from crm.supervision.handovers import (
    HandoverConflict,
    HandoverError,
    HandoverFilter,
    accept,
    add_record,
    ask_decision,
    duplicates,
    hand_over,
    handover_light,
    handover_query,
    light_counts,
    open_steps,
    return_handover,
    visible_duplicates,
    withdraw,
)
from crm.supervision.models import (
    HANDOVER_LIVE,
    HANDOVER_WAITING,
    Handover,
    HandoverDirection,
    HandoverRecord,
    HandoverStatus,
    RecordKind,
)
from crm.supervision.rules import GREEN, RED, YELLOW, RulesError, current, parse

FULING, CHANGSHOU = "涪陵区", "长寿区"
DIV1, DIV2, BUREAU_OFFICE = "产业招商一处", "产业招商二处", "综合协调处"
MONDAY = date(2026, 3, 2)  # a Monday with no holiday within a fortnight


# ---------------------------------------------------------------- helpers


def district_id(name: str) -> int:
    return db.session.scalar(select(District.id).where(District.name == name))


def division_id(name: str) -> int:
    return db.session.scalar(select(Division.id).where(Division.name == name))


def notes(user, kind: str | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def done(result):
    """Commit what a verb flushed, as the pages do."""
    db.session.commit()
    return result


@contextmanager
def refused(message: str):
    """The verb is refused with this Chinese message, and its change is rolled back."""
    with pytest.raises(HandoverError, match=re.escape(message)):
        yield
    db.session.rollback()


def fresh(obj):
    """The row as it is now in the database (after a request's own session changed it)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def working_day_after(start: date, days: int, calendar) -> date:
    """The spec of a working day: a weekday that is no holiday, or a 调休 workday."""
    day = start
    while days:
        day += timedelta(days=1)
        if day in calendar.workdays or (day.weekday() < 5 and day not in calendar.holidays):
            days -= 1
    return day


def expected_due(key: str, start: date) -> date:
    rules = current()
    step = rules.steps[key]
    if step.count == deadlines.WORKING:
        return working_day_after(start, step.days, rules.calendar)
    return start + timedelta(days=step.days)


def set_stage(lead: Lead, stage: str) -> None:
    """Put a lead at a stage directly (the stage gates are not what these tests are about)."""
    lead.stage = stage
    lead.lost_reason = "选址他地" if stage == LeadStage.LOST else None
    db.session.commit()


def catalogue_codes(n: int = 2) -> list[str]:
    return list(db.session.scalars(select(CatalogueEntry.code).order_by(CatalogueEntry.id).limit(n)))


def rows(html: str) -> list[int]:
    return [int(ident) for ident in re.findall(r'data-handover="(\d+)"', html)]


def row_html(html: str, handover_id: int) -> str:
    match = re.search(rf'<tr data-handover="{handover_id}">(.*?)</tr>', html, re.S)
    assert match, f"handover {handover_id} not listed"
    return match.group(1)


@pytest.fixture
def people(make_user):
    """An officer of 产业招商一处 (owns the leads), a manager of 综合协调处, two staff of 涪陵区, one
    of 长寿区, an officer of 产业招商二处."""

    class People:
        officer = make_user("officer", division_name=DIV1, display_name="王一")
        manager = make_user("manager", division_name=BUREAU_OFFICE, display_name="李处")
        fuling = make_user("district", FULING, display_name="涪陵甲")
        fuling2 = make_user("district", FULING, display_name="涪陵乙")
        changshou = make_user("district", CHANGSHOU, display_name="长寿甲")
        officer2 = make_user("officer", division_name=DIV2, display_name="赵二")

    return People


# ---------------------------------------------------------------- the rules file


def _shipped() -> dict:
    return yaml.safe_load(deadlines.DEFAULT_FILE.read_text(encoding="utf-8"))


def _write(tmp_path, data) -> str:
    path = tmp_path / "deadlines.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _reverse_national_day(data):
    data["calendar"]["holidays"] = [
        [date(2026, 10, 7), date(2026, 10, 1)] if span[0] == date(2026, 10, 1) else span
        for span in data["calendar"]["holidays"]
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("reviewed"), "时限规则文件须有 reviewed 审核记录（日期、审核人、修改说明）"),
        (lambda d: d["reviewed"][0].pop("by"), "reviewed 的每条审核记录须写明 by"),
        (
            lambda d: d["handovers"]["steps"].pop("assess"),
            "handovers.steps 须恰好有 respond、assess、reply、report、decide 5 步",
        ),
        (
            lambda d: d["handovers"]["steps"]["assess"].update(days="三"),
            "步骤 assess 的 days须为 1 到 366 之间的整数",
        ),
        (
            lambda d: d["handovers"]["steps"]["respond"].update(days=1.5),
            "步骤 respond 的 days须为 1 到 366 之间的整数",
        ),
        (
            lambda d: d["handovers"]["steps"]["report"].update(every=0),
            "步骤 report 的 every须为 1 到 366 之间的整数",
        ),
        (
            lambda d: d["handovers"]["steps"]["reply"].update(count="lunar"),
            "步骤 reply 的 count 须为 working 或 calendar",
        ),
        (_reverse_national_day, "节假日 2026-10-07—2026-10-01 的起止不对"),
        (lambda d: d["calendar"]["workdays"].append(date(2026, 10, 2)), "同一天不能既是节假日又是调休上班日"),
        (lambda d: d["calendar"]["workdays"].append("十月十日"), "调休上班日须为日期（如 2026-10-01）"),
    ],
)
def test_a_deadlines_file_that_cannot_be_used_is_refused_and_stops_the_start(tmp_path, change, message):
    data = _shipped()
    change(data)
    with pytest.raises(RulesError, match=re.escape(message)):
        parse(data, "deadlines.yaml")
    path = _write(tmp_path, data)
    with pytest.raises(RulesError, match=re.escape(message)) as stopped:
        create_app({"TESTING": True, "DEADLINES_FILE": path})
    assert path in str(stopped.value) and "时限规则文件" in str(stopped.value)


def test_the_shipped_file_is_in_force_and_another_good_file_is_read_at_start(tmp_path):
    assert current().path == str(deadlines.DEFAULT_FILE)
    data = _shipped()
    data["handovers"]["steps"]["respond"]["days"] = 2
    other = create_app({"TESTING": True, "DEADLINES_FILE": _write(tmp_path, data)})
    assert other.extensions[deadlines.EXTENSION_KEY].steps["respond"].days == 2
    assert current().steps["respond"].days == 1  # this app's rules are untouched


def test_working_days_skip_weekends_and_holidays_and_count_adjusted_workdays():
    calendar = current().calendar
    # What the cases below rest on, as the shipped file has the 2026 arrangement.
    assert {date(2026, 10, 1) + timedelta(days=n) for n in range(7)} <= calendar.holidays
    assert date(2026, 10, 8) not in calendar.holidays and date(2026, 2, 24) not in calendar.holidays
    assert {date(2026, 2, 14), date(2026, 10, 10)} <= calendar.workdays
    assert {date(2026, 2, 15) + timedelta(days=n) for n in range(9)} <= calendar.holidays

    friday = date(2026, 3, 6)
    assert friday.weekday() == 4
    assert calendar.add_working_days(friday, 1) == date(2026, 3, 9)  # the next Monday
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)  # over 国庆
    assert date(2026, 10, 9).weekday() == 4
    assert calendar.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)  # 调休 Saturday
    assert calendar.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)  # 调休 Saturday
    assert calendar.add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)  # over 春节
    assert calendar.is_working(date(2026, 1, 4)) and not calendar.is_working(date(2026, 1, 2))
    # The rules' own days count the same way.
    for start in (friday, date(2026, 9, 30), date(2026, 2, 13), date(2026, 10, 9)):
        for key in ("respond", "assess", "reply"):
            assert current().steps[key].due(start, calendar) == expected_due(key, start)


# ---------------------------------------------------------------- handing a lead on


@pytest.mark.parametrize("handed", [MONDAY, date(2026, 9, 30), date(2026, 2, 13), date(2026, 10, 9)])
def test_each_steps_deadline_comes_from_the_rules_from_the_handover_day(people, make_lead, handed):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "企业有意在涪陵扩产", people.officer, today=handed))
    assert handover.respond_due == expected_due("respond", handed)
    assert handover.assess_due == expected_due("assess", handed)
    assert handover.reply_due == expected_due("reply", handed)
    assert handover.report_due is None  # counted from the acceptance
    accepted = done(accept(handover, people.fuling, handover.version, today=handed + timedelta(days=1)))
    assert accepted.report_due == handed + timedelta(days=1 + current().steps["report"].days)


def test_the_shipped_deadlines_over_the_national_day():
    # 1 working day to respond, 3 to assess, a week to reply: handed on 2026-09-30.
    steps, calendar = current().steps, current().calendar
    assert steps["respond"].due(date(2026, 9, 30), calendar) == date(2026, 10, 8)
    assert steps["assess"].due(date(2026, 9, 30), calendar) == date(2026, 10, 10)
    assert steps["reply"].due(date(2026, 9, 30), calendar) == date(2026, 10, 7)


def test_directions_down_up_and_across(people, make_lead):
    down = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    assert (down.direction, down.from_division_id, down.to_district_id) == (
        HandoverDirection.DOWN,
        division_id(DIV1),
        district_id(FULING),
    )
    across = done(hand_over(make_lead(owner=people.officer), DIV2, "", people.officer))
    assert (across.direction, across.from_division_id, across.to_division_id) == (
        HandoverDirection.ACROSS,
        division_id(DIV1),
        division_id(DIV2),
    )
    up = done(hand_over(make_lead(district=FULING), f"v{division_id(DIV2)}", "投资额超五亿", people.fuling))
    assert (up.direction, up.from_district_id, up.from_division_id, up.to_division_id) == (
        HandoverDirection.UP,
        district_id(FULING),
        None,
        division_id(DIV2),
    )
    assert up.sender.name == FULING and up.receiver.name == DIV2


def test_a_district_reports_only_its_own_leads_and_only_up_to_a_division(people, make_lead):
    own = make_lead(district=FULING)
    with refused("区县只能向市局的处室上报线索"):
        hand_over(own, CHANGSHOU, "", people.fuling)
    with refused("区县只能向市局的处室上报线索"):
        hand_over(own, f"d{district_id(CHANGSHOU)}", "", people.fuling)
    with refused("只有线索负责人、处室负责人或线索所在区县可以交办或上报该线索"):
        hand_over(make_lead(district=CHANGSHOU), DIV1, "", people.fuling)
    with refused("只有线索负责人、处室负责人或线索所在区县可以交办或上报该线索"):
        hand_over(make_lead(), DIV1, "", people.fuling)  # no district: not theirs
    with refused("只有线索负责人、处室负责人或线索所在区县可以交办或上报该线索"):
        hand_over(make_lead(), FULING, "", people.officer2)  # an officer who does not own it
    assert db.session.scalar(select(Handover.id)) is None


def test_no_handover_to_ones_own_unit_or_an_unknown_one(people, make_lead, make_user):
    lead = make_lead(owner=people.officer)
    with refused("不能交办给本单位"):
        hand_over(lead, DIV1, "", people.officer)
    div2_manager = make_user("manager", division_name=DIV2)
    with refused("不能交办给本单位"):
        hand_over(lead, f"v{division_id(DIV2)}", "", div2_manager)
    with refused("未知的承接单位“火星区”"):
        hand_over(lead, "火星区", "", people.officer)
    with refused("未知的承接单位：所选处室或区县不存在或已停用，请重新选择"):
        hand_over(lead, "d99999", "", people.officer)
    with refused("请选择承接单位"):
        hand_over(lead, "  ", "", people.officer)
    with refused("交办说明包含无效的控制字符"):
        hand_over(lead, FULING, "说明\x00", people.officer)
    assert db.session.scalar(select(Handover.id)) is None


def test_only_one_waiting_handover_per_lead(people, make_lead):
    lead = make_lead(owner=people.officer)
    first = done(hand_over(lead, FULING, "", people.officer))
    with refused("该线索已有一项交办等待答复"):
        hand_over(lead, DIV2, "", people.manager)
    done(return_handover(first, people.fuling, "不在本区产业方向", first.version))
    again = done(hand_over(lead, DIV2, "", people.officer))
    assert again.status == HandoverStatus.PENDING and again.id != first.id


@pytest.mark.parametrize("stage", [LeadStage.SIGNED, LeadStage.LOST])
def test_a_signed_or_lost_lead_cannot_be_handed(people, make_lead, stage):
    lead = make_lead(owner=people.officer)
    set_stage(lead, stage)
    with refused(f"该线索已{stage}，不能再交办"):
        hand_over(lead, FULING, "", people.officer)
    assert db.session.scalar(select(Handover.id)) is None


def test_the_first_referrer_is_the_first_hander_and_stays(people, make_lead):
    lead = make_lead(owner=people.officer)
    assert lead.first_referrer == ""
    first = done(hand_over(lead, FULING, "", people.officer))
    assert fresh(lead).first_referrer == "王一（产业招商一处）"
    done(withdraw(first, people.officer, first.version))
    done(hand_over(lead, DIV2, "", people.manager))
    assert fresh(lead).first_referrer == "王一（产业招商一处）"
    # A referrer on file before any handover is kept too.
    other = make_lead(district=FULING)
    other.first_referrer = "张三（以商招商）"
    db.session.commit()
    done(hand_over(other, DIV1, "", people.fuling))
    assert fresh(other).first_referrer == "张三（以商招商）"


def test_the_receiving_unit_is_told_and_the_hander_is_not(people, make_lead, make_user):
    handover = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    for person in (people.fuling, people.fuling2):
        told = notes(person)
        assert [(n.kind, n.url) for n in told] == [(ASSIGNED, f"/handovers/{handover.id}")]
        assert handover.lead.title in told[0].text and str(handover.respond_due) in told[0].text
    assert notes(people.officer) == [] and notes(people.changshou) == [] and notes(people.manager) == []
    div2_manager = make_user("manager", division_name=DIV2)
    across = done(hand_over(make_lead(owner=people.officer), DIV2, "", people.officer))
    assert [n.url for n in notes(people.officer2)] == [f"/handovers/{across.id}"]
    assert [n.kind for n in notes(div2_manager)] == [ASSIGNED]
    assert notes(people.officer) == [] and len(notes(people.fuling)) == 1


# ---------------------------------------------------------------- answers


def test_a_district_that_accepts_becomes_the_leads_district_and_reads_it_while_pending(
    people, make_lead, client_of
):
    lead = make_lead(owner=people.officer, district=CHANGSHOU)
    handover = done(hand_over(lead, FULING, "", people.officer))
    fuling, changshou = client_of(people.fuling), client_of(people.changshou)
    assert fuling.get(f"/leads/{lead.id}").status_code == 200  # pending: theirs to read
    assert changshou.get(f"/leads/{lead.id}").status_code == 200  # still the lead's district
    response = fuling.post(
        f"/handovers/{handover.id}/accept", data={"answer": "同意承接", "version": handover.version}
    )
    assert response.status_code == 302
    handover, lead = fresh(handover), fresh(lead)
    assert handover.status == HandoverStatus.ACCEPTED and handover.answered_by_id == people.fuling.id
    assert lead.intended_district_id == district_id(FULING) and lead.owner_id == people.officer.id
    assert [n.kind for n in notes(people.officer)] == [REPLY]
    assert fuling.get(f"/leads/{lead.id}").status_code == 200
    assert changshou.get(f"/leads/{lead.id}").status_code == 404  # no longer its district


def test_an_officer_of_the_receiving_division_who_accepts_becomes_the_owner(people, make_lead, make_user):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, DIV2, "", people.officer))
    done(accept(handover, people.officer2, handover.version, "由我跟进"))
    assert fresh(lead).owner_id == people.officer2.id and fresh(lead).intended_district_id is None
    # A manager of another division accepting does not take the lead over.
    other = make_lead(owner=people.officer)
    second = done(hand_over(other, DIV2, "", people.officer))
    done(accept(second, people.manager, second.version))
    assert fresh(other).owner_id == people.officer.id and fresh(second).status == HandoverStatus.ACCEPTED
    # Nor can anyone outside the receiving unit accept.
    third = done(hand_over(make_lead(owner=people.officer), DIV2, "", people.officer))
    with refused("只有承接单位（待裁定时为处室负责人）可以接收该交办"):
        accept(third, make_user("officer", division_name=DIV1), third.version)
    with refused("只有承接单位（待裁定时为处室负责人）可以接收该交办"):
        accept(third, people.fuling, third.version)
    assert fresh(third).status == HandoverStatus.PENDING


def test_a_return_needs_a_reason_and_tells_the_hander_and_the_owner(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "", people.manager))  # handed by a manager, owned by an officer
    for reason in ("", "无", "\x00"):
        with pytest.raises(HandoverError):
            return_handover(handover, people.fuling, reason, handover.version)
        db.session.rollback()
    with refused("退回须说明理由"):
        return_handover(handover, people.fuling, "", handover.version)
    with refused("只有承接单位（待裁定时为处室负责人）可以退回该交办"):
        return_handover(handover, people.changshou, "不是我们的", handover.version)
    assert fresh(handover).status == HandoverStatus.PENDING
    fuling = client_of(people.fuling)
    assert fuling.get(f"/leads/{lead.id}").status_code == 200
    done(return_handover(fresh(handover), people.fuling, "企业已选址他省", fresh(handover).version))
    handover = fresh(handover)
    assert (handover.status, handover.answer) == (HandoverStatus.RETURNED, "企业已选址他省")
    for person in (people.officer, people.manager):
        told = notes(person, REPLY)
        assert len(told) == 1 and "企业已选址他省" in told[0].text
    assert notes(people.fuling, REPLY) == []
    assert fuling.get(f"/leads/{lead.id}").status_code == 404  # returned: no longer theirs
    assert fresh(lead).intended_district_id is None


def test_the_hander_withdraws_a_waiting_handover(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "", people.officer))
    with refused("只有交办人或处室负责人可以撤回该交办"):
        withdraw(handover, people.officer2, handover.version)
    with refused("只有交办人或处室负责人可以撤回该交办"):
        withdraw(handover, people.fuling, handover.version)
    fuling = client_of(people.fuling)
    assert fuling.get(f"/leads/{lead.id}").status_code == 200
    done(withdraw(handover, people.officer, handover.version))
    assert fresh(handover).status == HandoverStatus.WITHDRAWN
    assert fuling.get(f"/leads/{lead.id}").status_code == 404
    handover = fresh(handover)
    with pytest.raises(HandoverError):
        accept(handover, people.fuling, handover.version)
    db.session.rollback()
    assert fresh(handover).status == HandoverStatus.WITHDRAWN and fresh(lead).intended_district_id is None


def test_an_answer_on_a_stale_version_is_a_conflict_and_changes_nothing(
    people, make_lead, make_user, client_of
):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "", people.officer))
    seen = handover.version
    other_manager = make_user("manager", division_name=DIV2)
    done(return_handover(handover, other_manager, "另有安排", seen))  # meanwhile, another manager answered
    handover = fresh(handover)
    assert handover.version != seen
    with pytest.raises(HandoverConflict, match="已被他人处理"):
        accept(handover, people.manager, seen)
    db.session.rollback()
    response = client_of(people.manager).post(
        f"/handovers/{handover.id}/accept", data={"answer": "接收", "version": seen}
    )
    assert response.status_code == 409 and "已被他人处理" in response.text
    handover, lead = fresh(handover), fresh(lead)
    assert (handover.status, handover.answered_by_id) == (HandoverStatus.RETURNED, other_manager.id)
    assert lead.intended_district_id is None and lead.owner_id == people.officer.id


def test_two_staff_of_the_receiving_district_answering_at_once_get_the_conflict(people, make_lead, client_of):
    handover = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    seen = handover.version
    first, second = client_of(people.fuling), client_of(people.fuling2)
    assert (
        first.post(f"/handovers/{handover.id}/return", data={"answer": "不符合", "version": seen}).status_code
        == 302
    )
    response = second.post(f"/handovers/{handover.id}/accept", data={"answer": "接收", "version": seen})
    assert fresh(handover).status == HandoverStatus.RETURNED
    assert response.status_code == 409 and "已被他人处理" in response.text


# ---------------------------------------------------------------- duplicates


def test_duplicates_are_the_same_enterprises_live_work_on_the_same_product(
    people, make_lead, make_enterprise, make_project
):
    first, second = catalogue_codes()
    enterprise = make_enterprise()
    lead = make_lead(enterprise, owner=people.officer, catalogue_code=first)
    assert duplicates(lead) == []
    make_lead(enterprise, catalogue_code=second)  # another product
    make_lead(catalogue_code=first)  # another enterprise
    set_stage(make_lead(enterprise, catalogue_code=first), LeadStage.LOST)
    assert duplicates(lead) == []
    elsewhere = make_lead(enterprise, owner=people.officer2, catalogue_code=first, district=CHANGSHOU)
    project = make_project(enterprise=enterprise, catalogue_code=first, district=CHANGSHOU)
    make_project(enterprise=enterprise, catalogue_code=second)  # another product
    found = duplicates(lead)
    assert [(d.kind, d.id, d.unit) for d in found] == [
        ("线索", elsewhere.id, CHANGSHOU),
        ("项目", project.id, CHANGSHOU),
    ]


def test_with_a_duplicate_the_receiver_asks_a_manager_who_alone_decides(
    people, make_lead, make_enterprise, make_user
):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    make_lead(enterprise, owner=people.officer2, catalogue_code=code, district=CHANGSHOU)
    lead = make_lead(enterprise, owner=people.officer, catalogue_code=code)
    second_manager = make_user("manager", division_name=DIV2)
    handover = done(hand_over(lead, FULING, "", people.officer))
    with refused("该企业同一产品已有他处在办的线索或项目，须提请处室负责人裁定后接收"):
        accept(handover, people.fuling, handover.version)
    assert fresh(handover).status == HandoverStatus.PENDING
    done(ask_decision(fresh(handover), people.fuling, "长寿区已在谈", fresh(handover).version))
    handover = fresh(handover)
    assert (handover.status, handover.answer) == (HandoverStatus.DECIDING, "长寿区已在谈")
    for manager in (people.manager, second_manager):
        assert [(n.kind, n.url) for n in notes(manager)] == [(ASSIGNED, f"/handovers/{handover.id}")]
    assert len(notes(people.fuling2, ASSIGNED)) == 1  # the handover itself, not the decision
    assert [n.kind for n in notes(people.officer)] == [REPLY]  # the hander hears it was referred
    with refused("只有承接单位（待裁定时为处室负责人）可以接收该交办"):
        accept(handover, people.fuling, handover.version)
    with refused("只有承接单位（待裁定时为处室负责人）可以退回该交办"):
        return_handover(handover, people.fuling2, "改主意了", handover.version)
    with refused("只有承接单位（待裁定时为处室负责人）可以接收该交办"):
        accept(handover, people.officer2, handover.version)
    assert fresh(handover).status == HandoverStatus.DECIDING
    done(accept(fresh(handover), people.manager, fresh(handover).version, "由涪陵承接"))
    assert fresh(handover).status == HandoverStatus.ACCEPTED
    assert fresh(lead).intended_district_id == district_id(FULING)


def test_a_manager_may_return_a_handover_under_decision(people, make_lead, make_enterprise):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    make_lead(enterprise, catalogue_code=code)
    handover = done(
        hand_over(make_lead(enterprise, owner=people.officer, catalogue_code=code), DIV2, "", people.officer)
    )
    done(ask_decision(handover, people.officer2, "", handover.version))
    assert fresh(handover).answer == "疑似重复，提请裁定"
    done(return_handover(fresh(handover), people.manager, "重复认领", fresh(handover).version))
    assert fresh(handover).status == HandoverStatus.RETURNED


def test_a_district_reporting_up_its_own_lead_already_in_talks_is_shown_to_the_manager(
    people, make_lead, make_enterprise, client_of
):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    talks = make_lead(enterprise, catalogue_code=code, district=FULING)
    set_stage(talks, LeadStage.NEGOTIATION)
    reported = make_lead(enterprise, catalogue_code=code, district=FULING)
    handover = done(hand_over(reported, DIV1, "新线索，投资 8 亿", people.fuling))
    assert [(d.kind, d.id, d.stage) for d in duplicates(reported)] == [
        ("线索", talks.id, LeadStage.NEGOTIATION)
    ]
    page = client_of(people.manager).get(f"/handovers/{handover.id}").text
    warning = re.search(r'data-testid="duplicates">(.*?)</div>', page, re.S).group(1)
    assert f"线索 #{talks.id}" in warning and "商务洽谈" in warning
    assert f"/handovers/{handover.id}/accept" in page  # the manager decides
    receiver = client_of(people.officer).get(f"/handovers/{handover.id}").text
    assert 'data-testid="duplicates"' in receiver
    assert (
        f"/handovers/{handover.id}/accept" not in receiver and f"/handovers/{handover.id}/decide" in receiver
    )


# ---------------------------------------------------------------- records


def test_records_only_by_the_receiving_unit_once_accepted(people, make_lead):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "", people.manager, today=MONDAY))
    with refused("交办接收后才能填写研判、回复和进展报告"):
        add_record(handover, RecordKind.ASSESS, "可行", people.fuling)
    done(accept(handover, people.fuling, handover.version, today=MONDAY))
    for outsider in (people.changshou, people.officer2, people.officer):
        with refused("只有承接单位可以填写研判、回复和进展报告"):
            add_record(fresh(handover), RecordKind.ASSESS, "可行", outsider)
    with refused("请选择记录类型：研判、回复引荐人、进展报告"):
        add_record(fresh(handover), "闲聊", "可行", people.fuling)
    with refused("请填写内容"):
        add_record(fresh(handover), RecordKind.ASSESS, " ", people.fuling)
    assert fresh(handover).records == []

    handover = fresh(handover)
    assert [s.key for s in open_steps(handover, MONDAY)] == ["assess", "reply", "report"]
    done(add_record(handover, RecordKind.ASSESS, "符合本区产业方向", people.fuling))
    assert fresh(handover).assessed_at is not None
    assert [s.key for s in open_steps(fresh(handover), MONDAY)] == ["reply", "report"]
    done(add_record(fresh(handover), RecordKind.REPLY, "已电话回复引荐人", people.fuling2))
    assert [s.key for s in open_steps(fresh(handover), MONDAY)] == ["report"]
    assert fresh(handover).report_due == MONDAY + timedelta(days=current().steps["report"].days)
    reported_on = MONDAY + timedelta(days=10)
    done(add_record(fresh(handover), RecordKind.REPORT, "已完成首轮洽谈", people.fuling, today=reported_on))
    assert fresh(handover).report_due == reported_on + timedelta(days=current().steps["report"].days)
    done(add_record(fresh(handover), RecordKind.REPORT, "局里跟进意见", people.manager))
    assert [(r.kind, r.created_by_id) for r in fresh(handover).records] == [
        (RecordKind.ASSESS, people.fuling.id),
        (RecordKind.REPLY, people.fuling2.id),
        (RecordKind.REPORT, people.fuling.id),
        (RecordKind.REPORT, people.manager.id),
    ]
    # The hander and the owner hear of each record; the manager's own one is not told to them.
    assert len(notes(people.officer, REPLY)) == 5  # the acceptance and the four records
    assert len(notes(people.manager, REPLY)) == 4


def test_records_are_append_only(people, make_lead):
    handover = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    done(accept(handover, people.fuling, handover.version))
    record = done(add_record(fresh(handover), RecordKind.ASSESS, "可行", people.fuling))
    record.body = "改过的研判"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(HandoverRecord, record.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    assert [r.body for r in fresh(handover).records] == ["可行"]


# ---------------------------------------------------------------- steps and lights


@contextmanager
def yellow_days(app, days: int):
    """The rules in force with another number of yellow days for handovers."""
    before = app.extensions[deadlines.EXTENSION_KEY]
    app.extensions[deadlines.EXTENSION_KEY] = replace(before, handover_yellow_days=days)
    try:
        yield
    finally:
        app.extensions[deadlines.EXTENSION_KEY] = before


def _set_dues(handover, respond, assess, reply):
    handover.respond_due, handover.assess_due, handover.reply_due = respond, assess, reply
    db.session.commit()
    return handover


def test_open_steps_and_the_light_on_given_days(app, people, make_lead):
    handover = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer, today=MONDAY))
    respond, assess, reply = handover.respond_due, handover.assess_due, handover.reply_due
    assert respond < assess < reply
    steps = open_steps(handover, MONDAY)
    assert [(s.key, s.due) for s in steps] == [("respond", respond), ("assess", assess), ("reply", reply)]
    assert [s.label for s in steps] == [current().steps[k].label for k in ("respond", "assess", "reply")]
    with yellow_days(app, 2):
        assert handover_light(handover, respond - timedelta(days=2)) == GREEN
        assert handover_light(handover, respond - timedelta(days=1)) == YELLOW
        assert handover_light(handover, respond) == YELLOW  # the deadline day itself
        assert handover_light(handover, respond + timedelta(days=1)) == RED  # one step late is enough
        assert [s.light for s in open_steps(handover, respond + timedelta(days=1))] == [RED, YELLOW, GREEN]
    with yellow_days(app, 0):
        assert handover_light(handover, respond) == GREEN
    # The shipped file: yellow the day before and on the day itself.
    assert current().handover_yellow_days == 2
    assert handover_light(handover, respond - timedelta(days=2)) == GREEN
    assert handover_light(handover, respond - timedelta(days=1)) == YELLOW
    assert handover_light(handover, respond) == YELLOW
    done(withdraw(handover, people.officer, handover.version))
    assert open_steps(fresh(handover), reply + timedelta(days=30)) == []
    assert handover_light(fresh(handover), reply + timedelta(days=30)) is None


def test_an_accepted_handover_keeps_its_steps_until_done_and_reports_until_closed(people, make_lead):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "", people.officer, today=MONDAY))
    done(accept(handover, people.fuling, handover.version, today=MONDAY + timedelta(days=5)))
    late = fresh(handover).respond_due + timedelta(days=1)
    # The respond step is done (though its day has passed): no red from it.
    assert [s.key for s in open_steps(fresh(handover), late)] == ["assess", "reply", "report"]
    far = fresh(handover).report_due + timedelta(days=1)
    assert handover_light(fresh(handover), far) == RED
    done(add_record(fresh(handover), RecordKind.ASSESS, "可行", people.fuling))
    done(add_record(fresh(handover), RecordKind.REPLY, "已回复", people.fuling))
    assert [s.key for s in open_steps(fresh(handover), far)] == ["report"]
    set_stage(fresh(lead), LeadStage.SIGNED)
    assert open_steps(fresh(handover), far) == [] and handover_light(fresh(handover), far) is None


def _mixed_handovers(people, make_lead) -> list[Handover]:
    """Handovers in every state that has a light or none, with deadlines around MONDAY + 7."""
    day = MONDAY + timedelta(days=7)
    made = []

    def handed(to=FULING, by=None):
        handover = done(
            hand_over(make_lead(owner=people.officer), to, "", by or people.officer, today=MONDAY)
        )
        made.append(handover)
        return handover

    _set_dues(handed(), day - timedelta(days=1), day + timedelta(days=3), day + timedelta(days=5))  # red
    _set_dues(handed(), day, day + timedelta(days=3), day + timedelta(days=5))  # yellow (due that day)
    _set_dues(handed(), day + timedelta(days=1), day + timedelta(days=3), day + timedelta(days=5))
    _set_dues(handed(CHANGSHOU), day + timedelta(days=2), day + timedelta(days=3), day + timedelta(days=4))
    _set_dues(handed(DIV2), day - timedelta(days=3), day - timedelta(days=2), day - timedelta(days=1))
    # Accepted: respond no longer counts, assess is late.
    accepted = handed()
    _set_dues(accepted, day - timedelta(days=5), day - timedelta(days=1), day + timedelta(days=9))
    done(accept(accepted, people.fuling, accepted.version, today=day - timedelta(days=6)))
    # Accepted, assessed and replied: only the report is open (due day + 8 - 6 … per the rules).
    reporting = handed(DIV2)
    _set_dues(reporting, day - timedelta(days=5), day - timedelta(days=4), day - timedelta(days=3))
    done(accept(reporting, people.officer2, reporting.version, today=day - timedelta(days=6)))
    done(add_record(fresh(reporting), RecordKind.ASSESS, "可行", people.officer2))
    done(add_record(fresh(reporting), RecordKind.REPLY, "已回复", people.officer2))
    # Returned and withdrawn, with deadlines long past: no light.
    returned = handed()
    _set_dues(returned, day - timedelta(days=9), day - timedelta(days=8), day - timedelta(days=7))
    done(return_handover(returned, people.fuling, "不符合产业方向", returned.version))
    withdrawn = handed(DIV2)
    _set_dues(withdrawn, day - timedelta(days=9), day - timedelta(days=8), day - timedelta(days=7))
    done(withdraw(withdrawn, people.officer, withdrawn.version))
    return [fresh(h) for h in made]


def test_the_sql_light_filter_and_the_counts_agree_with_the_python_light(app, people, make_lead):
    handovers = _mixed_handovers(people, make_lead)
    ids = [h.id for h in handovers]
    days = [MONDAY + timedelta(days=n) for n in range(0, 26, 1)]
    seen = set()
    for yellow in (1, 3):
        with yellow_days(app, yellow):
            for on in days:
                python = {h.id: handover_light(h, on) for h in handovers}
                seen.update(python.values())
                for light in (RED, YELLOW, GREEN):
                    stmt = handover_query(HandoverFilter(light=light), people.manager, on)
                    listed = set(db.session.scalars(stmt.with_only_columns(Handover.id)))
                    assert listed == {i for i in ids if python[i] == light}, (on, yellow, light)
                counts = light_counts(handover_query(HandoverFilter(), people.manager, on), on)
                assert counts == {
                    "live": sum(h.status in HANDOVER_LIVE for h in handovers),
                    "waiting": sum(h.status in HANDOVER_WAITING for h in handovers),
                    RED: sum(python[i] == RED for i in ids),
                    YELLOW: sum(python[i] == YELLOW for i in ids),
                    GREEN: sum(python[i] == GREEN for i in ids),
                }, (on, yellow)
    assert seen == {RED, YELLOW, GREEN, None}  # every case was met
    # A district's counts are its own handovers' only.
    on = MONDAY + timedelta(days=7)
    mine = [h for h in handovers if h.to_district_id == district_id(CHANGSHOU)]
    assert light_counts(handover_query(HandoverFilter(), people.changshou, on), on)["live"] == len(mine) == 1


def test_a_handover_with_no_open_step_is_not_green_in_sql_and_a_decision_has_its_deadline(
    people, make_lead, make_enterprise
):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    make_lead(enterprise, catalogue_code=code)
    deciding = done(
        hand_over(
            make_lead(enterprise, owner=people.officer, catalogue_code=code), FULING, "", people.officer
        )
    )
    done(ask_decision(deciding, people.fuling, "疑似重复", deciding.version))
    finished = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    done(accept(finished, people.fuling, finished.version))
    done(add_record(fresh(finished), RecordKind.ASSESS, "可行", people.fuling))
    done(add_record(fresh(finished), RecordKind.REPLY, "已回复", people.fuling))
    set_stage(fresh(finished).lead, LeadStage.SIGNED)
    on = today_local()
    # 待裁定: the managers' decision is the open step, due in the rules' working days.
    rules = current()
    decide = rules.steps["decide"].due(on, rules.calendar)
    assert [(s.key, s.due) for s in open_steps(fresh(deciding), on)] == [("decide", decide)]
    assert handover_light(fresh(deciding), decide + timedelta(days=1)) == RED
    quiet = {h.id for h in (fresh(deciding), fresh(finished)) if handover_light(h, on) is None}
    assert quiet == {finished.id}
    green = handover_query(HandoverFilter(light=GREEN), people.manager, on)
    assert quiet.isdisjoint(db.session.scalars(green.with_only_columns(Handover.id)))
    counts = light_counts(handover_query(HandoverFilter(), people.manager, on), on)
    lit = {handover_light(fresh(deciding), on)}
    assert sum(counts[light] for light in (RED, YELLOW, GREEN)) == 1 and counts[lit.pop()] == 1


# ---------------------------------------------------------------- overdue: red, and the owner is told


def test_a_lead_handed_to_a_district_past_its_deadline_is_red_and_its_owner_is_told(
    people, make_lead, runner, client_of
):
    today = today_local()
    lead = make_lead(owner=people.officer)
    handed = today - timedelta(days=8)  # a week's reply deadline has passed whatever the holidays
    handover = done(hand_over(lead, FULING, "请尽快对接", people.manager, today=handed))
    on_time = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer, today=today))
    assert handover.reply_due < today  # 7 calendar days: late whatever the holidays
    assert handover_light(handover, today) == RED and handover_light(on_time, today) != RED

    manager = client_of(people.manager)
    listed = manager.get("/handovers?light=red").text
    assert rows(listed) == [handover.id] and 'data-light="red"' in row_html(listed, handover.id)
    lead_page = client_of(people.officer).get(f"/leads/{lead.id}").text
    section = re.search(r'data-testid="lead-handovers">(.*?)</ul>', lead_page, re.S).group(1)
    assert 'data-light="red"' in section and f"/handovers/{handover.id}" in section
    detail = client_of(people.fuling).get(f"/handovers/{handover.id}").text
    assert 'data-light="red"' in detail.split('data-testid="status"')[0]

    result = runner.invoke(args=["notify", "run"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    for person in (people.officer, people.manager, people.fuling, people.fuling2):
        overdue = notes(person, OVERDUE)
        assert overdue and {n.url for n in overdue} == {f"/handovers/{handover.id}"}, person.username
        assert any(lead.title in n.text and "已逾期" in n.text for n in overdue)
    assert notes(people.changshou) == [] and notes(people.officer2) == []
    count = db.session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
    again = runner.invoke(args=["notify", "run"])
    assert again.exit_code == 0 and "新增通知 0 条" in again.output
    assert db.session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1)) == count


# ---------------------------------------------------------------- pages


def test_the_list_filters_to_me_by_me_light_and_status(people, make_lead, client_of):
    today = today_local()
    mine = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer, today=today))
    to_me = done(hand_over(make_lead(owner=people.officer2), DIV1, "", people.officer2, today=today))
    late = done(
        hand_over(
            make_lead(owner=people.officer2), DIV1, "", people.officer2, today=today - timedelta(days=9)
        )
    )
    returned = done(hand_over(make_lead(owner=people.officer), DIV2, "", people.officer, today=today))
    done(return_handover(returned, people.officer2, "不属本处", returned.version))
    officer = client_of(people.officer)
    everything = officer.get("/handovers")
    assert everything.status_code == 200
    assert set(rows(everything.text)) == {mine.id, to_me.id, late.id, returned.id}
    assert rows(everything.text)[-1] == returned.id  # answered ones after the waiting ones
    assert 'data-count="4"' in everything.text
    assert set(rows(officer.get("/handovers?to_me=1").text)) == {to_me.id, late.id}
    assert set(rows(officer.get("/handovers?by_me=1").text)) == {mine.id, returned.id}
    assert rows(officer.get("/handovers?light=red").text) == [late.id]
    assert rows(officer.get("/handovers?to_me=1&light=red").text) == [late.id]
    assert rows(officer.get("/handovers?status=已退回").text) == [returned.id]
    assert set(rows(officer.get("/handovers?status=待接收&by_me=1").text)) == {mine.id}
    fuling = client_of(people.fuling).get("/handovers?to_me=1").text
    assert rows(fuling) == [mine.id]
    for odd in (
        "light=purple",
        "status=%ff",
        "to_me=yes",
        "lead=99999999999999999999",
        "page=abc",
        "lead=-1",
    ):
        response = officer.get(f"/handovers?{odd}")
        assert response.status_code == 200, odd
    assert set(rows(officer.get(f"/handovers?lead={mine.lead_id}").text)) == {mine.id}


def test_the_handover_form_offers_a_district_only_divisions(people, make_lead, client_of):
    own = make_lead(district=FULING)
    page = client_of(people.fuling).get(f"/leads/{own.id}/handover")
    assert page.status_code == 200 and "上报线索" in page.text
    values = re.findall(r'<option[^>]*value="([^"]*)"', page.text)
    assert f"v{division_id(DIV1)}" in values and not any(v.startswith("d") for v in values)
    officer_page = client_of(people.officer).get(f"/leads/{make_lead(owner=people.officer).id}/handover").text
    officer_values = re.findall(r'<option[^>]*value="([^"]*)"', officer_page)
    assert f"d{district_id(FULING)}" in officer_values and f"v{division_id(DIV2)}" in officer_values


def test_handing_over_from_the_page(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    response = client_of(people.officer).post(
        f"/leads/{lead.id}/handover", data={"to": f"d{district_id(FULING)}", "note": "企业计划扩产 5 亿"}
    )
    handover = db.session.scalar(select(Handover).where(Handover.lead_id == lead.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/handovers/{handover.id}")
    assert (handover.note, handover.to_district_id, handover.handed_by_id) == (
        "企业计划扩产 5 亿",
        district_id(FULING),
        people.officer.id,
    )


@pytest.mark.parametrize(
    ("to", "note", "message"),
    [
        ("", "企业诉求：用地 200 亩", "请选择承接单位"),
        ("d99999", "企业诉求：用地 200 亩", "未知的承接单位"),
        ("<script>", "企业诉求：用地 200 亩", "未知的承接单位"),
        ("v-1", "企业诉求：用地 200 亩", "未知的承接单位"),
        ("OWN", "企业诉求：用地 200 亩", "不能交办给本单位"),
        ("FULING", "长" * 4001, "交办说明不能超过 4000 个字符"),
    ],
)
def test_a_failed_handover_keeps_what_was_typed_with_the_message_beside_the_field(
    people, make_lead, client_of, to, note, message
):
    lead = make_lead(owner=people.officer)
    to = {"OWN": f"v{division_id(DIV1)}", "FULING": f"d{district_id(FULING)}"}.get(to, to)
    response = client_of(people.officer).post(f"/leads/{lead.id}/handover", data={"to": to, "note": note})
    assert response.status_code == 200  # the form again, as the lead form answers a refused submit
    html = response.text
    assert re.search(rf'<div class="invalid-feedback d-block">[^<]*{re.escape(message)}', html)
    if to.startswith(("v", "d")) and to[1:].isdigit() and int(to[1:]) < 99999:
        assert re.search(rf'<option selected value="{to}">', html)  # the unit chosen stays chosen
    if len(note) < 100:
        assert note in html  # what was typed comes back
    assert db.session.scalar(select(Handover.id)) is None


def test_control_characters_anywhere_are_a_chinese_400_and_change_nothing(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "", people.officer))
    receiver = client_of(people.fuling)
    for url, data in (
        (
            f"/leads/{make_lead(owner=people.officer).id}/handover",
            {"to": f"d{district_id(FULING)}", "note": "说明\x00"},
        ),
        (f"/handovers/{handover.id}/return", {"answer": "理由\x00", "version": handover.version}),
        (f"/handovers/{handover.id}/records", {"kind": "研判", "body": "\x00"}),
    ):
        client = client_of(people.officer) if "/leads/" in url else receiver
        response = client.post(url, data=data)
        assert response.status_code == 400 and "无效的控制字符" in response.text, url
    assert receiver.get("/handovers?to_me=%00").status_code == 400
    assert db.session.scalar(select(Handover.id).where(Handover.id != handover.id)) is None
    assert fresh(handover).status == HandoverStatus.PENDING


@pytest.mark.parametrize("to", ["v" + "9" * 25, "d" + "9" * 25])
def test_an_id_out_of_range_as_the_receiver_is_a_chinese_refusal(people, make_lead, client_of, to):
    lead = make_lead(owner=people.officer)
    response = client_of(people.officer).post(f"/leads/{lead.id}/handover", data={"to": to, "note": ""})
    assert response.status_code in (200, 400) and "未知的承接单位" in response.text


def test_the_handover_page_shows_its_steps_and_the_forms_its_reader_may_use(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    handover = done(hand_over(lead, FULING, "请对接", people.officer))
    receiver = client_of(people.fuling)
    page = receiver.get(f"/handovers/{handover.id}").text
    assert 'id="answer-form"' in page and f"/handovers/{handover.id}/accept" in page
    assert f"/handovers/{handover.id}/withdraw" not in page and 'id="record-form"' not in page
    assert "王一（产业招商一处）" in page and str(handover.respond_due) in page
    hander = client_of(people.officer).get(f"/handovers/{handover.id}").text
    assert f"/handovers/{handover.id}/withdraw" in hander and f"/handovers/{handover.id}/accept" not in hander
    onlooker = client_of(people.officer2).get(f"/handovers/{handover.id}").text
    assert 'id="answer-form"' not in onlooker and 'id="record-form"' not in onlooker

    # A return without a reason: the message beside the field, nothing changed.
    response = receiver.post(
        f"/handovers/{handover.id}/return", data={"answer": "", "version": handover.version}
    )
    assert response.status_code == 400
    assert re.search(r'<div class="invalid-feedback d-block">退回须说明理由', response.text)
    assert fresh(handover).status == HandoverStatus.PENDING
    response = receiver.post(f"/handovers/{handover.id}/accept", data={"answer": "好", "version": "abc"})
    assert response.status_code == 400 and "整数" in response.text
    response = receiver.post(f"/handovers/{handover.id}/accept", data={"answer": "好", "version": "9" * 30})
    assert response.status_code == 409 and "已被他人处理" in response.text
    assert fresh(handover).status == HandoverStatus.PENDING
    response = client_of(people.officer2).post(
        f"/handovers/{handover.id}/accept", data={"version": handover.version}
    )
    assert response.status_code == 400 and "只有承接单位" in response.text
    assert (
        receiver.post(f"/handovers/{handover.id}/accept", data={"version": handover.version}).status_code
        == 302
    )

    page = receiver.get(f"/handovers/{handover.id}").text
    assert 'id="record-form"' in page and 'id="answer-form"' not in page
    assert '<span class="badge text-bg-secondary" data-testid="status">已接收</span>' in page
    response = receiver.post(f"/handovers/{handover.id}/records", data={"kind": "闲聊", "body": "你好"})
    assert response.status_code == 400 and "请选择记录类型" in response.text and "你好" in response.text
    response = receiver.post(f"/handovers/{handover.id}/records", data={"kind": "研判", "body": " "})
    assert response.status_code == 400 and "请填写内容" in response.text
    assert fresh(handover).records == []
    response = receiver.post(
        f"/handovers/{handover.id}/records", data={"kind": "研判", "body": "符合产业方向，建议跟进"}
    )
    assert response.status_code == 302
    records = receiver.get(f"/handovers/{handover.id}").text
    assert "符合产业方向，建议跟进" in re.search(r'data-testid="records">(.*?)</ol>', records, re.S).group(1)


def test_asking_for_a_decision_and_withdrawing_from_the_page(people, make_lead, make_enterprise, client_of):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    make_lead(enterprise, catalogue_code=code, district=CHANGSHOU)
    handover = done(
        hand_over(
            make_lead(enterprise, owner=people.officer, catalogue_code=code), FULING, "", people.officer
        )
    )
    receiver = client_of(people.fuling)
    page = receiver.get(f"/handovers/{handover.id}").text
    assert f"/handovers/{handover.id}/accept" not in page and f"/handovers/{handover.id}/decide" in page
    response = receiver.post(f"/handovers/{handover.id}/accept", data={"version": handover.version})
    assert response.status_code == 400 and "须提请处室负责人裁定" in response.text
    response = receiver.post(
        f"/handovers/{handover.id}/decide", data={"answer": "长寿在谈", "version": handover.version}
    )
    assert response.status_code == 302 and fresh(handover).status == HandoverStatus.DECIDING
    other = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    hander = client_of(people.officer)
    response = hander.post(f"/handovers/{other.id}/withdraw", data={"version": other.version})
    assert response.status_code == 302 and fresh(other).status == HandoverStatus.WITHDRAWN
    response = hander.post(f"/handovers/{other.id}/withdraw", data={"version": fresh(other).version})
    assert response.status_code == 400 and fresh(other).status == HandoverStatus.WITHDRAWN


def test_refusals_name_the_status_in_plain_chinese(people, make_lead):
    handover = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    done(accept(handover, people.fuling, handover.version))
    messages = []
    for verb in (
        lambda h: accept(h, people.manager, h.version),
        lambda h: withdraw(h, people.officer, h.version),
    ):
        with pytest.raises(HandoverError) as refusal:
            verb(fresh(handover))
        db.session.rollback()
        messages.append(str(refusal.value))
    assert all("已已" not in message for message in messages), messages


# ---------------------------------------------------------------- scope: two districts, every route


ACTIONS = ("accept", "decide", "return", "withdraw")


def test_another_districts_handover_is_a_404_on_every_route(people, make_lead, client_of):
    down = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    up = done(hand_over(make_lead(district=FULING), DIV1, "", people.fuling))
    done(accept(up, people.officer, up.version))
    fuling, changshou = client_of(people.fuling), client_of(people.changshou)
    for handover in (down, up):
        assert fuling.get(f"/handovers/{handover.id}").status_code == 200
        assert changshou.get(f"/handovers/{handover.id}").status_code == 404
        for action in ACTIONS:
            response = changshou.post(
                f"/handovers/{handover.id}/{action}",
                data={"answer": "越权", "version": fresh(handover).version},
            )
            assert response.status_code == 404, action
        response = changshou.post(f"/handovers/{handover.id}/records", data={"kind": "研判", "body": "越权"})
        assert response.status_code == 404
    assert fresh(down).status == HandoverStatus.PENDING and fresh(up).records == []
    assert rows(changshou.get("/handovers").text) == []
    assert rows(changshou.get("/handovers?light=green").text) == []
    assert rows(changshou.get(f"/handovers?lead={down.lead_id}").text) == []
    assert set(rows(fuling.get("/handovers").text)) == {down.id, up.id}
    # Hand over another district's lead: not even its form.
    assert changshou.get(f"/leads/{up.lead_id}/handover").status_code == 404
    response = changshou.post(f"/leads/{up.lead_id}/handover", data={"to": f"v{division_id(DIV2)}"})
    assert response.status_code == 404
    assert (
        db.session.scalar(select(Handover.id).where(Handover.lead_id == up.lead_id, Handover.id != up.id))
        is None
    )
    # 长寿区's own handover stays out of 涪陵区's sight the same way.
    theirs = done(hand_over(make_lead(district=CHANGSHOU), DIV1, "", people.changshou))
    assert fuling.get(f"/handovers/{theirs.id}").status_code == 404
    assert theirs.id not in rows(fuling.get("/handovers").text)
    assert changshou.get(f"/handovers/{theirs.id}").status_code == 200


def test_the_receiving_district_may_read_but_not_hand_on_a_lead_handed_to_it(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    done(hand_over(lead, FULING, "", people.officer))
    fuling = client_of(people.fuling)
    assert fuling.get(f"/leads/{lead.id}").status_code == 200
    assert fuling.get(f"/leads/{lead.id}/handover").status_code == 403


def test_administrators_get_403_on_every_handover_route(people, make_lead, make_user, client_of):
    handover = done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    admin = client_of(make_user("admin"))
    assert admin.get("/handovers").status_code == 403
    assert admin.get(f"/handovers/{handover.id}").status_code == 403
    assert admin.get(f"/leads/{handover.lead_id}/handover").status_code == 403
    assert admin.post(f"/leads/{handover.lead_id}/handover", data={"to": FULING}).status_code == 403
    for action in ACTIONS:
        assert admin.post(f"/handovers/{handover.id}/{action}", data={"answer": "x"}).status_code == 403
    assert (
        admin.post(f"/handovers/{handover.id}/records", data={"kind": "研判", "body": "x"}).status_code == 403
    )
    assert fresh(handover).status == HandoverStatus.PENDING


# ---------------------------------------------------------------- after the review


def test_a_district_is_told_of_duplicates_it_may_not_read_only_by_their_number(
    people, make_lead, make_project, make_enterprise, client_of
):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    make_project(name="长寿区保密在谈项目", enterprise=enterprise, district=CHANGSHOU, catalogue_code=code)
    lead = make_lead(enterprise, owner=people.officer, catalogue_code=code)
    handover = done(hand_over(lead, FULING, "", people.officer))
    page = client_of(people.fuling).get(f"/handovers/{handover.id}").text
    assert "长寿区保密在谈项目" not in page
    assert "另有 1 条他处在办的线索或项目" in page and "提请处室负责人裁定" in page
    assert ">接收</button>" not in page  # a duplicate, even unseen, is the manager's to decide
    assert "长寿区保密在谈项目" in client_of(people.manager).get(f"/handovers/{handover.id}").text
    shown, hidden = visible_duplicates(lead, people.fuling)
    assert (shown, hidden) == ([], 1)


def test_a_lead_handed_on_stops_being_the_earlier_units(people, make_lead, client_of):
    lead = make_lead(owner=people.officer)
    first = done(hand_over(lead, CHANGSHOU, "", people.officer))
    done(accept(first, people.changshou, first.version))
    second = done(hand_over(fresh(lead), FULING, "", people.manager))
    assert client_of(people.changshou).get(f"/leads/{lead.id}").status_code == 200  # still theirs
    done(accept(fresh(second), people.fuling, fresh(second).version))
    assert fresh(first).status == HandoverStatus.SUPERSEDED
    assert open_steps(fresh(first), today_local() + timedelta(days=60)) == []
    assert client_of(people.changshou).get(f"/leads/{lead.id}").status_code == 404
    assert client_of(people.fuling).get(f"/leads/{lead.id}").status_code == 200
    with refused("交办接收后才能填写"):
        add_record(fresh(first), RecordKind.REPORT, "本月进展", people.changshou)


def test_handed_to_my_unit_is_nothing_for_bureau_staff_in_no_division(people, make_user, make_lead):
    loose = make_user("officer", display_name="未分处室")
    done(hand_over(make_lead(owner=people.officer), FULING, "", people.officer))
    assert db.session.scalars(handover_query(HandoverFilter(to_me=True), loose)).all() == []
    assert light_counts(handover_query(HandoverFilter(to_me=True), loose), today_local())["live"] == 0


def test_a_big_district_lead_asks_to_be_reported_up_until_it_is(people, make_lead, client_of):
    threshold = current().report_up_wan
    big = make_lead(owner=people.officer, district=FULING, intended_investment_wan=str(threshold))
    small = make_lead(owner=people.officer, district=FULING, intended_investment_wan=str(threshold - 1))
    browser = client_of(people.fuling)
    assert 'data-testid="report-up"' in browser.get(f"/leads/{big.id}").text
    assert 'data-testid="report-up"' not in browser.get(f"/leads/{small.id}").text
    assert 'data-testid="report-up"' not in client_of(people.officer).get(f"/leads/{big.id}").text
    done(hand_over(fresh(big), f"v{division_id(DIV2)}", "意向投资超过 5 亿元", people.fuling))
    assert 'data-testid="report-up"' not in browser.get(f"/leads/{big.id}").text


def test_a_decision_asked_reminds_the_managers_when_it_is_late(people, make_lead, make_enterprise, runner):
    (code,) = catalogue_codes(1)
    enterprise = make_enterprise()
    make_lead(enterprise, catalogue_code=code)
    handover = done(
        hand_over(
            make_lead(enterprise, owner=people.officer, catalogue_code=code), FULING, "", people.officer
        )
    )
    done(ask_decision(handover, people.fuling, "疑似重复", handover.version, today=MONDAY))
    assert fresh(handover).decide_due == expected_due("decide", MONDAY)
    result = runner.invoke(args=["notify", "run"])
    assert result.exit_code == 0, result.output
    late = [n for n in notes(people.manager, "overdue") if n.url == f"/handovers/{handover.id}"]
    assert late and "处室负责人裁定" in late[0].text
    assert not [n for n in notes(people.fuling, "overdue") if "裁定" in n.text]
