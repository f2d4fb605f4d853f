"""Several machines on one (DESIGN §16, bench/cases/rehearsal.py): app hosts in network namespaces on a bridge,
and beside them, on the bridge's own address, a PostgreSQL primary and its streaming replica (clusters of
their own, made by initdb and pg_basebackup), a Redis server and HAProxy. Root only (`ip netns`).

Everything a run makes is named after its tag (`rh` + 4 digits: the bridge `rh1234br`, the namespaces
`rh1234-app1`, …) and recorded under STATE_ROOT/<tag>/ with the pid of the process that made it. A run first
removes what a dead owner left behind (a benchmark killed mid-run), never what a live one is using, and
`Rehearsal.close()` removes its own, also after a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATE_ROOT = Path("/tmp/portal_rehearsal")
APP_PORT = 8000
DATABASE = "rehearsal_portal"
HEALTH_INTERVAL_MS = 500  # HAProxy probes each app host this often; 2 failures take it out, 2 successes back


_made = itertools.count()  # runs made by this process: each gets a tag of its own


def _run(*command: str, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-1500:]}")
    return result


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_pid_file(path: Path, owner_dir: Path) -> None:
    """SIGKILL the process a pid file names, only if its command line names our state directory."""
    try:
        pid = int(path.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return
    if str(owner_dir) in cmdline:
        os.kill(pid, signal.SIGKILL)


def namespace_pids(namespace: str) -> list[int]:
    result = _run("ip", "netns", "pids", namespace, check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def kill_namespace(namespace: str) -> int:
    """SIGKILL every process in the namespace (what pulling a host's power cord does); how many there were."""
    pids = namespace_pids(namespace)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(pids)


def _stop_postgres(data: Path) -> None:
    if not (data / "PG_VERSION").exists():
        return
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    binary = _pg_bin() / "pg_ctl"
    if _run(*runner, str(binary), "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop", check=False).returncode:
        _kill_pid_file(data / "postmaster.pid", data)


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parent.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql (Debian's layout)")
    return versions[-1].parent


def teardown(state: Path) -> None:
    """Remove everything a run recorded in `state`: processes in its namespaces, the namespaces, the bridge
    and its veths, both PostgreSQL clusters, Redis and HAProxy, then the directory. Tolerates half-made runs."""
    try:
        owner = json.loads((state / "owner.json").read_text())
    except (OSError, ValueError):
        owner = {"tag": state.name}
    tag = owner.get("tag", state.name)
    for namespace in sorted(name for name in _namespaces() if name.startswith(f"{tag}-")):
        kill_namespace(namespace)
        _run("ip", "netns", "del", namespace, check=False)
    for pid_file in ("haproxy.pid", "redis.pid"):
        _kill_pid_file(state / pid_file, state)
    for cluster in ("replica", "primary"):
        _stop_postgres(state / cluster)
    for link in _links():
        if link.startswith(tag):
            _run("ip", "link", "del", link, check=False)
    shutil.rmtree(state, ignore_errors=True)


def _namespaces() -> list[str]:
    return [line.split()[0] for line in _run("ip", "netns", "list", check=False).stdout.splitlines() if line.strip()]


def _links() -> list[str]:
    names = re.findall(r"^\d+: ([^:@]+)", _run("ip", "-o", "link", "show", check=False).stdout, re.M)
    return [name for name in names if re.fullmatch(r"rh\d{4}.*", name)]


def clean_leftovers() -> list[str]:
    """Tear down the runs whose owner process is gone; namespaces and links of ours that no live run
    records go too. Returns the tags removed."""
    removed = []
    live = set()
    if STATE_ROOT.exists():
        for state in STATE_ROOT.iterdir():
            try:
                owner = json.loads((state / "owner.json").read_text())
            except (OSError, ValueError):
                owner = {}
            if owner.get("pid") and _alive(int(owner["pid"])):
                live.add(owner.get("tag", state.name))
                continue
            teardown(state)
            removed.append(state.name)
    for namespace in _namespaces():
        tag = namespace.split("-", 1)[0]
        if re.fullmatch(r"rh\d{4}", tag) and tag not in live:
            kill_namespace(namespace)
            _run("ip", "netns", "del", namespace, check=False)
            removed.append(namespace)
    for link in _links():
        if link[:6] not in live:
            _run("ip", "link", "del", link, check=False)
            removed.append(link)
    return removed


def _free_subnet(start: int) -> int:
    """A 10.231.x.0/24 no interface uses, looked for from `start` (the run's tag: two runs starting at once
    look in different places)."""
    used = set(re.findall(r"inet 10\.231\.(\d+)\.", _run("ip", "-o", "addr", check=False).stdout))
    for offset in range(254):
        third = (start + offset) % 254 + 1
        if str(third) not in used:
            return third
    raise RuntimeError("no free 10.231.x.0/24 subnet for the rehearsal's bridge")


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def wait_for_port(address: str, port: int, *, timeout: float, process: subprocess.Popen | None = None,
                  what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"{what or address}:{port} did not start") from None
            time.sleep(0.2)


class Rehearsal:
    """The machines of a rehearsal. `start_network`, `start_databases`, `start_redis`, `start_haproxy`,
    `start_app(n)` in that order; `close()` (idempotent) tears all of it down."""

    def __init__(self, *, hosts: int = 2, log=print):
        if os.geteuid() != 0:
            raise RuntimeError("the multi-host rehearsal needs root (ip netns, veth, a bridge)")
        self.log = log
        self.removed = clean_leftovers()
        STATE_ROOT.mkdir(parents=True, exist_ok=True)
        STATE_ROOT.chmod(0o755)
        number = (os.getpid() * 10 + next(_made)) % 10000
        while (STATE_ROOT / f"rh{number:04d}").exists():
            number = (number + 1) % 10000
        self.tag = f"rh{number:04d}"
        self.state = STATE_ROOT / self.tag
        self.state.mkdir()
        self.state.chmod(0o755)
        shutil.chown(self.state, "postgres", "postgres")  # the clusters' logs and sockets live here too
        self.subnet = _free_subnet(number)
        self.bridge_address = f"10.231.{self.subnet}.1"
        self.hosts = {index: f"10.231.{self.subnet}.{10 + index}" for index in range(1, hosts + 1)}
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self._owner()

    def _owner(self) -> None:
        (self.state / "owner.json").write_text(json.dumps({
            "pid": os.getpid(), "tag": self.tag, "subnet": self.subnet, "ports": self.ports}))

    def namespace(self, index: int) -> str:
        return f"{self.tag}-app{index}"

    # ------------------------------------------------------------------------------------------ network

    def start_network(self) -> None:
        bridge = f"{self.tag}br"
        _run("ip", "link", "add", bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.bridge_address}/24", "dev", bridge)
        _run("ip", "link", "set", bridge, "up")
        for index, address in self.hosts.items():
            namespace, outside, inside = self.namespace(index), f"{self.tag}h{index}", f"{self.tag}n{index}"
            _run("ip", "netns", "add", namespace)
            _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            _run("ip", "link", "set", outside, "master", bridge)
            _run("ip", "link", "set", outside, "up")
            _run("ip", "link", "set", inside, "netns", namespace)
            for command in (("ip", "addr", "add", f"{address}/24", "dev", inside), ("ip", "link", "set", inside, "up"),
                            ("ip", "link", "set", "lo", "up")):
                _run("ip", "netns", "exec", namespace, *command)

    # ------------------------------------------------------------------------------------------ databases

    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"]

    def start_databases(self) -> None:
        """A primary made by initdb and its streaming replica made by pg_basebackup -R, on the bridge address.
        fsync off: the figures are about the application, and a throwaway cluster must not load the disk
        the machine's main cluster shares."""
        binaries = _pg_bin()
        primary, replica = self.state / "primary", self.state / "replica"
        for folder in (primary, replica):
            folder.mkdir(mode=0o700)
            shutil.chown(folder, "postgres", "postgres")
        _run(*self._as_postgres(), str(binaries / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        (primary / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all all 10.231.{self.subnet}.0/24 trust\n"
            f"host replication postgres 10.231.{self.subnet}.0/24 trust\n"
        )
        self.ports["primary"] = free_port(self.bridge_address)
        self.ports["replica"] = free_port(self.bridge_address)
        self._owner()
        common = {"listen_addresses": self.bridge_address, "unix_socket_directories": str(self.state),
                  "fsync": "off", "synchronous_commit": "on", "full_page_writes": "off", "shared_buffers": "64MB",
                  "max_connections": 100, "logging_collector": "off"}
        self._pg_start(primary, {**common, "port": self.ports["primary"], "wal_level": "replica",
                                 "max_wal_senders": 5, "wal_keep_size": "256MB"})
        _run(*self._as_postgres(), str(binaries / "pg_basebackup"), "-h", self.bridge_address,
             "-p", str(self.ports["primary"]), "-U", "postgres", "-D", str(replica), "-R", "-X", "stream",
             "-c", "fast", "--no-sync")
        self._pg_start(replica, {**common, "port": self.ports["replica"], "hot_standby": "on",
                                 "hot_standby_feedback": "on", "wal_receiver_status_interval": "1s"})
        self._wait_streaming()
        _run(*self._as_postgres(), "psql", "-h", self.bridge_address, "-p", str(self.ports["primary"]), "-U", "postgres",
             "-qc", f"CREATE DATABASE {DATABASE}")

    def _pg_start(self, data: Path, settings: dict) -> None:
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        _run(*self._as_postgres(), str(_pg_bin() / "pg_ctl"), "-D", str(data), "-l", str(data.parent / f"{data.name}.log"),
             "-o", options, "-w", "-t", "60", "start", cwd=self.state)

    def _wait_streaming(self, timeout: float = 60) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(host=self.bridge_address, port=self.ports["replica"], user="postgres",
                                     dbname="postgres", connect_timeout=3) as connection:
                    if connection.execute("SELECT status = 'streaming' FROM pg_stat_wal_receiver").fetchone():
                        return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the rehearsal's replica did not stream; see {self.state / 'replica.log'}")
            time.sleep(0.2)

    def database_url(self, which: str = "primary") -> str:
        return f"postgres://postgres@{self.bridge_address}:{self.ports[which]}/{DATABASE}"

    # ------------------------------------------------------------------------------------------ redis, haproxy

    def start_redis(self) -> None:
        port = self.ports["redis"] = free_port(self.bridge_address)
        self._owner()
        self.processes["redis"] = subprocess.Popen(
            ["redis-server", "--bind", self.bridge_address, "--port", str(port), "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--pidfile", str(self.state / "redis.pid"), "--dir", str(self.state),
             "--logfile", str(self.state / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.bridge_address, port, timeout=20, process=self.processes["redis"], what="redis-server")

    @property
    def redis_url(self) -> str:
        return f"redis://{self.bridge_address}:{self.ports['redis']}/0"

    def start_haproxy(self) -> None:
        if shutil.which("haproxy") is None:
            raise RuntimeError("haproxy is not installed: bin/system-deps --bench installs it (Debian package haproxy)")
        port = self.ports["haproxy"] = free_port(self.bridge_address)
        self._owner()
        servers = "\n".join(f"    server app{index} {address}:{APP_PORT} check" for index, address in self.hosts.items())
        config = self.state / "haproxy.cfg"
        config.write_text(f"""global
    maxconn 512
    stats socket {self.state / "haproxy.sock"} mode 600 level admin
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    # A probe waits in the backlog of busy sync workers like any request: without this it would have to
    # answer within `inter` and a loaded host would be taken out as if it were dead.
    timeout check 3s
    # A connection refused by a dead host is tried again on the other one; a request already sent is not.
    retries 2
    option redispatch 1

frontend portal
    bind {self.bridge_address}:{port}
    option forwardfor
    default_backend app

backend app
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host rehearsal.local
    http-check expect status 200
    default-server inter {HEALTH_INTERVAL_MS}ms fall 2 rise 2
{servers}
""")
        log = open(self.state / "haproxy.log", "w")
        self.processes["haproxy"] = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config), "-p", str(self.state / "haproxy.pid")],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.bridge_address, port, timeout=20, process=self.processes["haproxy"], what="haproxy")

    def haproxy_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(2)
            connection.connect(str(self.state / "haproxy.sock"))
            connection.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[str, str]:
        """HAProxy's view of each app host: UP, DOWN, or a transition ("UP 1/2")."""
        lines = self.haproxy_command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "app" and row.get("svname", "").startswith("app"):
                states[row["svname"]] = row.get("status", "")
        return states

    @property
    def url(self) -> tuple[str, int]:
        return self.bridge_address, self.ports["haproxy"]

    # ------------------------------------------------------------------------------------------ app hosts

    def app_environment(self, **extra: str) -> dict:
        """Production settings the way the benchmark runs them (bench.settings), pointed at this rehearsal's
        primary, replica and Redis; HAProxy is the one proxy in front (TRUSTED_PROXY_COUNT)."""
        environment = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(REPO),
            "DATABASE_URL": self.database_url("primary"), "DATABASE_REPLICA_URL": self.database_url("replica"),
            "REDIS_URL": self.redis_url, "BENCH_REDIS_URL": self.redis_url,
            "BENCH_TMP": str(self.state), "TRUSTED_PROXY_COUNT": "1", "LOG_FORMAT": "text",
            "PUBLIC_BASE_URL": f"http://{self.bridge_address}:{self.ports.get('haproxy', 80)}",
        }
        environment.pop("CACHE_REDIS_URL", None)  # the cache follows REDIS_URL, as in production
        environment.update(extra)
        return environment

    def start_app(self, index: int) -> None:
        """Both of the host's processes: gunicorn and the Celery worker."""
        self.start_web(index)
        self.start_worker(index)

    def start_web(self, index: int, *, workers: int = 2) -> None:
        """gunicorn as production runs it (portal.gunicorn_conf), in the host's namespace. Its control socket
        goes in the host's own file: the namespaces share one file system, real hosts do not."""
        environment = self.app_environment(GUNICORN_BIND=f"0.0.0.0:{APP_PORT}", WEB_CONCURRENCY=str(workers))
        self.run_in(index, "web", [sys.executable, "-m", "gunicorn", "-c", "python:portal.gunicorn_conf",
                                   "--control-socket", str(self.state / f"app{index}-gunicorn.ctl"),
                                   "portal.wsgi:application"], environment)

    def start_worker(self, index: int, *, concurrency: int = 2) -> None:
        """`celery -A portal worker` as docker-compose.yml runs it (prefork, 2 children), in the namespace."""
        self.run_in(index, "worker", [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel=WARNING",
                                      f"--concurrency={concurrency}", "-n", f"app{index}@{self.tag}"],
                    self.app_environment())

    def run_in(self, index: int, name: str, command: list[str], environment: dict | None = None) -> None:
        """Start `command` on app host `index` (in its namespace) as its `name` process ("web" answers on
        APP_PORT); its output goes to STATE/app<index>-<name>.log."""
        with open(self.state / f"app{index}-{name}.log", "a") as log:
            self.processes[f"app{index}-{name}"] = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace(index), *command], cwd=REPO, env=environment or os.environ,
                stdout=log, stderr=subprocess.STDOUT)

    def wait_app(self, index: int, timeout: float = 90) -> None:
        """Until the host's gunicorn answers /healthz from the bridge (what HAProxy's probe asks)."""
        import http.client

        deadline = time.monotonic() + timeout
        while True:
            try:
                connection = http.client.HTTPConnection(self.hosts[index], APP_PORT, timeout=5)
                connection.request("GET", "/healthz", headers={"Host": "rehearsal.local"})
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            web = self.processes.get(f"app{index}-web")
            if time.monotonic() > deadline or (web is not None and web.poll() is not None):
                raise RuntimeError(f"app host {index} did not come up; see {self.state / f'app{index}-web.log'}")
            time.sleep(0.3)

    def wait_worker(self, index: int, *, concurrency: int = 2, timeout: float = 90) -> None:
        """Until the host's Celery worker has forked its pool (it consumes right after)."""
        from bench.lib import children_pids

        deadline = time.monotonic() + timeout
        worker = self.processes[f"app{index}-worker"]
        while len(children_pids(worker.pid)) < concurrency:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"the Celery worker of app host {index} did not start; "
                                   f"see {self.state / f'app{index}-worker.log'}")
            time.sleep(0.3)

    def kill_app(self, index: int) -> int:
        """SIGKILL every process of the host (gunicorn master and workers, the Celery worker and its
        children); returns how many processes died."""
        killed = kill_namespace(self.namespace(index))
        for name in (f"app{index}-web", f"app{index}-worker"):
            process = self.processes.pop(name, None)
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        return killed

    def stop_app(self, index: int) -> None:
        """A clean stop (SIGTERM: gunicorn finishes its requests, Celery its tasks), then SIGKILL what is left."""
        for name in (f"app{index}-worker", f"app{index}-web"):
            process = self.processes.pop(name, None)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
        kill_namespace(self.namespace(index))

    # ------------------------------------------------------------------------------------------ end

    def close(self) -> None:
        for index in self.hosts:
            try:
                self.stop_app(index)
            except Exception:  # noqa: BLE001 - teardown goes on whatever one host did
                pass
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                process.kill()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.processes.pop(name, None)
        teardown(self.state)

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
