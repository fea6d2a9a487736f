"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests as
asset checks. Sources map onto the Python assets' keys (validated/*, registry/*), so ingest and
dbt form one lineage graph."""

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.defs.ingest import OWNER
from pipelines.defs.jobs import TRANSIENT_RETRY
from pipelines.settings import DBT_PROJECT_DIR, load_settings
from pipelines.warehouse import connect, scalar

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


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
        return spec.replace_attributes(group_name=group, owners=[OWNER], metadata=metadata)


def _row_counts(relations: dict[str, str]) -> dict[str, int]:
    settings = load_settings()
    counts = {}
    with connect(settings.warehouse, read_only=True) as con:
        for name, relation in relations.items():
            try:
                counts[name] = scalar(con, f"select count(*) from {relation}")
            except Exception:  # a view over a missing table: no count rather than no run
                continue
    return counts


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CoprodDbtTranslator(),
    retry_policy=TRANSIENT_RETRY,
)
def coprod_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse_lock: dg.ResourceParam[Path],  # held for the run; dbt writes the warehouse
) -> Iterator:
    # dbt runs in its own process: tell it which warehouse this run writes (the profile reads
    # COPROD_WAREHOUSE), so tests and deployments with their own data folder stay apart.
    os.environ["COPROD_WAREHOUSE"] = str(load_settings().warehouse)
    invocation = dbt.cli(["build"], context=context)
    events = list(invocation.stream())
    # Row counts are read after dbt has let go of the warehouse (DuckDB has a single writer).
    relations = {}
    for node in invocation.manifest["nodes"].values():
        if node["resource_type"] in {"model", "seed"}:
            relations[node["unique_id"]] = f"{node['schema']}.{node['alias']}"
    counts = _row_counts(relations)
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
        unique_id = getattr(unique_id, "value", unique_id)
        if unique_id in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id]})
        yield event
