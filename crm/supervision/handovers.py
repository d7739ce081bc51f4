"""线索交办: hand a lead to a district or a division (or, from a district, report it up to the
bureau), with a deadline for each step from the rules in force (respond, assess, reply to the
referrer, report every two weeks); the receiving unit accepts it or returns it with a reason; a
lead that the same enterprise already has worked elsewhere goes to a manager to decide; the first
referrer (第一引资人) stays with the lead; each step's light, the one filtered query behind the list.

Who does what:
- hands a lead on: its owner and managers, to any unit; a district's staff report a lead of their
  district up to a division;
- answers (accepts, returns, asks a manager to decide) and records 研判, the reply and reports: the
  receiving unit's people; managers always, and only managers once a decision was asked for;
- withdraws a handover not yet answered: whoever handed it, and managers.
The verbs validate, mutate and flush; the caller commits."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.core.converters import record_id
from crm.core.text import clean_text
from crm.core.timeutil import today_local, utcnow
from crm.core.transaction import Conflict, Refusal, serialise
from crm.extensions import db
from crm.inbox.models import ASSIGNED, REPLY
from crm.inbox.service import managers, post, unit_members
from crm.leads.models import CLOSED, LOST, Lead
from crm.leads.service import LEAD_WORKERS
from crm.places.models import District
from crm.places.service import active_divisions, resolve_district
from crm.projects.models import TERMINATED, Project
from crm.supervision.models import (
    HANDOVER_LIVE,
    HANDOVER_STATUSES,
    HANDOVER_WAITING,
    Handover,
    HandoverDirection,
    HandoverRecord,
    HandoverStatus,
    RecordKind,
)
from crm.supervision.rules import GREEN, RED, YELLOW, current, worst

MAX_TEXT = 4000
WORKING_ON = (HandoverStatus.PENDING, HandoverStatus.ACCEPTED)  # assess and reply are due


class HandoverError(Refusal):
    """A handover that cannot be made or answered; the message says why, in Chinese."""


class HandoverConflict(HandoverError, Conflict):
    def __init__(self):
        super().__init__("该交办在您操作期间已被他人处理，本次操作未生效。请刷新页面查看最新状态后重试。")


# ---------------------------------------------------------------- who


def may_hand_over(user, lead: Lead) -> bool:
    """The owner and managers hand a lead to anyone; a district's staff report up their own."""
    role = getattr(user, "role", None)
    if role == MANAGER:
        return True
    if role == OFFICER:
        return lead.owner_id == user.id
    return role == DISTRICT and lead.intended_district_id == user.district_id


def is_receiver(user, handover: Handover) -> bool:
    role = getattr(user, "role", None)
    if handover.to_division_id is not None:
        return role in LEAD_WORKERS and user.division_id == handover.to_division_id
    return role == DISTRICT and user.district_id == handover.to_district_id


def may_answer(user, handover: Handover) -> bool:
    """Accept or return: the receiving unit while it waits; only a manager once a decision was asked."""
    if getattr(user, "role", None) == MANAGER:
        return True
    return handover.status == HandoverStatus.PENDING and is_receiver(user, handover)


def may_record(user, handover: Handover) -> bool:
    return getattr(user, "role", None) == MANAGER or is_receiver(user, handover)


def may_withdraw(user, handover: Handover) -> bool:
    return getattr(user, "role", None) == MANAGER or handover.handed_by_id == getattr(user, "id", None)


# ---------------------------------------------------------------- the receiving unit


