"""Login throttling: too many wrong passwords for one login name, or from one address, lock further
attempts for a while — growing with each round — whether or not the name exists, so a lock reveals
nothing. Every attempt is kept (LoginAttempt, audited); an administrator can unlock a name."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from crm.auth.models import FAILURE, SUCCESS, UNLOCK, LoginAttempt
from crm.auth.service import normalise_username
from crm.core.timeutil import utcnow
from crm.extensions import db

MAX_FAILURES = 5  # wrong passwords in a row for one name before it is locked
LOCK_MINUTES = 15  # the first lock; each further round of failures doubles it, up to a day
ADDRESS_MAX_FAILURES = 20  # wrong passwords from one address within LOCK_MINUTES (many names tried)
RECENT = 100  # attempts of a name read to find its failures in a row


def name_key(username: str | None) -> str:
    """The login name as throttling counts it: width-folded, case-folded, bounded."""
    return normalise_username(username).lower()[:64]


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def locked_until(username: str | None, address: str, now: datetime | None = None) -> datetime | None:
    """When this name (or this address) may try again, or None if it may now."""
    now = now or utcnow()
    rows = db.session.execute(
        select(LoginAttempt.outcome, LoginAttempt.at)
        .where(LoginAttempt.username_key == name_key(username))
        .order_by(LoginAttempt.id.desc())
        .limit(RECENT)
    ).all()
    failures = []
    for outcome, at in rows:
        if outcome in (SUCCESS, UNLOCK):
            break
        if outcome == FAILURE:
            failures.append(_aware(at))
    candidates = []
    if len(failures) >= MAX_FAILURES:
        rounds = len(failures) // MAX_FAILURES
        minutes = min(LOCK_MINUTES * 2 ** (rounds - 1), 24 * 60)
        candidates.append(failures[0] + timedelta(minutes=minutes))
    if address:
        since = now - timedelta(minutes=LOCK_MINUTES)
        recent, last = db.session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.address == address[:64],
                LoginAttempt.outcome == FAILURE,
                LoginAttempt.at >= since,
            )
        ).one()
        if recent >= ADDRESS_MAX_FAILURES:
            candidates.append(_aware(last) + timedelta(minutes=LOCK_MINUTES))
    until = max((c for c in candidates if c > now), default=None)
    return until


def record_attempt(username: str | None, address: str, outcome: str, by=None) -> LoginAttempt:
    """Keep one attempt (failure, success, one refused while locked) or an unlock by `by`."""
    attempt = LoginAttempt(
        username_key=name_key(username),
        address=(address or "")[:64],
        outcome=outcome,
        by_id=getattr(by, "id", None),
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def unlock(username: str, by) -> LoginAttempt:
    """An administrator lets a locked name try again at once."""
    return record_attempt(username, "", UNLOCK, by)
