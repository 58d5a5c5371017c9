"""The development PII key: created once, whoever asks first."""

from __future__ import annotations

import threading
import warnings

from medallion.resources.pseudonymization import PseudonymizationResource


def test_runs_starting_together_on_a_new_installation_share_one_key(tmp_path):
    """Eight resources resolve the key at the same moment: one creates it, all get it."""
    path = tmp_path / "data" / "pii_dev.key"
    start = threading.Barrier(8)
    keys: list[bytes] = []

    def resolve() -> None:
        resource = PseudonymizationResource(dev_key_file=str(path))
        start.wait()
        keys.append(resource.key_bytes())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=resolve) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert keys[0] == path.read_text().strip().encode() and len(keys[0]) == 64
    assert sum("created a development key" in str(w.message) for w in caught) == 1
    assert [p.name for p in path.parent.iterdir()] == ["pii_dev.key"]  # no drafts left
    assert path.stat().st_mode & 0o777 == 0o600
