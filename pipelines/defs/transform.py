"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests as
asset checks. Sources map onto the Python assets' keys (validated/*, registry/*), so ingest and
dbt form one lineage graph."""

import hashlib
import importlib.metadata
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from pipelines import quality_gates
from pipelines.dbt_manifest import ensure_dbt_manifest
from pipelines.defs.jobs import TRANSIENT_RETRY, retry_transient_errors_only
from pipelines.defs.resources import Warehouse
from pipelines.file_state import (
    built_model_fingerprint,
    ensure_file_state,
    forget_modelled,
    mark_modelled,
    plan_build_batches,
    set_build_batch,
)
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import connect, dbt_warehouse_vars, scalar

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class CoprodDbtCli(DbtCliResource):
    """dagster-dbt's resource without two start-up costs this project does not use, about 4 s
    of every run: it asks the dbt executable for its version (a 2 s process) although the
    installed dbt-core is the one pinned in pyproject.toml, and it opens a dbt adapter in this
    process for adapter-based column and row-count metadata, which this project reads itself
    after the build (_row_counts) because DuckDB allows a single writer."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


# The manifest is made current when the code location loads (`dagster dev`, `dg dev`, a run),
# with this environment's dbt: dagster-dbt's prepare_if_dev looks for a `dbt` on PATH.
ensure_dbt_manifest()


class CoprodDbtTranslator(DagsterDbtTranslator):
    """Groups from the dbt folder (staging, intermediate, marts); seeds are reference data."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        group = "reference" if props["resource_type"] == "seed" else props["fqn"][1]
        metadata = dict(spec.metadata)
        if props.get("raw_code"):  # auditors read the model's SQL beside its lineage
            metadata["dbt_sql"] = dg.MetadataValue.md(f"```sql\n{props['raw_code']}\n```")
        return spec.replace_attributes(group_name=group, metadata=metadata)


def model_fingerprint() -> str:
    """The dbt project as it is (models, macros, tests, seeds, vars): when it differs from the
    last successful build's, every partitioned model is rebuilt (--full-refresh); otherwise only
    the partitions whose files changed are."""
    digest = hashlib.sha256()
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.suffix in {".sql", ".yml", ".csv"} and relative.parts[0] not in {"target", "logs"}:
            digest.update(str(relative).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _row_counts(warehouse: Path, relations: dict[str, str]) -> dict[str, int]:
    counts = {}
    with connect(warehouse, read_only=True) as con:
        for name, relation in relations.items():
            try:
                counts[name] = scalar(con, f"select count(*) from {relation}")
            except Exception:  # a view over a missing table: no count rather than no run
                continue
    return counts


# The dbt project is as it was at the last successful build, so its reference data (seeds and
# what is made from them alone, tagged in dbt_project.yml) is too: not loaded or tested again.
UNCHANGED_REFERENCE = ["--exclude", "tag:reference"]
# dbt unit tests check the SQL on rows written by hand, not the data: `make test` runs them
# (tests/test_samples.py), a pipeline run does not spend time on them.
NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def _build_partitions_in_batches(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    batches: list[list[tuple[str, int]]],
    full_refresh: bool,
    target_path: Path,
    warehouse: Path,
) -> None:
    """Build the partitioned models (and what they read) for every batch but the last, which
    the asset's own build covers with the marts. Each batch's tests check its partitions; a
    failure stops the run here, before anything downstream is built."""
    for number, batch in enumerate(batches, start=1):
        with connect(warehouse) as con:
            set_build_batch(con, batch)
        selection = "path:models/intermediate/partitioned"
        first = number == 1
        invocation = dbt.cli(
            [
                "build",
                "--select",
                f"+{selection}" if first else selection,
                # tests whose every parent this batch builds; one that also reads a seed the
                # batch leaves out (a relationship between seeds) runs in the final build
                "--indirect-selection",
                "cautious",
                *(["--full-refresh"] if first and full_refresh else UNCHANGED_REFERENCE),
                *NO_UNIT_TESTS,
                *dbt_warehouse_vars(warehouse),
            ],
            manifest=dbt_project.manifest_path,
            dagster_dbt_translator=CoprodDbtTranslator(),
            target_path=target_path,
            raise_on_error=False,
        )
        invocation.wait()
        error = invocation.get_error()
        if error is not None:
            raise dg.Failure(
                description=f"dbt build of partition batch {number}: {error}", allow_retries=False
            )
        context.log.info(
            f"dbt build: batch {number} of {len(batches) + 1} built ({len(batch)} partitions)"
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CoprodDbtTranslator(),
    retry_policy=TRANSIENT_RETRY,
)
@retry_transient_errors_only
def coprod_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,  # held under its lock for the run; dbt writes it
) -> Iterator:
    settings = warehouse.settings
    # this process only waits while dbt builds
    quality_gates.prepare_in_background(settings.gx_results_dir)
    # dbt runs in its own process: it is told which warehouse this run writes (dbt_vars), so
    # tests and deployments with their own data folder stay apart.
    project = model_fingerprint()
    with connect(settings.warehouse) as con:
        ensure_file_state(con)
        set_build_batch(con, [])  # a batch left by a run that was killed mid-build
        full_refresh = built_model_fingerprint(con) != project
        if full_refresh:  # every partition is rebuilt, so every one is listed (and tested)
            forget_modelled(con)
        batches = plan_build_batches(con, settings.dbt_batch_responses)
    partitions = sum(len(batch) for batch in batches)
    context.log.info(
        ("dbt build: every model rebuilt (a model, seed or var changed), " if full_refresh else "")
        + f"{partitions} (organisation, wave) partition(s) to recompute"
        + (f" in {len(batches)} batches" if len(batches) > 1 else "")
    )
    target_path = settings.data_dir / ".dbt_target"  # kept between runs: dbt parses only changes
    try:
        # A subset chosen in the UI is built as chosen, in one build.
        if len(batches) > 1 and not context.is_subset:
            _build_partitions_in_batches(
                context, dbt, batches[:-1], full_refresh, target_path, settings.warehouse
            )
            full_refresh = False  # the first batch created the tables; the last one appends
            with connect(settings.warehouse) as con:
                set_build_batch(con, batches[-1])
        invocation = dbt.cli(
            [
                "build",
                *(["--full-refresh"] if full_refresh else UNCHANGED_REFERENCE),
                *NO_UNIT_TESTS,
                *dbt_warehouse_vars(settings.warehouse),
            ],
            context=context,
            target_path=target_path,
            raise_on_error=False,
        )
        events = list(invocation.stream())
    finally:
        with connect(settings.warehouse) as con:
            set_build_batch(con, [])
    error = invocation.get_error()
    # Only a build of every model brings every partition up to date; a subset chosen in the UI
    # leaves the partitions listed for the next full run.
    if error is None and not context.is_subset:
        with connect(settings.warehouse) as con:
            mark_modelled(con, project)
    # Row counts are read after dbt has let go of the warehouse (DuckDB has a single writer).
    relations = {}
    for node in invocation.manifest["nodes"].values():
        # Views are left out: counting one would run it over the whole history.
        if node["resource_type"] in {"model", "seed"} and node["config"]["materialized"] != "view":
            relations[node["unique_id"]] = f"{node['schema']}.{node['alias']}"
    counts = _row_counts(settings.warehouse, relations)
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
        unique_id = getattr(unique_id, "value", unique_id)
        if unique_id in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id]})
        yield event
    if error is not None:
        # A failed model or test fails the same way when tried again (wrong SQL, a broken rule,
        # memory): no retry. What did build, and which checks failed, is recorded above.
        raise dg.Failure(description=str(error), allow_retries=False)
