"""Settings from the environment; nothing secret is written in the repository."""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path


def default_database_url(instance_path: str) -> str:
    """The embedded default: an SQLite file under instance/."""
    return "sqlite:///" + str(Path(instance_path) / "lianzhao.sqlite3")


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    # The file is shared by every worker and server started from this directory, but a second
    # machine would make its own key and refuse the first one's sessions and CSRF tokens: servers on
    # several machines must all be given the same SECRET_KEY (gunicorn.conf.py warns when unset).
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists() and (existing := key_file.read_text(encoding="utf-8").strip()):
        return existing
    # Written to a private temporary file and linked into place: a second worker starting at the
    # same moment either wins the link or reads the complete key, never an empty file.
    candidate = key_file.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(candidate, key_file)
    except FileExistsError:
        if not key_file.read_text(encoding="utf-8").strip():
            os.replace(candidate, key_file)  # an empty file left by a crash is no key
    finally:
        candidate.unlink(missing_ok=True)
    return key_file.read_text(encoding="utf-8").strip()


def _json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def env_flag(name: str, default: bool = False) -> bool:
    """An on/off setting from the environment: 1, true, yes or on (any case) is on."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """A whole-number setting from the environment; a value that is not one stops the start."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ValueError(f"环境变量 {name} 应为不小于 {minimum} 的整数，现为 {value!r}")
    return number


