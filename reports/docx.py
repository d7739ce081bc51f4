"""The weekly brief as an editable Word document (.docx): the same figures, sections, order and
headings as the PDF, for managers who edit the brief before they send it on.

Pure, like reports.render: `brief_docx(data)` takes the plain dict of reports.figures (with
crm.briefs' `generated_at`, `issuer` and `issue`) and returns the bytes; no database, no app.
reports/templates/brief.html is the specification: one function per section below, in its order
(SECTIONS), so a section the template gains is one function more. Every number is written by the
PDF's own filters (reports.render.ENV: money, percent, cn_date, md, local …) and
reports.summary.amount, so the two documents cannot print a figure differently.

What Word cannot take from the PDF is made its own way: the charts of 八 are tables (stage → count,
district → 协议投资), the 12-week trends are sparkline characters (▁▂▃▄▅▆▇█) beside each figure,
the KPI boxes are one table, and every table is a real Word table (header row repeated on each
page, rows kept whole, numbers right-aligned).

Fonts are named in the styles (never on runs), for Latin (w:ascii, w:hAnsi, w:cs) and East Asian
(w:eastAsia) text alike, with the template's theme fonts removed — a theme font beats a named one
in Word, and would turn the brief into Calibri/等线:
- body and tables: 仿宋 (FangSong), the body face of the official-document standard GB/T
  9704-2012, which every Chinese Windows ships; Latin letters and digits use it too, as Word does
  when a Chinese user picks 仿宋, so figures sit in the same face as the words around them;
- headings and the title: 黑体 (SimHei), the standard's first-level heading face;
- the masthead 招商周报: 黑体 in red, not 方正小标宋简体. The standard's title face is a
  commercial font that Windows does not ship, and Word silently substitutes a missing font (often
  宋体, at another width), so a masthead set in it would look right only where it was bought;
  an office that has it changes the one style 报头 to use it.
A4 with the PDF's margins (22/16/20/16 mm); the PDF's running header (the brief's title, its
week) and footer (the time it was made, 第 X 页 / 共 Y 页 from PAGE and NUMPAGES fields).
"""

import io

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from crm.core.excel import NOT_XML
from crm.core.timeutil import format_wan
from reports.render import ENV
from reports.summary import FIGURES, amount, money

# The PDF's filters (money is the one reports.summary keeps for both), so a number is written here
# exactly as the PDF writes it.
percent = ENV.filters["percent"]
cn_date = ENV.filters["cn_date"]
md = ENV.filters["md"]
local = ENV.filters["local"]
local_day = ENV.filters["local_day"]
figure_label = ENV.globals["figure_label"]

LIMIT = 15  # rows a list prints before "另有 N 条未列出", as brief.html's `limit`
DISTRICT_BARS = 12  # districts the PDF's investment chart draws (reports.render: by_district[:12])

BODY_FONT, HEADING_FONT, MASTHEAD_FONT = "仿宋", "黑体", "黑体"
RED = RGBColor(0xD0, 0x00, 0x00)  # the masthead's title and rule
GAP_RED = RGBColor(0xB0, 0x2A, 0x37)  # brief.css .gap
GREY = RGBColor(0x66, 0x66, 0x66)  # brief.css .note
DARK = RGBColor(0x21, 0x25, 0x29)  # brief.css body text
UP, DOWN = RGBColor(0x19, 0x87, 0x54), RGBColor(0xB0, 0x2A, 0x37)  # brief.css .up, .down
HEALTH = {  # brief.css's badges, as coloured words
    "正常推进": RGBColor(0x19, 0x87, 0x54),
    "滞后": RGBColor(0xDC, 0x35, 0x45),
    "停滞": RGBColor(0xB5, 0x8A, 0x00),
    "终止": RGBColor(0x34, 0x3A, 0x40),
}

PAGE = (Mm(210), Mm(297))
MARGINS = {"top": Mm(22), "right": Mm(16), "bottom": Mm(20), "left": Mm(16)}  # brief.css @page
TEXT_WIDTH = PAGE[0] - MARGINS["left"] - MARGINS["right"]

