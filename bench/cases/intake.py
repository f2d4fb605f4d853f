"""DESIGN §12: intake — accept + claim + approve per second through the real services, ≥ 300 case
transitions/s, next to PostgreSQL's own simple-update TPS (pgbench) measured in the same run.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import statistics
import time
from collections import defaultdict
from datetime import timedelta

from bench.data.cases import bench_cases
from bench.lib import Context, Row, copy_rows, pgbench_tps, reserve_ids, with_model_defaults

NAME = "intake"
ORDER = 20
TARGET = 300.0
WORKERS = 2  # the machine's cores, as two gunicorn or Celery workers would use them
FULL_TRANSITIONS = 6_000
KINDS = ("accept", "claim", "approve")

HOW_MEASURED = f"""
Fresh cases are made for the purpose on top of the 2 million (`bench/data/cases.py`): online cases in state
`submitted`, COPY'd with an upload row (`applications_material`) for every required material of their item,
spread over the departments' promised-time items as the bulk cases are, numbered from the day's
`NET` sequence. {WORKERS} worker processes (spawned, each with its own PostgreSQL connection, as two gunicorn
or Celery workers) wait at a barrier and then take alternate cases, each through
`application_accept` (a window clerk) → `application_claim` → `application_approve` (a reviewer of the case's
department), the real services with their row locks, FSM checks, the audit chain append
(`portal.audit.audit_record`: `SELECT … FROM portal_auditchainhead … FOR UPDATE` on the case's department's
chain, then the event's INSERT and the head's UPDATE in one statement), the
acceptance notice row and the applicant's notification; after commit, the wake of the notification and
sealing drains (a Redis `SET NX`, and a Celery message to Redis database 15 when no drain was waiting:
decision 065; no worker runs during this case, so the drains queued are purged at its end).
Before the clock starts, each worker has taken one case through (its connections and compiled
statements made) and read the requirements of the item versions its cases are on, as a worker that has
served for a while holds them (the note gives what that first read costs). Callers pass the case as `Application(pk=…)`: the service re-reads it under its lock, so what a view does
before (session, `access_application`) is not counted. Transitions/s = transitions ÷ the wall time from
the barrier to the last transition. In every worker a `connection.execute_wrapper` times the audit-head
`SELECT … FOR UPDATE` (the wait for the other worker's lock plus one round trip) and the time from its
return to the end of the service call (the lock is held until COMMIT returns).

The same run is repeated with every case in one department (the one with the most items): all its
transitions append to one audit chain, the reference for "grows with departments" — with one chain per
department (decision 063) cases of many departments never wait for each other's chain head. Each of the two
runs is made in two halves, taken in the order all departments, one, one, all (the figure is both halves'
transitions over both halves' wall time), so that what drifts during the case weighs on both alike.

Reference: `pgbench -b simple-update -c {WORKERS} -j {WORKERS}` (scale 10) on the same server and database in
the same run — PostgreSQL's rate for a small read-write transaction with a synchronous commit each.
"""


# ---------------------------------------------------------------------------------------------- fresh cases


def fresh_submitted_cases(data, count: int, *, versions=None, form_data: str | None = None) -> list[tuple[int, int]]:
    """`count` submitted online cases with all required materials uploaded; [(case id, department id)].

    The application form carries the certificate's face fields (持证人, 证件号码, 有效期), as the applicant
    declares them online, so approval finds every 照面信息 field it needs."""
    from django.db import connection
    from django.utils import timezone

    from applications.models import Application, Material, NumberSequence
    from items.models import MaterialRequirement

    rng = data._rng
    versions = versions or [version for version in data.versions if version.promised_days > 0]
    required: dict[int, list[int]] = defaultdict(list)
    for version_id, requirement_id in MaterialRequirement.objects.filter(
        version_id__in=[version.id for version in versions], required=True
    ).values_list("version_id", "pk"):
        required[version_id].append(requirement_id)
    today = timezone.localdate()
    sequence, _ = NumberSequence.objects.get_or_create(prefix="NET", day=today)
    first = sequence.last + 1
    sequence.last += count
    sequence.save(update_fields=["last"])
    ids = reserve_ids(Application, count)
    now = timezone.now()
    chosen = [versions[int(rng.random() * len(versions))] for _ in ids]
    applicants = data._applicants
    cases, materials = [], []
    for offset, (pk, version) in enumerate(zip(ids, chosen)):
        applicant, name, id_number = applicants[int(rng.random() * len(applicants))]
        submitted = now - timedelta(minutes=int(rng.random() * 600))
        cases.append((
            pk, f"NET-{today:%Y%m%d}-{first + offset:06d}", version.id, version.department_id, None, "online",
            "submitted", applicant, name, "111", id_number, "13800000000", "长春市南关区人民大街1号",
            form_data or json.dumps({"持证人": name, "证件号码": id_number, "有效期": "五年"}, ensure_ascii=False),
            applicant, submitted - timedelta(minutes=30), submitted, False, False, "", 0, 0, "", "", "", "", False,
            "", "", "",
        ))
        for requirement in required[version.id]:
            materials.append((pk, requirement, 1, f"materials/{pk}/bench-{requirement}", "材料.pdf", "application/pdf",
                              48_213, "0" * 64, applicant, submitted - timedelta(minutes=10)))
    copy_rows(Application._meta.db_table, *with_model_defaults(Application, (
        "id", "number", "item_version_id", "department_id", "hall_id", "channel", "state", "applicant_id",
        "applicant_name", "applicant_id_type", "applicant_id_number", "contact_phone", "contact_address", "form_data",
        "created_by_id", "created_at", "submitted_at", "deemed_accepted", "due_date_provisional", "alert_level",
        "visits", "extended_days", "extension_reason", "decision_opinion", "decision_legal_basis", "outcome",
        "issuing", "certificate_identifier", "delivery_method", "tracking_number",
    ), cases))
    copy_rows(Material._meta.db_table, *with_model_defaults(Material, (
        "application_id", "requirement_id", "version", "file", "original_name", "content_type", "size", "sha256",
        "uploaded_by_id", "uploaded_at"), materials))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE applications_material")
    return [(pk, version.department_id) for pk, version in zip(ids, chosen)]


# ---------------------------------------------------------------------------------------------- workers


def _worker(index: int, assignments: list[tuple[int, int]], clerk: str, reviewers: dict[int, str], barrier,
            results, synchronous_commit: bool) -> None:
    """One worker process: its own Django and connection; accept, claim, approve each case in turn."""
    import django

    django.setup()
    from django.db import connection, connections

    from applications.models import Application
    from applications.selectors import version_requirements
    from applications.services import application_accept, application_approve, application_claim
    from items.models import ItemVersion
    from portal.models import User

    users = {user.username: user for user in User.objects.select_related("hall", "department")
             .filter(username__in=[clerk, *reviewers.values()])}
    if not synchronous_commit:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    lock = {"acquired": 0.0, "wait": 0.0, "queries": 0, "commit_started": 0.0, "committed": 0.0}
    database = connections["default"]
    commit = database._commit

    def timed_commit():
        # The COMMIT itself (WAL flush with synchronous_commit on); on_commit hooks (the Redis publish) run
        # after it, outside the lock.
        lock["commit_started"] = time.perf_counter()
        try:
            return commit()
        finally:
            lock["committed"] = time.perf_counter()

    database._commit = timed_commit

    def watch(execute, sql, params, many, context):
        lock["queries"] += 1
        if "portal_auditchainhead" in sql and "FOR UPDATE" in sql:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                lock["acquired"] = time.perf_counter()
                lock["wait"] = lock["acquired"] - started
        return execute(sql, params, many, context)

    records = []  # (kind, started, finished, head lock wait, head lock held, queries, commit, after commit)
    calls = {
        "accept": lambda pk, reviewer: application_accept(actor=users[clerk], application=Application(pk=pk)),
        "claim": lambda pk, reviewer: application_claim(actor=reviewer, application=Application(pk=pk)),
        "approve": lambda pk, reviewer: application_approve(actor=reviewer, application=Application(pk=pk),
                                                            opinion="材料齐全，符合法定条件，准予许可。"),
    }
    # The first case warms the process up (Redis connection, compiled queries) before the clock starts; and
    # the process reads the requirements of the item versions its cases are on, as a worker that has served
    # for a while holds them (a published version's are read once per process: decision 065).
    warmup, assignments = assignments[:1], assignments[1:]
    for pk, department in warmup:
        for kind in KINDS:
            calls[kind](pk, users[reviewers[department]])
    versions = ItemVersion.objects.filter(pk__in=Application.objects.filter(
        pk__in=[pk for pk, _ in assignments]).values("item_version_id").distinct())
    started = time.perf_counter()
    for version in versions:
        version_requirements(version)
    results.put(("versions", index, len(versions), time.perf_counter() - started))
    barrier.wait()
    clock = time.perf_counter
    with connection.execute_wrapper(watch):
        for pk, department in assignments:
            reviewer = users[reviewers[department]]
            for kind in KINDS:
                lock.update(acquired=0.0, wait=0.0, queries=0, commit_started=0.0, committed=0.0)
                started = clock()
                calls[kind](pk, reviewer)
                finished = clock()
                held = lock["committed"] - lock["acquired"] if lock["acquired"] else 0.0
                records.append((kind, started, finished, lock["wait"], held, lock["queries"],
                                lock["committed"] - lock["commit_started"], finished - lock["committed"]))
    results.put((index, records))
    connection.close()


def run_workers(data, cases: list[tuple[int, int]], *, workers: int, synchronous_commit: bool = True) -> dict:
    """Spawn `workers` processes over `cases` (alternating); returns the merged records and the wall time."""
    from django.db import connections

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    clerk = data.clerks[0]
    reviewers = {department: names[0] for department, names in data.reviewers.items()}
    connections.close_all()  # nothing of the parent's connection may leak into the children
    # cases[:workers] are the workers' warm-up cases, not timed.
    processes = [context.Process(target=_worker, args=(index, cases[index::workers], clerk, reviewers, barrier, results,
                                                       synchronous_commit)) for index in range(workers)]
    for process in processes:
        process.start()
    collected, warmed = {}, []
    deadline = time.monotonic() + 1800
    while len(collected) < workers:
        try:
            message = results.get(timeout=1)
            if message[0] == "versions":
                warmed.append(message[2:])
                continue
            index, records = message
            collected[index] = records
        except queue.Empty:
            failed = [process.exitcode for process in processes if process.exitcode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                for process in processes:
                    process.kill()
                raise RuntimeError(f"intake worker failed (exit codes {failed}); its traceback is on stderr") from None
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"intake worker exited with {process.exitcode}")
    records = [record for index in sorted(collected) for record in collected[index]]
    wall = max(record[2] for record in records) - min(record[1] for record in records)
    return {"records": records, "wall": wall, "rate": len(records) / wall, "workers": workers,
            "versions_read": sum(count for count, _ in warmed), "versions_seconds": sum(seconds for _, seconds in warmed)}


def _merged(results: list[dict]) -> dict:
    """Runs taken as one: their transitions over the sum of their wall times."""
    records = [record for result in results for record in result["records"]]
    wall = sum(result["wall"] for result in results)
    return {"records": records, "wall": wall, "rate": len(records) / wall, "workers": results[0]["workers"],
            "versions_read": sum(result["versions_read"] for result in results),
            "versions_seconds": sum(result["versions_seconds"] for result in results)}


def _summary(result: dict) -> dict:
    records = result["records"]
    by_kind = {kind: [r for r in records if r[0] == kind] for kind in KINDS}
    ms = lambda values, p: (statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]) * 1000  # noqa: E731
    return {
        "rate": result["rate"],
        "per_kind": {kind: (ms([r[2] - r[1] for r in rows], 50), ms([r[2] - r[1] for r in rows], 95),
                            statistics.median(r[5] for r in rows), statistics.mean(r[4] for r in rows) * 1000,
                            statistics.mean(r[3] for r in rows) * 1000) for kind, rows in by_kind.items()},
        "wait_ms": statistics.mean(r[3] for r in records) * 1000,
        "held_ms": statistics.mean(r[4] for r in records) * 1000,
        "service_ms": statistics.mean(r[2] - r[1] for r in records) * 1000,
        "wait_share": sum(r[3] for r in records) / sum(r[2] - r[1] for r in records),
        "commit_ms": statistics.mean(r[6] for r in records) * 1000,
        "after_commit_ms": statistics.mean(r[7] for r in records) * 1000,
        "transitions": len(records),
        "versions_read": result["versions_read"],
        "version_ms": result["versions_seconds"] / max(result["versions_read"], 1) * 1000,
    }


def run(ctx: Context) -> list[Row]:
    from django.db import connections

    data = bench_cases(ctx)
    transitions = max(60, ctx.scaled(FULL_TRANSITIONS) // 3 * 3)
    count = transitions // 3
    diagnostic = max(30, count // 2)
    ctx.log(f"{count} fresh submitted cases for the measured run, 2 × {diagnostic} for the diagnostic runs")
    # Each run in two halves, in the order all, one, one, all: what drifts during the case (the server's
    # buffers, a checkpoint) weighs on both alike. + one warm-up case per worker and half.
    halves = [count // 2, count - count // 2]
    main_cases = [fresh_submitted_cases(data, half + WORKERS) for half in halves]
    # The reference for "grows with departments" (DESIGN §12, §16): the same run with every case in one
    # department, whose transitions all append to that department's one audit chain.
    promised = [version for version in data.versions if version.promised_days > 0]
    busiest = max({v.department_id for v in promised}, key=lambda d: sum(v.department_id == d for v in promised))
    one_department_cases = [fresh_submitted_cases(
        data, half + WORKERS, versions=[version for version in promised if version.department_id == busiest])
        for half in halves]
    departments = len({department for half in main_cases for _, department in half})
    diagnose = ctx.scale >= 0.1  # a tiny run (the test) checks the plumbing, not the diagnosis
    if diagnose:
        serial_cases = fresh_submitted_cases(data, diagnostic + 1)
        async_cases = fresh_submitted_cases(data, diagnostic + WORKERS)

    seconds = max(3, round(10 * ctx.scale ** 0.5))
    # Scale 10 (1 M accounts) for the report; a tiny run only checks the plumbing and initialises less.
    tps = pgbench_tps(clients=WORKERS, seconds=seconds, scale=10 if ctx.scale >= 0.5 else 1)
    connections.close_all()
    ctx.log(f"pgbench simple-update: {tps:,.0f} TPS")

    first = run_workers(data, main_cases[0], workers=WORKERS)
    one = _summary(_merged([run_workers(data, half, workers=WORKERS) for half in one_department_cases]))
    main = _summary(_merged([first, run_workers(data, main_cases[1], workers=WORKERS)]))
    ctx.log(f"{WORKERS} workers: {main['rate']:,.0f} transitions/s")
    ctx.log(f"{WORKERS} workers, one department: {one['rate']:,.0f} transitions/s")
    if not diagnose:
        serial = unsynced = main
    else:
        serial = _summary(run_workers(data, serial_cases, workers=1))
        ctx.log(f"1 worker: {serial['rate']:,.0f} transitions/s")
        unsynced = _summary(run_workers(data, async_cases, workers=WORKERS, synchronous_commit=False))
        ctx.log(f"{WORKERS} workers, synchronous_commit off: {unsynced['rate']:,.0f} transitions/s")

    from bench.cases.sweep import _purge_broker

    _purge_broker()  # the notification sends the transitions queued: no worker runs during this case
    rows = [Row(
        what=f"intake: accept + claim + approve, {WORKERS} worker processes",
        figure=f"{main['rate']:,.0f} transitions/s ({transitions:,} transitions, {count:,} cases)",
        target=f"≥ {TARGET:.0f} transitions/s", reference=f"pgbench simple-update {tps:,.0f} TPS (-c {WORKERS})",
        passed=main["rate"] >= TARGET, value=main["rate"], unit="transitions/s",
    )]
    rows.append(Row(
        what=f"intake across departments: cases of {departments} departments, {WORKERS} workers",
        figure=f"{main['rate']:,.0f} transitions/s (audit head lock waited {main['wait_ms']:.2f} ms per transition)",
        target="grows with departments", reference=f"one department: {one['rate']:,.0f} transitions/s "
                                                      f"(waited {one['wait_ms']:.2f} ms)",
        # Per-department chains: more departments never wait more than one does (the rates are within noise
        # of each other on two cores: the lock is no longer what limits them).
        passed=main["rate"] >= one["rate"] * 0.97 and main["wait_ms"] <= one["wait_ms"], value=main["rate"],
        unit="transitions/s",
    ))
    for kind, (p50, p95, queries, held, waited) in main["per_kind"].items():
        rows.append(Row(what=f"· {kind} (one service call)", figure=f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, {queries:.0f} queries",
                        reference=f"audit head lock: waited {waited:.1f} ms, held {held:.1f} ms"))
    rows.append(Row(
        what="· audit chain head lock: wait / held per transition",
        figure=f"waited {main['wait_ms']:.2f} ms, held {main['held_ms']:.2f} ms (COMMIT {main['commit_ms']:.2f} ms) "
               f"of {main['service_ms']:.2f} ms",
        reference=f"one department's ceiling 1 / held = {1000 / main['held_ms']:,.0f} transitions/s" if main["held_ms"] else "",
    ))
    if diagnose:
        rows.append(Row(what="· same, 1 worker process (diagnostic)", figure=f"{serial['rate']:,.0f} transitions/s",
                        reference=f"{diagnostic * 3:,} transitions"))
        rows.append(Row(what="· same, 2 workers, synchronous_commit off (diagnostic)",
                        figure=f"{unsynced['rate']:,.0f} transitions/s",
                        reference=f"lock held {unsynced['held_ms']:.2f} ms"))
    ctx.note(
        f"Per transition with {WORKERS} workers: {main['service_ms']:.2f} ms in the service on average; "
        f"{main['wait_ms']:.2f} ms of it waiting for the audit chain head (`SELECT … FOR UPDATE` on "
        f"`portal_auditchainhead`, {main['wait_share']:.0%} of all service time), and the head lock held "
        f"{main['held_ms']:.2f} ms from that statement's return until COMMIT returned ({main['commit_ms']:.2f} ms "
        f"of it the COMMIT, i.e. the WAL flush); after the commit, outside the lock, the Redis publish and the "
        f"rest took {main['after_commit_ms']:.2f} ms. Transitions of one department take its chain's head row lock "
        f"one at a time, so one department cannot exceed 1 / held ≈ {1000 / max(main['held_ms'], 1e-6):,.0f} "
        f"per second; cases of different departments take different rows. One department alone: "
        f"{one['rate']:,.0f}/s, waited {one['wait_ms']:.2f} ms per transition. One worker alone: "
        f"{serial['rate']:,.0f}/s ({serial['service_ms']:.2f} ms per transition, lock held {serial['held_ms']:.2f} ms). "
        f"With `SET synchronous_commit TO off` in the workers' sessions (commit no longer waits for the WAL "
        f"flush; diagnostic only): {unsynced['rate']:,.0f}/s, lock held {unsynced['held_ms']:.2f} ms, waited "
        f"{unsynced['wait_ms']:.2f} ms. pgbench simple-update with {WORKERS} clients: {tps:,.0f} TPS "
        f"in the same database. Before the clock started the workers read the requirements of the "
        f"{main['versions_read']:,} item versions their cases are on ({one['versions_read']:,} in the one-department "
        f"run), {main['version_ms']:.2f} ms a version: what a process's first case of a version costs once, "
        "and a worker that has served a while does not pay again (decision 065)."
    )
    return rows
