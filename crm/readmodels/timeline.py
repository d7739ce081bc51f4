"""The timeline of a lead or an enterprise: follow-ups, stage changes and audit entries, newest first.

One builder serves the lead page and the enterprise page, so both read the same events the same
way and both go through the district scope.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.auth.permissions import scoped
from crm.core.timeutil import day_bounds, format_local, shown_value, to_local
from crm.enterprises.models import KINDS, Contact, Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.leads.models import FollowUp, Lead, StageChange
from crm.places.models import District

FOLLOW_UP, STAGE, INSERT, UPDATE, DELETE, MERGE = "跟进", "阶段", "新增", "修改", "删除", "合并"
KIND_OF_ACTION = {"insert": INSERT, "update": UPDATE, "delete": DELETE}
BADGES = {
    FOLLOW_UP: "text-bg-info",
    STAGE: "text-bg-primary",
    INSERT: "text-bg-success",
    UPDATE: "text-bg-secondary",
    DELETE: "text-bg-danger",
    MERGE: "text-bg-warning",
}
# Fields an audit line never shows: bookkeeping, and what the follow-up and stage events already
# say (a follow-up sets the lead's last contact; a stage move sets its stage).
HIDDEN_FIELDS = {
    "enterprises": {"id", "version", "name_key", "alias_keys", "search_text", "created_at"},
    "contacts": {"id"},
    "leads": {"id", "version", "created_at", "stage", "lost_reason", "last_contact_on"},
}
# Shown on updates (a contact moved by a merge) but noise on the insert of the row itself.
HIDDEN_ON_INSERT = {"contacts": {"enterprise_id", "active"}, "leads": {"enterprise_id"}}
EXTRA_LABELS = {"contacts": {"active": "在职"}}
# Stored codes shown as their Chinese names (target → 招商目标).
VALUE_LABELS = {"enterprises": {"kind": KINDS}}
AUDIT_BATCH = 200


@dataclass
class Change:
    """One field of an audit entry, as a reader reads it."""

    label: str
    before: str
    after: str


@dataclass
class TimelineEvent:
    """One line of a timeline."""

    when: datetime | date  # a follow-up has a day only; everything else a moment
    kind: str  # 跟进 / 阶段 / 新增 / 修改 / 删除 / 合并
    text: str
    actor: str = ""
    subject: str = ""  # what it is about, when the page shows more than one thing
    changes: list[Change] = field(default_factory=list)
    endpoint: str | None = None
    endpoint_args: dict[str, Any] = field(default_factory=dict)
    sort_key: tuple = ()

    @property
    def when_text(self) -> str:
        if isinstance(self.when, datetime):
            return format_local(self.when)
        return self.when.isoformat()

    @property
    def badge(self) -> str:
        return BADGES.get(self.kind, "text-bg-light")

    @property
    def link(self) -> str | None:
        """Where the event's subject lives (built on demand: needs a request)."""
        return url_for(self.endpoint, **self.endpoint_args) if self.endpoint else None


@dataclass
class Timeline:
    """The newest events, and whether older ones were left off."""

    events: list[TimelineEvent]
    truncated: bool = False

    def __iter__(self):
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _follow_up_moment(follow_up: FollowUp) -> datetime:
    """A follow-up sorts as its day: at the moment it was logged if logged that day, else at the
    start of that (Shanghai) day, below whatever else happened on it."""
    if follow_up.created_at is not None:
        logged = to_local(follow_up.created_at)
        if logged.date() == follow_up.occurred_on:
            return _aware(follow_up.created_at)
    return day_bounds(follow_up.occurred_on, follow_up.occurred_on)[0]


def _follow_up_event(follow_up: FollowUp, lead: Lead, subject: bool) -> TimelineEvent:
    text = f"【{follow_up.kind}】{follow_up.notes}"
    if follow_up.participants:
        text += f"（{follow_up.participants}）"
    return TimelineEvent(
        when=follow_up.occurred_on,
        kind=FOLLOW_UP,
        text=text,
        actor=follow_up.created_by.display_name if follow_up.created_by else "",
        subject=f"线索“{lead.title}”" if subject else "",
        endpoint="leads.detail",
        endpoint_args={"lead_id": lead.id},
        sort_key=(_follow_up_moment(follow_up), 1, follow_up.id),
    )


def _stage_event(change: StageChange, lead: Lead, subject: bool) -> TimelineEvent:
    text = f"{change.from_stage or '—'} → {change.to_stage}"
    if change.note:
        text += f"：{change.note}"
    moment = _aware(change.changed_at) if change.changed_at else datetime.min.replace(tzinfo=UTC)
    return TimelineEvent(
        when=moment,
        kind=STAGE,
        text=text,
        actor=change.changed_by.display_name if change.changed_by else "",
        subject=f"线索“{lead.title}”" if subject else "",
        endpoint="leads.detail",
        endpoint_args={"lead_id": lead.id},
        sort_key=(moment, 2, change.id),
    )


