"""Upload bombs: each is built here, in memory, a few MB at most (the biggest inflates to a GB), and
must be refused with a Chinese message within seconds and a few tens of MB of the reading child's
memory. Also the budget itself (memory, CPU, wall clock, no inherited descriptors) and a bomb through
the upload page. `python -m bench.upload_bombs` prints what each bomb costs."""

import io
import os
import random
import re
import struct
import time
import zipfile
import zlib
from typing import NamedTuple

import pytest
from sqlalchemy import func, select

from crm.core.transaction import Refusal
from crm.extensions import db
from crm.imports import xlsx
from crm.imports.budget import run_bounded
from crm.imports.limits import MAX_ROWS, MB, WALL_SECONDS
from crm.imports.models import ImportBatch
from crm.imports.reader import FileProblem, read_in_child, read_table
from tests.helpers import upload

SECONDS = 10  # generous: most bombs are refused in a few milliseconds
RESIDENT = 64 * MB  # what the reading child may add to its resident memory while refusing a bomb

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


class Entry(NamedTuple):
    """A zip entry's raw deflate stream, its CRC and its true size; `declared` is the size the
    directory states (a lying directory states less)."""

    compressed: bytes
    crc: int
    size: int
    declared: int


def deflated(data: bytes) -> Entry:
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = squeezer.compress(data) + squeezer.flush()
    return Entry(compressed, zlib.crc32(data), len(data), len(data))


def repeated(head: bytes, chunk: bytes, times: int, tail: bytes = b"") -> Entry:
    """head + chunk × times + tail, deflated from one compressed copy of the chunk: after a full
    flush deflate starts afresh, so the compressed chunk can be repeated as it is."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = squeezer.compress(head) + squeezer.flush(zlib.Z_FULL_FLUSH)
    block = squeezer.compress(chunk) + squeezer.flush(zlib.Z_FULL_FLUSH)
    end = squeezer.compress(tail) + squeezer.flush()
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    size = len(head) + len(chunk) * times + len(tail)
    return Entry(start + block * times + end, zlib.crc32(tail, crc), size, size)


def archive(entries: dict[str, bytes | Entry], stated_count: int | None = None) -> bytes:
    """A zip written by hand (zipfile cannot store a stream deflated elsewhere, nor lie). An entry of
    4 GB or more states its sizes in a Zip64 extra field, as zip tools do."""
    out = io.BytesIO()
    directory = []
    when = (46 << 9) | (1 << 5) | 1  # 2026-01-01
    for name, payload in entries.items():
        entry = payload if isinstance(payload, Entry) else deflated(payload)
        encoded = name.encode()
        offset = out.tell()
        sizes = (entry.crc, len(entry.compressed), entry.declared)
        extra = b""
        if entry.declared >= 0xFFFFFFFF:
            sizes = (entry.crc, 0xFFFFFFFF, 0xFFFFFFFF)
            extra = struct.pack("<2H2Q", 1, 16, entry.declared, len(entry.compressed))
        header = struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 45, 0x800, 8, 0, when, *sizes, len(encoded), len(extra)
        )
        out.write(header + encoded + extra + entry.compressed)
        directory.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0x800, 8, 0, when, *sizes, len(encoded),
                        len(extra), 0, 0, 0, 0, offset) + encoded + extra
        )  # fmt: skip
    start = out.tell()
    out.write(b"".join(directory))
    count = len(directory) if stated_count is None else stated_count
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, out.tell() - start, start, 0))
    return out.getvalue()


SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT = {
    "xl/workbook.xml": "sheet.main+xml",
    "xl/worksheets/sheet1.xml": "worksheet+xml",
    "xl/sharedStrings.xml": "sharedStrings+xml",
    "xl/styles.xml": "styles+xml",
}


def content_types(parts) -> bytes:
    """[Content_Types].xml naming the parts present (openpyxl finds them there)."""
    overrides = "".join(
        f'<Override PartName="/{name}" ContentType="{SPREADSHEET}.{kind}"/>'
        for name, kind in CONTENT.items()
        if name in parts
    )
    return (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
    ).encode()


def workbook(
    sheet: bytes | Entry,
    strings: bytes | Entry | None = None,
    book: bytes | None = None,
    stated_count: int | None = None,
    styles: bytes | None = None,
    **extra: bytes,
) -> bytes:
    """A workbook as Excel lays it out: one sheet, shared strings if given, any extra entries."""
    parts = {
        "_rels/.rels": (
            f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
            f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": book
        or (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{RELS}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings
    if styles is not None:
        parts["xl/styles.xml"] = styles
    parts["[Content_Types].xml"] = content_types(parts)
    return archive({**parts, **extra}, stated_count)


def sheet_xml(rows: str) -> bytes:
    return f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'.encode()


# A header and one firm: what the bombs carry beside the bomb (today's reader accepted the lot).
HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>企业名称</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>甲有限公司</t></is></c></row>'
)


# ---- The bombs -----------------------------------------------------------------------------------


def shared_strings_bomb() -> bytes:
    """The finding's: shared strings that inflate to 1 GB from about 1 MB."""
    text = "经" * 4000
    strings = repeated(
        f'<sst xmlns="{MAIN}">'.encode(), f"<si><t>{text}</t></si>".encode() * 87, 1024, b"</sst>"
    )
    return workbook(sheet_xml(HEADER + '<row r="3"><c r="A3" t="s"><v>0</v></c></row>'), strings)


