"""What the API offers, and who is calling."""

from flask import jsonify, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from crm.api.common import bp
from crm.api.serializers import user_json
from crm.auth.tokens import current_token


@bp.route("/")
def index():
    """What the API offers.
    ---
    get:
      summary: 接口概览
      description: 各资源的地址。
      responses:
        "200":
          description: 版本与资源地址
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Index"}
    """
    return jsonify(
        version="v1",
        resources={
            "me": url_for("api.me"),
            "enterprises": url_for("api.enterprises"),
            "leads": url_for("api.leads"),
            "projects": url_for("api.projects"),
            "openapi": url_for("api.openapi"),
        },
    )


@bp.route("/me")
def me():
    """The caller: with the login session, the CSRF token that writes must send as X-CSRFToken;
    with an API token, that token (writes need no CSRF token then).
    ---
    get:
      summary: 当前调用者
      description: 登录会话调用时返回 csrf_token（写操作放在 X-CSRFToken 请求头）；令牌调用时返回令牌信息。
      responses:
        "200":
          description: 当前用户
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Me"}
    """
    token = current_token()
    if token is not None:
        # No generate_csrf() here: it would write the session, and a token request sets no cookie.
        return jsonify(
            user=user_json(current_user),
            token={
                "id": token.id,
                "name": token.name,
                "read_only": token.read_only,
                "expires_at": token.expires_at.isoformat(),
            },
        )
    return jsonify(user=user_json(current_user), csrf_token=generate_csrf())
