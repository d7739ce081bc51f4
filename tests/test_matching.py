"""The matcher: reading Chinese product text, scoring, reasons, the cache of matches; the CLI (odd
files too); where the pages show it, the gaps report."""

import json
import sys

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.leads.models import Lead
from crm.matching.matcher import NO_PROFILE, NO_TERMS, ClusterInfo, EntryInfo, Matcher
from crm.readmodels import matching
from crm.readmodels.matching import get_matcher

ENTRIES = [
    EntryInfo("A-1", "PA—66", ("PA66", "尼龙66", "聚酰胺66"), "聚酰胺", "化工", ("合成材料产业集群",)),
    EntryInfo("A-2", "己二胺", ("HMDA",), "聚酰胺", "化工", ("合成材料产业集群",)),
    EntryInfo("B-1", "无取向硅钢", (), "优特钢", "钢铁", ("钢铁材料产业集群",)),
    EntryInfo("B-2", "取向硅钢", (), "优特钢", "钢铁", ("钢铁材料产业集群",)),
    EntryInfo("C-1", "聚乙烯 PE", ("PE",), "聚烯烃", "化工", ("合成材料产业集群",)),
    EntryInfo("D-1", "高强高模耐蚀铝合金", (), "铝合金", "有色", ("轻合金材料产业集群", "航空材料产业集群")),
    EntryInfo("D-2", "大型复杂断面型材", (), "铝合金", "有色", ("轻合金材料产业集群",)),
]
CLUSTERS = [
    ClusterInfo("轻合金材料产业集群", "轻合金", ("九龙坡区",), ("九龙坡区", "綦江区")),
    ClusterInfo("合成材料产业集群", "合成材料", ("涪陵区", "长寿区"), ("涪陵区", "长寿区", "万州区")),
    ClusterInfo("钢铁材料产业集群", "钢铁材料", ("长寿区",), ("长寿区", "大足区")),
    ClusterInfo("航空材料产业集群", "航空材料", ("两江新区",), ("两江新区",)),
]


@pytest.fixture(scope="module")
def matcher():
    return Matcher(ENTRIES, CLUSTERS, {"铝合金": ["铝型材", "铝板带箔"]}, {"航空材料": ["航空航天"]})


@pytest.mark.parametrize("text", ["PA66 切片", "pa-66 工程塑料", "ＰＡ—６６", "尼龙66 工业丝", "PA 66"])
def test_spellings_of_one_product_find_its_entry(matcher, text):
    assert matcher.match("某公司", text).entries[0].code == "A-1"


def test_the_longest_term_wins_and_latin_abbreviations_stand_alone(matcher):
    assert [e.code for e in matcher.match("", "无取向硅钢").entries if e.terms] == ["B-1"]
    assert "C-1" not in {e.code for e in matcher.match("", "PET 瓶片").entries}
    assert matcher.match("", "PE 管材").entries[0].code == "C-1"


def test_trade_words_reach_the_chain_and_bigrams_rank_within_it(matcher):
    result = matcher.match("", "工业铝型材、大型断面型材")
    assert result.clusters[0].name == "轻合金材料产业集群"
    assert result.entries[0].code == "D-2"  # 型材 in its name
    assert any("铝合金" in reason for reason in result.why)


def test_clusters_lead_to_districts_core_first(matcher):
    result = matcher.match("", "己二胺、PA66")
    assert [c.name for c in result.clusters] == ["合成材料产业集群"]
    assert [d.name for d in result.districts] == ["涪陵区", "长寿区", "万州区"]
    assert result.districts[0].score > result.districts[2].score


def test_an_entry_shared_by_clusters_counts_most_for_the_first(matcher):
    result = matcher.match("", "高强高模耐蚀铝合金")
    assert [c.name for c in result.clusters][:2] == ["轻合金材料产业集群", "航空材料产业集群"]
    assert result.clusters[0].score > result.clusters[1].score


def test_cluster_words_count_directly_and_say_why(matcher):
    result = matcher.match("", "航空航天用铝板带箔")
    assert {c.name for c in result.clusters} >= {"航空材料产业集群", "轻合金材料产业集群"}
    assert any("航空航天" in reason and "航空材料" in reason for reason in result.why)


def test_no_products_means_no_match(matcher):
    empty = matcher.match("南山铝业股份有限公司", "")
    assert (empty.entries, empty.clusters, empty.districts) == ([], [], [])
    assert empty.why == [NO_PROFILE]  # never silent: it says why
    unknown = matcher.match("", "办公家具、物业服务")
    assert unknown.clusters == [] and unknown.why == [NO_TERMS]