# Paragraph styles of our own (Word shows their names); the built-in ones are restyled.
TABLE_TEXT, NOTE, MASTHEAD, MASTHEAD_ISSUE, MASTHEAD_LINE = "表格文字", "注释", "报头", "报头期号", "报头发文"
HEADING = {1: "Title", 2: "Heading 1", 3: "Heading 2"}  # the HTML's h1, h2, h3

BLOCKS = "▁▂▃▄▅▆▇█"
# Characters XML 1.0 cannot carry (python-docx refuses them): the forms keep them out, but a name
# that came in another way must not stop the brief, so they are dropped, as the XLSX writer does.

# What follows w:spacing in a run's properties (CT_RPr's sequence), to insert it in its place.
RPR_AFTER_SPACING = (
    "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr",
    "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
    "w:specVanish", "w:oMath",
)  # fmt: skip


def brief_docx(data: dict) -> bytes:
    """The brief as .docx bytes: brief.html's sections, in its order, as an editable document."""
    document = _document(data)
    writer = Writer(document)
    for section in SECTIONS:
        section(writer, data)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def sparkline_text(values) -> str:
    """A trend as block characters, scaled as the PDF's sparkline (lowest to highest of the
    series; flat at the bottom when every value is the same)."""
    values = list(values or ())
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    return "".join(BLOCKS[round((value - low) / span * (len(BLOCKS) - 1))] for value in values)


# ------------------------------------------------------------------ the document and its styles


def _document(d: dict):
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = PAGE
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance = section.footer_distance = Mm(10)
    _styles(document)
    _running_header(section, d)
    _running_footer(section, d)
    package = document.part.package
    for key in [key for key, rel in package.rels.items() if rel.reltype == RT.THUMBNAIL]:
        del package.rels[key]  # the template's picture of an empty page, not of this brief
    properties = document.core_properties
    properties.title = f"{d['title']}招商周报 {d['week']}"
    properties.subject = "招商周报"
    properties.author = properties.last_modified_by = d["issuer"]
    properties.keywords = f"招商周报;{d['week']}"
    properties.comments = f"生成于 {local(d['generated_at'])}（北京时间）"
    properties.created = properties.modified = d["generated_at"]
    properties.revision = 1
    return document


def _set_fonts(rpr, name: str) -> None:
    """Name `name` for Latin and East Asian text in run properties (of a style, of the document
    defaults), dropping the theme fonts, which Word would prefer to a named one."""
    fonts = rpr.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), name)


