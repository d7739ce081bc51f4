"""The correction loop: officers' judgements of matches (adopted or corrected, with who and when),
`flask match learn` turning the corrections into proposals (crm.matching.learning), and a manager
accepting or rejecting each one. Nothing reaches the matcher unreviewed; an accepted proposal changes
the matcher's signature, so every firm's stored matches are recomputed with it.

Who: officers and managers judge matches (the people who log leads); managers decide proposals."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import select

from crm.auth.models import MANAGER, User
from crm.core.timeutil import utcnow
from crm.core.transaction import Refusal
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.industry.service import all_clusters
from crm.leads.models import Lead
from crm.matching.learning import Evaluation, Judgement, agreement, evaluate, propose
from crm.matching.matcher import Matcher
from crm.matching.terms import normalise
from crm.readmodels.matching import build_matcher, get_matcher, learned
from crm.readmodels.models import (
    MatchFeedback,
    MatchLearnRun,
    MatchProposal,
    ProposalKind,
    ProposalStatus,
    Verdict,
)

EVAL_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "match_eval.yaml"


class LearningError(Refusal):
    pass


# ---------------------------------------------------------------- judgements


def record_feedback(
    enterprise: Enterprise,
    user: User,
    chosen_code: str,
    suggested_code: str | None = None,
    lead: Lead | None = None,
) -> MatchFeedback:
    """An officer's word on a firm's match: `chosen_code` is the right entry; it equals the
    suggestion (采用) or not (更正; also when the matcher had no suggestion)."""
    entry = get_entry(chosen_code or "")
    if entry is None or entry.retired:
        raise LearningError(
            f"招商目录中没有在用的条目“{(chosen_code or '')[:16]}”，请从列表中选择", field="chosen_code"
        )
    suggested = (suggested_code or "").strip().upper()[:16] or None
    feedback = MatchFeedback(
        enterprise_id=enterprise.id,
        lead_id=lead.id if lead is not None else None,
        verdict=Verdict.ADOPTED if suggested == entry.code else Verdict.CORRECTED,
        suggested_code=suggested,
        chosen_code=entry.code,
        products=enterprise.products or "",
        description=enterprise.description or "",
        scope=enterprise.business_scope or "",
        created_by_id=user.id,
    )
    db.session.add(feedback)
    return feedback


def record_lead_choice(lead: Lead, user: User, shown: list[str]) -> MatchFeedback | None:
    """A new lead's catalogue entry as a judgement of the suggestions its form showed (`shown`, best
    first): one of them is an adoption, any other entry a correction of the best. No entry, none."""
    if lead.catalogue_entry is None:
        return None
    code = lead.catalogue_entry.code
    suggested = code if code in shown else (shown[0] if shown else None)
    return record_feedback(lead.enterprise, user, code, suggested, lead=lead)


def enterprise_feedback(enterprise: Enterprise, limit: int = 5) -> list[MatchFeedback]:
    """The firm's latest judgements, newest first."""
    return list(
        db.session.scalars(
            select(MatchFeedback)
            .where(MatchFeedback.enterprise_id == enterprise.id)
            .order_by(MatchFeedback.id.desc())
            .limit(limit)
        )
    )


def recent_feedback(limit: int = 50) -> list[MatchFeedback]:
    return list(db.session.scalars(select(MatchFeedback).order_by(MatchFeedback.id.desc()).limit(limit)))


def judgements() -> list[Judgement]:
    return [
        Judgement(
            id=row.id,
            firm=row.enterprise_id,
            products=row.products,
            description=row.description,
            scope=row.scope,
            suggested=row.suggested_code,
            chosen=row.chosen_code,
            adopted=row.verdict == Verdict.ADOPTED,
        )
        for row in db.session.scalars(select(MatchFeedback).order_by(MatchFeedback.id))
    ]


# ---------------------------------------------------------------- measuring


def evaluation_firms(path: Path | None = None) -> list[dict]:
    """The labelled evaluation set (MATCH_EVAL_FILE, else the project's tests/data/match_eval.yaml);
    empty when the file is not there (an installation without the tests)."""
    path = Path(path or current_app.config.get("MATCH_EVAL_FILE") or EVAL_FILE)
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise LearningError(f"无法读取评测集 {path.name}：{error}") from error
    firms = data.get("firms") if isinstance(data, dict) else None
    if not isinstance(firms, list):
        raise LearningError(f"评测集 {path.name} 应有 firms 列表")
    return firms


def short_names() -> dict[str, str]:
    return {c.name: c.short_name for c in all_clusters()}


def measure(matcher: Matcher, firms: list[dict], found: list[Judgement]) -> dict:
    """The figures a learning run and the review page show for one matcher."""
    evaluation: Evaluation = evaluate(matcher, firms, short_names())
    corrected, agreed = agreement(matcher, found)
    return {"eval": evaluation.as_json(), "corrected": corrected, "agreed": agreed}


# ---------------------------------------------------------------- learning


