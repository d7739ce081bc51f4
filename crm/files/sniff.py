"""What an uploaded file is, told by its bytes and never by its name, and the name it is kept under.

A name says whatever its sender typed: an .exe renamed 合同.pdf, or an HTML page named 照片.png
that a browser would run as a page of this site. So the kind is read from the content: the
signatures of PDF and the four image formats, the zip directory of an Office Open XML document, the
directory of a legacy Office (OLE2) compound file. Anything else is refused, and so is a name whose
extension says something else than the content (a PNG named x.pdf).

Both container formats are read from their directories only, walked within fixed bounds: nothing is
ever inflated, so a zip bomb costs what its directory costs to read, a few microseconds per entry.
"""

import re
import struct
import unicodedata
from dataclasses import dataclass

from crm.core.text import without_invisibles
from crm.core.transaction import Refusal


class FileRefused(Refusal):
    """A file that may not be kept; the message says why and what may be, in Chinese."""


@dataclass(frozen=True)
class FileKind:
    """A kind of file we keep: how users call it, the content type it is served with, the name
    extensions that fit it (the first is added to a name that has none), and whether a browser
    shows it in the page (images, PDF) rather than saving it (Office documents)."""

    label: str
    content_type: str
    extensions: tuple[str, ...]
    inline: bool


PDF = FileKind("PDF 文档", "application/pdf", (".pdf",), True)
PNG = FileKind("PNG 图片", "image/png", (".png",), True)
JPEG = FileKind("JPEG 图片", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), True)
GIF = FileKind("GIF 图片", "image/gif", (".gif",), True)
WEBP = FileKind("WebP 图片", "image/webp", (".webp",), True)
DOCX = FileKind(
    "Word 文档",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
    False,
)
XLSX = FileKind(
    "Excel 工作簿", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), False
)
PPTX = FileKind(
    "PowerPoint 演示文稿",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    (".pptx",),
    False,
)
DOC = FileKind("Word 97-2003 文档", "application/msword", (".doc",), False)
XLS = FileKind("Excel 97-2003 工作簿", "application/vnd.ms-excel", (".xls",), False)
PPT = FileKind("PowerPoint 97-2003 演示文稿", "application/vnd.ms-powerpoint", (".ppt", ".pps"), False)

KINDS = (PDF, PNG, JPEG, GIF, WEBP, DOCX, XLSX, PPTX, DOC, XLS, PPT)
EXTENSIONS = tuple(ext for kind in KINDS for ext in kind.extensions)  # the file input's accept list
ALLOWED = (
    "PDF、图片（PNG、JPEG、GIF、WebP）、"
    "Office 文档（Word、Excel、PowerPoint 的 .docx/.xlsx/.pptx 及 97-2003 格式 .doc/.xls/.ppt）"
)

MAX_NAME = 200
FALLBACK_STEM = "附件"


def not_allowed() -> FileRefused:
    return FileRefused(f"不支持该文件的类型（按文件内容识别，与文件名无关）。只能上传{ALLOWED}。")


# ---- Signatures ----------------------------------------------------------------------------------

# A PDF must start with its header: readers accept junk before it, and junk before it is how a
# file is made to be an HTML page and a PDF at once.
_SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(data: bytes) -> FileKind:
    """The kind of `data`, from its content alone; FileRefused for anything not allowed."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(ZIP_MAGIC):
        return _office_open_xml(data)
    if data.startswith(OLE_MAGIC):
        return _legacy_office(data)
    raise not_allowed()


# ---- Office Open XML: the zip's central directory, never an entry's content ---------------------

_END_RECORD = struct.Struct("<4s4H2LH")  # signature, disks, entries, directory size and offset, comment
_DIRECTORY_ENTRY = struct.Struct("<4s6H3L5H2L")  # the 46 fixed bytes of a central directory entry
# A large presentation has a few hundred entries (one per slide, layout and picture); a directory
# longer than this is not an Office document we need to understand.
MAX_ZIP_ENTRIES = 10_000
OOXML_PARTS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))


def zip_names(data: bytes) -> list[str]:
    """The entry names of the zip's central directory (FileRefused when there is none to read).

    Only the end record and the directory are read: each entry's declared sizes are never trusted
    nor its data inflated, so what a bomb claims to hold costs nothing."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END_RECORD.size - 0xFFFF))
    if at < 0 or at + _END_RECORD.size > len(data):
        raise not_allowed()
    _, disk, directory_disk, _, entries, size, offset, _ = _END_RECORD.unpack_from(data, at)
    # Split archives and Zip64 (0xFFFF entries, 0xFFFFFFFF offsets) are no Office document of 20 MB.
    if disk or directory_disk or entries == 0xFFFF or offset + size > at:
        raise not_allowed()
    if entries > MAX_ZIP_ENTRIES:
        raise FileRefused(
            f"压缩包内的条目超过 {MAX_ZIP_ENTRIES} 个，不是可接受的 Office 文档。只能上传{ALLOWED}。"
        )
    names, position, end = [], offset, offset + size
    for _ in range(entries):
        if position + _DIRECTORY_ENTRY.size > end:
            raise not_allowed()
        fields = _DIRECTORY_ENTRY.unpack_from(data, position)
        if fields[0] != b"PK\x01\x02":
            raise not_allowed()
        flags, name_length, extra_length, comment_length = fields[3], fields[10], fields[11], fields[12]
        start = position + _DIRECTORY_ENTRY.size
        raw = data[start : start + name_length]
        names.append(raw.decode("utf-8" if flags & 0x800 else "cp437", "replace"))
        position = start + name_length + extra_length + comment_length
    return names


