"""Attachments on the pages: upload from a project's or a 招商活动's page, open or download a file,
delete one. A file is reached only through its owner's scope: another district's file, a deleted
one and an unknown id are the same 404 (and an event's file is a 404 to those who read no events).

Who may upload and delete: on a project, as crm.projects.attachments says (those who report its
progress; the uploader and managers); on an event, those who may change the event — its recorder,
its organising district, managers (crm.events.service.may_change_event, a layer above the
attachments' own module, so asked here)."""

from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound
from wtforms import SelectField

from crm.auth.models import MANAGER
from crm.auth.permissions import get_changeable_or_403, get_visible_or_404, roles_required
from crm.core.forms import BaseForm, first_error
from crm.events.models import Event
from crm.events.service import EVENT_RECORDERS, may_change_event, may_record_events
from crm.files.sniff import ALLOWED, EXTENSIONS
from crm.projects.attachments import (
    Attachment,
    attachment_content,
    categories_for,
    delete_attachment,
    max_bytes,
    may_delete,
    may_upload,
    size_label,
    store_attachment,
    visible_attachment_or_404,
)
from crm.projects.models import Project
from crm.web import events as event_pages
from crm.web import projects as project_pages
from crm.web.saving import save

bp = Blueprint("attachments", __name__)


class UploadForm(BaseForm):
    # No choices of its own: the service checks the category against the owner's (and names a
    # forged one in Chinese).
    category = SelectField("附件类别", choices=[], validate_choice=False)
    file = FileField("文件")


class DeleteForm(BaseForm):
    """CSRF only: deleting is a button."""


class ContentMissing(NotFound):
    chinese = "附件的文件内容缺失或已损坏，请联系系统管理员。"


# ---------------------------------------------------------------- who may


def may_upload_to(user, owner) -> bool:
    """A project's files: those who report its progress; an event's: those who may change it."""
    if isinstance(owner, Event):
        return getattr(user, "role", None) == MANAGER or may_change_event(user, owner)
    return may_upload(user)


def may_remove(user, attachment: Attachment) -> bool:
    """A project's file: its uploader and managers; an event's: those who may change the event
    (whoever uploaded it: the event's files are its organisers' to keep in order)."""
    if attachment.event_id is not None:
        return may_upload_to(user, attachment.event)
    return may_delete(user, attachment)


# ---------------------------------------------------------------- the card on the owner's page


@dataclass(frozen=True)
class Card:
    """What templates/projects/_attachments.html prints for one owner."""

    title: str
    hint: str
    categories: tuple[str, ...]
    upload_url: str
    may_upload: bool


def attachment_card(owner) -> Card:
    """The attachments card of a project's or an event's page, for the current user."""
    if isinstance(owner, Event):
        title, upload_url = "活动附件", url_for("attachments.upload_to_event", event_id=owner.id)
    else:
        title, upload_url = "项目附件", url_for("attachments.upload", project_id=owner.id)
    categories = categories_for(owner)
    hint = "、".join(c for c in categories if c != "其他") + "等"
    return Card(title, hint, categories, upload_url, may_upload_to(current_user, owner))


@bp.app_context_processor
def attachment_helpers() -> dict:
    """What templates/projects/_attachments.html needs beside the list itself."""
    return {
        "attachment_card": attachment_card,
        "attachment_accept": ",".join(EXTENSIONS),
        "attachment_allowed": ALLOWED,
        "attachment_max_label": size_label(max_bytes()),
        "attachment_size": size_label,
        # After a refused upload: its form, the messages beside its fields and the category chosen.
        "attachment_form": g.get("attachment_form"),
        "may_delete_attachment": lambda attachment: may_remove(current_user, attachment),
    }


# ---------------------------------------------------------------- upload


