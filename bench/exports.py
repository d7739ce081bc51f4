"""XLSX export at province scale: wall time, peak memory, file size and rows read back.

    .venv/bin/python -m bench.exports [--rows 100000] [--database-url URL] [--scale] [--compare]

Fills a database (a new SQLite file, or the database at --database-url, e.g. PostgreSQL) up to
`--rows` enterprises with every exported column filled (bulk inserts, names drawn like the demo
data's), or with `--scale` through `flask demo scale`'s generator (then the lead and project exports
are measured too). Each export is then requested through the test client as a manager in a fresh
child process, whose body is written to disk chunk by chunk (so the client holds none of it): the
child's peak RSS (getrusage ru_maxrss) is the server side's. The filling runs in a process of its
own too: Linux carries a process's RSS at fork over into the child's ru_maxrss, so a parent grown by
the filling would lend the children its size. A filtered export of about a sixth of
the firms runs first, so memory that grew with the rows would show as a difference. `--compare`
also runs the previous export (openpyxl's normal mode over a list of every row) in the same way.
Prints figures; asserts nothing. Goal (issue 14): 100 000 rows ≤ 60 s and ≤ 300 MB peak.
"""

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, insert, select, text

from crm import create_app
from crm.auth.models import MANAGER
from crm.auth.service import create_user, find_user
from crm.cli.demo_data import BRANDS, HQ_CITIES, PLACES, SURNAMES, _credit_code
from crm.cli.scale import add_scale_data
from crm.config import CHEAP_PASSWORD_HASHING
from crm.core.excel import XLSX
from crm.enterprises.models import EXCHANGES, HONOURS, OWNERSHIPS, Enterprise, enterprise_entries
from crm.enterprises.names import name_key
from crm.extensions import db
from crm.industry.loader import load_map
from crm.industry.service import catalogue_entries
from crm.matching.terms import normalise
from crm.places.service import all_districts
from crm.web import enterprises, exports, leads, projects

ROOT = Path(__file__).resolve().parent.parent
USERNAME, PASSWORD = "bench_exports", "bench-exports-password"
BATCH = 5_000
SEED = 2029
CORES = ["", "科技", "新材料", "材料科技", "实业", "技术"]
SCOPES = [
    "一般项目：新材料技术研发；合成材料制造（不含危险化学品）；合成材料销售；技术服务、技术开发、技术咨询",
    "许可项目：危险化学品生产；一般项目：化工产品生产（不含许可类化工产品）；货物进出口；技术进出口",
    "有色金属合金制造；有色金属压延加工；金属材料销售；新材料技术推广服务",
]


def _config(url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        **CHEAP_PASSWORD_HASHING,  # measure the export, not the login
    }


def _say(text: str) -> None:
    print(text, flush=True)


def prepare(url: str, rows: int, scale: bool) -> None:
    """Migrate, load the map, create the bench manager and add firms up to `rows`."""
    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count()).select_from(db.metadata.tables["catalogue_entries"])):
            load_map()
        if find_user(USERNAME) is None:
            create_user(USERNAME, PASSWORD, MANAGER, display_name="导出基准")
        db.session.commit()
        have = db.session.scalar(select(func.count()).select_from(Enterprise))
        start = time.perf_counter()
        if have >= rows:
            _say(f"库中已有 {have} 家企业，不再添加")
        elif scale:
            add_scale_data(rows / 100_000, lambda line: None)
        else:
            _add_firms(rows - have)
        if db.engine.dialect.name == "postgresql":
            # A running server has statistics of its tables; a just-filled one would plan blind.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(Enterprise))
        _say(
            f"准备数据：企业 {total} 家（用时 {time.perf_counter() - start:.1f} s，{db.engine.dialect.name}）"
        )
        db.engine.dispose()


