"""Each response's profile: its keys, submission time, service, respondent group and flags,
or the reason it is set aside."""

from __future__ import annotations

import polars as pl

from pipelines.ingest.answers import ANSWER_ROLES
from pipelines.ingest.context import ReadContext
from pipelines.ingest.dates import parse_submitted_at
from pipelines.ingest.privacy import keyed_hashes, redact
from pipelines.ingest.survey_tools import SurveyTool
from pipelines.reference import normalise_label
from pipelines.registry import ExportRegistration

PROFILE_ROLES = (
    "service",
    "respondent_group",
    "respondent_ref",
    "proxy_flag",
    "staff_lived_experience_flag",
)


def read_profiles(
    body: pl.DataFrame,
    tool: SurveyTool,
    mapping: dict[str, dict],
    registration: ExportRegistration,
    ctx: ReadContext,
    timezone: str,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    by_role = {
        m["column_role"]: name for name, m in mapping.items() if m["column_role"] in PROFILE_ROLES
    }

    def role(name: str) -> pl.Expr:
        column = by_role.get(name)
        return pl.col(column).str.strip_chars() if column else pl.lit(None, dtype=pl.String)

    answer_columns = sorted(n for n, m in mapping.items() if m["column_role"] in ANSWER_ROLES)
    if tool.response_id:
        source_id = pl.col(tool.response_id).str.strip_chars()
    else:  # e.g. Google Forms: identical rows re-exported are the same response
        source_id = pl.concat_str(
            [pl.col(tool.submitted_at), *(pl.col(c) for c in answer_columns)],
            separator="\u241f",
            ignore_nulls=True,
        )
    org = registration.organisation_id
    frame = body.select(
        "row_number",
        source_id=source_id,
        submitted_raw=pl.col(tool.submitted_at),
        service_raw=pl.lit(registration.service_id) if registration.service_id else role("service"),
        group_key=normalise_label(role("respondent_group")),
        group_raw=role("respondent_group"),
        respondent_ref=pl.when(
            role("respondent_ref").str.to_lowercase().is_in(list(tool.not_a_respondent))
        )
        .then(None)
        .otherwise(role("respondent_ref")),
        proxy_key=normalise_label(role("proxy_flag")),
        staff_le_key=normalise_label(role("staff_lived_experience_flag")),
    )
    times = parse_submitted_at(
        frame["submitted_raw"], tool.date_formats, registration.date_order, timezone,
        tool.submitted_at,
    )  # fmt: skip
    frame = frame.with_columns(
        submitted_at_utc=times.utc, service_key=normalise_label(pl.col("service_raw"))
    )
    labels = ctx.reference.labels
    groups = labels.filter(pl.col("option_set_id") == "respondent_group").select(
        group_key="label_key", respondent_group="option_code"
    )
    yes_no = labels.filter(pl.col("option_set_id") == "yes_no").select("label_key", "option_code")
    aliases = ctx.registry.service_aliases.filter(pl.col("organisation_id") == org).select(
        service_key="alias_key", service_id="service_id"
    )
    frame = (
        frame.join(groups, on="group_key", how="left")
        .join(aliases, on="service_key", how="left")
        .join(
            yes_no.rename({"label_key": "proxy_key", "option_code": "proxy_code"}),
            on="proxy_key",
            how="left",
        )
        .join(
            yes_no.rename({"label_key": "staff_le_key", "option_code": "staff_le_code"}),
            on="staff_le_key",
            how="left",
        )
        .sort("row_number")
    )
    if registration.respondent_group:  # a staff or client survey: everyone in one group
        frame = frame.with_columns(respondent_group=pl.lit(registration.respondent_group))
    scope = pl.Series([org] * frame.height, dtype=pl.String)
    response_key, respondent_key = keyed_hashes(
        ctx.con, [frame["source_id"], frame["respondent_ref"]], ctx.hash_key, scope
    )
    frame = frame.with_columns(
        response_key=response_key,
        respondent_key=respondent_key,
        is_repeat_id=pl.col("source_id").is_duplicated() & ~pl.col("source_id").is_first_distinct(),
    )
    # Fixed sentences naming the column and the rule; the value itself goes only to
    # value_redacted, through the redactor (a cell may hold a name, an e-mail or a phone number).
    id_column = tool.response_id or "(the whole row)"
    earliest = ctx.earliest_submission
    reason = (
        pl.when(pl.col("source_id").is_null() | (pl.col("source_id") == ""))
        .then(pl.lit(f"The response has no response id (column {id_column})."))
        .when(pl.col("submitted_at_utc").is_null())
        .then(
            pl.lit(
                f"The submission time (column {tool.submitted_at}) fits none of the date "
                "formats this survey tool writes."
            )
        )
        .when(pl.col("submitted_at_utc") > ctx.now)
        .then(pl.lit(f"The submission time (column {tool.submitted_at}) is in the future."))
        .when(pl.col("submitted_at_utc") < earliest)
        .then(
            pl.lit(
                f"The submission time (column {tool.submitted_at}) is before {earliest:%Y-%m-%d}, "
                "the earliest date a survey response is accepted from."
            )
        )
        .when(pl.col("respondent_group").is_null())
        .then(
            pl.lit(
                f"The respondent group (column {by_role.get('respondent_group')}) is not a "
                "declared label (add it to ref_answer_labels.csv)."
            )
        )
        .when(pl.col("service_id").is_null())
        .then(
            pl.lit(
                f"The service (column {by_role.get('service')}) is not a service or alias of "
                f"organisation {org} (add it as an alias in data/sources.yml)."
            )
        )
        .when(pl.col("is_repeat_id"))
        .then(pl.lit(f"The same response id (column {id_column}) appears earlier in this file."))
    )
    frame = frame.with_columns(reason=reason)
    rejected = frame.filter(pl.col("reason").is_not_null()).select(
        "row_number",
        "response_key",
        stage=pl.lit("read"),
        source_column=pl.lit(None, dtype=pl.String),
        value_redacted=redact(
            pl.coalesce(
                pl.when(pl.col("service_id").is_null()).then("service_raw"),
                pl.when(pl.col("respondent_group").is_null()).then("group_raw"),
                "submitted_raw",
            ),
            ctx.redaction_names,
        ),
        reason="reason",
    )
    accepted = frame.filter(pl.col("reason").is_null()).select(
        "row_number",
        "response_key",
        "respondent_key",
        "submitted_at_utc",
        source_timezone=pl.lit(timezone),
        organisation_id=pl.lit(org),
        service_id="service_id",
        respondent_group="respondent_group",
        completed_with_help=pl.col("proxy_code") == "yes",
        staff_lived_experience=pl.col("staff_le_code") == "yes",
        wave=pl.lit(registration.wave, dtype=pl.Int32),
        instrument_id=pl.lit(registration.instrument_id),
        tool=pl.lit(tool.name),
    )
    return accepted, rejected, times.at_clock_change
