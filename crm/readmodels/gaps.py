"""空白环节: the catalogue entries nobody is working on. One rule for the gaps page, the cluster
pages and every brief: an entry in use is covered by a lead being worked toward a signing
(线索 … 商务洽谈) or by a live project (signed, not terminated); an entry with neither is a gap."""

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from crm.extensions import db
from crm.industry.service import all_clusters, catalogue_entries
from crm.leads.models import IN_PROGRESS, Lead
from crm.projects.models import TERMINATED, Project
from crm.readmodels.matching import recommendations


@dataclass(frozen=True)
class Coverage:
    """How many active leads and live projects an entry has."""

    leads: int = 0
    projects: int = 0

    @property
    def is_gap(self) -> bool:
        return not self.leads and not self.projects


def entry_coverage(leads: Select | None = None, projects: Select | None = None) -> dict[int, Coverage]:
    """Catalogue entry id → its Coverage, counting the leads and projects the two SELECTs find
    (a brief's scope), or all of them. Entries with neither are absent: look them up with
    `.get(entry_id, Coverage())`."""
    leads = (leads if leads is not None else select(Lead)).order_by(None)
    projects = (projects if projects is not None else select(Project)).order_by(None)
    subqueries = (
        leads.where(Lead.stage.in_(IN_PROGRESS))
        .with_only_columns(Lead.catalogue_entry_id.label("entry_id"))
        .subquery(),
        projects.where(Project.stage != TERMINATED)
        .with_only_columns(Project.catalogue_entry_id.label("entry_id"))
        .subquery(),
    )
    counts: dict[int, list[int]] = {}
    for index, sub in enumerate(subqueries):
        rows = db.session.execute(
            select(sub.c.entry_id, func.count()).where(sub.c.entry_id.is_not(None)).group_by(sub.c.entry_id)
        )
        for entry_id, number in rows:
            counts.setdefault(entry_id, [0, 0])[index] = int(number)
    return {entry_id: Coverage(*pair) for entry_id, pair in counts.items()}


def gaps(cluster_code: str | None = None, per_entry: int = 3) -> list[dict]:
    """空白环节 per cluster, each with its best `per_entry` recommended firms. Counted city-wide: a
    gap is a gap of the catalogue, whoever looks; the firms are those the reader may see."""
    coverage = entry_coverage()
    in_use = catalogue_entries(include_retired=False)
    entries = [e for e in in_use if coverage.get(e.id, Coverage()).is_gap]
    recommended = recommendations({e.code for e in entries}, per_entry=per_entry)
    report = []
    for cluster in all_clusters():
        if cluster_code and cluster.code != cluster_code:
            continue
        items = [e for e in entries if cluster in e.clusters]
        report.append(
            {
                "cluster": cluster,
                "total": sum(1 for e in in_use if cluster in e.clusters),
                "gaps": [(e, recommended.get(e.code, [])) for e in items],
            }
        )
    return report


TARGETS_PER_GAP = 20  # a target list an officer can work through; the page shows the best three


@dataclass(frozen=True)
class TargetRow:
    """One line of a cluster's 招商目标清单: a gap and a firm to approach for it (firm None: the
    library has none, the gap needs searching outside)."""

    entry: object
    rank: int
    firm: object | None
    score: float | None
    reason: str


def gap_targets(cluster_code: str) -> list[TargetRow]:
    """The cluster's 空白环节, each with the unworked firms on file (target pool and imported lists,
    no lead yet, visible to the reader) ranked by how well their products match, and why."""
    rows = []
    for block in gaps(cluster_code, per_entry=TARGETS_PER_GAP):
        for entry, firms in block["gaps"]:
            if not firms:
                rows.append(TargetRow(entry, 0, None, None, "企业库中暂无匹配企业，需外出寻找目标"))
            for rank, (firm, score, terms) in enumerate(firms, start=1):
                said = f"主要产品命中“{'、'.join(terms)}”" if terms else "主要产品属于该环节所在产业链"
                rows.append(TargetRow(entry, rank, firm, score, f"{said}；该环节为空白，企业尚无线索"))
    return rows
