"""Helpers the test modules share that are not fixtures: building spreadsheets, driving the
import pages, logging a browser in."""

import io
import re

from openpyxl import Workbook
from playwright.sync_api import expect

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


def browser_login(page, server: str, username: str, password: str) -> None:
    """Log Chromium in as `username` (whoever was logged in before), and wait for the page."""
    page.context.clear_cookies()
    page.goto(server + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()
