"""通知中心: a person's notifications (unread first, or all), opening one (marks it read and goes
to what it is about), marking read, and their settings — which kinds, after how many quiet days a
lead is flagged, how early dates are announced, and the e-mail digest. A person only ever reads
and changes their own: another's notification is a 404."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from crm.auth.models import DISTRICT, MANAGER, OFFICER
from crm.auth.permissions import roles_required
from crm.core.forms import BaseForm, CheckboxesField, choices
from crm.core.pagination import paginate
from crm.extensions import db
from crm.inbox.models import KIND_LABELS, Notification
from crm.inbox.service import inbox_query, mark_read, save_settings, settings_of, unread_count
from crm.web.saving import flash_form_errors, save

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
READERS = (OFFICER, MANAGER, DISTRICT)


class SettingsForm(BaseForm):
    kinds = CheckboxesField("接收的通知类型", choices=choices(KIND_LABELS.items()), validate_choice=False)
    idle_days = StringField("线索多少天未跟进时提醒", validators=[Length(max=4)])
    ahead_days = StringField("预计签约、计划开工等日期提前几天提醒", validators=[Length(max=4)])
    email = StringField("电子邮箱（接收每日摘要）", validators=[Length(max=254)])
    digest = BooleanField("每天一封邮件摘要（列出未读通知）")


@bp.route("")
@roles_required(*READERS)
def index():
    unread = request.args.get("all") != "1"
    page = paginate(inbox_query(current_user, unread=unread))
    return render_template(
        "notifications/index.html", page=page, unread=unread, unread_total=unread_count(current_user)
    )


@bp.route("/<int:notification_id>")
@roles_required(*READERS)
def open_one(notification_id: int):
    """Mark it read and go to what it is about."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    mark_read(current_user, [notification.id])
    db.session.commit()
    target = (
        notification.url if notification.url.startswith("/") and not notification.url.startswith("//") else ""
    )
    return redirect(target or url_for("notifications.index"))


@bp.route("/read", methods=["POST"])
@roles_required(*READERS)
def read():
    """Mark read: the ids posted (`id`), or all of them (`all=1`)."""
    form = BaseForm()  # the CSRF token
    if form.validate_on_submit():
        ids = None
        if request.form.get("all") != "1":
            ids = [int(i) for i in request.form.getlist("id") if i.isascii() and i.isdigit() and len(i) < 10]
        save(lambda: mark_read(current_user, ids), lambda n: f"已将 {n} 条通知标为已读。")
    else:
        flash_form_errors(form)
    back = _local(request.form.get("back", ""))
    return redirect(back if back.startswith("/notifications") else url_for("notifications.index"))


def _local(url: str) -> str:
    """A path on this site, or "" (never another host: //evil.example is not a path)."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else ""


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(*READERS)
def settings():
    form = SettingsForm()
    if request.method == "GET":
        mine = settings_of([current_user.id])[current_user.id]
        form.process(
            data={
                "kinds": [kind for kind in KIND_LABELS if mine.wants(kind)],
                "idle_days": str(mine.idle_days),
                "ahead_days": str(mine.ahead_days),
                "email": mine.email,
                "digest": mine.digest,
            }
        )
    elif form.validate_on_submit():
        by = current_user._get_current_object()
        if save(lambda: save_settings(by, form.data), "已保存通知设置。", form=form).ok:
            return redirect(url_for("notifications.settings"))
    else:
        flash_form_errors(form)
    return render_template("notifications/settings.html", form=form)
