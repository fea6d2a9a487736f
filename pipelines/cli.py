"""The `coprod` command: run the pipeline and see what it did.

    coprod run       ingest, validate, model, gate and publish (what `make run` calls)
    coprod status    what was ingested, held, quarantined and published, and when

Exit codes a scheduler can rely on: 0 success (nothing new counts as success), 1 the run failed
or publication was blocked by a failed check, 2 the configuration is wrong.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    sources = [p for p in DBT_PROJECT_DIR.rglob("*")
               if p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.parts]
    if manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        check=True,
    )


@contextmanager
def single_writer(settings: Settings) -> Iterator[None]:
    """Serialise runs on one warehouse: a second run waits for the first to finish."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / ".coprod-run.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Another coprod run is writing this warehouse; waiting for it to finish...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.publication import current_manifest, input_fingerprint
    from pipelines.registry import RegistryError, load_registry

    settings = load_settings()
    try:
        load_registry(settings.registry_file)
    except RegistryError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    with single_writer(settings):
        fingerprint = input_fingerprint(settings)
        published = current_manifest(settings.marts_dir)
        if not args.force and published and published.get("input_fingerprint") == fingerprint:
            print(f"Nothing new since publication {published['publication_id']}: "
                  "no file, registry, reference or model change. Marts left as they are.")
            print(status_report(settings))
            return EXIT_OK
        return _execute(settings)


def _execute(settings: Settings) -> int:
    dagster_home()
    ensure_dbt_manifest()
    import dagster as dg

    from pipelines.definitions import defs

    started = time.monotonic()
    print("Running the pipeline: ingest -> validate -> dbt build -> Great Expectations -> publish")
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("coprod_full_run").execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity.value == "ERROR"
    ]
    print(status_report(settings))
    print(f"Run {result.run_id} took {time.monotonic() - started:.0f} s.")
    if not result.success or failed_checks:
        print("The run did not publish. Failed checks: "
              f"{', '.join(failed_checks) or 'none'}; see the run in the Dagster UI (make ui).",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def status_report(settings: Settings) -> str:
    from pipelines.publication import current_manifest
    from pipelines.warehouse import connect, read_table, table_exists

    lines = []
    if settings.warehouse.exists():
        with connect(settings.warehouse, read_only=True) as con:
            if table_exists(con, "ingest.files"):
                files = read_table(con, """
                    select file_name, status, responses_accepted, responses_rejected, reason
                    from ingest.files
                    qualify row_number() over (partition by file_name order by seen_at desc) = 1
                    order by file_name""")
                lines.append(f"Files ({files.height}):")
                for f in files.iter_rows(named=True):
                    detail = (f"{f['responses_accepted']} responses accepted, "
                              f"{f['responses_rejected']} rejected"
                              if f["status"] == "ingested" else f["reason"])
                    lines.append(f"  {f['status']:<12} {f['file_name']}: {detail}")
    manifest = current_manifest(settings.marts_dir)
    if manifest:
        lines.append(f"Published {manifest['publication_id']} at {manifest['published_at']} "
                     f"to {settings.marts_dir}:")
        for name, entry in manifest["marts"].items():
            lines.append(f"  {entry['file']:<34} {entry['rows']:>7,} rows")
    else:
        lines.append("Nothing published yet.")
    lines += [
        "Next: query the marts with DuckDB, e.g.",
        f"  duckdb -c \"select * from '{settings.marts_dir}/mart_measures.parquet' limit 5\"",
        "  make ui   # lineage, checks and run history in the Dagster UI",
        f"  quarantined files and their reasons: {settings.quarantine_dir}",
    ]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings()
    print(status_report(settings))
    if args.json:
        from pipelines.publication import current_manifest

        print(json.dumps(current_manifest(settings.marts_dir), indent=2))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coprod", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole pipeline on the inbox")
    run.add_argument("--force", action="store_true", help="run even when nothing changed")
    run.set_defaults(handler=cmd_run)
    status = commands.add_parser("status", help="what was ingested and published")
    status.add_argument("--json", action="store_true", help="also print the publication manifest")
    status.set_defaults(handler=cmd_status)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
