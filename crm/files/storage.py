"""Where the bytes of uploaded files are kept, behind one small interface: put, get, delete by key.

`ATTACHMENT_STORAGE` chooses the place:
- `database` (default): a row of `attachment_blobs`, written in the same transaction as the record
  that names it, so the two commit or roll back together and a backup carries both;
- `directory`: one file per key under instance/attachments/ (the backup archives instance/),
  written to a hidden temporary file and renamed into place, so a reader never sees half a file;
- `s3`: an object in an S3-compatible store (`ATTACHMENT_S3_BUCKET`, `ATTACHMENT_S3_ENDPOINT_URL`,
  `ATTACHMENT_S3_PREFIX`; credentials from the usual AWS_* variables), for servers that share no
  disk. Needs boto3 (`pip install '.[s3]'`).

Keys are made here (random hex), never from anything a user sent, so no name can reach a path or an
object key. Files written outside the database in a transaction that then rolls back are removed
again (a session listener below): a refused or failed save leaves nothing behind.
"""

import logging
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

from flask import current_app
from sqlalchemy import LargeBinary, String, delete, event, insert, select
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from crm.config import ATTACHMENT_BACKENDS
from crm.extensions import db

BACKENDS = ATTACHMENT_BACKENDS
KEY = re.compile(r"[0-9a-f]{32}")
log = logging.getLogger(__name__)
_WRITTEN = "files_written"  # session.info: (storage, key) written outside the database this transaction


class StorageError(RuntimeError):
    """The storage is misconfigured or unreachable (not the user's fault): logged, the 500 page."""


class Missing(LookupError):
    """No content under this key: the file was removed behind the application's back."""


def new_key() -> str:
    """A fresh random key: 128 bits, in hex."""
    return secrets.token_hex(16)


def _checked(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"无效的文件存储键：{key!r}")
    return key


class Storage(Protocol):
    """What every place that keeps file contents offers."""

    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class AttachmentBlob(db.Model):
    """The bytes of one file kept in the database. Not audited: the record naming it is, and the
    log would only say “<20971520 字节>”."""

    __tablename__ = "attachment_blobs"
    __audited__ = False

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<AttachmentBlob {self.key}>"


class DatabaseStorage:
    """Contents as rows of attachment_blobs, in the caller's transaction."""

    name = "database"

    def put(self, key: str, data: bytes) -> None:
        # A Core insert, not an ORM object: 20 MB need not sit in the session until the commit.
        db.session.execute(insert(AttachmentBlob).values(key=_checked(key), data=data))

    def get(self, key: str) -> bytes:
        data = db.session.scalar(select(AttachmentBlob.data).where(AttachmentBlob.key == _checked(key)))
        if data is None:
            raise Missing(key)
        return bytes(data)  # PostgreSQL's driver returns a memoryview

    def delete(self, key: str) -> None:
        db.session.execute(delete(AttachmentBlob).where(AttachmentBlob.key == _checked(key)))


class DirectoryStorage:
    """Contents as files root/ab/abcdef… (the first two hex digits spread them over 256 folders)."""

    name = "directory"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Hidden while it is written (the backup skips dot files), then renamed: atomic on POSIX.
        temporary = target.with_name(f".{key}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        _written(self, key)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as error:
            raise Missing(key) from error

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class S3Storage:
    """Contents as objects prefix+key of one bucket of an S3-compatible store."""

    name = "s3"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client=None):
        if not bucket:
            raise StorageError("ATTACHMENT_STORAGE=s3 需要设置 ATTACHMENT_S3_BUCKET（存储桶名称）")
        self.bucket, self.prefix = bucket, prefix
        if client is None:
            try:
                import boto3  # optional: only deployments that use S3 install it (the s3 extra)
            except ImportError as error:
                raise StorageError("ATTACHMENT_STORAGE=s3 需要 boto3：pip install '.[s3]'") from error
            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client = client

    def _object(self, key: str) -> str:
        return self.prefix + _checked(key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._object(key), Body=data, ContentType="application/octet-stream"
        )
        _written(self, key)

    def get(self, key: str) -> bytes:
        name = self._object(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=name)
        except self.client.exceptions.NoSuchKey as error:
            raise Missing(key) from error
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))


def directory_root(app=None) -> Path:
    """instance/attachments/, unless ATTACHMENT_DIRECTORY (the tests') says otherwise."""
    app = app or current_app
    return Path(app.config.get("ATTACHMENT_DIRECTORY") or Path(app.instance_path) / "attachments")


def storage() -> Storage:
    """The storage the configuration chooses, made once per app and settings (an S3 client costs
    tens of milliseconds to build)."""
    config = current_app.config
    backend = config.get("ATTACHMENT_STORAGE") or "database"
    settings = (
        backend,
        str(directory_root()),
        config.get("ATTACHMENT_S3_BUCKET"),
        config.get("ATTACHMENT_S3_PREFIX") or "",
        config.get("ATTACHMENT_S3_ENDPOINT_URL"),
    )
    kept = current_app.extensions.setdefault("attachment_storage", {})
    if settings not in kept:
        if backend == "database":
            kept[settings] = DatabaseStorage()
        elif backend == "directory":
            kept[settings] = DirectoryStorage(Path(settings[1]))
        elif backend == "s3":
            kept[settings] = S3Storage(settings[2], settings[3], settings[4])
        else:
            raise StorageError(f"ATTACHMENT_STORAGE 应为 {' / '.join(BACKENDS)} 之一，现为 {backend!r}")
    return kept[settings]


# ---- Files written in a transaction that does not commit are removed --------------------------


def _written(where: Storage, key: str) -> None:
    db.session.info.setdefault(_WRITTEN, []).append((where, key))


def _committed(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the list is already gone; anything still listed belongs to a rollback (a
    # refusal after the write, a failed commit, a session closed without committing).
    if transaction.parent is None:
        for where, key in session.info.pop(_WRITTEN, []):
            try:
                where.delete(key)
            except Exception:  # the rollback itself must go on; an orphan only costs space
                log.exception("未能删除未提交的附件文件 %s", key)


for _name, _listener in (("after_commit", _committed), ("after_transaction_end", _ended)):
    if not event.contains(Session, _name, _listener):
        event.listen(Session, _name, _listener)
