"""Every mistake in the registry (data/sources.yml) or the tools' layouts (survey_tools.yml) is
refused before anything runs, with the file, the line, what is wrong and how to fix it, all of
them at once; `coprod check` and `coprod run` then exit 2 and leave nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from pipelines.config_file import ConfigurationError
from pipelines.ingest.survey_tools import load_survey_tools
from pipelines.registry import RegistryError, load_registry
from pipelines.settings import REPO_ROOT
from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import copy_dbt_project

# Line numbers in the expected messages count from the first line of each text.
ORGANISATIONS = """\
organisations:
  - id: riverside
    type: voluntary_sector
    services:
      - id: outreach
        name: Outreach
"""
EXPORT = """\
exports:
  - file: a.csv
    organisation: riverside
    wave: 2024
    tool: template
    instrument: coprod_template_v1
"""


def mistakes(workspace, text: str | bytes) -> list[str]:
    """The registry's problems, one a line, with the file shown as sources.yml."""
    if isinstance(text, str):
        text = textwrap.dedent(text).encode()
    workspace.registry_file.write_bytes(text)
    with pytest.raises(RegistryError) as refused:
        load_registry(workspace.registry_file)
    return str(refused.value).replace(str(workspace.registry_file), "sources.yml").splitlines()


def test_the_bundled_registry_and_every_key_tests_use_are_accepted(workspace):
    shutil.copy(REPO_ROOT / "data" / "sources.yml", workspace.registry_file)
    assert len(load_registry(workspace.registry_file).exports) == 9
    org = {**organisation("org", ["main", "annex"]), "baseline_wave": 2025}
    org["services"][0]["aliases"] = ["Main site", 101]  # a number is a name too
    workspace.register(
        [org],
        [
            export("a_*.csv", "org", 2024, service="annex", timezone="Europe/Dublin"),
            export("b.csv", "org", 2025, tool="auto", date_order="DMY"),
        ],
    )
    registry = load_registry(workspace.registry_file)
    assert registry.exports[0].service_id == "annex"
    assert "101" in registry.service_aliases["alias_key"].to_list()


