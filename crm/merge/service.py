"""Merging two records of the same firm into one, keeping the history of both.

The absorbed record is not deleted: it stays, marked `merged_into_id`, so its audit entries keep
pointing at a row that exists and the kept enterprise's page can show them as its own history.
"""

from sqlalchemy import inspect, select
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import User
from crm.core.actor import acting_as
from crm.enterprises.models import Enterprise
from crm.enterprises.service import EnterpriseError, VersionConflict, refresh_keys
from crm.extensions import db
from crm.leads.models import Lead
from crm.projects.models import Project

# Columns a merge never copies from the absorbed record: identity, derived keys (recomputed),
# bookkeeping, and the ones merged by their own rule below.
NOT_COPIED = frozenset(
    {
        "id",
        "name",
        "name_key",
        "alias_keys",
        "search_text",
        "merged_into_id",
        "created_at",
        "version",
        "kind",
        "credit_code",
        "former_names",
        "honours",
    }
)
MAX_MERGE_CHAIN = 20  # merged_into_id chains are short; the cap only guards against a cycle


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


def merge_problem(keep: Enterprise, absorbed: Enterprise) -> str | None:
    """Why these two records cannot be merged (in Chinese), or None when they can."""
    if keep.id == absorbed.id:
        return "不能将企业与其自身合并"
    for enterprise in (keep, absorbed):
        if enterprise.merged_into_id is not None:
            return f"“{enterprise.name}”（编号 {enterprise.id}）已并入其他企业，不能再合并"
    if keep.credit_code and absorbed.credit_code and keep.credit_code != absorbed.credit_code:
        return (
            f"两个不同的统一社会信用代码说明不是同一企业（{keep.credit_code} 与 {absorbed.credit_code}），"
            "不能合并"
        )
    return None


def merge_enterprises(
    keep: Enterprise,
    absorbed: Enterprise,
    by: User,
    *,
    keep_version: int | None = None,
    absorbed_version: int | None = None,
) -> Enterprise:
    """Fold `absorbed` into `keep`: its leads, contacts and projects move, its names become former
    names, its values fill keep's empty fields, and it is marked merged. Flushes; the caller commits.

    `keep_version` / `absorbed_version` are the versions the user saw; VersionConflict if either
    record was saved since.
    """
    # What can never be merged is said first: no reload would change it.
    problem = merge_problem(keep, absorbed)
    if problem:
        raise EnterpriseError(problem)
    if (keep_version is not None and keep_version != keep.version) or (
        absorbed_version is not None and absorbed_version != absorbed.version
    ):
        raise VersionConflict()
    # Inside a request the log names the logged-in user; elsewhere (CLI, tests) it names `by`.
    with acting_as(by.username, by.id):
        try:
            _merge(keep, absorbed)
        except StaleDataError as error:
            raise VersionConflict() from error
    return keep


def _merge(keep: Enterprise, absorbed: Enterprise) -> None:
    # Read everything first: with autoflush off below, queries would not see the moves anyway,
    # and each row gets one audit entry for the whole merge instead of one per intermediate flush.
    leads = db.session.scalars(select(Lead).where(Lead.enterprise_id == absorbed.id)).all()
    projects = db.session.scalars(select(Project).where(Project.enterprise_id == absorbed.id)).all()
    contacts = list(absorbed.contacts)
    code_to_move = absorbed.credit_code if not keep.credit_code else None
    if code_to_move:
        # credit_code is unique: the absorbed record must let go of it before keep takes it.
        absorbed.credit_code = None
        db.session.flush()
    with db.session.no_autoflush:
        for lead in leads:
            lead.enterprise = keep
        for project in projects:
            project.enterprise = keep
        for contact in contacts:
            contact.enterprise = keep
        entries = {entry.id: entry for entry in [*keep.catalogue_entries, *absorbed.catalogue_entries]}
        if len(entries) != len(keep.catalogue_entries):
            keep.catalogue_entries = sorted(entries.values(), key=lambda entry: entry.code)
        names = [n for n in [*keep.former_names, absorbed.name, *absorbed.former_names] if n != keep.name]
        if list(dict.fromkeys(names)) != keep.former_names:
            keep.former_names = list(dict.fromkeys(names))  # a new list: JSON columns miss in-place edits
        honours = list(dict.fromkeys([*keep.honours, *absorbed.honours]))
        if honours != keep.honours:
            keep.honours = honours
        # Every other column generically, so columns added later are merged without touching this.
        # A foreign key goes through its relationship (district, not district_id): set the column
        # alone and the loaded relationship would still say None, and win when keys are refreshed.
        mapper = inspect(Enterprise)
        through_relationship = set()
        for rel in mapper.relationships:
            if rel.direction.name == "MANYTOONE":
                keys = {mapper.get_property_by_column(column).key for column in rel.local_columns}
                through_relationship |= keys
                if all(_is_empty(getattr(keep, k)) for k in keys) and getattr(absorbed, rel.key) is not None:
                    setattr(keep, rel.key, getattr(absorbed, rel.key))
        for attr in mapper.column_attrs:
            key = attr.key
            if key in NOT_COPIED or key in through_relationship:
                continue
            theirs = getattr(absorbed, key)
            if _is_empty(getattr(keep, key)) and not _is_empty(theirs):
                # A copy of a JSON list or dict: two rows must not share one mutable value.
                setattr(keep, key, type(theirs)(theirs) if isinstance(theirs, list | dict) else theirs)
        if code_to_move:
            keep.credit_code = code_to_move
        absorbed.merged_into_id = keep.id
        # Names, former names and the credit code changed: the duplicate and search keys follow.
        refresh_keys(keep)
    db.session.flush()


def final_enterprise(enterprise: Enterprise) -> Enterprise:
    """The record an absorbed enterprise ended up in (following merges of merges)."""
    seen = {enterprise.id}
    while enterprise.merged_into_id is not None and len(seen) < MAX_MERGE_CHAIN:
        target = db.session.get(Enterprise, enterprise.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        enterprise = target
    return enterprise


def absorbed_ids(enterprise: Enterprise) -> list[int]:
    """Ids of every enterprise merged into this one, directly or through an earlier merge."""
    found: list[int] = []
    frontier = [enterprise.id]
    while frontier and len(found) < 10_000:
        frontier = [
            ident
            for ident in db.session.scalars(
                select(Enterprise.id).where(Enterprise.merged_into_id.in_(frontier)).order_by(Enterprise.id)
            )
            if ident not in found and ident != enterprise.id
        ]
        found += frontier
    return found
