"""A small streaming reader of the active worksheet of an .xlsx, with every cost bounded.

openpyxl (still used to write workbooks) inflated the whole shared-strings table and built every
cell of a row before any limit of ours applied: a 5 MB upload could take GBs and minutes. Here:
1. the zip directory is checked before anything is inflated (open_archive): entry count, declared
   sizes, compression ratios, nested archives, encryption;
2. only the parts a table needs are parsed (package and workbook relationships, workbook, styles,
   shared strings, one sheet), by expat as they inflate, 64 KB at a time, with DTDs refused (so no
   entity is declared or expanded: billion laughs, external entities) and nesting bounded;
3. each limit is checked as the XML arrives: the text of a cell or shared string, the number and
   characters of shared strings, cells per row (counted; only the first MAX_COLUMNS are kept), cells
   in all, row numbers.
The values become text as openpyxl's did (numbers, booleans, dates by number format, the 1904 date
system, inline and rich text), through cell_text, so the preview shows what people typed.
"""

import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

from crm.imports.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_DEPTH,
    MAX_DIRECTORY_BYTES,
    MAX_ELEMENTS,
    MAX_ENTRIES,
    MAX_INFLATED,
    MAX_PART,
    MAX_RATIO,
    MAX_ROW_CELLS,
    MAX_ROW_NUMBER,
    MAX_SHARED_CHARS,
    MAX_SHARED_STRINGS,
    MAX_SHEETS,
    MAX_STRING,
    MAX_STYLES,
    MAX_TOKEN,
    MB,
    NESTED_MAGIC,
    NESTED_SUFFIXES,
    RATIO_FLOOR,
    FileProblem,
)

CHUNK = 64 * 1024  # inflated bytes handed to the parser at a time
CORRUPT = "无法读取该 Excel 文件，文件可能已损坏或不是 .xlsx 格式"
UNREADABLE = "无法读取该 Excel 文件的内容，请在 Excel 中另存为 .xlsx 后重试"
SUSPICIOUS = (
    "，不像是电子表格软件保存的文件（疑似恶意构造），已拒绝。请在 Excel 中另存为新的 .xlsx 或 CSV 后再导入"
)
# Built-in number formats 27–36 and 50–58 are the East Asian dates and times (ECMA-376 §18.8.30:
# for zh-CN 'yyyy"年"m"月"d"日"' and the like). Excel in China writes them without a definition, and
# openpyxl (which does not know them) read such dates as serial numbers.
EAST_ASIAN_DATES = frozenset([*range(27, 37), *range(50, 59)])


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


# ---- The zip directory ---------------------------------------------------------------------------

_END_RECORD = struct.Struct("<4s4H2LH")


