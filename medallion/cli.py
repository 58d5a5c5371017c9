"""The `medallion` command: demo, ui, serve, generate, simulate, bench, bench-service, landing,
retired, snapshots, privacy-scan, validate and new."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from medallion.settings import PROFILES, Settings
from medallion.spec import ProductSpec, SpecError, load_specs


def _prepare(settings: Settings) -> None:
    """Run from the project root so dagster.yaml's relative paths land under data/."""
    settings.data.mkdir(parents=True, exist_ok=True)
    os.chdir(settings.home)
    if "DAGSTER_HOME" not in os.environ:
        has_config = (settings.home / "dagster.yaml").is_file()
        home = settings.home if has_config else settings.dagster_home
        home.mkdir(parents=True, exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)


def _select(specs: list[ProductSpec], names: list[str] | None) -> list[ProductSpec]:
    if not names:
        return specs
    known = {spec.name: spec for spec in specs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown product(s) {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]


def _lake_session(args: argparse.Namespace, settings: Settings):
    """In the lake profile (`--profile lake` or MEDALLION_PROFILE), a provisioned PostgreSQL
    server and catalog for the command's duration; otherwise nothing."""
    from contextlib import nullcontext

    if getattr(args, "profile", None):
        os.environ["MEDALLION_PROFILE"] = args.profile
    if os.environ.get("MEDALLION_PROFILE", "local") != "lake":
        return nullcontext()
    from medallion.lake.profile import lake_session

    settings.data.mkdir(parents=True, exist_ok=True)
    return lake_session(settings.data)


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    with _lake_session(args, settings) as lake:
        if lake is not None:
            from medallion.lake.profile import describe

            print(describe(lake))
        return _demo(args, Settings.from_env())


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    import dagster as dg

    from medallion.demo import run_defects_demo, run_demo
    from medallion.timeline import TimelineOptions

    _prepare(settings)
    specs = _select(load_specs(settings.product_files()), args.product)
    with dg.DagsterInstance.get() as instance:
        if args.defects:
            return run_defects_demo(specs, settings, instance, seed=args.seed)
        chosen = {"days": args.days, "drift_from": args.drift_from}
        timeline = TimelineOptions(**{k: v for k, v in chosen.items() if v is not None})
        return run_demo(
            specs,
            settings,
            instance,
            seed=args.seed,
            full_refresh=args.full_refresh,
            timeline=timeline,
        )


def _cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    with _lake_session(args, settings) as lake:
        if lake is not None:
            from medallion.lake.profile import describe

            print(describe(lake))
        return _ui(args, Settings.from_env())


def _ui(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.servers import start_group, supervise, warn_if_exposed

    _prepare(settings)
    warn_if_exposed(args.host, "the Dagster UI")
    target = (
        ["-w", "workspace.yaml"]
        if Path("workspace.yaml").is_file()
        else ["-m", "medallion.definitions"]
    )
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-h",
        args.host,
        "-p",
        str(args.port),
        *target,
    ]
    print(f"Dagster UI: http://{args.host}:{args.port}  (Ctrl-C stops it)")
    processes = [start_group(command)]
    mlflow_ui = _start_mlflow_ui(args, settings)
    if mlflow_ui is not None:
        processes.append(mlflow_ui)
    return supervise(processes)


def _tracking(settings: Settings):
    """The MLflow store the Definitions use (MEDALLION_TRACKING_URI, else data/mlflow)."""
    from medallion.resources.tracking import TrackingResource

    return TrackingResource.for_settings(settings)


def _runs_links(settings: Settings, url: str) -> list[str]:
    """Links to each product's runs table; on a new store this also creates the database
    before the server does and drops MLflow's empty Default experiment."""
    from medallion.ml.registry import drop_empty_default, runs_links

    client = _tracking(settings).activate()
    drop_empty_default(client)
    return runs_links(client, load_specs(settings.product_files()), url)


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _start_mlflow_ui(args: argparse.Namespace, settings: Settings):
    """`mlflow server` on the project's store beside the Dagster UI (None when not started)."""
    from medallion.resources.tracking import mlflow_process_env
    from medallion.servers import start_group, warn_if_exposed

    if args.mlflow_port == 0:
        return None
    tracking = _tracking(settings)
    if not tracking.tracking_uri.startswith("sqlite:"):
        print(f"MLflow UI: runs go to {tracking.tracking_uri}; open its own UI")
        return None
    if not _port_free(args.host, args.mlflow_port):
        print(
            f"WARNING: port {args.mlflow_port} is in use; MLflow UI not started "
            "(choose another with --mlflow-port)",
            file=sys.stderr,
        )
        return None
    warn_if_exposed(args.host, "the MLflow UI")
    url = f"http://{args.host}:{args.mlflow_port}"
    print(f"MLflow UI: {url}, each product's training runs:")
    print("\n".join(_runs_links(settings, url)))
    return start_group(
        tracking.ui_command(args.host, args.mlflow_port), env=mlflow_process_env(dict(os.environ))
    )


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """The data product service (medallion.service): gold and models of every product."""
    from medallion.service.server import run

    _prepare(settings)
    specs = _select(load_specs(settings.product_files()), args.product)
    return run([s.name for s in specs], args.host, args.port, shadow=args.shadow, alias=args.alias)


def _cmd_bench_service(args: argparse.Namespace, settings: Settings) -> int:
    """The service benchmark (medallion.bench.service) on this installation's data."""
    from medallion.bench.service import run_service_bench

    _prepare(settings)
    [spec] = _select(load_specs(settings.product_files()), [args.product])
    out = Path(args.out) if args.out else settings.data / "bench"
    report = run_service_bench(spec, settings, _tracking(settings).tracking_uri, out)
    print(json.dumps(report, indent=1))
    return 0 if report["verdict"]["passed"] else 1


def _parse_days(text: str | None) -> range | None:
    if not text:
        return None
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def _cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.generate.defects import DefectOptions
    from medallion.generate.options import DriftOptions
    from medallion.generate.product import run_generator

    landing = Path(args.landing) if args.landing else settings.landing
    drift = (
        DriftOptions(from_day=args.drift_from, strength=args.drift_strength)
        if args.drift_from is not None
        else None
    )
    defects = None
    if args.defects:
        kinds = tuple(k.strip() for k in args.defects.split(",") if k.strip())
        defects = DefectOptions(day=args.defect_day, kinds=kinds, rate=args.defect_rate)
    for spec in _select(load_specs(settings.product_files()), args.product):
        rows = run_generator(
            spec,
            landing,
            seed=args.seed,
            days=args.days,
            rows=args.rows,
            drift=drift,
            defects=defects,
            deliver_days=_parse_days(args.deliver_days),
        )
        total = sum(rows.values())
        print(
            f"{spec.name}: {total:,} rows into {landing}: "
            + ", ".join(f"{source} {n:,}" for source, n in rows.items())
        )
    return 0


def _cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    import tempfile

    from medallion.simulate import SimulationOptions, format_report, simulate

    specs = _select(load_specs(settings.product_files()), [args.product])
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="medallion-simulate-"))
    if home.exists() and any(home.iterdir()):
        print(f"error: {home} is not empty; simulate into a new folder", file=sys.stderr)
        return 2
    options = SimulationOptions(
        home=home,
        days=args.days,
        drift_from=args.drift_from,
        drift_strength=args.drift_strength,
        history=args.history,
        customers=args.customers,
        seed=args.seed,
        gap_days=args.gap_days,
        lenient_gates=args.lenient_gates,
    )
    print(f"simulating into {home}")
    report = simulate(specs[0], options)
    print(format_report(report))
    return 0


