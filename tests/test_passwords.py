"""Password hashes are Argon2id; older hashes (werkzeug's PBKDF2 or scrypt, Argon2 with other costs)
still log in, and the login replaces them with an Argon2id hash of today's costs."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from crm import create_app
from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.extensions import db
from tests.conftest import PASSWORD

TEST_COSTS = "m=8,t=1,p=1"  # tests/conftest.py's cheap Argon2 parameters


def _stored_hash(user_id: int) -> str:
    db.session.expire_all()
    return db.session.get(User, user_id).password_hash


def _give_hash(user: User, stored: str) -> None:
    user.password_hash = stored
    db.session.commit()


def test_new_hashes_are_argon2id_with_the_configured_costs(make_user):
    user = make_user("officer")
    assert user.password_hash.startswith("$argon2id$v=19$" + TEST_COSTS + "$")
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_production_hash_is_argon2id_with_the_default_costs():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        user = User(username="x")
        user.set_password("whatever-123")
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(user.password_hash, "whatever-123")


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "scrypt:16384:8:1"])
def test_an_older_werkzeug_hash_logs_in_and_is_replaced_by_argon2(client, make_user, method):
    user = make_user("officer")
    _give_hash(user, generate_password_hash(PASSWORD, method=method))
    assert not _stored_hash(user.id).startswith("$argon2")

    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302

    stored = _stored_hash(user.id)
    assert stored.startswith("$argon2id$v=19$" + TEST_COSTS + "$")
    assert db.session.get(User, user.id).check_password(PASSWORD)
    # The change is in the audit log under the user who logged in, the hash itself hidden.
    entries = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.table_name == "users", AuditLog.row_id == str(user.id))
        .order_by(AuditLog.id)  # PostgreSQL returns rows in no set order without it
    ).all()
    *_, rehash, login = entries
    assert rehash.action == "update" and rehash.after == {"password_hash": "******"}
    assert (rehash.actor_id, rehash.actor_name) == (user.id, user.username)
    assert login.action == "login"  # the login itself is still its own access event
    # And the new hash works for the next login.
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_a_wrong_password_does_not_rehash(client, make_user):
    user = make_user("officer")
    old = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    _give_hash(user, old)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD + "-wrong"})
    assert response.status_code == 200 and "用户名或密码错误" in response.text
    assert _stored_hash(user.id) == old


def test_a_disabled_user_is_not_rehashed(client, make_user):
    user = make_user("officer")
    old = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    user.active = False
    _give_hash(user, old)
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 200
    assert _stored_hash(user.id) == old


def test_argon2_with_outdated_costs_is_rehashed_on_login(client, make_user):
    user = make_user("officer")
    _give_hash(user, PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD))
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    assert _stored_hash(user.id).startswith("$argon2id$v=19$" + TEST_COSTS + "$")


def test_a_current_hash_is_left_alone_on_login(client, make_user):
    user = make_user("officer")
    current = user.password_hash
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    assert _stored_hash(user.id) == current


@pytest.mark.parametrize("stored", ["", "garbage", "$argon2id$v=19$m=8,t=1,p=1$broken", "md5$x$y"])
def test_a_damaged_hash_matches_no_password(make_user, stored):
    user = make_user("officer")
    user.password_hash = stored
    assert user.check_password(PASSWORD) is False