def wide_row_bomb() -> bytes:
    """The finding's: one row of 4 000 000 cells, in about 100 KB."""
    cells = repeated(f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'.encode(), b"<c/>" * 4000, 1000,
                     b"</row></sheetData></worksheet>")  # fmt: skip
    return workbook(cells)


def wide_row_streaming_bomb() -> bytes:
    """A row of 200 000 numbered cells: too varied for the ratio check, refused as it streams."""
    cells = "".join(f"<c><v>{i}</v></c>" for i in range(200_000))
    return workbook(sheet_xml(f'<row r="1">{cells}</row>'))


def deep_bomb() -> bytes:
    """A cell nested 100 000 elements deep (the parser's stack grows before any end tag)."""
    depth = 100_000
    return workbook(
        sheet_xml(f'<row r="1"><c r="A1" t="inlineStr"><is>{"<x>" * depth}{"</x>" * depth}</is></c></row>')
    )


def laughs_bomb() -> bytes:
    """Billion laughs: entities ten deep, each ten of the one before, in the shared strings."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    strings = f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]><sst xmlns="{MAIN}"><si><t>&lol9;</t></si>'
    strings += "</sst>"
    return workbook(sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), strings.encode())


def external_entity_bomb() -> bytes:
    """An external entity (a file of the server) in the sheet."""
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c>'
        "</row></sheetData></worksheet>"
    )
    return workbook(sheet.encode())


def many_entries_bomb() -> bytes:
    """5 000 entries (each would cost a directory record, and many sheets many parses)."""
    return workbook(sheet_xml(HEADER), **{f"xl/media/image{i}.png": b"" for i in range(5000)})


def understated_entries_bomb() -> bytes:
    """The same, with an end record that claims 8 entries."""
    return workbook(sheet_xml(HEADER), stated_count=8, **{f"xl/media/image{i}.png": b"" for i in range(5000)})


def many_sheets_bomb() -> bytes:
    """A workbook of 5 000 sheets (all pointing at the same part)."""
    sheets = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId1"/>' for i in range(1, 5001))
    book = f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{sheets}</sheets></workbook>'.encode()
    return workbook(sheet_xml(HEADER), book=book)


def zip_of_zips_bomb() -> bytes:
    """42.zip's idea: archives in the archive (unpacked, each level would multiply)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as nested:
        for i in range(16):
            nested.writestr(f"{i}.zip", b"PK\x03\x04" + b"\0" * 100_000)
    return workbook(sheet_xml(HEADER), **{"xl/embeddings/data.zip": inner.getvalue()})


