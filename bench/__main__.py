"""Foundation benchmarks: set-up when already done, page latency, audit-log overhead.

Run with `make bench` (or `.venv/bin/python -m bench`). Prints figures; asserts nothing.
"""

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.config import CHEAP_PASSWORD_HASHING

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(samples: list[float]) -> str:
    p95 = sorted(samples)[int(len(samples) * 0.95)]
    return f"中位数 {statistics.median(samples) * 1000:.1f} ms，P95 {p95 * 1000:.1f} ms"


def bench_setup_noop() -> None:
    """`make setup` on a machine that already has everything: it must be quick."""
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    print(f"make setup（已就绪）：{min(runs):.2f} s（3 次中最快）")


def _app(tmp: str):
    from flask_migrate import upgrade

    from crm import create_app
    from crm.extensions import db
    from crm.industry.loader import load_map

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
            "WTF_CSRF_ENABLED": False,
            **CHEAP_PASSWORD_HASHING,  # measure pages, not hundreds of Argon2 hashes
        }
    )
    with app.app_context():
        upgrade()
        load_map()
        db.session.commit()
    return app


def bench_pages(app) -> None:
    """Latency of the main pages for a logged-in admin, through the whole Flask stack."""
    from crm.auth.service import create_user
    from crm.extensions import db

    with app.app_context():
        create_user("bench_admin", "bench-password", "admin")
        for i in range(300):
            create_user(f"u{i:03d}", "bench-password", "officer")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "bench_admin", "password": "bench-password"})
    for url in (
        "/",
        "/admin/users",
        "/audit/",
        "/api/v1/me",
        "/map",
        "/catalogue",
        "/clusters/matrix",
        "/clusters/NS",
        "/catalogue/CH-PA-03",
        "/catalogue/export.xlsx",
    ):
        samples = []
        for _ in range(30):
            start = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, url
        print(f"GET {url:<14} {_median_ms(samples)}")


def bench_map_load(tmp: str) -> None:
    """`flask map load` into an empty database, then again with nothing to change."""
    from flask_migrate import upgrade

    from crm import create_app
    from crm.extensions import db
    from crm.industry.loader import load_map

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/map.sqlite3"})
    with app.app_context():
        upgrade()
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            load_map()
            db.session.commit()
            timings.append(time.perf_counter() - start)
    print(f"map load：空库 {timings[0]:.2f} s，再次载入（无变化）{timings[1]:.2f} s")


def bench_audit_overhead(app) -> None:
    """What the audit listener adds to a flush of inserts and updates."""
    from crm.audit.listeners import _after_flush, _before_flush
    from crm.extensions import db
    from crm.places.models import District

    def run(label: str, prefix: str) -> float:
        with app.app_context():
            start = time.perf_counter()
            for batch in range(20):
                rows = [District(name=f"{prefix}{batch}-{i}", kind="区", aliases=[]) for i in range(50)]
                db.session.add_all(rows)
                db.session.flush()
                for row in rows:
                    row.sort_order = 1
                db.session.commit()
            return time.perf_counter() - start

    with_audit = run("with", "A")
    event.remove(Session, "before_flush", _before_flush)
    event.remove(Session, "after_flush", _after_flush)
    try:
        without = run("without", "B")
    finally:
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
    per_row = (with_audit - without) / 2000 * 1e6
    print(
        f"审计日志开销：1000 行插入 + 1000 行更新 {with_audit:.2f} s（无审计 {without:.2f} s），"
        f"每次变更约 {per_row:.0f} µs"
    )


