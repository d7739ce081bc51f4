"""Project attachments: the type told by the content (each allowed kind, the refused ones, zip bombs
that cost nothing), the size limit, the Chinese name kept from upload to download, soft and audited
deletion, the three storages (database, directory, S3 through moto's in-process mock), the pages and
the API — and a district user who can neither list, fetch, delete nor guess another district's file
on any attachment route."""

import hashlib
import io
import re
import struct
import time
import tracemalloc
import zipfile
from datetime import date
from urllib.parse import unquote

import boto3
import pytest
from moto import mock_aws
from openpyxl import Workbook
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from crm.api.serializers import attachment_json
from crm.audit.models import AuditLog
from crm.auth.tokens import create_token
from crm.config import MULTIPART_ALLOWANCE, settings
from crm.core.transaction import commit
from crm.extensions import db
from crm.files import sniff as sniffing
from crm.files.sniff import FileRefused, clean_name, sniff
from crm.files.storage import (
    AttachmentBlob,
    DatabaseStorage,
    DirectoryStorage,
    Missing,
    S3Storage,
    new_key,
    storage,
)
from crm.projects.attachments import (
    CATEGORIES,
    Attachment,
    AttachmentError,
    delete_attachment,
    live_attachments,
    store_attachment,
    visible_attachment_or_404,
)
from crm.projects.models import FundEntry
from tests.conftest import PASSWORD

MB = 1024 * 1024
CHINESE_NAME = "签约协议（盖章版）2026.pdf"


# ---------------------------------------------------------------- sample files


def pdf_bytes(filler: int = 0) -> bytes:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * filler
    return body + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def ooxml(part_dir: str, content_types: bool = True) -> bytes:
    """A minimal Office Open XML package: [Content_Types].xml and a part under `part_dir`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(f"{part_dir}document.xml", "<document/>")
    return buffer.getvalue()


def real_xlsx() -> bytes:
    book = Workbook()
    book.active.append(["项目", "到位资金（万元）"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(*streams: str, looping: bool = False) -> bytes:
    """A minimal MS-CFB version 3 file (512-byte sectors) whose root holds `streams`: the header, one
    FAT sector, the directory. `looping` makes the directory's chain point back at itself."""
    entries = [("Root Entry", 5), *((name, 2) for name in streams)]
    directory_sectors = (len(entries) + 3) // 4
    fat = [FAT_SECTOR] + [s + 1 for s in range(1, directory_sectors)] + [1 if looping else END]
    fat += [FREE] * (128 - len(fat))
    header = bytearray(512)
    header[:8] = sniffing.OLE_MAGIC
    struct.pack_into("<2H", header, 0x18, 0x3E, 3)
    struct.pack_into("<3H", header, 0x1C, 0xFFFE, 9, 6)
    struct.pack_into("<2L", header, 0x2C, 1, 1)  # one FAT sector; the directory starts at sector 1
    struct.pack_into("<L", header, 0x38, 4096)
    struct.pack_into("<4L", header, 0x3C, END, 0, END, 0)  # no mini FAT, no DIFAT sectors
    struct.pack_into("<109L", header, 0x4C, 0, *([FREE] * 108))
    directory = bytearray()
    for index, (name, kind) in enumerate(entries):
        entry = bytearray(128)
        raw = (name + "\0").encode("utf-16-le")
        entry[: len(raw)] = raw
        struct.pack_into("<H", entry, 0x40, len(raw))
        entry[0x42], entry[0x43] = kind, 1
        child = 1 if index == 0 and len(entries) > 1 else NO_STREAM
        right = index + 1 if index and index + 1 < len(entries) else NO_STREAM
        struct.pack_into("<3L", entry, 0x44, NO_STREAM, right, child)
        directory += entry
    while len(directory) < directory_sectors * 512:
        directory += bytes(0x44) + struct.pack("<3L", NO_STREAM, NO_STREAM, NO_STREAM) + bytes(128 - 0x50)
    return bytes(header) + struct.pack("<128L", *fat) + bytes(directory)


def upload(data: bytes, name: str = CHINESE_NAME) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def form_data(data: bytes, name: str = CHINESE_NAME, category: str = "签约协议") -> dict:
    return {"category": category, "file": (io.BytesIO(data), name)}


def store(project, data: bytes, name: str, by, category: str = "签约协议", fund_entry=None):
    """store_attachment committed as a page would: the outcome, its value or its refusal."""
    return commit(lambda: store_attachment(project, upload(data, name), category, by, fund_entry))


def multipart(data: bytes, name: str, category: str = "其他") -> dict:
    """A multipart/form-data body as a browser sends it, built in memory: post(url, **multipart(…))."""
    boundary = "----lianzhao-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\n{category}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def log_in(client, login_as):
    """login_as, after logging out whoever is in: a logged-in user's /login only redirects."""

    def switch(role="officer", district=None, **kwargs):
        client.get("/logout")
        return login_as(role, district, **kwargs)

    return switch


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def project(make_project):
    return make_project(district="涪陵区", name="涪陵的项目")


