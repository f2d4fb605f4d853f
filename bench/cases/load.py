"""Issue 9: a load run against gunicorn (2 sync workers) on PostgreSQL, for the catalogue and the case list,
with wrk as the load generator and the bare JSON view under the same load as the reference."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from bench.data.cases import BENCH_PASSWORD, bench_cases
from bench.lib import Context, Row, WsgiClient, gunicorn_server, login

NAME = "load"
ORDER = 80
RUN_ORDER = 90  # after the cases that build and grow the data: it reads the full 2 M
WORKERS = 2
CONNECTIONS = 4
FULL_SECONDS = 20

CATALOGUE = ["/api/v1/items/", "/api/v1/items/?search=" + quote("营业执照"), "/api/v1/items/?search=" + quote("食品"),
             "/api/v1/items/?page=2", "/api/v1/items/?search=" + quote("公积金 提取"),
             "/api/v1/items/?search=" + quote("养犬"), "/api/v1/departments/"]
WORKLIST = ["/review/", "/review/?page=2", "/review/?alert=overdue", "/review/?alert=yellow",
            "/review/?state=in_review", "/review/?mine=on", "/review/?alert=red"]

HOW_MEASURED = f"""
`gunicorn portal.wsgi:application --workers {WORKERS}` (sync workers, `bench.settings`: production settings,
DEBUG off) on the benchmark's PostgreSQL database with the full data, started by the case on a loopback
port. wrk (Debian's package) drives it with {CONNECTIONS} connections on 2 threads for {FULL_SECONDS} s per series, each
request taking the next path of a list (a Lua `request` function): the catalogue series cycles through
the catalogue API mix ({len(CATALOGUE)} paths: first page, page 2, Chinese searches, departments); the case list
series cycles through the reviewer's work list (`/review/` with {len(WORKLIST)} filters and pages) with the
session cookie of a reviewer of the biggest department, signed in through the login page. The reference
is `GET /bench/bare/` (`JsonResponse({{"ok": True}})` behind the same middleware) under the same load.
wrk, gunicorn and PostgreSQL share this machine's two cores, so the figures are the whole system's.
Latencies are wrk's (50 % and 99 %); every response must be 2xx.
"""

LUA = """
paths = {{{paths}}}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], {{["Host"] = "bench.local"{cookie}}})
end
"""


def _tmp() -> Path:
    folder = Path(os.environ.get("BENCH_TMP", "/tmp/portal_bench"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wrk(port: int, paths: list[str], seconds: int, cookie: str = "", *, warmup: bool = False) -> dict:
    script = _tmp() / f"wrk-{len(paths)}-{paths[0].strip('/').replace('/', '-')}.lua"
    cookie_header = f', ["Cookie"] = "{cookie}"' if cookie else ""
    script.write_text(LUA.format(paths=", ".join(f'"{path}"' for path in paths), cookie=cookie_header))
    result = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr[-2000:]}")
    out = result.stdout
    if warmup:
        return {}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk: {errors.group(1)} responses were not 2xx/3xx for {paths[0]}…\n{out}")

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if not rps:
        raise RuntimeError(f"wrk: no request completed for {paths[0]}…\n{out}")
    return {
        "rps": rps,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": latency("50"), "p99": latency("99"),
    }


def run(ctx: Context) -> list[Row]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: bin/system-deps --bench installs it (Debian package wrk)")
    data = bench_cases(ctx)
    department = data.biggest_department
    client = WsgiClient()
    login(client, data.reviewers[department][0], BENCH_PASSWORD)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    seconds = max(2, ctx.scaled(FULL_SECONDS))
    with gunicorn_server(workers=WORKERS, log_path=_tmp() / "gunicorn-load.log") as (port, _pid):
        # Warm both workers: each keeps its own catalogue response cache and connection.
        # The first requests of a fresh worker import the views and fill its caches: not measured.
        _wrk(port, CATALOGUE + WORKLIST, 5, cookie, warmup=True)
        bare = _wrk(port, ["/bench/bare/"], seconds)
        catalogue = _wrk(port, CATALOGUE, seconds)
        worklist = _wrk(port, WORKLIST, seconds, cookie)
    ctx.log(f"wrk: bare {bare['rps']:.0f} req/s, catalogue {catalogue['rps']:.0f} req/s, "
            f"work list {worklist['rps']:.0f} req/s")
    reference = f"bare view {bare['rps']:,.0f} req/s (p50 {bare['p50']:.1f} ms, p99 {bare['p99']:.1f} ms)"
    rows = []
    for what, result in (("catalogue API mix", catalogue), (f"case list (/review/, {data.total:,} cases)", worklist)):
        rows.append(Row(
            what=f"load: {what}, gunicorn {WORKERS} workers, wrk {CONNECTIONS} connections",
            figure=(f"{result['rps']:,.0f} req/s = {result['rps'] / bare['rps']:.0%} of bare (p50 {result['p50']:.1f} ms, "
                    f"p99 {result['p99']:.1f} ms, n={result['requests']:,})"),
            target="all 2xx", reference=reference, passed=True, value=result["rps"], unit="req/s",
        ))
    return rows
