"""Import verbs: start a batch from a file, map its columns, check every row, import it in chunks.

**Preview.** Every row is checked (crm.imports.checks: the services' own validation, lookups for
many rows in a few queries) when the file is uploaded, when its mapping changes and when the
user asks for a fresh check; the outcome of each row and the counts by action are kept on the
batch (result["preview"]), so paging and filtering 20 000 rows read them instead of checking again.

**Confirm is chunk by chunk, not all-or-nothing.** A file with any problem row cannot start. Once
started, every CHUNK_ROWS rows are checked again and written in one short transaction, together
with the batch's progress (how many rows are done, and what they did): either a chunk and its
progress are committed, or neither. Why not one transaction for the whole file: it held SQLite's
single write lock for as long as the import took (a minute for 5 000 rows: other users' saves
waited, then failed with "database is locked"), PostgreSQL's row and advisory locks as long, and a
crash lost everything done. If a run stops midway — a chunk finds a problem that appeared since
the preview (a firm registered meanwhile, a catalogue entry retired), a lost race, the request's
time budget, a crash — the rows before it stay imported, the batch page says how far it got and
why, and 「继续导入」 continues from the next row: the progress is stored with the rows it counts,
so nothing is imported twice. One run at a time: a run holds a token on the batch, renewed by each
chunk; another confirm is refused while it is fresh, and may take over once it is RUN_TIMEOUT old.
"""

import json
import secrets
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.access import record_event
from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.core.memo import remembered_lookups
from crm.core.timeutil import utcnow
from crm.core.transaction import Conflict, Refusal, commit, serialise
from crm.enterprises.models import Enterprise
from crm.enterprises.service import name_lock
from crm.extensions import db
from crm.imports.checks import ACTIONS, RowResult, checks_for, missing_fields
from crm.imports.fields import FIELDS, guess_mapping
from crm.imports.models import ImportBatch
from crm.imports.reader import read_table

__all__ = ["ACTIONS"]  # what the page filters the preview by

CHUNK_ROWS = 500  # rows written per transaction
CHECK_ROWS = 1000  # rows a preview checks per round of lookups
PAGE_ROWS = 100  # rows on a page of the preview
# A confirm request starts no new chunk after this many seconds (the rest waits for 继续导入):
# well within gunicorn's 120 s request timeout (GUNICORN_TIMEOUT). IMPORT_CONFIRM_SECONDS overrides.
CONFIRM_SECONDS = 60.0
# A run whose last chunk is older than this is taken as dead (its request timed out or the worker
# stopped): another confirm may continue it. A chunk takes about a second; waiting for another
# writer's lock, up to SQLite's 10 s busy timeout.
RUN_TIMEOUT = timedelta(seconds=30)
# SQLite has one writer, and a writer waiting for it retries at most every 100 ms (SQLite's busy
# handler: 1, 2, 5 … 50, 100, 100 ms). A pause this long between chunks lets every waiting writer
# in within about one chunk, instead of the import taking the lock back before it looks again.
SQLITE_PAUSE = 0.1


# Who imports what: the bureau imports everything; district staff their district's events only.
IMPORTERS = {
    "enterprises": (OFFICER, MANAGER),
    "leads": (OFFICER, MANAGER),
    "events": (OFFICER, MANAGER, DISTRICT),
}


def may_import(user, kind: str) -> bool:
    """Whether `user` may import rows of `kind`."""
    return getattr(user, "role", None) in IMPORTERS.get(kind, ())


def kinds_for(user) -> list[str]:
    """The kinds of rows `user` may import, in the order the upload form offers them."""
    return [kind for kind in IMPORTERS if may_import(user, kind)]


class ImportProblem(Refusal):
    """A batch that cannot be mapped or imported; the message says why, in Chinese."""


def _check_importer(user, kind: str) -> None:
    if not may_import(user, kind):
        if getattr(user, "role", None) == DISTRICT:
            raise ImportProblem("区县专员只能导入本区县的招商活动")
        raise ImportProblem("您的角色不能导入该内容")


class BatchChanged(ImportProblem, Conflict):
    """Another request (a second click, another tab) changed or imported the batch meanwhile: the
    version check of the batch's UPDATE refused this one, and the rollback undoes its rows."""

    def __init__(self):
        super().__init__("该批次刚被另一操作修改或处理（如重复点击确认），本次操作未生效，请查看最新状态。")


def _flush_batch() -> None:
    try:
        db.session.flush()
    except StaleDataError as error:
        raise BatchChanged() from error


