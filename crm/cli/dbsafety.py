"""Downgrades that would delete data are refused unless forced.

migrations/env.py hands Alembic's list of steps to `refuse_lossy_downgrades` before the first step
runs. Every migration whose downgrade() drops tables or columns (or resets values) says so in
LOSSES; the rows that would go are counted, and if there are any the command stops with a Chinese
message naming them, the database untouched. `flask --app app db downgrade -x force=1 REV` goes
ahead (Flask-Migrate passes `-x` through to env.py; its own command takes no `--force`).

A migration missing from LOSSES is treated as dropping everything: its downgrade is refused while
the database holds any row. tests/test_migrations.py checks LOSSES against what each migration
really creates, so a new migration must add its entry here.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import click
from alembic.runtime.migration import RevisionStep
from sqlalchemy import Connection, column, func, inspect, select, table

from crm.cli.common import CliError


@dataclass(frozen=True)
class Loss:
    """What a downgrade deletes: a whole table, or one column's values (those other than `blank`,
    the value that carries nothing, e.g. a server default). `dropped=False`: the column stays but
    its values are reset."""

    table: str
    label: str
    column: str | None = None
    blank: object = None
    dropped: bool = True
    derived: bool = False  # computed from other rows and computed again: nothing is lost


def _tables(*pairs: tuple[str, str]) -> tuple[Loss, ...]:
    return tuple(Loss(name, label) for name, label in pairs)


LOSSES: dict[str, tuple[Loss, ...]] = {
    "0001_foundation": _tables(("users", "用户"), ("districts", "区县"), ("audit_log", "审计日志")),
    "0002_industry_map": _tables(
        ("industry_categories", "产业门类"),
        ("sectors", "产业领域"),
        ("chains", "产业链"),
        ("products", "产品"),
        ("clusters", "产业集群"),
        ("cluster_districts", "集群所在区县"),
        ("targets", "2027 年目标"),
        ("catalogue_entries", "招商目录条目"),
        ("catalogue_entry_clusters", "目录条目所属集群"),
    ),
    "0003_enterprises_leads": _tables(
        ("enterprises", "企业"),
        ("contacts", "联系人"),
        ("enterprise_catalogue_entries", "企业的目录条目"),
        ("leads", "线索"),
        ("follow_ups", "跟进记录"),
        ("lead_stage_changes", "线索阶段变更"),
        ("projects", "签约项目"),
    ),
    # Only the search index, which the upgrade builds again from the rows.
    "0004_search_index": (),
    "0005_imports": (
        Loss("import_batches", "导入批次"),
        Loss("enterprises", "法定代表人", "legal_representative"),
        Loss("enterprises", "注册资本", "registered_capital"),
        Loss("enterprises", "成立日期", "established_on"),
        Loss("enterprises", "经营范围", "business_scope", blank=""),
    ),
    "0006_project_lifecycle": (
        Loss("project_updates", "项目进展"),
        Loss("project_milestones", "项目节点的计划与实际日期"),
        Loss("project_catalogue_entries", "项目的目录条目"),
        Loss("projects", "园区", "park"),
        Loss("projects", "预计产值", "expected_output_wan"),
        Loss("projects", "预计就业", "expected_jobs"),
        Loss("projects", "终止原因", "termination_reason"),
        Loss("projects", "到位资金", "funds_in_place_wan", blank=0),
        Loss("projects", "最近进展日期", "last_update_on"),
        # Before 0006 a project never left 签约: the downgrade puts every project back there.
        Loss("projects", "项目阶段，将回到“签约”", "stage", blank="签约", dropped=False),
    ),
    "0007_briefs": _tables(("briefs", "周报存档的 PDF")),
    "0008_target_reports": _tables(("target_reports", "目标填报数")),
    "0009_login_attempts": _tables(("login_attempts", "登录记录")),
    "0010_api_tokens": _tables(("api_tokens", "API 令牌")),
    # Derived rows only: the matches are computed again from the firms' profiles.
    "0011_enterprise_matches": (
        Loss("enterprise_matches", "企业与目录条目的匹配结果", derived=True),
        Loss("match_state", "匹配所依据的目录版本", derived=True),
        Loss("enterprises", "匹配结果对应的企业版本", "matched_version", derived=True),
    ),
    # Only the search index's layout, rebuilt from the rows either way.
    "0012_search_index_rowids": (),
    "0013_list_indexes": (),  # indexes only
    "0014_funds_ledger": (
        Loss("fund_entries", "到位资金台账（新登记的到位资金、来源、类型与核实结果）"),
        Loss("fund_plans", "年度计划到位资金"),
    ),
    "0015_attachments": (Loss("attachments", "项目附件"), Loss("attachment_blobs", "附件文件内容")),
    "0016_events": (
        Loss("event_enterprises", "活动接洽企业"),
        Loss("events", "招商活动"),
        Loss("users", "用户所属处室", "division_id"),
        Loss("divisions", "处室"),
    ),
    "0017_brief_issues": (
        Loss("briefs", "周报存档的 Word 文件", "docx"),
        Loss("briefs", "周报的期号", "issue_id", derived=True),
        Loss("brief_issues", "周报期号（升级时按存档重新编出）", derived=True),
    ),
    # The events' files (records, and their bytes in attachment_blobs); the projects' stay.
    "0018_event_attachments": (Loss("attachments", "招商活动的附件", "event_id"),),
    "0019_follow_up_activity_index": (),  # an index: nothing is lost
    "0020_supervision_items": _tables(
        ("supervision_item_replies", "督办事项的回复"), ("supervision_items", "督办事项")
    ),
    "0021_lead_handovers": (
        Loss("lead_handover_records", "交办的研判、回复和进展报告"),
        Loss("lead_handovers", "线索交办"),
        Loss("leads", "线索的预计签约日期", "expected_signing_on"),
        Loss("leads", "线索的第一引资人", "first_referrer", blank=""),
    ),
    "0022_notifications": _tables(
        ("notifications", "通知"),
        ("notification_settings", "个人通知设置"),
        ("notification_digests", "通知邮件摘要的发送记录"),
    ),
    "0023_match_learning": _tables(
        ("match_feedback", "对匹配结果的采用与更正"),
        ("match_learn_runs", "匹配学习的运行记录"),
        ("match_proposals", "匹配学习建议"),
    ),
}


@dataclass(frozen=True)
class Counted:
    revision: str
    what: str  # e.g. "周报存档的 PDF（briefs）" or "园区（projects.park）"
    rows: int


def _count(connection: Connection, loss: Loss) -> int:
    if loss.derived:
        return 0
    if loss.column is not None and loss.column not in {
        c["name"] for c in inspect(connection).get_columns(loss.table)
    }:
        # A later revision dropped the column (0014: projects.funds_in_place_wan); what its
        # downgrade puts back is computed from other rows, whose own losses are counted.
        return 0
    query = select(func.count()).select_from(table(loss.table))
    if loss.column is not None:
        values = column(loss.column)
        query = query.where(values.is_not(None))
        if loss.blank is not None:
            query = query.where(values != loss.blank)
    return connection.scalar(query) or 0


def count_losses(connection: Connection, revisions: Iterable[str]) -> list[Counted]:
    """The rows the downgrades of `revisions` would delete, as they stand now (tables that do not
    exist, in a database left half-way by an older failure, count nothing)."""
    existing = set(inspect(connection).get_table_names())
    found = []
    for revision in revisions:
        losses = LOSSES.get(revision)
        if losses is None:  # undeclared: anything may go
            losses = tuple(
                Loss(name, "此迁移未声明删除什么，按全表计")
                for name in sorted(existing - {"alembic_version"})
            )
        for loss in losses:
            if loss.table not in existing:
                continue
            if rows := _count(connection, loss):
                name = loss.table if loss.column is None else f"{loss.table}.{loss.column}"
                found.append(Counted(revision, f"{loss.label}（{name}）", rows))
    return found


def describe(found: list[Counted]) -> str:
    """Each revision, and under it what goes and how many rows."""
    lines = []
    for revision in dict.fromkeys(item.revision for item in found):
        lines.append(f"  {revision}")
        lines += [f"    {item.what}：{item.rows:,} 行" for item in found if item.revision == revision]
    return "\n".join(lines)


def refuse_lossy_downgrades(steps_fn: Callable, *, force: bool, destination: str) -> Callable:
    """Wrap Alembic's step function (the `fn` of `flask db downgrade`): before the first step runs,
    the rows its downgrades would delete are counted; any at all and no force, and it refuses."""

    def guarded(heads, migration_context):
        steps = list(steps_fn(heads, migration_context))
        undone = [
            step.revision.revision for step in steps if isinstance(step, RevisionStep) and step.is_downgrade
        ]
        if not undone or migration_context.as_sql:  # --sql writes a script and deletes nothing
            return steps
        found = count_losses(migration_context.connection, undone)
        if found and not force:
            raise CliError(
                "降级会删除以下数据，已停止，数据库未作任何改动：\n"
                + describe(found)
                + "\n请先备份：flask --app app backup -o 备份文件.zip"
                + "\n确认要删除这些数据，再加 -x force=1 运行："
                + f"flask --app app db downgrade -x force=1 {destination}"
            )
        if found:
            click.echo("已按 -x force=1 降级，以下数据将被删除：\n" + describe(found), err=True)
        return steps

    return guarded
