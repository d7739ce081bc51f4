"""Weekly briefs: figures read back from the PDF equal the database, fonts embedded, quiet weeks,
the CLI, weeks outside the calendar or loosely written, output files that cannot be written, the web
page and its byte-identical archive, district scope, overdue follow-ups as the lead list counts them;
the dashboard."""

import re
import subprocess
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from crm.briefs.models import Brief
from crm.core.timeutil import SHANGHAI, today_local
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.leads.models import FollowUp, Lead
from crm.leads.service import add_follow_up
from crm.places.service import resolve_district
from crm.projects.funds import add_entry
from crm.projects.models import FundEntry, Milestone, Project
from crm.projects.service import add_update

WEEK, MONDAY, SUNDAY = "2026-W10", date(2026, 3, 2), date(2026, 3, 8)
TODAY = date(2026, 3, 20)


def briefs() -> int:
    return db.session.scalar(select(func.count()).select_from(Brief))


def pdf_text(pdf: bytes) -> str:
    # -raw keeps the order the page draws text in: each headline box reads label, week, cumulative.
    return subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def dataset(make_user, make_enterprise, make_lead, make_project):
    """Light-alloy leads, follow-ups and projects in 2026-W10, and a few outside it."""
    officer = make_user("officer")
    entry = get_entry("NF-AL-01")  # 轻合金 (and 航空材料)
    other = get_entry("CH-PU-01")  # 合成材料 only
    leads = []
    for number, (day, code, district) in enumerate(
        [
            (MONDAY, entry.code, "九龙坡区"),
            (SUNDAY, entry.code, "涪陵区"),
            (MONDAY, other.code, "长寿区"),
            (MONDAY - timedelta(days=1), entry.code, "九龙坡区"),
        ]
    ):
        lead = make_lead(
            make_enterprise(name=f"周报测试企业{number}号有限公司"),
            officer,
            title=f"周报测试线索{number}",
            source="展会",
            catalogue_code=code,
            district=district,
        )
        lead.created_at = datetime.combine(day, time(10), SHANGHAI).astimezone(UTC)
        leads.append(lead)
    add_follow_up(leads[0], {"occurred_on": MONDAY, "kind": "电话", "notes": "电话"}, officer, today=TODAY)
    add_follow_up(
        leads[1], {"occurred_on": SUNDAY, "kind": "实地考察", "notes": "考察"}, officer, today=TODAY
    )
    add_follow_up(
        leads[2], {"occurred_on": MONDAY, "kind": "实地考察", "notes": "考察"}, officer, today=TODAY
    )
    add_follow_up(
        leads[3],
        {"occurred_on": MONDAY - timedelta(days=1), "kind": "拜访", "notes": "上周"},
        officer,
        today=TODAY,
    )
    projects = [
        make_project(
            name=f"周报测试项目{number}",
            enterprise=make_enterprise(name=f"周报项目企业{number}号有限公司"),
            district=district,
            catalogue_code=entry.code,
            agreed_investment_wan=amount,
            signed_on=signed,
        )
        for number, (signed, amount, district) in enumerate(
            [(MONDAY, 50_000, "九龙坡区"), (date(2025, 6, 1), 80_000, "涪陵区")]
        )
    ]
    add_update(
        projects[1],
        {"reported_on": "2026-03-03", "stage_reached": "开工", "stage_reached_on": "2026-03-03"},
        officer,
        today=TODAY,
    )
    money = {"source_region": "国内省外", "kind": "固定资产投资"}
    add_entry(projects[1], {**money, "amount_wan": 12_000, "arrived_on": "2026-03-03"}, officer, today=TODAY)
    first = add_entry(
        projects[0], {**money, "amount_wan": 3_000, "arrived_on": "2026-03-05"}, officer, today=TODAY
    )
    add_entry(
        projects[0],
        {**money, "amount_wan": 2_000, "arrived_on": "2026-03-05", "corrects_id": first.id, "note": "更正"},
        officer,
        today=TODAY,
    )
    db.session.commit()
    return {"entry": entry, "projects": projects}


