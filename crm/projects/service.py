"""Verbs on projects: open one at signing, add progress updates (append-only), derive the current
figures from them, edit the agreed figures and plans (optimistic lock), list and total them.

Pages, the API and the brief all call these, so the rules and the numbers are the same everywhere."""

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, exists, func, select, true
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.history import Change, changes_since
from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.core.amounts import parse_whole
from crm.core.text import clean_text, required_text
from crm.core.timeutil import DATE_RANGE, filter_day, parse_day, today_local
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import Problems, corrected_record, replaced_ids
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.industry.models import ACTIONS, CatalogueEntry, Cluster, entry_clusters
from crm.places.service import district_id_of, resolve_district
from crm.projects import measures
from crm.projects.funds import funds_by_project, plans_of_year, set_plan
from crm.projects.models import (
    BEHIND,
    HEALTHS,
    LIFECYCLE,
    MILESTONES,
    RANK,
    STAGES,
    STALLED,
    TERMINATED,
    TERMINATION_REASONS,
    Milestone,
    Project,
    ProjectStage,
    ProjectUpdate,
    health_sql,
    reached_sql,
)

MAX_JOBS = 1_000_000


PROJECT_EDITORS = (OFFICER, MANAGER)  # who changes agreed figures and planned dates
UPDATE_REPORTERS = (OFFICER, MANAGER, DISTRICT)  # who adds progress updates (district users: their own)


class ProjectError(Refusal):
    """A change to a project that cannot be made; the message says why, in Chinese."""


class ProjectConflict(ProjectError, Conflict):
    """Someone saved the project after this editor opened it; `changes` says what they changed."""

    def __init__(self, changes: list[Change]):
        self.changes = changes
        super().__init__("该项目在您编辑期间已被他人修改，您的修改尚未保存。请核对下列变更后重新提交。")


class UpdateRace(ProjectError, Conflict):
    """The project changed while an update was being added; the caller rolls back and may retry."""

    def __init__(self):
        super().__init__("该项目刚被他人更新，您的进展尚未保存，请刷新页面核对后重新提交。")


# ---------------------------------------------------------------- opening and deriving


def open_project(
    *, name, enterprise, lead_id, district_id, catalogue_entry, agreed_investment_wan, signed_on
) -> Project:
    """A newly signed project with an (unplanned) milestone row per stage after 签约."""
    project = Project(
        name=name,
        enterprise=enterprise,
        lead_id=lead_id,
        district_id=district_id,
        catalogue_entry=catalogue_entry,
        catalogue_entries=[catalogue_entry],
        agreed_investment_wan=agreed_investment_wan,
        signed_on=signed_on,
        stage=LIFECYCLE[0],
        version=1,
        milestones=[Milestone(stage=stage) for stage in MILESTONES],
    )
    db.session.add(project)
    return project


def effective_updates(project: Project) -> list[ProjectUpdate]:
    """The updates that count: every one not replaced by a correction, oldest first."""
    corrected = replaced_ids(project.updates)
    return [u for u in project.updates if u.id not in corrected]


def recompute(project: Project) -> None:
    """Set the project's stage, milestone actual dates and last update from its updates. Nothing
    else writes these. (Funds come from the ledger: crm.projects.funds.)"""
    effective = effective_updates(project)
    reached: dict[str, date | None] = {}
    for update in effective:
        if update.stage_reached in RANK:
            reached[update.stage_reached] = update.stage_reached_on
    terminations = [u for u in effective if u.stage_reached == TERMINATED]
    stage = max(reached, key=RANK.__getitem__) if reached else LIFECYCLE[0]
    values = {
        "stage": TERMINATED if terminations else stage,
        "termination_reason": terminations[-1].termination_reason if terminations else None,
        "last_update_on": max((u.reported_on for u in project.updates), default=None),
    }
    for key, value in values.items():
        if getattr(project, key) != value:
            setattr(project, key, value)
    for milestone in project.milestones:
        actual = reached.get(milestone.stage)
        if milestone.actual_on != actual:
            milestone.actual_on = actual


