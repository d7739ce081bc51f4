"""赛马榜 pages: the quarter's board (综合排名 and the single rankings, per group of districts), and
the same board as an Excel workbook and a PDF. District users see only their own district's row."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from crm.auth.permissions import roles_required
from crm.core.inputs import InvalidInput
from crm.core.timeutil import today_local, utcnow
from crm.rankings.racing import (
    READERS,
    Board,
    Quarter,
    QuarterError,
    current,
    parse_quarter,
    racing_board,
    recent_quarters,
    visible_board,
)
from crm.web.exports import send_export, send_workbook
from reports.racing import racing_pdf

bp = Blueprint("racing", __name__, url_prefix="/rankings")


def _quarter() -> Quarter:
    """The quarter asked for (default: today's); QuarterError in Chinese for one that cannot be read."""
    raw = request.args.get("quarter", "")
    return parse_quarter(raw[:20]) if raw.strip() else Quarter.of(today_local())


def _board(quarter: Quarter) -> Board:
    return visible_board(racing_board(quarter), current_user)


def _file_quarter() -> Quarter:
    """A file is made only for the quarter asked for: an unreadable one is a Chinese 400, never
    another quarter's figures under the name typed."""
    try:
        return _quarter()
    except QuarterError as error:
        raise InvalidInput(str(error)) from error


@bp.route("/racing")
@roles_required(*READERS)
def index():
    """赛马榜: per group of districts, the 综合排名 with every single ranking's value and rank;
    each value links to the records it counts. Definitions under it."""
    problem = None
    try:
        quarter = _quarter()
    except QuarterError as error:
        # The page falls back to this quarter and says why beside the picker.
        problem, quarter = f"{error}。已显示本季度。", Quarter.of(today_local())
    board = _board(quarter)
    quarters = recent_quarters(today_local())
    if quarter not in quarters:
        quarters = sorted([*quarters, quarter], reverse=True)
    groups = [] if board.own else current().groups
    return render_template(
        "rankings/racing.html", board=board, quarters=quarters, problem=problem, grouping=groups
    )


def _rank(rank: int | None):
    return rank if rank is not None else "—"


def _sheets(board: Board) -> list:
    """The 综合排名 sheet, one sheet per single ranking (by its own ranks), and the definitions."""
    rows = [(group, row) for group in board.groups for row in group.rows]
    common = [
        ("分组", lambda r: r[0].name, 24),
        ("区县", lambda r: r[1].district, 22),
    ]
    overall = [
        *common,
        ("综合得分", lambda r: r[1].score, 12),
        ("组内名次", lambda r: _rank(r[1].rank), 10),
        ("组内区县数", lambda r: r[0].size, 12),
    ]
    sheets = [(board.overall_label, overall, rows)]
    for ranking in board.rankings:
        columns = [
            *common,
            (f"{ranking.label}（{ranking.unit}）", lambda r, k=ranking.key: r[1].cells[k].value, 16),
            ("组内名次", lambda r, k=ranking.key: _rank(r[1].cells[k].rank), 10),
            ("组内区县数", lambda r: r[0].size, 12),
        ]
        by_rank = lambda row, k=ranking.key: (row.cells[k].rank is None, row.cells[k].rank or 0, row.order)  # noqa: E731
        ordered = [(group, row) for group in board.groups for row in sorted(group.rows, key=by_rank)]
        sheets.append((ranking.label, columns, ordered))
    sheets.append(
        ("定义", [("项目", lambda r: r[0], 24), ("说明", lambda r: r[1], 100)], _definitions(board))
    )
    return sheets


def _definitions(board: Board) -> list[tuple[str, str]]:
    period = f"{board.quarter.first} 至 {board.quarter.last}"
    lines = [
        ("季度", f"{board.quarter.title}（{period}）" + (f"，截至 {board.as_of}" if board.current else ""))
    ]
    if board.own:
        lines.append(("区县", f"{board.district}（区县专员只导出本区县的名次）"))
    lines += [(f"{r.label}（权重 {r.weight}%）", r.definition) for r in board.rankings]
    lines.append((board.overall_label, board.overall_definition))
    lines += [(f"统计口径：{label}", sentence) for label, sentence in board.notes]
    if not board.own:
        lines += [(f"分组：{g.name}", "、".join(g.districts)) for g in current().groups]
    lines += [(f"审核记录 {r['date']}", f"{r['by']}：{r['note']}") for r in board.reviewed]
    lines.append(("定义文件版本", board.fingerprint))
    return lines


def _file_name(board: Board, extension: str) -> str:
    own = f"_{board.district}" if board.own and board.district else ""
    return f"赛马榜_{board.quarter.code}{own}.{extension}"


@bp.route("/racing.xlsx")
@roles_required(*READERS)
def export():
    """The board as a workbook: 综合排名, one sheet per single ranking, the definitions."""
    board = _board(_file_quarter())
    return send_workbook("projects", _sheets(board), _file_name(board, "xlsx"))


@bp.route("/racing.pdf")
@roles_required(*READERS)
def pdf():
    """The board as a PDF (A4 landscape), for the bureau's circular or a meeting."""
    board = _board(_file_quarter())
    return send_export(
        "projects",
        racing_pdf(board, utcnow()),
        board.row_count,
        _file_name(board, "pdf"),
        mimetype="application/pdf",
        as_attachment=request.args.get("inline") != "1",
    )
