"""Attachments of 招商活动: uploaded from the event's page (PDF, images — the type told by the bytes),
refused files that change nothing and say why in Chinese, downloads by those who read the event and
a 404 for everyone else (another district, admins, a deleted file), who may delete, the audit log,
an event that keeps its files until they are deleted one by one, and migration 0018 both ways."""

import io
import re
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from crm.audit.labels import field_labels, table_labels
from crm.audit.models import AuditLog
from crm.core.timeutil import today_local
from crm.core.transaction import commit
from crm.events.models import Event, EventEnterprise
from crm.extensions import db, migration_include_object
from crm.files.storage import AttachmentBlob, storage
from crm.places.service import active_divisions, resolve_district
from crm.projects.attachments import (
    EVENT_CATEGORIES,
    Attachment,
    AttachmentError,
    delete_attachment,
    live_attachments,
    store_attachment,
)
from crm.projects.models import FundEntry
from tests.conftest import PASSWORD, IsolatedClient, build_app, fresh_database_url
from tests.test_backup import cli

DAY = today_local() - timedelta(days=3)
PHOTO_NAME = "推介会现场（主会场）.png"
SIGN_IN_NAME = "签到表（盖章版）.pdf"


# ---------------------------------------------------------------- sample files and helpers


def pdf_bytes(filler: int = 0) -> bytes:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * filler
    return body + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png_bytes() -> bytes:
    # The smallest valid PNG: a 1×1 grey pixel.
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
        "3a7e9b550000000a49444154789c636000000002000154a24f5d0000000049454e44ae426082"
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def make_event(by, *, district: str | None = None, title: str = "先进材料产业投资推介会") -> Event:
    """A committed event organised by `district`, or by the first division when none is given."""
    event = Event(
        kind="推介会",
        title=title,
        held_on=DAY,
        place="苏州市",
        district_id=resolve_district(district).id if district else None,
        division_id=None if district else active_divisions()[0].id,
        participants="张三等 3 人",
        outcome="",
        created_by=by,
    )
    db.session.add(event)
    db.session.commit()
    return event


