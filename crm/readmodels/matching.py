"""The matcher over this database's catalogue: built once, rebuilt when the catalogue changes; and
every firm's best entries, stored (EnterpriseMatch) so that the recommendations read an index
instead of matching 100 000 profiles per page.

crm.matching stays free of Flask and the database; this module feeds it the catalogue."""

import gc
import logging
import threading

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from crm.enterprises.models import STALE_MATCH, Enterprise
from crm.enterprises.service import visible_enterprises
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.industry.models import CatalogueEntry
from crm.industry.service import all_clusters, catalogue_entries
from crm.leads.models import Lead
from crm.matching.matcher import ClusterInfo, EntryInfo, Matcher, MatchResult
from crm.matching.vocabulary import load_vocabulary
from crm.readmodels.cache import cached
from crm.readmodels.models import EnterpriseMatch, MatchProposal, MatchState, ProposalKind, ProposalStatus

log = logging.getLogger(__name__)
_lock = threading.Lock()
_cached: dict[str, object] = {}
_results: dict[tuple, object] = {}  # (id(matcher), enterprise id, version, texts) → MatchResult


def _fingerprint() -> tuple:
    # Any manager edit bumps an entry's version; a map load adds, retires or changes rows; every
    # decision on a proposal bumps its version (accepting, revoking), so the sum moves with what
    # the matcher learnt (a sum of accepted ids would not: {1, 4} and {2, 3} add up alike).
    return tuple(
        db.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(CatalogueEntry.version), 0),
                func.max(CatalogueEntry.id),
                select(func.count()).select_from(MatchProposal).scalar_subquery(),
                select(func.coalesce(func.sum(MatchProposal.version), 0)).scalar_subquery(),
            )
        ).one()
    ) + (db.engine.url.render_as_string(hide_password=True),)


def home_first(entry: CatalogueEntry) -> tuple[str, ...]:
    """The entry's clusters in use, its home cluster first: the order the map file lists them in
    (the cluster of the plan's section the product is written in: 风电叶片 is 新能源材料's, wind
    yarn making it 纤维及复合材料's too), then any a manager added, in the plan's order."""
    listed = (entry.loaded or {}).get("clusters") or []
    names = [c.name for c in entry.clusters if not c.retired]
    return tuple(sorted(names, key=lambda name: listed.index(name) if name in listed else len(listed)))


def learned(
    status: str = ProposalStatus.ACCEPTED,
) -> tuple[dict[str, list[str]], dict[tuple[str, str], float]]:
    """What the corrections taught, as the matcher takes it: entry code → new terms, and
    (term, target) → weight factor; the accepted proposals by default."""
    terms: dict[str, list[str]] = {}
    factors: dict[tuple[str, str], float] = {}
    for proposal in db.session.scalars(
        select(MatchProposal).where(MatchProposal.status == status).order_by(MatchProposal.id)
    ):
        if proposal.kind == ProposalKind.TERM:
            terms.setdefault(proposal.target, []).append(proposal.term)
        else:
            factors[(proposal.term, proposal.target)] = proposal.factor
    return terms, factors


def build_matcher(
    extra_terms: dict[str, list[str]] | None = None, extra_factors: dict[tuple[str, str], float] | None = None
) -> Matcher:
    """A matcher of the entries in use, with the clusters and their districts, the reviewed word
    lists and what managers accepted from the corrections (plus `extra_…`: proposals not yet
    accepted, to show what they would change)."""
    vocabulary = load_vocabulary()
    entry_terms = vocabulary.terms("entries")
    taught, factors = learned()
    for code, words in (extra_terms or {}).items():
        taught.setdefault(code, []).extend(words)
    factors.update(extra_factors or {})
    entries = [
        EntryInfo(
            code=e.code,
            title=e.title,
            terms=(*e.keywords, *entry_terms.get(e.code, ()), *taught.get(e.code, ())),
            chain=e.chain.name,
            sector=e.sector.name,
            clusters=home_first(e),
        )
        for e in catalogue_entries(include_retired=False)
    ]
    clusters = [
        ClusterInfo(
            name=c.name,
            short_name=c.short_name,
            core_districts=tuple(d.name for d in c.core_districts),
            districts=tuple(d.name for d in c.districts),
        )
        for c in all_clusters()
    ]
    return Matcher(entries, clusters, vocabulary.terms("chains"), vocabulary.terms("clusters"), factors)


