"""Telling people things: who belongs to a unit, posting notifications (once per subject, to those
who want that kind), the centre's reads, and each person's settings.

`post` is how every other module notifies: the 督办 and 交办 verbs as they happen, the daily job
(crm.reminders) for deadlines and quiet leads. A notification names its subject by `key`; posting
a key a person already has adds nothing, which is what makes the daily job safe to run twice."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, select, tuple_, update

from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.core.text import EMAIL, clean_text
from crm.core.timeutil import utcnow
from crm.core.transaction import Refusal
from crm.core.validation import Problems
from crm.extensions import db
from crm.inbox.models import AHEAD_DAYS, IDLE_DAYS, KINDS, MAX_DAYS, Notification, NotificationSettings

BUREAU = (OFFICER, MANAGER)
RECEIVERS = (OFFICER, MANAGER, DISTRICT)  # administrators keep the system and are told nothing
CHUNK = 500


class SettingsError(Refusal):
    """Settings that cannot be saved; the message says why, in Chinese."""


def unit_members(division_id: int | None = None, district_id: int | None = None) -> list[User]:
    """The active people of a division (its officers and managers) or of a district (its staff)."""
    if division_id is None and district_id is None:
        return []
    stmt = select(User).where(User.active.is_(True))
    if division_id is not None:
        stmt = stmt.where(User.division_id == division_id, User.role.in_(BUREAU))
    else:
        stmt = stmt.where(User.district_id == district_id, User.role == DISTRICT)
    return list(db.session.scalars(stmt.order_by(User.id)))


def managers() -> list[User]:
    stmt = select(User).where(User.active.is_(True), User.role == MANAGER)
    return list(db.session.scalars(stmt.order_by(User.id)))


@dataclass(frozen=True)
class Message:
    """One notification to post: to whom, of what kind, saying what, linking where, about what."""

    user_id: int
    kind: str
    text: str
    url: str
    key: str


def settings_of(user_ids: Iterable[int]) -> dict[int, NotificationSettings]:
    """Each person's settings; the defaults (not stored) for those who never changed them."""
    ids = sorted(set(user_ids))
    found: dict[int, NotificationSettings] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(NotificationSettings).where(
            NotificationSettings.user_id.in_(ids[start : start + CHUNK])
        )
        found.update((row.user_id, row) for row in db.session.scalars(stmt))
    return {
        ident: found.get(ident)
        or NotificationSettings(
            user_id=ident, muted="", idle_days=IDLE_DAYS, ahead_days=AHEAD_DAYS, email="", digest=True
        )
        for ident in ids
    }


def post_all(messages: Iterable[Message]) -> int:
    """Add the messages people want and do not have yet (same person, same key); how many were
    added. Whoever is inactive, or not a user of the working roles, gets nothing."""
    wanted: dict[tuple[int, str], Message] = {}
    for message in messages:
        wanted.setdefault((message.user_id, message.key), message)
    if not wanted:
        return 0
    people = {
        user.id: user
        for user in db.session.scalars(select(User).where(User.id.in_({uid for uid, _ in wanted})))
        if user.active and user.role in RECEIVERS
    }
    settings = settings_of(people)
    pairs = [pair for pair, m in wanted.items() if m.user_id in people and settings[m.user_id].wants(m.kind)]
    had: set[tuple[int, str]] = set()
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start : start + CHUNK]
        stmt = select(Notification.user_id, Notification.key).where(
            tuple_(Notification.user_id, Notification.key).in_(chunk)
        )
        had.update(tuple(row) for row in db.session.execute(stmt))
    added = [wanted[pair] for pair in pairs if pair not in had]
    db.session.add_all(
        Notification(user_id=m.user_id, kind=m.kind, text=m.text[:300], url=m.url[:200], key=m.key[:120])
        for m in added
    )
    db.session.flush()
    return len(added)


def post(users: Iterable[User], kind: str, text: str, url: str, key: str, exclude: User | None = None) -> int:
    """Tell each of `users` (but the one who did it) `text`, once for `key`."""
    skip = exclude.id if exclude is not None else None
    return post_all(Message(user.id, kind, text, url, key) for user in users if user.id != skip)


# ---------------------------------------------------------------- the centre


def inbox_query(user: User, unread: bool = False) -> Select:
    """A person's notifications, newest first (only ever their own)."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(user: User) -> int:
    stmt = select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return db.session.scalar(stmt) or 0


def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the person's notifications read: these, or all of them; how many changed. Another
    person's ids change nothing."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        wanted = [ident for ident in ids if isinstance(ident, int)]
        if not wanted:
            return 0
        stmt = stmt.where(Notification.id.in_(wanted))
    return db.session.execute(
        stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


def _day_count(value, label: str) -> int:
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        raise SettingsError(f"{label}须为 1 到 {MAX_DAYS} 之间的整数")
    return int(text)


def save_settings(user: User, raw: dict) -> NotificationSettings:
    """Save a person's settings from submitted values: `kinds` (those wanted), `idle_days`,
    `ahead_days`, `email`, `digest`. Anything unusable is refused beside its field."""
    problems = Problems(SettingsError)
    values: dict = {}
    with problems.field("kinds"):
        kinds = raw.get("kinds") or []
        if isinstance(kinds, str):
            kinds = [kinds]
        if not isinstance(kinds, list) or any(kind not in KINDS for kind in kinds):
            raise SettingsError("通知类型无效，请从列表中选择")
        values["muted"] = ",".join(kind for kind in KINDS if kind not in kinds)
    with problems.field("idle_days"):
        values["idle_days"] = _day_count(raw.get("idle_days"), "线索未跟进提醒天数")
    with problems.field("ahead_days"):
        values["ahead_days"] = _day_count(raw.get("ahead_days"), "日期临近提醒天数")
    with problems.field("email"):
        email = clean_text(raw.get("email"), "电子邮箱", 254, SettingsError)
        if email and not EMAIL.match(email):
            raise SettingsError("电子邮箱格式不正确，例如 name@example.gov.cn")
        values["email"] = email
    with problems.field("digest"):
        values["digest"] = raw.get("digest") in (True, "1", "y", "on", "true")
        if values["digest"] and not values.get("email", "x"):
            raise SettingsError("接收每日邮件摘要须先填写电子邮箱")
    problems.raise_first()
    row = db.session.get(NotificationSettings, user.id)
    if row is None:
        row = NotificationSettings(user_id=user.id)
        db.session.add(row)
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
    db.session.flush()
    return row