def disguised_zip_bomb() -> bytes:
    """An archive named as a picture."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as nested:
        nested.writestr("a.txt", b"\0" * 100_000)
    return workbook(sheet_xml(HEADER), **{"xl/media/image1.png": inner.getvalue()})


def lying_directory_bomb() -> bytes:
    """A sheet whose directory says 2 KB while its stream inflates to 500 MB."""
    sheet = repeated(
        f'<worksheet xmlns="{MAIN}"><sheetData>'.encode(),
        b"<row/>" * 100_000,
        870,
        b"</sheetData></worksheet>",
    )
    return workbook(sheet._replace(declared=2048))


def many_strings_bomb() -> bytes:
    """600 000 distinct shared strings (a few MB compressed, within the declared-size limits)."""
    body = "".join(f"<si><t>{i}</t></si>" for i in range(600_000))
    strings = f'<sst xmlns="{MAIN}">{body}</sst>'.encode()
    return workbook(sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), strings)


def long_string_bomb() -> bytes:
    """One inline string of 100 000 characters (Excel stops at 32 767)."""
    text = "".join(chr(0x4E00 + i % 20_000) for i in range(100_000))
    return workbook(sheet_xml(f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row>'))


def zeros_bomb() -> bytes:
    """A picture of 20 MB of zeros: deflate's best ratio (about 1 030 : 1), which only bombs reach."""
    return workbook(sheet_xml(HEADER), **{"xl/media/image1.png": deflated(bytes(20 * MB))})


def long_tag_bomb() -> bytes:
    """A 40 MB attribute: expat would scan the unfinished tag again with every chunk."""
    chooser = random.Random(7)
    noise = bytes(chooser.choice(b"ab") for _ in range(4096)) * 256
    start = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" x="'.encode()
    return workbook(repeated(start, noise, 40, b'"/></row></sheetData></worksheet>'))


def far_rows_bomb() -> bytes:
    """Rows numbered in the millions: each skipped row would be a blank line to walk."""
    return workbook(sheet_xml(HEADER + '<row r="1048576"><c r="A1048576"><v>1</v></c></row>'))


BOMBS = {
    "shared strings inflating to 1 GB": (shared_strings_bomb, "解压后超过 100 MB"),
    "one row of 4 000 000 cells": (wide_row_bomb, "第 1 行的单元格超过 16384 个"),
    "one row of 200 000 varied cells": (wide_row_streaming_bomb, "第 1 行的单元格超过 16384 个"),
    "XML nested 100 000 deep": (deep_bomb, "嵌套超过 64 层"),
    "billion laughs": (laughs_bomb, "DTD"),
    "external entity": (external_entity_bomb, "DTD"),
    "5 000 entries": (many_entries_bomb, "条目超过 1000 个"),
    "5 000 entries, end record says 8": (understated_entries_bomb, "条目超过 1000 个"),
    "5 000 sheets": (many_sheets_bomb, "工作表超过 1000 个"),
    "zip of zips": (zip_of_zips_bomb, "嵌有其他压缩包"),
    "zip named as a picture": (disguised_zip_bomb, "嵌有其他压缩包"),
    "lying directory": (lying_directory_bomb, "文件可能已损坏"),
    "600 000 shared strings": (many_strings_bomb, "文字过多"),
    "a 100 000-character string": (long_string_bomb, "超过 32767 个字符"),
    "20 MB of zeros": (zeros_bomb, "压缩比超过 1000:1"),
    "a 40 MB attribute": (long_tag_bomb, "超过 1 MB 的 XML 标记"),
    "rows numbered into the millions": (far_rows_bomb, f"单次导入不超过 {MAX_ROWS} 行"),
    "CSV of 5 MB of line ends": (lambda: b"\n" * (5 * MB - 1), f"单次导入不超过 {MAX_ROWS} 行"),
    "CSV of one line of 5 million commas": (lambda: b"," * (5 * MB - 1), "第 1 行超过 100 万个字符"),
}
# Refused only once the limit is reached, so parsed as far as a full import: these take a full
# import's time (about a second, more on a loaded machine), bounded by the wall clock.
SLOW = {"600 000 shared strings"}