def receiver_of(value, by: User) -> tuple[int | None, int | None]:
    """(division id, district id) from a submitted "v<id>" / "d<id>", or a division's or a
    district's name (or alias). A district's staff may only report up to a division."""
    text = str(value or "").strip()[:64]
    if not text:
        raise HandoverError("请选择承接单位：一个处室或一个区县", field="to")
    division = district = None
    coded = text[:1] in ("v", "d") and text[1:].isascii() and text[1:].isdigit()  # a choice's value
    if coded:
        ident = record_id(text[1:])
        if text[0] == "v":
            division = next((d for d in active_divisions() if d.id == ident), None)
        elif ident is not None:
            district = db.session.get(District, ident)
    else:
        division = next((d for d in active_divisions() if d.name == text), None)
        district = resolve_district(text) if division is None else None
    if division is None and district is None:
        if coded:
            raise HandoverError("未知的承接单位：所选处室或区县不存在或已停用，请重新选择", field="to")
        raise HandoverError(f"未知的承接单位“{text}”", field="to")
    if by.role == DISTRICT and division is None:
        raise HandoverError("区县只能向市局的处室上报线索", field="to")
    return (division.id if division else None), (district.id if district else None)


# ---------------------------------------------------------------- telling people


def _url(handover: Handover) -> str:
    return f"/handovers/{handover.id}"


def _receivers(handover: Handover) -> list[User]:
    return unit_members(handover.to_division_id, handover.to_district_id)


def _senders(handover: Handover) -> list[User]:
    """The one who handed it and the lead's owner: who hears its answer and its reports."""
    people = [handover.lead.owner]
    if handover.handed_by is not None and handover.handed_by.id != handover.lead.owner_id:
        people.append(handover.handed_by)
    return people


# ---------------------------------------------------------------- duplicates


@dataclass
class Duplicate:
    """A lead or project of the same enterprise, on the same product, worked by someone else."""

    kind: str  # 线索 / 项目
    id: int
    title: str
    unit: str
    stage: str
    url: str


def duplicates(lead: Lead) -> list[Duplicate]:
    """The same enterprise's other live leads and projects on the same catalogue entry (or where
    either names no entry): a lead worked elsewhere, or a district's own 在谈 project reported
    again as a city lead. Shown before anyone accepts, and a manager decides."""
    same_entry = (
        or_(Lead.catalogue_entry_id == lead.catalogue_entry_id, Lead.catalogue_entry_id.is_(None))
        if lead.catalogue_entry_id
        else True
    )
    others = select(Lead).where(
        Lead.enterprise_id == lead.enterprise_id,
        Lead.id != lead.id,
        Lead.stage != LOST,
        same_entry,
    )
    found = [
        Duplicate(
            "线索",
            other.id,
            other.title,
            other.intended_district.name if other.intended_district else other.owner.display_name,
            other.stage,
            f"/leads/{other.id}",
        )
        for other in db.session.scalars(
            others.options(joinedload(Lead.owner), joinedload(Lead.intended_district)).order_by(Lead.id)
        )
    ]
    project_entry = Project.catalogue_entry_id == lead.catalogue_entry_id if lead.catalogue_entry_id else True
    projects = select(Project).where(
        Project.enterprise_id == lead.enterprise_id,
        Project.stage != TERMINATED,
        or_(Project.lead_id.is_(None), Project.lead_id != lead.id),
        project_entry,
    )
    found += [
        Duplicate("项目", p.id, p.name, p.district.name, p.stage, f"/projects/{p.id}")
        for p in db.session.scalars(projects.options(joinedload(Project.district)).order_by(Project.id))
    ]
    return found


def visible_duplicates(lead: Lead, viewer) -> tuple[list[Duplicate], int]:
    """The duplicates `viewer` may read, and how many others there are: a district's staff are
    told that the lead is worked elsewhere, never by whom or on which project (the bureau sees all)."""
    found = duplicates(lead)
    if getattr(viewer, "role", None) != DISTRICT or not found:
        return found, 0
    readable = {
        kind: set(
            db.session.scalars(
                scoped(select(model.id), model, viewer).where(
                    model.id.in_([d.id for d in found if d.kind == kind])
                )
            )
        )
        for kind, model in (("线索", Lead), ("项目", Project))
    }
    shown = [d for d in found if d.id in readable[d.kind]]
    return shown, len(found) - len(shown)


