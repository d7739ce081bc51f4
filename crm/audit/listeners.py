"""Writes the audit log from SQLAlchemy session events, in the same transaction as the change.

Views and services never call the log: whatever flushes a domain row is recorded, so no code
path can forget it.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from crm.audit.models import AuditLog
from crm.core.actor import current_actor
from crm.core.timeutil import utcnow

REDACTED = "******"
_PENDING = "audit_pending"


def _is_audited(obj: Any) -> bool:
    return getattr(type(obj), "__audited__", True) and hasattr(type(obj), "__table__")


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a column value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} 字节>"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _shown(obj: Any, key: str, value: Any) -> Any:
    if key in getattr(type(obj), "__audit_redact__", ()):
        return REDACTED if value is not None else None
    return _plain(value)


def _hidden(obj: Any) -> frozenset:
    # Bookkeeping columns a model declares not worth a history line (a search index, a snapshot).
    return getattr(type(obj), "__audit_hidden__", frozenset())


def _column_values(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    hidden = _hidden(obj)
    # state.dict, not getattr: an expired attribute must not trigger a query inside the flush.
    return {
        attr.key: _shown(obj, attr.key, state.dict[attr.key])
        for attr in state.mapper.column_attrs
        if attr.key in state.dict and attr.key not in hidden
    }


def _label(obj: Any) -> str:
    return str(getattr(obj, "name", None) or getattr(obj, "code", None) or inspect(obj).identity)


def _collection_changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Many-to-many collections (an entry's clusters) changed in this flush, as lists of labels."""
    state = inspect(obj)
    before, after = {}, {}
    for rel in state.mapper.relationships:
        if rel.secondary is None or rel.key not in state.dict:
            continue
        history = state.attrs[rel.key].history
        if not history.added and not history.deleted:
            continue
        unchanged = [_label(o) for o in history.unchanged]
        before[rel.key] = unchanged + [_label(o) for o in history.deleted]
        after[rel.key] = unchanged + [_label(o) for o in history.added]
    return before, after


def _same(old: Any, new: Any) -> bool:
    # SQLite hands back naive datetimes for timezone-aware columns: compare both as UTC.
    if isinstance(old, datetime) and isinstance(new, datetime):
        old, new = (v if v.tzinfo else v.replace(tzinfo=UTC) for v in (old, new))
    return old == new


_MISSING = object()