def _add_firms(count: int) -> None:
    """`count` firms with every exported column filled, 15 % of them local, inserted in bulk."""
    # (id, keywords, the first four districts it suits) of each entry: plain values, read once.
    entries = [
        (e.id, list(e.keywords), [d.id for d in e.suitable_districts()[:4]])
        for e in catalogue_entries(include_retired=False)
        if e.suitable_districts()
    ]
    words = sorted({e.title for e in catalogue_entries(include_retired=False)})
    districts = tuple(d.name for d in all_districts())
    first_id = (db.session.scalar(select(func.max(Enterprise.id))) or 0) + 1
    space = len(BRANDS) * (len(BRANDS) - 1) * len(words) * len(CORES)
    # n → n × a prime, modulo the name space: every number its own name, spread over the space.
    offset, step = first_id, 1_000_003
    firms, links = [], []
    for n in range(count):
        rng = random.Random(SEED * 1_000_003 + first_id + n)
        pick, core = divmod((offset + n) * step % space, len(CORES))
        pick, word = divmod(pick, len(words))
        first, second = divmod(pick, len(BRANDS) - 1)
        second += second >= first
        local = rng.random() < 0.15
        province = "重庆" if local else rng.choice(PLACES)
        name = f"{province}{BRANDS[first]}{BRANDS[second]}{words[word]}{CORES[core]}有限公司"
        entry_id, keywords, suited = rng.choice(entries)
        products = "、".join(rng.sample(keywords, min(len(keywords), 3))) + "；相关制品"
        code = _credit_code(rng, province)
        firm_id = first_id + n
        listed = rng.random() < 0.1
        firms.append(
            {
                "id": firm_id,
                "kind": "local" if local else "target",
                "name": name,
                "name_key": name_key(name, districts),
                "alias_keys": "",
                "credit_code": code,
                "former_names": [f"{BRANDS[second]}{BRANDS[first]}{words[word]}有限公司"]
                if n % 7 == 0
                else [],
                "ownership": rng.choice(OWNERSHIPS),
                "hq_province": province,
                "hq_city": "重庆" if local else HQ_CITIES[province],
                "district_id": rng.choice(suited) if local else None,
                "listed_exchange": rng.choice(EXCHANGES[:3]) if listed else None,
                "listed_code": f"{600000 + n % 4000}" if listed else None,
                "revenue_wan": rng.choice([None, 30_000, 120_000, 560_000, 1_300_000]),
                "honours": rng.sample(HONOURS, rng.choice([0, 1, 2])),
                "products": products,
                "description": "",
                "legal_representative": rng.choice(SURNAMES) + "某",
                "registered_capital": f"{rng.randint(100, 90_000)}万元人民币",
                "established_on": date(1990, 1, 1) + timedelta(days=rng.randint(0, 12_000)),
                "business_scope": rng.choice(SCOPES),
                "search_text": " ".join(normalise(part) for part in (name, code, products)),
                "created_at": datetime(2026, 1, 1, tzinfo=UTC),
                "version": 1,
            }
        )
        for linked in {entry_id, *(extra[0] for extra in rng.sample(entries, rng.randint(0, 2)))}:
            links.append({"enterprise_id": firm_id, "entry_id": linked})
        if len(firms) == BATCH or n == count - 1:
            db.session.execute(insert(Enterprise.__table__), firms)
            db.session.execute(insert(enterprise_entries), links)
            db.session.commit()
            _say(f"  企业：{n + 1}/{count}")
            firms, links = [], []
    if db.engine.dialect.name == "postgresql":  # ids were given: the sequence continues after them
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('enterprises', 'id'),"
                " (SELECT max(id) FROM enterprises))"
            )
        )
        db.session.commit()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds() -> float:
    # CPU time, beside the wall time: on a machine shared with other work it is the steadier figure.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _previous_send_xlsx(table_name, title, columns, rows, download_name):
    """The export before issue 14: every row in a list, openpyxl's normal mode, bytes in memory."""
    rows = list(rows)
    book = Workbook()
    sheet = book.active
    sheet.append([header for header, _, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([value(row) for _, value, _ in columns])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return exports.send_export(
        table_name, buffer.getvalue(), len(rows), download_name, XLSX, as_attachment=True
    )


def child(url: str, path: str, out: str, previous: bool) -> None:
    """In a fresh process: log in, export `path` into the file `out`, print the figures as JSON."""
    app = create_app(_config(url))
    if previous:
        for module in (exports, enterprises, leads, projects):
            module.send_xlsx = _previous_send_xlsx
    client = app.test_client()
    assert client.post("/login", data={"username": USERNAME, "password": PASSWORD}).status_code == 302
    before = _rss_mb()
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    response = client.get(path, buffered=False)
    served = time.perf_counter() - start
    assert response.status_code == 200, response.status_code
    with open(out, "wb") as handle:
        for chunk in response.response:  # as a server would send it, a piece at a time
            handle.write(chunk)
    response.close()
    total = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows, reading = _read_back(out)  # after the peak was taken: openpyxl's reading is not the export's
    figures = {"served": served, "total": total, "cpu": cpu, "before_mb": before, "peak_mb": peak}
    print(json.dumps({**figures, "rows": rows, "reading": reading, "size_mb": os.path.getsize(out) / 2**20}))


def _measure(url: str, path: str, out: str, previous: bool = False) -> dict:
    command = [sys.executable, "-m", "bench.exports", "--child", url, path, out]
    if previous:
        command.append("--previous")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"子进程失败：\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _prepare_apart(url: str, rows: int, scale: bool) -> None:
    command = [sys.executable, "-m", "bench.exports", "--prepare", url, str(rows)]
    if scale:
        command.append("--scale")
    if subprocess.run(command, cwd=ROOT, check=False).returncode:
        raise SystemExit("准备数据失败")


def _read_back(out: str) -> tuple[int, float]:
    start = time.perf_counter()
    book = load_workbook(out, read_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    book.close()
    return rows, time.perf_counter() - start


def report(url: str, path: str, label: str, previous: bool = False) -> None:
    """Measure one export in a child and print a line of figures."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = _measure(url, path, str(Path(tmp) / "export.xlsx"), previous)
    print(
        f"{label:<22} {figures['rows']:>7} 行  {figures['total']:6.1f} s（服务端 {figures['served']:.1f} s，"
        f"CPU {figures['cpu']:.1f} s）"
        f"  峰值内存 {figures['peak_mb']:5.0f} MB（请求前 {figures['before_mb']:.0f} MB）"
        f"  文件 {figures['size_mb']:5.1f} MB  读回 {figures['reading']:.1f} s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="企业数（默认 100000）")
    parser.add_argument("--database-url", help="数据库 URL（默认：临时 SQLite 文件）")
    parser.add_argument(
        "--scale", action="store_true", help="用 flask demo scale 的生成器填充（含线索、项目）"
    )
    parser.add_argument("--compare", action="store_true", help="同时测量改造前的导出方式")
    parser.add_argument("--child", nargs=3, metavar=("URL", "PATH", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--previous", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=2, metavar=("URL", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, previous=args.previous)
        return
    if args.prepare:
        prepare(args.prepare[0], int(args.prepare[1]), args.scale)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/exports.sqlite3"
        _prepare_apart(url, args.rows, args.scale)
        print(f"核数 {os.cpu_count()}；每项一个新子进程，峰值内存为该进程 ru_maxrss", flush=True)
        report(url, "/enterprises/export.xlsx?kind=local", "企业库（本地企业）")
        report(url, "/enterprises/export.xlsx", "企业库（全部）")
        if args.compare:
            report(url, "/enterprises/export.xlsx?kind=local", "改造前 企业库（本地）", previous=True)
            report(url, "/enterprises/export.xlsx", "改造前 企业库（全部）", previous=True)
        if args.scale:
            report(url, "/leads/export.xlsx", "招商线索（全部）")
            report(url, "/projects/export.xlsx", "招商项目（全部）")


if __name__ == "__main__":
    main()
