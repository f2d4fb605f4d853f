"""DESIGN §16: the multi-host rehearsal — two app hosts (gunicorn + Celery worker each, in network namespaces)
behind HAProxy, a PostgreSQL primary + streaming replica and Redis; mixed traffic through HAProxy while one app
host is killed and brought back. 0 transitions lost or doubled, 0 notifications lost, issuance completes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.hosts import Rehearsal
from bench.lib import REPO, Context, Row
from bench.rehearsal_driver import Driver

NAME = "rehearsal"
ORDER = 95
RUN_ORDER = 5  # before the cases that load the machine's own database with millions of rows: it needs none
FULL_CASES = 32  # 3 PDFs a case (notice, letter, certificate) rendered and signed by the workers
KILLED = 1  # the app host killed mid-run
KILL_AT = 0.3  # … once this share of the cases has been driven through
DOWN_SECONDS = 5  # … and started again this long after
DRAIN_SECONDS = 150

HOW_MEASURED = f"""
Everything runs on this machine, as separate hosts would: a Linux bridge with two network namespaces
(`ip netns`, a veth each) as the app hosts; on the bridge's own address a PostgreSQL primary made for the run
by `initdb` and a streaming replica of it made by `pg_basebackup -R -X stream` (own data directories, ports and
the `{'rehearsal_portal'}` database; the machine's main cluster is not touched), a Redis server of its own and
HAProxy (Debian's package) in front of the app hosts (round robin, `option httpchk GET /healthz` every 0.5 s,
out after 2 failed checks, back after 2 good ones; `retries 2` + `option redispatch` re-route a connection
a dead host refused, never a request already sent; `option forwardfor`, TRUSTED_PROXY_COUNT=1). Each app host
runs `gunicorn -c python:portal.gunicorn_conf portal.wsgi:application` (2 sync workers) and
`celery -A portal worker --concurrency=2`, with `bench.settings` (production settings, DEBUG off) and
DATABASE_URL, DATABASE_REPLICA_URL (the router's replica, decision 061) and REDIS_URL pointing at the bridge.
No Celery beat: its only timers that matter here, the notification, issuance and document-seal retry sweeps,
run every 2 and 5 minutes, longer than the rehearsal; the case runs them once after the drain
(`bench/rehearsal_data.py sweep`: the same functions, the issuance sweep without its 5-minute grace, the
document sweep's `document_seal` on these cases' acceptance notices), which is what beat on a surviving host
does a few minutes later. (Beat runs on one host only; killing that host stops the timers until it is back:
the rows the sweeps look for wait in the database meanwhile.)

Data, through the project's own code in a subprocess on the rehearsal's primary: the schema (the benchmark's
freshly migrated database copied by `pg_dump | pg_restore`, or `migrate`), the demo departments and halls and
the four demo accounts used (`portal.demo`), the demo catalogue and one licence item with its certificate type
(`catalogue_import`), the CA, the center's seal and the department's seal (`seals.services`), then
{FULL_CASES} cases filed online by the demo citizen (`application_create`, a PDF upload, `application_submit`).
The web hosts boot meanwhile; the workers start once the build's own queued tasks (its receipts' seals) are
flushed, so that the queue holds the rehearsal's traffic only.

The load driver is threads in the benchmark process, each with a keep-alive connection to HAProxy: 4 threads
take the cases one by one through the HTTP API with tokens (`POST …/accept/` by the window clerk, `claim/` and
`approve/` by a reviewer of the department, `issue/` by the seal custodian: 4 transitions a case), 2 threads
read the catalogue (items API with Chinese searches, an item, departments, the 办事指南 pages) and the work list
(`/review/` with a reviewer's session signed in through the login page, and the case list API with the
reviewer's token) until the transitions are done. When {KILL_AT:.0%} of the cases are through, every process in
app host {KILLED}'s namespace gets SIGKILL (gunicorn master and workers, the Celery worker and its children); it is
started again {DOWN_SECONDS} s later. A request is retried only when it failed in flight (connection reset or
closed, or 502/503/504 from HAProxy); a transition whose retry is refused with 409 counts as applied when the
case (GET) shows the state that transition leads to — the lost attempt had applied it — and never twice.
Every other answer is a failure of the row.

Afterwards the workers drain their queues; what the killed worker had taken (acknowledged late, so still
unacknowledged in Redis until the visibility timeout) is sent by the sweeps. The checks read the primary
through the models: for each case, each of `application_accept`, `application_claim`, `application_approve`,
`seal_issue_request` and `application_issue` exactly once among its audit events (queried by object, whatever
chain holds them); every notification row of these cases sent; every case issued, with its certificate row,
its signed PDF in storage and its hash; their acceptance notices sealed (in the notes); and
`manage.py verify_audit` over all chains. Then everything is torn
down: namespaces, veths, bridge, both clusters, Redis, HAProxy (also after a failure; a run killed half-way is
cleaned up by the next one).
"""


def _subprocess(rehearsal: Rehearsal, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *arguments], cwd=REPO, env=rehearsal.app_environment(), capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0 and arguments[0] != "manage.py":
        raise RuntimeError(f"{' '.join(arguments)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def _schema(rehearsal: Rehearsal, ctx: Context) -> None:
    """The schema and the migrations' own rows: copied from the benchmark's database while it is freshly
    migrated and empty (this case runs first), by pg_dump | pg_restore in ~2 s; else `manage.py migrate`."""
    from django.db import connection

    from applications.models import Application

    started = time.monotonic()
    if not Application.objects.exists():
        settings = connection.settings_dict
        source = ["-h", settings.get("HOST") or "127.0.0.1", "-p", str(settings.get("PORT") or 5432),
                  "-U", settings.get("USER") or "postgres", settings["NAME"]]
        target = ["-h", rehearsal.bridge_address, "-p", str(rehearsal.ports["primary"]), "-U", "postgres",
                  "-d", "rehearsal_portal"]
        env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
        dump = subprocess.Popen(["pg_dump", "-Fc", "--no-owner", "--no-acl", *source], stdout=subprocess.PIPE, env=env)
        restore = subprocess.run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", *target], stdin=dump.stdout,
                                 capture_output=True, text=True)
        dump.stdout.close()
        if dump.wait() == 0 and restore.returncode == 0:
            ctx.log(f"schema copied from {settings['NAME']} in {time.monotonic() - started:.1f} s")
            return
        ctx.log(f"pg_dump | pg_restore failed ({restore.stderr.strip()[-300:]}); migrating instead")
    _subprocess(rehearsal, "manage.py", "migrate", "--noinput", "-v0").check_returncode()
    ctx.log(f"migrated in {time.monotonic() - started:.1f} s")


def _data(rehearsal: Rehearsal, *arguments: str) -> dict:
    return json.loads(_subprocess(rehearsal, "-m", "bench.rehearsal_data", *arguments).stdout.strip().splitlines()[-1])


def _redis(rehearsal: Rehearsal, *command: str) -> str:
    host, port = rehearsal.bridge_address, str(rehearsal.ports["redis"])
    return subprocess.run(["redis-cli", "-h", host, "-p", port, "-n", "15", *command], capture_output=True, text=True,
                          timeout=10).stdout.strip()


class Chaos:
    """Kills app host KILLED once KILL_AT of the cases are driven, starts it again DOWN_SECONDS later, and
    follows HAProxy's view of both hosts meanwhile."""

    def __init__(self, rehearsal: Rehearsal, cases: int, log):
        self.rehearsal, self.cases, self.log = rehearsal, cases, log
        self.facts: dict[str, float] = {}
        self.downs: Counter = Counter()  # how often HAProxy took each host out
        self.watching = threading.Event()

    def watch(self) -> None:
        previous = {}
        while not self.watching.is_set():
            try:
                states = self.rehearsal.server_states()
            except OSError:
                states = {}
            now = time.monotonic()
            for server, state in states.items():
                if not previous.get(server, "UP").startswith("DOWN") and state.startswith("DOWN"):
                    self.downs[server] += 1
                if previous.get(server) != state:
                    self.facts.setdefault(f"{server} {state.split()[0]}", now)
                    if server == f"app{KILLED}" and "killed" in self.facts and state.startswith("DOWN"):
                        self.facts.setdefault("out", now)
                    if server == f"app{KILLED}" and "started" in self.facts and state == "UP":
                        self.facts.setdefault("back", now)
            previous = states
            time.sleep(0.05)

    def __call__(self, tally) -> None:
        while tally.cases_done < self.cases * KILL_AT:
            if tally.attempted >= self.cases * 4:
                break
            time.sleep(0.05)
        self.facts["killed"] = time.monotonic()
        self.facts["processes"] = self.rehearsal.kill_app(KILLED)
        self.log(f"app host {KILLED} killed ({self.facts['processes']:.0f} processes) after {tally.cases_done} cases")
        time.sleep(DOWN_SECONDS)
        self.facts["started"] = time.monotonic()
        self.rehearsal.start_app(KILLED)
        self.rehearsal.wait_app(KILLED)
        deadline = time.monotonic() + 30
        while "back" not in self.facts and time.monotonic() < deadline:
            time.sleep(0.1)
        self.log(f"app host {KILLED} back in HAProxy {self.facts.get('back', 0) - self.facts['started']:.1f} s after its start")


def _pending(rehearsal: Rehearsal, numbers: list[str]) -> tuple[int, int, int]:
    """(unsent notifications of the cases, pending issuances, messages waiting in the queue)."""
    import psycopg

    from portal.models import Notification
    from seals.models import Issuance

    with psycopg.connect(rehearsal.database_url("primary"), autocommit=True) as connection:
        notifications, issuances = connection.execute(
            f"SELECT (SELECT count(*) FROM {Notification._meta.db_table} WHERE application = ANY(%s) AND sent_at IS NULL),"
            f" (SELECT count(*) FROM {Issuance._meta.db_table} WHERE status = 'pending')", [numbers]).fetchone()
    return notifications, issuances, int(_redis(rehearsal, "LLEN", "bench-rehearsal_portal") or 0)


def _queued_tasks(rehearsal: Rehearsal) -> Counter:
    """The tasks waiting in the queue, by name (kombu's Redis messages are JSON with the task in the headers)."""
    tasks = Counter()
    for line in _redis(rehearsal, "LRANGE", "bench-rehearsal_portal", "0", "-1").splitlines():
        try:
            tasks[json.loads(line)["headers"]["task"].rsplit(".", 1)[-1]] += 1
        except (ValueError, KeyError, TypeError):
            tasks["?"] += 1
    return tasks


def _drain(rehearsal: Rehearsal, numbers: list[str], *, seconds: float) -> dict:
    """Until nothing is pending, or the queue is empty and what is pending has not changed for 3 s (the
    workers are idle: what is left, no message will bring)."""
    started = time.monotonic()
    last, stable = None, 0
    while True:
        state = _pending(rehearsal, numbers)
        stable = stable + 1 if state == last else 0
        last = state
        if not any(state) or (state[2] == 0 and stable >= 12) or time.monotonic() - started > seconds:
            break
        time.sleep(0.25)
    return {"seconds": time.monotonic() - started, "notifications": last[0], "issuances": last[1], "queued": last[2],
            "unacked": int(_redis(rehearsal, "HLEN", "unacked") or 0)}


def _keep_logs(rehearsal: Rehearsal, ctx: Context, *, failed: bool) -> None:
    """The hosts' logs outlive the teardown: BENCH_TMP/rehearsal-logs/."""
    target = Path(os.environ.get("BENCH_TMP", "/tmp/portal_bench")) / "rehearsal-logs"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for log in rehearsal.state.glob("*.log"):
        shutil.copy(log, target / log.name)
    if failed:
        ctx.log(f"logs kept in {target}")


def run(ctx: Context) -> list[Row]:
    cases = ctx.scaled(FULL_CASES, minimum=12)
    started = time.monotonic()
    rehearsal = Rehearsal(hosts=2, log=ctx.log)
    if rehearsal.removed:
        ctx.log(f"removed leftovers of an earlier run: {', '.join(rehearsal.removed)}")
    failed = True
    try:
        rehearsal.start_network()
        rehearsal.start_databases()
        rehearsal.start_redis()
        ctx.log(f"{rehearsal.tag}: network, primary + replica, Redis up in {time.monotonic() - started:.1f} s")
        _schema(rehearsal, ctx)
        rehearsal.start_haproxy()
        for index in rehearsal.hosts:
            rehearsal.start_web(index)  # booting while the data is built
        data = _data(rehearsal, "build", str(cases))
        numbers = data["numbers"]
        _redis(rehearsal, "FLUSHDB")  # the receipts' seal tasks of the data build: not the rehearsal's traffic
        ctx.log(f"built {len(numbers)} submitted cases in {data['seconds']['cases']:.1f} s (accounts, catalogue, "
                f"seals {data['seconds']['prepare']:.1f} s); {time.monotonic() - started:.1f} s so far")
        for index in rehearsal.hosts:
            rehearsal.start_worker(index)
        for index in rehearsal.hosts:
            rehearsal.wait_app(index)
            rehearsal.wait_worker(index)
        while set(rehearsal.server_states().values()) != {"UP"}:
            time.sleep(0.1)
        ctx.log(f"app hosts up behind HAProxy at {time.monotonic() - started:.1f} s")

        users = {role: data[role] for role in ("clerk", "reviewer", "custodian")}
        driver = Driver(rehearsal.url, numbers=numbers, users=users, password=data["password"], item_code=data["item"])
        driver.prepare()
        chaos = Chaos(rehearsal, len(numbers), ctx.log)
        watcher = threading.Thread(target=chaos.watch, daemon=True)
        watcher.start()
        tally = driver.run(during=chaos)
        chaos.watching.set()
        if driver.errors:
            raise RuntimeError(f"load driver: {driver.errors[0]!r}") from driver.errors[0]
        seconds = tally.last - tally.first
        driving = tally.transitions_end - tally.first
        ctx.log(f"{tally.sent} requests in {seconds:.1f} s; in flight {dict(tally.in_flight)}; "
                f"transitions {tally.applied} + {tally.recognised} recognised of {tally.attempted} in {driving:.1f} s "
                f"({tally.attempted / driving:.1f}/s)")

        queued = _queued_tasks(rehearsal)
        ctx.log(f"queued when the load stopped: {dict(queued)}")
        drained = _drain(rehearsal, numbers, seconds=DRAIN_SECONDS)
        ctx.log(f"drained in {drained['seconds']:.1f} s: {drained['notifications']} notifications and "
                f"{drained['issuances']} issuances pending, {drained['queued']} messages queued, {drained['unacked']} "
                "unacknowledged (taken by the killed worker)")
        numbers_file = rehearsal.state / "numbers.json"
        numbers_file.write_text(json.dumps(numbers))
        swept = _data(rehearsal, "sweep", str(numbers_file))
        settled = _drain(rehearsal, numbers, seconds=30)  # what the sweep's own sends queued (none, normally)
        ctx.log(f"the sweeps sent {swept['notifications']} notifications, completed {swept['issuances']} issuances, "
                f"sealed {swept['documents']} acceptance notices; "
                f"then {settled['notifications']} notifications and {settled['issuances']} issuances pending")
        checked = _data(rehearsal, "check", str(numbers_file))
        audit = _subprocess(rehearsal, "manage.py", "verify_audit")
        health = _full_health(rehearsal)
        failed = False
    finally:
        _keep_logs(rehearsal, ctx, failed=failed)
        rehearsal.close()
    ctx.log(f"torn down; {time.monotonic() - started:.0f} s in all")
    drained["queued_at_end"] = queued
    return _rows(ctx, tally=tally, seconds=seconds, chaos=chaos.facts, downs=chaos.downs, drained=drained, swept=swept, checked=checked,
                 audit=audit, health=health, cases=len(numbers))


def _full_health(rehearsal: Rehearsal) -> dict:
    import http.client

    connection = http.client.HTTPConnection(*rehearsal.url, timeout=10)
    connection.request("GET", "/healthz?full=1", headers={"Host": "rehearsal.local"})
    response = connection.getresponse()
    try:
        return {"status": response.status, **json.loads(response.read())}
    except ValueError:
        return {"status": response.status}


def _rows(ctx: Context, *, tally, seconds, chaos, downs, drained, swept, checked, audit, health, cases) -> list[Row]:
    in_flight = sum(tally.in_flight.values())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(tally.answered.items()))
    how = ", ".join(f"{count} {what}" for what, count in tally.in_flight.most_common())
    out = chaos.get("out", 0) - chaos.get("killed", 0)
    back = chaos.get("back", 0) - chaos.get("started", 0)
    haproxy = (f"HAProxy took app host {KILLED} out {out:.1f} s after the kill, back {back:.1f} s after its restart"
               if "out" in chaos and "back" in chaos else f"HAProxy saw: {sorted(k for k in chaos if k.startswith('app'))}")
    haproxy += "; hosts taken out: " + ", ".join(f"app{index} {downs[f'app{index}']}×" for index in (1, 2))
    applied_once = tally.applied + tally.recognised
    missing, doubled = sum(checked["missing"].values()), sum(checked["doubled"].values())
    transitions_ok = (applied_once == tally.attempted == cases * 4 and not missing and not doubled
                      and not tally.unexpected)
    notifications_ok = checked["notifications"] > 0 and checked["notifications_sent"] == checked["notifications"]
    issued = checked["states"].get("issued", 0)
    issuance_ok = issued == cases == checked["certificates"] == checked["certificates_stored"]
    audit_line = (audit.stdout.strip().splitlines() or [audit.stderr.strip()[-200:]])[-1]
    replica = health.get("replica") or {}
    if tally.unexpected:
        ctx.note(f"{len(tally.unexpected)} unexpected answers, one of each kind: " + "; ".join(
            {answer.split(" ", 2)[0] + answer.split("HTTP ", 1)[-1][:3]: answer for answer in tally.unexpected}.values()))
    ctx.note(
        f"This run: {cases} cases; app host {KILLED} killed ({chaos.get('processes', 0):.0f} processes) once "
        f"{KILL_AT:.0%} of the cases were through and started again {DOWN_SECONDS} s later. {haproxy}. "
        f"Requests by kind (answered): {kinds}. When the load stopped, the queue held "
        f"{', '.join(f'{count} {task}' for task, count in drained['queued_at_end'].most_common()) or 'nothing'}; "
        f"the workers drained it in {drained['seconds']:.1f} s; "
        f"{drained['unacked']} messages were left unacknowledged by the killed worker, with {drained['notifications']} "
        f"notifications and {drained['issuances']} issuances still pending: the sweeps then sent "
        f"{swept['notifications']} notifications, completed {swept['issuances']} issuances and sealed "
        f"{swept['documents']} acceptance notices ({checked['notices_sealed']} of {checked['notices']} sealed at the "
        "end). Audit events of these "
        f"cases are in chain(s) {', '.join(checked['chains']) or '(no chain field)'}. `/healthz?full=1` through HAProxy "
        f"at the end: HTTP {health.get('status')}, replica {replica.get('state', '–')} "
        f"(lag {replica.get('lag_seconds', '–')} s, {replica.get('lag_bytes', '–')} bytes)."
    )
    return [
        Row(what=f"multi-host rehearsal: requests through HAProxy, app host {KILLED} of 2 killed and restarted",
            figure=(f"{tally.sent:,} requests in {seconds:.0f} s; {in_flight} errors, all in flight ({how or 'none'}), "
                    f"all retried; {len(tally.unexpected)} other"),
            target="errors only in flight, all retried", reference=haproxy,
            passed=not tally.unexpected, value=tally.sent, unit="requests"),
        Row(what="· transitions (accept, claim, approve, issue) applied exactly once",
            figure=(f"{applied_once:,} of {tally.attempted:,} attempted ({tally.recognised} retried and recognised as "
                    f"applied by the lost attempt); audit events: {missing} missing, {doubled} doubled"),
            target="0 lost, 0 doubled", reference=f"{cases} cases × 4 transitions", passed=transitions_ok,
            value=applied_once, unit="transitions"),
        Row(what="· notifications of these cases sent",
            figure=(f"{checked['notifications_sent']:,} of {checked['notifications']:,} "
                    f"({swept['notifications']} by the outbox retry sweep after the drain)"),
            target="0 lost", reference=f"{drained['unacked']} messages held by the killed worker",
            passed=notifications_ok, value=checked["notifications_sent"], unit="notifications"),
        Row(what="· issuance completed (signed certificate stored)",
            figure=(f"{issued} of {cases} issued, {checked['certificates_stored']} certificates signed and stored "
                    f"({swept['issuances']} completed by the issuance sweep)"),
            target="every approved case issued", reference=f"issuances {checked['issuances']}",
            passed=issuance_ok, value=issued, unit="cases"),
        Row(what="· manage.py verify_audit after the rehearsal", figure=f"exit {audit.returncode}: {audit_line[:160]}",
            target="exit 0", passed=audit.returncode == 0),
    ]
