"""Verbs on 招商活动: validate, create, edit (optimistic lock), delete, link the enterprises met, and
the one filtered query behind the list, its export and the 招商活跃指数's drill-down.

A district user records events their district organised; officers and managers record events of
any division or district. They validate, mutate and flush; the caller commits.

What a district user reads of an event is scoped twice: the event itself (Event.district_scope),
and, inside an event they may see, only the enterprises and leads met that they may see anyway —
a division's fair that met one of their leads also met other districts' firms, which stay hidden."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.core.converters import record_id
from crm.core.text import clean_text, required_text
from crm.core.timeutil import filter_day, parse_day, today_local
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import Problems
from crm.enterprises.credit_code import looks_like_credit_code, normalise_credit_code
from crm.enterprises.models import Enterprise
from crm.enterprises.service import folded_name
from crm.events.models import EVENT_KINDS, Event, EventEnterprise
from crm.extensions import db
from crm.leads.models import Lead
from crm.matching.terms import normalise
from crm.places.service import district_id_of, division_id_of

EVENT_RECORDERS = (OFFICER, MANAGER, DISTRICT)
EVENT_DELETERS = (MANAGER,)
MAX_MET = 200  # enterprises linked to one event: a fair's contact list, not a database dump
MAX_SPAN_DAYS = 366  # a longer event is a typing slip in a year (2062 for 2026)
CANDIDATES = 10  # enterprises offered when a typed name fits several
ORGANISER_REQUIRED = "请选择主办单位：一个处室，或一个区县（二选一）"


class EventError(Refusal):
    """An event that cannot be saved; the message says why, in Chinese."""


class EventConflict(EventError, Conflict):
    def __init__(self):
        super().__init__("该活动在您编辑期间已被他人修改，您的修改尚未保存。请刷新页面后重试。")


def may_record_events(user) -> bool:
    """Officers, managers and district staff record events; admins see nothing of them."""
    return getattr(user, "role", None) in EVENT_RECORDERS


def may_change_event(user, event: Event) -> bool:
    """Whoever recorded it, managers, and the organising district's own staff."""
    role = getattr(user, "role", None)
    if role == MANAGER:
        return True
    if role == DISTRICT:
        return event.district_id is not None and event.district_id == user.district_id
    return role == OFFICER and event.created_by_id == user.id


def may_delete_event(user) -> bool:
    return getattr(user, "role", None) in EVENT_DELETERS


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


def validate(raw: dict, user: User, today: date | None = None, keep_division: int | None = None) -> EventData:
    """Check every field; the first problem is raised (all of them in `.problems`). A district
    user's events are organised by their own district, whatever was submitted. `keep_division`:
    the division an edited event already names, accepted even once retired."""
    today = today or today_local()
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
        # The 招商活跃指数 counts an event in the week it was held: an event is recorded once it
        # has taken place, so a plan cannot count before it happens.
        if values["held_on"] > today:
            raise EventError("开始日期不能晚于今天（活动举办后再登记）")
    with problems.field("ends_on"):
        values["ends_on"] = parse_day(raw.get("ends_on"), "结束日期", EventError)
        start = values.get("held_on")
        if values["ends_on"] and start and values["ends_on"] < start:
            raise EventError("结束日期不能早于开始日期")
        if values["ends_on"] and start and values["ends_on"] > start + timedelta(days=MAX_SPAN_DAYS):
            raise EventError("活动持续时间不能超过一年，请检查结束日期的年份")
    with problems.field("place"):
        values["place"] = clean_text(raw.get("place"), "地点", 128, EventError)
    values["division_id"] = values["district_id"] = None
    if getattr(user, "role", None) == DISTRICT:
        values["district_id"] = user.district_id
    else:
        division = district = None
        with problems.field("division"):
            # The divisions are read once per import (active_divisions is a remembered lookup).
            division = division_id_of(raw.get("division"), EventError, keep_division)
        with problems.field("district"):
            district = district_id_of(raw.get("district"), EventError)
        known = not any(name in ("division", "district") for name, _ in problems.items)
        with problems.field("organiser"):
            if known and (division is None) == (district is None):
                raise EventError(ORGANISER_REQUIRED)
        values["division_id"], values["district_id"] = division, district
    with problems.field("participants"):
        values["participants"] = clean_text(raw.get("participants"), "参加人员", 256, EventError)
    with problems.field("outcome"):
        values["outcome"] = clean_text(raw.get("outcome"), "成效", 4000, EventError)
    problems.raise_first()
    return EventData(**values)


