"""Import pages: upload, column mapping with a live preview, confirm; templates to download."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import defer
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from crm.auth.models import DISTRICT, MANAGER, OFFICER
from crm.auth.permissions import roles_required
from crm.core.excel import XLSX
from crm.core.forms import BaseForm, choices, first_error
from crm.core.pagination import RowPage, page_number
from crm.extensions import db
from crm.imports.fields import FIELDS, KIND_LABELS, template_bytes
from crm.imports.limits import MAX_BYTES, MAX_ROWS, MB
from crm.imports.models import KINDS, ImportBatch
from crm.imports.service import (
    ACTIONS,
    CHUNK_ROWS,
    PAGE_ROWS,
    Progress,
    cached_preview,
    cancel_import,
    check_rows,
    kinds_for,
    may_import,
    refresh_preview,
    run_import,
    samples,
    set_mapping,
    start_import,
)
from crm.web.saving import save

bp = Blueprint("imports", __name__, url_prefix="/imports")

IMPORTERS = (OFFICER, MANAGER)  # the import page with every kind
# Who opens a batch's pages: district staff too, for their own batches of events
# (crm.imports.service.IMPORTERS says who imports what).
BATCH_USERS = (OFFICER, MANAGER, DISTRICT)


class UploadForm(BaseForm):
    kind = SelectField("导入内容", choices=choices(KINDS.items()), default="enterprises")
    file = FileField(f"文件（.xlsx 或 .csv，不超过 {MAX_BYTES // MB} MB、{MAX_ROWS} 行）")


def _upload_form(only: str | None) -> UploadForm:
    """The upload form offering the kinds the current user may import (or `only` that one); a
    kind posted outside them fails the form's own choice check."""
    form = UploadForm()
    allowed = [only] if only else kinds_for(current_user)
    form.kind.choices = choices((kind, KINDS[kind]) for kind in allowed)
    if form.kind.data not in allowed and (request.method == "GET" or "kind" not in request.form):
        form.kind.data = allowed[0]
    return form


class BatchForm(BaseForm):
    """The mapping and confirm forms: CSRF, the batch version seen, the duplicates choice."""

    version = IntegerField("页面版本", widget=HiddenInput(), validators=[Optional()])
    create_duplicates = BooleanField("疑似重复的行仍然新建（不勾选则跳过这些行）")


def _batch(batch_id: int) -> ImportBatch:
    """A batch its creator (or a manager) may open; anyone else gets a 404 — and a 403 for a kind
    of batch their role never imports (district staff and enterprises or leads)."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None and not may_import(current_user, batch.kind):
        abort(403)
    if batch is None or (batch.created_by_id != current_user.id and current_user.role != MANAGER):
        abort(404)
    return batch


@bp.route("/", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def index():
    """Upload a file; recent batches below."""
    return _upload_page()


@bp.route("/events", methods=["GET", "POST"])
@roles_required(*BATCH_USERS)
def events_upload():
    """The upload page of 招商活动: district staff import their district's events here (the page of
    every kind is the bureau's); the bureau lands here from the event list's 「导入」."""
    return _upload_page(only="events")


def _upload_page(only: str | None = None):
    form = _upload_form(only)
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            flash("请选择要导入的文件", "danger")
        else:
            saved = save(lambda: start_import(form.kind.data, upload.filename, upload.read(), current_user))
            if saved.ok:
                return redirect(url_for("imports.batch", batch_id=saved.value.id))
    elif request.method == "POST":
        flash(first_error(form) or "提交无效", "danger")
    # Only the figures of each batch's result, not the previews (megabytes) pending ones keep.
    figures = ("total", "done", "created", "updated", "unchanged", "skipped")
    recent = (
        select(ImportBatch, *(ImportBatch.result[key] for key in figures))
        .options(defer(ImportBatch.result))
        .order_by(ImportBatch.id.desc())
        .limit(20)
    )
    if current_user.role != MANAGER:
        recent = recent.where(ImportBatch.created_by_id == current_user.id)
    if only:
        recent = recent.where(ImportBatch.kind == only)
    batches = [
        (batch, dict(zip(figures, values, strict=True))) for batch, *values in db.session.execute(recent)
    ]
    return render_template(
        "imports/index.html",
        form=form,
        batches=batches,
        kinds=KIND_LABELS,
        only=only,
        allowed=[c.value for c in form.kind.choices],
    )


@bp.route("/template/<kind>.xlsx")
@roles_required(*BATCH_USERS)
def template(kind: str):
    """The template of an import, with an example row and a sheet of explanations."""
    if kind not in FIELDS:
        abort(404)
    if not may_import(current_user, kind):
        abort(403)
    return send_file(
        io.BytesIO(template_bytes(kind)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{KIND_LABELS[kind]}导入模板.xlsx",
    )


@bp.route("/<int:batch_id>")
@roles_required(*BATCH_USERS)
def batch(batch_id: int):
    """The column mapping, the progress of the import, and a page of the preview."""
    return _batch_page(_batch(batch_id))


def _batch_page(batch: ImportBatch, form: "BatchForm | None" = None, chosen: dict[str, str] | None = None):
    """A batch's page; after a refused mapping, `form` and `chosen` bring back what was chosen."""
    progress = Progress.of(batch)
    result = None
    if batch.status == "pending":
        result = cached_preview(batch)
        if result is None and not progress.started and not progress.running():
            result = check_rows(batch, current_user)  # a batch uploaded before previews were kept
    show = request.args.get("show", "")
    show = show if show in ACTIONS else ""
    page = None
    if result is not None:
        number = page_number()
        rows, total = result.page(show or None, number)
        page = RowPage(page=number, per_page=PAGE_ROWS, error_out=False, rows=rows, total=total)
    form = form or BatchForm(formdata=None, version=batch.version, create_duplicates=batch.create_duplicates)
    return render_template(
        "imports/batch.html",
        batch=batch,
        chosen=chosen if chosen is not None else batch.mapping,
        result=result,
        page=page,
        show=show,
        actions=ACTIONS,
        progress=progress,
        running=progress.running(),
        chunk_rows=CHUNK_ROWS,
        form=form,
        fields=FIELDS[batch.kind],
        samples=samples(batch),
        home=_home(batch),
    )