def client_of(app, user) -> IsolatedClient:
    """A client logged in as `user` (several users in one test, each with their own cookies)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def post_file(client, event_id: int, data: bytes, name: str, category: str = "活动照片", mimetype=None):
    sent = (io.BytesIO(data), name) if mimetype is None else (io.BytesIO(data), name, mimetype)
    return client.post(
        f"/events/{event_id}/attachments",
        data={"category": category, "file": sent},
        content_type="multipart/form-data",
    )


def keep(owner, name: str, category: str, by, data: bytes | None = None) -> Attachment:
    """store_attachment committed as a page would; the stored file."""
    sent = FileStorage(io.BytesIO(pdf_bytes() if data is None else data), name)
    outcome = commit(lambda: store_attachment(owner, sent, category, by))
    assert outcome.ok, outcome.error
    return outcome.value


def stored(name: str) -> Attachment:
    return db.session.scalars(select(Attachment).where(Attachment.name == name)).one()


def without_csrf_token(page: str) -> str:
    # The page's CSRF token carries a timestamp: two answers a second apart differ only there.
    return re.sub(r'(csrf[-_]token"? (?:content|value)=")[^"]+', r"\1", page)


@pytest.fixture
def fuling(make_user):
    return make_user("district", "涪陵区", display_name="涪陵专员")


@pytest.fixture
def fuling_event(fuling):
    return make_event(fuling, district="涪陵区", title="涪陵区新材料招商推介会")


# ---------------------------------------------------------------- upload from the event page


def test_a_pdf_and_an_image_are_uploaded_from_the_event_page_and_served_as_their_bytes_say(
    app, fuling, fuling_event
):
    client = client_of(app, fuling)
    page = client.get(f"/events/{fuling_event.id}").text
    assert "活动附件" in page and "尚无附件。" in page
    form = page[page.index('data-testid="attachment-upload"') :]
    assert f'action="/events/{fuling_event.id}/attachments"' in page
    # The event's own categories are offered, not a project's.
    assert all(f'<option value="{c}"' in form for c in EVENT_CATEGORIES)
    assert '<option value="签约协议"' not in form

    sign_in = post_file(client, fuling_event.id, pdf_bytes(3000), SIGN_IN_NAME, "签到表")
    attachment = stored(SIGN_IN_NAME)
    assert sign_in.status_code == 302
    assert sign_in.headers["Location"] == f"/events/{fuling_event.id}#attachment-{attachment.id}"
    assert sign_in.headers["X-Attachment-Id"] == str(attachment.id)
    # The browser calls the photo a PDF; its bytes say PNG, and the bytes win.
    photo = post_file(client, fuling_event.id, png_bytes(), PHOTO_NAME, mimetype="application/pdf")
    assert photo.status_code == 302

    db.session.expire_all()
    pdf, png = stored(SIGN_IN_NAME), stored(PHOTO_NAME)
    assert (pdf.event_id, pdf.project_id, pdf.category, pdf.content_type, pdf.size) == (
        fuling_event.id,
        None,
        "签到表",
        "application/pdf",
        len(pdf_bytes(3000)),
    )
    assert (png.event_id, png.category, png.content_type) == (fuling_event.id, "活动照片", "image/png")
    assert live_attachments(db.session.get(Event, fuling_event.id)) == [png, pdf]  # newest first

    page = client.get(f"/events/{fuling_event.id}").text
    assert f"已上传附件“{PHOTO_NAME}”" in page
    listed = page[page.index('data-testid="attachments"') :]
    assert listed.index(PHOTO_NAME) < listed.index(SIGN_IN_NAME)
    assert f'href="/attachments/{pdf.id}"' in listed and "涪陵专员" in listed
    fetched = client.get(f"/attachments/{png.id}")
    assert fetched.status_code == 200 and fetched.data == png_bytes()
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    saved = client.get(f"/attachments/{pdf.id}?download=1")
    assert saved.data == pdf_bytes(3000) and saved.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("data", "name", "category", "message"),
    [
        (
            b"MZ\x90\x00" + bytes(100),
            "议程.pdf",
            "活动议程",
            "不支持该文件的类型（按文件内容识别，与文件名无关）",
        ),
        (png_bytes(), "签到表.pdf", "签到表", "文件名的扩展名“.pdf”与文件内容（PNG 图片，应为 .png）不符"),
        (b"", "空.pdf", "活动议程", "文件是空的（0 字节）"),
        (
            pdf_bytes(),
            "协议.pdf",
            "签约协议",
            "请选择附件类别（活动议程、签到表、活动照片、推介材料、媒体报道、其他）",
        ),
    ],
    ids=["an exe named .pdf", "a png named .pdf", "an empty file", "a project's category"],
)
def test_a_refused_file_changes_nothing_and_says_why_beside_the_field(
    app, fuling, fuling_event, data, name, category, message
):
    client = client_of(app, fuling)
    response = post_file(client, fuling_event.id, data, name, category)
    assert response.status_code == 400
    page = response.text
    assert "涪陵区新材料招商推介会" in page  # the event's page again
    form = page[page.index('data-testid="attachment-upload"') :]
    assert message in form  # beside its field (and flashed at the top)
    if category in EVENT_CATEGORIES:  # what was chosen comes back chosen
        assert f'<option value="{category}" selected>' in form
    assert count(Attachment) == count(AttachmentBlob) == 0
    assert not db.session.scalar(select(AuditLog.id).where(AuditLog.table_name == "attachments"))


def test_a_file_over_the_limit_is_refused_and_one_at_the_limit_kept(app, monkeypatch, fuling, fuling_event):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)
    client = client_of(app, fuling)
    at_limit = pdf_bytes(4096 - len(pdf_bytes()))
    too_big = post_file(client, fuling_event.id, at_limit + b"\n", "会议纪要.pdf", "其他")
    assert too_big.status_code == 400
    assert "文件超过 4 KB 的上限，请压缩或拆分后再上传" in too_big.text
    assert 'data-testid="attachment-file-error">文件超过 4 KB 的上限' in too_big.text
    assert count(Attachment) == count(AttachmentBlob) == 0
    assert post_file(client, fuling_event.id, at_limit, "会议纪要.pdf", "其他").status_code == 302
    assert stored("会议纪要.pdf").size == 4096 and count(AttachmentBlob) == 1


def test_the_service_keeps_an_events_files_apart_from_a_projects(make_user, make_project, fuling_event):
    officer = make_user("officer")
    project = make_project(district="涪陵区")
    on_event = keep(fuling_event, "议程.pdf", "活动议程", officer)
    on_project = keep(project, "协议.pdf", "签约协议", officer)
    assert live_attachments(fuling_event) == [on_event] and live_attachments(project) == [on_project]
    assert storage().get(on_event.storage_key) == pdf_bytes()
    # A funds entry is a project's: an event's file cannot be its evidence.
    entry = FundEntry(project=project, amount_wan=500, arrived_on=DAY)
    db.session.add(entry)
    db.session.commit()
    refused = commit(
        lambda: store_attachment(
            fuling_event, FileStorage(io.BytesIO(pdf_bytes()), "回单.pdf"), "其他", officer, entry
        )
    )
    assert isinstance(refused.error, AttachmentError) and str(refused.error) == "该到位资金登记不属于本项目"
    assert count(Attachment) == 2


@pytest.mark.parametrize("owners", ["both", "neither"])
def test_the_database_holds_a_file_to_exactly_one_owner(make_user, make_project, fuling_event, owners):
    officer = make_user("officer")
    project = make_project(district="涪陵区")
    attachment = keep(project, "协议.pdf", "其他", officer)
    attachment.event_id = fuling_event.id
    if owners == "neither":
        attachment.project_id = attachment.event_id = None
    with pytest.raises(IntegrityError, match="one_owner"):
        db.session.flush()
    db.session.rollback()


# ---------------------------------------------------------------- who reads, who uploads, who deletes


def test_those_who_read_the_event_download_its_files_and_no_one_else(
    app, make_user, make_enterprise, make_lead, fuling, fuling_event
):
    photo = keep(fuling_event, PHOTO_NAME, "活动照片", fuling, png_bytes())
    # A division's fair that met a 长寿区 lead: 长寿区 reads it, and its files, as it reads the event.
    officer = make_user("officer")
    fair = make_event(officer, title="处室主办的展会")
    lead = make_lead(make_enterprise(name="长寿意向企业有限公司"), officer, district="长寿区")
    db.session.add(EventEnterprise(event=fair, enterprise=lead.enterprise, lead=lead))
    db.session.commit()
    agenda = keep(fair, "展会议程.pdf", "活动议程", officer)

    def status(user, attachment) -> int:
        return client_of(app, user).get(f"/attachments/{attachment.id}").status_code

    readers = {
        "同区县专员": make_user("district", "涪陵区"),
        "招商专员": make_user("officer"),
        "处室负责人": make_user("manager"),
    }
    for who, user in readers.items():
        assert status(user, photo) == 200, who
        if user.role != "district":
            assert status(user, agenda) == 200, who
    assert status(readers["同区县专员"], agenda) == 404  # 涪陵区 met no one at the fair
    changshou = make_user("district", "长寿区")
    assert status(changshou, photo) == 404  # another district's event
    assert status(changshou, agenda) == 200  # a fair that met their lead
    admin = make_user("admin")
    assert status(admin, photo) == status(admin, agenda) == 404  # admins read no events
    # Reading is not changing: 长寿区 neither uploads to the division's fair nor deletes its files.
    reader = client_of(app, changshou)
    page = reader.get(f"/events/{fair.id}").text
    assert "展会议程.pdf" in page and 'data-testid="attachment-upload"' not in page
    assert f'action="/attachments/{agenda.id}/delete"' not in page
    assert post_file(reader, fair.id, pdf_bytes(), "长寿上传.pdf").status_code == 403
    assert reader.post(f"/attachments/{agenda.id}/delete").status_code == 403
    assert client_of(app, admin).post(f"/events/{fair.id}/attachments").status_code == 403
    db.session.expire_all()
    assert count(Attachment) == 2 and db.session.get(Attachment, agenda.id).deleted_at is None


def _attachment_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if "attachment" in rule.rule and not rule.rule.startswith(("/projects/", "/api/"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_another_districts_user_gets_404_on_every_route_of_an_events_files(app, make_user):
    changshou_user = make_user("district", "长寿区")
    theirs = make_event(changshou_user, district="长寿区", title="长寿区的招商推介会")
    kept, gone = (
        keep(theirs, name, "签到表", changshou_user) for name in ("长寿签到表.pdf", "已删签到表.pdf")
    )
    commit(lambda: delete_attachment(db.session.get(Attachment, gone.id), changshou_user))
    before = (count(Attachment), count(AttachmentBlob))
    fuling = client_of(app, make_user("district", "涪陵区"))

    answers = {
        ("/events/<int:event_id>/attachments", "POST"): post_file(fuling, theirs.id, pdf_bytes(), "涪陵.pdf"),
        ("/attachments/<int:attachment_id>", "GET"): fuling.get(f"/attachments/{kept.id}"),
        ("/attachments/<int:attachment_id>/delete", "POST"): fuling.post(f"/attachments/{kept.id}/delete"),
    }
    assert set(answers) == _attachment_routes(app)  # every route an event's file is reached by
    for route, response in answers.items():
        assert response.status_code == 404, route
        assert "长寿签到表.pdf" not in response.text and "长寿区的招商推介会" not in response.text
    # Another district's file, a deleted file and an unknown id look exactly alike.
    unknown = gone.id + 50
    for path, method in (("/attachments/{}", fuling.get), ("/attachments/{}/delete", fuling.post)):
        replies = [method(path.format(i)) for i in (kept.id, gone.id, unknown)]
        assert len({(r.status_code, without_csrf_token(r.text)) for r in replies}) == 1
        assert replies[0].status_code == 404
    db.session.expire_all()
    assert (count(Attachment), count(AttachmentBlob)) == before
    assert db.session.get(Attachment, kept.id).deleted_at is None
    # Their own district's user has it all.
    changshou = client_of(app, changshou_user)
    assert changshou.get(f"/attachments/{kept.id}").data == pdf_bytes()
    assert changshou.get(f"/attachments/{gone.id}").status_code == 404  # deleted: gone for all


def test_those_who_may_change_the_event_delete_its_files_others_may_not(app, make_user, fuling, fuling_event):
    photo = keep(fuling_event, PHOTO_NAME, "活动照片", fuling, png_bytes())
    button = f'action="/attachments/{photo.id}/delete"'
    # An officer who did not record it: no button, and a 403.
    officer = client_of(app, make_user("officer"))
    assert button not in officer.get(f"/events/{fuling_event.id}").text
    assert officer.post(f"/attachments/{photo.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Attachment, photo.id).deleted_at is None
    # A colleague of the organising district may: the event's files are its organisers' to keep.
    colleague_user = make_user("district", "涪陵区")
    colleague = client_of(app, colleague_user)
    assert button in colleague.get(f"/events/{fuling_event.id}").text
    response = colleague.post(f"/attachments/{photo.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/events/{fuling_event.id}#attachments"
    page = colleague.get(f"/events/{fuling_event.id}").text
    assert f"已删除附件“{PHOTO_NAME}”。" in page and "尚无附件。" in page
    assert colleague.get(f"/attachments/{photo.id}").status_code == 404
    db.session.expire_all()
    deleted = db.session.get(Attachment, photo.id)
    assert deleted.deleted_by_id == colleague_user.id and storage().get(deleted.storage_key) == png_bytes()


def test_a_manager_deletes_a_file_of_an_officers_event_and_the_log_keeps_both_steps(app, make_user):
    recorder = make_user("officer")
    event = make_event(recorder, title="处室外出招商")
    recorder_client = client_of(app, recorder)
    assert post_file(recorder_client, event.id, pdf_bytes(), SIGN_IN_NAME, "签到表").status_code == 302
    attachment = stored(SIGN_IN_NAME)
    other_officer = client_of(app, make_user("officer"))
    assert other_officer.post(f"/attachments/{attachment.id}/delete").status_code == 403
    manager = make_user("manager")
    assert client_of(app, manager).post(f"/attachments/{attachment.id}/delete").status_code == 302

    logged = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "attachments").order_by(AuditLog.id)
    ).all()
    assert [entry.action for entry in logged] == ["insert", "update"]
    assert logged[0].actor_name == recorder.username and logged[0].row_id == str(attachment.id)
    assert logged[0].after["event_id"] == event.id and logged[0].after.get("project_id") is None
    assert logged[0].after["name"] == SIGN_IN_NAME and logged[0].after["category"] == "签到表"
    assert logged[1].actor_name == manager.username
    assert set(logged[1].after) == {"deleted_at", "deleted_by_id"}
    assert logged[1].after["deleted_by_id"] == manager.id
    # The audit page names the table and the new field in Chinese.
    assert table_labels()["attachments"] == "附件"
    assert field_labels()["attachments"]["event_id"] == "招商活动编号"


def test_an_event_with_files_is_deleted_only_once_they_are(app, make_user, fuling, fuling_event):
    photo, agenda = (keep(fuling_event, name, "活动议程", fuling) for name in ("议程一.pdf", "议程二.pdf"))
    commit(lambda: delete_attachment(db.session.get(Attachment, agenda.id), fuling))
    ids = sorted([str(photo.id), str(agenda.id)])
    manager = client_of(app, make_user("manager"))
    refused = manager.post(f"/events/{fuling_event.id}/delete", data={"confirm": "y"}, follow_redirects=True)
    assert "该活动还有 1 个附件，请先在“活动附件”中逐个删除，再删除该活动" in refused.text
    assert count(Event) == 1 and count(Attachment) == 2
    assert manager.post(f"/attachments/{photo.id}/delete").status_code == 302
    deleted = manager.post(f"/events/{fuling_event.id}/delete", data={"confirm": "y"})
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/events"
    # The records went with the event (each in the log); the bytes stay stored.
    assert count(Event) == 0 and count(Attachment) == 0 and count(AttachmentBlob) == 2
    removed = db.session.scalars(
        select(AuditLog.row_id).where(AuditLog.table_name == "attachments", AuditLog.action == "delete")
    ).all()
    assert sorted(removed) == ids


# ---------------------------------------------------------------- migration 0018 both ways


def _schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": migration_include_object}
        )
        return compare_metadata(context, db.metadata)


def test_the_downgrade_takes_the_events_files_and_their_bytes_and_keeps_the_projects(
    tmp_path, make_user, make_project
):
    app = build_app(fresh_database_url(tmp_path, "evatt"))
    with app.app_context():
        user = make_user("district", "涪陵区")
        event = make_event(user, district="涪陵区")
        project = make_project(district="涪陵区")
        on_event = keep(event, "议程.pdf", "活动议程", user)
        on_project = keep(project, "现场.png", "现场照片", user, png_bytes())
        keys = (on_event.storage_key, on_project.storage_key)
        db.session.remove()
    try:
        refused = cli(app, "db", "downgrade", "0017_brief_issues")
        assert refused.exit_code == 1
        assert "  0018_event_attachments\n    招商活动的附件（attachments.event_id）：1 行" in refused.output
        forced = cli(app, "db", "downgrade", "-x", "force=1", "0017_brief_issues")
        assert forced.exit_code == 0, forced.output
        with app.app_context():
            assert "event_id" not in {c["name"] for c in inspect(db.engine).get_columns("attachments")}
            project_id = next(
                c for c in inspect(db.engine).get_columns("attachments") if c["name"] == "project_id"
            )
            assert project_id["nullable"] is False
            rows = db.session.execute(select(Attachment.__table__.c.storage_key)).scalars().all()
            blobs = db.session.execute(select(AttachmentBlob.key)).scalars().all()
            assert rows == [keys[1]] and blobs == [keys[1]]  # the event's file and bytes are gone
            db.session.remove()
        upgraded = cli(app, "db", "upgrade")
        assert upgraded.exit_code == 0, upgraded.output
        with app.app_context():
            assert _schema_differences() == []
            assert [a.name for a in db.session.scalars(select(Attachment))] == ["现场.png"]
            assert storage().get(keys[1]) == png_bytes()
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
