"""DESIGN §12: the reviewer's work list over 2 million cases, one department (the biggest), p95 < 50 ms,
through the real page `/review/` with a signed-in reviewer; query count pinned in the report.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter

from bench.data.cases import BENCH_PASSWORD, bench_cases
from bench.lib import Context, Request, Row, WsgiClient, capture_queries, explain_analyze, interleaved, login

NAME = "worklist"
ORDER = 30
PATH = "/review/"
P95_TARGET_MS = 50.0
ROUNDS = 10
# The page's queries with the default filters, as tests/applications/test_review_pages.py pins them for
# a small department; the same number must hold over 2 million cases.
HOW_MEASURED = f"""
Data (`bench/data/cases.py`, shared with the sweep, intake and statistics cases): ~60 city and district
bureaus from the catalogue, 2,000,000 cases — 1,000,000 open (accepted 25 %, in review 65 %, suspended
10 %) and 1,000,000 closed (delivered 85 %, withdrawn 8 %, not accepted 7 %) — spread over the
departments Zipf-like (the biggest department holds about one open case in seven) and over each
department's items; due dates from the acceptance day and the item's promised working days on the real
calendar (most running cases inside their time, a few overdue, a thin tail long overdue), alert levels and
`next_alert_on` as `applications.clock.alert_state` gave them, reviewers per department (2–12), a few
thousand applicant accounts shared by the cases. COPY of plain tuples with indexes and constraints rebuilt
afterwards, then VACUUM (ANALYZE). Only case rows are loaded: no audit events, suspension rows, documents
or materials for the bulk cases (the work list reads none of them).

A reviewer of the biggest department signs in through the real login page (`bench.lib.login`: CSRF
token, POST, session cookie), then `GET {PATH}` goes in-process through the WSGI application as in the
catalogue case (production middleware, database sessions, DEBUG off). The mix: the landing page (twice per
cycle), pages 2 and 10, each alert filter, two state filters, "only mine", an item-name search and a case
number search. {ROUNDS} blocks, after two warm-up passes; p50/p95 over all requests, and per request kind.
The query count of the landing page is captured request by request (`connection.execute_wrapper`) and
listed with each statement's time.
"""


def _mix(data, department: int) -> list[Request]:
    from applications.models import Application

    sample = (Application.objects.filter(department_id=department, state="in_review")
              .order_by("due_date").values_list("number", "item_version__name")[1000:1001])
    number, item_name = sample[0] if sample else ("NET-20260101-000001", "许可")
    word = re.sub(r"（.*?）", "", item_name)[:4]

    def page(label: str, query: dict | None = None) -> Request:
        return Request(label=label, path=PATH, query=query, kind=label)

    return [
        page("landing page"),
        page("page 2", {"page": 2}),
        page("alert=overdue", {"alert": "overdue"}),
        page("alert=red", {"alert": "red"}),
        page("state=in_review", {"state": "in_review"}),
        page("only mine", {"mine": "on"}),
        page("landing page"),
        page("page 10", {"page": 10}),
        page("alert=yellow", {"alert": "yellow"}),
        page("alert=suspended", {"alert": "suspended"}),
        page("state=accepted", {"state": "accepted"}),
        page(f"search item name ({word})", {"q": word}),
        page("search case number", {"q": number}),
    ]


def _elide(sql: str) -> str:
    return re.sub(r"^SELECT (?!COUNT\(\*\)).*? FROM ", "SELECT … FROM ", sql, count=1, flags=re.S)


def run(ctx: Context) -> list[Row]:
    from applications.models import Application

    data = bench_cases(ctx)
    department = data.biggest_department
    reviewer = data.reviewers[department][0]
    client = WsgiClient()
    login(client, reviewer, BENCH_PASSWORD)
    open_here = Application.objects.filter(department_id=department,
                                           state__in=["accepted", "in_review", "suspended"]).count()
    all_here = Application.objects.filter(department_id=department).count()
    mix = _mix(data, department)
    for request in mix:  # every request must render the page, not a redirect to the login
        status, body = client.get(request.path, request.query)
        if status != 200 or "待审".encode() not in body and "审查".encode() not in body:
            raise RuntimeError(f"{request.label}: HTTP {status} {body[:200]!r}")
    rounds = ROUNDS if ctx.scale >= 0.1 else 2
    count = max(len(mix) * rounds, -(-ctx.scaled(1300, minimum=26) // (len(mix) * rounds)) * len(mix) * rounds)
    ctx.log(f"{count} work list requests as {reviewer} ({open_here:,} open cases in the department)")
    results = interleaved(client, {"worklist": mix}, count=count, rounds=rounds)["worklist"]
    everything = results["all"]
    name = data.department_names[department]
    rows = [Row(
        what=f"reviewer work list p95, request mix ({name}: {open_here:,} open of {all_here:,} cases; "
             f"{data.total:,} in all)",
        figure=f"{everything.p95_ms:.1f} ms (p50 {everything.p50_ms:.1f} ms, n={everything.count:,})",
        target=f"< {P95_TARGET_MS:.0f} ms", passed=everything.p95_ms < P95_TARGET_MS, value=everything.p95_ms, unit="ms",
    )]
    for kind, timings in results.items():
        if kind == "all":
            continue
        rows.append(Row(what=f"· {kind}", figure=f"{timings.p95_ms:.1f} ms (p50 {timings.p50_ms:.1f} ms, n={timings.count})",
                        target=f"< {P95_TARGET_MS:.0f} ms", passed=timings.p95_ms < P95_TARGET_MS,
                        value=timings.p95_ms, unit="ms"))

    # Query count and where the landing page's time goes.
    landing = mix[0]
    totals, captured = [], []
    for _ in range(max(2, ctx.scaled(15))):
        started = time.perf_counter()
        captured = capture_queries(lambda: client.get(landing.path, landing.query))
        totals.append((time.perf_counter() - started) * 1000)
    sql_ms = sum(query.ms for query in captured)
    rows.append(Row(what="· landing page queries (pinned)", figure=f"{len(captured)} queries, {sql_ms:.1f} ms of "
                    f"{statistics.median(totals):.1f} ms (median) in SQL", value=len(captured), unit="queries"))
    lines = "\n".join(f"{number}. {query.ms:.2f} ms — `{_elide(query.sql)[:400]}`"
                      for number, query in enumerate(captured, start=1))
    ctx.note(f"The landing page (`GET {PATH}`, {len(captured)} queries, {sql_ms:.1f} ms SQL of a "
             f"{statistics.median(totals):.1f} ms request):\n\n{lines}")
    per_kind = Counter()
    slowest = {}
    for request in {request.label: request for request in mix}.values():
        queries = capture_queries(lambda: client.get(request.path, request.query))
        per_kind[request.label] = len(queries)
        worst = max(queries, key=lambda query: query.ms)
        if not slowest or worst.ms > slowest["query"].ms:
            slowest = {"request": request, "query": worst}
    ctx.note("Queries per request kind: " + ", ".join(f"{label} {number}" for label, number in per_kind.items()) + ".")
    if slowest:
        ctx.note(f"EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of the mix ({slowest['query'].ms:.1f} ms, in "
                 f"`{slowest['request'].label}`): `{_elide(slowest['query'].sql)[:300]}…`\n\n"
                 f"```\n{explain_analyze(slowest['query'].sql)}\n```")
    missed = [row.what for row in rows if row.passed is False]
    if missed:
        ctx.note(f"Missed: {'; '.join(missed)}.")
    return rows
