"""The industry map and catalogue hold everything the seed says — checked against the seed text itself.

The expected values here are read from the seed file at test time (专栏一, 专栏二, the text of
三(二), the targets) or come from tests/data/seed_products.yaml, an independent transcription of
二、重点方向 made without looking at crm/industry/data/. The seed is conftest's `seed_text`
($LIANZHAO_SEED, default ../shared/seed/…): without it the tests that read it are skipped and the
others still run.
"""

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from crm.extensions import db
from crm.industry.models import CatalogueEntry, Chain, Cluster, IndustryCategory, Product, Sector, Target
from crm.matching.terms import normalise
from crm.places.service import resolve_district

SEED_PRODUCTS = yaml.safe_load((Path(__file__).parent / "data/seed_products.yaml").read_text("utf-8"))

# DOMAIN.md: the verb decides the chain action.
VERB_CLASSES = {
    "强链": ("做大做强", "扩大", "夯实"),
    "补链": ("补齐", "短缺", "卡脖子"),
    "延链": ("延伸",),
    "育链": ("培育", "引育", "储备"),
}


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def names(districts) -> list[str]:
    return [d.name for d in districts]


@pytest.fixture(scope="module")
def flat_seed(seed_text) -> str:
    """The seed with all white space removed, for finding sentences across line breaks."""
    return flat(seed_text)


# ---- 专栏一: categories and sectors -------------------------------------------------------------


def _column_one(seed: str) -> list[list[str]]:
    lines = [line for line in seed.splitlines() if re.match(r"“(4|N)”指", line)]
    bodies = [line.split("：", 1)[1] if "：" in line else line.split("培育", 1)[1] for line in lines]
    return [re.sub(r"(等前沿新材料)?。$", "", body).split("、") for body in bodies]


def test_categories_and_sectors_are_those_of_column_one(seed_text):
    expected = _column_one(seed_text)
    assert len(expected) == 3 and sum(map(len, expected)) == 11
    tree = db.session.scalars(select(IndustryCategory).order_by(IndustryCategory.sort_order)).all()
    assert [c.system for c in tree] == ["4", "4", "N"]
    actual = [[s.seed_name or s.name for s in category.sectors] for category in tree]
    assert actual == expected
    assert db.session.scalar(select(func.count()).select_from(Sector)) == 11


def test_the_storage_sector_keeps_both_of_its_names(flat_seed):
    sector = db.session.scalar(select(Sector).where(Sector.code == "ES"))
    assert (sector.name, sector.seed_name) == ("新型储能材料", "储能材料")
    assert "4.新型储能材料。" in flat_seed and "、储能材料。" in flat_seed


# ---- 二、重点方向: every product direction -----------------------------------------------------


def _sector_terms(sector: Sector) -> set[str]:
    terms = set()
    for chain in sector.chains:
        terms |= {normalise(chain.name), normalise(chain.seed_term or chain.name)}
        for product in chain.products:
            terms |= {normalise(product.name), normalise(product.seed_term or product.name)}
            if product.seed_group:
                terms.add(normalise(product.seed_group))
    return terms


@pytest.mark.parametrize("sector_name", list(SEED_PRODUCTS))
def test_every_product_direction_of_the_seed_is_in_the_map(sector_name):
    sector = db.session.scalar(select(Sector).where(Sector.name == sector_name))
    missing = [item for item in SEED_PRODUCTS[sector_name] if normalise(item) not in _sector_terms(sector)]
    assert missing == []


def test_the_independent_transcription_is_itself_from_the_seed(flat_seed):
    for items in SEED_PRODUCTS.values():
        for item in items:
            assert flat(item) in flat_seed, item


def test_every_product_is_traceable_to_its_seed_sentence(flat_seed):
    for product in db.session.scalars(select(Product)):
        assert flat(product.source) in flat_seed, (product.code, product.source)
        assert flat(product.seed_term or product.name) in flat(product.source), product.code
        if product.seed_group:
            assert flat(product.seed_group) in flat_seed, product.code


