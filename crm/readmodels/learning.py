"""The correction loop: officers' judgements of matches (adopted or corrected, with who and when),
`flask match learn` turning the corrections into proposals (crm.matching.learning), and a manager
accepting or rejecting them (one by one or ticked together) and revoking an accepted one. Nothing
reaches the matcher unreviewed; an accepted or revoked proposal changes the matcher's signature, so
every firm's stored matches are recomputed with it.

Who: officers and managers judge matches (the people who log leads); managers decide proposals."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.auth.models import MANAGER, User
from crm.core.timeutil import utcnow
from crm.core.transaction import Refusal
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.industry.models import CatalogueEntry
from crm.industry.service import all_clusters
from crm.leads.models import Lead
from crm.matching.learning import Judgement, accuracy_text, agreement, evaluate, propose
from crm.matching.matcher import Matcher
from crm.matching.terms import normalise
from crm.readmodels.cache import cached
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
EVIDENCE_KEPT = 50  # judgement ids kept on a proposal to show; its support counts them all
PENDING_SHOWN = 100  # on the page, most supported first; the rest wait for the next decisions


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
    """An officer's word on a firm's match: `chosen_code` is the right entry, `suggested_code` the
    best suggestion shown; equal, the suggestion is adopted (采用), else corrected (更正: another
    entry, a lower suggestion, or an entry named where the matcher had none)."""
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
    first): the best one adopted, or corrected to the entry chosen. No entry, no judgement."""
    if lead.catalogue_entry is None:
        return None
    return record_feedback(
        lead.enterprise, user, lead.catalogue_entry.code, shown[0] if shown else None, lead=lead
    )


def enterprise_feedback(enterprise_ids: list[int], limit: int = 5) -> list[MatchFeedback]:
    """The latest judgements of a firm (with the records merged into it: pass their ids too)."""
    return list(
        db.session.scalars(
            select(MatchFeedback)
            .where(MatchFeedback.enterprise_id.in_(enterprise_ids))
            .order_by(MatchFeedback.id.desc())
            .limit(limit)
        )
    )


def recent_feedback(limit: int = 50) -> list[MatchFeedback]:
    return list(
        db.session.scalars(
            select(MatchFeedback)
            .options(selectinload(MatchFeedback.enterprise), selectinload(MatchFeedback.created_by))
            .order_by(MatchFeedback.id.desc())
            .limit(limit)
        )
    )


def judgements() -> list[Judgement]:
    """Every judgement, each under the firm it now belongs to: a record merged into another counts
    as that one (two records of one firm are one firm's support, not two)."""
    merged = dict(
        db.session.execute(
            select(Enterprise.id, Enterprise.merged_into_id).where(
                Enterprise.merged_into_id.is_not(None),
                Enterprise.id.in_(select(MatchFeedback.enterprise_id)),
            )
        ).all()
    )

    def final(firm: int) -> int:
        for _ in range(20):  # a chain of merges is short (and a merge refuses to make a cycle)
            kept = merged.get(firm)
            if kept is None:
                return firm
            if kept not in merged:
                merged[kept] = db.session.scalar(
                    select(Enterprise.merged_into_id).where(Enterprise.id == kept)
                )
            firm = kept
        return firm

    return [
        Judgement(
            id=row.id,
            firm=final(row.enterprise_id),
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
    known = set(short_names().values())
    for number, firm in enumerate(firms, start=1):
        where = f"评测集 {path.name} 第 {number} 家企业"
        if not isinstance(firm, dict) or not isinstance(firm.get("name"), str):
            raise LearningError(f"{where}须有 name（企业名称）")
        if not isinstance(firm.get("products", ""), str) or not isinstance(firm.get("description", ""), str):
            raise LearningError(f"{where}（{firm['name']}）的 products、description 应为文字")
        labels = firm.get("clusters")
        if not isinstance(labels, list) or not labels or not all(label in known for label in labels):
            raise LearningError(
                f"{where}（{firm['name']}）的 clusters 应为非空的集群简称列表（{'、'.join(sorted(known))}）"
            )
    return firms


def short_names() -> dict[str, str]:
    return {c.name: c.short_name for c in all_clusters()}


def measure(matcher: Matcher, firms: list[dict], found: list[Judgement]) -> dict:
    """The figures a learning run and the review page show for one matcher."""
    corrected, agreed = agreement(matcher, found)
    return {
        "eval": evaluate(matcher, firms, short_names()).as_json(),
        "corrected": corrected,
        "agreed": agreed,
    }


@cached
def current_figures() -> dict:
    """The 匹配学习 page's figures for the matcher in use: kept until the data changes (a judgement
    or a decision writes the audit log), so the page does not match every judged firm per view."""
    return measure(get_matcher(), evaluation_firms(), judgements())


# ---------------------------------------------------------------- learning


@dataclass
class LearnReport:
    run: MatchLearnRun
    new: list[MatchProposal]
    updated: list[MatchProposal]
    stale: int = 0

    def lines(self) -> list[str]:
        before, after = self.run.figures["before"], self.run.figures["after"]
        lines = [
            f"读取判断 {self.run.judgements} 条；新建议 {len(self.new)} 条，"
            f"更新待审建议 {len(self.updated)} 条，删去已不成立的待审建议 {self.stale} 条。",
            f"现状：{figure_line(before)}",
            f"全部采纳后：{figure_line(after)}",
        ]
        for proposal in self.new:
            lines.append(
                f"  新建议 #{proposal.id} {proposal.kind}：{describe(proposal)}（{proposal.support} 家企业）"
            )
        lines.append("请经理在“产业地图 → 匹配学习”页面逐条审核；未采纳的建议不会影响匹配。")
        return lines


def figure_line(figures: dict) -> str:
    """One matcher's figures (measure()) in words: `match learn` prints them, the page shows them."""
    text = f"人工判断过的企业 {figures['corrected']} 家中首选条目与人工所选一致 {figures['agreed']} 家"
    if figures["eval"]["firms"]:
        text += f"；评测集 {accuracy_text(figures['eval'])}"
    return text


def describe(proposal: MatchProposal, titles: dict[str, str] | None = None) -> str:
    """A proposal in words; `titles` (code → title, from entry_titles()) spares a query per row."""
    if proposal.kind == ProposalKind.TERM:
        if titles is None:
            entry = get_entry(proposal.target)
            title = entry.title if entry else ""
        else:
            title = titles.get(proposal.target, "")
        return f"“{proposal.term}” → {proposal.target} {title}".rstrip()
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
    produced = set()
    for candidate in propose(matcher, found):
        kind = ProposalKind.TERM if candidate.kind == "term" else ProposalKind.WEAKEN
        key = (kind, normalise(candidate.term)[:64], candidate.level, candidate.target[:64])
        produced.add(key)
        evidence = sorted(candidate.evidence)[:EVIDENCE_KEPT]
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
                evidence=evidence,
            )
            db.session.add(proposal)
            existing[key] = proposal
            new.append(proposal)
        elif kept.status == ProposalStatus.PENDING and (len(candidate.firms), evidence) != (
            kept.support,
            list(kept.evidence),
        ):
            kept.support, kept.evidence = len(candidate.firms), evidence
            updated.append(kept)
    # A pending proposal the judgements no longer support (its entry retired, or learnt meanwhile)
    # goes: nobody decided it, and it would still count in the figures "after".
    stale = [p for key, p in existing.items() if p.status == ProposalStatus.PENDING and key not in produced]
    for proposal in stale:
        db.session.delete(proposal)
    db.session.flush()
    firms = evaluation_firms()
    pending_terms, pending_factors = learned(ProposalStatus.PENDING)
    run.proposed = len(new)
    run.figures = {
        "before": measure(matcher, firms, found),
        "after": measure(build_matcher(pending_terms, pending_factors), firms, found),
    }
    return LearnReport(run, new, updated, len(stale))


def pending_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(MatchProposal).where(MatchProposal.status == ProposalStatus.PENDING)
    )


