"""The daily e-mail digest: to each person who asked for it (and gave an address), the
notifications they have neither read nor been mailed yet — one message a day at most, whatever
reruns the job. Sent over SMTP_URL (smtp://, smtp+starttls://, smtps://, with user:password@ when
the server wants a login); nothing is sent when it is not configured."""

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from crm.auth.models import User
from crm.core.timeutil import format_local, utcnow
from crm.extensions import db
from crm.inbox.models import KIND_LABELS, Digest, Notification, NotificationSettings
from crm.inbox.service import RECEIVERS

SCHEMES = ("smtp", "smtp+starttls", "smtps")
TIMEOUT = 30
LISTED = 100  # notifications listed in one e-mail; the rest are counted


class MailError(ValueError):
    """An SMTP_URL that cannot be used; the message says why, in Chinese."""


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    user: str = ""
    password: str = field(default="", repr=False)


def parse_smtp_url(url: str) -> Server:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise MailError(
            f"SMTP_URL 须形如 smtp://主机:端口（或 smtp+starttls://、smtps://），现为“{url[:60]}”"
        )
    try:
        port = parts.port or (
            465 if parts.scheme == "smtps" else 587 if parts.scheme == "smtp+starttls" else 25
        )
    except ValueError as error:
        raise MailError("SMTP_URL 的端口不是有效数字") from error
    return Server(
        parts.scheme, parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or "")
    )


def _connect(server: Server) -> smtplib.SMTP:
    if server.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        if server.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
    if server.user:
        client.login(server.user, server.password)
    return client


def compose(
    user: User, address: str, notes: list[Notification], total: int, day: date, sender: str, site: str
) -> EmailMessage:
    """The digest of one person: each notification with its kind, time and link."""
    message = EmailMessage()
    message["Subject"] = f"链招每日提醒（{day.isoformat()}）：{total} 条未读通知"
    message["From"] = sender
    message["To"] = address
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="lianzhao")
    lines = [f"{user.display_name}，您好：", "", f"您在链招有 {total} 条尚未读过的通知：", ""]
    for note in notes:
        link = f"{site.rstrip('/')}/notifications/{note.id}"
        lines.append(
            f"【{KIND_LABELS.get(note.kind, note.kind)}】{note.text}（{format_local(note.created_at)}）"
        )
        lines.append(f"    {link}")
    if total > len(notes):
        lines.append(f"……另有 {total - len(notes)} 条，请在通知中心查看。")
    lines += [
        "",
        f"通知中心：{site.rstrip('/')}/notifications",
        "不想再收到本邮件？请在“通知设置”中关闭每日邮件摘要。",
        "",
        "——链招 招商引资管理系统（自动发送，请勿回复）",
    ]
    message.set_content("\n".join(lines))
    return message


def smtp_problem(error: Exception) -> str:
    """What went wrong with the mail server, in Chinese (with the server's own code and words
    when it answered)."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "邮件服务器拒绝登录（请检查 SMTP_URL 中的用户名和密码）"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "邮件服务器拒收该收件地址"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"邮件服务器拒绝发送（代码 {error.smtp_code}）"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "与邮件服务器的连接中断"
    if isinstance(error, smtplib.SMTPException):
        return "邮件服务器拒绝发送"
    if isinstance(error, TimeoutError):
        return "连接邮件服务器超时"
    if isinstance(error, ConnectionRefusedError):
        return "无法连接邮件服务器（连接被拒绝）"
    if isinstance(error, OSError):
        return f"无法连接邮件服务器（系统错误代码 {error.errno}）" if error.errno else "无法连接邮件服务器"
    return "发送失败"


@dataclass
class DigestResult:
    sent: int = 0
    skipped: int = 0  # already sent today, or nothing new
    failed: list[str] = field(default_factory=list)


def send_digests(day: date, smtp_url: str, sender: str, site: str) -> DigestResult:
    """Send today's digests; each one sent is recorded (and its notifications marked mailed) in its
    own transaction, so a failure half-way leaves what was sent recorded and the rest for a rerun."""
    server = parse_smtp_url(smtp_url)
    result = DigestResult()
    wanting = db.session.execute(
        select(User, NotificationSettings.email)
        .join(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(
            NotificationSettings.digest.is_(True),
            NotificationSettings.email != "",
            User.active.is_(True),
            User.role.in_(RECEIVERS),
        )
        .order_by(User.id)
    ).all()
    client = None
    try:
        for user, address in wanting:
            done = db.session.scalar(select(Digest.id).where(Digest.user_id == user.id, Digest.day == day))
            pending = select(Notification).where(
                Notification.user_id == user.id,
                Notification.read_at.is_(None),
                Notification.emailed_at.is_(None),
            )
            notes = list(db.session.scalars(pending.order_by(Notification.id)))
            if done is not None or not notes:
                result.skipped += 1
                continue
            message = compose(user, address, notes[:LISTED], len(notes), day, sender, site)
            try:
                if client is None:
                    client = _connect(server)
                client.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                result.failed.append(f"{user.username}：{smtp_problem(error)}")
                if client is not None:
                    client.close()  # a connection that failed is not reused
                client = None
                db.session.rollback()
                continue
            now = utcnow()
            for note in notes:
                note.emailed_at = now
            db.session.add(Digest(user_id=user.id, day=day, count=len(notes), address=address, sent_at=now))
            db.session.commit()
            result.sent += 1
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return result