@pytest.mark.parametrize("name", BOMBS)
def test_each_bomb_is_refused_quickly_in_chinese_within_a_few_tens_of_mb(name):
    build, message = BOMBS[name]
    data = build()
    assert len(data) < 5 * MB
    filename = "bomb.csv" if name.startswith("CSV") else "bomb.xlsx"
    outcome = read_in_child(filename, data, "enterprises")
    assert outcome.refusal is not None and message in outcome.refusal, outcome.refusal
    assert re.search(r"[\u4e00-\u9fff]", outcome.refusal)
    assert outcome.error is None
    assert outcome.seconds < (WALL_SECONDS if name in SLOW else SECONDS)
    assert outcome.added_resident < RESIDENT, outcome.added_resident // MB
    with pytest.raises(FileProblem, match=re.escape(message)):
        read_table(filename, data, "enterprises")


def test_a_part_of_too_many_elements_is_refused_as_it_streams(monkeypatch):
    # At the real limit (3 million) this takes a full import's time or more: the bench measures it.
    monkeypatch.setattr(xlsx, "MAX_ELEMENTS", 10_000)
    data = workbook(sheet_xml(HEADER + '<row r="3">' + "<x/>" * 20_000 + "</row>"))
    outcome = read_in_child("bomb.xlsx", data, "enterprises")
    assert outcome.refusal is not None and "超过 1 万个 XML 元素" in outcome.refusal


def test_the_lying_directory_really_inflates_far_more_than_it_states():
    # Else the test above proves nothing about reading only the declared bytes.
    data = lying_directory_bomb()
    stream = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    assert stream.file_size == 2048
    start = data.index(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
    inflater = zlib.decompressobj(-15)
    assert len(inflater.decompress(data[start : start + 50_000], 10 * MB)) == 10 * MB


def test_a_bomb_through_the_upload_page_gets_the_message_and_no_batch(client, login_as):
    # A small one: the test client leaves a temporary file unclosed for a body over 500 KB.
    login_as("officer")
    started = time.monotonic()
    response = upload(client, wide_row_bomb(), "炸弹.xlsx")
    assert time.monotonic() - started < SECONDS
    assert response.status_code == 200
    assert "第 1 行的单元格超过 16384 个" in response.text
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


# ---- The budget ----------------------------------------------------------------------------------


def _hog():
    hoard = []
    while True:
        hoard.append(bytearray(16 * MB))


def _spin():
    while True:
        pass


def _write_to(fd: int):
    os.write(fd, b"from the child")


def _refuse():
    raise Refusal("不要")


def test_the_child_is_stopped_at_its_memory_budget():
    outcome = run_bounded(_hog, memory=100 * MB)
    assert outcome.refusal is not None and "内存超过上限（100 MB）" in outcome.refusal
    assert outcome.added_memory <= 100 * MB
    assert outcome.seconds < SECONDS


def test_the_child_is_stopped_at_its_time_budget():
    outcome = run_bounded(_spin, cpu_seconds=30, wall_seconds=1)
    assert outcome.refusal is not None and "时间上限（1 秒）" in outcome.refusal
    assert outcome.seconds < 3


def test_the_child_is_stopped_at_its_cpu_budget():
    outcome = run_bounded(_spin, cpu_seconds=1, wall_seconds=30)
    assert outcome.refusal is not None and "时间上限（1 秒）" in outcome.refusal
    assert outcome.seconds < 5


def test_the_child_cannot_use_the_parents_descriptors():
    # Database connections are descriptors too: the child closes every one it inherited.
    read_end, write_end = os.pipe()
    try:
        outcome = run_bounded(_write_to, write_end)
        assert outcome.refusal is not None and outcome.error and "Bad file descriptor" in outcome.error
        os.set_blocking(read_end, False)
        with pytest.raises(BlockingIOError):
            os.read(read_end, 100)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_refusal_and_a_value_come_back_from_the_child():
    assert run_bounded(_refuse).refusal == "不要"
    outcome = run_bounded(sorted, ["丙", "甲", "乙"])
    assert outcome.value == sorted(["丙", "甲", "乙"]) and outcome.refusal is None