def normalise_database_url(url: str) -> str:
    """Point plain postgres:// URLs at psycopg 3, the only PostgreSQL driver installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


MB = 1024 * 1024
# What a multipart upload adds around its file: boundaries, part headers (a 200-character Chinese
# name is 600 bytes of UTF-8, twice where a client also sends filename*=), the CSRF token, the
# category. MAX_CONTENT_LENGTH is the largest file plus this, so a file at the limit gets through
# and one byte more is the Chinese 413.
MULTIPART_ALLOWANCE = 64 * 1024
ATTACHMENT_BACKENDS = ("database", "directory", "s3")


def attachment_settings() -> dict:
    """Where uploaded attachments are kept and how large one may be (crm/files/storage.py); a
    setting that cannot work stops the start, in Chinese."""
    backend = (os.environ.get("ATTACHMENT_STORAGE") or "database").strip().lower()
    if backend not in ATTACHMENT_BACKENDS:
        choices = "、".join(ATTACHMENT_BACKENDS)
        raise ValueError(f"环境变量 ATTACHMENT_STORAGE 应为 {choices} 之一，现为 {backend!r}")
    bucket = os.environ.get("ATTACHMENT_S3_BUCKET", "").strip() or None
    if backend == "s3" and not bucket:
        raise ValueError("ATTACHMENT_STORAGE=s3 时须设置环境变量 ATTACHMENT_S3_BUCKET（存储桶名称）")
    return {
        "ATTACHMENT_STORAGE": backend,
        "ATTACHMENT_MAX_BYTES": env_int("ATTACHMENT_MAX_BYTES", 20 * MB, minimum=1),
        "ATTACHMENT_S3_BUCKET": bucket,
        # Empty: Amazon S3 itself; otherwise the store's URL (MinIO, a cloud's S3-compatible service).
        "ATTACHMENT_S3_ENDPOINT_URL": os.environ.get("ATTACHMENT_S3_ENDPOINT_URL", "").strip() or None,
        "ATTACHMENT_S3_PREFIX": os.environ.get("ATTACHMENT_S3_PREFIX", "attachments/").strip(),
    }


# Argon2id as in production with its cheapest costs: for the suite and the benchmarks, which make
# hundreds of users and measure pages, not hashing (tests/test_passwords.py checks the real costs).
CHEAP_PASSWORD_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1}


def settings(instance_path: str) -> dict:
    """The application's configuration, read from the environment."""
    secure_cookies = env_flag("SESSION_COOKIE_SECURE")
    attachments = attachment_settings()
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL") or default_database_url(instance_path)
        ),
        "SECRET_KEY": load_secret_key(instance_path),
        # JSON columns keep Chinese as Chinese (not \uXXXX), so a text search over them works.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "json_serializer": _json_dumps},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session: long forms must not expire
        # 20 MB as before (imports), or the largest attachment if larger, plus the multipart around it.
        "MAX_CONTENT_LENGTH": max(20 * MB, attachments["ATTACHMENT_MAX_BYTES"]) + MULTIPART_ALLOWANCE,
        **attachments,
        "PER_PAGE": 25,
        "TIMEZONE": "Asia/Shanghai",
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Password hashes are Argon2id with argon2-cffi's default costs (RFC 9106 "low memory": 3
        # passes over 64 MiB, 4 lanes; some 50 ms a login). Raising them rehashes each user at their
        # next login; the tests set tiny ones.
        "ARGON2_TIME_COST": env_int("ARGON2_TIME_COST", 3, minimum=1),
        "ARGON2_MEMORY_COST": env_int("ARGON2_MEMORY_COST", 65536, minimum=8),  # KiB
        "ARGON2_PARALLELISM": env_int("ARGON2_PARALLELISM", 4, minimum=1),
        # One JSON line per request on the "crm.request" logger (crm/core/requestlog.py). Off by
        # default so tests and `flask` commands stay quiet; gunicorn.conf.py turns it on for servers.
        "REQUEST_LOG": env_flag("REQUEST_LOG"),
        # How many reverse proxies (nginx) stand in front of the app. With 1, the client's address
        # and scheme are taken from the X-Forwarded-For / X-Forwarded-Proto nginx sets, so login
        # throttling and the logs see the real address instead of 127.0.0.1 for everyone. Leave 0
        # when clients reach gunicorn directly: those headers would then be the client's own say.
        "TRUSTED_PROXIES": env_int("TRUSTED_PROXIES", 0),
        # The 统计口径 in force (crm/projects/measures.py); empty: the reviewed file shipped with
        # the code, crm/projects/data/measures.yaml. Checked when the application starts.
        "MEASURES_FILE": os.environ.get("MEASURES_FILE") or None,
        # The 赛马榜's groups, single rankings, weights and definitions (crm/rankings/racing.py);
        # empty: crm/rankings/data/racing.yaml. Checked when the application starts.
        "RACING_FILE": os.environ.get("RACING_FILE") or None,
        # The definitions of the 招商活跃指数 (crm/rankings/activity.py); empty: the reviewed file
        # shipped with the code, crm/rankings/data/activity.yaml. Checked when the application starts.
        "ACTIVITY_FILE": os.environ.get("ACTIVITY_FILE") or None,
        # The deadlines of 督办 and 交办 and the lights they give (crm/supervision/rules.py), with the
        # holidays that working days skip; empty: crm/supervision/data/deadlines.yaml.
        "DEADLINES_FILE": os.environ.get("DEADLINES_FILE") or None,
        # The labelled firms `flask match learn` and `match evaluate` measure the matcher on; empty:
        # the project's own set, tests/data/match_eval.yaml (skipped when the file is absent).
        "MATCH_EVAL_FILE": os.environ.get("MATCH_EVAL_FILE") or None,
        # The daily digest of notifications goes out over SMTP when this is set:
        # smtp://user:password@host:25, smtp+starttls://…:587 or smtps://…:465. Empty: no e-mail.
        "SMTP_URL": os.environ.get("SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM") or "lianzhao@localhost",
        # The address the digest links back to (the notification centre).
        "PUBLIC_URL": os.environ.get("PUBLIC_URL") or "http://127.0.0.1:5000",
        # The issuing unit printed at the head of every weekly brief (简报的发文单位).
        "BRIEF_ISSUER": os.environ.get("BRIEF_ISSUER") or "重庆市招商投资局",
    }