@dataclass
class LearnReport:
    run: MatchLearnRun
    new: list[MatchProposal]
    updated: list[MatchProposal]

    def lines(self) -> list[str]:
        before, after = self.run.figures["before"], self.run.figures["after"]
        lines = [
            f"读取判断 {self.run.judgements} 条；新建议 {len(self.new)} 条，"
            f"更新待审建议 {len(self.updated)} 条。",
            _figure_line("现状", before),
            _figure_line("全部采纳后", after),
        ]
        for proposal in self.new:
            lines.append(
                f"  新建议 #{proposal.id} {proposal.kind}：{describe(proposal)}（{proposal.support} 家企业）"
            )
        lines.append("请经理在“产业地图 → 匹配学习”页面逐条审核；未采纳的建议不会影响匹配。")
        return lines


def _figure_line(label: str, figures: dict) -> str:
    evaluation = figures["eval"]
    total = evaluation["firms"] or 1
    text = f"{label}：更正过的企业 {figures['corrected']} 家中首选条目与人工选择一致 {figures['agreed']} 家"
    if evaluation["firms"]:
        text += (
            f"；评测集 {evaluation['firms']} 家 top-1 {evaluation['top1'] / total:.1%}，"
            f"top-3 {evaluation['top3'] / total:.1%}，未匹配 {evaluation['unmatched']} 家"
        )
    return text


def describe(proposal: MatchProposal) -> str:
    if proposal.kind == ProposalKind.TERM:
        entry = get_entry(proposal.target)
        return f"“{proposal.term}” → {proposal.target} {entry.title if entry else ''}".rstrip()
    where = {"entry": "目录条目", "chain": "产业链", "cluster": "集群"}[proposal.level]
    return f"“{proposal.term}”对{where}“{proposal.target}”的权重 × {proposal.factor:g}"


def learn() -> LearnReport:
    """Read every judgement, propose what the corrections suggest (a rejected or accepted change is
    not proposed again; a pending one gets its new support), and measure the matcher before and
    after the pending proposals. Changes nothing the matcher uses."""
    found = judgements()
    matcher = get_matcher()
    existing = {(p.kind, p.term_key, p.level, p.target): p for p in db.session.scalars(select(MatchProposal))}
    run = MatchLearnRun(judgements=len(found), figures={})
    db.session.add(run)
    db.session.flush()
    new, updated = [], []
    for candidate in propose(matcher, found):
        kind = ProposalKind.TERM if candidate.kind == "term" else ProposalKind.WEAKEN
        key = (kind, normalise(candidate.term)[:64], candidate.level, candidate.target[:64])
        kept = existing.get(key)
        if kept is None:
            proposal = MatchProposal(
                run_id=run.id,
                kind=kind,
                term=candidate.term[:64],
                term_key=key[1],
                level=candidate.level,
                target=key[3],
                factor=candidate.factor,
                support=len(candidate.firms),
                evidence=sorted(candidate.evidence),
            )
            db.session.add(proposal)
            existing[key] = proposal
            new.append(proposal)
        elif kept.status == ProposalStatus.PENDING and sorted(candidate.evidence) != list(kept.evidence):
            kept.support, kept.evidence = len(candidate.firms), sorted(candidate.evidence)
            updated.append(kept)
    db.session.flush()
    firms = evaluation_firms()
    pending_terms, pending_factors = learned(ProposalStatus.PENDING)
    run.proposed = len(new)
    run.figures = {
        "before": measure(matcher, firms, found),
        "after": measure(build_matcher(pending_terms, pending_factors), firms, found),
    }
    return LearnReport(run, new, updated)


def pending_proposals() -> list[MatchProposal]:
    return list(
        db.session.scalars(
            select(MatchProposal)
            .where(MatchProposal.status == ProposalStatus.PENDING)
            .order_by(MatchProposal.support.desc(), MatchProposal.id)
        )
    )


def decided_proposals(limit: int = 50) -> list[MatchProposal]:
    return list(
        db.session.scalars(
            select(MatchProposal)
            .where(MatchProposal.status != ProposalStatus.PENDING)
            .order_by(MatchProposal.decided_at.desc(), MatchProposal.id.desc())
            .limit(limit)
        )
    )


def latest_run() -> MatchLearnRun | None:
    return db.session.scalar(select(MatchLearnRun).order_by(MatchLearnRun.id.desc()).limit(1))


def decide(proposal: MatchProposal, user: User, accept: bool, version: int | None) -> MatchProposal:
    """A manager accepts or rejects a pending proposal (read at `version`)."""
    if user.role != MANAGER:
        raise LearningError("只有经理可以审核匹配学习建议")
    if version is not None and version != proposal.version:
        raise LearningError("该建议刚被他人审核或更新，请刷新页面后再操作")
    if proposal.status != ProposalStatus.PENDING:
        raise LearningError(f"该建议{proposal.status}，不能再次审核")
    if proposal.kind == ProposalKind.TERM:
        entry = get_entry(proposal.target)
        if accept and (entry is None or entry.retired):
            raise LearningError(f"目录条目 {proposal.target} 已停用，不能采纳，请驳回")
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REJECTED
    proposal.decided_by_id = user.id
    proposal.decided_at = utcnow()
    return proposal