def _directory_size(data: bytes) -> tuple[int, int]:
    """(entries, bytes) of the central directory, as the end record states them. zipfile walks the
    directory by its byte size whatever the count says, so both are bounded before ZipFile()."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END_RECORD.size - 0xFFFF))
    if at < 0 or at + _END_RECORD.size > len(data):
        raise FileProblem(CORRUPT)
    record = _END_RECORD.unpack_from(data, at)
    return record[4], record[5]  # a Zip64 archive says 0xFFFF and 0xFFFFFFFF here: too many


def _too_many_entries() -> FileProblem:
    return FileProblem(f"Excel 文件内部的条目超过 {MAX_ENTRIES} 个" + SUSPICIOUS)


def open_archive(data: bytes) -> zipfile.ZipFile:
    """The archive, once its directory is within bounds; nothing has been inflated yet but the first
    bytes of each entry (to recognise a nested archive).

    The declared sizes bound what is inflated: zipfile's ZipExtFile never returns more than an
    entry's declared file_size (it cuts the output there, then checks the CRC, so a directory that
    understates a size ends in BadZipFile: see the lying-directory test), and read(n) inflates at
    most max(n, 4 KB) per step. read() with no size, though, inflates the whole compressed entry in
    one step (up to 1 GB) before cutting it: parts are only ever read CHUNK bytes at a time."""
    entries, size = _directory_size(data)
    if entries > MAX_ENTRIES or size > MAX_DIRECTORY_BYTES:
        raise _too_many_entries()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as error:
        raise FileProblem(CORRUPT) from error
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:  # a directory whose end record understates its entries
        raise _too_many_entries()
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileProblem("Excel 文件中有加密的内容，请取消加密并另存为 .xlsx 后再导入")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileProblem("Excel 文件使用了不支持的压缩方式，请在 Excel 中另存为 .xlsx 后再导入")
    if sum(info.file_size for info in infos) > MAX_INFLATED:
        raise FileProblem(
            f"Excel 文件解压后超过 {MAX_INFLATED // MB} MB，请删除图片等无关内容、只保留要导入的工作表，"
            "或另存为 CSV 后再导入"
        )
    for info in infos:
        name = info.filename
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise FileProblem(f"Excel 文件中的“{name[:80]}”压缩比超过 {MAX_RATIO}:1" + SUSPICIOUS)
        if name.lower().endswith(NESTED_SUFFIXES):
            raise _nested(name)
    for info in infos:
        if info.file_size >= 4 and _head(archive, info).startswith(NESTED_MAGIC):
            raise _nested(info.filename)
    return archive


def _nested(name: str) -> FileProblem:
    return FileProblem(
        f"Excel 文件中嵌有其他压缩包或文档（{name[:80]}），"
        "请删除嵌入的对象，或把数据另存为新的 .xlsx 或 CSV 后再导入"
    )


def _head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as stream:
            return stream.read(8)  # inflates at most 4 KB
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise FileProblem(CORRUPT) from error


def _chunks(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """A part's inflated bytes, CHUNK at a time (see open_archive for why this bounds them)."""
    info = archive.getinfo(name)  # KeyError: the caller says which part is missing
    if info.file_size > MAX_PART:
        raise FileProblem(
            f"Excel 文件中的“{name[:80]}”解压后超过 {MAX_PART // MB} MB，请分批导入或另存为 CSV 后再导入"
        )
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise FileProblem(CORRUPT) from error


# ---- Streaming XML -------------------------------------------------------------------------------
#
# expat calls a Python function for each start tag, end tag and run of text: about 1.5 µs an element
# even when the function does nothing, so the sheet and the shared strings (the big parts) have their
# handlers written out flat, with their state in closure variables, and namespace processing is off
# (it costs a third more; a prefix is all a writer can vary, and _local drops it).


def _no_dtd(*_args):
    raise FileProblem("Excel 文件中含有 XML 文档类型定义或实体声明（DTD）" + SUSPICIOUS)


def _too_deep() -> FileProblem:
    return FileProblem(f"Excel 文件的 XML 嵌套超过 {MAX_DEPTH} 层" + SUSPICIOUS)


def _too_many_elements(name: str) -> FileProblem:
    return FileProblem(
        f"Excel 文件中的“{name[:80]}”含有超过 {MAX_ELEMENTS // 10_000} 万个 XML 元素，"
        "请删除多余的行列、只保留要导入的数据，或分批导入"
    )


def _too_long() -> FileProblem:
    return FileProblem(f"Excel 文件中有文字超过 {MAX_STRING} 个字符（Excel 单元格的上限）" + SUSPICIOUS)


_LOCAL: dict[str, str] = {}  # an element's name as written (perhaps with a prefix) → its local name


def _local(name: str) -> str:
    local = name.rpartition(":")[2]
    if len(_LOCAL) < 1000:  # a part of a million distinct names must not grow this
        _LOCAL[name] = local
    return local


