"""The command line: users, the map loader, the demo data."""

from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.auth.service import find_user
from crm.cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from crm.extensions import db
from crm.places.models import District


def test_users_create(runner):
    result = runner.invoke(args=["users", "create", "li", "--role", "officer", "--password", "pw-1234567x"])
    assert result.exit_code == 0, result.output
    assert "已创建用户 li" in result.output
    user = find_user("li")
    assert user.role == "officer" and user.check_password("pw-1234567x")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "users"))
    assert entry.actor_name.startswith("命令行")


def test_users_create_district_by_alias(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "xs",
            "--role",
            "district",
            "--district",
            "秀山县",
            "--password",
            "pw-1234567x",
        ]
    )
    assert result.exit_code == 0, result.output
    assert find_user("xs").district.name == "秀山土家族苗族自治县"


def test_users_create_errors_are_chinese_and_write_nothing(runner):
    cases = [
        (["--role", "district", "--district", "火星区"], "未知的区县或功能区"),
        (["--role", "district"], "必须指定所属区县"),
        (["--role", "officer", "--district", "涪陵区"], "只有区县专员"),
    ]
    for extra, message in cases:
        result = runner.invoke(args=["users", "create", "bad", *extra, "--password", "pw-1234567x"])
        assert result.exit_code == 1, result.output
        assert "错误：" in result.output and message in result.output
    result = runner.invoke(args=["users", "create", "bad", "--role", "officer", "--password", "short"])
    assert result.exit_code == 1 and "密码至少需要 10 个字符" in result.output
    assert find_user("bad") is None


def test_users_disable_enable_and_set_password(runner, make_user):
    user = make_user("officer", username="wang")
    assert runner.invoke(args=["users", "disable", "wang"]).exit_code == 0
    db.session.expire_all()
    assert user.active is False
    assert runner.invoke(args=["users", "enable", "wang"]).exit_code == 0
    assert runner.invoke(args=["users", "set-password", "wang", "--password", "zzzzzzzzz9"]).exit_code == 0
    db.session.expire_all()
    assert user.active is True and user.check_password("zzzzzzzzz9")
    result = runner.invoke(args=["users", "disable", "nobody"])
    assert result.exit_code == 1 and "用户“nobody”不存在" in result.output


def test_map_load_is_idempotent(runner):
    result = runner.invoke(args=["map", "load"])
    assert result.exit_code == 0 and "新增 0，更新 0，未变 41" in result.output
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    runner.invoke(args=["map", "load"])
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before


def test_map_load_repairs_an_edited_row_and_audits_it(runner):
    fuling = db.session.scalar(select(District).where(District.name == "涪陵区"))
    fuling.aliases = []
    db.session.commit()
    result = runner.invoke(args=["map", "load"])
    assert "更新 1" in result.output
    db.session.expire_all()
    assert fuling.aliases == ["涪陵"]
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "districts").order_by(AuditLog.id)
    ).all()[-1]
    assert entry.before == {"aliases": []} and entry.after == {"aliases": ["涪陵"]}


def test_demo_load_creates_the_accounts_once(runner):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0 and f"新建 {len(DEMO_ACCOUNTS)} 个" in result.output
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "跳过" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == len(DEMO_ACCOUNTS)
    for username, role, district, _ in DEMO_ACCOUNTS:
        user = find_user(username)
        assert user.role == role and user.check_password(DEMO_PASSWORD)
        assert (user.district.name if user.district else None) == district


def test_demo_accounts_prints_every_account(runner):
    runner.invoke(args=["demo", "load"])
    output = runner.invoke(args=["demo", "accounts"]).output
    assert DEMO_PASSWORD in output
    assert all(username in output for username, *_ in DEMO_ACCOUNTS)


