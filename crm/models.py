"""Every model, imported so that Alembic and the audit log see them all."""

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.industry.models import District

__all__ = ["AuditLog", "District", "User"]
