"""Reading an uploaded XLSX or CSV into a header row and rows of text cells.

Everything becomes text here, so the preview and the confirmed import see exactly the same values
(and JSON can keep them between the two). The reading runs in a child process within a memory and
time budget (crm.imports.budget); an .xlsx is read by our own bounded streaming reader
(crm.imports.xlsx); the limits, and what each guards against, are in crm.imports.limits."""

import codecs
import csv
import io
import logging
from dataclasses import dataclass

from crm.core.inputs import has_control_chars
from crm.imports.budget import Outcome, run_bounded
from crm.imports.fields import field_for_header
from crm.imports.limits import (
    HEADER_SEARCH,
    MAX_BYTES,
    MAX_CELL,
    MAX_COLUMNS,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_ROWS,
    MAX_TOTAL_CHARS,
    FileProblem,
)
from crm.imports.xlsx import xlsx_rows

__all__ = ["FileProblem", "Table", "read_in_child", "read_table"]

logger = logging.getLogger(__name__)
DELIMITERS = (",", "\t", ";")
# The codecs a CSV may be checked against, looked up here: in the reading child an import of a codec
# module could wait on a lock some other thread of the parent held when it forked.
for _codec in ("utf-8-sig", "gb18030", "gb2312", "cp950", "cp932"):
    codecs.lookup(_codec)
# Telling a Big5 or Shift-JIS file from GBK: GBK (via gb18030) decodes nearly any bytes, so a CSV
# saved in Taiwan, Hong Kong or Japan came in as garbled text. Real GBK text from China is almost all
# GB2312 characters (the common hanzi and punctuation); Big5 read as GBK gives about 20–35 % of
# them (kana, private-use and rare extension characters fill the rest), Shift-JIS almost none.
# The first lines are judged, up to this many bytes; the delimiter is guessed from as much of each
# of the first lines.
SAMPLE_BYTES = 64 * 1024
SAMPLE_CHARS = 20_000  # non-ASCII characters judged at most
MIN_JUDGED = 4  # fewer non-ASCII characters than this: too little to tell, taken as GBK
GBK_PLAUSIBLE = 0.7  # share of GB2312 characters at or above which the file is GBK, whatever else
FOREIGN_PLAUSIBLE = 0.9  # share of ordinary characters a clean Big5 or Shift-JIS decoding must show


@dataclass
class Table:
    headers: list[str]
    header_row: int  # 1-based row number of the header in the file
    rows: list[list[str]]  # each: [row number in the file, cell, cell, …]


def _delimiter(text: str, kind: str) -> str:
    """The delimiter that makes a header row of known column names; else the most frequent one in
    the first lines. Counting alone misleads: a semicolon file whose cells hold commas (产品 a,b,c)."""
    # Not all lines (a file may hold millions), nor all of a line (one may hold millions of commas).
    head = [line[:SAMPLE_BYTES] for line in text.split("\n", HEADER_SEARCH)[:HEADER_SEARCH]]
    best, best_known = None, 1
    for delimiter in DELIMITERS:
        try:
            lines = list(csv.reader(head, delimiter=delimiter))
        except csv.Error:  # a quoted cell running over the sampled lines: this guess cannot tell
            continue
        for values in lines:
            known = sum(1 for v in values[:MAX_COLUMNS] if field_for_header(kind, v))
            if known > best_known:
                best, best_known = delimiter, known
    if best:
        return best
    sample = "\n".join(head)
    return max(DELIMITERS, key=sample.count)


def _share(text: str, ordinary) -> float | None:
    """The share of the non-ASCII characters of text that `ordinary` accepts; None if too few."""
    judged = [c for c in text if c > "\x7f"][:SAMPLE_CHARS]
    if len(judged) < MIN_JUDGED:
        return None
    verdicts: dict[str, bool] = {}
    good = 0
    for char in judged:
        verdict = verdicts.get(char)
        if verdict is None:
            verdict = verdicts[char] = ordinary(char)
        good += verdict
    return good / len(judged)


def _gb2312_common(char: str) -> bool:
    """A GB2312 hanzi (rows B0–F7) or punctuation and full-width form (rows A1–A3)."""
    try:
        lead = char.encode("gb2312")[0]
    except UnicodeEncodeError:
        return False
    return 0xA1 <= lead <= 0xA3 or 0xB0 <= lead <= 0xF7


