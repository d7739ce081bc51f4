"""督办事项: a signed project's problem given to a responsible unit with a deadline; replies,
taking it on, a new deadline or unit, the close with its result, the withdrawal — each a reply that
stays; the light of each item for a day; the one filtered query behind the list, its counts per
unit, the project page, the dashboard, the brief and the API.

Who does what:
- raises an item: officers and managers on any project, district staff on their district's;
- replies: whoever may read the item (its project's district, the unit it was given to, the bureau);
- takes it on and closes it with a result: the responsible unit's people (a division's officers and
  managers, a district's staff); an item given to another department is closed by whoever raised
  it, recording that department's answer; managers may always;
- changes its deadline or unit, or withdraws it: whoever raised it, and managers.
The verbs validate, mutate and flush; the caller commits."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import ADMIN, DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import scoped
from crm.core.converters import record_id
from crm.core.text import clean_text, required_text
from crm.core.timeutil import day_bounds, filter_day, parse_day, today_local, utcnow
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import Problems
from crm.extensions import db
from crm.inbox.models import ASSIGNED, REPLY
from crm.inbox.service import post, unit_members
from crm.places.models import District, Division
from crm.places.service import active_divisions, resolve_district
from crm.projects.models import TERMINATED, Project, ProjectUpdate
from crm.supervision.models import (
    CATEGORIES,
    ITEM_OPEN,
    ITEM_STATUSES,
    Item,
    ItemReply,
    ItemStatus,
    Unit,
)
from crm.supervision.rules import GREEN, RED, YELLOW, current

ITEM_READERS = (OFFICER, MANAGER, DISTRICT)
MAX_DESCRIPTION = 2000
MAX_REPLY = 4000
MAX_DEADLINE_DAYS = 730  # a deadline two years off is a typing slip in the year
# What each reply records, as the item's history shows it.
SAID, TAKEN, CHANGED, CLOSED, CANCELLED = "回复", "开始办理", "调整", "办结", "撤销"


class ItemError(Refusal):
    """A change to an item that cannot be made; the message says why, in Chinese."""


class ItemConflict(ItemError, Conflict):
    def __init__(self):
        super().__init__("该督办事项在您操作期间已被他人修改，本次操作未生效。请刷新页面查看最新状态后重试。")


# ---------------------------------------------------------------- who


def may_read_items(user) -> bool:
    return getattr(user, "role", None) in ITEM_READERS


def may_raise_item(user, project: Project) -> bool:
    """Officers and managers on any project, a district's staff on their own; none on a project
    terminated (nothing is left to coordinate)."""
    if project.stage == TERMINATED:
        return False
    role = getattr(user, "role", None)
    if role in (OFFICER, MANAGER):
        return True
    return role == DISTRICT and project.district_id == user.district_id


def is_responsible(user, item: Item) -> bool:
    """Whether `user` is one of the people of the unit the item was given to."""
    role = getattr(user, "role", None)
    if item.division_id is not None:
        return role in (OFFICER, MANAGER) and user.division_id == item.division_id
    if item.district_id is not None:
        return role == DISTRICT and user.district_id == item.district_id
    return False


def may_work(user, item: Item) -> bool:
    """Take the item on and close it: its unit's people; for another department, whoever raised
    it; managers always."""
    if getattr(user, "role", None) == MANAGER:
        return True
    if item.department:
        return item.created_by_id == user.id
    return is_responsible(user, item)


def may_steer(user, item: Item) -> bool:
    """Change the deadline or the unit, withdraw: whoever raised it, and managers."""
    return getattr(user, "role", None) == MANAGER or item.created_by_id == getattr(user, "id", None)


def may_reply(user, item: Item) -> bool:
    """Whoever may read it (the caller found it through `scoped`), but administrators."""
    return getattr(user, "role", None) not in (None, ADMIN)


# ---------------------------------------------------------------- values


def _division_named(name: str, keep: int | None) -> Division | None:
    for division in active_divisions():
        if division.name == name:
            return division
    kept = db.session.get(Division, keep) if keep is not None else None
    return kept if kept is not None and kept.name == name else None


def responsible_of(raw: dict, keep_division: int | None = None) -> tuple[int | None, int | None, str | None]:
    """(division id, district id, department) from `responsible` — a division's name, a district's
    name or alias, or another department's name — or from `department` (the form's words for a
    unit that is neither). A name that reads like a district but is none is refused, not taken for
    a department."""
    department = clean_text(raw.get("department"), "其他责任部门", 64, ItemError)
    chosen = clean_text(raw.get("responsible"), "责任单位", 64, ItemError)
    if chosen and department:
        raise ItemError("责任单位请选择一个处室或区县，或填写其他部门，二选一")
    name = chosen or department
    if not name:
        raise ItemError("请选择责任单位：一个处室、一个区县，或填写其他部门的名称")
    division = _division_named(name, keep_division)
    if division is not None:
        return division.id, None, None
    district = resolve_district(name)
    if district is not None:
        return None, district.id, None
    # A district-like name that is none is a typing slip, as is a 处 with no body above it (a
    # department's own 处 is written with its department: 市规划自然资源局用地处).
    bodies = ("委", "局", "办", "厅", "中心", "公司", "院", "会")
    if name.endswith(("区", "县")) or (name.endswith("处") and not any(word in name for word in bodies)):
        raise ItemError(f"未知的处室或区县：“{name}”。其他部门请写全称（如 市规划自然资源局）")
    if len(name) < 2:
        raise ItemError("其他责任部门的名称至少 2 个字")
    return None, None, name


@dataclass
class ItemData:
    description: str
    category: str
    deadline: date
    division_id: int | None
    district_id: int | None
    department: str | None


def validate(
    raw: dict,
    today: date | None = None,
    keep_division: int | None = None,
    current_deadline: date | None = None,
) -> ItemData:
    """Check every field; the first problem is raised (all of them in `.problems`). A deadline in
    the past is refused unless it is the one the item already has."""
    today = today or today_local()
    problems = Problems(ItemError)
    values: dict = {}
    with problems.field("description"):
        values["description"] = required_text(raw.get("description"), "事项内容", MAX_DESCRIPTION, ItemError)
    with problems.field("category"):
        category = raw.get("category").strip() if isinstance(raw.get("category"), str) else ""
        if category not in CATEGORIES:
            raise ItemError(f"请选择事项类别：{'、'.join(CATEGORIES)}")
        values["category"] = category
    with problems.field("deadline"):
        deadline = parse_day(raw.get("deadline"), "办理时限", ItemError)
        if deadline is None:
            raise ItemError("请填写办理时限（如 2026-12-31）")
        if deadline < today and deadline != current_deadline:
            raise ItemError("办理时限不能早于今天")
        if deadline > today + timedelta(days=MAX_DEADLINE_DAYS):
            raise ItemError("办理时限不能超过两年，请检查年份")
        values["deadline"] = deadline
    values["division_id"] = values["district_id"] = values["department"] = None
    with problems.field("responsible"):
        values["division_id"], values["district_id"], values["department"] = responsible_of(
            raw, keep_division
        )
    problems.raise_first()
    return ItemData(**values)


def item_values(item: Item) -> dict:
    """An item's fields as its form shows them."""
    named = item.division.name if item.division else item.district.name if item.district else ""
    return {
        "description": item.description,
        "category": item.category,
        "deadline": item.deadline.isoformat(),
        "responsible": named,
        "department": item.department or "",
        "version": item.version,
    }


