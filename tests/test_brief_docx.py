"""The weekly brief as a Word document (reports.docx): it opens, follows the PDF's HTML heading by
heading, prints the summary and the KPI figures of the data, lists in real tables capped as the PDF
caps them, names an East Asian font for every style and run, starts the appendix on a new page, and
carries the district's share or the city's divisions; a quiet week renders too."""

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph
from sqlalchemy import event

from crm.briefs.service import brief_data
from crm.core.timeutil import SHANGHAI, format_wan
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.leads.service import add_follow_up
from crm.places.service import resolve_district
from crm.projects.funds import add_entry
from crm.projects.service import add_update
from reports.docx import BLOCKS, LIMIT, brief_docx, sparkline_text
from reports.figures import Scope
from reports.render import brief_html
from reports.summary import amount

WEEK, MONDAY, SUNDAY = "2026-W10", date(2026, 3, 2), date(2026, 3, 8)
TODAY = date(2026, 3, 20)
NEW_LEADS = LIMIT + 2  # one list longer than the brief prints, so "另有 2 条" shows
FONTS = {"仿宋", "黑体"}


@pytest.fixture
def dataset(make_user, make_enterprise, make_lead, make_project):
    """Light-alloy leads made in 2026-W10 and due next week (more than a list prints), a
    follow-up and a site visit, two projects (九龙坡区, 涪陵区) with a start and funds."""
    officer = make_user("officer")
    code = get_entry("NF-AL-01").code  # 轻合金 (and 航空材料)
    for number in range(NEW_LEADS):
        lead = make_lead(
            make_enterprise(name=f"文档测试企业{number}号有限公司"),
            officer,
            title=f"文档测试线索{number}",
            source="展会",
            catalogue_code=code,
            district="涪陵区" if number % 2 else "九龙坡区",
            intended_investment_wan=20_000 + number,
        )
        lead.created_at = datetime.combine(MONDAY, time(9), SHANGHAI).astimezone(UTC)
        lead.next_follow_up_on = SUNDAY + timedelta(days=2)
        if number < 2:
            add_follow_up(
                lead,
                {"occurred_on": MONDAY, "kind": "实地考察" if number else "电话", "notes": "了解需求"},
                officer,
                today=TODAY,
            )
    projects = [
        make_project(
            name=f"文档测试项目{number}",
            enterprise=make_enterprise(name=f"文档项目企业{number}号有限公司"),
            district=district,
            catalogue_code=code,
            agreed_investment_wan=agreed,
            signed_on=signed,
        )
        for number, (signed, agreed, district) in enumerate(
            [(MONDAY, 50_000, "九龙坡区"), (date(2025, 6, 1), 80_000, "涪陵区")]
        )
    ]
    add_update(
        projects[1],
        {"reported_on": "2026-03-03", "stage_reached": "开工", "stage_reached_on": "2026-03-03"},
        officer,
        today=TODAY,
    )
    add_entry(
        projects[1],
        {
            "source_region": "国内省外",
            "kind": "固定资产投资",
            "amount_wan": 12_000,
            "arrived_on": "2026-03-03",
        },
        officer,
        today=TODAY,
    )
    db.session.commit()
    return projects


@pytest.fixture
def data_of(monkeypatch):
    """The brief's data as the archive makes it (figures, issuer, issue number)."""
    monkeypatch.setattr("crm.briefs.service.today_local", lambda: TODAY)

    def make(scope: Scope, week: str = WEEK) -> dict:
        return brief_data(scope, week)

    return make


def open_docx(data: dict):
    return Document(io.BytesIO(brief_docx(data)))


def blocks(document) -> list:
    return list(document.iter_inner_content())


def headings(document, style: str = "Heading 1") -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == style]


def section(document, heading: str) -> list:
    """The blocks after `heading` up to the next heading of either level."""
    found, inside = [], False
    for block in blocks(document):
        is_heading = isinstance(block, Paragraph) and block.style.name in ("Heading 1", "Heading 2")
        if inside and is_heading:
            break
        if inside:
            found.append(block)
        inside = inside or (is_heading and block.text == heading)
    assert inside, f"no heading {heading}"
    return found


def tables_in(found: list) -> list[Table]:
    return [block for block in found if isinstance(block, Table)]


def notes_in(found: list) -> str:
    return "\n".join(block.text for block in found if isinstance(block, Paragraph))


