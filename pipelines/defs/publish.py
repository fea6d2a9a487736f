"""Publication: stage the marts as Parquet, gate them with Great Expectations (blocking asset
checks), then swap them into data/marts in one atomic step."""

import dagster as dg
import yaml
from dagster_dbt import get_asset_key_for_model

from pipelines.defs.resources import Warehouse
from pipelines.defs.transform import coprod_dbt_models
from pipelines.file_state import CURRENT_FILES, last_intake
from pipelines.partition_gate import partition_losses, responses_by_partition
from pipelines.publication import (
    PUBLISHED_MARTS,
    current_manifest,
    promote,
    read_staged,
    stage_marts,
    staging_dir,
)
from pipelines.quality_gates import (
    data_docs_index,
    gate_fingerprint,
    row_count_floor,
    run_gate,
    update_data_docs,
)
from pipelines.reference import load_reference
from pipelines.registry import load_registry
from pipelines.registry_schema import ALL_SERVICES
from pipelines.report import publication_time, report_basis, report_provenance, write_reports
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.warehouse import read_table

STAGED = dg.AssetKey(["publish", "staged_marts"])


@dg.asset(
    key=STAGED,
    group_name="publish",
    kinds={"parquet"},
    deps=[get_asset_key_for_model([coprod_dbt_models], mart) for mart in PUBLISHED_MARTS],
    description=(
        "The published marts written as Parquet to data/publications/.staging, aside from what "
        "analysts read. Great Expectations checks them here; nothing is published unless every "
        "check passes."
    ),
)
def staged_marts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    settings = warehouse.settings
    staged = stage_marts(settings.warehouse, settings.publications_dir)
    return dg.MaterializeResult(
        metadata={
            "staging": dg.MetadataValue.path(str(staging_dir(settings.publications_dir))),
            **{f"rows_{m.name}": m.rows for m in staged},
            "dagster/row_count": sum(m.rows for m in staged),
        }
    )


