"""`coprod run` (what `make run` calls) on the bundled samples: the published awareness figures
match a count made straight from the sample files with the csv module, a second run with nothing
new changes nothing, and no planted personal data survives anywhere."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import fitting_table, main
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import dbt_warehouse_vars
from tests.builders import as_text
from tests.conftest import SAMPLES, copy_samples, open_workspace
from tests.test_sql_style import sqlfluff

# Personal data the sample generator plants in the exports' own columns and comments.
PLANTED = [
    "Bloggs",
    "jo.bloggs@example.org",
    "person1@example.org",
    "resp1@example.org",
    "07700 900123",
    "192.0.2.",
    "198.51.100.",
    "Smith",
    "M1 1AE",
    "53.48",
]


def _rows(
    name: str, header_rows: int, encoding: str = "utf-8-sig"
) -> tuple[list[str], list[list[str]]]:
    raw = (SAMPLES / name).read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[header_rows:]


def count_qualtrics(wave: int) -> tuple[int, int]:
    header, rows = _rows(f"riverside_recovery_{wave}_qualtrics.csv", 3)
    col = {name: i for i, name in enumerate(header)}
    kept = [r for r in rows if r[col["Status"]] == "IP Address" and r[col["Finished"]] == "True"]
    valid = [r[col["QID1"]] for r in kept if r[col["QID1"]] in {"Yes", "No", "Not sure"}]
    return len(valid), valid.count("Yes")


def count_surveymonkey(wave: int) -> tuple[int, int]:
    header, rows = _rows(f"oakfield_care_{wave}_surveymonkey.csv", 2)
    col = {name: i for i, name in enumerate(header)}
    first_answer = col["Which service do you use or work in?"]
    seen: dict[tuple, dt.datetime] = {}
    valid = []
    for r in rows:
        when = dt.datetime.strptime(r[col["End Date"]], "%m/%d/%Y %I:%M:%S %p")
        person = (r[col["Custom Data 1"]], tuple(r[first_answer:]))
        if person in seen and when - seen[person] <= dt.timedelta(minutes=60):
            continue  # the same person submitting the same answers again
        seen[person] = when
        answer = r[col["Before today had you heard of co-production?"]]
        if answer in {"Yes", "No", "Not sure"}:
            valid.append(answer)
    return len(valid), valid.count("Yes")


def count_template(wave: int) -> tuple[int, int]:
    header, rows = _rows(f"memory_matters_{wave}_template.csv", 1)
    col = {name: i for i, name in enumerate(header)}
    services = {"memory clinic", "day centre", "carers\u2019 support", "home support"}
    kept = [r for r in rows if " ".join(r[col["service"]].split()).lower() in services]
    valid = [r[col["cp_aware"]] for r in kept if r[col["cp_aware"]] in {"Yes", "No", "Not sure"}]
    return len(valid), valid.count("Yes")


@pytest.fixture(scope="module")
def ran(tmp_path_factory, module_monkeypatch):
    """One `coprod run` on the samples, shared by this module's tests."""
    workspace = copy_samples(
        open_workspace(tmp_path_factory.mktemp("samples") / "data", module_monkeypatch)
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert main(["run"]) == 0
    return workspace, output.getvalue()


def test_sample_awareness_matches_a_count_from_the_files(ran):
    workspace, output = ran
    measures = workspace.mart("mart_measures").filter(
        (pl.col("measure_id") == "aware") & (pl.col("breakdown") == "organisation")
    )
    counters = {
        "riverside_recovery": count_qualtrics,
        "oakfield_care": count_surveymonkey,
        "memory_matters": count_template,
    }
    for org, counter in counters.items():
        for wave in (2024, 2025, 2026):
            n, k = counter(wave)
            published = measures.filter(
                (pl.col("organisation_id") == org) & (pl.col("wave") == wave)
            ).row(0, named=True)
            assert (published["n"], published["k"]) == (n, k), (org, wave)
            assert published["pct"] == round(100 * k / n, 1)
    # the deliberate change over time is visible: awareness rises from baseline at every org
    changes = workspace.mart("mart_measure_changes").filter(
        (pl.col("measure_id") == "aware")
        & (pl.col("breakdown") == "organisation")
        & (pl.col("wave") == 2026)
    )
    assert changes.height == 3
    assert (changes["change_pp_from_baseline"] > 10).all()
    assert "Published" in output and "mart_measures.parquet" in output


def test_the_sample_summary_reports_files_and_outcomes(ran):
    _, output = ran
    assert "ingested     riverside_recovery_2024_qualtrics.csv: 145 responses accepted" in output
    assert "memory_matters_2024_template.csv: 149 responses accepted, 1 rejected" in output


def test_a_second_run_with_nothing_new_changes_nothing(ran, capsys):
    workspace, _ = ran
    before = workspace.published_files()
    assert main(["run"]) == 0
    assert "Nothing new since publication" in capsys.readouterr().out
    assert workspace.published_files() == before


def test_no_planted_personal_data_in_the_warehouse_or_marts(ran):
    workspace, _ = ran
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
        for schema, table in tables:
            text = pl.from_arrow(con.sql(f'select * from "{schema}"."{table}"').to_arrow_table())
            dump = as_text(text)
            found = [p for p in PLANTED if p in dump]
            assert not found, f"{schema}.{table} holds {found}"
    for name, content in workspace.published_files().items():  # marts, manifest, reports
        dump = content.decode("latin-1")
        assert not [p for p in PLANTED if p in dump], name
    manifest = json.loads((workspace.marts / "manifest.json").read_text())
    assert len(manifest["source_files"]) == 9


def test_each_organisation_gets_a_report_with_a_chart_per_measure(ran):
    workspace, _ = ran
    measures = workspace.mart("mart_measures").filter(pl.col("organisation_id") == "memory_matters")
    html = (workspace.marts / "reports" / "memory_matters.html").read_text()
    assert html.count('<figure class="measure"') == measures["measure_id"].n_unique()
    assert 'class="point significant"' in html  # awareness rose significantly by 2026
    assert 'class="point not-comparable"' in html  # CP_SAY was reworded in 2026
    assert 'class="suppressed"' in html
    manifest = json.loads((workspace.marts / "manifest.json").read_text())
    assert sorted(manifest["reports"]) == [
        "reports/memory_matters.html",
        "reports/oakfield_care.html",
        "reports/riverside_recovery.html",
    ]


def test_status_during_a_run_shows_what_is_published(ran, capsys):
    workspace, _ = ran
    # Another process writes the warehouse, as a run does: DuckDB lets no one else open it.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
            " print('holding', flush=True); time.sleep(120)",
            str(workspace.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "holding"
        capsys.readouterr()
        assert main(["status", "--history"]) == 0
        out = capsys.readouterr().out
        assert main(["status", "--json"]) == 0
        during = json.loads(capsys.readouterr().out)  # JSON only, nothing before or after it
    finally:
        writer.kill()
        writer.wait()
    assert "A run is writing the warehouse now" in out
    published = json.loads((workspace.marts / "manifest.json").read_text())
    rows = published["marts"]["mart_measures"]["rows"]
    assert any(
        line.split() == ["mart_measures.parquet", f"{rows:,}", "rows"] for line in out.splitlines()
    )
    assert "The history is shown once the run writing the warehouse ends." in out
    assert "Traceback" not in out
    assert during == {
        "files": None,
        "run_in_progress": True,
        "publication": published,
    }


def test_status_json_lists_every_file_and_the_publication(ran, capsys):
    workspace, _ = ran
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["run_in_progress"] is False
    assert sorted((f["file_name"], f["status"]) for f in status["files"]) == sorted(
        (p.name, "ingested") for p in SAMPLES.iterdir()
    )
    assert status["publication"] == json.loads((workspace.marts / "manifest.json").read_text())


def test_query_reads_the_marts_and_refuses_to_write(ran, capsys, tmp_path):
    capsys.readouterr()
    sql = "select count(*) as n from mart_measures where breakdown = 'organisation'"
    assert main(["query", "--csv", sql]) == 0
    rows = pl.read_parquet(ran[0].marts / "mart_measures.parquet")
    expected = rows.filter(pl.col("breakdown") == "organisation").height
    assert capsys.readouterr().out == f"n\n{expected}\n"

    target = tmp_path / "copied.csv"
    assert main(["query", f"copy (select * from mart_measures) to '{target}'"]) == 3
    assert capsys.readouterr().err == (
        "Query refused: coprod query runs one SELECT over the published marts (found COPY).\n"
    )
    assert not target.exists()
    assert main(["query", "select * from no_such_mart"]) == 3
    assert capsys.readouterr().err.startswith("Query failed: Catalog Error")


def test_query_tables_fit_the_terminal_without_wrapping():
    wide = pl.DataFrame({f"column_{i:02d}": ["a value"] for i in range(30)})
    table = fitting_table(wide, width=80, rows=10)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 80
    # one line per header part and per row: nothing wrapped, the middle columns elided
    # shape, top border, names, ---, types, rule, one row, bottom: nothing wrapped
    assert len(lines) == 8 and "…" in lines[2]
    assert "column_00" in lines[2] and "column_29" in lines[2]
    narrow = fitting_table(wide.select("column_00", "column_01"), width=80, rows=10)
    assert "…" not in narrow and "column_01" in narrow


def test_every_mart_carries_its_publication_grain_and_column_descriptions(ran):
    """What an analyst opening the file alone (Power Query, polars, pyarrow) can read."""
    import pyarrow.parquet as pq

    workspace, _ = ran
    manifest = json.loads((workspace.marts / "manifest.json").read_text())
    for mart, entry in manifest["marts"].items():
        schema = pq.read_schema(workspace.marts / entry["file"])
        metadata = {k.decode(): v.decode() for k, v in schema.metadata.items()}
        assert metadata["coprod.publication_id"] == manifest["publication_id"], mart
        columns = json.loads(metadata["coprod.columns"])
        assert set(columns) == set(schema.names), mart
        assert all(columns.values()), f"{mart}: a column has no description"
    measures = pq.read_schema(workspace.marts / "mart_measures.parquet")
    assert json.loads(measures.metadata[b"coprod.grain"]) == [
        "organisation_id", "wave", "breakdown", "service_id", "group_id", "measure_id"
    ]  # fmt: skip
    assert measures.field("pct").metadata[b"description"] == (
        b"100 x k / n, one decimal. Null when withheld."
    )


def test_a_run_shows_one_line_per_phase_and_their_times(ran):
    workspace, output = ran
    lines = output.splitlines()
    phases = [line.split(":")[0] for line in lines if ": done in " in line]
    assert phases == [
        "ingest", "registry", "validate", "review sheets", "analyst codes", "dbt build",
        "stage marts", "coding sheet", "Great Expectations gates", "partition gate", "reports",
        "publish",
    ]  # fmt: skip
    assert "  9 of 9 new file(s) read" in lines
    assert "  check gx_mart_measures: passed" in lines
    assert "Running with dbt" not in output  # dbt's own output is in the run's log file
    assert "Running with dbt" in (workspace.root / "logs" / "last-run.log").read_text()
    summary = next(line for line in lines if line.startswith("Run ") and " took " in line)
    assert "(ingest " in summary and "dbt build " in summary and summary.endswith(" s).")


def test_the_dbt_unit_tests_hold(ran, tmp_path):
    """De-duplication, denominators, distributions, suppression (primary and secondary) and
    change, each on rows worked out by hand (models/**/_*__unit_tests.yml), run by dbt against
    the samples' warehouse: dbt reads the column types of the models the given rows stand in
    for from there."""
    workspace, _ = ran
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt), "test", "--select", "test_type:unit", "--profiles-dir", ".",
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path),
            *dbt_warehouse_vars(workspace.warehouse),
        ],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    passed = {
        "a_reexported_response_counts_once_from_its_newest_file",
        "identical_answers_resubmitted_within_the_hour_count_once",
        "anonymous_identical_answers_and_free_text_resubmitted_within_the_hour_count_once",
        "a_small_cell_is_withheld_and_so_is_the_cell_that_would_reveal_it",
        "neighbours_are_protected_before_a_total_two_levels_up",
        "change_since_baseline_is_tested_only_where_it_can_be",
        "each_measure_counts_over_the_denominator_it_declares",
        "a_distribution_is_one_measure_per_option_of_its_denominator",
    }
    for name in passed:
        assert re.search(rf"PASS \S+::{name}\b", result.stdout), name
    assert "PASS=8 " in result.stdout


def test_the_dbt_sql_follows_the_house_style(ran, tmp_path):
    """sqlfluff over every model and data test (tests/test_sql_style.py shows it can fail)."""
    workspace, _ = ran
    result = sqlfluff(tmp_path, workspace.warehouse, "models", "tests")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "All Finished" in result.stdout and "FAIL" not in result.stdout
