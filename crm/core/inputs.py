"""Input hygiene shared by every route and service: text that the databases cannot store is refused."""

import re

from flask import request
from werkzeug.exceptions import BadRequest

# PostgreSQL cannot store NUL in text; other C0 controls (but tab and newlines) are never meant.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidInput(BadRequest):
    """A 400 whose Chinese message the error pages show as it is."""

    def __init__(self, message: str):
        super().__init__(description=message)
        self.chinese = message


def has_control_chars(text: str) -> bool:
    """Whether the text holds a control character (NUL included)."""
    return bool(CONTROL_CHARS.search(text))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def reject_control_characters():
    """before_request: a NUL or other control character anywhere in the request is a 400, in Chinese."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        values += [*request.form.keys(), *request.form.values()]
        if request.is_json:
            values += list(_strings(request.get_json(silent=True)))
    if any(CONTROL_CHARS.search(v) for v in values):
        raise InvalidInput("输入中包含无效的控制字符（如 NUL），请删除后重试。")
