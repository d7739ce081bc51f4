"""Users and their roles."""

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from crm.core.choices import one_of
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.places.models import District

OFFICER, MANAGER, DISTRICT, ADMIN = "officer", "manager", "district", "admin"
ROLE_LABELS = {
    OFFICER: "招商专员",
    MANAGER: "处室负责人",
    DISTRICT: "区县专员",
    ADMIN: "系统管理员",
}
ROLES = tuple(ROLE_LABELS)


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    # Bumped on password reset or disabling: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    district: Mapped[District | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        """Store a salted hash, never the password."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if current_app else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

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
