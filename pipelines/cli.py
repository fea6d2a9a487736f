"""The `coprod` command: run the pipeline and see what it did.

    coprod run           ingest, validate, model, gate and publish (what `make run` calls)
    coprod status        what was ingested, held, quarantined and published, and when
    coprod report ORG    where the organisation's HTML report is (it is published with the marts)
    coprod query "SQL"   run SQL over the published marts (each mart is a view of its name)

Exit codes a scheduler can rely on: 0 success (nothing new counts as success), 1 the run failed
or publication was blocked by a failed check, 2 the configuration is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.run_lock import warehouse_lock
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT, Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DAGSTER_YAML = """\
# Written by `coprod run` when missing. Telemetry off; one run at a time, because the DuckDB
# warehouse allows a single writer.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def dagster_home() -> Path:
    """DAGSTER_HOME must be an absolute, existing folder; default: .dagster_home in the repo."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ensure_dbt_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than any dbt file."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    sources = [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.parts
    ]
    if manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        check=True,
        # The warehouse the runs will use: dbt's profile names it, and a parse made with the
        # same profile lets the first build skip parsing what did not change.
        env={**os.environ, "COPROD_WAREHOUSE": str(load_settings().warehouse)},
    )


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.file_state import known_hashes
    from pipelines.ingest.intake import input_fingerprint
    from pipelines.publication import current_manifest
    from pipelines.registry import RegistryError, load_registry
    from pipelines.warehouse import connect, table_exists

    settings = load_settings()
    try:
        load_registry(settings.registry_file)
    except RegistryError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    waiting = "Another run is writing this warehouse; waiting for it to finish..."
    with warehouse_lock(settings.data_dir, on_wait=lambda: print(waiting, flush=True)):
        known = {}
        if settings.warehouse.exists():  # the lock is held: nothing else writes it now
            with connect(settings.warehouse, read_only=True) as con:
                if table_exists(con, "ingest.inbox_index"):
                    known = known_hashes(con)
        fingerprint = input_fingerprint(settings, known=known)
        published = current_manifest(settings.marts_dir)
        if (
            not args.force
            and not args.reprocess
            and published
            and published.get("input_fingerprint") == fingerprint
        ):
            print(
                f"Nothing new since publication {published['publication_id']}: "
                "no file, registry, reference or model change. Marts left as they are."
            )
            print(status_report(settings))
            return EXIT_OK
        return _execute(settings, reprocess=args.reprocess)


def _execute(settings: Settings, reprocess: list[str] | None = None) -> int:
    dagster_home()
    ensure_dbt_manifest()
    import dagster as dg

    from pipelines.definitions import defs

    started = time.monotonic()
    print("Running the pipeline: ingest -> validate -> dbt build -> Great Expectations -> publish")
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("coprod_full_run").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={
                "loggers": {"console": {"config": {"log_level": "INFO"}}},
                "ops": {"ingest__survey_exports": {"config": {"reprocess": reprocess or []}}},
            },
        )
    failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity.value == "ERROR"
    ]
    print(status_report(settings))
    print(f"Run {result.run_id} took {time.monotonic() - started:.0f} s.")
    if not result.success or failed_checks:
        print(
            "The run did not publish. Failed checks: "
            f"{', '.join(failed_checks) or 'none'}; see the run in the Dagster UI (make ui).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def status_report(settings: Settings) -> str:
    """What was read and what is published; during a run, what is published."""
    import duckdb

    from pipelines.publication import current_manifest

    lines = []
    try:
        lines += _file_statuses(settings)
    except duckdb.IOException:  # DuckDB has one writer, and a run holds the file
        lines.append(
            "A run is writing the warehouse now: file statuses are shown once it ends. "
            "The published marts below are what analysts read meanwhile."
        )
    manifest = current_manifest(settings.marts_dir)
    if manifest:
        lines.append(
            f"Published {manifest['publication_id']} at {manifest['published_at']} "
            f"to {settings.marts_dir}:"
        )
        for entry in manifest["marts"].values():
            lines.append(f"  {entry['file']:<34} {entry['rows']:>7,} rows")
    else:
        lines.append("Nothing published yet.")
    lines += [
        "Next: query the marts, e.g.",
        '  .venv/bin/coprod query "select * from mart_measures limit 5"',
        "  make ui   # lineage, checks and run history in the Dagster UI",
        f"  quarantined files and their reasons: {settings.quarantine_dir}",
    ]
    return "\n".join(lines)


def _file_statuses(settings: Settings) -> list[str]:
    """The current version of every file and its outcome, from the warehouse."""
    from pipelines.warehouse import connect, read_table, table_exists

    lines: list[str] = []
    if settings.warehouse.exists():
        with connect(settings.warehouse, read_only=True) as con:
            if table_exists(con, "ingest.files"):
                files = read_table(
                    con,
                    """
                    select file_name, status, responses_accepted, responses_rejected, reason
                    from ingest.files
                    qualify row_number() over (partition by file_name order by seen_at desc) = 1
                    order by file_name""",
                )
                lines.append(f"Files ({files.height}):")
                for f in files.iter_rows(named=True):
                    detail = (
                        f"{f['responses_accepted']} responses accepted, "
                        f"{f['responses_rejected']} rejected"
                        if f["status"] == "ingested"
                        else f["reason"]
                    )
                    lines.append(f"  {f['status']:<12} {f['file_name']}: {detail}")
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings()
    print(status_report(settings))
    if args.history and settings.warehouse.exists():
        import duckdb

        from pipelines.warehouse import connect, read_table

        try:
            with connect(settings.warehouse, read_only=True) as con:
                history = read_table(
                    con,
                    """
                    select file_name, seen_at, file_sha256, status, responses_accepted, reason
                    from ingest.files order by file_name, seen_at""",
                )
        except duckdb.IOException:
            history = None
            print("The history is shown once the run writing the warehouse ends.")
        if history is not None:
            print("History of every export (each version by sha256):")
            for row in history.iter_rows(named=True):
                print(
                    f"  {row['file_name']:<44} {row['seen_at']:%Y-%m-%d %H:%M} "
                    f"{row['file_sha256'][:12]} {row['status']:<12} "
                    f"{row['responses_accepted']} accepted {row['reason'] or ''}"
                )
    if args.json:
        from pipelines.publication import current_manifest

        print(json.dumps(current_manifest(settings.marts_dir), indent=2))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    settings = load_settings()
    report = settings.marts_dir / "reports" / f"{args.organisation}.html"
    if not report.exists():
        known = sorted(p.stem for p in (settings.marts_dir / "reports").glob("*.html"))
        print(
            f"No published report for {args.organisation!r}. Published reports: "
            f"{', '.join(known) or 'none yet (run coprod run)'}.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    print(report)
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    """Analysts' SQL over the Parquet marts, never the warehouse (no lock needed)."""
    import duckdb

    from pipelines.publication import PUBLISHED_MARTS

    settings = load_settings()
    con = duckdb.connect()
    for mart in PUBLISHED_MARTS:
        path = settings.marts_dir / f"{mart}.parquet"
        if path.exists():
            con.execute(f"create view {mart} as select * from read_parquet('{path}')")
    try:
        relation = con.sql(args.sql)
    except duckdb.Error as error:
        print(f"Query failed: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if relation is None:
        return EXIT_OK
    frame = relation.pl()
    if args.csv:
        print(frame.write_csv(), end="")
    else:
        import polars as pl

        with pl.Config(tbl_rows=args.limit, tbl_cols=-1, fmt_str_lengths=60):
            print(frame)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coprod", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole pipeline on the inbox")
    run.add_argument("--force", action="store_true", help="run even when nothing changed")
    run.add_argument(
        "--reprocess",
        nargs="+",
        metavar="FILE",
        default=[],
        help="read these inbox files again (backfill one export alone)",
    )
    run.set_defaults(handler=cmd_run)
    status = commands.add_parser("status", help="what was ingested and published")
    status.add_argument("--json", action="store_true", help="also print the publication manifest")
    status.add_argument(
        "--history", action="store_true", help="every version of every export, oldest first"
    )
    status.set_defaults(handler=cmd_status)
    report = commands.add_parser("report", help="path of an organisation's HTML report")
    report.add_argument("organisation", help="organisation id, as in data/sources.yml")
    report.set_defaults(handler=cmd_report)
    query = commands.add_parser("query", help="SQL over the published Parquet marts")
    query.add_argument("sql", help='e.g. "select * from mart_measures limit 5"')
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    query.add_argument("--limit", type=int, default=40, help="rows shown in the table")
    query.set_defaults(handler=cmd_query)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
