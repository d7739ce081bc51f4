"""The matcher: which catalogue entries, sectors, clusters and districts suit a firm's profile.

Pure Python over plain data (no Flask, no database): the caller builds a `Matcher` once from the
catalogue (crm.readmodels.matching does it from the database) and calls `match()` per profile.

How a profile is read. Chinese has no spaces, and firms describe products in trade words rather
than in the plan's wording, so the matcher uses a dictionary of known terms rather than a general
word segmenter (which would need a model and splits chemical names badly: 聚偏氟乙烯 is one term):

1. Terms, longest first, non-overlapping (无取向硅钢 is not also 取向硅钢), after normalising width,
   dashes, spaces and case, so PA—66, PA-66 and ＰＡ６６ are one term and 1,4-丁二醇 stays whole.
   Terms come from three levels:
   - an entry's own name, keywords and synonyms  → that entry (strongest);
   - trade words of a chain (words/, see vocabulary.py)   → the chain, shared by its entries;
   - trade words of a cluster (words/)                     → the cluster directly.
   Each hit weighs by specificity: longer terms and terms naming fewer targets weigh more.
2. Character bigrams of entry names (IDF-weighted, small) rank the entries within a chain when
   only a chain word matched (铝型材 → 大型复杂断面型材 rather than 再生铝).

Scores flow upward: a term naming entries counts for their clusters as much as a term naming one
entry, spread over them (an entry's home cluster — the first listed — fully, its others at 80 %, a
tie-break for entries the plan shares between clusters); a chain hit counts for each cluster in
proportion to how many of the chain's entries belong to it; a cluster's own word counts for it as
an entry's does.
Districts come from the best clusters: their core districts first, then the other listed ones.
"""

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from operator import itemgetter

from crm.matching.terms import ASCII_WORD, normalise

ENTRY_WEIGHT = 4.0
CHAIN_WEIGHT = 2.0
CLUSTER_WEIGHT = 4.0
BIGRAM_WEIGHT = 0.35
NAME_WEIGHT = 0.5  # the firm's name says less than its products (南山铝业 does say 铝)
# 经营范围 lists every licensed activity (销售, 进出口, 技术服务 …) beside what the firm makes, in the
# registry's standard phrases: evidence, but weaker than the products it names itself.
SCOPE_WEIGHT = 0.5
SHARED_CLUSTER = 0.8
LISTED_DISTRICT = 0.6
MAX_ENTRIES = 20  # by default: the best entries are what anyone reads; the rest cost time
# A metal's one-character name (钛, 镁, 铜) inside a compound's name does not name the metal: 氧化镁,
# 硫酸铜 (after 化 or 酸), 钛酸锂, 钛白粉 (before 酸 or 白). Applied to chain words only: for the
# salt clusters (锆盐, 钒盐) the compounds are the products.
COMPOUND_BEFORE = frozenset("化酸")
COMPOUND_AFTER = frozenset("酸白")


@dataclass(frozen=True)
class EntryInfo:
    """What the matcher knows of a catalogue entry."""

    code: str
    title: str
    terms: tuple[str, ...]  # name, keywords, synonyms
    chain: str
    sector: str
    clusters: tuple[str, ...]  # cluster names, in the plan's order


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    short_name: str
    core_districts: tuple[str, ...]
    districts: tuple[str, ...]


@dataclass(slots=True)
class Scored:
    name: str
    score: float
    terms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EntryMatch:
    code: str
    product: str
    score: float
    terms: list[str]


@dataclass
class MatchResult:
    entries: list[EntryMatch]
    sectors: list[Scored]
    clusters: list[Scored]
    districts: list[Scored]
    why: list[str]

    def as_json(self, name: str = "", top: int | None = None) -> dict:
        """The shape of `flask match`: one object per profile, best first in every list."""
        cut = slice(None, top)
        return {
            "name": name,
            "clusters": [{"name": c.name, "score": c.score} for c in self.clusters[cut]],
            "sectors": [{"name": s.name, "score": s.score} for s in self.sectors[cut]],
            "catalogue": [
                {"code": e.code, "product": e.product, "score": e.score} for e in self.entries[cut]
            ],
            "districts": [{"name": d.name, "score": d.score} for d in self.districts[cut]],
            "why": self.why,
        }


