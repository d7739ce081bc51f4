"""Upload bombs: for each, the time to refusal and what the reading child added to its memory; and
what reading ordinary files costs, with and without the child.

Run with `.venv/bin/python -m bench.upload_bombs` (also part of `python -m bench`). Prints figures;
asserts nothing. The bombs are the test corpus of tests/test_upload_bombs.py, plus the finding's own
sizes (a 4.8 GB shared-strings table) and a sheet at the element limit.
"""

import csv
import io
import random
import statistics
import time
from datetime import datetime

from openpyxl import Workbook

from crm.imports.budget import run_bounded
from crm.imports.limits import MAX_ELEMENTS, MB, MEMORY_BUDGET, WALL_SECONDS
from crm.imports.reader import _read, read_in_child
from tests.test_upload_bombs import BOMBS, HEADER, MAIN, repeated, sheet_xml, workbook


def finding_bomb() -> bytes:
    """Near the finding's first file (4.9 MB whose shared strings inflate to 4.8 GB): 4.9 MB, 4.6 GB."""
    string = f"<si><t>{'A' * 30_000}</t></si>".encode()
    strings = repeated(f'<sst xmlns="{MAIN}">'.encode(), string * 350, 440, b"</sst>")
    return workbook(sheet_xml(HEADER + '<row r="3"><c r="A3" t="s"><v>0</v></c></row>'), strings)


def elements_bomb() -> bytes:
    """A sheet of MAX_ELEMENTS + 1 empty elements (two kinds at random, so it compresses like data,
    not like a bomb): the slowest refusal the limits allow."""
    chooser = random.Random(3)
    body = "".join(chooser.choice(("<a/>", "<b/>")) for _ in range(MAX_ELEMENTS + 1))
    return workbook(sheet_xml(HEADER + f'<row r="3">{body}</row>'))


def _firms(columns: int) -> list[list]:
    header = ["企业名称", "统一社会信用代码", "所属省份", "所属城市", "主营产品", "注册资本", "成立日期"]
    header += ["法定代表人", "经营范围", "登记状态"] + [f"列{i}" for i in range(columns - 10)]
    rows = [header[:columns]]
    for i in range(5000):
        row = [f"测试企业{i}有限公司", f"91320500MA{i:07d}X", "江苏省", "苏州市", "PA66 改性材料、工程塑料"]
        row += [5000.0 + i, datetime(2001, 5, 20), "张某", "工程塑料制造；销售" * 3, "存续"]
        row += [f"值{i}-{j}" for j in range(columns - 10)]
        rows.append(row[:columns])
    return rows


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _row(label: str, size: int, outcome) -> None:
    said = (outcome.refusal or f"读出 {len(outcome.value[2])} 行")[:46]
    print(
        f"  {label:<38} {size / 1024:>8.0f} KB  {outcome.seconds:>6.2f} s  "
        f"常驻 +{outcome.added_resident / MB:>5.1f} MB  "
        f"地址空间 +{outcome.added_memory / MB:>5.1f} MB  {said}"
    )


def bench_bombs() -> None:
    print(f"上传炸弹（子进程上限：内存 {MEMORY_BUDGET // MB} MB、墙钟 {WALL_SECONDS} 秒）：")
    bombs = [(name, build) for name, (build, _) in BOMBS.items()]
    bombs += [("shared strings: 4.9 MB → 4.6 GB", finding_bomb), ("3 000 001 elements", elements_bomb)]
    for name, build in bombs:
        data = build()
        filename = "bomb.csv" if name.startswith("CSV") else "bomb.xlsx"
        _row(name, len(data), read_in_child(filename, data, "enterprises"))


def _nothing() -> None:
    return None


def bench_ordinary_files() -> None:
    print("正常文件（5 000 行）：")
    for label, data, filename in (
        ("xlsx, 10 columns", _xlsx(_firms(10)), "a.xlsx"),
        ("xlsx, 80 columns (a full import)", _xlsx(_firms(80)), "a.xlsx"),
        ("csv, 10 columns", _csv(_firms(10)), "a.csv"),
    ):
        _row(label, len(data), read_in_child(filename, data, "enterprises"))
        start = time.perf_counter()
        _read(filename, data, "enterprises")
        seconds = time.perf_counter() - start
        print(f"  {'':<38} {'':>11}  {seconds:>6.2f} s  （同一文件在本进程内读取，不经子进程）")
    forks = []
    for _ in range(20):
        forks.append(run_bounded(_nothing).seconds)
    print(f"  子进程本身（fork、设限、回传、回收）：中位数 {statistics.median(forks) * 1000:.1f} ms")


def main() -> None:
    bench_bombs()
    bench_ordinary_files()


if __name__ == "__main__":
    main()