def _styles(document) -> None:
    styles = document.styles
    # The document defaults: the body face, and Chinese as the language (Word's proofing tools).
    defaults = styles.element.find(qn("w:docDefaults"))
    run_defaults = defaults.find(qn("w:rPrDefault"))
    rpr = run_defaults.find(qn("w:rPr"))
    _set_fonts(rpr, BODY_FONT)
    language = rpr.find(qn("w:lang"))
    language.set(qn("w:val"), "zh-CN")
    language.set(qn("w:eastAsia"), "zh-CN")

    normal = styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.font.color.rgb = DARK
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.25

    title = styles[HEADING[1]]
    title.element.get_or_add_pPr().remove_all("w:pBdr")  # the template's blue rule
    title.font.size, title.font.bold, title.font.color.rgb = Pt(18), False, DARK
    title.paragraph_format.space_before, title.paragraph_format.space_after = Pt(10), Pt(4)
    h2, h3 = styles[HEADING[2]], styles[HEADING[3]]
    h2.font.size, h2.font.bold, h2.font.color.rgb = Pt(14), False, DARK
    h2.paragraph_format.space_before, h2.paragraph_format.space_after = Pt(16), Pt(6)
    _border(h2.element.get_or_add_pPr(), "bottom", "0D6EFD", 8)  # brief.css h2's rule
    h3.font.size, h3.font.bold, h3.font.color.rgb = Pt(11), False, DARK
    h3.paragraph_format.space_before, h3.paragraph_format.space_after = Pt(9), Pt(3)

    for name, size, space in ((TABLE_TEXT, 9, 0), (NOTE, 9, 3)):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.font.size = Pt(size)
        style.paragraph_format.space_before = style.paragraph_format.space_after = Pt(space)
        style.paragraph_format.line_spacing = 1.1 if name == TABLE_TEXT else 1.2
    styles[NOTE].font.color.rgb = GREY

    masthead = styles.add_style(MASTHEAD, WD_STYLE_TYPE.PARAGRAPH)
    masthead.base_style = normal
    masthead.font.size, masthead.font.color.rgb = Pt(40), RED
    masthead.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    masthead.paragraph_format.space_after = Pt(4)
    masthead.paragraph_format.line_spacing = 1.0
    spacing = OxmlElement("w:spacing")  # the title's characters spaced out, 8 pt apart
    spacing.set(qn("w:val"), "160")
    masthead.element.get_or_add_rPr().insert_element_before(spacing, *RPR_AFTER_SPACING)
    issue = styles.add_style(MASTHEAD_ISSUE, WD_STYLE_TYPE.PARAGRAPH)
    issue.base_style = normal
    issue.font.size = Pt(12)
    issue.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    line = styles.add_style(MASTHEAD_LINE, WD_STYLE_TYPE.PARAGRAPH)
    line.base_style = normal
    line.font.size = Pt(12)
    line.paragraph_format.space_after = Pt(12)
    line.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    _border(line.element.get_or_add_pPr(), "bottom", "D00000", 18)  # the red rule under a 红头

    for name in ("Header", "Footer"):
        style = styles[name]
        style.font.size, style.font.color.rgb = Pt(8.5), GREY
        style.paragraph_format.tab_stops.clear_all()  # the template's stops are set for Letter
        style.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)

    # Every style names both faces, so no text anywhere falls back to a theme or Latin font.
    # Numbering styles carry no text formatting and are left alone.
    for style in styles:
        if style.type == WD_STYLE_TYPE.LIST:
            continue
        heading = style.name.startswith(("Heading", "Title", "Subtitle")) or style.name == MASTHEAD
        _set_fonts(
            style.element.get_or_add_rPr(),
            MASTHEAD_FONT if style.name == MASTHEAD else (HEADING_FONT if heading else BODY_FONT),
        )


def _border(ppr, side: str, colour: str, size: int) -> None:
    """A paragraph border (size in eighths of a point), placed where the schema wants pBdr."""
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        # pBdr follows pStyle … numPr and precedes shd, tabs, spacing, ind, jc … in CT_PPr.
        later = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
                 "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
                 "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                 "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection",
                 "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
                 "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")  # fmt: skip
        later = {qn(tag) for tag in later}
        following = next((child for child in ppr if child.tag in later), None)
        if following is None:
            ppr.append(borders)
        else:
            following.addprevious(borders)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size))
    edge.set(qn("w:space"), "1")
    edge.set(qn("w:color"), colour)
    borders.append(edge)


