"""Find what people should be told today and post it (crm.inbox.service.post_all, which adds only
what a person wants and does not have yet: a second run the same day adds nothing).

- 督办事项 due tomorrow: its unit's people and whoever raised it; overdue: the same, once per
  deadline (a new deadline is told again when it too passes);
- 交办 steps due tomorrow: the receiving unit; overdue: the receiving unit, whoever handed the lead
  and the lead's owner;
- a lead its owner has not touched for their N days (their setting; 搁置 leads are left alone);
- a lead's expected signing, a project's planned milestone, within the person's days ahead: the
  lead's owner; for a project also its district's staff."""

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from crm.core.timeutil import day_bounds
from crm.extensions import db
from crm.inbox.models import AHEAD_DAYS, DUE, IDLE, IDLE_DAYS, OVERDUE, UPCOMING, NotificationSettings
from crm.inbox.service import Message, managers, post_all, settings_of, unit_members
from crm.leads.models import DORMANT, OPEN, Lead
from crm.projects.models import TERMINATED, Milestone, Project
from crm.supervision.handovers import open_steps
from crm.supervision.models import HANDOVER_LIVE, ITEM_OPEN, Handover, Item


class Scan:
    """The messages of one day, gathered per person, then posted at once."""

    def __init__(self, today: date):
        self.today = today
        self.messages: list[Message] = []
        self._units: dict[tuple, list[int]] = {}
        self._managers: list[int] | None = None

    def members(self, division_id: int | None, district_id: int | None) -> list[int]:
        """A unit's people (crm.inbox's rule), looked up once per unit for the whole scan."""
        key = (division_id, district_id)
        if key not in self._units:
            self._units[key] = [user.id for user in unit_members(division_id, district_id)]
        return self._units[key]

    def managers(self) -> list[int]:
        if self._managers is None:
            self._managers = [user.id for user in managers()]
        return self._managers

    def tell(self, user_ids, kind: str, text: str, url: str, key: str) -> None:
        self.messages += [
            Message(uid, kind, text, url, key) for uid in dict.fromkeys(u for u in user_ids if u)
        ]


def _items(scan: Scan) -> None:
    tomorrow = scan.today + timedelta(days=1)
    stmt = (
        select(Item)
        .where(Item.status.in_(ITEM_OPEN), Item.deadline <= tomorrow)
        .options(joinedload(Item.project), joinedload(Item.division), joinedload(Item.district))
        .order_by(Item.id)
    )
    for item in db.session.scalars(stmt):
        people = [*scan.members(item.division_id, item.district_id), item.created_by_id]
        url, what = f"/items/{item.id}", f"{item.project.name}——{item.description[:40]}"
        if item.deadline == tomorrow:
            scan.tell(
                people,
                DUE,
                f"督办事项明日到期（{item.responsible.name}）：{what}",
                url,
                f"due:item:{item.id}:{item.deadline}",
            )
        elif item.deadline < scan.today:
            late = (scan.today - item.deadline).days
            scan.tell(
                people,
                OVERDUE,
                f"督办事项已逾期 {late} 天（{item.responsible.name}）：{what}",
                url,
                f"overdue:item:{item.id}:{item.deadline}",
            )


def _handovers(scan: Scan) -> None:
    tomorrow = scan.today + timedelta(days=1)
    stmt = (
        select(Handover)
        .where(Handover.status.in_(HANDOVER_LIVE))
        .options(
            joinedload(Handover.lead), joinedload(Handover.to_division), joinedload(Handover.to_district)
        )
        .order_by(Handover.id)
    )
    for handover in db.session.scalars(stmt):
        unit = scan.members(handover.to_division_id, handover.to_district_id)
        url = f"/handovers/{handover.id}"
        for step in open_steps(handover, scan.today):
            # A decision asked of the managers is theirs to make; every other step the unit's.
            receivers = scan.managers() if step.key == "decide" else unit
            what = f"线索“{handover.lead.title}”{handover.direction}{handover.receiver.name}的“{step.label}”"
            if step.due == tomorrow:
                scan.tell(
                    receivers,
                    DUE,
                    f"{what}明日到期",
                    url,
                    f"due:handover:{handover.id}:{step.key}:{step.due}",
                )
            elif step.due < scan.today:
                people = [*receivers, handover.handed_by_id, handover.lead.owner_id]
                late = (scan.today - step.due).days
                scan.tell(
                    people,
                    OVERDUE,
                    f"{what}已逾期 {late} 天（时限 {step.due}）",
                    url,
                    f"overdue:handover:{handover.id}:{step.key}:{step.due}",
                )