def default_deadline(today: date | None = None) -> date:
    return (today or today_local()) + timedelta(days=current().item_default_days)


# ---------------------------------------------------------------- telling people


def _url(item: Item) -> str:
    return f"/items/{item.id}"


def _followers(item: Item) -> list[User]:
    """Who hears of what happens to an item: whoever raised it and the unit it was given to."""
    people = unit_members(item.division_id, item.district_id)
    if item.created_by is not None and item.created_by not in people:
        people.append(item.created_by)
    return people


def _tell_unit(item: Item, by: User) -> None:
    text = (
        f"督办事项交办给{item.responsible.name}：{item.project.name}——{item.description[:60]}"
        f"（{item.deadline.isoformat()} 前办结）"
    )
    post(
        unit_members(item.division_id, item.district_id),
        ASSIGNED,
        text,
        _url(item),
        f"assigned:item:{item.id}:{item.version}",  # each assignment, a unit given it back included
        exclude=by,
    )


def _tell_followers(item: Item, reply: ItemReply, by: User) -> None:
    text = f"督办事项“{item.description[:40]}”{reply.kind}（{by.display_name}）：{reply.body[:80]}"
    post(_followers(item), REPLY, text, _url(item), f"reply:item:{item.id}:{reply.id}", exclude=by)


# ---------------------------------------------------------------- verbs


