"""The multi-host rehearsal's plumbing (bench/hosts.py) at the smallest size: two namespaced hosts behind HAProxy,
one killed and started again, and nothing left behind — also after an owner that died without tearing down.

The hosts here run Python's own HTTP server instead of the portal: the whole rehearsal (its own PostgreSQL
primary and replica, the data, gunicorn and Celery on both hosts) takes minutes and runs in `make bench`
(`bench/run.py --only rehearsal`). Needs root (`ip netns`) and HAProxy (bin/system-deps --test installs it);
without them the test fails, it never skips (CI fails on any skip).
"""

import http.client
import json
import os
import subprocess
import sys
import time

import pytest

from bench import hosts
from bench.hosts import Rehearsal


def _serve(machines: Rehearsal, index: int, folder) -> None:
    """A host's "web": Python's HTTP server answering /healthz (and /who: the host's name) on APP_PORT."""
    folder.mkdir(exist_ok=True)
    (folder / "healthz").write_text("ok")
    (folder / "who").write_text(f"app{index}")
    machines.run_in(index, "web", [sys.executable, "-m", "http.server", str(hosts.APP_PORT), "--bind", "0.0.0.0",
                                   "--directory", str(folder)])


@pytest.fixture
def rehearsal(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the rehearsal's plumbing needs root (ip netns); CI runs as root")
    machines = Rehearsal(hosts=2)
    try:
        machines.start_network()
        machines.start_haproxy()
        for index in machines.hosts:
            _serve(machines, index, tmp_path / f"app{index}")
        yield machines, tmp_path
    finally:
        machines.close()


def _wait_states(machines: Rehearsal, wanted: dict[str, str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (states := machines.server_states()) != wanted:
        assert time.monotonic() < deadline, f"HAProxy shows {states}, not {wanted}"
        time.sleep(0.1)


def _who(machines: Rehearsal) -> str:
    connection = http.client.HTTPConnection(*machines.url, timeout=5)
    connection.request("GET", "/who")
    response = connection.getresponse()
    assert response.status == 200
    return response.read().decode()


def test_haproxy_takes_a_killed_host_out_and_back(rehearsal):
    rehearsal, folder = rehearsal
    for index in rehearsal.hosts:
        rehearsal.wait_app(index, timeout=20)
    _wait_states(rehearsal, {"app1": "UP", "app2": "UP"})
    assert {_who(rehearsal) for _ in range(4)} == {"app1", "app2"}  # round robin over both namespaces

    assert rehearsal.kill_app(1) >= 1
    _wait_states(rehearsal, {"app1": "DOWN", "app2": "UP"})
    assert {_who(rehearsal) for _ in range(4)} == {"app2"}

    _serve(rehearsal, 1, folder / "app1")
    _wait_states(rehearsal, {"app1": "UP", "app2": "UP"})


def test_teardown_leaves_nothing_and_a_dead_owners_run_is_cleaned_up():
    if os.geteuid() != 0:
        pytest.fail("the rehearsal's plumbing needs root (ip netns); CI runs as root")
    orphan = Rehearsal(hosts=1)
    orphan.start_network()
    # As if its benchmark had been killed: the owner recorded is a process that no longer exists.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = json.loads((orphan.state / "owner.json").read_text())
    (orphan.state / "owner.json").write_text(json.dumps({**owner, "pid": dead.pid}))

    machines = Rehearsal(hosts=1)
    try:
        assert orphan.tag in machines.removed
        assert not orphan.state.exists()
        assert not [name for name in hosts._namespaces() if name.startswith(orphan.tag)]
        assert not [name for name in hosts._links() if name.startswith(orphan.tag)]
        machines.start_network()
    finally:
        machines.close()
    assert not machines.state.exists()
    assert not [name for name in hosts._namespaces() if name.startswith(machines.tag)]
    assert not [name for name in hosts._links() if name.startswith(machines.tag)]
