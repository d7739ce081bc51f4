"""Deterministic, realistic demo data: enterprises across every sector, leads in every stage across
the clusters and most districts, follow-ups over the last 12 weeks, signed projects.

Names are invented (brand syllables + an industry word); people are 张经理-style placeholders.
"""

import random
from datetime import timedelta

from sqlalchemy import func, select

from crm.auth.models import MANAGER, OFFICER, User
from crm.core.timeutil import local_moment, today_local
from crm.enterprises.credit_code import ALPHABET, check_character
from crm.enterprises.models import HONOURS, OWNERSHIPS, Enterprise
from crm.enterprises.service import EnterpriseError, add_contact, create_enterprise
from crm.events.models import EventKind
from crm.events.service import create_event, link_enterprise
from crm.extensions import db
from crm.industry.service import catalogue_entries
from crm.leads.models import IN_PROGRESS, LOST_REASONS, OPEN, SOURCES, Lead, LeadStage
from crm.leads.service import add_follow_up, create_lead, move_lead, sign_lead
from crm.places.service import active_divisions, all_districts
from crm.projects.funds import add_entry, review_entry, set_plan
from crm.projects.models import (
    BEHIND,
    MILESTONES,
    ON_TRACK,
    STALLED,
    TERMINATED,
    TERMINATION_REASONS,
    ProjectUpdate,
)
from crm.projects.service import add_update, edit_values, update_project
from crm.readmodels.learning import learn, record_feedback
from crm.readmodels.matching import match_enterprise
from crm.supervision.handovers import accept, add_record, hand_over
from crm.supervision.items import close_item, create_item, reply_to
from crm.supervision.models import RecordKind

SEED = 2027
# Known on purpose: the demo accounts (and the scale data's officers) exist only in demo databases,
# and the README lists them.
DEMO_PASSWORD = "lianzhao-demo"
BRANDS = "华 峰 鑫 泰 宏 盛 嘉 恒 瑞 丰 远 达 博 科 创 新 源 锦 隆 辉 晟 祥 铭 润 凯 腾 宇 航 骏 昊".split()
PLACES = [
    "浙江",
    "江苏",
    "广东",
    "山东",
    "四川",
    "上海",
    "北京",
    "福建",
    "湖北",
    "安徽",
    "河南",
    "辽宁",
    "陕西",
]
HQ_CITIES = {
    "浙江": "宁波",
    "江苏": "苏州",
    "广东": "深圳",
    "山东": "淄博",
    "四川": "成都",
    "上海": "上海",
    "北京": "北京",
    "福建": "厦门",
    "湖北": "武汉",
    "安徽": "合肥",
    "河南": "洛阳",
    "辽宁": "大连",
    "陕西": "西安",
}
REGION_CODES = {
    "浙江": "330200",
    "江苏": "320500",
    "广东": "440300",
    "山东": "370300",
    "四川": "510100",
    "上海": "310000",
    "北京": "110000",
    "福建": "350200",
    "湖北": "420100",
    "安徽": "340100",
    "河南": "410300",
    "辽宁": "210200",
    "陕西": "610100",
    "重庆": "500000",
}
SURNAMES = "张 王 李 赵 刘 陈 杨 黄 周 吴 徐 孙 马 朱 胡 郭 何 林 罗 高".split()
PROJECT_KINDS = ["新建", "扩产", "技改", "区域总部"]
TITLES = ["董事长", "总经理", "投资总监", "战略发展部部长", "副总裁"]


