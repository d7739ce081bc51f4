"""The figures of a weekly brief, read from the database for one scope and one ISO week.

Everything here is a query; what it returns is plain data (dicts, lists, numbers, dates) that
reports.render turns into HTML without touching the database again. A scope is the whole city or
one cluster (a lead or project belongs to a cluster through its catalogue entry, as in the lists),
optionally narrowed to one district (a district user's brief).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload, selectinload

from crm.core import weeks
from crm.core.amounts import plain_number
from crm.core.timeutil import day_bounds
from crm.core.transaction import Refusal
from crm.enterprises.models import TIER_5BN_WAN, TIER_10BN_WAN, Enterprise
from crm.extensions import db
from crm.industry.models import PLAN_START, CatalogueEntry, Cluster, Target
from crm.industry.service import all_clusters, catalogue_entries
from crm.industry.targets import latest_reports
from crm.leads.models import OPEN, FollowUp, Lead
from crm.leads.service import stage_counts
from crm.places.models import District
from crm.projects import measures
from crm.projects.funds import funds_by
from crm.projects.models import (
    BEHIND,
    STALLED,
    TERMINATED,
    FundEntry,
    Milestone,
    Project,
    ProjectStage,
    health_sql,
)
from crm.rankings import activity
from crm.readmodels.gaps import Coverage, entry_coverage
from crm.supervision.items import light_sql as item_light_sql
from crm.supervision.models import Item
from crm.supervision.rules import GREEN, RED, YELLOW
from reports.funds import composition
from reports.summary import FIGURES, summary

# What the brief's lists print of each row, loaded with the rows (not one query per row).
# Joined, not selected after: a list's statements are the same whether it is empty or full.
LEAD_ROWS = (joinedload(Lead.enterprise), joinedload(Lead.owner), joinedload(Lead.intended_district))
PROJECT_ROWS = (
    joinedload(Project.enterprise),
    joinedload(Project.district),
    selectinload(Project.milestones),
    selectinload(Project.fund_entries),  # 实际到位资金, counted by the 口径 in force
)


class BriefError(Refusal):
    """A brief that cannot be made (unknown cluster, malformed week); the message is Chinese."""


@dataclass(frozen=True)
class Scope:
    """What a brief covers: the city or one cluster, optionally one district only."""

    cluster_code: str | None = None  # None: the whole city
    district_id: int | None = None

    @property
    def key(self) -> str:
        return self.cluster_code or "CITY"


def normal_week(text: str) -> str:
    """An ISO week in its canonical form 2026-W47; BriefError in Chinese for anything else."""
    return weeks.normal_week(text, BriefError)


def parse_week(text: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week written 2026-W47; BriefError in Chinese for anything else."""
    return weeks.parse_week(text, BriefError)


def resolve_cluster(name: str) -> Cluster:
    """A cluster by full name, short name or code; unknown names list what is valid."""
    wanted = (name or "").strip()
    for cluster in all_clusters():
        if wanted in (cluster.name, cluster.short_name, cluster.code, cluster.text_name):
            return cluster
    valid = "、".join(c.short_name for c in all_clusters())
    raise BriefError(f"没有名为“{wanted[:40]}”的产业集群。可用：{valid}（也可用全称）")


# The headline figures, in the order the brief prints them; the trends look back this many weeks.
HEADLINE = tuple(FIGURES)
TREND_WEEKS = 12

BRIEF_ROWS = 50  # rows of a list a brief loads; the brief prints fewer and counts the rest


class Listed:
    """The first rows of a list and the length of the whole: the brief prints a few rows under a
    heading that counts them all, so a city-wide list of 4 000 overdue leads is one count and 50
    rows, not 4 000 rows loaded."""

    def __init__(self, rows: list, total: int):
        self.rows, self.total = rows, total

    def __len__(self) -> int:
        return self.total

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def __repr__(self) -> str:
        return f"<Listed {len(self.rows)} of {self.total}>"


def _activity_row(row) -> dict:
    return {
        "unit": row.unit.name,
        "score": row.score,
        "rank": row.rank,
        "previous_rank": row.previous_rank,
        "change": row.change,
        "counts": row.counts,
        "trend": row.trend,
    }


