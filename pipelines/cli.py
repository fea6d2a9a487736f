"""The `coprod` command: run the pipeline and see what it did.

    coprod check         check the registry, the survey tools' layouts and the reference data
    coprod run           ingest, validate, model, gate and publish (what `make run` calls)
    coprod status        what was ingested, held, quarantined and published, and when
    coprod report ORG    where the organisation's HTML report is (it is published with the marts)
    coprod query "SQL"   run SQL over the published marts (each mart is a view of its name)

Exit codes a scheduler can rely on: 0 success (nothing new counts as success), 1 the run failed
or publication was blocked by a failed check, 2 the configuration is wrong (nothing was run),
3 a query failed or would write (coprod query), 4 published, but a registered file was
quarantined or a file could not be read (a warning).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from pipelines.dbt_manifest import ensure_dbt_manifest
from pipelines.run_lock import warehouse_lock
from pipelines.settings import (
    REPO_ROOT,
    Settings,
    SettingsError,
    load_settings,
)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_QUERY, EXIT_WARNING = 0, 1, 2, 3, 4
DAGSTER_YAML = """\
# Written by `coprod run`. Telemetry off; one run at a time, because the DuckDB warehouse allows a
# single writer. Run monitoring (the daemon of `make ui`) fails a run stuck starting for 3 minutes
# and cancels one stuck cancelling; a run whose process died once started is marked failed by
# the next `coprod run` (pipelines/stale_runs.py), which the local run launcher cannot tell. No
# max_runtime_seconds: a backfill may take hours, and a run of `coprod run` over the limit would
# be marked failed while still running, as it has no run launcher to terminate it.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_resume_run_attempts: 0  # the local run launcher cannot resume a run
  poll_interval_seconds: 60
"""
# What earlier versions wrote: replaced by DAGSTER_YAML; a file edited by hand is left alone.
EARLIER_DAGSTER_YAMLS = (
    """\
# Written by `coprod run` when missing. Telemetry off; one run at a time, because the DuckDB
# warehouse allows a single writer.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
""",
)


def dagster_home() -> Path:
    """DAGSTER_HOME must be an absolute, existing folder; default: .dagster_home in the repo."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() in EARLIER_DAGSTER_YAMLS:
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def configuration_is_right(settings: Settings) -> bool:
    """Registry, tool layouts and reference data checked; every problem printed, one a line."""
    from pipelines.configuration import ConfigurationError, check_configuration

    try:
        checked = check_configuration(settings)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        print(
            f"{len(error.problems)} configuration problem(s): nothing was run. Fix them and "
            "check again with `coprod check`.",
            file=sys.stderr,
        )
        return False
    print(f"Configuration OK: {checked.summary()}.")
    return True


def cmd_check(args: argparse.Namespace) -> int:
    return EXIT_OK if configuration_is_right(load_settings()) else EXIT_CONFIG


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.file_state import known_hashes
    from pipelines.hash_key import HashKeyChanged, check_warehouse_key
    from pipelines.ingest.intake import input_fingerprint
    from pipelines.publication import current_manifest
    from pipelines.warehouse import connect, table_exists

    settings = load_settings()
    if not configuration_is_right(settings):  # before the lock: a wrong file changes nothing
        return EXIT_CONFIG
    waiting = "Another run is writing this warehouse; waiting for it to finish..."
    with warehouse_lock(settings.data_dir, on_wait=lambda: print(waiting, flush=True)):
        if not args.rotate_key:
            try:  # before any file is read
                check_warehouse_key(settings.warehouse, settings.hash_key)
            except HashKeyChanged as error:
                print(f"Configuration error: {error}", file=sys.stderr)
                return EXIT_CONFIG
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
            and not args.rotate_key
            and published
            and published.get("input_fingerprint") == fingerprint
        ):
            print(
                f"Nothing new since publication {published['publication_id']}: "
                "no file, registry, reference or model change. Marts left as they are."
            )
            print(status_report(settings))
            return EXIT_OK
        return _execute(settings, reprocess=args.reprocess, rotate_key=args.rotate_key)