def _credit_code(rng: random.Random, province: str) -> str:
    body = "91" + REGION_CODES[province] + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def load_demo_data(today=None) -> dict[str, int]:
    """Create the demo enterprises, leads, follow-ups and projects once; returns what was created."""
    if db.session.scalar(select(func.count()).select_from(Enterprise)):
        return {}
    today = today or today_local()
    rng = random.Random(SEED)
    officers = list(
        db.session.scalars(select(User).where(User.role.in_((OFFICER, MANAGER))).order_by(User.id))
    )
    if not officers:
        return {}
    created = {"enterprises": 0, "leads": 0, "follow_ups": 0, "projects": 0}
    signed_in: dict[int, int] = {}  # cluster id → signed leads so far
    entries = list(catalogue_entries(include_retired=False))
    all_places = all_districts()
    stage_plan = (
        [LeadStage.LEAD] * 5
        + [LeadStage.FIRST_CONTACT] * 4
        + [LeadStage.SITE_VISIT] * 3
        + [LeadStage.NEGOTIATION] * 3
        + [LeadStage.SIGNED] * 5
        + [LeadStage.DORMANT, LeadStage.LOST]
    )
    for index, entry in enumerate(entries):
        for copy in range(1 if index % 3 else 2):
            local = rng.random() < 0.2 and entry.suitable_districts()
            province = "重庆" if local else rng.choice(PLACES)
            brand = "".join(rng.sample(BRANDS, 2))  # two different syllables: 华峰, never 恒恒
            # A whole word in the name: the product when short, else its chain (never a cut title).
            title = entry.title.replace(" ", "").replace("—", "")
            word = title if len(title) <= 8 else entry.chain.name
            name = f"{'重庆' if local else province}{brand}{word}{'科技' if copy else ''}有限公司"
            district = rng.choice(entry.suitable_districts()[:4]).name if local else None
            revenue = rng.choice([None, 30_000, 120_000, 260_000, 560_000, 1_300_000, 2_800_000])
            raw = {
                "name": name,
                "kind": "local" if local else "target",
                "credit_code": _credit_code(rng, province),
                "ownership": rng.choice(OWNERSHIPS),
                "hq_province": "重庆" if local else province,
                "hq_city": "重庆" if local else HQ_CITIES[province],
                "district": district,
                "revenue_wan": revenue,
                "honours": rng.sample(HONOURS, rng.choice([0, 0, 1, 2])),
                "products": "、".join(entry.keywords[:3]) + f"；{entry.chain.name}相关产品",
                "catalogue_codes": [entry.code],
            }
            if revenue and revenue >= 1_000_000 and rng.random() < 0.5:
                raw["listed_exchange"], raw["listed_code"] = (
                    rng.choice(["上交所", "深交所"]),
                    str(rng.randint(600000, 603999)),
                )
            try:
                firm = create_enterprise(raw, confirm_duplicate=True)
            except EnterpriseError:
                db.session.rollback()
                continue
            created["enterprises"] += 1
            add_contact(
                firm,
                {
                    "name": rng.choice(SURNAMES) + "经理",
                    "title": rng.choice(TITLES),
                    "phone": f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}",
                },
            )
            if rng.random() > 0.6:
                continue
            stage = rng.choice(stage_plan)
            # Every key cluster gets a few signed projects, so its brief and rates show something.
            thin = [c for c in entry.clusters if c.kind == "重点" and signed_in.get(c.id, 0) < 4]
            place = None
            if thin:
                stage = LeadStage.SIGNED
                # Round the cluster's districts, so its projects are spread over several of them.
                members = thin[0].districts
                place = members[signed_in.get(thin[0].id, 0) % len(members)]
            if stage == LeadStage.SIGNED:
                for cluster in entry.clusters:
                    signed_in[cluster.id] = signed_in.get(cluster.id, 0) + 1
            _demo_lead(rng, firm, entry, rng.choice(officers), stage, today, created, all_places, place)
        if index % 40 == 0:
            db.session.flush()
    created["events"] = _demo_events(random.Random(SEED + 1), today, officers)
    created["items"], created["handovers"] = _demo_supervision(random.Random(SEED + 2), today)
    created["judgements"] = _demo_judgements(officers)
    return created


# Firms written in trade words the lists did not know when the demo was made, and the entry an
# officer says is right: `flask match learn` has something to propose on 匹配学习.
DEMO_CORRECTIONS = (
    ("江苏瓷芯电子材料有限公司", "江苏", "低温共烧陶瓷生瓷带、LTCC基板", "SF-SN-02"),
    ("浙江联芯键合材料有限公司", "浙江", "半导体封装用键合铜线", "NF-CU-03"),
    ("内蒙古稀光抛光材料有限公司", "内蒙古", "稀土抛光粉、铈基抛光液", "CH-IS-02"),
)


