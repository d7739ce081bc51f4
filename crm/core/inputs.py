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


# A JSON body nests objects a few levels deep; anything deeper is not ours (and Python's parser
# would run out of stack on a few thousand levels).
MAX_JSON_DEPTH = 32
# Numbers beyond what a double holds exactly are never ids, versions or amounts of ours.
MAX_JSON_INT = 2**53
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _json_strings(value) -> list[str]:
    """Every key and string of a parsed JSON value, walked without recursion; an InvalidInput for
    a body nested too deep or holding a number no field of ours can take."""
    strings, pending = [], [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(f"请求的 JSON 嵌套过深（超过 {MAX_JSON_DEPTH} 层）。")
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and abs(item) > MAX_JSON_INT:
            raise InvalidInput("请求中的数字超出允许范围。")
        elif isinstance(item, dict):
            strings += [str(key) for key in item]
            pending += [(child, depth + 1) for child in item.values()]
        elif isinstance(item, list):
            pending += [(child, depth + 1) for child in item]
    return strings


def _json_body_strings() -> list[str]:
    try:
        parsed = request.get_json(silent=True)
    except RecursionError as error:  # thousands of [[[[ : the parser's own stack gave out
        raise InvalidInput(f"请求的 JSON 嵌套过深（超过 {MAX_JSON_DEPTH} 层）。") from error
    return _json_strings(parsed)


def reject_control_characters():
    """before_request: a NUL or other control character anywhere in the request is a 400, in
    Chinese; so are a lone surrogate (\\ud800 in JSON: no database can store it) and a JSON body
    nested too deep or holding an out-of-range number."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        values += [*request.form.keys(), *request.form.values()]
        if request.is_json:
            values += _json_body_strings()
    if any(CONTROL_CHARS.search(v) for v in values):
        raise InvalidInput("输入中包含无效的控制字符（如 NUL），请删除后重试。")
    if any(LONE_SURROGATE.search(v) for v in values):
        raise InvalidInput("输入中包含无效的字符（孤立的 UTF-16 代理项），请删除后重试。")
