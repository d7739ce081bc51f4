"""The navigation bar, by role: each user sees only what they may open."""

from flask_login import current_user

from crm.auth.models import ADMIN, DISTRICT, MANAGER, OFFICER
from crm.core.timeutil import today_local
from crm.inbox.service import RECEIVERS, unread_count
from crm.leads.service import LEAD_WORKERS, due_count
from crm.projects.service import updates_due_count

# (endpoint, label, roles allowed): a page appears in the bar for the roles that may open it.
EVERYONE = (OFFICER, MANAGER, DISTRICT, ADMIN)
NAV_ITEMS = [
    ("main.home", "首页", EVERYONE),
    ("enterprises.index", "企业库", EVERYONE),
    ("leads.todo", "我的待办", (OFFICER, MANAGER)),
    ("leads.index", "招商线索", EVERYONE),
    ("projects.mine", "本区项目", (DISTRICT,)),
    ("projects.index", "招商项目", EVERYONE),
    ("events.index", "招商活动", (OFFICER, MANAGER, DISTRICT)),
    ("items.index", "督办", (OFFICER, MANAGER, DISTRICT)),  # 督办事项; 线索交办 beside it
    ("briefs.index", "周报", (OFFICER, MANAGER, DISTRICT)),
    ("rankings.activity", "排名", (OFFICER, MANAGER, DISTRICT)),  # 活跃指数; 赛马榜 on a tab
    ("industry.industry_map", "产业地图", EVERYONE),  # 招商目录 and 产业集群 are its tabs
    ("funds.funds_report", "到位资金", EVERYONE),
    ("audit.index", "审计日志", (MANAGER, ADMIN)),
    ("admin.users", "用户管理", (ADMIN,)),
]


def navigation() -> list[tuple[str, str]]:
    """The (endpoint, label) pairs the current user may open."""
    if not current_user.is_authenticated:
        return []
    return [(endpoint, label) for endpoint, label, roles in NAV_ITEMS if current_user.role in roles]


def nav_badges() -> dict[str, int]:
    """Counts of work waiting, shown beside their menu items: follow-ups due today or overdue on
    我的待办, projects needing an update this week on 本区项目 — each the count of the list it opens."""
    if not current_user.is_authenticated:
        return {}
    today = today_local()
    if current_user.role in LEAD_WORKERS:
        return {"leads.todo": due_count(current_user, today)}
    if current_user.role == DISTRICT:
        return {"projects.mine": updates_due_count(current_user, today)}
    return {}


def unread_notifications() -> int | None:
    """The bell's count: the person's unread notifications; None for those told nothing (admins)."""
    if not current_user.is_authenticated or current_user.role not in RECEIVERS:
        return None
    return unread_count(current_user)
