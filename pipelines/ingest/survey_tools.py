"""Survey tool descriptions (survey_tools.yml) and recognising a tool from a file's header."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipelines.config_file import ConfigurationError, read_yaml
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.survey_tools_schema import MultiSelect, ToolLayout, check_survey_tools

_TOOLS_FILE = Path(__file__).with_name("survey_tools.yml")


@dataclass(frozen=True)
class KeepOnly:
    column: str
    values: tuple[str, ...]
    excluded_as: str


@dataclass(frozen=True)
class SurveyTool:
    name: str
    label: str
    file_types: tuple[str, ...]
    header_rows: int
    header_style: str
    signature: tuple[str, ...]
    response_id: str | None
    submitted_at: str
    date_formats: tuple[str, ...]
    multi_separator: str | None
    multi_spread: bool
    generic_subheaders: tuple[str, ...] = ()
    keep_only: tuple[KeepOnly, ...] = ()
    timezone_from_import_id: bool = False
    not_a_respondent: tuple[str, ...] = ()

    def matches(self, first_header_row: list[str]) -> bool:
        present = set(first_header_row)
        return all(column in present for column in self.signature)


@cache
def survey_tools() -> dict[str, SurveyTool]:
    return load_survey_tools(_TOOLS_FILE)


def load_survey_tools(path: Path) -> dict[str, SurveyTool]:
    """The layouts, or a ConfigurationError listing every mistake in the file by line."""
    layouts, problems = check_survey_tools(read_yaml(path))
    if problems:
        raise ConfigurationError(problems)
    return {name: _survey_tool(name, layout) for name, layout in layouts.items()}


def _survey_tool(name: str, layout: ToolLayout) -> SurveyTool:
    multi = layout.multi_select or MultiSelect()
    return SurveyTool(
        name=name,
        label=layout.label,
        file_types=tuple(layout.file_types),
        header_rows=layout.header_rows,
        header_style=layout.header_style,
        signature=tuple(layout.signature),
        response_id=layout.response_id,
        submitted_at=layout.submitted_at,
        date_formats=tuple(layout.date_formats),
        multi_separator=multi.separator,
        multi_spread=multi.spread,
        generic_subheaders=tuple(layout.generic_subheaders),
        keep_only=tuple(
            KeepOnly(rule.column, tuple(rule.values), rule.excluded_as) for rule in layout.keep_only
        ),
        timezone_from_import_id=layout.timezone_from_import_id,
        not_a_respondent=tuple(v.lower() for v in layout.not_a_respondent),
    )


@cache
def tool_digest(name: str) -> str:
    """The layout a registration's tool name stands for (every tool's, for `auto`)."""
    described = yaml.safe_load(_TOOLS_FILE.read_text(encoding="utf-8"))
    chosen = described if name == "auto" else described.get(name)
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()


def check_tool(declared: str, first_header_row: list[str]) -> SurveyTool:
    """The declared tool, if the header carries its signature; otherwise a clear error."""
    tools = survey_tools()
    if declared not in tools:
        raise UnreadableExport(
            f"The registry names survey tool {declared!r}; known tools are "
            f"{', '.join(sorted(tools))}."
        )
    tool = tools[declared]
    if tool.matches(first_header_row):
        return tool
    missing = [c for c in tool.signature if c not in set(first_header_row)]
    looks_like = [
        t.label for t in tools.values() if t.name != declared and t.matches(first_header_row)
    ]
    hint = f" It looks like a {looks_like[0]} instead." if looks_like else ""
    # The file's own header is not quoted: a column name may be anything, an e-mail included.
    raise UnreadableExport(
        f"Expected a {tool.label} whose first row has the columns {', '.join(tool.signature)}; "
        f"missing {', '.join(missing)}. The first row has {len(first_header_row)} "
        f"column(s).{hint}"
    )


def recognise_tool(first_header_row: list[str], file_type: str) -> SurveyTool:
    """The one tool that writes this file type and whose signature the header carries
    (registry entries with `tool: auto`)."""
    matching = [
        t
        for t in survey_tools().values()
        if file_type in t.file_types and t.matches(first_header_row)
    ]
    if len(matching) == 1:
        return matching[0]
    if not matching:
        expected = "; ".join(
            f"{t.label}: {', '.join(t.signature)}" for t in survey_tools().values()
        )
        raise UnreadableExport(
            "The file's first row matches no survey tool this pipeline reads. "
            f"Expected one of: {expected}."
        )
    raise UnreadableExport(
        "The file's first row fits several tools "
        f"({', '.join(t.label for t in matching)}); name the tool in data/sources.yml."
    )