def test_a_key_left_blank_means_none(workspace):
    workspace.registry_file.write_text(
        ORGANISATIONS.replace("    services:\n      - id: outreach\n        name: Outreach\n", "")
        + "    services:\n"
        + EXPORT
    )
    assert load_registry(workspace.registry_file).services.height == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            ORGANISATIONS.replace("services:", "servces:") + EXPORT,
            [
                "sources.yml:4: organisation 'riverside' has an unknown key 'servces'. "
                "Did you mean 'services'?",
            ],
            id="misspelt key",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT + "    colour: blue\n",
            [
                "sources.yml:13: export 'a.csv' has an unknown key 'colour'. The keys allowed "
                "here are file, organisation, wave, tool, instrument, date_order, timezone, "
                "service, respondent_group.",
            ],
            id="unknown key",
        ),
        pytest.param(
            ORGANISATIONS.replace("  - id: riverside\n    type: voluntary_sector", "  - name: R")
            + EXPORT,
            [
                "sources.yml:2: organisation no. 1 has no 'id'; add id: followed by a short id "
                "such as riverside_recovery.",
                "sources.yml:2: organisation no. 1 has no 'type'; add type: followed by one of "
                "nhs, local_authority, voluntary_sector, private_provider.",
                "sources.yml:8: export 'a.csv': organisation 'riverside' is not declared under "
                "organisations. Declare it there, or correct the id.",
            ],
            id="organisation without id or type",
        ),
        pytest.param(
            ORGANISATIONS.replace("- id: outreach\n        name", "- name") + EXPORT,
            [
                "sources.yml:5: service no. 1 of organisation 'riverside' has no 'id'; add id: "
                "followed by a short id such as outreach.",
            ],
            id="service without id",
        ),
        pytest.param(
            ORGANISATIONS + "exports:\n  - file: a.csv\n",
            [
                "sources.yml:8: export 'a.csv' has no 'organisation'; add organisation: followed "
                "by the id of an organisation declared under organisations.",
                "sources.yml:8: export 'a.csv' has no 'wave'; add wave: followed by the survey "
                "year, such as 2025.",
                "sources.yml:8: export 'a.csv' has no 'tool'; add tool: followed by the survey "
                "tool that wrote the file, as named in pipelines/ingest/survey_tools.yml, or "
                "auto.",
                "sources.yml:8: export 'a.csv' has no 'instrument'; add instrument: followed by "
                "the questionnaire version, as in dbt_project/seeds/ref_instrument_columns.csv.",
            ],
            id="export without its keys",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT.replace("organisation: riverside", "wave: 2025"),
            [
                "sources.yml:8: export 'a.csv' has no 'organisation'; add organisation: followed "
                "by the id of an organisation declared under organisations.",
                "sources.yml:10: the key 'wave' appears twice in the same entry (first at line "
                "9); only the last would count: remove one.",
            ],
            id="key written twice",
        ),
        pytest.param(
            ORGANISATIONS + "exports: 42\n",
            [
                "sources.yml:7: the registry: 'exports' must be a list of exports, each with "
                "file, organisation, wave, tool and instrument, not 42.",
            ],
            id="exports not a list",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT.replace("wave: 2024", "wave: twenty"),
            [
                "sources.yml:10: export 'a.csv': 'wave' must be the survey year, such as 2025, "
                "not 'twenty'.",
            ],
            id="wave not a year",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT.replace("tool: template", "tool: qualtrix"),
            [
                "sources.yml:11: export 'a.csv': tool 'qualtrix' is not a survey tool this "
                "pipeline reads. Did you mean 'qualtrics'? Use one of google_forms, "
                "microsoft_forms, qualtrics, spss, surveymonkey, template, or auto to recognise "
                "it from the file.",
            ],
            id="unknown tool",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT.replace("coprod_template_v1", "coprod_templat_v1"),
            [
                "sources.yml:12: export 'a.csv': instrument 'coprod_templat_v1' is not in "
                "ref_instrument_columns.csv. Did you mean 'coprod_template_v1'? Use one of "
                "coprod_template_v1, coprod_template_v2, google_forms_coprod_v1, "
                "microsoft_forms_coprod_v1, qualtrics_coprod_v1, surveymonkey_coprod_v1, or "
                "declare the new questionnaire's columns there first.",
            ],
            id="unknown instrument",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT + "    timezone: Europe/Londn\n",
            [
                "sources.yml:13: export 'a.csv': timezone 'Europe/Londn' is not a time zone "
                "name. Did you mean 'Europe/London'? Use a name such as Europe/London or "
                "Europe/Dublin.",
            ],
            id="unknown timezone",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT + "    respondent_group: frontline_staff\n",
            [
                "sources.yml:13: export 'a.csv': respondent_group 'frontline_staff' is not a "
                "group in ref_respondent_groups.csv. Did you mean 'frontline'? Use one of carer, "
                "frontline, peer_worker, person_drawing_on_care, practitioner, senior_manager, "
                "support_function, trustee, volunteer.",
            ],
            id="unknown respondent group",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT + "    date_order: dmy\n",
            [
                "sources.yml:13: export 'a.csv': 'date_order' must be DMY or MDY, not 'dmy'. "
                "Did you mean 'DMY'?",
            ],
            id="bad date order",
        ),
        pytest.param(
            ORGANISATIONS.replace("voluntary_sector", "charity") + EXPORT,
            [
                "sources.yml:3: organisation 'riverside': 'type' must be one of nhs, "
                "local_authority, voluntary_sector, private_provider, not 'charity'.",
            ],
            id="unknown organisation type",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT.replace("organisation: riverside", "organisation: riversde"),
            [
                "sources.yml:9: export 'a.csv': organisation 'riversde' is not declared under "
                "organisations. Did you mean 'riverside'? Declare it there, or correct the id.",
            ],
            id="export of an unknown organisation",
        ),
        pytest.param(
            ORGANISATIONS + EXPORT + "    service: outrech\n",
            [
                "sources.yml:13: export 'a.csv': organisation 'riverside' has no service "
                "'outrech'. Did you mean 'outreach'? Use one of its services (outreach), or "
                "declare it there.",
            ],
            id="export of an unknown service",
        ),
        pytest.param(
            ORGANISATIONS + ORGANISATIONS.removeprefix("organisations:\n") + EXPORT,
            [
                "sources.yml:7: organisation 'riverside' is declared twice (first at line 2); "
                "give each organisation its own id, or merge the two entries.",
            ],
            id="organisation declared twice",
        ),
        pytest.param(
            ORGANISATIONS + "      - id: outreach\n" + EXPORT,
            [
                "sources.yml:7: organisation 'riverside' declares service 'outreach' twice "
                "(first at line 5); give each service its own id, or merge the two entries.",
            ],
            id="service declared twice",
        ),
        pytest.param(
            ORGANISATIONS + "      - id: All\n" + EXPORT,
            [
                "sources.yml:7: service 'All' of organisation 'riverside': service id 'All' is "
                "reserved: the marts use 'all' for figures about the whole organisation. Give "
                "the service another id.",
            ],
            id="reserved service id",
        ),
        pytest.param(
            ORGANISATIONS + "      - id: rehab\n        aliases: [OUTREACH]\n" + EXPORT,
            [
                "sources.yml:7: organisation 'riverside': the name 'outreach' points at more "
                "than one service (outreach, rehab); keep it on one service only.",
            ],
            id="one name for two services",
        ),
        pytest.param(
            b"organisations:\n  - id: caf\xe9\n",
            [
                "sources.yml:2: the file is not UTF-8 text (byte 27); save it as UTF-8 (in "
                "Notepad or Excel: Save As, encoding UTF-8).",
            ],
            id="not UTF-8",
        ),
        pytest.param(
            ORGANISATIONS.replace("    services:", "   services:") + EXPORT,
            [
                "sources.yml:4: this is not valid YAML (did not find expected '-' indicator); "
                "check the indentation, colons and quotes on this line and the one above.",
            ],
            id="not YAML",
        ),
        pytest.param(
            "# nothing registered yet\n",
            [
                "sources.yml:1: the registry registers no organisation; nothing would be "
                "published: declare each one under organisations:",
                "sources.yml:1: the registry registers no export; nothing would be published: "
                "list the files under exports:",
            ],
            id="empty registry",
        ),
        pytest.param(
            ORGANISATIONS + "exports: []\n",
            [
                "sources.yml:7: the registry registers no export; nothing would be published: "
                "list the files under exports:",
            ],
            id="no export",
        ),
    ],
)
def test_each_mistake_is_named_with_its_line_and_its_fix(workspace, text, expected):
    assert mistakes(workspace, text) == expected


