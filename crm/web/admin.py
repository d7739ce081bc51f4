"""User administration for admins: create, disable and enable, reset passwords, divisions."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from crm.auth.forms import ConfirmForm, DivisionForm, PasswordResetForm, UserCreateForm
from crm.auth.models import ADMIN, DISTRICT, ROLE_LABELS, User
from crm.auth.permissions import roles_required
from crm.auth.service import DIVISION_ROLES, create_user, reset_password, set_active, set_division
from crm.auth.throttle import locked_until, unlock
from crm.core.pagination import paginate
from crm.extensions import db
from crm.places.service import district_choices, division_choices
from crm.web.saving import flash_form_errors, save

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(ADMIN)
def users():
    """Every user, filterable by role, status and name."""
    stmt = select(User).order_by(User.active.desc(), User.role, User.username)
    role = request.args.get("role", "")
    if role in ROLE_LABELS:
        stmt = stmt.where(User.role == role)
    status = request.args.get("status", "")
    if status in {"active", "disabled"}:
        stmt = stmt.where(User.active.is_(status == "active"))
    q = request.args.get("q", "").strip()[:64]
    if q:
        stmt = stmt.where(
            or_(User.username.contains(q, autoescape=True), User.display_name.contains(q, autoescape=True))
        )
    return render_template(
        "admin/users.html", page=paginate(stmt), roles=ROLE_LABELS, role=role, status=status, q=q
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def new_user():
    """Create a user."""
    form = UserCreateForm()
    form.district.choices = district_choices("（不适用）")
    # The district list is the validation: anything else posted is refused by the choice check.
    form.district.validate_choice = form.role.data == DISTRICT
    form.division.choices = division_choices("（不适用）")
    if form.validate_on_submit():
        saved = save(
            lambda: create_user(
                form.username.data,
                form.password.data,
                form.role.data,
                display_name=form.display_name.data,
                district_name=form.district.data if form.role.data == DISTRICT else None,
                division_name=form.division.data,
            ),
            lambda user: f"已创建用户 {user.username}（{user.role_label}）。",
            form=form,
        )
        if saved.ok:
            return redirect(url_for("admin.user_detail", user_id=saved.value.id))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>")
@roles_required(ADMIN)
def user_detail(user_id: int):
    """One user, with the password reset and enable/disable forms."""
    user = db.get_or_404(User, user_id)
    return _user_page(user)


def _user_page(user: User, division_form: DivisionForm | None = None, reset_form=None, status: int = 200):
    """A user's page; a refused form comes back as submitted, with its message beside the field."""
    if division_form is None:
        division_form = DivisionForm(formdata=None, division=user.division.name if user.division else "")
    division_form.division.choices = division_choices("（未指定）", keep=user.division_id)
    page = render_template(
        "admin/user_detail.html",
        user=user,
        reset_form=reset_form or PasswordResetForm(formdata=None),
        confirm_form=ConfirmForm(),
        division_form=division_form,
        division_roles=DIVISION_ROLES,
        locked=locked_until(user.username, ""),
    )
    return page, status


def _division_name(user: User) -> str:
    return user.division.name if user.division else "未指定"


@bp.route("/users/<int:user_id>/division", methods=["POST"])
@roles_required(ADMIN)
def user_division(user_id: int):
    """Put an officer or a manager in a division (or none); refused for district users."""
    user = db.get_or_404(User, user_id)
    form = DivisionForm()
    if form.validate_on_submit():
        saved = save(
            lambda: set_division(user, form.division.data),
            lambda changed: f"已将 {changed.username} 的所属处室设为“{_division_name(changed)}”。",
            form=form,
        )
        if saved.ok:
            return redirect(url_for("admin.user_detail", user_id=user.id))
    else:
        flash_form_errors(form)
    return _user_page(db.get_or_404(User, user_id), division_form=form, status=400)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required(ADMIN)
def user_password(user_id: int):
    """Reset a user's password; their open sessions end."""
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        success = f"已重置 {user.username} 的密码，其已登录的会话全部失效。"
        if save(lambda: reset_password(user, form.password.data), success, form=form).ok:
            return redirect(url_for("admin.user_detail", user_id=user.id))
    else:
        flash_form_errors(form)
    return _user_page(user, reset_form=form, status=400)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(ADMIN)
def user_active(user_id: int):
    """Disable an active user or enable a disabled one."""
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        save(
            lambda: set_active(user, not user.active, by=current_user),
            lambda changed: f"已{'启用' if changed.active else '停用'}用户 {changed.username}。",
        )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@roles_required(ADMIN)
def user_unlock(user_id: int):
    """Let a user locked out by wrong passwords try again at once."""
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        save(lambda: unlock(user.username, current_user), f"已解除 {user.username} 的登录锁定。")
    return redirect(url_for("admin.user_detail", user_id=user.id))