def html_texts(html: str, tag: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", text)).strip()
        for text in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", html, re.S)
    ]


def test_the_document_opens_and_follows_the_pdf_heading_by_heading(dataset, data_of):
    data = data_of(Scope("LA"))
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        document = open_docx(data)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert statements == []  # pure: the figures were read before, the document reads nothing
    html = brief_html(data)
    assert headings(document) == html_texts(html, "h2")
    assert headings(document, "Heading 2") == html_texts(html, "h3")
    assert headings(document, "Title") == html_texts(html, "h1") == ["轻合金材料产业集群招商周报"]
    assert headings(document)[-1] == "附件：招商目录覆盖全表" and headings(document)[0] == "一、本周摘要"
    # The masthead: its issue line exactly as the PDF prints it.
    issue = data["issue"]
    printed = re.search(r'id="issue-number">(.*?)</div>', html).group(1)
    assert printed.startswith(f"{issue['year']}年第 {issue['number']} 期")
    masthead = [p.text for p in document.paragraphs[:3]]
    assert masthead[0] == "招商周报" and masthead[1] == printed and data["issuer"] in masthead[2]
    summary = [p.text for p in section(document, "一、本周摘要")]
    assert summary == data["summary"] and len(summary) >= 4


def test_every_kpi_and_its_cumulative_figure_equal_the_data(dataset, data_of):
    data = data_of(Scope("LA"))
    week, total = data["week_figures"], data["cumulative"]
    assert (week["new_leads"], week["follow_ups"], week["site_visits"]) == (NEW_LEADS, 2, 1)
    assert (week["signings"], week["starts"], week["funds_wan"]) == (1, 1, 12_000)
    kpis = tables_in(section(open_docx(data), "三、本周要情"))[0]
    rows = {row.cells[0].text: [cell.text for cell in row.cells[1:]] for row in kpis.rows[1:]}
    units = {
        "新增线索": "条",
        "跟进": "次",
        "实地考察": "次",
        "签约项目": "个",
        "开工项目": "个",
        "投产项目": "个",
    }
    keys = {"新增线索": "new_leads", "跟进": "follow_ups", "实地考察": "site_visits", "签约项目": "signings"}
    keys |= {
        "开工项目": "starts",
        "投产项目": "production_starts",
        "签约金额": "signed_wan",
        "资金到位注": "funds_wan",
    }
    assert list(rows) == list(keys)  # the PDF's order; 资金到位 carries its 注 mark
    for label, key in keys.items():
        shown_week, shown_total, change, average, trend = rows[label]
        if label in units:
            assert (shown_week, shown_total) == (
                f"{week[key]} {units[label]}",
                f"{total[key]} {units[label]}",
            )
        else:
            assert (shown_week, shown_total) == (format_wan(week[key]), format_wan(total[key]))
        t = data["trends"][key]
        assert average == amount(key, float(t["average"]))
        assert change == (f"▲ {amount(key, t['change'])}" if t["change"] > 0 else "持平"), label
        assert len(trend) == data["trend_weeks"] and set(trend) <= set(BLOCKS)
    assert rows["资金到位注"][:2] == ["1.20 亿元", "1.20 亿元"] and rows["签约金额"][0] == "5.00 亿元"
    assert rows["新增线索"][4][-1] == "█"  # this week is the highest of the twelve


