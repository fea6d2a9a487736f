"""Dagster assets for the first half of the lineage: exports in, validated responses out."""

import datetime as dt

import dagster as dg
from pydantic import Field

from pipelines.defs.jobs import TRANSIENT_RETRY, retry_transient_errors_only
from pipelines.defs.resources import Warehouse
from pipelines.file_state import record_intake
from pipelines.hash_key import adopt_hash_key
from pipelines.ingest.intake import (
    FileOutcome,
    append_to_log,
    describe,
    ingest_inbox,
    input_fingerprint,
)
from pipelines.ingest.validation import validate_new_files
from pipelines.progress import PROGRESS_PREFIX
from pipelines.reference import load_reference
from pipelines.registry import load_registry
from pipelines.spreadsheet import write_csv_for_excel
from pipelines.warehouse import read_table, replace_table

VALIDATED_TABLES = {
    "responses": "One row per accepted response of the current version of each file. Each file "
    "version is checked by pandera once, when it is new; these are views over ingest.* less "
    "what the checks set aside.",
    "answers": "One row per chosen answer option (multi-select questions give several rows).",
    "open_answers": "Redacted free-text answers: warehouse only, never published.",
    "rejected_rows": "Responses and answers set aside at read or validation, with the reason.",
}


def _outcome_table(outcomes: list[FileOutcome]) -> str:
    lines = [
        "| file | sha256 | status | accepted | rejected | reason |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        reason = (o.reason or "").replace("|", "/").replace("\n", " ")
        lines.append(
            f"| {o.file_name} | {o.file_sha256[:12]} | {o.status} | "
            f"{o.responses_accepted} | {o.responses_rejected} | {reason} |"
        )
    return "\n".join(lines)


class IngestConfig(dg.Config):
    reprocess: list[str] = Field(
        default=[],
        description="File names to read again even if their bytes were read before "
        "(to backfill one export alone); the others are left as they are.",
    )
    rotate_key: bool = Field(
        default=False,
        description="Re-key every file with the current COPROD_HASH_KEY although the warehouse "
        "was built with another key (coprod run --rotate-key); without it such a run stops.",
    )


@dg.asset(
    key=["ingest", "survey_exports"],
    group_name="ingest",
    kinds={"python", "duckdb"},
    retry_policy=TRANSIENT_RETRY,
    check_specs=[
        dg.AssetCheckSpec(
            "no_file_set_aside",
            asset=["ingest", "survey_exports"],
            description="No registered file of the inbox was quarantined, and every file could "
            "be opened and copied. A warning: the run goes on and publishes without them.",
        )
    ],
    description=(
        "Every file in the inbox, archived by sha256 and read with the survey tool's layout "
        "(survey_tools.yml) and the crosswalk (ref_instrument_columns.csv). Personal columns "
        "are never read; identifiers become keyed hashes; free text is redacted. Unregistered "
        "files are held and unreadable ones quarantined with a reason; the others go on."
    ),
)
@retry_transient_errors_only
def survey_exports(
    context: dg.AssetExecutionContext, config: IngestConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = warehouse.settings
    if settings.uses_development_key:
        context.log.warning(
            "COPROD_HASH_KEY is not set: using the public development key. "
            "Fine for the bundled samples; set a secret key for real data."
        )
    reference, registry = load_reference(), load_registry(settings.registry_file)
    with warehouse.connect() as con:
        adopt_hash_key(con, settings.hash_key, rotate=config.rotate_key)
        outcomes = ingest_inbox(
            con,
            settings,
            reference,
            registry,
            reprocess=frozenset(config.reprocess),
            on_progress=lambda done, total: context.log.info(
                f"{PROGRESS_PREFIX}{done} of {total} new file(s) read"
            ),
        )
        record_intake(con, input_fingerprint(settings, [o.file_sha256 for o in outcomes]))
    # One event per file that changed (the run log is an event store, not a file listing);
    # every file, unchanged ones included, is in the metadata table and data/logs/ingest.log.
    for outcome in outcomes:
        if outcome.status != "unchanged":
            context.log.info(describe(outcome))
    context.log.info(f"{sum(o.status == 'unchanged' for o in outcomes)} file(s) unchanged.")
    append_to_log(settings.data_dir / "logs" / "ingest.log", outcomes, dt.datetime.now(dt.UTC))
    counts = {
        s: sum(o.status == s for o in outcomes)
        for s in ("ingested", "unchanged", "held", "quarantined")
    }
    set_aside = [o for o in outcomes if o.set_aside]
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="no_file_set_aside",
                passed=not set_aside,
                severity=dg.AssetCheckSeverity.WARN,
                description=" ".join(f"{o.file_name}: {o.reason}" for o in set_aside) or None,
                metadata={"files_set_aside": [o.file_name for o in set_aside]},
            )
        ],
        metadata={
            "files": dg.MetadataValue.md(_outcome_table(outcomes)),
            **{f"files_{status}": n for status, n in counts.items()},
            "responses_accepted_new": sum(
                o.responses_accepted for o in outcomes if o.status == "ingested"
            ),
            # Local times in the hour skipped (read forward) or repeated (read as the earlier
            # instant) when the clocks change: kept, and counted here.
            "times_at_clock_change_new": sum(
                o.times_at_clock_change for o in outcomes if o.status == "ingested"
            ),
            "archive": dg.MetadataValue.path(str(settings.archive_dir)),
            "quarantine": dg.MetadataValue.path(str(settings.quarantine_dir)),
            "outcomes_json": dg.MetadataValue.json(
                [
                    {
                        "file": o.file_name,
                        "sha256": o.file_sha256,
                        "status": o.status,
                        "reason": o.reason,
                    }
                    for o in outcomes
                ]
            ),
        },
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["registry", "organisations"],
            group_name="reference",
            kinds={"yaml", "duckdb"},
            description="Organisations declared in data/sources.yml.",
        ),
        dg.AssetSpec(
            ["registry", "services"],
            group_name="reference",
            kinds={"yaml", "duckdb"},
            description="Services (with their aliases resolved at ingest) from data/sources.yml.",
        ),
    ],
)
def registry_tables(context: dg.AssetExecutionContext, warehouse: Warehouse):
    settings = warehouse.settings
    registry = load_registry(settings.registry_file)
    with warehouse.connect() as con:
        replace_table(con, "registry.organisations", registry.organisations)
        replace_table(con, "registry.services", registry.services)
    yield dg.MaterializeResult(
        asset_key=["registry", "organisations"],
        metadata={
            "dagster/row_count": registry.organisations.height,
            "source": dg.MetadataValue.path(str(settings.registry_file)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["registry", "services"], metadata={"dagster/row_count": registry.services.height}
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["validated", table],
            group_name="validation",
            kinds={"pandera", "duckdb"},
            description=description,
            deps=[
                survey_exports.key,
                dg.AssetKey(["registry", "organisations"]),
                dg.AssetKey(["registry", "services"]),
            ],
        )
        for table, description in VALIDATED_TABLES.items()
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "pandera_schema",
            asset=["validated", "responses"],
            description="Every response satisfies the pandera responses schema.",
        ),
        dg.AssetCheckSpec(
            "pandera_schema",
            asset=["validated", "answers"],
            description="Every answer is a declared option of its question.",
        ),
    ],
)
def validated_tables(context: dg.AssetExecutionContext, warehouse: Warehouse):
    settings = warehouse.settings
    reference, registry = load_reference(), load_registry(settings.registry_file)
    with warehouse.connect() as con:
        summary = validate_new_files(con, reference, registry)
        # Counts from the file table, not the views: nothing here reads the history.
        responses, files = con.execute(
            "select coalesce(sum(responses_accepted), 0), count(*) from ingest.current_files"
        ).fetchall()[0]
        reasons = con.execute(
            "select reason, count(*) from validated.rejected_rows "
            "group by 1 order by 2 desc limit 20"
        ).fetchall()
    for table in VALIDATED_TABLES:
        metadata = {"files_validated_this_run": summary.files_validated, "current_files": files}
        if table == "responses":
            metadata["responses_read_from_current_files"] = int(responses)
        if table == "rejected_rows":
            metadata["top_reasons"] = dg.MetadataValue.md(
                "\n".join(f"- {n} x {reason}" for reason, n in reasons) or "none"
            )
        yield dg.MaterializeResult(asset_key=["validated", table], metadata=metadata)
    for table, own in summary.failures_by_table.items():
        yield dg.AssetCheckResult(
            asset_key=["validated", table],
            check_name="pandera_schema",
            passed=not own,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_checked_this_run": summary.rows_checked,
                "rows_rejected": sum(own.values()),
                "failure_cases": dg.MetadataValue.json(own),
            },
        )