def test_a_metals_one_character_name_inside_a_compound_does_not_name_the_metal():
    entries = [EntryInfo("T-1", "钛合金板材", (), "钛合金", "有色", ("轻合金材料产业集群",))]
    clusters = [
        ClusterInfo("轻合金材料产业集群", "轻合金", (), ()),
        ClusterInfo("钒盐产业集群", "钒盐", (), ()),
    ]
    matcher = Matcher(entries, clusters, {"钛合金": ["钛"]}, {"钒盐": ["钒"]})
    for compound in ("钛白粉", "钛酸锂", "四氯化钛"):
        assert matcher.match("", compound).clusters == [], compound
    assert matcher.match("", "钛、钛锭").clusters[0].name == "轻合金材料产业集群"
    # For the salt clusters the compounds are the products: 钒酸钠 is 钒盐's.
    assert matcher.match("", "钒酸钠").clusters[0].name == "钒盐产业集群"


def test_the_matcher_package_imports_nothing_from_flask():
    # Every import of crm/matching is the standard library, PyYAML or crm.matching itself.
    import ast
    from pathlib import Path

    allowed = set(sys.stdlib_module_names) | {"yaml", "crm"}
    package = Path(__file__).parent.parent / "crm" / "matching"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] in allowed, (source.name, name)
                if name.startswith("crm"):
                    assert name.startswith("crm.matching"), (source.name, name)


def test_the_index_is_built_once_and_rebuilt_after_a_catalogue_edit():
    first = get_matcher()
    assert get_matcher() is first
    entry = get_entry("CH-PA-03")
    entry.keywords = [*entry.keywords, "测试新关键词"]
    entry.version += 1
    db.session.commit()
    second = get_matcher()
    assert second is not first
    assert second.match("", "测试新关键词").entries[0].code == "CH-PA-03"


def test_matches_cached_for_an_old_catalogue_are_dropped_when_it_changes(make_enterprise):
    firm = make_enterprise(name="缓存测试企业有限公司", products="高强高模耐蚀铝合金")
    matching.match_enterprise(firm)
    old = id(matching.get_matcher())
    assert any(key[0] == old for key in matching._results)
    entry = get_entry("CH-PA-03")
    entry.keywords = [*entry.keywords, "缓存测试关键词"]
    entry.version += 1
    db.session.commit()
    matching.get_matcher()
    # Keyed by id(matcher): a later matcher may reuse a freed one's id and get its stale results.
    assert not any(key[0] == old for key in matching._results)


# ---------------------------------------------------------------- flask match