def create_item(project: Project, raw: dict, by: User, update: ProjectUpdate | None = None) -> Item:
    """A new item on `project` (from one of its updates' 需协调事项 when `update` is given)."""
    if project.stage == TERMINATED:
        raise ItemError("该项目已终止，不能再提出督办事项")
    if not may_raise_item(by, project):
        raise ItemError("您不能为该项目提出督办事项")
    if update is not None and update.project_id != project.id:
        raise ItemError("该进展不属于本项目")
    if update is not None:
        made = db.session.scalar(
            select(Item.id).where(Item.update_id == update.id, Item.status != ItemStatus.CANCELLED)
        )
        if made is not None:
            raise ItemError(f"该进展的需协调事项已转为督办事项 #{made}，请在该事项中回复或调整")
    data = validate(raw)
    item = Item(project=project, update=update, status=ItemStatus.OPEN, created_by=by, **vars(data))
    db.session.add(item)
    db.session.flush()
    _tell_unit(item, by)
    return item


def _check_version(item: Item, version) -> None:
    if version is not None and str(version) != str(item.version):
        raise ItemConflict()


def _note(item: Item, kind: str, body: str, by: User) -> ItemReply:
    reply = ItemReply(item=item, kind=kind, body=body, created_by=by)
    db.session.add(reply)
    return reply


def _saved(item: Item, reply: ItemReply, by: User) -> Item:
    try:
        db.session.flush()
    except StaleDataError as error:
        raise ItemConflict() from error
    _tell_followers(item, reply, by)
    return item


def reply_to(item: Item, body, by: User) -> ItemReply:
    """A reply on an item, open or not (a closed item can still be discussed)."""
    if not may_reply(by, item):
        raise ItemError("您不能回复督办事项")
    text = clean_text(body, "回复内容", MAX_REPLY, lambda m: ItemError(m, field="body"))
    if not text:
        raise ItemError("请填写回复内容", field="body")
    reply = _note(item, SAID, text, by)
    db.session.flush()
    _tell_followers(item, reply, by)
    return reply


def take_on(item: Item, by: User, version=None, body="") -> Item:
    """The responsible unit starts on the item: 待办 → 办理中."""
    if not may_work(by, item):
        raise ItemError("只有责任单位（或处室负责人）可以办理该事项")
    _check_version(item, version)
    if item.status != ItemStatus.OPEN:
        raise ItemError(f"该事项当前为“{item.status}”，不能再开始办理")
    text = clean_text(body, "说明", MAX_REPLY, lambda m: ItemError(m, field="body"))
    item.status = ItemStatus.WORKING
    item.version += 1
    return _saved(item, _note(item, TAKEN, text or "已开始办理", by), by)


def _end(item: Item, status: str, kind: str, why, label: str, missing: str, by: User, version) -> Item:
    """Close or withdraw an open item, saying why (`label`: what the text is; `missing`: the
    refusal when it is not given)."""
    _check_version(item, version)
    if item.status not in ITEM_OPEN:
        raise ItemError(f"该事项{item.status}")
    text = clean_text(why, label, MAX_REPLY, lambda m: ItemError(m, field="body"))
    if len(text) < 2:
        raise ItemError(missing, field="body")
    item.status, item.result = status, text
    item.closed_at, item.closed_on = utcnow(), today_local()
    item.version += 1
    return _saved(item, _note(item, kind, text, by), by)


def close_item(item: Item, result, by: User, version=None) -> Item:
    """The item is done: its result is recorded (required) and it leaves the lights."""
    if not may_work(by, item):
        raise ItemError("只有责任单位（或处室负责人）可以办结该事项")
    return _end(item, ItemStatus.CLOSED, CLOSED, result, "办理结果", "办结须填写办理结果", by, version)


def cancel_item(item: Item, reason, by: User, version=None) -> Item:
    """Withdraw an item that needs no action any more (the reason is required)."""
    if not may_steer(by, item):
        raise ItemError("只有提出人或处室负责人可以撤销该事项")
    return _end(item, ItemStatus.CANCELLED, CANCELLED, reason, "撤销理由", "撤销须说明理由", by, version)


def change_item(item: Item, raw: dict, by: User, version=None) -> Item:
    """A new description, category, deadline or responsible unit for an open item; what changed is
    written as a reply, and a new unit is told."""
    if not may_steer(by, item):
        raise ItemError("只有提出人或处室负责人可以调整该事项")
    _check_version(item, version)
    if item.status not in ITEM_OPEN:
        raise ItemError(f"该事项{item.status}，不能再调整")
    data = validate(raw, keep_division=item.division_id, current_deadline=item.deadline)
    before_unit, before_deadline = item.responsible.name, item.deadline
    unit_before = (item.division_id, item.district_id, item.department)
    changed = [key for key, value in vars(data).items() if getattr(item, key) != value]
    if not changed:
        return item
    for key in changed:
        setattr(item, key, getattr(data, key))
    item.version += 1
    try:
        db.session.flush()
    except StaleDataError as error:
        raise ItemConflict() from error
    db.session.refresh(item, ["division", "district"])
    said = []
    if item.deadline != before_deadline:
        said.append(f"办理时限 {before_deadline.isoformat()} → {item.deadline.isoformat()}")
    if (item.division_id, item.district_id, item.department) != unit_before:
        said.append(f"责任单位 {before_unit} → {item.responsible.name}")
    if {"description", "category"} & set(changed):
        said.append("修改了事项内容或类别")
    reply = _note(item, CHANGED, "；".join(said), by)
    _saved(item, reply, by)
    if (item.division_id, item.district_id, item.department) != unit_before:
        _tell_unit(item, by)
    return item