# ---------------------------------------------------------------- updates


def add_update(project: Project, raw: dict, by: User, today: date | None = None) -> ProjectUpdate:
    """Append a progress update (or a correction of an earlier one) and re-derive the figures."""
    today = today or today_local()
    problems = Problems(ProjectError)
    values: dict = {}
    corrects = None
    with problems.field("corrects_id"):
        corrects = corrected_record(
            project.updates, raw.get("corrects_id"), ProjectError, "更新", "最新的那一条"
        )
    with problems.field("reported_on"):
        values["reported_on"] = parse_day(raw.get("reported_on"), "填报日期", ProjectError) or today
        if values["reported_on"] > today:
            raise ProjectError("填报日期不能晚于今天")
        if values["reported_on"] < project.signed_on:
            raise ProjectError("填报日期不能早于签约日期")
    # What the project stands at without the update being corrected: the new stage must move on.
    basis = [u for u in effective_updates(project) if u is not corrects]
    current = _stage_of(basis)
    with problems.field("stage_reached"):
        stage = raw.get("stage_reached") or ""
        if not isinstance(stage, str):
            raise ProjectError("达到阶段应为文本，如“开工”")
        stage = stage.strip()
        values["stage_reached"] = stage or None
        if stage and stage not in (*MILESTONES, TERMINATED):
            raise ProjectError(f"阶段“{stage[:8]}”无效，可选：{'、'.join((*MILESTONES, TERMINATED))}")
        if current == TERMINATED and corrects is None:
            raise ProjectError("项目已终止，不能再填报进展；如终止有误，请更正终止的那条更新")
        if stage in RANK and current in RANK and RANK[stage] <= RANK[current]:
            raise ProjectError(
                f"项目已处于“{current}”，达到阶段只能向后推进；如之前填报有误，请对该条更新提交更正"
            )
    with problems.field("stage_reached_on"):
        values["stage_reached_on"] = None
        if values.get("stage_reached"):
            day = (
                parse_day(raw.get("stage_reached_on"), "实际日期", ProjectError)
                or values.get("reported_on")
                or today
            )
            if day > today:
                raise ProjectError("实际日期不能晚于今天")
            if day < project.signed_on:
                raise ProjectError("实际日期不能早于签约日期")
            values["stage_reached_on"] = day
    with problems.field("termination_reason"):
        reason = raw.get("termination_reason") if isinstance(raw.get("termination_reason"), str) else ""
        values["termination_reason"] = None
        if values.get("stage_reached") == TERMINATED:
            if reason not in TERMINATION_REASONS:
                raise ProjectError(f"终止项目须选择原因：{'、'.join(TERMINATION_REASONS)}")
            values["termination_reason"] = reason
    with problems.field("funds_wan"):
        # Before the ledger an update carried a month's funds; now money needs its source, kind
        # and evidence, so an update that still sends some is told where it goes.
        if raw.get("funds_wan") not in (None, "", 0, "0"):  # "nothing this month" is still fine
            raise ProjectError(
                "到位资金请在项目的“到位资金”中登记（须注明来源地、资金类型和凭证），进展填报不再填写金额"
            )
    with problems.field("note"):
        values["note"] = clean_text(raw.get("note"), "进展情况", 5000, ProjectError)
        if values.get("stage_reached") == TERMINATED and not values["note"]:
            raise ProjectError("终止项目须在“进展情况”中说明经过")
    with problems.field("issues"):
        values["issues"] = clean_text(raw.get("issues"), "需协调事项", 2000, ProjectError)
    problems.raise_first()
    if not (values["stage_reached"] or values["note"] or values["issues"]):
        raise ProjectError("请至少填写一项：达到阶段、进展情况或需协调事项")
    update = ProjectUpdate(project=project, corrects=corrects, created_by=by, **values)
    db.session.add(update)
    try:
        db.session.flush()  # the new update's id, so recompute sees it in place
        recompute(project)
        db.session.flush()
    except StaleDataError as error:
        # Someone saved the project (an update, the bureau's edit) after it was read here: the
        # figures recomputed from a stale list of updates would overwrite theirs. Nothing is kept.
        raise UpdateRace() from error
    return update


