"""The MLflow tracking resource: defaults under data/, or a tracking server."""

from __future__ import annotations

from medallion.resources.tracking import TrackingResource


def test_defaults_keep_everything_under_data(tmp_path):
    tracking = TrackingResource.for_data(tmp_path / "data")
    assert tracking.tracking_uri == f"sqlite:///{tmp_path}/data/mlflow/mlflow.db"
    assert tracking.artifact_root == str(tmp_path / "data" / "mlflow" / "artifacts")
    assert tracking.snapshots() == tmp_path / "data" / "snapshots"
    assert (
        tracking.artifact_location("churn")
        == (tmp_path / "data" / "mlflow" / "artifacts" / "churn").as_uri()
    )


def test_a_tracking_server_decides_where_artifacts_go(tmp_path):
    tracking = TrackingResource.for_data(tmp_path, tracking_uri="http://127.0.0.1:5000")
    assert tracking.artifact_location("churn") is None
    assert tracking.snapshots() == tmp_path / "snapshots"


def test_ui_command_uses_the_same_store_on_loopback(tmp_path):
    tracking = TrackingResource.for_data(tmp_path)
    command = tracking.ui_command("127.0.0.1", 5000)
    assert command[1:4] == ["-m", "mlflow", "server"]
    assert command[command.index("--backend-store-uri") + 1] == tracking.tracking_uri
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--default-artifact-root") + 1].startswith("file://")


def _schema(database) -> list[tuple]:
    """Every table, index and trigger with its definition's clauses (sorted: MLflow's own
    migrations write a table's constraints in varying order), and the migration version."""
    import sqlite3

    with sqlite3.connect(database) as con:
        rows = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        schema = [(kind, name, sorted((sql or "").split(", \n"))) for kind, name, sql in rows]
        schema += con.execute("SELECT version_num FROM alembic_version").fetchall()
    return schema


def test_a_new_sqlite_store_is_a_copy_of_the_migrated_template(tmp_path, monkeypatch):
    """The copied store has the schema and migration version of one MLflow migrates itself,
    gets MLflow's Default experiment like it, and the template is made once."""
    import mlflow

    from medallion.resources.tracking import seed_sqlite_store, store_template

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    own = tmp_path / "own" / "mlflow.db"
    own.parent.mkdir()
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{own}").search_experiments()
    client = TrackingResource.for_data(tmp_path / "data").activate()
    seeded = tmp_path / "data" / "mlflow" / "mlflow.db"
    template = store_template()
    assert template.parent == tmp_path / "cache" / "medallion"
    assert _schema(seeded) == _schema(own) == _schema(template)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    client.create_experiment("churn")
    made = template.stat().st_mtime_ns
    seed_sqlite_store(seeded)  # an existing store is left alone
    assert {e.name for e in client.search_experiments()} == {"Default", "churn"}
    seed_sqlite_store(tmp_path / "second" / "mlflow.db")
    assert template.stat().st_mtime_ns == made
    assert list(template.parent.iterdir()) == [template]  # no scratch file left
    assert sorted(p.name for p in seeded.parent.iterdir()) == ["mlflow.db"]


def test_without_a_writable_cache_mlflow_migrates_a_new_store_itself(tmp_path):
    from medallion.resources.tracking import seed_sqlite_store

    (tmp_path / "not-a-folder").write_text("")
    database = tmp_path / "data" / "mlflow.db"
    seed_sqlite_store(database, cache=tmp_path / "not-a-folder" / "medallion")
    assert list(database.parent.iterdir()) == []  # nothing half made: MLflow creates it
