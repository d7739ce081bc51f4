"""Reading an uploaded XLSX or CSV into a header row and rows of text cells.

Everything becomes text here, so the preview and the confirmed import see exactly the same values
(and JSON can keep them between the two)."""

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl import load_workbook

from crm.imports.fields import field_for_header

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 80
MAX_CELL = 5000
HEADER_SEARCH = 10  # exports often start with a title line or two before the header


class FileProblem(ValueError):
    """The file cannot be read as a table; the message says why, in Chinese."""


@dataclass
class Table:
    headers: list[str]
    header_row: int  # 1-based row number of the header in the file
    rows: list[list[str]]  # each: [row number in the file, cell, cell, …]


def cell_text(value) -> str:
    """A cell as text: dates as ISO dates, whole floats without “.0”, booleans as 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(data: bytes):
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as error:
        raise FileProblem("无法读取该 Excel 文件，文件可能已损坏或不是 .xlsx 格式") from error
    try:
        sheet = book.active
        if sheet is None:
            raise FileProblem("Excel 文件中没有工作表")
        for values in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + HEADER_SEARCH + 1):
            yield [cell_text(v) for v in values[:MAX_COLUMNS]]
    except FileProblem:
        raise
    except Exception as error:  # openpyxl raises many kinds on malformed sheets
        raise FileProblem("无法读取该 Excel 文件的内容，请在 Excel 中另存为 .xlsx 后重试") from error
    finally:
        book.close()


def _csv_rows(data: bytes):
    if b"\x00" in data[:4096]:
        raise FileProblem("该文件不是电子表格（应为 .xlsx 或 .csv）")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码")
    sample = text[:4096]
    delimiter = max(",\t;，", key=sample.count) if sample else ","
    if delimiter == "，":
        delimiter = ","
    try:
        for values in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield [v.strip() for v in values[:MAX_COLUMNS]]
    except csv.Error as error:
        raise FileProblem(f"CSV 文件格式有误：{error}") from error


def read_table(filename: str, data: bytes, kind: str) -> Table:
    """The header row and the data rows of an uploaded file (blank rows dropped)."""
    if not data:
        raise FileProblem("上传的文件是空的")
    if len(data) > MAX_BYTES:
        raise FileProblem(
            f"文件太大（{len(data) // 1024} KB），单次导入不超过 {MAX_BYTES // 1024 // 1024} MB"
        )
    lower = filename.lower()
    if data[:4] == b"\xd0\xcf\x11\xe0" or lower.endswith(".xls"):
        raise FileProblem("不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后再导入")
    if data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data)
    elif lower.endswith((".csv", ".txt")):
        rows = _csv_rows(data)
    else:
        raise FileProblem("只能导入 .xlsx 或 .csv 文件")
    numbered = []
    for number, values in enumerate(rows, 1):
        if any(values):
            if any(len(v) > MAX_CELL for v in values):
                raise FileProblem(f"第 {number} 行有单元格超过 {MAX_CELL} 个字符，请检查文件")
            numbered.append((number, values))
        if len(numbered) > MAX_ROWS + HEADER_SEARCH:
            raise FileProblem(f"文件行数超过上限：单次导入不超过 {MAX_ROWS} 行，请分批导入")
    if not numbered:
        raise FileProblem("文件中没有数据")
    header_at = 0
    for index, (_, values) in enumerate(numbered[:HEADER_SEARCH]):
        if sum(1 for v in values if field_for_header(kind, v)) >= 2:
            header_at = index
            break
    header_number, header_values = numbered[header_at]
    headers = [v or f"第{i + 1}列" for i, v in enumerate(header_values)]
    body = numbered[header_at + 1 :]
    if not body:
        raise FileProblem("文件只有表头，没有数据行")
    if len(body) > MAX_ROWS:
        raise FileProblem(f"文件行数超过上限：单次导入不超过 {MAX_ROWS} 行，请分批导入")
    width = len(headers)
    rows = [[str(number), *(values + [""] * width)[:width]] for number, values in body]
    return Table(headers=headers, header_row=header_number, rows=rows)