def should_report_up(lead: Lead, handovers: list[Handover], user) -> bool:
    """A district's lead whose intended investment reaches the rules' threshold (5 亿元) is to be
    reported to the bureau: true for its district's staff until a report up is live."""
    threshold = current().report_up_wan
    return (
        getattr(user, "role", None) == DISTRICT
        and lead.intended_district_id == user.district_id
        and lead.stage not in CLOSED
        and (lead.intended_investment_wan or 0) >= threshold > 0
        and not any(h.to_division_id and h.status in HANDOVER_LIVE for h in handovers)
    )


# ---------------------------------------------------------------- verbs


def _text(value, label: str, field: str) -> str:
    return clean_text(value, label, MAX_TEXT, lambda m: HandoverError(m, field=field))


def hand_over(lead: Lead, to, note, by: User, today: date | None = None) -> Handover:
    """Hand `lead` to a unit; the steps' deadlines are set from today by the rules in force."""
    if not may_hand_over(by, lead):
        raise HandoverError("只有线索负责人、处室负责人或线索所在区县可以交办或上报该线索")
    if lead.stage in CLOSED:
        raise HandoverError(f"该线索已{lead.stage}，不能再交办")
    # Two people handing the same lead at once: the second waits, then sees the first's handover.
    serialise(f"handover:lead:{lead.id}")
    waiting = db.session.scalar(
        select(Handover.id).where(Handover.lead_id == lead.id, Handover.status.in_(HANDOVER_WAITING))
    )
    if waiting is not None:
        raise HandoverError("该线索已有一项交办等待答复，请待其接收、退回或撤回后再交办", field="to")
    division_id, district_id = receiver_of(to, by)
    own = (by.division_id, None) if by.role != DISTRICT else (None, by.district_id)
    if (division_id, district_id) == own:
        raise HandoverError("不能交办给本单位", field="to")
    text = _text(note, "交办说明", "note")
    if by.role == DISTRICT:
        direction = HandoverDirection.UP
    elif district_id is not None:
        direction = HandoverDirection.DOWN
    else:
        direction = HandoverDirection.ACROSS
    today = today or today_local()
    rules = current()
    steps = rules.steps
    handover = Handover(
        lead=lead,
        direction=direction,
        from_division_id=own[0],
        from_district_id=own[1],
        to_division_id=division_id,
        to_district_id=district_id,
        note=text,
        status=HandoverStatus.PENDING,
        handed_by=by,
        respond_due=steps["respond"].due(today, rules.calendar),
        assess_due=steps["assess"].due(today, rules.calendar),
        reply_due=steps["reply"].due(today, rules.calendar),
    )
    db.session.add(handover)
    db.session.flush()
    if not lead.first_referrer:
        # Who brought the lead: the district's staff who report it up, else its owner (the officer
        # who found it), whoever presses the button.
        referrer = by if by.role == DISTRICT else lead.owner
        unit = referrer.district or referrer.division
        lead.first_referrer = f"{referrer.display_name}（{unit.name if unit else '市招商投资局'}）"[:64]
    db.session.flush()
    text = (
        f"线索{handover.direction}{handover.receiver.name}：{lead.title}"
        f"（请于 {handover.respond_due.isoformat()} 前接收或退回）"
    )
    post(_receivers(handover), ASSIGNED, text, _url(handover), f"assigned:handover:{handover.id}", exclude=by)
    return handover


def _check(handover: Handover, version) -> None:
    if version is not None and str(version) != str(handover.version):
        raise HandoverConflict()


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as error:
        raise HandoverConflict() from error


def _answered(handover: Handover, status: str, answer: str, by: User) -> None:
    handover.status, handover.answer = status, answer
    handover.answered_by, handover.answered_at = by, utcnow()
    handover.version += 1


