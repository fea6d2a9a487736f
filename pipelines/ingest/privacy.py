"""Personal data stops here: keyed pseudonyms for identifiers, redaction for free text.

Only columns the crosswalk maps pass ingest at all, so names, emails, IP addresses and locations
in an export are never read into the warehouse. What remains identifying is handled here.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.person_names import redact_person_names

# Order matters: emails before phone numbers (an email can hold digits).
_REDACTIONS: tuple[tuple[str, str], ...] = (
    (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", "[email]"),
    (r"(?:https?://|www\.)\S+", "[link]"),
    # IP addresses (v4; v6 written in full or with ::) before phone numbers: both are digits.
    (r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "[ip address]"),
    (r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b", "[ip address]"),
    (r"(?i)\b(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?", "[ip address]"),
    # UK numbers: +44 or 0, then 9-10 more digits in groups (07700 900123, (0161) 496 0000).
    (r"(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?[\s\-]?\d{3,4}[\s\-]?\d{3,4}", "[phone]"),
    # UK postcodes: SW1A 1AA, M1 1AE, B33 8TH.
    (r"(?i)\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", "[postcode]"),
)


def keyed_hashes(
    con: duckdb.DuckDBPyConnection, columns: list[pl.Series], key: bytes, scope: pl.Series
) -> list[pl.Series]:
    """HMAC-SHA256 of scope + ':' + value for every value of every column, computed column-wise
    in DuckDB (no Python loop) on the run's connection, in one query (a connection or a query
    per column would cost more than the hashing).

    The scope (the organisation) stops the same id in two organisations' tools colliding.
    Nulls stay null.
    """
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block)
    outer = bytes(b ^ 0x5C for b in block)
    frame = pl.DataFrame({"scope": scope, **{f"v{i}": c for i, c in enumerate(columns)}})
    hashed = ", ".join(
        f"""case when v{i} is null or v{i} = '' then null else
            sha256($outer::blob || unhex(sha256($inner::blob || encode(scope || ':' || v{i}))))
        end as h{i}"""
        for i in range(len(columns))
    )
    con.register("_to_hash", frame.to_arrow())
    try:
        result = con.sql(
            f"select {hashed} from _to_hash", params={"outer": outer, "inner": inner}
        ).to_arrow_table()
    finally:
        con.unregister("_to_hash")
    return [
        pl.Series(c.name, result.column(f"h{i}"), dtype=pl.String) for i, c in enumerate(columns)
    ]


def load_redaction_names(path: Path) -> tuple[str, ...]:
    """Names to remove from free text: one per line, # for comments."""
    if not path.exists():
        return ()
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line)
    return tuple(names)


def redact(text: pl.Expr, names: tuple[str, ...] = (), *, person_names: bool = True) -> pl.Expr:
    """Replace emails, links, phone numbers, postcodes, declared names and (unless
    `person_names` is False) people's names nobody listed (see person_names.py) with
    placeholders. Names become "[name]"; a full name becomes one "[name]"."""
    for pattern, placeholder in _REDACTIONS:
        text = text.str.replace_all(pattern, placeholder)
    if names:
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        text = text.str.replace_all(rf"(?i)\b(?:{alternatives})\b", "[name]")
    if person_names:
        text = redact_person_names(text)
    return text


def redact_text(values: list[str], names: tuple[str, ...] = ()) -> list[str]:
    """`redact` for a few plain strings (column names, say)."""
    return (
        pl.Series(values, dtype=pl.String)
        .to_frame("v")
        .select(redact(pl.col("v"), names))["v"]
        .to_list()
    )
