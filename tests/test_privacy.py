"""Keyed pseudonyms and free-text redaction."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import polars as pl

from pipelines.ingest.privacy import keyed_hashes, redact


def keyed_hash(values: pl.Series, key: bytes, scope: pl.Series) -> pl.Series:
    return keyed_hashes(duckdb.connect(), [values], key, scope)[0]


def test_keyed_hash_is_hmac_sha256_of_scope_and_value():
    values = pl.Series("id", ["R_1", "é-2", None, ""])
    scope = pl.Series(["org_a"] * 4)
    hashed = keyed_hash(values, b"secret", scope).to_list()
    assert hashed[0] == hmac.new(b"secret", b"org_a:R_1", hashlib.sha256).hexdigest()
    assert hashed[1] == hmac.new(b"secret", "org_a:é-2".encode(), hashlib.sha256).hexdigest()
    assert hashed[2:] == [None, None]


def test_several_columns_are_hashed_alike_in_one_query():
    ids, refs = pl.Series("id", ["R_1", None]), pl.Series("ref", ["P-9", "P-9"])
    scope = pl.Series(["org_a", "org_a"])
    hashed_ids, hashed_refs = keyed_hashes(duckdb.connect(), [ids, refs], b"secret", scope)
    assert hashed_ids.to_list() == [keyed_hash(ids, b"secret", scope)[0], None]
    assert (
        hashed_refs.to_list() == [hmac.new(b"secret", b"org_a:P-9", hashlib.sha256).hexdigest()] * 2
    )


def test_the_same_id_in_two_organisations_gets_two_keys():
    values = pl.Series("id", ["R_1", "R_1"])
    hashed = keyed_hash(values, b"secret", pl.Series(["org_a", "org_b"])).to_list()
    assert hashed[0] != hashed[1]


def test_a_different_key_gives_unlinkable_pseudonyms():
    values, scope = pl.Series("id", ["R_1"]), pl.Series(["org_a"])
    assert keyed_hash(values, b"one", scope)[0] != keyed_hash(values, b"two", scope)[0]


def test_redaction_removes_contact_details_postcodes_and_listed_names():
    text = pl.DataFrame(
        {
            "t": [
                "Email jo.bloggs@example.org or call 07700 900123 / +44 161 496 0000.",
                "I live near M1 1AE, ask Jo Bloggs or jo bloggs.",
                "See www.example.org/page and (0161) 496 0000",
                "Nothing to hide here: 12 staff, 3 services.",
            ]
        }
    )
    redacted = text.select(redact(pl.col("t"), ("Jo Bloggs",)))["t"].to_list()
    assert redacted == [
        "Email [email] or call [phone] / [phone].",
        "I live near [postcode], ask [name] or [name].",
        "See [link] and [phone]",
        "Nothing to hide here: 12 staff, 3 services.",
    ]