def add_update_retrying(load: Callable[[], Project], raw: dict, by: User) -> ProjectUpdate:
    """add_update on the project `load` returns, tried once more on a fresh read if the project
    changed meanwhile: an update is appended, never overwrites, so a race is not a conflict of
    intent; the retry checks it again against what the other save did. Rolls back a failed try."""
    for attempt in (1, 2):
        try:
            return add_update(load(), raw, by)
        except UpdateRace:
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _stage_of(updates: list[ProjectUpdate]) -> str:
    if any(u.stage_reached == TERMINATED for u in updates):
        return TERMINATED
    reached = [u.stage_reached for u in updates if u.stage_reached in RANK]
    return max(reached, key=RANK.__getitem__) if reached else LIFECYCLE[0]


# ---------------------------------------------------------------- edits by the bureau


def edit_values(project: Project) -> dict:
    """The project's editable values as the edit form and the API take them."""
    values = {
        "name": project.name,
        "park": project.park or "",
        "district": project.district.name,
        "agreed_investment_wan": project.agreed_investment_wan,
        "expected_output_wan": project.expected_output_wan,
        "expected_jobs": project.expected_jobs,
        "catalogue_codes": [e.code for e in project.catalogue_entries],
        "fund_plan": project.plan_for(today_local().year),
    }
    for milestone in project.milestones:
        values[f"planned_{milestone.stage}"] = (
            milestone.planned_on.isoformat() if milestone.planned_on else ""
        )
    return values


def update_project(project: Project, raw: dict, seen_version: int) -> Project:
    """Save the bureau's edit of the agreed figures and plans; refused, with what the other editor
    changed, when the project moved on since the form was opened."""
    if not isinstance(seen_version, int) or not 1 <= seen_version <= project.version:
        raise ProjectError("版本号无效，请刷新页面后重新编辑")
    if seen_version != project.version:
        raise ProjectConflict(changes_since(project, seen_version))
    problems = Problems(ProjectError)
    values: dict = {}
    with problems.field("name"):
        values["name"] = required_text(raw.get("name"), "项目名称", 128, ProjectError)
    with problems.field("park"):
        values["park"] = clean_text(raw.get("park"), "园区", 64, ProjectError) or None
    with problems.field("district"):
        values["district_id"] = district_id_of(raw.get("district"), ProjectError)
        if values["district_id"] is None:
            raise ProjectError("请选择落地区县")
    with problems.field("agreed_investment_wan"):
        values["agreed_investment_wan"] = parse_whole(
            raw.get("agreed_investment_wan"), "协议投资额（万元）", ProjectError
        )
        if not values["agreed_investment_wan"]:
            raise ProjectError("协议投资额须大于 0（万元）")
    with problems.field("expected_output_wan"):
        values["expected_output_wan"] = parse_whole(
            raw.get("expected_output_wan"), "预计年产值（万元）", ProjectError
        )
    with problems.field("expected_jobs"):
        values["expected_jobs"] = parse_whole(
            raw.get("expected_jobs"), "预计就业（人）", ProjectError, MAX_JOBS
        )
    entries: list[CatalogueEntry] = []
    with problems.field("catalogue_codes"):
        codes = raw.get("catalogue_codes") or []
        if isinstance(codes, str):
            codes = [c for c in codes.replace("，", ",").replace("、", ",").split(",")]
        for code in dict.fromkeys(str(c).strip().upper() for c in codes if str(c).strip()):
            entry = get_entry(code[:16])
            if entry is None:
                raise ProjectError(f"未知的目录条目代码“{code[:16]}”")
            entries.append(entry)
        if project.catalogue_entry not in entries:
            entries.insert(0, project.catalogue_entry)  # the signed entry stays: coverage counts it
    plan_year = today_local().year
    with problems.field("fund_plan"):
        plan = parse_whole(raw.get("fund_plan"), f"{plan_year} 年计划到位资金（万元）", ProjectError)
    planned: dict[str, date | None] = {}
    previous = project.signed_on
    for stage in MILESTONES:
        with problems.field(f"planned_{stage}"):
            day = parse_day(raw.get(f"planned_{stage}"), f"{stage}计划日期", ProjectError)
            if day and day < project.signed_on:
                raise ProjectError(f"{stage}计划日期不能早于签约日期")
            if day and previous and day < previous:
                raise ProjectError(f"{stage}计划日期不能早于前一节点的计划日期")
            planned[stage] = day
            previous = day or previous
    problems.raise_first()
    with db.session.no_autoflush:
        for key, value in values.items():
            if getattr(project, key) != value:
                setattr(project, key, value)
        if [e.id for e in project.catalogue_entries] != [e.id for e in entries]:
            project.catalogue_entries = entries
        for milestone in project.milestones:
            if milestone.planned_on != planned[milestone.stage]:
                milestone.planned_on = planned[milestone.stage]
        plan_changed = project.plan_for(plan_year) != plan
        if plan_changed:
            set_plan(project, plan_year, plan)
        if (
            plan_changed
            or db.session.is_modified(project)
            or any(db.session.is_modified(m) for m in project.milestones)
        ):
            # Bump even when only plans changed: the version is what the next editor checks.
            project.version += 1
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        fresh = db.session.get(Project, project.id)
        raise ProjectConflict(changes_since(fresh, seen_version)) from error
    return project


