"""Checks on free text that services apply whatever the caller (form, API, CLI, import)."""

import re

from crm.core.inputs import has_control_chars

# An e-mail address as people type one: something@somewhere.tld (a contact's, a digest's).
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Format characters (Unicode category Cf: zero-width space and joiners, soft hyphen, byte-order
# mark, direction marks, tag characters): they show as nothing, so a name holding one looks like
# a firm on file yet compares as another. tests/test_duplicates.py checks this equals Unicode's Cf.
INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def without_invisibles(text: str) -> str:
    """The text with every format character (INVISIBLE) removed."""
    return INVISIBLE.sub("", text)


def clean_text(value: str | None, label: str, max_length: int, error: type[Exception] = ValueError) -> str:
    """The value without surrounding spaces and invisible characters; refused in Chinese if too long
    or holding control characters."""
    if value is not None and not isinstance(value, str):
        # JSON bodies and imports can carry numbers or lists where text is meant.
        raise error(f"{label}应为文本")
    text = without_invisibles(value or "").strip()
    if has_control_chars(text):
        raise error(f"{label}包含无效的控制字符")
    if len(text) > max_length:
        raise error(f"{label}不能超过 {max_length} 个字符（现为 {len(text)} 个）")
    return text


def required_text(value, label: str, max_length: int, error: type[Exception] = ValueError) -> str:
    """clean_text for a name that must be there: at least two characters."""
    text = clean_text(value, label, max_length, error)
    if len(text) < 2:
        raise error(f"请填写{label}（至少 2 个字）")
    return text
