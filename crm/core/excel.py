"""Excel workbooks of every list, export and template: Chinese headers, wrapped cells, no formulas.

The workbook's XML is written here as the rows come, straight into the zip (SpreadsheetML, ECMA-376):
one row is in memory at a time, so a sheet of 100 000 firms costs what a sheet of ten does, and
writing it is several times quicker than openpyxl's cell objects (even in its write-only mode, which
holds the same bounded memory but spends ≈ 20 µs a styled cell). Reading stays openpyxl's (and
crm.imports'); the tests read every workbook written here back with both.
"""

import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter

from crm.core.timeutil import to_local

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Column = tuple[str, Callable[[Any], Any], int]  # header, value of a row, width
Sheet = tuple[str, list[Column], Iterable[Any]]  # title, columns, rows

MAX_ROWS = 1_048_576  # Excel's own limit, header included: a longer sheet would not open


class TooManyRows(ValueError):
    """More rows than a sheet holds; the message is Chinese and tells what to do."""


MAX_CELL_CHARS = 32_767  # Excel's limit for the text of one cell
FLUSH_ROWS = 256  # rows gathered before one write into the compressor
# XML 1.0 cannot carry these at all (openpyxl refuses them with IllegalCharacterError); a cell
# keeps the rest of its text.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text that Excel would take for a formula when someone edits the cell (=, and +, -, @ as Excel
# reads them too): such a cell carries quotePrefix, Excel's own “this is text” mark (the ' it
# shows in the formula bar), so it stays text even after an edit. Every text cell is written as
# text already: a workbook written here never contains a formula.
_FORMULA_START = ("=", "+", "-", "@")
# Excel's serial days count from here, right from 1900-03-01 on (Excel also counts a 29 February
# 1900 that never was); earlier days, which the 1900 date system cannot hold, go as ISO text.
_EXCEL_EPOCH = date(1899, 12, 30)
_FIRST_SERIAL_DAY = date(1900, 3, 1)
_BIGGEST_EXACT = 10**15  # Excel keeps 15 significant digits: longer integers go as text

# Cell formats (the s of a cell): their order is the <cellXfs> of STYLES below.
HEADER, TEXT, GUARDED_TEXT, INTEGER, DECIMAL, DAY, MOMENT = range(1, 8)
_TOP = '<alignment vertical="top"/>'
_WRAPPED = '<alignment vertical="top" wrapText="1"/>'
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="8">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">{_WRAPPED}</xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1" quotePrefix="1">'
    f"{_WRAPPED}</xf>"
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    f' applyAlignment="1">{_TOP}</xf>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    f' applyAlignment="1">{_TOP}</xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    f' applyAlignment="1">{_TOP}</xf>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    f' applyAlignment="1">{_TOP}</xf>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def xlsx_bytes(
    title: str,
    columns: list[Column],
    rows: Iterable[Any],
    extra_sheets: Iterable[Sheet] = (),
) -> bytes:
    """A small workbook in memory: one sheet per (title, columns, rows), each with a bold frozen header."""
    buffer = io.BytesIO()
    write_xlsx(buffer, [(title, columns, rows), *extra_sheets])
    return buffer.getvalue()


