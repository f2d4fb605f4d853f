"""A streaming replica of the test database's PostgreSQL cluster, made as production makes one: a copy by
`pg_basebackup -R -X stream` that then follows the primary, in a data directory and on a port of its own,
started and stopped by the test run (decision 061). PostgreSQL will not run as root: as root, the copy and
the server run as the `postgres` user."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

# The replica's replication slot on the primary: the prefix, then the second it was made and the process.
SLOT_PREFIX = "portal_test_replica_"
STALE_SLOT_SECONDS = 3600

# What a hot standby must have at least as much of as its primary, or it refuses to start.
AT_LEAST_THE_PRIMARYS = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                         "max_locks_per_transaction"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamingReplica:
    def __init__(self, primary: dict):
        """`primary`: the primary's Django connection settings (HOST, PORT, USER, PASSWORD)."""
        self.primary = {"host": primary["HOST"] or "127.0.0.1", "port": int(primary["PORT"] or 5432),
                        "user": primary["USER"], "password": primary["PASSWORD"] or None}
        with self.connect_primary() as primary_connection:
            version = primary_connection.execute("SHOW server_version_num").fetchone()[0]
            self.at_least = {name: primary_connection.execute(f"SHOW {name}").fetchone()[0]
                             for name in AT_LEAST_THE_PRIMARYS}
        self.bin = Path(f"/usr/lib/postgresql/{int(version) // 10000}/bin")  # Debian's layout
        self.port = _free_port()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        # Where the postgres user can reach it (root's TMPDIR may be under /root).
        self.root = Path(tempfile.mkdtemp(prefix="portal-replica-", dir="/tmp" if self.as_owner else None))
        if self.as_owner:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.running = False
        self.slot = f"{SLOT_PREFIX}{int(time.time())}_{os.getpid()}"

    def connect_primary(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(**self.primary, dbname=dbname, autocommit=True, connect_timeout=5)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.primary["user"],
                               password=self.primary["password"], dbname=dbname, autocommit=True, connect_timeout=5)

    def _run(self, program: str, *arguments: str, timeout: float = 120) -> None:
        binary = self.bin / program if (self.bin / program).exists() else shutil.which(program) or program
        environment = {**os.environ, **({"PGPASSWORD": self.primary["password"]} if self.primary["password"] else {})}
        result = subprocess.run([*self.as_owner, str(binary), *arguments], capture_output=True, text=True,
                                timeout=timeout, env=environment, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(arguments)} 失败（{result.returncode}）：{result.stderr.strip()}")

    def create(self, attempts: int = 3) -> None:
        """The copy: a fast checkpoint on the primary, its WAL streamed alongside, and -R writing
        standby.signal, primary_conninfo and primary_slot_name so that the copy follows the primary once
        started. The slot is made first and reserves WAL at once: the primary is shared and busy (other
        tests create and drop databases all the while), and without a slot it recycled the segments the copy
        needed before the copy started (CI: 「requested WAL segment … has already been removed」). The slot
        goes with the replica; one left by a run that died is dropped by the next after an hour."""
        self._drop_stale_slots()
        with self.connect_primary() as primary_connection:
            primary_connection.execute("SELECT pg_create_physical_replication_slot(%s, true)", (self.slot,))
        for attempt in range(1, attempts + 1):
            try:
                self._run("pg_basebackup", "-h", self.primary["host"], "-p", str(self.primary["port"]),
                          "-U", self.primary["user"], "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
                          "--no-sync", "-S", self.slot)
                break
            except RuntimeError:
                shutil.rmtree(self.data, ignore_errors=True)
                if attempt == attempts:
                    raise
        # Debian keeps the primary's configuration outside its data directory: the copy gets its own.
        (self.data / "postgresql.conf").write_text("# the read-replica tests' replica (tests/replica/cluster.py)\n")
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.data / "pg_ident.conf").write_text("")
        if self.as_owner:
            for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
                shutil.chown(self.data / name, "postgres", "postgres")

    def start(self) -> None:
        """Started with its settings on the command line (they win over a postgresql.auto.conf copied from the
        primary); waits until the WAL receiver streams."""
        settings = {
            "port": self.port, "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.root),
            "hot_standby": "on", "hot_standby_feedback": "on", "wal_receiver_status_interval": "1s",
            "shared_buffers": "32MB", "fsync": "off", "logging_collector": "off", **self.at_least,
        }
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.running = True
        self._wait("SELECT status = 'streaming' FROM pg_stat_wal_receiver", "the WAL receiver to stream")

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            self.running = False

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self._drop_slot(self.slot)

    def _drop_slot(self, name: str, timeout: float = 10) -> None:
        """Once the primary's WAL sender for it has gone (a moment after the replica stopped)."""
        deadline = time.monotonic() + timeout
        with self.connect_primary() as primary_connection:
            while True:
                row = primary_connection.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                                                 (name,)).fetchone()
                if row is None:
                    return
                if not row[0]:
                    primary_connection.execute("SELECT pg_drop_replication_slot(%s)", (name,))
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"复制槽 {name} 在副本停止 {timeout} 秒后仍在使用")
                time.sleep(0.1)

    def _drop_stale_slots(self) -> None:
        """A slot nobody streams from keeps every WAL segment after it: one a dead run left behind is dropped
        once it is an hour old (a run that is alive drops its own)."""
        with self.connect_primary() as primary_connection:
            names = primary_connection.execute("SELECT slot_name FROM pg_replication_slots"
                                               " WHERE slot_name LIKE %s AND NOT active",
                                               (SLOT_PREFIX + "%",)).fetchall()
        for (name,) in names:
            made = name.removeprefix(SLOT_PREFIX).split("_")[0]
            if made.isdigit() and time.time() - int(made) > STALE_SLOT_SECONDS:
                self._drop_slot(name)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait(self, query: str, what: str, parameters: tuple = (), timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect() as replica:
                    row = replica.execute(query, parameters).fetchone()
                if row and row[0]:
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica did not come to {what} within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def catch_up(self, *, replayed: bool = True) -> None:
        """Until the replica has replayed (or, `replayed=False`, received) all the primary has written so far."""
        with self.connect_primary() as primary_connection:
            lsn = primary_connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        position = "pg_last_wal_replay_lsn()" if replayed else "pg_last_wal_receive_lsn()"
        self._wait(f"SELECT {position} >= %s::pg_lsn", f"{position} {lsn}", (lsn,))

    def pause_replay(self) -> None:
        """The replica keeps receiving WAL but applies none: what the primary commits now, only the primary has."""
        with self.connect() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.connect() as replica:
            replica.execute("SELECT pg_wal_replay_resume()")
