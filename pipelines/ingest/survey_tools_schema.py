"""What survey_tools.yml may say about a tool's export layout, as a typed schema."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import Field, RootModel, ValidationError

from pipelines.config_file import ConfigEntry, EmptyIfBlank, Location, Problem, YamlDocument

# The file endings the reader opens (pipelines/ingest/grid.py).
FILE_TYPES = ("csv", "xlsx", "xlsm", "sav")
HEADER_STYLES = ("first_row", "question_then_option")


class KeepOnlyRule(ConfigEntry):
    column: str = Field(description="the column whose value decides, such as Status")
    values: list[str] = Field(
        min_length=1, description="a list of the values kept, such as [normal, imported]"
    )
    excluded_as: str = Field(description="what the other rows are, such as preview or test")


class MultiSelect(ConfigEntry):
    separator: str | None = Field(None, description="the text between chosen options, such as ;")
    spread: bool = Field(False, description="true or false")


class ToolLayout(ConfigEntry):
    label: str = Field(description="the tool's name as people know it")
    file_types: list[Literal[FILE_TYPES]] = Field(
        min_length=1, description=f"a list of file endings among {', '.join(FILE_TYPES)}"
    )
    header_rows: int = Field(ge=1, le=10, description="the number of rows above the first response")
    header_style: Literal[HEADER_STYLES] = Field(description=f"one of {', '.join(HEADER_STYLES)}")
    signature: list[str] = Field(
        min_length=1, description="a list of the columns that identify the tool"
    )
    response_id: str | None = Field(None, description="the column holding the tool's response id")
    submitted_at: str = Field(description="the column holding when the response was submitted")
    date_formats: list[str] = Field(
        min_length=1, description="a list of date formats, such as ['%Y-%m-%d %H:%M:%S']"
    )
    multi_select: MultiSelect | None = Field(
        None, description="separator: and/or spread: lines, indented below it"
    )
    generic_subheaders: Annotated[list[str], EmptyIfBlank] = Field(
        default_factory=list, description="a list of second-row words that are not options"
    )
    keep_only: Annotated[list[KeepOnlyRule], EmptyIfBlank] = Field(
        default_factory=list, description="a list of rules, each with column, values, excluded_as"
    )
    timezone_from_import_id: bool = Field(False, description="true or false")
    not_a_respondent: Annotated[list[str], EmptyIfBlank] = Field(
        default_factory=list, description="a list of values that identify nobody"
    )


class SurveyToolsDocument(RootModel[dict[str, ToolLayout]]):
    """Each tool's name and its layout."""


def check_survey_tools(document: YamlDocument) -> tuple[dict[str, ToolLayout], list[Problem]]:
    data = {} if document.data is None else document.data
    problems = list(document.duplicate_key_problems)
    try:
        tools = SurveyToolsDocument.model_validate(data).root
    except ValidationError as error:
        problems += document.validation_problems(error, SurveyToolsDocument, _subject)
        # Go on with the tools that are right, so every problem is reported in one go.
        failed = {e["loc"][:1] for e in error.errors()}
        tools = {
            name: ToolLayout.model_validate(layout)
            for name, layout in (data.items() if isinstance(data, dict) else [])
            if (name,) not in failed
        }
    problems += _layout_problems(document, tools)
    if data == {}:
        problems.append(document.problem((), "the file describes no survey tool."))
    return tools, problems


def _layout_problems(document: YamlDocument, tools: dict[str, ToolLayout]) -> Iterable[Problem]:
    if "auto" in (document.data or {}):
        yield document.problem(
            ("auto",),
            "tool 'auto': the name auto is kept for recognising the tool from the file; "
            "rename this tool.",
        )
    for name, tool in tools.items():
        if tool.header_style == "question_then_option" and tool.header_rows < 2:
            yield document.problem(
                (name, "header_rows"),
                f"tool '{name}': header_style question_then_option needs header_rows of 2 or "
                "more (the questions, then the options).",
            )


def _subject(location: Location) -> str:
    match location:
        case (str(name), "keep_only", int(i), *_):
            return f"keep_only rule no. {i + 1} of tool '{name}'"
        case (str(name), "multi_select", *_):
            return f"multi_select of tool '{name}'"
        case (str(name), *_):
            return f"tool '{name}'"
    return "the survey tools file"
