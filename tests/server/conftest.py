"""The system as production runs it, against this test's own database: gunicorn (2 workers) and a Celery
worker on a Redis database of the test's own (no other test's message reaches this worker), or a Redis
server the test starts and stops itself. PostgreSQL only: these tests are about its row locks and outages."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from bench.lib import gunicorn_server
from tests import processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and the broker outage are tested on PostgreSQL: run with DATABASE_URL=postgres://…")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server():
    """A Redis of the test's own on a free port, so the test can stop it (an outage) and start it again."""
    port = free_port()
    command = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no"]
    processes = []

    def start():
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop():
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", stop, start
    finally:
        stop()


def environment(*, redis_url: str, media: Path) -> dict[str, str]:
    return {**processes.environment(connection.settings_dict["NAME"], media), "REDIS_URL": redis_url}


@contextmanager
def celery_worker(*, env: dict[str, str], log_path: Path, concurrency: int = 2):
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", f"--concurrency={concurrency}", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def web_server(*, env: dict[str, str], log_path: Path):
    with gunicorn_server(workers=2, log_path=log_path, environment=env) as (port, _pid):
        yield f"http://127.0.0.1:{port}"


def call(method: str, url: str, *, token: str = "", body: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """One HTTP request; (status, JSON body or {})."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, content = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, content = error.code, error.read()
    try:
        return status, json.loads(content or b"{}")
    except json.JSONDecodeError:
        return status, {"raw": content[:300].decode(errors="replace")}


def token_for(base: str, username: str, password: str) -> str:
    status, body = call("POST", f"{base}/api/v1/auth/token/", body={"username": username, "password": password})
    assert status == 200, body
    return body["token"]
