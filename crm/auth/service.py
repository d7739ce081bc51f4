"""Verbs on users. They validate, mutate and flush; the caller commits."""

import re
import unicodedata
from functools import cache, partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.auth.models import (
    DISTRICT,
    MANAGER,
    OFFICER,
    ROLE_LABELS,
    ROLES,
    User,
    password_hasher,
    verify_password,
)
from crm.core.inputs import has_control_chars
from crm.core.text import clean_text
from crm.core.timeutil import utcnow
from crm.core.transaction import Refusal
from crm.extensions import db
from crm.places.service import division_id_of, resolve_district

# ASCII letters and digits, . _ - and Chinese characters: SQLite's lower() folds only ASCII, so
# other cased scripts would make case-insensitive login unreliable there.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,64}$")
MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common_passwords.txt"
MAX_PASSWORD_LENGTH = 256


def _dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong name takes as long as a wrong password.
    Made on first use: a hash at import time would slow every process start (CLI, workers, tests)."""
    return _dummy_hash_with(password_hasher())


@cache
def _dummy_hash_with(hasher) -> str:
    # One per set of Argon2 costs (the hasher is cached per costs), so it costs what a real one does.
    return hasher.hash("lianzhao-timing-guard")


class UserError(Refusal):
    """A user change that cannot be made; the message is for the person who asked."""


def normalise_username(username: str | None) -> str:
    """Full-width letters and digits folded to ASCII (a Chinese IME types ＬＩ０１), spaces trimmed."""
    return unicodedata.normalize("NFKC", username or "").strip()


def find_user(username: str) -> User | None:
    """The user with this username, ignoring case, full/half width and surrounding spaces."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        return None  # cannot exist; also keeps NUL and oversized input away from the database
    return db.session.scalar(select(User).where(func.lower(User.username) == name.lower()))


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_password_strength(password: str, username: str = "") -> None:
    """Refuse passwords that are short, common, or hold the login name."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符", field="password")
    if password.strip() != password:
        raise UserError("密码首尾不能有空格", field="password")
    if has_control_chars(password):
        raise UserError("密码包含无效的控制字符", field="password")
    if password.lower() in _common_passwords():
        raise UserError("该密码过于常见，容易被猜中，请换一个", field="password")
    name = normalise_username(username).lower()
    if len(name) >= 2 and name in password.lower():
        raise UserError("密码不能包含用户名", field="password")


def create_user(
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    district_name: str | None = None,
    division_name: str | None = None,
) -> User:
    """A new active user; a district user must name an existing district or zone, an officer or a
    manager may name the division they work in."""
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise UserError(
            "用户名须为 2–64 个字符，只能包含中文、英文字母、数字、下划线、点和连字符", field="username"
        )
    if find_user(username) is not None:
        raise UserError(f"用户名“{username}”已存在", field="username")
    display_name = clean_text(display_name, "姓名", 64, partial(UserError, field="display_name"))
    if not role:
        raise UserError(
            field="role", message=f"请指定角色，可选：{'、'.join(f'{r}（{ROLE_LABELS[r]}）' for r in ROLES)}"
        )
    if role not in ROLES:
        raise UserError(
            field="role",
            message=f"角色“{role}”无效，可选：{'、'.join(f'{r}（{ROLE_LABELS[r]}）' for r in ROLES)}",
        )
    district = None
    if role == DISTRICT:
        if not district_name:
            raise UserError("区县专员必须指定所属区县或功能区", field="district")
        district = resolve_district(district_name[:64])
        if district is None:
            raise UserError(f"未知的区县或功能区：“{district_name[:64]}”", field="district")
    elif district_name:
        raise UserError("只有区县专员需要指定所属区县", field="district")
    division_id = _division_id(role, division_name)
    check_password_strength(password, username)
    user = User(
        division_id=division_id,
        username=username,
        display_name=display_name or username,
        role=role,
        district=district,
        active=True,
        session_version=1,
    )
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as error:
        # Two admins creating the same name at the same moment: the unique index decides.
        # The caller rolls back on UserError, which also clears the failed flush.
        raise UserError(f"用户名“{username}”已存在") from error
    return user


DIVISION_ROLES = (OFFICER, MANAGER)  # the bureau's own staff, whose work counts for a division


def _division_id(role: str, division_name: str | None, keep: int | None = None) -> int | None:
    """The division a user of `role` is put in by name (blank: none); refused for the roles that
    belong to no division, and for a name that is no active division (but `keep`, the user's own)."""
    if not str(division_name or "").strip():
        return None
    if role == DISTRICT:
        raise UserError("区县专员不属于局内处室，其工作计入所属区县", field="division")
    if role not in DIVISION_ROLES:
        raise UserError("只有招商专员和处室负责人可以指定所属处室", field="division")
    return division_id_of(division_name, partial(UserError, field="division"), keep)


def set_division(user: User, name: str | None) -> User:
    """Put an officer or a manager in a division by its name, or in none (blank); refused for
    district users, whose work counts for their district. Audited as any change of a user."""
    division_id = _division_id(user.role, name, keep=user.division_id)
    if user.division_id != division_id:
        user.division_id = division_id
        db.session.flush()
        db.session.expire(user, ["division"])  # read anew from the id just set
    return user


def reset_password(user: User, password: str) -> User:
    """Set a new password and end every session the user had."""
    check_password_strength(password, user.username)
    user.session_version += 1  # read first: loading an expired user autoflushes, splitting the audit entry
    user.set_password(password)
    db.session.flush()
    return user


def set_active(user: User, active: bool, by: User | None = None) -> User:
    """Enable or disable a login; disabling ends the user's sessions at once."""
    if not active and by is not None and by.id == user.id:
        raise UserError("不能停用自己的账号")
    if user.active != active:
        user.active = active
        user.session_version += 1
        db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, else None.

    A stored hash that is not Argon2id with today's costs (a PBKDF2 or scrypt hash from before, or
    weaker Argon2 parameters) is replaced while the password is at hand; it is not flushed here: the
    caller's commit keeps it (the login view's, after login_user, so the log names the user)."""
    user = find_user(username)
    if user is None:
        verify_password(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    if user.password_needs_rehash():
        user.set_password(password)
    return user


def record_login(user: User) -> User:
    """Note the time of a successful login (after login_user, so the log names the user)."""
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def end_sessions(user: User) -> User:
    """Invalidate every session cookie and remember-me cookie the user has (used at logout)."""
    user.session_version += 1
    db.session.flush()
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: the user of a `id:version` cookie, if still valid and active."""
    user_id, _, version = (session_id or "").partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def display_names(ids) -> dict[int, str]:
    """User id → display name, for pages that show who did something by the id they kept."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all())
