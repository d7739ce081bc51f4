"""Notifications, each person's settings for them, and the daily digests sent."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.choices import one_of
from crm.core.timeutil import utcnow
from crm.extensions import db

# The kinds of notification (the API's `kind`), with what the centre and the settings call them.
ASSIGNED, REPLY, DUE, OVERDUE, IDLE, UPCOMING = "assigned", "reply", "due", "overdue", "idle", "upcoming"
KIND_LABELS = {
    ASSIGNED: "交办给我",
    REPLY: "回复与答复",
    DUE: "明日到期",
    OVERDUE: "已逾期",
    IDLE: "线索久未跟进",
    UPCOMING: "预计日期临近",
}
KINDS = tuple(KIND_LABELS)
IDLE_DAYS, AHEAD_DAYS = 14, 7  # the settings' defaults: N days untouched, dates this close
MAX_DAYS = 365


class Notification(db.Model):
    """One thing told to one person. `key` names what it is about (the item, the deadline day), so
    telling the same thing twice — a second run of the daily job — adds nothing."""

    __tablename__ = "notifications"
    __audit_label__ = "通知"
    # Messages derived from records that are audited themselves: thousands a day, read and unread,
    # would drown the log (and the centre marks many read at once).
    __audited__ = False
    __field_labels__ = {
        "user_id": "接收人编号",
        "kind": "类型",
        "text": "内容",
        "url": "链接",
        "key": "去重键",
        "created_at": "时间",
        "read_at": "已读时间",
        "emailed_at": "邮件发送时间",
    }
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
        CheckConstraint(one_of("kind", KINDS), name="kind_known"),
        # The badge counts a person's unread ones; the centre lists theirs newest first.
        Index("ix_notifications_user_read", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(200), default="")
    key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def __repr__(self) -> str:
        return f"<Notification {self.user_id} {self.kind} {self.key}>"


class NotificationSettings(db.Model):
    """What one person wants to be told, and where the digest goes. No row: the defaults."""

    __tablename__ = "notification_settings"
    __audit_label__ = "通知设置"
    __field_labels__ = {
        "user_id": "用户编号",
        "muted": "不接收的类型",
        "idle_days": "线索未跟进提醒天数",
        "ahead_days": "日期临近提醒天数",
        "email": "电子邮箱",
        "digest": "每日邮件摘要",
    }
    __table_args__ = (
        CheckConstraint(f"idle_days BETWEEN 1 AND {MAX_DAYS}", name="idle_days_range"),
        CheckConstraint(f"ahead_days BETWEEN 1 AND {MAX_DAYS}", name="ahead_days_range"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    muted: Mapped[str] = mapped_column(String(100), default="")  # kinds, comma-separated
    idle_days: Mapped[int] = mapped_column(Integer, default=IDLE_DAYS)
    ahead_days: Mapped[int] = mapped_column(Integer, default=AHEAD_DAYS)
    email: Mapped[str] = mapped_column(String(254), default="")
    digest: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def muted_kinds(self) -> set[str]:
        return {kind for kind in (self.muted or "").split(",") if kind}

    def wants(self, kind: str) -> bool:
        return kind not in self.muted_kinds


class Digest(db.Model):
    """A daily digest e-mailed to one person: one per person and day, whatever reruns the job."""

    __tablename__ = "notification_digests"
    __audit_label__ = "通知邮件摘要"
    __audited__ = False  # itself the record of what was sent
    __field_labels__ = {"user_id": "接收人编号", "day": "日期", "sent_at": "发送时间", "count": "条数"}
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_notification_digests_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    count: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(254))
