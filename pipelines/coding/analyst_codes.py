"""Codes from returned coding sheets, checked and stored in the warehouse (ingest.analyst_codes).

A sheet is taken whole or not at all: every row with a code must name a current answer (its
answer key), carry the text that answer has now (the analyst coded what they read), be written
under the warehouse's hash key (key_fingerprint) and give codes of that question (one for a
question coded at one level, one or more for a themes question). Any row that fails refuses the
sheet: nothing of it is stored, it stays in data/coding/, and the reason names the file, row
and column of each failure in a fixed sentence, never a cell's content. A sheet is read once
(by sha256); a corrected sheet is a new file, or the same file saved again.

Accepted codes replace any earlier code of the same answers and are keyed by organisation,
wave, response key and question: a re-export of the same responses (the same response keys)
keeps them. Each code also records the file and row its answer was read from, so that when the
hash key is rotated (`coprod run --rotate-key`, every response key changes) the codes are
re-keyed from the re-read rows instead of silently matching nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines.coding.layout import (
    CODE_COLUMN,
    CODE_SEPARATOR,
    comparable_text,
    sheet_fingerprint,
    split_answer_key,
)
from pipelines.coding.returned import RefusedSheet, read_returned, returned_files
from pipelines.file_state import ANALYST_CODES, CODING_SHEETS, ensure_file_state
from pipelines.hash_key import stored_fingerprint
from pipelines.reference import ReferenceData
from pipelines.warehouse import read_table, scalar

MAX_LISTED_ERRORS = 20

UNKNOWN_CODE = "is not a code of this question (the allowed_codes column lists them)"
SEVERAL_CODES = "holds several codes, but this question takes one code per answer"
UNKNOWN_ANSWER = "names no current answer (a row from another sheet, or an answer since replaced)"
EDITED_TEXT = "differs from the answer's text: codes are only taken for the text as written"
OTHER_KEY = (
    "was written under a different COPROD_HASH_KEY than this warehouse's: code a sheet written "
    "by a run with the current key"
)
CODED_TWICE = "codes an answer that an earlier row of the sheet codes differently"


@dataclass
class SheetOutcome:
    file_name: str
    sheet_sha256: str
    status: str  # accepted, refused, unchanged (read before), waiting (no answers yet)
    reason: str | None = None
    rows_read: int = 0
    codes_accepted: int = 0


@dataclass
class CodingIntake:
    sheets: list[SheetOutcome] = field(default_factory=list)
    codes_rekeyed: int = 0  # re-keyed after a hash key rotation
    codes_stranded: int = 0  # made under another key and no longer re-keyable
    codes_stored: int = 0


def take_in_coding_sheets(
    con: duckdb.DuckDBPyConnection,
    coding_dir,
    reference: ReferenceData,
    now: dt.datetime | None = None,
) -> CodingIntake:
    ensure_file_state(con)
    now = now or dt.datetime.now(dt.UTC)
    intake = CodingIntake()
    fingerprint = stored_fingerprint(con)
    if fingerprint is not None:
        intake.codes_rekeyed, intake.codes_stranded = _rekey(con, fingerprint)
        _follow_reexports(con, fingerprint)
    seen = dict(con.execute(f"select sheet_sha256, status from {CODING_SHEETS}").fetchall())
    questions = _coding_rules(reference)
    for file in returned_files(coding_dir):
        outcome = SheetOutcome(file.path.name, file.sha256, "refused")
        if file.sha256 in seen:
            outcome.status, outcome.reason = "unchanged", f"read before: {seen[file.sha256]}"
        elif fingerprint is None:
            outcome.status, outcome.reason = "waiting", "the warehouse holds no answers yet"
        else:
            _take_in(con, file, outcome, questions, fingerprint, now)
        intake.sheets.append(outcome)
    intake.codes_stored = scalar(con, "select count(*) from validated.analyst_codes")
    return intake


def _coding_rules(reference: ReferenceData) -> dict[str, tuple[bool, frozenset[str]]]:
    """Per open question: whether it takes one code (level), and its codes."""
    rules = {}
    for row in reference.questions.filter(pl.col("answer_type") == "open").iter_rows(named=True):
        codes = reference.answer_options.filter(pl.col("option_set_id") == row["option_set_id"])
        rules[row["question_id"]] = (
            row["open_coding"] == "level",
            frozenset(codes["option_code"].to_list()),
        )
    return rules


def _take_in(con, file, outcome, questions, fingerprint, now) -> None:
    try:
        sheet = read_returned(file)
    except RefusedSheet as refused:
        outcome.reason = f"{file.path.name}: {refused}"
        if "still being saved" in str(refused):
            outcome.status = "waiting"  # not recorded: read again by the next run
            return
        _record(con, outcome, now)
        return
    outcome.rows_read = len(sheet.rows)
    errors: list[str] = []
    coded: dict[tuple[str, str], tuple[int, list[str], str]] = {}

    def fail(row: int, column: str, sentence: str) -> None:
        errors.append(f"{file.path.name}: row {row}, column {column}: {sentence}.")

    for row, values in sheet.rows:
        raw = (values[CODE_COLUMN] or "").strip()
        if not raw:
            continue  # not coded: nothing to take from this row
        if values["key_fingerprint"] != sheet_fingerprint(fingerprint):
            fail(row, "key_fingerprint", OTHER_KEY)
            continue
        key = split_answer_key(values["answer_key"] or "")
        if key is None or key[0] not in questions:
            fail(row, "answer_key", UNKNOWN_ANSWER)
            continue
        one_code, allowed = questions[key[0]]
        codes = sorted({c.strip() for c in raw.split(CODE_SEPARATOR) if c.strip()})
        if any(c not in allowed for c in codes):
            fail(row, CODE_COLUMN, UNKNOWN_CODE)
            continue
        if one_code and len(codes) > 1:
            fail(row, CODE_COLUMN, SEVERAL_CODES)
            continue
        if key in coded and coded[key][1] != codes:
            fail(row, "answer_key", CODED_TWICE)
            continue
        coded[key] = (row, codes, comparable_text(values["answer"]))
    found = _current_answers(con, coded)
    for key, (row, _codes, text) in coded.items():
        copies = found.get(key, [])
        if not copies:
            fail(row, "answer_key", UNKNOWN_ANSWER)
        elif all(comparable_text(c["text_redacted"]) != text for c in copies):
            fail(row, "answer", EDITED_TEXT)
    if errors:
        listed = " ".join(sorted(errors, key=_row_order)[:MAX_LISTED_ERRORS])
        more = len(errors) - MAX_LISTED_ERRORS
        outcome.reason = (
            f"{file.path.name} was refused whole, nothing of it stored ({len(errors)} "
            f"problem(s); fix them and save the sheet again): {listed}"
            + (f" ...and {more} more." if more > 0 else "")
        )
        _record(con, outcome, now)
        return
    rows = [
        {
            "organisation_id": copy["organisation_id"],
            "wave": copy["wave"],
            "response_key": key[1],
            "question_id": key[0],
            "option_code": code,
            "key_fingerprint": fingerprint,
            "file_sha256": copy["file_sha256"],
            "row_number": copy["row_number"],
            "sheet_sha256": file.sha256,
            "coded_at": now,
        }
        for key, (_row, codes, _text) in coded.items()
        for copy in _one_per_partition(found[key])
        for code in codes
    ]
    outcome.status, outcome.codes_accepted = "accepted", len(coded)
    outcome.reason = f"{len(coded)} answer(s) coded"
    _store(con, coded, rows, outcome, now)


def _row_order(error: str) -> int:
    return int(error.split(": row ", 1)[1].split(",", 1)[0])


def _current_answers(con, coded) -> dict[tuple[str, str], list[dict]]:
    """The current copies of the coded answers (a response re-exported in several current files
    has several), with their text, partition, file and row."""
    if not coded:
        return {}
    keys = pl.DataFrame(
        {"question_id": [k[0] for k in coded], "response_key": [k[1] for k in coded]},
        schema={"question_id": pl.String, "response_key": pl.String},
    )
    con.register("_coded", keys.to_arrow())
    try:
        found = read_table(
            con,
            """
            select o.question_id, o.response_key, o.organisation_id, o.wave, o.file_sha256,
                   o.text_redacted, r.row_number, f.seen_at
            from validated.open_answers o
            semi join _coded using (question_id, response_key)
            join ingest.responses r using (file_sha256, response_key)
            join ingest.current_files f using (file_sha256)
            where o.part = 'answer'""",
        )
    finally:
        con.unregister("_coded")
    copies: dict[tuple[str, str], list[dict]] = {}
    for copy in found.iter_rows(named=True):
        copies.setdefault((copy["question_id"], copy["response_key"]), []).append(copy)
    return copies


def _one_per_partition(copies: list[dict]) -> list[dict]:
    """One copy per (organisation, wave): the newest file's, whose row a rotated key re-keys."""
    chosen: dict[tuple[str, int], dict] = {}
    for copy in sorted(copies, key=lambda c: (c["seen_at"], c["file_sha256"]), reverse=True):
        chosen.setdefault((copy["organisation_id"], copy["wave"]), copy)
    return list(chosen.values())


