"""Helpers the test modules share that are not fixtures: building spreadsheets and driving the
import pages."""

import io
import re

from openpyxl import Workbook

from crm.extensions import db
from crm.imports.models import ImportBatch


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, filename: str = "导出.xlsx", kind: str = "enterprises", **kwargs):
    return client.post(
        "/imports/",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def batch_of(response) -> ImportBatch:
    assert response.status_code == 302, response.text
    batch_id = int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))
    return db.session.get(ImportBatch, batch_id)
