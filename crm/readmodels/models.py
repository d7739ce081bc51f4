"""Tables the read models keep: derived from other rows, rebuilt from them whenever they are stale,
never edited by anyone (so not audited)."""

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db


class EnterpriseMatch(db.Model):
    """One of a firm's best catalogue entries as the matcher scored its profile: what the
    recommendations (空白环节, a catalogue entry's page) read instead of matching 100 000 firms."""

    __tablename__ = "enterprise_matches"
    __audited__ = False
    __table_args__ = (Index("ix_enterprise_matches_entry_score", "entry_id", "score"),)

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalogue_entries.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<EnterpriseMatch {self.enterprise_id}→{self.entry_id} {self.score:.1f}>"


class MatchState(db.Model):
    """Which catalogue the stored matches were computed against (one row): when the catalogue
    changes, every firm's matches are stale."""

    __tablename__ = "match_state"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalogue_key: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<MatchState {self.catalogue_key}>"
