"""Validation: pandera checks every file version once, when it is new (or read again).

What fails is recorded in validated.validation_rejects; the validated.* views (file_state.py)
then show the current version of every file less those rows. Nothing already validated is read
again, so a run costs what arrived, not the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandera.polars as pa
import polars as pl

from pipelines.file_state import ensure_file_state
from pipelines.ingest.pandera_schemas import answers_schema, responses_schema, split_valid
from pipelines.reference import ReferenceData
from pipelines.registry import Registry
from pipelines.warehouse import read_table

PENDING_SQL = """
    select file_sha256, responses_accepted from ingest.files
    where status = 'ingested' and validated_fingerprint is distinct from read_fingerprint
    order by file_sha256
"""
# Responses per batch: about 15 answers each, so a batch holds a few million rows at most.
BATCH_RESPONSES = 100_000


@dataclass(frozen=True)
class ValidationSummary:
    files_validated: int
    rows_checked: int
    failures_by_table: dict[str, dict[str, int]]  # table -> pandera failure reason -> rows


def validate_new_files(
    con: duckdb.DuckDBPyConnection, reference: ReferenceData, registry: Registry
) -> ValidationSummary:
    """Check the rows of every file version not yet validated, a bounded batch of files at a
    time (memory follows the batch, not the history), each batch in one transaction."""
    ensure_file_state(con)
    now = dt.datetime.now(dt.UTC)
    pending = con.execute(PENDING_SQL).fetchall()
    schemas = (responses_schema(reference, registry, now), answers_schema(reference))
    failures: dict[str, dict[str, int]] = {"responses": {}, "answers": {}}
    rows_checked, batch, batch_rows = 0, [], 0
    for sha, responses in pending:
        batch.append(sha)
        batch_rows += responses or 0
        if batch_rows >= BATCH_RESPONSES:
            rows_checked += _validate_batch(con, batch, schemas, failures)
            batch, batch_rows = [], 0
    if batch:
        rows_checked += _validate_batch(con, batch, schemas, failures)
    return ValidationSummary(len(pending), rows_checked, failures)


def _validate_batch(
    con: duckdb.DuckDBPyConnection,
    shas: list[str],
    schemas: tuple[pa.DataFrameSchema, pa.DataFrameSchema],
    failures: dict[str, dict[str, int]],
) -> int:
    con.register("_pending", pl.DataFrame({"file_sha256": shas}).to_arrow())
    try:
        responses = read_table(
            con, "select * from ingest.responses semi join _pending using (file_sha256)"
        ).with_columns(org_service=pl.concat_str("organisation_id", pl.lit("/"), "service_id"))
        answers = read_table(
            con, "select * from ingest.answers semi join _pending using (file_sha256)"
        ).with_columns(question_option=pl.concat_str("question_id", pl.lit(":"), "option_code"))
        valid_responses, bad_responses = split_valid(responses, schemas[0])
        # Answers of a rejected response go with it; only the others are checked one by one.
        answers = answers.join(
            valid_responses.select("file_sha256", "response_key"),
            on=["file_sha256", "response_key"],
            how="semi",
        )
        _, bad_answers = split_valid(answers, schemas[1])
        rejects = pl.concat(
            [
                bad_responses.select(
                    "file_sha256",
                    "row_number",
                    "response_key",
                    question_id=pl.lit(None, dtype=pl.String),
                    option_code=pl.lit(None, dtype=pl.String),
                    reason="reason",
                ),
                bad_answers.select(
                    "file_sha256",
                    pl.lit(None, dtype=pl.Int64).alias("row_number"),
                    "response_key",
                    "question_id",
                    "option_code",
                    "reason",
                ),
            ]
        )
        con.register("_rejects", rejects.to_arrow())
        con.execute("begin transaction")
        try:
            con.execute(
                "delete from validated.validation_rejects "
                "where file_sha256 in (select file_sha256 from _pending)"
            )
            con.execute("insert into validated.validation_rejects by name select * from _rejects")
            con.execute(
                "update ingest.files set validated_fingerprint = read_fingerprint "
                "where file_sha256 in (select file_sha256 from _pending)"
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        con.unregister("_rejects")
    finally:
        con.unregister("_pending")
    for table, bad in (("responses", bad_responses), ("answers", bad_answers)):
        for reason, count in bad.group_by("reason").len().iter_rows():
            failures[table][reason] = failures[table].get(reason, 0) + count
    return responses.height + answers.height
