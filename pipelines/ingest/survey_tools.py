"""Survey tool descriptions (survey_tools.yml) and recognising a tool from a file's header."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipelines.ingest.errors import UnreadableExport

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
    described = yaml.safe_load(_TOOLS_FILE.read_text(encoding="utf-8"))
    tools = {}
    for name, spec in described.items():
        multi = spec.get("multi_select") or {}
        keep_only = tuple(
            KeepOnly(k["column"], tuple(str(v) for v in k["values"]), k["excluded_as"])
            for k in spec.get("keep_only") or []
        )
        tools[name] = SurveyTool(
            name=name,
            label=spec["label"],
            file_types=tuple(spec["file_types"]),
            header_rows=int(spec["header_rows"]),
            header_style=spec["header_style"],
            signature=tuple(spec["signature"]),
            response_id=spec.get("response_id"),
            submitted_at=spec["submitted_at"],
            date_formats=tuple(spec["date_formats"]),
            multi_separator=multi.get("separator"),
            multi_spread=bool(multi.get("spread", False)),
            generic_subheaders=tuple(spec.get("generic_subheaders") or ()),
            keep_only=keep_only,
            timezone_from_import_id=bool(spec.get("timezone_from_import_id", False)),
            not_a_respondent=tuple(v.lower() for v in spec.get("not_a_respondent") or ()),
        )
    return tools


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
    shown = ", ".join(first_header_row[:6]) or "(nothing)"
    raise UnreadableExport(
        f"Expected a {tool.label} whose first row has the columns {', '.join(tool.signature)}; "
        f"missing {', '.join(missing)}. The first row starts: {shown}.{hint}"
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
    shown = ", ".join(first_header_row[:6]) or "(nothing)"
    if not matching:
        expected = "; ".join(
            f"{t.label}: {', '.join(t.signature)}" for t in survey_tools().values()
        )
        raise UnreadableExport(
            f"The file's first row ({shown}) matches no survey tool this pipeline reads. "
            f"Expected one of: {expected}."
        )
    raise UnreadableExport(
        f"The file's first row ({shown}) fits several tools "
        f"({', '.join(t.label for t in matching)}); name the tool in data/sources.yml."
    )