# ---------------------------------------------------------------- lights


def item_light(item: Item, on: date | None = None) -> str | None:
    """red, yellow or green for an open item on `on` (today); None for one done or withdrawn."""
    if not item.is_open:
        return None
    return current().item_light(item.deadline, on or today_local())


def open_on(on: date):
    """Raised by the end of `on` and not closed or withdrawn by then: open that day. For today it is
    the open statuses; for a past day (a brief's Sunday) what was open then."""
    return and_(Item.created_at < day_bounds(on, on)[1], or_(Item.closed_on.is_(None), Item.closed_on > on))


def light_sql(on: date):
    """The light on `on` as SQL (NULL for items not open that day): what the list filters and counts
    by, and the brief's warnings."""
    yellow_from = on + timedelta(days=current().item_yellow_days)
    return case(
        (~open_on(on), None),
        (Item.deadline < on, RED),
        (Item.deadline < yellow_from, YELLOW),
        else_=GREEN,
    )


def closed_late(item: Item) -> bool:
    return item.status == ItemStatus.CLOSED and item.closed_on is not None and item.closed_on > item.deadline


# ---------------------------------------------------------------- the list's one query


@dataclass
class ItemFilter:
    """The list's filters, from query-string values (anything unreadable is ignored). `unit` is
    "v<id>" for a division, "d<id>" for a district, "o:<name>" for another department."""

    statuses: tuple[str, ...] = ()
    open_only: bool = False
    light: str = ""
    categories: tuple[str, ...] = ()
    unit: str = ""
    project_id: int | None = None
    mine: bool = False  # given to my unit
    raised: bool = False  # raised by me
    due_to: date | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "ItemFilter":
        light = args.get("light", "")
        return cls(
            statuses=tuple(s for s in args.getlist("status") if s in ITEM_STATUSES),
            open_only=args.get("open") == "1",
            light=light if light in (RED, YELLOW, GREEN) else "",
            categories=tuple(c for c in args.getlist("category") if c in CATEGORIES),
            unit=str(args.get("unit", "")).strip()[:70],
            project_id=record_id(args.get("project")),
            mine=args.get("mine") == "1",
            raised=args.get("raised") == "1",
            due_to=filter_day(args.get("due_to")),
            q=str(args.get("q", "")).strip()[:64],
        )

    def args(self) -> dict:
        """The query string that gives this filter back (for links and the export)."""
        out: dict = {}
        if self.statuses:
            out["status"] = list(self.statuses)
        if self.open_only:
            out["open"] = "1"
        if self.light:
            out["light"] = self.light
        if self.categories:
            out["category"] = list(self.categories)
        if self.unit:
            out["unit"] = self.unit
        if self.project_id:
            out["project"] = self.project_id
        if self.mine:
            out["mine"] = "1"
        if self.raised:
            out["raised"] = "1"
        if self.due_to:
            out["due_to"] = self.due_to.isoformat()
        if self.q:
            out["q"] = self.q
        return out

    def apply(self, stmt: Select, on: date, user=None) -> Select:
        if self.statuses:
            stmt = stmt.where(Item.status.in_(self.statuses))
        if self.open_only or self.light:
            stmt = stmt.where(Item.status.in_(ITEM_OPEN))
        if self.light:
            stmt = stmt.where(light_sql(on) == self.light)
        if self.categories:
            stmt = stmt.where(Item.category.in_(self.categories))
        if self.unit:
            stmt = stmt.where(unit_clause(self.unit))
        if self.project_id:
            stmt = stmt.where(Item.project_id == self.project_id)
        if self.mine and user is not None:
            stmt = stmt.where(my_unit_clause(user))
        if self.raised and user is not None:
            stmt = stmt.where(Item.created_by_id == user.id)
        if self.due_to:
            stmt = stmt.where(Item.deadline <= self.due_to)
        if self.q:
            stmt = stmt.where(
                or_(
                    Item.description.contains(self.q, autoescape=True),
                    Item.project_id.in_(
                        select(Project.id).where(Project.name.contains(self.q, autoescape=True))
                    ),
                )
            )
        return stmt