def _execute(
    settings: Settings, reprocess: list[str] | None = None, rotate_key: bool = False
) -> int:
    dagster_home()
    ensure_dbt_manifest()
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.progress import phase_lines_to, phase_timings
    from pipelines.publication import current_manifest
    from pipelines.stale_runs import RUN_PID_TAG, fail_dead_runs

    started = time.monotonic()
    print("Running the pipeline: ingest -> validate -> dbt build -> Great Expectations -> publish")
    ingest_config = {"reprocess": reprocess or [], "rotate_key": rotate_key}
    run_log = settings.data_dir / "logs" / "last-run.log"
    run_log.parent.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.get() as instance:
        # The warehouse lock is held: a run left unfinished is either dead or waiting for it.
        for run_id in fail_dead_runs(instance):
            print(f"Run {run_id} was left unfinished by a process that died: marked failed.")
        sys.stdout.flush()
        # One line per phase on the terminal (pipelines/progress.py); dbt's own output, which
        # dagster-dbt echoes to stdout, goes to the run's log file; warnings still show.
        with (
            run_log.open("w", encoding="utf-8") as log,
            phase_lines_to(sys.stdout),
            contextlib.redirect_stdout(log),
        ):
            result = defs.resolve_job_def("coprod_full_run").execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={
                    "loggers": {
                        "console": {"config": {"log_level": "WARNING"}},
                        "phases": {},
                    },
                    "ops": {"ingest__survey_exports": {"config": ingest_config}},
                },
                tags={RUN_PID_TAG: str(os.getpid())},
            )
    failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity.value == "ERROR"
    ]
    print(status_report(settings))
    timings = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phase_timings(result))
    print(f"Run {result.run_id} took {time.monotonic() - started:.0f} s ({timings}).")
    print(f"Its full log (dbt's output included): {run_log}")
    if rotate_key:
        _report_rekeyed(result, settings)
    if not result.success or failed_checks:
        print(
            "The run did not publish. Failed checks: "
            f"{', '.join(failed_checks) or 'none'}; see the run in the Dagster UI (make ui).",
            file=sys.stderr,
        )
        for line in _failed_check_details(result):
            print(f"  {line}", file=sys.stderr)
        published = current_manifest(settings.marts_dir)
        if published:
            print(
                f"Analysts still read the previous publication, {published['publication_id']}, "
                "unchanged.",
                file=sys.stderr,
            )
        return EXIT_FAILED
    set_aside = [
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "no_file_set_aside" and not e.passed
    ]  # fmt: skip
    if set_aside:
        files = set_aside[0].metadata["files_set_aside"].value
        print(
            f"Warning: published without {len(files)} file(s) that were quarantined or could "
            f"not be read: {', '.join(files)}. Their reasons are above and in "
            f"{settings.quarantine_dir}.",
            file=sys.stderr,
        )
        return EXIT_WARNING
    return EXIT_OK


def _failed_check_details(result) -> list[str]:
    """Each failed blocking check: its reason, or each failed expectation and what was seen."""
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed or evaluation.severity.value != "ERROR":
            continue
        if evaluation.description:
            lines.append(f"{evaluation.check_name}: {evaluation.description}")
        failures = evaluation.metadata.get("failures")
        for failure in failures.value if failures is not None else []:
            seen = failure.get("observed_value")
            if seen is None:
                seen = f"{failure.get('unexpected_count')} unexpected value(s)"
            column = f" on {failure['column']}" if failure.get("column") else ""
            lines.append(
                f"{evaluation.check_name}: {failure['expectation']}{column} failed (observed: "
                f"{seen})"
            )
    return lines


def _report_rekeyed(result, settings: Settings) -> None:
    from pipelines.hash_key import key_fingerprint

    for materialization in result.asset_materializations_for_node("ingest__survey_exports"):
        print(
            f"Re-keyed {materialization.metadata['files_ingested'].value} file(s) with "
            f"COPROD_HASH_KEY (fingerprint {key_fingerprint(settings.hash_key)[:8]}…), "
            "now the key this warehouse is built with."
        )


def status_report(settings: Settings) -> str:
    """What was read and what is published; during a run, what is published."""
    from pipelines.publication import current_manifest

    lines = []
    files = file_statuses(settings)
    if files is None:  # DuckDB has one writer, and a run holds the file
        lines.append(
            "A run is writing the warehouse now: file statuses are shown once it ends. "
            "The published marts below are what analysts read meanwhile."
        )
    elif files:
        lines.append(f"Files ({len(files)}):")
        for f in files:
            detail = (
                f"{f['responses_accepted']} responses accepted, {f['responses_rejected']} rejected"
                if f["status"] == "ingested"
                else f["reason"]
            )
            lines.append(f"  {f['status']:<12} {f['file_name']}: {detail}")
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


