"""Intake: every file in the inbox is archived, then read into the warehouse's ingest schema.

Per file the outcome is one of:
  ingested     read; its responses are in ingest.* (keyed by the file's sha256)
  unchanged    these exact bytes were read before with the same read fingerprint: skipped
  held         no export entry in data/sources.yml matches its name: waiting for registration
  quarantined  it could not be read, or too many of its responses were rejected
A bad file never stops the others, and nothing is deleted from the inbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import duckdb
import polars as pl

from pipelines.file_state import ensure_file_state, known_hashes, remember_hashes
from pipelines.ingest.archive import ArrivedFile, archive, arrived_files, hashes_of, quarantine
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.privacy import load_redaction_names, redact_text
from pipelines.ingest.reader import ParsedExport, ReadContext, read_export
from pipelines.ingest.survey_tools import _TOOLS_FILE, tool_digest
from pipelines.reference import ReferenceData
from pipelines.registry import ExportRegistration, Registry
from pipelines.settings import DBT_PROJECT_DIR, REFERENCE_DIR, Settings
from pipelines.warehouse import read_table

FILES_TABLE = "ingest.files"
PER_FILE_TABLES = ("ingest.responses", "ingest.answers", "ingest.open_answers", "ingest.rejected")
# Answers carry their file's (organisation, wave) beside its sha256 (responses have them already),
# and all three are stored in (organisation, wave) order: the dbt build reads them by partition.
ANSWER_TABLES = ("ingest.answers", "ingest.open_answers")
PARTITIONED_TABLES = ("ingest.responses", *ANSWER_TABLES)
# Bump when the reader changes how a file is read: every file is read again, once.
# 4: responses carry free_text_fingerprint (anonymous repeat submissions).
READER_VERSION = "4"


@dataclass
class FileOutcome:
    file_sha256: str
    file_name: str
    inbox_path: str
    archived_path: str
    size_bytes: int
    seen_at: dt.datetime
    status: str
    reason: str | None = None
    organisation_id: str | None = None
    wave: int | None = None
    tool: str | None = None
    instrument_id: str | None = None
    encoding: str | None = None
    rows_in_file: int = 0
    rows_excluded: str = "{}"
    responses_accepted: int = 0
    responses_rejected: int = 0
    answers_rejected: int = 0
    dropped_columns: str = ""
    missing_columns: str = ""
    read_fingerprint: str = ""
    times_at_clock_change: int = 0
    # A registered file that was quarantined, or a file that could not be opened or copied: the
    # run goes on without it, and says so with a warning (never a plain success).
    set_aside: bool = False


class ReadFingerprints:
    """Per file, a digest of everything that decides how it is read: the reader's version, its
    own registration entry, its organisation's services and aliases, its instrument's crosswalk,
    questions, options and labels, its tool's layout, the redaction list, the hash key and the
    rejection limit. A new measure, codebook phrase or suppression setting is not part of it:
    those re-compute cells from what was read and read no file."""

    def __init__(self, settings: Settings, reference: ReferenceData, registry: Registry) -> None:
        common = hashlib.sha256(READER_VERSION.encode())
        names = settings.redaction_names_file
        common.update(names.read_bytes() if names.exists() else b"")
        common.update(hashlib.sha256(settings.hash_key).digest())
        common.update(str(settings.max_rejected_share).encode())
        common.update(settings.earliest_submission.isoformat().encode())
        self._common = common.hexdigest()
        self._reference, self._registry = reference, registry
        self._parts: dict[tuple[str, str], str] = {}

    def _part(self, kind: str, key: str) -> str:
        if (kind, key) not in self._parts:
            digest = {
                "instrument": self._reference.instrument_digest,
                "organisation": self._registry.organisation_digest,
                "tool": tool_digest,
            }[kind](key)
            self._parts[kind, key] = digest
        return self._parts[kind, key]

    def of(self, matches: list[ExportRegistration]) -> str:
        digest = hashlib.sha256(self._common.encode())
        if len(matches) != 1:  # held: decided again whenever the matching entries change
            digest.update(repr(sorted(m.pattern for m in matches)).encode())
            return digest.hexdigest()
        registration = matches[0]
        digest.update(repr(registration).encode())
        digest.update(self._part("instrument", registration.instrument_id).encode())
        digest.update(self._part("organisation", registration.organisation_id).encode())
        digest.update(self._part("tool", registration.tool).encode())
        return digest.hexdigest()


def config_fingerprint(settings: Settings) -> str:
    """Changes whenever anything that decides how any file is read changes (used only to tell
    that a run has nothing new to do; each file's own read_fingerprint decides what is read)."""
    digest = hashlib.sha256(READER_VERSION.encode())
    for path in [
        settings.registry_file,
        _TOOLS_FILE,
        settings.redaction_names_file,
        *sorted(REFERENCE_DIR.glob("*.csv")),
    ]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    digest.update(settings.hash_key)
    digest.update(f"{settings.max_rejected_share} {settings.earliest_submission}".encode())
    return digest.hexdigest()


def input_fingerprint(
    settings: Settings, file_shas: list[str] | None = None, known: dict | None = None
) -> str:
    """Everything a publication is made from: inbox files, coding sheets, configuration,
    reference data, models.

    Recorded in the manifest, so a run can tell that nothing changed and leave the marts be.
    `file_shas` is the inbox as ingest read it; without it, the inbox as it is now (files whose
    size and time match `known` are not read again).
    """
    if file_shas is None:
        file_shas = [a.sha256 for a in arrived_files(settings.inbox_dirs, known)]
    digest = hashlib.sha256(config_fingerprint(settings).encode())
    for sha in sorted(file_shas):
        digest.update(sha.encode())
    # Coding sheets returned by analysts change codes, and so the marts (a few small files).
    for sheet in arrived_files((settings.coding_dir,)):
        digest.update(b"coding sheet " + sheet.sha256.encode())
    for path in sorted(DBT_PROJECT_DIR.glob("**/*")):
        if path.suffix in {".sql", ".yml"} and "target" not in path.parts:
            digest.update(path.read_bytes())
    return digest.hexdigest()


class _Batch:
    """Read files are written to the warehouse in batches, one transaction each: a commit per
    file would cost more than reading it. A crash loses at most the batch being written, whose
    files are simply read again by the next run."""

    MAX_FILES, MAX_ROWS = 200, 500_000

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.outcomes: list[FileOutcome] = []
        self.replaced: list[str] = []
        self.frames: dict[str, list[pl.DataFrame]] = {t: [] for t in PER_FILE_TABLES}
        self.rows = 0

    def add(self, outcome: FileOutcome, parsed: ParsedExport | None, stored_before: bool) -> None:
        self.outcomes.append(outcome)
        if stored_before:  # a new version has nothing to delete: no scan of the history
            self.replaced.append(outcome.file_sha256)
        if parsed is not None:
            for table, frame in zip(
                PER_FILE_TABLES,
                (parsed.responses, parsed.answers, parsed.open_answers, parsed.rejected),
                strict=True,
            ):
                keys = {"file_sha256": pl.lit(outcome.file_sha256)}
                if table in ANSWER_TABLES:
                    keys["organisation_id"] = pl.lit(outcome.organisation_id, dtype=pl.String)
                    keys["wave"] = pl.lit(outcome.wave, dtype=pl.Int32)
                self.frames[table].append(frame.with_columns(**keys))
                self.rows += frame.height
        if len(self.outcomes) >= self.MAX_FILES or self.rows >= self.MAX_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.outcomes:
            return
        con = self.con
        con.execute("begin transaction")
        try:
            if self.replaced:
                con.register("_replaced", pl.DataFrame({"file_sha256": self.replaced}).to_arrow())
                for table in (FILES_TABLE, *PER_FILE_TABLES):
                    con.execute(
                        f"delete from {table} where file_sha256 in (select * from _replaced)"
                    )
                con.unregister("_replaced")
            batches = {FILES_TABLE: [pl.DataFrame([asdict(o) for o in self.outcomes])]}
            for table, frames in {**batches, **self.frames}.items():
                if frames:
                    rows = pl.concat(frames, how="diagonal_relaxed")
                    if table in PARTITIONED_TABLES:
                        rows = rows.sort("organisation_id", "wave", maintain_order=True)
                    con.register("_rows", rows.to_arrow())
                    con.execute(f"insert into {table} by name select * from _rows")
                    con.unregister("_rows")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        self.outcomes, self.replaced, self.rows = [], [], 0
        self.frames = {t: [] for t in PER_FILE_TABLES}


def ingest_inbox(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    reference: ReferenceData,
    registry: Registry,
    now: dt.datetime | None = None,
    reprocess: frozenset[str] = frozenset(),
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[FileOutcome]:
    """Read every inbox file whose bytes or read fingerprint are new, and those named in
    `reprocess` again (to backfill one export alone after a fix). Nothing else is opened."""
    ensure_file_state(con)
    now = now or dt.datetime.now(dt.UTC)
    fingerprints = ReadFingerprints(settings, reference, registry)
    previous = {
        row["file_sha256"]: row
        for row in read_table(con, f"select * from {FILES_TABLE}").iter_rows(named=True)
    }
    inbox = arrived_files(settings.inbox_dirs, known_hashes(con))
    remember_hashes(con, hashes_of(inbox))
    outcomes: list[FileOutcome | None] = []
    to_read: list[tuple[int, _ReadTask]] = []
    read_under = _names_read_under(inbox, previous)
    for arrived in inbox:
        if arrived.refused:
            outcomes.append(_not_opened(arrived, now))
            continue
        if read_under[arrived.sha256] != arrived.path:  # the same bytes under another name
            outcomes.append(_same_content(arrived, read_under[arrived.sha256].name, now))
            continue
        matches = registry.registrations_for(arrived.path.name)
        fingerprint = fingerprints.of(matches)
        known = previous.get(arrived.sha256)
        if (
            known
            and known["read_fingerprint"] == fingerprint
            and known["inbox_path"] == str(arrived.path)  # else renamed: recorded anew
            and arrived.path.name not in reprocess
        ):
            outcomes.append(_unchanged(known))
            continue
        archived = archive(arrived, settings.archive_dir)
        if archived is None:
            outcomes.append(_still_changing(arrived, now))
            continue
        to_read.append((len(outcomes), _ReadTask(arrived, archived, matches, fingerprint)))
        outcomes.append(None)
    batch = _Batch(con)
    reader = _ReaderSetup(settings, reference, registry, now)
    step = max(1, len(to_read) // 10)  # about ten progress reports, however many files
    for done, ((slot, task), (outcome, parsed)) in enumerate(
        zip(to_read, reader.read_all([t for _, t in to_read], con), strict=True), start=1
    ):
        batch.add(outcome, parsed, stored_before=task.arrived.sha256 in previous)
        outcomes[slot] = outcome
        if done % step == 0 or done == len(to_read):
            on_progress(done, len(to_read))
    batch.flush()
    return outcomes


@dataclass(frozen=True)
class _ReadTask:
    arrived: ArrivedFile
    archived: Path
    matches: list[ExportRegistration]
    fingerprint: str


@dataclass(frozen=True)
class _ReaderSetup:
    """What reading needs, picklable, so files can be read in worker processes: the machine's
    cores share the work when many files arrive (a national backfill), each worker with its own
    in-memory DuckDB connection. A few files are read here, without a worker's start-up."""

    settings: Settings
    reference: ReferenceData
    registry: Registry
    now: dt.datetime

    PARALLEL_FROM = 16  # files; below this a worker's start-up costs more than it saves

    def context(self, con: duckdb.DuckDBPyConnection | None = None) -> ReadContext:
        names = load_redaction_names(self.settings.redaction_names_file)
        extra = {"con": con} if con is not None else {}
        return ReadContext(
            self.reference,
            self.registry,
            self.settings.hash_key,
            names,
            self.now,
            self.settings.earliest_submission,
            **extra,
        )

    def read(self, task: _ReadTask, ctx: ReadContext) -> tuple[FileOutcome, ParsedExport | None]:
        return _read_one(
            task.arrived, task.archived, task.matches, ctx, self.settings, self.now,
            task.fingerprint,
        )  # fmt: skip

    def read_all(self, tasks: list[_ReadTask], con: duckdb.DuckDBPyConnection):
        workers = min(len(tasks) // self.PARALLEL_FROM, os.cpu_count() or 1)
        if workers < 2:
            ctx = self.context(con)
            for task in tasks:
                yield self.read(task, ctx)
            return
        spawn = multiprocessing.get_context("spawn")  # no fork of a process holding DuckDB
        with ProcessPoolExecutor(
            workers, spawn, initializer=_start_worker, initargs=(self,)
        ) as pool:
            # A bounded window of files in flight, handed back in order: memory follows the
            # window, however many files arrived, even when writing is slower than reading.
            window: deque = deque()
            for task in tasks:
                window.append(pool.submit(_read_in_worker, task))
                if len(window) >= 4 * workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()


_WORKER: tuple[_ReaderSetup, ReadContext] | None = None


def _start_worker(setup: _ReaderSetup) -> None:
    global _WORKER
    _WORKER = (setup, setup.context())


def _read_in_worker(task: _ReadTask) -> tuple[FileOutcome, ParsedExport | None]:
    setup, ctx = _WORKER
    return setup.read(task, ctx)


def _unread(arrived: ArrivedFile, now: dt.datetime, status: str, reason: str, **kw) -> FileOutcome:
    """The outcome of a file that is not read this run (not opened, still changing, or the
    same bytes as another name)."""
    return FileOutcome(
        file_sha256=arrived.sha256,
        file_name=arrived.path.name,
        inbox_path=str(arrived.path),
        archived_path="",
        size_bytes=arrived.size,
        seen_at=now,
        status=status,
        reason=reason,
        **kw,
    )


def _not_opened(arrived: ArrivedFile, now: dt.datetime) -> FileOutcome:
    return _unread(arrived, now, "held", f"Not opened: {arrived.refused}", set_aside=True)


def _still_changing(arrived: ArrivedFile, now: dt.datetime) -> FileOutcome:
    """Held without a read fingerprint, so the next run looks at it again whatever it holds."""
    reason = (
        "The file changed while it was being copied (it is probably still being written): it "
        "will be read once it has stopped changing."
    )
    return _unread(arrived, now, "held", reason, set_aside=True)


def _names_read_under(inbox: list[ArrivedFile], previous: dict[str, dict]) -> dict[str, Path]:
    """Per content (sha256), the one inbox file it is read and recorded under: the one it was
    recorded under before while that file is still there, otherwise the first in the inbox.
    Other files with the same bytes are listed as "same content as" it and counted once."""
    paths: dict[str, list[Path]] = {}
    for arrived in inbox:
        if not arrived.refused:
            paths.setdefault(arrived.sha256, []).append(arrived.path)
    chosen = {}
    for sha, candidates in paths.items():
        recorded = previous.get(sha, {}).get("inbox_path")
        chosen[sha] = next((p for p in candidates if str(p) == recorded), candidates[0])
    return chosen


def _same_content(arrived: ArrivedFile, first_name: str, now: dt.datetime) -> FileOutcome:
    reason = f"same content as {first_name}: read and counted once, under that name"
    return _unread(arrived, now, "unchanged", reason)


def _unchanged(known: dict) -> FileOutcome:
    names = {f.name for f in fields(FileOutcome)}  # the table has validation's columns too
    outcome = FileOutcome(**{k: v for k, v in known.items() if k in names})
    outcome.status, outcome.reason = (
        "unchanged",
        f"already {outcome.status}: {outcome.reason or 'ok'}",
    )
    return outcome


def _read_one(
    arrived: ArrivedFile,
    archived: Path,
    matches: list[ExportRegistration],
    ctx: ReadContext,
    settings: Settings,
    now: dt.datetime,
    fingerprint: str,
) -> tuple[FileOutcome, ParsedExport | None]:
    outcome = FileOutcome(
        file_sha256=arrived.sha256,
        file_name=arrived.path.name,
        inbox_path=str(arrived.path),
        archived_path=str(archived),
        size_bytes=arrived.size,
        seen_at=now,
        status="ingested",
        read_fingerprint=fingerprint,
    )
    if len(matches) != 1:
        outcome.status = "held"
        outcome.reason = (
            f"No export in {settings.registry_file.name} matches the file name "
            f"{arrived.path.name!r}: register it (organisation, wave, tool, instrument) and run "
            "again."
            if not matches
            else f"{arrived.path.name!r} matches {len(matches)} export entries in "
            f"{settings.registry_file.name} ({', '.join(m.pattern for m in matches)}); make the "
            "file patterns distinct."
        )
        return outcome, None
    registration = matches[0]
    outcome.organisation_id = registration.organisation_id
    outcome.wave = registration.wave
    outcome.tool = registration.tool
    outcome.instrument_id = registration.instrument_id
    try:
        parsed = read_export(archived, registration, ctx)  # the snapshot, never the inbox file
    except UnreadableExport as error:
        outcome.status, outcome.reason, outcome.set_aside = "quarantined", str(error), True
        quarantine(arrived, archived, settings.quarantine_dir, outcome.reason)
        return outcome, None
    rejected_responses = parsed.rejected.filter(pl.col("source_column").is_null()).height
    considered = parsed.responses.height + rejected_responses
    outcome.encoding = parsed.encoding
    outcome.rows_in_file = parsed.rows_in_file
    outcome.rows_excluded = json.dumps(parsed.excluded)
    outcome.responses_accepted = parsed.responses.height
    outcome.responses_rejected = rejected_responses
    outcome.answers_rejected = parsed.rejected.height - rejected_responses
    # Column names are the export's own: a header may itself be a name or an e-mail address.
    outcome.dropped_columns = ", ".join(redact_text(parsed.dropped_columns, ctx.redaction_names))
    outcome.missing_columns = ", ".join(parsed.missing_columns)
    outcome.times_at_clock_change = parsed.times_at_clock_change
    share = rejected_responses / considered if considered else 1.0
    if considered == 0 or share > settings.max_rejected_share:
        outcome.status, outcome.set_aside = "quarantined", True
        outcome.reason = (
            f"{rejected_responses} of {considered} responses ({share:.0%}) were rejected, above "
            f"the {settings.max_rejected_share:.0%} limit; the first: {_first_rejection(parsed)}"
        )
        quarantine(arrived, archived, settings.quarantine_dir, outcome.reason)
        return outcome, None
    return outcome, parsed


def _first_rejection(parsed: ParsedExport) -> str:
    if not parsed.rejected.height:
        return "the file holds no responses."
    first = parsed.rejected.sort("row_number").row(0, named=True)
    return f"row {first['row_number']}: {first['reason']}"


def describe(outcome: FileOutcome) -> str:
    """One greppable line per file: key=value pairs, the reason last. The file name and the
    reason are escaped, so a name holding a newline can never start a forged line."""
    line = (
        f"file={escape_for_log(outcome.file_name)} sha256={outcome.file_sha256[:12]} "
        f"status={outcome.status} accepted={outcome.responses_accepted} "
        f"rejected={outcome.responses_rejected}"
    )
    if outcome.times_at_clock_change:
        line += f" times_at_clock_change={outcome.times_at_clock_change}"
    if outcome.status in {"held", "quarantined"}:
        line += f" reason={escape_for_log(outcome.reason or '')}"
    return line


def escape_for_log(text: str) -> str:
    """Control characters (newlines, escape sequences) written as visible escapes."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def append_to_log(log_file: Path, outcomes: list[FileOutcome], now: dt.datetime) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a", encoding="utf-8") as handle:
        for outcome in outcomes:
            handle.write(f"{now:%Y-%m-%dT%H:%M:%SZ} {describe(outcome)}\n")
