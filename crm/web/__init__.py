"""The pages: one blueprint per area, thin views over the services and read models below."""

from flask import Flask
from markupsafe import Markup

from crm.core.amounts import plain_number
from crm.core.pagination import page_url, same_query_url
from crm.core.timeutil import format_local, format_wan, shown_value
from crm.industry.service import catalogue_entries
from crm.leads.models import LeadStage
from crm.projects import measures
from crm.projects.models import ProjectStage
from crm.web import (
    admin,
    attachments,
    audit,
    auth,
    briefs,
    enterprises,
    events,
    funds,
    handovers,
    health,
    imports,
    industry,
    items,
    leads,
    main,
    notifications,
    projects,
    racing,
    rankings,
    search,
    tokens,
)
from crm.web.nav import nav_badges, navigation, unread_notifications

BLUEPRINTS = (
    auth.bp,
    main.bp,
    search.bp,
    enterprises.bp,
    leads.bp,
    events.bp,
    imports.bp,
    projects.bp,
    items.bp,
    handovers.bp,
    funds.bp,
    attachments.bp,
    briefs.bp,
    notifications.bp,
    rankings.bp,
    racing.bp,
    industry.bp,
    admin.bp,
    audit.bp,
    tokens.bp,
    health.bp,
)


def money(value) -> Markup:
    """An amount as officials read it (万元 / 亿元), never broken between the number and its unit."""
    text = format_wan(value)
    return Markup('<span class="text-nowrap">{}</span>').format(text) if text else Markup("")


def register(app: Flask) -> None:
    """Register every page blueprint and the template helpers they use."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["shown"] = shown_value
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["plain"] = plain_number
    app.jinja_env.globals.update(
        navigation=navigation,
        catalogue_choices=lambda: catalogue_entries(include_retired=False),
        nav_badges=nav_badges,
        unread_notifications=unread_notifications,
        # A figure's 统计口径 sentence and name, from the definitions in force.
        definition=lambda key: measures.current().definition(key),
        measure_label=lambda key: measures.current().label(key),
        page_url=page_url,
        same_query_url=same_query_url,
        # Templates compare stages with the enumerations, never with spelled-out words.
        LeadStage=LeadStage,
        ProjectStage=ProjectStage,
    )
