"""API tokens on pages: each user makes and revokes their own; an administrator anyone's.

A new token's secret is shown once, on the page that answers the POST (never flashed: flashes live
in the session cookie), with Cache-Control: no-store; afterwards only its first characters are shown."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from crm.auth.forms import AdminTokenCreateForm, ConfirmForm, TokenCreateForm
from crm.auth.models import ADMIN, ApiToken, User
from crm.auth.permissions import roles_required
from crm.auth.tokens import create_token, may_manage, revoke_token, token_query, tokens_of
from crm.core.converters import MAX_DB_INT
from crm.core.forms import choices
from crm.core.pagination import paginate
from crm.extensions import db
from crm.web.saving import flash_form_errors, save

bp = Blueprint("tokens", __name__)

CREATED = "已创建 API 令牌“{name}”。令牌只显示这一次，请立即复制保存。"


def _shown_once(html: str):
    """The page holding a new secret: not kept by the browser's or a proxy's cache."""
    return html, 200, {"Cache-Control": "no-store"}


@bp.route("/tokens", methods=["GET", "POST"])
def mine():
    """The user's own tokens, and the form that makes one."""
    user = current_user._get_current_object()
    form = TokenCreateForm()
    issued = None
    if form.validate_on_submit():
        saved = save(
            lambda: create_token(user, form.name.data, form.read_only.data, form.expires_days.data, by=user),
            lambda made: CREATED.format(name=made.token.name),
            form=form,
        )
        if saved.ok:
            issued = saved.value
            form = TokenCreateForm(formdata=None)
    elif request.method == "POST":
        flash_form_errors(form)
    page = render_template(
        "tokens/mine.html", form=form, tokens=tokens_of(user), issued=issued, confirm_form=ConfirmForm()
    )
    if issued is not None:
        return _shown_once(page)
    return page, 400 if request.method == "POST" else 200


def _active_user_choices():
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return choices((u.id, f"{u.username}（{u.display_name}，{u.role_label}）") for u in users)


@bp.route("/admin/tokens", methods=["GET", "POST"])
@roles_required(ADMIN)
def admin():
    """Every user's tokens (?user= narrows to one), and the form that makes one for any active user."""
    form = AdminTokenCreateForm()
    form.user_id.choices = _active_user_choices()
    wanted = request.args.get("user", "")
    # A number beyond a database integer names no user (PostgreSQL would refuse it with a 500).
    valid = wanted.isascii() and wanted.isdigit() and int(wanted) <= MAX_DB_INT
    shown_user = db.session.get(User, int(wanted)) if valid else None
    if request.method == "GET" and shown_user is not None:
        form.user_id.data = shown_user.id
    issued = None
    if form.validate_on_submit():
        owner = db.get_or_404(User, form.user_id.data)
        by = current_user._get_current_object()
        saved = save(
            lambda: create_token(owner, form.name.data, form.read_only.data, form.expires_days.data, by=by),
            lambda made: f"已为 {owner.username} {CREATED.format(name=made.token.name).removeprefix('已')}",
            form=form,
        )
        if saved.ok:
            issued = saved.value
            form = AdminTokenCreateForm(formdata=None, user_id=owner.id)
            form.user_id.choices = _active_user_choices()
    elif request.method == "POST":
        flash_form_errors(form)
    stmt = token_query(shown_user) if shown_user is not None else token_query()
    page = render_template(
        "tokens/admin.html",
        form=form,
        page=paginate(stmt),
        shown_user=shown_user,
        issued=issued,
        confirm_form=ConfirmForm(),
    )
    if issued is not None:
        return _shown_once(page)
    return page, 400 if request.method == "POST" else 200


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int):
    """Revoke a token: the user's own, or (an administrator) anyone's; back to the page it was on."""
    token = db.get_or_404(ApiToken, token_id)
    if not may_manage(current_user, token):
        abort(404)  # another user's token: nothing said about it
    confirm = ConfirmForm()
    if confirm.validate_on_submit():
        save(lambda: revoke_token(token), f"已撤销 API 令牌“{token.name}”，使用它的系统将无法再访问。")
    else:
        flash_form_errors(confirm)
    if token.user_id == current_user.id:
        return redirect(url_for("tokens.mine"))
    return redirect(url_for("tokens.admin", user=token.user_id))