def write_xlsx(out: IO[bytes], sheets: list[Sheet]) -> list[int]:
    """Write a workbook of `sheets` into the binary file `out`, reading each sheet's rows once, one
    at a time; returns how many rows (header excluded) each sheet got."""
    counts = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as book:
        # The package's description first, as Excel writes it: file-type sniffers (libmagic, mail
        # and upload gateways) know a workbook by a first entry named [Content_Types].xml.
        _put(book, "[Content_Types].xml", _content_types(len(sheets)))
        _put(book, "_rels/.rels", _package_rels())
        _put(book, "xl/workbook.xml", _workbook([title for title, _, _ in sheets]))
        _put(book, "xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        _put(book, "xl/styles.xml", STYLES)
        for number, (_, columns, rows) in enumerate(sheets, 1):
            with book.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
                counts.append(_write_sheet(part, columns, rows, selected=number == 1))
    return counts


def _put(book: zipfile.ZipFile, name: str, text: str) -> None:
    # open(name, "w") dates every part 1980-01-01: the same rows give the same bytes.
    with book.open(name, "w") as part:
        part.write(text.encode())


def _write_sheet(part: IO[bytes], columns: list[Column], rows: Iterable[Any], selected: bool) -> int:
    letters = [get_column_letter(index) for index in range(1, len(columns) + 1)]
    widths = "".join(
        f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
        for index, (_, _, width) in enumerate(columns, 1)
    )
    header = "".join(
        f'<c r="{letter}1" s="{HEADER}" t="inlineStr"><is>{_text(heading)}</is></c>'
        for letter, (heading, _, _) in zip(letters, columns, strict=True)
    )
    tab = ' tabSelected="1"' if selected else ""
    part.write(
        (
            f'{_XML_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}">'
            f'<sheetViews><sheetView{tab} workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols>'
            f'<sheetData><row r="1">{header}</row>'
        ).encode()
    )
    getters = list(zip(letters, [value for _, value, _ in columns], strict=True))
    pending: list[str] = []
    written = 0
    for row in rows:
        written += 1
        if written >= MAX_ROWS:  # row 1 is the header
            raise TooManyRows(f"超过 Excel 单表上限（{MAX_ROWS - 1} 行），请缩小筛选范围后再导出。")
        number = str(written + 1)
        cells = "".join([_cell(letter + number, value(row)) for letter, value in getters])
        pending.append(f'<row r="{number}">{cells}</row>')
        if len(pending) >= FLUSH_ROWS:
            part.write("".join(pending).encode())
            pending.clear()
    pending.append("</sheetData></worksheet>")
    part.write("".join(pending).encode())
    return written


def _text(value: str) -> str:
    """The <t> of an inline string: XML-safe, within Excel's cell limit, spaces kept."""
    if NOT_XML.search(value):
        value = NOT_XML.sub("", value)
    if len(value) > MAX_CELL_CHARS:
        value = value[:MAX_CELL_CHARS]
    if value != value.strip():
        return f'<t xml:space="preserve">{escape(value)}</t>'
    return f"<t>{escape(value)}</t>"


def _string_cell(ref: str, value: str) -> str:
    if not value:
        return ""
    style = GUARDED_TEXT if value.startswith(_FORMULA_START) else TEXT
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is>{_text(value)}</is></c>'


def _cell(ref: str, value: Any) -> str:
    """One cell's XML ('' for an empty one): text, a number, a yes/no, a day or a moment."""
    kind = type(value)
    if kind is str:
        return _string_cell(ref, value)
    if value is None:
        return ""
    if kind is int:
        if -_BIGGEST_EXACT < value < _BIGGEST_EXACT:
            return f'<c r="{ref}" s="{INTEGER}"><v>{value}</v></c>'
        return _string_cell(ref, str(value))
    if kind is bool:
        return f'<c r="{ref}" s="{TEXT}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = to_local(value).replace(tzinfo=None)  # as the pages show it: Beijing time
        if value.date() < _FIRST_SERIAL_DAY:
            return _string_cell(ref, value.isoformat(sep=" ", timespec="minutes"))
        moment = value - datetime.combine(_EXCEL_EPOCH, time())
        return f'<c r="{ref}" s="{MOMENT}"><v>{moment.days + moment.seconds / 86400}</v></c>'
    if isinstance(value, date):
        if value < _FIRST_SERIAL_DAY:
            return _string_cell(ref, value.isoformat())
        return f'<c r="{ref}" s="{DAY}"><v>{(value - _EXCEL_EPOCH).days}</v></c>'
    if isinstance(value, Decimal | float) and math.isfinite(value):
        return f'<c r="{ref}" s="{DECIMAL}"><v>{value}</v></c>'
    if isinstance(value, str):
        return _string_cell(ref, str.__str__(value))  # a StrEnum member: its value
    return _string_cell(ref, str(value))


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet's name, and names longer than 31 characters.
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet"


def _workbook(titles: list[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(_sheet_title(title))} sheetId="{number}" r:id="rId{number}"/>'
        for number, title in enumerate(titles, 1)
    )
    return (
        f'{_XML_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>'
    )


def _workbook_rels(count: int) -> str:
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheets = "".join(
        f'<Relationship Id="rId{n}" Type="{kind}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{kind}/styles" Target="styles.xml"/>'
    return f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELS}">{sheets}{styles}</Relationships>'


def _package_rels() -> str:
    return (
        f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELS}"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )


def _content_types(count: int) -> str:
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{main}.worksheet+xml"/>'
        for n in range(1, count + 1)
    )
    return (
        f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{main}.styles+xml"/>'
        f"{sheets}</Types>"
    )
