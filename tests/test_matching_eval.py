"""The matcher against the project's evaluation set of real firms from outside Chongqing, labelled
with their clusters from the plan's text by labellers who saw neither the matcher nor its word lists
(tests/data/match_eval.yaml). The same figures as `flask --app app match evaluate`."""

from collections import Counter

from crm.matching.learning import evaluate
from crm.readmodels.learning import EVAL_FILE, evaluation_firms, short_names
from crm.readmodels.matching import build_matcher

TOP1_FLOOR = 0.95
TOP3_FLOOR = 0.99


def test_the_evaluation_set_covers_every_cluster():
    firms = evaluation_firms(EVAL_FILE)
    assert len(firms) >= 150
    firsts = Counter(firm["clusters"][0] for firm in firms)
    assert set(firsts) == set(short_names().values())
    assert min(firsts.values()) >= 8, firsts
    names = [firm["name"] for firm in firms]
    assert len(names) == len(set(names))
    assert not any("重庆" in name for name in names), "评测集只收重庆以外的企业"


def test_cluster_accuracy_on_the_evaluation_set(capsys):
    figures = evaluate(build_matcher(), evaluation_firms(EVAL_FILE), short_names())
    with capsys.disabled():  # the figures show in every run of the suite, not only with -s
        print(f"\n匹配评测：{figures.summary()}")
        for name, row in sorted(figures.clusters.items(), key=lambda kv: -kv[1].firms):
            top1, top3 = row.top1 / row.firms, row.top3 / row.firms
            print(f"  {name}：{row.firms} 家，top-1 {top1:.0%}，top-3 {top3:.0%}")
        for miss in figures.misses:
            print("  未命中 top-1：", miss)
    assert figures.unmatched == 0, figures.misses
    assert figures.share(figures.top1) >= TOP1_FLOOR, figures.misses
    assert figures.share(figures.top3) >= TOP3_FLOOR, figures.misses
