"""The matcher over this database's catalogue: built once, rebuilt when the catalogue changes.

crm.matching stays free of Flask and the database; this module feeds it the catalogue."""

import threading

from sqlalchemy import func, select

from crm.enterprises.models import Enterprise
from crm.enterprises.service import visible_enterprises
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.industry.models import CatalogueEntry
from crm.industry.service import all_clusters, catalogue_entries
from crm.leads.models import Lead
from crm.matching.matcher import ClusterInfo, EntryInfo, Matcher, MatchResult, load_vocabulary

_lock = threading.Lock()
_cached: dict[str, object] = {}
_results: dict[tuple, object] = {}  # (id(matcher), enterprise id, version) → MatchResult


def _fingerprint() -> tuple:
    # Any manager edit bumps an entry's version; a map load adds, retires or changes rows.
    return tuple(
        db.session.execute(
            select(
                func.count(), func.coalesce(func.sum(CatalogueEntry.version), 0), func.max(CatalogueEntry.id)
            )
        ).one()
    ) + (db.engine.url.render_as_string(hide_password=True),)


def build_matcher() -> Matcher:
    """A matcher of the entries in use, with the clusters and their districts."""
    entries = [
        EntryInfo(
            code=e.code,
            title=e.title,
            terms=tuple(e.keywords),
            chain=e.chain.name,
            sector=e.sector.name,
            clusters=tuple(c.name for c in e.clusters if not c.retired),
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
    chain_terms, cluster_terms = load_vocabulary()
    return Matcher(entries, clusters, chain_terms, cluster_terms)


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
        return _cached["matcher"]  # type: ignore[return-value]


# ---------------------------------------------------------------- what the pages show

RECOMMEND_MIN_SCORE = 2.0  # below this a firm shares a word or two with an entry, no more


def match_enterprise(enterprise) -> MatchResult:
    """An enterprise's match, from its products and description (cached per saved version)."""
    matcher = get_matcher()
    key = (id(matcher), enterprise.id, enterprise.version)
    result = _results.get(key)
    if result is None:
        if len(_results) > 50_000:  # a long-running server: start again rather than grow
            _results.clear()
        result = matcher.match(enterprise.name, enterprise.products, enterprise.description)
        _results[key] = result
    return result  # type: ignore[return-value]


def unworked_enterprises():
    """SELECT of the visible target enterprises (招商目标, not the local pool) no lead has been
    opened for, in any stage."""
    return visible_enterprises().where(
        Enterprise.kind == "target", ~Enterprise.id.in_(select(Lead.enterprise_id))
    )


def recommendations(codes: set[str] | None = None, per_entry: int = 5) -> dict[str, list[tuple]]:
    """Catalogue code → [(enterprise, score, matched terms)]: firms on file, visible to the user,
    with no lead yet, whose profile matches the entry — best first."""
    found: dict[str, list[tuple]] = {}
    for enterprise in db.session.scalars(unworked_enterprises()):
        for entry in match_enterprise(enterprise).entries[:5]:
            if entry.score < RECOMMEND_MIN_SCORE or (codes is not None and entry.code not in codes):
                continue
            found.setdefault(entry.code, []).append((enterprise, entry.score, entry.terms))
    for items in found.values():
        items.sort(key=lambda item: (-item[1], item[0].id))
        del items[per_entry:]
    return found


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
