"""Import benchmark (issue 14): upload and preview, a preview page, and confirm of N enterprise rows,
while another user keeps saving.

    .venv/bin/python -m bench.imports [--rows 20000] [--existing 2000] [--factor F] [--database-url URL]

Builds a database (an SQLite file in a temporary directory, or with --database-url a PostgreSQL
one: on the server's maintenance database `postgres`, a fresh database lz_bench_imports beside it;
TEST_DATABASE_URL, as scripts/with-postgres.sh sets it, is the default), migrated with the map
loaded, and firms on file: `--existing` of them imported first, or with `--factor` the scale data of
`flask demo scale`. Then it writes an XLSX and a CSV of N realistic rows as an enterprise-database
export looks (names, products and catalogue codes drawn like crm/cli/demo_data.py; a few rows update
firms on file by credit code, a few carry the name of a firm on file, some local firms with their
district) and, through the whole Flask stack as an officer: uploads each (read, map, check every
row), opens preview pages, and confirms the XLSX's batch — meanwhile a thread saves a new
enterprise as another user every 0.25 s and notes how long each save waited. Prints the figures;
asserts nothing.
"""

import argparse
import csv
import io
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from flask_migrate import upgrade
from openpyxl import Workbook
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.auth.service import create_user
from crm.cli.demo_data import BRANDS, HQ_CITIES, PLACES, SURNAMES, _credit_code
from crm.config import CHEAP_PASSWORD_HASHING, normalise_database_url
from crm.core.actor import acting_as
from crm.enterprises.models import Enterprise
from crm.enterprises.names import name_key
from crm.enterprises.service import create_enterprise
from crm.extensions import db
from crm.imports.models import ImportBatch
from crm.industry.loader import load_map
from crm.industry.service import catalogue_entries
from crm.places.service import all_districts

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-import-password"
HEADER = [
    "企业名称",
    "登记状态",
    "法定代表人",
    "注册资本",
    "成立日期",
    "统一社会信用代码",
    "所属省份",
    "所属城市",
    "经营范围",
    "主营产品",
    "企业类别",
    "所在区县",
    "目录条目代码",
]
GIVEN = "伟 芳 敏 静 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 华 平 刚 桂英".split()
FORMS = ["", "科技", "新材料", "材料科技", "实业"]
SCOPES = [
    "{p}的研发、生产、销售；货物进出口；技术进出口",
    "{p}制造；{p}销售；新材料技术研发；技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广",
    "一般项目：{p}生产；{p}销售；工程和技术研究和试验发展（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
]


class Firms:
    """Deterministic, realistic firms: every folded name distinct from every other."""

    def __init__(self, app, seed: int):
        self.rng = random.Random(seed)
        self.keys: set[str] = set()
        with app.app_context():
            self.entries = [
                (
                    e.code,
                    e.title,
                    e.chain.name,
                    list(e.keywords[:3]),
                    [d.name for d in e.suitable_districts()[:4]],
                )
                for e in catalogue_entries(include_retired=False)
            ]
            self.districts = tuple(n for d in all_districts() for n in (d.name, *d.aliases))

    def _name(self, province: str, word: str) -> str:
        while True:
            brand = "".join(self.rng.sample(BRANDS, 2))
            name = f"{province}{brand}{word}{self.rng.choice(FORMS)}有限公司"
            key = name_key(name, self.districts)
            if key not in self.keys:
                self.keys.add(key)
                return name

    def row(self) -> dict[str, str]:
        rng = self.rng
        code, title, chain, keywords, districts = rng.choice(self.entries)
        local = bool(districts) and rng.random() < 0.1
        province = "重庆" if local else rng.choice(PLACES)
        word = title.replace(" ", "").replace("—", "")
        word = word if len(word) <= 8 else chain
        products = "、".join(keywords) + f"；{chain}相关产品"
        founded = date(1995, 1, 1) + timedelta(days=rng.randrange(28 * 365))
        return {
            "企业名称": self._name(province, word),
            "登记状态": rng.choice(["存续", "在业"]),
            "法定代表人": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "注册资本": f"{rng.choice([500, 1000, 3000, 5000, 10000, 20000, 50000])}万元人民币",
            "成立日期": founded.isoformat(),
            "统一社会信用代码": _credit_code(rng, province),
            "所属省份": province + ("市" if province in ("重庆", "上海", "北京") else "省"),
            "所属城市": "重庆市" if local else HQ_CITIES[province] + "市",
            "经营范围": rng.choice(SCOPES).format(p=word),
            "主营产品": products,
            "企业类别": "本地培育库" if local else "招商目标",
            "所在区县": rng.choice(districts) if local else "",
            "目录条目代码": code if rng.random() < 0.5 else "",
        }


def xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def database_url(given: str | None, workdir: str) -> str:
    """--database-url (on PostgreSQL's maintenance database, a fresh lz_bench_imports beside it),
    else an SQLite file in `workdir`."""
    if not given:
        return f"sqlite:///{workdir}/bench-imports.sqlite3"
    url = normalise_database_url(given)
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.database != "postgres":
        return url
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "lz_bench_imports" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "lz_bench_imports"'))
    engine.dispose()
    return parsed.set(database="lz_bench_imports").render_as_string(hide_password=False)


def build_app(url: str, factor: float):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            **CHEAP_PASSWORD_HASHING,
        }
    )
    with app.app_context():
        upgrade()
        load_map()
        db.session.commit()
        for name in ("bench_importer", "bench_other"):
            create_user(name, PASSWORD, "officer")
        db.session.commit()
    if factor > 0:
        print(f"==> flask demo scale --factor {factor}", flush=True)
        started = time.perf_counter()
        command = [sys.executable, "-m", "flask", "--app", "app", "demo", "scale", "--factor", str(factor)]
        subprocess.run(command, cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True)
        print(f"   {time.perf_counter() - started:.0f} s", flush=True)
    return app


def login(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    return client


def cpu() -> float:
    """CPU seconds of this thread and of the reading children reaped so far: what the import cost
    the machine, apart from what other programs on it took (wall clock on a shared machine is not)."""
    children = os.times()
    return time.thread_time() + children.children_user + children.children_system


def upload(client, data: bytes, filename: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.post(
        "/imports/",
        data={"kind": "enterprises", "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    seconds = time.perf_counter() - started
    found = re.search(r"/imports/(\d+)", response.headers.get("Location", ""))
    if response.status_code != 302 or not found:
        message = re.findall(r"alert-danger[^>]*>([^<]+)", response.text)
        raise SystemExit(f"上传失败（{response.status_code}）：{message[:1]}")
    return int(found.group(1)), seconds


def batch_state(app, batch_id: int) -> tuple[str, int, dict]:
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        return batch.status, batch.version, dict(batch.result or {})


def confirm(app, client, batch_id: int) -> tuple[float, int]:
    """Confirm until the batch is imported (the request's time budget may need 继续导入); seconds
    and requests."""
    started = time.perf_counter()
    requests = 0
    while True:
        status, version, result = batch_state(app, batch_id)
        if status != "pending":
            return time.perf_counter() - started, requests
        if requests >= 10:
            raise SystemExit(f"导入未完成：{result.get('stopped')}")
        client.post(f"/imports/{batch_id}/confirm", data={"version": version})
        requests += 1


class OtherUser(threading.Thread):
    """Another officer saving a new firm every 0.25 s: how long each save took, and what failed."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app = app
        self.stop = threading.Event()
        self.waits: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        number = 0
        with self.app.app_context():
            while not self.stop.is_set():
                number += 1
                started = time.perf_counter()
                try:
                    with acting_as("bench_other"):
                        create_enterprise(
                            {"name": f"并发用户新建{number}号企业有限公司", "products": "碳纤维"}
                        )
                        db.session.commit()
                except Exception as error:  # what a user would have seen as an error
                    db.session.rollback()
                    self.failures.append(f"{type(error).__name__}: {error}"[:200])
                self.waits.append(time.perf_counter() - started)
                self.stop.wait(0.25)


def count_statements(app):
    """A counter of the SQL statements the main thread sends (the other user's are not counted)."""
    counted = {"n": 0}
    main = threading.get_ident()

    def count(*_args):
        if threading.get_ident() == main:
            counted["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    return counted


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="导入的行数（默认 20000）")
    parser.add_argument("--existing", type=int, default=2_000, help="先导入的在库企业数（默认 2000）")
    parser.add_argument("--factor", type=float, default=0, help="先运行 flask demo scale --factor F")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = database_url(args.database_url, workdir)
        app = build_app(url, args.factor)
        with app.app_context():
            dialect = db.engine.dialect.name
        print(f"数据库：{dialect}（{make_url(url).render_as_string(hide_password=True)}）", flush=True)
        print(f"负载：{os.getloadavg()[0]:.1f}（{os.cpu_count()} 核）", flush=True)
        firms = Firms(app, seed=14)
        client = login(app, "bench_importer")

        existing_rows = [firms.row() for _ in range(args.existing)]
        if existing_rows:
            batch_id, seconds = upload(
                client, xlsx([HEADER] + [[r[h] for h in HEADER] for r in existing_rows]), "在库.xlsx"
            )
            confirm_seconds, _ = confirm(app, client, batch_id)
            print(
                f"在库企业：导入 {args.existing} 家"
                f"（上传+预览 {seconds:.1f} s，确认 {confirm_seconds:.1f} s）",
                flush=True,
            )
        with app.app_context():
            on_file = db.session.scalar(select(func.count()).select_from(Enterprise))

        rows = []
        on_file_rows = iter(random.Random(7).sample(existing_rows, len(existing_rows)))  # each used once
        for index in range(args.rows):
            row = firms.row()
            known = next(on_file_rows, None) if index % 25 == 0 or index % 50 == 1 else None
            if known and index % 25 == 0:  # 4 %: a firm on file, by its credit code, new products
                row = {**known, "主营产品": row["主营产品"]}
            elif known:  # 2 %: the name of a firm on file, no code
                row = {**row, "企业名称": known["企业名称"], "统一社会信用代码": ""}
            rows.append([row[h] for h in HEADER])
        files = {"xlsx": xlsx([HEADER, *rows]), "csv": csv_bytes([HEADER, *rows])}
        print(
            f"文件：{args.rows} 行 × {len(HEADER)} 列；.xlsx {len(files['xlsx']) / 2**20:.1f} MB，"
            f".csv {len(files['csv']) / 2**20:.1f} MB；在库企业 {on_file} 家",
            flush=True,
        )

        statements = count_statements(app)
        spent = cpu()
        csv_batch, csv_seconds = upload(client, files["csv"], "导出.csv")
        print(f"上传+预览 .csv：{csv_seconds:.1f} s（CPU {cpu() - spent:.1f} s）", flush=True)
        client.post(f"/imports/{csv_batch}/cancel", data={"version": batch_state(app, csv_batch)[1]})
        statements["n"] = 0
        spent = cpu()
        batch_id, seconds = upload(client, files["xlsx"], "导出.xlsx")
        print(
            f"上传+预览 .xlsx：{seconds:.1f} s（CPU {cpu() - spent:.1f} s，{statements['n']} 条 SQL）",
            flush=True,
        )
        summary = batch_state(app, batch_id)[2]["preview"]["counts"]
        print(f"   预览：{summary}", flush=True)

        for label, query in (
            ("第 1 页", ""),
            ("第 50 页", "?page=50"),
            ("“更新”第 2 页", "?show=update&page=2"),
        ):
            times = []
            for _ in range(7):
                statements["n"] = 0
                started = time.perf_counter()
                response = client.get(f"/imports/{batch_id}{query}")
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            print(
                f"预览页 {label}：中位数 {ms(statistics.median(times))}（{statements['n']} 条 SQL）",
                flush=True,
            )

        other = OtherUser(app)
        other.start()
        time.sleep(1)  # the other user's saves before the import, for comparison
        before = len(other.waits)
        statements["n"] = 0
        spent = cpu()
        seconds, requests = confirm(app, client, batch_id)
        spent = cpu() - spent
        during = other.waits[before:]
        other.stop.set()
        other.join()
        status, _, result = batch_state(app, batch_id)
        print(
            f"确认导入：{seconds:.1f} s（CPU {spent:.1f} s，{args.rows / seconds:.0f} 行/秒，"
            f"{requests} 次请求，{statements['n']} 条 SQL）；"
            f"{status}：新建 {result.get('created')}，更新 {result.get('updated')}，"
            f"无变化 {result.get('unchanged')}，跳过 {result.get('skipped')}",
            flush=True,
        )
        if during:
            print(
                f"同时另一用户保存 {len(during)} 次：等待中位数 {ms(statistics.median(during))}，"
                f"最长 {ms(max(during))}；导入前 {ms(statistics.median(other.waits[:before] or [0]))}；"
                f"失败 {len(other.failures)} 次{('：' + other.failures[0]) if other.failures else ''}",
                flush=True,
            )
        with app.app_context():
            total = db.session.scalar(select(func.count()).select_from(Enterprise))
            mine = db.session.scalar(select(func.count()).where(Enterprise.name.like("并发用户新建%")))
        print(f"企业：{on_file} + 新建 {result.get('created')} + 另一用户 {mine} = {total}", flush=True)
        print(f"负载：{os.getloadavg()[0]:.1f}", flush=True)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
