"""Signed projects. Signing a lead creates one; the projects issue adds milestones and updates."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.timeutil import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry, District

LIFECYCLE = ("签约", "注册", "供地", "开工", "竣工", "投产", "达产")


class Project(db.Model):
    """A signed investment project (招商项目), linked to the lead it came from."""

    __tablename__ = "projects"
    __audit_label__ = "招商项目"
    __field_labels__ = {
        "name": "项目名称",
        "enterprise_id": "企业编号",
        "lead_id": "线索编号",
        "district_id": "落地区县编号",
        "catalogue_entry_id": "目录条目编号",
        "agreed_investment_wan": "协议投资额（万元）",
        "signed_on": "签约日期",
        "stage": "阶段",
        "version": "版本",
    }
    __table_args__ = (CheckConstraint("agreed_investment_wan > 0", name="investment_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    catalogue_entry_id: Mapped[int] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    agreed_investment_wan: Mapped[int] = mapped_column(Integer)
    signed_on: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(8), default="签约")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    enterprise: Mapped[Enterprise] = relationship()
    district: Mapped[District] = relationship()
    catalogue_entry: Mapped[CatalogueEntry] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user sees only the projects in their district."""
        return cls.district_id == district_id

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name}>"