def create_event(raw: dict, by: User) -> Event:
    """A new event from submitted fields (the caller commits)."""
    if not may_record_events(by):
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
    # The start date already on file stays acceptable (a fix of a typo in the title of a past
    # event must not be refused); a new start date may not be in the future.
    data = validate(raw, by, today=max(today_local(), event.held_on), keep_division=event.division_id)
    if by.role == DISTRICT:  # a district keeps organising its own event
        data.district_id, data.division_id = event.district_id, event.division_id
    changed = False
    for key, value in data.__dict__.items():
        if getattr(event, key) != value:
            setattr(event, key, value)
            changed = True
    if changed:
        # Set, not left to the ORM, so the audit entry carries the version the edit made: an
        # editor refused for a stale version is shown what changed since theirs (changes_since).
        event.version += 1
    try:
        db.session.flush()
    except StaleDataError as error:
        raise EventConflict() from error
    return event


def delete_event(event: Event, by: User) -> None:
    """Delete an event and its links (managers only; the audit log keeps both)."""
    if not may_delete_event(by):
        raise EventError("只有处室负责人可以删除招商活动")
    db.session.delete(event)
    db.session.flush()


def event_values(event: Event) -> dict:
    """An event's fields as its form shows them."""
    return {
        "kind": event.kind,
        "title": event.title,
        "held_on": event.held_on.isoformat(),
        "ends_on": event.ends_on.isoformat() if event.ends_on else "",
        "place": event.place,
        "division": event.division.name if event.division else "",
        "district": event.district.name if event.district else "",
        "participants": event.participants,
        "outcome": event.outcome,
        "version": event.version,
    }


# ---------------------------------------------------------------- the enterprises met


def link_enterprise(
    event: Event, enterprise: Enterprise, lead: Lead | None = None, note: str = ""
) -> EventEnterprise:
    """Record that `enterprise` was met at `event`, about `lead` when given (its own lead only).
    Who may see what is checked by the callers that act for a user (`link_met`, the import)."""
    if enterprise.merged_into_id:
        raise EventError(
            f"“{enterprise.name}”已并入编号 {enterprise.merged_into_id} 的企业，请登记保留的那一条",
            field="enterprise",
        )
    if lead is not None and lead.enterprise_id != enterprise.id:
        raise EventError(f"线索“{lead.title}”不属于企业“{enterprise.name}”", field="enterprise")
    if any(link.enterprise_id == enterprise.id for link in event.met):
        raise EventError(f"“{enterprise.name}”已在本活动的接洽企业中", field="enterprise")
    if len(event.met) >= MAX_MET:
        raise EventError(f"一次活动最多登记 {MAX_MET} 家接洽企业", field="enterprise")
    link = EventEnterprise(
        event=event,
        enterprise=enterprise,
        lead=lead,
        note=clean_text(note, "说明", 256, lambda message: EventError(message, field="note")),
    )
    db.session.add(link)
    db.session.flush()
    return link


