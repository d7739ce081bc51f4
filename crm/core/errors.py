"""Error pages and JSON errors, all in Simplified Chinese; no request ends in a bare 500 page."""

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.core.forms import CSRF_MESSAGE
from crm.extensions import db

MESSAGES = {
    400: "请求无效，请检查输入后重试。",
    401: "请先登录。",
    403: "您没有权限访问此页面或执行此操作。",
    404: "您访问的页面或数据不存在。",
    405: "不支持该请求方式。",
    409: "数据已被他人修改，请刷新后重试。",
    413: "上传的文件太大。",
    415: "不支持的内容类型。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误，操作未完成。请稍后重试或联系系统管理员。",
}

FALLBACK_500 = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>服务器内部错误</title>'
    "<p>服务器内部错误，操作未完成。请稍后重试或联系系统管理员。</p></html>"
)


def is_api_request() -> bool:
    """Whether the request is for the JSON API, which answers in JSON rather than pages."""
    return request.path.startswith("/api/")


def _respond(status: int, message: str):
    if is_api_request():
        return jsonify(error=message), status
    return render_template("errors/error.html", status=status, message=message), status


def handle_http_error(error: HTTPException):
    """Any HTTP error in Chinese: a page for the browser, {"error": …} for the API."""
    status = error.code or 500
    fallback = MESSAGES[400] if status < 500 else MESSAGES[500]
    message = getattr(error, "chinese", None) or MESSAGES.get(status, fallback)
    return _respond(status, message)


def handle_csrf_error(error: CSRFError):
    """A missing or stale CSRF token."""
    return _respond(400, CSRF_MESSAGE)


def handle_unexpected_error(error: Exception):
    """A bug or a failing database: roll back, log, and answer in Chinese.

    The page is standalone (no navigation, no current_user): when the database is what failed,
    the usual frame would fail again while rendering the error.
    """
    current_app.logger.exception("未处理的异常")
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the answer must still go out
        current_app.logger.exception("回滚失败")
    if is_api_request():
        return jsonify(error=MESSAGES[500]), 500
    try:
        return render_template("errors/500.html", message=MESSAGES[500]), 500
    except Exception:  # even the standalone page failed: plain text, still Chinese
        return FALLBACK_500, 500, {"Content-Type": "text/html; charset=utf-8"}


def register(app) -> None:
    """Install the handlers on the app."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
