"""The leak scan finds canary values in tables and files and says where."""

from __future__ import annotations

from medallion.generate.defects import CANARY_PATTERN
from medallion.privacy.scan import scan_files, scan_warehouse
from medallion.zones.tables import replace_table


def test_tables_after_silver_are_scanned_bronze_is_not(con):
    replace_table(con, "shop_bronze.customers", "SELECT 'canary-pii-1@medallion.invalid' AS email")
    replace_table(con, "shop_gold.contacts", "SELECT 'fine' AS a, 'x CANARY PII 7' AS b")
    replace_table(con, "shop_silver.customers", "SELECT 'abc' AS email")
    hits = scan_warehouse(con, CANARY_PATTERN)
    assert [h.location for h in hits] == ["duckdb shop_gold.contacts.b"]
    assert hits[0].detail == "1 value(s) match"


def test_files_are_scanned_across_chunk_boundaries(tmp_path, monkeypatch):
    import medallion.privacy.scan as scan

    monkeypatch.setattr(scan, "CHUNK", 16)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.log").write_bytes(
        b"x" * 10 + b"canary-pii-42@medallion.invalid" + b"y" * 40
    )
    (tmp_path / "clean.txt").write_text("nothing here")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "landing.csv").write_text("canary-pii-1@medallion.invalid")
    hits = scan_files(tmp_path, CANARY_PATTERN, skip=[tmp_path / "raw"])
    assert [str(h) for h in hits] == [
        f"file {tmp_path / 'logs' / 'run.log'}: first match at byte 10"
    ]