def test_every_chain_is_from_the_seed_or_marked_added(flat_seed):
    for chain in db.session.scalars(select(Chain)):
        assert flat(chain.source) in flat_seed, chain.code
        if not chain.added:
            context = flat(chain.source) + flat(chain.sector.source)
            assert flat(chain.seed_term or chain.name) in context, chain.code


def test_each_entrys_verb_is_the_seeds_and_decides_its_action():
    for entry in db.session.scalars(select(CatalogueEntry)):
        context = flat(entry.product.source) + flat(entry.chain.source) + flat(entry.sector.source)
        context += flat(entry.sector.category.heading) + flat(entry.sector.category.source)
        for phrase in entry.verb.split("；"):
            pieces = [flat(p) for p in phrase.split("……") if p]
            position = 0
            for piece in pieces:  # "加快……产品开发": the pieces in order
                position = context.find(piece, position)
                assert position >= 0, (entry.code, phrase)
        # Both ways: the first of DOMAIN's words in the verb is the action, and there always is one.
        positions = [
            (entry.verb.find(w), a) for a, words in VERB_CLASSES.items() for w in words if w in entry.verb
        ]
        assert positions, (entry.code, entry.verb)
        assert min(positions)[1] == entry.action, (entry.code, entry.verb, entry.action)


def test_one_catalogue_entry_per_product_with_a_stable_code():
    products = db.session.scalars(select(Product)).all()
    entries = db.session.scalars(select(CatalogueEntry)).all()
    assert len(entries) == len(products) >= 240
    assert {e.code for e in entries} == {p.code for p in products}
    assert all(re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{2}-\d{2}", e.code) for e in entries)


def test_synonyms_reach_the_entries():
    pa66 = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "CH-PA-03"))
    assert {"PA—66", "PA66", "尼龙66", "聚酰胺66"} <= set(pa66.keywords)
    mdi = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "CH-PU-01"))
    assert "二苯基甲烷二异氰酸酯" in mdi.keywords
    # Longest match wins: 无取向硅钢 is not 取向硅钢, 聚碳酸酯 PC is not 碳酸酯.
    silicon = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "FE-SP-03"))
    assert "取向电工钢" not in silicon.keywords
    pc = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "CH-GR-03"))
    assert "碳酸二甲酯" not in pc.keywords
    # 聚丙烯酸酯树脂 contains 聚丙烯 but is not polypropylene.
    acrylate = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "CH-GR-08"))
    assert not {"PP", "PE", "聚丙烯", "高端聚烯烃"} & set(acrylate.keywords)


def test_ambiguous_abbreviations_are_not_synonyms():
    from crm.industry.service import DATA_DIR

    groups = yaml.safe_load((DATA_DIR / "synonyms.yaml").read_text("utf-8"))["synonyms"]
    terms = [str(t) for group in groups for t in group]
    for ambiguous in ("AA", "PO", "MMA", "电解液溶剂", "一体化压铸"):
        assert ambiguous not in terms, ambiguous
    assert len(terms) == len(set(terms)), "a term in two groups"


# ---- 专栏二 and 三(二): clusters ----------------------------------------------------------------


def _table_rows(seed: str) -> list[tuple[str, list[str]]]:
    start = seed.index("专栏二")
    rows = re.findall(r"^\d+\t(\S+产业集群)\t(.+)$", seed[start:], flags=re.M)
    return [(name, [d.strip() for d in body.strip().rstrip("等").split("、")]) for name, body in rows]


def test_key_clusters_and_their_districts_equal_column_two(seed_text):
    rows = _table_rows(seed_text)
    assert len(rows) == 8
    clusters = db.session.scalars(
        select(Cluster).where(Cluster.kind == "重点").order_by(Cluster.sort_order)
    ).all()
    assert [c.name for c in clusters] == [name for name, _ in rows]
    for cluster, (_, districts) in zip(clusters, rows, strict=True):
        assert names(cluster.districts) == [resolve_district(d).name for d in districts], cluster.name
        assert [m.seed_name for m in cluster.members if m.listed] == districts


