"""Figures → HTML → PDF. Pure: the same figures give the same HTML, with no database in reach.

Templates and print CSS live in reports/templates; fonts are the system's Noto CJK (Debian
fonts-noto-cjk), which WeasyPrint embeds (subset) in the PDF."""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from crm.core.timeutil import format_local, format_wan
from reports.charts import bar_chart, sparkline
from reports.summary import FIGURES, amount, money

TEMPLATES = Path(__file__).with_name("templates")


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["money"] = money
    env.filters["percent"] = _percent
    env.filters["local"] = format_local
    env.filters["cn_date"] = lambda day: f"{day.year}年{day.month}月{day.day}日" if day else ""
    env.filters["md"] = lambda day: f"{day.month}月{day.day}日" if day else ""
    env.filters["local_day"] = lambda moment: format_local(moment, "%Y年%-m月%-d日")
    # A headline figure's value with its unit (3 个, 1.40 亿元), as the summary writes it.
    env.filters["figure"] = lambda value, key: amount(key, value)
    env.globals["figure_label"] = lambda key: FIGURES[key][0]
    env.globals["FIGURES"] = FIGURES
    env.globals["sparkline"] = lambda values, **size: Markup(sparkline(values, **size))
    # Text inside a CSS string: quotes and backslashes escaped, no line breaks; < can't end <style>.
    # Marked safe: HTML escaping would put entities into the style sheet, which CSS does not read.
    env.filters["cssq"] = lambda text: Markup(
        str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ")
    )
    return env


ENV = _environment()


def brief_html(data: dict) -> str:
    """The brief as one HTML document (print CSS inlined, charts as inline SVG)."""
    charts = {
        "funnel": bar_chart(data["funnel"], unit=" 条", funnel=True, colour="#0d6efd", label_width=90),
        "districts": bar_chart(data["by_district"][:12], colour="#198754", label_width=150, scale=format_wan),
    }
    css = (TEMPLATES / "brief.css").read_text(encoding="utf-8")
    return ENV.get_template("brief.html").render(d=data, charts=charts, css=css)


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of an HTML document, by WeasyPrint."""
    from weasyprint import HTML  # imported here: loading it costs ~0.3 s, pages that never print skip it

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