# ---------------------------------------------------------------- lists and totals


# The rates that count projects reaching a stage (their base may be the year's plan to reach it).
REACHED_RATES = {"start_rate": ProjectStage.STARTED, "production_rate": ProjectStage.PRODUCING}


def _year(text) -> int | None:
    """A year from a query string (a malformed one is ignored, as filter_day does)."""
    text = str(text or "").strip()
    first, last = DATE_RANGE[0].year, DATE_RANGE[1].year
    return int(text) if text.isdigit() and len(text) == 4 and first <= int(text) <= last else None


def _actions(text) -> tuple[str, ...]:
    """招商动作 from a query string (补链,延链 or 补链、延链), in the catalogue's order; unknown words
    are ignored (as a malformed date is)."""
    words = set(re.split(r"[,，、\s]+", str(text or "")[:64]))
    return tuple(action for action in ACTIONS if action in words)


def reached_args(stage: str, today: date) -> dict:
    """The list filter behind a rate's numerator of projects that reached `stage`: reached it, and,
    where the 口径 counts against the year's plan, planned to reach it this year."""
    key = next(rate for rate, reached in REACHED_RATES.items() if reached == stage)
    args = {"reached": stage}
    if measures.current().rates[key].denominator == "planned_this_year":
        args.update(planned=stage, planned_year=str(today.year))
    return args


