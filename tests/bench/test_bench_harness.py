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

TEST_DATABASE = "portal_bench_test"


def _bench_test_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path="/" + TEST_DATABASE))


def _require_postgres(url: str) -> None:
    import psycopg

    maintenance = urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))
    try:
        psycopg.connect(maintenance, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"the benchmark needs PostgreSQL: {error}")


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


def test_catalogue_case_at_tiny_scale_prints_and_writes_the_table(tmp_path):
    url = _bench_test_url()
    _require_postgres(url)
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

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    ids = reserve_ids(Department, 3)

    copied = copy_instances(
        Department,
        (Department(id=pk, code=f"BULK{pk}", name=f"批量部门{pk}", credit_code=f"BULK{pk:014d}") for pk in ids),
    )

    assert copied == 3
    rows = list(Department.objects.filter(code__startswith="BULK").order_by("pk").values_list("pk", "level", "hotline"))
    assert rows == [(pk, "3", "") for pk in ids]  # model defaults written, ids as reserved
    assert Department.objects.create(code="NEXT", name="后续部门", credit_code="N" * 18).pk > ids[-1]
