"""统一社会信用代码 validation (GB 32100-2015)."""

import pytest

from crm.enterprises.credit_code import check_character, credit_code_error, normalise_credit_code

# Published codes of well-known companies (from their public business licences).
REAL_CODES = ["91110000802100433B", "914403001922038216", "91350100M000100Y43"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    assert credit_code_error(code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91110000802100433", "应为 18 位（现为 17 位）"),
        ("91110000802100433C", "校验位不符（应为 B）"),
        ("9111000080210O433B", "不允许的字符：O"),
        ("911A0000802100433B", "行政区划代码"),
    ],
)
def test_wrong_codes_say_why_in_chinese(code, message):
    assert message in credit_code_error(code)


def test_pasted_codes_are_normalised():
    assert normalise_credit_code(" ９１１１０００ 0802100433b ") == "91110000802100433B"
    assert normalise_credit_code("91110000-802100433-B") == "91110000802100433B"


def test_every_single_character_typo_is_caught():
    code = REAL_CODES[0]
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for position in range(17):
        for char in alphabet:
            if char != code[position]:
                typo = code[:position] + char + code[position + 1 :]
                if typo[2:8].isdigit():
                    assert check_character(typo[:17]) != code[17], typo
