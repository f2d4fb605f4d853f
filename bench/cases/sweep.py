"""DESIGN §12: the deadline sweep over 1 million open cases of which 1 % change alert level today, < 2 s, and
about constant in the number of open cases (measured at 100 k and at 1 M open cases, same 10 k changing).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import Counter

from bench.data.cases import bench_cases, reset_alert_changes
from bench.lib import Context, Row, capture_queries, explain_analyze

NAME = "sweep"
ORDER = 40
RUN_ORDER = 15  # before the cases that need the full 2 M: it measures the smaller size on the way up
SMALL_OPEN = 100_000
TARGET_SECONDS = 2.0
RATIO_TARGET = 1.5  # 10× the open cases may cost at most this much more
REPEATS = 3

HOW_MEASURED = f"""
Data: `bench/data/cases.py` (see the worklist case for the whole data set). Exactly 1 % of the full open
count (10,000 at full scale) are running cases whose level changes today — a third each green→yellow
(the warning period starts today), yellow→red (due today) and red→overdue (due yesterday) — stored as the
previous day's sweep left them, `alert_level` and `next_alert_on` from `applications.clock.alert_state`
for yesterday; every other open case's `next_alert_on` lies after today (or is empty: suspended or
overdue). The same changing cases are present at both sizes; only the number of other open cases differs.

