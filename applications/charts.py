"""The statistics page's figures and server-drawn SVG bar charts: pure functions from rows to what the
template draws (DESIGN §6)."""

CHART_WIDTH = 400
FIGURE_LABELS = [
    # (key, label, kind)
    ("received", "收件量", "count"),
    ("accepted", "受理量", "count"),
    ("decided", "审批决定量", "count"),
    ("on_time_rate", "按时办结率", "rate"),
    ("avg_working_days", "平均审批用时（工作日，不含中止计时）", "number"),
    ("overdue_open", "在办超期件（截至今日）", "count"),
    ("satisfaction_rate", "好评率", "rate"),
    ("intake_satisfaction_rate", "受理环节好评率", "rate"),
    ("issuance_satisfaction_rate", "出证环节好评率", "rate"),
    ("one_visit_share", "最多跑一次占比", "rate"),
    ("zero_visit_share", "零跑动占比", "rate"),
    ("online_share", "网上申请占比", "rate"),
    ("avg_wait_minutes", "平均排队等候（分钟）", "number"),
    ("visits_per_case", "办结件平均跑动次数", "number"),
    ("avg_promised_days", "承诺办结时限（工作日，同批件平均）", "number"),
]
# The catalogue's indicators (DESIGN §15): a snapshot of the items published now.
CATALOGUE_LABELS = [
    ("items", "在线事项数", "count"),
    ("items_online", "可网上办理事项", "count"),
    ("one_visit_items", "最多跑一次事项", "count"),
    ("zero_visit_items", "零跑动事项", "count"),
    ("instant_items", "即办件事项", "count"),
    ("promised_vs_statutory", "承诺时限较法定时限压缩", "rate"),
]
# What each figure counts and from which records: shown on the page under the figures.
FIGURE_NOTES = {
    "received": "期间内提交的办件数（窗口当场受理的以受理时刻计），来自办件记录。",
    "accepted": "期间内受理的办件数（含视为受理）。",
    "decided": "期间内部门作出准予或不予许可决定的办件数。",
    "on_time_rate": "期间内作出决定且决定日不晚于承诺办结日期的办件 ÷ 期间内作出决定的办件。",
    "avg_working_days": "受理次日至决定日的工作日数，扣除中止计时（补正、现场勘验、听证、专家评审、检验检测）的工作日（行政许可法第四十五条），按期间内作出决定的办件平均。",
    "overdue_open": "截至今日仍在受理、审查中且已过承诺办结日期的办件（今日实时数，不随期间变化）。",
    "satisfaction_rate": "期间内有效评价中“非常满意、满意、基本满意”的比例（被监察人员认定无效的评价不计）。",
    "intake_satisfaction_rate": "受理环节（窗口评价器、短信链接或网上对受理人员的评价）的有效评价中满意的比例。",
    "issuance_satisfaction_rate": "出证环节（办结后对办理结果的评价）的有效评价中满意的比例。",
    "one_visit_share": "期间内出证办结的办件中，到大厅不超过一次的比例。",
    "zero_visit_share": "期间内出证办结的办件中，未到大厅（全程网办、邮寄送达或网上下载）的比例。",
    "online_share": "期间内网上提交的办件 ÷ 期间内提交的办件。",
    "avg_wait_minutes": "期间内被叫号的排队号从取号到叫号的平均分钟数，只按大厅统计。",
    "visits_per_case": "期间内出证办结的办件到大厅次数之和 ÷ 办结件数（窗口受理、领取各计一次）。",
    "avg_promised_days": "与平均审批用时同一批办件（期间内作出决定的）的承诺办结时限平均，便于对照。",
    "items": "当前已发布的事项（每个事项取其现行版本），按实施部门；与所选期间无关。",
    "items_online": "现行版本标为“可网上办理”的事项数。",
    "one_visit_items": "现行版本“到办事现场次数”不超过 1 次的事项数。",
    "zero_visit_items": "现行版本“到办事现场次数”为 0 的事项数。",
    "instant_items": "办件类型为即办件的事项数。",
    "promised_vs_statutory": "1 − 承诺办结时限之和 ÷ 法定办结时限之和（只计有法定时限的事项），即承诺时限比法定时限压缩的比例。",
}


def figure_text(value, kind: str) -> str:
    """A figure as shown: a rate in per cent, a number with one decimal, a count with thousands separators."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "number":
        return f"{value:.1f}" if isinstance(value, float) else str(value)
    return f"{value:,}"


def figure_rows(figures: dict, labels=FIGURE_LABELS) -> list[dict]:
    """The headline figures in the labels' order, each with its label, text and what it counts."""
    return [{"key": key, "label": label, "text": figure_text(figures[key], kind), "note": FIGURE_NOTES.get(key, "")}
            for key, label, kind in labels]


def catalogue_rows(departments: list[dict]) -> list[dict]:
    """The catalogue indicators per department as the page's table shows them, with a bar for the share online."""
    rows = []
    for row in departments:
        online = row["items_online"] / row["items"] if row["items"] else 0
        rows.append({**row, "online_share_text": figure_text(online, "rate"), "online_bar": round(online * 60),  # px of a 60 px bar
                     "compression_text": figure_text(row["promised_vs_statutory"], "rate")})
    return rows


def department_chart(rows: list[dict]) -> dict:
    """Horizontal bars (receive / decide) per department: the names stay readable on a phone."""
    top = max([max(r["received"], r["decided"]) for r in rows] + [1])
    label_width, bar_space, row_height = 0, CHART_WIDTH - 44, 52
    bars = []
    for index, row in enumerate(rows):
        y = index * row_height
        bars.append({
            "name": row["department"].name, "y": y, "label_y": y + 13,
            "received": row["received"], "decided": row["decided"],
            "received_w": round(bar_space * row["received"] / top, 1),
            "decided_w": round(bar_space * row["decided"] / top, 1),
            "received_y": y + 18, "decided_y": y + 32,
            "received_tx": label_width + round(bar_space * row["received"] / top, 1) + 4,
            "decided_tx": label_width + round(bar_space * row["decided"] / top, 1) + 4,
            "on_time": figure_text(row["on_time_rate"], "rate"),
        })
    return {"bars": bars, "height": max(len(rows) * row_height, row_height), "width": CHART_WIDTH}


def month_chart(rows: list[dict]) -> dict:
    """Grouped vertical bars per month: received and decided."""
    top = max([max(r["received"], r["decided"]) for r in rows] + [1])
    plot_height, slot = 160, max(66, min(120, 720 // max(len(rows), 1)))
    bars = []
    for index, row in enumerate(rows):
        x = index * slot + 8
        received_h = round(plot_height * row["received"] / top, 1)
        decided_h = round(plot_height * row["decided"] / top, 1)
        width = (slot - 20) / 2
        bars.append({
            "label": f"{row['month']:%Y-%m}", "label_x": x + (slot - 16) / 2, "x": x, "w": round(width, 1),
            "x2": round(x + width + 2, 1), "received": row["received"], "decided": row["decided"],
            "received_h": received_h, "received_y": plot_height - received_h + 16,
            "decided_h": decided_h, "decided_y": plot_height - decided_h + 16,
            "received_ty": plot_height - received_h + 12, "decided_ty": plot_height - decided_h + 12,
            "received_tx": round(x + width / 2, 1), "decided_tx": round(x + width * 1.5 + 2, 1),
        })
    return {"bars": bars, "width": max(len(rows) * slot + 16, 200), "height": plot_height + 40, "base": plot_height + 16}
