"""The map, cluster and catalogue pages; managers' edits with history and conflict detection; XLSX."""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.audit.models import AuditLog
from crm.extensions import db
from crm.industry.models import CatalogueEntry, Sector


def _entry(code: str) -> CatalogueEntry:
    db.session.expire_all()
    return db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == code))


def _form(entry: CatalogueEntry, **overrides) -> dict:
    data = {
        "action": entry.action,
        "verb": entry.verb,
        "gap": entry.gap,
        "priority": entry.priority,
        "clusters": [c.code for c in entry.clusters],
        "keywords": "、".join(entry.keywords),
        "note": entry.note,
        "version": entry.version,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["officer", "manager", "district", "admin"])
def test_every_role_reads_the_map(client, login_as, role):
    login_as(role, "涪陵区" if role == "district" else None)
    html = client.get("/map").get_data(as_text=True)
    for sector in db.session.scalars(select(Sector)):
        assert sector.name in html
    assert "高强高模耐蚀铝合金" in html and "0 / 0 / 0" in html
    assert "专栏一作“储能材料”" in html


def test_cluster_pages_and_matrix(client, login_as):
    login_as("officer")
    html = client.get("/clusters").get_data(as_text=True)
    assert (
        "电子新材料产业集群" in html
        and "正文作“电子先进材料产业集群”" in html
        and "钒盐特色材料产业集群" in html
    )
    html = client.get("/clusters/NS").get_data(as_text=True)
    assert "秀山土家族苗族自治县" in html and "秀山县" in html and "质子交换膜" in html
    matrix = client.get("/clusters/matrix").get_data(as_text=True)
    row = re.search(r"<th class=\"row-head\" scope=\"row\">涪陵区</th>(.*?)</tr>", matrix, re.S).group(1)
    assert row.count("●") + row.count("○") == int(re.findall(r"<td>(\d+)</td>", row)[-1]) == 6
    assert client.get("/clusters/XX").status_code == 404


def test_catalogue_filters(client, login_as):
    login_as("officer")
    html = client.get("/catalogue?action=补链&per_page=200").get_data(as_text=True)
    actions = re.findall(r'<span class="badge action-\w+">(..)</span>', html)
    assert actions and set(actions) == {"补链"}
    for query in ("尼龙66", "pa66", "PA-66", "ＰＡ—６６", "聚酰胺 66"):
        html = client.get("/catalogue", query_string={"q": query}).get_data(as_text=True)
        assert "CH-PA-03" in html and "共 1 条" in html, query
    html = client.get("/catalogue", query_string={"q": "PP"}).get_data(as_text=True)
    assert "聚丙烯酸酯树脂" not in html  # 聚丙烯酸酯 is not polypropylene
    assert "共 0 条" in client.get("/catalogue", query_string={"q": '"'}).get_data(as_text=True)
    html = client.get("/catalogue?cluster=VN&per_page=200").get_data(as_text=True)
    assert "液流电池材料" in html and "高强高模耐蚀铝合金" not in html
    assert "液流电池材料" in client.get("/catalogue?cluster=vn").get_data(as_text=True)  # codes ignore case
    html = client.get("/catalogue?sector=GR&gap=短板&priority=中").get_data(as_text=True)
    assert "石墨烯显示模组" in html and "石墨烯薄膜" not in html  # 石墨烯薄膜 is priority 低
    assert client.get("/catalogue?action=<x>&sector=%ff&page=-1").status_code == 200


def test_catalogue_export_follows_the_filters(client, login_as):
    login_as("district", "长寿区")
    response = client.get("/catalogue/export.xlsx?cluster=SM")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    expected = db.session.scalars(select(CatalogueEntry)).all()
    expected = [e for e in expected if "合成材料产业集群" in [c.name for c in e.clusters] and not e.retired]
    assert rows[0][:5] == ("代码", "门类", "产业", "产业链", "招商环节（产品方向）")
    assert sorted(r[0] for r in rows[1:]) == sorted(e.code for e in expected)


def test_entry_page_shows_the_seed_and_history(client, login_as):
    login_as("officer")
    html = client.get("/catalogue/nf-cu-02").get_data(as_text=True)
    assert "精密铜箔" in html and "原文写法：“箔”" in html and "做大铜基材料加工产业" in html
    assert "编辑</a>" not in html  # officers do not edit the catalogue
    assert client.get("/catalogue/NO-SUCH-01").status_code == 404


