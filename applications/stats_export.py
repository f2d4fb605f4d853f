"""统计分析 as a workbook (DESIGN §15 `export.xlsx`): the same figures as the page and the API for one scope,
each with what it counts; the departments' breakdown and the catalogue's indicators; the months."""

import io
from urllib.parse import quote

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from applications import charts, statistics

BOLD = Font(bold=True)


def _sheet(book, title: str, header: list[str], rows: list[list], widths: list[int]):
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append(row)
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _value(value):
    """Numbers stay numbers (a spreadsheet sums them); nothing to divide by is an empty cell."""
    return value if value is not None else ""


def statistics_workbook(scope: statistics.Scope) -> bytes:
    parts = statistics.parts_for(scope)
    catalogue = statistics.catalogue_figures(scope)
    figures = statistics.compute(scope, parts=parts, catalogue=catalogue)
    book = Workbook()
    book.remove(book.active)
    where = "、".join(filter(None, [
        scope.department.name if scope.department else "全部部门", scope.hall.name if scope.hall else "",
        f"事项 {scope.item.code}" if scope.item else "",
    ]))
    rows = [["统计期间", f"{scope.date_from:%Y-%m-%d} 至 {scope.date_to:%Y-%m-%d}", where]]
    for key, label, kind in [*charts.FIGURE_LABELS, *charts.CATALOGUE_LABELS]:
        rows.append([label, _value(figures[key]), charts.FIGURE_NOTES.get(key, "")])
    sheet = _sheet(book, "指标", ["指标", "数值", "说明"], rows, [34, 16, 90])
    kinds = {label: kind for _key, label, kind in [*charts.FIGURE_LABELS, *charts.CATALOGUE_LABELS]}
    for row in sheet.iter_rows(min_row=3):
        if kinds.get(row[0].value) == "rate" and isinstance(row[1].value, float):
            row[1].number_format = "0.0%"  # rates are fractions, shown in per cent
        row[2].alignment = Alignment(wrap_text=True)

    departments = statistics.by_department(scope, parts=parts)
    _sheet(book, "各部门办件", ["部门", "收件", "审批决定", "按时决定", "按时办结率"], [
        [row["department"].name, row["received"], row["decided"], row["on_time"], _value(row["on_time_rate"])]
        for row in departments
    ], [30, 10, 10, 10, 12])
    _sheet(book, "各部门事项", ["部门", "事项数", "可网办", "最多跑一次", "零跑动", "即办件", "承诺较法定压缩"], [
        [row["name"], row["items"], row["items_online"], row["one_visit_items"], row["zero_visit_items"],
         row["instant_items"], _value(row["promised_vs_statutory"])]
        for row in catalogue["departments"]
    ], [30, 10, 10, 12, 10, 10, 16])
    _sheet(book, "各月", ["月份", "收件", "审批决定"], [
        [f"{row['month']:%Y-%m}", row["received"], row["decided"]] for row in statistics.by_month(scope, parts=parts)
    ], [12, 10, 10])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