def _gate_parameters(settings: Settings) -> dict[str, dict]:
    """Suite parameters per mart: the codes the registry and reference data declare
    (organisations, services, groups, breakdowns), the minimum cell size, and a row-count floor
    of half what the previous publication held."""
    registry = load_registry(settings.registry_file)
    reference = load_reference()
    groups = reference.respondent_groups
    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    shared = {
        "known_organisations": registry.organisations["organisation_id"].to_list(),
        "known_services": [ALL_SERVICES, *registry.services["service_id"].to_list()],
        "known_groups": sorted({"all", *groups["group_id"], *groups["rollup"]}),
        "known_breakdowns": reference.breakdowns["breakdown"].to_list(),
        "min_cell_size": dbt_vars["min_cell_size"],
    }
    previous = current_manifest(settings.marts_dir) or {"marts": {}}
    return {
        mart: {
            **shared,
            "min_row_count": row_count_floor(previous["marts"].get(mart, {}).get("rows")),
        }
        for mart in PUBLISHED_MARTS
    }


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            f"gx_{mart}",
            asset=STAGED,
            blocking=True,
            description=f"Great Expectations suite {mart} (expectations/gx) on the "
            "staged Parquet; blocks publication when it fails.",
        )
        for mart in PUBLISHED_MARTS
    ],
)
def gx_publication_gates(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    settings = warehouse.settings
    staging = staging_dir(settings.publications_dir)
    parameters = _gate_parameters(settings)
    gated_before = (current_manifest(settings.marts_dir) or {}).get("gate_fingerprints", {})
    results = []
    for mart in PUBLISHED_MARTS:
        published = settings.marts_dir / f"{mart}.parquet"
        same_gate = gated_before.get(mart) == gate_fingerprint(mart, parameters[mart])
        results.append(
            run_gate(
                mart,
                staging / f"{mart}.parquet",
                parameters[mart],
                settings.gx_results_dir,
                published if same_gate and published.exists() else None,
            )
        )
    update_data_docs(results, settings.gx_results_dir)
    for mart, result in zip(PUBLISHED_MARTS, results, strict=True):
        yield dg.AssetCheckResult(
            asset_key=STAGED,
            check_name=f"gx_{mart}",
            passed=result.passed,
            metadata={
                "rows_validated": result.rows_validated,
                "rows_unchanged_since_publication": result.rows_unchanged,
                "expectations_evaluated": result.evaluated,
                "expectations_failed": len(result.failures),
                "failures": dg.MetadataValue.json(result.failures),
                "data_docs": dg.MetadataValue.path(str(data_docs_index(settings.gx_results_dir))),
            },
        )


@dg.asset_check(
    asset=STAGED,
    name="published_partitions_kept",
    blocking=True,
    description="Every (organisation, wave) the current publication holds is still there with "
    "at least COPROD_MIN_PARTITION_SHARE of its responses, unless data/sources.yml retires it; "
    "blocks publication otherwise.",
)
def published_partitions_kept(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    settings = warehouse.settings
    previous = current_manifest(settings.marts_dir) or {"source_files": []}
    with warehouse.connect(read_only=True) as con:
        current = read_table(
            con,
            f"""select organisation_id, wave, responses_accepted from {CURRENT_FILES}""",
        )
    retired = load_registry(settings.registry_file).retired_partitions
    losses = partition_losses(
        responses_by_partition(previous["source_files"]),
        responses_by_partition(current.to_dicts()),
        retired,
        settings.min_partition_share,
    )
    reasons = [loss.reason(settings.min_partition_share) for loss in losses]
    for reason in reasons:
        context.log.error(reason)
    return dg.AssetCheckResult(
        passed=not losses,
        description=" ".join(reasons) or None,
        metadata={
            "partitions_lost": dg.MetadataValue.json(reasons),
            "partitions_retired": dg.MetadataValue.json(sorted(map(list, retired))),
            "min_share": settings.min_partition_share,
        },
    )


REPORTS = dg.AssetKey(["publish", "organisation_reports"])


def _source_files(con):
    """The current source files, as the manifest lists them and the reports' footers show them."""
    return read_table(
        con,
        f"""
        select file_name, file_sha256, organisation_id, wave, tool, instrument_id,
               responses_accepted, responses_rejected
        from {CURRENT_FILES} order by file_name""",
    )


@dg.asset(
    key=REPORTS,
    group_name="publish",
    kinds={"html"},
    deps=[STAGED],
    description=(
        "One printable HTML page per organisation (reports/<organisation>.html beside the marts): "
        "headlines, every figure with its n and 95% interval and a chart across waves, the "
        "manager-frontline gap, withheld cells with their reason, and the publication and "
        "source files (sha256) in its footer. Built from the staged, suppressed marts only; "
        "renders offline."
    ),
)
def organisation_reports(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = warehouse.settings
    staging = staging_dir(settings.publications_dir)
    previous = settings.marts_dir if (settings.marts_dir / "manifest.json").exists() else None
    with warehouse.connect(read_only=True) as con:
        sources = _source_files(con)
    # The publication the pages name, and the source files they list (report.py).
    provenance = report_provenance(
        settings.marts_dir, read_staged(settings.publications_dir), sources.to_dicts()
    )
    written = write_reports(staging, staging / "reports", previous, provenance)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(written.paths),
            "reports": dg.MetadataValue.json([p.name for p in written.paths]),
            "reports_unchanged_reused": written.reused,
        }
    )


@dg.asset(
    key=["publish", "published_marts"],
    group_name="publish",
    kinds={"parquet"},
    deps=[STAGED, REPORTS],
    description=(
        "The marts analysts read in data/marts/: swapped in atomically once every Great "
        "Expectations gate passed, with a manifest.json recording the publication id, the "
        "code version and the source files (name and sha256) that produced it."
    ),
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = warehouse.settings
    staged = read_staged(settings.publications_dir)
    with warehouse.connect(read_only=True) as con:
        fingerprint = last_intake(con)
        sources = _source_files(con)
    parameters = _gate_parameters(settings)
    provenance = {
        "dagster_run_id": context.run_id,
        # The gates these marts passed: the next run validates only rows that differ from
        # them while the fingerprints hold (quality_gates.py).
        "gate_fingerprints": {m: gate_fingerprint(m, parameters[m]) for m in PUBLISHED_MARTS},
        "input_fingerprint": fingerprint,
        "source_files": sources.to_dicts(),
    }
    publication_id, changed = promote(
        staged,
        settings.publications_dir,
        settings.marts_dir,
        provenance,
        # the time and basis the pages were drawn with: the id they print is the id made here
        now=publication_time(staging_dir(settings.publications_dir) / "reports"),
        reports_basis=report_basis(sources.to_dicts()),
    )
    context.log.info(f"publication={publication_id} changed={changed}")
    return dg.MaterializeResult(
        metadata={
            "publication_id": publication_id,
            "changed": changed,
            "marts_dir": dg.MetadataValue.path(str(settings.marts_dir)),
            "source_files": dg.MetadataValue.json(sources.to_dicts()),
            **{f"rows_{m.name}": m.rows for m in staged},
        }
    )
