"""Every model, imported so that Alembic and the audit log see them all."""

from crm.audit.models import AuditLog
from crm.auth.models import LoginAttempt, User
from crm.briefs.models import Brief, BriefIssue
from crm.enterprises.models import Contact, Enterprise
from crm.events.models import Event, EventEnterprise
from crm.files.storage import AttachmentBlob
from crm.imports.models import ImportBatch
from crm.inbox.models import Digest, Notification, NotificationSettings
from crm.industry.models import (
    CatalogueEntry,
    Chain,
    Cluster,
    ClusterDistrict,
    IndustryCategory,
    Product,
    Sector,
    Target,
    TargetReport,
)
from crm.leads.models import FollowUp, Lead, StageChange
from crm.places.models import District, Division
from crm.projects.attachments import Attachment
from crm.projects.models import FundEntry, FundPlan, Milestone, Project, ProjectUpdate
from crm.readmodels.models import EnterpriseMatch, MatchFeedback, MatchLearnRun, MatchProposal, MatchState
from crm.supervision.models import Handover, HandoverRecord, Item, ItemReply

__all__ = [
    "AuditLog",
    "Attachment",
    "AttachmentBlob",
    "LoginAttempt",
    "Brief",
    "BriefIssue",
    "CatalogueEntry",
    "Contact",
    "Digest",
    "Handover",
    "HandoverRecord",
    "Item",
    "ItemReply",
    "Notification",
    "NotificationSettings",
    "Enterprise",
    "EnterpriseMatch",
    "MatchFeedback",
    "MatchLearnRun",
    "MatchProposal",
    "FollowUp",
    "FundEntry",
    "FundPlan",
    "ImportBatch",
    "Lead",
    "MatchState",
    "Milestone",
    "Project",
    "ProjectUpdate",
    "StageChange",
    "Chain",
    "Cluster",
    "ClusterDistrict",
    "District",
    "Division",
    "Event",
    "EventEnterprise",
    "IndustryCategory",
    "Product",
    "Sector",
    "Target",
    "TargetReport",
    "User",
]