def _parse(archive: zipfile.ZipFile, name: str, start, end, text=None) -> Iterator[None]:
    """Parse a part with these handlers as it inflates; yields after each chunk, so a caller can
    hand on what it has so far. No DTD at all: without one no entity can be declared, so none is
    expanded (billion laughs) or fetched (external entities), and an undeclared &name; is an error."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.UnparsedEntityDeclHandler = _no_dtd
    parser.ExternalEntityRefHandler = _no_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    fed = 0
    try:
        for chunk in _chunks(archive, name):
            parser.Parse(chunk, False)
            fed += len(chunk)
            # What expat holds back is an unfinished tag, comment or declaration (text it hands on
            # as it comes): past MAX_TOKEN it is no spreadsheet's, and it would be scanned again
            # from its start with every chunk.
            if fed - parser.CurrentByteIndex > MAX_TOKEN:
                raise FileProblem(f"Excel 文件中有超过 {MAX_TOKEN // MB} MB 的 XML 标记" + SUSPICIOUS)
            yield
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        if error.code == expat.errors.codes[expat.errors.XML_ERROR_NO_MEMORY]:
            raise MemoryError from error  # the budget's limit, reached inside expat
        raise FileProblem(UNREADABLE) from error
    yield


class _Part:
    """A small part (relationships, workbook, styles): handlers by local name in `starts`, with the
    stack of open elements for their context; nesting and element count bounded like the big parts."""

    starts: dict = {}

    def __init__(self):
        self.stack: list[str] = []
        self.elements = 0
        self.name = ""

    def read(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name = name
        for _ in _parse(archive, name, self._start, self._end):
            pass

    def _start(self, name: str, attrs: dict) -> None:
        local = _LOCAL.get(name) or _local(name)
        self.stack.append(local)
        self.elements += 1
        if len(self.stack) > MAX_DEPTH:
            raise _too_deep()
        if self.elements > MAX_ELEMENTS:
            raise _too_many_elements(self.name)
        handler = self.starts.get(local)
        if handler is not None:
            handler(self, attrs)

    def _end(self, _name: str) -> None:
        self.stack.pop()

    def _parent_is(self, name: str) -> bool:
        return len(self.stack) > 1 and self.stack[-2] == name


def _attribute(attrs: dict, local: str) -> str | None:
    """A prefixed attribute, whatever the prefix (r:id of the relationships namespace)."""
    suffix = ":" + local
    return next((value for key, value in attrs.items() if key.endswith(suffix)), None)


class _Relationships(_Part):
    def __init__(self):
        super().__init__()
        self.found: dict[str, tuple[str, str]] = {}  # Id → (type, target)

    def _relationship(self, attrs):
        if attrs.get("TargetMode") != "External" and len(self.found) < MAX_ENTRIES:
            self.found[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    starts = {"Relationship": _relationship}

    def of_type(self, kind: str) -> str | None:
        return next((target for t, target in self.found.values() if t.endswith("/" + kind)), None)


class _Workbook(_Part):
    def __init__(self):
        super().__init__()
        self.sheets: list[str] = []  # relationship ids, in order
        self.active = 0
        self.views = 0
        self.date1904 = False

    def _properties(self, attrs):
        self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")

    def _view(self, attrs):
        self.views += 1
        if self.views == 1:
            try:
                self.active = int(attrs.get("activeTab", "0"))
            except ValueError:
                self.active = 0

    def _sheet(self, attrs):
        if self._parent_is("sheets"):
            if len(self.sheets) >= MAX_SHEETS:
                raise FileProblem(f"Excel 文件的工作表超过 {MAX_SHEETS} 个，请只保留要导入的工作表")
            self.sheets.append(_attribute(attrs, "id") or "")

    starts = {"workbookPr": _properties, "workbookView": _view, "sheet": _sheet}


class _Styles(_Part):
    """Which cell formats (the s of a cell) show dates, and which durations ([h]:mm)."""

    def __init__(self):
        super().__init__()
        self.custom: dict[int, str] = {}
        self.formats: list[int] = []  # numFmtId of each cell format, by index

    def _number_format(self, attrs):
        if len(self.custom) >= MAX_STYLES:
            raise FileProblem(f"Excel 文件的数字格式超过 {MAX_STYLES} 个" + SUSPICIOUS)
        try:
            self.custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
        except ValueError:
            pass

    def _format(self, attrs):
        if self._parent_is("cellXfs"):
            if len(self.formats) >= MAX_STYLES:
                raise FileProblem(f"Excel 文件的单元格格式超过 {MAX_STYLES} 个" + SUSPICIOUS)
            try:
                self.formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                self.formats.append(0)

    starts = {"numFmt": _number_format, "xf": _format}

    def dates(self) -> tuple[frozenset[int], frozenset[int]]:
        """As openpyxl's stylesheet decided, plus the East Asian built-in dates."""
        dates, durations = set(), set()
        for index, number_format in enumerate(self.formats):
            code = self.custom.get(number_format, BUILTIN_FORMATS.get(number_format))
            if is_date_format(code) or (code is None and number_format in EAST_ASIAN_DATES):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return frozenset(dates), frozenset(durations)


