"""Enterprise rules shared by pages, API and imports: validation, duplicates, versions, contacts."""

import pytest
from sqlalchemy import func, select

from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    DuplicateWarning,
    EnterpriseError,
    VersionConflict,
    add_contact,
    create_enterprise,
    find_duplicates,
    update_enterprise,
)
from crm.extensions import db

HUAWEI = "914403001922038216"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Enterprise))


def test_create_a_target_enterprise():
    firm = create_enterprise(
        {
            "name": "华峰化工（重庆）有限公司",
            "credit_code": " 9144 0300 1922 0382 16 ",
            "ownership": "民营",
            "revenue_wan": "1,200,000",
            "honours": "链主、高新技术企业",
            "products": "己二酸、聚氨酯原液",
            "catalogue_codes": "ch-pa-01, CH-PU-01",
        }
    )
    db.session.commit()
    assert firm.credit_code == HUAWEI and firm.revenue_wan == 1_200_000 and firm.revenue_tier == "百亿级"
    assert firm.honours == ["链主", "高新技术企业"]
    assert [e.code for e in firm.catalogue_entries] == ["CH-PA-01", "CH-PU-01"]
    assert firm.name_key == "华峰化工"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": ""}, "请填写企业名称"),
        ({"name": "某某公司", "credit_code": "91440300192203821X"}, "校验位不符"),
        ({"name": "某某公司", "credit_code": "123"}, "应为 18 位"),
        ({"name": "某某公司", "revenue_wan": "-5"}, "应为不小于 0 的数字"),
        ({"name": "某某公司", "revenue_wan": "一百"}, "应为不小于 0 的数字"),
        ({"name": "某某公司", "revenue_wan": 10**12}, "超出合理范围"),
        ({"name": "某某公司", "ownership": "国营"}, "所有制“国营”无效"),
        ({"name": "某某公司", "honours": "世界五百强"}, "荣誉资质“世界五百强”无效"),
        ({"name": "某某公司", "kind": "local"}, "须填写所在区县"),
        ({"name": "某某公司", "kind": "local", "district": "火星区"}, "未知的区县"),
        ({"name": "某某公司", "catalogue_codes": "XX-YY-01"}, "未知的目录条目代码"),
        ({"name": "某某公司", "listed_code": "600000"}, "请同时选择上市地"),
        ({"name": "x" * 200}, "不能超过 128 个字符"),
        ({"name": "某某\x00公司"}, "控制字符"),
        ({"name": "某某公司", "products": "x" * 5000}, "不能超过 4000 个字符"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_writes_nothing(raw, message):
    before = _count()
    with pytest.raises(EnterpriseError, match=message):
        create_enterprise(raw)
    db.session.rollback()
    assert _count() == before


@pytest.mark.parametrize(
    "second",
    ["重庆华峰化工股份有限公司", "华峰化工(重庆)有限公司", "华峰化工有限责任公司", "ＨＦ新材料有限公司"],
)
def test_duplicates_are_caught_by_folded_names(second):
    create_enterprise({"name": "华峰化工有限公司", "former_names": "HF新材料有限公司"})
    db.session.commit()
    with pytest.raises(DuplicateWarning) as caught:
        create_enterprise({"name": second})
    assert [e.name for e in caught.value.matches] == ["华峰化工有限公司"]
    assert "可能与已有企业重复" in str(caught.value)
    db.session.rollback()


def test_a_confirmed_duplicate_is_created_and_a_different_firm_is_not_flagged():
    create_enterprise({"name": "华峰化工有限公司"})
    create_enterprise({"name": "重庆华峰化工股份有限公司"}, confirm_duplicate=True)
    db.session.commit()
    assert _count() == 2
    assert find_duplicates("华峰铝业有限公司") == []


def test_the_same_credit_code_is_never_registered_twice():
    create_enterprise({"name": "甲公司", "credit_code": HUAWEI})
    db.session.commit()
    with pytest.raises(EnterpriseError, match="已属于“甲公司”"):
        create_enterprise({"name": "乙公司", "credit_code": HUAWEI}, confirm_duplicate=True)
    db.session.rollback()


def test_a_stale_edit_is_refused():
    firm = create_enterprise({"name": "甲公司"})
    db.session.commit()
    update_enterprise(firm, {"name": "甲公司", "products": "铝板"}, seen_version=1)
    db.session.commit()
    assert firm.version == 2
    with pytest.raises(VersionConflict, match="已被他人修改"):
        update_enterprise(firm, {"name": "甲公司", "products": "铜箔"}, seen_version=1)
    db.session.rollback()
    db.session.expire_all()
    assert firm.products == "铝板"


def test_contacts_are_checked():
    firm = create_enterprise({"name": "甲公司"})
    contact = add_contact(
        firm, {"name": "张经理", "title": "投资总监", "phone": "023-6666 8888", "email": "z@x.cn"}
    )
    db.session.commit()
    assert firm.contacts == [contact]
    for raw, message in (
        ({"name": ""}, "请填写联系人姓名"),
        ({"name": "李", "phone": "abc"}, "电话"),
        ({"name": "李", "email": "not-mail"}, "邮箱"),
    ):
        with pytest.raises(EnterpriseError, match=message):
            add_contact(firm, raw)