def _profiles(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Generated firm profiles: catalogue and trade words mixed with ordinary business words."""
    import random

    from crm.industry.service import catalogue_entries
    from crm.matching.vocabulary import load_vocabulary

    rng = random.Random(seed)
    words = [e.title for e in catalogue_entries(include_retired=False)]
    words += list(dict.fromkeys(t for group in load_vocabulary().groups for t in group.terms))
    filler = [
        "研发、生产和销售",
        "及相关技术服务",
        "产品广泛应用于汽车、电子、建筑等领域",
        "进出口业务",
        "年产能 10 万吨",
    ]
    profiles = []
    for number in range(count):
        parts = rng.sample(words, rng.randint(2, 5)) + rng.sample(filler, rng.randint(0, 2))
        rng.shuffle(parts)
        profiles.append((f"测试企业{number}有限公司", "、".join(parts)))
    return profiles


def bench_matching(app, tmp: str) -> None:
    """One profile (median and P95 of 2 000), and 100 000 generated profiles on one core: in
    process, and end to end through `flask match FILE.csv` (start-up and JSON output included)."""
    import csv
    import os
    import sys

    from crm.readmodels.matching import build_matcher

    with app.app_context():
        start = time.perf_counter()
        matcher = build_matcher()
        built = time.perf_counter() - start
        profiles = _profiles(100_000)
    singles = []
    for name, products in profiles[:2000]:
        start = time.perf_counter()
        matcher.match(name, products)
        singles.append(time.perf_counter() - start)
    start = time.perf_counter()
    for name, products in profiles:
        matcher.match(name, products, limit=5).as_json(name, 5)
    in_process = time.perf_counter() - start
    path = Path(tmp) / "profiles.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "products"])
        writer.writerows(profiles)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
    start = time.perf_counter()
    # taskset pins the command to one core, as the goal asks.
    command = ["taskset", "-c", "0", sys.executable, "-m", "flask", "--app", "app", "match", str(path)]
    with open(os.devnull, "w") as sink:
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=sink)
    end_to_end = time.perf_counter() - start
    print(
        f"匹配：建索引 {built * 1000:.0f} ms；单次匹配{_median_ms(singles)}；"
        f"10 万条画像 {in_process:.1f} s（进程内），"
        f"{end_to_end:.1f} s（flask match 命令，含启动与输出，单核）"
    )


def bench_briefs(app) -> None:
    """One cluster brief against WeasyPrint alone on the same final HTML (median of 3, after a
    warm-up), and all 14 briefs, on the demo data."""
    from datetime import UTC, datetime

    from weasyprint import HTML

    from crm.cli.demo import load_demo_accounts
    from crm.cli.demo_data import load_demo_data
    from crm.core.timeutil import today_local
    from crm.core.weeks import week_of
    from crm.extensions import db
    from crm.industry.service import all_clusters
    from reports.figures import Scope, gather
    from reports.render import brief_html, html_to_pdf

    with app.app_context():
        load_demo_accounts()
        load_demo_data()
        db.session.commit()
        week = week_of(today_local())

        def whole(scope):
            return html_to_pdf(brief_html(gather(scope, week, datetime.now(UTC), today_local())))

        whole(Scope("LA"))  # warm-up: fonts and WeasyPrint's own caches
        html = brief_html(gather(Scope("LA"), week, datetime.now(UTC), today_local()))
        ours, theirs = [], []
        for _ in range(3):
            start = time.perf_counter()
            whole(Scope("LA"))
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            HTML(string=html, base_url=str(ROOT / "reports" / "templates")).write_pdf()
            theirs.append(time.perf_counter() - start)
        scopes = [Scope(c.code) for c in all_clusters()] + [Scope()]
        start = time.perf_counter()
        for scope in scopes:
            whole(scope)
        every = time.perf_counter() - start
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(
        f"周报：轻合金一份 {statistics.median(ours):.2f} s，WeasyPrint 单独渲染同一 HTML "
        f"{statistics.median(theirs):.2f} s（{ratio:.2f} 倍）；全部 {len(scopes)} 份 {every:.1f} s"
    )


def bench_upload_bombs() -> None:
    """Upload bombs and ordinary files through the bounded reader (bench/upload_bombs.py)."""
    from bench.upload_bombs import main as upload_bombs

    upload_bombs()


def main() -> None:
    bench_setup_noop()
    with tempfile.TemporaryDirectory() as tmp:
        bench_map_load(tmp)
        app = _app(tmp)
        bench_pages(app)
        bench_audit_overhead(app)
        bench_matching(app, tmp)
        bench_briefs(app)
    bench_upload_bombs()


if __name__ == "__main__":
    main()
