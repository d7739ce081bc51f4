"""招商活动: promotion events, trade fairs, delegations out and visitors in, signing ceremonies and
publicity, each organised by one bureau division or one district, with the enterprises (and their
leads) met there. What the 招商活跃指数 counts beside follow-ups, signings and starts."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.choices import Choice, one_of
from crm.core.timeutil import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.leads.models import Lead
from crm.places.models import District, Division
from crm.projects.attachments import Attachment


class EventKind(Choice):
    """What kind of event, stored as the word users read."""

    PROMOTION = "推介会"
    FAIR = "展会"
    OUTBOUND = "外出招商"
    INBOUND = "客商来渝考察"
    SIGNING = "签约仪式"
    FORUM = "论坛峰会"
    PUBLICITY = "新闻宣传"
    OTHER = "其他"


EVENT_KINDS = tuple(EventKind)


class Event(db.Model):
    """One 招商活动: when and where, who organised it (a division or a district, never both), who
    took part, the enterprises met and what came of it."""

    __tablename__ = "events"
    __audit_label__ = "招商活动"
    __field_labels__ = {
        "id": "编号",
        "kind": "活动类型",
        "title": "活动名称",
        "held_on": "开始日期",
        "ends_on": "结束日期",
        "place": "地点",
        "division_id": "主办处室编号",
        "district_id": "主办区县编号",
        "participants": "参加人员",
        "outcome": "成效",
        "created_by_id": "登记人编号",
        "created_at": "登记时间",
        "version": "版本",
    }
    __table_args__ = (
        CheckConstraint(one_of("kind", EVENT_KINDS), name="kind_known"),
        # The organiser is exactly one unit: the index counts the event for that unit only.
        CheckConstraint("(division_id IS NULL) <> (district_id IS NULL)", name="one_organiser"),
        CheckConstraint("ends_on IS NULL OR ends_on >= held_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(128))
    held_on: Mapped[date] = mapped_column(Date, index=True)  # the day the index counts it on
    ends_on: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(128), default="")
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    participants: Mapped[str] = mapped_column(String(256), default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    division: Mapped[Division | None] = relationship()
    district: Mapped[District | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    met: Mapped[list["EventEnterprise"]] = relationship(
        back_populates="event", order_by="EventEnterprise.id", cascade="all, delete-orphan"
    )
    # Its files, deleted ones included. Deleting the event deletes their records with it (a file
    # cannot be left without an owner; the audit log keeps each record and the bytes stay stored);
    # the event's page refuses that while any file is live. Not delete-orphan: a project's file
    # has no event and is no orphan.
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="event", order_by=Attachment.id, cascade="save-update, merge, delete"
    )

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user reads the events their district organised, and those where a lead of
        theirs was met (as they read those leads)."""
        return or_(
            cls.district_id == district_id,
            cls.id.in_(
                select(EventEnterprise.event_id)
                .join(Lead, Lead.id == EventEnterprise.lead_id)
                .where(Lead.district_scope(district_id))
            ),
        )

    @property
    def organiser(self) -> str:
        return (self.division or self.district).name

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.kind} {self.held_on}>"


class EventEnterprise(db.Model):
    """An enterprise met at an event, and the lead the meeting was about when there is one."""

    __tablename__ = "event_enterprises"
    __audit_label__ = "活动接洽企业"
    __field_labels__ = {
        "event_id": "活动编号",
        "enterprise_id": "企业编号",
        "lead_id": "线索编号",
        "note": "说明",
    }
    __table_args__ = (db.UniqueConstraint("event_id", "enterprise_id", name="uq_event_enterprise"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    note: Mapped[str] = mapped_column(String(256), default="")

    event: Mapped[Event] = relationship(back_populates="met")
    enterprise: Mapped[Enterprise] = relationship()
    lead: Mapped[Lead | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.event.has(Event.district_scope(district_id))

    def __repr__(self) -> str:
        return f"<EventEnterprise {self.event_id}:{self.enterprise_id}>"


def _files_of_visible_events(district_id: int):
    """An event's files are read by whoever reads the event (Event.district_scope)."""
    return Attachment.event_id.in_(select(Event.id).where(Event.district_scope(district_id)))


Attachment.district_links.append(_files_of_visible_events)
# Attachment's side of Event.attachments, declared here: crm.projects may not import Event, and a
# relationship("Event") by name there would fail whenever the mappers are configured before this
# module is imported (crm.leads.service configures them as it loads).
Attachment.event = relationship(Event, back_populates="attachments")
