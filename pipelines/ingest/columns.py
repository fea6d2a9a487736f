"""An export's columns: their full names, the crosswalk entry each maps to, and the columns
the instrument requires. Only mapped columns are read further."""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.grid import Grid
from pipelines.ingest.survey_tools import SurveyTool
from pipelines.reference import ReferenceData
from pipelines.registry import ExportRegistration

OPTION_SEPARATOR = " | "  # joins a question and an option sub-header into one column name


@dataclass(frozen=True)
class ColumnMap:
    mapping: dict[str, dict]  # export column -> its crosswalk entry (and option label)
    dropped: list[str]  # columns neither mapped nor the tool's own: never read
    missing: list[str]  # declared columns the file lacks (all optional, or it is refused)


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


def import_id_timezone(grid: Grid, tool: SurveyTool, column_index: int) -> str | None:
    if not tool.timezone_from_import_id or len(grid.header_rows) < 3:
        return None
    match = re.search(r'"timeZone"\s*:\s*"([^"]+)"', grid.header_rows[2][column_index])
    return match.group(1) if match else None


def map_columns(
    names: list[str],
    bases: list[str],
    options: list[str | None],
    tool: SurveyTool,
    registration: ExportRegistration,
    reference: ReferenceData,
) -> ColumnMap:
    """The crosswalk entry of every column, or a refusal naming the required columns missing."""
    mapping = _crosswalk_entries(names, bases, options, registration.instrument_id, reference)
    metadata = {tool.submitted_at, *(c for c in [tool.response_id] if c)}
    metadata |= {rule.column for rule in tool.keep_only}
    dropped = [n for n in names if n not in mapping and n not in metadata]
    declared_columns = reference.instrument_columns.filter(
        pl.col("instrument_id") == registration.instrument_id
    )
    mapped_sources = {m["source_column"] for m in mapping.values()}
    missing = sorted(set(declared_columns["source_column"].to_list()) - mapped_sources)
    # Every declared column is required unless marked optional (or it names the service or the
    # group of an export registered with one): a file with questions missing is not a partial
    # success.
    not_required = declared_columns.filter(
        (pl.col("optional") == "yes")
        | ((pl.col("column_role") == "service") & pl.lit(registration.service_id is not None))
        | (
            (pl.col("column_role") == "respondent_group")
            & pl.lit(registration.respondent_group is not None)
        )
    )["source_column"]
    required_missing = [c for c in missing if c not in set(not_required.to_list())]
    if required_missing:
        raise UnreadableExport(
            f"The file lacks {len(required_missing)} of the columns instrument "
            f"{registration.instrument_id} requires (ref_instrument_columns.csv): "
            f"{', '.join(required_missing)}. Export every question again, or mark a column "
            "optional there if this survey does not ask it."
        )
    required_roles = (set() if registration.respondent_group else {"respondent_group"}) | (
        set() if registration.service_id else {"service"}
    )
    missing_roles = required_roles - {m["column_role"] for m in mapping.values()}
    if missing_roles:
        raise UnreadableExport(
            f"The file lacks the column(s) for {', '.join(sorted(missing_roles))} that instrument "
            f"{registration.instrument_id} declares in ref_instrument_columns.csv."
        )
    return ColumnMap(mapping, dropped, missing)


def _crosswalk_entries(
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