def _office_open_xml(data: bytes) -> FileKind:
    names = zip_names(data)
    if "[Content_Types].xml" in names:
        for prefix, kind in OOXML_PARTS:
            if any(name.startswith(prefix) for name in names):
                return kind
    raise not_allowed()  # a plain zip, a jar, an .odt …


# ---- Legacy Office: the compound file's directory -----------------------------------------------

_MAX_REGULAR_SECTOR = 0xFFFFFFFA
_END_OF_CHAIN = 0xFFFFFFFE
_NO_STREAM = 0xFFFFFFFF
_ROOT, _STORAGE, _STREAM = 5, 1, 2
# The streams at the root that make a compound file a Word, Excel or PowerPoint document. Other
# compound files (an .msi installer, an Outlook .msg, a Visio drawing) have none of them.
OLE_STREAMS = {"worddocument": DOC, "workbook": XLS, "book": XLS, "powerpoint document": PPT}
# A password-protected .docx/.xlsx is a compound file holding the encrypted package.
OLE_ENCRYPTED = {"encryptedpackage", "encryptioninfo"}
MAX_DIRECTORY_ENTRIES = 100_000


def ole_root_names(data: bytes) -> set[str]:
    """The names (lower case) of the storages and streams at the root of a compound file (MS-CFB),
    read from its directory through the FAT; FileRefused when the structure does not hold."""
    if len(data) < 512:
        raise not_allowed()
    major, byte_order, sector_shift = struct.unpack_from("<3H", data, 0x1A)
    if byte_order != 0xFFFE or (major, sector_shift) not in ((3, 9), (4, 12)):
        raise not_allowed()
    size = 1 << sector_shift
    per_sector = size // 4
    fat_count, first_directory = struct.unpack_from("<2L", data, 0x2C)
    first_difat, difat_count = struct.unpack_from("<2L", data, 0x44)

    def sector(number: int) -> bytes:
        start = (number + 1) * size
        if number > _MAX_REGULAR_SECTOR or start + size > len(data):
            raise not_allowed()
        return data[start : start + size]

    # Which sectors hold the FAT: 109 named in the header, the rest in the DIFAT chain. Every count
    # is bounded by the file's own size, so a lying header cannot make us loop or allocate.
    sectors_in_file = len(data) // size
    if fat_count > sectors_in_file or difat_count > sectors_in_file:
        raise not_allowed()
    fat_sectors = list(struct.unpack_from("<109L", data, 0x4C))
    following = first_difat
    for _ in range(difat_count):
        if following > _MAX_REGULAR_SECTOR:
            break
        numbers = struct.unpack(f"<{per_sector}L", sector(following))
        fat_sectors += numbers[:-1]
        following = numbers[-1]
    fat_sectors = fat_sectors[:fat_count]

    def next_sector(number: int) -> int:
        index = number // per_sector
        if index >= len(fat_sectors):
            raise not_allowed()
        return struct.unpack_from("<L", sector(fat_sectors[index]), (number % per_sector) * 4)[0]

    entries: list[bytes] = []
    current, seen = first_directory, set()
    while current != _END_OF_CHAIN:
        if current in seen or len(entries) >= MAX_DIRECTORY_ENTRIES:
            raise not_allowed()  # a chain that loops back on itself
        seen.add(current)
        chunk = sector(current)
        entries += [chunk[at : at + 128] for at in range(0, size, 128)]
        current = next_sector(current)
    if not entries or entries[0][0x42] != _ROOT:
        raise not_allowed()

    # The root's children form a tree of left and right siblings under its child pointer.
    names, pending, visited = set(), [struct.unpack_from("<L", entries[0], 0x4C)[0]], set()
    while pending:
        index = pending.pop()
        if index == _NO_STREAM or index in visited:
            continue
        if index >= len(entries):
            raise not_allowed()
        visited.add(index)
        entry = entries[index]
        length = min(struct.unpack_from("<H", entry, 0x40)[0], 64)
        if entry[0x42] in (_STORAGE, _STREAM) and length >= 2:
            names.add(entry[: length - 2].decode("utf-16-le", "replace").lower())
        pending += list(struct.unpack_from("<2L", entry, 0x44))
    return names


def _legacy_office(data: bytes) -> FileKind:
    names = ole_root_names(data)
    for name, kind in OLE_STREAMS.items():
        if name in names:
            return kind
    if names & OLE_ENCRYPTED:
        raise FileRefused("该 Office 文档设有密码（已加密），无法确认其内容。请取消密码后重新上传。")
    raise not_allowed()


# ---- The name ------------------------------------------------------------------------------------

# Control characters (C0, DEL, C1) and the line and paragraph separators: never part of a name, and
# a line break in a name would break the Content-Disposition header it is served with.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def clean_name(raw: str | None, kind: FileKind) -> str:
    """The uploaded name as people wrote it (Chinese kept), NFC-normalised, without any directory
    part or control character, at most MAX_NAME characters with its extension kept. A name without
    an extension gets the content's; one whose extension says another kind is refused."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]  # C:\Users\…\合同.pdf as old browsers send it
    name = without_invisibles(_CONTROL.sub("", name)).strip()
    match = _EXTENSION.search(name)
    extension = match.group(0).lower() if match else ""
    if extension and extension not in kind.extensions:
        raise FileRefused(
            f"文件名的扩展名“{extension}”与文件内容（{kind.label}，应为 {'、'.join(kind.extensions)}）不符，"
            "请核对后重新上传。"
        )
    stem = name[: len(name) - len(extension)] if extension else name
    stem = stem.strip().lstrip(".").strip() or FALLBACK_STEM  # no hidden files, no empty names
    extension = match.group(0) if extension else kind.extensions[0]  # as the sender wrote it (.PDF)
    return stem[: MAX_NAME - len(extension)].rstrip() + extension
