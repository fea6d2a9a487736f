"""Property-based: whatever bytes arrive, the reader either reads them or says clearly why not,
and every response row it reads is either accepted or rejected with a reason (none lost)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.reader import ReadContext, read_export
from pipelines.reference import load_reference
from pipelines.registry import load_registry
from tests.builders import only_registration

REGISTRY = """
organisations:
  - id: org
    type: nhs
    services: [{id: main, name: Main}, {id: annex, name: Annex}]
exports:
  - {file: "template.csv", organisation: org, wave: 2024, tool: template, instrument: coprod_template_v1}
  - {file: "template.xlsx", organisation: org, wave: 2024, tool: template, instrument: coprod_template_v1}
  - {file: "qualtrics.csv", organisation: org, wave: 2024, tool: qualtrics, instrument: qualtrics_coprod_v1}
  - {file: "surveymonkey.csv", organisation: org, wave: 2024, tool: surveymonkey, instrument: surveymonkey_coprod_v1}
"""
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    folder = tmp_path_factory.mktemp("properties")
    (folder / "sources.yml").write_text(REGISTRY)
    registry = load_registry(folder / "sources.yml")
    ctx = ReadContext(load_reference(), registry, b"key")

    def read(name: str, content: bytes):
        path = folder / name
        path.write_bytes(content)
        return read_export(path, only_registration(registry, name), ctx)

    return read


@SETTINGS
@given(
    content=st.binary(max_size=2000),
    name=st.sampled_from(["template.csv", "template.xlsx", "qualtrics.csv", "surveymonkey.csv"]),
)
def test_random_bytes_are_read_or_refused_clearly(reader, content: bytes, name: str):
    try:
        reader(name, content)
    except UnreadableExport as error:
        assert str(error).strip()


ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
ROW = st.fixed_dictionaries(
    {
        "respondent_id": st.one_of(
            st.just(""), st.text(alphabet="ABC123-_", min_size=1, max_size=8)
        ),
        "submitted_at": st.sampled_from(
            [
                "2024-03-04 10:00:00",
                "2024-03-05",
                "",
                "yesterday",
                "2099-01-01 00:00:00",
                "2024-13-45 99:99:99",
            ]
        ),
        "service": st.one_of(
            st.sampled_from(["Main", " ANNEX ", "main", "Elsewhere", ""]), ODD_TEXT
        ),
        "respondent_group": st.one_of(
            st.sampled_from(["Frontline worker", "Carer", "Manager", ""]), ODD_TEXT
        ),
        "cp_aware": st.one_of(st.sampled_from(["Yes", "No", "Not sure", ""]), ODD_TEXT),
        "cp_barrier": st.one_of(
            st.sampled_from(["Time;Cost", "Other", "Time;;Cost;", ""]), ODD_TEXT
        ),
        "cp_define": ODD_TEXT,
    }
)


@SETTINGS
@given(rows=st.lists(ROW, min_size=1, max_size=15))
def test_every_well_formed_row_is_accepted_or_rejected(reader, rows: list[dict]):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ROW_FIELDS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    try:
        parsed = reader("template.csv", buffer.getvalue().encode("utf-8"))
    except UnreadableExport as error:
        assert str(error).strip()
        return
    rejected_responses = parsed.rejected.filter(parsed.rejected["source_column"].is_null())
    assert parsed.responses.height + rejected_responses.height == parsed.rows_in_file
    assert rejected_responses["reason"].null_count() == 0
    blank_rows = sum(all(not str(v).strip() for v in row.values()) for row in rows)
    assert parsed.rows_in_file == len(rows) - blank_rows


ROW_FIELDS = (
    "respondent_id",
    "submitted_at",
    "service",
    "respondent_group",
    "cp_aware",
    "cp_barrier",
    "cp_define",
)