def _store(con, coded, rows, outcome, now) -> None:
    frame = pl.DataFrame(
        rows,
        schema={
            "organisation_id": pl.String,
            "wave": pl.Int32,
            "response_key": pl.String,
            "question_id": pl.String,
            "option_code": pl.String,
            "key_fingerprint": pl.String,
            "file_sha256": pl.String,
            "row_number": pl.Int64,
            "sheet_sha256": pl.String,
            "coded_at": pl.Datetime("us", "UTC"),
        },
    )
    answers = pl.DataFrame(
        {"question_id": [k[0] for k in coded], "response_key": [k[1] for k in coded]},
        schema={"question_id": pl.String, "response_key": pl.String},
    )
    con.register("_codes", frame.to_arrow())
    con.register("_answers", answers.to_arrow())
    try:
        con.execute("begin transaction")
        con.execute(f"""
            delete from {ANALYST_CODES} a using _answers x
            where a.question_id = x.question_id and a.response_key = x.response_key""")
        con.execute(f"insert into {ANALYST_CODES} by name select * from _codes")
        _record(con, outcome, now)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_codes")
        con.unregister("_answers")


def _record(con, outcome: SheetOutcome, now: dt.datetime) -> None:
    con.execute(
        f"insert or replace into {CODING_SHEETS} values (?, ?, ?, ?, ?, ?, ?)",
        [
            outcome.sheet_sha256,
            outcome.file_name,
            now,
            outcome.status,
            outcome.reason,
            outcome.rows_read,
            outcome.codes_accepted,
        ],
    )


