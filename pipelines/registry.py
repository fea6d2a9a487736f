"""The registry of organisations, their services and the exports they send (data/sources.yml).

This is the one file an operator edits to register a new organisation or a new export; nothing
is guessed: a file that no export entry matches is held with a message saying so.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl

from pipelines.config_file import ConfigurationError, Problem, YamlDocument, read_yaml
from pipelines.ingest.survey_tools import survey_tools
from pipelines.reference import normalise_label
from pipelines.registry_schema import Organisation, RegistryContext, check_registry
from pipelines.settings import REFERENCE_DIR


class RegistryError(ConfigurationError):
    """The registry file itself is wrong; the message lists every mistake by line."""


@dataclass(frozen=True)
class ExportRegistration:
    pattern: str
    organisation_id: str
    wave: int
    tool: str
    instrument_id: str
    date_order: str | None = None
    timezone: str = "Europe/London"
    service_id: str | None = None
    respondent_group: str | None = None  # everyone in the file is in this group

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatchcase(file_name, self.pattern)


@dataclass(frozen=True)
class Registry:
    organisations: pl.DataFrame
    services: pl.DataFrame
    service_aliases: pl.DataFrame
    exports: tuple[ExportRegistration, ...]
    # (organisation, wave) that may leave or shrink in the marts (publication's partition gate).
    retired_partitions: frozenset[tuple[str, int]] = frozenset()

    def registrations_for(self, file_name: str) -> list[ExportRegistration]:
        """Every export entry whose pattern matches; more than one is an error, not a choice.

        Plain names are looked up directly; only patterns with wildcards are tried one by one,
        so a registry of thousands of exports costs nothing per file."""
        exact = self._by_exact_name().get(file_name, [])
        return [*exact, *(e for e in self._wildcard_exports() if e.matches(file_name))]

    @cached_property
    def _exact_and_wildcard(self) -> tuple[dict[str, list[ExportRegistration]], list]:
        exact: dict[str, list[ExportRegistration]] = {}
        wildcard = []
        for export in self.exports:
            if any(c in export.pattern for c in "*?["):
                wildcard.append(export)
            else:
                exact.setdefault(export.pattern, []).append(export)
        return exact, wildcard

    def _by_exact_name(self) -> dict[str, list[ExportRegistration]]:
        return self._exact_and_wildcard[0]

    def _wildcard_exports(self) -> list[ExportRegistration]:
        return self._exact_and_wildcard[1]

    def organisation_digest(self, organisation_id: str) -> str:
        """What reading an organisation's exports depends on: its services and their aliases."""
        digest = hashlib.sha256()
        for frame in (self.services, self.service_aliases):
            rows = frame.filter(pl.col("organisation_id") == organisation_id)
            digest.update(rows.sort(rows.columns).write_csv().encode())
        return digest.hexdigest()


def load_registry(path: Path) -> Registry:
    """The registry, or a RegistryError listing every mistake in the file by line."""
    try:
        document = read_yaml(path, RegistryError)
    except FileNotFoundError as error:
        raise RegistryError(
            [Problem(path, None, "there is no registry here: copy data/sources.yml and edit it.")]
        ) from error
    checked = check_registry(document, _context())
    organisations = [organisation for _, organisation in checked.organisations]
    aliases = _alias_frame(organisations)
    problems = [*checked.problems, *_alias_clashes(document, checked.organisations, aliases)]
    if problems:
        raise RegistryError(problems)
    return Registry(
        organisations=pl.DataFrame(
            [
                {
                    "organisation_id": o.id,
                    "organisation_name": o.name or o.id,
                    "organisation_type": o.type,
                    "baseline_wave": o.baseline_wave,
                }
                for o in organisations
            ],
            schema={
                "organisation_id": pl.String,
                "organisation_name": pl.String,
                "organisation_type": pl.String,
                "baseline_wave": pl.Int32,
            },
        ),
        services=pl.DataFrame(
            [
                {"organisation_id": o.id, "service_id": s.id, "service_name": s.name or s.id}
                for o in organisations
                for s in o.services
            ],
            schema={
                "organisation_id": pl.String,
                "service_id": pl.String,
                "service_name": pl.String,
            },
        ),
        service_aliases=aliases,
        retired_partitions=frozenset(
            (o.id, wave) for o in organisations for wave in o.retired_waves
        ),
        exports=tuple(
            ExportRegistration(
                pattern=e.file,
                organisation_id=e.organisation,
                wave=e.wave,
                tool=e.tool,
                instrument_id=e.instrument,
                date_order=e.date_order,
                timezone=e.timezone,
                service_id=e.service,
                respondent_group=e.respondent_group,
            )
            for e in checked.exports
        ),
    )


def _context() -> RegistryContext:
    """The tools, instruments and respondent groups an export may name."""
    crosswalk = REFERENCE_DIR / "ref_instrument_columns.csv"
    if not crosswalk.exists():
        raise RegistryError(
            [
                Problem(
                    crosswalk,
                    None,
                    "the reference file is missing, so no instrument can be checked: restore "
                    "it from the repository.",
                )
            ]
        )
    instruments = pl.read_csv(crosswalk, columns=["instrument_id"], infer_schema=False)
    groups_file = REFERENCE_DIR / "ref_respondent_groups.csv"
    groups = (
        pl.read_csv(groups_file, columns=["group_id"], infer_schema=False)["group_id"]
        if groups_file.exists()
        else pl.Series([], dtype=pl.String)
    )
    return RegistryContext(
        tools=frozenset(survey_tools()),
        instruments=frozenset(instruments["instrument_id"].drop_nulls()),
        respondent_groups=frozenset(groups.drop_nulls()),
    )


def _alias_frame(organisations: list[Organisation]) -> pl.DataFrame:
    """Every name a service is found by: its id, its name and its aliases. Renamed or merged
    services list their old names as aliases so their history stays with them."""
    aliases = [
        {"organisation_id": o.id, "alias": name, "service_id": s.id}
        for o in organisations
        for s in o.services
        for name in {s.id, s.name or s.id, *s.aliases}
    ]
    # Keyed by the same rule the reader applies to typed names, so the two always agree.
    return (
        pl.DataFrame(
            aliases,
            schema={"organisation_id": pl.String, "alias": pl.String, "service_id": pl.String},
        )
        .select(
            "organisation_id",
            alias_key=normalise_label(pl.col("alias")),
            service_id="service_id",
        )
        .unique()
    )


def _alias_clashes(
    document: YamlDocument,
    organisations: list[tuple[int, Organisation]],
    aliases: pl.DataFrame,
) -> list[Problem]:
    """A name that points at two services of one organisation would make answers ambiguous."""
    clashes = (
        aliases.group_by("organisation_id", "alias_key")
        .agg(pl.col("service_id").unique().sort())
        .filter(pl.col("service_id").list.len() > 1)
        .sort("organisation_id", "alias_key")
    )
    position = {o.id: (i, [s.id for s in o.services]) for i, o in reversed(organisations)}
    problems = []
    for organisation_id, name, service_ids in clashes.iter_rows():
        i, services = position[organisation_id]
        last = max(services.index(s) for s in service_ids)
        problems.append(
            document.problem(
                ("organisations", i, "services", last),
                f"organisation '{organisation_id}': the name '{name}' points at more than one "
                f"service ({', '.join(service_ids)}); keep it on one service only.",
            )
        )
    return problems
