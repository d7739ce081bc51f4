"""到位资金 by the 统计口径: the breakdowns a statistics office asks for (source region, kind,
cluster, district, month, this year's signings against earlier ones, verified against not), and
the 招商引资统计报表's rows, one per project, for a period of arrival and a scope of projects.

Every figure is a sum of the entries crm.projects.funds counts (funds_by / funds_per_project), so
the breakdowns, the rows and funds_total's headline agree with each other and with every page."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, case, extract, func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.industry.models import Cluster, entry_clusters
from crm.places.models import District
from crm.projects import measures
from crm.projects.funds import entry_is_current, funds_by, funds_per_project
from crm.projects.models import FUND_KINDS, REVIEWS, SOURCE_REGIONS, UNSTATED, FundEntry, Project, Review

THIS_YEARS, EARLIER = "今年签约并履约", "往年签约正在履约"


@dataclass
class Breakdown:
    """One table of the report: (label, 万元, entries) rows in their order, and their total."""

    title: str
    key: str
    rows: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(amount for _, amount, _ in self.rows)


def _ordered(title: str, key: str, found: dict, order=None) -> Breakdown:
    """Every label of `order` (zeros included), then the other labels found, sorted."""
    labels = list(order or ()) + sorted(k for k in found if k not in (order or ()))
    return Breakdown(title, key, [(str(label), *found.get(label, (0, 0))) for label in labels])


SOURCE = func.coalesce(FundEntry.source_region, UNSTATED)
KIND = func.coalesce(FundEntry.kind, UNSTATED)


def _split(found: dict) -> dict:
    outside = measures.current().counts["outside_province_funds"]
    by_source = _ordered("按资金来源地", "source", found["source"], (*SOURCE_REGIONS, UNSTATED))
    return {
        "source": by_source,
        "kind": _ordered("按资金类型", "kind", found["kind"], (*FUND_KINDS, UNSTATED)),
        "outside": sum(amount for label, amount, _ in by_source.rows if label in outside.sources),
        "outside_label": outside.label,
    }


def composition(projects: Select, first: date | None, last: date | None) -> dict:
    """What the counted funds of a set of projects (arrived between `first` and `last`, each
    optional) are made of: by source region and by kind, and the 省外 part as the 口径 defines it.
    The dashboard, the overview, the brief and the report show the same split."""
    return _split(funds_by(projects, first, last, {"source": SOURCE, "kind": KIND}))


def _month(value: int) -> str:
    return f"{value // 100}-{value % 100:02d}"


def gather(projects: Select, first: date, last: date) -> dict:
    """Every figure of the report for the projects a (scoped, filtered) SELECT finds and the
    entries that arrived between `first` and `last`: the breakdowns from one grouped query (and
    one for the clusters, a project counting in each of its entry's clusters)."""
    ids = projects.order_by(None).with_only_columns(Project.id).scalar_subquery()
    found = funds_by(
        projects,
        first,
        last,
        {
            "source": SOURCE,
            "kind": KIND,
            "review": FundEntry.review,
            "cohort": case((Project.signed_on >= date(last.year, 1, 1), THIS_YEARS), else_=EARLIER),
            "district": District.name,
            "month": extract("year", FundEntry.arrived_on) * 100 + extract("month", FundEntry.arrived_on),
        },
        (District, District.id == Project.district_id),
    )
    clusters = funds_by(
        projects,
        first,
        last,
        {"cluster": Cluster.short_name},
        (entry_clusters, entry_clusters.c.entry_id == Project.catalogue_entry_id),
        (Cluster, Cluster.id == entry_clusters.c.cluster_id),
    )["cluster"]
    cluster_order = [
        c for (c,) in db.session.execute(select(Cluster.short_name).order_by(Cluster.sort_order))
    ]
    refused = db.session.execute(
        select(func.coalesce(func.sum(FundEntry.amount_wan), 0), func.count(FundEntry.id)).where(
            FundEntry.project_id.in_(ids),
            entry_is_current(),  # a refused entry the bureau has since corrected is not refused money
            FundEntry.review == Review.REJECTED,
            FundEntry.arrived_on.between(first, last),
        )
    ).one()
    split = _split(found)
    months = found["month"]
    return {
        "first": first,
        "last": last,
        "total": split["source"].total,  # every counted entry has one source (or 未注明)
        "outside": split["outside"],
        "outside_label": split["outside_label"],
        "refused": (int(refused[0]), int(refused[1])),
        "breakdowns": [
            split["source"],
            split["kind"],
            _ordered(
                "按核实状态（计入的登记）",
                "review",
                found["review"],
                [r for r in REVIEWS if r != Review.REJECTED],
            ),
            _ordered(f"按签约年度（{last.year} 年）", "cohort", found["cohort"], (THIS_YEARS, EARLIER)),
            _ordered("按区县", "district", found["district"]),
            Breakdown(
                "按产业集群（一个项目可属多个集群，合计可能大于总数）",
                "cluster",
                [(name, *clusters[name]) for name in cluster_order if name in clusters],
            ),
            Breakdown("按到位月份", "month", [(_month(int(m)), *months[m]) for m in sorted(months)]),
        ],
    }


REPORT_ROWS = (
    selectinload(Project.enterprise),
    selectinload(Project.district),
    selectinload(Project.catalogue_entries),
    selectinload(Project.fund_entries),
)


def project_rows(projects: Select, first: date, last: date) -> list[tuple[Project, dict]]:
    """The 统计报表's rows: each project with counted arrivals in the period and its figures, by
    district then signing date."""
    figures = funds_per_project(projects, first, last)
    if not figures:
        return []
    found = db.session.scalars(
        select(Project)
        .where(Project.id.in_(list(figures)))
        .join(District, District.id == Project.district_id)
        .options(*REPORT_ROWS)
        .order_by(District.sort_order, District.name, Project.signed_on, Project.id)
    )
    return [(project, figures[project.id]) for project in found]
