"""Run the benchmark: per size, generate landing files into a scratch folder, then the floor
and the pipeline on the same files, each in a fresh Python process.

A fresh process per stage (not a fork) is what makes peak memory per stage meaningful: the
child starts from an empty interpreter and reports its own `ru_maxrss`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medallion.bench.monitoring import skipped, stage3_missing
from medallion.bench.report import build_report, format_table, size_label, write_report
from medallion.spec import ProductSpec


class BenchError(RuntimeError):
    """A stage failed; the message names the stage, the size and the end of its log."""


@dataclass(frozen=True)
class BenchOptions:
    """What to run: sizes (rows of the largest source), world length and where to write."""

    sizes: tuple[int, ...]
    out: Path
    days: int = 120
    seed: int = 42
    keep: bool = False
    scratch_root: Path | None = None


def run_stage(stage: str, request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one stage in a child process and return what it measured, plus its process time.

    Raises:
        BenchError: the child exited with an error; the message ends with its log's tail.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    request_file, result_file = workdir / f"{stage}.request.json", workdir / f"{stage}.json"
    log_file = workdir / f"{stage}.log"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    result_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "medallion.bench.child", stage, str(request_file)]
    started = time.perf_counter()
    with log_file.open("w", encoding="utf-8") as log:
        code = subprocess.run(
            [*command, str(result_file)], stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode
    process_s = time.perf_counter() - started
    if code != 0 or not result_file.is_file():
        tail = "\n".join(log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-20:])
        raise BenchError(f"stage {stage} in {workdir} exited with {code}; log {log_file}:\n{tail}")
    return {**json.loads(result_file.read_text(encoding="utf-8")), "process_s": process_s}


def landing_summary(landing: Path, rows: dict[str, int]) -> dict[str, Any]:
    """Rows per source and in total, the largest source, and the files delivered."""
    files = [path for path in landing.rglob("*") if path.is_file()]
    largest = max(rows, key=lambda source: rows[source])
    return {
        "rows": rows,
        "rows_total": sum(rows.values()),
        "largest_source": largest,
        "rows_largest": rows[largest],
        "files": len(files),
        "bytes": sum(path.stat().st_size for path in files),
    }


def run_size(spec: ProductSpec, rows: int, options: BenchOptions, workdir: Path) -> dict[str, Any]:
    """Generate one size, then measure the floor and the pipeline on its files."""
    landing = workdir / "landing"
    common = {"spec": str(spec.path), "landing": str(landing)}
    generated = run_stage(
        "generate", {**common, "rows": rows, "days": options.days, "seed": options.seed}, workdir
    )
    sources = {
        name: {"format": source.format, "columns": {c: k.type for c, k in source.columns.items()}}
        for name, source in spec.sources.items()
    }
    floor = run_stage(
        "floor", {**common, "sources": sources, "database": str(workdir / "floor.duckdb")}, workdir
    )
    if floor["rows"] != generated["rows"]:
        raise BenchError(f"floor loaded {floor['rows']}, generated {generated['rows']}")
    pipeline_db = str(workdir / "warehouse.duckdb")
    pipeline = run_stage(
        "pipeline",
        {**common, "home": str(workdir / "home"), "database": pipeline_db},
        workdir,
    )
    missing = stage3_missing(spec)
    if missing or not pipeline["success"]:
        stage3 = skipped(missing or "the pipeline failed")
    else:
        drift = run_stage("drift", {**common, "database": pipeline_db}, workdir)
        stage3 = {k: v for k, v in drift.items() if k != "stage"}
    return {
        "label": size_label(rows),
        "rows_requested": rows,
        "landing": landing_summary(landing, generated["rows"]),
        "generate": {k: generated[k] for k in ("seconds", "process_s", "peak_rss_bytes")},
        "floor": {k: v for k, v in floor.items() if k != "stage"},
        "pipeline": {k: v for k, v in pipeline.items() if k != "stage"},
        "stage3": stage3,
    }


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    import dagster
    import duckdb

    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpus": os.cpu_count(),
        "memory_gb": pages / 1024**3,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dagster": dagster.__version__,
    }


def run_bench(spec: ProductSpec, options: BenchOptions) -> tuple[dict[str, Any], Path]:
    """Every size in turn, smallest first; prints progress and the table, writes the JSON.

    Returns:
        The report and the path of its timestamped JSON file.
    """
    if not spec.generator:
        raise BenchError(f"product {spec.name!r} declares no generator to size its data")
    if options.scratch_root:
        options.scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="medallion-bench-", dir=options.scratch_root))
    entries = []
    try:
        for rows in sorted(set(options.sizes)):
            label = size_label(rows)
            print(f"[{label}] generating, then floor and pipeline in {scratch / label} ...")
            entry = run_size(spec, rows, options, scratch / label)
            entries.append(entry)
            print(
                f"[{label}] floor {entry['floor']['seconds']:.2f} s, "
                f"pipeline {entry['pipeline']['seconds']:.2f} s"
            )
            if not options.keep:
                shutil.rmtree(scratch / label, ignore_errors=True)
    finally:
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    config = {
        "product": spec.name,
        "days": options.days,
        "seed": options.seed,
        "sizes": [size_label(r) for r in sorted(set(options.sizes))],
        "scratch": str(scratch) if options.keep else None,
    }
    report = build_report(entries, config, machine())
    path = write_report(report, options.out)
    print(format_table(report))
    print(f"\nreport: {path} (and {options.out / 'latest.json'})")
    return report, path
