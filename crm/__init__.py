"""链招 (Lianzhao): the investment-attraction CRM for Chongqing's advanced-materials clusters."""

from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.config import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Everything is served by the app itself: no CDN, no inline script.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}

# Endpoints whose answers hold no data: the app's CSS, JS and fonts (Bootstrap's included).
CACHEABLE_ENDPOINTS = {"static", "bootstrap.static"}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # Every <int:…> in a URL is bounded to what a database integer holds: a longer number is a 404.
    from crm.core.converters import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(settings(app.instance_path))
    app.config.update(overrides or {})
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind nginx: the client's address and scheme come from the headers nginx sets.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from crm import (
        api,
        cli,
        models,  # noqa: F401  (every model registered before anything uses the metadata)
        web,
    )
    from crm.projects import measures
    from crm.rankings import activity, racing
    from crm.supervision import rules as deadlines

    measures.install(app)  # a 统计口径 file that cannot be used stops the start, in Chinese
    racing.install(app)  # so does a 赛马榜 file (groups, rankings, weights)
    activity.install(app)  # so does a 招商活跃指数 file
    deadlines.install(app)  # and a file of 督办 and 交办 deadlines
    from crm.audit import listeners
    from crm.auth.permissions import require_login
    from crm.auth.service import load_session_user
    from crm.auth.tokens import bearer_login
    from crm.core import requestlog
    from crm.core.inputs import reject_control_characters
    from crm.extensions import bootstrap, csrf, db, login_manager, migrate

    # Order matters: the request log's clock starts first (and its line is written last); then
    # unusable input is refused, then the login check, then CSRF (so an anonymous POST goes to
    # the login page, not to a CSRF error).
    requestlog.install(app)
    app.before_request(reject_control_characters)
    app.before_request(bearer_login)  # an API token logs its user in for that request only
    app.before_request(require_login)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
    listeners.install()

    web.register(app)  # after migrate.init_app: /healthz reads the migrations' head
    app.register_blueprint(api.bp)
    cli.register(app)

    from crm.core import errors

    errors.register(app)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # Pages, exports and API answers hold the bureau's data: no browser or proxy keeps a copy
        # (a shared office PC's back button, a proxy's cache). Our own static files may be cached.
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response

    return app