class _Text:
    """The text of the element being read (a <t> or <v>), in the pieces expat hands over; what one
    shared string or one cell holds in all is bounded by MAX_STRING (`new_value` starts the count)."""

    __slots__ = ("collecting", "parts", "size")

    def __init__(self):
        self.collecting, self.parts, self.size = False, [], 0

    def new_value(self) -> None:
        self.size = 0

    def start(self) -> None:
        self.collecting = True
        self.parts.clear()

    def add(self, data: str) -> None:
        if self.collecting:
            self.size += len(data)
            if self.size > MAX_STRING:
                raise _too_long()
            self.parts.append(data)

    def take(self) -> str | None:
        """The text read since start(), or None when none was being read."""
        if not self.collecting:
            return None
        self.collecting = False
        return "".join(self.parts)


def _shared_strings(archive: zipfile.ZipFile, name: str) -> list[str]:
    """The workbook's shared strings: the text of each <si> (its <t>, or the <t> of its runs, not of
    its phonetic runs), within MAX_SHARED_STRINGS and MAX_SHARED_CHARS."""
    strings: list[str] = []
    current = _Text()  # the current <t>
    pieces: list[str] = []  # texts of the current <si>
    depth = elements = si_depth = run_depth = chars = 0
    too_many = FileProblem(
        f"Excel 文件中的文字过多（超过 {MAX_SHARED_STRINGS} 条或 {MAX_SHARED_CHARS // 10_000} 万字），"
        "请只保留要导入的工作表，或分批导入"
    )

    def start(qualified, attrs):
        nonlocal depth, elements, si_depth, run_depth
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise _too_deep()
        if elements > MAX_ELEMENTS:
            raise _too_many_elements(name)
        local = _LOCAL.get(qualified) or _local(qualified)
        if local == "t":
            if si_depth and (depth == si_depth + 1 or (run_depth and depth == run_depth + 1)):
                current.start()
        elif local == "si":
            if depth == 2:
                si_depth = depth
                pieces.clear()
                current.new_value()
        elif local == "r":
            if si_depth and depth == si_depth + 1:
                run_depth = depth
        elif local == "sst":
            # ASCII digits only, and few of them: int() refuses "²" and numbers of over 4 300
            # digits with a ValueError, which would end the read as an unexpected error.
            count = attrs.get("uniqueCount", "0")
            if count.isascii() and count.isdigit() and (len(count) > 9 or int(count) > MAX_SHARED_STRINGS):
                raise too_many

    def end(qualified):
        nonlocal depth, si_depth, run_depth, chars
        local = _LOCAL.get(qualified) or _local(qualified)
        if local == "t":
            if (read := current.take()) is not None:
                pieces.append(read)
        elif local == "si":
            if si_depth == depth:
                text = "".join(pieces).replace("x005F_", "")  # as openpyxl read them
                strings.append(text)
                chars += len(text)
                if len(strings) > MAX_SHARED_STRINGS or chars > MAX_SHARED_CHARS:
                    raise too_many
                si_depth = 0
        elif local == "r":
            if run_depth == depth:
                run_depth = 0
        depth -= 1

    for _ in _parse(archive, name, start, end, current.add):
        pass
    return strings


def _column_numbers() -> dict[str, int]:
    numbers = {}
    for number in range(1, MAX_ROW_CELLS + 1):
        letters, rest = "", number
        while rest:
            rest, digit = divmod(rest - 1, 26)
            letters = chr(65 + digit) + letters
        numbers[letters] = number
    return numbers


COLUMNS = _column_numbers()  # "A" → 1 … "XFD" → 16 384
DIGITS = "0123456789"


def _number(text: str):
    """As openpyxl: a float if it has a point or an exponent, else an int."""
    return float(text) if ("." in text or "e" in text or "E" in text) else int(text)


