"""Personal data placed everywhere an export can carry it (free text, service and group cells,
answer cells, times, respondent references, column headers, a wrong tool's header row) is found
in no output: no warehouse table, review sheet (the coding sheet and a returned copy of it
included), log, quarantine note, mart, report, Data Docs page or Dagster event. Only the archived and quarantined originals keep it, readable by their
owner alone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import polars as pl
import pytest

from pipelines.quality_gates import data_docs_index
from tests.builders import TEMPLATE_COLUMNS, as_text, export, organisation

EMAIL, PHONE, NAME = "zed.quinn@example.org", "07700 900461", "Quentin Zebedee"
IP_ADDRESS, POSTCODE = "203.0.113.77", "SW1A 2AA"
PII = (EMAIL, PHONE, PHONE.replace(" ", ""), NAME, "Zebedee", IP_ADDRESS, POSTCODE)
CONTACT = f"{NAME}, {EMAIL}, {PHONE}, {IP_ADDRESS}, {POSTCODE}"


def export_with_pii(rows: int, prefix: str, extra_header: list[str] | None = None) -> bytes:
    """Template rows, most ordinary, some carrying personal data in every kind of cell."""
    header = [*TEMPLATE_COLUMNS, EMAIL, "Email"] + (extra_header or [])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", restval="")
    writer.writeheader()
    for i in range(rows):
        row = {
            "respondent_id": f"{prefix}{i}",
            "submitted_at": f"2024-03-{1 + i % 28:02d} 10:00:00",
            "service": "Main",
            "respondent_group": "Frontline care or support worker",
            "respondent_ref": EMAIL if i % 2 else f"{prefix}-ref-{i}",
            "cp_aware": "Yes",
            "cp_define": f"Working together as equals. Call me: {CONTACT}",
            "cp_chall": f"Ask {NAME} at {EMAIL} from {IP_ADDRESS}",
            EMAIL: EMAIL,
            "Email": EMAIL,
        }
        if i == 1:
            row["service"] = CONTACT  # not a service: the row is rejected
        if i == 2:
            row["respondent_group"] = CONTACT
        if i == 3:
            row["cp_aware"] = CONTACT  # not an option: the answer is rejected
        if i == 4:
            row["submitted_at"] = CONTACT  # not a time
        writer.writerow(row)
    return out.getvalue().encode()


@pytest.fixture
def scanned_run(workspace, tmp_path):
    names = tmp_path / "redaction_names.txt"
    names.write_text(f"{NAME}\n")
    workspace.register(
        [organisation("pii_org", ["main"])],
        [export(n, "pii_org", 2024) for n in ("ok.csv", "mostly_bad.csv", "wrong_tool.csv")],
    )
    workspace.drop("ok.csv", export_with_pii(40, "OK"))
    # Every service unreadable: quarantined for its share of rejects, the first one named.
    workspace.drop(
        "mostly_bad.csv",
        export_with_pii(12, "MB").replace(b",Main,", f',"{CONTACT}",'.encode()),
    )
    # A header that is no template's: the reason must not quote its first row.
    workspace.drop("wrong_tool.csv", f"{EMAIL},{NAME},{PHONE}\r\n1,2,3\r\n".encode())
    dagster_home = tmp_path / "dagster_instance"
    dagster_home.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COPROD_REDACTION_NAMES", str(names))
        with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
            from pipelines.definitions import defs

            job = defs.resolve_job_def("coprod_full_run")
            assert job.execute_in_process(instance=instance, raise_on_error=False).success
            # The coding sheet comes back filled in: its codes, log lines and the list of
            # returned sheets are outputs too.
            coding = workspace.root / "coding"
            coding.mkdir()
            sheet = openpyxl.load_workbook(workspace.root / "review" / "open_answers_to_code.xlsx")
            sheet["to code"]["I2"] = "unaware_of_challenges"
            sheet.save(coding / "coded.xlsx")
            result = job.execute_in_process(instance=instance, raise_on_error=False)
    return workspace, result, dagster_home


def spreadsheet_text(path: Path) -> str:
    """Every cell of every sheet of a workbook (its bytes are compressed: a scan of them would
    find nothing whatever they held)."""
    workbook = openpyxl.load_workbook(path)
    return "\n".join(
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def warehouse_text(warehouse: Path) -> str:
    """Every value of every table and view, as text."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
        return "\n".join(
            as_text(pl.from_arrow(con.sql(f'select * from "{s}"."{t}"').to_arrow_table()))
            for s, t in relations
        )


def test_no_output_holds_the_personal_data_placed_in_the_exports(scanned_run):
    workspace, result, dagster_home = scanned_run
    assert result.success
    statuses = dict(workspace.query("select file_name, status from ingest.files").iter_rows())
    assert statuses == {
        "ok.csv": "ingested",
        "mostly_bad.csv": "quarantined",
        "wrong_tool.csv": "quarantined",
    }
    # The personal data really was read: 3 responses and 1 answer of ok.csv were set aside, and
    # its 37 accepted responses have 2 open answers each.
    rejected = workspace.query("select reason, value_redacted from validated.rejected_rows")
    assert rejected.height == 4
    assert workspace.query("select count(*) n from validated.open_answers")["n"][0] == 74

    # The originals are kept as they are, for their owner alone; everything else is output.
    def is_original(path: Path) -> bool:
        kept = "archive" in path.parts or "quarantine" in path.parts
        return kept and not path.name.endswith((".reason.txt", ".json"))

    everything = [p for p in (*workspace.root.rglob("*"), *dagster_home.rglob("*")) if p.is_file()]
    originals = [p for p in everything if is_original(p)]
    assert len(originals) == 3 + 2  # three archived, two quarantined
    assert all(EMAIL.encode() in p.read_bytes() for p in originals)
    assert {p.stat().st_mode & 0o777 for p in originals} == {0o600}
    outputs = [
        p
        for p in everything
        if not is_original(p)
        and workspace.inbox not in p.parents
        and p.suffix not in {".duckdb", ".parquet", ".wal"}
    ]
    # The workspace's Data Docs and validation results (GX's record of the rows it checked).
    assert data_docs_index(workspace.root / "gx_results") in outputs
    texts = {
        str(p): spreadsheet_text(p)
        if p.suffix == ".xlsx"
        else p.read_bytes().decode("utf-8", "replace")
        for p in outputs
    }
    texts["warehouse"] = warehouse_text(workspace.warehouse)
    for parquet in workspace.marts.rglob("*.parquet"):
        texts[str(parquet)] = as_text(pl.read_parquet(parquet))
    assert any(name.endswith(".db") for name in texts)  # Dagster's event storage
    assert any(name.endswith("ingest.log") for name in texts)
    assert any(name.endswith(".reason.txt") for name in texts)
    assert any(name.endswith("rejected_rows.csv") for name in texts)
    for written in ("open_answers_to_code.xlsx", "open_answers_to_code.csv", "coding_sheets.csv"):
        assert any(name.endswith(written) for name in texts), written
    assert any(name.endswith("coding/coded.xlsx") for name in texts)
    assert "[email]" in texts[str(workspace.root / "review" / "open_answers_to_code.xlsx")]
    assert workspace.query("select count(*) n from ingest.analyst_codes")["n"][0] == 1
    found = {
        (name, pii) for name, text in texts.items() for pii in PII if pii.lower() in text.lower()
    }
    assert found == set()
    # What was found is replaced by placeholders, not dropped silently.
    redacted = "\n".join(rejected["value_redacted"].drop_nulls())
    for placeholder in ("[name]", "[email]", "[phone]", "[ip address]", "[postcode]"):
        assert placeholder in redacted