@dataclass
class ProjectFilter:
    """The filters of the project list, its export and its API, read from query parameters."""

    cluster: str = ""
    district: str = ""
    stage: str = ""
    health: str = ""
    sector: str = ""
    signed_from: date | None = None
    signed_to: date | None = None
    q: str = ""
    enterprise_id: int | None = None
    # The narrowings a figure makes (the dashboard counts live projects; the overview's 已开工 the
    # ones that reached 开工): its link opens the list with the same filter, which says so.
    live: bool = False
    reached: str = ""
    # 亿元以上项目 (the 口径's threshold); the projects planned to reach a stage in a year (the
    # base of 开工率 and 投产率 where the 口径 counts against the year's plan).
    big: bool = False
    planned: str = ""
    planned_year: int | None = None
    # The 赛马榜's narrowings (crm/rankings/racing.py): the projects whose main catalogue entry's
    # 招商动作 is one of `actions` (招新引优), and those whose `milestone` (开工) was actually
    # reached between milestone_from and milestone_to (重大项目开工), either end optional.
    actions: tuple[str, ...] = ()
    milestone: str = ""
    milestone_from: date | None = None
    milestone_to: date | None = None

    @property
    def notes(self) -> list[str]:
        """What this filter leaves out, in words the list shows above its rows."""
        notes = []
        if self.big:
            threshold = measures.current().counts["big_projects"].threshold_wan
            notes.append(f"仅含亿元以上项目（协议投资额不低于 {threshold} 万元，不含已终止）")
        if self.planned and self.planned_year:
            notes.append(f"仅含计划于 {self.planned_year} 年达到“{self.planned}”的项目")
        if self.reached:
            notes.append(f"仅含已达到“{self.reached}”及之后阶段的项目（不含已终止）")
        elif self.live:
            notes.append("不含已终止的项目")
        if self.actions:
            notes.append(f"仅含主目录条目招商动作为{'、'.join(self.actions)}的项目")
        if self.milestone:
            first = self.milestone_from.isoformat() if self.milestone_from else "…"
            last = self.milestone_to.isoformat() if self.milestone_to else "…"
            notes.append(f"仅含“{self.milestone}”实际日期在 {first} 至 {last} 之间的项目")
        return notes

    def query_args(self) -> dict:
        """The query parameters that reproduce this filter: a figure's link to its list."""
        args = {
            "cluster": self.cluster,
            "district": self.district,
            "stage": self.stage,
            "health": self.health,
            "sector": self.sector,
            "signed_from": self.signed_from.isoformat() if self.signed_from else "",
            "signed_to": self.signed_to.isoformat() if self.signed_to else "",
            "q": self.q,
            "live": "1" if self.live else "",
            "reached": self.reached,
            "big": "1" if self.big else "",
            "planned": self.planned if self.planned_year else "",
            "planned_year": str(self.planned_year) if self.planned and self.planned_year else "",
            "action": ",".join(self.actions),
            "milestone": self.milestone,
            "milestone_from": self.milestone_from.isoformat() if self.milestone_from else "",
            "milestone_to": self.milestone_to.isoformat() if self.milestone_to else "",
        }
        return {key: value for key, value in args.items() if value}

    @classmethod
    def from_args(cls, args) -> "ProjectFilter":
        return cls(
            live=args.get("live") == "1",
            reached=args.get("reached") if args.get("reached") in MILESTONES else "",
            cluster=(args.get("cluster") or "")[:8].upper(),
            district=(args.get("district") or "")[:64],
            stage=args.get("stage") if args.get("stage") in STAGES else "",
            health=args.get("health") if args.get("health") in HEALTHS else "",
            sector=(args.get("sector") or "")[:8],
            signed_from=filter_day(args.get("signed_from")),
            signed_to=filter_day(args.get("signed_to")),
            q=(args.get("q") or "").strip()[:64],
            big=args.get("big") == "1",
            planned=args.get("planned") if args.get("planned") in MILESTONES else "",
            planned_year=_year(args.get("planned_year")),
            actions=_actions(args.get("action")),
            milestone=args.get("milestone") if args.get("milestone") in MILESTONES else "",
            milestone_from=filter_day(args.get("milestone_from")),
            milestone_to=filter_day(args.get("milestone_to")),
        )

    def apply(self, stmt: Select, today: date) -> Select:
        if self.cluster:
            stmt = stmt.where(Project.catalogue_entry_id.in_(CatalogueEntry.ids_in_cluster(self.cluster)))
        if self.district:
            district = resolve_district(self.district)
            stmt = stmt.where(Project.district_scope(district.id if district else -1))
        if self.stage:
            stmt = stmt.where(Project.stage == self.stage)
        if self.health:
            stmt = stmt.where(health_sql(today) == self.health)
        if self.sector:
            stmt = stmt.where(Project.catalogue_entry_id.in_(CatalogueEntry.ids_in_sector(self.sector)))
        if self.signed_from:
            stmt = stmt.where(Project.signed_on >= self.signed_from)
        if self.signed_to:
            stmt = stmt.where(Project.signed_on <= self.signed_to)
        if self.q:
            stmt = stmt.where(Project.name.contains(self.q, autoescape=True))
        if self.enterprise_id is not None:
            stmt = stmt.where(Project.enterprise_id == self.enterprise_id)
        if self.live:
            stmt = stmt.where(Project.stage != TERMINATED)
        if self.reached:
            stmt = stmt.where(reached_sql(self.reached))
        if self.big:
            stmt = stmt.where(big_project_sql())
        if self.planned and self.planned_year:
            stmt = stmt.where(planned_in_year(self.planned, self.planned_year))
        if self.actions:
            main_entries = select(CatalogueEntry.id).where(CatalogueEntry.action.in_(self.actions))
            stmt = stmt.where(Project.catalogue_entry_id.in_(main_entries))
        if self.milestone:
            stmt = stmt.where(reached_between(self.milestone, self.milestone_from, self.milestone_to))
        return stmt


