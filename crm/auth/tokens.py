"""Personal API tokens: made (shown once), listed, revoked; and the request hook that lets a token's
user call /api/v1/ with `Authorization: Bearer lz_…`, for that request only.

A token is `lz_` and 43 random base-62 characters (about 256 bits), from `secrets`. Only its SHA-256
is stored. A fast hash is right here, unlike for passwords: a slow hash (Argon2, bcrypt) exists to
make guessing a *human-chosen* password from a stolen hash expensive, but nobody can enumerate 2^256
random tokens however fast the hash is; a fast one keeps every API request cheap and lets the token
be found by an indexed equality lookup (no per-row salt, no scan). The `lz_` prefix lets secret
scanners (and people) recognise a leaked token.

The verbs validate, mutate and flush; the caller commits (save, committing) as for every service.
"""

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from crm.auth.models import ADMIN, TOKEN_ACTIVE, TOKEN_EXPIRED, TOKEN_REVOKED, ApiToken, User
from crm.core.errors import is_api_request
from crm.core.text import required_text
from crm.core.timeutil import format_local, to_local, utcnow
from crm.core.transaction import Refusal
from crm.extensions import db

TOKEN_PREFIX = "lz_"
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 43  # base 62: 43 characters hold 256 bits
SHOWN_PREFIX = len(TOKEN_PREFIX) + 6  # what the lists show of a token: lz_ and six characters
MAX_TOKEN_LENGTH = 128  # anything longer is not one of ours: refused before hashing or querying
DEFAULT_EXPIRES_DAYS = 90
MAX_EXPIRES_DAYS = 3650
USE_NOTED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

INVALID = "API 令牌无效"
EXPIRED = "API 令牌已过期，请创建新的令牌"
REVOKED = "API 令牌已被撤销"
USER_DISABLED = "API 令牌所属账号已停用"
BAD_HEADER = "Authorization 请求头应为“Bearer <API 令牌>”"
READ_ONLY = "此 API 令牌为只读令牌，不能修改数据"


class TokenError(Refusal):
    """A token change that cannot be made; the message is for the person who asked."""


@dataclass(frozen=True)
class IssuedToken:
    """A token just made, with its secret: the only time the secret exists outside the caller's hands."""

    token: ApiToken
    secret: str


@dataclass(frozen=True)
class TokenUse:
    """The token this request came with (plain values: they outlive a commit that expires the row)."""

    id: int
    name: str
    read_only: bool
    expires_at: datetime


def token_hash(secret: str) -> str:
    """What is stored of a token, and what a presented one is looked up by (see the module's note)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A fresh token: lz_ and 43 base-62 characters from the operating system's CSPRNG."""
    return TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))


def parse_days(value) -> int:
    """The validity in days (1 … MAX_EXPIRES_DAYS); empty means DEFAULT_EXPIRES_DAYS."""
    if value is None or value == "":
        return DEFAULT_EXPIRES_DAYS
    text = str(value).strip()
    whole = not isinstance(value, bool) and text.isascii() and text.isdigit() and len(text) <= 9
    if not whole or not 1 <= int(text) <= MAX_EXPIRES_DAYS:
        raise TokenError(f"有效天数应为 1–{MAX_EXPIRES_DAYS} 之间的整数", field="expires_days")
    return int(text)


def create_token(
    user: User, name: str | None, read_only: bool = False, expires_days=None, by: User | None = None
) -> IssuedToken:
    """A new token for `user`, made by `by` (the user, an administrator; None on the command line)."""
    name = required_text(name, "令牌名称", 64, lambda message: TokenError(message, field="name"))
    days = parse_days(expires_days)
    if not user.active:
        raise TokenError(f"账号“{user.username}”已停用，不能为其创建 API 令牌")
    secret = new_secret()
    token = ApiToken(
        user=user,
        name=name,
        token_hash=token_hash(secret),
        prefix=secret[:SHOWN_PREFIX],
        read_only=bool(read_only),
        created_by_id=by.id if by is not None else None,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    return IssuedToken(token, secret)


def revoke_token(token: ApiToken) -> ApiToken:
    """Stop a token working at once; it stays listed, marked revoked."""
    if token.revoked_at is not None:
        raise TokenError(f"令牌“{token.name}”已于 {format_local(token.revoked_at)} 撤销")
    token.revoked_at = utcnow()
    db.session.flush()
    return token


def token_query(user: User | None = None):
    """Tokens (of `user`, else everyone's), the newest first, their users loaded."""
    stmt = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc())
    return stmt if user is None else stmt.where(ApiToken.user_id == user.id)


def tokens_of(user: User | None = None) -> list[ApiToken]:
    return list(db.session.scalars(token_query(user)))


def may_manage(user, token: ApiToken) -> bool:
    """A user manages their own tokens; an administrator everyone's."""
    return user.id == token.user_id or user.has_role(ADMIN)


# --- The request side ----------------------------------------------------------------------------


def current_token() -> TokenUse | None:
    """The API token this request authenticated with, or None (a session cookie, or no one)."""
    return g.get("api_token")


def _refuse(message: str, status: int = 401, error: str = "invalid_token"):
    # RFC 6750: the challenge names the scheme; the Chinese reason is in the body (headers are ASCII).
    response = jsonify(error=message)
    response.status_code = status
    response.headers["WWW-Authenticate"] = f'Bearer realm="lianzhao", error="{error}"'
    return response


def _note_use(token: ApiToken, now: datetime) -> None:
    """Record when the token was last used (at most once a minute: a polling system must not turn
    every read into a write). Committed at once, before the view: a read commits nothing else, and a
    refused write must not roll the note back. Not in the audit log (__audit_hidden__)."""
    last = to_local(token.last_used_at)
    if last is not None and now - last < USE_NOTED_EVERY:
        return
    token_id, token.last_used_at = token.id, now
    try:
        db.session.commit()
    except OperationalError:  # the database busy with another writer: the note is not worth a failure
        db.session.rollback()
        current_app.logger.warning("未能记录 API 令牌 %s 的使用时间", token_id)


def bearer_login():
    """before_request, ahead of require_login: on the API, an Authorization header is the credential.

    A valid token logs its user in for this request only: Flask-Login's request user is set and
    nothing is written to the session, so no cookie is issued. Anything wrong with the token (unknown,
    expired, revoked, its user disabled, a malformed header) is a 401 — never a silent fall-back to a
    session cookie sent alongside. A read-only token gets a 403 on any write. Pages ignore the header."""
    header = request.headers.get("Authorization")
    if header is None or not is_api_request():
        return None
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return _refuse(BAD_HEADER, error="invalid_request")
    token = None
    if len(secret) <= MAX_TOKEN_LENGTH:
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if token is None:
        return _refuse(INVALID)
    now = utcnow()
    status = token.status(now)
    if status != TOKEN_ACTIVE:
        return _refuse({TOKEN_EXPIRED: EXPIRED, TOKEN_REVOKED: REVOKED}[status])
    if not token.user.active:
        return _refuse(USER_DISABLED)
    if token.read_only and request.method not in READ_METHODS:
        return _refuse(READ_ONLY, 403, "insufficient_scope")
    use = TokenUse(token.id, token.name, token.read_only, to_local(token.expires_at))
    user_id = token.user_id
    _note_use(token, now)
    # Read after the commit, so nothing about the user is expired when the audit log reads it in a flush.
    user = db.session.get(User, user_id)
    g.api_token = use
    # What Flask-Login's own loaders set (and crm.core.actor reads): current_user for this request.
    g._login_user = user
    return None
