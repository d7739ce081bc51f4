"""Project attachments on the pages: upload from the project page, open or download a file, delete
one. A file is reached only through its project's scope: another district's file, a deleted one and
an unknown id are the same 404."""

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound
from wtforms import SelectField

from crm.auth.permissions import get_visible_or_404
from crm.core.forms import BaseForm, choices, first_error
from crm.files.sniff import ALLOWED, EXTENSIONS
from crm.projects.attachments import (
    CATEGORIES,
    Attachment,
    attachment_content,
    delete_attachment,
    max_bytes,
    may_delete,
    may_upload,
    size_label,
    store_attachment,
    visible_attachment_or_404,
)
from crm.projects.models import Project
from crm.web import projects as project_pages
from crm.web.saving import save

bp = Blueprint("attachments", __name__)


class UploadForm(BaseForm):
    category = SelectField(
        "附件类别",
        choices=choices((c, c) for c in CATEGORIES),
        validate_choice=False,  # the service names a forged category in Chinese
    )
    file = FileField("文件")


class DeleteForm(BaseForm):
    """CSRF only: deleting is a button."""


class ContentMissing(NotFound):
    chinese = "附件的文件内容缺失或已损坏，请联系系统管理员。"


@bp.app_context_processor
def attachment_helpers() -> dict:
    """What templates/projects/_attachments.html needs beside the list itself."""
    return {
        "attachment_categories": CATEGORIES,
        "attachment_accept": ",".join(EXTENSIONS),
        "attachment_allowed": ALLOWED,
        "attachment_max_label": size_label(max_bytes()),
        "attachment_size": size_label,
        "may_upload_attachment": lambda: may_upload(current_user),
        "may_delete_attachment": lambda attachment: may_delete(current_user, attachment),
    }


def _back_to(project_id: int):
    return redirect(url_for("projects.detail", project_id=project_id) + "#attachments")


@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
def upload(project_id: int):
    """Add a file to a project (those who report its progress)."""
    project = get_visible_or_404(Project, project_id)
    if not may_upload(current_user):
        abort(403)
    form = UploadForm()
    if form.validate_on_submit():
        saved = save(
            lambda: store_attachment(
                project, form.file.data, form.category.data, current_user._get_current_object()
            ),
            lambda attachment: f"已上传附件“{attachment.name}”（{size_label(attachment.size)}）。",
        )
        if saved.ok:
            attachment = saved.value
            # The browser goes back to the project, at the new file: its id is in the address and
            # in a header for a client that follows no redirect (the API answers with the record).
            response = redirect(
                url_for("projects.detail", project_id=project_id) + f"#attachment-{attachment.id}"
            )
            response.headers["X-Attachment-Id"] = str(attachment.id)
            return response
    else:
        flash(first_error(form) or "提交无效", "danger")
    # The project page again, its message at the top; nothing was kept.
    return project_pages.detail(project_id), 400


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
    """The file, to those who may see its project: images and PDFs shown in the browser (or saved
    with ?download=1), Office documents saved; always with the type sniffed at upload."""
    attachment: Attachment = visible_attachment_or_404(attachment_id)
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
    """Delete a file (its uploader, or a manager): hidden from now on, kept and audited."""
    attachment = visible_attachment_or_404(attachment_id)
    if not may_delete(current_user, attachment):
        abort(403)
    project_id = attachment.project_id
    form = DeleteForm()
    if form.validate_on_submit():
        save(
            lambda: delete_attachment(attachment, current_user._get_current_object()),
            f"已删除附件“{attachment.name}”。",
        )
    else:
        flash(first_error(form) or "提交无效", "danger")
    return _back_to(project_id)