def _cmd_bench_daily(args: argparse.Namespace, spec: ProductSpec, out: Path) -> int:
    import json
    import shutil
    import tempfile
    from datetime import UTC, datetime

    from medallion.bench.daily import format_daily, run_daily
    from medallion.bench.runner import BenchError

    root = Path(args.scratch) if args.scratch else None
    if root:
        root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="medallion-daily-", dir=root))
    try:
        report = run_daily(spec, args.rows[0], tuple(args.histories), args.seed, scratch)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"daily-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_daily(report))
    print(f"\nreport: {path}")
    return 0


def _cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.bench.runner import BenchError, BenchOptions, run_bench

    specs = _select(load_specs(settings.product_files()), [args.product])
    out = Path(args.out) if args.out else settings.data / "bench"
    if args.daily:
        return _cmd_bench_daily(args, specs[0], out)
    options = BenchOptions(
        sizes=tuple(args.rows),
        out=out,
        days=args.days,
        seed=args.seed,
        keep=args.keep,
        scratch_root=Path(args.scratch) if args.scratch else None,
    )
    try:
        report, _ = run_bench(specs[0], options)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0 if all(size["pipeline"]["success"] for size in report["sizes"]) else 1


def _cmd_bench_ml(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.bench.ml import run_ml_bench

    specs = _select(load_specs(settings.product_files()), [args.product])
    out = Path(args.out) if args.out else settings.data / "bench"
    run_ml_bench(specs[0], out, customers=args.customers, days=args.days, seed=args.seed)
    return 0


def _sizes(text: str) -> list[int]:
    """Comma-separated sizes, e.g. 1M,10M."""
    return [_rows(part.strip()) for part in text.split(",") if part.strip()]


def _cmd_retired(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.resources.warehouse import connect

    specs = _select(load_specs(settings.product_files()), args.product)
    retired = [spec.table("gold", n) for spec in specs for n, g in spec.gold.items() if g.retired]
    if not settings.warehouse.exists() or not retired:
        print("no retired gold versions with tables")
        return 0
    with connect(settings.warehouse, read_only=not args.drop) as con:
        existing = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
        for table in retired:
            if table not in existing:
                continue
            if args.drop:
                con.execute(f"DROP TABLE {table}")
                print(f"dropped {table}")
            else:
                rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                print(f"{table}: {rows:,} rows kept (retired; `medallion retired --drop` drops it)")
    return 0


def _cmd_snapshots(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.ml.retention import aliased_data_versions, plan_retention, snapshot_files

    specs = _select(load_specs(settings.product_files()), args.product)
    tracking = _tracking(settings)
    freed = 0
    for spec in specs:
        files = snapshot_files(tracking.snapshots(), spec) if spec.model else []
        if not files:
            print(f"{spec.name}: no snapshots")
            continue
        used = aliased_data_versions(tracking.activate(), spec)
        kept, removable = plan_retention(files, used, args.keep)
        for file in kept:
            why = ", ".join(file.used_by) or "among the newest"
            print(f"keep   {file.path} ({file.size_bytes / 1e6:,.1f} MB): {why}")
        for file in removable:
            if args.prune:
                file.path.unlink(missing_ok=True)
                freed += file.size_bytes
            verb = "pruned" if args.prune else "unused"
            print(f"{verb:<6} {file.path} ({file.size_bytes / 1e6:,.1f} MB)")
    if args.prune:
        print(f"freed {freed / 1e6:,.1f} MB")
    else:
        print("`medallion snapshots --prune` removes the unused ones")
    return 0


def _cmd_privacy_scan(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.privacy.scan import scan_installation

    roots = [Path(os.environ["DAGSTER_HOME"])] if os.environ.get("DAGSTER_HOME") else []
    hits = scan_installation(settings.warehouse, settings.data, args.pattern, roots)
    for hit in hits:
        print(f"FOUND {hit}")
    print(f"{len(hits)} place(s) hold values matching {args.pattern!r}")
    return 1 if hits else 0


def _cmd_landing(args: argparse.Namespace, settings: Settings) -> int:
    """List refused landing files, or acknowledge one so that its source carries on."""
    import getpass

    from medallion.resources.warehouse import connect
    from medallion.zones.landing import acknowledge, refused_files

    specs = _select(load_specs(settings.product_files()), args.product)
    if not settings.warehouse.exists():
        print("no warehouse yet: nothing was refused")
        return 0
    with connect(settings.warehouse) as con:
        refused = [file for spec in specs for file in refused_files(con, spec)]
        if args.action == "refused":
            for file in refused:
                print(
                    f"{file.path}\n    {file.product}/{file.source}, refused {file.refused_at:%Y-%m-%d %H:%M} UTC: {file.reason}"
                )
            print(f"{len(refused)} refused file(s) waiting for a decision")
            return 0
        target = str(Path(args.file).resolve())
        matches = [file for file in refused if file.path == target]
        if not matches:
            print(
                f"error: {target} is not a refused file (or it changed since it was refused, "
                "and the next run tries it again); `medallion landing refused` lists them",
                file=sys.stderr,
            )
            return 1
        by = args.by or getpass.getuser()
        for file in matches:
            acknowledge(con, file, by, args.reason)
            print(
                f"acknowledged {file.path} for {file.product}/{file.source} by {by}: {args.reason}"
            )
    return 0


def _rows(text: str) -> int:
    """Sizes like 50000, 1M or 2.5k."""
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    number = text[:-1] if factor > 1 else text
    return int(float(number) * factor)


def _cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.validate import product_paths, report_lines, validate_products

    targets = [Path(p) for p in args.path] or list(settings.products)
    results = validate_products(product_paths(targets), plan=not args.quiet)
    for result in results:
        print("\n".join(report_lines(result, verbose=not args.quiet)))
    invalid = [r for r in results if not r.valid]
    print(f"{len(results) - len(invalid)} valid, {len(invalid)} with problems")
    return 1 if invalid else 0


def _cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    from medallion.scaffold import ScaffoldError, scaffold_product

    products_dir = Path(args.dir) if args.dir else settings.home / "products"
    try:
        written = scaffold_product(args.name, products_dir)
    except ScaffoldError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    folder = products_dir.resolve()
    print(
        "next:\n"
        f"  medallion validate {folder / args.name}\n"
        f"  export MEDALLION_PRODUCTS={folder}   # load the products of this folder "
        "(add ':'-separated folders to keep others)\n"
        f"  medallion generate --product {args.name} --days 30   # sample landing data\n"
        f"  medallion demo --product {args.name}"
    )
    return 0


def _add_authoring_commands(commands: argparse._SubParsersAction) -> None:
    """Commands for the person declaring a product: check specs, scaffold a new one."""
    validate = commands.add_parser(
        "validate",
        help="check product specs without running anything: spec errors, SQL binding against "
        "the declared schemas, model columns; prints what would be built",
    )
    validate.add_argument(
        "path",
        nargs="*",
        help="product.yaml files, product folders or folders of them (default: loaded products)",
    )
    validate.add_argument("--quiet", action="store_true", help="verdicts only, no build plan")
    validate.set_defaults(run=_cmd_validate)

    new = commands.add_parser(
        "new", help="scaffold a product folder (YAML, gold SQL, generator) that runs as is"
    )
    new.add_argument("name", help="the product's name (lower case, digits, underscores)")
    new.add_argument("--dir", help="the products folder to create it in (default ./products)")
    new.set_defaults(run=_cmd_new)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="a history, models, then days delivered one by one through the daily operation "
        "(landing data already there: one pass of the daily operation); a summary",
    )
    demo.add_argument("--product", action="append", help="only this product (repeatable)")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument(
        "--days", type=int, help="days delivered one by one after the history (default 3)"
    )
    demo.add_argument(
        "--drift-from", type=int, help="day of the timeline from which the data drifts (default 1)"
    )
    demo.add_argument(
        "--defects",
        action="store_true",
        help="then deliver a batch full of defects and show checks, quarantine and protected gold",
    )
    demo.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild silver and gold from all of bronze instead of merging what is new",
    )
    demo.add_argument(
        "--profile",
        choices=PROFILES,
        help="local (one DuckDB file) or lake (DuckLake, Dagster and MLflow on PostgreSQL; "
        "starts a server unless MEDALLION_PG_URL names one); default MEDALLION_PROFILE or local",
    )
    demo.set_defaults(run=_cmd_demo)


def _add_ui(commands: argparse._SubParsersAction) -> None:
    ui = commands.add_parser(
        "ui",
        help="start the Dagster UI and the MLflow UI; Ctrl-C or SIGTERM stops them and their "
        "children",
    )
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument(
        "--mlflow-port", type=int, default=5000, help="MLflow UI port beside it (0: none)"
    )
    ui.add_argument(
        "--profile",
        choices=PROFILES,
        help="lake: start (or reach) PostgreSQL for the catalog, Dagster and MLflow first",
    )
    ui.set_defaults(run=_cmd_ui)


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve every product's published gold and models over HTTP (discover, query, "
        "download, score with challengers in the shadow)",
    )
    serve.add_argument("--product", action="append", help="only this product (repeatable)")
    serve.add_argument(
        "--alias", default="champion", help="registered model alias that answers scoring calls"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (default loopback only; any other needs MEDALLION_SERVICE_TOKEN)",
    )
    serve.add_argument("--port", type=int, default=5001)
    serve.add_argument(
        "--no-shadow", dest="shadow", action="store_false", help="do not score challengers"
    )
    serve.set_defaults(run=_cmd_serve)


def _add_scan(commands: argparse._SubParsersAction) -> None:
    scan = commands.add_parser(
        "privacy-scan", help="look for PII (by default the generator's canaries) after bronze"
    )
    scan.add_argument("--pattern", default=r"(?i)canary[- ]pii", help="regular expression")
    scan.set_defaults(run=_cmd_privacy_scan)


def _add_retired(commands: argparse._SubParsersAction) -> None:
    retired = commands.add_parser("retired", help="list (or drop) tables of retired gold versions")
    retired.add_argument("--product", action="append", help="only this product (repeatable)")
    retired.add_argument("--drop", action="store_true", help="drop them")
    retired.set_defaults(run=_cmd_retired)


def _add_snapshots(commands: argparse._SubParsersAction) -> None:
    snapshots = commands.add_parser(
        "snapshots",
        help="list feature snapshots and the model versions using them (--prune the unused)",
    )
    snapshots.add_argument("--product", action="append", help="only this product (repeatable)")
    snapshots.add_argument(
        "--keep", type=int, default=1, help="newest snapshots kept per table (default 1)"
    )
    snapshots.add_argument(
        "--prune",
        action="store_true",
        help="delete snapshots no aliased model version was trained on",
    )
    snapshots.set_defaults(run=_cmd_snapshots)


def _add_landing(commands: argparse._SubParsersAction) -> None:
    landing = commands.add_parser(
        "landing", help="refused landing files: list them, or acknowledge one (kept, not deleted)"
    )
    landing_actions = landing.add_subparsers(dest="action", required=True)
    refused = landing_actions.add_parser("refused", help="list refused files with the reason")
    refused.add_argument("--product", action="append", help="only this product (repeatable)")
    ack = landing_actions.add_parser(
        "ack",
        help="record that a refused file was dealt with: the next run passes it over and its "
        "source carries on; who, when and why are kept in <product>_bronze._acknowledged_files",
    )
    ack.add_argument("file", help="the refused file's path")
    ack.add_argument("--reason", required=True, help="why it may be passed over")
    ack.add_argument("--by", help="who decided (default: the current user)")
    ack.add_argument("--product", action="append", help="only this product (repeatable)")
    landing.set_defaults(run=_cmd_landing)


def _add_generate(commands: argparse._SubParsersAction) -> None:
    generate = commands.add_parser("generate", help="write deterministic landing batches")
    generate.add_argument("--product", action="append", help="only this product (repeatable)")
    generate.add_argument("--landing", help="landing folder (default data/landing)")
    generate.add_argument("--rows", type=_rows, help="rows of the largest source, e.g. 1M")
    generate.add_argument("--days", type=int, help="days of daily batches")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--drift-from", type=int, help="day index from which drift is injected")
    generate.add_argument("--drift-strength", type=float, default=1.0)
    generate.add_argument(
        "--defects",
        help="comma-separated: nulls,duplicates,out_of_range,malformed,schema_change,canary",
    )
    generate.add_argument("--defect-day", type=int, default=0)
    generate.add_argument("--defect-rate", type=float, default=0.02)
    generate.add_argument("--deliver-days", help="only these day indices, e.g. 0-29 or 30")
    generate.set_defaults(run=_cmd_generate)


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    simulate = commands.add_parser(
        "simulate",
        help="deliver daily batches one at a time through ingestion, monitoring and retraining, "
        "and report when drift was detected and what retraining did",
    )
    simulate.add_argument("--product", default="churn", help="product to simulate")
    simulate.add_argument("--days", type=int, default=60, help="daily deliveries after history")
    simulate.add_argument(
        "--drift-from", type=int, default=30, help="simulated day from which drift is injected"
    )
    simulate.add_argument("--no-drift", dest="drift_from", action="store_const", const=None)
    simulate.add_argument("--drift-strength", type=float, default=1.0)
    simulate.add_argument(
        "--history", type=int, default=120, help="days delivered at once before (the backfill)"
    )
    simulate.add_argument("--customers", type=int, default=400, help="size of the world")
    simulate.add_argument("--seed", type=int, default=42)
    simulate.add_argument(
        "--gap-days",
        type=int,
        help="model.gap_days for training (default: the label horizon seen in gold when larger "
        "than the product's)",
    )
    simulate.add_argument(
        "--strict-gates",
        dest="lenient_gates",
        action="store_false",
        help="keep the product's bias and latency gates (relaxed by default: a small world "
        "has tiny groups, and a busy machine misses the latency budget)",
    )
    simulate.add_argument("--home", help="empty folder for all state (default: a new temp folder)")
    simulate.set_defaults(run=_cmd_simulate)


def _add_bench(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench", help="time and memory of the pipeline against DuckDB alone, at growing sizes"
    )
    bench.add_argument(
        "--rows", type=_sizes, default=[1_000_000], help="sizes, e.g. 1M,10M (default 1M)"
    )
    bench.add_argument("--days", type=int, default=120, help="days of daily batches")
    bench.add_argument("--seed", type=int, default=42)
    bench.add_argument("--product", default="churn", help="product to run (default churn)")
    bench.add_argument("--out", help="report folder (default data/bench)")
    bench.add_argument("--scratch", help="folder for generated data (default the system's temp)")
    bench.add_argument("--keep", action="store_true", help="keep the scratch data and databases")
    bench.add_argument(
        "--daily",
        action="store_true",
        help="the daily scenario: build N-1 days, time day N's increment against a full build",
    )
    bench.add_argument(
        "--histories",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[120, 360],
        help="history lengths in days for --daily, same daily volume (default 120,360)",
    )
    bench.set_defaults(run=_cmd_bench)


def _add_bench_service(commands: argparse._SubParsersAction) -> None:
    bench_service = commands.add_parser(
        "bench-service",
        help="the service's lookup and scoring latency against its budgets, quiet and while a "
        "pipeline run writes (bounded load against 127.0.0.1)",
    )
    bench_service.add_argument("--product", default="churn", help="product (default churn)")
    bench_service.add_argument("--out", help="report folder (default data/bench)")
    bench_service.set_defaults(run=_cmd_bench_service)


def _add_bench_ml(commands: argparse._SubParsersAction) -> None:
    bench_ml = commands.add_parser(
        "bench-ml",
        help="parallel vs sequential training, the latency gate quiet and under CPU hogs, and "
        "the champion over HTTP (p50/p95/p99, throughput at 10 clients)",
    )
    bench_ml.add_argument("--product", default="churn", help="product to run (default churn)")
    bench_ml.add_argument("--customers", type=int, default=2000, help="size of the world")
    bench_ml.add_argument("--days", type=int, default=120, help="days of daily batches")
    bench_ml.add_argument("--seed", type=int, default=42)
    bench_ml.add_argument("--out", help="report folder (default data/bench)")
    bench_ml.set_defaults(run=_cmd_bench_ml)


def parser() -> argparse.ArgumentParser:
    """Every `medallion` command, one small function each."""
    root = argparse.ArgumentParser(prog="medallion", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for add in (
        _add_demo,
        _add_ui,
        _add_serve,
        _add_scan,
        _add_retired,
        _add_snapshots,
        _add_landing,
        _add_generate,
        _add_simulate,
        _add_bench,
        _add_bench_service,
        _add_bench_ml,
        _add_authoring_commands,
    ):
        add(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        return args.run(args, settings)
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
