"""Targets a person reports: a manager enters the figures the CRM cannot count, with the date they
are true of and their source; history is kept (append-only, audited); the dashboard and the briefs
show the latest value with its date."""

from datetime import timedelta

from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.industry.models import TargetReport
from crm.industry.targets import get_reported_target, report_target
from crm.places.service import resolve_district
from reports.figures import Figures, Scope


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(TargetReport))


def test_a_manager_reports_a_figure_and_the_dashboard_and_brief_show_it(client, login_as):
    login_as("manager", display_name="吴处长")
    today = today_local()
    earlier, later = (today - timedelta(days=40)).isoformat(), (today - timedelta(days=10)).isoformat()
    client.post("/targets/output_value", data={"value": "8,123.5", "as_of": later, "source": "市统计局快报"})
    # An older figure entered afterwards does not replace the newer one.
    client.post("/targets/output_value", data={"value": "7900", "as_of": earlier, "source": "市统计局月报"})
    assert _count() == 2
    page = client.get("/dashboard").text
    assert "8123.5 亿元" in page and f"截至 {later} · 市统计局快报" in page
    row = next(t for t in Figures(Scope()).targets() if t["code"] == "output_value")
    assert (str(row["current"]), row["as_of"].isoformat(), row["source"]) == ("8123.5", later, "市统计局快报")
    assert round(row["share"], 4) == 0.8124  # of > 10000 亿元
    history = client.get("/targets/output_value").text.split('data-testid="history"')[1]
    assert history.index(later) < history.index(earlier) and "吴处长" in history
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.table_name == "target_reports")
        )
        == 2
    )


def test_a_bad_figure_is_refused_beside_its_field_and_nothing_is_kept(client, login_as):
    login_as("manager")
    future = (today_local() + timedelta(days=3)).isoformat()
    page = client.post(
        "/targets/municipal_innovation_centres", data={"value": "2.5", "as_of": future, "source": "市经信委"}
    ).text
    assert "数值（个）应为整数，不能有小数" in page and 'value="2.5"' in page and 'value="市经信委"' in page
    page = client.post("/targets/output_value", data={"value": "很多", "as_of": "", "source": "x"}).text
    assert "应为不小于 0 的数字，最多两位小数" in page and 'value="很多"' in page
    page = client.post(
        "/targets/output_value", data={"value": "12", "as_of": future, "source": "市统计局"}
    ).text
    assert "截至日期不能晚于今天" in page
    assert _count() == 0


def test_only_managers_report_and_counted_targets_are_not_reported(client, login_as):
    login_as("admin")
    assert client.get("/targets").status_code == 200
    assert (
        client.post(
            "/targets/output_value", data={"value": "1", "as_of": "2026-01-01", "source": "某某"}
        ).status_code
        == 403
    )
    client.post("/logout")
    login_as("officer")
    assert client.get("/targets").status_code == 403
    client.post("/logout")
    login_as("manager")
    assert client.get("/targets/enterprises_10bn").status_code == 404
    assert _count() == 0


def test_a_briefs_targets_are_as_of_its_week_and_say_when_they_are_city_wide(make_user):
    manager = make_user("manager")
    today = today_local()
    target = get_reported_target("output_value")
    report_target(
        target,
        {"value": "7000", "as_of": (today - timedelta(days=60)).isoformat(), "source": "月报"},
        manager,
    )
    report_target(target, {"value": "8000", "as_of": today.isoformat(), "source": "快报"}, manager)
    db.session.commit()
    past = next(
        t for t in Figures(Scope()).targets(today - timedelta(days=30)) if t["code"] == "output_value"
    )
    assert (past["current"], past["source"], past["city_wide"]) == (7000, "月报", False)
    district = Figures(Scope(district_id=resolve_district("涪陵区").id)).targets()
    row = next(t for t in district if t["code"] == "output_value")
    assert row["current"] == 8000 and row["city_wide"] is True
