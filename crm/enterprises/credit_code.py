"""统一社会信用代码 (unified social credit code), GB 32100-2015: 18 characters and a check character."""

import unicodedata

# The code's alphabet: digits and capital letters without I, O, S, V, Z (GB 32100-2015, 4.2).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
VALUE = {char: index for index, char in enumerate(ALPHABET)}


def normalise_credit_code(text: str | None) -> str:
    """Upper case, half width, no spaces or hyphens: how people paste codes from documents."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in folded if not ch.isspace() and ch != "-")


def looks_like_credit_code(text: str) -> bool:
    """Whether typed text has the shape of a 统一社会信用代码 (18 ASCII letters and digits): looked up
    by code, else as a name."""
    return len(text) == 18 and text.isascii() and text.isalnum()


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must be in the alphabet)."""
    total = sum(VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """Why a (normalised) code is not a valid 统一社会信用代码, in Chinese; None when it is valid."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位（现为 {len(code)} 位）"
    wrong = sorted({ch for ch in code if ch not in VALUE})
    if wrong:
        return f"统一社会信用代码含有不允许的字符：{'、'.join(wrong)}（不使用 I、O、S、V、Z）"
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3–8 位应为行政区划代码（数字）"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位不符（应为 {expected}），请核对是否录入有误"
    return None
