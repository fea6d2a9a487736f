"""What data/sources.yml may say: a typed schema per entry, and the checks across entries
(ids declared once, exports naming declared organisations, services, tools and instruments)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from pipelines.config_file import (
    ConfigEntry,
    EmptyIfBlank,
    Location,
    Problem,
    YamlDocument,
    custom_error,
    did_you_mean,
)

ORGANISATION_TYPES = ("nhs", "local_authority", "voluntary_sector", "private_provider")
DATE_ORDERS = ("DMY", "MDY")
ALL_SERVICES = "all"  # service_id of organisation-wide rows in the marts


@dataclass(frozen=True)
class RegistryContext:
    """What an export entry is checked against besides the registry itself."""

    tools: frozenset[str]
    instruments: frozenset[str]
    respondent_groups: frozenset[str] = frozenset()


class Service(ConfigEntry):
    id: str = Field(min_length=1, description="a short id such as outreach")
    name: str | None = Field(None, description="the service's name as respondents know it")
    aliases: Annotated[list[str], EmptyIfBlank] = Field(
        default_factory=list, description="a list of other names, such as [Outreach team, Rehab]"
    )

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, service_id: str) -> str:
        # The marts' service_id is 'all' on organisation-wide rows: a service of that name
        # would be read as the whole organisation.
        if service_id.strip().lower() == ALL_SERVICES:
            raise custom_error(
                f"service id '{service_id}' is reserved: the marts use '{ALL_SERVICES}' for "
                "figures about the whole organisation. Give the service another id."
            )
        return service_id


class Organisation(ConfigEntry):
    id: str = Field(min_length=1, description="a short id such as riverside_recovery")
    name: str | None = Field(None, description="the organisation's name as reports show it")
    type: Literal[ORGANISATION_TYPES] = Field(description=f"one of {', '.join(ORGANISATION_TYPES)}")
    baseline_wave: int | None = Field(
        None, ge=1900, le=2100, description="the survey year that counts as baseline, such as 2024"
    )
    services: Annotated[list[Service], EmptyIfBlank] = Field(
        default_factory=list, description="a list of services, each with an id and a name"
    )
    retired_waves: Annotated[list[Annotated[int, Field(ge=1900, le=2100)]], EmptyIfBlank] = Field(
        default_factory=list,
        description="a list of survey years that may leave the published marts, such as [2023]",
    )


class Export(ConfigEntry):
    file: str = Field(
        min_length=1, description="the file's name in the inbox (* and ? match any characters)"
    )
    organisation: str = Field(description="the id of an organisation declared under organisations")
    wave: int = Field(ge=1900, le=2100, description="the survey year, such as 2025")
    tool: str = Field(
        description="the survey tool that wrote the file, as named in "
        "pipelines/ingest/survey_tools.yml, or auto"
    )
    instrument: str = Field(
        description="the questionnaire version, as in dbt_project/seeds/ref_instrument_columns.csv"
    )
    date_order: Literal[DATE_ORDERS] | None = Field(None, description="DMY or MDY")
    timezone: str = Field("Europe/London", description="a time zone name such as Europe/London")
    service: str | None = Field(None, description="the id of one of the organisation's services")
    respondent_group: str | None = Field(
        None,
        description="a group id from ref_respondent_groups.csv, such as frontline, for an export "
        "where everyone is in one group and no column says so",
    )

    @field_validator("respondent_group")
    @classmethod
    def _known_group(cls, group: str | None, info: ValidationInfo) -> str | None:
        known = info.context.respondent_groups
        if group is not None and group not in known:
            raise custom_error(
                f"respondent_group '{group}' is not a group in ref_respondent_groups.csv."
                f"{did_you_mean(group, known)} Use one of {', '.join(sorted(known))}."
            )
        return group

    @field_validator("tool")
    @classmethod
    def _known_tool(cls, tool: str, info: ValidationInfo) -> str:
        known = info.context.tools
        if tool != "auto" and tool not in known:
            raise custom_error(
                f"tool '{tool}' is not a survey tool this pipeline reads."
                f"{did_you_mean(tool, known)} Use one of {', '.join(sorted(known))}, or auto "
                "to recognise it from the file."
            )
        return tool

    @field_validator("instrument")
    @classmethod
    def _known_instrument(cls, instrument: str, info: ValidationInfo) -> str:
        known = info.context.instruments
        if instrument not in known:
            raise custom_error(
                f"instrument '{instrument}' is not in ref_instrument_columns.csv."
                f"{did_you_mean(instrument, known)} Use one of {', '.join(sorted(known))}, or "
                "declare the new questionnaire's columns there first."
            )
        return instrument

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise custom_error(
                f"timezone '{timezone}' is not a time zone name."
                f"{did_you_mean(timezone, available_timezones())} Use a name such as "
                "Europe/London or Europe/Dublin."
            ) from None
        return timezone


class RegistryDocument(ConfigEntry):
    organisations: Annotated[list[Organisation], EmptyIfBlank] = Field(
        default_factory=list,
        description="a list of organisations, each with an id, a type and its services",
    )
    exports: Annotated[list[Export], EmptyIfBlank] = Field(
        default_factory=list,
        description="a list of exports, each with file, organisation, wave, tool and instrument",
    )


@dataclass(frozen=True)
class CheckedRegistry:
    """Every problem found in the file; the organisations with their positions in the file (one
    whose entry is wrong holds only what other entries refer to: its id and services); and the
    exports, once the whole file is right."""

    organisations: list[tuple[int, Organisation]]
    exports: list[Export]
    problems: list[Problem] = field(default_factory=list)


def check_registry(document: YamlDocument, context: RegistryContext) -> CheckedRegistry:
    data = {} if document.data is None else document.data
    problems = list(document.duplicate_key_problems)
    try:
        parsed = RegistryDocument.model_validate(data, context=context)
        organisations, exports = list(enumerate(parsed.organisations)), parsed.exports
    except ValidationError as error:
        problems += document.validation_problems(error, RegistryDocument, _subject(data))
        # Go on with what the wrong entries declare, so every problem is reported in one go.
        entries = _entries(data, "organisations")
        organisations = [
            (i, organisation)
            for i, organisation in enumerate(map(_as_declared, entries))
            if organisation is not None
        ]
        exports = []
    problems += _empty(document, data)
    problems += _duplicate_ids(document, organisations)
    problems += _unknown_references(document, data, organisations)
    return CheckedRegistry(organisations, exports, problems)


def _entries(data: Any, key: str) -> list:
    entries = data.get(key) if isinstance(data, dict) else None
    return entries if isinstance(entries, list) else []


def _text(entry: Any, key: str) -> str | None:
    value = entry.get(key) if isinstance(entry, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _as_declared(entry: Any) -> Organisation | None:
    """An organisation entry as far as other entries refer to it: its id and its services'
    ids, names and aliases (what is wrong with it is reported on its own lines)."""
    try:
        return Organisation.model_validate(entry)
    except ValidationError:
        if _text(entry, "id") is None:
            return None
    services = []
    for service in _entries(entry, "services"):
        try:
            services.append(Service.model_validate(service))
        except ValidationError:
            if _text(service, "id") is not None:
                services.append(Service.model_construct(id=_text(service, "id"), aliases=[]))
    return Organisation.model_construct(id=_text(entry, "id"), services=services)


def _subject(data: Any):
    """Names the entry at a location in words: "export 'a.csv'", "organisation no. 2"."""

    def named(entry: Any, key: str, index: int) -> str:
        return f"'{_text(entry, key)}'" if _text(entry, key) else f"no. {index + 1}"

    def subject(location: Location) -> str:
        match location:
            case ("organisations", int(i), "services", int(j), *_):
                organisation = _entries(data, "organisations")[i]
                service = _entries(organisation, "services")[j]
                return (
                    f"service {named(service, 'id', j)} of organisation "
                    f"{named(organisation, 'id', i)}"
                )
            case ("organisations", int(i), *_):
                return f"organisation {named(_entries(data, 'organisations')[i], 'id', i)}"
            case ("exports", int(i), *_):
                return f"export {named(_entries(data, 'exports')[i], 'file', i)}"
        return "the registry"

    return subject


def _empty(document: YamlDocument, data: Any) -> Iterable[Problem]:
    """An empty registry would publish empty marts: refuse it rather than publish nothing."""
    if not isinstance(data, dict):  # already reported as not a set of keys
        return
    for key, what, where in (
        ("organisations", "organisation", "declare each one under organisations:"),
        ("exports", "export", "list the files under exports:"),
    ):
        if data.get(key) is None or data.get(key) == []:
            yield document.problem(
                (key,), f"the registry registers no {what}; nothing would be published: {where}"
            )


def _duplicate_ids(
    document: YamlDocument, organisations: list[tuple[int, Organisation]]
) -> Iterable[Problem]:
    first: dict[str, int] = {}
    for i, organisation in organisations:
        if organisation.id in first:
            yield document.problem(
                ("organisations", i, "id"),
                f"organisation '{organisation.id}' is declared twice (first at line "
                f"{document.line(('organisations', first[organisation.id], 'id'))}); give each "
                "organisation its own id, or merge the two entries.",
            )
            continue
        first[organisation.id] = i
        first_service: dict[str, int] = {}
        for j, service in enumerate(organisation.services):
            if service.id in first_service:
                at = ("organisations", i, "services", first_service[service.id], "id")
                yield document.problem(
                    ("organisations", i, "services", j, "id"),
                    f"organisation '{organisation.id}' declares service '{service.id}' twice "
                    f"(first at line {document.line(at)}); give each service its own id, or "
                    "merge the two entries.",
                )
            first_service.setdefault(service.id, j)


def _unknown_references(
    document: YamlDocument, data: Any, organisations: list[tuple[int, Organisation]]
) -> Iterable[Problem]:
    services = {o.id: list(dict.fromkeys(s.id for s in o.services)) for _, o in organisations}
    subject_at = _subject(data)
    for i, entry in enumerate(_entries(data, "exports")):
        organisation, service = _text(entry, "organisation"), _text(entry, "service")
        if organisation is None:  # reported as missing
            continue
        if organisation not in services:
            yield document.problem(
                ("exports", i, "organisation"),
                f"{subject_at(('exports', i))}: organisation '{organisation}' is not declared "
                f"under organisations.{did_you_mean(organisation, services)} Declare it there, "
                "or correct the id.",
            )
        elif service is not None and service not in services[organisation]:
            known = services[organisation]
            yield document.problem(
                ("exports", i, "service"),
                f"{subject_at(('exports', i))}: organisation '{organisation}' has no service "
                f"'{service}'.{did_you_mean(service, known)} Use one of its services "
                f"({', '.join(known) or 'none declared'}), or declare it there.",
            )
