"""The dbt project speaks SQL both DuckDB and Spark understand, except inside
dbt_project/macros/adapters/, where each difference is a dispatched macro with a duckdb__ and a
spark__ implementation. This lint fails on SQL only one of them reads (issue 16) anywhere else:
syntax from a table of known differences, and every function call that sqlglot reads as a
different function (or knows in one dialect only) when the SQL is read as DuckDB's and as
Spark's. make test-spark then proves the whole project on Spark itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot.tokens import TokenType

from pipelines.settings import DBT_PROJECT_DIR

# What DuckDB reads and Spark does not (or reads differently): each with what to use instead.
DUCKDB_ONLY = {
    "a :: cast (write cast(x as type))": r"::",
    "a list_* function (use a macro in macros/adapters/lists.sql)": r"\blist_\w+\s*\(",
    "list() as an aggregate (array_agg_of)": r"\blist\s*\(",
    "string_split (split_to_array)": r"\b(string_split|str_split|string_split_regex)\s*\(",
    "string_agg": r"\bstring_agg\s*\(",
    "* exclude (name the columns, or keep them)": r"\bexclude\s*\(",
    "union by name": r"\bunion(\s+all)?\s+by\s+name\b",
    "distinct on": r"\bdistinct\s+on\b",
    "anti or semi join without left (anti_join)": r"(?<!left)\s+(anti|semi)\s+join\b",
    "^ as a power (Spark reads it as xor: use power())": r"\^",
    "to_minutes and friends (minutes_interval)": r"\bto_(minutes|hours|days|seconds)\s*\(",
    "varchar without a length (use string)": r"\bvarchar\b(?!\s*\()",
    "regexp_matches (use regexp_like or rlike through a macro)": r"\bregexp_matches\s*\(",
    "strftime or strptime": r"\bstr[fp]time\s*\(",
    "read_parquet or read_csv": r"\bread_(parquet|csv)\w*\s*\(",
    "'' inside a string (Spark reads 'a''b' as 'ab': use quoted_text)": r"\w''\w",
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


def function_reading(name: str, dialect: str) -> str | None:
    """What sqlglot makes of a call to `name` in `dialect` (its expression class; Anonymous for
    a function it does not know there), trying one to three arguments."""
    for arguments in ("a", "a, b", "a, b, c"):
        try:
            call = sqlglot.parse_one(f"select {name}({arguments})", read=dialect).selects[0]
        except sqlglot.errors.ParseError:
            continue
        return type(call).__name__
    return None


def functions_read_differently(text: str) -> list[tuple[int, str]]:
    """Calls that sqlglot reads as one function in DuckDB and another (or none) in Spark, e.g.
    split (literal in DuckDB, a regular expression in Spark) or list_has_any (DuckDB only)."""
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql_only(text))
    return sorted(
        (name.line, f"{name.text.lower()}() reads differently in DuckDB and Spark")
        for name, after in zip(tokens, tokens[1:], strict=False)
        if name.token_type == TokenType.VAR
        and after.token_type == TokenType.L_PAREN
        and function_reading(name.text, "duckdb") != function_reading(name.text, "spark")
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
        for text in [path.read_text(encoding="utf-8")]
        for line, rule in duckdb_only_uses(text) + functions_read_differently(text)
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
        ("select * exclude (rank) from t", "* exclude (name the columns, or keep them)"),
        ("select a from t anti join u using (a)", "anti or semi join without left (anti_join)"),
        ("select z ^ 2 from t", "^ as a power (Spark reads it as xor: use power())"),
        ("select 1\nunion all by name\nselect 2", "union by name"),
        ("select cast(x as varchar) from t", "varchar without a length (use string)"),
        (
            "select 'withheld: this wave''s cell' from t",
            "'' inside a string (Spark reads 'a''b' as 'ab': use quoted_text)",
        ),
    ],
)
def test_a_planted_duckdb_only_call_is_caught(sql, rule):
    assert rule in {found for _, found in duckdb_only_uses(sql)}


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("select list_has_any(a, b) from t", "list_has_any"),  # DuckDB only
        ("select\n  string_split(codes, '|') from t", "string_split"),
        ("select split(codes, '.') from t", "split"),  # a literal in DuckDB, a regex in Spark
        ("select regexp_matches(a, 'x') from t", "regexp_matches"),
        ("select collect_list(a) from t group by b", "collect_list"),  # Spark only
        ("select any_value(a) from t group by b", "any_value"),  # nulls skipped in DuckDB only
    ],
)
def test_a_function_read_differently_is_caught(sql, function):
    found = functions_read_differently(sql)
    assert found == [(sql.count("\n") + 1, f"{function}() reads differently in DuckDB and Spark")]


def test_functions_both_read_alike_pass():
    sql = (
        "select coalesce(a, 0), concat_ws('|', a, b), round(100.0 * k / n, 1), power(z, 2),\n"
        "    row_number() over (partition by a order by b), least(1.0, p), min(s)\n"
        "from t"
    )
    assert functions_read_differently(sql) == []


def test_what_is_not_sql_is_not_checked():
    text = (
        "{# list_has_any(a, b) in a comment #}\n"
        "-- x::double in a SQL comment\n"
        "select {{ coprod.arrays_overlap('a', 'b') }}, a from t left anti join u using (a)\n"
    )
    assert duckdb_only_uses(text) == []
