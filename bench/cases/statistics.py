"""DESIGN §12: the statistics page over 2 million cases, < 300 ms (supervisor, `/supervision/stats/`)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from bench.data.cases import BENCH_PASSWORD, bench_cases
from bench.data.quality import bench_service_records
from bench.lib import Context, Request, Row, WsgiClient, capture_queries, interleaved, login

NAME = "statistics"
ORDER = 60
PAGE = "/supervision/stats/"
API = "/api/v1/stats/"
EXPORT = "/supervision/stats/export.xlsx"
TARGET_MS = 300.0
ROUNDS = 5

HOW_MEASURED = f"""
Over the 2 million cases of `bench/data/cases.py`, plus 好差评 ratings for 60 % of the delivered cases and
two years of hall queue tickets (`bench/data/quality.py`, INSERT … SELECT from the cases). A supervisor
signs in through the login page; `GET {PAGE}` goes in-process through the WSGI application (as the
catalogue and work list cases), for the default period (this month), the last twelve months, the last
twelve months of the biggest department, and the last three years (the longest period the form
accepts); `GET {API}` for the last twelve months is measured beside them. The page carries DESIGN §15's
figures (跑动次数, approval time without suspended days beside the promised days, the catalogue indicators);
their values for the last twelve months are shown as a row, and `GET {EXPORT}` (the same figures as a
workbook) is timed. {ROUNDS} rounds after a warm-up;
p50/p95 per request and over all page requests. Each request's queries are listed with their times.