@dg.asset(
    key=["review", "rejected_rows_csv"],
    group_name="validation",
    kinds={"csv"},
    deps=[dg.AssetKey(["validated", "rejected_rows"])],
    description=(
        "data/review/rejected_rows.csv and data/review/files.csv: what was held, rejected or "
        "quarantined and why, for a person to review in Excel (formula injection neutralised)."
    ),
)
def review_lists(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    settings = warehouse.settings
    with warehouse.connect(read_only=True) as con:
        rejected = read_table(
            con,
            """
            select f.file_name, r.row_number, r.stage, r.source_column, r.value_redacted, r.reason
            from validated.rejected_rows r join ingest.files f using (file_sha256)
            order by f.file_name, r.row_number""",
        )
        files = read_table(
            con,
            """
            select file_name, status, reason, seen_at, file_sha256, responses_accepted,
                   responses_rejected, answers_rejected, rows_excluded
            from ingest.files order by file_name, seen_at""",
        )
    review = settings.data_dir / "review"
    write_csv_for_excel(rejected, review / "rejected_rows.csv")
    write_csv_for_excel(files, review / "files.csv")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rejected.height,
            "rejected_rows_csv": dg.MetadataValue.path(str(review / "rejected_rows.csv")),
            "files_csv": dg.MetadataValue.path(str(review / "files.csv")),
        }
    )
