"""Province-scale data for benchmarks: `flask --app app demo scale [--factor F]`.

Factor 1 adds 100 000 enterprises (with a contact each), 20 000 leads with their stage history,
200 000 follow-ups and 5 000 signed projects with milestones and updates, drawn like the demo data
(crm.cli.demo_data: the same brands, provinces, products from the catalogue, districts the entries
suit). Everything is derived from a row's number, so a run is deterministic and a second run adds
only what is missing (a larger factor adds the difference).

Rows are written in bulk, not through the services: the services' one-row-at-a-time checks and
audit entries would take hours at this size. What the services derive is derived here the same
way — name and search keys by the same functions, a lead's last contact from its follow-ups, a
project's stage, milestones and funds from its updates — and the search indexes follow by
themselves (SQLite's FTS triggers, PostgreSQL's trigram indexes). The rows carry no audit entries:
they stand for data that came from elsewhere, like a national enterprise database.
"""

import random
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from itertools import islice

from sqlalchemy import func, insert, select, text

from crm.auth.models import MANAGER, OFFICER, User
from crm.auth.service import create_user, find_user, set_division
from crm.cli.demo_data import (
    BRANDS,
    CONTACT_STEPS,
    DEMO_PASSWORD,
    DEMO_SOURCES,
    HQ_CITIES,
    PLACES,
    PROJECT_KINDS,
    SURNAMES,
    TITLES,
    UPDATE_NOTES,
    _credit_code,
)
from crm.core.timeutil import local_moment, today_local
from crm.enterprises.models import HONOURS, OWNERSHIPS, Contact, Enterprise, enterprise_entries
from crm.enterprises.names import name_key
from crm.events.models import EVENT_KINDS, Event
from crm.extensions import db
from crm.industry.service import catalogue_entries
from crm.leads.models import (
    FOLLOW_UP_KINDS,
    IN_PROGRESS,
    LOST_REASONS,
    SOURCES,
    FollowUp,
    Lead,
    LeadStage,
    StageChange,
)
from crm.matching.terms import normalise
from crm.places.service import active_divisions, all_districts
from crm.projects.models import (
    MILESTONES,
    RANK,
    TERMINATED,
    TERMINATION_REASONS,
    FundEntry,
    FundPlan,
    Milestone,
    Project,
    ProjectUpdate,
    project_entries,
)
from crm.readmodels.matching import refresh_matches
from crm.supervision import rules as deadlines
from crm.supervision.models import CATEGORIES as ITEM_CATEGORIES
from crm.supervision.models import Handover, Item

ENTERPRISES, LEADS, PROJECTS, FOLLOW_UPS = 100_000, 20_000, 5_000, 200_000
SEED = 2028
BATCH = 5_000
# Officers who own the scale leads: a province bureau has dozens, not the demo's three.
SCALE_OFFICERS = [(f"zs{n:02d}", f"招商专员{n:02d}") for n in range(1, 21)]
# What the name tells apart (name_key folds away the place and the company form): brand × word × core.
CORES = ["", "科技", "新材料", "材料科技", "实业", "技术"]
# Firms of a national database that make nothing in the catalogue: the matcher finds nothing there.
UNRELATED = [
    ("五金制品、机械加工", "五金"),
    ("服装、纺织品批发", "服饰"),
    ("食品加工、农副产品", "食品"),
    ("物流运输、仓储服务", "物流"),
    ("软件开发、信息咨询", "软件"),
]
# Stages of the leads that do not end in a project, with their shares, and how many follow-ups a
# lead at each stage has had relative to the others.
OPEN_STAGES = [
    (LeadStage.LEAD, 40),
    (LeadStage.FIRST_CONTACT, 20),
    (LeadStage.SITE_VISIT, 13),
    (LeadStage.NEGOTIATION, 10),
    (LeadStage.DORMANT, 10),
    (LeadStage.LOST, 7),
]
CONTACT_WEIGHT = {
    LeadStage.LEAD: 3,
    LeadStage.FIRST_CONTACT: 6,
    LeadStage.SITE_VISIT: 10,
    LeadStage.NEGOTIATION: 14,
    LeadStage.SIGNED: 16,
    LeadStage.DORMANT: 8,
    LeadStage.LOST: 6,
}
PATH = [LeadStage.LEAD, LeadStage.FIRST_CONTACT, LeadStage.SITE_VISIT, LeadStage.NEGOTIATION]


