"""Chinese search across enterprises, contacts and leads, ranked, within the user's scope.

Finding candidates: SQLite uses the FTS5 trigram index (search_fts, kept by triggers) for queries of
3 characters or more, and a plain substring test on the tables for 1–2 characters (trigrams cannot
match them; and LIKE on the FTS table itself returns nothing on SQLite 3.40). PostgreSQL uses
substring tests that its pg_trgm GIN indexes accelerate. Ranking is the same on both: exact name,
then name prefix, then name substring, then a hit in the other fields.

The trade is known too: a query is also looked for under its other spellings (the synonym groups:
尼龙66 finds PA66), and the matcher reads it as a product — 铝材 reaches the 铝合金 chain's entries,
轻合金 the light-alloy cluster's — so firms and leads filed under those catalogue entries are found,
ranked after every literal hit.
"""

from dataclasses import dataclass, replace

from sqlalchemy import func, or_, select, text

from crm.auth.permissions import scoped
from crm.enterprises.models import Contact, Enterprise, enterprise_entries
from crm.extensions import db
from crm.industry.models import CatalogueEntry, Cluster, entry_clusters
from crm.industry.service import spellings_of
from crm.leads.models import Lead
from crm.matching.terms import normalise
from crm.readmodels.matching import get_matcher

KIND_LABELS = {"enterprise": "企业", "contact": "联系人", "lead": "线索"}
CANDIDATES = 200


@dataclass
class Hit:
    """One result: what it is, its title, a detail line, where to open it, its score."""

    kind: str
    id: int
    title: str
    detail: str
    score: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _score(needle: str, name: str) -> int:
    folded = normalise(name)
    if folded == needle:
        return 100
    if folded.startswith(needle):
        return 80
    if needle in folded:
        return 60
    return 40


def _has(column, needle: str):
    return column.contains(needle, autoescape=True)


def _fts_ids(needle: str) -> dict[str, list[int]]:
    phrase = '"' + needle.replace('"', '""') + '"'
    rows = db.session.execute(
        text(
            "SELECT kind, ref_id FROM search_fts WHERE search_fts MATCH :q ORDER BY bm25(search_fts) LIMIT :n"
        ),
        {"q": phrase, "n": CANDIDATES * 3},
    )
    ids: dict[str, list[int]] = {"enterprise": [], "contact": [], "lead": []}
    for kind, ref_id in rows:
        ids[kind].append(int(ref_id))
    return ids


def _literal(needle: str, user) -> list[Hit]:
    """The records whose own text holds `needle`, scored by where."""
    use_fts = db.engine.dialect.name == "sqlite" and len(needle) >= 3
    ids = _fts_ids(needle) if use_fts else None
    enterprises = scoped(select(Enterprise), Enterprise, user).where(Enterprise.merged_into_id.is_(None))
    contacts = scoped(select(Contact), Contact, user).where(Contact.active.is_(True))
    leads = scoped(select(Lead), Lead, user)
    if ids is not None:
        enterprises = enterprises.where(Enterprise.id.in_(ids["enterprise"] or [0]))
        contacts = contacts.where(Contact.id.in_(ids["contact"] or [0]))
        leads = leads.where(Lead.id.in_(ids["lead"] or [0]))
    else:
        enterprises = enterprises.where(
            or_(_has(Enterprise.search_text, needle), _has(func.lower(Enterprise.name), needle))
        )
        # A phone holds digits, +, - and spaces, an address ASCII: a query that cannot occur in one
        # does not test it (at 100 000 contacts each test is a pass over the column).
        clauses = [_has(func.lower(Contact.name), needle)]
        if any(c.isdigit() for c in needle):
            clauses.append(_has(Contact.phone, needle))
        if needle.isascii():
            clauses.append(_has(func.lower(Contact.email), needle))
        contacts = contacts.where(or_(*clauses))
        leads = leads.where(_has(func.lower(Lead.title), needle))

    hits = [
        Hit("enterprise", e.id, e.name, e.credit_code or e.products[:40], _score(needle, e.name))
        for e in db.session.scalars(enterprises.limit(CANDIDATES))
    ]
    found_contacts = db.session.scalars(contacts.limit(CANDIDATES)).all()
    found_leads = db.session.scalars(leads.limit(CANDIDATES)).all()
    firms = _firm_names(
        [c.enterprise_id for c in found_contacts] + [lead.enterprise_id for lead in found_leads]
    )
    hits += [
        Hit(
            "contact",
            c.enterprise_id,
            c.name,
            f"{firms[c.enterprise_id]} {c.title}",
            _score(needle, c.name) - 5,
        )
        for c in found_contacts
    ]
    hits += [
        Hit(
            "lead",
            lead.id,
            lead.title,
            f"{firms[lead.enterprise_id]} · {lead.stage}",
            _score(needle, lead.title) - 2,
        )
        for lead in found_leads
    ]
    return hits


