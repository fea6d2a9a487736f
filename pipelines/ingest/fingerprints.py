"""What makes two responses identical, for de-duplication (int_responses_duplicates_marked):
the options they chose and the free text they typed.

  answers_fingerprint    every chosen option as question=option, sorted: codes only, no text
  free_text_fingerprint  a keyed hash (HMAC-SHA256 under COPROD_HASH_KEY, as respondent keys)
                         of every free-text answer of the response, lower-cased with runs of
                         spaces made one; null when the response typed no text. Only the hash is
                         kept: the text it is made from is never stored.

The free text is hashed as typed, before redaction: redaction turns different answers into the
same placeholders ("ask [name] on [phone]"), and two people must not look like one.
"""

from __future__ import annotations

import polars as pl

from pipelines.ingest.context import ReadContext
from pipelines.ingest.privacy import keyed_hashes

# Between one answer and the next in what is hashed: a character no one types.
_SEPARATOR = "\u241f"


def answers_fingerprints(answers: pl.DataFrame) -> pl.DataFrame:
    """response_key, answers_fingerprint: the response's chosen options in a fixed order."""
    return answers.group_by("response_key").agg(
        answers_fingerprint=pl.concat_str("question_id", pl.lit("="), "option_code")
        .sort()
        .str.join("|")
    )


def free_text_fingerprints(
    typed: pl.DataFrame, ctx: ReadContext, organisation_id: str
) -> pl.DataFrame:
    """row_number, free_text_fingerprint from the non-blank text answers `typed` (row_number,
    question_id, part, value as typed). Case and spacing are ignored: "Rotas  change" and
    "rotas change" are the same answer. Which question (and part) a text answers is part of
    it, so the same words in another box are another answer."""
    joined = (
        typed.select(
            "row_number",
            answer=pl.concat_str(
                "question_id",
                pl.lit(":"),
                "part",
                pl.lit("="),
                pl.col("value").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars(),
            ),
        )
        .group_by("row_number")
        .agg(pl.col("answer").sort().str.join(_SEPARATOR))
        .sort("row_number")
    )
    # Scoped by organisation, as response and respondent keys are, and apart from them.
    scope = pl.Series([f"{organisation_id}/free_text"] * joined.height, dtype=pl.String)
    (hashed,) = keyed_hashes(ctx.con, [joined["answer"]], ctx.hash_key, scope)
    return joined.select("row_number", free_text_fingerprint=hashed)
