"""Login and logout."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm.auth.forms import LoginForm
from crm.auth.models import FAILURE, LOCKED, SUCCESS
from crm.auth.permissions import public
from crm.auth.service import authenticate, end_sessions, record_login
from crm.auth.throttle import locked_until, record_attempt
from crm.core.timeutil import format_local
from crm.extensions import csrf
from crm.web.saving import save

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "用户名或密码错误，或账号已停用。"


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: `next` must not send a user to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or target.startswith("/logout"):
        return None
    return target


def _locked(name: str, address: str) -> str:
    until = format_local(locked_until(name, address), "%H:%M")
    return f"登录失败次数过多，已暂时锁定，请于 {until} 后再试，或联系系统管理员解锁。"


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The login page; POST with username, password and csrf_token."""
    next_url = _safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        name, address = form.username.data, request.remote_addr or ""
        if locked_until(name, address):
            # Checked before the password: even the right one waits, and an unknown name locks
            # the same way, so the answer tells nothing about the account.
            save(lambda: record_attempt(name, address, LOCKED))
            return render_template(
                "auth/login.html", form=form, next_url=next_url, error=_locked(name, address)
            )
        user = authenticate(name, form.password.data)
        if user is not None:
            # A fresh session: nothing (a CSRF token included) carries over from before login.
            session.clear()
            login_user(user, remember=form.remember.data)
            save(lambda: (record_attempt(name, address, SUCCESS), record_login(user)))
            flash(f"欢迎，{user.display_name}。", "success")
            return redirect(next_url or url_for("main.home"))
        save(lambda: record_attempt(name, address, FAILURE))
        error = _locked(name, address) if locked_until(name, address) else BAD_CREDENTIALS
        return render_template("auth/login.html", form=form, next_url=next_url, error=error)
    return render_template("auth/login.html", form=form, next_url=next_url, error=None)


@bp.route("/logout", methods=["GET", "POST"])
@public  # a stale tab's 退出登录 must not become `next=/logout` and end the following login
@csrf.exempt  # GET logs out too, so a token on POST would protect nothing; a stale tab must still work
def logout():
    """End the session, and every copy of its cookies, and return to the login page."""
    if current_user.is_authenticated:
        # Stateless cookies: bumping the version is what makes a copied cookie worthless.
        user = current_user._get_current_object()
        save(lambda: end_sessions(user))
    logout_user()
    session.clear()
    flash("您已安全退出登录。", "info")
    return redirect(url_for("auth.login"))
