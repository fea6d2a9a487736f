"""What the warehouse knows about every file: one module owns it, for ingest, validation, dbt
and publication alike.

  ingest.inbox_index       path, size and modification time of every inbox file with its
                           sha256, so an unchanged file is never hashed (read) again
  ingest.files             one row per file version (sha256): status, the registration it was
                           read with, and the fingerprint of everything that decided how it was
                           read (read_fingerprint)
  ingest.responses, ingest.answers, ingest.open_answers, ingest.rejected
                           what the reader made of each version, keyed by file_sha256; written
                           once, never rewritten unless that version is read again
  ingest.coding_sheets     one row per coding sheet (by sha256) read from data/coding/: accepted
                           or refused, and why
  ingest.analyst_codes     the codes analysts gave open answers in accepted coding sheets, keyed
                           by organisation, wave, response key and question, with the hash key's
                           fingerprint they were made under and the answer's file and row (so a
                           rotated key can re-key them)
  validated.*              views: the current version of every file, less what validation set
                           aside (validated.validation_rejects). Rows are kept once, in ingest.*
                           validated.analyst_codes: the analyst codes made under the current key
  validated.modelled_files the current files as of the last successful dbt build, and
  validated.model_state    the fingerprint of the dbt project that built them
  validated.modelled_codes the analyst codes as of the last successful dbt build
  validated.partitions_to_build
                           the (organisation, wave) partitions whose current files or analyst
                           codes differ from the modelled ones: all that the incremental dbt
                           models recompute
  validated.build_batch, validated.partitions_in_build
                           what the running dbt build recomputes: every partition to build, or
                           one batch of them when they hold too many responses for one build

The one rule for the current version of a file (the `ingest.current_files` view): among the
versions of a file name that were ingested, the newest seen; ties by sha256. The last outcome of
a file name, ingested or not, is `ingest.latest_outcomes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

CURRENT_FILES = "ingest.current_files"
LATEST_OUTCOMES = "ingest.latest_outcomes"
PARTITIONS_TO_BUILD = "validated.partitions_to_build"
ANALYST_CODES = "ingest.analyst_codes"
CODING_SHEETS = "ingest.coding_sheets"
BUILD_BATCH = "validated.build_batch"

_TABLES = """
create schema if not exists ingest;
create schema if not exists validated;
create table if not exists ingest.inbox_index (
    path varchar primary key, size_bytes bigint, mtime_ns bigint, file_sha256 varchar);
create table if not exists ingest.files (
    file_sha256 varchar primary key, file_name varchar, inbox_path varchar,
    archived_path varchar, size_bytes bigint, seen_at timestamptz, status varchar,
    reason varchar, organisation_id varchar, wave integer, tool varchar,
    instrument_id varchar, encoding varchar, rows_in_file integer, rows_excluded varchar,
    responses_accepted integer, responses_rejected integer, answers_rejected integer,
    dropped_columns varchar, missing_columns varchar, read_fingerprint varchar,
    validated_fingerprint varchar, times_at_clock_change integer, set_aside boolean);
create table if not exists ingest.responses (
    file_sha256 varchar, row_number bigint, response_key varchar, respondent_key varchar,
    submitted_at_utc timestamptz, source_timezone varchar, organisation_id varchar,
    service_id varchar, respondent_group varchar, completed_with_help boolean,
    staff_lived_experience boolean, wave integer, instrument_id varchar, tool varchar,
    answers_fingerprint varchar, free_text_fingerprint varchar);
create table if not exists ingest.answers (
    file_sha256 varchar, organisation_id varchar, wave integer, response_key varchar,
    question_id varchar, question_version integer, option_code varchar, coded_by varchar);
create table if not exists ingest.open_answers (
    file_sha256 varchar, organisation_id varchar, wave integer, response_key varchar,
    question_id varchar, question_version integer, part varchar, text_redacted varchar);
create table if not exists ingest.rejected (
    file_sha256 varchar, row_number bigint, response_key varchar, stage varchar,
    source_column varchar, value_redacted varchar, reason varchar);
create table if not exists ingest.coding_sheets (
    sheet_sha256 varchar primary key, file_name varchar, seen_at timestamptz, status varchar,
    reason varchar, rows_read integer, codes_accepted integer);
create table if not exists ingest.analyst_codes (
    organisation_id varchar, wave integer, response_key varchar, question_id varchar,
    option_code varchar, key_fingerprint varchar, file_sha256 varchar, row_number bigint,
    sheet_sha256 varchar, coded_at timestamptz);
-- Written by pipelines/hash_key.py when ingest adopts a key; created here so that the view of
-- analyst codes can name it before the first ingest.
create table if not exists ingest.hash_key (fingerprint varchar, recorded_at timestamptz);
create table if not exists validated.modelled_codes (
    organisation_id varchar, wave integer, response_key varchar, question_id varchar,
    option_code varchar);
create table if not exists validated.validation_rejects (
    file_sha256 varchar, row_number bigint, response_key varchar, question_id varchar,
    option_code varchar, reason varchar);