def test_every_mistake_is_reported_in_one_go_in_line_order(workspace):
    text = (
        ORGANISATIONS.replace("voluntary_sector", "voluntary")
        + "      - id: outreach\n"
        + EXPORT.replace("wave: 2024", "wave: 2O24").replace("tool: template", "tol: template")
    )
    assert mistakes(workspace, text) == [
        "sources.yml:3: organisation 'riverside': 'type' must be one of nhs, local_authority, "
        "voluntary_sector, private_provider, not 'voluntary'. Did you mean 'voluntary_sector'?",
        "sources.yml:7: organisation 'riverside' declares service 'outreach' twice (first at "
        "line 5); give each service its own id, or merge the two entries.",
        "sources.yml:9: export 'a.csv' has no 'tool'; add tool: followed by the survey tool "
        "that wrote the file, as named in pipelines/ingest/survey_tools.yml, or auto.",
        "sources.yml:11: export 'a.csv': 'wave' must be the survey year, such as 2025, not '2O24'.",
        "sources.yml:12: export 'a.csv' has an unknown key 'tol'. Did you mean 'tool'?",
    ]


def test_a_missing_registry_says_what_to_do(workspace):
    with pytest.raises(RegistryError) as refused:
        load_registry(workspace.registry_file)
    assert str(refused.value) == (
        f"{workspace.registry_file}: there is no registry here: copy data/sources.yml and edit it."
    )


def test_the_tools_layouts_are_checked_the_same_way(tmp_path):
    layouts = tmp_path / "survey_tools.yml"
    layouts.write_text(
        textwrap.dedent(
            """\
            template:
              label: Template
              file_types: [csv, xls]
              header_rows: 1
              header_style: first_rows
              signature: [respondent_id]
              submited_at: submitted_at
              date_formats: ["%Y-%m-%d"]
              multi_select: {seperator: ";"}
            monkey:
              label: Monkey
              file_types: [csv]
              header_rows: 1
              header_style: question_then_option
              signature: [Respondent ID]
              submitted_at: End Date
              date_formats: ["%m/%d/%Y"]
            """
        )
    )
    with pytest.raises(ConfigurationError) as refused:
        load_survey_tools(layouts)
    assert str(refused.value).replace(str(layouts), "survey_tools.yml").splitlines() == [
        "survey_tools.yml:1: tool 'template' has no 'submitted_at'; add submitted_at: followed "
        "by the column holding when the response was submitted.",
        "survey_tools.yml:3: tool 'template': 'file_types' must be a list of file endings among "
        "csv, xlsx, xlsm, sav, not 'xls'. Did you mean 'xlsx'?",
        "survey_tools.yml:5: tool 'template': 'header_style' must be one of first_row, "
        "question_then_option, not 'first_rows'. Did you mean 'first_row'?",
        "survey_tools.yml:7: tool 'template' has an unknown key 'submited_at'. Did you mean "
        "'submitted_at'?",
        "survey_tools.yml:9: multi_select of tool 'template' has an unknown key 'seperator'. "
        "Did you mean 'separator'?",
        "survey_tools.yml:13: tool 'monkey': header_style question_then_option needs "
        "header_rows of 2 or more (the questions, then the options).",
    ]


