"""Configuration comes from the environment; the secret key is never in the repository."""

import stat

import pytest

from crm import create_app
from crm.config import default_database_url, load_secret_key, normalise_database_url, settings


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path))
    second = load_secret_key(str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_empty_secret_key_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("")
    key = load_secret_key(str(tmp_path))
    assert len(key) >= 64 and (tmp_path / "secret_key").read_text() == key
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_secret_key(str(tmp_path)) == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_defaults_to_sqlite_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = settings(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == default_database_url(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///" + str(tmp_path))


def test_database_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://crm@db.internal/lianzhao")
    config = settings(str(tmp_path))
    # Plain postgresql:// URLs are pointed at psycopg 3, the driver that is installed.
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://crm@db.internal/lianzhao"


def test_normalise_keeps_other_urls():
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"


def test_create_app_reads_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k-123")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///:memory:")
    app = create_app()
    assert app.config["SECRET_KEY"] == "k-123"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///:memory:"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_no_secret_literal_in_repository():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in [*root.glob("crm/**/*.py"), root / "app.py"]:
        text = path.read_text(encoding="utf-8")
        assert 'SECRET_KEY = "' not in text and "SECRET_KEY='" not in text, path


def test_argon2_costs_from_environment(tmp_path, monkeypatch):
    costs = ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM")
    for name in costs:
        monkeypatch.delenv(name, raising=False)
    defaults = settings(str(tmp_path))
    assert [defaults[name] for name in costs] == [3, 65536, 4]
    monkeypatch.setenv("ARGON2_TIME_COST", "2")
    monkeypatch.setenv("ARGON2_MEMORY_COST", "19456")
    assert settings(str(tmp_path))["ARGON2_TIME_COST"] == 2
    assert settings(str(tmp_path))["ARGON2_MEMORY_COST"] == 19456
    monkeypatch.setenv("ARGON2_TIME_COST", "0")
    with pytest.raises(ValueError, match="ARGON2_TIME_COST"):
        settings(str(tmp_path))
