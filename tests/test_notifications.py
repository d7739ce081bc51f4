"""通知中心 (crm.inbox), the daily reminders (crm.reminders.scan, `flask notify run`) and the e-mail
digest (crm.reminders.digest), the digest sent to aiosmtpd's SMTP server on a loopback port: a
notification is told once per subject, only to whom wants it, read only by its receiver; the
daily job finds what falls due, what is late, quiet leads and near dates, and mails each person
who asked their unread ones once a day, never twice."""

import email
import gc
import re
import socket
import warnings
from datetime import date, timedelta
from email import policy
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from crm.auth.service import set_active
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.inbox.models import KINDS, Digest, Notification, NotificationSettings
from crm.inbox.service import SettingsError, mark_read, post, save_settings, unread_count
from crm.leads.models import DORMANT
from crm.leads.service import reassign_lead
from crm.places.models import Division
from crm.places.service import resolve_district
from crm.projects.models import Milestone
from crm.reminders.scan import run_scan
from crm.supervision.models import Item

DAY = date(2026, 3, 10)  # the daily job's day in the tests of items, leads and the digest
BELL_COUNT = re.compile(r'data-testid="bell-count">(\d+)<')


# ---------------------------------------------------------------- helpers


def tell(
    user, text: str, kind: str = "assigned", url: str = "/items/1", key: str | None = None
) -> Notification:
    """One committed notification to `user`."""
    key = key or f"test:{text}"
    assert post([user], kind, text, url, key) == 1
    db.session.commit()
    return db.session.scalar(
        select(Notification).where(Notification.user_id == user.id, Notification.key == key)
    )


def notes_of(user, kind: str | None = None) -> list[Notification]:
    """`user`'s notifications as stored now (not as this session last saw them)."""
    db.session.expire_all()
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def total_notes() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Notification.id)))


def choose(user, **changes) -> NotificationSettings:
    """Save `user`'s settings: every kind, the defaults, no digest, but for `changes`."""
    raw = {"kinds": list(KINDS), "idle_days": "14", "ahead_days": "7", "email": "", "digest": "", **changes}
    row = save_settings(user, raw)
    db.session.commit()
    return row


def division_id(name: str) -> int:
    return db.session.scalar(select(Division.id).where(Division.name == name))


def run_notify(runner, day: date | None = None):
    args = ["notify", "run"] + (["--date", day.isoformat()] if day else [])
    result = runner.invoke(args=args)
    db.session.rollback()  # what the command committed, not what this session remembers
    return result


@pytest.fixture
def make_item(make_project, make_user):
    """Factory: a committed 督办事项 on a 涪陵区 project, given to a division (or a district), with
    any deadline (the service refuses past ones; the daily job must still see them)."""

    def factory(
        deadline: date,
        *,
        division: str = "产业招商一处",
        district: str | None = None,
        status: str = "待办",
        raiser=None,
        project=None,
        description: str = "园区用电增容需协调供电公司",
    ) -> Item:
        unit = (
            {"district_id": resolve_district(district).id}
            if district
            else {"division_id": division_id(division)}
        )
        item = Item(
            project=project or make_project(),
            description=description,
            category="用能",
            deadline=deadline,
            status=status,
            created_by=raiser or make_user("district", "涪陵区"),
            **unit,
        )
        db.session.add(item)
        db.session.commit()
        return item

    return factory


@pytest.fixture
def smtp_url(app):
    """Set the app's SMTP_URL for one test (None: no mail server); put back afterwards."""
    before = app.config.get("SMTP_URL")

    def setter(url: str | None) -> None:
        app.config["SMTP_URL"] = url

    setter(None)
    yield setter
    app.config["SMTP_URL"] = before