# What a page of projects shows beside each project (its firm, its district, its milestones for
# the health badge), loaded with the page (not one query per row).
LISTED = (
    selectinload(Project.enterprise),
    selectinload(Project.district),
    selectinload(Project.milestones),
    selectinload(Project.catalogue_entries),
    selectinload(Project.fund_entries),  # 实际到位资金 is counted from them by the 口径 in force
)


def visible_projects(filters: ProjectFilter | None = None, today: date | None = None, user=None) -> Select:
    """SELECT of the projects the user may see, filtered: behind the list, its export and the API."""
    stmt = scoped(select(Project), Project, user)
    return (filters or ProjectFilter()).apply(stmt, today or today_local())


def week_end(today: date) -> date:
    """The Sunday of today's week: what "this week" means on the work lists."""
    return today + timedelta(days=6 - today.weekday())


def update_worklist(user, today: date) -> dict:
    """A district user's projects by what they need: an update due this week (or overdue), 滞后 or
    停滞, in the order they fall due; terminated ones apart. 本区项目 and the home page show it."""
    # Health reads the milestones and the lists show the firm: loaded with the rows, not one by one.
    rows = visible_projects(today=today, user=user).options(
        selectinload(Project.milestones), selectinload(Project.enterprise)
    )
    projects = db.session.scalars(rows).all()
    live = sorted((p for p in projects if p.stage != TERMINATED), key=lambda p: (p.update_due_on, p.id))
    end = week_end(today)
    return {
        "live": live,
        "due": [p for p in live if p.update_due_on <= end],
        "troubled": [p for p in live if p.health(today) in (BEHIND, STALLED)],
        "ended": [p for p in projects if p.stage == TERMINATED],
        "week_end": end,
    }


def updates_due_count(user, today: date) -> int:
    """How many of the user's live projects need an update by the end of this week: the badge on
    本区项目 (the same rule as update_worklist's "due")."""
    stmt = visible_projects(user=user).where(
        Project.stage != TERMINATED, Project.update_due_by(week_end(today))
    )
    return db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0


