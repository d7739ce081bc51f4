"""Reading an uploaded XLSX or CSV into a header row and rows of text cells.

Everything becomes text here, so the preview and the confirmed import see exactly the same values
(and JSON can keep them between the two)."""

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl import load_workbook

from crm.core.inputs import has_control_chars
from crm.core.transaction import Refusal
from crm.imports.fields import field_for_header

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 80
MAX_CELL = 5000
# The cells of all rows together. An .xlsx stores a repeated text once (shared strings), so a file
# far below MAX_BYTES can unfold into billions of characters: this bounds memory and the batch row.
MAX_TOTAL_CHARS = 10_000_000
# Lines read in all, blank ones included: blank rows do not count toward MAX_ROWS, but a sheet that
# claims a million (mostly empty) rows must not be walked to its end.
MAX_LINES = 100_000
HEADER_SEARCH = 10  # exports often start with a title line or two before the header
DELIMITERS = (",", "\t", ";")


class FileProblem(Refusal):
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
        # No max_row here: blank rows between the data would push the last rows past it and they
        # would be dropped without a word; read_table stops at MAX_ROWS of data and MAX_LINES.
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield [cell_text(v) for v in values]
    except FileProblem:
        raise
    except Exception as error:  # openpyxl raises many kinds on malformed sheets
        raise FileProblem("无法读取该 Excel 文件的内容，请在 Excel 中另存为 .xlsx 后重试") from error
    finally:
        book.close()


def _delimiter(text: str, kind: str) -> str:
    """The delimiter that makes a header row of known column names; else the most frequent one in
    the first lines. Counting alone misleads: a semicolon file whose cells hold commas (产品 a,b,c)."""
    head = text.splitlines()[:HEADER_SEARCH]
    best, best_known = None, 1
    for delimiter in DELIMITERS:
        try:
            lines = list(csv.reader(head, delimiter=delimiter))
        except csv.Error:  # a quoted cell running over the sampled lines: this guess cannot tell
            continue
        for values in lines:
            known = sum(1 for v in values if field_for_header(kind, v))
            if known > best_known:
                best, best_known = delimiter, known
    if best:
        return best
    sample = "\n".join(head)
    return max(DELIMITERS, key=sample.count)


def _csv_rows(data: bytes, kind: str):
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
    # Universal newlines: old Mac files end lines with a bare CR, which csv refuses (in English).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = _delimiter(text, kind)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for values in reader:
            yield [v.strip() for v in values[:MAX_COLUMNS]]
    except csv.Error as error:  # its messages are English: say where, in Chinese
        message = f"CSV 文件第 {reader.line_num} 行格式有误，请在 Excel 中另存为 CSV 后重试"
        raise FileProblem(message) from error


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
        rows = _csv_rows(data, kind)
    else:
        raise FileProblem("只能导入 .xlsx 或 .csv 文件")
    numbered = []
    total = 0
    too_many = f"文件行数超过上限：单次导入不超过 {MAX_ROWS} 行，请分批导入"
    for number, values in enumerate(rows, 1):
        if number > MAX_LINES:
            raise FileProblem(too_many)
        if any(values):
            if any(len(v) > MAX_CELL for v in values):
                raise FileProblem(f"第 {number} 行有单元格超过 {MAX_CELL} 个字符，请检查文件")
            # Refused here, for every column: a NUL would reach lookups (owner, enterprise name)
            # that no text check guards, and PostgreSQL cannot take it.
            if any(has_control_chars(v) for v in values):
                raise FileProblem(f"第 {number} 行含有无效的控制字符（如 NUL），请检查文件")
            total += sum(len(v) for v in values)
            if total > MAX_TOTAL_CHARS:
                raise FileProblem("文件内容过多（单元格文字合计超过 1000 万字），请分批导入")
            while values and not values[-1]:
                values.pop()  # trailing blank cells: a row is as wide as its last filled cell
            numbered.append((number, values))
        if len(numbered) > MAX_ROWS + HEADER_SEARCH:
            raise FileProblem(too_many)
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
    # A row longer than the header keeps its extra cells, under columns named by position, so the
    # mapping step shows them (an unquoted comma that shifted a row is visible, not silently cut).
    width = max(len(headers), *(len(values) for _, values in body))
    headers += [f"第{i + 1}列" for i in range(len(headers), width)]
    rows = [[str(number), *(values + [""] * width)[:width]] for number, values in body]
    return Table(headers=headers, header_row=header_number, rows=rows)