`applications.services.application_alert_sweep(today=…)` is called in-process on one connection, as the
Celery task calls it, {REPEATS} times at each size: first with {SMALL_OPEN:,} open cases (and the 1 M closed
ones), then after the open cases were grown to 1 M. Before each repeat the changing cases are put back as
yesterday's sweep left them (`bench_alert_reset`), the notifications of the previous repeat deleted, the
broker queue (Redis database 15) purged, and the table vacuumed (this server runs without autovacuum),
none of it timed. The timed call includes what the sweep does for every changed case: the notification
rows (one INSERT per batch) and, at each batch's commit, one `notification_send_many_task` published to
Redis per 200 notifications.
A separate, untimed-for-the-table run counts the queries and splits the time into SQL, publishing and the
rest.
"""


def _purge_broker() -> None:
    from portal.celery import app

    try:
        app.control.purge()
    except Exception:  # noqa: BLE001 - no broker: nothing was queued either
        pass


def _prepare(max_notification: int) -> None:
    from django.db import connection

    from portal.models import Notification

    assert reset_alert_changes() > 0
    Notification.objects.filter(pk__gt=max_notification).delete()
    _purge_broker()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM applications_application")
        cursor.execute("VACUUM portal_notification")


def _max_notification() -> int:
    from portal.models import Notification

    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _measure(ctx: Context, data, repeats: int) -> list[float]:
    from applications.services import application_alert_sweep

    before = _max_notification()
    seconds = []
    for _ in range(repeats):
        _prepare(before)
        gc.collect()
        started = time.perf_counter()
        changed = application_alert_sweep(today=data.today)
        seconds.append(time.perf_counter() - started)
        if changed != data.changing:
            raise RuntimeError(f"the sweep changed {changed} cases, the data has {data.changing} due to change")
    ctx.log(f"sweep with {data.open_cases:,} open cases: " + ", ".join(f"{s:.2f} s" for s in seconds))
    return seconds


def _breakdown(ctx: Context, data) -> None:
    """One more sweep with every query captured and publishing timed: where the seconds go."""
    import portal.notifications as notifications
    from applications.services import application_alert_sweep

    before = _max_notification()
    _prepare(before)
    published = {"calls": 0, "seconds": 0.0, "notifications": 0, "tasks": 0}
    original = notifications.enqueue_sending

    def timed_enqueue(ids):
        started = time.perf_counter()
        try:
            return original(ids)
        finally:
            published["calls"] += 1
            published["notifications"] += len(ids)
            published["tasks"] += -(-len(ids) // notifications.SEND_CHUNK)
            published["seconds"] += time.perf_counter() - started

    notifications.enqueue_sending = timed_enqueue
    try:
        started = time.perf_counter()
        queries = capture_queries(lambda: application_alert_sweep(today=data.today))
        total = time.perf_counter() - started
    finally:
        notifications.enqueue_sending = original
    kinds = Counter()
    kind_ms = Counter()
    for query in queries:
        sql = query.sql
        if "SKIP LOCKED" in sql:
            kind = "select the batch (FOR UPDATE … SKIP LOCKED)"
        elif sql.startswith("UPDATE") and "applications_application" in sql:
            kind = "UPDATE alert_level/next_alert_on per (level, next day) group"
        elif sql.startswith("INSERT") and "portal_notification" in sql:
            kind = "INSERT notifications (one statement per batch)"
        elif "portal_user" in sql and "department_id" in sql:
            kind = "heads of the batch's departments (one query per batch)"
        elif "portal_user" in sql:
            kind = "supervisors"
        else:
            kind = "other (" + sql.split()[0] + " " + sql.split(" FROM ")[-1].split()[0] + ")"
        kinds[kind] += 1
        kind_ms[kind] += query.ms
    sql_ms = sum(kind_ms.values())
    lines = ["| statements | count | time |", "|---|---|---|"]
    for kind, count in kinds.most_common():
        lines.append(f"| {kind} | {count:,} | {kind_ms[kind] / 1000:.2f} s |")
    lines.append(f"| publishing {published['tasks']:,} `notification_send_many_task`s to Redis for "
                 f"{published['notifications']:,} notifications ({published['calls']:,} on_commit calls) | – | "
                 f"{published['seconds']:.2f} s |")
    other = total - sql_ms / 1000 - published["seconds"]
    lines.append(f"| Python: alert_state, building notifications, the ORM | – | {other:.2f} s |")
    ctx.note(f"Where one sweep's time goes ({data.open_cases:,} open cases, {data.changing:,} changing; this run with "
             f"every query captured took {total:.2f} s, {len(queries):,} statements, {sql_ms / 1000:.2f} s of them "
             f"in SQL):\n\n" + "\n".join(lines))
    batch = next((query for query in queries if "SKIP LOCKED" in query.sql), None)
    if batch is not None:
        _prepare(before)
        plan = explain_analyze(batch.sql)
        ctx.note("EXPLAIN (ANALYZE, BUFFERS) of the batch query (first batch, cases put back first):\n\n"
                 f"```\n{plan}\n```")
    _prepare(before)


def run(ctx: Context) -> list[Row]:
    small_open = ctx.scaled(SMALL_OPEN)
    repeats = REPEATS
    data = bench_cases(ctx, open_cases=small_open)
    rows = []
    small = None
    if data.open_cases == small_open:
        small = _measure(ctx, data, repeats)
        small_size = data.open_cases
    else:
        ctx.note(f"The open cases had already been grown to {data.open_cases:,} by an earlier case: the smaller "
                 f"size was not measured (run the sweep before the worklist, as `bench/run.py` does by default).")
    data = bench_cases(ctx)
    full = _measure(ctx, data, repeats)
    median_full = statistics.median(full)
    changing = data.changing
    rows.append(Row(
        what=f"deadline sweep, {data.open_cases:,} open cases, {changing:,} change level",
        figure=f"{median_full:.2f} s (median of {repeats}; max {max(full):.2f} s; {changing / median_full:,.0f} cases/s)",
        target=f"< {TARGET_SECONDS:g} s", reference=f"{data.total:,} cases in all",
        passed=median_full < TARGET_SECONDS, value=median_full, unit="s",
    ))
    if small is not None:
        median_small = statistics.median(small)
        ratio = median_full / median_small
        rows.append(Row(
            what=f"· same sweep, {small_size:,} open cases, {changing:,} change level",
            figure=f"{median_small:.2f} s (median of {repeats}; max {max(small):.2f} s)",
            target=f"< {TARGET_SECONDS:g} s", passed=median_small < TARGET_SECONDS, value=median_small, unit="s",
        ))
        rows.append(Row(
            what=f"· sweep time at {data.open_cases:,} ÷ at {small_size:,} open cases",
            figure=f"{ratio:.2f}× for {data.open_cases / small_size:.0f}× the open cases",
            target=f"~constant (≤ {RATIO_TARGET:g}×)", passed=ratio <= RATIO_TARGET, value=ratio, unit="×",
        ))
    _breakdown(ctx, data)
    if median_full >= TARGET_SECONDS:
        ctx.note(f"Missed: {median_full:.2f} s for {changing:,} changes is {median_full / changing * 1000:.2f} ms per "
                 "changed case; the table above says which per-case statements and publishes make it up.")
    return rows
