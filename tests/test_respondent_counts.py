"""Respondent counts per cell (issue 11 item 2): mart_respondents through the real pipeline, on an
export in the project's CSV template, every figure worked out by hand.

count_org, wave 2025. Staff (frontline) answer "heard of co-production?"; people who draw on
care answer only "I have a say", so they are respondents of every cell they are in but give
the awareness measure no answer:
  big    30 frontline + 12 people who draw on care = 42
  mid    14 frontline
  small   6 frontline
  organisation 62 = workforce 50 (all frontline) + lived experience 12
The file also holds one repeat submission (the first big respondent again, five minutes later,
identical answers), and a re-export repeats five responses: neither is another respondent.

Service x role (service_group): big x frontline 30, big x people who draw on care 12, mid x
frontline 14, small x frontline 6.

Withheld: small (6), small x workforce (6) and small x frontline (6) have fewer than 10
respondents. Then, as for any count, the smallest other part of a published total is withheld
so that the total cannot give them away. Neighbouring totals first (round 1): mid (14) among
the services of the organisation (62 - 42 would give small + mid, not small alone, once mid is
withheld); mid x workforce (14) among the services of the workforce roll-up (50 = 30 + 14 + 6);
mid x frontline (14) among the services of the frontline role (50 = 30 + 14 + 6). The totals
further up then already have two withheld parts each: the organisation over each service's
roll-ups (62 = 30 + 12 + 14 + 6) and over each service's roles, so nothing more is withheld.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from pipelines.quality_gates import run_gate
from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import open_workspace

FRONTLINE = "Frontline care or support worker"
SECONDARY = "secondary: protects a withheld cell among "

# (breakdown, service_id, group_id): (n_respondents, suppression_reason), by hand as above.
EXPECTED = {
    ("organisation", "all", "all"): (62, None),
    ("organisation_rollup", "all", "workforce"): (50, None),
    ("organisation_rollup", "all", "lived_experience"): (12, None),
    ("organisation_group", "all", "frontline"): (50, None),
    ("organisation_group", "all", "person_drawing_on_care"): (12, None),
    ("service", "big", "all"): (42, None),
    ("service", "mid", "all"): (None, SECONDARY + "services of organisation"),
    ("service", "small", "all"): (None, "fewer than 10 respondents"),
    ("service_rollup", "big", "workforce"): (30, None),
    ("service_rollup", "big", "lived_experience"): (12, None),
    ("service_rollup", "mid", "workforce"): (None, SECONDARY + "services of rollup"),
    ("service_rollup", "small", "workforce"): (None, "fewer than 10 respondents"),
    ("service_group", "big", "frontline"): (30, None),
    ("service_group", "big", "person_drawing_on_care"): (12, None),
    ("service_group", "mid", "frontline"): (None, SECONDARY + "services of group"),
    ("service_group", "small", "frontline"): (None, "fewer than 10 respondents"),
}

# The Great Expectations suite parameters the pipeline would pass for this workspace.
GATE_PARAMETERS = {
    "known_organisations": ["count_org"],
    "known_services": ["all", "big", "mid", "small"],
    "known_groups": ["all", "workforce", "lived_experience", "frontline", "person_drawing_on_care"],
    "known_breakdowns": ["organisation", "organisation_rollup", "organisation_group", "service",
                         "service_rollup", "service_group"],
    "min_cell_size": 10,
    "min_row_count": 16,
}  # fmt: skip


def staff(service: str, count: int, aware_yes: int) -> list[dict]:
    aware = answers(count, Yes=aware_yes, No=count - aware_yes)
    return people(FRONTLINE, count, f"{service}25", service, year=2025, cp_aware=aware)


@pytest.fixture(scope="module")
def counted(tmp_path_factory, module_monkeypatch):
    workspace = open_workspace(tmp_path_factory.mktemp("respondents") / "data", module_monkeypatch)
    workspace.register(
        [organisation("count_org", ["big", "mid", "small"])],
        [export("count_2025*.csv", "count_org", 2025)],
    )
    lived = people(
        "Person who draws on care and support", 12, "lived25", "big", year=2025,
        cp_say=answers(12, Agree=7, Disagree=5),
    )  # fmt: skip
    rows = staff("big", 30, 20) + lived + staff("mid", 14, 7) + staff("small", 6, 3)
    repeat = {
        **rows[0],
        "respondent_id": "big25-again",
        "submitted_at": rows[0]["submitted_at"].replace(":00:00", ":05:00"),
    }
    workspace.drop("count_2025.csv", template_csv([*rows, repeat]))
    workspace.drop("count_2025_reexport.csv", template_csv(rows[:5]))
    assert workspace.run().success
    return workspace


def test_every_cell_has_its_respondent_count_withheld_like_any_count(counted):
    respondents = counted.mart("mart_respondents")
    assert respondents["organisation_id"].unique().to_list() == ["count_org"]
    published = {
        (row["breakdown"], row["service_id"], row["group_id"]): (
            row["n_respondents"],
            row["suppression_reason"],
        )
        for row in respondents.iter_rows(named=True)
    }
    assert published == EXPECTED
    withheld = respondents.filter(pl.col("suppressed"))
    assert withheld.height == 6 and withheld["n_respondents"].null_count() == 6
    first = respondents.filter(pl.col("breakdown") == "organisation").row(0, named=True)
    assert (first["wave"], first["wave_number"], first["is_baseline"]) == (2025, 1, True)
    assert (first["service_name"], first["group_label"]) == ("All services", "All respondents")


def test_respondents_are_counted_once_whatever_they_answered(counted):
    duplicates = counted.query("""
        select count(*) filter (where is_repeat_submission) as repeats,
               count(*) filter (where is_reexported_copy) as copies,
               count(*) filter (where counts_in_measures) as counted
        from intermediate.int_responses_duplicates_marked""")
    assert duplicates.row(0) == (1, 5, 62)  # 62 + 1 repeat + 5 copies = 68 rows read
    # Awareness has 50 valid answers (staff only) where the organisation has 62 respondents:
    # joined on the cell, each figure keeps its own denominator.
    joined = counted.mart("mart_respondents").join(
        counted.mart("mart_measures").filter(pl.col("measure_id") == "aware"),
        on=["organisation_id", "wave", "breakdown", "service_id", "group_id"],
    )
    organisation = joined.filter(pl.col("breakdown") == "organisation").row(0, named=True)
    assert (organisation["n_respondents"], organisation["n"], organisation["k"]) == (62, 50, 30)
    services = joined.filter(pl.col("breakdown") == "service")
    big = services.filter(pl.col("service_id") == "big").row(0, named=True)
    assert (big["n_respondents"], big["n"], big["k"]) == (42, 30, 20)


def test_no_withheld_respondent_count_can_be_worked_out(counted):
    """The families the recoverability test checks hold the respondent counts too: none has a
    published total with exactly one of several parts withheld."""
    families = counted.query("""
        select family, scope, parent_published, children, withheld_children
        from intermediate.int_suppression_families
        where measure_id = 'respondents' order by family, scope""").rows()
    # (family, the total's service/group, total published, parts, parts withheld), by hand
    assert families == [
        ("groups_of_organisation", "all/all", True, 2, 0),
        ("groups_of_rollup", "all/lived_experience", True, 1, 0),
        ("groups_of_rollup", "all/workforce", True, 1, 0),
        ("groups_of_service", "big/all", True, 2, 0),
        ("groups_of_service", "mid/all", False, 1, 1),
        ("groups_of_service", "small/all", False, 1, 1),
        ("groups_of_service_rollup", "big/lived_experience", True, 1, 0),
        ("groups_of_service_rollup", "big/workforce", True, 1, 0),
        ("groups_of_service_rollup", "mid/workforce", False, 1, 1),
        ("groups_of_service_rollup", "small/workforce", False, 1, 1),
        ("rollups_of_organisation", "all/all", True, 2, 0),
        ("rollups_of_service", "big/all", True, 2, 0),
        ("rollups_of_service", "mid/all", False, 1, 1),
        ("rollups_of_service", "small/all", False, 1, 1),
        ("service_groups_of_organisation", "all/all", True, 4, 2),
        ("service_groups_of_rollup", "all/lived_experience", True, 1, 0),
        ("service_groups_of_rollup", "all/workforce", True, 3, 2),
        ("service_rollups_of_organisation", "all/all", True, 4, 2),
        ("services_of_group", "all/frontline", True, 3, 2),
        ("services_of_group", "all/person_drawing_on_care", True, 1, 0),
        ("services_of_organisation", "all/all", True, 3, 2),
        ("services_of_rollup", "all/lived_experience", True, 1, 0),
        ("services_of_rollup", "all/workforce", True, 3, 2),
    ]


def test_the_publication_gate_refuses_a_withheld_count_shown(counted, tmp_path):
    """The Great Expectations gate of mart_respondents, on the published rows and on the same
    rows with small's withheld 6 printed and mid's published as 6 below the minimum."""
    published = counted.marts / "mart_respondents.parquet"
    parameters = GATE_PARAMETERS
    results = tmp_path / "gx_results"
    assert run_gate("mart_respondents", published, parameters, results).passed
    is_small = (pl.col("breakdown") == "service") & (pl.col("service_id") == "small")
    is_mid = (pl.col("breakdown") == "service") & (pl.col("service_id") == "mid")
    tampered = pl.read_parquet(published).with_columns(
        n_respondents=pl.when(is_small | is_mid).then(6).otherwise(pl.col("n_respondents")),
        suppressed=pl.when(is_mid).then(False).otherwise(pl.col("suppressed")),
    )
    tampered.write_parquet(tmp_path / "mart_respondents.parquet")
    result = run_gate(
        "mart_respondents", tmp_path / "mart_respondents.parquet", parameters, results
    )
    assert not result.passed
    assert sorted((f["expectation"], f["unexpected_count"]) for f in result.failures) == [
        ("expect_column_values_to_be_between", 2),  # small and mid: 6 < 10
        ("expect_column_values_to_be_null", 1),  # small: withheld, yet printed
    ]


def test_the_publication_gate_refuses_a_breakdown_not_declared(counted, tmp_path):
    """The breakdown value set is ref_breakdowns.csv's, passed to the suite at run time: a row
    of a breakdown the reference data does not declare is refused."""
    published = pl.read_parquet(counted.marts / "mart_respondents.parquet")
    declared = [b for b in GATE_PARAMETERS["known_breakdowns"] if b != "service_group"]
    parameters = {**GATE_PARAMETERS, "known_breakdowns": declared}
    published.write_parquet(tmp_path / "mart_respondents.parquet")
    result = run_gate(
        "mart_respondents", tmp_path / "mart_respondents.parquet", parameters, tmp_path / "gx"
    )
    assert [(f["expectation"], f["column"], f["unexpected_count"]) for f in result.failures] == [
        ("expect_column_values_to_be_in_set", "breakdown", 4)  # the four service x role rows
    ]


def test_the_report_says_how_many_took_part(counted):
    """The organisation's page opens with its respondent counts, withheld ones marked: the
    rows are the report's groups (everyone, each roll-up), then each service."""
    page = (counted.marts / "reports" / "count_org.html").read_text()
    section = page[page.index('<section id="respondents">') :]
    section = section[: section.index("</section>")]

    def text(cell: str) -> str:  # a cell's words, a withheld figure without its footnote mark
        words = " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        return "withheld" if words.startswith("withheld") else words

    rows = [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section)
    ]
    assert rows == [
        ["Who", "2025 (baseline)"],
        ["Everyone", "62"],
        ["Workforce", "50"],
        ["Lived experience", "12"],
        ["By service"],
        ["Big", "42"],
        ["Mid", "withheld"],
        ["Small", "withheld"],
    ]
    assert '<a href="#respondents">Who took part</a>' in page
