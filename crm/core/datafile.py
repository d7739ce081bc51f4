"""Reviewed data files: the YAML that defines a figure (统计口径, 招商活跃指数, 赛马榜) is read
once at start, must carry its review log (date, who, what changed), and is fingerprinted so that
cached figures computed under other definitions are never served."""

import hashlib
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml


def read_yaml(path: Path, error: type[Exception], what: str) -> Any:
    """The parsed file; `error` in Chinese when it cannot be read or parsed."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as problem:
        raise error(f"无法读取{what}文件 {path}：{problem}") from problem


def review_log(data: dict, error: type[Exception], what: str) -> tuple[dict, ...]:
    """The file's `reviewed` records, each with its date, reviewer and note; `error` if missing."""
    reviewed = data.get("reviewed")
    if not isinstance(reviewed, list) or not reviewed or not all(isinstance(r, dict) for r in reviewed):
        raise error(f"{what}文件须有 reviewed 审核记录（日期、审核人、修改说明）")
    for record in reviewed:
        for key in ("date", "by", "note"):
            if not record.get(key):
                raise error(f"reviewed 的每条审核记录须写明 {key}")
    return tuple({k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()} for r in reviewed)


def fingerprint(data: Any) -> str:
    """A short hash of the definitions: part of the key of every cached figure computed with them."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


Rules = TypeVar("Rules")


def load_file(
    path: str | Path | None,
    default: Path,
    parse: Callable[[Any, str], Rules],
    error: type[Exception],
    what: str,
) -> Rules:
    """The rules of the file at `path` (or the reviewed one shipped, `default`); every problem is
    `error` in Chinese, naming the file."""
    path = Path(path or default)
    data = read_yaml(path, error, what)
    try:
        return parse(data, str(path))
    except error as problem:
        raise error(f"{what}文件 {path}：{problem}") from problem
