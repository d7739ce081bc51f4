"""Twenty people (or one impatient double-clicker) doing the same thing at the same moment: one
succeeds, the others get a clear Chinese refusal — a form re-rendered or a 409 — never a 500, and
the data stays whole (one project, one firm, no lost follow-up). Run on SQLite and PostgreSQL."""

import threading

import pytest
from sqlalchemy import func, select

from crm.core.timeutil import today_local
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.leads.models import FollowUp, Lead, StageChange
from crm.projects.models import Project
from tests.conftest import PASSWORD

PARALLEL = 20


def _clients(app, username: str) -> list:
    """PARALLEL test clients sharing one login of `username` (as tabs of one browser do: a new
    login would end the user's other sessions)."""
    first = app.test_client()
    response = first.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = first.get_cookie("session")
    clients = [first]
    for _ in range(PARALLEL - 1):
        client = app.test_client()
        client.set_cookie("session", cookie.value, domain=cookie.domain)
        clients.append(client)
    return clients


def _at_once(clients, send) -> list:
    """Send one request per client, all released together; the responses in client order."""
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)
    errors: list = []

    def run(index: int, client) -> None:
        try:
            barrier.wait()
            responses[index] = send(client)
        except Exception as error:  # a crash in the test client would otherwise vanish in the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return responses


def _no_server_errors(responses) -> None:
    statuses = [r.status_code for r in responses]
    assert all(status < 500 for status in statuses), statuses


@pytest.fixture
def ready_lead(make_user, make_enterprise, make_lead):
    """A lead at 初步接洽 with everything signing needs, owned by a fresh officer."""
    owner = make_user("officer")
    lead = make_lead(
        make_enterprise(name="并发测试材料有限公司"),
        owner,
        title="并发测试项目",
        district="涪陵区",
        catalogue_code="CH-PA-01",
        intended_investment_wan="50000",
    )
    return lead.id, owner.username  # plain values: the threads have no session to reload a row


def test_parallel_follow_ups_keep_every_record_they_report(app, ready_lead):
    lead_id, username = ready_lead
    today = today_local()

    def send(client):
        return client.post(
            f"/api/v1/leads/{lead_id}/follow-ups",
            json={"kind": "电话", "notes": "并发跟进", "occurred_on": today.isoformat()},
        )

    responses = _at_once(_clients(app, username), send)
    _no_server_errors(responses)
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert created
    assert all(r.status_code == 409 and "本次操作未生效" in r.json["error"] for r in refused)
    db.session.expire_all()
    # Every 201 is a stored follow-up and every 409 stored nothing.
    stored = db.session.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.lead_id == lead_id))
    assert stored == len(created)


def test_parallel_stage_moves_make_one_move(app, ready_lead):
    lead_id, username = ready_lead

    def send(client):
        return client.post(f"/leads/{lead_id}/stage", data={"stage": "流失", "lost_reason": "联系中断"})

    responses = _at_once(_clients(app, username), send)
    _no_server_errors(responses)
    db.session.expire_all()
    moves = db.session.scalars(select(StageChange).where(StageChange.lead_id == lead_id)).all()
    assert [m.to_stage for m in moves].count("流失") == 1
    assert db.session.get(Lead, lead_id).stage == "流失"


def test_parallel_signings_make_one_project(app, ready_lead, make_user):
    lead_id, username = ready_lead
    today = today_local()
    # Signing needs a contact first (the gate of 初步接洽 and beyond).
    clients = _clients(app, username)
    assert (
        clients[0].post(f"/leads/{lead_id}/follow-ups", data={"kind": "电话", "notes": "洽谈"}).status_code
        == 302
    )

    def send(client):
        return client.post(
            f"/leads/{lead_id}/sign",
            data={"signed_on": today.isoformat(), "agreed_investment_wan": "80000"},
        )

    responses = _at_once(clients, send)
    _no_server_errors(responses)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Project).where(Project.lead_id == lead_id)) == 1


def test_parallel_reassignments_leave_one_owner_and_one_history(app, ready_lead, make_user):
    lead_id, _ = ready_lead
    manager = make_user("manager")
    officers = [make_user("officer").id for _ in range(PARALLEL)]
    clients = _clients(app, manager.username)

    def send(client):
        target = officers[clients.index(client)]
        return client.post(f"/leads/{lead_id}/owner", data={"owner_id": str(target)})

    responses = _at_once(clients, send)
    _no_server_errors(responses)
    db.session.expire_all()
    assert db.session.get(Lead, lead_id).owner_id in officers


def test_parallel_creations_with_one_credit_code_make_one_firm(app, make_user):
    officer = make_user("officer")
    code = "91500000MA5U00000W"

    def send(client):
        return client.post(
            "/api/v1/enterprises", json={"name": "并发登记新材料有限公司", "credit_code": code}
        )

    responses = _at_once(_clients(app, officer.username), send)
    _no_server_errors(responses)
    assert [r.status_code for r in responses].count(201) == 1
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code == 409 for r in refused), [r.status_code for r in refused]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 1


def test_parallel_creations_of_one_name_make_one_firm(app, make_user):
    officer = make_user("officer")

    def send(client):
        return client.post("/enterprises/new", data={"name": "并发同名新材料有限公司", "kind": "target"})

    responses = _at_once(_clients(app, officer.username), send)
    _no_server_errors(responses)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 1
    # The others were told: the form came back with the probable duplicate to confirm.
    assert sum("可能与已有企业重复" in r.text for r in responses if r.status_code == 200) >= 1
