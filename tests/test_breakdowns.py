"""Breakdowns are data (issue 11 item 1): adding one is a one-row change to ref_breakdowns.csv.

A copy of the dbt project starts without the service x role breakdown (service_group): the
marts have no such rows and the report no such table. Adding back its one row, and nothing
else, gives its cells in the marts with the hand-computed figures below, its suppression
families (the Great Expectations gates and the recoverability test pass), and a by-service
table in the report, because the row asks for one (report_panel service_columns).

One Google Forms export (anonymous, every respondent in a workforce role), bd_org, wave 2025;
"heard of co-production?" (aware: Yes over Yes + No) per service x role:
              frontline     senior manager   practitioner
    north     12/20 60.0%   9/12 75.0%       7/14 50.0%
    south     6/15  40.0%   5/7  withheld    8/11 withheld
    east      20/25 80.0%   4/10 withheld    5/10 withheld
south x senior manager has 7 answers: fewer than 10, withheld. Neighbouring totals first
(round 1): south's workforce (33 = 15 + 7 + 11) would give it away, so its smallest other role
is withheld, south x practitioner (11); so would all senior managers (29 = 12 + 7 + 10): east x
senior manager (10). Round 2, which also judges totals two steps up: east (35 = 25 + 10 + 10),
east's workforce and all practitioners now each have one withheld part, and east x practitioner
(10) is the smallest other part of all three. Every row and column then has two withheld cells
or none; north and the frontline column stay published.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from tests.builders import export, google_forms_csv, organisation
from tests.conftest import copy_dbt_project, open_workspace, run_with_project
from tests.test_reference_changes import append_rows

ROLES = {
    "frontline": "Frontline care or support worker",
    "senior_manager": "Senior leader or manager",
    "practitioner": "Clinical or professional practitioner",
}
# (service, role): (answers, of them Yes)
ANSWERS = {
    ("north", "frontline"): (20, 12),
    ("north", "senior_manager"): (12, 9),
    ("north", "practitioner"): (14, 7),
    ("south", "frontline"): (15, 6),
    ("south", "senior_manager"): (7, 5),
    ("south", "practitioner"): (11, 8),
    ("east", "frontline"): (25, 20),
    ("east", "senior_manager"): (10, 4),
    ("east", "practitioner"): (10, 5),
}
SECONDARY = "secondary: protects a withheld cell among "
# (service, role): (n, k, pct, suppression_reason), by hand as above
EXPECTED = {
    ("north", "frontline"): (20, 12, 60.0, None),
    ("north", "senior_manager"): (12, 9, 75.0, None),
    ("north", "practitioner"): (14, 7, 50.0, None),
    ("south", "frontline"): (15, 6, 40.0, None),
    ("south", "senior_manager"): (None, None, None, "fewer than 10 valid answers"),
    ("south", "practitioner"): (None, None, None, SECONDARY + "groups of service rollup"),
    ("east", "frontline"): (25, 20, 80.0, None),
    ("east", "senior_manager"): (None, None, None, SECONDARY + "services of group"),
    # withheld for three totals in the same round; the reason names the first family by name
    ("east", "practitioner"): (None, None, None, SECONDARY + "groups of service"),
}
SERVICE_BY_ROLE = {
    "breakdown": "service_group",
    "label": "By service and role",
    "service_level": "service",
    "group_level": "group",
    "report_panel": "service_columns",
}


def form_rows() -> list[dict]:
    rows, moment = [], dt.datetime(2025, 3, 3, 9, 0)
    for (service, role), (answered, yes) in ANSWERS.items():
        for i in range(answered):
            moment += dt.timedelta(minutes=7)
            rows.append(
                {
                    "timestamp": moment,
                    "service": service.title(),
                    "respondent_group": ROLES[role],
                    "CP_AWARE": "Yes" if i < yes else "No",
                }
            )
    return rows


def without_service_by_role(project) -> None:
    breakdowns = project / "seeds" / "ref_breakdowns.csv"
    lines = breakdowns.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("service_group,")]
    assert len(kept) == len(lines) - 1
    breakdowns.write_text("".join(kept))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, module_monkeypatch):
    """The same workspace run twice: without the service_group row, then with it added."""
    root = tmp_path_factory.mktemp("breakdowns")
    workspace = open_workspace(root / "data", module_monkeypatch)
    workspace.register(
        [organisation("bd_org", ["north", "south", "east"])],
        [
            export(
                "bd_2025.csv", "bd_org", 2025, tool="google_forms",
                instrument="google_forms_coprod_v1",
            )
        ],
    )  # fmt: skip
    workspace.drop("bd_2025.csv", google_forms_csv(form_rows()))
    project = copy_dbt_project(root)
    without_service_by_role(project)
    run_with_project(project)
    before = {
        "measures": workspace.mart("mart_measures"),
        "respondents": workspace.mart("mart_respondents"),
        "report": (workspace.marts / "reports" / "bd_org.html").read_text(),
    }
    append_rows(project / "seeds" / "ref_breakdowns.csv", [SERVICE_BY_ROLE])  # the one row
    run_with_project(project)
    return workspace, before


def test_without_the_row_there_is_no_service_by_role(runs):
    _, before = runs
    for mart in ("measures", "respondents"):
        assert "service_group" not in before[mart]["breakdown"].to_list()
        assert set(before[mart]["breakdown"]) == {
            "organisation", "organisation_rollup", "organisation_group", "service",
            "service_rollup",
        }  # fmt: skip
    assert "By service and role" not in before["report"]


def test_one_row_adds_service_by_role_cells_with_their_suppression(runs):
    workspace, _ = runs
    aware = workspace.mart("mart_measures").filter(
        (pl.col("measure_id") == "aware") & (pl.col("breakdown") == "service_group")
    )
    published = {
        (r["service_id"], r["group_id"]): (r["n"], r["k"], r["pct"], r["suppression_reason"])
        for r in aware.iter_rows(named=True)
    }
    assert published == EXPECTED
    respondents = workspace.mart("mart_respondents").filter(pl.col("breakdown") == "service_group")
    assert {
        (r["service_id"], r["group_id"]): r["n_respondents"]
        for r in respondents.iter_rows(named=True)
    } == {cell: figures[0] for cell, figures in EXPECTED.items()}  # everyone answered aware
    families = workspace.query("""
        select family, count(*) as families
        from intermediate.int_suppression_families
        where measure_id = 'aware' and family in ('groups_of_service_rollup', 'services_of_group')
        group by family order by family""").rows()
    assert families == [("groups_of_service_rollup", 3), ("services_of_group", 3)]
    exposed = workspace.query("""
        select count(*) from intermediate.int_suppression_families
        where parent_published and children > 1 and withheld_children = 1""").item()
    assert exposed == 0


def test_the_other_breakdowns_keep_their_figures(runs):
    workspace, before = runs
    keys = ["breakdown", "service_id", "group_id", "measure_id", "wave"]
    columns = [*keys, "n", "k", "pct", "suppressed", "suppression_reason"]
    after = workspace.mart("mart_measures").filter(pl.col("breakdown") != "service_group")
    assert after.select(columns).sort(keys).equals(before["measures"].select(columns).sort(keys))


def test_the_report_draws_the_table_the_row_asks_for(runs):
    workspace, _ = runs
    page = (workspace.marts / "reports" / "bd_org.html").read_text()
    assert "<caption>By service and role, 2025</caption>" in page
    for heading in ("North: Senior leader or manager", "East: Frontline care or support worker"):
        assert f"<th>{heading}</th>" in page
    row = page[page.index('<tr id="aware-by-service_group">') :]
    row = row[: row.index("</tr>")]
    # each cell's first word, in column order: services by name (East, North, South), each
    # service's roles by label (practitioner, frontline, senior manager)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    words = [re.sub(r"<[^>]+>", " ", cell).split()[0] for cell in cells]
    assert words == [
        "withheld", "80.0%", "withheld", "50.0%", "60.0%", "75.0%", "withheld", "40.0%",
        "withheld",
    ]  # fmt: skip
