"""Districts and zones: Chongqing's 38 区县 plus the 3 zones, with aliases resolved to one."""

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.industry.service import MapDataError, read_districts_file
from crm.places.models import District
from crm.places.service import resolve_district


def test_counts_by_kind():
    counts = dict(db.session.execute(select(District.kind, func.count()).group_by(District.kind)).all())
    assert counts == {"区": 26, "县": 8, "自治县": 4, "功能区": 3}


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("秀山县", "秀山土家族苗族自治县"),
        ("大渡口", "大渡口区"),
        ("重庆高新区", "西部科学城重庆高新区"),
        ("重庆高新技术产业开发区", "西部科学城重庆高新区"),
        (" 涪陵区 ", "涪陵区"),
        ("万盛经开区", "万盛经开区"),
        ("石柱县", "石柱土家族自治县"),
    ],
)
def test_aliases_resolve(alias, name):
    assert resolve_district(alias).name == name


def test_unknown_names_do_not_resolve():
    assert resolve_district("火星区") is None
    assert resolve_district("") is None


def test_seed_district_names_all_resolve(seed_text):
    # Every district the seed's 专栏二 table names must be known (read from the seed itself).
    lines = [
        line for line in seed_text.splitlines() if line[:1].isdigit() and "产业集群" in line and "\t" in line
    ]
    names = {name.strip().rstrip("等") for line in lines for name in line.split("\t")[-1].split("、")}
    assert len(lines) == 8 and len(names) > 20
    assert {name for name in names if resolve_district(name) is None} == set()


def test_conflicting_alias_is_refused(tmp_path):
    path = tmp_path / "districts.yaml"
    path.write_text(
        "districts:\n"
        "  - {name: 甲区, kind: 区, aliases: [同名]}\n"
        "  - {name: 乙区, kind: 区, aliases: [同名]}\n",
        encoding="utf-8",
    )
    with pytest.raises(MapDataError, match="同时指向"):
        read_districts_file(path)