def _demo_judgements(officers: list[User]) -> int:
    """Three corrections of firms the lists misread and two adoptions, by the demo officer, then
    one learning run (its proposals wait for the demo manager on 匹配学习)."""
    officer = next((u for u in officers if u.role == OFFICER), officers[0])
    count = 0
    for name, province, products, code in DEMO_CORRECTIONS:
        firm = create_enterprise(
            {"name": name, "kind": "target", "hq_province": province, "products": products},
            confirm_duplicate=True,
        )
        db.session.flush()
        shown = match_enterprise(firm).entries
        record_feedback(firm, officer, code, shown[0].code if shown else None)
        count += 1
    adopted = db.session.scalars(
        select(Enterprise).where(Enterprise.kind == "target").order_by(Enterprise.id).limit(2)
    ).all()
    for firm in adopted:
        shown = match_enterprise(firm).entries
        if shown:
            record_feedback(firm, officer, shown[0].code, shown[0].code)
            count += 1
    db.session.flush()
    learn()
    return count


def _demo_lead(rng, firm, entry, owner, stage, today, created, all_places, place=None) -> None:
    # Mostly a district the entry suits; now and then another one, as real leads do.
    districts = entry.suitable_districts() if rng.random() < 0.8 else []
    districts = [place] if place else districts or all_places
    lead = create_lead(
        firm,
        {
            "title": f"{firm.name.removesuffix('有限公司')}{rng.choice(PROJECT_KINDS)}项目",
            "source": rng.choice(SOURCES),
            "catalogue_code": entry.code,
            "district": rng.choice(districts).name,
            "intended_investment_wan": rng.choice([20_000, 50_000, 80_000, 150_000, 300_000, 600_000]),
        },
        owner,
    )
    created["leads"] += 1
    # A signed lead was worked before its signing (over the last 2¾ years: the plan runs from 2023,
    # so every project stage can be reached); the others started in the last twelve weeks.
    signed_on = today - timedelta(days=rng.randint(10, 1000)) if stage == LeadStage.SIGNED else None
    start = (
        signed_on - timedelta(days=rng.randint(40, 60))
        if signed_on
        else today - timedelta(days=rng.randint(0, 84))
    )
    # Logged the day of its first contact, so each week of the last twelve has its new leads.
    lead.created_at = local_moment(start, 9, 30)
    # The contacts a lead at this stage has had, in the order they happen: a 线索 has had a call, a
    # lead in 商务洽谈 (or signed) every step to the talks on the agreement.
    steps = CONTACT_STEPS[: STEPS_BY_STAGE.get(stage) or rng.randint(1, 2)]
    day = start
    for kind, notes in steps:
        add_follow_up(
            lead,
            {
                "occurred_on": min(day, signed_on or today),
                "kind": kind,
                "participants": f"{owner.display_name}、{firm.contacts[0].name}",
                "notes": notes,
            },
            owner,
            today=today,
        )
        created["follow_ups"] += 1
        day += timedelta(days=rng.randint(3, 12))
    path = list(IN_PROGRESS[1:])  # 初步接洽 → 商务洽谈, through the gates
    target = stage if stage in path else (LeadStage.NEGOTIATION if stage == LeadStage.SIGNED else None)
    for step in path[: path.index(target) + 1] if target else []:
        move_lead(lead, step, owner)
    if stage == LeadStage.SIGNED:
        project = sign_lead(
            lead,
            {
                "signed_on": signed_on,
                "agreed_investment_wan": lead.intended_investment_wan,
            },
            owner,
            today=today,
        )
        _demo_project(rng, project, owner, today)
        created["projects"] += 1
    elif stage == LeadStage.DORMANT:
        move_lead(lead, LeadStage.DORMANT, owner, note="企业暂缓投资计划")
    elif stage == LeadStage.LOST:
        move_lead(lead, LeadStage.LOST, owner, lost_reason=rng.choice(LOST_REASONS))
    if lead.stage in OPEN:
        # Some follow-ups are due or overdue, so 我的待办 and the warnings have something to show.
        lead.next_follow_up_on = today + timedelta(days=rng.randint(-10, 21))