def test_manager_edits_an_entry_with_history(client, login_as):
    manager = login_as("manager")
    entry = _entry("FE-SP-09")
    response = client.post(
        "/catalogue/FE-SP-09/edit",
        data=_form(
            entry, priority="低", clusters=["ST"], keywords="高温合金、镍基高温合金、GH4169", note="重点跟踪"
        ),
    )
    assert response.status_code == 302
    entry = _entry("FE-SP-09")
    assert (entry.priority, [c.code for c in entry.clusters], entry.note) == ("低", ["ST"], "重点跟踪")
    assert "GH4169" in entry.keywords and entry.version == 2
    log = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "catalogue_entries").order_by(AuditLog.id)
    ).all()[-1]
    assert log.actor_name == manager.username
    assert log.before["clusters"] == ["钢铁材料产业集群", "航空材料产业集群"]
    assert log.after["clusters"] == ["钢铁材料产业集群"]
    assert "loaded" not in log.after and "search_text" not in log.after
    html = client.get("/catalogue/FE-SP-09").get_data(as_text=True)
    assert "优先级：高 → 低" in html and manager.username in html
    assert "适宜集群：钢铁材料产业集群、航空材料产业集群 → 钢铁材料产业集群" in html
    assert "['" not in html and "loaded" not in html


@pytest.mark.parametrize("role", ["officer", "district"])
def test_only_managers_and_admins_edit(client, login_as, role):
    login_as(role, "涪陵区" if role == "district" else None)
    entry = _entry("FE-SP-09")
    assert client.get("/catalogue/FE-SP-09/edit").status_code == 403
    assert client.post("/catalogue/FE-SP-09/edit", data=_form(entry, priority="低")).status_code == 403
    assert _entry("FE-SP-09").priority == "高"


def test_a_concurrent_edit_is_detected_and_shown(client, login_as):
    login_as("manager")
    seen = _entry("NE-H2-01")
    stale = _form(seen, priority="低")
    # Another manager saves first.
    assert client.post("/catalogue/NE-H2-01/edit", data=_form(seen, gap="薄弱环节")).status_code == 302
    response = client.post("/catalogue/NE-H2-01/edit", data=stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="edit-conflict"' in html
    assert "已被他人修改" in html and "环节类型" in html and "短板" in html and "薄弱环节" in html
    entry = _entry("NE-H2-01")
    assert (entry.gap, entry.priority) == ("薄弱环节", "高")  # nothing of the stale save was written
    # Saving again from the conflict page (now at the current version) is a knowing overwrite.
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    assert client.post("/catalogue/NE-H2-01/edit", data={**stale, "version": version}).status_code == 302
    assert _entry("NE-H2-01").priority == "低"


def test_a_save_racing_another_commit_is_refused(login_as):
    from sqlalchemy import update as sql_update

    from crm.industry import catalogue as cat

    entry = _entry("NE-H2-02")
    values = {**_form(entry, priority="低"), "retired": False}
    # Another request commits between this one's version check and its UPDATE.
    with db.engine.begin() as other:
        table = CatalogueEntry.__table__
        other.execute(
            sql_update(table).where(table.c.id == entry.id).values(version=entry.version + 1, note="别人")
        )
    with pytest.raises(cat.EditConflict):
        cat.update_entry(entry, values, seen_version=entry.version)
    assert _entry("NE-H2-02").priority == "高"


def test_a_stale_or_forged_version_number_is_refused(client, login_as):
    login_as("manager")
    entry = _entry("NE-H2-03")
    for version in ("999999", "0", "-1"):
        html = client.post("/catalogue/NE-H2-03/edit", data=_form(entry, priority="低", version=version)).text
        assert "版本号无效" in html or "不是有效的整数" in html or "缺少版本号" in html, version
    assert _entry("NE-H2-03").priority == entry.priority


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"action": "大链"}, "不是有效的选择"),
        ({"clusters": ["ZZ"]}, "所选产业集群无效"),
        ({"verb": ""}, "请填写原文用语"),
        ({"keywords": "、".join(f"词{i}" for i in range(50))}, "关键词最多 40 个"),
        ({"version": ""}, "缺少版本号"),
        ({"note": "x" * 3000}, "长度"),
    ],
)
def test_bad_edits_are_refused_in_chinese_and_change_nothing(client, login_as, overrides, message):
    login_as("manager")
    entry = _entry("AG-PR-02")
    response = client.post("/catalogue/AG-PR-02/edit", data=_form(entry, **overrides))
    assert message in response.get_data(as_text=True)
    after = _entry("AG-PR-02")
    assert (after.version, after.action, after.keywords) == (entry.version, entry.action, entry.keywords)


@pytest.mark.parametrize(
    "url", ["/map", "/catalogue?per_page=200", "/clusters/matrix", "/catalogue/export.xlsx"]
)
def test_pages_do_not_query_per_row(client, login_as, url):
    from sqlalchemy import event

    login_as("manager")
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # 243 entries: one query each would show. Below 20: a page's fixed cost (the user, the
    # navigation's badges and the bell's count) and the page's own few queries.
    assert len(statements) < 20, (url, len(statements))
