"""What every benchmark case shares: rows of the report, the run context, timing and percentiles, an
in-process WSGI request loop, memory (RSS) readings, fast bulk loading (COPY) and query diagnostics.

Cases import Django models lazily (inside functions): this module is imported before `django.setup()`.
"""

from __future__ import annotations

import contextlib
import gc
import io
import itertools
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------- report rows


@dataclass
class Row:
    """One line of the table: a figure next to its target and the reference measured in the same run.

    `passed` is None for a row that only informs (no target). `value`/`unit` keep the number for tools.
    """

    what: str
    figure: str
    target: str = ""
    reference: str = ""
    passed: bool | None = None
    value: float | None = None
    unit: str = ""
    case: str = ""

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "–"}[self.passed]


@dataclass
class Context:
    """Handed to every case's `run(ctx)`.

    scale   – 1.0 is DESIGN §12's data size; `ctx.scaled(n)` sizes data and loops from it.
    notes   – per case, paragraphs printed under "how measured" (findings, selectivity, diagnoses).
    shared  – data sets one case builds and a later one reuses (`ctx.once("cases_2m", build)`): the
              2-million-case tables are built once per run, not once per case.
    """

    scale: float = 1.0
    notes: dict[str, list[str]] = field(default_factory=dict)
    shared: dict[str, object] = field(default_factory=dict)
    case: str = ""
    quiet: bool = False

    def scaled(self, full: int, minimum: int = 1) -> int:
        return max(minimum, round(full * self.scale))

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"  [{self.case}] {message}", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        self.notes.setdefault(self.case, []).append(text)

    def once(self, key: str, build: Callable[[], object]) -> object:
        """Build a shared data set on first use. A build that failed is not retried by later cases (it may
        have left half its rows behind): they fail with the first error instead of a confusing second one."""
        if key not in self.shared:
            try:
                self.shared[key] = build()
            except Exception as error:
                self.shared[key] = _Failed(error)
                raise
        value = self.shared[key]
        if isinstance(value, _Failed):
            raise RuntimeError(f"shared data {key!r} failed to build in an earlier case: "
                               f"{type(value.error).__name__}: {value.error}") from value.error
        return value


@dataclass
class _Failed:
    error: Exception


# ---------------------------------------------------------------------------------------------- timing


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    """Durations in seconds of one measured series."""

    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0  # total elapsed time of the loop(s) that produced them, loop overhead included

    def add(self, other: Timings) -> None:
        self.seconds += other.seconds
        self.wall += other.wall

    @property
    def count(self) -> int:
        return len(self.seconds)

    def ms(self, p: float) -> float:
        return percentile(self.seconds, p) * 1000

    @property
    def p50_ms(self) -> float:
        return self.ms(50)

    @property
    def p95_ms(self) -> float:
        return self.ms(95)

    @property
    def per_second(self) -> float:
        return self.count / self.wall if self.wall else 0.0