def test_lists_are_real_tables_with_the_datas_rows_capped_as_the_pdf_caps_them(dataset, data_of):
    data = data_of(Scope("LA"))
    document = open_docx(data)
    lists = {
        "七、本周新增线索": data["new_leads"],
        "十、下周计划跟进": data["next_week"],
        "六、重点项目": data["key_projects"],
    }
    for heading, rows in lists.items():
        found = section(document, heading)
        (table,) = tables_in(found)
        assert len(table.rows) == 1 + min(len(rows), LIMIT), heading
        hidden = len(rows) - LIMIT
        assert (f"另有 {hidden} 条未列出" in notes_in(found)) == (hidden > 0), heading
    assert len(data["new_leads"]) == len(data["next_week"]) == NEW_LEADS
    new = tables_in(section(document, "七、本周新增线索"))[0]
    assert new.rows[1].cells[0].text.startswith("文档测试线索0") and new.rows[1].cells[3].text == "2.00 亿元"
    funnel, districts = (
        tables_in(section(document, title))[0]
        for title in ("线索阶段分布（当前）", "签约项目协议投资（按区县，不含终止）")
    )
    assert [[c.text for c in row.cells] for row in funnel.rows[1:]] == [
        [str(s), f"{n:,} 条"] for s, n in data["funnel"]
    ]
    assert [[c.text for c in row.cells] for row in districts.rows[1:]] == [
        [name, format_wan(total)] for name, total in data["by_district"]
    ]
    (appendix,) = tables_in(section(document, "附件：招商目录覆盖全表"))
    coverage = data["coverage"]
    assert len(appendix.rows) == 1 + len(coverage["gaps"]) + len(coverage["covered"])
    assert appendix.rows[1].cells[0].text.endswith("（空白）")
    (gaps,) = tables_in(section(document, "九、空白环节"))
    assert len(gaps.rows) == 1 + len(coverage["gaps"])
    assert len(tables_in(section(document, "五、2027 年目标进展（全市）"))[0].rows) == 1 + len(
        data["targets"]
    )
    for table in document.tables:
        header = table.rows[0]._tr.trPr
        assert header is not None and header.find(qn("w:tblHeader")) is not None  # repeats on each page
        assert all(row._tr.trPr.find(qn("w:tblHeader")) is None for row in table.rows[1:])
    # Numbers are right-aligned, words are not.
    assert new.rows[1].cells[3].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert new.rows[1].cells[0].paragraphs[0].alignment is None


def east_asian_font(element) -> str | None:
    fonts = element.find(qn("w:rPr") + "/" + qn("w:rFonts")) if element is not None else None
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def effective_east_asian_font(run, paragraph, document) -> str | None:
    """The East Asian face Word uses for a run: the run's own, else its paragraph style's (up
    the basedOn chain), else the document defaults'."""
    found = east_asian_font(run._r)
    style = paragraph.style
    while found is None and style is not None:
        found, style = east_asian_font(style.element), style.base_style
    defaults = document.styles.element.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault"))
    return found or east_asian_font(defaults)


def test_every_style_and_run_names_an_east_asian_font(dataset, data_of):
    document = open_docx(data_of(Scope("LA")))
    styles = [style for style in document.styles if style.type != WD_STYLE_TYPE.LIST]
    assert len(styles) > 100  # the template's styles, every one of them
    for style in styles:
        assert east_asian_font(style.element) in FONTS, style.name
        fonts = style.element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
        assert fonts.get(qn("w:ascii")) in FONTS, style.name  # Latin text named too
        assert not [name for name in fonts.keys() if name.endswith("Theme") or name.endswith("theme")], (
            style.name
        )
    defaults = document.styles.element.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault"))
    assert east_asian_font(defaults) == "仿宋"
    paragraphs = list(document.paragraphs)
    paragraphs += [
        p for table in document.tables for row in table.rows for cell in row.cells for p in cell.paragraphs
    ]
    section = document.sections[0]
    paragraphs += section.header.paragraphs + section.footer.paragraphs
    runs = [(run, p) for p in paragraphs for run in p.runs]
    assert len(runs) > 500
    for run, paragraph in runs:
        assert effective_east_asian_font(run, paragraph, document) in FONTS, run.text
    assert document.styles["Normal"].element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert document.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    masthead = document.paragraphs[0].style
    assert (
        masthead.font.color.rgb == RGBColor(0xD0, 0x00, 0x00) and east_asian_font(masthead.element) == "黑体"
    )


def test_a4_margins_running_header_page_numbers_and_a_new_page_for_the_appendix(dataset, data_of):
    data = data_of(Scope("LA"))
    document = open_docx(data)
    page = document.sections[0]
    # Word keeps lengths in twips: equal to the tenth of a millimetre.
    assert (round(page.page_width.mm, 1), round(page.page_height.mm, 1)) == (210, 297)
    assert page.orientation == WD_ORIENT.PORTRAIT
    margins = [page.top_margin, page.right_margin, page.bottom_margin, page.left_margin]
    assert [round(margin.mm, 1) for margin in margins] == [22, 16, 20, 16]
    header = "".join(p.text for p in page.header.paragraphs)
    assert "轻合金材料产业集群招商周报" in header and WEEK in header and "3月2日–3月8日" in header
    footer = page.footer.paragraphs[0]
    fields = [code.text.strip() for code in footer._p.iter(qn("w:instrText"))]
    assert fields == ["PAGE", "NUMPAGES"]
    assert re.fullmatch(r"生成于 \d{4}-\d\d-\d\d \d\d:\d\d（北京时间）\t第 1 页 / 共 1 页", footer.text)
    appendix = next(p for p in document.paragraphs if p.text == "附件：招商目录覆盖全表")
    assert appendix.paragraph_format.page_break_before is True
    assert not [
        p for p in document.paragraphs if p.paragraph_format.page_break_before and p._p is not appendix._p
    ]