def _field(paragraph, instruction: str, shown: str) -> None:
    """A Word field (PAGE, NUMPAGES) as begin / instruction / separate / result / end runs; Word
    recomputes it at every pagination, `shown` is what a reader without layout sees."""

    def mark(kind: str) -> None:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(element)

    mark("begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    paragraph.add_run()._r.append(code)
    mark("separate")
    paragraph.add_run(shown)
    mark("end")


def _running_header(section, d: dict) -> None:
    where = f"（{d['district']}）" if d["district"] else ""
    paragraph = section.header.paragraphs[0]
    paragraph.style = "Header"
    _write(paragraph, f"{d['title']}招商周报{where}\t{d['week']}（{md(d['monday'])}–{md(d['sunday'])}）")


def _running_footer(section, d: dict) -> None:
    paragraph = section.footer.paragraphs[0]
    paragraph.style = "Footer"
    _write(paragraph, f"生成于 {local(d['generated_at'])}（北京时间）\t第 ")
    _field(paragraph, "PAGE", "1")
    paragraph.add_run(" 页 / 共 ")
    _field(paragraph, "NUMPAGES", "1")
    paragraph.add_run(" 页")


# ------------------------------------------------------------------ writing


class Writer:
    """Paragraphs, headings, notes and tables in the brief's styles. Text is given as a string
    or as pieces: a string, or a tuple (text, *marks) with marks "bold", "gap" (red, bold, as
    brief.css .gap), "note" (small grey), "sup", "spark" (a sparkline's size), "br" (a line
    break before the text) or an RGBColor."""

    def __init__(self, document):
        self.document = document
        # Style ids by name, looked up once: python-docx finds a style by name by walking every
        # style of the template, per paragraph (three quarters of the time of a city brief).
        self.style_ids = {style.name: style.style_id for style in document.styles}

    def _styled(self, paragraph, style: str | None):
        if style is not None:
            paragraph._p.get_or_add_pPr().style = self.style_ids[style]
        return paragraph

    def heading(self, text: str, level: int = 2):
        return self.paragraph(text, HEADING[level])

    def paragraph(self, pieces, style: str | None = None):
        paragraph = self._styled(self.document.add_paragraph(), style)
        _write(paragraph, pieces)
        return paragraph

    def note(self, pieces):
        return self.paragraph(pieces, NOTE)

    def more(self, rows) -> None:
        """brief.html's `more`: how many rows of a list are not printed."""
        if len(rows) > LIMIT:
            self.note(f"另有 {len(rows) - LIMIT} 条未列出（完整清单见系统相应列表）。")

    def table(self, columns: list[tuple], rows: list[list]):
        """A Word table: columns are (header, width in % as brief.html's colgroup, numeric);
        the header row repeats on every page, rows do not break across pages, numbers are
        right-aligned."""
        table = self.document.add_table(rows=1 + len(rows), cols=len(columns))
        table.style = self.document.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        _table_look(table)
        total = sum(width for _, width, _ in columns)
        widths = [int(TEXT_WIDTH * width / total) for _, width, _ in columns]
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        for index, row in enumerate(table.rows):
            tr_pr = row._tr.get_or_add_trPr()
            tr_pr.append(OxmlElement("w:cantSplit"))
            values = [header for header, _, _ in columns] if index == 0 else rows[index - 1]
            if index == 0:
                tr_pr.append(OxmlElement("w:tblHeader"))  # after cantSplit, as CT_TrPr orders them
            for cell, value, width, (_, _, numeric) in zip(row.cells, values, widths, columns, strict=True):
                cell.width = width
                paragraph = self._styled(cell.paragraphs[0], TABLE_TEXT)
                if numeric:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                if index == 0:
                    _shade(cell, "EEF3FB")
                    _write(
                        paragraph,
                        [(piece, "bold") if isinstance(piece, str) else piece for piece in _pieces(value)],
                    )
                else:
                    _write(paragraph, value)
        return table


def _pieces(value) -> list:
    if value is None:
        return [""]
    if isinstance(value, str | tuple):
        return [value]
    return list(value)


def _write(paragraph, pieces) -> None:
    for piece in _pieces(pieces):
        text, *marks = (piece,) if isinstance(piece, str) else piece
        run = paragraph.add_run()
        if "br" in marks:
            run.add_break(WD_BREAK.LINE)
        for number, line in enumerate(NOT_XML.sub("", str(text)).split("\n")):
            if number:
                run.add_break(WD_BREAK.LINE)
            for position, part in enumerate(line.split("\t")):
                if position:
                    run.add_tab()
                if part:
                    run.add_text(part)
        for mark in marks:
            if mark == "bold":
                run.bold = True
            elif mark == "gap":
                run.bold, run.font.color.rgb = True, GAP_RED
            elif mark == "note":
                run.font.size, run.font.color.rgb = Pt(8), GREY
            elif mark == "spark":
                run.font.size = Pt(8)  # twelve full-width blocks within their column
            elif mark == "sup":
                run.font.superscript = True
            elif isinstance(mark, RGBColor):
                run.font.color.rgb = mark


def _table_look(table) -> None:
    """brief.css's tables: rules between rows, none between columns, the full text width."""
    tbl_pr = table._tbl.tblPr
    width = tbl_pr.find(qn("w:tblW"))
    if width is None:
        width = OxmlElement("w:tblW")
        tbl_pr.append(width)
    width.set(qn("w:type"), "pct")
    width.set(qn("w:w"), "5000")
    borders = OxmlElement("w:tblBorders")
    for side, size in (("top", 8), ("left", 0), ("bottom", 8), ("right", 0), ("insideH", 4), ("insideV", 0)):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "single" if size else "nil")
        if size:
            edge.set(qn("w:sz"), str(size))
            edge.set(qn("w:space"), "0")
            edge.set(qn("w:color"), "BBBBBB")
        borders.append(edge)
    # CT_TblPr's order: … tblW, jc, tblCellSpacing, tblInd, tblBorders, shd, tblLayout …
    # (table.autofit = False has put tblLayout fixed in its place already).
    anchor = tbl_pr.find(qn("w:jc")) if tbl_pr.find(qn("w:jc")) is not None else width
    anchor.addnext(borders)


