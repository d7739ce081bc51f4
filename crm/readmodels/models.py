"""Tables the read models keep: derived from other rows, rebuilt from them whenever they are stale,
never edited by anyone (so not audited); and what officers say of the matches (MatchFeedback, kept
as said) with what the matcher learns from it (MatchProposal, decided by a manager, audited)."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.choices import Choice, one_of
from crm.core.timeutil import utcnow
from crm.enterprises.models import Enterprise
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


# ---------------------------------------------------------------- learning from officers


class Verdict(Choice):
    ADOPTED = "采用"  # the suggestion was right
    CORRECTED = "更正"  # another entry is right (or the matcher had nothing)


class ProposalKind(Choice):
    TERM = "新增词"
    WEAKEN = "降权"


class ProposalStatus(Choice):
    PENDING = "待审核"
    ACCEPTED = "已采纳"
    REJECTED = "已驳回"
    REVOKED = "已撤销"  # accepted, then taken back by a manager: out of the matcher, not proposed again


class MatchFeedback(db.Model):
    """An officer's judgement of a firm's match, kept as given (append-only), with the profile it
    was given on: what `flask match learn` reads."""

    __tablename__ = "match_feedback"
    __audit_label__ = "匹配反馈"
    __field_labels__ = {
        "enterprise_id": "企业编号",
        "lead_id": "线索编号",
        "verdict": "判断",
        "suggested_code": "系统建议条目",
        "chosen_code": "正确条目",
        "products": "当时的主要产品",
        "description": "当时的简介",
        "scope": "当时的经营范围",
    }
    __table_args__ = (CheckConstraint(one_of("verdict", tuple(Verdict)), name="verdict_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    verdict: Mapped[str] = mapped_column(String(4))
    suggested_code: Mapped[str | None] = mapped_column(String(16))
    chosen_code: Mapped[str] = mapped_column(String(16))
    products: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    created_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<MatchFeedback {self.enterprise_id} {self.verdict} {self.suggested_code}→{self.chosen_code}>"


class MatchLearnRun(db.Model):
    """One run of `flask match learn`: how many judgements it read, what it proposed, and the
    matcher's figures before and after its proposals."""

    __tablename__ = "match_learn_runs"
    __audited__ = False  # a computation's record; nothing in it is anyone's edit

    id: Mapped[int] = mapped_column(primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    judgements: Mapped[int] = mapped_column(Integer, default=0)
    proposed: Mapped[int] = mapped_column(Integer, default=0)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)


class MatchProposal(db.Model):
    """A change the corrections suggest: a new term for an entry, or a term weakened for a target.
    Nothing reaches the matcher until a manager accepts it; a rejected one is not proposed again."""

    __tablename__ = "match_proposals"
    __audit_label__ = "匹配学习建议"
    __field_labels__ = {
        "kind": "类型",
        "term": "词",
        "level": "层级",
        "target": "指向",
        "factor": "权重系数",
        "support": "支持企业数",
        "status": "状态",
        "decided_by_id": "审核人编号",
        "decided_at": "审核时间",
    }
    __table_args__ = (
        UniqueConstraint("kind", "term_key", "level", "target", name="uq_match_proposals_change"),
        CheckConstraint(one_of("kind", tuple(ProposalKind)), name="kind_known"),
        CheckConstraint(one_of("status", tuple(ProposalStatus)), name="status_known"),
        CheckConstraint("level IN ('entry', 'chain', 'cluster')", name="level_known"),
        Index("ix_match_proposals_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_learn_runs.id"))
    kind: Mapped[str] = mapped_column(String(4))
    term: Mapped[str] = mapped_column(String(64))
    term_key: Mapped[str] = mapped_column(String(64))  # normalised: one proposal per spelling family
    level: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(64))
    factor: Mapped[float] = mapped_column(Float, default=1.0)
    support: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[list[int]] = mapped_column(JSON, default=list)  # MatchFeedback ids
    status: Mapped[str] = mapped_column(String(4), default=ProposalStatus.PENDING)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    run: Mapped[MatchLearnRun] = relationship()
    decided_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<MatchProposal {self.kind} {self.term}→{self.target} {self.status}>"
