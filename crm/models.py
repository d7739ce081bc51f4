"""Every model, imported so that Alembic and the audit log see them all."""

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.industry.models import (
    CatalogueEntry,
    Chain,
    Cluster,
    ClusterDistrict,
    District,
    IndustryCategory,
    Product,
    Sector,
    Target,
)

__all__ = [
    "AuditLog",
    "CatalogueEntry",
    "Chain",
    "Cluster",
    "ClusterDistrict",
    "District",
    "IndustryCategory",
    "Product",
    "Sector",
    "Target",
    "User",
]