def recent_updates(user, limit: int = 10) -> list[ProjectUpdate]:
    """The newest progress updates of the projects the user may see."""
    stmt = (
        select(ProjectUpdate)
        .where(ProjectUpdate.project_id.in_(visible_projects(user=user).with_only_columns(Project.id)))
        .order_by(ProjectUpdate.reported_on.desc(), ProjectUpdate.id.desc())
        .options(selectinload(ProjectUpdate.project))
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def project_of_lead(lead, user=None) -> Project | None:
    """The project a signed lead became, if the user may see it (the bureau may have moved it to
    another district since)."""
    return db.session.scalar(visible_projects(user=user).where(Project.lead_id == lead.id))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Totals:
    """Count, agreed investment and 实际到位资金 of a set of projects, and the two sides of their
    资金到位率 as the 统计口径 in force takes them (funds since signing ÷ agreed investment, or
    this year's funds ÷ this year's plans)."""

    count: int
    agreed_wan: int
    funds_wan: int
    rate_funds_wan: int
    rate_base_wan: int

    @property
    def funds_rate(self) -> float | None:
        return _share(self.rate_funds_wan, self.rate_base_wan)


def _funds_columns(sub, today: date) -> tuple[list, list]:
    """(joins, columns) that add to an aggregate over the projects subquery `sub` (which has id
    and agreed_investment_wan): the counted funds to `today`, and the 资金到位率's numerator and
    base under the 口径 in force. Each project's funds are summed once, in a subquery per project."""
    rate = measures.current().rates["funds_rate"]
    cumulative = funds_by_project(last=today)
    joins = [(cumulative, cumulative.c.project_id == sub.c.id)]
    columns = [func.coalesce(func.sum(cumulative.c.funds_wan), 0)]
    if rate.denominator == "year_plan":
        # Both sides over the projects with a plan for the year: money of a project without one
        # would otherwise count above a base that leaves it out (a rate over 100 %).
        this_year = funds_by_project(date(today.year, 1, 1), today)
        plans = plans_of_year(today.year)
        joins += [(this_year, this_year.c.project_id == sub.c.id), (plans, plans.c.project_id == sub.c.id)]
        columns += [
            func.coalesce(func.sum(case((plans.c.plan_wan.is_not(None), this_year.c.funds_wan), else_=0)), 0),
            func.coalesce(func.sum(plans.c.plan_wan), 0),
        ]
    else:
        columns += [columns[0], func.coalesce(func.sum(sub.c.agreed_investment_wan), 0)]
    return joins, columns


def _outer(stmt, joins):
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    return stmt


def totals(stmt: Select, today: date | None = None) -> Totals:
    """Count, agreed investment and funds of the projects a SELECT finds."""
    today = today or today_local()
    sub = stmt.order_by(None).subquery()
    joins, funds = _funds_columns(sub, today)
    row = db.session.execute(
        _outer(
            select(func.count(), func.coalesce(func.sum(sub.c.agreed_investment_wan), 0), *funds).select_from(
                sub
            ),
            joins,
        )
    ).one()
    return Totals(*(int(v or 0) for v in row))


def totals_by_cluster(stmt: Select, today: date | None = None) -> dict[str, Totals]:
    """totals() of the projects a SELECT finds, for every cluster at once (cluster code → Totals,
    clusters without projects absent): the same rows as ProjectFilter(cluster=code) narrows the
    SELECT to — a project belongs to each cluster its catalogue entry suits — in one query."""
    today = today or today_local()
    sub = stmt.order_by(None).subquery()
    joins, funds = _funds_columns(sub, today)
    query = (
        select(Cluster.code, func.count(), func.coalesce(func.sum(sub.c.agreed_investment_wan), 0), *funds)
        .select_from(sub)
        .join(entry_clusters, entry_clusters.c.entry_id == sub.c.catalogue_entry_id)
        .join(Cluster, Cluster.id == entry_clusters.c.cluster_id)
    )
    rows = db.session.execute(_outer(query, joins).group_by(Cluster.code))
    return {row[0]: Totals(*(int(v or 0) for v in row[1:])) for row in rows}


def big_project_sql():
    """SQL: the project is a 亿元以上项目 under the 口径 in force (the list's filter, the rates' count)."""
    threshold = measures.current().counts["big_projects"].threshold_wan
    return and_(Project.agreed_investment_wan >= threshold, Project.stage != TERMINATED)


# ---------------------------------------------------------------- rates officials report


@dataclass
class Rates:
    """开工率, 投产率, 资金到位率 and 履约率 of a set of signed projects, as of a day, each the
    numerator and base the 统计口径 in force names (crm/projects/data/measures.yaml)."""

    label: str
    signed: int
    started: int
    start_base: int
    producing: int
    production_base: int
    agreed_wan: int
    funds_wan: int
    rate_funds_wan: int
    rate_base_wan: int
    kept: int
    terminated: int
    big: int

    @classmethod
    def summed(cls, rows: list["Rates"], label: str = "合计") -> "Rates":
        """The rates of the union of disjoint groups (each project in one district): every count
        and amount adds up, so a page grouped by district needs no second aggregate for its total."""
        names = [f.name for f in fields(cls) if f.name != "label"]
        return cls(label, *(sum(getattr(row, name) for row in rows) for name in names))

    @property
    def start_rate(self) -> float | None:
        return _share(self.started, self.start_base)

    @property
    def production_rate(self) -> float | None:
        return _share(self.producing, self.production_base)

    @property
    def funds_rate(self) -> float | None:
        return _share(self.rate_funds_wan, self.rate_base_wan)

    @property
    def performance_rate(self) -> float | None:
        return _share(self.kept, self.signed)


def reached_between(stage: str, first: date | None, last: date | None):
    """SQL: the project's `stage` milestone has an actual date, between `first` and `last` (each
    optional, inclusive)."""
    conditions = [
        Milestone.project_id == Project.id,
        Milestone.stage == stage,
        Milestone.actual_on.is_not(None),
    ]
    if first is not None:
        conditions.append(Milestone.actual_on >= first)
    if last is not None:
        conditions.append(Milestone.actual_on <= last)
    return exists(select(Milestone.id).where(*conditions))


def planned_in_year(stage: str, year: int):
    """SQL: the project's plan puts reaching `stage` in `year`."""
    return exists(
        select(Milestone.id).where(
            Milestone.project_id == Project.id,
            Milestone.stage == stage,
            Milestone.planned_on.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )


def rates(stmt: Select, today: date, group=None, label_of=None) -> list[Rates]:
    """The rates of the projects a SELECT finds, in total or per `group` column (a join path may be
    needed in `stmt`), counted as the 统计口径 in force defines each: signed = the projects;
    started / producing = reached 开工 / 投产 (not terminated), over the signed projects or only
    those planned to reach it this year; 履约 = not terminated (and, by default, not behind)."""
    defined = measures.current().rates
    bases = {}
    for key, stage in REACHED_RATES.items():
        planned = defined[key].denominator == "planned_this_year"
        bases[key] = planned_in_year(stage, today.year) if planned else true()
    kept_rule = (
        health_sql(today).not_in((BEHIND, TERMINATED))
        if defined["performance_rate"].numerator == "on_schedule"
        else Project.stage != TERMINATED
    )
    sub = (
        stmt.order_by(None)
        .with_only_columns(
            Project.id,
            Project.agreed_investment_wan,
            Project.stage,
            reached_sql(ProjectStage.STARTED).label("started"),
            reached_sql(ProjectStage.PRODUCING).label("producing"),
            bases["start_rate"].label("start_base"),
            bases["production_rate"].label("production_base"),
            kept_rule.label("kept"),
            big_project_sql().label("big"),
            *([group.label("grp")] if group is not None else []),
        )
        .subquery()
    )
    one = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    joins, funds = _funds_columns(sub, today)
    columns = [
        func.count(),
        one(sub.c.started & sub.c.start_base),
        one(sub.c.start_base),
        one(sub.c.producing & sub.c.production_base),
        one(sub.c.production_base),
        func.coalesce(func.sum(sub.c.agreed_investment_wan), 0),
        *funds,
        one(sub.c.kept),
        one(sub.c.stage == TERMINATED),
        one(sub.c.big),
    ]
    if group is None:
        row = db.session.execute(_outer(select(*columns).select_from(sub), joins)).one()
        return [Rates("合计", *(int(v or 0) for v in row))]
    result = db.session.execute(
        _outer(select(sub.c.grp, *columns).select_from(sub), joins).group_by(sub.c.grp)
    ).all()
    return [
        Rates(label_of(row[0]) if label_of else str(row[0]), *(int(v or 0) for v in row[1:]))
        for row in result
    ]