def _changed_values(session: Session, obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the columns this flush changes, foreign keys set through relationships included."""
    state = inspect(obj)
    mapper = state.mapper
    changes: dict[str, list] = {}  # key -> [column, old (or _MISSING), new]
    for attr in mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.added:
            old = history.deleted[0] if history.deleted else _MISSING
            changes[attr.key] = [attr.columns[0], old, history.added[0]]
    for rel in mapper.relationships:
        # `user.district = x` sets user.district_id only during the flush: read it from the relationship.
        if rel.direction.name != "MANYTOONE":
            continue
        history = state.attrs[rel.key].history
        if not history.added and not history.deleted:
            continue
        target = history.added[0] if history.added else None
        for local, remote in rel.local_remote_pairs:
            key = mapper.get_property_by_column(local).key
            if key in changes:
                continue
            new = None
            if target is not None:
                new = getattr(target, inspect(target).mapper.get_property_by_column(remote).key)
            changes[key] = [local, state.dict.get(key, _MISSING), new]
    unknown = [key for key, (_, old, _) in changes.items() if old is _MISSING]
    if unknown and state.identity:
        # Set without being loaded first (e.g. after a commit expired it): the old value is
        # still in the database, read here before this flush overwrites it.
        pk_clause = [col == value for col, value in zip(mapper.primary_key, state.identity, strict=True)]
        stmt = select(*[changes[k][0] for k in unknown]).where(*pk_clause)
        row = session.connection().execute(stmt).one_or_none()
        for key, old in zip(unknown, row or [None] * len(unknown), strict=True):
            changes[key][1] = old
    before, after = {}, {}
    for key, (_, old, new) in changes.items():
        if key in _hidden(obj) or (old is not _MISSING and _same(old, new)):
            continue
        before[key] = _shown(obj, key, None if old is _MISSING else old)
        after[key] = _shown(obj, key, new)
    return before, after


def _refuse_bulk_writes(orm_execute_state: Any) -> None:
    """ORM bulk UPDATE/DELETE skip the flush and so the audit log: refuse them on audited models."""
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    for mapper in orm_execute_state.all_mappers:
        if getattr(mapper.class_, "__audited__", True):
            raise RuntimeError(f"对 {mapper.class_.__name__} 的批量 UPDATE/DELETE 会绕过审计日志：请逐行修改")


def _row_id(obj: Any) -> str:
    # From the primary key attributes, not the identity key: in after_flush, freshly inserted
    # rows have their keys but are not yet registered under an identity.
    state = inspect(obj)
    return ",".join(str(part) for part in state.mapper.primary_key_from_instance(obj))


def _entry(obj: Any, action: str, before: dict | None, after: dict | None) -> dict[str, Any]:
    actor_id, actor_name = current_actor()
    return {
        "created_at": utcnow(),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "table_name": type(obj).__tablename__,
        "row_id": _row_id(obj),
        "before": before,
        "after": after,
    }


class AppendOnlyError(RuntimeError):
    """Code tried to change or delete a row of an append-only model (a programming error)."""


def _refuse_rewrites(session: Session) -> None:
    # Records marked __append_only__ (progress updates, stage changes) are history: a correction
    # is a new row, so an UPDATE or DELETE of one is a bug that must fail loudly.
    # A model may name the columns that change afterwards (a review of a funds entry); the
    # rest of the row is history all the same.
    for obj in session.deleted:
        if getattr(type(obj), "__append_only__", False):
            raise AppendOnlyError(f"{type(obj).__name__} 只能追加，不能修改或删除")
    for obj in session.dirty:
        if getattr(type(obj), "__append_only__", False) and session.is_modified(obj):
            mutable = getattr(type(obj), "__mutable_columns__", frozenset())
            state = inspect(obj)
            changed = {a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()}
            if changed - mutable:
                raise AppendOnlyError(f"{type(obj).__name__} 只能追加，不能修改或删除")


def _update_action(obj: Any, after: dict) -> str:
    """ "update", or the access event (login, session) a change of only those columns records."""
    access = getattr(type(obj), "__access_actions__", {})
    if after and set(after) <= set(access):
        return next(access[key] for key in access if key in after)
    return "update"


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    _refuse_rewrites(session)
    # Updates and deletes are read before the flush: the old values are still loadable then.
    pending = session.info.setdefault(_PENDING, [])
    for obj in session.dirty:
        if _is_audited(obj) and obj not in session.deleted and session.is_modified(obj):
            before, after = _changed_values(session, obj)
            collection_before, collection_after = _collection_changes(obj)
            before.update(collection_before)
            after.update(collection_after)
            if after:
                pending.append(_entry(obj, _update_action(obj, after), before, after))
    for obj in session.deleted:
        if _is_audited(obj):
            for attr in inspect(obj).mapper.column_attrs:
                getattr(obj, attr.key)  # load what a commit expired, so the log has every value
            pending.append(_entry(obj, "delete", _column_values(obj), None))


def _after_flush(session: Session, flush_context: Any) -> None:
    # Inserts are read after the flush, once their primary keys exist.
    entries = session.info.pop(_PENDING, [])
    entries += [
        _entry(
            obj,
            getattr(type(obj), "__insert_action__", "insert"),
            None,
            {**_column_values(obj), **_collection_changes(obj)[1]},
        )
        for obj in session.new
        if _is_audited(obj)
    ]
    if entries:
        session.connection().execute(AuditLog.__table__.insert(), entries)


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Listen on every ORM session, once per process."""
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("after_soft_rollback", _after_rollback),
        ("do_orm_execute", _refuse_bulk_writes),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
