"""`flask map load` is idempotent, applies file edits (audited), retires rather than deletes, and
keeps managers' catalogue edits; `flask map export` prints the whole map as UTF-8 JSON."""

import json
import shutil

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.extensions import db
from crm.industry.loader import load_map
from crm.industry.models import CatalogueEntry, Cluster, Product
from crm.industry.service import DATA_DIR, MapDataError


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog))


@pytest.fixture
def data_dir(tmp_path):
    """A copy of the data files that a test may edit."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def _edit(path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_a_second_load_changes_nothing(runner):
    before = _audit_count()
    result = runner.invoke(args=["map", "load"])
    assert result.exit_code == 0, result.output
    assert "招商目录条目：新增 0，更新 0，未变 243" in result.output
    assert "产品方向：新增 0，更新 0，未变 243" in result.output
    assert _audit_count() == before


def test_an_edited_file_updates_the_rows_and_the_audit_log(data_dir):
    _edit(
        data_dir / "map.yaml",
        "{code: NF-AL-02, name: 铸锻一体合金}",
        "{code: NF-AL-02, name: 铸锻一体化合金, seed_term: 铸锻一体合金}",
    )
    _edit(
        data_dir / "clusters.yaml",
        "districts: [万州区, 江津区, 綦江区]",
        "districts: [万州区, 江津区, 綦江区, 南川区]",
    )
    report = load_map(data_dir)
    db.session.commit()
    assert report.counts["产品方向"].updated == 1 and report.counts["产业集群"].updated == 1
    product = db.session.scalar(select(Product).where(Product.code == "NF-AL-02"))
    assert product.name == "铸锻一体化合金" and product.entry.title == "铸锻一体化合金"
    copper = db.session.scalar(select(Cluster).where(Cluster.code == "CU"))
    assert [d.name for d in copper.districts] == ["万州区", "江津区", "綦江区", "南川区"]
    log = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "products", AuditLog.row_id == str(product.id))
    ).all()[-1]
    assert log.before == {"name": "铸锻一体合金", "seed_term": None}
    assert log.after == {"name": "铸锻一体化合金", "seed_term": "铸锻一体合金"}
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.table_name == "cluster_districts", AuditLog.action == "insert")
    )


def test_a_removed_product_is_retired_never_deleted(data_dir):
    _edit(data_dir / "map.yaml", "              - {code: NF-AL-06, name: 大型复杂断面型材}\n", "")
    report = load_map(data_dir)
    db.session.commit()
    assert report.counts["产品方向"].retired == 1 and report.counts["招商目录条目"].retired == 1
    entry = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "NF-AL-06"))
    assert entry is not None and entry.retired and entry.product.retired
    # Put back in the file, it comes back to life under the same code.
    shutil.copy(DATA_DIR / "map.yaml", data_dir / "map.yaml")
    load_map(data_dir)
    db.session.commit()
    db.session.expire_all()
    assert not entry.retired and not entry.product.retired


def test_a_managers_edit_survives_a_reload_until_the_file_changes_that_field(data_dir):
    entry = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "NF-AL-02"))
    assert entry.priority == "高"
    entry.priority = "低"
    entry.note = "经办人备注"
    entry.version += 1
    db.session.commit()
    load_map(data_dir)  # the file did not change: the manager's values stay
    db.session.commit()
    db.session.expire_all()
    assert (entry.priority, entry.note) == ("低", "经办人备注")
    # The file's chain priority changes: that field follows the file, the note stays.
    _edit(
        data_dir / "map.yaml",
        "verb: 夯实铝合金产业链基础\n            gap: 优势\n            priority: 高",
        "verb: 夯实铝合金产业链基础\n            gap: 优势\n            priority: 中",
    )
    load_map(data_dir)
    db.session.commit()
    db.session.expire_all()
    assert (entry.priority, entry.note) == ("中", "经办人备注")


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "map.yaml",
            "verb: 补齐镁基材料关键环节",
            "action: 补链\n            verb: 补齐镁基材料关键环节",
            "不能直接填写 action",
        ),
        (
            "map.yaml",
            "              - {code: NF-MG-01, name: 低能耗镁合金}",
            "              - 低能耗镁合金",
            "应写成",
        ),
        ("targets.yaml", "value: 10000", "value: 一万", "应为数字"),
        ("clusters.yaml", "short_name: 铜加工", "short_name: 轻合金", "名称或简称重复"),
        (
            "clusters.yaml",
            "districts: [万州区, 江津区, 綦江区]",
            "districts: [万州区, 江津区, 万州]",
            "重复的区县",
        ),
        (
            "map.yaml",
            "{code: NF-AL-02, name: 铸锻一体合金}",
            "{code: NF-AL-01, name: 铸锻一体合金}",
            "代码 NF-AL-01 重复",
        ),
        (
            "map.yaml",
            "clusters: [铜加工产业集群]",
            "clusters: [铜冶炼产业集群]",
            "未知的产业集群“铜冶炼产业集群”",
        ),
        (
            "clusters.yaml",
            "districts: [万州区, 江津区, 綦江区]",
            "districts: [万州区, 江津区, 火星区]",
            "未知的区县“火星区”",
        ),
        (
            "map.yaml",
            '{code: CH-BD-04, name: "1,3—丙二醇"}',
            "{code: CH-BD-04, name: 1,3—丙二醇}",
            "应为文本",
        ),
        ("targets.yaml", 'comparator: ">"', 'comparator: "~"', "比较符“~”无效"),
    ],
)
def test_a_bad_data_file_is_refused_in_chinese_and_changes_nothing(data_dir, runner, file, old, new, message):
    _edit(data_dir / file, old, new)
    before = _audit_count()
    with pytest.raises(MapDataError, match=message):
        load_map(data_dir)
    db.session.rollback()
    assert _audit_count() == before


def test_export_prints_the_whole_map_as_utf8_json(runner):
    result = runner.invoke(args=["map", "export"])
    assert result.exit_code == 0
    assert "先进有色金属材料" in result.output and "\\u" not in result.output
    data = json.loads(result.output)
    assert set(data) >= {"categories", "clusters", "districts", "targets", "catalogue"}
    sectors = [s for c in data["categories"] for s in c["sectors"]]
    assert len(sectors) == 11
    products = [p for s in sectors for chain in s["chains"] for p in chain["products"]]
    assert len(products) == len(data["catalogue"]) == 243
    assert {"code", "name", "source"} <= set(products[0])
    light = next(c for c in data["clusters"] if c["name"] == "轻合金材料产业集群")
    assert (
        light["kind"] == "重点" and light["core_districts"][0] == "九龙坡区" and len(light["districts"]) == 12
    )
    xiushan = next(d for d in data["districts"] if d["name"] == "秀山土家族苗族自治县")
    assert xiushan["kind"] == "自治县" and "秀山县" in xiushan["aliases"]
    assert len(data["districts"]) == 41 and len(data["targets"]) == 10
    entry = next(e for e in data["catalogue"] if e["code"] == "CH-PA-03")
    assert (
        entry["action"] == "强链"
        and "尼龙66" in entry["keywords"]
        and entry["districts"][:2] == ["涪陵区", "长寿区"]
    )