def file_statuses(settings: Settings) -> list[dict] | None:
    """The last outcome of every file in the inbox (as the last run found it) and of every
    ingested one; a file held or quarantined leaves the list when it leaves the inbox. None
    while a run holds the warehouse."""
    import duckdb

    from pipelines.warehouse import connect, read_table, table_exists

    if not settings.warehouse.exists():
        return []
    try:
        with connect(settings.warehouse, read_only=True) as con:
            if not table_exists(con, "ingest.latest_outcomes"):
                return []
            return read_table(
                con,
                """
                select file_name, status, responses_accepted, responses_rejected, reason,
                       file_sha256
                from ingest.latest_outcomes o
                where status = 'ingested'
                   or exists (select 1 from ingest.inbox_index i where i.path = o.inbox_path)
                union all
                -- Inbox files holding the same bytes as a file recorded under another name.
                select parse_filename(i.path), 'unchanged', 0, 0,
                       'same content as ' || f.file_name || ': counted once, under that name',
                       f.file_sha256
                from ingest.inbox_index i join ingest.files f using (file_sha256)
                where parse_filename(i.path) <> f.file_name
                order by file_name""",
            ).to_dicts()
    except duckdb.IOException:
        return None


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.json:  # JSON only, for scripts: the files and the publication
        from pipelines.publication import current_manifest

        files = file_statuses(settings)
        document = {
            "files": files,
            "run_in_progress": files is None,
            "publication": current_manifest(settings.marts_dir),
        }
        print(json.dumps(document, indent=2, default=str))
        return EXIT_OK
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
    """Analysts' SQL over the Parquet marts, never the warehouse (no lock needed). Only
    statements that read are run: a COPY, CREATE, INSERT or ATTACH is refused (exit 3)."""
    import shutil

    import duckdb

    from pipelines.publication import PUBLISHED_MARTS

    settings = load_settings()
    con = duckdb.connect()
    for mart in PUBLISHED_MARTS:
        path = settings.marts_dir / f"{mart}.parquet"
        if path.exists():
            con.execute(f"create view {mart} as select * from read_parquet('{path}')")
    try:
        statements = con.extract_statements(args.sql)
        writing = [
            s.type.name
            for s in statements
            if s.type not in {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
        ]
        if writing or len(statements) != 1:
            print(
                "Query refused: coprod query runs one SELECT over the published marts "
                f"(found {', '.join(writing) or f'{len(statements)} statements'}).",
                file=sys.stderr,
            )
            return EXIT_QUERY
        frame = con.sql(args.sql).pl()
    except duckdb.Error as error:
        print(f"Query failed: {error}", file=sys.stderr)
        return EXIT_QUERY
    if args.csv:
        print(frame.write_csv(), end="")
    else:
        print(fitting_table(frame, shutil.get_terminal_size((120, 40)).columns, args.limit))
    return EXIT_OK


def fitting_table(frame, width: int, rows: int) -> str:
    """The frame as a table no wider than the terminal, cells never wrapped: as many columns as
    fit, the middle ones elided (…) when not all do (`--csv` prints them all)."""
    import polars as pl

    table = ""
    for columns in range(max(frame.width, 1), 0, -1):
        with pl.Config(tbl_rows=rows, tbl_cols=columns, fmt_str_lengths=40, tbl_width_chars=10_000):
            table = str(frame)
        if max(len(line) for line in table.splitlines()) <= width:
            break
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coprod", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check the configuration files, run nothing")
    check.set_defaults(handler=cmd_check)
    run = commands.add_parser("run", help="run the whole pipeline on the inbox")
    run.add_argument("--force", action="store_true", help="run even when nothing changed")
    run.add_argument(
        "--reprocess",
        nargs="+",
        metavar="FILE",
        default=[],
        help="read these inbox files again (backfill one export alone)",
    )
    run.add_argument(
        "--rotate-key",
        action="store_true",
        help="re-key every file with COPROD_HASH_KEY although the warehouse has another key",
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
    try:
        return args.handler(args)
    except SettingsError as error:  # raised by load_settings, before anything is run
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