class Figures:
    """Queries of one scope; each method returns plain data."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.cluster = None
        if scope.cluster_code:
            self.cluster = db.session.scalar(select(Cluster).where(Cluster.code == scope.cluster_code))
            if self.cluster is None:
                raise BriefError(f"没有代码为 {scope.cluster_code} 的产业集群")

    # ------------------------------------------------------------ scoped selects

    def leads(self):
        """The scope's leads: of the cluster through their catalogue entry, of the district through
        the leads' own district scope (what a district user may see)."""
        stmt = select(Lead)
        if self.cluster is not None:
            stmt = stmt.where(Lead.catalogue_entry_id.in_(CatalogueEntry.ids_in_cluster(self.cluster.code)))
        if self.scope.district_id:
            stmt = stmt.where(Lead.district_scope(self.scope.district_id))
        return stmt

    def projects(self, in_district: bool = True):
        """The scope's projects, by the same rules as its leads (`in_district=False`: the cluster's
        in every district)."""
        stmt = select(Project)
        if self.cluster is not None:
            stmt = stmt.where(
                Project.catalogue_entry_id.in_(CatalogueEntry.ids_in_cluster(self.cluster.code))
            )
        if self.scope.district_id and in_district:
            stmt = stmt.where(Project.district_scope(self.scope.district_id))
        return stmt

    def _count(self, stmt) -> int:
        return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0

    def _listed(self, stmt, shape) -> Listed:
        """The first BRIEF_ROWS rows of `stmt` (ordered, with its loader options) as `shape` makes
        each, and how many there are in all."""
        rows = db.session.scalars(stmt.limit(BRIEF_ROWS)).all()
        return Listed([shape(row) for row in rows], self._count(stmt))

    def _lead_ids(self):
        return self.leads().with_only_columns(Lead.id).scalar_subquery()

    def _project_ids(self):
        return self.projects().with_only_columns(Project.id).scalar_subquery()

    # ------------------------------------------------------------ headline figures

    def headline(self, first: date, last: date) -> dict:
        """The figures of a period (a week, or PLAN_START..Sunday for the cumulative ones)."""
        return self.headline_periods([(first, last)])[0]

    def headline_periods(self, periods: list[tuple[date, date]]) -> list[dict]:
        """The headline figures of each of several periods that do not overlap (a run of weeks), in
        their order. Each figure is one grouped query over all the periods, whatever their number:
        a record falls into the period its date is in (CASE), and is counted there."""
        figures = [dict.fromkeys(HEADLINE, 0) for _ in periods]
        if not periods:
            return figures
        earliest, latest = min(p[0] for p in periods), max(p[1] for p in periods)

        def period_of(column, timestamps: bool = False):
            whens = []
            for number, (first, last) in enumerate(periods):
                if timestamps:  # a moment, in the local days of the period
                    start, end = day_bounds(first, last)
                    whens.append((and_(column >= start, column < end), number))
                else:
                    whens.append((column.between(first, last), number))
            return case(*whens, else_=None)

        def grouped(stmt, column, *values, timestamps: bool = False):
            """(period, value sums …) of the rows of `stmt` in the periods."""
            start, end = day_bounds(earliest, latest)
            window = and_(column >= start, column < end) if timestamps else column.between(earliest, latest)
            columns = [period_of(column, timestamps).label("period")]
            columns += [value.label(f"v{n}") for n, value in enumerate(values)]
            sub = stmt.where(window).order_by(None).with_only_columns(*columns).subquery()
            sums = [func.count()] + [func.sum(getattr(sub.c, f"v{n}")) for n in range(len(values))]
            return db.session.execute(
                select(sub.c.period, *sums).where(sub.c.period.is_not(None)).group_by(sub.c.period)
            ).all()

        for period, count in grouped(self.leads(), Lead.created_at, timestamps=True):
            figures[period]["new_leads"] = count
        follow_ups = select(FollowUp).where(FollowUp.lead_id.in_(self._lead_ids()))
        site_visit = case((FollowUp.kind == "实地考察", 1), else_=0)
        for period, count, visits in grouped(follow_ups, FollowUp.occurred_on, site_visit):
            figures[period].update(follow_ups=count, site_visits=int(visits or 0))
        for period, count, agreed in grouped(
            self.projects(), Project.signed_on, Project.agreed_investment_wan
        ):
            figures[period].update(signings=count, signed_wan=int(agreed or 0))
        reached = {ProjectStage.STARTED: "starts", ProjectStage.PRODUCING: "production_starts"}
        for stage, key in reached.items():
            milestones = select(Milestone).where(
                Milestone.project_id.in_(self._project_ids()), Milestone.stage == stage
            )
            for period, count in grouped(milestones, Milestone.actual_on):
                figures[period][key] = count
        funds = funds_by(self.projects(), earliest, latest, {"period": period_of(FundEntry.arrived_on)})
        for period, (amount, _entries) in funds["period"].items():
            if period is not None:
                figures[period]["funds_wan"] = amount
        return figures

    def weekly(self, monday: date, before: int = TREND_WEEKS) -> list[dict]:
        """The headline figures of the week of `monday` and of the `before` weeks before it, oldest
        first: the last is the week's own figures, the others its trend and its average."""
        mondays = weeks.weeks_back(monday, before + 1)
        return self.headline_periods([(m, m + timedelta(days=6)) for m in mondays])

    # ------------------------------------------------------------ lists

    def key_projects(self, as_of: date, limit: int = 10) -> list[dict]:
        rows = db.session.execute(
            self.projects()
            .where(Project.stage != TERMINATED, Project.signed_on <= as_of)
            .add_columns(health_sql(as_of).label("health"))
            .options(*PROJECT_ROWS)
            .order_by(Project.agreed_investment_wan.desc(), Project.id)
            .limit(limit)
        ).all()
        return [
            {
                "name": p.name,
                "enterprise": p.enterprise.name,
                "district": p.district.name,
                "stage": p.stage,
                "health": health,
                "agreed_wan": p.agreed_investment_wan,
                "funds_wan": measures.current().funds.total(p.fund_entries, until=as_of),
                "signed_on": p.signed_on,
            }
            for p, health in rows
        ]

    def new_leads(self, first: date, last: date) -> list[dict]:
        start, end = day_bounds(first, last)
        return self._listed(
            self.leads()
            .where(Lead.created_at >= start, Lead.created_at < end)
            .options(*LEAD_ROWS)
            .order_by(Lead.created_at, Lead.id),
            lambda lead: {
                "title": lead.title,
                "enterprise": lead.enterprise.name,
                "stage": lead.stage,
                "source": lead.source,
                "district": lead.intended_district.name if lead.intended_district else "",
                "investment_wan": lead.intended_investment_wan,
                "owner": lead.owner.display_name,
            },
        )

    def warnings(self, as_of: date) -> dict:
        health = health_sql(as_of)

        def project(p):
            return {"name": p.name, "district": p.district.name, "stage": p.stage, "last": p.last_update_on}

        return {
            "stalled": self._listed(
                self.projects().where(health == STALLED).options(*PROJECT_ROWS).order_by(Project.id), project
            ),
            "behind": self._listed(
                self.projects().where(health == BEHIND).options(*PROJECT_ROWS).order_by(Project.id),
                lambda p: {
                    **project(p),
                    "late": [m.stage for m in p.milestones if m.is_late(p.stage, as_of)],
                },
            ),
            # The lead list's 跟进已逾期 filter, the same rule.
            "overdue": self._listed(
                self.leads()
                .where(Lead.overdue_on(as_of))
                .options(*LEAD_ROWS)
                .order_by(Lead.next_follow_up_on, Lead.id),
                lambda lead: {
                    "title": lead.title,
                    "owner": lead.owner.display_name,
                    "due": lead.next_follow_up_on,
                    "days": (as_of - lead.next_follow_up_on).days,
                },
            ),
        }

    def items(self, as_of: date) -> dict:
        """督办事项 of the scope open on `as_of`: how many by light, and the red and yellow ones
        (worst first, then by deadline) — the item list's own light. A district's: the items on its
        projects and those given to it, as its staff read them."""
        stmt = select(Item)
        if self.cluster is not None:
            in_cluster = self.projects(in_district=False).with_only_columns(Project.id)
            stmt = stmt.where(Item.project_id.in_(in_cluster))
        if self.scope.district_id:
            stmt = stmt.where(Item.district_scope(self.scope.district_id))
        light = item_light_sql(as_of)
        grouped = stmt.with_only_columns(light, func.count()).where(light.is_not(None)).group_by(light)
        counts = dict(db.session.execute(grouped).all())
        warned = (
            stmt.where(light.in_((RED, YELLOW)))
            .options(
                joinedload(Item.project).joinedload(Project.district),
                joinedload(Item.division),
                joinedload(Item.district),
            )
            .order_by(case((light == RED, 0), else_=1), Item.deadline, Item.id)
        )
        return {
            "counts": {key: counts.get(key, 0) for key in (RED, YELLOW, GREEN)},
            "warned": self._listed(
                warned,
                lambda item: {
                    "project": item.project.name,
                    "district": item.project.district.name,
                    "description": item.description,
                    "category": item.category,
                    "unit": item.responsible.name,
                    "deadline": item.deadline,
                    "light": RED if item.deadline < as_of else YELLOW,
                    "days": (as_of - item.deadline).days,
                },
            ),
        }

    def next_week(self, last: date) -> list[dict]:
        return self._listed(
            self.leads()
            .where(
                Lead.next_follow_up_on.between(last + timedelta(days=1), last + timedelta(days=7)),
                Lead.stage.in_(OPEN),
            )
            .options(*LEAD_ROWS)
            .order_by(Lead.next_follow_up_on, Lead.id),
            lambda lead: {
                "due": lead.next_follow_up_on,
                "title": lead.title,
                "owner": lead.owner.display_name,
                "stage": lead.stage,
            },
        )

    def funnel(self) -> list[tuple[str, int]]:
        """Leads by stage now, in stage order: the pipeline, then 搁置 and 流失 (as the dashboard)."""
        return stage_counts(self.leads())

    def investment_by_district(self, as_of: date) -> list[tuple[str, int]]:
        rows = db.session.execute(
            select(District.name, func.sum(Project.agreed_investment_wan))
            .join(Project, Project.district_id == District.id)
            .where(
                Project.id.in_(self._project_ids()), Project.stage != TERMINATED, Project.signed_on <= as_of
            )
            .group_by(District.name)
            .order_by(func.sum(Project.agreed_investment_wan).desc(), District.name)
        ).all()
        return [(name, int(total)) for name, total in rows]

    def coverage(self) -> dict:
        """The scope's catalogue entries: 空白环节 first, by the one rule of crm.readmodels.gaps
        counted over the scope's own leads and projects."""
        coverage = entry_coverage(self.leads(), self.projects())
        entries = [
            e
            for e in catalogue_entries(include_retired=False)
            if self.cluster is None or any(c.id == self.cluster.id for c in e.clusters)
        ]
        counted = [(e, coverage.get(e.id, Coverage())) for e in entries]
        rows = [
            {
                "code": e.code,
                "title": e.title,
                "action": e.action,
                "gap": e.gap,
                "leads": c.leads,
                "projects": c.projects,
                "is_gap": c.is_gap,
            }
            for e, c in counted
        ]
        gaps = [r for r in rows if r["is_gap"]]
        covered = [r for r in rows if not r["is_gap"]]
        gap_codes = {r["code"] for r in gaps}
        by_cluster = [
            {
                "name": cluster.short_name,
                "total": sum(1 for e in entries if cluster in e.clusters),
                "gaps": [
                    f"{e.code} {e.title}" for e in entries if cluster in e.clusters and e.code in gap_codes
                ],
            }
            for cluster in all_clusters()
        ]
        return {"total": len(rows), "gaps": gaps, "covered": covered, "by_cluster": by_cluster}

    def activity(self, week: str) -> dict:
        """The week's 招商活跃指数 of the scope's districts (a cluster's districts, one district, or
        every district), with their city-wide ranks; the divisions' ranking in the city's brief."""
        ranking = activity.board(week, "district")
        if self.scope.district_id:
            wanted = {self.scope.district_id}
        elif self.cluster is not None:
            wanted = {d.id for d in [*self.cluster.districts, *self.cluster.core_districts]}
        else:
            wanted = {row.unit.id for row in ranking.rows}
        divisions = None
        if self.cluster is None and not self.scope.district_id:
            divisions = [_activity_row(row) for row in activity.board(week, "division").rows]
        return {
            "indices": [(index.key, index.label) for index in ranking.rules.indices],
            "definition": ranking.rules.summary,
            "ranked": ranking.ranked,
            "units": len(ranking.rows),
            "rows": [_activity_row(row) for row in ranking.rows if row.unit.id in wanted],
            "divisions": divisions,
        }

    def share(self, first: date, last: date) -> list[dict]:
        """A district's figures of a period beside those of its whole scope (the cluster or the
        city, every district), and its share of them."""
        own = self.headline(first, last)
        whole = Figures(Scope(self.scope.cluster_code)).headline(first, last)
        return [
            {
                "key": key,
                "own": own[key],
                "whole": whole[key],
                "share": own[key] / whole[key] if whole[key] else None,
            }
            for key in ("new_leads", "follow_ups", "signings", "signed_wan", "starts", "funds_wan")
        ]

    def targets(self, on: date | None = None) -> list[dict]:
        """Progress toward the 2027 targets from the enterprise data (local firms: the ones the
        plan counts); targets the CRM holds no data for say so."""
        local = select(Enterprise).where(Enterprise.kind == "local", Enterprise.merged_into_id.is_(None))
        if self.scope.district_id:
            local = local.where(Enterprise.located_in(self.scope.district_id))
        measured = {
            "enterprises_10bn": self._count(local.where(Enterprise.revenue_wan >= TIER_10BN_WAN)),
            "enterprises_5bn": self._count(
                local.where(Enterprise.revenue_wan >= TIER_5BN_WAN, Enterprise.revenue_wan < TIER_10BN_WAN)
            ),
            "listed_enterprises": self._count(local.where(Enterprise.listed_exchange.is_not(None))),
        }
        reported = latest_reports(on)
        rows = []
        for target in db.session.scalars(select(Target).order_by(Target.sort_order, Target.id)):
            value = measured.get(target.code)
            report = reported.get(target.id) if target.code not in measured else None
            if report is not None:
                value = plain_number(report.value)
            goal = float(target.value)
            rows.append(
                {
                    "code": target.code,
                    "label": target.label,
                    "ambition": target.ambition,
                    "current": value,
                    "unit": target.unit,
                    "share": (float(value) / goal) if value is not None and goal else None,
                    # A figure a person reported says when it was true and where it comes from.
                    "as_of": report.as_of if report else None,
                    "source": report.source if report else None,
                    # People report the city's figures: a district's brief says so beside them.
                    "city_wide": report is not None and bool(self.scope.district_id),
                }
            )
        return rows


