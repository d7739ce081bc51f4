"""Checks on free text that services apply whatever the caller (form, API, CLI, import)."""

from crm.core.inputs import has_control_chars


def clean_text(value: str | None, label: str, max_length: int, error: type[Exception] = ValueError) -> str:
    """The value without surrounding spaces; refused in Chinese if too long or holding control characters."""
    if value is not None and not isinstance(value, str):
        # JSON bodies and imports can carry numbers or lists where text is meant.
        raise error(f"{label}应为文本")
    text = (value or "").strip()
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
