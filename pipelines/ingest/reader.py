"""One reader for every survey tool: an export file in, canonical long-format frames out.

The survey tool's layout comes from survey_tools.yml and the meaning of each column from the
crosswalk (ref_instrument_columns.csv). Only mapped columns pass: everything else an export
carries (names, emails, IP addresses, locations, recipient fields) is never read further.

Outputs, one row each per:
  responses     accepted response (keyed by a keyed hash, never the tool's own id)
  answers       chosen answer option (multi-select: one row per option)
  open_answers  free-text answer, redacted
  rejected      response or answer that could not be translated, with the reason
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.dates import parse_submitted_at
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.grid import Grid, load_grid
from pipelines.ingest.privacy import keyed_hashes, redact
from pipelines.ingest.survey_tools import SurveyTool, check_tool, recognise_tool
from pipelines.reference import ReferenceData, normalise_label
from pipelines.registry import ExportRegistration, Registry

PROFILE_ROLES = (
    "service",
    "respondent_group",
    "respondent_ref",
    "proxy_flag",
    "staff_lived_experience_flag",
)
ANSWER_ROLES = ("answer", "other_text", "coding")
OPTION_SEPARATOR = " | "  # joins a question and an option sub-header into one column name

REJECTED_SCHEMA = {
    "row_number": pl.Int64,
    "response_key": pl.String,
    "stage": pl.String,
    "source_column": pl.String,
    "value_redacted": pl.String,
    "reason": pl.String,
}


@dataclass
class ParsedExport:
    responses: pl.DataFrame
    answers: pl.DataFrame
    open_answers: pl.DataFrame
    rejected: pl.DataFrame
    encoding: str | None  # a CSV's text encoding
    rows_in_file: int
    excluded: dict[str, int] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    times_at_clock_change: int = 0


@dataclass(frozen=True)
class ReadContext:
    """What the reader needs besides the file: reference data, registry, privacy settings, and
    one DuckDB connection for the whole run (CSV parsing and keyed hashes), so that reading a
    file costs no set-up of its own."""

    reference: ReferenceData
    registry: Registry
    hash_key: bytes
    redaction_names: tuple[str, ...] = ()
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # Earlier submission times are typing or clock errors (a year 0001, 1066, 1899), not answers.
    earliest_submission: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    con: duckdb.DuckDBPyConnection = field(default_factory=duckdb.connect)


def column_names(grid: Grid, tool: SurveyTool) -> tuple[list[str], list[str], list[str | None]]:
    """Full name, question (base) and option sub-header of every column."""
    first = grid.header_rows[0]
    if tool.header_style == "question_then_option":
        second = grid.header_rows[1]
        names, bases, options, current = [], [], [], ""
        for top, sub in zip(first, second, strict=False):
            current = top or current  # the question text stands above its first column only
            is_option = bool(sub) and sub not in tool.generic_subheaders
            names.append(f"{current}{OPTION_SEPARATOR}{sub}" if is_option else current)
            bases.append(current)
            options.append(sub if is_option else None)
    else:
        names, bases, options = list(first), list(first), [None] * len(first)
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # a repeated header would make two columns indistinguishable
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return unique, bases, options


def _import_id_timezone(grid: Grid, tool: SurveyTool, column_index: int) -> str | None:
    if not tool.timezone_from_import_id or len(grid.header_rows) < 3:
        return None
    match = re.search(r'"timeZone"\s*:\s*"([^"]+)"', grid.header_rows[2][column_index])
    return match.group(1) if match else None


def read_export(path: Path, registration: ExportRegistration, ctx: ReadContext) -> ParsedExport:
    grid = load_grid(path, ctx.con)
    if registration.tool == "auto":
        tool = recognise_tool(grid.header_rows[0], path.suffix.lower().lstrip("."))
    else:
        tool = check_tool(registration.tool, grid.header_rows[0])
    grid = grid.with_header_rows(tool.header_rows)
    names, bases, options = column_names(grid, tool)
    body = grid.body.rename(dict(zip(grid.body.columns, names, strict=False)))
    body = body.with_row_index("row_number", offset=tool.header_rows + 1).with_columns(
        pl.col("row_number").cast(pl.Int64)
    )
    value_columns = [c for c in body.columns if c != "row_number"]
    body = body.filter(
        pl.any_horizontal(
            pl.col(c).is_not_null() & (pl.col(c).str.strip_chars() != "") for c in value_columns
        )
    )
    rows_in_file = body.height
    if rows_in_file == 0:
        raise UnreadableExport("The file has a header but no responses.")

    excluded: dict[str, int] = {}
    for rule in tool.keep_only:
        kept = body.filter(pl.col(rule.column).str.strip_chars().is_in(list(rule.values)))
        excluded[rule.excluded_as] = body.height - kept.height
        body = kept

    mapping = _column_mapping(names, bases, options, registration.instrument_id, ctx.reference)
    metadata = {tool.submitted_at, *(c for c in [tool.response_id] if c)}
    metadata |= {rule.column for rule in tool.keep_only}
    dropped = [n for n in names if n not in mapping and n not in metadata]
    declared_columns = ctx.reference.instrument_columns.filter(
        pl.col("instrument_id") == registration.instrument_id
    )
    mapped_sources = {m["source_column"] for m in mapping.values()}
    missing = sorted(set(declared_columns["source_column"].to_list()) - mapped_sources)
    # Every declared column is required unless marked optional (or it names the service of an
    # export registered with one): a file with questions missing is not a partial success.
    not_required = declared_columns.filter(
        (pl.col("optional") == "yes")
        | ((pl.col("column_role") == "service") & pl.lit(registration.service_id is not None))
    )["source_column"]
    required_missing = [c for c in missing if c not in set(not_required.to_list())]
    if required_missing:
        raise UnreadableExport(
            f"The file lacks {len(required_missing)} of the columns instrument "
            f"{registration.instrument_id} requires (ref_instrument_columns.csv): "
            f"{', '.join(required_missing)}. Export every question again, or mark a column "
            "optional there if this survey does not ask it."
        )
    required_roles = {"respondent_group"} | (set() if registration.service_id else {"service"})
    missing_roles = required_roles - {m["column_role"] for m in mapping.values()}
    if missing_roles:
        raise UnreadableExport(
            f"The file lacks the column(s) for {', '.join(sorted(missing_roles))} that instrument "
            f"{registration.instrument_id} declares in ref_instrument_columns.csv."
        )

    timezone = (
        _import_id_timezone(grid, tool, names.index(tool.submitted_at)) or registration.timezone
    )
    responses, rejected_responses, times_at_clock_change = _responses(
        body, tool, mapping, registration, ctx, timezone
    )
    answers, open_answers, rejected_answers = _answers(body, tool, mapping, ctx)

    keys = responses.select("row_number", "response_key")
    answers = answers.join(keys, on="row_number", how="inner")
    open_answers = open_answers.join(keys, on="row_number", how="inner")
    rejected_answers = rejected_answers.join(keys, on="row_number", how="inner").select(
        list(REJECTED_SCHEMA)
    )
    fingerprints = answers.group_by("response_key").agg(
        answers_fingerprint=pl.concat_str("question_id", pl.lit("="), "option_code")
        .sort()
        .str.join("|")
    )
    responses = responses.join(fingerprints, on="response_key", how="left").with_columns(
        pl.col("answers_fingerprint").fill_null("")
    )
    return ParsedExport(
        responses=responses,
        answers=answers.drop("row_number"),
        open_answers=open_answers.drop("row_number"),
        rejected=pl.concat([rejected_responses, rejected_answers], how="vertical"),
        encoding=grid.encoding,
        rows_in_file=rows_in_file,
        excluded=excluded,
        dropped_columns=dropped,
        missing_columns=missing,
        times_at_clock_change=times_at_clock_change,
    )


def _column_mapping(
    names: list[str],
    bases: list[str],
    options: list[str | None],
    instrument_id: str,
    reference: ReferenceData,
) -> dict[str, dict]:
    """Crosswalk entry per export column: exact name first, then its question (spread options)."""
    crosswalk = {
        row["source_column"]: row
        for row in reference.instrument_columns.filter(
            pl.col("instrument_id") == instrument_id
        ).iter_rows(named=True)
    }
    if not crosswalk:
        raise UnreadableExport(
            f"Instrument {instrument_id!r} has no rows in "
            "ref_instrument_columns.csv; declare its columns there first."
        )
    mapping = {}
    for name, base, option in zip(names, bases, options, strict=True):
        entry = crosswalk.get(name) or (crosswalk.get(base) if option is not None else None)
        if entry is not None:
            mapping[name] = {**entry, "option_label": option if name not in crosswalk else None}
    return mapping


def _responses(
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


def _answers(
    body: pl.DataFrame,
    tool: SurveyTool,
    mapping: dict[str, dict],
    ctx: ReadContext,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    columns = [n for n, m in mapping.items() if m["column_role"] in ANSWER_ROLES]
    info = pl.DataFrame(
        [
            {
                "source_column": n,
                **{
                    k: mapping[n][k]
                    for k in ("column_role", "question_id", "question_version", "option_label")
                },
            }
            for n in columns
        ],
        schema={
            "source_column": pl.String,
            "column_role": pl.String,
            "question_id": pl.String,
            "question_version": pl.String,
            "option_label": pl.String,
        },
    ).join(
        ctx.reference.questions.select("question_id", "answer_type", "option_set_id"),
        on="question_id",
        how="left",
    )
    long = (
        body.select("row_number", *columns)
        .unpivot(index="row_number", variable_name="source_column", value_name="value")
        .with_columns(pl.col("value").str.strip_chars())
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
        .join(info, on="source_column", how="left")
        .with_columns(pl.col("question_version").cast(pl.Int32))
    )
    is_text = (pl.col("column_role") == "other_text") | (
        (pl.col("column_role") == "answer") & (pl.col("answer_type") == "open")
    )
    open_answers = long.filter(is_text).select(
        "row_number",
        "question_id",
        "question_version",
        part=pl.when(pl.col("column_role") == "other_text")
        .then(pl.lit("other"))
        .otherwise(pl.lit("answer")),
        text_redacted=redact(pl.col("value"), ctx.redaction_names),
    )
    # Text typed into a multi-select question's "Other" box means "Other" was chosen, even
    # where the tool (SurveyMonkey) records only the text.
    other_chosen = long.filter(
        (pl.col("column_role") == "other_text") & (pl.col("answer_type") == "multi")
    ).with_columns(column_role=pl.lit("answer"), value=pl.lit("other"))
    coded = pl.concat([long.filter(~is_text), other_chosen], how="vertical")
    labels = ctx.reference.labels
    joined_multi = (pl.col("answer_type") == "multi") & pl.lit(not tool.multi_spread)
    coded = coded.with_columns(
        label_key=pl.when(pl.col("option_label").is_not_null())
        .then(normalise_label(pl.col("option_label")))
        .otherwise(normalise_label(pl.col("value")))
    )
    if tool.multi_separator:
        coded = _split_joined_options(
            coded, joined_multi, tool.multi_separator, ctx.reference.labels_longest_first
        )
    coded = coded.join(labels, on=["option_set_id", "label_key"], how="left")
    unknown = coded.filter(pl.col("option_code").is_null()).select(
        "row_number",
        stage=pl.lit("read"),
        source_column="source_column",
        value_redacted=redact(pl.col("value"), ctx.redaction_names),
        reason=pl.format(
            "The answer is not an option of question {} (add the label to ref_answer_labels.csv).",
            pl.col("question_id"),
        ),
    )
    answers = (
        coded.filter(pl.col("option_code").is_not_null())
        .select(
            "row_number",
            "question_id",
            "question_version",
            "option_code",
            coded_by=pl.when(pl.col("column_role") == "coding")
            .then(pl.lit("analyst"))
            .otherwise(pl.lit("respondent")),
        )
        .unique(
            subset=["row_number", "question_id", "option_code", "coded_by"], maintain_order=True
        )
    )
    return answers, open_answers, unknown


def _split_joined_options(
    coded: pl.DataFrame, is_joined: pl.Expr, separator: str, known: dict[str, list[str]]
) -> pl.DataFrame:
    """Split "Time, Cost" into options, resolving labels that themselves contain the separator.

    Work is per distinct (option set, cell value), not per row: a few hundred strings at most.
    """
    joined = coded.filter(is_joined)
    if joined.is_empty():
        return coded
    distinct = joined.select("option_set_id", "label_key").unique()
    pieces = [
        {"option_set_id": s, "label_key": v, "piece": p}
        for s, v in distinct.iter_rows()
        for p in split_options(v, separator.strip().lower(), known.get(s, []))
    ]
    split = pl.DataFrame(
        pieces, schema={"option_set_id": pl.String, "label_key": pl.String, "piece": pl.String}
    )
    exploded = (
        joined.join(split, on=["option_set_id", "label_key"], how="left")
        .with_columns(label_key="piece", value="piece")
        .drop("piece")
    )
    return pl.concat([coded.filter(~is_joined), exploded], how="vertical")


def split_options(value: str, separator: str, known_labels: list[str]) -> list[str]:
    """Known labels (longest first) are taken whole; the rest is split on the separator.

    Spaces around separators are ignored on both sides, so "a, b" and "a,b" read alike.
    """

    def compact(text: str) -> str:
        return re.sub(rf"\s*{re.escape(separator)}\s*", separator, text.strip())

    remaining = f"{separator}{compact(value)}{separator}"
    found = []
    for label in known_labels:
        token = f"{separator}{compact(label)}{separator}"
        if token in remaining:
            found.append(label)
            remaining = remaining.replace(token, separator, 1)
    leftovers = [piece.strip() for piece in remaining.split(separator) if piece.strip()]
    return found + leftovers
