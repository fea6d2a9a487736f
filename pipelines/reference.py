"""The hand-maintained reference data (question bank, options, crosswalk) as polars frames.

The CSVs live in dbt_project/seeds so that dbt loads the very same files as seeds: one source of
truth that a non-programmer edits in a spreadsheet, read here by ingest and there by the models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl

from pipelines.settings import REFERENCE_DIR

# Option sets every export's profile columns are coded with, whatever its questions.
PROFILE_OPTION_SETS = ("respondent_group", "yes_no")


def _read(directory: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(directory / f"{name}.csv", infer_schema=False)


@dataclass(frozen=True)
class ReferenceData:
    questions: pl.DataFrame
    answer_options: pl.DataFrame
    answer_labels: pl.DataFrame
    instrument_columns: pl.DataFrame
    respondent_groups: pl.DataFrame
    breakdowns: pl.DataFrame

    def instrument_ids(self) -> set[str]:
        return set(self.instrument_columns["instrument_id"].unique().to_list())

    def instrument_digest(self, instrument_id: str) -> str:
        """Everything the reference data says about reading one instrument: its crosswalk rows,
        its questions and their option sets (options and accepted labels), and the sets every
        export uses (respondent groups, yes/no flags)."""
        crosswalk = self.instrument_columns.filter(pl.col("instrument_id") == instrument_id)
        questions = self.questions.filter(
            pl.col("question_id").is_in(crosswalk["question_id"].drop_nulls().implode())
        )
        sets = [*questions["option_set_id"].drop_nulls().to_list(), *PROFILE_OPTION_SETS]
        digest = hashlib.sha256()
        for frame in (
            crosswalk,
            questions,
            self.answer_options.filter(pl.col("option_set_id").is_in(sets)),
            self.answer_labels.filter(pl.col("option_set_id").is_in(sets)),
        ):
            digest.update(frame.sort(frame.columns).write_csv().encode())
        return digest.hexdigest()

    @cached_property
    def labels(self) -> pl.DataFrame:
        """label_lookup(), computed once."""
        return self.label_lookup()

    @cached_property
    def labels_longest_first(self) -> dict[str, list[str]]:
        """Each option set's label keys, longest first (for splitting joined multi-selects)."""
        return {
            set_id: sorted(group["label_key"].to_list(), key=len, reverse=True)
            for (set_id,), group in self.labels.group_by("option_set_id")
        }

    def label_lookup(self) -> pl.DataFrame:
        """Every accepted spelling of every option, normalised for matching.

        Columns: option_set_id, label_key (lower-cased, single-spaced), option_code.
        """
        canonical = self.answer_options.select(
            "option_set_id", pl.col("label").alias("label_as_exported"), "option_code"
        )
        alternatives = self.answer_labels.select(
            "option_set_id", "label_as_exported", "option_code"
        )
        codes = self.answer_options.select(
            "option_set_id", pl.col("option_code").alias("label_as_exported"), "option_code"
        )
        return (
            pl.concat([canonical, alternatives, codes])
            .with_columns(label_key=normalise_label(pl.col("label_as_exported")))
            .select("option_set_id", "label_key", "option_code")
            .unique(subset=["option_set_id", "label_key"], keep="first", maintain_order=True)
        )


def normalise_label(expr: pl.Expr) -> pl.Expr:
    """Case, curly apostrophes and repeated spaces never decide whether an answer matches."""
    return (
        expr.str.replace_all("\u2019", "'", literal=True)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.to_lowercase()
    )


def load_reference(directory: Path = REFERENCE_DIR) -> ReferenceData:
    return ReferenceData(
        questions=_read(directory, "ref_questions"),
        answer_options=_read(directory, "ref_answer_options"),
        answer_labels=_read(directory, "ref_answer_labels"),
        instrument_columns=_read(directory, "ref_instrument_columns"),
        respondent_groups=_read(directory, "ref_respondent_groups"),
        breakdowns=_read(directory, "ref_breakdowns"),
    )
