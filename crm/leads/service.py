"""Verbs on leads: create, edit, move through the pipeline (with its gates), follow up, sign.

Pages, the kanban, the API and imports all call these, so a stage gate holds everywhere.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import MANAGER, OFFICER, User
from crm.core.text import clean_text, required_text
from crm.core.timeutil import parse_date_text, today_local
from crm.core.validation import Problems
from crm.enterprises.models import Enterprise
from crm.enterprises.service import parse_revenue
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.leads.models import (
    DORMANT,
    FOLLOW_UP_KINDS,
    LOST,
    LOST_REASONS,
    PIPELINE,
    SOURCES,
    FollowUp,
    Lead,
    StageChange,
)
from crm.places.service import district_id_of
from crm.projects.models import Project
from crm.projects.service import open_project

MAX_INVESTMENT_WAN = 100_000_000  # 1 万亿元


class LeadError(ValueError):
    """A change to a lead that cannot be made; the message says why, in Chinese."""


class LeadConflict(LeadError):
    def __init__(self):
        super().__init__("该线索在您编辑期间已被他人修改，您的修改尚未保存。请刷新页面后重试。")


def _text(value) -> str:
    """A choice as submitted: stripped text, or "" for anything else (which then fails the choice)."""
    return value.strip() if isinstance(value, str) else ""


def _investment(value, label: str = "意向投资") -> int | None:
    try:
        amount = parse_revenue(value)
    except ValueError as error:
        raise LeadError(str(error).replace("年营业收入", label)) from error
    if amount is not None and amount > MAX_INVESTMENT_WAN:
        raise LeadError(f"{label}超出合理范围，请确认单位为万元")
    return amount


def _date(value, label: str) -> date | None:
    try:
        return parse_date_text(value)
    except ValueError as error:
        raise LeadError(f"{label}“{value}”不是有效日期（格式：2026-12-01）") from error


@dataclass
class LeadData:
    """Validated values of a lead."""

    title: str
    source: str
    catalogue_entry_id: int | None
    intended_district_id: int | None
    intended_investment_wan: int | None
    next_follow_up_on: date | None


def validate(raw: dict, today: date | None = None, current_follow_up: date | None = None) -> LeadData:
    """Check the fields of a lead; the first problem is raised as a LeadError.

    A past next-follow-up date is refused unless it is the one the lead already has (editing an
    overdue lead's title must not force a new date).
    """
    problems = Problems(LeadError)
    values: dict = {}
    with problems.field("title"):
        values["title"] = required_text(raw.get("title"), "线索名称", 128, LeadError)
    with problems.field("source"):
        values["source"] = _text(raw.get("source"))
        if values["source"] not in SOURCES:
            raise LeadError(f"请选择线索来源：{'、'.join(SOURCES)}")
    with problems.field("catalogue_code"):
        values["catalogue_entry_id"] = None
        if raw.get("catalogue_code"):
            entry = get_entry(str(raw["catalogue_code"]).strip())
            if entry is None or entry.retired:
                raise LeadError(f"未知或已停用的目录条目代码“{str(raw['catalogue_code'])[:16]}”")
            values["catalogue_entry_id"] = entry.id
    with problems.field("district"):
        values["intended_district_id"] = district_id_of(raw.get("district"), LeadError)
    with problems.field("next_follow_up_on"):
        follow_up = values["next_follow_up_on"] = _date(raw.get("next_follow_up_on"), "下次跟进日期")
        if follow_up and follow_up < (today or today_local()) and follow_up != current_follow_up:
            raise LeadError("下次跟进日期不能早于今天")
    with problems.field("intended_investment_wan"):
        values["intended_investment_wan"] = _investment(raw.get("intended_investment_wan"))
    problems.raise_first()
    return LeadData(**values)


def _record_stage(lead: Lead, before: str | None, after: str, by: User | None, note: str = "") -> None:
    db.session.add(StageChange(lead=lead, from_stage=before, to_stage=after, note=note, changed_by=by))


def create_lead(enterprise: Enterprise, raw: dict, owner: User, by: User | None = None) -> Lead:
    """A new lead at stage 线索."""
    if owner.role not in (OFFICER, MANAGER) or not owner.active:
        raise LeadError("线索负责人须为在职的招商专员或处室负责人")
    if enterprise.merged_into_id:
        raise LeadError(f"该企业已并入编号 {enterprise.merged_into_id} 的企业，请在保留的企业下登记线索")
    data = validate(raw)
    lead = Lead(enterprise=enterprise, owner=owner, stage=PIPELINE[0], version=1, **vars(data))
    db.session.add(lead)
    _record_stage(lead, None, PIPELINE[0], by or owner, "新建线索")
    db.session.flush()
    return lead


def update_lead(lead: Lead, raw: dict, seen_version: int) -> Lead:
    """Save an edit of a lead's fields (not its stage)."""
    if seen_version != lead.version:
        raise LeadConflict()
    data = validate(raw, current_follow_up=lead.next_follow_up_on)
    for key, value in vars(data).items():
        if getattr(lead, key) != value:
            setattr(lead, key, value)
    try:
        db.session.flush()
    except StaleDataError as error:
        raise LeadConflict() from error
    return lead


def gate_problems(lead: Lead, stage: str) -> list[str]:
    """What `lead` lacks to stand at `stage` (every earlier stage's needs included)."""
    problems = []
    if stage not in PIPELINE:
        return problems
    reached = PIPELINE.index(stage)
    if reached >= PIPELINE.index("初步接洽") and not lead.follow_ups:
        problems.append("进入“初步接洽”前须至少有一条跟进记录")
    if reached >= PIPELINE.index("实地考察") and lead.intended_district_id is None:
        problems.append("进入“实地考察”须先填写意向区县")
    if reached >= PIPELINE.index("商务洽谈"):
        if lead.catalogue_entry_id is None:
            problems.append("进入“商务洽谈”须先关联招商目录条目")
        if not lead.intended_investment_wan:
            problems.append("进入“商务洽谈”须先填写意向投资额")
    return problems


def move_lead(lead: Lead, stage: str, by: User, note: str = "", lost_reason: str | None = None) -> Lead:
    """Move a lead to another stage, through the gates; 签约 goes through sign_lead instead."""
    if stage not in (*PIPELINE, DORMANT, LOST):
        raise LeadError(f"未知的阶段“{stage}”")
    if lead.stage == "签约":
        raise LeadError("已签约的线索不能再变更阶段（后续进展请在项目中更新）")
    if stage == lead.stage:
        raise LeadError(f"线索已处于“{stage}”阶段")
    if stage == "签约":
        raise LeadError("签约请使用“签约”操作，填写协议投资额和签约日期")
    note = clean_text(note, "说明", 500, LeadError)
    if stage == LOST:
        if lost_reason not in LOST_REASONS:
            raise LeadError(f"标记为流失须选择原因：{'、'.join(LOST_REASONS)}")
    problems = gate_problems(lead, stage)
    if problems:
        raise LeadError("；".join(problems))
    before = lead.stage
    lead.stage = stage
    lead.lost_reason = lost_reason if stage == LOST else None
    _record_stage(lead, before, stage, by, note or (f"流失原因：{lost_reason}" if stage == LOST else ""))
    db.session.flush()
    return lead


def add_follow_up(lead: Lead, raw: dict, by: User, today: date | None = None) -> FollowUp:
    """Record a contact; it becomes the lead's last contact and may set the next follow-up date."""
    today = today or today_local()
    occurred = _date(raw.get("occurred_on"), "跟进日期") or today
    if occurred > today:
        raise LeadError("跟进日期不能晚于今天（计划中的跟进请填写“下次跟进日期”）")
    kind = _text(raw.get("kind"))
    if kind not in FOLLOW_UP_KINDS:
        raise LeadError(f"请选择跟进方式：{'、'.join(FOLLOW_UP_KINDS)}")
    notes = clean_text(raw.get("notes"), "情况记录", 5000, LeadError)
    if not notes:
        raise LeadError("请填写情况记录")
    next_on = _date(raw.get("next_follow_up_on"), "下次跟进日期")
    if next_on and next_on < today:
        raise LeadError("下次跟进日期不能早于今天")
    follow_up = FollowUp(
        lead=lead,
        occurred_on=occurred,
        kind=kind,
        participants=clean_text(raw.get("participants"), "参与人员", 256, LeadError),
        notes=notes,
        created_by=by,
    )
    db.session.add(follow_up)
    if lead.last_contact_on is None or occurred > lead.last_contact_on:
        lead.last_contact_on = occurred
    if next_on:
        lead.next_follow_up_on = next_on
    db.session.flush()
    return follow_up


def sign_lead(lead: Lead, raw: dict, by: User, today: date | None = None) -> Project:
    """签约: the lead becomes a project (agreed investment, district, catalogue entry, signed date)."""
    if lead.stage in ("签约", LOST):
        raise LeadError(f"“{lead.stage}”的线索不能签约")
    signed_on = _date(raw.get("signed_on"), "签约日期")
    if signed_on is None:
        raise LeadError("请填写签约日期")
    if signed_on > (today or today_local()):
        raise LeadError("签约日期不能晚于今天")
    amount = _investment(raw.get("agreed_investment_wan"), "协议投资额")
    problems = [p for p in gate_problems(lead, "商务洽谈") if "意向投资" not in p]
    if not amount:
        problems.append("签约须填写协议投资额（万元，大于 0）")
    if problems:
        raise LeadError("；".join(problems))
    project = open_project(
        name=lead.title,
        enterprise=lead.enterprise,
        lead_id=lead.id,
        district_id=lead.intended_district_id,
        catalogue_entry=lead.catalogue_entry,
        agreed_investment_wan=amount,
        signed_on=signed_on,
    )
    before = lead.stage
    lead.stage = "签约"
    lead.next_follow_up_on = None
    _record_stage(lead, before, "签约", by, f"签约，协议投资 {amount} 万元")
    db.session.flush()
    return project
