"""MLflow tracking as a Dagster resource: where runs, registered models and snapshots live.

Defaults keep everything under data/: a sqlite backend (MLflow 3 refuses the file store), a
local artifact root and the feature snapshots. Moving to a tracking server is configuration:
give tracking_uri (e.g. MLFLOW_TRACKING_URI through dg.EnvVar) and no artifact_root, and the
server decides where artifacts go. MLflow is imported only when a run needs it, so loading
the Definitions stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from medallion.settings import Settings

MLFLOW_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
"""Environment every MLflow process of ours gets (in process and the servers we start): no
telemetry, and no job runners in an MLflow server (seven processes, each importing MLflow, for
GenAI jobs classic training never submits; stopping the server waited for them)."""


def mlflow_process_env(base: dict[str, str]) -> dict[str, str]:
    """Environment for an MLflow server we start: no telemetry, and this environment's
    scripts first on PATH (the scoring server execs `uvicorn` by name)."""
    scripts = str(Path(sys.executable).parent)
    return dict(base) | MLFLOW_ENV | {"PATH": os.pathsep.join([scripts, base.get("PATH", "")])}


def default_tracking_uri(data: Path) -> str:
    """sqlite:////<data>/mlflow/mlflow.db"""
    return f"sqlite:///{(Path(data) / 'mlflow' / 'mlflow.db').resolve()}"


def default_artifact_root(data: Path) -> str:
    return str((Path(data) / "mlflow" / "artifacts").resolve())


def default_snapshot_root(data: Path) -> str:
    return str((Path(data) / "snapshots").resolve())


def store_template(cache: Path | None = None) -> Path:
    """An empty MLflow sqlite store with every table migrated, made once per MLflow version
    in the user's cache (XDG_CACHE_HOME, else ~/.cache): MLflow's fifty-odd migrations of a
    new database take a couple of CPU seconds, a copy takes milliseconds."""
    import mlflow
    from mlflow.store.db.utils import _initialize_tables, create_sqlalchemy_engine

    if cache is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "medallion"
    template = cache / f"mlflow-{mlflow.__version__}-empty.db"
    if not template.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        scratch = cache / f"{template.name}.{os.getpid()}.tmp"
        scratch.unlink(missing_ok=True)
        engine = create_sqlalchemy_engine(f"sqlite:///{scratch}")
        try:
            _initialize_tables(engine)  # what MLflow runs on a database without its tables
        finally:
            engine.dispose()
        os.replace(scratch, template)
    return template


def seed_sqlite_store(database: Path, cache: Path | None = None) -> None:
    """Start a new sqlite store as a copy of the migrated empty template (MLflow then adds
    its Default experiment, as on a database it migrated itself); an existing file is left
    alone, of two processes seeding at once the first wins, and without a writable cache
    MLflow migrates the new database itself."""
    import shutil

    database.parent.mkdir(parents=True, exist_ok=True)
    if database.exists():
        return
    try:
        template = store_template(cache)
    except OSError:
        return
    scratch = database.with_name(f"{database.name}.{os.getpid()}.tmp")
    shutil.copyfile(template, scratch)
    try:
        os.link(scratch, database)  # never replaces a store another process has begun
    except FileExistsError:
        pass
    finally:
        scratch.unlink()


class TrackingResource(dg.ConfigurableResource):
    """The MLflow tracking server and model registry, and the folder of feature snapshots."""

    tracking_uri: str = Field(description="MLflow tracking and registry URI.")
    artifact_root: str | None = Field(
        default=None,
        description="Folder for run artifacts of new experiments; None leaves it to the server.",
    )
    snapshot_root: str = Field(description="Folder of the immutable feature snapshots.")

    @classmethod
    def for_data(
        cls,
        data: Path,
        tracking_uri: str | dg.EnvVar | None = None,
        artifact_root: str | None = None,
    ) -> TrackingResource:
        """Everything under `data` (the default), or runs on another tracking store (with
        artifacts in `artifact_root`, a folder or object-store URI, else the server's)."""
        if tracking_uri is None:
            return cls(
                tracking_uri=default_tracking_uri(data),
                artifact_root=default_artifact_root(data),
                snapshot_root=default_snapshot_root(data),
            )
        return cls(
            tracking_uri=tracking_uri,
            artifact_root=artifact_root,
            snapshot_root=default_snapshot_root(data),
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> TrackingResource:
        """The store the Definitions use: the settings' tracking URI (MEDALLION_TRACKING_URI
        at an entry point), else everything under their data folder."""
        return cls.for_data(settings.data, settings.tracking_uri, settings.artifact_root)

    def snapshots(self) -> Path:
        return Path(self.snapshot_root)

    def artifact_location(self, experiment: str) -> str | None:
        """Artifact URI for a new experiment, or None to use the server's default."""
        if not self.artifact_root:
            return None
        if "://" in self.artifact_root:
            return f"{self.artifact_root.rstrip('/')}/{experiment}"
        return (Path(self.artifact_root).resolve() / experiment).as_uri()

    def activate(self) -> MlflowClient:
        """Point this process's MLflow at the store and return a client for it."""
        for name, value in MLFLOW_ENV.items():
            os.environ.setdefault(name, value)
        import mlflow

        if self.tracking_uri.startswith("sqlite:///"):
            seed_sqlite_store(Path(self.tracking_uri.removeprefix("sqlite:///")))
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def ui_command(self, host: str, port: int) -> list[str]:
        """`mlflow server` on this store: the MLflow UI with the same backend and artifacts."""
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            self.tracking_uri,
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            "1",
        ]
        if self.artifact_root and "://" in self.artifact_root:
            command += ["--default-artifact-root", self.artifact_root]
        elif self.artifact_root:
            command += ["--default-artifact-root", Path(self.artifact_root).resolve().as_uri()]
        return command
