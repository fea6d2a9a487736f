"""Intake: every file in the inbox is archived, then read into the warehouse's ingest schema.

Per file the outcome is one of:
  ingested     read; its responses are in ingest.* (keyed by the file's sha256)
  unchanged    these exact bytes were ingested before under the same configuration: skipped
  held         no export entry in data/sources.yml matches its name: waiting for registration
  quarantined  it could not be read, or too many of its responses were rejected
A bad file never stops the others, and nothing is deleted from the inbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.archive import ArrivedFile, archive, arrived_files, quarantine
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.privacy import load_redaction_names
from pipelines.ingest.reader import ParsedExport, ReadContext, read_export
from pipelines.ingest.survey_tools import _TOOLS_FILE
from pipelines.reference import ReferenceData
from pipelines.registry import Registry
from pipelines.settings import REFERENCE_DIR, Settings
from pipelines.warehouse import read_table, table_exists

FILES_TABLE = "ingest.files"
PER_FILE_TABLES = ("ingest.responses", "ingest.answers", "ingest.open_answers", "ingest.rejected")
CODE_VERSION = "1"  # bump when the reader changes how a file is read: every file is read again


@dataclass
class FileOutcome:
    file_sha256: str
    file_name: str
    inbox_path: str
    archived_path: str
    size_bytes: int
    seen_at: dt.datetime
    status: str
    reason: str | None = None
    organisation_id: str | None = None
    wave: int | None = None
    tool: str | None = None
    instrument_id: str | None = None
    encoding: str | None = None
    rows_in_file: int = 0
    rows_excluded: str = "{}"
    responses_accepted: int = 0
    responses_rejected: int = 0
    answers_rejected: int = 0
    dropped_columns: str = ""
    missing_columns: str = ""
    config_fingerprint: str = ""


def config_fingerprint(settings: Settings) -> str:
    """Changes whenever something that decides how a file is read changes."""
    digest = hashlib.sha256(CODE_VERSION.encode())
    for path in [
        settings.registry_file,
        _TOOLS_FILE,
        settings.redaction_names_file,
        *sorted(REFERENCE_DIR.glob("*.csv")),
    ]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    digest.update(settings.hash_key)
    return digest.hexdigest()


def _previous(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not table_exists(con, FILES_TABLE):
        return {}
    rows = con.execute(f"select file_sha256, config_fingerprint from {FILES_TABLE}").fetchall()
    return dict(rows)


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ingest")
    con.execute(f"""
        create table if not exists {FILES_TABLE} (
            file_sha256 varchar primary key, file_name varchar, inbox_path varchar,
            archived_path varchar, size_bytes bigint, seen_at timestamptz, status varchar,
            reason varchar, organisation_id varchar, wave integer, tool varchar,
            instrument_id varchar, encoding varchar, rows_in_file integer, rows_excluded varchar,
            responses_accepted integer, responses_rejected integer, answers_rejected integer,
            dropped_columns varchar, missing_columns varchar, config_fingerprint varchar)
    """)
    con.execute("""
        create table if not exists ingest.responses (
            file_sha256 varchar, row_number bigint, response_key varchar, respondent_key varchar,
            submitted_at_utc timestamptz, source_timezone varchar, organisation_id varchar,
            service_id varchar, respondent_group varchar, completed_with_help boolean,
            staff_lived_experience boolean, wave integer, instrument_id varchar, tool varchar,
            answers_fingerprint varchar)
    """)
    con.execute("""
        create table if not exists ingest.answers (
            file_sha256 varchar, response_key varchar, question_id varchar,
            question_version integer, option_code varchar, coded_by varchar)
    """)
    con.execute("""
        create table if not exists ingest.open_answers (
            file_sha256 varchar, response_key varchar, question_id varchar,
            question_version integer, part varchar, text_redacted varchar)
    """)
    con.execute("""
        create table if not exists ingest.rejected (
            file_sha256 varchar, row_number bigint, response_key varchar, stage varchar,
            source_column varchar, value_redacted varchar, reason varchar)
    """)


def _store(
    con: duckdb.DuckDBPyConnection, outcome: FileOutcome, parsed: ParsedExport | None
) -> None:
    """Replace everything known about one file version in a single transaction."""
    con.execute("begin transaction")
    try:
        for table in (FILES_TABLE, *PER_FILE_TABLES):
            con.execute(f"delete from {table} where file_sha256 = ?", [outcome.file_sha256])
        record = pl.DataFrame([asdict(outcome)])
        con.register("_outcome", record.to_arrow())
        con.execute(f"insert into {FILES_TABLE} by name select * from _outcome")
        con.unregister("_outcome")
        if parsed is not None:
            frames = {
                "ingest.responses": parsed.responses,
                "ingest.answers": parsed.answers,
                "ingest.open_answers": parsed.open_answers,
                "ingest.rejected": parsed.rejected,
            }
            for table, frame in frames.items():
                frame = frame.with_columns(file_sha256=pl.lit(outcome.file_sha256))
                con.register("_rows", frame.to_arrow())
                con.execute(f"insert into {table} by name select * from _rows")
                con.unregister("_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def ingest_inbox(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    reference: ReferenceData,
    registry: Registry,
    now: dt.datetime | None = None,
    reprocess: frozenset[str] = frozenset(),
) -> list[FileOutcome]:
    """Read every inbox file not yet read under this configuration, and those named in
    `reprocess` again (to backfill one export alone after a fix)."""
    _ensure_tables(con)
    now = now or dt.datetime.now(dt.UTC)
    fingerprint = config_fingerprint(settings)
    previous = _previous(con)
    ctx = ReadContext(
        reference,
        registry,
        settings.hash_key,
        load_redaction_names(settings.redaction_names_file),
        now,
    )
    outcomes = []
    for arrived in arrived_files(settings.inbox_dirs):
        if previous.get(arrived.sha256) == fingerprint and arrived.path.name not in reprocess:
            outcomes.append(_unchanged(con, arrived))
            continue
        archived = archive(arrived, settings.archive_dir)
        outcome, parsed = _read_one(arrived, archived, ctx, settings, now, fingerprint)
        _store(con, outcome, parsed)
        outcomes.append(outcome)
    return outcomes


def _unchanged(con: duckdb.DuckDBPyConnection, arrived: ArrivedFile) -> FileOutcome:
    row = read_table(con, f"select * from {FILES_TABLE} where file_sha256 = ?", [arrived.sha256])
    outcome = FileOutcome(**row.row(0, named=True))
    outcome.status, outcome.reason = (
        "unchanged",
        f"already {outcome.status}: {outcome.reason or 'ok'}",
    )
    return outcome


def _read_one(
    arrived: ArrivedFile,
    archived: Path,
    ctx: ReadContext,
    settings: Settings,
    now: dt.datetime,
    fingerprint: str,
) -> tuple[FileOutcome, ParsedExport | None]:
    outcome = FileOutcome(
        file_sha256=arrived.sha256,
        file_name=arrived.path.name,
        inbox_path=str(arrived.path),
        archived_path=str(archived),
        size_bytes=arrived.size,
        seen_at=now,
        status="ingested",
        config_fingerprint=fingerprint,
    )
    matches = ctx.registry.registrations_for(arrived.path.name)
    if len(matches) != 1:
        outcome.status = "held"
        outcome.reason = (
            f"No export in {settings.registry_file.name} matches the file name "
            f"{arrived.path.name!r}: register it (organisation, wave, tool, instrument) and run "
            "again."
            if not matches
            else f"{arrived.path.name!r} matches {len(matches)} export entries in "
            f"{settings.registry_file.name} ({', '.join(m.pattern for m in matches)}); make the "
            "file patterns distinct."
        )
        return outcome, None
    registration = matches[0]
    outcome.organisation_id = registration.organisation_id
    outcome.wave = registration.wave
    outcome.tool = registration.tool
    outcome.instrument_id = registration.instrument_id
    try:
        parsed = read_export(arrived.path, registration, ctx)
    except UnreadableExport as error:
        outcome.status, outcome.reason = "quarantined", str(error)
        quarantine(arrived, settings.quarantine_dir, str(error))
        return outcome, None
    rejected_responses = parsed.rejected.filter(pl.col("source_column").is_null()).height
    considered = parsed.responses.height + rejected_responses
    outcome.encoding = parsed.encoding
    outcome.rows_in_file = parsed.rows_in_file
    outcome.rows_excluded = json.dumps(parsed.excluded)
    outcome.responses_accepted = parsed.responses.height
    outcome.responses_rejected = rejected_responses
    outcome.answers_rejected = parsed.rejected.height - rejected_responses
    outcome.dropped_columns = ", ".join(parsed.dropped_columns)
    outcome.missing_columns = ", ".join(parsed.missing_columns)
    share = rejected_responses / considered if considered else 1.0
    if considered == 0 or share > settings.max_rejected_share:
        outcome.status = "quarantined"
        outcome.reason = (
            f"{rejected_responses} of {considered} responses ({share:.0%}) were rejected, above "
            f"the {settings.max_rejected_share:.0%} limit; the first reason: "
            f"{parsed.rejected['reason'][0] if parsed.rejected.height else 'no responses'}"
        )
        quarantine(arrived, settings.quarantine_dir, outcome.reason)
        return outcome, None
    return outcome, parsed


def describe(outcome: FileOutcome) -> str:
    """One greppable line per file: key=value pairs, the reason last."""
    line = (
        f"file={outcome.file_name} sha256={outcome.file_sha256[:12]} status={outcome.status} "
        f"accepted={outcome.responses_accepted} rejected={outcome.responses_rejected}"
    )
    if outcome.status in {"held", "quarantined"}:
        line += f" reason={outcome.reason}"
    return line


def append_to_log(log_file: Path, outcomes: list[FileOutcome], now: dt.datetime) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a", encoding="utf-8") as handle:
        for outcome in outcomes:
            handle.write(f"{now:%Y-%m-%dT%H:%M:%SZ} {describe(outcome)}\n")