def _posted(batch_id: int) -> tuple[ImportBatch, "BatchForm | None"]:
    """The batch a POST is about and its checked form; None (with the problem flashed) when the
    form does not validate (CSRF, a forged version)."""
    batch = _batch(batch_id)
    form = BatchForm()
    if not form.validate_on_submit():
        flash(first_error(form) or "提交无效", "danger")
        return batch, None
    return batch, form


@bp.route("/<int:batch_id>/mapping", methods=["POST"])
@roles_required(*BATCH_USERS)
def mapping(batch_id: int):
    """Save the column mapping and check every row under it."""
    batch, form = _posted(batch_id)
    if form is None:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    chosen = {
        str(index): request.form.get(f"column-{index}", "").strip()[:32]
        for index in range(len(batch.headers))
    }
    mapped = "已更新列对应关系，请核对下方预览。"
    if save(lambda: set_mapping(batch, chosen, form.create_duplicates.data, current_user), mapped).ok:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    # The page again with the columns as chosen, not as saved: nothing chosen is lost.
    return _batch_page(_batch(batch_id), form, chosen)


@bp.route("/<int:batch_id>/recheck", methods=["POST"])
@roles_required(*BATCH_USERS)
def recheck(batch_id: int):
    """Check the rows not imported yet again, against the firms on file now."""
    batch, form = _posted(batch_id)
    if form is not None:
        save(lambda: refresh_preview(batch, current_user), "已重新检查，请核对下方预览。")
    return redirect(url_for("imports.batch", batch_id=batch.id))


def _counts(progress: Progress) -> str:
    counts = progress.counts
    return (
        f"新建 {counts['created']} 条，更新 {counts['updated']} 条，"
        f"无变化 {counts['unchanged']} 条，跳过 {counts['skipped']} 条"
    )


@bp.route("/<int:batch_id>/confirm", methods=["POST"])
@roles_required(*BATCH_USERS)
def confirm(batch_id: int):
    """Import the rows, chunk by chunk; or the rest of them, after a run stopped midway."""
    batch, form = _posted(batch_id)
    if form is None:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    outcome = run_import(batch.id, current_user, form.version.data or 0)
    progress = outcome.progress
    if outcome.refusal:
        flash(str(outcome.refusal), "danger")
    elif outcome.finished:
        flash(f"导入完成：{_counts(progress)}。", "success")
    elif outcome.stopped:
        flash(
            f"导入在处理完 {progress.done} / {progress.total} 行后停止：{str(outcome.stopped).rstrip('。')}。"
            f"已导入的行保留（{_counts(progress)}），其余的行尚未导入；"
            "可“重新检查”其余的行，或“继续导入”。",
            "danger",
        )
    else:
        flash(
            f"已处理 {progress.done} / {progress.total} 行（{_counts(progress)}）。"
            "为免请求超时，本次先导入到这里；请点击“继续导入”导入其余的行。",
            "warning",
        )
    return redirect(url_for("imports.batch", batch_id=batch.id))


@bp.route("/<int:batch_id>/cancel", methods=["POST"])
@roles_required(*BATCH_USERS)
def cancel(batch_id: int):
    """Drop a pending batch, or the rows of it not imported yet."""
    batch, form = _posted(batch_id)
    if form is None:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    started = Progress.of(batch).started
    done = "已取消其余未导入的行；此前已导入的行保留。" if started else "已取消该导入，未写入任何数据。"
    if not save(lambda: cancel_import(batch), done).ok:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    return redirect(_home(batch))


def _home(batch: ImportBatch) -> str:
    """The upload page a batch's pages lead back to: district staff have the events' one only."""
    if current_user.role in IMPORTERS:
        return url_for("imports.index")
    return url_for("imports.events_upload")