# ---- What the batch keeps: the preview and the progress ------------------------------------------


# One letter per action, for the string of every row's action the preview keeps.
LETTERS = {"create": "c", "update": "u", "unchanged": "n", "duplicate": "d", "error": "e"}


@dataclass
class Preview:
    """The outcome of checking the rows not imported yet: each row's, and the counts by action.

    Kept on the batch as the counts, one letter per row for its action, and each row's outcome as
    a line of JSON, all lines in one string: a page of 20 000 rows then decodes one string and the
    hundred lines it shows (decoding 20 000 nested lists took 50–100 ms a page)."""

    counts: dict[str, int]
    missing: list[str]  # required fields no column is mapped to
    actions: str  # LETTERS of each row, in file order
    lines: str  # each row's RowResult.cached() as JSON, one a line
    checked_at: datetime | None = None
    first: int = 0  # rows of the file before these were imported already

    @classmethod
    def of(cls, rows: list[RowResult], missing: list[str], first: int) -> "Preview":
        counts = Counter(row.action for row in rows)
        return cls(
            counts={action: counts[action] for action in ACTIONS},
            missing=missing,
            actions="".join(LETTERS[row.action] for row in rows),
            lines="\n".join(json.dumps(row.cached(), ensure_ascii=False) for row in rows),
            checked_at=utcnow(),
            first=first,
        )

    def count(self, action: str) -> int:
        return self.counts.get(action, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def error_count(self) -> int:
        return self.count("error")

    @property
    def ready(self) -> bool:
        return not self.missing and not self.error_count

    def cached(self) -> dict:
        return {
            "counts": self.counts,
            "missing": self.missing,
            "actions": self.actions,
            "lines": self.lines,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "first": self.first,
        }

    @classmethod
    def from_cache(cls, cache: dict) -> "Preview":
        checked_at = datetime.fromisoformat(cache["checked_at"]) if cache.get("checked_at") else None
        return cls(
            cache["counts"],
            cache["missing"],
            cache["actions"],
            cache["lines"],
            checked_at,
            cache.get("first", 0),
        )

    def page(self, action: str | None, number: int, per_page: int = PAGE_ROWS) -> tuple[list[RowResult], int]:
        """The rows of page `number` (from 1) among those of `action` (all if None), and how many
        there are; only the page's rows are decoded."""
        if action:
            letter = LETTERS[action]
            positions = [i for i, found in enumerate(self.actions) if found == letter]
        else:
            positions = range(len(self.actions))
        start = (number - 1) * per_page
        shown = positions[start : start + per_page]
        if not shown:
            return [], len(positions)
        lines = self.lines.split("\n")
        return [RowResult.from_cache(json.loads(lines[i])) for i in shown], len(positions)


COUNTS = ("created", "updated", "unchanged", "skipped")


@dataclass
class Progress:
    """How far the import of a batch got (kept in its result)."""

    total: int
    done: int = 0  # rows of the file imported (or skipped) so far, from the first
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    run: str | None = None  # the token of the run importing it now
    beat: datetime | None = None  # when that run last committed a chunk (or started)
    stopped: str | None = None  # why the last run stopped before the end (a problem, a lost race)

    @classmethod
    def of(cls, batch: ImportBatch) -> "Progress":
        result = batch.result or {}
        beat = result.get("beat")
        return cls(
            total=result.get("total", 0),
            done=result.get("done", 0),
            counts={key: result.get(key, 0) for key in COUNTS},
            run=result.get("run"),
            beat=datetime.fromisoformat(beat) if beat else None,
            stopped=result.get("stopped"),
        )

    @property
    def started(self) -> bool:
        return self.done > 0

    def running(self, now: datetime | None = None) -> bool:
        """Whether a run holds the batch and was heard of lately."""
        return bool(self.run and self.beat and (now or utcnow()) - self.beat < RUN_TIMEOUT)

    def stored(self) -> dict:
        return {
            "total": self.total,
            "done": self.done,
            **self.counts,
            "run": self.run,
            "beat": self.beat.isoformat() if self.beat else None,
            "stopped": self.stopped,
        }


def cached_preview(batch: ImportBatch) -> Preview | None:
    """The preview kept on the batch, if a check of its rows is kept."""
    cache = (batch.result or {}).get("preview")
    return Preview.from_cache(cache) if cache else None


def samples(batch: ImportBatch) -> list[list[str]]:
    """The first rows' cells, shown beside each column when mapping."""
    kept = (batch.result or {}).get("samples")
    return kept if kept is not None else [row[1:] for row in batch.rows[:3]]


# ---- Verbs before the import ---------------------------------------------------------------------


FILENAME_LENGTH = 128  # ImportBatch.filename


def clean_filename(filename: str | None) -> str:
    """An upload's name as kept on its batch: the last part of a path (old browsers send the whole
    one), without control or format characters (a NUL cannot be stored on PostgreSQL; a right-to-left
    override would disguise the extension; a lone surrogate cannot be encoded), within the column's
    length with the extension kept; Chinese and other letters as they are."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split())  # tabs and line breaks (controls too) become single spaces
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs")).strip()
    if len(name) > FILENAME_LENGTH:
        _, dot, extension = name.rpartition(".")
        tail = dot + extension if dot and len(extension) <= 10 else ""
        name = name[: FILENAME_LENGTH - len(tail) - 1] + "…" + tail
    return name or "未命名文件"


def start_import(kind: str, filename: str, data: bytes, user: User) -> ImportBatch:
    """A pending batch holding the file's cells, with the columns mapped from their headers and
    every row checked."""
    if kind not in FIELDS:
        raise ImportProblem("请选择导入内容：企业、招商线索或招商活动")
    _check_importer(user, kind)
    filename = clean_filename(filename)
    table = read_table(filename, data, kind)
    batch = ImportBatch(
        kind=kind,
        filename=filename,
        created_by=user,
        headers=table.headers,
        header_row=table.header_row,
        rows=table.rows,
        mapping=guess_mapping(kind, table.headers),
        create_duplicates=False,
        status="pending",
        result={"total": len(table.rows), "samples": [row[1:] for row in table.rows[:3]]},
        version=1,
    )
    db.session.add(batch)
    _keep_preview(batch, user)
    return batch


def check_rows(batch: ImportBatch, user: User) -> Preview:
    """Check every row not imported yet as confirm would, writing nothing."""
    first = Progress.of(batch).done
    rows = batch.rows[first:]
    checks = checks_for(batch, user)
    seen: dict[str, int] = {}
    results: list[RowResult] = []
    with db.session.no_autoflush, remembered_lookups():
        for start in range(0, len(rows), CHECK_ROWS):
            results += checks.check(rows[start : start + CHECK_ROWS], seen)
    return Preview.of(results, missing_fields(batch), first)


def _keep_preview(batch: ImportBatch, user: User) -> Preview:
    preview = check_rows(batch, user)
    batch.result = {**(batch.result or {}), "preview": preview.cached()}
    _flush_batch()
    return preview


def refresh_preview(batch: ImportBatch, user: User) -> Preview:
    """Check the rows not imported yet again (the firms on file may have changed) and keep it."""
    if batch.status != "pending":
        raise ImportProblem(f"该批次{batch.status_label}，无需重新检查")
    if Progress.of(batch).running():
        raise ImportProblem("该批次正在导入中，请稍候刷新本页查看进度")
    return _keep_preview(batch, user)


def set_mapping(batch: ImportBatch, mapping: dict[str, str], create_duplicates: bool, user: User) -> Preview:
    """Save which column fills which field (a field may be filled by one column only), and check
    every row under it."""
    if batch.status != "pending":
        raise ImportProblem("该批次已处理，不能再修改")
    progress = Progress.of(batch)
    if progress.started or progress.running():
        raise ImportProblem("该批次已开始导入，不能再修改列对应关系；其余的行可以继续导入")
    known = {f.key: f.label for f in FIELDS[batch.kind]}
    clean: dict[str, str] = {}
    for column, key in mapping.items():
        if not key:
            continue
        if key not in known or not column.isdigit() or int(column) >= len(batch.headers):
            raise ImportProblem("列对应关系无效，请重新选择")
        if key in clean.values():
            raise ImportProblem(f"“{known[key]}”只能对应一列，请检查列对应关系")
        clean[column] = key
    batch.mapping = clean
    batch.create_duplicates = bool(create_duplicates)
    return _keep_preview(batch, user)


def cancel_import(batch: ImportBatch) -> Progress:
    """Drop a pending batch (the rows not imported yet): its cells are not kept once dropped."""
    if batch.status != "pending":
        raise ImportProblem(f"该批次{batch.status_label}，不能取消")
    progress = Progress.of(batch)
    progress.run = progress.beat = None
    batch.status = "cancelled"
    batch.rows = []
    batch.result = progress.stored()
    _flush_batch()
    return progress


# ---- The import ----------------------------------------------------------------------------------


def begin_import(batch: ImportBatch, user: User, seen_version: int) -> str:
    """Claim a batch for a run of its import (or the rest of it); the run's token.

    Refused if the mapping changed since the user saw the preview, if any row not imported yet
    has a problem, or while another run is importing it."""
    if batch.status != "pending":
        raise ImportProblem(f"该批次{batch.status_label}，不能再次导入")
    _check_importer(user, batch.kind)
    progress = Progress.of(batch)
    if progress.running():
        raise ImportProblem(
            f"该批次正在导入中（已处理 {progress.done} / {progress.total} 行），请稍候刷新本页查看进度"
        )
    if seen_version != batch.version:
        raise ImportProblem("列对应关系在您查看预览后已被修改，请重新核对预览后再确认导入")
    missing = missing_fields(batch)
    if missing:
        raise ImportProblem(f"还没有对应到必填项：{'、'.join(missing)}")
    preview = cached_preview(batch)
    if preview is None and not progress.started:  # a batch uploaded before previews were kept
        preview = check_rows(batch, user)
    if preview is not None and preview.error_count:
        if progress.started:
            raise ImportProblem(
                f"未导入的行中有 {preview.error_count} 行存在问题，请查看预览；已导入的行不受影响"
            )
        raise ImportProblem(f"有 {preview.error_count} 行存在问题，请修改文件后重新上传；本次未导入任何数据")
    # Claim the batch first: a second confirm racing this one (a double click, another tab) fails
    # on the batch's version here, before it writes a single row.
    progress.total = progress.total or len(batch.rows)
    progress.run, progress.beat, progress.stopped = secrets.token_hex(8), utcnow(), None
    # The preview stays until the first chunk is written (each chunk is checked again as it is
    # written, and rewrites the batch row without it): a run refused before that leaves the batch
    # with its preview, not with a page that would check every row again on each view.
    batch.result = {**(batch.result or {}), **progress.stored()}
    _flush_batch()
    return progress.run


def _lock_chunk(batch: ImportBatch, rows: list[list[str]]) -> None:
    """Hold, until the chunk commits, what makes its checks true when it writes: the locks that
    create_enterprise takes, for every name of the chunk at once (SQLite: its write lock)."""
    column = next((int(c) for c, key in batch.mapping.items() if key == "name"), None)
    names = set()
    if batch.kind == "enterprises" and column is not None:
        names = {row[1 + column].strip() for row in rows if row[1 + column].strip()}
    serialise(*(name_lock(name) for name in names))


def _number_new_firms(records: list) -> None:
    """On SQLite, give the chunk's new firms their ids: SQLAlchemy inserts rows whose ids the
    database generates one INSERT each on SQLite (nothing ties RETURNING rows to parameter sets
    there), but rows with ids in one executemany. Safe only because the chunk holds SQLite's single
    write lock (_lock_chunk): no other insert can take these ids. PostgreSQL batches them as they are."""
    firms = [record for record in records if isinstance(record, Enterprise)]
    if not firms or db.session.get_bind().dialect.name != "sqlite":
        return
    top = db.session.scalar(select(func.max(Enterprise.id))) or 0
    for offset, firm in enumerate(firms, 1):
        firm.id = top + offset


def _own_run(batch: ImportBatch, run: str) -> Progress:
    progress = Progress.of(batch)
    if batch.status == "cancelled":
        raise ImportProblem("该批次已被取消，其余的行不再导入")
    if batch.status != "pending" or progress.run != run:
        raise BatchChanged()
    return progress


def _trace(batch: ImportBatch, before: int, after: int, created: list[int], updated: list[int]) -> None:
    """An audit entry on the batch naming the records a chunk created and updated: each record's
    own entry says who and when, this one which import. (The batch's result and version are hidden
    from the log: the preview and progress they hold change with every check and chunk.)"""
    record_event(
        "update",
        ImportBatch.__tablename__,
        str(batch.id),
        {"imported_rows": before},
        {"imported_rows": after, "created_ids": created, "updated_ids": updated},
    )


def import_chunk(
    batch_id: int, user: User, run: str, rows: list[list[str]], seen: dict[str, int]
) -> Progress:
    """Check and write the next CHUNK_ROWS rows of a batch this run holds, with its progress, in
    the caller's transaction; the progress after it. Refused, writing nothing, if a row has a problem."""
    with remembered_lookups():  # districts and catalogue entries: read once for the chunk
        batch = db.session.get(ImportBatch, batch_id)
        first = _own_run(batch, run).done
        chunk = rows[first : first + CHUNK_ROWS]
        _lock_chunk(batch, chunk)
        db.session.refresh(batch, ["status", "result", "mapping", "create_duplicates", "version"])
        progress = _own_run(batch, run)  # as it is now that the chunk holds its locks
        if progress.done != first:
            raise BatchChanged()
        with db.session.no_autoflush:
            results = checks_for(batch, user).check(chunk, seen)
            problem = next((row for row in results if row.problems), None)
            if problem is not None:
                column, message = problem.problems[0]
                raise ImportProblem(f"第 {problem.number} 行 · {column}：{message}")
            written = [(row, row.apply()) for row in results if row.apply is not None]
            _number_new_firms([record for row, record in written if row.action != "update"])
        db.session.flush()
    created = [record.id for row, record in written if row.action != "update"]
    updated = [record.id for row, record in written if row.action == "update"]
    progress.counts["created"] += len(created)
    progress.counts["updated"] += len(updated)
    progress.counts["unchanged"] += sum(1 for row in results if row.action == "unchanged")
    progress.counts["skipped"] += sum(1 for row in results if row.apply is None and row.action != "unchanged")
    progress.done = first + len(chunk)
    progress.beat = utcnow()
    _trace(batch, first, progress.done, created, updated)
    if progress.done >= len(rows):
        batch.status = "applied"
        batch.applied_at = progress.beat
        progress.run = progress.beat = None
        kept = ("total", "done", "samples", *COUNTS)  # the samples: the page need not load the rows
        batch.result = {
            key: value for key, value in {**batch.result, **progress.stored()}.items() if key in kept
        }
    else:
        batch.result = {**progress.stored(), "samples": (batch.result or {}).get("samples", [])}
    _flush_batch()
    return progress


def end_run(batch_id: int, run: str, why: str | None = None) -> None:
    """Let go of a batch a run held (stopped by a problem `why`, or by its time budget)."""
    batch = db.session.get(ImportBatch, batch_id)
    progress = Progress.of(batch)
    if batch.status != "pending" or progress.run != run:
        return
    progress.run, progress.beat, progress.stopped = None, None, why
    batch.result = {**(batch.result or {}), **progress.stored()}
    _flush_batch()


@dataclass
class ImportRun:
    """What a confirm request did: the batch's progress after it, and whether it finished, was
    refused at the start, stopped on a problem, or used up its time (the rest waits)."""

    progress: Progress
    refusal: Refusal | None = None  # refused before importing anything in this request
    stopped: Refusal | None = None  # a chunk was refused: the rows before it stay imported
    finished: bool = False


def _pause() -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        time.sleep(SQLITE_PAUSE)


def run_import(batch_id: int, user: User, seen_version: int, seconds: float | None = None) -> ImportRun:
    """Confirm a batch: claim it, then import it chunk after chunk until every row is in, a chunk
    is refused, or `seconds` have passed. Each chunk is committed on its own (through
    crm.core.transaction.commit, as a page's change is): an import is the one verb that must commit
    as it goes, so that other users' saves get in between its chunks."""
    if seconds is None:
        seconds = current_app.config.get("IMPORT_CONFIRM_SECONDS", CONFIRM_SECONDS)
    deadline = time.monotonic() + seconds
    claimed = commit(lambda: begin_import(db.session.get(ImportBatch, batch_id), user, seen_version))
    if not claimed.ok:
        return ImportRun(Progress.of(db.session.get(ImportBatch, batch_id)), refusal=claimed.error)
    run = claimed.value
    rows = db.session.scalar(select(ImportBatch.rows).where(ImportBatch.id == batch_id))
    seen: dict[str, int] = {}
    while True:
        chunk = commit(partial(import_chunk, batch_id, user, run, rows, seen))
        if not chunk.ok:
            commit(partial(end_run, batch_id, run, str(chunk.error)))
            return ImportRun(Progress.of(db.session.get(ImportBatch, batch_id)), stopped=chunk.error)
        progress = chunk.value
        if progress.done >= len(rows):
            return ImportRun(progress, finished=True)
        if time.monotonic() >= deadline:
            commit(partial(end_run, batch_id, run))
            return ImportRun(progress)
        _pause()