@dataclass
class Stopwatch:
    """`with Stopwatch() as watch: …` then `watch.seconds`."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._started


# ---------------------------------------------------------------------------------------------- requests


class WsgiClient:
    """Calls the project's WSGI application the way a WSGI server does, in this process.

    Unlike django.test.Client it adds no test instrumentation (no template/context capture, no cookie
    jar, no signal juggling): the timed work is Django's handler, middleware, view and database, as in a
    gunicorn worker minus the HTTP parsing, which is a constant per request for every view alike.
    """

    def __init__(self, host: str = "bench.local"):
        from django.core.wsgi import get_wsgi_application

        self.application = get_wsgi_application()
        self.host = host
        # A cookie jar only after `login` switched it on: anonymous request loops stay as bare as before.
        self.cookies: dict[str, str] = {}
        self.keep_cookies = False

    def environ(self, path: str, query: dict | str | None = None, method: str = "GET", headers: dict | None = None,
                body: bytes = b"", content_type: str = "application/x-www-form-urlencoded"):
        query_string = urlencode(query) if isinstance(query, dict) else (query or "")
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query_string,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": self.host,
            "HTTP_ACCEPT": "application/json",
            "HTTP_USER_AGENT": "portal-bench/1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "CONTENT_TYPE": content_type if body else "",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return environ

    def get(self, path: str, query: dict | str | None = None, headers: dict | None = None) -> tuple[int, bytes]:
        return self.request(path, query, headers=headers)[:2]

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, bytes, dict]:
        """A form POST (urlencoded); returns status, body and the response headers (for Location)."""
        return self.request(path, method="POST", body=urlencode(data).encode(), headers=headers)

    def request(self, path: str, query: dict | str | None = None, *, method: str = "GET", body: bytes = b"",
                headers: dict | None = None) -> tuple[int, bytes, dict]:
        status_line, response_headers = [], []

        def start_response(status, headers_sent, exc_info=None):
            status_line.append(status)
            response_headers.extend(headers_sent)

        result = self.application(self.environ(path, query, method, headers=headers, body=body), start_response)
        try:
            content = b"".join(result)
        finally:
            # A WSGI server calls close(): Django sends request_finished (connection bookkeeping) there.
            close = getattr(result, "close", None)
            if close:
                close()
        if self.keep_cookies:
            for name, value in response_headers:
                if name.lower() == "set-cookie":
                    cookie_name, _, rest = value.partition("=")
                    self.cookies[cookie_name.strip()] = rest.split(";", 1)[0]
        return int(status_line[0].split(" ", 1)[0]), content, dict(response_headers)


def login(client: WsgiClient, username: str, password: str, *, path: str = "/accounts/login/") -> None:
    """Sign in through the real login page, as a browser does: GET it (CSRF cookie and token), POST the
    form, keep the session cookie on the client. Every later request of `client` carries the session.

    Raises if the login did not succeed (a wrong password, a lock-out): a benchmark of the login page
    instead of the page behind it would measure nothing.
    """
    import re

    client.cookies.clear()
    client.keep_cookies = True
    status, body, _ = client.request(path)
    if status != 200:
        raise RuntimeError(f"login page: HTTP {status}")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not match:
        raise RuntimeError("login page has no CSRF token")
    status, body, headers = client.post(
        path, {"csrfmiddlewaretoken": match.group(1).decode(), "username": username, "password": password},
        headers={"Referer": f"http://{client.host}{path}"},
    )
    if status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login as {username!r} failed: HTTP {status} {body[:300]!r}")


@dataclass(frozen=True)
class Request:
    """One request of a mix; `kind` groups requests for per-kind percentiles."""

    label: str
    path: str
    query: dict | None = None
    kind: str = ""


def request_loop(client: WsgiClient, requests: Sequence[Request], count: int) -> dict[str, Timings]:
    """Send `count` requests cycling through `requests`; per-request durations by kind, plus "all".

    Every response must be 200: a benchmark of error pages measures nothing.
    """
    by_kind: dict[str, Timings] = {"all": Timings()}
    clock = time.perf_counter
    started = clock()
    for request in itertools.islice(itertools.cycle(requests), count):
        before = clock()
        status, body = client.get(request.path, request.query)
        elapsed = clock() - before
        if status != 200:
            raise RuntimeError(f"{request.label}: HTTP {status} {body[:200]!r}")
        by_kind["all"].seconds.append(elapsed)
        by_kind.setdefault(request.kind or request.label, Timings()).seconds.append(elapsed)
    by_kind["all"].wall = clock() - started
    return by_kind


def interleaved(
    client: WsgiClient, series: dict[str, Sequence[Request]], *, count: int, rounds: int = 10, warmup: int = 2
) -> dict[str, dict[str, Timings]]:
    """Measure several request series alternately (A B A B …) so drift (CPU frequency, autovacuum, a
    noisy neighbour) hits them alike; each series gets `count` requests split over `rounds` blocks.

    Returns, per series, Timings per kind and "all" (whose `wall` sums that series' blocks only).
    """
    for requests in series.values():
        request_loop(client, requests, warmup * len(requests))
    per_block = max(1, -(-count // rounds))
    results: dict[str, dict[str, Timings]] = {name: {} for name in series}
    gc.collect()
    for _ in range(rounds):
        for name, requests in series.items():
            for kind, timings in request_loop(client, requests, per_block).items():
                results[name].setdefault(kind, Timings()).add(timings)
    return results


# ---------------------------------------------------------------------------------------------- memory


def rss_mib(pid: int | str = "self", *, peak: bool = False) -> float:
    """Resident set size of a process from /proc/<pid>/status (VmRSS, or VmHWM = peak when `peak`).

    Use psutil instead if it is installed and the platform has no /proc.
    """
    key = "VmHWM:" if peak else "VmRSS:"
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    try:
        import psutil
    except ImportError as error:
        raise RuntimeError("no /proc and no psutil: cannot read RSS") from error
    # psutil has no portable peak; the current RSS is the closest it offers.
    return psutil.Process(os.getpid() if pid == "self" else int(pid)).memory_info().rss / 2**20


def children_pids(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's or Celery's workers under their master)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:
        return []


# ---------------------------------------------------------------------------------------------- bulk data


def reserve_ids(model, count: int) -> range:
    """Take `count` consecutive primary keys from the model's sequence, for rows written by COPY that other
    rows must point at. The harness is alone on its database, so the range is contiguous."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        last = cursor.fetchone()[0]
    return range(last - count + 1, last + 1)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Stream rows into a table with PostgreSQL COPY (psycopg 3 `cursor.copy`): ~10× bulk_create.

    Values go as Python objects (None, bool, int, str, date, datetime; JSON as a `json.dumps` string or
    psycopg's `Jsonb`). No model defaults, no signals, no save(): give every NOT NULL column a value.
    """
    from django.db import connection

    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def with_model_defaults(model, columns: Sequence[str], rows: Iterable[Sequence]) -> tuple[list[str], Iterator[tuple]]:
    """Complete hand-written COPY tuples with every other NOT NULL column at its model default, so a column
    a later migration adds (with a default) does not break the loader. Returns (columns, rows)."""
    from django.db import connection

    present = set(columns)
    # A NOT NULL column without a declared default still has Django's: "" for text columns.
    extra = [field for field in model._meta.concrete_fields
             if field.column not in present and not field.null and not field.primary_key
             and (field.has_default() or field.empty_strings_allowed)]
    names = [*columns, *(field.column for field in extra)]
    values = tuple(field.get_db_prep_save(field.get_default(), connection) for field in extra)
    if not values:
        return names, (tuple(row) for row in rows)
    return names, (tuple(row) + values for row in rows)


def copy_instances(model, instances: Iterable) -> int:
    """COPY unsaved model instances, every concrete column with its Django-side default and adaptation
    (JSON, choices, defaults); instances without a pk need ids from `reserve_ids` first."""
    from django.db import connection

    fields = [field for field in model._meta.concrete_fields]
    columns = [field.column for field in fields]

    def values(instance):
        return [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields]

    return copy_rows(model._meta.db_table, columns, (values(instance) for instance in instances))


def analyze(*models) -> None:
    """Refresh planner statistics after a bulk load (autovacuum would do it later, mid-measurement)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def vacuum_analyze(*models) -> None:
    """VACUUM (ANALYZE) after a bulk load: planner statistics, and the visibility map that index-only scans
    need. This server runs with autovacuum off, so a loaded table would otherwise stay unvacuumed; a table
    in service is vacuumed by autovacuum all the time, so this is its steady state, not a favour."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model if isinstance(model, str) else model._meta.db_table
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")


class bulk_load:
    """`with bulk_load(Model):` COPY into a big table the way a restore does: its secondary indexes, unique
    and foreign-key constraints are dropped first and rebuilt afterwards, with their exact definitions as
    the migrations made them (pg_get_indexdef / pg_get_constraintdef); the primary key stays. Loading
    2 million rows through 20 live indexes and 8 deferred foreign-key triggers per row takes minutes;
    building them once at the end takes seconds. Rebuilding validates every foreign key and unique
    constraint, so a bad row still fails the load."""

    def __init__(self, model, *, maintenance_work_mem: str = "512MB"):
        self.table = model._meta.db_table
        self.memory = maintenance_work_mem

    def __enter__(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
                [self.table],
            )
            self.constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [self.table],
            )
            self.indexes = cursor.fetchall()
            quoted = connection.ops.quote_name(self.table)
            for name, _, _ in self.constraints:
                cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}")
            for name, _ in self.indexes:
                cursor.execute(f"DROP INDEX {name}")
        return self

    def __exit__(self, *exc) -> None:
        from django.db import connection

        quoted = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            cursor.execute(f"SET maintenance_work_mem = '{self.memory}'")
            try:
                for _, definition in self.indexes:
                    cursor.execute(definition)
                # Unique constraints first ('u' sorts after 'f' descending), then the foreign keys.
                for name, _, definition in self.constraints:
                    cursor.execute(f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
            finally:
                cursor.execute("RESET maintenance_work_mem")


def pgbench_tps(*, clients: int = 2, seconds: int = 10, scale: int = 10, builtin: str = "simple-update") -> float:
    """PostgreSQL's own transaction rate on this machine (DESIGN §12's reference for write throughput):
    `pgbench -i` then `pgbench -b simple-update` against the benchmark's database (its pgbench_* tables
    live there and go with it). Returns TPS without connection time."""
    import re

    from django.db import connection

    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    target = ["-h", settings.get("HOST") or "127.0.0.1", "-p", str(settings.get("PORT") or 5432),
              "-U", settings.get("USER") or "postgres", settings["NAME"]]
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), *target], env=env, check=True, capture_output=True)
    result = subprocess.run(["pgbench", "-b", builtin, "-c", str(clients), "-j", str(clients), "-T", str(seconds),
                             *target], env=env, check=True, capture_output=True, text=True)
    match = re.search(r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)",
                      result.stdout)
    if not match:
        raise RuntimeError(f"pgbench output not understood:\n{result.stdout}")
    return float(match.group(1))


# ---------------------------------------------------------------------------------------------- diagnostics


@dataclass
class CapturedQuery:
    sql: str
    ms: float


def capture_queries(call: Callable[[], object]) -> list[CapturedQuery]:
    """The SQL one call runs, each with its duration as Django's cursor sees it (execute, and fetch where
    the backend fetches in execute), timed at perf_counter resolution through `connection.execute_wrapper`
    (CaptureQueriesContext rounds to whole milliseconds). The SQL is the statement as sent, parameters
    interpolated, so it can be fed to `explain_analyze`."""
    from django.db import connection

    captured: list[CapturedQuery] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            statement = connection.ops.last_executed_query(context["cursor"], sql, params)
            captured.append(CapturedQuery(statement, elapsed))

    with connection.execute_wrapper(timed):
        call()
    return captured


def explain_analyze(sql: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement (already interpolated by Django)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(line for (line,) in cursor.fetchall())


# ---------------------------------------------------------------------------------------------- machine


def machine_info() -> dict[str, str]:
    """What the figures were measured on; the report's header."""
    from django import get_version
    from django.db import connection

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "CPU": cpu,
        "cores": f"{len(os.sched_getaffinity(0))} usable ({os.cpu_count()} online)",
        "RAM": ram,
        "PostgreSQL": postgres,
        "Python": platform.python_version(),
        "Django": get_version(),
        "OS": f"{platform.system()} {platform.release()}",
        "commit": commit,
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z"),
    }


# ---------------------------------------------------------------------------------------------- servers


@contextlib.contextmanager
def gunicorn_server(*, workers: int = 2, log_path, environment: dict | None = None) -> Iterator[tuple[int, int]]:
    """`gunicorn portal.wsgi:application --workers N` with bench.settings on a free loopback port, as
    production runs it; yields (port, master pid) once it accepts connections, and stops it after."""
    import signal
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(REPO), **(environment or {})}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "60"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log_path}") from None
                time.sleep(0.3)
        yield port, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