def db_week_figures(
    cluster_code: str | None, first: date, last: date, district_id: int | None = None
) -> dict:
    """The headline figures straight from the tables, written independently of reports.figures
    (cluster None: the city; district_id: a district user's brief)."""
    from crm.industry.models import CatalogueEntry, Cluster

    members = select(CatalogueEntry.id).join(CatalogueEntry.clusters).where(Cluster.code == cluster_code)
    start = datetime.combine(first, time.min, SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, SHANGHAI).astimezone(UTC)
    leads = select(Lead.id)
    projects = select(Project.id)
    if cluster_code:
        leads = leads.where(Lead.catalogue_entry_id.in_(members))
        projects = projects.where(Project.catalogue_entry_id.in_(members))
    if district_id:
        leads = leads.where(Lead.intended_district_id == district_id)
        projects = projects.where(Project.district_id == district_id)
    count = lambda stmt: db.session.scalar(select(func.count()).select_from(stmt.subquery()))  # noqa: E731
    corrected = select(FundEntry.corrects_id).where(FundEntry.corrects_id.is_not(None))
    return {
        "新增线索": count(leads.where(Lead.created_at >= start, Lead.created_at < end)),
        "跟进": count(
            select(FollowUp.id).where(FollowUp.lead_id.in_(leads), FollowUp.occurred_on.between(first, last))
        ),
        "实地考察": count(
            select(FollowUp.id).where(
                FollowUp.lead_id.in_(leads),
                FollowUp.kind == "实地考察",
                FollowUp.occurred_on.between(first, last),
            )
        ),
        "签约项目": count(projects.where(Project.signed_on.between(first, last))),
        "开工项目": count(
            select(Milestone.id).where(
                Milestone.project_id.in_(projects),
                Milestone.stage == "开工",
                Milestone.actual_on.between(first, last),
            )
        ),
        # The shipped 口径: every standing entry counted as 招商引资, except those refused.
        "资金到位": db.session.scalar(
            select(func.coalesce(func.sum(FundEntry.amount_wan), 0)).where(
                FundEntry.project_id.in_(projects),
                FundEntry.arrived_on.between(first, last),
                FundEntry.id.not_in(corrected),
                FundEntry.counts_as_investment.is_(True),
                FundEntry.review != "不予认定",
            )
        ),
    }


def shown(text: str, label: str, unit: str) -> tuple[int, int]:
    """(this week, cumulative) of a headline box as the PDF prints it."""
    match = re.search(rf"{label}\s+([\d,]+) {unit}\s+累计 ([\d,]+) {unit}", text)
    assert match, f"{label} not found in the brief"
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


