"""The dbt project built on an engine other than the pipeline's DuckDB warehouse (issue 16):
target `spark` in dbt_project/profiles.yml, a local Spark run in process by dbt-spark.

The ingest output crosses as Parquet, one folder per table the dbt sources name, exported
from the warehouse a pipeline run wrote; the build registers them as the engine's own tables
(macros/adapters/ingest_tables.sql), builds and tests every model, and its marts are published
as the DuckDB build's are (publication.py: staged in the same order and encoding, stamped,
swapped into place). Ingest, validation and publication stay on one machine: only dbt moves.

    python -m pipelines.portable_build --warehouse data/warehouse.duckdb --work /tmp/spark-build

needs dbt-spark and PySpark (make test-spark installs them in .venv-spark).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.file_state import CURRENT_FILES
from pipelines.publication import PUBLISHED_MARTS, promote, stage_parquet_marts
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import connect

TARGET = "spark"  # dbt_project/profiles.yml
SOURCES_FILE = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
# What steers an incremental build (macros/partitions_to_build.sql), as a fresh build sees it:
# every partition of the current files is to be built, in one batch.
PARTITIONS = f"select distinct organisation_id, wave from {CURRENT_FILES}"
STEERING_TABLES = {
    "validated.partitions_to_build": PARTITIONS,
    "validated.partitions_in_build": PARTITIONS,
    "validated.build_batch": "select organisation_id, wave from validated.build_batch where false",
}


def ingest_tables() -> list[str]:
    """Every table the dbt sources read (models/staging/_sources.yml), as the pipeline's ingest
    left it: read from the declaration, so a new source crosses to Spark without a second list."""
    declared = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))["sources"]
    names = [
        f"{source['schema']}.{table['name']}" for source in declared for table in source["tables"]
    ]
    return [name for name in names if name not in STEERING_TABLES]


class BuildFailed(RuntimeError):
    """dbt reported an error: a model, seed or test failed on the target."""


@dataclass(frozen=True)
class PortableBuild:
    publication_id: str
    marts_dir: Path
    export_seconds: float
    dbt_seconds: float  # dbt build on the target, engine start-up included
    publish_seconds: float


def export_ingest(
    warehouse: Path, folder: Path, partitions: list[tuple[str, int]] | None = None
) -> list[str]:
    """Every table a build reads, from the DuckDB warehouse to folder/<schema.table>/ as
    Parquet, the build to recompute `partitions` (default: all). Returns the tables' names."""
    shutil.rmtree(folder, ignore_errors=True)
    steering = dict(STEERING_TABLES)
    if partitions is not None:
        listed = ", ".join(f"('{organisation}', {int(wave)})" for organisation, wave in partitions)
        chosen = f"select * from (values {listed}) as chosen(organisation_id, wave)"
        steering |= {
            "validated.partitions_to_build": chosen,
            "validated.partitions_in_build": chosen,
        }
    relations = {name: f"select * from {name}" for name in ingest_tables()} | steering
    with connect(warehouse, read_only=True) as con:
        for name, query in relations.items():
            (folder / name).mkdir(parents=True)
            con.execute(f"copy ({query}) to '{folder / name / 'data.parquet'}' (format parquet)")
    return list(relations)


def run_dbt(work: Path, args: list[str]) -> None:
    """dbt in this process, so that every command of one build shares one Spark session (the
    JVM starts once). Its target folder and logs stay under `work`, apart from the pipeline's."""
    from dbt.cli.main import dbtRunner

    os.environ["COPROD_SPARK_DIR"] = str(work / "spark")  # read by profiles.yml
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    invocation = [
        *args,
        "--target",
        TARGET,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work / "dbt_target"),
        "--log-path",
        str(work / "dbt_logs"),
    ]
    result = dbtRunner().invoke(invocation)
    if not result.success:
        raise BuildFailed(f"dbt {args[0]} on {TARGET} failed: {result.exception}")


def build(
    warehouse: Path, work: Path, partitions: list[tuple[str, int]] | None = None
) -> PortableBuild:
    """Export the warehouse's ingest output, build the dbt project on Spark from it alone, and
    publish its marts under work/marts. With `partitions`, build incrementally on the tables
    of an earlier build in `work` (in this process): only those partitions are recomputed, as
    a pipeline run does when their files change."""
    started = time.perf_counter()
    ingest = work / "ingest"
    tables = export_ingest(warehouse, ingest, partitions)
    exported = time.perf_counter()

    arguments = json.dumps({"folder": str(ingest), "tables": tables})
    run_dbt(work, ["run-operation", "register_ingest_tables", "--args", arguments])
    run_dbt(work, ["build", *(["--full-refresh"] if partitions is None else [])])
    built = time.perf_counter()

    publications = work / "publications"
    staged = stage_parquet_marts(spark_marts(work / "spark_marts"), publications)
    publication_id, _ = promote(staged, publications, work / "marts", {"engine": TARGET})
    return PortableBuild(
        publication_id,
        work / "marts",
        export_seconds=exported - started,
        dbt_seconds=built - exported,
        publish_seconds=time.perf_counter() - built,
    )


def spark_marts(folder: Path) -> dict[str, Path]:
    """The published marts from the Spark session dbt used, one folder of Parquet each."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark is not None, "no Spark session: dbt did not build on Spark in this process"
    folders = {mart: folder / mart for mart in PUBLISHED_MARTS}
    for mart, path in folders.items():
        spark.table(f"marts.{mart}").write.mode("overwrite").parquet(str(path))
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a pipeline run's warehouse")
    parser.add_argument("--work", type=Path, required=True, help="folder for the build")
    options = parser.parse_args()
    done = build(options.warehouse.resolve(), options.work.resolve())
    print(
        f"Built on {TARGET}: export {done.export_seconds:.1f} s, dbt build "
        f"{done.dbt_seconds:.1f} s, publish {done.publish_seconds:.1f} s; published "
        f"{done.publication_id} to {done.marts_dir}"
    )


if __name__ == "__main__":
    main()
