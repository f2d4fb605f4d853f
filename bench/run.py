"""`make bench`: DESIGN §12's performance figures, each next to its target and a reference measured in the
same run on the same machine; prints one table and writes docs/benchmarks.md.

    .venv/bin/python bench/run.py [--only CASE[,CASE]] [--scale 0.01..1] [--output PATH] [--strict]

Runs against PostgreSQL only: DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/), in a
database of its own that it drops and recreates on every run. The name must start with `portal_bench`;
a DATABASE_URL naming any other database (say the CI test database) keeps its server and credentials but
the database becomes `portal_bench`, so no other database is ever dropped.

A case is one module in bench/cases/ exposing `NAME`, `run(ctx) -> list[Row]` and optionally `ORDER`
(position in the table) and `HOW_MEASURED` (the report's paragraph). See bench/lib.py for the helpers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.lib import Context, Row, machine_info  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
DATABASE_PREFIX = "portal_bench"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"


def bench_database_url(environ_url: str | None) -> tuple[str, str]:
    """(URL of the benchmark's own database, why it differs from DATABASE_URL or "")."""
    url = environ_url or DEFAULT_DATABASE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"bench: PostgreSQL only; DATABASE_URL is {parts.scheme}://…")
    name = parts.path.lstrip("/")
    if name.startswith(DATABASE_PREFIX):
        return url, ""
    why = f"DATABASE_URL names database {name!r}; the benchmark uses {DATABASE_PREFIX!r} on that server instead"
    return urlunsplit(parts._replace(path="/" + DATABASE_PREFIX)), why


def recreate_database(url: str) -> None:
    """DROP (terminating leftover sessions of a killed run) and CREATE the benchmark database."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    assert name.startswith(DATABASE_PREFIX), name  # never anyone else's database
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def discover_cases(only: set[str] | None) -> list:
    import bench.cases

    modules = []
    for info in pkgutil.iter_modules(bench.cases.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.cases.{info.name}")
        if not (hasattr(module, "NAME") and hasattr(module, "run")):
            raise SystemExit(f"bench/cases/{info.name}.py must define NAME and run(ctx)")
        modules.append(module)
    if only is not None:
        unknown = only - {module.NAME for module in modules}
        if unknown:
            raise SystemExit(f"bench: unknown case(s) {', '.join(sorted(unknown))}; have "
                             + ", ".join(module.NAME for module in modules))
        modules = [module for module in modules if module.NAME in only]
    # ORDER places a case's rows in the table; RUN_ORDER (default ORDER) when it runs, for a case that must
    # measure before another one grows the shared data (the sweep's smaller size, before the full 2 M).
    return sorted(modules, key=lambda module: (getattr(module, "RUN_ORDER", getattr(module, "ORDER", 100)), module.NAME))


# ---------------------------------------------------------------------------------------------- output

COLUMNS = ("what", "figure", "target", "reference (same run)", "result")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.what, row.figure, row.target or "–", row.reference or "–", row.verdict)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def console_table(rows: list[Row]) -> str:
    table = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(_width(line[column]) for line in table) for column in range(len(COLUMNS))]
    lines = []
    for number, line in enumerate(table):
        lines.append("  ".join(cell + " " * (widths[index] - _width(cell)) for index, cell in enumerate(line)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(escape(cell) for cell in _cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def markdown_report(*, machine: dict, rows: list[Row], cases: list, ctx: Context, durations: dict, argv: str) -> str:
    scale = "DESIGN §12 sizes" if ctx.scale == 1 else f"{ctx.scale:g} × DESIGN §12 sizes (not the full benchmark)"
    parts = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`bench/run.py`; this run: `" + argv + "`). Every figure stands next to its",
        "DESIGN §12 target and a reference measured in the same run on the same machine. Data: " + scale + ",",
        "built by the benchmark itself in its own PostgreSQL database.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in machine.items()),
        "",
        "## Results",
        "",
        markdown_table(rows),
        "",
        "## How measured",
    ]
    for module in cases:
        parts += ["", f"### {module.NAME} (`bench/cases/{module.__name__.rsplit('.', 1)[-1]}.py`, "
                  f"{durations.get(module.NAME, 0):.0f} s including data generation)", ""]
        how = (getattr(module, "HOW_MEASURED", "") or "").strip()
        if how:
            parts += [how, ""]
        for note in ctx.notes.get(module.NAME, []):
            parts += [note.strip(), ""]
    return "\n".join(parts).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated case names (default: every case in bench/cases/)")
    parser.add_argument("--scale", type=float, default=1.0, help="data and loop size, 0.01..1 (default 1)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report path (default docs/benchmarks.md)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed, not only on errors")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if not 0.01 <= args.scale <= 1:
        parser.error("--scale must be between 0.01 and 1")

    url, why = bench_database_url(os.environ.get("DATABASE_URL"))
    if why:
        print(f"bench: {why}", file=sys.stderr)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

    import django
    from django.core.management import call_command

    django.setup()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if not args.quiet:
        print(f"bench: migrated {urlsplit(url).path.lstrip('/')} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)

    load_before = os.getloadavg()
    only = {name.strip() for name in args.only.split(",") if name.strip()} if args.only else None
    cases = discover_cases(only)
    ctx = Context(scale=args.scale, quiet=args.quiet)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    errors = 0
    for module in cases:
        ctx.case = module.NAME
        started = time.perf_counter()
        try:
            case_rows = list(module.run(ctx))
        except Exception as error:  # noqa: BLE001 - one broken case must not hide the others' figures
            traceback.print_exc()
            errors += 1
            case_rows = [Row(what=f"{module.NAME}: did not run", figure=f"{type(error).__name__}: {error}", passed=False)]
        durations[module.NAME] = time.perf_counter() - started
        for row in case_rows:
            row.case = module.NAME
        rows += case_rows

    table_order = {module.NAME: (getattr(module, "ORDER", 100), module.NAME) for module in cases}
    rows.sort(key=lambda row: table_order.get(row.case, (100, row.case)))  # stable: a case's rows keep their order
    cases = sorted(cases, key=lambda module: table_order[module.NAME])
    machine = machine_info()
    # Figures from a busy machine are slower than the code is: say how busy it was.
    machine["load average (1/5/15 min)"] = " → ".join(
        "/".join(f"{value:.1f}" for value in load) for load in (load_before, os.getloadavg())
    ) + " (start → end of the cases; other processes share these cores)"
    print()
    print(console_table(rows))
    command = "bench/run.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(argv or sys.argv[1:]))
    report = markdown_report(machine=machine, rows=rows, cases=cases, ctx=ctx, durations=durations, argv=command)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(f"\nbench: wrote {args.output}")
    missed = sum(1 for row in rows if row.passed is False)
    return 1 if errors or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
