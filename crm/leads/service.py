"""Leads: who may own and change one, the verbs (create, edit, move through the pipeline with its
gates, follow up, sign, reassign), and the one query behind the list, its export, the API, the
kanban, 我的待办 and the brief (the filter object, overdue follow-ups, counts by stage).

Pages, the kanban, the API and imports all call these, so a rule holds everywhere.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.core.amounts import parse_whole
from crm.core.converters import record_id
from crm.core.text import clean_text, required_text
from crm.core.timeutil import day_bounds, filter_day, parse_day, today_local
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import Problems
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.inbox.models import ASSIGNED
from crm.inbox.service import post
from crm.industry.catalogue import get_entry
from crm.industry.models import CatalogueEntry, Cluster
from crm.leads.models import (
    CLOSED,
    FOLLOW_UP_KINDS,
    LOST,
    LOST_REASONS,
    OPEN,
    PIPELINE,
    SIGNED,
    SOURCES,
    STAGES,
    FollowUp,
    Lead,
    LeadStage,
    StageChange,
)
from crm.places.service import district_id_of, resolve_district
from crm.projects.models import Project
from crm.projects.service import open_project


class LeadError(Refusal):
    """A change to a lead that cannot be made; the message says why, in Chinese."""


class LeadConflict(LeadError, Conflict):
    def __init__(self):
        super().__init__("该线索在您编辑期间已被他人修改，您的修改尚未保存。请刷新页面后重试。")


# ---------------------------------------------------------------- who


LEAD_WORKERS = (OFFICER, MANAGER)  # who logs, follows up and owns leads
LEAD_ASSIGNERS = (MANAGER,)  # who hands a lead to someone else (a page's 转交, an import's 负责人)
OWNER_REQUIRED = "线索负责人须为在职的招商专员或处室负责人"


def can_own_leads(user: User | None) -> bool:
    """Leads are owned by active officers and managers."""
    return user is not None and user.active and user.role in LEAD_WORKERS


def may_change_lead(user, lead: Lead) -> bool:
    """Officers change their own leads; managers every lead. The pages and the API ask this."""
    return user.role == MANAGER or (user.role == OFFICER and lead.owner_id == user.id)


def possible_owners() -> list[User]:
    """The users a lead can be handed to, in the order they were created."""
    stmt = select(User).where(User.role.in_(LEAD_WORKERS), User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.id)))


# ---------------------------------------------------------------- verbs


def _text(value) -> str:
    """A choice as submitted: stripped text, or "" for anything else (which then fails the choice)."""
    return value.strip() if isinstance(value, str) else ""


@dataclass
class LeadData:
    """Validated values of a lead."""

    title: str
    source: str
    catalogue_entry_id: int | None
    intended_district_id: int | None
    intended_investment_wan: int | None
    next_follow_up_on: date | None
    expected_signing_on: date | None


def validate(
    raw: dict,
    today: date | None = None,
    current_follow_up: date | None = None,
    current_signing: date | None = None,
) -> LeadData:
    """Check the fields of a lead; the first problem is raised as a LeadError.

    A past next-follow-up date is refused unless it is the one the lead already has (editing an
    overdue lead's title must not force a new date).
    """
    problems = Problems(LeadError)
    values: dict = {}
    with problems.field("title"):
        values["title"] = required_text(raw.get("title"), "线索名称", 128, LeadError)
    with problems.field("source"):
        values["source"] = _text(raw.get("source"))
        if values["source"] not in SOURCES:
            raise LeadError(f"请选择线索来源：{'、'.join(SOURCES)}")
    with problems.field("catalogue_code"):
        values["catalogue_entry_id"] = None
        if raw.get("catalogue_code"):
            entry = get_entry(str(raw["catalogue_code"]).strip())
            if entry is None or entry.retired:
                raise LeadError(f"未知或已停用的目录条目代码“{str(raw['catalogue_code'])[:16]}”")
            values["catalogue_entry_id"] = entry.id
    with problems.field("district"):
        values["intended_district_id"] = district_id_of(raw.get("district"), LeadError)
    with problems.field("next_follow_up_on"):
        follow_up = values["next_follow_up_on"] = parse_day(
            raw.get("next_follow_up_on"), "下次跟进日期", LeadError
        )
        if follow_up and follow_up < (today or today_local()) and follow_up != current_follow_up:
            raise LeadError("下次跟进日期不能早于今天")
    with problems.field("expected_signing_on"):
        signing = values["expected_signing_on"] = parse_day(
            raw.get("expected_signing_on"), "预计签约日期", LeadError
        )
        if signing and signing < (today or today_local()) and signing != current_signing:
            raise LeadError("预计签约日期不能早于今天")
    with problems.field("intended_investment_wan"):
        values["intended_investment_wan"] = parse_whole(
            raw.get("intended_investment_wan"), "意向投资（万元）", LeadError
        )
    problems.raise_first()
    return LeadData(**values)


def _record_stage(lead: Lead, before: str | None, after: str, by: User | None, note: str = "") -> None:
    db.session.add(StageChange(lead=lead, from_stage=before, to_stage=after, note=note, changed_by=by))


def create_lead(enterprise: Enterprise, raw: dict, owner: User, by: User | None = None) -> Lead:
    """A new lead at stage 线索."""
    if not can_own_leads(owner):
        raise LeadError(OWNER_REQUIRED)
    if enterprise.merged_into_id:
        raise LeadError(f"该企业已并入编号 {enterprise.merged_into_id} 的企业，请在保留的企业下登记线索")
    data = validate(raw)
    lead = Lead(enterprise=enterprise, owner=owner, stage=LeadStage.LEAD, version=1, **vars(data))
    db.session.add(lead)
    _record_stage(lead, None, LeadStage.LEAD, by or owner, "新建线索")
    db.session.flush()
    return lead


def update_lead(lead: Lead, raw: dict, seen_version: int) -> Lead:
    """Save an edit of a lead's fields (not its stage)."""
    if seen_version != lead.version:
        raise LeadConflict()
    data = validate(raw, current_follow_up=lead.next_follow_up_on, current_signing=lead.expected_signing_on)
    for key, value in vars(data).items():
        if getattr(lead, key) != value:
            setattr(lead, key, value)
    try:
        db.session.flush()
    except StaleDataError as error:
        raise LeadConflict() from error
    return lead


def gate_problems(lead: Lead, stage: str) -> list[str]:
    """What `lead` lacks to stand at `stage` (every earlier stage's needs included)."""
    problems = []
    if stage not in PIPELINE:
        return problems
    reached = PIPELINE.index(stage)
    if reached >= PIPELINE.index(LeadStage.FIRST_CONTACT) and not lead.follow_ups:
        problems.append("进入“初步接洽”前须至少有一条跟进记录")
    if reached >= PIPELINE.index(LeadStage.SITE_VISIT) and lead.intended_district_id is None:
        problems.append("进入“实地考察”须先填写意向区县")
    if reached >= PIPELINE.index(LeadStage.NEGOTIATION):
        if lead.catalogue_entry_id is None:
            problems.append("进入“商务洽谈”须先关联招商目录条目")
        if not lead.intended_investment_wan:
            problems.append("进入“商务洽谈”须先填写意向投资额")
    return problems


def move_lead(lead: Lead, stage: str, by: User, note: str = "", lost_reason: str | None = None) -> Lead:
    """Move a lead to another stage, through the gates; 签约 goes through sign_lead instead."""
    if stage not in STAGES:
        raise LeadError(f"未知的阶段“{stage}”", field="stage")
    if lead.stage == SIGNED:
        raise LeadError("已签约的线索不能再变更阶段（后续进展请在项目中更新）")
    if stage == lead.stage:
        raise LeadError(f"线索已处于“{stage}”阶段", field="stage")
    if stage == SIGNED:
        raise LeadError("签约请使用“签约”操作，填写协议投资额和签约日期", field="stage")
    problems = Problems(LeadError)
    with problems.field("note"):
        note = clean_text(note, "说明", 500, LeadError)
    with problems.field("lost_reason"):
        if stage == LOST and lost_reason not in LOST_REASONS:
            raise LeadError(f"标记为流失须选择原因：{'、'.join(LOST_REASONS)}")
    problems.raise_first()
    missing = gate_problems(lead, stage)
    if missing:
        raise LeadError("；".join(missing))
    before = lead.stage
    lead.stage = stage
    lead.lost_reason = lost_reason if stage == LOST else None
    _record_stage(lead, before, stage, by, note or (f"流失原因：{lost_reason}" if stage == LOST else ""))
    db.session.flush()
    return lead


def add_follow_up(lead: Lead, raw: dict, by: User, today: date | None = None) -> FollowUp:
    """Record a contact; it becomes the lead's last contact and may set the next follow-up date."""
    today = today or today_local()
    problems = Problems(LeadError)
    with problems.field("occurred_on"):
        occurred = parse_day(raw.get("occurred_on"), "跟进日期", LeadError) or today
        if occurred > today:
            raise LeadError("跟进日期不能晚于今天（计划中的跟进请填写“下次跟进日期”）")
    with problems.field("kind"):
        kind = _text(raw.get("kind"))
        if kind not in FOLLOW_UP_KINDS:
            raise LeadError(f"请选择跟进方式：{'、'.join(FOLLOW_UP_KINDS)}")
    with problems.field("notes"):
        notes = clean_text(raw.get("notes"), "情况记录", 5000, LeadError)
        if not notes:
            raise LeadError("请填写情况记录")
    with problems.field("next_follow_up_on"):
        next_on = parse_day(raw.get("next_follow_up_on"), "下次跟进日期", LeadError)
        if next_on and next_on < today:
            raise LeadError("下次跟进日期不能早于今天")
    with problems.field("participants"):
        participants = clean_text(raw.get("participants"), "参与人员", 256, LeadError)
    problems.raise_first()
    follow_up = FollowUp(
        lead=lead,
        occurred_on=occurred,
        kind=kind,
        participants=participants,
        notes=notes,
        created_by=by,
    )
    db.session.add(follow_up)
    if lead.last_contact_on is None or occurred > lead.last_contact_on:
        lead.last_contact_on = occurred
    if next_on:
        lead.next_follow_up_on = next_on
    db.session.flush()
    return follow_up


def sign_lead(lead: Lead, raw: dict, by: User, today: date | None = None) -> Project:
    """签约: the lead becomes a project (agreed investment, district, catalogue entry, signed date)."""
    if lead.stage in CLOSED:
        raise LeadError(f"“{lead.stage}”的线索不能签约")
    problems = Problems(LeadError)
    with problems.field("signed_on"):
        signed_on = parse_day(raw.get("signed_on"), "签约日期", LeadError)
        if signed_on is None:
            raise LeadError("请填写签约日期")
        if signed_on > (today or today_local()):
            raise LeadError("签约日期不能晚于今天")
    with problems.field("agreed_investment_wan"):
        amount = parse_whole(raw.get("agreed_investment_wan"), "协议投资额（万元）", LeadError)
    problems.raise_first()
    missing = [p for p in gate_problems(lead, LeadStage.NEGOTIATION) if "意向投资" not in p]
    no_amount = "签约须填写协议投资额（万元，大于 0）"
    if not amount:
        missing.append(no_amount)
    if missing:
        # The gates concern the lead, not this form; only a missing amount is the form's field.
        raise LeadError("；".join(missing), field="agreed_investment_wan" if missing == [no_amount] else None)
    project = open_project(
        name=lead.title,
        enterprise=lead.enterprise,
        lead_id=lead.id,
        district_id=lead.intended_district_id,
        catalogue_entry=lead.catalogue_entry,
        agreed_investment_wan=amount,
        signed_on=signed_on,
    )
    before = lead.stage
    lead.stage = SIGNED
    lead.next_follow_up_on = None
    _record_stage(lead, before, SIGNED, by, f"签约，协议投资 {amount} 万元")
    db.session.flush()
    return project


def reassign_lead(lead: Lead, owner_id, by: User) -> Lead:
    """Hand a lead to another officer or manager (managers do this); `owner_id` as submitted."""
    text = str(owner_id if owner_id is not None else "").strip()
    # isascii: "²".isdigit() is True but int("²") fails.
    valid = text.isascii() and text.isdigit() and len(text) < 10
    owner = db.session.get(User, int(text)) if valid else None
    if not can_own_leads(owner):
        raise LeadError("请选择在职的招商专员或处室负责人")
    if lead.owner_id != owner.id:
        lead.owner = owner
        db.session.flush()
        post(
            [owner],
            ASSIGNED,
            f"线索“{lead.title}”已转交给您负责（{by.display_name}）",
            f"/leads/{lead.id}",
            f"assigned:lead:{lead.id}:{lead.version}",
            exclude=by,
        )
    db.session.flush()
    return lead


def lead_values(lead: Lead) -> dict:
    """A lead's editable values in the shape validate() takes: what the edit form and an API PATCH
    start from."""
    return {
        "title": lead.title,
        "source": lead.source,
        "catalogue_code": lead.catalogue_entry.code if lead.catalogue_entry else "",
        "district": lead.intended_district.name if lead.intended_district else "",
        "intended_investment_wan": ""
        if lead.intended_investment_wan is None
        else str(lead.intended_investment_wan),
        "next_follow_up_on": lead.next_follow_up_on.isoformat() if lead.next_follow_up_on else "",
        "expected_signing_on": lead.expected_signing_on.isoformat() if lead.expected_signing_on else "",
    }


# ---------------------------------------------------------------- lists and counts


SORTS = {
    "follow_up": (Lead.next_follow_up_on.is_(None), Lead.next_follow_up_on, Lead.id),
    "investment": (Lead.intended_investment_wan.is_(None), Lead.intended_investment_wan.desc(), Lead.id),
    "newest": (Lead.created_at.desc(), Lead.id.desc()),
    "contact": (Lead.last_contact_on.is_(None), Lead.last_contact_on.desc(), Lead.id),
}
SORT_LABELS = {
    "follow_up": "按下次跟进",
    "investment": "按意向投资",
    "newest": "按登记时间",
    "contact": "按最近联系",
}


@dataclass
class LeadFilter:
    """The filters of the lead list, its export and the API, read from query parameters.

    Unknown values are ignored rather than refused: a stale bookmark still opens the list."""

    stage: str = ""
    stages: tuple[str, ...] = ()
    source: str = ""
    owner_id: int | None = None
    enterprise_id: int | None = None
    catalogue_code: str = ""
    overdue: bool = False
    sector: str = ""
    cluster: str = ""
    district_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""
    sort: str = "follow_up"

    @classmethod
    def from_args(cls, args, user=None) -> "LeadFilter":
        """The filters of a request; `mine=1` means the leads `user` owns."""

        cluster = (args.get("cluster") or "")[:8].upper()
        if cluster and db.session.scalar(select(Cluster.id).where(Cluster.code == cluster)) is None:
            cluster = ""
        district = resolve_district(args["district"][:64]) if args.get("district") else None
        return cls(
            stage=args.get("stage") if args.get("stage") in STAGES else "",
            source=args.get("source") if args.get("source") in SOURCES else "",
            owner_id=user.id
            if user is not None and args.get("mine") == "1"
            else record_id(args.get("owner")),
            catalogue_code=(args.get("entry") or "").strip().upper()[:16],
            overdue=args.get("overdue") == "1",
            sector=(args.get("sector") or "")[:8],
            cluster=cluster,
            district_id=district.id if district else None,
            created_from=filter_day(args.get("since")),
            created_to=filter_day(args.get("until")),
            q=(args.get("q") or "")[:64].strip(),
            sort=args.get("sort") if args.get("sort") in SORTS else "follow_up",
        )

    def apply(self, stmt: Select, today: date) -> Select:
        """`stmt` (a SELECT of leads) narrowed by the filters."""
        if self.stage:
            stmt = stmt.where(Lead.stage == self.stage)
        if self.stages:
            stmt = stmt.where(Lead.stage.in_(self.stages))
        if self.source:
            stmt = stmt.where(Lead.source == self.source)
        if self.owner_id is not None:
            stmt = stmt.where(Lead.owner_id == self.owner_id)
        if self.enterprise_id is not None:
            stmt = stmt.where(Lead.enterprise_id == self.enterprise_id)
        if self.catalogue_code:
            stmt = stmt.where(Lead.catalogue_entry.has(CatalogueEntry.code == self.catalogue_code))
        if self.overdue:
            stmt = stmt.where(Lead.overdue_on(today))
        if self.sector:
            stmt = stmt.where(Lead.catalogue_entry_id.in_(CatalogueEntry.ids_in_sector(self.sector)))
        if self.cluster:
            stmt = stmt.where(Lead.catalogue_entry_id.in_(CatalogueEntry.ids_in_cluster(self.cluster)))
        if self.district_id is not None:
            stmt = stmt.where(Lead.district_scope(self.district_id))
        if self.created_from:
            stmt = stmt.where(Lead.created_at >= day_bounds(self.created_from, self.created_from)[0])
        if self.created_to:
            stmt = stmt.where(Lead.created_at < day_bounds(self.created_to, self.created_to)[1])
        if self.q:
            stmt = stmt.where(
                or_(
                    Lead.title.contains(self.q, autoescape=True),
                    Lead.enterprise.has(Enterprise.name.contains(self.q, autoescape=True)),
                )
            )
        return stmt

    def ordered(self, stmt: Select) -> Select:
        """`stmt` in the filter's sort order."""
        return stmt.order_by(*SORTS[self.sort])


# What a page of leads shows beside each lead, loaded with the page (not one query per row): in
# queries of their own, so the page's query sorts leads alone (a join first made PostgreSQL sort
# every lead with its firm: 200 ms at 20 000 leads).
LISTED = (
    selectinload(Lead.enterprise),
    selectinload(Lead.owner),
    selectinload(Lead.intended_district),
    selectinload(Lead.catalogue_entry),
)


def visible_leads(filters: LeadFilter | None = None, today: date | None = None, user=None) -> Select:
    """SELECT of the leads the user may see, filtered: behind the list, its export, the API, the
    kanban, 我的待办 and the enterprise page."""
    stmt = scoped(select(Lead), Lead, user)
    return (filters or LeadFilter()).apply(stmt, today or today_local())


def stage_counts(stmt: Select) -> list[tuple[str, int]]:
    """How many of the leads a SELECT finds stand at each stage, in stage order (zeros included):
    the funnel of the dashboard and of the brief."""
    sub = stmt.order_by(None).with_only_columns(Lead.stage).subquery()
    counts = dict(db.session.execute(select(sub.c.stage, func.count()).group_by(sub.c.stage)).all())
    return [(stage, int(counts.get(stage, 0))) for stage in STAGES]


BOARD_CARDS = 50  # cards a kanban column shows; past this it links to the list of the rest


@dataclass
class BoardColumn:
    """A kanban column: how many leads stand at the stage and their intended investment (over
    all of them), and the first BOARD_CARDS of them by next follow-up."""

    stage: str
    count: int
    total_wan: int
    cards: list[Lead]

    @property
    def hidden(self) -> int:
        return self.count - len(self.cards)


def board_columns(
    filters: LeadFilter, stages: tuple[str, ...], folded: tuple[str, ...] = (), per_column: int = BOARD_CARDS
) -> list[BoardColumn]:
    """The kanban's columns for the visible leads the filters find (whatever their stage filter):
    the counts and totals from one aggregate, the cards a bounded query per column (with their
    owner and district; empty columns too) but none for the `folded` columns, which show their
    count only; so the board costs the same with 200 leads or 20 000."""
    stmt = visible_leads(replace(filters, stage="", stages=stages)).order_by(None)
    sub = stmt.with_only_columns(Lead.stage, Lead.intended_investment_wan).subquery()
    sums = {
        stage: (int(count), int(total))
        for stage, count, total in db.session.execute(
            select(
                sub.c.stage, func.count(), func.coalesce(func.sum(sub.c.intended_investment_wan), 0)
            ).group_by(sub.c.stage)
        )
    }
    columns = []
    for stage in stages:
        count, total = sums.get(stage, (0, 0))
        cards = (
            list(
                db.session.scalars(
                    stmt.where(Lead.stage == stage)
                    .order_by(Lead.next_follow_up_on, Lead.id)
                    .limit(per_column)
                    .options(joinedload(Lead.owner), joinedload(Lead.intended_district))
                )
            )
            # Asked for even when the count says none: the page then costs the same number of
            # statements whichever columns happen to be empty (an empty one is an index probe).
            if stage not in folded
            else []
        )
        columns.append(BoardColumn(stage, count, total, cards))
    return columns


QUIET_DAYS = 30  # 我的待办 lists open leads with no contact for this long


def todo_lists(user, today: date) -> tuple[list[Lead], list[Lead]]:
    """我的待办: the user's open leads whose follow-up is due today or overdue, and those with no
    contact in QUIET_DAYS (or none yet)."""
    mine = visible_leads(LeadFilter(owner_id=user.id, stages=OPEN), today, user)
    due = _due(user, today).order_by(Lead.next_follow_up_on, Lead.id)
    quiet = mine.where(
        or_(Lead.last_contact_on.is_(None), Lead.last_contact_on < today - timedelta(days=QUIET_DAYS))
    ).order_by(Lead.last_contact_on.is_(None).desc(), Lead.last_contact_on, Lead.id)
    return list(db.session.scalars(due)), list(db.session.scalars(quiet))


def follow_up_worklist(user, today: date, end: date) -> dict:
    """The user's open leads whose follow-up is overdue, and those due from today to `end`."""
    mine = visible_leads(LeadFilter(owner_id=user.id, stages=OPEN), today, user).options(
        selectinload(Lead.enterprise)  # each row shows its firm
    )
    overdue = mine.where(Lead.overdue_on(today)).order_by(Lead.next_follow_up_on, Lead.id)
    coming = mine.where(Lead.next_follow_up_on.between(today, end)).order_by(Lead.next_follow_up_on, Lead.id)
    return {"overdue": list(db.session.scalars(overdue)), "this_week": list(db.session.scalars(coming))}


def _due(user, today: date) -> Select:
    """The user's open leads whose follow-up is due today or overdue: 我的待办's first list."""
    mine = visible_leads(LeadFilter(owner_id=user.id, stages=OPEN), today, user)
    return mine.where(Lead.next_follow_up_on <= today)


def due_count(user, today: date) -> int:
    """How many follow-ups are due today or overdue: the badge on 我的待办, the count of its list."""
    return db.session.scalar(_due(user, today).with_only_columns(func.count()).order_by(None)) or 0