def test_every_headline_figure_of_the_pdf_equals_the_database(runner, dataset, tmp_path, monkeypatch):
    monkeypatch.setattr("crm.briefs.service.today_local", lambda: TODAY)
    out = tmp_path / "la.pdf"
    result = runner.invoke(args=["brief", "--cluster", "轻合金", "--week", WEEK, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    week = db_week_figures("LA", MONDAY, SUNDAY)
    total = db_week_figures("LA", date(2023, 1, 1), SUNDAY)
    for label, unit in (
        ("新增线索", "条"),
        ("跟进", "次"),
        ("实地考察", "次"),
        ("签约项目", "个"),
        ("开工项目", "个"),
    ):
        assert shown(text, label, unit) == (week[label], total[label]), label
    assert week == {"新增线索": 2, "跟进": 2, "实地考察": 1, "签约项目": 1, "开工项目": 1, "资金到位": 14_000}
    # 12 000 + the corrected 2 000, with its 统计口径 as the footnote the box points to.
    assert re.search(r"资金到位\s*注\s+1\.40 亿元\s+累计 1\.40 亿元", text)
    assert "注：资金到位即到位资金台账中计入招商引资到位资金" in text.replace("\n", "")
    assert re.search(r"签约金额\s+5\.00 亿元\s+累计 13\.00 亿元", text)
    assert "轻合金材料产业集群招商周报" in text and "2026-W10" in text and "第 1 页 / 共" in text
    assert "周报测试线索2" not in text  # 合成材料's lead is not in the 轻合金 brief
    assert "NF-AL-02" in text.split("九、空白环节")[1]  # gaps come first in the coverage


def test_fonts_are_embedded_cjk_with_a_real_bold(runner, dataset, tmp_path):
    out = tmp_path / "city.pdf"
    assert runner.invoke(args=["brief", "--city", "--week", WEEK, "-o", str(out)]).exit_code == 0
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert any("Bold" in line for line in cjk) and any("Bold" not in line for line in cjk)
    assert all(" yes yes " in line for line in cjk)  # embedded, subset


def test_a_week_with_no_activity_still_renders_and_says_so(runner, tmp_path):
    out = tmp_path / "quiet.pdf"
    result = runner.invoke(
        args=["brief", "--cluster", "钒盐特色材料产业集群", "--week", "2024-W05", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert (
        "本周无新增线索、跟进、签约、开工、投产或资金到位记录" in text
        and "钒盐特色材料产业集群招商周报" in text
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cluster", "火星材料"], "可用：轻合金、纤维及复合材料"),
        (["--cluster", "轻合金", "--week", "2026-47"], "格式不对，应为 ISO 周"),
        (["--cluster", "轻合金", "--week", "2026-W54"], "2026 年没有第 54 周"),
        (["--cluster", "轻合金", "--city"], "请指定且只指定一项"),
        (["--city"], "请用 -o 指定输出文件"),
    ],
)
def test_brief_cli_errors_are_chinese_and_make_nothing(runner, tmp_path, args, message):
    output = [] if args == ["--city"] else ["-o", str(tmp_path / "x.pdf")]
    result = runner.invoke(args=["brief", *args, *output])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(Brief)) == 0


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("9999-W52", "年份应在 2000–2099 年之间"),  # its Sunday + 1 day overflowed: a traceback
        ("0001-W01", "年份应在 2000–2099 年之间"),  # Monday 00:00 Shanghai is before year 1 in UTC
        ("0000-W01", "年份应在 2000–2099 年之间"),  # year 0 does not exist
        ("2026-W00", "2026 年没有第 0 周"),
        ("٢٠٢٦-W10", "格式不对"),  # Arabic-Indic digits: \d took them
    ],
)
def test_weeks_outside_the_calendar_are_refused_in_chinese(runner, client, login_as, tmp_path, week, message):
    result = runner.invoke(args=["brief", "--city", "--week", week, "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    login_as("manager")
    preview = client.get(
        "/briefs/preview", query_string={"cluster": "LA", "week": week}, follow_redirects=True
    )
    assert preview.status_code == 200 and message in preview.text
    made = client.post("/briefs/", data={"cluster": "LA", "week": week}, follow_redirects=True)
    assert made.status_code == 200 and message in made.text
    assert briefs() == 0


@pytest.mark.parametrize("week", [" 2026-W10 ", "２０２６－W10", "2026-w10"])
def test_a_loosely_written_week_is_archived_and_printed_canonically(client, login_as, runner, tmp_path, week):
    # " 2026-W10 " was kept as typed: 10 characters in an 8-character column (PostgreSQL refused it
    # with a 500), and an archive row no week filter would find.
    login_as("manager")
    response = client.post("/briefs/", data={"cluster": "LA", "week": week})
    assert response.status_code == 302
    assert db.session.scalar(select(Brief.week)) == WEEK
    out = tmp_path / "out"
    result = runner.invoke(args=["brief", "--all", "--week", week, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / f"全市-{WEEK}.pdf").exists()
    assert set(db.session.scalars(select(Brief.week))) == {WEEK}


def test_a_brief_that_cannot_be_written_is_not_archived_and_says_why_in_chinese(runner, tmp_path):
    result = runner.invoke(args=["brief", "--city", "--week", WEEK, "-o", str(tmp_path / "nodir" / "x.pdf")])
    assert result.exit_code == 1 and "文件或目录不存在" in result.output
    assert "No such file" not in result.output
    assert briefs() == 0  # was archived although no PDF was written


def test_brief_all_into_a_path_under_a_file_is_a_chinese_error(runner, tmp_path):
    (tmp_path / "plain").write_text("x")
    result = runner.invoke(args=["brief", "--all", "--week", WEEK, "-o", str(tmp_path / "plain" / "sub")])
    assert (
        result.exit_code == 1 and "无法创建目录" in result.output and "路径中有一段不是目录" in result.output
    )
    assert not isinstance(result.exception, OSError)
    assert briefs() == 0


def test_brief_all_writes_every_cluster_and_the_city_with_progress(runner, tmp_path):
    result = runner.invoke(args=["brief", "--all", "--week", "2024-W05", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 14 and "全市-2024-W05.pdf" in files and "轻合金-2024-W05.pdf" in files
    assert "[14/14] 全市" in result.output and "完成：14 份周报" in result.output
    assert db.session.scalar(select(func.count()).select_from(Brief)) == 14


def test_web_brief_is_archived_and_downloads_byte_identical(client, login_as, dataset):
    manager = login_as("manager")
    response = client.post("/briefs/", data={"cluster": "LA", "week": WEEK})
    assert response.status_code == 302
    first = client.get(response.headers["Location"])
    assert first.status_code == 200 and first.mimetype == "application/pdf" and first.data.startswith(b"%PDF")
    brief = db.session.scalar(select(Brief))
    assert (brief.scope, brief.week, brief.generated_by_id) == ("LA", WEEK, manager.id)
    archive = client.get("/briefs/").text
    assert "轻合金材料产业集群" in archive and WEEK in archive and manager.display_name in archive
    again = client.get(f"/briefs/{brief.id}.pdf")
    assert again.data == first.data
    preview = client.get(f"/briefs/preview?cluster=LA&week={WEEK}")
    assert preview.status_code == 200 and "轻合金材料产业集群招商周报" in preview.text
    assert client.get("/briefs/preview?cluster=LA&week=bad").status_code == 302
    assert (
        client.post("/briefs/", data={"cluster": "XX", "week": WEEK}, follow_redirects=True).status_code
        == 200
    )
    assert db.session.scalar(select(func.count()).select_from(Brief)) == 1


def test_a_district_users_brief_covers_only_their_district(client, login_as, dataset, make_user):
    login_as("district", "涪陵区")
    response = client.get(f"/briefs/preview?cluster=LA&week={WEEK}")
    assert "周报测试项目1" in response.text and "周报测试项目0" not in response.text  # 九龙坡区's
    assert "仅含涪陵区" in response.text
    client.post("/briefs/", data={"cluster": "LA", "week": WEEK})
    mine = db.session.scalar(select(Brief))
    assert mine.district_id == resolve_district("涪陵区").id
    client.get("/logout")
    login_as("district", "长寿区")
    assert client.get(f"/briefs/{mine.id}.pdf").status_code == 404
    assert "轻合金" not in client.get("/briefs/").text.split('data-testid="archive"')[1]


def test_dashboard_numbers_equal_the_lists_they_link_to(client, login_as, dataset):
    login_as("manager")
    page = client.get("/").text
    assert "驾驶舱" in page
    for stage, count in re.findall(r'data-stage="([^"]+)"[^>]*>(\d+)</a>', page):
        expected = db.session.scalar(select(func.count()).select_from(Lead).where(Lead.stage == stage))
        assert int(count) == expected, stage
        listing = client.get(f"/leads/?stage={stage}").text
        assert listing.count(f'<span class="badge text-bg-secondary">{stage}</span>') == min(expected, 25)
    link, count = re.search(r'href="([^"]+)" data-cluster="LA"[^>]*>(\d+)</a>', page).groups()
    assert int(count) == 2  # both light-alloy projects
    totals = client.get(link.replace("&amp;", "&")).text.split('data-testid="totals"')[1]
    assert f"{count} 个" in totals
    rates = re.search(r'data-rate="开工率">([\d.]+)%</a>', page).group(1)
    assert rates == "50.0"  # 1 of the 2 projects signed since 2023 has started


HEADLINES = (("新增线索", "条"), ("跟进", "次"), ("实地考察", "次"), ("签约项目", "个"), ("开工项目", "个"))


def html_shown(html: str, label: str, unit: str) -> tuple[int, int]:
    """(this week, cumulative) of a headline box as the preview shows it."""
    match = re.search(
        rf"{label}</div><div class=\"value\"[^>]*>(\d+) {unit}</div><div class=\"total\">累计 (\d+) {unit}",
        html,
    )
    assert match, f"{label} not found in the preview"
    return int(match.group(1)), int(match.group(2))


def test_city_and_district_briefs_equal_the_database(
    runner, client, login_as, dataset, tmp_path, monkeypatch
):
    monkeypatch.setattr("crm.briefs.service.today_local", lambda: TODAY)
    out = tmp_path / "city.pdf"
    assert runner.invoke(args=["brief", "--city", "--week", WEEK, "-o", str(out)]).exit_code == 0
    text = pdf_text(out.read_bytes())
    week, total = db_week_figures(None, MONDAY, SUNDAY), db_week_figures(None, date(2023, 1, 1), SUNDAY)
    for label, unit in HEADLINES:
        assert shown(text, label, unit) == (week[label], total[label]), label
    assert week["新增线索"] == 3 and week["实地考察"] == 2  # 合成材料's lead counts for the city
    fuling = resolve_district("涪陵区").id
    login_as("district", "涪陵区")
    html = client.get(f"/briefs/preview?cluster=LA&week={WEEK}").text
    week = db_week_figures("LA", MONDAY, SUNDAY, fuling)
    total = db_week_figures("LA", date(2023, 1, 1), SUNDAY, fuling)
    for label, unit in HEADLINES:
        assert html_shown(html, label, unit) == (week[label], total[label]), label
    assert (week["新增线索"], week["开工项目"], week["资金到位"]) == (1, 1, 12_000)


def test_a_project_terminated_in_the_week_and_next_weeks_follow_ups(client, login_as, dataset, monkeypatch):
    monkeypatch.setattr("crm.briefs.service.today_local", lambda: TODAY)
    terminated = dataset["projects"][0]  # signed on MONDAY in 九龙坡区, 5 亿元
    add_update(
        terminated,
        {
            "reported_on": "2026-03-04",
            "stage_reached": "终止",
            "stage_reached_on": "2026-03-04",
            "termination_reason": "其他",
            "note": "企业撤回",
        },
        db.session.scalar(select(Lead).limit(1)).owner,
        today=TODAY,
    )
    leads = db.session.scalars(select(Lead).order_by(Lead.id)).all()
    for lead, due in zip(
        leads,
        [SUNDAY + timedelta(days=1), SUNDAY + timedelta(days=7), SUNDAY + timedelta(days=8), SUNDAY],
        strict=True,
    ):
        lead.next_follow_up_on = due
    db.session.commit()
    login_as("manager")
    html = client.get(f"/briefs/preview?cluster=LA&week={WEEK}").text
    # Its signing happened that week and still counts; as a live project it is gone.
    assert html_shown(html, "签约项目", "个")[0] == 1
    key = html.split("六、重点项目")[1].split("七、")[0]
    assert "周报测试项目0" not in key and "周报测试项目1" in key
    chart = html.split("签约项目协议投资")[1].split("九、")[0]
    assert "九龙坡区" not in chart and "涪陵区" in chart
    # Next week: the LA leads due 9–15 March (lead 2 is 合成材料's, lead 3 was due on Sunday).
    upcoming = html.split("十、下周计划跟进")[1].split("附件")[0]
    expected = db.session.scalars(
        select(Lead.title).where(
            Lead.next_follow_up_on.between(SUNDAY + timedelta(days=1), SUNDAY + timedelta(days=7)),
            Lead.catalogue_entry_id == dataset["entry"].id,
        )
    ).all()
    assert expected == ["周报测试线索0", "周报测试线索1"]
    assert [
        t for t in ("周报测试线索0", "周报测试线索1", "周报测试线索2", "周报测试线索3") if t in upcoming
    ] == expected
    warned = html.split("二、需要关注")[1].split("三、")[0]
    assert "周报测试线索3" not in warned  # due on Sunday itself: not yet overdue on Sunday
    assert "停滞项目（14 天以上无进展更新）：0 个" in warned and "周报测试项目0" not in warned


def test_overdue_follow_ups_of_the_brief_are_the_lead_lists_overdue_ones(
    client, login_as, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    entry = get_entry("NF-AL-01")
    for number, stage in enumerate(["线索", "搁置", "流失", "签约"]):
        lead = make_lead(
            make_enterprise(name=f"逾期测试企业{number}号有限公司"),
            officer,
            title=f"逾期测试线索{stage}",
            source="展会",
            catalogue_code=entry.code,
        )
        lead.stage = stage
        lead.lost_reason = "其他" if stage == "流失" else None
        lead.next_follow_up_on = today_local() - timedelta(days=30)
    db.session.commit()
    login_as("manager")
    listed = client.get("/leads/?overdue=1").text
    in_list = {stage for stage in ["线索", "搁置", "流失", "签约"] if f"逾期测试线索{stage}" in listed}
    preview = client.get("/briefs/preview", query_string={"cluster": "LA", "week": _this_week()}).text
    warned = preview.split("逾期未跟进的线索")[1].split("三、")[0]
    in_brief = {stage for stage in ["线索", "搁置", "流失", "签约"] if f"逾期测试线索{stage}" in warned}
    assert in_list == {"线索", "搁置"}
    assert in_brief == in_list  # the brief left out the dormant lead the list shows
    assert re.search(r"逾期未跟进的线索：(\d+) 条", preview).group(1) == str(
        db.session.scalar(
            select(func.count())
            .select_from(Lead)
            .where(Lead.next_follow_up_on < today_local(), Lead.stage.not_in(("签约", "流失")))
        )
    )


def _this_week() -> str:
    iso = today_local().isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


# ---------------------------------------------------------------- the brief as a 简报


def issue_of(text: str) -> str:
    match = re.search(r"(\d{4})年第 (\d+) 期", text)
    assert match, "no issue number in the brief"
    return f"{match.group(1)}-{match.group(2)}"


def docx_text(data: bytes) -> str:
    import io

    from docx import Document

    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_issue_numbers_run_per_scope_and_year_and_a_week_made_again_keeps_its_number(runner, tmp_path):
    def make(*args) -> str:
        out = tmp_path / "b.pdf"
        result = runner.invoke(args=["brief", *args, "-o", str(out)])
        assert result.exit_code == 0, result.output
        return issue_of(pdf_text(out.read_bytes()))

    assert make("--city", "--week", "2026-W10") == "2026-1"
    assert make("--city", "--week", "2026-W12") == "2026-2"
    assert make("--city", "--week", "2026-W10") == "2026-1"  # made again: the same issue
    assert make("--city", "--week", "2026-W11") == "2026-3"  # numbered as issued, not by week
    assert make("--cluster", "轻合金", "--week", "2026-W10") == "2026-1"  # each scope its own run
    assert make("--city", "--week", "2027-W01") == "2027-1"  # each year starts again
    numbers = db.session.execute(
        select(Brief.week, func.count()).group_by(Brief.week).order_by(Brief.week)
    ).all()
    assert ("2026-W10", 3) in numbers  # every brief archived; two city ones share 第 1 期
    from crm.briefs.models import BriefIssue

    issued = db.session.execute(
        select(BriefIssue.scope, BriefIssue.week, BriefIssue.number).order_by(BriefIssue.id)
    ).all()
    assert issued == [
        ("CITY", "2026-W10", 1),
        ("CITY", "2026-W12", 2),
        ("CITY", "2026-W11", 3),
        ("LA", "2026-W10", 1),
        ("CITY", "2027-W01", 1),
    ]


def test_a_preview_shows_the_number_it_would_get_and_numbers_nothing(client, login_as, runner, tmp_path):
    from crm.briefs.models import BriefIssue

    assert (
        runner.invoke(args=["brief", "--city", "--week", WEEK, "-o", str(tmp_path / "x.pdf")]).exit_code == 0
    )
    login_as("manager")
    html = client.get("/briefs/preview", query_string={"cluster": "CITY", "week": "2026-W11"}).text
    assert "2026年第 2 期（预览，生成时编号）" in html and "重庆市招商投资局" in html
    assert (
        "2026年第 1 期" in client.get("/briefs/preview", query_string={"cluster": "CITY", "week": WEEK}).text
    )
    assert db.session.scalar(select(func.count()).select_from(BriefIssue)) == 1
    assert "2026年第 1 期" in client.get("/briefs/").text  # the archive lists the number


def test_a_district_users_briefs_are_numbered_apart_from_the_citys(client, login_as, runner, tmp_path):
    assert (
        runner.invoke(
            args=["brief", "--cluster", "轻合金", "--week", WEEK, "-o", str(tmp_path / "x.pdf")]
        ).exit_code
        == 0
    )
    login_as("district", "涪陵区")
    client.post("/briefs/", data={"cluster": "LA", "week": "2026-W11"})
    mine = db.session.scalar(select(Brief).where(Brief.district_id.is_not(None)))
    assert (mine.issue.number, mine.issue.district_key) == (1, resolve_district("涪陵区").id)


def test_the_summary_paragraph_says_the_weeks_numbers_as_the_database_counts_them(
    runner, dataset, tmp_path, monkeypatch
):
    monkeypatch.setattr("crm.briefs.service.today_local", lambda: TODAY)
    out = tmp_path / "la.pdf"
    assert runner.invoke(args=["brief", "--cluster", "轻合金", "--week", WEEK, "-o", str(out)]).exit_code == 0
    # Without white space: a line of the PDF may break between a number and its unit.
    text = re.sub(r"\s", "", pdf_text(out.read_bytes()))
    summary = text.split("一、本周摘要")[1].split("二、需要关注")[0]
    week = db_week_figures("LA", MONDAY, SUNDAY)
    before = db_week_figures("LA", MONDAY - timedelta(days=7), MONDAY - timedelta(days=1))
    assert (
        f"新增招商线索{week['新增线索']}条，跟进{week['跟进']}次（其中实地考察{week['实地考察']}次），"
        f"签约项目{week['签约项目']}个" in summary
    )
    assert f"开工项目{week['开工项目']}个" in summary and "资金到位1.40亿元" in summary
    # Against last week, each figure that moved, by how much (the dataset's week before is quiet
    # but for the lead registered on that Sunday).
    for label, unit in (("跟进", "次"), ("签约项目", "个"), ("开工项目", "个")):
        change = week[label] - before[label]
        if change:
            assert f"{label}{'增加' if change > 0 else '减少'}{abs(change)}{unit}" in summary, label
    change = week["新增线索"] - before["新增线索"]
    assert f"新增线索{'增加' if change > 0 else '减少'}{abs(change)}条" in summary
    overdue = db.session.scalar(
        select(func.count())
        .select_from(Lead)
        .where(
            Lead.next_follow_up_on < SUNDAY,
            Lead.stage.not_in(("签约", "流失")),
            Lead.catalogue_entry_id == dataset["entry"].id,
        )
    )
    warnings = text.split("二、需要关注")[1].split("三、本周要情")[0]
    stalled = re.search(r"停滞项目（14天以上无进展更新）：(\d+)个", warnings).group(1)
    behind = re.search(r"滞后项目（节点计划日期已过未完成）：(\d+)个", warnings).group(1)
    # The summary and the warnings say the same.
    if (stalled, behind, overdue) == ("0", "0", 0):
        assert "本周无停滞、滞后项目、逾期未跟进的线索和亮红灯、黄灯的督办事项" in summary
    else:
        assert f"停滞项目{stalled}个，滞后项目{behind}个，逾期未跟进线索{overdue}条" in summary


def test_the_brief_comes_as_word_beside_the_pdf_with_the_same_issue_number(
    runner, client, login_as, dataset, tmp_path
):
    out = tmp_path / "la.pdf"
    result = runner.invoke(
        args=["brief", "--cluster", "轻合金", "--week", WEEK, "--format", "both", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    word = tmp_path / "la.docx"
    assert out.exists() and word.exists() and "第 1 期" in result.output
    pdf, docx = pdf_text(out.read_bytes()), docx_text(word.read_bytes())
    assert "2026年第 1 期" in pdf and "2026年第 1 期" in docx
    assert "一、本周摘要" in docx and "轻合金材料产业集群招商周报" in docx
    only = tmp_path / "only.pdf"
    result = runner.invoke(
        args=["brief", "--cluster", "轻合金", "--week", WEEK, "--format", "docx", "-o", str(only)]
    )
    assert result.exit_code == 0 and (tmp_path / "only.docx").exists() and not only.exists()
    assert "2026年第 1 期" in docx_text((tmp_path / "only.docx").read_bytes())  # the same week again
    refused = runner.invoke(args=["brief", "--city", "--week", WEEK, "--format", "both", "-o", str(word)])
    assert refused.exit_code == 1 and "是 Word 文件名" in refused.output
    bad = runner.invoke(args=["brief", "--city", "--week", WEEK, "--format", "odt", "-o", str(out)])
    assert bad.exit_code == 1 and "--format 应为 pdf、docx 或 both" in bad.output
    brief = db.session.scalars(select(Brief).order_by(Brief.id)).first()
    login_as("manager")
    download = client.get(f"/briefs/{brief.id}.docx")
    assert download.status_code == 200 and download.data == brief.docx
    assert download.mimetype.endswith("wordprocessingml.document")
    assert ".docx" in download.headers["Content-Disposition"]
    made = client.post("/briefs/", data={"cluster": "LA", "week": WEEK, "format": "docx"})
    assert made.status_code == 302 and made.headers["Location"].endswith(".docx")


def test_another_districts_word_brief_is_not_there(client, login_as, runner, tmp_path):
    login_as("district", "涪陵区")
    client.post("/briefs/", data={"cluster": "LA", "week": WEEK})
    mine = db.session.scalar(select(Brief))
    client.get("/logout")
    login_as("district", "长寿区")
    assert client.get(f"/briefs/{mine.id}.docx").status_code == 404


def test_a_brief_whose_number_another_took_meanwhile_is_rendered_again_with_the_next(
    runner, tmp_path, monkeypatch
):
    def make(week: str):
        out = tmp_path / f"{week}.pdf"
        return runner.invoke(args=["brief", "--city", "--week", week, "-o", str(out)]), out

    assert make("2026-W10")[0].exit_code == 0  # 第 1 期
    from crm.briefs import service

    real, asked = service.issue_number, []

    def stale_first(scope, week):
        # What a brief read before another brief, made at the same moment, took 第 1 期.
        asked.append(week)
        return {"year": 2026, "number": 1, "draft": True} if len(asked) == 1 else real(scope, week)

    monkeypatch.setattr(service, "issue_number", stale_first)
    result, out = make("2026-W11")
    assert result.exit_code == 0, result.output
    assert issue_of(pdf_text(out.read_bytes())) == "2026-2" and len(asked) == 2
    monkeypatch.setattr(
        service, "issue_number", lambda scope, week: {"year": 2026, "number": 1, "draft": True}
    )
    result, _out = make("2026-W12")
    assert result.exit_code == 1 and "周报期号被同时生成的周报占用，请稍后重试" in result.output
    assert db.session.scalar(select(func.count()).select_from(Brief)) == 2


def test_administrators_read_no_brief(client, login_as, runner, tmp_path):
    # A brief carries the figures and the rankings, which administrators do not read.
    assert (
        runner.invoke(args=["brief", "--city", "--week", WEEK, "-o", str(tmp_path / "x.pdf")]).exit_code == 0
    )
    brief = db.session.scalar(select(Brief))
    login_as("admin")
    for url in (
        "/briefs/",
        f"/briefs/{brief.id}.pdf",
        f"/briefs/{brief.id}.docx",
        f"/briefs/preview?week={WEEK}",
    ):
        assert client.get(url).status_code == 403, url
    assert 'href="/briefs/"' not in client.get("/").text
