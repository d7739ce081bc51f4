"""赛马榜 → HTML → PDF. Pure: the board (plain data from crm.rankings.racing, already cut to what
the reader may see) and the time of printing give the same HTML, with no database in reach."""

from datetime import datetime

from crm.rankings.racing import Board, Ranking
from reports.render import ENV, TEMPLATES, html_to_pdf
from reports.summary import money


def shown(ranking: Ranking, value: int) -> str:
    """A ranking's figure as officials read it: 个 for counts, 万元 / 亿元 for money."""
    if ranking.money:
        return money(value)
    return f"{value} 个"


def racing_html(board: Board, generated_at: datetime) -> str:
    """The board as one HTML document (print CSS inlined: the brief's, in A4 landscape)."""
    css = (TEMPLATES / "brief.css").read_text(encoding="utf-8")
    return ENV.get_template("racing.html").render(b=board, css=css, generated_at=generated_at, shown=shown)


def racing_pdf(board: Board, generated_at: datetime) -> bytes:
    """PDF bytes of the board, by WeasyPrint (Noto Sans CJK SC embedded)."""
    return html_to_pdf(racing_html(board, generated_at))
