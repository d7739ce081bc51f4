"""Verbs on 招商活动: validate, create, edit (optimistic lock), link the enterprises met, and the
one filtered query behind the list, its export and the 招商活跃指数's drill-down.

A district user records events their district organised; officers and managers record events of
any division or district. They validate, mutate and flush; the caller commits."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.core.text import clean_text, required_text
from crm.core.timeutil import filter_day, parse_day
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import Problems
from crm.enterprises.models import Enterprise
from crm.events.models import EVENT_KINDS, Event, EventEnterprise
from crm.extensions import db
from crm.leads.models import Lead
from crm.places.service import district_id_of, division_id_of

EVENT_RECORDERS = (OFFICER, MANAGER, DISTRICT)
MAX_MET = 200  # enterprises linked to one event: a fair's contact list, not a database dump


class EventError(Refusal):
    """An event that cannot be saved; the message says why, in Chinese."""


class EventConflict(EventError, Conflict):
    def __init__(self):
        super().__init__("该活动在您编辑期间已被他人修改，您的修改尚未保存。请刷新页面后重试。")


def may_change_event(user, event: Event) -> bool:
    """Whoever recorded it, managers, and the organising district's own staff."""
    role = getattr(user, "role", None)
    if role == MANAGER:
        return True
    if role == DISTRICT:
        return event.district_id is not None and event.district_id == user.district_id
    return role == OFFICER and event.created_by_id == user.id


@dataclass
class EventData:
    kind: str
    title: str
    held_on: date
    ends_on: date | None
    place: str
    division_id: int | None
    district_id: int | None
    participants: str
    outcome: str


def validate(raw: dict, user: User) -> EventData:
    """Check every field; the first problem is raised (all of them in `.problems`). A district
    user's events are organised by their own district, whatever was submitted."""
    problems = Problems(EventError)
    values: dict = {}
    with problems.field("kind"):
        kind = raw.get("kind").strip() if isinstance(raw.get("kind"), str) else ""
        if kind not in EVENT_KINDS:
            raise EventError(f"请选择活动类型：{'、'.join(EVENT_KINDS)}")
        values["kind"] = kind
    with problems.field("title"):
        values["title"] = required_text(raw.get("title"), "活动名称", 128, EventError)
    with problems.field("held_on"):
        values["held_on"] = parse_day(raw.get("held_on"), "开始日期", EventError)
        if values["held_on"] is None:
            raise EventError("请填写活动开始日期")
    with problems.field("ends_on"):
        values["ends_on"] = parse_day(raw.get("ends_on"), "结束日期", EventError)
        if values["ends_on"] and values.get("held_on") and values["ends_on"] < values["held_on"]:
            raise EventError("结束日期不能早于开始日期")
    with problems.field("place"):
        values["place"] = clean_text(raw.get("place"), "地点", 128, EventError)
    values["division_id"] = values["district_id"] = None
    if getattr(user, "role", None) == DISTRICT:
        values["district_id"] = user.district_id
    else:
        with problems.field("organiser"):
            division = division_id_of(raw.get("division"), EventError)
            district = district_id_of(raw.get("district"), EventError)
            if (division is None) == (district is None):
                raise EventError("请选择主办单位：一个处室，或一个区县（二选一）")
            values["division_id"], values["district_id"] = division, district
    with problems.field("participants"):
        values["participants"] = clean_text(raw.get("participants"), "参加人员", 256, EventError)
    with problems.field("outcome"):
        values["outcome"] = clean_text(raw.get("outcome"), "成效", 4000, EventError)
    problems.raise_first()
    return EventData(**values)


def create_event(raw: dict, by: User) -> Event:
    """A new event from submitted fields (the caller commits)."""
    if getattr(by, "role", None) not in EVENT_RECORDERS:
        raise EventError("您的角色不能登记招商活动")
    event = Event(**validate(raw, by).__dict__, created_by=by)
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, raw: dict, by: User, version: int | None = None) -> Event:
    """Edit an event; `version` is the one the form was opened on: an edit since then is refused."""
    if not may_change_event(by, event):
        raise EventError("只有登记人、主办区县或处室负责人可以修改该活动")
    if version is not None and version != event.version:
        raise EventConflict()
    data = validate(raw, by)
    if by.role == DISTRICT:  # a district keeps organising its own event
        data.district_id, data.division_id = event.district_id, event.division_id
    for key, value in data.__dict__.items():
        setattr(event, key, value)
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise EventConflict() from error
    return event


def link_enterprise(
    event: Event, enterprise: Enterprise, lead: Lead | None = None, note: str = ""
) -> EventEnterprise:
    """Record that `enterprise` was met at `event`, about `lead` when given (its own lead only)."""
    if lead is not None and lead.enterprise_id != enterprise.id:
        raise EventError(f"线索“{lead.title}”不属于企业“{enterprise.name}”")
    if any(link.enterprise_id == enterprise.id for link in event.met):
        raise EventError(f"“{enterprise.name}”已在本活动的接洽企业中")
    if len(event.met) >= MAX_MET:
        raise EventError(f"一次活动最多登记 {MAX_MET} 家接洽企业")
    link = EventEnterprise(
        event=event, enterprise=enterprise, lead=lead, note=clean_text(note, "说明", 256, EventError)
    )
    db.session.add(link)
    db.session.flush()
    return link


def unlink_enterprise(event: Event, link_id: int) -> None:
    link = next((link for link in event.met if link.id == link_id), None)
    if link is None:
        raise EventError("该企业不在本活动的接洽企业中")
    event.met.remove(link)
    db.session.flush()


# ---------------------------------------------------------------- the list's one query


@dataclass
class EventFilter:
    """The list's filters, from query-string values (anything unreadable is ignored)."""

    kinds: tuple[str, ...] = ()
    division_id: int | None = None
    district_id: int | None = None
    first: date | None = None
    last: date | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "EventFilter":
        kinds = tuple(k for k in args.getlist("kind") if k in EVENT_KINDS)

        def number(name):
            value = str(args.get(name, "")).strip()
            return int(value) if value.isdigit() and len(value) < 10 else None

        return cls(
            kinds=kinds,
            division_id=number("division"),
            district_id=number("district"),
            first=filter_day(args.get("from")),
            last=filter_day(args.get("to")),
            q=str(args.get("q", "")).strip()[:64],
        )

    def apply(self, stmt: Select) -> Select:
        if self.kinds:
            stmt = stmt.where(Event.kind.in_(self.kinds))
        if self.division_id:
            stmt = stmt.where(Event.division_id == self.division_id)
        if self.district_id:
            stmt = stmt.where(Event.district_id == self.district_id)
        if self.first:
            stmt = stmt.where(Event.held_on >= self.first)
        if self.last:
            stmt = stmt.where(Event.held_on <= self.last)
        if self.q:
            stmt = stmt.where(Event.title.contains(self.q, autoescape=True))
        return stmt


def event_query(filters: EventFilter, user) -> Select:
    """The events `user` may see that match `filters`, newest first, with what a row prints."""
    stmt = select(Event).options(
        joinedload(Event.division), joinedload(Event.district), selectinload(Event.met)
    )
    return scoped(filters.apply(stmt), Event, user).order_by(Event.held_on.desc(), Event.id.desc())
