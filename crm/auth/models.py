"""Users and their roles, their password hashes, their login attempts and their API tokens."""

from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash

from crm.core.choices import one_of
from crm.core.timeutil import to_local, utcnow
from crm.extensions import db
from crm.places.models import District, Division

OFFICER, MANAGER, DISTRICT, ADMIN = "officer", "manager", "district", "admin"
ROLE_LABELS = {
    OFFICER: "招商专员",
    MANAGER: "处室负责人",
    DISTRICT: "区县专员",
    ADMIN: "系统管理员",
}
ROLES = tuple(ROLE_LABELS)

ARGON2_PREFIX = "$argon2"
# argon2-cffi's own defaults (RFC 9106's "low memory" profile): what a hash is made with when the
# configuration says nothing (crm.config sets the same; the tests set cheap ones).
ARGON2_DEFAULTS = {"ARGON2_TIME_COST": 3, "ARGON2_MEMORY_COST": 65536, "ARGON2_PARALLELISM": 4}


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def password_hasher() -> PasswordHasher:
    """Argon2id with the configured costs (ARGON2_TIME_COST, ARGON2_MEMORY_COST in KiB,
    ARGON2_PARALLELISM). Raising them makes every older hash "need a rehash" at its next login."""
    config = current_app.config if has_app_context() else {}
    return _hasher(*(int(config.get(key, default)) for key, default in ARGON2_DEFAULTS.items()))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches a stored hash: Argon2, or a werkzeug hash (pbkdf2, scrypt) from
    before Argon2, which the login then replaces (User.password_needs_rehash)."""
    stored = stored or ""
    if stored.startswith(ARGON2_PREFIX):
        try:
            return password_hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):  # a mismatch, or a damaged hash
            return False
    try:
        return check_password_hash(stored, password)
    except ValueError:  # a method werkzeug does not know: no password matches it
        return False


class User(UserMixin, db.Model):
    """Someone who logs in; a district user is bound to exactly one district or zone."""

    __tablename__ = "users"
    __audit_label__ = "用户"
    __audit_redact__ = frozenset({"password_hash"})
    # A change of only these is an access event in the audit log, not a data change.
    __access_actions__ = {"last_login_at": "login", "session_version": "session"}
    __field_labels__ = {
        "id": "编号",
        "username": "用户名",
        "display_name": "姓名",
        "role": "角色",
        "district_id": "所属区县编号",
        "division_id": "所属处室编号",
        "active": "启用",
        "password_hash": "密码（已隐去）",
        "session_version": "会话版本",
        "created_at": "创建时间",
        "last_login_at": "最近登录",
    }
    __table_args__ = (
        CheckConstraint("role IN ('officer', 'manager', 'district', 'admin')", name="role_known"),
        # A district user without a district would see nothing or, worse, everything.
        CheckConstraint("(role = 'district') = (district_id IS NOT NULL)", name="district_iff_role"),
        # A district user's work counts for their district; a division is the bureau's own staff.
        CheckConstraint("role <> 'district' OR division_id IS NULL", name="division_not_district"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    # The bureau division (处室) an officer or manager works in: whose 招商活跃指数 their work counts in.
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    # Bumped on password reset or disabling: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    district: Mapped[District | None] = relationship(lazy="joined")
    division: Mapped[Division | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        """Store a salted Argon2id hash, never the password."""
        self.password_hash = password_hasher().hash(password)

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash (Argon2, or an older werkzeug one)."""
        return verify_password(self.password_hash, password)

    def password_needs_rehash(self) -> bool:
        """Whether the stored hash is not Argon2id with today's costs: an older werkzeug hash, or an
        Argon2 one made with other parameters. Only meaningful once the password was verified."""
        stored = self.password_hash or ""
        if not stored.startswith(ARGON2_PREFIX):
            return True
        try:
            return password_hasher().check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def has_role(self, *roles: str) -> bool:
        """Whether this user holds one of the roles."""
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


FAILURE, SUCCESS, LOCKED, UNLOCK = "failure", "success", "locked", "unlock"
ATTEMPT_OUTCOMES = (FAILURE, SUCCESS, LOCKED, UNLOCK)


class LoginAttempt(db.Model):
    """One login attempt (or an administrator's unlock) for a login name from an address: what the
    throttling counts. Kept for names that do not exist too, so a lock reveals nothing. Never edited."""

    __tablename__ = "login_attempts"
    __audit_label__ = "登录尝试"
    __append_only__ = True
    __insert_action__ = "attempt"  # shown with logins in the audit log, not with data changes
    __field_labels__ = {
        "username_key": "登录名",
        "address": "来源地址",
        "outcome": "结果",
        "at": "时间",
        "by_id": "解锁人编号",
    }
    __table_args__ = (
        CheckConstraint(one_of("outcome", ATTEMPT_OUTCOMES), name="outcome_known"),
        Index("ix_login_attempts_username_key_at", "username_key", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username_key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<LoginAttempt {self.username_key} {self.outcome}>"


TOKEN_ACTIVE, TOKEN_EXPIRED, TOKEN_REVOKED = "active", "expired", "revoked"
TOKEN_STATUS_LABELS = {TOKEN_ACTIVE: "有效", TOKEN_EXPIRED: "已过期", TOKEN_REVOKED: "已撤销"}


class ApiToken(db.Model):
    """A personal API token: another system calls /api/v1/ as `user`, with exactly that user's role
    and district scope (read-only if so made). Only a hash of the secret is kept (crm.auth.tokens);
    the secret is shown once, when made. Revoked, never deleted, so the audit log keeps its story."""

    __tablename__ = "api_tokens"
    __audit_label__ = "API 令牌"
    __audit_redact__ = frozenset({"token_hash"})
    # Noted on use (at most once a minute): bookkeeping, not a change worth a line in the log.
    __audit_hidden__ = frozenset({"last_used_at"})
    __field_labels__ = {
        "user_id": "所属用户编号",
        "name": "名称",
        "token_hash": "令牌摘要（已隐去）",
        "prefix": "令牌开头",
        "read_only": "只读",
        "created_by_id": "创建人编号",
        "expires_at": "到期时间",
        "last_used_at": "最近使用",
        "revoked_at": "撤销时间",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the secret, hex: what a presented token is looked up by.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The secret's first characters (lz_ and a few more): enough to tell tokens apart, not to use one.
    prefix: Mapped[str] = mapped_column(String(16))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the command line
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def status(self, now: datetime | None = None) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return TOKEN_REVOKED
        # SQLite hands back naive datetimes (UTC): to_local makes them comparable.
        if to_local(self.expires_at) <= (now or utcnow()):
            return TOKEN_EXPIRED
        return TOKEN_ACTIVE

    @property
    def status_label(self) -> str:
        return TOKEN_STATUS_LABELS[self.status()]

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… user={self.user_id}>"
