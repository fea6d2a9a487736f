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
import yaml

from pipelines.reference import normalise_label

ORGANISATION_TYPES = {"nhs", "local_authority", "voluntary_sector", "private_provider"}
DATE_ORDERS = {"DMY", "MDY"}


class RegistryError(ValueError):
    """The registry file itself is wrong; the message says where."""


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

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatchcase(file_name, self.pattern)


@dataclass(frozen=True)
class Registry:
    organisations: pl.DataFrame
    services: pl.DataFrame
    service_aliases: pl.DataFrame
    exports: tuple[ExportRegistration, ...]

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

    def registration_for(self, file_name: str) -> ExportRegistration | None:
        matches = self.registrations_for(file_name)
        return matches[0] if len(matches) == 1 else None


def load_registry(path: Path) -> Registry:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
    except FileNotFoundError as error:
        raise RegistryError(f"No registry at {path}: copy data/sources.yml and edit it.") from error
    except yaml.YAMLError as error:
        raise RegistryError(f"{path} is not valid YAML: {error}") from error

    organisations, services, aliases = [], [], []
    for org in document.get("organisations") or []:
        org_id = org.get("id")
        if not org_id:
            raise RegistryError(f"{path}: an organisation has no id: {org}")
        org_type = org.get("type")
        if org_type not in ORGANISATION_TYPES:
            raise RegistryError(
                f"{path}: organisation {org_id} has type {org_type!r}; "
                f"use one of {sorted(ORGANISATION_TYPES)}"
            )
        organisations.append(
            {
                "organisation_id": org_id,
                "organisation_name": org.get("name", org_id),
                "organisation_type": org_type,
                "baseline_wave": org.get("baseline_wave"),
            }
        )
        for service in org.get("services") or []:
            service_id = service["id"]
            services.append(
                {
                    "organisation_id": org_id,
                    "service_id": service_id,
                    "service_name": service.get("name", service_id),
                }
            )
            # A service is found by its id, its name and every alias; renamed or merged
            # services list their old names as aliases so their history stays with them.
            for name in {
                service_id,
                service.get("name", service_id),
                *(service.get("aliases") or []),
            }:
                aliases.append(
                    {
                        "organisation_id": org_id,
                        "alias": str(name),
                        "service_id": service_id,
                    }
                )

    known_orgs = {o["organisation_id"] for o in organisations}
    exports = []
    for entry in document.get("exports") or []:
        try:
            export = ExportRegistration(
                pattern=str(entry["file"]),
                organisation_id=str(entry["organisation"]),
                wave=int(entry["wave"]),
                tool=str(entry["tool"]),
                instrument_id=str(entry["instrument"]),
                date_order=entry.get("date_order"),
                timezone=entry.get("timezone", "Europe/London"),
                service_id=entry.get("service"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise RegistryError(
                f"{path}: export entry {entry} needs file, organisation, wave (a year), tool and "
                f"instrument ({error})"
            ) from error
        if export.organisation_id not in known_orgs:
            raise RegistryError(
                f"{path}: export {export.pattern} names unknown organisation "
                f"{export.organisation_id!r}"
            )
        if export.date_order is not None and export.date_order not in DATE_ORDERS:
            raise RegistryError(
                f"{path}: export {export.pattern} has date_order "
                f"{export.date_order!r}; use DMY or MDY"
            )
        exports.append(export)

    # Keyed by the same rule the reader applies to typed names, so the two always agree.
    alias_frame = (
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
    clashes = alias_frame.group_by("organisation_id", "alias_key").agg(
        pl.col("service_id").n_unique()
    )
    clashes = clashes.filter(pl.col("service_id") > 1)
    if clashes.height:
        raise RegistryError(
            f"{path}: these names point at more than one service: "
            f"{clashes.select('organisation_id', 'alias_key').rows()}"
        )
    return Registry(
        organisations=pl.DataFrame(
            organisations,
            schema={
                "organisation_id": pl.String,
                "organisation_name": pl.String,
                "organisation_type": pl.String,
                "baseline_wave": pl.Int32,
            },
        ),
        services=pl.DataFrame(
            services,
            schema={
                "organisation_id": pl.String,
                "service_id": pl.String,
                "service_name": pl.String,
            },
        ),
        service_aliases=alias_frame,
        exports=tuple(exports),
    )
