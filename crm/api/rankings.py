"""/api/v1/rankings/activity: the weekly 招商活跃指数, as the ranking page shows it."""

from flask import abort, jsonify, request
from flask_login import current_user

from crm.api.common import bp, error_response
from crm.auth.permissions import roles_required
from crm.core.weeks import last_week
from crm.rankings.activity import RankingError, board, check_by, current, may_rank, visible_rows
from crm.rankings.racing import READERS


def _item(row) -> dict:
    return {
        "unit": row.unit.name,
        "unit_id": row.unit.id,
        "score": row.score,
        "rank": row.rank,
        **row.counts,
        "scores": row.scores,
        "previous_score": row.previous_score,
        "previous_rank": row.previous_rank,
        "change": row.change,
        "trend": row.trend,
    }


@bp.route("/rankings/activity")
@roles_required(*READERS)
def activity_ranking():
    """The 招商活跃指数 of a week, by district or by division.
    ---
    get:
      summary: 招商活跃指数排名
      description: |
        某 ISO 周（默认上一个完整周）按区县（by=district，默认）或按处室（by=division）的
        招商活跃指数：每个单位的指数 score、名次 rank（并列同名次；全部为 0 时为 null），
        每个分项一个字段（本周计入的记录数，键为分项的 key，如 signing、start、visit_out、
        visit_in、events、publicity），各分项得分 scores，上周的指数与名次、12 周趋势 trend。
        口径见 indices 与 definition。区县专员只能看到本区县一行，不能看处室排名。
      parameters:
        - {name: week, in: query, schema: {type: string, example: 2026-W48}}
        - {name: by, in: query, schema: {type: string, enum: [district, division]}}
      responses:
        "200":
          description: 排名
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ActivityRanking"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "403": {$ref: "#/components/responses/Forbidden"}
    """
    try:
        by = check_by(request.args.get("by") or "district")
        if not may_rank(current_user, by):
            abort(403)  # before the ranking is computed
        ranking = board(request.args.get("week") or last_week(), by)
    except RankingError as error:
        return error_response(error)
    rules = current()
    return jsonify(
        {
            "week": ranking.week,
            "by": by,
            "ranked": ranking.ranked,
            "weeks": ranking.weeks,
            "definition": rules.summary,
            "indices": [
                {"key": i.key, "label": i.label, "weight": i.weight, "definition": i.definition}
                for i in rules.indices
            ],
            "items": [_item(row) for row in visible_rows(ranking, current_user)],
        }
    )
