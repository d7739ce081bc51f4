"""Learning from officers' judgements of matches, and measuring the matcher: pure Python over plain
data, like the matcher (crm.readmodels.learning feeds it the stored judgements).

An officer who adopts a suggestion confirms the terms behind it; one who corrects it names the entry
that was right. From the corrections this module proposes two kinds of change, never applied here
(a manager accepts them one by one):

- 新增词 (term): a product phrase of a corrected firm that does not yet lead to the entry the officer
  chose, proposed as a term of that entry. Supported by every corrected firm whose products name it.
- 降权 (weaken): a term that led to suggestions officers corrected, in at least WEAKEN_MIN firms
  and more often than to suggestions they adopted, proposed at half weight for that target.

`evaluate()` measures a matcher on a labelled set (the project's own, tests/data/match_eval.yaml)
and on the corrections themselves, so a proposal's effect is shown before anyone accepts it.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

from crm.matching.matcher import Matcher
from crm.matching.terms import normalise

WEAKEN_MIN = 2  # one firm's odd wording is not a pattern
WEAKEN_FACTOR = 0.5
PHRASE_MIN, PHRASE_MAX = 3, 16  # characters: shorter says nothing, longer is a sentence, not a product
PHRASES_PER_FIRM = 8  # a firm's main products come first; a long list's tail is its sideline
TERM_MAX = 64  # what a proposal can hold (an entry's title, up to 128, is never proposed)
# Words firms put in a product list that name no product (a phrase made only of these is dropped).
GENERIC = frozenset(
    {
        "新材料",
        "新型材料",
        "功能材料",
        "高分子材料",
        "电子材料",
        "化工产品",
        "金属材料",
        "复合材料",
        "原材料",
        "技术服务",
        "技术开发",
        "技术咨询",
        "技术转让",
        "进出口",
        "货物进出口",
        "技术进出口",
        "相关产品",
        "配套产品",
    }
)

# Product lists are written 「铝板带箔、工业铝型材；电池铝箔」: a phrase is what lies between these.
SEPARATORS = re.compile(r"[、，,；;。．：:/|（）()\[\]【】《》“”\"'\s]+|以及|及其")
# Words around a product that are not the product: 「各类铝型材等产品」 proposes 铝型材.
LEADING = re.compile(r"^(?:主要|主营|各类|各种|多种|系列|高端|新型|其他|包括|生产|销售|研发)+")
TRAILING = re.compile(r"(?:等产品|等系列|系列产品|系列|产品|等|类|制品及|制造|生产|销售)+$")


@dataclass(frozen=True)
class Judgement:
    """One stored judgement: the firm, what it makes, what was suggested and what is right."""

    id: int
    firm: int
    products: str
    description: str
    scope: str  # 经营范围
    suggested: str | None  # entry code the matcher suggested (None: it had nothing)
    chosen: str  # the entry the officer says is right
    adopted: bool  # True: the best suggestion was right (chosen == suggested)


@dataclass
class Proposal:
    kind: str  # term | weaken
    term: str
    level: str  # entry | chain | cluster
    target: str  # entry code, chain name or cluster name
    factor: float
    firms: set[int] = field(default_factory=set)
    evidence: list[int] = field(default_factory=list)  # judgement ids

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, normalise(self.term), self.level, self.target)


def phrases(text: str) -> list[str]:
    """The product phrases of a products text, each once, as written (trimmed of 等, 系列 …)."""
    found = {}
    for part in SEPARATORS.split(text or ""):
        part = TRAILING.sub("", LEADING.sub("", part.strip()))
        if PHRASE_MIN <= len(part) <= PHRASE_MAX and not part.isdigit() and part not in GENERIC:
            found.setdefault(normalise(part), part)
    return list(found.values())[:PHRASES_PER_FIRM]


def propose(matcher: Matcher, judgements: list[Judgement]) -> list[Proposal]:
    """What the judgements suggest changing, most supported first."""
    proposals: dict[tuple, Proposal] = {}

    def note(proposal: Proposal, judgement: Judgement) -> None:
        kept = proposals.setdefault(proposal.key, proposal)
        kept.firms.add(judgement.firm)
        if judgement.id not in kept.evidence:
            kept.evidence.append(judgement.id)

    chain_of = {entry.code: entry.chain for entry in matcher.entries}
    misled: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    confirmed: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    evidence: dict[tuple[str, str, str], list[Judgement]] = defaultdict(list)
    for judgement in judgements:
        if judgement.chosen not in chain_of:
            continue  # an entry retired since
        if not judgement.adopted:
            for phrase in phrases(judgement.products):
                if _leads_to(matcher, phrase, judgement.chosen):
                    continue
                note(Proposal("term", phrase, "entry", judgement.chosen, 1.0), judgement)
        if judgement.suggested is None or judgement.suggested not in chain_of:
            continue
        # The terms that reached the suggested entry, directly or through its chain.
        reached = {
            (term, level, target)
            for term, level, target in matcher.hits(
                f"{judgement.products} {judgement.description} {judgement.scope}"
            )
            if (level, target) in (("entry", judgement.suggested), ("chain", chain_of[judgement.suggested]))
        }
        for hit in reached:
            if judgement.adopted:
                confirmed[hit].add(judgement.firm)
            elif chain_of[judgement.chosen] != hit[2] and judgement.chosen != hit[2]:
                misled[hit].add(judgement.firm)
                evidence[hit].append(judgement)
    for hit, firms in misled.items():
        if len(firms) >= WEAKEN_MIN and len(firms) > len(confirmed[hit]) and len(hit[0]) <= TERM_MAX:
            term, level, target = hit
            for judgement in evidence[hit]:
                note(Proposal("weaken", term, level, target, WEAKEN_FACTOR), judgement)
    return sorted(proposals.values(), key=lambda p: (-len(p.firms), p.kind, p.target, p.term))


def _leads_to(matcher: Matcher, phrase: str, code: str) -> bool:
    """Whether the phrase alone already makes `code` the best entry (then it teaches nothing)."""
    result = matcher.match("", phrase, limit=1)
    return bool(result.entries) and result.entries[0].code == code


# ---------------------------------------------------------------- measuring


@dataclass
class ClusterFigures:
    firms: int = 0
    top1: int = 0
    top3: int = 0


@dataclass
class Evaluation:
    """A matcher on a labelled set: per first-label cluster and overall."""

    firms: int = 0
    top1: int = 0
    top3: int = 0
    unmatched: int = 0
    clusters: dict[str, ClusterFigures] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def share(self, count: int) -> float:
        return count / self.firms if self.firms else 0.0

    def summary(self) -> str:
        return accuracy_text(self.as_json())

    def as_json(self) -> dict:
        return {
            "firms": self.firms,
            "top1": self.top1,
            "top3": self.top3,
            "unmatched": self.unmatched,
            "clusters": {name: vars(figures) for name, figures in self.clusters.items()},
        }


def accuracy_text(figures: dict) -> str:
    """「208 家：top-1 95.2%，top-3 100.0%，未匹配 0 家（0.0%）」 from Evaluation.as_json(): the one
    wording of the command, `match learn` and the 匹配学习 page."""
    total = figures["firms"] or 1
    return (
        f"{figures['firms']} 家：top-1 {figures['top1'] / total:.1%}，top-3 {figures['top3'] / total:.1%}，"
        f"未匹配 {figures['unmatched']} 家（{figures['unmatched'] / total:.1%}）"
    )


def evaluate(matcher: Matcher, firms: list[dict], short_names: dict[str, str]) -> Evaluation:
    """Top-1 and top-3 cluster accuracy on `firms` ({name, products, description?, clusters: [short
    names], best first}); `short_names` maps cluster names to short ones. A firm counts for the
    cluster of its first label."""
    figures = Evaluation()
    for firm in firms:
        result = matcher.match(firm["name"], firm.get("products", ""), firm.get("description", ""))
        ranked = [short_names.get(c.name, c.name) for c in result.clusters]
        labels = list(firm["clusters"])
        row = figures.clusters.setdefault(labels[0], ClusterFigures())
        figures.firms += 1
        row.firms += 1
        if not ranked:
            figures.unmatched += 1
        if ranked[:1] and ranked[0] in labels:
            figures.top1 += 1
            row.top1 += 1
        else:
            figures.misses.append(
                f"{firm['name']}：标注 {'、'.join(labels)}，匹配 {'、'.join(ranked[:3]) or '（无）'}"
            )
        if set(labels) & set(ranked[:3]):
            figures.top3 += 1
            row.top3 += 1
    return figures


def agreement(matcher: Matcher, judgements: list[Judgement]) -> tuple[int, int]:
    """(firms judged, how many of them the matcher now ranks the officer's entry first for): the
    latest judgement per firm, adoption or correction."""
    latest = {j.firm: j for j in sorted(judgements, key=lambda j: j.id)}
    agreed = 0
    for judgement in latest.values():
        result = matcher.match("", judgement.products, judgement.description, limit=1, scope=judgement.scope)
        agreed += bool(result.entries) and result.entries[0].code == judgement.chosen
    return len(latest), agreed
