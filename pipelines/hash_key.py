"""The hash key a warehouse was built with, remembered so that a different key is refused
before it silently re-keys every respondent (panel links and analysts' codes would break).

The warehouse keeps a fingerprint of the key, never the key: HMAC-SHA256 under the key of a
fixed label. Computing it needs the key, and HMAC's output reveals nothing of its key, so the
fingerprint cannot give the key back; it only lets a candidate key be tested, which the keyed
respondent hashes in the same warehouse allow already.

The first ingest into a warehouse without a fingerprint (a new one, or one built before
fingerprints) records the key it runs with. The development key, used when COPROD_HASH_KEY is
unset, is a key like any other.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb

from pipelines.warehouse import connect, table_exists

KEY_TABLE = "ingest.hash_key"
_LABEL = b"coprod: fingerprint of the warehouse's hash key"


class HashKeyChanged(ValueError):
    def __init__(self, stored: str) -> None:
        super().__init__(
            "COPROD_HASH_KEY differs from the key this warehouse was built with (fingerprint "
            f"{stored[:8]}…): respondent keys would not match earlier waves. Set the original "
            "key, or run `coprod run --rotate-key` to re-key every file deliberately."
        )


def key_fingerprint(key: bytes) -> str:
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()


def stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    if not table_exists(con, KEY_TABLE):
        return None
    rows = con.execute(f"select fingerprint from {KEY_TABLE}").fetchall()
    return rows[0][0] if rows else None


def _refuse_another_key(stored: str | None, key: bytes) -> None:
    if stored is not None and stored != key_fingerprint(key):
        raise HashKeyChanged(stored)


def check_warehouse_key(warehouse: Path, key: bytes) -> None:
    """Raise HashKeyChanged when the warehouse was built with another key (reads only)."""
    if warehouse.exists():
        with connect(warehouse, read_only=True) as con:
            _refuse_another_key(stored_fingerprint(con), key)


def adopt_hash_key(con: duckdb.DuckDBPyConnection, key: bytes, rotate: bool = False) -> None:
    """Before ingest reads a file: refuse another key than the warehouse's, unless `rotate`
    (every file is then read again, as the key is part of each file's read fingerprint), and
    record the key when the warehouse has none or is being re-keyed."""
    stored = stored_fingerprint(con)
    if not rotate:
        _refuse_another_key(stored, key)
    if stored != key_fingerprint(key):
        con.execute("create schema if not exists ingest")
        con.execute(
            f"create or replace table {KEY_TABLE} as "
            "select ? as fingerprint, current_timestamp as recorded_at",
            [key_fingerprint(key)],
        )