create table if not exists validated.modelled_files (
    file_sha256 varchar, read_fingerprint varchar, organisation_id varchar, wave integer);
create table if not exists validated.model_state (model_fingerprint varchar);
create table if not exists validated.build_batch (organisation_id varchar, wave integer);
"""

_VIEWS = f"""
create or replace view {CURRENT_FILES} as
select * exclude (newest) from (
    select *, row_number() over (
        partition by file_name order by seen_at desc, file_sha256) as newest
    from ingest.files where status = 'ingested')
where newest = 1;

-- The last outcome of every file name, whatever it was (what `coprod status` lists): the
-- current version above is the newest *ingested* one, which a later quarantine leaves in place.
create or replace view {LATEST_OUTCOMES} as
select * from ingest.files
qualify row_number() over (partition by file_name order by seen_at desc, file_sha256) = 1;

create or replace view validated.responses as
select r.*, f.file_name, f.seen_at as file_seen_at
from ingest.responses r
join {CURRENT_FILES} f using (file_sha256)
anti join (select file_sha256, response_key from validated.validation_rejects
           where question_id is null) x using (file_sha256, response_key);

-- Answers of the responses above. Every answer row was written with its response, so "of a
-- validated response" is "of a current file, less the responses validation set aside": the
-- joins are with the small file and reject tables, never with the (large) responses.
create or replace view validated.answers as
select a.*
from ingest.answers a
semi join {CURRENT_FILES} f using (file_sha256)
anti join (select file_sha256, response_key from validated.validation_rejects
           where question_id is null) r using (file_sha256, response_key)
anti join (select file_sha256, response_key, question_id, option_code
           from validated.validation_rejects where question_id is not null) x
    using (file_sha256, response_key, question_id, option_code);

create or replace view validated.open_answers as
select o.*
from ingest.open_answers o
semi join {CURRENT_FILES} f using (file_sha256)
anti join (select file_sha256, response_key from validated.validation_rejects
           where question_id is null) r using (file_sha256, response_key);

create or replace view validated.rejected_rows as
select r.* from ingest.rejected r semi join {CURRENT_FILES} f using (file_sha256)
union all by name
select x.file_sha256, x.row_number, x.response_key, 'validate' as stage,
       x.question_id as source_column, null::varchar as value_redacted, x.reason
from validated.validation_rejects x semi join {CURRENT_FILES} f using (file_sha256);

-- Codes made under another key would match no answer: they wait to be re-keyed (analyst_codes).
create or replace view validated.analyst_codes as
select organisation_id, wave, response_key, question_id, option_code, sheet_sha256
from {ANALYST_CODES}
where key_fingerprint in (select fingerprint from ingest.hash_key);

-- A partition is rebuilt when its current files changed, or the analyst codes of its answers.
create or replace view {PARTITIONS_TO_BUILD} as
with current_files as (
    select file_sha256, read_fingerprint, organisation_id, wave from {CURRENT_FILES}),
changed as (
    (select * from current_files except select * from validated.modelled_files)
    union all
    (select * from validated.modelled_files except select * from current_files)),
current_codes as (
    select organisation_id, wave, response_key, question_id, option_code
    from validated.analyst_codes),
changed_codes as (
    (select * from current_codes except select * from validated.modelled_codes)
    union all
    (select * from validated.modelled_codes except select * from current_codes))
select distinct organisation_id, wave from changed
union
select distinct organisation_id, wave from changed_codes;

create or replace view validated.partitions_in_build as
select organisation_id, wave from {BUILD_BATCH}
union all
select organisation_id, wave from {PARTITIONS_TO_BUILD}
where not exists (select 1 from {BUILD_BATCH});
"""


def ensure_file_state(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables and views if missing (idempotent; every step may call it)."""
    _upgrade_earlier_layout(con)
    con.execute(_TABLES)
    con.execute(_VIEWS)


def _upgrade_earlier_layout(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse written by an earlier version: give ingest.files the per-file fingerprint
    columns (each file is then read once more, as its fingerprint is new), ingest.responses its
    free-text fingerprint, the answer tables their partition columns, and drop the validated
    tables that are views now. dbt rebuilds everything, its model state being unknown."""
    columns = _columns(con, "ingest", "files")
    if columns and "read_fingerprint" not in columns:
        con.execute("alter table ingest.files add column read_fingerprint varchar")
        con.execute("alter table ingest.files add column validated_fingerprint varchar")
    for column, kind in (("times_at_clock_change", "integer"), ("set_aside", "boolean")):
        if columns and column not in columns:
            con.execute(f"alter table ingest.files add column {column} {kind}")
    # Null until the file is read again, which the reader's new version makes every file be
    # (intake.READER_VERSION): until then its responses are never called anonymous repeats.
    responses = _columns(con, "ingest", "responses")
    if responses and "free_text_fingerprint" not in responses:
        con.execute("alter table ingest.responses add column free_text_fingerprint varchar")
    # Answers carry their partition since the dbt build reads them partition by partition.
    for table in ("answers", "open_answers"):
        existing = _columns(con, "ingest", table)
        if existing and "organisation_id" not in existing:
            con.execute(f"alter table ingest.{table} add column organisation_id varchar")
            con.execute(f"alter table ingest.{table} add column wave integer")
            con.execute(f"""
                update ingest.{table} as a set organisation_id = f.organisation_id, wave = f.wave
                from ingest.files as f where a.file_sha256 = f.file_sha256""")
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'validated' and table_type = 'BASE TABLE' "
        "and table_name in ('responses', 'answers', 'open_answers', 'rejected_rows')"
    ).fetchall()
    for (table,) in tables:
        con.execute(f"drop table validated.{table}")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {name for (name,) in rows}


@dataclass(frozen=True)
class KnownHash:
    """A file's sha256 as last computed, valid while its size and modification time hold."""

    size: int
    mtime_ns: int
    sha256: str


def known_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, KnownHash]:
    rows = con.execute("select path, size_bytes, mtime_ns, file_sha256 from ingest.inbox_index")
    return {path: KnownHash(size, mtime, sha) for path, size, mtime, sha in rows.fetchall()}