class _Writer:
    """Inserts rows in batches with ids it assigns, reporting progress."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say

    def next_id(self, model) -> int:
        return (db.session.scalar(select(func.max(model.id))) or 0) + 1

    def write(self, table, rows: Iterable[dict], label: str, total: int) -> int:
        done = 0
        rows = iter(rows)
        while chunk := list(islice(rows, BATCH)):
            db.session.execute(insert(table), chunk)
            db.session.commit()
            done += len(chunk)
            self.say(f"  {label}：{done}/{total}")
        return done

    def fix_sequence(self, model) -> None:
        # Ids were given explicitly: PostgreSQL's sequence must continue after them.
        if db.engine.dialect.name == "postgresql":
            table = model.__table__.name
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )


def _officers() -> list[User]:
    divisions = active_divisions()
    for number, (username, name) in enumerate(SCALE_OFFICERS):
        # Spread over the divisions, so the divisions' 招商活跃指数 has work to rank.
        division = divisions[number % len(divisions)].name if divisions else None
        user = find_user(username)
        if user is None:
            create_user(username, DEMO_PASSWORD, OFFICER, display_name=name, division_name=division)
        elif user.division_id is None and division:
            set_division(user, division)
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.role.in_((OFFICER, MANAGER))).order_by(User.id)))


def add_scale_data(factor: float, say: Callable[[str], None], today: date | None = None) -> dict[str, int]:
    """Add factor × (100 000 enterprises, 20 000 leads, 5 000 projects, 200 000 follow-ups), minus
    what an earlier run added; returns the numbers added."""
    today = today or today_local()
    writer = _Writer(say)
    entries = [e for e in catalogue_entries(include_retired=False) if e.suitable_districts()]
    if not entries:
        raise ValueError("产业地图尚未载入，请先运行 flask --app app map load")
    districts = tuple(d.name for d in all_districts())
    owners = _officers()
    added = {
        "enterprises": 0,
        "contacts": 0,
        "leads": 0,
        "follow_ups": 0,
        "projects": 0,
        "events": 0,
        "matched": 0,
    }

    # ------------------------------------------------ enterprises: row n's values come from n alone
    wanted = int(ENTERPRISES * factor)
    existing = set(db.session.scalars(select(Enterprise.name_key)))
    generated: set[str] = set()  # this enumeration's names, the same on every run
    firm_rows, contact_rows, link_rows, firm_meta = [], [], [], []
    next_firm, next_contact = writer.next_id(Enterprise), writer.next_id(Contact)
    for n in range(wanted):
        rng = random.Random(SEED * 1_000_003 + n)
        local = rng.random() < 0.15
        province = "重庆" if local else rng.choice(PLACES)
        entry = rng.choice(entries)
        unrelated = rng.random() < 0.1
        if unrelated:
            products, word = rng.choice(UNRELATED)
        else:
            count = min(len(entry.keywords), rng.randint(1, 3))
            products = "、".join(rng.sample(entry.keywords, count)) + f"；{entry.chain.name}相关产品"
            word = _word(entry)  # the name says what the firm makes, as the demo firms' do
        # Brand syllables and a word after the product, drawn until the name is new to this
        # enumeration (a third syllable once two are used up): a row's name depends on the rows
        # before it only, never on the database, so a second run draws the same names.
        for attempt in range(1000):
            brand = "".join(rng.sample(BRANDS, 2 if attempt < 20 else 3))
            name = f"{province}{brand}{word}{rng.choice(CORES)}有限公司"
            key = name_key(name, districts)
            if key not in generated:
                break
        generated.add(key)
        if key in existing:
            continue  # added by an earlier run (or a demo firm of the same name)
        code = _credit_code(rng, province)
        revenue = rng.choice([None, 30_000, 120_000, 260_000, 560_000, 1_300_000, 2_800_000])
        district = rng.choice(entry.suitable_districts()[:4]) if local else None
        firm_id = next_firm + len(firm_rows)
        firm_rows.append(
            {
                "id": firm_id,
                "kind": "local" if local else "target",
                "name": name,
                "name_key": key,
                "alias_keys": f"|{key}|",
                "credit_code": code,
                "former_names": [],
                "ownership": rng.choice(OWNERSHIPS),
                "hq_province": province,
                "hq_city": "重庆" if local else HQ_CITIES[province],
                "district_id": district.id if district else None,
                "revenue_wan": revenue,
                "honours": rng.sample(HONOURS, rng.choice([0, 0, 1, 2])),
                "products": products,
                "description": "",
                "business_scope": "",
                "search_text": " ".join(normalise(part) for part in (name, code, products)),
                "created_at": local_moment(today - timedelta(days=rng.randint(0, 1500))),
                "version": 1,
            }
        )
        if not unrelated and rng.random() < 0.5:
            link_rows.append({"enterprise_id": firm_id, "entry_id": entry.id})
        contact_rows.append(
            {
                "id": next_contact + len(contact_rows),
                "enterprise_id": firm_id,
                "name": rng.choice(SURNAMES) + "经理",
                "title": rng.choice(TITLES),
                "phone": f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}",
                "email": "",
                "active": True,
            }
        )
        if not unrelated:
            firm_meta.append((firm_id, name, entry, district))
    say(f"企业：新增 {len(firm_rows)} 家（目标 {wanted} 家，其余此前已添加）")
    added["enterprises"] = writer.write(Enterprise.__table__, firm_rows, "企业", len(firm_rows))
    added["contacts"] = writer.write(Contact.__table__, contact_rows, "联系人", len(contact_rows))
    writer.write(enterprise_entries, link_rows, "企业所属目录条目", len(link_rows))
    writer.fix_sequence(Enterprise)
    writer.fix_sequence(Contact)
    del firm_rows, contact_rows, link_rows

    # ------------------------------------------------ leads on the new firms, in proportion
    rng = random.Random(SEED + next_firm)
    wanted_leads = min(len(firm_meta), round(added["enterprises"] * LEADS / ENTERPRISES))
    chosen = sorted(rng.sample(firm_meta, wanted_leads), key=lambda meta: meta[0])
    plans = []
    for index, meta in enumerate(chosen):
        # Exactly one lead in four is signed (5 000 projects of 20 000 leads).
        stage = LeadStage.SIGNED if index % (LEADS // PROJECTS) == 0 else _weighted(rng, OPEN_STAGES)
        plans.append(
            (meta, stage, CONTACT_WEIGHT[stage] * rng.uniform(0.6, 1.4), owners[index % len(owners)])
        )
    # 10 follow-ups per lead on average, shared out by each lead's weight.
    budget = round(len(plans) * FOLLOW_UPS / LEADS)
    weights = sum(plan[2] for plan in plans) or 1
    counts = [max(1, int(budget * plan[2] / weights)) for plan in plans]
    for index in range(max(0, budget - sum(counts))):
        counts[index % len(counts)] += 1

    lead_rows, change_rows, follow_rows, signed_leads = [], [], [], []
    next_lead, next_change = writer.next_id(Lead), writer.next_id(StageChange)
    next_follow = writer.next_id(FollowUp)
    for ((firm_id, name, entry, district), stage, _weight, owner), count in zip(plans, counts, strict=True):
        lead_id = next_lead + len(lead_rows)
        rng = random.Random(SEED * 7 + lead_id)
        suitable = entry.suitable_districts()
        place = district if district and district in suitable else rng.choice(suitable)
        amount = rng.choice([20_000, 50_000, 80_000, 150_000, 300_000, 600_000])
        signed_on = today - timedelta(days=rng.randint(10, 1000)) if stage == LeadStage.SIGNED else None
        span = rng.randint(40, 400)
        start = signed_on - timedelta(days=span) if signed_on else today - timedelta(days=rng.randint(0, 700))
        end = signed_on or min(today, start + timedelta(days=span))
        days = sorted(
            start + timedelta(days=rng.randint(0, max((end - start).days, 0))) for _ in range(count)
        )
        days[0] = start
        for number, day in enumerate(days):
            kind, notes = CONTACT_STEPS[min(number, len(CONTACT_STEPS) - 1)]
            if number >= len(CONTACT_STEPS):
                kind = rng.choice(FOLLOW_UP_KINDS[:5])
            follow_rows.append(
                {
                    "id": next_follow + len(follow_rows),
                    "lead_id": lead_id,
                    "occurred_on": day,
                    "kind": kind,
                    "participants": f"{owner.display_name}、{rng.choice(SURNAMES)}经理",
                    "notes": notes,
                    "created_by_id": owner.id,
                    "created_at": local_moment(day, 17),
                }
            )
        # A dormant or lost lead stopped somewhere on the way; a signed one went all the way.
        reached = PATH[: PATH.index(stage) + 1] if stage in PATH else PATH[: rng.randint(1, len(PATH))]
        if stage == LeadStage.SIGNED:
            reached = PATH
        history = [(None, LeadStage.LEAD, "新建线索")]
        history += [(a, b, "") for a, b in zip(reached, reached[1:], strict=False)]
        if stage == LeadStage.SIGNED:
            history.append((LeadStage.NEGOTIATION, LeadStage.SIGNED, f"签约，协议投资 {amount} 万元"))
        elif stage == LeadStage.DORMANT:
            history.append((reached[-1], LeadStage.DORMANT, "企业暂缓投资计划"))
        elif stage == LeadStage.LOST:
            history.append((reached[-1], LeadStage.LOST, ""))
        for number, (before, after, note) in enumerate(history):
            moment = days[min(number, len(days) - 1)] if after != LeadStage.SIGNED else signed_on
            change_rows.append(
                {
                    "id": next_change + len(change_rows),
                    "lead_id": lead_id,
                    "from_stage": before,
                    "to_stage": after,
                    "note": note,
                    "changed_by_id": owner.id,
                    "changed_at": local_moment(moment, 18),
                }
            )
        open_stage = stage not in (LeadStage.SIGNED, LeadStage.LOST)
        title = f"{name.removesuffix('有限公司')}{rng.choice(PROJECT_KINDS)}项目"
        lead_rows.append(
            {
                "id": lead_id,
                "enterprise_id": firm_id,
                "title": title[:128],
                "source": rng.choice(SOURCES),
                "owner_id": owner.id,
                "catalogue_entry_id": entry.id,
                "intended_district_id": place.id,
                "intended_investment_wan": amount,
                "stage": stage,
                "lost_reason": rng.choice(LOST_REASONS) if stage == LeadStage.LOST else None,
                "next_follow_up_on": today + timedelta(days=rng.randint(-10, 21)) if open_stage else None,
                "last_contact_on": days[-1],
                "created_at": local_moment(start, 9),
                "version": 1,
            }
        )
        if signed_on:
            signed_leads.append((lead_id, firm_id, title[:128], place, entry, amount, signed_on, owner))
    say(f"线索：新增 {len(lead_rows)} 条，跟进 {len(follow_rows)} 条")
    added["leads"] = writer.write(Lead.__table__, lead_rows, "线索", len(lead_rows))
    writer.write(StageChange.__table__, change_rows, "阶段变更", len(change_rows))
    added["follow_ups"] = writer.write(FollowUp.__table__, follow_rows, "跟进", len(follow_rows))
    for model in (Lead, StageChange, FollowUp):
        writer.fix_sequence(model)
    del lead_rows, change_rows, follow_rows

    added["projects"] = _projects(writer, signed_leads, today)
    added["events"] = _events(writer, factor, today)
    added["items"] = _items(writer, factor, today)
    added["handovers"] = _handovers(writer, factor, today)
    tables = ("enterprises", "contacts", "leads", "follow_ups", "projects", "project_updates", "events")
    for table in (*tables, "supervision_items", "lead_handovers"):
        db.session.execute(text(f"ANALYZE {table}"))  # the planner sees the new sizes at once
    db.session.commit()
    # The stored matches, computed now rather than by the first page that recommends firms.
    say("匹配企业与招商目录条目……")
    added["matched"] = refresh_matches()
    return added


EVENTS = 5_000  # 招商活动 over the last two years, per factor: some fifty a week across the province
SCALE_EVENT = "先进材料产业链招商活动"


def _events(writer: _Writer, factor: float, today: date) -> int:
    """Events over the last two years, organised in turn by the divisions and by the districts
    (row n's values come from n alone; a second run adds only what is missing)."""
    wanted = int(EVENTS * factor)
    # The scale events are told by their titles: the demo's own events are not part of the count.
    have = db.session.scalar(select(func.count()).where(Event.title.startswith(SCALE_EVENT))) or 0
    divisions, districts = active_divisions(), all_districts()
    recorder = db.session.scalar(select(User.id).where(User.role == OFFICER).order_by(User.id))
    rows, next_event = [], writer.next_id(Event)
    for n in range(have, wanted):
        rng = random.Random(SEED * 7_000_003 + n)
        # The first of them go round the districts, so every district's list has rows at any
        # factor (the query-count guard compares lists with rows); then three in ten by a division.
        by_division = divisions and n >= len(districts) and rng.random() < 0.3
        held_on = today - timedelta(days=rng.randint(0, 730))
        rows.append(
            {
                "id": next_event + len(rows),
                "kind": rng.choice(EVENT_KINDS),
                "title": f"{SCALE_EVENT} {n + 1} 号",
                "held_on": held_on,
                "ends_on": None,
                "place": rng.choice(PLACES),
                "division_id": rng.choice(divisions).id if by_division else None,
                "district_id": None if by_division else districts[n % len(districts)].id,
                "participants": "",
                "outcome": "",
                "created_by_id": recorder,
                "created_at": local_moment(held_on, 18),
                "version": 1,
            }
        )
    done = writer.write(Event.__table__, rows, "招商活动", len(rows))
    writer.fix_sequence(Event)
    return done


ITEMS = 2_000  # 督办事项 per factor: a problem on about four projects in ten
SCALE_ITEM = "需协调事项（规模测试）"
PROBLEMS = ("施工用电增容", "环评批复", "用地指标", "融资对接")
HANDOVERS = 1_000  # leads handed to a district per factor
SCALE_HANDOVER = "规模测试交办"


def _items(writer: _Writer, factor: float, today: date) -> int:
    """Items on the projects in turn, given in turn to a division, the project's district or
    another department; six in ten open (deadlines a month either side of today), three closed,
    one withdrawn (row n's values come from n alone; a second run adds only what is missing)."""
    wanted = int(ITEMS * factor)
    have = db.session.scalar(select(func.count()).where(Item.description.startswith(SCALE_ITEM))) or 0
    projects = db.session.execute(select(Project.id, Project.district_id).order_by(Project.id)).all()
    divisions = active_divisions()
    raiser = db.session.scalar(select(User.id).where(User.role == OFFICER).order_by(User.id))
    if not projects or not divisions:
        return 0
    rows, next_item = [], writer.next_id(Item)
    for n in range(have, wanted):
        rng = random.Random(SEED * 9_000_011 + n)
        project_id, district_id = projects[(n * 7) % len(projects)]
        deadline = today + timedelta(days=rng.randint(-30, 30))
        status = _weighted(rng, [("待办", 4), ("办理中", 2), ("已办结", 3), ("已撤销", 1)])
        unit = n % 3
        closed = status in ("已办结", "已撤销")
        closed_on = min(today, deadline + timedelta(days=rng.randint(-10, 5))) if closed else None
        rows.append(
            {
                "id": next_item + len(rows),
                "project_id": project_id,
                "update_id": None,
                "description": f"{SCALE_ITEM} {n + 1} 号：{rng.choice(PROBLEMS)}",
                "category": rng.choice(ITEM_CATEGORIES),
                "division_id": divisions[n % len(divisions)].id if unit == 0 else None,
                "district_id": district_id if unit == 1 else None,
                "department": "市规划自然资源局" if unit == 2 else None,
                "deadline": deadline,
                "status": status,
                "result": "已协调解决" if closed else "",
                "created_by_id": raiser,
                "created_at": local_moment(min(today, deadline - timedelta(days=20)), 9),
                "closed_at": local_moment(closed_on, 17) if closed_on else None,
                "closed_on": closed_on,
                "version": 1,
            }
        )
    done = writer.write(Item.__table__, rows, "督办事项", len(rows))
    writer.fix_sequence(Item)
    return done


def _handovers(writer: _Writer, factor: float, today: date) -> int:
    """Open leads handed to their intended district, each once: half waiting (a tenth of them past
    the day to answer), four in ten accepted, one returned."""
    wanted = int(HANDOVERS * factor)
    have = db.session.scalar(select(func.count()).where(Handover.note.startswith(SCALE_HANDOVER))) or 0
    taken = select(Handover.lead_id)
    leads = db.session.execute(
        select(Lead.id, Lead.owner_id, Lead.intended_district_id)
        .where(Lead.stage.in_(IN_PROGRESS), Lead.intended_district_id.is_not(None), Lead.id.not_in(taken))
        .order_by(Lead.id)
        .limit(max(wanted - have, 0))
    ).all()
    rules = deadlines.current()

    def due(step: str, start: date) -> date:
        return rules.steps[step].due(start, rules.calendar)

    rows, next_handover = [], writer.next_id(Handover)
    for n, (lead_id, owner_id, district_id) in enumerate(leads, start=have):
        rng = random.Random(SEED * 5_000_011 + n)
        handed = today - timedelta(days=rng.randint(0, 40))
        status = _weighted(rng, [("待接收", 5), ("已接收", 4), ("已退回", 1)])
        answered = status != "待接收"
        rows.append(
            {
                "id": next_handover + len(rows),
                "lead_id": lead_id,
                "direction": "下交",
                "from_division_id": None,
                "from_district_id": None,
                "to_division_id": None,
                "to_district_id": district_id,
                "note": f"{SCALE_HANDOVER} {n + 1} 号",
                "status": status,
                "answer": "不符合本区产业定位" if status == "已退回" else "",
                "handed_by_id": owner_id,
                "handed_at": local_moment(handed, 10),
                "answered_by_id": None,
                "answered_at": local_moment(handed + timedelta(days=1), 10) if answered else None,
                # The deadlines as hand_over sets them, from the rules in force.
                "respond_due": due("respond", handed),
                "assess_due": due("assess", handed),
                "reply_due": due("reply", handed),
                "report_due": due("report", handed + timedelta(days=1)) if status == "已接收" else None,
                "assessed_at": None,
                "replied_at": None,
                "version": 1,
            }
        )
    done = writer.write(Handover.__table__, rows, "线索交办", len(rows))
    writer.fix_sequence(Handover)
    return done


def _projects(writer: _Writer, signed_leads: list, today: date) -> int:
    """Projects of the signed leads, with milestone plans and a history of updates ending in a
    health state, the project's derived fields computed from them as the service does."""
    project_rows, link_rows, milestone_rows, update_rows = [], [], [], []
    next_project, next_milestone = writer.next_id(Project), writer.next_id(Milestone)
    next_update, next_fund = writer.next_id(ProjectUpdate), writer.next_id(FundEntry)
    next_plan = writer.next_id(FundPlan)
    fund_rows, plan_rows = [], []
    for lead_id, firm_id, title, place, entry, amount, signed_on, owner in signed_leads:
        project_id = next_project + len(project_rows)
        rng = random.Random(SEED * 11 + project_id)
        profile = rng.choice(["正常"] * 5 + ["滞后"] * 3 + ["停滞"] * 2 + [TERMINATED])
        planned, day = {}, signed_on
        for stage in MILESTONES:
            day += timedelta(days=rng.randint(60, 200))
            planned[stage] = day
        reached, last = [], signed_on
        for stage in MILESTONES:
            actual = max(planned[stage] + timedelta(days=rng.randint(-10, 15)), last)
            if actual >= today - timedelta(days=3) or (profile == TERMINATED and len(reached) >= 2):
                break
            reached.append((stage, actual))
            last = actual
        upcoming = [stage for stage in MILESTONES if stage not in dict(reached)]
        if upcoming:
            late = profile == "滞后"
            target = (
                today - timedelta(days=rng.randint(5, 40))
                if late
                else today + timedelta(days=rng.randint(10, 60))
            )
            shift = target - planned[upcoming[0]]
            for stage in upcoming:
                planned[stage] += shift
        previous = signed_on
        for stage in MILESTONES:
            planned[stage] = previous = max(planned[stage], previous)
        updates = [(actual, stage, actual, None, UPDATE_NOTES[stage], "", None) for stage, actual in reached]
        arrivals = [(actual, amount * rng.choice([5, 10, 15]) // 100) for _, actual in reached]
        if profile == TERMINATED:
            reason = rng.choice(TERMINATION_REASONS)
            moment = max(today - timedelta(days=rng.randint(1, 30)), last)
            updates.append(
                (moment, TERMINATED, None, None, "企业调整投资计划，经协商解除投资协议", "", reason)
            )
        elif profile == "停滞":
            quiet = today - timedelta(days=rng.randint(20, 60))
            if quiet > last:
                updates.append((quiet, None, None, None, "按计划推进前期工作", "", None))
        else:
            issue = rng.choice(["", "", "需协调施工用电增容", "需协调环评批复进度"])
            moment = max(today - timedelta(days=rng.randint(0, 9)), last)
            updates.append((moment, None, None, None, "本月资金按计划到位", issue, None))
            arrivals.append((moment, amount * rng.choice([2, 4, 6]) // 100))
        for arrived, funds in arrivals:
            if funds > 0:
                fund_rows.append(
                    {
                        "id": next_fund + len(fund_rows),
                        "project_id": project_id,
                        "amount_wan": funds,
                        "arrived_on": arrived,
                        "source_region": rng.choice(DEMO_SOURCES),
                        "kind": "固定资产投资" if rng.random() < 0.8 else "其他",
                        "counts_as_investment": True,
                        "evidence_type": "银行进账单",
                        "note": "",
                        "created_by_id": owner.id,
                        "created_at": local_moment(arrived, 16),
                        # The bureau has looked at what arrived more than a month ago.
                        "review": "已核实" if (today - arrived).days > 30 else "待核实",
                        "version": 1,
                    }
                )
        plan_rows.append(
            {
                "id": next_plan + len(plan_rows),
                "project_id": project_id,
                "year": today.year,
                "amount_wan": amount * rng.choice([20, 30, 40]) // 100,
            }
        )
        for reported, stage, stage_on, funds, note, issues, reason in updates:
            update_rows.append(
                {
                    "id": next_update + len(update_rows),
                    "project_id": project_id,
                    "reported_on": reported,
                    "stage_reached": stage,
                    "stage_reached_on": stage_on,
                    "funds_wan": funds,
                    "note": note,
                    "issues": issues,
                    "termination_reason": reason,
                    "corrects_id": None,
                    "created_by_id": owner.id,
                    "created_at": local_moment(reported, 16),
                }
            )
        actual_of = dict(reached)
        for stage in MILESTONES:
            milestone_rows.append(
                {
                    "id": next_milestone + len(milestone_rows),
                    "project_id": project_id,
                    "stage": stage,
                    "planned_on": planned[stage],
                    "actual_on": actual_of.get(stage),
                }
            )
        terminated = profile == TERMINATED
        stage = TERMINATED if terminated else max([s for s, _ in reached] or ["签约"], key=RANK.__getitem__)
        project_rows.append(
            {
                "id": project_id,
                "name": title,
                "enterprise_id": firm_id,
                "lead_id": lead_id,
                "district_id": place.id,
                "catalogue_entry_id": entry.id,
                "agreed_investment_wan": amount,
                "expected_output_wan": amount * rng.choice([1, 2, 3]),
                "expected_jobs": rng.choice([80, 150, 300, 600]),
                "signed_on": signed_on,
                "stage": stage,
                "termination_reason": updates[-1][6] if terminated else None,
                "last_update_on": max((u[0] for u in updates), default=None),
                "created_at": local_moment(signed_on, 15),
                "version": 1,
            }
        )
        link_rows.append({"project_id": project_id, "entry_id": entry.id})
    writer.say(f"项目：新增 {len(project_rows)} 个，进展更新 {len(update_rows)} 条")
    done = writer.write(Project.__table__, project_rows, "项目", len(project_rows))
    writer.write(project_entries, link_rows, "项目所属目录条目", len(link_rows))
    writer.write(Milestone.__table__, milestone_rows, "里程碑", len(milestone_rows))
    writer.write(ProjectUpdate.__table__, update_rows, "进展更新", len(update_rows))
    writer.write(FundEntry.__table__, fund_rows, "到位资金登记", len(fund_rows))
    writer.write(FundPlan.__table__, plan_rows, "年度计划到位资金", len(plan_rows))
    for model in (Project, Milestone, ProjectUpdate, FundEntry, FundPlan):
        writer.fix_sequence(model)
    db.session.commit()
    return done


def _word(entry) -> str:
    title = entry.title.replace(" ", "").replace("—", "")
    return title if len(title) <= 8 else entry.chain.name


def _weighted(rng: random.Random, choices: list[tuple]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