# A lead's contacts in the order they happen, and how many a lead at each stage has had (搁置 and 流失:
# one or two, drawn).
CONTACT_STEPS = (
    ("电话", "电话联系，介绍重庆产业配套与要素保障"),
    ("拜访", "上门拜访，企业介绍扩产计划和选址要求"),
    ("实地考察", "陪同企业考察园区与意向地块"),
    ("会议", "商谈投资协议主要条款"),
)
STEPS_BY_STAGE = {
    LeadStage.LEAD: 1,
    LeadStage.FIRST_CONTACT: 2,
    LeadStage.SITE_VISIT: 3,
    LeadStage.NEGOTIATION: 4,
    LeadStage.SIGNED: 4,
}


# What a demo project's history shows: a health state to end in (weights as in a real portfolio).
PROFILES = [ON_TRACK] * 5 + [BEHIND] * 3 + [STALLED] * 2 + [TERMINATED]
UPDATE_NOTES = {
    "注册": "项目公司完成工商注册",
    "供地": "完成土地摘牌，签订出让合同",
    "开工": "举行开工仪式，主体厂房开始施工",
    "竣工": "主体工程竣工验收",
    "投产": "首条产线投产试运行",
    "达产": "产线全面达产",
}


def _demo_project(rng, project, owner, today) -> None:
    """Plans and a history of updates ending in one health state: reported by the district's own
    staff where a demo account exists, else by the officer who signed it."""
    reporter = (
        db.session.scalar(select(User).where(User.district_id == project.district_id, User.active.is_(True)))
        or owner
    )
    profile = rng.choice(PROFILES)
    # Plan: each milestone 60–200 days after the previous one.
    planned, day = {}, project.signed_on
    for stage in MILESTONES:
        day = day + timedelta(days=rng.randint(60, 200))
        planned[stage] = day
    # Reach the milestones whose (slightly shifted) actual date is already past.
    last = project.signed_on
    reached = []
    for stage in MILESTONES:
        actual = planned[stage] + timedelta(days=rng.randint(-10, 15))
        if actual >= today - timedelta(days=3) or (profile == TERMINATED and len(reached) >= 2):
            break
        reached.append((stage, max(actual, last)))
        last = max(actual, last)
    upcoming = [stage for stage in MILESTONES if stage not in dict(reached)]
    # Shape the plan of what is still ahead so the project ends in its profile's health.
    if upcoming:
        first = upcoming[0]
        if profile == BEHIND:
            shift = (today - timedelta(days=rng.randint(5, 40))) - planned[first]
        else:
            shift = (today + timedelta(days=rng.randint(10, 60))) - planned[first]
        for stage in upcoming:
            planned[stage] = planned[stage] + shift
    previous = project.signed_on
    for stage in MILESTONES:  # plans stay in order, whatever the shift did
        planned[stage] = previous = max(planned[stage], previous)
    values = edit_values(project)
    values.update({f"planned_{stage}": day.isoformat() for stage, day in planned.items()})
    values["expected_output_wan"] = project.agreed_investment_wan * rng.choice([1, 2, 3])
    values["expected_jobs"] = rng.choice([80, 150, 300, 600])
    update_project(project, values, project.version)
    agreed = project.agreed_investment_wan
    # This year's funds plan, the base of 资金到位率 where the 口径 counts against the plan.
    set_plan(project, today.year, agreed * rng.choice([20, 30, 40]) // 100)
    for stage, actual in reached:
        add_update(
            project,
            {
                "reported_on": actual,
                "stage_reached": stage,
                "stage_reached_on": actual,
                "note": UPDATE_NOTES[stage],
            },
            reporter,
            today=today,
        )
        _demo_funds(rng, project, reporter, actual, agreed * rng.choice([5, 10, 15]) // 100, today)
    if profile == TERMINATED:
        add_update(
            project,
            {
                "reported_on": today - timedelta(days=rng.randint(1, 30)),
                "stage_reached": TERMINATED,
                "termination_reason": rng.choice(TERMINATION_REASONS),
                "note": "企业调整投资计划，经协商解除投资协议",
            },
            reporter,
            today=today,
        )
        return
    if profile == STALLED:
        quiet_since = today - timedelta(days=rng.randint(20, 60))
        if quiet_since > max(last, project.signed_on):
            add_update(
                project, {"reported_on": quiet_since, "note": "按计划推进前期工作"}, reporter, today=today
            )
        return
    latest = add_update(
        project,
        {
            "reported_on": today - timedelta(days=rng.randint(0, 9)),
            "note": "本月资金按计划到位，项目推进正常",
            "issues": rng.choice(["", "", "需协调施工用电增容", "需协调环评批复进度"]),
        },
        reporter,
        today=today,
    )
    entry = _demo_funds(
        rng, project, reporter, latest.reported_on, agreed * rng.choice([2, 4, 6]) // 100, today
    )
    if project.id % 5 == 0 and entry is not None:
        # Now and then a figure was mistyped and corrected: the ledger keeps both.
        add_entry(
            project,
            {
                "amount_wan": entry.amount_wan // 2,
                "arrived_on": entry.arrived_on,
                "source_region": entry.source_region,
                "kind": entry.kind,
                "evidence_type": entry.evidence_type,
                "corrects_id": entry.id,
                "note": "更正：按银行回单核减",
            },
            reporter,
            today=today,
        )


# Where demo money comes from, weighted roughly as a city's 招商 ledger is.
DEMO_SOURCES = ["国内省外"] * 5 + ["市外省内"] * 2 + ["境外", "港澳台", "市内区县外", "区县内"]


def _demo_funds(rng, project, reporter, day, amount, today):
    """An arrival of money on the ledger; the bureau has verified most of the older ones and
    refused one now and then."""
    if amount <= 0:
        return None
    entry = add_entry(
        project,
        {
            "amount_wan": amount,
            "arrived_on": day,
            "source_region": rng.choice(DEMO_SOURCES),
            "kind": "固定资产投资" if rng.random() < 0.8 else "其他",
            "evidence_type": rng.choice(["银行进账单", "银行进账单", "验资报告", "设备清单"]),
        },
        reporter,
        today=today,
    )
    reviewer = db.session.scalar(select(User).where(User.role == MANAGER).order_by(User.id))
    if reviewer is not None and (today - day).days > 30:
        verdict = rng.choice(["已核实"] * 6 + ["不予认定"])
        reason = "凭证与到账记录不符，请补充银行进账单" if verdict == "不予认定" else "凭证齐全"
        review_entry(entry, {"review": verdict, "review_reason": reason}, reviewer, entry.version)
    return entry


# What a week of 招商活动 looks like: a few outings and visits, a fair or a promotion now and then,
# and the publicity that reports them; (kind, title pattern, place).
EVENT_PLAN = (
    (EventKind.OUTBOUND, "赴{city}开展先进材料产业链招商", "{city}"),
    (EventKind.INBOUND, "{city}客商来渝考察新材料园区", "{district}"),
    (EventKind.PROMOTION, "重庆先进材料产业投资推介会（{city}站）", "{city}"),
    (EventKind.FAIR, "参加中国国际新材料产业博览会", "{city}"),
    (EventKind.SIGNING, "先进材料重点项目集中签约仪式", "{district}"),
    (EventKind.PUBLICITY, "新材料招商成果媒体宣传报道", "重庆日报"),
)


def _demo_events(rng: random.Random, today, staff: list[User]) -> int:
    """Events over the last fourteen weeks, organised by the divisions and by the districts that
    have leads, each meeting a firm or two with a lead intending the organiser's district (or, for a
    division, any lead its staff own)."""
    divisions = active_divisions()
    leads = list(db.session.scalars(select(Lead).order_by(Lead.id)))
    districts = sorted(
        {lead.intended_district for lead in leads if lead.intended_district}, key=lambda d: d.id
    )
    if not (divisions and districts and staff):
        return 0
    made = 0
    for weeks_ago in range(14):
        monday = today - timedelta(days=today.weekday() + 7 * weeks_ago)
        for _ in range(rng.randint(2, 6)):
            kind, title, place = rng.choice(EVENT_PLAN)
            by_division = rng.random() < 0.5
            division = rng.choice(divisions) if by_division else None
            district = None if by_division else rng.choice(districts)
            city = HQ_CITIES[rng.choice(PLACES)]
            where = district.name if district else rng.choice(districts).name
            held_on = min(monday + timedelta(days=rng.randint(0, 6)), today)
            recorder = next((u for u in staff if u.division_id == getattr(division, "id", -1)), staff[0])
            event = create_event(
                {
                    "kind": kind,
                    "title": title.format(city=city),
                    "held_on": held_on.isoformat(),
                    "place": place.format(city=city, district=where),
                    "division": division.name if division else "",
                    "district": district.name if district else "",
                    "participants": f"{recorder.display_name}等 {rng.randint(2, 8)} 人",
                    "outcome": rng.choice(
                        ["", "初步达成合作意向", "收集有效线索 3 条", "企业表示将进一步考察"]
                    ),
                },
                recorder,
            )
            candidates = [
                lead
                for lead in leads
                if (district and lead.intended_district_id == district.id)
                or (division and lead.owner.division_id == division.id)
            ]
            for lead in rng.sample(candidates, min(len(candidates), rng.randint(0, 2))):
                link_enterprise(event, lead.enterprise, lead)
            made += 1
    return made


DEPARTMENTS = ("市规划自然资源局", "国网重庆市电力公司", "市生态环境局", "市经济信息委")
CATEGORY_OF = {"用电": "用能", "环评": "审批", "用地": "用地"}


def _demo_supervision(rng: random.Random, today) -> tuple[int, int]:
    """督办 and 交办 as a bureau would have them a month in: the 需协调事项 of the demo's updates
    made into items (some closed, some red, some near their deadline), and leads handed to the
    demo districts (one past its deadline to answer, one answered and assessed)."""
    users = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    manager = next((u for u in users if u.role == MANAGER), None)
    if manager is None:
        return 0, 0
    staff = {u.district_id: u for u in users if u.role == "district"}
    divisions = active_divisions()
    updates = list(
        db.session.scalars(select(ProjectUpdate).where(ProjectUpdate.issues != "").order_by(ProjectUpdate.id))
    )
    items = 0
    for index, update in enumerate(updates[:14]):
        project = update.project
        by = staff.get(project.district_id, manager)
        word = next((key for key in CATEGORY_OF if key in update.issues), "")
        unit = (
            divisions[index % len(divisions)].name
            if index % 3 == 0
            else DEPARTMENTS[index % len(DEPARTMENTS)]
            if index % 3 == 1
            else project.district.name
        )
        item = create_item(
            project,
            {
                "description": update.issues,
                "category": CATEGORY_OF.get(word, "其他"),
                "deadline": (today + timedelta(days=rng.choice([1, 2, 5, 10, 20]))).isoformat(),
                "responsible": unit,
            },
            by,
            update,
        )
        # A month of history: some raised weeks ago with a deadline since passed (red).
        if index % 4 == 1:
            item.deadline = today - timedelta(days=rng.randint(1, 9))
            item.created_at = local_moment(today - timedelta(days=20), 9)
        if index % 5 == 2:
            reply_to(item, "已与相关部门对接，正在办理。", manager)
        if index % 5 == 3:
            close_item(item, "已协调解决：相关手续已办结。", manager)
        items += 1
    handovers = 0
    leads = list(
        db.session.scalars(
            select(Lead)
            .where(Lead.stage.in_(IN_PROGRESS), Lead.intended_district_id.in_(list(staff)))
            .order_by(Lead.id)
        )
    )
    for index, lead in enumerate(leads[:4]):
        by = lead.owner
        handover = hand_over(lead, f"d{lead.intended_district_id}", "企业希望尽快对接落地园区。", by, today)
        if index == 0:  # handed a week ago and still unanswered: red
            handover.handed_at = local_moment(today - timedelta(days=7), 10)
            handover.respond_due = today - timedelta(days=5)
            handover.assess_due = today - timedelta(days=3)
            handover.reply_due = today
        elif index == 1:
            receiver = staff[lead.intended_district_id]
            accept(handover, receiver, today=today)
            add_record(handover, RecordKind.ASSESS, "企业需求与园区定位匹配，建议重点跟进。", receiver, today)
        handovers += 1
    db.session.flush()
    return items, handovers