def remember_hashes(con: duckdb.DuckDBPyConnection, hashes: dict[str, KnownHash]) -> None:
    """Record what was hashed this run (the inbox as it is now: files that left are forgotten)."""
    frame = pl.DataFrame(
        {
            "path": list(hashes),
            "size_bytes": [h.size for h in hashes.values()],
            "mtime_ns": [h.mtime_ns for h in hashes.values()],
            "file_sha256": [h.sha256 for h in hashes.values()],
        },
        schema={
            "path": pl.String,
            "size_bytes": pl.Int64,
            "mtime_ns": pl.Int64,
            "file_sha256": pl.String,
        },
    )
    con.register("_arrived", frame.to_arrow())
    try:
        con.execute("begin transaction")
        con.execute("delete from ingest.inbox_index")
        con.execute("insert into ingest.inbox_index select * from _arrived")
        con.execute("commit")
    finally:
        con.unregister("_arrived")


def built_model_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("select model_fingerprint from validated.model_state").fetchall()
    return rows[0][0] if rows else None


def forget_modelled(con: duckdb.DuckDBPyConnection) -> None:
    """Before a full rebuild: no partition counts as built until the build succeeds."""
    con.execute("delete from validated.modelled_files")
    con.execute("delete from validated.modelled_codes")


def mark_modelled(con: duckdb.DuckDBPyConnection, model_fingerprint: str) -> None:
    """After a successful dbt build: the current files and analyst codes are what the models
    now hold, built by the dbt project whose fingerprint is given."""
    con.execute("begin transaction")
    con.execute("delete from validated.modelled_files")
    con.execute(f"""
        insert into validated.modelled_files
        select file_sha256, read_fingerprint, organisation_id, wave from {CURRENT_FILES}""")
    con.execute("delete from validated.modelled_codes")
    con.execute("""
        insert into validated.modelled_codes
        select organisation_id, wave, response_key, question_id, option_code
        from validated.analyst_codes""")
    con.execute("delete from validated.model_state")
    con.execute("insert into validated.model_state values (?)", [model_fingerprint])
    con.execute("commit")


def plan_build_batches(
    con: duckdb.DuckDBPyConnection, max_responses: int
) -> list[list[tuple[str, int]]]:
    """The partitions to build, in batches of about `max_responses` current responses each (a
    partition is never split; one larger than the limit is a batch of its own), so that the
    memory of a build follows the batch, not the history. Batches are runs of organisations in
    order, as the rows are stored (intake), so each batch reads its own stretch of the tables."""
    rows = con.execute(f"""
        select p.organisation_id, p.wave, coalesce(sum(f.responses_accepted), 0) as responses
        from {PARTITIONS_TO_BUILD} p
        left join {CURRENT_FILES} f using (organisation_id, wave)
        group by all
        order by organisation_id, wave""").fetchall()
    batches: list[list[tuple[str, int]]] = [[]]
    in_batch = 0
    for organisation_id, wave, responses in rows:
        if batches[-1] and in_batch + responses > max_responses:
            batches.append([])
            in_batch = 0
        batches[-1].append((organisation_id, wave))
        in_batch += responses
    return batches


def set_build_batch(con: duckdb.DuckDBPyConnection, partitions: list[tuple[str, int]]) -> None:
    """Limit the next dbt build to these partitions; an empty list lifts the limit."""
    con.execute("begin transaction")
    con.execute(f"delete from {BUILD_BATCH}")
    if partitions:
        con.executemany(f"insert into {BUILD_BATCH} values (?, ?)", partitions)
    con.execute("commit")


def record_intake(con: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    """Remember what ingest read, so the publication that follows records that, and not a file
    that landed in the inbox after ingest (which the next run must still see as new)."""
    con.execute(
        "create or replace table ingest.last_intake as select ? as input_fingerprint", [fingerprint]
    )


def last_intake(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select input_fingerprint from ingest.last_intake").fetchall()[0][0]
