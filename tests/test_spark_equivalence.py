"""The same dbt project on Spark publishes the same marts as the pipeline's DuckDB build, cell for
cell (issue 16). Runs in .venv-spark (make test-spark), not in make test: it needs dbt-spark,
PySpark and Java, and about three minutes.

The bundled samples go through the real pipeline (ingest, pandera, dbt on DuckDB, GX gates,
publication); its ingest output is then built again on a local Spark from Parquet alone
(pipelines/portable_build.py), every dbt test passing there too, and the two publications are
compared: counts, flags and text exactly; percentages, intervals and p-values within 1e-9.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from pipelines.portable_build import build
from pipelines.publication import PUBLISHED_MARTS, mart_documentation
from tests.conftest import copy_samples, open_workspace

pytestmark = pytest.mark.spark
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def builds(tmp_path_factory, module_monkeypatch):
    root = tmp_path_factory.mktemp("spark_equivalence")
    workspace = copy_samples(open_workspace(root / "data", module_monkeypatch))
    assert workspace.run().success
    on_spark = build("spark", workspace.warehouse, root / "spark_build")
    print(
        f"\nSpark build of the samples: export {on_spark.export_seconds:.1f} s, "
        f"dbt build {on_spark.dbt_seconds:.1f} s, publish {on_spark.publish_seconds:.1f} s"
    )
    return workspace.marts, on_spark.marts_dir


def differences(duckdb: pl.DataFrame, spark: pl.DataFrame, grain: list[str]) -> list[str]:
    """Every cell where the two publications disagree, as 'column at key: a != b'."""
    found = []
    duckdb, spark = duckdb.sort(grain), spark.sort(grain)
    for row_a, row_b in zip(duckdb.iter_rows(named=True), spark.iter_rows(named=True), strict=True):
        key = tuple(row_a[c] for c in grain)
        for column, a in row_a.items():
            b = row_b[column]
            if isinstance(a, float) and isinstance(b, float):
                same = math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE)
            else:
                same = a == b and type(a) is type(b)
            if not same:
                found.append(f"{column} at {key}: {a!r} != {b!r}")
    return found


@pytest.mark.parametrize("mart", PUBLISHED_MARTS)
def test_spark_publishes_the_duckdb_marts_cell_for_cell(builds, mart):
    duckdb_marts, spark_marts = builds
    duckdb = pl.read_parquet(duckdb_marts / f"{mart}.parquet")
    spark = pl.read_parquet(spark_marts / f"{mart}.parquet")
    assert spark.schema == duckdb.schema  # same columns, in the same order, of the same types
    assert spark.height == duckdb.height > 0
    grain = mart_documentation()[mart]["grain"]
    assert spark.select(grain).is_unique().all()
    assert differences(duckdb, spark, grain) == []


def test_both_publications_withhold_and_publish_real_figures(builds):
    """The comparison above is of marts that hold what they should: cells withheld for both
    reasons and published numbers, with notes that keep their apostrophes (Spark once read
    'wave''s' as 'waves')."""
    _, spark_marts = builds
    measures = pl.read_parquet(spark_marts / "mart_measures.parquet")
    reasons = set(measures["suppression_reason"].drop_nulls().str.slice(0, 10))
    assert reasons == {"fewer than", "secondary:"}
    assert measures.filter(~pl.col("suppressed"))["n"].min() >= 10
    notes = set(pl.read_parquet(spark_marts / "mart_measure_changes.parquet")["note"].drop_nulls())
    assert "withheld: this wave's cell is suppressed" in notes


def test_the_differences_check_can_fail():
    frame = pl.DataFrame({"id": [1, 2], "n": [10, 12], "pct": [50.0, 25.0]})
    assert differences(frame, frame, ["id"]) == []
    shifted = frame.with_columns(pl.col("pct") + pl.Series([0.0, 2e-9]))
    assert differences(frame, shifted, ["id"]) == ["pct at (2,): 25.0 != 25.000000002"]
    assert differences(frame, frame.with_columns(n=pl.Series([10, 13])), ["id"]) == [
        "n at (2,): 12 != 13"
    ]