def get_matcher() -> Matcher:
    """The current matcher (built on first use and after any change of the catalogue)."""
    key = _fingerprint()
    with _lock:
        if _cached.get("key") != key:
            _cached["matcher"] = build_matcher()
            _cached["key"] = key
            # Results of the old catalogue go too: they are keyed by id(matcher), and CPython may
            # give a later matcher the id of a freed one, which would bring stale matches back.
            _results.clear()
            # The matcher is some hundred thousand long-lived objects: Python's cyclic collector
            # would walk them all on each full collection, a pause of 0.1–0.3 s in whichever
            # request triggered it. Frozen, they are left out of every later collection.
            gc.collect()
            gc.freeze()
        return _cached["matcher"]  # type: ignore[return-value]


# ---------------------------------------------------------------- what the pages show

RECOMMEND_MIN_SCORE = 2.0  # below this a firm shares a word or two with an entry, no more


def match_enterprise(enterprise) -> MatchResult:
    """An enterprise's match, from its products and description (cached per saved version)."""
    matcher = get_matcher()
    # The texts themselves are in the key: an id and version say which row, not what it holds (a
    # database emptied and filled again, as tests do, gives another firm the same pair).
    key = (
        id(matcher),
        enterprise.id,
        enterprise.version,
        enterprise.products,
        enterprise.description,
        enterprise.business_scope,
    )
    result = _results.get(key)
    if result is None:
        if len(_results) > 50_000:  # a long-running server: start again rather than grow
            _results.clear()
        result = matcher.match(
            enterprise.name, enterprise.products, enterprise.description, scope=enterprise.business_scope
        )
        _results[key] = result
    return result  # type: ignore[return-value]


def unworked_enterprises():
    """SELECT of the visible target enterprises (招商目标, not the local pool) no lead has been
    opened for, in any stage."""
    return visible_enterprises().where(
        Enterprise.kind == "target", ~Enterprise.id.in_(select(Lead.enterprise_id))
    )


# ---------------------------------------------------------------- stored matches

STORED_PER_FIRM = 5  # a firm is recommended for its five best entries at most
REFRESH_BATCH = 2_000


def refresh_matches() -> int:
    """Bring the stored matches up to date: the firms saved since their matches were computed, or
    every firm when the catalogue or the vocabulary changed. Written in a transaction of its own
    (the stored matches are a cache, whatever the request goes on to do); returns how many firms
    were matched. Cheap when nothing is stale: one query on an index that is then empty."""
    matcher = get_matcher()
    signature = matcher.signature
    state, stale = db.session.execute(
        select(
            select(MatchState.catalogue_key).where(MatchState.id == 1).scalar_subquery(),
            select(Enterprise.id).where(text(STALE_MATCH)).limit(1).scalar_subquery(),
        )
    ).one()
    if state == signature and stale is None:
        return 0
    try:
        with db.engine.begin() as connection:
            _serialise(connection)
            return _refresh(connection, matcher, signature)
    except OperationalError as error:
        # Another writer holds the rows (this very request's own open transaction, or a long
        # import): the recommendations are served from the matches as they stand, and the next
        # page brings them up to date.
        log.warning("匹配结果暂未更新：%s", error.orig)
        return 0


def _serialise(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL lock_timeout = '3s'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('lianzhao:enterprise_matches'))"))
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # one refresher at a time, the others wait


def _refresh(connection: Connection, matcher: Matcher, signature: str) -> int:
    state = connection.scalar(select(MatchState.catalogue_key).where(MatchState.id == 1))
    if state != signature:
        # Another catalogue: every stored match is stale (one UPDATE, then the loop recomputes).
        connection.execute(update(Enterprise.__table__).values(matched_version=None))
        connection.execute(delete(EnterpriseMatch.__table__))
        if state is None:
            connection.execute(insert(MatchState.__table__).values(id=1, catalogue_key=signature))
        else:
            connection.execute(update(MatchState.__table__).values(catalogue_key=signature))
    entry_ids = dict(connection.execute(select(CatalogueEntry.code, CatalogueEntry.id)).all())
    firms = Enterprise.__table__
    mark = update(firms).where(firms.c.id == bindparam("firm")).values(matched_version=bindparam("seen"))
    done, after = 0, 0
    while True:
        batch = connection.execute(
            select(
                firms.c.id,
                firms.c.name,
                firms.c.products,
                firms.c.description,
                firms.c.business_scope,
                firms.c.version,
            )
            .where(text(STALE_MATCH), firms.c.id > after)
            .order_by(firms.c.id)
            .limit(REFRESH_BATCH)
        ).all()
        if not batch:
            return done
        ids = [row.id for row in batch]
        connection.execute(delete(EnterpriseMatch.__table__).where(EnterpriseMatch.enterprise_id.in_(ids)))
        rows = []
        for row in batch:
            result = matcher.match(
                row.name, row.products or "", row.description or "", scope=row.business_scope or ""
            )
            for match in result.entries[:STORED_PER_FIRM]:
                if match.code in entry_ids:
                    rows.append(
                        {
                            "enterprise_id": row.id,
                            "entry_id": entry_ids[match.code],
                            "score": match.score,
                            "terms": list(match.terms),
                        }
                    )
        if rows:
            connection.execute(insert(EnterpriseMatch.__table__), rows)
        connection.execute(mark, [{"firm": row.id, "seen": row.version} for row in batch])
        done += len(batch)
        after = ids[-1]


