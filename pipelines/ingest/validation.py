"""Validation: pandera checks every file version once, when it is new (or read again).

What fails is recorded in validated.validation_rejects; the validated.* views (file_state.py)
then show the current version of every file less those rows. Nothing already validated is read
again, so a run costs what arrived, not the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.file_state import ensure_file_state
from pipelines.ingest.pandera_schemas import answers_schema, responses_schema, split_valid
from pipelines.reference import ReferenceData
from pipelines.registry import Registry
from pipelines.warehouse import read_table

PENDING_SQL = """
    select file_sha256 from ingest.files
    where status = 'ingested' and validated_fingerprint is distinct from read_fingerprint
"""


@dataclass(frozen=True)
class ValidationSummary:
    files_validated: int
    rows_checked: int
    failures_by_table: dict[str, dict[str, int]]  # table -> pandera failure reason -> rows


def validate_new_files(
    con: duckdb.DuckDBPyConnection, reference: ReferenceData, registry: Registry
) -> ValidationSummary:
    ensure_file_state(con)
    now = dt.datetime.now(dt.UTC)
    pending = [sha for (sha,) in con.execute(PENDING_SQL).fetchall()]
    if not pending:
        return ValidationSummary(0, 0, {"responses": {}, "answers": {}})
    con.register("_pending", pl.DataFrame({"file_sha256": pending}).to_arrow())
    try:
        responses = read_table(
            con, "select * from ingest.responses semi join _pending using (file_sha256)"
        ).with_columns(org_service=pl.concat_str("organisation_id", pl.lit("/"), "service_id"))
        answers = read_table(
            con, "select * from ingest.answers semi join _pending using (file_sha256)"
        ).with_columns(question_option=pl.concat_str("question_id", pl.lit(":"), "option_code"))
        valid_responses, bad_responses = split_valid(
            responses, responses_schema(reference, registry, now)
        )
        # Answers of a rejected response go with it; only the others are checked one by one.
        answers = answers.join(
            valid_responses.select("file_sha256", "response_key"),
            on=["file_sha256", "response_key"],
            how="semi",
        )
        _, bad_answers = split_valid(answers, answers_schema(reference))
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
    finally:
        con.unregister("_pending")

    def reasons(bad: pl.DataFrame) -> dict[str, int]:
        return dict(bad.group_by("reason").len().sort("reason").iter_rows())

    return ValidationSummary(
        files_validated=len(pending),
        rows_checked=responses.height + answers.height,
        failures_by_table={"responses": reasons(bad_responses), "answers": reasons(bad_answers)},
    )