def _bad_value(row: int):
    raise FileProblem(f"工作表第 {row} 行有无法识别的单元格值，请在 Excel 中另存为 .xlsx 后重试")


def _too_wide(row: int) -> FileProblem:
    return FileProblem(f"第 {row} 行的单元格超过 {MAX_ROW_CELLS} 个（Excel 的列数上限）" + SUSPICIOUS)


def _sheet_rows(
    archive: zipfile.ZipFile,
    name: str,
    strings: list[str],
    dates: frozenset[int],
    durations: frozenset[int],
    epoch: datetime,
) -> Iterator[list[str]]:
    """Every line of a worksheet from row 1, as the texts of its first MAX_COLUMNS cells; a blank
    line ([]) for each row the sheet skips. Cells beyond are counted, not kept."""
    ready: list[tuple[int, list[str]]] = []  # rows parsed, not yet handed on
    current = _Text()  # the current <v> or <t>
    values: list[str] = []  # the current row's texts
    inline: list[str] = []  # texts of the current inline string
    depth = elements = number = row_cells = cells = column = 0
    data_depth = row_depth = cell_depth = is_depth = run_depth = 0  # 0: not inside one
    kind, style, raw = "n", None, None
    too_many_cells = FileProblem(
        f"工作表的单元格超过 {MAX_CELLS // 10_000} 万个，请删除多余的行列、只保留要导入的数据，或分批导入"
    )

    def cell():
        """The cell's text: its value as openpyxl gave it (read-only, data only: a formula's cached
        result) through cell_text; texts, most cells, straight."""
        if kind == "s":
            try:
                index = int(raw)
            except (TypeError, ValueError):
                return "" if not raw else _bad_value(number)
            if not 0 <= index < len(strings):
                raise FileProblem(UNREADABLE)
            return strings[index].strip()
        if kind == "inlineStr":
            return "".join(inline).strip() if is_depth == -1 else ""
        if not raw:
            return ""
        try:
            if kind == "n":
                result = _number(raw)
                format_index = int(style) if style else 0
                if format_index in dates:
                    try:
                        result = from_excel(result, epoch, timedelta=format_index in durations)
                    except (OverflowError, ValueError):
                        return "#VALUE!"  # openpyxl's value for a date out of range
                return cell_text(result)
            if kind == "b":
                return cell_text(bool(int(raw)))
            if kind == "d":
                return cell_text(from_ISO8601(raw))
        except (ValueError, OverflowError):
            return _bad_value(number)
        return raw.strip()  # str (a formula's text), e (an error such as #N/A)

    def start(qualified, attrs):
        nonlocal depth, elements, number, row_cells, cells, column
        nonlocal data_depth, row_depth, cell_depth, is_depth, run_depth, kind, style, raw
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise _too_deep()
        if elements > MAX_ELEMENTS:
            raise _too_many_elements(name)
        local = _LOCAL.get(qualified) or _local(qualified)
        if local == "c":
            if not row_depth or depth != row_depth + 1:
                return
            row_cells += 1
            cells += 1
            if row_cells > MAX_ROW_CELLS:
                raise _too_wide(number)
            if cells > MAX_CELLS:
                raise too_many_cells
            reference = attrs.get("r")
            if reference:
                letters = reference.rstrip(DIGITS)
                found = COLUMNS.get(letters) or COLUMNS.get(letters.replace("$", "").upper())
                if found is None:
                    raise FileProblem(f"工作表中的单元格位置“{reference[:20]}”无效，文件可能已损坏")
                column = found
            else:
                column += 1
                if column > MAX_ROW_CELLS:
                    raise _too_wide(number)
            if column <= MAX_COLUMNS:
                cell_depth = depth
                kind = attrs.get("t", "n")
                style = attrs.get("s")
                raw = None
                is_depth = run_depth = 0
                current.new_value()
        elif local == "v":
            if cell_depth and depth == cell_depth + 1:
                current.start()
        elif local == "t":
            if is_depth > 0 and (depth == is_depth + 1 or (run_depth and depth == run_depth + 1)):
                current.start()
        elif local == "row":
            if not data_depth or depth != data_depth + 1:
                return
            given = attrs.get("r")
            try:
                found = number + 1 if given is None else int(given) if given.isdigit() else int(float(given))
            except (ValueError, OverflowError) as error:  # "x", "²"; "1e999" is an infinite float
                raise FileProblem(UNREADABLE) from error
            if not number < found <= MAX_ROW_NUMBER:
                raise FileProblem(
                    f"工作表中的行号 {given} 无效或顺序错乱，文件可能已损坏，请在 Excel 中另存为 .xlsx 后重试"
                )
            number = found
            row_depth = depth
            values.clear()
            row_cells = column = 0
        elif local == "is":
            if cell_depth and depth == cell_depth + 1:
                is_depth = depth
                inline.clear()
        elif local == "r":
            if is_depth > 0 and depth == is_depth + 1:
                run_depth = depth
        elif local == "sheetData":
            if depth == 2:
                data_depth = depth

    def end(qualified):
        nonlocal depth, raw, data_depth, row_depth, cell_depth, is_depth, run_depth
        local = _LOCAL.get(qualified) or _local(qualified)
        if local == "c":
            if cell_depth == depth:
                cell_depth = 0
                text = cell()
                if text:
                    if len(values) < column:
                        values.extend([""] * (column - len(values)))
                    values[column - 1] = text
        elif local == "v":
            if (read := current.take()) is not None:
                raw = read
        elif local == "t":
            if (read := current.take()) is not None:
                inline.append(read)
        elif local == "row":
            if row_depth == depth:
                ready.append((number, values[:]))
                row_depth = 0
        elif local == "is":
            if is_depth == depth:
                is_depth = -1  # read: value() takes the inline texts
        elif local == "r":
            if run_depth == depth:
                run_depth = 0
        elif local == "sheetData":
            if data_depth == depth:
                data_depth = 0
        depth -= 1

    expected = 1
    for _ in _parse(archive, name, start, end, current.add):
        if ready:
            done = ready[:]
            ready.clear()
            for line, texts in done:
                while expected < line:
                    yield []
                    expected += 1
                yield texts
                expected += 1