@pytest.fixture
def officer(make_user):
    return make_user("officer")


@pytest.fixture
def no_storage_cache(app):
    """Storages are kept per app and settings; a test that changes the settings starts afresh."""
    app.extensions.pop("attachment_storage", None)
    yield
    app.extensions.pop("attachment_storage", None)


@pytest.fixture
def directory_storage(app, tmp_path, monkeypatch, no_storage_cache):
    root = tmp_path / "attachments"
    monkeypatch.setitem(app.config, "ATTACHMENT_STORAGE", "directory")
    monkeypatch.setitem(app.config, "ATTACHMENT_DIRECTORY", str(root))
    return root


@pytest.fixture
def s3_storage(app, monkeypatch, no_storage_cache):
    """An S3 bucket in moto's in-process mock (no network), chosen by the configuration."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="lianzhao-test")
        monkeypatch.setitem(app.config, "ATTACHMENT_STORAGE", "s3")
        monkeypatch.setitem(app.config, "ATTACHMENT_S3_BUCKET", "lianzhao-test")
        monkeypatch.setitem(app.config, "ATTACHMENT_S3_PREFIX", "附件/")
        yield client


def objects(client) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket="lianzhao-test").get("Contents", [])]


# ---------------------------------------------------------------- what a file is


OOXML = "application/vnd.openxmlformats-officedocument."
ALLOWED_SAMPLES = [
    ("pdf", pdf_bytes, sniffing.PDF, "application/pdf"),
    ("png", lambda: image_bytes("PNG"), sniffing.PNG, "image/png"),
    ("jpeg", lambda: image_bytes("JPEG"), sniffing.JPEG, "image/jpeg"),
    ("gif", lambda: image_bytes("GIF"), sniffing.GIF, "image/gif"),
    ("webp", lambda: image_bytes("WEBP"), sniffing.WEBP, "image/webp"),
    ("docx", lambda: ooxml("word/"), sniffing.DOCX, OOXML + "wordprocessingml.document"),
    ("xlsx", real_xlsx, sniffing.XLSX, OOXML + "spreadsheetml.sheet"),
    ("pptx", lambda: ooxml("ppt/"), sniffing.PPTX, OOXML + "presentationml.presentation"),
    ("doc", lambda: compound_file("1Table", "WordDocument", "\x05SummaryInformation"), sniffing.DOC,
     "application/msword"),
    ("xls", lambda: compound_file("Workbook"), sniffing.XLS, "application/vnd.ms-excel"),
    ("ppt", lambda: compound_file("Current User", "PowerPoint Document"), sniffing.PPT,
     "application/vnd.ms-powerpoint"),
]  # fmt: skip


@pytest.mark.parametrize(("extension", "make", "kind", "content_type"), ALLOWED_SAMPLES)
def test_each_allowed_kind_is_told_by_its_content(extension, make, kind, content_type):
    data = make()
    assert sniff(data) is kind and kind.content_type == content_type
    assert clean_name(f"现场资料.{extension}", kind) == f"现场资料.{extension}"


REFUSED_SAMPLES = [
    ("an .exe renamed .pdf", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "发票.pdf"),
    ("an HTML page", b"<!doctype html><script>alert(1)</script>", "照片.png"),
    ("an SVG image", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "图.svg"),
    ("a plain zip", None, "资料.zip"),
    ("a zip with content types but no Office part", ooxml("content/"), "文档.docx"),
    (
        "an OLE2 file that is no Office document (an .msi)",
        compound_file("\x05SummaryInformation"),
        "安装.doc",
    ),
    ("a PDF header not at the start", b"<html>" + pdf_bytes(), "报告.pdf"),
    ("a truncated zip", b"PK\x03\x04" + bytes(40), "表.xlsx"),
    ("a truncated compound file", sniffing.OLE_MAGIC + bytes(100), "表.xls"),
    ("a compound file whose directory loops", compound_file("WordDocument", looping=True), "环.doc"),
]


@pytest.mark.parametrize(("what", "data", "name"), REFUSED_SAMPLES, ids=[s[0] for s in REFUSED_SAMPLES])
def test_anything_else_is_refused_saying_what_is_allowed(project, officer, what, data, name):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "not an office document")
        data = buffer.getvalue()
    with pytest.raises(FileRefused, match="只能上传PDF、图片"):
        sniff(data)
    outcome = commit(lambda: store_attachment(project, upload(data, name), "其他", officer))
    assert isinstance(outcome.error, AttachmentError) and "按文件内容识别" in str(outcome.error)
    assert count(Attachment) == count(AttachmentBlob) == 0


def test_a_name_that_contradicts_the_content_is_refused(project, officer):
    outcome = commit(
        lambda: store_attachment(project, upload(image_bytes("PNG"), "x.pdf"), "现场照片", officer)
    )
    assert (
        str(outcome.error) == "文件名的扩展名“.pdf”与文件内容（PNG 图片，应为 .png）不符，请核对后重新上传。"
    )
    assert count(Attachment) == 0
    docx_named_xls = commit(
        lambda: store_attachment(project, upload(ooxml("word/"), "表.xls"), "其他", officer)
    )
    assert "（Word 文档，应为 .docx）" in str(docx_named_xls.error)


def test_an_encrypted_office_document_is_refused_with_its_reason():
    with pytest.raises(FileRefused, match="设有密码"):
        sniff(compound_file("EncryptionInfo", "EncryptedPackage"))


def test_a_zip_bomb_costs_nothing_to_sniff():
    # 100 MB of zeros deflate to some 100 KB: the directory is all that is read, nothing is inflated.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as part:
            for _ in range(100):
                part.write(bytes(MB))
    bomb = buffer.getvalue()
    assert len(bomb) < 1 * MB
    tracemalloc.start()
    started = time.perf_counter()
    kind = sniff(bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kind is sniffing.DOCX
    assert elapsed < 0.05 and peak < 64 * 1024, (elapsed, peak)


def test_a_directory_of_too_many_entries_is_refused_without_reading_them():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for number in range(sniffing.MAX_ZIP_ENTRIES):
            archive.writestr(f"word/media/{number}.png", b"")
    with pytest.raises(FileRefused, match="条目超过 10000 个"):
        sniff(buffer.getvalue())


@pytest.mark.parametrize(
    ("raw", "kind", "kept"),
    [
        ("签约协议（盖章版）.pdf", sniffing.PDF, "签约协议（盖章版）.pdf"),
        ("C:\\Users\\张三\\桌面\\营业执照.PDF", sniffing.PDF, "营业执照.PDF"),  # old browsers send the path
        ("../../etc/供地文件.pdf", sniffing.PDF, "供地文件.pdf"),
        ("现场\x00照片\r\n\u202e.jpg", sniffing.JPEG, "现场照片.jpg"),  # controls and a direction mark
        ("Cafe\u0301 照片.png", sniffing.PNG, "Café 照片.png"),  # NFC: one é, not e and an accent
        ("到位凭证", sniffing.PDF, "到位凭证.pdf"),  # no extension: the content's
        ("2026.第3版", sniffing.PDF, "2026.第3版.pdf"),  # “.第3版” is no extension
        (".pdf", sniffing.PDF, "附件.pdf"),
        ("", sniffing.XLSX, "附件.xlsx"),
        ("  .隐藏.docx ", sniffing.DOCX, "隐藏.docx"),
    ],
)
def test_names_are_kept_as_written_less_what_cannot_be_a_name(raw, kind, kept):
    assert clean_name(raw, kind) == kept


def test_a_long_name_is_cut_to_200_characters_keeping_its_extension():
    name = clean_name("招" * 250 + ".docx", sniffing.DOCX)
    assert len(name) == 200 and name == "招" * 195 + ".docx"


# ---------------------------------------------------------------- the service


def test_a_chinese_name_round_trips_with_its_size_hash_and_sniffed_type(project, make_user):
    reporter = make_user("district", "涪陵区")
    data = pdf_bytes(5000)
    # The browser said image/png; the content says PDF, and the content wins.
    sent = FileStorage(stream=io.BytesIO(data), filename=CHINESE_NAME, content_type="image/png")
    attachment = commit(lambda: store_attachment(project, sent, "签约协议", reporter)).value
    db.session.expire_all()
    stored = db.session.get(Attachment, attachment.id)
    assert (stored.name, stored.category, stored.content_type, stored.size) == (
        CHINESE_NAME,
        "签约协议",
        "application/pdf",
        len(data),
    )
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.created_by_id == reporter.id and stored.created_at is not None
    assert storage().get(stored.storage_key) == data
    assert CHINESE_NAME not in stored.storage_key and re.fullmatch(r"[0-9a-f]{32}", stored.storage_key)
    assert live_attachments(project) == [stored]
    logged = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "attachments"))
    assert logged.action == "insert" and logged.after["name"] == CHINESE_NAME
    blobs_logged = select(func.count()).select_from(AuditLog).where(AuditLog.table_name == "attachment_blobs")
    assert db.session.scalar(blobs_logged) == 0  # the bytes are not copied into the log


@pytest.mark.parametrize(
    ("sent", "category", "message"),
    [
        (FileStorage(stream=io.BytesIO(b""), filename="空.pdf"), "其他", "文件是空的（0 字节）"),
        (FileStorage(stream=io.BytesIO(b""), filename=""), "其他", "请选择要上传的文件"),
        (None, "其他", "请选择要上传的文件"),
        (FileStorage(stream=io.BytesIO(pdf_bytes()), filename="a.pdf"), "合同", "请选择附件类别（签约协议、"),
    ],
)
def test_bad_uploads_are_refused_in_chinese_and_write_nothing(project, officer, sent, category, message):
    outcome = commit(lambda: store_attachment(project, sent, category, officer))
    assert isinstance(outcome.error, AttachmentError) and message in str(outcome.error)
    assert count(Attachment) == count(AttachmentBlob) == 0


def test_the_size_limit_takes_a_file_at_the_limit_and_refuses_one_byte_more(
    app, monkeypatch, project, officer
):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)
    at_limit = pdf_bytes(4096 - len(pdf_bytes()))
    assert len(at_limit) == 4096
    assert commit(lambda: store_attachment(project, upload(at_limit), "其他", officer)).ok
    over = commit(lambda: store_attachment(project, upload(at_limit + b"\n"), "其他", officer))
    assert str(over.error) == "文件超过 4 KB 的上限，请压缩或拆分后再上传"
    assert count(Attachment) == count(AttachmentBlob) == 1


def test_the_default_limit_is_20_mb_and_the_request_limit_fits_it(monkeypatch, tmp_path):
    for name in ("ATTACHMENT_MAX_BYTES", "ATTACHMENT_STORAGE", "ATTACHMENT_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    config = settings(str(tmp_path))
    assert config["ATTACHMENT_MAX_BYTES"] == 20 * MB and config["ATTACHMENT_STORAGE"] == "database"
    assert config["MAX_CONTENT_LENGTH"] == 20 * MB + MULTIPART_ALLOWANCE
    monkeypatch.setenv("ATTACHMENT_MAX_BYTES", str(50 * MB))
    assert settings(str(tmp_path))["MAX_CONTENT_LENGTH"] == 50 * MB + MULTIPART_ALLOWANCE
    monkeypatch.setenv("ATTACHMENT_STORAGE", "ftp")
    with pytest.raises(ValueError, match="ATTACHMENT_STORAGE 应为 database、directory、s3 之一"):
        settings(str(tmp_path))
    monkeypatch.setenv("ATTACHMENT_STORAGE", "s3")
    with pytest.raises(ValueError, match="须设置环境变量 ATTACHMENT_S3_BUCKET"):
        settings(str(tmp_path))


def test_a_funds_entry_can_name_its_evidence_but_not_another_projects(project, make_project, officer):
    other = make_project(district="涪陵区")
    entry = FundEntry(project=project, amount_wan=500, arrived_on=date(2026, 3, 1))
    foreign = FundEntry(project=other, amount_wan=200, arrived_on=date(2026, 3, 1))
    db.session.add_all([entry, foreign])
    db.session.commit()
    receipt = commit(
        lambda: store_attachment(
            project, upload(image_bytes("JPEG"), "银行进账单.jpg"), "到位凭证", officer, entry
        )
    ).value
    assert db.session.get(Attachment, receipt.id).fund_entry_id == entry.id
    refused = store(project, pdf_bytes(), "进账单.pdf", officer, "到位凭证", foreign)
    assert str(refused.error) == "该到位资金登记不属于本项目" and count(Attachment) == 1


def test_deletion_is_soft_and_audited(project, make_user):
    uploader = make_user("district", "涪陵区")
    manager = make_user("manager")
    attachment = commit(lambda: store_attachment(project, upload(pdf_bytes()), "签约协议", uploader)).value
    assert commit(lambda: delete_attachment(db.session.get(Attachment, attachment.id), manager)).ok
    db.session.expire_all()
    kept = db.session.get(Attachment, attachment.id)
    assert kept.deleted_at is not None and kept.deleted_by_id == manager.id
    assert storage().get(kept.storage_key) == pdf_bytes()  # the bytes stay
    assert live_attachments(project) == []
    logged = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "attachments").order_by(AuditLog.id)
    ).all()
    assert [entry.action for entry in logged] == ["insert", "update"]
    assert logged[1].row_id == str(attachment.id)
    assert logged[1].after["deleted_by_id"] == manager.id and logged[1].before["deleted_at"] is None
    again = commit(lambda: delete_attachment(db.session.get(Attachment, attachment.id), manager))
    assert str(again.error) == "该附件已被删除"


def test_the_category_choices_are_the_bureaus():
    assert CATEGORIES == ("签约协议", "供地文件", "现场照片", "营业执照", "到位凭证", "其他")


# ---------------------------------------------------------------- the storages


@pytest.mark.parametrize("backend", ["database", "directory", "s3"])
def test_each_storage_puts_gets_and_deletes(request, backend):
    if backend == "directory":
        request.getfixturevalue("directory_storage")
    elif backend == "s3":
        request.getfixturevalue("s3_storage")
    where = storage()
    assert where.name == backend
    key, data = new_key(), pdf_bytes(3000)
    where.put(key, data)
    db.session.commit()
    assert where.get(key) == data
    where.delete(key)
    db.session.commit()
    with pytest.raises(Missing):
        where.get(key)


@pytest.mark.parametrize(
    "store", [DatabaseStorage(), DirectoryStorage("/tmp"), S3Storage("b", client=object())]
)
def test_no_key_but_the_storages_own_reaches_a_path_or_an_object(store):
    for forged in ("../../etc/passwd", "签约协议.pdf", "ABCDEF" * 6, ""):
        with pytest.raises(ValueError, match="无效的文件存储键"):
            store.get(forged)


def test_the_directory_storage_writes_atomically_under_key_paths(directory_storage, project, officer):
    attachment = commit(lambda: store_attachment(project, upload(pdf_bytes()), "签约协议", officer)).value
    files = [p for p in directory_storage.rglob("*") if p.is_file()]
    key = attachment.storage_key
    assert files == [directory_storage / key[:2] / key]  # no temporary file left, no user's name
    assert files[0].read_bytes() == pdf_bytes() and count(AttachmentBlob) == 0


@pytest.mark.parametrize("backend", ["directory", "s3"])
def test_a_file_written_by_a_save_that_rolls_back_is_removed(request, backend, project, officer):
    place = request.getfixturevalue(f"{backend}_storage")

    def stored() -> list:
        if backend == "directory":
            return [p for p in place.rglob("*") if p.is_file()]
        return objects(place)

    def store_then_fail():
        store_attachment(project, upload(pdf_bytes()), "签约协议", officer)
        assert len(stored()) == 1  # written before the commit …
        raise AttachmentError("后续检查未通过")

    outcome = commit(store_then_fail)
    assert str(outcome.error) == "后续检查未通过"
    assert stored() == [] and count(Attachment) == 0  # … and gone with the rollback
    kept = commit(lambda: store_attachment(project, upload(pdf_bytes()), "签约协议", officer)).value
    assert len(stored()) == 1 and storage().get(kept.storage_key) == pdf_bytes()


def test_the_s3_storage_keeps_objects_under_its_prefix(s3_storage, project, officer, client, log_in):
    attachment = commit(lambda: store_attachment(project, upload(pdf_bytes()), "签约协议", officer)).value
    assert objects(s3_storage) == [f"附件/{attachment.storage_key}"]
    assert count(AttachmentBlob) == 0
    log_in("manager")
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == pdf_bytes()


def test_a_file_changed_behind_the_applications_back_is_not_served(
    directory_storage, project, officer, client, log_in
):
    attachment = commit(lambda: store_attachment(project, upload(pdf_bytes()), "签约协议", officer)).value
    (directory_storage / attachment.storage_key[:2] / attachment.storage_key).write_bytes(b"%PDF-tampered")
    log_in("manager")
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 404 and "文件内容缺失或已损坏" in response.text


# ---------------------------------------------------------------- pages


def _upload_page(
    client, project_id: int, data: bytes, name: str = CHINESE_NAME, category: str = "签约协议", **kw
):
    return client.post(
        f"/projects/{project_id}/attachments",
        data={**form_data(data, name, category), **kw},
        content_type="multipart/form-data",
    )


def _upload_api(client, project_id: int, data: dict, **kw):
    return client.post(
        f"/api/v1/projects/{project_id}/attachments", data=data, content_type="multipart/form-data", **kw
    )


def _only_attachment() -> Attachment:
    return db.session.scalars(select(Attachment)).one()


def test_upload_from_the_project_page_and_fetch_it_with_its_chinese_name(client, log_in, project):
    log_in("district", "涪陵区")
    response = _upload_page(client, project.id, pdf_bytes())
    assert response.status_code == 302
    attachment = _only_attachment()
    assert response.headers["Location"] == f"/projects/{project.id}#attachment-{attachment.id}"
    assert response.headers["X-Attachment-Id"] == str(attachment.id)
    page = client.get(f"/projects/{project.id}").text
    assert f"已上传附件“{CHINESE_NAME}”" in page
    assert f'href="/attachments/{attachment.id}"' in page and f">{CHINESE_NAME}</a>" in page
    fetched = client.get(f"/attachments/{attachment.id}")
    assert fetched.status_code == 200 and fetched.data == pdf_bytes()
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    disposition = fetched.headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="attachment.pdf"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == CHINESE_NAME


@pytest.mark.parametrize(
    ("data", "name", "content_type", "disposition"),
    [
        (image_bytes("PNG"), "现场照片.png", "image/png", "inline"),
        (
            real_xlsx(),
            "投资明细.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "attachment",
        ),
        (compound_file("WordDocument"), "旧协议.doc", "application/msword", "attachment"),
    ],
)
def test_images_are_shown_and_office_documents_saved(
    client, log_in, project, data, name, content_type, disposition
):
    log_in("officer")
    assert _upload_page(client, project.id, data, name, "其他").status_code == 302
    attachment = _only_attachment()
    fetched = client.get(f"/attachments/{attachment.id}")
    assert fetched.headers["Content-Type"] == content_type and fetched.data == data
    assert fetched.headers["Content-Disposition"].startswith(disposition + ";")
    saved = client.get(f"/attachments/{attachment.id}?download=1")
    assert saved.headers["Content-Disposition"].startswith("attachment;")


def test_an_ascii_name_is_its_own_fallback(client, log_in, project):
    log_in("officer")
    _upload_page(client, project.id, pdf_bytes(), "contract-v2.pdf")
    disposition = client.get(f"/attachments/{_only_attachment().id}").headers["Content-Disposition"]
    assert disposition == "inline; filename=\"contract-v2.pdf\"; filename*=UTF-8''contract-v2.pdf"


def test_a_refused_upload_shows_the_project_page_with_the_message(client, log_in, project):
    log_in("district", "涪陵区")
    response = _upload_page(client, project.id, b"MZ\x90\x00" + bytes(100), "发票.pdf")
    assert response.status_code == 400
    assert (
        "涪陵的项目" in response.text
        and "不支持该文件的类型（按文件内容识别，与文件名无关）" in response.text
    )
    assert count(Attachment) == count(AttachmentBlob) == 0
    empty = _upload_page(client, project.id, b"", "空.pdf")
    assert empty.status_code == 400 and "文件是空的（0 字节）" in empty.text


def test_a_20_mb_file_fits_the_request_and_a_bigger_request_gets_the_chinese_413(client, log_in, project):
    log_in("officer")
    at_limit = pdf_bytes(20 * MB - len(pdf_bytes()))
    assert len(at_limit) == 20 * MB
    # Built in memory: the test client spools a large body to a temporary file it never closes.
    response = client.post(f"/projects/{project.id}/attachments", **multipart(at_limit, "二十兆.pdf"))
    assert response.status_code == 302
    assert _only_attachment().size == 20 * MB
    # More than the request limit with the file alone.
    big = multipart(bytes(20 * MB + MULTIPART_ALLOWANCE + 1), "太大.pdf")
    page = client.post(f"/projects/{project.id}/attachments", **big)
    assert page.status_code == 413 and "上传的文件太大" in page.text
    api = client.post(f"/api/v1/projects/{project.id}/attachments", **big)
    assert api.status_code == 413 and api.get_json() == {"error": "上传的文件太大。"}
    assert count(Attachment) == 1


@pytest.mark.usefixtures("csrf_enabled")
def test_the_upload_form_and_the_delete_button_need_the_csrf_token(client, log_in, project):
    log_in("district", "涪陵区")
    refused = _upload_page(client, project.id, pdf_bytes())
    assert refused.status_code == 400 and "缺少安全令牌（CSRF）" in refused.text and count(Attachment) == 0
    page = client.get(f"/projects/{project.id}").text
    form = page[page.index('data-testid="attachment-upload"') :]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert _upload_page(client, project.id, pdf_bytes(), csrf_token=token).status_code == 302
    attachment = _only_attachment()
    assert client.post(f"/attachments/{attachment.id}/delete").status_code == 400
    assert client.post(f"/attachments/{attachment.id}/delete", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Attachment, attachment.id).deleted_at is not None


def test_the_uploader_and_managers_delete_others_may_not(client, log_in, project, make_user):
    uploader = log_in("district", "涪陵区")
    _upload_page(client, project.id, pdf_bytes())
    attachment = _only_attachment()
    page = client.get(f"/projects/{project.id}").text
    assert f'action="/attachments/{attachment.id}/delete"' in page
    for role in ("officer", "district"):  # a colleague of the same district, an officer: not theirs
        log_in(role, "涪陵区" if role == "district" else None)
        assert (
            f'action="/attachments/{attachment.id}/delete"' not in client.get(f"/projects/{project.id}").text
        )
        assert client.post(f"/attachments/{attachment.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Attachment, attachment.id).deleted_at is None
    manager = log_in("manager")
    response = client.post(f"/attachments/{attachment.id}/delete", follow_redirects=True)
    assert f"已删除附件“{CHINESE_NAME}”。" in response.text and "尚无附件。" in response.text
    assert client.get(f"/attachments/{attachment.id}").status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/attachments").get_json() == {"items": []}
    db.session.expire_all()
    assert db.session.get(Attachment, attachment.id).created_by_id == uploader.id
    deletion = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "attachments").order_by(AuditLog.id.desc())
    ).first()
    assert (deletion.action, deletion.actor_name) == ("update", manager.username)
    assert set(deletion.after) == {"deleted_at", "deleted_by_id"}


def test_only_those_who_report_progress_upload(client, log_in, project):
    log_in("admin")
    assert "上传附件" not in client.get(f"/projects/{project.id}").text
    assert _upload_page(client, project.id, pdf_bytes()).status_code == 403
    api = client.post(
        f"/api/v1/projects/{project.id}/attachments",
        data=form_data(pdf_bytes()),
        content_type="multipart/form-data",
    )
    assert api.status_code == 403 and count(Attachment) == 0
    log_in("officer")
    assert "上传附件" in client.get(f"/projects/{project.id}").text


# ---------------------------------------------------------------- API


def test_the_api_uploads_and_lists_with_a_token(client, make_user, project):
    user = make_user("district", "涪陵区", display_name="涪陵专员")
    secret = create_token(user, "附件接口").secret
    read_only = create_token(user, "只读", read_only=True).secret
    db.session.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    created = client.post(
        f"/api/v1/projects/{project.id}/attachments",
        data=form_data(image_bytes("JPEG"), "现场照片（东门）.jpg", "现场照片"),
        content_type="multipart/form-data",
        headers=bearer,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert {
        k: body[k] for k in ("name", "category", "content_type", "size", "created_by", "fund_entry_id")
    } == {
        "name": "现场照片（东门）.jpg",
        "category": "现场照片",
        "content_type": "image/jpeg",
        "size": len(image_bytes("JPEG")),
        "created_by": "涪陵专员",
        "fund_entry_id": None,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", body["created_at"])
    assert body["url"] == f"/attachments/{body['id']}"
    listed = client.get(f"/api/v1/projects/{project.id}/attachments", headers=bearer).get_json()
    assert listed == {"items": [body]}
    # The file itself is served by the page route, which knows sessions only (tokens are for /api/).
    assert client.get(body["url"], headers=bearer).status_code == 302
    refused = client.post(
        f"/api/v1/projects/{project.id}/attachments",
        data=form_data(pdf_bytes()),
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {read_only}"},
    )
    assert refused.status_code == 403 and count(Attachment) == 1


@pytest.mark.usefixtures("csrf_enabled")
def test_the_api_with_a_session_needs_the_csrf_header(client, log_in, project):
    log_in("officer")
    url = f"/api/v1/projects/{project.id}/attachments"
    refused = client.post(url, data=form_data(pdf_bytes()), content_type="multipart/form-data")
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]
    csrf = client.get("/api/v1/me").get_json()["csrf_token"]
    created = client.post(
        url, data=form_data(pdf_bytes()), content_type="multipart/form-data", headers={"X-CSRFToken": csrf}
    )
    assert created.status_code == 201 and created.get_json()["name"] == CHINESE_NAME


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"category": "签约协议"}, "请选择要上传的文件"),
        (form_data(b"<svg/>", "图.svg"), "只能上传PDF、图片"),
        (form_data(image_bytes("PNG"), "x.pdf"), "文件名的扩展名“.pdf”与文件内容（PNG 图片"),
        (form_data(pdf_bytes(), category="合同"), "请选择附件类别"),
    ],
)
def test_the_api_refuses_in_chinese(client, log_in, project, data, message):
    log_in("officer")
    response = client.post(
        f"/api/v1/projects/{project.id}/attachments", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and message in response.get_json()["error"]
    assert count(Attachment) == 0


def test_the_openapi_description_names_what_the_api_returns(app, client, log_in, project):
    log_in("officer")
    spec = client.get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/api/v1/projects/{project_id}/attachments"]
    created = client.post(
        f"/api/v1/projects/{project.id}/attachments",
        data=form_data(pdf_bytes()),
        content_type="multipart/form-data",
    ).get_json()
    schemas = spec["components"]["schemas"]
    listed = path["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"$ref": "#/components/schemas/AttachmentList"}
    assert schemas["AttachmentList"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/Attachment"
    }
    created_schema = path["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created_schema == {"$ref": "#/components/schemas/Attachment"}
    assert set(schemas["Attachment"]["properties"]) == set(created)
    posted = path["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert posted["category"] == {"$ref": "#/components/schemas/Attachment/properties/category"}
    assert schemas["Attachment"]["properties"]["category"]["enum"] == list(CATEGORIES)
    assert path["get"]["tags"] == path["post"]["tags"] == ["项目"]
    with app.test_request_context():
        assert attachment_json(db.session.get(Attachment, created["id"])) == created


# ---------------------------------------------------------------- scope: another district is a 404 everywhere


def _attachment_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if "attachment" in rule.rule and not rule.rule.startswith("/events/")  # test_event_attachments.py
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _without_csrf_token(page: str) -> str:
    # The page's CSRF token carries a timestamp: two answers a second apart differ only there.
    return re.sub(r'(csrf[-_]token"? (?:content|value)=")[^"]+', r"\1", page)


def _try_every_route(client, project_id: int, attachment_id: int) -> dict[tuple[str, str], tuple[int, str]]:
    """Each attachment route, as this client, on this project and attachment: (status, body)."""
    answers = {}

    def record(rule, method, response):
        answers[(rule, method)] = (response.status_code, response.get_data(as_text=True))

    record("/projects/<int:project_id>/attachments", "POST", _upload_page(client, project_id, pdf_bytes()))
    api = f"/api/v1/projects/{project_id}/attachments"
    record("/api/v1/projects/<int:project_id>/attachments", "GET", client.get(api))
    record(
        "/api/v1/projects/<int:project_id>/attachments",
        "POST",
        client.post(api, data=form_data(pdf_bytes()), content_type="multipart/form-data"),
    )
    record("/attachments/<int:attachment_id>", "GET", client.get(f"/attachments/{attachment_id}"))
    record(
        "/attachments/<int:attachment_id>/delete", "POST", client.post(f"/attachments/{attachment_id}/delete")
    )
    return answers


def test_a_district_user_cannot_list_fetch_delete_or_guess_another_districts_files(
    app, client, log_in, make_user, make_project
):
    fuling = make_project(district="涪陵区", name="涪陵的项目")
    changshou = make_project(district="长寿区", name="长寿的项目")
    fuling_user, changshou_user = make_user("district", "涪陵区"), make_user("district", "长寿区")
    files = {
        "fuling": store(fuling, pdf_bytes(), "涪陵协议.pdf", fuling_user).value,
        "changshou": store(changshou, pdf_bytes(), "长寿协议.pdf", changshou_user).value,
        "deleted": store(changshou, pdf_bytes(), "已删协议.pdf", changshou_user).value,
    }
    commit(lambda: delete_attachment(db.session.get(Attachment, files["deleted"].id), changshou_user))
    ids = {name: a.id for name, a in files.items()}
    before = (count(Attachment), count(AttachmentBlob))

    for user, mine, theirs, own_name, their_name in (
        ("涪陵区", fuling, changshou, "涪陵协议.pdf", "长寿协议.pdf"),
        ("长寿区", changshou, fuling, "长寿协议.pdf", "涪陵协议.pdf"),
    ):
        log_in("district", user)
        their_file = ids["changshou"] if user == "涪陵区" else ids["fuling"]
        own_file = ids["fuling"] if user == "涪陵区" else ids["changshou"]
        answers = _try_every_route(client, theirs.id, their_file)
        assert set(answers) == _attachment_routes(app)  # every attachment route is tried
        for route, (status, body) in answers.items():
            assert status == 404, (user, route, status)
            assert their_name not in body and theirs.name not in body, (user, route)
        # Another district's file, a deleted file and an unknown id look exactly alike.
        unknown = max(ids.values()) + 5
        for path in ("/attachments/{}", "/attachments/{}/delete"):
            method = client.post if path.endswith("delete") else client.get
            replies = [method(path.format(i)) for i in (their_file, ids["deleted"], unknown)]
            assert len({(r.status_code, _without_csrf_token(r.get_data(as_text=True))) for r in replies}) == 1
            assert replies[0].status_code == 404
        # Guessing every id around them: only one's own district's file is there.
        guesses = range(max(1, min(ids.values()) - 5), unknown + 1)
        found = [i for i in guesses if client.get(f"/attachments/{i}").status_code == 200]
        assert found == [own_file]
        listed = client.get(f"/api/v1/projects/{mine.id}/attachments").get_json()["items"]
        assert [item["name"] for item in listed] == [own_name]
        assert their_name not in client.get(f"/projects/{mine.id}").text

    # Nothing was added or deleted by any of it.
    db.session.expire_all()
    assert (count(Attachment), count(AttachmentBlob)) == before
    assert db.session.get(Attachment, ids["fuling"]).deleted_at is None
    assert db.session.get(Attachment, ids["changshou"]).deleted_at is None
    assert visible_attachment_or_404(ids["fuling"], fuling_user).id == ids["fuling"]


# ---------------------------------------------------------------- the browser


def test_a_district_user_uploads_a_chinese_named_pdf_in_the_browser(
    page, live_server, live_app, make_project
):
    with live_app.app_context():
        project_id = make_project(district="涪陵区", name="浏览器附件项目").id
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_district")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/projects/{project_id}")
    form = page.get_by_test_id("attachment-upload")
    form.get_by_label("附件类别").select_option("签约协议")
    form.get_by_label("选择文件").set_input_files(
        files=[{"name": CHINESE_NAME, "mimeType": "application/pdf", "buffer": pdf_bytes(2048)}]
    )
    form.get_by_role("button", name="上传附件").click()
    expect(page.get_by_text(f"已上传附件“{CHINESE_NAME}”")).to_be_visible()
    row = page.get_by_test_id("attachments").locator("tr", has_text=CHINESE_NAME)
    expect(row).to_contain_text("签约协议")
    expect(row).to_contain_text("浏览器district")
    link = row.get_by_role("link", name=CHINESE_NAME, exact=True)
    response = page.request.get(live_server + link.get_attribute("href"))
    assert response.status == 200 and response.body() == pdf_bytes(2048)
    assert response.headers["content-type"] == "application/pdf"
    assert unquote(response.headers["content-disposition"].split("filename*=UTF-8''")[1]) == CHINESE_NAME
    # The download link saves it under its Chinese name.
    with page.expect_download() as downloading:
        row.get_by_role("link", name=f"下载 {CHINESE_NAME}").click()
    download = downloading.value
    assert download.suggested_filename == CHINESE_NAME
    assert download.path().read_bytes() == pdf_bytes(2048)
