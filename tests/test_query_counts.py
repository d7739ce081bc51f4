"""No page costs a query per row: every page of the page benchmark (bench/pages.py: the lists,
searches, details, dashboard, map, catalogue, briefs, API lists and exports, as each role) sends
as many SQL statements with the demo data plus 2 000 more firms, 400 more leads and 100 more
projects as with 1 000, 200 and 50. XLSX exports read in batches of rows (a few statements per
batch, tests/test_exports.py); here they are held to the same bound as every page."""

from sqlalchemy import event

from bench.pages import demo_accounts, login, pages, prepare
from crm.config import CHEAP_PASSWORD_HASHING
from crm.extensions import db
from tests.test_backup import app_on, cli, clone_database, demo_database

# Bounds the suite can hold on any machine; the speed goals themselves are benchmarks
# (python -m bench.pages), not tests.
MOST_STATEMENTS = 40
MOST_FOR_A_BRIEF = 70  # a brief gathers some thirty figures, each its own aggregate
SKIPPED_KINDS = {"pdf"}  # a PDF's queries are its preview's (measured); WeasyPrint would add minutes
GROWING_KINDS = {"export"}  # read a batch of rows at a time: bounded per batch, not per row


def _statements(app, measured, accounts) -> dict[str, int]:
    clients, counts, sent = {}, {}, [0]

    def count(*_args):
        sent[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for page in measured:
            if page.role not in clients:
                clients[page.role] = login(app, accounts[page.role])
            clients[page.role].get(page.url)  # warm: the matcher, the caches of the map
            # The fewer of two requests: kept figures are keyed by the data version, which on
            # PostgreSQL includes the oldest running transaction — an autovacuum ANALYZE after the
            # bulk scale inserts can move it between the warm-up and the measure, once.
            seen = []
            for _ in range(2):
                sent[0] = 0
                response = clients[page.role].get(page.url)
                assert response.status_code == page.expect, (page.key, page.role, response.status_code)
                seen.append(sent[0])
            counts[f"{page.role} {page.key}"] = min(seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counts


def test_no_page_sends_more_queries_with_more_data(tmp_path, tmp_path_factory):
    url = clone_database(demo_database(tmp_path_factory), tmp_path, "counts")
    with app_on(url, WTF_CSRF_ENABLED=False, **CHEAP_PASSWORD_HASHING) as app:
        prepare(app, import_rows=30)
        # The accounts the pages were picked for: which district account is busiest changes as
        # the scale data arrives, and another district's ids would be its 404s.
        with app.app_context():
            accounts = demo_accounts()
        measured = [p for p in pages(app, accounts) if p.method == "GET" and p.kind not in SKIPPED_KINDS]
        exporting = {p.key for p in measured if p.kind in GROWING_KINDS}
        assert len({p.key for p in measured}) >= 40 and len({p.role for p in measured}) == 4  # admin too

        # Demo data plus 1 000 firms, then plus 2 000: every list and column has rows at both sizes,
        # so a difference can only be a query per row.
        counts = []
        for factor in ("0.01", "0.02"):
            result = cli(app, "demo", "scale", "--factor", factor)
            assert result.exit_code == 0, result.output
            counts.append(_statements(app, measured, accounts))
        before, after = counts

    grown = {
        page: (before[page], after[page])
        for page in before
        if after[page] > before[page] and page.split()[1] not in exporting
    }
    assert grown == {}, "这些页面的查询数随数据增长（前，后）"
    heavy = {
        page: count
        for page, count in after.items()
        if count > (MOST_FOR_A_BRIEF if "briefs.preview" in page else MOST_STATEMENTS)
    }
    assert heavy == {}