def coprod(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def test_a_misspelt_tool_stops_check_and_run_before_anything_is_written(workspace):
    workspace.register(
        [organisation("typo_org", ["main"])],
        [export("typo_2024.csv", "typo_org", 2024, tool="templates")],
    )
    rows = people(
        "Frontline care or support worker", 12, "T", "Main", year=2024, cp_aware=answers(12, Yes=9)
    )
    workspace.drop("typo_2024.csv", template_csv(rows))
    line = workspace.registry_file.read_text().splitlines().index("  tool: templates") + 1
    expected = (
        f"{workspace.registry_file}:{line}: export 'typo_2024.csv': tool 'templates' is not a "
        "survey tool this pipeline reads. Did you mean 'template'?"
    )
    for command in ("check", "run"):
        result = coprod(command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert expected in result.stderr
        assert "1 configuration problem(s)" in result.stderr
    assert sorted(p.name for p in workspace.root.iterdir()) == ["inbox", "sources.yml"]
    assert not workspace.warehouse.exists() and not workspace.marts.exists()
    assert not (workspace.root / "archive").exists()


def test_check_accepts_the_bundled_registry(workspace):
    shutil.copy(REPO_ROOT / "data" / "sources.yml", workspace.registry_file)
    result = coprod("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Configuration OK: 3 organisations, 11 services, 9 exports, 6 tools.\n"
    )


def test_check_refuses_missing_reference_data(workspace, tmp_path):
    shutil.copy(REPO_ROOT / "data" / "sources.yml", workspace.registry_file)
    project = copy_dbt_project(tmp_path)
    (project / "seeds" / "ref_instrument_columns.csv").unlink()
    result = coprod("check", COPROD_DBT_PROJECT_DIR=str(project))
    assert result.returncode == 2
    assert (
        f"{project / 'seeds' / 'ref_instrument_columns.csv'}: the reference file is missing, "
        "so no instrument can be checked: restore it from the repository."
    ) in result.stderr


def test_check_refuses_a_breakdown_it_could_not_build(workspace, tmp_path):
    """ref_breakdowns.csv decides cells, suppression families and report panels: a mistake in
    it exits 2 before anything runs, each named with its line."""
    shutil.copy(REPO_ROOT / "data" / "sources.yml", workspace.registry_file)
    project = copy_dbt_project(tmp_path)
    breakdowns = project / "seeds" / "ref_breakdowns.csv"
    breakdowns.write_text(
        breakdowns.read_text()
        + "service_team,By service and team,service,team,\n"  # line 8: no such group level
        + "by_role_again,By role,organisation,group,\n"  # line 9: the same levels as line 4
        + "service_rows,By service,service,all,measure_rows\n"  # line 10: a panel it cannot fill
    )
    result = coprod("check", COPROD_DBT_PROJECT_DIR=str(project))
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if str(breakdowns) in line] == [
        f"{breakdowns}:8: group_level must be all, rollup or group.",
        f"{breakdowns}:9: another breakdown has the same service_level and group_level.",
        f"{breakdowns}:10: another breakdown has the same service_level and group_level.",
        f"{breakdowns}:10: report_panel measure_rows is for service_level organisation, "
        "service_columns for service_level service.",
    ]
    assert not (workspace.root / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("COPROD_MAX_REJECTED_SHARE", "half", "must be a number between 0 and 1 (default 0.5)."),
        ("COPROD_MIN_PARTITION_SHARE", "1.5", "must be a number between 0 and 1 (default 0.5)."),
        (
            "COPROD_DBT_BATCH_RESPONSES",
            "0",
            "must be a whole number of at least 1 (default 1500000).",
        ),
        (
            "COPROD_EARLIEST_DATE",
            "1/1/2000",
            "must be a date written YYYY-MM-DD (default 2000-01-01).",
        ),
        (
            "COPROD_HASH_KEY",
            "",
            "is set but empty: set the secret key, or unset it to use the public development key "
            "(bundled samples only).",
        ),
    ],
)
def test_a_wrong_setting_stops_every_command_with_exit_2(workspace, variable, value, message):
    shutil.copy(REPO_ROOT / "data" / "sources.yml", workspace.registry_file)
    for command in ("check", "run", "status"):
        result = coprod(command, **{variable: value})
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr == f"Configuration error: {variable} {message}\n"
    assert sorted(p.name for p in workspace.root.iterdir()) == ["inbox", "sources.yml"]


def test_the_readme_lists_every_registry_key():
    """The README's table of registry keys is the one a user reads: a key added to the schema
    and not to the table fails here."""
    from pipelines.registry_schema import Export, Organisation, Service
    from pipelines.settings import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("Every key `data/sources.yml` reads")[1].split("\n\n")[1]
    for model in (Organisation, Export, Service):
        for key in model.model_fields:
            assert f"`{key}`" in table, f"{model.__name__}.{key} is not in the README's table"