Finished days — and today up to its last ten-minute mark — are read from the daily rollup (`DayStat`,
department × hall × day, docs/decisions/030-statistics-rollup.md); a whole month of the period, with no hall
chosen, from the month rollup (`MonthStat`, department × month, rebuilt with each of its days,
docs/decisions/064-statistics-month-rollup.md); the rest from the records. Before the requests the benchmark
runs `statistics_rollup_sweep` once over the whole generated history (what the first night after an import or
upgrade does), rebuilds yesterday alone (what every night does) and rolls up today to its last settled
ten-minute mark (what the ten-minute timer does; only the minutes since are then counted from the records);
all three are timed and shown as rows (each includes rebuilding its month's `MonthStat` rows).
"""


def _rollup(ctx: Context, data) -> list[Row]:
    from applications.models import DayStat, MonthStat, StatDay
    from applications.services import statistics_rollup_day, statistics_rollup_sweep, statistics_rollup_today

    started = time.perf_counter()
    days = statistics_rollup_sweep(today=data.today)
    history = time.perf_counter() - started
    nights = []
    for _ in range(3):
        started = time.perf_counter()
        statistics_rollup_day(day=data.today - timedelta(days=1))
        nights.append(time.perf_counter() - started)
    todays = []
    for _ in range(3):
        StatDay.objects.filter(day=data.today).delete()
        started = time.perf_counter()
        statistics_rollup_today()
        todays.append(time.perf_counter() - started)
    stored, months = DayStat.objects.count(), MonthStat.objects.count()
    ctx.log(f"rollup: {StatDay.objects.count():,} days, {stored:,} day rows, {months:,} month rows in {history:.1f} s; "
            f"yesterday in {min(nights) * 1000:.0f} ms")
    return [
        Row(what=f"· rollup of the whole history once ({days:,} days → {stored:,} department × hall × day rows, "
                 f"{months:,} department × month rows)",
            figure=f"{history:.1f} s ({history / max(days, 1) * 1000:.0f} ms per day)", target="–"),
        Row(what="· nightly rollup of yesterday", figure=f"{sorted(nights)[1] * 1000:.0f} ms (median of 3)", target="–"),
        Row(what="· ten-minute rollup of today so far", figure=f"{sorted(todays)[1] * 1000:.0f} ms (median of 3)", target="–"),
    ]


def _figures(client: WsgiClient, period: dict) -> Row:
    """DESIGN §15's figures as the API gives them for the last twelve months: they are on the page measured."""
    status, body = client.get(API, period)
    figures = json.loads(body)
    assert status == 200 and figures["visits_per_case"] is not None and figures["items"] > 0, figures
    compression = figures["promised_vs_statutory"]
    return Row(
        what="· DESIGN §15 figures on the page (last 12 months, overall)",
        figure=(f"跑动 {figures['visits_per_case']} 次/件; 审批 {figures['avg_working_days']} 个工作日 (承诺 "
                f"{figures['avg_promised_days']}); 事项 {figures['items']:,}, 网办 {figures['items_online']:,}, 最多跑一次 "
                f"{figures['one_visit_items']:,}, 零跑动 {figures['zero_visit_items']:,}, 即办 {figures['instant_items']:,}; "
                f"压缩 {compression:.1%}; 满意率 {figures['satisfaction_rate']:.2%}"),
        target="–",
    )


def _export(client: WsgiClient, period: dict) -> Row:
    """`export.xlsx` for the last twelve months, built from the same figures (median of 3)."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        status, body = client.get(EXPORT, period)
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 200 and body[:2] == b"PK", (status, body[:200])
    return Row(what=f"· `export.xlsx`, last 12 months ({len(body):,} bytes)", figure=f"{sorted(timings)[1]:.0f} ms (median of 3)",
               target="–")


def run(ctx: Context) -> list[Row]:
    from django.urls import Resolver404, resolve

    data = bench_cases(ctx)
    try:
        resolve(PAGE)
    except Resolver404:
        ctx.note(f"Not measured: `{PAGE}` does not exist in this tree yet (applications/statistics.py and its page).")
        return [Row(what="statistics page over 2 M cases", figure=f"not measured: no {PAGE} in this tree",
                    target=f"< {TARGET_MS:.0f} ms")]
    records = bench_service_records(ctx)
    rollup_rows = _rollup(ctx, data)
    client = WsgiClient()
    login(client, data.supervisor, BENCH_PASSWORD)
    today = data.today
    year = {"from": (today - timedelta(days=364)).isoformat(), "to": today.isoformat()}
    three_years = {"from": (today - timedelta(days=3 * 365)).isoformat(), "to": today.isoformat()}
    department = data.department_codes[data.biggest_department]
    mix = [
        Request("this month (default)", PAGE, None, kind="page, this month (default)"),
        Request("last 12 months", PAGE, year, kind="page, last 12 months"),
        Request("last 12 months, biggest department", PAGE, {**year, "department": department},
                kind="page, last 12 months, biggest department"),
        Request("last 3 years", PAGE, three_years, kind="page, last 3 years"),
    ]
    api = [Request("API last 12 months", API, year, kind="API, last 12 months")]
    for request in mix + api:
        status, body = client.get(request.path, request.query)
        if status != 200:
            raise RuntimeError(f"{request.label}: HTTP {status} {body[:300]!r}")
    rounds = ROUNDS if ctx.scale >= 0.1 else 1
    count = max(len(mix) * rounds, ctx.scaled(len(mix) * rounds * 4, minimum=len(mix) * rounds))
    results = interleaved(client, {"page": mix, "api": api * len(mix)}, count=count, rounds=rounds, warmup=1)
    page = results["page"]["all"]
    rows = [Row(
        what=f"statistics page p95 ({data.total:,} cases, {records['ratings']:,} ratings, {records['tickets']:,} tickets)",
        figure=f"{page.p95_ms:.0f} ms (p50 {page.p50_ms:.0f} ms, n={page.count})",
        target=f"< {TARGET_MS:.0f} ms", passed=page.p95_ms < TARGET_MS, value=page.p95_ms, unit="ms",
    )]
    rows.extend(rollup_rows)
    rows.append(_figures(client, year))
    rows.append(_export(client, year))
    for name in ("page", "api"):
        for kind, timings in results[name].items():
            if kind == "all":
                continue
            rows.append(Row(what=f"· {kind}", figure=f"{timings.p95_ms:.0f} ms (p50 {timings.p50_ms:.0f} ms, n={timings.count})",
                            target=f"< {TARGET_MS:.0f} ms", passed=timings.p95_ms < TARGET_MS, value=timings.p95_ms,
                            unit="ms"))
    for request in mix:
        started = time.perf_counter()
        queries = capture_queries(lambda: client.get(request.path, request.query))
        total = (time.perf_counter() - started) * 1000
        lines = "\n".join(f"{number}. {query.ms:.1f} ms — `{query.sql[:300]}`" for number, query in enumerate(queries, 1))
        ctx.note(f"`{request.label}`: {len(queries)} queries, {sum(q.ms for q in queries):.0f} ms SQL of {total:.0f} ms:"
                 f"\n\n{lines}")
    missed = [row.what for row in rows if row.passed is False]
    if missed:
        ctx.note(f"Missed: {'; '.join(missed)}.")
    return rows
