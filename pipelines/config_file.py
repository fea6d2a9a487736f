"""A YAML file an operator edits, read with the line of every entry, and its mistakes reported as
`file:line: what is wrong; how to fix it`, all of them at once, so one edit fixes everything."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, RootModel, ValidationError
from pydantic_core import PydanticCustomError

Location = tuple[str | int, ...]
# Custom validation errors carry their whole sentence; see `custom_error`.
CUSTOM_ERROR = "configuration"
# A key written with nothing after it (`services:`) means an empty list, as it always has.
EmptyIfBlank = BeforeValidator(lambda value: [] if value is None else value)


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.message}"


class ConfigurationError(ValueError):
    """A configuration file is wrong; the message lists every problem, one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(dict.fromkeys(problems), key=lambda p: (str(p.file), p.line or 0))
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):  # pickled with its problems, not its message (worker processes)
        return type(self), (self.problems,)


class ConfigEntry(BaseModel):
    """An entry of a configuration file: an unknown key is a mistake, never ignored, and a
    number typed where text is expected (a name such as 2024) is that text."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


def custom_error(message: str) -> PydanticCustomError:
    """A validation error whose message is a finished sentence (user text never formatted)."""
    return PydanticCustomError(CUSTOM_ERROR, "{message}", {"message": message})


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """A sentence naming the closest choice, ignoring case; "" when none is close."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(str(value).lower(), by_lower, n=1)
    return f" Did you mean '{by_lower[close[0]]}'?" if close else ""


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    root: yaml.Node | None
    duplicate_key_problems: tuple[Problem, ...] = ()

    def line(self, location: Location) -> int:
        """The line of the deepest entry of `location` present in the file (a missing key is
        reported at the line of the entry that lacks it)."""
        node, line = self.root, (self.root.start_mark.line + 1 if self.root else 1)
        for step in location:
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if k.value == step), None)
                if pair is None:
                    break
                line, node = pair[0].start_mark.line + 1, pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if step >= len(node.value):
                    break
                node = node.value[step]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def problem(self, location: Location, message: str) -> Problem:
        return Problem(self.path, self.line(location), message)

    def validation_problems(
        self,
        error: ValidationError,
        schema: type[BaseModel],
        subject: Callable[[Location], str],
    ) -> list[Problem]:
        """One problem per pydantic error, in words: `subject` names the entry at a location
        (e.g. "export 'a.csv'"), the schema's field descriptions say what a value should be."""
        return [
            self.problem(e["loc"], _sentence(e, schema, subject(e["loc"]))) for e in error.errors()
        ]


def read_yaml(
    path: Path, error_type: type[ConfigurationError] = ConfigurationError
) -> YamlDocument:
    """The file's data and node tree; raises `error_type` when it is not UTF-8 or not YAML.
    A missing file raises FileNotFoundError, for the caller to explain."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows Notepad) is fine
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise error_type(
            [
                Problem(
                    path,
                    line,
                    f"the file is not UTF-8 text (byte {error.start + 1}); save it as UTF-8 "
                    "(in Notepad or Excel: Save As, encoding UTF-8).",
                )
            ]
        ) from error
    loader = yaml.CSafeLoader(text)
    try:
        root = loader.get_single_node()
        # Before construction, which folds merge keys (<<) into the mappings.
        duplicates = tuple(_duplicate_keys(path, root))
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise error_type(
            [
                Problem(
                    path,
                    mark.line + 1 if mark else None,
                    f"this is not valid YAML ({error.problem or error.context}); check the "
                    "indentation, colons and quotes on this line and the one above.",
                )
            ]
        ) from error
    finally:
        loader.dispose()
    return YamlDocument(path, data, root, duplicates)


def _duplicate_keys(path: Path, root: yaml.Node | None) -> Iterable[Problem]:
    """YAML keeps the last of two equal keys in one entry and drops the first without a word."""
    stack, visited = [root], set()
    while stack:  # over mappings and lists only: a registry holds thousands of entries
        node = stack.pop()
        if node is None or id(node) in visited:  # aliases (*name) share nodes
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            if len(set(keys)) < len(keys):
                yield from _repeated_keys(path, node)
            children = [v for _, v in node.value]
        else:
            children = node.value
        stack.extend(c for c in children if not isinstance(c, yaml.ScalarNode))


def _repeated_keys(path: Path, mapping: yaml.MappingNode) -> Iterable[Problem]:
    first_line: dict[str, int] = {}
    for key, _ in mapping.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue
        line = key.start_mark.line + 1
        if key.value in first_line:
            yield Problem(
                path,
                line,
                f"the key '{key.value}' appears twice in the same entry (first at line "
                f"{first_line[key.value]}); only the last would count: remove one.",
            )
        else:
            first_line[key.value] = line


def _sentence(error: dict, schema: type[BaseModel], subject: str) -> str:
    location, kind, given = error["loc"], error["type"], error.get("input")
    if kind == CUSTOM_ERROR:
        return f"{subject}: {error['ctx']['message']}"
    holder, field_name, field = _schema_at(schema, location)
    if kind == "extra_forbidden":
        key = location[-1]
        allowed = list(holder.model_fields) if holder else []
        hint = did_you_mean(key, allowed) or f" The keys allowed here are {', '.join(allowed)}."
        return f"{subject} has an unknown key '{key}'.{hint}"
    if field is None or kind in ("model_type", "dict_type"):
        return f"{subject} must be a set of 'key: value' lines, not {_shown(given)}."
    if kind == "missing":
        return (
            f"{subject} has no '{field_name}'; add {field_name}: followed by {field.description}."
        )
    sentence = f"{subject}: '{field_name}' must be {field.description}, not {_shown(given)}."
    if isinstance(given, str):
        sentence += did_you_mean(given, _literal_values(field.annotation))
    if kind == "string_type" and isinstance(given, bool):
        sentence += (
            " YAML reads yes, no, on, off, true and false as true or false: put the value "
            "in quotes."
        )
    return sentence


def _schema_at(schema: type[BaseModel], location: Location):
    """The model holding the last key of `location`, that key, and its field (None when the
    key is not in the schema)."""
    current: Any = schema
    holder = field_name = field = None
    for step in location:
        if isinstance(current, type) and issubclass(current, RootModel):
            current = current.model_fields["root"].annotation
        current = _without_none(current)
        if isinstance(step, int) or typing.get_origin(current) is dict:
            arguments = typing.get_args(current)
            current = arguments[-1] if arguments else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            holder, field_name = current, step
            field = current.model_fields.get(step)
            current = field.annotation if field else None
        else:
            break
    return holder, field_name, field


def _without_none(annotation: Any) -> Any:
    """`X | None` -> X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _literal_values(annotation: Any) -> list[str]:
    """The allowed values of a Literal field, also inside a list or `| None`."""
    if typing.get_origin(annotation) is typing.Literal:
        return [str(v) for v in typing.get_args(annotation)]
    return [v for a in typing.get_args(annotation) for v in _literal_values(a)]


def _shown(value: Any) -> str:
    """A value as the operator typed it, briefly; never a whole structure."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:40]}…'"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a set of 'key: value' lines"
    return f"a {type(value).__name__}"
