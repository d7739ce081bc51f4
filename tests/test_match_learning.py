"""Issue 18: the word lists and their sources, no silent no-match, the correction loop (judgements on
the enterprise page and the lead form → `flask match learn` → a manager's decision → the firm's
match), the evaluation command, and the 招商目标清单 of a cluster's gaps."""

import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.extensions import db
from crm.matching.matcher import NO_CLUSTER, NO_PROFILE, NO_TERMS, ClusterInfo, EntryInfo, Matcher
from crm.matching.vocabulary import VocabularyError, load_vocabulary
from crm.readmodels.learning import learn
from crm.readmodels.matching import match_enterprise
from crm.readmodels.models import MatchFeedback, MatchLearnRun, MatchProposal

# Invented product names no word list holds: what an officer's correction teaches.
NEW_WORD = "鑫隆一号料"
OTHER_WORD = "鑫隆二号料"


# ---------------------------------------------------------------- word lists


def test_every_group_of_the_word_lists_names_a_known_source_and_a_known_target(app):
    from crm.industry.service import all_clusters, catalogue_entries

    vocabulary = load_vocabulary()
    assert vocabulary.groups, "词表为空"
    chains = {e.chain.name for e in catalogue_entries(include_retired=False)}
    codes = {e.code for e in catalogue_entries(include_retired=False)}
    shorts = {c.short_name for c in all_clusters()}
    known = {"chains": chains, "clusters": shorts, "entries": codes}
    for group in vocabulary.groups:
        assert group.source in vocabulary.sources
        assert group.target in known[group.level], f"{group.file}：未知的{group.level}“{group.target}”"
        assert group.terms and all(t.strip() for t in group.terms)
    counted = vocabulary.counts()
    assert (
        sum(sum(c.values()) for c in counted.values())
        >= len({t for g in vocabulary.groups for t in g.terms}) * 0.5
    )
    assert all(("chains", chain) in counted for chain in chains), "每条产业链都应有行业用语"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("chains:\n  铝合金:\n    - terms: [铝锭]\n", "来源“None”未在 sources.yaml 中列出"),
        ("chains:\n  铝合金:\n    - from: NOPE\n      terms: [铝锭]\n", "来源“NOPE”"),
        ("chains:\n  铝合金:\n    - from: V1\n      terms: []\n", "没有词"),
        ("chains:\n  铝合金: [铝锭]\n", "应写成"),
        ("words: []\n", "无法识别的部分"),
        ("chains: [\n", "无法读取词表"),
    ],
)
def test_a_word_list_without_a_source_or_malformed_is_refused_in_chinese(tmp_path, content, message):
    (tmp_path / "sources.yaml").write_text("sources:\n  V1: 测试来源\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(VocabularyError, match=re.escape(message)):
        load_vocabulary(tmp_path)


# ---------------------------------------------------------------- no silent no-match


def test_a_firm_with_no_match_is_told_why():
    entries = [EntryInfo("A-1", "无取向硅钢", (), "优特钢", "钢铁", ("钢铁材料产业集群",))]
    loose = [EntryInfo("N-1", "新型纳米材料", (), "纳米材料", "未来材料", ())]
    clusters = [ClusterInfo("钢铁材料产业集群", "钢铁材料", ("长寿区",), ("长寿区",))]
    matcher = Matcher(entries + loose, clusters)
    assert matcher.match("某公司", "").why == [NO_PROFILE]
    nothing = matcher.match("某公司", "服装鞋帽、箱包")
    assert nothing.clusters == [] and nothing.entries == [] and nothing.why == [NO_TERMS]
    cityWide = matcher.match("某公司", "新型纳米材料")
    assert cityWide.clusters == [] and cityWide.entries[0].code == "N-1" and cityWide.why[-1] == NO_CLUSTER
    # 经营范围 alone is a profile (weaker than products, but not nothing).
    assert matcher.match("某公司", "", scope="无取向硅钢销售").clusters[0].name == "钢铁材料产业集群"


def test_match_command_reports_unmatched_firms_apart_and_keeps_its_fields(runner, tmp_path):
    path = tmp_path / "firms.csv"
    path.write_text(
        "name,products,scope\n甲铝业,工业铝型材,\n乙服装,服装鞋帽,\n丙空白,,\n丁范围,,有色金属压延加工；铝压延加工\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["match", str(path), "--top", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(line) for line in lines] == [
        {"name", "clusters", "sectors", "catalogue", "districts", "why"}
    ] * 4
    unmatched = {line["name"]: line for line in lines if not line["clusters"]}
    assert set(unmatched) == {"乙服装", "丙空白"}
    assert unmatched["乙服装"]["why"] == [NO_TERMS] and unmatched["丙空白"]["why"] == [NO_PROFILE]
    assert lines[3]["clusters"][0]["name"] == "轻合金材料产业集群"  # from the 经营范围 column
    # Standard error lists them apart, with their rows; standard output stays pure JSON lines.
    assert "未匹配到产业集群 2 家（共 4 家）" in result.stderr
    assert "第 3 行 乙服装" in result.stderr and "第 4 行 丙空白" in result.stderr


def test_pages_say_why_nothing_matched_and_offer_the_picker(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(name="无匹配测试有限公司", products="服装鞋帽、箱包")
    page = client.get(f"/enterprises/{firm.id}").text
    assert NO_TERMS in page and 'list="catalogue-entries"' in page and "指定该企业对应的目录条目" in page
    form = client.get(f"/leads/new/{firm.id}").text
    assert "系统未给出建议" in form and NO_TERMS in form and 'id="catalogue-entries"' in form


# ---------------------------------------------------------------- the correction loop


def _judge(client, firm, chosen, suggested=""):
    return client.post(
        f"/enterprises/{firm.id}/match-feedback", data={"chosen_code": chosen, "suggested_code": suggested}
    )


def _learnt(client, firm, chosen):
    """The officer (logged in on `client`) corrects `firm` to `chosen`; `match learn` runs; its one
    proposal."""
    _judge(client, firm, chosen)
    learn()
    db.session.commit()
    return db.session.scalars(select(MatchProposal)).one()


def test_a_correction_is_kept_learnt_accepted_and_changes_the_firms_match(
    client, client_of, login_as, make_user, make_enterprise, runner
):
    officer = login_as("officer", display_name="王专员")
    firm = make_enterprise(name="鑫隆材料有限公司", products=f"{NEW_WORD}、{OTHER_WORD}")
    assert match_enterprise(firm).entries == []

    response = _judge(client, firm, "nf-al-01")
    assert response.status_code == 302
    kept = db.session.scalars(select(MatchFeedback)).one()
    assert (kept.verdict, kept.suggested_code, kept.chosen_code) == ("更正", None, "NF-AL-01")
    assert kept.created_by_id == officer.id and kept.created_at is not None and NEW_WORD in kept.products
    page = client.get(f"/enterprises/{firm.id}").text
    assert "王专员 更正" in page and "NF-AL-01" in page

    result = runner.invoke(args=["match", "learn"])
    assert result.exit_code == 0, result.output
    assert f"“{NEW_WORD}” → NF-AL-01" in result.output and "全部采纳后" in result.output
    proposal = db.session.scalars(select(MatchProposal).where(MatchProposal.term == NEW_WORD)).one()
    assert proposal.status == "待审核" and proposal.support == 1 and proposal.evidence == [kept.id]
    # Proposed is not applied: the matcher still knows nothing of the word.
    db.session.expire_all()
    assert match_enterprise(firm).entries == []
    run = db.session.scalars(select(MatchLearnRun)).one()
    assert run.figures["before"]["agreed"] == 0 and run.figures["after"]["agreed"] == 1

    listing = client.get("/catalogue/learning").text
    assert NEW_WORD in listing and "鑫隆材料有限公司" in listing and "建议由经理审核" in listing
    assert client.post(f"/catalogue/learning/{proposal.id}/accept", data={"version": 1}).status_code == 403

    manager = client_of(make_user("manager"))
    assert "采纳" in manager.get("/catalogue/learning").text
    response = manager.post(f"/catalogue/learning/{proposal.id}/accept", data={"version": proposal.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MatchProposal, proposal.id).status == "已采纳"
    assert match_enterprise(firm).entries[0].code == "NF-AL-01"
    # The stored matches follow: the firm is now recommended for the entry (it has no lead).
    assert "鑫隆材料有限公司" in manager.get("/catalogue/NF-AL-01").text
    # Another run does not propose the accepted change again.
    again = runner.invoke(args=["match", "learn"])
    assert again.exit_code == 0, again.output
    assert (
        db.session.scalar(
            select(func.count()).select_from(MatchProposal).where(MatchProposal.term == NEW_WORD)
        )
        == 1
    )


def test_a_rejected_proposal_is_not_proposed_again_and_a_stale_decision_is_refused(
    client, client_of, login_as, make_user, make_enterprise
):
    login_as("officer")
    firm = make_enterprise(products=NEW_WORD)
    proposal = _learnt(client, firm, "NF-CU-01")
    manager = client_of(make_user("manager"))
    page = manager.post(
        f"/catalogue/learning/{proposal.id}/reject",
        data={"version": proposal.version + 5},
        follow_redirects=True,
    ).text
    assert "该建议刚被他人审核或更新" in page
    manager.post(f"/catalogue/learning/{proposal.id}/reject", data={"version": proposal.version})
    db.session.expire_all()
    assert db.session.get(MatchProposal, proposal.id).status == "已驳回"
    again = manager.post(
        f"/catalogue/learning/{proposal.id}/accept",
        data={"version": proposal.version},
        follow_redirects=True,
    ).text
    assert "该建议已驳回，不能采纳" in again
    learn()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(MatchProposal)) == 1
    assert match_enterprise(firm).entries == []


def test_terms_that_misled_two_firms_are_proposed_at_half_weight(client, login_as, make_enterprise):
    login_as("officer")
    firms = [make_enterprise(products="铝型材") for _ in range(2)]
    before = match_enterprise(firms[0])
    wrong = before.entries[0].code
    assert wrong.startswith("NF-AL")
    for firm in firms:
        assert _judge(client, firm, "NF-CU-01", wrong).status_code == 302
    learn()
    db.session.commit()
    weaken = db.session.scalars(select(MatchProposal).where(MatchProposal.kind == "降权")).all()
    assert [(p.term, p.level, p.target, p.factor, p.support) for p in weaken] == [
        ("铝型材", "chain", "铝合金", 0.5, 2)
    ]
    term = db.session.scalars(select(MatchProposal).where(MatchProposal.kind == "新增词")).one()
    assert (term.term, term.target, term.support) == ("铝型材", "NF-CU-01", 2)


def test_an_adoption_confirms_and_is_not_a_correction(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(products="高强高模耐蚀铝合金")
    top = match_enterprise(firm).entries[0].code
    _judge(client, firm, top, top)
    feedback = db.session.scalars(select(MatchFeedback)).one()
    assert feedback.verdict == "采用"
    report = learn()
    assert report.new == []


@pytest.mark.parametrize(
    ("chosen", "message"),
    [("", "请选择正确的目录条目"), ("ZZ-99", "招商目录中没有在用的条目“ZZ-99”"), ("X" * 17, "长度")],
)
def test_a_bad_correction_gets_a_chinese_message_beside_the_field_and_keeps_nothing(
    client, login_as, make_enterprise, chosen, message
):
    login_as("officer")
    firm = make_enterprise(products=NEW_WORD)
    response = _judge(client, firm, chosen)
    assert response.status_code == 400
    assert message in response.text and "invalid-feedback" in response.text
    if chosen:
        assert f'value="{chosen}"' in response.text  # what was typed comes back
    assert db.session.scalar(select(func.count()).select_from(MatchFeedback)) == 0


def test_who_may_judge_and_decide(client, login_as, make_enterprise, make_user, client_of):
    firm = make_enterprise(products=NEW_WORD, district="涪陵区")
    login_as("district", "涪陵区")
    assert _judge(client, firm, "NF-AL-01").status_code == 403
    assert client.get("/catalogue/learning").status_code == 403
    assert "匹配学习" not in client.get("/catalogue").text
    admin = client_of(make_user("admin"))
    assert admin.get("/catalogue/learning").status_code == 403
    officer = client_of(make_user("officer"))
    assert (
        officer.post("/enterprises/999999/match-feedback", data={"chosen_code": "NF-AL-01"}).status_code
        == 404
    )
    assert officer.post("/catalogue/learning/1/accept").status_code == 403
    assert client_of(make_user("manager")).post("/catalogue/learning/999/accept").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(MatchFeedback)) == 0


def test_the_lead_form_records_an_adoption_or_a_correction(client, login_as, make_enterprise):
    owner = login_as("officer")
    firm = make_enterprise(products="高强高模耐蚀铝合金、工业铝型材")
    shown = match_enterprise(firm).entries[0].code
    form = client.get(f"/leads/new/{firm.id}").text
    assert "建议都不对时" in form
    client.post(
        f"/leads/new/{firm.id}", data={"title": "采用建议", "source": "展会", "catalogue_code": shown}
    )
    client.post(
        f"/leads/new/{firm.id}", data={"title": "另选条目", "source": "展会", "catalogue_code": "NF-CU-01"}
    )
    second = match_enterprise(firm).entries[1].code
    client.post(
        f"/leads/new/{firm.id}", data={"title": "第二条建议", "source": "展会", "catalogue_code": second}
    )
    client.post(f"/leads/new/{firm.id}", data={"title": "未选条目", "source": "展会"})
    rows = db.session.scalars(select(MatchFeedback).order_by(MatchFeedback.id)).all()
    # Only the best suggestion is adopted; a lower one chosen corrects the best.
    assert [(r.verdict, r.suggested_code, r.chosen_code) for r in rows] == [
        ("采用", shown, shown),
        ("更正", shown, "NF-CU-01"),
        ("更正", shown, second),
    ]
    assert all(r.lead_id is not None and r.created_by_id == owner.id for r in rows)


def test_evaluate_and_vocabulary_commands(runner, tmp_path):
    result = runner.invoke(args=["match", "evaluate"])
    assert result.exit_code == 0, result.output
    assert re.search(r"评测集 \d+ 家：top-1 [\d.]+%，top-3 [\d.]+%，未匹配 \d+ 家", result.output)
    assert "轻合金\t" in result.output
    small = tmp_path / "eval.yaml"
    small.write_text(
        "firms:\n  - {name: 甲, products: 工业铝型材, clusters: [轻合金]}\n"
        "  - {name: 乙, products: 服装, clusters: [轻合金]}\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["match", "evaluate", str(small)])
    assert "评测集 2 家：top-1 50.0%，top-3 50.0%，未匹配 1 家" in result.output
    assert "乙：标注 轻合金，匹配 （无）" in result.output
    for firm in ("{name: 甲}", "{name: 甲, products: 铝, clusters: []}", "{name: 甲, clusters: [火星]}"):
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"firms: [{firm}]\n", encoding="utf-8")
        result = runner.invoke(args=["match", "evaluate", str(bad)])
        assert (
            result.exit_code == 1 and "第 1 家企业（甲）的 clusters 应为非空的集群简称列表" in result.output
        )
        assert "Traceback" not in result.output
    result = runner.invoke(args=["match", "vocabulary"])
    assert result.exit_code == 0 and "产业链\t铝合金\t" in result.output and "GB4754：" in result.output


# ---------------------------------------------------------------- 招商目标清单


def test_a_clusters_target_list_ranks_unworked_firms_for_each_gap_with_the_reason(
    client, login_as, make_enterprise, make_lead
):
    strong = make_enterprise(name="甲高强铝合金有限公司", products="高强高模耐蚀铝合金、航空铝合金厚板")
    weak = make_enterprise(name="乙铝合金有限公司", products="高强高模耐蚀铝合金")
    worked = make_enterprise(name="丙铝合金有限公司", products="高强高模耐蚀铝合金")
    make_lead(enterprise=worked)  # a lead, but on no entry: the firm is worked, the gap stays a gap
    local = make_enterprise(
        name="丁本地铝合金有限公司", products="高强高模耐蚀铝合金", kind="local", district="涪陵区"
    )
    login_as("officer")
    page = client.get("/catalogue/gaps").text
    assert "/catalogue/gaps/LA/targets.xlsx" in page
    response = client.get("/catalogue/gaps/LA/targets.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("空白环节代码", "产品方向", "产业链") and "推荐理由" in header
    firms = [r for r in rows[1:] if r[0] == "NF-AL-01"]
    names = [r[header.index("企业名称")] for r in firms]
    assert names[:2] == [strong.name, weak.name]
    assert worked.name not in names and local.name not in names
    assert [r[header.index("推荐排名")] for r in firms[:2]] == [1, 2]
    assert "高强高模耐蚀铝合金" in firms[0][header.index("推荐理由")]
    # A gap no firm fits is listed too, to be searched for outside.
    assert any(r[header.index("推荐理由")] == "企业库中暂无匹配企业，需外出寻找目标" for r in rows[1:])
    assert client.get("/catalogue/gaps/XX/targets.xlsx").status_code == 404


def test_a_district_users_target_list_holds_only_firms_it_may_see(client, login_as, make_enterprise):
    mine = make_enterprise(name="涪陵铝合金甲有限公司", products="高强高模耐蚀铝合金", district="涪陵区")
    other = make_enterprise(name="长寿铝合金乙有限公司", products="高强高模耐蚀铝合金", district="长寿区")
    login_as("district", "涪陵区")
    response = client.get("/catalogue/gaps/LA/targets.xlsx")
    assert response.status_code == 200
    text = " ".join(
        str(c)
        for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
        for c in row
    )
    assert mine.name in text and other.name not in text


def test_a_bad_evaluation_file_is_said_on_the_page_and_by_learn(app, client_of, make_user, runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("firms: [{name: 甲, products: 铝, clusters: []}]\n", encoding="utf-8")
    app.config["MATCH_EVAL_FILE"] = str(bad)
    try:
        page = client_of(make_user("manager")).get("/catalogue/learning")
        assert page.status_code == 200 and "clusters 应为非空的集群简称列表" in page.text
        result = runner.invoke(args=["match", "learn"])
        assert result.exit_code == 1 and "clusters 应为非空的集群简称列表" in result.output
        assert db.session.scalar(select(func.count()).select_from(MatchLearnRun)) == 0
    finally:
        app.config["MATCH_EVAL_FILE"] = None


def test_a_tick_on_a_lower_suggestion_corrects_the_best(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(products="高强高模耐蚀铝合金、工业铝型材")
    first, second = [e.code for e in match_enterprise(firm).entries[:2]]
    page = client.get(f"/enterprises/{firm.id}").text
    assert page.count(f'name="suggested_code" value="{first}"') >= 2  # every tick names the best
    _judge(client, firm, second, first)
    row = db.session.scalars(select(MatchFeedback)).one()
    assert (row.verdict, row.suggested_code, row.chosen_code) == ("更正", first, second)


def test_an_accepted_change_can_be_revoked_and_is_not_proposed_again(
    client, client_of, login_as, make_user, make_enterprise
):
    login_as("officer")
    firm = make_enterprise(products=NEW_WORD)
    proposal = _learnt(client, firm, "NF-AL-01")
    manager = client_of(make_user("manager"))
    manager.post(f"/catalogue/learning/{proposal.id}/accept", data={"version": proposal.version})
    db.session.expire_all()
    assert match_enterprise(firm).entries[0].code == "NF-AL-01"
    assert (
        manager.post(
            f"/catalogue/learning/{proposal.id}/reject",
            data={"version": proposal.version},
            follow_redirects=True,
        ).text.count("该建议已采纳，不能驳回")
        == 1
    )
    page = manager.get("/catalogue/learning").text
    assert f'data-testid="decided-{proposal.id}"' in page and "撤销" in page
    manager.post(f"/catalogue/learning/{proposal.id}/revoke", data={"version": proposal.version})
    db.session.expire_all()
    assert db.session.get(MatchProposal, proposal.id).status == "已撤销"
    assert match_enterprise(firm).entries == []  # out of the matcher again
    learn()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(MatchProposal)) == 1


def test_merged_records_are_one_firm_and_stale_or_generic_proposals_go(
    client, login_as, make_enterprise, make_user
):
    from crm.merge.service import merge_enterprises

    login_as("officer")
    kept = make_enterprise(name="甲鑫隆有限公司", products=f"{NEW_WORD}、新材料、技术服务")
    absorbed = make_enterprise(name="甲鑫隆（老）有限公司", products=NEW_WORD, confirm_duplicate=True)
    _judge(client, kept, "NF-AL-01")
    _judge(client, absorbed, "NF-AL-01")
    merge_enterprises(kept, absorbed, make_user("manager"))
    db.session.commit()
    learn()
    db.session.commit()
    proposals = db.session.scalars(select(MatchProposal)).all()
    assert [(p.term, p.support) for p in proposals] == [(NEW_WORD, 1)]  # 新材料, 技术服务: no product
    page = client.get(f"/enterprises/{kept.id}").text
    assert page.count("更正") >= 2  # the absorbed record's judgement shows on the kept firm
    # The entry retired: the pending proposal is no longer supported, and goes.
    from crm.industry.catalogue import get_entry

    entry = get_entry("NF-AL-01")
    entry.retired, entry.version = True, entry.version + 1  # as `map load` retires an entry
    db.session.commit()
    report = learn()
    db.session.commit()
    assert report.stale == 1 and db.session.scalar(select(func.count()).select_from(MatchProposal)) == 0


def test_ticked_proposals_are_decided_together_or_not_at_all(
    client, client_of, login_as, make_user, make_enterprise
):
    login_as("officer")
    _judge(client, make_enterprise(products=NEW_WORD), "NF-AL-01")
    _judge(client, make_enterprise(products=OTHER_WORD), "NF-CU-01")
    learn()
    db.session.commit()
    first, second = db.session.scalars(select(MatchProposal).order_by(MatchProposal.id)).all()
    manager = client_of(make_user("manager"))
    assert 'form="bulk"' in manager.get("/catalogue/learning").text
    stale = {
        "action": "accept",
        "ids": [first.id, second.id],
        f"version-{first.id}": 1,
        f"version-{second.id}": 9,
    }
    page = manager.post("/catalogue/learning/decide", data=stale, follow_redirects=True).text
    assert f"建议 #{second.id}：该建议刚被他人审核或更新" in page and "本次勾选的建议均未处理" in page
    db.session.expire_all()
    assert {p.status for p in db.session.scalars(select(MatchProposal))} == {"待审核"}
    page = manager.post("/catalogue/learning/decide", data={"action": "accept"}, follow_redirects=True).text
    assert "请先勾选要审核的建议" in page
    fresh = {
        "action": "accept",
        "ids": [first.id, second.id],
        f"version-{first.id}": 1,
        f"version-{second.id}": 1,
    }
    page = manager.post("/catalogue/learning/decide", data=fresh, follow_redirects=True).text
    assert "已采纳 2 条建议" in page
    db.session.expire_all()
    assert {p.status for p in db.session.scalars(select(MatchProposal))} == {"已采纳"}
    assert manager.post("/catalogue/learning/decide", data={"action": "explode"}).status_code == 400
    assert manager.post(f"/catalogue/learning/{first.id}/explode").status_code == 404
    assert client.post("/catalogue/learning/decide", data=fresh).status_code == 403  # an officer
