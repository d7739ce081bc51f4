"""The brief's summary paragraph: the week's headline figures in sentences, what rose or fell against
last week and against the average of the weeks before, the warnings that need a decision, the
activity ranking and, in a district's brief, its share of the work. Written from the brief's figures
alone (no database), so every number in it is one the brief prints elsewhere."""

from crm.core.timeutil import format_wan

# The headline figures: label and unit (None: money, in 万元), in the order the brief's boxes, the
# Word version and the summary take them.
FIGURES = {
    "new_leads": ("新增线索", "条"),
    "follow_ups": ("跟进", "次"),
    "site_visits": ("实地考察", "次"),
    "signings": ("签约项目", "个"),
    "starts": ("开工项目", "个"),
    "production_starts": ("投产项目", "个"),
    "signed_wan": ("签约金额", None),
    "funds_wan": ("资金到位", None),
}


LEADERS = 5  # districts a summary names by their activity index, at most


def money(value) -> str:
    """An amount as the brief and the boards print it: 1.40 亿元, 7,000 万元, and 0 万元 for nothing."""
    return format_wan(round(value)) if value else "0 万元"


def amount(key: str, value: float) -> str:
    """A figure's value with its unit, as the brief prints it: 3 个, 1.40 亿元, 0 万元."""
    unit = FIGURES[key][1]
    if unit is None:
        return money(value)
    return f"{value:g} {unit}" if isinstance(value, float) else f"{value} {unit}"


def _headline(data: dict) -> str:
    w = data["week_figures"]
    where = data["title"] + (f"（{data['district']}）" if data["district"] else "")
    days = f"{data['monday'].month}月{data['monday'].day}日至{data['sunday'].month}月{data['sunday'].day}日"
    if data["quiet_week"]:
        return f"本周（{days}），{where}无新增线索、跟进、签约、开工、投产或资金到位记录。"
    shown = {key: amount(key, value) for key, value in w.items()}
    return (
        f"本周（{days}），{where}新增招商线索 {shown['new_leads']}，"
        f"跟进 {shown['follow_ups']}（其中实地考察 {shown['site_visits']}），"
        f"签约项目 {shown['signings']}、协议投资 {shown['signed_wan']}，"
        f"开工项目 {shown['starts']}，投产项目 {shown['production_starts']}，"
        f"资金到位 {shown['funds_wan']}。"
    )


def _against_last_week(data: dict) -> str:
    rose, fell = [], []
    for key, (label, _unit) in FIGURES.items():
        change = data["trends"][key]["change"]
        if change:
            (rose if change > 0 else fell).append(
                f"{label}{'增加' if change > 0 else '减少'} {amount(key, abs(change))}"
            )
    if not rose and not fell:
        return "各项数字与上周持平。"
    rest = "，其余持平" if len(rose + fell) < len(FIGURES) else ""
    return "与上周相比，" + "，".join(rose + fell) + rest + "。"


def _against_average(data: dict) -> str:
    above, below = [], []
    for key, (label, _unit) in FIGURES.items():
        value, average = data["week_figures"][key], data["trends"][key]["average"]
        if value == average:
            continue
        text = f"{label}（周均 {amount(key, float(average))}）"
        (above if value > average else below).append(text)
    weeks = data["trend_weeks"]
    if not above and not below:
        return f"各项数字与前 {weeks} 周的周平均持平。"
    parts = []
    if above:
        parts.append("、".join(above) + "高于平均")
    if below:
        parts.append("、".join(below) + "低于平均")
    return f"与前 {weeks} 周的周平均相比，" + "；".join(parts) + "。"


def _warnings(data: dict) -> str:
    warnings, gaps = data["warnings"], len(data["coverage"]["gaps"])
    stalled, behind, overdue = len(warnings["stalled"]), len(warnings["behind"]), len(warnings["overdue"])
    lights = warnings["items"]["counts"]
    red, yellow = lights["red"], lights["yellow"]
    if not (stalled or behind or overdue or red or yellow):
        return (
            "本周无停滞、滞后项目、逾期未跟进的线索和亮红灯、黄灯的督办事项；"
            f"招商目录尚有空白环节 {gaps} 个。"
        )
    return (
        f"需要决策和协调的事项：停滞项目 {stalled} 个，滞后项目 {behind} 个，"
        f"逾期未跟进线索 {overdue} 条，督办事项红灯 {red} 项、黄灯 {yellow} 项，"
        f"招商目录空白环节 {gaps} 个（详见“二、需要关注”）。"
    )


def _activity(data: dict) -> str:
    activity = data["activity"]
    if not activity["ranked"]:
        return "本周全市各区县均无计入招商活跃指数的记录，不排名。"
    if data["district"]:
        row = next(iter(activity["rows"]), None)
        if row is None or row["rank"] is None:
            return f"{data['district']}本周招商活跃指数为 0。"
        before = f"（上周第 {row['previous_rank']} 位）" if row["previous_rank"] else ""
        return (
            f"{data['district']}本周招商活跃指数 {row['score']:.1f}，"
            f"在全市 {activity['units']} 个区县中列第 {row['rank']} 位{before}。"
        )
    ranked = [r for r in activity["rows"] if r["rank"] is not None]
    if not ranked:
        return "本周本集群所在区县均无计入招商活跃指数的记录。"
    # The first three, and every district tied with the third: a tie is not cut.
    leaders = [r for r in ranked if r["rank"] <= ranked[min(2, len(ranked) - 1)]["rank"]]
    named = "、".join(f"{r['unit']}（{r['score']:.1f}，全市第 {r['rank']} 位）" for r in leaders[:LEADERS])
    more = f"等 {len(leaders)} 个区县" if len(leaders) > LEADERS else ""
    return f"招商活跃指数居前的区县是{named}{more}。"


def _share(data: dict) -> str:
    if not data.get("share"):
        return ""
    shares = {row["key"]: row for row in data["share"]}
    scope = "全市" if data["scope"] == "CITY" else f"全市{data['short']}集群"

    def percent(key: str) -> str:
        share = shares[key]["share"]
        return "—" if share is None else f"{share * 100:.1f}%"

    signed, funds = shares["signings"]["own"], amount("funds_wan", shares["funds_wan"]["own"])
    return (
        f"今年以来，{data['district']}签约项目 {signed} 个，占{scope}的 {percent('signings')}；"
        f"资金到位 {funds}，占 {percent('funds_wan')}。"
    )


def summary(data: dict) -> list[str]:
    """The summary paragraph's sentences, in the order they are read."""
    sentences = [_headline(data)]
    if not data["quiet_week"]:
        sentences.append(_against_last_week(data))
    sentences += [_against_average(data), _warnings(data), _activity(data), _share(data)]
    return [sentence for sentence in sentences if sentence]
