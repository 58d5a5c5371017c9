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