def accept(handover: Handover, by: User, version=None, note="", today: date | None = None) -> Handover:
    """The receiving unit takes the lead on. With a duplicate on file only a manager may accept
    (the receiver asks for a decision instead). A district that accepts becomes the lead's
    intended district; a division's officer who accepts becomes its owner."""
    _check(handover, version)
    if not may_answer(by, handover):
        raise HandoverError("只有承接单位（待裁定时为处室负责人）可以接收该交办")
    if handover.status not in HANDOVER_WAITING:
        raise HandoverError(f"该交办当前为“{handover.status}”，不能再答复")
    if by.role != MANAGER and duplicates(handover.lead):
        raise HandoverError("该企业同一产品已有他处在办的线索或项目，须提请处室负责人裁定后接收")
    text = _text(note, "接收说明", "answer")
    today = today or today_local()
    lead = handover.lead
    _answered(handover, HandoverStatus.ACCEPTED, text, by)
    rules = current()
    handover.report_due = rules.steps["report"].due(today, rules.calendar)
    # An earlier unit that took the lead on hands it over with this: it stops being theirs.
    for earlier in db.session.scalars(
        select(Handover).where(
            Handover.lead_id == lead.id,
            Handover.id != handover.id,
            Handover.status == HandoverStatus.ACCEPTED,
        )
    ):
        earlier.status = HandoverStatus.SUPERSEDED
        earlier.version += 1
    if handover.to_district_id is not None:
        lead.intended_district_id = handover.to_district_id
    elif by.role in LEAD_WORKERS and by.division_id == handover.to_division_id and lead.owner_id != by.id:
        lead.owner = by
    _flush()
    words = f"线索“{lead.title}”已由{handover.receiver.name}接收（{by.display_name}）"
    post(_senders(handover), REPLY, words, _url(handover), f"answer:handover:{handover.id}", exclude=by)
    return handover


def ask_decision(handover: Handover, by: User, reason, version=None, today: date | None = None) -> Handover:
    """The receiver found the lead worked elsewhere: a manager decides (the answer step is done)."""
    _check(handover, version)
    if not (is_receiver(by, handover) or by.role == MANAGER):
        raise HandoverError("只有承接单位可以提请裁定")
    if handover.status != HandoverStatus.PENDING:
        raise HandoverError(f"该交办当前为“{handover.status}”，不能再答复")
    text = _text(reason, "提请裁定的理由", "answer")
    _answered(handover, HandoverStatus.DECIDING, text or "疑似重复，提请裁定", by)
    rules = current()
    handover.decide_due = rules.steps["decide"].due(today or today_local(), rules.calendar)
    _flush()
    words = f"线索“{handover.lead.title}”疑似重复，{handover.receiver.name}提请裁定：{text[:60]}"
    post(managers(), ASSIGNED, words, _url(handover), f"decide:handover:{handover.id}", exclude=by)
    post(_senders(handover), REPLY, words, _url(handover), f"decide:handover:{handover.id}", exclude=by)
    return handover


def return_handover(handover: Handover, by: User, reason, version=None) -> Handover:
    """The receiving unit (or, once asked, a manager) sends the lead back, saying why."""
    _check(handover, version)
    if not may_answer(by, handover):
        raise HandoverError("只有承接单位（待裁定时为处室负责人）可以退回该交办")
    if handover.status not in HANDOVER_WAITING:
        raise HandoverError(f"该交办当前为“{handover.status}”，不能再答复")
    text = _text(reason, "退回理由", "answer")
    if len(text) < 2:
        raise HandoverError("退回须说明理由", field="answer")
    _answered(handover, HandoverStatus.RETURNED, text, by)
    _flush()
    words = f"线索“{handover.lead.title}”被{handover.receiver.name}退回：{text[:80]}"
    post(_senders(handover), REPLY, words, _url(handover), f"answer:handover:{handover.id}", exclude=by)
    return handover


def withdraw(handover: Handover, by: User, version=None) -> Handover:
    _check(handover, version)
    if not may_withdraw(by, handover):
        raise HandoverError("只有交办人或处室负责人可以撤回该交办")
    if handover.status not in HANDOVER_WAITING:
        raise HandoverError(f"该交办当前为“{handover.status}”，不能撤回")
    _answered(handover, HandoverStatus.WITHDRAWN, "", by)
    _flush()
    return handover