# A firm with no match is told why, never left with empty lists alone (the batch command and the
# pages show these words).
NO_PROFILE = "未匹配：没有主要产品、简介或经营范围，仅凭企业名称无法判断所属产业"
NO_TERMS = "未匹配：主要产品、简介和经营范围中没有已知的产品用语（未命中招商目录、产业链或集群的任何词）"
NO_CLUSTER = "命中的目录条目不属于任何产业集群（面向全市的方向）"


def unmatched(reason: str) -> MatchResult:
    return MatchResult([], [], [], [], [reason])


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if not ASCII_WORD.match(text[i])}


def _specificity(term: str, targets: int) -> float:
    # A longer term is more specific (2 characters → 0.67, 6+ → 2); one naming many targets less.
    # Latin acronyms (PVDF, MDI) are specific despite their length.
    # A single character is only listed where it is an element's name (锆, 钒, 钛): specific.
    if len(term) == 1 or term.isascii():
        length = max(1.0, min(len(term), 6) / 3)
    else:
        length = min(len(term), 6) / 3
    return length / math.sqrt(targets)


class Matcher:
    """An index of the catalogue, built once; `match()` is then cheap (see bench/)."""

    def __init__(
        self,
        entries: list[EntryInfo],
        clusters: list[ClusterInfo],
        chain_terms: dict[str, list[str]] | None = None,
        cluster_terms: dict[str, list[str]] | None = None,
        factors: dict[tuple[str, str], float] | None = None,
    ):
        """`factors` scale what one term gives one target: (term, entry code | chain name | cluster
        name) → factor, e.g. 0.5 for a term officers' corrections showed to mislead there."""
        self.entries = entries
        # What the matcher was built from, as one string: equal signatures match every profile alike
        # (crm.readmodels.matching stores matches under it).
        self.signature = hashlib.sha256(
            repr(
                (
                    entries,
                    clusters,
                    sorted((chain_terms or {}).items()),
                    sorted((cluster_terms or {}).items()),
                    sorted((factors or {}).items()),
                )
            ).encode()
        ).hexdigest()
        self.clusters = {c.name: c for c in clusters}
        self.cluster_order = {c.name: index for index, c in enumerate(clusters)}
        # Each cluster's districts with their factor: core ones 1.0, the other listed ones 0.6.
        self.cluster_districts: dict[str, list[tuple[str, float]]] = {}
        for cluster in clusters:
            pairs = {district: 1.0 for district in cluster.core_districts}
            for district in cluster.districts:
                pairs.setdefault(district, LISTED_DISTRICT)
            self.cluster_districts[cluster.name] = list(pairs.items())  # core first, in the text's order
        short = {c.short_name: c.name for c in clusters}
        # term → [(kind, target index or name)]; and how each term is written (for the reasons).
        targets: dict[str, list[tuple[str, object]]] = defaultdict(list)
        self.display: dict[str, str] = {}

        def spelled(words) -> set[str]:
            folded = set()
            for word in words:
                key = normalise(word)
                if key:
                    self.display.setdefault(key, word.strip())
                    folded.add(key)
            return folded

        for index, entry in enumerate(entries):
            for term in spelled((entry.title, *entry.terms)):
                targets[term].append(("entry", index))
        chains = {entry.chain for entry in entries}
        for chain, words in (chain_terms or {}).items():
            if chain in chains:
                for term in spelled(words):
                    targets[term].append(("chain", chain))
        for chain in chains:
            for term in spelled([chain]):
                targets[term].append(("chain", chain))
        for cluster, words in (cluster_terms or {}).items():
            if cluster in short:
                for term in spelled(words):
                    targets[term].append(("cluster", short[cluster]))
        # term → ((entry index, weight)…, (chain, weight)…, (cluster, weight)…): what a hit adds.
        self.weights: dict[str, tuple[tuple, tuple, tuple]] = {}
        base = {"entry": ENTRY_WEIGHT, "chain": CHAIN_WEIGHT, "cluster": CLUSTER_WEIGHT}
        scaled = {(normalise(term), target): factor for (term, target), factor in (factors or {}).items()}

        def factor(term: str, kind: str, target) -> float:
            if not scaled:
                return 1.0
            name = entries[target].code if kind == "entry" else target
            return scaled.get((term, name), 1.0)

        for term, hits in targets.items():
            unique = list(dict.fromkeys(hits))
            spec = _specificity(term, len(unique))
            self.weights[term] = tuple(
                tuple(
                    (target, base[kind] * spec * factor(term, kind, target))
                    for k, target in unique
                    if k == kind
                )
                for kind in ("entry", "chain", "cluster")
            )
        # Lookup by a term's first two characters: most positions of a text start no term.
        self.by_prefix: dict[str, list[int]] = defaultdict(list)
        for term in self.weights:
            lengths = self.by_prefix[term[:2]]
            if len(term) not in lengths:
                lengths.append(len(term))
        for lengths in self.by_prefix.values():
            lengths.sort(reverse=True)
        self.starts = frozenset(term[0] for term in self.weights)
        self.metal_chars = frozenset(
            term
            for term, (entry_hits, _, cluster_hits) in self.weights.items()
            if len(term) == 1 and not entry_hits and not cluster_hits
        )
        # What an entry's score adds to clusters: its first cluster fully, the others at 80 %.
        self.entry_clusters = [
            tuple((c, 1.0 if position == 0 else SHARED_CLUSTER) for position, c in enumerate(e.clusters))
            for e in entries
        ]
        # What a term naming entries adds to clusters: as much as a term naming one entry, spread
        # over its entries' clusters. Summing per entry would count 湿电子化学品 four times for the
        # cluster its four entries share, and let the count of entries a word names decide.
        self.term_clusters: dict[str, tuple[tuple[str, float], ...]] = {}
        for term, (entry_hits, _, _) in self.weights.items():
            if entry_hits:
                spread: dict[str, float] = defaultdict(float)
                for target, weight in entry_hits:
                    for cluster, share in self.entry_clusters[target]:
                        spread[cluster] += weight * share / math.sqrt(len(entry_hits))
                self.term_clusters[term] = tuple(spread.items())
        # Everything a hit of a term adds, in one tuple: match() reads one dict per term found.
        self.plan = {
            term: (*hits, self.display.get(term, term), self.term_clusters.get(term, ()))
            for term, hits in self.weights.items()
        }
        # Chains: their entries, and each cluster's share of them.
        self.chain_entries: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(entries):
            self.chain_entries[entry.chain].append(index)
        self.chain_clusters: dict[str, tuple[tuple[str, float], ...]] = {}
        for chain, members in self.chain_entries.items():
            counts: dict[str, float] = defaultdict(float)
            for index in members:
                for cluster in entries[index].clusters:
                    counts[cluster] += 1
            self.chain_clusters[chain] = tuple((c, n / len(members)) for c, n in counts.items())
        # Bigrams of entry names, IDF-weighted.
        postings: dict[str, list[int]] = defaultdict(list)  # bigram → entries whose name has it
        for index, entry in enumerate(entries):
            for gram in _bigrams(normalise(entry.title)):
                postings[gram].append(index)
        total = max(len(entries), 1)
        grams: list[dict[str, float]] = [{} for _ in entries]
        for gram, ids in postings.items():
            for index in ids:
                grams[index][gram] = math.log(total / len(ids)) * BIGRAM_WEIGHT
        self.entry_grams = [tuple(g.items()) for g in grams]

    # ---------------------------------------------------------------- reading a text

    def terms_in(self, text: str) -> list[str]:
        """Known terms in `text`, left to right, longest match at each position, no overlaps."""
        found = []
        weights, by_prefix, starts = self.weights, self.by_prefix, self.starts
        i, size = 0, len(text)
        while i < size:
            if text[i] not in starts:  # most characters of a text start no term: one set lookup
                i += 1
                continue
            hit = None
            for length in by_prefix.get(text[i : i + 2], ()):
                if i + length > size:
                    continue
                candidate = text[i : i + length]
                if (
                    candidate in weights
                    and self._bounded(text, i, i + length)
                    and (length > 1 or not self._in_compound(text, i))
                ):
                    hit = candidate
                    break
            if hit is None:
                single = text[i]
                if single in weights and self._bounded(text, i, i + 1) and not self._in_compound(text, i):
                    hit = single
            if hit:
                found.append(hit)
                i += len(hit)
            else:
                i += 1
        return found

    def _in_compound(self, text: str, at: int) -> bool:
        if text[at] not in self.metal_chars:
            return False
        before = text[at - 1] if at > 0 else ""
        after = text[at + 1] if at + 1 < len(text) else ""
        return before in COMPOUND_BEFORE or after in COMPOUND_AFTER

    @staticmethod
    def _bounded(text: str, start: int, end: int) -> bool:
        # Latin abbreviations stand alone: PE is not in PET, PC is not in PPC.
        if ASCII_WORD.match(text[start]) and start > 0 and ASCII_WORD.match(text[start - 1]):
            return False
        return not (ASCII_WORD.match(text[end - 1]) and end < len(text) and ASCII_WORD.match(text[end]))

    def hits(self, text: str) -> list[tuple[str, str, str]]:
        """(term as the lists spell it, level, target) for every known term in `text`: level is
        entry, chain or cluster and target an entry code, a chain name or a cluster name. What a
        correction's text said to the matcher (crm.matching.learning reads it)."""
        found = []
        for term in dict.fromkeys(self.terms_in(normalise(text))):
            entry_hits, chain_hits, cluster_hits, shown, _ = self.plan[term]
            found += [(shown, "entry", self.entries[target].code) for target, _ in entry_hits]
            found += [(shown, "chain", target) for target, _ in chain_hits]
            found += [(shown, "cluster", target) for target, _ in cluster_hits]
        return found

    # ---------------------------------------------------------------- scoring

    def match(
        self,
        name: str = "",
        products: str = "",
        description: str = "",
        tags: str = "",
        limit: int = MAX_ENTRIES,
        scope: str = "",
    ) -> MatchResult:
        """Rank entries, sectors, clusters and districts for a firm's profile, with the reasons;
        the entry and district lists hold the best `limit` (what a reader or `--top` asks for).
        `scope` is the 经营范围 (weighed at SCOPE_WEIGHT). With nothing found, the lists are empty
        and `why` says why."""
        body = normalise(" ".join(t for t in (products, description, tags) if t))
        title = normalise(name)
        licensed = normalise(scope)
        if not body and not licensed:
            # A name alone is no profile: 华峰 or 新材料 says nothing certain about products.
            return unmatched(NO_PROFILE)
        plan = self.plan
        entry_score: dict[int, float] = {}
        entry_terms: dict[int, list[str]] = {}
        chain_score: dict[str, float] = {}
        chain_terms: dict[str, list[str]] = {}
        cluster_score: dict[str, float] = {}
        cluster_terms: dict[str, list[str]] = {}
        clusters: dict[str, float] = {}
        texts = ((body, 1.0), (licensed, SCOPE_WEIGHT), (title, NAME_WEIGHT))
        for text, factor in texts:
            # Each term once per text: repeating a word in a description is not more evidence.
            for term in dict.fromkeys(self.terms_in(text)) if text else ():
                # `shown`: reasons quote the catalogue's own spelling.
                entry_hits, chain_hits, cluster_hits, shown, spread = plan[term]
                for target, weight in entry_hits:
                    entry_score[target] = entry_score.get(target, 0.0) + weight * factor
                    entry_terms.setdefault(target, []).append(shown)
                for cluster, weight in spread:
                    clusters[cluster] = clusters.get(cluster, 0.0) + weight * factor
                for target, weight in chain_hits:
                    chain_score[target] = chain_score.get(target, 0.0) + weight * factor
                    chain_terms.setdefault(target, []).append(shown)
                for target, weight in cluster_hits:
                    cluster_score[target] = cluster_score.get(target, 0.0) + weight * factor
                    cluster_terms.setdefault(target, []).append(shown)
        if not entry_score and not chain_score and not cluster_score:
            return unmatched(NO_TERMS)
        # Only entries hit by a term of their own or of their chain are candidates; bigrams of
        # their names then rank them (铝型材 → 大型复杂断面型材 before 再生铝). Every pair of the
        # products text is looked up (entry name bigrams hold no Latin); the name counts by terms.
        chain_entries = self.chain_entries
        direct = set(entry_terms)
        for chain in chain_score:
            direct.update(chain_entries[chain])
        pairs = {body[i : i + 2] for i in range(len(body) - 1)} if body else set()
        entry_grams = self.entry_grams
        entry_clusters = self.entry_clusters
        for index in direct:
            bonus = sum([weight for gram, weight in entry_grams[index] if gram in pairs])
            if bonus:
                entry_score[index] = entry_score.get(index, 0.0) + bonus
                if index in entry_terms:
                    for cluster, share in entry_clusters[index]:
                        clusters[cluster] = clusters.get(cluster, 0.0) + bonus * share
        # An entry also gets a share of its chain's hits (so 铝型材 ranks the 铝合金 entries).
        ranked_entries = dict(entry_score)
        for chain, score in chain_score.items():
            members = chain_entries[chain]
            share = score / len(members)
            for index in members:
                ranked_entries[index] = ranked_entries.get(index, 0.0) + share

        sectors: dict[str, float] = {}
        for cluster, score in cluster_score.items():
            clusters[cluster] = clusters.get(cluster, 0.0) + score
        entry_list = self.entries
        for index in entry_terms:
            sector = entry_list[index].sector
            sectors[sector] = sectors.get(sector, 0.0) + entry_score[index]
        chain_clusters = self.chain_clusters
        for chain, score in chain_score.items():
            sector = entry_list[chain_entries[chain][0]].sector
            sectors[sector] = sectors.get(sector, 0.0) + score
            for cluster, share in chain_clusters[chain]:
                clusters[cluster] = clusters.get(cluster, 0.0) + score * share
        order = self.cluster_order
        cluster_list: list[Scored] = [
            Scored(
                name,
                round(-negative, 2),
                list(dict.fromkeys(cluster_terms[name])) if name in cluster_terms else [],
            )
            for negative, _, name in sorted((-s, order.get(c, 99), c) for c, s in clusters.items() if s > 0)
        ]
        entries = [
            EntryMatch(
                entry_list[i].code,
                entry_list[i].title,
                round(score, 2),
                list(dict.fromkeys(entry_terms[i])) if i in entry_terms else [],
            )
            for i, score in sorted(ranked_entries.items(), key=itemgetter(1), reverse=True)[:limit]
        ]
        why = self._why(entry_terms, chain_terms, cluster_terms)
        if not cluster_list:
            why.append(NO_CLUSTER)
        return MatchResult(
            entries=entries,
            sectors=[
                Scored(n, round(s, 2)) for n, s in sorted(sectors.items(), key=itemgetter(1), reverse=True)
            ],
            clusters=cluster_list,
            districts=self._districts(cluster_list, limit),
            why=why,
        )

    def _districts(self, clusters: list[Scored], limit: int) -> list[Scored]:
        """The best clusters' districts: core ones at the cluster's score, others at 60 %."""
        if not clusters:
            return []
        best = clusters[0].score
        qualifying = [c for c in clusters if c.score >= best / 2]
        if len(qualifying) == 1:  # the usual case: the cluster's own order is the ranking
            return [
                Scored(district, round(best * factor, 2))
                for district, factor in self.cluster_districts.get(clusters[0].name, ())[:limit]
            ]
        found: dict[str, float] = {}
        for cluster in qualifying:
            for district, factor in self.cluster_districts.get(cluster.name, ()):
                score = cluster.score * factor
                if score > found.get(district, 0.0):
                    found[district] = score
        ranked = sorted(found.items(), key=itemgetter(1), reverse=True)[:limit]
        return [Scored(district, round(score, 2)) for district, score in ranked]

    def _why(self, entry_terms, chain_terms, cluster_terms) -> list[str]:
        reasons = []
        for index, terms in sorted(entry_terms.items(), key=lambda kv: -len(kv[1])):
            entry = self.entries[index]
            reasons.append(f"“{'、'.join(dict.fromkeys(terms))}”对应目录条目 {entry.code} {entry.title}")
        for chain, terms in chain_terms.items():
            reasons.append(f"“{'、'.join(dict.fromkeys(terms))}”属于产业链“{chain}”")
        for cluster, terms in cluster_terms.items():
            reasons.append(f"“{'、'.join(dict.fromkeys(terms))}”指向{cluster}")
        return reasons[:12]