def test_match_cli_prints_one_json_object_per_row(runner, tmp_path):
    path = tmp_path / "firms.csv"
    path.write_text(
        "name,products,city\n甲铝业有限公司,工业铝型材、铝板带箔,龙口\n空企业,,x\n乙化学有限公司,MDI、聚醚多元醇,烟台\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["match", str(path), "--top", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # the summary is on stderr
    assert [line["name"] for line in lines] == ["甲铝业有限公司", "空企业", "乙化学有限公司"]
    first = lines[0]
    assert set(first) == {"name", "clusters", "sectors", "catalogue", "districts", "why"}
    assert first["clusters"][0]["name"] == "轻合金材料产业集群"  # the full name, as in map export
    assert len(first["catalogue"]) <= 2 and {"code", "product", "score"} <= set(first["catalogue"][0])
    scores = [c["score"] for c in first["clusters"]]
    assert scores == sorted(scores, reverse=True)
    assert lines[1]["clusters"] == lines[1]["catalogue"] == lines[1]["districts"] == []
    assert lines[2]["catalogue"][0]["code"].startswith("CH-PU")
    exported = json.loads(runner.invoke(args=["map", "export"]).output)
    assert first["clusters"][0]["name"] in json.dumps(exported, ensure_ascii=False)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("company,desc\nA,B\n", [], "CSV 表头缺少列：name、products"),
        (None, [], "找不到文件"),
        ("name,products\nA,B\n", ["--top", "0"], "--top 应为 1 到 1000 之间的整数"),
        ("name,products\nA,B\n", ["--top", "x"], "--top 应为 1 到 1000 之间的整数"),
    ],
)
def test_match_cli_errors_are_chinese(runner, tmp_path, content, args, message):
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["match", str(path), *args])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_match_cli_refuses_a_file_that_is_not_utf8(runner, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("name,products\n甲,铝型材\n".encode("gb18030"))
    result = runner.invoke(args=["match", str(path)])
    assert result.exit_code == 1 and "不是 UTF-8" in result.output


def test_match_reads_a_one_megabyte_products_cell(runner, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(
        "name,products\n大单元格公司," + "高强高模耐蚀铝合金、" * 100_000 + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["match", str(path), "--top", "1"])
    # Was: 错误：CSV 格式有误：field larger than field limit (131072)
    assert result.exit_code == 0, result.output
    assert '"code": "NF-AL-01"' in result.output


def test_match_of_a_directory_is_a_chinese_error(runner, tmp_path):
    result = runner.invoke(args=["match", str(tmp_path)])
    # Was click's "Error: Invalid value for 'FILE': File '…' is a directory." with status 2.
    assert result.exit_code == 1 and "这是一个目录" in result.output
    assert "Invalid value" not in result.output


# ---------------------------------------------------------------- pages


def test_enterprise_page_shows_matches_and_reasons(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(name="示例铝业有限公司", products="工业铝型材、高强高模耐蚀铝合金")
    page = client.get(f"/enterprises/{firm.id}").text
    assert "产业匹配" in page and "NF-AL-01" in page and "轻合金材料产业集群" in page and "匹配依据" in page


def test_lead_form_suggests_an_entry_and_a_district_accepted_with_one_click(
    client, login_as, make_enterprise
):
    login_as("officer")
    firm = make_enterprise(name="示例铝业有限公司", products="高强高模耐蚀铝合金")
    page = client.get(f"/leads/new/{firm.id}").text
    button = next(line for line in page.splitlines() if 'value="NF-AL-01"' in line and "采用" in line)
    assert 'name="adopt"' in button and 'form="lead-form"' in button
    # 「采用」 submits what was typed without saving: the entry and district are filled in place.
    prefilled = client.post(
        f"/leads/new/{firm.id}", data={"title": "铝合金扩产", "source": "以商招商", "adopt": "NF-AL-01"}
    ).text
    assert 'name="catalogue_code" type="text" value="NF-AL-01"' in prefilled
    assert "selected" in prefilled.split('name="district"')[1].split("</select>")[0]
    assert 'value="铝合金扩产"' in prefilled and '<option selected value="以商招商">' in prefilled
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_catalogue_entry_recommends_unworked_targets_within_scope(
    client, login_as, make_user, make_enterprise, make_lead
):
    worked = make_enterprise(name="已有线索铝业有限公司", products="高强高模耐蚀铝合金")
    fresh = make_enterprise(name="尚未跟进铝业有限公司", products="高强高模耐蚀铝合金")
    local = make_enterprise(
        name="本地培育铝业有限公司", products="高强高模耐蚀铝合金", kind="local", district="长寿区"
    )
    make_lead(worked, make_user("officer"), title="已有线索", source="展会")
    login_as("officer")
    block = client.get("/catalogue/NF-AL-01").text.split('data-testid="recommended"')[1]
    assert fresh.name in block and worked.name not in block and local.name not in block
    client.get("/logout")
    login_as("district", "涪陵区")  # sees neither firm (no district, no lead in 涪陵区)
    block = client.get("/catalogue/NF-AL-01").text.split('data-testid="recommended"')[1]
    assert fresh.name not in block


def test_gaps_report_lists_entries_nobody_works_on(client, login_as, make_user, make_enterprise, make_lead):
    officer = make_user("officer")
    firm = make_enterprise(name="空白测试企业有限公司", products="高强高模耐蚀铝合金")
    login_as("manager")
    page = client.get("/catalogue/gaps?cluster=LA").text
    section = page.split('data-testid="gaps-LA"')[1]
    assert "NF-AL-01 高强高模耐蚀铝合金" in section and firm.name in section
    make_lead(firm, officer, title="铝合金项目", source="展会", catalogue_code="NF-AL-01")
    section = client.get("/catalogue/gaps?cluster=LA").text.split('data-testid="gaps-LA"')[1]
    assert "NF-AL-01 高强高模耐蚀铝合金" not in section
    assert client.get("/catalogue/gaps?cluster=%00").status_code in (200, 400)
    assert db.session.scalar(select(db.func.count()).select_from(get_entry("NF-AL-01").__class__)) > 0


def test_gaps_with_an_unknown_cluster_says_so_and_lists_every_cluster(client, login_as):
    login_as("manager")
    page = client.get("/catalogue/gaps?cluster=XX").text
    # Was an empty page, which reads as "no gaps anywhere".
    assert "没有代码为“XX”的产业集群" in page
    assert 'data-testid="gaps-LA"' in page and 'data-testid="gaps-SM"' in page


def test_repeating_a_word_does_not_raise_the_score(matcher):
    once = matcher.match("", "工业铝型材").clusters[0].score
    assert matcher.match("", "工业铝型材、" * 50).clusters[0].score == once
