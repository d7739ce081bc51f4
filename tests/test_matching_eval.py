"""The matcher against an evaluation set of real firms from outside Chongqing, labelled with the
clusters they belong to (tests/data/match_eval.yaml, built independently of the matcher)."""

from pathlib import Path

import yaml

from crm.industry.service import all_clusters
from crm.readmodels.matching import build_matcher

EVAL = Path(__file__).parent / "data" / "match_eval.yaml"
TOP1_FLOOR = 0.85


def evaluate():
    firms = yaml.safe_load(EVAL.read_text(encoding="utf-8"))["firms"]
    short = {c.name: c.short_name for c in all_clusters()}
    matcher = build_matcher()
    top1 = top3 = 0
    misses = []
    for firm in firms:
        result = matcher.match(firm["name"], firm["products"], firm.get("description", ""))
        ranked = [short[c.name] for c in result.clusters]
        labels = set(firm["clusters"])
        if ranked[:1] and ranked[0] in labels:
            top1 += 1
        else:
            misses.append(f"{firm['name']}: 标注 {sorted(labels)}，匹配 {ranked[:3]}")
        if labels & set(ranked[:3]):
            top3 += 1
    return len(firms), top1, top3, misses


def test_cluster_accuracy_on_the_evaluation_set(capsys):
    total, top1, top3, misses = evaluate()
    with capsys.disabled():  # the figures show in every run of the suite, not only with -s
        print(f"\n匹配评测：{total} 家企业，top-1 集群准确率 {top1 / total:.1%}，top-3 {top3 / total:.1%}")
        for miss in misses:
            print("  未命中 top-1：", miss)
    assert total >= 40
    assert top1 / total >= TOP1_FLOOR, misses
