"""pandera schemas for the canonical frames: rows that fail are set aside with the reason.

The allowed values come from the registry and the reference data, so a new service or option
declared there is accepted without a code change.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from pipelines.reference import ReferenceData
from pipelines.registry import Registry


def responses_schema(
    reference: ReferenceData, registry: Registry, now: dt.datetime
) -> pa.DataFrameSchema:
    groups = reference.answer_options.filter(pl.col("option_set_id") == "respondent_group")
    org_services = (
        registry.services.select(pl.concat_str("organisation_id", pl.lit("/"), "service_id"))
        .to_series()
        .to_list()
    )
    return pa.DataFrameSchema(
        {
            "file_sha256": pa.Column(str, nullable=False),
            "response_key": pa.Column(str, nullable=False),
            "organisation_id": pa.Column(
                str,
                pa.Check.isin(
                    registry.organisations["organisation_id"].to_list(),
                    error="organisation is not registered in data/sources.yml",
                ),
            ),
            "org_service": pa.Column(
                str,
                pa.Check.isin(
                    org_services, error="service is not one of the organisation's services"
                ),
            ),
            "respondent_group": pa.Column(
                str,
                pa.Check.isin(
                    groups["option_code"].to_list(), error="respondent group is not declared"
                ),
            ),
            "wave": pa.Column(
                pl.Int32,
                pa.Check.in_range(2000, now.year + 1, error="wave is not a plausible survey year"),
            ),
            "submitted_at_utc": pa.Column(
                pl.Datetime("us", "UTC"),
                pa.Check.le(now, error="submission time is in the future"),
                nullable=False,
            ),
            "instrument_id": pa.Column(
                str,
                pa.Check.isin(
                    sorted(reference.instrument_ids()), error="instrument is not declared"
                ),
            ),
            # A keyed hash or nothing: never the text it was made from (fingerprints.py).
            "free_text_fingerprint": pa.Column(
                str,
                pa.Check.str_matches(
                    r"^[0-9a-f]{64}$", error="free text fingerprint is not a keyed hash"
                ),
                nullable=True,
            ),
        },
        unique=["file_sha256", "response_key"],
        strict=False,
        name="responses",
    )


def answers_schema(reference: ReferenceData) -> pa.DataFrameSchema:
    pairs = (
        reference.questions.join(reference.answer_options, on="option_set_id")
        .select(pl.concat_str("question_id", pl.lit(":"), "option_code"))
        .to_series()
        .to_list()
    )
    return pa.DataFrameSchema(
        {
            "file_sha256": pa.Column(str, nullable=False),
            "response_key": pa.Column(str, nullable=False),
            "question_option": pa.Column(
                str, pa.Check.isin(pairs, error="option is not declared for this question")
            ),
            "question_version": pa.Column(
                pl.Int32, pa.Check.ge(1, error="question version is not positive")
            ),
            "coded_by": pa.Column(
                str,
                pa.Check.isin(
                    ["respondent", "analyst"], error="coded_by is not respondent or analyst"
                ),
            ),
        },
        strict=False,
        name="answers",
    )


def split_valid(
    frame: pl.DataFrame, schema: pa.DataFrameSchema
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, failure cases with the row they belong to). Never raises for bad data."""
    indexed = frame.with_row_index("_row")
    try:
        schema.validate(indexed, lazy=True)
        return frame, frame.clear().with_columns(reason=pl.lit(None, dtype=pl.String))
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    row_cases = cases.filter(pl.col("index").is_not_null())
    if row_cases.height < cases.height:
        # A schema-level failure (a missing column, a wrong type) condemns every row.
        shape = cases.filter(pl.col("index").is_null()).select("check", "column").unique()
        raise ValueError(
            f"{schema.name}: the frame does not have the expected shape: {shape.rows()}"
        )
    failures = row_cases.select(
        _row=pl.col("index").cast(pl.UInt32),
        # The rule and the column, never the value: a failing cell may hold personal data.
        reason=pl.format("{} (column {})", "check", "column"),
    )
    bad = failures.group_by("_row").agg(pl.col("reason").unique().sort().str.join("; "))
    valid = indexed.join(bad, on="_row", how="anti").drop("_row")
    rejected = indexed.join(bad, on="_row", how="inner")
    return valid, rejected.drop("_row")