def link_met(event: Event, enterprise_id, lead_id, note: str, by: User) -> EventEnterprise:
    """`by` records an enterprise (and optionally one of its leads) met at `event`: only on an
    event they may change, and only an enterprise and a lead they may see."""
    if not may_change_event(by, event):
        raise EventError("只有登记人、主办区县或处室负责人可以修改该活动的接洽企业")
    ident = record_id(enterprise_id)
    enterprise = None
    if ident is not None:
        enterprise = db.session.scalar(
            scoped(select(Enterprise), Enterprise, by).where(Enterprise.id == ident)
        )
    if enterprise is None:
        raise EventError("请选择企业库中的企业", field="enterprise")
    lead = None
    if str(lead_id or "").strip():
        lead_ident = record_id(lead_id)
        if lead_ident is not None:
            lead = db.session.scalar(scoped(select(Lead), Lead, by).where(Lead.id == lead_ident))
        if lead is None or lead.enterprise_id != enterprise.id:
            raise EventError(f"请选择“{enterprise.name}”自己的线索，或不关联线索", field="enterprise")
    return link_enterprise(event, enterprise, lead, note)


def unlink_enterprise(event: Event, link_id: int) -> None:
    link = next((link for link in event.met if link.id == link_id), None)
    if link is None:
        raise EventError("该企业不在本活动的接洽企业中")
    event.met.remove(link)
    db.session.flush()


def unlink_met(event: Event, link_id: int, by: User) -> None:
    """`by` removes an enterprise met from an event they may change (one they may see)."""
    if not may_change_event(by, event):
        raise EventError("只有登记人、主办区县或处室负责人可以修改该活动的接洽企业")
    if link_id not in {link.id for link in visible_links(event, by)}:
        raise EventError("该企业不在本活动的接洽企业中")
    unlink_enterprise(event, link_id)


def _visible_ids(model, ids: set[int], user) -> set[int]:
    """Those of `ids` (rows of `model`) that `user` may see; all of them for the bureau. Asked
    even for none: a page sends as many statements with or without firms met."""
    if getattr(user, "role", None) != DISTRICT:
        return set(ids)
    stmt = scoped(select(model.id), model, user).where(model.id.in_(ids))
    return set(db.session.scalars(stmt))


@dataclass
class MetRow:
    """An enterprise met at an event as a user may read it: the lead only when they may see it."""

    link: EventEnterprise
    lead: Lead | None

    @property
    def enterprise(self) -> Enterprise:
        return self.link.enterprise


def visible_met(events: list[Event], user) -> dict[int, list[MetRow]]:
    """Event id → the enterprises met that `user` may see (with the lead if they may see it), in
    the order they were recorded; two queries for a whole page of events, none for the bureau."""
    links = [link for event in events for link in event.met]
    firms = _visible_ids(Enterprise, {link.enterprise_id for link in links}, user)
    leads = _visible_ids(Lead, {link.lead_id for link in links if link.lead_id}, user)
    return {
        event.id: [
            MetRow(link, link.lead if link.lead_id in leads else None)
            for link in event.met
            if link.enterprise_id in firms
        ]
        for event in events
    }


def visible_firm_ids(filters: "EventFilter", user) -> set[int] | None:
    """The ids of the firms met at the events `filters` find that `user` may see, in one query
    (an export streams its events a chunk at a time); None when they may see every one."""
    if getattr(user, "role", None) != DISTRICT:
        return None
    events = scoped(filters.apply(select(Event.id)), Event, user)
    stmt = (
        select(Enterprise.id)
        .join(EventEnterprise, EventEnterprise.enterprise_id == Enterprise.id)
        .where(EventEnterprise.event_id.in_(events))
    )
    return set(db.session.scalars(scoped(stmt, Enterprise, user)))


def visible_links(event: Event, user) -> list[EventEnterprise]:
    return [row.link for row in visible_met([event], user)[event.id]]


