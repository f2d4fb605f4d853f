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
    ("one_visit_share", "最多跑一次占比", "rate"),
    ("zero_visit_share", "零跑动占比", "rate"),
    ("online_share", "网上申请占比", "rate"),
    ("avg_wait_minutes", "平均排队等候（分钟）", "number"),
]


def figure_text(value, kind: str) -> str:
    """A figure as shown: a rate in per cent, a number with one decimal, a count with thousands separators."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "number":
        return f"{value:.1f}" if isinstance(value, float) else str(value)
    return f"{value:,}"


def figure_rows(figures: dict) -> list[dict]:
    """The headline figures in FIGURE_LABELS' order, each with its label and text."""
    return [{"key": key, "label": label, "text": figure_text(figures[key], kind)} for key, label, kind in FIGURE_LABELS]


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