def _firm_names(ids: list[int]) -> dict[int, str]:
    """Firm id → name for the hits that name a firm: one query whether there are hits or not, so a
    search costs the same every time (a join instead made PostgreSQL join every contact to its
    firm before testing one name)."""
    return dict(
        db.session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(set(ids) or {0}))
        ).all()
    )


TRADE_SCORE = 20  # below every literal hit, other spellings included


def trade_entries(query: str) -> list[CatalogueEntry]:
    """The catalogue entries a query names as a product: the matcher's entries, or — for a cluster's
    name alone (轻合金) — the entries of the clusters it names."""
    result = get_matcher().match("", query, "")
    codes = [e.code for e in result.entries]
    stmt = select(CatalogueEntry).where(CatalogueEntry.retired.is_(False))
    if codes:
        return list(db.session.scalars(stmt.where(CatalogueEntry.code.in_(codes))))
    names = [c.name for c in result.clusters if c.score >= 1]
    if not names:
        return []
    in_clusters = select(entry_clusters.c.entry_id).join(Cluster).where(Cluster.name.in_(names))
    return list(db.session.scalars(stmt.where(CatalogueEntry.id.in_(in_clusters))))


def _by_trade(entries: list[CatalogueEntry], user) -> list[Hit]:
    """Firms and leads filed under these catalogue entries."""
    ids = {e.id: e for e in entries}
    if not ids:
        return []
    linked = select(enterprise_entries.c.enterprise_id).where(enterprise_entries.c.entry_id.in_(ids))
    enterprises = (
        scoped(select(Enterprise), Enterprise, user)
        .where(Enterprise.merged_into_id.is_(None), Enterprise.id.in_(linked))
        .order_by(Enterprise.id)
    )
    leads = scoped(select(Lead), Lead, user).where(Lead.catalogue_entry_id.in_(ids)).order_by(Lead.id)
    firms = db.session.scalars(enterprises.limit(CANDIDATES)).all()
    # The entries each firm is filed under among these: one query, run whether firms were found or
    # not, so a search costs the same number of queries whatever the data.
    filed: dict[int, list[str]] = {}
    for firm_id, entry_id in db.session.execute(
        select(enterprise_entries.c.enterprise_id, enterprise_entries.c.entry_id)
        .where(enterprise_entries.c.enterprise_id.in_([e.id for e in firms] or [0]))
        .where(enterprise_entries.c.entry_id.in_(ids))
        .order_by(enterprise_entries.c.entry_id)
    ):
        filed.setdefault(firm_id, []).append(ids[entry_id].title)
    hits = [
        Hit("enterprise", e.id, e.name, "按产业链：" + "、".join(filed.get(e.id, []))[:60], TRADE_SCORE)
        for e in firms
    ]
    hits += [
        Hit(
            "lead",
            lead.id,
            lead.title,
            f"按产业链：{ids[lead.catalogue_entry_id].title} · {lead.stage}",
            TRADE_SCORE - 2,
        )
        for lead in db.session.scalars(leads.limit(CANDIDATES))
    ]
    return hits


def search(query: str, user=None, limit: int = 30) -> list[Hit]:
    """The best `limit` hits for `query` that `user` may see (1-character queries included): literal
    hits first, then the query's other spellings, then firms and leads of the trade it names."""
    needle = normalise(query)[:64]
    if not needle:
        return []
    hits = _literal(needle, user)
    for spelling in spellings_of(needle):
        # Another spelling's hits rank below every hit of the words typed (21–34 against 35–100).
        hits += [replace(h, score=h.score // 5 + 14) for h in _literal(spelling, user)]
    hits += _by_trade(trade_entries(needle), user)
    best: dict[tuple[str, int], Hit] = {}
    for hit in hits:
        key = (hit.kind, hit.id, hit.title if hit.kind == "contact" else "")  # a contact: firm and name
        if key not in best or hit.score > best[key].score:
            best[key] = hit
    ranked = sorted(best.values(), key=lambda h: (-h.score, len(h.title), h.kind, h.id))
    return ranked[:limit]
