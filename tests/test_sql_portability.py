"""The dbt project speaks SQL both DuckDB and Spark understand, except inside
dbt_project/macros/adapters/, where each difference is a dispatched macro with a duckdb__ and a
spark__ implementation. This lint fails on DuckDB-only SQL anywhere else (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.settings import DBT_PROJECT_DIR

# What DuckDB reads and Spark does not (or reads differently): each with what to use instead.
DUCKDB_ONLY = {
    "a :: cast (write cast(x as type))": r"::",
    "a list_* function (use a macro in macros/adapters/lists.sql)": r"\blist_\w+\s*\(",
    "list() as an aggregate (array_agg_of)": r"\blist\s*\(",
    "string_split (split_to_array)": r"\b(string_split|str_split|string_split_regex)\s*\(",
    "string_agg": r"\bstring_agg\s*\(",
    "* exclude (list the columns: columns_of)": r"\bexclude\s*\(",
    "union by name": r"\bunion(\s+all)?\s+by\s+name\b",
    "distinct on": r"\bdistinct\s+on\b",
    "anti or semi join without left (anti_join)": r"(?<!left)\s+(anti|semi)\s+join\b",
    "^ as a power (Spark reads it as xor: use power())": r"\^",
    "to_minutes and friends (minutes_interval)": r"\bto_(minutes|hours|days|seconds)\s*\(",
    "varchar without a length (use string)": r"\bvarchar\b(?!\s*\()",
    "regexp_matches (use regexp_like or rlike through a macro)": r"\bregexp_matches\s*\(",
    "strftime or strptime": r"\bstr[fp]time\s*\(",
    "read_parquet or read_csv": r"\bread_(parquet|csv)\w*\s*\(",
}
ADAPTER_MACROS = DBT_PROJECT_DIR / "macros" / "adapters"


def sql_only(text: str) -> str:
    """The SQL a reader sees: Jinja comments, expressions and statements and SQL comments
    blanked, keeping line numbers."""

    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    for pattern in (r"\{#.*?#\}", r"\{\{.*?\}\}", r"\{%.*?%\}", r"--[^\n]*"):
        text = re.sub(pattern, blank, text, flags=re.S)
    return text


def duckdb_only_uses(text: str) -> list[tuple[int, str]]:
    sql = sql_only(text)
    return sorted(
        (sql[: match.start()].count("\n") + 1, rule)
        for rule, pattern in DUCKDB_ONLY.items()
        for match in re.finditer(pattern, sql, flags=re.IGNORECASE)
    )


def portable_files() -> list[Path]:
    return [
        path
        for folder in ("models", "macros", "tests")
        for path in sorted((DBT_PROJECT_DIR / folder).rglob("*.sql"))
        if ADAPTER_MACROS not in path.parents
    ]


def test_no_duckdb_only_sql_outside_the_adapter_macros():
    found = {
        f"{path.relative_to(DBT_PROJECT_DIR)}:{line}: {rule}"
        for path in portable_files()
        for line, rule in duckdb_only_uses(path.read_text(encoding="utf-8"))
    }
    assert portable_files(), "no dbt SQL found"
    assert found == set()


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("select n::double from cells", "a :: cast (write cast(x as type))"),
        (
            "select list_has_any(a, b) from t",
            "a list_* function (use a macro in macros/adapters/lists.sql)",
        ),
        ("select * exclude (rank) from t", "* exclude (list the columns: columns_of)"),
        ("select a from t anti join u using (a)", "anti or semi join without left (anti_join)"),
        ("select z ^ 2 from t", "^ as a power (Spark reads it as xor: use power())"),
        ("select 1\nunion all by name\nselect 2", "union by name"),
        ("select cast(x as varchar) from t", "varchar without a length (use string)"),
    ],
)
def test_a_planted_duckdb_only_call_is_caught(sql, rule):
    assert rule in {found for _, found in duckdb_only_uses(sql)}


def test_what_is_not_sql_is_not_checked():
    text = (
        "{# list_has_any(a, b) in a comment #}\n"
        "-- x::double in a SQL comment\n"
        "select {{ coprod.arrays_overlap('a', 'b') }}, a from t left anti join u using (a)\n"
    )
    assert duckdb_only_uses(text) == []
