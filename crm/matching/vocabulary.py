"""The matcher's trade vocabulary: reviewed word lists in crm/matching/words/, each group of terms
with its source.

Firms describe themselves in trade words (铝板带箔, 覆铜板, 三元前驱体), the catalogue in the plan's
words. The word lists bridge the two, at three levels:

    chains:   {产业链名称: [group, …]}   a term names the chain, shared by its entries
    clusters: {集群简称: [group, …]}     a term names the cluster directly
    entries:  {目录代码: [group, …]}     a term names one catalogue entry (strongest)

and every group is `{from: SOURCE, ref: "…", terms: [...]}`, SOURCE a key of words/sources.yaml
(GB/T 4754, the 2018 strategic-industry classification, the MIIT first-batch catalogue, the
business-scope wording, …), so a reviewer can check each group against where it came from.
Pure Python over YAML: no Flask, no database (the caller checks chain, cluster and code names).
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crm.matching.terms import normalise

WORDS = Path(__file__).with_name("words")
LEVELS = ("chains", "clusters", "entries")


class VocabularyError(ValueError):
    """A word list that cannot be read; the message is Chinese and names the file."""


@dataclass(frozen=True)
class Group:
    level: str  # chains | clusters | entries
    target: str  # a chain name, a cluster short name or a catalogue code
    source: str  # a key of sources.yaml
    ref: str
    terms: tuple[str, ...]
    file: str


@dataclass
class Vocabulary:
    sources: dict[str, str] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)

    def terms(self, level: str) -> dict[str, list[str]]:
        """Target → its terms (each once, in the files' order) at one level."""
        found: dict[str, dict[str, None]] = {}
        for group in self.groups:
            if group.level == level:
                found.setdefault(group.target, {}).update(dict.fromkeys(group.terms))
        return {target: list(terms) for target, terms in found.items()}

    def counts(self) -> dict[tuple[str, str], Counter]:
        """(level, target) → how many distinct terms each source gave (a term listed by two sources
        counts for the first): the review table of the README and `flask match vocabulary`."""
        seen: dict[tuple[str, str], set[str]] = {}
        table: dict[tuple[str, str], Counter] = {}
        for group in self.groups:
            key = (group.level, group.target)
            done = seen.setdefault(key, set())
            for term in group.terms:
                folded = normalise(term)
                if folded not in done:
                    done.add(folded)
                    table.setdefault(key, Counter())[group.source] += 1
        return table


def load_vocabulary(folder: Path = WORDS) -> Vocabulary:
    """Every word list in `folder` (sources.yaml first), checked: a group without a known source or
    without terms is an error, so nothing unsourced reaches the matcher."""
    vocabulary = Vocabulary()
    sources_file = folder / "sources.yaml"
    vocabulary.sources = dict(_read(sources_file).get("sources") or {})
    for path in sorted(folder.glob("*.yaml")):
        if path == sources_file:
            continue
        data = _read(path)
        unknown = set(data) - set(LEVELS)
        if unknown:
            raise VocabularyError(f"{path.name}：无法识别的部分 {'、'.join(sorted(map(str, unknown)))}")
        for level in LEVELS:
            for target, groups in (data.get(level) or {}).items():
                for number, group in enumerate(groups or [], start=1):
                    where = f"{path.name}：{target} 第 {number} 组"
                    if not isinstance(group, dict) or not isinstance(group.get("terms"), list):
                        raise VocabularyError(f"{where}应写成 {{from: 来源, terms: [...]}}")
                    source = group.get("from")
                    if source not in vocabulary.sources:
                        raise VocabularyError(f"{where}的来源“{source}”未在 sources.yaml 中列出")
                    terms = tuple(str(t).strip() for t in group["terms"] if str(t).strip())
                    if not terms:
                        raise VocabularyError(f"{where}没有词")
                    vocabulary.groups.append(
                        Group(level, str(target), source, str(group.get("ref") or ""), terms, path.name)
                    )
    return vocabulary


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise VocabularyError(f"无法读取词表 {path.name}：{error}") from error
    if not isinstance(data, dict):
        raise VocabularyError(f"词表 {path.name} 的内容应为映射（chains / clusters / entries）")
    return data