def _store(owner, page_url: str, page):
    """Keep the posted file on `owner`, then back to `page_url` at the new file; a refusal renders
    the owner's page again (`page()`, answered 400) with the message at the top and beside the
    field, the category kept; nothing was kept."""
    form = UploadForm()
    if form.validate_on_submit():
        saved = save(
            lambda: store_attachment(
                owner, form.file.data, form.category.data, current_user._get_current_object()
            ),
            lambda attachment: f"已上传附件“{attachment.name}”（{size_label(attachment.size)}）。",
            form=form,
        )
        if saved.ok:
            attachment = saved.value
            # The browser goes back to the owner, at the new file: its id is in the address and
            # in a header for a client that follows no redirect (the API answers with the record).
            response = redirect(page_url + f"#attachment-{attachment.id}")
            response.headers["X-Attachment-Id"] = str(attachment.id)
            return response
    else:
        flash(first_error(form) or "提交无效", "danger")
    g.attachment_form = form
    return page(), 400


@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
def upload(project_id: int):
    """Add a file to a project (those who report its progress)."""
    project = get_visible_or_404(Project, project_id)
    if not may_upload(current_user):
        abort(403)
    return _store(
        project,
        url_for("projects.detail", project_id=project_id),
        lambda: project_pages.detail(project_id),
    )


@bp.route("/events/<int:event_id>/attachments", methods=["POST"])
@roles_required(*EVENT_RECORDERS)
def upload_to_event(event_id: int):
    """Add a file to a 招商活动 (those who may change it): another district's event is a 404."""
    event = get_changeable_or_403(Event, event_id, may_upload_to)
    return _store(
        event,
        url_for("events.detail", event_id=event_id),
        lambda: event_pages.detail(event_id),
    )


# ---------------------------------------------------------------- fetch and delete


def _visible_or_404(attachment_id: int) -> Attachment:
    """The file if the current user may see its owner; else 404, as an unknown id."""
    attachment = visible_attachment_or_404(attachment_id)
    # Admins read projects but no events (crm.events.service): an event's file is not there for them.
    if attachment.event_id is not None and not may_record_events(current_user):
        abort(404)
    return attachment


def content_disposition(name: str, inline: bool) -> str:
    """The header that keeps a Chinese name: RFC 6266 with filename*=UTF-8''… (RFC 5987) for every
    current browser, and a plain ASCII filename= for the others."""
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    printable = name.isascii() and name.isprintable() and '"' not in name and "\\" not in name
    plain_extension = extension.isascii() and extension.isalnum()
    fallback = name if printable else f"attachment.{extension}" if plain_extension else "attachment"
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.route("/attachments/<int:attachment_id>")
def fetch(attachment_id: int):
    """The file, to those who may see its project or event: images and PDFs shown in the browser
    (or saved with ?download=1), Office documents saved; always with the type sniffed at upload."""
    attachment = _visible_or_404(attachment_id)
    try:
        data = attachment_content(attachment)
    except LookupError:
        current_app.logger.exception("附件 %s 的存储内容缺失或校验不符", attachment.id)
        raise ContentMissing() from None
    inline = attachment.inline and request.args.get("download") != "1"
    response = Response(data, mimetype=attachment.content_type)
    response.headers["Content-Disposition"] = content_disposition(attachment.name, inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A stored file changes never; its hash names its content for a conditional request.
    response.set_etag(attachment.sha256)
    return response.make_conditional(request)


@bp.route("/attachments/<int:attachment_id>/delete", methods=["POST"])
def delete(attachment_id: int):
    """Delete a file (a project's: its uploader or a manager; an event's: those who may change the
    event): hidden from now on, kept and audited."""
    attachment = _visible_or_404(attachment_id)
    if not may_remove(current_user, attachment):
        abort(403)
    if attachment.event_id is not None:
        back = url_for("events.detail", event_id=attachment.event_id)
    else:
        back = url_for("projects.detail", project_id=attachment.project_id)
    form = DeleteForm()
    if form.validate_on_submit():
        save(
            lambda: delete_attachment(attachment, current_user._get_current_object()),
            f"已删除附件“{attachment.name}”。",
        )
    else:
        flash(first_error(form) or "提交无效", "danger")
    return redirect(back + "#attachments")
