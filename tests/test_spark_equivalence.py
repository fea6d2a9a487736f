"""The same dbt project on Spark publishes the same marts as the pipeline's DuckDB build, cell for
cell (issue 16). Runs in .venv-spark (make test-spark), not in make test: it needs dbt-spark,
PySpark and Java, and about four minutes.

The bundled samples go through the real pipeline (ingest, pandera, dbt on DuckDB, GX gates,
publication); its ingest output is then built again on a local Spark from Parquet alone
(pipelines/portable_build.py), every dbt test passing there too, then once more incrementally
(one partition recomputed), and each publication is compared with DuckDB's: counts, flags and
text exactly; percentages, intervals and p-values within 1e-9.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from pipelines.portable_build import build
from pipelines.publication import PUBLISHED_MARTS, mart_documentation
from tests.conftest import copy_samples, open_workspace

pytestmark = pytest.mark.spark
TOLERANCE = 1e-9


# The partition the incremental rebuild recomputes, as a pipeline run would when its file changes.
REBUILT = ("oakfield_care", 2025)


@pytest.fixture(scope="module")
def builds(tmp_path_factory, module_monkeypatch):
    """The pipeline's publication, then Spark's: from scratch, then rebuilt incrementally."""
    root = tmp_path_factory.mktemp("spark_equivalence")
    workspace = copy_samples(open_workspace(root / "data", module_monkeypatch))
    assert workspace.run().success
    work = root / "spark_build"
    full = build(workspace.warehouse, work)
    full_marts = full.marts_dir.resolve()  # this publication's folder: the link moves on
    print(
        f"\nSpark build of the samples: export {full.export_seconds:.1f} s, "
        f"dbt build {full.dbt_seconds:.1f} s, publish {full.publish_seconds:.1f} s"
    )
    files_before = partition_files(work)
    incremental = build(workspace.warehouse, work, partitions=[REBUILT])
    return {
        "duckdb": workspace.marts,
        "full": full_marts,
        "incremental": incremental.marts_dir.resolve(),
        "files_before": files_before,
        "files_after": partition_files(work),
    }


def partition_files(work: Path) -> dict[tuple[str, str], set[str]]:
    """The Parquet files of Spark's int_measure_cells, by (organisation, wave) partition."""
    table = work / "spark" / "warehouse" / "intermediate.db" / "int_measure_cells"
    return {
        (folder.parent.name.split("=")[1], folder.name.split("=")[1]): {
            f.name for f in folder.glob("*.parquet")
        }
        for folder in table.glob("organisation_id=*/wave=*")
    }


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


@pytest.mark.parametrize("build_kind", ["full", "incremental"])
@pytest.mark.parametrize("mart", PUBLISHED_MARTS)
def test_spark_publishes_the_duckdb_marts_cell_for_cell(builds, mart, build_kind):
    duckdb = pl.read_parquet(builds["duckdb"] / f"{mart}.parquet")
    spark = pl.read_parquet(builds[build_kind] / f"{mart}.parquet")
    assert spark.schema == duckdb.schema  # same columns, in the same order, of the same types
    assert spark.height == duckdb.height > 0
    grain = mart_documentation()[mart]["grain"]
    assert spark.select(grain).is_unique().all()
    assert differences(duckdb, spark, grain) == []


def test_an_incremental_spark_build_rewrites_only_its_partition(builds):
    """insert_overwrite by partition after the pre-hook dropped it: the rebuilt partition's
    files are new, every other partition's are the files the first build wrote."""
    before, after = builds["files_before"], builds["files_after"]
    rebuilt = (REBUILT[0], str(REBUILT[1]))
    assert set(before) == set(after) and len(before) == 9
    assert after[rebuilt] and after[rebuilt].isdisjoint(before[rebuilt])
    assert {key: files for key, files in after.items() if key != rebuilt} == {
        key: files for key, files in before.items() if key != rebuilt
    }


def test_both_publications_withhold_and_publish_real_figures(builds):
    """The comparison above is of marts that hold what they should: cells withheld for both
    reasons and published numbers, with notes that keep their apostrophes (Spark once read
    'wave''s' as 'waves')."""
    spark_marts = builds["full"]
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