def _shade(cell, colour: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def _trend(d: dict, key: str) -> tuple:
    """brief.html's `trend`: the change against last week with its arrow, coloured as .up/.down."""
    change = d["trends"][key]["change"]
    if change > 0:
        return (f"▲ {amount(key, change)}", UP)
    if change < 0:
        return (f"▼ {amount(key, -change)}", DOWN)
    return ("持平",)


def _more_rows(rows) -> list:
    return list(rows[:LIMIT])


# ------------------------------------------------------------------ the sections, in brief.html's order


def masthead(w: Writer, d: dict) -> None:
    """招商周报 / YYYY年第 N 期 / the issuer and the day, over a red rule (a 红头)."""
    issue = d["issue"]
    w.paragraph("招商周报", MASTHEAD)
    draft = "（预览，生成时编号）" if issue.get("draft") else ""
    w.paragraph(f"{issue['year']}年第 {issue['number']} 期{draft}", MASTHEAD_ISSUE)
    w.paragraph(f"{d['issuer']}\t{local_day(d['generated_at'])}", MASTHEAD_LINE)


def title(w: Writer, d: dict) -> None:
    w.heading(f"{d['title']}招商周报", 1)
    meta = f"{d['week']} · {cn_date(d['monday'])}至{cn_date(d['sunday'])}"
    if d["district"]:
        meta += f" · 仅含{d['district']}"
    if d["core_districts"]:
        meta += f" · 核心区县：{'、'.join(d['core_districts'])}"
    judged = f"健康状态与预警按 {cn_date(d['as_of'])} 判断；累计数自 {cn_date(d['plan_start'])} 起至本周日。"
    w.paragraph([(meta, GREY), (judged, "br", GREY)])


def summary(w: Writer, d: dict) -> None:
    w.heading("一、本周摘要")
    for sentence in d["summary"]:
        w.paragraph(sentence).paragraph_format.first_line_indent = Pt(21)


def warnings(w: Writer, d: dict) -> None:
    w.heading("二、需要关注")
    stalled, behind, overdue = d["warnings"]["stalled"], d["warnings"]["behind"], d["warnings"]["overdue"]
    w.heading(f"停滞项目（14 天以上无进展更新）：{len(stalled)} 个", 3)
    if stalled:
        w.table(
            [("项目", 50, False), ("区县", 18, False), ("阶段", 12, False), ("最近更新", 20, False)],
            [
                [p["name"], p["district"], p["stage"], str(p["last"] or "尚无更新")]
                for p in _more_rows(stalled)
            ],
        )
        w.more(stalled)
    w.heading(f"滞后项目（节点计划日期已过未完成）：{len(behind)} 个", 3)
    if behind:
        w.table(
            [("项目", 50, False), ("区县", 18, False), ("阶段", 12, False), ("逾期节点", 20, False)],
            [[p["name"], p["district"], p["stage"], "、".join(p["late"])] for p in _more_rows(behind)],
        )
        w.more(behind)
    w.heading(f"逾期未跟进的线索：{len(overdue)} 条", 3)
    if overdue:
        w.table(
            [("线索", 50, False), ("负责人", 18, False), ("应跟进日期", 18, False), ("逾期天数", 14, True)],
            [
                [lead["title"], lead["owner"], str(lead["due"]), str(lead["days"])]
                for lead in _more_rows(overdue)
            ],
        )
        w.more(overdue)
    items = d["warnings"]["items"]
    counts, warned = items["counts"], items["warned"]
    w.heading(f"督办事项：红灯 {counts['red']} 项，黄灯 {counts['yellow']} 项，绿灯 {counts['green']} 项", 3)
    if warned:
        w.table(
            [
                ("灯", 8, False),
                ("项目", 24, False),
                ("事项", 34, False),
                ("责任单位", 16, False),
                ("办理时限", 18, False),
            ],
            [
                [
                    "红灯" if i["light"] == "red" else "黄灯",
                    f"{i['project']}（{i['district']}）",
                    f"{i['category']}：{i['description'][:50]}",
                    i["unit"],
                    f"{i['deadline']}" + (f"（逾期 {i['days']} 天）" if i["days"] > 0 else ""),
                ]
                for i in _more_rows(warned)
            ],
        )
        w.more(warned)


def week_figures(w: Writer, d: dict) -> None:
    """三、本周要情: the KPI figures (本周, 累计, 较上周, 周均, the trend), the funds' split and
    their 统计口径."""
    w.heading("三、本周要情")
    if d["quiet_week"]:
        quiet = w.paragraph("本周无新增线索、跟进、签约、开工、投产或资金到位记录。")
        for side in ("top", "left", "bottom", "right"):
            _border(quiet._p.get_or_add_pPr(), side, "ADB5BD", 8)
    weeks = d["trend_weeks"]
    rows = []
    for key, (label, _unit) in FIGURES.items():  # the boxes of brief.html, in its order
        t = d["trends"][key]
        rows.append(
            [
                [label, ("注", "sup")] if key == "funds_wan" else label,
                (amount(key, d["week_figures"][key]), "bold"),
                amount(key, d["cumulative"][key]),
                _trend(d, key),
                amount(key, float(t["average"])),
                (sparkline_text(t["series"]), "spark"),
            ]
        )
    w.table(
        [
            ("指标", 15, False),
            ("本周", 15, True),
            ("累计", 16, True),
            ("较上周", 15, True),
            ("周均", 14, True),
            (f"近 {weeks} 周", 25, False),  # room for the sparkline on one line
        ],
        rows,
    )
    w.note(
        f"箭头为较上周的变化；周均为前 {weeks} 周的平均；走势为近 {weeks} 周（含本周）每周的数字"
        "（▁ 为其中最低，█ 为最高）。"
    )
    week_split, total_split = d["funds_split"]["week"], d["funds_split"]["total"]
    split_rows = []
    for part, prefix in (("source", "来源："), ("kind", "类型：")):
        week_amounts = {label: amount_ for label, amount_, _ in _rows(week_split[part])}
        for label, amount_, _count in _rows(total_split[part]):
            if amount_:
                split_rows.append([prefix + label, money(week_amounts.get(label, 0)), money(amount_)])
    split_rows.append(
        [
            [(total_split["outside_label"], "bold"), ("注", "sup")],
            money(week_split["outside"]),
            money(total_split["outside"]),
        ]
    )
    w.table([("资金到位的构成", 40, False), ("本周", 30, True), ("累计", 30, True)], split_rows)
    definitions = d["definitions"]
    w.note(f"注：资金到位即{definitions['funds']}{definitions['outside_province_funds']}")


def _rows(breakdown) -> list:
    """A funds breakdown's (label, 万元, entries) rows (reports.funds.Breakdown, or its dict)."""
    return breakdown["rows"] if isinstance(breakdown, dict) else breakdown.rows


def _activity_table(w: Writer, d: dict, rows: list, unit_label: str) -> None:
    indices = d["activity"]["indices"]
    share = round(42 / len(indices), 2) if indices else 0
    columns = [("名次", 6, True), (unit_label, 14, False), ("指数", 7, True), ("较上周", 8, True)]
    columns += [(label, share, True) for _key, label in indices]
    columns.append((f"近 {d['trend_weeks']} 周", 23, False))  # room for the sparkline on one line
    body = []
    for r in rows:
        change = r["change"]
        moved = (f"▲ {change:.1f}", UP) if change > 0 else ((f"▼ {-change:.1f}", DOWN) if change < 0 else "—")
        body.append(
            [
                "—" if r["rank"] is None else str(r["rank"]),
                r["unit"],
                (f"{r['score']:.1f}", "bold"),
                moved,
                *[str(r["counts"][key]) for key, _label in indices],
                (sparkline_text(r["trend"]), "spark"),
            ]
        )
    w.table(columns, body)


def activity(w: Writer, d: dict) -> None:
    """四、招商活跃指数: the scope's districts (and the divisions, in the city's brief)."""
    act = d["activity"]
    where = (
        f"（{d['district']}）" if d["district"] else ("（本集群所在区县）" if d["scope"] != "CITY" else "")
    )
    w.heading(f"四、招商活跃指数{where}")
    if not act["ranked"]:
        w.paragraph("本周全市各区县均无计入招商活跃指数的记录，不排名。")
    if act["rows"]:
        _activity_table(w, d, act["rows"], "区县")
    else:
        w.paragraph("本范围没有区县。")
    if d["district"]:
        w.note(f"名次为在全市 {act['units']} 个区县中的名次；指数计入本区县的全部记录，不限于本集群。")
    else:
        rest = "；指数计入区县的全部记录，不限于本集群" if d["scope"] != "CITY" else ""
        w.note(f"名次为在全市 {act['units']} 个区县中的名次{rest}。")
    if act.get("divisions"):
        w.heading("各处室", 3)
        _activity_table(w, d, act["divisions"], "处室")
    w.note(act["definition"])


def targets(w: Writer, d: dict) -> None:
    """五、2027 年目标进展, and a district's share of its scope's work this year."""
    w.heading(f"五、2027 年目标进展（全市{'·' + d['district'] if d['district'] else ''}）")
    rows = []
    for t in d["targets"]:
        label = t["label"] + ("（力争）" if t["ambition"] == "力争" else "")
        if t["current"] is None:
            current = [("需人工填报", "note")]
        else:
            current = [f"{t['current']} {t['unit']}"]
            if t["as_of"]:
                whose = "全市数据，" if t["city_wide"] else ""
                current.append((f"{whose}截至 {t['as_of']}（{t['source']}）", "br", "note"))
        rows.append([label, current, percent(t["share"])])
    w.table([("目标", 64, False), ("当前", 20, True), ("完成度", 16, True)], rows)
    w.note(
        "企业类目标按企业库中“本地培育库”企业统计：年营业收入 100 亿元及以上为百亿级，50–100 亿元为五十亿级；"
        "上市企业按填报的上市地统计。"
    )
    if d.get("share"):
        whole = "全市" if d["scope"] == "CITY" else f"全市{d['short']}集群"
        w.heading(f"{d['district']}今年以来的工作量及占{whole}的比重", 3)
        w.table(
            [("指标", 34, False), (d["district"], 22, True), (whole, 26, True), ("占比", 18, True)],
            [
                [
                    figure_label(row["key"]),
                    amount(row["key"], row["own"]),
                    amount(row["key"], row["whole"]),
                    percent(row["share"]),
                ]
                for row in d["share"]
            ],
        )


def key_projects(w: Writer, d: dict) -> None:
    w.heading("六、重点项目")
    if not d["key_projects"]:
        w.paragraph("暂无签约项目。")
        return
    w.table(
        [
            ("项目", 38, False),
            ("区县", 13, False),
            ("阶段", 9, False),
            ("状态", 10, False),
            ("协议投资", 15, True),
            (["到位资金", ("注", "sup")], 15, True),
        ],
        [
            [
                [p["name"], (f"{p['enterprise']} · {p['signed_on']} 签约", "br", "note")],
                p["district"],
                p["stage"],
                (p["health"], "bold", HEALTH.get(p["health"], DARK)),
                money(p["agreed_wan"]),
                money(p["funds_wan"]),
            ]
            for p in d["key_projects"]
        ],
    )


def new_leads(w: Writer, d: dict) -> None:
    w.heading("七、本周新增线索")
    leads = d["new_leads"]
    if not leads:
        w.paragraph("本周无新增线索。")
        return
    w.table(
        [
            ("线索", 42, False),
            ("来源", 14, False),
            ("意向区县", 14, False),
            ("意向投资", 15, True),
            ("负责人", 15, False),
        ],
        [
            [
                [lead["title"], (f"{lead['enterprise']} · {lead['stage']}", "br", "note")],
                lead["source"],
                lead["district"] or "—",
                money(lead["investment_wan"]) if lead["investment_wan"] else "—",
                lead["owner"],
            ]
            for lead in _more_rows(leads)
        ],
    )
    w.more(leads)


def charts(w: Writer, d: dict) -> None:
    """八: the PDF's two bar charts as tables, with the numbers the bars are labelled with."""
    w.heading("八、招商线索漏斗与区县投资")
    w.heading("线索阶段分布（当前）", 3)
    if d["funnel"]:
        w.table(
            [("阶段", 60, False), ("线索", 40, True)],
            [[str(stage), f"{count:,} 条"] for stage, count in d["funnel"]],
        )
    w.heading("签约项目协议投资（按区县，不含终止）", 3)
    if d["by_district"]:
        w.table(
            [("区县", 60, False), ("协议投资", 40, True)],
            [[name, format_wan(total)] for name, total in d["by_district"][:DISTRICT_BARS]],
        )
    else:
        w.paragraph("暂无签约项目。")


def _coverage_line(d: dict, tail: str) -> list:
    coverage = d["coverage"]
    return [
        f"目录条目 {coverage['total']} 个，其中",
        (f"空白环节 {len(coverage['gaps'])} 个", "gap"),
        f"（无在谈线索、无在建项目），已覆盖 {len(coverage['covered'])} 个{tail}",
    ]


def gaps(w: Writer, d: dict) -> None:
    """九、空白环节: per cluster in the city's brief, else the cluster's gaps."""
    w.heading("九、空白环节")
    coverage = d["coverage"]
    w.paragraph(_coverage_line(d, "；全部条目的覆盖情况见附件。"))
    if d["scope"] == "CITY":
        w.table(
            [("产业集群", 30, False), ("条目", 14, True), ("空白", 14, True), ("空白占比", 42, True)],
            [
                [
                    b["name"],
                    str(b["total"]),
                    (str(len(b["gaps"])), "gap"),
                    percent(len(b["gaps"]) / b["total"] if b["total"] else None),
                ]
                for b in coverage["by_cluster"]
            ],
        )
    elif coverage["gaps"]:
        w.table(
            [("空白环节", 64, False), ("招商动作", 18, False), ("环节类型", 18, False)],
            [[(f"{r['code']} {r['title']}", "gap"), r["action"], r["gap"]] for r in coverage["gaps"]],
        )
    else:
        w.paragraph("本集群目录条目均已有在谈线索或在建项目。")


def next_week(w: Writer, d: dict) -> None:
    w.heading("十、下周计划跟进")
    planned = d["next_week"]
    if not planned:
        w.paragraph("下周暂无计划跟进。")
        return
    w.table(
        [("日期", 14, False), ("线索", 54, False), ("阶段", 14, False), ("负责人", 18, False)],
        [[md(lead["due"]), lead["title"], lead["stage"], lead["owner"]] for lead in _more_rows(planned)],
    )
    w.more(planned)


def appendix(w: Writer, d: dict) -> None:
    """附件：招商目录覆盖全表, on a new page: every entry, 空白环节 first."""
    w.heading("附件：招商目录覆盖全表").paragraph_format.page_break_before = True
    coverage = d["coverage"]
    w.paragraph(_coverage_line(d, "。"))
    if d["scope"] == "CITY":
        w.table(
            [("产业集群", 22, False), ("条目", 10, True), ("空白", 10, True), ("空白环节", 58, False)],
            [
                [b["name"], str(b["total"]), (str(len(b["gaps"])), "gap"), [("、".join(b["gaps"]), "note")]]
                for b in coverage["by_cluster"]
            ],
        )
        return
    w.table(
        [
            ("条目", 52, False),
            ("招商动作", 12, False),
            ("环节类型", 12, False),
            ("在谈线索", 12, True),
            ("在建项目", 12, True),
        ],
        [
            [(f"{r['code']} {r['title']}（空白）", "gap"), r["action"], r["gap"], "0", "0"]
            for r in coverage["gaps"]
        ]
        + [
            [f"{r['code']} {r['title']}", r["action"], r["gap"], str(r["leads"]), str(r["projects"])]
            for r in coverage["covered"]
        ],
    )


SECTIONS = (
    masthead,
    title,
    summary,
    warnings,
    week_figures,
    activity,
    targets,
    key_projects,
    new_leads,
    charts,
    gaps,
    next_week,
    appendix,
)
