"""`make bench` end to end at a tiny scale: its own database, the catalogue case, the table in the report.

Runs bench/run.py as a subprocess (it configures Django itself) against the PostgreSQL server of
DATABASE_URL, or the local default, in the throwaway database `portal_bench_test`.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.lib import percentile
from bench.run import bench_database_url

REPO = Path(__file__).resolve().parents[2]

# One database per test run: several engineers (and CI) run these tests on one server at once, and
# bench/run.py drops and recreates its database on start.
TEST_DATABASE = f"portal_bench_test_{os.getpid()}"


def _bench_test_url(name: str = TEST_DATABASE) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@pytest.fixture
def bench_database():
    """The URL of a benchmark database for this test, dropped afterwards."""
    import psycopg
    from psycopg import sql

    created = []

    def make(name: str) -> str:
        url = _bench_test_url(name)
        _require_postgres(url)
        created.append(url)
        return url

    yield make
    for url in created:
        maintenance = urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(urlsplit(url).path.lstrip("/"))))


def _require_postgres(url: str) -> None:
    """The benchmark runs on PostgreSQL only; CI provides it through DATABASE_URL. Not having it is a
    failure, never a skip (CI fails on skipped tests)."""
    import psycopg

    maintenance = urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))
    try:
        psycopg.connect(maintenance, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.fail(f"the benchmark tests need PostgreSQL (DATABASE_URL=postgres://…): {error}")


def test_bench_never_drops_a_database_it_does_not_own():
    url, why = bench_database_url("postgres://ci:secret@db.internal:5433/portal")
    assert url == "postgres://ci:secret@db.internal:5433/portal_bench"
    assert "portal" in why
    assert bench_database_url("postgres://postgres@127.0.0.1:5432/portal_bench_test") == (
        "postgres://postgres@127.0.0.1:5432/portal_bench_test",
        "",
    )
    assert bench_database_url(None)[0].endswith("/portal_bench")
    with pytest.raises(SystemExit):
        bench_database_url("sqlite:///var/portal.sqlite3")


def test_percentile_interpolates_between_ranks():
    values = list(range(1, 101))
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0


def test_catalogue_case_at_tiny_scale_prints_and_writes_the_table(tmp_path, bench_database):
    url = bench_database(TEST_DATABASE)
    output = tmp_path / "benchmarks.md"
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    result = subprocess.run(
        [sys.executable, "bench/run.py", "--scale", "0.01", "--only", "catalogue", "--output", str(output), "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = output.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in report.splitlines() if line.startswith("| ") and line.count("|") == 6}
    p95 = next(cells for what, cells in rows.items() if what.startswith("catalogue search API p95"))
    throughput = rows["catalogue search API throughput (1 thread)"]
    for kind in ("unfiltered first page", "common Chinese term", "rare Chinese term", "code", "two terms"):
        assert f"· {kind}" in rows

    figure, target, reference, verdict = p95
    assert re.fullmatch(r"\d+\.\d ms \(p50 \d+\.\d ms, n=[\d,]+\)", figure), figure
    assert target == "< 30 ms"
    assert re.fullmatch(r"bare view p95 \d+\.\d\d ms \(p50 \d+\.\d\d ms\)", reference), reference
    assert verdict in ("pass", "FAIL")
    assert re.fullmatch(r"[\d,]+ req/s = \d+\.\d% of bare", throughput[0]), throughput[0]
    assert re.fullmatch(r"bare view [\d,]+ req/s", throughput[2]), throughput[2]
    # The report's other sections, and the same table on stdout.
    for heading in ("## Machine", "## Results", "## How measured", "| PostgreSQL |", "| CPU |"):
        assert heading in report
    assert "catalogue search API throughput (1 thread)" in result.stdout
    # It measured the API against data it built, not an empty catalogue.
    assert re.search(r"\| unfiltered first page \| [1-9]\d* \|", report), report


def test_copy_loads_model_rows_with_reserved_ids_and_django_defaults(db):
    from django.db import connection

    from bench.lib import copy_instances, reserve_ids
    from portal.models import Department

    if connection.vendor != "postgresql":  # as tests/items/test_search_index.py: CI runs it on PostgreSQL
        pytest.skip("COPY is PostgreSQL's: run the suite with DATABASE_URL=postgres://…")
    ids = reserve_ids(Department, 3)

    copied = copy_instances(
        Department,
        (Department(id=pk, code=f"BULK{pk}", name=f"批量部门{pk}", credit_code=f"BULK{pk:014d}") for pk in ids),
    )

    assert copied == 3
    rows = list(Department.objects.filter(code__startswith="BULK").order_by("pk").values_list("pk", "level", "hotline"))
    assert rows == [(pk, "3", "") for pk in ids]  # model defaults written, ids as reserved
    assert Department.objects.create(code="NEXT", name="后续部门", credit_code="N" * 18).pk > ids[-1]


CASES_DATABASE = f"portal_bench_test_cases_{os.getpid()}"
NEW_CASES = ("sweep", "intake", "worklist", "certificate", "statistics", "memory", "load")


def _rows(report: str) -> dict[str, list[str]]:
    return {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in report.splitlines() if line.startswith("| ") and line.count("|") >= 6}


def _row(rows: dict, prefix: str) -> list[str]:
    matches = [cells for what, cells in rows.items() if what.startswith(prefix)]
    assert matches, f"no row starting with {prefix!r} in {list(rows)}"
    return matches[0]


def test_every_design_12_case_runs_at_tiny_scale(tmp_path, bench_database):
    """Sweep (two sizes), intake (worker processes, pgbench), work list (session login), certificate, statistics
    and memory (gunicorn, Celery) end to end at 1 % of DESIGN §12's sizes, in one run sharing the data."""
    url = bench_database(CASES_DATABASE)
    output = tmp_path / "benchmarks.md"
    env = {**os.environ, "DATABASE_URL": url, "BENCH_TMP": str(tmp_path / "bench")}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    result = subprocess.run(
        [sys.executable, "bench/run.py", "--scale", "0.01", "--only", ",".join(NEW_CASES), "--output", str(output),
         "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=420,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = output.read_text(encoding="utf-8")
    rows = _rows(report)
    assert not [what for what in rows if "did not run" in what], report
    number = r"[\d,]+"

    sweep = _row(rows, "deadline sweep, 10,000 open cases, 100 change level")
    assert re.fullmatch(r"\d+\.\d\d s \(median of 3; max \d+\.\d\d s; [\d,]+ cases/s\)", sweep[0]), sweep
    assert sweep[1] == "< 2 s"
    assert _row(rows, "· same sweep, 1,000 open cases, 100 change level")
    ratio = _row(rows, "· sweep time at 10,000 ÷ at 1,000 open cases")
    assert re.fullmatch(r"\d+\.\d\d× for 10× the open cases", ratio[0]), ratio

    intake = _row(rows, "intake: accept + claim + approve, 2 worker processes")
    assert re.fullmatch(rf"{number} transitions/s \(60 transitions, 20 cases\)", intake[0]), intake
    assert re.fullmatch(rf"pgbench simple-update {number} TPS \(-c 2\)", intake[2]), intake
    assert re.fullmatch(r"waited \d+\.\d\d ms, held \d+\.\d\d ms \(COMMIT \d+\.\d\d ms\) of \d+\.\d\d ms",
                        _row(rows, "· audit chain head lock")[0])
    across = _row(rows, "intake across departments: cases of ")
    assert re.fullmatch(rf"{number} transitions/s \(audit head lock waited \d+\.\d\d ms per transition\)", across[0]), across
    assert across[1] == "grows with departments"
    assert re.fullmatch(rf"one department: {number} transitions/s \(waited \d+\.\d\d ms\)", across[2]), across

    worklist = _row(rows, "reviewer work list p95, request mix")
    assert re.fullmatch(rf"\d+\.\d ms \(p50 \d+\.\d ms, n={number}\)", worklist[0]), worklist
    assert re.fullmatch(r"\d+ queries, .*", _row(rows, "· landing page queries (pinned)")[0])
    for kind in ("landing page", "page 2", "alert=overdue", "only mine", "search case number"):
        assert f"· {kind}" in rows

    certificate = _row(rows, "certificate: render + sign one PDF")
    assert re.fullmatch(r"\d+ ms median \(n=3; p95 \d+ ms\)", certificate[0]), certificate
    assert re.fullmatch(r"WeasyPrint alone, minimal page: \d+ ms median", certificate[2]), certificate

    statistics = _row(rows, "statistics page")
    assert re.fullmatch(r"\d+ ms \(p50 \d+ ms, n=\d+\)", statistics[0]), statistics
    assert re.fullmatch(r"\d+\.\d s \(\d+ ms per day\)", _row(rows, "· rollup of the whole history once")[0])

    for what in ("load: catalogue API mix", "load: case list"):
        load = _row(rows, what)
        assert re.fullmatch(rf"{number} req/s = \d+% of bare \(p50 \d+\.\d ms, p99 \d+\.\d ms, n={number}\)", load[0]), load
        assert re.fullmatch(rf"bare view {number} req/s \(p50 \d+\.\d ms, p99 \d+\.\d ms\)", load[2]), load

    web = _row(rows, "memory: gunicorn web worker RSS")
    worker = _row(rows, "memory: Celery worker child RSS")
    for cells in (web, worker):
        assert re.fullmatch(r"\d+ MiB \((workers|children) \d+, \d+; peak \d+\)", cells[0]), cells
    assert re.fullmatch(r"master \d+ MiB; sweep 100 changes in \d+\.\d s", worker[2]), worker
