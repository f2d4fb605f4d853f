"""A real streaming replica for the read-replica tests (decision 061): one per test run (the tests share an
xdist group), made from the test database's own cluster once the test database exists, so the replica has it
too. Each test points the `replica` alias at it and turns the replica reads on; a replica that cannot be
made or started fails the tests, never skips them (CI's bin/replication-access lets the copy in)."""

import pytest
from django.db import connections

from tests.replica.cluster import StreamingReplica


@pytest.fixture(scope="session")
def replica_server(django_db_setup, django_db_blocker):
    if connections["default"].vendor != "postgresql":
        pytest.skip("the read replica is PostgreSQL's streaming replication: run with DATABASE_URL=postgres://…")
    server = StreamingReplica(connections["default"].settings_dict)
    try:
        server.create()
        server.start()
    except Exception as error:  # the reason, with the server's log, instead of a stack of teardown errors
        server.remove()
        pytest.fail(f"只读副本无法启动（复制连接见 bin/replication-access）：{error}\n{server.log_tail()}", pytrace=False)
    yield server
    server.remove()


@pytest.fixture
def replica(replica_server, settings):
    """The `replica` alias on the running replica, its reads on; the replica has replayed what the
    primary had when the test began. Replay runs again afterwards, and the alias goes back to its stand-in."""
    if not replica_server.running:
        replica_server.start()
    config = connections["replica"].settings_dict
    stand_in = {"HOST": config["HOST"], "PORT": config["PORT"]}
    connections["replica"].close()
    config.update(HOST="127.0.0.1", PORT=str(replica_server.port))
    settings.REPLICA_READS = True
    settings.REPLICA_MAX_LAG_SECONDS = 3600  # a replica the test paused stays in use; the lag test sets its own
    replica_server.catch_up()
    yield replica_server
    connections["replica"].close()
    config.update(stand_in)
    if replica_server.running:
        replica_server.resume_replay()
