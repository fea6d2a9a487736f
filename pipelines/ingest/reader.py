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

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.ingest.answers import read_answers
from pipelines.ingest.columns import column_names, import_id_timezone, map_columns
from pipelines.ingest.context import REJECTED_SCHEMA, ReadContext
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.fingerprints import answers_fingerprints, free_text_fingerprints
from pipelines.ingest.grid import load_grid
from pipelines.ingest.profile import read_profiles
from pipelines.ingest.survey_tools import check_tool, recognise_tool
from pipelines.registry import ExportRegistration

__all__ = ["ParsedExport", "ReadContext", "read_export"]


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


def read_export(path: Path, registration: ExportRegistration, ctx: ReadContext) -> ParsedExport:
    """The file's grid, its tool's layout and rows, its columns through the crosswalk, then
    each response's profile (profile.py) and answers (answers.py)."""
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

    columns = map_columns(names, bases, options, tool, registration, ctx.reference)
    mapping = columns.mapping

    timezone = (
        import_id_timezone(grid, tool, names.index(tool.submitted_at)) or registration.timezone
    )
    responses, rejected_responses, times_at_clock_change = read_profiles(
        body, tool, mapping, registration, ctx, timezone
    )
    answers, open_answers, rejected_answers, typed = read_answers(body, tool, mapping, ctx)

    keys = responses.select("row_number", "response_key")
    # The free text as typed goes no further than its keyed hash (fingerprints.py).
    free_text = free_text_fingerprints(
        typed.join(keys, on="row_number", how="semi"), ctx, registration.organisation_id
    )
    answers = answers.join(keys, on="row_number", how="inner")
    open_answers = open_answers.join(keys, on="row_number", how="inner")
    rejected_answers = rejected_answers.join(keys, on="row_number", how="inner").select(
        list(REJECTED_SCHEMA)
    )
    responses = (
        responses.join(answers_fingerprints(answers), on="response_key", how="left")
        .with_columns(pl.col("answers_fingerprint").fill_null(""))
        .join(free_text, on="row_number", how="left")
    )
    return ParsedExport(
        responses=responses,
        answers=answers.drop("row_number"),
        open_answers=open_answers.drop("row_number"),
        rejected=pl.concat([rejected_responses, rejected_answers], how="vertical"),
        encoding=grid.encoding,
        rows_in_file=rows_in_file,
        excluded=excluded,
        dropped_columns=columns.dropped,
        missing_columns=columns.missing,
        times_at_clock_change=times_at_clock_change,
    )
