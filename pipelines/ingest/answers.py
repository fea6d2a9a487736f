"""Answers: chosen options coded through the option labels (multi-select split into options),
free text redacted, and answers that are no declared option set aside."""

from __future__ import annotations

import re

import polars as pl

from pipelines.ingest.context import ReadContext
from pipelines.ingest.privacy import redact
from pipelines.ingest.survey_tools import SurveyTool
from pipelines.reference import normalise_label

ANSWER_ROLES = ("answer", "other_text", "coding")


def read_answers(
    body: pl.DataFrame,
    tool: SurveyTool,
    mapping: dict[str, dict],
    ctx: ReadContext,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(answers, open answers redacted, answers set aside, free text as typed). The last is
    for fingerprints.free_text_fingerprints only: the reader hashes it and keeps nothing else
    of it."""
    columns = [n for n, m in mapping.items() if m["column_role"] in ANSWER_ROLES]
    info = pl.DataFrame(
        [
            {
                "source_column": n,
                **{
                    k: mapping[n][k]
                    for k in ("column_role", "question_id", "question_version", "option_label")
                },
            }
            for n in columns
        ],
        schema={
            "source_column": pl.String,
            "column_role": pl.String,
            "question_id": pl.String,
            "question_version": pl.String,
            "option_label": pl.String,
        },
    ).join(
        ctx.reference.questions.select("question_id", "answer_type", "option_set_id"),
        on="question_id",
        how="left",
    )
    long = (
        body.select("row_number", *columns)
        .unpivot(index="row_number", variable_name="source_column", value_name="value")
        .with_columns(pl.col("value").str.strip_chars())
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
        .join(info, on="source_column", how="left")
        .with_columns(pl.col("question_version").cast(pl.Int32))
    )
    is_text = (pl.col("column_role") == "other_text") | (
        (pl.col("column_role") == "answer") & (pl.col("answer_type") == "open")
    )
    typed = long.filter(is_text).select(
        "row_number",
        "question_id",
        "question_version",
        "value",
        part=pl.when(pl.col("column_role") == "other_text")
        .then(pl.lit("other"))
        .otherwise(pl.lit("answer")),
    )
    open_answers = typed.select(
        "row_number",
        "question_id",
        "question_version",
        "part",
        text_redacted=redact(pl.col("value"), ctx.redaction_names),
    )
    # Text typed into a multi-select question's "Other" box means "Other" was chosen, even
    # where the tool (SurveyMonkey) records only the text.
    other_chosen = long.filter(
        (pl.col("column_role") == "other_text") & (pl.col("answer_type") == "multi")
    ).with_columns(column_role=pl.lit("answer"), value=pl.lit("other"))
    coded = pl.concat([long.filter(~is_text), other_chosen], how="vertical")
    labels = ctx.reference.labels
    joined_multi = (pl.col("answer_type") == "multi") & pl.lit(not tool.multi_spread)
    coded = coded.with_columns(
        label_key=pl.when(pl.col("option_label").is_not_null())
        .then(normalise_label(pl.col("option_label")))
        .otherwise(normalise_label(pl.col("value")))
    )
    if tool.multi_separator:
        coded = _split_joined_options(
            coded, joined_multi, tool.multi_separator, ctx.reference.labels_longest_first
        )
    coded = coded.join(labels, on=["option_set_id", "label_key"], how="left")
    unknown = coded.filter(pl.col("option_code").is_null()).select(
        "row_number",
        stage=pl.lit("read"),
        source_column="source_column",
        value_redacted=redact(pl.col("value"), ctx.redaction_names),
        reason=pl.format(
            "The answer is not an option of question {} (add the label to ref_answer_labels.csv).",
            pl.col("question_id"),
        ),
    )
    answers = (
        coded.filter(pl.col("option_code").is_not_null())
        .select(
            "row_number",
            "question_id",
            "question_version",
            "option_code",
            coded_by=pl.when(pl.col("column_role") == "coding")
            .then(pl.lit("analyst"))
            .otherwise(pl.lit("respondent")),
        )
        .unique(
            subset=["row_number", "question_id", "option_code", "coded_by"], maintain_order=True
        )
    )
    return (
        answers,
        open_answers,
        unknown,
        typed.select("row_number", "question_id", "part", "value"),
    )


def _split_joined_options(
    coded: pl.DataFrame, is_joined: pl.Expr, separator: str, known: dict[str, list[str]]
) -> pl.DataFrame:
    """Split "Time, Cost" into options, resolving labels that themselves contain the separator.

    Work is per distinct (option set, cell value), not per row: a few hundred strings at most.
    """
    joined = coded.filter(is_joined)
    if joined.is_empty():
        return coded
    distinct = joined.select("option_set_id", "label_key").unique()
    pieces = [
        {"option_set_id": s, "label_key": v, "piece": p}
        for s, v in distinct.iter_rows()
        for p in split_options(v, separator.strip().lower(), known.get(s, []))
    ]
    split = pl.DataFrame(
        pieces, schema={"option_set_id": pl.String, "label_key": pl.String, "piece": pl.String}
    )
    exploded = (
        joined.join(split, on=["option_set_id", "label_key"], how="left")
        .with_columns(label_key="piece", value="piece")
        .drop("piece")
    )
    return pl.concat([coded.filter(~is_joined), exploded], how="vertical")


def split_options(value: str, separator: str, known_labels: list[str]) -> list[str]:
    """Known labels (longest first) are taken whole; the rest is split on the separator.

    Spaces around separators are ignored on both sides, so "a, b" and "a,b" read alike.
    """

    def compact(text: str) -> str:
        return re.sub(rf"\s*{re.escape(separator)}\s*", separator, text.strip())

    remaining = f"{separator}{compact(value)}{separator}"
    found = []
    for label in known_labels:
        token = f"{separator}{compact(label)}{separator}"
        if token in remaining:
            found.append(label)
            remaining = remaining.replace(token, separator, 1)
    leftovers = [piece.strip() for piece in remaining.split(separator) if piece.strip()]
    return found + leftovers
