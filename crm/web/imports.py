"""Import pages: upload, column mapping with a live preview, confirm; templates to download."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from crm.auth.models import MANAGER, OFFICER
from crm.auth.permissions import roles_required
from crm.core.excel import XLSX
from crm.core.forms import BaseForm, choices, first_error
from crm.extensions import db
from crm.imports.fields import FIELDS, KIND_LABELS, template_bytes
from crm.imports.models import KINDS, ImportBatch
from crm.imports.service import apply, cancel_import, preview, set_mapping, start_import
from crm.web.saving import save

bp = Blueprint("imports", __name__, url_prefix="/imports")

IMPORTERS = (OFFICER, MANAGER)
SHOWN_ROWS = 500  # the preview lists every row with a problem, and the others up to this many


class UploadForm(BaseForm):
    kind = SelectField("导入内容", choices=choices(KINDS.items()), default="enterprises")
    file = FileField("文件（.xlsx 或 .csv，不超过 5 MB、5000 行）")


class BatchForm(BaseForm):
    """The mapping and confirm forms: CSRF, the batch version seen, the duplicates choice."""

    version = IntegerField("页面版本", widget=HiddenInput(), validators=[Optional()])
    create_duplicates = BooleanField("疑似重复的行仍然新建（不勾选则跳过这些行）")


def _batch(batch_id: int) -> ImportBatch:
    """A batch its creator (or a manager) may open; anyone else gets a 404."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or (batch.created_by_id != current_user.id and current_user.role != MANAGER):
        abort(404)
    return batch


@bp.route("/", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def index():
    """Upload a file; recent batches below."""
    form = UploadForm()
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
    recent = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(20)
    if current_user.role != MANAGER:
        recent = recent.where(ImportBatch.created_by_id == current_user.id)
    return render_template(
        "imports/index.html", form=form, batches=db.session.scalars(recent).all(), kinds=KIND_LABELS
    )


@bp.route("/template/<kind>.xlsx")
@roles_required(*IMPORTERS)
def template(kind: str):
    """The template of an import, with an example row and a sheet of explanations."""
    if kind not in FIELDS:
        abort(404)
    return send_file(
        io.BytesIO(template_bytes(kind)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{KIND_LABELS[kind]}导入模板.xlsx",
    )


@bp.route("/<int:batch_id>")
@roles_required(*IMPORTERS)
def batch(batch_id: int):
    """The column mapping, and the preview of every row under it."""
    return _batch_page(_batch(batch_id))


def _batch_page(batch: ImportBatch, form: "BatchForm | None" = None, chosen: dict[str, str] | None = None):
    """A batch's page; after a refused mapping, `form` and `chosen` bring back what was chosen."""
    result = preview(batch, current_user) if batch.status == "pending" else None
    shown = []
    if result:
        shown = [r for r in result.rows if r.problems] + [r for r in result.rows if not r.problems][
            :SHOWN_ROWS
        ]
        shown.sort(key=lambda r: r.number)
    form = form or BatchForm(formdata=None, version=batch.version, create_duplicates=batch.create_duplicates)
    return render_template(
        "imports/batch.html",
        batch=batch,
        chosen=chosen if chosen is not None else batch.mapping,
        result=result,
        shown=shown,
        form=form,
        fields=FIELDS[batch.kind],
        samples=[row[1:] for row in batch.rows[:3]],
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
@roles_required(*IMPORTERS)
def mapping(batch_id: int):
    """Save the column mapping; the preview is recomputed on the batch page."""
    batch, form = _posted(batch_id)
    if form is None:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    chosen = {
        str(index): request.form.get(f"column-{index}", "").strip()[:32]
        for index in range(len(batch.headers))
    }
    mapped = "已更新列对应关系，请核对下方预览。"
    if save(lambda: set_mapping(batch, chosen, form.create_duplicates.data), mapped).ok:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    # The page again with the columns as chosen, not as saved: nothing chosen is lost.
    return _batch_page(_batch(batch_id), form, chosen)


@bp.route("/<int:batch_id>/confirm", methods=["POST"])
@roles_required(*IMPORTERS)
def confirm(batch_id: int):
    """Import every row, or nothing."""
    batch, form = _posted(batch_id)
    if form is None:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    save(
        lambda: apply(batch, current_user, form.version.data or 0),
        lambda counts: (
            f"导入完成：新建 {counts['created']} 条，更新 {counts['updated']} 条，"
            f"无变化 {counts['unchanged']} 条，跳过 {counts['skipped']} 条。"
        ),
    )
    return redirect(url_for("imports.batch", batch_id=batch.id))


@bp.route("/<int:batch_id>/cancel", methods=["POST"])
@roles_required(*IMPORTERS)
def cancel(batch_id: int):
    """Drop a pending batch."""
    batch, form = _posted(batch_id)
    if form is None:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    if not save(lambda: cancel_import(batch), "已取消该导入，未写入任何数据。").ok:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    return redirect(url_for("imports.index"))
