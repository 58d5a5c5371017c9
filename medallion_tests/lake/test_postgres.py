"""The PostgreSQL server of the lake tests and demo: started from the pip package on
127.0.0.1, databases created once, a server given by URL left alone."""

from __future__ import annotations

import os

import psycopg2
import pytest

from medallion.lake import postgres


def test_the_started_server_answers_on_loopback_and_creates_databases(pg_server):
    name = pg_server.create_database("created_twice")
    assert pg_server.create_database(name) == name
    con = psycopg2.connect(pg_server.conninfo(name))
    try:
        with con.cursor() as cursor:
            cursor.execute("SELECT current_database(), inet_server_addr()::text")
            assert cursor.fetchone() == (name, "127.0.0.1/32")
    finally:
        con.close()
    if pg_server.data_dir is not None:  # started here, not given by MEDALLION_PG_URL
        pid = postgres.pid(pg_server)
        assert pid and os.path.exists(f"/proc/{pid}")
        assert pg_server.host == "127.0.0.1"


def test_a_server_given_by_url_is_parsed_and_never_stopped():
    server = postgres.from_url("postgresql://me:s%40cret@db.internal:6000/warehouse")
    assert (server.user, server.password, server.host, server.port) == (
        "me",
        "s@cret",
        "db.internal",
        6000,
    )
    assert (
        server.conninfo() == "dbname=warehouse host=db.internal port=6000 user=me password=s@cret"
    )
    assert server.url("x", driver="postgresql+psycopg2").startswith("postgresql+psycopg2://me:")
    postgres.stop(server)  # no data folder of ours: nothing to stop


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder check applies when running as root")
def test_as_root_a_folder_nobody_cannot_reach_is_refused(tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(PermissionError, match="cannot reach it"):
        postgres.start(closed / "server")
    assert postgres.server_folder(closed / "server") != closed / "server"
