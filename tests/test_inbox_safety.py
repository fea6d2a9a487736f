"""Only regular files that live in the inbox are opened; each is read from one snapshot; copies
of people's answers are private to their owner; one log line per file, whatever its name."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from pipelines.ingest.intake import append_to_log
from tests.builders import answers, export, organisation, people, template_csv
from tests.test_intake import ingest

SECRET_REF = "OUTSIDE-THE-INBOX"


def survey(prefix: str, count: int = 10) -> bytes:
    rows = people("Frontline care or support worker", count, prefix, "Main", year=2024,
                  cp_aware=answers(count, Yes=count))  # fmt: skip
    return template_csv(rows)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_links_pipes_and_hard_links_are_held_and_never_opened(workspace, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_bytes(survey(SECRET_REF))  # a readable export: it would be ingested if opened
    names = ["good.csv", "link.csv", "hard.csv", "pipe.csv", "bad.csv"]
    workspace.register(
        [organisation("in_org", ["main"])], [export(n, "in_org", 2024) for n in names]
    )
    workspace.drop("good.csv", survey("G"))
    workspace.drop("bad.csv", b"respondent_id;submitted_at\r\nT1;2024-03-04\r\n")
    (workspace.inbox / "link.csv").symlink_to(secret)
    os.link(secret, workspace.inbox / "hard.csv")
    os.mkfifo(workspace.inbox / "pipe.csv")  # opening it would wait for a writer for ever

    statuses, _, outcomes = ingest()

    assert statuses == {
        "bad.csv": "quarantined",
        "good.csv": "ingested",
        "hard.csv": "held",
        "link.csv": "held",
        "pipe.csv": "held",
    }
    reasons = {o.file_name: o.reason for o in outcomes}
    assert reasons["link.csv"] == (
        "Not opened: It is a symbolic link, not a file: links are never followed. Copy the "
        "export itself into the inbox."
    )
    assert reasons["pipe.csv"] == (
        "Not opened: It is not a regular file (a device, pipe or socket): only export files "
        "are read."
    )
    assert reasons["hard.csv"] == (
        "Not opened: It has 2 names on this disk (hard links), so it may be a file from "
        "outside the inbox: only files copied into the inbox are read. Copy it in instead of "
        "linking it."
    )
    # Nothing of the outside file was copied or read.
    secret_sha = hashlib.sha256(secret.read_bytes()).hexdigest()
    kept = [
        p for p in workspace.root.rglob("*") if p.is_file() and workspace.inbox not in p.parents
    ]
    assert not [p for p in kept if secret_sha in p.name]
    assert not [p for p in kept if p.suffix != ".duckdb" and SECRET_REF.encode() in p.read_bytes()]
    assert (
        workspace.query(
            f"select count(*) as n from ingest.responses where response_key like '%{SECRET_REF}%'"
        )["n"][0]
        == 0
    )
    assert workspace.query("select count(*) as n from validated.responses")["n"][0] == 10

    # The copies hold people's answers: their owner alone may read them.
    archive, quarantine = workspace.root / "archive", workspace.root / "quarantine"
    for folder in (archive, quarantine, *[p for p in archive.rglob("*") if p.is_dir()]):
        assert mode(folder) == 0o700, folder
    copies = [p for p in (*archive.rglob("*"), *quarantine.rglob("*")) if p.is_file()]
    assert len(copies) == 2 + 2 + 2  # good and bad archived with notes; bad quarantined + reason
    assert {mode(p) for p in copies} == {0o600}


def test_a_name_with_a_newline_stays_on_its_own_log_line(workspace):
    workspace.register([organisation("in_org", ["main"])], [export("a.csv", "in_org", 2024)])
    workspace.drop("report.csv\nfile=forged.csv status=ingested", survey("N"))
    _, _, outcomes = ingest()
    log = workspace.root / "logs" / "ingest.log"
    append_to_log(log, outcomes, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    lines = log.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "2026-01-01T00:00:00Z file=report.csv\\nfile=forged.csv status=ingested sha256="
    )
    assert lines[0].endswith(" status=held accepted=0 rejected=0 reason=No export in "
                             "sources.yml matches the file name 'report.csv\\nfile=forged.csv "
                             "status=ingested': register it (organisation, wave, tool, "
                             "instrument) and run again.")  # fmt: skip


WRITER = """
import sys, time
from pathlib import Path
path, header, row, stop = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
with path.open("w", encoding="utf-8", newline="") as out:
    out.write(header)
    out.flush()
    i = 0
    while not stop.exists():
        out.write(row.format(i=i))
        out.flush()
        i += 1
        time.sleep(0.001)
"""


def test_a_file_still_being_written_is_held_then_read_from_one_snapshot(workspace, tmp_path):
    """A real process keeps appending rows while ingest runs: the file is held (its copy would
    not match what was listed), and once the writer stops it is read, whole, from the archive."""
    workspace.register([organisation("in_org", ["main"])], [export("growing.csv", "in_org", 2024)])
    header, first_row = (
        template_csv(people("Manager", 1, "W", "Main", year=2024)).decode().split("\r\n", 1)
    )
    row_template = first_row.replace("W-0000", "W-{i:06d}").replace("W-ref-0000", "W-ref-{i:06d}")
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(workspace.inbox / "growing.csv"), header + "\r\n",
         row_template, str(stop)]
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        growing = workspace.inbox / "growing.csv"
        while not growing.exists() or growing.stat().st_size < 20_000:
            assert time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.05)
        statuses, _, outcomes = ingest()
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert statuses == {"growing.csv": "held"}
    assert outcomes[0].reason == (
        "The file changed while it was being copied (it is probably still being written): it "
        "will be read once it has stopped changing."
    )
    rows_written = (workspace.inbox / "growing.csv").read_bytes().count(b"\r\n") - 1

    statuses, _, outcomes = ingest()
    assert statuses == {"growing.csv": "ingested"}
    assert outcomes[0].responses_accepted == rows_written
    # Every archived copy's bytes are what its name says.
    for copy in (workspace.root / "archive").rglob("*.csv"):
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == copy.stem
