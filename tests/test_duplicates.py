"""Duplicates are duplicates: a name that differs from one on file only by characters nobody can
see (a zero-width space, a soft hyphen, a byte-order mark) is the same firm."""

import sys
import unicodedata

import pytest
from sqlalchemy import func, select

from crm.core.text import INVISIBLE
from crm.enterprises.models import Enterprise
from crm.enterprises.service import DuplicateWarning, create_enterprise, find_duplicates
from crm.extensions import db


def test_every_format_character_is_invisible_to_comparisons():
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category == "Cf":
            assert INVISIBLE.match(char), hex(code)
        elif INVISIBLE.match(char):
            # Only characters this Python's Unicode does not know yet (Cf in later versions).
            assert category == "Cn", hex(code)


@pytest.mark.parametrize("hidden", ["\u200b", "\u00ad", "\ufeff", "\u2060", "\u200d", "\u202e"])
def test_a_name_with_an_invisible_character_is_a_probable_duplicate(hidden):
    create_enterprise({"name": "华峰化工有限公司"})
    db.session.commit()
    with pytest.raises(DuplicateWarning) as caught:
        create_enterprise({"name": f"华峰{hidden}化工有限公司"})
    assert [e.name for e in caught.value.matches] == ["华峰化工有限公司"]
    db.session.rollback()
    assert [e.name for e in find_duplicates(f"华{hidden}峰化工")] == ["华峰化工有限公司"]


def test_invisible_characters_are_not_stored(client, login_as):
    login_as("officer")
    response = client.post(
        "/enterprises/new", data={"name": "隐\u200b形新材料\u00ad有限公司", "kind": "target"}
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Enterprise.name)).all() == ["隐形新材料有限公司"]


def test_the_duplicate_form_warns_about_a_look_alike(client, login_as):
    login_as("officer")
    client.post("/enterprises/new", data={"name": "重庆某某新材料有限公司", "kind": "target"})
    html = client.post(
        "/enterprises/new", data={"name": "某某\u200b新材料（重庆）有限公司", "kind": "target"}
    ).text
    assert "可能与已有企业重复" in html and "重庆某某新材料有限公司" in html
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 1