def _text_of_section_three_two(seed: str) -> str:
    start = seed.index("(二) 实施重点产业集群建设工程")
    return flat(seed[start : seed.index("(责任单位", start)])


def _core_lists_from_text(seed: str) -> dict[str, list[str]]:
    found = {}
    # One clause per cluster: split at commas, full stops, and the 、 between two cluster clauses.
    for clause in re.split(r"[，。]|(?<=产业集群)、", _text_of_section_three_two(seed)):
        match = (
            re.search(r"以(.+)为(?:核心|依托)的(.+产业集群)$", clause)
            or re.fullmatch(r"支持(.+?)等区县打造(.+产业集群)", clause)
            or re.fullmatch(r"(?:鼓励)?(.+?)(?:等区县)?培育(.+特色材料产业集群)", clause)
        )
        if match:
            found[match.group(2)] = match.group(1).split("、")
    return found


def test_core_districts_and_feature_clusters_equal_the_text(seed_text):
    expected = _core_lists_from_text(seed_text)
    assert len(expected) == 13, sorted(expected)
    clusters = {c.text_name: c for c in db.session.scalars(select(Cluster))}
    assert set(clusters) == set(expected)
    for text_name, districts in expected.items():
        cluster = clusters[text_name]
        assert names(cluster.core_districts) == [resolve_district(d).name for d in districts], text_name
    features = [c for c in clusters.values() if c.kind == "特色"]
    assert sorted(c.short_name for c in features) == sorted(["气凝胶", "石墨烯", "锆盐", "钒盐", "陶瓷"])
    for cluster in features:
        assert names(cluster.districts) == names(cluster.core_districts)


def test_the_text_and_the_table_name_of_the_electronics_cluster_are_both_kept(seed_text):
    cluster = db.session.scalar(select(Cluster).where(Cluster.code == "EM"))
    assert cluster.name == "电子新材料产业集群" and cluster.text_name == "电子先进材料产业集群"
    assert cluster.name in seed_text and cluster.text_name in seed_text


def test_every_core_district_is_also_in_its_table_row():
    for cluster in db.session.scalars(select(Cluster).where(Cluster.kind == "重点")):
        assert set(names(cluster.core_districts)) <= set(names(cluster.districts)), cluster.name


# ---- 2027 targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "pattern"),
    [
        ("output_value", r"产值突破(\d+)亿元"),
        ("enterprises_10bn", r"百亿级先进材料企业达到(\d+)家以上"),
        ("enterprises_5bn", r"五十亿级先进材料企业达到(\d+)家以上"),
        ("listed_enterprises", r"上市企业达到(\d+)家以上"),
        ("municipal_innovation_centres", r"建成(\d+)个市级制造业创新中心"),
        ("testing_centres", r"(\d+)个新材料测试评价中心"),
        ("national_innovation_centre", r"力争建成(\d+)个国家级制造业创新中心"),
        ("national_clusters", r"形成(\d+)个全国重要的产业集群"),
        ("competitive_clusters", r"打造(\d+)个在细分行业具有较强竞争力的产业集群"),
        ("innovation_parks", r"打造(\d+)个先进材料协同创新示范产业园"),
    ],
)
def test_targets_equal_the_seed(flat_seed, code, pattern):
    target = db.session.scalar(select(Target).where(Target.code == code))
    assert target.value == int(re.search(pattern, flat_seed).group(1))
    assert flat(target.source) in flat_seed
    # 突破 is "more than"; 达到……以上, 建成, 形成, 打造 are "at least"; 力争 is an ambition.
    assert target.comparator == (">" if "突破" in pattern else ">=")
    assert target.ambition == ("力争" if "力争" in pattern else "目标")