def recommendations(codes: set[str] | None = None, per_entry: int = 5) -> dict[str, list[tuple]]:
    """Catalogue code → [(enterprise, score, matched terms)]: firms on file, visible to the user,
    with no lead yet, whose profile matches the entry — best first. Read from the stored matches:
    a few queries, whatever the number of firms."""
    rows = _recommended(tuple(sorted(codes)) if codes is not None else None, per_entry)
    firms = db.session.scalars(select(Enterprise).where(Enterprise.id.in_({row[1] for row in rows})))
    by_id = {firm.id: firm for firm in firms}
    found: dict[str, list[tuple]] = {}
    for code, firm_id, score, terms in rows:
        found.setdefault(code, []).append((by_id[firm_id], score, list(terms)))
    return found


@cached
def _recommended(codes: tuple[str, ...] | None, per_entry: int, user=None) -> tuple[tuple, ...]:
    """(code, firm id, score, terms) of the recommendations, best first per entry: plain data,
    remembered until the data changes (the firms themselves are loaded per request)."""
    refresh_matches()
    firms = unworked_enterprises().subquery()
    columns = (
        CatalogueEntry.code,
        EnterpriseMatch.enterprise_id,
        EnterpriseMatch.score,
        EnterpriseMatch.terms,
    )
    matches = (
        select(*columns)
        .join(CatalogueEntry, CatalogueEntry.id == EnterpriseMatch.entry_id)
        .join(firms, firms.c.id == EnterpriseMatch.enterprise_id)
        .where(EnterpriseMatch.score >= RECOMMEND_MIN_SCORE)
    )
    if codes is not None:
        matches = matches.where(CatalogueEntry.code.in_(codes or ("",)))
    if codes is not None and len(codes) == 1:
        # One entry (its page): the index on (entry, score) gives the best ones first.
        ordered = matches.order_by(EnterpriseMatch.score.desc(), EnterpriseMatch.enterprise_id).limit(
            per_entry
        )
        return tuple(tuple(row) for row in db.session.execute(ordered))
    place = func.row_number().over(
        partition_by=EnterpriseMatch.entry_id,
        order_by=(EnterpriseMatch.score.desc(), EnterpriseMatch.enterprise_id),
    )
    ranked = matches.add_columns(place.label("place")).subquery()
    top = select(ranked.c.code, ranked.c.enterprise_id, ranked.c.score, ranked.c.terms).where(
        ranked.c.place <= per_entry
    )
    return tuple(tuple(row) for row in db.session.execute(top.order_by(ranked.c.code, ranked.c.place)))


def suggest(enterprise, count: int = 3) -> list[dict]:
    """For the lead form: the enterprise's best entries, each with the district to propose (the
    best-scoring district among the entry's clusters'), and why."""
    result = match_enterprise(enterprise)
    if not result.entries:
        return []
    ranked = [d.name for d in result.districts]
    suggestions = []
    for match in result.entries[:count]:
        entry = get_entry(match.code)
        if entry is None or entry.retired:
            continue
        suitable = [d.name for d in entry.suitable_districts()]
        district = next((name for name in ranked if name in suitable), suitable[0] if suitable else "")
        suggestions.append(
            {
                "code": match.code,
                "title": match.product,
                "score": match.score,
                "terms": match.terms,
                "district": district,
                "clusters": [c.short_name for c in entry.clusters],
            }
        )
    return suggestions
