"""The archive and the inbox: the same bytes are read once, a changed file is a new version that
supersedes the old (which stays archived), and one export can be read again on request."""

from __future__ import annotations

import datetime as dt

from pipelines.cli import status_report
from pipelines.ingest.intake import append_to_log, ingest_inbox
from pipelines.reference import load_reference
from pipelines.registry import load_registry
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.builders import answers, export, organisation, people, template_csv


def survey(yes: int) -> bytes:
    return template_csv(
        people(
            "Frontline care or support worker",
            10,
            "I",
            "Main",
            year=2024,
            cp_aware=answers(10, Yes=yes, No=10 - yes),
        )
    )


def ingest(reprocess=frozenset(), when=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)):
    settings = load_settings()
    with connect(settings.warehouse) as con:
        outcomes = ingest_inbox(
            con,
            settings,
            load_reference(),
            load_registry(settings.registry_file),
            now=when,
            reprocess=reprocess,
        )
        current = con.sql("select file_sha256 from ingest.current_files").fetchall()
    return {o.file_name: o.status for o in outcomes}, {sha for (sha,) in current}, outcomes


def test_same_bytes_once_changed_bytes_supersede_and_reprocess_on_request(workspace):
    workspace.register(
        [organisation("in_org", ["main"])],
        [export("a.csv", "in_org", 2024), export("b.csv", "in_org", 2024)],
    )
    workspace.drop("a.csv", survey(4))
    workspace.drop("b.csv", survey(6))
    first, current, outcomes = ingest()
    assert first == {"a.csv": "ingested", "b.csv": "ingested"}
    a_v1 = next(o.file_sha256 for o in outcomes if o.file_name == "a.csv")

    again, _, _ = ingest()
    assert again == {"a.csv": "unchanged", "b.csv": "unchanged"}
    archived = sorted(p.name for p in (workspace.root / "archive").rglob("*.csv"))
    assert len(archived) == 2  # stored once each, by content

    workspace.drop("a.csv", survey(9))  # a corrected re-export under the same name
    later = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    changed, current, outcomes = ingest(when=later)
    a_v2 = next(o.file_sha256 for o in outcomes if o.file_name == "a.csv")
    assert changed == {"a.csv": "ingested", "b.csv": "unchanged"}
    assert a_v2 in current and a_v1 not in current  # the new version supersedes
    assert len(list((workspace.root / "archive").rglob("*.csv"))) == 3  # the old one stays

    reread, _, outcomes = ingest(reprocess=frozenset({"b.csv"}), when=later)
    assert reread == {"a.csv": "unchanged", "b.csv": "ingested"}

    log = workspace.root / "logs" / "ingest.log"
    append_to_log(log, outcomes, later)
    assert log.read_text().splitlines() == [
        f"2026-02-01T00:00:00Z file=a.csv sha256={a_v2[:12]} status=unchanged accepted=10 rejected=0",
        f"2026-02-01T00:00:00Z file=b.csv sha256={outcomes[1].file_sha256[:12]} status=ingested "
        "accepted=10 rejected=0",
    ]


def test_many_files_read_by_worker_processes_give_the_same_rows(sample_workspace, monkeypatch):
    """A backfill of many files is read by worker processes; what they read is exactly what
    one process reads, file by file (the nine samples: 507 + 513 + 495 responses)."""
    from pipelines.ingest import intake

    tables = ("ingest.responses", "ingest.answers", "ingest.open_answers", "ingest.rejected")

    def read_into(warehouse: str) -> dict[str, list]:
        monkeypatch.setenv("COPROD_WAREHOUSE", str(sample_workspace.root / warehouse))
        statuses, _, outcomes = ingest(when=dt.datetime.now(dt.UTC))
        assert set(statuses.values()) == {"ingested"}
        assert sum(o.responses_accepted for o in outcomes) == 1515
        with connect(load_settings().warehouse) as con:
            return {t: con.sql(f"select * from {t} order by all").fetchall() for t in tables}

    one_by_one = read_into("sequential.duckdb")
    monkeypatch.setattr(intake._ReaderSetup, "PARALLEL_FROM", 2)  # 9 files: two workers
    in_workers = read_into("parallel.duckdb")
    assert in_workers == one_by_one
    assert len(one_by_one["ingest.responses"]) == 1515


def test_the_same_bytes_under_two_names_in_one_run_are_read_once(workspace):
    workspace.register(
        [organisation("in_org", ["main"])],
        [export("a.csv", "in_org", 2024), export("copy_of_a.csv", "in_org", 2024)],
    )
    workspace.drop("a.csv", survey(4))
    workspace.drop("copy_of_a.csv", survey(4))
    statuses, current, outcomes = ingest()
    assert statuses == {"a.csv": "ingested", "copy_of_a.csv": "unchanged"}
    same = "same content as a.csv: read and counted once, under that name"
    assert outcomes[1].reason == same
    assert len(current) == 1
    with connect(load_settings().warehouse) as con:
        assert con.sql("select count(*) from ingest.responses").fetchall() == [(10,)]

    # Next run, and when a third name arrives: every name is listed, the content still once.
    workspace.drop("b_copy.csv", survey(4))
    _, current, outcomes = ingest()
    assert [(o.file_name, o.status, o.reason) for o in outcomes] == [
        ("a.csv", "unchanged", "already ingested: ok"),
        ("b_copy.csv", "unchanged", same),
        ("copy_of_a.csv", "unchanged", same),
    ]
    assert len(current) == 1
    assert status_report(load_settings()).splitlines()[1:4] == [
        "  ingested     a.csv: 10 responses accepted, 0 rejected",
        "  unchanged    b_copy.csv: same content as a.csv: counted once, under that name",
        "  unchanged    copy_of_a.csv: same content as a.csv: counted once, under that name",
    ]