class _Names:
    """Readable names for the ids audit entries carry (district 12 → 涪陵区), looked up in bulk."""

    ID_FIELDS = {
        "district_id": District,
        "intended_district_id": District,
        "owner_id": User,
        "catalogue_entry_id": CatalogueEntry,
        "enterprise_id": Enterprise,
        "merged_into_id": Enterprise,
    }

    def __init__(self, entries: list[AuditLog], enterprise_ids: Iterable[int]):
        wanted: dict[type, set[int]] = {District: set(), User: set(), CatalogueEntry: set()}
        wanted[Enterprise] = set(enterprise_ids)
        for entry in entries:
            if entry.actor_id is not None:
                wanted[User].add(entry.actor_id)
            for key, before, after in entry.changes():
                model = self.ID_FIELDS.get(key)
                if model is not None:
                    wanted[model] |= {v for v in (before, after) if isinstance(v, int)}
        self.names: dict[type, dict[int, str]] = {}
        for model, ids in wanted.items():
            rows = db.session.scalars(select(model).where(model.id.in_(ids))).all() if ids else []
            self.names[model] = {row.id: self._name(row) for row in rows}
            if model is Enterprise:
                self.enterprise_names = {row.id: row.name for row in rows}

    @staticmethod
    def _name(row) -> str:
        if isinstance(row, User):
            return row.display_name
        if isinstance(row, CatalogueEntry):
            return f"{row.code} {row.title}"
        if isinstance(row, Enterprise):
            return f"{row.name}（编号 {row.id}）"
        return row.name

    def of(self, model: type, ident: Any) -> str | None:
        return self.names[model].get(ident) if isinstance(ident, int) else None

    def field(self, key: str, label: str, value: Any) -> tuple[str, str]:
        """(label, shown value): an id field shows the name it points to, if known."""
        model = self.ID_FIELDS.get(key)
        if model is None:
            return label, shown_value(value)
        named = self.of(model, value)
        label = label.removesuffix("编号")
        return label, named if named is not None else shown_value(value)


def _audit_event(
    entry: AuditLog,
    names: _Names,
    main_enterprise_id: int | None,
    contacts: dict,
    leads: dict,
    several: bool,
) -> TimelineEvent | None:
    table = entry.table_name
    labels = {**_field_labels(table), **EXTRA_LABELS.get(table, {})}
    hidden = HIDDEN_FIELDS.get(table, set()) | (
        HIDDEN_ON_INSERT.get(table, set()) if entry.action == "insert" else set()
    )
    changes = []
    for key, before, after in entry.changes():
        if key in hidden or (
            entry.action != "update" and (after if entry.action == "insert" else before) in (None, "", [])
        ):
            continue
        codes = VALUE_LABELS.get(table, {}).get(key)
        if codes:
            before, after = codes.get(before, before), codes.get(after, after)
        label, old = names.field(key, labels.get(key, key), before)
        _, new = names.field(key, labels.get(key, key), after)
        if entry.action == "update":
            changes.append(Change(label, old, new))
        else:  # an insert lists what was entered, a delete what was lost
            changes.append(Change(label, "", new if entry.action == "insert" else old))
    kind = KIND_OF_ACTION.get(entry.action, entry.action)
    row = int(entry.row_id) if entry.row_id.isdigit() else None
    endpoint, args, text = None, {}, ""
    if table == "enterprises":
        if row == main_enterprise_id:
            subject = "企业"
        else:
            subject = f"原企业“{names.enterprise_names.get(row, '')}”（编号 {entry.row_id}）"
        merged_into = (entry.after or {}).get("merged_into_id")
        if entry.action == "update" and merged_into is not None:
            kind = MERGE
            text = f"并入 {names.of(Enterprise, merged_into) or merged_into}"
            changes = [c for c in changes if not c.label.startswith("已并入企业")]
        elif entry.action == "insert":
            text = "登记企业"
    elif table == "contacts":
        subject = f"联系人“{contacts.get(row) or entry.row_id}”"
    else:
        subject = (f"线索“{leads[row].title}”" if row in leads else f"线索 {entry.row_id}") if several else ""
        endpoint, args = "leads.detail", {"lead_id": row}
    if not changes and not text:
        return None  # only hidden fields changed (a follow-up bumping the lead's version, say)
    moment = _aware(entry.created_at)
    return TimelineEvent(
        when=moment,
        kind=kind,
        text=text,
        actor=names.of(User, entry.actor_id) or entry.actor_name,
        subject=subject,
        changes=changes,
        endpoint=endpoint,
        endpoint_args=args,
        sort_key=(moment, 0, entry.id),
    )


