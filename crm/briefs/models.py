"""Every brief generated, kept byte for byte: a printed brief can be downloaded again as it was."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, column_property, deferred, mapped_column, relationship

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.places.models import District


class BriefIssue(db.Model):
    """The issue number (第 N 期) of a scope's brief of one week: numbered per scope (a cluster or
    the city, and the district for a district's brief) and year, in the order weeks are first
    issued. Every brief made again for the same week keeps its number."""

    __tablename__ = "brief_issues"
    __audit_label__ = "周报期号"
    __field_labels__ = {
        "scope": "范围",
        "district_key": "区县编号",
        "year": "年份",
        "number": "期号",
        "week": "周次",
    }
    __table_args__ = (
        UniqueConstraint("scope", "district_key", "week", name="uq_brief_issues_week"),
        UniqueConstraint("scope", "district_key", "year", "number", name="uq_brief_issues_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    # 0 for a brief of the whole scope: a NULL would make every such row distinct to the unique index.
    district_key: Mapped[int] = mapped_column(Integer, default=0)
    year: Mapped[int] = mapped_column(Integer)  # the ISO year of the week
    number: Mapped[int] = mapped_column(Integer)
    week: Mapped[str] = mapped_column(String(8))

    def __repr__(self) -> str:
        return f"<BriefIssue {self.scope} {self.year} 第{self.number}期>"


class Brief(db.Model):
    """One generated brief: its scope (a cluster or the city, maybe one district), its ISO week,
    who made it and when, and the PDF itself."""

    __tablename__ = "briefs"
    __audit_label__ = "招商周报"
    __audit_hidden__ = frozenset({"pdf", "docx"})

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), index=True)  # a cluster code, or CITY
    title: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(8), index=True)  # 2026-W48
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated_by_name: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: listing the archive must not load every PDF.
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    # The same brief as an editable Word document (briefs made before it existed have none).
    docx: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("brief_issues.id"), index=True)

    district: Mapped[District | None] = relationship()
    generated_by: Mapped[User | None] = relationship()
    issue: Mapped[BriefIssue | None] = relationship(lazy="joined")

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user sees the briefs made for their district only."""
        return cls.district_id == district_id

    @property
    def filename(self) -> str:
        place = f"（{self.district.name}）" if self.district else ""
        return f"{self.title}招商周报{place}-{self.week}.pdf"

    @property
    def docx_filename(self) -> str:
        return self.filename.removesuffix(".pdf") + ".docx"

    def __repr__(self) -> str:
        return f"<Brief {self.scope} {self.week}>"


# Whether a brief has its Word version, read with the archive's rows without loading the file.
Brief.has_docx = column_property(Brief.__table__.c.docx.is_not(None))