def unit_key(division_id: int | None, district_id: int | None, department: str | None) -> str:
    if division_id is not None:
        return f"v{division_id}"
    if district_id is not None:
        return f"d{district_id}"
    return f"o:{department}"


def unit_clause(key: str):
    if key.startswith("o:"):
        return Item.department == key[2:]
    ident = record_id(key[1:])
    if key[:1] == "v" and ident is not None:
        return Item.division_id == ident
    if key[:1] == "d" and ident is not None:
        return Item.district_id == ident
    return Item.id.is_(None)  # an unknown unit: nothing, rather than everything


def my_unit_clause(user):
    """Items given to the user's own unit (their division, or their district)."""
    if getattr(user, "role", None) == DISTRICT:
        return Item.district_id == user.district_id
    if getattr(user, "division_id", None):
        return Item.division_id == user.division_id
    return Item.id.is_(None)


ROW_LOADS = (
    joinedload(Item.project).joinedload(Project.district),
    joinedload(Item.division),
    joinedload(Item.district),
    joinedload(Item.created_by),
)


def item_query(filters: ItemFilter, user, on: date | None = None) -> Select:
    """The items `user` may see that match `filters`: open ones first, the worst light first, then
    by deadline; with what a row prints."""
    on = on or today_local()
    stmt = filters.apply(select(Item), on, user).options(*ROW_LOADS)
    rank = case((Item.status.in_(ITEM_OPEN), 0), else_=1)
    return scoped(stmt, Item, user).order_by(rank, Item.deadline, Item.id)


@dataclass
class UnitCount:
    key: str
    name: str
    kind: str
    open: int
    red: int
    yellow: int
    green: int
    closed: int
    closed_late: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.open + self.closed + self.cancelled


def unit_counts(stmt: Select, on: date) -> list[UnitCount]:
    """Per responsible unit, of the items `stmt` selects: open (and by light), closed (and how many
    late), withdrawn — one grouped query. Worst first: most red, then most open."""
    light = light_sql(on)
    late = and_(Item.status == ItemStatus.CLOSED, Item.closed_on > Item.deadline)

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    # The list's own statement, grouped: its filters and scope as they are (an IN over it is
    # planned badly by SQLite when the filter is the light).
    grouped = (
        stmt.with_only_columns(
            Item.division_id,
            Item.district_id,
            Item.department,
            count(Item.status.in_(ITEM_OPEN)),
            count(light == RED),
            count(light == YELLOW),
            count(light == GREEN),
            count(Item.status == ItemStatus.CLOSED),
            count(late),
            count(Item.status == ItemStatus.CANCELLED),
        )
        .order_by(None)
        .group_by(Item.division_id, Item.district_id, Item.department)
    )
    rows = db.session.execute(grouped).all()
    divisions = {
        d.id: d
        for d in db.session.scalars(select(Division).where(Division.id.in_({r[0] for r in rows if r[0]})))
    }
    districts = {
        d.id: d
        for d in db.session.scalars(select(District).where(District.id.in_({r[1] for r in rows if r[1]})))
    }
    counts = []
    for division_id, district_id, department, *numbers in rows:
        unit = Unit(divisions.get(division_id), districts.get(district_id), department)
        counts.append(
            UnitCount(
                unit_key(division_id, district_id, department),
                unit.name,
                unit.kind,
                *(int(n or 0) for n in numbers),
            )
        )
    return sorted(counts, key=lambda c: (-c.red, -c.open, c.name))


def light_counts(stmt: Select, on: date) -> dict[str, int]:
    """Of the items `stmt` selects: how many open, and red, yellow, green — one query."""
    light = light_sql(on)
    row = db.session.execute(
        stmt.with_only_columns(
            func.sum(case((Item.status.in_(ITEM_OPEN), 1), else_=0)),
            func.sum(case((light == RED, 1), else_=0)),
            func.sum(case((light == YELLOW, 1), else_=0)),
            func.sum(case((light == GREEN, 1), else_=0)),
        ).order_by(None)
    ).one()
    return {
        "open": int(row[0] or 0),
        RED: int(row[1] or 0),
        YELLOW: int(row[2] or 0),
        GREEN: int(row[3] or 0),
    }


def project_items(project: Project, user) -> list[Item]:
    """A project's items as its page lists them (the user reads the project, so every item)."""
    return list(db.session.scalars(item_query(ItemFilter(project_id=project.id), user)))