def _field_labels(table: str) -> dict[str, str]:
    for model in (Enterprise, Contact, Lead):
        if model.__tablename__ == table:
            return model.__field_labels__
    return {}


def build_timeline(
    *,
    enterprise_ids: Iterable[int] = (),
    lead_ids: Iterable[int] = (),
    limit: int | None = None,
    user: Any = None,
) -> Timeline:
    """Newest-first events of the given enterprises (their audit entries, their contacts', their
    leads') and of the given leads: follow-ups, stage changes, audit entries.

    Leads pass through the district scope of `user` (default: the current user), so a lead the
    viewer may not see contributes nothing. Enterprise ids are trusted: the caller has checked
    the first one with get_visible_or_404 (the others are records merged into it). The first
    enterprise id is the page's own enterprise; the others are labelled as former records.
    """
    enterprise_ids = list(dict.fromkeys(enterprise_ids))
    lead_ids = list(dict.fromkeys(lead_ids))
    conditions = []
    if lead_ids:
        conditions.append(Lead.id.in_(lead_ids))
    if enterprise_ids:
        conditions.append(Lead.enterprise_id.in_(enterprise_ids))
    leads = {}
    if conditions:
        leads = {
            lead.id: lead
            for lead in db.session.scalars(scoped(select(Lead).where(or_(*conditions)), Lead, user))
        }
    several = bool(enterprise_ids) or len(leads) > 1  # name the lead only where it is not obvious
    fetch = None if limit is None else limit + 1  # one more than shown tells whether any was left off
    events: list[TimelineEvent] = []
    if leads:
        follow_ups = db.session.scalars(
            select(FollowUp)
            .where(FollowUp.lead_id.in_(list(leads)))
            .options(selectinload(FollowUp.created_by))
            .order_by(FollowUp.occurred_on.desc(), FollowUp.id.desc())
            .limit(fetch)
        )
        events += [_follow_up_event(f, leads[f.lead_id], several) for f in follow_ups]
        changes = db.session.scalars(
            select(StageChange)
            .where(StageChange.lead_id.in_(list(leads)))
            .options(selectinload(StageChange.changed_by))
            .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
            .limit(fetch)
        )
        events += [_stage_event(c, leads[c.lead_id], several) for c in changes]
    contacts = {}
    if enterprise_ids:
        rows = db.session.execute(
            select(Contact.id, Contact.name).where(Contact.enterprise_id.in_(enterprise_ids))
        ).all()
        contacts = {ident: name for ident, name in rows}
    events += _audit_events(enterprise_ids, contacts, leads, fetch, several)
    events.sort(key=lambda event: event.sort_key, reverse=True)
    truncated = limit is not None and len(events) > limit
    return Timeline(events[:limit] if limit is not None else events, truncated)


def _audit_events(
    enterprise_ids: list[int], contacts: dict, leads: dict, wanted: int | None, several: bool
) -> list[TimelineEvent]:
    """The audit entries of the enterprises, contacts and leads, read in batches until `wanted`
    of them are worth showing (some only touch hidden fields)."""
    clauses = []
    if enterprise_ids:
        clauses.append(
            and_(AuditLog.table_name == "enterprises", AuditLog.row_id.in_([str(i) for i in enterprise_ids]))
        )
    if contacts:
        clauses.append(
            and_(AuditLog.table_name == "contacts", AuditLog.row_id.in_([str(i) for i in contacts]))
        )
    if leads:
        # A lead's insert is already its first stage change (— → 线索).
        clauses.append(
            and_(
                AuditLog.table_name == "leads",
                AuditLog.row_id.in_([str(i) for i in leads]),
                AuditLog.action != "insert",
            )
        )
    if not clauses:
        return []
    stmt = select(AuditLog).where(or_(*clauses)).order_by(AuditLog.id.desc())
    main = enterprise_ids[0] if enterprise_ids else None
    events: list[TimelineEvent] = []
    offset = 0
    while wanted is None or len(events) < wanted:
        batch = db.session.scalars(stmt.offset(offset).limit(AUDIT_BATCH)).all()
        if not batch:
            break
        names = _Names(batch, enterprise_ids)
        for entry in batch:
            event = _audit_event(entry, names, main, contacts, leads, several)
            if event is not None:
                events.append(event)
        offset += len(batch)
    return events if wanted is None else events[:wanted]
