"""Numbers people type for money (万元) and counts: one rule for every form, API body, import and CLI.

Amounts are stored as whole 万元. A decimal is refused rather than rounded: 「2.5」 stored as 2 (or
3) would change the figure without a word, and a bureau's figures must be the ones it was given."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
MAX_WAN = 100_000_000  # 1 万亿元: any single investment above it is a typing error


def parse_whole(value, label: str, error: type[Exception] = ValueError, maximum: int = MAX_WAN) -> int | None:
    """A whole number ≥ 0 from text (thousands commas allowed), an int, or an integral float as a
    spreadsheet gives it; None for blank. Anything else raises `error` with a Chinese message that
    starts with `label` (which names the unit: 协议投资额（万元）, 预计就业（人）)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise error(f"{label}应为数字")
    shown = str(value).strip()[:20]
    if isinstance(value, str):
        # Full-width digits folded (a Chinese IME types ８０); then digits with one decimal point at
        # most — no exponents, signs or underscores, which Decimal would otherwise read.
        text = unicodedata.normalize("NFKC", value).replace(",", "").strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise error(f"{label}“{shown}”应为不小于 0 的数字") from exc
        if number.is_finite() and not NUMBER.fullmatch(text.removeprefix("-")):
            raise error(f"{label}“{shown}”应为不小于 0 的数字")
    else:
        number = Decimal(value)
    if not number.is_finite():  # NaN, Infinity
        raise error(f"{label}应为数字")
    if number < 0:
        raise error(f"{label}应为不小于 0 的数字，不能为负数")
    if number > maximum:
        raise error(f"{label}超出合理范围，请确认单位")
    if number != number.to_integral_value():
        raise error(f"{label}应为整数，不能有小数（收到“{shown}”）")
    return int(number)


def plain_number(value: Decimal) -> int | Decimal:
    """A stored decimal figure as people write it: 12, 8123.5 (no trailing zeros)."""
    return int(value) if value == value.to_integral_value() else value.normalize()
