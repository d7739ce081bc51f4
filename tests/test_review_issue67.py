"""Review of issues 6 and 7 (matcher, weekly briefs): weeks outside Python's dates, weeks spelled
loosely, output files that cannot be written, odd match files, an unknown cluster on the gaps
page, overdue follow-ups of dormant leads, and stale cached matches."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.briefs.models import Brief
from crm.core.timeutil import today_local
from crm.enterprises.service import create_enterprise
from crm.extensions import db
from crm.readmodels import matching
from crm.industry.catalogue import get_entry
from crm.leads.models import Lead
from crm.leads.service import create_lead

WEEK = "2026-W10"


def briefs() -> int:
    return db.session.scalar(select(func.count()).select_from(Brief))


# ---------------------------------------------------------------- weeks


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


# ---------------------------------------------------------------- brief output files


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


# ---------------------------------------------------------------- flask match files


def test_match_reads_a_one_megabyte_products_cell(runner, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(
        "name,products\n大单元格公司," + "高强高模耐蚀铝合金、" * 100_000 + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["match", str(path), "--top", "1"])
    # Was: 错误：CSV 格式有误：field larger than field limit (131072)
    assert result.exit_code == 0, result.output
    assert '"code": "NF-AL-01"' in result.output


def test_match_of_a_directory_is_a_chinese_error(runner, tmp_path):
    result = runner.invoke(args=["match", str(tmp_path)])
    # Was click's "Error: Invalid value for 'FILE': File '…' is a directory." with status 2.
    assert result.exit_code == 1 and "这是一个目录" in result.output
    assert "Invalid value" not in result.output


# ---------------------------------------------------------------- 空白环节


def test_gaps_with_an_unknown_cluster_says_so_and_lists_every_cluster(client, login_as):
    login_as("manager")
    page = client.get("/catalogue/gaps?cluster=XX").text
    # Was an empty page, which reads as "no gaps anywhere".
    assert "没有代码为“XX”的产业集群" in page
    assert 'data-testid="gaps-LA"' in page and 'data-testid="gaps-SM"' in page


# ---------------------------------------------------------------- warnings


def test_overdue_follow_ups_of_the_brief_are_the_lead_lists_overdue_ones(client, login_as, make_user):
    officer = make_user("officer")
    entry = get_entry("NF-AL-01")
    for number, stage in enumerate(["线索", "搁置", "流失", "签约"]):
        firm = create_enterprise({"name": f"逾期测试企业{number}号有限公司"}, confirm_duplicate=True)
        lead = create_lead(
            firm, {"title": f"逾期测试线索{stage}", "source": "展会", "catalogue_code": entry.code}, officer
        )
        lead.stage = stage
        lead.lost_reason = "其他" if stage == "流失" else None
        lead.next_follow_up_on = today_local() - timedelta(days=30)
    db.session.commit()
    login_as("manager")
    listed = client.get("/leads/?overdue=1").text
    in_list = {stage for stage in ["线索", "搁置", "流失", "签约"] if f"逾期测试线索{stage}" in listed}
    preview = client.get("/briefs/preview", query_string={"cluster": "LA", "week": _this_week()}).text
    warned = preview.split("逾期未跟进的线索")[1].split("八、")[0]
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


# ---------------------------------------------------------------- cached matches


def test_matches_cached_for_an_old_catalogue_are_dropped_when_it_changes():
    firm = create_enterprise({"name": "缓存测试企业有限公司", "products": "高强高模耐蚀铝合金"})
    db.session.commit()
    matching.match_enterprise(firm)
    old = id(matching.get_matcher())
    assert any(key[0] == old for key in matching._results)
    entry = get_entry("CH-PA-03")
    entry.keywords = [*entry.keywords, "缓存测试关键词"]
    entry.version += 1
    db.session.commit()
    matching.get_matcher()
    # Keyed by id(matcher): a later matcher may reuse a freed one's id and get its stale results.
    assert not any(key[0] == old for key in matching._results)
