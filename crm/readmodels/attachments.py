"""How many enterprises, leads and projects attach to each node of the map, as each reader may see."""

from collections import defaultdict

from sqlalchemy import func, select

from crm.auth.permissions import scoped
from crm.enterprises.models import Enterprise, enterprise_entries
from crm.extensions import db
from crm.industry.models import CatalogueEntry, Chain, Product, Sector
from crm.leads.models import Lead
from crm.projects.models import Project
from crm.readmodels.cache import cached

ATTACHMENT_KINDS = ("enterprises", "leads", "projects")


@cached
def attachment_counts(user=None) -> dict[str, dict[str, int]]:
    """How many enterprises, leads and projects attach to each map node, keyed by code.

    Catalogue (= product) codes carry their own counts; chain and sector codes the sum of their
    products'. Counts go through the permission scope: a district user counts only what they see.
    Three aggregates over every firm, lead and project: remembered until the data changes.
    """
    queries = {
        "enterprises": scoped(
            select(CatalogueEntry.code, func.count(func.distinct(Enterprise.id)))
            .join(enterprise_entries, enterprise_entries.c.entry_id == CatalogueEntry.id)
            .join(Enterprise, Enterprise.id == enterprise_entries.c.enterprise_id)
            .where(Enterprise.merged_into_id.is_(None)),
            Enterprise,
            user,
        ),
        "leads": scoped(
            select(CatalogueEntry.code, func.count(Lead.id)).join(
                Lead, Lead.catalogue_entry_id == CatalogueEntry.id
            ),
            Lead,
            user,
        ),
        "projects": scoped(
            select(CatalogueEntry.code, func.count(Project.id)).join(
                Project, Project.catalogue_entry_id == CatalogueEntry.id
            ),
            Project,
            user,
        ),
    }
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ATTACHMENT_KINDS, 0))
    hierarchy = (
        select(CatalogueEntry.code, Chain.code, Sector.code)
        .join(CatalogueEntry.product)
        .join(Product.chain)
        .join(Chain.sector)
    )
    parents = {code: (chain, sector) for code, chain, sector in db.session.execute(hierarchy)}
    for kind, stmt in queries.items():
        for code, number in db.session.execute(stmt.group_by(CatalogueEntry.code)):
            for node in (code, *parents.get(code, ())):
                counts[node][kind] += number
    return counts  # a lookup of a code without rows adds its zeros: harmless in a kept result