def _big5_common(char: str) -> bool:
    """A Big5 symbol (rows A1–A3) or hanzi (A4–C6 frequent, C9–F9 less frequent)."""
    try:
        lead = char.encode("cp950")[0]
    except UnicodeEncodeError:
        return False
    return 0xA1 <= lead <= 0xC6 or 0xC9 <= lead <= 0xF9


def _japanese_common(char: str) -> bool:
    """Kana, kanji, Japanese punctuation or a full-width form (not half-width kana: Big5 bytes
    read as Shift-JIS come out as those)."""
    point = ord(char)
    return 0x3000 <= point <= 0x30FF or 0x4E00 <= point <= 0x9FFF or 0xFF01 <= point <= 0xFF60


def _foreign_encoding(data: bytes, text: str) -> str | None:
    """The name of the encoding a CSV that decoded as gb18030 was really saved in, when it is
    implausible as GBK Chinese but reads cleanly, and plausibly, as Big5 or Shift-JIS."""
    sample = data[:SAMPLE_BYTES]
    if len(data) > SAMPLE_BYTES:  # whole lines only: a newline is never part of a two-byte character
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    gbk = _share(text[: len(sample)], _gb2312_common)
    if gbk is None or gbk >= GBK_PLAUSIBLE:
        return None
    for codec, label, ordinary in (
        ("cp950", "繁体中文 Big5", _big5_common),
        ("cp932", "日文 Shift-JIS", _japanese_common),
    ):
        try:
            share = _share(sample.decode(codec), ordinary)
        except UnicodeDecodeError:
            continue
        if share is not None and share >= FOREIGN_PLAUSIBLE:
            return label
    return None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")  # Excel in China saves CSV as GBK
    except UnicodeDecodeError as error:
        raise FileProblem("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码") from error
    foreign = _foreign_encoding(data, text)
    if foreign:
        raise FileProblem(
            f"CSV 文件似乎是{foreign}编码，按简体中文读取会变成乱码。"
            "请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”后再导入"
        )
    return text


def _bounded_lines(text: str):
    """The lines of the text, each within MAX_LINE_CHARS: csv builds a whole line's cells at once."""
    for number, line in enumerate(io.StringIO(text), 1):
        if len(line) > MAX_LINE_CHARS:
            limit = MAX_LINE_CHARS // 10_000
            raise FileProblem(f"CSV 文件第 {number} 行超过 {limit} 万个字符，请在 Excel 中另存为 CSV 后重试")
        yield line


def _csv_rows(data: bytes, kind: str):
    if b"\x00" in data[:4096]:
        raise FileProblem("该文件不是电子表格（应为 .xlsx 或 .csv）")
    text = _decode(data)
    # Universal newlines: old Mac files end lines with a bare CR, which csv refuses (in English).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = _delimiter(text, kind)
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter)
    try:
        for values in reader:
            yield [v.strip() for v in values[:MAX_COLUMNS]]
    except csv.Error as error:  # its messages are English: say where, in Chinese
        message = f"CSV 文件第 {reader.line_num} 行格式有误，请在 Excel 中另存为 CSV 后重试"
        raise FileProblem(message) from error


def read_table(filename: str, data: bytes, kind: str) -> Table:
    """The header row and the data rows of an uploaded file (blank rows dropped). The file is read
    in a child process within a memory and time budget (crm.imports.budget)."""
    outcome = read_in_child(filename, data, kind)
    if outcome.refusal:
        if outcome.error:
            logger.warning("读取上传文件 %r 时子进程出错：%s", filename, outcome.error)
        raise FileProblem(outcome.refusal)
    headers, header_row, rows = outcome.value
    return Table(headers=headers, header_row=header_row, rows=rows)


def read_in_child(filename: str, data: bytes, kind: str) -> Outcome:
    """read_table's work and what it cost; refusals come back in the outcome, not raised, but for
    an empty or too big upload (refused before any child is started)."""
    if not data:
        raise FileProblem("上传的文件是空的")
    if len(data) > MAX_BYTES:
        raise FileProblem(
            f"文件太大（{len(data) // 1024} KB），单次导入不超过 {MAX_BYTES // 1024 // 1024} MB"
        )
    return run_bounded(_read, filename, data, kind)


def _read(filename: str, data: bytes, kind: str) -> tuple[list[str], int, list[list[str]]]:
    """In the child: the table as plain lists (they go back through marshal)."""
    lower = filename.lower()
    if data[:4] == b"\xd0\xcf\x11\xe0" or lower.endswith(".xls"):
        raise FileProblem("不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后再导入")
    if data[:4] == b"PK\x03\x04":
        rows = xlsx_rows(data)
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
    return headers, header_number, rows