def test_cli_usage_errors_are_chinese(runner):
    cases = [
        (["users", "create"], "请指定用户名"),
        (["users", "create", "x1"], "请用 --password 指定密码"),
        (["users", "create", "x1", "--password", "pw-1234567x"], "请指定角色"),
        (["users", "create", "x1", "--role", "boss", "--password", "pw-1234567x"], "角色“boss”无效"),
        (["users", "set-password", "nobody", "--password", "pw-1234567x"], "不存在"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Error" not in result.output and "Traceback" not in result.output


def test_cli_long_display_name_is_a_chinese_error_without_secrets(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "longname",
            "--role",
            "officer",
            "--password",
            "pw-1234567x",
            "--display-name",
            "名" * 100,
        ]
    )
    assert result.exit_code == 1 and "姓名不能超过 64 个字符" in result.output
    assert "scrypt" not in result.output and "pbkdf2" not in result.output
    assert find_user("longname") is None


def test_cli_on_a_database_without_tables_says_what_to_do(tmp_path):
    from crm import create_app
    from tests.conftest import IsolatedRunner

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/empty.db"})
    app.test_cli_runner_class = IsolatedRunner
    result = app.test_cli_runner().invoke(args=["map", "load"])
    assert result.exit_code == 1 and "db upgrade" in result.output and "Traceback" not in result.output


def test_demo_data_covers_every_stage_cluster_and_most_districts(runner):
    from crm.enterprises.models import Enterprise
    from crm.leads.models import STAGES, FollowUp, Lead
    from crm.projects.models import Project

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "演示数据：企业" in result.output
    stages = set(db.session.scalars(select(Lead.stage).distinct()))
    assert stages == set(STAGES)
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) >= 300
    districts = set(db.session.scalars(select(Lead.intended_district_id).distinct()))
    assert len(districts) >= 25
    from crm.industry.models import CatalogueEntry, Cluster

    leads_by_cluster = {
        cluster.name: db.session.scalar(
            select(func.count())
            .select_from(Lead)
            .join(CatalogueEntry, Lead.catalogue_entry_id == CatalogueEntry.id)
            .where(CatalogueEntry.clusters.any(Cluster.id == cluster.id))
        )
        for cluster in db.session.scalars(select(Cluster).where(Cluster.kind == "重点"))
    }
    assert all(leads_by_cluster.values()), leads_by_cluster
    signed = db.session.scalar(select(func.count()).select_from(Project))
    assert signed == db.session.scalar(select(func.count()).select_from(Lead).where(Lead.stage == "签约")) > 0
    from crm.projects.models import HEALTHS
    from crm.projects.models import STAGES as PROJECT_STAGES

    projects = db.session.scalars(select(Project)).all()
    assert {p.stage for p in projects} == set(PROJECT_STAGES)
    from crm.core.timeutil import today_local as today

    assert {p.health(today()) for p in projects} == set(HEALTHS)
    assert all(p.updates for p in projects if p.stage != "签约")
    entries = [e for p in projects for e in p.fund_entries]
    assert any(e.corrects_id for e in entries)  # a correction on file
    assert {e.review for e in entries} == {"待核实", "已核实", "不予认定"}
    assert {e.source_region for e in entries} >= {"境外", "国内省外", "市外省内"}
    assert all(p.plan_for(today().year) for p in projects)
    assert len({p.district_id for p in projects}) >= 10
    for cluster in db.session.scalars(select(Cluster).where(Cluster.kind == "重点")):
        places = {p.district_id for p in projects if cluster in p.catalogue_entry.clusters}
        assert len(places) >= 3, cluster.name
    from crm.core.timeutil import today_local

    # Dates that read true: an open lead's contacts are of the last twelve weeks, a signed lead's
    # all came before its signing, and no lead has been further than its contacts took it.
    open_oldest = db.session.scalar(
        select(func.min(FollowUp.occurred_on)).join(Lead).where(Lead.stage.not_in(("签约", "流失", "搁置")))
    )
    assert (today_local() - open_oldest).days <= 84
    late = db.session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .join(Lead)
        .join(Project, Project.lead_id == Lead.id)
        .where(FollowUp.occurred_on > Project.signed_on)
    )
    assert late == 0
    site_visits = db.session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .join(Lead)
        .where(FollowUp.kind == "实地考察", Lead.stage == "线索")
    )
    assert site_visits == 0
    again = runner.invoke(args=["demo", "load"])
    assert "已存在，未重复载入" in again.output
