"""Everything an operator edits, checked together before a run touches anything: the reference
data (dbt_project/seeds), the survey tools' layouts and the registry."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.breakdowns import breakdown_problems
from pipelines.config_file import ConfigurationError, Problem
from pipelines.ingest.survey_tools import SurveyTool, survey_tools
from pipelines.reference import load_reference
from pipelines.registry import Registry, RegistryError, load_registry
from pipelines.settings import REFERENCE_DIR, Settings


@dataclass(frozen=True)
class CheckedConfiguration:
    registry: Registry
    tools: dict[str, SurveyTool]

    def summary(self) -> str:
        return (
            f"{self.registry.organisations.height} organisations, "
            f"{self.registry.services.height} services, {len(self.registry.exports)} exports, "
            f"{len(self.tools)} tools"
        )


def check_configuration(settings: Settings) -> CheckedConfiguration:
    """The configuration, or a ConfigurationError listing every problem found."""
    problems: list[Problem] = []
    try:
        load_reference()
    except FileNotFoundError as error:
        problems.append(
            Problem(
                REFERENCE_DIR,
                None,
                f"the reference data cannot be read ({error}); restore dbt_project/seeds from "
                "the repository.",
            )
        )
    else:
        problems += breakdown_problems(REFERENCE_DIR / "ref_breakdowns.csv")
    try:
        tools = survey_tools()
    except ConfigurationError as error:  # the registry is checked against the tools: stop here
        raise ConfigurationError([*problems, *error.problems]) from error
    try:
        registry = load_registry(settings.registry_file)
    except RegistryError as error:
        raise ConfigurationError([*problems, *error.problems]) from error
    if problems:
        raise ConfigurationError(problems)
    return CheckedConfiguration(registry, tools)