def enterprise_candidates(text: str, user, limit: int = CANDIDATES) -> list[Enterprise]:
    """The enterprises on file that `user` may see and `text` names: by 统一社会信用代码, else by
    name as duplicates are found (width, brackets, company form and place folded away), else the
    firms whose name or products contain it — as the enterprise list searches — at most `limit`."""
    text = str(text or "").strip()[:128]
    if not text:
        return []
    visible = scoped(select(Enterprise), Enterprise, user).where(Enterprise.merged_into_id.is_(None))
    code = normalise_credit_code(text)
    if looks_like_credit_code(code):
        found = db.session.scalars(visible.where(Enterprise.credit_code == code)).all()
        if found:
            return list(found)
    key = folded_name(text)
    if key:
        found = db.session.scalars(visible.where(Enterprise.name_key == key).order_by(Enterprise.id)).all()
        if found:
            return list(found[:limit])
    needle = normalise(text[:64])
    if not needle:
        return []
    stmt = visible.where(
        or_(
            Enterprise.search_text.contains(needle, autoescape=True),
            Enterprise.name.contains(needle, autoescape=True),
        )
    )
    return list(db.session.scalars(stmt.order_by(func.length(Enterprise.name), Enterprise.id).limit(limit)))


def leads_to_offer(enterprises: list[Enterprise], user) -> dict[int, list[Lead]]:
    """Enterprise id → its leads `user` may see, for choosing the lead a meeting was about."""
    if not enterprises:
        return {}
    stmt = scoped(select(Lead), Lead, user).where(Lead.enterprise_id.in_([e.id for e in enterprises]))
    offered: dict[int, list[Lead]] = {e.id: [] for e in enterprises}
    for lead in db.session.scalars(stmt.order_by(Lead.id)):
        offered[lead.enterprise_id].append(lead)
    return offered


def events_met(user, enterprise_ids: list[int] | None = None, lead_id: int | None = None, limit: int = 50):
    """The events `user` may see where one of these enterprises, or this lead, was met, newest
    first, each with the link concerned and its lead when they may see it: (event, link, lead).
    The enterprise and lead pages; nothing for those who do not record events (admins)."""
    if not may_record_events(user):
        return []
    stmt = select(Event, EventEnterprise).join(EventEnterprise, EventEnterprise.event_id == Event.id)
    if lead_id is not None:
        stmt = stmt.where(EventEnterprise.lead_id == lead_id)
    else:
        stmt = stmt.where(EventEnterprise.enterprise_id.in_(enterprise_ids or []))
    stmt = scoped(stmt, Event, user).options(joinedload(Event.division), joinedload(Event.district))
    rows = db.session.execute(stmt.order_by(Event.held_on.desc(), Event.id.desc()).limit(limit)).all()
    leads = _visible_ids(Lead, {link.lead_id for _, link in rows if link.lead_id}, user)
    return [(event, link, link.lead if link.lead_id in leads else None) for event, link in rows]


def same_events(keys: set[tuple[str, date, int | None, int | None]]) -> dict[tuple, Event]:
    """Events on file with one of these (title, start date, division id, district id): what an
    import calls a probable duplicate. One query per thousand titles."""
    found: dict[tuple, Event] = {}
    titles = sorted({title for title, *_ in keys})
    days = sorted({day for _, day, *_ in keys})
    for start in range(0, len(titles), 1000):
        stmt = select(Event).where(Event.title.in_(titles[start : start + 1000]), Event.held_on.in_(days))
        for event in db.session.scalars(stmt.order_by(Event.id)):
            key = (event.title, event.held_on, event.division_id, event.district_id)
            if key in keys:
                found.setdefault(key, event)
    return found


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
        return cls(
            kinds=kinds,
            division_id=record_id(args.get("division")),
            district_id=record_id(args.get("district")),
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
            stmt = stmt.where(
                or_(
                    Event.title.contains(self.q, autoescape=True),
                    Event.place.contains(self.q, autoescape=True),
                )
            )
        return stmt


def event_query(filters: EventFilter, user) -> Select:
    """The events `user` may see that match `filters`, newest first, with what a row prints."""
    stmt = select(Event).options(
        joinedload(Event.division),
        joinedload(Event.district),
        selectinload(Event.met).joinedload(EventEnterprise.enterprise),
        selectinload(Event.met).joinedload(EventEnterprise.lead),
    )
    return scoped(filters.apply(stmt), Event, user).order_by(Event.held_on.desc(), Event.id.desc())