class Mailbox:
    """aiosmtpd's handler: what the test SMTP server accepted (or refused, when told to)."""

    def __init__(self):
        self.envelopes = []
        self.refuse = False
        self.url = ""

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 Message refused"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    """A loopback port nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mail_server(smtp_url):
    """A local SMTP server (aiosmtpd) on a free loopback port, the app's SMTP_URL pointing at it."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    smtp_url(mailbox.url)
    yield mailbox
    controller.stop()


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# ---------------------------------------------------------------- posting


def test_post_adds_once_per_person_and_key(make_user):
    wang, li = make_user("officer"), make_user("officer")
    assert post([wang, li], "assigned", "督办事项交办给产业招商一处", "/items/7", "assigned:item:7") == 2
    assert post([wang, li], "assigned", "督办事项交办给产业招商一处", "/items/7", "assigned:item:7") == 0
    assert post([wang], "reply", "另一件事", "/items/7", "reply:item:7:1") == 1
    db.session.commit()
    assert [n.key for n in notes_of(wang)] == ["assigned:item:7", "reply:item:7:1"]
    assert [(n.kind, n.text, n.url) for n in notes_of(li)] == [
        ("assigned", "督办事项交办给产业招商一处", "/items/7")
    ]


def test_post_leaves_out_whoever_did_it(make_user):
    raiser, other = make_user("officer"), make_user("officer")
    assert post([raiser, other], "reply", "有新回复", "/items/1", "reply:item:1:1", exclude=raiser) == 1
    db.session.commit()
    assert notes_of(raiser) == [] and len(notes_of(other)) == 1


def test_muted_kinds_are_not_posted(make_user):
    wang = make_user("officer")
    choose(wang, kinds=[kind for kind in KINDS if kind != "due"])
    assert post([wang], "due", "明日到期", "/items/1", "due:item:1") == 0
    assert post([wang], "overdue", "已逾期", "/items/1", "overdue:item:1") == 1
    db.session.commit()
    assert [n.kind for n in notes_of(wang)] == ["overdue"]


def test_inactive_people_and_administrators_are_told_nothing(make_user):
    gone, admin, district = make_user("officer"), make_user("admin"), make_user("district", "长寿区")
    set_active(gone, False)
    db.session.commit()
    assert post([gone, admin, district], "assigned", "交办", "/items/1", "assigned:item:1") == 1
    db.session.commit()
    assert notes_of(gone) == [] and notes_of(admin) == [] and len(notes_of(district)) == 1


def test_unread_count_and_mark_read_touch_only_ones_own(make_user):
    wang, li = make_user("officer"), make_user("district", "长寿区")
    first, second, third = (tell(wang, f"王的通知{i}") for i in range(3))
    lis = tell(li, "李的通知")
    assert unread_count(wang) == 3 and unread_count(li) == 1

    assert mark_read(wang, [first.id, lis.id]) == 1  # li's id changes nothing
    assert mark_read(wang, [first.id]) == 0  # already read
    assert mark_read(wang, ["x", None]) == 0  # nothing usable: nothing marked
    db.session.commit()
    assert unread_count(wang) == 2 and unread_count(li) == 1
    assert [n.read_at is not None for n in notes_of(wang)] == [True, False, False]

    assert mark_read(wang) == 2  # all of them
    db.session.commit()
    assert unread_count(wang) == 0 and unread_count(li) == 1
    assert notes_of(li)[0].read_at is None
    assert {second.id, third.id} <= {n.id for n in notes_of(wang) if n.read_at}


# ---------------------------------------------------------------- settings


def test_settings_are_saved(make_user):
    wang = make_user("officer")
    choose(
        wang, kinds=["due", "overdue"], idle_days=" 30 ", ahead_days="365", email="wang@cq.gov.cn", digest="y"
    )
    db.session.expire_all()
    row = db.session.get(NotificationSettings, wang.id)
    assert (row.idle_days, row.ahead_days, row.email, row.digest) == (30, 365, "wang@cq.gov.cn", True)
    assert row.muted_kinds == {"assigned", "reply", "idle", "upcoming"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"idle_days": "0"}, "idle_days", "线索未跟进提醒天数须为 1 到 365 之间的整数"),
        ({"idle_days": "366"}, "idle_days", "线索未跟进提醒天数须为 1 到 365 之间的整数"),
        ({"idle_days": "abc"}, "idle_days", "线索未跟进提醒天数须为 1 到 365 之间的整数"),
        ({"idle_days": ""}, "idle_days", "线索未跟进提醒天数须为 1 到 365 之间的整数"),
        ({"ahead_days": "0"}, "ahead_days", "日期临近提醒天数须为 1 到 365 之间的整数"),
        ({"ahead_days": "366"}, "ahead_days", "日期临近提醒天数须为 1 到 365 之间的整数"),
        ({"ahead_days": "abc"}, "ahead_days", "日期临近提醒天数须为 1 到 365 之间的整数"),
        ({"ahead_days": "-3"}, "ahead_days", "日期临近提醒天数须为 1 到 365 之间的整数"),
        ({"email": "wang@"}, "email", "电子邮箱格式不正确，例如 name@example.gov.cn"),
        ({"email": "", "digest": "y"}, "digest", "接收每日邮件摘要须先填写电子邮箱"),
        ({"kinds": ["due", "spam"]}, "kinds", "通知类型无效，请从列表中选择"),
        ({"kinds": "spam"}, "kinds", "通知类型无效，请从列表中选择"),
    ],
)
def test_bad_settings_are_refused_beside_the_field_and_change_nothing(make_user, changes, field, message):
    wang = make_user("officer")
    choose(wang, idle_days="20", email="wang@cq.gov.cn", digest="y")
    raw = {"kinds": list(KINDS), "idle_days": "14", "ahead_days": "7", "email": "li@cq.gov.cn", **changes}
    with pytest.raises(SettingsError) as refused:
        save_settings(wang, raw)
    assert (field, message) in refused.value.problems
    db.session.rollback()
    row = db.session.get(NotificationSettings, wang.id)
    assert (row.idle_days, row.email, row.digest, row.muted) == (20, "wang@cq.gov.cn", True, "")


def test_every_bad_setting_is_reported_at_once(make_user):
    wang = make_user("officer")
    with pytest.raises(SettingsError) as refused:
        save_settings(wang, {"kinds": [], "idle_days": "0", "ahead_days": "x", "email": "@", "digest": "1"})
    assert [field for field, _ in refused.value.problems] == ["idle_days", "ahead_days", "email"]
    db.session.rollback()
    assert db.session.get(NotificationSettings, wang.id) is None


# ---------------------------------------------------------------- the centre's pages


def test_centre_lists_unread_then_all_and_the_bell_counts(client, login_as, make_user):
    wang = login_as("officer")
    old = tell(wang, "已经读过的旧通知")
    mark_read(wang, [old.id])
    db.session.commit()
    tell(wang, "督办事项交办给产业招商一处：新能源电池项目", kind="assigned")
    tell(wang, "线索“某电池材料”已 14 天以上未跟进", kind="idle")
    tell(make_user("officer"), "别人的通知")

    page = client.get("/notifications").text
    assert "督办事项交办给产业招商一处：新能源电池项目" in page and "已 14 天以上未跟进" in page
    assert "已经读过的旧通知" not in page and "别人的通知" not in page
    assert BELL_COUNT.findall(page) == ["2"]
    assert '未读（<span id="unread-count">2</span>）' in page

    everything = client.get("/notifications?all=1").text
    assert "已经读过的旧通知" in everything and "新能源电池项目" in everything
    assert "别人的通知" not in everything
    assert everything.count('data-read="1"') == 1 and everything.count('data-read="0"') == 2


def test_the_bell_disappears_when_all_are_read(client, login_as):
    wang = login_as("district", "涪陵区")
    tell(wang, "项目计划开工")
    assert BELL_COUNT.findall(client.get("/").text) == ["1"]
    response = client.post("/notifications/read", data={"all": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    page = client.get("/notifications").text
    assert 'data-testid="bell"' in page and 'data-testid="bell-count"' not in page
    assert "项目计划开工" not in page
    assert unread_count(wang) == 0


def test_the_tabs_follow_the_page_not_the_bell(client, login_as):
    wang = login_as("officer")
    everything = client.get("/notifications").text
    assert "没有未读通知。" in everything  # the 未读 tab, empty
    tell(wang, "一条未读")
    page = client.get("/notifications?all=1").text
    assert '<a class="nav-link active" href="/notifications?all=1">全部</a>' in page


def test_opening_a_notification_marks_it_read_and_goes_to_its_subject(client, login_as):
    wang = login_as("officer")
    note = tell(wang, "督办事项有新回复", url="/items/42")
    response = client.get(f"/notifications/{note.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/items/42"
    assert notes_of(wang)[0].read_at is not None


@pytest.mark.parametrize("url", ["//evil.example/login", "https://evil.example/", "", "javascript:alert(1)"])
def test_opening_never_leaves_the_site(client, login_as, url):
    wang = login_as("officer")
    note = tell(wang, "可疑链接", url=url)
    response = client.get(f"/notifications/{note.id}")
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"] and "javascript" not in response.headers["Location"]
    assert response.headers["Location"].endswith("/notifications")
    assert notes_of(wang)[0].read_at is not None


def test_a_backslash_url_stays_on_the_site(client, login_as):
    # Browsers read "/\\evil.example" as "//evil.example"; sent escaped, it is a path here.
    wang = login_as("officer")
    note = tell(wang, "可疑链接", url="/\\evil.example")
    location = client.get(f"/notifications/{note.id}").headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert urlsplit(location).netloc in ("", "localhost")


def test_anothers_notification_is_a_404_and_stays_unread(client, login_as, make_user):
    login_as("district", "涪陵区")
    other = make_user("district", "长寿区")
    theirs = tell(other, "长寿区的通知")
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    assert client.get("/notifications/99999999999999999999").status_code == 404
    assert client.get("/notifications/0").status_code == 404
    assert notes_of(other)[0].read_at is None
    assert "长寿区的通知" not in client.get("/notifications?all=1").text


def test_marking_read_on_the_page(client, login_as, make_user):
    wang = login_as("officer")
    mine = [tell(wang, f"我的通知{i}") for i in range(3)]
    other = make_user("officer")
    theirs = tell(other, "别人的通知")

    response = client.post("/notifications/read", data={"id": [str(mine[0].id), str(theirs.id)]})
    assert response.status_code == 302
    assert [n.read_at is not None for n in notes_of(wang)] == [True, False, False]
    assert notes_of(other)[0].read_at is None
    assert "已将 1 条通知标为已读。" in client.get("/notifications").text

    # back to the tab it was sent from; never to another site
    response = client.post(
        "/notifications/read", data={"id": str(mine[1].id), "back": "/notifications?all=1"}
    )
    assert response.headers["Location"] == "/notifications?all=1"
    response = client.post("/notifications/read", data={"id": str(mine[2].id), "back": "//evil.example"})
    assert (
        response.headers["Location"].endswith("/notifications") and "evil" not in response.headers["Location"]
    )
    assert unread_count(wang) == 0 and notes_of(other)[0].read_at is None


def test_garbage_ids_mark_nothing_and_never_fail(client, login_as):
    wang = login_as("officer")
    tell(wang, "未读通知")
    for ids in (["abc"], ["-1"], ["99999999999999999999"], [""], ["１２"], ["1.5"], ["0x10"]):
        response = client.post("/notifications/read", data={"id": ids})
        assert response.status_code == 302, ids
    response = client.post("/notifications/read", data={})
    assert response.status_code == 302
    assert unread_count(wang) == 1


def test_settings_page_shows_and_saves(client, login_as):
    wang = login_as("officer")
    page = client.get("/notifications/settings").text
    assert 'name="idle_days" type="text" value="14"' in page
    assert 'name="ahead_days" type="text" value="7"' in page
    response = client.post(
        "/notifications/settings",
        data={
            "kinds": ["due", "overdue"],
            "idle_days": "10",
            "ahead_days": "3",
            "email": "wang@cq.gov.cn",
            "digest": "y",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications/settings")
    db.session.expire_all()
    row = db.session.get(NotificationSettings, wang.id)
    assert (row.idle_days, row.ahead_days, row.email, row.digest) == (10, 3, "wang@cq.gov.cn", True)
    assert row.muted_kinds == {"assigned", "reply", "idle", "upcoming"}
    page = client.get("/notifications/settings").text
    assert "已保存通知设置。" in page and 'value="10"' in page and 'value="wang@cq.gov.cn"' in page


def test_failed_settings_keep_what_was_typed_and_save_nothing(client, login_as):
    wang = login_as("officer")
    response = client.post(
        "/notifications/settings",
        data={"kinds": ["due"], "idle_days": "abc", "ahead_days": "400", "email": "wang@", "digest": "y"},
    )
    assert response.status_code == 200
    page = response.text
    assert 'class="invalid-feedback d-block">线索未跟进提醒天数须为 1 到 365 之间的整数' in page
    assert 'class="invalid-feedback d-block">日期临近提醒天数须为 1 到 365 之间的整数' in page
    assert 'class="invalid-feedback d-block">电子邮箱格式不正确' in page
    assert 'value="abc"' in page and 'value="400"' in page and 'value="wang@"' in page
    assert re.findall(r'<input checked id="kinds-\d" name="kinds" type="checkbox" value="(\w+)"', page) == [
        "due"
    ]
    assert '<input checked class="form-check-input" id="digest"' in page
    db.session.expire_all()
    assert db.session.get(NotificationSettings, wang.id) is None


def test_administrators_have_no_bell_and_no_centre(client, login_as):
    login_as("admin")
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200 and 'data-testid="bell"' not in page.text
    assert client.get("/notifications").status_code == 403
    assert client.get("/notifications/settings").status_code == 403
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 403
    assert client.get("/api/v1/notifications").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/notifications").status_code == 401


# ---------------------------------------------------------------- the API


def test_api_lists_ones_own_with_the_unread_count(client, login_as, make_user):
    wang = login_as("district", "涪陵区")
    read = tell(wang, "读过的", kind="reply")
    mark_read(wang, [read.id])
    db.session.commit()
    tell(wang, "明日到期的督办事项", kind="due", url="/items/3")
    tell(make_user("district", "长寿区"), "长寿区的通知")

    data = client.get("/api/v1/notifications").get_json()
    assert data["unread"] == 1
    assert [(i["kind"], i["text"], i["read"]) for i in data["items"]] == [
        ("due", "明日到期的督办事项", False),
        ("reply", "读过的", True),
    ]
    assert data["items"][0]["url"] == "/items/3"

    unread = client.get("/api/v1/notifications?unread=1").get_json()
    assert [i["text"] for i in unread["items"]] == ["明日到期的督办事项"] and unread["unread"] == 1


def test_api_marks_read_by_ids_and_all(client, login_as, make_user):
    wang = login_as("officer")
    first, second, third = (tell(wang, f"通知{i}") for i in range(3))
    other = make_user("officer")
    theirs = tell(other, "别人的")

    response = client.post("/api/v1/notifications/read", json={"ids": [first.id, theirs.id]})
    assert response.status_code == 200 and response.get_json() == {"read": 1}
    assert notes_of(other)[0].read_at is None
    assert client.get("/api/v1/notifications").get_json()["unread"] == 2

    response = client.post("/api/v1/notifications/read", json={"all": True})
    assert response.get_json() == {"read": 2}
    assert client.get("/api/v1/notifications").get_json()["unread"] == 0
    assert unread_count(other) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": "1"},
        {"ids": [True]},
        {"ids": ["1"]},
        {"ids": [1.5]},
        {"ids": None},
        {"all": "yes"},
        [1, 2],
    ],
)
def test_api_bad_bodies_are_chinese_400s(client, login_as, body):
    wang = login_as("officer")
    tell(wang, "未读")
    response = client.post("/api/v1/notifications/read", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] in (
        "请给出 ids（通知编号的数组），或 all: true",
        "请求体应为 JSON 对象（Content-Type: application/json）",
    )
    assert unread_count(wang) == 1


def test_api_body_that_is_not_json_is_a_chinese_400(client, login_as):
    login_as("officer")
    response = client.post("/api/v1/notifications/read", data="ids=1", content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json() == {"error": "请求体应为 JSON 对象（Content-Type: application/json）"}


def test_api_ids_beyond_any_row_mark_nothing_without_failing(client, login_as):
    wang = login_as("officer")
    tell(wang, "未读")
    response = client.post("/api/v1/notifications/read", json={"ids": [-1, 0, 2**31, 2**70]})
    assert response.status_code in (200, 400)
    assert unread_count(wang) == 1


# ---------------------------------------------------------------- the daily job: 督办事项


def test_an_item_due_tomorrow_tells_its_unit_and_its_raiser(make_item, make_user):
    first = [make_user("officer", division_name="产业招商一处") for _ in range(2)]
    elsewhere = make_user("officer", division_name="产业招商二处")
    raiser, colleague = make_user("district", "涪陵区"), make_user("district", "涪陵区")
    item = make_item(DAY + timedelta(days=1), raiser=raiser, description="园区用电增容需协调供电公司")

    assert run_scan(DAY) == 3
    db.session.commit()
    for person in (*first, raiser):
        [note] = notes_of(person)
        assert note.kind == "due" and note.url == f"/items/{item.id}"
        assert "督办事项明日到期（产业招商一处）" in note.text and "园区用电增容需协调供电公司" in note.text
        assert item.project.name in note.text
    assert notes_of(elsewhere) == [] and notes_of(colleague) == []
    assert run_scan(DAY) == 0  # the same day again: nothing new


def test_an_item_given_to_a_district_tells_its_staff(make_item, make_user):
    changshou = make_user("district", "长寿区")
    fuling = make_user("district", "涪陵区")
    raiser = make_user("officer")
    make_item(DAY + timedelta(days=1), district="长寿区", raiser=raiser)
    run_scan(DAY)
    assert [n.kind for n in notes_of(changshou)] == ["due"] and "（长寿区）" in notes_of(changshou)[0].text
    assert [n.kind for n in notes_of(raiser)] == ["due"]
    assert notes_of(fuling) == []


def test_an_overdue_item_is_told_once_per_deadline(make_item, make_user):
    officer = make_user("officer", division_name="产业招商一处")
    item = make_item(DAY - timedelta(days=3))
    run_scan(DAY)
    [note] = notes_of(officer)
    assert note.kind == "overdue" and "督办事项已逾期 3 天（产业招商一处）" in note.text
    assert run_scan(DAY + timedelta(days=1)) == 0  # still late, already told
    item.deadline = DAY + timedelta(days=5)  # a new deadline, which passes in its turn
    db.session.commit()
    assert run_scan(DAY + timedelta(days=8)) == 2  # the officer and the raiser
    assert [n.kind for n in notes_of(officer)] == ["overdue", "overdue"]


def test_closed_cancelled_and_later_items_tell_nothing(make_item, make_user):
    make_user("officer", division_name="产业招商一处")
    make_item(DAY + timedelta(days=1), status="已办结")
    make_item(DAY - timedelta(days=2), status="已办结")
    make_item(DAY - timedelta(days=2), status="已撤销")
    make_item(DAY + timedelta(days=2))  # not tomorrow yet
    make_item(DAY)  # due today: told yesterday, late tomorrow
    assert run_scan(DAY) == 0
    assert total_notes() == 0


def test_muted_due_reminders_are_not_posted_by_the_job(make_item, make_user):
    officer = make_user("officer", division_name="产业招商一处")
    choose(officer, kinds=[kind for kind in KINDS if kind != "due"])
    raiser = make_user("officer")
    make_item(DAY + timedelta(days=1), raiser=raiser)
    assert run_scan(DAY) == 1
    assert notes_of(officer) == [] and len(notes_of(raiser)) == 1


# ---------------------------------------------------------------- the daily job: leads and projects


def test_quiet_leads_by_the_owners_days(make_lead, make_user):
    owner = make_user("officer")
    choose(owner, idle_days="5")
    today = today_local()
    quiet = make_lead(owner=owner, title="久未联系的电池材料线索")
    exactly = make_lead(owner=owner, title="刚好五天的线索")
    recent = make_lead(owner=owner, title="昨天联系过的线索")
    shelved = make_lead(owner=owner, title="搁置的线索")
    make_lead(owner=owner, title="新登记未联系的线索")  # registered today
    quiet.last_contact_on = today - timedelta(days=6)
    exactly.last_contact_on = today - timedelta(days=5)
    recent.last_contact_on = today - timedelta(days=1)
    shelved.last_contact_on, shelved.stage = today - timedelta(days=30), DORMANT
    db.session.commit()

    assert run_scan(today) == 2
    notes = notes_of(owner, "idle")
    assert [n.url for n in notes] == [f"/leads/{quiet.id}", f"/leads/{exactly.id}"]
    assert "线索“久未联系的电池材料线索”已 5 天以上未跟进" in notes[0].text
    assert f"最近联系 {quiet.last_contact_on}" in notes[0].text
    assert run_scan(today) == 0


def test_quiet_leads_of_owners_who_kept_the_default(make_lead, make_user):
    owner = make_user("officer")  # no settings: 14 days
    today = today_local()
    late = make_lead(owner=owner, title="十五天未联系")
    early = make_lead(owner=owner, title="十天未联系")
    late.last_contact_on = today - timedelta(days=15)
    early.last_contact_on = today - timedelta(days=10)
    db.session.commit()
    run_scan(today)
    assert [n.url for n in notes_of(owner, "idle")] == [f"/leads/{late.id}"]


def test_expected_signing_within_the_owners_days_ahead(make_lead, make_user):
    owner, other = make_user("officer"), make_user("officer")
    choose(owner, ahead_days="5")
    today = today_local()
    near = make_lead(owner=owner, title="五天后签约")
    far = make_lead(owner=owner, title="六天后签约")
    others = make_lead(owner=other, title="别人六天后签约")  # the default, 7 days
    near.expected_signing_on = today + timedelta(days=5)
    far.expected_signing_on = others.expected_signing_on = today + timedelta(days=6)
    db.session.commit()

    run_scan(today)
    [note] = notes_of(owner, "upcoming")
    assert (
        note.url == f"/leads/{near.id}"
        and f"线索“五天后签约”预计 {near.expected_signing_on} 签约" == note.text
    )
    assert [n.url for n in notes_of(other, "upcoming")] == [f"/leads/{others.id}"]


def test_a_planned_milestone_tells_the_projects_district(make_project, make_user):
    fuling, changshou = make_user("district", "涪陵区"), make_user("district", "长寿区")
    project = make_project(name="涪陵锂电池正极材料项目", district="涪陵区")
    today = today_local()
    milestones = db.session.scalars(
        select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.id)
    ).all()
    soon, later = milestones[0], milestones[1]
    soon.planned_on = today + timedelta(days=3)
    later.planned_on = today + timedelta(days=8)  # beyond the default 7 days
    db.session.commit()

    run_scan(today)
    [note] = notes_of(fuling, "upcoming")
    assert note.text == f"项目“涪陵锂电池正极材料项目”计划 {soon.planned_on} {soon.stage}"
    assert note.url == f"/projects/{project.id}"
    assert notes_of(changshou) == []


# ---------------------------------------------------------------- flask notify run


def test_notify_run_posts_once_a_day(runner, make_item, make_user, smtp_url):
    officer = make_user("officer", division_name="产业招商一处")
    make_item(DAY + timedelta(days=1))
    result = run_notify(runner, DAY)
    assert result.exit_code == 0, result.output
    assert f"{DAY.isoformat()}：新增通知 2 条。" in result.output
    assert "未配置 SMTP_URL：不发送邮件摘要。" in result.output
    assert [n.kind for n in notes_of(officer)] == ["due"]

    again = run_notify(runner, DAY)
    assert again.exit_code == 0 and "新增通知 0 条" in again.output
    assert total_notes() == 2


def test_notify_run_defaults_to_today(runner, smtp_url):
    result = run_notify(runner)
    assert result.exit_code == 0, result.output
    assert f"{today_local().isoformat()}：新增通知 0 条。" in result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "不是有效日期"),
        ("明天", "不是有效日期"),
        ("1799-12-31", "超出有效范围"),
    ],
)
def test_notify_run_refuses_a_bad_date(runner, make_item, make_user, smtp_url, value, message):
    make_user("officer", division_name="产业招商一处")
    make_item(DAY + timedelta(days=1))
    result = runner.invoke(args=["notify", "run", "--date", value])
    assert result.exit_code != 0
    assert "错误：--date" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert total_notes() == 0


# ---------------------------------------------------------------- the e-mail digest


def test_the_digest_lists_each_persons_unread_ones_once_a_day(runner, mail_server, make_user):
    alice = make_user("officer", display_name="李明")
    choose(alice, email="liming@cq.gov.cn", digest="y")
    bob = make_user("officer")
    choose(bob, email="bob@cq.gov.cn")  # digest off
    carol = make_user("officer")  # no e-mail (digest is on by default)
    dave = make_user("district", "涪陵区")
    choose(dave, email="dave@cq.gov.cn", digest="y")  # only a read one
    eve = make_user("officer")
    choose(eve, email="eve@cq.gov.cn", digest="y")

    first = tell(alice, "督办事项交办给产业招商一处：锂电池项目用地指标", kind="assigned")
    second = tell(alice, "线索“某碳纤维企业”预计 2026-03-12 签约", kind="upcoming")
    seen = tell(alice, "李明已经读过的通知")
    mark_read(alice, [seen.id])
    tell(bob, "鲍勃的通知")
    tell(carol, "卡罗尔的通知")
    dave_note = tell(dave, "戴夫读过的通知")
    mark_read(dave, [dave_note.id])
    tell(eve, "已停用者的通知")
    set_active(eve, False)
    db.session.commit()

    result = run_notify(runner, DAY)
    assert result.exit_code == 0, result.output
    assert "邮件摘要：发送 1 封" in result.output
    assert len(mail_server.envelopes) == 1
    assert mail_server.envelopes[0].rcpt_tos == ["liming@cq.gov.cn"]
    [message] = mail_server.messages
    assert message["To"] == "liming@cq.gov.cn"
    assert message["Subject"] == f"链招每日提醒（{DAY.isoformat()}）：2 条未读通知"
    body = body_of(message)
    assert "李明，您好" in body
    assert "【交办给我】督办事项交办给产业招商一处：锂电池项目用地指标" in body
    assert "【预计日期临近】线索“某碳纤维企业”预计 2026-03-12 签约" in body
    assert f"/notifications/{first.id}" in body and f"/notifications/{second.id}" in body
    for other in ("已经读过", "鲍勃", "卡罗尔", "戴夫", "已停用者"):
        assert other not in body

    emailed = {n.id: n.emailed_at for n in notes_of(alice)}
    assert emailed[first.id] and emailed[second.id] and emailed[seen.id] is None
    assert db.session.scalars(select(Digest.user_id)).all() == [alice.id]

    again = run_notify(runner, DAY)
    assert again.exit_code == 0 and "发送 0 封" in again.output
    assert len(mail_server.envelopes) == 1


def test_a_later_notification_waits_for_the_next_days_digest(runner, mail_server, make_user):
    alice = make_user("officer")
    choose(alice, email="alice@cq.gov.cn", digest="y")
    tell(alice, "第一天的通知")
    assert run_notify(runner, DAY).exit_code == 0
    assert len(mail_server.envelopes) == 1

    tell(alice, "第一天晚些时候的通知")
    assert run_notify(runner, DAY).exit_code == 0  # one digest a day
    assert len(mail_server.envelopes) == 1

    nextday = DAY + timedelta(days=1)
    result = run_notify(runner, nextday)
    assert result.exit_code == 0, result.output
    assert len(mail_server.envelopes) == 2
    message = mail_server.messages[1]
    assert message["Subject"] == f"链招每日提醒（{nextday.isoformat()}）：1 条未读通知"
    assert "第一天晚些时候的通知" in body_of(message) and "第一天的通知" not in body_of(message)

    assert run_notify(runner, nextday + timedelta(days=1)).exit_code == 0  # nothing new: no e-mail
    assert len(mail_server.envelopes) == 2


def test_the_digest_lists_the_days_reminders(runner, mail_server, make_item, make_user):
    officer = make_user("officer", division_name="产业招商一处")
    choose(officer, email="officer@cq.gov.cn", digest="y")
    make_item(DAY + timedelta(days=1), description="标准厂房消防验收")
    result = run_notify(runner, DAY)
    assert result.exit_code == 0, result.output
    [message] = mail_server.messages
    assert message["Subject"].endswith("1 条未读通知")
    assert "【明日到期】督办事项明日到期（产业招商一处）" in body_of(message)
    assert "标准厂房消防验收" in body_of(message)


def test_a_refused_message_is_not_recorded_and_a_later_run_sends_it(runner, mail_server, make_user):
    alice = make_user("officer")
    choose(alice, email="alice@cq.gov.cn", digest="y")
    tell(alice, "被拒收时的通知")
    mail_server.refuse = True
    result = run_notify(runner, DAY)
    assert result.exit_code != 0
    assert "以下邮件发送失败（下次运行会重试）" in result.output and alice.username in result.output
    assert "Traceback" not in result.output
    assert notes_of(alice)[0].emailed_at is None
    assert db.session.scalar(select(func.count(Digest.id))) == 0

    mail_server.refuse = False
    result = run_notify(runner, DAY)
    assert result.exit_code == 0, result.output
    assert len(mail_server.envelopes) == 1 and "被拒收时的通知" in body_of(mail_server.messages[0])
    assert notes_of(alice)[0].emailed_at is not None


def test_an_unreachable_server_fails_in_chinese_and_records_nothing(runner, mail_server, make_user, smtp_url):
    alice, bob = make_user("officer"), make_user("officer")
    choose(alice, email="alice@cq.gov.cn", digest="y")
    choose(bob, email="bob@cq.gov.cn", digest="y")
    tell(alice, "服务器不通时的通知")
    tell(bob, "服务器不通时给鲍勃的通知")
    smtp_url(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    result = run_notify(runner, DAY)
    assert result.exit_code != 0
    assert "错误：以下邮件发送失败（下次运行会重试）" in result.output
    assert alice.username in result.output and bob.username in result.output
    assert "Traceback" not in result.output
    assert [n.emailed_at for n in notes_of(alice) + notes_of(bob)] == [None, None]
    assert db.session.scalar(select(func.count(Digest.id))) == 0

    smtp_url(mail_server.url)
    assert run_notify(runner, DAY).exit_code == 0
    assert sorted(e.rcpt_tos[0] for e in mail_server.envelopes) == ["alice@cq.gov.cn", "bob@cq.gov.cn"]


def test_a_refused_message_closes_its_connection(runner, mail_server, make_user):
    alice = make_user("officer")
    choose(alice, email="alice@cq.gov.cn", digest="y")
    tell(alice, "被拒收时的通知")
    mail_server.refuse = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_notify(runner, DAY)
        gc.collect()
    assert result.exit_code != 0 and "以下邮件发送失败" in result.output
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_an_unreachable_server_is_explained_in_chinese(runner, make_user, smtp_url):
    alice = make_user("officer")
    choose(alice, email="alice@cq.gov.cn", digest="y")
    tell(alice, "通知")
    smtp_url(f"smtp://127.0.0.1:{free_port()}")
    result = run_notify(runner, DAY)
    assert result.exit_code != 0
    assert "Connection refused" not in result.output and "Errno" not in result.output
    assert "无法连接邮件服务器" in result.output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x", "SMTP_URL 须形如 smtp://主机:端口"),
        ("smtp://", "SMTP_URL 须形如 smtp://主机:端口"),
        ("smtp://127.0.0.1:abc", "SMTP_URL 的端口不是有效数字"),
        ("smtp://127.0.0.1:99999", "SMTP_URL 的端口不是有效数字"),
    ],
)
def test_a_malformed_smtp_url_stops_before_anything_is_posted(
    runner, make_item, make_user, smtp_url, url, message
):
    make_user("officer", division_name="产业招商一处")
    make_item(DAY + timedelta(days=1))
    smtp_url(url)
    result = run_notify(runner, DAY)
    assert result.exit_code != 0
    assert f"错误：{message}" in result.output and "Traceback" not in result.output
    assert total_notes() == 0


def test_a_lead_given_to_me_is_told_to_me_each_time(make_user, make_lead):
    manager, wang, li = make_user("manager"), make_user("officer"), make_user("officer")
    lead = make_lead(owner=wang, title="转交测试线索")
    reassign_lead(lead, str(li.id), manager)
    db.session.commit()
    reassign_lead(lead, str(wang.id), manager)
    db.session.commit()
    reassign_lead(lead, str(li.id), manager)  # given back: told again
    db.session.commit()
    assert [n.text for n in notes_of(li, "assigned")] == [
        "线索“转交测试线索”已转交给您负责（" + manager.display_name + "）"
    ] * 2
    assert len(notes_of(wang, "assigned")) == 1 and notes_of(manager) == []
