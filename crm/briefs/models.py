"""Every brief generated, kept byte for byte: a printed brief can be downloaded again as it was."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.places.models import District


class Brief(db.Model):
    """One generated brief: its scope (a cluster or the city, maybe one district), its ISO week,
    who made it and when, and the PDF itself."""

    __tablename__ = "briefs"
    __audit_label__ = "招商周报"
    __audit_hidden__ = frozenset({"pdf"})

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

    district: Mapped[District | None] = relationship()
    generated_by: Mapped[User | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user sees the briefs made for their district only."""
        return cls.district_id == district_id

    @property
    def filename(self) -> str:
        place = f"（{self.district.name}）" if self.district else ""
        return f"{self.title}招商周报{place}-{self.week}.pdf"

    def __repr__(self) -> str:
        return f"<Brief {self.scope} {self.week}>"