def test_a_district_brief_has_its_share_and_the_city_brief_the_divisions(dataset, data_of):
    fuling = resolve_district("涪陵区")
    data = data_of(Scope("LA", fuling.id))
    document = open_docx(data)
    share_heading = "涪陵区今年以来的工作量及占全市轻合金集群的比重"
    assert share_heading in headings(document, "Heading 2") and "各处室" not in headings(
        document, "Heading 2"
    )
    (share,) = tables_in(section(document, share_heading))
    assert [cell.text for cell in share.rows[0].cells] == ["指标", "涪陵区", "全市轻合金集群", "占比"]
    assert len(share.rows) == 1 + len(data["share"])
    for row, figure in zip(share.rows[1:], data["share"], strict=True):
        assert row.cells[1].text == amount(figure["key"], figure["own"])
        assert row.cells[2].text == amount(figure["key"], figure["whole"])
    assert share.rows[1].cells[1].text == f"{NEW_LEADS // 2} 条"  # the odd-numbered leads are 涪陵区's
    assert "仅含涪陵区" in document.paragraphs[4].text
    assert "文档测试项目0" not in "".join(cell.text for table in document.tables for cell in table._cells)

    city = data_of(Scope())
    document = open_docx(city)
    assert "各处室" in headings(document, "Heading 2") and not [
        h for h in headings(document, "Heading 2") if "比重" in h
    ]
    (divisions,) = tables_in(section(document, "各处室"))
    assert len(city["activity"]["divisions"]) > 1
    assert len(divisions.rows) == 1 + len(city["activity"]["divisions"])
    assert [row.cells[1].text for row in divisions.rows[1:]] == [
        r["unit"] for r in city["activity"]["divisions"]
    ]
    (by_cluster,) = tables_in(section(document, "九、空白环节"))
    assert [row.cells[0].text for row in by_cluster.rows[1:]] == [
        b["name"] for b in city["coverage"]["by_cluster"]
    ]
    assert headings(document) == html_texts(brief_html(city), "h2")


def test_a_quiet_week_renders_and_says_so(data_of):
    data = data_of(Scope("LA"), "2026-W02")
    assert data["quiet_week"]
    document = open_docx(data)
    found = section(document, "三、本周要情")
    assert found[0].text == "本周无新增线索、跟进、签约、开工、投产或资金到位记录。"
    assert "本周无新增线索。" in notes_in(section(document, "七、本周新增线索"))
    assert "下周暂无计划跟进。" in notes_in(section(document, "十、下周计划跟进"))
    assert "暂无签约项目。" in notes_in(section(document, "六、重点项目"))
    assert headings(document) == html_texts(brief_html(data), "h2")


def test_a_draft_issue_says_so_as_the_pdf_does(data_of):
    data = {**data_of(Scope()), "issue": {"year": 2026, "number": 7, "draft": True}}
    document = open_docx(data)
    assert document.paragraphs[1].text == "2026年第 7 期（预览，生成时编号）"
    assert document.paragraphs[1].text in brief_html(data)


def test_sparklines_scale_from_the_lowest_to_the_highest_week():
    assert sparkline_text([0, 5, 10]) == "▁▅█"
    assert sparkline_text([3, 3, 3]) == "▁▁▁"  # flat, at the bottom, as the PDF's line
    assert sparkline_text([]) == ""
    assert sparkline_text([2.5, 0.0, 17.5]) == "▂▁█"


def test_text_xml_cannot_carry_is_dropped_not_a_failure(dataset, data_of):
    data = data_of(Scope("LA"))
    first, *rest = data["key_projects"]
    data = {**data, "key_projects": [{**first, "name": "文档\x0b测试\x00项目\t一期"}, *rest]}
    (table,) = tables_in(section(open_docx(data), "六、重点项目"))
    assert table.rows[1].cells[0].text.startswith("文档测试项目\t一期\n")