# ---- The workbook --------------------------------------------------------------------------------


def _resolve(base: str, target: str) -> str:
    """A relationship's target as a name in the archive."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _relationships_of(archive: zipfile.ZipFile, names: set[str], part: str) -> _Relationships:
    folder, name = posixpath.split(part)
    relationships = _Relationships()
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels in names:
        relationships.read(archive, rels)
    return relationships


def xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """The lines of the workbook's active sheet (as Excel opens it), each as texts of its cells."""
    archive = open_archive(data)
    with archive:
        names = set(archive.namelist())
        package = _relationships_of(archive, names, "")
        book_name = _resolve("", package.of_type("officeDocument") or "/xl/workbook.xml")
        if book_name not in names:
            raise FileProblem(CORRUPT)
        book = _Workbook()
        book.read(archive, book_name)
        if not book.sheets:
            raise FileProblem("Excel 文件中没有工作表")
        parts = _relationships_of(archive, names, book_name)
        sheet_id = book.sheets[book.active if 0 <= book.active < len(book.sheets) else 0]
        kind, target = parts.found.get(sheet_id, ("", ""))
        if kind.endswith("/chartsheet"):
            raise FileProblem("Excel 文件打开时显示的是图表页，没有数据；请切换到要导入的工作表后保存再导入")
        sheet_name = _resolve(book_name, target) if target else ""
        if sheet_name not in names:
            raise FileProblem("Excel 文件缺少工作表的内容，文件可能已损坏，请在 Excel 中另存为 .xlsx 后重试")
        dates = durations = frozenset()
        styles_name = _resolve(book_name, parts.of_type("styles") or "styles.xml")
        if styles_name in names:
            styles = _Styles()
            styles.read(archive, styles_name)
            dates, durations = styles.dates()
        strings: list[str] = []
        strings_name = _resolve(book_name, parts.of_type("sharedStrings") or "sharedStrings.xml")
        if strings_name in names:
            strings = _shared_strings(archive, strings_name)
        epoch = MAC_EPOCH if book.date1904 else WINDOWS_EPOCH
        yield from _sheet_rows(archive, sheet_name, strings, dates, durations, epoch)
