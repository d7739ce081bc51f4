"""Files of the bureau's data sent to a user: each one is noted in the audit log first.

A list's export is read from the database a chunk at a time and written as it is read into a file
that stays in memory while small and moves to a temporary file on disk beyond SPOOL_BYTES; that
file is then sent in pieces. So neither the rows nor the workbook are ever held whole, and the
audit entry records the rows actually written before the first byte leaves."""

import io
import os
import tempfile
from collections.abc import Iterable
from typing import IO, Any

from flask import Response, request, send_file
from sqlalchemy import ScalarResult, Select
from sqlalchemy.orm import lazyload, load_only, selectinload

from crm.audit.access import record_export
from crm.core.excel import XLSX, Column, Sheet, TooManyRows, write_xlsx
from crm.core.inputs import InvalidInput
from crm.core.transaction import commit
from crm.extensions import db
from crm.industry.models import CatalogueEntry

EXPORT_CHUNK = 1000  # rows read per fetch; each relationship a column needs is loaded per chunk
SPOOL_BYTES = 4 * 1024 * 1024  # a workbook larger than this goes to a temporary file on disk


class _Spool(tempfile.SpooledTemporaryFile):
    """The workbook being sent: in memory up to SPOOL_BYTES, then a temporary file on disk."""

    def __del__(self):
        # A WSGI server closes the response, and with it this file, once sent (PEP 3333); what a
        # test client never closes is closed when collected, as the BytesIO sent before was,
        # instead of warning about it.
        self.close()


def _conditions() -> str:
    """The list's filters as people read them (q=石墨烯, not the URL's %E7%9F%B3…)."""
    return "&".join(f"{key}={value}" for key, value in request.args.items(multi=True))


def streamed(stmt: Select) -> ScalarResult:
    """The ORM rows of `stmt`, fetched EXPORT_CHUNK at a time: the relationships in the statement's
    selectinload options are loaded once per chunk, and a written chunk's objects can be freed.
    (On PostgreSQL a server-side cursor: send_xlsx closes it, read to the end or not.)"""
    return db.session.scalars(stmt.execution_options(yield_per=EXPORT_CHUNK))


def entry_codes(relationship):
    """The load option for a relationship to catalogue entries when an export shows their codes
    only: per chunk, the codes alone (an entry's whole row and its product were most of the time)."""
    return selectinload(relationship).options(
        load_only(CatalogueEntry.code), lazyload(CatalogueEntry.product)
    )


def send_export(
    table_name: str, data: bytes | IO[bytes], rows: int, download_name: str, mimetype: str = XLSX, **kwargs
):
    """Send `data` (a file of `rows` records of `table_name`: bytes, or a binary file positioned
    anywhere) as a download, noted in the audit log."""
    commit(lambda: record_export(table_name, download_name, rows, _conditions()))
    file = io.BytesIO(data) if isinstance(data, bytes) else data
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    response = send_file(file, mimetype=mimetype, download_name=download_name, **kwargs)
    # send_file knows the size of BytesIO only; a spooled file's is told here, so a browser shows
    # the download's progress.
    response.content_length = size
    return response


def send_xlsx(
    table_name: str, title: str, columns: list[Column], rows: Iterable[Any], download_name: str
) -> Response:
    """A list as an Excel download (all pages, the list's filters and scope), noted in the audit log.

    `rows` is read once, as it comes (pass `streamed(stmt)` for a list of any length)."""
    return send_workbook(table_name, [(title, columns, rows)], download_name)


def send_workbook(table_name: str, sheets: list[Sheet], download_name: str) -> Response:
    """A workbook of several sheets (a report: its rows, then its summaries), noted in the audit
    log with the rows of its first sheet."""
    file = _Spool(max_size=SPOOL_BYTES)
    try:
        count, *_ = write_xlsx(file, sheets)
    except TooManyRows as error:
        file.close()
        raise InvalidInput(str(error)) from error  # a Chinese 400, not the page of a bug
    except BaseException:
        file.close()
        raise
    finally:
        for _, _, rows in sheets:
            if isinstance(rows, ScalarResult):
                rows.close()  # a cursor left half read (a refusal) would stay open on the server
    try:
        return send_export(table_name, file, count, download_name, as_attachment=True)
    except BaseException:
        file.close()
        raise
