"""The API's blueprint and what every resource shares: reading a JSON body, and answering a
service's outcome as JSON (the value, or {"error": …} in Chinese with 400, or 409 for a conflict)."""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request

from crm.core.converters import MAX_DB_INT
from crm.core.inputs import InvalidInput
from crm.core.transaction import Conflict, Outcome

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> dict:
    """The JSON object of a write; anything else is a Chinese 400."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象（Content-Type: application/json）")
    return body


def whole_number(body: dict, key: str, message: str) -> int:
    """An integer field of the body (a version, an id); a missing or non-integer one is a Chinese 400."""
    value = body.get(key)
    # Beyond a database integer it names no row and fits no column.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DB_INT:
        raise InvalidInput(message)
    return value


def error_response(error: ValueError, **extra: Any):
    """A service's refusal: 409 when the record moved on (a conflict), else 400."""
    return jsonify(error=str(error), **extra), 409 if isinstance(error, Conflict) else 400


def respond(outcome: Outcome, serialise: Callable[[Any], dict], status: int = 200):
    """The committed value as JSON, or the refusal."""
    if not outcome.ok:
        return error_response(outcome.error)
    return jsonify(serialise(outcome.value)), status