def pending_proposals(limit: int = PENDING_SHOWN) -> list[MatchProposal]:
    """The pending proposals most supported first (the page shows `limit`)."""
    return list(
        db.session.scalars(
            select(MatchProposal)
            .where(MatchProposal.status == ProposalStatus.PENDING)
            .order_by(MatchProposal.support.desc(), MatchProposal.id)
            .limit(limit)
        )
    )


def evidence_of(proposals: list[MatchProposal], per_proposal: int = 5) -> dict[int, MatchFeedback]:
    """The judgements the page shows beside `proposals` (a few each), with their firms, in one query."""
    ids = {i for p in proposals for i in p.evidence[:per_proposal]}
    if not ids:
        return {}
    rows = db.session.scalars(
        select(MatchFeedback).where(MatchFeedback.id.in_(ids)).options(selectinload(MatchFeedback.enterprise))
    )
    return {row.id: row for row in rows}


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


def entry_titles() -> dict[str, str]:
    return dict(db.session.execute(select(CatalogueEntry.code, CatalogueEntry.title)).all())


DECISIONS = {  # action → (the status it needs, the status it gives)
    "accept": (ProposalStatus.PENDING, ProposalStatus.ACCEPTED),
    "reject": (ProposalStatus.PENDING, ProposalStatus.REJECTED),
    "revoke": (ProposalStatus.ACCEPTED, ProposalStatus.REVOKED),
}


def decide(proposal: MatchProposal, user: User, action: str, version: int | None) -> MatchProposal:
    """A manager accepts or rejects a pending proposal, or revokes an accepted one (read at
    `version`): an accepted change leaves the matcher again, and is not proposed again."""
    if user.role != MANAGER:
        raise LearningError("只有经理可以审核匹配学习建议")
    if action not in DECISIONS:
        raise LearningError("未知的审核操作")
    if version is not None and version != proposal.version:
        raise LearningError("该建议刚被他人审核或更新，请刷新页面后再操作")
    needed, given = DECISIONS[action]
    if proposal.status != needed:
        raise LearningError(f"该建议{proposal.status}，不能{ACTION_WORDS[action]}")
    if action == "accept" and proposal.kind == ProposalKind.TERM:
        entry = get_entry(proposal.target)
        if entry is None or entry.retired:
            raise LearningError(f"目录条目 {proposal.target} 已停用，不能采纳，请驳回")
    proposal.status = given
    proposal.decided_by_id = user.id
    proposal.decided_at = utcnow()
    return proposal


ACTION_WORDS = {"accept": "采纳", "reject": "驳回", "revoke": "撤销"}


def decide_many(choices: dict[int, int | None], user: User, action: str) -> list[MatchProposal]:
    """One decision on several proposals ({id: version read}), all or none: a manager reviewing
    twenty proposals changes the matcher once, so every firm is re-matched once, not twenty times."""
    if not choices:
        raise LearningError("请先勾选要审核的建议")
    proposals = {
        p.id: p for p in db.session.scalars(select(MatchProposal).where(MatchProposal.id.in_(choices)))
    }
    missing = sorted(set(choices) - set(proposals))
    if missing:
        raise LearningError(f"建议 #{missing[0]} 不存在，请刷新页面后重试")
    decided = []
    for proposal_id, version in sorted(choices.items()):
        try:
            decided.append(decide(proposals[proposal_id], user, action, version))
        except LearningError as error:
            raise LearningError(f"建议 #{proposal_id}：{error}（本次勾选的建议均未处理）") from error
    return decided