def gather(scope: Scope, week: str, generated_at: datetime, today: date) -> dict:
    """Every figure of a brief, as plain data. `as_of` (the day health and warnings are judged
    on) is the week's Sunday for a past week, else today."""
    week = normal_week(week)
    monday, sunday = parse_week(week)
    figures = Figures(scope)
    as_of = min(sunday, today)
    district = db.session.get(District, scope.district_id) if scope.district_id else None
    weekly = figures.weekly(monday)
    week_figures = weekly[-1]
    data = {
        "scope": scope.key,
        "title": figures.cluster.name if figures.cluster else "全市先进材料产业",
        "short": figures.cluster.short_name if figures.cluster else "全市",
        "district": district.name if district else None,
        "core_districts": [d.name for d in figures.cluster.core_districts] if figures.cluster else [],
        "week": week,
        "monday": monday,
        "sunday": sunday,
        "as_of": as_of,
        "plan_start": PLAN_START,
        "generated_at": generated_at,
        "week_figures": week_figures,
        "quiet_week": not any(week_figures.values()),
        # Each headline figure against last week and the weeks before (arrows, sparklines, summary).
        "trends": {key: _trend(weekly, key) for key in HEADLINE},
        "trend_weeks": TREND_WEEKS,
        "cumulative": figures.headline(PLAN_START, sunday),
        "targets": figures.targets(sunday),
        "key_projects": figures.key_projects(as_of),
        "new_leads": figures.new_leads(monday, sunday),
        "coverage": figures.coverage(),
        "warnings": {**figures.warnings(as_of), "items": figures.items(as_of)},
        "next_week": figures.next_week(sunday),
        "funnel": figures.funnel(),
        "by_district": figures.investment_by_district(as_of),
        # What the week's and the cumulative funds are made of, by source and kind.
        "funds_split": {
            "week": composition(figures.projects(), monday, sunday),
            "total": composition(figures.projects(), PLAN_START, sunday),
        },
        # The 统计口径 sentences the brief prints under its figures (crm.projects.measures).
        "definitions": {
            "funds": measures.current().definition("funds"),
            "outside_province_funds": measures.current().definition("outside_province_funds"),
        },
        "activity": figures.activity(week),
        # A district's brief measures the district against its scope city-wide, this year.
        "share": figures.share(date(sunday.year, 1, 1), sunday) if scope.district_id else None,
    }
    data["summary"] = summary(data)
    return data


def _trend(weekly: list[dict], key: str) -> dict:
    """One figure's last TREND_WEEKS weeks (the sparkline), last week's value, and the average of
    the TREND_WEEKS weeks before this one: what the arrows and the summary compare with."""
    before = [week[key] for week in weekly[:-1]]
    return {
        "series": [week[key] for week in weekly[1:]],
        "previous": weekly[-2][key],
        "average": round(sum(before) / len(before), 1) if before else 0,
        "change": weekly[-1][key] - weekly[-2][key],
    }
