"""Validation: the current version of every ingested file, checked by pandera, into validated.*.

When a file arrives again under the same name with different bytes, the newest version that
was ingested supersedes the older ones; older versions stay archived and listed in ingest.files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.ingest.pandera_schemas import answers_schema, responses_schema, split_valid
from pipelines.reference import ReferenceData
from pipelines.registry import Registry
from pipelines.warehouse import read_table, replace_table

CURRENT_FILES_SQL = """
    select file_sha256 from (
        select file_sha256, row_number() over (
            partition by file_name order by seen_at desc, file_sha256) as newest
        from ingest.files where status = 'ingested')
    where newest = 1
"""


@dataclass(frozen=True)
class ValidationSummary:
    responses: int
    answers: int
    open_answers: int
    rejected_at_read: int
    rejected_by_pandera: int
    failures_by_table: dict[str, dict[str, int]]  # table -> pandera failure reason -> rows


def write_registry_tables(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    replace_table(con, "registry.organisations", registry.organisations)
    replace_table(con, "registry.services", registry.services)


def build_validated(
    con: duckdb.DuckDBPyConnection,
    reference: ReferenceData,
    registry: Registry,
    now: dt.datetime | None = None,
) -> ValidationSummary:
    now = now or dt.datetime.now(dt.UTC)
    responses = read_table(
        con,
        f"""select r.*, f.file_name, f.seen_at as file_seen_at
            from ingest.responses r join ingest.files f using (file_sha256)
            where file_sha256 in ({CURRENT_FILES_SQL})""",
    ).with_columns(org_service=pl.concat_str("organisation_id", pl.lit("/"), "service_id"))
    valid_responses, bad_responses = split_valid(
        responses, responses_schema(reference, registry, now)
    )

    keys = valid_responses.select("file_sha256", "response_key")
    answers = (
        read_table(con, f"select * from ingest.answers where file_sha256 in ({CURRENT_FILES_SQL})")
        .join(keys, on=["file_sha256", "response_key"], how="semi")
        .with_columns(question_option=pl.concat_str("question_id", pl.lit(":"), "option_code"))
    )
    valid_answers, bad_answers = split_valid(answers, answers_schema(reference))
    open_answers = read_table(
        con, f"select * from ingest.open_answers where file_sha256 in ({CURRENT_FILES_SQL})"
    ).join(keys, on=["file_sha256", "response_key"], how="semi")

    read_rejections = read_table(
        con, f"select * from ingest.rejected where file_sha256 in ({CURRENT_FILES_SQL})"
    )
    validation_rejections = pl.concat(
        [
            bad_responses.select(
                "file_sha256",
                "row_number",
                "response_key",
                source_column=pl.lit(None, dtype=pl.String),
                reason="reason",
            ),
            bad_answers.select(
                "file_sha256",
                pl.lit(None, dtype=pl.Int64).alias("row_number"),
                "response_key",
                source_column="question_id",
                reason="reason",
            ),
        ]
    ).with_columns(stage=pl.lit("validate"), value_redacted=pl.lit(None, dtype=pl.String))
    rejected = pl.concat([read_rejections, validation_rejections.select(read_rejections.columns)])

    replace_table(con, "validated.responses", valid_responses.drop("org_service"))
    replace_table(con, "validated.answers", valid_answers.drop("question_option"))
    replace_table(con, "validated.open_answers", open_answers)
    replace_table(con, "validated.rejected_rows", rejected)

    def reasons(bad: pl.DataFrame) -> dict[str, int]:
        return dict(bad.group_by("reason").len().sort("reason").iter_rows())

    return ValidationSummary(
        responses=valid_responses.height,
        answers=valid_answers.height,
        open_answers=open_answers.height,
        rejected_at_read=read_rejections.height,
        rejected_by_pandera=validation_rejections.height,
        failures_by_table={"responses": reasons(bad_responses), "answers": reasons(bad_answers)},
    )
