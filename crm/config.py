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


def normalise_database_url(url: str) -> str:
    """Point plain postgres:// URLs at psycopg 3, the only PostgreSQL driver installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def settings(instance_path: str) -> dict:
    """The application's configuration, read from the environment."""
    secure_cookies = os.environ.get("SESSION_COOKIE_SECURE", "").lower() in {"1", "true", "yes"}
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
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "PER_PAGE": 25,
        "TIMEZONE": "Asia/Shanghai",
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Password hashes are Argon2id with argon2-cffi's default costs (RFC 9106 "low memory": 3
        # passes over 64 MiB, 4 lanes; some 50 ms a login). Raising them rehashes each user at their
        # next login; the tests set tiny ones.
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,  # KiB
        "ARGON2_PARALLELISM": 4,
    }
