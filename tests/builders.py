"""Build small exports with exactly the counts a test needs, in the project's CSV template.

A test says "360 of 500 staff had heard of co-production" and the builder writes 500 rows, 360
of them answering Yes: the expected figure is then a hand computation (360 / 500 = 72.0%).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import polars as pl

from pipelines.registry import ExportRegistration, Registry
from tests.sample_exports import template_columns

TEMPLATE_COLUMNS = template_columns()


def answers(total: int, **counts: int) -> list[str]:
    """`answers(10, Yes=7, No=3)` -> seven "Yes" then three "No"; blanks fill any remainder."""
    values = [label for label, n in counts.items() for _ in range(n)]
    assert len(values) <= total, f"{counts} add up to more than {total}"
    return values + [""] * (total - len(values))


def people(
    group: str, count: int, prefix: str, service: str, year: int = 2023, **columns: list[str]
) -> list[dict]:
    """`count` respondents of one group; each keyword gives one column's values, row by row."""
    rows = []
    for i in range(count):
        row = {
            "respondent_id": f"{prefix}-{i:04d}",
            "respondent_group": group,
            "service": service,
            "respondent_ref": f"{prefix}-ref-{i:04d}",
            "submitted_at": f"{year}-03-{1 + i % 28:02d} 10:{i % 60:02d}:00",
        }
        for column, values in columns.items():
            row[column] = values[i]
        rows.append(row)
    return rows


def template_csv(rows: Iterable[dict], bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TEMPLATE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in TEMPLATE_COLUMNS})
    text = buffer.getvalue()
    return (("\ufeff" + text) if bom else text).encode("utf-8")


def google_forms_csv(rows: Iterable[dict]) -> bytes:
    """Google Forms' responses sheet downloaded as CSV: Timestamp as a UK sheet writes it (day
    first), then every column google_forms_coprod_v1 declares, each headed by its question's
    full text. No response id and no respondent reference: Google Forms has neither.

    A row gives `timestamp` (a datetime), `service`, `respondent_group` (a label) and answers by
    question id ("CP_AWARE": "Yes", "CP_CHALL": "..."); every other cell is left empty."""
    from pipelines.reference import load_reference

    crosswalk = load_reference().instrument_columns.filter(
        pl.col("instrument_id") == "google_forms_coprod_v1"
    )
    keys = {  # source column -> the key a row gives its value under
        column: question if role == "answer" else f"{question}_OTHER" if question else role
        for column, role, question in crosswalk.select(
            "source_column", "column_role", "question_id"
        ).iter_rows()
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Timestamp", *keys])
    for row in rows:
        stamp = row["timestamp"].strftime("%d/%m/%Y %H:%M:%S")
        writer.writerow([stamp, *(row.get(key, "") for key in keys.values())])
    return buffer.getvalue().encode("utf-8")


def organisation(org_id: str, services: list[str], org_type: str = "voluntary_sector") -> dict:
    return {
        "id": org_id,
        "name": org_id.replace("_", " ").title(),
        "type": org_type,
        "services": [{"id": s, "name": s.replace("_", " ").title()} for s in services],
    }


def export(
    file: str,
    org_id: str,
    wave: int,
    instrument: str = "coprod_template_v1",
    tool: str = "template",
    **extra: str,
) -> dict:
    return {
        "file": file,
        "organisation": org_id,
        "wave": wave,
        "tool": tool,
        "instrument": instrument,
        **extra,
    }


def only_registration(registry: Registry, file_name: str) -> ExportRegistration:
    """The one export entry a file name matches (the reader is given exactly one)."""
    (registration,) = registry.registrations_for(file_name)
    return registration


def as_text(frame: pl.DataFrame) -> str:
    """Every value of a table as CSV text, lists joined, for scans that look for text that must
    not be there."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    frame = frame.with_columns(pl.col(lists).cast(pl.List(pl.String)).list.join(","))
    return frame.cast(pl.String, strict=False).write_csv()


def microsoft_forms_xlsx(rows: Iterable[dict]) -> bytes:
    """A Microsoft Forms workbook as Forms exports it: ID, Start time, Completion time, Email
    ("anonymous" on an anonymous form), Name, Last modified time, then every column
    microsoft_forms_coprod_v1 declares, each headed by its question's full text; US short dates;
    multi-select answers joined with ";".

    A row gives `submitted` (a datetime), `service`, `respondent_group` (a label) and answers by
    question id ("CP_VALUED": "Don't know", "CP_DEFINE": "..."); every other cell is empty."""
    import openpyxl

    from pipelines.reference import load_reference

    crosswalk = load_reference().instrument_columns.filter(
        (pl.col("instrument_id") == "microsoft_forms_coprod_v1")
        & (pl.col("source_column") != "Email")
    )
    keys = {  # source column -> the key a row gives its value under
        column: question if role == "answer" else f"{question}_OTHER" if question else role
        for column, role, question in crosswalk.select(
            "source_column", "column_role", "question_id"
        ).iter_rows()
    }
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time", *keys]
    )
    for number, row in enumerate(rows, start=1):
        done = row["submitted"]
        start = done.replace(minute=max(done.minute - 5, 0))
        stamp = "{d.month}/{d.day}/{d:%y} {d.hour}:{d:%M:%S}".format
        sheet.append(
            [number, stamp(d=start), stamp(d=done), "anonymous", None, None]
            + [row.get(key) or None for key in keys.values()]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