def add_record(handover: Handover, kind, body, by: User, today: date | None = None) -> HandoverRecord:
    """The receiving unit's 研判, its reply to the referrer, or a progress report (which moves the
    next report's deadline)."""
    if not may_record(by, handover):
        raise HandoverError("只有承接单位可以填写研判、回复和进展报告")
    if handover.status != HandoverStatus.ACCEPTED:
        raise HandoverError("交办接收后才能填写研判、回复和进展报告")
    if kind not in tuple(RecordKind):
        raise HandoverError(f"请选择记录类型：{'、'.join(RecordKind)}", field="kind")
    text = _text(body, "内容", "body")
    if len(text) < 2:
        raise HandoverError("请填写内容", field="body")
    record = HandoverRecord(handover=handover, kind=kind, body=text, created_by=by)
    db.session.add(record)
    now, today = utcnow(), today or today_local()
    if kind == RecordKind.ASSESS and handover.assessed_at is None:
        handover.assessed_at = now
    elif kind == RecordKind.REPLY and handover.replied_at is None:
        handover.replied_at = now
    elif kind == RecordKind.REPORT:
        rules = current()
        handover.report_due = rules.steps["report"].due(today, rules.calendar)
    handover.version += 1
    _flush()
    words = f"线索“{handover.lead.title}”{kind}（{handover.receiver.name}）：{text[:80]}"
    post(_senders(handover), REPLY, words, _url(handover), f"record:handover:{record.id}", exclude=by)
    return record


# ---------------------------------------------------------------- steps and lights


@dataclass
class OpenStep:
    key: str
    label: str
    due: date
    light: str


def open_steps(handover: Handover, on: date | None = None) -> list[OpenStep]:
    """The steps still to do, with their deadlines and lights on `on` (today)."""
    on = on or today_local()
    rules = current()
    steps = []

    def add(key: str, due: date | None) -> None:
        if due is not None:
            steps.append(OpenStep(key, rules.steps[key].label, due, rules.step_light(due, on)))

    if handover.status == HandoverStatus.PENDING:
        add("respond", handover.respond_due)
    if handover.status == HandoverStatus.DECIDING:
        add("decide", handover.decide_due)
    if handover.status in WORKING_ON and handover.assessed_at is None:
        add("assess", handover.assess_due)
    if handover.status in WORKING_ON and handover.replied_at is None:
        add("reply", handover.reply_due)
    if handover.status == HandoverStatus.ACCEPTED and handover.lead.stage not in CLOSED:
        add("report", handover.report_due)
    return steps


def handover_light(handover: Handover, on: date | None = None) -> str | None:
    return worst(step.light for step in open_steps(handover, on))


def _dues():
    """(condition, deadline) of each step while it is open, as SQL."""
    lead_open = Handover.lead.has(Lead.stage.not_in(CLOSED))
    working = Handover.status.in_(WORKING_ON)
    return [
        (Handover.status == HandoverStatus.PENDING, Handover.respond_due),
        (
            and_(Handover.status == HandoverStatus.DECIDING, Handover.decide_due.is_not(None)),
            Handover.decide_due,
        ),
        (and_(working, Handover.assessed_at.is_(None)), Handover.assess_due),
        (and_(working, Handover.replied_at.is_(None)), Handover.reply_due),
        (
            and_(Handover.status == HandoverStatus.ACCEPTED, Handover.report_due.is_not(None), lead_open),
            Handover.report_due,
        ),
    ]


def overdue_sql(on: date):
    """A step is past its deadline on `on`: the handover is red."""
    return or_(*(and_(condition, due < on) for condition, due in _dues()))


def near_sql(on: date):
    """A step falls due within the yellow days (and none is late): yellow."""
    until = on + timedelta(days=current().handover_yellow_days)
    return and_(~overdue_sql(on), or_(*(and_(condition, due < until) for condition, due in _dues())))


