"""The JSON API, version 1, on the same login session as the pages: one module per resource,
records shown by crm.api.serializers, outcomes answered by crm.api.common."""

from crm.api import enterprises, leads, meta, projects  # noqa: F401  (each adds its routes to bp)
from crm.api.common import bp

__all__ = ["bp"]
