"""/api/v1/rankings/racing: the quarter's 赛马榜, as the page shows it (district users: their own
district's row only)."""

from flask import jsonify, request
from flask_login import current_user

from crm.api.common import bp, error_response
from crm.auth.permissions import roles_required
from crm.core.timeutil import today_local
from crm.rankings.racing import (
    READERS,
    Board,
    Quarter,
    QuarterError,
    parse_quarter,
    racing_board,
    visible_board,
)


def board_json(board: Board) -> dict:
    """The board as the API shows it: every figure and rank by ranking key, per group."""
    return {
        "quarter": board.quarter.code,
        "first": board.quarter.first.isoformat(),
        "last": board.quarter.last.isoformat(),
        "as_of": board.as_of.isoformat(),
        "current": board.current,
        "district": board.district,
        "rankings": [
            {
                "key": r.key,
                "label": r.label,
                "kind": r.kind,
                "unit": r.unit,
                "weight": r.weight,
                "definition": r.definition,
            }
            for r in board.rankings
        ],
        "overall": {"label": board.overall_label, "definition": board.overall_definition},
        "groups": [
            {
                "name": group.name,
                "size": group.size,
                "ranked": group.overall_ranked,
                "items": [
                    {
                        "district": row.district,
                        "district_id": row.district_id,
                        "score": row.score,
                        "rank": row.rank,
                        "values": {key: cell.value for key, cell in row.cells.items()},
                        "ranks": {key: cell.rank for key, cell in row.cells.items()},
                    }
                    for row in group.rows
                ],
            }
            for group in board.groups
        ],
        "fingerprint": board.fingerprint,
    }


@bp.route("/rankings/racing")
@roles_required(*READERS)
def racing_ranking():
    """The quarter's 赛马榜: per group of districts, the 综合排名 and every single ranking.
    ---
    get:
      summary: 赛马榜（季度）
      description: |
        某季度（quarter，如 2026-Q4；默认本季度，截至今日）的赛马榜：按分组（groups），每个区县的
        综合得分与组内名次，以及各单项（rankings：招大引强、招新引优、重大项目开工、重大项目投资、
        外资引资）的数值与组内名次。名次为并列名次（1、1、3）；组内某单项全部为 0 时该单项名次为 null。
        区县专员只能看到本区县一行（district 为其区县名，size 为组内区县数）；系统管理员无权查看。
      parameters:
        - {name: quarter, in: query, schema: {type: string, example: 2026-Q4}}
      responses:
        "200":
          description: 赛马榜
          content:
            application/json:
              schema:
                type: object
                required: [quarter, groups, rankings]
                properties:
                  quarter: {type: string}
                  first: {type: string, format: date}
                  last: {type: string, format: date}
                  as_of: {type: string, format: date, description: 统计截至日（本季度为今日）}
                  current: {type: boolean, description: 是否为进行中的季度}
                  district: {type: string, nullable: true, description: 区县专员所见的本区县}
                  rankings:
                    type: array
                    items:
                      type: object
                      properties:
                        key: {type: string}
                        label: {type: string}
                        kind: {type: string}
                        unit: {type: string, enum: [个, 万元]}
                        weight: {type: integer}
                        definition: {type: string}
                  overall:
                    type: object
                    properties: {label: {type: string}, definition: {type: string}}
                  groups:
                    type: array
                    items:
                      type: object
                      properties:
                        name: {type: string}
                        size: {type: integer}
                        ranked: {type: boolean}
                        items:
                          type: array
                          items:
                            type: object
                            properties:
                              district: {type: string}
                              district_id: {type: integer}
                              score: {type: number}
                              rank: {type: integer, nullable: true}
                              values: {type: object, additionalProperties: {type: integer}}
                              ranks: {type: object, additionalProperties: {type: integer, nullable: true}}
                  fingerprint: {type: string, description: 赛马榜定义文件的版本}
        "400": {$ref: "#/components/responses/BadRequest"}
        "403": {$ref: "#/components/responses/Forbidden"}
    """
    raw = request.args.get("quarter", "")
    try:
        quarter = parse_quarter(raw[:20]) if raw.strip() else Quarter.of(today_local())
    except QuarterError as error:
        return error_response(error)
    return jsonify(board_json(visible_board(racing_board(quarter), current_user)))
