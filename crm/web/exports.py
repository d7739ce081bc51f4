"""Files of the bureau's data sent to a user: each one is noted in the audit log first."""

import io
from collections.abc import Iterable
from typing import Any

from flask import Response, request, send_file

from crm.audit.access import record_export
from crm.core.excel import XLSX, Column, xlsx_bytes
from crm.core.transaction import commit


def _conditions() -> str:
    """The list's filters as people read them (q=石墨烯, not the URL's %E7%9F%B3…)."""
    return "&".join(f"{key}={value}" for key, value in request.args.items(multi=True))


def send_export(table_name: str, data: bytes, rows: int, download_name: str, mimetype: str = XLSX, **kwargs):
    """Send `data` (a file of `rows` records of `table_name`) as a download, noted in the audit log."""
    commit(lambda: record_export(table_name, download_name, rows, _conditions()))
    return send_file(io.BytesIO(data), mimetype=mimetype, download_name=download_name, **kwargs)


def send_xlsx(
    table_name: str, title: str, columns: list[Column], rows: Iterable[Any], download_name: str
) -> Response:
    """A list as an Excel download (all pages, the list's filters and scope), noted in the audit log."""
    rows = list(rows)
    data = xlsx_bytes(title, columns, rows)
    return send_export(table_name, data, len(rows), download_name, as_attachment=True)
