"""The coding sheet's columns, shared by the sheet a run writes and the reader of a returned one.

An analyst fills in one column, `code`. The others say what is being coded and identify the
answer: `answer_key` (question and response key; the response key is the keyed hash ingest
gives a response, the same in every re-export of it) and `key_fingerprint` (which hash key made
it, so a sheet from before a key rotation can never match answers silently). `answer` is the
redacted text, checked on return so a code is never stored for a text the analyst did not see.
Keys and fingerprints start with letters so that Excel keeps them as text.
"""

from __future__ import annotations

from pipelines.spreadsheet import FORMULA_STARTS

COLUMNS = (
    "organisation",
    "wave",
    "service",
    "question_id",
    "question",
    "answer",
    "suggested_code",
    "suggested_because",
    "code",
    "allowed_codes",
    "answer_key",
    "key_fingerprint",
)
CODE_COLUMN = "code"
# Several themes for one answer of a themes question: "time|funding".
CODE_SEPARATOR = "|"
SHEET_NAME = "to code"
CODES_SHEET_NAME = "allowed codes"
# A day's coding is some hundreds of answers; a sheet that Excel and the reader handle quickly.
MAX_ROWS = 10_000


def answer_key(question_id: str, response_key: str) -> str:
    return f"{question_id}:{response_key}"


def split_answer_key(value: str) -> tuple[str, str] | None:
    question_id, separator, response_key = value.partition(":")
    if not separator or not question_id or len(response_key) != 64:
        return None
    return question_id, response_key


def sheet_fingerprint(stored_fingerprint: str) -> str:
    """The warehouse's key fingerprint as a sheet carries it (an HMAC under the key of a fixed
    label, so it reveals nothing of the key; 64 bits tell two keys apart)."""
    return f"key-{stored_fingerprint[:16]}"


def comparable_text(text: str | None) -> str:
    """A text as it is compared on return: the apostrophe a CSV sheet puts before a cell Excel
    would run as a formula is not part of the answer, nor are line-ending styles or spaces at
    either end (Excel may change both)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_STARTS:
        text = text[1:]
    return text
