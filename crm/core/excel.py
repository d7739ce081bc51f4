"""Excel export shared by every list: Chinese headers, wrapped cells, no formula injection."""

import io
from collections.abc import Callable, Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Column = tuple[str, Callable[[Any], Any], int]  # header, value of a row, width


def xlsx_bytes(
    title: str,
    columns: list[Column],
    rows: Iterable[Any],
    extra_sheets: Iterable[tuple[str, list[Column], Iterable[Any]]] = (),
) -> bytes:
    """A workbook: one sheet per (title, columns, rows), each with a bold frozen header row."""
    book = Workbook()
    _fill(book.active, title, columns, rows)
    for sheet_title, sheet_columns, sheet_rows in extra_sheets:
        _fill(book.create_sheet(), sheet_title, sheet_columns, sheet_rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill(sheet, title: str, columns: list[Column], rows: Iterable[Any]) -> None:
    sheet.title = title[:31]
    sheet.append([header for header, _, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([value(row) for _, value, _ in columns])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            # Text that starts with = must stay text: Excel would run it as a formula.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for index, (_, _, width) in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