def _rekey(con, fingerprint: str) -> tuple[int, int]:
    """Codes made under another hash key get the response key their answer's file and row have
    now (ingest re-read every current file under the new key); those whose file is no longer
    current keep the old key and match nothing: counted, and reported by the asset as a failed
    check."""
    stale = con.execute(
        f"select count(*) from {ANALYST_CODES} where key_fingerprint <> ?", [fingerprint]
    ).fetchall()[0][0]
    if not stale:
        return 0, 0
    con.execute(
        f"""
        update {ANALYST_CODES} as a
        set response_key = r.response_key, key_fingerprint = ?
        from ingest.responses as r
        where a.key_fingerprint <> ? and r.file_sha256 = a.file_sha256
            and r.row_number = a.row_number
            and r.file_sha256 in (select file_sha256 from ingest.current_files)""",
        [fingerprint, fingerprint],
    )
    stranded = con.execute(
        f"select count(*) from {ANALYST_CODES} where key_fingerprint <> ?", [fingerprint]
    ).fetchall()[0][0]
    return stale - stranded, stranded


def _follow_reexports(con, fingerprint: str) -> None:
    """Point each code at the current file holding its response (a re-export replaces the file
    it was read from), so that a later key rotation finds the row to re-key it from."""
    moved = f"""
        select * from {ANALYST_CODES}
        where key_fingerprint = ?
            and file_sha256 not in (select file_sha256 from ingest.current_files)"""
    if not scalar(con, f"select count(*) from ({moved})", [fingerprint]):
        return  # the usual case: nothing to look up in the (large) responses
    con.execute(
        f"""
        update {ANALYST_CODES} as a
        set file_sha256 = r.file_sha256, row_number = r.row_number
        from (
            select organisation_id, wave, response_key,
                   arg_max(file_sha256, file_seen_at) as file_sha256,
                   arg_max(row_number, file_seen_at) as row_number
            from validated.responses
            where response_key in (select response_key from ({moved}))
            group by all) as r
        where a.key_fingerprint = ?
            and a.file_sha256 not in (select file_sha256 from ingest.current_files)
            and r.organisation_id = a.organisation_id and r.wave = a.wave
            and r.response_key = a.response_key""",
        [fingerprint, fingerprint],
    )