def light_clause(light: str, on: date):
    if light == RED:
        return overdue_sql(on)
    if light == YELLOW:
        return near_sql(on)
    if light == GREEN:  # some step is open, none late or near
        return and_(or_(*(condition for condition, _ in _dues())), ~overdue_sql(on), ~near_sql(on))
    return false()


# ---------------------------------------------------------------- the list's one query


@dataclass
class HandoverFilter:
    statuses: tuple[str, ...] = ()
    live: bool = False
    light: str = ""
    to_me: bool = False  # handed to my unit
    by_me: bool = False  # handed by me
    lead_id: int | None = None

    @classmethod
    def from_args(cls, args) -> "HandoverFilter":
        light = args.get("light", "")
        return cls(
            statuses=tuple(s for s in args.getlist("status") if s in HANDOVER_STATUSES),
            live=args.get("live") == "1",
            light=light if light in (RED, YELLOW, GREEN) else "",
            to_me=args.get("to_me") == "1",
            by_me=args.get("by_me") == "1",
            lead_id=record_id(args.get("lead")),
        )

    def apply(self, stmt: Select, on: date, user) -> Select:
        if self.statuses:
            stmt = stmt.where(Handover.status.in_(self.statuses))
        if self.live:
            stmt = stmt.where(Handover.status.in_(HANDOVER_LIVE))
        if self.light:
            stmt = stmt.where(light_clause(self.light, on))
        if self.to_me:
            if user.role == DISTRICT:
                stmt = stmt.where(Handover.to_district_id == user.district_id)
            elif user.division_id is not None:
                stmt = stmt.where(Handover.to_division_id == user.division_id)
            else:  # bureau staff in no division: nothing is handed to "their unit"
                stmt = stmt.where(false())
        if self.by_me:
            stmt = stmt.where(Handover.handed_by_id == user.id)
        if self.lead_id:
            stmt = stmt.where(Handover.lead_id == self.lead_id)
        return stmt


ROW_LOADS = (
    joinedload(Handover.lead).joinedload(Lead.owner),
    joinedload(Handover.lead).joinedload(Lead.enterprise),
    joinedload(Handover.from_division),
    joinedload(Handover.from_district),
    joinedload(Handover.to_division),
    joinedload(Handover.to_district),
    joinedload(Handover.handed_by),
)


def handover_query(filters: HandoverFilter, user, on: date | None = None) -> Select:
    """The handovers `user` may see that match `filters`: waiting ones first, newest first."""
    on = on or today_local()
    stmt = filters.apply(select(Handover), on, user).options(*ROW_LOADS)
    waiting = case(
        (Handover.status.in_(HANDOVER_WAITING), 0), (Handover.status == HandoverStatus.ACCEPTED, 1), else_=2
    )
    return scoped(stmt, Handover, user).order_by(waiting, Handover.id.desc())


def lead_handovers(lead: Lead, user) -> list[Handover]:
    return list(db.session.scalars(handover_query(HandoverFilter(lead_id=lead.id), user)))


def light_counts(stmt: Select, on: date) -> dict[str, int]:
    """Of the handovers `stmt` selects: how many are live, and red, yellow, green — one query."""
    ids = stmt.with_only_columns(Handover.id).order_by(None).scalar_subquery()

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    row = db.session.execute(
        select(
            count(Handover.status.in_(HANDOVER_LIVE)),
            count(light_clause(RED, on)),
            count(light_clause(YELLOW, on)),
            count(light_clause(GREEN, on)),
            count(Handover.status.in_(HANDOVER_WAITING)),
        ).where(Handover.id.in_(ids))
    ).one()
    return {
        "live": int(row[0] or 0),
        RED: int(row[1] or 0),
        YELLOW: int(row[2] or 0),
        GREEN: int(row[3] or 0),
        "waiting": int(row[4] or 0),
    }