def _settings_by_days(attribute: str, default: int) -> dict[int, list[int] | None]:
    """Days → the owners who chose them (None: everyone who kept the default)."""
    chosen: dict[int, list[int]] = defaultdict(list)
    for user_id, days in db.session.execute(
        select(NotificationSettings.user_id, getattr(NotificationSettings, attribute))
    ):
        chosen[days].append(user_id)
    groups: dict[int, list[int] | None] = dict(chosen)
    groups.setdefault(default, [])
    return groups


def _idle_leads(scan: Scan) -> None:
    """Open leads (not 搁置) whose last contact — or registration, when never contacted — is N or
    more days back, N being the owner's setting; one query per distinct N."""
    groups = _settings_by_days("idle_days", IDLE_DAYS)
    chose_other = [uid for days, ids in groups.items() if days != IDLE_DAYS for uid in ids or []]
    for days, owners in groups.items():
        cutoff = scan.today - timedelta(days=days)
        # Never contacted: registered by the end of the cutoff day, Beijing time.
        quiet = or_(
            Lead.last_contact_on <= cutoff,
            and_(Lead.last_contact_on.is_(None), Lead.created_at < day_bounds(cutoff, cutoff)[1]),
        )
        stmt = select(Lead.id, Lead.owner_id, Lead.title, Lead.last_contact_on).where(
            Lead.stage.in_([s for s in OPEN if s != DORMANT]), quiet
        )
        if days == IDLE_DAYS:  # everyone but those who chose another number
            if chose_other:
                stmt = stmt.where(Lead.owner_id.not_in(chose_other))
        else:
            stmt = stmt.where(Lead.owner_id.in_(owners or []))
        for ident, owner_id, title, contact in db.session.execute(stmt.order_by(Lead.id)):
            since = f"最近联系 {contact}" if contact else "登记后从未联系"
            scan.tell(
                [owner_id],
                IDLE,
                f"线索“{title}”已 {days} 天以上未跟进（{since}）",
                f"/leads/{ident}",
                f"idle:lead:{ident}:{contact or 'never'}",
            )


def _upcoming(scan: Scan) -> None:
    """Expected signings and planned milestones within the furthest days ahead anyone chose; each
    person is told only of those within their own."""
    groups = _settings_by_days("ahead_days", AHEAD_DAYS)
    until = scan.today + timedelta(days=max(groups))
    found: list[tuple[list[int], date, str, str, str]] = []
    leads = select(Lead.id, Lead.owner_id, Lead.title, Lead.expected_signing_on).where(
        Lead.stage.in_(OPEN), Lead.expected_signing_on.between(scan.today, until)
    )
    for ident, owner_id, title, day in db.session.execute(leads.order_by(Lead.id)):
        found.append(
            (
                [owner_id],
                day,
                f"线索“{title}”预计 {day} 签约",
                f"/leads/{ident}",
                f"upcoming:lead:{ident}:{day}",
            )
        )
    milestones = (
        select(
            Milestone.id,
            Milestone.stage,
            Milestone.planned_on,
            Project.id,
            Project.name,
            Project.district_id,
            Lead.owner_id,
        )
        .join(Project, Project.id == Milestone.project_id)
        .outerjoin(Lead, Lead.id == Project.lead_id)
        .where(
            Milestone.actual_on.is_(None),
            Milestone.planned_on.between(scan.today, until),
            Project.stage != TERMINATED,
        )
        .order_by(Milestone.id)
    )
    for ident, stage, day, project_id, name, district_id, owner_id in db.session.execute(milestones):
        people = [*scan.members(None, district_id), owner_id]
        found.append(
            (
                people,
                day,
                f"项目“{name}”计划 {day} {stage}",
                f"/projects/{project_id}",
                f"upcoming:milestone:{ident}:{day}",
            )
        )
    if not found:
        return
    everyone = {uid for people, *_ in found for uid in people if uid}
    ahead = {uid: s.ahead_days for uid, s in settings_of(everyone).items()}
    for people, day, text, url, key in found:
        scan.tell(
            [uid for uid in people if uid and (day - scan.today).days <= ahead.get(uid, AHEAD_DAYS)],
            UPCOMING,
            text,
            url,
            key,
        )


def run_scan(today: date) -> int:
    """Post today's reminders; how many notifications were added (0 on a second run)."""
    scan = Scan(today)
    _items(scan)
    _handovers(scan)
    _idle_leads(scan)
    _upcoming(scan)
    return post_all(scan.messages)
