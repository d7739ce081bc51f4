"""How the API shows each record: one function per kind, used by every resource that returns it."""

from datetime import date, datetime

from flask import url_for

from crm.core.timeutil import to_local
from crm.enterprises.models import Enterprise
from crm.enterprises.service import current_values
from crm.leads.models import FollowUp, Lead
from crm.projects.attachments import Attachment
from crm.projects.models import FundEntry, Project, ProjectUpdate


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: datetime | None) -> str | None:
    """A stored time as Beijing time to the second, with its offset."""
    return to_local(value).isoformat(timespec="seconds") if value else None


def user_json(user) -> dict:
    """A user as the API shows it (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_label": user.role_label,
        "district": user.district.name if user.district else None,
    }


def enterprise_json(e: Enterprise) -> dict:
    """An enterprise: its editable values (what PATCH starts from) and more."""
    return {
        "id": e.id,
        **current_values(e),
        "revenue_tier": e.revenue_tier,
        # Set when this record was merged into another: clients follow it to the kept record.
        "merged_into_id": e.merged_into_id,
        "version": e.version,
    }


def lead_json(lead: Lead) -> dict:
    """A lead."""
    return {
        "id": lead.id,
        "title": lead.title,
        "enterprise_id": lead.enterprise_id,
        "enterprise": lead.enterprise.name,
        "source": lead.source,
        "owner": lead.owner.username,
        "stage": lead.stage,
        "lost_reason": lead.lost_reason,
        "catalogue_code": lead.catalogue_entry.code if lead.catalogue_entry else None,
        "district": lead.intended_district.name if lead.intended_district else None,
        "intended_investment_wan": lead.intended_investment_wan,
        "next_follow_up_on": _day(lead.next_follow_up_on),
        "last_contact_on": _day(lead.last_contact_on),
        "expected_signing_on": _day(lead.expected_signing_on),
        "first_referrer": lead.first_referrer or None,
        "version": lead.version,
    }


def follow_up_json(follow_up: FollowUp) -> dict:
    """A follow-up of a lead."""
    return {
        "id": follow_up.id,
        "lead_id": follow_up.lead_id,
        "occurred_on": follow_up.occurred_on.isoformat(),
        "kind": follow_up.kind,
        "participants": follow_up.participants,
        "notes": follow_up.notes,
    }


def project_json(project: Project, today: date) -> dict:
    """A project; stage and figures are derived from its updates, health as of `today`."""
    return {
        "id": project.id,
        "name": project.name,
        "enterprise_id": project.enterprise_id,
        "enterprise": project.enterprise.name,
        "lead_id": project.lead_id,
        "district": project.district.name,
        "park": project.park,
        "catalogue_codes": [e.code for e in project.catalogue_entries],
        "stage": project.stage,
        "health": project.health(today),
        "termination_reason": project.termination_reason,
        "signed_on": project.signed_on.isoformat(),
        "agreed_investment_wan": project.agreed_investment_wan,
        "funds_in_place_wan": project.funds_in_place_wan,
        "expected_output_wan": project.expected_output_wan,
        "expected_jobs": project.expected_jobs,
        "last_update_on": _day(project.last_update_on),
        "milestones": [
            {"stage": m.stage, "planned_on": _day(m.planned_on), "actual_on": _day(m.actual_on)}
            for m in project.milestones
        ],
        "version": project.version,
    }


def project_update_json(update: ProjectUpdate) -> dict:
    """A progress update of a project."""
    return {
        "id": update.id,
        "project_id": update.project_id,
        "reported_on": update.reported_on.isoformat(),
        "stage_reached": update.stage_reached,
        "stage_reached_on": _day(update.stage_reached_on),
        "funds_wan": update.funds_wan,
        "note": update.note,
        "issues": update.issues,
        "termination_reason": update.termination_reason,
        "corrects_id": update.corrects_id,
        "created_by": update.created_by.display_name if update.created_by else None,
    }


def fund_entry_json(entry: FundEntry, counted: bool, corrected: bool) -> dict:
    """An entry of a project's funds ledger; `counted`: the 统计口径 in force counts it."""
    return {
        "id": entry.id,
        "project_id": entry.project_id,
        "amount_wan": entry.amount_wan,
        "arrived_on": entry.arrived_on.isoformat(),
        "source_region": entry.source_region,
        "kind": entry.kind,
        "counts_as_investment": entry.counts_as_investment,
        "evidence_type": entry.evidence_type,
        "note": entry.note,
        "corrects_id": entry.corrects_id,
        "review": entry.review,
        "review_reason": entry.review_reason,
        "reviewed_by": entry.reviewed_by.display_name if entry.reviewed_by else None,
        "reviewed_at": _moment(entry.reviewed_at),
        "corrected": corrected,
        "counted": counted,
        "created_by": entry.created_by.display_name if entry.created_by else None,
        "created_at": _moment(entry.created_at),
    }


def attachment_json(attachment: Attachment) -> dict:
    """A file of a project (never its bytes: `url` serves them)."""
    return {
        "id": attachment.id,
        "project_id": attachment.project_id,
        "fund_entry_id": attachment.fund_entry_id,
        "name": attachment.name,
        "category": attachment.category,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "created_at": _moment(attachment.created_at),
        "created_by": attachment.created_by.display_name if attachment.created_by else None,
        "url": url_for("attachments.fetch", attachment_id=attachment.id),
    }


def item_json(item, light: str | None) -> dict:
    """A 督办事项, with its light for today."""
    return {
        "id": item.id,
        "project_id": item.project_id,
        "project": item.project.name,
        "district": item.project.district.name,
        "description": item.description,
        "category": item.category,
        "responsible": item.responsible.name,
        "responsible_kind": item.responsible.kind,
        "deadline": item.deadline.isoformat(),
        "status": item.status,
        "light": light,
        "result": item.result or None,
        "created_by": item.created_by.display_name if item.created_by else None,
        "created_at": _moment(item.created_at),
        "closed_on": _day(item.closed_on),
        "version": item.version,
    }


def item_reply_json(reply) -> dict:
    return {
        "id": reply.id,
        "kind": reply.kind,
        "body": reply.body,
        "author": reply.created_by.display_name if reply.created_by else None,
        "created_at": _moment(reply.created_at),
    }


def notification_json(notification) -> dict:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "kind_label": notification.kind_label,
        "text": notification.text,
        "url": notification.url or None,
        "read": notification.read_at is not None,
        "created_at": _moment(notification.created_at),
    }
